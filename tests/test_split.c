/* test_split.c - the splitter (and the parser behind it) on tricky CSV.
 *
 * Every corpus is fed through a read function returning at most k bytes per
 * call, for every k from 1 to the corpus size and several chunk sizes; the
 * records, rejects and fields must equal the expected data written out below,
 * and the run boundaries must not depend on k. A fuzz test checks the scanner
 * against libcsv 3.0.3 (strict) itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_parse.h"
#include "er_split.h"
#include "er_util.h"

/* ------------------------------------------------------------ helpers */

typedef struct feeder {
	const char *d;
	size_t n, pos, k;
	size_t fail_at; /* return -1 once pos reaches this (SIZE_MAX = never) */
} feeder;

static ssize_t feed_read(void *ctx, char *buf, size_t cap)
{
	feeder *f = ctx;
	if (f->pos >= f->fail_at)
		return -1;
	size_t m = f->n - f->pos;
	if (m > f->k)
		m = f->k;
	if (m > cap)
		m = cap;
	if (f->fail_at - f->pos < m)
		m = f->fail_at - f->pos;
	memcpy(buf, f->d + f->pos, m);
	f->pos += m;
	return (ssize_t)m;
}

static const char *rej_code(int r)
{
	static const char *const names[ER_NREJECTS] = {
		"ok", "field_count", "missing_required", "invalid_date", "invalid_number",
		"invalid_value", "invalid_utf8", "nul_byte", "field_too_long", "record_too_long",
		"bad_quote", "unterminated_quote",
	};
	return r >= 0 && r < ER_NREJECTS ? names[r] : "?";
}

static void put_esc(er_buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n')
			er_buf_puts(b, "\\n");
		else if (c == '\r')
			er_buf_puts(b, "\\r");
		else if (c == '\t')
			er_buf_puts(b, "\\t");
		else if (c == '\\' || c == '[' || c == ']')
			er_buf_printf(b, "\\%c", c);
		else if (c < 32 || c > 126)
			er_buf_printf(b, "\\x%02x", c);
		else
			er_buf_putc(b, (char)c);
	}
}

/* Physical line breaks in p[0, n): CR, LF, CRLF = one each. */
static unsigned breaks(const char *p, size_t n)
{
	unsigned k = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\r' || (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')))
			k++;
	return k;
}

/* Physical lines of a stream (after a BOM), counted independently. */
static unsigned count_lines(const char *d, size_t n)
{
	size_t i = n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	if (i == n)
		return 0;
	unsigned k = breaks(d + i, n - i);
	return k + (d[n - 1] != '\r' && d[n - 1] != '\n');
}

/* ------------------------------------------------------------ corpora */

#define OK ER_REJ_NONE

typedef struct exp_rec {
	unsigned line, last;  /* first and last physical line the entry covers */
	int reject;           /* splitter or parser reject, OK for a good record */
	const char *raw;      /* splitter rejects: the raw bytes kept */
	int trunc;            /* ER_REC_TRUNCATED expected */
	const char *f[8];     /* fields of a good record, NULL-terminated */
} exp_rec;

typedef struct corpus {
	const char *name;
	const char *data;
	size_t len;
	char delim;
	size_t max_record, max_raw, max_field;
	const exp_rec *exp;
	size_t nexp;
	const unsigned *blank; /* blank lines (no record) */
	size_t nblank;
} corpus;

/* Quoted delimiters, doubled quotes, quoted CR/LF/CRLF, BOM, blank and
 * whitespace-only lines, CR/LF/CRLF line ends, blanks around fields, empty
 * fields, trailing delimiter, stray quotes, a last record without terminator. */
static const char A_data[] =
	"\xEF\xBB\xBF" "id,name,note\r\n"       /* 1 */
	"1,\"a,b\",x\n"                         /* 2 */
	"2,\"say \"\"hi\"\"\",y\r\n"            /* 3 */
	"\n"                                    /* 4 blank */
	"  \t \r\n"                             /* 5 blank */
	"3,\"multi\nline\",z\r"                 /* 6-7, bare CR */
	"4,\"cr\rin\",\"crlf\r\nend\"\n"        /* 8-10 */
	"  5 ,  six  ,\t\"q\" \t,  \n"          /* 11 */
	"6,,\r\n"                               /* 12 */
	"\r"                                    /* 13 blank */
	"7,a\"b,c\n"                            /* 14 quote inside unquoted field */
	"8,\"x\"y,z\r\n"                        /* 15 text after closing quote */
	",\n"                                   /* 16 */
	"\"\"\n"                                /* 17 */
	"9,\"a\"  \"b\"\n"                      /* 18 quote after closing quote + blanks */
	"  \"lead\" ,\"\"\"\"\n"                /* 19 */
	"11,\"x\n\n  \r\n\"\"y\"\n"             /* 20-23: blank lines inside quotes */
	"10,\"a\"\"\",end";                     /* 24, no terminator */

