/* test_rollup.c - consolidations and the exam queue (engine/er_rollup.c).
 * Probabilities below are computed by hand from the fixture rules
 * (tests/fixtures/rollup/rules.ini: p(RED)=0.5, p(YELLOW)=0.2, p(GREEN)=0.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "er_rollup.h"
#include "er_rollup_int.h" /* put_csv, the record layout */
#include "er_rules.h"
#include "test_helpers.h"

#define FIX "tests/fixtures/rollup/"

enum { G = ER_LANE_GREEN, Y = ER_LANE_YELLOW, R = ER_LANE_RED };

/* One test row: the fields the roll-up reads and the scoring result. */
typedef struct trow {
	const char *id, *mbl, *cont, *load, *shp_id, *shp_name, *shp_cc;
	int score, lane, front, cert;
	const char *imp_st, *shp_st;
} trow;

static void set(er_row *row, int col, const char *s)
{
	row->f[col].p = s ? s : "";
	row->f[col].n = s ? strlen(s) : 0;
}

static void encode(er_buf *b, const trow *t)
{
	er_row row;
	er_result res;
	memset(&res, 0, sizeof res);
	for (int c = 0; c < ER_NCOLS; c++)
		set(&row, c, NULL);
	set(&row, ER_COL_SHIPMENT_ID, t->id);
	set(&row, ER_COL_ARRIVAL_DATE, "2024-01-02");
	set(&row, ER_COL_MASTER_BILL, t->mbl);
	set(&row, ER_COL_CONTAINER_ID, t->cont);
	set(&row, ER_COL_LOAD_TYPE, t->load);
	set(&row, ER_COL_SHIPPER_ID, t->shp_id);
	set(&row, ER_COL_SHIPPER_NAME, t->shp_name);
	set(&row, ER_COL_SHIPPER_COUNTRY, t->shp_cc);
	res.score = t->score;
	res.lane = t->lane;
	res.front_of_line = (uint8_t)t->front;
	res.shipper_certified = (uint8_t)t->cert;
	snprintf(res.importer_status, sizeof res.importer_status, "%s", t->imp_st ? t->imp_st : "unknown");
	snprintf(res.shipper_status, sizeof res.shipper_status, "%s", t->shp_st ? t->shp_st : "unknown");
	assert_int_equal(er_rollup_encode(b, &row, &res, 2), 0);
}

static er_rules *load_rules(void)
{
	er_rules *r = NULL;
	char err[256];
	er_status st = er_rules_load(FIX "rules.ini", &r, err, sizeof err);
	if (st != ER_OK)
		fail_msg("rules: %s", err);
	return r;
}

/* Merge rows[0..n) as one file, in chunks of `chunk` rows (0 = one chunk). */
static void merge_file(er_rollup *r, int file_idx, const trow *rows, size_t n, size_t chunk, int ok)
{
	er_buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		encode(&b, &rows[i]);
		if (chunk && ((i + 1) % chunk == 0 || i + 1 == n)) {
			assert_int_equal(er_rollup_merge(r, file_idx, b.p, b.len), 0);
			b.len = 0;
		}
	}
	if (!chunk)
		assert_int_equal(er_rollup_merge(r, file_idx, b.p, b.len), 0);
	er_buf_free(&b);
	er_rollup_file_done(r, ok);
}

static char *consolidations(er_rollup *r)
{
	er_buf out = { 0 };
	assert_int_equal(er_rollup_write_consolidations(r, emit_buf, &out), 0);
	assert_int_equal(er_buf_putc(&out, '\0'), 0);
	return out.p;
}

static char *queue(er_rollup *r)
{
	er_buf out = { 0 };
	assert_int_equal(er_rollup_write_queue(r, emit_buf, &out), 0);
	assert_int_equal(er_buf_putc(&out, '\0'), 0);
	return out.p;
}

#define CONS_HDR "consolidation,key_type,container_id,load_type,shipments,shippers,max_score," \
	"lane,uncertified_shipments,exam_probability,driver_shipment_id," \
	"probability_without_driver\n"
#define QUEUE_HDR "position,shipment_id,score,lane,front_of_line,importer_status," \
	"shipper_status,consolidation\n"

/* ------------------------------------------------------------ fixture rows */

static const trow probs_rows[] = {
	/* M1: one GREEN shipment: 0.1; without its driver 0 */
	{ "A1", "M1", "", "", "S-9", NULL, NULL, 20, G, 0, 1, NULL, NULL },
	/* M2: GREEN + RED: 1 - 0.9 * 0.5 = 0.55; driver the RED; without: 0.1 */
	{ "B1", "M2", "", "FCL", "S-1", NULL, NULL, 30, G, 0, 0, NULL, NULL },
	/* M8: eight GREEN: 1 - 0.9^8 = 0.56953279; without one: 1 - 0.9^7 = 0.5217031.
	 * Driver: all p equal -> highest score (35), first in input of those (C2).
	 * Shippers: S-1, ACME/CN (twice, spelled differently), ACME/VN, S-2, unknown = 5 */
	{ "C1", "M8", "BOX8", "FCL", "S-1", NULL, NULL, 10, G, 0, 1, NULL, NULL },
	{ "C2", "M8", "", "LCL", "S-1", NULL, NULL, 35, G, 0, 1, NULL, NULL },
	{ "C3", "M8", "", "LCL", NULL, "Acme Co", "cn", 20, G, 0, 0, NULL, NULL },
	{ "B2", "M2", "CONT2", "FCL", "S-2", NULL, NULL, 80, R, 0, 0, NULL, NULL },
	{ "C4", "M8", "", "", NULL, "ACME CO.", "CN", 35, G, 0, 0, NULL, NULL },
	{ "C5", "M8", "BOX9", "LCL", NULL, "Acme", "VN", 5, G, 0, 1, NULL, NULL },
	{ "C6", "M8", "", "", NULL, NULL, NULL, 15, G, 0, 0, NULL, NULL },
	{ "C7", "M8", "", "", NULL, NULL, NULL, 15, G, 0, 0, NULL, NULL },
	{ "C8", "M8", "", "", "S-2", NULL, NULL, 25, G, 0, 1, NULL, NULL },
	/* no key at all: in no consolidation */
	{ "X1", "", "", "LCL", "S-1", NULL, NULL, 99, R, 0, 0, NULL, NULL },
	/* C4: container key only, one RED among GREENs: 1 - 0.9^3 * 0.5 = 0.6355;
	 * without the RED: 1 - 0.9^3 = 0.271 */
	{ "D1", "", "C4", "lcl", "S-3", NULL, NULL, 10, G, 0, 1, NULL, NULL },
	{ "D2", "", "C4", "", "S-3", NULL, NULL, 75, R, 0, 1, NULL, NULL },
	{ "D3", "", "C4", "", "S-3", NULL, NULL, 95, G, 0, 1, NULL, NULL },
	{ "D4", "", "C4", "", "S-4", NULL, NULL, 10, G, 0, 1, NULL, NULL },
	/* M3: GREEN + 2 YELLOW: 1 - 0.9 * 0.8^2 = 0.424; driver: YELLOW with the
	 * higher score (E3); without: 1 - 0.9 * 0.8 = 0.28 */
	{ "E1", "M3", "", "", NULL, NULL, NULL, 45, G, 0, 0, NULL, NULL },
	{ "E2", "M3", "", "", NULL, NULL, NULL, 52, Y, 0, 0, NULL, NULL },
	{ "E3", "M3", "", "", NULL, NULL, NULL, 60, Y, 0, 0, NULL, NULL },
	/* ties at 0.1: ordered by key bytewise, then key_type (container first) */
	{ "F1", "a1", "", "", NULL, NULL, NULL, 1, G, 0, 0, NULL, NULL },
	{ "F2", "K1", "", "", NULL, NULL, NULL, 1, G, 0, 0, NULL, NULL },
	{ "F3", "", "K1", "", NULL, NULL, NULL, 1, G, 0, 0, NULL, NULL },
	/* quoting: a key with a comma */
	{ "G,1", "", "Z,9", "", NULL, NULL, NULL, 2, G, 0, 0, NULL, NULL },
};

