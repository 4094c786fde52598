/* er_work.c - the worker stage (see er_work.h). */
#include "er_work.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_pipeline.h"
#include "er_rollup.h"

struct er_worker {
	const er_work_cfg *cfg;
	er_parser *parser;
	er_csv_recoder rc; /* to the output dialect, when it is not the internal one */
	er_buf recoded;
	er_buf sortix; /* er_rollup_sort_chunk's index */
};

er_worker *er_worker_new(const er_work_cfg *cfg)
{
	er_worker *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->cfg = cfg;
	er_csv_recode_init(&w->rc, &cfg->out);
	w->parser = er_parser_new(cfg->delim, cfg->max_field);
	if (!w->parser) {
		free(w);
		return NULL;
	}
	return w;
}

void er_worker_free(er_worker *w)
{
	if (!w)
		return;
	er_parser_free(w->parser);
	er_csv_recode_free(&w->rc);
	er_buf_free(&w->recoded);
	er_buf_free(&w->sortix);
	free(w);
}

void er_counts_add(er_counts *to, const er_counts *from)
{
	to->rows += from->rows;
	to->scored += from->scored;
	to->rejected += from->rejected;
	for (int i = 0; i < ER_NREJECTS; i++)
		to->rej[i] += from->rej[i];
	for (int i = 0; i < ER_NLANES; i++)
		to->lanes[i] += from->lanes[i];
	for (int i = 0; i < ER_NREASONS; i++)
		to->reasons[i] += from->reasons[i];
}

/* ------------------------------------------------------------- formatting */

/* Lengths of the names every row writes (reasons, match kinds, lanes),
 * measured once instead of a strlen per name per row. */
static uint8_t reason_len[ER_NREASONS], match_len[ER_NMATCH], lane_len[ER_NLANES];
static pthread_once_t len_once = PTHREAD_ONCE_INIT;

static void len_init(void)
{
	for (int r = 0; r < ER_NREASONS; r++)
		reason_len[r] = (uint8_t)strlen(er_reason_name(r));
	for (int m = 0; m < ER_NMATCH; m++)
		match_len[m] = (uint8_t)strlen(er_match_name(m));
	for (int l = 0; l < ER_NLANES; l++)
		lane_len[l] = (uint8_t)strlen(er_lane_name(l));
}

/* The bits of er_result.fired that are reason codes. */
_Static_assert(ER_NREASONS <= 32, "reasons fit er_result.fired");
#define ER_REASON_BITS ((uint32_t)(((uint64_t)1 << ER_NREASONS) - 1))

static char *put_uint(char *o, unsigned v)
{
	/* scores and points are almost always below 100 */
	if (v < 10) {
		*o = (char)('0' + v);
		return o + 1;
	}
	if (v < 100) {
		o[0] = (char)('0' + v / 10);
		o[1] = (char)('0' + v % 10);
		return o + 2;
	}
	char tmp[12];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*o++ = tmp[--n];
	return o;
}

/* match column: role letter = how that party matched (er_match_name): id,
 * name, none (not found), conflict (unknown id, listed name) or '-' (no id or
 * name given). E.g. "I=id;S=name;M=-;C=none;F=-". */
static const char role_char[ER_NROLES] = {'I', 'S', 'M', 'C', 'F'};

int er_format_score_header(er_buf *out, const char *const *keep_names, int nkeep, char delim,
                           int sdn_col)
{
	static const char *cols[] = {"shipment_id", "score", "lane", "reasons", "importer_status",
	                             "shipper_status", "match", "fast_eligible", "front_of_line"};
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
		if (i && er_buf_putc(out, delim) < 0)
			return -1;
		if (er_buf_puts(out, cols[i]) < 0)
			return -1;
	}
	if (sdn_col && (er_buf_putc(out, delim) < 0 || er_buf_puts(out, "sdn") < 0))
		return -1;
	for (int k = 0; k < nkeep; k++) {
		if (er_buf_putc(out, delim) < 0 ||
		    er_buf_csv_field(out, keep_names[k], strlen(keep_names[k]), delim) < 0)
			return -1;
	}
	return er_buf_putc(out, '\n');
}

/* Names padded to NAME_PAD bytes: each is copied with one fixed-size memcpy
 * (a few vector moves, no call) into room reserved with NAME_PAD to spare,
 * and the cursor moves by its length. Should a name ever be longer
 * (pad_ok 0), rows are formatted by er_format_score_row_ref. */
