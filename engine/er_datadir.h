/* er_datadir.h - where the default tables and rules are found, so that a
 * built, an installed and a staged (DESTDIR) binary each find their own. */
#ifndef ER_DATADIR_H
#define ER_DATADIR_H

#include <stddef.h>

/*
 * Find data file "name" (participants.csv, mra.csv, rules.ini). Looks in
 *   $EXAMRISK_DATA/            when set and not empty, and only there;
 *   else EXE/../share/examrisk/ (an installed tree, wherever it was copied),
 *        EXE/../data/, EXE/../../data/ (build trees: build/, build/asan/),
 *        ER_DATADIR/            ($PREFIX/share/examrisk, compiled in),
 * where EXE is the directory of the running binary. Returns buf holding the
 * first readable path, or NULL with every path tried, ", "-separated, in
 * looked.
 */
const char *er_data_find(const char *name, char *buf, size_t cap, char *looked, size_t lcap);

/* The compiled-in data directory, ER_DATADIR ($PREFIX/share/examrisk). */
const char *er_data_builtin(void);

#endif
