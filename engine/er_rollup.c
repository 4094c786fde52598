/* er_rollup.c - consolidations and the exam queue (see er_rollup.h).
 *
 * Workers encode one compact record per scored row; the writer decodes the
 * records in input order and folds them into a staging table for the file
 * being read. er_rollup_file_done(ok) folds the staging table into the
 * committed one (ok) or throws it away (a corrupt file contributes nothing).
 *
 * Memory: the consolidation tables grow with the number of consolidations
 * and of distinct (consolidation, shipper) pairs, never with the number of
 * rows: a row only updates counters of its consolidation. The exam queue, by
 * nature, keeps one entry per queued shipment (RED ones, or all of them with
 * resumption), so it grows with the queue. */
#include "er_rollup.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_rules.h"
#include "er_table.h"

/* ============================================================ row record */

/* Record layout (native byte order; produced and consumed in one process):
 *   u8 lane, u8 score, u8 flags,
 *   then REC_NSTR strings, each a u32 length followed by the bytes. */
enum { F_FRONT = 1, F_CERT = 2, F_LCL = 4, F_FCL = 8 };
enum { S_ID, S_MBL, S_CONT, S_SHIPPER, S_IMP_ST, S_SHP_ST, REC_NSTR };

typedef struct rec {
	int lane, score, flags;
	er_field s[REC_NSTR];
} rec;

