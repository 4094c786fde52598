/* er_table.c - the participants (CTPAT + foreign programs) and MRA tables.
 *
 * Both files are read with the engine's own stages (er_reader, er_splitter,
 * er_parser), so gzip, quoting, BOMs and line numbers behave exactly as they
 * do for manifests. Loading is single-threaded; afterwards the tables are
 * immutable and every look-up is a lock-free read.
 *
 * Layout: every string lives in one arena. Programs, roles and MRA texts are
 * interned (few distinct values, compared by pointer); ids and names are
 * copied once per run of equal values, without hashing. Rows are sorted by
 * (party id, program, valid_from); each party then owns a contiguous slice of
 * the cert array. An open-addressing index maps party id to a party (with
 * its roles in the slot); two more map (normalized name, country) and
 * normalized name alone to the run of parties sharing it (by_norm), which a
 * look-up filters by role; a fourth maps (program, country) to an MRA row.
 *
 * End dates: a participant period's valid_to is the first day NOT in force
 * (periods chain: one ends the day the next begins); an MRA row's
 * recognized_to is the LAST day recognized (inclusive, as sources publish
 * end dates). The difference is deliberate; see README "Tables". */
#include "er_table.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "er_parse.h"
#include "er_reader.h"
#include "er_split.h"
#include "er_trie.h"
#include "er_util.h"

/* ================================================================ arena */

typedef struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	char data[];
} arena_blk;

typedef struct arena {
	arena_blk *head;
} arena;

#define ARENA_BLOCK (256u * 1024u)

