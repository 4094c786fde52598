#!/bin/sh
# End-to-end tests of the examrisk binary: golden files (byte-exact), gzip
# member layouts and stdin, thread/chunk invariance, failure semantics (atomic
# commit, --keep-going), limits, usage errors, and row accounting.
# Run from the repository root: BUILD=build sh tests/e2e.sh
# UPDATE_GOLDEN=1 rewrites the expected files (review the diff before committing).
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/examrisk
GEN=${TEST_GEN:-$BUILD/examrisk-gen} # the data maker (make test: the normal build's)
T=$(mktemp -d "${TMPDIR:-/tmp}/er-e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
# Timing fields vary run to run; the scratch directory's name and the binary's path too.
strip_timing() { grep -v -e '"elapsed_s"' -e '"rows_per_s"' -e '"mb_per_s"' -e '"threads"' \
	-e '"started_at"' -e '"finished_at"' "$1" | sed -e "s|$T|\$T|g" -e "s|\"$BIN\"|\"\$BIN\"|"; }
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
iso='"20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9][0-9][0-9]Z"'
expect "summary started_at is UTC ISO 8601" grep -Eq "^  \"started_at\": $iso,\$" "$T/sum.json"
expect "summary finished_at is UTC ISO 8601" grep -Eq "^  \"finished_at\": $iso,\$" "$T/sum.json"
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
expect "progress final line" grep -q "file 1/1  0.0 of 0.0 MB (100%)  32 rows .* ETA done" "$T/prog.last"

expect_rc "resumption queue" 3 $BIN score $TABLES --quiet --out "$T/s2.csv" --queue "$T/qr.csv" --resumption $G/manifest.csv
golden queue-resumption "$T/qr.csv" $G/expected.queue-resumption.csv

# ------------------------------------------- rows do not see their neighbours
# A worker carries state from record to record (its parser's storage, the
# name caches). Every row must score as it does in a file of its own: the
# basic manifest's one-line records plus rows whose unescaped fields ("" in
# quotes, kept in the parser's storage) come back to back and around rejects.
{ awk -F'"' 'q == 0 && NF % 2 == 1 { print } NF % 2 == 0 { q = !q }' $G/manifest.csv
  printf '%s\n' 'Q1,2021-03-15,vessel,LCL,MBQ,MSCU0000009,IMP001,"ACME ""ONE"" INC",SHPJP1,"KYOTO ""A"" LTD",JP,JP,,,,847130,"LAPTOPS ""X""",,,100,"n ""1"""' \
	'Q2,2021-03-15,vessel,LCL,MBQ,MSCU0000009,IMP002,"B ""TWO"" CO",SHPJP1,"OSAKA ""B"" KK",JP,JP,,,,847130,"PARTS ""Y""",,,200,"n ""2"""' \
	'Q3,2021-03-15,vessel,LCL,MBQ,MSCU0000009,IMP001,"C ""3""",SHPJP1,,JP,JP,,,,847130,"GOODS ""Z""",,,300' \
	'Q4,2021-03-15,vessel,LCL,MBQ,MSCU0000009,IMP001,"D ""4""",SHPJP1,,JP,JP,,,,847130,"TOYS ""W""",,,400,"n ""4"""' \
	'Q5,not-a-date,vessel,LCL,MBQ,MSCU0000009,IMP001,"E ""5""",SHPJP1,,JP,JP,,,,847130,"X ""V""",,,500,"n ""5"""' \
	'Q6,2021-03-15,vessel,LCL,MBQ,MSCU0000009,IMP002,"F ""6""",SHPJP1,"G ""7""",JP,JP,,,,847130,"BOXES ""U""",,,600,"n ""6"""'
} >"$T/nb.csv"
expect_rc "neighbours: the whole file" 3 $BIN score $TABLES --threads 1 --out "$T/nb.s.csv" \
	--rejects "$T/nb.r.csv" --keep Note "$T/nb.csv"
: >"$T/nb.each"
: >"$T/nb.each.rej"
tail -n +2 "$T/nb.csv" | while IFS= read -r line; do
	{ head -1 "$T/nb.csv"; printf '%s\n' "$line"; } >"$T/nb1.csv"
	rm -f "$T/nb1.s.csv" "$T/nb1.r.csv" # a run that writes nothing must not pass on the last one's
	$BIN score $TABLES --threads 1 --out "$T/nb1.s.csv" --rejects "$T/nb1.r.csv" --keep Note \
		"$T/nb1.csv" >"$T/nb1.log" 2>&1
	tail -n +2 "$T/nb1.s.csv" >>"$T/nb.each"
	tail -n +2 "$T/nb1.r.csv" | cut -d, -f3- >>"$T/nb.each.rej" # reason and raw: not the line
done
tail -n +2 "$T/nb.s.csv" >"$T/nb.all"
tail -n +2 "$T/nb.r.csv" | cut -d, -f3- >"$T/nb.all.rej"
expect "rows score as in a file of their own" same "$T/nb.all" "$T/nb.each"
expect "rows are rejected as in a file of their own" same "$T/nb.all.rej" "$T/nb.each.rej"
expect "neighbours: the four good quoted rows are scored" test "$(grep -c '^Q' "$T/nb.all")" -eq 4

# ------------------------------------------------------ output dialect
# Output is comma-separated RFC 4180 whatever the input delimiter: the golden
# manifest rewritten with ';' or tab (quote-aware) gives the same bytes.
redelim() { awk -v D="$1" '{ o = ""; for (i = 1; i <= length($0); i++) { c = substr($0, i, 1)
	if (c == "\"") q = !q; if (c == "," && !q) c = D; o = o c }; print o }' "$2"; }
