/* er_ams.c - the CBP AMS release joined into canonical rows (see er_ams.h).
 *
 * Phases, all streaming:
 *  1. discover: ams__TABLE_PERIOD.csv[.gz] in every directory; each period
 *     must hold every required table. Files of one table are read as one
 *     stream (period, then name order).
 *  2. check: each table is read once to check its header columns and whether
 *     its identifiers never decrease. Sorted tables are read again during
 *     the join (a merge join, nothing stored); the others are read into an
 *     external sort, keyed by identifier, stable in input order.
 *  3. join: one pass over `header` in identifier order advances a cursor on
 *     every other table. The joined row waits in a spool file (identifier
 *     order); (master bill, container, identifier) keys of house bills go to
 *     a grouping sort.
 *  4. group: identifiers of house bills that share a master bill and a
 *     container with another house bill go to a last sort (LCL).
 *  5. output: the spool and the LCL identifiers, both in identifier order,
 *     give the canonical rows.
 *
 * A table record in a cursor is packed: u16 file, u64 line, then each
 * projected field as u32 length + bytes. */
#include "er_ams.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_commit.h"
#include "er_extsort.h"
#include "er_log.h"
#include "er_parse.h"
#include "er_pipeline.h"
#include "er_reader.h"
#include "er_spill.h"
#include "er_split.h"
#include "er_util.h"
#include "er_work.h"
#include "er_writer.h"

const char er_ams_header[] =
	"shipment_id,arrival_date,master_bill,container_id,load_type,mode,lading_port,"
	"unlading_port,origin_country,shipper_country,importer_id,importer_name,shipper_id,"
	"shipper_name,manufacturer_id,consignee_name,carrier_scac,forwarder_id,hs_code,"
	"description,declared_value_usd,gross_weight_kg,quantity,filed_at,departure_at,"
	"notify_party_name\n";

enum { T_HEADER, T_BILL, T_SHIPPER, T_CONSIGNEE, T_NOTIFY, T_CONTAINER, T_DESC, T_TARIFF, NT };
#define MAXF 8

/* Projected columns per table (after identifier). */
enum { H_CARRIER, H_UNLADING, H_EST, H_LADING, H_WEIGHT, H_WUNIT, H_ACT, H_QTY };
enum { B_MASTER, B_HOUSE };
enum { D_SEQ, D_TEXT };

static const struct tdef {
	const char *name;
	int optional;
	int ncols;
	const char *cols[MAXF];
} g_tables[NT] = {
	[T_HEADER] = { "header", 0, 8, { "carrier_code", "port_of_unlading", "estimated_arrival_date",
	                                 "foreign_port_of_lading", "weight", "weight_unit",
	                                 "actual_arrival_date", "manifest_quantity" } },
	[T_BILL] = { "billgen", 0, 2, { "master_bol_number", "house_bol_number" } },
	[T_SHIPPER] = { "shipper", 0, 2, { "shipper_party_name", "country_code" } },
	[T_CONSIGNEE] = { "consignee", 0, 1, { "consignee_name" } },
	[T_NOTIFY] = { "notifyparty", 1, 1, { "notify_party_name" } },
	[T_CONTAINER] = { "container", 0, 1, { "container_number" } },
	[T_DESC] = { "cargodesc", 0, 2, { "description_sequence_number", "description_text" } },
	[T_TARIFF] = { "tariff", 0, 2, { "description_sequence_number", "harmonized_number" } },
};

/* Tables of the release examrisk does not need (recognized, not read). */
static const char *const g_unused[] = { "marksnumbers", "hazmat", "hazmatclass" };

#define MAX_FIELD (1u << 20)
#define MAX_RECORD (16u << 20)
#define CHUNK (1u << 20)
#define MAX_RAW 512
#define NOTES 10
#define WBUF (1u << 20)
#define MAX_ID 256 /* identifiers are short numbers; anything longer is not one */

typedef struct amsfile {
	char *path;
	char *period;
	int table;
} amsfile;

/* A buffered sequential file on an er_spill (the spool, the rejects). */
typedef struct seqf {
	er_spill sp;
	er_buf w;
	uint64_t roff;               /* read position */
	er_buf r;
	size_t rpos;
} seqf;

/* One table read as a stream of records (files in order). */
typedef struct trd {
	int table;
	int *files;                  /* indexes into a->files */
	int nfiles, cur;
	er_reader *rd;
	er_splitter *sp;
	er_parser *ps;
	er_recbuf rb;
	uint32_t ri;
	int nf;                      /* fields in this file's header */
	int col[MAXF + 1];           /* field index of identifier, then the projected columns */
	int report;                  /* report rejects (off during the order check) */
	er_buf key, val;             /* the current record, packed */
} trd;

/* A table in identifier order: read directly (sorted) or from a sort. */
typedef struct cursor {
	trd t;
	er_extsort *s;
	int valid;
	const char *key, *val;
	size_t klen, vlen;
} cursor;

struct er_ams {
	er_ams_opts o;
	er_log log;                  /* notes, as the pipeline's (er_log.h) */
	amsfile *files;
	int nfiles;
	char prefix[1000][3];        /* Schedule K prefix (3 digits) -> ISO country */
	int have_prefix[1000];
	cursor c[NT];
	int have[NT];
	er_extsort *group, *lcl;
	seqf spool, rej;
	int phase;                   /* 0 header row, 1 rows, 2 done */
	er_buf out;
	size_t outpos;
	int lcl_valid;
	const char *lkey;
	size_t lklen;
	er_buf lprev;
	er_ams_stats st;
	uint64_t notes;
	char err[1024];
	int failed;
	/* per-bill scratch */
	er_buf row, conts, descs, tars, tmp, first_g, rbuf, ntfs;
};

/* ------------------------------------------------------------ helpers */

static void set_err(er_ams *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(er_ams *a, const char *fmt, ...)
{
	if (a->failed)
		return;
	a->failed = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->err, sizeof a->err, fmt, ap);
	va_end(ap);
}

static int nomem(er_ams *a)
{
	set_err(a, "out of memory");
	return -1;
}

static int io_err(er_ams *a, const char *what)
{
	set_err(a, "%s (spill in %s): %s", what,
	        a->o.tmpdir ? a->o.tmpdir : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
	return -1;
}

static int key_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);
	return c ? c : na < nb ? -1 : na > nb;
}

static int put32(er_buf *b, size_t v)
{
	uint32_t x = (uint32_t)v;
	return er_buf_append(b, &x, 4);
}

static uint32_t get32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Unpacked cursor record. */
typedef struct rec {
	int file;
	uint64_t line;
	er_field f[MAXF];
} rec;

