/* er_sdn.c - the OFAC SDN list: load the three header-less files, index every
 * screened name by token and by transliteration key, and answer "which listed
 * name is most like this one, and how alike" for every manifest party (see
 * er_sdn.h for the similarity).
 *
 * Cost per row: most manifest names share no rare token with the list, so a
 * screen is a normalization, a few hash look-ups and an early exit; the
 * candidates that survive the prefix filter (below) are few and short.
 * Repeated names (a shipper ships many times) are answered from a cache that
 * all threads share without locks, keyed by a hash of the raw bytes, so a
 * distinct name is screened about once whatever the thread count (see
 * "answer cache"). */
#include "er_sdn.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "er_parse.h"
#include "er_table.h"
#include "er_util.h"

#define NAME_IN_MAX 256 /* bytes of a name that are screened */
#define TOK_MAX 16      /* tokens of a name that count */
#define TOK_LEN_MAX 64  /* longer tokens are cut */
#define KEY_MAX 32
#define EVAL_MAX 256    /* candidates per name when a thread has no memory for its state */
#define SIM_FLOOR 600   /* below 0.6 nothing is reported */
#define SHARE 0.6       /* strong (exact or transliterated) share a candidate needs */
#define ACACHE_MIN 8192u     /* answer cache shared by the threads: first size (slots) */
#define ACACHE_MAX 1048576u  /* and the most it grows to (16 bytes a slot: 16 MiB) */

enum { TY_ENTITY, TY_INDIVIDUAL, TY_VESSEL, TY_AIRCRAFT };

typedef struct sdn_tok {
	uint32_t off;     /* text in s->text */
	uint16_t len;
	uint16_t keylen;  /* length of its transliteration key */
	int32_t key;      /* key id, -1 when the key is too short to trust */
	uint32_t df;      /* names holding it */
	float w;          /* log2(1 + names / df) */
	uint8_t plain;    /* plain_ascii() */
} sdn_tok;

typedef struct sdn_name {
	uint32_t ent;     /* index into ents */
	uint32_t tok0;    /* first token id in s->ntok_ids */
	uint8_t ntok;
	uint8_t alias;
	float wsum;
} sdn_name;

typedef struct sdn_ent {
	int32_t ent_num;
	uint8_t type;
} sdn_ent;

typedef struct er_sdn_cache er_sdn_cache; /* answers given (see "answer cache") */

/* open addressing: h == 0 empty */
typedef struct hslot {
	uint64_t h;
	uint32_t id;
} hslot;

typedef struct htab {
	hslot *s;
	uint32_t mask, n;
} htab;

/* token or key id -> name ids (CSR) */
typedef struct post {
	uint32_t *off; /* nids + 1 */
	uint32_t *ids;
} post;

struct er_sdn {
	er_buf text;            /* token and key bytes */
	sdn_ent *ents;
	uint32_t nents, nscreened;
	sdn_name *names;
	uint32_t nnames, cap_names;
	uint32_t *ntok_ids;     /* tokens of every name, in order */
	size_t nntok, cap_ntok;
	sdn_tok *toks;
	uint32_t ntoks, cap_toks;
	uint32_t *key_off;      /* key id -> offset in text */
	uint8_t *key_len;
	uint32_t nkeys, cap_keys;
	htab tok_h, key_h, ent_h;
	post tok_post;          /* token -> names holding it */
	post key_toks;          /* transliteration key -> tokens with it */
	float wmax;             /* weight of a token the list never uses */
	uint32_t naliases, naddrs;
	uint64_t serial;        /* tells per-thread state which list it belongs to */
	er_sdn_cache *ac;       /* the one part screens write, NULL without memory */
};

static atomic_uint_fast64_t g_serial = 1;

/* ================================================================ hashing */

/* A fast 64-bit hash of a short byte string (names, tokens): 16 bytes per
 * 64x64->128 multiply, short tails read as two overlapping words. Only ever
 * used inside this process (index and answer cache), so host byte order is
 * fine. Never 0 (0 marks an empty slot). */
__extension__ typedef unsigned __int128 u128;

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	u128 r = (u128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t hkey(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ 0xa0761d6478bd642full ^ ((uint64_t)n * 0xe7037ed1a0b428dbull);
	size_t left = n;
	while (left > 16) {
		h = mum(rd64(p) ^ 0xe7037ed1a0b428dbull, rd64(p + 8) ^ h);
		p += 16;
		left -= 16;
	}
	uint64_t a, b;
	if (left > 8) {
		a = rd64(p);
		b = rd64(p + left - 8);
	} else if (left >= 4) {
		a = rd32(p);
		b = rd32(p + left - 4);
	} else if (left) {
		a = (uint64_t)p[0] << 16 | (uint64_t)p[left / 2] << 8 | p[left - 1];
		b = 0;
	} else {
		a = b = 0;
	}
	h = mum(a ^ 0x8ebc6af09c88c6e3ull, b ^ h ^ 0x589965cc75374cc3ull);
	h = mum(h ^ 0x1d8e4e27c47d124full, (uint64_t)n ^ 0xa0761d6478bd642full);
	return h ? h : 1;
}

static int htab_init(htab *t, uint32_t want)
{
	uint32_t size = 16;
	while (size < want * 2u)
		size *= 2;
	t->s = calloc(size, sizeof *t->s);
	t->mask = size - 1;
	t->n = 0;
	return t->s ? 0 : -1;
}

static int htab_grow(htab *t)
{
	htab nt;
	if (htab_init(&nt, (t->mask + 1)) < 0)
		return -1;
	for (uint32_t i = 0; i <= t->mask; i++) {
		if (!t->s[i].h)
			continue;
		uint32_t j = (uint32_t)t->s[i].h & nt.mask;
		while (nt.s[j].h)
			j = (j + 1) & nt.mask;
		nt.s[j] = t->s[i];
	}
	nt.n = t->n;
	free(t->s);
	*t = nt;
	return 0;
}

/* Insert (h, id), growing at half full. 0 ok, -1 no memory. */
static int htab_put(htab *t, uint64_t h, uint32_t id)
{
	if ((t->n + 1) * 2 > t->mask + 1 && htab_grow(t) < 0)
		return -1;
	uint32_t j = (uint32_t)h & t->mask;
	while (t->s[j].h)
		j = (j + 1) & t->mask;
	t->s[j].h = h;
	t->s[j].id = id;
	t->n++;
	return 0;
}

/* ============================================================ transliteration */

/* Base letter of U+00C0..U+00FF (second UTF-8 byte 0x80..0xBF after 0xC3),
 * upper-case; 0 for the few that are not letters. */
static const char latin1_base[64] = {
	'A', 'A', 'A', 'A', 'A', 'A', 'A', 'C', 'E', 'E', 'E', 'E', 'I', 'I', 'I', 'I',
	'D', 'N', 'O', 'O', 'O', 'O', 'O', 0,   'O', 'U', 'U', 'U', 'U', 'Y', 'T', 'S',
	'A', 'A', 'A', 'A', 'A', 'A', 'A', 'C', 'E', 'E', 'E', 'E', 'I', 'I', 'I', 'I',
	'D', 'N', 'O', 'O', 'O', 'O', 'O', 0,   'O', 'U', 'U', 'U', 'U', 'Y', 'T', 'Y',
};

/* Fold a token to ASCII capitals: Latin-1 accents to their base letter,
 * combining marks (U+0300..U+036F) and other non-ASCII dropped. */
static size_t fold_ascii(const char *t, size_t n, char *out, size_t cap)
{
	const unsigned char *u = (const unsigned char *)t;
	size_t o = 0;
	for (size_t i = 0; i < n && o < cap; i++) {
		unsigned char c = u[i];
		if (c < 0x80) {
			out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
		} else if (c == 0xC3 && i + 1 < n && (u[i + 1] & 0xC0) == 0x80) {
			char b = latin1_base[u[++i] & 0x3F];
			if (b)
				out[o++] = b;
		}
		/* any other byte: part of a mark or a letter we cannot fold */
	}
	return o;
}

/* 1 when a token needs no folding: ASCII without lower-case letters (what
 * the normalizer gives for nearly every name). */
static inline int plain_ascii(const char *t, size_t n)
{
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		bad |= (unsigned)(c >= 0x80) | (unsigned)(c >= 'a' && c <= 'z');
	}
	return !bad;
}

