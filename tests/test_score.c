/* test_score.c - er_score_row on fixture tables (tests/fixtures/score):
 * every rule firing and not firing at its boundaries, statuses, matches,
 * lanes, clamping, random selection and every reject. Run from the
 * repository root.
 *
 * Fixture points (tests/fixtures/score/rules.ini): base 40, red 70,
 * yellow 50; T1 -10, T2 -20, T3 -30, SUSPENDED +20, REMOVED +30,
 * IMP_UNKNOWN +10, ID_NAME_CONFLICT +12, SHP_CTPAT -10, SHP_MRA -5, SHP_AEO_UNRECOGNIZED +1,
 * SHP_UNKNOWN +5, CARRIER -2, FWD -3, LCL +4, VAGUE +6, NO_HS +7, LATE +8,
 * FILING_UNKNOWN +12,
 * FAST -4; hs_watch 84 +1, 8471 +2, 847130 +3; origin_watch KP +9.
 * The test day D is 2020-03-10. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_rules.h"
#include "er_table.h"
#include "er_util.h"

#define FIX "tests/fixtures/score/"
#define D "2020-03-10"
#define B(x) (1u << ER_R_##x)

static er_tables *T;
static er_rules *R;

static int setup(void **state)
{
	(void)state;
	char err[512];
	if (er_tables_load(FIX "participants.csv", FIX "mra.csv", &T, err, sizeof err) != ER_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (er_rules_load(FIX "rules.ini", &R, err, sizeof err) != ER_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	er_tables_free(T);
	er_rules_free(R);
	return 0;
}

static void set(er_row *row, int col, const char *v)
{
	row->f[col].p = v;
	row->f[col].n = v ? strlen(v) : 0;
}

/* A plain shipment: no parties, precise description, 6-digit HS code.
 * Scores 40 + IMP_UNKNOWN 10 + SHP_UNKNOWN 5 = 55, YELLOW. */
static void base_row(er_row *row, const char *date)
{
	memset(row, 0, sizeof *row);
	set(row, ER_COL_SHIPMENT_ID, "S1");
	set(row, ER_COL_ARRIVAL_DATE, date);
	set(row, ER_COL_DESCRIPTION, "COTTON T-SHIRTS");
	set(row, ER_COL_HS_CODE, "610910");
}

static er_result score_ok(const er_row *row)
{
	er_result res;
	er_status st = er_score_row(T, R, row, &res);
	assert_int_equal(st, ER_OK);
	assert_int_equal(res.reject, ER_REJ_NONE);
	assert_int_equal(res.reject_col, -1);
	return res;
}

/* Print fired reasons for failure messages. */
static const char *reasons_str(uint32_t fired, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int r = 0; r < ER_NREASONS; r++)
		if (fired & (1u << r))
			o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s ", er_reason_name(r));
	return buf;
}

static void expect(const er_result *res, uint32_t fired, int score, int lane, const char *what)
{
	char a[400], b[400];
	if (res->fired != fired || res->score != score || res->lane != lane)
		fail_msg("%s: got [%s] score %d lane %s, expected [%s] score %d lane %s", what,
		         reasons_str(res->fired, a, sizeof a), res->score, er_lane_name(res->lane),
		         reasons_str(fired, b, sizeof b), score, er_lane_name(lane));
}

/* ------------------------------------------------------------------ */

static void test_baseline(void **state)
{
	(void)state;
	er_row row;
	base_row(&row, D);
	er_result res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN), 55, ER_LANE_YELLOW, "baseline");
	assert_int_equal(res.points[ER_R_IMP_UNKNOWN], 10);
	assert_int_equal(res.points[ER_R_SHP_UNKNOWN], 5);
	assert_int_equal(res.points[ER_R_LCL], 0);
	assert_string_equal(res.importer_status, "none");
	assert_string_equal(res.shipper_status, "none");
	for (int r = 0; r < ER_NROLES; r++)
		assert_int_equal(res.match[r], ER_MATCH_ABSENT);
	assert_int_equal(res.fast_eligible, 0);
	assert_int_equal(res.front_of_line, 0);
	assert_int_equal(res.shipper_certified, 0);
}

static void test_importer_status(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		uint32_t fired;
		int score, lane;
		const char *status;
		int match, front;
	} cases[] = {
		{ "IMP1", B(IMP_CTPAT_T1), 35, ER_LANE_GREEN, "CTPAT:certified:T1", ER_MATCH_ID, 1 },
		{ "IMP2", B(IMP_CTPAT_T2), 25, ER_LANE_GREEN, "CTPAT:validated:T2", ER_MATCH_ID, 1 },
		{ "IMP3", B(IMP_CTPAT_T3), 15, ER_LANE_GREEN, "CTPAT:validated:T3", ER_MATCH_ID, 1 },
		/* no tier given: validated counts as Tier 2, certified as Tier 1 */
		{ "IMP4", B(IMP_CTPAT_T2), 25, ER_LANE_GREEN, "CTPAT:validated:T2", ER_MATCH_ID, 1 },
		{ "IMP5", B(IMP_CTPAT_T1), 35, ER_LANE_GREEN, "CTPAT:certified:T1", ER_MATCH_ID, 1 },
		{ "IMPR", B(IMP_REMOVED), 75, ER_LANE_RED, "CTPAT:removed", ER_MATCH_ID, 0 },
		{ "IMPW", B(IMP_UNKNOWN), 55, ER_LANE_YELLOW, "CTPAT:withdrawn", ER_MATCH_ID, 0 },
		/* a foreign certification does not make an importer CTPAT */
		{ "IMPF", B(IMP_UNKNOWN), 55, ER_LANE_YELLOW, "not_in_force", ER_MATCH_ID, 0 },
		{ "NOBODY", B(IMP_UNKNOWN), 55, ER_LANE_YELLOW, "unknown", ER_MATCH_NONE, 0 },
		/* ids are exact */
		{ "imp1", B(IMP_UNKNOWN), 55, ER_LANE_YELLOW, "unknown", ER_MATCH_NONE, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_IMPORTER_ID, cases[i].id);
		er_result res = score_ok(&row);
		expect(&res, cases[i].fired | B(SHP_UNKNOWN), cases[i].score, cases[i].lane,
		       cases[i].id);
		assert_string_equal(res.importer_status, cases[i].status);
		assert_int_equal(res.match[ER_ROLE_IMPORTER], cases[i].match);
		assert_int_equal(res.front_of_line, cases[i].front);
	}
}

/* IMP1 is certified from 2020-03-10 (inclusive) to 2020-06-10 (exclusive). */
static void test_importer_validity_window(void **state)
{
	(void)state;
	static const struct {
		const char *date;
		int certified;
	} cases[] = {
		{ "2020-03-09", 0 }, { "2020-03-10", 1 }, { "2020-03-11", 1 },
		{ "2020-06-09", 1 }, { "2020-06-10", 0 }, { "2020-06-11", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, cases[i].date);
		set(&row, ER_COL_IMPORTER_ID, "IMP1");
		er_result res = score_ok(&row);
		if (cases[i].certified) {
			expect(&res, B(IMP_CTPAT_T1) | B(SHP_UNKNOWN), 35, ER_LANE_GREEN, cases[i].date);
			assert_string_equal(res.importer_status, "CTPAT:certified:T1");
		} else {
			expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN), 55, ER_LANE_YELLOW, cases[i].date);
			assert_string_equal(res.importer_status, "not_in_force");
		}
	}
}

