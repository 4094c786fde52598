/* er_reader.c - stage 1: open a manifest and deliver its decompressed bytes.
 *
 * The input is read with raw read() calls into a 256 KiB buffer; gzip is
 * detected by its magic bytes and inflated straight into the caller's buffer
 * by zlib inflate() or, when built with ER_HAVE_ISAL, by ISA-L. Both backends
 * report the same errors: every member must end with a matching CRC32 and
 * ISIZE, and after a member only another gzip member or the end of the file
 * may follow. */
#include "er_reader.h"
#include "er_bgzf.h"
#include "er_members.h"
#include "er_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <pthread.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <nettle/sha2.h>
#ifdef ER_HAVE_ISAL
#include <isa-l.h>
#endif

#define ER_READER_INBUF (256u * 1024u)

enum rd_mode {
	RD_START,   /* nothing read yet; format unknown */
	RD_PLAIN,   /* pass bytes through */
	RD_MEMBER,  /* inside a gzip member */
	RD_BETWEEN, /* a member just ended; another member or EOF must follow */
	RD_PAR,     /* BGZF members inflated by a thread pool (er_bgzf.h) */
	RD_SPEC,    /* other members / pigz -i blocks inflated speculatively (er_members.h) */
	RD_EOF,
	RD_ERROR
};

struct er_reader {
	int fd;
	int own_fd;
	enum rd_mode mode;
	enum er_inflate backend; /* ZLIB or ISAL, never AUTO */
	int is_gzip;
	int eof;                 /* read() has returned 0 */
	const volatile int *cancel; /* stop retrying an interrupted read when set */
	int nomem;               /* the error is an allocation failure */
	struct sha256_ctx *sha;  /* of the raw bytes, when asked (er_reader_hash) */
	unsigned char *in;       /* input buffer, ER_READER_INBUF bytes */
	size_t in_pos, in_len;   /* unconsumed bytes are in[in_pos..in_len) */
	uint64_t in_base;        /* file offset of in[0] */
	unsigned char hist[8];   /* the 8 file bytes before in[0] (trailer lookup) */
	uint64_t member;         /* 1-based index of the current gzip member */
	int64_t size;
	int zinit;
	z_stream zs;
#ifdef ER_HAVE_ISAL
	struct inflate_state *isal;
#endif
	int par_threads;         /* er_reader_set_threads(); >1 allows RD_PAR */
	er_bgzf_pool *par;
	int par_stop;            /* no more members go to the pool */
	int par_used;            /* RD_PAR was entered */
	uint64_t par_members;    /* members handed to the pool */
	er_members *spec;        /* RD_SPEC's pool, kept for re-entry after a serial stretch */
	uint64_t spec_from;      /* where the last RD_SPEC run ended */
	int spec_runs;           /* RD_SPEC runs started */
	size_t spec_job_bytes;   /* er_reader_set_spec_job_bytes(); 0 = default */
	uint64_t skip;           /* output bytes the serial reader drops (already handed out) */
	char *path;
	char *msg;
	size_t msgcap;
	int fifo_wait;           /* a FIFO opened O_NONBLOCK: no writer seen yet */
	void (*on_wait)(void *ctx, const char *path);
	void *wait_ctx;
};

static ssize_t fail(er_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record a sticky error "PATH: message". */
static ssize_t fail(er_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->msg, r->msgcap, "%s: ", r->path);
	if (n >= 0 && (size_t)n < r->msgcap) {
		va_start(ap, fmt);
		vsnprintf(r->msg + n, r->msgcap - (size_t)n, fmt, ap);
		va_end(ap);
	}
	r->mode = RD_ERROR;
	return -1;
}

static int fail_nomem(er_reader *r)
{
	r->nomem = 1;
	return (int)fail(r, "out of memory");
}

int er_reader_nomem(const er_reader *r)
{
	return r->nomem;
}

