/* Unit tests for er_util: dates, timestamps, numbers, UTF-8, CSV quoting, hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_util.h"

#define S(x) x, sizeof(x) - 1

static void test_dates(void **state)
{
	(void)state;
	int32_t d;
	assert_int_equal(er_parse_date(S("1970-01-01"), &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(er_parse_date(S("2000-03-01"), &d), 0);
	assert_int_equal(d, 11017);
	assert_int_equal(er_parse_date(S("2024-02-29"), &d), 0); /* leap year */
	assert_int_equal(d, 19782);
	assert_int_equal(er_parse_date(S("2023-02-29"), &d), -1);
	assert_int_equal(er_parse_date(S("2021-02-30"), &d), -1);
	assert_int_equal(er_parse_date(S("1900-02-29"), &d), -1); /* century, not leap */
	assert_int_equal(er_parse_date(S("2000-02-29"), &d), 0);  /* 400-year leap */
	assert_int_equal(er_parse_date(S("2021-13-01"), &d), -1);
	assert_int_equal(er_parse_date(S("2021-00-10"), &d), -1);
	assert_int_equal(er_parse_date(S("2021-1-01"), &d), -1);
	assert_int_equal(er_parse_date(S("2021/01/01"), &d), -1);
	assert_int_equal(er_parse_date(S("2021-01-01 "), &d), -1);
	assert_int_equal(er_parse_date(S("20210101"), &d), -1);
	assert_int_equal(er_parse_date(S(""), &d), -1);
	char out[11];
	er_parse_date(S("2019-12-31"), &d);
	er_format_date(d, out);
	assert_string_equal(out, "2019-12-31");
	er_format_date(d + 1, out);
	assert_string_equal(out, "2020-01-01");
	assert_int_equal(er_days_from_civil(2020, 1, 1), d + 1);
	/* years 0001..9999: 9999-12-31 is the usual open end of a period */
	assert_int_equal(er_parse_date(S("9999-12-31"), &d), 0);
	assert_int_equal(d, 2932896);
	er_format_date(d, out);
	assert_string_equal(out, "9999-12-31");
	assert_int_equal(er_parse_date(S("0001-01-01"), &d), 0);
	assert_int_equal(d, -719162);
	er_format_date(d, out);
	assert_string_equal(out, "0001-01-01");
	assert_int_equal(er_parse_date(S("1899-12-31"), &d), 0);
	assert_int_equal(er_parse_date(S("2200-01-01"), &d), 0);
	assert_int_equal(er_parse_date(S("0000-12-31"), &d), -1);
	assert_int_equal(er_parse_date(S("0004-02-29"), &d), 0); /* leap */
	int64_t ts;
	assert_int_equal(er_parse_timestamp(S("9999-12-31T23:59:59+14:00"), &ts), 0);
	assert_int_equal(ts, 2932896LL * 86400 + 86399 - 14 * 3600);
}

static void test_timestamps(void **state)
{
	(void)state;
	int64_t t, base;
	assert_int_equal(er_parse_timestamp(S("2021-02-03"), &base), 0);
	assert_int_equal(base, 18661LL * 86400);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10:00:00Z"), &t), 0);
	assert_int_equal(t, base + 36000);
	assert_int_equal(er_parse_timestamp(S("2021-02-03 10:00"), &t), 0);
	assert_int_equal(t, base + 36000);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10:00:00.250Z"), &t), 0);
	assert_int_equal(t, base + 36000);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10:00:00+02:00"), &t), 0);
	assert_int_equal(t, base + 28800);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10:00:00-0130"), &t), 0);
	assert_int_equal(t, base + 36000 + 5400);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T24:00:00Z"), &t), -1);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10:60"), &t), -1);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10"), &t), -1);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10:00:00ZZ"), &t), -1);
	assert_int_equal(er_parse_timestamp(S("2021-02-03T10:00:00+2"), &t), -1);
	assert_int_equal(er_parse_timestamp(S("2021-02-30T10:00:00Z"), &t), -1);
}

