/* er_report.c - the HTML run report (see er_report.h).
 *
 * The page is built in memory (it is small: every table is bounded) and
 * handed to emit once. Layout: a single column that narrows to a phone's
 * width (tables scroll sideways inside their box), charts as inline SVG
 * with a viewBox so they scale, and a print style that keeps the colours
 * and does not split a section across pages. No script: everything is
 * computed here. */
#include "er_report.h"

#include <csv.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "examrisk.h"
#include "er_util.h"

/* ============================================================ escaping */

int er_html_escape(er_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\0': rep = "\xef\xbf\xbd"; break; /* U+FFFD: a NUL has no place in HTML */
		default: break;
		}
		if (rep ? er_buf_puts(b, rep) < 0 : er_buf_putc(b, s[i]) < 0)
			return -1;
	}
	return 0;
}

static void esc(er_buf *b, const char *s)
{
	er_html_escape(b, s ? s : "", s ? strlen(s) : 0);
}

/* ===================================================== top-N CSV rows */

#define TOP_MAXCOL 12

typedef struct colspec {
	const char *name;
	int required;
} colspec;

/* The columns the tables show, in display order. */
static const colspec consol_cols[] = {
	{"consolidation", 1}, {"container_id", 0}, {"shipments", 1}, {"shippers", 0},
	{"max_score", 0}, {"lane", 0}, {"exam_probability", 1}, {"driver_shipment_id", 1},
	{"probability_without_driver", 0}, {"uncertified_shipments", 1}, {NULL, 0}
};
enum { C_CONSOL, C_CONT, C_SHIP, C_SHIPPERS, C_MAXSCORE, C_LANE, C_PROB, C_DRIVER, C_WITHOUT, C_UNCERT };
static const colspec partner_cols[] = {
	{"party", 1}, {"name", 0}, {"country", 0}, {"roles", 0}, {"shipments", 1},
	{"noncompliant_shipments", 0}, {"program", 0}, {"status", 0}, {"compliant", 1}, {NULL, 0}
};
enum { P_PARTY, P_NAME, P_COUNTRY, P_ROLES, P_SHIP, P_NONC, P_PROGRAM, P_STATUS, P_COMPLIANT };

typedef struct toprow {
	char *cell[TOP_MAXCOL];
	double k1, k2; /* ranking keys, larger first */
	uint64_t seq;  /* then file order */
} toprow;

struct er_report_top {
	int kind;
	char *name;
	const colspec *cols;
	int ncols;
	struct csv_parser csv;
	int csv_ok;
	uint64_t line;           /* records seen, header = 1 */
	int header_done;
	int colidx[TOP_MAXCOL];  /* our column -> field index, -1 absent */
	int field;               /* field index within the record */
	char *cur[TOP_MAXCOL];   /* cells of the record being read */
	toprow rows[ER_REPORT_TOP];
	int nrows;
	uint64_t total, qualifying;
	char err[256];
};