static const char probs_expected[] =
	CONS_HDR
	"C4,container,C4,LCL,4,2,95,RED,0,0.635500,D2,0.271000\n"
	"M8,master_bill,BOX8,LCL,8,5,35,GREEN,4,0.569533,C2,0.521703\n"
	"M2,master_bill,CONT2,FCL,2,2,80,RED,2,0.550000,B2,0.100000\n"
	"M3,master_bill,,,3,1,60,YELLOW,3,0.424000,E3,0.280000\n"
	"K1,container,K1,,1,1,1,GREEN,1,0.100000,F3,0.000000\n"
	"K1,master_bill,,,1,1,1,GREEN,1,0.100000,F2,0.000000\n"
	"M1,master_bill,,,1,1,20,GREEN,0,0.100000,A1,0.000000\n"
	"\"Z,9\",container,\"Z,9\",,1,1,2,GREEN,1,0.100000,\"G,1\",0.000000\n"
	"a1,master_bill,,,1,1,1,GREEN,1,0.100000,F1,0.000000\n";

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ tests */

static void test_probabilities_by_hand(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	er_rollup *r = er_rollup_new(rules, 1, 0, 0);
	assert_non_null(r);
	merge_file(r, 0, probs_rows, NROWS(probs_rows), 0, 1);
	char *out = consolidations(r);
	assert_string_equal(out, probs_expected);
	assert_int_equal(er_rollup_nconsolidations(r), 9);
	free(out);
	er_rollup_free(r);
	er_rules_free(rules);
}

/* p = 1 must not break the "without the driver" figure (no division). */
static void test_probability_one(void **state)
{
	(void)state;
	er_rules rules;
	memset(&rules, 0, sizeof rules);
	rules.exam_prob[G] = 0.0;
	rules.exam_prob[Y] = 0.5;
	rules.exam_prob[R] = 1.0;
	static const trow rows[] = {
		{ "R1a", "R1", "", "", NULL, NULL, NULL, 90, R, 0, 0, NULL, NULL },
		{ "R2a", "R2", "", "", NULL, NULL, NULL, 90, R, 0, 0, NULL, NULL },
		{ "R1b", "R1", "", "", NULL, NULL, NULL, 10, G, 0, 0, NULL, NULL },
		{ "R2b", "R2", "", "", NULL, NULL, NULL, 91, R, 0, 0, NULL, NULL },
		{ "G0a", "G0", "", "", NULL, NULL, NULL, 10, G, 0, 0, NULL, NULL },
		{ "Y1a", "Y1", "", "", NULL, NULL, NULL, 60, Y, 0, 0, NULL, NULL },
		{ "Y1b", "Y1", "", "", NULL, NULL, NULL, 60, Y, 0, 0, NULL, NULL },
	};
	er_rollup *r = er_rollup_new(&rules, 1, 0, 0);
	assert_non_null(r);
	merge_file(r, 0, rows, NROWS(rows), 0, 1);
	char *out = consolidations(r);
	assert_string_equal(out, CONS_HDR
	                    "R1,master_bill,,,2,1,90,RED,2,1.000000,R1a,0.000000\n"
	                    "R2,master_bill,,,2,1,91,RED,2,1.000000,R2b,1.000000\n"
	                    "Y1,master_bill,,,2,1,60,YELLOW,2,0.750000,Y1a,0.500000\n"
	                    "G0,master_bill,,,1,1,10,GREEN,1,0.000000,G0a,0.000000\n");
	free(out);
	er_rollup_free(r);
}

/* The same rows cut into different chunks give byte-identical outputs. */
static void test_chunk_boundaries(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	char *ref_c = NULL, *ref_q = NULL;
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 100 };
	for (size_t k = 0; k < NROWS(chunks); k++) {
		er_rollup *r = er_rollup_new(rules, 1, 1, 1);
		assert_non_null(r);
		/* two files: the second one updates consolidations of the first */
		merge_file(r, 0, probs_rows, 4, chunks[k], 1);
		merge_file(r, 1, probs_rows + 4, NROWS(probs_rows) - 4, chunks[k], 1);
		char *c = consolidations(r), *q = queue(r);
		if (!ref_c) {
			ref_c = c;
			ref_q = q;
			assert_string_equal(ref_c, probs_expected);
		} else {
			assert_string_equal(c, ref_c);
			assert_string_equal(q, ref_q);
			free(c);
			free(q);
		}
		er_rollup_free(r);
	}
	free(ref_c);
	free(ref_q);
	er_rules_free(rules);
}

