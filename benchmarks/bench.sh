#!/bin/sh
# bench.sh - the examrisk benchmark (`make bench`); see benchmarks/README.md.
#
# Generates (or reuses) a dataset, then for REPS repetitions measures, in the
# same run and interleaved so that machine noise hits every case alike:
#   gzip_dc       gzip -dc FILE >/dev/null           (the classic decompression floor)
#   inflate_zlib  er_bench inflate --zlib FILE       (the engine's reader, zlib)
#   inflate_isal  er_bench inflate --isal FILE       (the engine's reader, ISA-L)
#   score         examrisk score, gz in, gz out (default level), every rule,
#                 --consolidations, at --threads 1, 2, ... up to the CPUs
#   score_nocons  the same at the highest thread count without --consolidations
#                 (separates the roll-up's memory from the pipeline's)
#   baseline      examrisk score on a 1-row manifest with the same tables
#                 (peak RSS of the loaded tables; "RSS beyond tables" = peak - baseline)
# Outputs (all under $BUILD/bench/): results.csv (one line per measurement),
# results.md (machine, medians, targets), rows_per_s.png; the table is printed.
#
# Environment: BUILD (default build), ROWS (2000000), SEED (1), REPS (5),
# MAX_THREADS (online CPUs), RULES (data/rules.ini).
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
MAX_THREADS=${MAX_THREADS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)}
RULES=${RULES:-data/rules.ini}
EXAMRISK=$BUILD/examrisk
GEN=$BUILD/examrisk-gen
BENCH=$BUILD/er_bench
OUT=$BUILD/bench
TMP=$OUT/tmp
CSV=$OUT/results.csv
MD=$OUT/results.md
PNG=$OUT/rows_per_s.png

die() { echo "bench: $*" >&2; exit 1; }

case $ROWS in ''|*[!0-9]*) die "ROWS must be a positive integer (got '$ROWS')";; esac
case $REPS in ''|*[!0-9]*) die "REPS must be a positive integer (got '$REPS')";; esac
case $MAX_THREADS in ''|*[!0-9]*) die "MAX_THREADS must be a positive integer";; esac
[ "$ROWS" -ge 1 ] && [ "$REPS" -ge 1 ] && [ "$MAX_THREADS" -ge 1 ] || die "ROWS, REPS and MAX_THREADS must be >= 1"

# ---- tools: /usr/bin/time (peak RSS) and gnuplot (the plot) ---------------------
need=""
[ -x /usr/bin/time ] || need="$need time"
[ "$DATA_ONLY" = 1 ] || command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
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

