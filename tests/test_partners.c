/* test_partners.c - the partner audit (engine/er_partners.c) on the fixture
 * tables tests/fixtures/rollup/{participants,mra}.csv:
 *   IMP-A  CTPAT certified until 2023-03-01, suspended until 2023-09-01
 *   SHP-BR BR_OEA certified; the Brazil MRA is recognized from 2023-06-01
 *   SHP-DE EU_AEO certified (recognized), found here by name only
 *   FWD-Z  CTPAT removed since 2021-06-01; CAR-X CTPAT validated tier 2 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "er_rollup.h"
#include "er_rules.h"
#include "test_helpers.h"

#define FIX "tests/fixtures/rollup/"

typedef struct env {
	er_tables *t;
	er_rules *r;
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof *e);
	char err[256];
	if (!e)
		return -1;
	if (er_tables_load(FIX "participants.csv", FIX "mra.csv", &e->t, err, sizeof err) != ER_OK ||
	    er_rules_load(FIX "rules.ini", &e->r, err, sizeof err) != ER_OK) {
		print_error("%s\n", err);
		er_tables_free(e->t);
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;
	er_tables_free(e->t);
	er_rules_free(e->r);
	free(e);
	return 0;
}

/* A manifest row as "column=value" pairs, NULL-terminated. */
static void encode(const env *e, er_buf *b, const char *const *kv)
{
	static const struct { const char *name; int col; } cols[] = {
		{ "id", ER_COL_SHIPMENT_ID }, { "date", ER_COL_ARRIVAL_DATE },
		{ "imp", ER_COL_IMPORTER_ID }, { "imp_name", ER_COL_IMPORTER_NAME },
		{ "shp", ER_COL_SHIPPER_ID }, { "shp_name", ER_COL_SHIPPER_NAME },
		{ "shp_cc", ER_COL_SHIPPER_COUNTRY }, { "origin", ER_COL_ORIGIN_COUNTRY },
		{ "mfr", ER_COL_MANUFACTURER_ID }, { "scac", ER_COL_CARRIER_SCAC },
		{ "fwd", ER_COL_FORWARDER_ID },
	};
	er_row row;
	for (int c = 0; c < ER_NCOLS; c++) {
		row.f[c].p = "";
		row.f[c].n = 0;
	}
	for (; *kv; kv++) {
		const char *eq = strchr(*kv, '=');
		assert_non_null(eq);
		size_t k;
		for (k = 0; k < sizeof cols / sizeof cols[0]; k++)
			if (strlen(cols[k].name) == (size_t)(eq - *kv) &&
			    memcmp(cols[k].name, *kv, (size_t)(eq - *kv)) == 0)
				break;
		assert_true(k < sizeof cols / sizeof cols[0]);
		row.f[cols[k].col].p = eq + 1;
		row.f[cols[k].col].n = strlen(eq + 1);
	}
	er_result res;
	assert_int_equal(er_score_row(e->t, e->r, &row, &res), ER_OK);
	assert_int_equal(er_partners_encode(b, &row, &res, 2), 0);
}

static const char *const s1[] = { "id=S1", "date=2023-01-15", "imp=IMP-A", "shp=SHP-BR",
                                  "mfr=SHP-BR", "scac=CAR-X", NULL };
static const char *const s2[] = { "id=S2", "date=2023-05-10", "imp=IMP-A",
                                  "shp_name=Berlin Werkzeug G.m.b.H.", "shp_cc=de", NULL };
static const char *const s3[] = { "id=S3", "date=2023-08-01", "imp_name=Beta Goods",
                                  "shp_name=Dragon Toys Co., Ltd.", "origin=CN", "mfr=SHP-BR",
                                  "fwd=FWD-Z", "scac=CAR-X", NULL };
/* unknown importer id with a member's name: an unknown party of its own, in
 * conflict (as the scorer has it), never the member ALPHA-1 */
static const char *const s4[] = { "id=S4", "date=2023-08-01", "imp=IMP-OLD",
                                  "imp_name=Alpha Corp.", NULL };
/* rows of a file that fails its integrity check */
static const char *const bad1[] = { "id=B1", "date=2023-09-15", "imp=IMP-A", "shp=GHOST",
                                    "scac=CAR-X", NULL };
static const char *const bad2[] = { "id=B2", "date=2022-01-01", "imp_name=Beta Goods",
                                    "fwd=FWD-Z", NULL };

