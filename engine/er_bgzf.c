/* er_bgzf.c - parallel inflate of BGZF members (see er_bgzf.h).
 *
 * Jobs live in a ring of fixed slots, numbered by sequence: [head, run) are
 * taken or done, [run, tail) wait for a thread, tail is the job being built.
 * Each thread inflates with the reader's backend (zlib or ISA-L), so a job
 * succeeds exactly when the serial reader would read those members without
 * error: same decoder, CRC32 and ISIZE checked, and the member must end
 * exactly where its BSIZE says. */
#include "er_bgzf.h"
#include "er_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef ER_HAVE_ISAL
#include <isa-l.h>
#endif

#define SLACK 64 /* output room past the last ISIZE, so a decoder never stalls on a full buffer */

enum { J_FREE, J_QUEUED, J_RUNNING, J_OK, J_FAIL };

typedef struct mdesc {
	size_t in_off, in_len; /* the member's bytes in job.in */
	uint32_t isize;
} mdesc;

typedef struct job {
	int state;
	unsigned char *in, *out;
	size_t in_len, in_cap, out_len, out_cap, out_pos;
	mdesc *m;
	size_t nm, m_cap;
	uint64_t off, member; /* where the first member starts, its 1-based index */
} job;

typedef struct thr {
	er_bgzf_pool *p;
	pthread_t tid;
	int started;
	z_stream zs;
	int zinit;
#ifdef ER_HAVE_ISAL
	struct inflate_state *isal;
#endif
} thr;

struct er_bgzf_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	int quit;
	enum er_inflate backend;
	job *jobs;
	size_t njobs;
	uint64_t head, run, tail; /* sequence numbers */
	int building;             /* jobs[tail % njobs] has members */
	int running;              /* jobs being inflated right now */
	thr *t;
	int nt;      /* threads started */
	int ntalloc; /* entries of t */
};

int er_bgzf_member_size(const unsigned char *p, size_t avail, size_t *size)
{
	if (avail < 12) {
		*size = 12;
		return avail >= 4 && (p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 || p[3] != 4) ? 0 : -1;
	}
	if (p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 || p[3] != 4)
		return 0;
	size_t xlen = (size_t)p[10] | (size_t)p[11] << 8;
	if (avail < 12 + xlen) {
		*size = 12 + xlen;
		return -1;
	}
	/* Subfields must tile the extra field exactly; exactly one BC of length 2. */
	size_t i = 12, end = 12 + xlen, bsize = 0;
	int nbc = 0;
	while (i < end) {
		if (end - i < 4)
			return 0;
		size_t slen = (size_t)p[i + 2] | (size_t)p[i + 3] << 8;
		if (end - i - 4 < slen)
			return 0;
		if (p[i] == 'B' && p[i + 1] == 'C') {
			if (slen != 2)
				return 0;
			nbc++;
			bsize = (size_t)p[i + 4] | (size_t)p[i + 5] << 8;
		}
		i += 4 + slen;
	}
	/* The smallest member: header, an empty deflate block (2 bytes), trailer. */
	if (nbc != 1 || bsize + 1 < end + 2 + 8)
		return 0;
	*size = bsize + 1;
	return 1;
}

/* ---------------------------------------------------------------- inflate */

static int inflate_member(thr *t, const unsigned char *in, size_t n, unsigned char *out, size_t room,
			  uint32_t isize)
{
	if (room < isize)
		return -1;
#ifdef ER_HAVE_ISAL
	if (t->p->backend == ER_INFLATE_ISAL) {
		struct inflate_state *s = t->isal;
		isal_inflate_reset(s);
		s->crc_flag = ISAL_GZIP;
		s->next_in = (unsigned char *)in;
		s->avail_in = (uint32_t)n;
		s->next_out = out;
		s->avail_out = (uint32_t)room;
		int ir = isal_inflate(s);
		return ir == ISAL_DECOMP_OK && s->block_state == ISAL_BLOCK_FINISH && s->avail_in == 0 &&
		               room - s->avail_out == isize
		           ? 0
		           : -1;
	}
#endif
	z_stream *z = &t->zs;
	if (inflateReset(z) != Z_OK)
		return -1;
	z->next_in = (unsigned char *)in;
	z->avail_in = (uInt)n;
	z->next_out = out;
	z->avail_out = (uInt)room;
	int zr = inflate(z, Z_FINISH);
	return zr == Z_STREAM_END && z->avail_in == 0 && room - z->avail_out == isize ? 0 : -1;
}

static int run_job(thr *t, job *j)
{
	size_t pos = 0;
	for (size_t k = 0; k < j->nm; k++) {
		const mdesc *m = &j->m[k];
		if (inflate_member(t, j->in + m->in_off, m->in_len, j->out + pos, j->out_cap - pos, m->isize) < 0)
			return -1;
		pos += m->isize;
	}
	j->out_len = pos;
	return 0;
}

static void *thr_main(void *arg)
{
	thr *t = arg;
	er_bgzf_pool *p = t->p;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->run == p->tail)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->quit)
			break;
		job *j = &p->jobs[p->run++ % p->njobs];
		if (j->state != J_QUEUED)
			continue; /* failed at submit (no memory) */
		j->state = J_RUNNING;
		p->running++;
		pthread_mutex_unlock(&p->mu);
		int rc = run_job(t, j);
		pthread_mutex_lock(&p->mu);
		j->state = rc == 0 ? J_OK : J_FAIL;
		p->running--;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ------------------------------------------------------------------- pool */

