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


/* er_csv_put_field (eight bytes a step, into reserved room) writes the
 * bytes of er_buf_csv_field, its reference, for any delimiter, length and
 * place of the bytes that decide quoting. */
static void test_put_field_equals_csv_field(void **state)
{
	(void)state;
	static const char alpha[] = "AZaz09-_/.:|=\",;\r\n\t ";
	static const char delims[] = { ',', ';', '\t', '|', ':' };
	char in[70], o[2 * sizeof in + 2];
	er_buf ref = { 0 };
	uint64_t x = 0x2545F4914F6CDD1Dull;
	for (int iter = 0; iter < 300000; iter++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t n = (size_t)(x % sizeof in);
		char delim = delims[(x >> 8) % sizeof delims];
		int special = (int)((x >> 16) % 3) == 0;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			in[i] = alpha[x % (special ? sizeof alpha - 1 : 12)];
		}
		ref.len = 0;
		assert_int_equal(er_buf_csv_field(&ref, in, n, delim), 0);
		char *e = er_csv_put_field(o, in, n, delim);
		assert_int_equal((size_t)(e - o), ref.len);
		assert_memory_equal(o, ref.p, ref.len);
		assert_int_equal(er_csv_needs_quotes(in, n, delim), ref.len != n);
	}
	er_buf_free(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recode),
		cmocka_unit_test(test_put_field_equals_csv_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