first3() { awk "$AWK_SPLITCSV"'{ r = p ? r "\n" $0 : $0; t = $0; q += gsub(/"/, "", t)
	if (q % 2) { p = 1; next }; p = 0; q = 0; n = splitcsv(r, f); print n, f[1], f[2], f[3] }' "$1"; }
for d in semi tab; do
	if [ $d = semi ]; then c=';'; else c=$(printf '\t'); fi
	redelim "$c" $G/manifest.csv >"$T/m.$d.csv"
	expect_rc "input delimiter $d" 3 $BIN score $TABLES --quiet --delimiter "$c" --keep Note --consolidations-filter all --out "$T/s.$d.csv" \
		--rejects "$T/r.$d.csv" --consolidations "$T/c.$d.csv" --queue "$T/q.$d.csv" "$T/m.$d.csv"
	expect "delimiter $d: scores are comma CSV" same "$T/s.$d.csv" $G/expected.scores.csv
	expect "delimiter $d: consolidations" same "$T/c.$d.csv" $G/expected.consolidations.csv
	expect "delimiter $d: queue" same "$T/q.$d.csv" $G/expected.queue.csv
	first3 "$T/r.$d.csv" | sed "s|$T/m.$d.csv|M|" >"$T/r.$d.f3"
	first3 $G/expected.rejects.csv | sed "s|$G/manifest.csv|M|" >"$T/r.exp.f3"
	expect "delimiter $d: rejects have 4 comma fields, same file/line/reason" same "$T/r.$d.f3" "$T/r.exp.f3"
done
expect_rc "--out-delimiter ;" 3 $BIN score $TABLES --quiet --out-delimiter ';' --keep Note --out "$T/s.od.csv" \
	--consolidations "$T/c.od.csv" --rejects "$T/r.od.csv" $G/manifest.csv
expect "--out-delimiter header" [ "$(head -1 "$T/s.od.csv")" = \
	"shipment_id;score;lane;reasons;importer_status;shipper_status;match;fast_eligible;front_of_line;Note" ]
expect "--out-delimiter quotes the match column" grep -Eq '^S001;[0-9]+;[A-Z]+;[^;]*;[^;]*;[^;]*;"I=[a-z-]+;S=[a-z-]+;M=[a-z-]+;C=[a-z-]+;F=[a-z-]+";[01];[01];' "$T/s.od.csv"
expect "--out-delimiter keeps the comma unquoted" grep -q ';quoted comma and newline$' "$T/s.od.csv"
expect "--out-delimiter consolidations" grep -q '^consolidation;key_type;container_id;' "$T/c.od.csv"
expect "--out-delimiter rejects" grep -q '^file;line;reason;raw' "$T/r.od.csv"
expect_rc "usage: --out-delimiter quote" 2 $BIN score --out-delimiter '"' x
# --excel: UTF-8 BOM and CRLF record ends in every CSV output; else the same bytes.
expect_rc "--excel" 3 $BIN score $TABLES --quiet --excel --keep Note --consolidations-filter all --out "$T/s.xl.csv" \
	--rejects "$T/r.xl.csv" \
	--consolidations "$T/c.xl.csv" --queue "$T/q.xl.csv" $G/manifest.csv
