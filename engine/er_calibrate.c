/* er_calibrate.c - examrisk calibrate (see er_calibrate.h).
 *
 * One pass over the reference population through the score pipeline
 * (er_pipeline_run_sink): every scored row becomes a 16-byte record (reason
 * bits, watch-list points, mode, lane, arrival day, tie bucket, outcome) and
 * the writer thread folds the records, in input order, into two small
 * tables of row patterns:
 *   A  (mode, reasons, watch points) -> rows per tie bucket: any score
 *      histogram of the population under any point set, hence the lane
 *      thresholds of the tuned rules without a second read;
 *   B  A's key + current lane + arrival day -> rows, listed, examined,
 *      findings: the sufficient statistics of the logistic fit, the holdout
 *      evaluation and the exam-rate calibration.
 * Both stay small (thousands of patterns) whatever the row count, so the
 * memory bound is the pipeline's plus the outcomes table. Everything after
 * the pass iterates the patterns in sorted key order, so the tuned file and
 * the report are the same bytes at any thread count. */
#include "er_calibrate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "er_log.h"
#include "er_logit.h"
#include "er_pipeline.h"
#include "er_rules.h"
#include "er_table.h"
#include "er_util.h"

/* A row pattern holds the scorer's whole fired mask, so every reason code
 * the rules have (ER_NREASONS, the size of er_rules.points) is a feature;
 * the only bound is the mask's width in er_result. */
_Static_assert(ER_NREASONS <= 8 * sizeof(((er_result *)0)->fired), "fired holds every reason");
_Static_assert(8 * sizeof(((er_result *)0)->fired) <= ER_CAL_KEY_MASK_BITS, "pattern keys hold the fired mask");
_Static_assert(ER_CAL_BUCKETS <= 256, "tie buckets travel in a byte");

#define NB ER_CAL_BUCKETS
#define K_PRIOR 10.0     /* points per unit of log-odds assumed for today's points (the prior) */
#define K_MAX 20.0       /* finest scale of the tuned points */
#define DEFAULT_L2 1.0

static const double g_topk[3] = { 0.01, 0.02, 0.05 };

/* ================================================================ options */

void er_calib_opts_init(er_calib_opts *o)
{
	memset(o, 0, sizeof *o);
	er_run_opts_init(&o->run);
	for (int m = 0; m < ER_NTMODES; m++)
		o->target_red[m] = o->target_yellow[m] = -1.0;
}

int er_calib_parse_target(const char *arg, double *targets, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	int mode = eq ? er_transport_lookup(arg, (size_t)(eq - arg)) : -1;
	if (mode < 0) {
		snprintf(err, errlen, "'%s': expected MODE=RATE with MODE one of vessel, truck, rail, "
		         "air, unknown", arg);
		return -1;
	}
	char *end;
	errno = 0;
	double v = strtod(eq + 1, &end);
	if (errno || end == eq + 1 || *end || !(v >= 0.0 && v <= 1.0)) {
		snprintf(err, errlen, "'%s': RATE must be a share from 0 to 1 (0.03 = 3 %%)", arg);
		return -1;
	}
	if (targets[mode] >= 0) {
		snprintf(err, errlen, "'%s': a target for %s was already given", arg,
		         er_transport_name(mode));
		return -1;
	}
	targets[mode] = v;
	return 0;
}

/* ========================================================= outcomes table */

/* 16 bytes a slot: the table is the biggest thing calibrate holds (2M
 * outcome rows: a 4M-slot table, 64 MB, plus 28 MB of id text). */
typedef struct oc_slot {
	uint32_t hash;  /* 0 = empty (real hashes are forced non-zero) */
	uint32_t off;
	uint32_t line;
	uint16_t len;
	uint8_t val;    /* 1 listed, 2 examined, 3 examined with finding */
	uint8_t seen;   /* set (atomically) when a manifest row names the id */
} oc_slot;

struct er_outcomes {
	oc_slot *slot;
	uint32_t mask;
	uint64_t n, examined, findings;
	char *text;
	size_t text_len, text_cap;
};

static uint32_t oc_hash(const char *p, size_t n)
{
	uint32_t h = (uint32_t)(er_hash64(p, n, 0x6f7574636f6d6573ull) >> 32);
	return h ? h : 1;
}

static oc_slot *oc_find(const er_outcomes *oc, const char *p, size_t n, uint32_t h)
{
	for (uint32_t i = h & oc->mask;; i = (i + 1) & oc->mask) {
		oc_slot *s = &oc->slot[i];
		if (!s->hash || (s->hash == h && s->len == n && memcmp(oc->text + s->off, p, n) == 0))
			return s;
	}
}

static int oc_grow(er_outcomes *oc)
{
	uint32_t cap = oc->mask ? (oc->mask + 1) * 2 : 1024;
	oc_slot *ns = calloc(cap, sizeof *ns), *old = oc->slot;
	if (!ns)
		return -1;
	uint32_t oldcap = oc->mask ? oc->mask + 1 : 0;
	oc->slot = ns;
	oc->mask = cap - 1;
	for (uint32_t i = 0; i < oldcap; i++) {
		if (!old[i].hash)
			continue;
		uint32_t j = old[i].hash & oc->mask;
		while (ns[j].hash)
			j = (j + 1) & oc->mask;
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

void er_outcomes_free(er_outcomes *oc)
{
	if (!oc)
		return;
	free(oc->slot);
	free(oc->text);
	free(oc);
}

uint64_t er_outcomes_rows(const er_outcomes *oc)
{
	return oc ? oc->n : 0;
}

/* "0"/"1" (blanks around allowed); -1 for anything else, 2 for empty. */
static int bit_value(er_field f)
{
	const char *p = f.p;
	size_t n = f.n;
	er_trim(&p, &n);
	if (n == 0)
		return 2;
	if (n == 1 && (p[0] == '0' || p[0] == '1'))
		return p[0] - '0';
	return -1;
}

er_status er_outcomes_load(const char *path, er_outcomes **out, char *err, size_t errlen)
{
	*out = NULL;
	er_csv *c = NULL;
	er_status st = er_csv_open(path, &c, err, errlen);
	if (st != ER_OK)
		return st;
	static const char *const want[3] = { "shipment_id", "examined", "finding" };
	int col[3];
	er_outcomes *oc = calloc(1, sizeof *oc);
	if (!oc) {
		er_csv_close(c);
		snprintf(err, errlen, "%s: out of memory", path);
		return ER_E_NOMEM;
	}
	st = er_csv_header(c, want, 3, col, err, errlen);
	if (st != ER_OK)
		goto fail;
	if (oc_grow(oc) < 0)
		goto nomem;
	const er_field *f;
	int nf;
	uint64_t line;
	int rc;
	while ((rc = er_csv_next(c, &f, &nf, &line, &st, err, errlen)) > 0) {
		er_field id = f[col[0]];
		er_trim(&id.p, &id.n);
		if (!id.n) {
			snprintf(err, errlen, "%s:%llu: empty shipment_id", path, (unsigned long long)line);
			st = ER_E_FORMAT;
			goto fail;
		}
		int ex = bit_value(f[col[1]]), fi = bit_value(f[col[2]]);
		if (ex < 0 || ex == 2) {
			snprintf(err, errlen, "%s:%llu: examined must be 0 or 1, not '%.*s'", path,
			         (unsigned long long)line, (int)(f[col[1]].n > 40 ? 40 : f[col[1]].n),
			         f[col[1]].p);
			st = ER_E_FORMAT;
			goto fail;
		}
		if (fi < 0 || (ex == 1 && fi == 2)) {
			snprintf(err, errlen, "%s:%llu: finding must be 0 or 1%s, not '%.*s'", path,
			         (unsigned long long)line, ex ? "" : " (or empty when not examined)",
			         (int)(f[col[2]].n > 40 ? 40 : f[col[2]].n), f[col[2]].p);
			st = ER_E_FORMAT;
			goto fail;
		}
		if (ex == 0 && fi == 1) {
			snprintf(err, errlen, "%s:%llu: finding = 1 on a shipment that was not examined",
			         path, (unsigned long long)line);
			st = ER_E_FORMAT;
			goto fail;
		}
		if (id.n > 0xFFFF || line > UINT32_MAX) {
			snprintf(err, errlen, "%s:%llu: shipment_id too long or file too long", path,
			         (unsigned long long)line);
			st = ER_E_FORMAT;
			goto fail;
		}
		uint32_t h = oc_hash(id.p, id.n);
		oc_slot *s = oc_find(oc, id.p, id.n, h);
		if (s->hash) {
			snprintf(err, errlen, "%s:%llu: duplicate shipment_id '%.*s' (first on line %u)",
			         path, (unsigned long long)line, (int)(id.n > 60 ? 60 : id.n), id.p,
			         (unsigned)s->line);
			st = ER_E_FORMAT;
			goto fail;
		}
		if (oc->text_len + id.n > oc->text_cap) {
			size_t cap = oc->text_cap ? oc->text_cap * 2 : 1 << 16;
			while (cap < oc->text_len + id.n)
				cap *= 2;
			char *nt = realloc(oc->text, cap);
			if (!nt || cap > UINT32_MAX)
				goto nomem;
			oc->text = nt;
			oc->text_cap = cap;
		}
		memcpy(oc->text + oc->text_len, id.p, id.n);
		s->hash = h;
		s->off = (uint32_t)oc->text_len;
		s->len = (uint16_t)id.n;
		s->line = (uint32_t)line;
		s->val = (uint8_t)(ex ? 2 + fi : 1);
		oc->text_len += id.n;
		oc->n++;
		oc->examined += (uint64_t)ex;
		oc->findings += (uint64_t)(ex && fi == 1);
		if (oc->n * 10 >= (uint64_t)(oc->mask + 1) * 7 && oc_grow(oc) < 0)
			goto nomem;
	}
	if (rc < 0)
		goto fail;
	er_csv_close(c);
	*out = oc;
	return ER_OK;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
	st = ER_E_NOMEM;
fail:
	er_csv_close(c);
	er_outcomes_free(oc);
	return st;
}

int er_outcomes_lookup(er_outcomes *oc, const char *id, size_t n)
{
	const char *p = id;
	er_trim(&p, &n);
	oc_slot *s = oc_find(oc, p, n, oc_hash(p, n));
	if (!s->hash)
		return 0;
	/* several workers may mark the same id; the flag only ever goes 0 -> 1 */
	__atomic_store_n(&s->seen, 1, __ATOMIC_RELAXED);
	return s->val;
}

static uint64_t oc_unseen(const er_outcomes *oc)
{
	uint64_t n = 0;
	for (uint32_t i = 0; oc && i <= oc->mask; i++)
		n += oc->slot[i].hash && !oc->slot[i].seen;
	return n;
}

/* ============================================================ pattern keys */

#define DAY_BASE (-25567) /* 1900-01-01 */
/* Pattern A key: fired mask (32 bits) | mode (3) | hs + 128 (8) | org + 128
 * (8), 51 bits; numeric order = (org, hs, mode, mask). Pattern B key: the A
 * pattern's index | lane (2) | day offset (16); pat_b carries the A key. */
#define KS_MODE ER_CAL_KEY_MASK_BITS
#define KS_HS (KS_MODE + 3)
#define KS_ORG (KS_HS + 8)
#define KEY_A(mask, mode, hs, org) \
	((uint64_t)(uint32_t)(mask) | (uint64_t)(mode) << KS_MODE | (uint64_t)((hs) + 128) << KS_HS | \
	 (uint64_t)((org) + 128) << KS_ORG)
#define KEY_B(ia, lane, dayoff) ((uint64_t)(uint32_t)(ia) | (uint64_t)(lane) << 32 | (uint64_t)(dayoff) << 34)
#define K_MASK(k) ((uint32_t)((k) & 0xFFFFFFFFu))
#define K_MODE(k) ((int)(((k) >> KS_MODE) & 7))
#define K_HS(k) ((int)(((k) >> KS_HS) & 0xFF) - 128)
#define K_ORG(k) ((int)(((k) >> KS_ORG) & 0xFF) - 128)
#define K_LANE(k) ((int)(((k) >> 32) & 3))
#define K_DAY(k) ((int32_t)(((k) >> 34) & 0xFFFF) + DAY_BASE)

uint64_t er_cal_key(uint32_t mask, int mode, int hs, int org)
{
	return KEY_A(mask, mode, hs, org);
}

void er_cal_key_parts(uint64_t key, uint32_t *mask, int *mode, int *hs, int *org)
{
	*mask = K_MASK(key);
	*mode = K_MODE(key);
	*hs = K_HS(key);
	*org = K_ORG(key);
}

/* key -> index map (keys are never 0: the hs field is always >= 28). */
typedef struct u64map {
	uint64_t *key;
	uint32_t *val;
	uint32_t mask, n;
} u64map;

static uint32_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

static int map_grow(u64map *m)
{
	uint32_t cap = m->mask ? (m->mask + 1) * 2 : 256, oldcap = m->mask ? m->mask + 1 : 0;
	uint64_t *nk = calloc(cap, sizeof *nk);
	uint32_t *nv = calloc(cap, sizeof *nv);
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return -1;
	}
	for (uint32_t i = 0; i < oldcap; i++) {
		if (!m->key[i])
			continue;
		uint32_t j = mix(m->key[i]) & (cap - 1);
		while (nk[j])
			j = (j + 1) & (cap - 1);
		nk[j] = m->key[i];
		nv[j] = m->val[i];
	}
	free(m->key);
	free(m->val);
	m->key = nk;
	m->val = nv;
	m->mask = cap - 1;
	return 0;
}

/* Index of key, adding it with index next when absent (*added = 1). -1 on OOM. */
static int64_t map_get(u64map *m, uint64_t key, uint32_t next, int *added)
{
	*added = 0;
	if ((m->n + 1) * 4 >= (m->mask + 1) * 3 && map_grow(m) < 0)
		return -1;
	uint32_t j = mix(key) & m->mask;
	while (m->key[j]) {
		if (m->key[j] == key)
			return m->val[j];
		j = (j + 1) & m->mask;
	}
	m->key[j] = key;
	m->val[j] = next;
	m->n++;
	*added = 1;
	return next;
}

static void map_free(u64map *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof *m);
}

