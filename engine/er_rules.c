/* er_rules.c - load rules.ini into an er_rules and answer the list look-ups
 * (HS-prefix watch list, origin watch list, vague descriptions) that the
 * scorer makes for every row.
 *
 * The file is read whole and fed to libinih line by line through our own
 * reader, so that every message can name the physical line: libinih as
 * packaged has no line number in its handler, and its own count drifts when
 * a line is longer than its buffer. */
#include "er_rules.h"

#include <errno.h>
#include <ini.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "er_util.h"

/* Points and per-entry weights are kept well inside int16 (er_result.points). */
#define PTS_MIN (-100)
#define PTS_MAX 100
#define WINDOW_MAX_HOURS (24 * 30)
#define VAGUE_SEED 0x76616775655f6465ull

/* ------------------------------------------------------------------ */
/* Names and accessors                                                  */
/* ------------------------------------------------------------------ */

/* Reason codes double as [points] keys, so their names live with the loader. */
static const char *const reason_names[ER_NREASONS] = {
	"IMP_CTPAT_T1", "IMP_CTPAT_T2", "IMP_CTPAT_T3", "IMP_SUSPENDED", "IMP_REMOVED",
	"IMP_UNKNOWN", "ID_NAME_CONFLICT", "SHP_CTPAT", "SHP_MRA", "SHP_AEO_UNRECOGNIZED", "SHP_UNKNOWN",
	"CARRIER_CTPAT", "FWD_CTPAT", "LCL", "VAGUE_DESC", "NO_HS", "LATE_FILING", "FILING_UNKNOWN",
	"HS_WATCH",
	"ORIGIN_WATCH", "FAST", "SDN_MATCH", "SDN_REVIEW", "RANDOM"
};

const char *er_reason_name(int reason)
{
	if (reason < 0 || reason >= ER_NREASONS)
		return "?";
	return reason_names[reason];
}

/* Lanes double as [exam_probability] keys. */
const char *er_lane_name(int lane)
{
	switch (lane) {
	case ER_LANE_GREEN:
		return "GREEN";
	case ER_LANE_YELLOW:
		return "YELLOW";
	case ER_LANE_RED:
		return "RED";
	default:
		return "?";
	}
}

double er_rules_exam_prob(const er_rules *r, int lane)
{
	if (lane < 0 || lane >= ER_NLANES)
		return 0.0;
	return r->exam_prob[lane];
}

int er_rules_red_threshold(const er_rules *r)
{
	return r->red;
}

int er_rules_yellow_threshold(const er_rules *r)
{
	return r->yellow;
}

int er_rules_sdn_check(const er_rules *r, char *err, size_t errlen)
{
	if (!r->sdn_missing[0])
		return 0;
	snprintf(err, errlen, "%s: missing key %s (needed by --sdn)", r->path, r->sdn_missing);
	return -1;
}

int er_rules_points(const er_rules *r, int reason)
{
	if (reason < 0 || reason >= ER_NREASONS)
		return 0;
	return r->points[reason];
}

/* ------------------------------------------------------------------ */
/* HS watch list: one hash of (prefix value, prefix length)             */
/* ------------------------------------------------------------------ */

static inline uint32_t hs_slot(uint64_t key, uint32_t mask)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static inline uint64_t hs_key(uint64_t val, unsigned len)
{
	return val * 16u + len;
}

/* Returns the existing slot for key, or the empty slot where it goes. */
static er_hs_slot *hs_find(er_hs_slot *tab, uint32_t mask, uint64_t key)
{
	uint32_t i = hs_slot(key, mask);
	while (tab[i].key && tab[i].key != key)
		i = (i + 1) & mask;
	return &tab[i];
}

static int hs_grow(er_rules *r)
{
	uint32_t size = r->hs ? (r->hs_mask + 1) * 2 : 16;
	er_hs_slot *tab = calloc(size, sizeof *tab);
	if (!tab)
		return -1;
	if (r->hs) {
		for (uint32_t i = 0; i <= r->hs_mask; i++)
			if (r->hs[i].key)
				*hs_find(tab, size - 1, r->hs[i].key) = r->hs[i];
		free(r->hs);
	}
	r->hs = tab;
	r->hs_mask = size - 1;
	return 0;
}

/* ref: without the chapter filter (the reference of the differential test). */
static int hs_match(const er_rules *r, const char *d, size_t n, int *points, int ref)
{
	if (!r->hs_n || n == 0)
		return 0;
	if (n > 10)
		n = 10;
	/* every prefix has two digits or more, so its chapter is the code's:
	 * most codes are in no watched chapter and need no probe */
	if (!ref && n >= 2) {
		unsigned ch = (unsigned)(d[0] - '0') * 10u + (unsigned)(d[1] - '0');
		if (ch < 100u && !r->hs_chapter[ch])
			return 0;
	}
	uint64_t pref[11];
	pref[0] = 0;
	for (size_t i = 0; i < n; i++)
		pref[i + 1] = pref[i] * 10 + (uint64_t)(d[i] - '0');
	for (size_t len = n; len >= 1; len--) {
		if (!(r->hs_lens >> len & 1u))
			continue;
		const er_hs_slot *s = hs_find(r->hs, r->hs_mask, hs_key(pref[len], (unsigned)len));
		if (s->key) {
			*points = s->points;
			return 1;
		}
	}
	return 0;
}

int er_rules_hs_match(const er_rules *r, const char *d, size_t n, int *points)
{
	return hs_match(r, d, n, points, 0);
}

int er_rules_hs_match_ref(const er_rules *r, const char *d, size_t n, int *points)
{
	return hs_match(r, d, n, points, 1);
}

/* ------------------------------------------------------------------ */
/* Vague descriptions                                                   */
/* ------------------------------------------------------------------ */

typedef struct desc_scan {
	size_t norm_len; /* normalised length; valid when !too_long */
	int too_long;    /* normalised text longer than the buffer */
	size_t nonspace; /* non-space characters */
	int has_letter;  /* an ASCII letter or any non-ASCII character */
	int mixed;       /* two different non-space characters seen */
	int noterm;      /* with a term trie: no term starts like the text */
	uint32_t node;   /* with a term trie: its node after the text so far */
} desc_scan;

/* Byte classes for the description scan (ASCII; bytes >= 0x80 are treated
 * as parts of letters). */
