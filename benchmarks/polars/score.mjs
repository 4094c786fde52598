// score.mjs - examrisk's scoring job written the way a data engineer would
// write it with Polars (npm nodejs-polars), for `make bench-compare`: scores
// and consolidations, both gzip.
//
//   node benchmarks/polars/score.mjs --manifest M.csv.gz --participants P.csv \
//        --mra MRA.csv --rules rules.ini --out scores.csv.gz
//        [--consolidations consol.csv.gz] [--threads N] [--steps]
//
// The same job as benchmarks/duckdb/score.mjs, in DataFrame expressions: the
// tables become a per-party timeline of standings (one row per interval
// between change dates), every party of a shipment is resolved among the
// participants of its column's role (by id, else by normalized name), its
// standing on the arrival date is an as-of join on that timeline, the rules
// are one expression each, and the consolidations a group-by per master bill
// (else container). Polars runs on --threads cores (POLARS_MAX_THREADS). JS
// parses rules.ini, gunzips the manifest for readCSV (nodejs-polars reads no
// .gz), Unicode-folds the distinct non-ASCII names (Polars has no NFKC),
// prints the distinct probabilities with %.6f and gzips the CSV it writes.
// Prints one line on stderr at the end:
//   polars: rows=N seconds=S rows_per_s=R threads=T version=V
// (DEBUG=1 in the environment adds the stack of an error.)
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { createGzip, gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { foldName } from '../lib/fold.mjs';
import {
	parseArgs, readRules, stripRes, NONWORD, PUNCT_CHARS, maxTerm, SUFFIXES, MANIFEST_COLS, IMP_CODES, SHP_CODES,
	reasonText,
} from '../lib/job.mjs';

let pl; // loaded in main, after POLARS_MAX_THREADS is set
const col = (c) => pl.col(c);
// JS numbers are doubles: an integer literal is made an Int32 (scores, points, ranks)
const lit = (v) => (Number.isInteger(v) ? pl.lit(v).cast(pl.Int32) : pl.lit(v));
const when = (c) => pl.when(c);

// ------------------------------------------------------------------ helpers
// examrisk trims spaces and tabs around every field; an empty field is absent
const tr = (e) => {
	const t = e.str.stripChars(' \t');
	return when(t.eq(lit(''))).then(lit(null)).otherwise(t);
};
// ASCII upper case (country codes, modes, load types are ASCII)
const upper = (e) => e.str.toUpperCase();
const NON_ASCII = '[^\\x00-\\x7F]';
const anyTrue = (e) => e.fillNull(false);
// a hash seed from the [random] seed text (FNV-1a, 32 bits)
const seedOf = (t) => [...String(t)].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261);
// the first non-null of a and b (nodejs-polars has no pl.coalesce)
const coalesce = (a, b) => when(a.isNotNull()).then(a).otherwise(b);

// examrisk's er_name_normalize as expressions: '&' -> AND, the dot joining
// one-character segments dropped ("S.A." -> SA; 8 passes: runs of 9 letters),
// separators folded to one space, a leading THE and legal suffixes dropped.
// Non-ASCII names are Unicode-folded first (foldName, on the distinct values).
function normName(e) {
	const MARK = '\u0001';
	const W = '(?:[A-Za-z0-9]|[^\\x00-\\x7F])';
	const S = '[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]';
	let u = upper(e).str.replaceAll('&', ' AND ', true);
	for (let i = 0; i < 8; i++)
		u = u.str.replaceAll(`(^|${S})(${W})\\.(${W})(${S}|$)`, `\${1}\${2}${MARK}\${3}\${4}`);
	u = u.str.replaceAll(MARK, '', true).str.replaceAll(`${S}+`, ' ').str.stripChars(' ');
	return u.str.replace('^THE (.)', '${1}')
		.str.replace(`^(.+?)((?: (?:${SUFFIXES.join('|')}))+)$`, '${1}');
}

// A frame of the distinct values of a string column with their normalized
// names: the non-ASCII ones folded in JS, then all normalized by Polars.
function namesOf(values, name) {
	const raw = values.unique().dropNulls();
	const folded = raw.toArray().map(foldName);
	return pl.DataFrame([raw.cast(pl.Utf8).rename(name), pl.Series('folded', folded, pl.Utf8)])
		.select(col(name), normName(col('folded')).alias('norm'));
}

function dateOf(e) {
	return e.str.strptime(pl.Date, '%Y-%m-%d').cast(pl.Int32);
}

