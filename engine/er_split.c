/* er_split.c - stage 2: cut the byte stream into records (see er_split.h).
 *
 * The scanner is a small state machine that mirrors libcsv 3.0.3 in
 * CSV_STRICT | CSV_STRICT_FINI mode on exactly two questions: where does a
 * record end, and is it malformed. It never builds fields; the parser does.
 *
 *   LINE        start of a physical line (libcsv ROW_NOT_BEGUN): blanks are
 *               skipped, a line break here is a blank line (no record)
 *   FIELD       outside quotes in an unquoted field or between fields
 *               (FIELD_NOT_BEGUN / unquoted FIELD_BEGUN)
 *   QUOTED      inside a quoted field: CR and LF are data
 *   QUOTE_SEEN  just after a quote inside a quoted field: "" or the end
 *   AFTER_QUOTE blanks after a closing quote (FIELD_MIGHT_HAVE_ENDED, spaces>0)
 *   DISCARD     skipping the rest of a bad line, without buffering it
 *
 * In FIELD the scan only looks for CR, LF and '"'; when it meets a quote it
 * looks back over blanks to decide whether the quote opens a field (legal)
 * or sits inside an unquoted field (libcsv's strict error). That keeps the
 * hot loop a three-byte search.
 *
 * A record always starts at the beginning of a physical line, so resyncing
 * after a bad record means rescanning from the line after its start line:
 * the bytes of the current record stay in the input buffer until it ends.
 */
#include "er_split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "er_util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define QUOTE '"'
#define NONE ((size_t)-1)
#define IN_START ((size_t)64 * 1024) /* input buffer to start with: the usual read size */
#define ER_SPLIT_MAX_BYTES ((size_t)1 << 30) /* keeps er_rec offsets in 32 bits */

enum { ST_BOM, ST_LINE, ST_FIELD, ST_QUOTED, ST_QUOTE_SEEN, ST_AFTER_QUOTE, ST_DISCARD };

/* What the scanner asks of its caller. */
enum { SCAN_MORE, SCAN_FULL, SCAN_EOF, SCAN_NOMEM };

struct er_splitter {
	er_read_fn fn;
	void *ctx;
	er_split_opts o;

	char *in;          /* input bytes [0, end); [rec, end) must be kept */
	size_t cap, maxcap, end;
	size_t pos;        /* scan cursor */
	size_t rec;        /* start of the current line/record (== pos in DISCARD) */
	size_t first_brk;  /* first (quoted) line break of the record, or NONE */
	int state;
	int has_quote;     /* the current record contains the quote char */
	int skip_lf;       /* the last terminator was CR: an LF right after it is part of it */
	int eof;
	int failed;        /* sticky: -1 from now on */
	int nomem;
	uint64_t line;     /* physical line of the byte at pos */
	uint64_t rec_line; /* line where the current record starts */
	unsigned char last;/* last byte read (for er_splitter_lines) */
	uint64_t total;    /* bytes read */
	int bom;           /* a BOM was skipped */

	/* A reject whose raw bytes or resync are still in progress. */
	int pend;          /* a reject is pending */
	int collect;       /* still appending raw bytes of its first line */
	er_rec prec;
};

/* ------------------------------------------------------------ recbuf */

void er_recbuf_free(er_recbuf *rb)
{
	if (!rb)
		return;
	free(rb->buf);
	free(rb->recs);
	memset(rb, 0, sizeof *rb);
}

/* Room for extra record bytes: the same growth as every er_buf. */
static int rb_reserve(er_recbuf *rb, size_t extra)
{
	if (rb->cap - rb->len >= extra)
		return 0;
	er_buf b = { rb->buf, rb->len, rb->cap };
	if (er_buf_grow(&b, extra) < 0)
		return -1;
	rb->buf = b.p;
	rb->cap = b.cap;
	return 0;
}

