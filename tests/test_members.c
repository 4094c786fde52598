/* test_members.c - speculative parallel inflate of concatenated gzip members
 * and pigz -i style input (er_members.c via er_reader): at 2 and 3 threads (5
 * for members past the near scan limit)
 * the reader must give exactly the serial reader's bytes, result and error
 * message - on good input (taking the parallel path), on dependent blocks
 * (plain pigz: must fall back), on planted false candidates, and on every
 * corruption and truncation - for both inflate backends. */
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

#include "er_reader.h"
#include "test_helpers.h"
#include "test_gzbytes.h"

/* CSV-like lines with stretches of noise (compresses like real data, and
 * the noise makes stray 1f 8b / 00 00 ff ff byte runs likely). */
static void make_src(struct bytes *src, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;
	char line[128];
	while (src->n < n) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (x % 11 == 0) {
			unsigned char r[2048];
			for (size_t i = 0; i < sizeof r; i++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				r[i] = (unsigned char)(x >> 11);
			}
			b_add(src, r, sizeof r);
		} else {
			int k = snprintf(line, sizeof line, "SHP%08u,\"ACME, INC\",CNSHA,USLAX,%u\n",
					 x % 100000000u, x % 977);
			b_add(src, line, (size_t)k);
		}
	}
	src->n = n;
}

/* One gzip member of data[0..n): a gzip header (with a file name when
 * name != NULL), deflate data in blocks of `block` bytes, each ended with
 * flush (Z_FULL_FLUSH: independent blocks as pigz -i writes them;
 * Z_SYNC_FLUSH: dependent ones as plain pigz; Z_NO_FLUSH: one stream as
 * gzip), CRC32 and ISIZE. */
static void member(struct bytes *out, const unsigned char *data, size_t n, int level, size_t block,
		   int flush, const char *name)
{
	unsigned char hdr[10] = {0x1f, 0x8b, 8, name ? 8 : 0, 0, 0, 0, 0, 0, 3};
	b_add(out, hdr, sizeof hdr);
	if (name)
		b_add(out, name, strlen(name) + 1);
	z_stream s;
	memset(&s, 0, sizeof s);
	assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	unsigned char buf[1 << 16];
	size_t at = 0;
	do {
		size_t k = n - at < block ? n - at : block;
		s.next_in = (Bytef *)(uintptr_t)(data + at);
		s.avail_in = (uInt)k;
		at += k;
		int f = at == n ? Z_FINISH : flush;
		int zr;
		do {
			s.next_out = buf;
			s.avail_out = sizeof buf;
			zr = deflate(&s, f);
			assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
			b_add(out, buf, sizeof buf - s.avail_out);
		} while (s.avail_out == 0 || (f == Z_FINISH && zr != Z_STREAM_END));
	} while (at < n);
	deflateEnd(&s);
	unsigned char t[8];
	put32(t, (uint32_t)crc32(0, data, (uInt)n));
	put32(t + 4, (uint32_t)n);
	b_add(out, t, 8);
}

/* src cut into k gzip members (cat of k daily files). */
static void concat(struct bytes *gz, const struct bytes *src, size_t k, int flush)
{
	for (size_t i = 0; i < k; i++) {
		size_t a = src->n * i / k, b = src->n * (i + 1) / k;
		member(gz, src->p + a, b - a, 6, 1 << 15, flush, i % 2 ? "day.csv" : NULL);
	}
}

struct run {
	int rc;
	char msg[512];
	struct bytes out;
	uint64_t jobs, fallbacks;
};

/* Read the whole file; job: compressed bytes per speculative job. */
static void read_all(const char *path, enum er_inflate be, int threads, size_t cap, size_t job, struct run *res)
{
	er_reader *r = NULL;
	char err[512];
	memset(res, 0, sizeof *res);
	assert_int_equal(er_reader_open_ex(path, be, &r, err, sizeof err), ER_OK);
	er_reader_set_threads(r, threads);
	er_reader_set_spec_job_bytes(r, job);
	unsigned char *buf = malloc(cap);
	assert_non_null(buf);
	ssize_t n;
	while ((n = er_reader_read(r, buf, cap)) > 0) {
		assert_true((size_t)n <= cap);
		b_add(&res->out, buf, (size_t)n);
	}
	if (n < 0) {
		snprintf(res->msg, sizeof res->msg, "%s", er_reader_error(r));
		assert_int_equal(er_reader_read(r, buf, cap), -1); /* sticky */
	} else {
		assert_true(er_reader_bytes_in(r) == (uint64_t)er_reader_size(r));
	}
	res->rc = n < 0 ? -1 : 0;
	res->jobs = er_reader_spec_jobs(r);
	res->fallbacks = er_reader_spec_fallbacks(r);
	free(buf);
	er_reader_close(r);
}

