/* test_table.c - participants and MRA tables, the name normalizer, and the
 * shipped data/mra.csv. Run from the repository root (paths are relative). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "er_table.h"
#include "er_util.h"
#include "test_helpers.h"

#define FIX_PLAIN "tests/fixtures/tables/participants.csv"
#define FIX_GZ "tests/fixtures/tables/participants.csv.gz"
#define MRA_CSV "data/mra.csv"

/* ------------------------------------------------------------ helpers */

static char tmpdir[256];

static int32_t D(const char *s)
{
	int32_t d = 0;
	if (er_parse_date(s, strlen(s), &d) < 0)
		fail_msg("bad test date %s", s);
	return d;
}

static const er_party *by_id(const er_tables *t, const char *id)
{
	return er_tables_find_id(t, id, strlen(id));
}

static const er_party *by_name(const er_tables *t, const char *name, const char *cc)
{
	return er_tables_find_name(t, name, strlen(name), cc, strlen(cc));
}

static int mra(const er_tables *t, const char *program, const char *cc, const char *day)
{
	return er_tables_mra_recognized(t, program, cc, D(day));
}

/* "PROGRAM:status:Ttier" of the period in force, or "-" */
static const char *cert_str(const er_party *p, const char *day, int want, char *buf, size_t n)
{
	const er_cert *c = er_party_cert_on(p, D(day), want);
	if (!c)
		return "-";
	snprintf(buf, n, "%s:%s:T%u", c->program, er_cert_status_name(c->status), (unsigned)c->tier);
	return buf;
}

#define ASSERT_CERT(p, day, want, expect) do { \
		char b_[96]; \
		assert_string_equal(cert_str((p), (day), (want), b_, sizeof b_), (expect)); \
	} while (0)

static er_tables *load_ok(const char *participants, const char *mra_path)
{
	char err[512] = "x";
	er_tables *t = NULL;
	er_status st = er_tables_load(participants, mra_path, &t, err, sizeof err);
	if (st != ER_OK)
		fail_msg("load failed (%d): %s", (int)st, err);
	assert_string_equal(err, "");
	assert_non_null(t);
	return t;
}

static int group_setup(void **state)
{
	(void)state;
	if (access(FIX_PLAIN, R_OK) != 0 || access(MRA_CSV, R_OK) != 0) {
		fprintf(stderr, "test_table: run from the repository root\n");
		return -1;
	}
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_table.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------- normalizer */

static void norm_eq(const char *in, const char *expect)
{
	char out[256];
	size_t n = er_name_normalize(in, strlen(in), out, sizeof out);
	if (strcmp(out, expect) != 0 || n != strlen(expect))
		fail_msg("normalize(\"%s\") = \"%s\" (%zu), want \"%s\"", in, out, n, expect);
}

/* Each group: the expected normal form, then variants that must all reach it. */
static const char *const norm_groups[][6] = {
	{ "ACME TRADING", "Acme Trading Co., Ltd.", "ACME TRADING CO LTD",
	  "acme trading company limited", "The Acme Trading Co. Ltd", "Acme\xc2\xa0Trading Co.,Ltd" },
	/* issue 9 item 7: precomposed, decomposed (U+0308), upper, plain ASCII and
	 * full-width forms of one name meet */
	{ "MULLER", "M\xc3\xbcller GmbH", "M\xc3\x9cLLER G.M.B.H.", "m\xc3\xbcller gmbh.",
	  "Mu\xcc\x88ller GmbH", "MULLER GMBH" },
	{ "MULLER", "\xef\xbc\xad\xef\xbd\x95\xef\xbd\x8c\xef\xbd\x8c\xef\xbd\x85\xef\xbd\x92"
	  " \xef\xbc\xa7\xef\xbd\x8d\xef\xbd\x82\xef\xbc\xa8", "MU\xcc\x88LLER", "Muller", NULL },
	{ "GRUPO INDUSTRIAL", "Grupo Industrial S.A. de C.V.", "GRUPO INDUSTRIAL SA DE CV",
	  "Grupo Industrial, S.A. de C.V.", "grupo industrial s.a.de c.v.", NULL },
	{ "SMITH AND SONS", "Smith & Sons Inc", "SMITH AND SONS, INC.", "Smith&Sons Incorporated", NULL },
	{ "SIEMENS", "Siemens AG", "SIEMENS A.G.", NULL },
	{ "SHENZHEN BRIGHT ELECTRONICS", "Shenzhen Bright Electronics Co.,Ltd",
	  "SHENZHEN BRIGHT ELECTRONICS CO. LTD.", "Shenzhen  Bright   Electronics Company Limited",
	  "  shenzhen bright electronics (co.) ltd  ", NULL },
	{ "TATA CONSULTANCY SERVICES", "Tata Consultancy Services Pvt. Ltd.",
	  "TATA CONSULTANCY SERVICES PRIVATE LIMITED", NULL },
	{ "GLOBAL TRADERS", "Global Traders LLC", "GLOBAL TRADERS, L.L.C.", "Global Traders L L C",
	  "Global Traders, Limited Liability Company", NULL },
	{ "PHILIPS", "Philips N.V.", "PHILIPS NV", NULL },
	{ "HEINEKEN", "Heineken B.V.", "HEINEKEN BV", NULL },
	{ "NOKIA", "Nokia Oyj", "NOKIA OY", NULL },
	{ "VOLVO", "Volvo AB", "VOLVO A.B.", NULL },
	{ "MAERSK", "Maersk A/S", "MAERSK AS", NULL },
	{ "SAMSUNG ELECTRONICS", "Samsung Electronics Co., Ltd.", "SAMSUNG ELECTRONICS CO LTD", NULL },
	{ "TOYOTA TSUSHO", "Toyota Tsusho Corporation", "TOYOTA TSUSHO CORP.",
	  "Toyota Tsusho K.K.", NULL },
	{ "FERRERO", "Ferrero S.p.A.", "FERRERO SPA", NULL },
	{ "LUXOTTICA", "Luxottica S.r.l.", "LUXOTTICA SRL", NULL },
	{ "DANONE", "Danone S.A.", "DANONE SA", "Danone S. A.", NULL },
	{ "AIRBUS", "Airbus S.A.S.", "AIRBUS SAS", NULL },
	{ "BHP", "BHP Pty Ltd", "BHP PTY. LTD.", NULL },
	{ "DBS", "DBS Pte. Ltd.", "DBS PTE LTD", NULL },
	{ "BARCLAYS", "Barclays PLC", "Barclays p.l.c.", NULL },
	{ "KASPI", "Kaspi JSC", "KASPI J.S.C.", NULL },
	{ "ERNST AND YOUNG", "Ernst & Young LLP", "ERNST AND YOUNG L.L.P.", NULL },
	{ "CARREFOUR", "Carrefour SARL", "CARREFOUR S.A.R.L.", NULL },
	{ "ROBERT BOSCH", "Robert Bosch GmbH & Co. KG", "ROBERT BOSCH GMBH AND CO KG", NULL },
	{ "JP MORGAN CHASE", "J.P. Morgan Chase & Co.", "JP Morgan Chase and Company", NULL },
	{ "HOME DEPOT", "The Home Depot, Inc.", "HOME DEPOT INC", NULL },
	{ "MEXICANA DE COBRE", "Mexicana de Cobre, S.A.B. de C.V.", "MEXICANA DE COBRE SAB DE CV", NULL },
	{ "TEXTILES DEL NORTE", "Textiles del Norte S. de R.L. de C.V.",
	  "TEXTILES DEL NORTE S DE RL DE CV", NULL },
	{ "ELECTRICITE DE FRANCE", "\xc3\x89lectricit\xc3\xa9 de France SA",
	  "\xc3\xa9lectricit\xc3\xa9 de france s.a.", "Electricite de France", NULL },
	/* sharp s folds to SS; Unicode punctuation and spaces separate words;
	 * zero-width and soft-hyphen characters vanish */
	{ "STRASSENBAU", "Stra\xc3\x9f" "enbau GmbH", "STRASSENBAU", "Stra\xc2\xad\xc3\x9f" "enbau", NULL },
	{ "ACME TRADING", "Acme\xe3\x80\x80Trading\xe3\x80\x81" "Co\xef\xbc\x8e", "ACME\xe2\x80\x94TRADING",
	  "Ac\xe2\x80\x8bme Trading", NULL },
	{ "\xd0\x9f\xd0\xa0\xd0\x9e\xd0\x9c\xd0\xa2\xd0\x95\xd0\xa5",
	  "\xd0\x9f\xd1\x80\xd0\xbe\xd0\xbc\xd1\x82\xd0\xb5\xd1\x85",
	  "\xd0\x9f\xd0\xa0\xd0\x9e\xd0\x9c\xd0\xa2\xd0\x95\xd0\xa5", NULL },
	{ "USA STEEL", "U.S.A. Steel Corp", "USA STEEL CORPORATION", NULL },
	{ "AT AND T", "AT&T Inc.", "AT & T INC", NULL },
};

static void test_normalize_pairs(void **state)
{
	(void)state;
	size_t pairs = 0;
	for (size_t g = 0; g < sizeof norm_groups / sizeof norm_groups[0]; g++) {
		for (size_t i = 1; i < 6 && norm_groups[g][i]; i++) {
			norm_eq(norm_groups[g][i], norm_groups[g][0]);
			if (i > 1)
				pairs++;
		}
	}
	assert_true(pairs >= 25);
}

static void test_normalize_edges(void **state)
{
	(void)state;
	/* never drop the whole name */
	norm_eq("CO", "CO");
	norm_eq("Co.", "CO");
	norm_eq("Company", "COMPANY");
	norm_eq("The Company", "COMPANY");
	norm_eq("Limited Co", "LIMITED");
	norm_eq("Inc. Ltd.", "INC");
	norm_eq("SA DE CV", "SA");
	norm_eq("The", "THE");
	norm_eq("Theta Inc", "THETA");
	/* suffixes only at the end */
	norm_eq("Co-op Foods Ltd", "CO OP FOODS");
	norm_eq("Limited Editions Inc", "LIMITED EDITIONS");
	norm_eq("Incorporated Metals", "INCORPORATED METALS");
	/* dots: only single-character segments join */
	norm_eq("www.acme.com", "WWW ACME COM");
	norm_eq("St. Louis Freight", "ST LOUIS FREIGHT");
	norm_eq("A.COM", "A COM");
	/* punctuation only, empty */
	norm_eq(",.-&", "AND");
	norm_eq(" ,.;- ", "");
	norm_eq("", "");
	/* other non-ASCII kept as is, no accent folding */
	norm_eq("\xe4\xb8\x8a\xe6\xb5\xb7 Trading Co", "\xe4\xb8\x8a\xe6\xb5\xb7 TRADING");
	norm_eq("\xff\xfe bad bytes", "\xff\xfe BAD BYTES");
	/* apostrophes fold to a space */
	norm_eq("Macy's Inc", "MACY S");

	/* near misses stay apart */
	const char *const miss[][2] = {
		{ "ACME TRADING", "ACME TRADERS" },
		{ "Acme Trading Co", "Acme Trading Group" },
		{ "M\xc3\xbcller GmbH", "Mueller GmbH" },
		{ "\xe4\xb8\x8a\xe6\xb5\xb7 Trading", "\xe5\x8c\x97\xe4\xba\xac Trading" },
		{ "Smith & Sons", "Smith Sons" },
		{ "Global Traders LLC", "Global Trader LLC" },
		{ "J.P. Morgan", "JPM Organ" },
	};
	for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
		char a[128], b[128];
		er_name_normalize(miss[i][0], strlen(miss[i][0]), a, sizeof a);
		er_name_normalize(miss[i][1], strlen(miss[i][1]), b, sizeof b);
		if (strcmp(a, b) == 0)
			fail_msg("\"%s\" and \"%s\" both normalize to \"%s\"", miss[i][0], miss[i][1], a);
	}

	/* the length argument bounds the input; cap bounds the output */
	char out[64];
	assert_int_equal(er_name_normalize("Acme Trading Co., Ltd. XYZ", 22, out, sizeof out), 12);
	assert_string_equal(out, "ACME TRADING");
	assert_int_equal(er_name_normalize("Acme Trading", 12, out, 5), 4);
	assert_string_equal(out, "ACME");
	assert_int_equal(er_name_normalize("Acme", 4, out, 1), 0);
	assert_string_equal(out, "");
	/* Unicode names longer than the folding's stack buffers: the heap paths */
	char longu[2 * 700 + 1], longa[700 + 1], outl[ER_NAME_NORM_CAP(2 * 700)];
	for (int i = 0; i < 700; i++) {
		memcpy(longu + 2 * i, "\xc3\x9c", 2); /* U+00DC */
		longa[i] = 'U';
	}
	longu[2 * 700] = longa[700] = '\0';
	assert_int_equal(er_name_normalize(longu, 2 * 700, outl, sizeof outl), 700);
	assert_string_equal(outl, longa);
	/* compatibility forms may expand (U+FDFA is 18 letters and spaces) */
	char wide[ER_NAME_NORM_CAP(3)];
	assert_true(er_name_normalize("\xef\xb7\xba", 3, wide, sizeof wide) > 20);
	/* worst-case growth fits ER_NAME_NORM_CAP */
	char big[ER_NAME_NORM_CAP(5)];
	assert_int_equal(er_name_normalize("&&&&&", 5, big, sizeof big), 19);
	assert_string_equal(big, "AND AND AND AND AND");
}

