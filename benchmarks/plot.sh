#!/bin/sh
# plot.sh - draws the benchmark figure from result CSVs alone (runs nothing):
#   top:    rows/s against threads (medians, min-max bars), each baseline
#           (gzip -dc, the engine's reader with zlib and with ISA-L: the
#           inflate floor) a labelled horizontal line
#   bottom: the peer comparison (examrisk vs DuckDB vs Polars, the same job):
#           wall time and peak memory, whatever engines compare.csv holds
# usage: plot.sh BENCH_CSV COMPARE_CSV PNG [SUBTITLE]
# (`make plot` = bench.sh --plot: benchmarks/results/*.csv -> rows_per_s.png)
set -eu
[ $# -ge 3 ] || { echo "usage: plot.sh BENCH_CSV COMPARE_CSV PNG [SUBTITLE]" >&2; exit 2; }
B=$1 C=$2 PNG=$3 SUB=${4:-}
[ -f "$B" ] || { echo "plot: $B missing" >&2; exit 1; }
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "plot: installing gnuplot-nox" >&2
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox; } >/dev/null ||
		{ echo "plot: could not install gnuplot-nox" >&2; exit 1; }
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/er-plot.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# medcol COL FILE: per (case, threads) "case threads median min max n" of CSV column COL
medcol() {
	tail -n +2 "$2" | sort -t, -k1,1 -k2,2n -k"$1","$1"g | awk -F, -v c="$1" '
	function flush() { if (n) { m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2; print k, m, v[1], v[n], n } }
	{ key = $1 " " $2; if (key != k) { flush(); k = key; n = 0 } v[++n] = $c }
	END { flush() }'
}
# 1234567 -> 1,234,567
COMMAS='function commas(x,   s, r) { s = sprintf("%.0f", x); r = ""
	while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
	return s r }'

medcol 7 "$B" >"$TMP/rps"
ROWS=$(awk -F, 'NR > 1 && $1 == "score" {print $4; exit}' "$B")
REPS=$(awk '$1 == "score" {print $6; exit}' "$TMP/rps")
MAXT=$(awk '$1 == "score" && $2 > m {m = $2} END {print m + 0}' "$TMP/rps")
[ "$MAXT" -ge 1 ] || { echo "plot: no score rows in $B" >&2; exit 1; }
awk "$COMMAS"' $1 == "score" {print $2, $3, $4, $5, "\"" commas($3) "\""}' "$TMP/rps" >"$TMP/score.dat"
awk "$COMMAS"' $1 == "score_nocons" {print $2, $3, $4, $5, "\"" commas($3) "\""}' "$TMP/rps" >"$TMP/nocons.dat"
base() { awk -v c="$1" '$1 == c {print $3; exit}' "$TMP/rps"; }
GZ=$(base gzip_dc) ZLIB=$(base inflate_zlib) ISAL=$(base inflate_isal)

# y axis: 0 to above the highest value, tics every "nice" step, labels with commas
YMAX=$(awk -v a="${GZ:-0}" -v b="${ZLIB:-0}" -v c="${ISAL:-0}" '{ if ($4 > m) m = $4 } END {
	if (a > m) m = a; if (b > m) m = b; if (c > m) m = c; if (a / 0.6 > m) m = a / 0.6; print m * 1.12 }' "$TMP/score.dat" "$TMP/nocons.dat")
YTICS=$(awk -v ymax="$YMAX" "$COMMAS"' BEGIN {
	split("1 2 2.5 5", f, " "); step = 0
	for (p = 1; !step; p *= 10) for (i = 1; i <= 4; i++) if (!step && ymax / (f[i] * p) <= 8) step = f[i] * p
	s = ""; for (y = 0; y <= ymax; y += step) s = s (s ? ", " : "") "\"" commas(y) "\" " y
	print "(" s ")" }')

baseline() { # NAME VALUE COLOR [right] -> gnuplot label + arrow for a horizontal line
	[ -n "$2" ] || return 0
	awk -v n="$1" -v v="$2" -v c="$3" -v side="${4:-left}" "$COMMAS"' BEGIN {
		printf "set arrow from graph 0, first %s to graph 1, first %s nohead lw 2 dt 2 lc rgb \"%s\" back\n", v, v, c
		printf "set label \"%s: %s rows/s\" at graph %s, first %s offset 0,0.75 %s textcolor rgb \"%s\"\n", n, commas(v), side == "right" ? "0.99" : "0.01", v, side, c }'
}
{
	baseline "gzip -dc (decompression alone)" "$GZ" "#7a7a7a"
	baseline "inflate floor: the engine's reader alone, zlib" "$ZLIB" "#b8860b"
	baseline "inflate floor: the engine's reader alone, ISA-L (the default)" "$ISAL" "#2e8b57"
	# issue 12's goal: the full job in <= 0.6x the wall time of gzip -dc
	[ -z "$GZ" ] || baseline "goal: full job in 0.6x the wall time of gzip -dc" "$(awk -v g="$GZ" 'BEGIN {printf "%.0f", g / 0.6}')" "#8b0000" right
} >"$TMP/baselines.gp"