static const exp_rec A_exp[] = {
	{ 1, 1, OK, NULL, 0, { "id", "name", "note" } },
	{ 2, 2, OK, NULL, 0, { "1", "a,b", "x" } },
	{ 3, 3, OK, NULL, 0, { "2", "say \"hi\"", "y" } },
	{ 6, 7, OK, NULL, 0, { "3", "multi\nline", "z" } },
	{ 8, 10, OK, NULL, 0, { "4", "cr\rin", "crlf\r\nend" } },
	{ 11, 11, OK, NULL, 0, { "5", "six", "q", "" } },
	{ 12, 12, OK, NULL, 0, { "6", "", "" } },
	{ 14, 14, ER_REJ_BAD_QUOTE, "7,a\"b,c", 0, { NULL } },
	{ 15, 15, ER_REJ_BAD_QUOTE, "8,\"x\"y,z", 0, { NULL } },
	{ 16, 16, OK, NULL, 0, { "", "" } },
	{ 17, 17, OK, NULL, 0, { "" } },
	{ 18, 18, ER_REJ_BAD_QUOTE, "9,\"a\"  \"b\"", 0, { NULL } },
	{ 19, 19, OK, NULL, 0, { "lead", "\"" } },
	{ 20, 23, OK, NULL, 0, { "11", "x\n\n  \r\n\"y" } },
	{ 24, 24, OK, NULL, 0, { "10", "a\"", "end" } },
};
static const unsigned A_blank[] = { 4, 5, 13 };

/* The resynchronisation example: stray quote, then EOF inside quotes. */
static const char B_data[] = "1,\"abc\n2,\"x\n3,y\n";
static const exp_rec B_exp[] = {
	{ 1, 1, ER_REJ_BAD_QUOTE, "1,\"abc", 0, { NULL } },
	{ 2, 2, ER_REJ_UNTERMINATED_QUOTE, "2,\"x", 0, { NULL } },
	{ 3, 3, OK, NULL, 0, { "3", "y" } },
};

/* Unterminated quote near the end; the last record has no terminator. */
static const char B2_data[] = "a,b\n\"open\nc,d";
static const exp_rec B2_exp[] = {
	{ 1, 1, OK, NULL, 0, { "a", "b" } },
	{ 2, 2, ER_REJ_UNTERMINATED_QUOTE, "\"open", 0, { NULL } },
	{ 3, 3, OK, NULL, 0, { "c", "d" } },
};

/* Limits: max_record 24, max_raw 10, max_field 8; NUL, bad UTF-8. */
static const char C_data[] =
	"ok,1\n"                                  /* 1 */
	"nul,a\0b\n"                              /* 2 */
	"utf8,\xC3\xA9,\xff\n"                    /* 3 */
	"utf8ok,\xC3\xA9\n"                       /* 4 */
	"field,123456789\n"                       /* 5 field of 9 > 8 */
	"quoted,\"123456789\"\n"                  /* 6 same, libcsv path */
	"long-unquoted,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" /* 7 */
	"ok,2\n"                                  /* 8 */
	"q,\"long quoted field\n"                 /* 9 limit hit inside quotes */
	"more text\",y\n"                         /* 10 rescanned: stray quote */
	"ok,3\n"                                  /* 11 */
	"m,\"a\nb\",cccccccccccccccccccccccc\n"   /* 12-13 limit hit outside quotes */
	"  \t                               \n"   /* 14 blank, longer than max_record */
	"                              z,1\n"     /* 15 30 blanks before the record */
	"abcdefgh,abcdefgh,abcdef\n"              /* 16 exactly 24 bytes */
	"abcdefgh,abcdefgh,abcdefg\r\n"           /* 17 25 bytes */
	"\"aaaaaaaaaaaaaaaaaaaaaaa\"\n"           /* 18 limit right after the closing quote */
	"\"a\nbbbbbbbbbbbbbbbbbbbbb\"x\n"          /* 19-20 same, rescan line 20 */
	"\"a\nbbbbbbbbbbbbbbbbbbb\"  ,cc\n"        /* 21-22 limit in blanks after the quote */
	"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";       /* 23 */