static void test_numbers(void **state)
{
	(void)state;
	double v;
	assert_int_equal(er_parse_number(S("12"), &v), 0);
	assert_true(v == 12.0);
	assert_int_equal(er_parse_number(S("12.5"), &v), 0);
	assert_true(v == 12.5);
	assert_int_equal(er_parse_number(S("0.01"), &v), 0);
	assert_true(v == 0.01); /* correctly rounded, as strtod gives */
	assert_int_equal(er_parse_number(S("1.2.3"), &v), -1);
	assert_int_equal(er_parse_number(S(".5"), &v), 0);
	assert_int_equal(er_parse_number(S("5."), &v), 0);
	assert_int_equal(er_parse_number(S("0"), &v), 0);
	assert_int_equal(er_parse_number(S("-1"), &v), -1);
	assert_int_equal(er_parse_number(S("1e3"), &v), -1);
	assert_int_equal(er_parse_number(S("."), &v), -1);
	assert_int_equal(er_parse_number(S("1,000"), &v), -1);
	assert_int_equal(er_parse_number(S("abc"), &v), -1);
	assert_int_equal(er_parse_number(S(""), &v), -1);
}

/* The syntax rule spelled out: digits, at most one '.', some digit, 1..64 bytes. */
static int number_valid_ref(const char *p, size_t n)
{
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

/* er_number_valid (4-16 bytes in one vector test) against the rule: every
 * string of up to 6 bytes over digits, dots and their neighbours, every
 * byte value at every position of numbers of 1-66 bytes with and without a
 * dot, and a second dot at every position. */
static void test_number_valid_matches_reference(void **state)
{
	(void)state;
	static const char alpha[] = "09./:";
	char b[80];
	for (size_t n = 0; n <= 6; n++) {
		size_t total = 1;
		for (size_t i = 0; i < n; i++)
			total *= sizeof alpha - 1;
		for (size_t k = 0; k < total; k++) {
			size_t v = k;
			for (size_t i = 0; i < n; i++, v /= sizeof alpha - 1)
				b[i] = alpha[v % (sizeof alpha - 1)];
			if (er_number_valid(b, n) != number_valid_ref(b, n))
				fail_msg("'%.*s'", (int)n, b);
		}
	}
	for (size_t n = 1; n <= 66; n++)
		for (size_t dot = 0; dot <= n; dot++) /* dot == n: no dot */
			for (size_t pos = 0; pos < n; pos++) {
				for (int c = 0; c < 256; c++) {
					for (size_t i = 0; i < n; i++)
						b[i] = (char)('0' + i % 10);
					if (dot < n)
						b[dot] = '.';
					b[pos] = (char)c;
					if (er_number_valid(b, n) != number_valid_ref(b, n))
						fail_msg("byte 0x%02x at %zu of %zu (dot at %zu)", c, pos, n, dot);
				}
			}
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(er_utf8_valid(S("plain ascii text, long enough for words")));
	assert_true(er_utf8_valid(S("M\xc3\xbcller GmbH")));            /* ü */
	assert_true(er_utf8_valid(S("\xe6\x9d\xb1\xe4\xba\xac")));      /* 東京 */
	assert_true(er_utf8_valid(S("\xf0\x9f\x93\xa6 box")));          /* 4-byte */
	assert_false(er_utf8_valid(S("M\xfcller")));                     /* latin-1 */
	assert_false(er_utf8_valid(S("\xc0\xaf")));                      /* overlong */
	assert_false(er_utf8_valid(S("\xed\xa0\x80")));                  /* surrogate */
	assert_false(er_utf8_valid(S("\xf4\x90\x80\x80")));              /* > U+10FFFF */
	assert_false(er_utf8_valid(S("abcdefgh\xe6\x9d")));              /* cut short */
	assert_false(er_utf8_valid(S("\x80")));
}

/* Every byte value in a digit position of a date and a time: only '0'..'9'
 * are digits (bytes >= 0x80 and the neighbours of '0' and '9' are not). */
static void test_date_digits_every_byte(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char d[] = "2020-01-15", t[] = "2020-01-15T12:30:00Z";
		int32_t day;
		int64_t secs;
		int digit = c >= '0' && c <= '9';
		d[2] = (char)c; /* year 20c0: any digit is a valid year */
		assert_int_equal(er_parse_date(d, 10, &day), digit ? 0 : -1);
		t[12] = (char)c; /* hour 1c: 10..19 */
		assert_int_equal(er_parse_timestamp(t, 20, &secs), digit ? 0 : -1);
	}
}

/* ---- the fast path of dates and timestamps against the reference ---- */

static void same_date(const char *p, size_t n)
{
	int32_t a = -7, b = -7;
	int ra = er_parse_date(p, n, &a), rb = er_parse_date_ref(p, n, &b);
	if (ra != rb || (ra == 0 && a != b))
		fail_msg("date '%.*s': %d (%d), reference %d (%d)", (int)n, p, ra, (int)a, rb, (int)b);
}