static const char *errstr(int e, char *buf, size_t len)
{
	/* GNU strerror_r (we build with _GNU_SOURCE): thread-safe, returns the text. */
	return strerror_r(e, buf, len);
}

static uint64_t in_offset(const er_reader *r)
{
	return r->in_base + r->in_pos;
}

static size_t in_avail(const er_reader *r)
{
	return r->in_len - r->in_pos;
}

/* Drop the consumed bytes in[0..in_pos), remembering the last 8 of them. */
static void discard_consumed(er_reader *r)
{
	size_t k = r->in_pos;
	if (k == 0)
		return;
	if (k >= sizeof r->hist) {
		memcpy(r->hist, r->in + k - sizeof r->hist, sizeof r->hist);
	} else {
		memmove(r->hist, r->hist + k, sizeof r->hist - k);
		memcpy(r->hist + sizeof r->hist - k, r->in, k);
	}
	memmove(r->in, r->in + k, r->in_len - k);
	r->in_len -= k;
	r->in_pos = 0;
	r->in_base += k;
}

void er_reader_set_wait_notice(er_reader *r, void (*fn)(void *ctx, const char *path), void *ctx)
{
	r->on_wait = fn;
	r->wait_ctx = ctx;
}

/* The first read of a FIFO opened without blocking waits here for a writer,
 * in steps of a second (a cancel is seen at once: signals are unblocked only
 * inside ppoll), says once that it waits, then makes the descriptor blocking
 * as a FIFO read normally is. 0, or -1 when cancelled. */
static int fifo_wait_writer(er_reader *r)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0, said = 0;
	for (;;) {
		if (r->cancel && __atomic_load_n(r->cancel, __ATOMIC_RELAXED)) {
			rc = -1;
			break;
		}
		/* no writer yet: neither POLLIN nor POLLHUP (Linux reports a
		 * hang-up only once a writer has come and gone) */
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		struct timespec step = { 1, 0 };
		int k = ppoll(&p, 1, &step, &old);
		if (k > 0 || (k < 0 && errno != EINTR))
			break; /* data, a writer gone, or an error: the read says which */
		if (k == 0 && !said++ && r->on_wait)
			r->on_wait(r->wait_ctx, r->path);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		errno = EINTR;
		return -1;
	}
	int fl = fcntl(r->fd, F_GETFL);
	if (fl >= 0)
		fcntl(r->fd, F_SETFL, fl & ~O_NONBLOCK);
	r->fifo_wait = 0;
	return 0;
}

/* A signal interrupts a blocked read (a stalled FIFO) with EINTR: retry
 * unless the run was cancelled meanwhile. */
static ssize_t read_fd(er_reader *r, void *buf, size_t n)
{
	ssize_t got;
	if (r->fifo_wait && fifo_wait_writer(r) < 0)
		return -1;
	/* A pipe may block for ever: wait for it where a signal cannot be missed. */
	if (r->cancel && r->size < 0 && er_wait_readable(r->fd, r->cancel) < 0) {
		errno = EINTR;
		return -1;
	}
	do
		got = read(r->fd, buf, n);
	while (got < 0 && errno == EINTR &&
	       !(r->cancel && __atomic_load_n(r->cancel, __ATOMIC_RELAXED)));
	if (got > 0 && r->sha) /* every byte of the file passes here once */
		sha256_update(r->sha, (size_t)got, buf);
	return got;
}

int er_reader_hash(er_reader *r)
{
	if (!r->sha && !(r->sha = malloc(sizeof *r->sha)))
		return -1;
	sha256_init(r->sha);
	return 0;
}

int er_reader_sha256(er_reader *r, char hex[65])
{
	if (!r->sha)
		return -1;
	unsigned char d[SHA256_DIGEST_SIZE];
	sha256_digest(r->sha, sizeof d, d);
	er_hex(d, sizeof d, hex);
	return 0;
}

void er_reader_set_cancel(er_reader *r, const volatile int *cancel)
{
	r->cancel = cancel;
}

