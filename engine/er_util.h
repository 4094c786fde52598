/* er_util.h - small shared helpers: growable buffers, dates, timestamps,
 * UTF-8 checks, hashing, CSV quoting. Internal to the engine. */
#ifndef ER_UTIL_H
#define ER_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "examrisk.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Growable byte buffer. Zero-initialise (er_buf b = {0}) to start empty. */
typedef struct er_buf {
	char *p;
	size_t len, cap;
} er_buf;

/* Grow to room for extra more bytes (the slow half of er_buf_reserve). */
int er_buf_grow(er_buf *b, size_t extra);

/* Ensure room for extra bytes; returns 0 or -1 (ENOMEM). Inline: every
 * formatted field goes through these, and the room is almost always there. */
static inline int er_buf_reserve(er_buf *b, size_t extra)
{
	return b->cap - b->len >= extra ? 0 : er_buf_grow(b, extra);
}

/* memcpy, out of line: inlined, gcc's bounds checks (-Wstringop-overread,
 * which clang does not know) see a 129-byte copy from a caller's 32-byte
 * object on a path its lengths never take. */
void er_copy_long(char *o, const char *p, size_t n);

/* gcc, inlining er_copy_short into a caller that passes a small object (a
 * char[7]) with a length it cannot bound, warns of a 16- or 8-byte move from
 * it on the branch for n >= 16 or >= 8, which a length of at most 7 never
 * takes: -Warray-bounds is off for er_copy_short alone. (Its 8- and 4-byte
 * branches stay two: folded into one helper of width w, gcc reports the same
 * moves as -Wstringop-overread, which clang's -Werror would not let us name.) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"

/* Copy n bytes, reading p[0..n) and writing o[0..n) only (no overlap).
 * Up to 128 bytes it is done in line, 16 bytes a move with the last move
 * overlapping (8 or 4 below 16): most fields and roll-up records are that
 * short, and a libc call for each (a dozen a row, and every roll-up record
 * gathered in key order) cost ~12 % of the one-thread job. Longer copies
 * are memcpy's. */
static inline void er_copy_short(char *o, const char *p, size_t n)
{
	if (n >= 16) {
#ifdef __SSE2__
		if (n <= 128) {
			for (size_t i = 0; i + 16 < n; i += 16)
				_mm_storeu_si128((__m128i *)(void *)(o + i),
				                 _mm_loadu_si128((const __m128i *)(const void *)(p + i)));
			_mm_storeu_si128((__m128i *)(void *)(o + n - 16),
			                 _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16)));
			return;
		}
#endif
		er_copy_long(o, p, n);
	} else if (n >= 8) {
		uint64_t a, z;
		memcpy(&a, p, 8);
		memcpy(&z, p + n - 8, 8);
		memcpy(o, &a, 8);
		memcpy(o + n - 8, &z, 8);
	} else if (n >= 4) {
		uint32_t a, z;
		memcpy(&a, p, 4);
		memcpy(&z, p + n - 4, 4);
		memcpy(o, &a, 4);
		memcpy(o + n - 4, &z, 4);
	} else if (n) {
		o[0] = p[0];
		o[n / 2] = p[n / 2];
		o[n - 1] = p[n - 1];
	}
}

#pragma GCC diagnostic pop

static inline int er_buf_append(er_buf *b, const void *p, size_t n)
{
	if (er_buf_reserve(b, n) < 0)
		return -1;
	if (n) /* b->p is NULL while b is empty: no offset on it (UB, clang's UBSan says) */
		er_copy_short(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

#ifdef __SSE2__
/* 4..16 bytes p[0..n) as one vector: the first and the last 8 bytes (4
 * when n < 8), overlapping when n is not 16 (8); *lanes: the lanes loaded. */
static inline __m128i er_load_ends16(const char *p, size_t n, unsigned *lanes)
{
	if (n >= 8) {
		*lanes = 0xFFFFu;
		return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)p),
		                          _mm_loadl_epi64((const __m128i *)(const void *)(p + n - 8)));
	}
	int32_t a, b;
	memcpy(&a, p, 4);
	memcpy(&b, p + n - 4, 4);
	*lanes = 0xFFu;
	return _mm_unpacklo_epi32(_mm_cvtsi32_si128(a), _mm_cvtsi32_si128(b));
}

