/* er_summary.h - the run's JSON summary (--summary), written with libjansson.
 *
 * What an operator needs to trust and trace a nightly run: per input file its
 * status and counts (a failed file's rows are reported as rolled back, since
 * no output holds them), totals, lanes, reasons, when the run started and
 * finished (UTC, ISO 8601), the exit status, the command line, the engine
 * version and its compression backends, the tables and rules used (path,
 * bytes, SHA-256, rows), and every output (path, bytes, atomicity).
 *
 * Every string is valid UTF-8: a value that is not (a file name with byte
 * 0xFF) has each invalid byte replaced by U+FFFD, and, for names of files
 * and the command line, a sibling KEY_hex field carries the exact bytes in
 * lower-case hex, so nothing is lost. */
#ifndef ER_SUMMARY_H
#define ER_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "er_chunk.h"
#include "er_util.h"

typedef struct er_summary_file {
	const char *path;
	int failed;
	const char *error;       /* when failed */
	const er_counts *counts; /* rows seen; for a failed file, the rolled-back ones */
	uint64_t bytes_in, bytes_csv;
} er_summary_file;

typedef struct er_summary_output {
	const char *role;   /* "scores", "rejects", ... */
	const char *path;   /* NULL = standard output */
	uint64_t bytes;
	int atomic;         /* replaced by one rename at commit */
	const char *sha256; /* 64 hex digits, or NULL when not known */
} er_summary_output;

/* A rejected line, for first_rejects. */
typedef struct er_summary_reject {
	const char *path;   /* its input file */
	uint64_t line;
	const char *detail; /* "5 fields, expected 21", a column name; NULL = none */
} er_summary_reject;

#define ER_SUMMARY_FIRST_REJECTS 3 /* first rejected lines kept per reason */

typedef struct er_summary_input {
	const char *command; /* "score" or "partners" */
	const er_run_opts *opts;
	const er_tables *tables;
	const er_rules *rules;
	int nfiles;
	const er_summary_file *files;
	const er_counts *total;
	/* first_rejects: per reject reason, its first lines (at most
	 * ER_SUMMARY_FIRST_REJECTS, in input order) */
	const er_summary_reject *first_rejects[ER_NREJECTS];
	int nfirst_rejects[ER_NREJECTS];
	int has_consolidations;
	size_t nconsolidations;           /* lines written */
	uint64_t consolidations_found;    /* folded, before the filter and --top */
	uint64_t consolidations_single;   /* left out: a single house bill (filter lcl) */
	uint64_t consolidations_beyond_top; /* left out: past --top */
	int noutputs;
	const er_summary_output *outputs;
	const char *inflate;  /* backend that read the inputs: "ISA-L 2.30.0" or "zlib 1.2.13" */
	const char *deflate;  /* backend of .gz outputs, or NULL when there is none */
	int has_source;       /* an in-process producer (score --ams) */
	uint64_t source_rejects; /* records it rejected itself */
	int exit_status;      /* what the run will exit with when it commits */
	int threads;
	struct timespec started, finished; /* CLOCK_REALTIME */
	double elapsed_s;
	uint64_t bytes_csv;
} er_summary_input;

/* The summary as JSON text (2-space indent, trailing newline) appended to
 * out. The timing fields (started_at, finished_at, threads, elapsed_s,
 * rows_per_s, mb_per_s) are one per line so tests can strip them.
 * The tables' and rules' checksums are those computed as they were read
 * (so a table read from a pipe has one too). 0, or -1 with err set (out of
 * memory). */
int er_summary_build(const er_summary_input *in, er_buf *out, char *err, size_t errlen);

/* "2026-12-01T20:13:33.123Z" (UTC, milliseconds) into out[32]. */
void er_iso8601_utc(const struct timespec *ts, char out[32]);

#endif