static void same_ts(const char *p, size_t n)
{
	int64_t a = -7, b = -7;
	int ra = er_parse_timestamp(p, n, &a), rb = er_parse_timestamp_ref(p, n, &b);
	if (ra != rb || (ra == 0 && a != b))
		fail_msg("timestamp '%.*s': %d (%lld), reference %d (%lld)", (int)n, p, ra,
		         (long long)a, rb, (long long)b);
}

static uint32_t util_rnd_state = 12345;
static uint32_t util_rnd(void)
{
	util_rnd_state = util_rnd_state * 1103515245u + 12345u;
	return util_rnd_state >> 8;
}

/*
 * er_parse_date and er_parse_timestamp take the common shapes eight bytes
 * at a time (years 1901-2099) and leave the rest to the field-by-field
 * reference: both must give the same answer and the same value for every
 * date of 1850-2150, every year/month/day combination of 1895-2105 with
 * months 0-13 and days 0-32 (bad days, leap years, centuries), times with
 * hours, minutes and seconds around their limits under every separator and
 * zone form, every byte value at every position of the common shapes, and
 * random strings of date characters.
 */
static void test_date_fast_matches_reference(void **state)
{
	(void)state;
	char b[64];
	int32_t d0, d1;
	assert_int_equal(er_parse_date_ref(S("1850-01-01"), &d0), 0);
	assert_int_equal(er_parse_date_ref(S("2150-12-31"), &d1), 0);
	for (int32_t day = d0; day <= d1; day++) {
		er_format_date(day, b);
		int32_t got = -1;
		assert_int_equal(er_parse_date(b, 10, &got), 0);
		assert_int_equal(got, day);
		same_date(b, 10);
	}
	for (int y = 1895; y <= 2105; y++)
		for (int m = 0; m <= 13; m++)
			for (int d = 0; d <= 32; d++) {
				snprintf(b, sizeof b, "%04d-%02d-%02d", y, m, d);
				same_date(b, 10);
				if (d % 9 == 0) /* the date of a timestamp, every 9th day */
					for (int k = 0; k < 3; k++) {
						static const char *const tails[] = { "T00:00:00Z", " 23:59:60",
						                                     "T12:30:45+14:00" };
						snprintf(b + 10, sizeof b - 10, "%s", tails[k]);
						same_ts(b, strlen(b));
					}
			}
	static const char *const seps[] = { "T", " ", "t", "_" };
	static const char *const zones[] = { "", "Z", "z", "ZZ", "+08:00", "-05:30", "+14:00",
	                                     "+14:59", "+15:00", "-14:60", "+0800", "-0130", "+08",
	                                     "+8:00", "+08:0", "08:00", ".5Z", ",250", ".",
	                                     "+08:00Z", "Z ", " " };
	static const int hours[] = { 0, 1, 9, 10, 19, 20, 23, 24, 29, 99 };
	static const int mins[] = { 0, 9, 10, 59, 60, 61, 99 };
	static const char *const days[] = { "2024-02-29", "2023-02-29", "1901-01-01", "1900-12-31",
	                                    "2099-12-31", "2100-01-01", "1970-01-01", "2000-02-29" };
	for (size_t di = 0; di < sizeof days / sizeof days[0]; di++)
		for (size_t si = 0; si < sizeof seps / sizeof seps[0]; si++)
			for (size_t hi = 0; hi < sizeof hours / sizeof hours[0]; hi++)
				for (size_t mi = 0; mi < sizeof mins / sizeof mins[0]; mi++)
					for (size_t ss = 0; ss < sizeof mins / sizeof mins[0]; ss++)
						for (size_t zi = 0; zi < sizeof zones / sizeof zones[0]; zi++) {
							int n = snprintf(b, sizeof b, "%s%s%02d:%02d:%02d%s", days[di],
							                 seps[si], hours[hi], mins[mi], mins[ss],
							                 zones[zi]);
							same_ts(b, (size_t)n);
							/* and without seconds */
							n = snprintf(b, sizeof b, "%s%s%02d:%02d%s", days[di], seps[si],
							             hours[hi], mins[mi], zones[zi]);
							same_ts(b, (size_t)n);
						}
	/* every byte value at every position of the common shapes, and every cut */
	static const char *const shapes[] = { "2023-07-14", "2023-07-14T08:15:30",
	                                      "2023-07-14T08:15:30Z", "2023-07-14 08:15:30+05:45",
	                                      "2024-02-29T23:59:60-14:00" };
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		size_t n = strlen(shapes[k]);
		for (size_t i = 0; i < n; i++)
			for (int c = 0; c < 256; c++) {
				memcpy(b, shapes[k], n);
				b[i] = (char)c;
				same_date(b, n);
				same_ts(b, n);
			}
		for (size_t cut = 0; cut <= n; cut++) {
			same_date(shapes[k], cut);
			same_ts(shapes[k], cut);
		}
	}
	/* random strings of date characters */
	static const char alpha[] = "0123456789-:TZ+ .,/012";
	for (int iter = 0; iter < 200000; iter++) {
		size_t n = util_rnd() % 27;
		/* mostly a valid shape with a few bytes changed */
		const char *base = shapes[util_rnd() % (sizeof shapes / sizeof shapes[0])];
		size_t bn = strlen(base);
		for (size_t i = 0; i < n; i++)
			b[i] = i < bn ? base[i] : '0';
		for (int j = (int)(util_rnd() % 4); j > 0 && n; j--)
			b[util_rnd() % n] = alpha[util_rnd() % (sizeof alpha - 1)];
		same_date(b, n);
		same_ts(b, n);
	}
}

