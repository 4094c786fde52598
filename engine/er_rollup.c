/* er_rollup.c - consolidations and the exam queue (see er_rollup.h).
 *
 * Memory is bounded by a budget (er_rollup_set_budget), whatever the input
 * size; what does not fit goes to unlinked spill files.
 *
 * Writer side (per row, input order) the collector only appends:
 *  - a row with a consolidation key: its record, encoded by the worker in
 *    the final layout, is copied to an arena. When the arena is full it is
 *    sorted (radix sort on key bytes) by (key, key type, shipper, seq) and
 *    written to the spill file as a sorted run;
 *  - a queued row is formatted at once and appended to the bucket of its
 *    queue order key (front_of_line, lane, score): 2 x 3 x 256 buckets, each
 *    in input order, so the queue never needs a sort.
 *
 * End: a k-way merge of the runs (and of the last, in-memory one) yields the
 * records grouped by consolidation, in the output's tie-break order (key
 * bytes, then container before master_bill). A group folds into one
 * aggregate with O(1) state: its records arrive sorted by shipper, so
 * distinct shippers are counted by comparing neighbours. Each formatted line
 * goes to the bucket of its printed probability; buckets are emitted by
 * probability descending, and each is already in key order. No global
 * comparison sort happens: the probability depends only on the per-lane
 * counts, so distinct printed values are few. The key space is cut into
 * PARTS_PER_CPU ranges per end-phase thread (er_rollup_set_threads; at most
 * MAX_PARTS), which the threads take in turn and merge; a bucket's lines are
 * then emitted range after range. Several ranges per thread keep the CPUs
 * busy to the end when one of them runs slower (a shared machine), which one
 * range per CPU did not.
 *
 * Buckets (queue entries, consolidation lines) are chains of blocks in a
 * spill file plus an in-memory tail (see "bucket streams").
 *
 * Rows of a file rolled back by er_rollup_file_done(r, 0) are cut from the
 * arena when still there, and in any case skipped by their sequence number
 * (input order) when runs and queue buckets are read back. */
#include "er_rollup.h"
#include "er_spill.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "er_rules.h"
#include "er_table.h"

/* ============================================================ row record */

/* A worker encodes each scored row as the writer will keep it: the
 * consolidation record (CR_*: what the arena and the runs hold, seq left 0
 * for the writer to set), then the two party statuses, which only the queue
 * needs. The writer's per-row work is then a check and one copy. Native
 * byte order: produced and consumed in one process.
 *
 * Consolidation record, packed:
 *   u64 seq, u32 key_len, shipper_len, cont_len, id_len,
 *   u8 type (T_CONT < T_MBL: the output's tie-break order), lane, score, flags,
 *   then the key (master bill, else container id; may be empty), shipper
 *   key, container id and shipment id bytes.
 * Then: u32 n, importer status; u32 n, shipper status.
 * The key and the shipper key come first: they are what sorting reads. */
enum { F_FRONT = 1, F_CERT = 2, F_LCL = 4, F_FCL = 8 };
enum { T_CONT = 0, T_MBL = 1 };
enum {
	CR_SEQ = 0, CR_KLEN = 8, CR_SLEN = 12, CR_CLEN = 16, CR_ILEN = 20,
	CR_TYPE = 24, CR_LANE = 25, CR_SCORE = 26, CR_FLAGS = 27, CR_HDR = 28
};

/* A chunk's run (er_rollup_sort_chunk): {u64 record bytes, u64 points},
 * the consolidation records in sort order, then their sample points. */
enum { RUN_HDR = 16 };

static uint32_t rd32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static uint64_t rd64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static void wr32(char *p, size_t v)
{
	uint32_t l = (uint32_t)v;
	memcpy(p, &l, sizeof l);
}

static size_t cr_len(const char *rec)
{
	return CR_HDR + (size_t)rd32(rec + CR_KLEN) + rd32(rec + CR_SLEN) + rd32(rec + CR_CLEN) +
	       rd32(rec + CR_ILEN);
}

/* Append the shipper's identity for counting distinct shippers: "I" +
 * shipper_id, else "N" + normalized shipper_name + "/" + shipper_country
 * (upper-case), else "" (all unidentified shippers of a consolidation count
 * as one). */