enum { C_WS = 1, C_PUNCT = 2, C_ALPHA = 4 };
static const uint8_t byte_class[256] = {
	['\t'] = C_WS, ['\n'] = C_WS, ['\v'] = C_WS, ['\f'] = C_WS, ['\r'] = C_WS, [' '] = C_WS,
	['!'] = C_PUNCT, ['"'] = C_PUNCT, ['#'] = C_PUNCT, ['$'] = C_PUNCT, ['%'] = C_PUNCT,
	['&'] = C_PUNCT, ['\''] = C_PUNCT, ['('] = C_PUNCT, [')'] = C_PUNCT, ['*'] = C_PUNCT,
	['+'] = C_PUNCT, [','] = C_PUNCT, ['-'] = C_PUNCT, ['.'] = C_PUNCT, ['/'] = C_PUNCT,
	[':'] = C_PUNCT, [';'] = C_PUNCT, ['<'] = C_PUNCT, ['='] = C_PUNCT, ['>'] = C_PUNCT,
	['?'] = C_PUNCT, ['@'] = C_PUNCT, ['['] = C_PUNCT, ['\\'] = C_PUNCT, [']'] = C_PUNCT,
	['^'] = C_PUNCT, ['_'] = C_PUNCT, ['`'] = C_PUNCT, ['{'] = C_PUNCT, ['|'] = C_PUNCT,
	['}'] = C_PUNCT, ['~'] = C_PUNCT,
	['A'] = C_ALPHA, ['B'] = C_ALPHA, ['C'] = C_ALPHA, ['D'] = C_ALPHA, ['E'] = C_ALPHA,
	['F'] = C_ALPHA, ['G'] = C_ALPHA, ['H'] = C_ALPHA, ['I'] = C_ALPHA, ['J'] = C_ALPHA,
	['K'] = C_ALPHA, ['L'] = C_ALPHA, ['M'] = C_ALPHA, ['N'] = C_ALPHA, ['O'] = C_ALPHA,
	['P'] = C_ALPHA, ['Q'] = C_ALPHA, ['R'] = C_ALPHA, ['S'] = C_ALPHA, ['T'] = C_ALPHA,
	['U'] = C_ALPHA, ['V'] = C_ALPHA, ['W'] = C_ALPHA, ['X'] = C_ALPHA, ['Y'] = C_ALPHA,
	['Z'] = C_ALPHA,
	['a'] = C_ALPHA, ['b'] = C_ALPHA, ['c'] = C_ALPHA, ['d'] = C_ALPHA, ['e'] = C_ALPHA,
	['f'] = C_ALPHA, ['g'] = C_ALPHA, ['h'] = C_ALPHA, ['i'] = C_ALPHA, ['j'] = C_ALPHA,
	['k'] = C_ALPHA, ['l'] = C_ALPHA, ['m'] = C_ALPHA, ['n'] = C_ALPHA, ['o'] = C_ALPHA,
	['p'] = C_ALPHA, ['q'] = C_ALPHA, ['r'] = C_ALPHA, ['s'] = C_ALPHA, ['t'] = C_ALPHA,
	['u'] = C_ALPHA, ['v'] = C_ALPHA, ['w'] = C_ALPHA, ['x'] = C_ALPHA, ['y'] = C_ALPHA,
	['z'] = C_ALPHA,
};

static inline unsigned char up_ascii(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
}

/*
 * One pass over a description: writes its normalised form (upper-case,
 * whitespace runs collapsed, leading whitespace dropped) into out[0..cap)
 * and records the facts the vague rules need. Trailing punctuation and
 * whitespace are dropped by remembering where the last other character
 * ended. With stop_early, returns as soon as the text can be neither a term
 * (its normalised form outgrew cap, the longest term) nor a letterless or
 * repeated-character description, so long descriptions cost a few dozen
 * bytes. With terms (the trie of the normalised terms; then cap is the
 * longest term), the normalised text is walked through the trie at every
 * content character: once no term starts like it, noterm is set and (with
 * stop_early) the scan stops as soon as a letter and a second character
 * were seen, typically after two or three bytes; at the end s->node is the
 * trie node of the whole normalised text.
 */
static void scan_desc(const char *p, size_t n, char *out, size_t cap, int stop_early,
                      const er_trie *terms, desc_scan *s)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned char first[4];
	size_t flen = 0, pos = 0, last = 0, i = 0;
	int space = 0;

	size_t tpos = 0; /* out[0..tpos) has been walked through terms */
	memset(s, 0, sizeof *s);
	s->node = ER_TRIE_ROOT;
	while (i < n) {
		unsigned char c = u[i];
		unsigned cls = byte_class[c];
		if (cls & C_WS) {
			space = pos > 0;
			i++;
			continue;
		}
		unsigned char ch[4];
		size_t clen = 1;
		if (c < 0x80) {
			ch[0] = up_ascii(c);
			if (cls & C_ALPHA)
				s->has_letter = 1;
		} else {
			/* a multi-byte character (or a stray byte) counts as a letter */
			clen = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
			if (clen > n - i)
				clen = n - i;
			memcpy(ch, u + i, clen);
			s->has_letter = 1;
		}
		/* one-byte characters (nearly all) copy without a memcpy call */
		if (s->nonspace == 0) {
			if (clen == 1)
				first[0] = ch[0];
			else
				memcpy(first, ch, clen);
			flen = clen;
		} else if (!s->mixed &&
		           (clen != flen || (clen == 1 ? first[0] != ch[0] : memcmp(first, ch, clen) != 0))) {
			s->mixed = 1;
		}
		s->nonspace++;
		int content = !(cls & C_PUNCT);
		size_t need = (size_t)space + clen;
		if (pos + need <= cap) {
			if (space)
				out[pos] = ' ';
			if (clen == 1)
				out[pos + space] = (char)ch[0];
			else
				memcpy(out + pos + space, ch, clen);
		} else if (content) {
			s->too_long = 1;
		}
		pos += need;
		space = 0;
		if (content) {
			last = pos;
			/* the normalised text up to here starts the final one: walk the
			 * bytes since the previous content character (they are all in
			 * out unless it is longer than every term) */
			if (terms && !s->noterm) {
				uint32_t node = s->too_long ? ER_TRIE_DEAD : s->node;
				for (; node && tpos < pos; tpos++)
					node = er_trie_step(terms, node, (unsigned char)out[tpos]);
				s->node = node;
				s->noterm = node == ER_TRIE_DEAD;
			}
		}
		i += clen;
		if (stop_early && (s->too_long || s->noterm) && s->has_letter && s->mixed)
			return;
	}
	s->norm_len = last;
}