static int put_str(er_buf *b, const char *p, size_t n)
{
	if (n > UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	uint32_t l = (uint32_t)n;
	if (er_buf_reserve(b, sizeof l + n) < 0)
		return -1;
	memcpy(b->p + b->len, &l, sizeof l);
	if (n)
		memcpy(b->p + b->len + sizeof l, p, n);
	b->len += sizeof l + n;
	return 0;
}

static er_field trimmed(const er_row *row, int col)
{
	er_field f = row->f[col];
	if (!f.p)
		f.n = 0;
	er_trim(&f.p, &f.n);
	return f;
}

/* The shipper's identity for counting distinct shippers: "I" + shipper_id,
 * else "N" + normalized shipper_name + "/" + shipper_country (upper-case),
 * else "" (all unidentified shippers of a consolidation count as one). */
static int put_shipper_key(er_buf *b, const er_row *row)
{
	er_field id = trimmed(row, ER_COL_SHIPPER_ID);
	er_field name = trimmed(row, ER_COL_SHIPPER_NAME);
	er_field cc = trimmed(row, ER_COL_SHIPPER_COUNTRY);
	if (id.n) {
		uint32_t l = (uint32_t)id.n + 1;
		if (id.n >= UINT32_MAX || er_buf_reserve(b, sizeof l + l) < 0)
			return -1;
		memcpy(b->p + b->len, &l, sizeof l);
		b->p[b->len + sizeof l] = 'I';
		memcpy(b->p + b->len + sizeof l + 1, id.p, id.n);
		b->len += sizeof l + l;
		return 0;
	}
	if (!name.n)
		return put_str(b, "", 0);
	/* '&' -> " AND " is the largest growth of the normalizer: 5 bytes per byte */
	size_t cap = name.n * 5 + 1;
	if (name.n > (UINT32_MAX - 64) / 5 || er_buf_reserve(b, sizeof(uint32_t) + 2 + cap + cc.n) < 0)
		return -1;
	char *base = b->p + b->len;
	char *o = base + sizeof(uint32_t);
	o[0] = 'N';
	size_t nl = er_name_normalize(name.p, name.n, o + 1, cap);
	size_t len = 1 + nl;
	o[len++] = '/';
	for (size_t i = 0; i < cc.n; i++) {
		char c = cc.p[i];
		o[len++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	uint32_t l = (uint32_t)len;
	memcpy(base, &l, sizeof l);
	b->len += sizeof l + len;
	return 0;
}

int er_rollup_encode(er_buf *b, const er_row *row, const er_result *res, uint64_t line)
{
	(void)line; /* input order is the order of merging */
	size_t start = b->len;
	er_field lt = trimmed(row, ER_COL_LOAD_TYPE);
	int flags = (res->front_of_line ? F_FRONT : 0) | (res->shipper_certified ? F_CERT : 0);
	if (er_ieq(lt.p, lt.n, "LCL"))
		flags |= F_LCL;
	else if (er_ieq(lt.p, lt.n, "FCL"))
		flags |= F_FCL;
	int lane = res->lane >= 0 && res->lane < ER_NLANES ? res->lane : ER_LANE_GREEN;
	int score = res->score < 0 ? 0 : res->score > 255 ? 255 : res->score;
	if (er_buf_reserve(b, 3) < 0)
		goto fail;
	b->p[b->len++] = (char)lane;
	b->p[b->len++] = (char)score;
	b->p[b->len++] = (char)flags;
	er_field id = trimmed(row, ER_COL_SHIPMENT_ID);
	er_field mbl = trimmed(row, ER_COL_MASTER_BILL);
	er_field cont = trimmed(row, ER_COL_CONTAINER_ID);
	size_t is = strnlen(res->importer_status, sizeof res->importer_status);
	size_t ss = strnlen(res->shipper_status, sizeof res->shipper_status);
	if (put_str(b, id.p, id.n) < 0 || put_str(b, mbl.p, mbl.n) < 0 ||
	    put_str(b, cont.p, cont.n) < 0 || put_shipper_key(b, row) < 0 ||
	    put_str(b, res->importer_status, is) < 0 || put_str(b, res->shipper_status, ss) < 0)
		goto fail;
	return 0;
fail:
	b->len = start; /* no half record */
	return -1;
}

/* Decode the record at p[*pos..n). 0 ok, -1 malformed. */
static int get_rec(const char *p, size_t n, size_t *pos, rec *r)
{
	size_t i = *pos;
	if (n - i < 3)
		return -1;
	r->lane = (unsigned char)p[i];
	r->score = (unsigned char)p[i + 1];
	r->flags = (unsigned char)p[i + 2];
	if (r->lane >= ER_NLANES)
		return -1;
	i += 3;
	for (int k = 0; k < REC_NSTR; k++) {
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

/* Open addressing, linear probing; v = entry index + 1, 0 = empty. */
typedef struct hslot {
	uint64_t h;
	uint32_t v;
} hslot;

typedef struct hidx {
	hslot *s;
	size_t mask, n;
} hidx;

/* Make room for one more entry (load factor below 3/4). */
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

static void hidx_clear(hidx *x)
{
	if (x->s)
		memset(x->s, 0, (x->mask + 1) * sizeof *x->s);
	x->n = 0;
}

/* ========================================================= consolidations */

enum { KEY_MBL = 0, KEY_CONT = 1 };

typedef struct consol {
	uint64_t h;
	size_t key_off, cont_off;   /* in ctab.text */
	uint32_t key_len, cont_len; /* cont_len 0: no container id seen yet */
	uint8_t key_type, load, max_lane, drv_lane;
	int max_score, drv_score;
	uint64_t drv_seq;
	char *drv_id;               /* driver's shipment_id (own buffer, rewritten in place) */
	uint32_t drv_len, drv_cap;
	uint64_t n, uncert, shippers;
	uint64_t lanes[ER_NLANES];
} consol;

/* One distinct (consolidation, shipper) pair. */
typedef struct spair {
	uint64_t h;
	size_t off;
	uint32_t len, ci;
} spair;

typedef struct ctab {
	consol *c;
	size_t n, cap;
	spair *sp;
	size_t spn, spcap;
	hidx ci, si;
	er_buf text;
} ctab;

static void ctab_clear(ctab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->c[i].drv_id);
	t->n = 0;
	t->spn = 0;
	t->text.len = 0;
	hidx_clear(&t->ci);
	hidx_clear(&t->si);
}

static void ctab_free(ctab *t)
{
	ctab_clear(t);
	free(t->c);
	free(t->sp);
	free(t->ci.s);
	free(t->si.s);
	er_buf_free(&t->text);
}

static uint64_t key_hash(int type, const char *k, size_t n)
{
	return er_hash64(k, n, 0x636f6e736f6cull + (uint64_t)type);
}

static int text_add(er_buf *b, const char *p, size_t n, size_t *off)
{
	*off = b->len;
	return er_buf_append(b, p, n);
}

/* Index of the consolidation (type, key), created empty when absent; -1 ENOMEM. */
static long long consol_get(ctab *t, int type, const char *k, size_t kn, uint64_t h)
{
	size_t j = (size_t)h & t->ci.mask;
	for (; t->ci.s && t->ci.s[j].v; j = (j + 1) & t->ci.mask) {
		if (t->ci.s[j].h != h)
			continue;
		const consol *c = &t->c[t->ci.s[j].v - 1];
		if (c->key_type == type && c->key_len == kn && memcmp(t->text.p + c->key_off, k, kn) == 0)
			return (long long)(t->ci.s[j].v - 1);
	}
	if (t->n >= UINT32_MAX - 1 || kn > UINT32_MAX) {
		errno = ENOMEM;
		return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		consol *nc = realloc(t->c, cap * sizeof *nc);
		if (!nc)
			return -1;
		t->c = nc;
		t->cap = cap;
	}
	if (hidx_reserve(&t->ci) < 0)
		return -1;
	consol *c = &t->c[t->n];
	memset(c, 0, sizeof *c);
	c->h = h;
	c->key_type = (uint8_t)type;
	c->key_len = (uint32_t)kn;
	if (text_add(&t->text, k, kn, &c->key_off) < 0)
		return -1;
	j = (size_t)h & t->ci.mask;
	while (t->ci.s[j].v)
		j = (j + 1) & t->ci.mask;
	t->ci.s[j].h = h;
	t->ci.s[j].v = (uint32_t)t->n + 1;
	t->ci.n++;
	return (long long)t->n++;
}

/* Add the pair (consolidation ci, shipper key); 1 if new, 0 if known, -1 ENOMEM. */
static int pair_add(ctab *t, uint32_t ci, const char *k, size_t kn)
{
	uint64_t h = er_hash64(k, kn, 0x73687072ull ^ ((uint64_t)ci * 0x9e3779b97f4a7c15ull));
	size_t j = (size_t)h & t->si.mask;
	for (; t->si.s && t->si.s[j].v; j = (j + 1) & t->si.mask) {
		if (t->si.s[j].h != h)
			continue;
		const spair *s = &t->sp[t->si.s[j].v - 1];
		if (s->ci == ci && s->len == kn && memcmp(t->text.p + s->off, k, kn) == 0)
			return 0;
	}
	if (t->spn >= UINT32_MAX - 1) {
		errno = ENOMEM;
		return -1;
	}
	if (t->spn == t->spcap) {
		size_t cap = t->spcap ? t->spcap * 2 : 64;
		spair *ns = realloc(t->sp, cap * sizeof *ns);
		if (!ns)
			return -1;
		t->sp = ns;
		t->spcap = cap;
	}
	if (hidx_reserve(&t->si) < 0)
		return -1;
	spair *s = &t->sp[t->spn];
	s->h = h;
	s->ci = ci;
	s->len = (uint32_t)kn;
	if (text_add(&t->text, k, kn, &s->off) < 0)
		return -1;
	j = (size_t)h & t->si.mask;
	while (t->si.s[j].v)
		j = (j + 1) & t->si.mask;
	t->si.s[j].h = h;
	t->si.s[j].v = (uint32_t)t->spn + 1;
	t->si.n++;
	t->spn++;
	return 1;
}

/* ============================================================ collector */

typedef struct qent {
	uint64_t seq;
	size_t off;                  /* shipment_id, statuses, consolidation key in qtext */
	uint32_t len[4];
	uint8_t lane, score, front;
} qent;

struct er_rollup {
	double p[ER_NLANES];
	int want_consol, want_queue, resumption;
	int err;                     /* sticky: once set, outputs fail */
	uint64_t seq;                /* rows merged so far: input order */
	ctab done, stage;            /* committed files; the file being read */
	qent *q;
	size_t qn, qcap, qmark;      /* qmark: entries of committed files */
	er_buf qtext;
	size_t qtext_mark;
};

er_rollup *er_rollup_new(const er_rules *rules, int want_consol, int want_queue, int resumption)
{
	er_rollup *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	for (int l = 0; l < ER_NLANES; l++) {
		double p = rules ? er_rules_exam_prob(rules, l) : 0.0;
		r->p[l] = !(p > 0.0) ? 0.0 : p > 1.0 ? 1.0 : p; /* NaN -> 0 */
	}
	r->want_consol = want_consol != 0;
	r->want_queue = want_queue != 0;
	r->resumption = resumption != 0;
	return r;
}

void er_rollup_free(er_rollup *r)
{
	if (!r)
		return;
	ctab_free(&r->done);
	ctab_free(&r->stage);
	free(r->q);
	er_buf_free(&r->qtext);
	free(r);
}

size_t er_rollup_nconsolidations(const er_rollup *r)
{
	return r ? r->done.n : 0;
}

/* 1 when a driver (lane a, score, seq) beats the current driver of c:
 * higher exam probability, then higher score, then earlier in input. */
static int driver_beats(const er_rollup *r, int lane, int score, uint64_t seq, const consol *c)
{
	double pa = r->p[lane], pb = r->p[c->drv_lane];
	if (pa != pb)
		return pa > pb;
	if (score != c->drv_score)
		return score > c->drv_score;
	return seq < c->drv_seq;
}

/* Fold the aggregate s (strings given separately) into consolidation idx of t. */
static int consol_combine(const er_rollup *r, ctab *t, size_t idx, const consol *s,
                          const char *cont, const char *drv_id)
{
	consol *d = &t->c[idx];
	if (!d->cont_len && s->cont_len) {
		size_t off;
		if (text_add(&t->text, cont, s->cont_len, &off) < 0)
			return -1;
		d = &t->c[idx];
		d->cont_off = off;
		d->cont_len = s->cont_len;
	}
	d->load |= s->load;
	if (!d->n || s->max_score > d->max_score)
		d->max_score = s->max_score;
	if (s->max_lane > d->max_lane)
		d->max_lane = s->max_lane;
	for (int l = 0; l < ER_NLANES; l++)
		d->lanes[l] += s->lanes[l];
	d->uncert += s->uncert;
	if (!d->n || driver_beats(r, s->drv_lane, s->drv_score, s->drv_seq, d)) {
		if (s->drv_len > d->drv_cap) {
			char *nb = realloc(d->drv_id, s->drv_len);
			if (!nb)
				return -1;
			d->drv_id = nb;
			d->drv_cap = s->drv_len;
		}
		if (s->drv_len)
			memcpy(d->drv_id, drv_id, s->drv_len);
		d->drv_len = s->drv_len;
		d->drv_lane = s->drv_lane;
		d->drv_score = s->drv_score;
		d->drv_seq = s->drv_seq;
	}
	d->n += s->n;
	return 0;
}

static int consol_row(er_rollup *r, const rec *x, uint64_t seq)
{
	const er_field *key = x->s[S_MBL].n ? &x->s[S_MBL] : &x->s[S_CONT];
	int type = x->s[S_MBL].n ? KEY_MBL : KEY_CONT;
	if (!key->n)
		return 0; /* in no consolidation */
	ctab *t = &r->stage;
	long long idx = consol_get(t, type, key->p, key->n, key_hash(type, key->p, key->n));
	if (idx < 0)
		return -1;
	consol one;
	memset(&one, 0, sizeof one);
	one.cont_len = (uint32_t)x->s[S_CONT].n;
	one.load = (uint8_t)(((x->flags & F_LCL) ? 1 : 0) | ((x->flags & F_FCL) ? 2 : 0));
	one.max_score = one.drv_score = x->score;
	one.max_lane = one.drv_lane = (uint8_t)x->lane;
	one.drv_seq = seq;
	one.drv_len = (uint32_t)x->s[S_ID].n;
	one.n = 1;
	one.uncert = (x->flags & F_CERT) ? 0 : 1;
	one.lanes[x->lane] = 1;
	if (consol_combine(r, t, (size_t)idx, &one, x->s[S_CONT].p, x->s[S_ID].p) < 0)
		return -1;
	int added = pair_add(t, (uint32_t)idx, x->s[S_SHIPPER].p, x->s[S_SHIPPER].n);
	if (added < 0)
		return -1;
	t->c[idx].shippers += (uint64_t)added;
	return 0;
}

/* Fold the staging table into the committed one. The shipper counts of the
 * committed table are recounted from the pairs, since a shipper may already
 * be known there. */
static int ctab_commit(er_rollup *r, ctab *dst, const ctab *src)
{
	if (!src->n)
		return 0;
	uint32_t *map = malloc(src->n * sizeof *map);
	if (!map)
		return -1;
	int rc = -1;
	for (size_t i = 0; i < src->n; i++) {
		const consol *s = &src->c[i];
		long long idx = consol_get(dst, s->key_type, src->text.p + s->key_off, s->key_len, s->h);
		if (idx < 0)
			goto out;
		map[i] = (uint32_t)idx;
		if (consol_combine(r, dst, (size_t)idx, s, src->text.p + s->cont_off, s->drv_id) < 0)
			goto out;
	}
	for (size_t i = 0; i < src->spn; i++) {
		const spair *s = &src->sp[i];
		uint32_t ci = map[s->ci];
		int added = pair_add(dst, ci, src->text.p + s->off, s->len);
		if (added < 0)
			goto out;
		dst->c[ci].shippers += (uint64_t)added;
	}
	rc = 0;
out:
	free(map);
	return rc;
}

/* ================================================================= queue */

static int queue_row(er_rollup *r, const rec *x, uint64_t seq)
{
	if (!r->resumption && x->lane != ER_LANE_RED)
		return 0;
	if (r->qn == r->qcap) {
		size_t cap = r->qcap ? r->qcap * 2 : 256;
		qent *nq = realloc(r->q, cap * sizeof *nq);
		if (!nq)
			return -1;
		r->q = nq;
		r->qcap = cap;
	}
	if (er_buf_reserve(&r->qtext, 1) < 0) /* qtext.p is never NULL below */
		return -1;
	qent *e = &r->q[r->qn];
	e->seq = seq;
	e->lane = (uint8_t)x->lane;
	e->score = (uint8_t)x->score;
	e->front = (x->flags & F_FRONT) ? 1 : 0;
	e->off = r->qtext.len;
	const er_field *key = x->s[S_MBL].n ? &x->s[S_MBL] : &x->s[S_CONT];
	const er_field *parts[4] = { &x->s[S_ID], &x->s[S_IMP_ST], &x->s[S_SHP_ST], key };
	for (int k = 0; k < 4; k++) {
		if (er_buf_append(&r->qtext, parts[k]->p, parts[k]->n) < 0) {
			r->qtext.len = e->off;
			return -1;
		}
		e->len[k] = (uint32_t)parts[k]->n;
	}
	r->qn++;
	return 0;
}

/* ================================================================ merging */

int er_rollup_merge(er_rollup *r, int file_idx, const char *p, size_t n)
{
	(void)file_idx; /* files arrive in order; file_done separates them */
	if (!r || r->err)
		return -1;
	size_t pos = 0;
	while (pos < n) {
		rec x;
		if (get_rec(p, n, &pos, &x) < 0) {
			r->err = EINVAL;
			errno = EINVAL;
			return -1;
		}
		uint64_t seq = r->seq++;
		if ((r->want_consol && consol_row(r, &x, seq) < 0) ||
		    (r->want_queue && queue_row(r, &x, seq) < 0)) {
			r->err = errno ? errno : ENOMEM;
			return -1;
		}
	}
	return 0;
}

void er_rollup_file_done(er_rollup *r, int ok)
{
	if (!r)
		return;
	if (ok && !r->err) {
		if (!r->done.n) {
			/* nothing committed yet (e.g. the first file): take the stage as is */
			ctab tmp = r->done;
			r->done = r->stage;
			r->stage = tmp;
		} else if (ctab_commit(r, &r->done, &r->stage) < 0) {
			r->err = errno ? errno : ENOMEM;
		}
		r->qmark = r->qn;
		r->qtext_mark = r->qtext.len;
	} else {
		r->qn = r->qmark;
		r->qtext.len = r->qtext_mark;
	}
	ctab_clear(&r->stage);
}

/* ================================================================ output */

#define FLUSH_AT (64 * 1024)

static int flush(er_buf *b, er_emit_fn emit, void *ctx, int force)
{
	if (b->len && (force || b->len >= FLUSH_AT)) {
		if (emit(ctx, b->p, b->len) < 0)
			return -1;
		b->len = 0;
	}
	return 0;
}

static const char *lane_text(int lane)
{
	static const char *const names[ER_NLANES] = { "GREEN", "YELLOW", "RED" };
	return lane >= 0 && lane < ER_NLANES ? names[lane] : "";
}

/* 1 - prod over lanes of (1 - p_lane)^count: no division, so p = 1 is fine. */
static double exam_prob(const er_rollup *r, const uint64_t lanes[ER_NLANES])
{
	double keep = 1.0;
	for (int l = 0; l < ER_NLANES; l++)
		if (lanes[l])
			keep *= pow(1.0 - r->p[l], (double)lanes[l]);
	return 1.0 - keep;
}

typedef struct crow {
	const consol *c;
	const char *key;
	uint32_t key_len;
	uint32_t p6;      /* the printed probability as an integer (x 1e6), for sorting */
	uint8_t key_type;
	char prob[16], without[16];
} crow;

/* "%.6f" of a value in [0, 1] ("0.123456", "1.000000") -> 123456, 1000000. */
static uint32_t micro(const char *s)
{
	uint32_t v = 0;
	for (; *s; s++)
		if (*s >= '0' && *s <= '9')
			v = v * 10 + (uint32_t)(*s - '0');
	return v;
}

static int crow_cmp(const void *a, const void *b)
{
	const crow *x = *(const crow *const *)a, *y = *(const crow *const *)b;
	/* by the printed value, so equal printed values tie-break by key */
	if (x->p6 != y->p6)
		return x->p6 > y->p6 ? -1 : 1;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	/* "container" < "master_bill" */
	return (x->key_type == KEY_CONT ? 0 : 1) - (y->key_type == KEY_CONT ? 0 : 1);
}

int er_rollup_write_consolidations(er_rollup *r, er_emit_fn emit, void *ctx)
{
	if (!r || r->err)
		return -1;
	const ctab *t = &r->done;
	crow *rows = NULL, **order = NULL;
	er_buf b = { 0 };
	int rc = -1;
	if (t->n && (!(rows = malloc(t->n * sizeof *rows)) || !(order = malloc(t->n * sizeof *order))))
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		const consol *c = &t->c[i];
		uint64_t rest[ER_NLANES];
		memcpy(rest, c->lanes, sizeof rest);
		rest[c->drv_lane]--;
		rows[i].c = c;
		rows[i].key = t->text.p + c->key_off;
		rows[i].key_len = c->key_len;
		rows[i].key_type = c->key_type;
		snprintf(rows[i].prob, sizeof rows[i].prob, "%.6f", exam_prob(r, c->lanes));
		snprintf(rows[i].without, sizeof rows[i].without, "%.6f", exam_prob(r, rest));
		rows[i].p6 = micro(rows[i].prob);
		order[i] = &rows[i];
	}
	if (t->n) /* pointers: qsort moves 8 bytes per swap, not a whole row */
		qsort(order, t->n, sizeof *order, crow_cmp);
	if (er_buf_puts(&b, "consolidation,key_type,container_id,load_type,shipments,shippers,"
	                "max_score,lane,uncertified_shipments,exam_probability,"
	                "driver_shipment_id,probability_without_driver\n") < 0)
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		const crow *w = order[i];
		const consol *c = w->c;
		const char *load = (c->load & 1) ? "LCL" : (c->load & 2) ? "FCL" : "";
		if (er_buf_csv_field(&b, w->key, w->key_len, ',') < 0 ||
		    er_buf_puts(&b, c->key_type == KEY_MBL ? ",master_bill," : ",container,") < 0 ||
		    er_buf_csv_field(&b, t->text.p + c->cont_off, c->cont_len, ',') < 0 ||
		    er_buf_printf(&b, ",%s,%llu,%llu,%d,%s,%llu,%s,", load,
		                  (unsigned long long)c->n, (unsigned long long)c->shippers,
		                  c->max_score, lane_text(c->max_lane),
		                  (unsigned long long)c->uncert, w->prob) < 0 ||
		    er_buf_csv_field(&b, c->drv_id, c->drv_len, ',') < 0 ||
		    er_buf_printf(&b, ",%s\n", w->without) < 0)
			goto out;
		if (flush(&b, emit, ctx, 0) < 0)
			goto out;
	}
	if (flush(&b, emit, ctx, 1) < 0)
		goto out;
	rc = 0;
out:
	free(order);
	free(rows);
	er_buf_free(&b);
	return rc;
}

static int qent_cmp(const void *a, const void *b)
{
	const qent *x = a, *y = b;
	if (x->front != y->front)
		return x->front > y->front ? -1 : 1;
	if (x->lane != y->lane) /* all RED without resumption */
		return x->lane > y->lane ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int er_rollup_write_queue(er_rollup *r, er_emit_fn emit, void *ctx)
{
	if (!r || r->err)
		return -1;
	er_buf b = { 0 };
	int rc = -1;
	if (r->qn)
		qsort(r->q, r->qn, sizeof *r->q, qent_cmp);
	if (er_buf_puts(&b, "position,shipment_id,score,lane,front_of_line,importer_status,"
	                "shipper_status,consolidation\n") < 0)
		goto out;
	for (size_t i = 0; i < r->qn; i++) {
		const qent *e = &r->q[i];
		const char *s = r->qtext.p + e->off;
		const char *imp = s + e->len[0], *shp = imp + e->len[1], *key = shp + e->len[2];
		if (er_buf_printf(&b, "%zu,", i + 1) < 0 ||
		    er_buf_csv_field(&b, s, e->len[0], ',') < 0 ||
		    er_buf_printf(&b, ",%d,%s,%d,", e->score, lane_text(e->lane), e->front) < 0 ||
		    er_buf_csv_field(&b, imp, e->len[1], ',') < 0 || er_buf_putc(&b, ',') < 0 ||
		    er_buf_csv_field(&b, shp, e->len[2], ',') < 0 || er_buf_putc(&b, ',') < 0 ||
		    er_buf_csv_field(&b, key, e->len[3], ',') < 0 || er_buf_putc(&b, '\n') < 0)
			goto out;
		if (flush(&b, emit, ctx, 0) < 0)
			goto out;
	}
	if (flush(&b, emit, ctx, 1) < 0)
		goto out;
	rc = 0;
out:
	er_buf_free(&b);
	return rc;
}
