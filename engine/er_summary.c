/* er_summary.c - the JSON summary (see er_summary.h). */
#include "er_summary.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_rules.h"
#include "er_table.h"

/* ------------------------------------------------------------- hashing */

void er_iso8601_utc(const struct timespec *ts, char out[32])
{
	struct tm tm;
	time_t t = ts->tv_sec;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts->tv_nsec / 1000000);
}

/* ----------------------------------------------------- strings as UTF-8 */

/* The UTF-8 text of s with each byte of an invalid sequence as U+FFFD. */
static json_t *utf8_str(const char *s)
{
	size_t n = strlen(s);
	if (er_utf8_valid(s, n))
		return json_stringn(s, n);
	er_buf b = { 0 };
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (i + len <= n && er_utf8_valid(s + i, len)) {
			if (er_buf_append(&b, s + i, len) < 0)
				goto nomem;
			i += len;
		} else {
			if (er_buf_append(&b, "\xEF\xBF\xBD", 3) < 0)
				goto nomem;
			i++;
		}
	}
	json_t *j = json_stringn(b.p ? b.p : "", b.len);
	er_buf_free(&b);
	return j;
nomem:
	er_buf_free(&b);
	return NULL;
}

static json_t *hex_str(const char *s)
{
	size_t n = strlen(s);
	char *h = malloc(2 * n + 1);
	if (!h)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", (unsigned char)s[i]);
	h[2 * n] = '\0';
	json_t *j = json_stringn(h, 2 * n);
	free(h);
	return j;
}

/* The builder keeps the first failure: every set below may be called
 * after one, and the whole summary then fails as "out of memory". */
typedef struct jb {
	int nomem;
} jb;

static void put(jb *b, json_t *obj, const char *key, json_t *v)
{
	if (!v || !obj || json_object_set_new(obj, key, v) < 0)
		b->nomem = 1;
}

static void add(jb *b, json_t *arr, json_t *v)
{
	if (!v || !arr || json_array_append_new(arr, v) < 0)
		b->nomem = 1;
}

static void put_u64(jb *b, json_t *obj, const char *key, uint64_t v)
{
	put(b, obj, key, json_integer((json_int_t)v));
}

/* A string field; when it is not valid UTF-8, also KEY_hex with its bytes. */
static void put_str(jb *b, json_t *obj, const char *key, const char *s, int with_hex)
{
	put(b, obj, key, utf8_str(s));
	if (with_hex && !er_utf8_valid(s, strlen(s))) {
		char k[64];
		snprintf(k, sizeof k, "%s_hex", key);
		put(b, obj, k, hex_str(s));
	}
}

static void put_counts(jb *b, json_t *o, const er_counts *c)
{
	put_u64(b, o, "rows_read", c->rows);
	put_u64(b, o, "rows_scored", c->scored);
	put_u64(b, o, "rows_rejected", c->rejected);
}

/* A table or rules file: path, bytes and SHA-256 as read at load, rows. */
static void put_source(jb *b, json_t *arr, const char *role, const char *path, uint64_t bytes,
                       const char *sha256, int64_t rows)
{
	json_t *o = json_object();
	put(b, o, "role", json_string(role));
	put_str(b, o, "path", path, 1);
	put_u64(b, o, "bytes", bytes);
	put(b, o, "sha256", json_string(sha256));
	if (rows >= 0)
		put_u64(b, o, "rows", (uint64_t)rows);
	add(b, arr, o);
}

/* ------------------------------------------------------------- summary */

/* The dump sink. Failure is sticky and checked after the dump: libjansson
 * ignores a failed write of a string's opening quote (fault injection found
 * a summary with a key missing). */
typedef struct dump_sink {
	er_buf *out;
	int failed;
} dump_sink;

static int dump_cb(const char *p, size_t n, void *ctx)
{
	dump_sink *d = ctx;
	if (d->failed || er_buf_append(d->out, p, n) < 0) {
		d->failed = 1;
		return -1;
	}
	return 0;
}

