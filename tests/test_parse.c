/* test_parse.c - record -> fields (fast path and libcsv path), header ->
 * canonical columns, column maps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "er_parse.h"
#include "er_util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define OK ER_REJ_NONE

/* ------------------------------------------------------------- records */

typedef struct pcase {
	char delim;
	const char *rec;
	size_t len;       /* 0 = strlen(rec) */
	int quoted;
	size_t max_field;
	int reject;       /* expected reject, OK when fields are expected */
	const char *f[8]; /* expected fields, NULL-terminated */
} pcase;

static const pcase cases[] = {
	/* blanks around unquoted fields are trimmed, inside kept */
	{ ',', "  a  ,  b c  ", 0, 0, 100, OK, { "a", "b c" } },
	{ ',', "  a  ,  b c  ", 0, 1, 100, OK, { "a", "b c" } },
	{ ',', "\t\"a\" \t,b", 0, 1, 100, OK, { "a", "b" } },
	{ ',', "\" a \",\"\"", 0, 1, 100, OK, { " a ", "" } },
	{ ',', "\"a\"\"b\",\"\"\"\"", 0, 1, 100, OK, { "a\"b", "\"" } },
	{ ',', "\"x,y\",\"l1\r\nl2\",\"c\rr\"", 0, 1, 100, OK, { "x,y", "l1\r\nl2", "c\rr" } },
	{ ',', "a,b,", 0, 0, 100, OK, { "a", "b", "" } },
	{ ',', "a,b,", 0, 1, 100, OK, { "a", "b", "" } },
	{ ',', ",", 0, 0, 100, OK, { "", "" } },
	{ ',', "", 0, 0, 100, OK, { "" } },
	{ ',', "", 0, 1, 100, OK, { "" } },
	{ ',', "   ", 0, 1, 100, OK, { "" } },
	{ ';', "a;b,c; d ", 0, 0, 100, OK, { "a", "b,c", "d" } },
	{ '\t', "\t a \t", 0, 0, 100, OK, { "", "a", "" } },
	{ '\t', "\t a \t\"q\t\"", 0, 1, 100, OK, { "", "a", "q\t" } },
	{ ' ', "a  b", 0, 0, 100, OK, { "a", "", "b" } },
	/* strict quote errors */
	{ ',', "\"a\"x,b", 0, 1, 100, ER_REJ_BAD_QUOTE, { NULL } },
	{ ',', "ab\"c", 0, 1, 100, ER_REJ_BAD_QUOTE, { NULL } },
	{ ',', "\"a\" \"", 0, 1, 100, ER_REJ_BAD_QUOTE, { NULL } },
	{ ',', "a,\"b", 0, 1, 100, ER_REJ_UNTERMINATED_QUOTE, { NULL } },
	{ ',', "\"a\"\"", 0, 1, 100, ER_REJ_UNTERMINATED_QUOTE, { NULL } },
	/* NUL comes first, then UTF-8, then fields */
	{ ',', "a\0\xff", 3, 0, 100, ER_REJ_NUL_BYTE, { NULL } },
	{ ',', "\"a\0\"", 4, 1, 100, ER_REJ_NUL_BYTE, { NULL } },
	{ ',', "x,\xc3\x28", 0, 0, 100, ER_REJ_INVALID_UTF8, { NULL } },
	{ ',', "x,\xc0\xaf", 0, 0, 100, ER_REJ_INVALID_UTF8, { NULL } },
	{ ',', "\"\xed\xa0\x80\"", 0, 1, 100, ER_REJ_INVALID_UTF8, { NULL } },
	{ ',', "\"1234567\"", 0, 1, 4, ER_REJ_FIELD_TOO_LONG, { NULL } },
	{ ',', "x,\xe2\x82\xac\xf0\x9f\x9a\xa2", 0, 0, 100, OK, { "x", "\xe2\x82\xac\xf0\x9f\x9a\xa2" } },
	/* field size limit, after trimming / unquoting */
	{ ',', "abcd,  abcd  ", 0, 0, 4, OK, { "abcd", "abcd" } },
	{ ',', "abcde,x", 0, 0, 4, ER_REJ_FIELD_TOO_LONG, { NULL } },
	{ ',', "x,abcde", 0, 1, 4, ER_REJ_FIELD_TOO_LONG, { NULL } },
	{ ',', "\"ab\"\"c\",x", 0, 1, 4, OK, { "ab\"c", "x" } },
	{ ',', "\"ab\"\"cd\"", 0, 1, 4, ER_REJ_FIELD_TOO_LONG, { NULL } },
};

static void check_case(const pcase *c, er_parser *p)
{
	size_t len = c->len ? c->len : strlen(c->rec);
	const er_field *f = NULL;
	int rej = -1;
	int n = er_parser_record(p, c->rec, len, c->quoted, &f, &rej);
	if (c->reject != OK) {
		if (n != -1 || rej != c->reject)
			print_error("case '%s' quoted %d: n %d reject %d\n", c->rec, c->quoted, n, rej);
		assert_int_equal(n, -1);
		assert_int_equal(rej, c->reject);
		return;
	}
	int want = 0;
	while (c->f[want])
		want++;
	if (n != want)
		print_error("case '%s' quoted %d: %d fields (reject %d)\n", c->rec, c->quoted, n, rej);
	assert_int_equal(n, want);
	assert_int_equal(rej, OK);
	for (int i = 0; i < n; i++) {
		assert_int_equal(f[i].n, strlen(c->f[i]));
		assert_memory_equal(f[i].p, c->f[i], f[i].n);
	}
}

