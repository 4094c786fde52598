/* er_csvout.h - the output CSV dialect. Every CSV output is produced as
 * RFC 4180 with ',' and LF (the engine's one internal form); when the user
 * asks for another delimiter (--out-delimiter) or Excel line ends (--excel),
 * a recoder re-reads that CSV field by field and writes it again with the
 * chosen delimiter, CRLF record ends and the quoting the new delimiter
 * needs. The default dialect costs nothing: no recoding at all. */
#ifndef ER_CSVOUT_H
#define ER_CSVOUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "er_util.h"

typedef struct er_csv_dialect {
	char delim; /* ',' unless asked otherwise */
	int excel;  /* UTF-8 BOM at the start, CRLF record ends */
} er_csv_dialect;

/* The byte-order mark --excel writes first in every CSV output. */
#define ER_CSV_BOM "\xEF\xBB\xBF"

/* ---------------------------------------------- formatting into room */

/* er_buf_csv_field's bytes at o (room for 2 n + 2); returns the end. */
static inline char *er_csv_put_field(char *o, const char *p, size_t n, char delim)
{
	if (er_csv_needs_quotes(p, n, delim))
		return er_csv_put_quoted(o, p, n);
	er_copy_short(o, p, n);
	return o + n;
}

/* 1 when d is the internal form (',' and LF): nothing to recode. */
int er_csv_dialect_plain(const er_csv_dialect *d);

/* Streaming recoder from the internal form to a dialect. Input may be cut
 * anywhere (the state carries over); whole records in give whole records
 * out. Zero-initialise, then er_csv_recode_init. */
typedef struct er_csv_recoder {
	er_csv_dialect d;
	int state;
	er_buf field; /* the current field, unquoted */
} er_csv_recoder;

void er_csv_recode_init(er_csv_recoder *r, const er_csv_dialect *d);
/* Append the recoded form of p[0..n) to out. 0, or -1 (ENOMEM). */
int er_csv_recode(er_csv_recoder *r, er_buf *out, const char *p, size_t n);
void er_csv_recode_free(er_csv_recoder *r);

/* An er_emit_fn-shaped sink that recodes before handing bytes on (or
 * passes them through for the plain dialect). */
typedef struct er_csv_sink {
	er_csv_recoder rc;
	int plain;
	er_buf tmp;
	int (*emit)(void *ctx, const char *p, size_t n);
	void *ctx;
} er_csv_sink;

void er_csv_sink_init(er_csv_sink *s, const er_csv_dialect *d,
                      int (*emit)(void *ctx, const char *p, size_t n), void *ctx);
int er_csv_sink_emit(void *sink, const char *p, size_t n); /* ctx = er_csv_sink* */
void er_csv_sink_free(er_csv_sink *s);

#endif
