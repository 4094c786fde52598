/* er_rollup_int.h - what the roll-up's files share (not an API): the
 * record layout, the collector's state, bucket streams, sorted runs and
 * their merger. er_rollup.c: the collector (records, chunk runs, the
 * writer's side, the exam queue); er_rollbkt.c: bucket streams and the
 * output sink; er_rollrun.c: sorting, sorted runs on disk and in memory,
 * the k-way merger, the spiller thread; er_consol.c: folding and writing
 * the consolidations in parallel. */
#ifndef ER_ROLLUP_INT_H
#define ER_ROLLUP_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "er_csvout.h"
#include "er_rollup.h"
#include "er_spill.h"

/* A worker encodes each scored row as the runs keep it: the consolidation
 * record (CR_*: what the runs hold, seq set by er_rollup_sort_chunk), then
 * the two party statuses, which only the queue needs. Native byte order:
 * produced and consumed in one process.
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

static inline uint32_t rd32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline uint64_t rd64(const char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline void wr32(char *p, size_t v)
{
	uint32_t l = (uint32_t)v;
	memcpy(p, &l, sizeof l);
}

static inline size_t cr_len(const char *rec)
{
	return CR_HDR + (size_t)rd32(rec + CR_KLEN) + rd32(rec + CR_SLEN) + rd32(rec + CR_CLEN) +
	       rd32(rec + CR_ILEN);
}

/* A row as the writer reads it. */
typedef struct rowrec {
	const char *cr;              /* its consolidation record */
	size_t crlen;
	er_field imp, shp;           /* party statuses */
} rowrec;

typedef struct seqrange {
	uint64_t lo, hi;             /* [lo, hi) */
} seqrange;

/* Sort index entry: the 8 key bytes at the current depth, big-endian, and
 * the record's offset in the chunk's rows. */
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
	struct er_reaper *reaper;    /* closes the spill files; NULL: inline */
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
static inline int cancelled(const volatile int *cancel)
{
	if (!cancel || !__atomic_load_n(cancel, __ATOMIC_RELAXED))
		return 0;
	errno = ECANCELED;
	return 1;
}

#define MIN_BUDGET ((size_t)1024)
#define FLUSH_AT ((size_t)64 * 1024)

/* Shares of the budget: while rows arrive, the "arena" (chunk runs linked
 * or being spilled: two halves) and the queue buckets; at the end, the
 * arena (the chunk runs still in memory, merged from there), the run
 * readers and the consolidation buckets, the queue's buffers having gone to
 * disk. The peak is about one budget. */
static inline size_t arena_budget(const er_rollup *r)
{
	return r->want_queue ? r->budget / 4 * 3 : r->budget / 8 * 7;
}

static inline size_t queue_budget(const er_rollup *r)
{
	return r->want_consol ? r->budget / 4 : r->budget;
}

static inline size_t final_budget(const er_rollup *r)
{
	return r->budget / 16;
}

