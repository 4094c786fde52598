/* er_consol.c - the consolidations output: the runs merged in key ranges
 * on the end phase's threads, each consolidation folded from its records
 * and its line bucketed by printed probability, then emitted by
 * probability descending, each bucket in key order (see er_rollup.c). */
#include "er_rollup_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

size_t er_rollup_nconsolidations(const er_rollup *r)
{
	return r ? r->ncons : 0;
}

void er_rollup_set_consol_filter(er_rollup *r, uint64_t min_shipments, uint64_t top)
{
	if (r) {
		r->min_shipments = min_shipments;
		r->top = top;
	}
}

void er_rollup_consol_counts(const er_rollup *r, er_consol_counts *c)
{
	memset(c, 0, sizeof *c);
	if (r)
		*c = r->cc;
}


/* ===================================================== consolidations */

/* 1 - prod over lanes of (1 - p_lane)^count: no division, so p = 1 is fine. */
static double exam_prob(const er_rollup *r, const uint64_t lanes[ER_NLANES])
{
	double keep = 1.0;
	for (int l = 0; l < ER_NLANES; l++)
		if (lanes[l])
			keep *= pow(1.0 - r->p[l], (double)lanes[l]);
	return 1.0 - keep;
}

/* "%.6f" of a value in [0, 1] ("0.123456", "1.000000") -> 123456, 1000000. */
static uint32_t micro(const char *s)
{
	uint32_t v = 0;
	for (; *s; s++)
		if (*s >= '0' && *s <= '9')
			v = v * 10 + (uint32_t)(*s - '0');
	return v;
}

/* A printed probability, cached by lane counts (direct-mapped: bounded). */
typedef struct pent {
	uint64_t lanes[ER_NLANES];
	uint32_t p6;                 /* the printed value x 1e6: the bucket */
	int used;
	size_t len;
	char s[16];
} pent;

enum { PCACHE = 4096 };

static pent prob_of(const er_rollup *r, pent *cache, const uint64_t lanes[ER_NLANES])
{
	uint64_t h = lanes[0] * 0x9e3779b97f4a7c15ull ^ lanes[1] * 0xc2b2ae3d27d4eb4full ^
	             lanes[2] * 0x165667b19e3779f9ull;
	pent *e = &cache[(h >> 32) & (PCACHE - 1)];
	if (!e->used || memcmp(e->lanes, lanes, sizeof e->lanes) != 0) {
		memcpy(e->lanes, lanes, sizeof e->lanes);
		int n = snprintf(e->s, sizeof e->s, "%.6f", exam_prob(r, lanes));
		e->len = n > 0 ? (size_t)n : 0;
		e->p6 = micro(e->s);
		e->used = 1;
	}
	return *e;
}

/* One consolidation being folded from its records (see cr_cmp's order). */
typedef struct agg {
	int active;
	er_buf key;
	int type;
	er_buf shp;                  /* last shipper key seen */
	er_buf cont;                 /* container id of the earliest row with one */
	uint64_t cont_seq;
	er_buf drv;                  /* driver's shipment id */
	int drv_lane, drv_score;
	uint64_t drv_seq;
	uint64_t n, uncert, shippers, lanes[ER_NLANES];
	int load, max_lane, max_score;
} agg;

/* One part of the end phase: the consolidations with keys in [lo, hi),
 * folded by one thread into its own buckets of lines, one bucket per
 * printed probability. Parts cover consecutive key ranges, so a bucket's
 * lines are in key order part after part. */
typedef struct part {
	er_rollup *r;
	const bound *lo, *hi;
	size_t budget;               /* for its run readers (while it runs) */
	size_t bbudget;              /* for its buckets (kept until the output) */
	spill sp;                    /* its buckets' blocks */
	bstore cs;
	uint32_t *p6;                /* bucket -> printed probability x 1e6 */
	uint32_t *map, *map2;        /* open addressing: p6 + 1 -> bucket */
	size_t mapcap;
	pent *cache;
	agg a;
	size_t ncons;                /* folded, whether written or filtered out */
	size_t nsmall;               /* of those, below the minimum of shipments */
	int err;                     /* errno of a failure; 0: none */
} part;

