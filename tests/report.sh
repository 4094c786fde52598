#!/bin/sh
# The HTML run report, checked in a real browser (headless Chromium): the page
# loads with no request and no error, every number it shows equals the
# summary's (read back from the DOM through the page's data-k / data-h /
# data-c / data-p marks, compared with jq and an independent CSV reading),
# its screenshots at desktop and phone widths are not blank and show the
# charts' colours, and its text is a golden (timing figures stripped).
# Also: score --report = report from the run's own outputs, --history files
# and the trend, escaping, atomic commit, older and newer summaries.
# Run from the repository root: BUILD=build sh tests/report.sh
# Without chromium, jq or python3 it skips, unless REQUIRE_BROWSER=1 (make test).
# Under a sanitizer (SAN set) it runs every examrisk command but not the
# browser: Chromium checks the page, not the C that writes it, and the
# normal build's run has checked it in the browser.
set -u
BUILD=${BUILD:-build}
BIN=$(cd "$BUILD" && pwd)/examrisk
ROOT=$(pwd)
CHECK="python3 $ROOT/tests/report_check.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/er-report.XXXXXX")
[ -n "${KEEP_REPORT_TMP:-}" ] || trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
BROWSER=1; [ -z "${SAN:-}" ] || BROWSER=0
TOOLS="chromium jq python3"; [ $BROWSER = 1 ] || TOOLS=jq
for tool in $TOOLS; do
	if ! command -v $tool >/dev/null 2>&1; then
		if [ "${REQUIRE_BROWSER:-0}" = 1 ]; then echo "report: FAIL: $tool not installed" >&2; exit 1; fi
		echo "report: SKIPPED: $tool not installed ('make test' installs it)"; exit 0
	fi
done
browser() { # browser LOG ARGS...: headless Chromium, its messages in LOG
	log=$1; shift
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/profile.XXXXXX")" --enable-logging=stderr --v=0 "$@" 2>"$log"
}

# Every run inside $T with relative names, so the page's text does not depend on $T.
G=$ROOT/tests/golden/basic
cp $G/manifest.csv $G/participants.csv $G/rules.ini "$T/"
cp "$ROOT/data/mra.csv" "$T/"
cd "$T" || exit 1
TABLES="--participants participants.csv --mra mra.csv --rules rules.ini --threads 2"
head -20 manifest.csv >early.csv            # night 1: fewer rows, no rejects
grep -v 'S011' manifest.csv >middle.csv     # night 2: one shipment fewer

# ------------------------------------------------ three nights of history
expect_rc "night 1" 0 $BIN score $TABLES --quiet --out s1.csv --summary sum1.json --history hist early.csv
expect_rc "night 2" 3 $BIN score $TABLES --quiet --out s2.csv --summary sum2.json --history hist middle.csv
expect_rc "night 3 with --report" 3 $BIN score $TABLES --quiet --out s3.csv --summary sum3.json \
	--consolidations c3.csv --report score.html --history hist manifest.csv
ls hist >hist.list
expect "history: one file per run" [ "$(wc -l <hist.list)" -eq 3 ]
expect "history: sortable names" sh -c '! grep -Ev "^examrisk-[0-9]{8}T[0-9]{6}\.[0-9]{6}Z\.json$" hist.list'
i=1
for f in $(cat hist.list); do
	expect "history file $i is night $i's summary" same "hist/$f" "sum$i.json"
	i=$((i + 1))
done
expect_rc "partner audit" 3 $BIN partners $TABLES --quiet --out p3.csv manifest.csv

# ------------------------------------------------------- examrisk report
expect_rc "report" 0 $BIN report --history hist --out report.html sum3.json c3.csv p3.csv
expect_rc "report, partners CSV first" 0 $BIN report --history hist --out swapped.html sum3.json p3.csv c3.csv
expect "CSVs told apart by header" same report.html swapped.html
expect_rc "report without partners" 0 $BIN report --history hist --out nopartners.html sum3.json c3.csv
expect "score --report = report from the run's outputs" same score.html nopartners.html
# The report reads the consolidations in the internal ',' form, whatever the output dialect.
expect_rc "score --report, ';' and Excel outputs" 3 $BIN score $TABLES --quiet --out-delimiter ';' --excel \
	--out s3semi.csv --summary sumsemi.json --consolidations c3semi.csv --report semi.html manifest.csv
expect "';' outputs really recoded" grep -q 'consolidation;key_type;' c3semi.csv
expect_rc "report of the ';' run from the comma consolidations" 0 $BIN report --out semi2.html sumsemi.json c3.csv
expect "score --report with --out-delimiter = report from comma CSV" same semi.html semi2.html
expect_rc "partners --report" 3 $BIN partners $TABLES --quiet --out p3b.csv --summary ps.json --report partners.html manifest.csv
expect_rc "report of the partner run" 0 $BIN report --out partners2.html ps.json p3.csv
expect "partners --report = report from the run's outputs" same partners.html partners2.html
expect "partners --report lists the partners" grep -q 'data-c="0.party"' partners.html
expect "self-contained: no src, href or url()" sh -c '! grep -Eq "(src|href)=|url\(|<script" report.html'