/* Single letters of the skeleton (0 = a vowel: A E I O U, and J Y, which
 * become I); anything not listed stays itself. */
static const char key_letter[128] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5',
	['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['A'] = 0, ['B'] = 'B', ['C'] = 'K', ['D'] = 'D', ['E'] = 0, ['F'] = 'F', ['G'] = 'K',
	['H'] = 'H', ['I'] = 0, ['J'] = 0, ['K'] = 'K', ['L'] = 'L', ['M'] = 'M', ['N'] = 'N',
	['O'] = 0, ['P'] = 'P', ['Q'] = 'K', ['R'] = 'R', ['S'] = 'S', ['T'] = 'T', ['U'] = 0,
	['V'] = 'V', ['W'] = 'V', ['X'] = 'X', ['Y'] = 0, ['Z'] = 'S',
};
/* Letters before an H that make one sound with it (0 = none). */
static const char key_digraph[128] = {
	['S'] = 'S', ['C'] = 'S', ['P'] = 'F', ['D'] = 'D', ['T'] = 'T', ['K'] = 'K', ['G'] = 'K',
};

/* Transliteration key: the consonant skeleton of a token, so spellings of one
 * name in Latin letters meet: PH=F, DH=D, TH=T, KH=GH=K, SH=CH=SCH=S; C, G, Q
 * = K; Z = S; W = V; J, Y = I; vowels dropped except that a leading vowel is
 * kept as A; doubled letters once. Digits stay. */
static size_t translit_key(const char *t, size_t n, char *key, size_t cap)
{
	char a[TOK_LEN_MAX];
	const char *src = t;
	size_t m = n;
	if (!plain_ascii(t, n)) {
		m = fold_ascii(t, n, a, sizeof a);
		src = a;
	}
	size_t o = 0;
	char last = 0;
	for (size_t i = 0; i < m && o < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		char nx = i + 1 < m ? src[i + 1] : 0;
		char k;
		if (nx == 'H' && key_digraph[c]) {
			k = key_digraph[c];
			i++;
		} else if (c == 'S' && nx == 'C' && i + 2 < m && src[i + 2] == 'H') {
			k = 'S';
			i += 2;
		} else {
			k = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? key_letter[c] : (char)c;
		}
		if (!k) { /* a vowel */
			if (o == 0 && i == 0)
				key[o++] = last = 'A';
			else
				last = 0; /* a vowel separates doubled consonants: "MAMA" = MM */
			continue;
		}
		if (k == 'H' && o > 0)
			continue; /* an H after the start is mostly a spelling habit */
		if (k == last)
			continue;
		key[o++] = last = k;
	}
	return o;
}

/* ============================================================ token scores */

static double jaro_winkler(const char *a, size_t la, const char *b, size_t lb)
{
	if (!la || !lb)
		return 0.0;
	size_t range = (la > lb ? la : lb) / 2;
	range = range ? range - 1 : 0;
	unsigned char ma[TOK_LEN_MAX] = { 0 }, mb[TOK_LEN_MAX] = { 0 };
	size_t m = 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > range ? i - range : 0, hi = i + range + 1 < lb ? i + range + 1 : lb;
		for (size_t j = lo; j < hi; j++) {
			if (!mb[j] && a[i] == b[j]) {
				ma[i] = mb[j] = 1;
				m++;
				break;
			}
		}
	}
	if (!m)
		return 0.0;
	size_t tr = 0, j = 0;
	for (size_t i = 0; i < la; i++) {
		if (!ma[i])
			continue;
		while (!mb[j])
			j++;
		if (a[i] != b[j])
			tr++;
		j++;
	}
	double md = (double)m;
	double jaro = (md / (double)la + md / (double)lb + (md - (double)tr / 2.0) / md) / 3.0;
	size_t l = 0;
	while (l < 4 && l < la && l < lb && a[l] == b[l])
		l++;
	return jaro + (double)l * 0.1 * (1.0 - jaro);
}

/* Is a (shorter) an abbreviation of b: same first letter, a's letters in
 * b in order ("MOHD" / "MOHAMMED", "INTL" / "INTERNATIONAL")? */
static int abbrev_of(const char *a, size_t la, const char *b, size_t lb)
{
	if (la < 2 || la >= lb || a[0] != b[0])
		return 0;
	size_t j = 1;
	for (size_t i = 1; i < la; i++) {
		while (j < lb && b[j] != a[i])
			j++;
		if (j == lb)
			return 0;
		j++;
	}
	return 1;
}

/* One token of a name being compared. */
typedef struct qtok {
	const char *p;
	uint16_t len;
	uint16_t keylen;
	int32_t id;   /* vocabulary id or -1 */
	int32_t key;  /* key id or -1 */
	float w;
	uint8_t plain; /* plain_ascii(): folding would not change it */
} qtok;

/* Same transliteration key, and (a skeleton alone joins unrelated short
 * words: ALGRA / ULKOR) letters that are close too. */
static int translit_eq(const qtok *q, const qtok *c)
{
	if (q->key < 0 || q->key != c->key || q->len < 4 || c->len < 4)
		return 0;
	if (q->plain && c->plain)
		return jaro_winkler(q->p, q->len, c->p, c->len) >= 0.75;
	char a[TOK_LEN_MAX], b[TOK_LEN_MAX];
	size_t la = fold_ascii(q->p, q->len, a, sizeof a), lb = fold_ascii(c->p, c->len, b, sizeof b);
	return jaro_winkler(a, la, b, lb) >= 0.75;
}

/* Exact or transliterated: the pairs the candidate filter counts. */
static inline int strong_pair(const qtok *q, const qtok *c)
{
	return (q->id >= 0 && q->id == c->id) || translit_eq(q, c);
}

static double pair_score(const qtok *q, const qtok *c)
{
	if (q->id >= 0 && q->id == c->id)
		return 1.0;
	if (q->len == c->len && er_eq_short(q->p, c->p, q->len))
		return 1.0;
	if (translit_eq(q, c))
		return 0.92;
	if (abbrev_of(q->p, q->len, c->p, c->len) || abbrev_of(c->p, c->len, q->p, q->len))
		return 0.85;
	if ((q->len == 1 || c->len == 1) && q->p[0] == c->p[0])
		return 0.75;
	/* Jaro-Winkler of 0.9 needs near-equal lengths and, in practice, one
	 * of the first two letters in common: skip the rest cheaply */
	size_t lo = q->len < c->len ? q->len : c->len, hi = q->len ^ c->len ^ lo;
	if (lo >= 4 && hi - lo <= hi / 4 && (q->p[0] == c->p[0] || q->p[1] == c->p[1])) {
		double jw = jaro_winkler(q->p, q->len, c->p, c->len);
		if (jw >= 0.9)
			return jw * 0.95;
	}
	return 0.0;
}

