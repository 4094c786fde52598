/* er_reader.h - stage 1: open a manifest (file or stdin) and deliver its
 * decompressed bytes. gzip is detected by magic bytes; every member of a
 * multi-member file is read; truncation, CRC/length mismatch, corrupt data
 * and trailing garbage are errors naming the file and byte offset.
 * One reader is used by one thread at a time. */
#ifndef ER_READER_H
#define ER_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "examrisk.h"

typedef struct er_reader er_reader;

/* Open path ("-" = stdin). On failure returns ER_E_IO and writes
 * "PATH: strerror" into err. */
er_status er_reader_open(const char *path, er_reader **out, char *err, size_t errlen);

/* Read up to cap decompressed bytes. Returns >0 bytes, 0 at a clean end of
 * input (every gzip member complete and verified), -1 on error. Errors are
 * sticky: every later call returns -1. */
ssize_t er_reader_read(er_reader *r, void *buf, size_t cap);

/* Message for the last error, e.g. "a.csv.gz: gzip truncated at byte 1234";
 * "" when none. Valid until er_reader_close(). */
const char *er_reader_error(const er_reader *r);

/* 1 when the error is an allocation failure ("out of memory"), not the data. */
int er_reader_nomem(const er_reader *r);

/* Compressed (raw file) bytes consumed so far. */
uint64_t er_reader_bytes_in(const er_reader *r);
/* Size of the file in bytes, or -1 when unknown (pipe, stdin). */
int64_t er_reader_size(const er_reader *r);
/* 1 if the input is gzip. Valid after the first read. */
int er_reader_is_gzip(const er_reader *r);
/* The path as given (for messages). */
const char *er_reader_path(const er_reader *r);

/* A read interrupted by a signal (EINTR) fails ("read error: Interrupted
 * system call") instead of being retried once *cancel is non-zero. */
void er_reader_set_cancel(er_reader *r, const volatile int *cancel);

/* A FIFO is opened without waiting for a writer; its first read waits
 * (a cancel set with er_reader_set_cancel stops the wait) and, when no writer
 * came within a second, calls fn(ctx, path) once, e.g. to say so. */
void er_reader_set_wait_notice(er_reader *r, void (*fn)(void *ctx, const char *path), void *ctx);

/* Hash the raw (compressed) bytes as they are read, so a table read once
 * from a pipe still has its checksum: start before the first read; the
 * digest (64 hex digits) once the input is read to its end. 0 or -1. */
int er_reader_hash(er_reader *r);
int er_reader_sha256(er_reader *r, char hex[65]);

void er_reader_close(er_reader *r); /* NULL ok; does not close stdin */

/* Allow multi-member input to be inflated by nthreads threads; call before
 * the first read. Only for regular files (a failed part is re-read
 * serially) and nthreads > 1; output and errors are exactly those of the
 * serial reader. BGZF (bgzip) members are cut by their BSIZE (er_bgzf.h);
 * other gzip input - concatenated members (cat a.gz b.gz), pigz -i blocks -
 * is cut at candidate boundaries and inflated speculatively (er_members.h);
 * a single-member file with no candidates stays serial. */
void er_reader_set_threads(er_reader *r, int nthreads);
/* 1 when the parallel BGZF path was used. */
int er_reader_parallel(const er_reader *r);
/* Speculative path: jobs whose bytes were handed out, and parallel runs that
 * ended before the end of the file (a doubt sent them to the serial reader). */
uint64_t er_reader_spec_jobs(const er_reader *r);
uint64_t er_reader_spec_fallbacks(const er_reader *r);
/* Compressed bytes per speculative job (tests: small files, many jobs). */
void er_reader_set_spec_job_bytes(er_reader *r, size_t bytes);

/* Adapter for er_split: ctx is an er_reader*. */
ssize_t er_reader_read_fn(void *ctx, char *buf, size_t cap);

/* Inflate backend. AUTO = ISA-L when built with ER_HAVE_ISAL, else zlib;
 * for AUTO the environment variable ER_INFLATE=zlib|isal (read at open)
 * overrides (isal falls back to zlib when ISA-L is not compiled in). */
enum er_inflate { ER_INFLATE_AUTO, ER_INFLATE_ZLIB, ER_INFLATE_ISAL };

/* Like er_reader_open() with a chosen backend. Asking for ER_INFLATE_ISAL
 * in a build without ISA-L returns ER_E_USAGE. */
er_status er_reader_open_ex(const char *path, enum er_inflate backend, er_reader **out,
			    char *err, size_t errlen);

/* "ISA-L 2.30.0" or "zlib 1.2.13": the backend and its version (static text). */
const char *er_inflate_name(enum er_inflate b);

/* The backend this reader uses: ER_INFLATE_ZLIB or ER_INFLATE_ISAL. */
enum er_inflate er_reader_backend(const er_reader *r);

#endif