/* Every legal-form suffix is dropped after a name, in any case, and after
 * another suffix. The normalizer looks suffixes up by their last letter, so
 * each one is named here: a suffix missing from that lookup fails. */
static void test_normalize_every_suffix(void **state)
{
	(void)state;
	static const char *const sfx[] = {
		"INC", "INCORPORATED", "LLC", "L L C", "LTD", "LIMITED", "CO", "CORP", "CORPORATION",
		"COMPANY", "GMBH", "AG", "KG", "SA", "S A", "SA DE CV", "DE CV", "DE C V", "S DE RL",
		"S DE R L", "SAB", "SAPI", "SAS", "SRL", "SPA", "BV", "NV", "PLC", "PVT", "PTE", "PTY",
		"JSC", "PJSC", "KK", "OY", "OYJ", "AB", "SARL", "LLP", "LP", "LLLP", "PLLC", "ULC",
		"LTDA", "LIMITADA", "SL", "SE", "AS", "A S", "ASA", "APS", "SRO", "SP Z O O", "KFT",
		"OOO", "SDN BHD", "BHD", "CIA", "AND CO", "AND CIA", "AND COMPANY", "PRIVATE LIMITED",
		"LIMITED LIABILITY COMPANY", "JOINT STOCK COMPANY", "KABUSHIKI KAISHA", "BVBA", "SPRL",
	};
	char in[128], low[64];
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(in, sizeof in, "Zeta Works %s", sfx[i]);
		norm_eq(in, "ZETA WORKS");
		size_t k = 0;
		for (; sfx[i][k]; k++)
			low[k] = (char)(sfx[i][k] >= 'A' && sfx[i][k] <= 'Z' ? sfx[i][k] + 32 : sfx[i][k]);
		low[k] = '\0';
		snprintf(in, sizeof in, "zeta works, %s.", low);
		norm_eq(in, "ZETA WORKS");
		snprintf(in, sizeof in, "Zeta Works %s Ltd", sfx[i]);
		norm_eq(in, "ZETA WORKS");
		/* a one-word suffix glued to the word before is part of the name */
		if (strchr(sfx[i], ' '))
			continue;
		snprintf(in, sizeof in, "Zeta%s", sfx[i]);
		char want[128];
		snprintf(want, sizeof want, "ZETA%s", sfx[i]);
		norm_eq(in, want);
	}
	/* names that end in a digit or a non-ASCII letter keep their last word */
	norm_eq("Route 66", "ROUTE 66");
	norm_eq("Caf\xc3\xa9 Co", "CAFE");
	norm_eq("Inc \xc3\xa9", "INC E");
}

/* er_name_normalize (letter runs copied in a tight loop, the ASCII test a
 * word at a time, letters by table) against er_name_normalize_ref (byte by
 * byte, by comparisons) at every output cap. */
static void norm_same(const char *in, size_t n)
{
	char a[ER_NAME_NORM_CAP(300)], b[ER_NAME_NORM_CAP(300)];
	size_t full = ER_NAME_NORM_CAP(n);
	assert_true(full <= sizeof a);
	/* every cap up to a few bytes past the result, then the documented one */
	size_t want = er_name_normalize_ref(in, n, b, full);
	for (size_t cap = 1; cap <= full; cap = cap < want + 3 ? cap + 1 : full) {
		memset(a, 0x55, sizeof a);
		memset(b, 0x55, sizeof b);
		size_t la = er_name_normalize(in, n, a, cap), lb = er_name_normalize_ref(in, n, b, cap);
		if (la != lb || memcmp(a, b, lb + 1) != 0)
			fail_msg("'%.*s' cap %zu: '%s' (%zu), reference '%s' (%zu)", (int)n, in, cap, a, la,
			         b, lb);
		if (cap == full)
			break;
	}
}

static void test_normalize_matches_reference(void **state)
{
	(void)state;
	char in[300];
	/* every byte value alone, inside a word, between words, after a
	 * one-letter segment and a dot, at the end of a 7-, 8- and 9-byte name
	 * (the word-at-a-time test's edge) */
	static const char *const ctx[] = { "@", "AB@CD", "Acme @ Co", "S.@.", "@.A.", "abcdef@",
	                                   "abcdefg@", "abcdefgh@", "The @Trading Ltd", "x&@&y" };
	for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++)
		for (int c = 0; c < 256; c++) {
			size_t n = strlen(ctx[k]);
			memcpy(in, ctx[k], n);
			*strchr(in, '@') = (char)c; /* '@' is in the contexts only once */
			norm_same(in, n);
		}
	/* the same with a NUL byte (the length, not the terminator, bounds it) */
	norm_same("AB\0CD", 5);
	static const char *const names[] = {
		"", " ", "&", "...", "The", "THE ", "The The Co", "G.M.B.H.", "S.A. de C.V.",
		"Holvan  Automotive, LLC", "STERSTERICA OUTDOOR, Co", "COMERCIALIZADORA BELIA & VALBELETTI S.A.S.",
		"M\xc3\xbcller GmbH", "\xef\xbc\xad\xef\xbc\xb5\xef\xbc\xac", "\xe4\xb8\x8a\xe6\xb5\xb7 Trading Co",
		"\xff\xfe bad bytes", "abc\xc3", "Zeta Works SP Z O O", "a1b2c3d4e5f6g7h8i9j0",
		"ALPHA BETA GAMMA DELTA EPSILON ZETA ETA THETA IOTA KAPPA LAMBDA",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		norm_same(names[i], strlen(names[i]));
	/* a name of the longest kind the scorer normalizes on its stack, and longer */
	memset(in, 'q', sizeof in);
	for (size_t i = 7; i < sizeof in; i += 9)
		in[i] = i % 2 ? ' ' : '.';
	norm_same(in, 200);
	norm_same(in, sizeof in);
	/* random names glued from pieces (fixed seed) */
	static const char *const piece[] = { "A", "b", "Co", " ", "  ", ".", ",", "&", "-", "'",
	                                     "Ltd", "S.A.", "the ", "\xc3\xbc", "\xe4\xb8\x8a", "\xff",
	                                     "9", "GmbH", "INC", "Trading" };
	uint64_t x = 12345;
	for (int r = 0; r < 3000; r++) {
		size_t n = 0;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		int np = 1 + (int)(x >> 60);
		for (int k = 0; k < np; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			const char *pc = piece[(x >> 33) % (sizeof piece / sizeof piece[0])];
			n += (size_t)snprintf(in + n, sizeof in - n, "%s", pc);
		}
		norm_same(in, n);
	}
}

