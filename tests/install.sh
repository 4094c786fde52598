#!/bin/sh
# make install / uninstall, staged with DESTDIR: the layout, the SONAME, the
# installed binary run from another directory, where it finds its data, and
# a program built against the installed library with pkg-config (shared and
# static). Run from the repository root: BUILD=build sh tests/install.sh
set -u
BUILD=${BUILD:-build}
T=$(mktemp -d "${TMPDIR:-/tmp}/er-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
SRC=$(pwd)
CC=${CC:-cc}
# a sanitizer build's library needs its runtime in the programs built on it
SANFLAGS=${SAN:+-fsanitize=$SAN}
MK="make --no-print-directory BUILD=$BUILD"
VERSION=$(sed -n 's/^#define ER_VERSION_STRING "\(.*\)"/\1/p' include/examrisk.h)
MAJOR=${VERSION%%.*}
P=/usr/local                 # the default PREFIX: compiled into the binary
S=$T/stage                   # DESTDIR: staging only, not compiled in
D=$S$P

# ------------------------------------------------------------------ layout
expect_rc "make install DESTDIR" 0 $MK install DESTDIR="$S"
for f in bin/examrisk bin/examrisk-gen lib/libexamrisk.a lib/libexamrisk.so.$VERSION \
	include/examrisk.h lib/pkgconfig/examrisk.pc share/examrisk/participants.csv \
	share/examrisk/mra.csv share/examrisk/rules.ini share/examrisk/schedule_k.csv \
	share/examrisk/sample/manifest.csv.gz \
	share/man/man1/examrisk.1 share/man/man5/examrisk-rules.5 share/doc/examrisk/LICENSE \
	share/doc/examrisk/CHANGELOG.md share/doc/examrisk/README.md; do
	expect "installed $f" [ -f "$D/$f" ]
done
expect "libexamrisk.so.$MAJOR -> libexamrisk.so.$VERSION" [ "$(readlink "$D/lib/libexamrisk.so.$MAJOR")" = "libexamrisk.so.$VERSION" ]
expect "libexamrisk.so -> libexamrisk.so.$MAJOR" [ "$(readlink "$D/lib/libexamrisk.so")" = "libexamrisk.so.$MAJOR" ]
expect "SONAME libexamrisk.so.$MAJOR" sh -c "readelf -d '$D/lib/libexamrisk.so.$VERSION' | grep -q 'SONAME.*\[libexamrisk.so.$MAJOR\]'"
expect "the shared library exports the public API" sh -c "nm -D --defined-only '$D/lib/libexamrisk.so.$VERSION' | grep -q ' T er_score_row$'"
expect "and no engine internals" sh -c "! nm -D --defined-only '$D/lib/libexamrisk.so.$VERSION' | grep -q ' er_buf_grow$'"
expect "the shared library needs no test library" sh -c "! readelf -d '$D/lib/libexamrisk.so.$VERSION' | grep -q cmocka"
expect "examrisk.pc says where things are" grep -qx "includedir=$P/include" "$D/lib/pkgconfig/examrisk.pc"
for m in man1/examrisk.1 man5/examrisk-rules.5; do
	expect "installed $m formats" sh -c "groff -man -Tutf8 -P-cbou '$D/share/man/$m' 2>&1 | grep -q '^SEE ALSO'"
done
expect "data files are the source tree's" same data/rules.ini "$D/share/examrisk/rules.ini"

# ------------------------------------- the installed binary, from elsewhere
mkdir -p "$T/elsewhere"
cd "$T/elsewhere" || exit 1
expect_rc "installed binary, EXAMRISK_DATA unset" 0 env -u EXAMRISK_DATA "$D/bin/examrisk" score -q -o scores.csv \
	--summary summary.json "$D/share/examrisk/sample/manifest.csv.gz"
cd "$SRC" || exit 1
$BUILD/examrisk score -q -o "$T/ref.csv" data/sample/manifest.csv.gz
expect "same scores as the build tree" same "$T/ref.csv" "$T/elsewhere/scores.csv"
expect "the sample's 5,000 rows" grep -q '"rows_read": 5000,' "$T/elsewhere/summary.json"
expect_rc "installed binary with EXAMRISK_DATA" 0 sh -c "cd $T/elsewhere && EXAMRISK_DATA=$D/share/examrisk $D/bin/examrisk verify -q --on 2021-12-01 70-134422200"
# Staged, the compiled-in $P/share/examrisk is not this tree's: the binary
# found its data beside itself (BIN/../share/examrisk). Without that copy it
# lists every place it tried, the compiled-in one last.
mv "$D/share/examrisk" "$D/share/examrisk.away"
if [ ! -e "$P/share/examrisk/participants.csv" ]; then
	expect_rc "staged binary without its data" 1 sh -c "cd $T/elsewhere && env -u EXAMRISK_DATA $D/bin/examrisk score x.csv"
	expect "error lists every place looked" grep -qx "examrisk: error: participants.csv not found; looked in: $D/share/examrisk/participants.csv, $D/data/participants.csv, $S/usr/data/participants.csv, $P/share/examrisk/participants.csv (give --participants FILE, or set EXAMRISK_DATA to its directory)" "$T/last.err"
fi
mv "$D/share/examrisk.away" "$D/share/examrisk"

# ------------------------------------------ the compiled-in data directory
# A build for PREFIX=$T/prefix, installed there (no DESTDIR), and the binary
# then copied away from its tree: only the compiled-in path can find the data.
expect_rc "build and install with PREFIX" 0 make --no-print-directory BUILD="$T/build" PREFIX="$T/prefix" OPT=-O0 install
mkdir -p "$T/away/bin"
cp "$T/prefix/bin/examrisk" "$T/away/bin/examrisk"
expect_rc "copied binary finds the compiled-in data" 0 sh -c "cd $T/elsewhere && env -u EXAMRISK_DATA $T/away/bin/examrisk verify -q --on 2021-12-01 70-134422200"
expect "--help names the compiled-in directory" sh -c "$T/away/bin/examrisk --help | grep -q '($T/prefix/share/examrisk)'"

# --------------------------------------- a program built with pkg-config
ROW="shipment_id=KMGU4366823768 arrival_date=2024-06-12 master_bill=KMGU8644548876 container_id=KMGU8195185
load_type=FCL mode=vessel origin_country=FI shipper_country=FI importer_id=27-411795200 shipper_id=FIORUGRO6842HEL
manufacturer_id=FIORUGRO6842HEL carrier_scac=KMGU hs_code=320910 filed_at=2024-05-31T00:46:40Z departure_at=2024-05-30T19:14:00Z"
ROW2="shipment_id=S2 arrival_date=2021-12-01 mode=truck load_type=LCL importer_id=70-134422200 hs_code=93"
export PKG_CONFIG_PATH="$D/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$S"
expect "pkg-config knows examrisk $VERSION" [ "$(pkg-config --modversion examrisk)" = "$VERSION" ]
LIBS=$(pkg-config --libs examrisk)
CFL=$(pkg-config --cflags examrisk)
# (the sysroot is prefixed to every package's paths: ours come first)
expect "pkg-config points into the staged tree" [ "${CFL%% *}" = "-I$D/include" ]
expect "shared: build" $CC $SANFLAGS -Wall -Wextra -Werror $CFL -o "$T/embed-shared" tests/embed.c $LIBS -Wl,-rpath,"$D/lib"
expect "shared: needs libexamrisk.so.$MAJOR" sh -c "readelf -d '$T/embed-shared' | grep -q 'NEEDED.*\[libexamrisk.so.$MAJOR\]'"
expect "shared: resolved in the staged tree" sh -c "ldd '$T/embed-shared' | grep -q '$D/lib/libexamrisk.so.$MAJOR'"
# static: the archive instead of the .so, its dependencies from --static
SLIBS=$(pkg-config --static --libs examrisk | sed 's/-lexamrisk/-l:libexamrisk.a/')
expect "static: build" $CC $SANFLAGS -Wall -Wextra -Werror $CFL -o "$T/embed-static" tests/embed.c $SLIBS
expect "static: no libexamrisk.so needed" sh -c "! readelf -d '$T/embed-static' | grep -q libexamrisk"
expect "static: the engine is inside" sh -c "nm '$T/embed-static' | grep -q ' T er_score_row$'"
# Each scores the rows as the installed CLI does.
for row in "$ROW" "$ROW2"; do
	hdr=$(echo $row | tr ' ' '\n' | cut -d= -f1 | paste -sd,)
	val=$(echo $row | tr ' ' '\n' | cut -d= -f2- | paste -sd,)
	printf '%s\n%s\n' "$hdr" "$val" >"$T/one.csv"
	"$D/bin/examrisk" score -q --participants "$D/share/examrisk/participants.csv" --mra "$D/share/examrisk/mra.csv" \
		--rules "$D/share/examrisk/rules.ini" -o "$T/one.out" "$T/one.csv"
	sed -n 2p "$T/one.out" | cut -d, -f1-4 >"$T/cli.txt"
	for kind in shared static; do
		"$T/embed-$kind" "$D/share/examrisk" $row >"$T/embed-$kind.txt"
		expect "$kind: scored" [ $? -eq 0 ]
		expect "$kind: same score, lane, reasons as the CLI" same "$T/cli.txt" "$T/embed-$kind.txt"
	done
done
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# -------------------------------------------------------------- uninstall
expect_rc "make uninstall DESTDIR" 0 $MK uninstall DESTDIR="$S"
expect "nothing left but directories" [ -z "$(find "$S" ! -type d)" ]
expect "data directory removed" [ ! -e "$D/share/examrisk" ]

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
