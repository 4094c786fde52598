#!/bin/sh
# compare.sh - examrisk against the same job in DuckDB and in Polars
# (`make bench-compare`); see benchmarks/README.md.
#
# On the benchmark dataset (made or reused by bench.sh --data-only), runs REPS
# times, interleaved, the full job: gz in, scores AND consolidations out, both
# gzip, every rule:
#   examrisk   examrisk score --threads T --out scores.csv.gz
#              --consolidations consol.csv.gz [--consolidations-filter all]
#   duckdb     node benchmarks/duckdb/score.mjs (DuckDB SQL, threads = T)
#   polars     node benchmarks/polars/score.mjs (nodejs-polars, threads = T)
# all with a copy of the rules whose [random] rate is 0 (examrisk's keyed hash
# is not reproducible in SQL or Polars). Reports wall time (median and best),
# rows/s, CPU seconds, peak RSS, the ratios examrisk vs each peer, the goals
# (>= 8x DuckDB, >= 5x Polars, best of REPS each) and a row-by-row
# cross-check of both outputs, every column, of each peer against examrisk.
# Outputs under $BUILD/bench-compare/: results.csv, results.md (printed).
#
# Environment: BUILD (build), ROWS (2000000), SEED (1), REPS (3),
# THREADS (online CPUs), PEERS ("duckdb polars": which peers to run).
set -eu

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROWS=${ROWS:-2000000}
SEED=${SEED:-1}
REPS=${REPS:-3}
THREADS=${THREADS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)}
PEERS=${PEERS:-duckdb polars}
EXAMRISK=$BUILD/examrisk
OUT=$BUILD/bench-compare
TMP=$OUT/tmp
CSV=$OUT/results.csv
MD=$OUT/results.md
NODE_DIR=benchmarks/node_modules
goal_of() { case $1 in duckdb) echo 8 ;; polars) echo 5 ;; esac; } # issue 12: examrisk >= Nx the peer

die() { echo "compare: $*" >&2; exit 1; }
case $REPS in ''|*[!0-9]*) die "REPS must be a positive integer";; esac
case $THREADS in ''|*[!0-9]*) die "THREADS must be a positive integer";; esac
[ "$REPS" -ge 1 ] && [ "$THREADS" -ge 1 ] || die "REPS and THREADS must be >= 1"
[ -x "$EXAMRISK" ] || die "$EXAMRISK missing: run make first"
for p in $PEERS; do
	case $p in duckdb|polars) ;; *) die "unknown peer '$p' (want duckdb, polars)";; esac
done

# ---- node, npm and the peers' packages (pinned in benchmarks/*/package.json) ----
need=""
[ -x /usr/bin/time ] || need="$need time"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
if [ -n "$need" ]; then
	echo "compare: installing:$need"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need; } >/dev/null ||
		die "could not install$need"
fi
# pinned VERSION of PACKAGE in benchmarks/PEER/package.json
pinned() { sed -n "s/.*\"$(echo "$2" | sed 's,/,\\/,g')\": *\"\([^\"]*\)\".*/\1/p" "benchmarks/$1/package.json"; }
installed() { sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$NODE_DIR/$1/package.json" 2>/dev/null | head -n 1; }
# every pinned package of the peers run; when one is missing or another
# version, all are installed in one npm call (npm prunes what a call does not name)
WANT="" STALE=""
for p in $PEERS; do
	case $p in
	duckdb) pkgs="@duckdb/node-api" ;;
	# on node 20 npm does not pull the native part of nodejs-polars by itself
	polars) pkgs="nodejs-polars nodejs-polars-linux-x64-gnu" ;;
	esac
	for pkg in $pkgs; do
		v=$(pinned "$p" "$pkg")
		[ -n "$v" ] || die "no $pkg version in benchmarks/$p/package.json"
		WANT="$WANT $pkg@$v"
		[ "$(installed "$pkg")" = "$v" ] || STALE="$STALE $pkg@$v"
	done
done
if [ -n "$STALE" ]; then
	echo "compare: npm install -E$WANT into $NODE_DIR (missing or another version:$STALE)"
	# shellcheck disable=SC2086 # one word per package
	npm install --prefix benchmarks --no-save --no-package-lock --no-audit --no-fund \
		--loglevel=error -E $WANT >/dev/null || die "npm install failed"
fi
DUCKVER=$(pinned duckdb @duckdb/node-api)
POLARSVER=$(pinned polars nodejs-polars)

