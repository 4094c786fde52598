/* test_api.c - the embedder's side of examrisk.h: options carry their size,
 * messages arrive through the log callback (nothing written to stderr),
 * er_run_partners, versions. Runs on tests/golden/basic (5 of 32 rows
 * rejected; lanes RED 2, YELLOW 2, GREEN 23). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examrisk.h"
#include "test_helpers.h"

#define G "tests/golden/basic/"

typedef struct logged {
	int n[ER_LOG_PROGRESS + 1];
	char last[ER_LOG_PROGRESS + 1][512];
	char all[8192];
} logged;

static void collect(void *ctx, int level, const char *msg)
{
	logged *l = ctx;
	assert_true(level >= ER_LOG_ERROR && level <= ER_LOG_PROGRESS);
	assert_null(strchr(msg, '\n'));
	assert_null(strstr(msg, "examrisk: "));
	l->n[level]++;
	snprintf(l->last[level], sizeof l->last[level], "%s", msg);
	size_t len = strlen(l->all);
	snprintf(l->all + len, sizeof l->all - len, "%d %s\n", level, msg);
}

typedef struct fixture {
	er_tables *t;
	er_rules *r;
	char dir[64];
	char out[128];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	char err[512];
	if (!f || er_tables_load(G "participants.csv", "data/mra.csv", &f->t, err, sizeof err) != ER_OK ||
	    er_rules_load(G "rules.ini", &f->r, err, sizeof err) != ER_OK)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/er-api.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->out, sizeof f->out, "%s/out.csv", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	unlink(f->out);
	rmdir(f->dir);
	er_rules_free(f->r);
	er_tables_free(f->t);
	free(f);
	return 0;
}

static const char *const inputs[] = {G "manifest.csv"};

/* Options of a run of the golden manifest into f->out, messages into l (emptied). */
static void base_opts(er_run_opts *o, fixture *f, logged *l)
{
	memset(l, 0, sizeof *l);
	er_run_opts_init(o);
	o->inputs = inputs;
	o->ninputs = 1;
	o->out_path = f->out;
	o->threads = 2;
	o->log = collect;
	o->log_ctx = l;
}

static void test_init_sets_size(void **state)
{
	(void)state;
	er_run_opts o;
	memset(&o, 0x5a, sizeof o);
	er_run_opts_init(&o);
	assert_int_equal(o.size, sizeof o);
	assert_int_equal(o.max_rejects, -1);
	assert_int_equal(o.progress, -1);
	assert_null(o.log);
	assert_null(o.out_path);
}

/* A caller built with a smaller struct: init writes no byte past its size. */
static void test_init_respects_smaller_size(void **state)
{
	(void)state;
	unsigned char mem[sizeof(er_run_opts) + 16];
	memset(mem, 0xa5, sizeof mem);
	size_t small = offsetof(er_run_opts, threads);
	er_run_opts_init_size((er_run_opts *)(void *)mem, small);
	for (size_t i = small; i < sizeof mem; i++)
		assert_int_equal(mem[i], 0xa5);
	assert_int_equal(((er_run_opts *)(void *)mem)->size, small);
}

static void test_log_callback_gets_every_message(void **state)
{
	fixture *f = *state;
	logged l;
	er_run_opts o;
	base_opts(&o, f, &l);
	er_run_stats st;
	assert_int_equal(er_run_score(f->t, f->r, &o, &st), ER_OK);
	assert_int_equal(st.rows_read, 32);
	assert_int_equal(st.rows_rejected, 5);
	assert_int_equal(l.n[ER_LOG_ERROR], 0);
	assert_int_equal(l.n[ER_LOG_WARNING], 5);
	assert_string_equal(l.last[ER_LOG_WARNING], G "manifest.csv:35: rejected: unterminated_quote");
	assert_int_equal(l.n[ER_LOG_INFO], 2);
	assert_string_equal(l.last[ER_LOG_INFO], "lanes RED 4, YELLOW 2, GREEN 21");
	assert_int_equal(l.n[ER_LOG_PROGRESS], 0); /* progress auto: off with a callback */
}