static void unpack(const char *v, size_t n, int nf, rec *r)
{
	uint16_t fi;
	memcpy(&fi, v, 2);
	memcpy(&r->line, v + 2, 8);
	r->file = fi;
	size_t pos = 10;
	for (int i = 0; i < nf && pos + 4 <= n; i++) {
		uint32_t l = get32(v + pos);
		r->f[i].p = v + pos + 4;
		r->f[i].n = l;
		pos += 4 + l;
	}
}

/* ------------------------------------------------------- sequential files */

static int seq_put(seqf *s, const char *p, size_t n)
{
	if (er_buf_append(&s->w, p, n) < 0)
		return -1;
	if (s->w.len >= WBUF) {
		if (er_spill_append(&s->sp, s->w.p, s->w.len, NULL) < 0)
			return -1;
		s->w.len = 0;
	}
	return 0;
}

static int seq_flush(seqf *s)
{
	if (s->w.len && er_spill_append(&s->sp, s->w.p, s->w.len, NULL) < 0)
		return -1;
	s->w.len = 0;
	return 0;
}

/* Make n bytes available at s->r.p + s->rpos. 1, 0 at the end, -1 error. */
static int seq_need(seqf *s, size_t n)
{
	size_t have = s->r.len - s->rpos;
	if (have >= n)
		return 1;
	uint64_t left = s->sp.end - s->roff;
	if (!left)
		return have ? (errno = EIO, -1) : 0;
	if (have)
		memmove(s->r.p, s->r.p + s->rpos, have);
	s->r.len = have;
	s->rpos = 0;
	size_t want = n > WBUF ? n : WBUF;
	if (er_buf_reserve(&s->r, want) < 0)
		return -1;
	size_t k = s->r.cap - s->r.len;
	if (k > left)
		k = (size_t)left;
	if (er_spill_pread(&s->sp, s->r.p + s->r.len, k, s->roff) < 0)
		return -1;
	s->r.len += k;
	s->roff += k;
	return seq_need(s, n);
}

static void seq_free(seqf *s)
{
	er_spill_close(&s->sp);
	er_buf_free(&s->w);
	er_buf_free(&s->r);
}

/* ---------------------------------------------------------------- rejects */

static const char *fname(const er_ams *a, int fi)
{
	return a->files[fi].path;
}

static void reject(er_ams *a, int fi, uint64_t line, const char *reason, const char *detail,
                   const char *raw, size_t rawn)
{
	a->st.rejects++;
	if (!a->o.quiet && a->notes < NOTES) {
		a->notes++;
		er_log_msg(&a->log, ER_LOG_WARNING, "%s:%llu: rejected: %s%s%s%s", fname(a, fi),
		           (unsigned long long)line, reason, detail ? " (" : "", detail ? detail : "",
		           detail ? ")" : "");
	}
	er_buf *b = &a->rbuf;
	b->len = 0;
	er_buf_csv_field(b, fname(a, fi), strlen(fname(a, fi)), ',');
	er_buf_printf(b, ",%llu,%s,", (unsigned long long)line, reason);
	if (rawn > MAX_RAW)
		rawn = MAX_RAW;
	er_buf_csv_field(b, raw, rawn, ',');
	er_buf_putc(b, '\n');
	if (seq_put(&a->rej, b->p, b->len) < 0)
		io_err(a, "rejects");
}

int er_ams_write_rejects(er_ams *a, int (*emit)(void *ctx, const char *p, size_t n), void *ctx)
{
	if (seq_flush(&a->rej) < 0)
		return -1;
	char buf[1 << 16];
	for (uint64_t off = 0; off < a->rej.sp.end;) {
		size_t n = a->rej.sp.end - off < sizeof buf ? (size_t)(a->rej.sp.end - off) : sizeof buf;
		if (er_spill_pread(&a->rej.sp, buf, n, off) < 0 || emit(ctx, buf, n) < 0)
			return -1;
		off += n;
	}
	return 0;
}

/* --------------------------------------------------------- table reading */

static void trd_close_file(trd *t)
{
	er_splitter_free(t->sp);
	er_reader_close(t->rd);
	t->sp = NULL;
	t->rd = NULL;
}

/* Open the next file of the table and map its header. 1 opened, 0 no more
 * files, -1 fatal. */
static int trd_open_next(er_ams *a, trd *t)
{
	trd_close_file(t);
	if (t->cur >= t->nfiles)
		return 0;
	int fi = t->files[t->cur++];
	const char *path = fname(a, fi);
	char err[512];
	if (er_reader_open(path, &t->rd, err, sizeof err) != ER_OK) {
		set_err(a, "%s", err);
		return -1;
	}
	er_split_opts so = { .delim = ',', .chunk_bytes = CHUNK, .max_record = MAX_RECORD, .max_raw = MAX_RAW };
	t->sp = er_splitter_new(er_reader_read_fn, t->rd, &so);
	if (!t->sp)
		return nomem(a);
	t->rb.n = 0;
	t->ri = 0;
	int n = er_splitter_next(t->sp, &t->rb);
	if (n < 0) {
		set_err(a, "%s", er_splitter_nomem(t->sp) ? "out of memory" : er_reader_error(t->rd));
		return -1;
	}
	if (n == 0) {
		set_err(a, "%s: empty file: no header row", path);
		return -1;
	}
	const er_rec *h = &t->rb.recs[0];
	const er_field *f;
	int rej = 0;
	int nf = h->reject ? -1 : er_parser_record(t->ps, t->rb.buf + h->off, h->len, h->flags & ER_REC_QUOTED, &f, &rej);
	if (nf < 0) {
		set_err(a, "%s:%llu: unreadable header row (%s)", path, (unsigned long long)h->line,
		        er_reject_name(h->reject ? h->reject : rej));
		return -1;
	}
	const struct tdef *d = &g_tables[t->table];
	for (int c = 0; c <= d->ncols; c++) {
		const char *want = c ? d->cols[c - 1] : "identifier";
		t->col[c] = -1;
		for (int i = 0; i < nf; i++) {
			er_field x = f[i];
			er_trim(&x.p, &x.n);
			if (er_ieq(x.p, x.n, want)) {
				t->col[c] = i;
				break;
			}
		}
		if (t->col[c] < 0) {
			set_err(a, "%s:%llu: missing column '%s' (table %s)", path, (unsigned long long)h->line,
			        want, d->name);
			return -1;
		}
	}
	t->nf = nf;
	t->ri = 1;
	return 1;
}

static int trd_start(er_ams *a, trd *t, int report)
{
	t->cur = 0;
	t->report = report;
	if (!t->ps && !(t->ps = er_parser_new(',', MAX_FIELD)))
		return nomem(a);
	return trd_open_next(a, t) < 0 ? -1 : 0;
}

/* Next good record of the table, packed into t->key / t->val. 1, 0 at the
 * end, -1 fatal. Bad records are rejects (when t->report). */
