/* test_helpers.h - small helpers shared by the cmocka tests (include after
 * cmocka.h). Static inline: a test that uses none of them still builds
 * warning-free. */
#ifndef ER_TEST_HELPERS_H
#define ER_TEST_HELPERS_H

#include <stdio.h>

#include "er_util.h"

/* er_emit_fn that appends to the er_buf behind ctx. */
static inline int emit_buf(void *ctx, const char *p, size_t n)
{
	return er_buf_append(ctx, p, n);
}

/* er_emit_fn that always fails (an output that cannot be written). */
static inline int emit_fail(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return -1;
}

/* Write n bytes to path, replacing it; any failure fails the test. */
static inline void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

#endif
