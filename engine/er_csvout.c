/* er_csvout.c - output CSV dialects (see er_csvout.h). */
#include "er_csvout.h"

#include <errno.h>

int er_csv_dialect_plain(const er_csv_dialect *d)
{
	return (d->delim == ',' || d->delim == 0) && !d->excel;
}

/* States of the reader of the internal form. */
enum { F_START, F_PLAIN, F_QUOTED, F_QUOTE_SEEN };

void er_csv_recode_init(er_csv_recoder *r, const er_csv_dialect *d)
{
	r->d = *d;
	if (!r->d.delim)
		r->d.delim = ',';
	r->state = F_START;
	r->field.len = 0;
}

void er_csv_recode_free(er_csv_recoder *r)
{
	er_buf_free(&r->field);
}

/* The field is complete: write it, then what ended it (delimiter or EOL). */
static int end_field(er_csv_recoder *r, er_buf *out, int eol)
{
	if (er_buf_csv_field(out, r->field.p, r->field.len, r->d.delim) < 0)
		return -1;
	r->field.len = 0;
	r->state = F_START;
	if (!eol)
		return er_buf_putc(out, r->d.delim);
	return r->d.excel ? er_buf_append(out, "\r\n", 2) : er_buf_putc(out, '\n');
}

int er_csv_recode(er_csv_recoder *r, er_buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (r->state == F_START) {
			r->state = c == '"' ? F_QUOTED : F_PLAIN;
			if (c == '"')
				continue;
		}
		switch (r->state) {
		case F_PLAIN:
			if (c == ',' || c == '\n') {
				if (end_field(r, out, c == '\n') < 0)
					return -1;
				continue;
			}
			break;
		case F_QUOTED:
			if (c == '"') {
				r->state = F_QUOTE_SEEN;
				continue;
			}
			break;
		case F_QUOTE_SEEN:
			if (c == '"') { /* a doubled quote: one literal quote */
				r->state = F_QUOTED;
				break;
			}
			if (c == ',' || c == '\n') {
				if (end_field(r, out, c == '\n') < 0)
					return -1;
				continue;
			}
			/* Not produced by the engine; keep the byte rather than lose it. */
			r->state = F_PLAIN;
			break;
		}
		if (er_buf_putc(&r->field, c) < 0)
			return -1;
	}
	return 0;
}

void er_csv_sink_init(er_csv_sink *s, const er_csv_dialect *d,
                      int (*emit)(void *ctx, const char *p, size_t n), void *ctx)
{
	*s = (er_csv_sink){ .plain = er_csv_dialect_plain(d), .emit = emit, .ctx = ctx };
	er_csv_recode_init(&s->rc, d);
}

int er_csv_sink_emit(void *sink, const char *p, size_t n)
{
	er_csv_sink *s = sink;
	if (s->plain)
		return s->emit(s->ctx, p, n);
	s->tmp.len = 0;
	if (er_csv_recode(&s->rc, &s->tmp, p, n) < 0)
		return -1;
	return s->tmp.len ? s->emit(s->ctx, s->tmp.p, s->tmp.len) : 0;
}

void er_csv_sink_free(er_csv_sink *s)
{
	er_csv_recode_free(&s->rc);
	er_buf_free(&s->tmp);
}
