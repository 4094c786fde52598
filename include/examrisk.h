/*
 * examrisk.h - the one public header of the examrisk engine.
 *
 * examrisk scores inbound shipments for customs-exam risk: it joins each
 * shipment's parties against the CTPAT participant table and the MRA table as
 * of the arrival date and applies a data-driven rule set (rules.ini).
 *
 * Thread-safety: tables and rules are immutable once loaded; any number of
 * threads may call er_score_row() on the same er_tables/er_rules at once.
 * er_*_free(NULL) does nothing.
 */
#ifndef EXAMRISK_H
#define EXAMRISK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ER_VERSION_MAJOR 0
#define ER_VERSION_MINOR 1
#define ER_VERSION_PATCH 0
#define ER_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Status codes                                                         */
/* ------------------------------------------------------------------ */
typedef enum er_status {
	ER_OK = 0,
	ER_E_NOMEM,     /* allocation failed */
	ER_E_IO,        /* open/read/write/rename failed */
	ER_E_FORMAT,    /* malformed input file (tables, rules, header) */
	ER_E_GZIP,      /* corrupt, truncated or trailing-garbage gzip */
	ER_E_USAGE,     /* bad option or argument */
	ER_E_REJECTS,   /* more rejects than --max-rejects allows */
	ER_E_ROW,       /* one row could not be scored (see er_result.reject) */
	ER_E_INTERNAL,  /* invariant broken (e.g. rows read != scored + rejected) */
	ER_E_CANCELLED  /* *cancel became non-zero (er_run_opts.cancel); nothing committed */
} er_status;

/* Static text for a status; never NULL. */
const char *er_status_str(er_status s);

/* ------------------------------------------------------------------ */
/* Canonical manifest columns (SPEC 2)                                  */
/* ------------------------------------------------------------------ */
enum er_col {
	ER_COL_SHIPMENT_ID, ER_COL_ARRIVAL_DATE, ER_COL_MASTER_BILL,
	ER_COL_CONTAINER_ID, ER_COL_LOAD_TYPE, ER_COL_MODE, ER_COL_LADING_PORT,
	ER_COL_UNLADING_PORT, ER_COL_ORIGIN_COUNTRY, ER_COL_SHIPPER_COUNTRY,
	ER_COL_IMPORTER_ID, ER_COL_IMPORTER_NAME, ER_COL_SHIPPER_ID,
	ER_COL_SHIPPER_NAME, ER_COL_MANUFACTURER_ID, ER_COL_CONSIGNEE_NAME,
	ER_COL_CARRIER_SCAC, ER_COL_FORWARDER_ID, ER_COL_HS_CODE,
	ER_COL_DESCRIPTION, ER_COL_DECLARED_VALUE_USD, ER_COL_GROSS_WEIGHT_KG,
	ER_COL_QUANTITY, ER_COL_FILED_AT, ER_COL_DEPARTURE_AT,
	ER_COL_NOTIFY_PARTY_NAME, /* optional: notify parties, several joined by '|' (AMS) */
	ER_NCOLS
};

/* Canonical (lower-case) name of a column, e.g. "shipment_id"; NULL if out of range. */
const char *er_col_name(int col);
/* Column index for a name (case-insensitive), or -1. */
int er_col_lookup(const char *name, size_t len);

/* One field: borrowed bytes, not NUL-terminated. n == 0 means empty/absent. */
typedef struct er_field {
	const char *p;
	size_t n;
} er_field;

/* A parsed manifest row, fields by canonical column. */
typedef struct er_row {
	er_field f[ER_NCOLS];
} er_row;

/* ------------------------------------------------------------------ */
/* Tables and rules                                                     */
/* ------------------------------------------------------------------ */
typedef struct er_tables er_tables; /* participants + MRA, read-only once loaded */
typedef struct er_rules er_rules;   /* weights, thresholds, lists from rules.ini */
typedef struct er_sdn er_sdn;       /* OFAC SDN list for the restricted-party screen */

/*
 * Load the participants table (CSV, plain or gzip) and the MRA table.
 * Participants' valid_to is the first day not in force (exclusive); MRA
 * recognized_to is the last day recognized (inclusive).
 * On error returns non-OK and writes "FILE:LINE: message" into err.
 * On success *out must be freed with er_tables_free().
 */
er_status er_tables_load(const char *participants_path, const char *mra_path,
                         er_tables **out, char *err, size_t errlen);
/* Like er_tables_load(), but stops with ER_E_CANCELLED when *cancel becomes
 * non-zero (see er_run_opts.cancel; NULL = never). */