/* A file ended with file_done(0) leaves no trace in either output. */
static void test_failed_file_discarded(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	static const trow bad[] = {
		/* touches consolidations of the first file (M2, M8), adds a new one,
		 * a new shipper, a new container id, and RED queue entries */
		{ "Z1", "M2", "", "LCL", "S-7", NULL, NULL, 99, R, 1, 0, NULL, NULL },
		{ "Z2", "M8", "", "", "S-8", NULL, NULL, 99, R, 0, 0, NULL, NULL },
		{ "Z3", "NEW", "BOXZ", "LCL", NULL, NULL, NULL, 99, R, 1, 0, NULL, NULL },
		{ "Z4", "M1", "BOXZ", "", NULL, NULL, NULL, 5, G, 1, 0, NULL, NULL },
	};
	er_rollup *clean = er_rollup_new(rules, 1, 1, 0);
	er_rollup *dirty = er_rollup_new(rules, 1, 1, 0);
	assert_non_null(clean);
	assert_non_null(dirty);
	merge_file(clean, 0, probs_rows, 4, 0, 1);
	merge_file(clean, 2, probs_rows + 4, NROWS(probs_rows) - 4, 0, 1);
	merge_file(dirty, 0, probs_rows, 4, 0, 1);
	merge_file(dirty, 1, bad, NROWS(bad), 2, 0);
	merge_file(dirty, 2, probs_rows + 4, NROWS(probs_rows) - 4, 0, 1);
	char *c1 = consolidations(clean), *c2 = consolidations(dirty);
	char *q1 = queue(clean), *q2 = queue(dirty);
	assert_string_equal(c2, probs_expected);
	assert_string_equal(c1, c2);
	assert_string_equal(q1, q2);
	assert_null(strstr(q2, "Z"));
	assert_int_equal(er_rollup_nconsolidations(dirty), 9);
	free(c1);
	free(c2);
	free(q1);
	free(q2);
	er_rollup_free(clean);
	er_rollup_free(dirty);
	er_rules_free(rules);
}

static const trow queue_rows[] = {
	{ "Q1", "MB1", "", "", NULL, NULL, NULL, 10, G, 0, 0, "unknown", "unknown" },
	{ "Q2", "MB1", "", "", NULL, NULL, NULL, 80, R, 0, 0, "unknown", "unknown" },
	{ "Q3", "", "", "", NULL, NULL, NULL, 75, R, 1, 1, "CTPAT:validated:T2", "unknown" },
	{ "Q4", "MB2", "", "", NULL, NULL, NULL, 55, Y, 1, 0, "CTPAT:certified:T1", "unknown" },
	{ "Q5", "MB1", "", "", NULL, NULL, NULL, 80, R, 0, 0, "none", "unknown" },
	{ "Q6", "", "", "", NULL, NULL, NULL, 90, R, 0, 0, "unknown", "unknown" },
	{ "Q7", "", "", "", NULL, NULL, NULL, 5, G, 1, 1, "unknown", "EU_AEO:certified:MRA" },
	{ "Q,8", "", "BOX1", "", NULL, NULL, NULL, 70, R, 0, 0, "unknown", "unknown" },
};

static void test_queue_red_only(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	er_rollup *r = er_rollup_new(rules, 0, 1, 0);
	assert_non_null(r);
	merge_file(r, 0, queue_rows, NROWS(queue_rows), 3, 1);
	char *q = queue(r);
	assert_string_equal(q, QUEUE_HDR
	                    "1,Q3,75,RED,1,CTPAT:validated:T2,unknown,\n"
	                    "2,Q6,90,RED,0,unknown,unknown,\n"
	                    "3,Q2,80,RED,0,unknown,unknown,MB1\n"
	                    "4,Q5,80,RED,0,none,unknown,MB1\n"
	                    "5,\"Q,8\",70,RED,0,unknown,unknown,BOX1\n");
	free(q);
	/* consolidations were not asked for: header only */
	char *c = consolidations(r);
	assert_string_equal(c, CONS_HDR);
	assert_int_equal(er_rollup_nconsolidations(r), 0);
	free(c);
	er_rollup_free(r);
	er_rules_free(rules);
}

static void test_queue_resumption(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	er_rollup *r = er_rollup_new(rules, 0, 1, 1);
	assert_non_null(r);
	merge_file(r, 0, queue_rows, NROWS(queue_rows), 1, 1);
	char *q = queue(r);
	assert_string_equal(q, QUEUE_HDR
	                    "1,Q3,75,RED,1,CTPAT:validated:T2,unknown,\n"
	                    "2,Q4,55,YELLOW,1,CTPAT:certified:T1,unknown,MB2\n"
	                    "3,Q7,5,GREEN,1,unknown,EU_AEO:certified:MRA,\n"
	                    "4,Q6,90,RED,0,unknown,unknown,\n"
	                    "5,Q2,80,RED,0,unknown,unknown,MB1\n"
	                    "6,Q5,80,RED,0,none,unknown,MB1\n"
	                    "7,\"Q,8\",70,RED,0,unknown,unknown,BOX1\n"
	                    "8,Q1,10,GREEN,0,unknown,unknown,MB1\n");
	free(q);
	er_rollup_free(r);
	er_rules_free(rules);
}

/* Rows scored by er_score_row on the fixture tables: the roll-up takes the
 * scorer's shipper_certified (shipper MRA-recognized or not) and lanes. */
static void test_scored_rows(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	er_tables *t = NULL;
	char err[256];
	if (er_tables_load(FIX "participants.csv", FIX "mra.csv", &t, err, sizeof err) != ER_OK)
		fail_msg("tables: %s", err);
	/* SHP-DE: EU AEO, recognized; SHP-BR: recognized from 2023-06-01 only */
	static const char *const rows[][4] = {
		{ "S1", "2023-08-01", "SHP-DE", "IMP-A" },
		{ "S2", "2023-02-01", "SHP-BR", "IMP-A" },
		{ "S3", "2023-08-01", "SHP-BR", "IMP-A" },
		{ "S4", "2023-08-01", "NOPE", "" },
	};
	er_rollup *r = er_rollup_new(rules, 1, 0, 0);
	assert_non_null(r);
	er_buf b = { 0 };
	int max_lane = 0, max_score = 0, drv = 0;
	double keep = 1.0, keep_wo = 1.0;
	er_result res[4];
	for (int i = 0; i < 4; i++) {
		er_row row;
		for (int c = 0; c < ER_NCOLS; c++)
			set(&row, c, NULL);
		set(&row, ER_COL_SHIPMENT_ID, rows[i][0]);
		set(&row, ER_COL_ARRIVAL_DATE, rows[i][1]);
		set(&row, ER_COL_SHIPPER_ID, rows[i][2]);
		set(&row, ER_COL_IMPORTER_ID, rows[i][3]);
		set(&row, ER_COL_MASTER_BILL, "MBX");
		set(&row, ER_COL_HS_CODE, "620342");
		set(&row, ER_COL_DESCRIPTION, "cotton trousers");
		assert_int_equal(er_score_row(t, rules, &row, &res[i]), ER_OK);
		assert_int_equal(res[i].shipper_certified, i == 0 || i == 2);
		assert_int_equal(er_rollup_encode(&b, &row, &res[i], (uint64_t)i + 2), 0);
		if (res[i].lane > max_lane)
			max_lane = res[i].lane;
		if (res[i].score > max_score)
			max_score = res[i].score;
		double pi = er_rules_exam_prob(rules, res[i].lane);
		double pd = er_rules_exam_prob(rules, res[drv].lane);
		if (pi > pd || (pi == pd && res[i].score > res[drv].score))
			drv = i;
		keep *= 1.0 - pi;
	}
	for (int i = 0; i < 4; i++)
		if (i != drv)
			keep_wo *= 1.0 - er_rules_exam_prob(rules, res[i].lane);
	assert_int_equal(er_rollup_merge(r, 0, b.p, b.len), 0);
	er_rollup_file_done(r, 1);
	char *c = consolidations(r);
	/* shipments 4, shippers 3 (SHP-DE, SHP-BR, NOPE), uncertified 2 (S2, S4) */
	char want[256];
	snprintf(want, sizeof want, CONS_HDR "MBX,master_bill,,,4,3,%d,%s,2,%.6f,%s,%.6f\n",
	         max_score, er_lane_name(max_lane), 1.0 - keep, rows[drv][0], 1.0 - keep_wo);
	assert_string_equal(c, want);
	free(c);
	er_buf_free(&b);
	er_rollup_free(r);
	er_tables_free(t);
	er_rules_free(rules);
}