# ---- data and rules ---------------------------------------------------------------
DATA=$(BUILD="$BUILD" ROWS="$ROWS" SEED="$SEED" sh benchmarks/bench.sh --data-only)
MANIFEST=$DATA/manifest.csv.gz
BYTES=$(cat "$DATA/bytes_csv")
rm -rf "$OUT"
mkdir -p "$TMP"
RULES=$OUT/rules-random0.ini
# the shipped rules with [random] rate = 0, for every engine
awk '/^[[:space:]]*\[/ { sect = tolower($0); gsub(/[][[:space:]]/, "", sect) }
	sect == "random" && /^[[:space:]]*rate[[:space:]]*=/ { print "rate = 0"; next } { print }' \
	data/rules.ini >"$RULES"
grep -q '^rate = 0$' "$RULES" || die "could not set [random] rate = 0 in $RULES"
# every consolidation, as the peers compute them (the engine's default may
# keep only LCL ones once --consolidations-filter exists)
FILTER=""
FILTER_NOTE="no --consolidations-filter option in this engine: every consolidation is written"
if "$EXAMRISK" score --help 2>&1 | grep -q -- '--consolidations-filter'; then
	FILTER="--consolidations-filter all"
	FILTER_NOTE="examrisk run with --consolidations-filter all (every consolidation, as the peers)"
fi

CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# the engine measured: commit, and whether its sources differ from it (read-only git)
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$REV" != unknown ] && [ -n "$(git --no-optional-locks status --porcelain -- engine include Makefile 2>/dev/null)" ]; then
	REV="$REV + uncommitted changes in engine/include/Makefile"
fi

# the columns of benchmarks/bench.sh's results.csv, then CPU seconds (user + sys)
echo "case,threads,rep,rows,bytes_csv,wall_s,rows_per_s,mb_per_s,peak_rss_kb,cpu_s" >"$CSV"
now() { date +%s.%N; }
measure() { # CASE REP CMD...
	m_case=$1 m_rep=$2
	shift 2
	t0=$(now)
	set +e
	/usr/bin/time -f '%M %U %S' -o "$TMP/time" "$@" >/dev/null 2>"$TMP/stderr"
	rc=$?
	set -e
	t1=$(now)
	if [ "$rc" -ne 0 ] && ! { [ "$m_case" = examrisk ] && [ "$rc" -eq 3 ]; }; then
		cat "$TMP/stderr" >&2
		die "$m_case (rep $m_rep) failed with exit $rc"
	fi
	# shellcheck disable=SC2046 # three numbers
	set -- $(tail -n 1 "$TMP/time")
	awk -f benchmarks/lib/result_line.awk -v c="$m_case" -v t="$THREADS" -v r="$m_rep" -v n="$ROWS" \
		-v b="$BYTES" -v t0="$t0" -v t1="$t1" -v rss="$1" \
		-v cpu="$(awk -v u="$2" -v s="$3" 'BEGIN {print u + s}')" >>"$CSV"
	tail -n 1 "$CSV" | awk -F, '{printf "  %-9s rep=%-2s wall=%7.3fs rows/s=%9s cpu=%6.2fs rss=%s KiB\n", $1, $3, $6, $7, $10, $9}'
}

run_examrisk() {
	# shellcheck disable=SC2086 # FILTER: zero or two words
	measure examrisk "$1" "$EXAMRISK" score --quiet --threads "$THREADS" \
		--participants "$DATA/participants.csv" --mra "$DATA/mra.csv" --rules "$RULES" \
		--out "$TMP/examrisk.csv.gz" --consolidations "$TMP/examrisk-consol.csv.gz" $FILTER "$MANIFEST"
}
run_peer() { # PEER REP
	measure "$1" "$2" node "benchmarks/$1/score.mjs" --threads "$THREADS" \
		--manifest "$MANIFEST" --participants "$DATA/participants.csv" --mra "$DATA/mra.csv" \
		--rules "$RULES" --out "$TMP/$1.csv.gz" --consolidations "$TMP/$1-consol.csv.gz"
}

echo "compare: $ROWS rows, $REPS reps, $THREADS threads; peers: $PEERS (DuckDB $DUCKVER, Polars $POLARSVER)"
cat "$MANIFEST" >/dev/null
rep=1
while [ "$rep" -le "$REPS" ]; do
	run_examrisk "$rep"
	for p in $PEERS; do run_peer "$p" "$rep"; done
	rep=$((rep + 1))
done

