/* er_rollrun.c - the roll-up's sorted runs: sorting records (radix sort on
 * key bytes), runs with sample points in the spill file or still in memory
 * (a chunk's run), their k-way merger, and the spiller thread that merges
 * full batches of chunk runs to disk while rows still arrive. */
#include "er_rollup_int.h"

#include <stdlib.h>

/* ========================================================= sorting a run */

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	       (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	       (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* memcmp order of a[0..na) and b[0..nb), the shorter first when one is a
 * prefix of the other; inline, 8 bytes a step (keys are short). */
static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t n = na < nb ? na : nb, i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t u = be64(x + i), v = be64(y + i);
		if (u != v)
			return u < v ? -1 : 1;
	}
	for (; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

/* Order of records: key bytes, type (container first), shipper key bytes,
 * seq. It is the output's tie-break order, it groups a consolidation's
 * records, and puts its equal shippers side by side. seq is unique, so the
 * order is total. */
static int cr_cmp(const char *a, const char *b)
{
	uint32_t ka = rd32(a + CR_KLEN), kb = rd32(b + CR_KLEN);
	int c = bytes_cmp(a + CR_HDR, ka, b + CR_HDR, kb);
	if (c)
		return c;
	if (a[CR_TYPE] != b[CR_TYPE])
		return a[CR_TYPE] < b[CR_TYPE] ? -1 : 1;
	c = bytes_cmp(a + CR_HDR + ka, rd32(a + CR_SLEN), b + CR_HDR + kb, rd32(b + CR_SLEN));
	if (c)
		return c;
	uint64_t qa = rd64(a + CR_SEQ), qb = rd64(b + CR_SEQ);
	return qa < qb ? -1 : qa > qb;
}

/* Key bytes [8 depth, 8 depth + 8), zero-padded, as a big-endian integer:
 * comparing these agrees with cr_cmp for keys equal before them. */
uint64_t er_ru_key_prefix(const char *rec, size_t depth)
{
	size_t klen = rd32(rec + CR_KLEN), from = depth * 8;
	const unsigned char *k = (const unsigned char *)rec + CR_HDR + from;
	size_t n = klen > from ? klen - from : 0;
	if (n >= 8)
		return be64(k);
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | (i < n ? k[i] : 0);
	return v;
}

static int sel_less(const char *base, const sel *a, const sel *b)
{
	if (a->pfx != b->pfx)
		return a->pfx < b->pfx;
	return cr_cmp(base + a->off, base + b->off) < 0;
}

static void insertion_sort(const char *base, sel *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		sel v = a[i];
		size_t j = i;
		for (; j && sel_less(base, &v, &a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/* Bottom-up merge sort with t as scratch: for large groups of equal keys. */
static void merge_sort(const char *base, sel *a, sel *t, size_t n)
{
	enum { RUN = 16 };
	for (size_t i = 0; i < n; i += RUN)
		insertion_sort(base, a + i, n - i < RUN ? n - i : RUN);
	sel *src = a, *dst = t;
	for (size_t w = RUN; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi)
				dst[o++] = sel_less(base, &src[j], &src[i]) ? src[j++] : src[i++];
			while (i < mid)
				dst[o++] = src[i++];
			while (j < hi)
				dst[o++] = src[j++];
		}
		sel *s = src;
		src = dst;
		dst = s;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

/* LSD radix sort on pfx, a byte per pass, skipping bytes all entries share
 * (ASCII keys have many). */
static void radix_sort(sel *a, sel *t, size_t n)
{
	size_t cnt[8][256];
	memset(cnt, 0, sizeof cnt);
	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < 8; d++)
			cnt[d][(a[i].pfx >> (8 * d)) & 255]++;
	sel *src = a, *dst = t;
	for (int d = 0; d < 8; d++) {
		size_t *c = cnt[d];
		if (c[(src[0].pfx >> (8 * d)) & 255] == n)
			continue;
		size_t sum = 0;
		for (int v = 0; v < 256; v++) {
			size_t k = c[v];
			c[v] = sum;
			sum += k;
		}
		for (size_t i = 0; i < n; i++)
			dst[c[(src[i].pfx >> (8 * d)) & 255]++] = src[i];
		sel *s = src;
		src = dst;
		dst = s;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

enum { SMALL_SORT = 32, MAX_DEPTH = 4 };

static void sort_ties(const char *base, sel *a, sel *t, size_t n, size_t depth);

/* Sort a[0..n) whose keys agree before byte 8 depth, pfx set for depth. */
void er_ru_sort_sel(const char *base, sel *a, sel *t, size_t n, size_t depth)
{
	if (n <= SMALL_SORT) {
		insertion_sort(base, a, n);
		return;
	}
	radix_sort(a, t, n);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && a[j].pfx == a[i].pfx)
			j++;
		/* ties read their records, in random order: fetch ahead */
		for (size_t k = i + 16; k < j + 16 && k < n; k++)
			__builtin_prefetch(base + a[k].off);
		if (j - i > 1)
			sort_ties(base, a + i, t + i, j - i, depth);
		i = j;
	}
}

/* a[0..n) share their key bytes up to 8 (depth + 1): look further into the
 * keys (sequential bill numbers share long prefixes), else compare fully. */
static void sort_ties(const char *base, sel *a, sel *t, size_t n, size_t depth)
{
	size_t next = depth + 1;
	int longer = 0;
	for (size_t i = 0; i < n && !longer; i++)
		longer = rd32(base + a[i].off + CR_KLEN) > next * 8;
	if (longer && next < MAX_DEPTH) {
		for (size_t i = 0; i < n; i++)
			a[i].pfx = er_ru_key_prefix(base + a[i].off, next);
		er_ru_sort_sel(base, a, t, n, next);
		return;
	}
	if (n <= SMALL_SORT)
		insertion_sort(base, a, n);
	else
		merge_sort(base, a, t, n);
}

/* ================================================================ runs */

int er_ru_add_point(er_buf *b, uint64_t off, const char *rec)
{
	size_t n = rd32(rec + CR_KLEN), cut = n > SPLIT_KEY ? SPLIT_KEY : n;
	if (er_buf_reserve(b, PT_HDR + cut) < 0)
		return -1;
	char *o = b->p + b->len;
	memcpy(o, &off, 8);
	wr32(o + 8, cut);
	o[12] = rec[CR_TYPE];
	o[13] = (char)(cut == n);
	memcpy(o + PT_HDR, rec + CR_HDR, cut);
	b->len += PT_HDR + cut;
	return 0;
}

/* Runs are written through r->wbuf, contiguously: nothing else is appended
 * to the spill file while a run is being written (one thread then). */
static size_t wbuf_limit(const er_rollup *r)
{
	return clamp_size(r->budget / 16, 4096, 1 << 20);
}

static uint64_t run_begin(er_rollup *r)
{
	r->pts0 = r->points.len;
	r->npts = 0;
	return r->sp.end;
}

/* Append a record to the run being written; sample: make it a point. */
static int run_put(er_rollup *r, const char *p, size_t n, int sample)
{
	if (r->wbuf.len && r->wbuf.len + n > wbuf_limit(r)) {
		if (er_spill_append(&r->sp, r->wbuf.p, r->wbuf.len, NULL) < 0)
			return -1;
		r->wbuf.len = 0;
	}
	if (sample) {
		if (er_ru_add_point(&r->points, r->sp.end + r->wbuf.len, p) < 0)
			return -1;
		r->npts++;
	}
	return er_buf_append(&r->wbuf, p, n);
}

/* Flush the run begun at start; record it. */
static int run_end(er_rollup *r, uint64_t start)
{
	if (r->wbuf.len && er_spill_append(&r->sp, r->wbuf.p, r->wbuf.len, NULL) < 0)
		return -1;
	r->wbuf.len = 0;
	if (r->nruns == r->runcap) {
		size_t cap = r->runcap ? r->runcap * 2 : 16;
		run *nr = realloc(r->runs, cap * sizeof *nr);
		if (!nr)
			return -1;
		r->runs = nr;
		r->runcap = cap;
	}
	r->runs[r->nruns++] = (run){ start, r->sp.end - start, r->pts0, r->npts, NULL, NULL };
	return 0;
}

/* ============================================================== merging */

int er_ru_bound_cmp(const char *rec, const bound *b)
{
	int c = bytes_cmp(rec + CR_HDR, rd32(rec + CR_KLEN), b->key, b->n);
	return c ? c : rec[CR_TYPE] - b->type;
}

int er_ru_bound_order(const void *a, const void *b)
{
	const bound *x = a, *y = b;
	int c = bytes_cmp(x->key, x->n, y->key, y->n);
	return c ? c : x->type - y->type;
}

/* NULL for a run without sample points (the points buffer may never have
 * been allocated: NULL + 0 is undefined). */
const char *er_ru_run_pts(const er_rollup *r, const run *u)
{
	if (!u->npts)
		return NULL;
	return u->mem ? u->mpts : r->points.p + u->pts;
}

/* Make buf hold at least need unread bytes. */
static int rr_fill(const er_rollup *r, rreader *rd, size_t need)
{
	size_t have = rd->buf.len - rd->pos;
	if (rd->pos) {
		memmove(rd->buf.p, rd->buf.p + rd->pos, have);
		rd->buf.len = have;
		rd->pos = 0;
	}
	size_t want = need > rd->bsize ? need : rd->bsize;
	if (rd->buf.cap < want && er_buf_reserve(&rd->buf, want - rd->buf.len) < 0)
		return -1;
	while (rd->buf.len < need) {
		uint64_t left = rd->end - rd->off;
		size_t room = rd->buf.cap - rd->buf.len;
		size_t n = left < room ? (size_t)left : room;
		if (!n) { /* a run ends inside a record: never expected */
			errno = EIO;
			return -1;
		}
		if (er_spill_pread(&r->sp, rd->buf.p + rd->buf.len, n, rd->off) < 0)
			return -1;
		rd->buf.len += n;
		rd->off += n;
	}
	return 0;
}

static int rr_next(const er_rollup *r, rreader *rd)
{
	for (;;) {
		if (rd->mem) {
			rd->rec = rd->off < rd->end ? rd->mem + rd->off : NULL;
			if (rd->rec)
				rd->off += cr_len(rd->rec);
		} else if (rd->pos == rd->buf.len && rd->off == rd->end) {
			rd->rec = NULL;
		} else {
			if (rd->buf.len - rd->pos < CR_HDR && rr_fill(r, rd, CR_HDR) < 0)
				return -1;
			size_t len = cr_len(rd->buf.p + rd->pos);
			if (rd->buf.len - rd->pos < len && rr_fill(r, rd, len) < 0)
				return -1;
			rd->rec = rd->buf.p + rd->pos;
			rd->pos += len;
		}
		if (!rd->rec)
			return 0;
		if (rd->lo) {
			if (er_ru_bound_cmp(rd->rec, rd->lo) < 0)
				continue;
			rd->lo = NULL; /* runs are sorted: all further records qualify */
		}
		if (!rd->filter || !r->nfailed || !er_ru_is_failed(r, rd64(rd->rec + CR_SEQ)))
			return 0;
	}
}

static int hless(const hnode *a, const hnode *b)
{
	if (a->pfx != b->pfx)
		return a->pfx < b->pfx;
	return cr_cmp(a->rec, b->rec) < 0;
}

static void sift_down(merger *m, size_t i)
{
	hnode v = m->h[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m->n)
			break;
		if (c + 1 < m->n && hless(&m->h[c + 1], &m->h[c]))
			c++;
		if (!hless(&m->h[c], &v))
			break;
		m->h[i] = m->h[c];
		i = c;
	}
	m->h[i] = v;
}

void er_ru_merger_close(merger *m)
{
	for (size_t i = 0; i < m->k; i++)
		er_buf_free(&m->rd[i].buf);
	free(m->rd);
	free(m->h);
	memset(m, 0, sizeof *m);
}

/* Merge runs[0..k) from lo on (NULL: from the start); the file readers
 * share rbudget bytes of buffers. filter: skip rows of rolled-back files
 * (not while rows still arrive: the spiller must not read r->failed). */
int er_ru_merger_open(const er_rollup *r, merger *m, const run *runs, size_t k,
                       const bound *lo, size_t rbudget, int filter)
{
	memset(m, 0, sizeof *m);
	if (!k)
		return 0;
	m->rd = calloc(k, sizeof *m->rd);
	m->h = calloc(k, sizeof *m->h);
	if (!m->rd || !m->h) {
		er_ru_merger_close(m);
		return -1;
	}
	m->k = k;
	size_t nfile = 0;
	for (size_t i = 0; i < k; i++)
		nfile += runs[i].mem ? 0 : 1;
	size_t bsize = clamp_size(rbudget / (nfile ? nfile : 1), RBUF_MIN, 1 << 20);
	for (size_t i = 0; i < k; i++) {
		rreader *rd = &m->rd[i];
		rd->mem = runs[i].mem;
		rd->off = runs[i].off;
		rd->end = runs[i].off + runs[i].len;
		rd->bsize = bsize;
		rd->lo = lo;
		rd->filter = filter;
		/* records before a point below lo are below lo too */
		const char *pt = er_ru_run_pts(r, &runs[i]);
		for (size_t j = 0; lo && j < runs[i].npts; j++) {
			bound b = { pt + PT_HDR, rd32(pt + 8), pt[12] };
			if (!pt[13] || er_ru_bound_order(&b, lo) >= 0)
				break;
			rd->off = rd64(pt);
			pt += PT_HDR + b.n;
		}
		if (rr_next(r, rd) < 0) {
			er_ru_merger_close(m);
			return -1;
		}
		if (rd->rec)
			m->h[m->n++] = (hnode){ er_ru_key_prefix(rd->rec, 0), rd->rec, i };
	}
	for (size_t i = m->n / 2; i-- > 0;)
		sift_down(m, i);
	return 0;
}

/* The smallest record, NULL at the end; valid until merger_pop. */
const char *er_ru_merger_top(const merger *m)
{
	return m->n ? m->h[0].rec : NULL;
}

int er_ru_merger_pop(const er_rollup *r, merger *m)
{
	/* every end-phase merge goes through here: the place to notice a cancel */
	if ((++m->pops & 4095) == 0 && cancelled(r->cancel))
		return -1;
	rreader *rd = &m->rd[m->h[0].rd];
	if (rr_next(r, rd) < 0)
		return -1;
	if (rd->rec) {
		m->h[0].rec = rd->rec;
		m->h[0].pfx = er_ru_key_prefix(rd->rec, 0);
	} else {
		m->h[0] = m->h[--m->n];
	}
	if (m->n)
		sift_down(m, 0);
	return 0;
}

/* Runs merged at once: each reader needs a useful buffer. */
static size_t fan_in(const er_rollup *r)
{
	size_t f = final_budget(r) / RBUF_MIN;
	return f < 2 ? 2 : f;
}

/* Merge in[0..f) into one run at the end of the list (in may not point
 * into r->runs). */
static int merge_pass(er_rollup *r, const run *in, size_t f, int filter)
{
	merger m;
	if (er_spill_open(&r->sp) < 0 || er_ru_merger_open(r, &m, in, f, NULL, final_budget(r), filter) < 0)
		return -1;
	uint64_t start = run_begin(r), total = 1, done = 0, sampled = 0;
	for (size_t i = 0; i < f; i++)
		total += in[i].len;
	const char *rec;
	while ((rec = er_ru_merger_top(&m))) {
		size_t len = cr_len(rec);
		uint64_t q = done * NPOINTS / total; /* a point each 1/NPOINTS of the bytes */
		if (run_put(r, rec, len, q > sampled) < 0 || er_ru_merger_pop(r, &m) < 0) {
			er_ru_merger_close(&m);
			return -1;
		}
		sampled = q;
		done += len;
	}
	er_ru_merger_close(&m);
	return run_end(r, start);
}

/* ======================================================== the spiller */

/* A chunk's run buffer as a run. */
static run mem_run(const er_buf *b)
{
	uint64_t rb = rd64(b->p);
	return (run){ 0, rb, 0, (size_t)rd64(b->p + 8), b->p + RUN_HDR, b->p + RUN_HDR + rb };
}

void er_ru_free_batch(er_buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		er_buf_free(&b[i]);
	free(b);
}

/* Merge a batch of chunk runs into one run on disk. */
static int spill_batch(er_rollup *r, const er_buf *b, size_t n)
{
	run *in = malloc((n ? n : 1) * sizeof *in);
	if (!in)
		return -1;
	for (size_t i = 0; i < n; i++)
		in[i] = mem_run(&b[i]);
	int rc = merge_pass(r, in, n, 0);
	free(in);
	return rc;
}

static void *spiller_main(void *arg)
{
	er_rollup *r = arg;
	spiller *s = &r->spl;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->busy && !s->stop)
			pthread_cond_wait(&s->c, &s->mu);
		if (!s->busy)
			break;
		er_buf *b = s->batch;
		size_t n = s->nbatch;
		pthread_mutex_unlock(&s->mu);
		errno = 0;
		int e = spill_batch(r, b, n) < 0 ? (errno ? errno : EIO) : 0;
		er_ru_free_batch(b, n);
		pthread_mutex_lock(&s->mu);
		if (e && !s->err)
			s->err = e;
		s->batch = NULL;
		s->busy = 0;
		pthread_cond_broadcast(&s->c);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Hand the linked chunk runs to the spiller (waiting while it still merges
 * the previous batch: memory stays bounded); without a thread (--threads 1
 * asks for one core, or none could start), merge them here. */
int er_ru_spiller_hand(er_rollup *r)
{
	spiller *s = &r->spl;
	if (!s->started && er_ru_end_threads(r) > 1) {
		pthread_mutex_init(&s->mu, NULL);
		pthread_cond_init(&s->c, NULL);
		s->started = pthread_create(&s->tid, NULL, spiller_main, r) == 0;
		if (!s->started) {
			pthread_mutex_destroy(&s->mu);
			pthread_cond_destroy(&s->c);
		}
	}
	int e = 0;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		while (s->busy)
			pthread_cond_wait(&s->c, &s->mu);
		e = s->err;
		if (!e) {
			s->batch = r->mem;
			s->nbatch = r->nmem;
			s->busy = 1;
			pthread_cond_broadcast(&s->c);
		}
		pthread_mutex_unlock(&s->mu);
	} else {
		errno = 0;
		e = spill_batch(r, r->mem, r->nmem) < 0 ? (errno ? errno : EIO) : 0;
		er_ru_free_batch(r->mem, r->nmem);
	}
	if (e) {
		errno = e;
		return -1;
	}
	r->mem = NULL;
	r->nmem = r->memcap = r->mem_bytes = r->nmem_mark = 0;
	return 0;
}

/* Wait for the spiller's last batch and stop it. 0, or -1 with its errno. */
int er_ru_spiller_finish(er_rollup *r)
{
	spiller *s = &r->spl;
	if (!s->started)
		return s->err ? (errno = s->err, -1) : 0;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->tid, NULL); /* it finishes a batch it holds first */
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->c);
	s->started = 0;
	if (s->err) {
		errno = s->err;
		return -1;
	}
	return 0;
}


