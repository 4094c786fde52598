/* er_calibrate.h - examrisk calibrate: fit a rules file to a reference
 * population (lane quotas per mode) and, given exam outcomes, learn the
 * points of every reason code; evaluate on a time-based holdout; write the
 * tuned rules.ini and a JSON report. */
#ifndef ER_CALIBRATE_H
#define ER_CALIBRATE_H

#include <stdint.h>
#include "examrisk.h"

/* Tie-split resolution: lanes shares are multiples of 1/ER_CAL_BUCKETS, so
 * the achieved share on the fitted population is known exactly, and a quota
 * misses by at most half a bucket: 1/512 of the rows at the threshold score. */
#define ER_CAL_BUCKETS 256

typedef struct er_calib_opts {
	er_run_opts run;                   /* inputs, threads, map, ...; no outputs */
	double target_red[ER_NTMODES];     /* < 0 = not given */
	double target_yellow[ER_NTMODES];  /* share of YELLOW (not counting RED); < 0 = not given */
	const char *outcomes_path;         /* NULL = lane quotas only */
	int have_holdout_from;
	int32_t holdout_from;              /* day number (er_parse_date) */
	const char *report_path;           /* JSON; NULL = none */
	const char *out_path;              /* tuned rules.ini (required) */
	double l2;                         /* 0 = default 1.0 */
} er_calib_opts;

void er_calib_opts_init(er_calib_opts *o);

/* Parse "MODE=RATE" (mode name as in [lanes], rate 0..1) into targets[mode].
 * 0 or -1 with a message in err. */
int er_calib_parse_target(const char *arg, double *targets, char *err, size_t errlen);

/* Run calibrate. Messages and the report text go to stderr (unless
 * o->run.quiet, which keeps only errors). */
er_status er_calibrate_run(const er_tables *t, const er_rules *r, const er_calib_opts *o);

/* ---- pieces exposed for the unit tests ---- */

/* Lane thresholds of one mode from its score histogram h[101][ER_CAL_BUCKETS]
 * (rows per score per tie bucket). For a RED share target: *thr, *share_k
 * (share = share_k / ER_CAL_BUCKETS) and the achieved row count. above_extra
 * is unused for RED (0); for YELLOW pass the RED threshold in red_thr (YELLOW
 * is searched below it) and target as the share of rows at or above YELLOW. */
void er_cal_threshold(const uint64_t (*h)[ER_CAL_BUCKETS], double target, int red_thr,
                      int *thr, int *share_k, uint64_t *achieved);

/* Rows of h at or above (thr, share_k) in the lane order of er_rules_lane. */
uint64_t er_cal_count_at_or_above(const uint64_t (*h)[ER_CAL_BUCKETS], int thr, int share_k);

/* Row pattern keys: a fired mask of up to ER_CAL_KEY_MASK_BITS reason bits
 * (every reason code of the rules, wider than ER_NREASONS today), the mode and
 * the watch-list points of HS and origin (-128..127), packed and unpacked. */
#define ER_CAL_KEY_MASK_BITS 32
uint64_t er_cal_key(uint32_t mask, int mode, int hs, int org);
void er_cal_key_parts(uint64_t key, uint32_t *mask, int *mode, int *hs, int *org);

/* Outcomes table. */
typedef struct er_outcomes er_outcomes;
er_status er_outcomes_load(const char *path, er_outcomes **out, char *err, size_t errlen);
void er_outcomes_free(er_outcomes *oc);
/* 0 = not listed, 1 = listed not examined, 2 = examined no finding,
 * 3 = examined with finding. Marks the id as seen in the manifests. */
int er_outcomes_lookup(er_outcomes *oc, const char *id, size_t n);
uint64_t er_outcomes_rows(const er_outcomes *oc);

#endif
