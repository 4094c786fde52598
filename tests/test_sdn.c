/* test_sdn.c - the SDN screen (er_sdn.c) on a made-up list in OFAC's exact
 * file format (tests/fixtures/sdn: no header row, "-0- " empties, CRLF, a
 * final 0x1A byte; every entry invented): loading, exact / reordered /
 * abbreviated / accented / transliterated / alias names matching, near
 * misses not matching, vessels and aircraft left out, every malformed file
 * giving FILE:LINE, and the scorer's SDN_MATCH / SDN_REVIEW. Run from the
 * repository root. */
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
#include "er_sdn.h"
#include "er_table.h"
#include "test_helpers.h"

#define FIX "tests/fixtures/sdn"
#define SCORE "tests/fixtures/score/"

static er_sdn *S;
static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	char err[512];
	if (er_sdn_load(FIX, &S, err, sizeof err) != ER_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_sdn.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	er_sdn_free(S);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static er_sdn_hit scr(const char *name)
{
	return er_sdn_screen(S, name, strlen(name));
}

static void test_load(void **state)
{
	(void)state;
	er_sdn_counts c = er_sdn_count(S);
	assert_int_equal(c.entries, 10);
	assert_int_equal(c.screened, 8);   /* the vessel and the aircraft are not parties */
	assert_int_equal(c.aliases, 6);
	assert_int_equal(c.addresses, 3);
	assert_int_equal(c.names, 8 + 5); /* primaries + aliases of screened entries */
	er_sdn_free(NULL);
}

static void test_matches(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int ent, alias;
		unsigned lo, hi; /* similarity x 1000 */
	} cases[] = {
		/* exact, and exact after the party normalizer (case, punctuation, suffixes) */
		{ "KORVANEX TRADING COMPANY", 9001, 0, 1000, 1000 },
		{ "Korvanex Trading Co., Ltd.", 9001, 0, 1000, 1000 },
		{ "korvanex  trading", 9001, 0, 1000, 1000 },
		/* reordered: an individual listed as "LAST, First Middle" */
		{ "Muhammad Yusuf Zarqawan", 9002, 0, 1000, 1000 },
		{ "YUSUF ZARQAWAN MUHAMMAD", 9002, 0, 1000, 1000 },
		{ "HANDEL MULLERSTEIN", 9007, 0, 1000, 1000 },
		/* abbreviated: an initial, INTL */
		{ "M. YUSUF ZARQAWAN", 9002, 0, 900, 940 },
		{ "INTL PETROVEX SUPPLY", 9006, 0, 940, 960 },
		{ "Intl. Petrovex Supply Inc", 9006, 0, 940, 960 },
		/* accented: precomposed, decomposed (U+0308), upper-case */
		{ "M\xc3\xbcllerstein Handel GmbH", 9007, 0, 950, 1000 },
		{ "Mu\xcc\x88llerstein Handel", 9007, 0, 950, 1000 },
		{ "M\xc3\x9cLLERSTEIN HANDEL", 9007, 0, 950, 1000 },
		/* transliterated: MOHAMMED/MUHAMMAD, YOUSSEF/YUSUF, GADHARI/QADHARI */
		{ "Mohammed Youssef Zarqawan", 9002, 0, 940, 950 },
		{ "GADHARI INDUSTRIAL GROUP", 9005, 0, 960, 980 },
		/* aliases (alt.csv) */
		{ "Trident Orchard Exports Ltd", 9008, 1, 1000, 1000 },
		{ "BELOVAR SHIPPING CO", 9003, 1, 1000, 1000 },
		{ "GADHARI GROUP", 9005, 1, 1000, 1000 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		er_sdn_hit h = scr(cases[i].name);
		if (h.ent_num != cases[i].ent || h.alias != cases[i].alias || h.sim < cases[i].lo ||
		    h.sim > cases[i].hi)
			fail_msg("'%s': ent %d alias %d sim %u, expected ent %d alias %d sim %u..%u",
			         cases[i].name, h.ent_num, h.alias, h.sim, cases[i].ent, cases[i].alias,
			         cases[i].lo, cases[i].hi);
		/* the cache gives what a fresh screen gives */
		er_sdn_hit u = er_sdn_screen_nocache(S, cases[i].name, strlen(cases[i].name));
		assert_int_equal(u.ent_num, h.ent_num);
		assert_int_equal(u.sim, h.sim);
	}
}

static void test_near_misses(void **state)
{
	(void)state;
	/* below the review threshold (0.80) of the shipped rules */
	static const char *const names[] = {
		"KORVANEX SHOES",        /* one listed word, one that is not */
		"ZARQAWAN TEXTILES",
		"BELOVAR FARMS",
		"ACME TRADING",          /* a common word only */
		"GLOBAL TRADING",
		"MOHD YUSUF ZARQAWAN",   /* MOHD abbreviates MOHAMMED (alias, 4 words), not MUHAMMAD */
		"PETROVEX",              /* one word of three */
		"NORTHWIND ACE",         /* a vessel: not screened */
		"NORTH WIND ACE",        /* its alias neither */
		"NEXARO AIR",            /* an aircraft */
		"XXX", "-", "",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		er_sdn_hit h = scr(names[i]);
		if (h.ent_num && h.sim >= 800)
			fail_msg("'%s' should not match: ent %d sim %u", names[i], h.ent_num, h.sim);
	}
	assert_int_equal(scr("NORTHWIND ACE").ent_num, 0);
	assert_int_equal(scr("ACME TRADING").ent_num, 0);
	/* a name is screened on its first 256 bytes */
	char longname[600];
	memset(longname, 'Q', sizeof longname);
	memcpy(longname, "KORVANEX TRADING ", 17);
	er_sdn_hit h = er_sdn_screen(S, longname, sizeof longname);
	assert_true(h.sim < 800);
}

/* Write the three files into tmpdir/NAME. */
static const char *write_list(const char *name, const char *sdn, const char *alt, const char *add)
{
	static char dir[400];
	char path[500];
	snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
	snprintf(path, sizeof path, "mkdir -p '%s'", dir);
	assert_int_equal(system(path), 0);
	const char *txt[3] = { sdn, alt, add };
	const char *file[3] = { "sdn.csv", "alt.csv", "add.csv" };
	for (int i = 0; i < 3; i++) {
		if (!txt[i])
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, file[i]);
		write_file(path, txt[i], strlen(txt[i]));
	}
	return dir;
}

