// score.mjs - examrisk's scoring job written the way a data engineer would
// write it in DuckDB (@duckdb/node-api), for `make bench-compare`.
//
//   node benchmarks/duckdb/score.mjs --manifest M.csv.gz --participants P.csv \
//        --mra MRA.csv --rules rules.ini --out scores.csv.gz [--threads N]
//        [--steps] [--profile PROFILE.json]
//
// Reads the gzip manifest with read_csv, resolves every party (by id, else by
// normalized name), looks up each party's standing as of the arrival date with
// a range join on a per-party timeline built from the participants and MRA
// tables, applies the rules read from rules.ini, and writes
//   shipment_id,score,lane,reasons,importer_status,shipper_status,match,
//   fast_eligible,front_of_line
// gzip-compressed, in input order. All the work is SQL run by DuckDB on all
// cores (threads = CPUs unless --threads); JS only parses the INI file and
// turns its lists into SQL literals. Prints one line on stderr at the end:
//   duckdb: rows=N seconds=S rows_per_s=R threads=T version=V
// What it leaves out (rejects, RANDOM's exact hash) is listed in
// benchmarks/README.md.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

// ------------------------------------------------------------------ arguments
function parseArgs(argv) {
	const a = { threads: os.availableParallelism ? os.availableParallelism() : os.cpus().length };
	for (let i = 0; i < argv.length; i++) {
		const k = argv[i];
		const v = argv[i + 1];
		const take = () => {
			if (v === undefined) throw new Error(`${k} needs a value`);
			i++;
			return v;
		};
		switch (k) {
		case '--manifest': a.manifest = take(); break;
		case '--participants': a.participants = take(); break;
		case '--mra': a.mra = take(); break;
		case '--rules': a.rules = take(); break;
		case '--out': a.out = take(); break;
		case '--threads': a.threads = Number(take()); break;
		case '--steps': a.steps = true; break;       // time of each statement on stderr
		case '--profile': a.profile = take(); break; // DuckDB JSON profile of the final query
		default: throw new Error(`unknown argument '${k}'`);
		}
	}
	for (const k of ['manifest', 'participants', 'mra', 'rules', 'out'])
		if (!a[k]) throw new Error(`--${k} is required`);
	if (!(a.threads >= 1)) throw new Error('--threads must be >= 1');
	return a;
}

// ------------------------------------------------------------------ rules.ini
const REASONS = [
	'IMP_CTPAT_T1', 'IMP_CTPAT_T2', 'IMP_CTPAT_T3', 'IMP_SUSPENDED', 'IMP_REMOVED',
	'IMP_UNKNOWN', 'SHP_CTPAT', 'SHP_MRA', 'SHP_AEO_UNRECOGNIZED', 'SHP_UNKNOWN',
	'CARRIER_CTPAT', 'FWD_CTPAT', 'LCL', 'VAGUE_DESC', 'NO_HS', 'LATE_FILING', 'HS_WATCH',
	'ORIGIN_WATCH', 'FAST', 'RANDOM',
];