er_bgzf_pool *er_bgzf_pool_new(int nthreads, enum er_inflate backend)
{
	if (nthreads < 1)
		return NULL;
	er_bgzf_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->backend = backend;
	p->njobs = 2 * (size_t)nthreads + 2;
	p->jobs = calloc(p->njobs, sizeof *p->jobs);
	p->t = calloc((size_t)nthreads, sizeof *p->t);
	if (!p->jobs || !p->t) {
		free(p->jobs);
		free(p->t);
		free(p);
		return NULL;
	}
	p->ntalloc = nthreads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (int i = 0; i < nthreads; i++) {
		thr *t = &p->t[i];
		t->p = p;
#ifdef ER_HAVE_ISAL
		if (backend == ER_INFLATE_ISAL) {
			t->isal = malloc(sizeof *t->isal);
			if (!t->isal)
				goto fail;
			isal_inflate_init(t->isal);
		} else
#endif
		{
			if (inflateInit2(&t->zs, 15 + 16) != Z_OK)
				goto fail;
			t->zinit = 1;
		}
		if (er_thread_start(&t->tid, thr_main, t) != 0)
			goto fail;
		t->started = 1;
		p->nt++;
	}
	return p;
fail:
	er_bgzf_pool_free(p);
	return NULL;
}

void er_bgzf_pool_free(er_bgzf_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nt; i++)
		pthread_join(p->t[i].tid, NULL);
	/* A thread that failed to start may still hold decoder state. */
	for (int i = 0; i < p->ntalloc; i++) {
		if (p->t[i].zinit)
			inflateEnd(&p->t[i].zs);
#ifdef ER_HAVE_ISAL
		free(p->t[i].isal);
#endif
	}
	for (size_t i = 0; i < p->njobs; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
		free(p->jobs[i].m);
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p->jobs);
	free(p->t);
	free(p);
}

int er_bgzf_has_room(const er_bgzf_pool *p)
{
	/* Only the dispatcher changes tail/building; head moves only in consume(). */
	return p->building || p->tail - p->head < p->njobs;
}

static int grow(void **pp, size_t *cap, size_t need, size_t elem)
{
	if (*cap >= need)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(*pp, c * elem);
	if (!q)
		return -1;
	*pp = q;
	*cap = c;
	return 0;
}

int er_bgzf_add(er_bgzf_pool *p, const unsigned char *m, size_t n, uint32_t isize, uint64_t off,
		uint64_t member)
{
	job *j = &p->jobs[p->tail % p->njobs];
	if (!p->building) {
		j->in_len = j->nm = j->out_len = j->out_pos = 0;
		j->off = off;
		j->member = member;
		p->building = 1;
	}
	if (grow((void **)&j->in, &j->in_cap, j->in_len + n, 1) < 0 ||
	    grow((void **)&j->m, &j->m_cap, j->nm + 1, sizeof *j->m) < 0)
		return -1;
	memcpy(j->in + j->in_len, m, n);
	j->m[j->nm++] = (mdesc){.in_off = j->in_len, .in_len = n, .isize = isize};
	j->in_len += n;
	j->out_len += isize; /* total so far; run_job sets the real length */
	return 0;
}

size_t er_bgzf_pending(const er_bgzf_pool *p)
{
	return p->building ? p->jobs[p->tail % p->njobs].in_len : 0;
}

void er_bgzf_submit(er_bgzf_pool *p)
{
	if (!p->building)
		return;
	job *j = &p->jobs[p->tail % p->njobs];
	size_t need = j->out_len + SLACK;
	if (j->out_cap < need) {
		free(j->out);
		j->out = malloc(need);
		j->out_cap = j->out ? need : 0;
	}
	j->out_len = 0;
	pthread_mutex_lock(&p->mu);
	j->state = j->out ? J_QUEUED : J_FAIL; /* no memory: the serial reader takes over */
	p->building = 0;
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

int er_bgzf_head(er_bgzf_pool *p, const unsigned char **data, size_t *len, uint64_t *off,
		 uint64_t *member)
{
	if (p->head == p->tail)
		return 0;
	job *j = &p->jobs[p->head % p->njobs];
	pthread_mutex_lock(&p->mu);
	while (j->state == J_QUEUED || j->state == J_RUNNING)
		pthread_cond_wait(&p->done, &p->mu);
	int st = j->state;
	pthread_mutex_unlock(&p->mu);
	*off = j->off;
	*member = j->member;
	if (st != J_OK)
		return -1;
	*data = j->out + j->out_pos;
	*len = j->out_len - j->out_pos;
	return 1;
}

void er_bgzf_consume(er_bgzf_pool *p, size_t n)
{
	job *j = &p->jobs[p->head % p->njobs];
	j->out_pos += n;
	if (j->out_pos >= j->out_len) {
		pthread_mutex_lock(&p->mu);
		j->state = J_FREE;
		p->head++;
		pthread_mutex_unlock(&p->mu);
	}
}

void er_bgzf_cancel(er_bgzf_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->run = p->tail; /* queued jobs are never started */
	while (p->running > 0)
		pthread_cond_wait(&p->done, &p->mu);
	for (uint64_t s = p->head; s < p->tail; s++)
		p->jobs[s % p->njobs].state = J_FREE;
	p->head = p->tail;
	p->building = 0;
	pthread_mutex_unlock(&p->mu);
}
