/* er_writer.h - stage 5: output files committed atomically.
 * Every output is written to a temporary file beside its target and renamed
 * over it only when the whole run succeeds, so a failed run leaves the
 * previous outputs byte-identical and no temporary file behind. Standard
 * output is spooled to an unlinked temporary file and copied out at commit,
 * so a failed run prints no rows either. Rows of an input file that later
 * fails its integrity check are rolled back (er_out_mark / er_out_rollback). */
#ifndef ER_WRITER_H
#define ER_WRITER_H

#include <stdint.h>
#include "examrisk.h"

typedef struct er_outfile {
	char *path;    /* final path (NULL for stdout) */
	char *tmp;     /* temporary path (NULL for stdout: already unlinked) */
	int fd;
	uint64_t off;  /* bytes written so far */
	uint64_t mark; /* offset where the current input file's rows begin */
	int err;       /* sticky errno */
	int opened;    /* fd is ours to close */
	uint64_t flushed; /* bytes handed to the kernel's writeback so far */
} er_outfile;

/* path NULL or "-" means stdout. */
er_status er_out_open(er_outfile *o, const char *path, char *err, size_t errlen);
int er_out_write(er_outfile *o, const void *p, size_t n); /* 0 or -1 (errno in o->err) */
int er_out_emit(void *ctx, const char *p, size_t n);       /* er_emit_fn adapter */
void er_out_mark(er_outfile *o);
int er_out_rollback(er_outfile *o);
/* Flush to disk (fsync) without renaming; first half of a multi-file commit. */
er_status er_out_sync(er_outfile *o, char *err, size_t errlen);
/* Rename over the target (or copy the spool to stdout) and close. */
er_status er_out_commit(er_outfile *o, char *err, size_t errlen);
/* Remove the temporary file and close; safe after commit or on an unopened (zeroed) outfile. */
void er_out_abort(er_outfile *o);
/* The name to use in messages. */
const char *er_out_name(const er_outfile *o);

#endif