static inline uint64_t vague_hash(const char *p, size_t n)
{
	uint64_t h = er_hash64(p, n, VAGUE_SEED);
	return h ? h : 1;
}

static const er_vague_slot *vague_find(const er_rules *r, const er_vague_slot *tab, uint32_t mask,
                                       const char *p, size_t n, uint64_t h)
{
	uint32_t i = (uint32_t)(h >> 32) & mask;
	while (tab[i].hash) {
		if (tab[i].hash == h && tab[i].len == n && memcmp(r->vague_text + tab[i].off, p, n) == 0)
			break;
		i = (i + 1) & mask;
	}
	return &tab[i];
}

static int vague_grow(er_rules *r)
{
	uint32_t size = r->vague ? (r->vague_mask + 1) * 2 : 32;
	er_vague_slot *tab = calloc(size, sizeof *tab);
	if (!tab)
		return -1;
	if (r->vague) {
		for (uint32_t i = 0; i <= r->vague_mask; i++) {
			if (!r->vague[i].hash)
				continue;
			uint32_t j = (uint32_t)(r->vague[i].hash >> 32) & (size - 1);
			while (tab[j].hash)
				j = (j + 1) & (size - 1);
			tab[j] = r->vague[i];
		}
		free(r->vague);
	}
	r->vague = tab;
	r->vague_mask = size - 1;
	return 0;
}

/* ---- leading count + unit and prefix ---- */

static inline int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A byte that continues a word (letter, digit, or part of a UTF-8 letter). */
static inline int word_byte(unsigned char c)
{
	return is_digit(c) || (byte_class[c] & C_ALPHA) || c >= 0x80;
}

/* Does the stored word w (normalised: upper-case, no dots, single spaces)
 * start the text at p[i..n)? Dots in the text are skipped, a space in w
 * takes any run of whitespace, and the match must end at a word boundary.
 * Returns the end offset, or 0 for no match. */
static size_t match_word(const char *p, size_t n, size_t i, const char *w, size_t wl)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t j = 0;
	while (j < wl) {
		if (i < n && u[i] == '.') {
			i++;
			continue;
		}
		if (w[j] == ' ') {
			if (i >= n || !(byte_class[u[i]] & C_WS))
				return 0;
			while (i < n && (byte_class[u[i]] & C_WS))
				i++;
			j++;
			continue;
		}
		if (i >= n || up_ascii(u[i]) != (unsigned char)w[j])
			return 0;
		i++;
		j++;
	}
	while (i < n && u[i] == '.')
		i++;
	return i < n && word_byte(u[i]) ? 0 : i;
}

/* Longest entry of the list starting the text at i; end offset or 0: each
 * entry compared in turn (the reference). */
static size_t match_list_ref(const er_strip_list *l, const char *p, size_t n, size_t i)
{
	if (i >= n || !l->first[up_ascii((unsigned char)p[i])])
		return 0;
	size_t best = 0;
	for (uint32_t k = 0; k < l->n; k++) {
		size_t e = match_word(p, n, i, l->w[k], l->len[k]);
		if (e > best)
			best = e;
	}
	return best;
}

/* The same in one walk of the list's trie: match_word's rules (dots in the
 * text skipped after the first byte, a space in an entry takes a run of
 * whitespace, the match ends at a word boundary), for all entries at once;
 * the deepest entry that ends at a boundary is the longest match. */
static size_t match_list_trie(const er_strip_list *l, const char *p, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)p;
	const er_trie *t = &l->trie;
	if (i >= n)
		return 0;
	/* no entry holds a dot or starts with a space: the first byte is taken as is */
	uint32_t node = er_trie_step(t, ER_TRIE_ROOT, up_ascii(u[i]));
	size_t best = 0;
	i++;
	while (node) {
		while (i < n && u[i] == '.')
			i++;
		if (er_trie_accepts(t, node) && !(i < n && word_byte(u[i])))
			best = i;
		if (i >= n)
			break;
		if (byte_class[u[i]] & C_WS) {
			node = er_trie_step(t, node, ' ');
			while (i < n && (byte_class[u[i]] & C_WS))
				i++;
		} else {
			node = er_trie_step(t, node, up_ascii(u[i]));
			i++;
		}
	}
	return best;
}

static inline size_t match_list(const er_strip_list *l, const char *p, size_t n, size_t i,
                                int ref)
{
	return ref ? match_list_ref(l, p, n, i) : match_list_trie(l, p, n, i);
}

/* Skip whitespace and the separators a manifest puts after a count or a
 * prefix ("STC: PARTS", "12 CTNS - FAK", "STC/ PARTS"). */
static size_t skip_sep(const char *p, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)p;
	while (i < n && ((byte_class[u[i]] & C_WS) || u[i] == ':' || u[i] == '-' || u[i] == ',' ||
	                 u[i] == ';' || u[i] == '/'))
		i++;
	return i;
}

/* A package count with its unit at i: digits (with "," or "." between
 * digit groups: "1,200"), optional spaces, a unit word, and an optional
 * "OF" ("12 CTNS OF ..."; English connector, not a list entry). End
 * offset or 0. */
static size_t match_count(const er_strip_list *units, const char *p, size_t n, size_t i,
                          int ref)
{
	const unsigned char *u = (const unsigned char *)p;
	if (i >= n || !is_digit(u[i]))
		return 0;
	while (i < n && (is_digit(u[i]) ||
	                 ((u[i] == ',' || u[i] == '.') && i + 1 < n && is_digit(u[i + 1]))))
		i++;
	while (i < n && (byte_class[u[i]] & C_WS))
		i++;
	size_t e = match_list(units, p, n, i, ref);
	if (!e)
		return 0;
	size_t o = skip_sep(p, n, e);
	size_t of = match_word(p, n, o, "OF", 2);
	return of ? of : e;
}

/* Offset where the description proper starts, after at most one count +
 * unit and one prefix, in either order. */
static size_t strip_lead(const er_rules *r, const char *p, size_t n, int ref)
{
	size_t i = skip_sep(p, n, 0);
	int count = 0, prefix = 0;
	while (!count || !prefix) {
		size_t e;
		if (!prefix && (e = match_list(&r->prefixes, p, n, i, ref)) != 0) {
			prefix = 1;
		} else if (!count && (e = match_count(&r->units, p, n, i, ref)) != 0) {
			count = 1;
		} else {
			break;
		}
		i = skip_sep(p, n, e);
	}
	return i;
}

/* ref: the reference way (each list entry compared in turn, the term set
 * looked up by hash) instead of the tries; both give the same answer. */