static int trd_next(er_ams *a, trd *t)
{
	for (;;) {
		if (!t->rd)
			return 0;
		if (a->o.cancel && __atomic_load_n(a->o.cancel, __ATOMIC_RELAXED)) {
			set_err(a, "interrupted; nothing written");
			return -1;
		}
		if (t->ri >= t->rb.n) {
			int n = er_splitter_next(t->sp, &t->rb);
			t->ri = 0;
			if (n < 0) {
				set_err(a, "%s", er_splitter_nomem(t->sp) ? "out of memory" : er_reader_error(t->rd));
				return -1;
			}
			if (n == 0) {
				int o = trd_open_next(a, t);
				if (o <= 0)
					return o;
			}
			continue;
		}
		const er_rec *r = &t->rb.recs[t->ri++];
		int fi = t->files[t->cur - 1];
		const char *raw = t->rb.buf + r->off;
		if (r->reject) {
			if (t->report)
				reject(a, fi, r->line, er_reject_name(r->reject), NULL, raw, r->len);
			continue;
		}
		const er_field *f;
		int rej = 0;
		int nf = er_parser_record(t->ps, raw, r->len, r->flags & ER_REC_QUOTED, &f, &rej);
		if (nf < 0 || nf != t->nf) {
			if (t->report) {
				char d[64];
				snprintf(d, sizeof d, "%d fields, expected %d", nf, t->nf);
				reject(a, fi, r->line, er_reject_name(nf < 0 ? rej : ER_REJ_FIELD_COUNT),
				       nf < 0 ? NULL : d, raw, r->len);
			}
			continue;
		}
		er_field id = f[t->col[0]];
		er_trim(&id.p, &id.n);
		if (!id.n || id.n > MAX_ID) {
			if (t->report)
				reject(a, fi, r->line, id.n ? "invalid_value" : "missing_required", "identifier", raw,
				       r->len);
			continue;
		}
		t->key.len = 0;
		t->val.len = 0;
		if (er_buf_append(&t->key, id.p, id.n) < 0 || er_buf_reserve(&t->val, 10) < 0)
			return nomem(a);
		uint16_t f16 = (uint16_t)fi;
		er_buf_append(&t->val, &f16, 2);
		er_buf_append(&t->val, &r->line, 8);
		const struct tdef *d = &g_tables[t->table];
		for (int c = 1; c <= d->ncols; c++) {
			er_field x = f[t->col[c]];
			er_trim(&x.p, &x.n);
			if (er_buf_reserve(&t->val, 4 + x.n) < 0)
				return nomem(a);
			put32(&t->val, x.n);
			er_buf_append(&t->val, x.p, x.n);
		}
		a->st.rows[t->table] += t->report;
		return 1;
	}
}

/* ---------------------------------------------------------------- cursors */

static int cur_next(er_ams *a, cursor *c)
{
	if (c->s) {
		int r = er_extsort_next(c->s, &c->key, &c->klen, &c->val, &c->vlen);
		if (r < 0)
			return io_err(a, "AMS sort");
		c->valid = r;
		return 0;
	}
	int r = trd_next(a, &c->t);
	if (r < 0)
		return -1;
	c->valid = r;
	if (r) {
		c->key = c->t.key.p;
		c->klen = c->t.key.len;
		c->val = c->t.val.p;
		c->vlen = c->t.val.len;
	}
	return 0;
}

/* Check the table's order (no rejects reported), then prepare its cursor:
 * direct when sorted, else through an external sort. */
static int cur_prepare(er_ams *a, cursor *c, size_t budget)
{
	trd *t = &c->t;
	if (trd_start(a, t, 0) < 0)
		return -1;
	er_buf prev = {0};
	int sorted = 1, r;
	while ((r = trd_next(a, t)) > 0) {
		if (prev.len && key_cmp(prev.p, prev.len, t->key.p, t->key.len) > 0) {
			sorted = 0;
			break;
		}
		prev.len = 0;
		if (er_buf_append(&prev, t->key.p, t->key.len) < 0) {
			er_buf_free(&prev);
			return nomem(a);
		}
	}
	er_buf_free(&prev);
	trd_close_file(t);
	if (r < 0)
		return -1;
	if (trd_start(a, t, 1) < 0)
		return -1;
	if (sorted) {
		a->st.sorted_tables++;
		return cur_next(a, c);
	}
	a->st.sorted_externally++;
	if (!(c->s = er_extsort_new(budget, a->o.tmpdir)))
		return nomem(a);
	while ((r = trd_next(a, t)) > 0)
		if (er_extsort_add(c->s, t->key.p, t->key.len, t->val.p, t->val.len) < 0)
			return errno == ENOMEM ? nomem(a) : io_err(a, "AMS sort");
	trd_close_file(t);
	if (r < 0)
		return -1;
	if (er_extsort_finish(c->s) < 0)
		return io_err(a, "AMS sort");
	a->st.spilled_bytes += er_extsort_spilled(c->s);
	return cur_next(a, c);
}

/* ----------------------------------------------------------- discovery */

static int file_cmp(const void *x, const void *y)
{
	const amsfile *a = x, *b = y;
	if (a->table != b->table)
		return a->table - b->table;
	int c = strcmp(a->period, b->period);
	return c ? c : strcmp(a->path, b->path);
}

/* "ams__TABLE_PERIOD.csv[.gz]": table index (or -2 for a known unused
 * table, -1 for anything else) and the period. */
static int parse_name(const char *name, char *period, size_t cap)
{
	if (strncmp(name, "ams__", 5))
		return -1;
	const char *t = name + 5, *us = strchr(t, '_');
	if (!us)
		return -1;
	size_t tl = (size_t)(us - t);
	const char *p = us + 1;
	size_t n = strlen(p);
	if (n > 7 && !strcmp(p + n - 7, ".csv.gz"))
		n -= 7;
	else if (n > 4 && !strcmp(p + n - 4, ".csv"))
		n -= 4;
	else
		return -1;
	if (!n || n >= cap)
		return -1;
	memcpy(period, p, n);
	period[n] = '\0';
	for (int i = 0; i < NT; i++)
		if (strlen(g_tables[i].name) == tl && !strncmp(t, g_tables[i].name, tl))
			return i;
	for (size_t i = 0; i < sizeof g_unused / sizeof *g_unused; i++)
		if (strlen(g_unused[i]) == tl && !strncmp(t, g_unused[i], tl))
			return -2;
	return -1;
}

