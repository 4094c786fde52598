/* er_gen_exams.c - the exam history of examrisk-gen --outcomes.
 *
 * The engine scores the generated manifest (DIR's tables, the given rules)
 * to learn which reason codes fire on each shipment; the hidden "true
 * violation" model then gives each shipment a probability of carrying a
 * violation, and a CBP-like selection decides which shipments were examined:
 * the random compliance sample, targeting on a noisy view of the truth, and
 * the lanes of the rules in force (RED mostly examined). A finding needs an
 * exam and a violation. The model's weights are deliberately NOT the default
 * points (see the table below and benchmarks/README.md): calibrate has to
 * learn them. */
#include "er_gen_exams.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examrisk.h"
#include "er_util.h"

/* Log-odds of a violation per fired reason code (codes not listed: 0). */
static const struct { const char *name; double w; } g_truth[] = {
	{ "IMP_CTPAT_T1", -0.3 },  { "IMP_CTPAT_T2", -0.6 },   { "IMP_CTPAT_T3", -1.0 },
	{ "IMP_SUSPENDED", 1.6 },  { "IMP_REMOVED", 2.2 },     { "IMP_UNKNOWN", 0.9 },
	{ "SHP_CTPAT", -0.7 },     { "SHP_MRA", -0.5 },        { "SHP_AEO_UNRECOGNIZED", 0.3 },
	{ "SHP_UNKNOWN", 1.1 },    { "CARRIER_CTPAT", -0.1 },  { "FWD_CTPAT", -0.1 },
	{ "LCL", 0.2 },            { "VAGUE_DESC", 1.3 },      { "NO_HS", 0.1 },
	{ "LATE_FILING", 1.9 },    { "FAST", -0.3 },
};
#define TRUTH_BASE (-4.6)
#define TRUTH_HS_PER_POINT 0.12     /* HS watch entry points -> log-odds */
#define TRUTH_ORIGIN_PER_POINT 0.08
#define TRUTH_VAGUE_X_SHP_UNKNOWN 0.8 /* interactions */
#define TRUTH_LCL_X_IMP_UNKNOWN 0.6
#define TRUTH_IMPORTER_SD 0.6       /* unobserved importer effect */
#define VIEW_NOISE_SD 1.0           /* the officers' noisy view of the truth */
#define TARGET_CUTOFF (-1.0)        /* targeted when the view's log-odds exceed this */
#define P_EXAM_RED 0.6
#define P_EXAM_YELLOW 0.04
#define P_EXAM_GREEN 0.003

static uint64_t sm64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double unit(uint64_t *x)
{
	return (double)(sm64(x) >> 11) * 0x1p-53;
}