static char *arena_alloc(arena *a, size_t n)
{
	arena_blk *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = malloc(sizeof *b + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	char *p = b->data + b->used;
	b->used += n;
	return p;
}

static void arena_free(arena *a)
{
	arena_blk *b = a->head;
	while (b) {
		arena_blk *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

/* ======================================================= string interning */

typedef struct istr {
	const char *s; /* NULL = empty slot */
	uint32_t len;
	uint32_t tag;  /* low 32 bits of the hash: slot index and filter (tables < 2^32 slots) */
} istr;

typedef struct interner {
	arena *ar;
	istr *slots;
	size_t mask, count;
} interner;

static const char empty_str[1] = "";

/* The tables' own hash: only slot positions depend on it, never an output,
 * so it may use native-endian unaligned loads. Keys are short (ids of 4-20
 * bytes, names of 10-40): whole words, with the tail read as one word that
 * overlaps the previous one. er_hash64 (portable, byte-wise tail) stays for
 * values that reach outputs, such as the random selection. */
static inline uint64_t tmix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t load32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t hash_bytes(const void *key, size_t n, uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xc2b2ae3d27d4eb4full);
	uint64_t a, b;
	if (n > 16) {
		size_t left = n;
		while (left > 16) {
			h = tmix(h ^ load64(p)) + 0x9e3779b97f4a7c15ull;
			p += 8;
			left -= 8;
		}
		a = load64(p);
		b = load64(p + left - 8);
	} else if (n >= 8) {
		a = load64(p);
		b = load64(p + n - 8);
	} else if (n >= 4) {
		a = load32(p);
		b = load32(p + n - 4);
	} else if (n) {
		a = (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
		b = 0;
	} else {
		a = b = 0;
	}
	return tmix(tmix(h ^ a) ^ b);
}

static int intern_grow(interner *in)
{
	size_t ncap = in->slots ? (in->mask + 1) * 2 : 1024;
	if (ncap > ((size_t)1 << 31))
		return -1;
	istr *ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return -1;
	if (in->slots) {
		for (size_t i = 0; i <= in->mask; i++) {
			if (!in->slots[i].s)
				continue;
			size_t j = in->slots[i].tag & (ncap - 1);
			while (ns[j].s)
				j = (j + 1) & (ncap - 1);
			ns[j] = in->slots[i];
		}
		free(in->slots);
	}
	in->slots = ns;
	in->mask = ncap - 1;
	return 0;
}

/* Return the one arena copy (NUL-terminated) of p[0..n); NULL when out of memory. */
static const char *intern(interner *in, const char *p, size_t n)
{
	if (n == 0)
		return empty_str;
	if (n > UINT32_MAX)
		return NULL;
	if (!in->slots || (in->count + 1) * 2 > in->mask + 1) {
		if (intern_grow(in) < 0)
			return NULL;
	}
	uint32_t tag = (uint32_t)hash_bytes(p, n, 0);
	size_t j = tag & in->mask;
	for (;;) {
		istr *e = &in->slots[j];
		if (!e->s)
			break;
		if (e->tag == tag && e->len == n && er_eq_short(e->s, p, n))
			return e->s;
		j = (j + 1) & in->mask;
	}
	char *s = arena_alloc(in->ar, n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	in->slots[j].s = s;
	in->slots[j].len = (uint32_t)n;
	in->slots[j].tag = tag;
	in->count++;
	return s;
}

/* Rows of one party come together, so a column often repeats the previous
 * row's value: a one-entry cache per column skips most copies and hash
 * look-ups. */
typedef struct lastv {
	const char *s;
	size_t n;
} lastv;

/* Ids and names are mostly unique: copy them into the arena without hashing,
 * sharing only a repeat of the previous row's value. */
static const char *copy_last(arena *ar, lastv *c, const char *p, size_t n)
{
	if (n == 0)
		return empty_str;
	if (c->s && c->n == n && er_eq_short(c->s, p, n))
		return c->s;
	char *s = arena_alloc(ar, n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	c->s = s;
	c->n = n;
	return s;
}

static int same_str(const char *a, const char *b)
{
	return a == b || strcmp(a, b) == 0;
}

static void interner_free(interner *in)
{
	free(in->slots);
	in->slots = NULL;
	in->mask = in->count = 0;
}

/* ============================================================== indexes */

/* One slot of an open-addressing index: val 0 = empty, else row index + 1. */
typedef struct slot {
	uint32_t tag, val;
} slot;

#define ROWS_MAX 0x80000000u /* rows of a table (indexes hold row + 1 in 32 bits) */

typedef struct idx {
	slot *s;
	size_t mask;
} index_t;

/* Slots for n keys: a power of two, at most half full. */
static size_t index_cap(size_t n)
{
	size_t cap = 16;
	while (cap < n * 2 + 1)
		cap *= 2;
	return cap;
}

static int index_init(index_t *ix, size_t n)
{
	size_t cap = index_cap(n);
	ix->s = calloc(cap, sizeof *ix->s);
	if (!ix->s)
		return -1;
	ix->mask = cap - 1;
	return 0;
}

/* The id index keeps short ids in the slot itself: every row looks up to
 * five ids, the table is cold (the manifest streams through the caches), and
 * a look-up that finds the key in the slot costs one cache miss instead of
 * three (slot, party, id string). */
#define IDKEY 26
#define IDKEY_LONG 0xFF /* id longer than IDKEY: compare the party's id */

typedef struct idslot {
	uint32_t val;  /* party index + 1; 0 = empty */
	uint8_t len;   /* id length, or IDKEY_LONG */
	uint8_t roles; /* the party's ER_TR_* roles: the role check costs no miss */
	char key[IDKEY];
} idslot;

_Static_assert(sizeof(idslot) == 32, "two id slots per cache line");

typedef struct idindex {
	idslot *s;
	size_t mask;
} idindex;

/* ============================================================== tables */

struct er_tables {
	arena ar;
	er_party *parties;
	size_t nparties;
	er_cert *certs;
	size_t ncerts;
	er_mra *mra;
	size_t nmra;
	idindex by_id;
	index_t by_name_cc, by_name, by_mra;
	uint32_t *by_norm; /* parties with a name, by (normalized name, country, id) */
	size_t nnorm;
	er_table_source src[2]; /* participants, MRA: as read (for the summary) */
	uint64_t serial;        /* unique per load in this process: keys the name cache */
};

static const char *const status_names[ER_NSTATUS] = {
	"certified", "validated", "suspended", "removed", "withdrawn",
};

const char *er_cert_status_name(int st)
{
	if (st < 0 || st >= ER_NSTATUS)
		return "unknown";
	return status_names[st];
}


/* Longest field value quoted in a message. */
#define MSG_VAL 48
#define VAL(f) (int)((f).n > MSG_VAL ? MSG_VAL : (f).n), (f).p

/* ================================================================ CSV input */

/* A table file read through the manifest stages. */
typedef struct csv_in {
	const char *path;
	er_reader *rd;
	er_splitter *sp;
	er_parser *ps;
	er_recbuf rb;
	uint32_t next;
	int nfields;     /* fields in the header */
	uint64_t hline;  /* line of the header */
	/* what the line guard saw (table_read) */
	uint64_t nl;          /* line breaks read so far */
	uint64_t since_break; /* bytes since the last CR or LF */
	int too_long, cancelled;
} csv_in;

/* A table line is read whole: one longer than this (an endless line from a
 * FIFO, /dev/zero) stops the read at once instead of being skipped for ever.
 * Above the splitter's max_record, so the usual "record too long" comes
 * first for lines in between. */
#define TABLE_MAX_LINE (2u << 20)

/* The cancel flag of the er_tables_load_ex() running on this thread. */
static _Thread_local const volatile int *load_cancel;
static er_status tables_load(const char *participants_path, const char *mra_path,
                             er_tables **out, char *err, size_t errlen);

static const char *reject_text(int rej)
{
	switch (rej) {
	case ER_REJ_FIELD_COUNT: return "wrong number of fields";
	case ER_REJ_MISSING_REQUIRED: return "missing required field";
	case ER_REJ_INVALID_DATE: return "invalid date";
	case ER_REJ_INVALID_NUMBER: return "invalid number";
	case ER_REJ_INVALID_VALUE: return "invalid value";
	case ER_REJ_INVALID_UTF8: return "invalid UTF-8";
	case ER_REJ_NUL_BYTE: return "NUL byte";
	case ER_REJ_FIELD_TOO_LONG: return "field too long";
	case ER_REJ_RECORD_TOO_LONG: return "record too long";
	case ER_REJ_BAD_QUOTE: return "stray quote";
	case ER_REJ_UNTERMINATED_QUOTE: return "unterminated quote";
	default: return "malformed record";
	}
}

/* What the summary says of a table file: its bytes as read and their hash. */
static void note_source(er_table_source *s, csv_in *c)
{
	s->bytes = er_reader_bytes_in(c->rd);
	if (er_reader_sha256(c->rd, s->sha256) < 0)
		s->sha256[0] = '\0';
}

const er_table_source *er_tables_source(const er_tables *t, int which)
{
	return t && (which == 0 || which == 1) && t->src[which].sha256[0] ? &t->src[which] : NULL;
}

static void csv_close(csv_in *c)
{
	er_recbuf_free(&c->rb);
	er_parser_free(c->ps);
	er_splitter_free(c->sp);
	er_reader_close(c->rd);
	memset(c, 0, sizeof *c);
}

/* The reader, with the line-length guard and the cancel check in front. */
static ssize_t table_read(void *ctx, char *buf, size_t cap)
{
	csv_in *c = ctx;
	if (load_cancel && __atomic_load_n(load_cancel, __ATOMIC_RELAXED)) {
		c->cancelled = 1;
		return -1;
	}
	ssize_t n = er_reader_read(c->rd, buf, cap);
	/* line by line with memchr (a byte loop cost more than parsing) */
	for (size_t i = 0; n > 0 && i < (size_t)n;) {
		const char *p = buf + i;
		size_t left = (size_t)n - i;
		const char *lf = memchr(p, '\n', left);
		const char *cr = memchr(p, '\r', lf ? (size_t)(lf - p) : left);
		const char *br = cr ? cr : lf;
		size_t run = br ? (size_t)(br - p) : left;
		if (c->since_break + run > TABLE_MAX_LINE) {
			c->too_long = 1;
			return -1;
		}
		if (!br) {
			c->since_break += run;
			break;
		}
		c->nl += *br == '\n';
		c->since_break = 0;
		i += run + 1;
	}
	return n;
}

static er_status csv_open(csv_in *c, const char *path, int digest, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->path = path;
	er_status st = er_reader_open(path, &c->rd, err, errlen);
	if (st != ER_OK)
		return st;
	er_reader_set_cancel(c->rd, load_cancel);
	if (digest && er_reader_hash(c->rd) < 0) {
		csv_close(c);
		er_errf(err, errlen, "%s: out of memory", path);
		return ER_E_NOMEM;
	}
	er_split_opts o = {
		.delim = ',',
		.chunk_bytes = 1u << 20,
		.max_record = 1u << 20,
		.max_raw = 256,
	};
	c->sp = er_splitter_new(table_read, c, &o);
	c->ps = er_parser_new(',', 64u * 1024u);
	if (!c->sp || !c->ps) {
		csv_close(c);
		er_errf(err, errlen, "%s: out of memory", path);
		return ER_E_NOMEM;
	}
	return ER_OK;
}

/* Next record as fields. Returns 1 with *f / *nf / *line set, 0 at end of
 * input, -1 on error (*st and err set). */
static int csv_next(csv_in *c, const er_field **f, int *nf, uint64_t *line,
                    er_status *st, char *err, size_t errlen)
{
	while (c->next >= c->rb.n) {
		c->next = 0;
		int r = er_splitter_next(c->sp, &c->rb);
		if (r == 0)
			return 0;
		if (r < 0) {
			const char *m = er_reader_error(c->rd);
			if (er_splitter_nomem(c->sp) || er_reader_nomem(c->rd)) {
				er_errf(err, errlen, "%s: out of memory", c->path);
				*st = ER_E_NOMEM;
			} else if (c->cancelled ||
			           (load_cancel && __atomic_load_n(load_cancel, __ATOMIC_RELAXED))) {
				er_errf(err, errlen, "%s: interrupted", c->path);
				*st = ER_E_CANCELLED;
			} else if (c->too_long) {
				er_errf(err, errlen, "%s:%llu: line longer than %u MiB: not a table",
				        c->path, (unsigned long long)c->nl + 1, TABLE_MAX_LINE >> 20);
				*st = ER_E_FORMAT;
			} else if (m && *m) {
				er_errf(err, errlen, "%s", m);
				*st = er_reader_is_gzip(c->rd) ? ER_E_GZIP : ER_E_IO;
			} else {
				er_errf(err, errlen, "%s: read failed", c->path);
				*st = ER_E_IO;
			}
			return -1;
		}
	}
	const er_rec *rec = &c->rb.recs[c->next++];
	*line = rec->line;
	if (rec->reject != ER_REJ_NONE) {
		er_errf(err, errlen, "%s:%llu: %s", c->path, (unsigned long long)rec->line,
		       reject_text(rec->reject));
		*st = ER_E_FORMAT;
		return -1;
	}
	int rej = ER_REJ_NONE;
	int n = er_parser_record(c->ps, c->rb.buf + rec->off, rec->len,
	                         (rec->flags & ER_REC_QUOTED) != 0, f, &rej);
	if (n < 0 && rej == ER_REJ_NONE) { /* the parser's allocation, not the data */
		er_errf(err, errlen, "%s: out of memory", c->path);
		*st = ER_E_NOMEM;
		return -1;
	}
	if (n < 0) {
		er_errf(err, errlen, "%s:%llu: %s", c->path, (unsigned long long)rec->line,
		       reject_text(rej));
		*st = ER_E_FORMAT;
		return -1;
	}
	if (c->nfields && n != c->nfields) { /* rows after the header match it */
		er_errf(err, errlen, "%s:%llu: expected %d fields, got %d", c->path,
		       (unsigned long long)rec->line, c->nfields, n);
		*st = ER_E_FORMAT;
		return -1;
	}
	*nf = n;
	return 1;
}

/* Read the header and find each wanted column (case-insensitive, any order,
 * extra columns ignored). col[i] receives the field index of want[i]. */
static er_status csv_header(csv_in *c, const char *const *want, int nwant, int *col,
                            char *err, size_t errlen)
{
	const er_field *f;
	int nf;
	uint64_t line;
	er_status st = ER_E_FORMAT;
	int r = csv_next(c, &f, &nf, &line, &st, err, errlen);
	if (r < 0)
		return st;
	if (r == 0) {
		er_errf(err, errlen, "%s:1: empty file (no header row)", c->path);
		return ER_E_FORMAT;
	}
	c->nfields = nf;
	c->hline = line;
	for (int w = 0; w < nwant; w++) {
		col[w] = -1;
		for (int i = 0; i < nf; i++) {
			const char *p = f[i].p;
			size_t n = f[i].n;
			er_trim(&p, &n);
			if (!er_ieq(p, n, want[w]))
				continue;
			if (col[w] >= 0) {
				er_errf(err, errlen, "%s:%llu: duplicate column '%s'", c->path,
				       (unsigned long long)line, want[w]);
				return ER_E_FORMAT;
			}
			col[w] = i;
		}
		if (col[w] < 0) {
			er_errf(err, errlen, "%s:%llu: missing column '%s'", c->path,
			       (unsigned long long)line, want[w]);
			return ER_E_FORMAT;
		}
	}
	return ER_OK;
}

/* ======================================================= field validation */

static int country_ok(er_field f, char out[3])
{
	if (f.n != 2)
		return 0;
	for (int i = 0; i < 2; i++) {
		unsigned char ch = (unsigned char)f.p[i];
		if (ch >= 'a' && ch <= 'z')
			ch = (unsigned char)(ch - 32);
		if (ch < 'A' || ch > 'Z')
			return 0;
		out[i] = (char)ch;
	}
	out[2] = '\0';
	return 1;
}

/* Intern an upper-cased copy (program codes compare case-insensitively). */
static const char *intern_upper(interner *in, lastv *c, er_field f)
{
	char small[64];
	if (f.n == 0)
		return empty_str;
	if (c && c->s && c->n == f.n) {
		size_t i = 0;
		for (; i < f.n; i++) {
			char ch = f.p[i];
			if (((ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch) != c->s[i])
				break;
		}
		if (i == f.n)
			return c->s;
	}
	char *tmp = f.n <= sizeof small ? small : malloc(f.n);
	if (!tmp)
		return NULL;
	for (size_t i = 0; i < f.n; i++) {
		char ch = f.p[i];
		tmp[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
	}
	const char *s = intern(in, tmp, f.n);
	if (tmp != small)
		free(tmp);
	if (c && s) {
		c->s = s;
		c->n = f.n;
	}
	return s;
}

/* ========================================================= participants */

typedef struct prow {
	const char *id, *name, *program;
	char country[3];
	uint8_t status, tier, role; /* role: one ER_TR_* bit */
	int32_t from, to;
	uint32_t line;
} prow;

enum { P_ID, P_NAME, P_COUNTRY, P_ROLE, P_PROGRAM, P_STATUS, P_TIER, P_FROM, P_TO, P_NCOLS };
static const char *const p_cols[P_NCOLS] = {
	"party_id", "name", "country", "role", "program", "status", "tier", "valid_from", "valid_to",
};

/* The closed list of participant roles (SPEC 2), in ER_TR_* bit order. */
static const char *const role_names[ER_NTROLES] = {
	"importer", "exporter", "manufacturer", "carrier", "forwarder",
};

unsigned er_table_role_parse(const char *s, size_t n)
{
	for (int i = 0; i < ER_NTROLES; i++)
		if (er_ieq(s, n, role_names[i]))
			return 1u << i;
	return 0;
}

unsigned er_role_fits(int role)
{
	switch (role) {
	case ER_ROLE_IMPORTER: return ER_TR_IMPORTER;
	case ER_ROLE_SHIPPER: return ER_TR_EXPORTER | ER_TR_MANUFACTURER;
	case ER_ROLE_MANUFACTURER: return ER_TR_MANUFACTURER;
	case ER_ROLE_CARRIER: return ER_TR_CARRIER;
	case ER_ROLE_FORWARDER: return ER_TR_FORWARDER;
	default: return 0;
	}
}

/* "importer", or the roles of a party listed under several joined by '|'
 * ("exporter|manufacturer"), into buf (64 bytes suffice). Returns the length. */
static size_t roles_text(unsigned mask, char *buf)
{
	size_t o = 0;
	for (int i = 0; i < ER_NTROLES; i++) {
		if (!(mask & (1u << i)))
			continue;
		if (o)
			buf[o++] = '|';
		size_t l = strlen(role_names[i]);
		memcpy(buf + o, role_names[i], l);
		o += l;
	}
	buf[o] = '\0';
	return o;
}

static int parse_status(er_field f)
{
	for (int i = 0; i < ER_NSTATUS; i++)
		if (er_ieq(f.p, f.n, status_names[i]))
			return i;
	return -1;
}

static uint32_t line32(uint64_t line)
{
	return line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

/* Validate one participants row into *r. Returns 0 or -1 with err set. */
static int p_row(const char *path, uint64_t line, const er_field *fv, const int *col,
                 interner *in, lastv *cache, prow *r, er_status *st, char *err,
                 size_t errlen)
{
	unsigned long long ln = (unsigned long long)line;
	er_field f[P_NCOLS];
	for (int i = 0; i < P_NCOLS; i++)
		f[i] = fv[col[i]];
	*st = ER_E_FORMAT;
	if (f[P_ID].n == 0) {
		er_errf(err, errlen, "%s:%llu: missing party_id", path, ln);
		return -1;
	}
	if (f[P_PROGRAM].n == 0) {
		er_errf(err, errlen, "%s:%llu: missing program", path, ln);
		return -1;
	}
	if (!country_ok(f[P_COUNTRY], r->country)) {
		er_errf(err, errlen, "%s:%llu: country '%.*s' is not 2 letters", path, ln,
		       VAL(f[P_COUNTRY]));
		return -1;
	}
	/* roles decide which manifest columns a party can match: a role the
	 * engine does not know would silently match nothing */
	r->role = (uint8_t)er_table_role_parse(f[P_ROLE].p, f[P_ROLE].n);
	if (!r->role) {
		if (f[P_ROLE].n == 0)
			er_errf(err, errlen, "%s:%llu: missing role (want importer, exporter, "
			       "manufacturer, carrier or forwarder)", path, ln);
		else
			er_errf(err, errlen, "%s:%llu: unknown role '%.*s' (want importer, exporter, "
			       "manufacturer, carrier or forwarder)", path, ln, VAL(f[P_ROLE]));
		return -1;
	}
	int s = parse_status(f[P_STATUS]);
	if (s < 0) {
		er_errf(err, errlen, "%s:%llu: unknown status '%.*s'", path, ln, VAL(f[P_STATUS]));
		return -1;
	}
	r->status = (uint8_t)s;
	if (f[P_TIER].n == 0) {
		r->tier = 0;
	} else if (f[P_TIER].n == 1 && f[P_TIER].p[0] >= '1' && f[P_TIER].p[0] <= '3') {
		r->tier = (uint8_t)(f[P_TIER].p[0] - '0');
	} else {
		er_errf(err, errlen, "%s:%llu: bad tier '%.*s' (want 1, 2, 3 or empty)", path, ln,
		       VAL(f[P_TIER]));
		return -1;
	}
	if (f[P_FROM].n == 0) {
		er_errf(err, errlen, "%s:%llu: missing valid_from", path, ln);
		return -1;
	}
	if (er_parse_date(f[P_FROM].p, f[P_FROM].n, &r->from) < 0) {
		er_errf(err, errlen, "%s:%llu: bad valid_from '%.*s' (want YYYY-MM-DD)", path, ln,
		       VAL(f[P_FROM]));
		return -1;
	}
	if (f[P_TO].n == 0) {
		r->to = ER_DAY_MAX;
	} else if (er_parse_date(f[P_TO].p, f[P_TO].n, &r->to) < 0) {
		er_errf(err, errlen, "%s:%llu: bad valid_to '%.*s' (want YYYY-MM-DD)", path, ln,
		       VAL(f[P_TO]));
		return -1;
	} else if (r->to <= r->from) {
		er_errf(err, errlen, "%s:%llu: valid_to %.*s is not after valid_from %.*s", path, ln,
		       VAL(f[P_TO]), VAL(f[P_FROM]));
		return -1;
	}
	r->line = line32(line);
	r->id = copy_last(in->ar, &cache[0], f[P_ID].p, f[P_ID].n);
	r->name = copy_last(in->ar, &cache[1], f[P_NAME].p, f[P_NAME].n);
	r->program = intern_upper(in, &cache[3], f[P_PROGRAM]);
	if (!r->id || !r->name || !r->program) {
		*st = ER_E_NOMEM;
		er_errf(err, errlen, "%s:%llu: out of memory", path, ln);
		return -1;
	}
	return 0;
}

static int prow_cmp(const void *a, const void *b)
{
	const prow *x = a, *y = b;
	int c;
	if (x->id != y->id && (c = strcmp(x->id, y->id)) != 0)
		return c;
	if (x->program != y->program && (c = strcmp(x->program, y->program)) != 0)
		return c;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Cross-row checks on rows sorted by prow_cmp: one country per party, no
 * overlapping periods within a party + program. Of all problems found, the one
 * at the smallest line is reported (the row that reveals it). */
static int p_cross_check(const char *path, const prow *r, size_t n, char *err, size_t errlen)
{
	uint32_t best = 0;
	char msg[512] = "";
	for (size_t g = 0; g < n;) {
		size_t e = g;
		size_t first = g; /* earliest line of the party defines its country */
		while (e < n && same_str(r[e].id, r[g].id)) {
			if (r[e].line < r[first].line)
				first = e;
			e++;
		}
		for (size_t i = g; i < e; i++) {
			if (memcmp(r[i].country, r[first].country, 2) == 0)
				continue;
			if (!best || r[i].line < best) {
				best = r[i].line;
				snprintf(msg, sizeof msg,
				         "party '%.*s' has country %s here but %s on line %u",
				         MSG_VAL, r[i].id, r[i].country, r[first].country,
				         (unsigned)r[first].line);
			}
		}
		/* overlaps: within each program, compare with the period that reaches furthest */
		size_t reach = g;
		for (size_t i = g + 1; i < e; i++) {
			if (r[i].program != r[i - 1].program) {
				reach = i;
				continue;
			}
			if (r[i].from < r[reach].to) {
				uint32_t hi = r[i].line > r[reach].line ? r[i].line : r[reach].line;
				uint32_t lo = r[i].line > r[reach].line ? r[reach].line : r[i].line;
				if (!best || hi < best) {
					best = hi;
					snprintf(msg, sizeof msg,
					         "period overlaps line %u for party '%.*s' program %.*s",
					         (unsigned)lo, MSG_VAL, r[i].id, MSG_VAL, r[i].program);
				}
			}
			if (r[i].to > r[reach].to)
				reach = i;
		}
		g = e;
	}
	if (!best)
		return 0;
	er_errf(err, errlen, "%s:%u: %s", path, (unsigned)best, msg);
	return -1;
}

/* ======================================================= name normalizer */

static int is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Byte length of the word character at s[i] (0 = separator). Any non-ASCII
 * character is a word character: name_fold() has already turned Unicode
 * spaces, punctuation and symbols into ASCII spaces. */
static size_t word_len(const unsigned char *s, size_t n, size_t i)
{
	unsigned char c = s[i];
	if (c < 0x80)
		return is_alnum(c) ? 1 : 0;
	size_t k = 1;
	if (c >= 0xC0)
		while (k < 4 && i + k < n && (s[i + k] & 0xC0) == 0x80)
			k++;
	return k;
}

/* Output with a cap: bytes past cap-1 are dropped. */
typedef struct nout {
	char *p;
	size_t len, cap;
	int space; /* a separator is pending before the next word byte */
} nout;

static inline void nput(nout *o, unsigned char c)
{
	if (o->space) { /* one space between words, none before the first */
		o->space = 0;
		if (o->len && o->len + 1 < o->cap)
			o->p[o->len++] = ' ';
	}
	if (o->len + 1 < o->cap)
		o->p[o->len++] = (char)c;
}

/* Upper-cased c when c is an ASCII letter or digit, else 0: one load per
 * byte of the ASCII pass's inner loop. */
#define UP3(c) [c] = c, [c + 1] = c + 1, [c + 2] = c + 2
#define UP10(c) UP3(c), UP3(c + 3), UP3(c + 6), [c + 9] = c + 9
#define LOW3(c) [c] = c - 32, [c + 1] = c - 31, [c + 2] = c - 30
#define LOW13(c) LOW3(c), LOW3(c + 3), LOW3(c + 6), LOW3(c + 9), [c + 12] = c - 20
static const unsigned char alnum_up[256] = {
	UP10('0'), UP10('A'), UP10('K'), UP3('U'), UP3('X'),
	LOW13('a'), LOW13('n'),
};
#undef UP3
#undef UP10
#undef LOW3
#undef LOW13

static inline unsigned char ascii_alnum_up(unsigned char c)
{
	return alnum_up[c];
}

/* The same by comparisons (the reference pass, er_name_normalize_ref). */
static inline unsigned char ascii_alnum_up_ref(unsigned char c)
{
	if ((unsigned)(c - 'a') < 26u)
		return (unsigned char)(c - 32);
	if ((unsigned)(c - 'A') < 26u || (unsigned)(c - '0') < 10u)
		return c;
	return 0;
}

/* Legal-form suffixes, as tokens after normalization. Matched at the end of
 * the name, longest first, repeatedly, and only while a word remains before.
 * Lengths are precomputed: this runs for every name look-up on the hot path. */
#define SFX(x) { x, sizeof(x) - 1 }
static const struct { const char *s; size_t len; } suffixes[] = {
	SFX("INC"), SFX("INCORPORATED"), SFX("LLC"), SFX("L L C"), SFX("LTD"), SFX("LIMITED"),
	SFX("CO"), SFX("CORP"), SFX("CORPORATION"), SFX("COMPANY"), SFX("GMBH"), SFX("AG"), SFX("KG"),
	SFX("SA"), SFX("S A"), SFX("SA DE CV"), SFX("DE CV"), SFX("DE C V"), SFX("S DE RL"),
	SFX("S DE R L"), SFX("SAB"), SFX("SAPI"), SFX("SAS"), SFX("SRL"), SFX("SPA"), SFX("BV"),
	SFX("NV"), SFX("PLC"), SFX("PVT"), SFX("PTE"), SFX("PTY"), SFX("JSC"), SFX("PJSC"), SFX("KK"),
	SFX("OY"), SFX("OYJ"), SFX("AB"), SFX("SARL"), SFX("LLP"), SFX("LP"), SFX("LLLP"),
	SFX("PLLC"), SFX("ULC"), SFX("LTDA"), SFX("LIMITADA"), SFX("SL"), SFX("SE"), SFX("AS"),
	SFX("A S"), SFX("ASA"), SFX("APS"), SFX("SRO"), SFX("SP Z O O"), SFX("KFT"), SFX("OOO"),
	SFX("SDN BHD"), SFX("BHD"), SFX("CIA"), SFX("AND CO"), SFX("AND CIA"), SFX("AND COMPANY"),
	SFX("PRIVATE LIMITED"), SFX("LIMITED LIABILITY COMPANY"), SFX("JOINT STOCK COMPANY"),
	SFX("KABUSHIKI KAISHA"), SFX("BVBA"), SFX("SPRL"),
};
#undef SFX

#define NSUFFIXES (sizeof suffixes / sizeof suffixes[0])

/* Suffix indexes grouped by their last byte ('0'..'Z'), so a name is only
 * compared with the few suffixes that end like it does. Built once. */
static uint8_t sfx_by_last[NSUFFIXES];
static uint8_t sfx_first['Z' + 2]; /* sfx_by_last[sfx_first[c] .. sfx_first[c+1]) */
static pthread_once_t sfx_once = PTHREAD_ONCE_INIT;

/* The suffixes spelled backwards: a name's end is walked once, from its
 * last byte, for all of them (sfx_rev_ok = 0 when it could not be built:
 * then the grouped compare serves alone). Built once, never freed. */
static er_trie sfx_rev;
static int sfx_rev_ok;

static void sfx_build(void)
{
	size_t o = 0;
	for (int c = 0; c <= 'Z'; c++) {
		sfx_first[c] = (uint8_t)o;
		for (size_t k = 0; k < NSUFFIXES; k++)
			if ((unsigned char)suffixes[k].s[suffixes[k].len - 1] == c)
				sfx_by_last[o++] = (uint8_t)k;
	}
	sfx_first['Z' + 1] = (uint8_t)o;
	char rev[32];
	for (size_t k = 0; k < NSUFFIXES; k++)
		er_trie_note(&sfx_rev, suffixes[k].s, suffixes[k].len);
	int ok = 1;
	for (size_t k = 0; k < NSUFFIXES && ok; k++) {
		size_t sl = suffixes[k].len;
		for (size_t i = 0; i < sl; i++)
			rev[i] = suffixes[k].s[sl - 1 - i];
		ok = er_trie_add(&sfx_rev, rev, sl) == 0;
	}
	sfx_rev_ok = ok;
}

/* Length of the longest suffix ending s[0..len) after a space with a word
 * before it, 0 if none: the reversed trie walked from the last byte. */
static size_t longest_suffix(const char *s, size_t len)
{
	size_t best = 0;
	uint32_t node = ER_TRIE_ROOT;
	for (size_t k = 1; k + 2 <= len; k++) {
		node = er_trie_step(&sfx_rev, node, (unsigned char)s[len - k]);
		if (!node)
			break;
		if (er_trie_accepts(&sfx_rev, node) && s[len - k - 1] == ' ')
			best = k;
	}
	return best;
}

/* ref: the grouped compare only (the reference of the differential test). */
static size_t strip_suffixes(char *s, size_t len, int ref)
{
	pthread_once(&sfx_once, sfx_build);
	while (!ref && sfx_rev_ok) {
		size_t best = longest_suffix(s, len);
		if (!best)
			return len;
		len -= best + 1;
		s[len] = '\0';
	}
	for (;;) {
		size_t best = 0;
		unsigned char last = len ? (unsigned char)s[len - 1] : 0;
		if (last > 'Z')
			return len;
		for (size_t j = sfx_first[last]; j < sfx_first[last + 1]; j++) {
			size_t k = sfx_by_last[j];
			size_t sl = suffixes[k].len;
			/* need "<word> <suffix>": a space before it and something before that */
			if (sl + 2 > len || sl <= best)
				continue;
			if (s[len - sl - 1] == ' ' && memcmp(s + len - sl, suffixes[k].s, sl) == 0)
				best = sl;
		}
		if (!best)
			return len;
		len -= best + 1;
		s[len] = '\0';
	}
}

/* ---- Unicode: names with a non-ASCII byte are folded by libutf8proc first:
 * NFKC (full-width and other compatibility forms become their plain
 * letters), case folding, combining marks stripped (so precomposed "Ü",
 * decomposed "U" + U+0308 and plain "U" meet), default-ignorable characters
 * (zero-width joiners, soft hyphens) dropped; letters left outside ASCII are
 * upper-cased, and Unicode spaces, punctuation and symbols become ASCII
 * spaces. The ASCII pass below then does the rest. ASCII names skip this. */

#define FOLD_OPTS (UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | \
                   UTF8PROC_STRIPMARK | UTF8PROC_IGNORE)
#define FOLD_STACK 256 /* code points folded without an allocation */

/* Eight bytes at a time: every name look-up asks this first. */
static int has_non_ascii(const char *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ull)
			return 1;
	}
	for (; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

static int has_non_ascii_ref(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

static int fold_separator(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
	case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC:
	case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO: case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_CF:
		return 1;
	default:
		return 0;
	}
}

/* Fold p[0..n) (UTF-8 with a non-ASCII byte) into *out: stack (cap bytes)
 * when it fits, else a heap buffer the caller frees (*out != stack).
 * Returns the folded length, -1 when p is not valid UTF-8 (the caller then
 * normalizes the raw bytes), -2 when out of memory. */
static long name_fold(const char *p, size_t n, char *stack, size_t cap, char **out)
{
	utf8proc_int32_t cps[FOLD_STACK], *cp = cps;
	const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)p;
	if (n > (size_t)LONG_MAX / 8)
		return -2;
	utf8proc_ssize_t k = utf8proc_decompose(u, (utf8proc_ssize_t)n, cps, FOLD_STACK, FOLD_OPTS);
	if (k > FOLD_STACK) {
		if (!(cp = malloc((size_t)k * sizeof *cp)))
			return -2;
		k = utf8proc_decompose(u, (utf8proc_ssize_t)n, cp, k, FOLD_OPTS);
	}
	if (k >= 0)
		k = utf8proc_normalize_utf32(cp, k, FOLD_OPTS);
	long rc = -1;
	if (k < 0)
		goto out;
	size_t need = (size_t)k * 4 + 1;
	*out = need <= cap ? stack : malloc(need);
	rc = -2;
	if (!*out)
		goto out;
	size_t o = 0;
	for (utf8proc_ssize_t i = 0; i < k; i++) {
		utf8proc_int32_t c = cp[i];
		if (c >= 0x80 && fold_separator(c))
			c = ' ';
		else if (c >= 0x80)
			c = utf8proc_toupper(c);
		o += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)*out + o);
	}
	(*out)[o] = '\0';
	rc = (long)o;
out:
	if (cp != cps)
		free(cp);
	return rc;
}

/* The ASCII pass: the whole normalization of an ASCII name, the second step
 * of a folded one (non-ASCII bytes are word characters here). ref: one byte
 * at a time, by comparisons (the reference of the differential test). */
static size_t normalize_bytes(const char *in, size_t n, char *out, size_t cap, int ref)
{
	const unsigned char *s = (const unsigned char *)in;
	nout o = { out, 0, cap, 0 };
	size_t seg = 0; /* characters in the current dot-delimited segment */
	for (size_t i = 0; i < n;) {
		/* the common case, inline */
		unsigned char up = ref ? ascii_alnum_up_ref(s[i]) : ascii_alnum_up(s[i]);
		if (up) {
			/* a run of ASCII letters and digits: the first byte may bring the
			 * pending space, the rest are stored while they fit */
			nput(&o, up);
			size_t j = i + 1;
			if (!ref) {
				size_t len = o.len, room = o.cap - 1; /* cap >= 1 */
				for (; j < n && (up = ascii_alnum_up(s[j])) != 0; j++)
					if (len < room)
						o.p[len++] = (char)up;
				o.len = len;
			}
			seg += j - i;
			i = j;
			continue;
		}
		/* an ASCII byte that is no letter or digit is a separator */
		size_t wl = !ref && s[i] < 0x80 ? 0 : word_len(s, n, i);
		if (wl) {
			for (size_t k = 0; k < wl; k++)
				nput(&o, s[i + k]);
			seg++;
			i += wl;
			continue;
		}
		if (s[i] == '.' && seg == 1 && i + 1 < n) {
			/* "G.M.B.H.", "S.A.": a dot between two one-character segments joins them */
			size_t nl = word_len(s, n, i + 1);
			if (nl && (i + 1 + nl >= n || word_len(s, n, i + 1 + nl) == 0)) {
				seg = 0;
				i++;
				continue;
			}
		}
		if (s[i] == '&') {
			o.space = 1;
			nput(&o, 'A');
			nput(&o, 'N');
			nput(&o, 'D');
		}
		o.space = 1;
		seg = 0;
		i++;
	}
	size_t len = o.len;
	out[len] = '\0';
	if (len > 4 && memcmp(out, "THE ", 4) == 0) {
		memmove(out, out + 4, len - 4 + 1);
		len -= 4;
	}
	return strip_suffixes(out, len, ref);
}

/* Fold (when needed) into a stack buffer or the heap; *src and *sn are the text
 * the ASCII pass reads. Returns 0, or -1 when out of memory. */
static int fold_for_pass(const char *in, size_t n, char *stack, size_t cap, char **heap,
                         const char **src, size_t *sn, int ref)
{
	*heap = NULL;
	*src = in;
	*sn = n;
	if (!(ref ? has_non_ascii_ref(in, n) : has_non_ascii(in, n)))
		return 0;
	char *f;
	long fl = name_fold(in, n, stack, cap, &f);
	if (fl == -2)
		return -1;
	if (fl >= 0) {
		*src = f;
		*sn = (size_t)fl;
		if (f != stack)
			*heap = f;
	}
	return 0;
}

static size_t name_normalize(const char *in, size_t n, char *out, size_t cap, int ref)
{
	if (!out || cap == 0)
		return 0;
	char stack[512], *heap;
	const char *src;
	size_t sn;
	if (fold_for_pass(in, n, stack, sizeof stack, &heap, &src, &sn, ref) < 0) {
		out[0] = '\0';
		return 0;
	}
	size_t len = normalize_bytes(src, sn, out, cap, ref);
	free(heap);
	return len;
}

size_t er_name_normalize(const char *in, size_t n, char *out, size_t cap)
{
	return name_normalize(in, n, out, cap, 0);
}

size_t er_name_normalize_ref(const char *in, size_t n, char *out, size_t cap)
{
	return name_normalize(in, n, out, cap, 1);
}

/* Normalize into buf (stack) or a heap buffer big enough for this input
 * ('&' -> " AND " is the largest growth of the ASCII pass: 5 bytes per byte
 * of its input, which for a Unicode name is the folded text). NULL when out
 * of memory. */
static char *normalize_alloc(const char *p, size_t n, char *buf, size_t bufcap, size_t *len)
{
	char stack[512], *heap;
	const char *src;
	size_t sn;
	if (fold_for_pass(p, n, stack, sizeof stack, &heap, &src, &sn, 0) < 0)
		return NULL;
	size_t need = sn * 5 + 1;
	char *out = need > bufcap ? malloc(need) : buf;
	if (out)
		*len = normalize_bytes(src, sn, out, need > bufcap ? need : bufcap, 0);
	free(heap);
	return out;
}

/* ================================================================ indexes */

static uint64_t name_hash(const char *norm, size_t len, const char *cc)
{
	uint64_t h = hash_bytes(norm, len, 0x6e616d65u);
	return cc ? hash_bytes(cc, 2, h) : h;
}

/* The name indexes. Parties with a name are listed in by_norm sorted by
 * (normalized name, country, id), so the parties sharing a name, or a name
 * and country, form one run; by_name and by_name_cc map each key to the
 * first position of its run. A look-up walks the run and counts the parties
 * whose role fits: roles decide what is ambiguous ("JUNIPER SUPPLY" may be an
 * importer and an exporter at once without either being ambiguous). */
typedef struct nkey {
	const char *norm;
	const char *cc;
	uint32_t party;
} nkey;

static int nkey_cmp(const void *a, const void *b)
{
	const nkey *x = a, *y = b;
	int c = x->norm == y->norm ? 0 : strcmp(x->norm, y->norm);
	if (!c)
		c = memcmp(x->cc, y->cc, 2);
	return c ? c : (x->party > y->party) - (x->party < y->party);
}

static void run_insert(index_t *ix, const er_party *p, uint32_t pos, int with_cc)
{
	uint64_t h = name_hash(p->norm_name, strlen(p->norm_name), with_cc ? p->country : NULL);
	size_t j = (size_t)h & ix->mask;
	while (ix->s[j].val)
		j = (j + 1) & ix->mask;
	ix->s[j].tag = (uint32_t)(h >> 32);
	ix->s[j].val = pos + 1;
}

static int name_index_build(er_tables *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->nparties; i++)
		n += t->parties[i].norm_name[0] != '\0';
	nkey *k = malloc((n ? n : 1) * sizeof *k);
	t->by_norm = malloc((n ? n : 1) * sizeof *t->by_norm);
	if (!k || !t->by_norm || index_init(&t->by_name_cc, n) < 0 || index_init(&t->by_name, n) < 0) {
		free(k);
		return -1;
	}
	n = 0;
	for (size_t i = 0; i < t->nparties; i++) {
		const er_party *p = &t->parties[i];
		if (p->norm_name[0])
			k[n++] = (nkey){ p->norm_name, p->country, (uint32_t)i };
	}
	qsort(k, n, sizeof *k, nkey_cmp);
	for (size_t i = 0; i < n; i++) {
		const er_party *p = &t->parties[k[i].party];
		t->by_norm[i] = k[i].party;
		int new_name = i == 0 || !same_str(k[i].norm, k[i - 1].norm);
		if (new_name)
			run_insert(&t->by_name, p, (uint32_t)i, 0);
		if (new_name || memcmp(k[i].cc, k[i - 1].cc, 2) != 0)
			run_insert(&t->by_name_cc, p, (uint32_t)i, 1);
	}
	t->nnorm = n;
	free(k);
	return 0;
}

static int idindex_init(idindex *ix, size_t n)
{
	size_t cap = index_cap(n);
	ix->s = calloc(cap, sizeof *ix->s);
	if (!ix->s)
		return -1;
	ix->mask = cap - 1;
	return 0;
}

static void id_insert(idindex *ix, const er_party *parties, uint32_t i)
{
	const char *id = parties[i].id;
	size_t n = strlen(id);
	uint64_t h = hash_bytes(id, n, 0);
	size_t j = (size_t)h & ix->mask;
	while (ix->s[j].val)
		j = (j + 1) & ix->mask;
	idslot *s = &ix->s[j];
	s->val = i + 1;
	s->roles = parties[i].roles;
	if (n <= IDKEY) {
		s->len = (uint8_t)n;
		memcpy(s->key, id, n);
	} else {
		s->len = IDKEY_LONG;
	}
}

static inline const idslot *id_home(const er_tables *t, uint64_t h)
{
	return &t->by_id.s[(size_t)h & t->by_id.mask];
}

er_id_probe er_tables_id_start(const er_tables *t, const char *id, size_t n)
{
	er_id_probe q = { id, id ? n : 0, 0 };
	if (t && t->nparties && q.n) {
		q.h = hash_bytes(id, n, 0);
		__builtin_prefetch(id_home(t, q.h));
	}
	return q;
}

static const idslot *id_slot(const er_tables *t, const er_id_probe *q)
{
	if (!t || !t->nparties || !q->n)
		return NULL;
	const char *id = q->id;
	size_t n = q->n, mask = t->by_id.mask;
	const idslot *base = t->by_id.s;
	for (size_t j = (size_t)q->h & mask;; j = (j + 1) & mask) {
		const idslot *s = &base[j];
		if (!s->val)
			return NULL;
		if (n <= IDKEY) { /* IDKEY_LONG (255) is not a length: test n first */
			if (s->len == n && er_eq_short(s->key, id, n))
				return s;
		} else if (s->len == IDKEY_LONG) {
			const er_party *p = &t->parties[s->val - 1];
			if (memcmp(p->id, id, n) == 0 && p->id[n] == '\0')
				return s;
		}
	}
}

const er_party *er_tables_id_finish(const er_tables *t, const er_id_probe *q)
{
	const idslot *s = id_slot(t, q);
	return s ? &t->parties[s->val - 1] : NULL;
}

const er_party *er_tables_find_id(const er_tables *t, const char *id, size_t n)
{
	er_id_probe q = er_tables_id_start(t, id, n);
	return er_tables_id_finish(t, &q);
}

/* ---- the per-thread cache of name look-ups. Manifests repeat their
 * parties' names (a forwarder's regular shippers, an importer on every
 * bill), and a look-up by name costs a normalization (over 500
 * instructions, thousands for a non-ASCII name) where a repeat costs a hash
 * and one cache line. Keyed exactly: the table's serial, the roles, the
 * country and the raw name bytes (names longer than NC_KEY bytes are not
 * cached); the answer is the party found and the count. Each thread has its
 * own cache (no sharing, no locks), 2-way, the newer entry first. */
#define NC_KEY 47
#define NC_SETS 8192u
#define NC_WAYS 2

typedef struct nc_ent {
	uint64_t h;         /* 0 = empty */
	uint32_t party;     /* index + 1 of the party found, 0 = none */
	uint8_t hits;       /* the look-up's *count: 0, 1 or 2 */
	uint8_t len;        /* name bytes */
	uint8_t roles;
	char cc[2];         /* country as matched (upper case), "\0\0" = any */
	char key[NC_KEY];
} nc_ent;

_Static_assert(sizeof(nc_ent) == 64, "one entry per cache line");

typedef struct name_cache {
	uint64_t serial; /* of the table the entries answer for */
	_Alignas(64) nc_ent e[NC_SETS][NC_WAYS];
} name_cache;

static pthread_key_t nc_key;
static pthread_once_t nc_once = PTHREAD_ONCE_INIT;
static int nc_key_ok;
static _Thread_local name_cache *nc_mine;

static void nc_free(void *c)
{
	free(c);
}

static void nc_init(void)
{
	nc_key_ok = pthread_key_create(&nc_key, nc_free) == 0;
}

/* This thread's cache, emptied when it last answered for another table;
 * NULL when it cannot be had (then look-ups are computed). */
static name_cache *nc_get(const er_tables *t)
{
	name_cache *c = nc_mine;
	if (!c) {
		pthread_once(&nc_once, nc_init);
		if (!nc_key_ok || !(c = aligned_alloc(64, sizeof *c)))
			return NULL;
		if (pthread_setspecific(nc_key, c) != 0) {
			free(c);
			return NULL;
		}
		memset(c, 0, sizeof *c);
		nc_mine = c;
	}
	if (c->serial != t->serial) {
		memset(c->e, 0, sizeof c->e);
		c->serial = t->serial;
	}
	return c;
}

static const er_party *find_name(const er_tables *t, unsigned roles, const char *name, size_t n,
                                 const char *cc, size_t cn, int *count);

/* The checks every name look-up starts with: 1 when there is something to
 * look up (then cc holds the country upper-cased, or "" when cn == 0), 0
 * when the answer is "none". *count (may be NULL) is set to 0. */
static int name_query(const er_tables *t, const char *name, const char *country, size_t cn,
                      char cc[3], int *count)
{
	cc[0] = cc[1] = cc[2] = '\0';
	if (count)
		*count = 0;
	if (!t || !t->nnorm || !name)
		return 0;
	er_field f = { country, cn };
	return !cn || (country && country_ok(f, cc));
}

const er_party *er_tables_find_name_as(const er_tables *t, unsigned roles, const char *name,
                                       size_t n, const char *country, size_t cn, int *count)
{
	char cc[3];
	int hits = 0;
	if (!name_query(t, name, country, cn, cc, count) || !n)
		return NULL;
	name_cache *c = n <= NC_KEY && roles <= 0xFF ? nc_get(t) : NULL;
	if (!c) {
		const er_party *p = find_name(t, roles, name, n, cc, cn, &hits);
		if (count)
			*count = hits < 0 ? 0 : hits;
		return p;
	}
	uint64_t h = hash_bytes(name, n, (uint64_t)roles << 16 | (uint64_t)(unsigned char)cc[0] << 8 |
	                                     (unsigned char)cc[1]) | 1;
	nc_ent *set = c->e[h & (NC_SETS - 1)];
	for (int w = 0; w < NC_WAYS; w++) {
		const nc_ent *e = &set[w];
		if (e->h == h && e->len == n && e->roles == roles && e->cc[0] == cc[0] &&
		    e->cc[1] == cc[1] && er_eq_short(e->key, name, n)) {
			if (count)
				*count = e->hits;
			return e->party ? &t->parties[e->party - 1] : NULL;
		}
	}
	const er_party *p = find_name(t, roles, name, n, cc, cn, &hits);
	if (hits < 0) /* out of memory: no answer to keep */
		return NULL;
	memmove(&set[1], &set[0], (NC_WAYS - 1) * sizeof *set);
	set[0].h = h;
	set[0].party = p ? (uint32_t)(p - t->parties) + 1 : 0;
	set[0].hits = (uint8_t)hits;
	set[0].len = (uint8_t)n;
	set[0].roles = (uint8_t)roles;
	set[0].cc[0] = cc[0];
	set[0].cc[1] = cc[1];
	er_copy_short(set[0].key, name, n);
	if (count)
		*count = hits;
	return p;
}

const er_party *er_tables_find_name_uncached(const er_tables *t, unsigned roles,
                                             const char *name, size_t n, const char *country,
                                             size_t cn, int *count)
{
	char cc[3];
	int hits = 0;
	if (!name_query(t, name, country, cn, cc, count) || !n)
		return NULL;
	const er_party *p = find_name(t, roles, name, n, cc, cn, &hits);
	if (count)
		*count = hits < 0 ? 0 : hits;
	return p;
}

/* The look-up of a normalized name: the run of its key. cc: the checked
 * country when cn != 0. *count: 0, 1 or 2. */
static const er_party *find_norm(const er_tables *t, unsigned roles, const char *norm, size_t len,
                                 const char *cc, size_t cn, int *count)
{
	int hits = 0;
	const er_party *found = NULL;
	const index_t *ix = cn ? &t->by_name_cc : &t->by_name;
	uint64_t h = name_hash(norm, len, cn ? cc : NULL);
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t j = (size_t)h & ix->mask; len; j = (j + 1) & ix->mask) {
		const slot *s = &ix->s[j];
		if (!s->val)
			break;
		if (s->tag != tag)
			continue;
		const er_party *p = &t->parties[t->by_norm[s->val - 1]];
		if (memcmp(p->norm_name, norm, len) != 0 || p->norm_name[len] != '\0')
			continue;
		if (cn && memcmp(p->country, cc, 2) != 0)
			continue;
		/* the run of this key: count the parties whose role fits, up to two */
		for (size_t k = s->val - 1; k < t->nnorm && hits < 2; k++) {
			const er_party *q = &t->parties[t->by_norm[k]];
			if (!same_str(q->norm_name, p->norm_name) ||
			    (cn && memcmp(q->country, cc, 2) != 0))
				break;
			if (q->roles & roles) {
				found = q;
				hits++;
			}
		}
		break;
	}
	*count = hits;
	return hits == 1 ? found : NULL;
}

/* The look-up itself: name normalized, then find_norm(). *count: 0, 1, 2,
 * or -1 when out of memory. */
static const er_party *find_name(const er_tables *t, unsigned roles, const char *name, size_t n,
                                 const char *cc, size_t cn, int *count)
{
	char buf[1024];
	size_t len;
	char *norm = normalize_alloc(name, n, buf, sizeof buf, &len);
	*count = -1;
	if (!norm)
		return NULL;
	const er_party *p = find_norm(t, roles, norm, len, cc, cn, count);
	if (norm != buf)
		free(norm);
	return p;
}

const er_party *er_tables_find_norm_as(const er_tables *t, unsigned roles, const char *norm,
                                       size_t len, const char *country, size_t cn, int *count)
{
	char cc[3];
	int hits = 0;
	if (!name_query(t, norm, country, cn, cc, count))
		return NULL;
	const er_party *p = find_norm(t, roles, norm, len, cc, cn, &hits);
	if (count)
		*count = hits;
	return p;
}

const er_party *er_tables_find_name(const er_tables *t, const char *name, size_t n,
                                    const char *country, size_t cn)
{
	return er_tables_find_name_as(t, ER_TR_ALL, name, n, country, cn, NULL);
}

const er_party *er_tables_match(const er_tables *t, int role, const er_id_probe *id,
                                const char *name, size_t nn, const char *cc, size_t cn,
                                uint8_t *match)
{
	unsigned fits = er_role_fits(role);
	int named = 0;
	if (id->n) {
		/* SPEC 2: names stand in only where there is no id; an unknown id
		 * with a member's name is a borrowed identity, never that member.
		 * A listed id of another role (a carrier's SCAC as importer) is no
		 * id of this column's kind: unknown too. */
		const idslot *s = id_slot(t, id);
		if (s && (s->roles & fits)) {
			*match = ER_MATCH_ID;
			return &t->parties[s->val - 1];
		}
		if (nn)
			er_tables_find_name_as(t, fits, name, nn, cc, cn, &named);
		*match = named ? ER_MATCH_CONFLICT : ER_MATCH_NONE;
		return NULL;
	}
	if (!nn) {
		*match = ER_MATCH_ABSENT;
		return NULL;
	}
	const er_party *p = er_tables_find_name_as(t, fits, name, nn, cc, cn, &named);
	*match = named == 1 ? ER_MATCH_NAME : named ? ER_MATCH_AMBIGUOUS : ER_MATCH_NONE;
	return p;
}

/* ================================================================ as-of */

/* Standing used to pick among periods in force: higher is better. */
static const uint8_t standing[ER_NSTATUS] = {
	[ER_ST_VALIDATED] = 4, [ER_ST_CERTIFIED] = 3, [ER_ST_SUSPENDED] = 2,
	[ER_ST_REMOVED] = 1, [ER_ST_WITHDRAWN] = 0,
};

static int better(const er_cert *a, const er_cert *b)
{
	if (standing[a->status] != standing[b->status])
		return standing[a->status] > standing[b->status];
	if (a->is_ctpat != b->is_ctpat)
		return a->is_ctpat;
	return a->tier > b->tier;
}

/* A party's certs are sorted by (program, valid_from) and periods of one
 * program never overlap (checked on load), so each program holds at most one
 * period in force on a day, found by binary search: a party with a long
 * history costs log(periods) per look-up, not a scan. */

/* End of the program group that starts at i (programs are interned, so
 * equal programs are equal pointers). */
static uint32_t group_end(const er_cert *c, uint32_t i, uint32_t n)
{
	const char *prog = c[i].program;
	if (c[n - 1].program == prog)
		return n; /* the common case: one program, or the last one */
	uint32_t lo = i + 1, hi = n - 1; /* c[hi] is of another program */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c[mid].program == prog)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const er_cert *er_party_next_in_force(const er_party *p, int32_t day, int want, uint32_t *pos)
{
	if (!p)
		return NULL;
	const er_cert *c = p->certs;
	while (*pos < p->ncerts) {
		uint32_t i = *pos, e = group_end(c, i, p->ncerts);
		*pos = e;
		if ((want == 1 && !c[i].is_ctpat) || (want == 0 && c[i].is_ctpat))
			continue;
		/* the last period starting on or before day */
		uint32_t lo = i, hi = e;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (c[mid].valid_from <= day)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > i && day < c[lo - 1].valid_to)
			return &c[lo - 1];
	}
	return NULL;
}

const er_cert *er_party_cert_on(const er_party *p, int32_t day, int want)
{
	const er_cert *best = NULL, *c;
	uint32_t pos = 0;
	while ((c = er_party_next_in_force(p, day, want, &pos)))
		if (!best || better(c, best))
			best = c;
	return best;
}

/* ================================================================== MRA */

static uint64_t mra_hash(const char *program, const char *cc)
{
	return hash_bytes(cc, 2, hash_bytes(program, strlen(program), 0x6d7261u));
}

static const er_mra *mra_find(const er_tables *t, const char *program, const char cc[2])
{
	if (!t->nmra)
		return NULL;
	uint64_t h = mra_hash(program, cc);
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t j = (size_t)h & t->by_mra.mask;; j = (j + 1) & t->by_mra.mask) {
		const slot *s = &t->by_mra.s[j];
		if (!s->val)
			return NULL;
		const er_mra *m = &t->mra[s->val - 1];
		if (s->tag == tag && memcmp(m->country, cc, 2) == 0 && strcmp(m->program, program) == 0)
			return m;
	}
}

int er_tables_mra_recognized(const er_tables *t, const char *program,
                             const char country[2], int32_t day)
{
	if (!t || !program || !country)
		return 0;
	char cc[3];
	er_field f = { country, 2 };
	if (!country_ok(f, cc))
		return 0;
	/* program codes are stored upper-case */
	char up[64];
	size_t pl = strlen(program);
	if (pl == 0 || pl >= sizeof up)
		return 0;
	for (size_t i = 0; i <= pl; i++)
		up[i] = (program[i] >= 'a' && program[i] <= 'z') ? (char)(program[i] - 32) : program[i];
	const er_mra *m = mra_find(t, up, cc);
	if (!m || m->recognized_from == ER_DAY_NONE)
		return 0;
	return m->recognized_from <= day && day <= m->recognized_to; /* last day inclusive */
}

enum { M_PROGRAM, M_PARTNER, M_PPROGRAM, M_COUNTRY, M_SIGNED, M_FROM, M_TO, M_NOTE, M_NCOLS };
static const char *const m_cols[M_NCOLS] = {
	"program", "partner", "partner_program", "country", "signed_on", "recognized_from",
	"recognized_to", "note",
};

/* Optional date: empty -> dflt. 0 ok, -1 bad. */
static int opt_date(er_field f, int32_t dflt, int32_t *out)
{
	if (f.n == 0) {
		*out = dflt;
		return 0;
	}
	return er_parse_date(f.p, f.n, out);
}

static er_status load_mra(er_tables *t, interner *in, const char *path, char *err,
                          size_t errlen)
{
	csv_in c;
	int col[M_NCOLS];
	uint32_t *lines = NULL;
	size_t cap = 0;
	er_status st = csv_open(&c, path, 1, err, errlen);
	if (st != ER_OK)
		return st;
	st = csv_header(&c, m_cols, M_NCOLS, col, err, errlen);
	if (st != ER_OK)
		goto out;
	for (;;) {
		const er_field *fv;
		int nf;
		uint64_t line;
		int r = csv_next(&c, &fv, &nf, &line, &st, err, errlen);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		unsigned long long ln = (unsigned long long)line;
		st = ER_E_FORMAT;
		er_field f[M_NCOLS];
		for (int i = 0; i < M_NCOLS; i++)
			f[i] = fv[col[i]];
		er_mra m;
		memset(&m, 0, sizeof m);
		if (f[M_PROGRAM].n == 0) {
			er_errf(err, errlen, "%s:%llu: missing program", path, ln);
			goto out;
		}
		if (!country_ok(f[M_COUNTRY], m.country)) {
			er_errf(err, errlen, "%s:%llu: country '%.*s' is not 2 letters", path, ln,
			       VAL(f[M_COUNTRY]));
			goto out;
		}
		if (opt_date(f[M_SIGNED], ER_DAY_NONE, &m.signed_on) < 0) {
			er_errf(err, errlen, "%s:%llu: bad signed_on '%.*s' (want YYYY-MM-DD)", path, ln,
			       VAL(f[M_SIGNED]));
			goto out;
		}
		if (opt_date(f[M_FROM], ER_DAY_NONE, &m.recognized_from) < 0) {
			er_errf(err, errlen, "%s:%llu: bad recognized_from '%.*s' (want YYYY-MM-DD)", path,
			       ln, VAL(f[M_FROM]));
			goto out;
		}
		if (opt_date(f[M_TO], ER_DAY_MAX, &m.recognized_to) < 0) {
			er_errf(err, errlen, "%s:%llu: bad recognized_to '%.*s' (want YYYY-MM-DD)", path, ln,
			       VAL(f[M_TO]));
			goto out;
		}
		if (m.recognized_from != ER_DAY_NONE && m.recognized_to < m.recognized_from) {
			er_errf(err, errlen, "%s:%llu: recognized_to %.*s is before recognized_from %.*s",
			       path, ln, VAL(f[M_TO]), VAL(f[M_FROM]));
			goto out;
		}
		m.program = intern_upper(in, NULL, f[M_PROGRAM]);
		m.partner = intern(in, f[M_PARTNER].p, f[M_PARTNER].n);
		m.partner_program = intern(in, f[M_PPROGRAM].p, f[M_PPROGRAM].n);
		m.note = intern(in, f[M_NOTE].p, f[M_NOTE].n);
		if (!m.program || !m.partner || !m.partner_program || !m.note)
			goto nomem;
		for (size_t i = 0; i < t->nmra; i++) {
			if (t->mra[i].program == m.program && memcmp(t->mra[i].country, m.country, 2) == 0) {
				er_errf(err, errlen, "%s:%llu: duplicate row for program %s country %s"
				       " (first on line %u)", path, ln, m.program, m.country,
				       (unsigned)lines[i]);
				goto out;
			}
		}
		if (t->nmra == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			er_mra *nm = realloc(t->mra, ncap * sizeof *nm);
			if (!nm)
				goto nomem;
			t->mra = nm;
			uint32_t *nl = realloc(lines, ncap * sizeof *nl);
			if (!nl)
				goto nomem;
			lines = nl;
			cap = ncap;
		}
		lines[t->nmra] = line32(line);
		t->mra[t->nmra++] = m;
	}
	if (index_init(&t->by_mra, t->nmra) < 0)
		goto nomem;
	for (size_t i = 0; i < t->nmra; i++) {
		uint64_t h = mra_hash(t->mra[i].program, t->mra[i].country);
		size_t j = (size_t)h & t->by_mra.mask;
		while (t->by_mra.s[j].val)
			j = (j + 1) & t->by_mra.mask;
		t->by_mra.s[j].tag = (uint32_t)(h >> 32);
		t->by_mra.s[j].val = (uint32_t)i + 1;
	}
	st = ER_OK;
	goto out;
nomem:
	st = ER_E_NOMEM;
	er_errf(err, errlen, "%s: out of memory", path);
out:
	free(lines);
	if (st == ER_OK)
		note_source(&t->src[1], &c);
	csv_close(&c);
	return st;
}

/* ========================================================== participants */

static er_status load_participants(er_tables *t, interner *in, const char *path,
                                   char *err, size_t errlen)
{
	csv_in c;
	int col[P_NCOLS];
	prow *rows = NULL;
	size_t nrows = 0, cap = 0;
	lastv cache[4] = { { NULL, 0 } };
	er_status st = csv_open(&c, path, 1, err, errlen);
	if (st != ER_OK)
		return st;
	st = csv_header(&c, p_cols, P_NCOLS, col, err, errlen);
	if (st != ER_OK)
		goto out;
	for (;;) {
		const er_field *fv;
		int nf;
		uint64_t line;
		int r = csv_next(&c, &fv, &nf, &line, &st, err, errlen);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (nrows == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			prow *nr = realloc(rows, ncap * sizeof *nr);
			if (!nr)
				goto nomem;
			rows = nr;
			cap = ncap;
		}
		if (p_row(path, line, fv, col, in, cache, &rows[nrows], &st, err, errlen) < 0)
			goto out;
		nrows++;
	}
	if (nrows >= ROWS_MAX) {
		st = ER_E_FORMAT;
		er_errf(err, errlen, "%s: too many rows", path);
		goto out;
	}
	/* tables are usually written in id order: skip the sort when they are */
	size_t k = 1;
	while (k < nrows && prow_cmp(&rows[k - 1], &rows[k]) <= 0)
		k++;
	if (k < nrows)
		qsort(rows, nrows, sizeof *rows, prow_cmp);
	if (p_cross_check(path, rows, nrows, err, errlen) < 0) {
		st = ER_E_FORMAT;
		goto out;
	}

	/* parties and their certs */
	size_t np = 0;
	for (size_t i = 0; i < nrows; i++)
		if (i == 0 || !same_str(rows[i].id, rows[i - 1].id))
			np++;
	t->certs = calloc(nrows ? nrows : 1, sizeof *t->certs);
	t->parties = calloc(np ? np : 1, sizeof *t->parties);
	if (!t->certs || !t->parties)
		goto nomem;
	t->ncerts = nrows;
	char nbuf[1024];
	lastv last_norm = { NULL, 0 };
	for (size_t g = 0; g < nrows;) {
		size_t e = g, latest = g;
		unsigned roles = 0;
		while (e < nrows && same_str(rows[e].id, rows[g].id)) {
			const prow *r = &rows[e];
			roles |= r->role;
			er_cert *c2 = &t->certs[e];
			c2->program = r->program;
			memcpy(c2->country, r->country, 3);
			c2->status = r->status;
			c2->tier = r->tier;
			c2->is_ctpat = strcmp(r->program, "CTPAT") == 0;
			c2->valid_from = r->from;
			c2->valid_to = r->to;
			c2->line = r->line;
			if (r->from > rows[latest].from ||
			    (r->from == rows[latest].from && r->line > rows[latest].line))
				latest = e;
			e++;
		}
		er_party *p = &t->parties[t->nparties++];
		p->id = rows[g].id;
		p->name = rows[latest].name;
		char rt[64];
		p->roles = (uint8_t)roles;
		p->role = intern(in, rt, roles_text(roles, rt));
		if (!p->role)
			goto nomem;
		memcpy(p->country, rows[g].country, 3);
		p->certs = &t->certs[g];
		p->ncerts = (uint32_t)(e - g);
		size_t nl;
		char *norm = normalize_alloc(p->name, strlen(p->name), nbuf, sizeof nbuf, &nl);
		if (!norm)
			goto nomem;
		p->norm_name = copy_last(&t->ar, &last_norm, norm, nl);
		if (norm != nbuf)
			free(norm);
		if (!p->norm_name)
			goto nomem;
		g = e;
	}

	if (idindex_init(&t->by_id, t->nparties) < 0)
		goto nomem;
	for (uint32_t i = 0; i < (uint32_t)t->nparties; i++)
		id_insert(&t->by_id, t->parties, i);
	if (name_index_build(t) < 0)
		goto nomem;
	st = ER_OK;
	goto out;
nomem:
	st = ER_E_NOMEM;
	er_errf(err, errlen, "%s: out of memory", path);
out:
	free(rows);
	if (st == ER_OK)
		note_source(&t->src[0], &c);
	csv_close(&c);
	return st;
}

/* ================================================================ public */

static int empty_index(index_t *ix)
{
	return ix->s ? 0 : index_init(ix, 0);
}

er_status er_tables_load(const char *participants_path, const char *mra_path,
                         er_tables **out, char *err, size_t errlen)
{
	return er_tables_load_ex(participants_path, mra_path, NULL, out, err, errlen);
}

er_status er_tables_load_ex(const char *participants_path, const char *mra_path,
                            const volatile int *cancel, er_tables **out, char *err,
                            size_t errlen)
{
	load_cancel = cancel;
	er_status st = tables_load(participants_path, mra_path, out, err, errlen);
	load_cancel = NULL;
	return st;
}

size_t er_tables_ncerts(const er_tables *t)
{
	return t ? t->ncerts : 0;
}

static er_status tables_load(const char *participants_path, const char *mra_path,
                             er_tables **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return ER_E_USAGE;
	*out = NULL;
	er_tables *t = calloc(1, sizeof *t);
	if (!t) {
		er_errf(err, errlen, "tables: out of memory");
		return ER_E_NOMEM;
	}
	static _Atomic uint64_t serials;
	t->serial = ++serials;
	interner in = { &t->ar, NULL, 0, 0 };
	er_status st = ER_OK;
	if (participants_path)
		st = load_participants(t, &in, participants_path, err, errlen);
	if (st == ER_OK && mra_path)
		st = load_mra(t, &in, mra_path, err, errlen);
	if (st == ER_OK && ((!t->by_id.s && idindex_init(&t->by_id, 0) < 0) ||
	                    empty_index(&t->by_name_cc) < 0 ||
	                    empty_index(&t->by_name) < 0 || empty_index(&t->by_mra) < 0)) {
		st = ER_E_NOMEM;
		er_errf(err, errlen, "tables: out of memory");
	}
	interner_free(&in);
	if (st != ER_OK) {
		er_tables_free(t);
		return st;
	}
	*out = t;
	return ER_OK;
}

void er_tables_free(er_tables *t)
{
	if (!t)
		return;
	free(t->parties);
	free(t->certs);
	free(t->mra);
	free(t->by_id.s);
	free(t->by_name_cc.s);
	free(t->by_name.s);
	free(t->by_norm);
	free(t->by_mra.s);
	arena_free(&t->ar);
	free(t);
}

size_t er_tables_nparties(const er_tables *t)
{
	return t ? t->nparties : 0;
}

const er_party *er_tables_party(const er_tables *t, size_t i)
{
	return t && i < t->nparties ? &t->parties[i] : NULL;
}

size_t er_tables_nmra(const er_tables *t)
{
	return t ? t->nmra : 0;
}

const er_mra *er_tables_mra(const er_tables *t, size_t i)
{
	return t && i < t->nmra ? &t->mra[i] : NULL;
}

/* ================================================= CSV reader for others */

struct er_csv {
	csv_in c;
};

er_status er_csv_open(const char *path, er_csv **out, char *err, size_t errlen)
{
	return er_csv_open_flags(path, 0, out, err, errlen);
}

er_status er_csv_open_flags(const char *path, int flags, er_csv **out, char *err, size_t errlen)
{
	*out = NULL;
	er_csv *x = calloc(1, sizeof *x);
	if (!x) {
		er_errf(err, errlen, "%s: out of memory", path);
		return ER_E_NOMEM;
	}
	er_status st = csv_open(&x->c, path, !(flags & ER_CSV_NO_DIGEST), err, errlen);
	if (st != ER_OK) {
		free(x);
		return st;
	}
	*out = x;
	return ER_OK;
}

er_status er_csv_header(er_csv *x, const char *const *want, int nwant, int *col, char *err,
                        size_t errlen)
{
	return csv_header(&x->c, want, nwant, col, err, errlen);
}

int er_csv_next(er_csv *x, const er_field **f, int *nf, uint64_t *line, er_status *st, char *err,
                size_t errlen)
{
	return csv_next(&x->c, f, nf, line, st, err, errlen);
}

void er_csv_close(er_csv *x)
{
	if (!x)
		return;
	csv_close(&x->c);
	free(x);
}