static er_rec *rb_new_rec(er_recbuf *rb)
{
	if (rb->n == rb->cap_recs) {
		uint32_t cap = rb->cap_recs ? rb->cap_recs * 2 : 256;
		if (cap < rb->cap_recs)
			return NULL;
		er_rec *r = realloc(rb->recs, (size_t)cap * sizeof *r);
		if (!r)
			return NULL;
		rb->recs = r;
		rb->cap_recs = cap;
	}
	return &rb->recs[rb->n++];
}

/* ----------------------------------------------------------- scanning */

/* First CR, LF or quote in p[i, n), or n. */
static inline size_t find3(const char *p, size_t i, size_t n)
{
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n'), q = _mm_set1_epi8(QUOTE);
	while (i + 32 <= n) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16));
		__m128i ma = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf)),
		                          _mm_cmpeq_epi8(a, q));
		__m128i mb = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, cr), _mm_cmpeq_epi8(b, lf)),
		                          _mm_cmpeq_epi8(b, q));
		unsigned bits = (unsigned)_mm_movemask_epi8(ma) | (unsigned)_mm_movemask_epi8(mb) << 16;
		if (bits)
			return i + (size_t)__builtin_ctz(bits);
		i += 32;
	}
	if (i + 16 <= n) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i ma = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf)),
		                          _mm_cmpeq_epi8(a, q));
		unsigned bits = (unsigned)_mm_movemask_epi8(ma);
		if (bits)
			return i + (size_t)__builtin_ctz(bits);
		i += 16;
	}
#endif
	for (; i < n; i++) {
		char c = p[i];
		if (c == '\r' || c == '\n' || c == QUOTE)
			return i;
	}
	return n;
}

/* First CR or LF in p[i, n), or n. */
static inline size_t find_brk(const char *p, size_t i, size_t n)
{
	for (;;) {
		i = find3(p, i, n);
		if (i == n || p[i] != QUOTE)
			return i;
		i++;
	}
}

/* libcsv's blanks: space and tab, unless one of them is the delimiter. */
static inline int is_blank(int c, int delim)
{
	return (c == ' ' || c == '\t') && c != delim;
}

static int emit_record(er_splitter *s, er_recbuf *rb, size_t from, size_t to)
{
	size_t len = to - from;
	if (rb_reserve(rb, len) < 0)
		return -1;
	er_rec *r = rb_new_rec(rb);
	if (!r)
		return -1;
	r->line = s->rec_line;
	r->off = (uint32_t)rb->len;
	r->len = (uint32_t)len;
	r->flags = s->has_quote ? ER_REC_QUOTED : 0;
	r->reject = ER_REJ_NONE;
	memcpy(rb->buf + rb->len, s->in + from, len);
	rb->len += len;
	return 0;
}

/* Append up to max_raw bytes of raw to the pending reject. */
static int raw_append(er_splitter *s, er_recbuf *rb, size_t from, size_t to)
{
	size_t n = to - from;
	size_t room = s->o.max_raw - s->prec.len;
	if (n > room) {
		n = room;
		s->prec.flags |= ER_REC_TRUNCATED;
	}
	if (n) {
		if (rb_reserve(rb, n) < 0)
			return -1;
		memcpy(rb->buf + rb->len, s->in + from, n);
		rb->len += n;
		s->prec.len += (uint32_t)n;
	}
	return 0;
}

static int pend_finish(er_splitter *s, er_recbuf *rb)
{
	er_rec *r = rb_new_rec(rb);
	if (!r)
		return -1;
	*r = s->prec;
	s->pend = 0;
	s->collect = 0;
	return 0;
}

static void start_line(er_splitter *s, size_t p)
{
	s->pos = s->rec = p;
	s->first_brk = NONE;
	s->state = ST_LINE;
}

/*
 * Start a reject for the current record. Its raw bytes are the record's first
 * physical line. If that line ended inside the record (a quoted line break),
 * rescan from the line after it, unless discard_here asks to skip the rest of
 * the current line instead (over-long record outside quotes). If the first
 * line has not ended yet, the rest of it is discarded (its bytes going to raw)
 * from pos on. Returns 1 when the reject is complete, 0 when discarding, -1.
 */