/* Errors: a failing sink, a malformed record (sticky). */
static void test_errors(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	er_rollup *r = er_rollup_new(rules, 1, 1, 0);
	assert_non_null(r);
	merge_file(r, 0, queue_rows, NROWS(queue_rows), 0, 1);
	assert_int_equal(er_rollup_write_consolidations(r, emit_fail, NULL), -1);
	assert_int_equal(er_rollup_write_queue(r, emit_fail, NULL), -1);
	/* a truncated record is refused, and the collector stays failed */
	er_buf b = { 0 };
	encode(&b, &queue_rows[0]);
	assert_int_equal(er_rollup_merge(r, 1, b.p, b.len - 1), -1);
	assert_int_equal(er_rollup_merge(r, 1, b.p, b.len), -1);
	er_buf out = { 0 };
	assert_int_equal(er_rollup_write_queue(r, emit_buf, &out), -1);
	er_buf_free(&out);
	er_buf_free(&b);
	er_rollup_free(r);
	er_rollup_free(NULL);
	er_rules_free(rules);
}


/* ------------------------------------------- bounded memory: generated data */

/* A generated manifest with realistic key repetition: FCL shipments with
 * their own master bill, LCL groups of 2-8 contiguous rows, master bills and
 * container-only keys recurring far apart, the same text as a master bill
 * and as a container key, long shared key prefixes (sequential bill
 * numbers), one large consolidation, quoting, rows without a key. */
enum { GEN_ROWS = 50000, GEN_FILES = 5, GEN_BAD_FILE = 2 };

typedef struct gen_row {
	char id[24], mbl[48], cont[24], shp_id[12];
	trow t;
} gen_row;

static uint64_t gen_state;

static unsigned gen_next(unsigned n)
{
	gen_state ^= gen_state << 13;
	gen_state ^= gen_state >> 7;
	gen_state ^= gen_state << 17;
	return (unsigned)(gen_state % n);
}

static gen_row *gen_rows(size_t n, uint64_t seed)
{
	static const char *const names[] = { "Acme Co", "ACME CO.", "Globex, Inc.", "Initech \"X\"", NULL };
	static const char *const ccs[] = { "CN", "cn", "VN", NULL };
	static const char *const sts[] = { "unknown", "none", "CTPAT:certified:T1", "a,b" };
	static const char *const loads[] = { "LCL", "lcl", "FCL", "" };
	gen_row *g = calloc(n, sizeof *g);
	assert_non_null(g);
	gen_state = seed * 2654435761u + 88172645463325252ull;
	unsigned group_left = 0;
	char group[48] = "";
	for (size_t i = 0; i < n; i++) {
		gen_row *r = &g[i];
		trow *t = &r->t;
		snprintf(r->id, sizeof r->id, gen_next(50) ? "S%07zu" : "S,\"%zu", i);
		const char *load = "";
		if (group_left) {
			group_left--;
			snprintf(r->mbl, sizeof r->mbl, "%s", group);
			if (gen_next(2))
				snprintf(r->cont, sizeof r->cont, "BOX%03u", gen_next(300));
			load = loads[gen_next(2)];
		} else {
			unsigned k = gen_next(100);
			if (k < 40) { /* FCL: its own master bill */
				snprintf(r->mbl, sizeof r->mbl, "MB%08x", (unsigned)gen_state);
				snprintf(r->cont, sizeof r->cont, "CONT%07u", gen_next(10000000));
				load = "FCL";
			} else if (k < 62) { /* an LCL group starts */
				snprintf(group, sizeof group, "LC%06u", gen_next(1000000));
				group_left = 1 + gen_next(7);
				snprintf(r->mbl, sizeof r->mbl, "%s", group);
				load = "LCL";
			} else if (k < 72) { /* container only, recurring */
				snprintf(r->cont, sizeof r->cont, "CX%03u", gen_next(500));
			} else if (k < 80) { /* master bill recurring far apart */
				snprintf(r->mbl, sizeof r->mbl, "RB%03u", gen_next(300));
			} else if (k < 86) { /* one text, both kinds of key */
				snprintf(gen_next(2) ? r->mbl : r->cont, 24, "K%02u", gen_next(60));
			} else if (k < 91) { /* sequential bills: long shared prefixes */
				snprintf(r->mbl, sizeof r->mbl, "SEQUENTIALBILLNUMBER%0*u", (int)gen_next(6),
				         gen_next(3000));
			} else if (k < 93) { /* a big consolidation; keys beyond 32 bytes */
				snprintf(r->mbl, sizeof r->mbl, gen_next(2) ? "GIANT" :
				         "LONGLONGLONGLONGLONGLONGLONGLONGPREFIX%02u", gen_next(40));
			} else if (k < 95) {
				snprintf(r->mbl, sizeof r->mbl, gen_next(2) ? "Z,%u" : "q\"%u", gen_next(50));
			} /* else no key */
			if (!*load)
				load = loads[gen_next(4)];
		}
		t->id = r->id;
		t->mbl = r->mbl;
		t->cont = r->cont;
		t->load = load;
		if (gen_next(5) < 2) {
			snprintf(r->shp_id, sizeof r->shp_id, "S-%u", gen_next(40));
			t->shp_id = r->shp_id;
		} else {
			t->shp_name = names[gen_next(5)];
			t->shp_cc = ccs[gen_next(4)];
		}
		unsigned l = gen_next(100);
		t->lane = l < 70 ? G : l < 88 ? Y : R;
		t->score = (int)gen_next(gen_next(30) ? 101 : 256);
		t->front = gen_next(20) == 0;
		t->cert = (int)gen_next(2);
		t->imp_st = sts[gen_next(4)];
		t->shp_st = sts[gen_next(4)];
	}
	return g;
}