static void test_records(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		er_parser *p = er_parser_new(cases[i].delim, cases[i].max_field);
		assert_non_null(p);
		check_case(&cases[i], p);
		er_parser_free(p);
	}
	er_parser_free(NULL);
}

/* One parser through every case in a row: an error leaves no state behind
 * (libcsv is wedged after an error unless reset). */
static void test_reset_after_errors(void **state)
{
	(void)state;
	er_parser *p = er_parser_new(',', 4);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < N(cases); i++) {
			if (cases[i].delim != ',' || cases[i].max_field != 4)
				continue;
			check_case(&cases[i], p);
		}
		static const pcase after[] = {
			{ ',', "\"abc", 0, 1, 4, ER_REJ_UNTERMINATED_QUOTE, { NULL } },
			{ ',', "x,y", 0, 1, 4, OK, { "x", "y" } },
			{ ',', "a\"b", 0, 1, 4, ER_REJ_BAD_QUOTE, { NULL } },
			{ ',', "\"p\",\"q\"", 0, 1, 4, OK, { "p", "q" } },
			{ ',', "\"abcde\"", 0, 1, 4, ER_REJ_FIELD_TOO_LONG, { NULL } },
			{ ',', "\"r\"", 0, 1, 4, OK, { "r" } },
		};
		for (size_t i = 0; i < N(after); i++)
			check_case(&after[i], p);
	}
	er_parser_free(p);
}

/* Many long quoted fields: pointers stay right when storage moves. */
static void test_many_quoted_fields(void **state)
{
	(void)state;
	er_buf rec = { 0 };
	for (int i = 0; i < 3000; i++)
		er_buf_printf(&rec, "%s\"%04d%0200d\"", i ? "," : "", i, 0);
	er_parser *p = er_parser_new(',', 1000);
	const er_field *f;
	int rej;
	int n = er_parser_record(p, rec.p, rec.len, 1, &f, &rej);
	assert_int_equal(n, 3000);
	for (int i = 0; i < n; i++) {
		char want[16];
		snprintf(want, sizeof want, "%04d", i);
		assert_int_equal(f[i].n, 204);
		assert_memory_equal(f[i].p, want, 4);
	}
	er_parser_free(p);
	er_buf_free(&rec);
}

/* ------------------------------------------- fast path == libcsv path */

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

/*
 * Thousands of random quote-free records: random fields with blanks at the
 * edges and inside, empty fields, multi-byte UTF-8. Fast path, libcsv path
 * and the generator's own expectation (the untrimmed core) must agree.
 */
static void test_fast_equals_libcsv_random(void **state)
{
	(void)state;
	static const char delims[] = { ',', ';', '\t', ' ', '|' };
	static const char *const atoms[] = { "a", "Z", "0", " ", "\t", "\xc3\xa9", "\xe2\x82\xac", ".", "-" };
	char rec[600];
	size_t core_off[40], core_len[40];
	size_t compared = 0;
	for (int iter = 0; iter < 20000; iter++) {
		char delim = delims[iter % N(delims)];
		int nf = 1 + (int)(rnd() % 30);
		size_t len = 0;
		for (int i = 0; i < nf; i++) {
			if (i)
				rec[len++] = delim;
			/* blanks before: never the delimiter itself */
			for (int b = (int)(rnd() % 4); b > 0; b--) {
				char c = rnd() % 2 ? ' ' : '\t';
				if (c != delim)
					rec[len++] = c;
			}
			/* the core, without blanks at its edges (those are trimmed) */
			char core[64];
			size_t cn = 0;
			int atoms_n = rnd() % 4 == 0 ? 0 : (int)(rnd() % 8);
			for (int a = 0; a < atoms_n; a++) {
				const char *at = atoms[rnd() % N(atoms)];
				if (at[0] == delim)
					continue;
				memcpy(core + cn, at, strlen(at));
				cn += strlen(at);
			}
			size_t cs = 0;
			while (cs < cn && (core[cs] == ' ' || core[cs] == '\t'))
				cs++;
			while (cn > cs && (core[cn - 1] == ' ' || core[cn - 1] == '\t'))
				cn--;
			core_off[i] = len;
			memcpy(rec + len, core + cs, cn - cs);
			len += cn - cs;
			core_len[i] = len - core_off[i];
			for (int b = (int)(rnd() % 4); b > 0; b--) {
				char c = rnd() % 2 ? ' ' : '\t';
				if (c != delim)
					rec[len++] = c;
			}
		}
		size_t maxf = iter % 7 == 0 ? 6 : 1000;
		er_parser *fast = er_parser_new(delim, maxf);
		er_parser *slow = er_parser_new(delim, maxf);
		const er_field *f1, *f2;
		int j1 = -1, j2 = -1;
		int n1 = er_parser_record(fast, rec, len, 0, &f1, &j1);
		int n2 = er_parser_record(slow, rec, len, 1, &f2, &j2);
		assert_int_equal(n1, n2);
		assert_int_equal(j1, j2);
		int too_long = 0;
		for (int i = 0; i < nf; i++)
			too_long |= core_len[i] > maxf;
		if (too_long) {
			assert_int_equal(n1, -1);
			assert_int_equal(j1, ER_REJ_FIELD_TOO_LONG);
		} else {
			assert_int_equal(n1, nf);
			for (int i = 0; i < nf; i++) {
				assert_int_equal(f1[i].n, core_len[i]);
				assert_int_equal(f2[i].n, core_len[i]);
				assert_memory_equal(f1[i].p, rec + core_off[i], core_len[i]);
				assert_memory_equal(f2[i].p, rec + core_off[i], core_len[i]);
			}
		}
		compared++;
		er_parser_free(fast);
		er_parser_free(slow);
	}
	assert_int_equal(compared, 20000);
}