static const exp_rec C_exp[] = {
	{ 1, 1, OK, NULL, 0, { "ok", "1" } },
	{ 2, 2, ER_REJ_NUL_BYTE, NULL, 0, { NULL } },
	{ 3, 3, ER_REJ_INVALID_UTF8, NULL, 0, { NULL } },
	{ 4, 4, OK, NULL, 0, { "utf8ok", "\xC3\xA9" } },
	{ 5, 5, ER_REJ_FIELD_TOO_LONG, NULL, 0, { NULL } },
	{ 6, 6, ER_REJ_FIELD_TOO_LONG, NULL, 0, { NULL } },
	{ 7, 7, ER_REJ_RECORD_TOO_LONG, "long-unquo", 1, { NULL } },
	{ 8, 8, OK, NULL, 0, { "ok", "2" } },
	{ 9, 9, ER_REJ_RECORD_TOO_LONG, "q,\"long qu", 1, { NULL } },
	{ 10, 10, ER_REJ_BAD_QUOTE, "more text\"", 1, { NULL } },
	{ 11, 11, OK, NULL, 0, { "ok", "3" } },
	{ 12, 13, ER_REJ_RECORD_TOO_LONG, "m,\"a", 0, { NULL } },
	{ 15, 15, OK, NULL, 0, { "z", "1" } },
	{ 16, 16, OK, NULL, 0, { "abcdefgh", "abcdefgh", "abcdef" } },
	{ 17, 17, ER_REJ_RECORD_TOO_LONG, "abcdefgh,a", 1, { NULL } },
	{ 18, 18, ER_REJ_RECORD_TOO_LONG, "\"aaaaaaaaa", 1, { NULL } },
	{ 19, 19, ER_REJ_RECORD_TOO_LONG, "\"a", 0, { NULL } },
	{ 20, 20, ER_REJ_BAD_QUOTE, "bbbbbbbbbb", 1, { NULL } },
	{ 21, 22, ER_REJ_RECORD_TOO_LONG, "\"a", 0, { NULL } },
	{ 23, 23, ER_REJ_RECORD_TOO_LONG, "\"aaaaaaaaa", 1, { NULL } },
};
static const unsigned C_blank[] = { 14 };

/* Tab delimiter, bare CR line ends: a tab is then no blank. */
static const char D_data[] = "a\t b \t\"c\td\"\r\r \t \rx\t\"y\"\t";
static const exp_rec D_exp[] = {
	{ 1, 1, OK, NULL, 0, { "a", "b", "c\td" } },
	{ 3, 3, OK, NULL, 0, { "", "" } },
	{ 4, 4, OK, NULL, 0, { "x", "y", "" } },
};
static const unsigned D_blank[] = { 2 };

#define BIG ((size_t)1 << 20)
#define N(a) (sizeof(a) / sizeof((a)[0]))
static const corpus corpora[] = {
	{ "A", A_data, sizeof A_data - 1, ',', BIG, BIG, BIG, A_exp, N(A_exp), A_blank, N(A_blank) },
	{ "B", B_data, sizeof B_data - 1, ',', BIG, BIG, BIG, B_exp, N(B_exp), NULL, 0 },
	{ "B2", B2_data, sizeof B2_data - 1, ',', BIG, BIG, BIG, B2_exp, N(B2_exp), NULL, 0 },
	{ "C", C_data, sizeof C_data - 1, ',', 24, 10, 8, C_exp, N(C_exp), C_blank, N(C_blank) },
	{ "D", D_data, sizeof D_data - 1, '\t', BIG, BIG, BIG, D_exp, N(D_exp), D_blank, N(D_blank) },
};

/* ----------------------------------------------------- running a corpus */

static void describe_exp(er_buf *b, const exp_rec *e)
{
	er_buf_printf(b, "L%u %s", e->line, rej_code(e->reject));
	if (e->raw) {
		er_buf_puts(b, e->trunc ? " T raw=" : " raw=");
		put_esc(b, e->raw, strlen(e->raw));
	}
	if (e->reject == OK) {
		er_buf_printf(b, " last=%u", e->last);
		for (int i = 0; e->f[i]; i++) {
			er_buf_putc(b, '[');
			put_esc(b, e->f[i], strlen(e->f[i]));
			er_buf_putc(b, ']');
		}
	}
	er_buf_putc(b, '\n');
}

