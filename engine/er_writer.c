/* er_writer.c - one output file (see er_writer.h). */
#include "er_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "er_gzip.h" /* the same encoder as the scores */

const char *er_out_name(const er_outfile *o)
{
	return o->path ? o->path : "<stdout>";
}

void er_out_errmsg(const er_outfile *o, const char *what, char *buf, size_t len)
{
	int e = o->err ? o->err : errno;
	if (e == EPIPE || e == ECONNRESET)
		snprintf(buf, len, "%s: closed early", o->label[0] ? o->label : er_out_name(o));
	else
		snprintf(buf, len, "%s: %s: %s", o->label[0] ? o->label : er_out_name(o), what, strerror(e));
}

static er_status fail(er_outfile *o, char *err, size_t errlen, const char *what, int e)
{
	int save = o->err;
	o->err = e;
	er_out_errmsg(o, what, err, errlen);
	o->err = save ? save : e;
	return ER_E_IO;
}

/* -------------------------------------------------------------- resolving */

static char *join(const char *dir, const char *base)
{
	size_t n = strlen(dir) + strlen(base) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base);
	return s;
}

char *er_out_resolve(const char *path)
{
	char *cur = strdup(path);
	if (!cur)
		return NULL;
	/* Follow the chain by hand: realpath() fails on a dangling link, whose
	 * target is exactly the file we are asked to create. */
	for (int hops = 0;; hops++) {
		struct stat st;
		if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
			break;
		if (hops == 40) {
			free(cur);
			errno = ELOOP;
			return NULL;
		}
		char link[PATH_MAX];
		ssize_t n = readlink(cur, link, sizeof link - 1);
		if (n < 0) {
			free(cur);
			return NULL;
		}
		link[n] = '\0';
		char *next;
		if (link[0] == '/') {
			next = strdup(link);
		} else {
			char *d = strdup(cur);
			next = d ? join(dirname(d), link) : NULL;
			free(d);
		}
		free(cur);
		if (!(cur = next))
			return NULL;
	}
	char *d = strdup(cur), *b = strdup(cur);
	char *real = NULL, *out = NULL;
	if (d && b && (real = realpath(dirname(d), NULL)) != NULL)
		out = join(real, basename(b));
	int e = errno;
	free(real);
	free(d);
	free(b);
	free(cur);
	errno = e;
	return out;
}

/* ------------------------------------------------------------------ open */

static void sha_init(er_outfile *o)
{
	sha256_init(&o->sha);
	o->sha_mark = o->sha;
}

static er_status open_spool(er_outfile *o, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	/* Blame $TMPDIR, not <stdout>, when the spool cannot be written. */
	snprintf(o->label, sizeof o->label, "spool file for <stdout> in $TMPDIR (%s)", dir);
	char *t = join(dir, ".examrisk-stdout.XXXXXX");
	if (!t)
		return ER_E_NOMEM;
	o->fd = mkstemp(t);
	if (o->fd < 0) {
		int e = errno;
		free(t);
		return fail(o, err, errlen, "cannot create", e);
	}
	unlink(t); /* nothing to clean up whatever happens */
	free(t);
	o->opened = 1;
	o->kind = ER_OUT_SPOOL;
	return ER_OK;
}

static int open_socket(const char *path)
{
	struct sockaddr_un sa;
	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A temporary beside the target, carrying our pid so that the next run on
 * this output can tell a dead run's leftovers from a live one's. */
static er_status open_temp(er_outfile *o, const struct stat *old, char *err, size_t errlen)
{
	char *d = strdup(o->target), *b = strdup(o->target);
	if (!d || !b) {
		free(d);
		free(b);
		return ER_E_NOMEM;
	}
	char name[NAME_MAX + 64];
	snprintf(name, sizeof name, ".%s.examrisk-%ld.tmp.XXXXXX", basename(b), (long)getpid());
	o->tmp = join(dirname(d), name);
	free(d);
	free(b);
	if (!o->tmp)
		return ER_E_NOMEM;
	o->fd = mkstemp(o->tmp);
	if (o->fd < 0) {
		int e = errno;
		free(o->tmp);
		o->tmp = NULL;
		return fail(o, err, errlen, "cannot create temporary file", e);
	}
	o->opened = 1;
	/* mkstemp makes 0600: take the previous file's mode and owner (customs
	 * data is confidential: a 0600 file stays 0600), else 0666 & ~umask. */
	mode_t mode;
	if (old) {
		mode = old->st_mode & 07777;
		if (geteuid() == 0 && fchown(o->fd, old->st_uid, old->st_gid) < 0)
			return fail(o, err, errlen, "chown", errno);
	} else {
		mode_t um = umask(0);
		umask(um);
		mode = 0666 & ~um;
	}
	if (fchmod(o->fd, mode) < 0)
		return fail(o, err, errlen, "chmod", errno);
	return ER_OK;
}

er_status er_out_open(er_outfile *o, const char *path, int flags, int gz_level, char *err,
                      size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	o->gz_level = gz_level;
	sha_init(o);
	if (!path || strcmp(path, "-") == 0) {
		struct stat st;
		if (!(flags & ER_OUT_SPOOL_STDOUT) && fstat(STDOUT_FILENO, &st) == 0 &&
		    !S_ISREG(st.st_mode)) {
			o->fd = STDOUT_FILENO; /* not ours: never closed */
			o->kind = ER_OUT_STREAM;
			snprintf(o->label, sizeof o->label, "<stdout>");
			return ER_OK;
		}
		return open_spool(o, err, errlen);
	}
	if (!(o->path = strdup(path)))
		return ER_E_NOMEM;
	snprintf(o->label, sizeof o->label, "%s", path);
	struct stat st;
	int exists = stat(path, &st) == 0;
	if (exists && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not an output file", path);
		return ER_E_USAGE;
	}
	if (exists && S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "%s: is a block device; refusing to write to it", path);
		return ER_E_USAGE;
	}
	if (exists && !S_ISREG(st.st_mode)) {
		/* A device, FIFO or socket: written straight through (a FIFO's
		 * open waits for its reader). */
		o->fd = S_ISSOCK(st.st_mode) ? open_socket(path)
		                             : open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (o->fd < 0)
			return fail(o, err, errlen, "cannot open", errno);
		o->opened = 1;
		o->kind = ER_OUT_DIRECT;
		return ER_OK;
	}
	if (!(o->target = er_out_resolve(path)))
		return fail(o, err, errlen, "cannot create temporary file", errno);
	o->kind = ER_OUT_FILE;
	return open_temp(o, exists ? &st : NULL, err, errlen);
}