# ---- dataset, cached by rows + seed (regenerated when the generator changes) --------
DATA=benchmarks/data/rows$ROWS-seed$SEED
MANIFEST=$DATA/manifest.csv.gz
stamp=$(cat benchmarks/er_gen.c data/mra.csv | cksum | cut -d' ' -f1)
if [ ! -f "$MANIFEST" ] || [ "$(cat "$DATA/stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "bench: generating $ROWS rows (seed $SEED) into $DATA" >&2
	rm -rf "$DATA" "$DATA.tmp"
	mkdir -p benchmarks/data
	"$GEN" --rows "$ROWS" --seed "$SEED" --level 6 --members 1 --out "$DATA.tmp" \
		2>"$DATA.gen.log" || { cat "$DATA.gen.log" >&2; die "generator failed"; }
	echo "$stamp" >"$DATA.tmp/stamp"
	# decompressed size, for MB/s (the generator reports it; else count)
	b=$(sed -n 's/.*bytes_csv=\([0-9]*\).*/\1/p' "$DATA.gen.log" | tail -n 1)
	[ -n "$b" ] || b=$(gzip -dc "$DATA.tmp/manifest.csv.gz" | wc -c)
	echo "$b" >"$DATA.tmp/bytes_csv"
	rm -f "$DATA.gen.log"
	mv "$DATA.tmp" "$DATA"
fi
BYTES=$(cat "$DATA/bytes_csv")
if [ "$DATA_ONLY" = 1 ]; then
	echo "$DATA"
	exit 0
fi

rm -rf "$OUT"
mkdir -p "$TMP"
echo "case,threads,rep,rows,bytes_csv,wall_s,rows_per_s,mb_per_s,peak_rss_kb" >"$CSV"

# ---- machine ------------------------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
MEM=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
# the engine measured: commit, and whether its sources differ from it (read-only git)
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$REV" != unknown ] && [ -n "$(git --no-optional-locks status --porcelain -- engine include Makefile 2>/dev/null)" ]; then
	REV="$REV + uncommitted changes in engine/include/Makefile"
fi
GZSIZE=$(wc -c <"$MANIFEST" | tr -d ' ')

now() { date +%s.%N; }

# measure CASE THREADS REP ROWS STDOUT_FILE CMD...: run CMD once, append one CSV line.
measure() {
	m_case=$1 m_thr=$2 m_rep=$3 m_rows=$4 m_out=$5
	shift 5
	t0=$(now)
	set +e
	/usr/bin/time -f '%M' -o "$TMP/rss" "$@" >"$m_out" 2>"$TMP/stderr"
	rc=$?
	set -e
	t1=$(now)
	# examrisk exits 3 when rows were rejected: still a finished run
	if [ "$rc" -ne 0 ] && ! { [ "$m_case" = score ] && [ "$rc" -eq 3 ]; }; then
		cat "$TMP/stderr" >&2
		die "$m_case (threads $m_thr, rep $m_rep) failed with exit $rc: $*"
	fi
	rss=$(tail -n 1 "$TMP/rss")
	awk -v c="$m_case" -v t="$m_thr" -v r="$m_rep" -v n="$m_rows" -v b="$BYTES" \
		-v t0="$t0" -v t1="$t1" -v rss="$rss" 'BEGIN {
		w = t1 - t0; if (w <= 0) w = 1e-9
		printf "%s,%d,%d,%d,%d,%.4f,%.0f,%.1f,%d\n", c, t, r, n, b, w, n / w, b / w / 1e6, rss
	}' >>"$CSV"
	tail -n 1 "$CSV" | awk -F, '{printf "  %-13s threads=%-2s rep=%-2s wall=%7.3fs rows/s=%9s MB/s=%6s rss=%s KiB\n", $1, $2, $3, $6, $7, $8, $9}'
}

# ---- 1-row manifest with the same tables: the loaded-tables baseline -----------------
gzip -dc "$MANIFEST" | head -n 2 | gzip -6 >"$TMP/one-row.csv.gz"

echo "bench: $ROWS rows, $(awk -v b="$BYTES" 'BEGIN {printf "%.0f", b / 1e6}') MB of CSV, $GZSIZE bytes gzip; $REPS reps; threads 1..$MAX_THREADS"
cat "$MANIFEST" >/dev/null # warm the page cache: every case reads from memory

# Reference outputs (threads 1, rep 1) and identity checks of every later run.
IDENT_RUNS=0
IDENT_BAD=""
check_identical() {
	IDENT_RUNS=$((IDENT_RUNS + 1))
	for f in scores.csv.gz consol.csv; do
		if [ ! -f "$TMP/ref-$f" ]; then
			mv "$TMP/$f" "$TMP/ref-$f"
		elif cmp -s "$TMP/ref-$f" "$TMP/$f"; then
			rm -f "$TMP/$f"
		else
			IDENT_BAD="$IDENT_BAD $f@threads=$1,rep=$2"
			mv "$TMP/$f" "$TMP/diff-t$1-r$2-$f"
		fi
	done
}