static void test_csv_field(void **state)
{
	(void)state;
	er_buf b = {0};
	er_buf_csv_field(&b, S("plain"), ',');
	er_buf_putc(&b, '|');
	er_buf_csv_field(&b, S("a,b"), ',');
	er_buf_putc(&b, '|');
	er_buf_csv_field(&b, S("say \"hi\""), ',');
	er_buf_putc(&b, '|');
	er_buf_csv_field(&b, S("two\nlines"), ',');
	er_buf_putc(&b, '|');
	er_buf_csv_field(&b, S(" padded"), ',');
	er_buf_putc(&b, '|');
	er_buf_csv_field(&b, S("a;b"), ';');
	assert_int_equal(b.len, strlen("plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\" padded\"|\"a;b\""));
	assert_memory_equal(b.p, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\" padded\"|\"a;b\"", b.len);
	er_buf_free(&b);
	er_buf_free(NULL);
}

/* The quoting rule written the plain way, byte by byte: the reference the
 * word-at-a-time scan of er_buf_csv_field is held to. */
static void csv_field_ref(er_buf *b, const char *p, size_t n, char delim)
{
	int need = n && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t');
	for (size_t i = 0; i < n; i++)
		need |= p[i] == delim || p[i] == '"' || p[i] == '\r' || p[i] == '\n';
	if (need)
		er_buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		if (need && p[i] == '"')
			er_buf_putc(b, '"');
		er_buf_putc(b, p[i]);
	}
	if (need)
		er_buf_putc(b, '"');
}

/* Every byte value at every position of fields of 0..40 bytes (the word
 * loop, its tail and both ends), for ',', ';' and tab delimiters; bytes next
 * to the special ones (0x21 next to '"', 0x0b next to LF, 0xa2 with its high
 * bit) catch a word trick that is off by one. */
static void test_csv_field_matches_reference(void **state)
{
	(void)state;
	static const char delims[] = { ',', ';', '\t' };
	er_buf got = {0}, want = {0};
	char f[41];
	for (size_t d = 0; d < sizeof delims; d++)
		for (size_t n = 0; n <= 40; n++)
			for (size_t pos = 0; pos < (n ? n : 1); pos++)
				for (int c = 0; c < 256; c++) {
					memset(f, 'x', sizeof f);
					if (n)
						f[pos] = (char)c;
					got.len = want.len = 0;
					assert_int_equal(er_buf_csv_field(&got, f, n, delims[d]), 0);
					csv_field_ref(&want, f, n, delims[d]);
					if (got.len != want.len || (got.len && memcmp(got.p, want.p, got.len) != 0))
						fail_msg("byte 0x%02x at %zu of %zu, delimiter 0x%02x: '%.*s', expected '%.*s'",
						         c, pos, n, delims[d], (int)got.len, got.p, (int)want.len, want.p);
				}
	/* several specials, and quotes that must all be doubled */
	got.len = 0;
	er_buf_csv_field(&got, S("0123456789\"abcdefgh\"\"ijk,"), ',');
	assert_int_equal(got.len, strlen("\"0123456789\"\"abcdefgh\"\"\"\"ijk,\""));
	assert_memory_equal(got.p, "\"0123456789\"\"abcdefgh\"\"\"\"ijk,\"", got.len);
	er_buf_free(&got);
	er_buf_free(&want);
}