er_report_top *er_report_top_new(int kind, const char *name)
{
	er_report_top *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->kind = kind;
	t->cols = kind == ER_TOP_CONSOLIDATIONS ? consol_cols : partner_cols;
	while (t->cols[t->ncols].name)
		t->ncols++;
	t->name = strdup(name ? name : "");
	if (!t->name || csv_init(&t->csv, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		free(t->name);
		free(t);
		return NULL;
	}
	t->csv_ok = 1;
	for (int i = 0; i < TOP_MAXCOL; i++)
		t->colidx[i] = -1;
	return t;
}

static void row_free(toprow *r)
{
	for (int i = 0; i < TOP_MAXCOL; i++) {
		free(r->cell[i]);
		r->cell[i] = NULL;
	}
}

void er_report_top_free(er_report_top *t)
{
	if (!t)
		return;
	if (t->csv_ok)
		csv_free(&t->csv);
	for (int i = 0; i < t->nrows; i++)
		row_free(&t->rows[i]);
	for (int i = 0; i < TOP_MAXCOL; i++)
		free(t->cur[i]);
	free(t->name);
	free(t);
}

static void top_field(void *s, size_t len, void *data)
{
	er_report_top *t = data;
	int f = t->field++;
	if (t->err[0])
		return;
	if (!t->header_done) {
		for (int i = 0; i < t->ncols; i++)
			if (t->colidx[i] < 0 && strlen(t->cols[i].name) == len && !memcmp(s, t->cols[i].name, len))
				t->colidx[i] = f;
		return;
	}
	for (int i = 0; i < t->ncols; i++) {
		if (t->colidx[i] != f)
			continue;
		char *c = malloc(len + 1);
		if (!c) {
			snprintf(t->err, sizeof t->err, "out of memory");
			return;
		}
		memcpy(c, s, len);
		c[len] = '\0';
		free(t->cur[i]);
		t->cur[i] = c;
	}
}

static double num_or(const char *s, double dflt)
{
	if (!s || !*s)
		return dflt;
	char *end;
	double v = strtod(s, &end);
	return *end ? dflt : v;
}

static int row_before(const toprow *a, const toprow *b)
{
	if (a->k1 != b->k1)
		return a->k1 > b->k1;
	if (a->k2 != b->k2)
		return a->k2 > b->k2;
	return a->seq < b->seq;
}

static void top_row(int c, void *data)
{
	(void)c;
	er_report_top *t = data;
	t->line++;
	t->field = 0;
	if (t->err[0])
		return;
	if (!t->header_done) {
		t->header_done = 1;
		for (int i = 0; i < t->ncols && !t->err[0]; i++)
			if (t->cols[i].required && t->colidx[i] < 0)
				snprintf(t->err, sizeof t->err, "%s: not a %s CSV (no column '%s' in its header)",
				         t->name, t->kind == ER_TOP_CONSOLIDATIONS ? "consolidations" : "partner audit",
				         t->cols[i].name);
		return;
	}
	t->total++;
	toprow r = { .seq = t->line };
	if (t->kind == ER_TOP_CONSOLIDATIONS) {
		/* LCL: two or more house bills, whatever the output's filter was */
		if (num_or(t->cur[C_SHIP], 0) < 2)
			goto done;
		r.k1 = num_or(t->cur[C_PROB], 0);
		r.k2 = num_or(t->cur[C_MAXSCORE], 0);
	} else {
		if (!t->cur[P_COMPLIANT] || strcmp(t->cur[P_COMPLIANT], "0") != 0)
			goto done;
		r.k1 = num_or(t->cur[P_SHIP], 0);
		r.k2 = num_or(t->cur[P_NONC], 0);
	}
	t->qualifying++;
	/* insertion into the kept, sorted rows */
	int pos = t->nrows;
	while (pos > 0 && row_before(&r, &t->rows[pos - 1]))
		pos--;
	if (pos >= ER_REPORT_TOP)
		goto done;
	if (t->nrows == ER_REPORT_TOP)
		row_free(&t->rows[--t->nrows]);
	memmove(&t->rows[pos + 1], &t->rows[pos], (size_t)(t->nrows - pos) * sizeof r);
	for (int i = 0; i < t->ncols; i++) {
		r.cell[i] = t->cur[i];
		t->cur[i] = NULL;
	}
	t->rows[pos] = r;
	t->nrows++;
done:
	for (int i = 0; i < t->ncols; i++) {
		free(t->cur[i]);
		t->cur[i] = NULL;
	}
}

int er_report_top_feed(er_report_top *t, const char *p, size_t n, char *err, size_t errlen)
{
	if (!t->err[0] && csv_parse(&t->csv, p, n, top_field, top_row, t) != n)
		snprintf(t->err, sizeof t->err, "%s:%llu: %s", t->name, (unsigned long long)t->line + 1,
		         csv_strerror(csv_error(&t->csv)));
	if (t->err[0]) {
		er_errf(err, errlen, "%s", t->err);
		return -1;
	}
	return 0;
}

int er_report_top_emit(void *ctx, const char *p, size_t n)
{
	er_report_top *t = ctx;
	er_report_top_feed(t, p, n, NULL, 0);
	return 0; /* the output being written matters more; _end reports */
}

int er_report_top_end(er_report_top *t, char *err, size_t errlen)
{
	if (!t->err[0] && csv_fini(&t->csv, top_field, top_row, t) != 0)
		snprintf(t->err, sizeof t->err, "%s:%llu: %s", t->name, (unsigned long long)t->line + 1,
		         csv_strerror(csv_error(&t->csv)));
	if (!t->err[0] && !t->header_done)
		snprintf(t->err, sizeof t->err, "%s: empty (no header row)", t->name);
	if (t->err[0]) {
		er_errf(err, errlen, "%s", t->err);
		return -1;
	}
	return 0;
}

int er_report_top_file(er_report_top *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		er_errf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char buf[1 << 16];
	size_t n;
	int rc = 0;
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
		rc = er_report_top_feed(t, buf, n, err, errlen);
	if (rc == 0 && ferror(f)) {
		er_errf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc == 0 ? er_report_top_end(t, err, errlen) : rc;
}

int er_report_csv_kind(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		er_errf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[4096];
	int kind = -1;
	if (fgets(line, sizeof line, f)) {
		/* whole names between delimiters, so "shipments" is not "noncompliant_shipments" */
		char *save = NULL;
		int prob = 0, compliant = 0;
		for (char *tok = strtok_r(line, ",\r\n", &save); tok; tok = strtok_r(NULL, ",\r\n", &save)) {
			prob |= !strcmp(tok, "exam_probability");
			compliant |= !strcmp(tok, "compliant");
		}
		kind = prob ? ER_TOP_CONSOLIDATIONS : compliant ? ER_TOP_PARTNERS : -1;
	}
	fclose(f);
	if (kind < 0)
		er_errf(err, errlen, "%s: neither a consolidations CSV (exam_probability column) nor a "
		        "partner audit (compliant column)", path);
	return kind;
}

/* ============================================================ numbers */

/* 1234567 -> "1,234,567" */
static const char *fmt_int(char *buf, size_t cap, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v);
	size_t o = 0;
	if (v < 0 && o + 1 < cap)
		buf[o++] = '-';
	for (int i = 0; i < n && o + 2 < cap; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static int jnum(const json_t *v, double *out)
{
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		*out = json_real_value(v);
		return 0;
	}
	return -1;
}

static double jget_num(const json_t *o, const char *k, double dflt)
{
	double v;
	return jnum(json_object_get(o, k), &v) == 0 ? v : dflt;
}

static const char *jget_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A number from the summary, marked for the test: key is its JSON path
 * (dots; array indices as numbers). decimals < 0: integer with separators. */
static void mark_num(er_buf *b, const char *key, const json_t *v, int decimals, const char *unit)
{
	double d;
	if (jnum(v, &d) < 0) {
		er_buf_puts(b, "<span class=\"na\">n/a</span>");
		return;
	}
	er_buf_puts(b, "<span data-k=\"");
	esc(b, key);
	char f[48];
	if (json_is_integer(v)) {
		er_buf_printf(b, "\" data-v=\"%lld\">", (long long)json_integer_value(v));
		if (decimals < 0)
			er_buf_puts(b, fmt_int(f, sizeof f, (long long)json_integer_value(v)));
		else
			er_buf_printf(b, "%.*f", decimals, d);
	} else {
		er_buf_printf(b, "\" data-v=\"%.15g\">", d);
		if (decimals < 0 && fabs(d) < 9e15)
			er_buf_puts(b, fmt_int(f, sizeof f, (long long)llround(d)));
		else
			er_buf_printf(b, "%.*f", decimals < 0 ? 0 : decimals, d);
	}
	if (unit)
		er_buf_printf(b, " %s", unit);
	er_buf_puts(b, "</span>");
}

static void pct(er_buf *b, double num, double den)
{
	if (den > 0)
		er_buf_printf(b, "%.1f\xc2\xa0%%", 100.0 * num / den);
	else
		er_buf_puts(b, "\xe2\x80\x93");
}

/* =============================================================== charts */

static const char *lane_colour(const char *lane)
{
	if (!lane)
		return "#5b6b7f";
	if (!strcmp(lane, "RED"))
		return "#c62828";
	if (!strcmp(lane, "YELLOW"))
		return "#f9a825";
	if (!strcmp(lane, "GREEN"))
		return "#2e7d32";
	return "#5b6b7f";
}

typedef struct bar {
	const char *label;
	const char *key;   /* data-k of the value, NULL: none */
	const json_t *v;
	double value;
	const char *colour;
} bar;

/* Horizontal bars, one per row: label, bar scaled to the largest, value and
 * share of total. */
static void svg_bars(er_buf *b, const char *title, const bar *bars, int n, double total)
{
	double max = 0;
	for (int i = 0; i < n; i++)
		if (bars[i].value > max)
			max = bars[i].value;
	/* the label column fits the longest label at the phone's 13px */
	size_t longest = 4;
	for (int i = 0; i < n; i++)
		if (strlen(bars[i].label) > longest)
			longest = strlen(bars[i].label);
	/* one width for every bar chart, so their text has one size on the page */
	const int rowh = 22, w = 430;
	const int labw = (int)(longest > 24 ? 24 : longest) * 9 + 14, barw = w - labw - 115;
	int h = n * rowh + 4;
	er_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", w, h);
	esc(b, title);
	er_buf_puts(b, "\" xmlns=\"http://www.w3.org/2000/svg\">");
	for (int i = 0; i < n; i++) {
		int y = i * rowh + 2;
		double len = max > 0 ? bars[i].value / max * barw : 0;
		if (bars[i].value > 0 && len < 1)
			len = 1;
		er_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"lab\">", labw - 6,
		              y + 15);
		esc(b, bars[i].label);
		er_buf_printf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>",
		              labw, y + 3, len, rowh - 6, bars[i].colour);
		er_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"val\">", labw + len + 5, y + 15);
		char f[48];
		if (bars[i].key) {
			er_buf_puts(b, "<tspan data-k=\"");
			esc(b, bars[i].key);
			er_buf_printf(b, "\" data-v=\"%.15g\">%s</tspan>", bars[i].value,
			              fmt_int(f, sizeof f, (long long)llround(bars[i].value)));
		} else {
			er_buf_puts(b, fmt_int(f, sizeof f, (long long)llround(bars[i].value)));
		}
		if (total > 0)
			er_buf_printf(b, " (%.1f%%)", 100.0 * bars[i].value / total);
		er_buf_puts(b, "</text>");
	}
	er_buf_puts(b, "</svg>\n");
}