/* Merge the generated rows as GEN_FILES files in chunks of 1..500 rows; the
 * file GEN_BAD_FILE is rolled back (with_bad) or not given at all. */
static void gen_merge(er_rollup *r, const gen_row *g, size_t n, int with_bad)
{
	uint64_t saved = gen_state;
	gen_state = 12345;
	er_buf b = { 0 };
	size_t per = n / GEN_FILES + 1;
	for (int f = 0; f < GEN_FILES; f++) {
		size_t lo = (size_t)f * per, hi = lo + per < n ? lo + per : n;
		if (f == GEN_BAD_FILE && !with_bad)
			continue;
		for (size_t i = lo; i < hi;) {
			size_t c = 1 + gen_next(500);
			if (c > hi - i)
				c = hi - i;
			b.len = 0;
			for (size_t k = 0; k < c; k++)
				encode(&b, &g[i + k].t);
			assert_int_equal(er_rollup_merge(r, f, b.p, b.len), 0);
			i += c;
		}
		er_rollup_file_done(r, f != GEN_BAD_FILE);
	}
	er_buf_free(&b);
	gen_state = saved;
}

/* Distinct (type, key) among the rows of the good files, and those rows. */
static int key_cmp(const void *a, const void *b)
{
	const trow *x = *(const trow *const *)a, *y = *(const trow *const *)b;
	int tx = *x->mbl != 0, ty = *y->mbl != 0;
	int c = strcmp(tx ? x->mbl : x->cont, ty ? y->mbl : y->cont);
	return c ? c : tx - ty;
}

static size_t gen_distinct_keys(const gen_row *g, size_t n, size_t *rows)
{
	const trow **v = calloc(n, sizeof *v);
	assert_non_null(v);
	size_t m = 0, per = n / GEN_FILES + 1, d = 0;
	for (size_t i = 0; i < n; i++)
		if (i / per != GEN_BAD_FILE && (*g[i].t.mbl || *g[i].t.cont))
			v[m++] = &g[i].t;
	qsort(v, m, sizeof *v, key_cmp);
	for (size_t i = 0; i < m; i++)
		d += !i || key_cmp(&v[i - 1], &v[i]) != 0;
	free(v);
	*rows = m;
	return d;
}

/* Lines of a CSV output without its header, and the sum of column col
 * (0-based; fields may be quoted, with doubled quotes inside). */
static size_t csv_lines(const char *s, int col, uint64_t *sum)
{
	size_t n = 0;
	*sum = 0;
	const char *p = strchr(s, '\n');
	assert_non_null(p);
	for (p++; *p; n++) {
		for (int f = 0; *p != '\n'; f++) {
			if (f == col)
				*sum += strtoull(p, NULL, 10);
			if (*p == '"') {
				for (p++; !(p[0] == '"' && p[1] != '"'); p += p[0] == '"' ? 2 : 1)
					assert_true(*p);
				p++;
			} else {
				while (*p != ',' && *p != '\n')
					p++;
			}
			if (*p == ',')
				p++;
		}
		p++;
	}
	return n;
}

typedef struct outputs {
	char *cons, *queue;
	size_t ncons;
} outputs;

static int gen_threads; /* er_rollup_set_threads for gen_run; 0 = online CPUs */

static outputs gen_run(const er_rules *rules, const gen_row *g, size_t n, size_t budget,
                       int with_bad, const char *tmpdir)
{
	er_rollup *r = er_rollup_new(rules, 1, 1, 1);
	assert_non_null(r);
	er_rollup_set_budget(r, budget);
	er_rollup_set_threads(r, gen_threads);
	if (tmpdir)
		assert_int_equal(er_rollup_set_tmpdir(r, tmpdir), 0);
	gen_merge(r, g, n, with_bad);
	outputs o;
	o.cons = consolidations(r);
	o.queue = queue(r);
	o.ncons = er_rollup_nconsolidations(r);
	er_rollup_free(r);
	return o;
}

/* As the pipeline does it: each chunk sorted on its own (the worker's
 * er_rollup_sort_chunk), then linked by serial (er_rollup_add_chunk); a
 * serial is skipped after each file, where the pipeline's FILE_END chunk
 * takes one. Chunks of 1..500 rows, as gen_merge. */
static void gen_add_chunks(er_rollup *r, const gen_row *g, size_t n, int with_bad)
{
	uint64_t saved = gen_state;
	gen_state = 12345;
	er_buf rows = { 0 }, crun = { 0 }, scr = { 0 };
	uint64_t serial = 3;
	size_t per = n / GEN_FILES + 1;
	for (int f = 0; f < GEN_FILES; f++) {
		size_t lo = (size_t)f * per, hi = lo + per < n ? lo + per : n;
		for (size_t i = lo; i < hi;) {
			size_t c = 1 + gen_next(500);
			if (c > hi - i)
				c = hi - i;
			rows.len = 0;
			for (size_t k = 0; k < c; k++)
				encode(&rows, &g[i + k].t);
			if (f != GEN_BAD_FILE || with_bad) {
				assert_int_equal(er_rollup_sort_chunk(&crun, &rows, serial, &scr), 0);
				assert_int_equal(er_rollup_add_chunk(r, serial, &crun, rows.p, rows.len), 0);
				assert_int_equal(crun.len, 0); /* taken over, not copied */
			}
			serial++;
			i += c;
		}
		if (f != GEN_BAD_FILE || with_bad)
			er_rollup_file_done(r, f != GEN_BAD_FILE);
		serial++;
	}
	er_buf_free(&rows);
	er_buf_free(&crun);
	er_buf_free(&scr);
	gen_state = saved;
}

/* Chunk runs sorted by "workers" and linked by the writer give the bytes of
 * one collector fed in input order, at any budget (the spiller thread
 * merging batches to disk, or nothing spilled) and any number of end-phase
 * threads; the rolled-back file leaves no trace, whether its chunks were
 * still linked or already merged to disk. */
