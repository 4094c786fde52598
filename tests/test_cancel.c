/* test_cancel.c - the embedder's cancel flag (er_run_opts.cancel,
 * er_tables_load_ex): a set flag stops the run with ER_E_CANCELLED and
 * nothing is written. Run from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examrisk.h"
#include "test_helpers.h"

#define G "tests/golden/basic/"

static void test_cancelled_run(void **state)
{
	(void)state;
	char err[1024];
	er_tables *t = NULL;
	er_rules *r = NULL;
	volatile int cancel = 0;
	assert_int_equal(er_tables_load_ex(G "participants.csv", "data/mra.csv", &cancel, &t, err,
	                                   sizeof err), ER_OK);
	assert_int_equal(er_rules_load(G "rules.ini", &r, err, sizeof err), ER_OK);
	char dir[64]; /* under $TMPDIR: the build directory may not exist (a sanitizer build) */
	assert_int_equal(scratch_dir_make(dir, sizeof dir, "er_cancel"), 0);
	char out[96], consol[96];
	snprintf(out, sizeof out, "%s/s.csv", dir);
	snprintf(consol, sizeof consol, "%s/c.csv", dir);
	const char *inputs[] = { G "manifest.csv" };
	er_run_opts o;
	er_run_opts_init(&o);
	o.inputs = inputs;
	o.ninputs = 1;
	o.out_path = out;
	o.consolidations_path = consol;
	o.quiet = 1;
	o.threads = 2;
	o.cancel = &cancel;
	er_run_stats st;
	cancel = 2; /* as a SIGINT handler would */
	assert_int_equal(er_run_score(t, r, &o, &st), ER_E_CANCELLED);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(access(consol, F_OK), -1);
	cancel = 0; /* the same options run to the end once the flag is clear */
	assert_int_equal(er_run_score(t, r, &o, &st), ER_OK);
	assert_int_equal(st.rows_read, 32);
	assert_int_equal(access(out, F_OK), 0);
	unlink(out);
	unlink(consol);
	assert_int_equal(rmdir(dir), 0);
	er_rules_free(r);
	er_tables_free(t);
}

static void test_cancelled_table_load(void **state)
{
	(void)state;
	char err[1024] = "";
	er_tables *t = NULL;
	volatile int cancel = 15;
	assert_int_equal(er_tables_load_ex(G "participants.csv", "data/mra.csv", &cancel, &t, err,
	                                   sizeof err), ER_E_CANCELLED);
	assert_null(t);
	assert_non_null(strstr(err, "participants.csv: interrupted"));
	assert_string_equal(er_status_str(ER_E_CANCELLED), "interrupted");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cancelled_run),
		cmocka_unit_test(test_cancelled_table_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