for o in s c q; do
	expect "--excel $o starts with a BOM" [ "$(head -c 3 "$T/$o.xl.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ]
	expect "--excel $o: every line ends CRLF" [ "$(grep -c "$(printf '\r')\$" "$T/$o.xl.csv")" -eq "$(lines "$T/$o.xl.csv")" ]
done
tail -c +4 "$T/s.xl.csv" | tr -d '\r' >"$T/s.xl.plain"; expect "--excel scores otherwise equal" same "$T/s.xl.plain" $G/expected.scores.csv
tail -c +4 "$T/c.xl.csv" | tr -d '\r' >"$T/c.xl.plain"; expect "--excel consolidations otherwise equal" same "$T/c.xl.plain" $G/expected.consolidations.csv
expect "--excel rejects BOM" [ "$(head -c 3 "$T/r.xl.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ]
expect "default output has no BOM and no CR" [ "$(head -c 3 $G/expected.scores.csv)" = shi ] && ! grep -q "$(printf '\r')" $G/expected.scores.csv
expect_rc "--excel .gz" 3 $BIN score $TABLES --quiet --excel --out "$T/s.xl.csv.gz" $G/manifest.csv
expect "--excel .gz holds the BOM" [ "$(gzip -dc "$T/s.xl.csv.gz" | head -c 3 | od -An -tx1 | tr -d ' ')" = efbbbf ]
expect_rc "partners --excel --out-delimiter" 3 $BIN partners $TABLES --quiet --excel --out-delimiter tab --out "$T/p.xl.csv" $G/manifest.csv
expect "partners --excel header" [ "$(head -1 "$T/p.xl.csv" | od -An -c | head -1 | tr -s ' ' | cut -c1-25)" = " 357 273 277 p a r t y \\t" ]
expect_rc "verify --csv --excel" 0 sh -c "$BIN verify --participants $G/participants.csv --mra data/mra.csv --csv --excel --on 2021-06-01 IMP001 >$T/v.xl.csv"
expect "verify --csv --excel BOM + CRLF" [ "$(head -c 3 "$T/v.xl.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ] && \
	[ "$(grep -c "$(printf '\r')\$" "$T/v.xl.csv")" -eq "$(lines "$T/v.xl.csv")" ]
# The rejects' raw column escapes NUL and invalid UTF-8 as \xHH, and a backslash as \\.
printf 'shipment_id,arrival_date,description\nA1,2021-01-01,ok\nA2,2021-01-01,nul\000here\nA3,2021-01-01,bad\377byte \\ slash\nA4,2021-13-01,caf\303\251 \\x00\n' >"$T/esc.csv"
expect_rc "raw escapes" 3 $BIN score $TABLES --quiet --out "$T/esc.out" --rejects "$T/esc.rej" "$T/esc.csv"
expect "raw NUL as \\x00" grep -qF 'A2,2021-01-01,nul\x00here' "$T/esc.rej"
expect "raw invalid byte as \\xFF, backslash doubled" grep -qF 'A3,2021-01-01,bad\xFFbyte \\ slash' "$T/esc.rej"
expect "raw keeps valid UTF-8, escapes a literal backslash" grep -qF "A4,2021-13-01,caf$(printf '\303\251') \\\\x00" "$T/esc.rej"
utf8_no_nul() { iconv -f UTF-8 -t UTF-8 "$1" >"$T/iconv.out" 2>&1 && tr -d '\000' <"$1" | cmp -s - "$1"; }
expect "rejects file is valid UTF-8 without NUL" utf8_no_nul "$T/esc.rej"

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
	# .gz consolidations (members compressed on the end phase's threads, rows
	# sorted per chunk by the workers): the same bytes at any threads / chunk size
	for th in 1 2 3; do
		for ch in 65536 1048576; do
			$BIN score $GT --quiet --threads $th --chunk-size $ch --consolidations-filter all \
				--out "$T/cgz.s.csv" --consolidations "$T/cgz.$th.$ch.csv.gz" "$M"
			expect "consolidations gz bytes t=$th c=$ch" same "$T/cgz.1.65536.csv.gz" "$T/cgz.$th.$ch.csv.gz"
		done
	done
	gzip -dc "$T/cgz.1.65536.csv.gz" >"$T/cgz.csv"
	expect "consolidations gz content" same "$T/all.c.csv" "$T/cgz.csv"
	expect "consolidations gz: several members" [ "$(wc -c <"$T/cgz.csv")" -gt 1048576 ]
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
		# flip every bit of the CRC's first byte (writing a constant would be a
		# no-op whenever the byte already holds it)
		crc0=$(od -An -tu1 -j$((b1 + b2 - 8)) -N1 "$T/gen.bgz" | tr -d ' ')
		printf "\\$(printf '%03o' $((crc0 ^ 255)))" | dd of="$T/crc.bgz" bs=1 seek=$((b1 + b2 - 8)) conv=notrunc 2>/dev/null
		expect "bgzf crc byte changed" differ "$T/gen.bgz" "$T/crc.bgz"
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