/* ================================================================ collector */

typedef struct crec {
	uint32_t mask;
	int32_t day;
	int8_t hs, org;
	uint8_t mode, lane, outcome, bucket;
	uint8_t pad[2];
} crec;

typedef struct pat_a {
	uint64_t key;
	uint64_t n;
	uint32_t nb[NB];
} pat_a;

typedef struct pat_b {
	uint64_t key;                   /* KEY_B: lane and day */
	uint64_t ka;                    /* its pattern A key: mask, mode, hs, org */
	uint32_t n, listed, exam, find; /* one pattern on one day: far below 2^32 */
} pat_b;

typedef struct collector {
	er_outcomes *oc;
	int want_b;
	u64map ma, mb;
	pat_a *a;
	size_t na, capa;
	pat_b *b;
	size_t nb, capb;
	int32_t day_lo, day_hi;
	uint64_t rows, rows_mode[ER_NTMODES], rows_listed;
} collector;

/* p with room for element n (capacity *cap elements of size sz), or NULL
 * (p itself still valid) when memory runs out. */
static void *grow_one(void *p, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return p;
	size_t nc = *cap ? *cap * 2 : 256;
	void *np = realloc(p, nc * sz);
	if (np)
		*cap = nc;
	return np;
}

static int sink_encode(void *ctx, er_buf *out, const er_row *row, const er_result *res)
{
	collector *C = ctx;
	crec c;
	memset(&c, 0, sizeof c);
	er_field arr = er_row_field(row, ER_COL_ARRIVAL_DATE);
	er_field sid = er_row_field(row, ER_COL_SHIPMENT_ID);
	if (er_parse_date(arr.p, arr.n, &c.day) < 0)
		c.day = DAY_BASE; /* cannot happen: the scorer validated it */
	c.mask = res->fired;
	c.hs = (int8_t)((res->fired >> ER_R_HS_WATCH & 1u) ? res->points[ER_R_HS_WATCH] : 0);
	c.org = (int8_t)((res->fired >> ER_R_ORIGIN_WATCH & 1u) ? res->points[ER_R_ORIGIN_WATCH] : 0);
	c.mode = res->mode;
	c.lane = (uint8_t)res->lane;
	c.bucket = (uint8_t)(er_lane_tie_u(sid.p, sid.n) * NB); /* NB <= 256 */
	c.outcome = C->oc ? (uint8_t)er_outcomes_lookup(C->oc, sid.p, sid.n) : 0;
	return er_buf_append(out, &c, sizeof c);
}

static int sink_merge(void *ctx, int file_idx, const char *p, size_t n)
{
	collector *C = ctx;
	(void)file_idx;
	for (size_t o = 0; o + sizeof(crec) <= n; o += sizeof(crec)) {
		crec c;
		memcpy(&c, p + o, sizeof c);
		int mode = c.mode < ER_NTMODES ? c.mode : ER_TM_UNKNOWN;
		uint64_t ka = KEY_A(c.mask, mode, c.hs, c.org);
		int added;
		int64_t ia = map_get(&C->ma, ka, (uint32_t)C->na, &added);
		if (ia < 0)
			return -1;
		if (added) {
			pat_a *na = grow_one(C->a, C->na, &C->capa, sizeof *C->a);
			if (!na)
				return -1;
			C->a = na;
			memset(&C->a[C->na], 0, sizeof *C->a);
			C->a[C->na++].key = ka;
		}
		C->a[ia].n++;
		C->a[ia].nb[c.bucket % NB]++;
		if (!C->rows || c.day < C->day_lo)
			C->day_lo = c.day;
		if (!C->rows || c.day > C->day_hi)
			C->day_hi = c.day;
		C->rows++;
		C->rows_mode[mode]++;
		C->rows_listed += c.outcome != 0;
		if (!C->want_b)
			continue;
		int32_t doff = c.day - DAY_BASE;
		if (doff < 0)
			doff = 0;
		if (doff > 0xFFFF)
			doff = 0xFFFF;
		uint64_t kb = KEY_B(ia, c.lane & 3, (uint64_t)doff);
		int64_t ib = map_get(&C->mb, kb, (uint32_t)C->nb, &added);
		if (ib < 0)
			return -1;
		if (added) {
			pat_b *nbp = grow_one(C->b, C->nb, &C->capb, sizeof *C->b);
			if (!nbp)
				return -1;
			C->b = nbp;
			memset(&C->b[C->nb], 0, sizeof *C->b);
			C->b[C->nb].ka = ka;
			C->b[C->nb++].key = kb;
		}
		pat_b *b = &C->b[ib];
		b->n++;
		b->listed += c.outcome != 0;
		b->exam += c.outcome >= 2;
		b->find += c.outcome == 3;
	}
	return 0;
}

static int cmp_a(const void *x, const void *y)
{
	uint64_t a = ((const pat_a *)x)->key, b = ((const pat_a *)y)->key;
	return a < b ? -1 : a > b;
}

/* By day, lane, then pattern A key (the A index in key is insertion order). */
static int cmp_b(const void *x, const void *y)
{
	const pat_b *p = x, *q = y;
	uint64_t a = p->key >> 32, b = q->key >> 32;
	if (a != b)
		return a < b ? -1 : 1;
	return p->ka < q->ka ? -1 : p->ka > q->ka;
}

/* ================================================================ point sets */

typedef struct ptset {
	int base;
	int pts[ER_NREASONS];
	double hs_mult, org_mult; /* watch entries: round(mult * entry points) */
} ptset;

static int clamp_pts(long v)
{
	return v < -100 ? -100 : v > 100 ? 100 : (int)v;
}

static int scaled(double mult, int v)
{
	return clamp_pts(lround(mult * v));
}

