/* er_partners.c - the partner audit (`examrisk partners`, see er_rollup.h).
 *
 * Each scored row names up to five parties (importer, shipper, manufacturer,
 * carrier, forwarder). The writer resolves each against the participants
 * table and folds it into one aggregate per party: roles, shipments,
 * shipments on whose date it was not in good standing, first and last
 * arrival. Rows of the file being read are staged apart and folded into the
 * committed table only when the file checks out.
 *
 * Memory grows with the number of distinct parties, not with rows. */
#include "er_rollup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "er_table.h"
#include "er_verify.h"

/* ============================================================ row record */

/* Record layout (native byte order; produced and consumed in one process):
 *   i32 arrival day, u8 party count, then per party:
 *   u8 role, u8 kind, then 3 strings (u32 length + bytes): key, name, country.
 * kind K_ID: key = the party id, name = the row's name for that role, if any.
 * kind K_NAME: key = the name as given (no id on the row). */
enum { K_ID = 0, K_NAME = 1 };
/* Aggregates are keyed by (kind, key): K_ID for a table party, K_NAME for a
 * name that matched none, K_UNMATCHED_ID for an id that matched none. */
enum { K_UNMATCHED_ID = 2 };
enum { PSTR_KEY, PSTR_NAME, PSTR_CC, PSTR_N };