enum { NAME_PAD = 32 };
static char reason_pad[ER_NREASONS][NAME_PAD], match_pad[ER_NMATCH + 1][NAME_PAD],
	lane_pad[ER_NLANES + 1][NAME_PAD];
static uint8_t match_plen[ER_NMATCH + 1], lane_plen[ER_NLANES + 1];
static int pad_ok;

static int pad_set(char *pad, uint8_t *len, const char *name)
{
	size_t n = strlen(name);
	if (n >= NAME_PAD)
		return 0;
	memcpy(pad, name, n);
	if (len)
		*len = (uint8_t)n;
	return 1;
}

static void pad_init(void)
{
	len_init();
	int ok = 1;
	for (int r = 0; r < ER_NREASONS; r++)
		ok &= pad_set(reason_pad[r], NULL, er_reason_name(r));
	/* the last entry: what er_match_name / er_lane_name say out of range */
	for (int m = 0; m <= ER_NMATCH; m++)
		ok &= pad_set(match_pad[m], &match_plen[m], er_match_name(m));
	for (int l = 0; l <= ER_NLANES; l++)
		ok &= pad_set(lane_pad[l], &lane_plen[l], er_lane_name(l));
	pad_ok = ok;
}
static pthread_once_t pad_once = PTHREAD_ONCE_INIT;

static inline char *put_name(char *o, const char *pad, size_t n)
{
	memcpy(o, pad, NAME_PAD);
	return o + n;
}

/* er_buf_csv_field's bytes into room for 2 n + 2 bytes (er_csvout.h). */
static inline char *put_field(char *o, const char *p, size_t n, char delim)
{
	return er_csv_put_field(o, p, n, delim);
}

/* A status (a NUL-terminated char[cap], cap <= 2 NAME_PAD) copied whole
 * with fixed-size moves, the cursor moved by its length. */
static inline char *put_status(char *o, const char *s, size_t cap, char delim)
{
	size_t n = strnlen(s, cap);
	if (er_csv_needs_quotes(s, n, delim))
		return er_csv_put_quoted(o, s, n);
	memcpy(o, s, 2 * NAME_PAD > cap ? cap : 2 * NAME_PAD);
	return o + n;
}

/* Room for everything of a row but its input fields: ER_NREASONS x
 * (name, ':', sign, 5 digits, '|'), two statuses quoted, the match
 * column, the flags and the sdn column, each with NAME_PAD to spare. */
enum { ROW_FIXED = 16 + ER_NREASONS * (NAME_PAD + 16) + 2 * (2 * 40 + 4) +
                   ER_NROLES * (NAME_PAD + 4) + 8 + ER_SDN_NROLES * 24 + 64 };

/* The sdn column (scoring with a list), its delimiter first:
 * "S=1234:0.953;C=77:0.861" for each screened name at or above the review
 * threshold, empty when none. Both formatters write it with this one
 * function; the sdn golden (tests/golden/sdn) holds its bytes. */
static char *put_sdn_column(char *o, const er_result *res, char delim)
{
	static const char sdn_role[ER_SDN_NROLES] = { 'I', 'S', 'C', 'N' };
	*o++ = delim;
	int any = 0;
	for (int k = 0; k < ER_SDN_NROLES; k++) {
		if (!res->sdn_ent[k])
			continue;
		if (any++)
			*o++ = ';';
		*o++ = sdn_role[k];
		*o++ = '=';
		o = put_uint(o, (unsigned)res->sdn_ent[k]);
		*o++ = ':';
		unsigned v = res->sdn_sim[k];
		*o++ = (char)('0' + v / 1000);
		*o++ = '.';
		*o++ = (char)('0' + v / 100 % 10);
		*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
	}
	return o;
}

/* The score row formatter: one reservation for the fixed part, every field
 * written straight into the buffer (er_format_score_row_ref is the plain
 * version it is tested against, byte for byte). */
