#!/bin/sh
# pair.sh DIR1 DIR2 INPUT CMD...: run `CMD --out DIR/scores.csv.gz
# --consolidations DIR/consol.csv.gz INPUT` for DIR1 and DIR2 at once (the
# bench's score_pair case). Exits with the first job's status when it is not
# 0, else the second's, so a failure of either is never lost.
[ $# -ge 4 ] || { echo "usage: pair.sh DIR1 DIR2 INPUT CMD..." >&2; exit 2; }
d1=$1 d2=$2 in=$3
shift 3
"$@" --out "$d1/scores.csv.gz" --consolidations "$d1/consol.csv.gz" "$in" &
p1=$!
"$@" --out "$d2/scores.csv.gz" --consolidations "$d2/consol.csv.gz" "$in" &
p2=$!
r1=0 r2=0
wait "$p1" || r1=$?
wait "$p2" || r2=$?
[ "$r1" -ne 0 ] && exit "$r1"
exit "$r2"
