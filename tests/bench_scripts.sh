#!/bin/sh
# Tests of the benchmark scripts' own parts that need no benchmark run: the
# results-CSV line (benchmarks/lib/result_line.awk, shared by bench.sh and
# compare.sh) and the two-jobs-at-once runner of the score_pair case
# (benchmarks/lib/pair.sh); and that bench.sh, compare.sh and plot.sh parse.
# Run from anywhere: sh tests/bench_scripts.sh
set -u
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d "${TMPDIR:-/tmp}/er-bench-scripts.XXXXXX")
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

# ---------------------------------------------------------------- result line
line() { # line ROWS BYTES RSS_KIB: the CSV line of a 25 s run
	awk -f benchmarks/lib/result_line.awk -v c=score_big -v t=2 -v r=1 -v n="$1" -v b="$2" \
		-v t0=1000.25 -v t1=1025.25 -v rss="$3" -v cpu=49.51
}
# 20M rows are 5.6 GB of CSV: past 2^31, where mawk's %d stopped (the recorded
# 20M line once said 2147483647 bytes)
expect "bytes past 2^31" [ "$(line 20000000 5602480628 60484)" = \
	"score_big,2,1,20000000,5602480628,25.0000,800000,224.1,60484,49.51" ]
expect "rows and peak RSS past 2^31" [ "$(line 3000000000 9000000000 3000000000)" = \
	"score_big,2,1,3000000000,9000000000,25.0000,120000000,360.0,3000000000,49.51" ]
# a clock that did not move: no division by zero, a finite line
z=$(awk -f benchmarks/lib/result_line.awk -v c=x -v t=1 -v r=1 -v n=10 -v b=100 -v t0=5 -v t1=5 -v rss=1 -v cpu=0)
expect "zero wall time" [ "$z" = "x,1,1,10,100,0.0000,10000000000,100000.0,1,0.00" ]

# ---------------------------------------------------------------- pair.sh
# A stand-in job: writes both outputs it is given, records that it ran, and
# exits with the status its directory's file "rc" holds (after a pause, so the
# two jobs overlap).
cat >"$T/job.sh" <<'JOB'
#!/bin/sh
out="" cons=""
while [ $# -gt 1 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--consolidations) cons=$2; shift 2 ;;
	*) shift ;;
	esac
done
d=$(dirname "$out")
echo "$1" >"$out"
echo "$1" >"$cons"
date +%s.%N >"$d/started"
sleep 0.3
exit "$(cat "$d/rc")"
JOB
pair() { # pair RC1 RC2: run pair.sh on the stand-in, each job exiting as told
	rm -rf "$T/a" "$T/b"
	mkdir -p "$T/a" "$T/b"
	echo "$1" >"$T/a/rc"
	echo "$2" >"$T/b/rc"
	sh benchmarks/lib/pair.sh "$T/a" "$T/b" input.csv.gz sh "$T/job.sh" --threads 1
}
expect_rc "pair: both succeed" 0 pair 0 0
for d in a b; do
	expect "pair: job $d wrote its scores" [ "$(cat "$T/$d/scores.csv.gz" )" = input.csv.gz ]
	expect "pair: job $d wrote its consolidations" [ -s "$T/$d/consol.csv.gz" ]
done
# they ran at once: the second started before the first could have ended
expect "pair: the jobs overlap" awk -v a="$(cat "$T/a/started")" -v b="$(cat "$T/b/started")" \
	'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 0.25) }'
expect_rc "pair: the first fails" 3 pair 3 0
expect "pair: the second still ran" [ -s "$T/b/scores.csv.gz" ]
expect_rc "pair: the second fails" 5 pair 0 5
expect_rc "pair: both fail, the first's status" 4 pair 4 5
expect_rc "pair: usage" 2 sh benchmarks/lib/pair.sh "$T/a" "$T/b"

# ---------------------------------------------------------------- the scripts parse
for s in benchmarks/bench.sh benchmarks/compare.sh benchmarks/plot.sh benchmarks/lib/pair.sh; do
	expect "sh -n $s" sh -n "$s"
done

echo "bench_scripts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
