/* test_bgzf.c - parallel inflate of BGZF input (er_bgzf.c via er_reader):
 * the parallel reader must give exactly the serial reader's bytes on good
 * input, and exactly the serial reader's error message on every corruption
 * of every member (data, CRC, ISIZE, BSIZE, header flags, truncation,
 * trailing garbage), for both inflate backends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "er_bgzf.h"
#include "er_reader.h"
#include "test_helpers.h"
#include "test_gzbytes.h"

static void bgzf_member(struct bytes *out, const unsigned char *data, size_t n)
{
	unsigned char hdr[18] = {0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 'B', 'C', 2, 0, 0, 0};
	unsigned char body[70000];
	z_stream s;
	memset(&s, 0, sizeof s);
	assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = (Bytef *)(uintptr_t)data;
	s.avail_in = (uInt)n;
	s.next_out = body;
	s.avail_out = sizeof body;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	size_t clen = s.total_out;
	deflateEnd(&s);
	size_t total = 18 + clen + 8;
	assert_true(total <= 65536);
	put16(hdr + 16, (unsigned)(total - 1));
	unsigned char tr[8];
	put32(tr, (uint32_t)crc32(0, data, (uInt)n));
	put32(tr + 4, (uint32_t)n);
	b_add(out, hdr, sizeof hdr);
	b_add(out, body, clen);
	b_add(out, tr, 8);
}

/* Text and incompressible runs, so members differ in size and jobs hold
 * several members. Member i covers src[cut[i]..cut[i+1]). */
static void make_src(struct bytes *src, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;
	char line[128];
	while (src->n < n) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (x % 7 == 0) {
			unsigned char r[4096];
			for (size_t i = 0; i < sizeof r; i++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				r[i] = (unsigned char)(x >> 11);
			}
			b_add(src, r, sizeof r);
		} else {
			int k = snprintf(line, sizeof line, "SHP%08u,\"ACME, INC\",CNSHA,USLAX,%u\n", x % 100000000u,
					 x % 977);
			b_add(src, line, (size_t)k);
		}
	}
}

/* BGZF file of src in members of `piece` bytes; offs[i] = member i's offset. */
static size_t make_bgzf(struct bytes *gz, const struct bytes *src, size_t piece, size_t *offs, size_t maxm)
{
	size_t m = 0;
	for (size_t at = 0; at < src->n; at += piece) {
		size_t k = src->n - at < piece ? src->n - at : piece;
		assert_true(m < maxm);
		offs[m++] = gz->n;
		bgzf_member(gz, src->p + at, k);
	}
	assert_true(m < maxm);
	offs[m++] = gz->n;
	bgzf_member(gz, (const unsigned char *)"", 0); /* bgzip's EOF marker */
	return m;
}

/* Read the whole file with threads; returns 0/-1, msg = error. */
static int read_all(const char *path, enum er_inflate be, int threads, size_t cap, struct bytes *out,
		    char *msg, size_t msglen, int *parallel)
{
	er_reader *r = NULL;
	char err[512];
	assert_int_equal(er_reader_open_ex(path, be, &r, err, sizeof err), ER_OK);
	er_reader_set_threads(r, threads);
	unsigned char *buf = malloc(cap);
	assert_non_null(buf);
	ssize_t n;
	while ((n = er_reader_read(r, buf, cap)) > 0) {
		assert_true((size_t)n <= cap);
		b_add(out, buf, (size_t)n);
	}
	msg[0] = '\0';
	if (n < 0) {
		snprintf(msg, msglen, "%s", er_reader_error(r));
		assert_int_equal(er_reader_read(r, buf, cap), -1); /* sticky */
	} else {
		assert_true(er_reader_bytes_in(r) == (uint64_t)er_reader_size(r));
	}
	*parallel = er_reader_parallel(r);
	free(buf);
	er_reader_close(r);
	return n < 0 ? -1 : 0;
}

/* The parallel reader (2 and 3 threads) must match the serial one exactly:
 * same result, same message, and on success the same bytes. Returns the
 * serial result. want_par: the parallel path must have been taken. */
static int check_same(enum er_inflate be, const struct bytes *file, int want_par)
{
	char path[256], m1[512], m2[512];
	path_of(path, sizeof path, "f.gz");
	write_file(path, file->p, file->n);
	struct bytes ref = {0};
	int par;
	int rc = read_all(path, be, 1, 65536, &ref, m1, sizeof m1, &par);
	assert_int_equal(par, 0);
	static const size_t caps[] = {4096, 1 << 20};
	for (int t = 2; t <= 3; t++) {
		for (size_t c = 0; c < 2; c++) {
			struct bytes got = {0};
			int rc2 = read_all(path, be, t, caps[c], &got, m2, sizeof m2, &par);
			assert_int_equal(par, want_par);
			assert_int_equal(rc2, rc);
			assert_string_equal(m2, m1);
			if (rc == 0) {
				assert_int_equal(got.n, ref.n);
				assert_memory_equal(got.p, ref.p, ref.n);
			}
			free(got.p);
		}
	}
	free(ref.p);
	unlink(path);
	return rc;
}

/* ------------------------------------------------------------------ tests */