/* A small line chart of one series over the runs of the trend. */
static void svg_line(er_buf *b, const char *title, const double *v, int n, int percent)
{
	const int w = 420, h = 130, l = 56, r = 12, t = 12, bot = 22;
	double lo = INFINITY, hi = -INFINITY;
	for (int i = 0; i < n; i++) {
		if (v[i] < lo)
			lo = v[i];
		if (v[i] > hi)
			hi = v[i];
	}
	if (n == 0)
		return;
	if (lo > 0 && lo < hi * 0.5)
		lo = 0;
	if (hi == lo) { /* a flat series sits in the middle */
		double d = percent ? (lo > 0 ? lo * 0.5 : 0.01) : (fabs(lo) >= 10 ? fabs(lo) * 0.1 : 1);
		hi = lo + d;
		lo = lo - d < 0 && v[0] >= 0 ? 0 : lo - d;
		if (lo == 0)
			hi = 2 * v[0] > 0 ? 2 * v[0] : hi * 2;
	}
	er_buf_puts(b, "<figure><figcaption>");
	esc(b, title);
	er_buf_printf(b, "</figcaption><svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", w, h);
	esc(b, title);
	er_buf_puts(b, "\" xmlns=\"http://www.w3.org/2000/svg\">");
	int pw = w - l - r, ph = h - t - bot;
	char f[48];
	for (int g = 0; g <= 2; g++) {
		double val = lo + (hi - lo) * g / 2.0;
		double y = t + ph - ph * g / 2.0;
		er_buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", l, y,
		              w - r, y);
		if (!percent && fabs(val - round(val)) > 1e-9)
			continue; /* a count axis labels whole numbers only */
		er_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"lab\">", l - 5, y + 4);
		if (percent)
			er_buf_printf(b, "%.1f%%", val * 100);
		else
			er_buf_puts(b, fmt_int(f, sizeof f, llround(val)));
		er_buf_puts(b, "</text>");
	}
	er_buf_puts(b, "<polyline class=\"series\" points=\"");
	for (int i = 0; i < n; i++) {
		double x = l + (n > 1 ? (double)pw * i / (n - 1) : pw / 2.0);
		double y = t + ph - (v[i] - lo) / (hi - lo) * ph;
		er_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", x, y);
	}
	er_buf_puts(b, "\"/>");
	for (int i = 0; i < n; i++) {
		double x = l + (n > 1 ? (double)pw * i / (n - 1) : pw / 2.0);
		double y = t + ph - (v[i] - lo) / (hi - lo) * ph;
		er_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" class=\"pt\"/>", x, y,
		              i == n - 1 ? "4" : "2.5");
	}
	er_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"lab\">oldest</text>", l, h - 5);
	er_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"lab\">this run</text>", w - r,
	              h - 5);
	er_buf_puts(b, "</svg></figure>\n");
}

/* ===================================================== generic tables */

static int is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v);
}

static void key_join(char *out, size_t cap, const char *base, const char *k)
{
	/* a path that does not fit is cut: it only names a mark */
	if (snprintf(out, cap, "%s%s%s", base, *base ? "." : "", k) < 0 && cap)
		out[0] = '\0';
}

static void scalar_cell(er_buf *b, const json_t *v, const char *key)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		/* paths, checksums and long ids: monospace, wrapped anywhere */
		const char *dot = strrchr(key, '.');
		const char *leaf = dot ? dot + 1 : key;
		int code = !strcmp(leaf, "path") || !strcmp(leaf, "sha256") || (n >= 32 && !strchr(s, ' '));
		er_buf_printf(b, "<td%s>", code ? " class=\"wrap\"" : "");
		esc(b, s);
	} else if (json_is_number(v)) {
		er_buf_puts(b, "<td class=\"num\">");
		mark_num(b, key, v, json_is_integer(v) ? -1 : 3, NULL);
	} else if (json_is_boolean(v)) {
		er_buf_printf(b, "<td>%s", json_is_true(v) ? "yes" : "no");
	} else {
		er_buf_puts(b, "<td class=\"na\">\xe2\x80\x93");
	}
	er_buf_puts(b, "</td>");
}

/* The one walk over a container: an array's elements or an object's members
 * in order, each with its JSON path (KEY.i or KEY.name) for the data-k marks. */
typedef struct jwalk {
	const json_t *v;
	int arr;
	size_t i;
	void *it;
	const char *name;  /* member name; NULL for an array element */
	const json_t *val;
	char path[512];
} jwalk;

static void jwalk_start(jwalk *w, const json_t *v)
{
	w->v = v;
	w->arr = json_is_array(v);
	w->i = 0;
	w->it = w->arr ? NULL : json_object_iter((json_t *)v);
}

/* The next member (w->val, w->name, w->path under key), or 0 at the end. */
static int jwalk_next(jwalk *w, const char *key)
{
	if (w->arr) {
		if (w->i >= json_array_size(w->v))
			return 0;
		w->name = NULL;
		w->val = json_array_get(w->v, w->i);
		snprintf(w->path, sizeof w->path, "%s.%zu", key, w->i);
		w->i++;
		return 1;
	}
	if (!w->it)
		return 0;
	w->name = json_object_iter_key(w->it);
	w->val = json_object_iter_value(w->it);
	key_join(w->path, sizeof w->path, key, w->name);
	w->it = json_object_iter_next((json_t *)w->v, w->it);
	return 1;
}

/* Columns of a table of objects: the union of their scalar keys, in order
 * of first appearance (at most 16). */
static int union_keys(const json_t *rows, const char **cols, int cap)
{
	int n = 0;
	jwalk w;
	jwalk_start(&w, rows);
	while (jwalk_next(&w, "")) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)w.val, k, v) {
			if (!is_scalar(v))
				continue;
			int seen = 0;
			for (int c = 0; c < n && !seen; c++)
				seen = !strcmp(cols[c], k);
			if (!seen && n < cap)
				cols[n++] = k;
		}
	}
	return n;
}

/* A member's name as a row heading (objects only: array rows have none). */
static void row_heading(er_buf *b, const jwalk *w)
{
	if (w->name) {
		er_buf_puts(b, "<th>");
		esc(b, w->name);
		er_buf_puts(b, "</th>");
	}
}

/* Render any JSON value as tables: an object of scalars as name/value rows,
 * an array (or object) of objects as one row each, nested objects as
 * sub-headings. key is v's JSON path, for the data-k marks. */
static void render_any(er_buf *b, const json_t *v, const char *key, int depth)
{
	if (is_scalar(v)) {
		er_buf_puts(b, "<table><tr>");
		scalar_cell(b, v, key);
		er_buf_puts(b, "</tr></table>\n");
		return;
	}
	int all_obj = 1, all_scalar = 1, count = 0;
	jwalk w;
	jwalk_start(&w, v);
	while (jwalk_next(&w, key)) {
		all_obj &= json_is_object(w.val);
		all_scalar &= is_scalar(w.val);
		count++;
	}
	if (!count) {
		er_buf_puts(b, "<p class=\"na\">none</p>\n");
		return;
	}
	if (all_scalar) {
		er_buf_puts(b, "<div class=\"tw\"><table class=\"kv\">");
		for (jwalk_start(&w, v); jwalk_next(&w, key);) {
			er_buf_puts(b, "<tr>");
			row_heading(b, &w);
			scalar_cell(b, w.val, w.path);
			er_buf_puts(b, "</tr>");
		}
		er_buf_puts(b, "</table></div>\n");
		return;
	}
	const char *cols[16];
	int nc = all_obj ? union_keys(v, cols, 16) : 0;
	/* objects with no scalar member make no columns: their members are
	 * shown as sub-headings below rather than as an empty table */
	if (all_obj && nc > 0) {
		er_buf_puts(b, "<div class=\"tw\"><table><tr>");
		if (!w.arr)
			er_buf_puts(b, "<th>name</th>");
		for (int c = 0; c < nc; c++) {
			er_buf_puts(b, "<th>");
			esc(b, cols[c]);
			er_buf_puts(b, "</th>");
		}
		er_buf_puts(b, "</tr>");
		for (jwalk_start(&w, v); jwalk_next(&w, key);) {
			er_buf_puts(b, "<tr>");
			row_heading(b, &w);
			for (int c = 0; c < nc; c++) {
				char sub[600];
				const json_t *x = json_object_get(w.val, cols[c]);
				key_join(sub, sizeof sub, w.path, cols[c]);
				if (x)
					scalar_cell(b, x, sub);
				else
					er_buf_puts(b, "<td></td>");
			}
			er_buf_puts(b, "</tr>");
		}
		er_buf_puts(b, "</table></div>\n");
		return;
	}
	if (depth >= 3) {
		char *s = json_dumps(v, JSON_COMPACT);
		er_buf_puts(b, "<pre>");
		esc(b, s);
		er_buf_puts(b, "</pre>\n");
		free(s);
		return;
	}
	/* mixed: one sub-heading per member (object members are named) */
	for (jwalk_start(&w, v); jwalk_next(&w, key);) {
		if (w.name) {
			er_buf_puts(b, "<h4>");
			esc(b, w.name);
			er_buf_puts(b, "</h4>");
		}
		render_any(b, w.val, w.path, depth + 1);
	}
}

