#!/bin/sh
# Command-line conventions of the examrisk binary (gzip, grep and the DuckDB
# CLI are the anchors): short options, "examrisk:" messages, one fatal error,
# the delimiter hint, verify's grep-like exit status, progress lines, the
# affinity-based thread count, and where the default data files are looked for.
# Run from the repository root: BUILD=build sh tests/cli.sh
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/examrisk
GEN=${TEST_GEN:-$BUILD/examrisk-gen} # the data maker (make test: the normal build's)
T=$(mktemp -d "${TMPDIR:-/tmp}/er-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
G=tests/golden/basic
TABLES="--participants $G/participants.csv --mra data/mra.csv --rules $G/rules.ini"
VT="--participants $G/participants.csv --mra data/mra.csv"
ABS=$(cd "$(dirname "$BIN")" && pwd)/examrisk

# ------------------------------------------------------------ short options
expect_rc "long options" 3 $BIN score $TABLES --quiet --threads 2 --out "$T/long.csv" $G/manifest.csv
expect_rc "short options" 3 $BIN score $TABLES -q -t 2 -o "$T/short.csv" $G/manifest.csv
expect "-o -q -t give the same scores" same "$T/long.csv" "$T/short.csv"
expect "-q prints nothing" [ ! -s "$T/last.err" ]
expect_rc "-h" 0 $BIN score -h
expect "-h prints the score help" grep -q '^usage: examrisk score' "$T/last.out"
expect "help names the short forms" grep -q -- '-o, --out FILE' "$T/last.out"
expect_rc "-t 0 is a usage error" 2 $BIN score -t 0 x
expect_rc "-V" 0 $BIN -V
expect "-V first line" grep -qx 'examrisk [0-9]*\.[0-9]*\.[0-9]*' "$T/last.out"
for lib in ISA-L libdeflate zlib; do
	expect "--version names $lib and its version" grep -q "$lib [0-9]" "$T/last.out"
done
expect_rc "verify -q" 1 $BIN verify $VT -q "no such party at all"
expect "verify -q prints no message" [ ! -s "$T/last.err" ]

# ------------------------------------------------------- messages, run by full path
expect_rc "unknown option by full path" 2 "$ABS" score --bogus x
expect "getopt message starts with examrisk:" grep -q "^examrisk: unrecognized option '--bogus'" "$T/last.err"
expect "no binary path in messages" sh -c "! grep -q '$ABS' '$T/last.err'"
gzip -c $G/manifest.csv >"$T/good.csv.gz"
head -c 300 "$T/good.csv.gz" >"$T/trunc.csv.gz"
expect_rc "fatal file error" 1 "$ABS" score $TABLES -o "$T/x.csv" "$T/good.csv.gz" "$T/trunc.csv.gz"
expect "a fatal error is printed once" [ "$(grep -c 'trunc.csv.gz: gzip truncated' "$T/last.err")" -eq 1 ]
expect "every stderr line starts with examrisk:" sh -c "! grep -v '^examrisk: ' '$T/last.err'"
expect_rc "a skipped file under --keep-going" 3 $BIN score $TABLES --keep-going -o "$T/x.csv" "$T/trunc.csv.gz" "$T/good.csv.gz"
expect "the skipped file is named once" [ "$(grep -c 'trunc.csv.gz: gzip truncated' "$T/last.err")" -eq 1 ]

# --------------------------------------------------------------- delimiter hint
for d in semicolon tab pipe; do
	case $d in semicolon) c=';' h="--delimiter ';'" ;; tab) c='	' h="--delimiter tab" ;; pipe) c='|' h="--delimiter '|'" ;; esac
	tr ',' "$c" <$G/manifest.csv >"$T/$d.csv"
	expect_rc "one-column header ($d)" 1 $BIN score $TABLES -o "$T/x.csv" "$T/$d.csv"
	expect "hint $h" grep -q "$d.csv:1: missing required column 'shipment_id'; the header is one column: did you mean $h?" "$T/last.err"
done
expect_rc "a comma file read with --delimiter ';'" 1 $BIN score $TABLES --delimiter ';' -o "$T/x.csv" $G/manifest.csv
expect "hint the default comma" grep -q "did you mean --delimiter ',' (the default)?" "$T/last.err"
expect_rc "the hinted delimiter works" 3 $BIN score $TABLES -q --delimiter ';' -o "$T/semi.out" "$T/semicolon.csv"
sed 's/Arrival_Date/Arrived/' $G/manifest.csv >"$T/nodate.csv"
expect_rc "a missing column is not a delimiter problem" 1 $BIN score $TABLES -o "$T/x.csv" "$T/nodate.csv"
expect "no hint for a many-column header" sh -c "! grep -q 'did you mean' '$T/last.err'"

