/* er_pipeline.h - wires the stages: one dispatcher (reader + splitter, the
 * calling thread), N workers (parse + score + format), one writer (ordered
 * output, roll-ups, accounting), then the atomic commit. */
#ifndef ER_PIPELINE_H
#define ER_PIPELINE_H

#include "examrisk.h"

enum er_mode { ER_MODE_SCORE, ER_MODE_PARTNERS };

/* Set from a signal handler: the run stops at the next chunk and commits nothing. */
extern volatile int er_interrupted;

er_status er_pipeline_run(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                          int mode, er_run_stats *stats);

#endif
