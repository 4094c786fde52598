#!/bin/sh
# bench.sh - the examrisk benchmark (`make bench`); see benchmarks/README.md.
#
# Generates (or reuses) a dataset, then for REPS repetitions measures, in the
# same run and interleaved so that machine noise hits every case alike:
#   gzip_dc       gzip -t FILE: gzip -dc's whole decompression and CRC check,
#                 without writing the bytes anywhere (the classic floor
#                 `gzip -dc FILE >/dev/null`, without a system device; a pipe
#                 to a reader would add ~12 % to the floor and flatter us)
#   inflate_zlib  er_bench inflate --zlib FILE       (the engine's reader, zlib)
#   inflate_isal  er_bench inflate --isal FILE       (the engine's reader, ISA-L)
#   score         the full job of issue 12: examrisk score, gz in, every rule,
#                 scores AND consolidations written .gz (--consolidations-filter
#                 all when the engine has it), at --threads 1, 2, ... MAX_THREADS
#   score_nocons  the same at MAX_THREADS without --consolidations
#                 (separates the roll-up's memory from the pipeline's)
#   score_chunk   the same at MAX_THREADS with --chunk-size 100000 (the output
#                 must not depend on the chunk size)
#   score_bgzf, score_pigzi, score_cat4
#                 the full job on the same CSV written by bgzip -@2, by pigz -i,
#                 and as 4 concatenated gzip files (cat a.gz b.gz c.gz d.gz), at
#                 1 and MAX_THREADS threads (multi-member input)
#   score_pair    two full jobs at --threads 1 started together on the pigz -i
#                 input, one per core (MAX_THREADS >= 2): they share nothing
#                 but the machine, so what each costs beyond score_pigzi at 1
#                 thread is what the second core costs the first (shared
#                 caches, memory bandwidth, the host's neighbours), the ceiling
#                 of any thread-count ratio on this machine
#   score_ref     the first milestone (REF_COMMIT, built from git) at --threads 1,
#                 the reference of the one-thread cost goal
#   baseline      examrisk score on a 1-row manifest with the same tables
#                 (peak RSS of the loaded tables; "RSS beyond tables" = peak - baseline)
# and, once, when ROWS_BIG is set (e.g. 20000000): baseline_big and score_big
# at MAX_THREADS on a dataset of ROWS_BIG rows (peak RSS at that size).
# Outputs (all under $BUILD/bench/): results.csv (one line per measurement),
# results.md (machine, medians, the goals of issue 12 with measured / met),
# rows_per_s.png; the table is printed.
#
# Environment: BUILD (default build), ROWS (2000000), SEED (1), REPS (5),
# MAX_THREADS (the CPUs this process may use), RULES (data/rules.ini),
# ROWS_BIG (unset: no big case).
# `bench.sh --data-only` only makes sure the dataset exists and prints its
# directory (benchmarks/compare.sh uses it).
# `bench.sh --plot` (`make plot`) runs nothing: it re-draws
# benchmarks/results/rows_per_s.png from benchmarks/results/bench.csv and
# compare.csv (benchmarks/plot.sh).
set -eu

DATA_ONLY=0
case ${1:-} in
--data-only) DATA_ONLY=1 ;;
--plot)
	cd "$(dirname "$0")/.."
	R=benchmarks/results
	# the recorded run's machine and date, from its write-up
	sub=$(sed -n 's/^- machine: \([^,]*\), \([0-9]*\) cores.*/\1, \2 cores/p' $R/*.md 2>/dev/null | head -n 1)
	when=$(sed -n 's/^- date: \([^;]*\);.*/\1/p' $R/*.md 2>/dev/null | head -n 1)
	exec sh benchmarks/plot.sh $R/bench.csv $R/compare.csv $R/rows_per_s.png "${sub:+$sub, }${when:-recorded run}" ;;
'') ;;
*) echo "usage: bench.sh [--data-only | --plot]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROWS=${ROWS:-2000000}
SEED=${SEED:-1}
REPS=${REPS:-5}
# nproc counts the CPUs this process may run on (its affinity mask: taskset,
# cgroup cpusets), unlike /proc/cpuinfo or getconf _NPROCESSORS_ONLN.
MAX_THREADS=${MAX_THREADS:-$(nproc)}
RULES=${RULES:-data/rules.ini}
ROWS_BIG=${ROWS_BIG:-}
EXAMRISK=$BUILD/examrisk
GEN=$BUILD/examrisk-gen
BENCH=$BUILD/er_bench
OUT=$BUILD/bench
TMP=$OUT/tmp
CSV=$OUT/results.csv
MD=$OUT/results.md
PNG=$OUT/rows_per_s.png