# --------------------------------------------------------- verify exits as grep
expect_rc "verify found" 0 $BIN verify $VT --on 2021-06-01 IMP001
expect_rc "verify not found" 1 $BIN verify $VT "no such party at all"
expect "verify not found message" grep -qx 'examrisk: no party matches' "$T/last.err"
expect_rc "verify missing table is an error" 2 $BIN verify --participants "$T/no-such.csv" --mra data/mra.csv IMP001
expect "verify missing table message" grep -q "^examrisk: error: $T/no-such.csv: No such file or directory" "$T/last.err"
expect_rc "verify usage error" 2 $BIN verify $VT --on 2021-13-45 IMP001
expect_rc "an option of another command" 2 $BIN verify --rules $G/rules.ini IMP001
expect "names the option, not its argument" grep -qx "examrisk verify: option '--rules' does not apply to this command" "$T/last.err"
expect_rc "a short option of another command" 2 $BIN verify -o x IMP001
expect "names the short option" grep -qx "examrisk verify: option '-o' does not apply to this command" "$T/last.err"
expect_rc "an option of another command, value apart" 2 $BIN verify --out "$T/o.csv" IMP001
expect "names --out, not its value" grep -qx "examrisk verify: option '--out' does not apply to this command" "$T/last.err"
expect_rc "a bad --target-red, value apart" 2 $BIN calibrate --target-red boat=0.1 --out "$T/y.ini" x
expect "the message names --target-red, not its value" grep -qx "examrisk calibrate: --target-red: 'boat=0.1': expected MODE=RATE with MODE one of vessel, truck, rail, air, unknown" "$T/last.err"
expect_rc "a bad --target-yellow=VALUE" 2 $BIN calibrate --target-yellow=vessel=7 --out "$T/y.ini" x
expect "the message names --target-yellow" grep -q "^examrisk calibrate: --target-yellow: " "$T/last.err"
expect_rc "verify no query" 2 $BIN verify $VT
if mknod "$T/full" c 1 7 2>/dev/null; then
	# a write error (disk full: our own /dev/full node in $T) is an error, not "not found"
	expect_rc "verify write error" 2 sh -c "$BIN verify $VT --on 2021-06-01 IMP001 >$T/full"
	expect "verify write error message" grep -q "^examrisk: error: writing output: No space left on device" "$T/last.err"
fi

# ---------------------------------------------------------------------- progress
expect_rc "--quiet with --progress" 2 $BIN score $TABLES -q --progress -o "$T/x.csv" $G/manifest.csv
expect "--quiet --progress message" grep -q "^examrisk score: --quiet and --progress contradict each other" "$T/last.err"
expect_rc "progress over two files" 3 $BIN score $TABLES --progress -o "$T/x.csv" "$T/good.csv.gz" $G/manifest.csv
total=$(( $(wc -c <"$T/good.csv.gz") + $(wc -c <$G/manifest.csv) ))
mb=$(awk -v b=$total 'BEGIN {printf "%.1f", b / 1e6}')
expect "progress total covers every file" grep -q "^examrisk: file 2/2  $mb of $mb MB (100%)  64 rows  .* ETA done$" "$T/last.err"
expect "progress to a file has no carriage return" sh -c "! tr '\r' '~' <'$T/last.err' | grep -q '~'"
expect_rc "progress of stdin" 3 sh -c "$BIN score $TABLES --progress -o $T/x.csv - <$G/manifest.csv"
expect "unknown size: bytes read, no percentage" grep -q "^examrisk: file 1/1  0.0 MB read  32 rows  .* ETA done$" "$T/last.err"
if [ -x "$GEN" ]; then
	# a slow pipe: a line every few seconds while the run waits for input
	"$GEN" --rows 3000 --seed 5 --plain --out "$T/gen" 2>/dev/null
	m="$T/gen/manifest.csv"
	GT="--participants $T/gen/participants.csv --mra $T/gen/mra.csv --rules data/rules.ini"
	expect_rc "progress lines from a slow pipe" 0 sh -c "{ head -c 200000 $m; sleep 6; tail -c +200001 $m; } |
		$BIN score $GT --progress --chunk-size 4096 -o $T/slow.csv - 2>$T/slow.err; [ \$? -le 3 ]"
	expect "at least one line before the end" [ "$(grep -c '^examrisk: file 1/1  .* ETA ?$' "$T/slow.err")" -ge 1 ]
	expect "and the final line" grep -q '^examrisk: file 1/1  .* 3000 rows .* ETA done$' "$T/slow.err"
fi

