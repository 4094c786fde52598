#!/bin/sh
# SPEC 3 sanity constraints on the SHIPPED rules (data/rules.ini), over a
# realistic generated population (examrisk-gen):
#   - non-CTPAT importers land in RED 4 to 6 times as often as CTPAT importers
#     (CBP benefits guide: CTPAT importers are 4-6x less likely to be examined);
#   - the RED share of vessel shipments is a few percent (2 % to 5 %; CBP's sea
#     exam rate was 3 %).
# "CTPAT importer" = importer in good standing (certified/validated) on the
# arrival date. Deterministic: fixed seed and size.
set -eu
BUILD=${BUILD:-build}
ROWS=${POP_ROWS:-200000}
RULES=${POP_RULES:-data/rules.ini}
T=$(mktemp -d "${TMPDIR:-/tmp}/er-pop.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BUILD/examrisk-gen" --rows "$ROWS" --seed ${POP_SEED:-20261127} --out "$T/g" 2>/dev/null
rc=0
"$BUILD/examrisk" score --participants "$T/g/participants.csv" --mra "$T/g/mra.csv" \
	--rules "$RULES" --quiet --keep mode --out "$T/s.csv" "$T/g/manifest.csv.gz" || rc=$?
[ $rc -le 3 ] || { echo "population: scoring failed (exit $rc)"; exit 1; }
# Columns: 3 lane, 5 importer_status, 10 mode (--keep). No field here holds a comma.
awk -F, '
NR == 1 { next }
{
	ctpat = ($5 ~ /^CTPAT:(certified|validated)/)
	red = ($3 == "RED")
	m = toupper($10)
	vessel = (m == "VESSEL" || m == "OCEAN" || m == "SEA" || m == "MARITIME")
	n[ctpat]++; r[ctpat] += red
	if (vessel) { nv++; rv += red }
}
END {
	pc = r[1] / n[1]; pn = r[0] / n[0]; ratio = pn / pc; pv = rv / nv
	printf "population: %d rows; RED non-CTPAT %.2f%% (%d/%d), CTPAT %.2f%% (%d/%d), ratio %.2f; vessel RED %.2f%% (%d/%d)\n",
		NR - 1, 100 * pn, r[0], n[0], 100 * pc, r[1], n[1], ratio, 100 * pv, rv, nv
	ok = 1
	if (ratio < 4 || ratio > 6) { print "FAIL: RED ratio outside 4..6"; ok = 0 }
	if (pv < 0.02 || pv > 0.05) { print "FAIL: vessel RED share outside 2%..5%"; ok = 0 }
	printf "population: %d passed, %d failed\n", ok ? 2 : 0, ok ? 0 : 2
	exit ok ? 0 : 1
}' "$T/s.csv"
