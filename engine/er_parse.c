/* er_parse.c - stage 3: one record -> fields, and header -> columns
 * (see er_parse.h). */
#include "er_parse.h"

#include <csv.h>
#include <stdarg.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* libcsv grows its field buffer by this much at a time: the default (128)
 * would cost tens of thousands of reallocs for a megabyte field. */
#define CSV_BLOCK ((size_t)64 * 1024)

/* ------------------------------------------------------- canonical names */

static const char *const col_names[ER_NCOLS] = {
	"shipment_id", "arrival_date", "master_bill", "container_id", "load_type",
	"mode", "lading_port", "unlading_port", "origin_country", "shipper_country",
	"importer_id", "importer_name", "shipper_id", "shipper_name", "manufacturer_id",
	"consignee_name", "carrier_scac", "forwarder_id", "hs_code", "description",
	"declared_value_usd", "gross_weight_kg", "quantity", "filed_at", "departure_at",
	"notify_party_name",
};

const char *er_col_name(int col)
{
	if (col < 0 || col >= ER_NCOLS)
		return NULL;
	return col_names[col];
}

int er_col_lookup(const char *name, size_t len)
{
	if (!name)
		return -1;
	for (int i = 0; i < ER_NCOLS; i++)
		if (er_ieq(name, len, col_names[i]))
			return i;
	return -1;
}

/* ---------------------------------------------------------------- parser */

struct er_parser {
	char delim;
	size_t max_field;
	struct csv_parser csv;
	int csv_live;      /* csv is initialised */

	er_field *fields;
	size_t nf, capf;
	size_t *offs;      /* libcsv path: field offsets into arena (it may move) */
	size_t capo;
	er_buf arena;

	/* libcsv callback state for the current record */
	int rows, too_long, nomem;

	uint32_t *pos;          /* scan_specials: delimiter and quote offsets */
	size_t capp;
	uint8_t blank[256];     /* libcsv's blanks: space and tab, unless one is the delimiter */
	int libcsv_only;        /* er_parser_force_libcsv() */
	uint64_t quoted_fast;   /* quoted records parse_quoted() took */
};

/* libcsv's blanks: space and tab, unless one is the delimiter. */
static inline int blank(const er_parser *p, char c)
{
	return p->blank[(unsigned char)c];
}