/* ------------------------------- quoted-record path == libcsv (oracle) */

/* Parse rec with the default parser and with libcsv forced; both must give
 * the same count, the same reject and the same field bytes. */
static void same_as_libcsv(er_parser *fast, er_parser *oracle, const char *rec, size_t len)
{
	const er_field *f1 = NULL, *f2 = NULL;
	int j1 = -7, j2 = -7;
	int n1 = er_parser_record(fast, rec, len, 1, &f1, &j1);
	int n2 = er_parser_record(oracle, rec, len, 1, &f2, &j2);
	if (n1 != n2 || j1 != j2)
		fail_msg("record '%.*s': %d fields reject %d, libcsv %d fields reject %d", (int)len, rec,
			 n1, j1, n2, j2);
	for (int i = 0; i < n1; i++) {
		if (f1[i].n != f2[i].n || memcmp(f1[i].p, f2[i].p, f1[i].n) != 0)
			fail_msg("record '%.*s' (%zu bytes) field %d: '%.*s' (%zu) vs libcsv '%.*s' (%zu)", (int)len, rec, len, i,
				 (int)f1[i].n, f1[i].p, f1[i].n, (int)f2[i].n, f2[i].p, f2[i].n);
	}
}

/*
 * The one-pass scan (delimiters, quotes, NUL and bytes >= 0x80 found 16
 * bytes at a time, UTF-8 checked only when a high byte was seen) against
 * libcsv with the byte-at-a-time NUL and UTF-8 checks: one odd byte or
 * sequence at every position of records of 1..40 bytes, so it falls in the
 * vector part, at a block edge and in the tail, cut short at the end
 * (invalid UTF-8) or whole. Quoted records go through the quoted path,
 * quote-free ones through the unquoted path; both must give libcsv's
 * fields or its reject.
 */
static void test_scan_equals_libcsv(void **state)
{
	(void)state;
	static const char *const odd[] = { "\0", "\x80", "\xc3", "\xc3\xa9", "\xe2\x82\xac", "\xff",
	                                   "\xf0\x9f\x93\xa6", "\xed\xa0\x80", ",", " ", "\t",
	                                   "\r", "\n", "\"", "\x01", "\x0c", "\x0d", "\x0e", "\x7f" };
	er_parser *fast = er_parser_new(',', 100);
	er_parser *oracle = er_parser_new(',', 100);
	er_parser_force_libcsv(oracle, 1);
	char rec[64];
	size_t compared = 0;
	for (int quoted = 0; quoted < 2; quoted++)
		for (size_t len = 1; len <= 40; len++)
			for (size_t pos = 0; pos < len; pos++)
				for (size_t o = 0; o < N(odd); o++) {
					size_t on = o == 0 ? 1 : strlen(odd[o]);
					int ctl = odd[o][0] == '\r' || odd[o][0] == '\n' || odd[o][0] == '"';
					if (!quoted && ctl)
						continue; /* libcsv reads those differently on purpose */
					for (size_t i = 0; i < len; i++)
						rec[i] = i % 6 == 5 ? ',' : (char)('a' + i % 26);
					if (quoted) { /* a quoted first field of the common shape */
						rec[0] = '"';
						if (len > 3)
							rec[3] = '"', rec[4 < len ? 4 : 3] = len > 4 ? ',' : '"';
					}
					memcpy(rec + pos, odd[o], pos + on <= len ? on : len - pos);
					if (quoted) {
						same_as_libcsv(fast, oracle, rec, len);
					} else {
						const er_field *f1 = NULL, *f2 = NULL;
						int j1 = -7, j2 = -7;
						int n1 = er_parser_record(fast, rec, len, 0, &f1, &j1);
						int n2 = er_parser_record(oracle, rec, len, 1, &f2, &j2);
						if (n1 != n2 || j1 != j2)
							fail_msg("unquoted '%.*s': %d fields reject %d, libcsv %d reject %d",
							         (int)len, rec, n1, j1, n2, j2);
						for (int i = 0; i < n1; i++)
							if (f1[i].n != f2[i].n || memcmp(f1[i].p, f2[i].p, f1[i].n) != 0)
								fail_msg("unquoted '%.*s' field %d differs from libcsv",
								         (int)len, rec, i);
					}
					compared++;
				}
	assert_true(compared > 20000);
	/* a NUL before invalid UTF-8 is reported as the NUL, in the vector part and the tail */
	const er_field *f;
	int rej = 0;
	assert_int_equal(er_parser_record(fast, "abcdefghijklmn\0\xff", 16, 0, &f, &rej), -1);
	assert_int_equal(rej, ER_REJ_NUL_BYTE);
	assert_int_equal(er_parser_record(fast, "\"ab\",\xff\0", 7, 1, &f, &rej), -1);
	assert_int_equal(rej, ER_REJ_NUL_BYTE);
	assert_int_equal(er_parser_record(fast, "abcdefghijklmnop,\xc3", 18, 0, &f, &rej), -1);
	assert_int_equal(rej, ER_REJ_INVALID_UTF8);
	er_parser_free(fast);
	er_parser_free(oracle);
}