/* Threads 2 and 3, several read sizes and job sizes, against the serial
 * reader: same result, same message, same bytes (also the bytes handed out
 * before an error). Returns the serial result; *jobs / *fallbacks: the most
 * seen over the parallel runs. */
static int check_same(enum er_inflate be, const struct bytes *file, uint64_t *jobs, uint64_t *fallbacks)
{
	char path[256];
	path_of(path, sizeof path, "f.gz");
	write_file(path, file->p, file->n);
	struct run ref, got;
	read_all(path, be, 1, 65536, 0, &ref);
	assert_int_equal(ref.jobs, 0);
	static const size_t caps[] = {4093, 1 << 20};
	static const size_t jobsz[] = {1, 3000, 40000};
	uint64_t mj = 0, mf = 0;
	for (int t = 2; t <= 3; t++) {
		for (size_t c = 0; c < 2; c++) {
			for (size_t j = 0; j < 3; j++) {
				read_all(path, be, t, caps[c], jobsz[j], &got);
				assert_int_equal(got.rc, ref.rc);
				assert_string_equal(got.msg, ref.msg);
				size_t n = got.out.n < ref.out.n ? got.out.n : ref.out.n;
				/* ISA-L decodes corrupt data further with more output room,
				 * so the serial reader itself hands out a number of bytes
				 * before such an error that depends on the read size. */
				if (ref.rc == 0 || be == ER_INFLATE_ZLIB)
					assert_int_equal(got.out.n, ref.out.n);
				if (n)
					assert_memory_equal(got.out.p, ref.out.p, n);
				mj = got.jobs > mj ? got.jobs : mj;
				mf = got.fallbacks > mf ? got.fallbacks : mf;
				free(got.out.p);
			}
		}
	}
	if (jobs)
		*jobs = mj;
	if (fallbacks)
		*fallbacks = mf;
	free(ref.out.p);
	unlink(path);
	return ref.rc;
}

/* The serial bytes of file are src. */
static void check_is(enum er_inflate be, const struct bytes *file, const struct bytes *src)
{
	char path[256];
	path_of(path, sizeof path, "s.gz");
	write_file(path, file->p, file->n);
	struct run got;
	read_all(path, be, 2, 1 << 16, 5000, &got);
	assert_int_equal(got.rc, 0);
	assert_int_equal(got.out.n, src->n);
	if (src->n)
		assert_memory_equal(got.out.p, src->p, src->n);
	free(got.out.p);
	unlink(path);
}

/* ------------------------------------------------------------------ tests */

/* cat a.gz b.gz ...: 1 to 5 members, tiny to a few hundred KB. */
static void test_concatenated(void **state)
{
	enum er_inflate be = backend_of(state);
	static const size_t sizes[] = {0, 1, 7000, 400000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (size_t k = 1; k <= 5; k += 2) {
			struct bytes src = {0}, gz = {0};
			make_src(&src, sizes[i], (uint32_t)(i * 7 + k));
			concat(&gz, &src, k, Z_NO_FLUSH);
			uint64_t jobs, fb;
			assert_int_equal(check_same(be, &gz, &jobs, &fb), 0);
			check_is(be, &gz, &src);
			assert_true(jobs >= 1); /* the parallel path handed out bytes */
			if (sizes[i] >= 7000 && k > 1)
				assert_true(jobs >= k);
			free(src.p);
			free(gz.p);
		}
	}
}

/* Members larger than the near scan limit (4 MiB past a job's size):
 * below 5 threads they are inflated serially (no job: a job that large
 * cannot overlap the next one, so the scan and the ring copy would be work
 * for nothing); at 5 threads the far scan finds the next member and jobs
 * run. The bytes are the serial reader's either way. */