static int put_shipper_key(er_buf *b, const er_row *row)
{
	er_field id = er_row_field(row, ER_COL_SHIPPER_ID);
	er_field name = er_row_field(row, ER_COL_SHIPPER_NAME);
	er_field cc = er_row_field(row, ER_COL_SHIPPER_COUNTRY);
	if (id.n) {
		if (er_buf_reserve(b, 1 + id.n) < 0)
			return -1;
		b->p[b->len] = 'I';
		memcpy(b->p + b->len + 1, id.p, id.n);
		b->len += 1 + id.n;
		return 0;
	}
	if (!name.n)
		return 0;
	size_t cap = ER_NAME_NORM_CAP(name.n);
	if (name.n > (UINT32_MAX - 64) / 12 || er_buf_reserve(b, 2 + cap + cc.n) < 0)
		return -1;
	char *o = b->p + b->len;
	o[0] = 'N';
	size_t len = 1 + er_name_normalize(name.p, name.n, o + 1, cap);
	o[len++] = '/';
	for (size_t i = 0; i < cc.n; i++) {
		char c = cc.p[i];
		o[len++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	b->len += len;
	return 0;
}

int er_rollup_encode(er_buf *b, const er_row *row, const er_result *res, uint64_t line)
{
	(void)line; /* input order is the order of merging */
	size_t start = b->len;
	er_field lt = er_row_field(row, ER_COL_LOAD_TYPE);
	int flags = (res->front_of_line ? F_FRONT : 0) | (res->shipper_certified ? F_CERT : 0);
	if (er_ieq(lt.p, lt.n, "LCL"))
		flags |= F_LCL;
	else if (er_ieq(lt.p, lt.n, "FCL"))
		flags |= F_FCL;
	int lane = res->lane >= 0 && res->lane < ER_NLANES ? res->lane : ER_LANE_GREEN;
	int score = res->score < 0 ? 0 : res->score > 255 ? 255 : res->score;
	er_field id = er_row_field(row, ER_COL_SHIPMENT_ID);
	er_field mbl = er_row_field(row, ER_COL_MASTER_BILL);
	er_field cont = er_row_field(row, ER_COL_CONTAINER_ID);
	const er_field *key = mbl.n ? &mbl : &cont;
	size_t is = strnlen(res->importer_status, sizeof res->importer_status);
	size_t ss = strnlen(res->shipper_status, sizeof res->shipper_status);
	/* fields are far below 4 GiB (the parser's limit): lengths fit a u32 */
	if (key->n > UINT32_MAX / 8 || cont.n > UINT32_MAX / 8 || id.n > UINT32_MAX / 8) {
		errno = EOVERFLOW;
		return -1;
	}
	if (er_buf_reserve(b, CR_HDR) < 0)
		return -1;
	memset(b->p + start, 0, CR_HDR);
	b->len += CR_HDR;
	size_t k0 = b->len;
	if (er_buf_append(b, key->p, key->n) < 0)
		goto fail;
	size_t s0 = b->len;
	if (put_shipper_key(b, row) < 0)
		goto fail;
	size_t slen = b->len - s0;
	if (slen > UINT32_MAX / 8) {
		errno = EOVERFLOW;
		goto fail;
	}
	if (er_buf_append(b, cont.p, cont.n) < 0 || er_buf_append(b, id.p, id.n) < 0 ||
	    er_buf_reserve(b, 8 + is + ss) < 0)
		goto fail;
	char *h = b->p + start;
	wr32(h + CR_KLEN, s0 - k0);
	wr32(h + CR_SLEN, slen);
	wr32(h + CR_CLEN, cont.n);
	wr32(h + CR_ILEN, id.n);
	h[CR_TYPE] = (char)(mbl.n ? T_MBL : T_CONT);
	h[CR_LANE] = (char)lane;
	h[CR_SCORE] = (char)score;
	h[CR_FLAGS] = (char)flags;
	char *o = b->p + b->len;
	wr32(o, is);
	memcpy(o + 4, res->importer_status, is);
	wr32(o + 4 + is, ss);
	memcpy(o + 8 + is, res->shipper_status, ss);
	b->len += 8 + is + ss;
	return 0;
fail:
	b->len = start; /* no half record */
	return -1;
}

/* A row as the writer reads it. */
typedef struct rowrec {
	const char *cr;              /* its consolidation record */
	size_t crlen;
	er_field imp, shp;           /* party statuses */
} rowrec;

/* Decode the record at p[*pos..n). 0 ok, -1 malformed. */
static int get_rec(const char *p, size_t n, size_t *pos, rowrec *x)
{
	size_t i = *pos;
	if (n - i < CR_HDR)
		return -1;
	x->cr = p + i;
	if ((unsigned char)x->cr[CR_LANE] >= ER_NLANES || (unsigned char)x->cr[CR_TYPE] > T_MBL)
		return -1;
	for (int k = 0; k < 4; k++) /* each length within the buffer: no overflow below */
		if (rd32(x->cr + CR_KLEN + 4 * k) > n - i)
			return -1;
	x->crlen = cr_len(x->cr);
	if (n - i < x->crlen)
		return -1;
	i += x->crlen;
	er_field *st[2] = { &x->imp, &x->shp };
	for (int k = 0; k < 2; k++) {
		if (n - i < 4)
			return -1;
		size_t l = rd32(p + i);
		i += 4;
		if (n - i < l)
			return -1;
		st[k]->p = p + i;
		st[k]->n = l;
		i += l;
	}
	*pos = i;
	return 0;
}

/* ============================================================ collector */

typedef struct seqrange {
	uint64_t lo, hi;             /* [lo, hi) */
} seqrange;

/* Sort index entry: the 8 key bytes at the current depth, big-endian, and
 * the record's offset in the arena. */
typedef struct sel {
	uint64_t pfx, off;
} sel;

/* A sorted run: in the spill file (mem NULL; its sample points at byte pts
 * of r->points), or a chunk's run still in memory (records at mem, points
 * at mpts; see er_rollup_sort_chunk). */
typedef struct run {
	uint64_t off, len;
	size_t pts, npts;            /* byte offset of the first, count */
	const char *mem, *mpts;
} run;

/* The thread that merges full batches of chunk runs into runs on disk, so
 * the writer thread only links buffers. */
typedef struct spiller {
	pthread_t tid;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t c;
	er_buf *batch;               /* handed over, owned by the thread while busy */
	size_t nbatch;
	int busy, stop, err;
} spiller;

/* A spill file (er_spill.h): runs and queue blocks share one; each part of
 * the end phase has its own (no locking: the parts only read the runs'). */
typedef er_spill spill;

/* One bucket stream (see "bucket streams"). */
typedef struct bstream {
	er_buf buf;                  /* BLK_HDR bytes of room, then whole items */
	uint64_t first, last;        /* offsets of its first / last block on disk */
	uint64_t first_len;          /* payload bytes of the first block */
} bstream;

typedef struct bstore {
	spill *sp;                   /* where its blocks go */
	bstream *s;
	size_t n, cap;
	size_t *dirty;               /* streams with a buffer */
	size_t ndirty, dirtycap;
	size_t mem;                  /* sum of the buffers' capacities */
	size_t budget;               /* past it, every buffer goes to disk */
} bstore;

struct er_rollup {
	double p[ER_NLANES];
	int want_consol, want_queue, resumption;
	int err;                     /* sticky errno: once set, merge and outputs fail */
	int threads;                 /* for the end phase; 0 = online CPUs */
	size_t budget;
	char *tmpdir;                /* NULL: $TMPDIR, else /tmp */
	uint64_t seq;                /* seq of the next chunk's first row: input order */
	uint64_t file_seq0;          /* seq of the first row of the file being read */
	seqrange *failed;            /* rows of rolled-back files, ascending */
	size_t nfailed, failedcap;
	spill sp;                    /* runs (written by the spiller) */
	spill qsp;                   /* queue blocks (written by the writer) */
	/* consolidations: chunk runs linked in input order, not yet handed over */
	er_buf *mem;
	size_t nmem, memcap, mem_bytes;
	size_t nmem_mark;            /* where the file being read starts in it */
	spiller spl;
	int finished;                /* finish_runs done: no more rows */
	er_buf rows1, run1, scr1;    /* er_rollup_merge's chunk */
	er_buf wbuf;                 /* write buffer for runs */
	run *runs;
	size_t nruns, runcap;
	er_buf points;               /* sample points of the runs (see "runs") */
	size_t pts0, npts;           /* those of the run being written */
	size_t ncons;                /* consolidations of the last write */
	/* filter of the consolidations output (er_rollup_set_consol_filter) */
	uint64_t min_shipments, top;
	er_consol_counts cc;         /* of the last write */
	/* exam queue */
	bstore q;
	const volatile int *cancel;  /* end-phase merge and write stop when set */
};

/* 1 when the run was cancelled (errno = ECANCELED then). */
static int cancelled(const volatile int *cancel)
{
	if (!cancel || !__atomic_load_n(cancel, __ATOMIC_RELAXED))
		return 0;
	errno = ECANCELED;
	return 1;
}

#define MIN_BUDGET ((size_t)1024)
#define FLUSH_AT ((size_t)64 * 1024)

/* Shares of the budget: while rows arrive, the arena (records and their
 * sort index) and the queue buckets; at the end, the arena (the last run,
 * merged from memory), the run readers and the consolidation buckets, the
 * queue's buffers having gone to disk. The peak is about one budget. */
static size_t arena_budget(const er_rollup *r)
{
	return r->want_queue ? r->budget / 4 * 3 : r->budget / 8 * 7;
}

static size_t queue_budget(const er_rollup *r)
{
	return r->want_consol ? r->budget / 4 : r->budget;
}

static size_t final_budget(const er_rollup *r)
{
	return r->budget / 16;
}

static size_t clamp_size(size_t v, size_t lo, size_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Record errno as the sticky error; always -1. Inner functions return -1
 * with errno set; the entry points call this. */
static int fail(er_rollup *r)
{
	if (!r->err)
		r->err = errno ? errno : EIO;
	errno = r->err;
	return -1;
}

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
	r->budget = ER_ROLLUP_DEFAULT_BUDGET;
	r->sp.fd = -1;
	r->qsp.fd = -1;
	return r;
}

void er_rollup_set_cancel(er_rollup *r, const volatile int *cancel)
{
	if (r)
		r->cancel = cancel;
}

void er_rollup_set_threads(er_rollup *r, int n)
{
	if (r)
		r->threads = n > 0 ? n : 0;
}

/* Threads for the end phase: as set, else the CPUs we may run on. */
static size_t end_threads(const er_rollup *r)
{
	long n = r->threads ? r->threads : er_cpu_count();
	return n > 1 ? (size_t)n : 1;
}

void er_rollup_set_budget(er_rollup *r, size_t bytes)
{
	if (!r)
		return;
	r->budget = bytes ? (bytes < MIN_BUDGET ? MIN_BUDGET : bytes) : ER_ROLLUP_DEFAULT_BUDGET;
	if (r->q.s)
		r->q.budget = queue_budget(r);
}

int er_rollup_set_tmpdir(er_rollup *r, const char *dir)
{
	if (!r) {
		errno = EINVAL;
		return -1;
	}
	char *d = NULL;
	if (dir && !(d = strdup(dir)))
		return -1;
	free(r->tmpdir);
	r->tmpdir = d;
	r->sp.dir = d;
	r->qsp.dir = d;
	return 0;
}

static void bs_free(bstore *bs);
static int spiller_finish(er_rollup *r);
static void free_batch(er_buf *b, size_t n);

void er_rollup_free(er_rollup *r)
{
	if (!r)
		return;
	spiller_finish(r);
	er_spill_close(&r->sp);
	er_spill_close(&r->qsp);
	free(r->tmpdir);
	free(r->failed);
	free_batch(r->mem, r->nmem);
	er_buf_free(&r->rows1);
	er_buf_free(&r->run1);
	er_buf_free(&r->scr1);
	er_buf_free(&r->wbuf);
	free(r->runs);
	er_buf_free(&r->points);
	bs_free(&r->q);
	free(r);
}

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

/* 1 when seq belongs to a rolled-back file. */
static int is_failed(const er_rollup *r, uint64_t seq)
{
	size_t lo = 0, hi = r->nfailed;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (seq < r->failed[mid].lo)
			hi = mid;
		else if (seq >= r->failed[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* ======================================================== bucket streams */

/* A bucket stream keeps whole items in order: a chain of blocks in the spill
 * file, then an in-memory tail. A block is the buffer as it was, preceded by
 * a header {u64 next block offset, u64 next block payload length} that is
 * patched when the stream's next block is written, so the collector keeps
 * O(1) per stream, not per block. Buffers stay in memory while all of them
 * together fit the budget; past it, every one goes to disk and is freed
 * (so blocks average budget / streams bytes, and nothing touches the disk
 * when the outputs fit). */
#define NO_BLOCK UINT64_MAX
enum { BLK_HDR = 16 };

static int bs_add(bstore *bs)
{
	if (bs->n == bs->cap) {
		size_t cap = bs->cap ? bs->cap * 2 : 16;
		bstream *ns = realloc(bs->s, cap * sizeof *ns);
		if (!ns)
			return -1;
		bs->s = ns;
		bs->cap = cap;
	}
	bstream *s = &bs->s[bs->n++];
	memset(s, 0, sizeof *s);
	s->first = s->last = NO_BLOCK;
	return 0;
}

static int bs_init(bstore *bs, size_t n, size_t budget, spill *sp)
{
	memset(bs, 0, sizeof *bs);
	bs->sp = sp;
	bs->budget = budget;
	for (size_t i = 0; i < n; i++)
		if (bs_add(bs) < 0)
			return -1;
	return 0;
}

static void bs_free(bstore *bs)
{
	for (size_t i = 0; i < bs->n; i++)
		er_buf_free(&bs->s[i].buf);
	free(bs->s);
	free(bs->dirty);
	memset(bs, 0, sizeof *bs);
}

/* Write stream i's buffer as its next block. */
static int bs_write_block(bstore *bs, size_t i)
{
	bstream *s = &bs->s[i];
	if (s->buf.len <= BLK_HDR)
		return 0;
	uint64_t payload = s->buf.len - BLK_HDR, none = NO_BLOCK, zero = 0, off;
	memcpy(s->buf.p, &none, 8);
	memcpy(s->buf.p + 8, &zero, 8);
	if (er_spill_append(bs->sp, s->buf.p, s->buf.len, &off) < 0)
		return -1;
	if (s->first == NO_BLOCK) {
		s->first = off;
		s->first_len = payload;
	} else {
		char link[BLK_HDR];
		memcpy(link, &off, 8);
		memcpy(link + 8, &payload, 8);
		if (er_spill_pwrite(bs->sp, link, sizeof link, s->last) < 0)
			return -1;
	}
	s->last = off;
	s->buf.len = 0;
	return 0;
}

/* Every buffer to disk, and its memory back. */
static int bs_spill_all(bstore *bs)
{
	for (size_t j = 0; j < bs->ndirty; j++) {
		if (bs_write_block(bs, bs->dirty[j]) < 0)
			return -1;
		er_buf_free(&bs->s[bs->dirty[j]].buf);
	}
	bs->ndirty = 0;
	bs->mem = 0;
	return 0;
}

/* The buffer of stream i, ready for one more item; *cap0 is for bs_close. */
static er_buf *bs_open(bstore *bs, size_t i, size_t *cap0)
{
	er_buf *b = &bs->s[i].buf;
	*cap0 = b->cap;
	if (!b->cap) {
		if (bs->ndirty == bs->dirtycap) {
			size_t cap = bs->dirtycap ? bs->dirtycap * 2 : 64;
			size_t *d = realloc(bs->dirty, cap * sizeof *d);
			if (!d)
				return NULL;
			bs->dirty = d;
			bs->dirtycap = cap;
		}
		if (er_buf_reserve(b, BLK_HDR) < 0)
			return NULL;
		bs->dirty[bs->ndirty++] = i;
	}
	if (!b->len)
		b->len = BLK_HDR;
	return b;
}

/* The item is complete: account for the memory, go to disk if due. */
static int bs_close(bstore *bs, size_t i, size_t cap0)
{
	er_buf *b = &bs->s[i].buf;
	bs->mem += b->cap - cap0;
	return bs->mem > bs->budget ? bs_spill_all(bs) : 0;
}

/* ========================================================= output sink */

/* Coalesces small pieces into FLUSH_AT writes; large ones pass through.
 * failed tells a sink failure (not sticky) from a spill error (sticky). */
typedef struct outbuf {
	er_buf b;
	er_emit_fn emit;
	void *ctx;
	int failed;
	const volatile int *cancel;
	uint64_t lines_left;         /* --top: lines still to emit (top_fn) */
} outbuf;

static int out_flush(outbuf *o)
{
	if (cancelled(o->cancel)) {
		o->failed = 1;
		return -1;
	}
	if (o->b.len && o->emit(o->ctx, o->b.p, o->b.len) < 0) {
		o->failed = 1;
		return -1;
	}
	o->b.len = 0;
	return 0;
}

static int out_put(outbuf *o, const char *p, size_t n)
{
	if (o->b.len + n > FLUSH_AT && out_flush(o) < 0)
		return -1;
	if (n >= FLUSH_AT) {
		if (o->emit(o->ctx, p, n) < 0) {
			o->failed = 1;
			return -1;
		}
		return 0;
	}
	if (er_buf_append(&o->b, p, n) < 0) {
		o->failed = 1;
		return -1;
	}
	return 0;
}

typedef int (*bs_fn)(void *ctx, const char *p, size_t n);

static int out_fn(void *ctx, const char *p, size_t n)
{
	return out_put(ctx, p, n);
}

/* out_fn that stops after o->lines_left whole lines (the rest is dropped). */
static int top_fn(void *ctx, const char *p, size_t n)
{
	outbuf *o = ctx;
	size_t k = 0;
	while (k < n && o->lines_left) {
		const char *nl = memchr(p + k, '\n', n - k);
		if (!nl)
			return out_put(o, p, n); /* a line continues in the next block */
		k = (size_t)(nl - p) + 1;
		o->lines_left--;
	}
	return k ? out_put(o, p, k) : 0;
}

/* Hand stream i's bytes to fn in order, block by block (scratch holds one).
 * -1 on a spill error or when fn fails. */
static int bs_read(const bstore *bs, size_t i, er_buf *scratch, bs_fn fn, void *ctx)
{
	const bstream *s = &bs->s[i];
	uint64_t off = s->first, len = s->first_len;
	while (off != NO_BLOCK) {
		scratch->len = 0;
		if (er_buf_reserve(scratch, BLK_HDR + len) < 0 ||
		    er_spill_pread(bs->sp, scratch->p, BLK_HDR + len, off) < 0)
			return -1;
		if (fn(ctx, scratch->p + BLK_HDR, len) < 0)
			return -1;
		off = rd64(scratch->p);
		len = rd64(scratch->p + 8);
	}
	if (s->buf.len > BLK_HDR)
		return fn(ctx, s->buf.p + BLK_HDR, s->buf.len - BLK_HDR);
	return 0;
}

static const char *lane_text(int lane)
{
	static const char *const names[ER_NLANES] = { "GREEN", "YELLOW", "RED" };
	return lane >= 0 && lane < ER_NLANES ? names[lane] : "";
}

/* Formatting straight into reserved room: a line costs one reserve. */
static char *put_bytes(char *o, const char *p, size_t n)
{
	if (n)
		memcpy(o, p, n);
	return o + n;
}

static char *put_dec(char *o, uint64_t v)
{
	char t[24];
	size_t i = sizeof t;
	do
		t[--i] = (char)('0' + v % 10);
	while (v /= 10);
	return put_bytes(o, t + i, sizeof t - i);
}

/* The quoting rule of er_buf_csv_field (delimiter ','), into room for
 * 2 n + 2 bytes. */
static char *put_csv(char *o, const char *p, size_t n)
{
	int need = n && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t');
	for (size_t i = 0; i < n && !need; i++)
		need = p[i] == '"' || p[i] == ',' || p[i] == '\n' || p[i] == '\r';
	if (!need)
		return put_bytes(o, p, n);
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			*o++ = '"';
		*o++ = p[i];
	}
	*o++ = '"';
	return o;
}

/* ========================================================= writer side */

/* Queue buckets in output order: front_of_line desc, lane desc, score desc;
 * input order within one. An item is {u64 seq, u32 n, n bytes}: the line
 * from its first comma on (the position is its rank, known at the end). */
enum { QB_SCORES = 256, QB_N = 2 * ER_NLANES * QB_SCORES, QITEM_HDR = 12 };

static int queue_add(er_rollup *r, const rowrec *x, uint64_t seq)
{
	const char *cr = x->cr;
	int lane = (unsigned char)cr[CR_LANE], score = (unsigned char)cr[CR_SCORE];
	if (!r->resumption && lane != ER_LANE_RED)
		return 0;
	if (!r->q.s && bs_init(&r->q, QB_N, queue_budget(r), &r->qsp) < 0)
		return -1;
	int front = (cr[CR_FLAGS] & F_FRONT) ? 1 : 0;
	size_t bi = ((size_t)(1 - front) * ER_NLANES + (size_t)(ER_NLANES - 1 - lane)) * QB_SCORES +
	            (size_t)(QB_SCORES - 1 - score);
	size_t klen = rd32(cr + CR_KLEN), ilen = rd32(cr + CR_ILEN);
	const char *key = cr + CR_HDR;
	const char *id = key + klen + rd32(cr + CR_SLEN) + rd32(cr + CR_CLEN);
	size_t cap0;
	er_buf *b = bs_open(&r->q, bi, &cap0);
	if (!b || er_buf_reserve(b, QITEM_HDR + 2 * (ilen + x->imp.n + x->shp.n + klen) + 64) < 0)
		return -1;
	char *start = b->p + b->len, *o = start + QITEM_HDR;
	memcpy(start, &seq, 8);
	*o++ = ',';
	o = put_csv(o, id, ilen);
	*o++ = ',';
	o = put_dec(o, (uint64_t)score);
	*o++ = ',';
	const char *lt = lane_text(lane);
	o = put_bytes(o, lt, strlen(lt));
	o = put_bytes(o, front ? ",1," : ",0,", 3);
	o = put_csv(o, x->imp.p, x->imp.n);
	*o++ = ',';
	o = put_csv(o, x->shp.p, x->shp.n);
	*o++ = ',';
	o = put_csv(o, key, klen);
	*o++ = '\n';
	wr32(start + 8, (size_t)(o - start - QITEM_HDR));
	b->len = (size_t)(o - b->p);
	return bs_close(&r->q, bi, cap0);
}

static int spiller_hand(er_rollup *r);

/* The writer's work per chunk: the queue's rows (when a queue is kept), and
 * for the consolidations one buffer linked, whatever its size. */
int er_rollup_add_chunk(er_rollup *r, uint64_t serial, er_buf *crun, const char *rows, size_t n)
{
	if (!r || r->err) {
		errno = r ? r->err : EINVAL;
		return -1;
	}
	uint64_t base = serial << 32;
	if (serial >> 31 || base < r->seq) { /* serials ascend: input order */
		errno = EINVAL;
		return fail(r);
	}
	errno = 0;
	if (r->want_queue) {
		size_t pos = 0;
		for (uint64_t i = 0; pos < n; i++) {
			rowrec x;
			if (get_rec(rows, n, &pos, &x) < 0) {
				errno = EINVAL;
				return fail(r);
			}
			if (queue_add(r, &x, base + i) < 0)
				return fail(r);
		}
	}
	r->seq = base + ((uint64_t)1 << 32);
	if (!r->want_consol || crun->len <= RUN_HDR)
		return 0;
	uint64_t rb = rd64(crun->p), np = rd64(crun->p + 8);
	if (rb > crun->len - RUN_HDR || np > crun->len) {
		errno = EINVAL;
		return fail(r);
	}
	if (r->nmem == r->memcap) {
		size_t cap = r->memcap ? r->memcap * 2 : 64;
		er_buf *m = realloc(r->mem, cap * sizeof *m);
		if (!m)
			return fail(r);
		r->mem = m;
		r->memcap = cap;
	}
	r->mem[r->nmem++] = *crun;
	r->mem_bytes += crun->cap;
	*crun = (er_buf){ 0 }; /* the worker grows a new one */
	/* two batches at most: one filling, one being merged to disk */
	if (r->mem_bytes > arena_budget(r) / 2 && spiller_hand(r) < 0)
		return fail(r);
	return 0;
}

int er_rollup_merge(er_rollup *r, int file_idx, const char *p, size_t n)
{
	(void)file_idx; /* files arrive in order; file_done separates them */
	if (!r || r->err) {
		errno = r ? r->err : EINVAL;
		return -1;
	}
	uint64_t serial = r->seq >> 32;
	r->rows1.len = 0;
	if (er_buf_append(&r->rows1, p, n) < 0 ||
	    er_rollup_sort_chunk(&r->run1, &r->rows1, serial, &r->scr1) < 0)
		return fail(r);
	return er_rollup_add_chunk(r, serial, &r->run1, r->rows1.p, r->rows1.len);
}

void er_rollup_file_done(er_rollup *r, int ok)
{
	if (!r)
		return;
	if (!ok && r->seq > r->file_seq0) {
		/* the file's chunk runs still linked go now; those handed to the
		 * spiller or in queue buckets are skipped by seq when read back */
		for (size_t i = r->nmem_mark; i < r->nmem; i++) {
			r->mem_bytes -= r->mem[i].cap;
			er_buf_free(&r->mem[i]);
		}
		r->nmem = r->nmem_mark;
		if (r->nfailed == r->failedcap) {
			size_t cap = r->failedcap ? r->failedcap * 2 : 8;
			seqrange *nf = realloc(r->failed, cap * sizeof *nf);
			if (!nf) {
				fail(r);
				return;
			}
			r->failed = nf;
			r->failedcap = cap;
		}
		r->failed[r->nfailed++] = (seqrange){ r->file_seq0, r->seq };
	}
	r->file_seq0 = r->seq;
	r->nmem_mark = r->nmem;
}

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
static uint64_t key_prefix(const char *rec, size_t depth)
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
static void sort_sel(const char *base, sel *a, sel *t, size_t n, size_t depth)
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
			a[i].pfx = key_prefix(base + a[i].off, next);
		sort_sel(base, a, t, n, next);
		return;
	}
	if (n <= SMALL_SORT)
		insertion_sort(base, a, n);
	else
		merge_sort(base, a, t, n);
}

/* ================================================================ runs */

/* Sample points: every 1/NPOINTS of a run, a record's file offset and
 * (key, type), the key cut to SPLIT_KEY bytes ("exact" when it was not).
 * They give the parallel end phase its splitters (quantiles of all points)
 * and let a part start reading a run near its lower bound rather than at
 * the start. Stored as {u64 off, u32 n, u8 type, u8 exact, n key bytes}. */
enum { SPLIT_KEY = 64, NPOINTS = 16, PT_HDR = 14 };

static int add_point(er_buf *b, uint64_t off, const char *rec)
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
		if (add_point(&r->points, r->sp.end + r->wbuf.len, p) < 0)
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

/* A (key, type) value: a record belongs to a part of the end phase when
 * lo <= its (key, type) < hi. */
typedef struct bound {
	const char *key;
	size_t n;
	int type;
} bound;

static int bound_cmp(const char *rec, const bound *b)
{
	int c = bytes_cmp(rec + CR_HDR, rd32(rec + CR_KLEN), b->key, b->n);
	return c ? c : rec[CR_TYPE] - b->type;
}

static int bound_order(const void *a, const void *b)
{
	const bound *x = a, *y = b;
	int c = bytes_cmp(x->key, x->n, y->key, y->n);
	return c ? c : x->type - y->type;
}

/* Reads one run, from the spill file or from memory, skipping records
 * below lo and (filter) rows of rolled-back files. A file reader's buffer
 * is at least RBUF_MIN bytes (fewer, larger reads), more with few runs. */
enum { RBUF_MIN = 4096 };
typedef struct rreader {
	const char *rec;             /* current record; NULL when exhausted */
	const bound *lo;             /* NULL, or not yet reached */
	uint64_t off, end;           /* next byte to read, end (file or memory) */
	er_buf buf;
	size_t pos, bsize;           /* unread bytes: buf.p[pos..buf.len) */
	const char *mem;             /* memory run: its records; NULL: a file run */
	int filter;                  /* skip rows of rolled-back files */
} rreader;

static const char *run_pts(const er_rollup *r, const run *u)
{
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
			if (bound_cmp(rd->rec, rd->lo) < 0)
				continue;
			rd->lo = NULL; /* runs are sorted: all further records qualify */
		}
		if (!rd->filter || !r->nfailed || !is_failed(r, rd64(rd->rec + CR_SEQ)))
			return 0;
	}
}