static int csv_start(er_parser *p)
{
	if (csv_init(&p->csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return -1;
	csv_set_delim(&p->csv, (unsigned char)p->delim);
	csv_set_blk_size(&p->csv, CSV_BLOCK);
	p->csv_live = 1;
	return 0;
}

/* After an error libcsv is wedged: csv_fini() fails again on an open quote
 * and a later parse would glue onto the half-built row. Start afresh. */
static int csv_restart(er_parser *p)
{
	if (p->csv_live)
		csv_free(&p->csv);
	p->csv_live = 0;
	return csv_start(p);
}

er_parser *er_parser_new(char delim, size_t max_field)
{
	er_parser *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->delim = delim ? delim : ',';
	p->max_field = max_field;
	p->blank[' '] = p->delim != ' ';
	p->blank['\t'] = p->delim != '\t';
	if (csv_start(p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void er_parser_free(er_parser *p)
{
	if (!p)
		return;
	if (p->csv_live)
		csv_free(&p->csv);
	free(p->fields);
	free(p->offs);
	free(p->pos);
	er_buf_free(&p->arena);
	free(p);
}

static int grow_fields(er_parser *p)
{
	size_t cap = p->capf ? p->capf * 2 : 64;
	er_field *f = realloc(p->fields, cap * sizeof *f);
	if (!f)
		return -1;
	p->fields = f;
	p->capf = cap;
	return 0;
}

static int grow_offs(er_parser *p)
{
	size_t cap = p->capo ? p->capo * 2 : 64;
	size_t *o = realloc(p->offs, cap * sizeof *o);
	if (!o)
		return -1;
	p->offs = o;
	p->capo = cap;
	return 0;
}

static int grow_pos(er_parser *p, size_t need)
{
	size_t cap = p->capp ? p->capp : 64;
	while (cap < need)
		cap *= 2;
	uint32_t *q = realloc(p->pos, cap * sizeof *q);
	if (!q)
		return -1;
	p->pos = q;
	p->capp = cap;
	return 0;
}

static void on_field(void *s, size_t len, void *data)
{
	er_parser *p = data;
	if (p->nomem || p->too_long)
		return;
	if (len > p->max_field) {
		p->too_long = 1;
		return;
	}
	if ((p->nf == p->capo && grow_offs(p) < 0) || er_buf_append(&p->arena, s, len) < 0) {
		p->nomem = 1;
		return;
	}
	p->offs[p->nf] = p->arena.len - len;
	if (p->nf == p->capf && grow_fields(p) < 0) {
		p->nomem = 1;
		return;
	}
	p->fields[p->nf].n = len;
	p->nf++;
}

static void on_row(int c, void *data)
{
	(void)c;
	((er_parser *)data)->rows++;
}

static int parse_csv(er_parser *p, const char *rec, size_t len, int *reject)
{
	p->arena.len = 0;
	p->rows = p->too_long = p->nomem = 0;
	int why = ER_REJ_NONE;
	size_t used = csv_parse(&p->csv, rec, len, on_field, on_row, p);
	if (used != len) {
		if (csv_error(&p->csv) == CSV_EPARSE)
			why = ER_REJ_BAD_QUOTE;
		else
			p->nomem = 1;
		goto reset;
	}
	if (csv_fini(&p->csv, on_field, on_row, p) != 0) {
		why = ER_REJ_UNTERMINATED_QUOTE;
		goto reset;
	}
	if (p->nomem)
		goto fail;
	if (p->too_long) {
		*reject = ER_REJ_FIELD_TOO_LONG;
		return -1;
	}
	if (p->rows > 1) {
		/* A line break outside quotes: not one record (the splitter never
		 * hands us such bytes). */
		*reject = ER_REJ_FIELD_COUNT;
		return -1;
	}
	if (p->rows == 0) {
		/* Blank record: libcsv reports nothing; the fast path gives one empty field. */
		if (p->capf == 0 && grow_fields(p) < 0)
			goto fail;
		p->fields[0].p = "";
		p->fields[0].n = 0;
		p->nf = 1;
		return 1;
	}
	for (size_t i = 0; i < p->nf; i++)
		p->fields[i].p = p->fields[i].n ? p->arena.p + p->offs[i] : "";
	return (int)p->nf;

reset:
	if (csv_restart(p) < 0)
		p->nomem = 1;
	if (why != ER_REJ_NONE && !p->nomem) {
		*reject = why;
		return -1;
	}
fail:
	/* Out of memory: -1 with ER_REJ_NONE tells the caller it is not the record. */
	*reject = ER_REJ_NONE;
	errno = ENOMEM;
	return -1;
}

/* One field of an unquoted record: rec[s..e) with blanks trimmed. */
static int fast_field(er_parser *p, const char *fs, const char *fe, int *reject)
{
	while (fs < fe && blank(p, *fs))
		fs++;
	while (fe > fs && blank(p, fe[-1]))
		fe--;
	if ((size_t)(fe - fs) > p->max_field) {
		*reject = ER_REJ_FIELD_TOO_LONG;
		return -1;
	}
	if (p->nf == p->capf && grow_fields(p) < 0) {
		*reject = ER_REJ_NONE;
		errno = ENOMEM;
		return -1;
	}
	p->fields[p->nf].p = fs;
	p->fields[p->nf].n = (size_t)(fe - fs);
	p->nf++;
	return 0;
}

/* f = fs..fe with blanks trimmed; most fields have none at either edge. */
static inline void set_trimmed(const er_parser *p, er_field *f, const char *fs, const char *fe)
{
	if (fs < fe && (blank(p, *fs) | blank(p, fe[-1]))) {
		while (fs < fe && blank(p, *fs))
			fs++;
		while (fe > fs && blank(p, fe[-1]))
			fe--;
	}
	f->p = fs;
	f->n = (size_t)(fe - fs);
}

/* An unquoted record whose delimiters scan_specials() has listed: room for
 * np + 1 fields once, and no length test per field when the whole record
 * is within the field limit (the common case). */
static int parse_fast_pos(er_parser *p, const char *rec, size_t len, size_t np, int *reject)
{
	if (len > p->max_field) {
		size_t si = 0;
		for (size_t k = 0;; k++) {
			size_t next = k < np ? p->pos[k] : len;
			if (fast_field(p, rec + si, rec + next, reject) < 0)
				return -1;
			if (k == np)
				return (int)p->nf;
			si = next + 1;
		}
	}
	while (p->capf < np + 1)
		if (grow_fields(p) < 0) {
			*reject = ER_REJ_NONE;
			errno = ENOMEM;
			return -1;
		}
	const uint32_t *pos = p->pos;
	er_field *f = p->fields;
	size_t si = 0;
	for (size_t k = 0; k < np; k++) {
		set_trimmed(p, &f[k], rec + si, rec + pos[k]);
		si = pos[k] + 1;
	}
	set_trimmed(p, &f[np], rec + si, rec + len);
	p->nf = np + 1;
	return (int)p->nf;
}

/* An unquoted record holding CR or LF: memchr finds the delimiters. */
static int parse_fast(er_parser *p, const char *rec, size_t len, int *reject)
{
	const char *s = rec, *e = rec + len;
	for (;;) {
		const char *d = memchr(s, p->delim, (size_t)(e - s));
		if (fast_field(p, s, d ? d : e, reject) < 0)
			return -1;
		if (!d)
			return (int)p->nf;
		s = d + 1;
	}
}

/* Quoted records of the common shape, without libcsv: each field is either
 * unquoted (no quote character; blanks at its edges trimmed) or a quote right
 * at the field start, content where a quote appears only doubled, and the
 * closing quote right before the delimiter or the record end. That is what
 * libcsv (strict) gives for such a record, field for field. Anything else -
 * blanks around quotes, a stray or unterminated quote, an over-long field,
 * CR or LF anywhere -
 * returns PQ_DECLINE and libcsv decides (it is the reference; see the
 * differential test in tests/test_parse.c). Fields without doubled quotes
 * point into rec; unescaped ones go to the arena (offsets: it may move). */
#define PQ_DECLINE (-2)

/* What scan_specials() saw besides the positions. */
enum { SC_NUL = 1, SC_HIGH = 2 };

#ifdef __SSE2__
/* Set bits per byte value: the build targets plain x86-64, which has no
 * popcnt instruction. */
static const uint8_t bits8[256] = {
#define B2(n) n, n + 1, n + 1, n + 2
#define B4(n) B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n) B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
	B6(0), B6(1), B6(1), B6(2)
#undef B6
#undef B4
#undef B2
};

/* The positions of the delimiters and quotes among the 16 bytes x at
 * offset at (bits outside keep ignored) appended to pos[n..]; the new n.
 * Four positions are written whatever the count (those past it are garbage
 * the next call overwrites; SCAN_RECORD keeps room for them): a loop that
 * runs once per delimiter mispredicts its exit on most calls, and 16 bytes
 * of a manifest nearly always hold four delimiters or fewer. */
static inline size_t put_positions(uint32_t *pos, size_t n, __m128i x, __m128i vd, __m128i vq,
                                   unsigned keep, size_t at)
{
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, vd),
	                                                      _mm_cmpeq_epi8(x, vq))) & keep;
	unsigned cnt = (unsigned)bits8[m & 0xFF] + bits8[m >> 8];
	uint32_t base = (uint32_t)at, *o = pos + n;
	/* bit 16 stands in for "no bit left": ctz is then 16, never undefined */
	o[0] = base + (uint32_t)__builtin_ctz(m | 0x10000u);
	m &= m - 1;
	o[1] = base + (uint32_t)__builtin_ctz(m | 0x10000u);
	m &= m - 1;
	o[2] = base + (uint32_t)__builtin_ctz(m | 0x10000u);
	m &= m - 1;
	o[3] = base + (uint32_t)__builtin_ctz(m | 0x10000u);
	m &= m - 1;
	for (size_t k = 4; m; k++, m &= m - 1)
		o[k] = base + (uint32_t)__builtin_ctz(m);
	return n + cnt;
}

/* A record of 16 bytes or more, 16 bytes a STEP(at, keep): room for the
 * positions is made once per SCAN_BLOCK bytes, not per 16 (with 32 to
 * spare: a block and its tail add at most SCAN_BLOCK + 15 positions, and
 * put_positions() writes up to 3 past the last), and the last
 * partial 16 bytes are read as the record's last 16 with the bytes seen
 * already masked off, instead of one at a time. Uses p, rec, len, pos, n, i. */
enum { SCAN_BLOCK = 4096 };
#define SCAN_RECORD(STEP)                                                                  \
	do {                                                                                   \
		for (;;) {                                                                         \
			if (p->capp - n < SCAN_BLOCK + 32) {                                           \
				if (grow_pos(p, n + SCAN_BLOCK + 32) < 0)                                  \
					return -1;                                                             \
				pos = p->pos;                                                              \
			}                                                                              \
			size_t stop = len - i < SCAN_BLOCK + 16 ? len - 16 : i + SCAN_BLOCK - 16;      \
			for (; i <= stop; i += 16)                                                     \
				STEP(i, 0xFFFFu);                                                          \
			if (i + 16 > len)                                                              \
				break;                                                                     \
		}                                                                                  \
		if (i < len) {                                                                     \
			size_t last = len - 16;                                                        \
			STEP(last, 0xFFFFu << (i - last));                                             \
			i = len;                                                                       \
		}                                                                                  \
	} while (0)
#endif

/* Positions of every delimiter (and, when quoted, quote) of rec in p->pos,
 * in order, and in *seen whether rec holds a NUL byte (SC_NUL) or a byte
 * >= 0x80 (SC_HIGH): one pass, 16 bytes at a time with SSE2, instead of a
 * memchr for NUL, a UTF-8 pass and one or two memchr calls per field; a
 * record without SC_HIGH is ASCII, so valid UTF-8 without a look. Returns
 * the count, or -1 when rec holds CR or LF (or memory ran out): then the
 * caller takes the byte-at-a-time checks and libcsv. */
static long scan_exact(er_parser *p, const char *rec, size_t len, int quoted, unsigned *seen)
{
	const char delim = p->delim, quote = quoted ? '"' : delim;
	size_t n = 0, i = 0;
	unsigned acc = 0;
#ifdef __SSE2__
	const __m128i vd = _mm_set1_epi8(delim), vq = _mm_set1_epi8(quote);
	const __m128i vcr = _mm_set1_epi8('\r'), vlf = _mm_set1_epi8('\n');
	__m128i nul = _mm_setzero_si128(), high = _mm_setzero_si128();
#define SCAN16(at, keep)                                                                     \
	do {                                                                                     \
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(rec + (at)));            \
		if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, vcr), _mm_cmpeq_epi8(x, vlf)))) \
			return -1;                                                                       \
		nul = _mm_or_si128(nul, _mm_cmpeq_epi8(x, _mm_setzero_si128()));                    \
		high = _mm_or_si128(high, x);                                                        \
		n = put_positions(pos, n, x, vd, vq, (keep), (at));                                  \
	} while (0)
	if (len >= 16) {
		uint32_t *pos = p->pos;
		SCAN_RECORD(SCAN16);
	}
