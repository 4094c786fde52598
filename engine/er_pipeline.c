/* er_pipeline.c - the whole run (see er_pipeline.h).
 *
 * Threads and hand-off (er_pool.h): the calling thread is the dispatcher: it
 * opens each input (er_reader), cuts it into record-aligned chunks
 * (er_splitter), parses the header itself, and submits chunks in order.
 * Workers parse/score/format chunks (er_work). The writer thread takes chunks
 * strictly in submission order, appends them to the temporary outputs, merges
 * roll-ups and counts. A FILE_END marker after each input tells the writer
 * whether that file passed its integrity checks; if not, its rows are rolled
 * back. Nothing is renamed into place until every check has passed. */
#include "er_pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "er_chunk.h"
#include "er_commit.h"
#include "er_log.h"
#include "er_csvout.h"
#include "er_parse.h"
#include "er_pool.h"
#include "er_reader.h"
#include "er_reap.h"
#include "er_report.h"
#include "er_rollup.h"
#include "er_split.h"
#include "er_summary.h"
#include "er_work.h"
#include "er_writer.h"

#define DEFAULT_CHUNK (1u << 20)
/* --threads 1 has one chunk in flight, so it can afford bigger ones: each
 * stage then runs 4 MiB at a time, with its code and its tables warm (at
 * 1 MiB, switching stages every chunk cost ~7 % more CPU than the threaded
 * pipeline; at 4 MiB the same, with less memory). */
#define SOLO_CHUNK (4u << 20)
#define DEFAULT_MAX_FIELD (1u << 20)
#define DEFAULT_MAX_RECORD (16u << 20)
#define MAX_RAW (64u << 10)
#define STDERR_REJECT_NOTES 10
_Static_assert(ER_CHUNK_REJ_SHOWN >= STDERR_REJECT_NOTES, "a chunk keeps the rejects stderr shows");
_Static_assert(ER_CHUNK_REJ_PER_REASON >= ER_SUMMARY_FIRST_REJECTS, "a chunk keeps the summary's first rejects");

/* Progress: a terminal line is rewritten often; a log file or pipe gets one
 * line every few seconds. */
#define PROGRESS_TTY_S 0.5
#define PROGRESS_LINE_S 5.0

/* The smallest er_run_opts a caller may pass: the layout of the first release
 * that carried its size (fields after it take their defaults). */
#define RUN_OPTS_MIN_SIZE (offsetof(er_run_opts, log_ctx) + sizeof(void *))

void er_run_opts_init_size(er_run_opts *o, size_t size)
{
	/* a caller built against an older header has a smaller struct: fill only
	 * what it has (er_pipeline_run checks the size before using any field) */
	er_run_opts d;
	memset(&d, 0, sizeof d);
	d.max_rejects = -1;
	d.max_rejects_pct = -1;
	d.progress = -1;
	d.size = size;
	memcpy(o, &d, size < sizeof d ? size : sizeof d);
}

typedef struct file_state {
	const char *path;
	er_header hdr;
	int failed;
	char error[512];
	er_counts counts;
	uint64_t records;   /* records the splitter cut (header excluded) */
	uint64_t bytes_in, bytes_csv;
} file_state;

typedef struct run {
	const er_run_opts *opts;
	int mode;
	int nfiles;
	file_state *files;
	const char **paths;
	er_pool *pool;
	er_work_cfg wcfg;
	int nthreads;
	er_worker *solo;       /* --threads 1: the calling thread's worker (submit()) */
	er_colmap map;
	char **keep_names;
	int nkeep;

	er_outfile out, rej, consol, queue, summary;
	er_commit *commit;     /* locks on the outputs, the all-or-nothing commit */
	er_reaper *reaper;     /* the tail's closes and unlinks (NULL at one thread) */
	er_outfile report, history;  /* --report, --history (er_report.h) */
	/* the first rejected lines of each reason, for the summary and report */
	struct { int file; uint64_t line; int col, got; } first_rej[ER_NREJECTS][ER_SUMMARY_FIRST_REJECTS];
	int nfirst_rej[ER_NREJECTS];
	char history_path[900];      /* --history: this run's file (fits a message in err) */
	int history_mkdir;           /* this run created the --history folder */
	er_rollup *rollup;
	er_partners *partners;
	const er_row_sink *sink; /* ER_MODE_SINK */
	er_counts total;       /* committed files only */

	/* writer-owned */
	int fatal;
	er_status fatal_status;
	char fatal_msg[1024];
	uint64_t notes_shown, rejects_seen;
	atomic_uint_fast64_t rows_done;
	double t0;

	er_log log;
	er_run_opts opts_full;  /* the caller's options, completed to this library's size */
	uint64_t total_in;      /* bytes of every input (stat), for the percentage and ETA */
	int total_known;        /* 0 when an input's size is unknown (stdin, a pipe) */
	double progress_every;
	/* --progress: a thread of its own prints the line on time, even while
	 * the dispatcher is blocked in a read (a slow pipe, a FIFO's writer) */
	atomic_uint_fast64_t prog_in;   /* raw bytes consumed, every file so far */
	atomic_int prog_file;           /* index of the file being read */
	atomic_int prog_reading;        /* the dispatcher is inside a read */
	uint64_t prog_prev_in;          /* progress thread: bytes at the previous line */
	int prog_stop;
	pthread_mutex_t prog_mu;
	pthread_cond_t prog_cv;
	struct timespec started;   /* wall clock, for the summary */
	er_csv_dialect dialect;    /* of every CSV output */
	int inflate;               /* enum er_inflate of the last input read; 0 = none yet */
} run;