static void test_large_members(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0};
	uint32_t x = 12345;
	const size_t half = (size_t)6 << 20; /* random bytes: stored blocks, 6 MiB a member */
	unsigned char *r = malloc(2 * half);
	assert_non_null(r);
	for (size_t i = 0; i < 2 * half; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		r[i] = (unsigned char)(x >> 7);
	}
	b_add(&src, r, 2 * half);
	free(r);
	member(&gz, src.p, half, 1, 1 << 20, Z_NO_FLUSH, NULL);
	member(&gz, src.p + half, half, 1, 1 << 20, Z_NO_FLUSH, "day.csv");
	char path[256];
	path_of(path, sizeof path, "big.gz");
	write_file(path, gz.p, gz.n);
	struct run got;
	for (int t = 2; t <= 5; t += 3) {
		read_all(path, be, t, 1 << 20, 1, &got);
		assert_int_equal(got.rc, 0);
		assert_int_equal(got.out.n, src.n);
		assert_memory_equal(got.out.p, src.p, src.n);
		if (t < 5)
			assert_int_equal(got.jobs, 0);
		else
			assert_true(got.jobs >= 1);
		free(got.out.p);
	}
	unlink(path);
	free(src.p);
	free(gz.p);
}

/* pigz -i: one member of independent blocks: cut at the sync markers, no
 * fallback; with several members too. */
static void test_pigz_independent(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0};
	make_src(&src, 900000, 5);
	member(&gz, src.p, src.n, 6, 1 << 15, Z_FULL_FLUSH, "x.csv");
	uint64_t jobs, fb;
	assert_int_equal(check_same(be, &gz, &jobs, &fb), 0);
	check_is(be, &gz, &src);
	assert_true(jobs >= 8);
	assert_int_equal(fb, 0);
	free(gz.p);
	gz = (struct bytes){0};
	concat(&gz, &src, 3, Z_FULL_FLUSH);
	assert_int_equal(check_same(be, &gz, &jobs, &fb), 0);
	check_is(be, &gz, &src);
	assert_true(jobs >= 8);
	assert_int_equal(fb, 0);
	free(src.p);
	free(gz.p);
}

/* Plain pigz: sync markers, but blocks refer back across them. The job after
 * a marker meets "distance too far back": fall back, same bytes. */
static void test_pigz_dependent(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0};
	make_src(&src, 600000, 9);
	member(&gz, src.p, src.n, 6, 1 << 15, Z_SYNC_FLUSH, NULL);
	uint64_t fb;
	assert_int_equal(check_same(be, &gz, NULL, &fb), 0);
	check_is(be, &gz, &src);
	assert_true(fb >= 1);
	free(src.p);
	free(gz.p);
}

/* A gzip header and a sync marker planted in the data of stored (level 0)
 * blocks show up verbatim in the compressed bytes: false candidates. */
static void test_false_candidates(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0};
	make_src(&src, 300000, 3);
	static const unsigned char fake_hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	static const unsigned char fake_sync[4] = {0, 0, 0xff, 0xff};
	for (size_t at = 1000; at + 64 < src.n; at += 37000) {
		memcpy(src.p + at, fake_hdr, sizeof fake_hdr);
		memcpy(src.p + at + 20, fake_sync, sizeof fake_sync);
	}
	for (int flush = 0; flush < 2; flush++) {
		struct bytes gz = {0};
		member(&gz, src.p, src.n / 2, 0, 1 << 14, flush ? Z_FULL_FLUSH : Z_NO_FLUSH, NULL);
		member(&gz, src.p + src.n / 2, src.n - src.n / 2, 0, 1 << 14, Z_FULL_FLUSH, NULL);
		uint64_t fb;
		assert_int_equal(check_same(be, &gz, NULL, &fb), 0);
		check_is(be, &gz, &src);
		assert_true(fb >= 1); /* a false candidate was taken and refused */
		free(gz.p);
	}
	free(src.p);
}

/* Every kind of damage, at many places, in a file of three pigz -i style
 * members and one of three plain members: the parallel reader fails
 * exactly as the serial one, after the same bytes. */