static const char expected[] =
	"party,match,name,country,roles,shipments,noncompliant_shipments,first_arrival,"
	"last_arrival,program,status,tier,mra_recognized,compliant\n"
	"IMP-A,id,Alpha Imports Inc,US,importer,2,1,2023-01-15,2023-05-10,CTPAT,suspended,,0,0\n"
	"FWD-Z,id,Zeta Freight LLC,US,forwarder,1,1,2023-08-01,2023-08-01,CTPAT,removed,,0,0\n"
	"IMP-OLD,conflict,Alpha Corp.,,importer,1,1,2023-08-01,2023-08-01,none,none,,0,0\n"
	"name:BETA GOODS,none,Beta Goods,,importer,1,1,2023-08-01,2023-08-01,none,none,,0,0\n"
	"name:DRAGON TOYS/CN,none,\"Dragon Toys Co., Ltd.\",CN,shipper,1,1,2023-08-01,"
	"2023-08-01,none,none,,0,0\n"
	"CAR-X,id,Xpress Lines,US,carrier,2,0,2023-01-15,2023-08-01,CTPAT,validated,2,0,1\n"
	"SHP-BR,id,Sao Paulo Texteis Ltda,BR,shipper|manufacturer,2,1,2023-01-15,2023-08-01,"
	"BR_OEA,certified,,1,1\n"
	"SHP-DE,name,Berlin Werkzeug GmbH,DE,shipper,1,0,2023-05-10,2023-05-10,EU_AEO,"
	"certified,,1,1\n";

static char *audit(er_partners *p)
{
	er_buf out = { 0 };
	assert_int_equal(er_partners_write(p, emit_buf, &out), 0);
	assert_int_equal(er_buf_putc(&out, '\0'), 0);
	return out.p;
}

/* Three files: the second fails and must leave no trace. Rows are merged
 * one chunk per row in the first file and as one chunk in the last. */
static void test_audit(void **state)
{
	env *e = *state;
	er_partners *p = er_partners_new(e->t);
	assert_non_null(p);
	er_buf b = { 0 };
	encode(e, &b, s1);
	assert_int_equal(er_partners_merge(p, 0, b.p, b.len), 0);
	b.len = 0;
	encode(e, &b, s2);
	assert_int_equal(er_partners_merge(p, 0, b.p, b.len), 0);
	er_partners_file_done(p, 1);

	b.len = 0;
	encode(e, &b, bad1);
	encode(e, &b, bad2);
	assert_int_equal(er_partners_merge(p, 1, b.p, b.len), 0);
	er_partners_file_done(p, 0);

	b.len = 0;
	encode(e, &b, s3);
	encode(e, &b, s4);
	assert_int_equal(er_partners_merge(p, 2, b.p, b.len), 0);
	er_partners_file_done(p, 1);

	char *out = audit(p);
	assert_string_equal(out, expected);
	free(out);
	assert_int_equal(er_partners_write(p, emit_fail, NULL), -1);
	er_buf_free(&b);
	er_partners_free(p);
}

/* The same rows as one file in one chunk give the same bytes. */
static void test_one_chunk(void **state)
{
	env *e = *state;
	er_partners *p = er_partners_new(e->t);
	assert_non_null(p);
	er_buf b = { 0 };
	encode(e, &b, s1);
	encode(e, &b, s2);
	encode(e, &b, s3);
	encode(e, &b, s4);
	assert_int_equal(er_partners_merge(p, 0, b.p, b.len), 0);
	er_partners_file_done(p, 1);
	char *out = audit(p);
	assert_string_equal(out, expected);
	free(out);
	er_buf_free(&b);
	er_partners_free(p);
}

/* A malformed buffer is refused and the collector stays failed. */
static void test_malformed(void **state)
{
	env *e = *state;
	er_partners *p = er_partners_new(e->t);
	assert_non_null(p);
	er_buf b = { 0 };
	encode(e, &b, s1);
	assert_int_equal(er_partners_merge(p, 0, b.p, b.len - 1), -1);
	assert_int_equal(er_partners_merge(p, 0, b.p, b.len), -1);
	er_buf out = { 0 };
	assert_int_equal(er_partners_write(p, emit_buf, &out), -1);
	er_buf_free(&out);
	er_buf_free(&b);
	er_partners_free(p);
	er_partners_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_one_chunk),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
