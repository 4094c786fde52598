#!/bin/sh
# End-to-end tests of the AMS release join (examrisk ams, score --ams):
# - a generated release (examrisk-gen --ams) gives exactly the canonical rows
#   the generator expects, byte for byte: unsorted tables (external sort),
#   sorted tables (merge join), a tiny sort budget (runs spilled), gzip
#   tables, --period; score --ams equals scoring the joined CSV;
# - every malformed case gives its message (file and line) and exit status.
# Run from anywhere: BUILD=build sh tests/test_ams.sh
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
ER=$BUILD/examrisk
GEN=${TEST_GEN:-$BUILD/examrisk-gen} # the data maker (make test: the normal build's)
T=$(mktemp -d "${TMPDIR:-/tmp}/er-ams.XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh
export LC_ALL=C

# has FILE TEXT: FILE holds the line TEXT exactly
has() { grep -qxF -- "$2" "$1" || { echo "    no line '$2' in $1:"; sed 's/^/      /' "$1" | head -5; return 1; }; }

# ------------------------------------------------ generated release, exact
expect_rc "generate a release" 0 "$GEN" --rows 12000 --seed 5 --threads 2 --out "$T/g" --ams "$T/g/ams"
expect_rc "generate a sorted release" 0 "$GEN" --rows 12000 --seed 5 --threads 1 --out "$T/gs" \
	--ams "$T/gs/ams" --ams-sorted
expected() { # expected RELEASE > FILE: header + rows in identifier order
	head -1 "$T/g/got.csv"
	sort -t, -k1,1 "$1/expected-canonical.csv" | cut -d, -f2-
}
expect_rc "ams generated (unsorted)" 0 "$ER" ams --out "$T/g/got.csv" "$T/g/ams"
expected "$T/g/ams" >"$T/g/exp.csv"
expect "unsorted release gives the population's rows" same "$T/g/got.csv" "$T/g/exp.csv"
expect "unsorted tables were sorted externally" has "$T/last.err" \
	"examrisk: $(($(wc -l <"$T/g/exp.csv") - 1)) bills written, 0 record(s) rejected; 0 table(s) read in order, 8 sorted externally (0.0 MB spilled)"
expect "header row" has "$T/g/got.csv" \
	"shipment_id,arrival_date,master_bill,container_id,load_type,mode,lading_port,unlading_port,origin_country,shipper_country,importer_id,importer_name,shipper_id,shipper_name,manufacturer_id,consignee_name,carrier_scac,forwarder_id,hs_code,description,declared_value_usd,gross_weight_kg,quantity,filed_at,departure_at,notify_party_name"
expect "generated release has LCL bills" grep -q ',LCL,vessel,' "$T/g/got.csv"
expect "generated release has LB weights" grep -q ',LBS\?,' "$T/g/ams/ams__header_2020__202001011500.csv"

expect_rc "ams generated (sorted)" 0 "$ER" ams --out "$T/gs/got.csv" "$T/gs/ams"
expected "$T/gs/ams" >"$T/gs/exp.csv"
expect "sorted release gives the population's rows" same "$T/gs/got.csv" "$T/gs/exp.csv"
expect "sorted tables are merge-joined" grep -q "8 table(s) read in order, 0 sorted externally" "$T/last.err"

expect_rc "ams with a 1M sort budget" 0 "$ER" ams --sort-memory 1M --out "$T/g/spill.csv" "$T/g/ams"
expect "spilled runs give the same rows" same "$T/g/spill.csv" "$T/g/exp.csv"
expect "runs were spilled" sh -c "! grep -q '(0.0 MB spilled)' '$T/last.err'"

expect_rc "spill directory missing" 1 env TMPDIR="$T/no-such-dir" "$ER" ams --sort-memory 1M --out "$T/nodir.csv" "$T/g/ams"
expect "spill failure message" has "$T/last.err" \
	"examrisk: error: AMS sort (spill in $T/no-such-dir): No such file or directory"
expect "spill failure: nothing written" test ! -e "$T/nodir.csv"

mkdir "$T/gz" && for f in "$T/g/ams"/ams__*.csv; do gzip -c "$f" >"$T/gz/$(basename "$f").gz"; done
expect_rc "ams gzip tables" 0 "$ER" ams --out "$T/gz.csv" "$T/gz"
expect "gzip tables give the same rows" same "$T/gz.csv" "$T/g/exp.csv"
expect_rc "ams .gz output" 0 "$ER" ams --quiet --out "$T/out.csv.gz" "$T/gz"
gzip -dc "$T/out.csv.gz" >"$T/out.csv"
expect ".gz output decompresses to the rows" same "$T/out.csv" "$T/g/exp.csv"

expect_rc "ams --period match" 0 "$ER" ams --quiet --period '2020*' --out "$T/p.csv" "$T/g/ams"
expect "--period match keeps the rows" same "$T/p.csv" "$T/g/exp.csv"
expect_rc "ams --period no match" 1 "$ER" ams --period '2019*' --out "$T/p2.csv" "$T/g/ams"
expect "--period no match message" has "$T/last.err" \
	"examrisk: error: $T/g/ams: no AMS table files (ams__TABLE_PERIOD.csv or .csv.gz) for --period 2019*"
expect "nothing written on failure" test ! -e "$T/p2.csv"

# score --ams scores exactly what ams writes
D="--participants $T/g/participants.csv --mra $T/g/mra.csv"
expect_rc "score --ams" 0 "$ER" score --ams $D --threads 2 --out "$T/s1.csv" "$T/g/ams"
expect_rc "score of the joined CSV" 0 "$ER" score $D --threads 2 --out "$T/s2.csv" "$T/g/got.csv"
expect "score --ams = score of ams output" same "$T/s1.csv" "$T/s2.csv"
expect "AMS rows match importers by name" grep -q 'I=name' "$T/s1.csv"
expect_rc "partners --ams" 0 "$ER" partners --ams $D --out "$T/p1.csv" "$T/g/ams"
expect_rc "partners of the joined CSV" 0 "$ER" partners $D --out "$T/p2.csv" "$T/g/got.csv"
expect "partners --ams = partners of ams output" same "$T/p1.csv" "$T/p2.csv"

# notify parties are screened: a generated release whose bill gets a notify
# party from a generated SDN list is SDN_MATCH, role N; without it, not
expect_rc "generate an SDN list" 0 "$GEN" --rows 10 --seed 1 --sdn 50 --out "$T/sl"
cp -r "$T/g/ams" "$T/gn"
nid=$(sed -n 2p "$T/gn/ams__header_2020__202001011500.csv" | cut -d, -f1)
nent=$(sed -n 1p "$T/sl/sdn.csv" | cut -d, -f1)
nname=$(sed -n 1p "$T/sl/sdn.csv" | cut -d'"' -f2)
echo "$nid,\"$nname\",,,,,,,,US,,," >>"$T/gn/ams__notifyparty_2020__202001011500.csv"
expect_rc "score --ams --sdn, listed notify party" 0 "$ER" score --ams $D --sdn "$T/sl" --out "$T/sn.csv" "$T/gn"
expect "listed notify party: SDN_MATCH, role N" sh -c "grep 'N=$nent:1.000' '$T/sn.csv' | grep -q SDN_MATCH"
expect "only that bill" test "$(grep -c "N=$nent:" "$T/sn.csv")" -eq 1
expect_rc "score --ams --sdn, release as generated" 0 "$ER" score --ams $D --sdn "$T/sl" --out "$T/sn0.csv" "$T/g/ams"
expect "unlisted notify parties: no role N" sh -c "! grep -q 'N=$nent:' '$T/sn0.csv'"

# ------------------------------------------------ malformed cases
P=2020__202001011500
mk() { # mk DIR: a small valid release of three bills
	mkdir -p "$1"
	printf '%s\n' 'identifier,carrier_code,port_of_unlading,estimated_arrival_date,foreign_port_of_lading,manifest_quantity,weight,weight_unit,actual_arrival_date' \
		'A0000002,MAEU,2704,2020-01-02,57035,10,1000,LB,2020-01-03' \
		'A0000001,COSU,2709,2020-01-04 00:00:00,58886,5,250.5,KG,' \
		'A0000003,COSU,2709,2020-01-04,12345,3,100,Kilograms,' >"$1/ams__header_$P.csv"
	printf '%s\n' 'identifier,master_bol_number,house_bol_number' \
		'A0000001,COSU123,HBL1' 'A0000002,MAEU9,' 'A0000003,COSU123,HBL3' >"$1/ams__billgen_$P.csv"
	printf '%s\n' 'identifier,shipper_party_name,country_code' \
		'A0000001,"ACME, LTD",CN' 'A0000002,Foo GmbH,DE' >"$1/ams__shipper_$P.csv"
	printf '%s\n' 'identifier,consignee_name,country_code' 'A0000001,BIG BOX INC,US' >"$1/ams__consignee_$P.csv"
	printf '%s\n' 'identifier,container_number' 'A0000003,CSNU1234567' 'A0000001,CSNU1234567' \
		'A0000001,TGHU7654321' 'A0000002,MSKU0000001' >"$1/ams__container_$P.csv"
	printf '%s\n' 'identifier,container_number,description_sequence_number,description_text' \
		'A0000001,CSNU1234567,2,WORLD' 'A0000001,CSNU1234567,1,HELLO' 'A0000002,X,1,STC 12 CTNS' >"$1/ams__cargodesc_$P.csv"
	printf '%s\n' 'identifier,container_number,description_sequence_number,harmonized_number' \
		'A0000001,C,2,940360' 'A0000001,C,1,8471.30' >"$1/ams__tariff_$P.csv"
}
mk "$T/ok"
expect_rc "small release" 0 "$ER" ams --out "$T/ok.csv" "$T/ok"
expect "unknown Schedule K prefix counted" has "$T/last.err" \
	"examrisk: 3 bills written, 0 record(s) rejected; 5 table(s) read in order, 2 sorted externally (0.0 MB spilled); 1 lading port(s) not in the Schedule K table (origin_country empty)"
cat >"$T/ok.exp" <<'EOF'
shipment_id,arrival_date,master_bill,container_id,load_type,mode,lading_port,unlading_port,origin_country,shipper_country,importer_id,importer_name,shipper_id,shipper_name,manufacturer_id,consignee_name,carrier_scac,forwarder_id,hs_code,description,declared_value_usd,gross_weight_kg,quantity,filed_at,departure_at,notify_party_name
HBL1,2020-01-04,COSU123,CSNU1234567,LCL,vessel,58886,2709,JP,CN,,BIG BOX INC,,"ACME, LTD",,BIG BOX INC,COSU,,847130,HELLO WORLD,,250.5,5,,,
MAEU9,2020-01-03,MAEU9,MSKU0000001,FCL,vessel,57035,2704,CN,DE,,,,Foo GmbH,,,MAEU,,,STC 12 CTNS,,453.592,10,,,
HBL3,2020-01-04,COSU123,CSNU1234567,LCL,vessel,12345,2709,,,,,,,,,COSU,,,,,100,3,,,
EOF
expect "small release: mapping column by column" same "$T/ok.csv" "$T/ok.exp"

# variant DIR: a copy of the small release (not "bad": lib.sh's bad counts failures)
variant() { rm -rf "$T/$1"; cp -r "$T/ok" "$T/$1"; }
# run_bad NAME RC DIR: examrisk ams with rejects into DIR.rej
run_bad() { expect_rc "$1" "$2" "$ER" ams --rejects "$T/$3.rej" --out "$T/$3.csv" "$T/$3"; }
# rejected NAME DIR TABLE LINE REASON: the run exits 3, saying line LINE of the
# TABLE file was rejected for REASON
rejected() {
	run_bad "$1" 3 "$2"
	expect "$1: message" has "$T/last.err" "examrisk: $T/$2/ams__$3_$P.csv:$4: rejected: $5"
}

variant miss && rm "$T/miss/ams__consignee_$P.csv"
run_bad "missing table" 1 miss
expect "missing table message" has "$T/last.err" \
	"examrisk: error: AMS release $T/miss: period $P has no 'consignee' table (expected ams__consignee_$P.csv or .csv.gz)"
expect "missing table: no output" test ! -e "$T/miss.csv"

variant nonotify # notifyparty is optional: absent is fine (tested by mk), present is used
printf '%s\n' 'identifier,notify_party_name' 'A0000002,NOTIFY ME' 'A0000002,SECOND PARTY' \
	'A0000002,NOTIFY ME' 'A0000001,' >"$T/nonotify/ams__notifyparty_$P.csv"
run_bad "notifyparty present" 0 nonotify
expect "notify parties joined: each distinct name once, '|'-separated" \
	grep -q '^MAEU9,.*,NOTIFY ME|SECOND PARTY$' "$T/nonotify.csv"
expect "empty notify party name: empty column" grep -q '^HBL1,.*,$' "$T/nonotify.csv"

variant col && sed -i '1s/house_bol_number/house_bill/' "$T/col/ams__billgen_$P.csv"
run_bad "missing column" 1 col
expect "missing column message" has "$T/last.err" \
	"examrisk: error: $T/col/ams__billgen_$P.csv:1: missing column 'house_bol_number' (table billgen)"

variant orphan && echo 'A0000009,NOBODY,US' >>"$T/orphan/ams__consignee_$P.csv"
rejected "identifier not in header" orphan consignee 3 "identifier_not_in_header (consignee)"
expect "orphan in rejects file" has "$T/orphan.rej" "$T/orphan/ams__consignee_$P.csv,3,identifier_not_in_header,A0000009"
expect "orphan: the bills are still written" same "$T/orphan.csv" "$T/ok.exp"

variant first && echo 'A0000000,ZZZU0000000' >>"$T/first/ams__container_$P.csv"
rejected "identifier before every header identifier" first container 6 "identifier_not_in_header (container)"
expect "early orphan: the bills are still written" same "$T/first.csv" "$T/ok.exp"

variant quote && sed -i '2s/.*/A0000001,"ACME, LTD,CN/' "$T/quote/ams__shipper_$P.csv"
run_bad "stray quote" 3 quote
expect "stray quote message" grep -q "^examrisk: $T/quote/ams__shipper_$P.csv:2: rejected: unterminated_quote\$" "$T/last.err"
expect "stray quote: other bills written" test "$(wc -l <"$T/quote.csv")" -eq 4

variant nf && sed -i '3s/$/,EXTRA/' "$T/nf/ams__shipper_$P.csv"
rejected "wrong field count" nf shipper 3 "field_count (4 fields, expected 3)"

variant dup && echo 'A0000001,COSU,2709,2020-01-05,58886,5,1,KG,' >>"$T/dup/ams__header_$P.csv"
rejected "duplicate header identifier" dup header 5 "duplicate_identifier (header)"

variant date && sed -i '2s/2020-01-03$/2020-02-30/' "$T/date/ams__header_$P.csv"
rejected "invalid date" date header 2 "invalid_date (actual_arrival_date)"
expect "invalid date: bill dropped, others kept" test "$(wc -l <"$T/date.csv")" -eq 3

variant unit && sed -i '2s/,LB,/,STONE,/' "$T/unit/ams__header_$P.csv"
rejected "unknown weight unit" unit header 2 "invalid_value (weight_unit)"

variant longid && echo "$(head -c 300 /dev/zero | tr '\0' 7),X,Y" >>"$T/longid/ams__billgen_$P.csv"
rejected "identifier too long" longid billgen 5 "invalid_value (identifier)"

variant noid && echo ',X,Y' >>"$T/noid/ams__billgen_$P.csv"
rejected "empty identifier" noid billgen 5 "missing_required (identifier)"

variant seq && sed -i '2s/,2,WORLD/,two,WORLD/' "$T/seq/ams__cargodesc_$P.csv"
rejected "bad sequence number" seq cargodesc 2 "invalid_number (description_sequence_number)"

variant empty && : >"$T/empty/ams__tariff_$P.csv"
run_bad "empty table file" 1 empty
expect "empty table message" has "$T/last.err" \
	"examrisk: error: $T/empty/ams__tariff_$P.csv: empty file: no header row"

variant trunc && gzip -c "$T/ok/ams__container_$P.csv" | head -c 40 >"$T/trunc/ams__container_$P.csv.gz" &&
	rm "$T/trunc/ams__container_$P.csv"
run_bad "truncated gzip table" 1 trunc
expect "truncated gzip message names the file" grep -q "^examrisk: error: $T/trunc/ams__container_$P.csv.gz: .*truncated" "$T/last.err"

mkdir "$T/none"
expect_rc "no AMS files" 1 "$ER" ams "$T/none"
expect "no AMS files message" has "$T/last.err" \
	"examrisk: error: $T/none: no AMS table files (ams__TABLE_PERIOD.csv or .csv.gz)"
expect_rc "no such directory" 1 "$ER" ams "$T/nowhere"
expect "no such directory message" has "$T/last.err" "examrisk: error: $T/nowhere: No such file or directory"
expect_rc "no directory given" 2 "$ER" ams
expect_rc "--period needs --ams on score" 2 "$ER" score --period x "$T/ok"

# examrisk ams commits through score's path (er_commit): unsafe names are usage
# errors, outputs are locked, replaced together or not at all, FIFOs written through
expect_rc "ams --out a table file" 2 "$ER" ams --out "$T/ok/ams__tariff_$P.csv" "$T/ok"
expect "table file message" grep -q "ams__tariff_$P.csv is also an input" "$T/last.err"
expect "table file untouched" test "$(head -1 "$T/ok/ams__tariff_$P.csv")" = \
	'identifier,container_number,description_sequence_number,harmonized_number'
expect_rc "ams --out and --rejects the same file" 2 "$ER" ams --out "$T/same.csv" --rejects "$T/same.csv" "$T/ok"
expect "same file message" grep -q "are the same file" "$T/last.err"
expect "same file: nothing written" test ! -e "$T/same.csv"
wait_for() { i=0; while [ ! -e "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; }
mkdir "$T/lk"
flock -o "$T/lk/.a.csv.examrisk.lock" sleep 30 &
lpid=$!
wait_for "$T/lk/.a.csv.examrisk.lock"
expect_rc "ams on a locked output" 1 "$ER" ams --out "$T/lk/a.csv" "$T/ok"
expect "lock message" grep -q "a.csv: another examrisk run is writing this output" "$T/last.err"
expect "locked: nothing written" test ! -e "$T/lk/a.csv"
kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
expect_rc "ams once the lock is free" 0 "$ER" ams --out "$T/lk/a.csv" "$T/ok"
expect "lock file removed after the run" test ! -e "$T/lk/.a.csv.examrisk.lock"
echo OLD >"$T/lk/a.csv"; echo OLD >"$T/lk/r.csv"
expect_rc "ams failing mid-way (truncated table)" 1 "$ER" ams --out "$T/lk/a.csv" --rejects "$T/lk/r.csv" "$T/trunc"
expect "failed run: outputs kept" test "$(cat "$T/lk/a.csv" "$T/lk/r.csv")" = "OLD
OLD"
expect "failed run: no temporaries left" test "$(ls -A "$T/lk" | wc -l)" -eq 2
mkfifo "$T/lk/fifo"
cat "$T/lk/fifo" >"$T/lk/fifo.got" &
cpid=$!
expect_rc "ams --out a FIFO" 0 "$ER" ams --out "$T/lk/fifo" "$T/ok"
# a run that never opened the FIFO must not leave cat (and this script) waiting
kill -0 "$cpid" 2>/dev/null && timeout 5 sh -c ': >"$1"' _ "$T/lk/fifo"
wait "$cpid"
expect "FIFO got the rows" same "$T/lk/fifo.got" "$T/ok.exp"

# score --ams carries the join's rejects into the rejects file and exit status
expect_rc "score --ams with rejects" 3 "$ER" score --ams --rejects "$T/sr.csv" --summary "$T/sr.json" \
	--out "$T/sr.out" "$T/orphan"
expect "score --ams rejects file" has "$T/sr.csv" "$T/orphan/ams__consignee_$P.csv,3,identifier_not_in_header,A0000009"
expect "score --ams summary counts them" grep -q '"source_rejects": 1,' "$T/sr.json"
expect "score --ams scored the bills" test "$(wc -l <"$T/sr.out")" -eq 4

# --max-rejects counts the join's rejects (the orphan release: 1 of them, 3 bills)
expect_rc "score --ams --max-rejects 0" 1 "$ER" score --ams --max-rejects 0 --out "$T/mr.out" "$T/orphan"
expect "max-rejects message" has "$T/last.err" \
	"examrisk: error: too many rejects: 1 (1 of them by the source) more than 0 (--max-rejects); nothing committed"
expect "max-rejects: nothing written" test ! -e "$T/mr.out"
expect_rc "score --ams --max-rejects 1" 3 "$ER" score --ams --quiet --max-rejects 1 --out "$T/mr.out" "$T/orphan"
expect_rc "score --ams --max-rejects 20%" 1 "$ER" score --ams --max-rejects 20% --out "$T/mr2.out" "$T/orphan"
expect "max-rejects % message" has "$T/last.err" \
	"examrisk: error: too many rejects: 1 of 4 records (1 by the source; over 20%, --max-rejects); nothing committed"
expect_rc "score --ams --max-rejects 25%" 3 "$ER" score --ams --quiet --max-rejects 25% --out "$T/mr2.out" "$T/orphan"

echo "test_ams: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
