// score.mjs - examrisk's scoring job written the way a data engineer would
// write it in DuckDB (@duckdb/node-api), for `make bench-compare`: scores and
// consolidations, both gzip.
//
//   node benchmarks/duckdb/score.mjs --manifest M.csv.gz --participants P.csv \
//        --mra MRA.csv --rules rules.ini --out scores.csv.gz
//        [--consolidations consol.csv.gz] [--threads N]
//        [--steps] [--profile PROFILE.json]
//
// Reads the gzip manifest with read_csv, resolves every party among the
// participants of its column's role (by id when one is given, else by
// normalized name; conflicts and ambiguous names as examrisk), looks up each party's standing as of the arrival date with
// a range join on a per-party timeline built from the participants and MRA
// tables, applies the rules read from rules.ini, and writes
//   shipment_id,score,lane,reasons,importer_status,shipper_status,match,
//   fast_eligible,front_of_line
// gzip-compressed, in input order, and with --consolidations the roll-up per
// master bill (else container), sorted as examrisk sorts it. All the work is
// SQL run by DuckDB on all cores (threads = CPUs unless --threads); JS only
// parses the INI file, turns its lists into SQL literals and Unicode-folds
// non-ASCII names (fold_name, a scalar UDF: DuckDB has no NFKC). Prints one line on stderr at the end:
//   duckdb: rows=N seconds=S rows_per_s=R threads=T version=V
// What it leaves out (rejects, RANDOM's exact hash) is listed in
// benchmarks/README.md.
import { DuckDBInstance, DuckDBScalarFunction, VARCHAR } from '@duckdb/node-api';
import { foldName } from '../lib/fold.mjs';
import { parseArgs, readRules, stripRes, NONWORD, PUNCT_CHARS, maxTerm, SUFFIXES, MANIFEST_COLS, IMP_CODES, SHP_CODES, reasonText } from '../lib/job.mjs';
import { pathToFileURL } from 'node:url';

// ------------------------------------------------------------------ SQL text
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const inList = (xs) => (xs.length ? xs.map(q).join(', ') : 'NULL');
const tag = (code, n) => q(reasonText(code, n));