/* ============================================================= history */

int er_history_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			er_errf(err, errlen, "%s: not a folder (--history)", dir);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		er_errf(err, errlen, "%s: cannot create the history folder: %s", dir, strerror(errno));
		return -1;
	}
	/* missing: what mkdir(2) would need of its parent */
	char *copy = strdup(dir);
	if (!copy) {
		er_errf(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	const char *parent = dirname(copy);
	int e = stat(parent, &st) < 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR
	        : access(parent, W_OK | X_OK) < 0 ? errno : 0;
	free(copy);
	if (e) {
		er_errf(err, errlen, "%s: cannot create the history folder: %s", dir, strerror(e));
		return -1;
	}
	return 0;
}

int er_history_path(const char *dir, const struct timespec *t, char *out, size_t cap, char *err,
                    size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0777) < 0) {
			er_errf(err, errlen, "%s: cannot create the history folder: %s", dir, strerror(errno));
			return -1;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		er_errf(err, errlen, "%s: not a folder (--history)", dir);
		return -1;
	}
	time_t s = t->tv_sec;
	long us = t->tv_nsec / 1000;
	for (int tries = 0; tries < 1000; tries++) {
		struct tm tm;
		gmtime_r(&s, &tm);
		int n = snprintf(out, cap, "%s/examrisk-%04d%02d%02dT%02d%02d%02d.%06ldZ.json", dir,
		                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		                 tm.tm_sec, us);
		if (n < 0 || (size_t)n >= cap) {
			er_errf(err, errlen, "%s: history path too long", dir);
			return -1;
		}
		if (access(out, F_OK) != 0)
			return 0;
		if (++us == 1000000) {
			us = 0;
			s++;
		}
	}
	er_errf(err, errlen, "%s: no free history file name", dir);
	return -1;
}

typedef struct point {
	json_t *j;       /* owned */
	char label[64];
	double rows, scored, rejected, red;
} point;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int wanted_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] != '.' && len > 5 && !strcmp(n + len - 5, ".json");
}

/* "examrisk-20261201T201533.123456Z.json" -> "2026-12-01 20:15:33 UTC" */
static void label_of(const char *name, const json_t *j, char *out, size_t cap)
{
	const char *s = j ? jget_str(j, "started_at") : NULL;
	if (s) {
		snprintf(out, cap, "%s", s);
		return;
	}
	int Y, M, D, h, m, sec;
	if (sscanf(name, "examrisk-%4d%2d%2dT%2d%2d%2d", &Y, &M, &D, &h, &m, &sec) == 6)
		snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d UTC", Y, M, D, h, m, sec);
	else
		snprintf(out, cap, "%.*s", (int)(strlen(name) > 5 ? strlen(name) - 5 : strlen(name)), name);
}

static void point_fill(point *p)
{
	p->rows = jget_num(p->j, "rows_read", 0);
	p->scored = jget_num(p->j, "rows_scored", 0);
	p->rejected = jget_num(p->j, "rows_rejected", 0);
	p->red = jget_num(json_object_get(p->j, "lanes"), "RED", 0);
}

/* The last max runs of dir (names in sort order), then cur unless it is
 * the last of them already (byte-identical). *skipped: unreadable files. */
static int load_points(const char *dir, int max, const char *cur, size_t curlen, json_t *curj,
                       point **out, int *np, int *skipped, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) { /* no previous run yet: the trend is this run */
			*out = calloc(1, sizeof **out);
			if (!*out)
				return -1;
			(*out)[0].j = json_incref(curj);
			snprintf((*out)[0].label, sizeof (*out)[0].label, "this run");
			point_fill(&(*out)[0]);
			*np = 1;
			return 0;
		}
		er_errf(err, errlen, "%s: %s (--history)", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = -1;
	while ((e = readdir(d)) != NULL) {
		if (!wanted_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn)
				goto out;
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto out;
		n++;
	}
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	size_t first = n > (size_t)max ? n - (size_t)max : 0;
	point *pts = calloc(n - first + 1, sizeof *pts);
	if (!pts)
		goto out;
	int k = 0;
	char path[4096];
	for (size_t i = first; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "rb");
		char *buf = NULL;
		size_t len = 0;
		if (f) {
			/* summaries are a few KB; a huge file is not one */
			buf = malloc(1 << 20);
			if (buf)
				len = fread(buf, 1, 1 << 20, f);
			fclose(f);
		}
		json_t *j = buf ? json_loadb(buf, len, 0, NULL) : NULL;
		int same = buf && len == curlen && !memcmp(buf, cur, len);
		free(buf);
		if (!json_is_object(j)) {
			json_decref(j);
			(*skipped)++;
			continue;
		}
		if (same) { /* the summary given is this history entry: it comes last */
			json_decref(j);
			continue;
		}
		pts[k].j = j;
		label_of(names[i], j, pts[k].label, sizeof pts[k].label);
		point_fill(&pts[k]);
		k++;
	}
	if (k == max) { /* keep the window at max runs, this one included */
		json_decref(pts[0].j);
		memmove(pts, pts + 1, (size_t)(k - 1) * sizeof *pts);
		k--;
	}
	pts[k].j = json_incref(curj);
	label_of("", curj, pts[k].label, sizeof pts[k].label);
	if (!jget_str(curj, "started_at"))
		snprintf(pts[k].label, sizeof pts[k].label, "this run");
	point_fill(&pts[k]);
	k++;
	*out = pts;
	*np = k;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static double share(double num, double den)
{
	return den > 0 ? num / den : 0;
}