/* ------------------------------------------------------- participants */

static void test_load_fixture(void **state)
{
	(void)state;
	er_tables *t = load_ok(FIX_PLAIN, MRA_CSV);
	assert_int_equal(er_tables_nparties(t), 14);
	static const char *const ids[] = {
		"FWD-CA-1", "FWD-US-1", "IMP001", "IMP002", "IMP003", "IMP004", "IMP005", "IMP010",
		"IMP011", "MAEU", "MFR-MX-01", "SHP-CN-01", "SHP-DE-01", "SHP-GB-01",
	};
	size_t ncerts = 0;
	for (size_t i = 0; i < 14; i++) {
		const er_party *p = er_tables_party(t, i);
		assert_non_null(p);
		assert_string_equal(p->id, ids[i]);
		assert_ptr_equal(by_id(t, ids[i]), p);
		for (uint32_t k = 1; k < p->ncerts; k++) {
			int c = strcmp(p->certs[k - 1].program, p->certs[k].program);
			assert_true(c < 0 || (c == 0 && p->certs[k - 1].valid_from < p->certs[k].valid_from));
		}
		ncerts += p->ncerts;
	}
	assert_int_equal(ncerts, 21);
	assert_null(er_tables_party(t, 14));

	/* name/role from the latest period; quoted and multi-line fields */
	const er_party *p = by_id(t, "IMP001");
	assert_string_equal(p->name, "Acme Trading Co., Ltd.");
	assert_string_equal(p->norm_name, "ACME TRADING");
	assert_string_equal(p->country, "US");
	assert_string_equal(p->role, "importer");
	assert_int_equal(p->ncerts, 4);
	assert_int_equal(p->certs[0].line, 3);
	assert_int_equal(p->certs[3].line, 6);
	p = by_id(t, "IMP003");
	assert_string_equal(p->name, "Old\nLine Importers");
	assert_int_equal(p->certs[0].line, 19);
	assert_int_equal(p->certs[0].status, ER_ST_WITHDRAWN);
	p = by_id(t, "IMP005");
	assert_string_equal(p->role, "importer");
	assert_int_equal(p->certs[0].line, 23);
	assert_int_equal(p->certs[0].valid_to, ER_DAY_MAX);
	/* lower-case country and program stored upper-case */
	p = by_id(t, "SHP-DE-01");
	assert_string_equal(p->country, "DE");
	assert_string_equal(p->certs[0].country, "DE");
	p = by_id(t, "SHP-GB-01");
	assert_string_equal(p->certs[1].program, "UK_AEO");
	assert_int_equal(p->certs[1].is_ctpat, 0);
	assert_int_equal(by_id(t, "IMP002")->certs[0].is_ctpat, 1);
	assert_int_equal(by_id(t, "IMP002")->certs[0].tier, 3);

	/* ids: exact bytes, length-bounded */
	assert_null(by_id(t, "imp001"));
	assert_null(by_id(t, "IMP00"));
	assert_null(by_id(t, "IMP0011"));
	assert_null(by_id(t, ""));
	assert_ptr_equal(er_tables_find_id(t, "IMP001XYZ", 6), by_id(t, "IMP001"));
	er_tables_free(t);
}

static void test_asof_history(void **state)
{
	(void)state;
	er_tables *t = load_ok(FIX_PLAIN, NULL);
	const er_party *p = by_id(t, "IMP001");
	assert_non_null(p);
	/* certified [2015-03-01, 2016-03-01) -> validated -> suspended
	 * [2019-06-15, 2019-09-01) -> removed (open) */
	ASSERT_CERT(p, "2015-02-28", -1, "-");
	ASSERT_CERT(p, "2015-03-01", -1, "CTPAT:certified:T1");
	ASSERT_CERT(p, "2015-03-02", -1, "CTPAT:certified:T1");
	ASSERT_CERT(p, "2016-02-29", -1, "CTPAT:certified:T1");
	ASSERT_CERT(p, "2016-03-01", -1, "CTPAT:validated:T2");
	ASSERT_CERT(p, "2016-03-02", 1, "CTPAT:validated:T2");
	ASSERT_CERT(p, "2019-06-14", 1, "CTPAT:validated:T2");
	ASSERT_CERT(p, "2019-06-15", 1, "CTPAT:suspended:T0");
	ASSERT_CERT(p, "2019-06-16", 1, "CTPAT:suspended:T0");
	ASSERT_CERT(p, "2019-08-31", 1, "CTPAT:suspended:T0");
	ASSERT_CERT(p, "2019-09-01", 1, "CTPAT:removed:T0");
	ASSERT_CERT(p, "2099-12-31", 1, "CTPAT:removed:T0");
	ASSERT_CERT(p, "2017-01-01", 0, "-");

	/* a closed period and a gap */
	p = by_id(t, "IMP003");
	ASSERT_CERT(p, "2010-12-31", -1, "-");
	ASSERT_CERT(p, "2011-01-01", -1, "CTPAT:withdrawn:T0");
	ASSERT_CERT(p, "2011-12-31", -1, "CTPAT:withdrawn:T0");
	ASSERT_CERT(p, "2012-01-01", -1, "-");
	ASSERT_CERT(p, "2012-01-02", -1, "-");
	p = by_id(t, "SHP-GB-01");
	ASSERT_CERT(p, "2014-04-30", 0, "-");
	ASSERT_CERT(p, "2014-05-01", 0, "EU_AEO:certified:T0");
	ASSERT_CERT(p, "2020-12-31", 0, "EU_AEO:certified:T0");
	ASSERT_CERT(p, "2021-01-01", 0, "-");
	ASSERT_CERT(p, "2021-01-20", -1, "-");
	ASSERT_CERT(p, "2021-01-21", 0, "UK_AEO:certified:T0");
	ASSERT_CERT(p, "2021-01-21", 1, "-");
	/* adjacent periods (valid_to == next valid_from) are not an overlap */
	p = by_id(t, "IMP004");
	ASSERT_CERT(p, "2020-06-30", 1, "CTPAT:certified:T1");
	ASSERT_CERT(p, "2020-07-01", 1, "CTPAT:certified:T1");
	assert_int_equal(er_party_cert_on(p, D("2020-06-30"), 1)->line, 21);
	assert_int_equal(er_party_cert_on(p, D("2020-07-01"), 1)->line, 22);

	/* want = 1 / 0 / -1 with two programs in force */
	p = by_id(t, "MFR-MX-01");
	ASSERT_CERT(p, "2016-06-01", -1, "MX_NEEC:certified:T0");
	ASSERT_CERT(p, "2016-06-01", 1, "-");
	ASSERT_CERT(p, "2016-06-01", 0, "MX_NEEC:certified:T0");
	ASSERT_CERT(p, "2018-06-01", -1, "CTPAT:certified:T1"); /* tie: CTPAT wins */
	ASSERT_CERT(p, "2018-06-01", 1, "CTPAT:certified:T1");
	ASSERT_CERT(p, "2018-06-01", 0, "MX_NEEC:certified:T0");
	ASSERT_CERT(p, "2019-06-01", -1, "MX_NEEC:validated:T0"); /* better standing wins */
	ASSERT_CERT(p, "2019-06-01", 1, "CTPAT:certified:T1");
	ASSERT_CERT(p, "2018-12-31", 0, "MX_NEEC:certified:T0");
	ASSERT_CERT(p, "2019-01-01", 0, "MX_NEEC:validated:T0");

	/* foreign program without an MRA row loads and is found */
	p = by_id(t, "SHP-CN-01");
	ASSERT_CERT(p, "2020-01-01", 0, "CN_AEO:certified:T0");
	assert_null(er_party_cert_on(NULL, D("2020-01-01"), -1));
	er_tables_free(t);
}