static int pat_score(const ptset *ps, uint32_t mask, int hs, int org)
{
	long s = ps->base;
	for (int r = 0; r < ER_NREASONS; r++) {
		if (!(mask >> r & 1u))
			continue;
		if (r == ER_R_HS_WATCH)
			s += scaled(ps->hs_mult, hs);
		else if (r == ER_R_ORIGIN_WATCH)
			s += scaled(ps->org_mult, org);
		else
			s += ps->pts[r];
	}
	return s < 0 ? 0 : s > 100 ? 100 : (int)s;
}

static void ptset_of_rules(const er_rules *r, ptset *ps)
{
	ps->base = r->base;
	for (int i = 0; i < ER_NREASONS; i++)
		ps->pts[i] = r->points[i];
	ps->hs_mult = ps->org_mult = 1.0;
}

/* ================================================================ thresholds */

uint64_t er_cal_count_at_or_above(const uint64_t (*h)[NB], int thr, int share_k)
{
	uint64_t n = 0;
	for (int s = thr + 1; s <= 100; s++)
		for (int b = 0; b < NB; b++)
			n += h[s][b];
	if (thr >= 0 && thr <= 100)
		for (int b = 0; b < share_k && b < NB; b++)
			n += h[thr][b];
	return n;
}

void er_cal_threshold(const uint64_t (*h)[NB], double want, int red_thr, int *thr, int *share_k,
                      uint64_t *achieved)
{
	int top = red_thr > 0 ? red_thr - 1 : 100;
	uint64_t above = 0;
	for (int s = top + 1; s <= 100; s++)
		for (int b = 0; b < NB; b++)
			above += h[s][b];
	for (int s = top; s >= 1; s--) {
		uint64_t at = 0;
		for (int b = 0; b < NB; b++)
			at += h[s][b];
		if ((double)(above + at) >= want) {
			/* the tie split: the bucket count whose total is nearest the quota
			 * (the fewest buckets on a tie, but no split at all when taking
			 * the whole score is as near: empty buckets never make a split) */
			int best = 0;
			double bestd = fabs((double)above - want), d = bestd;
			uint64_t cum = 0;
			for (int k = 1; k <= NB; k++) {
				cum += h[s][k - 1];
				d = fabs((double)(above + cum) - want);
				if (d < bestd) {
					bestd = d;
					best = k;
				}
			}
			if (d <= bestd)
				best = NB;
			/* nothing of s: the same as s+1 taken whole -- except just below
			 * RED, where YELLOW = RED would disable YELLOW instead */
			if (best == 0 && s < 100 && s + 1 != red_thr) {
				*thr = s + 1;
				*share_k = NB;
			} else {
				*thr = s;
				*share_k = best;
			}
			*achieved = er_cal_count_at_or_above(h, *thr, *share_k);
			return;
		}
		above += at;
	}
	*thr = 1;
	*share_k = NB;
	*achieved = er_cal_count_at_or_above(h, 1, NB);
}

/* ================================================================== lanes */

typedef struct lane_fit {
	uint64_t rows;
	int red, red_k, yellow, yellow_k;    /* thresholds and tie shares (k / NB) */
	double target_red, target_yellow;    /* < 0 = none */
	int red_derived, yellow_derived;
	double achieved_red, achieved_yellow;
	double current_red, current_yellow;  /* shares under the input rules */
} lane_fit;

typedef uint64_t hist_t[101][NB];

/* Histograms of the population under ps, per mode. */
static void build_hist(const collector *C, const ptset *ps, hist_t *h)
{
	memset(h, 0, sizeof(hist_t) * ER_NTMODES);
	for (size_t i = 0; i < C->na; i++) {
		const pat_a *a = &C->a[i];
		int s = pat_score(ps, K_MASK(a->key), K_HS(a->key), K_ORG(a->key));
		for (int b = 0; b < NB; b++)
			h[K_MODE(a->key)][s][b] += a->nb[b];
	}
}

static int share_to_k(double share)
{
	double k = floor(share * NB + 1e-9);
	return k < 0 ? 0 : k > NB ? NB : (int)k;
}

static void lane_counts(const uint64_t (*h)[NB], int red, int red_k, int yellow, int yellow_k,
                        uint64_t *nred, uint64_t *nyellow)
{
	*nred = er_cal_count_at_or_above(h, red, red_k);
	uint64_t y = yellow < red ? er_cal_count_at_or_above(h, yellow, yellow_k) : *nred;
	*nyellow = y - *nred;
}

/* Thresholds of every mode under ps; a mode keeps its thresholds from
 * keep[] unless it has a target (or keep_volume asks to hold its shares). */
static void solve_lanes(const collector *C, const ptset *ps, const er_rules *r,
                        const er_calib_opts *o, const lane_fit *cur, int keep_volume,
                        lane_fit *lf, int *red_default, int *yellow_default, hist_t *h)
{
	build_hist(C, ps, h);
	int dom = ER_TM_VESSEL;
	for (int m = 0; m < ER_NTMODES; m++)
		if (C->rows_mode[m] > C->rows_mode[dom])
			dom = m;
	for (int m = 0; m < ER_NTMODES; m++) {
		lane_fit *L = &lf[m];
		L->rows = C->rows_mode[m];
		L->target_red = o->target_red[m];
		L->target_yellow = o->target_yellow[m];
		if (keep_volume && L->rows) {
			if (L->target_red < 0)
				L->target_red = cur[m].current_red;
			if (L->target_yellow < 0)
				L->target_yellow = cur[m].current_yellow;
		}
		L->red = r->lane_red[m];
		L->red_k = share_to_k(r->lane_red_share[m]);
		L->yellow = r->lane_yellow[m];
		L->yellow_k = share_to_k(r->lane_yellow_share[m]);
		L->red_derived = L->yellow_derived = 0;
		if (L->rows && L->target_red >= 0) {
			uint64_t got;
			er_cal_threshold((const uint64_t (*)[NB])h[m], L->target_red * (double)L->rows, 0,
			                 &L->red, &L->red_k, &got);
			L->red_derived = 1;
		}
		if (L->rows && (L->target_yellow >= 0 || L->red_derived)) {
			uint64_t nred = er_cal_count_at_or_above((const uint64_t (*)[NB])h[m], L->red, L->red_k);
			if (L->target_yellow >= 0) {
				uint64_t got;
				er_cal_threshold((const uint64_t (*)[NB])h[m],
				                 (double)nred + L->target_yellow * (double)L->rows, L->red,
				                 &L->yellow, &L->yellow_k, &got);
				L->yellow_derived = 1;
			} else if (L->yellow > L->red || (L->yellow == L->red && L->yellow_k > L->red_k)) {
				L->yellow = L->red; /* a lowered RED threshold pulls YELLOW down with it */
				L->yellow_k = NB;
			}
		}
		if (L->rows) {
			uint64_t nr, ny;
			lane_counts((const uint64_t (*)[NB])h[m], L->red, L->red_k, L->yellow, L->yellow_k,
			            &nr, &ny);
			L->achieved_red = (double)nr / (double)L->rows;
			L->achieved_yellow = (double)ny / (double)L->rows;
		}
	}
	/* modes without rows follow the dominant mode's new scale */
	for (int m = 0; m < ER_NTMODES; m++) {
		if (lf[m].rows || !keep_volume)
			continue;
		lf[m].red = lf[dom].red;
		lf[m].red_k = lf[dom].red_k;
		lf[m].yellow = lf[dom].yellow;
		lf[m].yellow_k = lf[dom].yellow_k;
	}
	*red_default = keep_volume ? lf[dom].red : r->red;
	*yellow_default = keep_volume ? lf[dom].yellow : r->yellow;
	if (*yellow_default > *red_default)
		*yellow_default = *red_default;
}

static int red_min_of(const lane_fit *lf)
{
	int m0 = 101;
	for (int m = 0; m < ER_NTMODES; m++)
		if (lf[m].red < m0)
			m0 = lf[m].red;
	return m0;
}

/* Current shares per mode (before the random selection). */
static void current_shares(const collector *C, const er_rules *r, lane_fit *cur, hist_t *h)
{
	ptset ps;
	ptset_of_rules(r, &ps);
	build_hist(C, &ps, h);
	for (int m = 0; m < ER_NTMODES; m++) {
		memset(&cur[m], 0, sizeof cur[m]);
		cur[m].rows = C->rows_mode[m];
		if (!cur[m].rows)
			continue;
		uint64_t nr, ny;
		lane_counts((const uint64_t (*)[NB])h[m], r->lane_red[m], share_to_k(r->lane_red_share[m]),
		            r->lane_yellow[m], share_to_k(r->lane_yellow_share[m]), &nr, &ny);
		cur[m].current_red = (double)nr / (double)cur[m].rows;
		cur[m].current_yellow = (double)ny / (double)cur[m].rows;
	}
}

/* ==================================================================== fit */

/* Features: the intercept; one 0/1 column per reason code except RANDOM
 * (it says how a shipment was picked, not how risky it is) and the two watch
 * lists; then one column per watch list holding the entry's points / 10, so
 * its coefficient scales the whole list and keeps the analyst's ranking of
 * entries (fentanyl above fireworks). Priors: today's points at 10 points
 * per unit of log-odds, and 1.0 for the list scales, so a reason the exams
 * rarely saw keeps about its hand-set weight. */
typedef struct fitres {
	int p;
	int col_of[ER_NREASONS]; /* column of a reason, -1 */
	int col_hs, col_org;
	double beta[ER_NREASONS + 3], prior[ER_NREASONS + 3];
	er_logit_fit_info info;
	size_t groups;
	double K;
	int32_t cut;           /* first holdout day */
	double train_exam, train_find;
	double exam_prob[ER_NLANES];
	int exam_prob_kept[ER_NLANES];
	char notes[600];       /* constraints that bound, other adjustments */
} fitres;

static void fit_columns(fitres *F, const er_rules *r)
{
	int p = 1;
	for (int i = 0; i < ER_NREASONS; i++) {
		F->col_of[i] = -1;
		if (i == ER_R_RANDOM || i == ER_R_HS_WATCH || i == ER_R_ORIGIN_WATCH)
			continue;
		F->col_of[i] = p;
		F->prior[p] = r->points[i] / K_PRIOR;
		p++;
	}
	F->col_hs = p;
	F->prior[p++] = 1.0;
	F->col_org = p;
	F->prior[p++] = 1.0;
	F->prior[0] = 0.0;
	F->p = p;
}