static void render_trend(er_buf *b, const point *p, int n, int skipped, const char *dir)
{
	er_buf_puts(b, "<section id=\"trend\"><h2>Trend</h2>\n<p>The last ");
	er_buf_printf(b, "<span data-h=\"runs\" data-v=\"%d\">%d</span> run%s, from <code>", n, n,
	              n == 1 ? "" : "s");
	esc(b, dir);
	er_buf_puts(b, "</code>");
	if (skipped)
		er_buf_printf(b, " (%d unreadable file%s skipped)", skipped, skipped == 1 ? "" : "s");
	er_buf_puts(b, ".</p>\n");
	if (n < 2)
		er_buf_puts(b, "<p class=\"na\">No earlier run in the history yet: the trend starts with this one.</p>\n");
	double *v = calloc((size_t)n, sizeof *v);
	if (!v)
		return;
	if (n >= 2) {
		er_buf_puts(b, "<div class=\"grid2\">");
		for (int i = 0; i < n; i++)
			v[i] = share(p[i].red, p[i].scored);
		svg_line(b, "RED share of scored rows", v, n, 1);
		for (int i = 0; i < n; i++)
			v[i] = p[i].rejected;
		svg_line(b, "Rows rejected", v, n, 0);
		for (int i = 0; i < n; i++)
			v[i] = p[i].rows;
		svg_line(b, "Rows read", v, n, 0);
		/* the reason whose share of scored rows moved most since the previous run */
		const json_t *now = json_object_get(p[n - 1].j, "reasons");
		const json_t *prev = json_object_get(p[n - 2].j, "reasons");
		const char *best = NULL, *k;
		double bestd = 0;
		json_t *x;
		json_object_foreach((json_t *)now, k, x) {
			double a = share(jget_num(now, k, 0), p[n - 1].scored);
			double c = share(jget_num(prev, k, 0), p[n - 2].scored);
			if (fabs(a - c) > fabs(bestd) + 1e-12) {
				best = k;
				bestd = a - c;
			}
		}
		if (best) {
			for (int i = 0; i < n; i++)
				v[i] = share(jget_num(json_object_get(p[i].j, "reasons"), best, 0), p[i].scored);
			char title[128];
			snprintf(title, sizeof title, "Share of %s (moved most)", best);
			svg_line(b, title, v, n, 1);
		}
		er_buf_puts(b, "</div>\n");
		if (best) {
			er_buf_puts(b, "<p class=\"callout\">Moved most since the previous run: <b>");
			esc(b, best);
			er_buf_printf(b, "</b>, %.1f%% \xe2\x86\x92 %.1f%% of scored rows (%+.1f points).</p>\n",
			              100 * (share(jget_num(prev, best, 0), p[n - 2].scored)),
			              100 * (share(jget_num(now, best, 0), p[n - 1].scored)), 100 * bestd);
		} else {
			er_buf_puts(b, "<p>No reason code changed its share since the previous run.</p>\n");
		}
	}
	free(v);
	if (n >= 2) {
		char f1[48], f2[48], f3[48], f4[48];
		const point *a = &p[n - 2], *c = &p[n - 1];
		er_buf_printf(b, "<p>Since the previous run: rows read %s \xe2\x86\x92 %s, rejected %s \xe2\x86\x92 %s, "
		              "RED share ", fmt_int(f1, sizeof f1, llround(a->rows)),
		              fmt_int(f2, sizeof f2, llround(c->rows)), fmt_int(f3, sizeof f3, llround(a->rejected)),
		              fmt_int(f4, sizeof f4, llround(c->rejected)));
		pct(b, a->red, a->scored);
		er_buf_puts(b, " \xe2\x86\x92 ");
		pct(b, c->red, c->scored);
		er_buf_puts(b, ".</p>\n");
	}
	er_buf_puts(b, "<div class=\"tw\"><table><tr><th>run</th><th class=\"num\">rows read</th>"
	               "<th class=\"num\">rejected</th><th class=\"num\">RED</th>"
	               "<th class=\"num\">RED share</th></tr>\n");
	char f[48];
	for (int i = n - 1; i >= 0; i--) {
		er_buf_puts(b, "<tr><td class=\"nw\" data-timing=\"1\">");
		esc(b, p[i].label);
		er_buf_printf(b, "</td><td class=\"num\" data-h=\"%d.rows_read\" data-v=\"%.0f\">%s</td>", i,
		              p[i].rows, fmt_int(f, sizeof f, llround(p[i].rows)));
		er_buf_printf(b, "<td class=\"num\" data-h=\"%d.rows_rejected\" data-v=\"%.0f\">%s</td>", i,
		              p[i].rejected, fmt_int(f, sizeof f, llround(p[i].rejected)));
		er_buf_printf(b, "<td class=\"num\" data-h=\"%d.RED\" data-v=\"%.0f\">%s</td><td class=\"num\">", i,
		              p[i].red, fmt_int(f, sizeof f, llround(p[i].red)));
		pct(b, p[i].red, p[i].scored);
		er_buf_puts(b, "</td></tr>\n");
	}
	er_buf_puts(b, "</table></div></section>\n");
}

/* ============================================================ sections */

static const char css[] =
	":root{--fg:#1d2733;--mut:#5b6b7f;--line:#d7dee6;--bg:#f6f8fa;--acc:#1f5f9e}"
	"*{box-sizing:border-box}"
	"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:#fff}"
	"main{max-width:1100px;margin:0 auto;padding:16px}"
	"h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:0 0 .5em;color:var(--acc)}"
	"h3{font-size:1em;margin:1em 0 .4em}h4{margin:.8em 0 .3em;font-size:.95em}"
	".sub{color:var(--mut);margin:0 0 12px}"
	"section{border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:14px 0;background:#fff}"
	".kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin:0 0 12px}"
	".kpi{background:var(--bg);border-radius:6px;padding:8px 10px}"
	".kpi b{display:block;font-size:1.35em}.kpi small{color:var(--mut)}"
	".kpi.red{border-left:4px solid #c62828}.kpi.warn{border-left:4px solid #f9a825}"
	".tw{overflow-x:auto;-webkit-overflow-scrolling:touch}"
	"table{border-collapse:collapse;width:100%;font-size:.9em;margin:4px 0}"
	"th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}"
	"th{background:var(--bg);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"td.code,td.wrap,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}"
	"td.code,td.nw{white-space:nowrap}td.wrap,code{word-break:break-all}"
	".kv th{width:35%}.na{color:var(--mut)}"
	".chart{width:100%;max-width:620px;height:auto;display:block}"
	".chart .lab{font-size:11px;fill:var(--fg)}.chart .val{font-size:11px;fill:var(--mut)}"
	".chart .grid{stroke:var(--line);stroke-width:1}.chart .series{fill:none;stroke:var(--acc);stroke-width:2}"
	".chart .pt{fill:var(--acc)}"
	"figure{margin:0}figcaption{font-size:.85em;color:var(--mut)}"
	".grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}"
	".callout{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px}"
	".lane{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:.85em}"
	".lane.RED{background:#c62828}.lane.YELLOW{background:#f9a825;color:#1d2733}.lane.GREEN{background:#2e7d32}"
	".status-failed{color:#c62828;font-weight:600}"
	"footer{color:var(--mut);font-size:.8em;margin:16px 0}"
	"@media (max-width:600px){body{font-size:14px}main{padding:8px}section{padding:10px}"
	"th,td{padding:3px 5px}.kpi b{font-size:1.15em}td.wrap{min-width:11em}"
	".chart .lab,.chart .val{font-size:13px}}"
	"@media print{body{font-size:11pt}main{max-width:none;padding:0}"
	"section{border-color:#999}h2,h3{break-after:avoid}"
	".chart,figure,tr,.kpis,.callout{break-inside:avoid;page-break-inside:avoid}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}.tw{overflow:visible}}";

static void kpi(er_buf *b, const char *cls, const char *label, const char *key, const json_t *v,
                int decimals, const char *unit, int timing)
{
	er_buf_printf(b, "<div class=\"kpi%s%s\"%s><small>", cls ? " " : "", cls ? cls : "",
	              timing ? " data-timing=\"1\"" : "");
	esc(b, label);
	er_buf_puts(b, "</small><b>");
	mark_num(b, key, v, decimals, unit);
	er_buf_puts(b, "</b></div>");
}