# The first milestone's one-thread cost, the reference of issue 12's goal
# "one-thread cost down >= 25 % in CPU seconds per GB of CSV". Machines of the
# same kind differ by 25 % or more from day to day, so the reference is built
# from REF_COMMIT (git archive into $BUILD/bench-ref, kept between runs) and
# measured in this run, interleaved with the others (case score_ref, its own
# rules file; that commit has no --consolidations-filter and wrote the
# consolidations as plain text, a lighter job). Only when it cannot be built
# (no git history) is the figure recorded on 2026-12-01 used, and the table
# says so: 18.2 CPU s/GB (user + sys over 10^9 bytes of CSV, --threads 1).
REF_CPU_S_PER_GB=18.2
REF_COMMIT=877536c
CHUNK_VAR=100000 # the --chunk-size of score_chunk (the default is 1 MiB)

die() { echo "bench: $*" >&2; exit 1; }

case $ROWS in ''|*[!0-9]*) die "ROWS must be a positive integer (got '$ROWS')";; esac
case $REPS in ''|*[!0-9]*) die "REPS must be a positive integer (got '$REPS')";; esac
case $MAX_THREADS in ''|*[!0-9]*) die "MAX_THREADS must be a positive integer";; esac
case $ROWS_BIG in *[!0-9]*) die "ROWS_BIG must be a positive integer (got '$ROWS_BIG')";; esac
[ "$ROWS" -ge 1 ] && [ "$REPS" -ge 1 ] && [ "$MAX_THREADS" -ge 1 ] || die "ROWS, REPS and MAX_THREADS must be >= 1"

# ---- tools: /usr/bin/time (peak RSS, CPU), gnuplot (the plot), bgzip and pigz ------
need=""
[ -x /usr/bin/time ] || need="$need time"
if [ "$DATA_ONLY" = 0 ]; then
	command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
	command -v bgzip >/dev/null 2>&1 || need="$need tabix"
	command -v pigz >/dev/null 2>&1 || need="$need pigz"
fi
if [ -n "$need" ]; then
	echo "bench: installing:$need" >&2
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need; } >/dev/null ||
		die "could not install$need"
fi

# ---- binaries ----------------------------------------------------------------------
[ -x "$EXAMRISK" ] && [ -x "$GEN" ] || die "$EXAMRISK or $GEN missing: run make first"
if [ "$DATA_ONLY" = 0 ] && [ ! -x "$BENCH" ]; then
	make --no-print-directory BUILD="$BUILD" "$BENCH" >/dev/null || die "could not build $BENCH"
fi

# ---- datasets, cached by rows + seed (regenerated when the generator changes) -------
stamp=$(cat benchmarks/er_gen.c data/mra.csv | cksum | cut -d' ' -f1)
# dataset ROWS: make benchmarks/data/rows$ROWS-seed$SEED unless it is current
dataset() {
	d=benchmarks/data/rows$1-seed$SEED
	if [ ! -f "$d/manifest.csv.gz" ] || [ "$(cat "$d/stamp" 2>/dev/null)" != "$stamp" ]; then
		echo "bench: generating $1 rows (seed $SEED) into $d" >&2
		rm -rf "$d" "$d.tmp"
		mkdir -p benchmarks/data
		"$GEN" --rows "$1" --seed "$SEED" --level 6 --members 1 --out "$d.tmp" \
			2>"$d.gen.log" || { cat "$d.gen.log" >&2; die "generator failed"; }
		echo "$stamp" >"$d.tmp/stamp"
		# decompressed size, for MB/s (the generator reports it; else count)
		b=$(sed -n 's/.*bytes_csv=\([0-9]*\).*/\1/p' "$d.gen.log" | tail -n 1)
		[ -n "$b" ] || b=$(gzip -dc "$d.tmp/manifest.csv.gz" | wc -c)
		echo "$b" >"$d.tmp/bytes_csv"
		rm -f "$d.gen.log"
		mv "$d.tmp" "$d"
		# write the new files back now, not during the first measurement: a 2 GB
		# write-back under the 20M run cost it ~20 % more CPU in page-cache copies
		sync "$d/manifest.csv.gz" || sync
	fi
}
dataset "$ROWS"
DATA=benchmarks/data/rows$ROWS-seed$SEED
MANIFEST=$DATA/manifest.csv.gz
BYTES=$(cat "$DATA/bytes_csv")
if [ "$DATA_ONLY" = 1 ]; then
	echo "$DATA"
	exit 0
