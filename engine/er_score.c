/* er_score.c - score one manifest row: validate the fields the rules read,
 * look the parties up as of the arrival date, fire the rules, sum the points
 * and pick the lane. Runs on every worker thread for every row, so it reads
 * only immutable tables and rules, writes only *res and allocates nothing
 * (except a heap buffer to normalize a party name of several hundred
 * bytes). */
#include <string.h>

#include "er_rules.h"
#include "er_sdn.h"
#include "er_table.h"
#include "er_util.h"

/* ------------------------------------------------------------------ */
/* Names                                                                */
/* ------------------------------------------------------------------ */

const char *er_status_str(er_status s)
{
	switch (s) {
	case ER_OK:
		return "ok";
	case ER_E_NOMEM:
		return "out of memory";
	case ER_E_IO:
		return "I/O error";
	case ER_E_FORMAT:
		return "malformed input";
	case ER_E_GZIP:
		return "corrupt or truncated gzip";
	case ER_E_USAGE:
		return "usage error";
	case ER_E_REJECTS:
		return "too many rejected rows";
	case ER_E_ROW:
		return "row rejected";
	case ER_E_INTERNAL:
		return "internal error";
	case ER_E_CANCELLED:
		return "interrupted";
	}
	return "unknown status";
}

static const char *const reject_names[ER_NREJECTS] = {
	"none", "field_count", "missing_required", "invalid_date", "invalid_number",
	"invalid_value", "invalid_utf8", "nul_byte", "field_too_long", "record_too_long",
	"bad_quote", "unterminated_quote"
};

const char *er_reject_name(int rej)
{
	if (rej < 0 || rej >= ER_NREJECTS)
		return "?";
	return reject_names[rej];
}

static const char *const match_names[ER_NMATCH] = {
	"-", "none", "id", "name", "conflict", "ambiguous",
};

const char *er_match_name(int match)
{
	if (match < 0 || match >= ER_NMATCH)
		return "?";
	return match_names[match];
}

/* ------------------------------------------------------------------ */
/* Field helpers                                                        */
/* ------------------------------------------------------------------ */

/* er_ieq() against an upper-case literal, its length known at compile
 * time: the length decides most answers before a byte is read. */
#define IEQ(p, n, lit) ((n) == sizeof(lit) - 1 && ieq_upper((p), lit, sizeof(lit) - 1))

static inline int ieq_upper(const char *p, const char *up, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)p[i];
		if ((unsigned)(a - 'a') < 26u)
			a = (unsigned char)(a - 32);
		if (a != (unsigned char)up[i])
			return 0;
	}
	return 1;
}

enum mode { M_UNKNOWN = ER_TM_UNKNOWN, M_VESSEL = ER_TM_VESSEL, M_TRUCK = ER_TM_TRUCK,
            M_RAIL = ER_TM_RAIL, M_AIR = ER_TM_AIR };

static int norm_mode(er_field m)
{
	if (m.n == 0)
		return M_UNKNOWN;
	/* Dispatch on the first letter so a row costs one or two compares. */
	switch (m.p[0] | 0x20) {
	case 'v':
		return IEQ(m.p, m.n, "VESSEL") ? M_VESSEL : M_UNKNOWN;
	case 'o':
		return IEQ(m.p, m.n, "OCEAN") ? M_VESSEL : M_UNKNOWN;
	case 's':
		return IEQ(m.p, m.n, "SEA") ? M_VESSEL : M_UNKNOWN;
	case 'm':
		return IEQ(m.p, m.n, "MARITIME") ? M_VESSEL : M_UNKNOWN;
	case 't':
		return IEQ(m.p, m.n, "TRUCK") ? M_TRUCK : M_UNKNOWN;
	case 'r':
		if (IEQ(m.p, m.n, "ROAD"))
			return M_TRUCK;
		return IEQ(m.p, m.n, "RAIL") ? M_RAIL : M_UNKNOWN;
	case 'h':
		return IEQ(m.p, m.n, "HIGHWAY") ? M_TRUCK : M_UNKNOWN;
	case 'a':
		return IEQ(m.p, m.n, "AIR") ? M_AIR : M_UNKNOWN;
	default:
		return M_UNKNOWN;
	}
}

