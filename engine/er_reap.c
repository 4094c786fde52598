/* er_reap.c - closes and unlinks done on helper threads (see er_reap.h). */
#include "er_reap.h"
#include "er_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_REAPERS = 4 };

typedef struct task {
	struct task *next;
	int fd;                      /* >= 0: close it */
	char path[];                 /* else: unlink it */
} task;

struct er_reaper {
	pthread_mutex_t mu;
	pthread_cond_t work_c;
	task *head, **tail;
	int max, started, idle, stop;
	pthread_t tid[MAX_REAPERS];
};

static void run_task(task *t)
{
	if (t->fd >= 0)
		close(t->fd);
	else
		unlink(t->path);
	free(t);
}

static void *reaper_main(void *arg)
{
	er_reaper *rp = arg;
	pthread_mutex_lock(&rp->mu);
	for (;;) {
		task *t = rp->head;
		if (t) {
			if (!(rp->head = t->next))
				rp->tail = &rp->head;
			pthread_mutex_unlock(&rp->mu);
			run_task(t);
			pthread_mutex_lock(&rp->mu);
			continue;
		}
		if (rp->stop)
			break;
		rp->idle++;
		pthread_cond_wait(&rp->work_c, &rp->mu);
		rp->idle--;
	}
	pthread_mutex_unlock(&rp->mu);
	return NULL;
}

er_reaper *er_reaper_new(int threads)
{
	if (threads < 2)
		return NULL;
	er_reaper *rp = calloc(1, sizeof *rp);
	if (!rp)
		return NULL;
	pthread_mutex_init(&rp->mu, NULL);
	pthread_cond_init(&rp->work_c, NULL);
	rp->tail = &rp->head;
	rp->max = threads < MAX_REAPERS ? threads : MAX_REAPERS;
	return rp;
}

/* Queue t, starting a thread when none is idle and fewer than max run; with
 * no thread at all, do it here. */
static void submit(er_reaper *rp, task *t)
{
	pthread_mutex_lock(&rp->mu);
	t->next = NULL;
	*rp->tail = t;
	rp->tail = &t->next;
	if (!rp->idle && rp->started < rp->max) {
		if (er_thread_start(&rp->tid[rp->started], reaper_main, rp) == 0)
			rp->started++;
	} else {
		pthread_cond_signal(&rp->work_c);
	}
	int none = rp->started == 0;
	if (none) { /* could not start one: take it back and do it now */
		rp->head = NULL;
		rp->tail = &rp->head;
	}
	pthread_mutex_unlock(&rp->mu);
	if (none)
		run_task(t);
}

void er_reaper_close(er_reaper *rp, int fd)
{
	if (fd < 0)
		return;
	task *t = rp ? malloc(sizeof *t) : NULL;
	if (!t) {
		close(fd);
		return;
	}
	t->fd = fd;
	submit(rp, t);
}

void er_reaper_unlink(er_reaper *rp, const char *path)
{
	size_t n = strlen(path) + 1;
	task *t = rp ? malloc(sizeof *t + n) : NULL;
	if (!t) {
		unlink(path);
		return;
	}
	t->fd = -1;
	memcpy(t->path, path, n);
	submit(rp, t);
}

void er_reaper_free(er_reaper *rp)
{
	if (!rp)
		return;
	pthread_mutex_lock(&rp->mu);
	rp->stop = 1;
	pthread_cond_broadcast(&rp->work_c);
	pthread_mutex_unlock(&rp->mu);
	for (int i = 0; i < rp->started; i++)
		pthread_join(rp->tid[i], NULL);
	/* no thread ever started: nothing is queued (submit did it inline) */
	pthread_cond_destroy(&rp->work_c);
	pthread_mutex_destroy(&rp->mu);
	free(rp);
}