/* Make at least need bytes available unless the file ends first. 0 or -1. */
static int fill(er_reader *r, size_t need)
{
	char eb[128];
	while (in_avail(r) < need && !r->eof) {
		discard_consumed(r);
		ssize_t got = read_fd(r, r->in + r->in_len, ER_READER_INBUF - r->in_len);
		if (got < 0)
			return (int)fail(r, "read error: %s", errstr(errno, eb, sizeof eb));
		if (got == 0)
			r->eof = 1;
		r->in_len += (size_t)got;
	}
	return 0;
}

static int is_magic(const unsigned char *p)
{
	return p[0] == 0x1f && p[1] == 0x8b;
}

/* ------------------------------------------------------------------ zlib */

/* One inflate() call. *got = bytes written, *end = member complete. */
static int step_zlib(er_reader *r, unsigned char *out, size_t room, size_t *got, int *end)
{
	z_stream *z = &r->zs;
	size_t avail = in_avail(r);
	z->next_in = r->in + r->in_pos;
	z->avail_in = (uInt)avail;
	z->next_out = out;
	z->avail_out = (uInt)room;
	int zr = inflate(z, Z_NO_FLUSH);
	r->in_pos += avail - z->avail_in;
	*got = room - z->avail_out;
	*end = 0;
	switch (zr) {
	case Z_STREAM_END:
		*end = 1;
		return 0;
	case Z_OK:
	case Z_BUF_ERROR: /* no progress: more input needed (EOF handled by caller) */
		return 0;
	case Z_DATA_ERROR: {
		const char *m = z->msg ? z->msg : "unknown error";
		uint64_t off = in_offset(r);
		if (strcmp(m, "incorrect data check") == 0) {
			/* zlib stops before ISIZE; a member cut inside it is truncated
			 * (as ISA-L, which checks only a complete trailer, sees it). */
			if (fill(r, 4) < 0)
				return -1;
			if (in_avail(r) < 4)
				return (int)fail(r, "gzip truncated at byte %llu",
						 (unsigned long long)(r->in_base + r->in_len));
			return (int)fail(r, "gzip CRC mismatch in member %llu (member ends at byte %llu)",
					 (unsigned long long)r->member, (unsigned long long)(off + 4));
		}
		if (strcmp(m, "incorrect length check") == 0)
			return (int)fail(r, "gzip length mismatch in member %llu (member ends at byte %llu)",
					 (unsigned long long)r->member, (unsigned long long)off);
		return (int)fail(r, "corrupt gzip data at byte %llu (zlib: %s)", (unsigned long long)off, m);
	}
	case Z_MEM_ERROR:
		return fail_nomem(r);
	default:
		return (int)fail(r, "zlib inflate error %d at byte %llu", zr,
				 (unsigned long long)in_offset(r));
	}
}

/* ----------------------------------------------------------------- ISA-L */
#ifdef ER_HAVE_ISAL
static const char *isal_errname(int e)
{
	switch (e) {
	case ISAL_INVALID_BLOCK: return "invalid block";
	case ISAL_INVALID_SYMBOL: return "invalid symbol";
	case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
	case ISAL_INVALID_WRAPPER: return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
	case ISAL_INCORRECT_CHECKSUM: return "header crc mismatch";
	case ISAL_NEED_DICT: return "dictionary needed";
	default: return "unknown error";
	}
}

