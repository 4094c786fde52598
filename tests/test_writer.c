/* Unit tests for atomic outputs: nothing appears at the target until commit,
 * abort leaves the old file and no temporary, rollback drops a failed file's rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "er_writer.h"

static char dir[64];
static char target[128];

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof dir, "/tmp/er-writer.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(target, sizeof target, "%s/scores.csv", dir);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");
	fputs(s, f);
	fclose(f);
}

static void test_commit_replaces(void **s)
{
	(void)s;
	write_file(target, "yesterday\n");
	er_outfile o;
	char err[256], buf[256];
	assert_int_equal(er_out_open(&o, target, err, sizeof err), ER_OK);
	assert_int_equal(er_out_write(&o, "today\n", 6), 0);
	slurp(target, buf, sizeof buf);
	assert_string_equal(buf, "yesterday\n"); /* not visible before commit */
	assert_int_equal(count_entries(), 2);    /* target + temporary */
	assert_int_equal(er_out_commit(&o, err, sizeof err), ER_OK);
	er_out_abort(&o); /* after commit: only frees */
	slurp(target, buf, sizeof buf);
	assert_string_equal(buf, "today\n");
	assert_int_equal(count_entries(), 1);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	mode_t um = umask(0);
	umask(um);
	assert_int_equal(st.st_mode & 0777, 0666 & ~um);
}

static void test_abort_keeps_old(void **s)
{
	(void)s;
	write_file(target, "yesterday\n");
	er_outfile o;
	char err[256], buf[256];
	assert_int_equal(er_out_open(&o, target, err, sizeof err), ER_OK);
	er_out_write(&o, "half", 4);
	er_out_abort(&o);
	slurp(target, buf, sizeof buf);
	assert_string_equal(buf, "yesterday\n");
	assert_int_equal(count_entries(), 1); /* no temporary left */
}

static void test_rollback(void **s)
{
	(void)s;
	er_outfile o;
	char err[256], buf[256];
	assert_int_equal(er_out_open(&o, target, err, sizeof err), ER_OK);
	er_out_write(&o, "header\n", 7);
	er_out_mark(&o);
	er_out_write(&o, "good\n", 5);
	er_out_mark(&o);
	er_out_write(&o, "from a corrupt file\n", 20);
	assert_int_equal(er_out_rollback(&o), 0);
	er_out_write(&o, "next\n", 5);
	assert_int_equal(er_out_commit(&o, err, sizeof err), ER_OK);
	er_out_abort(&o);
	slurp(target, buf, sizeof buf);
	assert_string_equal(buf, "header\ngood\nnext\n");
}

static void test_open_fails_in_missing_dir(void **s)
{
	(void)s;
	er_outfile o;
	char err[256];
	char bad[160];
	snprintf(bad, sizeof bad, "%s/no/such/dir/x.csv", dir);
	assert_int_equal(er_out_open(&o, bad, err, sizeof err), ER_E_IO);
	assert_non_null(strstr(err, "x.csv: cannot create temporary file"));
	er_out_abort(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_fails_in_missing_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