/* One entry of the splitter (a good record goes through the parser). */
static void describe_got(er_buf *b, const er_recbuf *rb, const er_rec *r, er_parser *p)
{
	const char *bytes = rb->buf + r->off;
	if (r->reject != ER_REJ_NONE) {
		er_buf_printf(b, "L%llu %s", (unsigned long long)r->line, rej_code(r->reject));
		er_buf_puts(b, r->flags & ER_REC_TRUNCATED ? " T raw=" : " raw=");
		put_esc(b, bytes, r->len);
		er_buf_putc(b, '\n');
		return;
	}
	const er_field *f = NULL;
	int rej = -1;
	int nf = er_parser_record(p, bytes, r->len, r->flags & ER_REC_QUOTED, &f, &rej);
	/* The quoted flag means exactly "contains a quote". */
	assert_int_equal(!!(r->flags & ER_REC_QUOTED), memchr(bytes, '"', r->len) != NULL);
	assert_int_equal(r->flags & ER_REC_TRUNCATED, 0);
	if (nf < 0) {
		assert_int_not_equal(rej, ER_REJ_NONE);
		er_buf_printf(b, "L%llu %s\n", (unsigned long long)r->line, rej_code(rej));
		return;
	}
	er_buf_printf(b, "L%llu ok last=%llu", (unsigned long long)r->line,
	              (unsigned long long)(r->line + breaks(bytes, r->len)));
	for (int i = 0; i < nf; i++) {
		er_buf_putc(b, '[');
		put_esc(b, f[i].p, f[i].n);
		er_buf_putc(b, ']');
	}
	er_buf_putc(b, '\n');
}

typedef struct outcome {
	er_buf desc;  /* one line per entry */
	er_buf runs;  /* "entries:bytes " per run */
	uint64_t lines;
	int rc;       /* last er_splitter_next result */
} outcome;

static void outcome_free(outcome *o)
{
	er_buf_free(&o->desc);
	er_buf_free(&o->runs);
}

/* Split data with reads of at most k bytes and runs of chunk bytes. */
static void split_all(const char *data, size_t len, char delim, size_t k, size_t chunk,
                      size_t max_record, size_t max_raw, size_t max_field, outcome *out)
{
	feeder fd = { data, len, 0, k, SIZE_MAX };
	er_split_opts so = { delim, chunk, max_record, max_raw };
	er_splitter *s = er_splitter_new(feed_read, &fd, &so);
	er_parser *p = er_parser_new(delim, max_field);
	assert_non_null(s);
	assert_non_null(p);
	er_recbuf rb = { 0 };
	memset(out, 0, sizeof *out);
	int prev_short = 0; /* the previous run stopped below chunk: it must be the last */
	int rc;
	while ((rc = er_splitter_next(s, &rb)) > 0) {
		assert_true(rb.n > 0);
		assert_false(prev_short);
		/* A run ends at the first record end at/after chunk bytes. */
		assert_true(rb.recs[rb.n - 1].off < chunk);
		prev_short = rb.len < chunk;
		er_buf_printf(&out->runs, "%u:%zu ", rb.n, rb.len);
		for (uint32_t i = 0; i < rb.n; i++)
			describe_got(&out->desc, &rb, &rb.recs[i], p);
	}
	out->rc = rc;
	out->lines = er_splitter_lines(s);
	assert_int_equal(rb.n, 0);
	/* End of input stays end of input. */
	assert_int_equal(er_splitter_next(s, &rb), rc);
	er_recbuf_free(&rb);
	er_parser_free(p);
	er_splitter_free(s);
}

static void check_accounting(const corpus *c)
{
	/* The expected entries and blank lines cover every physical line once. */
	unsigned total = count_lines(c->data, c->len);
	unsigned next = 1, sum = 0;
	size_t bi = 0;
	for (size_t i = 0; i < c->nexp; i++) {
		while (bi < c->nblank && c->blank[bi] == next) {
			next++;
			bi++;
		}
		assert_int_equal(c->exp[i].line, next);
		assert_true(c->exp[i].last >= c->exp[i].line);
		sum += c->exp[i].last - c->exp[i].line + 1;
		next = c->exp[i].last + 1;
	}
	while (bi < c->nblank && c->blank[bi] == next) {
		next++;
		bi++;
	}
	assert_int_equal(bi, c->nblank);
	assert_int_equal(next - 1, total);
	assert_int_equal(sum + c->nblank, total);
}

