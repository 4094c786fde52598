/* er_split.h - stage 2: cut the decompressed byte stream into runs of whole
 * CSV records (quote-aware), tracking the physical line where each record
 * starts. Records that cannot be cut (stray/unterminated quote, over the
 * record-size limit) are emitted as rejects with their line, and the scan
 * resynchronises at the next physical line. Memory is bounded by
 * chunk_bytes + max_record. */
#ifndef ER_SPLIT_H
#define ER_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "examrisk.h"

/* One record inside an er_recbuf. */
typedef struct er_rec {
	uint64_t line;    /* physical line (1-based) where the record starts */
	uint32_t off;     /* offset of the record's bytes in er_recbuf.buf */
	uint32_t len;     /* length, without the record terminator */
	uint16_t flags;   /* ER_REC_* */
	uint16_t reject;  /* enum er_reject, ER_REJ_NONE for a good record;
	                     for a reject, buf holds its raw bytes (maybe truncated) */
} er_rec;

#define ER_REC_QUOTED 1u    /* record contains the quote char: needs the full CSV parser */
#define ER_REC_TRUNCATED 2u /* raw bytes of a reject were cut at max_raw */

/* A run of records: the splitter fills it, a worker reads it. */
typedef struct er_recbuf {
	char *buf;
	size_t len, cap;
	er_rec *recs;
	uint32_t n, cap_recs;
} er_recbuf;

void er_recbuf_free(er_recbuf *rb);

typedef ssize_t (*er_read_fn)(void *ctx, char *buf, size_t cap); /* >0, 0 EOF, <0 error */

typedef struct er_split_opts {
	char delim;          /* ',' */
	size_t chunk_bytes;  /* stop a run at the first record end at/after this many bytes */
	size_t max_record;   /* a record longer than this is rejected (ER_REJ_RECORD_TOO_LONG) */
	size_t max_raw;      /* raw bytes kept for a rejected record */
} er_split_opts;

typedef struct er_splitter er_splitter;

er_splitter *er_splitter_new(er_read_fn fn, void *ctx, const er_split_opts *o);
void er_splitter_free(er_splitter *s);

/* Clear rb and fill it with the next run of records. A UTF-8 BOM at the very
 * start of the stream is skipped. Empty and blank (spaces/tabs only) lines
 * produce no record. CR, LF and CRLF each end a line/record outside quotes.
 * Returns 1 when records were added, 0 at end of input (rb empty), -1 when
 * the read function failed (its error stands; records read before it were
 * returned by earlier calls). Where runs are cut depends only on the bytes
 * and the options, never on how the read function splits its output. */
int er_splitter_next(er_splitter *s, er_recbuf *rb);

/* Added: 1 when the last -1 came from an allocation failure, not the read
 * function. */
int er_splitter_nomem(const er_splitter *s);

/* Added: physical lines seen so far (CR, LF, CRLF = one each; a last line
 * without terminator counts). At end of input, every line is in exactly one
 * record or reject, or is blank. */
uint64_t er_splitter_lines(const er_splitter *s);

/* Note: er_splitter_new() returns NULL (besides out of memory) when delim is
 * '"', CR or LF, or when chunk_bytes, max_record or max_raw exceed 1 GiB
 * (er_rec offsets are 32-bit). delim 0 means ','. */

#endif
