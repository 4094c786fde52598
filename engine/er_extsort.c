/* er_extsort.c - external merge sort of (key, value) records (see er_extsort.h).
 *
 * A record, in memory and in a run alike: u32 key length, u32 value length,
 * key bytes, value bytes (native byte order: the file never outlives the
 * process). */
#include "er_extsort.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "er_spill.h"
#include "er_util.h"

#define HDR 8u
#define MAX_KEY (64u << 10)
#define MIN_BUDGET (4u << 10)
#define READ_MIN (16u << 10)
#define READ_MAX (1u << 20)

typedef struct src {
	/* a run on disk (off..end), or the in-memory buffer (mem = 1) */
	int mem;
	uint64_t off, end;
	er_buf buf;
	size_t pos;                  /* start of the current record in buf */
	size_t idx;                  /* next index entry (memory source) */
	const char *rec;             /* current record, NULL when exhausted */
} src;

typedef struct runinfo {
	uint64_t off, len;
} runinfo;

struct er_extsort {
	size_t budget;
	er_spill sp;
	char *tmpdir;
	er_buf arena;
	size_t *ix;                  /* offsets of the records in arena */
	size_t nix, capix;
	int sorted;                  /* records added since the last spill are in order */
	runinfo *runs;
	size_t nruns, capruns;
	uint64_t nrec;
	int reading, err;
	src *srcs;
	size_t nsrc;
	size_t *heap;                /* source indexes, a min-heap */
	size_t nheap;
	er_buf cur;
};

static uint32_t rd32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static size_t rec_len(const char *r)
{
	return HDR + (size_t)rd32(r) + rd32(r + 4);
}

/* Keys as bytes, shorter first on a common prefix. */
static int key_cmp(const char *a, const char *b)
{
	uint32_t na = rd32(a), nb = rd32(b);
	int c = memcmp(a + HDR, b + HDR, na < nb ? na : nb);
	if (c)
		return c;
	return na < nb ? -1 : na > nb;
}

er_extsort *er_extsort_new(size_t budget, const char *tmpdir)
{
	er_extsort *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->budget = budget < MIN_BUDGET ? MIN_BUDGET : budget;
	s->sp.fd = -1;
	s->sorted = 1;
	if (tmpdir && !(s->tmpdir = strdup(tmpdir))) {
		free(s);
		return NULL;
	}
	s->sp.dir = s->tmpdir;
	return s;
}

void er_extsort_free(er_extsort *s)
{
	if (!s)
		return;
	er_spill_close(&s->sp);
	er_buf_free(&s->arena);
	free(s->ix);
	free(s->runs);
	for (size_t i = 0; i < s->nsrc; i++)
		er_buf_free(&s->srcs[i].buf);
	free(s->srcs);
	free(s->heap);
	er_buf_free(&s->cur);
	free(s->tmpdir);
	free(s);
}

static int fail(er_extsort *s, int e)
{
	s->err = e ? e : EIO;
	errno = s->err;
	return -1;
}

static const char *arena_rec(const er_extsort *s, size_t i)
{
	return s->arena.p + s->ix[i];
}

/* Stable sort of the index: by key, then by offset (= insertion order). */
static int ix_cmp(const void *a, const void *b, void *ctx)
{
	const er_extsort *s = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = key_cmp(s->arena.p + x, s->arena.p + y);
	return c ? c : (x < y ? -1 : x > y);
}

static void sort_arena(er_extsort *s)
{
	if (!s->sorted)
		qsort_r(s->ix, s->nix, sizeof *s->ix, ix_cmp, s);
}

/* Write the buffered records, in key order, as one run. */
static int spill_run(er_extsort *s)
{
	sort_arena(s);
	if (s->nruns == s->capruns) {
		size_t cap = s->capruns ? 2 * s->capruns : 16;
		runinfo *r = realloc(s->runs, cap * sizeof *r);
		if (!r)
			return fail(s, ENOMEM);
		s->runs = r;
		s->capruns = cap;
	}
	if (er_spill_open(&s->sp) < 0)
		return fail(s, errno);
	uint64_t start = s->sp.end;
	er_buf w = {0};
	for (size_t i = 0; i < s->nix; i++) {
		const char *r = arena_rec(s, i);
		if (er_buf_append(&w, r, rec_len(r)) < 0) {
			er_buf_free(&w);
			return fail(s, ENOMEM);
		}
		if (w.len >= READ_MAX || i + 1 == s->nix) {
			if (er_spill_append(&s->sp, w.p, w.len, NULL) < 0) {
				int e = errno;
				er_buf_free(&w);
				return fail(s, e);
			}
			w.len = 0;
		}
	}
	er_buf_free(&w);
	s->runs[s->nruns++] = (runinfo){ start, s->sp.end - start };
	s->arena.len = 0;
	s->nix = 0;
	s->sorted = 1;
	return 0;
}