/* memcmp(a, b, n) == 0 for two objects of n bytes each, in line up to 128:
 * the look-ups compare a short key or name to a slot's after its hash and
 * length matched, a libc call each. 4..16 bytes are er_load_ends16's
 * vectors, longer ones 16 bytes at a time with the last 16 overlapping. */
static inline int er_eq_short(const char *a, const char *b, size_t n)
{
	if (n < 4)
		return !n || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
	if (n <= 16) {
		unsigned lanes;
		__m128i x = er_load_ends16(a, n, &lanes), y = er_load_ends16(b, n, &lanes);
		return ((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) & lanes) == lanes;
	}
	if (n > 128)
		return memcmp(a, b, n) == 0;
	__m128i d = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
	                          _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16)));
	for (size_t i = 0; i + 16 < n; i += 16)
		d = _mm_or_si128(d, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(a + i)),
		                                  _mm_loadu_si128((const __m128i *)(const void *)(b + i))));
	return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xFFFF;
}

/* Bytes of x equal to delim, a quote, CR or LF, as a bit mask. */
static inline unsigned er_csv_mask16(__m128i x, __m128i vd)
{
	const __m128i q = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	return (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, q)),
	                 _mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf))));
}
#else
static inline int er_eq_short(const char *a, const char *b, size_t n)
{
	return memcmp(a, b, n) == 0;
}
#endif

/* The one quoting rule of every CSV output (er_buf_csv_field, and the
 * formatters that write a line into room reserved once): a field is quoted
 * when it holds delim, a quote, CR or LF, or starts or ends with a blank (so
 * a reader that trims unquoted fields, as libcsv does, reads back the same
 * bytes). Inline: it runs for every field of every output row, and most
 * need no quotes; 4 to 16 bytes are one 16-byte test, longer ones 16 bytes
 * at a time with the last 16 overlapping. */
static inline int er_csv_needs_quotes(const char *p, size_t n, char delim)
{
	if (!n)
		return 0;
	if (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t')
		return 1;
	size_t i = 0;
#ifdef __SSE2__
	if (n >= 4) {
		const __m128i vd = _mm_set1_epi8(delim);
		if (n <= 16) {
			unsigned lanes;
			return (er_csv_mask16(er_load_ends16(p, n, &lanes), vd) & lanes) != 0;
		}
		for (; i + 16 <= n; i += 16)
			if (er_csv_mask16(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), vd))
				return 1;
		return i < n && er_csv_mask16(_mm_loadu_si128((const __m128i *)(const void *)(p + n - 16)), vd);
	}
#endif
	for (; i < n; i++)
		if (p[i] == delim || p[i] == '"' || p[i] == '\r' || p[i] == '\n')
			return 1;
	return 0;
}

/* p[0..n) quoted, its quotes doubled, at o (room for 2 n + 2); the end. */
char *er_csv_put_quoted(char *o, const char *p, size_t n);

