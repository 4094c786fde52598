/* Unit tests for the reaper (er_reap.c): every close and unlink handed to it
 * is done by the time er_reaper_free returns, at once without a reaper, and
 * a reaper starts no thread before its first task and leaves none after
 * er_reaper_free. */
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

#include "er_reap.h"
#include "test_helpers.h"

#define NFILES 64

typedef struct dir {
	char path[64];
	char names[NFILES][96];
	int fds[NFILES];
} dir;

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* NFILES files in a fresh directory, each open (fds) and named (names). */
static void make_files(dir *d)
{
	snprintf(d->path, sizeof d->path, "/tmp/er-reap.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	char base[sizeof d->path];
	memcpy(base, d->path, sizeof base); /* not one object: -Wrestrict */
	for (int i = 0; i < NFILES; i++) {
		snprintf(d->names[i], sizeof d->names[i], "%s/f%02d", base, i);
		d->fds[i] = open(d->names[i], O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		assert_true(d->fds[i] >= 0);
		/* some page cache to free: what the reaper is for */
		char buf[4096];
		memset(buf, 'a' + i % 26, sizeof buf);
		for (int k = 0; k < 16; k++)
			assert_int_equal(write(d->fds[i], buf, sizeof buf), (ssize_t)sizeof buf);
	}
}

static void remove_dir(dir *d)
{
	for (int i = 0; i < NFILES; i++)
		unlink(d->names[i]);
	assert_int_equal(rmdir(d->path), 0);
}

static void test_inline_without_reaper(void **state)
{
	(void)state;
	assert_null(er_reaper_new(1));
	assert_null(er_reaper_new(0));
	dir d;
	make_files(&d);
	for (int i = 0; i < NFILES; i++) {
		er_reaper_close(NULL, d.fds[i]);
		assert_false(fd_open(d.fds[i])); /* at once */
		er_reaper_unlink(NULL, d.names[i]);
		struct stat st;
		assert_int_equal(lstat(d.names[i], &st), -1);
		assert_int_equal(errno, ENOENT);
	}
	er_reaper_close(NULL, -1); /* nothing: no fd */
	er_reaper_free(NULL);
	remove_dir(&d);
}

/* Every task is done once er_reaper_free returns, whatever the threads. */
static void test_all_done_after_free(void **state)
{
	(void)state;
	for (int threads = 2; threads <= 6; threads++) {
		dir d;
		make_files(&d);
		er_reaper *rp = er_reaper_new(threads);
		assert_non_null(rp);
		for (int i = 0; i < NFILES; i++) {
			er_reaper_close(rp, d.fds[i]);
			er_reaper_unlink(rp, d.names[i]);
		}
		er_reaper_close(rp, -1);
		er_reaper_free(rp);
		for (int i = 0; i < NFILES; i++) {
			assert_false(fd_open(d.fds[i]));
			struct stat st;
			assert_int_equal(lstat(d.names[i], &st), -1);
		}
		assert_int_equal(rmdir(d.path), 0); /* empty */
	}
}

/* The path is copied: the caller's buffer may change or go at once. */
static void test_path_copied(void **state)
{
	(void)state;
	dir d;
	make_files(&d);
	er_reaper *rp = er_reaper_new(2);
	assert_non_null(rp);
	for (int i = 0; i < NFILES; i++) {
		char *p = strdup(d.names[i]);
		assert_non_null(p);
		er_reaper_unlink(rp, p);
		memset(p, 'x', strlen(p));
		free(p);
		close(d.fds[i]);
	}
	er_reaper_free(rp);
	assert_int_equal(rmdir(d.path), 0);
}

/* A reaper with nothing to do starts no thread and is freed at once (a run
 * with no spill and no previous outputs); its first task starts one, and
 * free ends it. */
static void test_idle_reaper(void **state)
{
	(void)state;
	int before = count_threads();
	er_reaper *rp = er_reaper_new(4);
	assert_non_null(rp);
	assert_int_equal(count_threads(), before);
	er_reaper_free(rp);
	assert_int_equal(count_threads(), before);

	dir d;
	make_files(&d);
	rp = er_reaper_new(4);
	assert_non_null(rp);
	er_reaper_unlink(rp, d.names[0]);
	assert_true(count_threads() > before);
	for (int i = 1; i < NFILES; i++)
		er_reaper_unlink(rp, d.names[i]);
	for (int i = 0; i < NFILES; i++)
		close(d.fds[i]);
	er_reaper_free(rp);
	assert_int_equal(count_threads(), before);
	assert_int_equal(rmdir(d.path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_without_reaper),
		cmocka_unit_test(test_all_done_after_free),
		cmocka_unit_test(test_path_copied),
		cmocka_unit_test(test_idle_reaper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