#undef SCAN16
	if (_mm_movemask_epi8(nul))
		acc |= SC_NUL;
	if (_mm_movemask_epi8(high))
		acc |= SC_HIGH;
#endif
	for (; i < len; i++) {
		char c = rec[i];
		if (c == '\r' || c == '\n')
			return -1;
		if (c == '\0')
			acc |= SC_NUL;
		if ((unsigned char)c >= 0x80)
			acc |= SC_HIGH;
		if (c == delim || c == quote) {
			if (n == p->capp && grow_pos(p, n + 1) < 0)
				return -1;
			p->pos[n++] = (uint32_t)i;
		}
	}
	*seen = acc;
	return (long)n;
}

#define SCAN_RETRY (-2)

#ifdef __SSE2__
/* scan_exact() with fewer tests per 16 bytes, for records of 16 bytes or
 * more: NUL, CR and LF are all <= 0x0D, so a running minimum of the bytes
 * replaces their three compares; a record whose minimum is <= 0x0D (a
 * control byte or tab somewhere: rare in manifests) returns SCAN_RETRY and
 * scan_exact() looks again. */
static long scan_quick(er_parser *p, const char *rec, size_t len, int quoted, unsigned *seen)
{
	const __m128i vd = _mm_set1_epi8(p->delim), vq = _mm_set1_epi8(quoted ? '"' : p->delim);
	__m128i lo = _mm_set1_epi8((char)0xFF), high = _mm_setzero_si128();
	uint32_t *pos = p->pos;
	size_t n = 0, i = 0;
#define SCAN16(at, keep)                                                                     \
	do {                                                                                     \
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(rec + (at)));            \
		lo = _mm_min_epu8(lo, x);                                                            \
		high = _mm_or_si128(high, x);                                                        \
		n = put_positions(pos, n, x, vd, vq, (keep), (at));                                  \
	} while (0)
	SCAN_RECORD(SCAN16);