/* Weighted share of tokens paired one to one, best pairs first. */
static double name_sim(const qtok *q, int nq, double wq, const qtok *c, int nc, double wc)
{
	double s[TOK_MAX][TOK_MAX];
	for (int i = 0; i < nq; i++)
		for (int j = 0; j < nc; j++)
			s[i][j] = pair_score(&q[i], &c[j]);
	uint32_t usedq = 0, usedc = 0;
	double acc = 0.0;
	for (;;) {
		double best = 0.0;
		int bi = -1, bj = -1;
		for (int i = 0; i < nq; i++) {
			if (usedq >> i & 1u)
				continue;
			for (int j = 0; j < nc; j++)
				if (!(usedc >> j & 1u) && s[i][j] > best) {
					best = s[i][j];
					bi = i;
					bj = j;
				}
		}
		if (bi < 0)
			break;
		usedq |= 1u << bi;
		usedc |= 1u << bj;
		acc += best * ((double)q[bi].w + (double)c[bj].w);
	}
	return wq + wc > 0 ? acc / (wq + wc) : 0.0;
}

/* =============================================================== tokens */

/* Split a normalized name (single spaces) into up to TOK_MAX tokens. */
static int split_tokens(const char *s, size_t n, qtok *t)
{
	int k = 0;
	size_t i = 0;
	while (i < n && k < TOK_MAX) {
		while (i < n && s[i] == ' ')
			i++;
		size_t j = i;
		unsigned fold = 0; /* a byte folding would change (see plain_ascii) */
		while (j < n && s[j] != ' ') {
			unsigned char c = (unsigned char)s[j++];
			fold |= (unsigned)(c >= 0x80) | (unsigned)(c >= 'a' && c <= 'z');
		}
		if (j > i) {
			memset(&t[k], 0, sizeof t[k]);
			t[k].p = s + i;
			t[k].len = (uint16_t)(j - i > TOK_LEN_MAX ? TOK_LEN_MAX : j - i);
			t[k].id = t[k].key = -1;
			t[k].plain = !fold;
			k++;
		}
		i = j;
	}
	return k;
}

static int32_t tok_find(const er_sdn *s, const char *p, size_t n, uint64_t h)
{
	for (uint32_t j = (uint32_t)h & s->tok_h.mask; s->tok_h.s[j].h; j = (j + 1) & s->tok_h.mask) {
		const hslot *sl = &s->tok_h.s[j];
		if (sl->h == h) {
			const sdn_tok *t = &s->toks[sl->id];
			if (t->len == n && er_eq_short(s->text.p + t->off, p, n))
				return (int32_t)sl->id;
		}
	}
	return -1;
}

static int32_t key_find(const er_sdn *s, const char *p, size_t n, uint64_t h)
{
	for (uint32_t j = (uint32_t)h & s->key_h.mask; s->key_h.s[j].h; j = (j + 1) & s->key_h.mask) {
		const hslot *sl = &s->key_h.s[j];
		if (sl->h == h && s->key_len[sl->id] == n &&
		    memcmp(s->text.p + s->key_off[sl->id], p, n) == 0)
			return (int32_t)sl->id;
	}
	return -1;
}

#define TOK_SEED 0x73646e746f6b656eull
#define KEY_SEED 0x73646e6b65797321ull

/* A key shorter than 3 letters ("AL", "MD") joins too much to be trusted. */
#define KEY_MIN 3

/* Normalize a name and look its tokens up in the vocabulary. Returns the
 * token count; the tokens point into norm. Tokens the list does not use get
 * key -2: their transliteration key is looked up only when needed
 * (query_keys). */
static int query_tokens(const er_sdn *s, const char *name, size_t n, char *norm, size_t cap,
                        qtok *q, double *wsum)
{
	if (n > NAME_IN_MAX) {
		n = NAME_IN_MAX;
		while (n && ((unsigned char)name[n] & 0xC0) == 0x80)
			n--; /* do not cut a character in two */
	}
	size_t nl = er_name_normalize(name, n, norm, cap);
	int nq = split_tokens(norm, nl, q);
	double w = 0.0;
	for (int i = 0; i < nq; i++) {
		q[i].id = tok_find(s, q[i].p, q[i].len, hkey(q[i].p, q[i].len, TOK_SEED));
		if (q[i].id >= 0) {
			const sdn_tok *t = &s->toks[q[i].id];
			q[i].key = t->key;
			q[i].keylen = t->keylen;
			q[i].w = t->w;
		} else {
			q[i].key = -2;
			q[i].w = s->wmax;
		}
		w += q[i].w;
	}
	*wsum = w;
	return nq;
}

/* Look up the keys of the tokens the list does not use, stopping (and
 * returning 0) as soon as the tokens that can still be found weigh less
 * than need: then no candidate can pass the filter. 1 when all are done. */
static int query_keys(const er_sdn *s, qtok *q, int nq, double wq, double need)
{
	double can = wq;
	for (int i = 0; i < nq; i++) {
		if (q[i].key != -2)
			continue;
		if (can < need)
			return 0;
		char k[KEY_MAX];
		size_t kl = translit_key(q[i].p, q[i].len, k, sizeof k);
		q[i].keylen = (uint16_t)kl;
		q[i].key = kl >= KEY_MIN ? key_find(s, k, kl, hkey(k, kl, KEY_SEED)) : -1;
		if (q[i].key < 0)
			can -= q[i].w;
	}
	return can >= need;
}

/* Vocabulary token id as a qtok. */
static inline void vocab_tok(const er_sdn *s, uint32_t id, qtok *c)
{
	const sdn_tok *t = &s->toks[id];
	c->p = s->text.p + t->off;
	c->len = t->len;
	c->keylen = t->keylen;
	c->id = (int32_t)id;
	c->key = t->key;
	c->w = t->w;
	c->plain = t->plain;
}

/* The tokens of listed name i as qtok. */
static int name_tokens(const er_sdn *s, uint32_t i, qtok *c)
{
	const sdn_name *nm = &s->names[i];
	for (int k = 0; k < nm->ntok; k++)
		vocab_tok(s, s->ntok_ids[nm->tok0 + (uint32_t)k], &c[k]);
	return nm->ntok;
}

/* ============================================================ per thread */

typedef struct tstate {
	uint64_t serial;        /* list the arrays below belong to */
	uint32_t *stamp;        /* per listed name: last query that touched it */
	uint8_t *tokmark;       /* per listed name: last query token counted (1-based) */
	float *acc;             /* per listed name: weight of query tokens seen in it */
	uint32_t *cand;         /* candidates of the current query (up to every name) */
	uint32_t nstamp, cur;
} tstate;

static pthread_key_t g_tkey;
static pthread_once_t g_tonce = PTHREAD_ONCE_INIT;
static int g_tkey_ok;
/* fast path (initial-exec: a plain TLS load, no call); g_tkey frees it at
 * thread exit */
static _Thread_local tstate *t_state __attribute__((tls_model("initial-exec")));

static void tstate_free(void *p)
{
	tstate *ts = p;
	if (ts) {
		free(ts->stamp);
		free(ts->tokmark);
		free(ts->acc);
		free(ts->cand);
		if (t_state == ts)
			t_state = NULL;
	}
	free(ts);
}

static void tkey_init(void)
{
	g_tkey_ok = pthread_key_create(&g_tkey, tstate_free) == 0;
}

static tstate *thread_state_slow(const er_sdn *s);