static void test_chunk_runs_same_output(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(GEN_ROWS, 7);
	outputs ref = gen_run(rules, g, GEN_ROWS, (size_t)1 << 30, 0, NULL);
	static const size_t budgets[] = { 1024, 64 * 1024, 1 << 20, (size_t)1 << 30 };
	static const int threads[] = { 1, 3 };
	for (size_t t = 0; t < NROWS(threads); t++) {
		for (size_t i = 0; i < NROWS(budgets); i++) {
			for (int bad = 0; bad < 2; bad++) {
				er_rollup *r = er_rollup_new(rules, 1, 1, 1);
				assert_non_null(r);
				er_rollup_set_budget(r, budgets[i]);
				er_rollup_set_threads(r, threads[t]);
				gen_add_chunks(r, g, GEN_ROWS, bad);
				char *c = consolidations(r), *q = queue(r);
				if (strcmp(c, ref.cons) || strcmp(q, ref.queue))
					fail_msg("threads %d, budget %zu, bad file %d: outputs differ", threads[t],
					         budgets[i], bad);
				free(c);
				free(q);
				er_rollup_free(r);
			}
		}
	}
	free(ref.cons);
	free(ref.queue);
	free(g);
	er_rules_free(rules);
}

/* A chunk's run holds only the rows with a consolidation key, sorted; the
 * rows get their seq (serial << 32 | row) in place. Serials must ascend. */
static void test_sort_chunk(void **state)
{
	(void)state;
	static const trow rows[] = {
		{ "H1", "MBL-B", "", "LCL", "S1", NULL, NULL, 10, G, 0, 0, NULL, NULL },
		{ "H2", "", "", "LCL", "S1", NULL, NULL, 10, G, 0, 0, NULL, NULL }, /* no key */
		{ "H3", "MBL-A", "", "LCL", "S2", NULL, NULL, 10, G, 0, 0, NULL, NULL },
	};
	er_buf b = { 0 }, crun = { 0 }, scr = { 0 };
	for (size_t i = 0; i < NROWS(rows); i++)
		encode(&b, &rows[i]);
	assert_int_equal(er_rollup_sort_chunk(&crun, &b, 5, &scr), 0);
	uint64_t rb, np, seq;
	memcpy(&rb, crun.p, 8);
	memcpy(&np, crun.p + 8, 8);
	assert_true(rb > 0 && 16 + rb <= crun.len);
	assert_int_equal(np, 1); /* a point each 1/16 of the records: here the second */
	/* first record: MBL-A, the third row */
	memcpy(&seq, crun.p + 16, 8);
	assert_int_equal(seq, ((uint64_t)5 << 32) | 2);
	assert_memory_equal(crun.p + 16 + 28, "MBL-A", 5);
	er_rollup *r = er_rollup_new(NULL, 1, 0, 0);
	assert_non_null(r);
	assert_int_equal(er_rollup_add_chunk(r, 5, &crun, b.p, b.len), 0);
	assert_null(crun.p);
	assert_int_equal(er_rollup_sort_chunk(&crun, &b, 4, &scr), 0);
	errno = 0;
	assert_int_equal(er_rollup_add_chunk(r, 4, &crun, b.p, b.len), -1); /* before 5 */
	assert_int_equal(errno, EINVAL);
	er_rollup_free(r);
	er_buf_free(&b);
	er_buf_free(&crun);
	er_buf_free(&scr);
}

/* The spiller thread cannot create its file: the error is not lost; it
 * fails a later hand-over or, at the latest, the consolidations output. */
