/* er_chunk.h - the unit of work handed between pipeline threads.
 *
 * Ownership: chunks live in a fixed pool owned by the pipeline (er_pipeline.c).
 * The dispatcher (reader + splitter) fills `in`, a worker fills `out`, `rej`,
 * `roll` and `counts`, the writer consumes them in serial order and returns the
 * chunk to the free pool. Buffers keep their capacity across reuse, so memory
 * is bounded by the number of chunks in flight, not by the input size. */
#ifndef ER_CHUNK_H
#define ER_CHUNK_H

#include <stdint.h>
#include "examrisk.h"
#include "er_parse.h"
#include "er_split.h"
#include "er_util.h"

enum er_chunk_kind {
	ER_CHUNK_DATA,     /* records of one file */
	ER_CHUNK_FILE_END, /* a file ended: ok or failed (file_error set) */
	ER_CHUNK_END       /* end of the whole run */
};

/* Counters a worker fills for its chunk; the writer adds them up. */
typedef struct er_counts {
	uint64_t rows, scored, rejected;
	uint64_t rej[ER_NREJECTS];
	uint64_t lanes[ER_NLANES];
	uint64_t reasons[ER_NREASONS];
} er_counts;

void er_counts_add(er_counts *to, const er_counts *from);

/* The rejects of a chunk the writer may report: its first ER_CHUNK_REJ_SHOWN
 * (stderr shows that many in input order) and the first ER_CHUNK_REJ_PER_REASON
 * of each reason (the summary's first lines per reason). Keeping both in every
 * chunk makes the messages and the summary the same at any chunk size; the
 * pipeline checks at compile time that they cover what it shows. */
#define ER_CHUNK_REJ_SHOWN 10
#define ER_CHUNK_REJ_PER_REASON 3
#define ER_CHUNK_REJ_NOTES (ER_CHUNK_REJ_SHOWN + ER_CHUNK_REJ_PER_REASON * ER_NREJECTS)
typedef struct er_rej_note {
	uint64_t line;
	int reject, col;
	int got_fields; /* for field-count rejects */
} er_rej_note;

typedef struct er_chunk {
	uint64_t serial;
	int kind;
	int file_idx;
	const er_header *hdr;   /* the file's column map (owned by the run) */
	int skip_first;         /* first record is the header */
	er_recbuf in;           /* records from the splitter */
	uint64_t nrecords;      /* records the splitter produced for this chunk (excl. header) */

	er_buf out;             /* score rows (plain CSV; a .gz writer compresses) */
	er_buf rej;             /* reject rows (CSV) */
	er_buf roll;            /* per-row records for roll-ups (er_rollup.h format) */
	er_buf run;             /* those records as a sorted run (er_rollup_sort_chunk) */
	er_counts counts;
	er_rej_note notes[ER_CHUNK_REJ_NOTES];
	int nnotes;
	int err;                /* worker failure (ENOMEM, zlib); reported by the writer */

	char file_error[512];   /* FILE_END: non-empty when the file failed */
} er_chunk;

#endif
