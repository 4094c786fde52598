/* test_reader.c - er_reader: gzip detection, multi-member, truncation,
 * corruption, CRC/length checks and trailing garbage, for both inflate
 * backends (zlib and ISA-L; the ISA-L cases are skipped without ER_HAVE_ISAL). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "er_reader.h"
#include "test_helpers.h"

/* Temp directory shared by the tests (set up once per run). */
static char g_dir[64];

static enum er_inflate k_zlib = ER_INFLATE_ZLIB;
static enum er_inflate k_isal = ER_INFLATE_ISAL;

/* ---------------------------------------------------------------- helpers */

struct bytes {
	unsigned char *p;
	size_t n, cap;
};

static void b_reserve(struct bytes *b, size_t extra)
{
	if (b->cap - b->n >= extra)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->n < extra)
		cap *= 2;
	unsigned char *p = realloc(b->p, cap);
	assert_non_null(p);
	b->p = p;
	b->cap = cap;
}

static void b_add(struct bytes *b, const void *p, size_t n)
{
	b_reserve(b, n);
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void b_free(struct bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

static enum er_inflate backend_of(void **state)
{
	enum er_inflate be = *(enum er_inflate *)*state;
#ifndef ER_HAVE_ISAL
	if (be == ER_INFLATE_ISAL)
		skip();
#endif
	return be;
}

static const char *lib_name(enum er_inflate be)
{
	return be == ER_INFLATE_ISAL ? "isa-l" : "zlib";
}

/* Append one gzip member of data[0..n) to out. */
static void gz_member(struct bytes *out, const void *data, size_t n, int level, int strategy,
		      gz_header *hdr)
{
	z_stream s;
	memset(&s, 0, sizeof s);
	assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, strategy), Z_OK);
	if (hdr)
		assert_int_equal(deflateSetHeader(&s, hdr), Z_OK);
	size_t bound = deflateBound(&s, (uLong)n) + 1024;
	b_reserve(out, bound);
	s.next_in = (Bytef *)(uintptr_t)data;
	s.avail_in = (uInt)n;
	s.next_out = out->p + out->n;
	s.avail_out = (uInt)bound;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	out->n += s.total_out;
	assert_int_equal(deflateEnd(&s), Z_OK);
}

/* CSV-like text, deterministic. */
static void make_csv(struct bytes *b, size_t n, uint32_t seed)
{
	static const char *words[] = {"ACME", "GLOBEX", "INITECH", "UMBRELLA", "VESSEL", "TRUCK",
				      "CNSHA", "USLAX", "DEHAM", "FCL", "LCL", "\"quoted, name\""};
	uint32_t x = seed * 2654435761u + 1;
	unsigned long row = 0;
	char line[256];
	while (b->n < n) {
		x = x * 1103515245u + 12345u;
		int k = snprintf(line, sizeof line, "SHP%08lu,2024-%02u-%02u,%s,%s,%u.%02u\n", row++,
				 1 + (x >> 8) % 12, 1 + (x >> 12) % 28, words[(x >> 16) % 12],
				 words[(x >> 20) % 12], (x >> 4) % 100000, x % 100);
		size_t len = (size_t)k;
		if (len > n - b->n)
			len = n - b->n;
		b_add(b, line, len);
	}
}

/* Pseudo-random bytes (incompressible: deflate stores them). */
static void make_random(struct bytes *b, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;
	b_reserve(b, n);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b->p[b->n++] = (unsigned char)(x >> 11);
	}
}

static void path_of(char *path, size_t len, const char *name)
{
	int k = snprintf(path, len, "%s/%s", g_dir, name);
	assert_true(k > 0 && (size_t)k < len);
}

static void slurp(const char *path, struct bytes *b)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char buf[4096];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0)
		b_add(b, buf, k);
	assert_int_equal(fclose(f), 0);
}

/* Read path to the end with reads of at most cap bytes; the buffer is
 * scribbled over between calls so no backend can rely on earlier output
 * staying in it. Returns 0 (clean end) or -1 (msg holds the error). Checks
 * the invariants every read must keep: sticky errors, messages naming the
 * file, bytes_in == file size at a clean end. */