static void test_name_lookup(void **state)
{
	(void)state;
	er_tables *t = load_ok(FIX_PLAIN, MRA_CSV);
	const er_party *acme = by_id(t, "IMP001");
	assert_ptr_equal(by_name(t, "ACME TRADING COMPANY LIMITED", "US"), acme);
	assert_ptr_equal(by_name(t, "acme trading co ltd", "us"), acme);
	assert_ptr_equal(by_name(t, "The Acme Trading Co.", ""), acme);
	assert_null(by_name(t, "Acme Trading Co., Ltd.", "CA"));   /* other country */
	assert_null(by_name(t, "Acme Traders Co., Ltd.", "US"));   /* near miss */
	assert_null(by_name(t, "Acme Imports", "US"));             /* older name is not indexed */
	assert_null(by_name(t, "Acme Trading", "USA"));            /* bad country */
	assert_null(by_name(t, "Acme Trading", "U1"));
	assert_null(by_name(t, "", "US"));
	assert_null(by_name(t, ".,&-", "US"));
	/* ambiguous: two ids share the name + country */
	assert_null(by_name(t, "Global Traders", "US"));
	assert_null(by_name(t, "Global Traders LLC", ""));
	/* same name in two countries: found with the country, ambiguous without */
	assert_ptr_equal(by_name(t, "Pacific Freight", "US"), by_id(t, "FWD-US-1"));
	assert_ptr_equal(by_name(t, "PACIFIC FREIGHT CO.", "ca"), by_id(t, "FWD-CA-1"));
	assert_null(by_name(t, "Pacific Freight", ""));
	assert_null(by_name(t, "Pacific Freight", "MX"));
	/* non-ASCII names, country-less unique */
	const er_party *mu = by_id(t, "SHP-DE-01");
	assert_ptr_equal(by_name(t, "M\xc3\x9cLLER G.M.B.H.", ""), mu);
	assert_ptr_equal(by_name(t, "m\xc3\xbcller gmbh", "DE"), mu);
	assert_ptr_equal(by_name(t, "Muller GmbH", "DE"), mu);
	assert_ptr_equal(by_name(t, "Mu\xcc\x88ller GmbH", "DE"), mu);
	assert_null(by_name(t, "Mueller GmbH", "DE"));
	assert_ptr_equal(by_name(t, "GRUPO INDUSTRIAL SA DE CV", "MX"), by_id(t, "MFR-MX-01"));
	assert_ptr_equal(by_name(t, "Smith and Sons", "US"), by_id(t, "IMP002"));
	assert_ptr_equal(by_name(t, "MAERSK", "DK"), by_id(t, "MAEU"));
	assert_ptr_equal(by_name(t, "old line importers", "US"), by_id(t, "IMP003"));
	/* a name longer than the look-up's stack buffer */
	size_t n = 3000;
	char *longname = malloc(n + 1);
	assert_non_null(longname);
	memset(longname, '&', n);
	longname[n] = '\0';
	assert_null(er_tables_find_name(t, longname, n, "US", 2));
	free(longname);
	er_tables_free(t);
}

static void assert_same_tables(const er_tables *a, const er_tables *b)
{
	assert_int_equal(er_tables_nparties(a), er_tables_nparties(b));
	for (size_t i = 0; i < er_tables_nparties(a); i++) {
		const er_party *p = er_tables_party(a, i), *q = er_tables_party(b, i);
		assert_string_equal(p->id, q->id);
		assert_string_equal(p->name, q->name);
		assert_string_equal(p->norm_name, q->norm_name);
		assert_string_equal(p->country, q->country);
		assert_string_equal(p->role, q->role);
		assert_int_equal(p->ncerts, q->ncerts);
		for (uint32_t k = 0; k < p->ncerts; k++) {
			const er_cert *x = &p->certs[k], *y = &q->certs[k];
			assert_string_equal(x->program, y->program);
			assert_string_equal(x->country, y->country);
			assert_int_equal(x->status, y->status);
			assert_int_equal(x->tier, y->tier);
			assert_int_equal(x->is_ctpat, y->is_ctpat);
			assert_int_equal(x->valid_from, y->valid_from);
			assert_int_equal(x->valid_to, y->valid_to);
			assert_int_equal(x->line, y->line);
		}
	}
}

static void test_gzip_same_as_plain(void **state)
{
	(void)state;
	/* the .gz fixture holds two gzip members */
	er_tables *a = load_ok(FIX_PLAIN, MRA_CSV);
	er_tables *b = load_ok(FIX_GZ, MRA_CSV);
	assert_same_tables(a, b);
	assert_ptr_equal(by_name(b, "Acme Trading", "US"), by_id(b, "IMP001"));
	er_tables_free(a);
	er_tables_free(b);

	/* a truncated gzip file is an error, not a shorter table */
	FILE *f = fopen(FIX_GZ, "rb");
	assert_non_null(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	assert_true(n > 40 && n < sizeof buf);
	char path[300], err[512] = "";
	snprintf(path, sizeof path, "%s/trunc.csv.gz", tmpdir);
	write_file(path, buf, n - 10);
	er_tables *t = (er_tables *)1;
	er_status st = er_tables_load(path, NULL, &t, err, sizeof err);
	assert_int_equal(st, ER_E_GZIP);
	assert_null(t);
	assert_true(strncmp(err, path, strlen(path)) == 0);
}

/* ------------------------------------------------------------- errors */

struct bad_case {
	const char *data;
	er_status st;
	const char *msg; /* after "PATH:" */
};

#define PH "party_id,name,country,role,program,status,tier,valid_from,valid_to\n"
#define OK1 "P1,Acme,US,importer,CTPAT,certified,1,2020-01-01,\n"

static const struct bad_case bad_participants[] = {
	{ "", ER_E_FORMAT, "1: empty file (no header row)" },
	{ "party_id,name,country,role,program,status,tier,valid_from\n"
	  "P1,A,US,i,CTPAT,certified,1,2020-01-01\n",
	  ER_E_FORMAT, "1: missing column 'valid_to'" },
	{ "\n\nparty_id,name,country,role,program,status,tier,valid_from,Tier,valid_to\n",
	  ER_E_FORMAT, "3: duplicate column 'tier'" },
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-02-30,\n", ER_E_FORMAT,
	  "2: bad valid_from '2020-02-30' (want YYYY-MM-DD)" },
	{ PH OK1 "P2,B,US,importer,CTPAT,certified,1,,\n", ER_E_FORMAT, "3: missing valid_from" },
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-01-01,2021/01/01\n", ER_E_FORMAT,
	  "2: bad valid_to '2021/01/01' (want YYYY-MM-DD)" },
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-01-01,2020-01-01\n", ER_E_FORMAT,
	  "2: valid_to 2020-01-01 is not after valid_from 2020-01-01" },
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-01-02,2020-01-01\n", ER_E_FORMAT,
	  "2: valid_to 2020-01-01 is not after valid_from 2020-01-02" },
	{ PH OK1 "P2,B,US,importer,CTPAT,active,1,2020-01-01,\n", ER_E_FORMAT,
	  "3: unknown status 'active'" },
	{ PH "P1,Acme,US,importer,CTPAT,validated,4,2020-01-01,\n", ER_E_FORMAT,
	  "2: bad tier '4' (want 1, 2, 3 or empty)" },
	{ PH "P1,Acme,US,importer,CTPAT,validated,T2,2020-01-01,\n", ER_E_FORMAT,
	  "2: bad tier 'T2' (want 1, 2, 3 or empty)" },
	{ PH ",Acme,US,importer,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT, "2: missing party_id" },
	{ PH "P1,Acme,US,importer,,certified,1,2020-01-01,\n", ER_E_FORMAT, "2: missing program" },
	{ PH "P1,Acme,USA,importer,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT,
	  "2: country 'USA' is not 2 letters" },
	{ PH "P1,Acme,,importer,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT,
	  "2: country '' is not 2 letters" },
	{ PH "P1,Acme,U1,importer,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT,
	  "2: country 'U1' is not 2 letters" },
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-01-01\n", ER_E_FORMAT,
	  "2: expected 9 fields, got 8" },
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-01-01,2021-01-01\n"
	     "P1,Acme,US,importer,CTPAT,validated,2,2020-06-01,\n", ER_E_FORMAT,
	  "3: period overlaps line 2 for party 'P1' program CTPAT" },
	{ PH "P1,Acme,US,importer,CTPAT,validated,2,2020-06-01,\n"
	     "P2,B,US,importer,CTPAT,validated,2,2020-06-01,\n"
	     "P1,Acme,US,importer,ctpat,certified,1,2020-01-01,2020-06-02\n", ER_E_FORMAT,
	  "4: period overlaps line 2 for party 'P1' program CTPAT" },
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-01-01,\n"
	     "P1,Acme,CA,importer,CA_PIP,certified,,2020-01-01,\n", ER_E_FORMAT,
	  "3: party 'P1' has country CA here but US on line 2" },
	/* of two cross-row problems the earlier line is reported */
	{ PH "P1,Acme,US,importer,CTPAT,certified,1,2020-01-01,\n"
	     "P2,B,US,importer,CTPAT,certified,1,2020-01-01,\n"
	     "P2,B,US,importer,CTPAT,certified,1,2020-03-01,\n"
	     "P1,Acme,MX,importer,MX_NEEC,certified,,2020-01-01,\n", ER_E_FORMAT,
	  "4: period overlaps line 3 for party 'P2' program CTPAT" },
	/* line numbers count physical lines inside quoted fields */
	{ PH "P1,\"Acme\nTwo, Lines\",US,importer,CTPAT,certified,1,2020-01-01,\n"
	     "P2,B,US,importer,CTPAT,certified,1,2020-01-01,2019-01-01\n", ER_E_FORMAT,
	  "4: valid_to 2019-01-01 is not after valid_from 2020-01-01" },
	{ PH OK1 "P2,\"B,US,importer,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT,
	  "3: unterminated quote" },
	{ PH "P1,Acme \"Q\" Co,US,importer,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT,
	  "2: stray quote" },
	{ PH "P1,Acme\xff,US,importer,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT,
	  "2: invalid UTF-8" },
	/* roles are a closed list: a role the engine does not know matches no column */
	{ PH OK1 "P2,B,US,shipper,EU_AEO,certified,,2020-01-01,\n", ER_E_FORMAT,
	  "3: unknown role 'shipper' (want importer, exporter, manufacturer, carrier or "
	  "forwarder)" },
	{ PH "P1,Acme,US,,CTPAT,certified,1,2020-01-01,\n", ER_E_FORMAT,
	  "2: missing role (want importer, exporter, manufacturer, carrier or forwarder)" },
	{ PH OK1 "P1,Acme,US,importers,CTPAT,certified,1,2021-01-01,\n", ER_E_FORMAT,
	  "3: unknown role 'importers' (want importer, exporter, manufacturer, carrier or "
	  "forwarder)" },
};

