/* er_extsort.h - a small external merge sort of (key, value) byte records
 * with bounded memory, for the AMS join (tables not sorted by identifier).
 *
 * Records are buffered up to the memory budget; a full buffer is sorted
 * (keys compared as bytes, shorter first on a common prefix; equal keys keep
 * their insertion order) and written as a run to an er_spill file. Reading
 * merges the runs and the last, in-memory buffer with a heap. The sort is
 * stable: records with equal keys come back in the order they were added.
 *
 * Why not the roll-up's runs: those are fixed-layout consolidation records
 * with per-file rollback sequence numbers, key-prefix radix sorting and
 * sample points for a parallel range merge - all specific to the roll-up.
 * What is shared is the spill file itself (er_spill.h). Not thread-safe. */
#ifndef ER_EXTSORT_H
#define ER_EXTSORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct er_extsort er_extsort;

/* budget: bytes of buffered records before a run is spilled (at least
 * 4 KiB); tmpdir: NULL = $TMPDIR, else /tmp. NULL on ENOMEM. */
er_extsort *er_extsort_new(size_t budget, const char *tmpdir);
void er_extsort_free(er_extsort *s);

/* Add one record (key up to 64 KiB). 0, or -1 with errno (ENOMEM, spill I/O).
 * Errors are sticky. */
int er_extsort_add(er_extsort *s, const char *key, size_t klen, const char *val, size_t vlen);

/* Stop adding and start reading (call once). 0 or -1 with errno. */
int er_extsort_finish(er_extsort *s);

/* Next record in key order: 1 with *key and *val pointing into the sorter (valid
 * until the next call), 0 at the end, -1 on a read error (errno). */
int er_extsort_next(er_extsort *s, const char **key, size_t *klen, const char **val, size_t *vlen);

/* Counts for messages and tests. */
uint64_t er_extsort_records(const er_extsort *s);
size_t er_extsort_runs(const er_extsort *s);        /* runs spilled to disk */
uint64_t er_extsort_spilled(const er_extsort *s);   /* bytes written to disk */

#endif