static int read_all(const char *path, enum er_inflate be, size_t cap, struct bytes *out, char *msg,
		    size_t msglen)
{
	er_reader *r = NULL;
	char err[512];
	assert_int_equal(er_reader_open_ex(path, be, &r, err, sizeof err), ER_OK);
	assert_non_null(r);
	assert_int_equal(er_reader_backend(r), be);
	assert_string_equal(er_reader_path(r), path);
	assert_string_equal(er_reader_error(r), "");
	unsigned char *buf = malloc(cap);
	assert_non_null(buf);
	ssize_t n;
	for (;;) {
		memset(buf, 0xa5, cap);
		n = er_reader_read(r, buf, cap);
		if (n <= 0)
			break;
		assert_true((size_t)n <= cap);
		b_add(out, buf, (size_t)n);
	}
	msg[0] = '\0';
	if (n < 0) {
		assert_int_equal(n, -1);
		const char *e = er_reader_error(r);
		size_t pl = strlen(path);
		assert_true(strncmp(e, path, pl) == 0 && e[pl] == ':' && e[pl + 1] == ' ');
		snprintf(msg, msglen, "%s", e);
		uint64_t in = er_reader_bytes_in(r);
		/* sticky: same result, same message, nothing more consumed */
		assert_int_equal(er_reader_read(r, buf, cap), -1);
		assert_int_equal(er_reader_read(r, buf, 1), -1);
		assert_string_equal(er_reader_error(r), msg);
		assert_true(er_reader_bytes_in(r) == in);
	} else {
		assert_string_equal(er_reader_error(r), "");
		if (er_reader_size(r) >= 0)
			assert_true(er_reader_bytes_in(r) == (uint64_t)er_reader_size(r));
		assert_int_equal(er_reader_read(r, buf, cap), 0);
	}
	free(buf);
	er_reader_close(r);
	return (int)n;
}

/* Write data to name, read it with every cap, expect exactly want. */
static void expect_ok(enum er_inflate be, const char *name, const struct bytes *file,
		      const struct bytes *want, int gz)
{
	static const size_t caps[] = {1, 7, 4096, 1 << 20};
	char path[256], msg[512];
	path_of(path, sizeof path, name);
	write_file(path, file->p, file->n);
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		struct bytes got = {0};
		int rc = read_all(path, be, caps[i], &got, msg, sizeof msg);
		if (rc != 0)
			fail_msg("%s cap %zu: %s", name, caps[i], msg);
		assert_int_equal(got.n, want->n);
		if (want->n)
			assert_memory_equal(got.p, want->p, want->n);
		b_free(&got);
	}
	er_reader *r;
	char err[256];
	unsigned char one[4];
	assert_int_equal(er_reader_open_ex(path, be, &r, err, sizeof err), ER_OK);
	assert_int_equal(er_reader_size(r), (int64_t)file->n);
	assert_int_equal(er_reader_read(r, one, 0), 0); /* cap 0: nothing, no state change */
	assert_true(er_reader_read(r, one, sizeof one) == (ssize_t)(want->n < 4 ? want->n : 4));
	assert_int_equal(er_reader_is_gzip(r), gz);
	er_reader_close(r);
	unlink(path);
}

/* Write data to name and expect reads (caps 1 and 4096) to fail with
 * exactly "PATH: " followed by the formatted message. */
static void expect_err(enum er_inflate be, const char *name, const struct bytes *file,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void expect_err(enum er_inflate be, const char *name, const struct bytes *file,
		       const char *fmt, ...)
{
	char path[256], msg[512], want[512];
	path_of(path, sizeof path, name);
	write_file(path, file->p, file->n);
	int k = snprintf(want, sizeof want, "%s: ", path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want + k, sizeof want - (size_t)k, fmt, ap);
	va_end(ap);
	static const size_t caps[] = {1, 4096};
	for (size_t i = 0; i < 2; i++) {
		struct bytes got = {0};
		assert_int_equal(read_all(path, be, caps[i], &got, msg, sizeof msg), -1);
		assert_string_equal(msg, want);
		b_free(&got);
	}
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	return scratch_dir_make(g_dir, sizeof g_dir, "er_reader");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(g_dir);
}

/* ------------------------------------------------------------------ tests */

static void test_single_member(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0};
	make_csv(&src, 20000, 1);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	expect_ok(be, "single.gz", &gz, &src, 1);
	b_free(&src);
	b_free(&gz);
}