/* The 8 file bytes just before the current input position. */
static void prev8(const er_reader *r, unsigned char out[8])
{
	size_t k = r->in_pos;
	if (k >= 8) {
		memcpy(out, r->in + k - 8, 8);
	} else {
		memcpy(out, r->hist + k, 8 - k);
		memcpy(out + 8 - k, r->in, k);
	}
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One isal_inflate() call; same contract as step_zlib(). ISA-L 2.30 checks
 * CRC32 and ISIZE itself but reports both as ISAL_INCORRECT_CHECKSUM, so the
 * stored trailer is re-read to say which one failed. */
static int step_isal(er_reader *r, unsigned char *out, size_t room, size_t *got, int *end)
{
	struct inflate_state *s = r->isal;
	size_t avail = in_avail(r);
	if (room > UINT32_MAX)
		room = UINT32_MAX;
	s->next_in = r->in + r->in_pos;
	s->avail_in = (uint32_t)avail;
	s->next_out = out;
	s->avail_out = (uint32_t)room;
	int ir = isal_inflate(s);
	r->in_pos += avail - s->avail_in;
	*got = room - s->avail_out;
	*end = 0;
	if (ir == ISAL_DECOMP_OK) {
		*end = s->block_state == ISAL_BLOCK_FINISH;
		return 0;
	}
	uint64_t off = in_offset(r);
	if (ir == ISAL_INCORRECT_CHECKSUM &&
	    (s->block_state == ISAL_BLOCK_FINISH || s->block_state == ISAL_CHECKSUM_CHECK)) {
		unsigned char t[8];
		prev8(r, t);
		if (le32(t) != s->crc)
			return (int)fail(r, "gzip CRC mismatch in member %llu (member ends at byte %llu)",
					 (unsigned long long)r->member, (unsigned long long)off);
		return (int)fail(r, "gzip length mismatch in member %llu (member ends at byte %llu)",
				 (unsigned long long)r->member, (unsigned long long)off);
	}
	return (int)fail(r, "corrupt gzip data at byte %llu (isa-l: %s)", (unsigned long long)off,
			 isal_errname(ir));
}
#endif

/* ---------------------------------------------------------------- members */

/* Start a member whose magic bytes are at the current input position. */
static int member_begin(er_reader *r)
{
	r->member++;
	r->mode = RD_MEMBER;
#ifdef ER_HAVE_ISAL
	if (r->backend == ER_INFLATE_ISAL) {
		if (r->member > 1)
			isal_inflate_reset(r->isal);
		r->isal->crc_flag = ISAL_GZIP;
		/* ISA-L 2.30 ignores the reserved FLG bits that zlib rejects. */
		if (fill(r, 4) < 0)
			return -1;
		const unsigned char *h = r->in + r->in_pos;
		if (in_avail(r) >= 4 && h[2] == 8 && (h[3] & 0xe0))
			return (int)fail(r, "corrupt gzip data at byte %llu (isa-l: unknown header flags set)",
					 (unsigned long long)(in_offset(r) + 4));
		return 0;
	}
#endif
	if (r->member > 1 && inflateReset(&r->zs) != Z_OK)
		return (int)fail(r, "zlib inflateReset failed");
	return 0;
}

static int gzip_init(er_reader *r)
{
	r->is_gzip = 1;
#ifdef ER_HAVE_ISAL
	if (r->backend == ER_INFLATE_ISAL) {
		r->isal = malloc(sizeof *r->isal);
		if (!r->isal)
			return fail_nomem(r);
		isal_inflate_init(r->isal);
		return member_begin(r);
	}
#endif
	memset(&r->zs, 0, sizeof r->zs);
	int zr = inflateInit2(&r->zs, 15 + 16);
	if (zr != Z_OK)
		return zr == Z_MEM_ERROR ? fail_nomem(r) : (int)fail(r, "zlib inflateInit2 failed");
	r->zinit = 1;
	return member_begin(r);
}

static int spec_may_start(const er_reader *r);

/* Inflate up to cap bytes. The bytes decoded before an error in the same
 * call are delivered; the error is sticky and the next call returns it. */
static ssize_t read_gzip_once(er_reader *r, unsigned char *out, size_t cap)
{
	size_t produced = 0;
	if (r->mode == RD_ERROR)
		return -1;
	while (produced < cap) {
		if (r->mode == RD_BETWEEN) {
			if (fill(r, 2) < 0)
				goto err;
			if (in_avail(r) == 0) {
				r->mode = RD_EOF;
				break;
			}
			if (in_avail(r) < 2 || !is_magic(r->in + r->in_pos)) {
				fail(r, "trailing garbage after gzip member at byte %llu",
				     (unsigned long long)in_offset(r));
				goto err;
			}
			if (member_begin(r) < 0)
				goto err;
		}
		if (in_avail(r) == 0 && fill(r, 1) < 0)
			goto err;
		size_t room = cap - produced;
		if (room > UINT_MAX)
			room = UINT_MAX;
		size_t got, before = r->in_pos;
		int end, rc;
#ifdef ER_HAVE_ISAL
		if (r->backend == ER_INFLATE_ISAL)
			rc = step_isal(r, out + produced, room, &got, &end);
		else
#endif
			rc = step_zlib(r, out + produced, room, &got, &end);
		produced += got;
		if (rc < 0)
			goto err;
		if (end) {
			r->mode = RD_BETWEEN;
			if (produced && spec_may_start(r))
				break; /* the next read goes parallel again */
			continue;
		}
		/* Output room left and no input left: the decoder wants more. */
		if (got < room && in_avail(r) == 0 && r->eof) {
			fail(r, "gzip truncated at byte %llu", (unsigned long long)(r->in_base + r->in_len));
			goto err;
		}
		if (got == 0 && r->in_pos == before && in_avail(r) > 0) {
			fail(r, "inflate made no progress at byte %llu", (unsigned long long)in_offset(r));
			goto err;
		}
	}
	return (ssize_t)produced;
err:
	return produced ? (ssize_t)produced : -1;
}

/* read_gzip_once() after dropping the r->skip bytes a parallel run already
 * handed out (the serial reader re-inflates them from the member start). */
static ssize_t read_gzip(er_reader *r, unsigned char *out, size_t cap)
{
	while (r->skip > 0) {
		size_t n = cap < r->skip ? cap : (size_t)r->skip;
		ssize_t got = read_gzip_once(r, out, n);
		if (got < 0)
			return -1;
		if (got == 0)
			return fail(r, "gzip input changed while being read (at byte %llu)",
				    (unsigned long long)in_offset(r));
		r->skip -= (uint64_t)got;
	}
	return read_gzip_once(r, out, cap);
}

static ssize_t read_plain(er_reader *r, unsigned char *out, size_t cap)
{
	char eb[128];
	size_t avail = in_avail(r);
	if (avail > 0) { /* bytes read while sniffing the format */
		size_t n = avail < cap ? avail : cap;
		memcpy(out, r->in + r->in_pos, n);
		r->in_pos += n;
		if (r->in_pos == r->in_len) {
			r->in_base += r->in_len;
			r->in_pos = r->in_len = 0;
		}
		return (ssize_t)n;
	}
	if (r->eof) {
		r->mode = RD_EOF;
		return 0;
	}
	ssize_t got = read_fd(r, out, cap);
	if (got < 0)
		return fail(r, "read error: %s", errstr(errno, eb, sizeof eb));
	if (got == 0) {
		r->eof = 1;
		r->mode = RD_EOF;
	}
	r->in_base += (uint64_t)got;
	return got;
}

/* ------------------------------------------------------- parallel BGZF */

/* Compressed bytes per pool job: big enough that hand-off costs nothing,
 * small enough that 2 x threads + 2 jobs in flight stay a few MB. */
#define ER_BGZF_JOB (256u * 1024u)

/* The size of the BGZF member at the input position: 1 (set *size, all its
 * bytes are in the buffer), 0 (not one: end of file, another kind of member,
 * garbage or a truncated member - the serial reader deals with it), -1. */
static int next_bgzf(er_reader *r, size_t *size)
{
	size_t need = 18; /* header with the usual 6-byte extra field */
	for (;;) {
		if (fill(r, need) < 0)
			return -1;
		int rc = er_bgzf_member_size(r->in + r->in_pos, in_avail(r), size);
		if (rc == 0)
			return 0;
		if (rc == 1) {
			if (fill(r, *size) < 0)
				return -1;
			return in_avail(r) >= *size;
		}
		if (in_avail(r) < need || *size <= need)
			return 0; /* the file ended inside a header */
		need = *size;
	}
}

/* Hand members to the pool until it is full or the BGZF run ends. */
static int par_produce(er_reader *r)
{
	while (!r->par_stop && er_bgzf_has_room(r->par)) {
		size_t size;
		int rc = next_bgzf(r, &size);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			r->par_stop = 1;
			break;
		}
		const unsigned char *m = r->in + r->in_pos;
		uint32_t isize = (uint32_t)m[size - 4] | (uint32_t)m[size - 3] << 8 |
		                 (uint32_t)m[size - 2] << 16 | (uint32_t)m[size - 1] << 24;
		if (er_bgzf_add(r->par, m, size, isize, in_offset(r), r->par_members + 1) < 0) {
			r->par_stop = 1; /* no memory: the serial reader goes on from here */
			break;
		}
		r->par_members++;
		r->in_pos += size;
		if (er_bgzf_pending(r->par) >= ER_BGZF_JOB)
			er_bgzf_submit(r->par);
	}
	if (r->par_stop)
		er_bgzf_submit(r->par);
	return 0;
}

