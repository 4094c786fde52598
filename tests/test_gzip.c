/* Unit tests for er_gzip_member: each chunk of a .gz output is one gzip
 * member, and its bytes must depend only on the input and the level: not on
 * the destination's spare room, stale bytes after the input, or the process's
 * memory layout (thread-count invariance of .gz outputs). */
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "er_gzip.h"

/* Something compressible with repeats at many distances, like score rows. */
static void make_input(er_buf *in)
{
	for (int i = 0; i < 20000; i++)
		er_buf_printf(in, "HBL%07d,%d,%s,IMP_UNKNOWN:+15|SHP_MRA:-8,unknown,EU_AEO:certified:MRA,I=none;S=id;M=-;C=id;F=-,0,%d\n",
		              (i * 7919) % 1000003, 30 + i % 50, i % 3 ? "GREEN" : "YELLOW", i & 1);
}

static void inflate_all(const er_buf *gz, er_buf *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz->p;
	z.avail_in = (uInt)gz->len;
	char buf[1 << 16];
	int rc;
	do {
		z.next_out = (Bytef *)buf;
		z.avail_out = sizeof buf;
		rc = inflate(&z, Z_NO_FLUSH);
		assert_true(rc == Z_OK || rc == Z_STREAM_END);
		er_buf_append(out, buf, sizeof buf - z.avail_out);
	} while (rc != Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	inflateEnd(&z);
}

/* The member inflates back to the input, and compressing twice gives the
 * same bytes (also after compressing something else in between). */
static void check_level(int level)
{
	er_buf in = {0}, a = {0}, b = {0}, junk = {0}, back = {0};
	make_input(&in);
	assert_int_equal(er_gzip_member(&a, in.p, in.len, level), 0);
	assert_int_equal(er_gzip_member(&junk, "unrelated 0123456789", 20, level), 0);
	assert_int_equal(er_gzip_member(&b, in.p, in.len, level), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	inflate_all(&a, &back);
	assert_int_equal(back.len, in.len);
	assert_memory_equal(back.p, in.p, in.len);
	er_buf *all[] = {&in, &a, &b, &junk, &back};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		er_buf_free(all[i]);
}

static void test_fast_level_deterministic(void **s) { (void)s; check_level(ER_GZ_FAST); }
static void test_zlib_level_deterministic(void **s) { (void)s; check_level(6); }

/* The destination's spare capacity depends on which pooled chunk carries a
 * serial, i.e. on thread scheduling; the bytes must not. */
static void check_dst_capacity(int level)
{
	er_buf in = {0}, small = {0}, big = {0};
	make_input(&in);
	assert_int_equal(er_gzip_member(&small, in.p, in.len, level), 0);
	er_buf_reserve(&big, 64u << 20);
	assert_int_equal(er_gzip_member(&big, in.p, in.len, level), 0);
	assert_int_equal(small.len, big.len);
	assert_memory_equal(small.p, big.p, small.len);
	er_buf_free(&in);
	er_buf_free(&small);
	er_buf_free(&big);
}

static void test_fast_level_ignores_dst_capacity(void **s) { (void)s; check_dst_capacity(ER_GZ_FAST); }
static void test_zlib_level_ignores_dst_capacity(void **s) { (void)s; check_dst_capacity(6); }

/* Bytes after the input (stale rows of an earlier chunk in a reused buffer)
 * must not matter either, even if the compressor's loads overrun the end. */
static void check_trailing_bytes(int level)
{
	er_buf in = {0}, x = {0}, y = {0}, a = {0}, b = {0};
	make_input(&in);
	for (size_t cut = in.len - 5000; cut < in.len; cut += 997) {
		x.len = y.len = a.len = b.len = 0;
		er_buf_append(&x, in.p, in.len);
		er_buf_append(&y, in.p, in.len);
		memset(x.p + cut, 0x00, x.cap - cut);
		memset(y.p + cut, 'H', y.cap - cut); /* looks like the start of a row */
		assert_int_equal(er_gzip_member(&a, x.p, cut, level), 0);
		assert_int_equal(er_gzip_member(&b, y.p, cut, level), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.p, b.p, a.len);
	}
	er_buf *all[] = {&in, &x, &y, &a, &b};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		er_buf_free(all[i]);
}

static void test_fast_level_ignores_trailing_bytes(void **s) { (void)s; check_trailing_bytes(ER_GZ_FAST); }

static void test_empty_member(void **s)
{
	(void)s;
	er_buf gz = {0}, back = {0};
	assert_int_equal(er_gzip_member(&gz, "", 0, ER_GZ_FAST), 0);
	assert_true(gz.len >= 18); /* header + empty block + trailer */
	inflate_all(&gz, &back);
	assert_int_equal(back.len, 0);
	er_buf_free(&gz);
	er_buf_free(&back);
}

/* Bytes a generator of the tests' own: the same on every run. */
static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return *x >> 24;
}

/* Compress in as one fast-level member, check it inflates back exactly;
 * the member's size. Frees in. */
static size_t fast_round_trip(er_buf *in)
{
	er_buf gz = {0}, back = {0};
	assert_int_equal(er_gzip_member(&gz, in->p, in->len, ER_GZ_FAST), 0);
	inflate_all(&gz, &back);
	assert_int_equal(back.len, in->len);
	assert_memory_equal(back.p, in->p, in->len);
	size_t n = gz.len;
	er_buf_free(in);
	er_buf_free(&gz);
	er_buf_free(&back);
	return n;
}

/* The fast level fits its codes to the start of a member; bytes, lengths
 * and distances that start never had must still encode (a code for every
 * symbol), and come back exactly. */
static void test_fast_level_codes_for_unseen_symbols(void **s)
{
	(void)s;
	er_buf in = {0};
	uint32_t x = 1;
	while (in.len < (200u << 10)) /* lower-case words only */
		er_buf_printf(&in, "%c%c%c%c ", 'a' + lcg(&x) % 26, 'a' + lcg(&x) % 26, 'a' + lcg(&x) % 4, 'e');
	for (int i = 0; i < 256; i++) /* then every byte value, */
		for (int k = 0; k < 300; k++) {
			char c = (char)(k % 3 ? (uint32_t)i : lcg(&x));
			er_buf_append(&in, &c, 1);
		}
	size_t far = in.len;
	assert_int_equal(er_buf_reserve(&in, (300u << 10) + 600), 0); /* copies from itself: no move */
	while (in.len < far + (300u << 10)) /* long and far repeats of it */
		er_buf_append(&in, in.p + far - 30000 + lcg(&x) * 100, 258 + lcg(&x));
	fast_round_trip(&in);
}

/* Bytes that do not compress come back exactly, in hardly more room. */
static void test_fast_level_incompressible(void **s)
{
	(void)s;
	er_buf in = {0};
	uint32_t x = 7;
	for (size_t i = 0; i < (3u << 19); i++) {
		char c = (char)lcg(&x);
		er_buf_append(&in, &c, 1);
	}
	size_t n = in.len;
	assert_true(fast_round_trip(&in) <= n + n / 1000 + 1024);
}

/* ISA-L takes another path for input that starts with 8 zero or 0xff bytes
 * (a run encoded directly, then the rest): all of it comes back, at every
 * length around the 8-byte test and past the run. */
static void test_fast_level_runs_of_zero_and_ff(void **s)
{
	(void)s;
	static const size_t lens[] = { 1, 7, 8, 9, 16, 300, 70000, 1u << 20 };
	for (int v = 0; v < 2; v++)
		for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
			for (int tail = 0; tail < 2; tail++) {
				er_buf in = {0};
				for (size_t k = 0; k < lens[i]; k++) {
					char c = (char)(v ? 0xff : 0);
					er_buf_append(&in, &c, 1);
				}
				if (tail) /* the run, then rows */
					for (int k = 0; k < 2000; k++)
						er_buf_printf(&in, "HBL%07d,%d,GREEN\n", k * 7919 % 1000003, k % 90);
				fast_round_trip(&in);
			}
}

/* The compressor's state comes from malloc, so it starts with whatever the
 * heap held. ISA-L's stateless init leaves some fields as they were (one is
 * the window size: a stale 8 means 256-byte matches), so a member came out
 * 23 % bigger whenever the state landed on such bytes: a fresh thread arena,
 * at 3 threads, in 1 run in 3. Leave such bytes where the state will be
 * allocated, and the member must not change. It relies on glibc handing the
 * freed block back to the next malloc (checked: without the memset this fails
 * in the normal build); ASan's allocator keeps freed blocks in quarantine, so
 * there it passes either way. */
static void test_fast_level_ignores_stale_heap(void **s)
{
	(void)s;
	er_buf in = {0}, ref = {0};
	make_input(&in);
	assert_int_equal(er_gzip_member(&ref, in.p, 1u << 20, ER_GZ_FAST), 0);
	for (int v = 1; v < 15; v += 3) {
		er_buf got = {0};
		assert_int_equal(er_buf_reserve(&got, 2u << 20), 0); /* not from the junk below */
		size_t sz = 110u << 10; /* a little more than the state, under the mmap threshold */
		uint16_t *junk = malloc(sz);
		assert_non_null(junk);
		for (size_t i = 0; i < sz / 2; i++)
			junk[i] = (uint16_t)v;
		free(junk);
		assert_int_equal(er_gzip_member(&got, in.p, 1u << 20, ER_GZ_FAST), 0);
		assert_int_equal(got.len, ref.len);
		assert_memory_equal(got.p, ref.p, ref.len);
		er_buf_free(&got);
	}
	er_buf_free(&in);
	er_buf_free(&ref);
}

/* A kept compressor gives the bytes of a fresh one, member after member. */
static void test_kept_compressor_same_bytes(void **s)
{
	(void)s;
	er_buf in = {0}, a = {0}, b = {0};
	er_gz z = {0};
	make_input(&in);
	for (size_t cut = 1000; cut < in.len; cut += in.len / 5) {
		size_t from = cut / 3, n = cut < in.len - from ? cut : in.len - from;
		a.len = b.len = 0;
		assert_int_equal(er_gz_member(&z, &a, in.p + from, n, ER_GZ_FAST), 0);
		assert_int_equal(er_gzip_member(&b, in.p + from, n, ER_GZ_FAST), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.p, b.p, a.len);
	}
	er_gz_free(&z);
	er_buf_free(&in);
	er_buf_free(&a);
	er_buf_free(&b);
}

/* The pool's sink: collects the members; fails at the given call. */
typedef struct collect {
	er_buf all;
	int calls, fail_at;
} collect;

static int collect_sink(void *ctx, const char *p, size_t n)
{
	collect *c = ctx;
	if (++c->calls == c->fail_at) {
		errno = ENOSPC;
		return -1;
	}
	return er_buf_append(&c->all, p, n);
}

/* Blocks put into the pool come back as the members one thread makes, in
 * order, at any number of helper threads. */
static void test_pool_members_in_order(void **s)
{
	(void)s;
	er_buf in = {0}, want = {0}, block = {0};
	make_input(&in);
	size_t bs = 7001; /* many members, of uneven content */
	for (size_t off = 0; off < in.len; off += bs)
		assert_int_equal(er_gzip_member(&want, in.p + off, in.len - off < bs ? in.len - off : bs, ER_GZ_FAST), 0);
	for (int threads = 1; threads <= 4; threads++) {
		collect c = { {0}, 0, 0 };
		er_gzpool *p = er_gzpool_new(threads, ER_GZ_FAST, collect_sink, &c);
		assert_non_null(p);
		for (size_t off = 0; off < in.len; off += bs) {
			er_buf_append(&block, in.p + off, in.len - off < bs ? in.len - off : bs);
			assert_int_equal(er_gzpool_put(p, &block), 0);
			assert_int_equal(block.len, 0);
		}
		assert_int_equal(er_gzpool_end(p), 0);
		assert_int_equal(c.all.len, want.len);
		assert_memory_equal(c.all.p, want.p, want.len);
		er_buf_free(&c.all);
	}
	er_buf_free(&in);
	er_buf_free(&want);
	er_buf_free(&block);
}

/* A sink failure is sticky: later puts and the end fail with its errno. */
static void test_pool_sink_error(void **s)
{
	(void)s;
	er_buf in = {0}, block = {0};
	make_input(&in);
	collect c = { {0}, 0, 2 };
	er_gzpool *p = er_gzpool_new(2, ER_GZ_FAST, collect_sink, &c);
	assert_non_null(p);
	for (size_t off = 0; off + 5000 <= in.len; off += 5000) {
		er_buf_append(&block, in.p + off, 5000);
		er_gzpool_put(p, &block); /* fails once the sink has */
	}
	errno = 0;
	assert_int_equal(er_gzpool_end(p), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(c.calls, 2); /* nothing is written after the failure */
	er_buf_free(&c.all);
	er_buf_free(&in);
	er_buf_free(&block);
}

/* The members an output is made of, each in fresh memory: the scores header
 * line as the pipeline's main thread makes it, slices of 1-5,000 bytes (the
 * last member of a small output) and a full 1 MiB member; *out gets the
 * CRC-32 of all of them. */
static void output_members(uLong *out)
{
	static const char hdr[] = "shipment_id,score,lane,reasons,importer_status,shipper_status,"
	                          "match,fast_eligible,front_of_line\n";
	er_buf in = {0};
	make_input(&in);
	assert_true(in.len > (1u << 20) + 5000);
	uLong crc = crc32(0, Z_NULL, 0);
	uint32_t x = 3;
	for (int i = 0; i < 12; i++) {
		size_t n = i == 0 ? sizeof hdr - 1 : i == 11 ? 1u << 20 : 1 + (lcg(&x) << 8 | lcg(&x)) % 5000;
		const char *from = i == 0 ? hdr : in.p + (i == 11 ? 0 : lcg(&x) * 4000);
		er_buf src = {0}, m = {0};
		er_buf_append(&src, from, n);
		assert_int_equal(er_gzip_member(&m, src.p, n, ER_GZ_FAST), 0);
		crc = crc32(crc, (const Bytef *)m.p, (uInt)m.len);
		er_buf_free(&src);
		er_buf_free(&m);
	}
	er_buf_free(&in);
	*out = crc;
}

/* Fresh processes get fresh address layouts (ASLR); the members must not
 * change. ISA-L's level-1 deflate, once the default, gave a different
 * encoding of such pieces in 1-2.5 % of processes: 400 runs catch that
 * all but surely. */
static void test_same_bytes_in_every_process(void **s)
{
	(void)s;
	uLong ref;
	output_members(&ref);
	char want[32];
	snprintf(want, sizeof want, "%08lx", ref);
	char exe[4096], cmd[4200];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	assert_true(el > 0);
	exe[el] = '\0';
	snprintf(cmd, sizeof cmd, "'%s' --child-output-members", exe);
	for (int i = 0; i < 400; i++) {
		FILE *f = popen(cmd, "r");
		assert_non_null(f);
		char got[512] = "";
		char *line = fgets(got, sizeof got, f);
		assert_int_equal(pclose(f), 0);
		assert_non_null(line);
		got[strcspn(got, "\n")] = '\0';
		assert_string_equal(got, want);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--child-output-members") == 0) {
		uLong crc;
		output_members(&crc);
		printf("%08lx\n", crc);
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_level_deterministic),
		cmocka_unit_test(test_zlib_level_deterministic),
		cmocka_unit_test(test_fast_level_ignores_dst_capacity),
		cmocka_unit_test(test_zlib_level_ignores_dst_capacity),
		cmocka_unit_test(test_fast_level_ignores_trailing_bytes),
		cmocka_unit_test(test_empty_member),
		cmocka_unit_test(test_fast_level_codes_for_unseen_symbols),
		cmocka_unit_test(test_fast_level_incompressible),
		cmocka_unit_test(test_fast_level_ignores_stale_heap),
		cmocka_unit_test(test_fast_level_runs_of_zero_and_ff),
		cmocka_unit_test(test_kept_compressor_same_bytes),
		cmocka_unit_test(test_pool_members_in_order),
		cmocka_unit_test(test_pool_sink_error),
		cmocka_unit_test(test_same_bytes_in_every_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