static void test_multi_member(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes a = {0}, c = {0}, gz = {0}, want = {0};
	make_csv(&a, 3000, 2);
	make_random(&c, 1500, 3);
	gz_member(&gz, a.p, a.n, 1, Z_DEFAULT_STRATEGY, NULL);
	gz_member(&gz, "", 0, 6, Z_DEFAULT_STRATEGY, NULL); /* empty member */
	/* third member carries every optional header field, FHCRC included */
	gz_header h;
	memset(&h, 0, sizeof h);
	unsigned char extra[] = {'E', 'R', 3, 0, 'x', 'y', 'z'};
	h.extra = extra;
	h.extra_len = sizeof extra;
	h.name = (Bytef *)(uintptr_t) "manifest.csv";
	h.comment = (Bytef *)(uintptr_t) "a comment";
	h.hcrc = 1;
	h.time = 1700000000;
	gz_member(&gz, c.p, c.n, 9, Z_DEFAULT_STRATEGY, &h);
	b_add(&want, a.p, a.n);
	b_add(&want, c.p, c.n);
	expect_ok(be, "multi.gz", &gz, &want, 1);

	/* only empty members: a valid gzip file with no content */
	struct bytes e = {0}, none = {0};
	gz_member(&e, "", 0, 6, Z_DEFAULT_STRATEGY, NULL);
	gz_member(&e, "", 0, 1, Z_DEFAULT_STRATEGY, NULL);
	expect_ok(be, "empties.gz", &e, &none, 1);
	b_free(&a);
	b_free(&c);
	b_free(&gz);
	b_free(&want);
	b_free(&e);
}

/* `cat a.gz b.gz > ab.gz` */
static void test_cat_files(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes a = {0}, b = {0}, ga = {0}, gb = {0}, cat = {0}, want = {0};
	char pa[256], pb[256];
	make_csv(&a, 5000, 4);
	make_csv(&b, 7000, 5);
	gz_member(&ga, a.p, a.n, 6, Z_DEFAULT_STRATEGY, NULL);
	gz_member(&gb, b.p, b.n, 6, Z_FIXED, NULL);
	path_of(pa, sizeof pa, "a.gz");
	path_of(pb, sizeof pb, "b.gz");
	write_file(pa, ga.p, ga.n);
	write_file(pb, gb.p, gb.n);
	slurp(pa, &cat);
	slurp(pb, &cat);
	b_add(&want, a.p, a.n);
	b_add(&want, b.p, b.n);
	expect_ok(be, "ab.gz", &cat, &want, 1);
	unlink(pa);
	unlink(pb);
	b_free(&a);
	b_free(&b);
	b_free(&ga);
	b_free(&gb);
	b_free(&cat);
	b_free(&want);
}

static void test_empty_and_plain(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes empty = {0}, csv = {0}, one = {0}, almost = {0};
	expect_ok(be, "empty.csv", &empty, &empty, 0);
	make_csv(&csv, 300000, 6); /* larger than the 256 KiB input buffer */
	expect_ok(be, "plain.csv", &csv, &csv, 0);
	b_add(&one, "\x1f", 1); /* a lone 0x1f is not gzip magic */
	expect_ok(be, "one.bin", &one, &one, 0);
	b_add(&almost, "\x1f\x8c\x08\x00rest", 8); /* second magic byte wrong */
	expect_ok(be, "almost.bin", &almost, &almost, 0);
	b_free(&csv);
	b_free(&one);
	b_free(&almost);
}

/* 1f 8b and nothing else is a truncated gzip file, not plain text. */
static void test_magic_only(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes m = {0};
	b_add(&m, "\x1f\x8b", 2);
	expect_err(be, "magic.gz", &m, "gzip truncated at byte %d", 2);
	b_free(&m);
}

/* Three ~2 KB test inputs: compressible (dynamic Huffman), compressible
 * with fixed Huffman codes, incompressible (stored blocks). */
static void small_variant(int v, struct bytes *src, struct bytes *gz)
{
	if (v == 2)
		make_random(src, 2000, 7);
	else
		make_csv(src, 2000, 8);
	gz_member(gz, src->p, src->n, 6, v == 1 ? Z_FIXED : Z_DEFAULT_STRATEGY, NULL);
}

static void test_truncation_every_offset(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], msg[512], want[512];
	path_of(path, sizeof path, "trunc.gz");
	for (int v = 0; v < 3; v++) {
		struct bytes src = {0}, gz = {0};
		small_variant(v, &src, &gz);
		for (size_t cut = 2; cut < gz.n; cut++) {
			write_file(path, gz.p, cut);
			snprintf(want, sizeof want, "%s: gzip truncated at byte %zu", path, cut);
			for (size_t cap = 1; cap <= 4096; cap *= 4096) {
				struct bytes got = {0};
				if (read_all(path, be, cap, &got, msg, sizeof msg) != -1)
					fail_msg("variant %d cut %zu cap %zu: clean end", v, cut, cap);
				assert_string_equal(msg, want);
				b_free(&got);
			}
		}
		b_free(&src);
		b_free(&gz);
	}
	unlink(path);
}