static int reject(er_splitter *s, er_recbuf *rb, int why, int discard_here)
{
	s->pend = 1;
	s->prec.line = s->rec_line;
	s->prec.off = (uint32_t)rb->len;
	s->prec.len = 0;
	s->prec.flags = 0;
	s->prec.reject = (uint16_t)why;
	if (s->first_brk != NONE) {
		if (raw_append(s, rb, s->rec, s->first_brk) < 0)
			return -1;
		if (discard_here) {
			s->collect = 0;
			s->state = ST_DISCARD;
			s->rec = s->pos;
			s->first_brk = NONE;
			return 0;
		}
		size_t b = s->first_brk;
		s->skip_lf = s->in[b] == '\r';
		s->line = s->rec_line + 1;
		start_line(s, b + 1);
		return pend_finish(s, rb) < 0 ? -1 : 1;
	}
	if (raw_append(s, rb, s->rec, s->pos) < 0)
		return -1;
	s->collect = 1;
	s->state = ST_DISCARD;
	s->rec = s->pos;
	return 0;
}

/* The record ends at t (a CR or LF outside quotes, index t). */
static int end_record(er_splitter *s, er_recbuf *rb, size_t t)
{
	if (emit_record(s, rb, s->rec, t) < 0)
		return -1;
	s->skip_lf = s->in[t] == '\r';
	s->line++;
	start_line(s, t + 1);
	return 0;
}

#define FULL() (rb->len >= s->o.chunk_bytes)

/* Scan buffered bytes. SCAN_MORE: needs input; SCAN_FULL: the run is complete;
 * SCAN_EOF: all input consumed; SCAN_NOMEM. */