static int vague_desc(const er_rules *r, const char *p, size_t n, int ref)
{
	char norm[ER_VAGUE_MAX];
	desc_scan s;
	if (n && (r->units.n || r->prefixes.n)) {
		size_t off = strip_lead(r, p, n, ref);
		p += off;
		n -= off;
		/* a unit word alone ("CTN", "12 PKGS" minus its count) says nothing */
		size_t e = match_list(&r->units, p, n, 0, ref);
		if (e && skip_sep(p, n, e) == n)
			return 1;
	}
	scan_desc(p, n, norm, r->vague_maxlen, 1, ref ? NULL : &r->vague_trie, &s);
	if (s.nonspace == 0 || !s.has_letter)
		return 1;
	if (!s.mixed && s.nonspace >= 3)
		return 1;
	if (s.too_long || !r->vague_n)
		return 0;
	if (!ref)
		return !s.noterm && er_trie_accepts(&r->vague_trie, s.node);
	uint64_t h = vague_hash(norm, s.norm_len);
	return vague_find(r, r->vague, r->vague_mask, norm, s.norm_len, h)->hash != 0;
}

int er_rules_vague_desc(const er_rules *r, const char *p, size_t n)
{
	return vague_desc(r, p, n, 0);
}

int er_rules_vague_desc_ref(const er_rules *r, const char *p, size_t n)
{
	return vague_desc(r, p, n, 1);
}

/* ------------------------------------------------------------------ */
/* Loader                                                               */
/* ------------------------------------------------------------------ */

enum sect { S_NONE = -1, S_SCORE, S_POINTS, S_HS, S_ORIGIN, S_VAGUE, S_FILING, S_RANDOM,
            S_EXAM, S_LANES, S_SDN, S_N };
static const char *const sect_names[S_N] = {
	"score", "points", "hs_watch", "origin_watch", "vague", "filing", "random",
	"exam_probability", "lanes", "sdn"
};

/* Scalar keys: each must appear exactly once. */
enum {
	K_BASE, K_RED, K_YELLOW,
	K_POINTS0,
	K_WINDOW = K_POINTS0 + ER_NREASONS,
	K_RATE, K_SEED,
	K_P_RED, K_P_YELLOW, K_P_GREEN,
	K_SDN_MATCH, K_SDN_REVIEW, K_SDN_FORCE, /* [sdn]: needed only with --sdn */
	K_N
};

/* [lanes] key kinds: KIND.MODE = value. */
enum { LK_RED, LK_YELLOW, LK_RED_SHARE, LK_YELLOW_SHARE, LK_N };
static const char *const lane_kinds[LK_N] = { "red", "yellow", "red_share", "yellow_share" };

/* Keys the SDN screen needs and nothing else does: missing ones are
 * reported by er_rules_sdn_check() when a list is given, not at load. */
static int sdn_only_key(int k)
{
	return k == K_POINTS0 + ER_R_SDN_MATCH || k == K_POINTS0 + ER_R_SDN_REVIEW ||
	       k == K_SDN_MATCH || k == K_SDN_REVIEW || k == K_SDN_FORCE;
}

typedef struct loader {
	er_rules *r;
	/* reader state */
	const char *text;
	size_t len, pos;
	uint32_t line;
	/* first error */
	uint32_t err_line;
	int nomem;
	char msg[200];
	uint32_t seen[K_N]; /* line where each scalar key was set, 0 = not yet */
	uint32_t lane_seen[LK_N][ER_NTMODES]; /* [lanes] keys (all optional) */
} loader;

static void fail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(loader *L, const char *fmt, ...)
{
	if (L->err_line)
		return;
	L->err_line = L->line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->msg, sizeof L->msg, fmt, ap);
	va_end(ap);
}

static int sect_index(const char *name, size_t n)
{
	for (int i = 0; i < S_N; i++)
		if (er_ieq(name, n, sect_names[i]))
			return i;
	return S_NONE;
}

/* fgets-style reader over the whole file: one physical line per call, so
 * libinih's line count and ours agree. Leading blanks are dropped so that an
 * indented line is an ordinary line, never a libinih continuation. */
static char *ini_reader_fn(char *str, int num, void *stream)
{
	loader *L = stream;
	if (L->pos >= L->len)
		return NULL;
	const char *s = L->text + L->pos;
	size_t rest = L->len - L->pos;
	const char *nl = memchr(s, '\n', rest);
	size_t n = nl ? (size_t)(nl - s) + 1 : rest;
	L->pos += n;
	L->line++;
	if (L->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3; /* UTF-8 BOM */
		n -= 3;
	}
	if (memchr(s, '\0', n))
		fail(L, "NUL byte in line");
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--; /* libinih strips trailing whitespace anyway */
	if (n + 1 > (size_t)num) {
		/* A long comment only needs its first character to stay a comment. */
		if (s[0] != ';' && s[0] != '#')
			fail(L, "line longer than %d characters", num - 1);
		n = (size_t)num - 1;
	}
	memcpy(str, s, n);
	str[n] = '\0';

	/* Section headers never reach the handler: check the name here. */
	if (n && s[0] == '[') {
		const char *end = memchr(s, ']', n);
		if (end) {
			const char *name = s + 1;
			size_t nn = (size_t)(end - name);
			er_trim(&name, &nn);
			if (sect_index(name, nn) == S_NONE)
				fail(L, "unknown section [%.*s]", (int)nn, name);
		}
	}
	return str;
}

/* Integer in lo..hi. "+15" and "-12" are fine. */
static int get_int(loader *L, const char *sect, const char *name, const char *v, long lo, long hi,
                   int *out)
{
	const char *p = v;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9' || strspn(p, "0123456789") != strlen(p)) {
		fail(L, "[%s] %s = '%s': not an integer", sect, name, v);
		return -1;
	}
	errno = 0;
	long x = strtol(v, NULL, 10);
	if (errno || x < lo || x > hi) {
		fail(L, "[%s] %s = %s: out of range %ld..%ld", sect, name, v, lo, hi);
		return -1;
	}
	*out = (int)x;
	return 0;
}

/* Fraction in 0..1, plain decimal ("0.005", ".5", "1"). Computed as
 * integer / power of ten, both exact, so the result is correctly rounded
 * ("0.01" is the double nearest 0.01) without depending on the C locale. */