# ------------------------------------------- counted nouns agree with their count
head -2 $G/manifest.csv >"$T/one.csv"
expect_rc "one row, one thread" 0 $BIN score $TABLES -t 1 -o "$T/one.out" "$T/one.csv"
expect "singular summary" grep -q '^examrisk: 1 row read, 1 scored, 0 rejected; 1 file ok, 0 failed; .* rows/s, 1 thread$' "$T/last.err"
expect_rc "two threads, two files" 3 $BIN score $TABLES -t 2 -o "$T/two.out" "$T/one.csv" $G/manifest.csv
expect "plural summary" grep -q '^examrisk: 33 rows read, 28 scored, 5 rejected; 2 files ok, 0 failed; .* rows/s, 2 threads$' "$T/last.err"
# one and two rejects more than stderr shows (10 of them, read from the output)
for k in 11 12; do
	{ head -1 $G/manifest.csv; i=0; while [ $i -lt $k ]; do i=$((i + 1)); echo "X$i,2021-02-30,vessel,FCL,MB,C,IMP002,,,,,CN,,,,950300,TOYS,,,100,bad"; done; } >"$T/rej$k.csv"
	expect_rc "$k rejects" 3 $BIN score $TABLES -o "$T/x.csv" "$T/rej$k.csv"
	shown=$(grep -c 'rejected: invalid_date' "$T/last.err")
	expect "$k rejects: ten shown" test "$shown" -eq 10
	more=$((k - shown))
	if [ $more -eq 1 ]; then noun=reject; else noun=rejects; fi
	expect "$k rejects: '$more more $noun not shown'" grep -qx "examrisk: $more more $noun not shown (use --rejects FILE)" "$T/last.err"
done

# ------------------------------------------------------------- FIFO inputs
# wait_for FILE PATTERN: until FILE has a line matching PATTERN (at most ~30 s; 1 if never)
wait_for() {
	i=0
	while [ $i -lt 120 ]; do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.25; i=$((i + 1)); done
	return 1
}
if [ -x "$GEN" ]; then
	# a FIFO fed by a producer that stops after 200000 bytes and goes on only once
	# examrisk has said, on a line of its own, that it waits for input
	mkfifo "$T/slow.fifo"
	{ head -c 200000 $m; wait_for "$T/fifo.err" '(waiting for input)$'; tail -c +200001 $m; } >"$T/slow.fifo" &
	prod=$!
	$BIN score $GT --progress --chunk-size 4096 -o "$T/fifo.csv" "$T/slow.fifo" 2>"$T/fifo.err"
	rc=$?
	wait $prod
	expect "progress from a stalled FIFO: exit 0..3" [ $rc -le 3 ]
	expect "a line while the FIFO stalls says it waits" grep -q '^examrisk: file 1/1  0\.2 MB read  [0-9]* rows  [0-9]* rows/s  ETA ?  (waiting for input)$' "$T/fifo.err"
	expect "then the final line" grep -q '^examrisk: file 1/1  .* 3000 rows .* ETA done$' "$T/fifo.err"
	expect "progress lines, no carriage return" sh -c "! tr '\r' '~' <'$T/fifo.err' | grep -q '~'"
	expect "the FIFO's scores equal the file's" sh -c "$BIN score $GT -q -o '$T/file.csv' $m; cmp -s '$T/file.csv' '$T/fifo.csv'"
fi
# a FIFO with no writer: examrisk waits (as cat and gzip do) and says so after a second
mkfifo "$T/nowriter.fifo"
$BIN score $TABLES -o "$T/nw.csv" "$T/nowriter.fifo" 2>"$T/nw.err" &
pid=$!
expect "says it waits for a writer" wait_for "$T/nw.err" "^examrisk: waiting for a writer on FIFO $T/nowriter.fifo$"
cat $G/manifest.csv >"$T/nowriter.fifo"
wait $pid
expect "then reads the writer's rows (exit 3)" [ $? -eq 3 ]
expect "the same scores as from the file" same "$T/long.csv" "$T/nw.csv"
# and SIGTERM while it waits stops the run at once: exit 143, nothing left behind
$BIN score $TABLES --progress -o "$T/term.csv" --history "$T/term-h" "$T/nowriter.fifo" 2>"$T/term.err" &
pid=$!
(sleep 60; kill -KILL $pid) >/dev/null 2>&1 &  # a watchdog, should the run ignore SIGTERM
dog=$!
wait_for "$T/term.err" "waiting for a writer"
kill -TERM $pid
wait $pid
rc=$?
kill $dog 2>/dev/null
expect "SIGTERM while waiting for a writer: exit 143 (got $rc)" [ $rc -eq 143 ]
expect "SIGTERM: interrupted, nothing committed" grep -qx 'examrisk: error: interrupted; nothing committed' "$T/term.err"
expect "SIGTERM: the last progress line says stopped, not done" grep -q '^examrisk: file 1/1  0\.0 MB read  0 rows  0 rows/s  ETA stopped$' "$T/term.err"
expect "SIGTERM: no output, no history folder" sh -c "[ ! -e '$T/term.csv' ] && [ ! -e '$T/term-h' ]"

