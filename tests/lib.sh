# Assertion helpers shared by the shell test suites (sourced, POSIX sh).
# The sourcing script sets T (a scratch directory) before calling expect_rc.
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect NAME COMMAND...: the command must succeed
expect() { n=$1; shift; if "$@"; then ok; else bad "$n"; fi; }
# expect_rc NAME RC COMMAND...: the command must exit with RC (output in $T/last.out, $T/last.err)
expect_rc() {
	n=$1; want=$2; shift 2
	"$@" >"$T/last.out" 2>"$T/last.err"; got=$?
	if [ "$got" -eq "$want" ]; then ok; else bad "$n: exit $got, want $want"; sed 's/^/    /' "$T/last.err" | head -5; fi
}
# same A B: identical files (shows the first differences when not)
same() { cmp -s "$1" "$2" || { echo "    differ: $1 $2"; diff "$1" "$2" | head -5; return 1; }; }
differ() { ! cmp -s "$1" "$2"; }
# golden NAME ACTUAL EXPECTED: byte-exact, or with UPDATE_GOLDEN=1 rewrite EXPECTED
golden() {
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$2" "$3"; ok; return; fi
	if cmp -s "$2" "$3"; then ok; else bad "golden $1"; diff "$3" "$2" | head -10; fi
}

# A quote-aware split of one CSV record into f[1..n] (awk), shared by the suites.
AWK_SPLITCSV='
function splitcsv(s, f,    n, i, c, inq, cur, L) {
	n = 0; cur = ""; inq = 0; L = length(s)
	for (i = 1; i <= L; i++) {
		c = substr(s, i, 1)
		if (inq) {
			if (c == "\"") {
				if (substr(s, i + 1, 1) == "\"") { cur = cur c; i++ } else inq = 0
			} else cur = cur c
		} else if (c == "\"") inq = 1
		else if (c == ",") { f[++n] = cur; cur = "" }
		else cur = cur c
	}
	f[++n] = cur
	return n
}
'