/*
 * Delimiters of every density, 0 to 16 in each 16 bytes the scan reads at
 * once: the scan writes four positions per 16 bytes unconditionally and
 * loops only for a fifth and more, so 5..16 delimiters in one 16-byte step
 * (runs of empty fields: ",,,,,,") must come out as libcsv gives them, in
 * the vector part, across a step's edge and in the tail, unquoted and
 * through the quoted path.
 */
static void test_dense_delimiters(void **state)
{
	(void)state;
	er_parser *fast = er_parser_new(',', 100);
	er_parser *oracle = er_parser_new(',', 100);
	er_parser_force_libcsv(oracle, 1);
	char rec[96];
	size_t compared = 0;
	for (size_t len = 16; len <= 90; len++)
		for (unsigned k = 0; k <= 16; k++)
			for (unsigned shift = 0; shift < 16; shift++) {
				/* k delimiters in each 16 bytes, at rotating places */
				int want = 1;
				for (size_t i = 0; i < len; i++) {
					int d = (unsigned)((i + shift) % 16) < k;
					rec[i] = d ? ',' : (char)('a' + i % 26);
					want += d;
				}
				for (int quoted = 0; quoted < 2; quoted++) {
					const er_field *f1 = NULL, *f2 = NULL;
					int j1 = -7, j2 = -7;
					int n1 = er_parser_record(fast, rec, len, quoted, &f1, &j1);
					int n2 = er_parser_record(oracle, rec, len, 1, &f2, &j2);
					if (n1 != want || n2 != want)
						fail_msg("'%.*s' (%s): %d fields, libcsv %d, want %d", (int)len, rec,
						         quoted ? "quoted" : "unquoted", n1, n2, want);
					for (int i = 0; i < n1; i++)
						if (f1[i].n != f2[i].n || memcmp(f1[i].p, f2[i].p, f1[i].n) != 0)
							fail_msg("'%.*s' field %d differs from libcsv", (int)len, rec, i);
					compared++;
				}
			}
	assert_int_equal(compared, 75 * 17 * 16 * 2);
	er_parser_free(fast);
	er_parser_free(oracle);
}

/*
 * Generated records of the common quoted shape (which the libcsv-free path
 * must take) mixed with adversarial ones: blanks around quotes, stray,
 * doubled, tripled and unterminated quotes, text after a closing quote, CR/LF
 * inside quotes, blank delimiters, fields at the size limit after
 * unescaping. Every one must parse exactly as libcsv parses it.
 */
