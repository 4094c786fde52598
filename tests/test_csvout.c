/* test_csvout.c - the output dialect recoder: from the engine's internal
 * CSV (',' and LF) to another delimiter and/or CRLF, fed in any pieces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "er_csvout.h"

static char *recode(const char *in, char delim, int excel, size_t piece)
{
	er_csv_dialect d = { delim, excel };
	er_csv_recoder r;
	memset(&r, 0, sizeof r);
	er_csv_recode_init(&r, &d);
	er_buf out = { 0 };
	size_t n = strlen(in);
	for (size_t i = 0; i < n; i += piece)
		assert_int_equal(er_csv_recode(&r, &out, in + i, n - i < piece ? n - i : piece), 0);
	er_csv_recode_free(&r);
	er_buf_putc(&out, '\0');
	return out.p;
}

static void test_recode(void **state)
{
	(void)state;
	static const char in[] = "a,b c,\"x,y\",\"say \"\"hi\"\"\",I=id;S=-,\" pad\",\"two\nlines\",\n"
	                         ",,\n";
	static const char semi[] = "a;b c;x,y;\"say \"\"hi\"\"\";\"I=id;S=-\";\" pad\";\"two\nlines\";\n"
	                           ";;\n";
	static const char tabcrlf[] = "a\tb c\tx,y\t\"say \"\"hi\"\"\"\tI=id;S=-\t\" pad\"\t\"two\nlines\"\t\r\n"
	                              "\t\t\r\n";
	static const char crlf[] = "a,b c,\"x,y\",\"say \"\"hi\"\"\",I=id;S=-,\" pad\",\"two\nlines\",\r\n"
	                           ",,\r\n";
	for (size_t piece = 1; piece <= sizeof in; piece++) {
		char *s = recode(in, ';', 0, piece);
		assert_string_equal(s, semi);
		free(s);
		s = recode(in, '\t', 1, piece);
		assert_string_equal(s, tabcrlf);
		free(s);
		s = recode(in, ',', 1, piece);
		assert_string_equal(s, crlf);
		free(s);
	}
	er_csv_dialect plain = { ',', 0 }, other = { ';', 0 }, excel = { ',', 1 };
	assert_true(er_csv_dialect_plain(&plain));
	assert_false(er_csv_dialect_plain(&other));
	assert_false(er_csv_dialect_plain(&excel));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