const WS = /[\t\n\v\f\r ]/;
const PUNCT_CHARS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const maxTerm = (r) => Math.max(0, ...r.vague.map((t) => t.replace(/ /g, '').length));
const PUNCT = /[!-/:-@[-`{-~]/;

// A vague term as examrisk compares it: ASCII upper-case, whitespace runs
// collapsed, leading whitespace and trailing whitespace/punctuation dropped.
function normVague(s) {
	let t = s.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/[\t\n\v\f\r ]+/g, ' ');
	t = t.replace(/^ /, '');
	let end = t.length;
	while (end > 0 && (WS.test(t[end - 1]) || PUNCT.test(t[end - 1]))) end--;
	return t.slice(0, end);
}

// A deliberately simple INI reader: [section], key = value, ';'/'#' comment
// lines and ' ;' inline comments. examrisk validates the file; this trusts it.
function readRules(path) {
	const r = { points: {}, hs: [], origin: [], vague: [] };
	let sect = '';
	readFileSync(path, 'utf8').split(/\r?\n/).forEach((raw, i) => {
		const line = raw.replace(/\s;.*$/, '').trim();
		if (!line || line[0] === ';' || line[0] === '#') return;
		const m = /^\[(.*)\]$/.exec(line);
		if (m) { sect = m[1].trim().toLowerCase(); return; }
		const eq = line.indexOf('=');
		if (eq < 0) throw new Error(`${path}:${i + 1}: expected key = value`);
		const key = line.slice(0, eq).trim();
		const val = line.slice(eq + 1).trim();
		const int = () => {
			if (!/^[+-]?\d+$/.test(val)) throw new Error(`${path}:${i + 1}: not an integer: ${val}`);
			return Number(val);
		};
		switch (sect) {
		case 'score': r[key.toLowerCase()] = int(); break;
		case 'points': r.points[key.toUpperCase()] = int(); break;
		case 'hs_watch': r.hs.push({ prefix: key.replace(/\./g, ''), pts: int() }); break;
		case 'origin_watch': r.origin.push({ cc: key.toUpperCase(), pts: int() }); break;
		case 'vague': r.vague.push(normVague(val)); break;
		case 'filing': if (key.toLowerCase() === 'window_hours') r.window_hours = int(); break;
		case 'random':
			if (key.toLowerCase() === 'rate') r.rate = Number(val);
			else if (key.toLowerCase() === 'seed') r.seed = val;
			break;
		default: break; // [exam_probability] feeds the consolidation roll-up only
		}
	});
	for (const k of ['base', 'red', 'yellow', 'window_hours', 'rate', 'seed'])
		if (r[k] === undefined) throw new Error(`${path}: missing ${k}`);
	for (const k of REASONS)
		if (k !== 'HS_WATCH' && k !== 'ORIGIN_WATCH' && r.points[k] === undefined)
			throw new Error(`${path}: missing [points] ${k}`);
	return r;
}

// ------------------------------------------------------------------ SQL text
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const inList = (xs) => (xs.length ? xs.map(q).join(', ') : 'NULL');
// 'CODE:+N' / 'CODE:-N' exactly as examrisk prints a reason
const tag = (code, n) => q(`${code}:${n < 0 ? '-' : '+'}${Math.abs(n)}`);

// examrisk's name normalizer upper-cases ASCII and the two-byte letters of
// Latin-1, Latin Extended-A, Greek and Cyrillic (a fixed table, unlike
// DuckDB's upper(), which also folds other scripts): build translate() maps.
function upperMaps() {
	const up = (cp) => {
		if (cp >= 0x61 && cp <= 0x7a) return cp - 0x20;
		if (cp >= 0xe0 && cp <= 0xfe && cp !== 0xf7) return cp - 0x20;
		if (cp === 0xff) return 0x178;
		if ((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137) || (cp >= 0x14a && cp <= 0x177))
			return cp & 1 ? cp - 1 : cp;
		if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) return cp & 1 ? cp : cp - 1;
		if (cp === 0x3c2) return 0x3a3;
		if ((cp >= 0x3b1 && cp <= 0x3c1) || (cp >= 0x3c3 && cp <= 0x3cb)) return cp - 0x20;
		if (cp >= 0x430 && cp <= 0x44f) return cp - 0x20;
		if (cp >= 0x450 && cp <= 0x45f) return cp - 0x50;
		return cp;
	};
	let from = '';
	let to = '';
	for (let cp = 0x61; cp < 0x800; cp++) {
		if (cp > 0x7a && cp < 0x80) continue;
		const u = up(cp);
		if (u !== cp) { from += String.fromCodePoint(cp); to += String.fromCodePoint(u); }
	}
	return { from, to };
}

// Legal-form suffixes examrisk drops from the end of a normalized name.
const SUFFIXES = [
	'INC', 'INCORPORATED', 'LLC', 'L L C', 'LTD', 'LIMITED', 'CO', 'CORP', 'CORPORATION',
	'COMPANY', 'GMBH', 'AG', 'KG', 'SA', 'S A', 'SA DE CV', 'DE CV', 'DE C V', 'S DE RL',
	'S DE R L', 'SAB', 'SAPI', 'SAS', 'SRL', 'SPA', 'BV', 'NV', 'PLC', 'PVT', 'PTE', 'PTY',
	'JSC', 'PJSC', 'KK', 'OY', 'OYJ', 'AB', 'SARL', 'LLP', 'LP', 'LLLP', 'PLLC', 'ULC',
	'LTDA', 'LIMITADA', 'SL', 'SE', 'AS', 'A S', 'ASA', 'APS', 'SRO', 'SP Z O O', 'KFT', 'OOO',
	'SDN BHD', 'BHD', 'CIA', 'AND CO', 'AND CIA', 'AND COMPANY', 'PRIVATE LIMITED',
	'LIMITED LIABILITY COMPANY', 'JOINT STOCK COMPANY', 'KABUSHIKI KAISHA', 'BVBA', 'SPRL',
];

function macros(rules) {
	const { from, to } = upperMaps();
	const MARK = '\u0001'; // stands for a dot that joined two one-letter segments
	// word character: ASCII letter/digit or any non-ASCII character but NO-BREAK SPACE;
	// separator: anything else (the marker included)
	const W = '(?:[A-Za-z0-9]|[^\\x00-\\x7F\\x{A0}])';
	const S = '(?:[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]|\\x{A0})';
	// "S.A.", "G.M.B.H.": a dot between two one-character segments is dropped;
	// a run of k such segments needs k-1 passes of this non-overlapping replace
	let dots = 'replace(u, \'&\', \' AND \')';
	for (let i = 0; i < 8; i++)
		dots = `regexp_replace(${dots}, '(^|${S})(${W})\\.(${W})(${S}|$)', '\\1\\2${MARK}\\3\\4', 'g')`;
	const suf = SUFFIXES.join('|');
	const desc = (x) => `regexp_replace(regexp_replace(regexp_replace(up_ascii(${x}), '[\\t\\n\\v\\f\\r ]+', ' ', 'g'), '^ ', ''), '[\\t\\n\\v\\f\\r !-/:-@\\[-\`{-~]+$', '')`;
	return `
-- examrisk trims spaces and tabs around every field; most fields have none, so look first
CREATE MACRO tr(s) AS nullif(CASE WHEN s[1] IN (' ', chr(9)) OR s[-1] IN (' ', chr(9))
	THEN trim(s, ' ' || chr(9)) ELSE s END, '');
CREATE MACRO up_ascii(s) AS translate(s, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
CREATE MACRO pts(code, n) AS code || ':' || CASE WHEN n < 0 THEN '-' ELSE '+' END || abs(n)::VARCHAR;
CREATE MACRO norm_dots(u) AS replace(${dots}, '${MARK}', '');
CREATE MACRO norm_name(s) AS regexp_replace(regexp_replace(
	trim(regexp_replace(norm_dots(translate(s, ${q(from)}, ${q(to)})), '${S}+', ' ', 'g')),
	'^THE (.)', '\\1'), '^(.+?)((?: (?:${suf}))+)$', '\\1');
-- normalized description, as examrisk compares it with the vague terms
CREATE MACRO desc_norm(d) AS ${desc('d')};
`;
}

// Points of the longest watched HS prefix of the digits d (NULL: none).
function hsCase(rules) {
	if (!rules.hs.length) return 'NULL::INTEGER';
	const hs = [...rules.hs].sort((a, b) => b.prefix.length - a.prefix.length);
	return `CASE ${hs.map((h) => `WHEN starts_with(hs_digits, ${q(h.prefix)}) THEN ${h.pts}`).join(' ')} END`;
}

function originCase(rules) {
	if (!rules.origin.length) return 'NULL::INTEGER';
	return `CASE up_ascii(origin) ${rules.origin.map((o) => `WHEN ${q(o.cc)} THEN ${o.pts}`).join(' ')} END`;
}

// ------------------------------------------------------------------ the job
const STATUSES = `CASE lower(status) WHEN 'validated' THEN 4 WHEN 'certified' THEN 3
	WHEN 'suspended' THEN 2 WHEN 'removed' THEN 1 WHEN 'withdrawn' THEN 0 END`;

function tablesSql(a) {
	return `
-- participants: one row per status period (line = file order, for the latest name)
CREATE TABLE certs AS
SELECT party_id AS pid, name, up_ascii(country) AS cc, up_ascii(program) AS program,
	up_ascii(program) = 'CTPAT' AS is_ctpat, lower(status) AS status, ${STATUSES} AS standing,
	coalesce(TRY_CAST(tier AS INTEGER), 0) AS tier,
	CAST(valid_from AS DATE) AS vf, CAST(nullif(valid_to, '') AS DATE) AS vt,
	row_number() OVER () AS line
FROM read_csv(${q(a.participants)}, header = true, auto_detect = false, all_varchar = true,
	columns = {'party_id': 'VARCHAR', 'name': 'VARCHAR', 'country': 'VARCHAR', 'role': 'VARCHAR',
		'program': 'VARCHAR', 'status': 'VARCHAR', 'tier': 'VARCHAR', 'valid_from': 'VARCHAR',
		'valid_to': 'VARCHAR'});

CREATE TABLE mra AS
SELECT up_ascii(program) AS program, up_ascii(country) AS cc,
	CAST(nullif(recognized_from, '') AS DATE) AS rf, CAST(nullif(recognized_to, '') AS DATE) AS rt
FROM read_csv(${q(a.mra)}, header = true, auto_detect = false,
	columns = {'program': 'VARCHAR', 'partner': 'VARCHAR', 'partner_program': 'VARCHAR',
		'country': 'VARCHAR', 'signed_on': 'VARCHAR', 'recognized_from': 'VARCHAR',
		'recognized_to': 'VARCHAR', 'note': 'VARCHAR'});

-- a party: its latest name (latest valid_from, then later line), normalized
CREATE TABLE parties AS
SELECT pid, cc, coalesce(norm_name(name), '') AS norm
FROM certs QUALIFY row_number() OVER (PARTITION BY pid ORDER BY vf DESC, line DESC) = 1;

-- name indexes: a key held by two parties is ambiguous and matches nothing
CREATE TABLE name_cc AS SELECT norm, cc, min(pid) AS pid FROM parties WHERE norm <> ''
	GROUP BY norm, cc HAVING count(*) = 1;
CREATE TABLE name_any AS SELECT norm, min(pid) AS pid FROM parties WHERE norm <> ''
	GROUP BY norm HAVING count(*) = 1;

-- Per-party timeline: one row per interval [d, d_end) between consecutive
-- change dates (period starts/ends and MRA recognition dates), holding the
-- party's standing on those days, so a shipment needs one range-join hit per party.
CREATE TABLE timeline AS
WITH b AS (
	SELECT pid, DATE '1900-01-01' AS d FROM parties
	UNION SELECT pid, vf FROM certs
	UNION SELECT pid, vt FROM certs WHERE vt IS NOT NULL
	UNION SELECT c.pid, m.rf FROM certs c JOIN mra m USING (program, cc) WHERE NOT c.is_ctpat AND m.rf IS NOT NULL
	UNION SELECT c.pid, m.rt FROM certs c JOIN mra m USING (program, cc) WHERE NOT c.is_ctpat AND m.rt IS NOT NULL
), inforce AS (
	SELECT b.pid, b.d, c.program, c.cc, c.is_ctpat, c.status, c.standing, c.tier, c.vf
	FROM b JOIN certs c ON c.pid = b.pid AND c.vf <= b.d AND (c.vt IS NULL OR b.d < c.vt)
), ct AS (
	SELECT pid, d, status, standing, tier FROM inforce WHERE is_ctpat
	QUALIFY row_number() OVER (PARTITION BY pid, d ORDER BY standing DESC, tier DESC, vf) = 1
), fc AS (
	SELECT i.pid, i.d, i.program, i.status, i.standing,
		EXISTS (SELECT 1 FROM mra m WHERE m.program = i.program AND m.cc = i.cc AND m.rf IS NOT NULL
			AND m.rf <= i.d AND (m.rt IS NULL OR i.d < m.rt)) AS mra
	FROM inforce i WHERE NOT is_ctpat
	QUALIFY row_number() OVER (PARTITION BY i.pid, i.d ORDER BY i.standing DESC, i.tier DESC, i.program, i.vf) = 1
), s AS (
	SELECT b.pid, b.d,
		coalesce(lead(b.d) OVER (PARTITION BY b.pid ORDER BY b.d), DATE '9999-12-31') AS d_end,
		ct.status AS ct_status, ct.standing >= 3 AS ct_good,
		CASE WHEN ct.tier > 0 THEN least(ct.tier, 3) WHEN ct.status = 'validated' THEN 2 ELSE 1 END AS ct_tier,
		fc.program AS fc_program, fc.status AS fc_status, fc.standing >= 3 AS fc_good, fc.mra
	FROM b LEFT JOIN ct USING (pid, d) LEFT JOIN fc USING (pid, d)
)
SELECT pid, d, d_end, coalesce(ct_good, false) AS ct_good,
	CASE WHEN ct_good THEN 'IMP_CTPAT_T' || ct_tier WHEN ct_status = 'suspended' THEN 'IMP_SUSPENDED'
		WHEN ct_status = 'removed' THEN 'IMP_REMOVED' ELSE 'IMP_UNKNOWN' END AS imp_reason,
	CASE WHEN ct_good THEN 'CTPAT:' || ct_status || ':T' || ct_tier
		WHEN ct_status IS NOT NULL THEN 'CTPAT:' || ct_status ELSE 'not_in_force' END AS imp_status,
	CASE WHEN ct_good THEN 6 WHEN fc_good AND mra THEN 5 WHEN fc_good THEN 4
		WHEN ct_status IS NOT NULL OR fc_status IS NOT NULL THEN 3 ELSE 2 END AS shp_rank,
	CASE WHEN ct_good THEN 'CTPAT:' || ct_status || ':T' || ct_tier
		WHEN fc_good THEN fc_program || ':' || fc_status || CASE WHEN mra THEN ':MRA' ELSE ':NO_MRA' END
		WHEN ct_status IS NOT NULL THEN 'CTPAT:' || ct_status
		WHEN fc_status IS NOT NULL THEN fc_program || ':' || fc_status
		ELSE 'not_in_force' END AS shp_status
FROM s;
`;
}

const MANIFEST_COLS = [
	'shipment_id', 'arrival_date', 'master_bill', 'container_id', 'load_type', 'mode',
	'lading_port', 'unlading_port', 'origin_country', 'shipper_country', 'importer_id',
	'importer_name', 'shipper_id', 'shipper_name', 'manufacturer_id', 'consignee_name',
	'carrier_scac', 'forwarder_id', 'hs_code', 'description', 'declared_value_usd',
	'gross_weight_kg', 'quantity', 'filed_at', 'departure_at',
];

// The manifest as the rules see it: fields trimmed, typed, mode folded.
function manifestSql(a) {
	const cols = MANIFEST_COLS.map((c) => `${q(c)}: 'VARCHAR'`).join(', ');
	return `read_csv(${q(a.manifest)}, header = true, auto_detect = false, compression = 'gzip',
	delim = ',', quote = '"', escape = '"', columns = {${cols}})`;
}

// The distinct descriptions that are vague: blank, no letter at all, one
// character repeated 3+ times, or a listed term after normalization.
function vagueSql(r) {
	return `-- vague: blank, no letter at all, one character repeated 3+ times, or a listed term
CREATE TABLE vague_descs AS
WITH d AS (
	SELECT description, regexp_replace(description, '[\\t\\n\\v\\f\\r ]', '', 'g') AS ns
	FROM dv WHERE g = 14
)
SELECT description FROM d
WHERE NOT regexp_matches(ns, '[A-Za-z]|[^\\x00-\\x7F]')
	OR (length(ns) >= 3 AND up_ascii(ns) = repeat(up_ascii(ns[1]), length(ns)))
	-- a term's letters: only short descriptions need normalizing
	OR (length(rtrim(ns, ${q(PUNCT_CHARS)})) <= ${maxTerm(r)}
		AND desc_norm(description) IN (${inList(r.vague)}));`;
}

// Load the manifest once (the columns the rules read, as text): the table
// keeps input order, so its rowid is the input row number, and every later
// step scans it in parallel. Then the distinct names and descriptions, each
// normalized and judged once (a few percent of the rows).
function distinctSql(a, r) {
	return `
CREATE TABLE m AS
SELECT shipment_id, arrival_date, importer_id, importer_name, shipper_id, shipper_name,
	shipper_country, origin_country, manufacturer_id, carrier_scac, forwarder_id, load_type,
	mode, lading_port, hs_code, description, filed_at, departure_at
FROM ${manifestSql(a)};

CREATE TABLE dv AS
SELECT importer_name AS imp_name, shipper_name AS shp_name,
	coalesce(tr(shipper_country), tr(origin_country)) AS shp_cc,
	coalesce(description, '') AS description, grouping(imp_name, shp_name, shp_cc, description) AS g
FROM m
GROUP BY GROUPING SETS ((imp_name), (shp_name, shp_cc), (description));

CREATE TABLE imp_names AS
SELECT n.imp_name, x.pid FROM dv n JOIN name_any x ON x.norm = norm_name(n.imp_name)
WHERE n.g = 7;

CREATE TABLE shp_names AS
WITH n AS MATERIALIZED (
	SELECT shp_name, shp_cc, norm_name(shp_name) AS norm,
		CASE WHEN regexp_full_match(shp_cc, '[A-Za-z]{2}') THEN up_ascii(shp_cc) END AS cc
	FROM dv WHERE g = 9
)
SELECT n.shp_name, n.shp_cc, x.pid FROM n JOIN name_cc x ON x.norm = n.norm AND x.cc = n.cc
UNION ALL
SELECT n.shp_name, n.shp_cc, y.pid FROM n JOIN name_any y ON y.norm = n.norm WHERE n.shp_cc IS NULL;

${vagueSql(r)}
`;
}

function scoreSql(a, r) {
	const P = r.points;
	const match = (idExpr, nameExpr, found, byName) =>
		`CASE WHEN ${found} IS NULL THEN CASE WHEN ${idExpr} IS NULL${nameExpr ? ` AND ${nameExpr} IS NULL` : ''} THEN '-' ELSE 'none' END
			WHEN ${byName} THEN 'name' ELSE 'id' END`;
	const random = r.rate > 0
		// Not examrisk's keyed hash (er_hash64): same rate, different sample.
		? `(hash(sid, ${q(r.seed)}) >> 11) * pow(2, -53) < ${r.rate}`
		: 'false';
	return `
COPY (
WITH r AS (
	SELECT rowid AS rn, shipment_id, tr(shipment_id) AS sid, CAST(tr(arrival_date) AS DATE) AS day,
		tr(importer_id) AS imp_id, importer_name AS imp_name,
		tr(shipper_id) AS shp_id, shipper_name AS shp_name,
		coalesce(tr(shipper_country), tr(origin_country)) AS shp_cc, tr(origin_country) AS origin,
		tr(manufacturer_id) AS mfr_id, tr(carrier_scac) AS car_id, tr(forwarder_id) AS fwd_id,
		up_ascii(tr(load_type)) = 'LCL' AS lcl,
		CASE WHEN up_ascii(tr(mode)) IN ('VESSEL', 'OCEAN', 'SEA', 'MARITIME') THEN 'vessel'
			WHEN up_ascii(tr(mode)) IN ('TRUCK', 'ROAD', 'HIGHWAY') THEN 'truck' END AS mode,
		tr(lading_port) AS lading_port,
		coalesce(replace(replace(tr(hs_code), '.', ''), ' ', ''), '') AS hs_digits,
		coalesce(description, '') AS description,
		floor(epoch(CAST(tr(filed_at) AS TIMESTAMPTZ))) AS filed_s,
		floor(epoch(CAST(tr(departure_at) AS TIMESTAMPTZ))) AS dep_s
	FROM m
), j AS (
	SELECT r.*,
		coalesce(pi.pid, ni.pid) AS imp_pid, pi.pid IS NULL AND ni.pid IS NOT NULL AS imp_by_name,
		coalesce(ps.pid, ns.pid) AS shp_pid, ps.pid IS NULL AND ns.pid IS NOT NULL AS shp_by_name,
		vd.description IS NOT NULL AS vague
	FROM r
	LEFT JOIN parties pi ON pi.pid = r.imp_id
	LEFT JOIN imp_names ni ON ni.imp_name = r.imp_name
	LEFT JOIN parties ps ON ps.pid = r.shp_id
	LEFT JOIN shp_names ns ON ns.shp_name = r.shp_name AND ns.shp_cc IS NOT DISTINCT FROM r.shp_cc
	LEFT JOIN vague_descs vd ON vd.description = r.description
), t AS (
	SELECT j.*,
		ti.pid AS ti_pid, ti.imp_reason, ti.imp_status, ti.ct_good AS imp_good,
		CASE WHEN ts.pid IS NOT NULL THEN ts.shp_rank WHEN j.shp_id IS NULL AND tr(j.shp_name) IS NULL THEN 0 ELSE 1 END AS s_rank,
		ts.shp_status AS s_status, ts.pid AS ts_pid,
		CASE WHEN tm.pid IS NOT NULL THEN tm.shp_rank WHEN j.mfr_id IS NULL THEN 0 ELSE 1 END AS m_rank,
		tm.shp_status AS m_status, tm.pid AS tm_pid, coalesce(tm.ct_good, false) AS mfr_good,
		tc.pid AS tc_pid, coalesce(tc.ct_good, false) AS car_good,
		tf.pid AS tf_pid, coalesce(tf.ct_good, false) AS fwd_good,
		${hsCase(r)} AS hs_pts, ${originCase(r)} AS origin_pts
	FROM j
	LEFT JOIN timeline ti ON ti.pid = j.imp_pid AND ti.d <= j.day AND j.day < ti.d_end
	LEFT JOIN timeline ts ON ts.pid = j.shp_pid AND ts.d <= j.day AND j.day < ts.d_end
	LEFT JOIN timeline tm ON tm.pid = j.mfr_id AND tm.d <= j.day AND j.day < tm.d_end
	LEFT JOIN timeline tc ON tc.pid = j.car_id AND tc.d <= j.day AND j.day < tc.d_end
	LEFT JOIN timeline tf ON tf.pid = j.fwd_id AND tf.d <= j.day AND j.day < tf.d_end
), f AS (
	SELECT t.*,
		coalesce(imp_reason, 'IMP_UNKNOWN') AS imp_code,
		greatest(s_rank, m_rank) AS shp_rank,
		CASE greatest(s_rank, m_rank) WHEN 6 THEN 'SHP_CTPAT' WHEN 5 THEN 'SHP_MRA'
			WHEN 4 THEN 'SHP_AEO_UNRECOGNIZED' ELSE 'SHP_UNKNOWN' END AS shp_code,
		coalesce(mode = 'vessel' AND filed_s > dep_s - ${r.window_hours * 3600}, false) AS late,
		coalesce(mode = 'truck', false) AND coalesce(imp_good, false) AND car_good
			AND (NOT CASE WHEN origin IS NOT NULL THEN up_ascii(origin) = 'MX'
				ELSE coalesce(up_ascii(left(lading_port, 2)) = 'MX', false) END OR mfr_good) AS fast,
		${random} AS random
	FROM t
), p AS (
	SELECT f.*,
		CASE imp_code ${['IMP_CTPAT_T1', 'IMP_CTPAT_T2', 'IMP_CTPAT_T3', 'IMP_SUSPENDED', 'IMP_REMOVED', 'IMP_UNKNOWN'].map((c) => `WHEN '${c}' THEN ${P[c]}`).join(' ')} END
		+ CASE shp_code ${['SHP_CTPAT', 'SHP_MRA', 'SHP_AEO_UNRECOGNIZED', 'SHP_UNKNOWN'].map((c) => `WHEN '${c}' THEN ${P[c]}`).join(' ')} END
		+ CASE WHEN car_good THEN ${P.CARRIER_CTPAT} ELSE 0 END
		+ CASE WHEN fwd_good THEN ${P.FWD_CTPAT} ELSE 0 END
		+ CASE WHEN lcl THEN ${P.LCL} ELSE 0 END
		+ CASE WHEN vague THEN ${P.VAGUE_DESC} ELSE 0 END
		+ CASE WHEN length(hs_digits) < 6 THEN ${P.NO_HS} ELSE 0 END
		+ CASE WHEN late THEN ${P.LATE_FILING} ELSE 0 END
		+ coalesce(hs_pts, 0) + coalesce(origin_pts, 0)
		+ CASE WHEN fast THEN ${P.FAST} ELSE 0 END
		+ CASE WHEN random THEN ${P.RANDOM} ELSE 0 END AS points
	FROM f
), o AS (
	SELECT p.*, greatest(0, least(100, ${r.base} + points)) AS score FROM p
)
SELECT shipment_id,
	score,
	CASE WHEN random OR score >= ${r.red} THEN 'RED' WHEN score >= ${r.yellow} THEN 'YELLOW'
		ELSE 'GREEN' END AS lane,
	concat_ws('|',
		CASE imp_code ${['IMP_CTPAT_T1', 'IMP_CTPAT_T2', 'IMP_CTPAT_T3', 'IMP_SUSPENDED', 'IMP_REMOVED', 'IMP_UNKNOWN'].map((c) => `WHEN '${c}' THEN ${tag(c, P[c])}`).join(' ')} END,
		CASE shp_code ${['SHP_CTPAT', 'SHP_MRA', 'SHP_AEO_UNRECOGNIZED', 'SHP_UNKNOWN'].map((c) => `WHEN '${c}' THEN ${tag(c, P[c])}`).join(' ')} END,
		CASE WHEN car_good THEN ${tag('CARRIER_CTPAT', P.CARRIER_CTPAT)} END,
		CASE WHEN fwd_good THEN ${tag('FWD_CTPAT', P.FWD_CTPAT)} END,
		CASE WHEN lcl THEN ${tag('LCL', P.LCL)} END,
		CASE WHEN vague THEN ${tag('VAGUE_DESC', P.VAGUE_DESC)} END,
		CASE WHEN length(hs_digits) < 6 THEN ${tag('NO_HS', P.NO_HS)} END,
		CASE WHEN late THEN ${tag('LATE_FILING', P.LATE_FILING)} END,
		CASE WHEN hs_pts IS NOT NULL THEN pts('HS_WATCH', hs_pts) END,
		CASE WHEN origin_pts IS NOT NULL THEN pts('ORIGIN_WATCH', origin_pts) END,
		CASE WHEN fast THEN ${tag('FAST', P.FAST)} END,
		CASE WHEN random THEN ${tag('RANDOM', P.RANDOM)} END) AS reasons,
	CASE WHEN ti_pid IS NOT NULL THEN imp_status
		WHEN imp_id IS NULL AND tr(imp_name) IS NULL THEN 'none' ELSE 'unknown' END AS importer_status,
	CASE WHEN shp_rank <= 1 THEN CASE WHEN shp_rank = 0 THEN 'none' ELSE 'unknown' END
		WHEN m_rank > s_rank THEN m_status ELSE s_status END AS shipper_status,
	'I=' || ${match('imp_id', 'tr(imp_name)', 'ti_pid', 'imp_by_name')}
		|| ';S=' || ${match('shp_id', 'tr(shp_name)', 'ts_pid', 'shp_by_name')}
		|| ';M=' || ${match('mfr_id', null, 'tm_pid', 'false')}
		|| ';C=' || ${match('car_id', null, 'tc_pid', 'false')}
		|| ';F=' || ${match('fwd_id', null, 'tf_pid', 'false')} AS match,
	fast::INTEGER AS fast_eligible,
	(coalesce(imp_good, false) OR shp_rank >= 5)::INTEGER AS front_of_line
FROM o
ORDER BY rn
) TO ${q(a.out)} (FORMAT csv, HEADER true, COMPRESSION gzip);
`;
}

// ------------------------------------------------------------------ main
async function main() {
	const a = parseArgs(process.argv.slice(2));
	const rules = readRules(a.rules);
	const t0 = process.hrtime.bigint();
	const db = await DuckDBInstance.create(':memory:', { threads: String(a.threads) });
	const con = await db.connect();
	const elapsed = (t) => (Number(process.hrtime.bigint() - t) / 1e9).toFixed(3);
	// one statement at a time, timed with --steps
	const run = async (sql) => {
		const t = process.hrtime.bigint();
		const r = await con.runAndReadAll(sql);
		if (a.steps) process.stderr.write(`step ${elapsed(t)}s ${sql.trim().split('\n')[0].slice(0, 70)}\n`);
		return r;
	};
	const ver = (await run('SELECT version()')).getRows()[0][0];
	await run(`SET TimeZone = 'UTC'`); // timestamps without an offset are UTC, as in examrisk
	await run(macros(rules));
	await run(tablesSql(a));
	for (const st of distinctSql(a, rules).split(/;\n/).filter((x) => x.trim())) await run(st);
	if (a.profile) {
		await run(`PRAGMA enable_profiling = 'json'`);
		await run(`PRAGMA profiling_output = ${q(a.profile)}`);
	}
	const res = await run(scoreSql(a, rules));
	if (a.profile) await run('PRAGMA disable_profiling');
	const rows = Number(res.getRows()[0][0]);
	const secs = Number(elapsed(t0));
	process.stderr.write(`duckdb: rows=${rows} seconds=${secs.toFixed(3)} ` +
		`rows_per_s=${(rows / secs).toFixed(0)} threads=${a.threads} version=${ver}\n`);
}

// The SQL builders are exported for tests; running the file runs the job.
export { readRules, macros, tablesSql, distinctSql, vagueSql, scoreSql };
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	main().catch((e) => {
		process.stderr.write(`score.mjs: ${e && e.message ? e.message : e}\n`);
		process.exit(1);
	});
}