static inline int reject(er_result *res, int why, int col)
{
	res->reject = why;
	res->reject_col = col;
	return -1;
}

/* Optional non-negative number: absent is fine. */
static inline int check_number(const er_row *row, int col, er_result *res)
{
	er_field f = er_row_field(row, col);
	if (f.n && !er_number_valid(f.p, f.n))
		return reject(res, ER_REJ_INVALID_NUMBER, col);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parties                                                              */
/* ------------------------------------------------------------------ */

static inline int good_standing(const er_cert *c)
{
	return c && (c->status == ER_ST_CERTIFIED || c->status == ER_ST_VALIDATED);
}

/* Tier of a cert in good standing; a missing tier follows its status. */
static inline int tier_of(const er_cert *c)
{
	int t = c->tier ? c->tier : (c->status == ER_ST_VALIDATED ? 2 : 1);
	return t > 3 ? 3 : t;
}

/* Join up to three parts with ':' into dst[cap], truncating. */
static void put_status(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	size_t o = 0; /* o <= cap - 1: the NUL always fits */
	for (int i = 0; i < 3 && parts[i]; i++) {
		if (i && o + 1 < cap)
			dst[o++] = ':';
		size_t l = strlen(parts[i]);
		if (l > cap - 1 - o)
			l = cap - 1 - o;
		memcpy(dst + o, parts[i], l);
		o += l;
	}
	dst[o] = '\0';
}

static const char *const tier_names[4] = { "T0", "T1", "T2", "T3" };

/* Standing of one shipper-side party, best first. */
enum shp_rank {
	SR_NONE,         /* no id or name given */
	SR_UNKNOWN,      /* given, not found */
	SR_NOT_IN_FORCE, /* found, no period in force on the day */
	SR_NOT_GOOD,     /* found, in force but suspended/removed/withdrawn */
	SR_AEO_NO_MRA,   /* foreign program in good standing, no MRA in force */
	SR_MRA,          /* foreign program in good standing, MRA in force */
	SR_CTPAT         /* CTPAT in good standing */
};

typedef struct shp_eval {
	int rank;
	const er_cert *cert; /* the cert behind the rank (NULL below SR_NOT_GOOD) */
} shp_eval;

static shp_eval eval_shipper_side(const er_tables *t, const er_party *p, uint8_t match,
                                  int32_t day)
{
	shp_eval e = { match == ER_MATCH_ABSENT ? SR_NONE : SR_UNKNOWN, NULL };
	if (!p)
		return e;
	const er_cert *ct = er_party_cert_on(p, day, 1);
	if (good_standing(ct)) {
		e.rank = SR_CTPAT;
		e.cert = ct;
		return e;
	}
	const er_cert *fc = er_party_cert_on(p, day, 0);
	if (good_standing(fc)) {
		e.rank = er_tables_mra_recognized(t, fc->program, fc->country, day) ? SR_MRA
		                                                                  : SR_AEO_NO_MRA;
		e.cert = fc;
		return e;
	}
	if (ct || fc) {
		e.rank = SR_NOT_GOOD;
		e.cert = ct ? ct : fc;
		return e;
	}
	e.rank = SR_NOT_IN_FORCE;
	return e;
}

/* ------------------------------------------------------------------ */
/* Scoring                                                              */
/* ------------------------------------------------------------------ */

/* Lane by the mode's thresholds ([lanes], else [score]). The tie split is
 * hashed only when the score sits on a threshold whose share is below 1. */
static inline int lane_of(const er_rules *r, int mode, int score, er_field sid)
{
	double u = 0.0;
	if ((score == r->lane_red[mode] && r->lane_red_share[mode] < 1.0) ||
	    (score == r->lane_yellow[mode] && r->lane_yellow_share[mode] < 1.0))
		u = er_lane_tie_u(sid.p, sid.n);
	return er_rules_lane(r, mode, score, u);
}

static inline void fire(er_result *res, int reason, int pts, int *sum)
{
	res->fired |= 1u << reason;
	res->points[reason] = (int16_t)pts;
	*sum += pts;
}

/* Screen the importer, shipper, consignee and notify party names; an empty
 * name column is screened with the table name of the party its id matched.
 * Fires SDN_MATCH or SDN_REVIEW (once each row) and returns 1 on SDN_MATCH. */
static const int sdn_cols[ER_SDN_NROLES] = { ER_COL_IMPORTER_NAME, ER_COL_SHIPPER_NAME,
                                             ER_COL_CONSIGNEE_NAME, ER_COL_NOTIFY_PARTY_NAME };

static int screen_parties(const er_sdn *sdn, const er_rules *r, const er_sdn_rowq *q,
                          const er_party *imp, const er_party *shp, er_result *res, int *sum)
{
	const er_party *by_id[ER_SDN_NROLES] = { imp, shp, NULL, NULL };
	unsigned match = (unsigned)(r->sdn_match * 1000.0 + 0.5);
	unsigned review = (unsigned)(r->sdn_review * 1000.0 + 0.5);
	unsigned top = 0;
	res->sdn_screened = 1;
	er_sdn_hit hits[ER_SDN_NROLES];
	er_sdn_row_finish(sdn, q, hits);
	for (int k = 0; k < ER_SDN_NROLES; k++) {
		er_sdn_hit h = hits[k];
		if (!q->len[k] && by_id[k] && by_id[k]->name)
			h = er_sdn_screen(sdn, by_id[k]->name, strlen(by_id[k]->name));
		if (!h.ent_num || h.sim < review)
			continue;
		res->sdn_ent[k] = h.ent_num;
		res->sdn_sim[k] = h.sim;
		if (h.sim > top)
			top = h.sim;
	}
	if (top >= match) {
		fire(res, ER_R_SDN_MATCH, r->points[ER_R_SDN_MATCH], sum);
		return 1;
	}
	if (top)
		fire(res, ER_R_SDN_REVIEW, r->points[ER_R_SDN_REVIEW], sum);
	return 0;
}

er_status er_score_row(const er_tables *t, const er_rules *r, const er_row *row,
                       er_result *res)
{
	return er_score_row_sdn(t, r, NULL, row, res);
}

er_status er_score_row_sdn(const er_tables *t, const er_rules *r, const er_sdn *sdn,
                           const er_row *row, er_result *res)
{
	memset(res, 0, sizeof *res);
	res->reject_col = -1;

	/* the id look-ups below miss the cache; start them all now */
	enum { Q_IMP = ER_ROLE_IMPORTER, Q_SHP = ER_ROLE_SHIPPER, Q_MFR = ER_ROLE_MANUFACTURER,
	       Q_CAR = ER_ROLE_CARRIER, Q_FWD = ER_ROLE_FORWARDER, Q_N = ER_NROLES };
	static const int id_cols[Q_N] = { ER_COL_IMPORTER_ID, ER_COL_SHIPPER_ID,
	                                  ER_COL_MANUFACTURER_ID, ER_COL_CARRIER_SCAC,
	                                  ER_COL_FORWARDER_ID };
	er_id_probe idq[Q_N];
	for (int i = 0; i < Q_N; i++) {
		er_field f = er_row_field(row, id_cols[i]);
		idq[i] = er_tables_id_start(t, f.p, f.n);
	}
	/* and the SDN screen's cached answers for the names */
	er_sdn_rowq sdnq;
	if (sdn) {
		er_field nm[ER_SDN_NROLES];
		for (int k = 0; k < ER_SDN_NROLES; k++)
			nm[k] = er_row_field(row, sdn_cols[k]);
		er_sdn_row_start(sdn, nm, ER_SDN_NROLES, 1u << ER_SDN_NOTIFY, &sdnq);
	}

	/* ---- validation, in column order so the first bad column is reported ---- */
	er_field sid = er_row_field(row, ER_COL_SHIPMENT_ID);
	if (!sid.n) {
		reject(res, ER_REJ_MISSING_REQUIRED, ER_COL_SHIPMENT_ID);
		return ER_E_ROW;
	}
	er_field arr = er_row_field(row, ER_COL_ARRIVAL_DATE);
	int32_t day;
	if (!arr.n) {
		reject(res, ER_REJ_MISSING_REQUIRED, ER_COL_ARRIVAL_DATE);
		return ER_E_ROW;
	}
	if (er_parse_date(arr.p, arr.n, &day) < 0) {
		reject(res, ER_REJ_INVALID_DATE, ER_COL_ARRIVAL_DATE);
		return ER_E_ROW;
	}
	/* hs_code: dots and spaces are layout ("8471.30.0100"); the rest 1-10 digits. */
	er_field hs = er_row_field(row, ER_COL_HS_CODE);
	char hsd[10];
	size_t nhs = 0;
	for (size_t i = 0; i < hs.n; i++) {
		char c = hs.p[i];
		if (c == '.' || c == ' ')
			continue;
		if (c < '0' || c > '9' || nhs == sizeof hsd) {
			reject(res, ER_REJ_INVALID_VALUE, ER_COL_HS_CODE);
			return ER_E_ROW;
		}
		hsd[nhs++] = c;
	}
	if (hs.n && nhs == 0) {
		reject(res, ER_REJ_INVALID_VALUE, ER_COL_HS_CODE);
		return ER_E_ROW;
	}
	if (check_number(row, ER_COL_DECLARED_VALUE_USD, res) < 0 ||
	    check_number(row, ER_COL_GROSS_WEIGHT_KG, res) < 0 ||
	    check_number(row, ER_COL_QUANTITY, res) < 0)
		return ER_E_ROW;
	er_field filed = er_row_field(row, ER_COL_FILED_AT);
	er_field dep = er_row_field(row, ER_COL_DEPARTURE_AT);
	int64_t filed_s = 0, dep_s = 0;
	if (filed.n && er_parse_timestamp(filed.p, filed.n, &filed_s) < 0) {
		reject(res, ER_REJ_INVALID_DATE, ER_COL_FILED_AT);
		return ER_E_ROW;
	}
	if (dep.n && er_parse_timestamp(dep.p, dep.n, &dep_s) < 0) {
		reject(res, ER_REJ_INVALID_DATE, ER_COL_DEPARTURE_AT);
		return ER_E_ROW;
	}

	int sum = 0;
	const int *pts = r->points;
	er_field origin = er_row_field(row, ER_COL_ORIGIN_COUNTRY);

	/* ---- parties: all look-ups first, then their certifications are
	 * fetched together (each is a likely cache miss; this overlaps them) ---- */
	er_field shp_country = er_row_field(row, ER_COL_SHIPPER_COUNTRY);
	if (!shp_country.n)
		shp_country = origin;
	/* each column matches parties of its role (Q_* are the er_role values);
	 * importers by name in any country, shippers in their own (or origin) */
	static const int name_cols[Q_N] = { ER_COL_IMPORTER_NAME, ER_COL_SHIPPER_NAME, -1, -1, -1 };
	const er_party *found[Q_N];
	for (int i = 0; i < Q_N; i++) {
		er_field nm = { NULL, 0 }, cc = { NULL, 0 };
		if (name_cols[i] >= 0)
			nm = er_row_field(row, name_cols[i]);
		if (i == Q_SHP)
			cc = shp_country;
		found[i] = er_tables_match(t, i, &idq[i], nm.p, nm.n, cc.p, cc.n, &res->match[i]);
	}
	const er_party *imp = found[Q_IMP], *shp = found[Q_SHP], *mfr = found[Q_MFR];
	const er_party *car = found[Q_CAR], *fwd = found[Q_FWD];
	const uint8_t *m = res->match;
	for (size_t i = 0; i < sizeof found / sizeof found[0]; i++)
		if (found[i])
			__builtin_prefetch(found[i]);
	for (size_t i = 0; i < sizeof found / sizeof found[0]; i++)
		if (found[i])
			__builtin_prefetch(found[i]->certs);

	/* ---- importer ---- */
	const er_cert *ic = imp ? er_party_cert_on(imp, day, 1) : NULL;
	int imp_good = good_standing(ic);
	if (imp_good) {
		int tier = tier_of(ic);
		int reason = ER_R_IMP_CTPAT_T1 + (tier - 1);
		fire(res, reason, pts[reason], &sum);
		put_status(res->importer_status, sizeof res->importer_status, "CTPAT",
		           er_cert_status_name(ic->status), tier_names[tier]);
	} else if (ic && ic->status == ER_ST_SUSPENDED) {
		fire(res, ER_R_IMP_SUSPENDED, pts[ER_R_IMP_SUSPENDED], &sum);
		put_status(res->importer_status, sizeof res->importer_status, "CTPAT", "suspended",
		           NULL);
	} else if (ic && ic->status == ER_ST_REMOVED) {
		fire(res, ER_R_IMP_REMOVED, pts[ER_R_IMP_REMOVED], &sum);
		put_status(res->importer_status, sizeof res->importer_status, "CTPAT", "removed",
		           NULL);
	} else {
		fire(res, ER_R_IMP_UNKNOWN, pts[ER_R_IMP_UNKNOWN], &sum);
		const char *s = ic ? "CTPAT:withdrawn"
		                : imp ? "not_in_force"
		                : res->match[ER_ROLE_IMPORTER] == ER_MATCH_ABSENT ? "none" : "unknown";
		put_status(res->importer_status, sizeof res->importer_status, s, NULL, NULL);
	}

	/* an unknown id under a listed party's name: possible identity misuse */
	for (int k = 0; k < ER_NROLES; k++) {
		if (m[k] == ER_MATCH_CONFLICT) {
			fire(res, ER_R_ID_NAME_CONFLICT, pts[ER_R_ID_NAME_CONFLICT], &sum);
			break;
		}
	}

	/* ---- shipper side: shipper and manufacturer, the better one counts ---- */
	shp_eval es = eval_shipper_side(t, shp, res->match[ER_ROLE_SHIPPER], day);
	shp_eval em = eval_shipper_side(t, mfr, res->match[ER_ROLE_MANUFACTURER], day);
	const shp_eval *best = em.rank > es.rank ? &em : &es;
	int shp_reason = best->rank == SR_CTPAT ? ER_R_SHP_CTPAT
	               : best->rank == SR_MRA ? ER_R_SHP_MRA
	               : best->rank == SR_AEO_NO_MRA ? ER_R_SHP_AEO_UNRECOGNIZED
	               : ER_R_SHP_UNKNOWN;
	fire(res, shp_reason, pts[shp_reason], &sum);
	{
		char *d = res->shipper_status;
		size_t cap = sizeof res->shipper_status;
		const er_cert *c = best->cert;
		switch (best->rank) {
		case SR_CTPAT:
			put_status(d, cap, "CTPAT", er_cert_status_name(c->status),
			           tier_names[tier_of(c)]);
			break;
		case SR_MRA:
		case SR_AEO_NO_MRA:
			put_status(d, cap, c->program, er_cert_status_name(c->status),
			           best->rank == SR_MRA ? "MRA" : "NO_MRA");
			break;
		case SR_NOT_GOOD:
			put_status(d, cap, c->program, er_cert_status_name(c->status), NULL);
			break;
		case SR_NOT_IN_FORCE:
			put_status(d, cap, "not_in_force", NULL, NULL);
			break;
		case SR_UNKNOWN:
			put_status(d, cap, "unknown", NULL, NULL);
			break;
		default:
			put_status(d, cap, "none", NULL, NULL);
			break;
		}
	}
	res->shipper_certified = shp_reason == ER_R_SHP_CTPAT || shp_reason == ER_R_SHP_MRA;
	/* front of line is a CTPAT member's benefit: a certified shipper side
	 * earns it only for an importer that has not lost its standing (nor
	 * borrows a member's name) */
	int imp_barred = (ic && (ic->status == ER_ST_SUSPENDED || ic->status == ER_ST_REMOVED)) ||
	                 m[ER_ROLE_IMPORTER] == ER_MATCH_CONFLICT;
	res->front_of_line = imp_good || (res->shipper_certified && !imp_barred);

	/* ---- carrier and forwarder: by id only ---- */
	int car_good = car && good_standing(er_party_cert_on(car, day, 1));
	if (car_good)
		fire(res, ER_R_CARRIER_CTPAT, pts[ER_R_CARRIER_CTPAT], &sum);
	if (fwd && good_standing(er_party_cert_on(fwd, day, 1)))
		fire(res, ER_R_FWD_CTPAT, pts[ER_R_FWD_CTPAT], &sum);

	/* ---- cargo ---- */
	er_field lt = er_row_field(row, ER_COL_LOAD_TYPE);
	if (IEQ(lt.p, lt.n, "LCL"))
		fire(res, ER_R_LCL, pts[ER_R_LCL], &sum);
	const er_field *desc = &row->f[ER_COL_DESCRIPTION];
	if (er_rules_vague_desc(r, desc->p, desc->n))
		fire(res, ER_R_VAGUE_DESC, pts[ER_R_VAGUE_DESC], &sum);
	if (nhs < 6)
		fire(res, ER_R_NO_HS, pts[ER_R_NO_HS], &sum);
	int mode = norm_mode(er_row_field(row, ER_COL_MODE));
	res->mode = (uint8_t)mode;
	/* 24-hour rule: exactly window_hours before departure is on time. */
	if (mode == M_VESSEL && filed.n && dep.n && filed_s > dep_s - r->window_secs)
		fire(res, ER_R_LATE_FILING, pts[ER_R_LATE_FILING], &sum);
	/* without both timestamps the 24-hour rule cannot be shown: not "on time" */
	if (mode == M_VESSEL && (!filed.n || !dep.n))
		fire(res, ER_R_FILING_UNKNOWN, pts[ER_R_FILING_UNKNOWN], &sum);
	int hs_pts;
	if (er_rules_hs_match(r, hsd, nhs, &hs_pts))
		fire(res, ER_R_HS_WATCH, hs_pts, &sum);
	if (origin.n == 2) {
		unsigned a = (unsigned char)origin.p[0] & ~0x20u, b = (unsigned char)origin.p[1] & ~0x20u;
		if (a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z') {
			int idx = (int)(a - 'A') * 26 + (int)(b - 'A');
			if (r->origin_set[idx])
				fire(res, ER_R_ORIGIN_WATCH, r->origin_points[idx], &sum);
		}
	}

	/* ---- FAST: a land-border program, so the border crossed decides, not
	 * the goods' origin. Crossing from Mexico (lading port in MX, else the
	 * shipper's country MX) needs a CTPAT manufacturer incorporated in Mexico
	 * as well; any other crossing needs importer and carrier only. ---- */
	if (mode == M_TRUCK && imp_good && car_good) {
		er_field lp = er_row_field(row, ER_COL_LADING_PORT);
		er_field sc = er_row_field(row, ER_COL_SHIPPER_COUNTRY);
		int from_mx = lp.n ? lp.n >= 2 && IEQ(lp.p, 2, "MX") : IEQ(sc.p, sc.n, "MX");
		int mx_mfr = mfr && memcmp(mfr->country, "MX", 2) == 0 &&
		             good_standing(er_party_cert_on(mfr, day, 1));
		if (!from_mx || mx_mfr) {
			res->fast_eligible = 1;
			fire(res, ER_R_FAST, pts[ER_R_FAST], &sum);
		}
	}

	/* ---- restricted parties: a listed name is held, whatever else ---- */
	int sdn_hit = sdn && screen_parties(sdn, r, &sdnq, imp, shp, res, &sum);
	int sdn_red = sdn_hit && r->sdn_force_red;
	if (sdn_hit)
		res->front_of_line = 0; /* a listed party earns no member's benefit */

	/* ---- random compliance selection: same ids on every run ---- */
	int random_red = 0;
	if (r->random_rate > 0.0) {
		uint64_t h = er_hash64(sid.p, sid.n, r->random_seed);
		double u = (double)(h >> 11) * 0x1p-53;
		if (u < r->random_rate) {
			random_red = 1;
			fire(res, ER_R_RANDOM, pts[ER_R_RANDOM], &sum);
		}
	}

	int score = r->base + sum;
	res->score = score < 0 ? 0 : score > 100 ? 100 : score;
	res->lane = random_red || sdn_red ? ER_LANE_RED : lane_of(r, mode, res->score, sid);
	return ER_OK;
}
