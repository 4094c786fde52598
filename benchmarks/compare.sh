#!/bin/sh
# compare.sh - examrisk against the same job in DuckDB (`make bench-compare`);
# see benchmarks/README.md.
#
# On the benchmark dataset (made or reused by bench.sh --data-only), runs REPS
# times, interleaved:
#   examrisk         examrisk score --threads CPUs --out scores.csv.gz  (gz in, gz out)
#   duckdb           node benchmarks/duckdb/score.mjs (DuckDB SQL, threads = CPUs)
#   examrisk_consol  examrisk as in `make bench` (plus --consolidations), which
#                    the SQL does not compute: for the record, not the ratio
# both with a copy of the rules whose [random] rate is 0 (examrisk's keyed
# hash cannot be written in SQL), and reports wall time, rows/s, peak RSS and
# the ratio examrisk/duckdb in rows/s; then cross-checks the two outputs row
# by row: shipment_id + score + lane, reasons, whole line.
# Outputs under $BUILD/bench-compare/: results.csv, results.md (printed).
#
# Environment: BUILD (build), ROWS (2000000), SEED (1), REPS (3),
# THREADS (online CPUs).
set -eu

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROWS=${ROWS:-2000000}
SEED=${SEED:-1}
REPS=${REPS:-3}
THREADS=${THREADS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)}
EXAMRISK=$BUILD/examrisk
OUT=$BUILD/bench-compare
TMP=$OUT/tmp
CSV=$OUT/results.csv
MD=$OUT/results.md
NODE_DIR=benchmarks/node_modules

die() { echo "compare: $*" >&2; exit 1; }
case $REPS in ''|*[!0-9]*) die "REPS must be a positive integer";; esac
case $THREADS in ''|*[!0-9]*) die "THREADS must be a positive integer";; esac
[ "$REPS" -ge 1 ] && [ "$THREADS" -ge 1 ] || die "REPS and THREADS must be >= 1"
[ -x "$EXAMRISK" ] || die "$EXAMRISK missing: run make first"

# ---- node, npm and @duckdb/node-api (pinned in benchmarks/duckdb/package.json) ----
need=""
[ -x /usr/bin/time ] || need="$need time"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
if [ -n "$need" ]; then
	echo "compare: installing:$need"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need; } >/dev/null ||
		die "could not install$need"
fi
WANT=$(sed -n 's/.*"@duckdb\/node-api": *"\([^"]*\)".*/\1/p' benchmarks/duckdb/package.json)
[ -n "$WANT" ] || die "no @duckdb/node-api version in benchmarks/duckdb/package.json"
HAVE=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$NODE_DIR/@duckdb/node-api/package.json" 2>/dev/null | head -n 1)
if [ "$HAVE" != "$WANT" ]; then
	echo "compare: npm install @duckdb/node-api@$WANT into $NODE_DIR"
	npm install --prefix benchmarks --no-save --no-package-lock --no-audit --no-fund \
		--loglevel=error "@duckdb/node-api@$WANT" >/dev/null || die "npm install failed"
fi

# ---- data and rules ---------------------------------------------------------------
DATA=$(BUILD="$BUILD" ROWS="$ROWS" SEED="$SEED" sh benchmarks/bench.sh --data-only)
MANIFEST=$DATA/manifest.csv.gz
BYTES=$(cat "$DATA/bytes_csv")
rm -rf "$OUT"
mkdir -p "$TMP"
RULES=$OUT/rules-random0.ini
# the shipped rules with [random] rate = 0, for both engines
awk '/^[[:space:]]*\[/ { sect = tolower($0); gsub(/[][[:space:]]/, "", sect) }
	sect == "random" && /^[[:space:]]*rate[[:space:]]*=/ { print "rate = 0"; next } { print }' \
	data/rules.ini >"$RULES"
grep -q '^rate = 0$' "$RULES" || die "could not set [random] rate = 0 in $RULES"

CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
# the engine measured: commit, and whether its sources differ from it (read-only git)
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$REV" != unknown ] && [ -n "$(git --no-optional-locks status --porcelain -- engine include Makefile 2>/dev/null)" ]; then
	REV="$REV + uncommitted changes in engine/include/Makefile"
fi
DUCKVER=$WANT

echo "case,threads,rep,rows,bytes_csv,wall_s,rows_per_s,mb_per_s,peak_rss_kb" >"$CSV"
now() { date +%s.%N; }
measure() { # CASE REP CMD...
	m_case=$1 m_rep=$2
	shift 2
	t0=$(now)
	set +e
	/usr/bin/time -f '%M' -o "$TMP/rss" "$@" >/dev/null 2>"$TMP/stderr"
	rc=$?
	set -e
	t1=$(now)
	if [ "$rc" -ne 0 ] && ! { [ "$m_case" != duckdb ] && [ "$rc" -eq 3 ]; }; then
		cat "$TMP/stderr" >&2
		die "$m_case (rep $m_rep) failed with exit $rc"
	fi
	awk -v c="$m_case" -v t="$THREADS" -v r="$m_rep" -v n="$ROWS" -v b="$BYTES" \
		-v t0="$t0" -v t1="$t1" -v rss="$(tail -n 1 "$TMP/rss")" 'BEGIN {
		w = t1 - t0; if (w <= 0) w = 1e-9
		printf "%s,%d,%d,%d,%d,%.4f,%.0f,%.1f,%d\n", c, t, r, n, b, w, n / w, b / w / 1e6, rss
	}' >>"$CSV"
	tail -n 1 "$CSV" | awk -F, '{printf "  %-15s rep=%-2s wall=%7.3fs rows/s=%9s rss=%s KiB\n", $1, $3, $6, $7, $9}'
}

echo "compare: $ROWS rows, $REPS reps, $THREADS threads, DuckDB $DUCKVER"
cat "$MANIFEST" >/dev/null
rep=1
while [ "$rep" -le "$REPS" ]; do
	measure examrisk "$rep" "$EXAMRISK" score --quiet --threads "$THREADS" \
		--participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" \
		--out "$TMP/examrisk.csv.gz" "$MANIFEST"
	measure duckdb "$rep" node benchmarks/duckdb/score.mjs --threads "$THREADS" \
		--manifest "$MANIFEST" --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" \
		--rules "$RULES" --out "$TMP/duckdb.csv.gz"
	measure examrisk_consol "$rep" "$EXAMRISK" score --quiet --threads "$THREADS" \
		--participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" \
		--out "$TMP/examrisk-consol.csv.gz" --consolidations "$TMP/consol.csv" "$MANIFEST"
	rep=$((rep + 1))
done

# ---- cross-check: both outputs are in input order, so compare line by line ------------
gzip -dc "$TMP/examrisk.csv.gz" >"$TMP/examrisk.csv"
gzip -dc "$TMP/duckdb.csv.gz" >"$TMP/duckdb.csv"
if cmp -s "$TMP/examrisk.csv" "$TMP/duckdb.csv"; then IDENTICAL=yes; else IDENTICAL=no; fi
# fields: shipment_id,score,lane,reasons,importer_status,shipper_status,match,fast,front
awk -F, -v dfile="$TMP/duckdb.csv" -v ex="$TMP/examples.txt" '
NR == 1 { getline d < dfile; next }
{
	if ((getline d < dfile) <= 0) { extra_e++; next }
	n++
	split(d, g, ",")
	if ($1 != g[1]) { order++; next }
	if ($2 == g[2] && $3 == g[3]) ok_sl++
	else if (shown++ < 5) printf "  examrisk: %s\n  duckdb:   %s\n", $0, d >> ex
	if ($4 == g[4]) ok_r++
	if ($0 == d) ok_all++
}
END {
	while ((getline d < dfile) > 0) extra_d++
	printf "%d %d %d %d %d %d %d\n", n, ok_sl, ok_r, ok_all, order, extra_e, extra_d
}' "$TMP/examrisk.csv" >"$TMP/agree.txt"
: >>"$TMP/examples.txt"
read -r N OK_SL OK_R OK_ALL ORDER EXTRA_E EXTRA_D <"$TMP/agree.txt"