static void test_corrupt(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0};
	make_src(&src, 150000, 11);
	for (int kind = 0; kind < 2; kind++) {
		struct bytes gz = {0};
		concat(&gz, &src, 3, kind ? Z_FULL_FLUSH : Z_NO_FLUSH);
		int fails = 0;
		/* flipped bytes (headers, data, markers, trailers) */
		for (size_t at = 0; at < gz.n; at += gz.n / 23 + 1) {
			struct bytes f = {0};
			b_add(&f, gz.p, gz.n);
			f.p[at] ^= 0x5a;
			fails += check_same(be, &f, NULL, NULL) < 0;
			free(f.p);
		}
		/* every trailer's CRC and ISIZE */
		for (size_t at = 0; at + 8 <= gz.n; at++) {
			if (at + 8 != gz.n && !(gz.p[at + 8] == 0x1f && gz.p[at + 9] == 0x8b && gz.p[at + 10] == 8))
				continue;
			for (int which = 0; which < 2; which++) {
				struct bytes f = {0};
				b_add(&f, gz.p, gz.n);
				f.p[at + 4 * which] ^= 1;
				assert_int_equal(check_same(be, &f, NULL, NULL), -1);
				free(f.p);
			}
		}
		/* truncation */
		for (size_t len = 2; len < gz.n; len += gz.n / 17 + 1) { /* 1 byte: not gzip */
			struct bytes f = {0};
			b_add(&f, gz.p, len);
			int at_member_end = gz.p[len] == 0x1f && gz.p[len + 1] == 0x8b && gz.p[len + 2] == 8;
			assert_int_equal(check_same(be, &f, NULL, NULL), at_member_end ? 0 : -1);
			free(f.p);
		}
		/* trailing garbage, and a lone byte */
		static const char *tails[] = {"x", "garbage\n", "\x1f\x8b"};
		for (size_t i = 0; i < 3; i++) {
			struct bytes f = {0};
			b_add(&f, gz.p, gz.n);
			b_add(&f, tails[i], strlen(tails[i]));
			assert_int_equal(check_same(be, &f, NULL, NULL), -1);
			free(f.p);
		}
		assert_true(fails > 10);
		free(gz.p);
	}
	free(src.p);
}

/* A header the parallel path does not parse (FHCRC) in the second member:
 * the serial reader reads it, same bytes; after it a new parallel run takes
 * the third member (jobs are handed out again). */
static void test_unusual_header(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0};
	make_src(&src, 300000, 13);
	member(&gz, src.p, 1000, 6, 1 << 15, Z_NO_FLUSH, NULL); /* one job, through member 2's header */
	size_t h = gz.n;
	member(&gz, src.p + 1000, 99000, 6, 1 << 15, Z_FULL_FLUSH, NULL);
	member(&gz, src.p + 100000, 200000, 6, 1 << 14, Z_FULL_FLUSH, NULL);
	/* insert FHCRC: the low 16 bits of the header's CRC32 */
	struct bytes f = {0};
	b_add(&f, gz.p, h + 10);
	f.p[h + 3] |= 2;
	uint32_t c = (uint32_t)crc32(0, f.p + h, 10);
	unsigned char hc[2] = {(unsigned char)c, (unsigned char)(c >> 8)};
	b_add(&f, hc, 2);
	b_add(&f, gz.p + h + 10, gz.n - h - 10);
	uint64_t jobs, fb;
	assert_int_equal(check_same(be, &f, &jobs, &fb), 0);
	check_is(be, &f, &src);
	assert_true(fb >= 1);
	assert_true(jobs >= 2); /* only member 3 can give jobs: the run started again */
	free(f.p);
	free(src.p);
	free(gz.p);
}

static int setup(void **state)
{
	(void)state;
	return scratch_dir_make(g_dir, sizeof g_dir, "er_members");
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(g_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_concatenated, &k_zlib),
		cmocka_unit_test_prestate(test_concatenated, &k_isal),
		cmocka_unit_test_prestate(test_large_members, &k_zlib),
		cmocka_unit_test_prestate(test_large_members, &k_isal),
		cmocka_unit_test_prestate(test_pigz_independent, &k_zlib),
		cmocka_unit_test_prestate(test_pigz_independent, &k_isal),
		cmocka_unit_test_prestate(test_pigz_dependent, &k_zlib),
		cmocka_unit_test_prestate(test_pigz_dependent, &k_isal),
		cmocka_unit_test_prestate(test_false_candidates, &k_zlib),
		cmocka_unit_test_prestate(test_false_candidates, &k_isal),
		cmocka_unit_test_prestate(test_corrupt, &k_zlib),
		cmocka_unit_test_prestate(test_corrupt, &k_isal),
		cmocka_unit_test_prestate(test_unusual_header, &k_zlib),
		cmocka_unit_test_prestate(test_unusual_header, &k_isal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
