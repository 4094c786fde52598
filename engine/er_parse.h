/* er_parse.h - stage 3: turn one record's bytes into fields (a fast path for
 * records without quotes, libcsv in strict mode for the rest, both giving the
 * same fields), and map an input header onto the canonical columns. */
#ifndef ER_PARSE_H
#define ER_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "examrisk.h"

/* ---- one record -> fields ---- */
typedef struct er_parser er_parser;

/* One parser per thread. max_field: a field longer than this rejects the record. */
er_parser *er_parser_new(char delim, size_t max_field);
void er_parser_free(er_parser *p);

/*
 * Parse one record (bytes without the terminator). quoted != 0 when the record
 * contains the quote character (then libcsv strict mode is used; otherwise the
 * fast path). Checks NUL bytes, UTF-8 and the field size limit.
 * Returns the number of fields (>= 1) and sets *fields to an array owned by
 * the parser, valid until the next call; field bytes point into rec or into
 * parser storage. On a bad record returns -1 and sets *reject (enum er_reject).
 * Unquoted fields have surrounding spaces/tabs trimmed (as libcsv does).
 */
int er_parser_record(er_parser *p, const char *rec, size_t len, int quoted,
                     const er_field **fields, int *reject);

/* Quoted records of the common shape (quotes only around whole fields,
 * doubled quotes inside) are parsed without libcsv; libcsv takes every other
 * quoted record. on != 0: libcsv takes every quoted record (the oracle of the
 * differential test and fuzz target). */
void er_parser_force_libcsv(er_parser *p, int on);
/* Quoted records the libcsv-free path has taken so far. */
uint64_t er_parser_quoted_fast(const er_parser *p);

/* ---- header -> canonical columns ---- */
#define ER_MAX_KEEP 64

typedef struct er_header {
	int nfields;               /* columns in the input header */
	int col_of[ER_NCOLS];      /* input field index per canonical column, -1 = absent */
	int nkeep;
	int keep_idx[ER_MAX_KEEP]; /* input field index of each --keep column, -1 = absent */
} er_header;

/* Column renames from --map canonical=header / --map-file. */
typedef struct er_colmap {
	const char *canon[ER_NCOLS]; /* header name to use for each canonical column, NULL = its own name */
} er_colmap;

/* Parse "canonical=header" into m. 0 ok, -1 bad (message in err). */
int er_colmap_add(er_colmap *m, const char *spec, char *err, size_t errlen);
/* Read a map file: one "canonical=header" per line, '#' comments, blank lines.
 * Strings are allocated and live until er_colmap_free. Errors name FILE:LINE. */
/* The map file is read whole, at most ER_MAP_FILE_MAX bytes (25 columns need
 * far less): an endless source fails fast with a message naming the file. */
#define ER_MAP_FILE_MAX (1u << 20)
int er_colmap_load(er_colmap *m, const char *path, char *err, size_t errlen);
/* Same, stopping with errno ECANCELED (-1, err "PATH: interrupted") once
 * *cancel is non-zero: a stalled FIFO does not hold up a signal. */
int er_colmap_load_ex(er_colmap *m, const char *path, const volatile int *cancel, char *err,
                      size_t errlen);
void er_colmap_free(er_colmap *m); /* frees every entry: add and load both copy their strings */

/*
 * Build the column mapping from the header fields. Matching is
 * case-insensitive after trimming; extra columns are ignored. keep is a
 * comma-separated list of input column names (or NULL). A missing required
 * column (shipment_id, arrival_date), a duplicate match, or a --keep column
 * not in the header is an error: returns -1 with "missing required column
 * 'arrival_date'" (no file prefix) in err.
 */
int er_header_build(const er_field *fields, int n, const er_colmap *m,
                    const char *keep, er_header *h, char *err, size_t errlen);

#endif