static void render_head(er_buf *b, const json_t *s, const char *name)
{
	const char *cmd = jget_str(s, "command"); /* "score", "partners" */
	er_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	               "<title>examrisk run report</title><style>");
	er_buf_puts(b, css);
	er_buf_puts(b, "</style></head>\n<body><main>\n<header><h1>examrisk run report</h1><p class=\"sub\">");
	esc(b, cmd ? cmd : "run");
	er_buf_puts(b, " \xc2\xb7 engine ");
	esc(b, jget_str(s, "examrisk") ? jget_str(s, "examrisk") : "?");
	const char *st = jget_str(s, "started_at"), *fin = jget_str(s, "finished_at");
	if (st) {
		er_buf_puts(b, " \xc2\xb7 <span data-timing=\"1\">started ");
		esc(b, st);
		if (fin) {
			er_buf_puts(b, ", finished ");
			esc(b, fin);
		}
		er_buf_puts(b, "</span>");
	}
	const json_t *ex = json_object_get(s, "exit_status");
	if (json_is_integer(ex)) {
		er_buf_puts(b, " \xc2\xb7 exit status ");
		mark_num(b, "exit_status", ex, -1, NULL);
	}
	er_buf_puts(b, " \xc2\xb7 summary ");
	const char *base = strrchr(name, '/');
	esc(b, base ? base + 1 : name);
	er_buf_puts(b, "</p>\n");
	/* the command line, as a string or an array of arguments, under one of
	 * the names a summary may use for it */
	static const char *const cl_names[] = { "command_line", "cmdline", "argv", "args" };
	const json_t *cl = json_is_array(json_object_get(s, "command")) ? json_object_get(s, "command") : NULL;
	for (size_t i = 0; !cl && i < sizeof cl_names / sizeof cl_names[0]; i++)
		cl = json_object_get(s, cl_names[i]);
	if (json_is_string(cl) || json_is_array(cl)) {
		er_buf_puts(b, "<p><code data-timing=\"1\">");
		if (json_is_string(cl))
			esc(b, json_string_value(cl));
		for (size_t i = 0; json_is_array(cl) && i < json_array_size(cl); i++) {
			if (i)
				er_buf_putc(b, ' ');
			esc(b, json_string_value(json_array_get(cl, i)));
		}
		er_buf_puts(b, "</code></p>\n");
	}
	er_buf_puts(b, "</header>\n");
}

static void render_run(er_buf *b, const json_t *s)
{
	const json_t *lanes = json_object_get(s, "lanes");
	double scored = jget_num(s, "rows_scored", 0), red = jget_num(lanes, "RED", 0);
	er_buf_puts(b, "<section id=\"run\"><h2>Run</h2><div class=\"kpis\">");
	kpi(b, NULL, "rows read", "rows_read", json_object_get(s, "rows_read"), -1, NULL, 0);
	kpi(b, NULL, "rows scored", "rows_scored", json_object_get(s, "rows_scored"), -1, NULL, 0);
	kpi(b, jget_num(s, "rows_rejected", 0) > 0 ? "warn" : NULL, "rows rejected", "rows_rejected",
	    json_object_get(s, "rows_rejected"), -1, NULL, 0);
	if (lanes) {
		er_buf_puts(b, "<div class=\"kpi red\"><small>RED share</small><b>");
		pct(b, red, scored);
		er_buf_puts(b, "</b></div>");
	}
	if (json_object_get(s, "consolidations"))
		kpi(b, NULL, "consolidations listed", "consolidations", json_object_get(s, "consolidations"),
		    -1, NULL, 0);
	kpi(b, NULL, "elapsed", "elapsed_s", json_object_get(s, "elapsed_s"), 2, "s", 1);
	kpi(b, NULL, "rows per second", "rows_per_s", json_object_get(s, "rows_per_s"), -1, NULL, 1);
	if (json_object_get(s, "mb_per_s"))
		kpi(b, NULL, "MB/s (CSV)", "mb_per_s", json_object_get(s, "mb_per_s"), 1, NULL, 1);
	if (json_object_get(s, "threads"))
		kpi(b, NULL, "threads", "threads", json_object_get(s, "threads"), -1, NULL, 1);
	er_buf_puts(b, "</div>\n");

	const json_t *files = json_object_get(s, "files");
	if (json_is_array(files)) {
		er_buf_puts(b, "<h3>Files</h3><div class=\"tw\"><table><tr><th>file</th><th>status</th>"
		               "<th class=\"num\">rows read</th><th class=\"num\">scored</th>"
		               "<th class=\"num\">rejected</th><th class=\"num\">bytes in</th></tr>\n");
		char key[64];
		for (size_t i = 0; i < json_array_size(files); i++) {
			const json_t *f = json_array_get(files, i);
			const char *status = jget_str(f, "status");
			er_buf_puts(b, "<tr><td class=\"wrap\">");
			esc(b, jget_str(f, "path"));
			er_buf_printf(b, "</td><td class=\"status-%s\">", status && !strcmp(status, "ok") ? "ok" : "failed");
			esc(b, status);
			if (jget_str(f, "error")) {
				er_buf_puts(b, "<br><small>");
				esc(b, jget_str(f, "error"));
				er_buf_puts(b, "</small>");
			}
			er_buf_puts(b, "</td>");
			static const char *const cols[] = { "rows_read", "rows_scored", "rows_rejected", "bytes_in" };
			for (int c = 0; c < 4; c++) {
				snprintf(key, sizeof key, "files.%zu.%s", i, cols[c]);
				er_buf_puts(b, "<td class=\"num\">");
				mark_num(b, key, json_object_get(f, cols[c]), -1, NULL);
				er_buf_puts(b, "</td>");
			}
			er_buf_puts(b, "</tr>\n");
		}
		er_buf_puts(b, "</table></div>\n");
	}
	er_buf_puts(b, "</section>\n");
}

static void render_lanes_reasons(er_buf *b, const json_t *s)
{
	const json_t *lanes = json_object_get(s, "lanes");
	if (json_is_object(lanes)) {
		static const char *const order[] = { "RED", "YELLOW", "GREEN" };
		bar bars[3];
		char keys[3][32];
		int n = 0;
		double total = 0;
		for (int i = 0; i < 3; i++) {
			const json_t *v = json_object_get(lanes, order[i]);
			if (!v)
				continue;
			snprintf(keys[n], sizeof keys[n], "lanes.%s", order[i]);
			bars[n] = (bar){ order[i], keys[n], v, jget_num(lanes, order[i], 0), lane_colour(order[i]) };
			total += bars[n].value;
			n++;
		}
		er_buf_puts(b, "<section id=\"lanes\"><h2>Lanes</h2>\n");
		svg_bars(b, "Shipments per lane", bars, n, total);
		er_buf_puts(b, "</section>\n");
	}
	const json_t *reasons = json_object_get(s, "reasons");
	if (json_is_object(reasons)) {
		size_t n = json_object_size(reasons);
		bar *bars = calloc(n ? n : 1, sizeof *bars);
		char (*keys)[64] = calloc(n ? n : 1, sizeof *keys);
		if (!bars || !keys) {
			free(bars);
			free(keys);
			return;
		}
		int k = 0;
		const char *name;
		json_t *v;
		er_buf zero = { 0 };
		json_object_foreach((json_t *)reasons, name, v) {
			double d;
			if (jnum(v, &d) < 0)
				continue;
			if (d <= 0) {
				if (zero.len)
					er_buf_puts(&zero, ", ");
				esc(&zero, name);
				continue;
			}
			snprintf(keys[k], sizeof keys[k], "reasons.%s", name);
			bars[k] = (bar){ name, keys[k], v, d, "#1f5f9e" };
			/* most frequent first; ties keep the summary's order */
			int j = k++;
			while (j > 0 && bars[j - 1].value < bars[j].value) {
				bar t = bars[j];
				bars[j] = bars[j - 1];
				bars[j - 1] = t;
				j--;
			}
		}
		er_buf_puts(b, "<section id=\"reasons\"><h2>Reason codes</h2>\n"
		               "<p class=\"sub\">Shipments on which each reason fired (a shipment has several), "
		               "share of scored rows.</p>\n");
		svg_bars(b, "Shipments per reason code", bars, k, jget_num(s, "rows_scored", 0));
		if (zero.len) {
			er_buf_puts(b, "<p class=\"na\">Did not fire: ");
			er_buf_append(b, zero.p, zero.len);
			er_buf_puts(b, ".</p>\n");
		}
		er_buf_puts(b, "</section>\n");
		er_buf_free(&zero);
		free(bars);
		free(keys);
	}
}