#define E12 ",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n"

static void test_dash_zero_and_no_header(void **state)
{
	(void)state;
	/* -0- with and without the trailing space, quoted or not, is empty; no
	 * header row; LF endings; no 0x1A mark */
	const char *dir = write_list("ok", "1,\"ALPHA ONE TRADING\"" E12
	                             "2,\"BRAVO, Zed\",individual,\"P\",\"-0-\",-0-,-0-,-0-,-0-,-0-,-0-,-0-\n",
	                             "1,-0- ,aka,\"ALPHA UNO\",-0- \n", "2,-0-,-0-,-0-,-0-,-0-\n");
	er_sdn *s;
	char err[512];
	assert_int_equal(er_sdn_load(dir, &s, err, sizeof err), ER_OK);
	er_sdn_counts c = er_sdn_count(s);
	assert_int_equal(c.entries, 2);
	assert_int_equal(c.screened, 2); /* SDN_Type -0- is an entity */
	assert_int_equal(c.aliases, 1);
	assert_int_equal(c.addresses, 1);
	er_sdn_hit h = er_sdn_screen(s, "Zed Bravo", 9);
	assert_int_equal(h.ent_num, 2);
	assert_int_equal(h.sim, 1000);
	h = er_sdn_screen(s, "ALPHA UNO", 9);
	assert_int_equal(h.ent_num, 1);
	assert_int_equal(h.alias, 1);
	/* another list in the same thread: the cache does not answer for it */
	h = er_sdn_screen(S, "ALPHA UNO", 9);
	assert_int_equal(h.ent_num, 0);
	er_sdn_free(s);
	/* empty files are an empty list, not an error */
	dir = write_list("empty", "", "", "");
	assert_int_equal(er_sdn_load(dir, &s, err, sizeof err), ER_OK);
	assert_int_equal(er_sdn_count(s).entries, 0);
	assert_int_equal(er_sdn_screen(s, "ALPHA", 5).ent_num, 0);
	er_sdn_free(s);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *sdn, *alt, *add, *msg;
	} cases[] = {
		{ "ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,"
		  "Vess_owner,Remarks\n1,\"A\"" E12, "", "",
		  "sdn.csv:1: bad ent_num 'ent_num' (want a positive integer)" },
		{ "1,\"A\"" E12 "2,\"B\",-0- ,\"P\",-0- \n", "", "",
		  "sdn.csv:2: expected 12 fields, got 5 (OFAC's files have no header row)" },
		{ "1,\"A\"" E12 "1,\"B\"" E12, "", "", "sdn.csv:2: duplicate ent_num 1" },
		{ "1,\"A\"" E12 "x1,\"B\"" E12, "", "", "sdn.csv:2: bad ent_num 'x1' (want a positive integer)" },
		{ "1,-0- " E12, "", "", "sdn.csv:1: missing SDN_Name" },
		{ "1,\"A\"" E12 "2,\"B,-0- \n", "", "", "sdn.csv:2: unterminated_quote" },
		{ "1,\"A\"" E12, "1,1,aka,\"A2\",-0- \n777,2,aka,\"Z\",-0- \n", "",
		  "alt.csv:2: ent_num 777 is not in sdn.csv" },
		{ "1,\"A\"" E12, "1,1,aka,-0- ,-0- \n", "", "alt.csv:1: missing alt_name" },
		{ "1,\"A\"" E12, "1,one,aka,\"A2\",-0- \n", "", "alt.csv:1: bad alt_num 'one' (want an integer)" },
		{ "1,\"A\"" E12, "", "1,1,-0- ,-0- ,-0- \n", "add.csv:1: expected 6 fields, got 5 (OFAC's files have no header row)" },
		{ "1,\"A\"" E12, "", "\n\n3,1,-0- ,-0- ,-0- ,-0- \n", "add.csv:3: ent_num 3 is not in sdn.csv" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[16], want[600], err[512];
		snprintf(name, sizeof name, "bad%zu", i);
		const char *dir = write_list(name, cases[i].sdn, cases[i].alt, cases[i].add);
		er_sdn *s = (er_sdn *)0x1;
		er_status st = er_sdn_load(dir, &s, err, sizeof err);
		snprintf(want, sizeof want, "%s/%s", dir, cases[i].msg);
		if (st != ER_E_FORMAT || strcmp(err, want) != 0)
			fail_msg("case %zu: status %d '%s', expected '%s'", i, st, err, want);
		assert_null(s);
	}
	/* a file missing from the set */
	char err[512], want[600];
	const char *dir = write_list("noadd", "1,\"A\"" E12, "", NULL);
	er_sdn *s;
	assert_int_equal(er_sdn_load(dir, &s, err, sizeof err), ER_E_IO);
	snprintf(want, sizeof want, "%s/add.csv", dir);
	assert_non_null(strstr(err, want));
	assert_null(s);
}