static void fill_x(const fitres *F, uint64_t key, double *x)
{
	uint32_t mask = K_MASK(key);
	memset(x, 0, (size_t)F->p * sizeof *x);
	x[0] = 1.0;
	for (int i = 0; i < ER_NREASONS; i++)
		if (F->col_of[i] >= 0 && (mask >> i & 1u))
			x[F->col_of[i]] = 1.0;
	x[F->col_hs] = (mask >> ER_R_HS_WATCH & 1u) ? K_HS(key) / K_PRIOR : 0.0;
	x[F->col_org] = (mask >> ER_R_ORIGIN_WATCH & 1u) ? K_ORG(key) / K_PRIOR : 0.0;
}

static double lin_pred(const fitres *F, uint64_t key)
{
	double x[ER_NREASONS + 3];
	fill_x(F, key, x);
	double e = 0;
	for (int j = 0; j < F->p; j++)
		e += x[j] * F->beta[j];
	return e;
}

typedef struct lp_w {
	double lp, w;
} lp_w;

static int cmp_lp(const void *x, const void *y)
{
	double a = ((const lp_w *)x)->lp, b = ((const lp_w *)y)->lp;
	return a < b ? -1 : a > b;
}

static void note(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 3 >= cap)
		return;
	if (n)
		buf[n++] = ';', buf[n++] = ' ', buf[n] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

/* Points of a fitted model at F->K points per unit of log-odds. */
static void to_points(const fitres *F, const er_rules *r, double offset, ptset *ps)
{
	ps->base = (int)lround(offset + F->K * F->beta[0]);
	for (int i = 0; i < ER_NREASONS; i++)
		ps->pts[i] = F->col_of[i] >= 0 ? clamp_pts(lround(F->K * F->beta[F->col_of[i]]))
		                               : r->points[i];
	ps->hs_mult = F->K * F->beta[F->col_hs] / K_PRIOR;
	ps->org_mult = F->K * F->beta[F->col_org] / K_PRIOR;
}

/* Fit the points on the examined shipments that arrived before F->cut.
 * 0, or -1 with err set. */
