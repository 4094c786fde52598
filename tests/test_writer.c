/* Unit tests for atomic outputs: nothing appears at the target until commit,
 * abort leaves the old file and no temporary, rollback drops a failed file's rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "er_commit.h"
#include "er_work.h"
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
	assert_int_equal(er_out_open(&o, target, 0, 0, err, sizeof err), ER_OK);
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
	assert_int_equal(er_out_open(&o, target, 0, 0, err, sizeof err), ER_OK);
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
	assert_int_equal(er_out_open(&o, target, 0, 0, err, sizeof err), ER_OK);
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
	assert_int_equal(er_out_open(&o, bad, 0, 0, err, sizeof err), ER_E_IO);
	assert_non_null(strstr(err, "x.csv: cannot create temporary file"));
	er_out_abort(&o);
}

static void commit_text(const char *path, const char *text)
{
	er_outfile o;
	char err[256];
	assert_int_equal(er_out_open(&o, path, 0, 0, err, sizeof err), ER_OK);
	assert_int_equal(er_out_write(&o, text, strlen(text)), 0);
	assert_int_equal(er_out_commit(&o, err, sizeof err), ER_OK);
	er_out_abort(&o);
}

/* Item 4: customs data is confidential: a 0600 file stays 0600. */
static void test_mode_kept(void **s)
{
	(void)s;
	write_file(target, "yesterday\n");
	assert_int_equal(chmod(target, 0600), 0);
	commit_text(target, "today\n");
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* A symlink keeps pointing at its (replaced) target; a dangling one gets it created. */
static void test_symlink_followed(void **s)
{
	(void)s;
	char real[160], link[160], buf[64];
	snprintf(real, sizeof real, "%s/real.csv", dir);
	snprintf(link, sizeof link, "%s/link.csv", dir);
	write_file(real, "old\n");
	assert_int_equal(symlink("real.csv", link), 0);
	commit_text(link, "new\n");
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	slurp(real, buf, sizeof buf);
	assert_string_equal(buf, "new\n");
	assert_int_equal(unlink(real), 0); /* now dangling */
	commit_text(link, "created\n");
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	slurp(real, buf, sizeof buf);
	assert_string_equal(buf, "created\n");
	assert_int_equal(count_entries(), 2);
}

/* A FIFO is written straight through: its reader gets the bytes, no rename. */
static void test_fifo_direct(void **s)
{
	(void)s;
	char fifo[160], buf[64];
	snprintf(fifo, sizeof fifo, "%s/pipe", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	er_outfile o;
	char err[256];
	assert_int_equal(er_out_open(&o, fifo, 0, 0, err, sizeof err), ER_OK);
	assert_int_equal(o.kind, ER_OUT_DIRECT);
	assert_false(er_out_atomic(&o));
	assert_int_equal(er_out_write(&o, "row\n", 4), 0);
	er_out_mark(&o);
	er_out_write(&o, "x", 1);
	assert_int_equal(er_out_rollback(&o), -1); /* a pipe cannot take bytes back */
	er_out_abort(&o);
	ssize_t n = read(rd, buf, sizeof buf);
	assert_int_equal(n, 5);
	close(rd);
	struct stat st;
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

static void test_directory_is_usage_error(void **s)
{
	(void)s;
	er_outfile o;
	char err[256];
	assert_int_equal(er_out_open(&o, dir, 0, 0, err, sizeof err), ER_E_USAGE);
	assert_non_null(strstr(err, "is a directory"));
	er_out_abort(&o);
}

/* SHA-256 of the bytes kept: a rolled-back file's bytes are not hashed. */
static void test_digest_rollback(void **s)
{
	(void)s;
	er_outfile o;
	char err[256], hex[65];
	assert_int_equal(er_out_open(&o, target, 0, 0, err, sizeof err), ER_OK);
	er_out_write(&o, "ab", 2);
	er_out_mark(&o);
	er_out_write(&o, "c", 1);
	er_out_mark(&o);
	er_out_write(&o, "from a corrupt file", 19);
	assert_int_equal(er_out_rollback(&o), 0);
	er_out_digest(&o, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(er_out_bytes(&o), 3);
	er_out_abort(&o);
}

/* A run with no summary asks for no digest: the same bytes are written,
 * none is hashed, and the digest reads empty (never a stale value). */
static void test_no_digest(void **s)
{
	(void)s;
	er_outfile o;
	char err[256], hex[65], buf[16];
	assert_int_equal(er_out_open(&o, target, 0, 0, err, sizeof err), ER_OK);
	er_out_no_digest(&o);
	er_out_write(&o, "abc", 3);
	memset(hex, 'x', sizeof hex);
	er_out_digest(&o, hex);
	assert_string_equal(hex, "");
	assert_int_equal(er_out_bytes(&o), 3);
	assert_int_equal(er_out_commit(&o, err, sizeof err), ER_OK);
	slurp(target, buf, sizeof buf);
	assert_string_equal(buf, "abc");
	er_out_abort(&o);
}

/* .gz members end at fixed plain offsets: same bytes however the data is cut. */
static void test_gz_blocks_deterministic(void **s)
{
	(void)s;
	size_t n = 5u << 19; /* 2.5 blocks */
	char *data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + (i * 7 + i / 13) % 26);
	char hex[2][65];
	uint64_t bytes[2];
	for (int k = 0; k < 2; k++) {
		er_outfile o;
		char err[256];
		assert_int_equal(er_out_open(&o, target, 0, ER_GZ_FAST, err, sizeof err), ER_OK);
		size_t step = k ? 7777 : n;
		for (size_t off = 0; off < n; off += step)
			assert_int_equal(er_out_write(&o, data + off, off + step > n ? n - off : step), 0);
		assert_int_equal(er_out_finish(&o), 0);
		er_out_digest(&o, hex[k]);
		bytes[k] = er_out_bytes(&o);
		er_out_abort(&o);
	}
	assert_string_equal(hex[0], hex[1]);
	assert_int_equal(bytes[0], bytes[1]);
	free(data);
}

/* Members compressed on helper threads (er_out_parallel) give the bytes of
 * the serial writer, also when a file's rows are rolled back in between:
 * mark and rollback wait for the members in flight and keep the helpers,
 * and the result is the file written without the failed rows at all. */
static void test_gz_parallel_same_bytes(void **s)
{
	(void)s;
	size_t n = 13u << 19; /* 6.5 blocks */
	char *data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + (i * 7 + i / 13) % 26);
	static const int threads[] = { 1, 2, 4, 1 };
	char hex[4][65];
	uint64_t bytes[4];
	for (int k = 0; k < 4; k++) {
		er_outfile o;
		char err[256];
		assert_int_equal(er_out_open(&o, target, 0, ER_GZ_FAST, err, sizeof err), ER_OK);
		er_out_parallel(&o, threads[k]);
		assert_true(threads[k] == 1 ? o.gzp == NULL : o.gzp != NULL);
		size_t half = n / 2;
		for (size_t off = 0; off < half; off += 7777)
			assert_int_equal(er_out_write(&o, data + off, off + 7777 > half ? half - off : 7777), 0);
		er_out_mark(&o); /* waits for the members; the helpers stay */
		assert_true(threads[k] == 1 ? o.gzp == NULL : o.gzp != NULL);
		if (k < 3) { /* the last one is the reference: no failed file */
			for (int rep = 0; rep < 3; rep++) /* a failed file's 1.5 blocks... */
				assert_int_equal(er_out_write(&o, data, 1u << 19), 0);
			assert_int_equal(er_out_rollback(&o), 0); /* ...taken back */
			assert_true(threads[k] == 1 ? o.gzp == NULL : o.gzp != NULL);
		}
		assert_int_equal(er_out_write(&o, data + half, n - half), 0);
		er_out_mark(&o);
		assert_int_equal(er_out_serial(&o), 0);
		assert_null(o.gzp);
		assert_int_equal(er_out_finish(&o), 0);
		er_out_digest(&o, hex[k]);
		bytes[k] = er_out_bytes(&o);
		er_out_abort(&o);
	}
	for (int k = 1; k < 4; k++) {
		assert_string_equal(hex[0], hex[k]);
		assert_int_equal(bytes[0], bytes[k]);
	}
	free(data);
}

/* A rename failing in the middle of a commit puts the first output back. */
static void test_commit_undo(void **s)
{
	(void)s;
	char a[160], b[160], buf[64], err[512];
	snprintf(a, sizeof a, "%s/a.csv", dir);
	snprintf(b, sizeof b, "%s/b.csv", dir);
	write_file(a, "old a\n");
	const char *names[] = {a, b};
	er_commit *c;
	assert_int_equal(er_commit_begin(&c, names, 2, 0, NULL, err, sizeof err), ER_OK);
	er_outfile oa, ob;
	assert_int_equal(er_out_open(&oa, a, 0, 0, err, sizeof err), ER_OK);
	assert_int_equal(er_out_open(&ob, b, 0, 0, err, sizeof err), ER_OK);
	er_out_write(&oa, "new a\n", 6);
	er_out_write(&ob, "new b\n", 6);
	assert_int_equal(unlink(ob.tmp), 0); /* its rename will fail */
	er_outfile *outs[] = {&oa, &ob};
	assert_int_equal(er_commit_run(c, outs, 2, err, sizeof err), ER_E_IO);
	assert_non_null(strstr(err, "b.csv: rename"));
	er_out_abort(&oa);
	er_out_abort(&ob);
	er_commit_end(c);
	slurp(a, buf, sizeof buf);
	assert_string_equal(buf, "old a\n");
	assert_int_equal(access(b, F_OK), -1);
	assert_int_equal(count_entries(), 1); /* no temporary, backup, journal or lock */
}

/* A second run on the same outputs fails at once; the lock file goes at the end. */
static void test_lock_excludes(void **s)
{
	(void)s;
	char err[512];
	const char *names[] = {target, NULL, "-"};
	er_commit *c1, *c2;
	assert_int_equal(er_commit_begin(&c1, names, 3, 0, NULL, err, sizeof err), ER_OK);
	assert_int_equal(count_entries(), 1); /* .scores.csv.examrisk.lock */
	assert_int_equal(er_commit_begin(&c2, names, 3, 0, NULL, err, sizeof err), ER_E_IO);
	assert_non_null(strstr(err, "another examrisk run"));
	er_commit_end(c2);
	er_commit_end(c1);
	assert_int_equal(count_entries(), 0);
}

/* Usage errors: an output that is an input, two names for one file. */
static void test_check_names(void **s)
{
	(void)s;
	char err[512], link[160];
	write_file(target, "in\n");
	snprintf(link, sizeof link, "%s/other-name.csv", dir);
	assert_int_equal(symlink(target, link), 0);
	const char *ins[] = {link};
	const char *outs[] = {target};
	assert_int_equal(er_commit_check(outs, 1, ins, 1, err, sizeof err), ER_E_USAGE);
	assert_non_null(strstr(err, "is also an input"));
	const char *two[] = {target, "-", link};
	assert_int_equal(er_commit_check(two, 3, NULL, 0, err, sizeof err), ER_E_USAGE);
	assert_non_null(strstr(err, "are the same file"));
	char n1[160], n2[160];
	snprintf(n1, sizeof n1, "%s/new.csv", dir);
	snprintf(n2, sizeof n2, "%s/../%s/new.csv", dir, strrchr(dir, '/') + 1);
	const char *fresh[] = {n1, n2};
	assert_int_equal(er_commit_check(fresh, 2, NULL, 0, err, sizeof err), ER_E_USAGE);
	const char *fine[] = {n1, target};
	assert_int_equal(er_commit_check(fine, 2, NULL, 0, err, sizeof err), ER_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_fails_in_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_is_usage_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gz_blocks_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gz_parallel_same_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_undo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_excludes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
