/* test_gzbytes.h - what the gzip reader tests (test_bgzf.c, test_members.c)
 * share: a growing byte buffer to build files in, the backend a test runs
 * on (skipped when ISA-L is not built in), little-endian stores for headers
 * and trailers, and files in the test's scratch directory g_dir. Include after
 * cmocka.h and er_reader.h. */
#ifndef TEST_GZBYTES_H
#define TEST_GZBYTES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_dir[64];
static enum er_inflate k_zlib = ER_INFLATE_ZLIB;
static enum er_inflate k_isal = ER_INFLATE_ISAL;

struct bytes {
	unsigned char *p;
	size_t n, cap;
};

static void b_add(struct bytes *b, const void *p, size_t n)
{
	if (b->cap - b->n < n) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->n < n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

static inline enum er_inflate backend_of(void **state)
{
	enum er_inflate be = *(enum er_inflate *)*state;
#ifndef ER_HAVE_ISAL
	if (be == ER_INFLATE_ISAL)
		skip();
#endif
	return be;
}

static inline void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

static inline void path_of(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", g_dir, name);
}

#endif