#undef SCAN16
	/* some byte <= 0x0D: min(lo, 0x0D) == lo there */
	const __m128i v0d = _mm_set1_epi8(0x0D);
	if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(lo, v0d), lo)))
		return SCAN_RETRY;
	*seen = _mm_movemask_epi8(high) ? SC_HIGH : 0;
	return (long)n;
}
#endif

/* Positions of every delimiter (and, when quoted, quote) of rec in p->pos;
 * see scan_exact(). */
static long scan_specials(er_parser *p, const char *rec, size_t len, int quoted, unsigned *seen)
{
#ifdef __SSE2__
	/* a delimiter <= 0x0D (tab) would send every record round twice */
	if (len >= 16 && (unsigned char)p->delim > 0x0D) {
		long n = scan_quick(p, rec, len, quoted, seen);
		if (n != SCAN_RETRY)
			return n;
	}
#endif
	return scan_exact(p, rec, len, quoted, seen);
}

/* libcsv ends a row at CR/LF outside quotes; inside quotes they are rare:
 * every record holding one is left to libcsv (scan_specials says so). np:
 * the count scan_specials() returned for rec. */
static int parse_quoted(er_parser *p, const char *rec, size_t len, long np)
{
	const char delim = p->delim;
	const uint32_t *pos = p->pos;
	const size_t npos = (size_t)np;
	size_t k = 0, si = 0; /* next special; start of the current field */
	int unescaped = 0;    /* some field was copied to the arena (its p is NULL until the end) */
	if (delim == '"')
		return PQ_DECLINE; /* not a dialect this path knows */
	p->arena.len = 0;
	/* every field but the last ends at a listed delimiter: room for np + 1
	 * fields, once, instead of a test per field */
	while (p->capf < npos + 1)
		if (grow_fields(p) < 0)
			return PQ_DECLINE;
	while (p->capo < npos + 1)
		if (grow_offs(p) < 0)
			return PQ_DECLINE;
	er_field *const fields = p->fields;
	er_field *f = fields;
	for (;;) {
		/* unquoted fields: each ends at the next listed special, a
		 * delimiter; a quote must open a field (anything else is libcsv's
		 * to judge) */
		while (k < npos && rec[pos[k]] != '"') {
			set_trimmed(p, f++, rec + si, rec + pos[k]);
			si = pos[k++] + 1;
		}
		if (k == npos) {
			set_trimmed(p, f, rec + si, rec + len);
			break;
		}
		if (pos[k] != si)
			return PQ_DECLINE; /* a quote not at the field start */
		k++; /* the opening quote */
		size_t c = si + 1, q;
		size_t start = p->arena.len;
		int copied = 0;
		for (;;) {
			while (k < npos && rec[pos[k]] != '"')
				k++; /* delimiters inside the quotes */
			if (k == npos)
				return PQ_DECLINE; /* unterminated */
			q = pos[k++];
			if (q + 1 < len && rec[q + 1] == '"') {
				/* doubled quote: content so far plus one quote */
				if (er_buf_append(&p->arena, rec + c, q + 1 - c) < 0)
					return PQ_DECLINE;
				copied = 1;
				c = q + 2;
				k++;
				continue;
			}
			break;
		}
		if (q + 1 < len && rec[q + 1] != delim)
			return PQ_DECLINE;
		if (copied) {
			unescaped = 1;
			if (er_buf_append(&p->arena, rec + c, q - c) < 0)
				return PQ_DECLINE;
			f->p = NULL;
			f->n = p->arena.len - start;
			p->offs[f - fields] = start;
		} else {
			f->p = rec + si + 1;
			f->n = q - si - 1;
		}
		if (q + 1 == len)
			break;
		f++;
		k++; /* the delimiter right after the closing quote */
		si = q + 2;
	}
	size_t nf = (size_t)(f - fields) + 1;
	/* no field is longer than its record: only a record over the limit
	 * needs the look at every field */
	if (len > p->max_field)
		for (size_t i = 0; i < nf; i++)
			if (fields[i].n > p->max_field)
				return PQ_DECLINE;
	p->nf = nf;
	for (size_t i = 0; unescaped && i < nf; i++)
		if (!fields[i].p)
			fields[i].p = fields[i].n ? p->arena.p + p->offs[i] : "";
	p->quoted_fast++;
	return (int)nf;
}