static void test_corpora_every_read_size(void **state)
{
	(void)state;
	static const size_t chunks[] = { 1, 7, 64, 4096 };
	for (size_t ci = 0; ci < N(corpora); ci++) {
		const corpus *c = &corpora[ci];
		check_accounting(c);
		er_buf want = { 0 };
		for (size_t i = 0; i < c->nexp; i++)
			describe_exp(&want, &c->exp[i]);
		er_buf_putc(&want, '\0');
		for (size_t chi = 0; chi < N(chunks); chi++) {
			outcome ref;
			split_all(c->data, c->len, c->delim, c->len, chunks[chi], c->max_record,
			          c->max_raw, c->max_field, &ref);
			er_buf_putc(&ref.desc, '\0');
			er_buf_putc(&ref.runs, '\0');
			if (strcmp(ref.desc.p, want.p) != 0)
				print_error("corpus %s chunk %zu:\n--- want\n%s--- got\n%s", c->name,
				            chunks[chi], want.p, ref.desc.p);
			assert_string_equal(ref.desc.p, want.p);
			assert_int_equal(ref.rc, 0);
			assert_int_equal(ref.lines, count_lines(c->data, c->len));
			for (size_t k = 1; k <= c->len; k++) {
				outcome o;
				split_all(c->data, c->len, c->delim, k, chunks[chi], c->max_record,
				          c->max_raw, c->max_field, &o);
				er_buf_putc(&o.desc, '\0');
				er_buf_putc(&o.runs, '\0');
				if (strcmp(o.desc.p, want.p) != 0 || strcmp(o.runs.p, ref.runs.p) != 0)
					print_error("corpus %s chunk %zu k %zu\n", c->name, chunks[chi], k);
				assert_string_equal(o.desc.p, want.p);
				assert_string_equal(o.runs.p, ref.runs.p);
				assert_int_equal(o.lines, ref.lines);
				outcome_free(&o);
			}
			/* chunk 1: every entry is a run of its own */
			if (chunks[chi] == 1) {
				size_t runs = 0;
				for (const char *q = ref.runs.p; *q; q++)
					runs += *q == ' ';
				assert_int_equal(runs, c->nexp);
			}
			outcome_free(&ref);
		}
		er_buf_free(&want);
	}
}

/* A quote-free record gives the same fields on the fast path and in libcsv. */
static void test_corpora_fast_equals_libcsv(void **state)
{
	(void)state;
	size_t compared = 0;
	for (size_t ci = 0; ci < N(corpora); ci++) {
		const corpus *c = &corpora[ci];
		feeder fd = { c->data, c->len, 0, c->len, SIZE_MAX };
		er_split_opts so = { c->delim, 1 << 20, c->max_record, c->max_raw };
		er_splitter *s = er_splitter_new(feed_read, &fd, &so);
		er_parser *fast = er_parser_new(c->delim, c->max_field);
		er_parser *slow = er_parser_new(c->delim, c->max_field);
		er_recbuf rb = { 0 };
		while (er_splitter_next(s, &rb) > 0) {
			for (uint32_t i = 0; i < rb.n; i++) {
				const er_rec *r = &rb.recs[i];
				if (r->reject || (r->flags & ER_REC_QUOTED))
					continue;
				const er_field *f1, *f2;
				int j1 = -1, j2 = -1;
				int n1 = er_parser_record(fast, rb.buf + r->off, r->len, 0, &f1, &j1);
				int n2 = er_parser_record(slow, rb.buf + r->off, r->len, 1, &f2, &j2);
				assert_int_equal(n1, n2);
				if (n1 < 0) {
					assert_int_equal(j1, j2);
				} else {
					for (int k = 0; k < n1; k++) {
						assert_int_equal(f1[k].n, f2[k].n);
						assert_memory_equal(f1[k].p, f2[k].p, f1[k].n);
					}
				}
				compared++;
			}
		}
		er_recbuf_free(&rb);
		er_parser_free(fast);
		er_parser_free(slow);
		er_splitter_free(s);
	}
	assert_true(compared >= 15);
}

/* ------------------------------------------------- libcsv as the oracle */

typedef struct oracle {
	er_buf rows;  /* committed rows, one per line: [f][f]... */
	er_buf cur;   /* fields of the row being built */
	size_t nrows;
} oracle;

static void or_field(void *s, size_t n, void *data)
{
	oracle *o = data;
	er_buf_putc(&o->cur, '[');
	put_esc(&o->cur, s ? s : "", n);
	er_buf_putc(&o->cur, ']');
}