/* ------------------------------------------------------------ scoring */

static void set(er_row *row, int col, const char *v)
{
	row->f[col].p = v;
	row->f[col].n = v ? strlen(v) : 0;
}

static void test_score(void **state)
{
	(void)state;
	er_tables *t;
	er_rules *r;
	char err[512];
	assert_int_equal(er_tables_load(SCORE "participants.csv", SCORE "mra.csv", &t, err, sizeof err),
	                 ER_OK);
	assert_int_equal(er_rules_load(SCORE "rules.ini", &r, err, sizeof err), ER_OK);
	assert_int_equal(er_rules_sdn_check(r, err, sizeof err), 0);

	er_row row;
	er_result res;
	memset(&row, 0, sizeof row);
	set(&row, ER_COL_SHIPMENT_ID, "S1");
	set(&row, ER_COL_ARRIVAL_DATE, "2020-03-10");
	set(&row, ER_COL_DESCRIPTION, "COTTON T-SHIRTS");
	set(&row, ER_COL_HS_CODE, "610910");
	/* baseline 55 YELLOW (IMP_UNKNOWN + SHP_UNKNOWN); no list: no column */
	assert_int_equal(er_score_row_sdn(t, r, NULL, &row, &res), ER_OK);
	assert_int_equal(res.score, 55);
	assert_int_equal(res.sdn_screened, 0);
	assert_int_equal(er_score_row_sdn(t, r, S, &row, &res), ER_OK);
	assert_int_equal(res.sdn_screened, 1);
	assert_int_equal(res.fired & (1u << ER_R_SDN_MATCH | 1u << ER_R_SDN_REVIEW), 0);

	/* a listed shipper: SDN_MATCH +50, RED whatever the score (force_red) */
	set(&row, ER_COL_SHIPPER_NAME, "Korvanex Trading Co Ltd");
	assert_int_equal(er_score_row_sdn(t, r, S, &row, &res), ER_OK);
	assert_true(res.fired & 1u << ER_R_SDN_MATCH);
	assert_int_equal(res.points[ER_R_SDN_MATCH], 50);
	assert_int_equal(res.score, 100);
	assert_int_equal(res.lane, ER_LANE_RED);
	assert_int_equal(res.sdn_ent[ER_SDN_SHIPPER], 9001);
	assert_int_equal(res.sdn_sim[ER_SDN_SHIPPER], 1000);
	assert_int_equal(res.sdn_ent[ER_SDN_IMPORTER], 0);
	/* even with a Tier 3 importer's credit; and no front of line */
	set(&row, ER_COL_IMPORTER_ID, "IMP3");
	assert_int_equal(er_score_row(t, r, &row, &res), ER_OK);
	assert_int_equal(res.front_of_line, 1);
	assert_int_equal(er_score_row_sdn(t, r, S, &row, &res), ER_OK);
	assert_int_equal(res.score, 40 - 30 + 5 + 50);
	assert_int_equal(res.lane, ER_LANE_RED);
	assert_int_equal(res.front_of_line, 0);
	/* the importer given by id only is screened with its table name:
	 * IMP2 is "Bolt Trading LLC" here and on the made-up list */
	set(&row, ER_COL_SHIPPER_NAME, NULL);
	set(&row, ER_COL_IMPORTER_ID, "IMP2");
	assert_int_equal(er_score_row_sdn(t, r, S, &row, &res), ER_OK);
	assert_int_equal(res.sdn_ent[ER_SDN_IMPORTER], 9009);
	assert_true(res.fired & 1u << ER_R_SDN_MATCH);
	/* a name in the review band: SDN_REVIEW +2, lane by score */
	set(&row, ER_COL_IMPORTER_ID, NULL);
	set(&row, ER_COL_CONSIGNEE_NAME, "SOLBERG HOLDINGS GROUP");
	assert_int_equal(er_score_row_sdn(t, r, S, &row, &res), ER_OK);
	assert_true(res.sdn_sim[ER_SDN_CONSIGNEE] >= 800 && res.sdn_sim[ER_SDN_CONSIGNEE] < 900);
	assert_int_equal(res.sdn_ent[ER_SDN_CONSIGNEE], 9008);
	assert_int_equal(res.fired & (1u << ER_R_SDN_MATCH | 1u << ER_R_SDN_REVIEW),
	                 1u << ER_R_SDN_REVIEW);
	assert_int_equal(res.score, 57);
	assert_int_equal(res.lane, ER_LANE_YELLOW);
	/* force_red = 0: points only */
	r->sdn_force_red = 0;
	set(&row, ER_COL_CONSIGNEE_NAME, "Zarqawan, Muhammad Yusuf");
	set(&row, ER_COL_IMPORTER_ID, "IMP3");
	assert_int_equal(er_score_row_sdn(t, r, S, &row, &res), ER_OK);
	assert_int_equal(res.score, 40 - 30 + 5 + 50);
	assert_int_equal(res.lane, ER_LANE_YELLOW); /* 65: by score, not forced RED */
	er_rules_free(r);

	/* rules without the SDN keys load, but cannot screen */
	char path[400];
	snprintf(path, sizeof path, "%s/nosdn.ini", tmpdir);
	FILE *in = fopen(SCORE "rules.ini", "r"), *out = fopen(path, "w");
	assert_non_null(in);
	assert_non_null(out);
	char line[512];
	int skip = 0;
	while (fgets(line, sizeof line, in)) {
		if (line[0] == '[')
			skip = strncmp(line, "[sdn]", 5) == 0;
		if (!skip && strncmp(line, "SDN_", 4) != 0)
			fputs(line, out);
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(er_rules_load(path, &r, err, sizeof err), ER_OK);
	assert_int_equal(er_rules_sdn_check(r, err, sizeof err), -1);
	char want[600];
	snprintf(want, sizeof want, "%s: missing key [points] SDN_MATCH (needed by --sdn)", path);
	assert_string_equal(err, want);
	er_rules_free(r);
	er_tables_free(t);
}

/* The same answers from several threads at once (per-thread caches). */
static void *screen_many(void *arg)
{
	int *bad = arg;
	static const char *const names[] = { "Muhammad Yusuf Zarqawan", "ACME TRADING",
	                                     "GADHARI INDUSTRIAL GROUP", "INTL PETROVEX SUPPLY" };
	static const int ent[] = { 9002, 0, 9005, 9006 };
	for (int k = 0; k < 4000; k++) {
		er_sdn_hit h = er_sdn_screen(S, names[k % 4], strlen(names[k % 4]));
		if (h.ent_num != ent[k % 4])
			(*bad)++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t th[4];
	int bad[4] = { 0 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, screen_many, &bad[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(bad[i], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_near_misses),
		cmocka_unit_test(test_dash_zero_and_no_header),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_score),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