static int get_frac(loader *L, const char *sect, const char *name, const char *v, double *out)
{
	const char *p = v;
	int neg = *p == '-';
	p += neg;
	uint64_t mant = 0;
	int ndig = 0, nfrac = 0, dot = 0;
	for (; *p; p++) {
		if (*p == '.' && !dot) {
			dot = 1;
		} else if (*p >= '0' && *p <= '9') {
			if (ndig == 15) {
				fail(L, "[%s] %s = '%s': more than 15 digits", sect, name, v);
				return -1;
			}
			mant = mant * 10 + (uint64_t)(*p - '0');
			ndig++;
			nfrac += dot;
		} else {
			ndig = 0;
			break;
		}
	}
	if (ndig == 0) {
		fail(L, "[%s] %s = '%s': not a number", sect, name, v);
		return -1;
	}
	double scale = 1.0;
	for (int i = 0; i < nfrac; i++)
		scale *= 10.0;
	double x = (double)mant / scale;
	if ((neg && mant) || x > 1.0) {
		fail(L, "[%s] %s = %s: out of range 0..1", sect, name, v);
		return -1;
	}
	*out = x;
	return 0;
}

static int get_u64(loader *L, const char *sect, const char *name, const char *v, uint64_t *out)
{
	uint64_t x = 0;
	if (!*v) {
		fail(L, "[%s] %s = '': not an integer", sect, name);
		return -1;
	}
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9') {
			fail(L, "[%s] %s = '%s': not an integer", sect, name, v);
			return -1;
		}
		unsigned dgt = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - dgt) / 10) {
			fail(L, "[%s] %s = %s: out of range 0..%llu", sect, name, v,
			     (unsigned long long)UINT64_MAX);
			return -1;
		}
		x = x * 10 + dgt;
	}
	*out = x;
	return 0;
}

/* Claim a scalar key; a second assignment is an error. */
static int claim(loader *L, int k, const char *sect, const char *name)
{
	if (L->seen[k]) {
		fail(L, "duplicate key '%s' in [%s] (first set on line %u)", name, sect,
		     (unsigned)L->seen[k]);
		return -1;
	}
	L->seen[k] = L->line;
	return 0;
}

static int reason_index(const char *name)
{
	for (int i = 0; i < ER_NREASONS; i++)
		if (strcasecmp(name, er_reason_name(i)) == 0)
			return i;
	return -1;
}

static void add_hs(loader *L, const char *name, const char *value)
{
	er_rules *r = L->r;
	char d[16];
	size_t nd = 0;
	for (const char *p = name; *p; p++) {
		if (*p == '.')
			continue;
		if (*p < '0' || *p > '9' || nd >= 11) {
			nd = 99;
			break;
		}
		d[nd++] = *p;
	}
	if (nd < 2 || nd > 10) {
		fail(L, "[hs_watch] '%s': HS prefix must be 2 to 10 digits", name);
		return;
	}
	int pts;
	if (get_int(L, "hs_watch", name, value, PTS_MIN, PTS_MAX, &pts) < 0)
		return;
	uint64_t val = 0;
	for (size_t i = 0; i < nd; i++)
		val = val * 10 + (uint64_t)(d[i] - '0');
	uint64_t key = hs_key(val, (unsigned)nd);
	if ((r->hs_n + 1) * 2 > (r->hs ? r->hs_mask + 1 : 0) && hs_grow(r) < 0) {
		L->nomem = 1;
		return;
	}
	er_hs_slot *s = hs_find(r->hs, r->hs_mask, key);
	if (s->key) {
		fail(L, "duplicate key '%s' in [hs_watch] (first set on line %u)", name,
		     (unsigned)s->line);
		return;
	}
	s->key = key;
	s->points = pts;
	s->line = L->line;
	r->hs_n++;
	r->hs_lens |= (uint16_t)(1u << nd);
	r->hs_chapter[(d[0] - '0') * 10 + (d[1] - '0')] = 1;
}

static void add_origin(loader *L, const char *name, const char *value)
{
	er_rules *r = L->r;
	unsigned char a = up_ascii((unsigned char)name[0]);
	unsigned char b = a ? up_ascii((unsigned char)name[1]) : 0;
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || name[2]) {
		fail(L, "[origin_watch] '%s': not an ISO 3166 alpha-2 country code", name);
		return;
	}
	int pts;
	if (get_int(L, "origin_watch", name, value, PTS_MIN, PTS_MAX, &pts) < 0)
		return;
	int idx = (a - 'A') * 26 + (b - 'A');
	if (r->origin_set[idx]) {
		fail(L, "duplicate key '%s' in [origin_watch]", name);
		return;
	}
	r->origin_set[idx] = 1;
	r->origin_points[idx] = (int16_t)pts;
}

/* unit = / prefix = : store the word normalised for match_word(). */
static void add_strip(loader *L, er_strip_list *l, const char *key, const char *value)
{
	char w[ER_STRIP_MAX + 1];
	size_t n = 0;
	int space = 0;
	for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
		if (*s == '.')
			continue;
		if (byte_class[*s] & C_WS) {
			space = n > 0;
			continue;
		}
		if (*s >= 0x80 || (!(byte_class[*s] & C_ALPHA) && !is_digit(*s) && *s != '(' &&
		                   *s != ')' && *s != '&' && *s != '\'' && *s != '-')) {
			fail(L, "[vague] %s '%s': only letters, digits, spaces, dots and ()&'- allowed",
			     key, value);
			return;
		}
		if (n + (size_t)space + 1 > ER_STRIP_MAX) {
			fail(L, "[vague] %s '%s': longer than %d characters", key, value, ER_STRIP_MAX);
			return;
		}
		if (space)
			w[n++] = ' ';
		space = 0;
		w[n++] = (char)up_ascii(*s);
	}
	if (n == 0) {
		fail(L, "[vague] %s '%s': empty after normalisation", key, value);
		return;
	}
	w[n] = '\0';
	for (uint32_t k = 0; k < l->n; k++)
		if (l->len[k] == n && memcmp(l->w[k], w, n) == 0)
			return; /* the same word twice is harmless */
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		char (*nw)[ER_STRIP_MAX + 1] = realloc(l->w, cap * sizeof *nw);
		if (nw)
			l->w = nw;
		uint8_t *nl = nw ? realloc(l->len, cap) : NULL;
		if (!nl) {
			L->nomem = 1;
			return;
		}
		l->len = nl;
		l->cap = cap;
	}
	memcpy(l->w[l->n], w, n + 1);
	l->len[l->n++] = (uint8_t)n;
	l->first[(unsigned char)w[0]] = 1;
}