/* Standard normal (Box-Muller, one of the pair). */
static double normal(uint64_t *x)
{
	double u = unit(x), v = unit(x);
	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double sigmoid(double z)
{
	return 1.0 / (1.0 + exp(-z));
}

/* Split a CSV line (no quoted commas in score rows; quotes are stripped). */
static int split(char *line, char **f, int maxf)
{
	int n = 0;
	char *p = line;
	while (n < maxf) {
		f[n++] = p;
		char *c = strchr(p, ',');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	for (int i = 0; i < n; i++) {
		size_t l = strlen(f[i]);
		if (l >= 2 && f[i][0] == '"' && f[i][l - 1] == '"') {
			f[i][l - 1] = '\0';
			f[i]++;
		}
	}
	return n;
}

/* Truth log-odds from the reasons column "NAME:+15|NAME:-8|...". */
static double truth_logit(const char *reasons, int *random)
{
	double t = TRUTH_BASE;
	int vague = 0, shp_unknown = 0, lcl = 0, imp_unknown = 0;
	*random = 0;
	const char *p = reasons;
	while (*p) {
		const char *colon = strchr(p, ':'), *bar = strchr(p, '|');
		if (!colon)
			break;
		size_t n = (size_t)(colon - p);
		int pts = atoi(colon + 1);
		for (size_t i = 0; i < sizeof g_truth / sizeof g_truth[0]; i++)
			if (strlen(g_truth[i].name) == n && !memcmp(g_truth[i].name, p, n))
				t += g_truth[i].w;
		if (n == 8 && !memcmp(p, "HS_WATCH", 8))
			t += TRUTH_HS_PER_POINT * pts;
		if (n == 12 && !memcmp(p, "ORIGIN_WATCH", 12))
			t += TRUTH_ORIGIN_PER_POINT * pts;
		vague |= n == 10 && !memcmp(p, "VAGUE_DESC", 10);
		shp_unknown |= n == 11 && !memcmp(p, "SHP_UNKNOWN", 11);
		lcl |= n == 3 && !memcmp(p, "LCL", 3);
		imp_unknown |= n == 11 && !memcmp(p, "IMP_UNKNOWN", 11);
		*random |= n == 6 && !memcmp(p, "RANDOM", 6);
		if (!bar)
			break;
		p = bar + 1;
	}
	if (vague && shp_unknown)
		t += TRUTH_VAGUE_X_SHP_UNKNOWN;
	if (lcl && imp_unknown)
		t += TRUTH_LCL_X_IMP_UNKNOWN;
	return t;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int gen_exams_write(const char *dir, const char *manifest, const char *rules, uint64_t seed,
                    int threads)
{
	char err[1024];
	int rc = -1;
	er_tables *t = NULL;
	er_rules *r = NULL;
	FILE *in = NULL, *out = NULL;
	char *parts = join(dir, "participants.csv"), *mra = join(dir, "mra.csv");
	char *scores = join(dir, ".exams-scores.csv"), *exams = join(dir, "exams.csv");
	char *tmp = join(dir, ".exams.csv.tmp");
	char *line = NULL;
	size_t cap = 0;
	if (!parts || !mra || !scores || !exams || !tmp)
		goto out;
	if (er_tables_load(parts, mra, &t, err, sizeof err) != ER_OK ||
	    er_rules_load(rules, &r, err, sizeof err) != ER_OK) {
		fprintf(stderr, "examrisk-gen: %s\n", err);
		goto out;
	}
	er_run_opts o;
	er_run_opts_init(&o);
	const char *inputs[1] = { manifest };
	o.inputs = inputs;
	o.ninputs = 1;
	o.out_path = scores;
	o.keep = "importer_id";
	o.quiet = 1;
	o.threads = threads;
	if (er_run_score(t, r, &o, NULL) != ER_OK)
		goto out;
	in = fopen(scores, "r");
	out = fopen(tmp, "w");
	if (!in || !out)
		goto out;
	fputs("shipment_id,examined,finding,selected_by\n", out);
	ssize_t len;
	int first = 1;
	while ((len = getline(&line, &cap, in)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (first) {
			first = 0;
			continue;
		}
		char *f[12];
		if (split(line, f, 12) < 10)
			continue;
		/* every draw of a shipment from (seed, shipment_id) alone */
		uint64_t x = er_hash64(f[0], strlen(f[0]), seed ^ 0x4558414D53ull);
		uint64_t xi = er_hash64(f[9], strlen(f[9]), seed ^ 0x494D504Full);
		int random;
		double tl = truth_logit(f[3], &random) + TRUTH_IMPORTER_SD * normal(&xi);
		double view = tl + VIEW_NOISE_SD * normal(&x);
		double u_lane = unit(&x), u_find = unit(&x);
		const char *lane = f[2];
		double p_lane = !strcmp(lane, "RED") ? P_EXAM_RED : !strcmp(lane, "YELLOW") ? P_EXAM_YELLOW
		              : P_EXAM_GREEN;
		const char *by = random ? "random" : view > TARGET_CUTOFF ? "targeted"
		               : u_lane < p_lane ? "lane" : NULL;
		int examined = by != NULL;
		int finding = examined && u_find < sigmoid(tl);
		fprintf(out, "%s,%d,%d,%s\n", f[0], examined, finding, by ? by : "");
	}
	if (ferror(in) || fclose(out) != 0) {
		out = NULL;
		goto out;
	}
	out = NULL;
	if (rename(tmp, exams) != 0)
		goto out;
	rc = 0;
out:
	if (out)
		fclose(out);
	if (in)
		fclose(in);
	if (scores)
		remove(scores);
	if (rc < 0 && tmp)
		remove(tmp);
	er_rules_free(r);
	er_tables_free(t);
	free(line);
	free(parts);
	free(mra);
	free(scores);
	free(exams);
	free(tmp);
	return rc;
}
