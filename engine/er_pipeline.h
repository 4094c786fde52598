/* er_pipeline.h - wires the stages: one dispatcher (reader + splitter, the
 * calling thread), N workers (parse + score + format), one writer (ordered
 * output, roll-ups, accounting), then the atomic commit. */
#ifndef ER_PIPELINE_H
#define ER_PIPELINE_H

#include "examrisk.h"
#include "er_util.h"

enum er_mode { ER_MODE_SCORE, ER_MODE_PARTNERS, ER_MODE_SINK };

/* A per-row collector fed by the same pipeline as score (ER_MODE_SINK):
 * workers encode each scored row into the chunk's record buffer, and the
 * writer hands every chunk's records to merge in input order, so what the
 * collector sees does not depend on --threads. No scores are written, and a
 * file failing its integrity check stops the run (--keep-going is not
 * offered: a population with a hole would be fitted silently). */
typedef struct er_row_sink {
	/* worker thread: append one record for a scored row; 0 or -1 (errno) */
	int (*encode)(void *ctx, er_buf *out, const er_row *row, const er_result *res);
	/* writer thread: the records of one chunk; 0 or -1 (errno) */
	int (*merge)(void *ctx, int file_idx, const char *p, size_t n);
	void *ctx;
} er_row_sink;

er_status er_pipeline_run(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                          int mode, er_run_stats *stats);

/* Stream every input through sink (ER_MODE_SINK). */
er_status er_pipeline_run_sink(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                               const er_row_sink *sink, er_run_stats *stats);

#endif