static void add_vague(loader *L, const char *name, const char *value)
{
	er_rules *r = L->r;
	if (strcasecmp(name, "unit") == 0 || strcasecmp(name, "prefix") == 0) {
		int unit = (name[0] | 0x20) == 'u';
		add_strip(L, unit ? &r->units : &r->prefixes, unit ? "unit" : "prefix", value);
		return;
	}
	if (strcasecmp(name, "term") != 0) {
		fail(L, "unknown key '%s' in [vague] (expected term, unit or prefix = TEXT)", name);
		return;
	}
	char norm[ER_VAGUE_MAX];
	desc_scan s;
	scan_desc(value, strlen(value), norm, sizeof norm, 0, NULL, &s);
	if (s.too_long) {
		fail(L, "[vague] term '%s': longer than %d characters", value, ER_VAGUE_MAX);
		return;
	}
	if (s.norm_len == 0) {
		fail(L, "[vague] term '%s': empty after normalisation", value);
		return;
	}
	uint64_t h = vague_hash(norm, s.norm_len);
	if (r->vague && vague_find(r, r->vague, r->vague_mask, norm, s.norm_len, h)->hash)
		return; /* the same term twice is harmless */
	if ((r->vague_n + 1) * 2 > (r->vague ? r->vague_mask + 1 : 0) && vague_grow(r) < 0) {
		L->nomem = 1;
		return;
	}
	if (r->vague_text_len + s.norm_len > r->vague_text_cap) {
		size_t cap = r->vague_text_cap ? r->vague_text_cap * 2 : 1024;
		while (cap < r->vague_text_len + s.norm_len)
			cap *= 2;
		char *t = realloc(r->vague_text, cap);
		if (!t) {
			L->nomem = 1;
			return;
		}
		r->vague_text = t;
		r->vague_text_cap = cap;
	}
	memcpy(r->vague_text + r->vague_text_len, norm, s.norm_len);
	er_vague_slot *slot = (er_vague_slot *)vague_find(r, r->vague, r->vague_mask, norm,
	                                                  s.norm_len, h);
	slot->hash = h;
	slot->off = (uint32_t)r->vague_text_len;
	slot->len = (uint32_t)s.norm_len;
	r->vague_text_len += s.norm_len;
	r->vague_n++;
	if (s.norm_len > r->vague_maxlen)
		r->vague_maxlen = (uint32_t)s.norm_len;
}

static const char *const tm_names[ER_NTMODES] = { "vessel", "truck", "rail", "air", "unknown" };

const char *er_transport_name(int mode)
{
	return mode >= 0 && mode < ER_NTMODES ? tm_names[mode] : "?";
}

int er_transport_lookup(const char *name, size_t n)
{
	for (int m = 0; m < ER_NTMODES; m++)
		if (er_ieq(name, n, tm_names[m]))
			return m;
	return -1;
}

/* One [lanes] key: red.MODE / yellow.MODE (1..100), red_share.MODE /
 * yellow_share.MODE (0..1). */
static int lanes_key(loader *L, const char *name, const char *value)
{
	er_rules *r = L->r;
	const char *dot = strchr(name, '.');
	int kind = -1, mode = -1;
	if (dot) {
		for (int k = 0; k < LK_N; k++)
			if (er_ieq(name, (size_t)(dot - name), lane_kinds[k]))
				kind = k;
		mode = er_transport_lookup(dot + 1, strlen(dot + 1));
	}
	if (kind < 0 || mode < 0) {
		fail(L, "unknown key '%s' in [lanes] (expected red.MODE, yellow.MODE, red_share.MODE "
		     "or yellow_share.MODE; modes vessel, truck, rail, air, unknown)", name);
		return 0;
	}
	if (L->lane_seen[kind][mode]) {
		fail(L, "duplicate key '%s' in [lanes] (first set on line %u)", name,
		     (unsigned)L->lane_seen[kind][mode]);
		return 0;
	}
	L->lane_seen[kind][mode] = L->line;
	switch (kind) {
	case LK_RED:
		return get_int(L, "lanes", name, value, 1, 100, &r->lane_red[mode]) == 0;
	case LK_YELLOW:
		return get_int(L, "lanes", name, value, 1, 100, &r->lane_yellow[mode]) == 0;
	case LK_RED_SHARE:
		return get_frac(L, "lanes", name, value, &r->lane_red_share[mode]) == 0;
	default:
		return get_frac(L, "lanes", name, value, &r->lane_yellow_share[mode]) == 0;
	}
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	loader *L = user;
	er_rules *r = L->r;
	if (L->err_line || L->nomem)
		return 1; /* only the first error is reported */
	const char *sname = section;
	size_t snl = strlen(section);
	er_trim(&sname, &snl);
	int sec = sect_index(sname, snl);
	if (!snl) {
		fail(L, "key '%s' outside any [section]", name);
		return 0;
	}
	if (sec == S_NONE)
		return 0; /* already reported on the section line */
	const char *sn = sect_names[sec];
	int k = -1, ok = 0;
	switch (sec) {
	case S_SCORE:
		if (!strcasecmp(name, "base"))
			k = K_BASE;
		else if (!strcasecmp(name, "red"))
			k = K_RED;
		else if (!strcasecmp(name, "yellow"))
			k = K_YELLOW;
		if (k < 0)
			break;
		if (claim(L, k, sn, name) == 0)
			ok = get_int(L, sn, name, value, k == K_BASE ? 0 : 1, 100,
			             k == K_BASE ? &r->base : k == K_RED ? &r->red : &r->yellow) == 0;
		return ok;
	case S_POINTS: {
		int rc = reason_index(name);
		if (rc == ER_R_HS_WATCH || rc == ER_R_ORIGIN_WATCH) {
			fail(L, "[points] %s: points come from each entry of [%s]", name,
			     rc == ER_R_HS_WATCH ? "hs_watch" : "origin_watch");
			return 0;
		}
		if (rc < 0)
			break;
		if (claim(L, K_POINTS0 + rc, sn, name) == 0)
			ok = get_int(L, sn, name, value, PTS_MIN, PTS_MAX, &r->points[rc]) == 0;
		return ok;
	}
	case S_HS:
		add_hs(L, name, value);
		return !L->err_line && !L->nomem;
	case S_ORIGIN:
		add_origin(L, name, value);
		return !L->err_line;
	case S_VAGUE:
		add_vague(L, name, value);
		return !L->err_line && !L->nomem;
	case S_FILING:
		if (strcasecmp(name, "window_hours") != 0)
			break;
		if (claim(L, K_WINDOW, sn, name) == 0)
			ok = get_int(L, sn, name, value, 0, WINDOW_MAX_HOURS, &r->window_hours) == 0;
		return ok;
	case S_RANDOM:
		if (!strcasecmp(name, "rate")) {
			if (claim(L, K_RATE, sn, name) == 0)
				ok = get_frac(L, sn, name, value, &r->random_rate) == 0;
			return ok;
		}
		if (!strcasecmp(name, "seed")) {
			if (claim(L, K_SEED, sn, name) == 0)
				ok = get_u64(L, sn, name, value, &r->random_seed) == 0;
			return ok;
		}
		break;
	case S_SDN:
		if (!strcasecmp(name, "match") || !strcasecmp(name, "review")) {
			int m = (name[0] | 0x20) == 'm';
			if (claim(L, m ? K_SDN_MATCH : K_SDN_REVIEW, sn, name) == 0)
				ok = get_frac(L, sn, name, value, m ? &r->sdn_match : &r->sdn_review) == 0;
			return ok;
		}
		if (!strcasecmp(name, "force_red")) {
			if (claim(L, K_SDN_FORCE, sn, name) == 0)
				ok = get_int(L, sn, name, value, 0, 1, &r->sdn_force_red) == 0;
			return ok;
		}
		break;
	case S_EXAM: {
		int lane = !strcasecmp(name, "red") ? ER_LANE_RED :
		           !strcasecmp(name, "yellow") ? ER_LANE_YELLOW :
		           !strcasecmp(name, "green") ? ER_LANE_GREEN : -1;
		if (lane < 0)
			break;
		k = lane == ER_LANE_RED ? K_P_RED : lane == ER_LANE_YELLOW ? K_P_YELLOW : K_P_GREEN;
		if (claim(L, k, sn, name) == 0)
			ok = get_frac(L, sn, name, value, &r->exam_prob[lane]) == 0;
		return ok;
	}
	case S_LANES:
		return lanes_key(L, name, value);
	default:
		break;
	}
	fail(L, "unknown key '%s' in [%s]", name, sn);
	return 0;
}

