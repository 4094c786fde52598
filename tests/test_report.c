/* test_report.c - the HTML run report (engine/er_report.c): escaping, the
 * top-rows collectors, history file names, and the page's handling of
 * summaries with missing, unexpected or hostile fields. The page in a real
 * browser is tests/report.sh. */
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

#include "er_report.h"
#include "test_helpers.h"

/* text holds (lacks) the string s: most checks here look for a piece of the page. */
#define assert_has(text, s) assert_non_null(strstr((text), (s)))
#define assert_lacks(text, s) assert_null(strstr((text), (s)))

static char *render(const char *json, er_report_top *consol, er_report_top *partners,
                    const char *history)
{
	er_buf out = { 0 };
	char err[512] = "";
	er_report_in in = { json, strlen(json), "sum.json", consol, partners, history, 0 };
	if (er_report_write(&in, emit_buf, &out, err, sizeof err) < 0)
		fail_msg("report failed: %s", err);
	assert_int_equal(er_buf_putc(&out, '\0'), 0);
	return out.p;
}

static void test_escape(void **state)
{
	(void)state;
	er_buf b = { 0 };
	const char s[] = "a<b>&\"c'd\0e";
	assert_int_equal(er_html_escape(&b, s, sizeof s - 1), 0);
	assert_int_equal(er_buf_putc(&b, '\0'), 0);
	assert_string_equal(b.p, "a&lt;b&gt;&amp;&quot;c&#39;d\xef\xbf\xbd" "e");
	er_buf_free(&b);
}

static const char consol_csv[] =
	"consolidation,key_type,container_id,load_type,shipments,shippers,max_score,lane,"
	"uncertified_shipments,exam_probability,driver_shipment_id,probability_without_driver\n"
	"FCL1,master_bill,C1,FCL,1,1,90,RED,1,0.900000,S1,0.000000\n"
	"\"M,2\",master_bill,C2,LCL,3,2,50,YELLOW,2,0.300000,\"S<2>\",0.100000\n"
	"M3,master_bill,C3,LCL,2,2,60,YELLOW,1,0.300000,S3,0.100000\n"
	"M4,container,C4,LCL,5,5,20,GREEN,0,0.050000,S4,0.010000\n";

/* Only LCL rows (2+ shipments), riskiest first (probability, then max
 * score, then file order), whatever the pieces the CSV arrives in. */
static void test_top_consolidations(void **state)
{
	(void)state;
	char err[256];
	for (size_t piece = 1; piece <= sizeof consol_csv; piece += 7) {
		er_report_top *t = er_report_top_new(ER_TOP_CONSOLIDATIONS, "c.csv");
		assert_non_null(t);
		for (size_t off = 0; off < sizeof consol_csv - 1; off += piece) {
			size_t n = sizeof consol_csv - 1 - off < piece ? sizeof consol_csv - 1 - off : piece;
			assert_int_equal(er_report_top_feed(t, consol_csv + off, n, err, sizeof err), 0);
		}
		assert_int_equal(er_report_top_end(t, err, sizeof err), 0);
		char *html = render("{\"rows_read\": 4}", t, NULL, NULL);
		const char *m3 = strstr(html, ">M3<"), *m2 = strstr(html, ">M,2<"), *m4 = strstr(html, ">M4<");
		assert_non_null(m3);
		assert_non_null(m2);
		assert_non_null(m4);
		assert_true(m3 < m2 && m2 < m4); /* M3: same probability, higher max score */
		assert_lacks(html, ">FCL1<");
		assert_has(html, "data-c=\"lcl\" data-v=\"3\"");
		assert_has(html, ">S&lt;2&gt;<");
		assert_lacks(html, "S<2>");
		free(html);
		er_report_top_free(t);
	}
}

/* At most ER_REPORT_TOP rows are kept, the largest by volume. */
static void test_top_partners_bounded(void **state)
{
	(void)state;
	char err[256];
	er_report_top *t = er_report_top_new(ER_TOP_PARTNERS, "p.csv");
	assert_non_null(t);
	const char hdr[] = "party,match,name,country,roles,shipments,noncompliant_shipments,"
	                   "first_arrival,last_arrival,program,status,tier,mra_recognized,compliant\n";
	assert_int_equal(er_report_top_feed(t, hdr, sizeof hdr - 1, err, sizeof err), 0);
	char line[160];
	for (int i = 0; i < 100; i++) {
		int n = snprintf(line, sizeof line, "P%03d,id,Name %d,US,importer,%d,%d,,,none,none,,0,%d\n", i,
		                 i, i, i, i % 2);
		assert_int_equal(er_report_top_feed(t, line, (size_t)n, err, sizeof err), 0);
	}
	assert_int_equal(er_report_top_end(t, err, sizeof err), 0);
	char *html = render("{\"rows_read\": 1}", NULL, t, NULL);
	assert_has(html, "data-p=\"noncompliant\" data-v=\"50\"");
	assert_has(html, "data-p=\"parties\" data-v=\"100\"");
	/* the ten largest non-compliant (odd i from 98 down: 98 is compliant) */
	assert_has(html, "data-c=\"0.party\">P098<");
	assert_has(html, "data-c=\"9.party\">P080<");
	assert_lacks(html, "data-c=\"10.party\"");
	assert_lacks(html, ">P099<");
	free(html);
	er_report_top_free(t);
}