static void test_log_progress_and_quiet(void **state)
{
	fixture *f = *state;
	logged l;
	er_run_opts o;
	base_opts(&o, f, &l);
	o.progress = 1;
	assert_int_equal(er_run_score(f->t, f->r, &o, NULL), ER_OK);
	assert_true(l.n[ER_LOG_PROGRESS] >= 1);
	assert_non_null(strstr(l.last[ER_LOG_PROGRESS], "file 1/1  "));
	assert_non_null(strstr(l.last[ER_LOG_PROGRESS], " MB (100%)  32 rows  "));
	assert_non_null(strstr(l.last[ER_LOG_PROGRESS], "ETA done"));

	memset(&l, 0, sizeof l);
	o.quiet = 1;
	assert_int_equal(er_run_score(f->t, f->r, &o, NULL), ER_OK);
	assert_string_equal(l.all, "");
}

static void test_fatal_error_reported_once(void **state)
{
	fixture *f = *state;
	logged l;
	er_run_opts o;
	base_opts(&o, f, &l);
	static const char *const missing[] = {G "no-such-manifest.csv"};
	o.inputs = missing;
	o.quiet = 1; /* errors pass anyway */
	assert_int_equal(er_run_score(f->t, f->r, &o, NULL), ER_E_FORMAT);
	assert_int_equal(l.n[ER_LOG_ERROR], 1);
	assert_int_equal(l.n[ER_LOG_WARNING] + l.n[ER_LOG_INFO] + l.n[ER_LOG_PROGRESS], 0);
	assert_non_null(strstr(l.last[ER_LOG_ERROR], "no-such-manifest.csv: No such file or directory"));
	assert_int_equal(access(f->out, F_OK), -1); /* nothing committed */
}

static void test_bad_size_is_refused(void **state)
{
	fixture *f = *state;
	logged l;
	er_run_opts o;
	base_opts(&o, f, &l);
	o.size = 0; /* e.g. a struct memset to zero, never initialised */
	assert_int_equal(er_run_score(f->t, f->r, &o, NULL), ER_E_USAGE);
	o.size = sizeof o + 8; /* options of a newer examrisk than this library */
	assert_int_equal(er_run_score(f->t, f->r, &o, NULL), ER_E_USAGE);
	assert_string_equal(l.all, ""); /* the callback of untrusted options is not called */
	assert_int_equal(access(f->out, F_OK), -1);
}

static void test_partner_audit(void **state)
{
	fixture *f = *state;
	logged l;
	er_run_opts o;
	base_opts(&o, f, &l);
	er_run_stats st;
	assert_int_equal(er_run_partners(f->t, f->r, &o, &st), ER_OK);
	assert_int_equal(st.rows_read, 32);
	FILE *fp = fopen(f->out, "r");
	assert_non_null(fp);
	char line[512];
	assert_non_null(fgets(line, sizeof line, fp));
	fclose(fp);
	assert_int_equal(strncmp(line, "party,match,name,", 17), 0);
}

static void test_verify_entry_point(void **state)
{
	fixture *f = *state;
	int32_t day;
	assert_int_equal(er_parse_date("2021-06-01", 10, &day), 0);
	er_buf b = {0};
	static const char *const q[] = {"no party has this name"};
	assert_int_equal(er_verify_run(f->t, q, 1, day, 1, 0, emit_buf, &b), 0);
	assert_int_equal(strncmp(b.p, "query,party_id,", 15), 0);
	er_buf_free(&b);
}

/* A manifest served from memory in small reads; each read counts the
 * process's threads. */
typedef struct counted_src {
	er_buf csv;
	size_t pos;
	int max_threads;
} counted_src;

static long counted_read(void *ctx, char *buf, size_t cap)
{
	counted_src *s = ctx;
	int n = count_threads();
	if (n > s->max_threads)
		s->max_threads = n;
	size_t k = s->csv.len - s->pos < cap ? s->csv.len - s->pos : cap;
	if (k > 1000)
		k = 1000;
	memcpy(buf, s->csv.p + s->pos, k);
	s->pos += k;
	return (long)k;
}

static const char *counted_error(void *ctx)
{
	(void)ctx;
	return "no error";
}

