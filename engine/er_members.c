/* er_members.c - speculative parallel inflate of concatenated gzip members
 * and pigz -i output (see er_members.h).
 *
 * Jobs live in a ring of slots numbered by sequence, as in er_bgzf.c: [head,
 * run) are taken or done, [run, tail) wait for a thread. A thread inflates
 * one job from start to end into the job's output ring, waiting when the
 * ring is full, so memory stays a few MB whatever the member sizes. The
 * dispatcher (er_members_read) cuts the jobs, checks that each one starts
 * where the one before it ended cleanly, checks each member's CRC32 and
 * ISIZE across jobs, and copies the bytes out in file order. */
#include "er_members.h"
#include "er_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#ifdef ER_HAVE_ISAL
#include <isa-l.h>
#endif

#define RING (1u << 20)           /* output ring of one job */
#define ROOM_MIN (256u << 10)     /* a thread waits until this much of its ring is free */
#define IBUF (256u << 10)         /* a thread's input buffer */
#define KEEP 16                   /* bytes kept on refill: ISA-L may hold the trailer in its bit buffer */
#define SCAN_BUF (1u << 20)
/* No candidate this far past a job's size: the rest of the member is
 * inflated serially. A job larger than its ring is not inflated in parallel
 * with the next one (that job stops when its ring is full): it only moves
 * inflate off the dispatcher, which pays when the dispatcher holds the
 * workers up, at ~5 threads and more by the 2026-12-04 figures (ISA-L 755
 * MB/s of CSV on one core, 139 MB/s of scoring per core). Below that, the
 * scan (a read of every compressed byte) and the copy out of the ring are
 * work for nothing: 4 concatenated 55 MB members at 2 threads took 7 % less
 * wall time with the near limit. */
#define SCAN_FAR (64ull << 20)
#define SCAN_NEAR (4ull << 20)
#define FAR_THREADS 5
#define JOB_MIN (256u << 10)
#define JOB_MAX (4u << 20)

enum { K_HDR, K_RAW };              /* a job starts at a gzip header / after a sync marker */
enum { S_FREE, S_QUEUED, S_RUNNING, /* not done */
       S_BETWEEN,                   /* ended right after a member's trailer, at the job end */
       S_OPEN,                      /* ended at a byte-aligned block boundary inside a member */
       S_MID,                       /* inflated to the job end, but not at a boundary */
       S_FAIL };                    /* stopped: error, unsupported header, garbage, abort */

typedef struct part {   /* one member's bytes within a job */
	uint64_t end;   /* job output offset where the part ends */
	uint64_t len;
	uint32_t crc;
	int trailer;    /* the member ends in this job: */
	uint32_t t_crc, t_isize;
	uint64_t next_off; /* file offset after its trailer */
} part;

typedef struct job {
	int state, kind, abort, waiting;
	uint64_t start, end; /* file span */
	unsigned char *ring;
	uint64_t w, r;       /* output bytes published / consumed */
	part *parts;
	size_t nparts, pcap, pdone;
} job;

typedef struct thr {
	er_members *m;
	pthread_t tid;
	unsigned char *buf; /* file bytes [boff, boff + blen) */
	uint64_t boff;
	size_t blen, ipos;
	z_stream zs;
	int zinit;
#ifdef ER_HAVE_ISAL
	struct inflate_state *isal;
#endif
} thr;

struct er_members {
	pthread_mutex_t mu;
	pthread_cond_t work, done, room;
	int quit;
	int fd;
	uint64_t size;
	enum er_inflate backend;
	job *jobs;
	size_t njobs;
	uint64_t head, run, tail;
	int running;
	thr *t;
	int nt, ntalloc;
	size_t job_bytes;
	uint64_t scan_max;   /* SCAN_NEAR or SCAN_FAR */
	/* dispatcher side */
	unsigned char *sbuf;
	uint64_t next_start;
	int next_kind, seg_stop, active, expect;
	uint64_t mstart, midx, mdeliv, mlen;
	uint32_t mcrc;
	er_members_resume last; /* where the last parallel run ended */
	uint64_t stat_jobs, stat_fallbacks;
};

/* ------------------------------------------------------------ candidates */

/* A gzip header we would parse at p (n bytes readable): 1f 8b 08, no FHCRC
 * or reserved flag, XFL 0/2/4, a known OS. */