/* Cutting a two-member file: only the cut exactly at the member boundary
 * is a valid (shorter) file. */
static void test_truncation_multi(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], msg[512], want[512];
	struct bytes a = {0}, b = {0}, gz = {0};
	make_csv(&a, 700, 9);
	make_random(&b, 500, 10);
	gz_member(&gz, a.p, a.n, 6, Z_DEFAULT_STRATEGY, NULL);
	size_t boundary = gz.n;
	gz_member(&gz, b.p, b.n, 6, Z_DEFAULT_STRATEGY, NULL);
	path_of(path, sizeof path, "trunc2.gz");
	for (size_t cut = 2; cut < gz.n; cut++) {
		write_file(path, gz.p, cut);
		struct bytes got = {0};
		int rc = read_all(path, be, 4096, &got, msg, sizeof msg);
		if (cut == boundary) {
			assert_int_equal(rc, 0);
			assert_int_equal(got.n, a.n);
			assert_memory_equal(got.p, a.p, a.n);
		} else if (cut == boundary + 1) {
			/* a lone 0x1f after a member is not a member */
			assert_int_equal(rc, -1);
			snprintf(want, sizeof want, "%s: trailing garbage after gzip member at byte %zu",
				 path, boundary);
			assert_string_equal(msg, want);
		} else {
			assert_int_equal(rc, -1);
			snprintf(want, sizeof want, "%s: gzip truncated at byte %zu", path, cut);
			assert_string_equal(msg, want);
		}
		b_free(&got);
	}
	unlink(path);
	b_free(&a);
	b_free(&b);
	b_free(&gz);
}

/* Invert one byte at a time in the header's magic-free part (method, flags),
 * the deflate body and the trailer: every file must fail. MTIME/XFL/OS
 * (bytes 4..9) may legitimately not matter and are skipped; inverting a
 * magic byte makes the file plain text. */
static void test_flip_every_byte(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], msg[512];
	path_of(path, sizeof path, "flip.gz");
	for (int v = 0; v < 3; v++) {
		struct bytes src = {0}, gz = {0};
		small_variant(v, &src, &gz);
		for (size_t i = 2; i < gz.n; i++) {
			if (i >= 4 && i <= 9)
				continue;
			gz.p[i] ^= 0xff;
			write_file(path, gz.p, gz.n);
			gz.p[i] ^= 0xff;
			struct bytes got = {0};
			if (read_all(path, be, 4096, &got, msg, sizeof msg) != -1)
				fail_msg("variant %d: flipped byte %zu of %zu read cleanly", v, i, gz.n);
			assert_non_null(strstr(msg, "gzip"));
			b_free(&got);
		}
		b_free(&src);
		b_free(&gz);
	}
	unlink(path);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void test_crc_mismatch(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0}, two = {0};
	make_csv(&src, 4000, 11);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	uint32_t crc = (uint32_t)crc32(0, src.p, (uInt)src.n);
	put_le32(gz.p + gz.n - 8, crc ^ 0x00010000u);
	expect_err(be, "crc.gz", &gz, "gzip CRC mismatch in member 1 (member ends at byte %zu)",
		   gz.n);

	/* CRC and ISIZE both wrong: the CRC is reported */
	put_le32(gz.p + gz.n - 4, (uint32_t)src.n + 1);
	expect_err(be, "crc2.gz", &gz, "gzip CRC mismatch in member 1 (member ends at byte %zu)",
		   gz.n);

	/* bad CRC but the file ends inside ISIZE: truncated, for both backends */
	struct bytes cut = {0};
	b_add(&cut, gz.p, gz.n - 2);
	expect_err(be, "crc3.gz", &cut, "gzip truncated at byte %zu", cut.n);

	/* bad CRC in the second member */
	put_le32(gz.p + gz.n - 8, crc);
	put_le32(gz.p + gz.n - 4, (uint32_t)src.n);
	b_add(&two, gz.p, gz.n);
	b_add(&two, gz.p, gz.n);
	two.p[two.n - 5] ^= 0x80;
	expect_err(be, "crc4.gz", &two, "gzip CRC mismatch in member 2 (member ends at byte %zu)",
		   two.n);
	b_free(&src);
	b_free(&gz);
	b_free(&two);
	b_free(&cut);
}

