/*
 * er_gen.c - examrisk-gen: a fast, deterministic generator of realistic
 * inbound-shipment manifests and of the participant table they refer to.
 *
 * The shipped sample (data/sample/manifest.csv.gz, data/participants.csv)
 * was made from the repository root with:
 *
 *   build/examrisk-gen --rows 5000 --seed 20240917 --out build/sample
 *   cp build/sample/manifest.csv.gz data/sample/manifest.csv.gz
 *   cp build/sample/participants.csv data/participants.csv
 *
 * How it works
 * - A population is built single-threaded from the seed: CTPAT importers
 *   (tiers, suspensions, removals, withdrawals), CTPAT manufacturers in MX
 *   and CA (MIDs), highway/sea/rail/air carriers (SCACs), forwarders, foreign
 *   exporters in every program of the MRA table (plus CN_AEO and CR_AEO, which
 *   have no MRA), and non-participants (manufacturer_id is given only for a
 *   shipper listed with role manufacturer). Its size grows sub-linearly with
 *   --rows (about 80 * rows^0.35 participants). Each party carries a few
 *   manifest spellings of its name, all equal after name normalization.
 * - Rows come in fixed blocks of BLOCK_ROWS. Block b draws only from an RNG
 *   seeded by (seed, b), so the CSV does not depend on --threads.
 * - Workers also deflate their own block as a raw deflate segment that ends
 *   in a sync flush (or a final block at the end of a gzip member), the way
 *   pigz does. The writer concatenates the segments in order, frames them as
 *   gzip members and combines the CRCs. Member m always covers the same
 *   blocks, so --members changes the framing, never the CSV; and compression
 *   runs on all threads whatever the number of members.
 */
#define ZLIB_CONST
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "er_ams.h"
#include "er_util.h"
#include "er_gen_exams.h"

#define BLOCK_ROWS 4096u
#define MAX_ROWS 4000000000ull
#define ROW_MAX 4096 /* bytes reserved per row; real rows stay far below */

static const char g_header[] =
	"shipment_id,arrival_date,master_bill,container_id,load_type,mode,lading_port,"
	"unlading_port,origin_country,shipper_country,importer_id,importer_name,shipper_id,"
	"shipper_name,manufacturer_id,consignee_name,carrier_scac,forwarder_id,hs_code,"
	"description,declared_value_usd,gross_weight_kg,quantity,filed_at,departure_at\n";

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Errors and memory                                                    */
/* ------------------------------------------------------------------ */

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "examrisk-gen: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die("out of memory", NULL);
	return q;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		die("out of memory", NULL);
	return p;
}

/* Growable byte buffer. */
typedef struct gbuf {
	char *p;
	size_t len, cap;
} gbuf;

static void gb_reserve(gbuf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return;
	size_t nc = b->cap ? b->cap : 4096;
	while (nc - b->len < extra)
		nc *= 2;
	b->p = xrealloc(b->p, nc);
	b->cap = nc;
}