fi

# The same CSV as multi-member gzip, beside the dataset (made once; they go
# with it when it is regenerated): bgzip (BGZF), pigz -i (one member of
# independent blocks) and 4 gzip files of consecutive lines, concatenated.
multi_member() {
	[ -f "$DATA/manifest.cat4.csv.gz" ] && return 0
	echo "bench: writing the multi-member copies (bgzip, pigz -i, 4 x gzip) into $DATA" >&2
	gzip -dc "$MANIFEST" >"$DATA/plain.tmp"
	bgzip -@ 2 -c "$DATA/plain.tmp" >"$DATA/manifest.bgzf.csv.gz"
	pigz -i -p 2 -6 -c "$DATA/plain.tmp" >"$DATA/manifest.pigzi.csv.gz"
	n=$(wc -l <"$DATA/plain.tmp")
	awk -v q=$(((n + 3) / 4)) -v p="$DATA/part.tmp" '{ print > (p int((NR - 1) / q)) }' "$DATA/plain.tmp"
	: >"$DATA/cat4.tmp"
	for i in 0 1 2 3; do
		[ -f "$DATA/part.tmp$i" ] && gzip -6 -c "$DATA/part.tmp$i" >>"$DATA/cat4.tmp"
	done
	rm -f "$DATA/plain.tmp" "$DATA/part.tmp"*
	mv "$DATA/cat4.tmp" "$DATA/manifest.cat4.csv.gz"
	sync "$DATA/manifest.bgzf.csv.gz" "$DATA/manifest.pigzi.csv.gz" "$DATA/manifest.cat4.csv.gz" || sync
}
multi_member

rm -rf "$OUT"
mkdir -p "$TMP"
# What a measured command prints goes to a FIFO drained by wc -c, not to a
# system device.
SINK=$TMP/sink
mkfifo "$SINK"

# the first milestone, built once from git (see REF_COMMIT)
REFDIR=$BUILD/bench-ref
REF_BIN=""
if [ -x "$REFDIR/build/examrisk" ] && [ "$(cat "$REFDIR/commit" 2>/dev/null)" = "$REF_COMMIT" ]; then
	REF_BIN=$REFDIR/build/examrisk
elif git rev-parse -q --verify "$REF_COMMIT^{commit}" >"$TMP/ref-rev" 2>&1; then
	echo "bench: building the reference $REF_COMMIT into $REFDIR" >&2
	rm -rf "$REFDIR"
	mkdir -p "$REFDIR"
	if git archive "$REF_COMMIT" | tar -x -C "$REFDIR" &&
		make --no-print-directory -C "$REFDIR" -j"$(nproc)" build/examrisk >"$REFDIR.log" 2>&1; then
		echo "$REF_COMMIT" >"$REFDIR/commit"
		REF_BIN=$REFDIR/build/examrisk
	else
		echo "bench: could not build $REF_COMMIT (see $REFDIR.log): the recorded figure is used" >&2
	fi
fi
# cpu_s (user + sys) was added after the first nine columns: readers of the
# older format (plot.sh) keep working.
echo "case,threads,rep,rows,bytes_csv,wall_s,rows_per_s,mb_per_s,peak_rss_kb,cpu_s" >"$CSV"

# ---- machine ------------------------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
CORES=$(nproc)
MEM=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# the engine measured: commit, and whether its sources differ from it (read-only git)
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$REV" != unknown ] && [ -n "$(git --no-optional-locks status --porcelain -- engine include Makefile 2>/dev/null)" ]; then
	REV="$REV + uncommitted changes in engine/include/Makefile"
fi
GZSIZE=$(wc -c <"$MANIFEST" | tr -d ' ')

# the full job's consolidations option (the peers of bench-compare write every one)
FILTER=""
if "$EXAMRISK" score --help 2>&1 | grep -q -- '--consolidations-filter'; then
	FILTER="--consolidations-filter all"
fi

now() { date +%s.%N; }