static void test_spiller_io_failure(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(5000, 9);
	er_buf rows = { 0 }, crun = { 0 }, scr = { 0 }, out = { 0 };
	er_rollup *r = er_rollup_new(rules, 1, 0, 0);
	assert_non_null(r);
	er_rollup_set_budget(r, 4096);
	assert_int_equal(er_rollup_set_tmpdir(r, "/nonexistent/er-rollup"), 0);
	for (size_t i = 0; i < 5000; i += 100) {
		rows.len = 0;
		for (size_t k = i; k < i + 100; k++)
			encode(&rows, &g[k].t);
		assert_int_equal(er_rollup_sort_chunk(&crun, &rows, i, &scr), 0);
		errno = 0;
		if (er_rollup_add_chunk(r, i, &crun, rows.p, rows.len) < 0) {
			assert_int_equal(errno, ENOENT); /* a hand-over after the failed one */
			break;
		}
	}
	er_rollup_file_done(r, 1);
	errno = 0;
	assert_int_equal(er_rollup_write_consolidations(r, emit_buf, &out), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(out.len, 0);
	er_rollup_free(r);
	er_buf_free(&rows);
	er_buf_free(&crun);
	er_buf_free(&scr);
	er_buf_free(&out);
	free(g);
	er_rules_free(rules);
}

/* Whatever the budget (tiny: thousands of runs merged in passes; medium;
 * large: nothing spilled), the outputs are the same bytes; and a file
 * rolled back after its rows went to disk leaves no trace. The reference
 * never sees the bad file and keeps everything in memory. */
static void test_budgets_same_output(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(GEN_ROWS, 7);
	outputs ref = gen_run(rules, g, GEN_ROWS, (size_t)1 << 30, 0, NULL);
	/* the reference itself: one line per distinct key, every keyed row once */
	size_t rows, keys = gen_distinct_keys(g, GEN_ROWS, &rows);
	uint64_t shipments;
	assert_int_equal(csv_lines(ref.cons, 4, &shipments), keys);
	assert_int_equal(shipments, rows);
	assert_int_equal(ref.ncons, keys);
	assert_true(keys > 10000);
	static const size_t budgets[] = { 1024, 4096, 64 * 1024, 1 << 20, (size_t)1 << 30 };
	for (size_t i = 0; i < NROWS(budgets); i++) {
		outputs o = gen_run(rules, g, GEN_ROWS, budgets[i], 1, NULL);
		assert_string_equal(o.cons, ref.cons);
		assert_string_equal(o.queue, ref.queue);
		assert_int_equal(o.ncons, ref.ncons);
		free(o.cons);
		free(o.queue);
	}
	free(ref.cons);
	free(ref.queue);
	free(g);
	er_rules_free(rules);
}

/* The end phase cuts the keys into several ranges per thread and merges
 * them on that many threads: one thread (one range, the sequential
 * reference), and 2, 3, 7 and 16 threads at three budgets give the same
 * bytes. */
static void test_end_threads_same_output(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(GEN_ROWS, 5);
	gen_threads = 1;
	outputs ref = gen_run(rules, g, GEN_ROWS, (size_t)1 << 30, 1, NULL);
	static const int threads[] = { 2, 3, 7, 16 };
	static const size_t budgets[] = { 4096, 1 << 20, (size_t)1 << 30 };
	for (size_t t = 0; t < NROWS(threads); t++) {
		gen_threads = threads[t];
		for (size_t i = 0; i < NROWS(budgets); i++) {
			outputs o = gen_run(rules, g, GEN_ROWS, budgets[i], 1, NULL);
			if (strcmp(o.cons, ref.cons) != 0 || strcmp(o.queue, ref.queue) != 0)
				fail_msg("threads %d, budget %zu: outputs differ from one thread's",
				         threads[t], budgets[i]);
			assert_int_equal(o.ncons, ref.ncons);
			free(o.cons);
			free(o.queue);
		}
	}
	gen_threads = 0;
	free(ref.cons);
	free(ref.queue);
	free(g);
	er_rules_free(rules);
}

/* The lines of consolidations CSV text (header kept) with at least min
 * shipments (5th field; keys may be quoted, but hold no newline), at most
 * top of them (0 = all). */
static char *filter_lines(const char *csv, uint64_t min, uint64_t top, uint64_t *kept)
{
	char *out = malloc(strlen(csv) + 1), *o = out;
	assert_non_null(out);
	*kept = 0;
	const char *p = csv;
	for (int first = 1; *p; first = 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		const char *f = p;
		for (int k = 0, q = 0; k < 4; f++) {
			q ^= *f == '"';
			k += *f == ',' && !q;
		}
		if (first || (strtoull(f, NULL, 10) >= min && (!top || *kept < top))) {
			memcpy(o, p, len);
			o += len;
			*kept += !first;
		}
		p += len;
	}
	*o = '\0';
	return out;
}

/* --consolidations-filter lcl and --top N: the output is the reference's
 * lines with 2+ shipments, the first N of them, at any budget (spilled or
 * not), and the counts say what was left out. */
static void test_filter_and_top(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(GEN_ROWS, 3);
	outputs ref = gen_run(rules, g, GEN_ROWS, (size_t)1 << 30, 0, NULL);
	uint64_t all, lcl;
	char *tmp = filter_lines(ref.cons, 0, 0, &all);
	free(tmp);
	static const uint64_t tops[] = { 0, 1, 7, 1000000 };
	static const size_t budgets[] = { 1024, (size_t)1 << 30 };
	for (size_t t = 0; t < NROWS(tops); t++) {
		for (size_t b = 0; b < NROWS(budgets); b++) {
			er_rollup *r = er_rollup_new(rules, 1, 0, 0);
			assert_non_null(r);
			er_rollup_set_budget(r, budgets[b]);
			er_rollup_set_consol_filter(r, 2, tops[t]);
			gen_merge(r, g, GEN_ROWS, 0);
			char *got = consolidations(r);
			uint64_t kept;
			char *want = filter_lines(ref.cons, 2, tops[t], &kept);
			char *unlimited = filter_lines(ref.cons, 2, 0, &lcl);
			assert_string_equal(got, want);
			er_consol_counts cc;
			er_rollup_consol_counts(r, &cc);
			assert_int_equal(cc.found, all);
			assert_int_equal(cc.single, all - lcl);
			assert_int_equal(cc.written, kept);
			assert_int_equal(cc.beyond_top, lcl - kept);
			assert_int_equal(er_rollup_nconsolidations(r), kept);
			assert_true(lcl > 100 && all - lcl > 100); /* both kinds are there */
			free(got);
			free(want);
			free(unlimited);
			er_rollup_free(r);
		}
	}
	free(ref.cons);
	free(ref.queue);
	free(g);
	er_rules_free(rules);
}

/* A row larger than the whole budget still goes through (alone in a run),
 * as do long keys sharing long prefixes. */
static void test_row_over_budget(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(3000, 11);
	char *big = malloc(6001);
	assert_non_null(big);
	memset(big, 'B', 6000);
	big[6000] = '\0';
	g[1000].t.mbl = big;
	g[2500].t.mbl = big;
	g[2500].t.shp_name = big;
	outputs ref = gen_run(rules, g, 3000, (size_t)1 << 30, 1, NULL);
	outputs o = gen_run(rules, g, 3000, 1024, 1, NULL);
	assert_string_equal(o.cons, ref.cons);
	assert_string_equal(o.queue, ref.queue);
	assert_non_null(strstr(o.cons, big));
	free(o.cons);
	free(o.queue);
	free(ref.cons);
	free(ref.queue);
	free(big);
	free(g);
	er_rules_free(rules);
}

/* The spill file lives in the chosen directory only unlinked: nothing is
 * left there, even before the collector is freed. */
static void test_spill_leaves_nothing(void **state)
{
	(void)state;
	char dir[] = "/tmp/er-rollup-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(5000, 3);
	er_rollup *r = er_rollup_new(rules, 1, 1, 0);
	assert_non_null(r);
	er_rollup_set_budget(r, 4096);
	assert_int_equal(er_rollup_set_tmpdir(r, dir), 0);
	gen_merge(r, g, 5000, 1);
	char *c = consolidations(r), *q = queue(r);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)))
		files += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	assert_int_equal(files, 0);
	er_rollup_free(r);
	assert_int_equal(rmdir(dir), 0);
	free(c);
	free(q);
	free(g);
	er_rules_free(rules);
}

/* The sink fails in the middle of spilled outputs: -1, and the collector is
 * not broken (the sink's error is the caller's): a second try works. */
static int fail_after;

static int emit_fail_later(void *ctx, const char *p, size_t n)
{
	if (fail_after-- <= 0)
		return -1;
	return er_buf_append(ctx, p, n);
}

static void test_emit_failure_spilled(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(20000, 5);
	outputs ref = gen_run(rules, g, 20000, (size_t)1 << 30, 1, NULL);
	er_rollup *r = er_rollup_new(rules, 1, 1, 1);
	assert_non_null(r);
	er_rollup_set_budget(r, 8192);
	gen_merge(r, g, 20000, 1);
	er_buf out = { 0 };
	fail_after = 3;
	assert_int_equal(er_rollup_write_consolidations(r, emit_fail_later, &out), -1);
	fail_after = 3;
	out.len = 0;
	assert_int_equal(er_rollup_write_queue(r, emit_fail_later, &out), -1);
	assert_int_equal(er_rollup_write_consolidations(r, emit_fail, NULL), -1);
	char *c = consolidations(r), *q = queue(r);
	assert_string_equal(c, ref.cons);
	assert_string_equal(q, ref.queue);
	free(c);
	free(q);
	er_buf_free(&out);
	er_rollup_free(r);
	free(ref.cons);
	free(ref.queue);
	free(g);
	er_rules_free(rules);
}

/* The spill file cannot be created: merge fails with the system's errno,
 * and stays failed; outputs fail too. With a budget that needs no spill,
 * the same directory is never touched. */
