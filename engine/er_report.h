/* er_report.h - the run report: one self-contained HTML page (inline CSS and
 * SVG, no script, no external resource) from a run's JSON summary, the
 * riskiest LCL consolidations, the non-compliant partners and the trend of
 * the previous runs kept in a history folder.
 *
 * The summary is read with libjansson, field by field and by name, so a
 * summary with fewer or more fields (older and newer engines) still renders.
 * Every number taken from the summary is marked in the page with
 * data-k="json.path" data-v="value", which tests/report.sh reads back from
 * the browser's DOM and compares with the summary. */
#ifndef ER_REPORT_H
#define ER_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "er_rollup.h"

#define ER_REPORT_TOP 10          /* rows of the consolidation and partner tables */
#define ER_HISTORY_DEFAULT_MAX 30 /* runs the trend reads by default */

/* The riskiest rows of a CSV output, fed in pieces as it is written or read
 * (consolidations: LCL ones, by exam probability; partners: the
 * non-compliant ones, by shipments). Columns are found by header name. */
enum { ER_TOP_CONSOLIDATIONS, ER_TOP_PARTNERS };
typedef struct er_report_top er_report_top;
er_report_top *er_report_top_new(int kind, const char *name);
void er_report_top_free(er_report_top *t);
/* 0, or -1 with a message in err (not a CSV of that kind, bad CSV). */
int er_report_top_feed(er_report_top *t, const char *p, size_t n, char *err, size_t errlen);
int er_report_top_end(er_report_top *t, char *err, size_t errlen);
/* Read a whole file through feed/end. */
int er_report_top_file(er_report_top *t, const char *path, char *err, size_t errlen);
/* Which kind of CSV path is, from its header: ER_TOP_CONSOLIDATIONS,
 * ER_TOP_PARTNERS, or -1 with a message in err. */
int er_report_csv_kind(const char *path, char *err, size_t errlen);
/* er_emit_fn that feeds ctx (an er_report_top); errors are kept for _end. */
int er_report_top_emit(void *ctx, const char *p, size_t n);

typedef struct er_report_in {
	const char *summary;       /* the run's JSON summary */
	size_t summary_len;
	const char *summary_name;  /* for messages */
	er_report_top *consol;     /* NULL = no consolidations table */
	er_report_top *partners;   /* NULL = no partner table */
	const char *history_dir;   /* NULL = no trend */
	int history_max;           /* 0 = ER_HISTORY_DEFAULT_MAX */
} er_report_in;

/* Write the page through emit. 0, or -1 with a message in err (summary not
 * JSON, history folder unreadable, emit failed). */
int er_report_write(const er_report_in *in, er_emit_fn emit, void *ctx, char *err, size_t errlen);

/* The history file for a run started at wall-clock time t (UTC):
 * DIR/examrisk-YYYYMMDDTHHMMSS.uuuuuuZ.json, names that sort in run order;
 * a name already taken gets the next microsecond. Creates DIR (one level)
 * when missing. 0, or -1 with a message in err. */
int er_history_path(const char *dir, const struct timespec *t, char *out, size_t cap, char *err,
                    size_t errlen);

/* The checks of er_history_path that create nothing, for the start of a run
 * (DIR is made only when the run commits): DIR is a folder, or is missing
 * and its parent is a folder we may write. 0, or -1 with a message in err. */
int er_history_check(const char *dir, char *err, size_t errlen);

/* Escape s for HTML text and attribute values into b. 0 or -1 (ENOMEM). */
int er_html_escape(er_buf *b, const char *s, size_t n);

#endif