static int hdr_candidate(const unsigned char *p, size_t n)
{
	return n >= 10 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && !(p[3] & 0xe2) &&
	       (p[8] == 0 || p[8] == 2 || p[8] == 4) && (p[9] <= 13 || p[9] == 255);
}

/* First candidate at a file offset >= from: its offset and kind, or -1 when
 * none up to limit (or the end of the file: *eof). */
static int64_t find_cut(er_members *m, uint64_t from, uint64_t limit, int *kind, int *eof)
{
	*eof = 0;
	uint64_t off = from;
	while (off < limit) {
		/* Read [off - 4, off + SCAN_BUF + 10): the marker lies before a cut, the header after it. */
		uint64_t lo = off >= 4 ? off - 4 : 0;
		uint64_t hi = off + SCAN_BUF + 10;
		if (hi > m->size)
			hi = m->size;
		if (hi <= off) {
			*eof = 1;
			return -1;
		}
		ssize_t got = pread(m->fd, m->sbuf, (size_t)(hi - lo), (off_t)lo);
		if (got < (ssize_t)(hi - lo))
			return -1; /* a read error: the serial reader will meet it */
		const unsigned char *b = m->sbuf, *end = m->sbuf + (hi - lo);
		size_t first = (size_t)(off - lo), stop = first + SCAN_BUF;
		if (stop > (size_t)(hi - lo))
			stop = (size_t)(hi - lo);
		size_t best = SIZE_MAX;
		for (const unsigned char *q = b + first; q < b + stop;) {
			q = memchr(q, 0x1f, (size_t)(b + stop - q));
			if (!q)
				break;
			if (hdr_candidate(q, (size_t)(end - q))) {
				best = (size_t)(q - b);
				*kind = K_HDR;
				break;
			}
			q++;
		}
		/* A marker 00 00 ff ff ending at i: the cut is at i (byte after it). */
		size_t mstart = first >= 4 ? first - 4 : 0;
		for (const unsigned char *q = b + mstart; q + 4 <= b + stop && (size_t)(q - b) + 4 < best;) {
			q = memchr(q, 0, (size_t)(b + stop - q));
			if (!q || q + 4 > end)
				break;
			if (q[1] == 0 && q[2] == 0xff && q[3] == 0xff && (size_t)(q - b) + 4 >= first &&
			    (size_t)(q - b) + 4 < best && lo + (size_t)(q - b) + 4 < m->size) {
				best = (size_t)(q - b) + 4;
				*kind = K_RAW;
				break;
			}
			q++;
		}
		if (best != SIZE_MAX)
			return (int64_t)(lo + best);
		off = lo + stop;
		if (off >= m->size) {
			*eof = 1;
			return -1;
		}
	}
	return -1;
}

/* ---------------------------------------------------------------- thread */

/* Make at least need bytes readable at ipos (not past the job end). 0 when
 * they are, -1 when the job or the file ends first. */