void er_parser_force_libcsv(er_parser *p, int on)
{
	p->libcsv_only = on;
}

uint64_t er_parser_quoted_fast(const er_parser *p)
{
	return p->quoted_fast;
}

int er_parser_record(er_parser *p, const char *rec, size_t len, int quoted,
                     const er_field **fields, int *reject)
{
	int dummy;
	if (!reject)
		reject = &dummy;
	*reject = ER_REJ_NONE;
	p->nf = 0;
	if (len == 0 || !rec) {
		rec = "";
		len = 0;
	}
	if (len > (size_t)INT32_MAX) {
		*reject = ER_REJ_RECORD_TOO_LONG;
		return -1;
	}
	unsigned seen = 0;
	long np = quoted && p->libcsv_only ? -1 : scan_specials(p, rec, len, quoted, &seen);
	if (np < 0) {
		/* CR or LF in the record (or the oracle mode): the checks byte by
		 * byte, then the memchr path or libcsv */
		seen = (memchr(rec, '\0', len) ? SC_NUL : 0) | SC_HIGH;
	}
	if (seen & SC_NUL) {
		*reject = ER_REJ_NUL_BYTE;
		return -1;
	}
	if ((seen & SC_HIGH) && !er_utf8_valid(rec, len)) {
		*reject = ER_REJ_INVALID_UTF8;
		return -1;
	}
	int n;
	if (!quoted) {
		n = np >= 0 ? parse_fast_pos(p, rec, len, (size_t)np, reject)
		            : parse_fast(p, rec, len, reject);
	} else {
		n = np >= 0 ? parse_quoted(p, rec, len, np) : PQ_DECLINE;
		if (n == PQ_DECLINE) {
			p->nf = 0;
			n = parse_csv(p, rec, len, reject);
		}
	}
	if (n > 0 && fields)
		*fields = p->fields;
	return n;
}

