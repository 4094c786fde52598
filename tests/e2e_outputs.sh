#!/bin/sh
# End-to-end tests of output targets and the commit (issue 10): special files
# and symlinks, .gz on every output, modes kept, unsafe names refused, the
# lock and stale temporaries, stdout streaming and early-closed pipes, SHA-256
# in the summary, and checks before the first rename. Every special file is
# made inside the scratch directory (never a real /dev node).
# Run from the repository root: BUILD=build sh tests/e2e_outputs.sh
set -u
BUILD=${BUILD:-build}
BIN=${BIN:-$BUILD/examrisk}
GEN=${TEST_GEN:-$BUILD/examrisk-gen} # the data maker (make test: the normal build's)
T=$(mktemp -d "${TMPDIR:-/tmp}/er-outputs.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
G=tests/golden/basic
TABLES="--participants $G/participants.csv --mra data/mra.csv --rules $G/rules.ini"
RUN="$BIN score $TABLES --quiet --keep Note"
M=$G/manifest.csv
lines() { wc -l <"$1" | tr -d ' '; }
only() { [ "$(ls -A "$1" | tr '\n' ' ')" = "$2" ]; } # only DIR "NAMES ": exactly these entries
# wait_for PATTERN: until a file matching PATTERN exists (at most 30 s; a bound, not a measure)
wait_for() {
	i=0
	while [ $i -lt 600 ]; do
		for f in $1; do [ -e "$f" ] && return 0; done
		sleep 0.05; i=$((i + 1))
	done
	echo "    waited in vain for $1"; return 1
}

# --------------------------------------------------- item 1: what the target is
D=$T/special
mkdir "$D"
if mknod "$D/null" c 1 3 2>/dev/null; then
	expect_rc "char device as --out and --rejects" 3 $RUN --out "$D/null" --rejects "$D/null" \
		--summary "$T/dev.json" $M
	expect "the device is still a character device" [ -c "$D/null" ]
	expect "no temporary beside the device" only "$D" "null "
	expect "summary: device output not atomic" jq -e --arg p "$D/null" \
		'[.outputs[] | select(.path == $p and .bytes == 4023 and .atomic == false)] | length > 0' "$T/dev.json" >"$T/jq.out"
else
	bad "mknod failed (the tests run as root)"
fi
mkfifo "$D/fifo"
# Bounded waits: an engine that never opens the FIFO or the socket must fail
# these checks, not hang the suite.
timeout 120 cat "$D/fifo" >"$T/fifo.out" &
expect_rc "FIFO as --out" 3 $RUN --out "$D/fifo" $M
wait
expect "FIFO reader got every score" same "$T/fifo.out" $G/expected.scores.csv
expect "FIFO still a FIFO" [ -p "$D/fifo" ]
printf 'old\n' >"$D/real.csv"
if command -v python3 >/dev/null; then
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(120)
c, _ = s.accept(); c.settimeout(120)
open(sys.argv[2], "wb").write(b"".join(iter(lambda: c.recv(65536), b"")))' "$D/sock" "$T/sock.out" &
	spid=$!
	wait_for "$D/sock"
	expect_rc "Unix socket as --out" 3 $RUN --out "$D/sock" $M
	wait $spid
	expect "socket reader got every score" same "$T/sock.out" $G/expected.scores.csv
	rm -f "$D/sock"
fi
ln -s real.csv "$D/link.csv"
expect_rc "symlink as --out" 3 $RUN --out "$D/link.csv" $M
expect "symlink kept" [ -L "$D/link.csv" ]
expect "symlink's target replaced" same "$D/real.csv" $G/expected.scores.csv
ln -s made.csv "$D/dangling.csv"
expect_rc "dangling symlink as --out" 3 $RUN --out "$D/dangling.csv" $M
expect "dangling symlink kept" [ -L "$D/dangling.csv" ]
expect "dangling symlink's target created" same "$D/made.csv" $G/expected.scores.csv
expect "no temporary beside the symlinks" only "$D" "dangling.csv fifo link.csv made.csv null real.csv "
expect_rc "directory as --out is a usage error" 2 $RUN --out "$D" $M
expect "directory message" grep -q "is a directory" "$T/last.err"

# --------------------------------------------------- item 9: outputs vs inputs
cp $M "$T/in.csv"
gzip -c $M >"$T/in.csv.gz"
ln -s in.csv.gz "$T/in-link.gz"
expect_rc "--out equal to the input" 2 $RUN --out "$T/in.csv" "$T/in.csv"
expect "input untouched" same "$T/in.csv" $M
expect "message names both" grep -q "in.csv is also an input" "$T/last.err"
expect_rc "--rejects equal to a .gz input via a symlink" 2 $RUN --out "$T/x.csv" --rejects "$T/in-link.gz" "$T/in.csv.gz"
expect "gz input untouched" sh -c "gzip -dc '$T/in.csv.gz' | cmp -s - $M"
expect "nothing written" [ ! -e "$T/x.csv" ]
expect_rc "two outputs with the same path" 2 $RUN --out "$T/o.csv" --rejects "$T/o.csv" $M
expect_rc "two spellings of one new output" 2 $RUN --out "$T/o.csv" --queue "$T/./o.csv" $M
expect "duplicate message" grep -q "are the same file" "$T/last.err"
expect "nothing written" [ ! -e "$T/o.csv" ]

# ------------------------------------------ item 10: checked before any rename
N=$T/night
mkdir "$N"
expect_rc "yesterday" 3 $RUN --out "$N/s.csv" --rejects "$N/r.csv" --consolidations "$N/c.csv" "$T/in.csv"
cp -p "$N/r.csv" "$T/night.r"; cp -p "$N/c.csv" "$T/night.c"
mkdir "$N/sum.json"
head -20 $M >"$T/today.csv"
expect_rc "--summary naming a directory: usage error" 2 $RUN --out "$N/s.csv" --rejects "$N/r.csv" \
	--consolidations "$N/c.csv" --summary "$N/sum.json" "$T/today.csv"
expect "rejects not replaced" same "$T/night.r" "$N/r.csv"
expect "consolidations not replaced" same "$T/night.c" "$N/c.csv"
expect "nothing left beside the outputs" only "$N" "c.csv r.csv s.csv sum.json "

# ------------------------------------------------------ item 4: modes and owner
chmod 600 "$N/s.csv" "$N/r.csv"
expect_rc "rerun over 0600 files" 3 $RUN --out "$N/s.csv" --rejects "$N/r.csv" $M
expect "0600 stays 0600" [ "$(stat -c %a "$N/s.csv") $(stat -c %a "$N/r.csv")" = "600 600" ]
expect_rc "new file under umask 027" 3 sh -c "umask 027; $RUN --out '$N/new.csv' $M"
expect "new file follows the umask" [ "$(stat -c %a "$N/new.csv")" = 640 ]
if [ "$(id -u)" = 0 ]; then
	chown 1234:5678 "$N/s.csv"
	expect_rc "rerun over a file owned by another user" 3 $RUN --out "$N/s.csv" $M
	expect "owner and group kept" [ "$(stat -c %u:%g "$N/s.csv")" = 1234:5678 ]
fi

# ------------------------------------------------ item 2: .gz on every output
if [ -x "$GEN" ]; then
	"$GEN" --rows 20000 --seed 5 --out "$T/gen" 2>/dev/null
	GT="--participants $T/gen/participants.csv --mra $T/gen/mra.csv --rules data/rules.ini"
	# every consolidation (not only LCL ones): a consolidations output over 1 MiB
	CA="--consolidations-filter all"
	$BIN score $GT $CA --quiet --out "$T/p.s.csv" --rejects "$T/p.r.csv" --consolidations "$T/p.c.csv" \
		--queue "$T/p.q.csv" "$T/gen/manifest.csv.gz"
	for th in 1 2 4; do
		for ch in 65536 1048576; do
			d=$T/gz.$th.$ch; mkdir "$d"
			$BIN score $GT $CA --quiet --threads $th --chunk-size $ch --out "$d/s.csv.gz" --rejects "$d/r.csv.gz" \
				--consolidations "$d/c.csv.gz" --queue "$d/q.csv.gz" "$T/gen/manifest.csv.gz"
			for o in s r c q; do
				zcat "$d/$o.csv.gz" >"$d/$o.csv" 2>"$d/zcat.err"
				expect "zcat $o.csv.gz t=$th c=$ch" same "$T/p.$o.csv" "$d/$o.csv"
			done
			[ $th = 1 ] && [ $ch = 65536 ] && continue
			for o in r c q; do
				expect "$o.csv.gz bytes t=$th c=$ch" same "$T/gz.1.65536/$o.csv.gz" "$d/$o.csv.gz"
			done
		done
	done
	$BIN score $GT $CA --quiet --level 9 --out "$T/l9.s.csv" --consolidations "$T/l9.c.csv.gz" "$T/gen/manifest.csv.gz"
	expect "--level 9 consolidations" sh -c "zcat '$T/l9.c.csv.gz' | cmp -s - '$T/p.c.csv'"
	expect "--level 9 differs from the default level" differ "$T/l9.c.csv.gz" "$T/gz.1.65536/c.csv.gz"
	expect "a big output holds several members" [ "$(wc -c <"$T/p.c.csv")" -gt 1048576 ]
	$BIN partners $GT --quiet --out "$T/pa.csv" "$T/gen/manifest.csv.gz"
	$BIN partners $GT --quiet --out "$T/pa.csv.gz" "$T/gen/manifest.csv.gz"
	expect "partners --out .gz" sh -c "zcat '$T/pa.csv.gz' | cmp -s - '$T/pa.csv'"
	# issue 12: from 2 threads the end's closes and unlinks (the roll-ups'
	# spill files, the replaced outputs' backups) run on helper threads, all
	# done when the run returns: outputs replaced, nothing left beside them.
	RP=$T/reap; mkdir "$RP"
	for i in 1 2 3; do
		$BIN score $GT $CA --quiet --threads 2 --rollup-memory 64K --out "$RP/s.csv.gz" \
			--consolidations "$RP/c.csv.gz" --queue "$RP/q.csv.gz" "$T/gen/manifest.csv.gz"
		expect "run $i at 2 threads over the last: nothing beside the outputs" only "$RP" "c.csv.gz q.csv.gz s.csv.gz "
		for o in s c q; do
			expect "run $i at 2 threads over the last: $o" sh -c "zcat '$RP/$o.csv.gz' | cmp -s - '$T/p.$o.csv'"
		done
	done
	# issue 12: the scores' and rejects' .gz BYTES (not only the CSV inside)
	# are the same at any --threads and --chunk-size. The scores used to be
	# one gzip member per chunk (compressed by the workers); now the writer
	# cuts 1 MiB members at fixed plain offsets (and one at each input's end).
	# Every third row has a field too many: a rejects output of several MiB.
	zcat "$T/gen/manifest.csv.gz" | awk 'NR > 1 && NR % 3 == 0 { $0 = $0 ",x" } 1' | gzip -1 >"$T/rj.csv.gz"
	for th in 1 2 3; do
		for ch in 4096 65536 default; do
			cs=""; [ $ch = default ] || cs="--chunk-size $ch"
			d=$T/gzb.$th.$ch; mkdir "$d"
			$BIN score $GT --quiet --threads $th $cs --out "$d/s.csv.gz" --rejects "$d/r.csv.gz" \
				"$T/gen/manifest.csv.gz" "$T/rj.csv.gz"
			[ $th = 1 ] && [ $ch = 4096 ] && continue
			for o in s r; do
				expect "$o.csv.gz bytes t=$th c=$ch" same "$T/gzb.1.4096/$o.csv.gz" "$d/$o.csv.gz"
			done
		done
	done
	for o in s r; do
		expect "$o.csv.gz: over 2 MiB: three members or more" [ "$(zcat "$T/gzb.1.4096/$o.csv.gz" | wc -c)" -gt 2097152 ]
	done
	expect "scores .gz content" sh -c "zcat '$T/gzb.1.4096/s.csv.gz' | head -n 20001 | cmp -s - '$T/p.s.csv'"
	# A failed input's rows (members already in flight on the helper threads
	# included) are taken back: the .gz bytes are those of a run without it.
	head -c $(( $(wc -c <"$T/rj.csv.gz") / 2 )) "$T/rj.csv.gz" >"$T/cut.csv.gz"
	for th in 1 2 3; do
		for ch in 4096 default; do
			cs=""; [ $ch = default ] || cs="--chunk-size $ch"
			expect_rc "keep-going over a truncated input t=$th c=$ch" 3 $BIN score $GT --quiet --keep-going \
				--threads $th $cs --out "$T/kg.s.csv.gz" --rejects "$T/kg.r.csv.gz" \
				"$T/gen/manifest.csv.gz" "$T/cut.csv.gz" "$T/rj.csv.gz"
			for o in s r; do
				expect "$o.csv.gz without the failed input t=$th c=$ch" same "$T/gzb.1.4096/$o.csv.gz" "$T/kg.$o.csv.gz"
			done
		done
	done
else
	bad "generator $GEN missing"
fi

# --------------------------------------------- item 5: SHA-256 in the summary
expect_rc "summary lists the outputs" 3 $RUN --out "$T/h.csv.gz" --rejects "$T/h.r.csv" --summary "$T/h.json" $M
for f in h.csv.gz h.r.csv; do
	sum=$(sha256sum "$T/$f" | cut -d' ' -f1); size=$(wc -c <"$T/$f" | tr -d ' ')
	expect "summary: $f bytes and sha256" jq -e --arg p "$T/$f" --argjson n "$size" --arg s "$sum" \
		'[.outputs[] | select(.path == $p and .bytes == $n and .sha256 == $s and .atomic == true)] | length == 1' "$T/h.json" >"$T/jq.out"
done

# ----------------------------------------- item 5: lock and stale temporaries
# A run reading a FIFO holds its lock for as long as its writer waits for a
# flag file. (The writer opens the FIFO itself: bytes left in a FIFO nobody
# holds open would be lost.)
L=$T/lock
mkdir "$L"
mkfifo "$T/in.fifo"
feed() { # feed FLAG HEAD_LINES: write the first lines, wait for FLAG, write the rest
	head -n "$2" $M
	i=0; while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	tail -n +"$(($2 + 1))" $M
}
feed "$T/go" 1 >"$T/in.fifo" &
wpid=$!
$RUN --out "$L/s.csv" --rejects "$L/r.csv" "$T/in.fifo" 2>"$T/a.err" &
apid=$!
wait_for "$L/.s.csv.examrisk.lock"
wait_for "$L/.r.csv.examrisk-$apid.tmp.*"
expect_rc "second run on the same outputs fails at once" 1 $RUN --out "$L/x.csv" --rejects "$L/s.csv" $M
expect "lock message" grep -q "s.csv: another examrisk run (pid $apid) is writing this output" "$T/last.err"
expect "second run touched nothing" [ ! -e "$L/x.csv" ]
$RUN --wait-lock --keep Mode --out "$L/s.csv" $M 2>"$T/b.err" &
bpid=$!
touch "$T/go"
wait $wpid
wait $apid; arc=$?
wait $bpid; brc=$?
expect "first run finished" [ $arc -eq 3 ]
expect "--wait-lock run waited, then ran" [ $brc -eq 3 ]
expect "the waiting run's output is the last" sh -c "head -1 '$L/s.csv' | grep -q ',Mode\$'"
expect "no lock left" only "$L" "r.csv s.csv "
# A SIGKILLed run leaves temporaries carrying its pid; the next run removes them.
feed "$T/go2" 5 >"$T/in.fifo" &
wpid=$!
$RUN --out "$L/s.csv" --rejects "$L/r.csv" "$T/in.fifo" 2>/dev/null &
kpid=$!
wait_for "$L/.s.csv.examrisk-$kpid.tmp.*"
kill -9 $kpid; wait $kpid 2>/dev/null
# The writer may still be blocked opening the FIFO (killed before the run
# opened it): a read-write open of our own never blocks and lets it finish.
touch "$T/go2"; exec 4<>"$T/in.fifo"; wait $wpid 2>/dev/null; exec 4>&-
expect "the killed run left its temporaries" [ "$(ls -A "$L" | grep -c "examrisk-$kpid.tmp")" -eq 2 ]
expect_rc "next run after a SIGKILL" 3 $RUN --out "$L/s.csv" --rejects "$L/r.csv" $M
expect "stale temporaries removed" only "$L" "r.csv s.csv "
# A big generated input killed mid-run, the same way.
if [ -x "$GEN" ]; then
	"$GEN" --rows 100000 --seed 9 --out "$T/big" 2>/dev/null
	BT="--participants $T/big/participants.csv --mra $T/big/mra.csv --rules data/rules.ini"
	$BIN score $BT --quiet --threads 1 --out "$L/big.csv.gz" "$T/big/manifest.csv.gz" &
	kpid=$!
	wait_for "$L/.big.csv.gz.examrisk-$kpid.tmp.*"
	kill -9 $kpid; wait $kpid 2>/dev/null
	$BIN score $GT --quiet --out "$L/big.csv.gz" "$T/gen/manifest.csv.gz"
	expect "after a SIGKILL mid-run: clean" only "$L" "big.csv.gz r.csv s.csv "
fi

# ------------------------------------------------ item 6: stdout, pipes, $TMPDIR
if [ -x "$GEN" ]; then
	{ $BIN score $GT --quiet --rejects "$T/pipe.r.csv" "$T/gen/manifest.csv.gz" 2>"$T/pipe.err"; echo $? >"$T/pipe.rc"; } | head -1 >"$T/pipe.first"
	expect "| head -1 gets the header" [ "$(cat "$T/pipe.first")" = "$(head -1 "$T/p.s.csv")" ]
	expect "early-closed stdout: exit 1" [ "$(cat "$T/pipe.rc")" = 1 ]
	expect "early-closed stdout: message" grep -q "^examrisk: error: <stdout>: closed early" "$T/pipe.err"
	expect "early-closed stdout: other outputs not committed" [ ! -e "$T/pipe.r.csv" ]
fi
gzip -c $M >"$T/good.gz"
sz=$(wc -c <"$T/good.gz")
head -c $((sz - 5)) "$T/good.gz" >"$T/trunc.gz"
piped() { # piped NAME RC OUT ARGS...: RUN ARGS | cat >OUT must exit RC
	n=$1; want=$2; out=$3; shift 3
	{ $RUN "$@" 2>"$T/last.err"; echo $? >"$T/piped.rc"; } | cat >"$out"
	expect "$n: exit $want" [ "$(cat "$T/piped.rc")" = "$want" ]
}
piped "stdout to a pipe streams rows before a later failure" 1 "$T/streamed.csv" "$T/good.gz" "$T/trunc.gz"
head -n "$(lines $G/expected.scores.csv)" "$T/streamed.csv" >"$T/streamed.head"
expect "streamed: the first file's rows arrived" same "$T/streamed.head" $G/expected.scores.csv
piped "--spool-stdout: failed run" 1 "$T/spooled.csv" --spool-stdout "$T/good.gz" "$T/trunc.gz"
expect "--spool-stdout: nothing printed on failure" [ ! -s "$T/spooled.csv" ]
piped "--spool-stdout: run" 3 "$T/spooled.csv" --spool-stdout $M
expect "--spool-stdout: every row at the end" same "$T/spooled.csv" $G/expected.scores.csv
expect_rc "stdout to a file is spooled" 1 sh -c "$RUN '$T/good.gz' '$T/trunc.gz' >'$T/file.csv'"
expect "file stdout: nothing on failure" [ ! -s "$T/file.csv" ]
expect_rc "spool in a missing \$TMPDIR" 1 sh -c "TMPDIR='$T/no-such-dir' $RUN $M >'$T/file.csv'"
expect "missing \$TMPDIR blamed" grep -q "spool file for <stdout> in \$TMPDIR ($T/no-such-dir)" "$T/last.err"
SO=$BUILD/tests/faultinject.so
if [ -z "${SAN:-}" ] && [ -f "$SO" ]; then
	# The first write of a stdout-only run is the spool's header: make it ENOSPC.
	expect_rc "full \$TMPDIR while spooling" 1 sh -c "ER_FI_IO=1 ER_FI_ONLY=write ER_FI_ERRNO=28 LD_PRELOAD=$SO $RUN $M >'$T/file.csv'"
	expect "full \$TMPDIR blamed, not <stdout>" grep -q "spool file for <stdout> in \$TMPDIR (.*): write error: No space left on device" "$T/last.err"
fi

echo "e2e_outputs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
