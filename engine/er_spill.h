/* er_spill.h - an append-only temporary file for data that does not fit in
 * memory (the roll-ups' sorted runs and buckets, the AMS join's external
 * sort). Created on first need in the chosen directory ($TMPDIR, else /tmp)
 * and unlinked at once, so it disappears with the process whatever happens.
 * Regions are appended at the end with pwrite and read back with pread;
 * several readers may pread concurrently (no shared file position). */
#ifndef ER_SPILL_H
#define ER_SPILL_H

#include <stddef.h>
#include <stdint.h>

typedef struct er_spill {
	int fd;                      /* -1 until needed */
	uint64_t end;                /* bytes written to it */
	const char *dir;             /* NULL: $TMPDIR, else /tmp */
} er_spill;

/* Create the file if not yet open. 0, or -1 with errno. */
int er_spill_open(er_spill *s);
void er_spill_close(er_spill *s);
/* Write or read exactly n bytes at off. 0, or -1 with errno (EIO when short). */
int er_spill_pwrite(const er_spill *s, const char *p, size_t n, uint64_t off);
int er_spill_pread(const er_spill *s, char *p, size_t n, uint64_t off);
/* Append p[0..n) at the end (opening the file if needed); *off (may be
 * NULL) receives its offset. */
int er_spill_append(er_spill *s, const char *p, size_t n, uint64_t *off);

#endif