static void check_bad(const char *fname, const char *data, int as_mra, er_status want_st,
                      const char *want_msg, size_t i)
{
	char path[300], expect[700], err[600];
	snprintf(path, sizeof path, "%s/%s", tmpdir, fname);
	write_file(path, data, strlen(data));
	snprintf(expect, sizeof expect, "%s:%s", path, want_msg);
	er_tables *t = (er_tables *)1;
	memset(err, 0, sizeof err);
	er_status st = as_mra ? er_tables_load(NULL, path, &t, err, sizeof err)
	                      : er_tables_load(path, MRA_CSV, &t, err, sizeof err);
	if (st != want_st || strcmp(err, expect) != 0)
		fail_msg("case %zu: status %d, err \"%s\"; want %d, \"%s\"", i, (int)st, err,
		         (int)want_st, expect);
	assert_null(t);
}

static void test_participants_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_participants / sizeof bad_participants[0]; i++)
		check_bad("bad_participants.csv", bad_participants[i].data, 0, bad_participants[i].st,
		          bad_participants[i].msg, i);

	/* a missing file names the path */
	char err[512] = "";
	er_tables *t = (er_tables *)1;
	char path[300];
	snprintf(path, sizeof path, "%s/does-not-exist.csv", tmpdir);
	assert_int_equal(er_tables_load(path, NULL, &t, err, sizeof err), ER_E_IO);
	assert_null(t);
	assert_true(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':');

	/* header only: an empty table, every look-up misses */
	snprintf(path, sizeof path, "%s/header_only.csv", tmpdir);
	write_file(path, PH, strlen(PH));
	t = load_ok(path, NULL);
	assert_int_equal(er_tables_nparties(t), 0);
	assert_int_equal(er_tables_nmra(t), 0);
	assert_null(by_id(t, "P1"));
	assert_null(by_name(t, "Acme", "US"));
	assert_int_equal(mra(t, "EU_AEO", "DE", "2020-01-01"), 0);
	er_tables_free(t);

	/* a long message is cut to errlen, NUL-terminated */
	snprintf(path, sizeof path, "%s/bad_participants.csv", tmpdir);
	const char *bad = PH "P1,Acme,US,importer,CTPAT,active,1,2020-01-01,\n";
	write_file(path, bad, strlen(bad));
	char small[8];
	memset(small, 'x', sizeof small);
	assert_int_equal(er_tables_load(path, NULL, &t, small, sizeof small), ER_E_FORMAT);
	assert_int_equal(strlen(small), 7);
	assert_int_equal(er_tables_load(path, NULL, &t, NULL, 0), ER_E_FORMAT);
	er_tables_free(NULL);
}

#define MH "program,partner,partner_program,country,signed_on,recognized_from,recognized_to,note\n"

static const struct bad_case bad_mra[] = {
	{ MH "EU_AEO,European Union,EU AEO,DE,2012-05-04,2012-07-01,,\n"
	     "JP_AEO,Japan,AEO,JP,2009-06-01,2009-06-01,,\n"
	     "eu_aeo,European Union,EU AEO,de,2012-05-04,2012-07-01,,\n", ER_E_FORMAT,
	  "4: duplicate row for program EU_AEO country DE (first on line 2)" },
	{ MH "EU_AEO,European Union,EU AEO,DE,2012-05-04,2012-07,,\n", ER_E_FORMAT,
	  "2: bad recognized_from '2012-07' (want YYYY-MM-DD)" },
	{ MH "EU_AEO,European Union,EU AEO,DE,2012-05-04,2012-07-01,2012-06-30,\n", ER_E_FORMAT,
	  "2: recognized_to 2012-06-30 is before recognized_from 2012-07-01" },
	{ MH "EU_AEO,European Union,EU AEO,GB,2012-05-04,2012-07-01,2011-01-01,\n", ER_E_FORMAT,
	  "2: recognized_to 2011-01-01 is before recognized_from 2012-07-01" },
	{ MH "EU_AEO,European Union,EU AEO,DE,2012-5-4,2012-07-01,,\n", ER_E_FORMAT,
	  "2: bad signed_on '2012-5-4' (want YYYY-MM-DD)" },
	{ MH "EU_AEO,European Union,EU AEO,DE,2012-05-04,2012-07-01,someday,\n", ER_E_FORMAT,
	  "2: bad recognized_to 'someday' (want YYYY-MM-DD)" },
	{ "program,partner,partner_program,country,signed_on,recognized_from,recognized_to\n",
	  ER_E_FORMAT, "1: missing column 'note'" },
	{ MH "EU_AEO,European Union,EU AEO,EUR,2012-05-04,2012-07-01,,\n", ER_E_FORMAT,
	  "2: country 'EUR' is not 2 letters" },
	{ MH ",European Union,EU AEO,DE,2012-05-04,2012-07-01,,\n", ER_E_FORMAT, "2: missing program" },
	{ MH "EU_AEO,European Union,EU AEO,DE,2012-05-04,2012-07-01,,\"a, b\",x\n", ER_E_FORMAT,
	  "2: expected 8 fields, got 9" },
};

/* Roles: parsed case-insensitively, a party's roles are those of all its
 * rows, and name look-ups count only the parties of the roles asked for. */
static void test_roles(void **state)
{
	(void)state;
	static const char data[] = PH
		"IMPA,Juniper Supply Co,US,importer,CTPAT,certified,1,2020-01-01,\n"
		"IMPB,\"JUNIPER SUPPLY, INC.\",US,IMPORTER,CTPAT,validated,2,2020-01-01,\n"
		"EXPA,Juniper Supply Ltd,CN,Exporter,CN_AEO,certified,,2020-01-01,\n"
		"MFRA,Kastanie Werke GmbH,DE,exporter,EU_AEO,certified,,2015-01-01,2020-01-01\n"
		"MFRA,Kastanie Werke GmbH,DE,manufacturer,EU_AEO,certified,,2020-01-01,\n"
		"CARA,Granite Haulage Inc,US,carrier,CTPAT,validated,2,2015-01-01,\n";
	char path[300];
	snprintf(path, sizeof path, "%s/roles.csv", tmpdir);
	write_file(path, data, strlen(data));
	er_tables *t = load_ok(path, NULL);
	const er_party *p = by_id(t, "IMPB");
	assert_non_null(p);
	assert_int_equal(p->roles, ER_TR_IMPORTER);
	assert_string_equal(p->role, "importer");
	p = by_id(t, "MFRA");
	assert_int_equal(p->roles, ER_TR_EXPORTER | ER_TR_MANUFACTURER);
	assert_string_equal(p->role, "exporter|manufacturer");
	assert_int_equal(by_id(t, "EXPA")->roles, ER_TR_EXPORTER);

	int n = -1;
	/* two importers share the name: ambiguous among importers */
	assert_null(er_tables_find_name_as(t, ER_TR_IMPORTER, "Juniper Supply", 14, NULL, 0, &n));
	assert_int_equal(n, 2);
	assert_null(er_tables_find_name_as(t, ER_TR_IMPORTER, "Juniper Supply", 14, "US", 2, &n));
	assert_int_equal(n, 2);
	/* as a shipper the name is the Chinese exporter's alone */
	p = er_tables_find_name_as(t, er_role_fits(ER_ROLE_SHIPPER), "Juniper Supply", 14, NULL, 0,
	                           &n);
	assert_non_null(p);
	assert_string_equal(p->id, "EXPA");
	assert_int_equal(n, 1);
	/* every role: three parties */
	assert_null(er_tables_find_name_as(t, ER_TR_ALL, "Juniper Supply", 14, NULL, 0, &n));
	assert_int_equal(n, 2);
	assert_null(by_name(t, "Juniper Supply", ""));
	/* a manufacturer is no importer and no carrier */
	assert_null(er_tables_find_name_as(t, ER_TR_IMPORTER, "Kastanie Werke", 14, "DE", 2, &n));
	assert_int_equal(n, 0);
	p = er_tables_find_name_as(t, ER_TR_MANUFACTURER, "Kastanie Werke", 14, "DE", 2, &n);
	assert_non_null(p);
	assert_string_equal(p->id, "MFRA");
	assert_null(er_tables_find_name_as(t, ER_TR_CARRIER, "Kastanie Werke", 14, NULL, 0, NULL));

	/* what each manifest column accepts */
	assert_int_equal(er_role_fits(ER_ROLE_IMPORTER), ER_TR_IMPORTER);
	assert_int_equal(er_role_fits(ER_ROLE_SHIPPER), ER_TR_EXPORTER | ER_TR_MANUFACTURER);
	assert_int_equal(er_role_fits(ER_ROLE_MANUFACTURER), ER_TR_MANUFACTURER);
	assert_int_equal(er_role_fits(ER_ROLE_CARRIER), ER_TR_CARRIER);
	assert_int_equal(er_role_fits(ER_ROLE_FORWARDER), ER_TR_FORWARDER);
	assert_int_equal(er_role_fits(ER_NROLES), 0);
	assert_int_equal(er_table_role_parse("Forwarder", 9), ER_TR_FORWARDER);
	assert_int_equal(er_table_role_parse("shipper", 7), 0);
	assert_int_equal(er_table_role_parse("", 0), 0);

	/* the shared matching rule, by id and by name */
	uint8_t m;
	er_id_probe q = er_tables_id_start(t, "CARA", 4);
	assert_null(er_tables_match(t, ER_ROLE_IMPORTER, &q, NULL, 0, NULL, 0, &m));
	assert_int_equal(m, ER_MATCH_NONE); /* a carrier's SCAC as importer */
	q = er_tables_id_start(t, "CARA", 4);
	assert_null(er_tables_match(t, ER_ROLE_IMPORTER, &q, "Juniper Supply Co", 17, NULL, 0, &m));
	assert_int_equal(m, ER_MATCH_CONFLICT); /* ... with importers' name */
	q = er_tables_id_start(t, "CARA", 4);
	assert_non_null(er_tables_match(t, ER_ROLE_CARRIER, &q, NULL, 0, NULL, 0, &m));
	assert_int_equal(m, ER_MATCH_ID);
	q = er_tables_id_start(t, NULL, 0);
	assert_null(er_tables_match(t, ER_ROLE_IMPORTER, &q, "Juniper Supply", 14, NULL, 0, &m));
	assert_int_equal(m, ER_MATCH_AMBIGUOUS);
	assert_non_null(er_tables_match(t, ER_ROLE_SHIPPER, &q, "Juniper Supply", 14, "cn", 2, &m));
	assert_int_equal(m, ER_MATCH_NAME);
	assert_null(er_tables_match(t, ER_ROLE_IMPORTER, &q, "Kastanie Werke", 14, NULL, 0, &m));
	assert_int_equal(m, ER_MATCH_NONE);
	assert_null(er_tables_match(t, ER_ROLE_IMPORTER, &q, NULL, 0, NULL, 0, &m));
	assert_int_equal(m, ER_MATCH_ABSENT);
	er_tables_free(t);
}