# ---- peer comparison: median wall and peak RSS per engine, in a fixed order
HAVE_CMP=0
if [ -f "$C" ] && [ "$(wc -l <"$C")" -gt 1 ]; then
	HAVE_CMP=1
	medcol 6 "$C" >"$TMP/cwall"
	medcol 9 "$C" >"$TMP/crss"
	CROWS=$(awk -F, 'NR == 2 {print $4}' "$C")
	CTHR=$(awk -F, 'NR == 2 {print $2}' "$C")
	CREPS=$(awk 'NR == 1 {print $6}' "$TMP/cwall")
	# medcol lines: case threads median min max n
	awk 'NR == FNR {rss[$1] = $3 / 1024; next}
	function name(e) {
		if (e == "examrisk_consol") return "examrisk\\n+ consolidations"
		if (e == "duckdb") return "DuckDB"
		if (e == "polars") return "Polars"
		return e
	}
	function rank(e) { return (e == "examrisk") ? 1 : (e == "examrisk_consol") ? 2 : (e == "duckdb") ? 3 : (e == "polars") ? 4 : 5 }
	{ printf "%d \"%s\" %s %.1f\n", rank($1), name($1), $3, rss[$1] }' "$TMP/crss" "$TMP/cwall" |
		sort -k1,1n >"$TMP/cmp.dat"
	PEERS=$(awk '{gsub(/"/, "", $2); if ($2 !~ /^examrisk/) s = s (s ? ", " : "") $2} END {print s}' "$TMP/cmp.dat")
	if grep -q '"Polars"' "$TMP/cmp.dat"; then POLARS=""; else POLARS="\\nPolars: not measured yet (compare.csv has no polars rows)"; fi
fi

SUBLINE=${SUB:+\\n$SUB}
{
	cat <<EOF
set terminal pngcairo size 1100,900 font "sans,10"
set output "$PNG"
set multiplot
set size 1, 0.56
set origin 0, 0.44
set title "examrisk score: $(awk -v r="$ROWS" "$COMMAS"' BEGIN {print commas(r)}') rows, gz in and out, every rule, --consolidations; medians of $REPS runs (bars: min-max)$SUBLINE"
set xlabel "worker threads (--threads)"
set ylabel "rows per second"
set xrange [0.5:$MAXT + 0.5]
set xtics 1
set yrange [0:$YMAX]
set ytics $YTICS
set grid ytics lc rgb "#dddddd"
set key outside below center horizontal box
set lmargin 14
set bmargin 6
set style textbox opaque noborder
EOF
	cat "$TMP/baselines.gp"
	cat <<EOF
plot "$TMP/score.dat" using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 1.2 lc rgb "#1f4e9c" title "examrisk score (with --consolidations)", \\
     "" using 1:2:5 with labels boxed left offset char 1.5,0 textcolor rgb "#1f4e9c" notitle, \\
     "$TMP/nocons.dat" using 1:2:3:4 with yerrorbars lw 2 pt 5 ps 1.2 lc rgb "#c0392b" title "examrisk score without --consolidations", \\
     "" using 1:2:5 with labels boxed center offset char 0,1.4 textcolor rgb "#c0392b" notitle
unset arrow
unset label
unset xlabel
unset grid
set key off
EOF
	if [ "$HAVE_CMP" = 1 ]; then
		cat <<EOF
set style fill solid 0.75 border -1
set boxwidth 0.6
set xrange [-0.6:*]
set xtics ()
set yrange [0:*]
set ytics auto
set grid ytics lc rgb "#dddddd"
set lmargin 10
set size 0.5, 0.36
set origin 0, 0.01
set label 1 "Peer comparison: examrisk vs $PEERS, the same job (scores and consolidations, both gzip), $(awk -v r="$CROWS" "$COMMAS"' BEGIN {print commas(r)}') rows, $CTHR threads, medians of $CREPS$POLARS" at screen 0.5, screen 0.405 center font ",11"
set title "wall time (lower is better)"
set ylabel "seconds"
set offsets 0, 0, graph 0.15, 0
plot "$TMP/cmp.dat" using 0:3:xtic(2) with boxes lc rgb "#5b7db1", \\
     "" using 0:3:(sprintf("%.1f s", \$3)) with labels offset 0,0.8
set origin 0.5, 0.01
unset label 1
set title "peak memory: peak RSS from /usr/bin/time (lower is better)"
set ylabel "MiB"
plot "$TMP/cmp.dat" using 0:4:xtic(2) with boxes lc rgb "#8e6bb0", \\
     "" using 0:4:(sprintf("%.0f MiB", \$4)) with labels offset 0,0.8
EOF
	else
		cat <<EOF
set size 1, 0.42
set origin 0, 0.01
set title "Peer comparison: no compare.csv (run make bench-compare)"
unset border
unset tics
plot [0:1][0:1] NaN notitle
EOF
	fi
	echo "unset multiplot"
} >"$TMP/plot.gp"
gnuplot "$TMP/plot.gp"
echo "plot: wrote $PNG"
