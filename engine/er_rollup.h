/* er_rollup.h - stage 6: roll-ups over the scored rows, merged by the writer in
 * input order: LCL consolidations, the exam queue, and the partner audit.
 *
 * Flow: a worker encodes one compact record per scored row into chunk->roll
 * (er_rollup_encode / er_partners_encode); the writer hands each chunk's bytes
 * to er_rollup_merge / er_partners_merge in input order. Rows of a file are
 * staged until er_*_file_done(ok): a file that fails its integrity check
 * contributes nothing. Outputs are produced at the end through an emit
 * callback. Not thread-safe: one writer thread uses a collector. */
#ifndef ER_ROLLUP_H
#define ER_ROLLUP_H

#include <stddef.h>
#include <stdint.h>
#include "examrisk.h"
#include "er_util.h"

/* Output sink: er_emit_fn, declared in examrisk.h. */

/* ------------------------------------------- consolidations + exam queue */
typedef struct er_rollup er_rollup;

/* want_consol: build consolidations; want_queue: keep queue entries
 * (RED only, or every shipment when resumption). rules gives per-lane exam
 * probabilities. Returns NULL on ENOMEM. */
er_rollup *er_rollup_new(const er_rules *rules, int want_consol, int want_queue, int resumption);
void er_rollup_free(er_rollup *r);

/* Memory for all roll-up state, whatever the input size: beyond it, rows
 * spill to an unlinked temporary file (sorted runs, output buckets).
 * 0 = ER_ROLLUP_DEFAULT_BUDGET; at least 1 KiB. Call before the first merge. */
#define ER_ROLLUP_DEFAULT_BUDGET ((size_t)32 << 20)
void er_rollup_set_budget(er_rollup *r, size_t bytes);
/* Threads the end phase may merge with (the run's --threads); 0 = online
 * CPUs. The output does not depend on it. */
void er_rollup_set_threads(er_rollup *r, int n);
/* The end-phase merge and the output writes stop (-1, errno ECANCELED)
 * soon after *cancel becomes non-zero; NULL = never. */
void er_rollup_set_cancel(er_rollup *r, const volatile int *cancel);
/* Directory of the spill file (copied); NULL = $TMPDIR, else /tmp. The file
 * is created only when needed and unlinked at once. 0, or -1 (ENOMEM). */
int er_rollup_set_tmpdir(er_rollup *r, const char *dir);
/* Closes of its spill files (which free their page cache) go through rp
 * (er_reap.h), which must outlive r; NULL: done inline. */
struct er_reaper;
void er_rollup_set_reaper(er_rollup *r, struct er_reaper *rp);
/* After the last output: the spill files are not read again. */
void er_rollup_close_spills(er_rollup *r);

/* Worker side: append the record for one scored row (thread-safe: touches only b). */
int er_rollup_encode(er_buf *b, const er_row *row, const er_result *res, uint64_t line);

/* Worker side, after its chunk's rows: rows holds their records (input
 * order; each one's seq is set here, serial << 32 | row), run receives the
 * chunk's sorted run of consolidation records and its sample points, so the
 * writer only links it. scratch: the sort index. -1 with errno (EINVAL:
 * malformed records, ENOMEM). Thread-safe: touches only its arguments. */
int er_rollup_sort_chunk(er_buf *run, er_buf *rows, uint64_t serial, er_buf *scratch);

/* Writer side, input order (serials ascending): take over run (left empty;
 * O(1) however many rows), and queue rows[0..n) when a queue is kept. -1
 * with errno on a malformed record, ENOMEM or a spill I/O error; the error
 * is sticky (outputs fail too). */
int er_rollup_add_chunk(er_rollup *r, uint64_t serial, er_buf *run, const char *rows, size_t n);

/* The same for a buffer of records in input order (sorted here): for tests
 * and embedders without a worker pool. Do not mix with er_rollup_add_chunk
 * in one collector. */
int er_rollup_merge(er_rollup *r, int file_idx, const char *p, size_t n);
void er_rollup_file_done(er_rollup *r, int ok);

/* Final outputs (CSV with header), through emit in pieces of up to 64 KiB
 * (larger blocks pass whole). -1 on a spill error (sticky, errno set) or
 * when emit fails (not sticky: a retry with a working sink gives the whole
 * output). write_consolidations merges the key ranges on the threads set by
 * er_rollup_set_threads (at most 16), joined before it returns; emit is
 * called only from the calling thread. */
int er_rollup_write_consolidations(er_rollup *r, er_emit_fn emit, void *ctx);
int er_rollup_write_queue(er_rollup *r, er_emit_fn emit, void *ctx);
/* Number of consolidations (for the summary), as counted by the last
 * er_rollup_write_consolidations: 0 before it. */
size_t er_rollup_nconsolidations(const er_rollup *r);

/* What the consolidations output leaves out: only consolidations of at least
 * min_shipments shipments (house bills; 2 = LCL, the forwarder's question;
 * 0 or 1 = all), and of those at most the top (riskiest) ones (0 = all).
 * Call before er_rollup_write_consolidations. */
void er_rollup_set_consol_filter(er_rollup *r, uint64_t min_shipments, uint64_t top);
typedef struct er_consol_counts {
	uint64_t found;      /* consolidations folded */
	uint64_t single;     /* left out: fewer shipments than the minimum */
	uint64_t beyond_top; /* left out: past the top N */
	uint64_t written;    /* lines in the output (the same as er_rollup_nconsolidations) */
} er_consol_counts;
/* The counts of the last er_rollup_write_consolidations (zero before it). */
void er_rollup_consol_counts(const er_rollup *r, er_consol_counts *c);

/* --------------------------------------------------------- partner audit */
typedef struct er_partners er_partners;

er_partners *er_partners_new(const er_tables *t);
void er_partners_free(er_partners *p);
int er_partners_encode(er_buf *b, const er_row *row, const er_result *res, uint64_t line);
int er_partners_merge(er_partners *p, int file_idx, const char *buf, size_t n);
void er_partners_file_done(er_partners *p, int ok);
int er_partners_write(er_partners *p, er_emit_fn emit, void *ctx);

#endif