static void test_length_mismatch(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0}, three = {0}, e = {0};
	make_csv(&src, 4000, 12);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	put_le32(gz.p + gz.n - 4, (uint32_t)src.n - 1);
	expect_err(be, "len.gz", &gz,
		   "gzip length mismatch in member 1 (member ends at byte %zu)", gz.n);
	/* an empty member claiming one byte, as the third member */
	put_le32(gz.p + gz.n - 4, (uint32_t)src.n);
	b_add(&three, gz.p, gz.n);
	b_add(&three, gz.p, gz.n);
	gz_member(&e, "", 0, 6, Z_DEFAULT_STRATEGY, NULL);
	put_le32(e.p + e.n - 4, 1);
	b_add(&three, e.p, e.n);
	expect_err(be, "len3.gz", &three,
		   "gzip length mismatch in member 3 (member ends at byte %zu)", three.n);
	b_free(&src);
	b_free(&gz);
	b_free(&three);
	b_free(&e);
}

static void test_trailing_garbage(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0}, f = {0};
	make_csv(&src, 3000, 13);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
#define TG "trailing garbage after gzip member at byte %zu"

	b_add(&f, gz.p, gz.n);
	b_add(&f, "xyz", 3);
	expect_err(be, "tg1.gz", &f, TG, gz.n);

	f.n = 0;
	b_add(&f, gz.p, gz.n);
	b_add(&f, "\0\0\0\0\0\0\0\0", 8); /* zero padding (tape blocks) */
	expect_err(be, "tg2.gz", &f, TG, gz.n);

	f.n = 0; /* garbage after the second member names its offset */
	b_add(&f, gz.p, gz.n);
	b_add(&f, gz.p, gz.n);
	b_add(&f, "\n", 1);
	expect_err(be, "tg3.gz", &f, TG, 2 * gz.n);

	f.n = 0; /* the start of another member, then nothing */
	b_add(&f, gz.p, gz.n);
	b_add(&f, "\x1f\x8b", 2);
	expect_err(be, "tg4.gz", &f, "gzip truncated at byte %zu", gz.n + 2);

	/* a valid second member is fine */
	struct bytes want = {0};
	f.n = 0;
	b_add(&f, gz.p, gz.n);
	b_add(&f, gz.p, gz.n);
	b_add(&want, src.p, src.n);
	b_add(&want, src.p, src.n);
	expect_ok(be, "tg5.gz", &f, &want, 1);
	b_free(&src);
	b_free(&gz);
	b_free(&f);
	b_free(&want);
}

/* A trailer that straddles the reader's 256 KiB input buffer boundary: the
 * stored CRC/ISIZE are split across two read() calls. Level 0 (stored
 * blocks) makes the member size exact. */
static void test_trailer_straddles_buffer(void **state)
{
	enum er_inflate be = backend_of(state);
	const size_t edge = 256u * 1024u;
	struct bytes src = {0};
	make_random(&src, edge, 18);
	for (size_t k = 0; k <= 8; k++) {
		size_t n = edge - 100;
		struct bytes gz = {0};
		for (int tries = 0; tries < 10; tries++) {
			gz.n = 0;
			gz_member(&gz, src.p, n, 0, Z_DEFAULT_STRATEGY, NULL);
			if (gz.n == edge + k)
				break;
			n = n + (edge + k) - gz.n;
		}
		assert_int_equal(gz.n, edge + k);
		uint32_t crc = (uint32_t)crc32(0, src.p, (uInt)n);
		struct bytes want = {0};
		b_add(&want, src.p, n);
		expect_ok(be, "edge.gz", &gz, &want, 1);
		put_le32(gz.p + gz.n - 4, (uint32_t)n + 1);
		expect_err(be, "edge-len.gz", &gz,
			   "gzip length mismatch in member 1 (member ends at byte %zu)", gz.n);
		put_le32(gz.p + gz.n - 4, (uint32_t)n);
		put_le32(gz.p + gz.n - 8, crc ^ 1u);
		expect_err(be, "edge-crc.gz", &gz,
			   "gzip CRC mismatch in member 1 (member ends at byte %zu)", gz.n);
		b_free(&gz);
		b_free(&want);
	}
	b_free(&src);
}