static void test_top_errors(void **state)
{
	(void)state;
	char err[256] = "";
	er_report_top *t = er_report_top_new(ER_TOP_CONSOLIDATIONS, "x.csv");
	const char bad[] = "a,b,c\n1,2,3\n";
	assert_int_equal(er_report_top_feed(t, bad, sizeof bad - 1, err, sizeof err), -1);
	assert_has(err, "x.csv: not a consolidations CSV (no column 'consolidation'");
	er_report_top_free(t);
	t = er_report_top_new(ER_TOP_PARTNERS, "e.csv");
	assert_int_equal(er_report_top_end(t, err, sizeof err), -1);
	assert_string_equal(err, "e.csv: empty (no header row)");
	er_report_top_free(t);
	/* an unterminated quote is an error naming the line */
	t = er_report_top_new(ER_TOP_CONSOLIDATIONS, "q.csv");
	const char q[] = "consolidation,shipments,exam_probability,driver_shipment_id,uncertified_shipments\n"
	                 "\"A,2,0.5,S,1\n";
	assert_int_equal(er_report_top_feed(t, q, sizeof q - 1, err, sizeof err), 0);
	assert_int_equal(er_report_top_end(t, err, sizeof err), -1);
	assert_has(err, "q.csv:2:");
	er_report_top_free(t);
}

/* A summary is read by field name: absent fields leave their section out,
 * strings from data are escaped, and a non-summary is refused. */
static void test_summary_fields(void **state)
{
	(void)state;
	char *html = render("{\"rows_read\": 1234567, \"files\": [{\"path\": \"<img src=x>\", \"status\": \"ok\"}],"
	                    " \"reasons\": {\"LCL\": 5, \"FAST\": 0}, \"rows_scored\": 10,"
	                    " \"future\": {\"nested\": [1, 2]}}", NULL, NULL, NULL);
	assert_has(html, "data-k=\"rows_read\" data-v=\"1234567\">1,234,567<");
	assert_has(html, "&lt;img src=x&gt;");
	assert_lacks(html, "<img");
	assert_lacks(html, "id=\"lanes\"");
	assert_lacks(html, "id=\"calibration\"");
	assert_lacks(html, "id=\"trend\"");
	assert_has(html, "data-k=\"reasons.LCL\" data-v=\"5\"");
	assert_has(html, "Did not fire: FAST.");
	assert_lacks(html, "<script");
	free(html);

	er_buf out = { 0 };
	char err[256];
	er_report_in in = { "[1]", 3, "a.json", NULL, NULL, NULL, 0 };
	assert_int_equal(er_report_write(&in, emit_buf, &out, err, sizeof err), -1);
	assert_string_equal(err, "a.json: not an examrisk summary (no rows_read)");
	in.summary = "{\"rows_read\": ";
	in.summary_len = strlen(in.summary);
	assert_int_equal(er_report_write(&in, emit_buf, &out, err, sizeof err), -1);
	assert_has(err, "a.json:1: not a JSON summary");
	in.summary = "{\"rows_read\": 1}";
	in.summary_len = strlen(in.summary);
	assert_int_equal(er_report_write(&in, emit_fail, NULL, err, sizeof err), -1);
	assert_has(err, "report: write failed");
	er_buf_free(&out);
}

/* History names sort in run order; a taken name moves on by a microsecond;
 * the trend reads at most history_max files and skips unreadable ones. */