int er_extsort_add(er_extsort *s, const char *key, size_t klen, const char *val, size_t vlen)
{
	if (s->err)
		return fail(s, s->err);
	if (s->reading || klen > MAX_KEY || vlen > UINT32_MAX - MAX_KEY)
		return fail(s, EINVAL);
	size_t need = HDR + klen + vlen;
	if (s->nix && s->arena.len + need + (s->nix + 1) * sizeof *s->ix > s->budget &&
	    spill_run(s) < 0)
		return -1;
	if (s->nix == s->capix) {
		size_t cap = s->capix ? 2 * s->capix : 1024;
		size_t *ix = realloc(s->ix, cap * sizeof *ix);
		if (!ix)
			return fail(s, ENOMEM);
		s->ix = ix;
		s->capix = cap;
	}
	if (!s->arena.cap) { /* the whole budget at once: doubling would overshoot it */
		if (!(s->arena.p = malloc(s->budget)))
			return fail(s, ENOMEM);
		s->arena.cap = s->budget;
	}
	if (er_buf_reserve(&s->arena, need) < 0) /* grows only for one record over the budget */
		return fail(s, ENOMEM);
	size_t off = s->arena.len;
	char *p = s->arena.p + off;
	uint32_t k32 = (uint32_t)klen, v32 = (uint32_t)vlen;
	memcpy(p, &k32, 4);
	memcpy(p + 4, &v32, 4);
	if (klen)
		memcpy(p + HDR, key, klen);
	if (vlen)
		memcpy(p + HDR + klen, val, vlen);
	s->arena.len += need;
	if (s->sorted && s->nix && key_cmp(arena_rec(s, s->nix - 1), p) > 0)
		s->sorted = 0;
	s->ix[s->nix++] = off;
	s->nrec++;
	return 0;
}

/* Make the current record of a disk source whole in its buffer (or mark it
 * exhausted). 0 or -1. */
static int src_load(er_extsort *s, src *x, size_t bufsz)
{
	for (;;) {
		size_t have = x->buf.len - x->pos;
		size_t need = have >= HDR ? rec_len(x->buf.p + x->pos) : HDR;
		if (have >= need) {
			x->rec = x->buf.p + x->pos;
			return 0;
		}
		if (x->off >= x->end) {
			if (have)
				return fail(s, EIO); /* a run cut short: never expected */
			x->rec = NULL;
			return 0;
		}
		if (have)
			memmove(x->buf.p, x->buf.p + x->pos, have);
		x->buf.len = have;
		x->pos = 0;
		size_t want = need > bufsz ? need : bufsz;
		if (er_buf_reserve(&x->buf, want - have) < 0)
			return fail(s, ENOMEM);
		uint64_t left = x->end - x->off;
		size_t n = x->buf.cap - x->buf.len;
		if (n > left)
			n = (size_t)left;
		if (er_spill_pread(&s->sp, x->buf.p + x->buf.len, n, x->off) < 0)
			return fail(s, errno);
		x->buf.len += n;
		x->off += n;
	}
}

static int src_advance(er_extsort *s, src *x, size_t bufsz)
{
	if (x->mem) {
		x->rec = x->idx < s->nix ? arena_rec(s, x->idx++) : NULL;
		return 0;
	}
	x->pos += rec_len(x->rec);
	return src_load(s, x, bufsz);
}

/* Heap order: key, then source index (runs were written in insertion order,
 * the in-memory buffer is last), which keeps equal keys stable. */
static int heap_less(const er_extsort *s, size_t a, size_t b)
{
	int c = key_cmp(s->srcs[a].rec, s->srcs[b].rec);
	return c ? c < 0 : a < b;
}

static void heap_down(er_extsort *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < s->nheap && heap_less(s, s->heap[l], s->heap[m]))
			m = l;
		if (l + 1 < s->nheap && heap_less(s, s->heap[l + 1], s->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		size_t t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
}

static size_t read_bufsz(const er_extsort *s)
{
	size_t b = s->nruns ? s->budget / (2 * s->nruns) : READ_MAX;
	return b < READ_MIN ? READ_MIN : b > READ_MAX ? READ_MAX : b;
}

int er_extsort_finish(er_extsort *s)
{
	if (s->err)
		return fail(s, s->err);
	if (s->reading)
		return fail(s, EINVAL);
	s->reading = 1;
	sort_arena(s);
	s->nsrc = s->nruns + 1;
	s->srcs = calloc(s->nsrc, sizeof *s->srcs);
	s->heap = calloc(s->nsrc, sizeof *s->heap);
	if (!s->srcs || !s->heap)
		return fail(s, ENOMEM);
	size_t bufsz = read_bufsz(s);
	for (size_t i = 0; i < s->nsrc; i++) {
		src *x = &s->srcs[i];
		if (i < s->nruns) {
			x->off = s->runs[i].off;
			x->end = s->runs[i].off + s->runs[i].len;
			if (src_load(s, x, bufsz) < 0)
				return -1;
		} else {
			x->mem = 1;
			src_advance(s, x, bufsz);
		}
		if (x->rec)
			s->heap[s->nheap++] = i;
	}
	for (size_t i = s->nheap; i-- > 0;)
		heap_down(s, i);
	return 0;
}

int er_extsort_next(er_extsort *s, const char **key, size_t *klen, const char **val, size_t *vlen)
{
	if (s->err)
		return fail(s, s->err);
	if (!s->reading)
		return fail(s, EINVAL);
	if (!s->nheap)
		return 0;
	src *x = &s->srcs[s->heap[0]];
	size_t n = rec_len(x->rec);
	s->cur.len = 0;
	if (er_buf_append(&s->cur, x->rec, n) < 0)
		return fail(s, ENOMEM);
	if (src_advance(s, x, read_bufsz(s)) < 0)
		return -1;
	if (!x->rec)
		s->heap[0] = s->heap[--s->nheap];
	heap_down(s, 0);
	const char *r = s->cur.p;
	*klen = rd32(r);
	*vlen = rd32(r + 4);
	*key = r + HDR;
	*val = r + HDR + *klen;
	return 1;
}

uint64_t er_extsort_records(const er_extsort *s)
{
	return s->nrec;
}

size_t er_extsort_runs(const er_extsort *s)
{
	return s->nruns;
}

uint64_t er_extsort_spilled(const er_extsort *s)
{
	return s->sp.end;
}
