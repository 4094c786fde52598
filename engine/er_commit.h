/* er_commit.h - the commit across outputs: checks, lock, journal, renames.
 *
 * A run's outputs are replaced together or not at all:
 * - er_commit_check refuses, before anything is opened, an output that is a
 *   directory or block device, two outputs naming the same file, and an
 *   output that is one of the inputs (compared by device and inode, symlinks
 *   followed), as usage errors;
 * - er_commit_begin takes an flock on ".NAME.examrisk.lock" beside every
 *   regular-file output (a second run on the same outputs fails at once, or
 *   waits), completes or rolls back the journal of a run that crashed in the
 *   middle of its commit, and removes the temporaries and backups that dead
 *   runs left beside those outputs (their names carry the writer's pid);
 * - er_commit_run checks everything that can fail (write errors, fsync of
 *   every temporary, targets still files on the same filesystem, closes),
 *   keeps each previous version as a hard link ".NAME.examrisk-PID.bak",
 *   fsyncs the directories, writes the journal ".NAME.examrisk.journal"
 *   beside every output, renames, fsyncs the directories again, prints the
 *   stdout spool, and only then removes the first output's journal (the
 *   commit point) and the backups. A failure before the commit point puts
 *   every previous version back.
 * Special files and streamed stdout are written during the run: they are
 *   not locked, not journalled and cannot be taken back. */
#ifndef ER_COMMIT_H
#define ER_COMMIT_H

#include "er_log.h"
#include "er_writer.h"

typedef struct er_commit er_commit;

/* outs: output names (NULL or "-" = stdout, skipped); ins: input names ("-"
 * skipped). ER_E_USAGE with err set, ER_E_NOMEM, or ER_OK. */
er_status er_commit_check(const char *const *outs, int nout, const char *const *ins, int nin,
                          char *err, size_t errlen);

/* Lock, recover, clean. wait: block on a lock held by another run instead of
 * failing (ER_E_IO, "another examrisk run ..."). A recovered commit is said
 * through log (er_log.h; NULL = stderr). *c is set even on failure (release
 * it with er_commit_end). */
er_status er_commit_begin(er_commit **c, const char *const *outs, int nout, int wait,
                          er_log *log, char *err, size_t errlen);

/* Commit every opened output in outs (n entries, unopened ones skipped). On
 * failure nothing is replaced and err says why. */
er_status er_commit_run(er_commit *c, er_outfile *const *outs, int n, char *err, size_t errlen);

/* The backups er_commit_run removes after the commit point go through rp
 * (er_reap.h), which must outlive the call; default NULL: removed inline. */
struct er_reaper;
void er_commit_set_reaper(er_commit *c, struct er_reaper *rp);

/* Release the locks and remove the lock files. NULL is fine. */
void er_commit_end(er_commit *c);

#endif