static void or_row(int c, void *data)
{
	(void)c;
	oracle *o = data;
	er_buf_append(&o->rows, o->cur.p, o->cur.len);
	er_buf_putc(&o->rows, '\n');
	o->cur.len = 0;
	o->nrows++;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/*
 * Random bytes over a CSV-ish alphabet: libcsv (strict) parses the whole
 * stream until its first error; the splitter + parser must produce the same
 * rows in order, then a reject of the same kind where libcsv stopped.
 */
static void test_fuzz_against_libcsv(void **state)
{
	(void)state;
	static const char delims[] = { ',', '\t', ' ', ';' };
	char data[96];
	size_t errors = 0, clean = 0;
	for (int iter = 0; iter < 20000; iter++) {
		char delim = delims[iter % 4];
		const char alpha[] = { 'a', 'b', ' ', '\t', delim, delim, '"', '"', '\r', '\n', '\n' };
		size_t len = rnd() % sizeof data;
		for (size_t i = 0; i < len; i++)
			data[i] = alpha[rnd() % sizeof alpha];

		oracle o = { { 0 }, { 0 }, 0 };
		struct csv_parser cp;
		assert_int_equal(csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI), 0);
		csv_set_delim(&cp, (unsigned char)delim);
		int want_err = OK;
		if (csv_parse(&cp, data, len, or_field, or_row, &o) != len)
			want_err = ER_REJ_BAD_QUOTE;
		else if (csv_fini(&cp, or_field, or_row, &o) != 0)
			want_err = ER_REJ_UNTERMINATED_QUOTE;
		csv_free(&cp);
		er_buf_putc(&o.rows, '\0');

		size_t k = (size_t[]){ 1, 2, 3, 5, 1000 }[iter % 5];
		feeder fd = { data, len, 0, k, SIZE_MAX };
		er_split_opts so = { delim, rnd() % 64, 1 << 20, 1 << 20 };
		er_splitter *s = er_splitter_new(feed_read, &fd, &so);
		er_parser *p = er_parser_new(delim, 1 << 20);
		er_recbuf rb = { 0 };
		er_buf got = { 0 };
		size_t ngood = 0;
		int got_err = OK, done = 0;
		while (!done && er_splitter_next(s, &rb) > 0) {
			for (uint32_t i = 0; i < rb.n && !done; i++) {
				const er_rec *r = &rb.recs[i];
				const er_field *f;
				int rej = r->reject;
				int nf = rej ? -1
				             : er_parser_record(p, rb.buf + r->off, r->len,
				                                r->flags & ER_REC_QUOTED, &f, &rej);
				if (nf < 0) {
					got_err = rej;
					done = 1;
					break;
				}
				for (int j = 0; j < nf; j++) {
					er_buf_putc(&got, '[');
					put_esc(&got, f[j].p, f[j].n);
					er_buf_putc(&got, ']');
				}
				er_buf_putc(&got, '\n');
				ngood++;
			}
		}
		er_buf_putc(&got, '\0');
		if (strcmp(got.p, o.rows.p) != 0 || got_err != want_err) {
			er_buf in = { 0 };
			put_esc(&in, data, len);
			er_buf_putc(&in, '\0');
			print_error("input [%s] delim %d\nlibcsv:\n%s(err %d)\nsplitter:\n%s(err %d)\n",
			            in.p, delim, o.rows.p, want_err, got.p, got_err);
			er_buf_free(&in);
		}
		assert_string_equal(got.p, o.rows.p);
		assert_int_equal(got_err, want_err);
		assert_int_equal(ngood, o.nrows);
		errors += want_err != OK;
		clean += want_err == OK;
		er_buf_free(&got);
		er_buf_free(&o.rows);
		er_buf_free(&o.cur);
		er_recbuf_free(&rb);
		er_parser_free(p);
		er_splitter_free(s);
	}
	/* Both outcomes were exercised a fair amount. */
	assert_true(errors > 1000);
	assert_true(clean > 1000);
}

/* -------------------------------------------------------- other cases */

static void test_empty_and_bom(void **state)
{
	(void)state;
	static const struct {
		const char *d;
		size_t n;
		uint64_t lines;
		uint32_t recs;
	} cases[] = {
		{ "", 0, 0, 0 },
		{ "\xEF\xBB\xBF", 3, 0, 0 },
		{ "\xEF\xBB\xBF\n", 4, 1, 0 },
		{ "\xEF\xBB", 2, 1, 1 },      /* not a BOM: a record */
		{ " \t \r\n\r\n", 7, 2, 0 },
		{ "\xEF\xBB\xBF" "a", 4, 1, 1 },
		{ "a\xEF\xBB\xBF", 4, 1, 1 }, /* only at the very start */
	};
	for (size_t i = 0; i < N(cases); i++) {
		for (size_t k = 1; k <= 4; k++) {
			feeder fd = { cases[i].d, cases[i].n, 0, k, SIZE_MAX };
			er_split_opts so = { ',', 100, 100, 100 };
			er_splitter *s = er_splitter_new(feed_read, &fd, &so);
			assert_non_null(s);
			er_recbuf rb = { 0 };
			uint32_t recs = 0;
			int rc;
			while ((rc = er_splitter_next(s, &rb)) > 0) {
				recs += rb.n;
				if (i == 3)
					assert_memory_equal(rb.buf + rb.recs[0].off, "\xEF\xBB", 2);
				if (i == 5)
					assert_memory_equal(rb.buf + rb.recs[0].off, "a", rb.recs[0].len);
				if (i == 6)
					assert_int_equal(rb.recs[0].len, 4);
			}
			assert_int_equal(rc, 0);
			assert_int_equal(recs, cases[i].recs);
			assert_int_equal(er_splitter_lines(s), cases[i].lines);
			er_recbuf_free(&rb);
			er_splitter_free(s);
		}
	}
}

