/* er_reap.h - the end of a run's closes and unlinks that free page cache,
 * taken off the critical path.
 *
 * Closing an unlinked spill file, or unlinking the previous version of an
 * output after the commit, frees that file's page cache in the calling
 * thread: on the 2M-row job ~1.3 ms per end-phase spill (eight at two
 * threads), 6 ms for the runs' spill and 15 ms for the two backups, all on
 * the main thread while the rest of the machine is idle. A reaper does
 * them on up to `threads` helper threads (started on the first task) while
 * the main thread goes on with the fsyncs of the commit, and
 * er_reaper_free waits for all of them, so a run still returns only when
 * they are done. Their results were ignored before too: a close of a
 * file only read back, an unlink of a backup that the next run removes if
 * it is left (er_commit.c, clean_stale).
 *
 * With a NULL reaper (one thread, or no memory) every call does its work
 * at once in the caller, so --threads 1 starts no thread here either. */
#ifndef ER_REAP_H
#define ER_REAP_H

typedef struct er_reaper er_reaper;

/* NULL when threads < 2 (callers then work inline) or on failure. */
er_reaper *er_reaper_new(int threads);
/* close(fd) (fd < 0: nothing); done at once when rp is NULL, or when no
 * task can be queued (no memory, no thread could start). */
void er_reaper_close(er_reaper *rp, int fd);
/* unlink(path), path copied; at once in the same cases. */
void er_reaper_unlink(er_reaper *rp, const char *path);
/* Wait for every task, stop the threads, free. NULL is fine. */
void er_reaper_free(er_reaper *rp);

#endif
