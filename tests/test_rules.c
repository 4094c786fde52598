/* test_rules.c - rules.ini loader: the shipped file, every error message
 * with its exact FILE:LINE, the statute checks, and the list look-ups
 * (HS-prefix watch list, vague descriptions). Run from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "er_rules.h"

#define SHIPPED "data/rules.ini"
#define FIXTURE "tests/fixtures/score/rules.ini"

/* A complete, valid rules file, one line per entry (line N = base[N-1]).
 * Error tests replace one line and expect its number in the message. */
static const char *const base[] = {
	"[score]",                   /* 1 */
	"base = 40",                 /* 2 */
	"red = 70",                  /* 3 */
	"yellow = 50",               /* 4 */
	"[points]",                  /* 5 */
	"IMP_CTPAT_T1 = -10",        /* 6 */
	"IMP_CTPAT_T2 = -20",        /* 7 */
	"IMP_CTPAT_T3 = -30",        /* 8 */
	"IMP_SUSPENDED = 20",        /* 9 */
	"IMP_REMOVED = 30",          /* 10 */
	"IMP_UNKNOWN = 10",          /* 11 */
	"SHP_CTPAT = -10",           /* 12 */
	"SHP_MRA = -5",              /* 13 */
	"SHP_AEO_UNRECOGNIZED = 0",  /* 14 */
	"SHP_UNKNOWN = 5",           /* 15 */
	"CARRIER_CTPAT = -2",        /* 16 */
	"FWD_CTPAT = -3",            /* 17 */
	"LCL = 4",                   /* 18 */
	"VAGUE_DESC = 6",            /* 19 */
	"NO_HS = 7",                 /* 20 */
	"LATE_FILING = 8",           /* 21 */
	"FAST = -4",                 /* 22 */
	"RANDOM = 0",                /* 23 */
	"[hs_watch]",                /* 24 */
	"84 = 1",                    /* 25 */
	"8471 = 2",                  /* 26 */
	"847130 = 3",                /* 27 */
	"[origin_watch]",            /* 28 */
	"KP = 9",                    /* 29 */
	"[vague]",                   /* 30 */
	"term = FAK",                /* 31 */
	"term = GENERAL CARGO",      /* 32 */
	"term = said to contain",    /* 33 */
	"[filing]",                  /* 34 */
	"window_hours = 24",         /* 35 */
	"[random]",                  /* 36 */
	"rate = 0.005",              /* 37 */
	"seed = 42",                 /* 38 */
	"[exam_probability]",        /* 39 */
	"red = 0.9",                 /* 40 */
	"yellow = 0.1",              /* 41 */
	"green = 0.01",              /* 42 */
	"[points]",                  /* 43: a section may be reopened */
	"ID_NAME_CONFLICT = 12",     /* 44 */
	"FILING_UNKNOWN = 11",       /* 45 */
};
#define NBASE (sizeof base / sizeof base[0])

static char tmpdir[256];
static char tmpfile_path[300];

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/er_rules_XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(tmpfile_path, sizeof tmpfile_path, "%s/rules.ini", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tmpfile_path);
	rmdir(tmpdir);
	return 0;
}

/* Write base[] with up to two lines replaced (line numbers 1-based, 0 =
 * none) and line ending eol; returns the path. */
static const char *write_variant2(int l1, const char *t1, int l2, const char *t2,
                                  const char *eol)
{
	FILE *f = fopen(tmpfile_path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < NBASE; i++) {
		int ln = (int)i + 1;
		const char *s = ln == l1 ? t1 : ln == l2 ? t2 : base[i];
		fprintf(f, "%s%s", s, eol);
	}
	assert_int_equal(fclose(f), 0);
	return tmpfile_path;
}

static const char *write_variant(int line, const char *text)
{
	return write_variant2(line, text, 0, NULL, "\n");
}