# ------------------------------------------------------------ signals
# wait_for TRIES COMMAND...: poll (0.1 s apart) until the command succeeds.
wait_for() { n=$1; shift; while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
is_sleeping() { [ "$(cat /proc/$1/comm 2>/dev/null)" = sleep ]; }
no_tmp() { [ "$(ls -A "$1" | grep -c '\.tmp\.')" -eq 0 ]; }
mkdir -p "$T/sig"
expect_rc "signals: yesterday's run" 3 $BIN score $TABLES --quiet --out "$T/sig/s.csv" --rejects "$T/sig/r.csv" \
	--summary "$T/sig/sum.json" --consolidations "$T/sig/c.csv" $G/manifest.csv
for o in s.csv r.csv sum.json c.csv; do cp -p "$T/sig/$o" "$T/sig.$o"; done
# SIGTERM while the splitter skips an endless line from a FIFO whose (bounded)
# writer has stalled: the blocked read is interrupted, exit 143.
mkfifo "$T/sig/endless.fifo"
{ printf 'shipment_id,arrival_date\nA1,2021-01-01\nA2,'; head -c 30000000 /dev/zero | tr '\000' x; exec sleep 60; } \
	>"$T/sig/endless.fifo" 2>/dev/null &
wpid=$!
$BIN score $TABLES --quiet --out "$T/sig/s.csv" --rejects "$T/sig/r.csv" --summary "$T/sig/sum.json" \
	--consolidations "$T/sig/c.csv" "$T/sig/endless.fifo" 2>"$T/sig.err" &
epid=$!
expect "signals: the endless line was sent" wait_for 600 is_sleeping $wpid
kill -TERM $epid; wait $epid; rc=$?
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
expect "SIGTERM exits 143 (got $rc)" [ $rc -eq 143 ]
expect "SIGTERM message" grep -q "interrupted; nothing committed" "$T/sig.err"
expect "SIGTERM: no temporaries" no_tmp "$T/sig"
for o in s.csv r.csv sum.json c.csv; do expect "SIGTERM: previous $o intact" same "$T/sig.$o" "$T/sig/$o"; done
# SIGTERM while a table is read from a stalled FIFO: the load stops, exit 143.
mkfifo "$T/sig/table.fifo"
{ head -3 $G/participants.csv; exec sleep 60; } >"$T/sig/table.fifo" &
wpid=$!
$BIN score --participants "$T/sig/table.fifo" --mra data/mra.csv --rules $G/rules.ini --out "$T/sig/s.csv" \
	$G/manifest.csv 2>"$T/sig.err" &
epid=$!
expect "signals: the table rows were sent" wait_for 600 is_sleeping $wpid
kill -TERM $epid; wait $epid; rc=$?
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
expect "SIGTERM in table load exits 143 (got $rc)" [ $rc -eq 143 ]
expect "SIGTERM in table load message" grep -q "table.fifo: interrupted" "$T/sig.err"
expect "SIGTERM in table load: previous scores intact" same "$T/sig.s.csv" "$T/sig/s.csv"
# SIGTERM while --map-file waits on a stalled FIFO: exit 143 at once.
mkfifo "$T/sig/map.fifo"
{ echo 'arrival_date=Arrival_Date'; exec sleep 60; } >"$T/sig/map.fifo" &
wpid=$!
$BIN score $TABLES --map-file "$T/sig/map.fifo" --out "$T/sig/s.csv" $G/manifest.csv 2>"$T/sig.err" &
epid=$!
expect "signals: the map line was sent" wait_for 600 is_sleeping $wpid
kill -TERM $epid; wait $epid; rc=$?
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
expect "SIGTERM in --map-file exits 143 (got $rc)" [ $rc -eq 143 ]
expect "SIGTERM in --map-file message" grep -q "map.fifo: interrupted" "$T/sig.err"
expect "SIGTERM in --map-file: no temporaries" no_tmp "$T/sig"
# SIGINT during a big consolidation run (rows spilled to $TMPDIR), its gzip
# input on a FIFO held open after the data (so the run cannot end first):
# exit 130, nothing replaced.
if [ -x "$GEN" ]; then
	"$GEN" --rows 50000 --seed 3 --out "$T/big" 2>/dev/null
	mkfifo "$T/sig/big.fifo"
	mkdir -p "$T/spill"
	{ cat "$T/big/manifest.csv.gz"; exec sleep 60; } >"$T/sig/big.fifo" &
	wpid=$!
	TMPDIR="$T/spill" $BIN score --participants "$T/big/participants.csv" --mra "$T/big/mra.csv" --rules data/rules.ini \
		--threads 2 --rollup-memory 64K --out "$T/sig/s.csv" --consolidations "$T/sig/c.csv" \
		--summary "$T/sig/sum.json" --queue "$T/sig/q.csv" "$T/sig/big.fifo" 2>"$T/sig.err" &
	epid=$!
	# the writer sleeps once every byte is in the FIFO: the run has (nearly) all rows
	expect "signals: the manifest was sent" wait_for 1200 is_sleeping $wpid
	kill -INT $epid; wait $epid; rc=$?
	kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
	expect "SIGINT exits 130 (got $rc)" [ $rc -eq 130 ]
	expect "SIGINT: no temporaries" no_tmp "$T/sig"
	expect "SIGINT: no queue created" [ ! -e "$T/sig/q.csv" ]
	expect "SIGINT: spill directory empty" [ -z "$(ls -A "$T/spill")" ]
	for o in s.csv sum.json c.csv; do expect "SIGINT: previous $o intact" same "$T/sig.$o" "$T/sig/$o"; done
fi

# ------------------------------------------------------ limits of files read whole
mkfifo "$T/zero.fifo"
head -c 100000000 /dev/zero >"$T/zero.fifo" 2>/dev/null &
wpid=$!
expect_rc "--map-file from /dev/zero fails fast" 2 $BIN score $TABLES --map-file "$T/zero.fifo" --out "$T/x.csv" $G/manifest.csv
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
expect "--map-file limit message" grep -q "zero.fifo: larger than 1024 KiB: not a column map" "$T/last.err"
head -c 100000000 /dev/zero >"$T/zero.fifo" 2>/dev/null &
wpid=$!
expect_rc "--rules from /dev/zero fails fast" 1 $BIN score --participants $G/participants.csv --mra data/mra.csv \
	--rules "$T/zero.fifo" --out "$T/x.csv" $G/manifest.csv
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
expect "--rules limit message" grep -q "zero.fifo: larger than 8 MiB: not a rules file" "$T/last.err"
{ head -1 $G/participants.csv; head -c 100000000 /dev/zero | tr '\000' x; } >"$T/zero.fifo" 2>/dev/null &
wpid=$!
expect_rc "--participants with an endless line fails fast" 1 $BIN score --participants "$T/zero.fifo" \
	--mra data/mra.csv --rules $G/rules.ini --out "$T/x.csv" $G/manifest.csv
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
expect "table line limit message" grep -q "zero.fifo:2: line longer than 2 MiB: not a table" "$T/last.err"
expect "limits: nothing written" [ ! -e "$T/x.csv" ]

# ------------------------------------------------------ smaller ones
# valid_to=9999-12-31, the usual open end, is the same as an empty valid_to.
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) if ($i == "valid_to") c = i }
	NR > 1 && $c == "" { $c = "9999-12-31" } { print }' $G/participants.csv >"$T/p9999.csv"