static inline size_t clamp_size(size_t v, size_t lo, size_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Coalesces small pieces into FLUSH_AT writes; large ones pass through.
 * failed tells a sink failure (not sticky) from a spill error (sticky). */
typedef struct outbuf {
	er_buf b;
	er_emit_fn emit;
	void *ctx;
	int failed;
	const volatile int *cancel;
	uint64_t lines_left;         /* --top: lines still to emit (er_ru_top_fn) */
} outbuf;

typedef int (*bs_fn)(void *ctx, const char *p, size_t n);

static inline const char *lane_text(int lane)
{
	static const char *const names[ER_NLANES] = { "GREEN", "YELLOW", "RED" };
	return lane >= 0 && lane < ER_NLANES ? names[lane] : "";
}

static inline size_t lane_text_len(int lane)
{
	static const unsigned char lens[ER_NLANES] = { 5, 6, 3 };
	return lane >= 0 && lane < ER_NLANES ? lens[lane] : 0;
}

/* Formatting straight into reserved room: a line costs one reserve. */
static inline char *put_bytes(char *o, const char *p, size_t n)
{
	er_copy_short(o, p, n); /* p may be NULL when n is 0 */
	return o + n;
}

static inline char *put_dec(char *o, uint64_t v)
{
	char t[24];
	size_t i = sizeof t;
	do
		t[--i] = (char)('0' + v % 10);
	while (v /= 10);
	return put_bytes(o, t + i, sizeof t - i);
}

/* The quoting rule of er_buf_csv_field (delimiter ','), into room for
 * 2 n + 2 bytes: er_csvout.h's scan, eight bytes a step (put_csv_ref: the
 * byte loop it is tested against). */
static inline char *put_csv(char *o, const char *p, size_t n)
{
	return er_csv_put_field(o, p, n, ',');
}

static inline char *put_csv_ref(char *o, const char *p, size_t n)
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

/* Sample points: every 1/NPOINTS of a run, a record's file offset and
 * (key, type), the key cut to SPLIT_KEY bytes ("exact" when it was not).
 * They give the parallel end phase its splitters (quantiles of all points)
 * and let a part start reading a run near its lower bound rather than at
 * the start. Stored as {u64 off, u32 n, u8 type, u8 exact, n key bytes}. */
enum { SPLIT_KEY = 64, NPOINTS = 16, PT_HDR = 14 };

/* A (key, type) value: a record belongs to a part of the end phase when
 * lo <= its (key, type) < hi. */
typedef struct bound {
	const char *key;
	size_t n;
	int type;
} bound;

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

/* ------------------------------------------------ across the files */

/* er_rollup.c */
int er_ru_fail(er_rollup *r); /* errno as the sticky error; always -1 */
int er_ru_get_rec(const char *p, size_t n, size_t *pos, rowrec *x);
int er_ru_is_failed(const er_rollup *r, uint64_t seq);
size_t er_ru_end_threads(const er_rollup *r);
/* Close s (through r's reaper when set: er_rollup_set_reaper); fd -1 after. */
void er_ru_spill_close(const er_rollup *r, spill *s);

/* er_rollbkt.c: bucket streams (see there) and the output sink */
#define NO_BLOCK UINT64_MAX
enum { BLK_HDR = 16 };
int er_ru_bs_add(bstore *bs);
int er_ru_bs_init(bstore *bs, size_t n, size_t budget, spill *sp);
void er_ru_bs_free(bstore *bs);
int er_ru_bs_spill_all(bstore *bs);
er_buf *er_ru_bs_open(bstore *bs, size_t i, size_t *cap0);
int er_ru_bs_close(bstore *bs, size_t i, size_t cap0);
int er_ru_bs_read(const bstore *bs, size_t i, er_buf *scratch, bs_fn fn, void *ctx);
int er_ru_out_flush(outbuf *o);
int er_ru_out_put(outbuf *o, const char *p, size_t n);
int er_ru_out_fn(void *ctx, const char *p, size_t n);
int er_ru_top_fn(void *ctx, const char *p, size_t n);

/* er_rollrun.c */
uint64_t er_ru_key_prefix(const char *rec, size_t depth);
void er_ru_sort_sel(const char *base, sel *a, sel *t, size_t n, size_t depth);
int er_ru_add_point(er_buf *b, uint64_t off, const char *rec);
int er_ru_bound_cmp(const char *rec, const bound *b);
int er_ru_bound_order(const void *a, const void *b);
const char *er_ru_run_pts(const er_rollup *r, const run *u);
int er_ru_merger_open(const er_rollup *r, merger *m, const run *runs, size_t k,
                      const bound *lo, size_t rbudget, int filter);
const char *er_ru_merger_top(const merger *m);
int er_ru_merger_pop(const er_rollup *r, merger *m);
void er_ru_merger_close(merger *m);
int er_ru_spiller_hand(er_rollup *r);
int er_ru_spiller_finish(er_rollup *r);
void er_ru_free_batch(er_buf *b, size_t n);
int er_ru_finish_runs(er_rollup *r);

#endif