rep=1
while [ "$rep" -le "$REPS" ]; do
	echo "rep $rep/$REPS"
	measure baseline "$MAX_THREADS" "$rep" 1 /dev/null \
		"$EXAMRISK" score --quiet --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" --threads "$MAX_THREADS" \
		--out "$TMP/one-scores.csv.gz" --consolidations "$TMP/one-consol.csv" "$TMP/one-row.csv.gz"
	measure gzip_dc 1 "$rep" "$ROWS" /dev/null gzip -dc "$MANIFEST"
	measure inflate_zlib 1 "$rep" "$ROWS" "$TMP/er_bench.out" "$BENCH" inflate --zlib "$MANIFEST"
	measure inflate_isal 1 "$rep" "$ROWS" "$TMP/er_bench.out" "$BENCH" inflate --isal "$MANIFEST"
	t=1
	while [ "$t" -le "$MAX_THREADS" ]; do
		measure score "$t" "$rep" "$ROWS" /dev/null \
			"$EXAMRISK" score --quiet --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" --threads "$t" \
			--out "$TMP/scores.csv.gz" --consolidations "$TMP/consol.csv" "$MANIFEST"
		check_identical "$t" "$rep"
		t=$((t + 1))
	done
	measure score_nocons "$MAX_THREADS" "$rep" "$ROWS" /dev/null \
		"$EXAMRISK" score --quiet --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" --threads "$MAX_THREADS" \
		--out "$TMP/scores-nocons.csv.gz" "$MANIFEST"
	IDENT_RUNS=$((IDENT_RUNS + 1))
	if ! cmp -s "$TMP/scores-nocons.csv.gz" "$TMP/ref-scores.csv.gz"; then
		IDENT_BAD="$IDENT_BAD scores.csv.gz@no-consolidations,rep=$rep"
	fi
	rm -f "$TMP/scores-nocons.csv.gz"
	rep=$((rep + 1))
done

# ---- medians ------------------------------------------------------------------------
# One line per (case, threads): case threads n wall_med wall_min wall_max
#   rps_med rps_min rps_max mbs_med rss_med rss_min rss_max
med() { # column of CSV for case $1 threads $2 -> "median min max"
	awk -F, -v c="$1" -v t="$2" -v k="$3" 'NR > 1 && $1 == c && $2 == t {print $k}' "$CSV" |
		sort -g | awk '{v[NR] = $1} END {
			if (NR == 0) {print "0 0 0"; exit}
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR]}'
}
SUM=$TMP/medians.txt
: >"$SUM"
for spec in "baseline $MAX_THREADS" "gzip_dc 1" "inflate_zlib 1" "inflate_isal 1"; do
	set -- $spec
	echo "$1 $2 $(med "$1" "$2" 6) $(med "$1" "$2" 7) $(med "$1" "$2" 8) $(med "$1" "$2" 9)" >>"$SUM"
done
t=1
while [ "$t" -le "$MAX_THREADS" ]; do
	echo "score $t $(med score "$t" 6) $(med score "$t" 7) $(med score "$t" 8) $(med score "$t" 9)" >>"$SUM"
	t=$((t + 1))
done
t=$MAX_THREADS
echo "score_nocons $t $(med score_nocons "$t" 6) $(med score_nocons "$t" 7) $(med score_nocons "$t" 8) $(med score_nocons "$t" 9)" >>"$SUM"
# medians.txt fields: 1 case 2 threads 3-5 wall med/min/max 6-8 rows/s 9-11 MB/s 12-14 rss

if [ -z "$IDENT_BAD" ]; then
	IDENT="yes: the scores (.gz bytes) of all $IDENT_RUNS score runs (threads 1..$MAX_THREADS and without --consolidations, x $REPS reps) are byte-identical (cmp), and so are the consolidations"
else
	IDENT="NO: differing outputs:$IDENT_BAD (kept in $TMP)"
fi

awk -v rows="$ROWS" -v bytes="$BYTES" -v gz="$GZSIZE" -v reps="$REPS" -v maxt="$MAX_THREADS" \
	-v cpu="$CPU" -v cores="$CORES" -v mem="$MEM" -v date="$DATE" -v ident="$IDENT" \
	-v data="$MANIFEST" -v seed="$SEED" -v rev="$REV" '