static void test_bad_options(void **state)
{
	(void)state;
	feeder fd = { "", 0, 0, 1, SIZE_MAX };
	er_split_opts so = { '"', 100, 100, 100 };
	assert_null(er_splitter_new(feed_read, &fd, &so));
	so.delim = '\n';
	assert_null(er_splitter_new(feed_read, &fd, &so));
	so.delim = '\r';
	assert_null(er_splitter_new(feed_read, &fd, &so));
	so.delim = ',';
	so.max_record = (size_t)2 << 30;
	assert_null(er_splitter_new(feed_read, &fd, &so));
	so.max_record = 100;
	assert_null(er_splitter_new(NULL, &fd, &so));
	assert_null(er_splitter_new(feed_read, &fd, NULL));
	er_splitter_free(NULL);
	er_recbuf_free(NULL);
}

static void test_read_error(void **state)
{
	(void)state;
	const char *d = "a,1\nb,2\nc,3\n";
	er_recbuf rb = { 0 };

	/* Completed records come first, then -1, and -1 stays. */
	feeder fd = { d, strlen(d), 0, 2, 6 };
	er_split_opts so = { ',', 4096, 100, 100 };
	er_splitter *s = er_splitter_new(feed_read, &fd, &so);
	assert_int_equal(er_splitter_next(s, &rb), 1);
	assert_int_equal(rb.n, 1);
	assert_int_equal(rb.recs[0].line, 1);
	assert_memory_equal(rb.buf + rb.recs[0].off, "a,1", 3);
	assert_int_equal(er_splitter_next(s, &rb), -1);
	assert_int_equal(rb.n, 0);
	assert_int_equal(er_splitter_next(s, &rb), -1);
	assert_int_equal(er_splitter_nomem(s), 0);
	er_splitter_free(s);

	/* Error before anything is complete. */
	fd = (feeder){ d, strlen(d), 0, 1, 2 };
	s = er_splitter_new(feed_read, &fd, &so);
	assert_int_equal(er_splitter_next(s, &rb), -1);
	assert_int_equal(rb.n, 0);
	er_splitter_free(s);

	/* Error while discarding a bad line: the unfinished reject is dropped. */
	const char *bad = "ok,1\nx\"yyyyyyyyyyyyyyyyyyyyyyy\nz,2\n";
	fd = (feeder){ bad, strlen(bad), 0, 3, 15 };
	s = er_splitter_new(feed_read, &fd, &so);
	assert_int_equal(er_splitter_next(s, &rb), 1);
	assert_int_equal(rb.n, 1);
	assert_int_equal(rb.len, 4);
	assert_int_equal(er_splitter_next(s, &rb), -1);
	er_splitter_free(s);
	er_recbuf_free(&rb);
}