static int scan(er_splitter *s, er_recbuf *rb)
{
	const int delim = (unsigned char)s->o.delim;
	const size_t maxrec = s->o.max_record;
	const char *in = s->in;
	const size_t end = s->end;
	int r;

	for (;;) {
		switch (s->state) {
		case ST_BOM:
			if (end - s->pos < 3 && !s->eof)
				return SCAN_MORE;
			if (end - s->pos >= 3 && memcmp(in + s->pos, "\xEF\xBB\xBF", 3) == 0) {
				s->pos += 3;
				s->bom = 1;
			}
			start_line(s, s->pos);
			break;

		case ST_LINE: {
			size_t p = s->pos;
			int c = 0;
			for (; p < end; p++) {
				c = (unsigned char)in[p];
				if (s->skip_lf) {
					s->skip_lf = 0;
					if (c == '\n') {
						s->rec = p + 1;
						continue;
					}
				}
				if (is_blank(c, delim)) {
					/* A blank line never buffers more than max_record; the
					 * dropped blanks would be trimmed by libcsv anyway. */
					if (p + 1 - s->rec > maxrec)
						s->rec = p + 1;
					continue;
				}
				if (c == '\r' || c == '\n') {
					s->line++;
					s->skip_lf = c == '\r';
					s->rec = p + 1;
					continue;
				}
				break;
			}
			s->pos = p;
			if (p == end)
				return s->eof ? SCAN_EOF : SCAN_MORE;
			s->rec_line = s->line;
			s->first_brk = NONE;
			if (c == QUOTE) {
				s->has_quote = 1;
				s->state = ST_QUOTED;
				s->pos = p + 1;
			} else {
				s->has_quote = 0;
				s->state = ST_FIELD;
			}
			break;
		}

		case ST_FIELD: {
			size_t lim = end - s->rec > maxrec ? s->rec + maxrec + 1 : end;
			size_t t = find3(in, s->pos, lim);
			if (t == lim) {
				s->pos = lim;
				if (lim - s->rec > maxrec) {
					r = reject(s, rb, ER_REJ_RECORD_TOO_LONG, 1);
					goto rejected;
				}
				if (!s->eof)
					return SCAN_MORE;
				if (emit_record(s, rb, s->rec, end) < 0)
					return SCAN_NOMEM;
				start_line(s, end);
				if (FULL())
					return SCAN_FULL;
				break;
			}
			if (in[t] == QUOTE) {
				size_t j = t;
				while (j > s->rec && is_blank((unsigned char)in[j - 1], delim))
					j--;
				s->pos = t;
				if (j > s->rec && (unsigned char)in[j - 1] != delim) {
					r = reject(s, rb, ER_REJ_BAD_QUOTE, 0);
					goto rejected;
				}
				s->has_quote = 1;
				s->state = ST_QUOTED;
				s->pos = t + 1;
				break;
			}
			if (end_record(s, rb, t) < 0)
				return SCAN_NOMEM;
			if (FULL())
				return SCAN_FULL;
			break;
		}

		case ST_QUOTED: {
			size_t lim = end - s->rec > maxrec ? s->rec + maxrec + 1 : end;
			size_t p = s->pos;
			for (;;) {
				size_t t = find3(in, p, lim);
				if (t == lim) {
					p = lim;
					break;
				}
				p = t + 1;
				if (in[t] == QUOTE) {
					s->state = ST_QUOTE_SEEN;
					break;
				}
				/* CR, LF and CRLF inside quotes: one physical line each.
				 * in[t - 1] exists: the opening quote precedes t. */
				if (in[t] == '\r' || in[t - 1] != '\r')
					s->line++;
				if (s->first_brk == NONE)
					s->first_brk = t;
			}
			s->pos = p;
			if (s->state == ST_QUOTE_SEEN)
				break;
			if (p - s->rec > maxrec) {
				r = reject(s, rb, ER_REJ_RECORD_TOO_LONG, 0);
				goto rejected;
			}
			if (!s->eof)
				return SCAN_MORE;
			r = reject(s, rb, ER_REJ_UNTERMINATED_QUOTE, 0);
			goto rejected;
		}

		case ST_QUOTE_SEEN:
		case ST_AFTER_QUOTE: {
			size_t p = s->pos;
			if (p - s->rec > maxrec) {
				/* Just after a quote we may still be inside the field:
				 * treat it as inside quotes and rescan. */
				r = reject(s, rb, ER_REJ_RECORD_TOO_LONG, s->state == ST_AFTER_QUOTE);
				goto rejected;
			}
			if (p == end) {
				if (!s->eof)
					return SCAN_MORE;
				if (emit_record(s, rb, s->rec, end) < 0)
					return SCAN_NOMEM;
				start_line(s, end);
				if (FULL())
					return SCAN_FULL;
				break;
			}
			int c = (unsigned char)in[p];
			if (c == QUOTE && s->state == ST_QUOTE_SEEN) {
				s->state = ST_QUOTED; /* "" = an escaped quote */
				s->pos = p + 1;
			} else if (c == delim) {
				s->state = ST_FIELD;
				s->pos = p + 1;
			} else if (c == '\r' || c == '\n') {
				if (end_record(s, rb, p) < 0)
					return SCAN_NOMEM;
				if (FULL())
					return SCAN_FULL;
			} else if (is_blank(c, delim)) {
				s->state = ST_AFTER_QUOTE;
				s->pos = p + 1;
			} else {
				r = reject(s, rb, ER_REJ_BAD_QUOTE, 0);
				goto rejected;
			}
			break;
		}

		case ST_DISCARD: {
			size_t t = find_brk(in, s->pos, end);
			if (s->collect && raw_append(s, rb, s->pos, t) < 0)
				return SCAN_NOMEM;
			if (t == end) {
				s->pos = s->rec = end; /* nothing here needs keeping */
				if (!s->eof)
					return SCAN_MORE;
				if (pend_finish(s, rb) < 0)
					return SCAN_NOMEM;
				start_line(s, end);
				if (FULL())
					return SCAN_FULL;
				break;
			}
			s->skip_lf = in[t] == '\r';
			s->line++;
			start_line(s, t + 1);
			if (pend_finish(s, rb) < 0)
				return SCAN_NOMEM;
			if (FULL())
				return SCAN_FULL;
			break;
		}
		}
		continue;

	rejected:
		if (r < 0)
			return SCAN_NOMEM;
		if (r > 0 && FULL())
			return SCAN_FULL;
	}
}