/* Header faults zlib rejects; ISA-L must reject them too. */
static void test_header_errors(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], msg[512], want[512];
	struct bytes src = {0}, gz = {0}, got = {0};
	make_csv(&src, 1000, 14);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	path_of(path, sizeof path, "hdr.gz");

	gz.p[3] |= 0x20; /* reserved FLG bit */
	write_file(path, gz.p, gz.n);
	assert_int_equal(read_all(path, be, 4096, &got, msg, sizeof msg), -1);
	snprintf(want, sizeof want, "%s: corrupt gzip data at byte 4 (%s: unknown header flags set)",
		 path, lib_name(be));
	assert_string_equal(msg, want);
	assert_int_equal(got.n, 0);
	gz.p[3] &= 0x1f;

	gz.p[2] = 7; /* compression method */
	write_file(path, gz.p, gz.n);
	assert_int_equal(read_all(path, be, 4096, &got, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "unknown compression method"));
	gz.p[2] = 8;

	/* FHCRC with a wrong header CRC */
	struct bytes h = {0};
	gz_header gh;
	memset(&gh, 0, sizeof gh);
	gh.hcrc = 1;
	gz_member(&h, src.p, src.n, 6, Z_DEFAULT_STRATEGY, &gh);
	assert_int_equal(h.p[3] & 2, 2);
	h.p[10] ^= 1;
	write_file(path, h.p, h.n);
	assert_int_equal(read_all(path, be, 4096, &got, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "header crc mismatch"));

	/* reserved FLG bit in the second member */
	got.n = 0;
	struct bytes two = {0};
	b_add(&two, gz.p, gz.n);
	b_add(&two, gz.p, gz.n);
	two.p[gz.n + 3] |= 0x80;
	write_file(path, two.p, two.n);
	assert_int_equal(read_all(path, be, 4096, &got, msg, sizeof msg), -1);
	snprintf(want, sizeof want, "%s: corrupt gzip data at byte %zu (%s: unknown header flags set)",
		 path, gz.n + 4, lib_name(be));
	assert_string_equal(msg, want);
	unlink(path);
	b_free(&src);
	b_free(&gz);
	b_free(&got);
	b_free(&h);
	b_free(&two);
}

/* Errors stay: after -1 every read is -1, even with a fresh buffer. */
static void test_sticky(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], err[256], want[512];
	struct bytes src = {0}, gz = {0};
	make_csv(&src, 1000, 15);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	path_of(path, sizeof path, "sticky.gz");
	write_file(path, gz.p, gz.n - 3);
	er_reader *r;
	assert_int_equal(er_reader_open_ex(path, be, &r, err, sizeof err), ER_OK);
	unsigned char *buf = malloc(1 << 16);
	assert_non_null(buf);
	/* The error is found before the buffer is full: the bytes decoded
	 * before it are still handed out (every row before the damage is
	 * counted), and the error comes with the next read. */
	assert_int_equal(er_reader_read(r, buf, 1 << 16), (ssize_t)src.n);
	assert_memory_equal(buf, src.p, src.n);
	assert_int_equal(er_reader_read(r, buf, 1 << 16), -1);
	snprintf(want, sizeof want, "%s: gzip truncated at byte %zu", path, gz.n - 3);
	assert_string_equal(er_reader_error(r), want);
	for (int i = 0; i < 3; i++)
		assert_int_equal(er_reader_read_fn(r, (char *)buf, 1 << 16), -1);
	assert_string_equal(er_reader_error(r), want);
	er_reader_close(r);
	free(buf);
	unlink(path);
	b_free(&src);
	b_free(&gz);
}

/* A member cut or damaged in the middle: one read into a buffer bigger
 * than the whole file hands out the same bytes as many small reads - the
 * bytes decoded before the error are never dropped. */
static void test_error_keeps_bytes(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], msg[512];
	struct bytes src = {0}, gz = {0};
	make_csv(&src, 300000, 21);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	gz_member(&gz, src.p, src.n / 3, 6, Z_DEFAULT_STRATEGY, NULL);
	path_of(path, sizeof path, "keep.gz");
	for (int damage = 0; damage < 2; damage++) {
		struct bytes f = {0};
		size_t len = damage ? gz.n : gz.n / 2 + 17;
		b_add(&f, gz.p, len);
		if (damage)
			f.p[gz.n / 2] ^= 0x40; /* corrupt data (or CRC) in the first member */
		write_file(path, f.p, f.n);
		struct bytes small = {0}, big = {0};
		assert_int_equal(read_all(path, be, 4096, &small, msg, sizeof msg), -1);
		assert_int_equal(read_all(path, be, 4 << 20, &big, msg, sizeof msg), -1);
		assert_true(big.n > 0);
		if (!damage || be == ER_INFLATE_ZLIB) /* ISA-L decodes damaged data further with more room */
			assert_int_equal(big.n, small.n);
		size_t n = big.n < small.n ? big.n : small.n;
		assert_memory_equal(big.p, small.p, n);
		if (!damage) /* damaged data decodes to wrong bytes for a while before the error */
			assert_memory_equal(big.p, src.p, n < src.n ? n : src.n);
		b_free(&small);
		b_free(&big);
		b_free(&f);
	}
	unlink(path);
	b_free(&src);
	b_free(&gz);
}

