/* er_rollup.c - consolidations and the exam queue: the collector (see
 * er_rollup.h; the shared internals are in er_rollup_int.h).
 *
 * Memory is bounded by a budget (er_rollup_set_budget), whatever the input
 * size; what does not fit goes to unlinked spill files.
 *
 * Per row, a worker encodes one record (er_rollup_encode); after its chunk
 * it sorts the chunk's records with a consolidation key by (key, key type,
 * shipper, seq) into a run with sample points (er_rollup_sort_chunk). The
 * writer thread then, per chunk, in input order:
 *  - links the chunk's run (er_rollup_add_chunk: one buffer taken over,
 *    whatever its size). When the linked runs fill half the arena's share,
 *    the batch goes to the spiller thread, which merges it into one run on
 *    disk (er_rollrun.c), so the writer never touches a record;
 *  - when a queue is kept, formats each queued row and appends it to the
 *    bucket of its queue order key (front_of_line, lane, score): 2 x 3 x 256
 *    buckets, each in input order, so the queue never needs a sort.
 *
 * End (er_consol.c): a k-way merge of the runs on disk and in memory, cut
 * into key ranges merged in parallel, folds each consolidation and buckets
 * its line by printed probability.
 *
 * Rows of a file rolled back by er_rollup_file_done(r, 0) are cut from the
 * linked runs when still there, and in any case skipped by their sequence
 * number (input order: chunk serial << 32 | row) when runs and queue buckets
 * are read back. */
#include "er_rollup_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "er_reap.h"
#include "er_rules.h"
#include "er_table.h"

/* Write the shipper's identity for counting distinct shippers at o (room
 * for shipper_key_cap bytes): "I" + shipper_id, else "N" + normalized
 * shipper_name + "/" + shipper_country (upper-case), else "" (all
 * unidentified shippers of a consolidation count as one). Returns its end. */
static size_t shipper_key_cap(const er_field *id, const er_field *name, const er_field *cc)
{
	return id->n ? 1 + id->n : name->n ? 2 + ER_NAME_NORM_CAP(name->n) + cc->n : 0;
}

