/* er_util.c - small shared helpers (see er_util.h). */
#include "er_util.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---------------------------------------------------------------- buffers */

void er_copy_long(char *o, const char *p, size_t n)
{
	memcpy(o, p, n);
}

int er_buf_grow(er_buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t need = b->len + extra;
	if (need < b->len) {
		errno = ENOMEM;
		return -1;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap * 2 > cap ? cap * 2 : need;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int er_buf_puts(er_buf *b, const char *s)
{
	return er_buf_append(b, s, strlen(s));
}

int er_buf_printf(er_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || er_buf_reserve(b, (size_t)n + 1) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int er_buf_csv_field(er_buf *b, const char *p, size_t n, char delim)
{
	if (!er_csv_needs_quotes(p, n, delim))
		return er_buf_append(b, p, n); /* short fields in line: er_copy_short */
	size_t quotes = 0;
	for (size_t i = 0; i < n; i++)
		quotes += p[i] == '"';
	if (er_buf_reserve(b, n + quotes + 2) < 0)
		return -1;
	b->len = (size_t)(er_csv_put_quoted(b->p + b->len, p, n) - b->p);
	return 0;
}

char *er_csv_put_quoted(char *o, const char *p, size_t n)
{
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			*o++ = '"';
		*o++ = p[i];
	}
	*o++ = '"';
	return o;
}

void er_buf_free(er_buf *b)
{
	if (!b)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ dates */

/* Days from civil date: the well-known era-based computation (public
 * algorithm by H. Hinnant, rewritten here). */
int32_t er_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + doe - 719468);
}

void er_civil_from_days(int32_t z, int *y, int *m, int *d)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int yy = yoe + era * 400;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yy + (*m <= 2);
}

static int days_in_month(int y, int m)
{
	static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* One compare per digit: every row parses three dates. */
static inline int digits(const char *p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + (int)d;
	}
	*out = v;
	return 0;
}

int er_parse_date_ref(const char *p, size_t n, int32_t *day)
{
	int y, m, d;
	if (n != 10 || p[4] != '-' || p[7] != '-')
		return -1;
	if (digits(p, 4, &y) || digits(p + 5, 2, &m) || digits(p + 8, 2, &d))
		return -1;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*day = er_days_from_civil(y, m, d);
	return 0;
}

void er_format_date(int32_t day, char out[11])
{
	int y, m, d;
	er_civil_from_days(day, &y, &m, &d);
	unsigned uy = (unsigned)y % 10000u, um = (unsigned)m % 100u, ud = (unsigned)d % 100u;
	out[0] = (char)('0' + uy / 1000); out[1] = (char)('0' + uy / 100 % 10);
	out[2] = (char)('0' + uy / 10 % 10); out[3] = (char)('0' + uy % 10);
	out[4] = '-'; out[5] = (char)('0' + um / 10); out[6] = (char)('0' + um % 10);
	out[7] = '-'; out[8] = (char)('0' + ud / 10); out[9] = (char)('0' + ud % 10);
	out[10] = '\0';
}

int32_t er_today(void)
{
	return (int32_t)(time(NULL) / 86400);
}