/* The period in force on a party with a long history (issue 10 item 13):
 * found by binary search. One party, 100,000 one-day periods written in
 * reverse order (the load sorts them): CTPAT on six days of seven
 * (certified T1, validated T2, suspended by day mod 3), EU_AEO on the
 * seventh. Every day of the range, the days around it, and each period's
 * first and last day agree with the rule computed here. */
#define LH_DAYS 100000
static void test_long_history(void **state)
{
	(void)state;
	char path[300];
	snprintf(path, sizeof path, "%s/long_history.csv", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(PH, f);
	int32_t d0 = er_days_from_civil(1900, 1, 1);
	static const char *const st[3] = { "certified,1", "validated,2", "suspended," };
	for (int k = LH_DAYS - 1; k >= 0; k--) {
		char from[11], to[11];
		er_format_date(d0 + k, from);
		er_format_date(d0 + k + 1, to);
		if (k % 7 == 6)
			fprintf(f, "BIG,Big History Co,DE,importer,EU_AEO,validated,,%s,%s\n", from, to);
		else
			fprintf(f, "BIG,Big History Co,DE,importer,CTPAT,%s,%s,%s\n", st[k % 3], from, to);
	}
	fputs("SMALL,Small Co,DE,importer,CTPAT,certified,1,1900-01-01,\n", f);
	assert_int_equal(fclose(f), 0);
	er_tables *t = load_ok(path, NULL);
	const er_party *p = by_id(t, "BIG");
	assert_non_null(p);
	assert_int_equal(p->ncerts, LH_DAYS);
	for (int k = -2; k <= LH_DAYS + 1; k++) {
		int32_t day = d0 + k;
		const er_cert *ct = er_party_cert_on(p, day, 1);
		const er_cert *fc = er_party_cert_on(p, day, 0);
		const er_cert *any = er_party_cert_on(p, day, -1);
		int in = k >= 0 && k < LH_DAYS;
		if (!in || k % 7 == 6) {
			if (ct)
				fail_msg("day %d: CTPAT period %d..%d in force", k, ct->valid_from - d0,
				         ct->valid_to - d0);
		} else {
			static const uint8_t want_st[3] = { ER_ST_CERTIFIED, ER_ST_VALIDATED,
			                                    ER_ST_SUSPENDED };
			if (!ct || ct->valid_from != day || ct->valid_to != day + 1 ||
			    ct->status != want_st[k % 3])
				fail_msg("day %d: wrong CTPAT period", k);
		}
		if (in && k % 7 == 6) {
			if (!fc || fc->valid_from != day || strcmp(fc->program, "EU_AEO") != 0)
				fail_msg("day %d: no EU_AEO period", k);
		} else if (fc) {
			fail_msg("day %d: EU_AEO period in force", k);
		}
		if (any != (ct ? ct : fc))
			fail_msg("day %d: any-program look-up disagrees", k);
		/* the iterator gives the same periods, CTPAT (program order) first */
		uint32_t pos = 0;
		const er_cert *a = er_party_next_in_force(p, day, -1, &pos);
		const er_cert *b = a ? er_party_next_in_force(p, day, -1, &pos) : NULL;
		if (a != (ct ? ct : fc) || b)
			fail_msg("day %d: iterator disagrees", k);
	}
	/* a party with one open period */
	const er_party *q = by_id(t, "SMALL");
	assert_non_null(er_party_cert_on(q, d0, 1));
	assert_null(er_party_cert_on(q, d0 - 1, 1));
	assert_non_null(er_party_cert_on(q, d0 + 10 * LH_DAYS, -1));
	er_tables_free(t);
}

static void test_mra_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_mra / sizeof bad_mra[0]; i++)
		check_bad("bad_mra.csv", bad_mra[i].data, 1, bad_mra[i].st, bad_mra[i].msg, i);
	/* unconfirmed row: empty recognized_from with a recognized_to is accepted */
	char path[300];
	snprintf(path, sizeof path, "%s/mra_ok.csv", tmpdir);
	const char *ok = MH "XX_AEO,X,X AEO,XX,2020-01-01,,2021-01-01,\"unconfirmed: not recognized\"\n";
	write_file(path, ok, strlen(ok));
	er_tables *t = load_ok(NULL, path);
	assert_int_equal(er_tables_nmra(t), 1);
	assert_int_equal(er_tables_mra(t, 0)->recognized_from, ER_DAY_NONE);
	assert_int_equal(mra(t, "XX_AEO", "XX", "2020-06-01"), 0);
	er_tables_free(t);
	/* recognized_to is the last day recognized (inclusive): a one-day
	 * recognition is valid and recognizes exactly that day */
	const char *one = MH "YY_AEO,Y,Y AEO,YY,2020-01-01,2020-05-01,2020-05-01,one day\n";
	write_file(path, one, strlen(one));
	t = load_ok(NULL, path);
	assert_int_equal(mra(t, "YY_AEO", "YY", "2020-04-30"), 0);
	assert_int_equal(mra(t, "YY_AEO", "YY", "2020-05-01"), 1);
	assert_int_equal(mra(t, "YY_AEO", "YY", "2020-05-02"), 0);
	er_tables_free(t);
}

/* ---------------------------------------------------------------- MRA */

