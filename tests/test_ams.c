/* test_ams.c - the AMS join (engine/er_ams.c) and its external sort
 * (engine/er_extsort.c): weight conversion, the sort's order, stability and
 * spilling, and the join's mapping on a small release (sorted and unsorted
 * tables must give the same rows). Malformed releases: tests/test_ams.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "er_ams.h"
#include "er_extsort.h"
#include "test_helpers.h"

/* ------------------------------------------------------------ weights */

static void kg(const char *num, const char *unit, const char *want)
{
	char out[32];
	int n = er_ams_weight_kg(num, strlen(num), unit, strlen(unit), out);
	if (!want) {
		assert_int_equal(n, -1);
		return;
	}
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void test_weight_kg(void **state)
{
	(void)state;
	kg("1000", "KG", "1000");
	kg("1000", "kgs", "1000");
	kg("250.5", "Kilograms", "250.5");
	kg("120.0", "K", "120");
	kg("1000", "LB", "453.592");   /* 1000 x 0.45359237 = 453.59237 */
	kg("1", "lbs", "0.454");
	kg("2.2046", "Pounds", "1");   /* 0.99998... rounds to 1.000 */
	kg("0", "L", "0");
	kg("12", "T", NULL);           /* unknown unit */
	kg("12", "", NULL);
	kg("-3", "KG", NULL);          /* not a non-negative number */
	kg("1e3", "KG", NULL);
}

/* ------------------------------------------------------- external sort */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* n records with keys from a small set (many ties); the value is the
 * insertion number: equal keys must come back in insertion order. */
static void sort_check(size_t budget, size_t n)
{
	er_extsort *s = er_extsort_new(budget, NULL);
	assert_non_null(s);
	char **keys = calloc(n, sizeof *keys);
	assert_non_null(keys);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		char k[32], v[32];
		/* keys of different lengths sharing prefixes: "7" < "70" < "8" */
		snprintf(k, sizeof k, "%llu", (unsigned long long)(x % 997));
		snprintf(v, sizeof v, "%08zu", i);
		keys[i] = malloc(64);
		assert_non_null(keys[i]);
		snprintf(keys[i], 64, "%s %s", k, v);
		assert_int_equal(er_extsort_add(s, k, strlen(k), v, strlen(v)), 0);
	}
	assert_int_equal(er_extsort_finish(s), 0);
	qsort(keys, n, sizeof *keys, cmp_str); /* "key value": value order breaks ties */
	const char *k, *v;
	size_t kn, vn, i = 0;
	int r;
	while ((r = er_extsort_next(s, &k, &kn, &v, &vn)) > 0) {
		char got[64];
		snprintf(got, sizeof got, "%.*s %.*s", (int)kn, k, (int)vn, v);
		assert_true(i < n);
		assert_string_equal(got, keys[i]);
		i++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(i, n);
	assert_int_equal(er_extsort_records(s), n);
	if (budget < 64 * 1024)
		assert_true(er_extsort_runs(s) > 10);
	else
		assert_int_equal(er_extsort_runs(s), 0);
	for (size_t j = 0; j < n; j++)
		free(keys[j]);
	free(keys);
	er_extsort_free(s);
}

static void test_sort_in_memory(void **state)
{
	(void)state;
	sort_check(64u << 20, 20000);
}

static void test_sort_spilled(void **state)
{
	(void)state;
	sort_check(4096, 20000);
}

static void test_sort_empty_and_sorted(void **state)
{
	(void)state;
	er_extsort *s = er_extsort_new(4096, NULL);
	assert_non_null(s);
	assert_int_equal(er_extsort_finish(s), 0);
	const char *k, *v;
	size_t kn, vn;
	assert_int_equal(er_extsort_next(s, &k, &kn, &v, &vn), 0);
	assert_int_equal(er_extsort_add(s, "a", 1, "", 0), -1); /* reading: no more adds */
	er_extsort_free(s);
	er_extsort_free(NULL);
}

/* ------------------------------------------------------------- the join */

static char g_dir[64];

static void put(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/ams__%s_2020__202001011500.csv", g_dir, name);
	write_file(p, text, strlen(text));
}

static const char g_kfile[] = "prefix,country,schedule_c,note\n570,CN,5700,x\n588,JP,5880,x\n";

/* The small release: bills B1 (two containers, two description lines out of
 * order, dotted HS at sequence 1), B2 (LB weight, estimated date only, no
 * billgen row, no container), B3 (house bill sharing B1's master and first
 * container: both LCL). rev = 1 writes the tables in reverse identifier
 * order (a bill's own rows keep their order: the first container is the
 * first listed). */
static void release(int rev)
{
	const char *h[] = { "B1,COSU,2709,2020-01-03,57035,5,250.5,KG,2020-01-04 10:00:00",
		                "B2,MAEU,2704,2020-01-02,58886,10,1000,LB,",
		                "B3,COSU,2709,2020-01-03,99999,3,100,KG,2020-01-04" };
	char buf[2048];
	snprintf(buf, sizeof buf,
	         "identifier,carrier_code,port_of_unlading,estimated_arrival_date,foreign_port_of_lading,"
	         "manifest_quantity,weight,weight_unit,actual_arrival_date\n%s\n%s\n%s\n",
	         h[rev ? 2 : 0], h[1], h[rev ? 0 : 2]);
	put("header", buf);
	put("billgen", rev ? "identifier,master_bol_number,house_bol_number\nB3,M1,H3\nB1,M1,H1\n"
	                   : "identifier,master_bol_number,house_bol_number\nB1,M1,H1\nB3,M1,H3\n");
	put("shipper", "identifier,shipper_party_name,country_code\nB1,\"ACME, LTD\",CN\n");
	put("consignee", rev ? "identifier,consignee_name\nB3,THIRD CO\nB1,BIG BOX INC\n"
	                     : "identifier,consignee_name\nB1,BIG BOX INC\nB3,THIRD CO\n");
	put("container", rev ? "identifier,container_number\nB3,CONT1\nB1,CONT1\nB1,CONT2\n"
	                     : "identifier,container_number\nB1,CONT1\nB1,CONT2\nB3,CONT1\n");
	put("cargodesc", rev ? "identifier,container_number,description_sequence_number,description_text\n"
	                       "B2,,1,STC 12 CTNS\nB1,CONT1,1,HELLO\nB1,CONT1,2,WORLD\n"
	                     : "identifier,container_number,description_sequence_number,description_text\n"
	                       "B1,CONT1,2,WORLD\nB1,CONT1,1,HELLO\nB2,,1,STC 12 CTNS\n");
	put("tariff", "identifier,container_number,description_sequence_number,harmonized_number\n"
	              "B1,CONT1,2,940360\nB1,CONT1,1,8471.30\n");
}

static void join(er_buf *out, er_ams_stats *st)
{
	char kpath[128];
	snprintf(kpath, sizeof kpath, "%s/schedule_k.csv", g_dir);
	write_file(kpath, g_kfile, sizeof g_kfile - 1);
	const char *dirs[] = { g_dir };
	er_ams_opts o = { .dirs = dirs, .ndirs = 1, .schedule_k = kpath, .quiet = 1 };
	er_ams *a;
	char err[512];
	assert_int_equal(er_ams_open(&o, &a, err, sizeof err), ER_OK);
	char buf[7]; /* small reads: the stream must not depend on them */
	long n;
	out->len = 0;
	while ((n = (long)er_ams_read(a, buf, sizeof buf)) > 0)
		assert_int_equal(er_buf_append(out, buf, (size_t)n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(er_buf_putc(out, '\0'), 0); /* for the string compares */
	out->len--;
	er_ams_get_stats(a, st);
	er_ams_free(a);
}

static void test_join_mapping(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "%s", "/tmp/er-test-ams.XXXXXX");
	const char *tmp = getenv("TMPDIR");
	if (tmp && *tmp && strlen(tmp) < 40)
		snprintf(g_dir, sizeof g_dir, "%s/er-test-ams.XXXXXX", tmp);
	assert_non_null(mkdtemp(g_dir));
	er_buf a = {0}, b = {0};
	er_ams_stats sa, sb;
	release(0);
	join(&a, &sa);
	release(1);
	join(&b, &sb);
	const char *rows = strchr(a.p, '\n') + 1;
	assert_true(!strncmp(a.p, er_ams_header, strlen(er_ams_header)));
	assert_string_equal(rows,
	                    "H1,2020-01-04,M1,CONT1,LCL,vessel,57035,2709,CN,CN,,BIG BOX INC,,\"ACME, LTD\",,"
	                    "BIG BOX INC,COSU,,847130,HELLO WORLD,,250.5,5,,,\n"
	                    "B2,2020-01-02,,,,vessel,58886,2704,JP,,,,,,,,MAEU,,,STC 12 CTNS,,453.592,10,,,\n"
	                    "H3,2020-01-04,M1,CONT1,LCL,vessel,99999,2709,,,,THIRD CO,,,,THIRD CO,COSU,,,,,100,3,,,\n");
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len); /* sorted or not: the same rows */
	assert_int_equal(sa.bills, 3);
	assert_int_equal(sa.rejects, 0);
	assert_int_equal(sa.unknown_lading, 1); /* 99999: prefix not in the table */
	assert_int_equal(sa.sorted_externally, 0); /* every table in identifier order: merge join */
	assert_int_equal(sa.sorted_tables, 7);
	assert_int_equal(sb.sorted_externally, 5); /* header, billgen, consignee, container, cargodesc */
	er_buf_free(&a);
	er_buf_free(&b);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weight_kg),
		cmocka_unit_test(test_sort_in_memory),
		cmocka_unit_test(test_sort_spilled),
		cmocka_unit_test(test_sort_empty_and_sorted),
		cmocka_unit_test(test_join_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