static int put_str(er_buf *b, er_field f)
{
	if (f.n > UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	uint32_t l = (uint32_t)f.n;
	if (er_buf_append(b, &l, sizeof l) < 0)
		return -1;
	return f.n ? er_buf_append(b, f.p, f.n) : 0;
}

static int put_party(er_buf *b, int role, er_field id, er_field name, er_field cc, int *count)
{
	er_field none = { "", 0 };
	char hdr[2];
	hdr[0] = (char)role;
	if (id.n) {
		hdr[1] = K_ID;
	} else if (name.n) {
		hdr[1] = K_NAME;
		id = name;
		name = none;
	} else {
		return 0;
	}
	if (er_buf_append(b, hdr, 2) < 0 || put_str(b, id) < 0 || put_str(b, name) < 0 ||
	    put_str(b, cc) < 0)
		return -1;
	(*count)++;
	return 0;
}

int er_partners_encode(er_buf *b, const er_row *row, const er_result *res, uint64_t line)
{
	(void)res;
	(void)line;
	int32_t day;
	er_field ad = er_row_field(row, ER_COL_ARRIVAL_DATE);
	if (er_parse_date(ad.p, ad.n, &day) < 0)
		return 0; /* er_score_row validated it; nothing to audit otherwise */
	size_t start = b->len;
	er_field none = { "", 0 };
	er_field cc = er_row_field(row, ER_COL_SHIPPER_COUNTRY);
	if (!cc.n)
		cc = er_row_field(row, ER_COL_ORIGIN_COUNTRY);
	int count = 0;
	if (er_buf_append(b, &day, sizeof day) < 0 || er_buf_putc(b, 0) < 0)
		goto fail;
	size_t count_at = b->len - 1;
	if (put_party(b, ER_ROLE_IMPORTER, er_row_field(row, ER_COL_IMPORTER_ID),
	              er_row_field(row, ER_COL_IMPORTER_NAME), none, &count) < 0 ||
	    put_party(b, ER_ROLE_SHIPPER, er_row_field(row, ER_COL_SHIPPER_ID),
	              er_row_field(row, ER_COL_SHIPPER_NAME), cc, &count) < 0 ||
	    put_party(b, ER_ROLE_MANUFACTURER, er_row_field(row, ER_COL_MANUFACTURER_ID), none, none,
	              &count) < 0 ||
	    put_party(b, ER_ROLE_CARRIER, er_row_field(row, ER_COL_CARRIER_SCAC), none, none,
	              &count) < 0 ||
	    put_party(b, ER_ROLE_FORWARDER, er_row_field(row, ER_COL_FORWARDER_ID), none, none,
	              &count) < 0)
		goto fail;
	b->p[count_at] = (char)count;
	return 0;
fail:
	b->len = start;
	return -1;
}

typedef struct pref {
	int role, kind;
	er_field s[PSTR_N];
} pref;

/* Decode one row header at *pos: day and party count. 0 ok, -1 malformed. */
static int get_row(const char *p, size_t n, size_t *pos, int32_t *day, int *count)
{
	if (n - *pos < sizeof *day + 1)
		return -1;
	memcpy(day, p + *pos, sizeof *day);
	*count = (unsigned char)p[*pos + sizeof *day];
	*pos += sizeof *day + 1;
	return *count <= ER_NROLES ? 0 : -1;
}

static int get_party(const char *p, size_t n, size_t *pos, pref *r)
{
	size_t i = *pos;
	if (n - i < 2)
		return -1;
	r->role = (unsigned char)p[i];
	r->kind = (unsigned char)p[i + 1];
	if (r->role >= ER_NROLES || (r->kind != K_ID && r->kind != K_NAME))
		return -1;
	i += 2;
	for (int k = 0; k < PSTR_N; k++) {
		uint32_t l;
		if (n - i < sizeof l)
			return -1;
		memcpy(&l, p + i, sizeof l);
		i += sizeof l;
		if (n - i < l)
			return -1;
		r->s[k].p = p + i;
		r->s[k].n = l;
		i += l;
	}
	*pos = i;
	return 0;
}

/* ============================================================ hash index */

typedef struct hslot {
	uint64_t h;
	uint32_t v; /* entry index + 1; 0 = empty */
} hslot;

typedef struct hidx {
	hslot *s;
	size_t mask, n;
} hidx;

static int hidx_reserve(hidx *x)
{
	if (x->s && (x->n + 1) * 4 < (x->mask + 1) * 3)
		return 0;
	size_t cap = x->s ? (x->mask + 1) * 2 : 64;
	hslot *ns = calloc(cap, sizeof *ns);
	if (!ns)
		return -1;
	for (size_t i = 0; x->s && i <= x->mask; i++) {
		if (!x->s[i].v)
			continue;
		size_t j = (size_t)x->s[i].h & (cap - 1);
		while (ns[j].v)
			j = (j + 1) & (cap - 1);
		ns[j] = x->s[i];
	}
	free(x->s);
	x->s = ns;
	x->mask = cap - 1;
	return 0;
}

/* ============================================================ aggregates */

/* How strongly a party matched the table (enum er_match), for keeping the
 * strongest of its rows: an unknown id seen once with a member's name is
 * reported as a conflict. */
static int match_rank(int m)
{
	switch (m) {
	case ER_MATCH_ID: return 4;
	case ER_MATCH_NAME: return 3;
	case ER_MATCH_CONFLICT: return 2;
	case ER_MATCH_AMBIGUOUS: return 1;
	default: return 0;
	}
}
static const char *const role_names[ER_NROLES] = {
	"importer", "shipper", "manufacturer", "carrier", "forwarder",
};

typedef struct pagg {
	uint64_t h;
	uint64_t stamp;             /* last row counted (row number + 1) */
	const er_party *tp;         /* table party, NULL when not found */
	size_t key_off, name_off, cc_off;
	uint32_t key_len, name_len, cc_len;
	uint8_t kind, match, roles;
	uint64_t n, noncomp;
	int32_t first, last;
} pagg;

typedef struct ptab {
	pagg *a;
	size_t n, cap;
	hidx ix;
	er_buf text;
} ptab;

static void ptab_clear(ptab *t)
{
	t->n = 0;
	t->text.len = 0;
	if (t->ix.s)
		memset(t->ix.s, 0, (t->ix.mask + 1) * sizeof *t->ix.s);
	t->ix.n = 0;
}

static void ptab_free(ptab *t)
{
	free(t->a);
	free(t->ix.s);
	er_buf_free(&t->text);
}

static int text_add(er_buf *b, const char *p, size_t n, size_t *off, uint32_t *len)
{
	if (n > UINT32_MAX) {
		errno = ENOMEM;
		return -1;
	}
	*off = b->len;
	*len = (uint32_t)n;
	return er_buf_append(b, p, n);
}

/* Aggregate of party (kind, key), created empty when absent; -1 ENOMEM. */
static long long pagg_get(ptab *t, int kind, const char *k, size_t kn)
{
	uint64_t h = er_hash64(k, kn, 0x7061727479ull + (uint64_t)kind);
	size_t j = (size_t)h & t->ix.mask;
	for (; t->ix.s && t->ix.s[j].v; j = (j + 1) & t->ix.mask) {
		if (t->ix.s[j].h != h)
			continue;
		const pagg *a = &t->a[t->ix.s[j].v - 1];
		if (a->kind == kind && a->key_len == kn && memcmp(t->text.p + a->key_off, k, kn) == 0)
			return (long long)(t->ix.s[j].v - 1);
	}
	if (t->n >= UINT32_MAX - 1) {
		errno = ENOMEM;
		return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		pagg *na = realloc(t->a, cap * sizeof *na);
		if (!na)
			return -1;
		t->a = na;
		t->cap = cap;
	}
	if (hidx_reserve(&t->ix) < 0)
		return -1;
	pagg *a = &t->a[t->n];
	memset(a, 0, sizeof *a);
	a->h = h;
	a->kind = (uint8_t)kind;
	if (text_add(&t->text, k, kn, &a->key_off, &a->key_len) < 0)
		return -1;
	j = (size_t)h & t->ix.mask;
	while (t->ix.s[j].v)
		j = (j + 1) & t->ix.mask;
	t->ix.s[j].h = h;
	t->ix.s[j].v = (uint32_t)t->n + 1;
	t->ix.n++;
	return (long long)t->n++;
}

/* Keep the first non-empty display name / country of a party not in the table. */
static int keep_text(ptab *t, size_t idx, int which, const char *p, size_t n)
{
	pagg *a = &t->a[idx];
	uint32_t *len = which ? &a->cc_len : &a->name_len;
	if (*len || !n || a->tp)
		return 0;
	size_t off;
	uint32_t l;
	if (text_add(&t->text, p, n, &off, &l) < 0)
		return -1;
	a = &t->a[idx];
	if (which) {
		a->cc_off = off;
		a->cc_len = l;
	} else {
		a->name_off = off;
		a->name_len = l;
	}
	return 0;
}

/* ============================================================ collector */

struct er_partners {
	const er_tables *t;
	int err;          /* sticky */
	uint64_t rows;    /* rows merged so far */
	ptab done, stage; /* committed files; the file being read */
	er_buf key;       /* scratch: "name:" keys */
	er_buf cc;        /* scratch: upper-case country */
};

er_partners *er_partners_new(const er_tables *t)
{
	er_partners *p = calloc(1, sizeof *p);
	if (p)
		p->t = t;
	return p;
}

void er_partners_free(er_partners *p)
{
	if (!p)
		return;
	ptab_free(&p->done);
	ptab_free(&p->stage);
	er_buf_free(&p->key);
	er_buf_free(&p->cc);
	free(p);
}

/* Fold one party reference of a row (day, row number stamp) into the stage. */
static int add_party(er_partners *pp, const pref *r, int32_t day, uint64_t stamp)
{
	const er_tables *t = pp->t;
	const er_party *tp;
	int kind = K_ID;
	uint8_t match;
	const char *key;
	size_t kn;
	er_field cc = r->s[PSTR_CC];
	pp->cc.len = 0;
	for (size_t i = 0; i < cc.n; i++) {
		char c = cc.p[i];
		if (er_buf_putc(&pp->cc, (c >= 'a' && c <= 'z') ? (char)(c - 32) : c) < 0)
			return -1;
	}
	cc.p = pp->cc.p;
	/* the scorer's rule (er_tables_match): a given id decides */
	er_field name = r->kind == K_ID ? r->s[PSTR_NAME] : r->s[PSTR_KEY];
	er_id_probe q = r->kind == K_ID ? er_tables_id_start(t, r->s[PSTR_KEY].p, r->s[PSTR_KEY].n)
	                                : er_tables_id_start(t, NULL, 0);
	tp = er_tables_match(t, r->role, &q, name.p, name.n, cc.p, cc.n, &match);
	if (tp) {
		key = tp->id;
		kn = strlen(tp->id);
	} else if (r->kind == K_ID) {
		/* apart from a listed party of the same id in another role (a
		 * carrier's SCAC given as importer is not that carrier's row) */
		kind = K_UNMATCHED_ID;
		key = r->s[PSTR_KEY].p;
		kn = r->s[PSTR_KEY].n;
	} else {
		/* "name:" + normalized name (+ "/" + country) */
		size_t n = r->s[PSTR_KEY].n, cap = ER_NAME_NORM_CAP(n);
		er_buf *b = &pp->key;
		b->len = 0;
		if (er_buf_reserve(b, 5 + cap + 1 + cc.n) < 0)
			return -1;
		memcpy(b->p, "name:", 5);
		b->len = 5 + er_name_normalize(r->s[PSTR_KEY].p, n, b->p + 5, cap);
		if (cc.n && (er_buf_putc(b, '/') < 0 || er_buf_append(b, cc.p, cc.n) < 0))
			return -1;
		kind = K_NAME;
		key = b->p;
		kn = b->len;
	}
	ptab *st = &pp->stage;
	long long idx = pagg_get(st, kind, key, kn);
	if (idx < 0)
		return -1;
	pagg *a = &st->a[idx];
	if (tp)
		a->tp = tp;
	if (!a->match || match_rank(match) > match_rank(a->match))
		a->match = match;
	a->roles |= (uint8_t)(1u << r->role);
	if (!tp) {
		er_field nm = r->kind == K_NAME ? r->s[PSTR_KEY] : r->s[PSTR_NAME];
		if (keep_text(st, (size_t)idx, 0, nm.p, nm.n) < 0 ||
		    keep_text(st, (size_t)idx, 1, cc.p, cc.n) < 0)
			return -1;
		a = &st->a[idx];
	}
	if (a->stamp == stamp)
		return 0; /* same party in another role of the same shipment */
	a->stamp = stamp;
	if (!a->n || day < a->first)
		a->first = day;
	if (!a->n || day > a->last)
		a->last = day;
	a->n++;
	if (!er_verify_standing(t, tp, day, NULL, NULL))
		a->noncomp++;
	return 0;
}

int er_partners_merge(er_partners *p, int file_idx, const char *buf, size_t n)
{
	(void)file_idx; /* files arrive in order; file_done separates them */
	if (!p || p->err)
		return -1;
	size_t pos = 0;
	while (pos < n) {
		int32_t day;
		int count;
		if (get_row(buf, n, &pos, &day, &count) < 0)
			goto bad;
		uint64_t stamp = ++p->rows;
		for (int k = 0; k < count; k++) {
			pref r;
			if (get_party(buf, n, &pos, &r) < 0)
				goto bad;
			if (add_party(p, &r, day, stamp) < 0) {
				p->err = errno ? errno : ENOMEM;
				return -1;
			}
		}
	}
	return 0;
bad:
	p->err = EINVAL;
	errno = EINVAL;
	return -1;
}

/* Fold the staging table into the committed one. */
static int ptab_commit(ptab *dst, const ptab *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const pagg *s = &src->a[i];
		long long idx = pagg_get(dst, s->kind, src->text.p + s->key_off, s->key_len);
		if (idx < 0)
			return -1;
		pagg *d = &dst->a[idx];
		if (s->tp)
			d->tp = s->tp;
		if (!d->match || match_rank(s->match) > match_rank(d->match))
			d->match = s->match;
		d->roles |= s->roles;
		if (keep_text(dst, (size_t)idx, 0, src->text.p + s->name_off, s->name_len) < 0 ||
		    keep_text(dst, (size_t)idx, 1, src->text.p + s->cc_off, s->cc_len) < 0)
			return -1;
		d = &dst->a[idx];
		if (!d->n || s->first < d->first)
			d->first = s->first;
		if (!d->n || s->last > d->last)
			d->last = s->last;
		d->n += s->n;
		d->noncomp += s->noncomp;
	}
	return 0;
}