# -------------------------------------------------------- in the browser
if [ $BROWSER = 1 ]; then
browser dom.log --dump-dom "file://$T/report.html" >dom.html
expect "browser: DOM dump" [ $? -eq 0 ]
expect "browser: page complete" grep -q '</footer>' dom.html
expect "browser: no console message or failed load" sh -c '! grep -Eiq "CONSOLE|Failed to load|net::ERR" dom.log'

$CHECK marks dom.html >marks.tsv
expect "marks: many numbers checked" [ "$(grep -c '^data-k' marks.tsv)" -ge 40 ]
# data-k: a JSON path of the summary; the value shown (separators dropped) is that value
nbad=0
while IFS='	' read -r attr key val text; do
	case $attr in
	data-k) want=$(jq -r --arg p "$key" 'getpath($p | split(".") | map(tonumber? // .))' sum3.json) ;;
	data-h) n=${key%%.*}; field=${key#*.}
		[ "$key" = runs ] && { want=$(wc -l <hist.list | tr -d ' '); } || {
			f=hist/$(sed -n "$((n + 1))p" hist.list)
			case $field in RED) want=$(jq .lanes.RED "$f") ;; *) want=$(jq ".$field" "$f") ;; esac; } ;;
	*) continue ;;
	esac
	if ! awk -v a="$val" -v b="$want" 'BEGIN { exit !(a + 0 == b + 0 && b != "null") }'; then
		echo "    $attr $key: page $val, summary $want"; nbad=$((nbad + 1)); continue
	fi
	# the text shows the same number (thousands separators, a unit after a space), rounded to
	# the decimals it shows
	shown=$(printf '%s' "$text" | sed 's/,//g; s/ .*//')
	awk -v s="$shown" -v v="$val" 'BEGIN { d = index(s, ".") ? length(s) - index(s, ".") : 0
		x = s - v; if (x < 0) x = -x; exit !(s ~ /^-?[0-9]+(\.[0-9]+)?$/ && x <= 0.5 / 10 ^ d + 1e-9) }' ||
		{ echo "    $key: shows '$text', value $val"; nbad=$((nbad + 1)); }
done <marks.tsv
expect "every number shown equals the summary's" [ "$nbad" -eq 0 ]
expect "marks: the lanes are there" grep -q '^data-k	lanes.RED	' marks.tsv
expect "marks: the trend covers three runs" grep -q '^data-h	runs	3	' marks.tsv

# data-c / data-p: the consolidation and partner tables against the CSVs, read independently
{ $CHECK csvtop consolidations c3.csv; $CHECK csvtop partners p3.csv; } | sort >csv.expected
awk -F'\t' '$1 == "data-c" || $1 == "data-p" { print $2 "\t" ($3 != "" ? $3 : $4) }' marks.tsv | sort >csv.shown
expect "tables: rows and counts equal the CSVs" same csv.expected csv.shown
expect "tables: the LCL consolidation with its driver" grep -q '^0.driver_shipment_id	S011$' csv.shown

$CHECK text dom.html >report.txt
golden "report text" report.txt "$ROOT/tests/golden/report/expected.report.txt"

for size in 1280,2400 390,4200; do
	browser shot.log --screenshot="$T/shot-$size.png" --window-size=$size "file://$T/report.html" >shot.out
	expect "browser: screenshot $size" [ $? -eq 0 ]
	$CHECK colours "shot-$size.png" c62828 2e7d32 1f5f9e >colours.txt
	expect "screenshot $size: not blank" [ "$(head -1 colours.txt)" -ge 50 ]
	expect "screenshot $size: RED, GREEN and series colours drawn" [ "$(grep -c yes colours.txt)" -eq 3 ]
done

browser pdf.log --no-pdf-header-footer --print-to-pdf="$T/report.pdf" "file://$T/report.html" >pdf.out
expect "browser: prints" [ $? -eq 0 ]
pages=$(( $(grep -ao '/Type */Page' report.pdf | wc -l) - $(grep -ao '/Type */Pages' report.pdf | wc -l) ))
expect "printed: at least two pages" [ "$pages" -ge 2 ]
else
	echo "report: the browser checks are the normal build's (SAN=$SAN)"
fi

# ------------------------------------------------------------- behaviour
# escaping: a file name with markup shows as text
cp early.csv 'a<b>&"x.csv'
expect_rc "markup in a file name" 0 $BIN score $TABLES --quiet --out sx.csv --summary sx.json 'a<b>&"x.csv'
expect_rc "report of it" 0 $BIN report --out x.html sx.json
expect "file name escaped" grep -q 'a&lt;b&gt;&amp;&quot;x.csv' x.html
expect "no raw markup from data" sh -c '! grep -q "a<b>" x.html'