/* ----------------------------------------------------------------- write */

/* Start writeback of what is written every few MiB, so the fsync at commit
 * finds little left to do (it was ~0.13 s of a 4 s run for 160 MB of output).
 * Advisory only: errors surface at fsync. Linux-specific; a no-op elsewhere. */
#define WRITEBACK_STEP (8u << 20)
static void start_writeback(er_outfile *o)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (o->kind == ER_OUT_FILE && o->off - o->flushed >= WRITEBACK_STEP) {
		(void)sync_file_range(o->fd, (off_t)o->flushed, (off_t)(o->off - o->flushed),
		                      SYNC_FILE_RANGE_WRITE);
		o->flushed = o->off;
	}
#else
	(void)o;
#endif
}

/* The bytes as they land in the file (hashed and counted). */
static int write_raw(er_outfile *o, const void *p, size_t n)
{
	if (o->err)
		return -1;
	const char *s = p;
	if (!o->no_digest)
		sha256_update(&o->sha, n, (const uint8_t *)p);
	while (n) {
		ssize_t w = write(o->fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			return -1;
		}
		s += w;
		n -= (size_t)w;
		o->off += (uint64_t)w;
	}
	start_writeback(o);
	return 0;
}

/* One gzip member of the pending plain bytes. */
static int flush_gz(er_outfile *o)
{
	if (!o->gz_level || !o->gzin.len || o->err)
		return o->err ? -1 : 0;
	if (o->gzp) {
		if (er_gzpool_put(o->gzp, &o->gzin) < 0) {
			if (!o->err)
				o->err = errno ? errno : EIO;
			return -1;
		}
		return 0;
	}
	o->gzout.len = 0;
	if (er_gz_member(&o->gz, &o->gzout, o->gzin.p, o->gzin.len, o->gz_level) < 0) {
		o->err = errno ? errno : ENOMEM;
		return -1;
	}
	o->gzin.len = 0;
	return write_raw(o, o->gzout.p, o->gzout.len);
}

int er_out_write(er_outfile *o, const void *p, size_t n)
{
	if (!o->gz_level)
		return write_raw(o, p, n);
	if (o->err)
		return -1;
	/* Members end at fixed plain offsets, whatever the pieces written. */
	const char *s = p;
	while (n) {
		size_t room = ER_OUT_GZ_BLOCK - o->gzin.len;
		size_t take = n < room ? n : room;
		if (er_buf_append(&o->gzin, s, take) < 0) {
			o->err = ENOMEM;
			return -1;
		}
		s += take;
		n -= take;
		if (o->gzin.len == ER_OUT_GZ_BLOCK && flush_gz(o) < 0)
			return -1;
	}
	return 0;
}

int er_out_emit(void *ctx, const char *p, size_t n)
{
	return er_out_write(ctx, p, n);
}

/* The pool's sink: members in order, through the one write path. */
static int gz_sink(void *ctx, const char *p, size_t n)
{
	er_outfile *o = ctx;
	if (write_raw(o, p, n) < 0) {
		errno = o->err;
		return -1;
	}
	return 0;
}

void er_out_parallel(er_outfile *o, int threads)
{
	if (o->gz_level && !o->gzp && !o->err && threads > 1)
		o->gzp = er_gzpool_new(threads, o->gz_level, gz_sink, o); /* NULL: stays serial */
}

int er_out_serial(er_outfile *o)
{
	if (!o->gzp)
		return o->err ? -1 : 0;
	er_gzpool *p = o->gzp;
	o->gzp = NULL;
	if (er_gzpool_end(p) < 0 && !o->err)
		o->err = errno ? errno : EIO;
	return o->err ? -1 : 0;
}

