#!/bin/sh
# End-to-end tests of party matching (issue 9): unknown ids with members'
# names, roles, ambiguous names, Unicode name forms, front of line, and the
# as-of look-up on a long history. Goldens in tests/golden/match (byte-exact;
# UPDATE_GOLDEN=1 rewrites them - review the diff before committing).
# Run from the repository root: BUILD=build sh tests/match.sh
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/examrisk
T=$(mktemp -d "${TMPDIR:-/tmp}/er-match.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

G=tests/golden/match
TABLES="--participants $G/participants.csv --mra data/mra.csv --rules tests/golden/basic/rules.ini"

expect_rc "match: score" 0 $BIN score $TABLES --quiet --threads 2 --keep Note --out "$T/s.csv" \
	--queue "$T/q.csv" $G/manifest.csv
golden match-scores "$T/s.csv" $G/expected.scores.csv
golden match-queue "$T/q.csv" $G/expected.queue.csv
expect_rc "match: partners" 0 $BIN partners $TABLES --quiet --out "$T/p.csv" $G/manifest.csv
golden match-partners "$T/p.csv" $G/expected.partners.csv

# roles are a closed list: an unknown one stops the load at its line
sed '3s/,importer,/,consignee,/' $G/participants.csv >"$T/badrole.csv"
expect_rc "match: unknown role" 1 $BIN score --participants "$T/badrole.csv" --mra data/mra.csv \
	--rules tests/golden/basic/rules.ini --out "$T/x.csv" $G/manifest.csv
expect "match: unknown role message" grep -q "badrole.csv:3: unknown role 'consignee'" "$T/last.err"
expect "match: no output on a load error" [ ! -e "$T/x.csv" ]
# verify --role: the carrier's SCAC is found as a carrier, not as an importer
expect_rc "match: verify carrier" 0 $BIN verify --participants $G/participants.csv --mra data/mra.csv \
	--on 2024-03-01 --csv --role carrier CARA
expect "match: verify carrier row" grep -q '^CARA,CARA,Granite Haulage Inc,US,carrier,' "$T/last.out"
expect_rc "match: verify importer" 1 $BIN verify --participants $G/participants.csv --mra data/mra.csv \
	--on 2024-03-01 --role importer CARA
expect_rc "match: verify bad role" 2 $BIN verify --participants $G/participants.csv --role consignee CARA

# A party with 10^5 status periods and 20,000 shipments of it (issue 10 item
# 13: the as-of look-up is a binary search). Day k after 1900-01-01 is
# certified T1 / validated T2 / suspended by k mod 3, and has no CTPAT period
# in force when k mod 7 = 6 (an EU AEO one instead) or after the last period;
# each row's importer_status is checked against that rule.
awk 'function civil(z,  era, doe, yoe, y, doy, mp, d, m) {
	z += 719468; era = int((z >= 0 ? z : z - 146096) / 146097); doe = z - era * 146097
	yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
	y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
	mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
	m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
	return sprintf("%04d-%02d-%02d", y, m, d) }
BEGIN {
	d0 = -25567 # 1900-01-01
	split("certified,1 validated,2 suspended,", st, " ")
	split("CTPAT:certified:T1 CTPAT:validated:T2 CTPAT:suspended", want, " ")
	P = ARGV[1]; M = ARGV[2]; E = ARGV[3]; ARGV[1] = ARGV[2] = ARGV[3] = ""
	print "party_id,name,country,role,program,status,tier,valid_from,valid_to" > P
	for (k = 0; n < 100000; k++) # 100,000 one-day periods; every seventh an EU AEO one
		row[++n] = "BIG,Big History Co,US,importer," (k % 7 == 6 ? "EU_AEO,validated," : "CTPAT," st[k % 3 + 1]) \
		           "," civil(d0 + k) "," civil(d0 + k + 1)
	for (i = n; i >= 1; i--) # newest first: the load sorts
		print row[i] > P
	days = k + 1 # and one day past the last period
	print n > (P ".n")
	print "shipment_id,arrival_date,importer_id" > M
	for (i = 0; i < 20000; i++) {
		k = (i * 7919) % days
		print "H" i "," civil(d0 + k) ",BIG" > M
		print "H" i "," (k % 7 == 6 || k == days - 1 ? "not_in_force" : want[k % 3 + 1]) > E
	}
}' "$T/big.csv" "$T/bigm.csv" "$T/bigwant.csv"
expect "long history: 100000 periods" [ "$(cat "$T/big.csv.n")" -eq 100000 ]
expect_rc "long history: score" 0 $BIN score --participants "$T/big.csv" --mra data/mra.csv \
	--rules tests/golden/basic/rules.ini --quiet --out "$T/bigs.csv" "$T/bigm.csv"
cut -d, -f1,5 "$T/bigs.csv" | tail -n +2 >"$T/biggot.csv"
expect "long history: status of every row" same "$T/bigwant.csv" "$T/biggot.csv"

echo "match: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