/* Once, before the first output: the spiller's last run, few enough runs
 * on disk for one merge, and the chunk runs still in memory as runs too. */
int er_ru_finish_runs(er_rollup *r)
{
	if (r->finished)
		return 0;
	if (er_ru_spiller_finish(r) < 0)
		return -1;
	/* the queue's buffers go to disk when spilling anyway: the end phase
	 * has the budget (see arena_budget in er_rollup_int.h) */
	if (r->nruns && r->q.s && er_ru_bs_spill_all(&r->q) < 0)
		return -1;
	size_t f_in = fan_in(r);
	/* too many runs for one merge: merge them f_in at a time, oldest
	 * first (a balanced tree of merges), until they are few enough */
	size_t head = 0;
	while (r->nruns - head + (r->nmem ? 1 : 0) > f_in) {
		run *in = malloc(f_in * sizeof *in);
		if (!in)
			return -1;
		memcpy(in, r->runs + head, f_in * sizeof *in);
		int rc = merge_pass(r, in, f_in, 1);
		free(in);
		if (rc < 0)
			return -1;
		head += f_in;
	}
	if (head) {
		memmove(r->runs, r->runs + head, (r->nruns - head) * sizeof *r->runs);
		r->nruns -= head;
	}
	er_buf_free(&r->wbuf);
	if (r->nruns + r->nmem > r->runcap) {
		run *nr = realloc(r->runs, (r->nruns + r->nmem) * sizeof *nr);
		if (!nr)
			return -1;
		r->runs = nr;
		r->runcap = r->nruns + r->nmem;
	}
	for (size_t i = 0; i < r->nmem; i++)
		r->runs[r->nruns++] = mem_run(&r->mem[i]);
	r->finished = 1;
	return 0;
}

