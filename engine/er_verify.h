/* er_verify.h - partner look-up (`examrisk verify`): find parties by id or by
 * normalized name and report their certification on a date, MRA recognition
 * and full status history, as the CTPAT portal's partner search does. Also
 * the "good standing" rule shared with the partner audit (er_partners.c).
 * Reads the immutable tables only: safe from any thread. */
#ifndef ER_VERIFY_H
#define ER_VERIFY_H

#include <stdint.h>
#include "examrisk.h"
#include "er_rollup.h" /* er_emit_fn */
#include "er_table.h"

/* Most name matches reported per query. */
#define ER_VERIFY_MAX_MATCHES 20

/*
 * Standing of party "p" on "day". A party is in good standing when a period
 * in force on that day is certified or validated in CTPAT, or in a foreign
 * program MRA-recognized on that day for the party's country.
 * Sets *cert to the period to report (a CTPAT period in good standing first,
 * then a recognized foreign one, else the best-standing period in force;
 * NULL when none is in force) and *mra to 1 / 0 when *cert is a foreign
 * program recognized / not recognized on day, -1 when *cert is CTPAT or NULL.
 * Either out pointer may be NULL. Returns 1 in good standing, else 0
 * (also for p == NULL).
 */
int er_verify_standing(const er_tables *t, const er_party *p, int32_t day,
                       const er_cert **cert, int *mra);

/* The MRA row of a foreign program for a country (NULL when none). */
const er_mra *er_verify_mra_row(const er_tables *t, const char *program, const char country[2]);

/*
 * Look up each of the "nq" queries among the parties having one of "roles"
 * (ER_TR_* bits; 0 = every role, e.g. er_role_fits(ER_ROLE_SHIPPER) for
 * what a shipper column would match): an exact party id match
 * (case-sensitive) gives that party; otherwise parties whose normalized name
 * equals, starts with, or contains the normalized query, in that order, then
 * by party id, at most ER_VERIFY_MAX_MATCHES per query (an empty normalized
 * query matches nothing). Standing is reported as of "on_day".
 *
 * Human output (csv == 0), per query:
 *   query "Q": N match(es) by id|name        (or: query "Q": no match)
 *   then per match, a blank line and
 *   ID  NAME (CC, ROLE)
 *     on DATE: PROGRAM STATUS[ tier T] since FROM[; MRA ...]
 *        or:   not certified (no period in force)
 *     MRA part, foreign program only: "MRA recognized (PARTNER)",
 *        "MRA not recognized on DATE (PARTNER)" or "no MRA for PROGRAM in CC"
 *     history:
 *       PROGRAM STATUS tier T|- FROM to TO|open       (one line per period)
 * CSV output (csv != 0): the header
 *   query,party_id,name,country,role,program,status_on_date,tier,since,mra_recognized,history
 * then one row per match; program/status_on_date "none" and tier/since empty
 * when no period is in force; mra_recognized 1/0 for a foreign program, empty
 * otherwise; history = periods joined by ';' as program:status:tier:from:to
 * (tier and to empty when none / open).
 *
 * Returns the total number of matches, or -1 on ENOMEM or when emit fails.
 */
int er_verify_run(const er_tables *t, const char *const *queries, int nq, int32_t on_day,
                  int csv, unsigned roles, er_emit_fn emit, void *ctx);

#endif