int er_format_score_row(er_buf *out, const er_row *row, const er_result *res,
                        const er_header *hdr, const er_field *fields, char delim)
{
	const er_field *sid = &row->f[ER_COL_SHIPMENT_ID];
	pthread_once(&pad_once, pad_init);
	if (!pad_ok)
		return er_format_score_row_ref(out, row, res, hdr, fields, delim);
	if (sid->n > SIZE_MAX / 4 || er_buf_reserve(out, 2 * sid->n + 2 + ROW_FIXED) < 0)
		return -1;
	char *o = put_field(out->p + out->len, sid->p, sid->n, delim);
	*o++ = delim;
	o = put_uint(o, (unsigned)res->score);
	*o++ = delim;
	int lane = res->lane >= 0 && res->lane < ER_NLANES ? res->lane : ER_NLANES;
	o = put_name(o, lane_pad[lane], lane_plen[lane]);
	*o++ = delim;
	/* the fired reasons in code order: lowest set bit first */
	const uint32_t fired = res->fired & ER_REASON_BITS;
	for (uint32_t m = fired; m; m &= m - 1) {
		int r = __builtin_ctz(m);
		if (m != fired)
			*o++ = '|';
		o = put_name(o, reason_pad[r], reason_len[r]);
		*o++ = ':';
		int pts = res->points[r];
		*o++ = pts < 0 ? '-' : '+';
		o = put_uint(o, (unsigned)(pts < 0 ? -pts : pts));
	}
	*o++ = delim;
	/* Status strings come from the scorer and hold no delimiter or quote,
	 * but are escaped anyway in case a program code does. */
	o = put_status(o, res->importer_status, sizeof res->importer_status, delim);
	*o++ = delim;
	o = put_status(o, res->shipper_status, sizeof res->shipper_status, delim);
	*o++ = delim;
	for (int r = 0; r < ER_NROLES; r++) {
		if (r)
			*o++ = ';';
		*o++ = role_char[r];
		*o++ = '=';
		int mt = res->match[r] < ER_NMATCH ? res->match[r] : ER_NMATCH;
		o = put_name(o, match_pad[mt], match_plen[mt]);
	}
	*o++ = delim;
	*o++ = res->fast_eligible ? '1' : '0';
	*o++ = delim;
	*o++ = res->front_of_line ? '1' : '0';
	if (res->sdn_screened)
		o = put_sdn_column(o, res, delim);
	out->len = (size_t)(o - out->p);
	for (int k = 0; k < hdr->nkeep; k++) {
		int idx = hdr->keep_idx[k];
		size_t n = idx >= 0 ? fields[idx].n : 0;
		if (n > SIZE_MAX / 4 || er_buf_reserve(out, 2 * n + 4) < 0)
			return -1;
		o = out->p + out->len;
		*o++ = delim;
		if (idx >= 0)
			o = put_field(o, fields[idx].p, n, delim);
		out->len = (size_t)(o - out->p);
	}
	out->p[out->len++] = '\n'; /* room reserved above */
	return 0;
}

/* ------------------------------------------------- reference formatter */

/* The plain formatter, field by field through er_buf: the oracle of the
 * differential test of er_format_score_row (tests/test_work.c). */
int er_format_score_row_ref(er_buf *out, const er_row *row, const er_result *res,
                        const er_header *hdr, const er_field *fields, char delim)
{
	const er_field *sid = &row->f[ER_COL_SHIPMENT_ID];
	if (er_buf_csv_field(out, sid->p, sid->n, delim) < 0)
		return -1;
	/* Fixed part: at most ~20 reasons x 26 bytes + statuses + flags. */
	if (er_buf_reserve(out, 1024) < 0)
		return -1;
	char *o = out->p + out->len;
	*o++ = delim;
	o = put_uint(o, (unsigned)res->score);
	*o++ = delim;
	pthread_once(&len_once, len_init);
	const char *lane = er_lane_name(res->lane);
	size_t ln = res->lane >= 0 && res->lane < ER_NLANES ? lane_len[res->lane] : strlen(lane);
	memcpy(o, lane, ln);
	o += ln;
	*o++ = delim;
	/* the fired reasons in code order: lowest set bit first */
	const uint32_t fired = res->fired & ER_REASON_BITS;
	for (uint32_t m = fired; m; m &= m - 1) {
		int r = __builtin_ctz(m);
		if (m != fired)
			*o++ = '|';
		const char *name = er_reason_name(r);
		size_t nn = reason_len[r];
		memcpy(o, name, nn);
		o += nn;
		*o++ = ':';
		int pts = res->points[r];
		*o++ = pts < 0 ? '-' : '+';
		o = put_uint(o, (unsigned)(pts < 0 ? -pts : pts));
	}
	out->len = (size_t)(o - out->p);
	/* Status strings come from the scorer and hold no delimiter or quote,
	 * but are escaped anyway in case a program code does. */
	if (er_buf_putc(out, delim) < 0 ||
	    er_buf_csv_field(out, res->importer_status, strlen(res->importer_status), delim) < 0 ||
	    er_buf_putc(out, delim) < 0 ||
	    er_buf_csv_field(out, res->shipper_status, strlen(res->shipper_status), delim) < 0)
		return -1;
	if (er_buf_reserve(out, 192) < 0)
		return -1;
	o = out->p + out->len;
	*o++ = delim;
	for (int r = 0; r < ER_NROLES; r++) {
		if (r)
			*o++ = ';';
		*o++ = role_char[r];
		*o++ = '=';
		const char *mw = er_match_name(res->match[r]);
		size_t ml = res->match[r] < ER_NMATCH ? match_len[res->match[r]] : strlen(mw);
		memcpy(o, mw, ml);
		o += ml;
	}
	*o++ = delim;
	*o++ = res->fast_eligible ? '1' : '0';
	*o++ = delim;
	*o++ = res->front_of_line ? '1' : '0';
	if (res->sdn_screened)
		o = put_sdn_column(o, res, delim);
	out->len = (size_t)(o - out->p);
	for (int k = 0; k < hdr->nkeep; k++) {
		int idx = hdr->keep_idx[k];
		if (er_buf_putc(out, delim) < 0)
			return -1;
		if (idx >= 0 && er_buf_csv_field(out, fields[idx].p, fields[idx].n, delim) < 0)
			return -1;
	}
	return er_buf_putc(out, '\n');
}