static char *put_shipper_key(char *o, const er_field *id, const er_field *name,
                             const er_field *cc)
{
	if (id->n) {
		*o = 'I';
		er_copy_short(o + 1, id->p, id->n);
		return o + 1 + id->n;
	}
	if (!name->n)
		return o;
	size_t len = 1 + er_name_normalize(name->p, name->n, o + 1, ER_NAME_NORM_CAP(name->n));
	o[0] = 'N';
	o[len++] = '/';
	for (size_t i = 0; i < cc->n; i++) {
		char c = cc->p[i];
		o[len++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	return o + len;
}

/* er_ieq(p, n, "LCL") / "FCL" in one look: 1 LCL, 2 FCL, 0 neither. */
static int load_kind(const char *p, size_t n)
{
	if (n != 3 || (p[1] != 'C' && p[1] != 'c') || (p[2] != 'L' && p[2] != 'l'))
		return 0;
	return p[0] == 'L' || p[0] == 'l' ? 1 : p[0] == 'F' || p[0] == 'f' ? 2 : 0;
}

int er_rollup_encode(er_buf *b, const er_row *row, const er_result *res, uint64_t line)
{
	(void)line; /* input order is the order of merging */
	er_field lt = er_row_field(row, ER_COL_LOAD_TYPE);
	int flags = (res->front_of_line ? F_FRONT : 0) | (res->shipper_certified ? F_CERT : 0);
	int lk = load_kind(lt.p, lt.n);
	flags |= lk == 1 ? F_LCL : lk == 2 ? F_FCL : 0;
	int lane = res->lane >= 0 && res->lane < ER_NLANES ? res->lane : ER_LANE_GREEN;
	int score = res->score < 0 ? 0 : res->score > 255 ? 255 : res->score;
	er_field id = er_row_field(row, ER_COL_SHIPMENT_ID);
	er_field mbl = er_row_field(row, ER_COL_MASTER_BILL);
	er_field cont = er_row_field(row, ER_COL_CONTAINER_ID);
	er_field sid = er_row_field(row, ER_COL_SHIPPER_ID);
	er_field sname = er_row_field(row, ER_COL_SHIPPER_NAME);
	er_field scc = er_row_field(row, ER_COL_SHIPPER_COUNTRY);
	const er_field *key = mbl.n ? &mbl : &cont;
	size_t is = strnlen(res->importer_status, sizeof res->importer_status);
	size_t ss = strnlen(res->shipper_status, sizeof res->shipper_status);
	/* fields are far below 4 GiB (the parser's limit): lengths fit a u32 */
	if (key->n > UINT32_MAX / 8 || cont.n > UINT32_MAX / 8 || id.n > UINT32_MAX / 8 ||
	    sid.n > UINT32_MAX / 8 || sname.n > (UINT32_MAX - 64) / 12 || scc.n > UINT32_MAX / 8) {
		errno = EOVERFLOW;
		return -1;
	}
	/* one reservation for the whole record */
	if (er_buf_reserve(b, CR_HDR + key->n + shipper_key_cap(&sid, &sname, &scc) + cont.n + id.n +
	                          8 + is + ss) < 0)
		return -1;
	char *h = b->p + b->len, *o = h + CR_HDR;
	memset(h, 0, CR_HDR);
	o = put_bytes(o, key->p, key->n); /* put_bytes: a field's p may be NULL when empty */
	char *s0 = o;
	o = put_shipper_key(o, &sid, &sname, &scc);
	size_t slen = (size_t)(o - s0);
	if (slen > UINT32_MAX / 8) {
		errno = EOVERFLOW;
		return -1; /* nothing written: b->len is unchanged */
	}
	o = put_bytes(o, cont.p, cont.n);
	o = put_bytes(o, id.p, id.n);
	wr32(h + CR_KLEN, key->n);
	wr32(h + CR_SLEN, slen);
	wr32(h + CR_CLEN, cont.n);
	wr32(h + CR_ILEN, id.n);
	h[CR_TYPE] = (char)(mbl.n ? T_MBL : T_CONT);
	h[CR_LANE] = (char)lane;
	h[CR_SCORE] = (char)score;
	h[CR_FLAGS] = (char)flags;
	wr32(o, is);
	er_copy_short(o + 4, res->importer_status, is);
	wr32(o + 4 + is, ss);
	er_copy_short(o + 8 + is, res->shipper_status, ss);
	o += 8 + is + ss;
	b->len = (size_t)(o - b->p);
	return 0;
}

/* Decode the record at p[*pos..n). 0 ok, -1 malformed. */
int er_ru_get_rec(const char *p, size_t n, size_t *pos, rowrec *x)
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

/* Record errno as the sticky error; always -1. Inner functions return -1
 * with errno set; the entry points call this. */
int er_ru_fail(er_rollup *r)
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

/* Threads the roll-ups may use (the end phase; a spiller only when > 1): as
 * set, else the CPUs we may run on. */
size_t er_ru_end_threads(const er_rollup *r)
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

void er_rollup_set_reaper(er_rollup *r, struct er_reaper *rp)
{
	if (r)
		r->reaper = rp;
}

void er_ru_bs_free(bstore *bs);
int er_ru_spiller_finish(er_rollup *r);
void er_ru_free_batch(er_buf *b, size_t n);

void er_ru_spill_close(const er_rollup *r, spill *s)
{
	er_reaper_close(r ? r->reaper : NULL, s->fd);
	s->fd = -1;
}

void er_rollup_close_spills(er_rollup *r)
{
	if (!r)
		return;
	er_ru_spiller_finish(r);
	er_ru_spill_close(r, &r->sp);
	er_ru_spill_close(r, &r->qsp);
}

void er_rollup_free(er_rollup *r)
{
	if (!r)
		return;
	er_rollup_close_spills(r);
	free(r->tmpdir);
	free(r->failed);
	er_ru_free_batch(r->mem, r->nmem);
	er_buf_free(&r->rows1);
	er_buf_free(&r->run1);
	er_buf_free(&r->scr1);
	er_buf_free(&r->wbuf);
	free(r->runs);
	er_buf_free(&r->points);
	er_ru_bs_free(&r->q);
	free(r);
}

/* 1 when seq belongs to a rolled-back file. */
int er_ru_is_failed(const er_rollup *r, uint64_t seq)
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
	if (!r->q.s && er_ru_bs_init(&r->q, QB_N, queue_budget(r), &r->qsp) < 0)
		return -1;
	int front = (cr[CR_FLAGS] & F_FRONT) ? 1 : 0;
	size_t bi = ((size_t)(1 - front) * ER_NLANES + (size_t)(ER_NLANES - 1 - lane)) * QB_SCORES +
	            (size_t)(QB_SCORES - 1 - score);
	size_t klen = rd32(cr + CR_KLEN), ilen = rd32(cr + CR_ILEN);
	const char *key = cr + CR_HDR;
	const char *id = key + klen + rd32(cr + CR_SLEN) + rd32(cr + CR_CLEN);
	size_t cap0;
	er_buf *b = er_ru_bs_open(&r->q, bi, &cap0);
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
	o = put_bytes(o, lt, lane_text_len(lane));
	o = put_bytes(o, front ? ",1," : ",0,", 3);
	o = put_csv(o, x->imp.p, x->imp.n);
	*o++ = ',';
	o = put_csv(o, x->shp.p, x->shp.n);
	*o++ = ',';
	o = put_csv(o, key, klen);
	*o++ = '\n';
	wr32(start + 8, (size_t)(o - start - QITEM_HDR));
	b->len = (size_t)(o - b->p);
	return er_ru_bs_close(&r->q, bi, cap0);
}

int er_ru_spiller_hand(er_rollup *r);

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
		return er_ru_fail(r);
	}
	errno = 0;
	if (r->want_queue) {
		size_t pos = 0;
		for (uint64_t i = 0; pos < n; i++) {
			rowrec x;
			if (er_ru_get_rec(rows, n, &pos, &x) < 0) {
				errno = EINVAL;
				return er_ru_fail(r);
			}
			if (queue_add(r, &x, base + i) < 0)
				return er_ru_fail(r);
		}
	}
	r->seq = base + ((uint64_t)1 << 32);
	if (!r->want_consol || crun->len <= RUN_HDR)
		return 0;
	uint64_t rb = rd64(crun->p), np = rd64(crun->p + 8);
	if (rb > crun->len - RUN_HDR || np > crun->len) {
		errno = EINVAL;
		return er_ru_fail(r);
	}
	if (r->nmem == r->memcap) {
		size_t cap = r->memcap ? r->memcap * 2 : 64;
		er_buf *m = realloc(r->mem, cap * sizeof *m);
		if (!m)
			return er_ru_fail(r);
		r->mem = m;
		r->memcap = cap;
	}
	r->mem[r->nmem++] = *crun;
	r->mem_bytes += crun->cap;
	*crun = (er_buf){ 0 }; /* the worker grows a new one */
	/* two batches at most: one filling, one being merged to disk */
	if (r->mem_bytes > arena_budget(r) / 2 && er_ru_spiller_hand(r) < 0)
		return er_ru_fail(r);
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
		return er_ru_fail(r);
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
				er_ru_fail(r);
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