// Seconds since the epoch of an ISO timestamp as examrisk reads it: date,
// 'T' or ' ', hh:mm:ss, optional fraction (dropped: floor), optional Z or
// +hh:mm / -hh:mm (none: UTC).
function epochOf(e) {
	const re = '^(\\d{4}-\\d{2}-\\d{2})[T ](\\d{2}):(\\d{2}):(\\d{2})(?:\\.\\d+)?(Z|([+-])(\\d{2}):?(\\d{2}))?$';
	const g = (i) => e.str.extract(re, i);
	const n = (i) => g(i).cast(pl.Int64);
	const off = when(g(6).eq(lit('-'))).then(lit(-1)).otherwise(lit(1))
		.mul(n(7).mul(3600).plus(n(8).mul(60))).fillNull(lit(0));
	return dateOf(g(1)).cast(pl.Int64).mul(86400)
		.plus(n(2).mul(3600)).plus(n(3).mul(60)).plus(n(4)).minus(off);
}

// ------------------------------------------------------------------ tables
const STANDING = { validated: 4, certified: 3, suspended: 2, removed: 1, withdrawn: 0 };
const FAR_PAST = -25567; // 1900-01-01 in days since the epoch
const FAR_FUTURE = 2932896; // 9999-12-31

function loadTables(a, r) {
	const certs = pl.readCSV(a.participants, { inferSchemaLength: 0 })
		.withRowIndex('line')
		.select(
			col('party_id').alias('pid'), col('name'), upper(col('country')).alias('cc'),
			col('role').str.stripChars(' \t').str.toLowerCase().alias('role'),
			upper(col('program')).alias('program'),
			upper(col('program')).eq(lit('CTPAT')).alias('is_ctpat'),
			col('status').str.toLowerCase().alias('status'),
			col('status').str.toLowerCase().replaceStrict(Object.keys(STANDING), Object.values(STANDING), lit(null), pl.Int32).alias('standing'),
			col('tier').cast(pl.Int32, false).fillNull(lit(0)).alias('tier'),
			dateOf(col('valid_from')).alias('vf'), dateOf(col('valid_to')).alias('vt'), col('line'),
		);
	const mra = pl.readCSV(a.mra, { inferSchemaLength: 0 }).select(
		upper(col('program')).alias('program'), upper(col('country')).alias('cc'),
		dateOf(col('recognized_from')).alias('rf'), dateOf(col('recognized_to')).alias('rt'));

	// a party: its latest name (latest valid_from, then later line), its roles
	const isRole = (...r) => col('role').isIn(r).any();
	const parties0 = certs.sort(['vf', 'line'], true).groupBy('pid').agg(
		col('name').first(), col('cc').first(),
		isRole('importer').alias('is_imp'), isRole('exporter', 'manufacturer').alias('is_shp'),
		isRole('manufacturer').alias('is_mfr'), isRole('carrier').alias('is_car'),
		isRole('forwarder').alias('is_fwd'));
	const parties = parties0.join(namesOf(parties0.getColumn('name'), 'name'), { on: 'name', how: 'left' })
		.withColumns(col('norm').fillNull(''));
	// name keys per column: how many parties of that role hold the name
	const key = (flag, by) => parties.filter(col(flag).and(col('norm').neq(lit(''))))
		.groupBy(by).agg(col('pid').count().alias('n'), col('pid').min());
	const keys = { imp: key('is_imp', ['norm']), shpCc: key('is_shp', ['norm', 'cc']), shp: key('is_shp', ['norm']) };

	// timeline: the days a party's standing can change cut time into intervals
	const foreign = certs.filter(col('is_ctpat').not()).join(mra, { on: ['program', 'cc'] });
	const b = pl.concat([
		parties.select(col('pid'), lit(FAR_PAST).cast(pl.Int32).alias('d')),
		certs.select(col('pid'), col('vf').alias('d')),
		certs.select(col('pid'), col('vt').alias('d')),
		foreign.select(col('pid'), col('rf').alias('d')),
		// MRA recognized_to: exclusive before issue 9, the last day recognized after
		foreign.select(col('pid'), (r.issue9 ? col('rt').plus(lit(1)) : col('rt')).alias('d')),
	]).dropNulls().unique();
	const inforce = b.join(certs, { on: 'pid' })
		.filter(col('vf').ltEq(col('d')).and(col('vt').isNull().or(col('d').lt(col('vt')))));
	// the CTPAT period in force: best standing, then tier, then earlier start
	const ct = inforce.filter(col('is_ctpat'))
		.sort(['standing', 'tier', 'vf'], [true, true, false])
		.groupBy(['pid', 'd'], true).agg(col('status').first().alias('ct_status'),
			col('standing').first().alias('ct_standing'), col('tier').first().alias('ct_tier0'));
	// the best foreign period in force, and whether its program is MRA-recognized that day
	const nc = inforce.filter(col('is_ctpat').not());
	const recognized = nc.join(mra, { on: ['program', 'cc'] })
		.filter(col('rf').isNotNull().and(col('rf').ltEq(col('d')))
			.and(col('rt').isNull().or(r.issue9 ? col('d').ltEq(col('rt')) : col('d').lt(col('rt')))))
		.select('pid', 'd', 'program').unique().withColumns(lit(true).alias('mra'));
	const fc = nc.join(recognized, { on: ['pid', 'd', 'program'], how: 'left' })
		.sort(['standing', 'tier', 'program', 'vf'], [true, true, false, false])
		.groupBy(['pid', 'd'], true).agg(col('program').first().alias('fc_program'),
			col('status').first().alias('fc_status'), col('standing').first().alias('fc_standing'),
			anyTrue(col('mra').first()).alias('mra'));
	const ctGood = anyTrue(col('ct_standing').gtEq(3));
	const fcGood = anyTrue(col('fc_standing').gtEq(3));
	const ctTier = when(col('ct_tier0').gt(0)).then(pl.minHorizontal([col('ct_tier0'), lit(3)]))
		.when(col('ct_status').eq(lit('validated'))).then(lit(2)).otherwise(lit(1)).cast(pl.Utf8);
	const ctText = pl.concatString([lit('CTPAT:'), col('ct_status'), lit(':T'), ctTier], '');
	const timeline = b.join(ct, { on: ['pid', 'd'], how: 'left' })
		.join(fc, { on: ['pid', 'd'], how: 'left' })
		.join(parties.select('pid', col('cc').alias('party_cc'), 'is_imp', 'is_shp', 'is_mfr', 'is_car', 'is_fwd'), { on: 'pid' })
		.select(
			col('pid'), col('d'), col('party_cc'), col('is_imp'), col('is_shp'), col('is_mfr'), col('is_car'), col('is_fwd'),
			ctGood.alias('ct_good'),
			col('ct_status').isIn(['suspended', 'removed']).fillNull(false).alias('ct_barred'),
			when(ctGood).then(pl.concatString([lit('IMP_CTPAT_T'), ctTier], ''))
				.when(col('ct_status').eq(lit('suspended'))).then(lit('IMP_SUSPENDED'))
				.when(col('ct_status').eq(lit('removed'))).then(lit('IMP_REMOVED'))
				.otherwise(lit('IMP_UNKNOWN')).alias('imp_reason'),
			when(ctGood).then(ctText)
				.when(col('ct_status').isNotNull()).then(pl.concatString([lit('CTPAT:'), col('ct_status')], ''))
				.otherwise(lit('not_in_force')).alias('imp_status'),
			when(ctGood).then(lit(6)).when(fcGood.and(col('mra'))).then(lit(5)).when(fcGood).then(lit(4))
				.when(col('ct_status').isNotNull().or(col('fc_status').isNotNull())).then(lit(3))
				.otherwise(lit(2)).alias('shp_rank'),
			when(ctGood).then(ctText)
				.when(fcGood).then(pl.concatString([col('fc_program'), lit(':'), col('fc_status'),
					when(col('mra')).then(lit(':MRA')).otherwise(lit(':NO_MRA'))], ''))
				.when(col('ct_status').isNotNull()).then(pl.concatString([lit('CTPAT:'), col('ct_status')], ''))
				.when(col('fc_status').isNotNull()).then(pl.concatString([col('fc_program'), lit(':'), col('fc_status')], ''))
				.otherwise(lit('not_in_force')).alias('shp_status'),
		)
		.sort('d');
	return { parties, keys, timeline };
}