er_status er_tables_load_ex(const char *participants_path, const char *mra_path,
                            const volatile int *cancel, er_tables **out, char *err,
                            size_t errlen);
void er_tables_free(er_tables *t);

/*
 * Load rules.ini. Unknown keys, bad values and missing required keys are
 * errors naming "FILE:LINE". On success free *out with er_rules_free().
 */
er_status er_rules_load(const char *path, er_rules **out, char *err, size_t errlen);
void er_rules_free(er_rules *r);

/*
 * Load OFAC's SDN list from dir: sdn.csv, alt.csv and add.csv as OFAC
 * publishes them (no header row, "-0-" = empty; plain or gzip). Errors name
 * "FILE:LINE". Free *out with er_sdn_free(). The rules used with it need the
 * [sdn] section and the SDN_MATCH / SDN_REVIEW points (er_rules_sdn_check).
 */
er_status er_sdn_load(const char *dir, er_sdn **out, char *err, size_t errlen);
void er_sdn_free(er_sdn *s);

/* 0 when r has every key the SDN screen needs, else -1 with
 * "FILE: missing key [sdn] match (needed by --sdn)" in err. */
int er_rules_sdn_check(const er_rules *r, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Scoring one row                                                      */
/* ------------------------------------------------------------------ */
enum er_lane { ER_LANE_GREEN = 0, ER_LANE_YELLOW = 1, ER_LANE_RED = 2, ER_NLANES = 3 };
const char *er_lane_name(int lane); /* "GREEN", "YELLOW", "RED" */

/* Reason codes, in the fixed order they are printed. */
enum er_reason {
	ER_R_IMP_CTPAT_T1, ER_R_IMP_CTPAT_T2, ER_R_IMP_CTPAT_T3,
	ER_R_IMP_SUSPENDED, ER_R_IMP_REMOVED, ER_R_IMP_UNKNOWN, ER_R_ID_NAME_CONFLICT,
	ER_R_SHP_CTPAT, ER_R_SHP_MRA, ER_R_SHP_AEO_UNRECOGNIZED, ER_R_SHP_UNKNOWN,
	ER_R_CARRIER_CTPAT, ER_R_FWD_CTPAT, ER_R_LCL, ER_R_VAGUE_DESC, ER_R_NO_HS,
	ER_R_LATE_FILING, ER_R_FILING_UNKNOWN, ER_R_HS_WATCH, ER_R_ORIGIN_WATCH, ER_R_FAST,
	ER_R_SDN_MATCH, ER_R_SDN_REVIEW, ER_R_RANDOM,
	ER_NREASONS
};
const char *er_reason_name(int reason); /* "IMP_CTPAT_T1", ... */

/* Canonical transport modes ([lanes] keys red.vessel, yellow.truck, ...). */
enum er_transport { ER_TM_VESSEL, ER_TM_TRUCK, ER_TM_RAIL, ER_TM_AIR, ER_TM_UNKNOWN,
                    ER_NTMODES };
const char *er_transport_name(int mode); /* "vessel", ..., "unknown"; "?" if out of range */

/* Why a row was rejected (SPEC 4, rejects file). */
enum er_reject {
	ER_REJ_NONE = 0,
	ER_REJ_FIELD_COUNT,        /* wrong number of fields */
	ER_REJ_MISSING_REQUIRED,   /* required field empty */
	ER_REJ_INVALID_DATE,       /* date / timestamp not valid */
	ER_REJ_INVALID_NUMBER,     /* number not a valid non-negative number */
	ER_REJ_INVALID_VALUE,      /* other invalid field (e.g. hs_code not digits) */
	ER_REJ_INVALID_UTF8,
	ER_REJ_NUL_BYTE,
	ER_REJ_FIELD_TOO_LONG,
	ER_REJ_RECORD_TOO_LONG,
	ER_REJ_BAD_QUOTE,          /* stray / misplaced quote */
	ER_REJ_UNTERMINATED_QUOTE, /* quote never closed (at EOF or within limit) */
	ER_NREJECTS
};
const char *er_reject_name(int rej); /* "invalid_date", ... (snake_case codes) */

/* How a party was matched against the participants table (SPEC 2):
 * ABSENT  no id and no name given ("-" in the match column);
 * NONE    not found: an id that is unknown, or a name that fits no listed party;
 * ID      found by its id; NAME found by name (the row gives no id for it);
 * CONFLICT an id that is unknown, given with the name of a listed party:
 *         the party stays unknown and ID_NAME_CONFLICT fires;
 * AMBIGUOUS no id, and the name fits several listed parties: none is taken.
 * Only parties whose role fits the column count (importer columns match
 * importers, shipper columns exporters or manufacturers, ...). */
enum er_match { ER_MATCH_ABSENT = 0, ER_MATCH_NONE, ER_MATCH_ID, ER_MATCH_NAME,
                ER_MATCH_CONFLICT, ER_MATCH_AMBIGUOUS, ER_NMATCH };
/* "-", "none", "id", "name", "conflict", "ambiguous" */
const char *er_match_name(int match);

/* Names screened against the SDN list, in the order of er_result.sdn_*.
 * ER_SDN_NOTIFY: the notify_party_name column, each '|'-separated name
 * screened, the best one reported. */
enum er_sdn_role { ER_SDN_IMPORTER, ER_SDN_SHIPPER, ER_SDN_CONSIGNEE, ER_SDN_NOTIFY,
                   ER_SDN_NROLES };

/* Party roles scored. */
enum er_role { ER_ROLE_IMPORTER, ER_ROLE_SHIPPER, ER_ROLE_MANUFACTURER,
               ER_ROLE_CARRIER, ER_ROLE_FORWARDER, ER_NROLES };

typedef struct er_result {
	int score;                      /* 0..100 after clamping */
	int lane;                       /* enum er_lane */
	uint32_t fired;                 /* bit r set when reason r fired */
	int16_t points[ER_NREASONS];    /* points of each fired reason */
	uint8_t match[ER_NROLES];       /* enum er_match per role */
	uint8_t fast_eligible;          /* 0/1 */
	uint8_t front_of_line;          /* 0/1: importer CTPAT in good standing, or shipper side
	                                   certified and importer not suspended, removed or
	                                   in conflict */
	uint8_t shipper_certified;      /* 0/1: shipper or manufacturer CTPAT or MRA-recognized */
	uint8_t mode;                   /* enum er_transport of the mode column */
	char importer_status[40];       /* e.g. "CTPAT:validated:T2", "unknown", "none" */
	char shipper_status[40];        /* e.g. "CTPAT:certified:T1", "EU_AEO:certified:MRA", "unknown" */
	/* SDN screen (er_score_row_sdn with a list): per enum er_sdn_role the
	 * best listed candidate at or above the review threshold, else 0 */
	uint8_t sdn_screened;           /* 1 when a list was given */
	int32_t sdn_ent[ER_SDN_NROLES]; /* OFAC ent_num */
	uint16_t sdn_sim[ER_SDN_NROLES]; /* similarity x 1000 */
	/* when er_score_row returns ER_E_ROW: */
	int reject;                     /* enum er_reject */
	int reject_col;                 /* enum er_col of the offending field, or -1 */
} er_result;

/*
 * Score one parsed row. Validates the fields it reads (arrival_date,
 * timestamps, numbers, hs_code). Returns ER_OK and fills *res, or ER_E_ROW
 * with res->reject / res->reject_col set. Thread-safe; allocates nothing
 * except to normalize a party name of several hundred bytes (matched by name).
 */
er_status er_score_row(const er_tables *t, const er_rules *r, const er_row *row,
                       er_result *res);

/*
 * The same, also screening the importer, shipper and consignee names
 * against the SDN list sdn (NULL = no screen, as er_score_row). A name
 * column that is empty is screened with the name of the party matched by
 * id. SDN_MATCH fires at or above [sdn] match, SDN_REVIEW in [review,
 * match); with [sdn] force_red = 1 an SDN_MATCH is RED whatever its score.
 * r must pass er_rules_sdn_check().
 */
er_status er_score_row_sdn(const er_tables *t, const er_rules *r, const er_sdn *sdn,
                           const er_row *row, er_result *res);

/* ------------------------------------------------------------------ */
/* Whole pipeline                                                       */
/* ------------------------------------------------------------------ */

/* Levels of the messages a run reports. */
enum er_log_level {
	ER_LOG_ERROR = 0,   /* fatal: the run committed nothing */
	ER_LOG_WARNING,     /* a rejected row, a file skipped under keep_going */
	ER_LOG_INFO,        /* the closing summary lines */
	ER_LOG_PROGRESS     /* progress, every 5 s (with a callback only when er_run_opts.progress > 0) */
};
/*
 * Receives one message of a run: plain text, no "examrisk: " prefix and no
 * newline. Called from the thread that called er_run_score() or from the
 * run's writer thread, never from two at once. With quiet set only
 * ER_LOG_ERROR messages arrive.
 */
typedef void (*er_log_fn)(void *ctx, int level, const char *msg);

typedef struct er_run_opts {
	size_t size;                 /* sizeof(er_run_opts) the caller was built with: set by
	                                er_run_opts_init(), checked by er_run_score(), so a
	                                library with more fields still runs older callers */
	const char *const *inputs;   /* manifest paths, "-" = stdin */
	int ninputs;
	const char *out_path;        /* scores; NULL or "-" = stdout; ".gz" suffix = gzip */
	int out_level;               /* gzip level for .gz outputs (1..9); 0 = default */
	const char *rejects_path;    /* NULL = none */
	const char *consolidations_path;
	const char *summary_path;    /* JSON; NULL = none */
	const char *queue_path;
	int resumption;              /* queue covers every shipment, certified first */
	size_t rollup_memory;        /* memory budget of consolidations + queue before they
	                                spill to $TMPDIR; 0 = default (32 MiB) */
	int threads;                 /* worker threads; 0 = the CPUs this process may run on
	                                (sched_getaffinity); 1 = no thread at all: the calling
	                                thread reads, scores, writes and compresses (one core) */
	size_t chunk_bytes;          /* input bytes per chunk; 0 = default */
	size_t max_field;            /* 0 = default 1 MiB */
	size_t max_record;           /* 0 = default 16 MiB */
	long long max_rejects;       /* -1 = unlimited */
	double max_rejects_pct;      /* < 0 = unused; else percent of rows read */
	int keep_going;
	char delimiter;              /* 0 = ',' */
	const char *const *map;      /* "canonical=header" pairs */
	int nmap;
	const char *map_file;        /* file of "canonical=header" lines; NULL = none */
	const char *keep;            /* "COL,COL" input columns copied to output; NULL = none */
	const er_sdn *sdn;           /* screen names against this SDN list; adds the scores
	                                column "sdn"; NULL = no screen */
	int quiet;
	int progress;                /* -1 = auto (stderr is a tty and log is NULL) */
	/* An in-process producer read in place of inputs[0] (score --ams): its
	 * bytes are the manifest CSV; inputs[0] names it in messages. NULL = none. */
	const struct er_source *source;
	int wait_lock;               /* wait for another run on the same outputs instead of failing */
	int spool_stdout;            /* spool stdout to $TMPDIR even when it is a pipe or terminal */
	er_log_fn log;               /* NULL = messages to stderr, "examrisk: " first */
	void *log_ctx;               /* passed to log */
	/* Output CSV dialect (every CSV output: scores, rejects, consolidations,
	 * queue, partner audit). Whatever the input delimiter, output is RFC 4180
	 * with out_delimiter between fields (0 = ','); a field is quoted when it
	 * holds the delimiter, a quote, CR or LF, or starts or ends with a space
	 * or tab (so a reader that trims unquoted fields reads the same bytes). */
	char out_delimiter;
	int excel;                   /* 1: UTF-8 BOM first and CRLF line ends (for Excel) */
	/* Cancel flag: when non-NULL and *cancel becomes non-zero (a signal
	 * handler may assign it; another thread should store it with
	 * __atomic_store_n or through an atomic_int it aliases), the run stops at
	 * the next check (every read, every few hundred rows, every step of the
	 * end-phase merge and write, before the commit), removes its temporaries,
	 * leaves previous outputs untouched and returns ER_E_CANCELLED. The value
	 * is the caller's: the CLI stores the signal number there. */
	const volatile int *cancel;
	/* For the summary: the command line (NULL = not recorded). */
	const char *const *argv;
	int argc;
	/* For the summary: where the tables and rules came from (NULL = not recorded). */
	const char *participants_path, *mra_path, *rules_path;
	const char *report_path;     /* HTML run report (er_report.h); NULL = none */
	const char *history_dir;     /* folder of previous summaries: this run's is added, the
	                                report's trend reads it; NULL = none */
	int history_max;             /* runs the trend reads; 0 = 30 */
	int consolidations_all;      /* 0: only consolidations of 2+ house bills (LCL); 1: all */
	unsigned long long consolidations_top; /* at most the N riskiest; 0 = all */
} er_run_opts;

/* A producer of manifest CSV for er_run_opts.source. */
typedef struct er_source {
	long (*read)(void *ctx, char *buf, size_t cap);  /* >0 bytes, 0 end, -1 error */
	const char *(*error)(void *ctx);                 /* message after -1 */
	/* Records the producer itself rejected, appended to the rejects output as
	 * file,line,reason,raw rows after the run; returns 0 or -1. May be NULL. */
	int (*rejects)(void *ctx, int (*emit)(void *ectx, const char *p, size_t n), void *ectx);
	uint64_t (*count_rejects)(void *ctx);            /* the count, after the run; may be NULL */
	void *ctx;
} er_source;

/*
 * Fill *o with defaults and o->size. Use the macro: it passes the size of the
 * struct your code was compiled with, so a newer library fills only the
 * fields you know of (and uses defaults for the rest).
 */
void er_run_opts_init_size(er_run_opts *o, size_t size);
#define er_run_opts_init(o) er_run_opts_init_size((o), sizeof *(o))

/* Counts reported by a run. */
typedef struct er_run_stats {
	uint64_t rows_read, rows_scored, rows_rejected;
	uint64_t rejects_by_reason[ER_NREJECTS];
	uint64_t lanes[ER_NLANES];
	uint64_t reasons[ER_NREASONS];
	uint64_t bytes_in;           /* compressed bytes read */
	uint64_t bytes_csv;          /* decompressed bytes */
	int files_ok, files_failed;
	double elapsed_s;
} er_run_stats;

/*
 * Score every input and write the outputs atomically. Returns ER_OK when the
 * run committed (check stats for rejects / failed files), or an error when
 * nothing was committed (ER_E_CANCELLED when opts->cancel was set). Messages
 * go to opts->log (default stderr) unless opts->quiet. ER_E_USAGE when
 * opts->size is not one this library knows (options not set up with
 * er_run_opts_init) or when the same input file is named twice. stats may be
 * NULL.
 */
er_status er_run_score(const er_tables *t, const er_rules *r,
                       const er_run_opts *opts, er_run_stats *stats);

/*
 * The partner audit (`examrisk partners`): every party seen in the inputs
 * (importer, shipper, manufacturer, carrier, forwarder) with its roles,
 * shipments, first and last arrival, program and status as of its last
 * shipment, MRA recognition and a compliant flag, non-compliant first, as CSV
 * to opts->out_path. Uses inputs, out_path, rejects_path, summary_path,
 * keep_going, max_rejects* and the parsing options; same return values as
 * er_run_score().
 */
er_status er_run_partners(const er_tables *t, const er_rules *r,
                          const er_run_opts *opts, er_run_stats *stats);

/* ------------------------------------------------------------------ */
/* Partner look-up                                                      */
/* ------------------------------------------------------------------ */

/* Output sink: write n bytes; return 0, or -1 to stop with an error. */
typedef int (*er_emit_fn)(void *ctx, const char *p, size_t n);

/* Parse exactly "YYYY-MM-DD" into days since 1970-01-01. 0 ok, -1 bad. */
int er_parse_date(const char *p, size_t n, int32_t *day);
/* Today (UTC) as days since 1970-01-01. */
int32_t er_today(void);

/*
 * Look up each of the nq queries (`examrisk verify`): an exact party id, or
 * parties whose normalized name equals, starts with or contains the query,
 * best first (at most 20 per query), with their status on on_day (days since
 * 1970-01-01), MRA recognition and status history. roles limits the parties
 * to those of the table roles given as bits (1 importer, 2 exporter,
 * 4 manufacturer, 8 carrier, 16 forwarder; 0 = every role). Writes the human
 * report, or CSV when csv != 0:
 *   query,party_id,name,country,role,program,status_on_date,tier,since,mra_recognized,history
 * through emit. Returns the number of matches (0 = none), or -1 on ENOMEM or
 * when emit fails. Thread-safe (reads the immutable tables only).
 */
int er_verify_run(const er_tables *t, const char *const *queries, int nq, int32_t on_day,
                  int csv, unsigned roles, er_emit_fn emit, void *ctx);

/* ------------------------------------------------------------------ */
/* Versions                                                             */
/* ------------------------------------------------------------------ */

/* The library's version at run time, e.g. "0.1.0" (ER_VERSION_STRING is the
 * header's: compare them to detect a header/library mismatch). */
const char *er_version(void);
/* The compression and parsing libraries behind it and their versions, e.g.
 * "ISA-L 2.30.0 (inflate, gzip output), libdeflate 1.14 (...), zlib 1.2.13, libcsv 3.0.3". */
const char *er_backends(void);

#ifdef __cplusplus
}
#endif
#endif /* EXAMRISK_H */