static int discover(er_ams *a)
{
	int cap = 0;
	for (int d = 0; d < a->o.ndirs; d++) {
		const char *dir = a->o.dirs[d];
		DIR *dh = opendir(dir);
		if (!dh) {
			set_err(a, "%s: %s", dir, strerror(errno));
			return -1;
		}
		struct dirent *e;
		while ((e = readdir(dh))) {
			char period[256];
			int t = parse_name(e->d_name, period, sizeof period);
			if (t < 0 || (a->o.period && fnmatch(a->o.period, period, 0) != 0))
				continue;
			if (a->nfiles == cap) {
				cap = cap ? 2 * cap : 32;
				amsfile *f = realloc(a->files, (size_t)cap * sizeof *f);
				if (!f) {
					closedir(dh);
					return nomem(a);
				}
				a->files = f;
			}
			amsfile *f = &a->files[a->nfiles];
			size_t n = strlen(dir) + strlen(e->d_name) + 2;
			f->path = malloc(n);
			f->period = strdup(period);
			if (!f->path || !f->period) {
				free(f->path);
				free(f->period);
				closedir(dh);
				return nomem(a);
			}
			snprintf(f->path, n, "%s/%s", dir, e->d_name);
			f->table = t;
			a->nfiles++;
		}
		closedir(dh);
	}
	if (a->nfiles > 65535) {
		set_err(a, "AMS release: %d table files; at most 65535 are supported", a->nfiles);
		return -1;
	}
	if (!a->nfiles) {
		set_err(a, "%s%s: no AMS table files (ams__TABLE_PERIOD.csv or .csv.gz)%s%s", a->o.dirs[0],
		        a->o.ndirs > 1 ? " ..." : "", a->o.period ? " for --period " : "",
		        a->o.period ? a->o.period : "");
		return -1;
	}
	qsort(a->files, (size_t)a->nfiles, sizeof *a->files, file_cmp);
	/* every period holds every required table */
	for (int i = 0; i < a->nfiles; i++) {
		const char *p = a->files[i].period;
		int seen = 0;
		for (int j = 0; j < i && !seen; j++)
			seen = !strcmp(a->files[j].period, p);
		if (seen)
			continue;
		for (int t = 0; t < NT; t++) {
			if (g_tables[t].optional)
				continue;
			int found = 0;
			for (int j = 0; j < a->nfiles && !found; j++)
				found = a->files[j].table == t && !strcmp(a->files[j].period, p);
			if (!found) {
				set_err(a, "AMS release %s%s: period %s has no '%s' table (expected ams__%s_%s.csv or .csv.gz)",
				        a->o.dirs[0], a->o.ndirs > 1 ? " ..." : "", p, g_tables[t].name,
				        g_tables[t].name, p);
				return -1;
			}
		}
	}
	for (int t = 0; t < NT; t++) {
		trd *r = &a->c[t].t;
		r->table = t;
		r->files = calloc((size_t)a->nfiles, sizeof *r->files);
		if (!r->files)
			return nomem(a);
		for (int i = 0; i < a->nfiles; i++)
			if (a->files[i].table == t)
				r->files[r->nfiles++] = i;
		a->have[t] = r->nfiles > 0;
	}
	return 0;
}

/* ------------------------------------------------------------ Schedule K */

/* data/schedule_k.csv: '#' comment lines, a header row, then
 * prefix,country,schedule_c,note rows. */
