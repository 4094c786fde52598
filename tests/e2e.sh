#!/bin/sh
# End-to-end tests of the examrisk binary: golden files (byte-exact), gzip
# member layouts and stdin, thread/chunk invariance, failure semantics (atomic
# commit, --keep-going), limits, usage errors, and row accounting.
# Run from the repository root: BUILD=build sh tests/e2e.sh
# UPDATE_GOLDEN=1 rewrites the expected files (review the diff before committing).
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/examrisk
GEN=$BUILD/examrisk-gen
T=$(mktemp -d "${TMPDIR:-/tmp}/er-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
strip_timing() { grep -v -e '"elapsed_s"' -e '"rows_per_s"' -e '"mb_per_s"' -e '"threads"' "$1"; }
lines() { wc -l <"$1" | tr -d ' '; }

G=tests/golden/basic
TABLES="--participants $G/participants.csv --mra data/mra.csv --rules $G/rules.ini"

# ---------------------------------------------------------------- golden
expect_rc "basic run exits 3 (rows rejected)" 3 $BIN score $TABLES --threads 2 --out "$T/s.csv" \
	--rejects "$T/r.csv" --summary "$T/sum.json" --consolidations "$T/c.csv" --queue "$T/q.csv" \
	--consolidations-filter all --keep Note $G/manifest.csv
golden scores "$T/s.csv" $G/expected.scores.csv
golden rejects "$T/r.csv" $G/expected.rejects.csv
golden consolidations "$T/c.csv" $G/expected.consolidations.csv
golden queue "$T/q.csv" $G/expected.queue.csv
strip_timing "$T/sum.json" | sed "s|$T/|T/|g" >"$T/sum.stripped"
golden summary "$T/sum.stripped" $G/expected.summary.json
grep -v 'rows/s' "$T/last.err" >"$T/err.stripped"
golden stderr "$T/err.stripped" $G/expected.err
# Nothing is lost: 32 records = scored rows + rejects.
expect "basic accounting" [ $(( $(lines "$T/s.csv") - 1 + $(lines "$T/r.csv") - 1 )) -eq 32 ]

# Rules as the law reads (issue 9): FAST by border crossed, MRA end dates,
# vague forms, filing timestamps. Own participants; the basic rules.
R=tests/golden/rules
expect_rc "rules golden" 0 $BIN score --participants $R/participants.csv --mra data/mra.csv \
	--rules $G/rules.ini --quiet --keep note --out "$T/rules.csv" $R/manifest.csv
golden rules-scores "$T/rules.csv" $R/expected.scores.csv

# Restricted-party screening (--sdn) against a made-up list in OFAC's format
SD=tests/fixtures/sdn
SR=tests/fixtures/score/rules.ini
expect_rc "sdn golden" 0 $BIN score --participants $R/participants.csv --mra data/mra.csv --rules $SR \
	--sdn $SD --quiet --keep note --out "$T/sdn.csv" tests/golden/sdn/manifest.csv
golden sdn-scores "$T/sdn.csv" tests/golden/sdn/expected.scores.csv
expect_rc "sdn 3 threads, small chunks" 0 $BIN score --participants $R/participants.csv --mra data/mra.csv \
	--rules $SR --sdn $SD --quiet --keep note --threads 3 --chunk-size 256 --out "$T/sdn3.csv" \
	tests/golden/sdn/manifest.csv
expect "sdn output independent of threads" same "$T/sdn.csv" "$T/sdn3.csv"
expect_rc "sdn needs the [sdn] keys" 1 $BIN score $TABLES --sdn $SD --out "$T/x.csv" tests/golden/sdn/manifest.csv
expect "sdn missing-key message" grep -q "rules.ini: missing key \[points\] SDN_MATCH (needed by --sdn)" "$T/last.err"
mkdir -p "$T/nosdn"
expect_rc "sdn dir without the files" 1 $BIN score --rules $SR --sdn "$T/nosdn" --out "$T/x.csv" tests/golden/sdn/manifest.csv
expect "sdn missing-file message" grep -q "$T/nosdn/sdn.csv" "$T/last.err"
mkdir -p "$T/badsdn"; cp $SD/alt.csv $SD/add.csv "$T/badsdn/"
head -n 3 $SD/sdn.csv >"$T/badsdn/sdn.csv"; printf '9011,"EXTRA",-0- \r\n' >>"$T/badsdn/sdn.csv"
expect_rc "sdn malformed line" 1 $BIN score --rules $SR --sdn "$T/badsdn" --out "$T/x.csv" tests/golden/sdn/manifest.csv
expect "sdn malformed names file:line" grep -q "badsdn/sdn.csv:4: expected 12 fields, got 3" "$T/last.err"
expect "failed sdn run writes nothing" [ ! -e "$T/x.csv" ]
# --consolidations-filter lcl (the default) keeps consolidations of 2+ house bills; --top N the
# N riskiest; the summary counts what was left out and why.
json_num() { sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1" | head -1; }
expect_rc "consolidations lcl" 3 $BIN score $TABLES --quiet --out "$T/s.lcl.csv" --summary "$T/sum.lcl.json" \
	--consolidations "$T/c.lcl.csv" $G/manifest.csv
awk -F, 'NR == 1 || $5 >= 2' "$T/c.csv" >"$T/c.lcl.expected"
expect "lcl = the house-bill filter of all" same "$T/c.lcl.expected" "$T/c.lcl.csv"
expect "lcl keeps a consolidation" [ "$(lines "$T/c.lcl.csv")" -ge 2 ]
expect "summary: consolidations listed" [ "$(json_num "$T/sum.lcl.json" consolidations)" -eq $(( $(lines "$T/c.lcl.csv") - 1 )) ]
expect "summary: consolidations found" [ "$(json_num "$T/sum.lcl.json" consolidations_found)" -eq $(( $(lines "$T/c.csv") - 1 )) ]
expect "summary: single house bills left out" [ "$(json_num "$T/sum.lcl.json" single_house_bill)" -eq $(( $(lines "$T/c.csv") - $(lines "$T/c.lcl.csv") )) ]
expect_rc "consolidations all --top 3" 3 $BIN score $TABLES --quiet --out "$T/s.top.csv" --summary "$T/sum.top.json" \
	--consolidations "$T/c.top.csv" --consolidations-filter all --top 3 $G/manifest.csv
head -4 "$T/c.csv" >"$T/c.top.expected"
expect "--top 3 = the first 3" same "$T/c.top.expected" "$T/c.top.csv"
expect "summary: beyond the top" [ "$(json_num "$T/sum.top.json" beyond_top)" -eq $(( $(lines "$T/c.csv") - 4 )) ]
expect "summary: --top recorded" grep -q '"consolidations_top": 3,' "$T/sum.top.json"
expect_rc "usage: bad consolidations filter" 2 $BIN score --consolidations-filter fcl x
expect_rc "usage: --top 0" 2 $BIN score --top 0 x

# --progress: the final line counts every row and every byte read, after the writer finished
expect_rc "progress" 3 $BIN score $TABLES --progress --out "$T/prog.csv" $G/manifest.csv
tr '\r' '\n' <"$T/last.err" | grep 'ETA done' >"$T/prog.last"
expect "progress final line" grep -q "file 1/1  0.0 MB read  32 rows .* ETA done" "$T/prog.last"

expect_rc "resumption queue" 3 $BIN score $TABLES --quiet --out "$T/s2.csv" --queue "$T/qr.csv" --resumption $G/manifest.csv
golden queue-resumption "$T/qr.csv" $G/expected.queue-resumption.csv

# ------------------------------------------------- gzip layouts and stdin
gzip -c $G/manifest.csv >"$T/one.csv.gz"
head -c 700 $G/manifest.csv | gzip -c >"$T/multi.csv.gz"
tail -c +701 $G/manifest.csv | head -c 1500 | gzip -c >>"$T/multi.csv.gz"
: | gzip -c >>"$T/multi.csv.gz" # an empty member in the middle
tail -c +2201 $G/manifest.csv | gzip -c >>"$T/multi.csv.gz"
for f in one multi; do
	expect_rc "gzip $f" 3 $BIN score $TABLES --quiet --keep Note --out "$T/s.$f.csv" --rejects "$T/r.$f.csv" "$T/$f.csv.gz"
	expect "gzip $f scores" same "$T/s.$f.csv" $G/expected.scores.csv
	cut -d, -f2- "$T/r.$f.csv" >"$T/r.$f.cut"; cut -d, -f2- $G/expected.rejects.csv >"$T/r.exp.cut"
	expect "gzip $f rejects" same "$T/r.$f.cut" "$T/r.exp.cut"
done
expect_rc "stdin" 3 sh -c "cat $G/manifest.csv | $BIN score $TABLES --quiet --keep Note --rejects $T/r.stdin.csv - > $T/s.stdin.csv"
expect "stdin scores" same "$T/s.stdin.csv" $G/expected.scores.csv
expect "stdin rejects name <stdin>" grep -q '^<stdin>,' "$T/r.stdin.csv"

# --------------------------------------------- thread / chunk invariance
if [ -x "$GEN" ]; then
	"$GEN" --rows 20000 --seed 11 --out "$T/gen" 2>/dev/null
	M="$T/gen/manifest.csv.gz"
	GT="--participants $T/gen/participants.csv --mra $T/gen/mra.csv --rules data/rules.ini"
	ref=""
	for th in 1 2 8; do
		for ch in 4096 65536 1048576; do
			d="$T/inv.$th.$ch"; mkdir -p "$d"
			$BIN score $GT --quiet --threads $th --chunk-size $ch --out "$d/s.csv" --rejects "$d/r.csv" \
				--consolidations "$d/c.csv" --queue "$d/q.csv" "$M"
			rc=$?
			[ $rc -le 3 ] || bad "invariance run t=$th c=$ch exit $rc"
			if [ -z "$ref" ]; then ref=$d; expect "generated accounting" \
				[ $(( $(lines "$d/s.csv") - 1 + $(lines "$d/r.csv") - 1 )) -eq 20000 ]; continue; fi
			for o in s r c q; do expect "invariance $o t=$th c=$ch" same "$ref/$o.csv" "$d/$o.csv"; done
		done
		# Compressed output: byte-identical at any thread count for a given chunk size.
		$BIN score $GT --quiet --threads $th --out "$T/inv.$th.gz.csv.gz" "$M"
		[ $th -eq 1 ] || expect "gz bytes t=$th" same "$T/inv.1.gz.csv.gz" "$T/inv.$th.gz.csv.gz"
		gzip -dc "$T/inv.$th.gz.csv.gz" >"$T/inv.$th.gz.csv"
		expect "gz content t=$th" same "$ref/s.csv" "$T/inv.$th.gz.csv"
	done
	# roll-ups spilled to disk under a tiny memory budget give the same bytes
	$BIN score $GT --quiet --rollup-memory 4096 --out "$T/spill.s.csv" --consolidations "$T/spill.c.csv" \
		--queue "$T/spill.q.csv" "$M"
	expect "spilled consolidations" same "$ref/c.csv" "$T/spill.c.csv"
	# on a real mix of FCL and LCL: all, then lcl and --top from it, spilled or not
	$BIN score $GT --quiet --consolidations-filter all --out "$T/all.s.csv" --consolidations "$T/all.c.csv" "$M"
	awk -F, 'NR == 1 || $5 >= 2' "$T/all.c.csv" >"$T/all.lcl.csv"
	expect "generated: lcl is the default and = the filter of all" same "$ref/c.csv" "$T/all.lcl.csv"
	expect "generated: some single-bill consolidations" [ "$(lines "$T/all.c.csv")" -gt "$(lines "$ref/c.csv")" ]
	$BIN score $GT --quiet --rollup-memory 4096 --top 25 --out "$T/top.s.csv" --consolidations "$T/top.c.csv" "$M"
	head -26 "$ref/c.csv" >"$T/top.expected"
	expect "generated: --top 25, spilled" same "$T/top.expected" "$T/top.c.csv"
	expect "spilled queue" same "$ref/q.csv" "$T/spill.q.csv"
	# sizes take K/M/G suffixes: 4K is the 4096 above
	$BIN score $GT --quiet --rollup-memory 4K --chunk-size 64KiB --out "$T/spill4k.s.csv" \
		--consolidations "$T/spill4k.c.csv" "$M"
	expect "--rollup-memory 4K" same "$T/spill.c.csv" "$T/spill4k.c.csv"
	expect "--chunk-size 64KiB" same "$T/spill.s.csv" "$T/spill4k.s.csv"
	# explicit zlib levels and the default fast level hold the same rows
	for lv in 1 6 9; do
		$BIN score $GT --quiet --level $lv --out "$T/lv$lv.csv.gz" "$M"
		gzip -dc "$T/lv$lv.csv.gz" >"$T/lv$lv.csv"
		expect "gz level $lv content" same "$ref/s.csv" "$T/lv$lv.csv"
	done
	# several gzip members in the input give the same result
	"$GEN" --rows 20000 --seed 11 --members 4 --out "$T/gen4" 2>/dev/null
	$BIN score $GT --quiet --out "$T/s.gen4.csv" "$T/gen4/manifest.csv.gz"
	expect "generated 4 members" same "$ref/s.csv" "$T/s.gen4.csv"
	# bgzip (BGZF, inflated in parallel) and pigz -i input: the same bytes at
	# any thread count and chunk size as the single-member file
	gzip -dc "$M" >"$T/gen.csv"
	if command -v bgzip >/dev/null && command -v pigz >/dev/null; then
		bgzip -c "$T/gen.csv" >"$T/gen.bgz"
		pigz -i -b 32 -c "$T/gen.csv" >"$T/gen.pgz"
		for z in bgz pgz; do
			for th in 1 2 8; do
				for ch in 4096 1048576; do
					d="$T/$z.$th.$ch"; mkdir -p "$d"
					$BIN score $GT --quiet --threads $th --chunk-size $ch --out "$d/s.csv" --rejects "$d/r.csv" \
						--consolidations "$d/c.csv" --queue "$d/q.csv" "$T/gen.$z"
					for o in s r c q; do expect "$z $o t=$th c=$ch" same "$ref/$o.csv" "$d/$o.csv"; done
				done
			done
		done
		# a corrupt BGZF member fails the file naming the member and byte, at any
		# thread count, and none of its rows reach the outputs (--keep-going)
		b1=$(( $(od -An -tu2 -j16 -N2 "$T/gen.bgz" | tr -d ' ') + 1 ))
		b2=$(( $(od -An -tu2 -j$((b1 + 16)) -N2 "$T/gen.bgz" | tr -d ' ') + 1 ))
		cp "$T/gen.bgz" "$T/crc.bgz"
		printf '\377' | dd of="$T/crc.bgz" bs=1 seek=$((b1 + b2 - 8)) conv=notrunc 2>/dev/null
		head -c $((b1 + b2 / 2)) "$T/gen.bgz" >"$T/cut.bgz"
		{ cat "$T/gen.bgz"; printf 'junk'; } >"$T/junk.bgz"
		gsz=$(wc -c <"$T/gen.bgz" | tr -d ' ')
		for th in 1 2; do
			expect_rc "bgzf crc t=$th" 1 $BIN score $GT --threads $th --out "$T/bad.csv" "$T/crc.bgz"
			expect "bgzf crc message t=$th" grep -q "crc.bgz: gzip CRC mismatch in member 2 (member ends at byte $((b1 + b2)))" "$T/last.err"
			expect_rc "bgzf truncated t=$th" 1 $BIN score $GT --threads $th --out "$T/bad.csv" "$T/cut.bgz"
			expect "bgzf truncated message t=$th" grep -q "cut.bgz: gzip truncated at byte $((b1 + b2 / 2))" "$T/last.err"
			expect_rc "bgzf garbage t=$th" 1 $BIN score $GT --threads $th --out "$T/bad.csv" "$T/junk.bgz"
			expect "bgzf garbage message t=$th" grep -q "junk.bgz: trailing garbage after gzip member at byte $gsz" "$T/last.err"
			expect "bgzf failure writes nothing t=$th" [ ! -e "$T/bad.csv" ]
			$BIN score $GT --quiet --keep-going --threads $th --out "$T/kg.$th.csv" "$T/crc.bgz" "$T/gen.bgz"
			expect "bgzf keep-going drops the failed file t=$th" same "$ref/s.csv" "$T/kg.$th.csv"
		done
	else
		bad "bgzip or pigz missing (Debian packages tabix, pigz)"
	fi
else
	bad "generator $GEN missing"
fi

# ------------------------------------------------------ failure semantics
mkdir -p "$T/night"
gzip -c $G/manifest.csv >"$T/good.csv.gz"
sz=$(wc -c <"$T/good.csv.gz")
head -c $((sz - 5)) "$T/good.csv.gz" >"$T/trunc.csv.gz"
expect_rc "yesterday's run" 3 $BIN score $TABLES --quiet --out "$T/night/s.csv" --rejects "$T/night/r.csv" \
	--summary "$T/night/sum.json" --consolidations "$T/night/c.csv" "$T/good.csv.gz"
cp -p "$T/night/s.csv" "$T/night.s"; cp -p "$T/night/sum.json" "$T/night.sum"
expect_rc "corrupt second file fails the run" 1 $BIN score $TABLES --out "$T/night/s.csv" --rejects "$T/night/r.csv" \
	--summary "$T/night/sum.json" --consolidations "$T/night/c.csv" "$T/good.csv.gz" "$T/trunc.csv.gz"
expect "failure names file" grep -q "trunc.csv.gz: gzip truncated" "$T/last.err"
expect "previous scores untouched" same "$T/night.s" "$T/night/s.csv"
expect "previous summary untouched" same "$T/night.sum" "$T/night/sum.json"
expect "no temporary files left" [ "$(ls -A "$T/night" | grep -c tmp)" -eq 0 ]
expect_rc "keep-going" 3 $BIN score $TABLES --keep-going --out "$T/night/s.csv" --summary "$T/night/sum.json" \
	"$T/trunc.csv.gz" "$T/good.csv.gz"
expect "keep-going scores only the good file" same "$T/night.s" "$T/night/s.csv"
expect "keep-going names the failed file" grep -q '"status": "failed"' "$T/night/sum.json"
printf 'junk' >"$T/garbage.csv.gz"; cat "$T/good.csv.gz" >"$T/garbage.csv.gz"; printf 'junk' >>"$T/garbage.csv.gz"
expect_rc "trailing garbage" 1 $BIN score $TABLES --out "$T/g.csv" "$T/garbage.csv.gz"
expect "trailing garbage message" grep -q "trailing garbage" "$T/last.err"
expect "failed run creates no output" [ ! -e "$T/g.csv" ]
expect_rc "stdout failure prints no rows" 1 sh -c "$BIN score $TABLES $T/good.csv.gz $T/trunc.csv.gz > $T/stdout.csv"
expect "stdout empty after failure" [ ! -s "$T/stdout.csv" ]

# A roll-up spill that cannot be written fails the run and commits nothing.
if [ -x "$GEN" ]; then
	expect_rc "spill dir missing" 1 env TMPDIR="$T/no-such-dir" $BIN score $GT --quiet --out "$T/sp.csv" \
		--rollup-memory 4096 --consolidations "$T/sp.c.csv" "$M"
	expect "spill failure message" grep -q "roll-ups (spill in $T/no-such-dir)" "$T/last.err"
	expect "spill failure commits nothing" [ ! -e "$T/sp.csv" ]
fi

# ------------------------------------------------------- limits and input
expect_rc "max-rejects count" 1 $BIN score $TABLES --max-rejects 2 --out "$T/mr.csv" $G/manifest.csv
expect "max-rejects message" grep -q "too many rejects" "$T/last.err"
expect "max-rejects commits nothing" [ ! -e "$T/mr.csv" ]
expect_rc "max-rejects 10%" 1 $BIN score $TABLES --quiet --max-rejects 10% --out "$T/mr.csv" $G/manifest.csv
expect "--quiet still prints the fatal error" grep -q "error: too many rejects" "$T/last.err"
expect_rc "max-rejects 20%" 3 $BIN score $TABLES --quiet --max-rejects 20% --out "$T/mr.csv" $G/manifest.csv
sed 's/Arrival_Date/Arrived/' $G/manifest.csv >"$T/nodate.csv"
expect_rc "missing column" 1 $BIN score $TABLES --out "$T/x.csv" "$T/nodate.csv"
expect "missing column message" grep -q "nodate.csv:1: missing required column 'arrival_date'" "$T/last.err"
expect_rc "map renames" 3 $BIN score $TABLES --quiet --map arrival_date=Arrived --keep Note --out "$T/map.csv" "$T/nodate.csv"
expect "map gives same scores" same "$T/map.csv" $G/expected.scores.csv
: >"$T/empty.csv"
expect_rc "empty file" 1 $BIN score $TABLES --out "$T/x.csv" "$T/empty.csv"
expect "empty file message" grep -q "empty.csv: empty input: no header row" "$T/last.err"
printf '\357\273\277shipment_id,arrival_date\r\nA1,2021-01-01\r\n' >"$T/bom.csv"
expect_rc "BOM and CRLF" 0 $BIN score $TABLES --quiet --out "$T/bom.out" "$T/bom.csv"
expect "BOM row scored" grep -q '^A1,' "$T/bom.out"
printf 'shipment_id\tarrival_date\nA1\t2021-01-01\n' >"$T/tab.csv"
expect_rc "tab delimiter" 0 $BIN score $TABLES --quiet --delimiter tab --out "$T/tab.out" "$T/tab.csv"
expect_rc "no such file" 1 $BIN score $TABLES --out "$T/x.csv" "$T/does-not-exist.csv"

# ------------------------------------------------------------------ usage
expect_rc "usage: no command" 2 $BIN
expect_rc "usage: unknown option" 2 $BIN score --bogus x
expect_rc "usage: no manifest" 2 $BIN score $TABLES
expect_rc "usage: bad threads" 2 $BIN score --threads 0 x
expect_rc "usage: bad size suffix" 2 $BIN score --rollup-memory 4T x
expect_rc "usage: size below the minimum" 2 $BIN score --rollup-memory 1023 x
expect_rc "usage: size overflow" 2 $BIN score --chunk-size 9999999999G x
expect_rc "usage: verify option on score" 2 $BIN score --on 2021-01-01 x
expect_rc "help" 0 $BIN score --help
expect_rc "version" 0 $BIN --version

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