# measure CASE THREADS REP ROWS STDOUT_FILE CMD...: run CMD once, append one CSV line.
measure() {
	m_case=$1 m_thr=$2 m_rep=$3 m_rows=$4 m_out=$5
	shift 5
	sinkpid=""
	if [ "$m_out" = "$SINK" ]; then
		wc -c <"$SINK" >"$TMP/sink.count" &
		sinkpid=$!
	fi
	t0=$(now)
	set +e
	/usr/bin/time -f '%M %U %S' -o "$TMP/rss" "$@" >"$m_out" 2>"$TMP/stderr"
	rc=$?
	set -e
	[ -z "$sinkpid" ] || wait "$sinkpid"
	t1=$(now)
	# examrisk exits 3 when rows were rejected: still a finished run
	case $m_case in score*) if [ "$rc" -eq 3 ]; then rc=0; fi ;; esac
	if [ "$rc" -ne 0 ]; then
		cat "$TMP/stderr" >&2
		die "$m_case (threads $m_thr, rep $m_rep) failed with exit $rc: $*"
	fi
	set -- $(tail -n 1 "$TMP/rss")
	awk -f benchmarks/lib/result_line.awk -v c="$m_case" -v t="$m_thr" -v r="$m_rep" -v n="$m_rows" \
		-v b="${M_BYTES:-$BYTES}" -v t0="$t0" -v t1="$t1" -v rss="$1" \
		-v cpu="$(echo "$2 $3" | awk '{print $1 + $2}')" >>"$CSV"
	tail -n 1 "$CSV" | awk -F, '{printf "  %-13s threads=%-2s rep=%-2s wall=%7.3fs rows/s=%9s MB/s=%6s rss=%s KiB cpu=%ss\n", $1, $2, $3, $6, $7, $8, $9, $10}'
}

# score CASE THREADS REP INPUT [OPTION...]: the full job into $TMP/scores.csv.gz, $TMP/consol.csv.gz
score() {
	s_case=$1 s_thr=$2 s_rep=$3 s_in=$4
	shift 4
	measure "$s_case" "$s_thr" "$s_rep" "$ROWS" "$SINK" \
		"$EXAMRISK" score --quiet --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" \
		--threads "$s_thr" --out "$TMP/scores.csv.gz" --consolidations "$TMP/consol.csv.gz" $FILTER "$@" "$s_in"
	check_identical "$s_case" "$s_thr" "$s_rep"
}

# ---- 1-row manifest with the same tables: the loaded-tables baseline -----------------
gzip -dc "$MANIFEST" | head -n 2 | gzip -6 >"$TMP/one-row.csv.gz"
baseline() { # CASE REP DATADIR ONE_ROW_FILE
	measure "$1" "$MAX_THREADS" "$2" 1 "$SINK" \
		"$EXAMRISK" score --quiet --participants "$3/participants.csv" --mra "$3/mra.csv" --rules "$RULES" --threads "$MAX_THREADS" \
		--out "$TMP/one-scores.csv.gz" --consolidations "$TMP/one-consol.csv.gz" $FILTER "$4"
}

echo "bench: $ROWS rows, $(awk -v b="$BYTES" 'BEGIN {printf "%.0f", b / 1e6}') MB of CSV, $GZSIZE bytes gzip; $REPS reps; threads 1..$MAX_THREADS; load average $LOAD"
cat "$DATA"/manifest*.csv.gz | wc -c >"$TMP/warm" # warm the page cache: every case reads from memory

# Reference outputs (score, threads 1, rep 1) and identity checks of every later
# run: the .gz bytes (cmp); when they differ, whether the CSV inside is the same.
IDENT_RUNS=0
IDENT_BAD=""  # the CSV differs
IDENT_GZ=""   # the same CSV, other .gz bytes
check_identical() {
	IDENT_RUNS=$((IDENT_RUNS + 1))
	for f in scores.csv.gz consol.csv.gz; do
		if [ ! -f "$TMP/ref-$f" ]; then
			mv "$TMP/$f" "$TMP/ref-$f"
		elif cmp -s "$TMP/ref-$f" "$TMP/$f"; then
			rm -f "$TMP/$f"
		else
			[ -f "$TMP/ref-$f.csv" ] || gzip -dc "$TMP/ref-$f" >"$TMP/ref-$f.csv"
			if gzip -dc "$TMP/$f" | cmp -s "$TMP/ref-$f.csv" -; then
				IDENT_GZ="$IDENT_GZ $f@$1,threads=$2,rep=$3"
				rm -f "$TMP/$f"
			else
				IDENT_BAD="$IDENT_BAD $f@$1,threads=$2,rep=$3"
				mv "$TMP/$f" "$TMP/diff-$1-t$2-r$3-$f"
			fi
		fi
	done
}