/* -------------------------------------------------------------- messages */


/* Names in messages are cut so a silly header can't drown the message. */
#define SHOWN(n) ((int)((n) > 80 ? 80 : (n)))

static void trim(const char **s, size_t *n)
{
	er_trim(s, n);
}

/* --------------------------------------------------------------- colmap */

/* Parse "canonical=header" from spec[0, n). 0 or -1 with a message. */
static int map_one(er_colmap *m, const char *spec, size_t n, char *err, size_t errlen)
{
	const char *eq = memchr(spec, '=', n);
	if (!eq) {
		er_errf(err, errlen, "bad column map '%.*s': expected canonical=header", SHOWN(n), spec);
		return -1;
	}
	const char *c = spec, *h = eq + 1;
	size_t cn = (size_t)(eq - spec), hn = n - cn - 1;
	trim(&c, &cn);
	trim(&h, &hn);
	int col = er_col_lookup(c, cn);
	if (col < 0) {
		er_errf(err, errlen, "unknown column '%.*s' in map '%.*s'", SHOWN(cn), c, SHOWN(n), spec);
		return -1;
	}
	if (hn == 0) {
		er_errf(err, errlen, "empty header name in map '%.*s'", SHOWN(n), spec);
		return -1;
	}
	if (m->canon[col]) {
		er_errf(err, errlen, "column '%s' mapped twice", col_names[col]);
		return -1;
	}
	char *copy = malloc(hn + 1);
	if (!copy) {
		er_errf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, h, hn);
	copy[hn] = '\0';
	m->canon[col] = copy;
	return 0;
}