/* The embedder's cancel flag (er_run_opts.cancel), read from any thread. */
static int cancelled(const run *R)
{
	return R->opts->cancel && __atomic_load_n(R->opts->cancel, __ATOMIC_RELAXED);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_fatal(run *R, er_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_fatal(run *R, er_status st, const char *fmt, ...)
{
	if (R->fatal)
		return;
	R->fatal = 1;
	R->fatal_status = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(R->fatal_msg, sizeof R->fatal_msg, fmt, ap);
	va_end(ap);
	er_pool_abort(R->pool);
}

/* A warning (rejected row, skipped file) through the run's log. */
#define say(R, ...) er_log_msg(&(R)->log, ER_LOG_WARNING, __VA_ARGS__)

/* ------------------------------------------------------------------ worker */

typedef struct worker_arg {
	run *R;
	er_worker *w;
	pthread_t tid;
} worker_arg;

static void *worker_main(void *arg)
{
	worker_arg *a = arg;
	er_chunk *c;
	while ((c = er_pool_take_work(a->R->pool)) != NULL) {
		if (c->kind == ER_CHUNK_DATA && !er_pool_aborted(a->R->pool))
			er_work_chunk(a->w, c);
		er_pool_done(a->R->pool, c);
	}
	return NULL;
}

/* ------------------------------------------------------------------ writer */

static void show_notes(run *R, const er_chunk *c)
{
	const char *path = R->paths[c->file_idx];
	for (int i = 0; i < c->nnotes; i++) {
		const er_rej_note *n = &c->notes[i];
		int k = n->reject > 0 && n->reject < ER_NREJECTS ? R->nfirst_rej[n->reject]
		                                                  : ER_SUMMARY_FIRST_REJECTS;
		if (k < ER_SUMMARY_FIRST_REJECTS) {
			R->first_rej[n->reject][k].file = c->file_idx;
			R->first_rej[n->reject][k].line = n->line;
			R->first_rej[n->reject][k].col = n->col;
			R->first_rej[n->reject][k].got = n->got_fields;
			R->nfirst_rej[n->reject]++;
		}
	}
	for (int i = 0; i < c->nnotes && R->notes_shown < STDERR_REJECT_NOTES; i++) {
		const er_rej_note *n = &c->notes[i];
		R->notes_shown++;
		if (n->reject == ER_REJ_FIELD_COUNT)
			say(R, "%s:%llu: rejected: %s (%d fields, expected %d)", path,
			    (unsigned long long)n->line, er_reject_name(n->reject), n->got_fields,
			    R->files[c->file_idx].hdr.nfields);
		else if (n->col >= 0)
			say(R, "%s:%llu: rejected: %s (%s)", path, (unsigned long long)n->line,
			    er_reject_name(n->reject), er_col_name(n->col));
		else
			say(R, "%s:%llu: rejected: %s", path, (unsigned long long)n->line,
			    er_reject_name(n->reject));
	}
}

static void mark_all(run *R)
{
	er_out_mark(&R->out);
	if (R->opts->rejects_path)
		er_out_mark(&R->rej);
}

static void writer_file_end(run *R, er_chunk *c)
{
	file_state *f = &R->files[c->file_idx];
	if (c->file_error[0]) {
		f->failed = 1;
		snprintf(f->error, sizeof f->error, "%s", c->file_error);
		if (R->opts->keep_going) /* else the fatal error below says it, once */
			say(R, "%s", f->error);
		/* No row of a failed file may reach the committed outputs. (Without
		 * --keep-going nothing is committed at all, and rows streamed to a
		 * pipe could not be taken back anyway.) */
		er_outfile *bad = !R->opts->keep_going           ? NULL
		                  : er_out_rollback(&R->out) < 0 ? &R->out
		                  : R->opts->rejects_path && er_out_rollback(&R->rej) < 0 ? &R->rej
		                                                                         : NULL;
		if (bad) {
			char msg[400];
			er_out_errmsg(bad, bad->err == ESPIPE ? "rows already written cannot be taken back"
			                                     : "cannot roll back", msg, sizeof msg);
			set_fatal(R, ER_E_IO, "%s", msg);
		}
		for (int r = 0; r < ER_NREJECTS; r++) { /* its rejects are not the run's */
			int k = 0;
			for (int i = 0; i < R->nfirst_rej[r]; i++)
				if (R->first_rej[r][i].file != c->file_idx)
					R->first_rej[r][k++] = R->first_rej[r][i];
			R->nfirst_rej[r] = k;
		}
		if (R->rollup)
			er_rollup_file_done(R->rollup, 0);
		if (R->partners)
			er_partners_file_done(R->partners, 0);
		if (!R->opts->keep_going || R->sink)
			set_fatal(R, strstr(f->error, "out of memory") ? ER_E_NOMEM
			             : strstr(f->error, "gzip")        ? ER_E_GZIP
			                                               : ER_E_FORMAT, "%s (run stopped; nothing committed; --keep-going scores the other files)",
			          f->error);
		return;
	}
	/* Nothing is lost: every record the splitter cut was scored or rejected. */
	if (f->counts.rows != f->records || f->counts.rows != f->counts.scored + f->counts.rejected) {
		set_fatal(R, ER_E_INTERNAL, "%s: row accounting mismatch: %llu records, %llu read, %llu scored, %llu rejected",
		          f->path, (unsigned long long)f->records, (unsigned long long)f->counts.rows,
		          (unsigned long long)f->counts.scored, (unsigned long long)f->counts.rejected);
		return;
	}
	er_counts_add(&R->total, &f->counts);
	if (R->rollup)
		er_rollup_file_done(R->rollup, 1);
	if (R->partners)
		er_partners_file_done(R->partners, 1);
	mark_all(R);
}

static void writer_data(run *R, er_chunk *c)
{
	file_state *f = &R->files[c->file_idx];
	if (c->err == ECANCELED) {
		set_fatal(R, ER_E_CANCELLED, "interrupted; nothing committed");
		return;
	}
	if (c->err) {
		set_fatal(R, c->err == ENOMEM ? ER_E_NOMEM : ER_E_INTERNAL, "%s: %s", f->path,
		          c->err == ENOMEM ? "out of memory" : strerror(c->err));
		return;
	}
	er_outfile *bad = c->out.len && er_out_write(&R->out, c->out.p, c->out.len) < 0 ? &R->out
	                  : R->opts->rejects_path && c->rej.len &&
	                            er_out_write(&R->rej, c->rej.p, c->rej.len) < 0
	                      ? &R->rej
	                      : NULL;
	if (bad) {
		char msg[400];
		er_out_errmsg(bad, "write error", msg, sizeof msg);
		set_fatal(R, ER_E_IO, "%s", msg);
		return;
	}
	if (c->roll.len) {
		int rc = R->sink ? R->sink->merge(R->sink->ctx, c->file_idx, c->roll.p, c->roll.len)
		       : R->rollup ? er_rollup_add_chunk(R->rollup, c->serial, &c->run, c->roll.p, c->roll.len)
		                   : er_partners_merge(R->partners, c->file_idx, c->roll.p, c->roll.len);
		if (rc < 0) {
			int e = errno ? errno : ENOMEM;
			set_fatal(R, e == ENOMEM ? ER_E_NOMEM : ER_E_IO, "roll-ups (spill in %s): %s",
			          getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(e));
			return;
		}
	}
	er_counts_add(&f->counts, &c->counts);
	show_notes(R, c);
	R->rejects_seen += c->counts.rejected;
	if (R->opts->max_rejects >= 0 && R->rejects_seen > (uint64_t)R->opts->max_rejects)
		set_fatal(R, ER_E_REJECTS, "too many rejects: more than %lld (--max-rejects); nothing committed",
		          R->opts->max_rejects);
	atomic_fetch_add(&R->rows_done, c->counts.rows);
}

/* The writer's part of one chunk, in serial order; returns its kind. */
static int writer_step(run *R, er_chunk *c)
{
	int kind = c->kind;
	if (!R->fatal) {
		if (kind == ER_CHUNK_DATA)
			writer_data(R, c);
		else if (kind == ER_CHUNK_FILE_END)
			writer_file_end(R, c);
	}
	er_pool_release(R->pool, c);
	return kind;
}

static void *writer_main(void *arg)
{
	run *R = arg;
	while (writer_step(R, er_pool_next_done(R->pool)) != ER_CHUNK_END)
		;
	return NULL;
}

/* Hand a chunk on. With --threads 1 there is no worker or writer thread:
 * the calling thread works and writes the chunk itself, at once, so one
 * thread means one core busy (and the chunk is still in its cache). The
 * chunk takes the same path through the pool, so its serial and the
 * order of the outputs are those of the threaded run. */
static void submit(run *R, er_chunk *c)
{
	er_pool_submit(R->pool, c);
	if (!R->solo)
		return;
	er_chunk *w = er_pool_take_work(R->pool);
	if (w->kind == ER_CHUNK_DATA && !er_pool_aborted(R->pool))
		er_work_chunk(R->solo, w);
	er_pool_done(R->pool, w);
	writer_step(R, er_pool_next_done(R->pool));
}

/* -------------------------------------------------------------- dispatcher */

/* Sizes of every input before the run, so the percentage and the ETA cover
 * all files; stdin, pipes and devices make the total unknown. */
static void size_inputs(run *R)
{
	R->total_in = 0;
	R->total_known = 1;
	for (int i = 0; i < R->nfiles; i++) {
		struct stat st;
		if (strcmp(R->files[i].path, "-") != 0 && stat(R->files[i].path, &st) == 0 &&
		    S_ISREG(st.st_mode))
			R->total_in += (uint64_t)st.st_size;
		else
			R->total_known = 0;
	}
}

static void fmt_duration(char *b, size_t n, double s)
{
	long v = s < 0 ? 0 : (long)(s + 0.5);
	if (v >= 3600)
		snprintf(b, n, "%ldh%02ldm", v / 3600, v / 60 % 60);
	else if (v >= 60)
		snprintf(b, n, "%ldm%02lds", v / 60, v % 60);
	else
		snprintf(b, n, "%lds", v);
}

/* One progress line: from the progress thread, or the final one after the
 * writer has counted every row. */
static void progress(run *R, int final)
{
	double t = now_s();
	double el = t - R->t0;
	uint64_t rows = atomic_load(&R->rows_done);
	int fi = final ? R->nfiles - 1 : atomic_load(&R->prog_file);
	uint64_t in = atomic_load(&R->prog_in); /* as of the last read: every byte at the end */
	/* nothing came since the last line while a read is pending: say so,
	 * rather than repeat a line that looks like progress */
	int waiting = !final && in == R->prog_prev_in && atomic_load(&R->prog_reading);
	R->prog_prev_in = in;
	double rps = el > 0 ? (double)rows / el : 0;
	char eta[32] = "?", size[64], line[256];
	/* the last line of a run stopped early does not claim it is done */
	const char *end = final && (R->fatal || cancelled(R)) ? "stopped" : "done"; /* fatal: after the writer's join */
	if (R->total_known && R->total_in > 0) {
		double left = in < R->total_in ? (double)(R->total_in - in) : 0;
		if (final)
			snprintf(eta, sizeof eta, "%s", end);
		else if (in > 0)
			fmt_duration(eta, sizeof eta, el * left / (double)in);
		double pct = in < R->total_in ? 100.0 * (double)in / (double)R->total_in : 100.0;
		snprintf(size, sizeof size, "%.1f of %.1f MB (%.0f%%)", (double)in / 1e6,
		         (double)R->total_in / 1e6, pct);
	} else {
		if (final)
			snprintf(eta, sizeof eta, "%s", end);
		snprintf(size, sizeof size, "%.1f MB read", (double)in / 1e6);
	}
	snprintf(line, sizeof line, "file %d/%d  %s  %llu rows  %.0f rows/s  ETA %s%s", fi + 1,
	         R->nfiles, size, (unsigned long long)rows, rps, eta,
	         waiting ? "  (waiting for input)" : "");
	er_log_progress(&R->log, final, line);
}

static void *progress_main(void *arg)
{
	run *R = arg;
	pthread_mutex_lock(&R->prog_mu);
	while (!R->prog_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		double at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + R->progress_every;
		ts.tv_sec = (time_t)at;
		ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
		while (!R->prog_stop && pthread_cond_timedwait(&R->prog_cv, &R->prog_mu, &ts) == 0) {
		}
		if (R->prog_stop)
			break;
		pthread_mutex_unlock(&R->prog_mu);
		progress(R, 0);
		pthread_mutex_lock(&R->prog_mu);
	}
	pthread_mutex_unlock(&R->prog_mu);
	return NULL;
}

/* Start the progress thread (signals blocked by the caller). 0 or -1. */
static int progress_start(run *R, pthread_t *tid)
{
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&R->prog_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -1;
	pthread_mutex_init(&R->prog_mu, NULL);
	R->prog_stop = 0;
	if (pthread_create(tid, NULL, progress_main, R) != 0) {
		pthread_cond_destroy(&R->prog_cv);
		pthread_mutex_destroy(&R->prog_mu);
		return -1;
	}
	return 0;
}

static void progress_stop(run *R, pthread_t tid)
{
	pthread_mutex_lock(&R->prog_mu);
	R->prog_stop = 1;
	pthread_cond_signal(&R->prog_cv);
	pthread_mutex_unlock(&R->prog_mu);
	pthread_join(tid, NULL);
	pthread_cond_destroy(&R->prog_cv);
	pthread_mutex_destroy(&R->prog_mu);
}

/* er_reader_set_wait_notice: a FIFO with no writer after a second. */
static void fifo_notice(void *ctx, const char *path)
{
	run *R = ctx;
	er_log_msg(&R->log, ER_LOG_INFO, "waiting for a writer on FIFO %s", path);
}

static int file_fail(run *R, int fi, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int file_fail(run *R, int fi, const char *fmt, ...)
{
	file_state *f = &R->files[fi];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->error, sizeof f->error, fmt, ap);
	va_end(ap);
	f->failed = 1;
	return -1;
}

/* A chunk that carried a huge record (up to max_record) keeps that capacity
 * when reused; give it back so steady-state memory stays near
 * chunks x chunk_bytes whatever the input held. */
static void shrink_chunk(er_chunk *c, size_t chunk_bytes)
{
	size_t limit = 4 * chunk_bytes + (1u << 20);
	if (c->in.cap > limit)
		er_recbuf_free(&c->in);
	if (c->out.cap > 2 * limit)
		er_buf_free(&c->out);
	if (c->rej.cap > limit)
		er_buf_free(&c->rej);
	if (c->roll.cap > 2 * limit)
		er_buf_free(&c->roll);
}

/* Counts decompressed bytes on their way to the splitter. */
typedef struct counting_reader {
	er_reader *rd;
	const er_source *src;   /* read from this instead of rd (score --ams) */
	uint64_t n;
	run *R;
	uint64_t base;          /* raw bytes of the files before this one */
	int cancelled;
} counting_reader;

/* Every read passes here, so the splitter skipping an endless line notices
 * a cancel at once. */
static ssize_t counting_read(void *ctx, char *buf, size_t cap)
{
	counting_reader *cr = ctx;
	if (cancelled(cr->R)) {
		cr->cancelled = 1;
		return -1;
	}
	atomic_store(&cr->R->prog_reading, 1);
	ssize_t n = cr->src ? (ssize_t)cr->src->read(cr->src->ctx, buf, cap) : er_reader_read(cr->rd, buf, cap);
	atomic_store(&cr->R->prog_reading, 0);
	if (n > 0)
		cr->n += (uint64_t)n;
	/* raw bytes of a file; of a source (score --ams), the CSV it made */
	atomic_store(&cr->R->prog_in, cr->base + (cr->rd ? er_reader_bytes_in(cr->rd) : cr->n));
	return n;
}

/* A header that parsed as one column was probably split on another
 * delimiter: name the likeliest of ';', tab, '|' and ',' (the most frequent
 * one that is not the delimiter in use). */
static void delimiter_hint(er_field h, char delim, char *out, size_t cap)
{
	static const char cand[] = ";\t|,";
	size_t best = 0;
	char pick = 0;
	for (const char *d = cand; *d; d++) {
		size_t n = 0;
		for (size_t i = 0; i < h.n; i++)
			n += h.p[i] == *d;
		if (*d != delim && n > best) {
			best = n;
			pick = *d;
		}
	}
	if (pick)
		snprintf(out, cap, "; the header is one column: did you mean --delimiter %s?",
		         pick == '\t' ? "tab" : pick == ';' ? "';'" : pick == '|' ? "'|'" : "',' (the default)");
}

/* Read one file into chunks. Returns 0, or -1 when the file failed. */
static int dispatch_file(run *R, int fi, er_parser *hp)
{
	file_state *f = &R->files[fi];
	const er_run_opts *o = R->opts;
	char err[512];
	er_reader *rd = NULL;
	er_splitter *sp = NULL;
	counting_reader cr = {0};
	int rc = -1, first = 1;

	const er_source *src = fi == 0 ? o->source : NULL;
	if (!src && er_reader_open(f->path, &rd, err, sizeof err) != ER_OK) {
		file_fail(R, fi, "%s", err);
		goto out;
	}
	if (rd) {
		er_reader_set_threads(rd, R->nthreads); /* BGZF members inflate in parallel */
		er_reader_set_cancel(rd, o->cancel);
		er_reader_set_wait_notice(rd, fifo_notice, R);
		R->inflate = (int)er_reader_backend(rd);
	}
	er_split_opts so = {
		.delim = R->wcfg.delim,
		.chunk_bytes = o->chunk_bytes ? o->chunk_bytes : R->solo ? SOLO_CHUNK : DEFAULT_CHUNK,
		.max_record = o->max_record ? o->max_record : DEFAULT_MAX_RECORD,
		.max_raw = MAX_RAW,
	};
	cr.rd = rd;
	cr.src = src;
	cr.R = R;
	for (int i = 0; i < fi; i++)
		cr.base += R->files[i].bytes_in;
	atomic_store(&R->prog_file, fi);
	atomic_store(&R->prog_in, cr.base);
	sp = er_splitter_new(counting_read, &cr, &so);
	if (!sp) {
		file_fail(R, fi, "%s: out of memory", f->path);
		goto out;
	}
	for (;;) {
		if (er_pool_aborted(R->pool) || cancelled(R)) {
			if (cancelled(R))
				file_fail(R, fi, "%s: interrupted", f->path);
			else
				rc = 0; /* the writer already knows why */
			goto out;
		}
		er_chunk *c = er_pool_get_free(R->pool);
		shrink_chunk(c, so.chunk_bytes);
		c->kind = ER_CHUNK_DATA;
		c->file_idx = fi;
		c->hdr = &f->hdr;
		c->skip_first = 0;
		int n = er_splitter_next(sp, &c->in);
		if (n <= 0) {
			er_pool_release(R->pool, c);
			if (n < 0) {
				if (cr.cancelled || cancelled(R))
					file_fail(R, fi, "%s: interrupted", f->path);
				else if (er_splitter_nomem(sp))
					file_fail(R, fi, "%s: out of memory", f->path);
				else
					file_fail(R, fi, "%s", src ? src->error(src->ctx) : er_reader_error(rd));
				goto out;
			}
			break;
		}
		if (first) {
			first = 0;
			const er_rec *h = &c->in.recs[0];
			const er_field *fields;
			int rej = 0;
			int nf = h->reject ? -1
			                   : er_parser_record(hp, c->in.buf + h->off, h->len,
			                                      h->flags & ER_REC_QUOTED, &fields, &rej);
			if (nf < 0) {
				er_pool_release(R->pool, c);
				file_fail(R, fi, "%s:%llu: unreadable header row (%s)", f->path,
				          (unsigned long long)h->line,
				          er_reject_name(h->reject ? h->reject : rej));
				goto out;
			}
			if (er_header_build(fields, nf, &R->map, o->keep, &f->hdr, err, sizeof err) < 0) {
				er_pool_release(R->pool, c);
				char hint[96] = "";
				if (nf == 1)
					delimiter_hint(fields[0], R->wcfg.delim, hint, sizeof hint);
				file_fail(R, fi, "%s:%llu: %s%s", f->path, (unsigned long long)h->line, err, hint);
				goto out;
			}
			c->skip_first = 1;
		}
		c->nrecords = c->in.n - (uint32_t)c->skip_first;
		f->records += c->nrecords;
		submit(R, c);
	}
	if (first) {
		file_fail(R, fi, "%s: empty input: no header row", f->path);
		goto out;
	}
	rc = 0;
out:
	if (rd)
		f->bytes_in = er_reader_bytes_in(rd);
	f->bytes_csv = cr.n;
	er_splitter_free(sp);
	er_reader_close(rd);
	return rc;
}

/* ----------------------------------------------------------------- summary */

static int build_summary(run *R, const er_tables *t, const er_rules *r, er_buf *b, double elapsed,
                         uint64_t bytes_csv, int ok_files, uint64_t source_rejects, char *err,
                         size_t errlen)
{
	const er_run_opts *o = R->opts;
	er_summary_file *files = calloc((size_t)R->nfiles, sizeof *files);
	if (!files) {
		er_errf(err, errlen, "summary: out of memory");
		return -1;
	}
	for (int i = 0; i < R->nfiles; i++) {
		file_state *f = &R->files[i];
		files[i] = (er_summary_file){ R->paths[i], f->failed, f->error, &f->counts, f->bytes_in,
		                              f->bytes_csv };
	}
	struct { er_outfile *o; const char *role; } outs[] = {
		{ &R->out, R->mode == ER_MODE_SCORE ? "scores" : "partners" },
		{ &R->rej, "rejects" },
		{ &R->consol, "consolidations" },
		{ &R->queue, "queue" },
	};
	er_summary_output so[4];
	char hex[4][65];
	int nso = 0, level = 0;
	for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
		er_outfile *x = outs[i].o;
		if (x->kind == ER_OUT_NONE)
			continue;
		if (!level)
			level = x->gz_level;
		/* the writer's own digest: streamed, and rolled back with a failed file */
		er_out_digest(x, hex[nso]);
		so[nso] = (er_summary_output){ outs[i].role, x->path, er_out_bytes(x), er_out_atomic(x),
		                               hex[nso] };
		nso++;
	}
	er_summary_reject fr[ER_NREJECTS][ER_SUMMARY_FIRST_REJECTS];
	char detail[ER_NREJECTS][ER_SUMMARY_FIRST_REJECTS][48];
	for (int k = 1; k < ER_NREJECTS; k++) {
		for (int i = 0; i < R->nfirst_rej[k]; i++) {
			const file_state *f = &R->files[R->first_rej[k][i].file];
			const char *d = NULL;
			if (k == ER_REJ_FIELD_COUNT) {
				snprintf(detail[k][i], sizeof detail[k][i], "%d fields, expected %d",
				         R->first_rej[k][i].got, f->hdr.nfields);
				d = detail[k][i];
			} else if (R->first_rej[k][i].col >= 0) {
				d = er_col_name(R->first_rej[k][i].col);
			}
			fr[k][i] = (er_summary_reject){ R->paths[R->first_rej[k][i].file],
			                                R->first_rej[k][i].line, d };
		}
	}
	er_consol_counts cc;
	er_rollup_consol_counts(R->rollup, &cc);
	char deflate[64] = "";
	if (level == ER_GZ_FAST)
		snprintf(deflate, sizeof deflate, "%s", er_gz_fast_name());
	else if (level > 0)
		snprintf(deflate, sizeof deflate, "zlib %s", zlibVersion());
	er_summary_input in = {
		.command = R->mode == ER_MODE_SCORE ? "score" : "partners",
		.opts = o, .tables = t, .rules = r,
		.nfiles = R->nfiles, .files = files, .total = &R->total,
		.has_consolidations = R->rollup && o->consolidations_path,
		.nconsolidations = (size_t)cc.written, .consolidations_found = cc.found,
		.consolidations_single = cc.single, .consolidations_beyond_top = cc.beyond_top,
		.noutputs = nso, .outputs = so,
		.inflate = R->inflate ? er_inflate_name((enum er_inflate)R->inflate) : NULL, .deflate = deflate[0] ? deflate : NULL,
		.has_source = o->source != NULL, .source_rejects = source_rejects,
		.exit_status = (R->total.rejected || source_rejects || ok_files < R->nfiles) ? 3 : 0,
		.threads = R->nthreads, .started = R->started,
		.elapsed_s = elapsed, .bytes_csv = bytes_csv,
	};
	for (int k = 1; k < ER_NREJECTS; k++) {
		in.first_rejects[k] = fr[k];
		in.nfirst_rejects[k] = R->nfirst_rej[k];
	}
	clock_gettime(CLOCK_REALTIME, &in.finished);
	int rc = er_summary_build(&in, b, err, errlen);
	free(files);
	return rc;
}

/* The end-phase outputs go through here: the output dialect, and a cancel
 * check on every piece (partner audit, consolidations, queue). */
typedef struct end_sink {
	er_csv_sink csv;
	const run *R;
	er_outfile *file;      /* NULL: no file (--report without --consolidations) */
	er_report_top *report; /* --report: its table, fed the internal ',' RFC 4180 form */
} end_sink;

static int end_emit(void *ctx, const char *p, size_t n)
{
	end_sink *e = ctx;
	if (cancelled(e->R)) {
		errno = ECANCELED;
		return -1;
	}
	/* before the recoding: the report parses one dialect, whatever --out-delimiter says */
	if (e->report)
		er_report_top_emit(e->report, p, n);
	return e->file ? er_csv_sink_emit(&e->csv, p, n) : 0;
}

/* Write one end-phase output through the sink (o NULL: only to report).
 * 0 or -1. */
static int write_end(run *R, er_outfile *o, int (*fn)(void *, er_emit_fn, void *), void *obj,
                     er_report_top *report)
{
	end_sink e = { .R = R, .file = o, .report = report };
	if (o) {
		er_csv_sink_init(&e.csv, &R->dialect, er_out_emit, o);
		/* the workers are done: their threads compress this output's members */
		er_out_parallel(o, R->nthreads);
	}
	int rc = fn(obj, end_emit, &e);
	if (o) {
		er_csv_sink_free(&e.csv);
		if (er_out_serial(o) < 0)
			rc = -1;
	}
	return rc < 0 || (o && o->err) ? -1 : 0;
}

static int consol_fn(void *obj, er_emit_fn emit, void *ctx)
{
	return er_rollup_write_consolidations(obj, emit, ctx);
}

static int queue_fn(void *obj, er_emit_fn emit, void *ctx)
{
	return er_rollup_write_queue(obj, emit, ctx);
}

/* The source's own rejects (score --ams), in the output dialect too. */
static int source_rejects_fn(void *obj, er_emit_fn emit, void *ctx)
{
	const er_source *src = obj;
	return src->rejects(src->ctx, emit, ctx);
}

static int partners_fn(void *obj, er_emit_fn emit, void *ctx)
{
	return er_partners_write(obj, emit, ctx);
}

/* The start of a CSV output: the BOM for Excel, then its header line given
 * in the internal form (a .gz output's first member: mark_all ends it).
 * 0 or -1 (ENOMEM). */
static int write_head(run *R, er_outfile *o, const char *hdr, size_t n)
{
	er_buf line = { 0 };
	int rc = -1;
	if (R->dialect.excel && er_buf_puts(&line, ER_CSV_BOM) < 0)
		goto out;
	if (hdr && n) {
		er_csv_recoder rc0;
		memset(&rc0, 0, sizeof rc0);
		er_csv_recode_init(&rc0, &R->dialect);
		int bad = er_csv_dialect_plain(&R->dialect) ? er_buf_append(&line, hdr, n)
		                                             : er_csv_recode(&rc0, &line, hdr, n);
		er_csv_recode_free(&rc0);
		if (bad < 0)
			goto out;
	}
	if (!line.len) {
		rc = 0;
		goto out;
	}
	er_out_write(o, line.p, line.len);
	rc = 0;
out:
	er_buf_free(&line);
	return rc;
}

/* The same input named twice (same device and inode, whatever the
 * spelling) would be scored twice and every row doubled: a usage error.
 * stdin ("-") is not compared. 0, or -1 with err set. */
static int check_inputs(const er_run_opts *o, char *err, size_t errlen)
{
	struct stat *st = calloc((size_t)o->ninputs, sizeof *st);
	int *ok = calloc((size_t)o->ninputs, sizeof *ok);
	int rc = 0;
	if (!st || !ok) {
		free(st);
		free(ok);
		er_errf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < o->ninputs && rc == 0; i++) {
		if (strcmp(o->inputs[i], "-") == 0 || stat(o->inputs[i], &st[i]) < 0)
			continue; /* a missing file fails later, with its own message */
		ok[i] = 1;
		for (int j = 0; j < i; j++) {
			if (ok[j] && st[j].st_dev == st[i].st_dev && st[j].st_ino == st[i].st_ino) {
				er_errf(err, errlen, "'%s' (input %d) and '%s' (input %d) are the same file; "
				        "each input is scored once", o->inputs[j], j + 1, o->inputs[i], i + 1);
				rc = -1;
				break;
			}
		}
	}
	free(st);
	free(ok);
	return rc;
}

/* --------------------------------------------------------------------- run */

static int split_keep(run *R, const char *keep)
{
	if (!keep || !*keep)
		return 0;
	char *copy = strdup(keep);
	if (!copy)
		return -1;
	int n = 1;
	for (const char *s = keep; *s; s++)
		n += *s == ',';
	R->keep_names = calloc((size_t)n + 1, sizeof *R->keep_names);
	if (!R->keep_names) {
		free(copy);
		return -1;
	}
	/* keep_names[0] owns the copy; the others point into it. */
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *p = tok;
		size_t len = strlen(tok);
		er_trim(&p, &len);
		tok[(p - tok) + (ptrdiff_t)len] = '\0';
		R->keep_names[R->nkeep++] = (char *)p;
	}
	R->keep_names[R->nkeep] = copy;
	return 0;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Open one output; a name ending in .gz is compressed by its writer. 0 or
 * the status. */
/* The run builds a summary: to write it, or the report and the history
 * made of it. Only the summary reads the outputs' SHA-256. */
static int wants_summary(const er_run_opts *opts)
{
	return opts->summary_path || opts->report_path || opts->history_dir;
}

static er_status out_open(run *R, er_outfile *o, const char *path, char *err, size_t errlen)
{
	const er_run_opts *opts = R->opts;
	int level = opts->out_level > 0 ? opts->out_level : ER_GZ_FAST;
	int gz = path && ends_with(path, ".gz") ? level : 0;
	/* Rows of a file that fails under --keep-going must be taken back: a
	 * pipe cannot, so stdout is spooled then. */
	int flags = opts->spool_stdout || opts->keep_going ? ER_OUT_SPOOL_STDOUT : 0;
	er_status st = er_out_open(o, path, flags, gz, err, errlen);
	if (st == ER_OK && !wants_summary(opts))
		er_out_no_digest(o);
	if (st != ER_OK && !err[0])
		snprintf(err, errlen, "%s: %s", path ? path : "<stdout>", er_status_str(st));
	return st;
}

/* Refuse unsafe names, lock, then open every output. */
static er_status open_outputs(run *R, char *err, size_t errlen)
{
	const er_run_opts *opts = R->opts;
	/* A row sink (calibrate) has no scores output. */
	const char *names[] = {R->mode == ER_MODE_SINK ? NULL : opts->out_path, opts->rejects_path,
	                       opts->consolidations_path, opts->queue_path, opts->summary_path,
	                       opts->report_path, R->history_path[0] ? R->history_path : NULL};
	int nn = (int)(sizeof names / sizeof names[0]);
	er_status st = er_commit_check(names, nn, opts->inputs, opts->ninputs, err, errlen);
	if (st == ER_OK)
		st = er_commit_begin(&R->commit, names, nn, opts->wait_lock, &R->log, err, errlen);
	if (st != ER_OK)
		return st;
	er_commit_set_reaper(R->commit, R->reaper);
	er_outfile *o[] = {&R->out, &R->rej, &R->consol, &R->queue, &R->summary, &R->report,
	                   &R->history};
	for (int i = 0; i < nn && st == ER_OK; i++)
		if ((i == 0 && R->mode != ER_MODE_SINK) || (i > 0 && names[i]))
			st = out_open(R, o[i], names[i], err, errlen);
	return st;
}

static er_status run_pipeline(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                              int mode, const er_row_sink *sink, er_run_stats *stats)
{
	run Rs;
	run *R = &Rs;
	memset(R, 0, sizeof *R);
	R->out.fd = R->rej.fd = R->consol.fd = R->queue.fd = R->summary.fd = -1;
	if (!opts || opts->size < RUN_OPTS_MIN_SIZE || opts->size > sizeof(er_run_opts)) {
		/* nothing in opts can be trusted, not even its log callback */
		er_log_init(&R->log, NULL, NULL, 0);
		er_log_msg(&R->log, ER_LOG_ERROR,
		           "er_run_opts.size is %zu: set it with er_run_opts_init() (this library "
		           "takes %zu to %zu bytes)", opts ? opts->size : 0, (size_t)RUN_OPTS_MIN_SIZE,
		           sizeof(er_run_opts));
		er_log_destroy(&R->log);
		return ER_E_USAGE;
	}
	/* fields the caller's (older) struct lacks take their defaults */
	er_run_opts_init(&R->opts_full);
	memcpy(&R->opts_full, opts, opts->size);
	R->opts_full.size = sizeof R->opts_full;
	opts = &R->opts_full;
	R->report.fd = R->history.fd = -1;
	er_report_top *report_consol = NULL, *report_partners = NULL;
	R->opts = opts;
	er_log_init(&R->log, opts->log, opts->log_ctx, opts->quiet);
	R->mode = mode;
	R->sink = mode == ER_MODE_SINK ? sink : NULL;
	R->t0 = now_s();
	clock_gettime(CLOCK_REALTIME, &R->started);
	R->dialect = (er_csv_dialect){ opts->out_delimiter ? opts->out_delimiter : ',', opts->excel };
	er_status st = ER_OK;
	char err[1024] = "";
	worker_arg *workers = NULL;
	int nstarted = 0, writer_started = 0;
	pthread_t writer_tid;
	er_parser *hp = NULL;
	er_buf hdrline = {0}, tmp = {0};
	int show_final = 0, masked = 0, prog_started = 0;
	pthread_t prog_tid;

	if (opts->ninputs <= 0) {
		snprintf(err, sizeof err, "no input files");
		st = ER_E_USAGE;
		goto out;
	}
	R->nthreads = opts->threads > 0 ? opts->threads : er_cpu_count();
	if (R->nthreads < 1)
		R->nthreads = 1;
	R->reaper = er_reaper_new(R->nthreads);
	R->nfiles = opts->ninputs;
	R->files = calloc((size_t)R->nfiles, sizeof *R->files);
	R->paths = calloc((size_t)R->nfiles, sizeof *R->paths);
	if (!R->files || !R->paths || split_keep(R, opts->keep) < 0) {
		st = ER_E_NOMEM;
		goto out;
	}
	for (int i = 0; i < R->nfiles; i++) {
		R->files[i].path = opts->inputs[i];
		R->paths[i] = strcmp(opts->inputs[i], "-") == 0 ? "<stdin>" : opts->inputs[i];
	}
	size_inputs(R);
	if (check_inputs(opts, err, sizeof err) < 0) {
		st = ER_E_USAGE;
		goto out;
	}
	if (R->dialect.delim == '"' || R->dialect.delim == '\n' || R->dialect.delim == '\r') {
		snprintf(err, sizeof err, "the output delimiter cannot be a quote, CR or LF");
		st = ER_E_USAGE;
		goto out;
	}
	if (opts->map_file && er_colmap_load_ex(&R->map, opts->map_file, opts->cancel, err, sizeof err) < 0) {
		st = errno == ECANCELED ? ER_E_CANCELLED : ER_E_USAGE;
		goto out;
	}
	if (opts->sdn && er_rules_sdn_check(r, err, sizeof err) < 0) {
		st = ER_E_FORMAT;
		goto out;
	}
	for (int i = 0; i < opts->nmap; i++) {
		if (er_colmap_add(&R->map, opts->map[i], err, sizeof err) < 0) {
			st = ER_E_USAGE;
			goto out;
		}
	}
	char delim = opts->delimiter ? opts->delimiter : ',';
	R->wcfg = (er_work_cfg){
		.tables = t, .rules = r, .sdn = opts->sdn, .delim = delim, .out = R->dialect,
		.cancel = opts->cancel,
		.max_field = opts->max_field ? opts->max_field : DEFAULT_MAX_FIELD,
		.rollup = mode == ER_MODE_SCORE &&
		          (opts->consolidations_path || opts->queue_path || opts->report_path),
		.rollup_sort = mode == ER_MODE_SCORE && (opts->consolidations_path || opts->report_path),
		.partners = mode == ER_MODE_PARTNERS,
		.sink = R->sink,
		.paths = R->paths,
	};
	if (R->wcfg.rollup) {
		R->rollup = er_rollup_new(r, opts->consolidations_path || opts->report_path,
		                          opts->queue_path != NULL, opts->resumption);
		if (!R->rollup) {
			st = ER_E_NOMEM;
			goto out;
		}
		er_rollup_set_consol_filter(R->rollup, opts->consolidations_all ? 0 : 2,
		                            opts->consolidations_top);
		if (opts->report_path &&
		    !(report_consol = er_report_top_new(ER_TOP_CONSOLIDATIONS, "consolidations"))) {
			st = ER_E_NOMEM;
			goto out;
		}
		er_rollup_set_budget(R->rollup, opts->rollup_memory);
		er_rollup_set_threads(R->rollup, R->nthreads);
		er_rollup_set_cancel(R->rollup, opts->cancel);
		er_rollup_set_reaper(R->rollup, R->reaper);
	}
	if (mode == ER_MODE_PARTNERS && !(R->partners = er_partners_new(t))) {
		st = ER_E_NOMEM;
		goto out;
	}
	if (mode == ER_MODE_PARTNERS && opts->report_path &&
	    !(report_partners = er_report_top_new(ER_TOP_PARTNERS, "partner audit"))) {
		st = ER_E_NOMEM;
		goto out;
	}

	/* Outputs: temporaries now, renamed at the very end. The history entry
	 * (a new name, nothing to replace or lock) is opened just before the
	 * commit, so a run that fails leaves no new --history folder behind. */
	if (opts->history_dir && er_history_check(opts->history_dir, err, sizeof err) < 0) {
		st = ER_E_IO;
		goto out;
	}
	if ((st = open_outputs(R, err, sizeof err)) != ER_OK)
		goto out;
	/* Headers (and the BOM for Excel). The partner audit, consolidations and
	 * queue write their own header lines; their BOM goes first here. */
	if (mode == ER_MODE_SCORE &&
	    er_format_score_header(&hdrline, (const char *const *)R->keep_names, R->nkeep, ',',
	                           opts->sdn != NULL) < 0) {
		st = ER_E_NOMEM;
		goto out;
	}
	{
		const char rh[] = "file,line,reason,raw\n";
		if (write_head(R, &R->out, hdrline.p, hdrline.len) < 0 ||
		    (opts->rejects_path && write_head(R, &R->rej, rh, sizeof rh - 1) < 0) ||
		    (opts->consolidations_path && write_head(R, &R->consol, NULL, 0) < 0) ||
		    (opts->queue_path && write_head(R, &R->queue, NULL, 0) < 0)) {
			st = ER_E_NOMEM;
			goto out;
		}
	}
	mark_all(R);
	/* The writer thread hands the scores' and rejects' plain bytes to their
	 * outputs; a .gz output's members (fixed plain offsets, one ending at
	 * every input's end) are compressed on --threads helper threads from 3
	 * threads on, so the bytes do not depend on the chunk size or the
	 * thread count. At 2 the writer compresses them itself: its deflate
	 * (~440 MB/s at level 1) keeps well ahead of two workers' ~130 MB/s of
	 * scores, and two helpers more on two cores only added switching (1.7 %
	 * more wall time on pigz -i input, 15 paired runs; the same on one
	 * member). */
	int gz_threads = R->nthreads > 2 ? R->nthreads : 1;
	if (mode == ER_MODE_SCORE)
		er_out_parallel(&R->out, gz_threads);
	if (opts->rejects_path)
		er_out_parallel(&R->rej, gz_threads);

	hp = er_parser_new(delim, R->wcfg.max_field);
	R->pool = er_pool_new(2 * R->nthreads + 2);
	workers = calloc((size_t)R->nthreads, sizeof *workers);
	if (!hp || !R->pool || !workers) {
		st = ER_E_NOMEM;
		goto out;
	}
	/* Our threads block every signal, so a signal reaches the calling thread
	 * and interrupts its blocked read (a stalled FIFO) with EINTR. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	masked = 1;
	for (int i = 0; i < R->nthreads; i++) {
		workers[i].R = R;
		workers[i].w = er_worker_new(&R->wcfg);
		if (!workers[i].w) {
			st = ER_E_NOMEM;
			goto out_threads;
		}
		if (R->nthreads == 1) { /* no thread: submit() works each chunk */
			R->solo = workers[i].w;
			break;
		}
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) {
			er_worker_free(workers[i].w);
			workers[i].w = NULL;
			snprintf(err, sizeof err, "cannot start worker thread");
			st = ER_E_INTERNAL;
			goto out_threads;
		}
		nstarted++;
	}
	if (!R->solo && pthread_create(&writer_tid, NULL, writer_main, R) != 0) {
		snprintf(err, sizeof err, "cannot start writer thread");
		st = ER_E_INTERNAL;
		goto out_threads;
	}
	writer_started = !R->solo;
	{
		int tty = er_log_tty(&R->log);
		int show = !opts->quiet && (opts->progress > 0 || (opts->progress < 0 && tty));
		R->progress_every = tty ? PROGRESS_TTY_S : PROGRESS_LINE_S;
		if (show && progress_start(R, &prog_tid) != 0) {
			snprintf(err, sizeof err, "cannot start the progress thread");
			st = ER_E_INTERNAL;
			goto out_threads;
		}
		prog_started = show;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	masked = 0;

	{
		for (int i = 0; i < R->nfiles; i++) {
			int frc = dispatch_file(R, i, hp);
			er_chunk *c = er_pool_get_free(R->pool);
			c->kind = ER_CHUNK_FILE_END;
			c->file_idx = i;
			c->file_error[0] = '\0';
			if (frc < 0)
				snprintf(c->file_error, sizeof c->file_error, "%s", R->files[i].error);
			submit(R, c);
			if (er_pool_aborted(R->pool) || cancelled(R) || (frc < 0 && !opts->keep_going))
				break;
		}
		show_final = prog_started;
	}

out_threads:
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (writer_started || nstarted || R->solo) {
		/* The END marker lets the writer finish; closing lets workers exit. */
		er_chunk *c = er_pool_get_free(R->pool);
		c->kind = ER_CHUNK_END;
		submit(R, c);
		er_pool_close(R->pool);
		if (!writer_started) {
			/* Nobody consumes: drain by hand so the chunk cycle ends. */
			for (int i = 0; i < nstarted; i++)
				pthread_join(workers[i].tid, NULL);
			nstarted = 0;
		}
	}
	for (int i = 0; i < nstarted; i++)
		pthread_join(workers[i].tid, NULL);
	if (writer_started)
		pthread_join(writer_tid, NULL);
	/* their helpers' work is done (an error stays sticky for the commit) */
	er_out_serial(&R->out);
	er_out_serial(&R->rej);
	if (prog_started)
		progress_stop(R, prog_tid);
	if (show_final) /* after the writer: every row is counted */
		progress(R, 1);
	if (workers)
		for (int i = 0; i < R->nthreads; i++)
			er_worker_free(workers[i].w);
	if (st != ER_OK)
		goto out;
	if (cancelled(R) && (!R->fatal || R->fatal_status != ER_E_CANCELLED)) {
		R->fatal = 1; /* whatever else went wrong, it is because we were stopped */
		R->fatal_status = ER_E_CANCELLED;
		snprintf(R->fatal_msg, sizeof R->fatal_msg, "interrupted; nothing committed");
	}
	if (R->fatal) {
		memcpy(err, R->fatal_msg, sizeof err < sizeof R->fatal_msg ? sizeof err : sizeof R->fatal_msg);
		err[sizeof err - 1] = '\0';
		st = R->fatal_status;
		goto out;
	}

	int ok_files = 0;
	for (int i = 0; i < R->nfiles; i++)
		ok_files += !R->files[i].failed;
	if (ok_files == 0) {
		snprintf(err, sizeof err, "every input failed; nothing committed");
		st = ER_E_FORMAT;
		goto out;
	}
	if (opts->max_rejects_pct >= 0 && R->total.rows &&
	    (double)R->total.rejected * 100.0 > opts->max_rejects_pct * (double)R->total.rows) {
		snprintf(err, sizeof err, "too many rejects: %llu of %llu rows (over %g%%, --max-rejects); nothing committed",
		         (unsigned long long)R->total.rejected, (unsigned long long)R->total.rows,
		         opts->max_rejects_pct);
		st = ER_E_REJECTS;
		goto out;
	}

	/* Records the source itself rejected (score --ams): counted here, written
	 * after the rows' rejects. */
	uint64_t source_rejects = opts->source && opts->source->count_rejects
	                        ? opts->source->count_rejects(opts->source->ctx) : 0;
	/* --max-rejects counts them too (known once the source is read) */
	if (source_rejects && opts->max_rejects >= 0 &&
	    R->rejects_seen + source_rejects > (uint64_t)opts->max_rejects) {
		snprintf(err, sizeof err, "too many rejects: %llu (%llu of them by the source) "
		         "more than %lld (--max-rejects); nothing committed",
		         (unsigned long long)(R->rejects_seen + source_rejects),
		         (unsigned long long)source_rejects, opts->max_rejects);
		st = ER_E_REJECTS;
		goto end_failed;
	}
	if (source_rejects && opts->max_rejects_pct >= 0 &&
	    (double)(R->total.rejected + source_rejects) * 100.0 >
	    opts->max_rejects_pct * (double)(R->total.rows + source_rejects)) {
		snprintf(err, sizeof err, "too many rejects: %llu of %llu records (%llu by the source; "
		         "over %g%%, --max-rejects); nothing committed",
		         (unsigned long long)(R->total.rejected + source_rejects),
		         (unsigned long long)(R->total.rows + source_rejects),
		         (unsigned long long)source_rejects, opts->max_rejects_pct);
		st = ER_E_REJECTS;
		goto end_failed;
	}
	/* Roll-up outputs, then the summary, then commit everything. */
	if (R->rollup && (opts->consolidations_path || report_consol) &&
	    write_end(R, opts->consolidations_path ? &R->consol : NULL, consol_fn, R->rollup,
	              report_consol) < 0) {
		snprintf(err, sizeof err, "%s: cannot write consolidations: %s",
		         opts->consolidations_path ? opts->consolidations_path : opts->report_path,
		         strerror(R->consol.err ? R->consol.err : errno));
		st = ER_E_IO;
		goto end_failed;
	}
	if (R->rollup && opts->queue_path && write_end(R, &R->queue, queue_fn, R->rollup, NULL) < 0) {
		snprintf(err, sizeof err, "%s: cannot write exam queue: %s", opts->queue_path,
		         strerror(R->queue.err ? R->queue.err : errno));
		st = ER_E_IO;
		goto end_failed;
	}
	/* read back for the last time: their closes overlap the commit's fsyncs */
	er_rollup_close_spills(R->rollup);
	if (R->partners && write_end(R, &R->out, partners_fn, R->partners, report_partners) < 0) {
		er_out_errmsg(&R->out, "cannot write partner audit", err, sizeof err);
		st = ER_E_IO;
		goto end_failed;
	}
	if (source_rejects && opts->rejects_path && opts->source->rejects &&
	    write_end(R, &R->rej, source_rejects_fn, (void *)(uintptr_t)opts->source, NULL) < 0) {
		snprintf(err, sizeof err, "%s: cannot write rejects", opts->rejects_path);
		st = ER_E_IO;
		goto out;
	}
	/* Their last gzip members now: the summary lists their final bytes. */
	{
		er_outfile *fin[] = {&R->out, &R->rej, &R->consol, &R->queue};
		for (size_t i = 0; i < sizeof fin / sizeof fin[0]; i++) {
			if (fin[i]->kind != ER_OUT_NONE && er_out_finish(fin[i]) < 0) {
				er_out_errmsg(fin[i], "write error", err, sizeof err);
				st = ER_E_IO;
				goto out;
			}
		}
	}
	double elapsed = now_s() - R->t0;
	uint64_t bytes_in = 0;
	for (int i = 0; i < R->nfiles; i++)
		bytes_in += R->files[i].bytes_in;
	uint64_t bytes_csv = 0;
	for (int i = 0; i < R->nfiles; i++)
		bytes_csv += R->files[i].bytes_csv;
	if (wants_summary(opts)) {
		tmp.len = 0;
		if (build_summary(R, t, r, &tmp, elapsed, bytes_csv, ok_files, source_rejects, err,
		                  sizeof err) < 0) {
			st = strstr(err, "out of memory") ? ER_E_NOMEM : ER_E_IO;
			goto out;
		}
		if (opts->summary_path)
			er_out_write(&R->summary, tmp.p, tmp.len);
	}
	/* The report reads the summary just built, and the tables the end phase fed. */
	if (opts->report_path) {
		er_report_in rin = {
			.summary = tmp.p, .summary_len = tmp.len,
			.summary_name = opts->summary_path ? opts->summary_path : "(this run)",
			.consol = report_consol, .partners = report_partners, .history_dir = opts->history_dir,
			.history_max = opts->history_max,
		};
		if ((report_consol && er_report_top_end(report_consol, err, sizeof err) < 0) ||
		    (report_partners && er_report_top_end(report_partners, err, sizeof err) < 0) ||
		    er_report_write(&rin, er_out_emit, &R->report, err, sizeof err) < 0) {
			st = ER_E_IO;
			goto end_failed;
		}
	}
	/* A signal during the end phase stops the commit: nothing is replaced. */
	if (cancelled(R)) {
		st = ER_E_CANCELLED;
		goto end_failed;
	}
	if (opts->history_dir) {
		struct stat hs;
		R->history_mkdir = stat(opts->history_dir, &hs) < 0 && errno == ENOENT;
		if (er_history_path(opts->history_dir, &R->started, R->history_path,
		                    sizeof R->history_path, err, sizeof err) < 0) {
			st = ER_E_IO;
			goto end_failed;
		}
		if ((st = out_open(R, &R->history, R->history_path, err, sizeof err)) != ER_OK)
			goto end_failed;
		er_out_write(&R->history, tmp.p, tmp.len);
	}
	er_outfile *outs[] = {&R->out, &R->rej, &R->consol, &R->queue, &R->summary, &R->report,
	                      &R->history};
	if ((st = er_commit_run(R->commit, outs, (int)(sizeof outs / sizeof outs[0]), err, sizeof err)) !=
	    ER_OK)
		goto out;
	{
		const er_counts *c = &R->total;
		er_log_msg(&R->log, ER_LOG_INFO, "%llu %s read, %llu scored, %llu rejected; %d %s ok, %d failed; "
		           "%.2f s, %.0f rows/s, %d %s",
		           (unsigned long long)c->rows, er_plural(c->rows, "row", "rows"),
		           (unsigned long long)c->scored, (unsigned long long)c->rejected, ok_files,
		           er_plural((unsigned long long)ok_files, "file", "files"), R->nfiles - ok_files,
		           elapsed, elapsed > 0 ? (double)c->rows / elapsed : 0, R->nthreads,
		           er_plural((unsigned long long)R->nthreads, "thread", "threads"));
		if (mode == ER_MODE_SCORE)
			er_log_msg(&R->log, ER_LOG_INFO, "lanes RED %llu, YELLOW %llu, GREEN %llu",
			           (unsigned long long)c->lanes[ER_LANE_RED],
			           (unsigned long long)c->lanes[ER_LANE_YELLOW],
			           (unsigned long long)c->lanes[ER_LANE_GREEN]);
		if (source_rejects)
			er_log_msg(&R->log, ER_LOG_INFO, "%llu %s of %s rejected before scoring%s",
			           (unsigned long long)source_rejects,
			           er_plural(source_rejects, "record", "records"), R->paths[0],
			           opts->rejects_path ? " (in the rejects file)" : " (use --rejects FILE)");
		if (c->rejected > R->notes_shown)
			er_log_msg(&R->log, ER_LOG_INFO, "%llu more %s not shown%s",
			           (unsigned long long)(c->rejected - R->notes_shown),
			           er_plural(c->rejected - R->notes_shown, "reject", "rejects"),
			           opts->rejects_path ? " (see the rejects file)" : " (use --rejects FILE)");
	}
	if (stats) {
		memset(stats, 0, sizeof *stats);
		stats->rows_read = R->total.rows;
		stats->rows_scored = R->total.scored;
		stats->rows_rejected = R->total.rejected + source_rejects; /* exit status 3 */
		memcpy(stats->rejects_by_reason, R->total.rej, sizeof stats->rejects_by_reason);
		memcpy(stats->lanes, R->total.lanes, sizeof stats->lanes);
		memcpy(stats->reasons, R->total.reasons, sizeof stats->reasons);
		stats->bytes_in = bytes_in;
		stats->bytes_csv = bytes_csv;
		stats->files_ok = ok_files;
		stats->files_failed = R->nfiles - ok_files;
		stats->elapsed_s = elapsed;
	}
end_failed:
	if (st != ER_OK && cancelled(R)) {
		st = ER_E_CANCELLED;
		snprintf(err, sizeof err, "interrupted; nothing committed");
	}
out:
	/* Fatal errors are printed even with --quiet: the run committed nothing. */
	if (st != ER_OK)
		er_log_msg(&R->log, ER_LOG_ERROR, "%s", err[0] ? err : er_status_str(st));
	er_out_abort(&R->out);
	er_out_abort(&R->rej);
	er_out_abort(&R->consol);
	er_out_abort(&R->queue);
	er_out_abort(&R->summary);
	er_out_abort(&R->report);
	er_out_abort(&R->history);
	if (st != ER_OK && R->history_mkdir)
		rmdir(opts->history_dir); /* the folder this run made; left if anything is in it */
	er_report_top_free(report_consol);
	er_report_top_free(report_partners);
	er_commit_end(R->commit);
	er_parser_free(hp);
	er_pool_free(R->pool);
	free(workers);
	er_rollup_free(R->rollup);
	er_reaper_free(R->reaper); /* after the roll-up and the commit, its users */
	er_partners_free(R->partners);
	er_colmap_free(&R->map);
	if (R->keep_names) {
		free(R->keep_names[R->nkeep]);
		free(R->keep_names);
	}
	free(R->files);
	free(R->paths);
	er_buf_free(&hdrline);
	er_buf_free(&tmp);
	er_log_destroy(&R->log);
	return st;
}

er_status er_pipeline_run(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                          int mode, er_run_stats *stats)
{
	return mode == ER_MODE_SINK ? ER_E_USAGE : run_pipeline(t, r, opts, mode, NULL, stats);
}

er_status er_pipeline_run_sink(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                               const er_row_sink *sink, er_run_stats *stats)
{
	return run_pipeline(t, r, opts, ER_MODE_SINK, sink, stats);
}

er_status er_run_score(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                       er_run_stats *stats)
{
	return run_pipeline(t, r, opts, ER_MODE_SCORE, NULL, stats);
}

er_status er_run_partners(const er_tables *t, const er_rules *r, const er_run_opts *opts,
                          er_run_stats *stats)
{
	return er_pipeline_run(t, r, opts, ER_MODE_PARTNERS, stats);
}