/* Section and key of each scalar slot, for "missing key" messages. */
static void key_name(int k, const char **sect, const char **name)
{
	static const char *const exam[3] = { "red", "yellow", "green" };
	if (k <= K_YELLOW) {
		*sect = "score";
		*name = k == K_BASE ? "base" : k == K_RED ? "red" : "yellow";
	} else if (k < K_WINDOW) {
		*sect = "points";
		*name = er_reason_name(k - K_POINTS0);
	} else if (k == K_WINDOW) {
		*sect = "filing";
		*name = "window_hours";
	} else if (k <= K_SEED) {
		*sect = "random";
		*name = k == K_RATE ? "rate" : "seed";
	} else if (k <= K_P_GREEN) {
		*sect = "exam_probability";
		*name = exam[k - K_P_RED];
	} else {
		*sect = "sdn";
		*name = k == K_SDN_MATCH ? "match" : k == K_SDN_REVIEW ? "review" : "force_red";
	}
}

/* Cross-key checks, run once every key is known. Returns 0 or -1 with the
 * message in L (line of the key at fault). */
static int check_rules(loader *L)
{
	er_rules *r = L->r;
	static const int tiers[3] = { ER_R_IMP_CTPAT_T1, ER_R_IMP_CTPAT_T2, ER_R_IMP_CTPAT_T3 };
	if (r->yellow > r->red) {
		L->line = L->seen[K_YELLOW];
		fail(L, "[score] yellow = %d must not exceed red = %d", r->yellow, r->red);
		return -1;
	}
	if (L->seen[K_SDN_MATCH] && L->seen[K_SDN_REVIEW] && r->sdn_review > r->sdn_match) {
		L->line = L->seen[K_SDN_REVIEW];
		fail(L, "[sdn] review = %g must not exceed match = %g", r->sdn_review, r->sdn_match);
		return -1;
	}
	/* [lanes]: unlisted modes take [score]; the statute check below holds
	 * against the lowest RED threshold in force. */
	r->red_min = 101;
	for (int m = 0; m < ER_NTMODES; m++) {
		if (!L->lane_seen[LK_RED][m])
			r->lane_red[m] = r->red;
		if (!L->lane_seen[LK_YELLOW][m])
			r->lane_yellow[m] = r->yellow;
		if (!L->lane_seen[LK_RED_SHARE][m])
			r->lane_red_share[m] = 1.0;
		if (!L->lane_seen[LK_YELLOW_SHARE][m])
			r->lane_yellow_share[m] = 1.0;
		if (r->lane_yellow[m] > r->lane_red[m]) {
			L->line = L->lane_seen[LK_YELLOW][m] ? L->lane_seen[LK_YELLOW][m]
			                                      : L->lane_seen[LK_RED][m];
			fail(L, "[lanes] yellow %d of mode %s must not exceed its red threshold %d",
			     r->lane_yellow[m], tm_names[m], r->lane_red[m]);
			return -1;
		}
		if (r->lane_red[m] < r->red_min)
			r->red_min = r->lane_red[m];
	}
	/* 6 U.S.C. 964-966: tiers are benefits, i.e. score reductions. */
	for (int i = 0; i < 3; i++) {
		int v = r->points[tiers[i]];
		if (v > 0) {
			L->line = L->seen[K_POINTS0 + tiers[i]];
			fail(L, "[points] %s = %d: a CTPAT tier must be a credit (<= 0) "
			     "(6 U.S.C. 964-966)", er_reason_name(tiers[i]), v);
			return -1;
		}
	}
	int c1 = -r->points[ER_R_IMP_CTPAT_T1];
	int c2 = -r->points[ER_R_IMP_CTPAT_T2];
	int c3 = -r->points[ER_R_IMP_CTPAT_T3];
	/* 964: "not greater than 20 percent of the high-risk threshold". */
	if ((long)c1 * 5 > (long)r->red_min) {
		L->line = L->seen[K_POINTS0 + ER_R_IMP_CTPAT_T1];
		fail(L, "[points] IMP_CTPAT_T1 = %d: Tier 1 credit %d exceeds 20%% of the %s "
		     "threshold %d (6 U.S.C. 964)", -c1, c1,
		     r->red_min < r->red ? "lowest red ([lanes])" : "red", r->red_min);
		return -1;
	}
	if (c2 <= c1) {
		L->line = L->seen[K_POINTS0 + ER_R_IMP_CTPAT_T2];
		fail(L, "[points] IMP_CTPAT_T2 = %d: Tier 2 credit %d must exceed Tier 1 credit %d "
		     "(6 U.S.C. 965)", -c2, c2, c1);
		return -1;
	}
	if (c3 <= c2) {
		L->line = L->seen[K_POINTS0 + ER_R_IMP_CTPAT_T3];
		fail(L, "[points] IMP_CTPAT_T3 = %d: Tier 3 credit %d must exceed Tier 2 credit %d "
		     "(6 U.S.C. 966)", -c3, c3, c2);
		return -1;
	}
	return 0;
}