/* IMPS: certified T1 until 2020-03-10, suspended 03-10 .. 04-10, reinstated. */
static void test_importer_suspension(void **state)
{
	(void)state;
	static const struct {
		const char *date;
		int suspended;
	} cases[] = {
		{ "2020-03-09", 0 }, { "2020-03-10", 1 }, { "2020-03-11", 1 },
		{ "2020-04-09", 1 }, { "2020-04-10", 0 }, { "2020-04-11", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, cases[i].date);
		set(&row, ER_COL_IMPORTER_ID, "IMPS");
		er_result res = score_ok(&row);
		if (cases[i].suspended) {
			expect(&res, B(IMP_SUSPENDED) | B(SHP_UNKNOWN), 65, ER_LANE_YELLOW,
			       cases[i].date);
			assert_string_equal(res.importer_status, "CTPAT:suspended");
			assert_int_equal(res.front_of_line, 0);
		} else {
			expect(&res, B(IMP_CTPAT_T1) | B(SHP_UNKNOWN), 35, ER_LANE_GREEN, cases[i].date);
			assert_string_equal(res.importer_status, "CTPAT:certified:T1");
			assert_int_equal(res.front_of_line, 1);
		}
	}
}

static void test_importer_by_name(void **state)
{
	(void)state;
	static const struct {
		const char *id, *name;
		int match;
		const char *status;
	} cases[] = {
		{ NULL, "Acme Imports, Inc.", ER_MATCH_NAME, "CTPAT:certified:T1" },
		{ NULL, "ACME IMPORTS", ER_MATCH_NAME, "CTPAT:certified:T1" },
		/* an unknown id never falls back to the name: the party is unknown
		 * and the listed name makes it a conflict (ID_NAME_CONFLICT) */
		{ "BOGUS", "acme imports inc", ER_MATCH_CONFLICT, "unknown" },
		{ "BOGUS", "Nobody Trading Corp", ER_MATCH_NONE, "unknown" },
		{ "BOGUS", NULL, ER_MATCH_NONE, "unknown" },
		{ NULL, "Nobody Trading Corp", ER_MATCH_NONE, "unknown" },
		/* a known id wins over the name */
		{ "IMP2", "Acme Imports Inc", ER_MATCH_ID, "CTPAT:validated:T2" },
		{ "  ", "  ", ER_MATCH_ABSENT, "none" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_IMPORTER_ID, cases[i].id);
		set(&row, ER_COL_IMPORTER_NAME, cases[i].name);
		er_result res = score_ok(&row);
		if (res.match[ER_ROLE_IMPORTER] != cases[i].match ||
		    strcmp(res.importer_status, cases[i].status) != 0)
			fail_msg("case %zu: match %d status %s", i, res.match[ER_ROLE_IMPORTER],
			         res.importer_status);
		assert_int_equal((res.fired & B(ID_NAME_CONFLICT)) != 0,
		                 cases[i].match == ER_MATCH_CONFLICT);
	}
}

/* The largest class of wrong credit (issue 9 item 1): an unknown importer id
 * carrying a member's name got that member's tier. Now the party is unknown
 * and the conflict itself is a risk signal; the same name without an id is
 * still a name match. */
static void test_id_name_conflict(void **state)
{
	(void)state;
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_IMPORTER_ID, "99-0000000");
	set(&row, ER_COL_IMPORTER_NAME, "Crown Goods Corp"); /* IMP3, Tier 3 */
	er_result res = score_ok(&row);
	/* 40 + IMP_UNKNOWN 10 + ID_NAME_CONFLICT 12 + SHP_UNKNOWN 5 */
	expect(&res, B(IMP_UNKNOWN) | B(ID_NAME_CONFLICT) | B(SHP_UNKNOWN), 67, ER_LANE_YELLOW,
	       "unknown id, member's name");
	assert_int_equal(res.points[ER_R_ID_NAME_CONFLICT], 12);
	assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_CONFLICT);
	assert_string_equal(er_match_name(res.match[ER_ROLE_IMPORTER]), "conflict");
	assert_string_equal(res.importer_status, "unknown");

	/* the same name with no id: a name match, Tier 3 credit */
	set(&row, ER_COL_IMPORTER_ID, NULL);
	res = score_ok(&row);
	expect(&res, B(IMP_CTPAT_T3) | B(SHP_UNKNOWN), 15, ER_LANE_GREEN, "name, no id");
	assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_NAME);

	/* shipper side: unknown id with a listed exporter's name, in its country */
	base_row(&row, D);
	set(&row, ER_COL_SHIPPER_ID, "DE999");
	set(&row, ER_COL_SHIPPER_NAME, "Rhein Export GmbH");
	set(&row, ER_COL_SHIPPER_COUNTRY, "DE");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(ID_NAME_CONFLICT) | B(SHP_UNKNOWN), 67, ER_LANE_YELLOW,
	       "unknown shipper id, member's name");
	assert_int_equal(res.match[ER_ROLE_SHIPPER], ER_MATCH_CONFLICT);
	assert_string_equal(res.shipper_status, "unknown");

	/* both parties in conflict: the reason fires once */
	set(&row, ER_COL_IMPORTER_ID, "99-0000000");
	set(&row, ER_COL_IMPORTER_NAME, "Crown Goods Corp");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(ID_NAME_CONFLICT) | B(SHP_UNKNOWN), 67, ER_LANE_YELLOW,
	       "both in conflict");

	/* a known id with another member's name is simply that id */
	base_row(&row, D);
	set(&row, ER_COL_IMPORTER_ID, "IMP2");
	set(&row, ER_COL_IMPORTER_NAME, "Crown Goods Corp");
	res = score_ok(&row);
	expect(&res, B(IMP_CTPAT_T2) | B(SHP_UNKNOWN), 25, ER_LANE_GREEN, "known id");
	assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_ID);
}

/* Each column matches only parties of its role (issue 9 item 2), by id and
 * by name alike: a carrier's SCAC as importer earns no importer credit, an
 * importer's id as manufacturer no SHP_CTPAT. */
