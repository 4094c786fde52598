/* er_writer.h - stage 5: one output file, written so it can be committed
 * atomically (the commit across outputs is er_commit.h).
 *
 * What an output becomes depends on what its target is when the run starts:
 * - a regular file or a name that does not exist yet (ER_OUT_FILE): written to
 *   a temporary beside the final target (symlinks followed, so a symlink keeps
 *   pointing at the replaced file) and renamed over it at commit; the
 *   temporary takes the previous file's mode (and owner when root), or
 *   0666 & ~umask for a new file;
 * - a character device, FIFO or socket (ER_OUT_DIRECT): written straight
 *   through as the run goes; no temporary, no rename, no rollback;
 * - standard output that is a regular file, or when asked (ER_OUT_SPOOL):
 *   spooled to an unlinked file in $TMPDIR and copied out at commit, so a
 *   failed run prints nothing;
 * - standard output that is a pipe, terminal or device (ER_OUT_STREAM):
 *   written as chunks complete; a reader that closes early fails the run.
 * A directory or a block device is a usage error.
 *
 * Every output keeps a running SHA-256 and byte count of exactly the bytes
 * written, so the summary can list them. A name ending in ".gz" (with
 * gz_level set) is gzip-compressed in members of ER_OUT_GZ_BLOCK plain bytes
 * each, plus one at every mark, so the bytes depend only on the content.
 * Rows of an input file that later fails its integrity check are rolled back
 * with er_out_mark / er_out_rollback (not possible on DIRECT or STREAM). */
#ifndef ER_WRITER_H
#define ER_WRITER_H

#include <stdint.h>
#include <sys/stat.h>
#include <nettle/sha2.h>
#include "examrisk.h"
#include "er_util.h"
#include "er_gzip.h"

enum er_out_kind { ER_OUT_NONE, ER_OUT_FILE, ER_OUT_DIRECT, ER_OUT_SPOOL, ER_OUT_STREAM };

/* er_out_open flags */
#define ER_OUT_SPOOL_STDOUT 1 /* spool stdout even when it is a pipe or terminal */

#define ER_OUT_GZ_BLOCK (1u << 20)

typedef struct er_outfile {
	char *path;    /* as given, for messages (NULL for stdout) */
	char *target;  /* final path with symlinks resolved (ER_OUT_FILE) */
	char *tmp;     /* temporary beside target (ER_OUT_FILE) */
	char label[160]; /* what to blame in messages (the spool names $TMPDIR) */
	int kind;      /* enum er_out_kind */
	int fd;
	int opened;    /* fd is ours to close */
	uint64_t off;  /* bytes written so far (compressed when gz) */
	uint64_t mark; /* offset where the current input file's rows begin */
	int err;       /* sticky errno */
	uint64_t flushed; /* bytes handed to the kernel's writeback so far */
	int gz_level;  /* 0 = plain; else ER_GZ_FAST or a zlib level */
	er_buf gzin, gzout; /* pending plain bytes; scratch for one member */
	er_gz gz;      /* its compressor, kept across members */
	er_gzpool *gzp; /* between er_out_parallel and er_out_serial */
	struct sha256_ctx sha, sha_mark;
	int no_digest; /* er_out_no_digest: nobody reads the SHA-256, so none */
} er_outfile;

/* path NULL or "-" means stdout. gz_level 0 writes the bytes as given.
 * ER_E_USAGE for a directory or
 * block device, ER_E_IO otherwise; err says why. */
er_status er_out_open(er_outfile *o, const char *path, int flags, int gz_level, char *err,
                      size_t errlen);
int er_out_write(er_outfile *o, const void *p, size_t n); /* 0 or -1 (errno in o->err) */
/* After open: the digest will not be read (a run with no summary), so the
 * bytes are not hashed (~1 % of the 2M-row job's CPU); er_out_digest then
 * gives the empty string. */
void er_out_no_digest(er_outfile *o);
int er_out_emit(void *ctx, const char *p, size_t n);       /* er_emit_fn adapter */
/* Compress what is pending (gz); idempotent; call before the digest is read. */
int er_out_finish(er_outfile *o);
void er_out_mark(er_outfile *o);
/* From now on (gz outputs), full members are compressed by threads helper
 * threads while the caller goes on (at most 2 x threads members in flight:
 * a write waits when they are); the member boundaries, hence the bytes,
 * stay those of er_out_write. er_out_serial waits for them and stops the
 * helpers (0 or -1, the error sticky in o->err); mark and rollback wait for
 * them and keep the helpers; finish and abort stop them. A no-op for plain
 * outputs or threads < 2. */
void er_out_parallel(er_outfile *o, int threads);
int er_out_serial(er_outfile *o);
int er_out_rollback(er_outfile *o);
/* Finish and fsync (regular files) without renaming. */
er_status er_out_sync(er_outfile *o, char *err, size_t errlen);
/* Commit one output on its own: rename over the target (or copy the spool
 * to stdout) and close. A run with several outputs uses er_commit_run. */
er_status er_out_commit(er_outfile *o, char *err, size_t errlen);
/* Copy a spool to stdout (ER_OUT_SPOOL); a no-op for other kinds. */
er_status er_out_copy_spool(er_outfile *o, char *err, size_t errlen);
/* Remove the temporary file and close; safe after commit or on an unopened (zeroed) outfile. */
void er_out_abort(er_outfile *o);
/* The name to use in messages. */
const char *er_out_name(const er_outfile *o);
/* "LABEL: closed early" for a reader that went away, else "LABEL: WHAT: strerror". */
void er_out_errmsg(const er_outfile *o, const char *what, char *buf, size_t len);
/* SHA-256 (lower-case hex) and size of the bytes written so far. */
void er_out_digest(const er_outfile *o, char hex[65]);
uint64_t er_out_bytes(const er_outfile *o);
/* 1 when the output is replaced atomically at commit (renamed file or spool). */
int er_out_atomic(const er_outfile *o);

/* The final path a name designates: symlinks followed (a dangling one to the
 * file it would create), the directory made absolute. Malloc'd; NULL with
 * errno when the directory does not exist. */
char *er_out_resolve(const char *path);

#endif
