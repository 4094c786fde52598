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

echo "match: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
