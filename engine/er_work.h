/* er_work.h - stage 4: a worker turns one chunk of records into output rows:
 * parse each record, score it, format the score row (or the reject row),
 * count. The rows stay plain CSV: a .gz output is compressed by its writer
 * (er_writer.h), in members cut at fixed offsets of the output. */
#ifndef ER_WORK_H
#define ER_WORK_H

#include "er_chunk.h"
#include "er_csvout.h"
#include "er_gzip.h"

/* What every worker shares (read-only during the run). */
typedef struct er_work_cfg {
	const er_tables *tables;
	const er_rules *rules;
	const er_sdn *sdn;         /* SDN screen, NULL = none */
	char delim;                /* input delimiter */
	er_csv_dialect out;        /* output CSV dialect (scores and rejects) */
	volatile const int *cancel; /* stop a chunk early when *cancel (NULL = never) */
	size_t max_field;
	int rollup;                /* fill chunk->roll with er_rollup records */
	int rollup_sort;           /* and sort them into chunk->run (consolidations) */
	int partners;              /* partner audit: er_partners records, no score rows */
	const struct er_row_sink *sink; /* ER_MODE_SINK: its records, no score rows */
	const char *const *paths;  /* input path per file_idx (for the rejects file) */
} er_work_cfg;

typedef struct er_worker er_worker; /* per-thread state (parser, scratch) */

er_worker *er_worker_new(const er_work_cfg *cfg);
void er_worker_free(er_worker *w);

/* Process one DATA chunk in place. Sets c->err (an errno value) on failure,
 * ECANCELED when *cfg->cancel was seen set. */
void er_work_chunk(er_worker *w, er_chunk *c);

/* Append one CSV score row for res to out (exported for tests and embedding). */
int er_format_score_row(er_buf *out, const er_row *row, const er_result *res,
                        const er_header *hdr, const er_field *fields, char delim);
/* The same bytes, formatted field by field: the reference the fast one is
 * tested against. */
int er_format_score_row_ref(er_buf *out, const er_row *row, const er_result *res,
                            const er_header *hdr, const er_field *fields, char delim);

/* The header line of the scores output (with --keep columns; with the "sdn"
 * column after front_of_line when sdn_col). */
int er_format_score_header(er_buf *out, const char *const *keep_names, int nkeep, char delim,
                           int sdn_col);

/* ER_GZ_FAST and er_gzip_member: er_gzip.h. */

#endif