int er_colmap_add(er_colmap *m, const char *spec, char *err, size_t errlen)
{
	if (!spec)
		spec = "";
	return map_one(m, spec, strlen(spec), err, errlen);
}

int er_colmap_load(er_colmap *m, const char *path, char *err, size_t errlen)
{
	return er_colmap_load_ex(m, path, NULL, err, errlen);
}

int er_colmap_load_ex(er_colmap *m, const char *path, const volatile int *cancel, char *err,
                      size_t errlen)
{
	er_buf text = {0};
	if (er_read_file(path, ER_MAP_FILE_MAX, cancel, &text) < 0) {
		int e = errno;
		if (e == ECANCELED)
			er_errf(err, errlen, "%s: interrupted", path);
		else if (e == EFBIG)
			er_errf(err, errlen, "%s: larger than %u KiB: not a column map", path,
			        ER_MAP_FILE_MAX >> 10);
		else
			er_errf(err, errlen, "%s: %s", path, e == ENOMEM ? "out of memory" : strerror(e));
		er_buf_free(&text);
		errno = e;
		return -1;
	}
	unsigned long lineno = 0;
	int rc = 0;
	for (size_t pos = 0; pos < text.len && rc == 0;) {
		const char *s = text.p + pos;
		const char *nl = memchr(s, '\n', text.len - pos);
		size_t n = nl ? (size_t)(nl - s) + 1 : text.len - pos;
		pos += n;
		lineno++;
		if (lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3, n -= 3;
		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
			n--;
		trim(&s, &n);
		if (n == 0 || s[0] == '#')
			continue;
		if (memchr(s, '\0', n)) {
			er_errf(err, errlen, "%s:%lu: NUL byte", path, lineno);
			rc = -1;
			break;
		}
		char msg[400];
		if (map_one(m, s, n, msg, sizeof msg) < 0) {
			er_errf(err, errlen, "%s:%lu: %s", path, lineno, msg);
			rc = -1;
		}
	}
	er_buf_free(&text);
	return rc;
}

void er_colmap_free(er_colmap *m)
{
	if (!m)
		return;
	for (int i = 0; i < ER_NCOLS; i++) {
		free((void *)(uintptr_t)m->canon[i]);
		m->canon[i] = NULL;
	}
}

/* --------------------------------------------------------------- header */

/* Index of the one header field equal to name (trimmed, case-insensitive):
 * -1 none, -2 more than one (*dup1, *dup2 set). */
static int find_col(const er_field *fields, int n, const char *name, size_t nlen,
                    int *dup1, int *dup2)
{
	int found = -1;
	for (int i = 0; i < n; i++) {
		const char *s = fields[i].p;
		size_t len = fields[i].n;
		if (!s)
			continue;
		trim(&s, &len);
		if (len != nlen)
			continue;
		size_t k = 0;
		for (; k < len; k++) {
			unsigned char a = (unsigned char)s[k], b = (unsigned char)name[k];
			if (a >= 'A' && a <= 'Z')
				a += 32;
			if (b >= 'A' && b <= 'Z')
				b += 32;
			if (a != b)
				break;
		}
		if (k < len)
			continue;
		if (found >= 0) {
			*dup1 = found;
			*dup2 = i;
			return -2;
		}
		found = i;
	}
	return found;
}

int er_header_build(const er_field *fields, int n, const er_colmap *m,
                    const char *keep, er_header *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	h->nfields = n;
	for (int c = 0; c < ER_NCOLS; c++)
		h->col_of[c] = -1;
	for (int k = 0; k < ER_MAX_KEEP; k++)
		h->keep_idx[k] = -1;

	for (int c = 0; c < ER_NCOLS; c++) {
		const char *name = m && m->canon[c] ? m->canon[c] : col_names[c];
		size_t nlen = strlen(name);
		trim(&name, &nlen);
		int d1 = 0, d2 = 0;
		int idx = find_col(fields, n, name, nlen, &d1, &d2);
		if (idx == -2) {
			er_errf(err, errlen, "duplicate column '%.*s' (columns %d and %d)",
			       SHOWN(nlen), name, d1 + 1, d2 + 1);
			return -1;
		}
		h->col_of[c] = idx;
	}
	static const int required[] = { ER_COL_SHIPMENT_ID, ER_COL_ARRIVAL_DATE };
	for (size_t r = 0; r < sizeof required / sizeof required[0]; r++) {
		int c = required[r];
		if (h->col_of[c] >= 0)
			continue;
		if (m && m->canon[c])
			er_errf(err, errlen, "missing required column '%s' (mapped to header '%.*s')",
			       col_names[c], SHOWN(strlen(m->canon[c])), m->canon[c]);
		else
			er_errf(err, errlen, "missing required column '%s'", col_names[c]);
		return -1;
	}

	if (!keep)
		return 0;
	const char *s = keep;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return 0; /* --keep "" keeps nothing */
	s = keep;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		const char *name = s;
		trim(&name, &len);
		if (len == 0) {
			er_errf(err, errlen, "empty column name in --keep '%.*s'", SHOWN(strlen(keep)), keep);
			return -1;
		}
		if (h->nkeep == ER_MAX_KEEP) {
			er_errf(err, errlen, "too many --keep columns (at most %d)", ER_MAX_KEEP);
			return -1;
		}
		int d1 = 0, d2 = 0;
		int idx = find_col(fields, n, name, len, &d1, &d2);
		if (idx == -1) {
			er_errf(err, errlen, "--keep column '%.*s' not in header", SHOWN(len), name);
			return -1;
		}
		if (idx == -2) {
			er_errf(err, errlen, "duplicate column '%.*s' (columns %d and %d)", SHOWN(len),
			       name, d1 + 1, d2 + 1);
			return -1;
		}
		h->keep_idx[h->nkeep++] = idx;
		if (!comma)
			break;
		s = comma + 1;
	}
	return 0;
}
