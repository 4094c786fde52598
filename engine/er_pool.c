/* er_pool.c - bounded ordered chunk pool (see er_pool.h). */
#include "er_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct er_pool {
	pthread_mutex_t mu;
	pthread_cond_t free_avail_c;   /* a chunk was released */
	pthread_cond_t work_avail_c;   /* a chunk was submitted, or the pool closed */
	pthread_cond_t done_avail_c;   /* a chunk finished */
	int nchunks;
	er_chunk *chunks;
	er_chunk **free_list;
	int nfree;
	er_chunk **work;               /* FIFO ring of submitted chunks */
	int work_head, work_count;
	er_chunk **done;               /* slot serial % nchunks */
	uint64_t next_serial;          /* next serial to assign */
	uint64_t next_out;             /* next serial the writer takes */
	int closed;
	int aborted;
};

/* Thread primitives do not fail in practice; if one does, say where and stop. */
#define CHECK(x) do { if ((x) != 0) { \
	fprintf(stderr, "examrisk: %s:%d: %s failed\n", __FILE__, __LINE__, #x); abort(); } } while (0)

er_pool *er_pool_new(int nchunks)
{
	er_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->nchunks = nchunks;
	p->chunks = calloc((size_t)nchunks, sizeof *p->chunks);
	p->free_list = calloc((size_t)nchunks, sizeof *p->free_list);
	p->work = calloc((size_t)nchunks, sizeof *p->work);
	p->done = calloc((size_t)nchunks, sizeof *p->done);
	if (!p->chunks || !p->free_list || !p->work || !p->done) {
		er_pool_free(p);
		return NULL;
	}
	for (int i = 0; i < nchunks; i++)
		p->free_list[p->nfree++] = &p->chunks[i];
	CHECK(pthread_mutex_init(&p->mu, NULL));
	CHECK(pthread_cond_init(&p->free_avail_c, NULL));
	CHECK(pthread_cond_init(&p->work_avail_c, NULL));
	CHECK(pthread_cond_init(&p->done_avail_c, NULL));
	return p;
}

void er_pool_free(er_pool *p)
{
	if (!p)
		return;
	if (p->chunks) {
		for (int i = 0; i < p->nchunks; i++) {
			er_chunk *c = &p->chunks[i];
			er_recbuf_free(&c->in);
			er_buf_free(&c->out);
			er_buf_free(&c->rej);
			er_buf_free(&c->roll);
			er_buf_free(&c->run);
		}
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->free_avail_c);
		pthread_cond_destroy(&p->work_avail_c);
		pthread_cond_destroy(&p->done_avail_c);
	}
	free(p->chunks);
	free(p->free_list);
	free(p->work);
	free(p->done);
	free(p);
}

er_chunk *er_pool_get_free(er_pool *p)
{
	CHECK(pthread_mutex_lock(&p->mu));
	while (p->nfree == 0)
		CHECK(pthread_cond_wait(&p->free_avail_c, &p->mu));
	er_chunk *c = p->free_list[--p->nfree];
	CHECK(pthread_mutex_unlock(&p->mu));
	return c;
}

void er_pool_submit(er_pool *p, er_chunk *c)
{
	CHECK(pthread_mutex_lock(&p->mu));
	c->serial = p->next_serial++;
	p->work[(p->work_head + p->work_count) % p->nchunks] = c;
	p->work_count++;
	CHECK(pthread_cond_signal(&p->work_avail_c));
	CHECK(pthread_mutex_unlock(&p->mu));
}

void er_pool_close(er_pool *p)
{
	CHECK(pthread_mutex_lock(&p->mu));
	p->closed = 1;
	CHECK(pthread_cond_broadcast(&p->work_avail_c));
	CHECK(pthread_mutex_unlock(&p->mu));
}

er_chunk *er_pool_take_work(er_pool *p)
{
	er_chunk *c = NULL;
	CHECK(pthread_mutex_lock(&p->mu));
	while (p->work_count == 0 && !p->closed)
		CHECK(pthread_cond_wait(&p->work_avail_c, &p->mu));
	if (p->work_count) {
		c = p->work[p->work_head];
		p->work_head = (p->work_head + 1) % p->nchunks;
		p->work_count--;
	}
	CHECK(pthread_mutex_unlock(&p->mu));
	return c;
}

void er_pool_done(er_pool *p, er_chunk *c)
{
	CHECK(pthread_mutex_lock(&p->mu));
	p->done[c->serial % (uint64_t)p->nchunks] = c;
	/* Only the writer waits here, and only for one serial: wake it when that
	 * one arrives. */
	if (c->serial == p->next_out)
		CHECK(pthread_cond_signal(&p->done_avail_c));
	CHECK(pthread_mutex_unlock(&p->mu));
}

er_chunk *er_pool_next_done(er_pool *p)
{
	CHECK(pthread_mutex_lock(&p->mu));
	size_t slot = (size_t)(p->next_out % (uint64_t)p->nchunks);
	while (!p->done[slot] || p->done[slot]->serial != p->next_out)
		CHECK(pthread_cond_wait(&p->done_avail_c, &p->mu));
	er_chunk *c = p->done[slot];
	p->done[slot] = NULL;
	p->next_out++;
	CHECK(pthread_mutex_unlock(&p->mu));
	return c;
}

void er_pool_release(er_pool *p, er_chunk *c)
{
	CHECK(pthread_mutex_lock(&p->mu));
	p->free_list[p->nfree++] = c;
	CHECK(pthread_cond_signal(&p->free_avail_c));
	CHECK(pthread_mutex_unlock(&p->mu));
}

void er_pool_abort(er_pool *p)
{
	CHECK(pthread_mutex_lock(&p->mu));
	p->aborted = 1;
	CHECK(pthread_mutex_unlock(&p->mu));
}

int er_pool_aborted(er_pool *p)
{
	CHECK(pthread_mutex_lock(&p->mu));
	int a = p->aborted;
	CHECK(pthread_mutex_unlock(&p->mu));
	return a;
}