static void test_roles(void **state)
{
	(void)state;
	static const struct {
		int col;
		const char *val;
		int role;       /* the party whose match is checked */
		int match;
		uint32_t fired; /* beside the defaults of the other side */
		int score;
	} cases[] = {
#define NO_CREDIT B(IMP_UNKNOWN) | B(SHP_UNKNOWN), 55 /* as the baseline: neither party known */
		/* a CTPAT carrier (tier 1 by status) given as importer: unknown */
		{ ER_COL_IMPORTER_ID, "CARR", ER_ROLE_IMPORTER, ER_MATCH_NONE, NO_CREDIT },
		/* a CTPAT manufacturer given as importer, by id and by name */
		{ ER_COL_IMPORTER_ID, "MFRMX", ER_ROLE_IMPORTER, ER_MATCH_NONE, NO_CREDIT },
		{ ER_COL_IMPORTER_NAME, "Monterrey Fabrica SA de CV", ER_ROLE_IMPORTER, ER_MATCH_NONE,
		  NO_CREDIT },
		/* a Tier 3 importer given as manufacturer or shipper: no SHP_CTPAT */
		{ ER_COL_MANUFACTURER_ID, "IMP3", ER_ROLE_MANUFACTURER, ER_MATCH_NONE, NO_CREDIT },
		{ ER_COL_SHIPPER_ID, "IMP3", ER_ROLE_SHIPPER, ER_MATCH_NONE, NO_CREDIT },
		/* an exporter is a shipper, not a manufacturer (MID) */
		{ ER_COL_MANUFACTURER_ID, "SHPE", ER_ROLE_MANUFACTURER, ER_MATCH_NONE, NO_CREDIT },
		{ ER_COL_SHIPPER_ID, "SHPE", ER_ROLE_SHIPPER, ER_MATCH_ID,
		  B(IMP_UNKNOWN) | B(SHP_MRA), 45 },
		/* a manufacturer may ship */
		{ ER_COL_SHIPPER_ID, "MFRMX", ER_ROLE_SHIPPER, ER_MATCH_ID,
		  B(IMP_UNKNOWN) | B(SHP_CTPAT), 40 },
		/* carrier and forwarder ids swapped: neither credit */
		{ ER_COL_CARRIER_SCAC, "FWD1", ER_ROLE_CARRIER, ER_MATCH_NONE, NO_CREDIT },
		{ ER_COL_FORWARDER_ID, "CARR", ER_ROLE_FORWARDER, ER_MATCH_NONE, NO_CREDIT },
		/* an importer name shared with a Chinese exporter is no ambiguity */
		{ ER_COL_IMPORTER_NAME, "Bolt Trading", ER_ROLE_IMPORTER, ER_MATCH_NAME,
		  B(IMP_CTPAT_T2) | B(SHP_UNKNOWN), 25 },
#undef NO_CREDIT
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		char what[80];
		base_row(&row, D);
		set(&row, cases[i].col, cases[i].val);
		er_result res = score_ok(&row);
		snprintf(what, sizeof what, "case %zu %s as %s", i, cases[i].val,
		         er_col_name(cases[i].col));
		expect(&res, cases[i].fired, cases[i].score,
		       cases[i].score >= 50 ? ER_LANE_YELLOW : ER_LANE_GREEN, what);
		if (res.match[cases[i].role] != cases[i].match)
			fail_msg("%s: match %s", what, er_match_name(res.match[cases[i].role]));
	}

	/* a carrier's SCAC as importer, with a member importer's name: conflict */
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_IMPORTER_ID, "CARR");
	set(&row, ER_COL_IMPORTER_NAME, "Crown Goods Corp");
	er_result res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(ID_NAME_CONFLICT) | B(SHP_UNKNOWN), 67, ER_LANE_YELLOW,
	       "carrier id, importer name");
	assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_CONFLICT);
}

/* A name that fits several listed parties of the right role matches none
 * and says so; given with an unknown id it is still a conflict. */
static void test_ambiguous_name(void **state)
{
	(void)state;
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_IMPORTER_NAME, "Twin Peaks Trading"); /* IMPA1 (T3) and IMPA2 (T1) */
	er_result res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN), 55, ER_LANE_YELLOW, "ambiguous importer");
	assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_AMBIGUOUS);
	assert_string_equal(er_match_name(ER_MATCH_AMBIGUOUS), "ambiguous");
	assert_string_equal(res.importer_status, "unknown");

	set(&row, ER_COL_IMPORTER_ID, "TP-0001");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(ID_NAME_CONFLICT) | B(SHP_UNKNOWN), 67, ER_LANE_YELLOW,
	       "unknown id, ambiguous name");
	assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_CONFLICT);

	/* either id is that party */
	set(&row, ER_COL_IMPORTER_ID, "IMPA1");
	res = score_ok(&row);
	expect(&res, B(IMP_CTPAT_T3) | B(SHP_UNKNOWN), 15, ER_LANE_GREEN, "IMPA1");
	assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_ID);
}

/* Names in other forms (issue 9 item 7): decomposed, precomposed, upper,
 * plain ASCII and full-width spellings of a listed name all match it, in
 * the table and in the manifest alike. */
static void test_unicode_names(void **state)
{
	(void)state;
	/* table: "K\u00f6ln Stahlwerk GmbH" (precomposed), DE, EU_AEO validated */
	static const char *const shipper[] = {
		"Ko\xcc\x88ln Stahlwerk GmbH",                 /* decomposed o + U+0308 */
		"K\xc3\xb6ln Stahlwerk GmbH",                   /* precomposed */
		"K\xc3\x96LN STAHLWERK GMBH",                   /* upper */
		"KOLN STAHLWERK GMBH",                          /* ASCII */
		"\xef\xbc\xab\xc3\xb6\xef\xbd\x8c\xef\xbd\x8e \xef\xbc\xb3\xef\xbd\x94\xef\xbd\x81"
		"\xef\xbd\x88\xef\xbd\x8c\xef\xbd\x97\xef\xbd\x85\xef\xbd\x92\xef\xbd\x8b", /* full-width */
	};
	for (size_t i = 0; i < sizeof shipper / sizeof shipper[0]; i++) {
		er_row row;
		char what[32];
		base_row(&row, D);
		set(&row, ER_COL_SHIPPER_NAME, shipper[i]);
		set(&row, ER_COL_SHIPPER_COUNTRY, "DE");
		er_result res = score_ok(&row);
		snprintf(what, sizeof what, "shipper form %zu", i);
		expect(&res, B(IMP_UNKNOWN) | B(SHP_MRA), 45, ER_LANE_GREEN, what);
		assert_int_equal(res.match[ER_ROLE_SHIPPER], ER_MATCH_NAME);
	}
	/* table: "Orchide\u0301e Maison Inc" (decomposed), an importer, Tier 2 */
	static const char *const importer[] = {
		"Orchid\xc3\xa9" "e Maison", "ORCHIDEE MAISON INC", "ORCHID\xc3\x89" "E MAISON",
		"\xef\xbc\xaf\xef\xbd\x92\xef\xbd\x83\xef\xbd\x88\xef\xbd\x89\xef\xbd\x84\xc3\xa9"
		"\xef\xbd\x85 Maison",
	};
	for (size_t i = 0; i < sizeof importer / sizeof importer[0]; i++) {
		er_row row;
		char what[32];
		base_row(&row, D);
		set(&row, ER_COL_IMPORTER_NAME, importer[i]);
		er_result res = score_ok(&row);
		snprintf(what, sizeof what, "importer form %zu", i);
		expect(&res, B(IMP_CTPAT_T2) | B(SHP_UNKNOWN), 25, ER_LANE_GREEN, what);
		assert_int_equal(res.match[ER_ROLE_IMPORTER], ER_MATCH_NAME);
	}
	/* a different name stays apart */
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_SHIPPER_NAME, "Koeln Stahlwerk GmbH");
	set(&row, ER_COL_SHIPPER_COUNTRY, "DE");
	er_result res = score_ok(&row);
	assert_int_equal(res.match[ER_ROLE_SHIPPER], ER_MATCH_NONE);
}

/* front_of_line (issue 9 item 8): 1 when the importer is CTPAT in good
 * standing, or when the shipper side is CTPAT/MRA-certified and the
 * importer is not suspended, removed or in an ID_NAME_CONFLICT. */