# ---- cross-check: each peer's outputs against examrisk's, row by row, column by column ----
# Both outputs are in a defined order (scores: input order; consolidations:
# examrisk's sort), so row k is compared with row k; a differing first column
# counts as an order mismatch. Probabilities are compared as printed (%.6f).
# `gzip -dcf`: examrisk may write plain text where a .gz name was given (see
# the note in the report).
is_gzip() { [ "$(head -c 2 "$1" | od -An -tx1 | tr -d ' \n')" = 1f8b ]; }
xcheck() { # PEER KIND (scores|consol) -> appends a summary line to $TMP/xcheck.txt, examples to $TMP/x-PEER-KIND.txt
	x_e=$TMP/examrisk.csv.gz x_p=$TMP/$1.csv.gz
	[ "$2" = consol ] && x_e=$TMP/examrisk-consol.csv.gz x_p=$TMP/$1-consol.csv.gz
	gzip -dcf "$x_e" >"$TMP/e.csv"
	gzip -dcf "$x_p" >"$TMP/p.csv"
	awk -v pfile="$TMP/p.csv" -v peer="$1" -v kind="$2" -v ex="$TMP/x-$1-$2.txt" '
	# split a CSV line into f[1..n] (quoted fields with "" inside); returns n
	function csv(s, f,   n, i, c, q, v) {
		n = 0; v = ""; q = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (q) { if (c == "\"") { if (substr(s, i + 1, 1) == "\"") { v = v c; i++ } else q = 0 } else v = v c }
			else if (c == "\"") q = 1
			else if (c == ",") { f[++n] = v; v = "" }
			else v = v c
		}
		f[++n] = v
		return n
	}
	NR == 1 {
		nh = csv($0, h)
		if ((getline d < pfile) <= 0 || d != $0) hdr_diff = 1
		next
	}
	{
		if ((getline d < pfile) <= 0) { only_e++; next }
		n++
		if (d == $0) { same++; for (k = 1; k <= nh; k++) ok[k]++; next }
		ne = csv($0, e); np = csv(d, p)
		if (e[1] != p[1]) order++
		for (k = 1; k <= nh; k++) if (e[k] == p[k]) ok[k]++
		if (shown++ < 5) printf "  examrisk: %s\n  %-8s: %s\n", $0, peer, d >> ex
	}
	END {
		while ((getline d < pfile) > 0) only_p++
		cols = ""
		for (k = 1; k <= nh; k++) if (ok[k] + 0 < n) cols = cols (cols ? " " : "") h[k] "=" n - ok[k]
		printf "%s %s %d %d %d %d %d %d %s\n", peer, kind, n, same, only_e + 0, only_p + 0, order + 0, hdr_diff + 0, (cols ? cols : "-")
	}' "$TMP/e.csv" >>"$TMP/xcheck.txt"
}
: >"$TMP/xcheck.txt"
for p in $PEERS; do
	xcheck "$p" scores
	xcheck "$p" consol
done
XFAIL=$(awk '$3 != $4 || $5 || $6 || $8 {f++} END {print f + 0}' "$TMP/xcheck.txt")
GZ_NOTE=""
for f in "$TMP/examrisk.csv.gz" "$TMP/examrisk-consol.csv.gz"; do
	is_gzip "$f" || GZ_NOTE="$GZ_NOTE $(basename "$f")"
done