static void test_mra_shipped(void **state)
{
	(void)state;
	er_tables *t = load_ok(NULL, MRA_CSV);
	assert_int_equal(er_tables_nmra(t), 45);
	size_t eu = 0;
	for (size_t i = 0; i < er_tables_nmra(t); i++) {
		const er_mra *m = er_tables_mra(t, i);
		assert_true(m->signed_on != ER_DAY_NONE);
		assert_true(m->note[0] != '\0');
		if (strcmp(m->program, "EU_AEO") == 0) {
			eu++;
			assert_int_equal(m->signed_on, D("2012-05-04"));
			assert_string_equal(m->partner, "European Union");
		}
	}
	assert_int_equal(eu, 28);
	assert_null(er_tables_mra(t, 45));

	const er_mra *m = er_tables_mra(t, 0);
	assert_string_equal(m->program, "NZ_SES");
	assert_string_equal(m->country, "NZ");
	assert_string_equal(m->partner, "New Zealand");
	assert_int_equal(m->recognized_from, D("2007-06-01"));
	assert_int_equal(m->recognized_to, ER_DAY_MAX);
	assert_non_null(strstr(m->note, "month only"));
	for (size_t i = 0; i < er_tables_nmra(t); i++) {
		m = er_tables_mra(t, i);
		if (!strcmp(m->program, "KR_AEO")) {
			assert_int_equal(m->signed_on, D("2010-06-25"));
			assert_int_equal(m->recognized_from, D("2010-06-25"));
		} else if (!strcmp(m->program, "JO_GLP")) {
			assert_non_null(strstr(m->note, "2007-06"));
			assert_int_equal(m->recognized_from, D("2008-06-01"));
		} else if (!strcmp(m->program, "IN_AEO") || !strcmp(m->program, "GT_AEO") ||
		           !strcmp(m->program, "CO_AEO")) {
			assert_int_equal(m->recognized_from, ER_DAY_NONE);
			assert_non_null(strstr(m->note, "unconfirmed: not recognized"));
		} else if (!strcmp(m->program, "EU_AEO") && !strcmp(m->country, "DE")) {
			assert_string_equal(m->note, "signed 2012-05-04; US recognizes EU AEO from 2012-07 "
			                    "(month only); fully implemented 2013-01-31");
		} else if (!strcmp(m->program, "EU_AEO") && !strcmp(m->country, "GB")) {
			/* the last day recognized: the end of the Brexit transition */
			assert_int_equal(m->recognized_to, D("2020-12-31"));
		} else if (!strcmp(m->program, "TW_AEO")) {
			assert_string_equal(m->partner_program, "Taiwan Customs AEO (signed by AIT and TECRO)");
		}
	}
	/* day before / of / after recognized_from */
	assert_int_equal(mra(t, "NZ_SES", "NZ", "2007-05-31"), 0);
	assert_int_equal(mra(t, "NZ_SES", "NZ", "2007-06-01"), 1);
	assert_int_equal(mra(t, "NZ_SES", "NZ", "2007-06-02"), 1);
	assert_int_equal(mra(t, "KR_AEO", "KR", "2010-06-24"), 0);
	assert_int_equal(mra(t, "KR_AEO", "KR", "2010-06-25"), 1);
	assert_int_equal(mra(t, "IL_AEO", "IL", "2014-06-26"), 0);
	assert_int_equal(mra(t, "IL_AEO", "IL", "2014-06-27"), 1);
	assert_int_equal(mra(t, "DO_AEO", "DO", "2016-03-31"), 0);
	assert_int_equal(mra(t, "DO_AEO", "DO", "2016-04-01"), 1);
	assert_int_equal(mra(t, "PE_AEO", "PE", "2018-08-31"), 0);
	assert_int_equal(mra(t, "PE_AEO", "PE", "2018-09-01"), 1);
	assert_int_equal(mra(t, "MX_NEEC", "MX", "2014-10-17"), 1);
	assert_int_equal(mra(t, "CA_PIP", "CA", "2024-01-01"), 1);
	/* EU member rows */
	assert_int_equal(mra(t, "EU_AEO", "DE", "2012-06-30"), 0);
	assert_int_equal(mra(t, "EU_AEO", "DE", "2012-07-01"), 1);
	assert_int_equal(mra(t, "EU_AEO", "DE", "2012-07-02"), 1);
	assert_int_equal(mra(t, "EU_AEO", "FR", "2030-01-01"), 1);
	assert_int_equal(mra(t, "EU_AEO", "GR", "2015-01-01"), 1);
	assert_int_equal(mra(t, "EU_AEO", "EL", "2015-01-01"), 0);
	assert_int_equal(mra(t, "EU_AEO", "HR", "2013-06-30"), 0);
	assert_int_equal(mra(t, "EU_AEO", "HR", "2013-07-01"), 1);
	assert_int_equal(mra(t, "EU_AEO", "CH", "2015-01-01"), 0);
	assert_int_equal(mra(t, "EU_AEO", "NO", "2015-01-01"), 0);
	assert_int_equal(mra(t, "eu_aeo", "de", "2015-01-01"), 1);
	/* GB: EU_AEO until the end of the Brexit transition, UK_AEO from 2021-01-21 */
	assert_int_equal(mra(t, "EU_AEO", "GB", "2012-07-01"), 1);
	assert_int_equal(mra(t, "EU_AEO", "GB", "2020-12-31"), 1);
	assert_int_equal(mra(t, "EU_AEO", "GB", "2021-01-01"), 0);
	assert_int_equal(mra(t, "EU_AEO", "GB", "2021-01-02"), 0);
	assert_int_equal(mra(t, "UK_AEO", "GB", "2020-12-31"), 0);
	assert_int_equal(mra(t, "UK_AEO", "GB", "2021-01-20"), 0);
	assert_int_equal(mra(t, "UK_AEO", "GB", "2021-01-21"), 1);
	assert_int_equal(mra(t, "UK_AEO", "GB", "2021-01-22"), 1);
	assert_int_equal(mra(t, "UK_AEO", "DE", "2022-01-01"), 0);
	/* unconfirmed: never */
	assert_int_equal(mra(t, "IN_AEO", "IN", "2021-09-22"), 0);
	assert_int_equal(mra(t, "IN_AEO", "IN", "2099-01-01"), 0);
	assert_int_equal(mra(t, "GT_AEO", "GT", "2024-01-01"), 0);
	assert_int_equal(mra(t, "CO_AEO", "CO", "2024-01-01"), 0);
	/* no row / wrong country / junk */
	assert_int_equal(mra(t, "CN_AEO", "CN", "2024-01-01"), 0);
	assert_int_equal(mra(t, "CTPAT", "US", "2024-01-01"), 0);
	assert_int_equal(mra(t, "JP_AEO", "KR", "2024-01-01"), 0);
	assert_int_equal(mra(t, "", "JP", "2024-01-01"), 0);
	assert_int_equal(er_tables_mra_recognized(t, "JP_AEO", "J1", D("2024-01-01")), 0);
	assert_int_equal(er_tables_mra_recognized(NULL, "JP_AEO", "JP", D("2024-01-01")), 0);
	/* country is 2 bytes, not NUL-terminated */
	assert_int_equal(er_tables_mra_recognized(t, "JP_AEO", "JPN", D("2024-01-01")), 1);
	er_tables_free(t);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(er_cert_status_name(ER_ST_CERTIFIED), "certified");
	assert_string_equal(er_cert_status_name(ER_ST_VALIDATED), "validated");
	assert_string_equal(er_cert_status_name(ER_ST_SUSPENDED), "suspended");
	assert_string_equal(er_cert_status_name(ER_ST_REMOVED), "removed");
	assert_string_equal(er_cert_status_name(ER_ST_WITHDRAWN), "withdrawn");
	assert_string_equal(er_cert_status_name(ER_NSTATUS), "unknown");
	assert_string_equal(er_cert_status_name(-1), "unknown");
}

/* ------------------------------------------------------ scale + threads */

#define BIG_N 100000