static void part_free(part *p)
{
	er_ru_spill_close(p->r, &p->sp);
	er_ru_bs_free(&p->cs);
	free(p->p6);
	free(p->map);
	free(p->map2);
	free(p->cache);
	er_buf_free(&p->a.key);
	er_buf_free(&p->a.shp);
	er_buf_free(&p->a.cont);
	er_buf_free(&p->a.drv);
}

static size_t map_slot(const uint32_t *map, size_t cap, uint32_t key)
{
	size_t j = (size_t)(key * 2654435761u) & (cap - 1);
	while (map[j] && map[j] != key)
		j = (j + 1) & (cap - 1);
	return j;
}

/* The bucket of printed value p6, created when new; -1 ENOMEM. */
static long bucket_of(part *f, uint32_t p6)
{
	uint32_t key = p6 + 1;
	if (f->mapcap) {
		size_t j = map_slot(f->map, f->mapcap, key);
		if (f->map[j])
			return (long)f->map2[j];
	}
	if ((f->cs.n + 1) * 2 > f->mapcap) {
		size_t cap = f->mapcap ? f->mapcap * 2 : 64;
		uint32_t *m = calloc(cap, sizeof *m), *m2 = calloc(cap, sizeof *m2);
		if (!m || !m2) {
			free(m);
			free(m2);
			return -1;
		}
		for (size_t i = 0; i < f->mapcap; i++) {
			if (!f->map[i])
				continue;
			size_t j = map_slot(m, cap, f->map[i]);
			m[j] = f->map[i];
			m2[j] = f->map2[i];
		}
		free(f->map);
		free(f->map2);
		f->map = m;
		f->map2 = m2;
		f->mapcap = cap;
	}
	uint32_t *np = realloc(f->p6, (f->cs.n + 1) * sizeof *np);
	if (!np)
		return -1;
	f->p6 = np;
	if (er_ru_bs_add(&f->cs) < 0)
		return -1;
	size_t b = f->cs.n - 1;
	f->p6[b] = p6;
	size_t j = map_slot(f->map, f->mapcap, key);
	f->map[j] = key;
	f->map2[j] = (uint32_t)b;
	return (long)b;
}

/* Keys and shipper keys are short: compared inline, eight bytes a step
 * (the tail as the last eight bytes), rather than by a call to memcmp. */
static int same_bytes(const char *p, size_t n, const er_buf *b)
{
	if (n != b->len)
		return 0;
	const char *q = b->p;
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (p[i] != q[i])
				return 0;
		return 1;
	}
	uint64_t u, v;
	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&u, p + i, 8);
		memcpy(&v, q + i, 8);
		if (u != v)
			return 0;
	}
	memcpy(&u, p + n - 8, 8);
	memcpy(&v, q + n - 8, 8);
	return u == v;
}

static int copy_to(er_buf *b, const char *p, size_t n)
{
	b->len = 0;
	return er_buf_append(b, p, n);
}