expect "9999-12-31 fixture differs" differ "$T/p9999.csv" $G/participants.csv
expect_rc "valid_to 9999-12-31" 3 $BIN score --participants "$T/p9999.csv" --mra data/mra.csv --rules $G/rules.ini \
	--quiet --keep Note --out "$T/s9999.csv" $G/manifest.csv
expect "valid_to 9999-12-31 scores as open" same "$T/s9999.csv" $G/expected.scores.csv
for bad in nan% inf% -5% 101% 1e1% 0x10% %; do
	expect_rc "usage: --max-rejects $bad" 2 $BIN score --max-rejects "$bad" x
done
expect_rc "--max-rejects 15.5% accepted" 1 $BIN score $TABLES --quiet --max-rejects 15.5% --out "$T/x.csv" $G/manifest.csv
expect "--max-rejects 15.5% reason" grep -q "too many rejects: 5 of 32 rows (over 15.5%" "$T/last.err"
# The same input twice (any spelling, a symlink) is a usage error: rows would be doubled.
ln -s "$PWD/$G/manifest.csv" "$T/same.csv"
expect_rc "same input twice" 2 $BIN score $TABLES --out "$T/x.csv" $G/manifest.csv "./$G/manifest.csv"
expect "same input message" grep -q "'./$G/manifest.csv' (input 2) are the same file" "$T/last.err"
expect_rc "same input via a symlink" 2 $BIN score $TABLES --out "$T/x.csv" "$T/same.csv" $G/manifest.csv
expect "same input: nothing written" [ ! -e "$T/x.csv" ]