static void test_front_of_line(void **state)
{
	(void)state;
	static const struct {
		const char *id, *name, *what;
		int plain, certified_shipper; /* front_of_line without / with SHPC */
	} cases[] = {
		{ "IMP1", NULL, "T1", 1, 1 },
		{ "IMP2", NULL, "T2", 1, 1 },
		{ "IMP3", NULL, "T3", 1, 1 },
		{ "IMPS", NULL, "suspended", 0, 0 },
		{ "IMPR", NULL, "removed", 0, 0 },
		{ "IMPW", NULL, "withdrawn", 0, 1 },
		{ "IMPF", NULL, "no CTPAT period", 0, 1 },
		{ "NOBODY", NULL, "unknown id", 0, 1 },
		{ NULL, NULL, "no importer", 0, 1 },
		{ NULL, "Twin Peaks Trading", "ambiguous name", 0, 1 },
		{ NULL, "Crown Goods Corp", "name match T3", 1, 1 },
		{ "BOGUS", "Crown Goods Corp", "conflict", 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int with = 0; with < 2; with++) {
			er_row row;
			base_row(&row, D);
			set(&row, ER_COL_IMPORTER_ID, cases[i].id);
			set(&row, ER_COL_IMPORTER_NAME, cases[i].name);
			if (with)
				set(&row, ER_COL_SHIPPER_ID, "SHPC");
			er_result res = score_ok(&row);
			int want = with ? cases[i].certified_shipper : cases[i].plain;
			if (res.front_of_line != want || res.shipper_certified != with)
				fail_msg("%s %s: front_of_line %d (want %d), shipper_certified %d",
				         cases[i].what, with ? "with CTPAT shipper" : "alone",
				         res.front_of_line, want, res.shipper_certified);
		}
	}
	/* an MRA-recognized shipper counts like a CTPAT one */
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_SHIPPER_ID, "SHPE");
	assert_int_equal(score_ok(&row).front_of_line, 1);
	set(&row, ER_COL_IMPORTER_ID, "IMPR");
	assert_int_equal(score_ok(&row).front_of_line, 0);
	/* ... an unrecognized AEO does not */
	base_row(&row, D);
	set(&row, ER_COL_SHIPPER_ID, "SHPN");
	assert_int_equal(score_ok(&row).front_of_line, 0);
}

static void test_shipper_side(void **state)
{
	(void)state;
	static const struct {
		const char *date, *shipper, *mfr;
		uint32_t fired;
		int score;
		const char *status;
		int certified;
	} cases[] = {
		{ D, "SHPC", NULL, B(SHP_CTPAT), 40, "CTPAT:certified:T1", 1 },
		{ D, NULL, "SHPC", B(SHP_CTPAT), 40, "CTPAT:certified:T1", 1 },
		/* EU_AEO for DE recognized from 2020-03-10 */
		{ "2020-03-09", "SHPE", NULL, B(SHP_AEO_UNRECOGNIZED), 51, "EU_AEO:validated:NO_MRA", 0 },
		{ "2020-03-10", "SHPE", NULL, B(SHP_MRA), 45, "EU_AEO:validated:MRA", 1 },
		{ "2020-03-11", "SHPE", NULL, B(SHP_MRA), 45, "EU_AEO:validated:MRA", 1 },
		/* JP_AEO: recognized_to 2020-03-10 is the last day recognized
		 * (inclusive): on the day still MRA, the day after not */
		{ "2020-03-09", "SHPJ", NULL, B(SHP_MRA), 45, "JP_AEO:certified:MRA", 1 },
		{ "2020-03-10", "SHPJ", NULL, B(SHP_MRA), 45, "JP_AEO:certified:MRA", 1 },
		{ "2020-03-11", "SHPJ", NULL, B(SHP_AEO_UNRECOGNIZED), 51, "JP_AEO:certified:NO_MRA", 0 },
		/* no MRA row at all */
		{ D, "SHPN", NULL, B(SHP_AEO_UNRECOGNIZED), 51, "CN_AEO:certified:NO_MRA", 0 },
		/* suspended / expired foreign certifications count for nothing */
		{ D, "SHPS", NULL, B(SHP_UNKNOWN), 55, "EU_AEO:suspended", 0 },
		{ D, "SHPX", NULL, B(SHP_UNKNOWN), 55, "not_in_force", 0 },
		{ D, "NOPE", NULL, B(SHP_UNKNOWN), 55, "unknown", 0 },
		/* the better of shipper and manufacturer */
		{ D, "SHPN", "MFRMX", B(SHP_CTPAT), 40, "CTPAT:certified:T1", 1 },
		{ D, "SHPE", "SHPN", B(SHP_MRA), 45, "EU_AEO:validated:MRA", 1 },
		{ D, NULL, "MFRNEEC", B(SHP_MRA), 45, "NEEC:certified:MRA", 1 },
		{ D, "SHPS", "NOPE", B(SHP_UNKNOWN), 55, "EU_AEO:suspended", 0 },
		{ D, "NOPE", "MFRX", B(SHP_UNKNOWN), 55, "not_in_force", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		char what[80];
		base_row(&row, cases[i].date);
		set(&row, ER_COL_SHIPPER_ID, cases[i].shipper);
		set(&row, ER_COL_MANUFACTURER_ID, cases[i].mfr);
		er_result res = score_ok(&row);
		snprintf(what, sizeof what, "case %zu %s/%s", i, cases[i].shipper ? cases[i].shipper : "-",
		         cases[i].mfr ? cases[i].mfr : "-");
		expect(&res, cases[i].fired | B(IMP_UNKNOWN), cases[i].score,
		       cases[i].score >= 50 ? ER_LANE_YELLOW : ER_LANE_GREEN, what);
		if (strcmp(res.shipper_status, cases[i].status) != 0)
			fail_msg("%s: shipper_status %s", what, res.shipper_status);
		assert_int_equal(res.shipper_certified, cases[i].certified);
		assert_int_equal(res.front_of_line, cases[i].certified);
	}
}

static void test_shipper_matching(void **state)
{
	(void)state;
	static const struct {
		const char *id, *name, *shipper_country, *origin;
		int match;
		uint32_t fired;
	} cases[] = {
		{ NULL, "Rhein Export G.m.b.H.", "DE", NULL, ER_MATCH_NAME, B(SHP_MRA) },
		/* no shipper_country: origin_country stands in */
		{ NULL, "RHEIN EXPORT GMBH", NULL, "de", ER_MATCH_NAME, B(SHP_MRA) },
		{ NULL, "Rhein Export GmbH", "FR", "DE", ER_MATCH_NONE, B(SHP_UNKNOWN) },
		{ "UNKNOWN1", "Rhein Export GmbH", "DE", NULL, ER_MATCH_CONFLICT,
		  B(SHP_UNKNOWN) | B(ID_NAME_CONFLICT) },
		/* the name is listed in another country only: not a conflict */
		{ "UNKNOWN1", "Rhein Export GmbH", "FR", NULL, ER_MATCH_NONE, B(SHP_UNKNOWN) },
		{ "SHPN", "Rhein Export GmbH", "DE", NULL, ER_MATCH_ID, B(SHP_AEO_UNRECOGNIZED) },
		{ "UNKNOWN1", NULL, "DE", NULL, ER_MATCH_NONE, B(SHP_UNKNOWN) },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_SHIPPER_ID, cases[i].id);
		set(&row, ER_COL_SHIPPER_NAME, cases[i].name);
		set(&row, ER_COL_SHIPPER_COUNTRY, cases[i].shipper_country);
		set(&row, ER_COL_ORIGIN_COUNTRY, cases[i].origin);
		er_result res = score_ok(&row);
		if (res.match[ER_ROLE_SHIPPER] != cases[i].match ||
		    res.fired != (cases[i].fired | B(IMP_UNKNOWN)))
			fail_msg("case %zu: match %d fired %#x", i, res.match[ER_ROLE_SHIPPER],
			         (unsigned)res.fired);
		assert_int_equal(res.match[ER_ROLE_MANUFACTURER], ER_MATCH_ABSENT);
	}
}

