/* er_sdn.h - restricted-party screening: OFAC's Specially Designated
 * Nationals list (sdn.csv, alt.csv, add.csv as OFAC publishes them), indexed
 * at load for a fuzzy, token-based name screen on every row. Immutable after
 * er_sdn_load() but for the answer cache the screens share (er_sdn_screen);
 * any number of threads may screen at once.
 *
 * Files (no header row; "-0-" marks an empty field; plain or gzip):
 *   sdn.csv  ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign,
 *            Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks
 *   alt.csv  ent_num, alt_num, alt_type, alt_name, alt_remarks
 *   add.csv  ent_num, add_num, address, city_state_province_postal, country,
 *            add_remarks
 * Primary names and aliases of individuals and entities are screened;
 * vessels and aircraft (SDN_Type vessel / aircraft) are not parties and are
 * left out. add.csv is validated (fields, ent_num known) and counted; its
 * free-text countries are not used for matching.
 *
 * Matching: both sides go through er_name_normalize() (the party matcher's
 * normalizer), are cut into tokens, and are compared token by token: equal
 * tokens score 1, tokens with the same transliteration key (consonant
 * skeleton with Latin accents folded: MUHAMMAD = MOHAMMED, YUSUF = YOUSSEF,
 * QADHAFI = GADDAFI, MULLER = MÜLLER; the folded letters must also be at
 * least 0.75 Jaro-Winkler alike) 0.92, an abbreviation (MOHD, INTL: the
 * first letter and the rest in order) 0.85, an initial 0.75, other close
 * spellings their Jaro-Winkler similarity when it is at least 0.9 (x 0.95).
 * Tokens pair off one to one, best pairs first, and the similarity is the
 * weighted share of paired tokens on both sides, each token weighing its
 * rarity in the list (log2(1 + names / names holding it); a token the list
 * never uses weighs most), so "TRADING" counts little and token order not at
 * all. Candidates come from an index built at load (token -> names,
 * transliteration key -> tokens): a candidate must share exactly or by
 * transliteration tokens worth at least 60 % of the name's weight and of its
 * own (a prefix filter, so only the postings of the name's rarest tokens are
 * read), which also means a name reaching the review band only through
 * abbreviations and misspellings is not looked for. Best candidates below
 * 0.6 are not reported. Ties: primary name before alias, then lower
 * ent_num. */
#ifndef ER_SDN_H
#define ER_SDN_H

#include <stddef.h>
#include <stdint.h>
#include "examrisk.h"

/* Best candidate for one name. ent_num 0 = nothing similar at all. */
typedef struct er_sdn_hit {
	int32_t ent_num;
	uint16_t sim;   /* similarity x 1000, 0..1000 */
	uint8_t alias;  /* 1 when the best name was an alias (alt.csv) */
} er_sdn_hit;

/* Screen one name (raw bytes as on the manifest; the first 256 bytes
 * count). Thread-safe. Answers are kept in a cache all threads share
 * without locks (keyed by a 64-bit hash of the name's bytes and the list;
 * grows with the distinct names up to 16 MiB, then takes no more), so a
 * repeated name costs a hash and one cache line, and a distinct name is
 * screened about once whatever the thread count. */
er_sdn_hit er_sdn_screen(const er_sdn *s, const char *name, size_t n);

/* A row's names in two steps: start hashes each name and begins loading its
 * cache slot, finish answers them all (same answers as er_sdn_screen, one
 * by one). The scorer starts a row's names early so the cache misses overlap
 * with the row's other work. A name with the bytes of an earlier one of the
 * row (the consignee is often the importer) gets its answer; the names whose
 * bit is set in lists are '|'-separated lists (er_sdn_screen_list). Names
 * must stay valid until finish; start and finish on the same thread. */
#define ER_SDN_ROW_MAX 8
typedef struct er_sdn_rowq {
	int n;
	unsigned lists;
	const void *ac;                  /* the answer cache's table, NULL without memory */
	const char *p[ER_SDN_ROW_MAX];
	size_t len[ER_SDN_ROW_MAX];
	uint64_t h[ER_SDN_ROW_MAX];
	int8_t same[ER_SDN_ROW_MAX];     /* an earlier name with these bytes, or -1 */
} er_sdn_rowq;
void er_sdn_row_start(const er_sdn *s, const er_field *names, int n, unsigned lists,
                      er_sdn_rowq *q);
void er_sdn_row_finish(const er_sdn *s, const er_sdn_rowq *q, er_sdn_hit *out);

/* Screen each name of a sep-separated list (e.g. several notify parties in
 * one field: "ACME LTD|JOHN DOE"; pieces trimmed, empty ones skipped) and
 * return the best answer (same order as one name's candidates). */
er_sdn_hit er_sdn_screen_list(const er_sdn *s, const char *p, size_t n, char sep);

/* The same without the answer cache (tests, measurements). */
er_sdn_hit er_sdn_screen_nocache(const er_sdn *s, const char *name, size_t n);
/* The same by comparing the name with every listed name (no index, no
 * filter bounds, no cap on candidates, no cache): the reference the tests
 * hold the fast screen to. */
er_sdn_hit er_sdn_screen_brute(const er_sdn *s, const char *name, size_t n);

/* The answer cache, for tests: reset empties it and sets the slots it
 * starts with and the most it may grow to (powers of 2, min <= max; not
 * while other threads screen with s; 0 ok, -1 no memory: then there is no
 * cache); info gives the slots of its current table and the names that
 * table holds. */
int er_sdn_cache_reset(er_sdn *s, uint32_t min, uint32_t max);
void er_sdn_cache_info(const er_sdn *s, uint32_t *slots, uint32_t *names);

/* Counts of what was loaded. */
typedef struct er_sdn_counts {
	uint32_t entries;    /* rows of sdn.csv */
	uint32_t screened;   /* of which individuals and entities */
	uint32_t aliases;    /* rows of alt.csv */
	uint32_t addresses;  /* rows of add.csv */
	uint32_t names;      /* names indexed (primary + aliases of screened entries) */
	uint32_t tokens;     /* distinct tokens */
} er_sdn_counts;
er_sdn_counts er_sdn_count(const er_sdn *s);

#endif
