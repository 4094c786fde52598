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
		{ "1,\"A\"" E12 "2,\"B,-0- \n", "", "", "sdn.csv:2: unterminated quote" },
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

/* The same answers from several threads at once (one shared cache). */
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

/* ------------------------------------------------ differential screen */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* A made-up word from syllables chosen so that transliteration keys and
 * abbreviations collide often (KH/GH/Q/C/K, SH/CH/SCH, PH/F, W/V, Z/S,
 * J/Y, doubled letters, accents). */
static void word(char *out, size_t cap)
{
	static const char *const syl[] = {
		"AL", "BA", "KAR", "QAR", "CAR", "ZEN", "SEN", "MO", "HAM", "HAMM", "MED", "MAD", "YU",
		"JU", "SUF", "SUPH", "DHA", "DA", "FI", "PHI", "GAD", "KHAD", "GHAD", "TRO", "VEX",
		"WEX", "SHA", "CHA", "SCHA", "RIF", "ZAR", "SAR", "OR", "UL", "NEX", ("\xc3\x9c" "L"),
		"M\xc3\x9c", "LER", "IV", "AN", "OV", "EL", "IN", "TEK",
	};
	size_t o = 0;
	int n = 2 + (int)rnd(3);
	for (int i = 0; i < n; i++) {
		const char *y = syl[rnd(sizeof syl / sizeof syl[0])];
		size_t l = strlen(y);
		if (o + l + 1 >= cap)
			break;
		memcpy(out + o, y, l);
		o += l;
	}
	out[o] = '\0';
}

static const char *const common[] = { "TRADING", "GROUP", "INDUSTRIAL", "INTERNATIONAL",
                                      "SUPPLY", "LOGISTICS", "ELECTRONICS", "SHIPPING" };

/* A listed-looking name of 1 to 4 tokens: rare words and common ones. */
static void list_name(char *out, size_t cap)
{
	int n = 1 + (int)rnd(4);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		char w[64];
		if (i && rnd(3) == 0)
			snprintf(w, sizeof w, "%s", common[rnd(sizeof common / sizeof common[0])]);
		else
			word(w, sizeof w);
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", i ? " " : "", w);
	}
}

/* A manifest spelling of a listed name: tokens reordered, dropped,
 * abbreviated, respelled, lower-cased, a common word added. */
static void mutate(const char *in, char *out, size_t cap)
{
	char tok[8][64];
	int nt = 0;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", in);
	for (char *sv, *t = strtok_r(buf, " ", &sv); t && nt < 8; t = strtok_r(NULL, " ", &sv))
		snprintf(tok[nt++], sizeof tok[0], "%s", t);
	int ops = 1 + (int)rnd(3);
	for (int k = 0; k < ops && nt; k++) {
		int i = (int)rnd((uint32_t)nt), j = (int)rnd((uint32_t)nt);
		int ascii = 1; /* byte edits only where they keep UTF-8 valid */
		for (const char *c = tok[i]; *c; c++)
			ascii &= (unsigned char)*c < 0x80;
		uint32_t op = rnd(6);
		if (!ascii && (op == 2 || op == 3))
			op = 0;
		switch (op) {
		case 0: { /* reorder */
			char t[64];
			memcpy(t, tok[i], sizeof t);
			memcpy(tok[i], tok[j], sizeof t);
			memcpy(tok[j], t, sizeof t);
			break;
		}
		case 1: /* drop */
			if (nt > 1) {
				memmove(tok[i], tok[i + 1], (size_t)(nt - i - 1) * sizeof tok[0]);
				nt--;
			}
			break;
		case 2: { /* abbreviate: first letter and every other letter */
			size_t l = strlen(tok[i]), o = 1;
			for (size_t a = 2; a < l; a += 2)
				tok[i][o++] = tok[i][a];
			tok[i][o < l ? o : l] = '\0';
			break;
		}
		case 3: /* respell one letter */
			if (strlen(tok[i]) > 2)
				tok[i][1 + rnd((uint32_t)strlen(tok[i]) - 2)] = "AEIOUKSZ"[rnd(8)];
			break;
		case 4: /* lower case */
			for (char *c = tok[i]; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c + 32);
			break;
		default: /* a common word added */
			if (nt < 8)
				snprintf(tok[nt++], sizeof tok[0], "%s", common[rnd(8)]);
			break;
		}
	}
	out[0] = '\0';
	for (int i = 0; i < nt; i++) {
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", i ? " " : "", tok[i]);
	}
}

/* The fast screen (index, prefix filter, candidate bounds, shared
 * answer cache) gives exactly what comparing with every listed name gives,
 * on a generated list of 3,000 entries and about 2,000 aliases and 4,000
 * names (mutated listed names and unrelated ones). Its syllables make keys
 * that hundreds of names share: a cap on candidates (once 256) fails it. */
enum { NENT = 3000 };
static char gen_names[NENT][160];

/* The generated list: NENT entries (names in gen_names), about 2,000
 * aliases. */
static er_sdn *gen_list(void)
{
	char *sdn = NULL, *alt = NULL;
	size_t sl = 0, al = 0;
	FILE *fs = open_memstream(&sdn, &sl), *fa = open_memstream(&alt, &al);
	assert_non_null(fs);
	assert_non_null(fa);
	rng_state = 0x9e3779b97f4a7c15ull;
	int nalt = 0;
	for (int e = 0; e < NENT; e++) {
		list_name(gen_names[e], sizeof gen_names[e]);
		fprintf(fs, "%d,\"%s\",%s,\"GEN\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n", 100 + e,
		        gen_names[e], rnd(3) ? "-0- " : "\"individual\"");
		if (rnd(3) < 2) {
			char a[160];
			mutate(gen_names[e], a, sizeof a);
			fprintf(fa, "%d,%d,\"aka\",\"%s\",-0- \n", 100 + e, ++nalt, a);
		}
	}
	fclose(fs);
	fclose(fa);
	const char *dir = write_list("gen", sdn, alt, "");
	free(sdn);
	free(alt);
	er_sdn *g;
	char err[512];
	if (er_sdn_load(dir, &g, err, sizeof err) != ER_OK)
		fail_msg("%s", err);
	return g;
}