MM_CASES="bgzf pigzi cat4"

# pair REP: score_pair, two one-thread full jobs at once on the pigz -i input
# (benchmarks/lib/pair.sh), each into its own directory; both outputs are
# checked like any other run's.
pair() {
	mkdir -p "$TMP/pair1" "$TMP/pair2"
	M_BYTES=$((2 * BYTES))
	measure score_pair 1 "$1" $((2 * ROWS)) "$SINK" sh benchmarks/lib/pair.sh "$TMP/pair1" "$TMP/pair2" \
		"$DATA/manifest.pigzi.csv.gz" "$EXAMRISK" score --quiet --participants "$DATA/participants.csv" \
		--mra "$DATA/mra.csv" --rules "$RULES" --threads 1 $FILTER
	M_BYTES=""
	for d in pair1 pair2; do
		mv "$TMP/$d/scores.csv.gz" "$TMP/$d/consol.csv.gz" "$TMP/"
		check_identical score_pair 1 "$1"
	done
}
rep=1
while [ "$rep" -le "$REPS" ]; do
	echo "rep $rep/$REPS"
	baseline baseline "$rep" "$DATA" "$TMP/one-row.csv.gz"
	measure gzip_dc 1 "$rep" "$ROWS" "$SINK" gzip -t "$MANIFEST"
	measure inflate_zlib 1 "$rep" "$ROWS" "$TMP/er_bench.out" "$BENCH" inflate --zlib "$MANIFEST"
	measure inflate_isal 1 "$rep" "$ROWS" "$TMP/er_bench.out" "$BENCH" inflate --isal "$MANIFEST"
	t=1
	while [ "$t" -le "$MAX_THREADS" ]; do
		score score "$t" "$rep" "$MANIFEST"
		t=$((t + 1))
	done
	if [ -n "$REF_BIN" ]; then
		measure score_ref 1 "$rep" "$ROWS" "$SINK" \
			"$REF_BIN" score --quiet --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" \
			--rules "$REFDIR/data/rules.ini" --threads 1 --out "$TMP/ref-run.csv.gz" \
			--consolidations "$TMP/ref-run-consol.csv.gz" "$MANIFEST"
		rm -f "$TMP/ref-run.csv.gz" "$TMP/ref-run-consol.csv.gz"
	fi
	score score_chunk "$MAX_THREADS" "$rep" "$MANIFEST" --chunk-size "$CHUNK_VAR"
	for mm in $MM_CASES; do
		score "score_$mm" 1 "$rep" "$DATA/manifest.$mm.csv.gz"
		if [ "$MAX_THREADS" -gt 1 ]; then
			score "score_$mm" "$MAX_THREADS" "$rep" "$DATA/manifest.$mm.csv.gz"
		fi
	done
	if [ "$MAX_THREADS" -gt 1 ]; then
		pair "$rep"
	fi
	measure score_nocons "$MAX_THREADS" "$rep" "$ROWS" "$SINK" \
		"$EXAMRISK" score --quiet --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" --threads "$MAX_THREADS" \
		--out "$TMP/scores-nocons.csv.gz" "$MANIFEST"
	IDENT_RUNS=$((IDENT_RUNS + 1))
	if ! cmp -s "$TMP/scores-nocons.csv.gz" "$TMP/ref-scores.csv.gz"; then
		IDENT_BAD="$IDENT_BAD scores.csv.gz@no-consolidations,rep=$rep"
	fi
	rm -f "$TMP/scores-nocons.csv.gz"
	rep=$((rep + 1))
done