int er_rules_read_file(const char *path, er_buf *b)
{
	return er_read_file(path, ER_RULES_MAX_BYTES, NULL, b);
}

double er_lane_tie_u(const char *sid, size_t n)
{
	return (double)(er_hash64(sid, n, ER_LANE_TIE_KEY) >> 11) * 0x1p-53;
}

int er_rules_lane(const er_rules *r, int mode, int score, double tie_u)
{
	if (mode < 0 || mode >= ER_NTMODES)
		mode = ER_TM_UNKNOWN;
	int red = r->lane_red[mode], yellow = r->lane_yellow[mode];
	if (score > red || (score == red && tie_u < r->lane_red_share[mode]))
		return ER_LANE_RED;
	/* yellow == red disables YELLOW: the unsplit share at red stays GREEN */
	if (score > yellow || (score == yellow && yellow < red && tie_u < r->lane_yellow_share[mode]))
		return ER_LANE_YELLOW;
	return ER_LANE_GREEN;
}

void er_rules_free(er_rules *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->hs);
	free(r->vague);
	free(r->vague_text);
	free(r->units.w);
	free(r->units.len);
	free(r->prefixes.w);
	free(r->prefixes.len);
	er_trie_free(&r->units.trie);
	er_trie_free(&r->prefixes.trie);
	er_trie_free(&r->vague_trie);
	free(r);
}

/* The lists' tries, from the loaded words and terms. 0, or -1 when out of memory. */
static int strip_trie(er_strip_list *l)
{
	for (uint32_t k = 0; k < l->n; k++)
		er_trie_note(&l->trie, l->w[k], l->len[k]);
	/* a whitespace run in the text walks the entries' ' ' edge */
	er_trie_note(&l->trie, " ", 1);
	for (uint32_t k = 0; k < l->n; k++)
		if (er_trie_add(&l->trie, l->w[k], l->len[k]) < 0)
			return -1;
	return er_trie_empty(&l->trie);
}

static int build_tries(er_rules *r)
{
	if (strip_trie(&r->units) < 0 || strip_trie(&r->prefixes) < 0)
		return -1;
	for (uint32_t i = 0; i <= r->vague_mask; i++)
		if (r->vague[i].hash)
			er_trie_note(&r->vague_trie, r->vague_text + r->vague[i].off, r->vague[i].len);
	for (uint32_t i = 0; i <= r->vague_mask; i++)
		if (r->vague[i].hash &&
		    er_trie_add(&r->vague_trie, r->vague_text + r->vague[i].off, r->vague[i].len) < 0)
			return -1;
	return er_trie_empty(&r->vague_trie);
}

er_status er_rules_load(const char *path, er_rules **out, char *err, size_t errlen)
{
	er_status st = ER_OK;
	er_buf text = { 0 };
	loader L;
	er_rules *r = NULL;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (er_read_file(path, ER_RULES_MAX_BYTES, NULL, &text) < 0) {
		int e = errno;
		if (e == EFBIG)
			snprintf(err, errlen, "%s: larger than %u MiB: not a rules file", path,
			         ER_RULES_MAX_BYTES >> 20);
		else
			snprintf(err, errlen, "%s: %s", path, e == ENOMEM ? "out of memory" : strerror(e));
		st = e == ENOMEM ? ER_E_NOMEM : e == EFBIG ? ER_E_FORMAT : ER_E_IO;
		goto out;
	}
	r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		st = ER_E_NOMEM;
		goto out;
	}
	{
		struct sha256_ctx h;
		unsigned char d[SHA256_DIGEST_SIZE];
		sha256_init(&h);
		sha256_update(&h, text.len, (const uint8_t *)(text.p ? text.p : ""));
		sha256_digest(&h, sizeof d, d);
		er_hex(d, sizeof d, r->sha256);
		r->bytes = text.len;
	}

	memset(&L, 0, sizeof L);
	L.r = r;
	L.text = text.p ? text.p : "";
	L.len = text.len;
	int rc = ini_parse_stream(ini_reader_fn, &L, handler, &L);
	if (L.nomem || rc == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		st = ER_E_NOMEM;
		goto out;
	}
	if (rc > 0 && (!L.err_line || (uint32_t)rc < L.err_line)) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
		         path, rc);
		st = ER_E_FORMAT;
		goto out;
	}
	if (L.err_line) {
		snprintf(err, errlen, "%s:%u: %s", path, (unsigned)L.err_line, L.msg);
		st = ER_E_FORMAT;
		goto out;
	}
	for (int k = 0; k < K_N; k++) {
		if (k == K_POINTS0 + ER_R_HS_WATCH || k == K_POINTS0 + ER_R_ORIGIN_WATCH)
			continue;
		if (sdn_only_key(k)) {
			if (!L.seen[k] && !r->sdn_missing[0]) {
				const char *sect, *name;
				key_name(k, &sect, &name);
				snprintf(r->sdn_missing, sizeof r->sdn_missing, "[%s] %s", sect, name);
			}
			continue;
		}
		if (!L.seen[k]) {
			const char *sect, *name;
			key_name(k, &sect, &name);
			snprintf(err, errlen, "%s: missing key [%s] %s", path, sect, name);
			st = ER_E_FORMAT;
			goto out;
		}
	}
	if (check_rules(&L) < 0) {
		snprintf(err, errlen, "%s:%u: %s", path, (unsigned)L.err_line, L.msg);
		st = ER_E_FORMAT;
		goto out;
	}
	r->window_secs = (int64_t)r->window_hours * 3600;
	/* Empty lists still get a (one-slot, empty) table so look-ups need no NULL checks. */
	if ((!r->hs && hs_grow(r) < 0) || (!r->vague && vague_grow(r) < 0) || build_tries(r) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		st = ER_E_NOMEM;
		goto out;
	}
	*out = r;
	r = NULL;
out:
	er_rules_free(r);
	er_buf_free(&text);
	return st;
}