static void test_spill_io_failure(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(5000, 9);
	er_buf b = { 0 };
	for (size_t i = 0; i < 5000; i++)
		encode(&b, &g[i].t);

	er_rollup *r = er_rollup_new(rules, 1, 1, 1);
	assert_non_null(r);
	er_rollup_set_budget(r, 4096);
	assert_int_equal(er_rollup_set_tmpdir(r, "/nonexistent/er-rollup"), 0);
	errno = 0;
	assert_int_equal(er_rollup_merge(r, 0, b.p, b.len), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(er_rollup_merge(r, 0, b.p, b.len), -1);
	er_rollup_file_done(r, 1);
	er_buf out = { 0 };
	assert_int_equal(er_rollup_write_consolidations(r, emit_buf, &out), -1);
	assert_int_equal(er_rollup_write_queue(r, emit_buf, &out), -1);
	assert_int_equal(out.len, 0);
	er_rollup_free(r);

	r = er_rollup_new(rules, 1, 1, 1);
	assert_non_null(r);
	assert_int_equal(er_rollup_set_tmpdir(r, "/nonexistent/er-rollup"), 0);
	assert_int_equal(er_rollup_merge(r, 0, b.p, b.len), 0);
	er_rollup_file_done(r, 1);
	assert_int_equal(er_rollup_write_consolidations(r, emit_buf, &out), 0);
	assert_int_equal(er_rollup_write_queue(r, emit_buf, &out), 0);
	er_rollup_free(r);

	er_buf_free(&out);
	er_buf_free(&b);
	free(g);
	er_rules_free(rules);
}

/* A cancel (a signal during the end phase) stops the merge and the writes
 * with ECANCELED: set before the write, and set by the first piece emitted. */
static volatile int cancel_flag;

static int emit_then_cancel(void *ctx, const char *p, size_t n)
{
	cancel_flag = 1;
	return er_buf_append(ctx, p, n);
}

static void test_cancel_end_phase(void **state)
{
	(void)state;
	er_rules *rules = load_rules();
	gen_row *g = gen_rows(20000, 7);
	er_buf out = { 0 };
	for (int round = 0; round < 2; round++) {
		er_rollup *r = er_rollup_new(rules, 1, 1, 1);
		assert_non_null(r);
		er_rollup_set_budget(r, 8192);
		er_rollup_set_cancel(r, &cancel_flag);
		cancel_flag = 0;
		gen_merge(r, g, 20000, 1);
		out.len = 0;
		errno = 0;
		if (round == 0) {
			cancel_flag = 1;
			assert_int_equal(er_rollup_write_consolidations(r, emit_buf, &out), -1);
		} else {
			assert_int_equal(er_rollup_write_queue(r, emit_then_cancel, &out), -1);
			assert_int_equal(errno, ECANCELED);
			assert_true(out.len > 0 && out.len < 20000 * 40);
		}
		er_rollup_free(r);
	}
	cancel_flag = 0;
	er_buf_free(&out);
	free(g);
	er_rules_free(rules);
}


/* put_csv (eight bytes a step) writes what put_csv_ref (a byte loop) does,
 * for every length and every byte that decides quoting at every place. */
static void test_put_csv_equals_ref(void **state)
{
	(void)state;
	static const char alpha[] = "AZaz09-_/.;|=\",\r\n\t ";
	char in[80], a[2 * sizeof in + 2], b[sizeof a];
	uint64_t x = 88172645463325252ull;
	for (int iter = 0; iter < 200000; iter++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t n = (size_t)(x % sizeof in);
		int special = (int)(x >> 8) % 3 == 0;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			in[i] = alpha[x % (special ? sizeof alpha - 1 : 9)];
		}
		char *ea = put_csv(a, in, n), *eb = put_csv_ref(b, in, n);
		assert_int_equal(ea - a, eb - b);
		assert_memory_equal(a, b, (size_t)(ea - a));
	}
	char o[32];
	assert_int_equal(put_csv(o, "abcdefgh,", 9) - o, 11); /* the comma past the first word */
	assert_memory_equal(o, "\"abcdefgh,\"", 11);
}

/* The record er_rollup_encode writes, byte for byte (er_rollup_int.h). */
static void test_encode_layout(void **state)
{
	(void)state;
	static const trow rows[] = {
		{ "S1", "MB1", "CONT1", "lcl", "SH1", "Ignored Name", "us", 7, R, 1, 1, "st-i", "st-s" },
		{ "S2", NULL, "C2", "Fcl", NULL, "Acme  Co.", "de", 300, Y, 0, 0, NULL, NULL },
		{ "S3", NULL, NULL, "bulk", NULL, NULL, NULL, -4, G, 0, 0, NULL, NULL },
	};
	er_buf b = { 0 };
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		encode(&b, &rows[i]);
	static const char want[] =
	    /* seq 0, lengths 3 4 5 2, T_MBL, RED, score 7, FRONT|CERT|LCL */
	    "\0\0\0\0\0\0\0\0" "\3\0\0\0" "\4\0\0\0" "\5\0\0\0" "\2\0\0\0" "\1\2\7\7"
	    "MB1" "ISH1" "CONT1" "S1" "\4\0\0\0" "st-i" "\4\0\0\0" "st-s"
	    /* no master bill: the container is the key; "Co." a legal form; score clamped to 255; FCL */
	    "\0\0\0\0\0\0\0\0" "\2\0\0\0" "\10\0\0\0" "\2\0\0\0" "\2\0\0\0" "\0\1\377\10"
	    "C2" "NACME/DE" "C2" "S2" "\7\0\0\0" "unknown" "\7\0\0\0" "unknown"
	    /* no key, no shipper: empty; score clamped to 0; neither LCL nor FCL */
	    "\0\0\0\0\0\0\0\0" "\0\0\0\0" "\0\0\0\0" "\0\0\0\0" "\2\0\0\0" "\0\0\0\0"
	    "S3" "\7\0\0\0" "unknown" "\7\0\0\0" "unknown";
	assert_int_equal(b.len, sizeof want - 1);
	assert_memory_equal(b.p, want, sizeof want - 1);
	er_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probabilities_by_hand),
		cmocka_unit_test(test_probability_one),
		cmocka_unit_test(test_chunk_boundaries),
		cmocka_unit_test(test_failed_file_discarded),
		cmocka_unit_test(test_queue_red_only),
		cmocka_unit_test(test_queue_resumption),
		cmocka_unit_test(test_scored_rows),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_budgets_same_output),
		cmocka_unit_test(test_chunk_runs_same_output),
		cmocka_unit_test(test_sort_chunk),
		cmocka_unit_test(test_spiller_io_failure),
		cmocka_unit_test(test_end_threads_same_output),
		cmocka_unit_test(test_filter_and_top),
		cmocka_unit_test(test_row_over_budget),
		cmocka_unit_test(test_spill_leaves_nothing),
		cmocka_unit_test(test_emit_failure_spilled),
		cmocka_unit_test(test_spill_io_failure),
		cmocka_unit_test(test_cancel_end_phase),
		cmocka_unit_test(test_put_csv_equals_ref),
		cmocka_unit_test(test_encode_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