# ---- optional: peak RSS at ROWS_BIG rows (one run) --------------------------------------
if [ -n "$ROWS_BIG" ]; then
	dataset "$ROWS_BIG"
	BIG=benchmarks/data/rows$ROWS_BIG-seed$SEED
	echo "big: $ROWS_BIG rows"
	cat "$BIG/manifest.csv.gz" | wc -c >"$TMP/warm" # from the page cache, as the 2M cases
	gzip -dc "$BIG/manifest.csv.gz" | head -n 2 | gzip -6 >"$TMP/one-row-big.csv.gz"
	M_BYTES=1
	baseline baseline_big 1 "$BIG" "$TMP/one-row-big.csv.gz"
	M_BYTES=$(cat "$BIG/bytes_csv")
	measure score_big "$MAX_THREADS" 1 "$ROWS_BIG" "$SINK" \
		"$EXAMRISK" score --quiet --participants "$BIG/participants.csv" --mra "$BIG/mra.csv" --rules "$RULES" \
		--threads "$MAX_THREADS" --out "$TMP/big-scores.csv.gz" --consolidations "$TMP/big-consol.csv.gz" $FILTER "$BIG/manifest.csv.gz"
	rm -f "$TMP/big-scores.csv.gz" "$TMP/big-consol.csv.gz" "$TMP/one-row-big.csv.gz"
	M_BYTES=""
fi

# ---- medians ------------------------------------------------------------------------
# One line per (case, threads): case threads n wall_med wall_min wall_max
#   rps_med rps_min rps_max mbs_med rss_med rss_min rss_max cpu_med cpu_min cpu_max
med() { # column of CSV for case $1 threads $2 -> "median min max"
	awk -F, -v c="$1" -v t="$2" -v k="$3" 'NR > 1 && $1 == c && $2 == t {print $k}' "$CSV" |
		sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) {print "0 0 0"; exit}
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR]}'
}
SUM=$TMP/medians.txt
: >"$SUM"
# every (case, threads) measured, in the order first measured
awk -F, 'NR > 1 && !seen[$1 "@" $2]++ {print $1, $2}' "$CSV" | while read -r c t; do
	echo "$c $t $(med "$c" "$t" 6) $(med "$c" "$t" 7) $(med "$c" "$t" 8) $(med "$c" "$t" 9) $(med "$c" "$t" 10)" >>"$SUM"
done
# medians.txt fields: 1 case 2 threads 3-5 wall med/min/max 6-8 rows/s 9-11 MB/s 12-14 rss 15-17 cpu s

RUNS="all $IDENT_RUNS score runs (threads 1..$MAX_THREADS, --chunk-size $CHUNK_VAR, the bgzip / pigz -i / 4-member inputs, the scores without --consolidations; x $REPS reps)"
if [ -n "$IDENT_BAD" ]; then
	IDENT="NO: the CSV differs in:$IDENT_BAD (kept in $TMP)"
elif [ -n "$IDENT_GZ" ]; then
	IDENT="NO: the CSV inside is identical in $RUNS, but the .gz bytes differ in:$IDENT_GZ"
else
	IDENT="yes: the scores and consolidations (.gz bytes, cmp) of $RUNS are byte-identical"
fi

awk -v rows="$ROWS" -v bytes="$BYTES" -v gz="$GZSIZE" -v reps="$REPS" -v maxt="$MAX_THREADS" \
	-v cpu="$CPU" -v cores="$CORES" -v mem="$MEM" -v date="$DATE" -v load="$LOAD" -v ident="$IDENT" \
	-v data="$MANIFEST" -v seed="$SEED" -v rev="$REV" -v filter="$FILTER" -v chunk="$CHUNK_VAR" \
	-v ref="$REF_CPU_S_PER_GB" -v refc="$REF_COMMIT" -v big="$ROWS_BIG" -v mmcases="$MM_CASES" '