/* Re-read the file from member `member` at byte off with the serial reader. */
static int par_rewind(er_reader *r, uint64_t off, uint64_t member)
{
	char eb[128];
	if (lseek(r->fd, (off_t)off, SEEK_SET) < 0)
		return (int)fail(r, "seek error: %s", errstr(errno, eb, sizeof eb));
	r->in_base = off;
	r->in_pos = r->in_len = 0;
	r->eof = 0;
	memset(r->hist, 0, sizeof r->hist);
	r->member = member - 1;
	r->mode = RD_BETWEEN;
	return 0;
}

static ssize_t read_par(er_reader *r, unsigned char *out, size_t cap)
{
	for (;;) {
		if (par_produce(r) < 0)
			return -1;
		const unsigned char *d = NULL;
		size_t n = 0;
		uint64_t off, member;
		int h = er_bgzf_head(r->par, &d, &n, &off, &member);
		if (h > 0) {
			size_t k = n < cap ? n : cap;
			if (k)
				memcpy(out, d, k);
			er_bgzf_consume(r->par, k);
			if (k)
				return (ssize_t)k;
			continue;
		}
		r->par_stop = 1;
		if (h < 0) {
			/* Its output and everything after it is dropped; the serial
			 * reader reads from its first member and names the error. */
			er_bgzf_cancel(r->par);
			if (par_rewind(r, off, member) < 0)
				return -1;
		} else {
			/* Every member handed out: what follows is the serial reader's. */
			r->member = r->par_members;
			r->mode = RD_BETWEEN;
		}
		return read_gzip(r, out, cap);
	}
}

