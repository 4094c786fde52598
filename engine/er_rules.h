/* er_rules.h - the rule set loaded from rules.ini (weights, thresholds, watch
 * lists, vague terms, filing window, random selection, exam probabilities),
 * laid out for lock-free look-ups on the scoring hot path. Immutable after
 * er_rules_load(); any number of threads may read it at once. */
#ifndef ER_RULES_H
#define ER_RULES_H

#include <stddef.h>
#include <stdint.h>
#include "examrisk.h"
#include "er_trie.h"

/* Longest vague term accepted (bytes after normalisation). Descriptions whose
 * normalised form is longer cannot equal a term, so the scorer stops copying. */
#define ER_VAGUE_MAX 64
/* A rules file is read whole: larger than this is an error, not a wait. */
#define ER_RULES_MAX_BYTES (8u << 20)

/* HS watch entry: a prefix of len digits whose numeric value is val. */
typedef struct er_hs_slot {
	uint64_t key;  /* value * 16 + digits; 0 = empty slot */
	int32_t points;
	uint32_t line; /* rules.ini line, for duplicate messages */
} er_hs_slot;

/* Longest [vague] unit or prefix accepted (bytes after normalisation). */
#define ER_STRIP_MAX 32

/* [vague] unit / prefix words: upper-case ASCII, dots dropped, single
 * spaces ("S.T.C." is stored as "STC"). */
typedef struct er_strip_list {
	char (*w)[ER_STRIP_MAX + 1];
	uint8_t *len;
	uint32_t n, cap;
	uint8_t first[256]; /* 1 for the (upper-case) first byte of some entry */
	er_trie trie;       /* the same words, walked once per text position */
} er_strip_list;

/* Vague-term set entry: term bytes live in er_rules.vague_text. */
typedef struct er_vague_slot {
	uint64_t hash;  /* 0 = empty slot (real hashes are forced non-zero) */
	uint32_t off;
	uint32_t len;
} er_vague_slot;

struct er_rules {
	char *path;                      /* as given to er_rules_load */
	uint64_t bytes;                  /* of the file as read, and its SHA-256 (for the summary) */
	char sha256[65];
	int base, red, yellow;           /* [score] */
	int points[ER_NREASONS];         /* [points]; HS/ORIGIN_WATCH come from lists */
	int window_hours;                /* [filing] */
	int64_t window_secs;
	double random_rate;              /* [random] */
	uint64_t random_seed;
	double exam_prob[ER_NLANES];     /* [exam_probability] */
	double sdn_match, sdn_review;    /* [sdn] similarity thresholds, 0..1 */
	int sdn_force_red;               /* [sdn] force_red: SDN_MATCH is RED */
	char sdn_missing[40];            /* first SDN key missing, "" = all there */

	/* [lanes]: thresholds per enum er_transport, [score] red/yellow where a
	 * mode is not listed. At the threshold score itself a shipment takes the
	 * lane when er_lane_tie_u(shipment_id) < the share (1.0 = always). */
	int lane_red[ER_NTMODES], lane_yellow[ER_NTMODES];
	double lane_red_share[ER_NTMODES], lane_yellow_share[ER_NTMODES];
	int red_min;                     /* lowest RED threshold in force (statute check) */

	/* [hs_watch]: open addressing, size a power of two. */
	er_hs_slot *hs;
	uint32_t hs_mask, hs_n;
	uint16_t hs_lens;                /* bit L set when some prefix has L digits */
	uint8_t hs_chapter[100];         /* 1 when some prefix starts with these two digits */

	/* [origin_watch]: direct table indexed by (A-Z, A-Z). */
	int16_t origin_points[26 * 26];
	uint8_t origin_set[26 * 26];

	/* [vague]: open-addressing set of normalised terms. */
	er_vague_slot *vague;
	uint32_t vague_mask, vague_n;
	uint32_t vague_maxlen;           /* longest normalised term (<= ER_VAGUE_MAX) */
	char *vague_text;
	size_t vague_text_len, vague_text_cap;
	er_trie vague_trie;              /* the same terms: a description stops being
	                                    read once no term starts like it */

	/* [vague] unit = / prefix = : a leading package count with its unit
	 * ("147 PLTS") and a leading prefix ("STC") are removed before the
	 * description is judged. */
	er_strip_list units, prefixes;
};

/* Probability that a shipment in lane (enum er_lane) is examined, from
 * [exam_probability]; 0 for an out-of-range lane. */
double er_rules_exam_prob(const er_rules *r, int lane);

/* Key of the tie split at a lane threshold: the random selection's hash of
 * shipment_id under a fixed key of its own, so the split never moves with
 * [random] seed and never coincides with the random sample. */
#define ER_LANE_TIE_KEY 0x6c616e6573706c74ull /* "lanesplt" */

/* Uniform [0,1) draw of the tie split for a shipment id. */
double er_lane_tie_u(const char *sid, size_t n);

/* Lane of a score in a mode (before the random selection); tie_u from
 * er_lane_tie_u. */
int er_rules_lane(const er_rules *r, int mode, int score, double tie_u);

/* Append a whole file to b (the loader's reader). 0, or -1 with errno. */
struct er_buf;
int er_rules_read_file(const char *path, struct er_buf *b);

/* Mode name ("vessel", ...) to enum er_transport, or -1. */
int er_transport_lookup(const char *name, size_t n);

/* Score at and above which a shipment is RED. */
int er_rules_red_threshold(const er_rules *r);

/* Score at and above which a shipment is YELLOW (below RED). */
int er_rules_yellow_threshold(const er_rules *r);

/* Points of a reason code from [points] (0 for HS_WATCH / ORIGIN_WATCH,
 * whose points come per entry from their lists, and for bad codes). */
int er_rules_points(const er_rules *r, int reason);

/* Points of the longest watched prefix of the digits d[0..n) (n <= 10);
 * returns 1 and sets *points when one matches, else 0. */
int er_rules_hs_match(const er_rules *r, const char *d, size_t n, int *points);
/* The same without the two-digit chapter filter: the reference its test
 * compares with. */
int er_rules_hs_match_ref(const er_rules *r, const char *d, size_t n, int *points);

/*
 * 1 when a cargo description is vague. First a leading package count with
 * its unit ("147 PLTS", "12CTNS", "1,200 PCS OF") and a leading prefix
 * ("STC", "SAID TO CONTAIN", "S.T.C.") are removed, in either order, each at
 * most once ([vague] unit / prefix; words match ignoring ASCII case, dots
 * and extra spaces, and must end at a word boundary). What remains is vague
 * when it is empty or blank; a unit word alone ("CTN"); equal to a listed
 * term after normalisation (ASCII upper-case, whitespace runs collapsed,
 * leading whitespace and trailing whitespace/punctuation dropped); without
 * any letter (only digits, punctuation, spaces); or one character repeated
 * 3 or more times (spaces ignored, ASCII case ignored). Reads at most until
 * the answer is known; allocates nothing.
 */
int er_rules_vague_desc(const er_rules *r, const char *p, size_t n);
/* The same answer computed the plain way (each unit and prefix compared in
 * turn, the whole normalised text hashed and looked up): the reference the
 * differential tests hold er_rules_vague_desc() to. */
int er_rules_vague_desc_ref(const er_rules *r, const char *p, size_t n);

#endif
