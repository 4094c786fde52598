/* er_gzip.c - gzip members and the parallel member pool (see er_gzip.h). */
#include "er_gzip.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>

#ifdef ER_HAVE_ISAL
#include <isa-l.h>

/* ISA-L's level 0 finds matches with one hash probe, as libdeflate's level 1
 * does, in about 60 % of the time: on the 2M-row scores 0.37 CPU s to
 * libdeflate's 0.60. Its fixed Huffman tables cost a fifth in size (55 MB to
 * 41), so each member gets codes fitted to a histogram of its first
 * HIST_SAMPLE bytes (46 MB, still smaller than gzip -1; fitting to the whole
 * member saves 0.1-0.6 % more and takes 1.8x the time). isal_create_
 * hufftables gives every symbol a code, so bytes the sample never saw still
 * encode.
 *
 * The bytes are a function of the input once the stream starts from zeros
 * (below): the stateless call clears its hash table when it starts on a
 * stream (total_in 0) and reads nothing outside the stream, the tables and
 * its input (valgrind: no uninitialised read). ISA-L's level 1 is not: it
 * printed another digest in 1-2.5 % of fresh processes on the same input,
 * with ASLR on (docs/ARCHITECTURE.md has both measurements). */
enum { HIST_SAMPLE = 64 << 10, ISAL_MAX_IN = 1 << 30 };

struct er_gz_isal {
	struct isal_zstream s;
	struct isal_hufftables ht;
	struct isal_huff_histogram hist;
};

/* One member by ISA-L: 1 written, 0 not (past ISAL_MAX_IN, which no output
 * makes, they are cut at 1 MiB: the caller uses libdeflate), -1 error. */
static int isal_member(er_gz *z, er_buf *dst, const void *src, size_t n)
{
	if (n > ISAL_MAX_IN)
		return 0;
	/* room for stored blocks (5 bytes per 64 KiB), the gzip header and
	 * trailer: the stateless call falls back to them when the codes do not
	 * pay, so with this much room it never overflows */
	size_t cap = n + n / 16 + ISAL_DEF_MAX_HDR_SIZE + 1024;
	if (er_buf_reserve(dst, cap) < 0)
		return -1;
	struct er_gz_isal *e = z ? z->isal : NULL;
	if (!e) {
		if (!(e = malloc(sizeof *e)))
			return -1;
		if (z)
			z->isal = e;
	}
	/* The init leaves fields as they were (hist_bits, the window: a stale 8
	 * gave 256-byte matches and a member 23 % bigger, in 1 run in 3 at 3
	 * threads), so every call starts from zeros (80 KiB: ~3 us a member);
	 * hist_bits 0 is the full 32 KiB window, the smallest output here. */
	struct isal_zstream *s = &e->s;
	memset(s, 0, sizeof *s);
	isal_deflate_stateless_init(s);
	s->level = 0;
	if (n) {
		memset(&e->hist, 0, sizeof e->hist);
		isal_update_histogram((uint8_t *)(uintptr_t)src, (int)(n < HIST_SAMPLE ? n : HIST_SAMPLE),
		                      &e->hist);
		if (isal_create_hufftables(&e->ht, &e->hist) == 0)
			s->hufftables = &e->ht; /* else ISA-L's default tables */
	}
	s->gzip_flag = IGZIP_GZIP;
	s->end_of_stream = 1;
	s->next_in = (uint8_t *)(uintptr_t)src;
	s->avail_in = (uint32_t)n;
	s->next_out = (uint8_t *)dst->p + dst->len;
	s->avail_out = (uint32_t)cap;
	int rc = isal_deflate_stateless(s);
	size_t got = cap - s->avail_out;
	if (!z)
		free(e);
	if (rc != COMP_OK) {
		errno = EIO;
		return -1;
	}
	dst->len += got;
	return 1;
}
#endif

/* One member by libdeflate level 1: the fast level without ISA-L, and
 * ISA-L's fallback. */
static int libdeflate_member(er_gz *z, er_buf *dst, const void *src, size_t n)
{
	struct libdeflate_compressor *c = z ? z->c : NULL;
	if (!c && !(c = libdeflate_alloc_compressor(1)))
		return -1;
	if (z)
		z->c = c;
	int rc = -1;
	size_t bound = libdeflate_gzip_compress_bound(c, n);
	if (er_buf_reserve(dst, bound) == 0) {
		size_t got = libdeflate_gzip_compress(c, src, n, dst->p + dst->len, bound);
		if (got) {
			dst->len += got;
			rc = 0;
		} else {
			errno = EIO;
		}
	}
	if (!z)
		libdeflate_free_compressor(c);
	return rc;
}

int er_gz_member(er_gz *z, er_buf *dst, const void *src, size_t n, int level)
{
	if (level == ER_GZ_FAST) {
#ifdef ER_HAVE_ISAL
		int rc = isal_member(z, dst, src, n);
		if (rc != 0)
			return rc > 0 ? 0 : -1;
#endif
		return libdeflate_member(z, dst, src, n);
	}
	/* --level N: zlib */
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	uLong bound = deflateBound(&zs, (uLong)n);
	if (er_buf_reserve(dst, bound) < 0) {
		deflateEnd(&zs);
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)src;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)dst->p + dst->len;
	zs.avail_out = (uInt)bound;
	int rc = deflate(&zs, Z_FINISH);
	if (rc != Z_STREAM_END) {
		deflateEnd(&zs);
		errno = EIO;
		return -1;
	}
	dst->len += zs.total_out;
	deflateEnd(&zs);
	return 0;
}

const char *er_gz_fast_name(void)
{
#ifdef ER_HAVE_ISAL
	return ER_ISAL_NAME " level 0";
#else
	return "libdeflate " LIBDEFLATE_VERSION_STRING;
#endif
}