/* The folded consolidation as a line, into the bucket of its probability. */
static int agg_finish(part *f)
{
	const agg *a = &f->a;
	uint64_t rest[ER_NLANES];
	memcpy(rest, a->lanes, sizeof rest);
	rest[a->drv_lane]--;
	f->ncons++;
	if (a->n < f->r->min_shipments) { /* --consolidations-filter lcl */
		f->nsmall++;
		return 0;
	}
	pent prob = prob_of(f->r, f->cache, a->lanes);
	pent without = prob_of(f->r, f->cache, rest);
	long bi = bucket_of(f, prob.p6);
	if (bi < 0)
		return -1;
	size_t cap0;
	er_buf *b = er_ru_bs_open(&f->cs, (size_t)bi, &cap0);
	if (!b || er_buf_reserve(b, 2 * (a->key.len + a->cont.len + a->drv.len) + 160) < 0)
		return -1;
	char *o = b->p + b->len;
	const char *load = (a->load & 1) ? "LCL" : (a->load & 2) ? "FCL" : "";
	const char *lane = lane_text(a->max_lane);
	o = put_csv(o, a->key.p, a->key.len);
	o = a->type == T_MBL ? put_bytes(o, ",master_bill,", 13) : put_bytes(o, ",container,", 11);
	o = put_csv(o, a->cont.p, a->cont.len);
	*o++ = ',';
	o = put_bytes(o, load, *load ? 3 : 0);
	*o++ = ',';
	o = put_dec(o, a->n);
	*o++ = ',';
	o = put_dec(o, a->shippers);
	*o++ = ',';
	o = put_dec(o, (uint64_t)a->max_score);
	*o++ = ',';
	o = put_bytes(o, lane, lane_text_len(a->max_lane));
	*o++ = ',';
	o = put_dec(o, a->uncert);
	*o++ = ',';
	o = put_bytes(o, prob.s, prob.len);
	*o++ = ',';
	o = put_csv(o, a->drv.p, a->drv.len);
	*o++ = ',';
	o = put_bytes(o, without.s, without.len);
	*o++ = '\n';
	b->len = (size_t)(o - b->p);
	return er_ru_bs_close(&f->cs, (size_t)bi, cap0);
}

/* Fold one record (they arrive in cr_cmp order). */
static int agg_add(part *f, const char *rec)
{
	agg *a = &f->a;
	const double *p = f->r->p;
	uint32_t klen = rd32(rec + CR_KLEN), slen = rd32(rec + CR_SLEN);
	uint32_t clen = rd32(rec + CR_CLEN), ilen = rd32(rec + CR_ILEN);
	const char *key = rec + CR_HDR, *shp = key + klen, *cont = shp + slen, *id = cont + clen;
	uint64_t seq = rd64(rec + CR_SEQ);
	int type = rec[CR_TYPE], lane = (unsigned char)rec[CR_LANE];
	int score = (unsigned char)rec[CR_SCORE], flags = (unsigned char)rec[CR_FLAGS];
	if (!a->active || type != a->type || !same_bytes(key, klen, &a->key)) {
		if (a->active && agg_finish(f) < 0)
			return -1;
		if (copy_to(&a->key, key, klen) < 0)
			return -1;
		a->active = 1;
		a->type = type;
		a->n = a->uncert = a->shippers = 0;
		memset(a->lanes, 0, sizeof a->lanes);
		a->load = 0;
		a->cont.len = 0;
		a->cont_seq = UINT64_MAX;
	}
	if (!a->n || !same_bytes(shp, slen, &a->shp)) {
		a->shippers++;
		if (copy_to(&a->shp, shp, slen) < 0)
			return -1;
	}
	/* the driver: higher exam probability, then higher score, then earlier */
	double pa = p[lane], pb = a->n ? p[a->drv_lane] : 0.0;
	if (!a->n || pa > pb ||
	    (pa == pb && (score > a->drv_score || (score == a->drv_score && seq < a->drv_seq)))) {
		if (copy_to(&a->drv, id, ilen) < 0)
			return -1;
		a->drv_lane = lane;
		a->drv_score = score;
		a->drv_seq = seq;
	}
	if (!a->n || score > a->max_score)
		a->max_score = score;
	if (!a->n || lane > a->max_lane)
		a->max_lane = lane;
	if (clen && seq < a->cont_seq) {
		if (copy_to(&a->cont, cont, clen) < 0)
			return -1;
		a->cont_seq = seq;
	}
	a->n++;
	a->lanes[lane]++;
	a->uncert += (flags & F_CERT) ? 0 : 1;
	a->load |= ((flags & F_LCL) ? 1 : 0) | ((flags & F_FCL) ? 2 : 0);
	return 0;
}

