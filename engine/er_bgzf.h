/* er_bgzf.h - parallel inflate of BGZF input (bgzip, samtools/htslib).
 *
 * A BGZF file is a series of small gzip members whose header carries the
 * member's total size (extra subfield "BC", BSIZE = size - 1), so member
 * boundaries are known without inflating. The reader (er_reader.c) cuts the
 * file into jobs of whole members, in file order; a pool of threads inflates
 * the jobs; the reader hands their bytes out strictly in file order, so the
 * splitter still sees one ordered stream. A job only says "ok" or "not ok":
 * when a job fails, the reader re-reads the file from that job's first member
 * with the serial inflater, which names the exact error and byte offset, so
 * both paths fail in exactly the same way. */
#ifndef ER_BGZF_H
#define ER_BGZF_H

#include <stddef.h>
#include <stdint.h>
#include "er_reader.h"

/* If p[0..avail) starts with a BGZF member header we accept for parallel
 * inflate (FLG = FEXTRA only, a well-formed extra field with one BC subfield
 * of length 2), return 1 and set *size to the member's total size in bytes.
 * Return 0 when it is not such a header, -1 when more bytes are needed to
 * tell (avail too small). */
int er_bgzf_member_size(const unsigned char *p, size_t avail, size_t *size);

typedef struct er_bgzf_pool er_bgzf_pool;

/* nthreads inflate threads using backend (ZLIB or ISAL). NULL on failure. */
er_bgzf_pool *er_bgzf_pool_new(int nthreads, enum er_inflate backend);
void er_bgzf_pool_free(er_bgzf_pool *p); /* NULL ok; joins the threads */

/* 1 when a new job can be started without waiting. */
int er_bgzf_has_room(const er_bgzf_pool *p);

/* Add one complete member (n bytes, its trailer's ISIZE already read by the
 * caller as isize) to the job being built; start a job if none is. off is
 * the member's file offset, member its 1-based index. 0 or -1 (no memory). */
int er_bgzf_add(er_bgzf_pool *p, const unsigned char *m, size_t n, uint32_t isize, uint64_t off,
		uint64_t member);
/* Compressed bytes in the job being built (0 = none). */
size_t er_bgzf_pending(const er_bgzf_pool *p);
/* Queue the job being built for the threads (no-op when there is none). */
void er_bgzf_submit(er_bgzf_pool *p);

/* Wait for the oldest queued job. Returns 0 when no job is queued, 1 when it
 * inflated: data and len give its not yet consumed bytes; -1 when it failed:
 * *off and *member say where its first member starts. */
int er_bgzf_head(er_bgzf_pool *p, const unsigned char **data, size_t *len, uint64_t *off,
		 uint64_t *member);
/* n bytes of the head job were consumed; a drained job is recycled. */
void er_bgzf_consume(er_bgzf_pool *p, size_t n);
/* Drop every queued job and the one being built (waits for running ones). */
void er_bgzf_cancel(er_bgzf_pool *p);

#endif