typedef struct hnode {
	uint64_t pfx;
	const char *rec;
	size_t rd;
} hnode;

typedef struct merger {
	rreader *rd;
	size_t k;
	hnode *h;
	size_t n;
	size_t pops;
} merger;

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

static void merger_close(merger *m)
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
static int merger_open(const er_rollup *r, merger *m, const run *runs, size_t k,
                       const bound *lo, size_t rbudget, int filter)
{
	memset(m, 0, sizeof *m);
	if (!k)
		return 0;
	m->rd = calloc(k, sizeof *m->rd);
	m->h = calloc(k, sizeof *m->h);
	if (!m->rd || !m->h) {
		merger_close(m);
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
		const char *pt = run_pts(r, &runs[i]);
		for (size_t j = 0; lo && j < runs[i].npts; j++) {
			bound b = { pt + PT_HDR, rd32(pt + 8), pt[12] };
			if (!pt[13] || bound_order(&b, lo) >= 0)
				break;
			rd->off = rd64(pt);
			pt += PT_HDR + b.n;
		}
		if (rr_next(r, rd) < 0) {
			merger_close(m);
			return -1;
		}
		if (rd->rec)
			m->h[m->n++] = (hnode){ key_prefix(rd->rec, 0), rd->rec, i };
	}
	for (size_t i = m->n / 2; i-- > 0;)
		sift_down(m, i);
	return 0;
}