/* Merge the part's key range into its buckets of lines. */
static int part_run(part *f)
{
	const er_rollup *r = f->r;
	if (er_ru_bs_init(&f->cs, 0, f->bbudget, &f->sp) < 0 || !(f->cache = calloc(PCACHE, sizeof *f->cache)))
		return -1;
	merger m;
	if (er_ru_merger_open(r, &m, r->runs, r->nruns, f->lo, f->budget, 1) < 0)
		return -1;
	const char *rec;
	int rc = 0;
	while (rc == 0 && (rec = er_ru_merger_top(&m)) && !(f->hi && er_ru_bound_cmp(rec, f->hi) >= 0))
		rc = agg_add(f, rec) < 0 || er_ru_merger_pop(r, &m) < 0 ? -1 : 0;
	if (rc == 0 && f->a.active)
		rc = agg_finish(f);
	er_ru_merger_close(&m);
	return rc;
}

/* The end-phase merge: parts are taken in turn by each thread from a
 * shared counter, so a thread on a slower (or busier) CPU simply takes
 * fewer of them. */
typedef struct part_queue {
	part *parts;
	size_t np;
	pthread_mutex_t mu;
	size_t next;
} part_queue;

static void *part_main(void *arg)
{
	part_queue *q = arg;
	for (;;) {
		pthread_mutex_lock(&q->mu);
		size_t i = q->next < q->np ? q->next++ : q->np;
		pthread_mutex_unlock(&q->mu);
		if (i == q->np)
			return NULL;
		part *f = &q->parts[i];
		errno = 0;
		if (part_run(f) < 0)
			f->err = errno ? errno : EIO;
		free(f->cache);
		f->cache = NULL;
	}
}

/* Parts per CPU: enough that the last one to finish is a small share. */
enum { PARTS_PER_CPU = 4, MAX_PARTS = 16 };
#define PARALLEL_MIN ((uint64_t)256 * 1024)

/* Split the records into up to MAX_PARTS key ranges of about equal size,
 * PARTS_PER_CPU per CPU: the splitters are quantiles of the sample points
 * of the runs (on disk and in memory). Fills spl[0..nparts - 1) (keys in cand) and returns
 * nparts; 1 when small or on one CPU. */
static size_t choose_parts(const er_rollup *r, er_buf *cand, bound **spl)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->nruns; i++)
		bytes += r->runs[i].len;
	size_t cpus = er_ru_end_threads(r);
	if (bytes < PARALLEL_MIN || cpus < 2)
		return 1;
	size_t want = cpus * PARTS_PER_CPU;
	if (want > MAX_PARTS)
		want = MAX_PARTS;
	cand->len = 0;
	size_t nc = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		if (!r->runs[i].npts)
			continue;
		const char *pt = er_ru_run_pts(r, &r->runs[i]), *end = pt;
		for (size_t j = 0; j < r->runs[i].npts; j++)
			end += PT_HDR + rd32(end + 8);
		if (er_buf_append(cand, pt, (size_t)(end - pt)) < 0)
			return 1;
		nc += r->runs[i].npts;
	}
	bound *b = nc >= 2 ? malloc(nc * sizeof *b) : NULL;
	if (!b)
		return 1;
	const char *pt = cand->p;
	for (size_t i = 0; i < nc; i++) {
		b[i] = (bound){ pt + PT_HDR, rd32(pt + 8), pt[12] };
		pt += PT_HDR + b[i].n;
	}
	qsort(b, nc, sizeof *b, er_ru_bound_order);
	size_t np = want < nc ? want : nc;
	for (size_t i = 1; i < np; i++)
		b[i - 1] = b[i * nc / np];
	*spl = b;
	return np;
}

typedef struct bucket_order {
	uint32_t p6;
	size_t part, i;
} bucket_order;

static int by_prob_desc(const void *a, const void *b)
{
	const bucket_order *x = a, *y = b;
	if (x->p6 != y->p6)
		return x->p6 < y->p6 ? 1 : -1;
	return x->part < y->part ? -1 : x->part > y->part;
}