// ------------------------------------------------------------------ manifest
function loadManifest(path) {
	// the columns the rules and the roll-up read, as text
	const want = MANIFEST_COLS.filter((c) => !['unlading_port', 'consignee_name',
		'declared_value_usd', 'gross_weight_kg', 'quantity'].includes(c));
	const df = pl.readCSV(gunzipSync(readFileSync(path)), {
		inferSchemaLength: 0, columns: want, quoteChar: '"',
	});
	return df.withRowIndex('rn');
}

// Distinct descriptions judged vague: blank, no letter at all, one character
// repeated 3+ times, or a listed term after normalization.
function vagueOf(descs, r) {
	// issue 9: a package count and a prefix ("12 CTNS STC ...") are stripped first
	const st = stripRes(r);
	const rest = st
		? col('description').str.replace(`^${st.lead}(${NONWORD}|$)`, '${1}').str.replace(`^${st.sep}+`, '')
		: col('description');
	const ns = col('rest').str.replaceAll('[\\t\\n\\v\\f\\r ]', '');
	const unitAlone = st && st.unitAlone ? col('rest').str.contains(st.unitAlone) : lit(false);
	const norm = upper(col('rest')).str.replaceAll('[\\t\\n\\v\\f\\r ]+', ' ')
		.str.replace('^ ', '').str.replace('[\\t\\n\\v\\f\\r !-/:-@\\[-`{-~]+$', '');
	return pl.DataFrame({ description: descs.unique() }).withColumns(rest.alias('rest')).filter(
		unitAlone.or(ns.str.contains(`[A-Za-z]|${NON_ASCII}`).not()
			.or(ns.str.contains('(?s)^.{3,}$').and(upper(ns).str.split('').lst.unique().lst.lengths().eq(1)))
			.or(ns.str.stripCharsEnd(PUNCT_CHARS).str.contains(`(?s)^.{0,${maxTerm(r)}}$`)
				.and(norm.isIn(r.vague)))))
		.select('description', lit(true).alias('vague'));
}