static void test_big_table(void **state)
{
	(void)state;
	char path[300];
	snprintf(path, sizeof path, "%s/big.csv", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(PH, f);
	for (int i = 0; i < BIG_N; i++) {
		fprintf(f, "ID%07d,\"Company %d Trading Co., Ltd.\",%s,importer,CTPAT,certified,1,"
		        "2015-01-01,2017-01-01\n", i, i, (i % 3) ? "US" : "CN");
		fprintf(f, "ID%07d,\"Company %d Trading Co., Ltd.\",%s,importer,CTPAT,validated,2,"
		        "2017-01-01,\n", i, i, (i % 3) ? "US" : "CN");
	}
	assert_int_equal(fclose(f), 0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	er_tables *t = load_ok(path, MRA_CSV);
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("loaded %d parties (%d rows) in %.3f s\n", BIG_N, 2 * BIG_N,
	              (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	assert_int_equal(er_tables_nparties(t), BIG_N);
	for (int i = 0; i < BIG_N; i += 97) {
		char id[16], name[64];
		snprintf(id, sizeof id, "ID%07d", i);
		const er_party *p = by_id(t, id);
		assert_non_null(p);
		assert_int_equal(p->ncerts, 2);
		snprintf(name, sizeof name, "company %d trading company limited", i);
		assert_ptr_equal(by_name(t, name, (i % 3) ? "US" : "CN"), p);
		assert_ptr_equal(by_name(t, name, ""), p);
		assert_null(by_name(t, name, (i % 3) ? "CN" : "US"));
	}
	er_tables_free(t);
}

/* ---- name look-ups: the per-thread cache (er_tables_find_name_as) and the
 * look-up of a normalized name (er_tables_find_norm_as) against the plain
 * computation (er_tables_find_name_uncached) ---- */

/* A table whose names collide on purpose: the same name in two countries,
 * one name held by two ids (ambiguous), importer and exporter sharing a
 * name, names longer than the cache keeps, non-ASCII names. salt changes
 * every id, so two such tables answer with different parties. */
static void write_name_table(const char *path, int n, int salt)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(PH, f);
	for (int i = 0; i < n; i++) {
		const char *cc = i % 5 == 0 ? "CN" : "US", *role = i % 4 == 0 ? "exporter" : "importer";
		const char *tail = i % 7 == 0 ? " International Holdings and Logistics Group" : "";
		const char *uni = i % 11 == 0 ? " M\xc3\xbcller" : "";
		/* Name 3 is held by ids 3 and n/2 + 3; the other table numbers its
		 * names backwards, so a name is another party index there */
		int b = salt == 1 ? i : n - 1 - i;
		int nm = b % 3 == 0 ? b % (n / 2) : b;
		fprintf(f, "S%dX%06d,\"Name %d%s%s Co., Ltd.\",%s,%s,CTPAT,certified,1,2015-01-01,\n",
		        salt, i, nm, tail, uni, cc, role);
	}
	assert_int_equal(fclose(f), 0);
}

struct name_probe_ctx {
	const er_tables *t;
	int n, rounds, bad;
	uint64_t seed;
};

/* Look random names up (raw spellings that normalize alike, unknown ones,
 * every role set and country form) and compare the three answers. */
static void *name_probes(void *arg)
{
	struct name_probe_ctx *c = arg;
	static const char *const spell[][2] = {
		{ "Name ", " Co., Ltd." }, { "NAME ", " CO LTD" }, { "name ", "" },
		{ "Name ", " International Holdings and Logistics Group Co" },
		{ "Name ", " M\xc3\xbcller" }, { "Name ", " Mueller" }, { "Nome ", "" },
	};
	static const char *const ccs[] = { "", "US", "us", "CN", "DE", "U1", "USA" };
	uint64_t x = c->seed;
	char name[200], norm[ER_NAME_NORM_CAP(200)];
	for (int r = 0; r < c->rounds; r++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		int id = (int)((x >> 33) % (uint64_t)c->n);
		const char *const *sp = spell[(x >> 20) % (sizeof spell / sizeof spell[0])];
		const char *cc = ccs[(x >> 12) % (sizeof ccs / sizeof ccs[0])];
		unsigned roles = (unsigned)(x >> 40) % 32u;
		snprintf(name, sizeof name, "%s%d%s", sp[0], id, sp[1]);
		size_t nn = strlen(name), cn = strlen(cc);
		int k1 = -1, k2 = -1, k3 = -1;
		const er_party *a = er_tables_find_name_as(c->t, roles, name, nn, cc, cn, &k1);
		const er_party *b = er_tables_find_name_uncached(c->t, roles, name, nn, cc, cn, &k2);
		size_t nl = er_name_normalize(name, nn, norm, sizeof norm);
		const er_party *d = er_tables_find_norm_as(c->t, roles, norm, nl, cc, cn, &k3);
		if (a != b || k1 != k2 || d != b || k3 != k2) {
			c->bad++;
			print_message("'%s' cc '%s' roles %u: cached %p/%d, plain %p/%d, norm %p/%d\n", name, cc,
			              roles, (const void *)a, k1, (const void *)b, k2, (const void *)d, k3);
		}
	}
	return NULL;
}

static void test_name_cache_matches_uncached(void **state)
{
	(void)state;
	char pa[300], pb[300];
	snprintf(pa, sizeof pa, "%s/names_a.csv", tmpdir);
	snprintf(pb, sizeof pb, "%s/names_b.csv", tmpdir);
	/* more distinct spellings than the cache holds: entries are replaced */
	write_name_table(pa, 12000, 1);
	write_name_table(pb, 12000, 2);
	er_tables *ta = load_ok(pa, MRA_CSV), *tb = load_ok(pb, MRA_CSV);
	struct name_probe_ctx ca = { ta, 12000, 60000, 0, 7 }, cb = { tb, 12000, 20000, 0, 7 };
	/* the same look-ups against two tables in turn: a cached answer of one
	 * table is never given for the other */
	for (int turn = 0; turn < 3; turn++) {
		name_probes(&ca);
		name_probes(&cb);
		ca.seed += 11;
		cb.seed += 11;
	}
	assert_int_equal(ca.bad, 0);
	assert_int_equal(cb.bad, 0);
	/* the answers themselves: found, ambiguous, other country, other role */
	int k = -1;
	const er_party *p = er_tables_find_name_as(ta, ER_TR_IMPORTER, "NAME 1 CO LTD", 13, "US", 2, &k);
	assert_non_null(p);
	assert_int_equal(k, 1);
	assert_string_equal(p->id, "S1X000001");
	/* twice: the second answer is the cache's */
	assert_ptr_equal(er_tables_find_name_as(ta, ER_TR_IMPORTER, "NAME 1 CO LTD", 13, "US", 2, &k), p);
	assert_ptr_equal(er_tables_find_name_as(tb, ER_TR_IMPORTER, "NAME 1 CO LTD", 13, "US", 2, &k),
	                 er_tables_find_name_uncached(tb, ER_TR_IMPORTER, "NAME 1 CO LTD", 13, "US", 2,
	                                              NULL));
	assert_null(er_tables_find_name_as(ta, ER_TR_IMPORTER, "Name 3", 6, "", 0, &k));
	assert_int_equal(k, 2); /* ids 3 and 6003 are both "NAME 3" importers in the US */
	assert_null(er_tables_find_name_as(ta, ER_TR_EXPORTER, "Name 1", 6, "US", 2, &k));
	assert_int_equal(k, 0);
	/* two threads at once, each with its own cache */
	pthread_t t1, t2;
	struct name_probe_ctx c1 = { ta, 12000, 30000, 0, 99 }, c2 = { ta, 12000, 30000, 0, 98 };
	assert_int_equal(pthread_create(&t1, NULL, name_probes, &c1), 0);
	assert_int_equal(pthread_create(&t2, NULL, name_probes, &c2), 0);
	assert_int_equal(pthread_join(t1, NULL), 0);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(c1.bad + c2.bad, 0);
	er_tables_free(ta);
	/* a table loaded where a freed one was still gets its own answers */
	er_tables *tc = load_ok(pb, MRA_CSV);
	struct name_probe_ctx cc = { tc, 12000, 20000, 0, 7 };
	name_probes(&cc);
	assert_int_equal(cc.bad, 0);
	er_tables_free(tb);
	er_tables_free(tc);
	unlink(pa);
	unlink(pb);
}

/* Ids of every length from 1 to 60 bytes, and 254-256: short ones live in
 * the index slot, longer ones are compared through the party (the boundary
 * sits at 26 bytes; 255 is the slot's "long" marker). Each is found; near
 * misses (one byte changed, one byte shorter or longer, another case) are
 * not, and the two-step look-up agrees. */
static void test_id_lengths(void **state)
{
	(void)state;
	char path[300];
	snprintf(path, sizeof path, "%s/idlen.csv", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(PH, f);
	static const int lens[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	                            20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36,
	                            37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
	                            54, 55, 56, 57, 58, 59, 60, 254, 255, 256 };
	const int nlens = (int)(sizeof lens / sizeof lens[0]);
	char id[300];
	for (int li = 0; li < nlens; li++) {
		int len = lens[li];
		for (int k = 0; k < len; k++)
			id[k] = (char)('a' + (k * 7 + len) % 26);
		id[len] = '\0';
		fprintf(f, "%s,Party %d,US,importer,CTPAT,certified,1,2015-01-01,\n", id, len);
	}
	assert_int_equal(fclose(f), 0);
	er_tables *t = load_ok(path, MRA_CSV);
	assert_int_equal(er_tables_nparties(t), (size_t)nlens);
	for (int li = 0; li < nlens; li++) {
		int len = lens[li];
		for (int k = 0; k < len; k++)
			id[k] = (char)('a' + (k * 7 + len) % 26);
		id[len] = '\0';
		const er_party *p = er_tables_find_id(t, id, (size_t)len);
		assert_non_null(p);
		assert_string_equal(p->id, id);
		/* the two-step look-up the scorer uses gives the same party */
		er_id_probe probe = er_tables_id_start(t, id, (size_t)len);
		assert_ptr_equal(er_tables_id_finish(t, &probe), p);
		/* one byte shorter: not this party (at most the one of that length) */
		const er_party *q = er_tables_find_id(t, id, (size_t)len - 1);
		assert_true(q != p);
		if (q)
			assert_int_equal(strlen(q->id), (size_t)len - 1);
		/* last byte changed, upper-cased first byte, one byte longer */
		char tweak[300];
		memcpy(tweak, id, (size_t)len + 1);
		tweak[len - 1] = tweak[len - 1] == 'z' ? 'y' : 'z';
		assert_null(er_tables_find_id(t, tweak, (size_t)len));
		memcpy(tweak, id, (size_t)len + 1);
		tweak[0] = (char)(tweak[0] - 32);
		assert_null(er_tables_find_id(t, tweak, (size_t)len));
		memcpy(tweak, id, (size_t)len);
		tweak[len] = 'q';
		tweak[len + 1] = '\0';
		const er_party *r = er_tables_find_id(t, tweak, (size_t)len + 1);
		assert_true(r == NULL || strcmp(r->id, tweak) == 0);
	}
	er_tables_free(t);
}

struct thr {
	const er_tables *t;
	int bad;
};

static void *reader_thread(void *arg)
{
	struct thr *th = arg;
	const er_tables *t = th->t;
	for (int k = 0; k < 2000; k++) {
		const er_party *p = er_tables_find_id(t, "IMP001", 6);
		const er_cert *c = er_party_cert_on(p, er_days_from_civil(2017, 1, 1), 1);
		if (!c || c->status != ER_ST_VALIDATED)
			th->bad++;
		if (er_tables_find_name(t, "Acme Trading Co Ltd", 19, "US", 2) != p)
			th->bad++;
		if (er_tables_find_name(t, "Global Traders", 14, "US", 2) != NULL)
			th->bad++;
		if (!er_tables_mra_recognized(t, "EU_AEO", "DE", er_days_from_civil(2020, 1, 1)))
			th->bad++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	er_tables *t = load_ok(FIX_PLAIN, MRA_CSV);
	pthread_t tid[4];
	struct thr th[4];
	for (int i = 0; i < 4; i++) {
		th[i].t = t;
		th[i].bad = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, reader_thread, &th[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(th[i].bad, 0);
	}
	er_tables_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_pairs),
		cmocka_unit_test(test_normalize_edges),
		cmocka_unit_test(test_normalize_every_suffix),
		cmocka_unit_test(test_normalize_matches_reference),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_load_fixture),
		cmocka_unit_test(test_asof_history),
		cmocka_unit_test(test_name_lookup),
		cmocka_unit_test(test_gzip_same_as_plain),
		cmocka_unit_test(test_participants_errors),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_long_history),
		cmocka_unit_test(test_mra_errors),
		cmocka_unit_test(test_mra_shipped),
		cmocka_unit_test(test_big_table),
		cmocka_unit_test(test_id_lengths),
		cmocka_unit_test(test_name_cache_matches_uncached),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