static void test_carrier_forwarder(void **state)
{
	(void)state;
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_CARRIER_SCAC, "CARR");
	er_result res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | B(CARRIER_CTPAT), 53, ER_LANE_YELLOW, "CARR");
	assert_int_equal(res.match[ER_ROLE_CARRIER], ER_MATCH_ID);
	assert_int_equal(res.front_of_line, 0);

	set(&row, ER_COL_CARRIER_SCAC, "CARX"); /* suspended */
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN), 55, ER_LANE_YELLOW, "CARX");
	assert_int_equal(res.match[ER_ROLE_CARRIER], ER_MATCH_ID);

	set(&row, ER_COL_CARRIER_SCAC, "ZZZZ");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN), 55, ER_LANE_YELLOW, "ZZZZ");
	assert_int_equal(res.match[ER_ROLE_CARRIER], ER_MATCH_NONE);

	set(&row, ER_COL_CARRIER_SCAC, NULL);
	set(&row, ER_COL_FORWARDER_ID, "FWD1");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | B(FWD_CTPAT), 52, ER_LANE_YELLOW, "FWD1");
	assert_int_equal(res.match[ER_ROLE_FORWARDER], ER_MATCH_ID);
	assert_int_equal(res.match[ER_ROLE_CARRIER], ER_MATCH_ABSENT);

	/* forwarder certified only from 2019-01-01 */
	base_row(&row, "2018-12-31");
	set(&row, ER_COL_FORWARDER_ID, "FWD1");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN), 55, ER_LANE_YELLOW, "FWD1 before");
}

static void test_lcl(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int lcl;
	} cases[] = {
		{ "LCL", 1 }, { "lcl", 1 }, { " Lcl\t", 1 }, { "FCL", 0 }, { "LCL2", 0 }, { "LC", 0 },
		{ "", 0 }, { NULL, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_LOAD_TYPE, cases[i].v);
		er_result res = score_ok(&row);
		uint32_t want = B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | (cases[i].lcl ? B(LCL) : 0);
		expect(&res, want, cases[i].lcl ? 59 : 55, ER_LANE_YELLOW, cases[i].v ? cases[i].v : "NULL");
	}
}

static void test_description(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int vague;
	} cases[] = {
		{ NULL, 1 }, { "", 1 }, { "  ", 1 }, { "FAK", 1 }, { "General Cargo.", 1 },
		{ "said  to contain", 1 }, { "12345", 1 }, { "--/--", 1 }, { "XXX", 1 }, { "X X X", 1 },
		{ "FAKE LEATHER BAGS", 0 }, { "XX", 0 }, { "AUTO PARTS", 0 }, { "PARTS", 1 },
		/* MACHINERY is on the shipped list, not on this fixture's */
		{ "MACHINERY", 0 },
		/* counts with units and STC prefixes are removed first */
		{ "147 PLTS PARTS", 1 }, { "12 CTNS FAK", 1 }, { "STC GENERAL CARGO", 1 },
		{ "12 CTNS STC FAK", 1 }, { "STC 12 CTNS FAK", 1 }, { "CTN", 1 },
		{ "12 CTNS SHOES", 0 }, { "STC 12 CTNS SHOES", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_DESCRIPTION, cases[i].v);
		er_result res = score_ok(&row);
		uint32_t want = B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | (cases[i].vague ? B(VAGUE_DESC) : 0);
		expect(&res, want, cases[i].vague ? 61 : 55, ER_LANE_YELLOW,
		       cases[i].v ? cases[i].v : "NULL");
	}
}

static void test_hs_code(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int no_hs, watch;
	} cases[] = {
		{ NULL, 1, 0 }, { "", 1, 0 }, { "61091", 1, 0 }, { "610910", 0, 0 },
		{ "6109.10", 0, 0 }, { "6109 10", 0, 0 }, { "6109100010", 0, 0 },
		{ "84", 1, 1 }, { "84713", 1, 2 }, { "847130", 0, 3 }, { "847131", 0, 2 },
		{ "8471.30.0100", 0, 3 }, { "850440", 0, 0 }, { "8", 1, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_HS_CODE, cases[i].v);
		er_result res = score_ok(&row);
		uint32_t want = B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | (cases[i].no_hs ? B(NO_HS) : 0) |
		                (cases[i].watch ? B(HS_WATCH) : 0);
		expect(&res, want, 55 + 7 * cases[i].no_hs + cases[i].watch, ER_LANE_YELLOW,
		       cases[i].v ? cases[i].v : "NULL");
		assert_int_equal(res.points[ER_R_HS_WATCH], cases[i].watch);
	}
}

