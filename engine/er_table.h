/* er_table.h - the participants (CTPAT + foreign programs) and MRA tables,
 * indexed for lock-free as-of look-ups by all workers. Immutable after load. */
#ifndef ER_TABLE_H
#define ER_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include "examrisk.h"

enum er_cert_status {
	ER_ST_CERTIFIED, ER_ST_VALIDATED, ER_ST_SUSPENDED, ER_ST_REMOVED, ER_ST_WITHDRAWN,
	ER_NSTATUS
};
const char *er_cert_status_name(int st); /* "certified", ... */

/* One status period of one party in one program (one row of participants.csv). */
typedef struct er_cert {
	const char *program;  /* "CTPAT" or a foreign program code, e.g. "EU_AEO" */
	char country[3];      /* ISO alpha-2 of the party, NUL-terminated */
	uint8_t status;       /* enum er_cert_status */
	uint8_t tier;         /* 1..3, 0 = none given */
	uint8_t is_ctpat;     /* program == "CTPAT" */
	int32_t valid_from;   /* day, inclusive */
	int32_t valid_to;     /* day, exclusive (first day not in force); ER_DAY_MAX when open */
	uint32_t line;        /* line in the participants file */
} er_cert;

/* Participant roles, a closed list (SPEC 2), as bits of er_party.roles. */
enum {
	ER_TR_IMPORTER = 1, ER_TR_EXPORTER = 2, ER_TR_MANUFACTURER = 4, ER_TR_CARRIER = 8,
	ER_TR_FORWARDER = 16, ER_TR_ALL = 31, ER_NTROLES = 5
};
/* The ER_TR_* bit of a role name ("importer", ...; case-insensitive), 0 if
 * it is none of the five. */
unsigned er_table_role_parse(const char *s, size_t n);
/* The roles a manifest party column (enum er_role) matches: importer ->
 * importer; shipper -> exporter or manufacturer; manufacturer ->
 * manufacturer; carrier -> carrier; forwarder -> forwarder. */
unsigned er_role_fits(int role);

/* A party: its id, name and every certification period (sorted by program, then valid_from). */
typedef struct er_party {
	const char *id;
	const char *name;       /* as given in the table */
	const char *norm_name;  /* er_name_normalize() of name */
	char country[3];
	uint8_t roles;          /* ER_TR_* bits: every role its rows give */
	const char *role;       /* those roles' names joined by '|', e.g. "importer" */
	const er_cert *certs;
	uint32_t ncerts;
} er_party;

/* Find by exact party id (case-sensitive bytes). NULL if absent. */
const er_party *er_tables_find_id(const er_tables *t, const char *id, size_t n);

/* The same look-up in two steps: start hashes the id and begins loading the
 * cache line the look-up reads; finish completes it (same answer as
 * er_tables_find_id). Scoring starts a row's five look-ups first, so their
 * cache misses overlap with each other and with the row's validation. */
typedef struct er_id_probe {
	const char *id;
	size_t n;
	uint64_t h;
} er_id_probe;
er_id_probe er_tables_id_start(const er_tables *t, const char *id, size_t n);
const er_party *er_tables_id_finish(const er_tables *t, const er_id_probe *q);

/* Find by name + country among parties having one of roles (ER_TR_* bits):
 * name is normalized here (er_name_normalize) and compared with each party's
 * normalized name; country (alpha-2, any case) must equal the party's
 * country; when country is empty, a name that is unique across countries
 * matches. Returns the one party found, or NULL if none or several (then
 * ambiguous). *count (may be NULL) receives 0, 1, or 2 for two or more. */
const er_party *er_tables_find_name_as(const er_tables *t, unsigned roles, const char *name,
                                       size_t n, const char *country, size_t cn, int *count);
/* The same computed afresh: er_tables_find_name_as() answers a repeated
 * look-up (same table, roles, country and name bytes) from a per-thread
 * cache; this is the reference its test compares with. */
const er_party *er_tables_find_name_uncached(const er_tables *t, unsigned roles,
                                             const char *name, size_t n, const char *country,
                                             size_t cn, int *count);
/* The same look-up for a name already normalized with er_name_normalize()
 * (norm[0..len), no NUL needed): a caller that normalizes a party's name
 * for another purpose too (the SDN screen) pays for it once. Same answer
 * as er_tables_find_name_as() on the raw name; an empty norm finds none. */