void er_partners_file_done(er_partners *p, int ok)
{
	if (!p)
		return;
	if (ok && !p->err && !p->done.n) {
		/* nothing committed yet (e.g. the first file): take the stage as is */
		ptab tmp = p->done;
		p->done = p->stage;
		p->stage = tmp;
	} else if (ok && !p->err && ptab_commit(&p->done, &p->stage) < 0) {
		p->err = errno ? errno : ENOMEM;
	}
	ptab_clear(&p->stage);
}

/* ================================================================ output */

typedef struct prow {
	const pagg *a;
	const char *key;
	const er_cert *cert;
	int good, mra;
} prow;

static int prow_cmp(const void *x, const void *y)
{
	const prow *a = x, *b = y;
	if (a->good != b->good)
		return a->good - b->good;
	if (a->a->n != b->a->n)
		return a->a->n > b->a->n ? -1 : 1;
	size_t n = a->a->key_len < b->a->key_len ? a->a->key_len : b->a->key_len;
	int c = memcmp(a->key, b->key, n);
	if (c)
		return c;
	if (a->a->key_len != b->a->key_len)
		return a->a->key_len < b->a->key_len ? -1 : 1;
	return (int)a->a->kind - (int)b->a->kind;
}

int er_partners_write(er_partners *p, er_emit_fn emit, void *ctx)
{
	if (!p || p->err)
		return -1;
	const ptab *t = &p->done;
	prow *rows = NULL;
	er_buf b = { 0 };
	int rc = -1;
	if (t->n && !(rows = malloc(t->n * sizeof *rows)))
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		rows[i].a = &t->a[i];
		rows[i].key = t->text.p + t->a[i].key_off;
		rows[i].good = er_verify_standing(p->t, t->a[i].tp, t->a[i].last, &rows[i].cert,
		                                  &rows[i].mra);
	}
	if (t->n)
		qsort(rows, t->n, sizeof *rows, prow_cmp);
	if (er_buf_puts(&b, "party,match,name,country,roles,shipments,noncompliant_shipments,"
	                "first_arrival,last_arrival,program,status,tier,mra_recognized,"
	                "compliant\n") < 0)
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		const pagg *a = rows[i].a;
		const er_cert *c = rows[i].cert;
		const char *name = a->tp ? a->tp->name : t->text.p + a->name_off;
		size_t name_len = a->tp ? strlen(a->tp->name) : a->name_len;
		const char *cc = a->tp ? a->tp->country : t->text.p + a->cc_off;
		size_t cc_len = a->tp ? strlen(a->tp->country) : a->cc_len;
		char first[11], last[11];
		er_format_date(a->first, first);
		er_format_date(a->last, last);
		if (er_buf_csv_field(&b, rows[i].key, a->key_len, ',') < 0 ||
		    er_buf_printf(&b, ",%s,", er_match_name(a->match)) < 0 ||
		    er_buf_csv_field(&b, name, name_len, ',') < 0 || er_buf_putc(&b, ',') < 0 ||
		    er_buf_csv_field(&b, cc, cc_len, ',') < 0 || er_buf_putc(&b, ',') < 0)
			goto out;
		for (int r = 0, sep = 0; r < ER_NROLES; r++) {
			if (!(a->roles & (1u << r)))
				continue;
			if ((sep && er_buf_putc(&b, '|') < 0) || er_buf_puts(&b, role_names[r]) < 0)
				goto out;
			sep = 1;
		}
		if (er_buf_printf(&b, ",%llu,%llu,%s,%s,", (unsigned long long)a->n,
		                  (unsigned long long)a->noncomp, first, last) < 0)
			goto out;
		if (c) {
			if (er_buf_csv_field(&b, c->program, strlen(c->program), ',') < 0 ||
			    er_buf_printf(&b, ",%s,", er_cert_status_name(c->status)) < 0 ||
			    (c->tier && er_buf_printf(&b, "%d", c->tier) < 0))
				goto out;
		} else if (er_buf_puts(&b, "none,none,") < 0) {
			goto out;
		}
		if (er_buf_printf(&b, ",%d,%d\n", rows[i].mra == 1, rows[i].good) < 0)
			goto out;
		if (b.len >= 64 * 1024) {
			if (emit(ctx, b.p, b.len) < 0)
				goto out;
			b.len = 0;
		}
	}
	if (b.len && emit(ctx, b.p, b.len) < 0)
		goto out;
	rc = 0;
out:
	free(rows);
	er_buf_free(&b);
	return rc;
}
