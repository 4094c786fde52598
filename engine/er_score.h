/* er_score.h - the scorer in two halves, so a caller can start the next
 * row's look-ups (hash, prefetch) before it scores the current one. */
#ifndef ER_SCORE_H
#define ER_SCORE_H

#include "examrisk.h"
#include "er_sdn.h"
#include "er_table.h"

/* What er_score_start began for one row: the id probes of every role (in
 * enum er_role order) and the SDN screen's cache probes. It points into the
 * row's bytes, which must stay put until er_score_finish. */
typedef struct er_score_probe {
	er_id_probe id[ER_NROLES];
	er_sdn_rowq sdn;
} er_score_probe;

/* Hash the row's ids and names and prefetch their table slots. No result
 * depends on when this is called: er_score_finish(start(row)) is
 * er_score_row_sdn(row). */
void er_score_start(const er_tables *t, const er_sdn *sdn, const er_row *row,
                    er_score_probe *q);
er_status er_score_finish(const er_tables *t, const er_rules *r, const er_sdn *sdn,
                          const er_row *row, const er_score_probe *q, er_result *res);

#endif