const er_party *er_tables_find_norm_as(const er_tables *t, unsigned roles, const char *norm,
                                       size_t len, const char *country, size_t cn, int *count);
/* The same among parties of every role. */
const er_party *er_tables_find_name(const er_tables *t, const char *name, size_t n,
                                    const char *country, size_t cn);

/* Match one manifest party against the table (SPEC 2), the one rule the
 * scorer and the partner audit share. role: the column's party (enum
 * er_role); only parties whose roles fit it (er_role_fits) match, by id and
 * by name alike. id: the started look-up of the party's id column (n == 0
 * when the row gives none); name, nn: its name column (nn == 0 when empty or
 * when the column has no name); cc, cn: the country to match the name in
 * (cn == 0: any country). A given id decides: found with a fitting role ->
 * *match = ER_MATCH_ID; unknown or of another role -> the party is unknown
 * (NULL), and *match = ER_MATCH_CONFLICT when the name is that of one or
 * more listed parties of a fitting role, else ER_MATCH_NONE. With no id the
 * name decides: ER_MATCH_NAME, ER_MATCH_AMBIGUOUS (several parties fit, none
 * is taken) or ER_MATCH_NONE; with neither, ER_MATCH_ABSENT. Returns the
 * party found, or NULL. */
const er_party *er_tables_match(const er_tables *t, int role, const er_id_probe *id,
                                const char *name, size_t nn, const char *cc, size_t cn,
                                uint8_t *match);

/* The period in force on day (valid_from <= day < valid_to).
 * want: 1 = CTPAT only, 0 = foreign programs only, -1 = any. If several
 * programs have a period in force, the best standing wins
 * (validated > certified > suspended > removed > withdrawn). NULL if none. */
const er_cert *er_party_cert_on(const er_party *p, int32_t day, int want);

/* The periods in force on day, one program at a time (a program has at
 * most one): start with *pos = 0; each call returns the next one (want as
 * above) and advances *pos, NULL when there are no more. Binary search:
 * O(programs x log periods). */
const er_cert *er_party_next_in_force(const er_party *p, int32_t day, int want, uint32_t *pos);

/* 1 if a certification in program (foreign code) held by a party of country
 * is MRA-recognized on day (recognized_from <= day and no recognized_to before
 * day, i.e. day <= recognized_to), else 0. recognized_to is the LAST day
 * recognized (inclusive, as public sources give end dates), unlike a
 * participant period's valid_to, which is the first day NOT in force: the two
 * differ on purpose. Unconfirmed MRA rows (no recognized_from) never
 * recognize. */
int er_tables_mra_recognized(const er_tables *t, const char *program,
                             const char country[2], int32_t day);

/* Iterate all parties (for `verify` and tests): index 0..count-1. */
size_t er_tables_nparties(const er_tables *t);
/* A table file as it was read at load: bytes and SHA-256 of the raw
 * (possibly gzip) bytes. which: 0 participants, 1 MRA; NULL when not loaded. */
typedef struct er_table_source {
	uint64_t bytes;
	char sha256[65];
} er_table_source;
const er_table_source *er_tables_source(const er_tables *t, int which);
/* Status periods loaded (participant table rows). */
size_t er_tables_ncerts(const er_tables *t);
const er_party *er_tables_party(const er_tables *t, size_t i);

/* MRA rows, for `verify` and docs. */
typedef struct er_mra {
	const char *program, *partner, *partner_program, *note;
	char country[3];
	/* recognized_from and recognized_to are both inclusive (recognized_to =
	 * last day recognized); ER_DAY_NONE / ER_DAY_MAX when empty */
	int32_t signed_on, recognized_from, recognized_to;
} er_mra;
size_t er_tables_nmra(const er_tables *t);
const er_mra *er_tables_mra(const er_tables *t, size_t i);

/* Normalize a company name for matching: upper-case ASCII, punctuation folded
 * to spaces (dots removed so "G.M.B.H." -> "GMBH"), '&' -> "AND", spaces
 * collapsed, legal suffixes dropped from the end (repeatedly: "CO LTD",
 * "SA DE CV", ...). Writes at most cap-1 bytes plus NUL; returns the length. */
