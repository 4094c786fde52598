/* test_verify.c - partner look-up (engine/er_verify.c) on the fixture tables
 * tests/fixtures/rollup/{participants,mra}.csv. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "er_verify.h"
#include "test_helpers.h"

#define FIX "tests/fixtures/rollup/"

static int setup(void **state)
{
	er_tables *t = NULL;
	char err[256];
	if (er_tables_load(FIX "participants.csv", FIX "mra.csv", &t, err, sizeof err) != ER_OK) {
		print_error("%s\n", err);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	er_tables_free(*state);
	return 0;
}

static int32_t day(const char *s)
{
	int32_t d;
	assert_int_equal(er_parse_date(s, strlen(s), &d), 0);
	return d;
}

/* Run the queries; check the match count; return the output (caller frees). */
static char *run(const er_tables *t, const char *const *q, int nq, const char *on, int csv,
                 int want)
{
	er_buf out = { 0 };
	assert_int_equal(er_verify_run(t, q, nq, day(on), csv, 0, emit_buf, &out), want);
	assert_int_equal(er_buf_putc(&out, '\0'), 0);
	return out.p;
}

/* Exact id: the suspension between two periods shows on a date inside it. */
static void test_id_history(void **state)
{
	const char *q[] = { "IMP-A" };
	char *out = run(*state, q, 1, "2023-05-10", 0, 1);
	assert_string_equal(out,
		"query \"IMP-A\": 1 match by id\n"
		"\n"
		"IMP-A  Alpha Imports Inc (US, importer)\n"
		"  on 2023-05-10: CTPAT suspended since 2023-03-01\n"
		"  history:\n"
		"    CTPAT certified tier 1 2020-01-01 to 2023-03-01\n"
		"    CTPAT suspended tier - 2023-03-01 to 2023-09-01\n"
		"    CTPAT validated tier 2 2023-09-01 to open\n");
	free(out);
	out = run(*state, q, 1, "2023-10-01", 0, 1);
	assert_non_null(strstr(out, "  on 2023-10-01: CTPAT validated tier 2 since 2023-09-01\n"));
	free(out);
}

/* MRA recognition changes on 2023-06-01 for Brazil; a name query finds the
 * German party; an unknown query matches nothing. */
static void test_mra_and_names(void **state)
{
	const char *q[] = { "SHP-BR", "  berlin werkzeug ", "nobody at all" };
	char *out = run(*state, q, 3, "2023-02-01", 0, 2);
	assert_string_equal(out,
		"query \"SHP-BR\": 1 match by id\n"
		"\n"
		"SHP-BR  Sao Paulo Texteis Ltda (BR, manufacturer)\n"
		"  on 2023-02-01: BR_OEA certified since 2019-01-01;"
		" MRA not recognized on 2023-02-01 (Brazil)\n"
		"  history:\n"
		"    BR_OEA certified tier - 2019-01-01 to open\n"
		"\n"
		"query \"berlin werkzeug\": 1 match by name\n"
		"\n"
		"SHP-DE  Berlin Werkzeug GmbH (DE, manufacturer)\n"
		"  on 2023-02-01: EU_AEO certified since 2018-05-01; MRA recognized (European Union)\n"
		"  history:\n"
		"    EU_AEO certified tier - 2018-05-01 to open\n"
		"\n"
		"query \"nobody at all\": no match\n");
	free(out);
	out = run(*state, q, 1, "2023-06-01", 0, 1);
	assert_non_null(strstr(out, "; MRA recognized (Brazil)\n"));
	free(out);
}

/* Equal, then prefix, then substring; CSV output. */
static void test_rank_csv(void **state)
{
	const char *q[] = { "alpha", "IMP-A", "SHP-BR" };
	char *out = run(*state, q, 3, "2023-05-10", 1, 5);
	assert_string_equal(out,
		"query,party_id,name,country,role,program,status_on_date,tier,since,mra_recognized,"
		"history\n"
		"alpha,ALPHA-1,Alpha Corp,US,importer,CTPAT,certified,1,2019-01-01,,"
		"CTPAT:certified:1:2019-01-01:\n"
		"alpha,IMP-A,Alpha Imports Inc,US,importer,CTPAT,suspended,,2023-03-01,,"
		"CTPAT:certified:1:2020-01-01:2023-03-01;CTPAT:suspended::2023-03-01:2023-09-01;"
		"CTPAT:validated:2:2023-09-01:\n"
		"alpha,BIG-1,Big Alpha Trading Co,US,importer,none,none,,,,"
		"CTPAT:withdrawn::2018-01-01:2019-01-01\n"
		"IMP-A,IMP-A,Alpha Imports Inc,US,importer,CTPAT,suspended,,2023-03-01,,"
		"CTPAT:certified:1:2020-01-01:2023-03-01;CTPAT:suspended::2023-03-01:2023-09-01;"
		"CTPAT:validated:2:2023-09-01:\n"
		"SHP-BR,SHP-BR,Sao Paulo Texteis Ltda,BR,manufacturer,BR_OEA,certified,,2019-01-01,0,"
		"BR_OEA:certified::2019-01-01:\n");
	free(out);
	/* human form of a party with no period in force still lists its history */
	const char *q2[] = { "big alpha" };
	out = run(*state, q2, 1, "2023-05-10", 0, 1);
	assert_non_null(strstr(out, "  on 2023-05-10: not certified (no period in force)\n"
	                            "  history:\n"
	                            "    CTPAT withdrawn tier - 2018-01-01 to 2019-01-01\n"));
	free(out);
}