# ------------------------------------------------------- threads follow affinity
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
	expect_rc "one CPU allowed" 3 taskset -c 0 $BIN score $TABLES -o "$T/x.csv" --summary "$T/aff.json" $G/manifest.csv
	expect "default threads = CPUs allowed (1)" grep -q '"threads": 1,' "$T/aff.json"
	expect "stderr says 1 thread" grep -q ', 1 thread$' "$T/last.err"
	if [ "$(nproc --all)" -ge 2 ] && taskset -c 0,1 true 2>/dev/null; then
		taskset -c 0,1 $BIN score $TABLES -q -o "$T/x.csv" --summary "$T/aff2.json" $G/manifest.csv
		expect "two CPUs allowed: 2 threads" grep -q '"threads": 2,' "$T/aff2.json"
	fi
fi

# ------------------------------------------------------------ default data files
mkdir -p "$T/empty"
expect_rc "EXAMRISK_DATA without the tables" 1 env EXAMRISK_DATA="$T/empty" $BIN score -o "$T/x.csv" $G/manifest.csv
expect "names the place it looked" grep -qx "examrisk: error: participants.csv not found; looked in: $T/empty/participants.csv (give --participants FILE, or set EXAMRISK_DATA to its directory)" "$T/last.err"
expect_rc "verify: a missing table exits 2" 2 env EXAMRISK_DATA="$T/empty" $BIN verify IMP001
cp $G/participants.csv data/mra.csv $G/rules.ini "$T/empty/"
expect_rc "EXAMRISK_DATA with the tables" 3 env EXAMRISK_DATA="$T/empty" $BIN score -q -o "$T/env.csv" $G/manifest.csv
expect "EXAMRISK_DATA tables are used" same "$T/long.csv" "$T/env.csv"
expect_rc "the build tree's data/ by default" 0 env -u EXAMRISK_DATA $BIN verify -q --on 2021-06-01 70-134422200
# a copied binary with no data beside it lists every place it looked
mkdir -p "$T/copy/bin" "$T/run"
cp $BIN "$T/copy/bin/examrisk"
builtin=$("$T/copy/bin/examrisk" --help | sed -n 's/^(\(.*\)) or the source tree.*/\1/p')
if [ -n "$builtin" ] && [ ! -e "$builtin/participants.csv" ]; then
	expect_rc "copied binary without data" 1 sh -c "cd $T/run && env -u EXAMRISK_DATA $T/copy/bin/examrisk score x.csv"
	expect "lists every place" grep -qx "examrisk: error: participants.csv not found; looked in: $T/copy/share/examrisk/participants.csv, $T/copy/data/participants.csv, $T/data/participants.csv, $builtin/participants.csv (give --participants FILE, or set EXAMRISK_DATA to its directory)" "$T/last.err"
else
	bad "could not read the compiled-in data directory from --help (got '$builtin'), or it is installed"
fi

# The rejects listed on stderr are the first ten in input order whatever the
# chunk size: a chunk used to keep only 8, so one 1 MiB chunk with 12 rejects
# showed 8 and a run cut into small chunks showed 10.
zcat data/sample/manifest.csv.gz | head -2 >"$T/rj.csv"
row=$(sed -n 2p "$T/rj.csv")
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do printf '%s,EXTRA\n' "$row" >>"$T/rj.csv"; done
printf '%s\n' "$row" | sed 's/,[^,]*$//' >>"$T/rj.csv"
for cs in 1048576 4096; do
	$BIN score $TABLES --threads 1 --chunk-size $cs --out "$T/rj-$cs.out" "$T/rj.csv" 2>"$T/rj-$cs.err"
	grep -E 'rejected:|more reject' "$T/rj-$cs.err" >"$T/rj-$cs.lines"
done
expect "stderr rejects: the same first ten at any chunk size" same "$T/rj-1048576.lines" "$T/rj-4096.lines"
expect "stderr rejects: ten listed, then 3 more" test "$(grep -c 'rejected:' "$T/rj-1048576.lines")" -eq 10 -a \
	"$(grep -c '^examrisk: 3 more rejects not shown' "$T/rj-1048576.lines")" -eq 1

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