/* Make room for a read and read once. 1 = bytes or EOF, -1 = read error,
 * -2 = no memory. The buffer only grows while one record fills most of it,
 * so it stays at IN_START for ordinary data and never exceeds maxcap. */
static int refill(er_splitter *s)
{
	if (s->cap - s->end < s->cap / 4) {
		size_t keep = s->rec;
		if (keep > 0) {
			/* Everything before rec is done with; slide the rest down. */
			memmove(s->in, s->in + keep, s->end - keep);
			s->end -= keep;
			s->pos -= keep;
			s->rec = 0;
			if (s->first_brk != NONE)
				s->first_brk -= keep;
		}
		if (s->cap - s->end < s->cap / 2 && s->cap < s->maxcap) {
			size_t ncap = s->cap * 2 < s->maxcap ? s->cap * 2 : s->maxcap;
			char *p = realloc(s->in, ncap);
			if (!p)
				return -2;
			s->in = p;
			s->cap = ncap;
		}
	}
	ssize_t n = s->fn(s->ctx, s->in + s->end, s->cap - s->end);
	if (n < 0)
		return -1;
	if (n == 0) {
		s->eof = 1;
		return 1;
	}
	if ((size_t)n > s->cap - s->end)
		return -1; /* a read function that overflows its buffer is broken */
	s->end += (size_t)n;
	s->total += (uint64_t)n;
	s->last = (unsigned char)s->in[s->end - 1];
	return 1;
}

er_splitter *er_splitter_new(er_read_fn fn, void *ctx, const er_split_opts *o)
{
	if (!fn || !o)
		return NULL;
	char d = o->delim ? o->delim : ',';
	if (d == QUOTE || d == '\r' || d == '\n')
		return NULL;
	if (o->chunk_bytes > ER_SPLIT_MAX_BYTES || o->max_record > ER_SPLIT_MAX_BYTES ||
	    o->max_raw > ER_SPLIT_MAX_BYTES)
		return NULL;
	er_splitter *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->fn = fn;
	s->ctx = ctx;
	s->o = *o;
	s->o.delim = d;
	/* A partial record never exceeds max_record + 1 bytes when we read, so
	 * this always leaves room for a read of IN_START bytes. */
	s->maxcap = o->max_record + 1 + IN_START;
	s->cap = IN_START;
	s->in = malloc(s->cap);
	if (!s->in) {
		free(s);
		return NULL;
	}
	s->line = 1;
	s->first_brk = NONE;
	s->state = ST_BOM;
	return s;
}

void er_splitter_free(er_splitter *s)
{
	if (!s)
		return;
	free(s->in);
	free(s);
}

int er_splitter_next(er_splitter *s, er_recbuf *rb)
{
	rb->len = 0;
	rb->n = 0;
	if (s->failed)
		return -1;
	for (;;) {
		int st = scan(s, rb);
		if (st == SCAN_FULL)
			return 1;
		if (st == SCAN_EOF)
			return rb->n > 0;
		if (st == SCAN_NOMEM)
			goto nomem;
		int rc = refill(s);
		if (rc == -2)
			goto nomem;
		if (rc < 0) {
			s->failed = 1;
			if (s->pend)
				rb->len = s->prec.off; /* drop an unfinished reject */
			return rb->n > 0 ? 1 : -1;
		}
	}
nomem:
	s->failed = 1;
	s->nomem = 1;
	rb->len = 0;
	rb->n = 0;
	errno = ENOMEM;
	return -1;
}

int er_splitter_nomem(const er_splitter *s)
{
	return s->nomem;
}

uint64_t er_splitter_lines(const er_splitter *s)
{
	/* A last line without terminator counts too. */
	int open = s->total > (s->bom ? 3u : 0u) && s->last != '\r' && s->last != '\n';
	return s->line - 1 + (open ? 1u : 0u);
}
