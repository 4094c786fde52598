/* er_members.h - speculative parallel inflate of gzip files that are not
 * BGZF: concatenated members (cat a.gz b.gz) and pigz -i output (one member
 * made of independently compressed blocks, each ended by an empty stored
 * block, the sync-flush marker 00 00 ff ff).
 *
 * The reader (er_reader.c) hands over a regular file at a member start. The
 * file is cut, without inflating, at candidate boundaries: a plausible gzip
 * header (1f 8b 08 with a sane FLG/XFL/OS) or the byte after a 00 00 ff ff
 * marker. Each job (one span between cuts) is inflated by a pool thread as
 * raw deflate with no dictionary, its gzip headers and trailers parsed here.
 * The bytes of a job are handed out only once the job before it ended
 * exactly at its start, at the right kind of boundary (after a trailer for a
 * header, at a byte-aligned block boundary for a marker): then the job's
 * output is exactly the serial inflater's. CRC32 and ISIZE of a member are
 * checked across jobs (crc32_combine). At any doubt - a false candidate, a
 * back-reference past the job's start (plain pigz), a corrupt member, a
 * header we do not parse, garbage, truncation, no memory - the parallel run
 * stops and says where the serial reader must go on: at a member header,
 * skipping the bytes of that member already handed out. The serial reader
 * then gives exactly its own bytes and its own error message. */
#ifndef ER_MEMBERS_H
#define ER_MEMBERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "er_reader.h"

typedef struct er_members er_members;

/* Where the serial reader goes on: the header of member `member` (1-based)
 * at file offset off (or the end of the file), its first skip output bytes
 * already handed out. */
typedef struct er_members_resume {
	uint64_t off;
	uint64_t member;
	uint64_t skip;
} er_members_resume;

/* nthreads inflate threads reading fd (a regular file of size bytes) with
 * pread, using backend (ZLIB or ISAL). NULL on failure (stay serial). */
er_members *er_members_new(int fd, uint64_t size, int nthreads, enum er_inflate backend);
void er_members_free(er_members *m); /* NULL ok; joins the threads */

/* Start at off, the header of member `member`. */
void er_members_begin(er_members *m, uint64_t off, uint64_t member);

/* Copy up to cap verified bytes into out: >0 bytes, or 0 when the parallel
 * run has ended (every job is dropped) and *res says where the serial reader
 * goes on. */
size_t er_members_read(er_members *m, unsigned char *out, size_t cap, er_members_resume *res);

/* File offset up to which input has been handed out (for progress). */
uint64_t er_members_pos(const er_members *m);

/* Counters for tests and the bench: jobs whose bytes were handed out, and
 * parallel runs that ended before the end of the file (fallbacks). */
uint64_t er_members_jobs(const er_members *m);
uint64_t er_members_fallbacks(const er_members *m);

/* Compressed bytes per job (default: from the file size and thread count);
 * for tests, so small files make many jobs. Call before er_members_begin. */
void er_members_set_job_bytes(er_members *m, size_t bytes);

#endif