/* ------------------------------------------- speculative members / pigz -i */

/* Runs of RD_SPEC per file: one, plus one after each serial stretch that
 * got past a member the parallel run gave up on. */
#define ER_SPEC_RUNS 16

/* Enter RD_SPEC at the member header at file offset off (member index). */
static void spec_start(er_reader *r, uint64_t off, uint64_t member)
{
	er_members_begin(r->spec, off, member);
	r->spec_runs++;
	r->mode = RD_SPEC;
}

/* 1 when a member just ended serially and a new parallel run may start at
 * the next one: only past the point where the last run gave up, so every
 * run moves forward. */
static int spec_may_start(const er_reader *r)
{
	return r->spec && r->mode == RD_BETWEEN && r->skip == 0 && r->spec_runs < ER_SPEC_RUNS &&
	       in_offset(r) > r->spec_from && in_offset(r) < (uint64_t)r->size;
}

static ssize_t read_spec(er_reader *r, unsigned char *out, size_t cap)
{
	er_members_resume res;
	size_t n = er_members_read(r->spec, out, cap, &res);
	if (n > 0)
		return (ssize_t)n;
	/* The run ended (end of file, or a doubt): the serial reader goes on
	 * from a member header, dropping what was handed out of that member. */
	if (par_rewind(r, res.off, res.member) < 0)
		return -1;
	r->skip = res.skip;
	r->spec_from = res.off;
	return read_gzip(r, out, cap);
}