/* ---------------------------------------------------------------- rejects */

/* The raw bytes of a rejected record, made safe for a UTF-8 text file: NUL
 * and every byte of an invalid UTF-8 sequence become \xHH (two upper-case hex
 * digits), and a backslash becomes \\, so the escape is lossless; everything
 * else (valid UTF-8, tabs, line breaks inside the record) is kept. */
static int escape_raw(er_buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	b->len = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)p[i];
		size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (c >= 0x80 && (i + len > n || !er_utf8_valid(p + i, len)))
			len = 0; /* this byte alone is escaped; resynchronise after it */
		if (len && c != 0 && c != '\\') {
			if (er_buf_append(b, p + i, len) < 0)
				return -1;
			i += len;
			continue;
		}
		char e[4] = {'\\', '\\', 0, 0};
		size_t en = 2;
		if (c != '\\') {
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			en = 4;
		}
		if (er_buf_append(b, e, en) < 0)
			return -1;
		i++;
	}
	return 0;
}

static int format_reject(er_buf *rej, er_buf *scratch, const char *path, const er_rec *rec,
                         const char *raw, int reject, int col, int got, int want)
{
	const char delim = ',';
	char reason[160];
	const char *code = er_reject_name(reject);
	if (reject == ER_REJ_FIELD_COUNT)
		snprintf(reason, sizeof reason, "%s: %d fields, expected %d", code, got, want);
	else if (col >= 0)
		snprintf(reason, sizeof reason, "%s: %s", code, er_col_name(col));
	else if (rec->flags & ER_REC_TRUNCATED)
		snprintf(reason, sizeof reason, "%s: raw truncated", code);
	else
		snprintf(reason, sizeof reason, "%s", code);
	if (er_buf_csv_field(rej, path, strlen(path), delim) < 0 ||
	    er_buf_printf(rej, "%c%llu%c", delim, (unsigned long long)rec->line, delim) < 0 ||
	    er_buf_csv_field(rej, reason, strlen(reason), delim) < 0 ||
	    er_buf_putc(rej, delim) < 0 || escape_raw(scratch, raw, rec->len) < 0 ||
	    er_buf_csv_field(rej, scratch->p, scratch->len, delim) < 0 ||
	    er_buf_putc(rej, '\n') < 0)
		return -1;
	return 0;
}

static void note_reject(er_chunk *c, const er_rec *rec, int reject, int col, int got)
{
	c->counts.rejected++;
	c->counts.rej[reject]++;
	if ((c->counts.rejected <= ER_CHUNK_REJ_SHOWN || c->counts.rej[reject] <= ER_CHUNK_REJ_PER_REASON) &&
	    c->nnotes < ER_CHUNK_REJ_NOTES) {
		er_rej_note *n = &c->notes[c->nnotes++];
		n->line = rec->line;
		n->reject = reject;
		n->col = col;
		n->got_fields = got;
	}
}

/* ------------------------------------------------------------------ chunk */

/* Rewrite b (whole records in the internal form) in the output dialect. */
static int recode(er_worker *w, er_buf *b)
{
	if (!b->len)
		return 0;
	w->recoded.len = 0;
	er_csv_recode_init(&w->rc, &w->cfg->out);
	if (er_csv_recode(&w->rc, &w->recoded, b->p, b->len) < 0)
		return -1;
	er_buf tmp = *b;
	*b = w->recoded;
	w->recoded = tmp;
	return 0;
}