/* The smallest record, NULL at the end; valid until merger_pop. */
static const char *merger_top(const merger *m)
{
	return m->n ? m->h[0].rec : NULL;
}

static int merger_pop(const er_rollup *r, merger *m)
{
	/* every end-phase merge goes through here: the place to notice a cancel */
	if ((++m->pops & 4095) == 0 && cancelled(r->cancel))
		return -1;
	rreader *rd = &m->rd[m->h[0].rd];
	if (rr_next(r, rd) < 0)
		return -1;
	if (rd->rec) {
		m->h[0].rec = rd->rec;
		m->h[0].pfx = key_prefix(rd->rec, 0);
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
	if (er_spill_open(&r->sp) < 0 || merger_open(r, &m, in, f, NULL, final_budget(r), filter) < 0)
		return -1;
	uint64_t start = run_begin(r), total = 1, done = 0, sampled = 0;
	for (size_t i = 0; i < f; i++)
		total += in[i].len;
	const char *rec;
	while ((rec = merger_top(&m))) {
		size_t len = cr_len(rec);
		uint64_t q = done * NPOINTS / total; /* a point each 1/NPOINTS of the bytes */
		if (run_put(r, rec, len, q > sampled) < 0 || merger_pop(r, &m) < 0) {
			merger_close(&m);
			return -1;
		}
		sampled = q;
		done += len;
	}
	merger_close(&m);
	return run_end(r, start);
}

/* ======================================================== the spiller */

/* A chunk's run buffer as a run. */
static run mem_run(const er_buf *b)
{
	uint64_t rb = rd64(b->p);
	return (run){ 0, rb, 0, (size_t)rd64(b->p + 8), b->p + RUN_HDR, b->p + RUN_HDR + rb };
}

static void free_batch(er_buf *b, size_t n)
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
		free_batch(b, n);
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
 * the previous batch: memory stays bounded); without a thread, merge them
 * here. */