/* ======================================================= a chunk's run */

int er_rollup_sort_chunk(er_buf *crun, er_buf *rows, uint64_t serial, er_buf *scratch)
{
	crun->len = 0;
	size_t n = rows->len, pos = 0, nk = 0, bytes = 0;
	uint64_t i = 0;
	/* one pass: each row's seq in place (input order), and the sort index
	 * of the rows the run will hold (grown as it goes: one entry a row) */
	scratch->len = 0;
	for (; pos < n; i++) {
		rowrec x;
		if (er_ru_get_rec(rows->p, n, &pos, &x) < 0) {
			errno = EINVAL;
			return -1;
		}
		uint64_t seq = serial << 32 | i;
		memcpy(rows->p + (x.cr - rows->p) + CR_SEQ, &seq, 8);
		if (rd32(x.cr + CR_KLEN)) {
			sel e = { er_ru_key_prefix(x.cr, 0), (uint64_t)(x.cr - rows->p) };
			if (er_buf_append(scratch, &e, sizeof e) < 0)
				return -1;
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
	/* the merge sort's scratch half after the index */
	if (er_buf_reserve(scratch, nk * sizeof(sel)) < 0 ||
	    er_buf_reserve(crun, RUN_HDR + bytes + NPOINTS * (PT_HDR + SPLIT_KEY)) < 0)
		return -1;
	sel *ix = (sel *)(void *)scratch->p, *ixt = ix + nk;
	size_t k;
	er_ru_sort_sel(rows->p, ix, ixt, nk, 0);
	char *o = crun->p + RUN_HDR;
	for (k = 0; k < nk; k++) {
		/* records are gathered in key order: fetch ahead of the copy */
		if (k + 8 < nk)
			__builtin_prefetch(rows->p + ix[k + 8].off);
		const char *rec = rows->p + ix[k].off;
		size_t len = cr_len(rec);
		er_copy_short(o, rec, len);
		o += len;
	}
	crun->len = RUN_HDR + bytes;
	/* sample points every 1/NPOINTS of the records (room reserved above) */
	uint64_t npts = 0;
	size_t off = 0;
	for (k = 0; k < nk; k++) {
		const char *rec = crun->p + RUN_HDR + off;
		if (k && k * NPOINTS / nk != (k - 1) * NPOINTS / nk) {
			if (er_ru_add_point(crun, off, rec) < 0)
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
		if (q->r->nfailed && er_ru_is_failed(q->r, seq))
			continue;
		char t[24];
		char *e = put_dec(t, ++q->pos);
		if (er_ru_out_put(q->o, t, (size_t)(e - t)) < 0 || er_ru_out_put(q->o, line, len) < 0)
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
		if (er_ru_bs_read(&r->q, i, &scratch, queue_items, &q) < 0) {
			if (!o.failed)
				er_ru_fail(r);
			goto out;
		}
	}
	if (er_ru_out_flush(&o) < 0)
		goto out;
	rc = 0;
out:
	er_buf_free(&scratch);
	er_buf_free(&o.b);
	return rc;
}
