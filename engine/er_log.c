/* er_log.c - message routing (see er_log.h). */
#include "er_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void er_log_init(er_log *l, er_log_fn fn, void *ctx, int quiet)
{
	l->fn = fn;
	l->ctx = ctx;
	l->quiet = quiet;
	l->line_open = 0;
	pthread_mutex_init(&l->mu, NULL);
}

void er_log_destroy(er_log *l)
{
	pthread_mutex_destroy(&l->mu);
}

int er_log_tty(const er_log *l)
{
	return !l->fn && isatty(STDERR_FILENO);
}

/* Called with l->mu held. */
static void deliver(er_log *l, int level, int last, const char *msg)
{
	if (l->fn) {
		l->fn(l->ctx, level, msg);
		return;
	}
	if (level == ER_LOG_PROGRESS && isatty(STDERR_FILENO)) {
		/* trailing blanks erase the tail of a longer previous line */
		fprintf(stderr, "\rexamrisk: %s   %s", msg, last ? "\n" : "");
		l->line_open = !last;
	} else {
		if (l->line_open)
			fputc('\n', stderr);
		l->line_open = 0;
		fprintf(stderr, "examrisk: %s%s\n", level == ER_LOG_ERROR ? "error: " : "", msg);
	}
	fflush(stderr);
}

/* Serialize, and leave errno as the caller had it (it may be reporting it). */
static void send_msg(er_log *l, int level, int last, const char *msg)
{
	int saved = errno;
	pthread_mutex_lock(&l->mu);
	deliver(l, level, last, msg);
	pthread_mutex_unlock(&l->mu);
	errno = saved;
}

void er_log_msg(er_log *l, int level, const char *fmt, ...)
{
	if (l->quiet && level != ER_LOG_ERROR)
		return;
	int saved = errno;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errno = saved;
	send_msg(l, level, 0, msg);
}

void er_log_progress(er_log *l, int last, const char *msg)
{
	if (!l->quiet)
		send_msg(l, ER_LOG_PROGRESS, last, msg);
}