# ---- report ------------------------------------------------------------------------
stat() { # case column -> "median best worst" (best = min for time, RSS, CPU; max for rows/s)
	awk -F, -v c="$1" -v k="$2" 'NR > 1 && $1 == c {print $k}' "$CSV" | sort -g |
		awk -v hi="$([ "$2" = 7 ] && echo 1 || echo 0)" '{v[NR] = $1}
		END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (hi) print m, v[NR], v[1]; else print m, v[1], v[NR]}'
}
{
	echo "# examrisk vs DuckDB and Polars: the full job"
	echo
	echo "- machine: $CPU, $CORES cores online, load average at start $LOAD (a shared machine: medians are noisy, best-of-$REPS is the goal's measure); $DATE; engine: $REV"
	echo "- data: \`$MANIFEST\` ($ROWS rows, $(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b / 1e6}') MB CSV, one gzip member, level 6)"
	echo "- job: gz in; scores and consolidations out, both gzip; every rule of data/rules.ini with [random] rate = 0 for all (\`$RULES\`); $FILTER_NOTE"
	echo "- examrisk: \`examrisk score --threads $THREADS --out scores.csv.gz --consolidations consol.csv.gz${FILTER:+ $FILTER}\`"
	echo "- DuckDB $DUCKVER: \`node benchmarks/duckdb/score.mjs --threads $THREADS ...\` (SQL; COPY ... (COMPRESSION gzip))"
	echo "- Polars $POLARSVER: \`node benchmarks/polars/score.mjs --threads $THREADS ...\` (nodejs-polars; CSV gzipped by zlib)"
	echo "- $REPS repetitions, interleaved; wall time of the whole process; CPU = user + sys"
	echo
	echo "| engine | wall s median | wall s best | rows/s median | rows/s best | MB/s median | CPU s median | peak RSS MiB median |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for c in examrisk $PEERS; do
		# shellcheck disable=SC2046 # split on purpose: three numbers per column
		set -- $(stat "$c" 6) $(stat "$c" 7) $(stat "$c" 8) $(stat "$c" 10) $(stat "$c" 9)
		awk -v c="$c" -v w="$1" -v wb="$2" -v r="$4" -v rb="$5" -v mb="$7" -v cpu="${10}" -v rss="${13}" \
			'BEGIN {printf "| %s | %.3f | %.3f | %.0f | %.0f | %.1f | %.2f | %.1f |\n", c, w, wb, r, rb, mb, cpu, rss / 1024}'
	done
	echo
	echo "## Goals (issue 12)"
	echo
	echo "Ratio = peer wall time / examrisk wall time (= examrisk rows/s / peer rows/s); the goal is measured on the best of the $REPS runs of each, in one loop."
	echo
	echo "| goal | best of $REPS | medians | met |"
	echo "|---|---:|---:|---|"
	# shellcheck disable=SC2046
	set -- $(stat examrisk 6)
	for p in $PEERS; do
		g=$(goal_of "$p")
		# shellcheck disable=SC2046
		awk -v p="$p" -v g="$g" -v em="$1" -v eb="$2" $(stat "$p" 6 | awk '{print "-v pm=" $1 " -v pb=" $2}') 'BEGIN {
			name = (p == "duckdb") ? "DuckDB" : "Polars"
			printf "| examrisk >= %dx %s | %.2fx | %.2fx | %s |\n", g, name, pb / eb, pm / em, (pb / eb >= g) ? "met" : "not met"}'
	done
	awk -v f="$XFAIL" 'BEGIN {printf "| outputs identical to every peer (scores and consolidations, every column) | %s | | %s |\n", f ? f " comparison(s) differ" : "0 differences", f ? "not met" : "met"}'
	echo
	# CPU seconds suffer less from a shared machine than wall time: for the record
	printf "CPU seconds (user + sys), peer / examrisk, medians:"
	for p in $PEERS; do
		# shellcheck disable=SC2046
		awk -v p="$p" $(stat examrisk 10 | awk '{print "-v e=" $1}') $(stat "$p" 10 | awk '{print "-v c=" $1}') \
			'BEGIN {printf " %s %.2fx", p, (e > 0) ? c / e : 0}'
	done
	echo "."
	echo
	echo "## Cross-check (last repetition; row k against row k, every column)"
	echo
	echo "| peer | output | rows compared | identical rows | rows only in examrisk | only in peer | first-column (order) mismatches | header differs | columns with differences (rows) |"
	echo "|---|---|---:|---:|---:|---:|---:|---|---|"
	awk '{cols = $9; for (i = 10; i <= NF; i++) cols = cols " " $i
		printf "| %s | %s | %d | %d | %d | %d | %d | %s | %s |\n", $1, ($2 == "consol") ? "consolidations" : "scores", $3, $4, $5, $6, $7, $8 ? "yes" : "no", cols}' "$TMP/xcheck.txt"
	for f in "$TMP"/x-*.txt; do
		[ -s "$f" ] || continue
		echo
		echo "First differences, $(basename "$f" .txt | sed 's/^x-//; s/-consol$/ consolidations/; s/-scores$/ scores/'):"
		echo
		echo '```'
		cat "$f"
		echo '```'
	done
	if [ -n "$GZ_NOTE" ]; then
		echo
		echo "Note: examrisk wrote plain text, not gzip, to:$GZ_NOTE (the engine's behaviour for a .gz name at this commit); it does less work than the peers there."
	fi
} >"$MD"
rm -f "$TMP/e.csv" "$TMP/p.csv"
echo "compare: wrote $CSV, $MD"
echo
cat "$MD"
[ "$XFAIL" -eq 0 ] || die "cross-check: $XFAIL comparison(s) differ (see $MD)"
