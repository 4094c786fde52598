/* er_gzip.c - gzip members and the parallel member pool (see er_gzip.h). */
#include "er_gzip.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>

int er_gz_member(er_gz *z, er_buf *dst, const void *src, size_t n, int level)
{
	/* The default fast level uses libdeflate: its output is a pure function
	 * of input and level, and its level 1 is several times faster than
	 * zlib's. (ISA-L's deflate was tried first: its bytes depend on memory
	 * addresses, about 1 process in 300, which breaks "identical bytes at any
	 * thread count"; ISA-L stays for inflate only.) --level N uses zlib. */
	if (level == ER_GZ_FAST) {
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

void er_gz_free(er_gz *z)
{
	if (z && z->c) {
		libdeflate_free_compressor(z->c);
		z->c = NULL;
	}
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