/* Merge everything into parts[0..np) (zeroed by the caller), in parallel. */
static int build_lines(er_rollup *r, part *parts, size_t *np, er_buf *cand, bound **spl)
{
	if (er_ru_finish_runs(r) < 0)
		return -1;
	*np = choose_parts(r, cand, spl);
	size_t nthreads = er_ru_end_threads(r);
	if (nthreads > *np)
		nthreads = *np;
	for (size_t i = 0; i < *np; i++) {
		parts[i].r = r;
		parts[i].sp = (spill){ -1, 0, r->tmpdir };
		parts[i].lo = i ? &(*spl)[i - 1] : NULL;
		parts[i].hi = i + 1 < *np ? &(*spl)[i] : NULL;
		/* readers: nthreads parts run at once; buckets: all parts keep theirs */
		parts[i].budget = final_budget(r) / nthreads;
		parts[i].bbudget = final_budget(r) / *np;
	}
	part_queue q = { parts, *np, PTHREAD_MUTEX_INITIALIZER, 0 };
	/* this thread takes parts too; helpers that fail to start leave theirs to it */
	pthread_t tid[MAX_PARTS];
	int started[MAX_PARTS] = { 0 };
	for (size_t i = 1; i < nthreads; i++)
		started[i] = pthread_create(&tid[i], NULL, part_main, &q) == 0;
	part_main(&q);
	for (size_t i = 1; i < nthreads; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&q.mu);
	for (size_t i = 0; i < *np; i++) {
		if (parts[i].err) {
			errno = parts[i].err;
			return -1;
		}
		r->cc.found += parts[i].ncons;
		r->cc.single += parts[i].nsmall;
	}
	return 0;
}

int er_rollup_write_consolidations(er_rollup *r, er_emit_fn emit, void *ctx)
{
	if (!r || r->err) {
		errno = r ? r->err : EINVAL; /* sticky */
		return -1;
	}
	part parts[MAX_PARTS];
	memset(parts, 0, sizeof parts);
	for (size_t i = 0; i < MAX_PARTS; i++)
		parts[i].sp.fd = -1;
	size_t np = 0, nb = 0;
	bound *spl = NULL;
	er_buf cand = { 0 }, scratch = { 0 };
	outbuf o = { { 0 }, emit, ctx, 0, r->cancel, r->top ? r->top : UINT64_MAX };
	bucket_order *ord = NULL;
	int rc = -1;
	memset(&r->cc, 0, sizeof r->cc);
	r->ncons = 0;
	if (er_buf_puts(&o.b, "consolidation,key_type,container_id,load_type,shipments,shippers,"
	                "max_score,lane,uncertified_shipments,exam_probability,"
	                "driver_shipment_id,probability_without_driver\n") < 0)
		goto out;
	errno = 0;
	if (r->want_consol && build_lines(r, parts, &np, &cand, &spl) < 0) {
		er_ru_fail(r);
		goto out;
	}
	/* buckets by probability descending; for one, the parts in key order */
	for (size_t i = 0; i < np; i++)
		nb += parts[i].cs.n;
	if (nb && !(ord = malloc(nb * sizeof *ord)))
		goto out;
	nb = 0;
	for (size_t i = 0; i < np; i++)
		for (size_t j = 0; j < parts[i].cs.n; j++)
			ord[nb++] = (bucket_order){ parts[i].p6[j], i, j };
	if (nb)
		qsort(ord, nb, sizeof *ord, by_prob_desc);
	for (size_t i = 0; i < nb && o.lines_left; i++) {
		if (er_ru_bs_read(&parts[ord[i].part].cs, ord[i].i, &scratch, r->top ? er_ru_top_fn : er_ru_out_fn, &o) < 0) {
			if (!o.failed)
				er_ru_fail(r);
			goto out;
		}
	}
	if (er_ru_out_flush(&o) < 0)
		goto out;
	r->cc.written = r->cc.found - r->cc.single;
	if (r->top && r->cc.written > r->top) {
		r->cc.beyond_top = r->cc.written - r->top;
		r->cc.written = r->top;
	}
	r->ncons = r->cc.written;
	rc = 0;
out:
	for (size_t i = 0; i < MAX_PARTS; i++)
		part_free(&parts[i]);
	free(spl);
	free(ord);
	er_buf_free(&cand);
	er_buf_free(&scratch);
	er_buf_free(&o.b);
	return rc;
}

