/* test_calibrate.c - calibrate's pieces: the IRLS fit on problems with a
 * known answer, the lane-threshold and tie-split arithmetic, the [lanes]
 * section of rules.ini and the scorer's lane decision, and every error of the
 * outcomes file, the row pattern keys. Run from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "er_calibrate.h"
#include "er_logit.h"
#include "er_rules.h"
#include "test_helpers.h"

static char g_dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "/tmp/test_calibrate.XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name)
{
	static char p[4][160];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", g_dir, name);
	return p[i];
}

static void put(const char *name, const char *text)
{
	write_file(tpath(name), text, strlen(text));
}

/* ------------------------------------------------------------------ IRLS */

/* Two groups: P(y | x=0) = 0.2, P(y | x=1) = 0.6. With a negligible penalty
 * the fit is the saturated model: b0 = logit 0.2, b1 = logit 0.6 - logit 0.2. */
static void irls_two_groups(void **state)
{
	(void)state;
	double x[] = { 1, 0, 1, 1 }, w[] = { 100, 100 }, y[] = { 20, 60 };
	er_logit_data d = { 2, 2, x, w, y };
	er_logit_opts o = { 1e-9, NULL, NULL, 0, 0 };
	double beta[2] = { 0, 0 };
	er_logit_fit_info info;
	char err[200];
	assert_int_equal(er_logit_fit(&d, &o, beta, &info, err, sizeof err), 0);
	assert_true(fabs(beta[0] - log(0.2 / 0.8)) < 1e-6);
	assert_true(fabs(beta[1] - (log(0.6 / 0.4) - log(0.2 / 0.8))) < 1e-6);
	assert_true(info.iterations > 1 && info.iterations < 20);
	assert_true(fabs(info.loglik - (20 * log(0.2) + 80 * log(0.8) + 60 * log(0.6) + 40 * log(0.4))) < 1e-6);
}

/* A strong penalty pulls the slope onto its prior, not onto 0. */
static void irls_prior(void **state)
{
	(void)state;
	double x[] = { 1, 0, 1, 1 }, w[] = { 100, 100 }, y[] = { 20, 60 };
	double prior[2] = { 0, -0.5 };
	er_logit_data d = { 2, 2, x, w, y };
	er_logit_opts o = { 1e9, prior, NULL, 0, 0 };
	double beta[2] = { 0, 0 };
	er_logit_fit_info info;
	char err[200];
	assert_int_equal(er_logit_fit(&d, &o, beta, &info, err, sizeof err), 0);
	assert_true(fabs(beta[1] + 0.5) < 1e-5);
	/* the intercept is free: the pooled rate given the fixed slope */
	assert_true(isfinite(beta[0]));
}

/* Perfect separation stays finite with the penalty. */
static void irls_separation(void **state)
{
	(void)state;
	double x[] = { 1, 0, 1, 1 }, w[] = { 50, 50 }, y[] = { 0, 50 };
	er_logit_data d = { 2, 2, x, w, y };
	er_logit_opts o = { 1.0, NULL, NULL, 0, 0 };
	double beta[2] = { 0, 0 };
	er_logit_fit_info info;
	char err[200];
	assert_int_equal(er_logit_fit(&d, &o, beta, &info, err, sizeof err), 0);
	assert_true(isfinite(beta[0]) && isfinite(beta[1]) && beta[1] > 3);
}

static void irls_constant_outcome(void **state)
{
	(void)state;
	double x[] = { 1, 0, 1, 1 }, w[] = { 10, 10 }, y[] = { 0, 0 }, yall[] = { 10, 10 };
	er_logit_data d = { 2, 2, x, w, y };
	er_logit_opts o = { 1.0, NULL, NULL, 0, 0 };
	double beta[2] = { 0, 0 };
	er_logit_fit_info info;
	char err[200];
	assert_int_equal(er_logit_fit(&d, &o, beta, &info, err, sizeof err), -1);
	assert_non_null(strstr(err, "constant"));
	d.y = yall;
	assert_int_equal(er_logit_fit(&d, &o, beta, &info, err, sizeof err), -1);
	assert_non_null(strstr(err, "all successes"));
	d.n = 0;
	assert_int_equal(er_logit_fit(&d, &o, beta, &info, err, sizeof err), -1);
	assert_non_null(strstr(err, "no rows"));
}

/* ------------------------------------------------------- threshold math */

static uint64_t g_h[101][ER_CAL_BUCKETS];

/* 10,000 rows: 64 at score 80 (one in each of the first 64 tie buckets),
 * 640 at 70 (ten in each of the first 64), the rest at 10 (all in bucket 0). */
static void fill_hist(void)
{
	memset(g_h, 0, sizeof g_h);
	for (int b = 0; b < 64; b++) {
		g_h[80][b] = 1;
		g_h[70][b] = 10;
	}
	g_h[10][0] = 10000 - 64 - 640;
}

