/* er_gzip.h - gzip members: the one encoder of every .gz output, a
 * compressor kept per thread, and a pool that compresses an output's
 * fixed-size blocks on several threads and hands the members back in order.
 *
 * A member's bytes depend only on its plain bytes and the level, so an
 * output cut into members at fixed plain offsets is the same file whether
 * its members were compressed on one thread or many. */
#ifndef ER_GZIP_H
#define ER_GZIP_H

#include <stddef.h>
#include "er_util.h"

/* Default level of .gz outputs: ISA-L's level 0 with Huffman codes fitted to
 * each member (libdeflate level 1 when built without ISA-L). Both are pure
 * functions of the member's bytes; ISA-L's level 1 is not (see er_gzip.c). */
#define ER_GZ_FAST (-1)

/* A reusable compressor (zero-initialise): ISA-L's stream (80 KiB) or
 * libdeflate's state, allocated on first use rather than per member. One
 * thread at a time. */
struct er_gz_isal;
typedef struct er_gz {
	struct er_gz_isal *isal;
	struct libdeflate_compressor *c;
} er_gz;

/* Compress src as one complete gzip member appended to dst. level is
 * ER_GZ_FAST or a zlib level 1..9; z may be NULL (a compressor for this call
 * only). The bytes depend only on src and level. 0 ok, -1 error. */
int er_gz_member(er_gz *z, er_buf *dst, const void *src, size_t n, int level);
void er_gz_free(er_gz *z);

/* Which encoder and version ER_GZ_FAST is in this build, e.g. "ISA-L 2.30.0
 * level 0" (the summary's engine.deflate). */
const char *er_gz_fast_name(void);

/* er_gz_member without a kept compressor. Thread-safe. */
int er_gzip_member(er_buf *dst, const void *src, size_t n, int level);

/* ------------------------------------------------ parallel member pool */

/* Where finished members go, in the order their blocks were put: 0 or -1. */
typedef int (*er_gz_sink)(void *ctx, const char *p, size_t n);

typedef struct er_gzpool er_gzpool;

/* threads compressing helpers (>= 1); at most 2 x threads blocks in flight.
 * sink is called only from the thread that calls put / end. NULL on ENOMEM
 * or when no helper thread could be started (compress inline then). */
er_gzpool *er_gzpool_new(int threads, int level, er_gz_sink sink, void *ctx);

/* Queue block's bytes as the next member; block is handed back empty (with
 * a recycled buffer). Finished members are passed to sink on the way. -1
 * (errno) when a member failed to compress or sink failed: sticky. */
int er_gzpool_put(er_gzpool *p, er_buf *block);

/* Wait for every member put so far and pass each to sink; the helpers stay
 * for the next put. 0, or -1 as put. */
int er_gzpool_drain(er_gzpool *p);

/* Wait for every member, pass each to sink, stop the helpers and free the
 * pool (also on error). 0, or -1 as put. */
int er_gzpool_end(er_gzpool *p);

#endif