/* Enter RD_PAR when allowed and the first member is BGZF; RD_SPEC when it
 * is another gzip member. */
static int par_start(er_reader *r)
{
	if (r->par_threads < 2 || r->size < 0 || r->sha)
		return 0;
	size_t size;
	int rc = next_bgzf(r, &size);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		r->spec = er_members_new(r->fd, (uint64_t)r->size, r->par_threads, r->backend);
		if (r->spec) {
			if (r->spec_job_bytes)
				er_members_set_job_bytes(r->spec, r->spec_job_bytes);
			r->member = 0;
			spec_start(r, in_offset(r), 1);
		}
		return 0;
	}
	r->par = er_bgzf_pool_new(r->par_threads, r->backend);
	if (!r->par)
		return 0; /* stay serial */
	r->mode = RD_PAR;
	r->par_used = 1;
	r->member = 0;
	return 0;
}

void er_reader_set_threads(er_reader *r, int nthreads)
{
	r->par_threads = nthreads;
}

int er_reader_parallel(const er_reader *r)
{
	return r->par_used;
}

uint64_t er_reader_spec_jobs(const er_reader *r)
{
	return r->spec ? er_members_jobs(r->spec) : 0;
}

uint64_t er_reader_spec_fallbacks(const er_reader *r)
{
	return r->spec ? er_members_fallbacks(r->spec) : 0;
}

void er_reader_set_spec_job_bytes(er_reader *r, size_t bytes)
{
	r->spec_job_bytes = bytes;
}

ssize_t er_reader_read(er_reader *r, void *buf, size_t cap)
{
	if (r->mode == RD_ERROR)
		return -1;
	if (cap == 0)
		return 0;
	if (cap > SSIZE_MAX)
		cap = SSIZE_MAX;
	if (r->mode == RD_START) {
		if (fill(r, 2) < 0)
			return -1;
		if (in_avail(r) >= 2 && is_magic(r->in + r->in_pos)) {
			if (gzip_init(r) < 0 || par_start(r) < 0)
				return -1;
		} else {
			r->mode = RD_PLAIN;
		}
	}
	switch (r->mode) {
	case RD_PLAIN:
		return read_plain(r, buf, cap);
	case RD_BETWEEN:
		if (spec_may_start(r))
			spec_start(r, in_offset(r), r->member + 1);
		return r->mode == RD_SPEC ? read_spec(r, buf, cap) : read_gzip(r, buf, cap);
	case RD_MEMBER:
		return read_gzip(r, buf, cap);
	case RD_PAR:
		return read_par(r, buf, cap);
	case RD_SPEC:
		return read_spec(r, buf, cap);
	case RD_EOF:
		return 0;
	default:
		return -1;
	}
}

ssize_t er_reader_read_fn(void *ctx, char *buf, size_t cap)
{
	return er_reader_read(ctx, buf, cap);
}

/* ------------------------------------------------------------ open/close */

static enum er_inflate pick_backend(enum er_inflate want)
{
	if (want != ER_INFLATE_AUTO)
		return want;
	const char *env = getenv("ER_INFLATE");
	if (env && strcmp(env, "zlib") == 0)
		return ER_INFLATE_ZLIB;
#ifdef ER_HAVE_ISAL
	return ER_INFLATE_ISAL; /* also for ER_INFLATE=isal */
#else
	return ER_INFLATE_ZLIB;
#endif
}

static er_status open_fail(er_status st, const char *path, const char *what, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, what);
	return st;
}