static char *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	er_buf b = {0};
	char tmp[4096];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, fp)) > 0)
		assert_int_equal(er_buf_append(&b, tmp, k), 0);
	fclose(fp);
	*n = b.len;
	return b.p;
}

/* --threads 1 means one thread: the caller reads, scores, writes and
 * compresses, and the roll-ups spill on it too (no worker, writer, gzip or
 * spiller thread), with the bytes of a threaded run. 3,000 LCL rows in
 * 4 KiB chunks and a 1 KiB roll-up budget make every one of those stages
 * run while the input is still being read. */
static void test_one_thread_is_the_callers(void **state)
{
	fixture *f = *state;
	char out[2][160], con[2][160];
	for (int run = 0; run < 2; run++) {
		counted_src src = {0};
		const char *hdr = "Shipment_ID,Arrival_Date,Mode,Load_Type,Master_Bill,Container_ID,"
		                  "Importer_ID,Importer_Name,Shipper_ID,Shipper_Name,Shipper_Country,"
		                  "Origin_Country,Manufacturer_ID,Carrier_SCAC,Forwarder_ID,HS_Code,"
		                  "Description,Filed_At,Departure_At,Declared_Value_USD,Note\n";
		assert_int_equal(er_buf_append(&src.csv, hdr, strlen(hdr)), 0);
		for (int i = 0; i < 3000; i++) {
			char row[256];
			int n = snprintf(row, sizeof row,
			                 "S%05d,2021-04-10,vessel,LCL,MB%04d,TGHU%07d,%s,,SHPCN1,,CN,CN,,,FWD01,"
			                 "851762,ROUTERS,,,%d,row %d\n",
			                 i, i / 3, i / 3, i % 2 ? "IMP001" : "IMP002", 100 + i, i);
			assert_int_equal(er_buf_append(&src.csv, row, (size_t)n), 0);
		}
		er_source so = {.read = counted_read, .error = counted_error, .ctx = &src};
		snprintf(out[run], sizeof out[run], "%s/s%d.csv.gz", f->dir, run);
		snprintf(con[run], sizeof con[run], "%s/c%d.csv.gz", f->dir, run);
		logged l;
		er_run_opts o;
		base_opts(&o, f, &l);
		static const char *const named[] = {"memory.csv"};
		o.inputs = named;
		o.source = &so;
		o.out_path = out[run];
		o.consolidations_path = con[run];
		o.threads = run ? 2 : 1;
		o.chunk_bytes = 4096;
		o.rollup_memory = 1024;
		er_run_stats st;
		int before = count_threads(); /* 1; 2 under TSan, whose runtime has one */
		assert_int_equal(er_run_score(f->t, f->r, &o, &st), ER_OK);
		assert_int_equal(st.rows_read, 3000);
		assert_int_equal(src.pos, src.csv.len);
		if (run == 0)
			assert_int_equal(src.max_threads, before);
		else /* the count sees the threaded run's threads */
			assert_true(src.max_threads >= before + 2);
		er_buf_free(&src.csv);
	}
	for (int k = 0; k < 2; k++) {
		const char *a = k ? con[0] : out[0], *b = k ? con[1] : out[1];
		size_t na, nb;
		char *pa = slurp(a, &na), *pb = slurp(b, &nb);
		assert_true(na > 100);
		assert_int_equal(na, nb);
		assert_memory_equal(pa, pb, na);
		free(pa);
		free(pb);
	}
	for (int run = 0; run < 2; run++) {
		unlink(out[run]);
		unlink(con[run]);
	}
}

static void test_versions(void **state)
{
	(void)state;
	assert_string_equal(er_version(), ER_VERSION_STRING);
	const char *be = er_backends();
	assert_non_null(strstr(be, "libdeflate "));
	assert_non_null(strstr(be, "zlib "));
	assert_non_null(strstr(be, "ISA-L "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_sets_size),
		cmocka_unit_test(test_init_respects_smaller_size),
		cmocka_unit_test_setup_teardown(test_log_callback_gets_every_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_progress_and_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fatal_error_reported_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_size_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partner_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_entry_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_thread_is_the_callers, setup, teardown),
		cmocka_unit_test(test_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