static void threshold_tie_split(void **state)
{
	(void)state;
	fill_hist();
	int thr, k;
	uint64_t got;
	/* 3 % = 300 rows: 64 above 70, then 24 of 64 buckets at 70 (240) = 304,
	 * nearer than 23 buckets (294) */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 300, 0, &thr, &k, &got);
	assert_int_equal(thr, 70);
	assert_int_equal(k, 24);
	assert_int_equal(got, 304);
	assert_int_equal(er_cal_count_at_or_above((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 70, 24), 304);
	/* exactly the rows of score 80: threshold 80 taken whole */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 64, 0, &thr, &k, &got);
	assert_int_equal(thr, 80);
	assert_int_equal(k, ER_CAL_BUCKETS);
	assert_int_equal(got, 64);
	/* a quota of 0: nothing RED (no row at 100, so no split either) */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 0, 0, &thr, &k, &got);
	assert_int_equal(thr, 100);
	assert_int_equal(k, ER_CAL_BUCKETS);
	assert_int_equal(got, 0);
	/* ... and with rows at 100, share 0 of them */
	g_h[100][5] = 3;
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 0, 0, &thr, &k, &got);
	assert_int_equal(thr, 100);
	assert_int_equal(k, 0);
	assert_int_equal(got, 0);
	g_h[100][5] = 0;
	/* 65 rows: 64 at 80 plus 1 bucket at 70 (74) is farther than none (64):
	 * so "none of 70" normalizes to 71 taken whole */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 66, 0, &thr, &k, &got);
	assert_int_equal(thr, 71);
	assert_int_equal(k, ER_CAL_BUCKETS);
	assert_int_equal(got, 64);
	/* more than the population: every row with score >= 1 */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 20000, 0, &thr, &k, &got);
	assert_int_equal(thr, 1);
	assert_int_equal(got, 10000);
	/* YELLOW below RED 70: an at-or-above quota of 604 is nearest the 704
	 * rows at 70 and above, i.e. YELLOW at 69 (the rows at 70 that the split
	 * leaves out of RED are YELLOW), never YELLOW = RED (which disables it) */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 604, 70, &thr, &k, &got);
	assert_int_equal(thr, 69);
	assert_int_equal(got, 704);
	g_h[69][0] = 50; /* rows at 69 now: taking none of them is nearest */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 604, 70, &thr, &k, &got);
	assert_int_equal(thr, 69);
	assert_int_equal(k, 0);
	assert_int_equal(got, 704);
	g_h[69][0] = 0;
	/* 6000: the 9296 rows at 10 sit in one bucket; taking it (10000) is
	 * nearer, and the empty buckets after it make no split */
	er_cal_threshold((const uint64_t (*)[ER_CAL_BUCKETS])g_h, 6000, 70, &thr, &k, &got);
	assert_int_equal(thr, 10);
	assert_int_equal(k, ER_CAL_BUCKETS);
	assert_int_equal(got, 10000);
}

/* ------------------------------------------------------------- [lanes] */