static void test_member_size(void **state)
{
	(void)state;
	struct bytes gz = {0};
	bgzf_member(&gz, (const unsigned char *)"abc\n", 4);
	size_t sz = 0;
	assert_int_equal(er_bgzf_member_size(gz.p, gz.n, &sz), 1);
	assert_int_equal(sz, gz.n);
	assert_int_equal(er_bgzf_member_size(gz.p, 11, &sz), -1);
	assert_int_equal(sz, 12);
	assert_int_equal(er_bgzf_member_size(gz.p, 15, &sz), -1);
	assert_int_equal(sz, 18);
	unsigned char h[18];
	memcpy(h, gz.p, 18);
	h[3] = 4 | 2; /* FHCRC too: not taken in parallel */
	assert_int_equal(er_bgzf_member_size(h, 18, &sz), 0);
	memcpy(h, gz.p, 18);
	h[14] = 3; /* BC subfield of length 3 overruns the extra field */
	assert_int_equal(er_bgzf_member_size(h, 18, &sz), 0);
	memcpy(h, gz.p, 18);
	h[12] = 'X'; /* no BC subfield */
	assert_int_equal(er_bgzf_member_size(h, 18, &sz), 0);
	memcpy(h, gz.p, 18);
	put16(h + 16, 20); /* BSIZE smaller than header + trailer */
	assert_int_equal(er_bgzf_member_size(h, 18, &sz), 0);
	free(gz.p);
}

/* Good files of many sizes: one member, a few, more jobs than ring slots. */
static void test_good(void **state)
{
	enum er_inflate be = backend_of(state);
	static const size_t sizes[] = {0, 1, 5000, 300000, 3000000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct bytes src = {0}, gz = {0};
		make_src(&src, sizes[i], (uint32_t)i + 1);
		size_t offs[256];
		make_bgzf(&gz, &src, 40000, offs, 256);
		assert_int_equal(check_same(be, &gz, 1), 0);
		/* and the serial bytes are the source */
		char path[256], msg[256];
		int par;
		struct bytes got = {0};
		path_of(path, sizeof path, "g.gz");
		write_file(path, gz.p, gz.n);
		assert_int_equal(read_all(path, be, 2, 1 << 16, &got, msg, sizeof msg, &par), 0);
		assert_int_equal(got.n, src.n);
		if (src.n)
			assert_memory_equal(got.p, src.p, src.n);
		unlink(path);
		free(got.p);
		free(src.p);
		free(gz.p);
	}
}

/* A BGZF run followed by ordinary gzip members and back: all bytes, in order. */
static void test_mixed_members(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0};
	make_src(&src, 900000, 7);
	size_t offs[64];
	make_bgzf(&gz, &src, 50000, offs, 64);
	unsigned char plain[] = "a plain gzip member\n";
	unsigned char buf[256];
	uLongf blen = sizeof buf;
	/* gzip member via zlib's gzip wrapper */
	z_stream s;
	memset(&s, 0, sizeof s);
	assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = plain;
	s.avail_in = sizeof plain - 1;
	s.next_out = buf;
	s.avail_out = (uInt)blen;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	b_add(&gz, buf, s.total_out);
	deflateEnd(&s);
	bgzf_member(&gz, src.p, 1000);
	assert_int_equal(check_same(be, &gz, 1), 0);
	free(src.p);
	free(gz.p);
}

/* Every corruption of every member: the parallel reader fails exactly as
 * the serial one does. */
static void test_corrupt_each_member(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0};
	make_src(&src, 700000, 3);
	size_t offs[64];
	size_t nm = make_bgzf(&gz, &src, 45000, offs, 63);
	offs[nm] = gz.n;
	int cases = 0;
	for (size_t m = 0; m < nm; m++) {
		size_t a = offs[m], e = offs[m + 1];
		for (int kind = 0; kind < 9; kind++) {
			struct bytes f = {0};
			b_add(&f, gz.p, gz.n);
			switch (kind) {
			case 0: f.p[a + 18 + (e - a - 26) / 2] ^= 0x55; break; /* deflate data */
			case 1: f.p[e - 8] ^= 1; break;                       /* CRC32 */
			case 2: f.p[e - 3] ^= 1; break;                       /* ISIZE */
			case 3: put16(f.p + a + 16, (unsigned)(e - a - 2)); break; /* BSIZE one short */
			case 4: put16(f.p + a + 16, (unsigned)(e - a)); break;     /* BSIZE one long */
			case 5: f.p[a + 3] |= 0x20; break;                    /* reserved flag */
			case 6: f.n = a + 10; break;                          /* cut in the header */
			case 7: f.n = a + (e - a) / 2; break;                 /* cut in the data */
			case 8: f.n = e - 3; break;                           /* cut in the trailer */
			}
			int rc = check_same(be, &f, m > 0 || kind <= 4);
			/* every one of these is an error, except a shorter/longer
			 * BSIZE, which the serial reader never looks at */
			if (kind != 3 && kind != 4)
				assert_int_equal(rc, -1);
			cases++;
			free(f.p);
		}
	}
	/* trailing garbage and a cut at a member boundary */
	struct bytes f = {0};
	b_add(&f, gz.p, gz.n);
	b_add(&f, "xyz", 3);
	assert_int_equal(check_same(be, &f, 1), -1);
	f.n = offs[nm / 2] + 1;
	assert_int_equal(check_same(be, &f, 1), -1);
	free(f.p);
	assert_true(cases == (int)nm * 9);
	free(src.p);
	free(gz.p);
}

static int setup(void **state)
{
	(void)state;
	return scratch_dir_make(g_dir, sizeof g_dir, "er_bgzf");
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(g_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_size),
		cmocka_unit_test_prestate(test_good, &k_zlib),
		cmocka_unit_test_prestate(test_good, &k_isal),
		cmocka_unit_test_prestate(test_mixed_members, &k_zlib),
		cmocka_unit_test_prestate(test_mixed_members, &k_isal),
		cmocka_unit_test_prestate(test_corrupt_each_member, &k_zlib),
		cmocka_unit_test_prestate(test_corrupt_each_member, &k_isal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
