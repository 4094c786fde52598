/* er_verify.c - partner look-up and the good-standing rule (see er_verify.h). */
#include "er_verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "er_util.h"

/* ============================================================== standing */

static int good_status(const er_cert *c)
{
	return c->status == ER_ST_CERTIFIED || c->status == ER_ST_VALIDATED;
}

int er_verify_standing(const er_tables *t, const er_party *p, int32_t day,
                       const er_cert **cert, int *mra)
{
	const er_cert *pick = NULL;
	int good = 0, rec = -1;
	if (!p)
		goto out;
	pick = er_party_cert_on(p, day, 1);
	if (pick && good_status(pick)) {
		good = 1;
		goto out;
	}
	/* a recognized foreign period in good standing; validated before certified */
	const er_cert *foreign = NULL, *c;
	uint32_t pos = 0;
	while ((c = er_party_next_in_force(p, day, 0, &pos))) {
		if (!good_status(c))
			continue;
		if (foreign && !(c->status == ER_ST_VALIDATED && foreign->status != ER_ST_VALIDATED))
			continue;
		if (er_tables_mra_recognized(t, c->program, c->country, day))
			foreign = c;
	}
	if (foreign) {
		pick = foreign;
		good = 1;
		rec = 1;
		goto out;
	}
	pick = er_party_cert_on(p, day, -1);
	if (pick && !pick->is_ctpat)
		rec = er_tables_mra_recognized(t, pick->program, pick->country, day) ? 1 : 0;
out:
	if (cert)
		*cert = pick;
	if (mra)
		*mra = rec;
	return good;
}

const er_mra *er_verify_mra_row(const er_tables *t, const char *program, const char country[2])
{
	size_t n = er_tables_nmra(t);
	for (size_t i = 0; i < n; i++) {
		const er_mra *m = er_tables_mra(t, i);
		if (m->country[0] == country[0] && m->country[1] == country[1] &&
		    strcmp(m->program, program) == 0)
			return m;
	}
	return NULL;
}

/* ============================================================== matching */

typedef struct hit {
	const er_party *p;
	int rank; /* 0 equal, 1 prefix, 2 substring */
} hit;

static int hit_cmp(const void *a, const void *b)
{
	const hit *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->p->id, y->p->id);
}

/* Name matches of query q, best first, at most ER_VERIFY_MAX_MATCHES, into
 * out[]. Returns the count or -1 (ENOMEM). */
static int find_names(const er_tables *t, unsigned roles, const char *q, size_t qn, hit *out)
{
	size_t cap = ER_NAME_NORM_CAP(qn);
	char *norm = malloc(cap);
	if (!norm)
		return -1;
	size_t nl = er_name_normalize(q, qn, norm, cap);
	hit *all = NULL;
	size_t n = 0, acap = 0;
	int rc = 0;
	if (nl == 0)
		goto out;
	size_t np = er_tables_nparties(t);
	for (size_t i = 0; i < np; i++) {
		const er_party *p = er_tables_party(t, i);
		if (!(p->roles & roles))
			continue;
		const char *nm = p->norm_name ? p->norm_name : "";
		int rank;
		if (strcmp(nm, norm) == 0)
			rank = 0;
		else if (strncmp(nm, norm, nl) == 0)
			rank = 1;
		else if (strstr(nm, norm))
			rank = 2;
		else
			continue;
		if (n == acap) {
			size_t c2 = acap ? acap * 2 : 32;
			hit *na = realloc(all, c2 * sizeof *na);
			if (!na) {
				rc = -1;
				goto out;
			}
			all = na;
			acap = c2;
		}
		all[n].p = p;
		all[n].rank = rank;
		n++;
	}
	if (n)
		qsort(all, n, sizeof *all, hit_cmp);
	if (n > ER_VERIFY_MAX_MATCHES)
		n = ER_VERIFY_MAX_MATCHES;
	if (n)
		memcpy(out, all, n * sizeof *all);
	rc = (int)n;
out:
	free(all);
	free(norm);
	return rc;
}

/* =============================================================== output */

static const char *tier_text(int tier, char buf[4])
{
	if (tier <= 0)
		return "";
	buf[0] = (char)('0' + tier % 10);
	buf[1] = '\0';
	return buf;
}

static int put_csv(er_buf *b, const char *s)
{
	return er_buf_csv_field(b, s, strlen(s), ',');
}