static void write_raw(const char *text)
{
	FILE *f = fopen(tmpfile_path, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Load path and expect failure with exactly "path" + suffix. */
static void expect_error(const char *path, er_status want, const char *suffix)
{
	er_rules *r = (er_rules *)0x1;
	char err[512], want_msg[600];
	er_status st = er_rules_load(path, &r, err, sizeof err);
	snprintf(want_msg, sizeof want_msg, "%s%s", path, suffix);
	assert_string_equal(err, want_msg);
	assert_int_equal(st, want);
	assert_null(r);
}

static er_rules *load_ok(const char *path)
{
	er_rules *r = NULL;
	char err[512] = "";
	er_status st = er_rules_load(path, &r, err, sizeof err);
	if (st != ER_OK)
		fail_msg("%s", err);
	assert_non_null(r);
	return r;
}

/* ------------------------------------------------------------------ */

static void test_shipped_loads(void **state)
{
	(void)state;
	er_rules *r = load_ok(SHIPPED);
	int red = er_rules_red_threshold(r);
	int t1 = er_rules_points(r, ER_R_IMP_CTPAT_T1);
	int t2 = er_rules_points(r, ER_R_IMP_CTPAT_T2);
	int t3 = er_rules_points(r, ER_R_IMP_CTPAT_T3);
	/* 6 U.S.C. 964-966 on the shipped defaults */
	assert_true(t1 <= 0 && t2 <= 0 && t3 <= 0);
	assert_true(-t1 * 5 <= red);
	assert_true(-t2 > -t1);
	assert_true(-t3 > -t2);
	assert_true(er_rules_yellow_threshold(r) <= red);
	assert_true(red >= 1 && red <= 100);
	/* per-lane exam probabilities are ordered and proper */
	double pg = er_rules_exam_prob(r, ER_LANE_GREEN), py = er_rules_exam_prob(r, ER_LANE_YELLOW),
	       pr = er_rules_exam_prob(r, ER_LANE_RED);
	assert_true(pg > 0 && pg < py && py < pr && pr <= 1);
	assert_true(r->random_rate > 0 && r->random_rate < 0.05);
	assert_int_equal(r->window_hours, 24);
	/* every CBP and Transport Canada term is listed */
	static const char *const terms[] = {
		"FAK", "FREIGHT OF ALL KINDS", "GENERAL CARGO", "STC", "SAID TO CONTAIN",
		"GENERAL MERCHANDISE", "CONSOLIDATED", "GIFT", "DAILY NECESSITIES", "ACCESSORIES",
		"PARTS", "MACHINERY", "FOODSTUFFS", "ELECTRONIC GOODS", "FOOD", "GOODS", "MERCHANDISE",
		"VARIOUS GOODS", "PERSONAL EFFECTS", "SAMPLES", "EQUIPMENT", "SPARE PARTS",
		"CONSOLIDATED CARGO", "F.A.K.",
	};
	for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++) {
		if (!er_rules_vague_desc(r, terms[i], strlen(terms[i])))
			fail_msg("shipped rules.ini lacks vague term '%s'", terms[i]);
	}
	assert_int_equal(r->vague_n, sizeof terms / sizeof terms[0]);
	assert_false(er_rules_vague_desc(r, "FAKE LEATHER BAGS", 17));
	/* the forms manifests really use (issue 9 item 5), with the shipped
	 * unit and prefix lists */
	static const struct {
		const char *d;
		int vague;
	} forms[] = {
		{ "STC GENERAL MERCHANDISE", 1 }, { "SAID TO CONTAIN PARTS", 1 },
		{ "147 PLTS ELECTRONIC GOODS", 1 }, { "12 CTNS FAK", 1 }, { "CONSOLIDATED CARGO", 1 },
		{ "12 CTNS STC GENERAL CARGO", 1 }, { "STC 12 CTNS GENERAL CARGO", 1 },
		{ "S.T.C. 3 PALLETS FAK", 1 }, { "1,200 PCS OF PARTS", 1 }, { "5 CARTON(S) GOODS", 1 },
		{ "2 DRUMS", 1 }, { "40 BALES STC", 1 }, { "CTN", 1 }, { "1 UNIT", 1 },
		{ "12 CTNS SHOES", 0 }, { "STC 12 CARTONS OF LAPTOP COMPUTERS", 0 },
		{ "FAKE LEATHER BAGS", 0 }, { "3 ROLLS OF COTTON FABRIC", 0 }, { "1 UNIT EXCAVATOR", 0 },
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
		if (er_rules_vague_desc(r, forms[i].d, strlen(forms[i].d)) != forms[i].vague)
			fail_msg("shipped rules: '%s' should be %s", forms[i].d,
			         forms[i].vague ? "vague" : "not vague");
	assert_true(r->units.n >= 40);
	assert_int_equal(r->prefixes.n, 3); /* STC and S.T.C. are one word */
	er_rules_free(r);
}

static void test_fixture_values(void **state)
{
	(void)state;
	er_rules *r = load_ok(FIXTURE);
	assert_int_equal(r->base, 40);
	assert_int_equal(er_rules_red_threshold(r), 70);
	assert_int_equal(er_rules_yellow_threshold(r), 50);
	assert_int_equal(er_rules_points(r, ER_R_IMP_CTPAT_T1), -10);
	assert_int_equal(er_rules_points(r, ER_R_SHP_AEO_UNRECOGNIZED), 1);
	assert_int_equal(er_rules_points(r, ER_R_RANDOM), 0);
	assert_int_equal(er_rules_points(r, ER_R_HS_WATCH), 0);
	assert_int_equal(er_rules_points(r, -1), 0);
	assert_int_equal(er_rules_points(r, ER_NREASONS), 0);
	assert_true(er_rules_exam_prob(r, ER_LANE_RED) == 0.9);
	assert_true(er_rules_exam_prob(r, ER_LANE_YELLOW) == 0.1);
	assert_true(er_rules_exam_prob(r, ER_LANE_GREEN) == 0.01);
	assert_true(er_rules_exam_prob(r, 3) == 0.0);
	assert_true(er_rules_exam_prob(r, -1) == 0.0);
	assert_int_equal(r->window_secs, 24 * 3600);
	assert_true(r->random_rate == 0.0);
	assert_true(r->random_seed == 42);
	assert_int_equal(r->hs_n, 3);
	assert_int_equal(r->vague_n, 4);
	assert_int_equal(er_rules_points(r, ER_R_FILING_UNKNOWN), 12);
	er_rules_free(r);
}

/* Every key of the base file, with any case, indentation and CRLF, loads. */
static void test_base_variants_load(void **state)
{
	(void)state;
	er_rules *r = load_ok(write_variant2(0, NULL, 0, NULL, "\r\n"));
	assert_int_equal(r->points[ER_R_LATE_FILING], 8);
	assert_int_equal(r->points[ER_R_FILING_UNKNOWN], 11);
	assert_true(r->random_rate == 0.005);
	er_rules_free(r);

	/* indented keys are ordinary keys (not continuations); names fold case */
	r = load_ok(write_variant2(18, "   lcl = +4", 2, "\tBASE = 41", "\n"));
	assert_int_equal(r->points[ER_R_LCL], 4);
	assert_int_equal(r->base, 41);
	er_rules_free(r);

	/* blanks inside a section header */
	r = load_ok(write_variant(5, "[ points ]"));
	er_rules_free(r);

	/* inline comment, BOM */
	r = load_ok(write_variant2(1, "\xef\xbb\xbf[Score] ; the thresholds", 3, "red = 70 ; high-risk",
	                           "\n"));
	assert_int_equal(r->red, 70);
	er_rules_free(r);

	/* Tier 1 credit exactly 20 % of red is allowed (6 U.S.C. 964 "not greater") */
	r = load_ok(write_variant(6, "IMP_CTPAT_T1 = -14"));
	assert_int_equal(r->points[ER_R_IMP_CTPAT_T1], -14);
	er_rules_free(r);

	/* yellow == red is allowed (no YELLOW lane) */
	r = load_ok(write_variant(4, "yellow = 70"));
	er_rules_free(r);

	/* the same vague term twice is harmless */
	r = load_ok(write_variant(33, "term = fak."));
	assert_int_equal(r->vague_n, 2);
	er_rules_free(r);

	/* extreme but valid values */
	r = load_ok(write_variant2(37, "rate = 1", 38, "seed = 18446744073709551615", "\n"));
	assert_true(r->random_seed == UINT64_MAX);
	er_rules_free(r);
}

static void test_error_unknown(void **state)
{
	(void)state;
	expect_error(write_variant(4, "yelow = 50"), ER_E_FORMAT,
	             ":4: unknown key 'yelow' in [score]");
	expect_error(write_variant(18, "LCLX = 4"), ER_E_FORMAT,
	             ":18: unknown key 'LCLX' in [points]");
	expect_error(write_variant(28, "[origin_watchlist]"), ER_E_FORMAT,
	             ":28: unknown section [origin_watchlist]");
	expect_error(write_variant(31, "word = FAK"), ER_E_FORMAT,
	             ":31: unknown key 'word' in [vague] (expected term, unit or prefix = TEXT)");
	expect_error(write_variant(38, "sead = 42"), ER_E_FORMAT,
	             ":38: unknown key 'sead' in [random]");
	expect_error(write_variant(40, "blue = 0.5"), ER_E_FORMAT,
	             ":40: unknown key 'blue' in [exam_probability]");
	expect_error(write_variant(35, "window = 24"), ER_E_FORMAT,
	             ":35: unknown key 'window' in [filing]");
	expect_error(write_variant(23, "HS_WATCH = 5"), ER_E_FORMAT,
	             ":23: [points] HS_WATCH: points come from each entry of [hs_watch]");
	expect_error(write_variant(1, "base = 40"), ER_E_FORMAT,
	             ":1: key 'base' outside any [section]");
}

static void test_error_bad_values(void **state)
{
	(void)state;
	expect_error(write_variant(18, "LCL = six"), ER_E_FORMAT,
	             ":18: [points] LCL = 'six': not an integer");
	expect_error(write_variant(18, "LCL = 4.5"), ER_E_FORMAT,
	             ":18: [points] LCL = '4.5': not an integer");
	expect_error(write_variant(18, "LCL ="), ER_E_FORMAT,
	             ":18: [points] LCL = '': not an integer");
	expect_error(write_variant(18, "LCL = 101"), ER_E_FORMAT,
	             ":18: [points] LCL = 101: out of range -100..100");
	expect_error(write_variant(18, "LCL = -99999999999999999999"), ER_E_FORMAT,
	             ":18: [points] LCL = -99999999999999999999: out of range -100..100");
	expect_error(write_variant(2, "base = 101"), ER_E_FORMAT,
	             ":2: [score] base = 101: out of range 0..100");
	expect_error(write_variant(3, "red = 0"), ER_E_FORMAT,
	             ":3: [score] red = 0: out of range 1..100");
	expect_error(write_variant(35, "window_hours = 721"), ER_E_FORMAT,
	             ":35: [filing] window_hours = 721: out of range 0..720");
	expect_error(write_variant(37, "rate = 1.5"), ER_E_FORMAT,
	             ":37: [random] rate = 1.5: out of range 0..1");
	expect_error(write_variant(37, "rate = -0.1"), ER_E_FORMAT,
	             ":37: [random] rate = -0.1: out of range 0..1");
	expect_error(write_variant(37, "rate = 5e-3"), ER_E_FORMAT,
	             ":37: [random] rate = '5e-3': not a number");
	expect_error(write_variant(37, "rate = nan"), ER_E_FORMAT,
	             ":37: [random] rate = 'nan': not a number");
	expect_error(write_variant(37, "rate = 0.0.1"), ER_E_FORMAT,
	             ":37: [random] rate = '0.0.1': not a number");
	expect_error(write_variant(37, "rate = ."), ER_E_FORMAT,
	             ":37: [random] rate = '.': not a number");
	expect_error(write_variant(37, "rate = 0.0000000000000001"), ER_E_FORMAT,
	             ":37: [random] rate = '0.0000000000000001': more than 15 digits");
	expect_error(write_variant(38, "seed = -1"), ER_E_FORMAT,
	             ":38: [random] seed = '-1': not an integer");
	expect_error(write_variant(38, "seed = 18446744073709551616"), ER_E_FORMAT,
	             ":38: [random] seed = 18446744073709551616: out of range 0..18446744073709551615");
	expect_error(write_variant(41, "yellow = 0,1"), ER_E_FORMAT,
	             ":41: [exam_probability] yellow = '0,1': not a number");
	expect_error(write_variant(25, "84A = 1"), ER_E_FORMAT,
	             ":25: [hs_watch] '84A': HS prefix must be 2 to 10 digits");
	expect_error(write_variant(25, "8 = 1"), ER_E_FORMAT,
	             ":25: [hs_watch] '8': HS prefix must be 2 to 10 digits");
	expect_error(write_variant(25, "12345678901 = 1"), ER_E_FORMAT,
	             ":25: [hs_watch] '12345678901': HS prefix must be 2 to 10 digits");
	expect_error(write_variant(25, "84 = x"), ER_E_FORMAT,
	             ":25: [hs_watch] 84 = 'x': not an integer");
	expect_error(write_variant(29, "KOR = 9"), ER_E_FORMAT,
	             ":29: [origin_watch] 'KOR': not an ISO 3166 alpha-2 country code");
	expect_error(write_variant(29, "K1 = 9"), ER_E_FORMAT,
	             ":29: [origin_watch] 'K1': not an ISO 3166 alpha-2 country code");
	expect_error(write_variant(31, "term = ..."), ER_E_FORMAT,
	             ":31: [vague] term '...': empty after normalisation");
	expect_error(write_variant(31, "unit = ..."), ER_E_FORMAT,
	             ":31: [vague] unit '...': empty after normalisation");
	expect_error(write_variant(31, "prefix = S*T*C"), ER_E_FORMAT,
	             ":31: [vague] prefix 'S*T*C': only letters, digits, spaces, dots and ()&'- allowed");
	expect_error(write_variant(31, "unit = CART\xc3\x93N"), ER_E_FORMAT,
	             ":31: [vague] unit 'CART\xc3\x93N': only letters, digits, spaces, dots and ()&'- "
	             "allowed");
	expect_error(write_variant(31, "prefix = SAID TO CONTAIN AND SOMETHING LONGER"), ER_E_FORMAT,
	             ":31: [vague] prefix 'SAID TO CONTAIN AND SOMETHING LONGER': longer than 32 "
	             "characters");
	expect_error(write_variant(31, "term = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	             ER_E_FORMAT,
	             ":31: [vague] term 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA': "
	             "longer than 64 characters");
	expect_error(write_variant(10, "IMP_REMOVED 30"), ER_E_FORMAT,
	             ":10: syntax error (expected [section] or key = value)");
	expect_error(write_variant(5, "[points"), ER_E_FORMAT,
	             ":5: syntax error (expected [section] or key = value)");
}

static void test_error_duplicates(void **state)
{
	(void)state;
	expect_error(write_variant(19, "LCL = 5"), ER_E_FORMAT,
	             ":19: duplicate key 'LCL' in [points] (first set on line 18)");
	expect_error(write_variant(4, "RED = 80"), ER_E_FORMAT,
	             ":4: duplicate key 'RED' in [score] (first set on line 3)");
	expect_error(write_variant(26, "84 = 2"), ER_E_FORMAT,
	             ":26: duplicate key '84' in [hs_watch] (first set on line 25)");
	/* dots in an HS prefix are layout: 8471.30 is 847130 */
	expect_error(write_variant(26, "8471.30 = 2"), ER_E_FORMAT,
	             ":27: duplicate key '847130' in [hs_watch] (first set on line 26)");
	/* line 30 replaces [vague], so kp lands in [origin_watch] beside KP */
	expect_error(write_variant(30, "kp = 1"), ER_E_FORMAT,
	             ":30: duplicate key 'kp' in [origin_watch]");
	expect_error(write_variant(42, "red = 0.5"), ER_E_FORMAT,
	             ":42: duplicate key 'red' in [exam_probability] (first set on line 40)");
}

static void test_error_missing(void **state)
{
	(void)state;
	expect_error(write_variant(18, "; LCL removed"), ER_E_FORMAT, ": missing key [points] LCL");
	expect_error(write_variant(2, "; no base"), ER_E_FORMAT, ": missing key [score] base");
	expect_error(write_variant(35, "# no window"), ER_E_FORMAT,
	             ": missing key [filing] window_hours");
	expect_error(write_variant(38, ""), ER_E_FORMAT, ": missing key [random] seed");
	expect_error(write_variant(42, ""), ER_E_FORMAT, ": missing key [exam_probability] green");
	expect_error(write_variant(45, ""), ER_E_FORMAT, ": missing key [points] FILING_UNKNOWN");
	expect_error(write_variant(45, "FILING_UNKNOWN = 101"), ER_E_FORMAT,
	             ":45: [points] FILING_UNKNOWN = 101: out of range -100..100");
	expect_error(write_variant(45, "LATE_FILING = 9"), ER_E_FORMAT,
	             ":45: duplicate key 'LATE_FILING' in [points] (first set on line 21)");
	/* several missing: the first in file order of the sections */
	expect_error(write_variant2(42, "", 23, "", "\n"), ER_E_FORMAT,
	             ": missing key [points] RANDOM");
	write_raw("");
	expect_error(tmpfile_path, ER_E_FORMAT, ": missing key [score] base");
}

static void test_error_statute(void **state)
{
	(void)state;
	expect_error(write_variant(6, "IMP_CTPAT_T1 = -15"), ER_E_FORMAT,
	             ":6: [points] IMP_CTPAT_T1 = -15: Tier 1 credit 15 exceeds 20% of the red "
	             "threshold 70 (6 U.S.C. 964)");
	/* the 20 % bound follows the red threshold */
	expect_error(write_variant2(3, "red = 45", 4, "yellow = 45", "\n"), ER_E_FORMAT,
	             ":6: [points] IMP_CTPAT_T1 = -10: Tier 1 credit 10 exceeds 20% of the red "
	             "threshold 45 (6 U.S.C. 964)");
	expect_error(write_variant(7, "IMP_CTPAT_T2 = -10"), ER_E_FORMAT,
	             ":7: [points] IMP_CTPAT_T2 = -10: Tier 2 credit 10 must exceed Tier 1 credit 10 "
	             "(6 U.S.C. 965)");
	expect_error(write_variant(8, "IMP_CTPAT_T3 = -20"), ER_E_FORMAT,
	             ":8: [points] IMP_CTPAT_T3 = -20: Tier 3 credit 20 must exceed Tier 2 credit 20 "
	             "(6 U.S.C. 966)");
	expect_error(write_variant(6, "IMP_CTPAT_T1 = 5"), ER_E_FORMAT,
	             ":6: [points] IMP_CTPAT_T1 = 5: a CTPAT tier must be a credit (<= 0) "
	             "(6 U.S.C. 964-966)");
	expect_error(write_variant(8, "IMP_CTPAT_T3 = 1"), ER_E_FORMAT,
	             ":8: [points] IMP_CTPAT_T3 = 1: a CTPAT tier must be a credit (<= 0) "
	             "(6 U.S.C. 964-966)");
	expect_error(write_variant(4, "yellow = 80"), ER_E_FORMAT,
	             ":4: [score] yellow = 80 must not exceed red = 70");
}

/* The first error in the file wins, whatever its kind; line numbers stay
 * right after long comment lines. */
static void test_error_first_and_lines(void **state)
{
	(void)state;
	expect_error(write_variant2(4, "yelow = 50", 18, "LCL = x", "\n"), ER_E_FORMAT,
	             ":4: unknown key 'yelow' in [score]");
	expect_error(write_variant2(10, "IMP_REMOVED 30", 18, "LCL = x", "\n"), ER_E_FORMAT,
	             ":10: syntax error (expected [section] or key = value)");
	expect_error(write_variant2(4, "yelow = 50", 10, "IMP_REMOVED 30", "\n"), ER_E_FORMAT,
	             ":4: unknown key 'yelow' in [score]");
	expect_error(write_variant2(4, "[bogus]", 10, "IMP_REMOVED 30", "\n"), ER_E_FORMAT,
	             ":4: unknown section [bogus]");

	char longc[400], longk[400], two[420];
	memset(longc, 'c', sizeof longc);
	longc[0] = ';';
	longc[sizeof longc - 1] = '\0';
	/* a 398-character comment before [points]: everything after moves down one */
	snprintf(two, sizeof two, "%s\n[points]", longc);
	expect_error(write_variant2(5, two, 18, "LCL = x", "\r\n"), ER_E_FORMAT,
	             ":19: [points] LCL = 'x': not an integer");
	er_rules *r = load_ok(write_variant2(5, two, 0, NULL, "\n"));
	er_rules_free(r);
	memset(longk, 'k', sizeof longk);
	longk[sizeof longk - 1] = '\0';
	memcpy(longk, "LCL = ", 6);
	expect_error(write_variant(18, longk), ER_E_FORMAT, ":18: line longer than 199 characters");

	/* a NUL byte inside a line */
	FILE *f = fopen(tmpfile_path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < NBASE; i++) {
		fputs(base[i], f);
		if (i == 17)
			fwrite("\0", 1, 1, f);
		fputc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
	expect_error(tmpfile_path, ER_E_FORMAT, ":18: NUL byte in line");
}

static void test_error_io(void **state)
{
	(void)state;
	expect_error("tests/fixtures/score/no-such-rules.ini", ER_E_IO,
	             ": No such file or directory");
}

/* ------------------------------------------------------------------ */
/* Look-ups                                                             */
/* ------------------------------------------------------------------ */

static void test_hs_match(void **state)
{
	(void)state;
	er_rules *r = load_ok(FIXTURE);
	int p = -1;
	assert_int_equal(er_rules_hs_match(r, "8471300000", 10, &p), 1);
	assert_int_equal(p, 3);
	assert_int_equal(er_rules_hs_match(r, "847130", 6, &p), 1);
	assert_int_equal(p, 3);
	assert_int_equal(er_rules_hs_match(r, "847131", 6, &p), 1);
	assert_int_equal(p, 2);
	assert_int_equal(er_rules_hs_match(r, "847", 3, &p), 1);
	assert_int_equal(p, 1);
	assert_int_equal(er_rules_hs_match(r, "84", 2, &p), 1);
	assert_int_equal(p, 1);
	p = -1;
	assert_int_equal(er_rules_hs_match(r, "8", 1, &p), 0);
	assert_int_equal(er_rules_hs_match(r, "850440", 6, &p), 0);
	assert_int_equal(er_rules_hs_match(r, "", 0, &p), 0);
	assert_int_equal(p, -1);
	er_rules_free(r);

	/* many entries: growth keeps every one findable */
	FILE *f = fopen(tmpfile_path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < NBASE; i++)
		if (i < 24 || i > 26)
			fprintf(f, "%s\n", base[i]);
		else if (i == 24)
			for (int k = 0; k < 1000; k++)
				fprintf(f, "%d = %d\n", 100000 + k * 7, k % 50);
	assert_int_equal(fclose(f), 0);
	r = load_ok(tmpfile_path);
	assert_int_equal(r->hs_n, 1000);
	for (int k = 0; k < 1000; k++) {
		char d[16];
		snprintf(d, sizeof d, "%d0000", 100000 + k * 7);
		assert_int_equal(er_rules_hs_match(r, d, strlen(d), &p), 1);
		assert_int_equal(p, k % 50);
	}
	assert_int_equal(er_rules_hs_match(r, "1000010000", 10, &p), 0);
	er_rules_free(r);
}

/* The chapter filter of er_rules_hs_match() against the plain probe of
 * every prefix length (er_rules_hs_match_ref): every chapter, every code
 * length, codes that extend each watched prefix, and random codes. */
static void hs_same(const er_rules *r, const char *d, size_t n, int *hits)
{
	int p1 = -7, p2 = -7;
	int m1 = er_rules_hs_match(r, d, n, &p1), m2 = er_rules_hs_match_ref(r, d, n, &p2);
	if (m1 != m2 || p1 != p2)
		fail_msg("hs '%.*s': %d/%d, reference %d/%d", (int)n, d, m1, p1, m2, p2);
	*hits += m1;
}

static void test_hs_chapter_filter(void **state)
{
	(void)state;
	const char *const files[] = { "data/rules.ini", FIXTURE };
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		er_rules *r = load_ok(files[f]);
		int hits = 0;
		char d[11];
		uint64_t x = 1;
		for (int ch = 0; ch < 100; ch++)
			for (size_t n = 1; n <= 10; n++) {
				for (int pat = 0; pat < 4; pat++) {
					d[0] = (char)('0' + ch / 10);
					d[1] = (char)('0' + ch % 10);
					for (size_t i = 2; i < 10; i++) {
						x = x * 6364136223846793005ull + 1442695040888963407ull;
						d[i] = (char)('0' + (pat == 0 ? 0 : pat == 1 ? 9 : (int)(x >> 60) % 10));
					}
					hs_same(r, d, n, &hits);
				}
			}
		/* each watched prefix, alone and extended */
		for (uint32_t i = 0; i <= r->hs_mask; i++) {
			if (!r->hs[i].key)
				continue;
			unsigned len = (unsigned)(r->hs[i].key % 16);
			uint64_t val = r->hs[i].key / 16;
			for (unsigned k = len; k-- > 0; val /= 10)
				d[k] = (char)('0' + val % 10);
			for (size_t n = len; n <= 10; n++) {
				if (n > len)
					d[n - 1] = (char)('0' + n % 10);
				hs_same(r, d, n, &hits);
			}
		}
		assert_true(hits > 0);
		er_rules_free(r);
	}
}

static void test_vague(void **state)
{
	(void)state;
	er_rules *r = load_ok(FIXTURE);
	static const struct {
		const char *desc;
		int vague;
	} cases[] = {
		/* empty or blank */
		{ "", 1 }, { "   ", 1 }, { "\t\r\n", 1 },
		/* listed terms: case, whitespace and trailing punctuation folded */
		{ "FAK", 1 }, { "fak", 1 }, { " Fak. ", 1 }, { "FAK!!", 1 }, { "FAK ...", 1 },
		{ "GENERAL CARGO", 1 }, { "general   cargo", 1 }, { "General\tCargo;", 1 },
		{ "SAID TO CONTAIN", 1 }, { "Said to contain:", 1 }, { "PARTS", 1 },
		/* near misses */
		{ "FAKE LEATHER BAGS", 0 }, { "FAK LEATHER", 0 }, { ".FAK", 0 }, { "F A K", 0 },
		{ "GENERALCARGO", 0 }, { "GENERAL CARGO VESSEL PARTS", 0 }, { "AUTO PARTS", 0 },
		{ "SAID TO CONTAIN 12 PALLETS OF TILES", 0 }, { "FA", 0 },
		/* only digits / only punctuation / digits and punctuation */
		{ "12345", 1 }, { "1", 1 }, { "--", 1 }, { "?", 1 }, { "12/34-56", 1 }, { "  42 . ", 1 },
		{ "A1", 0 },
		/* one character repeated 3+ times, spaces and ASCII case ignored */
		{ "XXX", 1 }, { "xXx", 1 }, { "X X X", 1 }, { "....", 1 }, { "ZZZZZZZZZZ", 1 },
		{ "XX", 0 }, { "XXY", 0 }, { "XXX1", 0 }, { "AAA BATTERIES", 0 },
		{ "\xe8\xb4\xa7\xe8\xb4\xa7\xe8\xb4\xa7", 1 },   /* U+8D27 three times */
		{ "\xe8\xb4\xa7\xe7\x89\xa9", 0 },               /* two different CJK characters */
		{ "\xc3\x89QUIPEMENT", 0 },                      /* non-ASCII counts as a letter */
		/* a leading count with its unit and a leading STC / SAID TO CONTAIN /
		 * S.T.C. are removed (either order, once each) before judging */
		{ "STC GENERAL CARGO", 1 }, { "SAID TO CONTAIN PARTS", 1 }, { "said to contain fak", 1 },
		{ "S.T.C. FAK", 1 }, { "S.T.C FAK", 1 }, { "STC: PARTS", 1 }, { "STC - FAK", 1 },
		{ "147 PLTS PARTS", 1 }, { "12 CTNS FAK", 1 }, { "12CTNS FAK", 1 }, { "12 ctns fak.", 1 },
		{ "12 CTNS OF PARTS", 1 }, { "1,200 PCS GENERAL CARGO", 1 }, { "1.5 PLTS FAK", 1 },
		{ "3 PALLET(S) FAK", 1 }, { "12 CTNS STC FAK", 1 }, { "STC 12 CTNS FAK", 1 },
		{ "  12   CTNS   STC   FAK  ", 1 }, { "STC 12 CTNS", 1 }, { "12 CTNS STC", 1 },
		{ "12 CTNS", 1 }, { "12 PCS", 1 }, { "12 PCS 12345", 1 }, { "STC 12 CTNS XXX", 1 },
		{ "12 CTNS ...", 1 }, { "STC", 1 }, { "S.T.C.", 1 },
		/* a unit word alone */
		{ "CTN", 1 }, { "ctns", 1 }, { "BAGS.", 1 },
		/* near misses: the rest says what the goods are, or no count/unit */
		{ "12 CTNS SHOES", 0 }, { "STC 12 CTNS SHOES", 0 }, { "SAID TO CONTAIN SHOES", 0 },
		{ "12 CTNSX FAK", 0 }, { "12 CARTONS FAK", 0 } /* CARTONS not on this list */,
		{ "12 X FAK", 0 }, { "CTNS OF SHOES", 0 }, { "BAGS OF RICE", 0 },
		{ "12 CTNS 12 CTNS FAK", 0 } /* one count only */, { "STC STC FAK", 0 },
		{ "STCX FAK", 0 }, { "12 BAGS OF RICE", 0 }, { "FAKE LEATHER BAGS", 0 },
		{ "LEATHER BAGS 12 CTNS", 0 }, { "FAK 12 CTNS", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = er_rules_vague_desc(r, cases[i].desc, strlen(cases[i].desc));
		if (got != cases[i].vague)
			fail_msg("'%s': vague %d, expected %d", cases[i].desc, got, cases[i].vague);
		/* the reference the differential test below holds the tries to */
		got = er_rules_vague_desc_ref(r, cases[i].desc, strlen(cases[i].desc));
		if (got != cases[i].vague)
			fail_msg("'%s': reference vague %d, expected %d", cases[i].desc, got,
			         cases[i].vague);
	}
	assert_int_equal(er_rules_vague_desc(r, NULL, 0), 1);

	/* long descriptions: a term followed by lots of trailing punctuation is
	 * still the term; a long real description is not vague */
	char buf[300];
	memset(buf, '.', sizeof buf);
	memcpy(buf, "FAK", 3);
	assert_int_equal(er_rules_vague_desc(r, buf, sizeof buf), 1);
	memset(buf, 'Z', sizeof buf);
	assert_int_equal(er_rules_vague_desc(r, buf, sizeof buf), 1);
	buf[299] = 'Y';
	assert_int_equal(er_rules_vague_desc(r, buf, sizeof buf), 0);
	memset(buf, '7', sizeof buf);
	assert_int_equal(er_rules_vague_desc(r, buf, sizeof buf), 1);
	buf[150] = 'K';
	assert_int_equal(er_rules_vague_desc(r, buf, sizeof buf), 0);
	er_rules_free(r);
}

/* ---- the tries (er_rules_vague_desc) against the reference
 * (er_rules_vague_desc_ref: each unit and prefix compared in turn, the term
 * set looked up by hash) ---- */

static int vague_same(const er_rules *r, const char *d, size_t n)
{
	int fast = er_rules_vague_desc(r, d, n), ref = er_rules_vague_desc_ref(r, d, n);
	if (fast != ref)
		fail_msg("'%.*s' (%zu bytes): tries say %d, reference %d", (int)n, d, n, fast, ref);
	return fast;
}

/* Every word of a list and term of the set, as is and in the near misses a
 * fast path gets wrong first: cut short, one byte more, other case, dots,
 * whitespace runs, behind a count or prefix, followed by more text. */
static void vague_variants(const er_rules *r, const char *w, size_t wl, int *hits)
{
	static const char *const pre[] = { "", " ", ".", "12 ", "12", "1,200 PCS ", "STC ",
	                                   "S.T.C. ", "12 CTNS STC ", "STC 12 CTNS ", "X",
	                                   "said to contain ", "\t" };
	static const char *const post[] = { "", ".", " ", "X", "S", " FAK", " OF PARTS", "...",
	                                    " 12", "\xc3\x89", "-", " CTNS", ":" };
	char core[8][160];
	size_t nc = 0, k;
	/* as is; cut short by one byte; lower case; a dot after every byte; every
	 * space doubled into a tab run; the last byte doubled */
	memcpy(core[nc], w, wl);
	core[nc++][wl] = '\0';
	memcpy(core[nc], w, wl - 1);
	core[nc++][wl - 1] = '\0';
	for (k = 0; k < wl; k++)
		core[nc][k] = (char)((w[k] >= 'A' && w[k] <= 'Z') ? w[k] + 32 : w[k]);
	core[nc++][wl] = '\0';
	size_t o = 0;
	for (k = 0; k < wl; k++) {
		core[nc][o++] = w[k];
		core[nc][o++] = '.';
	}
	core[nc++][o] = '\0';
	o = 0;
	for (k = 0; k < wl; k++) {
		if (w[k] == ' ') {
			core[nc][o++] = ' ';
			core[nc][o++] = '\t';
		}
		core[nc][o++] = w[k];
	}
	core[nc++][o] = '\0';
	memcpy(core[nc], w, wl);
	core[nc][wl] = w[wl - 1];
	core[nc++][wl + 1] = '\0';
	char buf[400];
	for (size_t c = 0; c < nc; c++)
		for (size_t a = 0; a < sizeof pre / sizeof pre[0]; a++)
			for (size_t b = 0; b < sizeof post / sizeof post[0]; b++) {
				int n = snprintf(buf, sizeof buf, "%s%s%s", pre[a], core[c], post[b]);
				*hits += vague_same(r, buf, (size_t)n);
			}
}

static void vague_list_variants(const er_rules *r, int *hits)
{
	for (uint32_t k = 0; k < r->units.n; k++)
		vague_variants(r, r->units.w[k], r->units.len[k], hits);
	for (uint32_t k = 0; k < r->prefixes.n; k++)
		vague_variants(r, r->prefixes.w[k], r->prefixes.len[k], hits);
	for (uint32_t i = 0; i <= r->vague_mask; i++)
		if (r->vague[i].hash)
			vague_variants(r, r->vague_text + r->vague[i].off, r->vague[i].len, hits);
}

/* Random texts glued from the pieces the lists are made of (fixed seed). */
static void vague_random(const er_rules *r, int rounds, int *hits)
{
	static const char *const piece[] = {
		"STC", " ", "  ", "12", ",", ".", "CTN", "CTNS", "S", "FAK", "F", "A", "K", "-", ":",
		"\t", "\xc3\x89", "x", "PARTS", "OF", "(S)", "SAID TO", "CONTAIN", "GOODS", "C",
		"PALLET", "Z", "O", "SP", "CONSOLIDATED", "CARGO", "!", "7", "\xe8\xb4\xa7",
	};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[256];
	for (int i = 0; i < rounds; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		int np = 1 + (int)(x >> 61), n = 0;
		for (int k = 0; k < np; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			const char *pc = piece[(x >> 33) % (sizeof piece / sizeof piece[0])];
			n += snprintf(buf + n, sizeof buf - (size_t)n, "%s", pc);
		}
		*hits += vague_same(r, buf, (size_t)n);
	}
}

static void test_vague_tries_match_reference(void **state)
{
	(void)state;
	/* multi-word and one-letter units, dotted, non-ASCII and punctuated terms */
	const char *path = write_variant2(
		31,
		"term = FAK\nterm = F.A.K.\nterm = CONSOLIDATED CARGO\nterm = CONSOLIDATED\n"
		"term = \xc3\x89QUIPEMENT\nterm = -PARTS\nterm = PARTS\nunit = CTN\nunit = CTNS\n"
		"unit = PALLET(S)\nunit = SP Z O O\nunit = C\nunit = PCS\nprefix = STC\n"
		"prefix = SAID TO CONTAIN\nprefix = S.T.C.\nprefix = SAID TO CONTAINS",
		0, NULL, "\n");
	const char *const files[] = { "data/rules.ini", FIXTURE, path };
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		er_rules *r = load_ok(files[f]);
		int hits = 0;
		vague_list_variants(r, &hits);
		vague_random(r, 20000, &hits);
		/* both answers occur: the comparison is not of two constant functions */
		assert_true(hits > 100);
		assert_int_equal(vague_same(r, "STC 12 CTNS FAK.", 16), 1);
		assert_int_equal(vague_same(r, "FAKE", 4), 0);
		/* longest term exactly, and one byte longer, and far past it */
		char big[200];
		memset(big, 'Q', sizeof big);
		big[0] = 'P';
		assert_int_equal(vague_same(r, big, r->vague_maxlen), 0);
		assert_int_equal(vague_same(r, big, sizeof big), 0);
		er_rules_free(r);
	}
	/* no units or prefixes, one term: empty tries */
	er_rules *r = load_ok(write_variant2(31, "; none", 32, "; none", "\n"));
	int hits = 0;
	vague_random(r, 5000, &hits);
	assert_true(hits > 0);
	assert_int_equal(vague_same(r, "Said To Contain.", 16), 1);
	assert_int_equal(vague_same(r, "SAID TO CONTAI", 14), 0);
	assert_int_equal(vague_same(r, "FAK", 3), 0);
	er_rules_free(r);
}

static void test_free_null(void **state)
{
	(void)state;
	er_rules_free(NULL);
	assert_string_equal(er_reason_name(ER_R_IMP_CTPAT_T1), "IMP_CTPAT_T1");
	assert_string_equal(er_reason_name(ER_R_SHP_AEO_UNRECOGNIZED), "SHP_AEO_UNRECOGNIZED");
	assert_string_equal(er_reason_name(ER_R_RANDOM), "RANDOM");
	assert_string_equal(er_reason_name(ER_R_LATE_FILING + 1), "FILING_UNKNOWN");
	assert_string_equal(er_reason_name(ER_NREASONS), "?");
	assert_string_equal(er_lane_name(ER_LANE_GREEN), "GREEN");
	assert_string_equal(er_lane_name(ER_LANE_YELLOW), "YELLOW");
	assert_string_equal(er_lane_name(ER_LANE_RED), "RED");
	assert_string_equal(er_lane_name(7), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_loads),
		cmocka_unit_test(test_fixture_values),
		cmocka_unit_test(test_base_variants_load),
		cmocka_unit_test(test_error_unknown),
		cmocka_unit_test(test_error_bad_values),
		cmocka_unit_test(test_error_duplicates),
		cmocka_unit_test(test_error_missing),
		cmocka_unit_test(test_error_statute),
		cmocka_unit_test(test_error_first_and_lines),
		cmocka_unit_test(test_error_io),
		cmocka_unit_test(test_hs_match),
		cmocka_unit_test(test_hs_chapter_filter),
		cmocka_unit_test(test_vague),
		cmocka_unit_test(test_vague_tries_match_reference),
		cmocka_unit_test(test_free_null),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