/* This thread's state for list s, or NULL when memory is short. */
static inline tstate *thread_state(const er_sdn *s)
{
	tstate *ts = t_state;
	return ts && ts->serial == s->serial ? ts : thread_state_slow(s);
}

static tstate *thread_state_slow(const er_sdn *s)
{
	tstate *ts = t_state;
	if (!ts) {
		pthread_once(&g_tonce, tkey_init);
		if (!g_tkey_ok)
			return NULL;
		ts = calloc(1, sizeof *ts);
		if (!ts || pthread_setspecific(g_tkey, ts) != 0) {
			free(ts);
			return NULL;
		}
		t_state = ts;
	}
	if (ts->nstamp < s->nnames) {
		uint32_t *st = realloc(ts->stamp, (size_t)s->nnames * sizeof *st);
		if (st)
			ts->stamp = st;
		uint8_t *tm = st ? realloc(ts->tokmark, s->nnames) : NULL;
		if (tm)
			ts->tokmark = tm;
		float *ac = tm ? realloc(ts->acc, (size_t)s->nnames * sizeof *ac) : NULL;
		if (ac)
			ts->acc = ac;
		uint32_t *cd = ac ? realloc(ts->cand, (size_t)s->nnames * sizeof *cd) : NULL;
		if (!cd)
			return NULL;
		ts->cand = cd;
		ts->nstamp = s->nnames;
	}
	if (ts->nstamp)
		memset(ts->stamp, 0, (size_t)ts->nstamp * sizeof *ts->stamp);
	ts->cur = 0;
	ts->serial = s->serial;
	return ts;
}

/* ================================================================ screen */

static int better(er_sdn_hit a, er_sdn_hit b)
{
	if (a.sim != b.sim)
		return a.sim > b.sim;
	if (a.alias != b.alias)
		return a.alias < b.alias;
	return a.ent_num < b.ent_num;
}

static er_sdn_hit screen(const er_sdn *s, tstate *ts, const char *name, size_t n)
{
	er_sdn_hit best = { 0, 0, 0 };
	char norm[ER_NAME_NORM_CAP(NAME_IN_MAX)];
	qtok q[TOK_MAX];
	double wq;
	int nq = query_tokens(s, name, n, norm, sizeof norm, q, &wq);
	if (!nq || !s->nnames)
		return best;

	/* Prefix filter: a candidate must share (exactly or transliterated)
	 * tokens worth at least SHARE of the query, and of itself. Taking the
	 * query's indexed tokens rarest first, every such candidate holds one of
	 * the first ones whose weight, left out, would leave less than that
	 * share: only their postings are read. (A name reaching the review band
	 * on abbreviations and misspellings alone is not looked for.) */
	double half = SHARE * wq;
	if (!query_keys(s, q, nq, wq, half))
		return best; /* the usual case: nothing on the list is like this name */
	int order[TOK_MAX], no = 0;
	double indexed = 0.0;
	for (int i = 0; i < nq; i++) {
		if (q[i].id < 0 && q[i].key < 0)
			continue;
		int k = no++;
		while (k > 0 && q[order[k - 1]].w < q[i].w) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
		indexed += q[i].w;
	}
	if (indexed < half)
		return best;
	int np = 0;
	double rest = indexed;
	for (; np < no && rest >= half; np++)
		rest -= q[order[np]].w;
	/* rest: what the query's other indexed tokens could still add to a
	 * candidate found in the postings of the first np */

	/* candidates: names in those postings, each once */
	/* with this thread's state every candidate is kept (the brute-force
	 * test holds the screen to that); without (no memory) the first
	 * EVAL_MAX */
	uint32_t cand_local[EVAL_MAX];
	uint32_t *cand = ts ? ts->cand : cand_local;
	uint32_t cmax = ts ? s->nnames : EVAL_MAX;
	uint32_t nc = 0;
	uint32_t stamp = 0;
	if (ts) {
		if (++ts->cur == 0) { /* wrapped: start the stamps over */
			memset(ts->stamp, 0, (size_t)ts->nstamp * sizeof *ts->stamp);
			ts->cur = 1;
		}
		stamp = ts->cur;
	}
	for (int pi = 0; pi < np && nc < cmax; pi++) {
		const qtok *t = &q[order[pi]];
		/* the listed tokens this one stands for: itself, and those of its
		 * key that pass the transliteration test */
		uint32_t kb = t->key >= 0 ? s->key_toks.off[t->key] : 0;
		uint32_t ke = t->key >= 0 ? s->key_toks.off[t->key + 1] : 0;
		for (uint32_t kk = kb; kk <= ke && nc < cmax; kk++) {
			int32_t id;
			if (kk == ke) {
				id = t->id;
			} else {
				id = (int32_t)s->key_toks.ids[kk];
				qtok u;
				vocab_tok(s, (uint32_t)id, &u);
				if (id == t->id || !translit_eq(t, &u))
					continue;
			}
			if (id < 0)
				continue;
			const post *pl = &s->tok_post;
			for (uint32_t k = pl->off[id]; k < pl->off[id + 1] && nc < cmax; k++) {
				uint32_t nm = pl->ids[k];
				if (ts) {
					if (ts->stamp[nm] != stamp) {
						ts->stamp[nm] = stamp;
						ts->tokmark[nm] = 0;
						ts->acc[nm] = 0;
						cand[nc++] = nm;
					}
					if (ts->tokmark[nm] != pi + 1) { /* each query token once */
						ts->tokmark[nm] = (uint8_t)(pi + 1);
						ts->acc[nm] += t->w;
					}
					continue;
				} else {
					int dup = 0;
					for (uint32_t c = 0; c < nc && !dup; c++)
						dup = cand[c] == nm;
					if (dup)
						continue;
				}
				cand[nc++] = nm;
			}
		}
	}

	for (uint32_t ci = 0; ci < nc; ci++) {
		/* what the postings showed, plus all the rest could add, must reach
		 * the query's share before the name is looked at */
		if (ts && ts->acc[cand[ci]] + rest < half)
			continue;
		qtok c[TOK_MAX];
		const sdn_name *nm = &s->names[cand[ci]];
		int ncn = name_tokens(s, cand[ci], c);
		/* cheap check of the shared weight on both sides before the full score */
		double hq = 0.0, hc = 0.0;
		uint32_t hitc = 0;
		for (int i = 0; i < nq; i++) {
			int hit = 0;
			for (int j = 0; j < ncn; j++) {
				if (strong_pair(&q[i], &c[j])) {
					hit = 1;
					if (!(hitc >> j & 1u)) {
						hitc |= 1u << j;
						hc += c[j].w;
					}
				}
			}
			if (hit)
				hq += q[i].w;
		}
		if (hq < half || hc < SHARE * nm->wsum)
			continue;
		double sim = name_sim(q, nq, wq, c, ncn, nm->wsum);
		er_sdn_hit h = { s->ents[nm->ent].ent_num, (uint16_t)lround(sim * 1000.0), nm->alias };
		if (h.sim > 1000)
			h.sim = 1000;
		if (h.sim >= SIM_FLOOR && better(h, best))
			best = h;
	}
	return best;
}

/* The same definition without any index, filter bound, candidate cap or
 * cache: every listed name is checked for the shared strong weight on both
 * sides and scored. Slow; the reference the differential test compares
 * screen() with. */
