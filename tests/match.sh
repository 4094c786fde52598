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

echo "match: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