int er_parse_timestamp_ref(const char *p, size_t n, int64_t *secs)
{
	int32_t day;
	if (n < 10 || er_parse_date_ref(p, 10, &day) < 0)
		return -1;
	int64_t t = (int64_t)day * 86400;
	size_t i = 10;
	if (i < n) {
		int hh, mm, ss = 0;
		if ((p[i] != 'T' && p[i] != ' ') || n < i + 6 || p[i + 3] != ':')
			return -1;
		if (digits(p + i + 1, 2, &hh) || digits(p + i + 4, 2, &mm) || hh > 23 || mm > 59)
			return -1;
		i += 6;
		if (i < n && p[i] == ':') {
			if (n < i + 3 || digits(p + i + 1, 2, &ss) || ss > 60)
				return -1;
			i += 3;
			if (i < n && (p[i] == '.' || p[i] == ',')) {
				size_t j = i + 1;
				while (j < n && p[j] >= '0' && p[j] <= '9')
					j++;
				if (j == i + 1)
					return -1;
				i = j; /* fractions of a second do not matter at this scale */
			}
		}
		t += hh * 3600 + mm * 60 + ss;
		if (i < n) {
			if (p[i] == 'Z' && i + 1 == n) {
				i++;
			} else if (p[i] == '+' || p[i] == '-') {
				int oh, om;
				int sign = p[i] == '-' ? -1 : 1;
				size_t rest = n - i - 1;
				const char *q = p + i + 1;
				if (rest == 5 && q[2] == ':') {
					if (digits(q, 2, &oh) || digits(q + 3, 2, &om))
						return -1;
				} else if (rest == 4) {
					if (digits(q, 2, &oh) || digits(q + 2, 2, &om))
						return -1;
				} else if (rest == 2) {
					if (digits(q, 2, &oh))
						return -1;
					om = 0;
				} else {
					return -1;
				}
				if (oh > 14 || om > 59)
					return -1;
				t -= sign * (oh * 3600 + om * 60);
				i = n;
			} else {
				return -1;
			}
		}
	}
	if (i != n)
		return -1;
	*secs = t;
	return 0;
}

/* ---- the fast path of the common shapes ----
 * Every row parses an arrival date and two timestamps, nearly always
 * "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SS" with "Z" or "+HH:MM": those are
 * checked eight bytes at a time and the day number comes from a table of
 * month starts, for the years 1901-2099 (where every fourth year is a leap
 * year). The fast path either gives the answer or declines; the reference
 * parsers above decide everything it declines (test_util holds the two to
 * the same answers). */

/* Eight bytes at p, little-endian whatever the platform. */
static inline uint64_t load_le64(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint64_t)u[0] | (uint64_t)u[1] << 8 | (uint64_t)u[2] << 16 | (uint64_t)u[3] << 24 |
	       (uint64_t)u[4] << 32 | (uint64_t)u[5] << 40 | (uint64_t)u[6] << 48 |
	       (uint64_t)u[7] << 56;
}

/* x: eight bytes XOR the wanted shape ('0' at the digits, the separators
 * at theirs): a digit byte becomes 0..9 only for '0'..'9', a separator byte
 * (sep_mask) 0 only for the separator. 1 when all of them are so. */
static inline int shape_ok(uint64_t x, uint64_t sep_mask)
{
	/* a byte >= 10 sets its top bit in x + 0x76 (or has it set already) */
	return (((x | (x + 0x7676767676767676ull)) & 0x8080808080808080ull) | (x & sep_mask)) == 0;
}

#define BYTE(x, i) ((unsigned)((x) >> (8 * (i))) & 0xFFu)

/* x with digit values 0..9 in its bytes: byte i of the result is the
 * two-digit number of bytes i and i + 1 (10 * 9 + 9 fits a byte, so no
 * byte carries into the next). */
static inline uint64_t pairs(uint64_t x)
{
	return x * 10 + (x >> 8);
}

/* Days before each month ([1] January .. [12] December) and days in it, in
 * a common year (row 0) and a leap year (row 1). */
static const int16_t month_start[2][13] = {
	{ 0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 },
	{ 0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335 },
};
static const unsigned char month_days[2][13] = {
	{ 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 },
	{ 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 },
};

/* "YYYY-MM-DD" at p (10 bytes readable) for 1901-2099: 0 with *day, or -1
 * to decline. */
static inline int date_fast(const char *p, int32_t *day)
{
	/* "YYYY-MM-": '0' at the digits, '-' at bytes 4 and 7 */
	uint64_t x = load_le64(p) ^ 0x2D30302D30303030ull;
	if (!shape_ok(x, 0xFF0000FF00000000ull))
		return -1;
	unsigned d1 = (unsigned)(unsigned char)p[8] - '0', d2 = (unsigned)(unsigned char)p[9] - '0';
	if (d1 > 9 || d2 > 9)
		return -1;
	uint64_t t = pairs(x); /* byte 0: century digits, 2: year in century, 5: month */
	unsigned y = BYTE(t, 0) * 100 + BYTE(t, 2), m = BYTE(t, 5), d = d1 * 10 + d2;
	if (y - 1901u > 2099u - 1901u || m - 1u > 11u || d == 0)
		return -1;
	unsigned leap = (y & 3u) == 0; /* no century rule between 1901 and 2099 */
	if (d > month_days[leap][m])
		return -1;
	/* leap days in [1970, y): the multiples of 4 in it */
	int yy = (int)y;
	*day = (int32_t)((yy - 1970) * 365 + (yy - 1) / 4 - 492 + month_start[leap][m] + (int)d - 1);
	return 0;
}

