/* test_nomem.c - an allocation failure is reported as "out of memory",
 * never blamed on the data ("read failed", "malformed record") and never
 * silent. This binary replaces malloc/calloc/realloc with versions that
 * fail the Nth call, and loads the tables, the rules and a column map once
 * for every N until a load needs no more allocations than N - 1.
 * Skipped under ASan/TSan, which own the allocator. Run from the repository
 * root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_parse.h"
#include "er_table.h"
#include "er_util.h"
#include "test_helpers.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_INTERPOSE 1
#else
#define NO_INTERPOSE 0
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);

static long fail_at = -1; /* the call that fails (1-based); -1 = none */
static long calls;

static int fail_now(void)
{
	return fail_at > 0 && ++calls == fail_at;
}

void *malloc(size_t n)
{
	return fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	return fail_now() ? NULL : __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __libc_realloc(p, n);
}
#endif

/* Run load for N = 1, 2, ... failing the Nth allocation, until it succeeds
 * without reaching N. Every failure must be ER_E_NOMEM with "out of memory". */
static void every_failure(er_status (*load)(char *err, size_t errlen), const char *what)
{
#if NO_INTERPOSE
	(void)load;
	(void)what;
	skip();
#else
	char err[1024];
	for (long n = 1; n < 200000; n++) {
		err[0] = '\0';
		calls = 0;
		fail_at = n;
		er_status st = load(err, sizeof err);
		fail_at = -1;
		if (st == ER_OK) {
			if (calls < n)
				return; /* N beyond the last allocation: every point was tried */
			continue;   /* the failure was absorbed (a retry, an optional buffer) */
		}
		if (st != ER_E_NOMEM || !strstr(err, "out of memory"))
			fail_msg("%s: allocation %ld failed: status %d, message '%s'", what, n, (int)st, err);
	}
	fail_msg("%s: did not finish", what);
#endif
}

static er_status load_tables(char *err, size_t errlen)
{
	er_tables *t = NULL;
	er_status st = er_tables_load("tests/fixtures/tables/participants.csv.gz", "data/mra.csv", &t,
	                              err, errlen);
	er_tables_free(t);
	return st;
}

static er_status load_rules(char *err, size_t errlen)
{
	er_rules *r = NULL;
	er_status st = er_rules_load("data/rules.ini", &r, err, errlen);
	er_rules_free(r);
	return st;
}

/* The map file, in a scratch directory: builds may run their tests at the same time. */
static char map_dir[64], map_path[96];

static er_status load_map(char *err, size_t errlen)
{
	er_colmap m;
	memset(&m, 0, sizeof m);
	int rc = er_colmap_load(&m, map_path, err, errlen);
	er_colmap_free(&m);
	if (rc == 0)
		return ER_OK;
	return strstr(err, "out of memory") ? ER_E_NOMEM : ER_E_FORMAT;
}

static void test_tables_nomem(void **state)
{
	(void)state;
	every_failure(load_tables, "tables");
}

static void test_rules_nomem(void **state)
{
	(void)state;
	every_failure(load_rules, "rules");
}

static void test_map_nomem(void **state)
{
	(void)state;
	assert_int_equal(scratch_dir_make(map_dir, sizeof map_dir, "er_nomem"), 0);
	snprintf(map_path, sizeof map_path, "%s/nomem.map", map_dir);
	FILE *f = fopen(map_path, "w");
	assert_non_null(f);
	fputs("# test\nshipment_id = Shipment\narrival_date=Arrived\n", f);
	fclose(f);
	every_failure(load_map, "map file");
	remove(map_path);
	rmdir(map_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_nomem),
		cmocka_unit_test(test_rules_nomem),
		cmocka_unit_test(test_map_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
