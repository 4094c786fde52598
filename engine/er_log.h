/* er_log.h - the one way a run reports messages: to the embedder's callback
 * (er_run_opts.log) or, by default, to stderr as "examrisk: MESSAGE".
 * Progress on a terminal is one line rewritten with \r; everywhere else each
 * message is one newline-terminated line. Safe to call from the dispatcher
 * and the writer thread at once (a mutex keeps lines whole and in order). */
#ifndef ER_LOG_H
#define ER_LOG_H

#include <pthread.h>
#include "examrisk.h"

typedef struct er_log {
	er_log_fn fn;        /* NULL = stderr */
	void *ctx;
	int quiet;           /* only ER_LOG_ERROR passes */
	int line_open;       /* a \r progress line is on the terminal */
	pthread_mutex_t mu;
} er_log;

void er_log_init(er_log *l, er_log_fn fn, void *ctx, int quiet);
void er_log_destroy(er_log *l);
/* 1 when messages go to stderr and stderr is a terminal. */
int er_log_tty(const er_log *l);

/* "1 thread", "2 threads": the noun that agrees with n. */
static inline const char *er_plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

void er_log_msg(er_log *l, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A progress line: on a terminal it replaces the previous one; "last" ends it. */
void er_log_progress(er_log *l, int last, const char *msg);

#endif