static void render_rejects(er_buf *b, const json_t *s)
{
	const json_t *by = json_object_get(s, "rejects_by_reason");
	const json_t *first = json_object_get(s, "first_rejects");
	er_buf_puts(b, "<section id=\"rejects\"><h2>Rejects</h2>\n");
	if (!json_is_object(by) || json_object_size(by) == 0) {
		er_buf_puts(b, "<p>No row was rejected.</p></section>\n");
		return;
	}
	er_buf_puts(b, "<div class=\"tw\"><table><tr><th>reason</th><th class=\"num\">rows</th>"
	               "<th>first lines</th></tr>\n");
	const char *name;
	json_t *v;
	char key[96];
	json_object_foreach((json_t *)by, name, v) {
		er_buf_puts(b, "<tr><td>");
		esc(b, name);
		er_buf_puts(b, "</td><td class=\"num\">");
		snprintf(key, sizeof key, "rejects_by_reason.%s", name);
		mark_num(b, key, v, -1, NULL);
		er_buf_puts(b, "</td><td>");
		const json_t *lst = json_object_get(first, name);
		for (size_t i = 0; json_is_array(lst) && i < json_array_size(lst); i++) {
			const json_t *e = json_array_get(lst, i);
			er_buf_puts(b, i ? "<br><code>" : "<code>");
			esc(b, jget_str(e, "file"));
			er_buf_printf(b, ":%.0f</code>", jget_num(e, "line", 0));
			if (jget_str(e, "detail")) {
				er_buf_puts(b, " ");
				esc(b, jget_str(e, "detail"));
			}
		}
		er_buf_puts(b, "</td></tr>\n");
	}
	er_buf_puts(b, "</table></div>\n");
	if (!first)
		er_buf_puts(b, "<p class=\"na\">This summary does not list the rejected lines: see the rejects file.</p>\n");
	er_buf_puts(b, "</section>\n");
}