function mib(kb) { return sprintf("%.1f", kb / 1024) }
function fmt_rps(x) { return sprintf("%.0f", x) }
function met(ok) { return ok ? "yes" : "**no**" }
{
	c[NR] = $1; th[NR] = $2
	for (i = 3; i <= 17; i++) f[NR, i] = $i
	key[$1 "@" $2] = NR
}
END {
	printf "# examrisk benchmark\n\n"
	printf "- machine: %s, %s cores usable (nproc), %s RAM; load average at start %s\n", cpu, cores, mem, load
	printf "- date: %s; engine: %s\n", date, rev
	printf "- data: `%s` (examrisk-gen --rows %d --seed %s, one gzip member, level 6): %d rows, %.1f MB CSV, %.1f MB gzip; the same CSV also as bgzip -@2, pigz -i and 4 concatenated gzip files\n", data, rows, seed, rows, bytes / 1e6, gz / 1e6
	printf "- job (issue 12'"'"'s full job): `examrisk score --threads T --out scores.csv.gz --consolidations consol.csv.gz%s` (gz in, both outputs gzip at the default level, every rule of data/rules.ini)\n", filter ? " " filter : ""
	printf "- %d repetitions, interleaved; medians with (min-max); MB/s = decompressed CSV bytes / wall / 10^6; peak RSS and CPU (user + sys) from /usr/bin/time\n\n", reps
	printf "| case | threads | wall s | rows/s | MB/s | CPU s | cores busy | peak RSS MiB |\n"
	printf "|---|---:|---:|---:|---:|---:|---:|---:|\n"
	for (r = 1; r <= NR; r++) {
		if (c[r] ~ /^baseline/) continue
		printf "| %s | %s | %.3f (%.3f-%.3f) | %s (%s-%s) | %.1f | %.2f | %.2f | %s |\n", c[r], th[r],
			f[r, 3], f[r, 4], f[r, 5], fmt_rps(f[r, 6]), fmt_rps(f[r, 7]), fmt_rps(f[r, 8]),
			f[r, 9], f[r, 15], (f[r, 3] > 0 ? f[r, 15] / f[r, 3] : 0), mib(f[r, 12])
	}
	b = key["baseline@" maxt]
	base = f[b, 12]
	printf "\nLoaded-tables baseline (1-row manifest, same tables, threads %d): peak RSS %s MiB (%s-%s).\n", maxt, mib(base), mib(f[b, 13]), mib(f[b, 14])
	printf "\nIdentical output: %s.\n", ident

	# ---- the goals of issue 12, each measured here
	g = key["gzip_dc@1"]; s1 = key["score@1"]; two = (maxt >= 2) ? key["score@2"] : 0
	printf "\n## Goals of issue 12 (medians of this run)\n\n"
	printf "| goal | measured | met |\n|---|---|---|\n"
	if (two) {
		printf "| full job wall <= 0.6x `gzip -dc` (2 threads) | %.3f s vs %.3f s = %.2fx | %s |\n", f[two, 3], f[g, 3], f[two, 3] / f[g, 3], met(f[two, 3] <= 0.6 * f[g, 3])
	} else {
		printf "| full job wall <= 0.6x `gzip -dc` (2 threads) | not measured: MAX_THREADS=1 | - |\n"
	}
	gb = bytes / 1e9; per = f[s1, 15] / gb; sr = key["score_ref@1"]
	if (sr) {
		ref = f[sr, 15] / gb
		printf "| one-thread CPU per GB of CSV down >= 25 %% vs the first milestone (%s, built and run in this run, 1 thread, its own rules; it wrote the consolidations as plain text) | %.2f vs %.2f CPU s / %.3f GB = %.2f vs %.2f CPU s/GB (%+.1f %%) | %s |\n", refc, f[s1, 15], f[sr, 15], gb, per, ref, 100 * (per / ref - 1), met(per <= 0.75 * ref)
	} else {
		printf "| one-thread CPU per GB of CSV down >= 25 %% vs the first milestone (%s: %.1f CPU s/GB recorded on 2026-12-01, not measured in this run: machines differ by 25 %% from day to day), i.e. <= %.2f | %.2f CPU s / %.3f GB = %.2f CPU s/GB (%+.1f %%) | %s |\n", refc, ref, 0.75 * ref, f[s1, 15], gb, per, 100 * (per / ref - 1), (per <= 0.75 * ref) ? "not comparable" : "**no**"
	}
	if (two) {
		printf "| 2 threads >= 1.8x the rows/s of 1 thread | %s vs %s rows/s = %.2fx | %s |\n", fmt_rps(f[two, 6]), fmt_rps(f[s1, 6]), f[two, 6] / f[s1, 6], met(f[two, 6] >= 1.8 * f[s1, 6])
	} else {
		printf "| 2 threads >= 1.8x the rows/s of 1 thread | not measured: MAX_THREADS=1 | - |\n"
	}
	n = split(mmcases, mm, " ")
	label["bgzf"] = "bgzip -@2 (BGZF)"; label["pigzi"] = "pigz -i"; label["cat4"] = "4 concatenated gzip files"
	for (i = 1; i <= n; i++) {
		a = key["score_" mm[i] "@1"]; z = key["score_" mm[i] "@" maxt]
		if (maxt >= 2 && a && z)
			printf "| multi-member input, %s: %d threads >= 1.85x 1 thread | %s vs %s rows/s = %.2fx | %s |\n", label[mm[i]], maxt, fmt_rps(f[z, 6]), fmt_rps(f[a, 6]), f[z, 6] / f[a, 6], met(f[z, 6] >= 1.85 * f[a, 6])
		else
			printf "| multi-member input, %s: MAX_THREADS >= 1.85x 1 thread | not measured: MAX_THREADS=1 | - |\n", label[mm[i]]
	}
	worst = 0; wc = ""
	for (r = 1; r <= NR; r++) if (c[r] ~ /^score/ && c[r] != "score_big" && c[r] != "score_ref" && c[r] != "score_pair" && f[r, 12] > worst) { worst = f[r, 12]; wc = c[r] "@" th[r] }
	printf "| peak RSS <= 64 MiB beyond the tables, %d rows | %s MiB (worst run: %s) - %s MiB tables = %s MiB | %s |\n", rows, mib(worst), wc, mib(base), mib(worst - base), met(worst - base <= 65536)
	if (big != "") {
		bb = key["baseline_big@" maxt]; sb = key["score_big@" maxt]
		printf "| peak RSS <= 64 MiB beyond the tables, %d rows | %s MiB - %s MiB tables = %s MiB | %s |\n", big, mib(f[sb, 12]), mib(f[bb, 12]), mib(f[sb, 12] - f[bb, 12]), met(f[sb, 12] - f[bb, 12] <= 65536)
	} else {
		printf "| peak RSS <= 64 MiB beyond the tables, 20,000,000 rows | not run: set ROWS_BIG=20000000 (one run, about 10x the default data) | - |\n"
	}
	okm = (index(ident, "yes") == 1) ? "yes" : (index(ident, "the CSV inside is identical") ? "CSV: yes; .gz bytes: **no**" : "**no**")
	printf "| output bytes identical at every thread count and chunk size | %s | %s |\n", (index(ident, "yes") == 1) ? "byte-identical (threads 1.." maxt ", --chunk-size " chunk " and 1 MiB, 4 input encodings)" : ident, okm
	printf "| >= 8x DuckDB and >= 5x Polars | run `make bench-compare` (its results.md states both goals, measured and met) | see bench-compare |\n"
	# what the second core costs the first on this machine (score_pair)
	pr = key["score_pair@1"]; p1 = key["score_pigzi@1"]; pz = key["score_pigzi@" maxt]
	if (pr && p1 && f[p1, 15] > 0) {
		k = f[pr, 15] / (2 * f[p1, 15])
		printf "\nThe machine'"'"'s own ceiling (score_pair): two 1-thread jobs at once on the pigz -i input, one per core, sharing nothing but the machine, took %.2f CPU s together against %.2f for one alone: each cost %+.1f %% (their wall %.3f s against %.3f). ", f[pr, 15], f[p1, 15], 100 * (k - 1), f[pr, 3], f[p1, 3]
		printf "A 2-thread run that did no more work than 1 thread and kept both cores busy would reach about %.2fx its rows/s here, not 2.00x", 2 / k
		if (pz && maxt == 2 && f[pz, 15] > 0)
			printf "; the 2-thread pigz -i run did %.2f CPU s against 1 thread'"'"'s %.2f (%.3fx, against %.3fx for each job of the pair) and kept %.2f cores busy", f[pz, 15], f[p1, 15], f[pz, 15] / f[p1, 15], k, (f[pz, 3] > 0 ? f[pz, 15] / f[pz, 3] : 0)
		printf ".\n"
	}
	# why a thread-count ratio can be capped below the goal on few cores
	u = f[s1, 3] > 0 ? f[s1, 15] / f[s1, 3] : 0
	if (two && u > 1.05)
		printf "\nCores busy = CPU s / wall. At --threads 1 the job kept %.2f cores busy (threads ran beside the one asked for), so with %d usable cores no thread count can exceed %.2fx its rows/s unless it also needs less CPU in total.\n", u, cores, cores / u
}' "$SUM" >"$MD"

# ---- plot -----------------------------------------------------------------------------
# the peer comparison of this machine's last `make bench-compare`, else the recorded one
CMP=$BUILD/bench-compare/results.csv
[ -f "$CMP" ] || CMP=benchmarks/results/compare.csv
sh benchmarks/plot.sh "$CSV" "$CMP" "$PNG" "$CPU, $CORES cores, $DATE"

# the big outputs are only needed while checking (kept when they differ)
rm -f "$TMP/ref-"* "$TMP/one-"* "$TMP/er_bench.out"
echo "bench: wrote $CSV, $MD, $PNG"
echo
cat "$MD"