static void test_history(void **state)
{
	(void)state;
	char dir[] = "/tmp/er-test-report.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[64], p1[256], p2[256], err[256];
	snprintf(sub, sizeof sub, "%s/h", dir);
	struct timespec t = { 1764558000, 999999000 }; /* 2025-12-01T03:00:00.999999Z */
	assert_int_equal(er_history_path(sub, &t, p1, sizeof p1, err, sizeof err), 0);
	assert_has(p1, "/h/examrisk-20251201T030000.999999Z.json");
	const char old[] = "{\"rows_read\": 10, \"rows_scored\": 10, \"lanes\": {\"RED\": 1}, \"reasons\": {\"LCL\": 1}}";
	write_file(p1, old, sizeof old - 1);
	assert_int_equal(er_history_path(sub, &t, p2, sizeof p2, err, sizeof err), 0);
	assert_has(p2, "/h/examrisk-20251201T030001.000000Z.json");
	assert_true(strcmp(p1, p2) < 0);
	write_file(p2, "garbage", 7);
	const char cur[] = "{\"rows_read\": 20, \"rows_scored\": 20, \"lanes\": {\"RED\": 8}, \"reasons\": {\"LCL\": 10}}";
	char *html = render(cur, NULL, NULL, sub);
	assert_has(html, "data-h=\"runs\" data-v=\"2\"");
	assert_has(html, "1 unreadable file skipped");
	assert_has(html, "data-h=\"0.rows_read\" data-v=\"10\"");
	assert_has(html, "data-h=\"1.rows_read\" data-v=\"20\"");
	assert_has(html, "Moved most since the previous run: <b>LCL</b>, 10.0% \xe2\x86\x92 50.0%");
	free(html);
	/* history_max 1: only this run */
	er_buf out = { 0 };
	er_report_in in = { cur, strlen(cur), "s.json", NULL, NULL, sub, 1 };
	assert_int_equal(er_report_write(&in, emit_buf, &out, err, sizeof err), 0);
	assert_int_equal(er_buf_putc(&out, '\0'), 0);
	assert_has(out.p, "data-h=\"runs\" data-v=\"1\"");
	er_buf_free(&out);
	/* a file where the folder should be */
	assert_int_equal(er_history_path(p1, &t, p2, sizeof p2, err, sizeof err), -1);
	assert_has(err, "not a folder");
	assert_int_equal(er_history_check(p1, err, sizeof err), -1);
	assert_has(err, "not a folder");
	/* the run-start check creates nothing */
	char fresh[80], deep[96];
	snprintf(fresh, sizeof fresh, "%s/new", dir);
	snprintf(deep, sizeof deep, "%s/none/h", dir);
	assert_int_equal(er_history_check(fresh, err, sizeof err), 0);
	assert_int_equal(access(fresh, F_OK), -1);
	assert_int_equal(er_history_check(sub, err, sizeof err), 0);
	assert_int_equal(er_history_check(deep, err, sizeof err), -1);
	assert_has(err, "cannot create the history folder: No such file or directory");
	unlink(p1);
	unlink(p2);
	rmdir(sub);
	rmdir(dir);
}

/* The generic JSON tables (one walk for arrays and objects): every shape of
 * value, each number marked with its JSON path. */
static void test_any_json(void **state)
{
	(void)state;
	const char cur[] =
		"{\"rows_read\": 1, \"rows_scored\": 1,"
		" \"engine\": {\"version\": \"0.1\", \"threads\": 2},"
		" \"outputs\": [{\"path\": \"a.csv\", \"bytes\": 10}, {\"path\": \"b.csv\", \"atomic\": false}],"
		" \"tables\": {\"participants\": {\"rows\": 41}, \"mra\": {\"rows\": 45, \"path\": \"m.csv\"}},"
		" \"backends\": [\"zlib\", 7],"
		" \"sources\": [{\"role\": \"rules\"}, 5, {\"calibration\": {\"fit\": {\"auc\": 0.5, \"by\": [1, {\"n\": 3}]}}}]}";
	char *html = render(cur, NULL, NULL, NULL);
	/* an object of scalars: name/value rows */
	assert_has(html, "<tr><th>threads</th><td class=\"num\"><span data-k=\"engine.threads\" data-v=\"2\"");
	/* an array of objects: columns are the union of their keys, one row each */
	assert_has(html, "<tr><th>path</th><th>bytes</th><th>atomic</th></tr>");
	assert_has(html, "data-k=\"outputs.0.bytes\" data-v=\"10\"");
	assert_has(html, "<td class=\"wrap\">b.csv</td><td></td><td>no</td>");
	/* an object of objects: a name column, rows keyed by member name */
	assert_has(html, "<tr><th>name</th><th>rows</th><th>path</th></tr>");
	assert_has(html, "<tr><th>mra</th><td class=\"num\"><span data-k=\"tables.mra.rows\" data-v=\"45\"");
	/* an array of scalars, and a mixed array whose members are paths by index */
	assert_has(html, "data-k=\"backends.1\" data-v=\"7\"");
	assert_has(html, "data-k=\"sources.1\" data-v=\"5\"");
	assert_has(html, "<h4>calibration</h4>");
	assert_has(html, "data-k=\"sources.2.calibration.fit.auc\"");
	free(html);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_top_consolidations),
		cmocka_unit_test(test_top_partners_bounded),
		cmocka_unit_test(test_top_errors),
		cmocka_unit_test(test_summary_fields),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_any_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