/* 5 MB of CSV: one member, and ~40 members of varied sizes whose
 * boundaries fall anywhere relative to the 256 KiB input buffer. */
static void test_big(void **state)
{
	enum er_inflate be = backend_of(state);
	struct bytes src = {0}, gz = {0}, multi = {0};
	char path[256], msg[512];
	make_csv(&src, 5u << 20, 16);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	uint32_t x = 99;
	for (size_t pos = 0; pos < src.n;) {
		x = x * 1103515245u + 12345u;
		size_t len = 1 + (x >> 8) % 260000;
		if (len > src.n - pos)
			len = src.n - pos;
		gz_member(&multi, src.p + pos, len, 1 + (int)(x % 9), Z_DEFAULT_STRATEGY, NULL);
		pos += len;
	}
	static const size_t caps[] = {4096, 65537, 1 << 20};
	for (int m = 0; m < 2; m++) {
		path_of(path, sizeof path, m ? "bigm.gz" : "big.gz");
		write_file(path, m ? multi.p : gz.p, m ? multi.n : gz.n);
		for (size_t i = 0; i < 3; i++) {
			struct bytes got = {0};
			if (read_all(path, be, caps[i], &got, msg, sizeof msg) != 0)
				fail_msg("%s cap %zu: %s", path, caps[i], msg);
			assert_int_equal(got.n, src.n);
			assert_memory_equal(got.p, src.p, src.n);
			b_free(&got);
		}
		unlink(path);
	}
	b_free(&src);
	b_free(&gz);
	b_free(&multi);
}

static void test_open_errors(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], err[512], want[512], msg[512];
	er_reader *r = (er_reader *)&r;
	path_of(path, sizeof path, "does-not-exist.gz");
	assert_int_equal(er_reader_open_ex(path, be, &r, err, sizeof err), ER_E_IO);
	assert_null(r);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(err, want);

	/* a directory opens but cannot be read */
	struct bytes got = {0};
	assert_int_equal(read_all(g_dir, be, 4096, &got, msg, sizeof msg), -1);
	snprintf(want, sizeof want, "%s: read error: Is a directory", g_dir);
	assert_string_equal(msg, want);
	er_reader_close(NULL);
}

