/* er_gen_exams.h - examrisk-gen --outcomes: an exam history for a generated
 * manifest, drawn from a hidden violation model (benchmarks/README.md). */
#ifndef ER_GEN_EXAMS_H
#define ER_GEN_EXAMS_H

#include <stdint.h>

/* Score manifest (with DIR's tables and the rules file) and write
 * DIR/exams.csv: shipment_id,examined,finding,selected_by. The draws of a
 * shipment depend only on seed and its id. 0, or -1 with a message on stderr. */
int gen_exams_write(const char *dir, const char *manifest, const char *rules, uint64_t seed,
                    int threads);

#endif