/* Over-long lines are skipped without buffering and scanning goes on. */
static void test_huge_lines(void **state)
{
	(void)state;
	size_t big = 5u << 20;
	char *d = malloc(big + 64);
	assert_non_null(d);
	size_t n = 0;
	memcpy(d, "h,1\n", 4);
	n = 4;
	memset(d + n, 'x', big); /* one unquoted line of 5 MiB */
	n += big;
	memcpy(d + n, "\nz,2\n\"q", 7);
	n += 7;
	static const size_t ks[] = { 777, 65536, 1 << 20 };
	for (size_t i = 0; i < N(ks); i++) {
		feeder fd = { d, n, 0, ks[i], SIZE_MAX };
		er_split_opts so = { ',', 1 << 16, 1000, 50 };
		er_splitter *s = er_splitter_new(feed_read, &fd, &so);
		er_recbuf rb = { 0 };
		er_buf got = { 0 };
		while (er_splitter_next(s, &rb) > 0)
			for (uint32_t j = 0; j < rb.n; j++)
				er_buf_printf(&got, "%llu:%d:%u:%u ", (unsigned long long)rb.recs[j].line,
				              rb.recs[j].reject, rb.recs[j].len, rb.recs[j].flags);
		er_buf_putc(&got, '\0');
		/* 1: h,1; 2: too long, raw 50 bytes, truncated; 3: z,2; 4: unterminated */
		assert_string_equal(got.p, "1:0:3:0 2:9:50:2 3:0:3:0 4:11:2:0 ");
		assert_int_equal(er_splitter_lines(s), 4);
		er_buf_free(&got);
		er_recbuf_free(&rb);
		er_splitter_free(s);
	}

	/* A 3 MiB quoted field with line breaks, under a 4 MiB limit. */
	n = 0;
	d[n++] = '"';
	for (size_t i = 0; i < (3u << 20); i++)
		d[n++] = i % 100 == 99 ? '\n' : (i % 7 == 0 ? ',' : 'y');
	memcpy(d + n, "\",end\n", 6);
	n += 6;
	feeder fd = { d, n, 0, 4099, SIZE_MAX };
	er_split_opts so = { ',', 1 << 16, 4u << 20, 100 };
	er_splitter *s = er_splitter_new(feed_read, &fd, &so);
	er_parser *p = er_parser_new(',', 4u << 20);
	er_recbuf rb = { 0 };
	assert_int_equal(er_splitter_next(s, &rb), 1);
	assert_int_equal(rb.n, 1);
	assert_int_equal(rb.recs[0].reject, 0);
	assert_int_equal(rb.recs[0].flags, ER_REC_QUOTED);
	const er_field *f;
	int rej;
	assert_int_equal(er_parser_record(p, rb.buf + rb.recs[0].off, rb.recs[0].len, 1, &f, &rej), 2);
	assert_int_equal(f[0].n, 3u << 20);
	assert_memory_equal(f[0].p, d + 1, 3u << 20);
	assert_int_equal(f[1].n, 3);
	assert_int_equal(er_splitter_next(s, &rb), 0);
	assert_int_equal(er_splitter_lines(s), (3u << 20) / 100 + 1);
	er_recbuf_free(&rb);
	er_parser_free(p);
	er_splitter_free(s);
	free(d);
}

/* Many records: identical runs and records whatever the read size. */
static void test_many_records(void **state)
{
	(void)state;
	er_buf d = { 0 };
	for (int i = 0; i < 60000; i++) {
		switch (i % 5) {
		case 0: er_buf_printf(&d, "S%d,2024-01-%02d,plain\n", i, i % 28 + 1); break;
		case 1: er_buf_printf(&d, "S%d,\"quoted, %d\"\r\n", i, i); break;
		case 2: er_buf_printf(&d, "S%d,\"two\nlines\"\n\n", i); break;
		case 3: er_buf_printf(&d, "S%d,bad\"quote\r", i); break;
		default: er_buf_printf(&d, "  S%d , x ,\n", i); break;
		}
	}
	static const size_t ks[] = { 1, 13, 4096, 100000, 1u << 22 };
	er_buf ref_runs = { 0 };
	for (size_t i = 0; i < N(ks); i++) {
		feeder fd = { d.p, d.len, 0, ks[i], SIZE_MAX };
		er_split_opts so = { ',', 10000, 1000, 100 };
		er_splitter *s = er_splitter_new(feed_read, &fd, &so);
		er_recbuf rb = { 0 };
		er_buf runs = { 0 };
		uint64_t recs = 0, rejects = 0, quoted = 0, line = 0;
		while (er_splitter_next(s, &rb) > 0) {
			er_buf_printf(&runs, "%u:%zu ", rb.n, rb.len);
			for (uint32_t j = 0; j < rb.n; j++) {
				assert_true(rb.recs[j].line > line);
				line = rb.recs[j].line;
				recs++;
				rejects += rb.recs[j].reject != 0;
				quoted += (rb.recs[j].flags & ER_REC_QUOTED) != 0;
			}
		}
		assert_int_equal(recs, 60000);
		assert_int_equal(rejects, 12000);
		assert_int_equal(quoted, 24000);
		assert_int_equal(er_splitter_lines(s), 60000 + 12000 * 2);
		if (i == 0)
			er_buf_append(&ref_runs, runs.p, runs.len);
		else
			assert_true(runs.len == ref_runs.len && memcmp(runs.p, ref_runs.p, runs.len) == 0);
		er_buf_free(&runs);
		er_recbuf_free(&rb);
		er_splitter_free(s);
	}
	er_buf_free(&ref_runs);
	er_buf_free(&d);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* run one test by name */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpora_every_read_size),
		cmocka_unit_test(test_corpora_fast_equals_libcsv),
		cmocka_unit_test(test_fuzz_against_libcsv),
		cmocka_unit_test(test_empty_and_bom),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_huge_lines),
		cmocka_unit_test(test_many_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