function macros(rules) {
	const MARK = '\u0001'; // stands for a dot that joined two one-letter segments
	// word character: ASCII letter/digit or any non-ASCII character (a folded
	// name has no Unicode separators left); separator: anything else (the marker included)
	const W = '(?:[A-Za-z0-9]|[^\\x00-\\x7F])';
	const S = '[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]';
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
-- a name with a non-ASCII character is Unicode-folded first (fold_name: a JS UDF)
CREATE MACRO norm_name(s) AS regexp_replace(regexp_replace(
	trim(regexp_replace(norm_dots(up_ascii(CASE WHEN regexp_matches(s, '[^\\x00-\\x7F]') THEN fold_name(s) ELSE s END)), '${S}+', ' ', 'g')),
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

function tablesSql(a, r) {
	// MRA recognized_to: exclusive before issue 9, the last day recognized after
	const rtEnd = r.issue9 ? 'm.rt + 1' : 'm.rt';
	const inMra = r.issue9 ? 'i.d <= m.rt' : 'i.d < m.rt';
	return `
-- participants: one row per status period (line = file order, for the latest name)
CREATE TABLE certs AS
SELECT party_id AS pid, name, up_ascii(country) AS cc, lower(trim(role)) AS role, up_ascii(program) AS program,
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

-- a party: its latest name (latest valid_from, then later line), normalized, and
-- the roles it is listed under (a party listed under several roles has all)
CREATE TABLE parties AS
SELECT pid, cc, norm, is_imp, is_shp, is_mfr, is_car, is_fwd FROM (
	SELECT pid, cc, coalesce(norm_name(name), '') AS norm,
		bool_or(role = 'importer') OVER w AS is_imp,
		bool_or(role IN ('exporter', 'manufacturer')) OVER w AS is_shp,
		bool_or(role = 'manufacturer') OVER w AS is_mfr,
		bool_or(role = 'carrier') OVER w AS is_car,
		bool_or(role = 'forwarder') OVER w AS is_fwd,
		row_number() OVER (PARTITION BY pid ORDER BY vf DESC, line DESC) AS latest
	FROM certs WINDOW w AS (PARTITION BY pid)
) WHERE latest = 1;

-- name keys per manifest column: how many parties of that column's role hold
-- the name (1: a match, 2+: ambiguous, none taken); shippers by name + country
CREATE TABLE imp_key AS SELECT norm, count(*) AS n, min(pid) AS pid FROM parties
	WHERE norm <> '' AND is_imp GROUP BY norm;
CREATE TABLE shp_key_cc AS SELECT norm, cc, count(*) AS n, min(pid) AS pid FROM parties
	WHERE norm <> '' AND is_shp GROUP BY norm, cc;
CREATE TABLE shp_key AS SELECT norm, count(*) AS n, min(pid) AS pid FROM parties
	WHERE norm <> '' AND is_shp GROUP BY norm;

-- Per-party timeline: one row per interval [d, d_end) between consecutive
-- change dates (period starts/ends and MRA recognition dates), holding the
-- party's standing on those days, so a shipment needs one range-join hit per party.
CREATE TABLE timeline AS
WITH b AS (
	SELECT pid, DATE '1900-01-01' AS d FROM parties
	UNION SELECT pid, vf FROM certs
	UNION SELECT pid, vt FROM certs WHERE vt IS NOT NULL
	UNION SELECT c.pid, m.rf FROM certs c JOIN mra m USING (program, cc) WHERE NOT c.is_ctpat AND m.rf IS NOT NULL
	UNION SELECT c.pid, ${rtEnd} FROM certs c JOIN mra m USING (program, cc) WHERE NOT c.is_ctpat AND m.rt IS NOT NULL
), inforce AS (
	SELECT b.pid, b.d, c.program, c.cc, c.is_ctpat, c.status, c.standing, c.tier, c.vf
	FROM b JOIN certs c ON c.pid = b.pid AND c.vf <= b.d AND (c.vt IS NULL OR b.d < c.vt)
), ct AS (
	SELECT pid, d, status, standing, tier FROM inforce WHERE is_ctpat
	QUALIFY row_number() OVER (PARTITION BY pid, d ORDER BY standing DESC, tier DESC, vf) = 1
), fc AS (
	SELECT i.pid, i.d, i.program, i.status, i.standing,
		EXISTS (SELECT 1 FROM mra m WHERE m.program = i.program AND m.cc = i.cc AND m.rf IS NOT NULL
			AND m.rf <= i.d AND (m.rt IS NULL OR ${inMra})) AS mra
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
SELECT s.pid, d, d_end, coalesce(ct_good, false) AS ct_good,
	ct_status IN ('suspended', 'removed') AS ct_barred,
	p.is_imp, p.is_shp, p.is_mfr, p.is_car, p.is_fwd, p.cc AS party_cc,
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
FROM s JOIN parties p USING (pid);
`;
}


// The manifest as the rules see it: fields trimmed, typed, mode folded.
function manifestSql(a) {
	const cols = MANIFEST_COLS.map((c) => `${q(c)}: 'VARCHAR'`).join(', ');
	return `read_csv(${q(a.manifest)}, header = true, auto_detect = false, compression = 'gzip',
	delim = ',', quote = '"', escape = '"', columns = {${cols}})`;
}

// The distinct descriptions that are vague: blank, no letter at all, one
// character repeated 3+ times, or a listed term after normalization.
function vagueSql(r) {
	// issue 9: a package count and a prefix ("12 CTNS STC ...") are stripped first
	const st = stripRes(r);
	const rest = st
		? `regexp_replace(regexp_replace(description, ${q(`^${st.lead}(${NONWORD}|$)`)}, '\\1'), ${q(`^${st.sep}+`)}, '')`
		: 'description';
	const unitAlone = st && st.unitAlone ? `regexp_matches(rest, ${q(st.unitAlone)})` : 'false';
	return `-- vague: a unit word alone, blank, no letter at all, one character repeated 3+ times,
-- or a listed term
CREATE TABLE vague_descs AS
WITH s AS (
	SELECT description, ${rest} AS rest FROM dv WHERE g = 14
), d AS (
	SELECT description, rest, regexp_replace(rest, '[\\t\\n\\v\\f\\r ]', '', 'g') AS ns FROM s
)
SELECT description FROM d
WHERE ${unitAlone}
	OR NOT regexp_matches(ns, '[A-Za-z]|[^\\x00-\\x7F]')
	OR (length(ns) >= 3 AND up_ascii(ns) = repeat(up_ascii(ns[1]), length(ns)))
	-- a term's letters: only short descriptions need normalizing
	OR (length(rtrim(ns, ${q(PUNCT_CHARS)})) <= ${maxTerm(r)}
		AND desc_norm(rest) IN (${inList(r.vague)}));`;
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
	mode, lading_port, hs_code, description, filed_at, departure_at, master_bill, container_id
FROM ${manifestSql(a)};

CREATE TABLE dv AS
SELECT importer_name AS imp_name, shipper_name AS shp_name,
	coalesce(tr(shipper_country), tr(origin_country)) AS shp_cc,
	coalesce(description, '') AS description, grouping(imp_name, shp_name, shp_cc, description) AS g
FROM m
GROUP BY GROUPING SETS ((imp_name), (shp_name, shp_cc), (description));

-- each distinct name: how many parties of the column's role hold it (n) and,
-- when exactly one does, which
CREATE TABLE imp_names AS
SELECT n.imp_name, x.n, x.pid FROM dv n JOIN imp_key x ON x.norm = norm_name(n.imp_name)
WHERE n.g = 7;

CREATE TABLE shp_norm AS SELECT DISTINCT shp_name, norm_name(shp_name) AS norm FROM dv WHERE g = 9;

CREATE TABLE shp_names AS
WITH n AS (
	SELECT dv.shp_name, shp_cc, norm,
		CASE WHEN regexp_full_match(shp_cc, '[A-Za-z]{2}') THEN up_ascii(shp_cc) END AS cc
	FROM dv JOIN shp_norm USING (shp_name) WHERE g = 9
)
SELECT n.shp_name, n.shp_cc, x.n, x.pid FROM n JOIN shp_key_cc x ON x.norm = n.norm AND x.cc = n.cc
UNION ALL
SELECT n.shp_name, n.shp_cc, y.n, y.pid FROM n JOIN shp_key y ON y.norm = n.norm WHERE n.shp_cc IS NULL;

${vagueSql(r)}
`;
}

// The party columns: how each is matched (see README "Party matching").
// id given: found under the column's role -> 'id'; else the name, if given,
// of a listed party of that role -> 'conflict'; else 'none'. No id: no name
// -> '-'; the name held by one party of the role -> 'name', by several ->
// 'ambiguous', by none -> 'none'.
const matchSql = (id, idHit, name, nameN) => `CASE
		WHEN ${id} IS NOT NULL THEN CASE WHEN ${idHit} IS NOT NULL THEN 'id'
			${name ? `WHEN ${nameN} >= 1 THEN 'conflict' ` : ''}ELSE 'none' END
		${name ? `WHEN ${name} IS NULL THEN '-' WHEN ${nameN} = 1 THEN 'name'
		WHEN ${nameN} > 1 THEN 'ambiguous' ELSE 'none'` : `ELSE '-'`} END`;


// FAST beyond importer and carrier: from Mexico, a CTPAT manufacturer too.
// Before issue 9 "from Mexico" is the origin (else the lading port); after,
// the border crossed: the lading port (else shipper_country), and the
// manufacturer must be incorporated in Mexico.
function fastSql(r) {
	return r.issue9
		? `(NOT CASE WHEN lading_port IS NOT NULL THEN coalesce(up_ascii(left(lading_port, 2)) = 'MX' AND length(lading_port) >= 2, false)
				ELSE coalesce(up_ascii(shp_country_raw) = 'MX', false) END OR mx_mfr_good)`
		: `(NOT CASE WHEN origin IS NOT NULL THEN up_ascii(origin) = 'MX'
				ELSE coalesce(up_ascii(left(lading_port, 2)) = 'MX', false) END OR mfr_good)`;
}

// Every scored row, with what the roll-up needs, as one table: the scores and
// the consolidations are two COPYs of it.
function scoreSql(a, r) {
	const P = r.points;
	const random = r.rate > 0
		// Not examrisk's keyed hash (er_hash64): same rate, different sample.
		? `(hash(sid, ${q(r.seed)}) >> 11) * pow(2, -53) < ${r.rate}`
		: 'false';
	// one clause per rule: [flag, points expression, reason text]
	const rules = [
		['true', `CASE imp_code ${IMP_CODES.map((c) => `WHEN '${c}' THEN ${P[c]}`).join(' ')} END`,
			`CASE imp_code ${IMP_CODES.map((c) => `WHEN '${c}' THEN ${tag(c, P[c])}`).join(' ')} END`],
		['conflict', P.ID_NAME_CONFLICT, tag('ID_NAME_CONFLICT', P.ID_NAME_CONFLICT)],
		['true', `CASE shp_code ${SHP_CODES.map((c) => `WHEN '${c}' THEN ${P[c]}`).join(' ')} END`,
			`CASE shp_code ${SHP_CODES.map((c) => `WHEN '${c}' THEN ${tag(c, P[c])}`).join(' ')} END`],
		['car_good', P.CARRIER_CTPAT, tag('CARRIER_CTPAT', P.CARRIER_CTPAT)],
		['fwd_good', P.FWD_CTPAT, tag('FWD_CTPAT', P.FWD_CTPAT)],
		['lcl', P.LCL, tag('LCL', P.LCL)],
		['vague', P.VAGUE_DESC, tag('VAGUE_DESC', P.VAGUE_DESC)],
		['length(hs_digits) < 6', P.NO_HS, tag('NO_HS', P.NO_HS)],
		['late', P.LATE_FILING, tag('LATE_FILING', P.LATE_FILING)],
		...(r.issue9 ? [['filing_unknown', P.FILING_UNKNOWN, tag('FILING_UNKNOWN', P.FILING_UNKNOWN)]] : []),
		['hs_pts IS NOT NULL', 'hs_pts', `pts('HS_WATCH', hs_pts)`],
		['origin_pts IS NOT NULL', 'origin_pts', `pts('ORIGIN_WATCH', origin_pts)`],
		['fast', P.FAST, tag('FAST', P.FAST)],
		['random', P.RANDOM, tag('RANDOM', P.RANDOM)],
	];
	return `
CREATE TABLE scored AS
WITH r AS (
	SELECT rowid AS rn, shipment_id, tr(shipment_id) AS sid, CAST(tr(arrival_date) AS DATE) AS day,
		tr(importer_id) AS imp_id, importer_name AS imp_name,
		tr(shipper_id) AS shp_id, shipper_name AS shp_name,
		coalesce(tr(shipper_country), tr(origin_country)) AS shp_cc, tr(origin_country) AS origin,
		tr(manufacturer_id) AS mfr_id, tr(carrier_scac) AS car_id, tr(forwarder_id) AS fwd_id,
		up_ascii(tr(load_type)) AS load_type,
		CASE WHEN up_ascii(tr(mode)) IN ('VESSEL', 'OCEAN', 'SEA', 'MARITIME') THEN 'vessel'
			WHEN up_ascii(tr(mode)) IN ('TRUCK', 'ROAD', 'HIGHWAY') THEN 'truck' END AS mode,
		tr(lading_port) AS lading_port,
		coalesce(replace(replace(tr(hs_code), '.', ''), ' ', ''), '') AS hs_digits,
		coalesce(description, '') AS description,
		floor(epoch(CAST(tr(filed_at) AS TIMESTAMPTZ))) AS filed_s,
		floor(epoch(CAST(tr(departure_at) AS TIMESTAMPTZ))) AS dep_s,
		tr(master_bill) AS mbl, tr(container_id) AS cont, tr(shipper_country) AS shp_country_raw
	FROM m
), j AS (
	SELECT r.*,
		${matchSql('imp_id', 'pi.pid', 'tr(r.imp_name)', 'ni.n')} AS imp_match,
		${matchSql('shp_id', 'ps.pid', 'tr(r.shp_name)', 'ns.n')} AS shp_match,
		CASE WHEN imp_id IS NOT NULL THEN pi.pid WHEN ni.n = 1 THEN ni.pid END AS imp_pid,
		CASE WHEN shp_id IS NOT NULL THEN ps.pid WHEN ns.n = 1 THEN ns.pid END AS shp_pid,
		sn.norm AS shp_norm,
		vd.description IS NOT NULL AS vague
	FROM r
	LEFT JOIN parties pi ON pi.pid = r.imp_id AND pi.is_imp
	LEFT JOIN imp_names ni ON ni.imp_name = r.imp_name
	LEFT JOIN parties ps ON ps.pid = r.shp_id AND ps.is_shp
	LEFT JOIN shp_names ns ON ns.shp_name = r.shp_name AND ns.shp_cc IS NOT DISTINCT FROM r.shp_cc
	LEFT JOIN shp_norm sn ON sn.shp_name = r.shp_name
	LEFT JOIN vague_descs vd ON vd.description = r.description
), t AS (
	SELECT j.*,
		ti.imp_reason, ti.imp_status, ti.ct_good AS imp_good, coalesce(ti.ct_barred, false) AS imp_barred,
		CASE WHEN ts.pid IS NOT NULL THEN ts.shp_rank WHEN j.shp_id IS NULL AND tr(j.shp_name) IS NULL THEN 0 ELSE 1 END AS s_rank,
		ts.shp_status AS s_status,
		CASE WHEN tm.pid IS NOT NULL THEN tm.shp_rank WHEN j.mfr_id IS NULL THEN 0 ELSE 1 END AS m_rank,
		tm.shp_status AS m_status, coalesce(tm.ct_good, false) AS mfr_good,
		coalesce(tm.ct_good AND tm.party_cc = 'MX', false) AS mx_mfr_good,
		${matchSql('mfr_id', 'tm.pid')} AS mfr_match,
		${matchSql('car_id', 'tc.pid')} AS car_match,
		${matchSql('fwd_id', 'tf.pid')} AS fwd_match,
		coalesce(tc.ct_good, false) AS car_good,
		coalesce(tf.ct_good, false) AS fwd_good,
		${hsCase(r)} AS hs_pts, ${originCase(r)} AS origin_pts
	FROM j
	LEFT JOIN timeline ti ON ti.pid = j.imp_pid AND ti.d <= j.day AND j.day < ti.d_end
	LEFT JOIN timeline ts ON ts.pid = j.shp_pid AND ts.d <= j.day AND j.day < ts.d_end
	LEFT JOIN timeline tm ON tm.pid = j.mfr_id AND tm.is_mfr AND tm.d <= j.day AND j.day < tm.d_end
	LEFT JOIN timeline tc ON tc.pid = j.car_id AND tc.is_car AND tc.d <= j.day AND j.day < tc.d_end
	LEFT JOIN timeline tf ON tf.pid = j.fwd_id AND tf.is_fwd AND tf.d <= j.day AND j.day < tf.d_end
), f AS (
	-- the rules' conditions, one column each
	SELECT t.*,
		coalesce(imp_reason, 'IMP_UNKNOWN') AS imp_code,
		imp_match = 'conflict' OR shp_match = 'conflict' AS conflict,
		greatest(s_rank, m_rank) AS shp_rank,
		CASE greatest(s_rank, m_rank) WHEN 6 THEN 'SHP_CTPAT' WHEN 5 THEN 'SHP_MRA'
			WHEN 4 THEN 'SHP_AEO_UNRECOGNIZED' ELSE 'SHP_UNKNOWN' END AS shp_code,
		load_type = 'LCL' AS lcl,
		coalesce(mode = 'vessel' AND filed_s > dep_s - ${r.window_hours * 3600}, false) AS late,
		coalesce(mode = 'vessel', false) AND (filed_s IS NULL OR dep_s IS NULL) AS filing_unknown,
		coalesce(mode = 'truck', false) AND coalesce(imp_good, false) AND car_good
			AND ${fastSql(r)} AS fast,
		${random} AS random
	FROM t
), p AS (
	SELECT f.*,
		${rules.map(([c, n]) => c === 'true' ? `${n}` : `CASE WHEN ${c} THEN ${n} ELSE 0 END`).join('\n\t\t+ ')} AS points,
		concat_ws('|', ${rules.map(([c, , t]) => c === 'true' ? t : `CASE WHEN ${c} THEN ${t} END`).join(',\n\t\t\t')}) AS reasons
	FROM f
), o AS (
	SELECT p.*, greatest(0, least(100, ${r.base} + points)) AS score FROM p
)
SELECT rn, shipment_id, sid, score,
	CASE WHEN random OR score >= ${r.red} THEN 2 WHEN score >= ${r.yellow} THEN 1 ELSE 0 END AS lane_no,
	reasons,
	CASE WHEN imp_pid IS NOT NULL THEN imp_status
		WHEN imp_id IS NULL AND tr(imp_name) IS NULL THEN 'none' ELSE 'unknown' END AS importer_status,
	CASE WHEN shp_rank <= 1 THEN CASE WHEN shp_rank = 0 THEN 'none' ELSE 'unknown' END
		WHEN m_rank > s_rank THEN m_status ELSE s_status END AS shipper_status,
	'I=' || imp_match || ';S=' || shp_match || ';M=' || mfr_match || ';C=' || car_match
		|| ';F=' || fwd_match AS match,
	fast::INTEGER AS fast_eligible,
	-- front of line: a CTPAT importer, or a certified shipper side for an
	-- importer that is not suspended, removed or borrowing a member's name
	(coalesce(imp_good, false) OR (shp_rank >= 5 AND NOT (imp_barred OR imp_match = 'conflict')))::INTEGER AS front_of_line,
	-- for the roll-up
	coalesce(mbl, cont) AS ckey, mbl IS NOT NULL AS by_mbl, cont, load_type,
	shp_rank >= 5 AS certified,
	CASE WHEN shp_id IS NOT NULL THEN 'I' || shp_id
		WHEN tr(shp_name) IS NOT NULL THEN 'N' || coalesce(shp_norm, '') || '/' || coalesce(up_ascii(shp_country_raw), '')
		ELSE '' END AS shipper_key
FROM o;

COPY (
	SELECT shipment_id, score, ['GREEN', 'YELLOW', 'RED'][lane_no + 1] AS lane, reasons,
		importer_status, shipper_status, match, fast_eligible, front_of_line
	FROM scored ORDER BY rn
) TO ${q(a.out)} (FORMAT csv, HEADER true, COMPRESSION gzip);
`;
}

// Consolidations: per master bill (else container), its exam probability
// 1 - prod(1 - p_lane) over its shipments, and the driver, the shipment
// whose removal lowers it most (higher p_lane, then higher score, then
// earlier in the input); sorted by printed probability, then key bytes,
// container keys before master bills.
function consolSql(a, r) {
	const p = r.exam; // [green, yellow, red]
	const keep = (l) => `'${1 - p[l]}'::DOUBLE`; // 1 - p_lane, the same double as examrisk's
	const prob = (g, y, rd) => `printf('%.6f', 1 - pow(${keep(0)}, ${g}) * pow(${keep(1)}, ${y}) * pow(${keep(2)}, ${rd}))`;
	return `
COPY (
WITH s AS (
	SELECT *, [${p.join(', ')}][lane_no + 1] AS p_lane FROM scored WHERE ckey IS NOT NULL
), g AS (
	SELECT ckey, by_mbl,
		arg_min(cont, rn) FILTER (WHERE cont IS NOT NULL) AS container_id,
		CASE WHEN bool_or(load_type = 'LCL') THEN 'LCL' WHEN bool_or(load_type = 'FCL') THEN 'FCL' END AS load_type,
		count(*) AS shipments, count(DISTINCT shipper_key) AS shippers, max(score) AS max_score,
		max(lane_no) AS max_lane, count(*) FILTER (WHERE NOT certified) AS uncertified_shipments,
		count(*) FILTER (WHERE lane_no = 0) AS n0, count(*) FILTER (WHERE lane_no = 1) AS n1,
		count(*) FILTER (WHERE lane_no = 2) AS n2,
		first(sid ORDER BY p_lane DESC, score DESC, rn) AS driver_shipment_id,
		first(lane_no ORDER BY p_lane DESC, score DESC, rn) AS drv_lane
	FROM s GROUP BY ckey, by_mbl
)
SELECT ckey AS consolidation, CASE WHEN by_mbl THEN 'master_bill' ELSE 'container' END AS key_type,
	container_id, load_type, shipments, shippers, max_score,
	['GREEN', 'YELLOW', 'RED'][max_lane + 1] AS lane, uncertified_shipments,
	${prob('n0', 'n1', 'n2')} AS exam_probability, driver_shipment_id,
	${prob('n0 - (drv_lane = 0)::INT', 'n1 - (drv_lane = 1)::INT', 'n2 - (drv_lane = 2)::INT')} AS probability_without_driver
FROM g
ORDER BY exam_probability DESC, consolidation, by_mbl
) TO ${q(a.consolidations)} (FORMAT csv, HEADER true, COMPRESSION gzip);
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
	con.registerScalarFunction(DuckDBScalarFunction.create({
		name: 'fold_name',
		mainFunction: (info, input, output) => {
			const v = input.getColumnVector(0);
			for (let i = 0; i < input.rowCount; i++) output.setItem(i, foldName(v.getItem(i)));
			output.flush();
		},
		returnType: VARCHAR,
		parameterTypes: [VARCHAR],
	}));
	await run(macros(rules));
	await run(tablesSql(a, rules));
	for (const st of distinctSql(a, rules).split(/;\n/).filter((x) => x.trim())) await run(st);
	if (a.profile) {
		await run(`PRAGMA enable_profiling = 'json'`);
		await run(`PRAGMA profiling_output = ${q(a.profile)}`);
	}
	for (const st of scoreSql(a, rules).split(/;\n/).filter((x) => x.trim())) await run(st);
	if (a.consolidations) await run(consolSql(a, rules));
	if (a.profile) await run('PRAGMA disable_profiling');
	const rows = Number((await run('SELECT count(*) FROM scored')).getRows()[0][0]);
	const secs = Number(elapsed(t0));
	process.stderr.write(`duckdb: rows=${rows} seconds=${secs.toFixed(3)} ` +
		`rows_per_s=${(rows / secs).toFixed(0)} threads=${a.threads} version=${ver}\n`);
}

// The SQL builders are exported for tests; running the file runs the job.
export { readRules, macros, tablesSql, distinctSql, vagueSql, scoreSql, consolSql };
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	main().catch((e) => {
		process.stderr.write(`score.mjs: ${e && e.message ? e.message : e}\n`);
		process.exit(1);
	});
}