static char *shipped_rules(void)
{
	FILE *f = fopen("data/rules.ini", "rb");
	assert_non_null(f);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Load data/rules.ini + extra; returns the status, message in err. */
static er_status load_with(const char *extra, er_rules **r, char *err, size_t errlen)
{
	char *base = shipped_rules();
	size_t n = strlen(base) + strlen(extra) + 2;
	char *text = malloc(n);
	assert_non_null(text);
	snprintf(text, n, "%s%s%s", base, base[strlen(base) - 1] == '\n' ? "" : "\n", extra);
	put("lanes.ini", text);
	free(text);
	return er_rules_load(tpath("lanes.ini"), r, err, errlen);
}

static void lanes_decision(void **state)
{
	(void)state;
	er_rules *r = NULL;
	char err[400];
	assert_int_equal(load_with("[lanes]\nred.vessel = 70\nred_share.vessel = 0.5\n"
	                           "yellow.truck = 45\nyellow_share.truck = 0.25\n", &r, err, sizeof err),
	                 ER_OK);
	assert_int_equal(er_rules_lane(r, ER_TM_VESSEL, 71, 0.99), ER_LANE_RED);
	assert_int_equal(er_rules_lane(r, ER_TM_VESSEL, 70, 0.49), ER_LANE_RED);
	assert_int_equal(er_rules_lane(r, ER_TM_VESSEL, 70, 0.5), ER_LANE_YELLOW);
	assert_int_equal(er_rules_lane(r, ER_TM_VESSEL, 69, 0.0), ER_LANE_YELLOW);
	/* truck: [score] red, its own yellow with a tie split */
	assert_int_equal(er_rules_lane(r, ER_TM_TRUCK, r->red, 0.99), ER_LANE_RED);
	assert_int_equal(er_rules_lane(r, ER_TM_TRUCK, r->red - 1, 0.99), ER_LANE_YELLOW);
	assert_int_equal(er_rules_lane(r, ER_TM_TRUCK, 45, 0.2), ER_LANE_YELLOW);
	assert_int_equal(er_rules_lane(r, ER_TM_TRUCK, 45, 0.3), ER_LANE_GREEN);
	/* unlisted modes keep [score] */
	assert_int_equal(er_rules_lane(r, ER_TM_AIR, r->red, 0.99), ER_LANE_RED);
	assert_int_equal(er_rules_lane(r, ER_TM_AIR, r->yellow - 1, 0.0), ER_LANE_GREEN);
	assert_int_equal(r->red_min, 70);
	er_rules_free(r);
	/* the tie draw is a pure function of the id and differs from the random selection's */
	double u = er_lane_tie_u("ABC123", 6);
	assert_true(u >= 0 && u < 1);
	assert_true(u == er_lane_tie_u("ABC123", 6));
	assert_true(u != (double)(er_hash64("ABC123", 6, 20240601) >> 11) * 0x1p-53);
}

static void lanes_errors(void **state)
{
	(void)state;
	int L = count_lines(shipped_rules()) + 2; /* line of the first key after [lanes] */
	struct { const char *extra; const char *msg; int line; } cases[] = {
		{ "[lanes]\nred.boat = 70\n", "unknown key 'red.boat' in [lanes]", L },
		{ "[lanes]\ngreen.vessel = 70\n", "unknown key 'green.vessel'", L },
		{ "[lanes]\nred.vessel = 70\nred.VESSEL = 71\n", "duplicate key 'red.VESSEL' in [lanes]", L + 1 },
		{ "[lanes]\nred_share.air = 1.5\n", "red_share.air", L },
		{ "[lanes]\nred.rail = 0\n", "red.rail", L },
		{ "[lanes]\nred.truck = 40\nyellow.truck = 45\n", "yellow 45 of mode truck must not exceed its red threshold 40", L + 1 },
		/* default T1 = -12 needs every RED threshold >= 60 */
		{ "[lanes]\nred.air = 59\n", "exceeds 20% of the lowest red ([lanes]) threshold 59", -1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_rules *r = NULL;
		char err[400], want[64];
		assert_int_equal(load_with(cases[i].extra, &r, err, sizeof err), ER_E_FORMAT);
		assert_null(r);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
		if (cases[i].line > 0) {
			snprintf(want, sizeof want, "lanes.ini:%d:", cases[i].line);
			if (!strstr(err, want))
				fail_msg("case %zu: '%s' lacks '%s'", i, err, want);
		}
	}
	er_rules *r = NULL;
	char err[400];
	assert_int_equal(load_with("[lanes]\nred.air = 60\n", &r, err, sizeof err), ER_OK);
	er_rules_free(r);
}

/* ------------------------------------------------------------- targets */

static void targets_parse(void **state)
{
	(void)state;
	double t[ER_NTMODES];
	for (int m = 0; m < ER_NTMODES; m++)
		t[m] = -1;
	char err[200];
	assert_int_equal(er_calib_parse_target("vessel=0.03", t, err, sizeof err), 0);
	assert_true(t[ER_TM_VESSEL] == 0.03);
	assert_int_equal(er_calib_parse_target("Air=0", t, err, sizeof err), 0);
	assert_true(t[ER_TM_AIR] == 0.0);
	assert_int_equal(er_calib_parse_target("vessel=0.04", t, err, sizeof err), -1);
	assert_non_null(strstr(err, "already given"));
	assert_int_equal(er_calib_parse_target("boat=0.1", t, err, sizeof err), -1);
	assert_non_null(strstr(err, "MODE=RATE"));
	assert_int_equal(er_calib_parse_target("truck=3%", t, err, sizeof err), -1);
	assert_non_null(strstr(err, "share from 0 to 1"));
	assert_int_equal(er_calib_parse_target("truck=1.5", t, err, sizeof err), -1);
	assert_int_equal(er_calib_parse_target("truck", t, err, sizeof err), -1);
}

/* ------------------------------------------------------------ outcomes */

static void outcomes_ok(void **state)
{
	(void)state;
	put("ok.csv", "note,FINDING,shipment_id,examined\n"
	              "x,1, S1 ,1\n"
	              "y,0,S2,1\n"
	              "z,,S3,0\n"
	              "w,0,\"S4\",0\n");
	er_outcomes *oc = NULL;
	char err[400];
	assert_int_equal(er_outcomes_load(tpath("ok.csv"), &oc, err, sizeof err), ER_OK);
	assert_int_equal(er_outcomes_rows(oc), 4);
	assert_int_equal(er_outcomes_lookup(oc, "S1", 2), 3);
	assert_int_equal(er_outcomes_lookup(oc, "S2", 2), 2);
	assert_int_equal(er_outcomes_lookup(oc, "S3", 2), 1);
	assert_int_equal(er_outcomes_lookup(oc, "S4", 2), 1);
	assert_int_equal(er_outcomes_lookup(oc, "S5", 2), 0);
	er_outcomes_free(oc);
}

static void outcomes_errors(void **state)
{
	(void)state;
	struct { const char *text; const char *msg; } cases[] = {
		{ "shipment_id,examined,finding\nA,1,0\nB,2,0\n", "bad.csv:3: examined must be 0 or 1, not '2'" },
		{ "shipment_id,examined,finding\nA,1,yes\n", "bad.csv:2: finding must be 0 or 1, not 'yes'" },
		{ "shipment_id,examined,finding\nA,1,\n", "bad.csv:2: finding must be 0 or 1, not ''" },
		{ "shipment_id,examined,finding\nA,0,1\n", "bad.csv:2: finding = 1 on a shipment that was not examined" },
		{ "shipment_id,examined,finding\nA,1,0\nB,0,0\nA,0,0\n", "bad.csv:4: duplicate shipment_id 'A' (first on line 2)" },
		{ "shipment_id,examined,finding\n,1,0\n", "bad.csv:2: empty shipment_id" },
		{ "shipment_id,examined\nA,1\n", "missing column 'finding'" },
		{ "shipment_id,examined,finding\nA,1\n", "bad.csv:2: expected 3 fields, got 2" },
		{ "", "empty file" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		put("bad.csv", cases[i].text);
		er_outcomes *oc = NULL;
		char err[400];
		assert_int_equal(er_outcomes_load(tpath("bad.csv"), &oc, err, sizeof err), ER_E_FORMAT);
		assert_null(oc);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
	er_outcomes *oc = NULL;
	char err[400];
	assert_int_equal(er_outcomes_load(tpath("missing.csv"), &oc, err, sizeof err), ER_E_IO);
}

/* Row pattern keys with 30 reason codes (more than the 24 the keys once
 * held): every bit of the mask survives next to mode, HS and origin points,
 * no two patterns share a key, and the key order stays (org, hs, mode, mask). */
static void keys_30_reasons(void **state)
{
	(void)state;
	const int nreasons = 30;
	const uint32_t all = (1u << nreasons) - 1;
	const int hs[] = { -128, -5, 0, 40, 127 }, org[] = { -128, 0, 15, 127 };
	for (int r = 0; r <= nreasons; r++) {
		uint32_t m = r == nreasons ? all : 1u << r;
		for (int mode = 0; mode < ER_NTMODES; mode++)
			for (size_t h = 0; h < sizeof hs / sizeof *hs; h++)
				for (size_t o = 0; o < sizeof org / sizeof *org; o++) {
					uint64_t k = er_cal_key(m, mode, hs[h], org[o]);
					uint32_t gm;
					int gmode, ghs, gorg;
					er_cal_key_parts(k, &gm, &gmode, &ghs, &gorg);
					assert_int_equal(gm, m);
					assert_int_equal(gmode, mode);
					assert_int_equal(ghs, hs[h]);
					assert_int_equal(gorg, org[o]);
				}
	}
	/* reason 24 on vessel is not "no reason" on truck (the old 24-bit key's collision) */
	assert_true(er_cal_key(1u << 24, ER_TM_VESSEL, 0, 0) != er_cal_key(0, ER_TM_TRUCK, 0, 0));
	assert_true(er_cal_key(1u << 29, 0, 0, 0) != er_cal_key(0, 0, 32, 0));
	assert_true(er_cal_key(all, 4, 127, -128) < er_cal_key(0, 0, -128, -127));
	assert_true(er_cal_key(all, 3, 0, 0) < er_cal_key(0, 4, 0, 0));
	assert_true(er_cal_key(all, 0, -1, 0) < er_cal_key(0, 0, 0, 0));
	/* the whole mask of a result fits */
	uint32_t gm;
	int a, b, c;
	er_cal_key_parts(er_cal_key(0xFFFFFFFFu, 2, -1, 1), &gm, &a, &b, &c);
	assert_int_equal(gm, 0xFFFFFFFFu);
	assert_int_equal(a, 2);
	assert_int_equal(b, -1);
	assert_int_equal(c, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(irls_two_groups),
		cmocka_unit_test(irls_prior),
		cmocka_unit_test(irls_separation),
		cmocka_unit_test(irls_constant_outcome),
		cmocka_unit_test(threshold_tie_split),
		cmocka_unit_test(lanes_decision),
		cmocka_unit_test(lanes_errors),
		cmocka_unit_test(targets_parse),
		cmocka_unit_test(outcomes_ok),
		cmocka_unit_test(outcomes_errors),
		cmocka_unit_test(keys_30_reasons),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