size_t er_name_normalize(const char *in, size_t n, char *out, size_t cap);
/* The same result computed one byte at a time (no word-at-a-time ASCII
 * test, no letter-run loop): the reference the differential test holds
 * er_name_normalize() to. */
size_t er_name_normalize_ref(const char *in, size_t n, char *out, size_t cap);

/* ---- additions (TABLES stage) ---------------------------------------------
 * Loading (er_tables_load): either path may be NULL for an empty table. Both
 * files go through er_reader/er_splitter/er_parser (plain or gzip, RFC 4180
 * quoting, BOM, CRLF). The first problem stops the load with ER_E_FORMAT and
 * "FILE:LINE: message"; per-row problems are found in file order, cross-row
 * ones (a party's country differing between rows, overlapping periods of one
 * party + program) after the whole file is read, reported at the line of the
 * row that reveals them. Program codes are stored upper-case, so "ctpat" and
 * "CTPAT" are the same program; a foreign program absent from the MRA table is
 * allowed (its certifications are simply never MRA-recognized).
 *
 * Parties are ordered by id (bytewise) for er_tables_party(). A party's name
 * and country come from its row with the latest valid_from (the later line on
 * a tie); its roles are those of all its rows (a role outside the closed list,
 * or none, is a load error at its line). The name index keys on
 * (er_name_normalize(name), country); a key shared by two different party ids
 * of a role asked for is ambiguous and the find_name functions return NULL for
 * it, as they do for a country-less query whose name is held by more than one
 * such party (in any countries). Party ids are case-sensitive.
 *
 * er_party_cert_on(): among periods of equal standing, CTPAT beats a foreign
 * program, then the higher tier wins, then the first in program order.
 *
 * er_name_normalize(): a name with a non-ASCII byte is first folded with
 * libutf8proc: NFKC (full-width and other compatibility forms become plain
 * letters), case folding, combining marks stripped, default-ignorable
 * characters dropped; then non-ASCII letters are upper-cased and Unicode
 * spaces, punctuation and symbols become spaces. So precomposed "MÜLLER",
 * decomposed "MU" U+0308 "LLER", "Müller", "MULLER" and full-width
 * "ＭＵＬＬＥＲ" all give "MULLER" (accents fold: "MULLER" == "MÜLLER"; "ß"
 * gives "SS"). Text that is not valid UTF-8 is normalized byte by byte, its
 * non-ASCII bytes kept. ASCII names never reach libutf8proc. A dot between
 * two one-character segments is dropped ("S.A." -> "SA", "J.P." -> "JP"); any
 * other dot is a separator ("CO.LTD" -> "CO LTD"). If the result does not
 * fit, it is cut at cap-1 bytes (suffixes are then stripped from the cut
 * text); ER_NAME_NORM_CAP(n) bytes always suffice for an n-byte input (the
 * largest growth is a compatibility form: U+FDFA, 3 bytes, is 33). When
 * out of memory (only names longer than a few hundred characters
 * allocate) the result is empty. */
#define ER_NAME_NORM_CAP(n) ((n) * 12 + 1)

/* The tables' CSV reader, for other small inputs (exam outcomes): plain or
 * gzip, RFC 4180 quoting, errors as "FILE:LINE: message". */
typedef struct er_csv er_csv;
er_status er_csv_open(const char *path, er_csv **out, char *err, size_t errlen);
/* The same with flags: ER_CSV_NO_DIGEST skips the SHA-256 of the input
 * (nobody asks for it; the SDN list is megabytes read at every run). path
 * must stay valid until er_csv_close. Without er_csv_header, records may
 * have any field count (the caller checks). */
#define ER_CSV_NO_DIGEST 1
er_status er_csv_open_flags(const char *path, int flags, er_csv **out, char *err, size_t errlen);
/* Read the header; col[i] = field index of want[i] (case-insensitive; extra
 * columns ignored; a missing or repeated wanted column is an error). */
er_status er_csv_header(er_csv *x, const char *const *want, int nwant, int *col, char *err,
                        size_t errlen);
/* Next record: 1 with fields, 0 at end, -1 on error (*st and err set). Rows
 * must have as many fields as the header. */
int er_csv_next(er_csv *x, const er_field **f, int *nf, uint64_t *line, er_status *st, char *err,
                size_t errlen);
void er_csv_close(er_csv *x);

#endif
