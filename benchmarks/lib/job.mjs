// job.mjs - what the two peer implementations of examrisk's job (DuckDB,
// Polars) share: the command line, the rules.ini reader, and the constants
// the engine's rules are written with. The work itself is each peer's own.
import { readFileSync } from 'node:fs';
import os from 'node:os';

// ------------------------------------------------------------------ arguments
export function parseArgs(argv) {
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
		case '--consolidations': a.consolidations = take(); break;
		case '--threads': a.threads = Number(take()); break;
		case '--steps': a.steps = true; break;       // time of each statement on stderr
		case '--profile': a.profile = take(); break; // DuckDB only: JSON profile of the final query
		default: throw new Error(`unknown argument '${k}'`);
		}
	}
	for (const k of ['manifest', 'participants', 'mra', 'rules', 'out'])
		if (!a[k]) throw new Error(`--${k} is required`);
	if (!(a.threads >= 1)) throw new Error('--threads must be >= 1');
	return a;
}

// ------------------------------------------------------------------ rules.ini
export const REASONS = [
	'IMP_CTPAT_T1', 'IMP_CTPAT_T2', 'IMP_CTPAT_T3', 'IMP_SUSPENDED', 'IMP_REMOVED',
	'IMP_UNKNOWN', 'ID_NAME_CONFLICT', 'SHP_CTPAT', 'SHP_MRA', 'SHP_AEO_UNRECOGNIZED', 'SHP_UNKNOWN',
	'CARRIER_CTPAT', 'FWD_CTPAT', 'LCL', 'VAGUE_DESC', 'NO_HS', 'LATE_FILING', 'HS_WATCH',
	'ORIGIN_WATCH', 'FAST', 'RANDOM',
];

const WS = /[\t\n\v\f\r ]/;
export const PUNCT_CHARS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
export const maxTerm = (r) => Math.max(0, ...r.vague.map((t) => t.replace(/ /g, '').length));
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
export function readRules(path) {
	const r = { points: {}, hs: [], origin: [], vague: [], units: [], prefixes: [], exam: [] };
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
		case 'vague':
			if (key.toLowerCase() === 'unit') r.units.push(normStrip(val));
			else if (key.toLowerCase() === 'prefix') r.prefixes.push(normStrip(val));
			else r.vague.push(normVague(val));
			break;
		case 'filing': if (key.toLowerCase() === 'window_hours') r.window_hours = int(); break;
		case 'random':
			if (key.toLowerCase() === 'rate') r.rate = Number(val);
			else if (key.toLowerCase() === 'seed') r.seed = val;
			break;
		case 'exam_probability': {
			const l = ['green', 'yellow', 'red'].indexOf(key.toLowerCase());
			const v = Number(val);
			// as examrisk clamps it: NaN and below 0 -> 0, above 1 -> 1
			if (l >= 0) r.exam[l] = !(v > 0) ? 0 : v > 1 ? 1 : v;
			break;
		}
		default: break;
		}
	});
	for (let l = 0; l < 3; l++)
		if (r.exam[l] === undefined) throw new Error(`${path}: missing [exam_probability] lane ${l}`);
	for (const k of ['base', 'red', 'yellow', 'window_hours', 'rate', 'seed'])
		if (r[k] === undefined) throw new Error(`${path}: missing ${k}`);
	for (const k of REASONS)
		if (k !== 'HS_WATCH' && k !== 'ORIGIN_WATCH' && r.points[k] === undefined)
			throw new Error(`${path}: missing [points] ${k}`);
	// The rules of issue 9 items 3-6 (FAST by the border crossed, MRA
	// recognized_to inclusive, vague descriptions with package counts and
	// prefixes, FILING_UNKNOWN) came with the FILING_UNKNOWN points, which the
	// engine requires from then on: a rules file with them is scored so.
	r.issue9 = r.points.FILING_UNKNOWN !== undefined;
	return r;
}

// A [vague] unit / prefix word as examrisk stores it: dots dropped,
// whitespace runs one space, ASCII upper case.
function normStrip(s) {
	return s.replace(/\./g, '').trim().replace(/[\t\n\v\f\r ]+/g, ' ')
		.replace(/[a-z]/g, (c) => c.toUpperCase());
}