int er_parse_date(const char *p, size_t n, int32_t *day)
{
	if (n == 10 && date_fast(p, day) == 0)
		return 0;
	return er_parse_date_ref(p, n, day);
}

int er_parse_timestamp(const char *p, size_t n, int64_t *secs)
{
	int32_t day;
	/* "YYYY-MM-DD?HH:MM:SS" then nothing, "Z" or "+HH:MM"/"-HH:MM" */
	if ((n == 19 || n == 20 || n == 25) && (p[10] == 'T' || p[10] == ' ') &&
	    date_fast(p, &day) == 0) {
		uint64_t x = load_le64(p + 11) ^ 0x30303A30303A3030ull; /* "00:00:00" */
		if (shape_ok(x, 0x0000FF0000FF0000ull)) {
			uint64_t pr = pairs(x);
			unsigned hh = BYTE(pr, 0), mm = BYTE(pr, 3), ss = BYTE(pr, 6);
			int64_t t = (int64_t)day * 86400 + (int64_t)(hh * 3600 + mm * 60 + ss);
			if (hh <= 23 && mm <= 59 && ss <= 60) {
				if (n == 19) {
					*secs = t;
					return 0;
				}
				if (n == 20 && p[19] == 'Z') {
					*secs = t;
					return 0;
				}
				if (n == 25 && (p[19] == '+' || p[19] == '-') && p[22] == ':') {
					unsigned a = (unsigned)(unsigned char)p[20] - '0',
					         b = (unsigned)(unsigned char)p[21] - '0',
					         c = (unsigned)(unsigned char)p[23] - '0',
					         e = (unsigned)(unsigned char)p[24] - '0';
					unsigned oh = a * 10 + b, om = c * 10 + e;
					if (a <= 9 && b <= 9 && c <= 9 && e <= 9 && oh <= 14 && om <= 59) {
						int64_t off = (int64_t)(oh * 3600 + om * 60);
						*secs = p[19] == '-' ? t + off : t - off;
						return 0;
					}
				}
			}
		}
	}
	return er_parse_timestamp_ref(p, n, secs);
}

#ifdef __SSE2__
/* er_number_valid for 4..16 bytes: the bytes as two overlapping halves of
 * one vector (4 or 8 bytes each), every byte a digit or a dot, and the dots
 * counted once per byte (the second half's lanes that repeat bytes of the
 * first are masked off). */
static int number_valid_vec(const char *p, size_t n)
{
	unsigned all; /* lanes holding bytes */
	const __m128i x = er_load_ends16(p, n, &all);
	/* lanes of new bytes in the second half: lane 8 + j holds byte n - 8 + j,
	 * new when j >= 16 - n (lane 4 + j, byte n - 4 + j, new when j >= 8 - n) */
	const unsigned second = n >= 8 ? (0xFFu << (24 - n)) & 0xFF00u : (0xFu << (12 - n)) & 0xF0u;
	const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));
	unsigned digit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d));
	unsigned dot = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
	if (((digit | dot) & all) != all)
		return 0;
	/* the dots of distinct bytes; at most one (then, with 4 bytes or more,
	 * there is a digit too) */
	unsigned dm = dot & ((n >= 8 ? 0xFFu : 0xFu) | second);
	return (dm & (dm - 1)) == 0;
}
#endif

