/* er_ams.h - the public CBP AMS vessel-manifest release, read as published:
 * one file per table and period (ams__TABLE_PERIOD.csv, plain or gzip),
 * joined by `identifier` (one identifier = one bill of lading) into canonical
 * manifest rows (SPEC 2), one per bill, in identifier order.
 *
 * Streaming with bounded memory: a first pass checks each table's order; a
 * table already sorted by identifier is merge-joined as it is read, any other
 * is put through an external sort (er_extsort). LCL is decided from the data:
 * a house bill is LCL when another house bill of the same master bill shares
 * one of its containers; that needs a second grouping (by master bill and
 * container), done with two more external sorts while the joined rows wait in
 * a spool file. Rows of a table that cannot be read (malformed CSV, wrong
 * field count), identifiers absent from `header`, duplicates of one-per-bill
 * tables and bills with invalid header fields are rejects naming the table
 * file and line. Mapping, column by column: README.md. */
#ifndef ER_AMS_H
#define ER_AMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "examrisk.h"

typedef struct er_ams er_ams;

typedef struct er_ams_opts {
	const char *const *dirs;     /* release directories, all searched */
	int ndirs;
	const char *period;          /* fnmatch(3) glob on the PERIOD part of file names; NULL = all */
	const char *schedule_k;      /* Schedule K prefix table (data/schedule_k.csv) */
	size_t memory;               /* memory for the sorts; 0 = ER_AMS_DEFAULT_MEMORY */
	const char *tmpdir;          /* spill directory; NULL = $TMPDIR, else /tmp */
	int quiet;                   /* no notes (rejected records), only errors */
	er_log_fn log;               /* where notes go (er_log.h); NULL = stderr */
	void *log_ctx;
	const volatile int *cancel;  /* stop ("interrupted") once non-zero; NULL = never */
	int wait_lock;               /* er_ams_write: wait for another run's lock on the outputs */
} er_ams_opts;

#define ER_AMS_DEFAULT_MEMORY ((size_t)256 << 20)

/* Find the tables, check their headers and order, and sort what needs it.
 * A missing table, a missing column, an unreadable file: non-OK, message in err. */
er_status er_ams_open(const er_ams_opts *o, er_ams **out, char *err, size_t errlen);
void er_ams_free(er_ams *a);

/* The canonical CSV, header row first: >0 bytes, 0 at the end, -1 on a fatal
 * error (er_ams_error). An er_read_fn (ctx = er_ams *). */
ssize_t er_ams_read(void *ctx, char *buf, size_t cap);
const char *er_ams_error(const er_ams *a);

/* Rejects so far as CSV rows file,line,reason,raw (no header row), through
 * emit; for a complete list call after the last read. 0 or -1. */
int er_ams_write_rejects(er_ams *a, int (*emit)(void *ctx, const char *p, size_t n), void *ctx);

typedef struct er_ams_stats {
	uint64_t bills;              /* canonical rows produced */
	uint64_t rejects;
	uint64_t rows_of_rejected_bills; /* other tables' rows of a bill whose header row was rejected */
	uint64_t rows[8];            /* records read per table (header, billgen, shipper, consignee,
	                                notifyparty, container, cargodesc, tariff) */
	int sorted_tables, sorted_externally;
	uint64_t spilled_bytes;
	uint64_t unknown_lading;     /* lading ports whose country is not in the Schedule K table */
} er_ams_stats;
void er_ams_get_stats(const er_ams *a, er_ams_stats *st);

/* Weight to kilograms as written in the output: unit KG/KGS/K/KILOGRAM(S)
 * or LB/LBS/L/POUND(S) (case-insensitive; LB x 0.45359237), printed with at
 * most 3 decimals, trailing zeros dropped. Returns the length written into
 * out[32], or -1 for an unknown unit or a bad number. */
int er_ams_weight_kg(const char *num, size_t nn, const char *unit, size_t nu, char out[32]);

/* examrisk ams: the whole release into out_path (NULL or "-" = stdout; a
 * ".gz" name is gzip-compressed) and its rejects into rejects_path (may be
 * NULL), through score's commit path (er_commit.h): outputs that are
 * directories, the same file twice or one of the table files are usage
 * errors; both are locked, and replaced together or not at all. */
er_status er_ams_write(const er_ams_opts *o, const char *out_path, const char *rejects_path,
                       er_ams_stats *st, char *err, size_t errlen);

/* The header row the join writes (canonical columns plus notify_party_name). */
extern const char er_ams_header[];

#endif