/* er_copy_short, every length up to past its in-line limit at every source
 * and destination alignment, equals memcpy and writes nothing outside
 * o[0..n); the source ends where its allocation does, so a read past it is
 * an error under ASan (the sanitizer build runs this test). */
static void test_copy_short_matches_memcpy(void **state)
{
	(void)state;
	enum { MAXN = 300, GUARD = 32 };
	static char dst[GUARD + 16 + MAXN + GUARD], want[sizeof dst];
	for (size_t n = 0; n <= MAXN; n++) {
		for (size_t so = 0; so < 16; so++) {
			char *base = malloc(so + n + 1), *src = base + so + 1;
			assert_non_null(base);
			for (size_t i = 0; i < n; i++)
				src[i] = (char)(0x41 + (i * 7 + n + so) % 61);
			for (size_t d = 0; d < 16; d++) {
				memset(dst, 0x5A, sizeof dst);
				memset(want, 0x5A, sizeof want);
				memcpy(want + GUARD + d, src, n);
				er_copy_short(dst + GUARD + d, src, n);
				assert_memory_equal(dst, want, sizeof dst);
			}
			free(base);
		}
	}
}

/* er_eq_short says equal exactly when memcmp does: every length to 300,
 * equal buffers and one byte changed at every position, at 16 alignments. */
static void test_eq_short_matches_memcmp(void **state)
{
	(void)state;
	enum { MAXN = 300 };
	static char a[16 + MAXN], b[16 + MAXN];
	for (size_t n = 0; n <= MAXN; n++)
		for (size_t al = 0; al < 16; al++) {
			char *x = a + al, *y = b + (15 - al);
			for (size_t i = 0; i < n; i++)
				x[i] = y[i] = (char)(0x30 + (i * 11 + n) % 70);
			assert_true(er_eq_short(x, y, n));
			for (size_t i = 0; i < n; i++) {
				y[i] ^= (char)(1 << (i % 8));
				assert_int_equal(er_eq_short(x, y, n), memcmp(x, y, n) == 0);
				assert_false(er_eq_short(x, y, n));
				y[i] = x[i];
			}
		}
}

static void test_buf_printf(void **state)
{
	(void)state;
	er_buf b = {0};
	for (int i = 0; i < 1000; i++)
		er_buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, 10 * 2 + 90 * 3 + 900 * 4);
	assert_memory_equal(b.p + b.len - 4, "999,", 4);
	er_buf_free(&b);
}

static void test_hash(void **state)
{
	(void)state;
	/* Stable values: the random compliance selection depends on them, so a
	 * change here changes which shipments reruns select. */
	assert_true(er_hash64(S("S001"), 42) == er_hash64(S("S001"), 42));
	assert_true(er_hash64(S("S001"), 42) != er_hash64(S("S001"), 43));
	assert_true(er_hash64(S("S001"), 42) != er_hash64(S("S002"), 42));
	assert_true(er_hash64(S("abcdefgh"), 0) != er_hash64(S("abcdefgh\0"), 0));
	/* Roughly uniform: top bit set for about half of 10,000 keys. */
	int top = 0;
	char key[16];
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(key, sizeof key, "K%07d", i);
		top += (int)(er_hash64(key, (size_t)n, 7) >> 63);
	}
	assert_in_range(top, 4800, 5200);
}

static void test_ieq_trim(void **state)
{
	(void)state;
	assert_true(er_ieq(S("Vessel"), "VESSEL"));
	assert_false(er_ieq(S("Vessels"), "VESSEL"));
	assert_false(er_ieq(S("Vesse"), "VESSEL"));
	const char *p = " \tLCL \t";
	size_t n = strlen(p);
	er_trim(&p, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "LCL", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),     cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_numbers),   cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_date_digits_every_byte),
		cmocka_unit_test(test_date_fast_matches_reference),
		cmocka_unit_test(test_number_valid_matches_reference),
		cmocka_unit_test(test_csv_field), cmocka_unit_test(test_csv_field_matches_reference),
		cmocka_unit_test(test_buf_printf), cmocka_unit_test(test_copy_short_matches_memcpy),
		cmocka_unit_test(test_eq_short_matches_memcmp),
		cmocka_unit_test(test_hash),      cmocka_unit_test(test_ieq_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