med() { # case column -> "median min max"
	awk -F, -v c="$1" -v k="$2" 'NR > 1 && $1 == c {print $k}' "$CSV" | sort -g |
		awk '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR]}'
}
{
	echo "# examrisk vs DuckDB"
	echo
	echo "- machine: $CPU, $CORES cores online; $DATE; engine: $REV"
	echo "- data: \`$MANIFEST\` ($ROWS rows, $(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b / 1e6}') MB CSV, one gzip member, level 6)"
	echo "- rules: data/rules.ini with [random] rate = 0 for both (\`$RULES\`)"
	echo "- examrisk: \`examrisk score --threads $THREADS --out scores.csv.gz\`; DuckDB $DUCKVER: \`node benchmarks/duckdb/score.mjs --threads $THREADS\` (COPY ... TO 'x.csv.gz' (COMPRESSION gzip))"
	echo "- $REPS repetitions, interleaved; medians with (min-max); wall time of the whole process"
	echo
	echo "| engine | wall s | rows/s | MB/s | peak RSS MiB |"
	echo "|---|---:|---:|---:|---:|"
	for c in examrisk duckdb examrisk_consol; do
		# shellcheck disable=SC2046 # split on purpose: three numbers per column
		set -- $(med $c 6) $(med $c 7) $(med $c 8) $(med $c 9)
		awk -v c="$c" -v w="$1" -v w0="$2" -v w1="$3" -v r="$4" -v r0="$5" -v r1="$6" -v mb="$7" -v rss="${10}" \
			'BEGIN {printf "| %s | %.3f (%.3f-%.3f) | %.0f (%.0f-%.0f) | %.1f | %.1f |\n", c, w, w0, w1, r, r0, r1, mb, rss / 1024}'
	done
	# shellcheck disable=SC2046
	set -- $(med examrisk 7) $(med duckdb 7) $(med examrisk_consol 7)
	awk -v e="$1" -v d="$4" -v ec="$7" 'BEGIN {
		printf "\nRatio examrisk/duckdb in rows/s (medians, the same job: scores only): **%.2fx** (target >= 5x: %s).\n", e / d, (e / d >= 5) ? "met" : "not met"
		printf "With --consolidations on the examrisk side only (the `make bench` job, more work than the SQL does): %.2fx.\n", ec / d}'
	echo
	echo "## Cross-check (last repetition, decompressed outputs compared line by line)"
	echo
	echo "- decompressed outputs byte-identical: $IDENTICAL"
	awk -v n="$N" -v sl="$OK_SL" -v r="$OK_R" -v a="$OK_ALL" -v o="$ORDER" -v xe="$EXTRA_E" -v xd="$EXTRA_D" 'BEGIN {
		p = n ? 100 / n : 0
		printf "- rows compared: %d (rows only in examrisk: %d, only in duckdb: %d, shipment_id order mismatches: %d)\n", n, xe, xd, o
		printf "- agreement on (shipment_id, score, lane): %d / %d = %.4f %%\n", sl, n, sl * p
		printf "- agreement on reasons: %.4f %%; on the whole line (all 9 columns): %.4f %%\n", r * p, a * p
	}'
	if [ -s "$TMP/examples.txt" ]; then
		echo "- first disagreements on score/lane:"
		echo
		echo '```'
		cat "$TMP/examples.txt"
		echo '```'
	fi
} >"$MD"
rm -f "$TMP/examrisk.csv" "$TMP/duckdb.csv" "$TMP/examrisk-consol.csv.gz" "$TMP/consol.csv"
echo "compare: wrote $CSV, $MD"
echo
cat "$MD"