er_sdn_hit er_sdn_screen_brute(const er_sdn *s, const char *name, size_t n)
{
	er_sdn_hit best = { 0, 0, 0 };
	if (!s || !n)
		return best;
	char norm[ER_NAME_NORM_CAP(NAME_IN_MAX)];
	qtok q[TOK_MAX];
	double wq;
	int nq = query_tokens(s, name, n, norm, sizeof norm, q, &wq);
	if (!nq)
		return best;
	query_keys(s, q, nq, wq, -1.0); /* every key, whatever it could add */
	double half = SHARE * wq;
	for (uint32_t i = 0; i < s->nnames; i++) {
		qtok c[TOK_MAX];
		const sdn_name *nm = &s->names[i];
		int ncn = name_tokens(s, i, c);
		double hq = 0.0, hc = 0.0;
		for (int a = 0; a < nq; a++) {
			int hit = 0;
			for (int b = 0; b < ncn; b++)
				if (strong_pair(&q[a], &c[b]))
					hit = 1;
			if (hit)
				hq += q[a].w;
		}
		for (int b = 0; b < ncn; b++) {
			int hit = 0;
			for (int a = 0; a < nq; a++)
				if (strong_pair(&q[a], &c[b]))
					hit = 1;
			if (hit)
				hc += c[b].w;
		}
		if (hq < half || hc < SHARE * nm->wsum)
			continue;
		double sim = name_sim(q, nq, wq, c, ncn, nm->wsum);
		er_sdn_hit h = { s->ents[nm->ent].ent_num, (uint16_t)lround(sim * 1000.0), nm->alias };
		if (h.sim > 1000)
			h.sim = 1000;
		if (h.sim >= SIM_FLOOR && better(h, best))
			best = h;
	}
	return best;
}

er_sdn_hit er_sdn_screen_nocache(const er_sdn *s, const char *name, size_t n)
{
	return screen(s, thread_state(s), name, n);
}

/* ========================================================= answer cache */

/* Answers already given, shared by all threads without locks: open
 * addressing on slots of two 64-bit atomics {key, answer}, keyed by a hash
 * of the raw name and the list (key 0 = empty slot, answer 0 = not written
 * yet). A slot's key is set once, by compare-and-swap, and its answer once
 * after it; an answer is a pure function of the name, so which thread
 * screens a name first changes no output byte, and a reader that finds the
 * key without its answer just screens the name too. So every distinct name
 * is screened about once whatever the thread count (per-thread caches
 * screened it once per thread and kept a copy each).
 * At 3/4 full (linear probing stays short at that load: 4 slots share a
 * cache line) the table is replaced by one of twice the slots into which
 * the written answers are copied (answers written to the old one meanwhile
 * are screened again later); old tables are kept until the list is freed,
 * so a reader still in one is safe. At ACACHE_MAX slots it stops taking
 * names: memory stays bounded whatever the input. */
typedef struct actab {
	_Atomic uint64_t *s;      /* 2 words per slot */
	uint32_t mask;            /* slots - 1 */
	atomic_uint n;            /* keys set */
	struct actab *prev;       /* the table it replaced */
} actab;

struct er_sdn_cache {
	_Atomic(actab *) cur;
	uint32_t max;             /* slots the table may grow to */
};

/* payload: ent_num | sim << 32 | alias << 48 | a bit so it is never 0 */
static inline uint64_t hit_pack(er_sdn_hit h)
{
	return (uint64_t)(uint32_t)h.ent_num | (uint64_t)h.sim << 32 | (uint64_t)h.alias << 48 |
	       1ull << 63;
}

static inline er_sdn_hit hit_unpack(uint64_t p)
{
	er_sdn_hit h = { (int32_t)(uint32_t)p, (uint16_t)(p >> 32), (uint8_t)(p >> 48 & 1u) };
	return h;
}

/* Tables are mapped, not allocated: a table of 2 MiB or more asks for huge
 * pages (a look-up then seldom misses the TLB too), and a replaced table's
 * pages can be given back while a reader may still be in it: it then reads
 * zeros, that is empty slots, and screens the name itself. */