/* A query: a mutated listed name, or (one in three) most likely listed nowhere. */
static void gen_query(int k, char *q, size_t cap)
{
	if (k % 3 == 2)
		list_name(q, cap);
	else
		mutate(gen_names[rnd(NENT)], q, cap);
}

static void test_differential(void **state)
{
	(void)state;
	enum { NQ = 4000 };
	er_sdn *g = gen_list();
	int hits = 0, fuzzy = 0, alias = 0;
	for (int k = 0; k < NQ; k++) {
		char q[200];
		gen_query(k, q, sizeof q);
		size_t n = strlen(q);
		er_sdn_hit want = er_sdn_screen_brute(g, q, n);
		for (int pass = 0; pass < 3; pass++) {
			er_sdn_hit got = pass == 0 ? er_sdn_screen_nocache(g, q, n) : er_sdn_screen(g, q, n);
			if (got.ent_num != want.ent_num || got.sim != want.sim || got.alias != want.alias)
				fail_msg("'%s': screen %d %u %u, brute force %d %u %u (pass %d)", q,
				         got.ent_num, got.sim, got.alias, want.ent_num, want.sim, want.alias,
				         pass);
		}
		hits += want.ent_num != 0;
		fuzzy += want.ent_num && want.sim < 1000;
		alias += want.alias;
	}
	/* the names exercise the fuzzy paths, not only exact ones and misses */
	assert_true(hits > NQ / 3);
	assert_true(fuzzy > NQ / 10);
	assert_true(alias > NQ / 50);
	er_sdn_free(g);
}

/* ------------------------------------------------------ answer cache */

enum { CQ = 12000 };
static char cq[CQ][200];
static er_sdn_hit cq_want[CQ];

/* CQ generated queries and their answers screened without the cache. */
static er_sdn *cache_queries(void)
{
	er_sdn *g = gen_list();
	for (int k = 0; k < CQ; k++) {
		gen_query(k, cq[k], sizeof cq[k]);
		cq_want[k] = er_sdn_screen_nocache(g, cq[k], strlen(cq[k]));
	}
	return g;
}

static int cq_wrong(er_sdn *g, int from, int step)
{
	int bad = 0;
	for (int i = 0; i < CQ; i++) {
		int k = (from + i * step) % CQ;
		er_sdn_hit h = er_sdn_screen(g, cq[k], strlen(cq[k]));
		bad += h.ent_num != cq_want[k].ent_num || h.sim != cq_want[k].sim ||
		       h.alias != cq_want[k].alias;
	}
	return bad;
}

/* The cache gives the uncached answers while it grows (the answers copied
 * into each new table), when its slots collide (a table of 64 slots), and
 * once it is as large as it may be (it then keeps names in 3/4 of its slots
 * and screens the others every time). */
static void test_cache_grows_then_stops(void **state)
{
	(void)state;
	er_sdn *g = cache_queries();
	uint32_t slots, n;
	for (int pass = 0; pass < 2; pass++)
		assert_int_equal(cq_wrong(g, 0, 1), 0);
	er_sdn_cache_info(g, &slots, &n);
	assert_int_equal(slots, 16384); /* grew from 8192 at 3/4 full */
	assert_true(n > 8192 * 3 / 4 && n <= 16384 * 3 / 4);

	assert_int_equal(er_sdn_cache_reset(g, 16, 64), 0);
	for (int pass = 0; pass < 2; pass++)
		assert_int_equal(cq_wrong(g, 0, 1), 0);
	er_sdn_cache_info(g, &slots, &n);
	assert_int_equal(slots, 64);
	assert_int_equal(n, 48);
	er_sdn_free(g);
}

typedef struct cq_job {
	er_sdn *g;
	int from, step, bad;
} cq_job;

static void *cq_thread(void *arg)
{
	cq_job *j = arg;
	for (int pass = 0; pass < 2; pass++)
		j->bad += cq_wrong(j->g, j->from, j->step);
	return NULL;
}

/* Four threads screening the same names in different orders through one
 * cache get the answers one thread gets without it: while the cache grows
 * under them (from 64 slots) and at its default sizes. */
static void test_cache_shared_by_threads(void **state)
{
	(void)state;
	er_sdn *g = cache_queries();
	for (int round = 0; round < 2; round++) {
		if (round == 0)
			assert_int_equal(er_sdn_cache_reset(g, 64, 1u << 16), 0);
		else
			assert_int_equal(er_sdn_cache_reset(g, 8192, 1u << 20), 0);
		pthread_t th[4];
		cq_job j[4];
		static const int step[4] = { 1, 7, 11, 13 }; /* prime to CQ's factors but 1 */
		for (int i = 0; i < 4; i++) {
			j[i] = (cq_job){ g, i * 3001, step[i], 0 };
			assert_int_equal(pthread_create(&th[i], NULL, cq_thread, &j[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(j[i].bad, 0);
		}
		uint32_t slots, n;
		er_sdn_cache_info(g, &slots, &n);
		assert_int_equal(slots, 16384);
	}
	er_sdn_free(g);
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
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_cache_grows_then_stops),
		cmocka_unit_test(test_cache_shared_by_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
