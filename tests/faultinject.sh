#!/bin/sh
# Fault injection over a whole small run (issue 10): with the LD_PRELOAD shim
# (tests/faultinject.c) fail the Nth allocation, then the Nth write / fsync /
# rename / link / close, for every N the run reaches; then crash (SIGKILL) at
# every I/O point and let the next run recover. After each run:
#   - success (0 or 3): every output is exactly what an undisturbed run writes;
#   - failure: exit 1 or 2 with an "examrisk:" message, and every previous
#     output byte-identical;
#   - never a temporary, backup, lock or journal left beside the outputs.
# After a crash, a run that fails on a missing input (having recovered) must
# leave either all the previous outputs (or none, when there were none) or
# all the new ones, never a mix.
# Not under sanitizers (their runtimes must come first in the process).
set -u
BUILD=${BUILD:-build}
BIN=${BIN:-$BUILD/examrisk}
SO=$BUILD/tests/faultinject.so
if [ -n "${SAN:-}" ]; then echo "faultinject: skipped under SAN=$SAN"; exit 0; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/er-fi.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
G=tests/golden/basic
O=$T/out
mkdir -p "$O" "$T/prev" "$T/ref"
OUTS="s.csv.gz r.csv c.csv q.csv sum.json"
run() { # run [env...]: the small run into $O
	env "$@" $BIN score --participants $G/participants.csv --mra data/mra.csv --rules $G/rules.ini \
		--threads 1 --quiet --out "$O/s.csv.gz" --rejects "$O/r.csv" --consolidations "$O/c.csv" \
		--queue "$O/q.csv" --summary "$O/sum.json" "$IN" >"$T/out.txt" 2>"$T/err.txt"
}
strip() { grep -v -e '"elapsed_s"' -e '"rows_per_s"' -e '"mb_per_s"' -e '"started_at"' -e '"finished_at"' "$1"; }
# Yesterday's outputs (from other input) and today's expected ones.
head -12 $G/manifest.csv >"$T/yesterday.csv"
IN=$T/yesterday.csv; run; for f in $OUTS; do cp "$O/$f" "$T/prev/$f"; done
IN=$G/manifest.csv; run; for f in $OUTS; do cp "$O/$f" "$T/ref/$f"; done
strip "$T/ref/sum.json" >"$T/ref.sum"
restore() { for f in $OUTS; do cp "$T/prev/$f" "$O/$f"; done; }
is_set() { # is_set DIR: the outputs are exactly DIR's
	for f in s.csv.gz r.csv c.csv q.csv; do cmp -s "$O/$f" "$1/$f" || return 1; done
	if [ "$1" = "$T/ref" ]; then strip "$O/sum.json" | cmp -s - "$T/ref.sum"; else cmp -s "$O/sum.json" "$1/sum.json"; fi
}
leftovers() { ls -A "$O" | grep -v -x -e s.csv.gz -e r.csv -e c.csv -e q.csv -e sum.json; }
check() { # check WHAT RC
	if [ "$2" -eq 0 ] || [ "$2" -eq 3 ]; then
		is_set "$T/ref" || { bad "$1: exit $2 but outputs differ from an undisturbed run"; return; }
	elif [ "$2" -eq 1 ] || [ "$2" -eq 2 ]; then
		grep -q '^examrisk: ' "$T/err.txt" || { bad "$1: exit $2 without a message"; return; }
		is_set "$T/prev" || { bad "$1: failed but previous outputs changed"; sed 's/^/    /' "$T/err.txt"; return; }
	else
		bad "$1: exit $2"; sed 's/^/    /' "$T/err.txt" | head -3; return
	fi
	if [ -n "$(leftovers)" ]; then bad "$1: left $(leftovers | tr '\n' ' ')"; restore; rm -f "$O"/.??*; return; fi
	ok
}

restore
run ER_FI_COUNT="$T/count" LD_PRELOAD=$SO
read nalloc nio <"$T/count"
expect "shim counts calls" [ "$nalloc" -gt 100 ] && [ "$nio" -gt 20 ]
failed_runs=0
n=1
while [ $n -le $((nalloc + 5)) ]; do
	restore; run ER_FI_ALLOC=$n LD_PRELOAD=$SO; rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 3 ] && failed_runs=$((failed_runs + 1))
	check "allocation $n of $nalloc" $rc
	n=$((n + 1))
done
for err in 5 28; do # EIO, ENOSPC
	n=1
	while [ $n -le $((nio + 2)) ]; do
		restore; run ER_FI_IO=$n ER_FI_ERRNO=$err LD_PRELOAD=$SO; rc=$?
		[ $rc -ne 0 ] && [ $rc -ne 3 ] && failed_runs=$((failed_runs + 1))
		check "I/O call $n of $nio (errno $err)" $rc
		n=$((n + 1))
	done
done
# Many points must really fail the run (the shim works and errors are seen).
expect "most injected faults fail the run" [ $failed_runs -gt $((nio + nalloc / 2)) ]

# A crash at every I/O point, then a run that recovers and fails on a missing input.
n=1
while [ $n -le "$nio" ]; do
	restore; run ER_FI_IO=$n ER_FI_KILL=1 LD_PRELOAD=$SO; rc=$?
	IN=$T/no-such-input.csv; run; rc2=$?; IN=$G/manifest.csv
	if [ $rc -ne 137 ] && [ $rc -ne 3 ]; then bad "crash at $n: exit $rc"
	elif [ $rc2 -ne 1 ]; then bad "after crash at $n: exit $rc2"; sed 's/^/    /' "$T/err.txt" | head -3
	elif ! is_set "$T/prev" && ! is_set "$T/ref"; then bad "crash at $n: outputs are a mix of two runs"
	elif [ -n "$(leftovers)" ]; then bad "crash at $n: left $(leftovers | tr '\n' ' ')"; rm -f "$O"/.??*
	else ok; fi
	n=$((n + 1))
done
# The same with outputs that did not exist before: a rollback removes them.
none() { for f in $OUTS; do [ ! -e "$O/$f" ] || return 1; done; }
n=1
while [ $n -le "$nio" ]; do
	rm -f "$O"/*; run ER_FI_IO=$n ER_FI_KILL=1 LD_PRELOAD=$SO; rc=$?
	IN=$T/no-such-input.csv; run; rc2=$?; IN=$G/manifest.csv
	if [ $rc -ne 137 ] && [ $rc -ne 3 ]; then bad "crash at $n (new outputs): exit $rc"
	elif [ $rc2 -ne 1 ]; then bad "after crash at $n (new outputs): exit $rc2"; sed 's/^/    /' "$T/err.txt" | head -3
	elif ! none && ! is_set "$T/ref"; then bad "crash at $n (new outputs): some outputs created, not all"
	elif [ -n "$(leftovers)" ]; then bad "crash at $n (new outputs): left $(leftovers | tr '\n' ' ')"; rm -f "$O"/.??*
	else ok; fi
	n=$((n + 1))
done
echo "faultinject: $pass passed, $fail failed ($nalloc allocations, $nio I/O calls)"
[ "$fail" -eq 0 ]