static void test_late_filing(void **state)
{
	(void)state;
	static const struct {
		const char *mode, *filed, *dep;
		int late;
	} cases[] = {
		/* exactly 24 h before departure is on time; one second later is late */
		{ "vessel", "2020-03-09T12:00:00Z", "2020-03-10T12:00:00Z", 0 },
		{ "vessel", "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 1 },
		{ "vessel", "2020-03-09T11:59:59Z", "2020-03-10T12:00:00Z", 0 },
		{ "vessel", "2020-03-10T13:00:00Z", "2020-03-10T12:00:00Z", 1 },
		/* offsets are honoured: 07:00-05:00 is 12:00Z */
		{ "VESSEL", "2020-03-09T07:00:00-05:00", "2020-03-10T12:00:00Z", 0 },
		{ "VESSEL", "2020-03-09T07:00:01-05:00", "2020-03-10T12:00:00Z", 1 },
		{ "vessel", "2020-03-09 12:00:00", "2020-03-10T12:00:00+00:00", 0 },
		/* vessel synonyms */
		{ "OCEAN", "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 1 },
		{ "sea", "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 1 },
		{ "Maritime", "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 1 },
		/* other modes never fire */
		{ "truck", "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 0 },
		{ "air", "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 0 },
		{ "barge", "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 0 },
		{ NULL, "2020-03-09T12:00:01Z", "2020-03-10T12:00:00Z", 0 },
		/* a vessel row missing either timestamp is FILING_UNKNOWN (2), not
		 * on time; other modes without timestamps are not */
		{ "vessel", NULL, "2020-03-10T12:00:00Z", 2 },
		{ "vessel", "2020-03-10T13:00:00Z", NULL, 2 },
		{ "OCEAN", NULL, NULL, 2 },
		{ "vessel", "", "2020-03-10T12:00:00Z", 2 },
		{ "truck", NULL, "2020-03-10T12:00:00Z", 0 },
		{ "air", "2020-03-10T13:00:00Z", NULL, 0 },
		{ "rail", NULL, NULL, 0 },
		{ NULL, NULL, NULL, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		char what[32];
		base_row(&row, D);
		set(&row, ER_COL_MODE, cases[i].mode);
		set(&row, ER_COL_FILED_AT, cases[i].filed);
		set(&row, ER_COL_DEPARTURE_AT, cases[i].dep);
		er_result res = score_ok(&row);
		uint32_t want = B(IMP_UNKNOWN) | B(SHP_UNKNOWN) |
		                (cases[i].late == 1 ? B(LATE_FILING) : 0) |
		                (cases[i].late == 2 ? B(FILING_UNKNOWN) : 0);
		snprintf(what, sizeof what, "case %zu", i);
		expect(&res, want, 55 + (cases[i].late == 1 ? 8 : cases[i].late == 2 ? 12 : 0),
		       ER_LANE_YELLOW, what);
	}
}

/* Modes and their synonyms in any ASCII case; near misses (one letter
 * more or less, a control byte in place of a letter, a non-ASCII letter)
 * are unknown. */
static void test_modes(void **state)
{
	(void)state;
	static const struct {
		const char *mode;
		int want;
	} cases[] = {
		{ "vessel", ER_TM_VESSEL }, { "VESSEL", ER_TM_VESSEL }, { "VeSsEl", ER_TM_VESSEL },
		{ "ocean", ER_TM_VESSEL }, { "Sea", ER_TM_VESSEL }, { "MARITIME", ER_TM_VESSEL },
		{ "truck", ER_TM_TRUCK }, { "ROAD", ER_TM_TRUCK }, { "Highway", ER_TM_TRUCK },
		{ "rail", ER_TM_RAIL }, { "RAIL", ER_TM_RAIL }, { "air", ER_TM_AIR }, { "AIR", ER_TM_AIR },
		{ "vessels", ER_TM_UNKNOWN }, { "vesse", ER_TM_UNKNOWN }, { "ai", ER_TM_UNKNOWN },
		{ "airr", ER_TM_UNKNOWN }, { "a\x09r", ER_TM_UNKNOWN }, { "\x01IR", ER_TM_UNKNOWN },
		{ "AI\x12", ER_TM_UNKNOWN }, { "ROAd\x04", ER_TM_UNKNOWN }, { "r\xc3\xa1il", ER_TM_UNKNOWN },
		{ "SE\xc1", ER_TM_UNKNOWN }, { "barge", ER_TM_UNKNOWN }, { "", ER_TM_UNKNOWN },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_MODE, cases[i].mode);
		er_result res = score_ok(&row);
		if (res.mode != cases[i].want)
			fail_msg("mode '%s': %d, expected %d", cases[i].mode, res.mode, cases[i].want);
	}
}

static void test_origin_watch(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int watch;
	} cases[] = {
		{ "KP", 1 }, { "kp", 1 }, { " KP ", 1 }, { "KR", 0 }, { "KPX", 0 }, { "K", 0 },
		{ "", 0 }, { "[P", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ER_COL_ORIGIN_COUNTRY, cases[i].v);
		er_result res = score_ok(&row);
		uint32_t want = B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | (cases[i].watch ? B(ORIGIN_WATCH) : 0);
		expect(&res, want, cases[i].watch ? 64 : 55, ER_LANE_YELLOW, cases[i].v);
		assert_int_equal(res.points[ER_R_ORIGIN_WATCH], cases[i].watch ? 9 : 0);
	}
}

static void test_fast(void **state)
{
	(void)state;
	static const struct {
		const char *mode, *imp, *carrier, *lading, *shp_cc, *origin, *mfr, *date;
		int fast;
	} cases[] = {
		/* the seven crossings (issue 9 item 3): the border crossed decides,
		 * never the goods' origin */
		/* 1 from MX, Mexican goods, CTPAT manufacturer in MX */
		{ "truck", "IMP2", "CARR", "MXNLD", "MX", "MX", "MFRMX", D, 1 },
		/* 2 from MX, Mexican goods, no manufacturer */
		{ "truck", "IMP2", "CARR", "MXNLD", "MX", "MX", NULL, D, 0 },
		/* 3 from MX, Chinese goods, CTPAT manufacturer in MX */
		{ "truck", "IMP2", "CARR", "MXNLD", "MX", "CN", "MFRMX", D, 1 },
		/* 4 from MX, Chinese goods, no manufacturer (FAST before the fix) */
		{ "truck", "IMP2", "CARR", "MXNLD", "CN", "CN", NULL, D, 0 },
		/* 5 from MX, CTPAT manufacturer incorporated in Canada */
		{ "truck", "IMP2", "CARR", "MXNLD", "MX", "MX", "SHPC", D, 0 },
		/* 6 from CA, Mexican goods, no manufacturer (denied before the fix) */
		{ "truck", "IMP2", "CARR", "CAWND", "CA", "MX", NULL, D, 1 },
		/* 7 from CA, Canadian goods, no manufacturer */
		{ "truck", "IMP2", "CARR", "CAWND", "CA", "CA", NULL, D, 1 },
		/* the lading port decides when given; else the shipper's country */
		{ "truck", "IMP2", "CARR", "CAWND", "MX", "MX", NULL, D, 1 },
		{ "truck", "IMP2", "CARR", "mxtij", "US", "US", NULL, D, 0 },
		{ "truck", "IMP2", "CARR", NULL, "MX", "CN", NULL, D, 0 },
		{ "truck", "IMP2", "CARR", NULL, "mx", "CN", "MFRMX", D, 1 },
		{ "truck", "IMP2", "CARR", NULL, "CA", "MX", NULL, D, 1 },
		{ "truck", "IMP2", "CARR", NULL, NULL, "MX", NULL, D, 1 },
		{ "ROAD", "IMP2", "CARR", NULL, "CA", NULL, NULL, D, 1 },
		{ "Highway", "IMP2", "CARR", "CAMTR", NULL, NULL, NULL, D, 1 },
		/* the Mexican manufacturer must be CTPAT and in good standing */
		{ "truck", "IMP2", "CARR", "MXNLD", "MX", "MX", "MFRNEEC", D, 0 },
		{ "truck", "IMP2", "CARR", "MXNLD", "MX", "MX", "NOPE", D, 0 },
		/* any missing link */
		{ "vessel", "IMP2", "CARR", "CAWND", "CA", "CA", NULL, D, 0 },
		{ "rail", "IMP2", "CARR", "CAWND", "CA", "CA", NULL, D, 0 },
		{ "truck", "IMP2", "CARX", "CAWND", "CA", "CA", NULL, D, 0 },
		{ "truck", "IMP2", NULL, "CAWND", "CA", "CA", NULL, D, 0 },
		{ "truck", "NOPE", "CARR", "CAWND", "CA", "CA", NULL, D, 0 },
		{ "truck", "IMPS", "CARR", "CAWND", "CA", "CA", NULL, "2020-03-10", 0 },
		{ "truck", "IMPS", "CARR", "CAWND", "CA", "CA", NULL, "2020-04-10", 1 },
		{ "truck", "IMP1", "CARR", "CAWND", "CA", "CA", NULL, "2020-03-09", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		base_row(&row, cases[i].date);
		set(&row, ER_COL_MODE, cases[i].mode);
		set(&row, ER_COL_IMPORTER_ID, cases[i].imp);
		set(&row, ER_COL_CARRIER_SCAC, cases[i].carrier);
		set(&row, ER_COL_LADING_PORT, cases[i].lading);
		set(&row, ER_COL_SHIPPER_COUNTRY, cases[i].shp_cc);
		set(&row, ER_COL_ORIGIN_COUNTRY, cases[i].origin);
		set(&row, ER_COL_MANUFACTURER_ID, cases[i].mfr);
		er_result res = score_ok(&row);
		int fired = (res.fired & B(FAST)) != 0;
		if (fired != cases[i].fast || res.fast_eligible != cases[i].fast)
			fail_msg("case %zu: FAST %d eligible %d, expected %d", i, fired,
			         res.fast_eligible, cases[i].fast);
		if (fired)
			assert_int_equal(res.points[ER_R_FAST], -4);
	}
	/* the full sum for the first case: 40 - 20 (T2) + 5 - 2 (carrier) - 4 (FAST) */
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_MODE, "truck");
	set(&row, ER_COL_IMPORTER_ID, "IMP2");
	set(&row, ER_COL_CARRIER_SCAC, "CARR");
	set(&row, ER_COL_ORIGIN_COUNTRY, "CA");
	er_result res = score_ok(&row);
	expect(&res, B(IMP_CTPAT_T2) | B(SHP_UNKNOWN) | B(CARRIER_CTPAT) | B(FAST), 19,
	       ER_LANE_GREEN, "FAST sum");
}

static void test_clamp_and_lanes(void **state)
{
	(void)state;
	er_row row;
	er_result res;

	/* 40 - 30 - 10 - 2 = -2 -> 0 */
	base_row(&row, D);
	set(&row, ER_COL_IMPORTER_ID, "IMP3");
	set(&row, ER_COL_SHIPPER_ID, "SHPC");
	set(&row, ER_COL_CARRIER_SCAC, "CARR");
	res = score_ok(&row);
	expect(&res, B(IMP_CTPAT_T3) | B(SHP_CTPAT) | B(CARRIER_CTPAT), 0, ER_LANE_GREEN, "clamp 0");
	assert_int_equal(res.points[ER_R_IMP_CTPAT_T3], -30);

	/* 40 + 30 + 5 + 4 + 6 + 7 + 9 + 8 = 109 -> 100 */
	base_row(&row, D);
	set(&row, ER_COL_IMPORTER_ID, "IMPR");
	set(&row, ER_COL_LOAD_TYPE, "LCL");
	set(&row, ER_COL_DESCRIPTION, "FAK");
	set(&row, ER_COL_HS_CODE, NULL);
	set(&row, ER_COL_ORIGIN_COUNTRY, "KP");
	set(&row, ER_COL_MODE, "vessel");
	set(&row, ER_COL_FILED_AT, "2020-03-10T00:00:00Z");
	set(&row, ER_COL_DEPARTURE_AT, "2020-03-10T12:00:00Z");
	res = score_ok(&row);
	expect(&res,
	       B(IMP_REMOVED) | B(SHP_UNKNOWN) | B(LCL) | B(VAGUE_DESC) | B(NO_HS) | B(LATE_FILING) |
	               B(ORIGIN_WATCH),
	       100, ER_LANE_RED, "clamp 100");

	/* 40 + 10 + 5 + 7 + 8 = 70: RED at the threshold */
	base_row(&row, D);
	set(&row, ER_COL_HS_CODE, "61091");
	set(&row, ER_COL_MODE, "vessel");
	set(&row, ER_COL_FILED_AT, "2020-03-10T00:00:00Z");
	set(&row, ER_COL_DEPARTURE_AT, "2020-03-10T12:00:00Z");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | B(NO_HS) | B(LATE_FILING), 70, ER_LANE_RED,
	       "70");

	/* 40 + 10 + 5 + 6 + 8 = 69: YELLOW */
	set(&row, ER_COL_HS_CODE, "610910");
	set(&row, ER_COL_DESCRIPTION, "FAK");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_UNKNOWN) | B(VAGUE_DESC) | B(LATE_FILING), 69,
	       ER_LANE_YELLOW, "69");

	/* 40 + 20 - 10 = 50: YELLOW at the threshold */
	base_row(&row, D);
	set(&row, ER_COL_IMPORTER_ID, "IMPS");
	set(&row, ER_COL_SHIPPER_ID, "SHPC");
	res = score_ok(&row);
	expect(&res, B(IMP_SUSPENDED) | B(SHP_CTPAT), 50, ER_LANE_YELLOW, "50");

	/* 40 + 10 - 5 + 4 = 49: GREEN */
	base_row(&row, D);
	set(&row, ER_COL_SHIPPER_ID, "SHPE");
	set(&row, ER_COL_LOAD_TYPE, "LCL");
	res = score_ok(&row);
	expect(&res, B(IMP_UNKNOWN) | B(SHP_MRA) | B(LCL), 49, ER_LANE_GREEN, "49");
}

/* Selection with rate r over ids HBL0000000.. : returns the count and marks
 * selected ids in sel (when not NULL). */
static int random_pass(int n, uint8_t *sel)
{
	int count = 0;
	char id[32];
	er_row row;
	base_row(&row, D);
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof id, "HBL%07d", i);
		set(&row, ER_COL_SHIPMENT_ID, id);
		er_result res = score_ok(&row);
		int picked = (res.fired & B(RANDOM)) != 0;
		/* the base row scores 55: RED only when picked */
		assert_int_equal(res.lane, picked ? ER_LANE_RED : ER_LANE_YELLOW);
		assert_int_equal(res.score, 55);
		if (sel)
			sel[i] = (uint8_t)picked;
		count += picked;
	}
	return count;
}

static void test_random(void **state)
{
	(void)state;
	enum { N = 100000 };
	uint8_t *a = calloc(N, 1), *b = calloc(N, 1);
	assert_non_null(a);
	assert_non_null(b);
	double saved_rate = R->random_rate;
	uint64_t saved_seed = R->random_seed;

	/* rate 0 (the fixture): never */
	assert_int_equal(random_pass(2000, NULL), 0);

	R->random_rate = 0.005;
	R->random_seed = 42;
	int n1 = random_pass(N, a);
	/* 0.5 % +- 0.1 % of 100k ids */
	if (n1 < 400 || n1 > 600)
		fail_msg("selected %d of %d", n1, N);
	/* reproducible: the same ids again */
	int n2 = random_pass(N, b);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, N);
	/* the selection is the documented one: top 53 bits of the keyed hash */
	for (int i = 0; i < 200; i++) {
		char id[32];
		snprintf(id, sizeof id, "HBL%07d", i);
		uint64_t h = er_hash64(id, strlen(id), 42);
		int want = (double)(h >> 11) / 9007199254740992.0 < 0.005;
		assert_int_equal(a[i], want);
	}
	/* another seed draws another sample of the same size */
	R->random_seed = 43;
	int n3 = random_pass(N, b);
	if (n3 < 400 || n3 > 600)
		fail_msg("seed 43: selected %d of %d", n3, N);
	assert_true(memcmp(a, b, N) != 0);
	R->random_seed = 42;

	/* a picked shipment is RED whatever its score; surrounding spaces of the
	 * id do not change the draw */
	int first = -1;
	for (int i = 0; i < N && first < 0; i++)
		if (a[i])
			first = i;
	assert_true(first >= 0);
	char id[40];
	snprintf(id, sizeof id, "  HBL%07d ", first);
	er_row row;
	base_row(&row, D);
	set(&row, ER_COL_SHIPMENT_ID, id);
	set(&row, ER_COL_IMPORTER_ID, "IMP3");
	set(&row, ER_COL_SHIPPER_ID, "SHPC");
	er_result res = score_ok(&row);
	expect(&res, B(IMP_CTPAT_T3) | B(SHP_CTPAT) | B(RANDOM), 0, ER_LANE_RED, "random low score");
	assert_int_equal(res.points[ER_R_RANDOM], 0);

	/* rate 1 picks everything */
	R->random_rate = 1.0;
	assert_int_equal(random_pass(1000, NULL), 1000);

	R->random_rate = saved_rate;
	R->random_seed = saved_seed;
	free(a);
	free(b);
}