# --history-max N reads the last N files of the folder at most; unreadable ones are skipped and said
expect_rc "report --history-max 2" 0 $BIN report --history hist --history-max 2 --out max2.html sum3.json
expect "history-max: two runs" grep -q 'data-h="runs" data-v="2"' max2.html
cp -r hist hist2; printf 'not json' >hist2/examrisk-99999999T999999.000000Z.json
expect_rc "report --history-max 3, one unreadable" 0 $BIN report --history hist2 --history-max 3 --out max3.html sum3.json
expect "history-max 3: night 2 and this run" grep -q 'data-h="runs" data-v="2"' max3.html
expect "unreadable history file said" grep -q '1 unreadable file skipped' max3.html
expect_rc "report, no history yet" 0 $BIN report --history no-such-dir --out first.html sum3.json
expect "no history: a trend of one run" grep -q 'data-h="runs" data-v="1"' first.html

gzip -c manifest.csv | head -c 500 >trunc.csv.gz
# --keep-going: the failed file is in the report with its error
expect_rc "keep-going run" 3 $BIN score $TABLES --quiet --keep-going --out sk.csv --summary sk.json \
	--report kept.html trunc.csv.gz manifest.csv
expect "failed file shown as failed" grep -q 'class="status-failed">failed<br><small>trunc.csv.gz: gzip' kept.html

# a failed run commits neither its report nor its history file
expect_rc "failed run" 1 $BIN score $TABLES --quiet --out sf.csv --report failed.html --history hist trunc.csv.gz
expect "failed run: no report" [ ! -e failed.html ]
expect "failed run: no history file" [ "$(ls -A hist | wc -l)" -eq 3 ]
# a new --history folder is made only when the run commits
expect_rc "failed run, new history folder" 1 $BIN score $TABLES --quiet --out sf.csv --history newh1 trunc.csv.gz
expect "failed run: no new history folder" [ ! -e newh1 ]
expect_rc "usage error at run start, new history folder" 2 $BIN score $TABLES --quiet --out manifest.csv --history newh2 manifest.csv
expect "usage error: no new history folder" [ ! -e newh2 ]
expect_rc "history folder whose parent is missing" 1 $BIN score $TABLES --quiet --out sf.csv --history no-such/h manifest.csv
expect "missing parent: said at the start" grep -q "^examrisk: error: no-such/h: cannot create the history folder: No such file or directory" "$T/last.err"
expect "missing parent: scores not committed" [ ! -e sf.csv ]
expect_rc "committed run, new history folder" 3 $BIN score $TABLES --quiet --out sn.csv --summary sn.json --history newh3 manifest.csv
expect "committed run: the folder holds its summary alone" sh -c '[ "$(ls -A newh3 | wc -l)" -eq 1 ] && cmp -s newh3/examrisk-*.json sn.json'

# an older summary (fewer fields) and a newer one (more) both render, looked up by name
jq 'del(.first_rejects, .consolidations_found, .consolidations_left_out, .consolidations_filter, .lanes)' \
	sum3.json >old.json
expect_rc "older summary" 0 $BIN report --out old.html old.json
expect "older summary: no lanes section" sh -c '! grep -q "id=\"lanes\"" old.html'
jq '. + {started_at: "2026-12-01T02:00:00Z", exit_status: 3, command_line: ["examrisk", "score", "<x>"],
	sources: [{role: "mra", path: "mra.csv", bytes: 7708, sha256: "163ca7e06d0f", rows: 45},
		{role: "rules", path: "tuned.ini", calibration: {fitted_rows: 5000}}],
	engine: {version: "0.1.0", inflate: "zlib 1.2.13"},
	tables: {participants: {path: "participants.csv", rows: 41, sha256: "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"}},
	rules: {path: "rules.ini", sha256: "00ff", calibration: {rows: 1200, auc: 0.71}}}' sum3.json >new.json
expect_rc "newer summary" 0 $BIN report --out new.html new.json
expect "newer summary: command line shown, escaped" grep -q '<code data-timing="1">examrisk score &lt;x&gt;</code>' new.html
expect "newer summary: checksum shown" grep -q 'ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12' new.html
expect "newer summary: sources as a table" grep -q 'data-k="sources.0.rows" data-v="45"' new.html
expect "newer summary: engine backends" grep -q '<th>inflate</th><td>zlib 1.2.13</td>' new.html
expect "newer summary: table rows marked" grep -q 'data-k="tables.participants.rows" data-v="41"' new.html
expect "newer summary: calibration section" grep -q 'data-k="rules.calibration.rows" data-v="1200"' new.html
jq 'del(.rules)' new.json >new2.json
expect_rc "calibration on the rules source" 0 $BIN report --out new2.html new2.json
expect "calibration from sources" grep -q 'data-k="sources.1.calibration.fitted_rows" data-v="5000"' new2.html
expect "no calibration, no section" sh -c '! grep -q "id=\"calibration\"" report.html'

expect_rc "report: not JSON" 1 $BIN report --out bad.html c3.csv
expect "not JSON: message names the file" grep -q 'c3.csv:1: not a JSON summary' "$T/last.err"
expect_rc "report: not a consolidations CSV" 1 $BIN report --out bad.html sum3.json sum1.json
expect_rc "usage: score --report -" 2 $BIN score --report - manifest.csv
expect_rc "usage: report without summary" 2 $BIN report
expect_rc "usage: report --history-max 0" 2 $BIN report --history-max 0 sum3.json

echo "report: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