static void gb_put(gbuf *b, const void *p, size_t n)
{
	gb_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void gb_puts(gbuf *b, const char *s)
{
	gb_put(b, s, strlen(s));
}

/* String arena: pointers stay valid until arena_free(). */
typedef struct ablk {
	struct ablk *next;
	size_t used, cap;
	char data[];
} ablk;
static ablk *g_arena;

static char *arena_alloc(size_t n)
{
	if (!g_arena || g_arena->cap - g_arena->used < n) {
		size_t cap = n > (1u << 20) ? n : (1u << 20);
		ablk *b = xcalloc(1, sizeof *b + cap);
		b->cap = cap;
		b->next = g_arena;
		g_arena = b;
	}
	char *p = g_arena->data + g_arena->used;
	g_arena->used += n;
	return p;
}

static const char *arena_dup(const char *s, size_t n)
{
	char *p = arena_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void arena_free(void)
{
	while (g_arena) {
		ablk *n = g_arena->next;
		free(g_arena);
		g_arena = n;
	}
}

/* ------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64               */
/* ------------------------------------------------------------------ */

typedef struct rng {
	uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Stream `stream` of the generator for `seed`: independent of any other. */
static void rng_init(rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed;
	uint64_t a = splitmix64(&x);
	x = a ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return res;
}

/* Uniform in [0, n), n < 2^32. */
static inline uint32_t rng_below(rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline double rng_unit(rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline int rng_chance(rng *r, double p)
{
	return rng_unit(r) < p;
}

/* Skewed index in [0, n): low indices are popular (density ~ 1/sqrt(x)). */
static inline uint32_t rng_skew(rng *r, uint32_t n)
{
	double u = rng_unit(r);
	uint32_t i = (uint32_t)(u * u * n);
	return i < n ? i : n - 1;
}

/* Pick an index by integer weights. */
static int rng_weighted(rng *r, const uint16_t *w, int n)
{
	uint32_t tot = 0;
	for (int i = 0; i < n; i++)
		tot += w[i];
	uint32_t x = rng_below(r, tot);
	for (int i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

/* ------------------------------------------------------------------ */
/* Calendar                                                             */
/* ------------------------------------------------------------------ */

/* Civil dates come from the engine (er_util.h). */

/* "YYYY-MM-DD" for every day of 2000..2030, indexed from g_date_lo. */
static char (*g_dates)[10];
static int32_t g_date_lo, g_date_hi;
static int32_t D_ARR0, D_ARR1, D_END; /* arrivals 2019-01-01..2024-12-31; table snapshot 2025-01-01 */

static const char g_d2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static void dates_init(void)
{
	g_date_lo = er_days_from_civil(2000, 1, 1);
	g_date_hi = er_days_from_civil(2031, 1, 1);
	D_ARR0 = er_days_from_civil(2019, 1, 1);
	D_ARR1 = er_days_from_civil(2024, 12, 31);
	D_END = er_days_from_civil(2025, 1, 1);
	g_dates = xcalloc((size_t)(g_date_hi - g_date_lo), sizeof *g_dates);
	for (int32_t z = g_date_lo; z < g_date_hi; z++) {
		int y, m, d;
		er_civil_from_days(z, &y, &m, &d);
		char *o = g_dates[z - g_date_lo];
		o[0] = g_d2[2 * (y / 100)];
		o[1] = g_d2[2 * (y / 100) + 1];
		o[2] = g_d2[2 * (y % 100)];
		o[3] = g_d2[2 * (y % 100) + 1];
		o[4] = '-';
		o[5] = g_d2[2 * m];
		o[6] = g_d2[2 * m + 1];
		o[7] = '-';
		o[8] = g_d2[2 * d];
		o[9] = g_d2[2 * d + 1];
	}
}

static int32_t clamp_day(int32_t z)
{
	return z < g_date_lo ? g_date_lo : z >= g_date_hi ? g_date_hi - 1 : z;
}

/* ------------------------------------------------------------------ */
/* Hand-written field formatting (no printf on the row path)            */
/* ------------------------------------------------------------------ */

static inline char *put(char *w, const char *s, size_t n)
{
	memcpy(w, s, n);
	return w + n;
}

static inline char *put_u64(char *w, uint64_t v)
{
	char t[24];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*w++ = t[--n];
	return w;
}

/* Exactly `nd` digits, zero-padded. */
static inline char *put_fixed(char *w, uint64_t v, int nd)
{
	for (int i = nd - 1; i >= 0; i--) {
		w[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return w + nd;
}

static inline char *put_2d(char *w, unsigned v)
{
	w[0] = g_d2[2 * v];
	w[1] = g_d2[2 * v + 1];
	return w + 2;
}

static inline char *put_date(char *w, int32_t day)
{
	return put(w, g_dates[clamp_day(day) - g_date_lo], 10);
}

/* Timestamp styles: 0 "...T..:..:..Z", 1 "... ..:..:.." (no zone: UTC), 2 local with "+HH:MM". */
static char *put_ts(char *w, int64_t secs, int style, int tz_min)
{
	if (style == 2)
		secs += (int64_t)tz_min * 60;
	int64_t day = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	unsigned sod = (unsigned)(secs - day * 86400);
	w = put_date(w, (int32_t)day);
	*w++ = style == 1 ? ' ' : 'T';
	w = put_2d(w, sod / 3600);
	*w++ = ':';
	w = put_2d(w, sod / 60 % 60);
	*w++ = ':';
	w = put_2d(w, sod % 60);
	if (style == 0) {
		*w++ = 'Z';
	} else if (style == 2) {
		int a = tz_min < 0 ? -tz_min : tz_min;
		*w++ = tz_min < 0 ? '-' : '+';
		w = put_2d(w, (unsigned)a / 60);
		*w++ = ':';
		w = put_2d(w, (unsigned)a % 60);
	}
	return w;
}

/* A CSV field, quoted (quotes doubled) only when it needs to be. */
static char *put_csv(char *w, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != ',' && s[i] != '"' && s[i] != '\n' && s[i] != '\r')
		i++;
	if (i == n)
		return put(w, s, n);
	*w++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			*w++ = '"';
		*w++ = s[i];
	}
	*w++ = '"';
	return w;
}

/* ------------------------------------------------------------------ */
/* Hash sets (uniqueness of names and ids)                              */
/* ------------------------------------------------------------------ */

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 0xCBF29CE484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001B3ull;
	}
	return h | 1; /* 0 marks an empty slot */
}

typedef struct hset {
	uint64_t *k;
	size_t cap, n;
} hset;

/* Insert; returns 1 if new, 0 if already present. */
static int hset_add(hset *s, uint64_t h)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t oc = s->cap;
		uint64_t *ok = s->k;
		s->cap = oc ? oc * 2 : 1024;
		s->k = xcalloc(s->cap, sizeof *s->k);
		s->n = 0;
		for (size_t i = 0; i < oc; i++)
			if (ok[i])
				hset_add(s, ok[i]);
		free(ok);
	}
	size_t i = (size_t)(h * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
	while (s->k[i]) {
		if (s->k[i] == h)
			return 0;
		i = (i + 1) & (s->cap - 1);
	}
	s->k[i] = h;
	s->n++;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Legal suffixes and naming styles                                     */
/* ------------------------------------------------------------------ */

/* Every spelling of one suffix normalizes to the same tokens (er_name_normalize:
 * upper-case, "S.A." -> SA, other punctuation -> space). `drop`: the engine
 * strips it, so a manifest may also leave it out or add it. */
enum {
	SX_NONE, SX_INC, SX_LLC, SX_CORP, SX_CO, SX_COLTD, SX_LTD, SX_LIMITED, SX_GMBH, SX_AG,
	SX_SA, SX_SADECV, SX_SRLCV, SX_BV, SX_NV, SX_SRL, SX_SPA, SX_SAS, SX_SARL, SX_SL,
	SX_PLC, SX_PTELTD, SX_PVTLTD, SX_LTDA, SX_SAC, SX_KK, SX_JSC, SX_AB, SX_AS, SX_SPZOO,
	SX_SRO, SX_PTYLTD, SX_SDNBHD, NSX
};

typedef struct sfx_def {
	const char *sp[7]; /* [0] upper-case canonical, [1] mixed-case canonical, rest variants */
	uint8_t drop;
} sfx_def;

static const sfx_def g_sfx[NSX] = {
	[SX_NONE] = { { NULL }, 0 },
	[SX_INC] = { { "INC.", "Inc.", "INC", "Inc", "inc." }, 1 },
	[SX_LLC] = { { "LLC", "LLC", "L.L.C.", "L.L.C", "Llc" }, 1 },
	[SX_CORP] = { { "CORP.", "Corp.", "CORP", "Corp", "CORPORATION" }, 1 },
	[SX_CO] = { { "CO.", "Co.", "CO", "Co", "COMPANY" }, 1 },
	[SX_COLTD] = { { "CO., LTD.", "Co., Ltd.", "CO.,LTD.", "CO LTD", "CO.,LTD", "Co.,Ltd", "CO. LTD." }, 1 },
	[SX_LTD] = { { "LTD.", "Ltd.", "LTD", "Ltd", "LIMITED" }, 1 },
	[SX_LIMITED] = { { "LIMITED", "Limited", "LTD", "LTD." }, 1 },
	[SX_GMBH] = { { "GMBH", "GmbH", "G.M.B.H.", "Gmbh", "G.m.b.H." }, 1 },
	[SX_AG] = { { "AG", "AG", "A.G." }, 1 },
	[SX_SA] = { { "S.A.", "S.A.", "SA", "S.A", "S. A." }, 1 },
	[SX_SADECV] = { { "S.A. DE C.V.", "S.A. de C.V.", "SA DE CV", "S.A DE C.V", "SA de CV", "S.A. DE C.V" }, 1 },
	[SX_SRLCV] = { { "S. DE R.L. DE C.V.", "S. de R.L. de C.V.", "S DE RL DE CV", "S. DE R.L. DE C.V" }, 1 },
	[SX_BV] = { { "B.V.", "B.V.", "BV", "B.V" }, 1 },
	[SX_NV] = { { "N.V.", "N.V.", "NV" }, 1 },
	[SX_SRL] = { { "S.R.L.", "S.r.l.", "SRL", "S.R.L" }, 1 },
	[SX_SPA] = { { "S.P.A.", "S.p.A.", "SPA", "S.P.A" }, 1 },
	[SX_SAS] = { { "S.A.S.", "S.A.S.", "SAS" }, 1 },
	[SX_SARL] = { { "SARL", "SARL", "S.A.R.L." }, 1 },
	[SX_SL] = { { "S.L.", "S.L.", "SL" }, 1 },
	[SX_PLC] = { { "PLC", "Plc", "P.L.C." }, 1 },
	[SX_PTELTD] = { { "PTE. LTD.", "Pte. Ltd.", "PTE LTD", "PTE. LTD", "Pte Ltd" }, 1 },
	[SX_PVTLTD] = { { "PVT. LTD.", "Pvt. Ltd.", "PVT LTD", "PRIVATE LIMITED", "Pvt Ltd" }, 1 },
	[SX_LTDA] = { { "LTDA.", "Ltda.", "LTDA" }, 1 },
	[SX_SAC] = { { "S.A.C.", "S.A.C.", "SAC" }, 0 },
	[SX_KK] = { { "K.K.", "K.K.", "KK" }, 1 },
	[SX_JSC] = { { "JSC", "JSC", "J.S.C.", "JOINT STOCK COMPANY" }, 1 },
	[SX_AB] = { { "AB", "AB" }, 1 },
	[SX_AS] = { { "A/S", "A/S", "AS", "A.S." }, 1 },
	[SX_SPZOO] = { { "SP. Z O.O.", "Sp. z o.o.", "SP. Z O.O" }, 0 },
	[SX_SRO] = { { "S.R.O.", "s.r.o.", "SRO" }, 1 },
	[SX_PTYLTD] = { { "PTY. LTD.", "Pty. Ltd.", "PTY LTD", "Pty Ltd" }, 1 },
	[SX_SDNBHD] = { { "SDN. BHD.", "Sdn. Bhd.", "SDN BHD", "SDN.BHD." }, 1 },
};

static int sfx_nspell(int s)
{
	int n = 0;
	while (n < 7 && g_sfx[s].sp[n])
		n++;
	return n;
}

/* Syllables for made-up name stems, by language flavour. */
enum { SY_GEN, SY_JP, SY_CN, SY_KR, SY_DE, SY_ROM, SY_IN, SY_SEA, NSY };
static const char *const sy_gen[] = {
	"AL", "BRI", "CAR", "DEL", "EM", "FAR", "GAL", "HAR", "IN", "JAN", "KEL", "LAN", "MAR",
	"NOR", "OR", "PEL", "QUIN", "ROS", "STER", "TAL", "UL", "VAN", "WIN", "AR", "BEL", "COR",
	"DAR", "EL", "FEN", "GRA", "HOL", "KIR", "LIN", "MOR", "NEL", "OS", "PAR", "RAN", "SAL",
	"TOR", "VEL", "WEL", "ZAN", "BRO", "CAL", "DUN", "GLEN", "TRE", "VIN", "ASH",
};
static const char *const sy_end[] = {
	"", "", "", "ON", "EX", "IA", "ERA", "ICA", "TEC", "WAY", "LINE", "FIELD", "GATE",
	"MONT", "BURY", "STONE", "VALE", "CREST", "FORD", "WOOD",
};
static const char *const sy_jp[] = {
	"KA", "SA", "TA", "NA", "HA", "MA", "YA", "RA", "KI", "SHI", "CHI", "NI", "MI", "RI",
	"KU", "SU", "TSU", "MU", "YU", "RU", "KE", "SE", "TE", "NE", "ME", "KO", "SO", "TO",
	"NO", "HO", "MO", "YO", "RO", "DA", "GA", "ZA", "BA", "JI", "O", "E",
};
static const char *const sy_cn[] = {
	"HUA", "XIN", "DA", "MEI", "LONG", "JIA", "SHENG", "YUAN", "FENG", "TAI", "HONG",
	"KANG", "RUI", "XIANG", "BAO", "JIN", "HENG", "TIAN", "YI", "WEI", "CHENG", "DE", "FU",
	"HAO", "LI", "MING", "QIANG", "SHUN", "TONG", "XING", "YONG", "ZHONG", "AN", "BO", "CHUANG",
};
static const char *const sy_kr[] = {
	"HAN", "SUNG", "DONG", "KYUNG", "JIN", "MIN", "SEO", "YOUNG", "IL", "WOO", "HYUN",
	"SAM", "CHANG", "SAN", "JU", "HWA", "KWANG", "TAE", "BO", "SEONG", "DAE", "HEE",
};
static const char *const sy_de[] = {
	"BERG", "HAUS", "STEIN", "WALD", "FELD", "BRAND", "HOLZ", "KRAFT", "LICHT", "ROTH",
	"ALT", "NEU", "HOCH", "WEISS", "LANG", "KLEIN", "GRUEN", "EICH", "MUEHL", "BACH", "DORF",
	"BURG", "HOF", "TAL", "LIND", "SEE", "FALK", "ADLER",
};
static const char *const sy_rom[] = {
	"AL", "BEL", "CA", "DOR", "FIO", "GRA", "LU", "MAR", "MON", "NO", "OR", "PA", "RI",
	"SAN", "TE", "VAL", "VER", "ZA", "LO", "RA", "TI", "NA", "SOL", "VI", "MI", "DA", "COR",
};
static const char *const sy_rom_end[] = {
	"INO", "ETTI", "ANO", "ONI", "ERA", "IA", "ERO", "OSA", "ENTE", "ARA", "ADO", "ITA",
	"ARI", "EZ", "ALES", "ONA",
};
static const char *const sy_in[] = {
	"SHRI", "RAJ", "LAX", "MI", "GAN", "ESH", "DEV", "ARYA", "KRI", "SHNA", "VIJ", "AY",
	"SUR", "YA", "BHA", "RAT", "KAL", "PA", "NA", "MAH", "AVIR", "SAI", "OM", "TEJ", "AN",
};
static const char *const sy_sea[] = {
	"VIET", "PHU", "THANH", "MINH", "HOANG", "AN", "LONG", "PHAT", "TIN", "HUNG", "DAI",
	"NAM", "SON", "BINH", "SIAM", "SUK", "CHAI", "WAT", "SIRI", "KIT", "ROEN", "JAYA", "MAJU",
};

#define WL(a) { a, NELEM(a) }
typedef struct wlist {
	const char *const *w;
	size_t n;
} wlist;

static const char *const w_us[] = {
	"TRADING", "IMPORTS", "SUPPLY", "DISTRIBUTORS", "BRANDS", "HOME", "OUTDOOR", "INDUSTRIES",
	"PRODUCTS", "APPAREL", "FOODS", "ELECTRONICS", "HARDWARE", "AUTOMOTIVE", "TOOLS",
	"WHOLESALE", "GLOBAL", "RETAIL GROUP", "FURNISHINGS", "SPORTS", "TEXTILES", "MERCHANDISE",
	"LIGHTING", "PET SUPPLY", "BEVERAGE", "MEDICAL", "PACKAGING", "FOOTWEAR", "GARDEN",
};
static const char *const w_cn[] = {
	"TRADING", "IMPORT & EXPORT", "INDUSTRIAL", "MANUFACTURING", "TEXTILE",
	"ELECTRONIC TECHNOLOGY", "HOUSEWARE", "LIGHTING", "FURNITURE", "MACHINERY",
	"PLASTIC PRODUCTS", "GARMENT", "TECHNOLOGY", "HARDWARE TOOLS", "CERAMICS", "METAL PRODUCTS",
};
static const char *const w_jp[] = {
	"SEIKI", "KOGYO", "SHOJI", "DENKI", "SANGYO", "BUSSAN", "PRECISION", "ELECTRIC",
	"CHEMICAL", "MACHINERY",
};
static const char *const w_kr[] = {
	"INDUSTRIAL", "TECH", "CHEMICAL", "ELECTRONICS", "MOTORS", "TRADING", "STEEL", "PRECISION",
};
static const char *const w_tw[] = {
	"ENTERPRISE", "INDUSTRIAL", "PRECISION", "ELECTRONICS", "PLASTICS", "TECHNOLOGY", "MACHINERY",
};
static const char *const w_sea[] = {
	"TRADING", "MANUFACTURING", "GARMENT", "FURNITURE", "SEAFOOD", "RUBBER", "INDUSTRIES",
	"ELECTRONICS", "WOOD PRODUCTS",
};
static const char *const w_in[] = {
	"EXPORTS", "TEXTILES", "OVERSEAS", "INDUSTRIES", "PHARMA", "ENGINEERING", "HANDICRAFTS",
};
static const char *const w_de[] = {
	"HANDEL", "TECHNIK", "MASCHINENBAU", "WERKZEUGE", "ELEKTRO", "KUNSTSTOFFE", "ANTRIEBE",
	"METALLWERK", "OPTIK",
};
static const char *const w_nl[] = { "TRADING", "HOLLAND", "INTERNATIONAL", "FOODS", "TECHNIEK", "EXPORT" };
static const char *const w_fr[] = { "INDUSTRIES", "DISTRIBUTION", "EQUIPEMENTS", "COSMETIQUES", "VINS", "MECANIQUE" };
static const char *const w_it[] = { "MECCANICA", "ALIMENTARI", "CERAMICHE", "TESSILE", "ARREDAMENTI", "COMPONENTI" };
static const char *const w_es[] = { "ALIMENTACION", "INDUSTRIAL", "CERAMICA", "EXPORT", "COMERCIAL" };
static const char *const w_gb[] = {
	"TRADING", "ENGINEERING", "INTERNATIONAL", "SUPPLIES", "PRODUCTS", "GROUP", "TEXTILES",
};
static const char *const w_latam[] = {
	"INDUSTRIAS", "COMERCIALIZADORA", "MANUFACTURAS", "AUTOPARTES", "AGRICOLA",
	"DISTRIBUIDORA", "PRODUCTOS", "EXPORTADORA",
};
static const char *const w_ca[] = {
	"MANUFACTURING", "INDUSTRIES", "FOREST PRODUCTS", "PLASTICS", "FOODS", "METALS", "AUTOMOTIVE",
};
static const char *const w_gen[] = { "TRADING", "INDUSTRIES", "EXPORTS", "INTERNATIONAL", "GROUP", "MANUFACTURING" };
static const char *const w_truck[] = {
	"TRUCKING", "TRANSPORT", "FREIGHT LINES", "EXPRESS", "CARRIERS", "HAULING", "LOGISTICS",
};
static const char *const w_truck_mx[] = { "TRANSPORTES", "AUTOTRANSPORTES", "FLETES" };
static const char *const w_sea_c[] = { "LINES", "SHIPPING", "CONTAINER LINE", "MARITIME", "NAVIGATION" };
static const char *const w_air_c[] = { "AIRLINES", "AIR CARGO", "AIRWAYS" };
static const char *const w_rail_c[] = { "RAILWAY", "RAILROAD", "RAIL" };
static const char *const w_fwd[] = {
	"LOGISTICS", "FREIGHT", "FORWARDING", "WORLDWIDE", "SHIPPING", "CONSOLIDATORS", "CARGO",
};

enum { WS_US, WS_CN, WS_JP, WS_KR, WS_TW, WS_SEA, WS_IN, WS_DE, WS_NL, WS_FR, WS_IT, WS_ES,
       WS_GB, WS_LATAM, WS_CA, WS_GEN, WS_TRUCK, WS_TRUCK_MX, WS_SEA_C, WS_AIR_C, WS_RAIL_C,
       WS_FWD, NWS };
static const wlist g_words[NWS] = {
	WL(w_us), WL(w_cn), WL(w_jp), WL(w_kr), WL(w_tw), WL(w_sea), WL(w_in), WL(w_de), WL(w_nl),
	WL(w_fr), WL(w_it), WL(w_es), WL(w_gb), WL(w_latam), WL(w_ca), WL(w_gen), WL(w_truck),
	WL(w_truck_mx), WL(w_sea_c), WL(w_air_c), WL(w_rail_c), WL(w_fwd),
};

enum { STY_US, STY_CN, STY_HK, STY_JP, STY_KR, STY_TW, STY_SEA, STY_SG, STY_MY, STY_IN,
       STY_DE, STY_NL, STY_FR, STY_IT, STY_ES, STY_GB, STY_NORD, STY_PL, STY_CZ, STY_MX,
       STY_CA, STY_BR, STY_CO, STY_PE, STY_LATAM, STY_AU, STY_TR, STY_GEN, NSTY };

typedef struct style {
	uint8_t sfx[5];
	uint16_t w[5];
	uint8_t syl, words;
	uint8_t city_pct;      /* name starts with the city ("NINGBO ...") */
	uint8_t word_first_pct; /* industry word before the stem ("INDUSTRIAS ...") */
} style;

static const style g_styles[NSTY] = {
	[STY_US] = { { SX_INC, SX_LLC, SX_CORP, SX_CO, SX_NONE }, { 38, 32, 12, 6, 12 }, SY_GEN, WS_US, 0, 0 },
	[STY_CN] = { { SX_COLTD, SX_LTD, SX_CORP, SX_NONE }, { 85, 5, 5, 5 }, SY_CN, WS_CN, 65, 0 },
	[STY_HK] = { { SX_LIMITED, SX_LTD, SX_COLTD }, { 55, 35, 10 }, SY_CN, WS_CN, 0, 0 },
	[STY_JP] = { { SX_COLTD, SX_CORP, SX_KK, SX_INC, SX_NONE }, { 55, 25, 5, 5, 10 }, SY_JP, WS_JP, 0, 0 },
	[STY_KR] = { { SX_COLTD, SX_CORP, SX_INC, SX_NONE }, { 65, 10, 15, 10 }, SY_KR, WS_KR, 0, 0 },
	[STY_TW] = { { SX_COLTD, SX_CORP, SX_LTD, SX_NONE }, { 65, 20, 5, 10 }, SY_CN, WS_TW, 0, 0 },
	[STY_SEA] = { { SX_COLTD, SX_JSC, SX_LTD, SX_NONE }, { 60, 15, 10, 15 }, SY_SEA, WS_SEA, 0, 0 },
	[STY_SG] = { { SX_PTELTD, SX_LTD, SX_NONE }, { 85, 10, 5 }, SY_GEN, WS_SEA, 0, 0 },
	[STY_MY] = { { SX_SDNBHD, SX_NONE }, { 90, 10 }, SY_SEA, WS_SEA, 0, 0 },
	[STY_IN] = { { SX_PVTLTD, SX_LIMITED, SX_NONE }, { 65, 20, 15 }, SY_IN, WS_IN, 0, 0 },
	[STY_DE] = { { SX_GMBH, SX_AG, SX_NONE }, { 75, 15, 10 }, SY_DE, WS_DE, 0, 0 },
	[STY_NL] = { { SX_BV, SX_NV, SX_NONE }, { 80, 10, 10 }, SY_GEN, WS_NL, 0, 0 },
	[STY_FR] = { { SX_SAS, SX_SA, SX_SARL, SX_NONE }, { 50, 25, 20, 5 }, SY_ROM, WS_FR, 0, 30 },
	[STY_IT] = { { SX_SRL, SX_SPA, SX_NONE }, { 55, 35, 10 }, SY_ROM, WS_IT, 0, 20 },
	[STY_ES] = { { SX_SL, SX_SA, SX_NONE }, { 55, 40, 5 }, SY_ROM, WS_ES, 0, 40 },
	[STY_GB] = { { SX_LTD, SX_LIMITED, SX_PLC, SX_NONE }, { 60, 25, 10, 5 }, SY_GEN, WS_GB, 0, 0 },
	[STY_NORD] = { { SX_AB, SX_AS, SX_NONE }, { 50, 40, 10 }, SY_GEN, WS_GEN, 0, 0 },
	[STY_PL] = { { SX_SPZOO, SX_SA, SX_NONE }, { 70, 25, 5 }, SY_GEN, WS_GEN, 0, 0 },
	[STY_CZ] = { { SX_SRO, SX_AS, SX_NONE }, { 80, 15, 5 }, SY_GEN, WS_GEN, 0, 0 },
	[STY_MX] = { { SX_SADECV, SX_SRLCV, SX_SA, SX_NONE }, { 65, 25, 5, 5 }, SY_ROM, WS_LATAM, 0, 55 },
	[STY_CA] = { { SX_INC, SX_LTD, SX_CORP, SX_NONE }, { 50, 30, 10, 10 }, SY_GEN, WS_CA, 0, 0 },
	[STY_BR] = { { SX_LTDA, SX_SA, SX_NONE }, { 60, 30, 10 }, SY_ROM, WS_LATAM, 0, 40 },
	[STY_CO] = { { SX_SAS, SX_SA, SX_NONE }, { 65, 25, 10 }, SY_ROM, WS_LATAM, 0, 50 },
	[STY_PE] = { { SX_SAC, SX_SA, SX_NONE }, { 60, 30, 10 }, SY_ROM, WS_LATAM, 0, 50 },
	[STY_LATAM] = { { SX_SA, SX_SRL, SX_NONE }, { 70, 10, 20 }, SY_ROM, WS_LATAM, 0, 50 },
	[STY_AU] = { { SX_PTYLTD, SX_LTD, SX_NONE }, { 80, 10, 10 }, SY_GEN, WS_GB, 0, 0 },
	[STY_TR] = { { SX_AS, SX_LTD, SX_NONE }, { 55, 35, 10 }, SY_GEN, WS_GEN, 0, 0 },
	[STY_GEN] = { { SX_LTD, SX_CO, SX_NONE }, { 40, 20, 40 }, SY_GEN, WS_GEN, 0, 0 },
};

/* ------------------------------------------------------------------ */
/* Countries                                                            */
/* ------------------------------------------------------------------ */

enum { RG_EASIA, RG_SEASIA, RG_SASIA, RG_EU, RG_ME, RG_NA, RG_LATAM, RG_OCE, RG_AF, NRG };

typedef struct country {
	char cc[3];
	uint8_t region, style;
	int16_t tz;        /* minutes east of UTC, for local timestamps */
	float unk_w;       /* weight among non-participant overseas shippers */
	float aeo_w;       /* weight of its exporters within a foreign program */
	const char *ports; /* vessel UN/LOCODEs, space-separated */
	const char *air;   /* airports */
	const char *cities; /* '|'-separated, for MIDs and name prefixes */
} country;

static const country g_countries[] = {
	{ "CN", RG_EASIA, STY_CN, 480, 40, 20, "CNSHA CNNGB CNYTN CNSHK CNTAO CNXMN CNTXG CNDLC", "CNPVG CNCAN CNSZX CNPEK", "SHANGHAI|NINGBO|SHENZHEN|QINGDAO|XIAMEN|GUANGZHOU|DONGGUAN|YIWU|SUZHOU|FOSHAN" },
	{ "HK", RG_EASIA, STY_HK, 480, 3, 0, "HKHKG", "HKHKG", "HONG KONG|KOWLOON|KWUN TONG" },
	{ "JP", RG_EASIA, STY_JP, 540, 2, 8, "JPTYO JPYOK JPNGO JPUKB JPOSA", "JPNRT JPKIX", "TOKYO|YOKOHAMA|NAGOYA|OSAKA|KOBE|HAMAMATSU" },
	{ "KR", RG_EASIA, STY_KR, 540, 2, 7, "KRPUS KRINC KRKAN", "KRICN", "SEOUL|BUSAN|INCHEON|ULSAN|CHANGWON" },
	{ "TW", RG_EASIA, STY_TW, 480, 2, 6, "TWKHH TWKEL TWTXG", "TWTPE", "TAIPEI|KAOHSIUNG|TAICHUNG|TAINAN" },
	{ "VN", RG_SEASIA, STY_SEA, 420, 8, 0, "VNSGN VNHPH VNCMT", "VNSGN VNHAN", "HO CHI MINH|HAIPHONG|BINH DUONG|DA NANG" },
	{ "TH", RG_SEASIA, STY_SEA, 420, 3, 0, "THLCH THBKK", "THBKK", "BANGKOK|CHONBURI|RAYONG" },
	{ "ID", RG_SEASIA, STY_SEA, 420, 3, 0, "IDTPP IDSUB", "IDCGK", "JAKARTA|SURABAYA|BEKASI" },
	{ "MY", RG_SEASIA, STY_MY, 480, 2, 0, "MYPKG MYTPP", "MYKUL", "KUALA LUMPUR|PENANG|JOHOR BAHRU" },
	{ "SG", RG_SEASIA, STY_SG, 480, 1, 2, "SGSIN", "SGSIN", "SINGAPORE" },
	{ "PH", RG_SEASIA, STY_SEA, 480, 1, 0, "PHMNL", "PHMNL", "MANILA|CEBU" },
	{ "KH", RG_SEASIA, STY_SEA, 420, 1, 0, "KHKOS", "KHPNH", "PHNOM PENH|SIHANOUKVILLE" },
	{ "IN", RG_SASIA, STY_IN, 330, 6, 4, "INNSA INMUN INMAA", "INDEL INBOM", "MUMBAI|CHENNAI|DELHI|TIRUPUR|AHMEDABAD|PUNE" },
	{ "BD", RG_SASIA, STY_IN, 360, 2, 0, "BDCGP", "BDDAC", "DHAKA|CHITTAGONG" },
	{ "PK", RG_SASIA, STY_IN, 300, 1, 0, "PKKHI", "PKKHI", "KARACHI|LAHORE|SIALKOT" },
	{ "LK", RG_SASIA, STY_IN, 330, 0.5f, 0, "LKCMB", "LKCMB", "COLOMBO" },
	{ "DE", RG_EU, STY_DE, 60, 2, 9, "DEHAM DEBRV", "DEFRA DEMUC", "HAMBURG|STUTTGART|MUNICH|COLOGNE|BREMEN|DORTMUND" },
	{ "NL", RG_EU, STY_NL, 60, 0.5f, 3, "NLRTM", "NLAMS", "ROTTERDAM|EINDHOVEN|UTRECHT|VENLO" },
	{ "BE", RG_EU, STY_NL, 60, 0.5f, 2, "BEANR", "BEBRU", "ANTWERP|GHENT|LIEGE" },
	{ "FR", RG_EU, STY_FR, 60, 1, 3, "FRLEH FRFOS", "FRCDG", "PARIS|LYON|LILLE|BORDEAUX|TOULOUSE" },
	{ "IT", RG_EU, STY_IT, 60, 2, 5, "ITGOA ITSPE ITLIV", "ITMXP", "MILAN|TURIN|BOLOGNA|VERONA|NAPLES|PRATO" },
	{ "ES", RG_EU, STY_ES, 60, 1, 2, "ESVLC ESALG ESBCN", "ESMAD", "VALENCIA|BARCELONA|MADRID|BILBAO" },
	{ "PT", RG_EU, STY_ES, 0, 0.5f, 1, "PTLIS PTLEI", "PTLIS", "LISBON|PORTO|BRAGA" },
	{ "IE", RG_EU, STY_GB, 0, 0.3f, 1, "IEDUB IEORK", "IEDUB", "DUBLIN|CORK|GALWAY" },
	{ "AT", RG_EU, STY_DE, 60, 0.3f, 1, "DEHAM ITTRS", "ATVIE", "VIENNA|LINZ|GRAZ" },
	{ "PL", RG_EU, STY_PL, 60, 1, 1, "PLGDN PLGDY", "PLWAW", "WARSAW|GDANSK|POZNAN|LODZ" },
	{ "SE", RG_EU, STY_NORD, 60, 0.3f, 1, "SEGOT", "SEARN", "GOTHENBURG|STOCKHOLM|MALMO" },
	{ "DK", RG_EU, STY_NORD, 60, 0.3f, 0.8f, "DKAAR", "DKCPH", "AARHUS|COPENHAGEN|ODENSE" },
	{ "FI", RG_EU, STY_NORD, 120, 0.2f, 0.5f, "FIHEL FIKTK", "FIHEL", "HELSINKI|TAMPERE|TURKU" },
	{ "CZ", RG_EU, STY_CZ, 60, 0.3f, 0.7f, "DEHAM", "CZPRG", "PRAGUE|BRNO|OSTRAVA" },
	{ "HU", RG_EU, STY_GEN, 60, 0.3f, 0.5f, "SIKOP DEHAM", "HUBUD", "BUDAPEST|DEBRECEN|GYOR" },
	{ "SK", RG_EU, STY_CZ, 60, 0.2f, 0.3f, "DEHAM", "SKBTS", "BRATISLAVA|KOSICE" },
	{ "SI", RG_EU, STY_GEN, 60, 0.1f, 0.3f, "SIKOP", "SILJU", "LJUBLJANA|MARIBOR" },
	{ "HR", RG_EU, STY_GEN, 60, 0.1f, 0.2f, "HRRJK", "HRZAG", "ZAGREB|RIJEKA|SPLIT" },
	{ "RO", RG_EU, STY_GEN, 120, 0.2f, 0.3f, "ROCND", "ROOTP", "BUCHAREST|CLUJ|TIMISOARA" },
	{ "BG", RG_EU, STY_GEN, 120, 0.1f, 0.2f, "BGVAR", "BGSOF", "SOFIA|PLOVDIV|VARNA" },
	{ "GR", RG_EU, STY_GEN, 120, 0.2f, 0.3f, "GRPIR GRSKG", "GRATH", "ATHENS|PIRAEUS|THESSALONIKI" },
	{ "CY", RG_EU, STY_GEN, 120, 0.05f, 0.1f, "CYLMS", "CYLCA", "LIMASSOL|NICOSIA" },
	{ "MT", RG_EU, STY_GB, 60, 0.05f, 0.1f, "MTMAR", "MTMLA", "VALLETTA|MARSAXLOKK" },
	{ "EE", RG_EU, STY_GEN, 120, 0.05f, 0.2f, "EETLL", "EETLL", "TALLINN|TARTU" },
	{ "LV", RG_EU, STY_GEN, 120, 0.05f, 0.2f, "LVRIX", "LVRIX", "RIGA|LIEPAJA" },
	{ "LT", RG_EU, STY_GEN, 120, 0.05f, 0.2f, "LTKLJ", "LTVNO", "VILNIUS|KLAIPEDA|KAUNAS" },
	{ "LU", RG_EU, STY_GEN, 60, 0.05f, 0.2f, "BEANR", "LULUX", "LUXEMBOURG|ESCH" },
	{ "GB", RG_EU, STY_GB, 0, 1, 4, "GBFXT GBSOU GBLGP", "GBLHR", "LONDON|BIRMINGHAM|MANCHESTER|LEEDS|GLASGOW" },
	{ "CH", RG_EU, STY_DE, 60, 0.5f, 0, "DEHAM NLRTM", "CHZRH", "ZURICH|BASEL|GENEVA" },
	{ "NO", RG_EU, STY_NORD, 60, 0.2f, 0, "NOOSL", "NOOSL", "OSLO|BERGEN" },
	{ "TR", RG_EU, STY_TR, 180, 2, 0, "TRMER TRAMR TRIST", "TRIST", "ISTANBUL|IZMIR|BURSA|GAZIANTEP" },
	{ "IL", RG_ME, STY_GB, 120, 1, 2, "ILHFA ILASH", "ILTLV", "HAIFA|TEL AVIV|ASHDOD|PETAH TIKVA" },
	{ "JO", RG_ME, STY_GEN, 180, 0.3f, 0.5f, "JOAQJ", "JOAMM", "AMMAN|IRBID|AQABA" },
	{ "EG", RG_ME, STY_GEN, 120, 0.5f, 0, "EGALY", "EGCAI", "ALEXANDRIA|CAIRO" },
	{ "AE", RG_ME, STY_GEN, 240, 1, 0, "AEJEA", "AEDXB", "DUBAI|SHARJAH" },
	{ "MX", RG_NA, STY_MX, -360, 0, 4, "MXZLO MXLZC MXVER MXATM", "MXMEX MXGDL", "MONTERREY|GUADALAJARA|TIJUANA|CIUDAD JUAREZ|QUERETARO|SALTILLO|PUEBLA|LEON" },
	{ "CA", RG_NA, STY_CA, -300, 0, 2, "CAVAN CAMTR CAHAL CAPRR", "CAYYZ CAYUL", "TORONTO|MONTREAL|VANCOUVER|CALGARY|WINNIPEG|HAMILTON" },
	{ "BR", RG_LATAM, STY_BR, -180, 1, 2, "BRSSZ BRPNG BRRIG", "BRGRU BRVCP", "SAO PAULO|CURITIBA|SANTOS|PORTO ALEGRE|CAMPINAS" },
	{ "CO", RG_LATAM, STY_CO, -300, 1, 1, "COCTG COBUN", "COBOG", "BOGOTA|MEDELLIN|CALI|BARRANQUILLA" },
	{ "PE", RG_LATAM, STY_PE, -300, 0.5f, 0.7f, "PECLL PEPAI", "PELIM", "LIMA|AREQUIPA|PIURA" },
	{ "GT", RG_LATAM, STY_LATAM, -360, 0.5f, 0.5f, "GTSTC GTPRQ", "GTGUA", "GUATEMALA|ESCUINTLA|MIXCO" },
	{ "UY", RG_LATAM, STY_LATAM, -180, 0.3f, 0.3f, "UYMVD", "UYMVD", "MONTEVIDEO|CANELONES" },
	{ "DO", RG_LATAM, STY_LATAM, -240, 0.5f, 0.5f, "DOCAU DOHAI", "DOSDQ", "SANTO DOMINGO|SANTIAGO|LA ROMANA" },
	{ "CR", RG_LATAM, STY_LATAM, -360, 0.5f, 1, "CRMOB CRCAL", "CRSJO", "SAN JOSE|ALAJUELA|HEREDIA|CARTAGO" },
	{ "CL", RG_LATAM, STY_LATAM, -240, 0.5f, 0, "CLSAI CLVAP", "CLSCL", "SANTIAGO|VALPARAISO" },
	{ "EC", RG_LATAM, STY_LATAM, -300, 0.5f, 0, "ECGYE", "ECUIO", "GUAYAQUIL|QUITO" },
	{ "HN", RG_LATAM, STY_LATAM, -360, 0.4f, 0, "HNPCR", "HNSAP", "SAN PEDRO SULA|PUERTO CORTES" },
	{ "SV", RG_LATAM, STY_LATAM, -360, 0.3f, 0, "SVAQJ", "SVSAL", "SAN SALVADOR|SANTA ANA" },
	{ "NZ", RG_OCE, STY_GB, 720, 0.3f, 1, "NZAKL NZTRG", "NZAKL", "AUCKLAND|TAURANGA|CHRISTCHURCH" },
	{ "AU", RG_OCE, STY_AU, 600, 0.6f, 0, "AUSYD AUMEL", "AUSYD", "SYDNEY|MELBOURNE|BRISBANE" },
	{ "ZA", RG_AF, STY_AU, 120, 0.4f, 0, "ZADUR", "ZAJNB", "DURBAN|JOHANNESBURG|CAPE TOWN" },
	{ "US", RG_NA, STY_US, -300, 0, 0, "USNYC", "USJFK", "NEW YORK|CHICAGO|LOS ANGELES|HOUSTON|ATLANTA|DALLAS|NEWARK|MIAMI|SEATTLE" },
};
#define NCOUNTRIES NELEM(g_countries)

/* A country code that appears in the MRA table but not above. */
static country g_fallback_country = { "ZZ", RG_EU, STY_GEN, 60, 0.1f, 0.3f, "NLRTM", "NLAMS", "CAPITAL" };

static const country *country_find(const char *cc)
{
	for (size_t i = 0; i < NCOUNTRIES; i++)
		if (g_countries[i].cc[0] == cc[0] && g_countries[i].cc[1] == cc[1])
			return &g_countries[i];
	return NULL;
}

/* Number of codes in a list of 5-character codes "AAAAA BBBBB ...". */
static size_t code_count(const char *list)
{
	return (strlen(list) + 1) / 6;
}

/* Transit days by region of lading (vessel), and the share that lands on the US west coast. */
static const struct {
	uint8_t lo, hi;
	uint8_t west_pct;
} g_transit[NRG] = {
	[RG_EASIA] = { 13, 30, 70 }, [RG_SEASIA] = { 17, 35, 60 }, [RG_SASIA] = { 24, 40, 15 },
	[RG_EU] = { 9, 20, 5 },      [RG_ME] = { 18, 28, 10 },     [RG_NA] = { 3, 9, 40 },
	[RG_LATAM] = { 4, 15, 15 },  [RG_OCE] = { 16, 26, 80 },    [RG_AF] = { 18, 30, 10 },
};

/* US ports of unlading (CBP Schedule D codes) with weights. */
typedef struct wcode {
	const char *code;
	uint16_t w;
} wcode;
static const wcode g_us_west[] = {
	{ "2704", 30 }, { "2709", 28 }, { "2811", 9 }, { "3001", 8 }, { "3002", 8 }, { "2713", 2 },
};
static const wcode g_us_east[] = {
	{ "4601", 28 }, { "1703", 18 }, { "5301", 12 }, { "1401", 10 }, { "1601", 9 }, { "1303", 5 },
	{ "5203", 4 },  { "1803", 3 },  { "2002", 3 },  { "5201", 2 },  { "0401", 2 },
};
static const wcode g_us_air[] = {
	{ "4701", 24 }, { "2720", 20 }, { "3901", 18 }, { "5206", 12 }, { "1704", 8 }, { "2801", 8 },
	{ "5309", 6 },  { "4102", 4 },
};
static const wcode g_us_land_mx[] = {
	{ "2304", 40 }, { "2402", 15 }, { "2506", 12 }, { "2305", 14 }, { "2604", 8 }, { "2301", 6 },
	{ "2303", 5 },
};
static const wcode g_us_land_ca[] = {
	{ "3801", 34 }, { "0901", 24 }, { "3004", 10 }, { "0712", 10 }, { "3802", 16 }, { "3401", 6 },
};
static const char g_mx_border[] = "MXNLD MXCJS MXTIJ MXREX MXNOG MXMAM";
static const char g_ca_border[] = "CAWND CAFTE CASAR CALAC CATOR";

static const char *pick_wcode(rng *r, const wcode *t, size_t n)
{
	uint32_t tot = 0;
	for (size_t i = 0; i < n; i++)
		tot += t[i].w;
	uint32_t x = rng_below(r, tot);
	for (size_t i = 0; i < n; i++) {
		if (x < t[i].w)
			return t[i].code;
		x -= t[i].w;
	}
	return t[n - 1].code;
}

/* The first code of a list is the busiest port. */
static const char *pick_code(rng *r, const char *list)
{
	return list + 6 * rng_skew(r, (uint32_t)code_count(list));
}

/* ------------------------------------------------------------------ */
/* Cargo vocabulary                                                     */
/* ------------------------------------------------------------------ */

enum { RA = 1, RE = 2, RL = 4, RANY = 7 };
typedef struct item {
	const char *text;
	const char *hs; /* 10-digit HTS */
	uint8_t reg;
	float val, kg; /* per unit */
} item;

static const item g_items[] = {
	{ "LED LIGHT BULBS, A19, 9W", "8539520040", RA, 1.2f, 0.06f },
	{ "LITHIUM-ION BATTERY PACKS", "8507600020", RA, 35, 0.9f },
	{ "LAPTOP COMPUTERS", "8471300100", RA, 420, 2.5f },
	{ "SMARTPHONE CASES, TPU", "3926909910", RA, 0.8f, 0.03f },
	{ "USB-C CHARGING CABLES, 1M", "8544429090", RA, 1.1f, 0.04f },
	{ "WOMEN'S COTTON KNIT BLOUSES", "6106100010", RA, 4.5f, 0.2f },
	{ "MEN'S DENIM JEANS, 98% COTTON 2% SPANDEX", "6203424011", RA | RL, 7, 0.6f },
	{ "CHILDREN'S PLASTIC TOYS", "9503000073", RA, 2, 0.3f },
	{ "STAINLESS STEEL COOKWARE SET, 10 PCS", "7323930080", RA | RE, 25, 5 },
	{ "CERAMIC DINNERWARE, 16-PIECE SET", "6912004810", RA, 14, 6 },
	{ "WOODEN BEDROOM FURNITURE, KD", "9403500080", RA, 120, 40 },
	{ "OFFICE CHAIRS, SWIVEL, WITH CASTERS", "9401310010", RA, 35, 12 },
	{ "POLYESTER FLEECE BLANKETS", "6301400020", RA, 3.5f, 0.8f },
	{ "BICYCLE DERAILLEURS AND BRAKE LEVERS", "8714994000", RA, 4, 0.3f },
	{ "SOLAR PANELS, MONOCRYSTALLINE 400W", "8541430010", RA, 110, 22 },
	{ "ELECTRIC SCOOTERS", "8711600050", RA, 180, 15 },
	{ "VINYL FLOOR TILES", "3918101000", RA, 9, 20 },
	{ "FROZEN SHRIMP, PEELED & DEVEINED, 21/25", "0306170040", RA | RL, 7, 1 },
	{ "CANNED TUNA IN OIL", "1604141010", RA, 1.5f, 0.2f },
	{ "SNEAKERS, RUBBER SOLE, TEXTILE UPPER", "6404199060", RA, 9, 0.8f },
	{ "GARDEN HOSE 50FT, PVC", "3917390050", RA, 6, 2 },
	{ "WRENCH SETS, CHROME VANADIUM", "8204110000", RA, 8, 1.5f },
	{ "CORDLESS DRILLS, 20V", "8467210010", RA, 28, 2 },
	{ "CHRISTMAS ORNAMENTS, GLASS", "9505104010", RA | RE, 0.9f, 0.05f },
	{ "PET BEDS, POLYESTER", "6307909891", RA, 6, 1 },
	{ "YOGA MATS, TPE", "9506910030", RA, 4, 1 },
	{ "PAPER NAPKINS", "4818300000", RA | RL, 0.5f, 0.3f },
	{ "COTTON BATH TOWELS", "6302600020", RA, 2.5f, 0.5f },
	{ "RICE COOKERS, ELECTRIC", "8516604000", RA, 15, 3 },
	{ "BRAKE PADS, CERAMIC", "8708301050", RA | RL, 6, 1 },
	{ "PRINTED CIRCUIT ASSEMBLIES", "8473301180", RA, 18, 0.2f },
	{ "INTEGRATED CIRCUITS, PROCESSORS", "8542310001", RA, 2, 0.01f },
	{ "WIRING HARNESSES FOR MOTOR VEHICLES", "8544300000", RA | RL, 12, 1 },
	{ "12\" SUBWOOFER SPEAKERS", "8518220000", RA, 40, 6 },
	{ "55\" LCD TELEVISIONS", "8528726400", RA | RL, 260, 16 },
	{ "STEEL PIPE 2\" DIA, GALVANIZED", "7306304000", RA | RE, 25, 30 },
	{ "BAMBOO CUTTING BOARDS", "4419909100", RA, 3, 0.8f },
	{ "SILK SCARVES, 100% MULBERRY SILK", "6214100000", RA | RE, 6, 0.05f },
	{ "GREEN TEA, IN BULK", "0902200000", RA, 4, 1 },
	{ "SOY SAUCE", "2103100000", RA, 1.2f, 1 },
	{ "INSTANT NOODLES", "1902301000", RA, 0.4f, 0.1f },
	{ "RADIAL TIRES FOR PASSENGER CARS, 17\"", "4011101010", RA | RE, 55, 10 },
	{ "MOTORCYCLE HELMETS", "6506106030", RA | RE, 25, 1.5f },
	{ "SEWING MACHINES, HOUSEHOLD", "8452100010", RA, 70, 8 },
	{ "CAMERA LENSES", "9002114000", RA | RE, 220, 0.7f },
	{ "ROBOT VACUUM CLEANERS", "8508110000", RA, 90, 4 },
	{ "POLYESTER FILAMENT YARN", "5402330000", RA, 2, 1 },
	{ "ALUMINUM EXTRUSIONS", "7604291000", RANY, 3.5f, 1 },
	{ "PLASTIC RESIN, POLYPROPYLENE PELLETS", "3902100000", RANY, 1.1f, 1 },
	{ "RED WINE, 750ML BOTTLES", "2204215000", RE | RL, 6, 1.3f },
	{ "OLIVE OIL, EXTRA VIRGIN, 1L", "1509204000", RE, 7, 1 },
	{ "PARMESAN CHEESE WHEELS", "0406904200", RE, 12, 1 },
	{ "PASTA, DRY, DURUM WHEAT", "1902192000", RE, 1.2f, 0.5f },
	{ "HYDRAULIC VALVES", "8481200040", RE | RA, 45, 2 },
	{ "CNC MILLING MACHINES", "8459610090", RE | RA, 85000, 4000 },
	{ "PHARMACEUTICALS, TABLETS IN BLISTERS", "3004909290", RE | RA, 30, 0.2f },
	{ "SKIN CREAM, 50ML JARS", "3304990000", RE | RA, 8, 0.1f },
	{ "PERFUMES, EAU DE PARFUM", "3303003000", RE, 28, 0.3f },
	{ "GEARBOXES FOR MOTOR VEHICLES", "8708404000", RE | RA | RL, 650, 45 },
	{ "BALL BEARINGS", "8482100040", RE | RA, 3, 0.4f },
	{ "PORCELAIN FLOOR TILES", "6907211000", RE | RA, 12, 22 },
	{ "LADIES' LEATHER HANDBAGS", "4202213000", RE, 85, 1 },
	{ "CHOCOLATE CONFECTIONERY", "1806900190", RE, 4, 0.5f },
	{ "BEER, LAGER, IN CANS", "2203000060", RE | RL, 1.1f, 0.4f },
	{ "SPARKLING MINERAL WATER", "2201100000", RE, 0.4f, 1 },
	{ "CENTRIFUGAL PUMPS, INDUSTRIAL", "8413706000", RE, 950, 60 },
	{ "OPTICAL INSTRUMENTS", "9013808000", RE, 400, 2 },
	{ "WATER-BASED PAINTS AND VARNISHES", "3209100000", RE, 4, 1.2f },
	{ "UPHOLSTERED SOFAS, LEATHER", "9401610000", RE | RA, 280, 45 },
	{ "AIRCRAFT PARTS, LANDING GEAR", "8803300030", RE, 1200, 5 },
	{ "CATHETERS, MEDICAL", "9018390050", RE | RL, 6, 0.05f },
	{ "COLD-ROLLED STEEL COILS", "7209160090", RE | RA, 700, 1000 },
	{ "GL\xC3\x9CHWEIN, SPICED WINE", "2205100000", RE, 4, 1 },
	{ "FRESH AVOCADOS, HASS", "0804400010", RL, 1.2f, 0.2f },
	{ "FRESH ROMA TOMATOES", "0702002045", RL, 0.8f, 1 },
	{ "FRESH STRAWBERRIES", "0810100040", RL, 3, 0.5f },
	{ "TEQUILA, 100% AGAVE, 750ML", "2208904010", RL, 15, 1.3f },
	{ "BEER IN GLASS BOTTLES", "2203000030", RL, 1, 0.5f },
	{ "ALTERNATORS FOR VEHICLES", "8511504000", RL | RA, 45, 6 },
	{ "REFRIGERATORS, HOUSEHOLD", "8418100010", RL, 350, 70 },
	{ "SOFTWOOD LUMBER, SPRUCE-PINE-FIR", "4407110000", RL, 400, 500 },
	{ "MAPLE SYRUP, GRADE A", "1702200000", RL, 9, 1.4f },
	{ "GREEN COFFEE, NOT ROASTED", "0901110025", RL, 4, 1 },
	{ "BANANAS, FRESH", "0803900025", RL, 0.3f, 1 },
	{ "CUT FLOWERS, ROSES", "0603110060", RL, 0.4f, 0.05f },
	{ "COPPER CATHODES", "7403110000", RL, 9, 1 },
	{ "FROZEN ATLANTIC SALMON FILLETS", "0304814010", RL | RE, 9, 1 },
	{ "ROASTED COFFEE (CAF\xC3\x89 TOSTADO)", "0901210035", RL, 8, 1 },
	{ "PI\xC3\x91" "ATAS, PAPER", "9505906000", RL, 12, 1 },
	{ "PET PREFORMS FOR BOTTLES", "3923302000", RL | RA, 0.1f, 0.03f },
	{ "CAR SEATS FOR MOTOR VEHICLES", "9401200000", RL | RA, 95, 12 },
	{ "AGRICULTURAL TRACTORS", "8701920000", RANY, 30000, 3000 },
	{ "FROZEN FRENCH FRIES", "2004104000", RL | RE, 1, 1 },
	{ "WIND TURBINE BLADES", "8503009545", RE | RA, 120000, 10000 },
	{ "COTTON T-SHIRTS, MEN'S, KNIT", "6109100012", RANY, 3, 0.2f },
	{ "INSULATED COPPER WIRE", "8544491000", RL | RA, 5, 1 },
	{ "GLASS JARS WITH LIDS", "7010903000", RL | RE, 0.5f, 0.3f },
	/* the last G_RARE items are drawn 10 times less often */
	{ "CONSUMER FIREWORKS, 1.4G", "3604100000", RA, 2.5f, 0.6f },
	{ "SHOTGUN CARTRIDGES, 12 GAUGE", "9306210000", RE | RL, 0.4f, 0.04f },
	{ "HUNTING RIFLES, BOLT ACTION", "9303300080", RE, 650, 4 },
	{ "HAND-KNOTTED WOOL CARPETS", "5701101600", RE, 300, 20 },
};
#define G_RARE 4

/* Descriptions that CBP treats as not precise enough (SPEC 3, VAGUE_DESC). */
static const char *const g_vague[] = {
	"FAK", "FREIGHT OF ALL KINDS", "GENERAL CARGO", "STC", "SAID TO CONTAIN",
	"GENERAL MERCHANDISE", "PARTS", "SPARE PARTS", "ACCESSORIES", "CONSOLIDATED CARGO", "XXX",
	"12345", "GIFT", "DAILY NECESSITIES", "MACHINERY", "FOODSTUFFS", "ELECTRONIC GOODS",
	"GOODS", "SAMPLES", "EQUIPMENT", "...", "General Cargo", "parts", "PERSONAL EFFECTS",
	"MERCHANDISE", "000000", "F.A.K.", "VARIOUS GOODS",
};
static const char *const g_pkg[] = { "CTNS", "CARTONS", "PKGS", "PLTS", "PCS", "BOXES", "CASES" };
/* Units in front of vague descriptions ("147 PLTS ELECTRONIC GOODS"). */
static const char *const g_pkg_vague[] = {
	"CTNS", "CTN", "CARTONS", "PKGS", "PKG", "PACKAGES", "PLTS", "PALLETS", "PCS", "BAGS",
	"BOXES", "CASES", "DRUMS", "ROLLS", "BALES", "CRATES", "SKIDS", "UNITS", "PLT(S)",
};

/* ------------------------------------------------------------------ */
/* The MRA table                                                        */
/* ------------------------------------------------------------------ */

typedef struct mra_row {
	char program[24];
	char cc[3];
	int32_t from, to; /* INT32_MIN when empty (unconfirmed), INT32_MAX when open */
} mra_row;

static int parse_ymd(const char *s, size_t n, int32_t *out)
{
	if (n != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	int v[3] = { 0, 0, 0 }, k = 0;
	for (size_t i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			k++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v[k] = v[k] * 10 + (s[i] - '0');
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
		return -1;
	*out = er_days_from_civil(v[0], v[1], v[2]);
	return 0;
}

/* Split one CSV record at *pos (RFC 4180 quotes); fields are copied into fb.
 * Returns the number of fields, 0 at end of input. */
static int csv_record(const char *s, size_t n, size_t *pos, char fb[][96], int maxf)
{
	size_t i = *pos;
	if (i >= n)
		return 0;
	int nf = 0;
	size_t fl = 0;
	int q = 0;
	for (;;) {
		if (i >= n || (!q && (s[i] == '\n' || s[i] == ','))) {
			if (fl && fb[nf][fl - 1] == '\r')
				fl--;
			if (nf < maxf)
				fb[nf][fl] = '\0';
			nf++;
			fl = 0;
			if (i >= n || s[i] == '\n') {
				i += i < n;
				break;
			}
			i++;
			continue;
		}
		char c = s[i++];
		if (c == '"') {
			if (q && i < n && s[i] == '"') {
				i++;
			} else {
				q = !q;
				continue;
			}
		}
		if (nf < maxf && fl < 95)
			fb[nf][fl++] = c;
	}
	*pos = i;
	return nf;
}

static mra_row *g_mra;
static size_t g_nmra;

static void mra_load(const char *path, gbuf *raw)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(strerror(errno), path);
	char tmp[65536];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		gb_put(raw, tmp, k);
	if (ferror(f))
		die("read error", path);
	fclose(f);
	char fb[16][96];
	size_t pos = 0;
	int nf = csv_record(raw->p, raw->len, &pos, fb, 16);
	int c_prog = -1, c_cc = -1, c_from = -1, c_to = -1;
	for (int i = 0; i < nf && i < 16; i++) {
		const char *h = fb[i];
		if (i == 0 && (unsigned char)h[0] == 0xEF)
			h += 3; /* BOM */
		if (!strcmp(h, "program"))
			c_prog = i;
		else if (!strcmp(h, "country"))
			c_cc = i;
		else if (!strcmp(h, "recognized_from"))
			c_from = i;
		else if (!strcmp(h, "recognized_to"))
			c_to = i;
	}
	if (c_prog < 0 || c_cc < 0 || c_from < 0 || c_to < 0)
		die("MRA table lacks program/country/recognized_from/recognized_to columns", path);
	while ((nf = csv_record(raw->p, raw->len, &pos, fb, 16)) > 0) {
		if (nf == 1 && !fb[0][0])
			continue;
		if (nf <= c_prog || nf <= c_cc || nf <= c_from || nf <= c_to)
			die("short row in MRA table", path);
		if (strlen(fb[c_cc]) != 2 || !fb[c_prog][0] || strlen(fb[c_prog]) >= 24)
			die("bad program or country in MRA table", path);
		g_mra = xrealloc(g_mra, (g_nmra + 1) * sizeof *g_mra);
		mra_row *m = &g_mra[g_nmra++];
		memset(m, 0, sizeof *m);
		strcpy(m->program, fb[c_prog]);
		memcpy(m->cc, fb[c_cc], 3);
		m->from = INT32_MIN;
		m->to = INT32_MAX;
		if (fb[c_from][0] && parse_ymd(fb[c_from], strlen(fb[c_from]), &m->from))
			die("bad recognized_from in MRA table", path);
		if (fb[c_to][0] && parse_ymd(fb[c_to], strlen(fb[c_to]), &m->to))
			die("bad recognized_to in MRA table", path);
		if (m->to != INT32_MAX)
			m->to++; /* the file gives the last day recognized; kept here as the first day not */
	}
	if (!g_nmra)
		die("MRA table has no rows", path);
}

/* ------------------------------------------------------------------ */
/* Parties                                                              */
/* ------------------------------------------------------------------ */

#define NVAR 4
typedef struct party {
	const char *id;
	const char *var[NVAR]; /* CSV-encoded names; var[0] is the table spelling */
	uint16_t vlen[NVAR];
	uint8_t idlen;
	char cc[3];
	const country *ci;
	char owner[5]; /* container owner code (ocean carriers) */
	uint16_t awb;  /* airline prefix (air carriers) */
	uint8_t listed_mfr; /* in participants.csv with role manufacturer */
} party;

enum {
	PL_IMP_CT, PL_IMP_UNK, PL_MFR_MX, PL_MFR_CA, PL_AEO_MX, PL_AEO_CA, PL_UNK_MX, PL_UNK_CA,
	PL_MRA, PL_NONMRA, PL_UNK_OS, PL_HWY_CT, PL_HWY_UNK, PL_FWD_CT, PL_FWD_UNK, PL_SEA,
	PL_RAIL, PL_AIR, PL_LEASE, NPOOL
};

typedef struct pool {
	uint32_t *ix;
	uint32_t n, cap;
} pool;

typedef struct popul {
	party *p;
	uint32_t n, cap;
	pool pools[NPOOL];
	pool by_country[NCOUNTRIES + 1]; /* shippers per country (last: fallback) */
	hset names, ids;
	gbuf parts; /* participants.csv */
	uint32_t nparticipants;
} popul;

static void pool_add(pool *pl, uint32_t i)
{
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 64;
		pl->ix = xrealloc(pl->ix, pl->cap * sizeof *pl->ix);
	}
	pl->ix[pl->n++] = i;
}

/* ---- names ---- */

static void upcase_str(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 32);
}

/* "KESTREL HARBOR" -> "Kestrel Harbor" (mode 1) or "kestrel harbor" (mode 2). */
static void recase(char *s, int mode)
{
	int start = 1;
	for (; *s; s++) {
		char c = *s;
		int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
		if (mode == 0) {
			if (c >= 'a' && c <= 'z')
				*s = (char)(c - 32);
		} else if (alpha) {
			int up = mode == 1 && start;
			if (up && c >= 'a' && c <= 'z')
				*s = (char)(c - 32);
			else if (!up && c >= 'A' && c <= 'Z')
				*s = (char)(c + 32);
		}
		start = !alpha && c != '\'';
	}
}

static void cat(char *dst, size_t cap, const char *s)
{
	size_t l = strlen(dst), k = strlen(s);
	if (l + k + 1 > cap)
		k = cap - l - 1;
	memcpy(dst + l, s, k);
	dst[l + k] = '\0';
}

static const char *pick_city(rng *r, const country *ci, char *buf, size_t cap)
{
	const char *s = ci->cities;
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == '|';
	size_t k = rng_below(r, (uint32_t)n);
	while (k--)
		s = strchr(s, '|') + 1;
	size_t l = strcspn(s, "|");
	if (l >= cap)
		l = cap - 1;
	memcpy(buf, s, l);
	buf[l] = '\0';
	return buf;
}

static void make_stem(rng *r, int syl, char *out, size_t cap)
{
	out[0] = '\0';
	for (int tries = 0; tries < 20; tries++) {
		out[0] = '\0';
		switch (syl) {
		case SY_JP: {
			int k = 2 + (int)rng_below(r, 2);
			for (int i = 0; i < k; i++)
				cat(out, cap, sy_jp[rng_below(r, NELEM(sy_jp))]);
			break;
		}
		case SY_CN:
			cat(out, cap, sy_cn[rng_below(r, NELEM(sy_cn))]);
			cat(out, cap, sy_cn[rng_below(r, NELEM(sy_cn))]);
			break;
		case SY_KR:
			cat(out, cap, sy_kr[rng_below(r, NELEM(sy_kr))]);
			cat(out, cap, rng_chance(r, 0.3) ? " " : "");
			cat(out, cap, sy_kr[rng_below(r, NELEM(sy_kr))]);
			break;
		case SY_DE:
			cat(out, cap, sy_de[rng_below(r, NELEM(sy_de))]);
			cat(out, cap, sy_de[rng_below(r, NELEM(sy_de))]);
			break;
		case SY_ROM:
			cat(out, cap, sy_rom[rng_below(r, NELEM(sy_rom))]);
			if (rng_chance(r, 0.5))
				cat(out, cap, sy_rom[rng_below(r, NELEM(sy_rom))]);
			cat(out, cap, sy_rom_end[rng_below(r, NELEM(sy_rom_end))]);
			break;
		case SY_IN:
			cat(out, cap, sy_in[rng_below(r, NELEM(sy_in))]);
			cat(out, cap, sy_in[rng_below(r, NELEM(sy_in))]);
			break;
		case SY_SEA:
			cat(out, cap, sy_sea[rng_below(r, NELEM(sy_sea))]);
			cat(out, cap, " ");
			cat(out, cap, sy_sea[rng_below(r, NELEM(sy_sea))]);
			break;
		default:
			cat(out, cap, sy_gen[rng_below(r, NELEM(sy_gen))]);
			cat(out, cap, sy_gen[rng_below(r, NELEM(sy_gen))]);
			cat(out, cap, sy_end[rng_below(r, NELEM(sy_end))]);
			break;
		}
		/* Short words could be legal-form tokens ("SA", "AS", "KG") that the
		 * engine strips from a name's end: every word of a stem has 3+ letters. */
		size_t l = strlen(out);
		const char *sp = strchr(out, ' ');
		if (sp ? (size_t)(sp - out) >= 3 && l - (size_t)(sp - out) - 1 >= 3 : l >= 4)
			return;
	}
}

/* A unique name core (no legal suffix), upper-case: "NINGBO HUAXIN TRADING". */
static void make_core(popul *po, rng *r, int sty, int words, const country *ci, char *out, size_t cap)
{
	const style *st = &g_styles[sty];
	const wlist *wl = &g_words[words];
	for (int tries = 0;; tries++) {
		char stem[64], city[40];
		out[0] = '\0';
		make_stem(r, st->syl, stem, sizeof stem);
		if (st->syl == SY_GEN || st->syl == SY_DE || st->syl == SY_ROM) {
			if (rng_chance(r, 0.07)) {
				char s2[64];
				make_stem(r, st->syl, s2, sizeof s2);
				cat(stem, sizeof stem, " & ");
				cat(stem, sizeof stem, s2);
			}
		}
		if (st->city_pct && rng_below(r, 100) < st->city_pct) {
			cat(out, cap, pick_city(r, ci, city, sizeof city));
			cat(out, cap, " ");
		}
		const char *w = wl->w[rng_below(r, (uint32_t)wl->n)];
		if (rng_below(r, 100) < st->word_first_pct || words == WS_TRUCK_MX) {
			cat(out, cap, w);
			cat(out, cap, " ");
			cat(out, cap, stem);
		} else {
			cat(out, cap, stem);
			cat(out, cap, " ");
			cat(out, cap, w);
		}
		if (tries > 30) { /* crowded: add a distinguishing word */
			char s3[64];
			make_stem(r, SY_GEN, s3, sizeof s3);
			cat(out, cap, " ");
			cat(out, cap, s3);
		}
		upcase_str(out);
		/* key: what the engine's normalizer keeps ('&' becomes AND) */
		char key[256];
		size_t kl = 0;
		for (const char *p = out; *p && kl + 5 < sizeof key; p++) {
			if (*p == '&') {
				memcpy(key + kl, "AND", 3);
				kl += 3;
			} else {
				key[kl++] = *p;
			}
		}
		if (hset_add(&po->names, hash_str(key, kl)))
			return;
	}
}

/* Render "core + suffix" with a case mode and a spelling. */
static size_t render_name(char *out, size_t cap, const char *core, int cmode, int sfx, int spell,
                          const char *sep)
{
	char c[160];
	snprintf(c, sizeof c, "%s", core);
	recase(c, cmode);
	if (sfx == SX_NONE)
		return (size_t)snprintf(out, cap, "%s", c);
	char s[40];
	snprintf(s, sizeof s, "%s", g_sfx[sfx].sp[spell]);
	if (cmode == 2)
		recase(s, 2);
	return (size_t)snprintf(out, cap, "%s%s%s", c, sep, s);
}

static void store_var(party *p, int k, const char *s, size_t n)
{
	char buf[512];
	char *e = put_csv(buf, s, n > 200 ? 200 : n);
	p->vlen[k] = (uint16_t)(e - buf);
	p->var[k] = arena_dup(buf, (size_t)(e - buf));
}

/* ---- accented names ----
 * Some European and Latin American names carry one accented letter
 * ("MÜLLER", "Société", "Peña"). The table has it precomposed (NFC);
 * manifests print it precomposed, decomposed (letter + combining mark, as
 * macOS and some EDI converters write it), upper-cased (MÜLLER) or stripped
 * (MULLER). The choice hangs on a hash of the name core, not on the
 * population's random stream, so every other byte of the data stays as it
 * was without accents. */

typedef struct accent {
	char letter;            /* ASCII upper-case base letter */
	unsigned char up, low;  /* second byte of the precomposed U+00C0..U+00FF form (after 0xC3) */
	unsigned char comb;     /* second byte of the combining mark (after 0xCC) */
} accent;

static const accent g_acc_de[] = { { 'U', 0x9C, 0xBC, 0x88 }, { 'O', 0x96, 0xB6, 0x88 }, { 'A', 0x84, 0xA4, 0x88 } };
static const accent g_acc_fr[] = { { 'E', 0x89, 0xA9, 0x81 } };
static const accent g_acc_es[] = { { 'N', 0x91, 0xB1, 0x83 }, { 'O', 0x93, 0xB3, 0x81 } };

enum { ACC_NFC, ACC_NFD, ACC_UPPER, ACC_STRIP };

static const accent *accent_for(int sty, rng *ar)
{
	switch (sty) {
	case STY_DE: case STY_NORD: case STY_TR:
		return &g_acc_de[rng_below(ar, NELEM(g_acc_de))];
	case STY_FR:
		return g_acc_fr;
	case STY_ES: case STY_MX: case STY_CO: case STY_PE: case STY_LATAM:
		return &g_acc_es[rng_below(ar, NELEM(g_acc_es))];
	default:
		return NULL;
	}
}

/* Put accent a on the first a->letter of buf (any ASCII case) in form f;
 * returns the new length. The letter's own case picks the accent's case. */
static size_t put_accent(char *buf, size_t n, size_t cap, const accent *a, int f)
{
	size_t i = 0;
	while (i < n && (buf[i] & ~0x20) != a->letter)
		i++;
	if (i == n || f == ACC_STRIP || n + 2 >= cap)
		return n;
	if (f == ACC_UPPER)
		upcase_str(buf);
	int lower = buf[i] >= 'a';
	if (f == ACC_NFD) { /* the letter stays; the combining mark follows it */
		memmove(buf + i + 3, buf + i + 1, n - i); /* the tail and its NUL */
		buf[i + 1] = (char)0xCC;
		buf[i + 2] = (char)a->comb;
		return n + 2;
	}
	memmove(buf + i + 2, buf + i + 1, n - i);
	buf[i] = (char)0xC3;
	buf[i + 1] = (char)(lower ? a->low : a->up);
	return n + 1;
}

/* The table spelling plus NVAR-1 manifest spellings, each equal to the table
 * name after er_name_normalize(): case, punctuation of the suffix, the suffix
 * dropped or added (only ones the engine strips), "&" vs "AND", extra spaces,
 * a quoted word; for accented names also the Unicode forms (put_accent),
 * which meet only under Unicode folding. */
static void make_names(rng *r, party *p, int sty, const char *core)
{
	rng ar;
	rng_init(&ar, hash_str(core, strlen(core)), 0xACCE27ull);
	const accent *acc = rng_chance(&ar, 0.3) ? accent_for(sty, &ar) : NULL;
	const style *st = &g_styles[sty];
	int sfx = st->sfx[rng_weighted(r, st->w, 5)];
	int tcase = rng_chance(r, 0.75) ? 0 : 1;
	const char *tsep = (sfx == SX_INC || sfx == SX_LLC || sfx == SX_LTD || sfx == SX_CORP) &&
	                   rng_chance(r, 0.35) ? ", " : " ";
	char buf[256];
	size_t n = render_name(buf, sizeof buf, core, tcase, sfx, tcase, tsep);
	if (acc)
		n = put_accent(buf, n, sizeof buf, acc, ACC_NFC);
	store_var(p, 0, buf, n);
	int common = st->sfx[0];
	for (int k = 1; k < NVAR; k++) {
		double u = rng_unit(r);
		int cm = u < 0.55 ? 0 : u < 0.85 ? 1 : u < 0.90 ? 2 : tcase;
		char c2[200];
		snprintf(c2, sizeof c2, "%s", core);
		const char *amp = strstr(c2, " & ");
		if (amp && rng_chance(r, 0.5)) {
			char t[200];
			size_t off = (size_t)(amp - c2);
			snprintf(t, sizeof t, "%.*s AND %s", (int)off, c2, amp + 3);
			snprintf(c2, sizeof c2, "%s", t);
		}
		int s2 = sfx;
		if (sfx == SX_NONE) {
			if (common != SX_NONE && g_sfx[common].drop && rng_chance(r, 0.2))
				s2 = common;
		} else if (g_sfx[sfx].drop && rng_chance(r, 0.2)) {
			s2 = SX_NONE;
		}
		int sp = 0;
		if (s2 != SX_NONE) {
			int ns = sfx_nspell(s2);
			sp = rng_chance(r, 0.4) ? (cm == 1 ? 1 : 0) : (int)rng_below(r, (uint32_t)ns);
		}
		double us = rng_unit(r);
		const char *sep = us < 0.25 ? ", " : us < 0.30 ? "," : " ";
		n = render_name(buf, sizeof buf, c2, cm, s2, sp, sep);
		if (rng_chance(r, 0.2)) { /* double one space */
			char *sp1 = strchr(buf + 1, ' ');
			int skip = (int)rng_below(r, 3);
			while (sp1 && skip-- > 0 && strchr(sp1 + 1, ' '))
				sp1 = strchr(sp1 + 1, ' ');
			if (sp1 && n + 1 < sizeof buf) {
				memmove(sp1 + 1, sp1, n - (size_t)(sp1 - buf) + 1);
				n++;
			}
		}
		if (rng_chance(r, 0.03) && n + 1 < sizeof buf) {
			buf[n++] = ' ';
			buf[n] = '\0';
		}
		if (rng_chance(r, 0.015) && n + 2 < sizeof buf) { /* "KORVEX" TRADING */
			size_t w1 = strcspn(buf, " ");
			memmove(buf + w1 + 2, buf + w1, n - w1 + 1);
			memmove(buf + 1, buf, w1);
			buf[0] = '"';
			buf[w1 + 1] = '"';
			n += 2;
		}
		if (acc) {
			double ua = rng_unit(&ar);
			n = put_accent(buf, n, sizeof buf, acc,
			               ua < 0.45 ? ACC_NFC : ua < 0.65 ? ACC_STRIP : ua < 0.85 ? ACC_NFD
			                                                           : ACC_UPPER);
		}
		store_var(p, k, buf, n);
	}
}

static uint32_t party_new(popul *po, const char *cc, const country *ci)
{
	if (po->n == po->cap) {
		po->cap = po->cap ? po->cap * 2 : 1024;
		po->p = xrealloc(po->p, po->cap * sizeof *po->p);
	}
	party *p = &po->p[po->n];
	memset(p, 0, sizeof *p);
	memcpy(p->cc, cc, 2);
	p->ci = ci;
	return po->n++;
}

static void party_set_id(party *p, const char *id)
{
	size_t n = strlen(id);
	p->id = arena_dup(id, n);
	p->idlen = (uint8_t)n;
}

/* ---- ids ---- */

/* IRS-number style importer of record: "NN-NNNNNNN00". */
static void make_ior(popul *po, rng *r, party *p)
{
	char b[16];
	do {
		unsigned a = 10 + rng_below(r, 89), c = rng_below(r, 10000000);
		snprintf(b, sizeof b, "%02u-%07u00", a, c);
	} while (!hset_add(&po->ids, hash_str(b, strlen(b))));
	party_set_id(p, b);
}

static size_t letters3(const char *w, char *out)
{
	size_t k = 0;
	for (; *w && *w != ' ' && k < 3; w++)
		if (*w >= 'A' && *w <= 'Z')
			out[k++] = *w;
	return k;
}

/* Manufacturer identification code, CBP style: country (or Canadian province),
 * 3 letters of the first two words, up to 4 digits of the street number, 3
 * letters of the city: "MXACMTRA1234MON". */
static void make_mid(popul *po, rng *r, party *p, const char *core)
{
	static const char *const ca_prov[] = { "XO", "XQ", "XC", "XA", "XM", "XO" };
	char city[40];
	const country *ci = p->ci;
	/* which city: index for the province table */
	const char *s = ci->cities;
	size_t ncity = 1;
	for (const char *q = s; *q; q++)
		ncity += *q == '|';
	uint32_t k = rng_below(r, (uint32_t)ncity);
	for (uint32_t i = 0; i < k; i++)
		s = strchr(s, '|') + 1;
	size_t cl = strcspn(s, "|");
	snprintf(city, sizeof city, "%.*s", (int)cl, s);
	char base[16];
	size_t bl = 0;
	if (p->cc[0] == 'C' && p->cc[1] == 'A') {
		memcpy(base, ca_prov[k % NELEM(ca_prov)], 2);
	} else {
		base[0] = p->cc[0];
		base[1] = p->cc[1];
	}
	bl = 2;
	/* first two words, skipping "&" and articles */
	const char *w = core;
	int words = 0;
	while (*w && words < 2) {
		while (*w == ' ')
			w++;
		size_t wl = strcspn(w, " ");
		if (wl && !(wl == 1 && *w == '&') && strncmp(w, "THE ", 4) && strncmp(w, "AND ", 4)) {
			bl += letters3(w, base + bl);
			words++;
		}
		w += wl;
	}
	char cbuf[4];
	size_t cn = letters3(city, cbuf);
	for (int tries = 0;; tries++) {
		char id[24];
		memcpy(id, base, bl);
		size_t il = bl;
		unsigned num = 1 + rng_below(r, tries < 20 ? 9999 : 99999);
		char nb[8];
		int nl = snprintf(nb, sizeof nb, "%u", num);
		memcpy(id + il, nb, (size_t)nl);
		il += (size_t)nl;
		memcpy(id + il, cbuf, cn);
		il += cn;
		id[il] = '\0';
		if (hset_add(&po->ids, hash_str(id, il))) {
			party_set_id(p, id);
			return;
		}
	}
}

/* SCAC-like 4-letter code; ocean carriers usually end in U. */
static void make_scac(popul *po, rng *r, party *p, const char *core, int ocean)
{
	for (;;) {
		char id[5];
		id[0] = core[0] >= 'A' && core[0] <= 'Z' ? core[0] : (char)('A' + rng_below(r, 26));
		for (int i = 1; i < 4; i++)
			id[i] = (char)('A' + rng_below(r, 26));
		if (ocean && rng_chance(r, 0.7))
			id[3] = 'U';
		id[4] = '\0';
		if (hset_add(&po->ids, hash_str(id, 4))) {
			party_set_id(p, id);
			return;
		}
	}
}

/* ---- certification histories ---- */

enum { ST_CERT, ST_VAL, ST_SUSP, ST_REM, ST_WD };
static const char *const g_st_name[] = { "certified", "validated", "suspended", "removed", "withdrawn" };

typedef struct period {
	uint8_t st, tier;
	int32_t from;
} period;

enum { HK_IMP, HK_CTPAT, HK_AEO };

static int32_t rand_day(rng *r, int32_t lo, int32_t hi)
{
	return hi <= lo ? lo : lo + (int32_t)rng_below(r, (uint32_t)(hi - lo));
}

static int32_t start_day(rng *r, int kind)
{
	if (kind == HK_AEO)
		return rng_chance(r, 0.78) ? rand_day(r, er_days_from_civil(2009, 1, 1), D_ARR0)
		                           : rand_day(r, D_ARR0, er_days_from_civil(2024, 10, 1));
	return rng_chance(r, 0.72) ? rand_day(r, er_days_from_civil(2004, 6, 1), D_ARR0)
	                           : rand_day(r, D_ARR0, er_days_from_civil(2024, 10, 1));
}

/* Periods of one party in one program, contiguous, starting at s. */
static int make_history(rng *r, int kind, int32_t s, period *p)
{
	int n = 0;
	p[n++] = (period){ ST_CERT, (uint8_t)(kind == HK_IMP), s };
	if (kind != HK_AEO && rng_chance(r, kind == HK_IMP ? 0.85 : 0.8)) {
		int32_t t2 = s + 365 + (int32_t)rng_below(r, 366); /* validated 1-2 years later */
		if (t2 < D_END) {
			p[n++] = (period){ ST_VAL, (uint8_t)(kind == HK_IMP ? 2 : 0), t2 };
			if (kind == HK_IMP && rng_chance(r, 0.18)) {
				int32_t t3 = t2 + 365 + (int32_t)rng_below(r, 731);
				if (t3 < D_END)
					p[n++] = (period){ ST_VAL, 3, t3 };
			}
		}
	}
	double susp = kind == HK_AEO ? 0.015 : 0.03, rem = kind == HK_AEO ? 0.005 : 0.01;
	double wd = kind == HK_AEO ? 0.02 : 0.025;
	double u = rng_unit(r);
	if (u >= susp + rem + wd)
		return n;
	int32_t lo = s + 120 > D_ARR0 - 365 ? s + 120 : D_ARR0 - 365, hi = D_END - 30;
	if (lo >= hi)
		return n;
	int32_t e = rand_day(r, lo, hi);
	period q[16];
	int m = 0;
	while (m < n && p[m].from < e) {
		q[m] = p[m];
		m++;
	}
	if (u < susp) {
		period prev = q[m - 1];
		int32_t back = e + 45 + (int32_t)rng_below(r, 320);
		q[m++] = (period){ ST_SUSP, 0, e };
		if (back < D_END) {
			if (rng_chance(r, 0.5)) { /* reinstated */
				q[m++] = (period){ prev.st, prev.tier, back };
				for (int i = 0; i < n; i++)
					if (p[i].from > back)
						q[m++] = p[i];
			} else if (rng_chance(r, 0.4)) {
				q[m++] = (period){ ST_REM, 0, back };
			}
		}
	} else {
		q[m++] = (period){ (uint8_t)(u < susp + rem ? ST_REM : ST_WD), 0, e };
	}
	memcpy(p, q, (size_t)m * sizeof *p);
	return m;
}

/* End a history at `end` (program closed for this country), withdrawn from then. */
static int end_history(period *p, int n, int32_t end)
{
	int m = 0;
	while (m < n && p[m].from < end)
		m++;
	if (m && (p[m - 1].st == ST_CERT || p[m - 1].st == ST_VAL || p[m - 1].st == ST_SUSP))
		p[m++] = (period){ ST_WD, 0, end };
	return m;
}

static void write_periods(popul *po, party *p, const char *role, const char *program,
                          const period *h, int n)
{
	gbuf *b = &po->parts;
	if (n > 0 && !strcmp(role, "manufacturer"))
		p->listed_mfr = 1; /* its id may stand in manufacturer_id */
	for (int i = 0; i < n; i++) {
		gb_reserve(b, 512);
		char *w = b->p + b->len;
		w = put(w, p->id, p->idlen);
		*w++ = ',';
		w = put(w, p->var[0], p->vlen[0]);
		*w++ = ',';
		w = put(w, p->cc, 2);
		*w++ = ',';
		w = put(w, role, strlen(role));
		*w++ = ',';
		w = put(w, program, strlen(program));
		*w++ = ',';
		w = put(w, g_st_name[h[i].st], strlen(g_st_name[h[i].st]));
		*w++ = ',';
		if (h[i].tier)
			*w++ = (char)('0' + h[i].tier);
		*w++ = ',';
		w = put_date(w, h[i].from);
		*w++ = ',';
		if (i + 1 < n)
			w = put_date(w, h[i + 1].from);
		*w++ = '\n';
		b->len = (size_t)(w - b->p);
	}
	po->nparticipants++;
}

/* ---- building the population ---- */

static const country *country_or_fallback(const char *cc)
{
	const country *c = country_find(cc);
	if (c)
		return c;
	return &g_fallback_country;
}

/* New party with a name of style sty / word list `words` from country cc. */
static party *add_named(popul *po, rng *r, const char *cc, int sty, int words, char *core, size_t cap)
{
	const country *ci = country_or_fallback(cc);
	uint32_t i = party_new(po, cc, ci);
	party *p = &po->p[i];
	make_core(po, r, sty, words, ci, core, cap);
	make_names(r, p, sty, core);
	return p;
}

static uint32_t pidx(const popul *po, const party *p)
{
	return (uint32_t)(p - po->p);
}

static size_t country_index(const country *ci)
{
	return ci == &g_fallback_country ? NCOUNTRIES : (size_t)(ci - g_countries);
}

static pool *country_pool(popul *po, const party *p)
{
	return &po->by_country[country_index(p->ci)];
}

static const mra_row *mra_for(const char *program, const char *cc)
{
	for (size_t i = 0; i < g_nmra; i++)
		if (!strcmp(g_mra[i].program, program) && !strcmp(g_mra[i].cc, cc))
			return &g_mra[i];
	return NULL;
}

/* A program row that takes over a country when `old` ends (EU_AEO -> UK_AEO for GB). */
static const mra_row *mra_successor(const mra_row *old)
{
	for (size_t i = 0; i < g_nmra; i++) {
		const mra_row *m = &g_mra[i];
		if (m != old && !strcmp(m->cc, old->cc) && m->from != INT32_MIN && m->from >= old->to)
			return m;
	}
	return NULL;
}

static void weighted_counts(const double *w, size_t n, uint32_t total, uint32_t *out)
{
	double tot = 0;
	for (size_t i = 0; i < n; i++)
		tot += w[i];
	for (size_t i = 0; i < n; i++)
		out[i] = tot > 0 ? (uint32_t)(total * w[i] / tot + 0.5) : 0;
	for (size_t i = 0; i < n; i++)
		if (w[i] > 0 && out[i] == 0)
			out[i] = 1;
}

static uint32_t at_least(double x, uint32_t lo)
{
	return x < lo ? lo : (uint32_t)x;
}

/* Foreign exporters of one (program, country) row; cls = PL_MRA or PL_NONMRA. */
static void build_exporters(popul *po, rng *r, const char *program, const char *cc, const mra_row *m,
                            uint32_t count, int cls)
{
	const country *ci = country_or_fallback(cc);
	const mra_row *succ = m && m->to != INT32_MAX ? mra_successor(m) : NULL;
	for (uint32_t k = 0; k < count; k++) {
		char core[200];
		party *p = add_named(po, r, cc, ci->style, g_styles[ci->style].words, core, sizeof core);
		make_mid(po, r, p, core);
		const char *role = rng_chance(r, 0.45) ? "manufacturer" : "exporter";
		period h[16];
		int32_t s = start_day(r, HK_AEO);
		if (m && m->to != INT32_MAX && s >= m->to - 200)
			s = rand_day(r, er_days_from_civil(2009, 1, 1), m->to - 200);
		int n = make_history(r, HK_AEO, s, h);
		if (m && m->to != INT32_MAX)
			n = end_history(h, n, m->to);
		write_periods(po, p, role, program, h, n);
		if (succ && rng_chance(r, 0.85)) {
			n = make_history(r, HK_AEO, m->to, h);
			write_periods(po, p, role, succ->program, h, n);
		}
		uint32_t ix = pidx(po, p);
		pool_add(&po->pools[cls], ix);
		pool_add(country_pool(po, p), ix);
		if (cls == PL_MRA && cc[0] == 'M' && cc[1] == 'X')
			pool_add(&po->pools[PL_AEO_MX], ix);
		if (cls == PL_MRA && cc[0] == 'C' && cc[1] == 'A')
			pool_add(&po->pools[PL_AEO_CA], ix);
	}
}

static void shuffle_pool(rng *r, pool *pl)
{
	for (uint32_t i = pl->n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		uint32_t t = pl->ix[i - 1];
		pl->ix[i - 1] = pl->ix[j];
		pl->ix[j] = t;
	}
}

static void build_population(popul *po, uint64_t seed, uint64_t rows)
{
	rng r;
	rng_init(&r, seed, 0xFFFFFFFF00000001ull);
	double P = 80.0 * pow((double)(rows ? rows : 1), 0.35);
	if (P < 300)
		P = 300;
	gb_puts(&po->parts, "party_id,name,country,role,program,status,tier,valid_from,valid_to\n");
	char core[200];

	/* CTPAT importers (US) */
	uint32_t n = at_least(0.40 * P, 20);
	for (uint32_t k = 0; k < n; k++) {
		party *p = add_named(po, &r, "US", STY_US, WS_US, core, sizeof core);
		make_ior(po, &r, p);
		period h[16];
		int hn = make_history(&r, HK_IMP, start_day(&r, HK_IMP), h);
		write_periods(po, p, "importer", "CTPAT", h, hn);
		pool_add(&po->pools[PL_IMP_CT], pidx(po, p));
	}
	/* CTPAT manufacturers in MX and CA, some also in NEEC / PIP */
	n = at_least(0.13 * P, 10);
	for (uint32_t k = 0; k < n; k++) {
		int mx = rng_chance(&r, 0.7);
		const char *cc = mx ? "MX" : "CA";
		party *p = add_named(po, &r, cc, mx ? STY_MX : STY_CA, mx ? WS_LATAM : WS_CA, core, sizeof core);
		make_mid(po, &r, p, core);
		period h[16];
		int hn = make_history(&r, HK_CTPAT, start_day(&r, HK_CTPAT), h);
		write_periods(po, p, "manufacturer", "CTPAT", h, hn);
		const char *fp = mx ? "MX_NEEC" : "CA_PIP";
		if (mra_for(fp, cc) && rng_chance(&r, mx ? 0.2 : 0.25)) {
			hn = make_history(&r, HK_AEO, start_day(&r, HK_AEO), h);
			write_periods(po, p, "manufacturer", fp, h, hn);
		}
		pool_add(&po->pools[mx ? PL_MFR_MX : PL_MFR_CA], pidx(po, p));
		pool_add(country_pool(po, p), pidx(po, p));
	}
	/* CTPAT highway carriers (US, MX, CA) */
	n = at_least(0.08 * P, 8);
	for (uint32_t k = 0; k < n; k++) {
		double u = rng_unit(&r);
		const char *cc = u < 0.4 ? "US" : u < 0.85 ? "MX" : "CA";
		int sty = cc[0] == 'M' ? STY_MX : cc[0] == 'C' ? STY_CA : STY_US;
		party *p = add_named(po, &r, cc, sty, cc[0] == 'M' ? WS_TRUCK_MX : WS_TRUCK, core, sizeof core);
		make_scac(po, &r, p, core, 0);
		period h[16];
		int hn = make_history(&r, HK_CTPAT, start_day(&r, HK_CTPAT), h);
		write_periods(po, p, "carrier", "CTPAT", h, hn);
		pool_add(&po->pools[PL_HWY_CT], pidx(po, p));
	}
	/* CTPAT forwarders / NVOCCs (US) */
	n = at_least(0.05 * P, 6);
	for (uint32_t k = 0; k < n; k++) {
		party *p = add_named(po, &r, "US", STY_US, WS_FWD, core, sizeof core);
		make_scac(po, &r, p, core, 0);
		period h[16];
		int hn = make_history(&r, HK_CTPAT, start_day(&r, HK_CTPAT), h);
		write_periods(po, p, "forwarder", "CTPAT", h, hn);
		pool_add(&po->pools[PL_FWD_CT], pidx(po, p));
	}
	/* Ocean, rail and air carriers: a fixed handful, most of them in CTPAT */
	static const char *const sea_cc[] = { "DK", "CH", "FR", "CN", "TW", "KR", "JP", "DE", "SG", "IL", "HK", "TW" };
	for (uint32_t k = 0; k < 24; k++) {
		const char *cc = sea_cc[k % NELEM(sea_cc)];
		const country *ci = country_or_fallback(cc);
		party *p = add_named(po, &r, cc, ci->style, WS_SEA_C, core, sizeof core);
		for (;;) { /* unique 3-letter owner prefix for its containers */
			make_scac(po, &r, p, core, 1);
			char own[5] = { p->id[0], p->id[1], p->id[2], 'U', 0 };
			if (hset_add(&po->ids, hash_str(own, 3) ^ 0x5A5A))
				break;
		}
		memcpy(p->owner, p->id, 3);
		p->owner[3] = 'U';
		if (k % 3 != 2) {
			period h[16];
			int hn = make_history(&r, HK_CTPAT, start_day(&r, HK_CTPAT), h);
			write_periods(po, p, "carrier", "CTPAT", h, hn);
		}
		pool_add(&po->pools[PL_SEA], pidx(po, p));
	}
	for (uint32_t k = 0; k < 6; k++) { /* container leasing companies: owner codes only */
		uint32_t i = party_new(po, "US", country_find("US"));
		party *p = &po->p[i];
		for (;;) {
			char own[5] = { (char)('A' + rng_below(&r, 26)), (char)('A' + rng_below(&r, 26)),
			                (char)('A' + rng_below(&r, 26)), 'U', 0 };
			if (hset_add(&po->ids, hash_str(own, 3) ^ 0x5A5A)) {
				memcpy(p->owner, own, 5);
				break;
			}
		}
		pool_add(&po->pools[PL_LEASE], i);
	}
	static const char *const rail_cc[] = { "US", "US", "US", "US", "CA", "MX" };
	for (uint32_t k = 0; k < 6; k++) {
		const char *cc = rail_cc[k];
		const country *ci = country_find(cc);
		party *p = add_named(po, &r, cc, ci->style, WS_RAIL_C, core, sizeof core);
		make_scac(po, &r, p, core, 0);
		if (k != 3) {
			period h[16];
			int hn = make_history(&r, HK_CTPAT, start_day(&r, HK_CTPAT), h);
			write_periods(po, p, "carrier", "CTPAT", h, hn);
		}
		pool_add(&po->pools[PL_RAIL], pidx(po, p));
	}
	static const char *const air_cc[] = { "US", "US", "US", "DE", "NL", "FR", "GB", "JP", "KR", "CN", "HK", "TW", "SG", "AE", "MX" };
	hset awbs = { 0 };
	for (uint32_t k = 0; k < 30; k++) {
		const char *cc = air_cc[k % NELEM(air_cc)];
		const country *ci = country_find(cc);
		party *p = add_named(po, &r, cc, ci->style, WS_AIR_C, core, sizeof core);
		make_scac(po, &r, p, core, 0);
		do
			p->awb = (uint16_t)(1 + rng_below(&r, 998));
		while (!hset_add(&awbs, (uint64_t)p->awb * 2 + 1));
		if (k % 4 == 0) {
			period h[16];
			int hn = make_history(&r, HK_CTPAT, start_day(&r, HK_CTPAT), h);
			write_periods(po, p, "carrier", "CTPAT", h, hn);
		}
		pool_add(&po->pools[PL_AIR], pidx(po, p));
	}
	free(awbs.k);

	/* Foreign exporters in the MRA table's programs; CN_AEO and CR_AEO have no MRA. */
	double *wm = xcalloc(g_nmra, sizeof *wm), *wn = xcalloc(g_nmra, sizeof *wn);
	uint32_t *cm = xcalloc(g_nmra, sizeof *cm), *cnn = xcalloc(g_nmra, sizeof *cnn);
	for (size_t i = 0; i < g_nmra; i++) {
		const country *ci = country_find(g_mra[i].cc);
		double w = ci ? ci->aeo_w : 0.3;
		if (w <= 0)
			w = 0.3;
		if (g_mra[i].to != INT32_MAX)
			w *= 0.5;
		if (g_mra[i].from == INT32_MIN)
			wn[i] = w; /* signed, not operational: no recognition */
		else
			wm[i] = w;
	}
	double cn_w = 20, cr_w = 1, nonmra_tot = cn_w + cr_w;
	for (size_t i = 0; i < g_nmra; i++)
		nonmra_tot += wn[i];
	weighted_counts(wm, g_nmra, at_least(0.24 * P, 40), cm);
	uint32_t non_total = at_least(0.08 * P, 12);
	for (size_t i = 0; i < g_nmra; i++)
		cnn[i] = wn[i] > 0 ? at_least(non_total * wn[i] / nonmra_tot, 1) : 0;
	for (size_t i = 0; i < g_nmra; i++) {
		if (cm[i])
			build_exporters(po, &r, g_mra[i].program, g_mra[i].cc, &g_mra[i], cm[i], PL_MRA);
		if (cnn[i])
			build_exporters(po, &r, g_mra[i].program, g_mra[i].cc, &g_mra[i], cnn[i], PL_NONMRA);
	}
	build_exporters(po, &r, "CN_AEO", "CN", NULL, at_least(non_total * cn_w / nonmra_tot, 2), PL_NONMRA);
	build_exporters(po, &r, "CR_AEO", "CR", NULL, at_least(non_total * cr_w / nonmra_tot, 1), PL_NONMRA);
	free(wm);
	free(wn);
	free(cm);
	free(cnn);

	/* Non-participants: importers, shippers, carriers, forwarders. */
	n = at_least(0.5 * P, 20);
	for (uint32_t k = 0; k < n; k++) {
		party *p = add_named(po, &r, "US", STY_US, WS_US, core, sizeof core);
		make_ior(po, &r, p);
		pool_add(&po->pools[PL_IMP_UNK], pidx(po, p));
	}
	double cw[NCOUNTRIES];
	uint32_t cc_n[NCOUNTRIES];
	for (size_t i = 0; i < NCOUNTRIES; i++)
		cw[i] = g_countries[i].unk_w;
	weighted_counts(cw, NCOUNTRIES, at_least(0.55 * P, 40), cc_n);
	for (size_t i = 0; i < NCOUNTRIES; i++) {
		const country *ci = &g_countries[i];
		for (uint32_t k = 0; k < cc_n[i]; k++) {
			party *p = add_named(po, &r, ci->cc, ci->style, g_styles[ci->style].words, core, sizeof core);
			make_mid(po, &r, p, core);
			pool_add(&po->pools[PL_UNK_OS], pidx(po, p));
			pool_add(country_pool(po, p), pidx(po, p));
		}
	}
	n = at_least(0.15 * P, 10);
	for (uint32_t k = 0; k < n; k++) {
		int mx = rng_chance(&r, 0.68);
		party *p = add_named(po, &r, mx ? "MX" : "CA", mx ? STY_MX : STY_CA, mx ? WS_LATAM : WS_CA,
		                     core, sizeof core);
		make_mid(po, &r, p, core);
		pool_add(&po->pools[mx ? PL_UNK_MX : PL_UNK_CA], pidx(po, p));
		pool_add(country_pool(po, p), pidx(po, p));
	}
	n = at_least(0.04 * P, 6);
	for (uint32_t k = 0; k < n; k++) {
		int mx = rng_chance(&r, 0.5);
		party *p = add_named(po, &r, mx ? "MX" : "US", mx ? STY_MX : STY_US, mx ? WS_TRUCK_MX : WS_TRUCK,
		                     core, sizeof core);
		make_scac(po, &r, p, core, 0);
		pool_add(&po->pools[PL_HWY_UNK], pidx(po, p));
	}
	n = at_least(0.03 * P, 6);
	for (uint32_t k = 0; k < n; k++) {
		static const char *const fcc[] = { "US", "CN", "HK", "DE", "US" };
		const char *cc = fcc[rng_below(&r, NELEM(fcc))];
		const country *ci = country_find(cc);
		party *p = add_named(po, &r, cc, ci->style, WS_FWD, core, sizeof core);
		make_scac(po, &r, p, core, 0);
		pool_add(&po->pools[PL_FWD_UNK], pidx(po, p));
	}
	/* Popularity follows pool position: shuffle so it is unrelated to build order. */
	for (int i = 0; i < NPOOL; i++)
		shuffle_pool(&r, &po->pools[i]);
	for (size_t i = 0; i <= NCOUNTRIES; i++)
		shuffle_pool(&r, &po->by_country[i]);
	for (int i = 0; i < NPOOL; i++)
		if (!po->pools[i].n && i != PL_AEO_MX && i != PL_AEO_CA && i != PL_NONMRA)
			die("internal: empty party pool", NULL);
}

/* ------------------------------------------------------------------ */
/* Rows                                                                 */
/* ------------------------------------------------------------------ */

enum { M_VESSEL, M_TRUCK, M_AIR, M_RAIL };

typedef struct gen_ctx {
	const popul *po;
	uint64_t seed, rows, nblocks;
	double *day_cdf; /* arrival-date distribution over day0..day0+ndays-1 */
	uint32_t ndays;
	int32_t day0;
	double ev_w[4];   /* event weights per mode (vessel events carry LCL groups) */
	uint64_t id_key, mb_key, ct_key; /* keys of the id permutations */
} gen_ctx;

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* A keyed permutation of 0..10^10-1 (a 4-round Feistel network on two
 * 5-digit halves): distinct rows get distinct, random-looking numbers. */
static inline uint64_t perm10(uint64_t x, uint64_t key)
{
	uint64_t l = x / 100000 % 100000, rr = x % 100000;
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t f = mix64(rr ^ key ^ (i << 56)) % 100000;
		uint64_t nl = rr;
		rr = (l + f) % 100000;
		l = nl;
	}
	return l * 100000 + rr;
}

static const party *pool_pick(const gen_ctx *c, rng *r, int pl)
{
	const pool *p = &c->po->pools[pl];
	if (!p->n)
		return NULL;
	return &c->po->p[p->ix[rng_skew(r, p->n)]];
}

static int32_t pick_day(const gen_ctx *c, rng *r)
{
	double u = rng_unit(r) * c->day_cdf[c->ndays - 1];
	uint32_t lo = 0, hi = c->ndays - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (c->day_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c->day0 + (int32_t)lo;
}

static char iso6346_check(const char *c10)
{
	static const int lv[26] = { 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24,
	                            25, 26, 27, 28, 29, 30, 31, 32, 34, 35, 36, 37, 38 };
	unsigned sum = 0;
	for (int i = 0; i < 10; i++) {
		int v = c10[i] >= 'A' ? lv[c10[i] - 'A'] : c10[i] - '0';
		sum += (unsigned)v << i;
	}
	return (char)('0' + sum % 11 % 10);
}

/* Everything one row needs that is shared within a consolidation. */
typedef struct ship {
	int mode;
	int32_t day;
	char master[24], cont[12];
	uint8_t master_len, cont_len;
	const char *load;
	const char *lading, *unlading;
	const party *carrier, *fwd;
	int64_t dep; /* INT64_MIN: empty */
	int ts_style;
	int lcl;
} ship;

/* Per-row parties. */
typedef struct rowp {
	const party *imp, *shp;
	int shp_mfr; /* manufacturer_id shown */
	int chain;   /* FAST chain (truck) */
} rowp;

static const char *mode_text(rng *r, int mode, size_t *len)
{
	static const char *const v[] = { "vessel", "OCEAN", "SEA", "Vessel" };
	static const char *const t[] = { "truck", "ROAD", "TRUCK" };
	const char *s;
	double u = rng_unit(r);
	switch (mode) {
	case M_VESSEL:
		s = u < 0.90 ? v[0] : u < 0.94 ? v[1] : u < 0.96 ? v[2] : v[3];
		break;
	case M_TRUCK:
		s = u < 0.92 ? t[0] : u < 0.96 ? t[1] : t[2];
		break;
	case M_AIR:
		s = u < 0.97 ? "air" : "AIR";
		break;
	default:
		s = u < 0.97 ? "rail" : "RAIL";
		break;
	}
	*len = strlen(s);
	return s;
}

static int region_bit(const party *p)
{
	switch (p->ci->region) {
	case RG_EASIA: case RG_SEASIA: case RG_SASIA: case RG_OCE:
		return RA;
	case RG_NA: case RG_LATAM:
		return RL;
	default:
		return RE;
	}
}

/* Choose the shipper for a vessel/air shipment by class shares. */
static const party *pick_overseas_shipper(const gen_ctx *c, rng *r, int mode)
{
	double u = rng_unit(r);
	double ct = mode == M_AIR ? 0.08 : 0.03, mra = 0.40;
	if (u < ct)
		return pool_pick(c, r, rng_chance(r, 0.7) ? PL_MFR_MX : PL_MFR_CA);
	if (u < ct + mra)
		return pool_pick(c, r, PL_MRA);
	if (u < ct + mra + 0.125 && c->po->pools[PL_NONMRA].n)
		return pool_pick(c, r, PL_NONMRA);
	if (rng_chance(r, 0.04))
		return pool_pick(c, r, rng_chance(r, 0.6) ? PL_UNK_MX : PL_UNK_CA);
	return pool_pick(c, r, PL_UNK_OS);
}

static const party *pick_land_shipper(const gen_ctx *c, rng *r, int mx, double ctpat)
{
	double u = rng_unit(r);
	if (u < ctpat)
		return pool_pick(c, r, mx ? PL_MFR_MX : PL_MFR_CA);
	if (u < ctpat + 0.15 && c->po->pools[mx ? PL_AEO_MX : PL_AEO_CA].n)
		return pool_pick(c, r, mx ? PL_AEO_MX : PL_AEO_CA);
	return pool_pick(c, r, mx ? PL_UNK_MX : PL_UNK_CA);
}

static const party *pick_importer(const gen_ctx *c, rng *r)
{
	/* with the FAST chains (all CTPAT) about half the shipments have a CTPAT importer */
	return pool_pick(c, r, rng_chance(r, 0.46) ? PL_IMP_CT : PL_IMP_UNK);
}

/* Name as printed: mostly the table spelling, else a manifest variant. */
static char *put_name(char *w, rng *r, const party *p, int id_shown)
{
	int k = rng_chance(r, id_shown ? 0.3 : 0.5) ? 1 + (int)rng_below(r, NVAR - 1) : 0;
	return put(w, p->var[k], p->vlen[k]);
}

/* A vague term as manifests print it: bare (most), or behind a package
 * count and/or "said to contain" in either order ("12 CTNS FAK",
 * "STC GENERAL MERCHANDISE", "147 PLTS STC PARTS", "STC 3 PALLETS GOODS").
 * Drawn from the row's side stream. */
static char *put_vague(char *o, rng *side, const char *term)
{
	double u = rng_unit(side);
	int count = u >= 0.55 && u < 0.85, stc = u >= 0.75;
	int stc_first = stc && rng_chance(side, 0.5);
	const char *pre = rng_chance(side, 0.6) ? "STC " : rng_chance(side, 0.7) ? "SAID TO CONTAIN " : "S.T.C. ";
	if (stc && stc_first)
		o = put(o, pre, strlen(pre));
	if (count) {
		o = put_u64(o, 1 + rng_below(side, rng_chance(side, 0.7) ? 60 : 2000));
		if (!rng_chance(side, 0.1))
			*o++ = ' ';
		const char *pk = g_pkg_vague[rng_below(side, NELEM(g_pkg_vague))];
		o = put(o, pk, strlen(pk));
		*o++ = ' ';
	}
	if (stc && !stc_first)
		o = put(o, pre, strlen(pre));
	return put(o, term, strlen(term));
}

static char *put_desc_and_numbers(char *w, rng *r, rng *side, const ship *s, const party *shp)
{
	/* hs_code, description, declared_value_usd, gross_weight_kg, quantity */
	const item *it = NULL;
	int bit = region_bit(shp);
	for (int t = 0; t < 4; t++) {
		uint32_t k = rng_below(r, NELEM(g_items));
		it = &g_items[k];
		if ((it->reg & bit) && !(k >= NELEM(g_items) - G_RARE && rng_chance(r, 0.9)))
			break;
	}
	double u = rng_unit(r);
	int hl = u < 0.03 ? 0 : u < 0.08 ? 4 : u < 0.09 ? 2 : u < 0.33 ? 6 : u < 0.45 ? 8 : 10;
	w = put(w, it->hs, (size_t)hl);
	*w++ = ',';

	char d[256];
	size_t dl = 0;
	double qd = exp(rng_unit(r) * (s->lcl ? 5.5 : 8.5)); /* log-uniform 1..~5000 */
	uint64_t qty = (uint64_t)qd;
	if (it->val > 5000)
		qty = 1 + rng_below(r, 3);
	if (rng_below(r, 20000) == 0) { /* rare: a purchase-order line of its own */
		char *o = put(d, it->text, strlen(it->text));
		o = put(o, "\nPO# ", 5);
		o = put_u64(o, 10000 + rng_below(r, 9990000));
		dl = (size_t)(o - d);
	} else if (rng_chance(r, 0.04)) {
		const char *v = g_vague[rng_below(r, NELEM(g_vague))];
		dl = (size_t)(put_vague(d, side, v) - d);
	} else {
		size_t tl = strlen(it->text);
		double f = rng_unit(r);
		char *o = d;
		if (f < 0.58) {
			o = put(o, it->text, tl);
		} else if (f < 0.73) {
			o = put_u64(o, qty);
			*o++ = ' ';
			const char *pk = g_pkg[rng_below(r, NELEM(g_pkg))];
			o = put(o, pk, strlen(pk));
			*o++ = ' ';
			o = put(o, it->text, tl);
		} else if (f < 0.83) {
			o = put(o, it->text, tl);
			*o++ = ' ';
			const char *po = rng_chance(r, 0.6) ? "PO# " : "P.O. ";
			o = put(o, po, strlen(po));
			o = put_u64(o, 10000 + rng_below(r, 9990000));
		} else if (f < 0.88) {
			const char *stc = rng_chance(r, 0.7) ? "STC " : "SAID TO CONTAIN ";
			o = put(o, stc, strlen(stc));
			o = put_u64(o, qty);
			o = put(o, " CARTONS OF ", 12);
			o = put(o, it->text, tl);
		} else if (f < 0.94) {
			o = put(o, it->text, tl);
			o = put(o, ", HTS ", 6);
			o = put(o, it->hs, 4);
			*o++ = '.';
			o = put(o, it->hs + 4, 2);
		} else if (it->val >= 20) {
			o = put(o, it->text, tl);
			o = put(o, " - MODEL ", 9);
			*o++ = (char)('A' + rng_below(r, 26));
			*o++ = (char)('A' + rng_below(r, 26));
			*o++ = '-';
			o = put_u64(o, 100 + rng_below(r, 9900));
		} else {
			o = put(o, it->text, tl);
		}
		dl = (size_t)(o - d);
	}
	w = put_csv(w, d, dl);
	*w++ = ',';
	if (!rng_chance(r, 0.01)) {
		double v = (double)qty * it->val * (0.6 + 0.8 * rng_unit(r));
		uint64_t cents = (uint64_t)(v * 100.0);
		if (cents > 9999999999ull)
			cents = 9999999999ull;
		w = put_u64(w, cents / 100);
		*w++ = '.';
		w = put_2d(w, (unsigned)(cents % 100));
	}
	*w++ = ',';
	if (!rng_chance(r, 0.01)) {
		double kg = (double)qty * it->kg * (0.85 + 0.3 * rng_unit(r)) + 1.0;
		uint64_t t = (uint64_t)(kg * 10.0);
		w = put_u64(w, t / 10);
		*w++ = '.';
		*w++ = (char)('0' + t % 10);
	}
	*w++ = ',';
	if (!rng_chance(r, 0.01))
		w = put_u64(w, qty ? qty : 1);
	return w;
}

/* One CSV record. */
static void emit_row(const gen_ctx *c, rng *r, gbuf *out, uint64_t gidx, const ship *s, const rowp *rp)
{
	gb_reserve(out, ROW_MAX);
	char *w = out->p + out->len;
	const party *imp = rp->imp, *shp = rp->shp;
	/* The rare cases below draw from a side stream of their own (one per
	 * row), so the main stream, and every other byte of the data, stays the
	 * same as without them. */
	rng side;
	rng_init(&side, c->seed ^ 0x51DE5EEDull, gidx);

	/* shipment_id: house bill, prefixed by the forwarder's or carrier's SCAC */
	const party *pre = s->fwd ? s->fwd : s->carrier;
	if (pre && pre->id)
		w = put(w, pre->id, pre->idlen);
	else
		w = put(w, "HBL", 3);
	w = put_fixed(w, perm10(gidx, c->id_key), 10);
	*w++ = ',';
	w = put_date(w, s->day);
	*w++ = ',';
	w = put(w, s->master, s->master_len);
	*w++ = ',';
	w = put(w, s->cont, s->cont_len);
	*w++ = ',';
	if (s->load)
		w = put(w, s->load, 3);
	*w++ = ',';
	size_t ml;
	const char *mt = mode_text(r, s->mode, &ml);
	w = put(w, mt, ml);
	*w++ = ',';
	int truck_ca = s->mode == M_TRUCK && s->lading && s->lading[0] == 'C';
	int truck_mx = s->mode == M_TRUCK && s->lading && s->lading[0] == 'M';
	if (s->lading)
		w = put(w, s->lading, 5);
	*w++ = ',';
	w = put(w, s->unlading, 4);
	*w++ = ',';
	/* origin_country: usually the shipper's; traders re-export Asian goods */
	const char *origin = shp->cc;
	if (shp->cc[0] == 'A' && shp->cc[1] == 'E' && rng_chance(r, 0.05)) {
		origin = "IR"; /* re-export from an embargoed origin: what ORIGIN_WATCH is for */
	} else if (rng_chance(r, 0.06)) {
		static const char *const oc[] = { "CN", "VN", "TH", "IN", "MY", "ID", "BD", "KH" };
		origin = oc[rng_below(r, NELEM(oc))];
	}
	/* land crossings carry goods of other origins: Mexican goods trucked in
	 * through Canada, Asian goods assembled or transshipped in Mexico */
	double uo = rng_unit(&side);
	if (truck_ca && uo < 0.05)
		origin = "MX";
	else if (truck_mx && uo < 0.04)
		origin = uo < 0.025 ? "CN" : "VN";
	w = put(w, origin, 2);
	*w++ = ',';
	w = put(w, shp->cc, 2);
	*w++ = ',';
	/* importer */
	int imp_id = !rng_chance(r, 0.10);
	char *imp_at = w;
	if (imp_id)
		w = put(w, imp->id, imp->idlen);
	*w++ = ',';
	char *name_at = w;
	w = put_name(w, r, imp, imp_id);
	double ui = rng_unit(&side);
	if (imp_id && ui < 0.003) {
		/* an importer number that does not exist with a CTPAT member's
		 * name: the member's IRS number with another suffix (every listed
		 * one ends in 00), as misuse or a keying slip gives */
		const party *m = pool_pick(c, &side, PL_IMP_CT);
		w = put(imp_at, m->id, (size_t)m->idlen - 2);
		*w++ = '0';
		*w++ = (char)('1' + rng_below(&side, 9));
		*w++ = ',';
		w = put_name(w, &side, m, 1);
	} else if (imp_id && ui < 0.0032 && s->carrier && s->carrier->id) {
		/* the carrier's SCAC keyed into the importer column */
		char nm[512];
		size_t nl = (size_t)(w - name_at);
		memcpy(nm, name_at, nl);
		w = put(imp_at, s->carrier->id, s->carrier->idlen);
		*w++ = ',';
		w = put(w, nm, nl);
	}
	*w++ = ',';
	/* shipper and manufacturer */
	int shp_id = !rng_chance(r, 0.10);
	if (shp_id)
		w = put(w, shp->id, shp->idlen);
	*w++ = ',';
	w = put_name(w, r, shp, shp_id);
	*w++ = ',';
	/* a manufacturer id only for a shipper listed as a manufacturer: an
	 * exporter's id there is one the engine rightly ignores (wrong role) */
	if (rp->shp_mfr && shp->listed_mfr && (shp_id || rp->chain))
		w = put(w, shp->id, shp->idlen);
	*w++ = ',';
	/* consignee: the importer, a warehouse, or nothing */
	double u = rng_unit(r);
	if (u < 0.65) {
		w = put_name(w, r, imp, 0);
	} else if (u < 0.90) {
		const pool *pl = &c->po->pools[PL_IMP_UNK];
		const party *wh = &c->po->p[pl->ix[rng_below(r, pl->n)]];
		w = put(w, wh->var[0], wh->vlen[0]);
	}
	*w++ = ',';
	if (s->carrier && s->carrier->id && !rng_chance(r, 0.015))
		w = put(w, s->carrier->id, s->carrier->idlen);
	*w++ = ',';
	if (s->fwd)
		w = put(w, s->fwd->id, s->fwd->idlen);
	*w++ = ',';
	w = put_desc_and_numbers(w, r, &side, s, shp);
	*w++ = ',';

	/* filed_at, departure_at */
	int64_t filed = INT64_MIN, dep = s->dep;
	int64_t arr = (int64_t)s->day * 86400;
	switch (s->mode) {
	case M_VESSEL: {
		double f = rng_unit(r);
		if (f < 0.003) /* exactly 24 hours: on time */
			filed = dep - 86400;
		else if (f < 0.033) /* late: less than 24 hours before departure */
			filed = dep - 86400 + 60 * (1 + (int64_t)rng_below(r, 1800)) + rng_below(r, 60);
		else {
			double g = rng_unit(r);
			filed = dep - 86400 - 60 * (1 + (int64_t)(g * g * 8640)) - rng_below(r, 60);
		}
		/* rarely a filing timestamp is missing (FILING_UNKNOWN) */
		double um = rng_unit(&side);
		if (um < 0.004)
			filed = INT64_MIN;
		else if (um < 0.005)
			dep = INT64_MIN;
		break;
	}
	case M_AIR:
		if (dep != INT64_MIN)
			filed = dep - 60 * (30 + (int64_t)rng_below(r, 1440));
		else if (rng_chance(r, 0.4))
			filed = arr - 3600 * (4 + (int64_t)rng_below(r, 20));
		break;
	case M_TRUCK:
		if (!rng_chance(r, 0.15))
			filed = (dep != INT64_MIN ? dep : arr + 3600 * (6 + (int64_t)rng_below(r, 14))) -
			        60 * (60 + (int64_t)rng_below(r, 360));
		break;
	default:
		if (!rng_chance(r, 0.3))
			filed = (dep != INT64_MIN ? dep : arr) - 3600 * (2 + (int64_t)rng_below(r, 22));
		break;
	}
	int tz = shp->ci->tz;
	if (filed != INT64_MIN)
		w = put_ts(w, filed, s->ts_style, tz);
	*w++ = ',';
	if (dep != INT64_MIN)
		w = put_ts(w, dep, s->ts_style, tz);
	*w++ = '\n';
	out->len = (size_t)(w - out->p);
}

static void set_master_vessel(const gen_ctx *c, ship *s, uint64_t ev)
{
	char *m = s->master;
	memcpy(m, s->carrier->id, 4);
	put_fixed(m + 4, perm10(ev, c->mb_key), 10);
	s->master_len = 14;
}

static void set_container(const gen_ctx *c, rng *r, ship *s, uint64_t ev)
{
	const party *own = s->carrier;
	if (!own->owner[0] || rng_chance(r, 0.25)) {
		const pool *pl = &c->po->pools[PL_LEASE];
		own = &c->po->p[pl->ix[rng_below(r, pl->n)]];
	}
	char *k = s->cont;
	memcpy(k, own->owner, 4);
	put_fixed(k + 4, perm10(ev, c->ct_key) % 1000000ull, 6);
	k[10] = iso6346_check(k);
	s->cont_len = 11;
}

static int pick_ts_style(rng *r)
{
	double u = rng_unit(r);
	return u < 0.85 ? 0 : u < 0.95 ? 1 : 2;
}

static const party *pick_fwd(const gen_ctx *c, rng *r)
{
	return pool_pick(c, r, rng_chance(r, 0.5) ? PL_FWD_CT : PL_FWD_UNK);
}

/* Vessel shipment skeleton for shipper shp (lading from its country). */
static void vessel_ship(const gen_ctx *c, rng *r, ship *s, const party *shp, uint64_t ev, int lcl)
{
	memset(s, 0, sizeof *s);
	s->mode = M_VESSEL;
	s->lcl = lcl;
	s->day = pick_day(c, r);
	s->carrier = pool_pick(c, r, PL_SEA);
	s->fwd = lcl || rng_chance(r, 0.45) ? pick_fwd(c, r) : NULL;
	s->load = lcl ? "LCL" : "FCL";
	if (rng_chance(r, lcl ? 0.88 : 0.85))
		set_master_vessel(c, s, ev);
	if (lcl || rng_chance(r, 0.97))
		set_container(c, r, s, ev);
	s->lading = pick_code(r, shp->ci->ports);
	int rg = shp->ci->region;
	s->unlading = rng_below(r, 100) < g_transit[rg].west_pct ? pick_wcode(r, g_us_west, NELEM(g_us_west))
	                                                         : pick_wcode(r, g_us_east, NELEM(g_us_east));
	int32_t tr = g_transit[rg].lo + (int32_t)rng_below(r, (uint32_t)(g_transit[rg].hi - g_transit[rg].lo + 1));
	s->dep = (int64_t)(s->day - tr) * 86400 + 60 * (int64_t)rng_below(r, 1440);
	s->ts_style = pick_ts_style(r);
}

static void fcl_vessel_row(const gen_ctx *c, rng *r, gbuf *out, uint64_t gidx)
{
	ship s;
	rowp rp = { 0 };
	rp.shp = pick_overseas_shipper(c, r, M_VESSEL);
	rp.imp = pick_importer(c, r);
	rp.shp_mfr = rng_chance(r, 0.6);
	vessel_ship(c, r, &s, rp.shp, gidx, 0);
	emit_row(c, r, out, gidx, &s, &rp);
}

/* Emit one event (one shipment, or one LCL consolidation) at row gidx; at
 * most `room` rows. Returns the number of rows written. */
static uint32_t gen_event(const gen_ctx *c, rng *r, gbuf *out, uint64_t gidx, uint32_t room)
{
	double u = rng_unit(r) * (c->ev_w[0] + c->ev_w[1] + c->ev_w[2] + c->ev_w[3]);
	int mode = u < c->ev_w[0] ? M_VESSEL : u < c->ev_w[0] + c->ev_w[1] ? M_TRUCK
	         : u < c->ev_w[0] + c->ev_w[1] + c->ev_w[2] ? M_AIR : M_RAIL;
	ship s;
	rowp rp = { 0 };
	if (mode == M_VESSEL) {
		if (!rng_chance(r, 0.0789)) {
			fcl_vessel_row(c, r, out, gidx);
			return 1;
		}
		/* LCL consolidation: 2-8 house bills in one container under one master */
		uint32_t k = 2 + rng_below(r, 7);
		if (k > room)
			k = room;
		const party *first = pick_overseas_shipper(c, r, M_VESSEL);
		vessel_ship(c, r, &s, first, gidx, 1);
		uint32_t split = k >= 3 && k < room && rng_chance(r, 0.12) ? 1 + rng_below(r, k - 1) : k;
		uint32_t done = 0;
		for (uint32_t i = 0; i < k; i++) {
			if (i == split) { /* an unrelated bill lands in the middle */
				fcl_vessel_row(c, r, out, gidx + done);
				done++;
			}
			const party *shp = first;
			if (i) { /* the CFS mostly consolidates shippers of its own country */
				const pool *cp = &c->po->by_country[country_index(first->ci)];
				if (cp->n > 1 && rng_chance(r, 0.85))
					shp = &c->po->p[cp->ix[rng_skew(r, cp->n)]];
				else
					shp = pick_overseas_shipper(c, r, M_VESSEL);
			}
			rp.shp = shp;
			rp.imp = pick_importer(c, r);
			rp.shp_mfr = rng_chance(r, 0.5);
			emit_row(c, r, out, gidx + done, &s, &rp);
			done++;
		}
		return done;
	}
	memset(&s, 0, sizeof s);
	s.mode = mode;
	s.day = pick_day(c, r);
	s.ts_style = pick_ts_style(r);
	int64_t arr = (int64_t)s.day * 86400;
	if (mode == M_AIR) {
		rp.shp = pick_overseas_shipper(c, r, M_AIR);
		rp.imp = pick_importer(c, r);
		rp.shp_mfr = rng_chance(r, 0.5);
		s.carrier = pool_pick(c, r, PL_AIR);
		s.fwd = rng_chance(r, 0.7) ? pick_fwd(c, r) : NULL;
		s.lading = pick_code(r, rp.shp->ci->air);
		s.unlading = pick_wcode(r, g_us_air, NELEM(g_us_air));
		char *m = s.master; /* air waybill: airline prefix, serial, check digit */
		m = put_fixed(m, s.carrier->awb, 3);
		*m++ = '-';
		uint64_t ser = perm10(gidx, c->mb_key) % 10000000ull;
		m = put_fixed(m, ser, 7);
		*m++ = (char)('0' + ser % 7);
		s.master_len = (uint8_t)(m - s.master);
		if (!rng_chance(r, 0.15))
			s.dep = arr - 3600 * (2 + (int64_t)rng_below(r, 40)) - 60 * (int64_t)rng_below(r, 60);
		else
			s.dep = INT64_MIN;
		emit_row(c, r, out, gidx, &s, &rp);
		return 1;
	}
	/* land: truck or rail from Mexico or Canada */
	int mx = rng_chance(r, mode == M_TRUCK ? 0.65 : 0.55);
	s.lading = pick_code(r, mx ? g_mx_border : g_ca_border);
	s.unlading = mx ? pick_wcode(r, g_us_land_mx, NELEM(g_us_land_mx))
	                : pick_wcode(r, g_us_land_ca, NELEM(g_us_land_ca));
	if (mode == M_TRUCK) {
		if (rng_chance(r, 0.45)) { /* FAST: CTPAT importer, carrier and (MX) manufacturer */
			rp.chain = 1;
			rp.imp = pool_pick(c, r, PL_IMP_CT);
			s.carrier = pool_pick(c, r, PL_HWY_CT);
			rp.shp = mx || rng_chance(r, 0.7) ? pool_pick(c, r, mx ? PL_MFR_MX : PL_MFR_CA)
			                                   : pick_land_shipper(c, r, mx, 0.0);
			rp.shp_mfr = 1;
		} else {
			rp.imp = pick_importer(c, r);
			s.carrier = pool_pick(c, r, rng_chance(r, 0.55) ? PL_HWY_CT : PL_HWY_UNK);
			rp.shp = pick_land_shipper(c, r, mx, 0.5);
			rp.shp_mfr = rng_chance(r, 0.7);
		}
		s.fwd = rng_chance(r, 0.25) ? pick_fwd(c, r) : NULL;
		s.load = NULL;
		if (rng_chance(r, 0.4))
			s.dep = arr + 3600 * (5 + (int64_t)rng_below(r, 12)) - 60 * (int64_t)rng_below(r, 600);
		else
			s.dep = INT64_MIN;
	} else {
		rp.imp = pick_importer(c, r);
		rp.shp = pick_land_shipper(c, r, mx, 0.55);
		rp.shp_mfr = rng_chance(r, 0.6);
		s.carrier = pool_pick(c, r, PL_RAIL);
		s.fwd = rng_chance(r, 0.1) ? pick_fwd(c, r) : NULL;
		if (rng_chance(r, 0.5)) { /* intermodal container */
			s.load = "FCL";
			set_container(c, r, &s, gidx);
		}
		s.dep = rng_chance(r, 0.5) ? arr - 3600 * (6 + (int64_t)rng_below(r, 40)) : INT64_MIN;
	}
	emit_row(c, r, out, gidx, &s, &rp);
	return 1;
}

static void gen_block(const gen_ctx *c, uint64_t b, gbuf *out)
{
	rng r;
	rng_init(&r, c->seed, b);
	out->len = 0;
	if (b == 0)
		gb_put(out, g_header, sizeof g_header - 1);
	uint64_t row0 = b * BLOCK_ROWS;
	uint32_t n = (uint32_t)(c->rows - row0 < BLOCK_ROWS ? c->rows - row0 : BLOCK_ROWS);
	uint32_t i = 0;
	while (i < n)
		i += gen_event(c, &r, out, row0 + i, n - i);
}

static void gen_ctx_init(gen_ctx *c, const popul *po, uint64_t seed, uint64_t rows)
{
	memset(c, 0, sizeof *c);
	c->po = po;
	c->seed = seed;
	c->rows = rows;
	c->nblocks = rows ? (rows + BLOCK_ROWS - 1) / BLOCK_ROWS : 1;
	c->day0 = D_ARR0;
	c->ndays = (uint32_t)(D_ARR1 - D_ARR0 + 1);
	c->day_cdf = xcalloc(c->ndays, sizeof *c->day_cdf);
	static const double month_w[12] = { 0.93, 0.84, 0.95, 0.97, 1.0, 1.0, 1.03, 1.08, 1.1, 1.1, 1.04, 0.96 };
	double acc = 0;
	for (uint32_t i = 0; i < c->ndays; i++) {
		int y, m, d;
		er_civil_from_days(D_ARR0 + (int32_t)i, &y, &m, &d);
		double w = month_w[m - 1] * (1.0 + 0.03 * (y - 2019));
		if (y == 2020 && m >= 3 && m <= 5)
			w *= 0.78; /* 2020 slump, then the 2021 surge */
		if (y == 2021)
			w *= 1.12;
		acc += w;
		c->day_cdf[i] = acc;
	}
	/* vessel events carry 1 + p*4 rows on average (LCL groups of 2-8, p = 0.0789) */
	c->ev_w[M_VESSEL] = 70.0 / (1.0 + 0.0789 * 4.0);
	c->ev_w[M_TRUCK] = 15;
	c->ev_w[M_AIR] = 10;
	c->ev_w[M_RAIL] = 5;
	uint64_t x = seed ^ 0x1D5EEDull;
	c->id_key = splitmix64(&x);
	c->mb_key = splitmix64(&x);
	c->ct_key = splitmix64(&x);
}

/* "The following month of the same world": the tables and trade mix stay
 * those of --seed; the rows come from row_seed (new ids, new draws) and
 * arrive only on days lo..hi, weighted as before. */
static void gen_ctx_window(gen_ctx *c, uint64_t row_seed, int32_t lo, int32_t hi)
{
	c->seed = row_seed;
	uint64_t x = row_seed ^ 0x1D5EEDull ^ 0x524F5753ull;
	c->id_key = splitmix64(&x);
	c->mb_key = splitmix64(&x);
	c->ct_key = splitmix64(&x);
	uint32_t off = (uint32_t)(lo - c->day0), n = (uint32_t)(hi - lo + 1);
	double base = off ? c->day_cdf[off - 1] : 0.0;
	for (uint32_t i = 0; i < n; i++)
		c->day_cdf[i] = c->day_cdf[off + i] - base;
	c->day0 = lo;
	c->ndays = n;
}

/* ------------------------------------------------------------------ */
/* Parallel generation, compression and ordered output                  */
/* ------------------------------------------------------------------ */

enum { SLOT_FREE, SLOT_BUSY, SLOT_READY };

typedef struct slot {
	int state;
	uint64_t block;
	gbuf raw, comp;
	uint32_t crc;
} slot;

typedef struct run {
	gen_ctx *gc;
	int plain, level, members;
	uint64_t next_block;
	slot *slots;
	uint32_t nslots;
	pthread_mutex_t mu;
	pthread_cond_t changed;
} run;

/* Member of block b when `members` members share nb blocks (one block at least each). */
static uint64_t member_of(uint64_t b, uint64_t nb, uint64_t members)
{
	uint64_t k = members < nb ? members : nb;
	return b * k / nb;
}

static int ends_member(uint64_t b, uint64_t nb, uint64_t members)
{
	return b + 1 == nb || member_of(b + 1, nb, members) != member_of(b, nb, members);
}

static void deflate_segment(z_stream *zs, const char *in, size_t n, int finish, gbuf *out)
{
	if (deflateReset(zs) != Z_OK)
		die("deflateReset failed", NULL);
	out->len = 0;
	gb_reserve(out, deflateBound(zs, (uLong)n) + 64);
	zs->next_in = (const Bytef *)in;
	zs->avail_in = (uInt)n;
	for (;;) {
		zs->next_out = (Bytef *)out->p + out->len;
		zs->avail_out = (uInt)(out->cap - out->len);
		int rc = deflate(zs, finish ? Z_FINISH : Z_SYNC_FLUSH);
		out->len = out->cap - zs->avail_out;
		if (rc == Z_STREAM_ERROR)
			die("deflate failed", NULL);
		if (finish ? rc == Z_STREAM_END : zs->avail_out != 0)
			break;
		gb_reserve(out, out->cap);
	}
}

static void *worker(void *arg)
{
	run *ru = arg;
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (!ru->plain && deflateInit2(&zs, ru->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2 failed", NULL);
	uint64_t nb = ru->gc->nblocks;
	for (;;) {
		pthread_mutex_lock(&ru->mu);
		if (ru->next_block >= nb) {
			pthread_mutex_unlock(&ru->mu);
			break;
		}
		uint64_t b = ru->next_block++;
		slot *s = &ru->slots[b % ru->nslots];
		while (!(s->state == SLOT_FREE && s->block == b))
			pthread_cond_wait(&ru->changed, &ru->mu);
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&ru->mu);

		gen_block(ru->gc, b, &s->raw);
		if (!ru->plain) {
			s->crc = (uint32_t)crc32_z(0, (const Bytef *)s->raw.p, s->raw.len);
			deflate_segment(&zs, s->raw.p, s->raw.len, ends_member(b, nb, (uint64_t)ru->members), &s->comp);
		}

		pthread_mutex_lock(&ru->mu);
		s->state = SLOT_READY;
		pthread_cond_broadcast(&ru->changed);
		pthread_mutex_unlock(&ru->mu);
	}
	if (!ru->plain)
		deflateEnd(&zs);
	return NULL;
}

static void write_all(int fd, const void *p, size_t n, const char *path)
{
	const char *c = p;
	while (n) {
		ssize_t k = write(fd, c, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die(strerror(errno), path);
		}
		c += k;
		n -= (size_t)k;
	}
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void gzip_header(int fd, int level, const char *path)
{
	unsigned char h[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 }; /* no name, mtime 0, Unix */
	h[8] = level == 9 ? 2 : level == 1 ? 4 : 0;
	write_all(fd, h, sizeof h, path);
}

static void gzip_trailer(int fd, uint32_t crc, uint64_t isize, const char *path)
{
	unsigned char t[8];
	put_le32(t, crc);
	put_le32(t + 4, (uint32_t)isize);
	write_all(fd, t, sizeof t, path);
}

/* Generate every block on `threads` workers and write them in order. Returns CSV bytes. */
static uint64_t produce(gen_ctx *gc, int threads, int plain, int level, int members, int fd,
                        const char *path)
{
	run ru;
	memset(&ru, 0, sizeof ru);
	ru.gc = gc;
	ru.plain = plain;
	ru.level = level;
	ru.members = members;
	ru.nslots = (uint32_t)threads * 2 + 2;
	ru.slots = xcalloc(ru.nslots, sizeof *ru.slots);
	for (uint32_t i = 0; i < ru.nslots; i++)
		ru.slots[i].block = i;
	pthread_mutex_init(&ru.mu, NULL);
	pthread_cond_init(&ru.changed, NULL);
	pthread_t *tid = xcalloc((size_t)threads, sizeof *tid);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, &ru) != 0)
			die("cannot start thread", NULL);

	uint64_t nb = gc->nblocks, csv = 0, msize = 0;
	uint32_t mcrc = 0;
	for (uint64_t b = 0; b < nb; b++) {
		slot *s = &ru.slots[b % ru.nslots];
		pthread_mutex_lock(&ru.mu);
		while (!(s->state == SLOT_READY && s->block == b))
			pthread_cond_wait(&ru.changed, &ru.mu);
		pthread_mutex_unlock(&ru.mu);

		csv += s->raw.len;
		if (plain) {
			write_all(fd, s->raw.p, s->raw.len, path);
		} else {
			if (b == 0 || ends_member(b - 1, nb, (uint64_t)members)) {
				gzip_header(fd, level, path);
				mcrc = 0;
				msize = 0;
			}
			write_all(fd, s->comp.p, s->comp.len, path);
			mcrc = (uint32_t)crc32_combine(mcrc, s->crc, (z_off_t)s->raw.len);
			msize += s->raw.len;
			if (ends_member(b, nb, (uint64_t)members))
				gzip_trailer(fd, mcrc, msize, path);
		}

		pthread_mutex_lock(&ru.mu);
		s->state = SLOT_FREE;
		s->block = b + ru.nslots;
		pthread_cond_broadcast(&ru.changed);
		pthread_mutex_unlock(&ru.mu);
	}
	if (!plain) { /* more members than blocks: the rest are empty members */
		for (uint64_t m = nb; m < (uint64_t)members; m++) {
			static const unsigned char empty[2] = { 3, 0 };
			gzip_header(fd, level, path);
			write_all(fd, empty, 2, path);
			gzip_trailer(fd, 0, 0, path);
		}
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	for (uint32_t i = 0; i < ru.nslots; i++) {
		free(ru.slots[i].raw.p);
		free(ru.slots[i].comp.p);
	}
	free(ru.slots);
	free(tid);
	pthread_mutex_destroy(&ru.mu);
	pthread_cond_destroy(&ru.changed);
	return csv;
}

/* ------------------------------------------------------------------ */
/* Files and command line                                               */
/* ------------------------------------------------------------------ */

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = xcalloc(n, 1);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *path_tmp(const char *path)
{
	size_t n = strlen(path) + 8;
	char *p = xcalloc(n, 1);
	snprintf(p, n, "%s.tmp", path);
	return p;
}

static int open_out(const char *tmp)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(strerror(errno), tmp);
	return fd;
}

static void close_commit(int fd, const char *tmp, const char *path)
{
	if (close(fd) != 0)
		die(strerror(errno), tmp);
	if (rename(tmp, path) != 0)
		die(strerror(errno), path);
}

static void write_file(const char *dir, const char *name, const char *p, size_t n)
{
	char *path = path_join(dir, name), *tmp = path_tmp(path);
	int fd = open_out(tmp);
	write_all(fd, p, n, tmp);
	close_commit(fd, tmp, path);
	free(path);
	free(tmp);
}

/* ------------------------------------------------------------------ */
/* A made-up restricted-party list in OFAC's SDN file format (--sdn N)  */
/* ------------------------------------------------------------------ */

/* Syllables of the invented listed names: unlike the population's, so that a
 * hit on a manifest comes from a planted name, not from chance. */
static const char *const sdn_syl[] = {
	"ZAR", "QAW", "BEL", "OV", "KHAL", "RAZ", "MIR", "DAV", "TOR", "VEK", "SOL", "NAZ",
	"KOR", "VEX", "DRA", "GUL", "RAS", "TAM", "YUR", "ZEN", "BAH", "RUD", "SHAR", "FAD",
	"ILY", "MAK", "OR", "AN", "EV", "IN", "AD", "UL",
};
static const char *const sdn_given[] = {
	"Muhammad", "Yusuf", "Ali", "Hassan", "Ivan", "Sergei", "Carlos", "Jose", "Ahmad",
	"Omar", "Dmitri", "Kim", "Reza", "Hamid", "Luis", "Viktor", "Khalid", "Samir",
};
static const char *const sdn_kind[] = {
	"TRADING", "GENERAL TRADING", "INDUSTRIAL GROUP", "SHIPPING", "PETROLEUM", "HOLDINGS",
	"BANK", "INVESTMENT COMPANY", "ELECTRONICS", "LOGISTICS", "EXCHANGE", "AIRLINES",
};
static const char *const sdn_form[] = { "", " LLC", " LTD", " FZE", " CO", " SA", " JSC" };

static void sdn_word(rng *r, char *out, size_t cap, int title)
{
	out[0] = '\0';
	int k = 2 + (int)rng_below(r, 2);
	for (int i = 0; i < k; i++)
		cat(out, cap, sdn_syl[rng_below(r, NELEM(sdn_syl))]);
	if (title)
		recase(out, 1);
}

/* A CSV-encoded party spelling back to its text. */
static size_t csv_text(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	if (n && v[0] == '"') {
		for (size_t i = 1; i + 1 < n && o + 1 < cap; i++) {
			out[o++] = v[i];
			if (v[i] == '"')
				i++;
		}
	} else {
		for (size_t i = 0; i < n && o + 1 < cap; i++)
			out[o++] = v[i];
	}
	out[o] = '\0';
	return o;
}

/* One OFAC-style field: quoted text, or the unquoted empty mark "-0- ". */
static void sdn_field(gbuf *b, const char *s)
{
	if (!s || !*s) {
		gb_puts(b, "-0- ");
		return;
	}
	gb_put(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			gb_put(b, "\"", 1);
		gb_put(b, s, 1);
	}
	gb_put(b, "\"", 1);
}

/* sdn.csv, alt.csv, add.csv with n entries, every one invented (program
 * FAKE-GEN, says so in its remarks). About one in a thousand is the table
 * name of a non-participant overseas shipper or a consignee warehouse of the
 * population, so a run with --sdn finds some shipments to stop. */
static void write_sdn(const char *dir, const popul *po, uint64_t seed, uint32_t n)
{
	rng r;
	rng_init(&r, seed ^ 0x5D4F4B45ull, 7);
	gbuf sdn = { 0 }, alt = { 0 }, add = { 0 };
	const pool *os = &po->pools[PL_UNK_OS], *wh = &po->pools[PL_IMP_UNK];
	uint32_t alt_num = 1, add_num = 1;
	for (uint32_t i = 0; i < n; i++) {
		int32_t ent = (int32_t)(10000 + i * 7 + rng_below(&r, 7));
		char name[256], alias[256] = "", num[24];
		const char *type = NULL;
		double u = rng_unit(&r);
		if (u < 0.0008 && os->n) { /* a planted shipper */
			const party *p = &po->p[os->ix[rng_below(&r, os->n)]];
			csv_text(p->var[0], p->vlen[0], name, sizeof name);
			if (rng_chance(&r, 0.5))
				csv_text(p->var[1], p->vlen[1], alias, sizeof alias);
		} else if (u < 0.001 && wh->n) { /* a planted consignee */
			const party *p = &po->p[wh->ix[rng_below(&r, wh->n)]];
			csv_text(p->var[0], p->vlen[0], name, sizeof name);
		} else if (u < 0.48) { /* an individual: "SURNAME, Given Given" */
			char sur[64], g2[64];
			sdn_word(&r, sur, sizeof sur, 0);
			const char *g1 = sdn_given[rng_below(&r, NELEM(sdn_given))];
			snprintf(g2, sizeof g2, "%s", rng_chance(&r, 0.5) ? sdn_given[rng_below(&r, NELEM(sdn_given))] : "");
			snprintf(name, sizeof name, "%s, %s%s%s", sur, g1, g2[0] ? " " : "", g2);
			type = "individual";
			if (rng_chance(&r, 0.35)) /* the same person written in the other order */
				snprintf(alias, sizeof alias, "%s%s%s %s", g1, g2[0] ? " " : "", g2, sur);
		} else if (u < 0.95) { /* an entity */
			char w[64];
			sdn_word(&r, w, sizeof w, 0);
			snprintf(name, sizeof name, "%s %s%s", w, sdn_kind[rng_below(&r, NELEM(sdn_kind))],
			         sdn_form[rng_below(&r, NELEM(sdn_form))]);
			if (rng_chance(&r, 0.3)) {
				char w2[64];
				sdn_word(&r, w2, sizeof w2, 0);
				snprintf(alias, sizeof alias, "%s %s", w, w2);
			}
		} else { /* vessels and aircraft: listed, not parties */
			char w[64];
			sdn_word(&r, w, sizeof w, 0);
			int ves = rng_chance(&r, 0.8);
			snprintf(name, sizeof name, "%s %s", w, ves ? "STAR" : "AIR");
			type = ves ? "vessel" : "aircraft";
		}
		snprintf(num, sizeof num, "%d,", (int)ent);
		gb_puts(&sdn, num);
		sdn_field(&sdn, name);
		gb_puts(&sdn, ",");
		sdn_field(&sdn, type);
		gb_puts(&sdn, ",");
		sdn_field(&sdn, rng_chance(&r, 0.2) ? "FAKE-GEN] [FAKE-GEN2" : "FAKE-GEN");
		for (int k = 0; k < 7; k++) { /* Title .. Vess_owner */
			gb_puts(&sdn, ",");
			sdn_field(&sdn, NULL);
		}
		gb_puts(&sdn, ",");
		sdn_field(&sdn, "Generated by examrisk-gen; not the OFAC SDN list.");
		gb_puts(&sdn, "\r\n");
		if (alias[0]) {
			snprintf(num, sizeof num, "%d,%u,", (int)ent, alt_num++);
			gb_puts(&alt, num);
			sdn_field(&alt, "aka");
			gb_puts(&alt, ",");
			sdn_field(&alt, alias);
			gb_puts(&alt, ",");
			sdn_field(&alt, NULL);
			gb_puts(&alt, "\r\n");
		}
		if (rng_chance(&r, 0.5)) {
			char city[40];
			const country *ci = &g_countries[rng_below(&r, (uint32_t)NCOUNTRIES)];
			snprintf(num, sizeof num, "%d,%u,", (int)ent, add_num++);
			gb_puts(&add, num);
			sdn_field(&add, NULL);
			gb_puts(&add, ",");
			sdn_field(&add, pick_city(&r, ci, city, sizeof city));
			gb_puts(&add, ",");
			sdn_field(&add, NULL);
			gb_puts(&add, ",");
			sdn_field(&add, NULL);
			gb_puts(&add, "\r\n");
		}
	}
	/* OFAC's files end with a DOS end-of-file byte */
	gb_puts(&sdn, "\x1a");
	gb_puts(&alt, "\x1a");
	gb_puts(&add, "\x1a");
	write_file(dir, "sdn.csv", sdn.p, sdn.len);
	write_file(dir, "alt.csv", alt.p, alt.len);
	write_file(dir, "add.csv", add.p, add.len);
	free(sdn.p);
	free(alt.p);
	free(add.p);
}

static void mkdirs(const char *dir)
{
	char *d = xcalloc(strlen(dir) + 1, 1);
	strcpy(d, dir);
	for (char *p = d + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(d, 0755) != 0 && errno != EEXIST)
				die(strerror(errno), d);
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		die("not a directory", dir);
	free(d);
}

/* ------------------------------------------------------------------ */
/* --ams DIR: the same population as a CBP AMS release                  */
/* ------------------------------------------------------------------ */

/* Every vessel row of the manifest becomes one bill (identifier), written to
 * the tables of a release as the public data has them: unsorted by
 * identifier (unless --ams-sorted), several containers and description lines
 * for some bills, weights in LB for some, rows missing from some tables.
 * DIR/expected-canonical.csv holds what `examrisk ams` must give for it:
 * "identifier," then the canonical row, in generation order (sort by the
 * first field to compare). The projection, field by field, is in README.md
 * ("AMS release") and below. */

#define AMS_PERIOD "2020__202001011500"
#define AMS_NF 26

enum { AT_HEADER, AT_BILL, AT_SHIPPER, AT_CONSIGNEE, AT_NOTIFY, AT_CONTAINER, AT_DESC, AT_TARIFF,
       AT_EXPECTED, NAT };
static const char *const g_ams_table[NAT] = { "header", "billgen", "shipper", "consignee",
	"notifyparty", "container", "cargodesc", "tariff", NULL };
static const char *const g_ams_cols[NAT] = {
	"identifier,carrier_code,vessel_country_code,vessel_name,port_of_unlading,estimated_arrival_date,"
	"foreign_port_of_lading_qualifier,foreign_port_of_lading,manifest_quantity,manifest_unit,weight,"
	"weight_unit,measurement,measurement_unit,record_status_indicator,place_of_receipt,"
	"port_of_destination,foreign_port_of_destination_qualifier,foreign_port_of_destination,"
	"conveyance_id_qualifier,conveyance_id,in_bond_entry_type,mode_of_transportation,"
	"secondary_notify_party_1,secondary_notify_party_2,secondary_notify_party_3,"
	"secondary_notify_party_4,secondary_notify_party_5,secondary_notify_party_6,"
	"secondary_notify_party_7,secondary_notify_party_8,secondary_notify_party_9,"
	"secondary_notify_party_10,actual_arrival_date\n",
	"identifier,master_bol_number,house_bol_number,sub_house_bol_number,voyage_number,bill_type_code,"
	"manifest_number,trade_update_date,run_date\n",
	"identifier,shipper_party_name,shipper_party_address_1,shipper_party_address_2,"
	"shipper_party_address_3,shipper_party_address_4,city,state_province,zip_code,country_code,"
	"contact_name,comm_number_qualifier,comm_number\n",
	"identifier,consignee_name,consignee_address_1,consignee_address_2,consignee_address_3,"
	"consignee_address_4,city,state_province,zip_code,country_code,contact_name,"
	"comm_number_qualifier,comm_number\n",
	"identifier,notify_party_name,notify_party_address_1,notify_party_address_2,"
	"notify_party_address_3,notify_party_address_4,city,state_province,zip_code,country_code,"
	"contact_name,comm_number_qualifier,comm_number\n",
	"identifier,container_number,seal_number_1,seal_number_2,equipment_description_code,"
	"container_length,container_height,container_width,container_type,load_status,type_of_service\n",
	"identifier,container_number,description_sequence_number,piece_count,description_text\n",
	"identifier,container_number,description_sequence_number,harmonized_number,harmonized_value,"
	"harmonized_weight,harmonized_weight_unit\n",
	NULL,
};

/* Schedule K prefix per country, from the table examrisk reads. */
typedef struct skp {
	char cc[3];
	char prefix[4];
} skp;

static skp *g_skp;
static size_t g_nskp;

static void schedk_load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die(strerror(errno), path);
	char line[1024];
	int header = 1;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (header) {
			header = 0;
			continue;
		}
		if (strlen(line) < 7 || line[3] != ',' || line[6] != ',')
			die("bad Schedule K table row", path);
		g_skp = xrealloc(g_skp, (g_nskp + 1) * sizeof *g_skp);
		memcpy(g_skp[g_nskp].prefix, line, 3);
		g_skp[g_nskp].prefix[3] = '\0';
		memcpy(g_skp[g_nskp].cc, line + 4, 2);
		g_skp[g_nskp].cc[2] = '\0';
		g_nskp++;
	}
	fclose(f);
}

static const char *schedk_prefix(const char *cc)
{
	for (size_t i = 0; i < g_nskp; i++)
		if (g_skp[i].cc[0] == cc[0] && g_skp[i].cc[1] == cc[1])
			return g_skp[i].prefix;
	return NULL;
}

/* One CSV record of the generated manifest, unquoted into st. Returns the
 * number of fields (0 at the end); f[i] points into st. */
static int ams_row(const char *s, size_t n, size_t *pos, er_buf *st, er_field *f, int maxf)
{
	size_t i = *pos;
	if (i >= n)
		return 0;
	st->len = 0;
	if (er_buf_reserve(st, n - i + 1) < 0)
		die("out of memory", NULL);
	size_t start[64];
	int nf = 0, q = 0;
	start[0] = 0;
	for (;;) {
		if (i >= n || (!q && (s[i] == '\n' || s[i] == ','))) {
			if (nf < maxf) {
				f[nf].p = st->p + start[nf];
				f[nf].n = st->len - start[nf];
			}
			nf++;
			if (i >= n || s[i] == '\n') {
				i += i < n;
				break;
			}
			i++;
			if (nf < maxf)
				start[nf] = st->len;
			continue;
		}
		char c = s[i++];
		if (c == '"') {
			if (q && i < n && s[i] == '"')
				i++;
			else {
				q = !q;
				continue;
			}
		}
		st->p[st->len++] = c;
	}
	*pos = i;
	return nf;
}

static void gb_field(gbuf *b, const char *p, size_t n)
{
	er_buf e = { 0 };
	if (er_buf_csv_field(&e, p, n, ',') < 0)
		die("out of memory", NULL);
	if (e.len)
		gb_put(b, e.p, e.len);
	free(e.p);
}

static void gb_f(gbuf *b, er_field f)
{
	gb_field(b, f.p, f.n);
}

/* One bill of a block, as the expected projection needs it. */
typedef struct ams_bill {
	char id[16];
	char master[24], cont[12];
	uint8_t master_n, cont_n, house;
	size_t exp_a, exp_b;          /* expected row before / after load_type, in ex */
	uint32_t ord;
} ams_bill;

static int bill_group_cmp(const void *x, const void *y)
{
	const ams_bill *a = x, *b = y;
	int c = (int)a->master_n - (int)b->master_n;
	if (!c)
		c = memcmp(a->master, b->master, a->master_n);
	if (!c)
		c = (int)a->cont_n - (int)b->cont_n;
	if (!c)
		c = memcmp(a->cont, b->cont, a->cont_n);
	return c ? c : (a->ord > b->ord) - (a->ord < b->ord);
}

static int bill_group_cmp_key(const ams_bill *a, const ams_bill *b)
{
	return a->master_n != b->master_n || a->cont_n != b->cont_n ||
	       memcmp(a->master, b->master, a->master_n) || memcmp(a->cont, b->cont, a->cont_n);
}

static int bill_ord_cmp(const void *x, const void *y)
{
	const ams_bill *a = x, *b = y;
	return (a->ord > b->ord) - (a->ord < b->ord);
}

/* Manifest columns (the generator's header order). */
enum { GC_SID, GC_DATE, GC_MASTER, GC_CONT, GC_LOAD, GC_MODE, GC_LADING, GC_UNLADING, GC_ORIGIN,
       GC_SHPC, GC_IMPID, GC_IMPN, GC_SHPID, GC_SHPN, GC_MFR, GC_CONS, GC_SCAC, GC_FWD, GC_HS,
       GC_DESC, GC_VALUE, GC_KG, GC_QTY, GC_FILED, GC_DEP, GC_N };

static void trim_field(er_field *f)
{
	while (f->n && (f->p[0] == ' ' || f->p[0] == '\t'))
		f->p++, f->n--;
	while (f->n && (f->p[f->n - 1] == ' ' || f->p[f->n - 1] == '\t'))
		f->n--;
}

/* Convert one block of manifest text into table rows (tb[]) and the
 * expected canonical rows (tb[AT_EXPECTED]). */
static void ams_block(const gen_ctx *c, uint64_t b, const char *s, size_t n, int sorted, gbuf *tb,
                      er_buf *st, er_buf *ex, ams_bill **bills, size_t *cap)
{
	size_t pos = 0, nb = 0;
	er_field f[GC_N + 2];
	uint64_t gidx = b * BLOCK_ROWS;
	if (b == 0) /* the header row */
		ams_row(s, n, &pos, st, f, GC_N + 2);
	ex->len = 0;
	int nf;
	for (; (nf = ams_row(s, n, &pos, st, f, GC_N + 2)) > 0; gidx++) {
		if (nf != GC_N)
			die("generated row has the wrong field count", NULL);
		for (int i = 0; i < GC_N; i++)
			trim_field(&f[i]);
		er_field m = f[GC_MODE];
		if (!(er_ieq(m.p, m.n, "vessel") || er_ieq(m.p, m.n, "ocean") || er_ieq(m.p, m.n, "sea")))
			continue;
		rng r;
		rng_init(&r, c->seed ^ 0xA115u, gidx);
		if (nb == *cap) {
			*cap = *cap ? 2 * *cap : 1024;
			*bills = xrealloc(*bills, *cap * sizeof **bills);
		}
		ams_bill *bl = &(*bills)[nb];
		memset(bl, 0, sizeof *bl);
		bl->ord = (uint32_t)nb++;
		/* identifier: fixed width, in generation order with --ams-sorted, else permuted */
		snprintf(bl->id, sizeof bl->id, "2020%010llu",
		         (unsigned long long)(sorted ? gidx : perm10(gidx, c->id_key ^ 0xA115u)));
		er_field id = { bl->id, 14 };
		int has_bill = !rng_chance(&r, 0.01), has_shp = !rng_chance(&r, 0.02),
		    has_con = !rng_chance(&r, 0.03), has_desc = !rng_chance(&r, 0.03);
		int has_ntf = f[GC_CONS].n && rng_chance(&r, 0.5);
		er_field none = { "", 0 };
		er_field master = has_bill ? f[GC_MASTER] : none;
		er_field house = has_bill ? f[GC_SID] : none;
		er_field sid = house.n ? house : master.n ? master : id;

		/* lading: a Schedule K code (prefix of its country + 2 digits), else the UN/LOCODE */
		char sk[6];
		er_field lading = f[GC_LADING], origin = none;
		if (lading.n == 5) {
			origin = (er_field){ lading.p, 2 };
			const char *pre = schedk_prefix(lading.p);
			if (pre) {
				unsigned h = (unsigned)(hash_str(lading.p, 5) % 100);
				snprintf(sk, sizeof sk, "%s%02u", pre, h);
				lading = (er_field){ sk, 5 };
			}
		}
		/* weight: KG as generated, or LB for 30 % */
		char lb[40], kg[32] = "";
		er_field wv = f[GC_KG], wu = { "KG", 2 };
		if (wv.n) {
			if (rng_chance(&r, 0.3)) {
				double v = strtod(wv.p, NULL);
				snprintf(lb, sizeof lb, "%.1f", v / 0.45359237);
				wv = (er_field){ lb, strlen(lb) };
				wu = rng_chance(&r, 0.5) ? (er_field){ "LB", 2 } : (er_field){ "LBS", 3 };
			}
			if (er_ams_weight_kg(wv.p, wv.n, wu.p, wu.n, kg) < 0)
				die("bad generated weight", NULL);
		} else {
			wu = none;
		}
		/* dates: actual (some with a time) and estimated a day earlier, or estimated only */
		int32_t day;
		if (er_parse_date(f[GC_DATE].p, f[GC_DATE].n, &day) < 0)
			die("bad generated date", NULL);
		char est[11], act[20] = "";
		int with_act = !rng_chance(&r, 0.15);
		er_format_date(with_act ? day - 1 : day, est);
		if (with_act) {
			memcpy(act, f[GC_DATE].p, 10);
			if (rng_chance(&r, 0.2))
				memcpy(act + 10, " 14:05:00", 10);
			else
				act[10] = '\0';
		}

		gbuf *t = &tb[AT_HEADER];
		gb_f(t, id);
		gb_puts(t, ",");
		gb_f(t, f[GC_SCAC]);
		gb_puts(t, ",,GENERATED VESSEL,");
		gb_f(t, f[GC_UNLADING]);
		gb_puts(t, ",");
		gb_puts(t, est);
		gb_puts(t, ",Schedule K,");
		gb_f(t, lading);
		gb_puts(t, ",");
		gb_f(t, f[GC_QTY]);
		gb_puts(t, ",PCS,");
		gb_f(t, wv);
		gb_puts(t, ",");
		gb_f(t, wu);
		gb_puts(t, ",,,,,,,,,,,,,,,,,,,,,,");
		gb_puts(t, act);
		gb_puts(t, "\n");
		if (has_bill) {
			t = &tb[AT_BILL];
			gb_f(t, id);
			gb_puts(t, ",");
			gb_f(t, master);
			gb_puts(t, ",");
			gb_f(t, house);
			gb_puts(t, ",,,House,,,\n");
		}
		if (has_shp) {
			t = &tb[AT_SHIPPER];
			gb_f(t, id);
			gb_puts(t, ",");
			gb_f(t, f[GC_SHPN]);
			gb_puts(t, ",1 GENERATED ROAD,,,,,,,");
			gb_f(t, f[GC_SHPC]);
			gb_puts(t, ",,,\n");
		}
		if (has_con) { /* the importer of record is the consignee in AMS */
			t = &tb[AT_CONSIGNEE];
			gb_f(t, id);
			gb_puts(t, ",");
			gb_f(t, f[GC_IMPN]);
			gb_puts(t, ",,,,,,,,US,,,\n");
		}
		if (has_ntf) {
			t = &tb[AT_NOTIFY];
			gb_f(t, id);
			gb_puts(t, ",");
			gb_f(t, f[GC_CONS]);
			gb_puts(t, ",,,,,,,,US,,,\n");
		}
		er_field cont = f[GC_CONT];
		if (cont.n) {
			int two = er_ieq(f[GC_LOAD].p, f[GC_LOAD].n, "FCL") && rng_chance(&r, 0.1);
			for (int k = 0; k <= two; k++) {
				char c2[12];
				er_field cn = cont;
				if (k) {
					snprintf(c2, sizeof c2, "GENU%07u", (unsigned)(rng_next(&r) % 10000000u));
					cn = (er_field){ c2, 11 };
				}
				t = &tb[AT_CONTAINER];
				gb_f(t, id);
				gb_puts(t, ",");
				gb_f(t, cn);
				gb_puts(t, ",SEAL1,,42G1,40,8,8,,L,CY\n");
			}
		}
		/* description lines: split at newlines, and some at a space, sequence
		 * order shuffled for some bills */
		er_field desc = f[GC_DESC];
		char dl[8][300];
		size_t dn[8];
		int nd = 0;
		if (has_desc && desc.n) {
			size_t s0 = 0;
			for (size_t i = 0; i <= desc.n && nd < 7; i++) {
				if (i == desc.n || desc.p[i] == '\n') {
					size_t l = i - s0 < 299 ? i - s0 : 299;
					memcpy(dl[nd], desc.p + s0, l);
					dn[nd++] = l;
					s0 = i + 1;
				}
			}
			char *sp = nd == 1 && dn[0] > 12 ? memchr(dl[0] + 8, ' ', dn[0] - 9) : NULL;
			if (sp && sp[1] != ' ' && rng_chance(&r, 0.3)) {
				size_t cut = (size_t)(sp - dl[0]);
				memcpy(dl[1], sp + 1, dn[0] - cut - 1);
				dn[1] = dn[0] - cut - 1;
				dn[0] = cut;
				nd = 2;
			}
			int rev = rng_chance(&r, 0.3);
			for (int k = 0; k < nd; k++) {
				int j = rev ? nd - 1 - k : k;
				t = &tb[AT_DESC];
				gb_f(t, id);
				gb_puts(t, ",");
				gb_f(t, cont);
				char q[32];
				snprintf(q, sizeof q, ",%d,1,", j + 1);
				gb_puts(t, q);
				gb_field(t, dl[j], dn[j]);
				gb_puts(t, "\n");
			}
		}
		/* tariff: the HS code at sequence 1 (dotted for some), another at 2 for some */
		er_field hs = f[GC_HS];
		if (hs.n) {
			char hd[16];
			er_field h1 = hs;
			if (hs.n >= 6 && rng_chance(&r, 0.2)) {
				snprintf(hd, sizeof hd, "%.4s.%.*s", hs.p, (int)(hs.n - 4), hs.p + 4);
				h1 = (er_field){ hd, strlen(hd) };
			}
			int second = rng_chance(&r, 0.25), first2 = second && rng_chance(&r, 0.5);
			for (int k = 0; k < 2; k++) {
				int j = first2 ? 1 - k : k;
				if (j == 1 && !second)
					continue;
				t = &tb[AT_TARIFF];
				gb_f(t, id);
				gb_puts(t, ",");
				gb_f(t, cont);
				gb_puts(t, j ? ",2," : ",1,");
				if (j)
					gb_puts(t, "940360");
				else
					gb_f(t, h1);
				gb_puts(t, ",100,10,KG\n");
			}
		}

		/* the expected canonical row, split around load_type */
		er_buf *e = ex;
		bl->exp_a = e->len;
		er_buf_printf(e, "%s,", bl->id);
		er_buf_csv_field(e, sid.p, sid.n, ',');
		er_buf_putc(e, ',');
		er_buf_append(e, f[GC_DATE].p, 10);
		er_buf_putc(e, ',');
		er_buf_csv_field(e, master.p, master.n, ',');
		er_buf_putc(e, ',');
		er_buf_csv_field(e, cont.p, cont.n, ',');
		er_buf_putc(e, ',');
		er_buf_putc(e, '\0'); /* load_type goes here */
		bl->exp_b = e->len;
		er_buf_puts(e, ",vessel,");
		er_buf_csv_field(e, lading.p, lading.n, ',');
		er_buf_putc(e, ',');
		er_buf_csv_field(e, f[GC_UNLADING].p, f[GC_UNLADING].n, ',');
		er_buf_putc(e, ',');
		er_buf_csv_field(e, origin.p, origin.n, ',');
		er_buf_putc(e, ',');
		if (has_shp)
			er_buf_csv_field(e, f[GC_SHPC].p, f[GC_SHPC].n, ',');
		er_buf_puts(e, ",,");
		if (has_con)
			er_buf_csv_field(e, f[GC_IMPN].p, f[GC_IMPN].n, ',');
		er_buf_puts(e, ",,");
		if (has_shp)
			er_buf_csv_field(e, f[GC_SHPN].p, f[GC_SHPN].n, ',');
		er_buf_puts(e, ",,");
		if (has_con)
			er_buf_csv_field(e, f[GC_IMPN].p, f[GC_IMPN].n, ',');
		er_buf_putc(e, ',');
		er_buf_csv_field(e, f[GC_SCAC].p, f[GC_SCAC].n, ',');
		er_buf_puts(e, ",,");
		er_buf_csv_field(e, hs.p, hs.n, ',');
		er_buf_putc(e, ',');
		if (has_desc) {
			char jd[600];
			size_t jl = 0;
			for (int k = 0; k < nd; k++) {
				if (k)
					jd[jl++] = ' ';
				memcpy(jd + jl, dl[k], dn[k]);
				jl += dn[k];
			}
			er_buf_csv_field(e, jd, jl, ',');
		}
		er_buf_puts(e, ",,");
		er_buf_puts(e, kg);
		er_buf_putc(e, ',');
		er_buf_csv_field(e, f[GC_QTY].p, f[GC_QTY].n, ',');
		er_buf_puts(e, ",,,");
		if (has_ntf)
			er_buf_csv_field(e, f[GC_CONS].p, f[GC_CONS].n, ',');
		er_buf_putc(e, '\n');
		if (cont.n < sizeof bl->cont && master.n < sizeof bl->master) {
			memcpy(bl->master, master.p, master.n);
			bl->master_n = (uint8_t)master.n;
			memcpy(bl->cont, cont.p, cont.n);
			bl->cont_n = (uint8_t)cont.n;
		}
		bl->house = house.n > 0;
	}
	/* load_type: LCL when another house bill of the same master shares the
	 * container (LCL groups never leave their block), FCL with a container */
	ams_bill *v = *bills;
	qsort(v, nb, sizeof *v, bill_group_cmp);
	char *lt = xcalloc(nb ? nb : 1, 1);
	for (size_t i = 0; i < nb;) {
		size_t j = i;
		while (j < nb && !bill_group_cmp_key(&v[i], &v[j]))
			j++;
		size_t houses = 0;
		for (size_t k = i; k < j; k++)
			houses += v[k].house && v[k].master_n && v[k].cont_n;
		for (size_t k = i; k < j; k++)
			lt[v[k].ord] = houses >= 2 && v[k].house && v[k].master_n && v[k].cont_n ? 'L'
			             : v[k].cont_n ? 'F' : 0;
		i = j;
	}
	qsort(v, nb, sizeof *v, bill_ord_cmp);
	gbuf *t = &tb[AT_EXPECTED];
	for (size_t i = 0; i < nb; i++) {
		gb_put(t, ex->p + v[i].exp_a, v[i].exp_b - 1 - v[i].exp_a);
		if (lt[i])
			gb_puts(t, lt[i] == 'L' ? "LCL" : "FCL");
		size_t end = i + 1 < nb ? v[i + 1].exp_a : ex->len;
		gb_put(t, ex->p + v[i].exp_b, end - v[i].exp_b);
	}
	free(lt);
}

static void write_ams(gen_ctx *gc, const char *dir, int sorted, const char *schedk)
{
	schedk_load(schedk);
	mkdirs(dir);
	char *path[NAT], *tmp[NAT];
	int fd[NAT];
	gbuf tb[NAT];
	memset(tb, 0, sizeof tb);
	for (int i = 0; i < NAT; i++) {
		char name[128];
		if (g_ams_table[i])
			snprintf(name, sizeof name, "ams__%s_%s.csv", g_ams_table[i], AMS_PERIOD);
		else
			snprintf(name, sizeof name, "expected-canonical.csv");
		path[i] = path_join(dir, name);
		tmp[i] = path_tmp(path[i]);
		fd[i] = open_out(tmp[i]);
		const char *h = g_ams_cols[i];
		if (h)
			write_all(fd[i], h, strlen(h), tmp[i]);
	}
	gbuf raw = { 0 };
	er_buf st = { 0 }, ex = { 0 };
	ams_bill *bills = NULL;
	size_t cap = 0;
	for (uint64_t b = 0; b < gc->nblocks; b++) {
		gen_block(gc, b, &raw);
		ams_block(gc, b, raw.p, raw.len, sorted, tb, &st, &ex, &bills, &cap);
		for (int i = 0; i < NAT; i++) {
			write_all(fd[i], tb[i].p, tb[i].len, tmp[i]);
			tb[i].len = 0;
		}
	}
	for (int i = 0; i < NAT; i++) {
		close_commit(fd[i], tmp[i], path[i]);
		free(path[i]);
		free(tmp[i]);
		free(tb[i].p);
	}
	free(raw.p);
	free(st.p);
	free(ex.p);
	free(bills);
	free(g_skp);
}

static void usage(FILE *f)
{
	fputs("usage: examrisk-gen --rows N --out DIR [options]\n"
	      "Generate a realistic, deterministic manifest dataset for examrisk:\n"
	      "  DIR/manifest.csv.gz  (DIR/manifest.csv with --plain) shipments, canonical columns\n"
	      "  DIR/participants.csv CTPAT and foreign-program participants with status histories\n"
	      "  DIR/mra.csv          a copy of the MRA table the data was built from\n"
	      "Same arguments give byte-identical files, whatever --threads.\n"
	      "\n"
	      "  -n, --rows N       shipments to generate (required; up to 4e9)\n"
	      "  -s, --seed S       random seed (default 1)\n"
	      "  -o, --out DIR      output directory, created if missing (required)\n"
	      "  -p, --plain        write manifest.csv uncompressed\n"
	      "  -k, --members K    gzip members in manifest.csv.gz (default 1)\n"
	      "  -l, --level L      zlib level 0-9 (default 6)\n"
	      "  -t, --threads T    worker threads (default: online CPUs)\n"
	      "  -m, --mra FILE     MRA table to read (default data/mra.csv)\n"
	      "  -A, --ams DIR      also write the vessel shipments as a CBP AMS release in DIR\n"
	      "                     (ams__TABLE_" AMS_PERIOD ".csv tables, unsorted by identifier)\n"
	      "                     and DIR/expected-canonical.csv, what 'examrisk ams' must give\n"
	      "      --ams-sorted   write the release sorted by identifier\n"
	      "      --schedule-k FILE  Schedule K prefix table (default data/schedule_k.csv)\n"
	      "  --arrivals FROM:TO arrival dates YYYY-MM-DD:YYYY-MM-DD, within 2019..2024\n"
	      "                     (default all of 2019-01-01..2024-12-31)\n"
	      "  --row-seed S       seed of the rows only: with the same --seed and --world-rows,\n"
	      "                     the same tables and trade mix, other shipments (the next month)\n"
	      "  --world-rows N     size the participant population for N rows (default --rows)\n"
	      "  --outcomes         also write DIR/exams.csv, an exam history drawn from a hidden\n"
	      "                     violation model (see benchmarks/README.md)\n"
	      "  --rules FILE       rules whose reason codes the outcome model reads\n"
	      "                     (default data/rules.ini)\n"
	      "      --sdn N        also write DIR/sdn.csv, alt.csv, add.csv: a made-up list of N\n"
	      "                     restricted parties in OFAC's SDN file format (for score --sdn DIR)\n"
	      "  -h, --help         this text\n"
	      "At the end prints \"rows=N bytes_csv=B seconds=S rows_per_s=R\" on stderr.\n",
	      f);
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-')
		return -1;
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || *e)
		return -1;
	*out = v;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* long-only options of the exam history and the next month */
enum { OPT_ARRIVALS = 256, OPT_ROW_SEED, OPT_OUTCOMES, OPT_RULES, OPT_WORLD_ROWS };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rows", required_argument, NULL, 'n' },   { "seed", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },    { "plain", no_argument, NULL, 'p' },
		{ "members", required_argument, NULL, 'k' }, { "level", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' }, { "mra", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },         { "ams", required_argument, NULL, 'A' },
		{ "ams-sorted", no_argument, NULL, 'S' },   { "schedule-k", required_argument, NULL, 'K' },
		{ "arrivals", required_argument, NULL, OPT_ARRIVALS },
		{ "row-seed", required_argument, NULL, OPT_ROW_SEED },
		{ "outcomes", no_argument, NULL, OPT_OUTCOMES },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "world-rows", required_argument, NULL, OPT_WORLD_ROWS },
		{ "sdn", required_argument, NULL, 'Y' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t world_rows = 0;
	int32_t arr_lo = 0, arr_hi = 0;
	uint64_t row_seed = 0;
	int have_window = 0, have_row_seed = 0, outcomes = 0;
	const char *rules = "data/rules.ini";
	uint64_t rows = 0, seed = 1, members = 1, level = 6, threads = 0, sdn_n = 0;
	int have_rows = 0, plain = 0;
	const char *out = NULL, *mra = "data/mra.csv";
	const char *ams_dir = NULL, *schedk = "data/schedule_k.csv";
	int ams_sorted = 0;
	int c;
	while ((c = getopt_long(argc, argv, "n:s:o:pk:l:t:m:hA:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, &rows) || rows > MAX_ROWS)
				goto bad;
			have_rows = 1;
			break;
		case 's':
			if (parse_u64(optarg, &seed))
				goto bad;
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			plain = 1;
			break;
		case 'k':
			if (parse_u64(optarg, &members) || members < 1 || members > 1000000)
				goto bad;
			break;
		case 'l':
			if (parse_u64(optarg, &level) || level > 9)
				goto bad;
			break;
		case 't':
			if (parse_u64(optarg, &threads) || threads < 1 || threads > 1024)
				goto bad;
			break;
		case 'm':
			mra = optarg;
			break;
		case OPT_ARRIVALS: {
			const char *colon = strchr(optarg, ':');
			if (!colon || er_parse_date(optarg, (size_t)(colon - optarg), &arr_lo) < 0 ||
			    er_parse_date(colon + 1, strlen(colon + 1), &arr_hi) < 0 || arr_lo > arr_hi ||
			    arr_lo < er_days_from_civil(2019, 1, 1) || arr_hi > er_days_from_civil(2024, 12, 31))
				goto bad;
			have_window = 1;
			break;
		}
		case OPT_ROW_SEED:
			if (parse_u64(optarg, &row_seed))
				goto bad;
			have_row_seed = 1;
			break;
		case OPT_OUTCOMES:
			outcomes = 1;
			break;
		case OPT_RULES:
			rules = optarg;
			break;
		case OPT_WORLD_ROWS:
			if (parse_u64(optarg, &world_rows) || world_rows > MAX_ROWS)
				goto bad;
			break;
		case 'Y':
			if (parse_u64(optarg, &sdn_n) || sdn_n > 10000000)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'A':
			ams_dir = optarg;
			break;
		case 'S':
			ams_sorted = 1;
			break;
		case 'K':
			schedk = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !have_rows || !out || !*out) {
		fprintf(stderr, "examrisk-gen: --rows and --out are required\n");
		usage(stderr);
		return 2;
	}
	if (!threads) {
		threads = (uint64_t)er_cpu_count(); /* the CPUs we may run on, as examrisk */
		if (threads > 64)
			threads = 64;
	}
	double t0 = now_s();
	dates_init();
	gbuf mraw = { 0 };
	mra_load(mra, &mraw);
	mkdirs(out);

	popul po;
	memset(&po, 0, sizeof po);
	build_population(&po, seed, world_rows ? world_rows : rows);
	write_file(out, "participants.csv", po.parts.p, po.parts.len);
	write_file(out, "mra.csv", mraw.p, mraw.len);
	if (sdn_n)
		write_sdn(out, &po, seed, (uint32_t)sdn_n);

	gen_ctx gc;
	gen_ctx_init(&gc, &po, seed, rows);
	if (have_window || have_row_seed)
		gen_ctx_window(&gc, have_row_seed ? row_seed : seed, have_window ? arr_lo : D_ARR0,
		               have_window ? arr_hi : D_ARR1);
	char *path = path_join(out, plain ? "manifest.csv" : "manifest.csv.gz"), *tmp = path_tmp(path);
	int fd = open_out(tmp);
	uint64_t csv = produce(&gc, (int)threads, plain, (int)level, (int)members, fd, tmp);
	close_commit(fd, tmp, path);
	if (ams_dir)
		write_ams(&gc, ams_dir, ams_sorted, schedk);
	if (outcomes && gen_exams_write(out, path, rules, gc.seed, (int)threads) < 0)
		die("cannot write exams.csv in", out);
	double secs = now_s() - t0;
	fprintf(stderr, "rows=%llu bytes_csv=%llu seconds=%.3f rows_per_s=%.0f\n", (unsigned long long)rows,
	        (unsigned long long)csv, secs, secs > 0 ? (double)rows / secs : 0.0);

	free(path);
	free(tmp);
	free(gc.day_cdf);
	for (int i = 0; i < NPOOL; i++)
		free(po.pools[i].ix);
	for (size_t i = 0; i <= NCOUNTRIES; i++)
		free(po.by_country[i].ix);
	free(po.p);
	free(po.names.k);
	free(po.ids.k);
	free(po.parts.p);
	free(mraw.p);
	free(g_mra);
	free(g_dates);
	arena_free();
	return 0;
bad:
	for (const struct option *op = opts; c >= 256 && op->name; op++)
		if (op->val == c) {
			fprintf(stderr, "examrisk-gen: bad value for --%s: %s\n", op->name, optarg);
			usage(stderr);
			return 2;
		}
	fprintf(stderr, "examrisk-gen: bad value for -%c: %s\n", c, optarg);
	usage(stderr);
	return 2;
}