er_status er_reader_open_ex(const char *path, enum er_inflate backend, er_reader **out,
			    char *err, size_t errlen)
{
	char eb[128];
	er_status st = ER_OK;
	er_reader *r = NULL;
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	backend = pick_backend(backend);
#ifndef ER_HAVE_ISAL
	if (backend == ER_INFLATE_ISAL)
		return open_fail(ER_E_USAGE, path, "ISA-L inflate not compiled in", err, errlen);
#endif
	if (backend != ER_INFLATE_ZLIB && backend != ER_INFLATE_ISAL)
		return open_fail(ER_E_USAGE, path, "unknown inflate backend", err, errlen);

	r = calloc(1, sizeof *r);
	if (!r)
		return open_fail(ER_E_NOMEM, path, "out of memory", err, errlen);
	r->fd = -1;
	r->backend = backend;
	r->mode = RD_START;
	r->size = -1;
	size_t plen = strlen(path);
	r->path = malloc(plen + 1);
	r->msgcap = plen + 256;
	r->msg = malloc(r->msgcap);
	r->in = malloc(ER_READER_INBUF);
	if (!r->path || !r->msg || !r->in) {
		st = open_fail(ER_E_NOMEM, path, "out of memory", err, errlen);
		goto out;
	}
	memcpy(r->path, path, plen + 1);
	r->msg[0] = '\0';

	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
	} else {
		/* open(2) of a FIFO waits for a writer where no signal can stop it
		 * (EINTR is retried): open it without blocking, and let the first
		 * read wait (fifo_wait_writer). */
		struct stat ps;
		int fifo = stat(path, &ps) == 0 && S_ISFIFO(ps.st_mode);
		do
			r->fd = open(path, O_RDONLY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
		while (r->fd < 0 && errno == EINTR);
		r->fifo_wait = fifo && r->fd >= 0;
		if (r->fd < 0) {
			st = open_fail(ER_E_IO, path, errstr(errno, eb, sizeof eb), err, errlen);
			goto out;
		}
		r->own_fd = 1;
	}
	struct stat sb;
	if (fstat(r->fd, &sb) == 0 && S_ISREG(sb.st_mode))
		r->size = (int64_t)sb.st_size;
out:
	if (st != ER_OK) {
		er_reader_close(r);
		return st;
	}
	*out = r;
	return ER_OK;
}

er_status er_reader_open(const char *path, er_reader **out, char *err, size_t errlen)
{
	return er_reader_open_ex(path, ER_INFLATE_AUTO, out, err, errlen);
}

void er_reader_close(er_reader *r)
{
	if (!r)
		return;
	er_bgzf_pool_free(r->par);
	er_members_free(r->spec);
	if (r->zinit)
		inflateEnd(&r->zs);
#ifdef ER_HAVE_ISAL
	free(r->isal);
#endif
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->in);
	free(r->sha);
	free(r->msg);
	free(r->path);
	free(r);
}

/* -------------------------------------------------------------- accessors */

const char *er_reader_error(const er_reader *r)
{
	return r->mode == RD_ERROR ? r->msg : "";
}

uint64_t er_reader_bytes_in(const er_reader *r)
{
	if (r->mode == RD_SPEC)
		return er_members_pos(r->spec);
	return in_offset(r);
}

int64_t er_reader_size(const er_reader *r)
{
	return r->size;
}

int er_reader_is_gzip(const er_reader *r)
{
	return r->is_gzip;
}

const char *er_reader_path(const er_reader *r)
{
	return r->path;
}

enum er_inflate er_reader_backend(const er_reader *r)
{
	return r->backend;
}

const char *er_inflate_name(enum er_inflate b)
{
	static char zlib_name[48];
	if (b == ER_INFLATE_ISAL) {
#ifdef ER_HAVE_ISAL
		return ER_ISAL_NAME;
#else
		return "ISA-L";
#endif
	}
	if (!zlib_name[0])
		snprintf(zlib_name, sizeof zlib_name, "zlib %s", zlibVersion());
	return zlib_name;
}
