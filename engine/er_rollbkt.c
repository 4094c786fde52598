/* er_rollbkt.c - the roll-up's bucket streams (queue entries,
 * consolidation lines: whole items in order, in blocks on disk plus an
 * in-memory tail) and the sink its outputs go through. */
#include "er_rollup_int.h"

#include <stdlib.h>

/* ======================================================== bucket streams */

/* A bucket stream keeps whole items in order: a chain of blocks in the spill
 * file, then an in-memory tail. A block is the buffer as it was, preceded by
 * a header {u64 next block offset, u64 next block payload length} that is
 * patched when the stream's next block is written, so the collector keeps
 * O(1) per stream, not per block. Buffers stay in memory while all of them
 * together fit the budget; past it, every one goes to disk and is freed
 * (so blocks average budget / streams bytes, and nothing touches the disk
 * when the outputs fit). */

int er_ru_bs_add(bstore *bs)
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

int er_ru_bs_init(bstore *bs, size_t n, size_t budget, spill *sp)
{
	memset(bs, 0, sizeof *bs);
	bs->sp = sp;
	bs->budget = budget;
	for (size_t i = 0; i < n; i++)
		if (er_ru_bs_add(bs) < 0)
			return -1;
	return 0;
}

void er_ru_bs_free(bstore *bs)
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
int er_ru_bs_spill_all(bstore *bs)
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
er_buf *er_ru_bs_open(bstore *bs, size_t i, size_t *cap0)
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
int er_ru_bs_close(bstore *bs, size_t i, size_t cap0)
{
	er_buf *b = &bs->s[i].buf;
	bs->mem += b->cap - cap0;
	return bs->mem > bs->budget ? er_ru_bs_spill_all(bs) : 0;
}

/* ========================================================= output sink */

int er_ru_out_flush(outbuf *o)
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

int er_ru_out_put(outbuf *o, const char *p, size_t n)
{
	if (o->b.len + n > FLUSH_AT && er_ru_out_flush(o) < 0)
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

int er_ru_out_fn(void *ctx, const char *p, size_t n)
{
	return er_ru_out_put(ctx, p, n);
}

/* out_fn that stops after o->lines_left whole lines (the rest is dropped). */
int er_ru_top_fn(void *ctx, const char *p, size_t n)
{
	outbuf *o = ctx;
	size_t k = 0;
	while (k < n && o->lines_left) {
		const char *nl = memchr(p + k, '\n', n - k);
		if (!nl)
			return er_ru_out_put(o, p, n); /* a line continues in the next block */
		k = (size_t)(nl - p) + 1;
		o->lines_left--;
	}
	return k ? er_ru_out_put(o, p, k) : 0;
}

/* Hand stream i's bytes to fn in order, block by block (scratch holds one).
 * -1 on a spill error or when fn fails. */
int er_ru_bs_read(const bstore *bs, size_t i, er_buf *scratch, bs_fn fn, void *ctx)
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