static void cell_text(er_buf *b, const char *cls, const char *v, const char *mark, int row)
{
	er_buf_printf(b, "<td%s%s%s", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
	if (mark)
		er_buf_printf(b, " data-c=\"%d.%s\"", row, mark);
	er_buf_puts(b, ">");
	esc(b, v ? v : "");
	er_buf_puts(b, "</td>");
}

/* A count from a CSV: separators in the text, the raw value in data-v. */
static void cell_count(er_buf *b, const char *v, const char *mark, int row)
{
	char *end;
	errno = 0;
	long long n = v && *v ? strtoll(v, &end, 10) : 0;
	if (!v || !*v || *end || errno) {
		cell_text(b, "num", v, mark, row);
		return;
	}
	char f[48];
	er_buf_puts(b, "<td class=\"num\"");
	if (mark)
		er_buf_printf(b, " data-c=\"%d.%s\"", row, mark);
	er_buf_printf(b, " data-v=\"%lld\">%s</td>", n, fmt_int(f, sizeof f, n));
}

static void render_consolidations(er_buf *b, const json_t *s, const er_report_top *t)
{
	const json_t *lo = json_object_get(s, "consolidations_left_out");
	if (!t && !json_object_get(s, "consolidations"))
		return;
	er_buf_puts(b, "<section id=\"consolidations\"><h2>Riskiest LCL consolidations</h2>\n");
	if (json_object_get(s, "consolidations")) {
		er_buf_puts(b, "<p>The consolidations output lists ");
		mark_num(b, "consolidations", json_object_get(s, "consolidations"), -1, NULL);
		if (json_object_get(s, "consolidations_found")) {
			er_buf_puts(b, " of ");
			mark_num(b, "consolidations_found", json_object_get(s, "consolidations_found"), -1, NULL);
			er_buf_puts(b, " found");
		}
		er_buf_puts(b, " consolidations");
		if (json_is_object(lo)) {
			er_buf_puts(b, "; left out: ");
			mark_num(b, "consolidations_left_out.single_house_bill",
			         json_object_get(lo, "single_house_bill"), -1, NULL);
			er_buf_puts(b, " with a single house bill, ");
			mark_num(b, "consolidations_left_out.beyond_top", json_object_get(lo, "beyond_top"), -1, NULL);
			er_buf_puts(b, " beyond the top");
			if (json_object_get(s, "consolidations_top")) {
				er_buf_puts(b, " ");
				mark_num(b, "consolidations_top", json_object_get(s, "consolidations_top"), -1, NULL);
				er_buf_puts(b, " (--top)");
			}
		}
		er_buf_puts(b, ".</p>\n");
	}
	if (!t) {
		er_buf_puts(b, "</section>\n");
		return;
	}
	if (t->nrows == 0) {
		er_buf_puts(b, "<p>No consolidation of two or more house bills.</p></section>\n");
		return;
	}
	char f[48];
	er_buf_printf(b, "<p>Top %d of the <span data-c=\"lcl\" data-v=\"%llu\">%s</span> consolidation%s "
	              "of two or more house bills in the output, by exam probability. The driver is the house bill "
	              "whose exam is most likely; <i>without driver</i> is the probability once it is "
	              "taken out.</p>\n", t->nrows, (unsigned long long)t->qualifying,
	              fmt_int(f, sizeof f, (long long)t->qualifying), t->qualifying == 1 ? "" : "s");
	er_buf_puts(b, "<div class=\"tw\"><table><tr><th>consolidation</th><th>container</th>"
	               "<th class=\"num\">house bills</th><th class=\"num\">shippers</th><th>lane</th>"
	               "<th class=\"num\">max score</th><th class=\"num\">exam prob.</th><th>driver</th>"
	               "<th class=\"num\">without driver</th><th class=\"num\">uncertified</th></tr>\n");
	for (int i = 0; i < t->nrows; i++) {
		char *const *c = t->rows[i].cell;
		er_buf_puts(b, "<tr>");
		cell_text(b, "code", c[C_CONSOL], "consolidation", i);
		cell_text(b, "code", c[C_CONT], NULL, i);
		cell_count(b, c[C_SHIP], "shipments", i);
		cell_count(b, c[C_SHIPPERS], NULL, i);
		er_buf_puts(b, "<td>");
		if (c[C_LANE]) {
			const char *l = c[C_LANE];
			int known = !strcmp(l, "RED") || !strcmp(l, "YELLOW") || !strcmp(l, "GREEN");
			er_buf_printf(b, "<span class=\"lane %s\">", known ? l : "");
			esc(b, l);
			er_buf_puts(b, "</span>");
		}
		er_buf_puts(b, "</td>");
		cell_text(b, "num", c[C_MAXSCORE], NULL, i);
		er_buf_printf(b, "<td class=\"num\" data-c=\"%d.exam_probability\" data-v=\"", i);
		esc(b, c[C_PROB]);
		er_buf_printf(b, "\">%.1f%%</td>", 100 * num_or(c[C_PROB], 0));
		cell_text(b, "code", c[C_DRIVER], "driver_shipment_id", i);
		if (c[C_WITHOUT])
			er_buf_printf(b, "<td class=\"num\">%.1f%%</td>", 100 * num_or(c[C_WITHOUT], 0));
		else
			er_buf_puts(b, "<td></td>");
		cell_count(b, c[C_UNCERT], "uncertified_shipments", i);
		er_buf_puts(b, "</tr>\n");
	}
	er_buf_puts(b, "</table></div></section>\n");
}

static void render_partners(er_buf *b, const er_report_top *t)
{
	er_buf_puts(b, "<section id=\"partners\"><h2>Non-compliant partners by volume</h2>\n");
	char f[48], g[48];
	er_buf_printf(b, "<p><span data-p=\"noncompliant\" data-v=\"%llu\">%s</span> of "
	              "<span data-p=\"parties\" data-v=\"%llu\">%s</span> parties in the partner audit "
	              "are not compliant%s</p>\n",
	              (unsigned long long)t->qualifying, fmt_int(f, sizeof f, (long long)t->qualifying),
	              (unsigned long long)t->total, fmt_int(g, sizeof g, (long long)t->total),
	              t->nrows ? "; the largest by shipments:" : ".");
	if (t->nrows) {
		er_buf_puts(b, "<div class=\"tw\"><table><tr><th>party</th><th>name</th><th>country</th>"
		               "<th>roles</th><th class=\"num\">shipments</th><th class=\"num\">non-compliant</th>"
		               "<th>program</th><th>status</th></tr>\n");
		for (int i = 0; i < t->nrows; i++) {
			char *const *c = t->rows[i].cell;
			er_buf_puts(b, "<tr>");
			cell_text(b, "code", c[P_PARTY], "party", i);
			cell_text(b, NULL, c[P_NAME], NULL, i);
			cell_text(b, NULL, c[P_COUNTRY], NULL, i);
			cell_text(b, NULL, c[P_ROLES], NULL, i);
			cell_count(b, c[P_SHIP], "shipments", i);
			cell_count(b, c[P_NONC], "noncompliant_shipments", i);
			cell_text(b, NULL, c[P_PROGRAM], NULL, i);
			cell_text(b, NULL, c[P_STATUS], NULL, i);
			er_buf_puts(b, "</tr>\n");
		}
		er_buf_puts(b, "</table></div>\n");
	}
	er_buf_puts(b, "</section>\n");
}

/* Calibration figures: only when the summary says the rules were fitted. */
static void render_calibration(er_buf *b, const json_t *s)
{
	const char *key = "calibration";
	const json_t *c = json_object_get(s, "calibration");
	const json_t *rules = json_object_get(s, "rules");
	if (!c && json_is_object(rules) && (c = json_object_get(rules, "calibration")))
		key = "rules.calibration";
	/* or on the rules entry of the sources list */
	char skey[64];
	const json_t *src = json_object_get(s, "sources");
	for (size_t i = 0; !c && json_is_array(src) && i < json_array_size(src); i++) {
		const json_t *e = json_array_get(src, i);
		const char *role = jget_str(e, "role");
		if (role && !strcmp(role, "rules") && (c = json_object_get(e, "calibration"))) {
			snprintf(skey, sizeof skey, "sources.%zu.calibration", i);
			key = skey;
		}
	}
	if (!c || json_is_null(c) || json_is_false(c))
		return;
	er_buf_puts(b, "<section id=\"calibration\"><h2>Calibration</h2>\n"
	               "<p class=\"sub\">The rules used were fitted; what they were fitted on and the fit's figures.</p>\n");
	render_any(b, c, key, 0);
	er_buf_puts(b, "</section>\n");
}

/* Tables, rules, outputs and the engine's backends, when the summary carries them. */
static void render_inputs(er_buf *b, const json_t *s)
{
	/* the names today's and coming summaries use (sources: tables and rules
	 * with their checksums; engine: version and backends) */
	static const char *const keys[] = { "sources", "tables", "rules", "outputs", "engine", "backends" };
	int any = 0;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const json_t *v = json_object_get(s, keys[i]);
		if (!v)
			continue;
		if (!any)
			er_buf_puts(b, "<section id=\"inputs\"><h2>Tables, rules and outputs</h2>\n");
		any = 1;
		er_buf_printf(b, "<h3>%s</h3>\n", keys[i]);
		if (json_is_object(v) && !strcmp(keys[i], "rules") && json_object_get(v, "calibration")) {
			/* calibration has its own section */
			json_t *copy = json_copy((json_t *)v);
			json_object_del(copy, "calibration");
			render_any(b, copy, keys[i], 0);
			json_decref(copy);
		} else {
			render_any(b, v, keys[i], 0);
		}
	}
	if (any)
		er_buf_puts(b, "</section>\n");
}

int er_report_write(const er_report_in *in, er_emit_fn emit, void *ctx, char *err, size_t errlen)
{
	json_error_t je;
	const char *name = in->summary_name ? in->summary_name : "summary";
	json_t *s = json_loadb(in->summary, in->summary_len, 0, &je);
	if (!s) {
		er_errf(err, errlen, "%s:%d: not a JSON summary: %s", name, je.line, je.text);
		return -1;
	}
	if (!json_is_object(s) || !json_object_get(s, "rows_read")) {
		er_errf(err, errlen, "%s: not an examrisk summary (no rows_read)", name);
		json_decref(s);
		return -1;
	}
	point *pts = NULL;
	int np = 0, skipped = 0, rc = -1;
	er_buf b = { 0 };
	if (in->history_dir &&
	    load_points(in->history_dir, in->history_max > 0 ? in->history_max : ER_HISTORY_DEFAULT_MAX,
	                in->summary, in->summary_len, s, &pts, &np, &skipped, err, errlen) < 0)
		goto out;
	render_head(&b, s, name);
	render_run(&b, s);
	render_lanes_reasons(&b, s);
	render_rejects(&b, s);
	if (in->history_dir)
		render_trend(&b, pts, np, skipped, in->history_dir);
	render_consolidations(&b, s, in->consol);
	if (in->partners)
		render_partners(&b, in->partners);
	render_calibration(&b, s);
	render_inputs(&b, s);
	er_buf_puts(&b, "<footer>Written by examrisk ");
	esc(&b, ER_VERSION_STRING);
	er_buf_puts(&b, " (examrisk report). Every figure comes from the run's summary and outputs.</footer>\n"
	                "</main></body></html>\n");
	/* appends in between fail silently when memory runs out; the last one
	 * fails too then, in practice (the page is a few hundred KB at most) */
	if (er_buf_putc(&b, '\0') < 0) {
		er_errf(err, errlen, "report: out of memory");
		goto out;
	}
	b.len--;
	if (emit(ctx, b.p, b.len) < 0) {
		er_errf(err, errlen, "report: write failed: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < np; i++)
		json_decref(pts[i].j);
	free(pts);
	er_buf_free(&b);
	json_decref(s);
	return rc;
}