function mib(kb) { return sprintf("%.1f", kb / 1024) }
function fmt_rps(x) { return sprintf("%.0f", x) }
{
	c[NR] = $1; th[NR] = $2
	for (i = 3; i <= 14; i++) f[NR, i] = $i
	key[$1 "@" $2] = NR
}
END {
	printf "# examrisk benchmark\n\n"
	printf "- machine: %s, %s cores online, %s RAM\n", cpu, cores, mem
	printf "- date: %s; engine: %s\n", date, rev
	printf "- data: `%s` (examrisk-gen --rows %d --seed %s, one gzip member, level 6): %d rows, %.1f MB CSV, %.1f MB gzip\n", data, rows, seed, rows, bytes / 1e6, gz / 1e6
	printf "- job: `examrisk score --threads T --out scores.csv.gz --consolidations consol.csv` (gz out at the default level, every rule of data/rules.ini)\n"
	printf "- %d repetitions, interleaved; medians with (min-max); MB/s = decompressed CSV bytes / wall / 10^6; peak RSS from /usr/bin/time -f %%M\n\n", reps
	printf "| case | threads | wall s | rows/s | MB/s | peak RSS MiB |\n"
	printf "|---|---:|---:|---:|---:|---:|\n"
	for (r = 1; r <= NR; r++) {
		if (c[r] == "baseline") continue
		printf "| %s | %s | %.3f (%.3f-%.3f) | %s (%s-%s) | %.1f | %s |\n", c[r], th[r],
			f[r, 3], f[r, 4], f[r, 5], fmt_rps(f[r, 6]), fmt_rps(f[r, 7]), fmt_rps(f[r, 8]),
			f[r, 9], mib(f[r, 12])
	}
	b = key["baseline@" maxt]
	base = f[b, 12]
	printf "\nLoaded-tables baseline (1-row manifest, same tables, threads %d): peak RSS %s MiB (%s-%s).\n", maxt, mib(base), mib(f[b, 13]), mib(f[b, 14])
	printf "\nIdentical output across thread counts: %s.\n", ident
	# targets
	g = key["gzip_dc@1"]; s = key["score@" maxt]; z = key["inflate_isal@1"]
	worst = 0
	for (t = 1; t <= maxt; t++) { k = key["score@" t]; if (f[k, 12] > worst) worst = f[k, 12] }
	beyond = worst - base
	printf "\n## Targets (medians of this run)\n\n"
	printf "| target | measured | met |\n|---|---|---|\n"
	n = key["score_nocons@" maxt]
	printf "| wall <= `gzip -dc` (threads %d) | %.3f s vs %.3f s (%.2fx gzip -dc; without --consolidations %.3f s = %.2fx; ISA-L reader alone %.3f s) | %s |\n", maxt, f[s, 3], f[g, 3], f[s, 3] / f[g, 3], f[n, 3], f[n, 3] / f[g, 3], f[z, 3], (f[s, 3] <= f[g, 3]) ? "yes" : "no"
	printf "| peak RSS <= 64 MiB beyond the loaded tables | %s MiB peak (worst thread count) - %s MiB baseline = %s MiB; without --consolidations %s MiB - %s = %s MiB | %s |\n", mib(worst), mib(base), mib(beyond), mib(f[n, 12]), mib(base), mib(f[n, 12] - base), (beyond <= 65536) ? "yes" : "no"
	printf "| identical output at every thread count | %s | %s |\n", (index(ident, "yes") == 1) ? "byte-identical" : "differs", (index(ident, "yes") == 1) ? "yes" : "no"
	printf "| >= 5x DuckDB throughput | see `make bench-compare` (build/bench-compare/results.md) | - |\n"
	printf "\nScaling: rows/s at %d threads = %.2fx rows/s at 1 thread.\n", maxt, f[s, 6] / f[key["score@1"], 6]
}' "$SUM" >"$MD"

# ---- plot -----------------------------------------------------------------------------
# the peer comparison of this machine's last `make bench-compare`, else the recorded one
CMP=$BUILD/bench-compare/results.csv
[ -f "$CMP" ] || CMP=benchmarks/results/compare.csv
sh benchmarks/plot.sh "$CSV" "$CMP" "$PNG" "$CPU, $CORES cores, $DATE"

# the big outputs are only needed while checking (kept when they differ)
rm -f "$TMP/ref-scores.csv.gz" "$TMP/ref-consol.csv" "$TMP/one-"* "$TMP/er_bench.out"
echo "bench: wrote $CSV, $MD, $PNG"
echo
cat "$MD"