static int spiller_hand(er_rollup *r)
{
	spiller *s = &r->spl;
	if (!s->started) {
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
		free_batch(r->mem, r->nmem);
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
static int spiller_finish(er_rollup *r)
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

/* ======================================================= a chunk's run */

int er_rollup_sort_chunk(er_buf *crun, er_buf *rows, uint64_t serial, er_buf *scratch)
{
	crun->len = 0;
	size_t n = rows->len, pos = 0, nk = 0, bytes = 0;
	uint64_t i = 0;
	/* each row's seq in place (input order), and what the run will hold */
	for (; pos < n; i++) {
		rowrec x;
		if (get_rec(rows->p, n, &pos, &x) < 0) {
			errno = EINVAL;
			return -1;
		}
		uint64_t seq = serial << 32 | i;
		memcpy(rows->p + (x.cr - rows->p) + CR_SEQ, &seq, 8);
		if (rd32(x.cr + CR_KLEN)) {
			nk++;
			bytes += x.crlen;
		}
	}
	if (i >> 32 || serial >> 31) {
		errno = EOVERFLOW;
		return -1;
	}
	if (!nk)
		return 0;
	scratch->len = 0;
	if (er_buf_reserve(scratch, 2 * nk * sizeof(sel)) < 0 ||
	    er_buf_reserve(crun, RUN_HDR + bytes + NPOINTS * (PT_HDR + SPLIT_KEY)) < 0)
		return -1;
	sel *ix = (sel *)(void *)scratch->p, *ixt = ix + nk;
	size_t k = 0;
	for (pos = 0; pos < n;) {
		rowrec x;
		get_rec(rows->p, n, &pos, &x);
		if (rd32(x.cr + CR_KLEN))
			ix[k++] = (sel){ key_prefix(x.cr, 0), (uint64_t)(x.cr - rows->p) };
	}
	sort_sel(rows->p, ix, ixt, nk, 0);
	char *o = crun->p + RUN_HDR;
	for (k = 0; k < nk; k++) {
		/* records are gathered in key order: fetch ahead of the copy */
		if (k + 8 < nk)
			__builtin_prefetch(rows->p + ix[k + 8].off);
		const char *rec = rows->p + ix[k].off;
		size_t len = cr_len(rec);
		memcpy(o, rec, len);
		o += len;
	}
	crun->len = RUN_HDR + bytes;
	/* sample points every 1/NPOINTS of the records (room reserved above) */
	uint64_t npts = 0;
	size_t off = 0;
	for (k = 0; k < nk; k++) {
		const char *rec = crun->p + RUN_HDR + off;
		if (k && k * NPOINTS / nk != (k - 1) * NPOINTS / nk) {
			if (add_point(crun, off, rec) < 0)
				return -1;
			npts++;
		}
		off += cr_len(rec);
	}
	uint64_t rb = bytes;
	memcpy(crun->p, &rb, 8);
	memcpy(crun->p + 8, &npts, 8);
	return 0;
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
	er_spill_close(&p->sp);
	bs_free(&p->cs);
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
	if (bs_add(&f->cs) < 0)
		return -1;
	size_t b = f->cs.n - 1;
	f->p6[b] = p6;
	size_t j = map_slot(f->map, f->mapcap, key);
	f->map[j] = key;
	f->map2[j] = (uint32_t)b;
	return (long)b;
}

static int same_bytes(const char *p, size_t n, const er_buf *b)
{
	return n == b->len && (!n || memcmp(p, b->p, n) == 0);
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
	er_buf *b = bs_open(&f->cs, (size_t)bi, &cap0);
	if (!b || er_buf_reserve(b, 2 * (a->key.len + a->cont.len + a->drv.len) + 160) < 0)
		return -1;
	char *o = b->p + b->len;
	const char *load = (a->load & 1) ? "LCL" : (a->load & 2) ? "FCL" : "";
	const char *lane = lane_text(a->max_lane);
	o = put_csv(o, a->key.p, a->key.len);
	o = a->type == T_MBL ? put_bytes(o, ",master_bill,", 13) : put_bytes(o, ",container,", 11);
	o = put_csv(o, a->cont.p, a->cont.len);
	*o++ = ',';
	o = put_bytes(o, load, strlen(load));
	*o++ = ',';
	o = put_dec(o, a->n);
	*o++ = ',';
	o = put_dec(o, a->shippers);
	*o++ = ',';
	o = put_dec(o, (uint64_t)a->max_score);
	*o++ = ',';
	o = put_bytes(o, lane, strlen(lane));
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
	return bs_close(&f->cs, (size_t)bi, cap0);
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
	if (bs_init(&f->cs, 0, f->bbudget, &f->sp) < 0 || !(f->cache = calloc(PCACHE, sizeof *f->cache)))
		return -1;
	merger m;
	if (merger_open(r, &m, r->runs, r->nruns, f->lo, f->budget, 1) < 0)
		return -1;
	const char *rec;
	int rc = 0;
	while (rc == 0 && (rec = merger_top(&m)) && !(f->hi && bound_cmp(rec, f->hi) >= 0))
		rc = agg_add(f, rec) < 0 || merger_pop(r, &m) < 0 ? -1 : 0;
	if (rc == 0 && f->a.active)
		rc = agg_finish(f);
	merger_close(&m);
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
	size_t cpus = end_threads(r);
	if (bytes < PARALLEL_MIN || cpus < 2)
		return 1;
	size_t want = cpus * PARTS_PER_CPU;
	if (want > MAX_PARTS)
		want = MAX_PARTS;
	cand->len = 0;
	size_t nc = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		const char *pt = run_pts(r, &r->runs[i]), *end = pt;
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
	qsort(b, nc, sizeof *b, bound_order);
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

/* Once, before the first output: the spiller's last run, few enough runs
 * on disk for one merge, and the chunk runs still in memory as runs too. */
static int finish_runs(er_rollup *r)
{
	if (r->finished)
		return 0;
	if (spiller_finish(r) < 0)
		return -1;
	/* the queue's buffers go to disk when spilling anyway: the end phase
	 * has the budget (see arena_budget) */
	if (r->nruns && r->q.s && bs_spill_all(&r->q) < 0)
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

/* Merge everything into parts[0..np) (zeroed by the caller), in parallel. */
static int build_lines(er_rollup *r, part *parts, size_t *np, er_buf *cand, bound **spl)
{
	if (finish_runs(r) < 0)
		return -1;
	*np = choose_parts(r, cand, spl);
	size_t nthreads = end_threads(r);
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
		fail(r);
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
		if (bs_read(&parts[ord[i].part].cs, ord[i].i, &scratch, r->top ? top_fn : out_fn, &o) < 0) {
			if (!o.failed)
				fail(r);
			goto out;
		}
	}
	if (out_flush(&o) < 0)
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

/* ================================================================ queue */

typedef struct qemit {
	er_rollup *r;
	outbuf *o;
	uint64_t pos;
} qemit;

/* Items of one queue block: position (rank) + the stored rest of the line. */
static int queue_items(void *ctx, const char *p, size_t n)
{
	qemit *q = ctx;
	size_t i = 0;
	while (i < n) {
		uint64_t seq = rd64(p + i);
		uint32_t len = rd32(p + i + 8);
		const char *line = p + i + QITEM_HDR;
		i += QITEM_HDR + len;
		if (q->r->nfailed && is_failed(q->r, seq))
			continue;
		char t[24];
		char *e = put_dec(t, ++q->pos);
		if (out_put(q->o, t, (size_t)(e - t)) < 0 || out_put(q->o, line, len) < 0)
			return -1;
	}
	return 0;
}

int er_rollup_write_queue(er_rollup *r, er_emit_fn emit, void *ctx)
{
	if (!r || r->err) {
		errno = r ? r->err : EINVAL; /* sticky */
		return -1;
	}
	outbuf o = { { 0 }, emit, ctx, 0, r->cancel, UINT64_MAX };
	er_buf scratch = { 0 };
	qemit q = { r, &o, 0 };
	int rc = -1;
	if (er_buf_puts(&o.b, "position,shipment_id,score,lane,front_of_line,importer_status,"
	                "shipper_status,consolidation\n") < 0)
		goto out;
	for (size_t i = 0; i < r->q.n; i++) {
		if (bs_read(&r->q, i, &scratch, queue_items, &q) < 0) {
			if (!o.failed)
				fail(r);
			goto out;
		}
	}
	if (out_flush(&o) < 0)
		goto out;
	rc = 0;
out:
	er_buf_free(&scratch);
	er_buf_free(&o.b);
	return rc;
}