static void test_quoted_equals_libcsv(void **state)
{
	(void)state;
	static const char delims[] = { ',', ';', '\t', ' ', '|' };
	static const char *const inner[] = { "a", "Z", " ", "\t", ",", ";", "|", "\"\"", "\xc3\xa9",
	                                      "\r", "\n", "x y", "\"\"\"\"" };
	static const char *const odd[] = { "\"", " \"", "\" ", "a\"", "\"a", "\"\"\"", "\"a\"b",
	                                   "\"a\" ", " \"a\"", "\"a\"\"", "\"\"", "\t\"b\"", "b\"\"c" };
	char rec[1200];
	uint64_t quoted_records = 0;
	for (int iter = 0; iter < 40000; iter++) {
		char delim = delims[iter % N(delims)];
		size_t maxf = iter % 5 == 0 ? 1 + rnd() % 6 : 1000;
		er_parser *fast = er_parser_new(delim, maxf);
		er_parser *oracle = er_parser_new(delim, maxf);
		er_parser_force_libcsv(oracle, 1);
		int adversarial = iter % 3 == 0;
		int nf = 1 + (int)(rnd() % 20);
		size_t len = 0;
		for (int i = 0; i < nf && len < sizeof rec - 200; i++) {
			if (i)
				rec[len++] = delim;
			int kind = (int)(rnd() % (adversarial ? 4 : 3));
			if (kind == 0) { /* unquoted, maybe with blanks */
				int k = (int)(rnd() % 6);
				for (int a = 0; a < k; a++) {
					const char *at = rnd() % 3 ? "b" : (rnd() % 2 ? " " : "\t");
					if (at[0] != delim)
						rec[len++] = at[0];
				}
			} else if (kind <= 2) { /* quoted: anything inside, quotes doubled */
				rec[len++] = '"';
				int k = (int)(rnd() % 8);
				for (int a = 0; a < k; a++) {
					const char *at = inner[rnd() % N(inner)];
					memcpy(rec + len, at, strlen(at));
					len += strlen(at);
				}
				rec[len++] = '"';
			} else { /* something libcsv may take differently or reject */
				const char *at = odd[rnd() % N(odd)];
				memcpy(rec + len, at, strlen(at));
				len += strlen(at);
			}
		}
		uint64_t before = er_parser_quoted_fast(fast);
		same_as_libcsv(fast, oracle, rec, len);
		/* the common shape within the limits and without CR/LF must not fall back */
		if (!adversarial && maxf == 1000 && !memchr(rec, '\r', len) && !memchr(rec, '\n', len))
			assert_int_equal(er_parser_quoted_fast(fast), before + 1);
		quoted_records++;
		/* every prefix too: cuts inside quotes, after a delimiter, ... */
		if (iter % 10 == 0)
			for (size_t cut = 0; cut < len; cut++)
				same_as_libcsv(fast, oracle, rec, cut);
		er_parser_free(fast);
		er_parser_free(oracle);
	}
	assert_int_equal(quoted_records, 40000);
}

/*
 * Long records: the scan makes room for positions once per 4 KiB block and
 * reads a record's last partial 16 bytes as its last 16. Records of
 * 4,000-12,400 bytes, dense with delimiters (up to every byte) or quoted
 * fields, with an odd byte (NUL, a high byte, CR, LF, a quote) at block
 * edges and in the tail, unquoted and quoted, with field limits below and
 * above the record length: every one parses as libcsv parses it.
 */
static void test_long_records_equal_libcsv(void **state)
{
	(void)state;
	static const size_t lens[] = { 4000, 4079, 4080, 4095, 4096, 4097, 4111, 4112, 4113, 4127,
	                               4128, 4129, 4143, 8191, 8192, 8207, 8208, 8209, 12399 };
	static const char odd[] = { '\0', '\xff', '\r', '\n', '"', ' ' };
	static const size_t spacing[] = { 1, 2, 3, 7, 16, 17, 300, 100000 };
	size_t cap = 12400;
	char *rec = malloc(cap);
	assert_non_null(rec);
	size_t compared = 0;
	for (size_t li = 0; li < N(lens); li++)
		for (size_t si = 0; si < N(spacing); si++)
			for (int quoted = 0; quoted < 2; quoted++)
				for (size_t oi = 0; oi <= N(odd); oi++) {
					size_t len = lens[li], sp = spacing[si];
					for (size_t i = 0; i < len; i++)
						rec[i] = (i + 1) % sp == 0 ? ',' : (char)('a' + i % 26);
					if (quoted && len > 40) /* a quoted field holding a delimiter, one with "" */
						memcpy(rec + 10, "\"q,\"\"r\",\"s\",", 12);
					size_t at = 0;
					if (oi < N(odd)) {
						at = (rnd() % 4 == 0) ? len - 1 - rnd() % 16
						   : (size_t)(4096 * (1 + rnd() % 3)) - 8 + rnd() % 16;
						if (at >= len)
							at = len - 1 - rnd() % 16;
						if (!quoted && (odd[oi] == '\r' || odd[oi] == '\n' || odd[oi] == '"'))
							at = len; /* libcsv reads those differently on purpose */
						if (at < len)
							rec[at] = odd[oi];
					}
					size_t maxf = rnd() % 3 == 0 ? 5 : rnd() % 2 ? len - 1 : len + 1;
					er_parser *fast = er_parser_new(',', maxf);
					er_parser *oracle = er_parser_new(',', maxf);
					er_parser_force_libcsv(oracle, 1);
					if (quoted) {
						same_as_libcsv(fast, oracle, rec, len);
					} else {
						const er_field *f1 = NULL, *f2 = NULL;
						int j1 = -7, j2 = -7;
						int n1 = er_parser_record(fast, rec, len, 0, &f1, &j1);
						int n2 = er_parser_record(oracle, rec, len, 1, &f2, &j2);
						if (n1 != n2 || j1 != j2)
							fail_msg("unquoted %zu bytes, spacing %zu, odd at %zu: %d fields "
							         "reject %d, libcsv %d reject %d",
							         len, sp, at, n1, j1, n2, j2);
						for (int i = 0; i < n1; i++)
							if (f1[i].n != f2[i].n || memcmp(f1[i].p, f2[i].p, f1[i].n) != 0)
								fail_msg("unquoted %zu bytes field %d differs", len, i);
					}
					/* the same parser again: nothing of the long record carries over */
					same_as_libcsv(fast, oracle, "\"a\",b", 5);
					compared++;
					er_parser_free(fast);
					er_parser_free(oracle);
				}
	assert_int_equal(compared, N(lens) * N(spacing) * 2 * (N(odd) + 1));
	free(rec);
}

