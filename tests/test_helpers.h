/* test_helpers.h - small helpers shared by the cmocka tests (include after
 * cmocka.h). Static inline: a test that uses none of them still builds
 * warning-free. */
#ifndef ER_TEST_HELPERS_H
#define ER_TEST_HELPERS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A test program's scratch directory: make "$TMPDIR/PREFIX_XXXXXX" in dir (/tmp when
 * TMPDIR is unset or too long for the paths the tests build in it). 0 or -1, as a cmocka
 * group setup returns. */
static inline int scratch_dir_make(char *dir, size_t len, const char *prefix)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, len, "%s/%s_XXXXXX", t && strlen(t) < 40 ? t : "/tmp", prefix);
	return mkdtemp(dir) ? 0 : -1;
}

/* Remove the scratch directory and whatever the tests left in it (files, or empty
 * directories). 0 or -1, as a cmocka group teardown returns. */
static inline int scratch_dir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			if (unlink(p) != 0)
				rmdir(p);
		}
		closedir(d);
	}
	return rmdir(dir);
}

/* Threads of this process now (the entries of /proc/self/task). */
static inline int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

#endif