static int need(thr *t, const job *j, size_t n)
{
	if (t->blen - t->ipos >= n)
		return 0;
	size_t keep = t->ipos > KEEP ? t->ipos - KEEP : 0;
	memmove(t->buf, t->buf + keep, t->blen - keep);
	t->boff += keep;
	t->blen -= keep;
	t->ipos -= keep;
	uint64_t at = t->boff + t->blen;
	if (at >= j->end || t->blen == IBUF)
		return -1;
	size_t want = IBUF - t->blen;
	if (want > j->end - at)
		want = (size_t)(j->end - at);
	ssize_t got = pread(t->m->fd, t->buf + t->blen, want, (off_t)at);
	if (got <= 0)
		return -1;
	t->blen += (size_t)got;
	return t->blen - t->ipos >= n ? 0 : need(t, j, n);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Skip the gzip header at ipos. Only what both serial inflaters accept in
 * the same way: method 8, FEXTRA/FNAME/FCOMMENT/FTEXT; anything else fails
 * the job and the serial reader judges it. */
static int skip_header(thr *t, const job *j)
{
	if (need(t, j, 10) < 0)
		return -1;
	const unsigned char *h = t->buf + t->ipos;
	if (h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || (h[3] & 0xe2))
		return -1;
	int flg = h[3];
	size_t len = 10;
	if (flg & 4) {
		if (need(t, j, len + 2) < 0)
			return -1;
		len += 2 + ((size_t)t->buf[t->ipos + 10] | (size_t)t->buf[t->ipos + 11] << 8);
	}
	for (int bit = 8; bit <= 16; bit <<= 1) { /* FNAME, then FCOMMENT: NUL-terminated */
		if (!(flg & bit))
			continue;
		for (;;) {
			if (need(t, j, len + 1) < 0)
				return -1;
			const unsigned char *s = t->buf + t->ipos + len;
			const unsigned char *z = memchr(s, 0, t->blen - t->ipos - len);
			if (z) {
				len += (size_t)(z - s) + 1;
				break;
			}
			len = t->blen - t->ipos;
		}
	}
	if (need(t, j, len) < 0)
		return -1;
	t->ipos += len;
	return 0;
}

static void publish(er_members *m, job *j, size_t got)
{
	pthread_mutex_lock(&m->mu);
	j->w += got;
	pthread_cond_broadcast(&m->done);
	pthread_mutex_unlock(&m->mu);
}

static int add_part(er_members *m, job *j, const part *p)
{
	pthread_mutex_lock(&m->mu);
	int rc = 0;
	if (j->nparts == j->pcap) {
		size_t cap = j->pcap ? 2 * j->pcap : 8;
		part *q = realloc(j->parts, cap * sizeof *q);
		if (q) {
			j->parts = q;
			j->pcap = cap;
		}
	}
	if (j->nparts < j->pcap) {
		j->parts[j->nparts++] = *p;
		pthread_cond_broadcast(&m->done);
	} else {
		rc = -1;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* Output room in the job's ring (contiguous), waiting for the dispatcher to
 * drain it; 0 when the job is aborted. */
static size_t ring_room(er_members *m, job *j, unsigned char **out)
{
	pthread_mutex_lock(&m->mu);
	while (!j->abort && RING - (j->w - j->r) < ROOM_MIN) {
		j->waiting = 1;
		pthread_cond_wait(&m->room, &m->mu);
	}
	j->waiting = 0;
	size_t room = j->abort ? 0 : RING - (size_t)(j->w - j->r);
	size_t at = (size_t)(j->w % RING);
	pthread_mutex_unlock(&m->mu);
	if (room > RING - at)
		room = RING - at;
	*out = j->ring + at;
	return room;
}

enum { D_MORE, D_END, D_ERR };

/* One decoder call on the input at ipos: *got bytes written, the part's CRC
 * updated. D_END at the end of the deflate stream (ipos then points at the
 * trailer), D_ERR on bad data. *clean: at a byte-aligned block boundary
 * with every input bit used. */
static int decode(thr *t, unsigned char *out, size_t room, size_t *got, uint32_t *crc, int *clean)
{
	size_t avail = t->blen - t->ipos;
	*clean = 0;
#ifdef ER_HAVE_ISAL
	if (t->m->backend == ER_INFLATE_ISAL) {
		struct inflate_state *s = t->isal;
		s->next_in = t->buf + t->ipos;
		s->avail_in = (uint32_t)avail;
		s->next_out = out;
		s->avail_out = (uint32_t)room;
		int ir = isal_inflate(s);
		t->ipos += avail - s->avail_in;
		*got = room - s->avail_out;
		*crc = s->crc;
		if (ir != ISAL_DECOMP_OK)
			return D_ERR;
		if (s->block_state == ISAL_BLOCK_FINISH) {
			/* Whole bytes still in the bit buffer are the trailer's. */
			t->ipos -= (size_t)s->read_in_length / 8;
			return D_END;
		}
		*clean = (s->block_state == ISAL_BLOCK_NEW_HDR || s->block_state == ISAL_BLOCK_HDR) &&
		         s->read_in_length == 0 && s->tmp_in_size == 0 && s->avail_in == 0 && !s->bfinal &&
		         s->tmp_out_valid == s->tmp_out_processed;
		return D_MORE;
	}
#endif
	z_stream *z = &t->zs;
	z->next_in = t->buf + t->ipos;
	z->avail_in = (uInt)avail;
	z->next_out = out;
	z->avail_out = (uInt)room;
	int zr = inflate(z, Z_NO_FLUSH);
	t->ipos += avail - z->avail_in;
	*got = room - z->avail_out;
	*crc = (uint32_t)crc32(*crc, out, (uInt)*got);
	if (zr == Z_STREAM_END)
		return D_END;
	if (zr != Z_OK && zr != Z_BUF_ERROR)
		return D_ERR;
	/* data_type: unused bits (low 6), +64 in the last block, +128 at a block start. */
	*clean = (z->data_type & (64 | 128 | 256)) == 128 && (z->data_type & 63) == 0 && z->avail_in == 0;
	return D_MORE;
}

static void decoder_reset(thr *t)
{
#ifdef ER_HAVE_ISAL
	if (t->m->backend == ER_INFLATE_ISAL) {
		isal_inflate_reset(t->isal);
		t->isal->crc_flag = ISAL_GZIP_NO_HDR; /* raw deflate, CRC32 of the output kept */
		return;
	}
#endif
	inflateReset(&t->zs);
}

static int run_job(thr *t, job *j)
{
	er_members *m = t->m;
	t->boff = j->start;
	t->blen = t->ipos = 0;
	int in_hdr = j->kind == K_HDR;
	part p = {0};
	if (!in_hdr)
		decoder_reset(t);
	for (;;) {
		if (in_hdr) {
			if (skip_header(t, j) < 0)
				return S_FAIL;
			decoder_reset(t);
			in_hdr = 0;
			p = (part){0};
		}
		/* At the job end this reads nothing; before it, nothing read is an
		 * error or a file that shrank: the serial reader will name it. */
		if (t->ipos == t->blen && need(t, j, 1) < 0 && t->boff + t->blen < j->end)
			return S_FAIL;
		unsigned char *out;
		size_t room = ring_room(m, j, &out);
		if (room == 0)
			return S_FAIL; /* aborted */
		size_t got, before = t->ipos;
		int clean;
		int d = decode(t, out, room, &got, &p.crc, &clean);
		if (d == D_ERR)
			return S_FAIL; /* the bytes of this call are not published */
		p.len += got;
		if (got)
			publish(m, j, got);
		if (d == D_END) {
			if (need(t, j, 8) < 0)
				return S_FAIL;
			p.trailer = 1;
			p.t_crc = rd32(t->buf + t->ipos);
			p.t_isize = rd32(t->buf + t->ipos + 4);
			t->ipos += 8;
			p.next_off = t->boff + t->ipos;
			p.end = j->w;
			if (add_part(m, j, &p) < 0)
				return S_FAIL;
			if (p.next_off == j->end)
				return S_BETWEEN;
			in_hdr = 1;
			continue;
		}
		/* The decoder stopped with output room left and no input: the job end. */
		if (got < room && t->ipos == t->blen && t->boff + t->blen >= j->end) {
			if (!clean)
				return S_MID;
			p.end = j->w;
			return add_part(m, j, &p) < 0 ? S_FAIL : S_OPEN;
		}
		if (got == 0 && t->ipos == before && t->ipos < t->blen)
			return S_FAIL; /* no progress */
	}
}

static void *thr_main(void *arg)
{
	thr *t = arg;
	er_members *m = t->m;
	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (!m->quit && m->run == m->tail)
			pthread_cond_wait(&m->work, &m->mu);
		if (m->quit)
			break;
		job *j = &m->jobs[m->run++ % m->njobs];
		if (j->state != S_QUEUED)
			continue;
		j->state = S_RUNNING;
		m->running++;
		pthread_mutex_unlock(&m->mu);
		int st = run_job(t, j);
		pthread_mutex_lock(&m->mu);
		j->state = st;
		m->running--;
		pthread_cond_broadcast(&m->done);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* ------------------------------------------------------------------ pool */

er_members *er_members_new(int fd, uint64_t size, int nthreads, enum er_inflate backend)
{
	if (nthreads < 1)
		return NULL;
	er_members *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->fd = fd;
	m->size = size;
	m->backend = backend;
	m->njobs = (size_t)nthreads + 2;
	m->jobs = calloc(m->njobs, sizeof *m->jobs);
	m->t = calloc((size_t)nthreads, sizeof *m->t);
	m->sbuf = malloc(SCAN_BUF + 16);
	if (!m->jobs || !m->t || !m->sbuf) {
		free(m->jobs);
		free(m->t);
		free(m->sbuf);
		free(m);
		return NULL;
	}
	uint64_t jb = size / (4 * (uint64_t)nthreads);
	m->job_bytes = jb < JOB_MIN ? JOB_MIN : jb > JOB_MAX ? JOB_MAX : (size_t)jb;
	m->ntalloc = nthreads;
	m->scan_max = nthreads >= FAR_THREADS ? SCAN_FAR : SCAN_NEAR;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->work, NULL);
	pthread_cond_init(&m->done, NULL);
	pthread_cond_init(&m->room, NULL);
	for (size_t i = 0; i < m->njobs; i++)
		if (!(m->jobs[i].ring = malloc(RING)))
			goto fail;
	for (int i = 0; i < nthreads; i++) {
		thr *t = &m->t[i];
		t->m = m;
		if (!(t->buf = malloc(IBUF)))
			goto fail;
#ifdef ER_HAVE_ISAL
		if (backend == ER_INFLATE_ISAL) {
			if (!(t->isal = malloc(sizeof *t->isal)))
				goto fail;
			isal_inflate_init(t->isal);
		} else
#endif
		{
			if (inflateInit2(&t->zs, -15) != Z_OK)
				goto fail;
			t->zinit = 1;
		}
		if (er_thread_start(&t->tid, thr_main, t) != 0)
			goto fail;
		m->nt++;
	}
	return m;
fail:
	er_members_free(m);
	return NULL;
}

void er_members_free(er_members *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->quit = 1;
	for (size_t i = 0; i < m->njobs; i++)
		m->jobs[i].abort = 1;
	pthread_cond_broadcast(&m->work);
	pthread_cond_broadcast(&m->room);
	pthread_mutex_unlock(&m->mu);
	for (int i = 0; i < m->nt; i++)
		pthread_join(m->t[i].tid, NULL);
	for (int i = 0; i < m->ntalloc; i++) {
		if (m->t[i].zinit)
			inflateEnd(&m->t[i].zs);
#ifdef ER_HAVE_ISAL
		free(m->t[i].isal);
#endif
		free(m->t[i].buf);
	}
	for (size_t i = 0; i < m->njobs; i++) {
		free(m->jobs[i].ring);
		free(m->jobs[i].parts);
	}
	pthread_cond_destroy(&m->work);
	pthread_cond_destroy(&m->done);
	pthread_cond_destroy(&m->room);
	pthread_mutex_destroy(&m->mu);
	free(m->jobs);
	free(m->t);
	free(m->sbuf);
	free(m);
}

void er_members_set_job_bytes(er_members *m, size_t bytes)
{
	m->job_bytes = bytes ? bytes : 1;
}

void er_members_begin(er_members *m, uint64_t off, uint64_t member)
{
	m->next_start = off;
	m->next_kind = K_HDR;
	m->expect = K_HDR;
	m->seg_stop = 0;
	m->active = 1;
	m->mstart = off;
	m->midx = member;
	m->mdeliv = m->mlen = 0;
	m->mcrc = 0;
}

/* Cut and queue jobs while slots are free. */
static void produce(er_members *m)
{
	while (!m->seg_stop && m->tail - m->head < m->njobs) {
		uint64_t s = m->next_start;
		if (s >= m->size) {
			m->seg_stop = 1;
			break;
		}
		int kind = K_HDR, eof = 0;
		uint64_t from = s + m->job_bytes;
		int64_t c = from < m->size ? find_cut(m, from, from + m->scan_max, &kind, &eof) : -1;
		if (from >= m->size)
			eof = 1;
		if (c < 0 && !eof) {
			m->seg_stop = 1; /* a long stretch with no candidate: serial from s */
			break;
		}
		uint64_t e = c < 0 ? m->size : (uint64_t)c;
		job *j = &m->jobs[m->tail % m->njobs];
		j->kind = m->next_kind;
		j->start = s;
		j->end = e;
		j->w = j->r = 0;
		j->nparts = j->pdone = 0;
		j->abort = j->waiting = 0;
		m->next_start = e;
		m->next_kind = kind;
		pthread_mutex_lock(&m->mu);
		j->state = S_QUEUED;
		m->tail++;
		pthread_cond_signal(&m->work);
		pthread_mutex_unlock(&m->mu);
	}
}

/* Drop every job (waits for the running ones). */
static void cancel_all(er_members *m)
{
	pthread_mutex_lock(&m->mu);
	m->run = m->tail;
	for (uint64_t s = m->head; s < m->tail; s++)
		m->jobs[s % m->njobs].abort = 1;
	pthread_cond_broadcast(&m->room);
	while (m->running > 0)
		pthread_cond_wait(&m->done, &m->mu);
	for (uint64_t s = m->head; s < m->tail; s++)
		m->jobs[s % m->njobs].state = S_FREE;
	m->head = m->tail;
	pthread_mutex_unlock(&m->mu);
}

static size_t stop(er_members *m, er_members_resume *res)
{
	cancel_all(m);
	m->active = 0;
	m->seg_stop = 1;
	m->last = (er_members_resume){.off = m->mstart, .member = m->midx, .skip = m->mdeliv};
	if (m->mstart != m->size || m->mdeliv)
		m->stat_fallbacks++;
	*res = m->last;
	return 0;
}

/* A member's part was handed out: fold its CRC in; at the member's end
 * check CRC32 and ISIZE. 0, or -1 when they do not match. */
static int take_part(er_members *m, const part *p)
{
	m->mcrc = (uint32_t)crc32_combine(m->mcrc, p->crc, (z_off_t)p->len);
	m->mlen += p->len;
	if (!p->trailer)
		return 0;
	if (m->mcrc != p->t_crc || (uint32_t)m->mlen != p->t_isize || m->mlen != m->mdeliv)
		return -1;
	m->mstart = p->next_off;
	m->midx++;
	m->mcrc = 0;
	m->mlen = m->mdeliv = 0;
	return 0;
}

size_t er_members_read(er_members *m, unsigned char *out, size_t cap, er_members_resume *res)
{
	if (!m->active) {
		*res = m->last;
		return 0;
	}
	for (;;) {
		produce(m);
		if (m->head == m->tail)
			return stop(m, res);
		job *j = &m->jobs[m->head % m->njobs];
		if (j->kind != m->expect)
			return stop(m, res); /* the job before did not end where this one starts */
		pthread_mutex_lock(&m->mu);
		uint64_t lim;
		int have_part;
		part cur = {0}; /* copied: the thread may grow parts meanwhile */
		for (;;) {
			have_part = j->pdone < j->nparts;
			if (have_part)
				cur = j->parts[j->pdone];
			lim = have_part ? cur.end : j->w;
			if (j->r < lim || have_part || j->state > S_RUNNING)
				break;
			pthread_cond_wait(&m->done, &m->mu);
		}
		int st = j->state;
		pthread_mutex_unlock(&m->mu);
		if (j->r < lim) {
			size_t at = (size_t)(j->r % RING);
			size_t n = (size_t)(lim - j->r);
			if (n > RING - at)
				n = RING - at;
			if (n > cap)
				n = cap;
			memcpy(out, j->ring + at, n);
			pthread_mutex_lock(&m->mu);
			j->r += n;
			if (j->waiting && RING - (j->w - j->r) >= ROOM_MIN)
				pthread_cond_broadcast(&m->room);
			pthread_mutex_unlock(&m->mu);
			m->mdeliv += n;
			return n;
		}
		if (have_part) {
			if (take_part(m, &cur) < 0)
				return stop(m, res);
			j->pdone++;
			continue;
		}
		/* The job is done and drained. */
		if (st != S_BETWEEN && st != S_OPEN)
			return stop(m, res);
		m->stat_jobs++;
		m->expect = st == S_BETWEEN ? K_HDR : K_RAW;
		pthread_mutex_lock(&m->mu);
		j->state = S_FREE;
		m->head++;
		pthread_mutex_unlock(&m->mu);
	}
}

uint64_t er_members_pos(const er_members *m)
{
	return m->head < m->tail ? m->jobs[m->head % m->njobs].start : m->next_start;
}

uint64_t er_members_jobs(const er_members *m)
{
	return m->stat_jobs;
}

uint64_t er_members_fallbacks(const er_members *m)
{
	return m->stat_fallbacks;
}