/* --role: only parties a column of that role would match, by id and name. */
static void test_roles(void **state)
{
	const er_tables *t = *state;
	static const struct {
		const char *q;
		unsigned roles;
		int want;
	} cases[] = {
		{ "CAR-X", ER_TR_CARRIER, 1 },
		{ "CAR-X", ER_TR_IMPORTER, 0 }, /* a carrier's SCAC is no importer id */
		{ "alpha", ER_TR_IMPORTER, 3 },
		{ "alpha", ER_TR_EXPORTER | ER_TR_MANUFACTURER, 0 },
		{ "Berlin Werkzeug", ER_TR_EXPORTER | ER_TR_MANUFACTURER, 1 },
		{ "Berlin Werkzeug", ER_TR_EXPORTER, 0 },
		{ "Zeta", ER_TR_FORWARDER, 1 },
		{ "Zeta", 0, 1 }, /* 0 = every role */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_buf out = { 0 };
		int n = er_verify_run(t, &cases[i].q, 1, day("2023-05-10"), 1, cases[i].roles, emit_buf,
		                      &out);
		if (n != cases[i].want)
			fail_msg("case %zu (%s): %d matches, want %d", i, cases[i].q, n, cases[i].want);
		er_buf_free(&out);
	}
}

/* At most ER_VERIFY_MAX_MATCHES name matches, best first then by id. */
static void test_cap(void **state)
{
	(void)state;
	char path[512];
	const char *dir = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/er_verify_test_XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("party_id,name,country,role,program,status,tier,valid_from,valid_to\n", f);
	for (int i = 24; i >= 0; i--)
		fprintf(f, "OMG-%02d,Omega Widget %02d,US,importer,CTPAT,certified,1,2020-01-01,\n", i, i);
	fputs("OMG-X,Omega,US,importer,CTPAT,certified,1,2020-01-01,\n", f);
	assert_int_equal(fclose(f), 0);
	er_tables *t = NULL;
	char err[256];
	er_status st = er_tables_load(path, FIX "mra.csv", &t, err, sizeof err);
	unlink(path);
	assert_int_equal(st, ER_OK);
	const char *q[] = { "OMEGA" };
	char *out = run(t, q, 1, "2024-01-01", 1, ER_VERIFY_MAX_MATCHES);
	/* the equal name first, then the prefixes by id: OMG-00 .. OMG-18 */
	const char *l1 = strchr(out, '\n') + 1;
	assert_memory_equal(l1, "OMEGA,OMG-X,", 12);
	const char *l2 = strchr(l1, '\n') + 1;
	assert_memory_equal(l2, "OMEGA,OMG-00,", 13);
	assert_non_null(strstr(out, "OMEGA,OMG-18,"));
	assert_null(strstr(out, "OMEGA,OMG-19,"));
	free(out);
	assert_int_equal(er_verify_run(t, q, 1, day("2024-01-01"), 0, 0, emit_fail, NULL), -1);
	er_tables_free(t);
}

/* The shared good-standing rule, around the Brazil MRA date. */
static void test_standing(void **state)
{
	const er_tables *t = *state;
	const er_party *br = er_tables_find_id(t, "SHP-BR", 6);
	assert_non_null(br);
	const er_cert *c;
	int mra;
	assert_int_equal(er_verify_standing(t, br, day("2023-05-31"), &c, &mra), 0);
	assert_non_null(c);
	assert_int_equal(mra, 0);
	assert_int_equal(er_verify_standing(t, br, day("2023-06-01"), &c, &mra), 1);
	assert_int_equal(mra, 1);
	const er_party *fz = er_tables_find_id(t, "FWD-Z", 5);
	assert_int_equal(er_verify_standing(t, fz, day("2021-05-31"), &c, &mra), 1);
	assert_int_equal(mra, -1);
	assert_int_equal(er_verify_standing(t, fz, day("2021-06-01"), &c, &mra), 0);
	assert_int_equal(c->status, ER_ST_REMOVED);
	assert_int_equal(er_verify_standing(t, NULL, day("2021-06-01"), &c, &mra), 0);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_history),
		cmocka_unit_test(test_mra_and_names),
		cmocka_unit_test(test_rank_csv),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_standing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