int er_summary_build(const er_summary_input *in, er_buf *out, char *err, size_t errlen)
{
	jb b = { 0 };
	const er_run_opts *opts = in->opts;
	json_t *root = json_object();
	char ts[32];
	int rc = -1;

	put(&b, root, "examrisk", json_string(ER_VERSION_STRING));
	put(&b, root, "command", json_string(in->command));
	put(&b, root, "exit_status", json_integer(in->exit_status));
	if (opts->argv) {
		json_t *av = json_array(), *hx = NULL;
		for (int i = 0; i < opts->argc; i++) {
			add(&b, av, utf8_str(opts->argv[i]));
			if (!er_utf8_valid(opts->argv[i], strlen(opts->argv[i])) && !hx)
				hx = json_array();
		}
		put(&b, root, "argv", av);
		for (int i = 0; hx && i < opts->argc; i++)
			add(&b, hx, hex_str(opts->argv[i]));
		if (hx)
			put(&b, root, "argv_hex", hx);
	}
	json_t *eng = json_object();
	put(&b, eng, "version", json_string(ER_VERSION_STRING));
	put(&b, eng, "inflate", json_string(in->inflate ? in->inflate : "none"));
	if (in->deflate)
		put(&b, eng, "deflate", json_string(in->deflate));
	put(&b, eng, "json", json_string("jansson " JANSSON_VERSION));
	put(&b, root, "engine", eng);

	json_t *src = json_array();
	const er_table_source *ps = er_tables_source(in->tables, 0), *ms = er_tables_source(in->tables, 1);
	if (ps)
		put_source(&b, src, "participants", opts->participants_path ? opts->participants_path : "",
		           ps->bytes, ps->sha256, (int64_t)er_tables_ncerts(in->tables));
	if (ms)
		put_source(&b, src, "mra", opts->mra_path ? opts->mra_path : "", ms->bytes, ms->sha256,
		           (int64_t)er_tables_nmra(in->tables));
	if (in->rules)
		put_source(&b, src, "rules", in->rules->path, in->rules->bytes, in->rules->sha256, -1);
	put(&b, root, "sources", src);

	json_t *files = json_array();
	for (int i = 0; i < in->nfiles; i++) {
		const er_summary_file *f = &in->files[i];
		json_t *o = json_object();
		put_str(&b, o, "path", f->path, 1);
		put(&b, o, "status", json_string(f->failed ? "failed" : "ok"));
		if (f->failed) {
			put_str(&b, o, "error", f->error, 0);
			/* None of its rows is in any output: say so, not "scored". */
			er_counts none = { .rows = f->counts->rows };
			put_counts(&b, o, &none);
			put_u64(&b, o, "rows_rolled_back", f->counts->scored + f->counts->rejected);
		} else {
			put_counts(&b, o, f->counts);
		}
		put_u64(&b, o, "bytes_in", f->bytes_in);
		put_u64(&b, o, "bytes_csv", f->bytes_csv);
		add(&b, files, o);
	}
	put(&b, root, "files", files);

	const er_counts *t = in->total;
	put_counts(&b, root, t);
	json_t *rej = json_object();
	for (int r = 1; r < ER_NREJECTS; r++)
		if (t->rej[r])
			put_u64(&b, rej, er_reject_name(r), t->rej[r]);
	put(&b, root, "rejects_by_reason", rej);
	json_t *lanes = json_object();
	for (int l = ER_NLANES - 1; l >= 0; l--)
		put_u64(&b, lanes, er_lane_name(l), t->lanes[l]);
	put(&b, root, "lanes", lanes);
	json_t *reasons = json_object();
	for (int r = 0; r < ER_NREASONS; r++)
		put_u64(&b, reasons, er_reason_name(r), t->reasons[r]);
	put(&b, root, "reasons", reasons);
	/* The first lines of each reject reason: where to look first. */
	json_t *fr = json_object();
	for (int r = 1; r < ER_NREJECTS; r++) {
		if (!in->nfirst_rejects[r])
			continue;
		json_t *arr = json_array();
		for (int i = 0; i < in->nfirst_rejects[r]; i++) {
			const er_summary_reject *x = &in->first_rejects[r][i];
			json_t *o = json_object();
			put_str(&b, o, "file", x->path, 1);
			put_u64(&b, o, "line", x->line);
			if (x->detail)
				put_str(&b, o, "detail", x->detail, 0);
			add(&b, arr, o);
		}
		put(&b, fr, er_reject_name(r), arr);
	}
	put(&b, root, "first_rejects", fr);
	if (in->has_consolidations) {
		put_u64(&b, root, "consolidations", in->nconsolidations);
		put_u64(&b, root, "consolidations_found", in->consolidations_found);
		put(&b, root, "consolidations_filter",
		    json_string(opts->consolidations_all ? "all" : "lcl"));
		if (opts->consolidations_top)
			put_u64(&b, root, "consolidations_top", opts->consolidations_top);
		json_t *lo = json_object();
		put_u64(&b, lo, "single_house_bill", in->consolidations_single);
		put_u64(&b, lo, "beyond_top", in->consolidations_beyond_top);
		put(&b, root, "consolidations_left_out", lo);
	}
	if (in->has_source)
		put_u64(&b, root, "source_rejects", in->source_rejects);

	json_t *outs = json_array();
	for (int i = 0; i < in->noutputs; i++) {
		const er_summary_output *x = &in->outputs[i];
		json_t *o = json_object();
		put(&b, o, "role", json_string(x->role));
		if (x->path)
			put_str(&b, o, "path", x->path, 1);
		else
			put(&b, o, "path", json_string("-"));
		put_u64(&b, o, "bytes", x->bytes);
		put(&b, o, "atomic", json_boolean(x->atomic));
		if (x->sha256)
			put(&b, o, "sha256", json_string(x->sha256));
		add(&b, outs, o);
	}
	put(&b, root, "outputs", outs);

	/* Timing fields last, one per line: tests strip them to compare the rest. */
	er_iso8601_utc(&in->started, ts);
	put(&b, root, "started_at", json_string(ts));
	er_iso8601_utc(&in->finished, ts);
	put(&b, root, "finished_at", json_string(ts));
	put(&b, root, "threads", json_integer(in->threads));
	double el = in->elapsed_s;
	put(&b, root, "elapsed_s", json_real((double)(int64_t)(el * 1000 + 0.5) / 1000));
	put(&b, root, "rows_per_s", json_integer(el > 0 ? (json_int_t)((double)t->rows / el) : 0));
	put(&b, root, "mb_per_s",
	    json_real(el > 0 ? (double)(int64_t)((double)in->bytes_csv / 1e5 / el + 0.5) / 10 : 0));
	if (b.nomem || !root) {
		er_errf(err, errlen, "summary: out of memory");
		goto out;
	}
	size_t len0 = out->len;
	dump_sink d = { out, 0 };
	if (json_dump_callback(root, dump_cb, &d,
	                       JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) < 0 ||
	    d.failed || er_buf_putc(out, '\n') < 0) {
		out->len = len0;
		er_errf(err, errlen, "summary: out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}