static inline int er_buf_putc(er_buf *b, char c)
{
	if (b->len == b->cap && er_buf_grow(b, 1) < 0)
		return -1;
	b->p[b->len++] = c;
	return 0;
}
int er_buf_puts(er_buf *b, const char *s);
int er_buf_printf(er_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a field CSV-quoted by er_csv_needs_quotes (RFC 4180, and blanks at either end). */
int er_buf_csv_field(er_buf *b, const char *p, size_t n, char delim);
void er_buf_free(er_buf *b);

/* Dates are days since 1970-01-01 (proleptic Gregorian). */
/* A macro's value as a string literal. */
#define ER_STR_(x) #x
#define ER_STR(x) ER_STR_(x)
/* "ISA-L 2.30.0", the version built against (where isa-l.h is included). */
#define ER_ISAL_NAME \
	"ISA-L " ER_STR(ISAL_MAJOR_VERSION) "." ER_STR(ISAL_MINOR_VERSION) "." ER_STR(ISAL_PATCH_VERSION)

#define ER_DAY_NONE INT32_MIN
#define ER_DAY_MAX INT32_MAX
/* Parse exactly "YYYY-MM-DD" (a real calendar date, year 0001..9999). 0 ok, -1 bad. */
int er_parse_date(const char *p, size_t n, int32_t *day);
/* The same, field by field: the reference the fast path is tested against. */
int er_parse_date_ref(const char *p, size_t n, int32_t *day);
/* Write "YYYY-MM-DD" plus NUL into out[11]. */
void er_format_date(int32_t day, char out[11]);
/* Days since epoch of a civil date (no validation), and back. */
int32_t er_days_from_civil(int y, int m, int d);
void er_civil_from_days(int32_t day, int *y, int *m, int *d);
/* Today (UTC) as days since epoch. */
int32_t er_today(void);

/* ISO 8601 timestamp -> seconds since epoch (UTC). Accepts
 * "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "...:SS", optional ".fraction",
 * separator 'T' or ' ', optional "Z" or "+HH:MM"/"-HH:MM"/"+HHMM" offset.
 * No offset means UTC. 0 ok, -1 bad. */
int er_parse_timestamp(const char *p, size_t n, int64_t *secs);
/* The same without the fast path of the common shapes (the test's reference). */
int er_parse_timestamp_ref(const char *p, size_t n, int64_t *secs);

/* Non-negative decimal number ("12", "12.5", "1e3" not accepted). 0 ok, -1 bad. */
int er_parse_number(const char *p, size_t n, double *out);
/* 1 when p[0..n) is such a number (the syntax check alone, for the hot path). */
int er_number_valid(const char *p, size_t n);

/* 1 if p[0..n) is valid UTF-8 (no overlongs, no surrogates), else 0. */
int er_utf8_valid(const char *p, size_t n);

/* 64-bit hash of bytes with a seed (deterministic across runs/platforms). */
uint64_t er_hash64(const void *p, size_t n, uint64_t seed);

/* Read a whole file (or FIFO, device) into b, appending. At most limit
 * bytes: a longer file fails with errno EFBIG after reading limit + 1 bytes,
 * so an endless source (a FIFO fed from /dev/zero) fails fast. Checks
 * *cancel (may be NULL) between reads: ECANCELED. 0 ok, -1 with errno. */
int er_read_file(const char *path, size_t limit, const volatile int *cancel, er_buf *b);

/* n bytes as 2n lower-case hex digits plus NUL into out[2n + 1]. */
void er_hex(const void *p, size_t n, char *out);

/* pthread_create() with every signal blocked in the new thread: the
 * engine's threads leave SIGINT/SIGTERM to the dispatcher, whose read they
 * interrupt. The caller's mask is unchanged. pthread_create's result. */
int er_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg);

/* Wait until fd (a pipe, FIFO, socket, terminal) has data, an end or an
 * error, unless *cancel is or becomes non-zero: -1 with errno ECANCELED
 * then. Race-free against a signal that sets *cancel (ppoll with the
 * signals unblocked only while waiting). cancel NULL: returns 0 at once. */
int er_wait_readable(int fd, const volatile int *cancel);

/* Format an error message into err[errlen] (no-op when err is NULL). */
void er_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* CPUs this process may run on (sched_getaffinity: taskset, cgroups cpusets),
 * falling back to the online CPUs; at least 1. The default thread count. */
int er_cpu_count(void);

/* ASCII case-insensitive equality of p[0..n) with NUL-terminated s. */
int er_ieq(const char *p, size_t n, const char *s);

/* Trim ASCII spaces/tabs both ends. */
void er_trim_slow(const char **p, size_t *n);
static inline void er_trim(const char **p, size_t *n)
{
	/* most fields have no blank at either end: decide that inline */
	size_t len = *n;
	if (len && (*p)[0] != ' ' && (*p)[0] != '\t' && (*p)[len - 1] != ' ' && (*p)[len - 1] != '\t')
		return;
	er_trim_slow(p, n);
}

/* Column col of a parsed row with its blanks trimmed (an absent field is empty). */
static inline er_field er_row_field(const er_row *row, int col)
{
	er_field f = row->f[col];
	if (!f.p)
		f.n = 0;
	else if (f.n)
		er_trim(&f.p, &f.n);
	return f;
}

#endif