// The party columns' match values (see README "Party matching").
function matchOf(id, idHit, name, nameN) {
	let byId = when(idHit.isNotNull()).then(lit('id'));
	if (name) byId = byId.when(anyTrue(nameN.gtEq(1))).then(lit('conflict'));
	byId = byId.otherwise(lit('none'));
	const byName = name
		? when(name.isNull()).then(lit('-')).when(nameN.eq(1)).then(lit('name'))
			.when(nameN.gt(1)).then(lit('ambiguous')).otherwise(lit('none'))
		: lit('-');
	return when(id.isNotNull()).then(byId).otherwise(byName);
}

export function score(m, t, r) {
	const P = r.points;
	const { parties, keys, timeline } = t;
	// 1. fields as the rules read them
	const f = m.select(
		col('rn'), col('shipment_id'), tr(col('shipment_id')).alias('sid'),
		dateOf(tr(col('arrival_date'))).alias('day'),
		tr(col('importer_id')).alias('imp_id'), col('importer_name').alias('imp_name'),
		tr(col('importer_name')).alias('imp_name_t'),
		tr(col('shipper_id')).alias('shp_id'), col('shipper_name').alias('shp_name'),
		tr(col('shipper_name')).alias('shp_name_t'),
		coalesce(tr(col('shipper_country')), tr(col('origin_country'))).alias('shp_cc'),
		tr(col('shipper_country')).alias('shp_country'), tr(col('origin_country')).alias('origin'),
		tr(col('manufacturer_id')).alias('mfr_id'), tr(col('carrier_scac')).alias('car_id'),
		tr(col('forwarder_id')).alias('fwd_id'),
		upper(tr(col('load_type'))).alias('load_type'),
		when(upper(tr(col('mode'))).isIn(['VESSEL', 'OCEAN', 'SEA', 'MARITIME'])).then(lit('vessel'))
			.when(upper(tr(col('mode'))).isIn(['TRUCK', 'ROAD', 'HIGHWAY'])).then(lit('truck'))
			.otherwise(lit(null)).alias('mode'),
		tr(col('lading_port')).alias('lading_port'),
		tr(col('hs_code')).str.replaceAll('.', '', true).str.replaceAll(' ', '', true).fillNull('').alias('hs_digits'),
		col('description').fillNull('').alias('description'),
		epochOf(tr(col('filed_at'))).alias('filed_s'), epochOf(tr(col('departure_at'))).alias('dep_s'),
		tr(col('master_bill')).alias('mbl'), tr(col('container_id')).alias('cont'),
	);

	// 2. names (distinct values), descriptions, ids
	const impNames = namesOf(f.getColumn('imp_name'), 'imp_name')
		.join(keys.imp, { on: 'norm' }).select('imp_name', col('n').alias('imp_n'), col('pid').alias('imp_name_pid'));
	const shpNorm = namesOf(f.getColumn('shp_name'), 'shp_name');
	const shpPairs = f.select('shp_name', 'shp_cc').unique().dropNulls('shp_name')
		.join(shpNorm, { on: 'shp_name' })
		.withColumns(when(col('shp_cc').str.contains('^[A-Za-z]{2}$')).then(upper(col('shp_cc'))).otherwise(lit(null)).alias('cc'));
	const shpNames = pl.concat([
		shpPairs.join(keys.shpCc, { on: ['norm', 'cc'] }).select('shp_name', 'shp_cc', 'n', 'pid'),
		shpPairs.filter(col('shp_cc').isNull()).join(keys.shp, { on: 'norm' }).select('shp_name', 'shp_cc', 'n', 'pid'),
	]).select('shp_name', 'shp_cc', col('n').alias('shp_n'), col('pid').alias('shp_name_pid'));
	const idOf = (flag, as) => parties.filter(col(flag)).select(col('pid').alias(as), col('pid').alias(`${as}_hit`));
	const vague = vagueOf(f.getColumn('description'), r);

	// the rest is one lazy query: Polars plans the joins and keeps only the
	// columns each step needs
	let j = f.lazy()
		.join(idOf('is_imp', 'imp_id').lazy(), { on: 'imp_id', how: 'left' })
		.join(impNames.lazy(), { on: 'imp_name', how: 'left' })
		.join(idOf('is_shp', 'shp_id').lazy(), { on: 'shp_id', how: 'left' })
		.join(shpNames.lazy(), { on: ['shp_name', 'shp_cc'], how: 'left', nullsEqual: true })
		.join(shpNorm.select('shp_name', col('norm').alias('shp_norm')).lazy(), { on: 'shp_name', how: 'left' })
		.join(vague.lazy(), { on: 'description', how: 'left' })
		.withColumns(
			matchOf(col('imp_id'), col('imp_id_hit'), col('imp_name_t'), col('imp_n')).alias('imp_match'),
			matchOf(col('shp_id'), col('shp_id_hit'), col('shp_name_t'), col('shp_n')).alias('shp_match'),
			when(col('imp_id').isNotNull()).then(col('imp_id_hit'))
				.when(col('imp_n').eq(1)).then(col('imp_name_pid')).otherwise(lit(null)).alias('imp_pid'),
			when(col('shp_id').isNotNull()).then(col('shp_id_hit'))
				.when(col('shp_n').eq(1)).then(col('shp_name_pid')).otherwise(lit(null)).alias('shp_pid'),
			anyTrue(col('vague')).alias('vague'));

	// 3. each party's standing on the arrival date: as-of joins on the timeline
	const asof = (df, by, flag, cols, prefix) => {
		const tl = (flag ? timeline.filter(col(flag)) : timeline)
			.select(col('d'), col('pid').alias(by), ...cols.map((c) => col(c).alias(`${prefix}_${c}`)));
		return df.joinAsof(tl.lazy(), { leftOn: 'day', rightOn: 'd', by, strategy: 'backward', checkSortedness: false }).drop('d');
	};
	j = j.sort('day');
	j = asof(j, 'imp_pid', null, ['pid', 'imp_reason', 'imp_status', 'ct_good', 'ct_barred'], 'ti');
	j = asof(j, 'shp_pid', null, ['pid', 'shp_rank', 'shp_status'], 'ts');
	j = asof(j, 'mfr_id', 'is_mfr', ['pid', 'shp_rank', 'shp_status', 'ct_good', 'party_cc'], 'tm');
	j = asof(j, 'car_id', 'is_car', ['pid', 'ct_good'], 'tc');
	j = asof(j, 'fwd_id', 'is_fwd', ['pid', 'ct_good'], 'tf');

	// 4. the rules' conditions, one column each
	const hsPts = r.hs.length
		? [...r.hs].sort((x, y) => y.prefix.length - x.prefix.length)
			.reduce((acc, h) => (acc ? acc.when(col('hs_digits').str.startsWith(h.prefix)).then(lit(h.pts))
				: when(col('hs_digits').str.startsWith(h.prefix)).then(lit(h.pts))), null).otherwise(lit(null))
		: lit(null);
	const originPts = r.origin.length
		? upper(col('origin')).replaceStrict(r.origin.map((o) => o.cc), r.origin.map((o) => o.pts), lit(null), pl.Int32)
		: lit(null);
	// FAST from Mexico needs a CTPAT manufacturer too. Before issue 9 "from
	// Mexico" is the origin (else the lading port); after, the border crossed:
	// the lading port (else shipper_country), and the manufacturer must be
	// incorporated in Mexico.
	const ladingMx = anyTrue(upper(col('lading_port').str.slice(0, 2)).eq(lit('MX'))
		.and(col('lading_port').str.contains('^.{2}')));
	const isMx = r.issue9
		? when(col('lading_port').isNotNull()).then(ladingMx).otherwise(anyTrue(upper(col('shp_country')).eq(lit('MX'))))
		: when(col('origin').isNotNull()).then(upper(col('origin')).eq(lit('MX')))
			.otherwise(anyTrue(upper(col('lading_port').str.slice(0, 2)).eq(lit('MX'))));
	const mfrOk = r.issue9 ? col('mfr_good').and(anyTrue(col('tm_party_cc').eq(lit('MX')))) : col('mfr_good');
	const sRank = when(col('ts_pid').isNotNull()).then(col('ts_shp_rank'))
		.when(col('shp_id').isNull().and(col('shp_name_t').isNull())).then(lit(0)).otherwise(lit(1));
	const mRank = when(col('tm_pid').isNotNull()).then(col('tm_shp_rank'))
		.when(col('mfr_id').isNull()).then(lit(0)).otherwise(lit(1));
	const c = j.withColumns(
		col('ti_imp_reason').fillNull('IMP_UNKNOWN').alias('imp_code'),
		anyTrue(col('ti_ct_good')).alias('imp_good'),
		anyTrue(col('ti_ct_barred')).alias('imp_barred'),
		col('imp_match').eq(lit('conflict')).or(col('shp_match').eq(lit('conflict'))).alias('conflict'),
		sRank.alias('s_rank'), mRank.alias('m_rank'),
		anyTrue(col('tm_ct_good')).alias('mfr_good'), anyTrue(col('tc_ct_good')).alias('car_good'),
		anyTrue(col('tf_ct_good')).alias('fwd_good'),
		col('load_type').eq(lit('LCL')).fillNull(false).alias('lcl'),
		col('hs_digits').str.lengths().lt(6).alias('no_hs'),
		anyTrue(col('mode').eq(lit('vessel')).and(col('filed_s').gt(col('dep_s').minus(r.window_hours * 3600)))).alias('late'),
		anyTrue(col('mode').eq(lit('vessel'))).and(col('filed_s').isNull().or(col('dep_s').isNull())).alias('filing_unknown'),
		hsPts.alias('hs_pts'), originPts.alias('origin_pts'),
		matchOf(col('mfr_id'), col('tm_pid')).alias('mfr_match'),
		matchOf(col('car_id'), col('tc_pid')).alias('car_match'),
		matchOf(col('fwd_id'), col('tf_pid')).alias('fwd_match'),
	).withColumns(
		pl.maxHorizontal([col('s_rank'), col('m_rank')]).alias('shp_rank'),
		anyTrue(col('mode').eq(lit('truck'))).and(col('imp_good')).and(col('car_good'))
			.and(isMx.not().or(mfrOk)).alias('fast'),
		// examrisk's random selection is a keyed hash (er_hash64) Polars cannot
		// reproduce: Polars' own hash, same rate, another sample (compare.sh
		// runs every engine with [random] rate = 0)
		(r.rate > 0 ? col('sid').hash(seedOf(r.seed)).cast(pl.Float64).div(2 ** 64).lt(r.rate) : pl.lit(false))
			.alias('random'),
	).withColumns(
		when(col('shp_rank').eq(6)).then(lit('SHP_CTPAT')).when(col('shp_rank').eq(5)).then(lit('SHP_MRA'))
			.when(col('shp_rank').eq(4)).then(lit('SHP_AEO_UNRECOGNIZED')).otherwise(lit('SHP_UNKNOWN')).alias('shp_code'));

	// 5. points and reasons: one entry per rule, in examrisk's order
	const codeCase = (column, codes, val) => codes.slice(1).reduce((acc, k) => acc.when(col(column).eq(lit(k))).then(val(k)),
		when(col(column).eq(lit(codes[0]))).then(val(codes[0]))).otherwise(lit(null));
	const tag = (k, n) => lit(reasonText(k, n));
	const pts = (k, e) => pl.concatString([lit(`${k}:`), when(e.lt(0)).then(lit('-')).otherwise(lit('+')), e.abs().cast(pl.Utf8)], '');
	const rules = [
		[null, codeCase('imp_code', IMP_CODES, (k) => lit(P[k])), codeCase('imp_code', IMP_CODES, (k) => tag(k, P[k]))],
		[col('conflict'), lit(P.ID_NAME_CONFLICT), tag('ID_NAME_CONFLICT', P.ID_NAME_CONFLICT)],
		[null, codeCase('shp_code', SHP_CODES, (k) => lit(P[k])), codeCase('shp_code', SHP_CODES, (k) => tag(k, P[k]))],
		[col('car_good'), lit(P.CARRIER_CTPAT), tag('CARRIER_CTPAT', P.CARRIER_CTPAT)],
		[col('fwd_good'), lit(P.FWD_CTPAT), tag('FWD_CTPAT', P.FWD_CTPAT)],
		[col('lcl'), lit(P.LCL), tag('LCL', P.LCL)],
		[col('vague'), lit(P.VAGUE_DESC), tag('VAGUE_DESC', P.VAGUE_DESC)],
		[col('no_hs'), lit(P.NO_HS), tag('NO_HS', P.NO_HS)],
		[col('late'), lit(P.LATE_FILING), tag('LATE_FILING', P.LATE_FILING)],
		...(r.issue9 ? [[col('filing_unknown'), lit(P.FILING_UNKNOWN), tag('FILING_UNKNOWN', P.FILING_UNKNOWN)]] : []),
		[col('hs_pts').isNotNull(), col('hs_pts'), pts('HS_WATCH', col('hs_pts'))],
		[col('origin_pts').isNotNull(), col('origin_pts'), pts('ORIGIN_WATCH', col('origin_pts'))],
		[col('fast'), lit(P.FAST), tag('FAST', P.FAST)],
		[col('random'), lit(P.RANDOM), tag('RANDOM', P.RANDOM)],
	];
	const points = pl.sumHorizontal(rules.map(([cond, n]) => (cond ? when(cond).then(n).otherwise(lit(0)) : n)));
	const reasons = pl.concatString(rules.map(([cond, , text]) => (cond ? when(cond).then(text).otherwise(lit(null)) : text)), '|', true);
	const scored = c.withColumns(
		pl.maxHorizontal([lit(0), pl.minHorizontal([lit(100), points.plus(r.base)])]).cast(pl.Int32).alias('score'),
		reasons.alias('reasons'),
	).withColumns(
		when(col('random').or(col('score').gtEq(r.red))).then(lit(2))
			.when(col('score').gtEq(r.yellow)).then(lit(1)).otherwise(lit(0)).alias('lane_no'),
		when(col('imp_pid').isNotNull()).then(col('ti_imp_status'))
			.when(col('imp_id').isNull().and(col('imp_name_t').isNull())).then(lit('none'))
			.otherwise(lit('unknown')).alias('importer_status'),
		when(col('shp_rank').eq(0)).then(lit('none')).when(col('shp_rank').eq(1)).then(lit('unknown'))
			.when(col('m_rank').gt(col('s_rank'))).then(col('tm_shp_status'))
			.otherwise(col('ts_shp_status')).alias('shipper_status'),
		pl.concatString([lit('I='), col('imp_match'), lit(';S='), col('shp_match'), lit(';M='), col('mfr_match'),
			lit(';C='), col('car_match'), lit(';F='), col('fwd_match')], '').alias('match'),
		col('fast').cast(pl.Int32).alias('fast_eligible'),
		// front of line: a CTPAT importer, or a certified shipper side for an
		// importer that is not suspended, removed or borrowing a member's name
		col('imp_good').or(col('shp_rank').gtEq(5).and(col('imp_barred').or(col('imp_match').eq(lit('conflict'))).not()))
			.cast(pl.Int32).alias('front_of_line'),
		// for the roll-up
		col('shp_rank').gtEq(5).alias('certified'),
		when(col('shp_id').isNotNull()).then(pl.concatString([lit('I'), col('shp_id')], ''))
			.when(col('shp_name_t').isNotNull()).then(pl.concatString([lit('N'), col('shp_norm').fillNull(''), lit('/'),
				upper(col('shp_country')).fillNull('')], ''))
			.otherwise(lit('')).alias('shipper_key'),
	).select('rn', 'shipment_id', 'sid', 'score', 'lane_no', 'reasons', 'importer_status', 'shipper_status',
		'match', 'fast_eligible', 'front_of_line', 'mbl', 'cont', 'load_type', 'certified', 'shipper_key')
		.sort('rn').collectSync();
	return scored;
}