/* A record of the common shape, the libcsv-free path, then records that
 * fall back, then the common shape again: nothing carries over. */
static void test_quoted_then_fallback(void **state)
{
	(void)state;
	er_parser *p = er_parser_new(',', 8);
	er_parser *o = er_parser_new(',', 8);
	er_parser_force_libcsv(o, 1);
	static const char *const recs[] = {
		"\"a,b\",c,\"d\"\"e\"", "\"abc", "\"a\" ,b", "\"12345678\"\"\"", "\"x\"\"\",\"\"",
		" \"s\" ", "\"a,b\",c,\"d\"\"e\"", "q\"", "\"\"\"\"\"\"", "\"ok\"",
	};
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < N(recs); i++)
			same_as_libcsv(p, o, recs[i], strlen(recs[i]));
	const er_field *f;
	int rej;
	assert_int_equal(er_parser_record(p, "\"a\"\"b\",\"\",c", 11, 1, &f, &rej), 3);
	assert_int_equal(f[0].n, 3);
	assert_memory_equal(f[0].p, "a\"b", 3);
	assert_int_equal(f[1].n, 0);
	assert_int_equal(f[2].n, 1);
	assert_true(er_parser_quoted_fast(p) > 0);
	assert_int_equal(er_parser_quoted_fast(o), 0);
	er_parser_free(p);
	er_parser_free(o);
}

/* --------------------------------------------------- canonical columns */

static void test_col_names(void **state)
{
	(void)state;
	static const char *const want[ER_NCOLS] = {
		"shipment_id", "arrival_date", "master_bill", "container_id", "load_type",
		"mode", "lading_port", "unlading_port", "origin_country", "shipper_country",
		"importer_id", "importer_name", "shipper_id", "shipper_name", "manufacturer_id",
		"consignee_name", "carrier_scac", "forwarder_id", "hs_code", "description",
		"declared_value_usd", "gross_weight_kg", "quantity", "filed_at", "departure_at",
		"notify_party_name",
	};
	for (int i = 0; i < ER_NCOLS; i++) {
		assert_string_equal(er_col_name(i), want[i]);
		assert_int_equal(er_col_lookup(want[i], strlen(want[i])), i);
	}
	assert_int_equal(er_col_lookup("SHIPMENT_ID", 11), ER_COL_SHIPMENT_ID);
	assert_int_equal(er_col_lookup("Hs_Code", 7), ER_COL_HS_CODE);
	assert_int_equal(er_col_lookup("hs_cod", 6), -1);
	assert_int_equal(er_col_lookup("hs_codes", 8), -1);
	assert_int_equal(er_col_lookup("", 0), -1);
	assert_null(er_col_name(-1));
	assert_null(er_col_name(ER_NCOLS));
}

/* ------------------------------------------------------------- header */

/* Split a header line on commas into fields (no trimming: build trims). */
typedef struct hdr {
	char buf[1024];
	er_field f[80];
	int n;
} hdr;

static void mkhdr(hdr *h, const char *line)
{
	snprintf(h->buf, sizeof h->buf, "%s", line);
	h->n = 0;
	char *s = h->buf;
	for (;;) {
		char *c = strchr(s, ',');
		h->f[h->n].p = s;
		h->f[h->n].n = c ? (size_t)(c - s) : strlen(s);
		h->n++;
		if (!c)
			break;
		s = c + 1;
	}
}

static void test_header_basic(void **state)
{
	(void)state;
	hdr h;
	er_header eh;
	char err[256] = "";
	mkhdr(&h, "Extra, HS_Code ,arrival_date,SHIPMENT_ID,notes");
	assert_int_equal(er_header_build(h.f, h.n, NULL, NULL, &eh, err, sizeof err), 0);
	assert_int_equal(eh.nfields, 5);
	assert_int_equal(eh.col_of[ER_COL_SHIPMENT_ID], 3);
	assert_int_equal(eh.col_of[ER_COL_ARRIVAL_DATE], 2);
	assert_int_equal(eh.col_of[ER_COL_HS_CODE], 1);
	assert_int_equal(eh.nkeep, 0);
	for (int c = 0; c < ER_NCOLS; c++)
		if (c != ER_COL_SHIPMENT_ID && c != ER_COL_ARRIVAL_DATE && c != ER_COL_HS_CODE)
			assert_int_equal(eh.col_of[c], -1);

	/* every canonical column, reversed order */
	er_buf line = { 0 };
	for (int c = ER_NCOLS - 1; c >= 0; c--)
		er_buf_printf(&line, "%s%s", er_col_name(c), c ? "," : "");
	er_buf_putc(&line, '\0');
	mkhdr(&h, line.p);
	er_buf_free(&line);
	assert_int_equal(er_header_build(h.f, h.n, NULL, NULL, &eh, err, sizeof err), 0);
	for (int c = 0; c < ER_NCOLS; c++)
		assert_int_equal(eh.col_of[c], ER_NCOLS - 1 - c);
}