# ------------------------------------------------------ summary details
# A file name with byte 0xFF: the summary is still valid UTF-8 JSON, with the
# exact bytes in path_hex; a failed file's rows are rolled back, not scored.
ff=$(printf '\377')
cp $G/manifest.csv "$T/m$ff.csv"
# a good gzip member, then a truncated one: the first member's rows were scored, then rolled back
{ cat "$M"; tail -n +2 $G/manifest.csv | gzip -c | head -c 600; } >"$T/half.csv.gz"
expect_rc "summary: 0xFF name, a failed file" 3 $BIN score $GT --quiet --keep-going \
	--out "$T/sf.csv" --summary "$T/sf.json" "$T/m$ff.csv" "$T/half.csv.gz"
expect "summary is valid UTF-8" iconv -f UTF-8 -t UTF-8 "$T/sf.json" -o "$T/sf.iconv"
expect "summary is valid JSON" jq -e . "$T/sf.json" >"$T/sf.jq"
hex=$(printf '%s' "$T/m$ff.csv" | od -An -tx1 | tr -d ' \n')
expect "summary path_hex" [ "$(jq -r '.files[0].path_hex' "$T/sf.json")" = "$hex" ]
expect "summary path with U+FFFD" [ "$(jq -r '.files[0].path' "$T/sf.json")" = "$T/m$(printf '\357\277\275').csv" ]
expect "summary argv_hex" [ "$(jq -r '.argv_hex | length' "$T/sf.json")" = "$(jq -r '.argv | length' "$T/sf.json")" ]
expect "failed file: no row scored" [ "$(jq -r '.files[1] | "\(.status) \(.rows_scored) \(.rows_rejected)"' "$T/sf.json")" = "failed 0 0" ]
expect "failed file: rows rolled back" [ "$(jq -r '.files[1] | .rows_rolled_back == .rows_read and .rows_read > 0' "$T/sf.json")" = true ]
expect "summary exit_status" [ "$(jq -r .exit_status "$T/sf.json")" = 3 ]
expect "summary outputs: path and bytes" [ "$(jq -r '.outputs[0] | "\(.role) \(.path) \(.bytes) \(.atomic)"' "$T/sf.json")" = "scores $T/sf.csv $(wc -c <"$T/sf.csv" | tr -d ' ') true" ]
expect "summary sources: sha256 of the tables" [ "$(jq -r '.sources[] | .sha256' "$T/sf.json" | tr '\n' ' ')" = \
	"$(sha256sum $T/gen/participants.csv $T/gen/mra.csv data/rules.ini | cut -d' ' -f1 | tr '\n' ' ')" ]
expect "summary engine backends" [ "$(jq -r '.engine.inflate' "$T/sf.json" | cut -d' ' -f1)" = ISA-L ]
expect_rc "summary: zlib inflate, ISA-L output" 3 env ER_INFLATE=zlib $BIN score $TABLES --quiet --out "$T/sz.csv.gz" \
	--summary "$T/sz.json" "$T/good.csv.gz"
expect "summary names zlib and ISA-L level 0" [ "$(jq -r '.engine | "\(.inflate) \(.deflate)"' "$T/sz.json" | sed 's/[0-9.]//g')" = "zlib  ISA-L  level " ]
expect_rc "summary: --level 6 output" 3 $BIN score $TABLES --quiet --out "$T/sz6.csv.gz" --level 6 \
	--summary "$T/sz6.json" "$T/good.csv.gz"
expect "summary names zlib for --level" [ "$(jq -r '.engine.deflate' "$T/sz6.json" | sed 's/[0-9.]//g')" = "zlib " ]

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