static void test_rejects(void **state)
{
	(void)state;
	static const struct {
		int col;
		const char *v;
		int reject;
	} cases[] = {
		{ ER_COL_SHIPMENT_ID, NULL, ER_REJ_MISSING_REQUIRED },
		{ ER_COL_SHIPMENT_ID, " \t ", ER_REJ_MISSING_REQUIRED },
		{ ER_COL_ARRIVAL_DATE, NULL, ER_REJ_MISSING_REQUIRED },
		{ ER_COL_ARRIVAL_DATE, "  ", ER_REJ_MISSING_REQUIRED },
		{ ER_COL_ARRIVAL_DATE, "2020-02-30", ER_REJ_INVALID_DATE },
		{ ER_COL_ARRIVAL_DATE, "2020-3-10", ER_REJ_INVALID_DATE },
		{ ER_COL_ARRIVAL_DATE, "10/03/2020", ER_REJ_INVALID_DATE },
		{ ER_COL_ARRIVAL_DATE, "2020-03-10T00:00:00Z", ER_REJ_INVALID_DATE },
		{ ER_COL_FILED_AT, "yesterday", ER_REJ_INVALID_DATE },
		{ ER_COL_FILED_AT, "2020-03-09T25:00:00Z", ER_REJ_INVALID_DATE },
		{ ER_COL_DEPARTURE_AT, "2020-13-01T00:00Z", ER_REJ_INVALID_DATE },
		{ ER_COL_DECLARED_VALUE_USD, "-5", ER_REJ_INVALID_NUMBER },
		{ ER_COL_DECLARED_VALUE_USD, "1,000", ER_REJ_INVALID_NUMBER },
		{ ER_COL_GROSS_WEIGHT_KG, "12kg", ER_REJ_INVALID_NUMBER },
		{ ER_COL_QUANTITY, "1e3", ER_REJ_INVALID_NUMBER },
		{ ER_COL_QUANTITY, ".", ER_REJ_INVALID_NUMBER },
		{ ER_COL_HS_CODE, "84A1", ER_REJ_INVALID_VALUE },
		{ ER_COL_HS_CODE, "8471-30", ER_REJ_INVALID_VALUE },
		{ ER_COL_HS_CODE, "12345678901", ER_REJ_INVALID_VALUE },
		{ ER_COL_HS_CODE, "1234.5678.901", ER_REJ_INVALID_VALUE },
		{ ER_COL_HS_CODE, "...", ER_REJ_INVALID_VALUE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_row row;
		er_result res;
		base_row(&row, D);
		set(&row, cases[i].col, cases[i].v);
		er_status st = er_score_row(T, R, &row, &res);
		if (st != ER_E_ROW || res.reject != cases[i].reject || res.reject_col != cases[i].col)
			fail_msg("case %zu (%s='%s'): status %d reject %s col %d", i,
			         er_col_name(cases[i].col), cases[i].v ? cases[i].v : "", st,
			         er_reject_name(res.reject), res.reject_col);
	}

	/* valid optional values are accepted */
	static const struct {
		int col;
		const char *v;
	} ok[] = {
		{ ER_COL_DECLARED_VALUE_USD, "0" }, { ER_COL_DECLARED_VALUE_USD, "12.50" },
		{ ER_COL_GROSS_WEIGHT_KG, " 7 " }, { ER_COL_QUANTITY, "" },
		{ ER_COL_FILED_AT, "2020-03-09" }, { ER_COL_DEPARTURE_AT, "2020-03-09T10:00+0100" },
		{ ER_COL_HS_CODE, " 8471 " }, { ER_COL_ARRIVAL_DATE, " 2020-03-10 " },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		er_row row;
		base_row(&row, D);
		set(&row, ok[i].col, ok[i].v);
		score_ok(&row);
	}

	/* several bad fields: the first in column order is reported */
	er_row row;
	er_result res;
	base_row(&row, "2020-02-30");
	set(&row, ER_COL_SHIPMENT_ID, NULL);
	set(&row, ER_COL_QUANTITY, "x");
	assert_int_equal(er_score_row(T, R, &row, &res), ER_E_ROW);
	assert_int_equal(res.reject_col, ER_COL_SHIPMENT_ID);
	set(&row, ER_COL_SHIPMENT_ID, "S1");
	assert_int_equal(er_score_row(T, R, &row, &res), ER_E_ROW);
	assert_int_equal(res.reject_col, ER_COL_ARRIVAL_DATE);
	set(&row, ER_COL_ARRIVAL_DATE, D);
	set(&row, ER_COL_HS_CODE, "X");
	assert_int_equal(er_score_row(T, R, &row, &res), ER_E_ROW);
	assert_int_equal(res.reject_col, ER_COL_HS_CODE);
	set(&row, ER_COL_HS_CODE, NULL);
	assert_int_equal(er_score_row(T, R, &row, &res), ER_E_ROW);
	assert_int_equal(res.reject_col, ER_COL_QUANTITY);
	assert_int_equal(res.reject, ER_REJ_INVALID_NUMBER);
}

/* Scoring the same rows from several threads at once gives the same results. */
typedef struct thr_arg {
	int n;
	er_result *out;
} thr_arg;

static const char *const thr_imps[] = { "IMP1", "IMP2", "IMPS", "IMPR", "NOPE", NULL };
static const char *const thr_shps[] = { "SHPE", "SHPJ", "SHPN", NULL };

static void thr_row(er_row *row, int i, char *id, size_t cap)
{
	static const char *const dates[] = { "2020-03-09", "2020-03-10", "2020-04-10" };
	base_row(row, dates[i % 3]);
	snprintf(id, cap, "T%06d", i);
	set(row, ER_COL_SHIPMENT_ID, id);
	set(row, ER_COL_IMPORTER_ID, thr_imps[i % 6]);
	set(row, ER_COL_SHIPPER_ID, thr_shps[i % 4]);
	set(row, ER_COL_LOAD_TYPE, i % 5 ? "FCL" : "LCL");
}

static void *thr_main(void *p)
{
	thr_arg *a = p;
	for (int i = 0; i < a->n; i++) {
		er_row row;
		char id[16];
		thr_row(&row, i, id, sizeof id);
		if (er_score_row(T, R, &row, &a->out[i]) != ER_OK)
			a->out[i].score = -1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	enum { NT = 4, N = 3000 };
	er_result *want = calloc(N, sizeof *want);
	assert_non_null(want);
	thr_arg one = { N, want };
	thr_main(&one);
	pthread_t th[NT];
	thr_arg args[NT];
	for (int t = 0; t < NT; t++) {
		args[t].n = N;
		args[t].out = calloc(N, sizeof *want);
		assert_non_null(args[t].out);
		assert_int_equal(pthread_create(&th[t], NULL, thr_main, &args[t]), 0);
	}
	for (int t = 0; t < NT; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_memory_equal(args[t].out, want, N * sizeof *want);
		free(args[t].out);
	}
	free(want);
}

static void test_names(void **state)
{
	(void)state;
	static const char *const rej[ER_NREJECTS] = {
		"none", "field_count", "missing_required", "invalid_date", "invalid_number",
		"invalid_value", "invalid_utf8", "nul_byte", "field_too_long", "record_too_long",
		"bad_quote", "unterminated_quote",
	};
	for (int i = 0; i < ER_NREJECTS; i++)
		assert_string_equal(er_reject_name(i), rej[i]);
	assert_string_equal(er_reject_name(-1), "?");
	assert_string_equal(er_reject_name(ER_NREJECTS), "?");
	assert_string_equal(er_status_str(ER_OK), "ok");
	assert_string_equal(er_status_str(ER_E_ROW), "row rejected");
	assert_string_equal(er_status_str(ER_E_FORMAT), "malformed input");
	assert_string_equal(er_status_str((er_status)99), "unknown status");
	for (int r = 0; r < ER_NREASONS; r++)
		assert_true(strlen(er_reason_name(r)) > 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_importer_status),
		cmocka_unit_test(test_importer_validity_window),
		cmocka_unit_test(test_importer_suspension),
		cmocka_unit_test(test_importer_by_name),
		cmocka_unit_test(test_id_name_conflict),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_ambiguous_name),
		cmocka_unit_test(test_unicode_names),
		cmocka_unit_test(test_front_of_line),
		cmocka_unit_test(test_shipper_side),
		cmocka_unit_test(test_shipper_matching),
		cmocka_unit_test(test_carrier_forwarder),
		cmocka_unit_test(test_lcl),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_hs_code),
		cmocka_unit_test(test_late_filing),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_origin_watch),
		cmocka_unit_test(test_fast),
		cmocka_unit_test(test_clamp_and_lanes),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