/* "-" reads fd 0 and leaves it open. */
static void test_stdin(void **state)
{
	enum er_inflate be = backend_of(state);
	char path[256], err[256];
	struct bytes src = {0}, gz = {0}, got = {0};
	make_csv(&src, 50000, 17);
	gz_member(&gz, src.p, src.n, 6, Z_DEFAULT_STRATEGY, NULL);
	path_of(path, sizeof path, "stdin.gz");
	write_file(path, gz.p, gz.n);
	int saved = dup(0);
	assert_true(saved >= 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	er_reader *r;
	assert_int_equal(er_reader_open_ex("-", be, &r, err, sizeof err), ER_OK);
	assert_string_equal(er_reader_path(r), "-");
	assert_int_equal(er_reader_size(r), (int64_t)gz.n); /* stdin redirected from a file */
	char buf[3000];
	ssize_t n;
	while ((n = er_reader_read_fn(r, buf, sizeof buf)) > 0)
		b_add(&got, buf, (size_t)n);
	assert_int_equal(n, 0);
	assert_int_equal(er_reader_is_gzip(r), 1);
	assert_true(er_reader_bytes_in(r) == gz.n);
	er_reader_close(r);
	assert_true(fcntl(0, F_GETFD) != -1); /* still open */
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	assert_int_equal(got.n, src.n);
	assert_memory_equal(got.p, src.p, src.n);

	/* a pipe on stdin: size unknown */
	int p[2];
	assert_int_equal(pipe(p), 0);
	saved = dup(0);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	assert_int_equal(write(p[1], "a,b\n", 4), 4);
	close(p[1]);
	assert_int_equal(er_reader_open_ex("-", be, &r, err, sizeof err), ER_OK);
	assert_int_equal(er_reader_size(r), -1);
	assert_int_equal(er_reader_read(r, buf, sizeof buf), 4);
	assert_memory_equal(buf, "a,b\n", 4);
	assert_int_equal(er_reader_read(r, buf, sizeof buf), 0);
	assert_int_equal(er_reader_is_gzip(r), 0);
	er_reader_close(r);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	unlink(path);
	b_free(&src);
	b_free(&gz);
	b_free(&got);
}

/* Both backends give byte-identical errors for truncation, trailer faults
 * and garbage, and agree that every inverted byte is an error. */
static void test_backends_agree(void **state)
{
	(void)state;
#ifndef ER_HAVE_ISAL
	skip();
#else
	char path[256], mz[512], mi[512];
	path_of(path, sizeof path, "agree.gz");
	int same = 0, total = 0;
	for (int v = 0; v < 3; v++) {
		struct bytes src = {0}, gz = {0};
		small_variant(v, &src, &gz);
		b_add(&gz, gz.p, gz.n); /* two members */
		for (size_t i = 2; i < gz.n; i++) {
			if ((i >= 4 && i <= 9) || (i >= gz.n / 2 + 4 && i <= gz.n / 2 + 9))
				continue;
			gz.p[i] ^= 0xff;
			write_file(path, gz.p, gz.n);
			gz.p[i] ^= 0xff;
			struct bytes a = {0}, b = {0};
			assert_int_equal(read_all(path, ER_INFLATE_ZLIB, 4096, &a, mz, sizeof mz), -1);
			assert_int_equal(read_all(path, ER_INFLATE_ISAL, 4096, &b, mi, sizeof mi), -1);
			total++;
			/* corrupt deflate data is worded by each library; all else is ours */
			if (!strstr(mz, "corrupt gzip data") && !strstr(mi, "corrupt gzip data")) {
				assert_string_equal(mz, mi);
				same++;
			}
			b_free(&a);
			b_free(&b);
		}
		b_free(&src);
		b_free(&gz);
	}
	print_message("backends agree: %d of %d inverted bytes gave identical non-corrupt messages\n",
		      same, total);
	unlink(path);
#endif
}

static void test_backend_select(void **state)
{
	(void)state;
	char path[256], err[256];
	er_reader *r;
	path_of(path, sizeof path, "sel.csv");
	write_file(path, "x\n", 2);
#ifdef ER_HAVE_ISAL
	const enum er_inflate dflt = ER_INFLATE_ISAL, isal = ER_INFLATE_ISAL;
#else
	const enum er_inflate dflt = ER_INFLATE_ZLIB, isal = ER_INFLATE_ZLIB;
	assert_int_equal(er_reader_open_ex(path, ER_INFLATE_ISAL, &r, err, sizeof err), ER_E_USAGE);
	assert_null(r);
#endif
	char *old = getenv("ER_INFLATE");
	char *saved = old ? strdup(old) : NULL;
	unsetenv("ER_INFLATE");
	assert_int_equal(er_reader_open(path, &r, err, sizeof err), ER_OK);
	assert_int_equal(er_reader_backend(r), dflt);
	er_reader_close(r);
	setenv("ER_INFLATE", "zlib", 1);
	assert_int_equal(er_reader_open(path, &r, err, sizeof err), ER_OK);
	assert_int_equal(er_reader_backend(r), ER_INFLATE_ZLIB);
	er_reader_close(r);
	setenv("ER_INFLATE", "isal", 1);
	assert_int_equal(er_reader_open(path, &r, err, sizeof err), ER_OK);
	assert_int_equal(er_reader_backend(r), isal);
	er_reader_close(r);
	/* an explicit backend wins over the environment */
	assert_int_equal(er_reader_open_ex(path, ER_INFLATE_ZLIB, &r, err, sizeof err), ER_OK);
	assert_int_equal(er_reader_backend(r), ER_INFLATE_ZLIB);
	er_reader_close(r);
	if (saved)
		setenv("ER_INFLATE", saved, 1);
	else
		unsetenv("ER_INFLATE");
	free(saved);
	unlink(path);
}

/* Each backend-parametrised test runs twice, named by backend. */
#define BOTH(f) {#f "/zlib", f, NULL, NULL, &k_zlib}, {#f "/isal", f, NULL, NULL, &k_isal}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_single_member),
		BOTH(test_multi_member),
		BOTH(test_cat_files),
		BOTH(test_empty_and_plain),
		BOTH(test_magic_only),
		BOTH(test_truncation_every_offset),
		BOTH(test_truncation_multi),
		BOTH(test_flip_every_byte),
		BOTH(test_crc_mismatch),
		BOTH(test_length_mismatch),
		BOTH(test_trailing_garbage),
		BOTH(test_trailer_straddles_buffer),
		BOTH(test_header_errors),
		BOTH(test_sticky),
		BOTH(test_big),
		BOTH(test_open_errors),
		BOTH(test_stdin),
		BOTH(test_error_keeps_bytes),
		cmocka_unit_test(test_backends_agree),
		cmocka_unit_test(test_backend_select),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