int er_number_valid(const char *p, size_t n)
{
#ifdef __SSE2__
	if (n >= 4 && n <= 16)
		return number_valid_vec(p, n);
#endif
	if (n == 0 || n > 64)
		return 0;
	int nd = 0, dots = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			nd++;
		else if (p[i] == '.' && !dots)
			dots++;
		else
			return 0;
	}
	return nd > 0;
}

int er_parse_number(const char *p, size_t n, double *out)
{
	/* Syntax is checked by hand (digits, one optional '.', no sign or
	 * exponent); strtod computes the correctly rounded value. */
	char tmp[65];
	if (!er_number_valid(p, n))
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

/* ------------------------------------------------------------------ UTF-8 */

int er_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		/* ASCII runs, 8 bytes at a time: the common case for manifests. */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		unsigned c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned min;
		unsigned cp;
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2; cp = c & 0x1F; min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3; cp = c & 0x0F; min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4; cp = c & 0x07; min = 0x10000;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			unsigned cc = p[i + k];
			if ((cc & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (cc & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += len;
	}
	return 1;
}

/* ------------------------------------------------------------------- hash */

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 8 bytes at a time, each word folded through a 64-bit mixer; little-endian
 * loads are assembled byte-wise so the value is the same on any platform. */
uint64_t er_hash64(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = mix64(seed ^ 0x9e3779b97f4a7c15ull ^ (uint64_t)n);
	while (n >= 8) {
		uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
		             (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
		             (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
		h = mix64(h ^ w) + 0x9e3779b97f4a7c15ull;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return mix64(h ^ w ^ 0xff51afd7ed558ccdull);
}

/* ---------------------------------------------------------------- strings */

void er_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int er_ieq(const char *p, size_t n, const char *s)
{
	size_t i = 0;
	for (; i < n; i++) {
		unsigned char a = (unsigned char)p[i], b = (unsigned char)s[i];
		if (!b)
			return 0;
		if (a >= 'a' && a <= 'z')
			a -= 32;
		if (b >= 'a' && b <= 'z')
			b -= 32;
		if (a != b)
			return 0;
	}
	return s[i] == '\0';
}

void er_trim_slow(const char **p, size_t *n)
{
	const char *s = *p;
	size_t len = *n;
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	*p = s;
	*n = len;
}

int er_cpu_count(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		int n = CPU_COUNT(&set);
		if (n > 0)
			return n;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* ------------------------------------------------------------ whole files */

int er_read_file(const char *path, size_t limit, const volatile int *cancel, er_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EINTR && cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))
			errno = ECANCELED; /* a FIFO without writer: open blocks until the signal */
		return -1;
	}
	struct stat st;
	int may_block = fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
	for (;;) {
		if ((cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED)) ||
		    (may_block && er_wait_readable(fd, cancel) < 0)) {
			close(fd);
			errno = ECANCELED;
			return -1;
		}
		/* Room for one byte past the limit, so "exactly at the limit" and
		 * "over it" are told apart without reading on. */
		if (er_buf_reserve(b, 65536) < 0) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		size_t room = b->cap - b->len;
		if (room > limit + 1 - b->len)
			room = limit + 1 - b->len;
		ssize_t got = read(fd, b->p + b->len, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (got == 0)
			break;
		b->len += (size_t)got;
		if (b->len > limit) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	return 0;
}

void er_hex(const void *p, size_t n, char *out)
{
	static const char digits16[] = "0123456789abcdef";
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits16[b[i] >> 4];
		out[2 * i + 1] = digits16[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int er_thread_start(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(tid, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int er_wait_readable(int fd, const volatile int *cancel)
{
	if (!cancel)
		return 0;
	/* Signals are blocked from the flag check until ppoll atomically
	 * unblocks them while it waits: a signal that comes after the check
	 * interrupts the wait instead of being lost before a blocking read. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (;;) {
		if (__atomic_load_n(cancel, __ATOMIC_RELAXED)) {
			rc = -1;
			break;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int k = ppoll(&p, 1, NULL, &old);
		if (k > 0 || (k < 0 && errno != EINTR))
			break; /* readable, hung up or an error: the read reports it */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		errno = ECANCELED;
	return rc;
}