// ---- regular expressions (RE2 and Rust regex alike) for the vague test of
// issue 9: at most one package count (digits, a unit word, an optional OF)
// and one prefix (STC, ...) are stripped from the start of a description,
// in either order, before it is judged.
const WSC = '\\t\\n\\v\\f\\r ';
const SEP = `[${WSC}:,;/-]`; // what a manifest puts after a count or a prefix
export const NONWORD = '[\\x00-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7F]';
// a stored word: dots in the text skipped anywhere after its first letter,
// a space takes any run of whitespace, letters in either case
function wordRe(w) {
	let s = '';
	for (const ch of w) {
		if (s) s += '\\.*';
		if (ch === ' ') s += `[${WSC}]+`;
		else if (/[A-Z]/.test(ch)) s += `[${ch}${ch.toLowerCase()}]`;
		else s += /[0-9]/.test(ch) ? ch : `[${ch}]`;
	}
	return `${s}\\.*`;
}
// longest words first: examrisk takes the longest entry that matches
const listRe = (ws) => `(?:${[...ws].sort((a, b) => b.length - a.length).map(wordRe).join('|')})`;

// {lead, unitAlone, sep}: `^${lead}` followed by a NONWORD character or the
// end is what examrisk strips (then leading separators); a description that
// is then `unitAlone` (a unit word by itself) is vague. null without lists.
export function stripRes(r) {
	if (!r.units.length && !r.prefixes.length) return null;
	const units = listRe(r.units);
	const pfx = listRe(r.prefixes);
	const count = `[0-9](?:[,.]?[0-9])*[${WSC}]*${units}(?:${SEP}+${wordRe('OF')})?`;
	let lead;
	if (!r.units.length) lead = pfx;
	else if (!r.prefixes.length) lead = count;
	else lead = `(?:${pfx}(?:${SEP}+${count})?|${count}(?:${SEP}+${pfx})?)`;
	return {
		lead: `${SEP}*${lead}`,
		unitAlone: r.units.length ? `^${units}${SEP}*$` : null,
		sep: SEP,
	};
}

// Legal-form suffixes examrisk drops from the end of a normalized name.
export const SUFFIXES = [
	'INC', 'INCORPORATED', 'LLC', 'L L C', 'LTD', 'LIMITED', 'CO', 'CORP', 'CORPORATION',
	'COMPANY', 'GMBH', 'AG', 'KG', 'SA', 'S A', 'SA DE CV', 'DE CV', 'DE C V', 'S DE RL',
	'S DE R L', 'SAB', 'SAPI', 'SAS', 'SRL', 'SPA', 'BV', 'NV', 'PLC', 'PVT', 'PTE', 'PTY',
	'JSC', 'PJSC', 'KK', 'OY', 'OYJ', 'AB', 'SARL', 'LLP', 'LP', 'LLLP', 'PLLC', 'ULC',
	'LTDA', 'LIMITADA', 'SL', 'SE', 'AS', 'A S', 'ASA', 'APS', 'SRO', 'SP Z O O', 'KFT', 'OOO',
	'SDN BHD', 'BHD', 'CIA', 'AND CO', 'AND CIA', 'AND COMPANY', 'PRIVATE LIMITED',
	'LIMITED LIABILITY COMPANY', 'JOINT STOCK COMPANY', 'KABUSHIKI KAISHA', 'BVBA', 'SPRL',
];

export const MANIFEST_COLS = [
	'shipment_id', 'arrival_date', 'master_bill', 'container_id', 'load_type', 'mode',
	'lading_port', 'unlading_port', 'origin_country', 'shipper_country', 'importer_id',
	'importer_name', 'shipper_id', 'shipper_name', 'manufacturer_id', 'consignee_name',
	'carrier_scac', 'forwarder_id', 'hs_code', 'description', 'declared_value_usd',
	'gross_weight_kg', 'quantity', 'filed_at', 'departure_at',
];

export const IMP_CODES = ['IMP_CTPAT_T1', 'IMP_CTPAT_T2', 'IMP_CTPAT_T3', 'IMP_SUSPENDED', 'IMP_REMOVED', 'IMP_UNKNOWN'];
export const SHP_CODES = ['SHP_CTPAT', 'SHP_MRA', 'SHP_AEO_UNRECOGNIZED', 'SHP_UNKNOWN'];

// 'CODE:+N' / 'CODE:-N' exactly as examrisk prints a reason
export const reasonText = (code, n) => `${code}:${n < 0 ? '-' : '+'}${Math.abs(n)}`;