static int csv_row(er_buf *b, const er_tables *t, const char *q, size_t qn, const er_party *p,
                   int32_t day)
{
	const er_cert *c;
	int mra;
	char d[11], tb[4];
	er_verify_standing(t, p, day, &c, &mra);
	if (er_buf_csv_field(b, q, qn, ',') < 0 || er_buf_putc(b, ',') < 0 || put_csv(b, p->id) < 0 ||
	    er_buf_putc(b, ',') < 0 || put_csv(b, p->name) < 0 ||
	    er_buf_printf(b, ",%s,", p->country) < 0 || put_csv(b, p->role) < 0 ||
	    er_buf_putc(b, ',') < 0)
		return -1;
	if (c) {
		er_format_date(c->valid_from, d);
		if (put_csv(b, c->program) < 0 ||
		    er_buf_printf(b, ",%s,%s,%s,%s,", er_cert_status_name(c->status),
		                  tier_text(c->tier, tb), d, mra < 0 ? "" : mra ? "1" : "0") < 0)
			return -1;
	} else if (er_buf_puts(b, "none,none,,,,") < 0) {
		return -1;
	}
	/* history: built apart, then quoted as one field if it needs it */
	er_buf h = { 0 };
	int rc = -1;
	for (uint32_t i = 0; i < p->ncerts; i++) {
		const er_cert *x = &p->certs[i];
		char from[11], to[11] = "";
		er_format_date(x->valid_from, from);
		if (x->valid_to != ER_DAY_MAX)
			er_format_date(x->valid_to, to);
		if ((i && er_buf_putc(&h, ';') < 0) ||
		    er_buf_printf(&h, "%s:%s:%s:%s:%s", x->program, er_cert_status_name(x->status),
		                  tier_text(x->tier, tb), from, to) < 0)
			goto out;
	}
	if (er_buf_csv_field(b, h.p ? h.p : "", h.len, ',') < 0 || er_buf_putc(b, '\n') < 0)
		goto out;
	rc = 0;
out:
	er_buf_free(&h);
	return rc;
}

static int human_row(er_buf *b, const er_tables *t, const er_party *p, int32_t day)
{
	const er_cert *c;
	int mra;
	char d[11], on[11], tb[4];
	er_verify_standing(t, p, day, &c, &mra);
	er_format_date(day, on);
	if (er_buf_printf(b, "\n%s  %s (%s, %s)\n  on %s: ", p->id, p->name, p->country,
	                  p->role, on) < 0)
		return -1;
	if (!c) {
		if (er_buf_puts(b, "not certified (no period in force)") < 0)
			return -1;
	} else {
		er_format_date(c->valid_from, d);
		if (er_buf_printf(b, "%s %s", c->program, er_cert_status_name(c->status)) < 0 ||
		    (c->tier && er_buf_printf(b, " tier %d", c->tier) < 0) ||
		    er_buf_printf(b, " since %s", d) < 0)
			return -1;
		if (!c->is_ctpat) {
			const er_mra *m = er_verify_mra_row(t, c->program, c->country);
			int r;
			if (!m)
				r = er_buf_printf(b, "; no MRA for %s in %s", c->program, c->country);
			else if (mra == 1)
				r = er_buf_printf(b, "; MRA recognized (%s)", m->partner);
			else
				r = er_buf_printf(b, "; MRA not recognized on %s (%s)", on, m->partner);
			if (r < 0)
				return -1;
		}
	}
	if (er_buf_puts(b, "\n  history:\n") < 0)
		return -1;
	for (uint32_t i = 0; i < p->ncerts; i++) {
		const er_cert *x = &p->certs[i];
		char from[11], to[11] = "open";
		er_format_date(x->valid_from, from);
		if (x->valid_to != ER_DAY_MAX)
			er_format_date(x->valid_to, to);
		if (er_buf_printf(b, "    %s %s tier %s %s to %s\n", x->program,
		                  er_cert_status_name(x->status), x->tier ? tier_text(x->tier, tb) : "-",
		                  from, to) < 0)
			return -1;
	}
	return 0;
}

int er_verify_run(const er_tables *t, const char *const *queries, int nq, int32_t on_day,
                  int csv, unsigned roles, er_emit_fn emit, void *ctx)
{
	er_buf b = { 0 };
	hit hits[ER_VERIFY_MAX_MATCHES];
	int total = 0, rc = -1;
	if (!t || !emit || nq < 0 || (nq && !queries)) {
		errno = EINVAL;
		return -1;
	}
	if (csv && er_buf_puts(&b, "query,party_id,name,country,role,program,status_on_date,"
	                       "tier,since,mra_recognized,history\n") < 0)
		goto out;
	for (int i = 0; i < nq; i++) {
		const char *q = queries[i] ? queries[i] : "";
		size_t qn = strlen(q);
		er_trim(&q, &qn);
		int n, by_id = 0;
		const er_party *p = er_tables_find_id(t, q, qn);
		if (!roles)
			roles = ER_TR_ALL;
		if (p && (p->roles & roles)) {
			hits[0].p = p;
			hits[0].rank = 0;
			n = 1;
			by_id = 1;
		} else if ((n = find_names(t, roles, q, qn, hits)) < 0) {
			goto out;
		}
		total += n;
		if (!csv && er_buf_printf(&b, "%squery \"%.*s\": ", i ? "\n" : "", (int)qn, q) < 0)
			goto out;
		if (!csv && (n ? er_buf_printf(&b, "%d match%s by %s\n", n, n == 1 ? "" : "es",
		                               by_id ? "id" : "name")
		               : er_buf_puts(&b, "no match\n")) < 0)
			goto out;
		for (int k = 0; k < n; k++) {
			int r = csv ? csv_row(&b, t, q, qn, hits[k].p, on_day)
			            : human_row(&b, t, hits[k].p, on_day);
			if (r < 0)
				goto out;
		}
		if (b.len && emit(ctx, b.p, b.len) < 0)
			goto out;
		b.len = 0;
	}
	if (b.len && emit(ctx, b.p, b.len) < 0)
		goto out;
	rc = total;
out:
	er_buf_free(&b);
	return rc;
}