int er_out_finish(er_outfile *o)
{
	int rc = flush_gz(o);
	return er_out_serial(o) < 0 ? -1 : rc;
}

/* Every member put so far written (the helpers stay). 0 or -1 (o->err). */
static int drain(er_outfile *o)
{
	if (o->gzp && er_gzpool_drain(o->gzp) < 0 && !o->err)
		o->err = errno ? errno : EIO;
	return o->err ? -1 : 0;
}

void er_out_mark(er_outfile *o)
{
	/* A member ends here, so none spans two input files, and the file
	 * holds every byte before the mark: a rollback only truncates. */
	flush_gz(o); /* an error stays sticky and surfaces at commit */
	drain(o);
	o->mark = o->off;
	o->sha_mark = o->sha;
}

int er_out_rollback(er_outfile *o)
{
	/* The failed file's members in flight are written, then cut off with
	 * the rest; its bytes not yet put are dropped. */
	if (drain(o) < 0)
		return -1;
	o->gzin.len = 0;
	if (o->off == o->mark)
		return 0;
	if (o->kind == ER_OUT_DIRECT || o->kind == ER_OUT_STREAM) {
		o->err = ESPIPE; /* what went to a pipe or device cannot be taken back */
		return -1;
	}
	if (ftruncate(o->fd, (off_t)o->mark) < 0 || lseek(o->fd, (off_t)o->mark, SEEK_SET) < 0) {
		o->err = errno;
		return -1;
	}
	o->off = o->mark;
	o->sha = o->sha_mark;
	if (o->flushed > o->off)
		o->flushed = o->off;
	return 0;
}

void er_out_no_digest(er_outfile *o)
{
	o->no_digest = 1;
}

void er_out_digest(const er_outfile *o, char hex[65])
{
	if (o->no_digest) {
		hex[0] = '\0';
		return;
	}
	struct sha256_ctx c = o->sha; /* sha256_digest resets its context */
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_digest(&c, sizeof d, d);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

uint64_t er_out_bytes(const er_outfile *o)
{
	return o->off;
}

int er_out_atomic(const er_outfile *o)
{
	return o->kind == ER_OUT_FILE || o->kind == ER_OUT_SPOOL;
}

/* ---------------------------------------------------------------- commit */

er_status er_out_sync(er_outfile *o, char *err, size_t errlen)
{
	er_out_finish(o);
	if (o->err)
		return fail(o, err, errlen, "write error", o->err);
	if (o->kind == ER_OUT_FILE && fsync(o->fd) < 0)
		return fail(o, err, errlen, "fsync", errno);
	return ER_OK;
}

er_status er_out_copy_spool(er_outfile *o, char *err, size_t errlen)
{
	if (o->kind != ER_OUT_SPOOL)
		return ER_OK;
	char buf[1 << 16];
	if (lseek(o->fd, 0, SEEK_SET) < 0)
		return fail(o, err, errlen, "seek", errno);
	er_outfile so = {.path = NULL, .kind = ER_OUT_STREAM};
	snprintf(so.label, sizeof so.label, "<stdout>");
	for (;;) {
		ssize_t r = read(o->fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(o, err, errlen, "read", errno);
		if (r == 0)
			break;
		for (ssize_t done = 0; done < r;) {
			ssize_t w = write(STDOUT_FILENO, buf + done, (size_t)(r - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return fail(&so, err, errlen, "write", errno);
			done += w;
		}
	}
	return ER_OK;
}

/* fsync a directory: the rename (or unlink) in it is durable only then. */
static int sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (dfd < 0)
		return -1;
	int rc = fsync(dfd);
	int e = errno;
	close(dfd);
	errno = e;
	return rc;
}

er_status er_out_commit(er_outfile *o, char *err, size_t errlen)
{
	er_status st = er_out_sync(o, err, errlen);
	if (st != ER_OK)
		return st;
	if (o->kind == ER_OUT_SPOOL && (st = er_out_copy_spool(o, err, errlen)) != ER_OK)
		return st;
	if (o->opened) {
		o->opened = 0;
		if (close(o->fd) < 0) {
			o->fd = -1;
			return fail(o, err, errlen, "close", errno);
		}
	}
	o->fd = -1;
	if (o->kind != ER_OUT_FILE)
		return ER_OK;
	if (rename(o->tmp, o->target) < 0)
		return fail(o, err, errlen, "rename", errno);
	free(o->tmp);
	o->tmp = NULL;
	if (sync_dir_of(o->target) < 0)
		return fail(o, err, errlen, "fsync of its directory", errno);
	return ER_OK;
}

void er_out_abort(er_outfile *o)
{
	er_out_serial(o);
	er_gz_free(&o->gz);
	if (o->opened && o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->opened = 0;
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	free(o->target);
	o->target = NULL;
	free(o->path);
	o->path = NULL;
	er_buf_free(&o->gzin);
	er_buf_free(&o->gzout);
}
