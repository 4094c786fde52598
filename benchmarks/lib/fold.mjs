// fold.mjs - the Unicode folding examrisk applies to a party name with a
// non-ASCII byte before its ASCII normalization (libutf8proc with COMPOSE,
// COMPAT, CASEFOLD, STRIPMARK, IGNORE; then non-ASCII letters upper-cased,
// Unicode spaces, punctuation, symbols and controls to ASCII spaces).
// Neither DuckDB (nfc_normalize, strip_accents: no NFKC) nor Polars has
// NFKC, so both peers call this from JS on the distinct names only (a few
// percent of the rows): DuckDB as a scalar UDF, Polars through map on the
// unique values. ASCII names are returned as they are.

const NON_ASCII = /[^\x00-\x7f]/;
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const MARK = /\p{M}/gu;
const SEPARATOR = /^[\p{Z}\p{P}\p{S}\p{Cc}\p{Cf}]$/u;
// Case folding where it differs from toLowerCase() for letters names use.
const FOLD = { '\u00df': 'ss', '\u1e9e': 'ss', '\u017f': 's', '\u03c2': '\u03c3' };

export function foldName(s) {
	if (s === null || s === undefined || !NON_ASCII.test(s)) return s;
	let t = s.normalize('NFKD').replace(IGNORABLE, '').replace(MARK, '');
	t = [...t].map((c) => FOLD[c] ?? c.toLowerCase()).join('').normalize('NFKC');
	let out = '';
	for (const c of t) {
		if (c.codePointAt(0) < 0x80) out += c;
		else if (SEPARATOR.test(c)) out += ' ';
		else {
			// utf8proc_toupper is a one-to-one mapping: keep a letter whose
			// upper case is several characters
			const u = c.toUpperCase();
			out += [...u].length === 1 ? u : c;
		}
	}
	return out;
}