static void test_header_errors(void **state)
{
	(void)state;
	hdr h;
	er_header eh;
	char err[256];

	mkhdr(&h, "shipment_id,arrivaldate,hs_code");
	assert_int_equal(er_header_build(h.f, h.n, NULL, NULL, &eh, err, sizeof err), -1);
	assert_string_equal(err, "missing required column 'arrival_date'");

	mkhdr(&h, "arrival_date");
	assert_int_equal(er_header_build(h.f, h.n, NULL, NULL, &eh, err, sizeof err), -1);
	assert_string_equal(err, "missing required column 'shipment_id'");

	mkhdr(&h, "shipment_id,arrival_date,Shipment_ID ");
	assert_int_equal(er_header_build(h.f, h.n, NULL, NULL, &eh, err, sizeof err), -1);
	assert_string_equal(err, "duplicate column 'shipment_id' (columns 1 and 3)");

	/* a duplicate optional column is an error too */
	mkhdr(&h, "shipment_id,arrival_date,mode,MODE");
	assert_int_equal(er_header_build(h.f, h.n, NULL, NULL, &eh, err, sizeof err), -1);
	assert_string_equal(err, "duplicate column 'mode' (columns 3 and 4)");

	/* but duplicate extra columns are not */
	mkhdr(&h, "x,shipment_id,x,arrival_date");
	assert_int_equal(er_header_build(h.f, h.n, NULL, NULL, &eh, err, sizeof err), 0);
}

static void test_header_maps(void **state)
{
	(void)state;
	hdr h;
	er_header eh;
	char err[256];
	er_colmap m = { { NULL } };

	assert_int_equal(er_colmap_add(&m, "shipment_id=HBL No", err, sizeof err), 0);
	assert_int_equal(er_colmap_add(&m, " Arrival_Date = ETA ", err, sizeof err), 0);
	/* the mapped name replaces the canonical one */
	mkhdr(&h, "shipment_id,hbl no, eta ,arrival_date");
	assert_int_equal(er_header_build(h.f, h.n, &m, NULL, &eh, err, sizeof err), 0);
	assert_int_equal(eh.col_of[ER_COL_SHIPMENT_ID], 1);
	assert_int_equal(eh.col_of[ER_COL_ARRIVAL_DATE], 2);

	mkhdr(&h, "HBL NO,arrival_date");
	assert_int_equal(er_header_build(h.f, h.n, &m, NULL, &eh, err, sizeof err), -1);
	assert_string_equal(err, "missing required column 'arrival_date' (mapped to header 'ETA')");

	/* errors */
	assert_int_equal(er_colmap_add(&m, "shipment_idx=foo", err, sizeof err), -1);
	assert_string_equal(err, "unknown column 'shipment_idx' in map 'shipment_idx=foo'");
	assert_int_equal(er_colmap_add(&m, "hs_code", err, sizeof err), -1);
	assert_string_equal(err, "bad column map 'hs_code': expected canonical=header");
	assert_int_equal(er_colmap_add(&m, "hs_code=  ", err, sizeof err), -1);
	assert_string_equal(err, "empty header name in map 'hs_code=  '");
	assert_int_equal(er_colmap_add(&m, "shipment_id=Other", err, sizeof err), -1);
	assert_string_equal(err, "column 'shipment_id' mapped twice");

	/* two canonical columns may read the same input column */
	assert_int_equal(er_colmap_add(&m, "importer_name=Party", err, sizeof err), 0);
	assert_int_equal(er_colmap_add(&m, "consignee_name=party", err, sizeof err), 0);
	mkhdr(&h, "hbl no,eta,PARTY");
	assert_int_equal(er_header_build(h.f, h.n, &m, NULL, &eh, err, sizeof err), 0);
	assert_int_equal(eh.col_of[ER_COL_IMPORTER_NAME], 2);
	assert_int_equal(eh.col_of[ER_COL_CONSIGNEE_NAME], 2);

	er_colmap_free(&m);
	for (int c = 0; c < ER_NCOLS; c++)
		assert_null(m.canon[c]);
	er_colmap_free(&m);
	er_colmap_free(NULL);
}