void er_gz_free(er_gz *z)
{
	if (!z)
		return;
	if (z->c) {
		libdeflate_free_compressor(z->c);
		z->c = NULL;
	}
	free(z->isal);
	z->isal = NULL;
}

int er_gzip_member(er_buf *dst, const void *src, size_t n, int level)
{
	return er_gz_member(NULL, dst, src, n, level);
}

/* ------------------------------------------------ parallel member pool */

/* A ring of jobs: put fills the one at tail, helpers take queued ones
 * oldest first, the caller hands finished ones to the sink from head, in
 * order. One mutex; helpers wait on work_c, the caller on done_c. */
enum { J_FREE, J_QUEUED, J_BUSY, J_DONE };

typedef struct gzjob {
	er_buf in, out;
	int state;
	int err;
} gzjob;

enum { MAX_HELPERS = 64 };

struct er_gzpool {
	int level;
	er_gz_sink sink;
	void *ctx;
	gzjob *jobs;
	size_t k;                    /* ring size */
	size_t head, tail;           /* jobs [head, tail) are in flight */
	int stop;
	int err;                     /* sticky errno */
	pthread_mutex_t mu;
	pthread_cond_t work_c, done_c;
	pthread_t tid[MAX_HELPERS];
	int nhelpers;
};

static void *helper_main(void *arg)
{
	er_gzpool *p = arg;
	er_gz z = { 0 };
	pthread_mutex_lock(&p->mu);
	for (;;) {
		gzjob *j = NULL;
		for (size_t i = p->head; i < p->tail && !j; i++)
			if (p->jobs[i % p->k].state == J_QUEUED)
				j = &p->jobs[i % p->k];
		if (!j) {
			if (p->stop)
				break;
			pthread_cond_wait(&p->work_c, &p->mu);
			continue;
		}
		j->state = J_BUSY;
		pthread_mutex_unlock(&p->mu);
		j->out.len = 0;
		errno = 0;
		int rc = er_gz_member(&z, &j->out, j->in.p, j->in.len, p->level);
		int e = rc < 0 ? (errno ? errno : ENOMEM) : 0;
		pthread_mutex_lock(&p->mu);
		j->err = e;
		j->state = J_DONE;
		pthread_cond_broadcast(&p->done_c);
	}
	pthread_mutex_unlock(&p->mu);
	er_gz_free(&z);
	return NULL;
}

er_gzpool *er_gzpool_new(int threads, int level, er_gz_sink sink, void *ctx)
{
	if (threads < 1)
		threads = 1;
	if (threads > MAX_HELPERS)
		threads = MAX_HELPERS;
	er_gzpool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->level = level;
	p->sink = sink;
	p->ctx = ctx;
	p->k = 2 * (size_t)threads;
	if (!(p->jobs = calloc(p->k, sizeof *p->jobs))) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_c, NULL);
	pthread_cond_init(&p->done_c, NULL);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&p->tid[p->nhelpers], NULL, helper_main, p) != 0)
			break;
		p->nhelpers++;
	}
	if (!p->nhelpers) {
		er_gzpool_end(p);
		return NULL;
	}
	return p;
}

/* Hand the finished job at head to the sink (the lock held on entry and
 * exit, not during the sink). wait: block until it is finished. 1 when one
 * was handed, 0 when none was ready, -1 on error. */
static int sink_head(er_gzpool *p, int wait)
{
	if (p->head == p->tail)
		return 0;
	gzjob *j = &p->jobs[p->head % p->k];
	while (wait && j->state != J_DONE)
		pthread_cond_wait(&p->done_c, &p->mu);
	if (j->state != J_DONE)
		return 0;
	int rc = 0;
	if (j->err) {
		if (!p->err)
			p->err = j->err;
	} else if (!p->err) {
		pthread_mutex_unlock(&p->mu);
		errno = 0;
		rc = p->sink(p->ctx, j->out.p, j->out.len);
		int e = errno ? errno : EIO;
		pthread_mutex_lock(&p->mu);
		if (rc < 0 && !p->err)
			p->err = e;
	}
	j->state = J_FREE;
	p->head++;
	return p->err ? -1 : 1;
}

int er_gzpool_put(er_gzpool *p, er_buf *block)
{
	pthread_mutex_lock(&p->mu);
	int rc = 0;
	while (rc >= 0 && p->tail - p->head == p->k)
		rc = sink_head(p, 1);
	if (rc >= 0 && !p->err) {
		gzjob *j = &p->jobs[p->tail % p->k];
		er_buf t = j->in;
		j->in = *block;
		t.len = 0;
		*block = t;
		j->state = J_QUEUED;
		p->tail++;
		pthread_cond_signal(&p->work_c);
		while ((rc = sink_head(p, 0)) > 0)
			;
	}
	int e = p->err;
	pthread_mutex_unlock(&p->mu);
	if (e) {
		block->len = 0;
		errno = e;
		return -1;
	}
	return 0;
}

int er_gzpool_drain(er_gzpool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->head != p->tail) /* after an error, still wait for the busy ones */
		sink_head(p, 1);
	int e = p->err;
	pthread_mutex_unlock(&p->mu);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

int er_gzpool_end(er_gzpool *p)
{
	if (!p)
		return 0;
	int rc = er_gzpool_drain(p), e = errno;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work_c);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nhelpers; i++)
		pthread_join(p->tid[i], NULL);
	for (size_t i = 0; i < p->k; i++) {
		er_buf_free(&p->jobs[i].in);
		er_buf_free(&p->jobs[i].out);
	}
	free(p->jobs);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work_c);
	pthread_cond_destroy(&p->done_c);
	free(p);
	errno = e;
	return rc;
}