static int load_schedule_k(er_ams *a)
{
	const char *path = a->o.schedule_k;
	FILE *f = fopen(path, "r");
	if (!f) {
		set_err(a, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[1024];
	unsigned ln = 0;
	int header = 1;
	while (fgets(line, sizeof line, f)) {
		ln++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (header) {
			header = 0;
			continue;
		}
		if (!(line[0] >= '0' && line[0] <= '9' && line[1] >= '0' && line[1] <= '9' && line[2] >= '0' &&
		      line[2] <= '9' && line[3] == ',' && line[4] >= 'A' && line[4] <= 'Z' && line[5] >= 'A' &&
		      line[5] <= 'Z' && line[6] == ',')) {
			fclose(f);
			set_err(a, "%s:%u: expected prefix,country,... (3 digits, ISO alpha-2)", path, ln);
			return -1;
		}
		int p = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (a->have_prefix[p]) {
			fclose(f);
			set_err(a, "%s:%u: prefix %.3s listed twice", path, ln, line);
			return -1;
		}
		a->have_prefix[p] = 1;
		a->prefix[p][0] = line[4];
		a->prefix[p][1] = line[5];
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		set_err(a, "%s: read error", path);
		return -1;
	}
	return 0;
}

/* Country of a foreign port code: Schedule K (5 digits) by its prefix; a
 * UN/LOCODE (2 letters + 3) by its letters. Empty when unknown. */
static er_field lading_country(er_ams *a, er_field p)
{
	er_field none = { "", 0 };
	if (p.n == 5 && p.p[0] >= '0' && p.p[0] <= '9') {
		for (int i = 0; i < 5; i++)
			if (p.p[i] < '0' || p.p[i] > '9')
				return none;
		int k = (p.p[0] - '0') * 100 + (p.p[1] - '0') * 10 + (p.p[2] - '0');
		if (a->have_prefix[k])
			return (er_field){ a->prefix[k], 2 };
		a->st.unknown_lading++;
		return none;
	}
	if (p.n == 5 && p.p[0] >= 'A' && p.p[0] <= 'Z' && p.p[1] >= 'A' && p.p[1] <= 'Z')
		return (er_field){ p.p, 2 };
	if (p.n)
		a->st.unknown_lading++;
	return none;
}

/* ------------------------------------------------------------------ open */

er_status er_ams_open(const er_ams_opts *o, er_ams **out, char *err, size_t errlen)
{
	*out = NULL;
	er_ams *a = calloc(1, sizeof *a);
	if (!a) {
		er_errf(err, errlen, "out of memory");
		return ER_E_NOMEM;
	}
	a->o = *o;
	er_log_init(&a->log, o->log, o->log_ctx, o->quiet);
	a->spool.sp.fd = a->rej.sp.fd = -1;
	a->spool.sp.dir = a->rej.sp.dir = o->tmpdir;
	size_t mem = o->memory ? o->memory : ER_AMS_DEFAULT_MEMORY;
	size_t budget = mem / (NT + 2);
	er_status st = ER_E_FORMAT;
	if (o->ndirs < 1) {
		set_err(a, "no AMS directory given");
		st = ER_E_USAGE;
		goto fail;
	}
	if (load_schedule_k(a) < 0 || discover(a) < 0)
		goto fail;
	for (int t = 0; t < NT; t++)
		if (a->have[t] && cur_prepare(a, &a->c[t], budget) < 0)
			goto fail;
	if (!(a->group = er_extsort_new(budget, o->tmpdir)) || !(a->lcl = er_extsort_new(budget, o->tmpdir))) {
		nomem(a);
		goto fail;
	}
	*out = a;
	return ER_OK;
fail:
	er_errf(err, errlen, "%s", a->err);
	if (!strcmp(a->err, "out of memory"))
		st = ER_E_NOMEM;
	er_ams_free(a);
	return st;
}

void er_ams_free(er_ams *a)
{
	if (!a)
		return;
	er_log_destroy(&a->log);
	for (int t = 0; t < NT; t++) {
		trd *r = &a->c[t].t;
		trd_close_file(r);
		er_parser_free(r->ps);
		er_recbuf_free(&r->rb);
		er_buf_free(&r->key);
		er_buf_free(&r->val);
		free(r->files);
		er_extsort_free(a->c[t].s);
	}
	for (int i = 0; i < a->nfiles; i++) {
		free(a->files[i].path);
		free(a->files[i].period);
	}
	free(a->files);
	er_extsort_free(a->group);
	er_extsort_free(a->lcl);
	seq_free(&a->spool);
	seq_free(&a->rej);
	er_buf *bufs[] = { &a->out, &a->lprev, &a->row, &a->conts, &a->descs, &a->tars, &a->tmp, &a->first_g, &a->rbuf, &a->ntfs };
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
		er_buf_free(bufs[i]);
	free(a);
}

const char *er_ams_error(const er_ams *a)
{
	return a->err;
}

void er_ams_get_stats(const er_ams *a, er_ams_stats *st)
{
	*st = a->st;
}

/* ------------------------------------------------------------- mapping */

int er_ams_weight_kg(const char *num, size_t nn, const char *unit, size_t nu, char out[32])
{
	double v, f;
	if (er_parse_number(num, nn, &v) < 0)
		return -1;
	if (er_ieq(unit, nu, "KG") || er_ieq(unit, nu, "KGS") || er_ieq(unit, nu, "K") ||
	    er_ieq(unit, nu, "KILOGRAM") || er_ieq(unit, nu, "KILOGRAMS"))
		f = 1.0;
	else if (er_ieq(unit, nu, "LB") || er_ieq(unit, nu, "LBS") || er_ieq(unit, nu, "L") ||
	         er_ieq(unit, nu, "POUND") || er_ieq(unit, nu, "POUNDS"))
		f = 0.45359237;
	else
		return -1;
	int n = snprintf(out, 32, "%.3f", v * f);
	if (n < 0 || n >= 32)
		return -1;
	while (n > 0 && out[n - 1] == '0')
		n--;
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n;
}

/* A date as published: YYYY-MM-DD, optionally followed by a time. */
static int ams_date(er_field f, char out[11])
{
	int32_t day;
	if (f.n < 10 || er_parse_date(f.p, 10, &day) < 0)
		return -1;
	if (f.n > 10) {
		int64_t secs;
		if ((f.p[10] != ' ' && f.p[10] != 'T') || er_parse_timestamp(f.p, f.n, &secs) < 0)
			return -1;
	}
	memcpy(out, f.p, 10);
	out[10] = '\0';
	return 0;
}

/* Sequence number: digits; empty sorts after every numbered line. */
static int seq_num(er_field f, uint64_t *v)
{
	if (!f.n) {
		*v = UINT64_MAX;
		return 0;
	}
	uint64_t x = 0;
	for (size_t i = 0; i < f.n; i++) {
		if (f.p[i] < '0' || f.p[i] > '9' || x > UINT64_MAX / 10 - 10)
			return -1;
		x = x * 10 + (uint64_t)(f.p[i] - '0');
	}
	*v = x;
	return 0;
}

/* Lines of one bill (descriptions or tariff): u64 seq, u32 ordinal, u32 len, bytes. */
typedef struct line_ref {
	uint64_t seq;
	uint32_t ord;
	const char *p;
	uint32_t n;
} line_ref;

static int line_cmp(const void *x, const void *y)
{
	const line_ref *a = x, *b = y;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->ord < b->ord ? -1 : a->ord > b->ord;
}

/* Add one cargodesc/tariff row of the bill to b. 0, or -1 out of memory. */
static int add_line(er_ams *a, er_buf *b, const rec *r, int textcol, uint32_t ord)
{
	uint64_t s;
	if (seq_num(r->f[D_SEQ], &s) < 0) {
		reject(a, r->file, r->line, "invalid_number", "description_sequence_number", r->f[D_SEQ].p, r->f[D_SEQ].n);
		return 0;
	}
	er_field t = r->f[textcol];
	if (!t.n)
		return 0;
	if (er_buf_reserve(b, 16 + t.n) < 0)
		return -1;
	er_buf_append(b, &s, 8);
	er_buf_append(b, &ord, 4);
	put32(b, t.n);
	er_buf_append(b, t.p, t.n);
	return 0;
}

/* The lines in b in (sequence, input) order; *n of them, malloc'd. */
static line_ref *sorted_lines(const er_buf *b, size_t *n)
{
	size_t k = 0;
	for (size_t pos = 0; pos < b->len; k++)
		pos += 16 + get32(b->p + pos + 12);
	*n = k;
	if (!k)
		return NULL;
	line_ref *v = malloc(k * sizeof *v);
	if (!v)
		return NULL;
	size_t i = 0;
	for (size_t pos = 0; pos < b->len; i++) {
		memcpy(&v[i].seq, b->p + pos, 8);
		memcpy(&v[i].ord, b->p + pos + 8, 4);
		v[i].n = get32(b->p + pos + 12);
		v[i].p = b->p + pos + 16;
		pos += 16 + v[i].n;
	}
	qsort(v, k, sizeof *v, line_cmp);
	return v;
}

static int csvf(er_buf *b, er_field f)
{
	return er_buf_csv_field(b, f.p, f.n, ',');
}

/* ----------------------------------------------------------------- join */

/* Rows of table t before identifier id (or all that are left when id is
 * NULL) are not in `header`. */
static int skip_orphans(er_ams *a, int t, const char *id, size_t idn)
{
	cursor *c = &a->c[t];
	while (c->valid && (!id || key_cmp(c->key, c->klen, id, idn) < 0)) {
		rec r;
		unpack(c->val, c->vlen, g_tables[t].ncols, &r);
		reject(a, r.file, r.line, "identifier_not_in_header", g_tables[t].name, c->key, c->klen);
		if (cur_next(a, c) < 0)
			return -1;
	}
	return 0;
}

/* One bill: gather the other tables' rows of identifier id, write the joined
 * row (without load_type) to the spool and its grouping keys to a->group. */
static int join_bill(er_ams *a, const char *id, size_t idn, const rec *h)
{
	rec one[NT];
	int have1[NT] = { 0 };
	a->conts.len = a->descs.len = a->tars.len = a->ntfs.len = 0;
	uint32_t ord = 0;
	int dead = 0, oom = 0, rc = 0;

	/* header fields first: a bill whose header row is invalid is rejected whole */
	char arr[11] = "", kg[32] = "";
	int kgn = 0;
	er_field act = h->f[H_ACT], est = h->f[H_EST];
	er_field wf = h->f[H_WEIGHT], wu = h->f[H_WUNIT];
	if (act.n && ams_date(act, arr) < 0) {
		reject(a, h->file, h->line, "invalid_date", "actual_arrival_date", id, idn);
		dead = 1;
	} else if (est.n && ams_date(est, act.n ? (char[11]){ 0 } : arr) < 0) {
		reject(a, h->file, h->line, "invalid_date", "estimated_arrival_date", id, idn);
		dead = 1;
	} else if (!act.n && !est.n) {
		reject(a, h->file, h->line, "missing_required", "actual_arrival_date and estimated_arrival_date", id, idn);
		dead = 1;
	} else if (wf.n && (kgn = er_ams_weight_kg(wf.p, wf.n, wu.p, wu.n, kg)) < 0) {
		int badnum = er_parse_number(wf.p, wf.n, &(double){ 0 }) < 0;
		reject(a, h->file, h->line, badnum ? "invalid_number" : "invalid_value",
		       badnum ? "weight" : "weight_unit", id, idn);
		dead = 1;
	}

	for (int t = 1; t < NT; t++) {
		cursor *c = &a->c[t];
		if (!a->have[t])
			continue;
		if (skip_orphans(a, t, id, idn) < 0) {
			rc = -1;
			goto out;
		}
		while (c->valid && key_cmp(c->key, c->klen, id, idn) == 0) {
			rec r;
			unpack(c->val, c->vlen, g_tables[t].ncols, &r);
			if (dead) {
				a->st.rows_of_rejected_bills++;
			} else if (t == T_CONTAINER) {
				er_field k = r.f[0];
				int dup = 0;
				for (size_t pos = 0; k.n && pos < a->conts.len && !dup; pos += 4 + get32(a->conts.p + pos))
					dup = get32(a->conts.p + pos) == k.n && !memcmp(a->conts.p + pos + 4, k.p, k.n);
				if (k.n && !dup)
					oom |= put32(&a->conts, k.n) < 0 || er_buf_append(&a->conts, k.p, k.n) < 0;
			} else if (t == T_NOTIFY) {
				/* a bill may name several notify parties: keep each
				 * distinct name, in the table's order, '|'-separated */
				er_field k = r.f[0];
				int dup = 0;
				for (size_t pos = 0; k.n && pos < a->ntfs.len && !dup;) {
					const char *e = memchr(a->ntfs.p + pos, '|', a->ntfs.len - pos);
					size_t l = e ? (size_t)(e - (a->ntfs.p + pos)) : a->ntfs.len - pos;
					dup = l == k.n && !memcmp(a->ntfs.p + pos, k.p, k.n);
					pos += l + 1;
				}
				if (k.n && !dup)
					oom |= (a->ntfs.len && er_buf_putc(&a->ntfs, '|') < 0) ||
					       er_buf_append(&a->ntfs, k.p, k.n) < 0;
			} else if (t == T_DESC || t == T_TARIFF) {
				oom |= add_line(a, t == T_DESC ? &a->descs : &a->tars, &r, 1, ord++) < 0;
			} else if (have1[t]) {
				reject(a, r.file, r.line, "duplicate_identifier", g_tables[t].name, id, idn);
			} else {
				/* the record lives in the cursor: copy what we keep */
				have1[t] = 1;
				one[t] = r;
				for (int i = 0; i < g_tables[t].ncols; i++) {
					char *cp = malloc(r.f[i].n ? r.f[i].n : 1);
					if (!cp) {
						one[t].f[i].p = NULL;
						for (int k = i + 1; k < g_tables[t].ncols; k++)
							one[t].f[k].p = NULL;
						rc = nomem(a);
						goto out;
					}
					memcpy(cp, r.f[i].p, r.f[i].n);
					one[t].f[i].p = cp;
				}
			}
			if (cur_next(a, c) < 0) {
				rc = -1;
				goto out;
			}
		}
	}
	if (oom) {
		rc = nomem(a);
		goto out;
	}
	if (dead)
		goto out;

	er_field none = { "", 0 };
	er_field master = have1[T_BILL] ? one[T_BILL].f[B_MASTER] : none;
	er_field house = have1[T_BILL] ? one[T_BILL].f[B_HOUSE] : none;
	er_field sid = house.n ? house : master.n ? master : (er_field){ id, idn };
	er_field cont = a->conts.len ? (er_field){ a->conts.p + 4, get32(a->conts.p) } : none;
	er_buf *b = &a->row;
	b->len = 0;
	/* spool record: u32 id length, id, u8 has container, u32 part A length,
	 * A (up to load_type), u32 part B length, B (from mode on) */
	oom |= put32(b, idn) < 0;
	oom |= er_buf_append(b, id, idn) < 0;
	oom |= er_buf_putc(b, (char)(cont.n > 0)) < 0;
	size_t alen_at = b->len;
	oom |= put32(b, 0) < 0;
	size_t a0 = b->len;
	oom |= csvf(b, sid) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= er_buf_append(b, arr, 10) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= csvf(b, master) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= csvf(b, cont) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	uint32_t alen = (uint32_t)(b->len - a0);
	if (!oom)
		memcpy(b->p + alen_at, &alen, 4);
	size_t blen_at = b->len;
	oom |= put32(b, 0) < 0;
	size_t b0 = b->len;
	er_field lading = h->f[H_LADING];
	er_field shn = have1[T_SHIPPER] ? one[T_SHIPPER].f[0] : none;
	er_field shc = have1[T_SHIPPER] ? one[T_SHIPPER].f[1] : none;
	er_field con = have1[T_CONSIGNEE] ? one[T_CONSIGNEE].f[0] : none;
	er_field ntf = { a->ntfs.len ? a->ntfs.p : "", a->ntfs.len };
	oom |= er_buf_puts(b, ",vessel,") < 0;
	oom |= csvf(b, lading) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= csvf(b, h->f[H_UNLADING]) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= csvf(b, lading_country(a, lading)) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= csvf(b, shc) < 0;
	oom |= er_buf_puts(b, ",,") < 0; /* importer_id: AMS has names only */
	oom |= csvf(b, con) < 0;         /* importer_name: the consignee */
	oom |= er_buf_puts(b, ",,") < 0;
	oom |= csvf(b, shn) < 0;
	oom |= er_buf_puts(b, ",,") < 0;
	oom |= csvf(b, con) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= csvf(b, h->f[H_CARRIER]) < 0;
	oom |= er_buf_puts(b, ",,") < 0;
	/* hs_code: the first by sequence, dots and spaces dropped */
	size_t nl = 0;
	line_ref *v = sorted_lines(&a->tars, &nl);
	if (nl && !v) {
		rc = nomem(a);
		goto out;
	}
	for (size_t i = 0; i < nl; i++) {
		a->tmp.len = 0;
		for (uint32_t k = 0; k < v[i].n; k++)
			if (v[i].p[k] != '.' && v[i].p[k] != ' ' && v[i].p[k] != '-')
				oom |= er_buf_putc(&a->tmp, v[i].p[k]) < 0;
		if (a->tmp.len) {
			oom |= er_buf_csv_field(b, a->tmp.p, a->tmp.len, ',') < 0;
			break;
		}
	}
	free(v);
	oom |= er_buf_putc(b, ',') < 0;
	/* description: the lines in sequence order, joined by one space */
	v = sorted_lines(&a->descs, &nl);
	if (nl && !v) {
		rc = nomem(a);
		goto out;
	}
	a->tmp.len = 0;
	for (size_t i = 0; i < nl; i++) {
		if (a->tmp.len)
			oom |= er_buf_putc(&a->tmp, ' ') < 0;
		oom |= er_buf_append(&a->tmp, v[i].p, v[i].n) < 0;
	}
	free(v);
	oom |= er_buf_csv_field(b, a->tmp.p, a->tmp.len, ',') < 0;
	oom |= er_buf_puts(b, ",,") < 0; /* declared_value_usd: not in AMS */
	oom |= er_buf_append(b, kg, (size_t)(kgn > 0 ? kgn : 0)) < 0;
	oom |= er_buf_putc(b, ',') < 0;
	oom |= csvf(b, h->f[H_QTY]) < 0;
	oom |= er_buf_puts(b, ",,,") < 0; /* filed_at, departure_at: not in AMS */
	oom |= csvf(b, ntf) < 0;
	oom |= er_buf_putc(b, '\n') < 0;
	if (oom) {
		rc = nomem(a);
		goto out;
	}
	uint32_t blen = (uint32_t)(b->len - b0);
	memcpy(b->p + blen_at, &blen, 4);  /* oom was checked above */
	if (seq_put(&a->spool, b->p, b->len) < 0) {
		rc = io_err(a, "AMS spool");
		goto out;
	}
	a->st.bills++;
	/* grouping keys: master \0 container \0 identifier, for house bills */
	if (house.n && master.n) {
		for (size_t pos = 0; pos < a->conts.len; pos += 4 + get32(a->conts.p + pos)) {
			a->tmp.len = 0;
			oom |= er_buf_append(&a->tmp, master.p, master.n) < 0 || er_buf_putc(&a->tmp, '\0') < 0;
			oom |= er_buf_append(&a->tmp, a->conts.p + pos + 4, get32(a->conts.p + pos)) < 0 ||
			       er_buf_putc(&a->tmp, '\0') < 0;
			size_t glen = a->tmp.len;
			oom |= er_buf_append(&a->tmp, id, idn) < 0;
			if (oom) {
				rc = nomem(a);
				goto out;
			}
			if (er_extsort_add(a->group, a->tmp.p, a->tmp.len, a->tmp.p, glen) < 0) {
				rc = errno == ENOMEM ? nomem(a) : io_err(a, "AMS sort");
				goto out;
			}
		}
	}
out:
	for (int t = 1; t < NT; t++)
		if (have1[t])
			for (int i = 0; i < g_tables[t].ncols; i++)
				free((void *)one[t].f[i].p);
	return rc;
}

/* Phases 3 and 4: the whole join, then the LCL identifiers. */
static int join_all(er_ams *a)
{
	cursor *hc = &a->c[T_HEADER];
	er_buf prev = {0};
	int rc = 0;
	while (hc->valid) {
		rec h;
		unpack(hc->val, hc->vlen, g_tables[T_HEADER].ncols, &h);
		if (prev.len && key_cmp(prev.p, prev.len, hc->key, hc->klen) == 0) {
			reject(a, h.file, h.line, "duplicate_identifier", "header", hc->key, hc->klen);
		} else {
			prev.len = 0;
			er_buf_append(&prev, hc->key, hc->klen);
			if (join_bill(a, prev.p, prev.len, &h) < 0) {
				rc = -1;
				break;
			}
		}
		if (cur_next(a, hc) < 0 || a->failed) {
			rc = -1;
			break;
		}
	}
	er_buf_free(&prev);
	if (rc < 0)
		return -1;
	for (int t = 1; t < NT; t++)
		if (a->have[t] && skip_orphans(a, t, NULL, 0) < 0)
			return -1;
	if (seq_flush(&a->spool) < 0)
		return io_err(a, "AMS spool");
	/* free the table sorts before the grouping sorts fill */
	for (int t = 0; t < NT; t++) {
		er_extsort_free(a->c[t].s);
		a->c[t].s = NULL;
	}
	if (er_extsort_finish(a->group) < 0)
		return io_err(a, "AMS sort");
	const char *k, *gv;
	size_t kn, gn;
	er_buf g = {0}; /* current group (master \0 container \0) */
	uint64_t members = 0;
	int r;
	while ((r = er_extsort_next(a->group, &k, &kn, &gv, &gn)) > 0) {
		const char *id = k + gn;
		size_t idn = kn - gn;
		if (g.len != gn || memcmp(g.p, gv, gn)) {
			g.len = 0;
			er_buf_append(&g, gv, gn);
			members = 0;
		}
		members++;
		if (members == 1) {
			a->first_g.len = 0;
			er_buf_append(&a->first_g, id, idn);
			continue;
		}
		if (members == 2 && er_extsort_add(a->lcl, a->first_g.p, a->first_g.len, NULL, 0) < 0)
			break;
		if (er_extsort_add(a->lcl, id, idn, NULL, 0) < 0)
			break;
	}
	er_buf_free(&g);
	a->st.spilled_bytes += er_extsort_spilled(a->group);
	if (r != 0)
		return io_err(a, "AMS grouping sort");
	er_extsort_free(a->group);
	a->group = NULL;
	if (er_extsort_finish(a->lcl) < 0)
		return io_err(a, "AMS sort");
	const char *lv;
	size_t ln;
	r = er_extsort_next(a->lcl, &a->lkey, &a->lklen, &lv, &ln);
	if (r < 0)
		return io_err(a, "AMS sort");
	a->lcl_valid = r;
	return 0;
}

/* Is identifier id one of the LCL ones? (both streams in identifier order) */
static int is_lcl(er_ams *a, const char *id, size_t idn)
{
	const char *lv;
	size_t ln;
	while (a->lcl_valid && key_cmp(a->lkey, a->lklen, id, idn) < 0) {
		int r = er_extsort_next(a->lcl, &a->lkey, &a->lklen, &lv, &ln);
		if (r < 0)
			return io_err(a, "AMS sort");
		a->lcl_valid = r;
	}
	return a->lcl_valid && key_cmp(a->lkey, a->lklen, id, idn) == 0;
}

/* Next canonical row into a->out. 1, 0 at the end, -1 error. */
static int next_row(er_ams *a)
{
	seqf *s = &a->spool;
	if (a->o.cancel && __atomic_load_n(a->o.cancel, __ATOMIC_RELAXED)) {
		set_err(a, "interrupted; nothing written");
		return -1;
	}
	int r = seq_need(s, 4);
	if (r <= 0)
		return r < 0 ? io_err(a, "AMS spool") : 0;
	uint32_t idn = get32(s->r.p + s->rpos);
	if (seq_need(s, 4 + idn + 1 + 4) <= 0)
		return io_err(a, "AMS spool");
	uint32_t alen = get32(s->r.p + s->rpos + 4 + idn + 1);
	if (seq_need(s, 4 + idn + 1 + 4 + alen + 4) <= 0)
		return io_err(a, "AMS spool");
	uint32_t blen = get32(s->r.p + s->rpos + 4 + idn + 1 + 4 + alen);
	size_t total = 4 + idn + 1 + 4 + alen + 4 + blen;
	if (seq_need(s, total) <= 0)
		return io_err(a, "AMS spool");
	const char *p = s->r.p + s->rpos;
	int lcl = is_lcl(a, p + 4, idn);
	if (lcl < 0)
		return -1;
	int hascont = p[4 + idn];
	if (er_buf_reserve(&a->out, alen + 3 + blen) < 0)
		return nomem(a);
	er_buf_append(&a->out, p + 4 + idn + 1 + 4, alen);
	if (lcl || hascont)
		er_buf_append(&a->out, lcl ? "LCL" : "FCL", 3);
	er_buf_append(&a->out, p + 4 + idn + 1 + 4 + alen + 4, blen);
	s->rpos += total;
	return 1;
}

ssize_t er_ams_read(void *ctx, char *buf, size_t cap)
{
	er_ams *a = ctx;
	if (a->failed)
		return -1;
	while (a->out.len - a->outpos < cap && a->phase < 2) {
		if (a->outpos) {
			memmove(a->out.p, a->out.p + a->outpos, a->out.len - a->outpos);
			a->out.len -= a->outpos;
			a->outpos = 0;
		}
		if (a->phase == 0) {
			if (join_all(a) < 0)
				return -1;
			if (er_buf_puts(&a->out, er_ams_header) < 0)
				return nomem(a);
			a->phase = 1;
			continue;
		}
		int r = next_row(a);
		if (r < 0)
			return -1;
		if (r == 0)
			a->phase = 2;
	}
	size_t n = a->out.len - a->outpos;
	if (n > cap)
		n = cap;
	if (n)
		memcpy(buf, a->out.p + a->outpos, n);
	a->outpos += n;
	return (ssize_t)n;
}

/* --------------------------------------------------------- examrisk ams */

static int emit_out(void *ctx, const char *p, size_t n)
{
	return er_out_write(ctx, p, n);
}

er_status er_ams_write(const er_ams_opts *o, const char *out_path, const char *rejects_path,
                       er_ams_stats *st, char *err, size_t errlen)
{
	er_ams *a = NULL;
	er_commit *cm = NULL;
	er_outfile out = { .fd = -1 }, rej = { .fd = -1 };
	const char *names[2] = { out_path, rejects_path };
	const char **ins = NULL;
	/* unsafe output names first (no table is read for a usage error), then
	 * the lock, then the release, then the outputs against its table files */
	er_status s = er_commit_check(names, 2, NULL, 0, err, errlen);
	if (s == ER_OK)
		s = er_commit_begin(&cm, names, 2, o->wait_lock, NULL, err, errlen);
	if (s == ER_OK)
		s = er_ams_open(o, &a, err, errlen);
	if (s == ER_OK) {
		ins = malloc((size_t)(a->nfiles ? a->nfiles : 1) * sizeof *ins);
		if (!ins) {
			er_errf(err, errlen, "out of memory");
			s = ER_E_NOMEM;
		}
	}
	if (s == ER_OK) {
		for (int i = 0; i < a->nfiles; i++)
			ins[i] = a->files[i].path;
		s = er_commit_check(names, 2, ins, a->nfiles, err, errlen);
	}
	if (s != ER_OK)
		goto out;
	s = ER_E_IO;
	int gz = out_path && strlen(out_path) > 3 && !strcmp(out_path + strlen(out_path) - 3, ".gz");
	int rgz = rejects_path && strlen(rejects_path) > 3 &&
	          !strcmp(rejects_path + strlen(rejects_path) - 3, ".gz");
	if (er_out_open(&out, out_path, 0, 0, err, errlen) != ER_OK ||
	    (rejects_path && er_out_open(&rej, rejects_path, 0, rgz ? ER_GZ_FAST : 0, err, errlen) != ER_OK))
		goto out;
	char *buf = malloc(CHUNK);
	er_buf z = {0};
	if (!buf) {
		s = ER_E_NOMEM;
		er_errf(err, errlen, "out of memory");
		goto out;
	}
	ssize_t n;
	while ((n = er_ams_read(a, buf, CHUNK)) > 0) {
		const char *p = buf;
		size_t len = (size_t)n;
		if (gz) { /* one gzip member per chunk, like score's .gz outputs */
			z.len = 0;
			if (er_gzip_member(&z, buf, len, ER_GZ_FAST) < 0) {
				n = -1;
				er_errf(err, errlen, "out of memory");
				break;
			}
			p = z.p;
			len = z.len;
		}
		if (er_out_write(&out, p, len) < 0) {
			er_errf(err, errlen, "%s: %s", er_out_name(&out), strerror(out.err));
			n = -2;
			break;
		}
	}
	free(buf);
	er_buf_free(&z);
	if (n == -1 && a->failed)
		er_errf(err, errlen, "%s", a->err);
	if (n < 0)
		goto out;
	if (rejects_path) {
		const char h[] = "file,line,reason,raw\n";
		if (er_out_write(&rej, h, sizeof h - 1) < 0 || er_ams_write_rejects(a, emit_out, &rej) < 0 || rej.err) {
			er_errf(err, errlen, "%s: cannot write rejects", rejects_path);
			goto out;
		}
	}
	er_outfile *outs[] = { &out, &rej };
	if ((s = er_commit_run(cm, outs, 2, err, errlen)) != ER_OK)
		goto out;
	if (st)
		er_ams_get_stats(a, st);
out:
	er_out_abort(&out);
	er_out_abort(&rej);
	er_commit_end(cm);
	free(ins);
	er_ams_free(a);
	return s;
}