const LANES = ['GREEN', 'YELLOW', 'RED'];
const laneName = (e) => e.replaceStrict([0, 1, 2], LANES, lit(null), pl.Utf8);

// Consolidations: per master bill (else container), its exam probability
// 1 - prod(1 - p_lane), the driver (higher p_lane, then higher score, then
// earlier) and the probability without it; sorted by printed probability,
// then key bytes, container keys before master bills.
export function consolidate(s, r) {
	const p = r.exam;
	const pLane = col('lane_no').replaceStrict([0, 1, 2], p, lit(null), pl.Float64);
	const n = (l) => col('lane_no').eq(l).cast(pl.Int64).sum().alias(`n${l}`);
	const g = s.filter(coalesce(col('mbl'), col('cont')).isNotNull())
		.withColumns(coalesce(col('mbl'), col('cont')).alias('consolidation'),
			col('mbl').isNotNull().alias('by_mbl'), pLane.alias('p_lane'))
		.groupBy(['consolidation', 'by_mbl']).agg(
			col('cont').dropNulls().first().alias('container_id'),
			col('load_type').eq(lit('LCL')).any().alias('any_lcl'),
			col('load_type').eq(lit('FCL')).any().alias('any_fcl'),
			col('rn').count().alias('shipments'), col('shipper_key').nUnique().alias('shippers'),
			col('score').max().alias('max_score'), col('lane_no').max().alias('max_lane'),
			col('certified').not().cast(pl.Int64).sum().alias('uncertified_shipments'),
			n(0), n(1), n(2),
			col('sid').sortBy(['p_lane', 'score', 'rn'], [true, true, false]).first().alias('driver_shipment_id'),
			col('lane_no').sortBy(['p_lane', 'score', 'rn'], [true, true, false]).first().alias('drv_lane'));
	// The probability depends on the lane counts only: computed (examrisk's
	// formula, lanes in order, absent lanes skipped) and printed with %.6f in JS
	// for the distinct (counts, driver lane), which are few; nodejs-polars'
	// pow takes no column exponent.
	const examProb = (cnt) => 1 - cnt.reduce((k, c, l) => (c ? k * Math.pow(1 - p[l], c) : k), 1);
	const counts = g.select('n0', 'n1', 'n2', 'drv_lane').unique();
	const rows = counts.rows();
	const printed = pl.DataFrame({
		n0: counts.getColumn('n0'), n1: counts.getColumn('n1'), n2: counts.getColumn('n2'),
		drv_lane: counts.getColumn('drv_lane'),
		exam_probability: rows.map(([a0, a1, a2]) => examProb([a0, a1, a2]).toFixed(6)),
		probability_without_driver: rows.map(([a0, a1, a2, d]) =>
			examProb([a0 - (d === 0), a1 - (d === 1), a2 - (d === 2)]).toFixed(6)),
	});
	const out = g.join(printed, { on: ['n0', 'n1', 'n2', 'drv_lane'], how: 'left' });
	return out.sort(['exam_probability', 'consolidation', 'by_mbl'], [true, false, false])
		.select(col('consolidation'), when(col('by_mbl')).then(lit('master_bill')).otherwise(lit('container')).alias('key_type'),
			col('container_id'),
			when(col('any_lcl')).then(lit('LCL')).when(col('any_fcl')).then(lit('FCL')).otherwise(lit(null)).alias('load_type'),
			'shipments', 'shippers', 'max_score', laneName(col('max_lane')).alias('lane'), 'uncertified_shipments',
			'exam_probability', 'driver_shipment_id', 'probability_without_driver');
}