static int fit_points(const collector *C, const er_rules *r, double l2, fitres *F, ptset *ps,
                      char *err, size_t errlen)
{
	fit_columns(F, r);
	u64map gm = { 0 };
	size_t ng = 0, cap = 0;
	double *x = NULL, *w = NULL, *y = NULL;
	lp_w *lw = NULL;
	int rc = -1;
	for (size_t i = 0; i < C->nb; i++) {
		const pat_b *b = &C->b[i];
		if (K_DAY(b->key) >= F->cut || !b->exam)
			continue;
		int added;
		int64_t g = map_get(&gm, b->ka, (uint32_t)ng, &added);
		if (g < 0)
			goto nomem;
		if (added) {
			if (ng == cap) {
				cap = cap ? cap * 2 : 256;
				double *nx = realloc(x, cap * (size_t)F->p * sizeof *nx);
				if (nx)
					x = nx;
				double *nw = realloc(w, cap * sizeof *nw);
				if (nw)
					w = nw;
				double *ny = realloc(y, cap * sizeof *ny);
				if (ny)
					y = ny;
				if (!nx || !nw || !ny)
					goto nomem;
			}
			fill_x(F, b->ka, x + ng * (size_t)F->p);
			w[ng] = y[ng] = 0;
			ng++;
		}
		w[g] += (double)b->exam;
		y[g] += (double)b->find;
		F->train_exam += (double)b->exam;
		F->train_find += (double)b->find;
	}
	F->groups = ng;
	if (F->train_exam == 0) {
		snprintf(err, errlen, "no examined shipment arrived before the holdout: nothing to fit "
		         "(check the outcomes file's ids and examined column, or --holdout-from)");
		goto out;
	}
	if (F->train_find == 0 || F->train_find == F->train_exam) {
		snprintf(err, errlen, "every one of the %.0f examined shipments before the holdout has "
		         "finding = %d: a constant outcome teaches nothing, no points were fitted",
		         F->train_exam, F->train_find == 0 ? 0 : 1);
		goto out;
	}
	memcpy(F->beta, F->prior, sizeof F->beta);
	F->beta[0] = log(F->train_find / (F->train_exam - F->train_find));
	er_logit_data d = { (int)ng, F->p, x, w, y };
	er_logit_opts lo = { l2, F->prior, NULL, 200, 1e-10 };
	char e2[200];
	if (er_logit_fit(&d, &lo, F->beta, &F->info, e2, sizeof e2) < 0) {
		snprintf(err, errlen, "logistic fit failed: %s", e2);
		goto out;
	}

	/* Scale: K points per unit of log-odds, the largest (up to K_MAX) that
	 * keeps the riskiest pattern of the population below 100 (so the top of
	 * the ranking, where the exams are, never ties on a clamp) and puts the
	 * 5th percentile at 1; the safest 5 % may share score 0. */
	lw = malloc((C->na ? C->na : 1) * sizeof *lw);
	if (!lw)
		goto nomem;
	double tot = 0;
	for (size_t i = 0; i < C->na; i++) {
		lw[i].lp = lin_pred(F, C->a[i].key);
		lw[i].w = (double)C->a[i].n;
		tot += lw[i].w;
	}
	qsort(lw, C->na, sizeof *lw, cmp_lp);
	double qlo = lw[0].lp, qhi = lw[C->na - 1].lp, acc = 0;
	for (size_t i = 0; i < C->na; i++) {
		acc += lw[i].w;
		if (acc >= 0.05 * tot) {
			qlo = lw[i].lp;
			break;
		}
	}
	F->K = qhi > qlo ? 98.0 / (qhi - qlo) : K_MAX;
	if (F->K > K_MAX)
		F->K = K_MAX;
	double offset = 1.0 - F->K * qlo;
	to_points(F, r, offset, ps);
	/* The tiers' order (6 U.S.C. 965-966) is the one statute bound no shift
	 * of the importer codes can meet: when the fit breaks it, hold the three
	 * tiers at the nearest ordered points and refit everything else. */
	int t1 = ps->pts[ER_R_IMP_CTPAT_T1], t2 = ps->pts[ER_R_IMP_CTPAT_T2];
	int t3 = ps->pts[ER_R_IMP_CTPAT_T3];
	int n2 = t2 < t1 - 1 ? t2 : t1 - 1, n3 = t3 < n2 - 1 ? t3 : n2 - 1;
	if (n2 != t2 || n3 != t3) {
		unsigned char fixed[ER_NREASONS + 3] = { 0 };
		const int tier[3] = { ER_R_IMP_CTPAT_T1, ER_R_IMP_CTPAT_T2, ER_R_IMP_CTPAT_T3 };
		const int held[3] = { t1, n2, n3 };
		for (int i = 0; i < 3; i++) {
			fixed[F->col_of[tier[i]]] = 1;
			F->beta[F->col_of[tier[i]]] = held[i] / F->K;
		}
		lo.fixed = fixed;
		if (er_logit_fit(&d, &lo, F->beta, &F->info, e2, sizeof e2) < 0) {
			snprintf(err, errlen, "logistic refit with the tiers in statute order failed: %s", e2);
			goto out;
		}
		note(F->notes, sizeof F->notes, "tiers held at %d/%d/%d in statute order (fitted "
		     "%d/%d/%d), the other points refitted", t1, n2, n3, t1, t2, t3);
		to_points(F, r, offset, ps);
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	map_free(&gm);
	free(x);
	free(w);
	free(y);
	free(lw);
	return rc;
}

/* ============================================================ constraints */

static const int g_imp_group[] = { ER_R_IMP_CTPAT_T1, ER_R_IMP_CTPAT_T2, ER_R_IMP_CTPAT_T3,
                                   ER_R_IMP_SUSPENDED, ER_R_IMP_REMOVED, ER_R_IMP_UNKNOWN };
static const int g_shp_group[] = { ER_R_SHP_CTPAT, ER_R_SHP_MRA, ER_R_SHP_AEO_UNRECOGNIZED,
                                   ER_R_SHP_UNKNOWN };

static uint32_t group_mask(const int *g, size_t n)
{
	uint32_t m = 0;
	for (size_t i = 0; i < n; i++)
		m |= 1u << g[i];
	return m;
}

/* 1 when exactly one code of the group fires on every row of the population:
 * then moving d points from base to every code of the group changes no score. */
static int one_hot(const collector *C, uint32_t gm)
{
	for (size_t i = 0; i < C->na; i++)
		if (__builtin_popcount(K_MASK(C->a[i].key) & gm) != 1)
			return 0;
	return 1;
}

static void shift_group(ptset *ps, const int *g, size_t n, int d)
{
	for (size_t i = 0; i < n; i++)
		ps->pts[g[i]] += d;
	ps->base -= d;
}

/* The tiers' order (6 U.S.C. 965-966), as a projection: each tier at least
 * one point more credit than the one below. Changes scores (reported). */
static void tier_order(ptset *ps, char *notes, size_t cap)
{
	int *t = ps->pts;
	if (t[ER_R_IMP_CTPAT_T2] > t[ER_R_IMP_CTPAT_T1] - 1) {
		note(notes, cap, "IMP_CTPAT_T2 held 1 point below T1 (fitted %d)", t[ER_R_IMP_CTPAT_T2]);
		t[ER_R_IMP_CTPAT_T2] = t[ER_R_IMP_CTPAT_T1] - 1;
	}
	if (t[ER_R_IMP_CTPAT_T3] > t[ER_R_IMP_CTPAT_T2] - 1) {
		note(notes, cap, "IMP_CTPAT_T3 held 1 point below T2 (fitted %d)", t[ER_R_IMP_CTPAT_T3]);
		t[ER_R_IMP_CTPAT_T3] = t[ER_R_IMP_CTPAT_T2] - 1;
	}
}

/* Tier credits <= 0 and Tier 1 at most 20 % of red_min (6 U.S.C. 964):
 * by a score-preserving shift of the importer codes when they are one-hot,
 * else by moving T1 (returns 1: scores changed, re-derive the lanes). */
static int tier_bounds(const collector *C, ptset *ps, int red_min, char *notes, size_t cap)
{
	size_t ng = sizeof g_imp_group / sizeof g_imp_group[0];
	int oh = one_hot(C, group_mask(g_imp_group, ng));
	int *t = ps->pts, changed = 0;
	int cap1 = red_min / 5;
	if (t[ER_R_IMP_CTPAT_T1] > 0) {
		if (oh) {
			note(notes, cap, "importer codes %d, base %+d (Tier 1 no credit above 0; no score "
			     "changes)", -t[ER_R_IMP_CTPAT_T1], t[ER_R_IMP_CTPAT_T1]);
			shift_group(ps, g_imp_group, ng, -t[ER_R_IMP_CTPAT_T1]);
		} else {
			note(notes, cap, "IMP_CTPAT_T1 held at 0 (fitted %d)", t[ER_R_IMP_CTPAT_T1]);
			t[ER_R_IMP_CTPAT_T1] = 0;
			changed = 1;
		}
	}
	if (-t[ER_R_IMP_CTPAT_T1] > cap1) {
		int d = -t[ER_R_IMP_CTPAT_T1] - cap1;
		if (oh) {
			note(notes, cap, "importer codes %+d, base %d (Tier 1 credit within 20 %% of red "
			     "%d; no score changes)", d, -d, red_min);
			shift_group(ps, g_imp_group, ng, d);
		} else {
			note(notes, cap, "IMP_CTPAT_T1 held at -%d, 20 %% of red %d (fitted %d)", cap1,
			     red_min, t[ER_R_IMP_CTPAT_T1]);
			t[ER_R_IMP_CTPAT_T1] = -cap1;
			changed = 1;
		}
	}
	if (changed)
		tier_order(ps, notes, cap);
	return changed;
}

/* base must be 0..100 and every code -100..100: shift the shipper codes
 * (one-hot) to bring base into range. 0, or -1 with err. */
static int fit_ranges(const collector *C, ptset *ps, char *notes, size_t cap, char *err,
                      size_t errlen)
{
	size_t ng = sizeof g_shp_group / sizeof g_shp_group[0];
	int want = ps->base < 0 ? 0 : ps->base > 100 ? 100 : ps->base;
	if (want != ps->base) {
		if (!one_hot(C, group_mask(g_shp_group, ng))) {
			snprintf(err, errlen, "fitted base %d is outside 0..100 and the shipper codes "
			         "are not one per row: cannot rescale", ps->base);
			return -1;
		}
		note(notes, cap, "shipper codes %+d, base %d (base within 0..100; no score changes)",
		     ps->base - want, want - ps->base);
		shift_group(ps, g_shp_group, ng, ps->base - want);
	}
	for (int i = 0; i < ER_NREASONS; i++) {
		if (ps->pts[i] < -100 || ps->pts[i] > 100) {
			snprintf(err, errlen, "fitted points of %s (%d) are outside -100..100",
			         er_reason_name(i), ps->pts[i]);
			return -1;
		}
	}
	return 0;
}

/* ============================================================= evaluation */

/* Examined shipments of one subset by score: exams and findings. */
typedef struct evalset {
	double exam[101], find[101];
	double n, f;
	double pred; /* sum of the model's finding probability over the exams */
	double logloss;
} evalset;

typedef struct metrics {
	double prec[3], rec[3], auc;
	int have_rec, have_auc;
} metrics;

/* Top k share of the examined rows by score; rows tied on the last score
 * taken count their expected findings (ties in random order). */
static void eval_metrics(const evalset *e, metrics *m)
{
	memset(m, 0, sizeof *m);
	for (int k = 0; k < 3; k++) {
		double left = g_topk[k] * e->n, found = 0;
		for (int s = 100; s >= 0 && left > 0; s--) {
			if (e->exam[s] <= 0)
				continue;
			double take = e->exam[s] < left ? e->exam[s] : left;
			found += e->find[s] * take / e->exam[s];
			left -= take;
		}
		double taken = g_topk[k] * e->n;
		m->prec[k] = taken > 0 ? found / taken : 0;
		m->rec[k] = e->f > 0 ? found / e->f : 0;
	}
	m->have_rec = e->f > 0;
	double pos = e->f, neg = e->n - e->f;
	if (pos > 0 && neg > 0) {
		double below = 0, a = 0;
		for (int s = 0; s <= 100; s++) {
			double ns = e->exam[s] - e->find[s];
			a += e->find[s] * (below + 0.5 * ns);
			below += ns;
		}
		m->auc = a / (pos * neg);
		m->have_auc = 1;
	}
}

enum { EV_HOLD, EV_HOLD_RANDOM, EV_TRAIN_RANDOM, EV_N };
enum { RS_CUR, RS_TUNED, RS_N };

typedef struct evaluation {
	evalset set[EV_N][RS_N];
	metrics met[EV_N][RS_N];
	/* calibration per current lane, holdout rows */
	double lane_rows[ER_NLANES], lane_exam[ER_NLANES];
	double hold_rows;
} evaluation;

static void add_exams(evalset *e, int score, const pat_b *b, double p)
{
	e->exam[score] += (double)b->exam;
	e->find[score] += (double)b->find;
	e->n += (double)b->exam;
	e->f += (double)b->find;
	e->pred += p * (double)b->exam;
	double pc = p < 1e-12 ? 1e-12 : p > 1 - 1e-12 ? 1 - 1e-12 : p;
	e->logloss -= (double)b->find * log(pc) + (double)(b->exam - b->find) * log(1 - pc);
}

static void evaluate(const collector *C, const ptset *cur, const ptset *tuned, const fitres *F,
                     evaluation *ev)
{
	memset(ev, 0, sizeof *ev);
	for (size_t i = 0; i < C->nb; i++) {
		const pat_b *b = &C->b[i];
		int hold = K_DAY(b->key) >= F->cut;
		uint32_t mask = K_MASK(b->ka);
		int rnd = (mask >> ER_R_RANDOM) & 1u;
		if (hold) {
			ev->lane_rows[K_LANE(b->key)] += (double)b->n;
			ev->lane_exam[K_LANE(b->key)] += (double)b->exam;
			ev->hold_rows += (double)b->n;
		}
		if (!b->exam)
			continue;
		int sc[RS_N] = { pat_score(cur, mask, K_HS(b->ka), K_ORG(b->ka)),
		                 pat_score(tuned, mask, K_HS(b->ka), K_ORG(b->ka)) };
		double p = er_logit_sigmoid(lin_pred(F, b->ka));
		for (int rs = 0; rs < RS_N; rs++) {
			if (hold)
				add_exams(&ev->set[EV_HOLD][rs], sc[rs], b, p);
			if (hold && rnd)
				add_exams(&ev->set[EV_HOLD_RANDOM][rs], sc[rs], b, p);
			if (!hold && rnd)
				add_exams(&ev->set[EV_TRAIN_RANDOM][rs], sc[rs], b, p);
		}
	}
	for (int s = 0; s < EV_N; s++)
		for (int rs = 0; rs < RS_N; rs++)
			eval_metrics(&ev->set[s][rs], &ev->met[s][rs]);
}

/* [exam_probability] from the exam rate of each current lane before the cut. */
static void fit_exam_prob(const collector *C, const er_rules *r, fitres *F)
{
	double rows[ER_NLANES] = { 0 }, exam[ER_NLANES] = { 0 };
	for (size_t i = 0; i < C->nb; i++) {
		const pat_b *b = &C->b[i];
		if (K_DAY(b->key) >= F->cut)
			continue;
		rows[K_LANE(b->key)] += (double)b->n;
		exam[K_LANE(b->key)] += (double)b->exam;
	}
	for (int l = 0; l < ER_NLANES; l++) {
		F->exam_prob_kept[l] = rows[l] == 0;
		/* 4 decimals, as written to the rules file */
		F->exam_prob[l] = rows[l] ? round(exam[l] / rows[l] * 1e4) / 1e4 : r->exam_prob[l];
	}
}

/* ================================================================= output */

static void fmt_day(int32_t day, char out[11])
{
	er_format_date(day, out);
}

static const char *lane_lower(int l)
{
	return l == ER_LANE_RED ? "red" : l == ER_LANE_YELLOW ? "yellow" : "green";
}

typedef struct calrun {
	const er_rules *r;
	const er_calib_opts *o;
	collector *C;
	er_run_stats *stats;
	lane_fit cur[ER_NTMODES], lf[ER_NTMODES];
	int red_default, yellow_default;
	ptset curps, ps;
	int have_fit;
	fitres F;
	evaluation ev;
	uint64_t oc_unseen;
} calrun;

static double share_of(int k)
{
	return (double)k / NB;
}

/* The notes: the fit's comment block of the tuned file and the stderr
 * report, one line each, no wall-clock time. */
static int build_notes(const calrun *R, er_buf *b)
{
	const er_calib_opts *o = R->o;
	const collector *C = R->C;
	char d0[11], d1[11];
	fmt_day(C->day_lo, d0);
	fmt_day(C->day_hi, d1);
	int rc = 0;
	rc |= er_buf_printf(b, "Fitted by examrisk %s calibrate, starting from the rules in %s.\n",
	                    ER_VERSION_STRING, R->r->path);
	rc |= er_buf_printf(b, "Reference population: %llu %s scored (%llu rejected) from %d "
	                    "%s, arrival dates %s..%s:\n",
	                    (unsigned long long)C->rows, er_plural(C->rows, "row", "rows"),
	                    (unsigned long long)R->stats->rows_rejected, o->run.ninputs,
	                    er_plural((unsigned long long)o->run.ninputs, "file", "files"), d0, d1);
	for (int i = 0; i < o->run.ninputs; i++)
		rc |= er_buf_printf(b, "  %s\n", o->run.inputs[i]);
	rc |= er_buf_puts(b, "Lane targets (share of a mode's shipments, before the random "
	                  "selection):");
	int any = 0;
	for (int m = 0; m < ER_NTMODES; m++) {
		if (o->target_red[m] >= 0)
			rc |= er_buf_printf(b, " red %s=%g", er_transport_name(m), o->target_red[m]), any = 1;
		if (o->target_yellow[m] >= 0)
			rc |= er_buf_printf(b, " yellow %s=%g", er_transport_name(m), o->target_yellow[m]),
			    any = 1;
	}
	rc |= er_buf_printf(b, "%s\n", any ? "" : R->have_fit ? " none (every mode keeps its current "
	                    "RED and YELLOW volume)" : " none");
	if (R->have_fit && any)
		rc |= er_buf_puts(b, "  modes without a target keep their current RED and YELLOW volume\n");
	rc |= er_buf_puts(b, "Lanes on the reference population (before the random selection):\n");
	for (int m = 0; m < ER_NTMODES; m++) {
		const lane_fit *L = &R->lf[m];
		if (!L->rows)
			continue;
		rc |= er_buf_printf(b, "  %-7s %9llu rows  RED %.3f %%", er_transport_name(m),
		                    (unsigned long long)L->rows, 100 * L->achieved_red);
		if (L->target_red >= 0)
			rc |= er_buf_printf(b, " (target %.3f %%)", 100 * L->target_red);
		rc |= er_buf_printf(b, " was %.3f %%, red = %d share %.8f;  YELLOW %.3f %%",
		                    100 * R->cur[m].current_red, L->red, share_of(L->red_k),
		                    100 * L->achieved_yellow);
		if (L->target_yellow >= 0)
			rc |= er_buf_printf(b, " (target %.3f %%)", 100 * L->target_yellow);
		rc |= er_buf_printf(b, " was %.3f %%, yellow = %d\n", 100 * R->cur[m].current_yellow,
		                    L->yellow);
	}
	if (R->F.notes[0])
		rc |= er_buf_printf(b, "  constraints: %s\n", R->F.notes);
	if (!o->outcomes_path)
		return rc;
	const fitres *F = &R->F;
	const er_outcomes *oc = C->oc;
	char c0[11], c1[11];
	fmt_day(F->cut - 1, c0);
	fmt_day(F->cut, c1);
	rc |= er_buf_printf(b, "Outcomes: %s: %llu rows, %llu examined, %llu findings; %llu ids not in "
	                    "the manifests; %llu manifest rows without a record (counted as not "
	                    "examined)\n", o->outcomes_path, (unsigned long long)oc->n,
	                    (unsigned long long)oc->examined, (unsigned long long)oc->findings,
	                    (unsigned long long)R->oc_unseen,
	                    (unsigned long long)(C->rows - C->rows_listed));
	rc |= er_buf_printf(b, "Fit: arrivals %s..%s, %.0f examined shipments, %.0f findings, %zu "
	                    "patterns; L2-penalized logistic regression (lambda %g, prior = the "
	                    "starting points), %d Newton steps, log-likelihood %.3f; %.4f points per "
	                    "unit of log-odds\n", d0, c0, F->train_exam, F->train_find, F->groups,
	                    o->l2 > 0 ? o->l2 : DEFAULT_L2, F->info.iterations, F->info.loglik, F->K);
	rc |= er_buf_printf(b, "  watch lists scaled: hs_watch x%.3f, origin_watch x%.3f\n",
	                    R->ps.hs_mult, R->ps.org_mult);
	rc |= er_buf_puts(b, "  exam_probability from the exam rate per lane:");
	for (int l = ER_LANE_RED; l >= 0; l--)
		rc |= er_buf_printf(b, " %s %.4f%s", lane_lower(l), F->exam_prob[l],
		                    F->exam_prob_kept[l] ? " (no rows: kept)" : "");
	rc |= er_buf_putc(b, '\n');
	const evaluation *ev = &R->ev;
	static const char *const set_name[EV_N] = { "Holdout", "Holdout random-selection exams",
	                                            "Training random-selection exams" };
	for (int s = 0; s < EV_N; s++) {
		const evalset *e = &ev->set[s][RS_TUNED];
		rc |= er_buf_printf(b, "%s (arrivals %s..%s): %.0f examined, %.0f findings", set_name[s],
		                    s == EV_TRAIN_RANDOM ? d0 : c1, s == EV_TRAIN_RANDOM ? c0 : d1, e->n,
		                    e->f);
		if (e->n > 0)
			rc |= er_buf_printf(b, "; model: %.1f findings expected, log-loss %.4f", e->pred,
			                    e->logloss / e->n);
		rc |= er_buf_putc(b, '\n');
		if (e->n <= 0)
			continue;
		rc |= er_buf_puts(b, "                       current   tuned\n");
		for (int k = 0; k < 3; k++)
			rc |= er_buf_printf(b, "  precision at %d %%     %.4f    %.4f\n",
			                    (int)(g_topk[k] * 100 + 0.5), ev->met[s][RS_CUR].prec[k],
			                    ev->met[s][RS_TUNED].prec[k]);
		for (int k = 0; k < 3; k++)
			if (ev->met[s][RS_CUR].have_rec)
				rc |= er_buf_printf(b, "  recall at %d %%        %.4f    %.4f\n",
				                    (int)(g_topk[k] * 100 + 0.5), ev->met[s][RS_CUR].rec[k],
				                    ev->met[s][RS_TUNED].rec[k]);
		if (ev->met[s][RS_CUR].have_auc)
			rc |= er_buf_printf(b, "  AUC                  %.4f    %.4f\n", ev->met[s][RS_CUR].auc,
			                    ev->met[s][RS_TUNED].auc);
		else
			rc |= er_buf_puts(b, "  AUC                  n/a (needs findings and clean exams)\n");
	}
	rc |= er_buf_puts(b, "Exam rate per current lane on the holdout (observed vs predicted):\n");
	for (int l = ER_LANE_RED; l >= 0; l--) {
		double n = ev->lane_rows[l], e = ev->lane_exam[l];
		rc |= er_buf_printf(b, "  %-6s %9.0f rows  observed %.4f  current %.4f  tuned %.4f\n",
		                    er_lane_name(l), n, n > 0 ? e / n : 0.0, R->r->exam_prob[l],
		                    F->exam_prob[l]);
	}
	return rc;
}

/* ============================================================= rules file */

static const char NOTES_BEGIN[] = "; ---- examrisk calibrate ----";
static const char NOTES_END[] = "; ---- end of calibrate notes ----";

static int starts(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	return n >= k && memcmp(p, s, k) == 0;
}

/* New value text for key in section sec, or NULL to keep the line. */
static const char *new_value(const calrun *R, const char *sec, const char *key, size_t kn,
                             const char *val, size_t vn, char *buf, size_t cap)
{
	char vz[64];
	if (vn >= sizeof vz)
		return NULL;
	memcpy(vz, val, vn);
	vz[vn] = '\0';
	long old = strtol(vz, NULL, 10);
	if (!strcmp(sec, "score")) {
		int v = er_ieq(key, kn, "base") ? R->ps.base : er_ieq(key, kn, "red") ? R->red_default
		      : er_ieq(key, kn, "yellow") ? R->yellow_default : -1000;
		if (v == -1000 || v == old)
			return NULL;
		snprintf(buf, cap, "%d", v);
		return buf;
	}
	if (!strcmp(sec, "points")) {
		for (int i = 0; i < ER_NREASONS; i++) {
			if (!er_ieq(key, kn, er_reason_name(i)))
				continue;
			if (R->ps.pts[i] == old)
				return NULL;
			snprintf(buf, cap, "%d", R->ps.pts[i]);
			return buf;
		}
		return NULL;
	}
	if (!strcmp(sec, "hs_watch") || !strcmp(sec, "origin_watch")) {
		int v = scaled(!strcmp(sec, "hs_watch") ? R->ps.hs_mult : R->ps.org_mult, (int)old);
		if (v == old)
			return NULL;
		snprintf(buf, cap, "%d", v);
		return buf;
	}
	if (!strcmp(sec, "exam_probability") && R->have_fit) {
		int l = er_ieq(key, kn, "red") ? ER_LANE_RED : er_ieq(key, kn, "yellow") ? ER_LANE_YELLOW
		      : er_ieq(key, kn, "green") ? ER_LANE_GREEN : -1;
		if (l < 0 || R->F.exam_prob_kept[l])
			return NULL;
		snprintf(buf, cap, "%.4f", R->F.exam_prob[l]);
		return buf;
	}
	return NULL;
}

/* The tuned file: the notes, then the starting rules line by line with the
 * fitted values put in (the old value kept in a comment), an old [lanes]
 * section and old notes dropped, then the new [lanes] section. */
static int build_rules(const calrun *R, const er_buf *notes, const er_buf *src, er_buf *out)
{
	int rc = er_buf_printf(out, "%s\n", NOTES_BEGIN);
	for (size_t i = 0; i < notes->len;) {
		const char *e = memchr(notes->p + i, '\n', notes->len - i);
		size_t n = e ? (size_t)(e - (notes->p + i)) : notes->len - i;
		rc |= er_buf_printf(out, "; %.*s\n", (int)n, notes->p + i);
		i += n + 1;
	}
	rc |= er_buf_printf(out, "%s\n", NOTES_END);
	char sec[32] = "";
	int in_notes = 0;
	for (size_t i = 0; i < src->len;) {
		const char *line = src->p + i;
		const char *e = memchr(line, '\n', src->len - i);
		size_t n = e ? (size_t)(e - line) : src->len - i;
		i += n + (e != NULL);
		const char *t = line;
		size_t tn = n;
		er_trim(&t, &tn);
		if (in_notes) {
			in_notes = !starts(t, tn, NOTES_END);
			continue;
		}
		if (starts(t, tn, NOTES_BEGIN)) {
			in_notes = 1;
			continue;
		}
		if (tn && t[0] == '[') {
			const char *close = memchr(t, ']', tn);
			size_t sn = close ? (size_t)(close - t - 1) : 0;
			const char *sp = t + 1;
			er_trim(&sp, &sn);
			snprintf(sec, sizeof sec, "%.*s", (int)(sn < sizeof sec ? sn : sizeof sec - 1), sp);
			for (char *c = sec; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		}
		if (!strcmp(sec, "lanes"))
			continue;
		const char *eq = tn && t[0] != ';' && t[0] != '#' ? memchr(t, '=', tn) : NULL;
		if (eq) {
			const char *k = t, *v = eq + 1;
			size_t kn = (size_t)(eq - t), vn = tn - kn - 1;
			er_trim(&k, &kn);
			/* value ends at an inline " ;" / " #" comment */
			for (size_t j = 1; j < vn; j++)
				if ((v[j] == ';' || v[j] == '#') && (v[j - 1] == ' ' || v[j - 1] == '\t')) {
					vn = j;
					break;
				}
			er_trim(&v, &vn);
			char buf[64];
			const char *nv = new_value(R, sec, k, kn, v, vn, buf, sizeof buf);
			if (nv) {
				rc |= er_buf_printf(out, "%.*s = %s ; calibrate: was %.*s\n", (int)kn, k, nv,
				                    (int)vn, v);
				continue;
			}
		}
		rc |= er_buf_append(out, line, n);
		rc |= er_buf_putc(out, '\n');
	}
	rc |= er_buf_puts(out, "\n[lanes]\n"
	                  "; Per-mode lane thresholds (examrisk calibrate). A shipment whose score is\n"
	                  "; above red.MODE is RED; one exactly at it is RED when a keyed hash of its\n"
	                  "; shipment_id falls below red_share.MODE (the same for yellow), so the\n"
	                  "; share of a mode's shipments in each lane is met exactly on the population\n"
	                  "; fitted, whatever the ties. The random selection adds its own RED.\n");
	for (int m = 0; m < ER_NTMODES; m++) {
		const lane_fit *L = &R->lf[m];
		const char *mn = er_transport_name(m);
		rc |= er_buf_printf(out, "red.%s = %d\n", mn, L->red);
		if (L->red_k < NB)
			rc |= er_buf_printf(out, "red_share.%s = %.8f\n", mn, share_of(L->red_k));
		rc |= er_buf_printf(out, "yellow.%s = %d\n", mn, L->yellow);
		if (L->yellow_k < NB && L->yellow < L->red)
			rc |= er_buf_printf(out, "yellow_share.%s = %.8f\n", mn, share_of(L->yellow_k));
	}
	return rc;
}

static int write_atomic(const char *path, const char *p, size_t n, char *err, size_t errlen)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16);
	if (!tmp) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	snprintf(tmp, pl + 16, "%s.tmp%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;
	if (f && fflush(f) != 0)
		ok = 0;
	if (f && fsync(fileno(f)) != 0)
		ok = 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* ================================================================= report */

static json_t *jmetrics(const metrics *m, const evalset *e)
{
	json_t *o = json_object(), *p = json_object(), *r = json_object();
	static const char *const k[3] = { "1", "2", "5" };
	for (int i = 0; i < 3; i++) {
		json_object_set_new(p, k[i], e->n > 0 ? json_real(m->prec[i]) : json_null());
		json_object_set_new(r, k[i], m->have_rec ? json_real(m->rec[i]) : json_null());
	}
	json_object_set_new(o, "precision_at_pct", p);
	json_object_set_new(o, "recall_at_pct", r);
	json_object_set_new(o, "auc", m->have_auc ? json_real(m->auc) : json_null());
	return o;
}

static json_t *jtarget(double t)
{
	return t >= 0 ? json_real(t) : json_null();
}

static json_t *build_report(const calrun *R)
{
	const collector *C = R->C;
	const er_calib_opts *o = R->o;
	char d0[11], d1[11];
	fmt_day(C->day_lo, d0);
	fmt_day(C->day_hi, d1);
	json_t *j = json_object();
	json_object_set_new(j, "engine", json_string("examrisk " ER_VERSION_STRING));
	json_object_set_new(j, "rules_in", json_string(R->r->path));
	json_object_set_new(j, "rules_out", json_string(o->out_path));
	json_t *pop = json_object(), *files = json_array(), *bym = json_object();
	for (int i = 0; i < o->run.ninputs; i++)
		json_array_append_new(files, json_string(o->run.inputs[i]));
	json_object_set_new(pop, "files", files);
	json_object_set_new(pop, "rows", json_integer((json_int_t)C->rows));
	json_object_set_new(pop, "rejected", json_integer((json_int_t)R->stats->rows_rejected));
	json_object_set_new(pop, "arrival_from", json_string(d0));
	json_object_set_new(pop, "arrival_to", json_string(d1));
	json_object_set_new(pop, "patterns", json_integer((json_int_t)C->na));
	json_object_set_new(pop, "patterns_by_day_and_lane", json_integer((json_int_t)C->nb));
	for (int m = 0; m < ER_NTMODES; m++)
		json_object_set_new(bym, er_transport_name(m), json_integer((json_int_t)C->rows_mode[m]));
	json_object_set_new(pop, "rows_by_mode", bym);
	json_object_set_new(j, "population", pop);

	json_t *lanes = json_object();
	for (int m = 0; m < ER_NTMODES; m++) {
		const lane_fit *L = &R->lf[m];
		json_t *x = json_object();
		json_object_set_new(x, "rows", json_integer((json_int_t)L->rows));
		json_object_set_new(x, "target_red", jtarget(L->target_red));
		json_object_set_new(x, "red", json_integer(L->red));
		json_object_set_new(x, "red_share", json_real(share_of(L->red_k)));
		json_object_set_new(x, "achieved_red", L->rows ? json_real(L->achieved_red) : json_null());
		json_object_set_new(x, "current_red", L->rows ? json_real(R->cur[m].current_red) : json_null());
		json_object_set_new(x, "target_yellow", jtarget(L->target_yellow));
		json_object_set_new(x, "yellow", json_integer(L->yellow));
		json_object_set_new(x, "yellow_share", json_real(L->yellow < L->red ? share_of(L->yellow_k) : 1.0));
		json_object_set_new(x, "achieved_yellow", L->rows ? json_real(L->achieved_yellow) : json_null());
		json_object_set_new(x, "current_yellow", L->rows ? json_real(R->cur[m].current_yellow) : json_null());
		json_object_set_new(lanes, er_transport_name(m), x);
	}
	json_object_set_new(j, "lanes", lanes);
	json_t *pts = json_object();
	json_object_set_new(pts, "base", json_integer(R->ps.base));
	for (int i = 0; i < ER_NREASONS; i++) {
		if (i == ER_R_HS_WATCH || i == ER_R_ORIGIN_WATCH)
			continue;
		json_object_set_new(pts, er_reason_name(i), json_integer(R->ps.pts[i]));
	}
	json_object_set_new(j, "points", pts);
	if (!R->have_fit) {
		json_object_set_new(j, "outcomes", json_null());
		return j;
	}
	const fitres *F = &R->F;
	const er_outcomes *oc = C->oc;
	json_t *oj = json_object();
	json_object_set_new(oj, "file", json_string(o->outcomes_path));
	json_object_set_new(oj, "rows", json_integer((json_int_t)oc->n));
	json_object_set_new(oj, "examined", json_integer((json_int_t)oc->examined));
	json_object_set_new(oj, "findings", json_integer((json_int_t)oc->findings));
	json_object_set_new(oj, "ids_not_in_manifests", json_integer((json_int_t)R->oc_unseen));
	json_object_set_new(oj, "manifest_rows_without_record",
	                    json_integer((json_int_t)(C->rows - C->rows_listed)));
	json_object_set_new(j, "outcomes", oj);
	char c0[11], c1[11];
	fmt_day(F->cut - 1, c0);
	fmt_day(F->cut, c1);
	json_t *fj = json_object(), *co = json_object();
	json_object_set_new(fj, "training_to", json_string(c0));
	json_object_set_new(fj, "holdout_from", json_string(c1));
	json_object_set_new(fj, "examined", json_real(F->train_exam));
	json_object_set_new(fj, "findings", json_real(F->train_find));
	json_object_set_new(fj, "patterns", json_integer((json_int_t)F->groups));
	json_object_set_new(fj, "l2", json_real(o->l2 > 0 ? o->l2 : DEFAULT_L2));
	json_object_set_new(fj, "iterations", json_integer(F->info.iterations));
	json_object_set_new(fj, "loglik", json_real(F->info.loglik));
	json_object_set_new(fj, "points_per_logit", json_real(F->K));
	json_object_set_new(fj, "intercept_logit", json_real(F->beta[0]));
	for (int i = 0; i < ER_NREASONS; i++) {
		if (F->col_of[i] < 0)
			continue;
		json_t *c = json_object();
		json_object_set_new(c, "logit", json_real(F->beta[F->col_of[i]]));
		json_object_set_new(c, "points_current", json_integer(R->r->points[i]));
		json_object_set_new(c, "points_tuned", json_integer(R->ps.pts[i]));
		json_object_set_new(co, er_reason_name(i), c);
	}
	json_object_set_new(fj, "coefficients", co);
	json_object_set_new(fj, "hs_watch_scale", json_real(R->ps.hs_mult));
	json_object_set_new(fj, "origin_watch_scale", json_real(R->ps.org_mult));
	json_object_set_new(fj, "constraints", json_string(F->notes));
	json_object_set_new(j, "fit", fj);
	static const char *const set_key[EV_N] = { "holdout", "holdout_random_exams",
	                                           "training_random_exams" };
	for (int s = 0; s < EV_N; s++) {
		const evalset *e = &R->ev.set[s][RS_TUNED];
		json_t *x = json_object();
		json_object_set_new(x, "examined", json_real(e->n));
		json_object_set_new(x, "findings", json_real(e->f));
		json_object_set_new(x, "model_expected_findings", json_real(e->pred));
		json_object_set_new(x, "model_logloss", e->n > 0 ? json_real(e->logloss / e->n) : json_null());
		json_object_set_new(x, "current", jmetrics(&R->ev.met[s][RS_CUR], &R->ev.set[s][RS_CUR]));
		json_object_set_new(x, "tuned", jmetrics(&R->ev.met[s][RS_TUNED], e));
		json_object_set_new(j, set_key[s], x);
	}
	json_t *cal = json_array();
	for (int l = ER_LANE_RED; l >= 0; l--) {
		json_t *x = json_object();
		double n = R->ev.lane_rows[l], e = R->ev.lane_exam[l];
		json_object_set_new(x, "lane", json_string(er_lane_name(l)));
		json_object_set_new(x, "rows", json_real(n));
		json_object_set_new(x, "examined", json_real(e));
		json_object_set_new(x, "observed", n > 0 ? json_real(e / n) : json_null());
		json_object_set_new(x, "predicted_current", json_real(R->r->exam_prob[l]));
		json_object_set_new(x, "predicted_tuned", json_real(F->exam_prob[l]));
		json_array_append_new(cal, x);
	}
	json_object_set_new(j, "calibration", cal);
	return j;
}

/* ==================================================================== run */

/* A message through the run's log (er_log.h: the embedder's callback, else
 * stderr), tagged "calibrate: "; --quiet keeps only errors. */
static void say(const er_calib_opts *o, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(const er_calib_opts *o, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	er_log L;
	er_log_init(&L, o->run.log, o->run.log_ctx, o->run.quiet);
	er_log_msg(&L, level, "calibrate: %s", msg);
	er_log_destroy(&L);
}

static void collector_free(collector *C)
{
	map_free(&C->ma);
	map_free(&C->mb);
	free(C->a);
	free(C->b);
	er_outcomes_free(C->oc);
}

er_status er_calibrate_run(const er_tables *t, const er_rules *r, const er_calib_opts *o)
{
	char err[1024] = "";
	er_status st = ER_OK;
	collector C;
	memset(&C, 0, sizeof C);
	calrun *R = calloc(1, sizeof *R);
	hist_t *H = malloc(sizeof(hist_t) * ER_NTMODES);
	er_buf notes = { 0 }, src = { 0 }, out = { 0 };
	er_run_stats stats;
	char *rep = NULL;
	json_t *jr = NULL;
	er_rules *check = NULL;
	int printed = 0;
	if (!R || !H) {
		st = ER_E_NOMEM;
		snprintf(err, sizeof err, "out of memory");
		goto out;
	}
	R->r = r;
	R->o = o;
	R->C = &C;
	R->stats = &stats;
	int any_target = 0;
	for (int m = 0; m < ER_NTMODES; m++)
		any_target |= o->target_red[m] >= 0 || o->target_yellow[m] >= 0;
	if (!o->out_path || !*o->out_path) {
		st = ER_E_USAGE;
		snprintf(err, sizeof err, "--out TUNED.ini is required");
		goto out;
	}
	if (!any_target && !o->outcomes_path) {
		st = ER_E_USAGE;
		snprintf(err, sizeof err, "nothing to fit: give --target-red / --target-yellow "
		         "MODE=RATE, --outcomes FILE, or both");
		goto out;
	}
	if (er_rules_read_file(r->path, &src) < 0) {
		st = ER_E_IO;
		snprintf(err, sizeof err, "%s: %s", r->path, strerror(errno));
		goto out;
	}
	if (o->outcomes_path) {
		st = er_outcomes_load(o->outcomes_path, &C.oc, err, sizeof err);
		if (st != ER_OK)
			goto out;
		C.want_b = 1;
		say(o, ER_LOG_INFO, "%s: %llu outcome rows, %llu examined, %llu findings", o->outcomes_path,
		    (unsigned long long)C.oc->n, (unsigned long long)C.oc->examined,
		    (unsigned long long)C.oc->findings);
	}

	er_row_sink sink = { sink_encode, sink_merge, &C };
	st = er_pipeline_run_sink(t, r, &o->run, &sink, &stats);
	if (st != ER_OK) {
		printed = 1; /* the pipeline said why */
		goto out;
	}
	if (C.rows == 0) {
		st = ER_E_FORMAT;
		snprintf(err, sizeof err, "no row could be scored: nothing to fit");
		goto out;
	}
	R->oc_unseen = oc_unseen(C.oc);
	/* sorted patterns: every sum below runs in the same order at any --threads */
	map_free(&C.ma);
	map_free(&C.mb);
	qsort(C.a, C.na, sizeof *C.a, cmp_a);
	if (C.nb)
		qsort(C.b, C.nb, sizeof *C.b, cmp_b);
	for (int m = 0; m < ER_NTMODES; m++)
		if ((o->target_red[m] >= 0 || o->target_yellow[m] >= 0) && !C.rows_mode[m])
			say(o, ER_LOG_WARNING, "warning: no %s shipment in the population: its target is ignored",
			    er_transport_name(m));

	current_shares(&C, r, R->cur, H);
	ptset_of_rules(r, &R->curps);
	R->ps = R->curps;
	if (o->outcomes_path) {
		if (C.oc->examined == 0) {
			st = ER_E_FORMAT;
			snprintf(err, sizeof err, "%s: no row has examined = 1: nothing to learn from",
			         o->outcomes_path);
			goto out;
		}
		if (C.rows_listed == 0) {
			st = ER_E_FORMAT;
			snprintf(err, sizeof err, "%s: none of its %llu shipment ids is in the manifests",
			         o->outcomes_path, (unsigned long long)C.oc->n);
			goto out;
		}
		if (o->have_holdout_from) {
			R->F.cut = o->holdout_from;
		} else {
			int32_t span = C.day_hi - C.day_lo + 1;
			int32_t hd = (int32_t)floor(0.2 * span + 0.5);
			if (hd < 1)
				hd = 1;
			R->F.cut = C.day_hi - hd + 1;
		}
		if (R->F.cut <= C.day_lo) {
			st = ER_E_USAGE;
			char d0[11];
			fmt_day(C.day_lo, d0);
			snprintf(err, sizeof err, "the holdout starts on or before the first arrival date %s: "
			         "no days left to fit on (use --holdout-from, or more days of data)", d0);
			goto out;
		}
		if (fit_points(&C, r, o->l2 > 0 ? o->l2 : DEFAULT_L2, &R->F, &R->ps, err, sizeof err) < 0) {
			st = ER_E_FORMAT;
			goto out;
		}
		R->have_fit = 1;
		tier_order(&R->ps, R->F.notes, sizeof R->F.notes);
	}
	/* lanes, then the statute against the lowest RED threshold they put in
	 * force; a bound that moves scores re-derives the lanes */
	for (int pass = 0;; pass++) {
		solve_lanes(&C, &R->ps, r, o, R->cur, R->have_fit, R->lf, &R->red_default,
		            &R->yellow_default, H);
		if (!tier_bounds(&C, &R->ps, red_min_of(R->lf), R->F.notes, sizeof R->F.notes))
			break;
		if (pass == 8) {
			st = ER_E_FORMAT;
			snprintf(err, sizeof err, "the Tier 1 credit and the lane thresholds did not settle");
			goto out;
		}
	}
	if (fit_ranges(&C, &R->ps, R->F.notes, sizeof R->F.notes, err, sizeof err) < 0) {
		st = ER_E_FORMAT;
		goto out;
	}
	if (R->have_fit) {
		fit_exam_prob(&C, r, &R->F);
		evaluate(&C, &R->curps, &R->ps, &R->F, &R->ev);
		if (R->ev.set[EV_HOLD][RS_TUNED].n == 0)
			say(o, ER_LOG_WARNING, "warning: no examined shipment in the holdout: the tuned rules are not "
			    "evaluated");
		else if (R->ev.set[EV_HOLD][RS_TUNED].f == 0)
			say(o, ER_LOG_WARNING, "warning: no finding in the holdout: recall and AUC are not defined");
	}

	if (build_notes(R, &notes) < 0 || build_rules(R, &notes, &src, &out) < 0) {
		st = ER_E_NOMEM;
		snprintf(err, sizeof err, "out of memory");
		goto out;
	}
	if (write_atomic(o->out_path, out.p, out.len, err, sizeof err) < 0) {
		st = ER_E_IO;
		goto out;
	}
	/* the promise: score --rules TUNED.ini takes the file as it is */
	char e2[600];
	if (er_rules_load(o->out_path, &check, e2, sizeof e2) != ER_OK) {
		st = ER_E_INTERNAL;
		snprintf(err, sizeof err, "the tuned rules do not load (%s); please report this", e2);
		unlink(o->out_path);
		goto out;
	}
	if (o->report_path) {
		jr = build_report(R);
		rep = jr ? json_dumps(jr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))
		         : NULL;
		if (!rep) {
			st = ER_E_NOMEM;
			snprintf(err, sizeof err, "out of memory");
			goto out;
		}
		size_t rl = strlen(rep);
		char *rn = realloc(rep, rl + 2);
		if (!rn) {
			st = ER_E_NOMEM;
			goto out;
		}
		rep = rn;
		rep[rl] = '\n';
		rep[rl + 1] = '\0';
		if (write_atomic(o->report_path, rep, rl + 1, err, sizeof err) < 0) {
			st = ER_E_IO;
			goto out;
		}
	}
	if (!o->run.quiet) {
		for (size_t i = 0; i < notes.len;) { /* the notes, line by line */
			const char *e = memchr(notes.p + i, '\n', notes.len - i);
			size_t n = e ? (size_t)(e - (notes.p + i)) : notes.len - i;
			say(o, ER_LOG_INFO, "%.*s", (int)n, notes.p + i);
			i += n + 1;
		}
		say(o, ER_LOG_INFO, "wrote %s%s%s", o->out_path, o->report_path ? " and " : "",
		    o->report_path ? o->report_path : "");
	}
out:
	if (st != ER_OK && !printed)
		say(o, ER_LOG_ERROR, "%s", err[0] ? err : er_status_str(st));
	er_rules_free(check);
	json_decref(jr);
	free(rep);
	er_buf_free(&notes);
	er_buf_free(&src);
	er_buf_free(&out);
	collector_free(&C);
	free(R);
	free(H);
	return st;
}