static void test_header_keep(void **state)
{
	(void)state;
	hdr h;
	er_header eh;
	char err[256];
	mkhdr(&h, "shipment_id,Notes,arrival_date,Ref No");
	assert_int_equal(er_header_build(h.f, h.n, NULL, " ref no ,notes", &eh, err, sizeof err), 0);
	assert_int_equal(eh.nkeep, 2);
	assert_int_equal(eh.keep_idx[0], 3);
	assert_int_equal(eh.keep_idx[1], 1);
	/* a canonical column may be kept too */
	assert_int_equal(er_header_build(h.f, h.n, NULL, "shipment_id", &eh, err, sizeof err), 0);
	assert_int_equal(eh.nkeep, 1);
	assert_int_equal(eh.keep_idx[0], 0);
	assert_int_equal(er_header_build(h.f, h.n, NULL, "", &eh, err, sizeof err), 0);
	assert_int_equal(eh.nkeep, 0);

	assert_int_equal(er_header_build(h.f, h.n, NULL, "notes,nope", &eh, err, sizeof err), -1);
	assert_string_equal(err, "--keep column 'nope' not in header");
	assert_int_equal(er_header_build(h.f, h.n, NULL, "notes,,ref no", &eh, err, sizeof err), -1);
	assert_string_equal(err, "empty column name in --keep 'notes,,ref no'");

	mkhdr(&h, "shipment_id,c,arrival_date,C");
	assert_int_equal(er_header_build(h.f, h.n, NULL, "c", &eh, err, sizeof err), -1);
	assert_string_equal(err, "duplicate column 'c' (columns 2 and 4)");

	/* at most ER_MAX_KEEP */
	er_buf keep = { 0 };
	for (int i = 0; i <= ER_MAX_KEEP; i++)
		er_buf_printf(&keep, "%sshipment_id", i ? "," : "");
	er_buf_putc(&keep, '\0');
	assert_int_equal(er_header_build(h.f, h.n, NULL, keep.p, &eh, err, sizeof err), -1);
	assert_string_equal(err, "too many --keep columns (at most 64)");
	keep.p[keep.len - 1 - strlen(",shipment_id")] = '\0';
	assert_int_equal(er_header_build(h.f, h.n, NULL, keep.p, &eh, err, sizeof err), 0);
	assert_int_equal(eh.nkeep, ER_MAX_KEEP);
	er_buf_free(&keep);
}

/* ---------------------------------------------------------- map files */

static const char *write_file(char *path, size_t size, const char *dir, const char *name,
                              const char *text)
{
	snprintf(path, size, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_colmap_load(void **state)
{
	(void)state;
	char tmpdir[64], path[160];
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_parse.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	char err[512];
	char want[512];
	er_colmap m = { { NULL } };

	const char *p = write_file(path, sizeof path, tmpdir, "ok.map",
	                           "\xEF\xBB\xBF# exports from system X\r\n"
	                           "\r\n"
	                           "shipment_id = House Bill\r\n"
	                           "  # indented comment\n"
	                           "\t\n"
	                           "ARRIVAL_DATE=Arrival\n"
	                           "hs_code=HTS=10"); /* no final newline; '=' in the header */
	assert_int_equal(er_colmap_load(&m, p, err, sizeof err), 0);
	assert_string_equal(m.canon[ER_COL_SHIPMENT_ID], "House Bill");
	assert_string_equal(m.canon[ER_COL_ARRIVAL_DATE], "Arrival");
	assert_string_equal(m.canon[ER_COL_HS_CODE], "HTS=10");
	hdr h;
	er_header eh;
	mkhdr(&h, "arrival,HTS=10,house bill");
	assert_int_equal(er_header_build(h.f, h.n, &m, NULL, &eh, err, sizeof err), 0);
	assert_int_equal(eh.col_of[ER_COL_SHIPMENT_ID], 2);
	assert_int_equal(eh.col_of[ER_COL_HS_CODE], 1);
	/* --map on top of the file */
	assert_int_equal(er_colmap_add(&m, "mode=Transport", err, sizeof err), 0);
	er_colmap_free(&m);
	unlink(p);

	p = write_file(path, sizeof path, tmpdir, "bad.map", "# header\nshipment_id=A\n\nfoo=B\n");
	assert_int_equal(er_colmap_load(&m, p, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:4: unknown column 'foo' in map 'foo=B'", p);
	assert_string_equal(err, want);
	er_colmap_free(&m);
	unlink(p);

	p = write_file(path, sizeof path, tmpdir, "bad2.map", "shipment_id\n");
	assert_int_equal(er_colmap_load(&m, p, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:1: bad column map 'shipment_id': expected canonical=header", p);
	assert_string_equal(err, want);
	er_colmap_free(&m);
	unlink(p);

	p = write_file(path, sizeof path, tmpdir, "dup.map", "mode=A\nmode=B\n");
	assert_int_equal(er_colmap_load(&m, p, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: column 'mode' mapped twice", p);
	assert_string_equal(err, want);
	er_colmap_free(&m);
	unlink(p);

	p = write_file(path, sizeof path, tmpdir, "missing.map", "");
	unlink(p);
	assert_int_equal(er_colmap_load(&m, p, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: No such file or directory", p);
	assert_string_equal(err, want);
	assert_int_equal(rmdir(tmpdir), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* run one test by name */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_reset_after_errors),
		cmocka_unit_test(test_many_quoted_fields),
		cmocka_unit_test(test_fast_equals_libcsv_random),
		cmocka_unit_test(test_quoted_equals_libcsv),
		cmocka_unit_test(test_quoted_then_fallback),
		cmocka_unit_test(test_scan_equals_libcsv),
		cmocka_unit_test(test_dense_delimiters),
		cmocka_unit_test(test_long_records_equal_libcsv),
		cmocka_unit_test(test_col_names),
		cmocka_unit_test(test_header_basic),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_header_maps),
		cmocka_unit_test(test_header_keep),
		cmocka_unit_test(test_colmap_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
