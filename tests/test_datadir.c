/* test_datadir.c - er_data_find: EXAMRISK_DATA alone when set, else beside
 * the binary (BIN/../share/examrisk, BIN/../data, BIN/../../data), then the
 * compiled-in directory, and the list of places looked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "er_datadir.h"
#include "test_helpers.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/er-datadir.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/rules.ini", dir);
	unlink(p);
	rmdir(dir);
	unsetenv("EXAMRISK_DATA");
	return 0;
}

static void test_env_is_the_only_place(void **state)
{
	(void)state;
	char buf[PATH_MAX], looked[4096], want[PATH_MAX + 32];
	setenv("EXAMRISK_DATA", dir, 1);
	/* not there: NULL, and only the EXAMRISK_DATA path is listed (the source
	 * tree's data/ has rules.ini, but the override is not a fallback) */
	assert_null(er_data_find("rules.ini", buf, sizeof buf, looked, sizeof looked));
	snprintf(want, sizeof want, "%s/rules.ini", dir);
	assert_string_equal(looked, want);
	write_file(want, "x", 1);
	assert_ptr_equal(er_data_find("rules.ini", buf, sizeof buf, looked, sizeof looked), buf);
	assert_string_equal(buf, want);
}

static void test_beside_the_binary(void **state)
{
	(void)state;
	unsetenv("EXAMRISK_DATA");
	char buf[PATH_MAX], looked[4096], exe[PATH_MAX], up1[PATH_MAX], up2[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	/* BIN = the binary's directory; up1 = BIN/.., up2 = BIN/../.. */
	snprintf(up1, sizeof up1, "%s", exe);
	*strrchr(up1, '/') = '\0';
	*strrchr(up1, '/') = '\0';
	snprintf(up2, sizeof up2, "%s", up1);
	*strrchr(up2, '/') = '\0';
	assert_null(er_data_find("no-such-file.csv", buf, sizeof buf, looked, sizeof looked));
	char expect[4 * PATH_MAX];
	snprintf(expect, sizeof expect, "%s/share/examrisk/no-such-file.csv, %s/data/no-such-file.csv, "
	         "%s/data/no-such-file.csv, %s/no-such-file.csv", up1, up1, up2, er_data_builtin());
	assert_string_equal(looked, expect);
	/* a file in the first place is found there */
	char d[PATH_MAX + 32], f[PATH_MAX + 64];
	snprintf(d, sizeof d, "%s/data", up1);
	int made = access(d, F_OK) != 0 && mkdir(d, 0755) == 0;
	snprintf(f, sizeof f, "%s/no-such-file.csv", d);
	write_file(f, "x", 1);
	assert_ptr_equal(er_data_find("no-such-file.csv", buf, sizeof buf, looked, sizeof looked), buf);
	assert_string_equal(buf, f);
	unlink(f);
	if (made)
		rmdir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_env_is_the_only_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_beside_the_binary, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