void er_work_chunk(er_worker *w, er_chunk *c)
{
	const er_work_cfg *cfg = w->cfg;
	const er_header *hdr = c->hdr;
	const char *path = cfg->paths[c->file_idx];
	/* plain CSV even for a .gz output: the writer cuts its members at
	 * fixed offsets of the output, so they do not follow the chunks */
	c->out.len = 0;
	c->rej.len = 0;
	c->roll.len = 0;
	c->run.len = 0;
	memset(&c->counts, 0, sizeof c->counts);
	c->nnotes = 0;
	c->err = 0;

	/* the row's columns: absent ones are empty for the whole chunk, present
	 * ones are copied from each record's fields */
	er_row row;
	int col_k[ER_NCOLS], col_idx[ER_NCOLS], ncol = 0;
	for (int k = 0; k < ER_NCOLS; k++) {
		if (hdr->col_of[k] >= 0) {
			col_k[ncol] = k;
			col_idx[ncol++] = hdr->col_of[k];
		} else {
			row.f[k].p = "", row.f[k].n = 0;
		}
	}
	for (uint32_t i = c->skip_first ? 1 : 0; i < c->in.n; i++) {
		/* A chunk of slow rows must not hold up a cancel for long. */
		if ((i & 255) == 255 && cfg->cancel && __atomic_load_n(cfg->cancel, __ATOMIC_RELAXED)) {
			c->err = ECANCELED;
			return;
		}
		const er_rec *rec = &c->in.recs[i];
		const char *raw = c->in.buf + rec->off;
		c->counts.rows++;
		if (rec->reject != ER_REJ_NONE) {
			note_reject(c, rec, rec->reject, -1, 0);
			if (format_reject(&c->rej, &w->recoded, path, rec, raw, rec->reject, -1, 0, 0) < 0)
				goto nomem;
			continue;
		}
		const er_field *fields;
		int reject = ER_REJ_NONE;
		int nf = er_parser_record(w->parser, raw, rec->len, rec->flags & ER_REC_QUOTED,
		                          &fields, &reject);
		if (nf < 0 && reject == ER_REJ_NONE)
			goto nomem; /* the parser ran out of memory: a failure, not a bad row */
		if (nf < 0 || nf != hdr->nfields) {
			int why = nf < 0 ? reject : ER_REJ_FIELD_COUNT;
			note_reject(c, rec, why, -1, nf);
			if (format_reject(&c->rej, &w->recoded, path, rec, raw, why, -1, nf, hdr->nfields) < 0)
				goto nomem;
			continue;
		}
		for (int j = 0; j < ncol; j++)
			row.f[col_k[j]] = fields[col_idx[j]];
		er_result res;
		if (er_score_row_sdn(cfg->tables, cfg->rules, cfg->sdn, &row, &res) != ER_OK) {
			note_reject(c, rec, res.reject, res.reject_col, nf);
			if (format_reject(&c->rej, &w->recoded, path, rec, raw, res.reject,
			                  res.reject_col, nf, hdr->nfields) < 0)
				goto nomem;
			continue;
		}
		c->counts.scored++;
		c->counts.lanes[res.lane]++;
		for (uint32_t m = res.fired & ER_REASON_BITS; m; m &= m - 1)
			c->counts.reasons[__builtin_ctz(m)]++;
		if (cfg->sink) {
			if (cfg->sink->encode(cfg->sink->ctx, &c->roll, &row, &res) < 0)
				goto nomem;
			continue;
		}
		if (cfg->partners) {
			if (er_partners_encode(&c->roll, &row, &res, rec->line) < 0)
				goto nomem;
			continue;
		}
		if (er_format_score_row(&c->out, &row, &res, hdr, fields, ',') < 0)
			goto nomem;
		if (cfg->rollup && er_rollup_encode(&c->roll, &row, &res, rec->line) < 0)
			goto nomem;
	}
	/* the roll-up's sorting happens here, in parallel: the writer links the run */
	if (cfg->rollup_sort && c->roll.len &&
	    er_rollup_sort_chunk(&c->run, &c->roll, c->serial, &w->sortix) < 0)
		goto nomem;
	if (!er_csv_dialect_plain(&cfg->out) &&
	    (recode(w, &c->out) < 0 || recode(w, &c->rej) < 0))
		goto nomem;
	return;
nomem:
	c->err = errno ? errno : ENOMEM;
}