static actab *actab_new(uint32_t slots)
{
	actab *t = calloc(1, sizeof *t);
	size_t bytes = (size_t)slots * 2 * sizeof *t->s;
	void *w = t ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
	            : MAP_FAILED;
	if (w == MAP_FAILED) {
		free(t);
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	if (bytes >= (2u << 20))
		(void)madvise(w, bytes, MADV_HUGEPAGE);
#endif
	t->s = w;
	t->mask = slots - 1;
	atomic_init(&t->n, 0);
	return t;
}

static size_t actab_bytes(const actab *t)
{
	return ((size_t)t->mask + 1) * 2 * sizeof *t->s;
}

static void ac_free(er_sdn_cache *c)
{
	if (!c)
		return;
	actab *t = atomic_load_explicit(&c->cur, memory_order_relaxed);
	while (t) {
		actab *p = t->prev;
		munmap((void *)t->s, actab_bytes(t));
		free(t);
		t = p;
	}
	free(c);
}

static er_sdn_cache *ac_new(uint32_t min, uint32_t max)
{
	er_sdn_cache *c = calloc(1, sizeof *c);
	actab *t = c ? actab_new(min) : NULL;
	if (!t) {
		free(c);
		return NULL;
	}
	c->max = max;
	atomic_init(&c->cur, t);
	return c;
}

static inline actab *ac_table(const er_sdn *s)
{
	return s->ac ? atomic_load_explicit(&s->ac->cur, memory_order_acquire) : NULL;
}

/* The answer for key h in table t, or 0. */
static inline uint64_t ac_get(const actab *t, uint64_t h)
{
	for (uint32_t j = (uint32_t)h & t->mask, k = 0; k <= t->mask; j = (j + 1) & t->mask, k++) {
		uint64_t key = atomic_load_explicit(&t->s[2 * j], memory_order_relaxed);
		if (key == h)
			return atomic_load_explicit(&t->s[2 * j + 1], memory_order_relaxed);
		if (!key)
			return 0;
	}
	return 0;
}

/* Replace the full table t by one of twice its slots holding its answers.
 * Called once per table: by the thread whose key made it full (ac_put). */
static void ac_grow(er_sdn_cache *c, actab *t)
{
	actab *g = actab_new((t->mask + 1) * 2);
	if (!g)
		return; /* no memory: t stays, and takes no more names */
	uint32_t n = 0;
	for (uint32_t i = 0; i <= t->mask; i++) {
		uint64_t key = atomic_load_explicit(&t->s[2 * i], memory_order_relaxed);
		uint64_t ans = atomic_load_explicit(&t->s[2 * i + 1], memory_order_relaxed);
		if (!key || !ans)
			continue;
		uint32_t j = (uint32_t)key & g->mask;
		while (atomic_load_explicit(&g->s[2 * j], memory_order_relaxed))
			j = (j + 1) & g->mask;
		atomic_store_explicit(&g->s[2 * j], key, memory_order_relaxed);
		atomic_store_explicit(&g->s[2 * j + 1], ans, memory_order_relaxed);
		n++;
	}
	atomic_store_explicit(&g->n, n, memory_order_relaxed);
	g->prev = t;
	atomic_store_explicit(&c->cur, g, memory_order_release);
	(void)madvise((void *)t->s, actab_bytes(t), MADV_DONTNEED); /* see actab_new */
}

/* Keep answer a (packed, never 0) for key h. */
static void ac_put(er_sdn_cache *c, uint64_t h, uint64_t a)
{
	actab *t = atomic_load_explicit(&c->cur, memory_order_acquire);
	uint32_t full = (t->mask + 1) / 4 * 3;
	for (uint32_t j = (uint32_t)h & t->mask, k = 0; k <= t->mask; j = (j + 1) & t->mask, k++) {
		uint64_t key = atomic_load_explicit(&t->s[2 * j], memory_order_relaxed);
		if (!key) {
			/* a full table takes no more names: it is being
			 * replaced, or it is as large as it may be */
			if (atomic_load_explicit(&t->n, memory_order_relaxed) >= full)
				return;
			if (!atomic_compare_exchange_strong_explicit(&t->s[2 * j], &key, h,
			                                             memory_order_relaxed,
			                                             memory_order_relaxed)) {
				if (key != h)
					continue; /* another name took the slot: probe on */
			} else if (atomic_fetch_add_explicit(&t->n, 1, memory_order_relaxed) + 1 == full &&
			           t->mask + 1 < c->max) {
				atomic_store_explicit(&t->s[2 * j + 1], a, memory_order_relaxed);
				ac_grow(c, t);
				return;
			}
		} else if (key != h) {
			continue;
		}
		atomic_store_explicit(&t->s[2 * j + 1], a, memory_order_relaxed);
		return;
	}
}

/* A name table t did not answer for: the current table (it may have
 * grown since), else screened and kept. Out of line: the hit path stays
 * small. */
static __attribute__((noinline)) er_sdn_hit cached_miss(const er_sdn *s, const actab *t,
                                                        const char *name, size_t n, uint64_t h)
{
	const actab *now = ac_table(s);
	uint64_t a;
	if (now && now != t && (a = ac_get(now, h)) != 0)
		return hit_unpack(a);
	er_sdn_hit r = screen(s, thread_state(s), name, n);
	if (now)
		ac_put(s->ac, h, hit_pack(r));
	return r;
}

/* The answer for a name of hash h: from the cache (table t: the one
 * row_start looked at), else screened and kept. */
static inline er_sdn_hit cached(const er_sdn *s, const actab *t, const char *name, size_t n,
                                uint64_t h)
{
	uint64_t a;
	if (t && (a = ac_get(t, h)) != 0)
		return hit_unpack(a);
	return cached_miss(s, t, name, n, h);
}

er_sdn_hit er_sdn_screen(const er_sdn *s, const char *name, size_t n)
{
	er_sdn_hit none = { 0, 0, 0 };
	if (!s || !n)
		return none;
	return cached(s, ac_table(s), name, n, hkey(name, n, s->serial));
}

void er_sdn_row_start(const er_sdn *s, const er_field *names, int n, unsigned lists,
                      er_sdn_rowq *q)
{
	if (n > ER_SDN_ROW_MAX)
		n = ER_SDN_ROW_MAX;
	q->n = n;
	q->lists = lists;
	const actab *t = s ? ac_table(s) : NULL;
	q->ac = t;
	for (int k = 0; k < n; k++) {
		const char *p = names[k].p;
		size_t len = names[k].n;
		q->p[k] = p;
		q->len[k] = len;
		int8_t same = -1;
		uint64_t h = 0;
		if (s && len && !(lists >> k & 1u)) {
			/* an earlier name of the row with these bytes (those hashed
			 * are the others' first copies) */
			for (int j = 0; j < k && same < 0; j++)
				if (q->h[j] && q->len[j] == len && er_eq_short(q->p[j], p, len))
					same = (int8_t)j;
			if (same < 0) {
				h = hkey(p, len, s->serial);
				if (t)
					__builtin_prefetch((const void *)&t->s[2 * ((uint32_t)h & t->mask)]);
			}
		}
		q->same[k] = same;
		q->h[k] = h;
	}
}

void er_sdn_row_finish(const er_sdn *s, const er_sdn_rowq *q, er_sdn_hit *out)
{
	for (int k = 0; k < q->n; k++) {
		er_sdn_hit none = { 0, 0, 0 };
		if (q->h[k])
			out[k] = cached(s, q->ac, q->p[k], q->len[k], q->h[k]);
		else if (!s || !q->len[k])
			out[k] = none;
		else if (q->lists >> k & 1u)
			out[k] = er_sdn_screen_list(s, q->p[k], q->len[k], '|');
		else
			out[k] = out[q->same[k]];
	}
}

int er_sdn_cache_reset(er_sdn *s, uint32_t min, uint32_t max)
{
	ac_free(s->ac);
	s->ac = ac_new(min, max);
	return s->ac ? 0 : -1;
}

void er_sdn_cache_info(const er_sdn *s, uint32_t *slots, uint32_t *names)
{
	const actab *t = ac_table(s);
	*slots = t ? t->mask + 1 : 0;
	*names = t ? atomic_load_explicit(&t->n, memory_order_relaxed) : 0;
}

er_sdn_hit er_sdn_screen_list(const er_sdn *s, const char *p, size_t n, char sep)
{
	er_sdn_hit best = { 0, 0, 0 };
	while (n) {
		const char *e = memchr(p, sep, n);
		size_t l = e ? (size_t)(e - p) : n;
		const char *q = p;
		size_t ql = l;
		er_trim(&q, &ql);
		if (ql) {
			er_sdn_hit h = er_sdn_screen(s, q, ql);
			if (h.ent_num && better(h, best))
				best = h;
		}
		if (!e)
			break;
		p = e + 1;
		n -= l + 1;
	}
	return best;
}

er_sdn_counts er_sdn_count(const er_sdn *s)
{
	er_sdn_counts c = { 0 };
	if (!s)
		return c;
	c.entries = s->nents;
	c.screened = s->nscreened;
	c.aliases = s->naliases;
	c.addresses = s->naddrs;
	c.names = s->nnames;
	c.tokens = s->ntoks;
	return c;
}

/* ================================================================ loading */

/* One header-less OFAC file, read with the tables' CSV reader (er_csv). */
typedef struct ofac_in {
	char *path;
	er_csv *x;
} ofac_in;

static void ofac_close(ofac_in *c)
{
	er_csv_close(c->x);
	free(c->path);
	memset(c, 0, sizeof *c);
}

static er_status ofac_open(ofac_in *c, const char *dir, const char *file, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	size_t dl = strlen(dir);
	c->path = malloc(dl + strlen(file) + 2);
	if (!c->path) {
		er_errf(err, errlen, "%s: out of memory", dir);
		return ER_E_NOMEM;
	}
	sprintf(c->path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", file);
	return er_csv_open_flags(c->path, ER_CSV_NO_DIGEST, &c->x, err, errlen);
}

/* Next record with exactly want fields ("-0-" fields come back empty,
 * every field trimmed). 1 = record, 0 = end, -1 = error in err. The DOS
 * end-of-file mark (a last line of one 0x1A byte) that OFAC's files carry is
 * skipped. */
static int ofac_next(ofac_in *c, int want, er_field *out, uint64_t *line, er_status *st,
                     char *err, size_t errlen)
{
	for (;;) {
		const er_field *f;
		int n;
		int r = er_csv_next(c->x, &f, &n, line, st, err, errlen);
		if (r <= 0)
			return r;
		if (n == 1 && f[0].n == 1 && f[0].p[0] == '\x1a')
			continue;
		if (n != want) {
			er_errf(err, errlen, "%s:%llu: expected %d fields, got %d (OFAC's files have no "
			        "header row)", c->path, (unsigned long long)*line, want, n);
			*st = ER_E_FORMAT;
			return -1;
		}
		for (int i = 0; i < n; i++) {
			out[i] = f[i];
			er_trim(&out[i].p, &out[i].n);
			if (out[i].n == 3 && memcmp(out[i].p, "-0-", 3) == 0)
				out[i].n = 0;
		}
		return 1;
	}
}

static int parse_int(er_field f, int32_t *out)
{
	if (!f.n || f.n > 9)
		return -1;
	int32_t v = 0;
	for (size_t i = 0; i < f.n; i++) {
		if (f.p[i] < '0' || f.p[i] > '9')
			return -1;
		v = v * 10 + (f.p[i] - '0');
	}
	*out = v;
	return 0;
}

static int32_t ent_find(const er_sdn *s, int32_t num)
{
	uint64_t h = hkey(&num, sizeof num, 0x656e74ull);
	for (uint32_t j = (uint32_t)h & s->ent_h.mask; s->ent_h.s[j].h; j = (j + 1) & s->ent_h.mask)
		if (s->ent_h.s[j].h == h && s->ents[s->ent_h.s[j].id].ent_num == num)
			return (int32_t)s->ent_h.s[j].id;
	return -1;
}

/* Intern bytes into the text buffer; returns the offset or -1. */
static int64_t text_add(er_sdn *s, const char *p, size_t n)
{
	size_t off = s->text.len;
	if (er_buf_append(&s->text, p, n) < 0)
		return -1;
	return (int64_t)off;
}

static int32_t tok_intern(er_sdn *s, const char *p, size_t n)
{
	uint64_t h = hkey(p, n, TOK_SEED);
	int32_t id = tok_find(s, p, n, h);
	if (id >= 0)
		return id;
	if (s->ntoks == s->cap_toks) {
		uint32_t cap = s->cap_toks ? s->cap_toks * 2 : 1024;
		sdn_tok *nt = realloc(s->toks, cap * sizeof *nt);
		if (!nt)
			return -1;
		s->toks = nt;
		s->cap_toks = cap;
	}
	int64_t off = text_add(s, p, n);
	if (off < 0)
		return -1;
	sdn_tok *t = &s->toks[s->ntoks];
	memset(t, 0, sizeof *t);
	t->off = (uint32_t)off;
	t->len = (uint16_t)n;
	t->key = -1;
	t->plain = (uint8_t)plain_ascii(p, n);
	if (htab_put(&s->tok_h, h, s->ntoks) < 0)
		return -1;
	return (int32_t)s->ntoks++;
}

static int32_t key_intern(er_sdn *s, const char *p, size_t n)
{
	uint64_t h = hkey(p, n, KEY_SEED);
	int32_t id = key_find(s, p, n, h);
	if (id >= 0)
		return id;
	if (s->nkeys == s->cap_keys) {
		uint32_t cap = s->cap_keys ? s->cap_keys * 2 : 1024;
		uint32_t *no = realloc(s->key_off, cap * sizeof *no);
		if (no)
			s->key_off = no;
		uint8_t *nl = no ? realloc(s->key_len, cap) : NULL;
		if (!nl)
			return -1;
		s->key_len = nl;
		s->cap_keys = cap;
	}
	int64_t off = text_add(s, p, n);
	if (off < 0)
		return -1;
	s->key_off[s->nkeys] = (uint32_t)off;
	s->key_len[s->nkeys] = (uint8_t)n;
	if (htab_put(&s->key_h, h, s->nkeys) < 0)
		return -1;
	return (int32_t)s->nkeys++;
}

/* Index one listed name (primary or alias) of entry ei. 0 ok, -1 no memory. */
static int add_name(er_sdn *s, uint32_t ei, er_field name, int alias)
{
	char norm[ER_NAME_NORM_CAP(NAME_IN_MAX)];
	size_t n = name.n > NAME_IN_MAX ? NAME_IN_MAX : name.n;
	while (n < name.n && n && ((unsigned char)name.p[n] & 0xC0) == 0x80)
		n--;
	size_t nl = er_name_normalize(name.p, n, norm, sizeof norm);
	qtok t[TOK_MAX];
	int nt = split_tokens(norm, nl, t);
	if (!nt)
		return 0; /* nothing left to match on (e.g. punctuation only) */
	if (s->nnames == s->cap_names) {
		uint32_t cap = s->cap_names ? s->cap_names * 2 : 1024;
		sdn_name *nn = realloc(s->names, cap * sizeof *nn);
		if (!nn)
			return -1;
		s->names = nn;
		s->cap_names = cap;
	}
	if (s->nntok + TOK_MAX > s->cap_ntok) {
		size_t cap = s->cap_ntok ? s->cap_ntok * 2 : 4096;
		uint32_t *ni = realloc(s->ntok_ids, cap * sizeof *ni);
		if (!ni)
			return -1;
		s->ntok_ids = ni;
		s->cap_ntok = cap;
	}
	sdn_name *nm = &s->names[s->nnames];
	nm->ent = ei;
	nm->tok0 = (uint32_t)s->nntok;
	nm->ntok = (uint8_t)nt;
	nm->alias = (uint8_t)alias;
	nm->wsum = 0;
	for (int k = 0; k < nt; k++) {
		int32_t id = tok_intern(s, t[k].p, t[k].len);
		if (id < 0)
			return -1;
		s->ntok_ids[s->nntok++] = (uint32_t)id;
	}
	s->nnames++;
	return 0;
}

/* Postings: for every token the names holding it, each once. */
static int build_post(const er_sdn *s, post *pl, uint32_t nids)
{
	pl->off = calloc((size_t)nids + 1, sizeof *pl->off);
	uint32_t *seen = calloc(nids ? nids : 1, sizeof *seen);
	if (!pl->off || !seen) {
		free(seen);
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		uint32_t *fill = NULL;
		if (pass) {
			for (uint32_t i = 0; i < nids; i++)
				pl->off[i + 1] += pl->off[i];
			pl->ids = malloc((size_t)(pl->off[nids] ? pl->off[nids] : 1) * sizeof *pl->ids);
			fill = calloc(nids ? nids : 1, sizeof *fill);
			if (!pl->ids || !fill) {
				free(fill);
				free(seen);
				return -1;
			}
			memset(seen, 0, (size_t)(nids ? nids : 1) * sizeof *seen);
		}
		for (uint32_t n = 0; n < s->nnames; n++) {
			const sdn_name *nm = &s->names[n];
			for (int k = 0; k < nm->ntok; k++) {
				uint32_t id = s->ntok_ids[nm->tok0 + (uint32_t)k];
				if (seen[id] == n + 1)
					continue;
				seen[id] = n + 1;
				if (pass)
					pl->ids[pl->off[id] + fill[id]++] = n;
				else
					pl->off[id + 1]++;
			}
		}
		free(fill);
	}
	free(seen);
	return 0;
}

/* Weights, keys and postings once every name is in. */
static int finish_index(er_sdn *s)
{
	for (uint32_t i = 0; i < s->ntoks; i++) {
		sdn_tok *t = &s->toks[i];
		char k[KEY_MAX];
		size_t kl = translit_key(s->text.p + t->off, t->len, k, sizeof k);
		t->keylen = (uint16_t)kl;
		if (kl >= KEY_MIN && (t->key = key_intern(s, k, kl)) < 0)
			return -1;
	}
	if (build_post(s, &s->tok_post, s->ntoks) < 0)
		return -1;
	/* key -> tokens */
	post *kt = &s->key_toks;
	kt->off = calloc((size_t)s->nkeys + 1, sizeof *kt->off);
	kt->ids = malloc((size_t)(s->ntoks ? s->ntoks : 1) * sizeof *kt->ids);
	uint32_t *fill = calloc(s->nkeys ? s->nkeys : 1, sizeof *fill);
	if (!kt->off || !kt->ids || !fill) {
		free(fill);
		return -1;
	}
	for (uint32_t i = 0; i < s->ntoks; i++)
		if (s->toks[i].key >= 0)
			kt->off[s->toks[i].key + 1]++;
	for (uint32_t k = 0; k < s->nkeys; k++)
		kt->off[k + 1] += kt->off[k];
	for (uint32_t i = 0; i < s->ntoks; i++) {
		int32_t k = s->toks[i].key;
		if (k >= 0)
			kt->ids[kt->off[k] + fill[k]++] = i;
	}
	free(fill);
	double N = s->nnames ? (double)s->nnames : 1.0;
	for (uint32_t i = 0; i < s->ntoks; i++) {
		uint32_t df = s->tok_post.off[i + 1] - s->tok_post.off[i];
		s->toks[i].df = df;
		s->toks[i].w = (float)log2(1.0 + N / (df ? df : 1));
	}
	s->wmax = (float)log2(1.0 + N);
	for (uint32_t n = 0; n < s->nnames; n++) {
		sdn_name *nm = &s->names[n];
		double w = 0;
		for (int k = 0; k < nm->ntok; k++)
			w += s->toks[s->ntok_ids[nm->tok0 + (uint32_t)k]].w;
		nm->wsum = (float)w;
	}
	return 0;
}

static int sdn_type(er_field f)
{
	if (er_ieq(f.p, f.n, "individual"))
		return TY_INDIVIDUAL;
	if (er_ieq(f.p, f.n, "vessel"))
		return TY_VESSEL;
	if (er_ieq(f.p, f.n, "aircraft"))
		return TY_AIRCRAFT;
	return TY_ENTITY;
}

#define FAIL(code, ...)                                                                            \
	do {                                                                                       \
		er_errf(err, errlen, __VA_ARGS__);                                                 \
		st = (code);                                                                       \
		goto out;                                                                          \
	} while (0)
#define SHOW(f) (int)((f).n > 40 ? 40 : (f).n), (f).p

static er_status load_sdn(er_sdn *s, const char *dir, char *err, size_t errlen)
{
	ofac_in c;
	er_field f[12];
	uint64_t line;
	uint32_t cap = 0;
	er_status st = ofac_open(&c, dir, "sdn.csv", err, errlen);
	if (st != ER_OK)
		goto out;
	while (ofac_next(&c, 12, f, &line, &st, err, errlen) > 0) {
		int32_t num;
		if (parse_int(f[0], &num) < 0 || num == 0)
			FAIL(ER_E_FORMAT, "%s:%llu: bad ent_num '%.*s' (want a positive integer)", c.path,
			     (unsigned long long)line, SHOW(f[0]));
		if (!f[1].n)
			FAIL(ER_E_FORMAT, "%s:%llu: missing SDN_Name", c.path, (unsigned long long)line);
		if (ent_find(s, num) >= 0)
			FAIL(ER_E_FORMAT, "%s:%llu: duplicate ent_num %d", c.path, (unsigned long long)line,
			     (int)num);
		if (s->nents == cap) {
			cap = cap ? cap * 2 : 1024;
			sdn_ent *ne = realloc(s->ents, cap * sizeof *ne);
			if (!ne)
				FAIL(ER_E_NOMEM, "%s: out of memory", c.path);
			s->ents = ne;
		}
		sdn_ent *e = &s->ents[s->nents];
		e->ent_num = num;
		e->type = (uint8_t)sdn_type(f[2]);
		if (htab_put(&s->ent_h, hkey(&num, sizeof num, 0x656e74ull), s->nents) < 0)
			FAIL(ER_E_NOMEM, "%s: out of memory", c.path);
		if (e->type == TY_ENTITY || e->type == TY_INDIVIDUAL) {
			s->nscreened++;
			if (add_name(s, s->nents, f[1], 0) < 0)
				FAIL(ER_E_NOMEM, "%s: out of memory", c.path);
		}
		s->nents++;
	}
out:
	ofac_close(&c);
	return st;
}

static er_status load_alt_add(er_sdn *s, const char *dir, int alt, char *err, size_t errlen)
{
	ofac_in c;
	er_field f[6];
	uint64_t line;
	int want = alt ? 5 : 6;
	er_status st = ofac_open(&c, dir, alt ? "alt.csv" : "add.csv", err, errlen);
	if (st != ER_OK)
		goto out;
	while (ofac_next(&c, want, f, &line, &st, err, errlen) > 0) {
		int32_t num, sub;
		if (parse_int(f[0], &num) < 0)
			FAIL(ER_E_FORMAT, "%s:%llu: bad ent_num '%.*s' (want a positive integer)", c.path,
			     (unsigned long long)line, SHOW(f[0]));
		int32_t ei = ent_find(s, num);
		if (ei < 0)
			FAIL(ER_E_FORMAT, "%s:%llu: ent_num %d is not in sdn.csv", c.path,
			     (unsigned long long)line, (int)num);
		if (f[1].n && parse_int(f[1], &sub) < 0)
			FAIL(ER_E_FORMAT, "%s:%llu: bad %s '%.*s' (want an integer)", c.path,
			     (unsigned long long)line, alt ? "alt_num" : "add_num", SHOW(f[1]));
		if (!alt) {
			s->naddrs++;
			continue;
		}
		if (!f[3].n)
			FAIL(ER_E_FORMAT, "%s:%llu: missing alt_name", c.path, (unsigned long long)line);
		s->naliases++;
		uint8_t ty = s->ents[ei].type;
		if ((ty == TY_ENTITY || ty == TY_INDIVIDUAL) && add_name(s, (uint32_t)ei, f[3], 1) < 0)
			FAIL(ER_E_NOMEM, "%s: out of memory", c.path);
	}
out:
	ofac_close(&c);
	return st;
}

void er_sdn_free(er_sdn *s)
{
	if (!s)
		return;
	er_buf_free(&s->text);
	free(s->ents);
	free(s->names);
	free(s->ntok_ids);
	free(s->toks);
	free(s->key_off);
	free(s->key_len);
	free(s->tok_h.s);
	free(s->key_h.s);
	free(s->ent_h.s);
	free(s->tok_post.off);
	free(s->tok_post.ids);
	free(s->key_toks.off);
	free(s->key_toks.ids);
	ac_free(s->ac);
	free(s);
}

er_status er_sdn_load(const char *dir, er_sdn **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	er_sdn *s = calloc(1, sizeof *s);
	if (!s || htab_init(&s->tok_h, 4096) < 0 || htab_init(&s->key_h, 4096) < 0 ||
	    htab_init(&s->ent_h, 4096) < 0) {
		er_sdn_free(s);
		er_errf(err, errlen, "%s: out of memory", dir);
		return ER_E_NOMEM;
	}
	er_status st = load_sdn(s, dir, err, errlen);
	if (st == ER_OK)
		st = load_alt_add(s, dir, 1, err, errlen);
	if (st == ER_OK)
		st = load_alt_add(s, dir, 0, err, errlen);
	/* entries are found by ent_num only while alt.csv and add.csv load */
	free(s->ent_h.s);
	memset(&s->ent_h, 0, sizeof s->ent_h);
	if (st == ER_OK && finish_index(s) < 0) {
		er_errf(err, errlen, "%s: out of memory", dir);
		st = ER_E_NOMEM;
	}
	if (st != ER_OK) {
		er_sdn_free(s);
		return st;
	}
	s->serial = atomic_fetch_add(&g_serial, 1);
	s->ac = ac_new(ACACHE_MIN, ACACHE_MAX); /* NULL (no memory): every name is screened */
	*out = s;
	return ER_OK;
}