// Polars writes the CSV; zlib compresses it on the way to the file.
async function writeCsvGz(df, path) {
	const csv = new PassThrough();
	const done = pipeline(csv, createGzip(), createWriteStream(path));
	df.writeCSV(csv);
	csv.end();
	await done;
}

// ------------------------------------------------------------------ main
async function main() {
	const a = parseArgs(process.argv.slice(2));
	process.env.POLARS_MAX_THREADS = String(a.threads);
	pl = (await import('nodejs-polars')).default;
	const r = readRules(a.rules);
	const t0 = process.hrtime.bigint();
	const elapsed = (t) => (Number(process.hrtime.bigint() - t) / 1e9).toFixed(3);
	const step = (what, fn) => {
		const t = process.hrtime.bigint();
		const v = fn();
		if (a.steps) process.stderr.write(`step ${elapsed(t)}s ${what} (rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB)\n`);
		return v;
	};
	const tables = step('tables', () => loadTables(a, r));
	const m = step('manifest', () => loadManifest(a.manifest));
	const s = step('score', () => score(m, tables, r));
	let t = process.hrtime.bigint();
	await writeCsvGz(s.select(col('shipment_id'), 'score', laneName(col('lane_no')).alias('lane'), 'reasons',
		'importer_status', 'shipper_status', 'match', 'fast_eligible', 'front_of_line'), a.out);
	if (a.steps) process.stderr.write(`step ${elapsed(t)}s write scores\n`);
	if (a.consolidations) {
		const c = step('consolidate', () => consolidate(s, r));
		t = process.hrtime.bigint();
		await writeCsvGz(c, a.consolidations);
		if (a.steps) process.stderr.write(`step ${elapsed(t)}s write consolidations\n`);
	}
	const secs = Number(elapsed(t0));
	const ver = JSON.parse(readFileSync(new URL('../node_modules/nodejs-polars/package.json', import.meta.url))).version;
	process.stderr.write(`polars: rows=${s.height} seconds=${secs.toFixed(3)} ` +
		`rows_per_s=${(s.height / secs).toFixed(0)} threads=${a.threads} version=${ver}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	main().catch((e) => {
		process.stderr.write(`score.mjs: ${e && e.message ? e.message : e}\n${process.env.DEBUG && e.stack ? e.stack : ''}`);
		process.exit(1);
	});
}
