# examrisk - build, test, run, bench.
#   make            build/examrisk, build/libexamrisk.a, build/examrisk-gen
#   make run        install missing packages, build, score data/sample
#   make test       install missing packages (and the report test's chromium), build,
#                   unit + golden + browser + sanitizer runs
#   make check      unit + end-to-end tests of the current build only
#   make asan | ubsan | tsan   sanitizer builds (own directories) running check
#   make bench | bench-compare see benchmarks/README.md
#   make plot       re-draw benchmarks/results/rows_per_s.png from the committed CSVs
#   make install | uninstall   PREFIX=/usr/local DESTDIR= (see README "Installing")
#   make fuzz       libFuzzer targets (clang) in build/fuzz; make fuzz-run runs each
#                   for FUZZ_TIME seconds on its seed corpus (part of make test)

CC       ?= cc
BUILD    ?= build
SAN      ?=
OPT      ?= -O2 -g
PKGS     := zlib cmocka inih libisal libdeflate libutf8proc gsl jansson nettle
# Debian packages behind the libraries (libcsv ships no .pc file); clang and jq for the tests.
DEBS     := libcsv-dev zlib1g-dev libcmocka-dev libinih-dev libisal-dev libdeflate-dev libutf8proc-dev \
            libgsl-dev libjansson-dev nettle-dev clang libclang-rt-14-dev jq pkg-config groff-base tabix pigz
# Only the report test needs these: a real browser, and jq / python3 to read back what it shows.
REPORT_DEBS := chromium jq python3

WARN     := -Wall -Wextra -Werror -pedantic -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wundef -Wvla -Wimplicit-fallthrough -Wformat=2
CPPFLAGS += -Iinclude -Iengine -D_GNU_SOURCE
# ISA-L is the fast inflate and the default .gz output (its level 0: level 1's
# bytes vary with memory addresses); zlib and libdeflate are the fallbacks.
ifneq ($(shell pkg-config --exists libisal 2>/dev/null && echo yes),)
CPPFLAGS += -DER_HAVE_ISAL
endif
# -fPIC: the same objects make libexamrisk.a and libexamrisk.so; no semantic
# interposition keeps calls inside the library direct (as fast as static).
CFLAGS   += -std=c11 $(OPT) $(WARN) -pthread -fPIC -fno-semantic-interposition
LDLIBS   += -lcsv $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread
ifneq ($(SAN),)
CFLAGS   += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SAN)
endif

ENGINE_SRC := $(filter-out engine/er_main.c,$(wildcard engine/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
TEST_SRC   := $(wildcard tests/test_*.c)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB        := $(BUILD)/libexamrisk.a
BIN        := $(BUILD)/examrisk
GEN        := $(BUILD)/examrisk-gen
BENCH      := $(BUILD)/er_bench

# Installation layout (GNU conventions; DESTDIR stages, it is not compiled in).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCDIR     ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share/examrisk
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/examrisk
PCDIR      ?= $(LIBDIR)/pkgconfig
VERSION    := $(shell sed -n 's/^\#define ER_VERSION_STRING "\(.*\)"/\1/p' include/examrisk.h)
SONAME     := libexamrisk.so.$(firstword $(subst ., ,$(VERSION)))
SHLIB      := $(BUILD)/libexamrisk.so.$(VERSION)
PC         := $(BUILD)/examrisk.pc
DATA_FILES := data/participants.csv data/mra.csv data/rules.ini data/schedule_k.csv
MAN_PAGES  := man/examrisk.1 man/examrisk-rules.5

.PHONY: all deps run test check unit e2e symbols asan ubsan tsan bench bench-compare clean \
        install uninstall install-check man-check plot FORCE fuzz fuzz-bins fuzz-run \
        san-check test-tsan test-asan test-normal test-fuzz
all: $(BIN) $(GEN) $(BENCH) $(LIB) $(SHLIB) $(PC)

# Install missing Debian packages (we run as root on a fresh machine).
deps:
	@missing=""; for p in $(DEBS) $(EXTRA_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || \
	  { echo "error: could not install$$missing" >&2; exit 1; }; fi

$(BUILD)/%.o: %.c $(wildcard include/*.h engine/*.h) $(BUILD)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The installed binary finds its tables in $(DATADIR): compiled into
# er_datadir.o, rebuilt when DATADIR changes (the stamp holds its value).
$(BUILD)/engine/er_datadir.o: private CPPFLAGS += -DER_DATADIR='"$(DATADIR)"'
$(BUILD)/engine/er_datadir.o: $(BUILD)/datadir.stamp
$(BUILD)/datadir.stamp: FORCE
	@mkdir -p $(dir $@); echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@
# Objects are rebuilt when the compiler flags change (e.g. -fPIC was added).
$(BUILD)/flags.stamp: FORCE
	@mkdir -p $(dir $@); echo '$(CC) $(CPPFLAGS) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CPPFLAGS) $(CFLAGS)' >$@

# Shared library with a SONAME (major version); -z defs: every dependency is
# named, so embedders need only -lexamrisk. (Not with sanitizers: their
# runtime comes from the executable.)
$(SHLIB): $(ENGINE_OBJ) $(BUILD)/examrisk.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/examrisk.map \
	    $(if $(SAN),,-Wl,-z,defs) $(LDFLAGS) -o $@ $(ENGINE_OBJ) $(filter-out -lcmocka,$(LDLIBS))
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libexamrisk.so

# The shared library exports the functions of the public header and nothing
# else, so embedders cannot come to depend on engine internals (the names are
# taken from the preprocessed header: no comments, no macros).
$(BUILD)/examrisk.map: include/examrisk.h
	@mkdir -p $(dir $@)
	{ echo '{'; echo '  global:'; $(CC) -E -P $< | grep -oE '\ber_[a-z0-9_]+ *\(' | \
	  sed 's/ *($$/;/; s/^/    /' | sort -u; echo '  local: *;'; echo '};'; } >$@

$(PC): examrisk.pc.in include/examrisk.h $(BUILD)/datadir.stamp
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	    -e 's|@DATADIR@|$(DATADIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@REQUIRES@|$(filter-out cmocka,$(PKGS))|' \
	    -e 's|@LIBS_PRIVATE@|$(filter-out $(shell pkg-config --libs $(PKGS) 2>/dev/null),$(LDLIBS))|' $< >$@

$(BIN): $(BUILD)/engine/er_main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(GEN): $(BUILD)/benchmarks/er_gen.o $(BUILD)/benchmarks/er_gen_exams.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH): $(BUILD)/benchmarks/er_bench.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# (only the tests include tests/*.h: a change there rebuilds no engine object)
$(TEST_BIN:%=%.o): $(wildcard tests/*.h)

run: deps
	@$(MAKE) --no-print-directory all
	./$(BIN) score --summary $(BUILD)/sample-summary.json \
	    --rejects $(BUILD)/sample-rejects.csv \
	    --consolidations $(BUILD)/sample-consolidations.csv \
	    --report $(BUILD)/sample-report.html \
	    --out $(BUILD)/sample-scores.csv data/sample/manifest.csv.gz; \
	  rc=$$?; echo; echo "== summary ($(BUILD)/sample-summary.json)"; cat $(BUILD)/sample-summary.json; \
	  echo; echo "== first scores ($(BUILD)/sample-scores.csv)"; head -4 $(BUILD)/sample-scores.csv; \
	  echo; echo "== riskiest consolidations ($(BUILD)/sample-consolidations.csv)"; head -6 $(BUILD)/sample-consolidations.csv; \
	  echo; echo "== the run report: open $(BUILD)/sample-report.html in a browser"; \
	  echo; echo "examrisk exit status $$rc (0 = every row scored, 3 = some rejected)"; [ $$rc -le 3 ]

# ---------------------------------------------------------------- tests
# Unit tests: every tests/test_*.c (the TEST_SRC wildcard), one target each
# (unit-NAME) so that make -j runs them side by side. UNIT_SKIP names the ones
# a build leaves out (see the sanitizer targets below; empty here).
UNIT_TESTS := $(TEST_SRC:tests/%.c=%)
UNIT_SKIP  ?=
UNIT_RUN   := $(filter-out $(UNIT_SKIP),$(UNIT_TESTS))
.PHONY: $(UNIT_TESTS:%=unit-%)
unit: $(UNIT_RUN:%=unit-%)
$(UNIT_TESTS:%=unit-%): unit-%: $(BUILD)/tests/%
	@echo "== $<"; ./$<

# LD_PRELOAD shim failing the Nth allocation or I/O call (tests only).
FI_SO      := $(BUILD)/tests/faultinject.so
$(FI_SO): tests/faultinject.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -g -Wall -Wextra -o $@ $< -ldl

# Shell suites: tests/NAME.sh, one target each (e2e-NAME). A new suite: add its
# name to E2E_SUITES; it then runs in every build, sanitizers included, unless
# a build's E2E_SKIP leaves it out (and says why). Each gets BUILD and SAN.
E2E_SUITES := e2e match e2e_outputs faultinject cli install test_gen population \
              test_ams test_calibrate report bench_scripts
E2E_SKIP   ?=
E2E_RUN    := $(filter-out $(E2E_SKIP),$(E2E_SUITES))
# What the suites run: the binaries; the fault shim (not under sanitizers, whose
# runtime must come first in the process); install.sh also the shared library
# and the .pc file (so only a build that runs it makes them).
E2E_DEPS   := $(BIN) $(GEN) $(if $(SAN),,$(FI_SO))
# TEST_GEN: the examrisk-gen the suites make their data with (make test gives the
# sanitizer builds the normal one: the data are the same bytes, made faster;
# test_gen.sh always tests this build's own generator).
TEST_GEN   ?=
.PHONY: $(E2E_SUITES:%=e2e-%)
e2e: $(E2E_RUN:%=e2e-%)
$(filter-out e2e-install,$(E2E_SUITES:%=e2e-%)): e2e-%: $(E2E_DEPS)
	@echo "== tests/$*.sh ($(BUILD))"; BUILD=$(BUILD) SAN=$(SAN) TEST_GEN=$(TEST_GEN) sh tests/$*.sh
# (+: install.sh runs make install, which may use the job server)
e2e-install: $(E2E_DEPS) $(LIB) $(SHLIB) $(PC)
	@echo "== tests/install.sh ($(BUILD))"
	+@BUILD=$(BUILD) SAN=$(SAN) sh tests/install.sh

# Every exported symbol of the library (static and shared) starts with er_.
symbols: $(LIB) $(SHLIB)
	@bad=$$( { nm -g --defined-only $(LIB); nm -D --defined-only $(SHLIB); } | \
	  awk 'NF==3 && $$3 !~ /^er_/ && $$3 !~ /^__(odr_asan|asan|tsan|ubsan)/ && $$3 !~ /^_(init|fini|edata|end|_bss_start)$$/ {print $$3}'); \
	if [ -n "$$bad" ]; then echo "symbols without er_ prefix:" $$bad >&2; exit 1; fi; \
	missing=$$(sed -n 's/^ *\(er_[a-z0-9_]*\);$$/\1/p' $(BUILD)/examrisk.map | while read f; do \
	  nm -D --defined-only $(SHLIB) | awk '{print $$3}' | grep -qx "$$f" || echo $$f; done); \
	if [ -n "$$missing" ]; then echo "declared in examrisk.h, not in $(SHLIB):" $$missing >&2; exit 1; fi; \
	echo "symbols: ok"

# The man pages format without a warning.
man-check:
	@for m in $(MAN_PAGES); do \
	  w=$$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z $$m 2>&1); \
	  if [ -n "$$w" ]; then echo "$$m:" >&2; echo "$$w" >&2; exit 1; fi; done; echo "man pages: ok"

check: unit e2e symbols man-check
# A sanitizer build checks what runs: the symbol and man page checks are the
# normal build's (the same sources give the same names and pages).
san-check: unit e2e

install: $(BIN) $(GEN) $(LIB) $(SHLIB) $(PC)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(INCDIR) \
	    $(DESTDIR)$(DATADIR)/sample $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BIN) $(GEN) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libexamrisk.so
	install -m 644 include/examrisk.h $(DESTDIR)$(INCDIR)/
	install -m 644 $(PC) $(DESTDIR)$(PCDIR)/
	install -m 644 $(DATA_FILES) $(DESTDIR)$(DATADIR)/
	install -m 644 data/sample/manifest.csv.gz $(DESTDIR)$(DATADIR)/sample/
	install -m 644 man/examrisk.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/examrisk-rules.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(DOCDIR)
	install -m 644 README.md CHANGELOG.md LICENSE $(DESTDIR)$(DOCDIR)/
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/examrisk $(DESTDIR)$(BINDIR)/examrisk-gen \
	    $(DESTDIR)$(LIBDIR)/libexamrisk.a $(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libexamrisk.so \
	    $(DESTDIR)$(INCDIR)/examrisk.h $(DESTDIR)$(PCDIR)/examrisk.pc \
	    $(addprefix $(DESTDIR)$(DATADIR)/,$(notdir $(DATA_FILES)) sample/manifest.csv.gz) \
	    $(DESTDIR)$(MANDIR)/man1/examrisk.1 $(DESTDIR)$(MANDIR)/man5/examrisk-rules.5 \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,README.md CHANGELOG.md LICENSE)
	-rmdir $(DESTDIR)$(DATADIR)/sample $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

# ----------------------------------------------------- sanitizer builds
# Each in its own directory, running san-check: the unit tests and shell suites
# minus the build's skip lists. What a build skips, it skips because it has
# nothing to find there; every test still runs in the normal build (make check).
# make asan E2E_SKIP= UNIT_SKIP= runs everything under ASan.
#
# ASan + UBSan: every unit test and every suite except
#   install     make install's layout, SONAME and pkg-config, and a whole
#               rebuild of the tree for another PREFIX: packaging, no engine
#               path that e2e.sh does not run;
#   population  a statistical property of the shipped rules.ini over 200,000
#               generated rows: the scoring code it runs is e2e.sh's;
#   faultinject its LD_PRELOAD shim cannot run beside a sanitizer runtime
#               (the suite skips itself under SAN: not even started);
#   bench_scripts the benchmark scripts' awk and sh parts: no C runs.
# report.sh runs without the browser under a sanitizer (report.sh says so):
# Chromium checks the page, not the C that writes it.
ASAN_UNIT_SKIP ?=
ASAN_E2E_SKIP  ?= install population faultinject bench_scripts
# TSan: the unit tests that start threads (those below start none: strace -f
# -e clone shows no thread, so TSan has nothing to look at) and the suites
# that run the pipeline, BGZF inflaters, generator and roll-up partitions with
# several threads. Left out besides ASan's three:
#   report      the page is written after the run, by one thread (its score
#               runs are e2e.sh's).
# test_calibrate.sh runs a smaller world under TSan (it says why): calibrate's
# threads are the pipeline's pass over the rows; the fit after it is one thread.
TSAN_UNIT_SKIP ?= test_csvout test_datadir test_nomem test_parse test_partners test_reader \
                  test_report test_rules test_split test_util test_verify
TSAN_E2E_SKIP  ?= $(ASAN_E2E_SKIP) report
SAN_BUILD = $(MAKE) --no-print-directory OPT="-O1 -g" TEST_GEN=$(TEST_GEN)
asan:
	@$(SAN_BUILD) BUILD=build/asan SAN=address,undefined \
	    UNIT_SKIP="$(ASAN_UNIT_SKIP)" E2E_SKIP="$(ASAN_E2E_SKIP)" san-check
ubsan:
	@$(SAN_BUILD) BUILD=build/ubsan SAN=undefined \
	    UNIT_SKIP="$(ASAN_UNIT_SKIP)" E2E_SKIP="$(ASAN_E2E_SKIP)" san-check
tsan:
	@$(SAN_BUILD) BUILD=build/tsan SAN=thread \
	    UNIT_SKIP="$(TSAN_UNIT_SKIP)" E2E_SKIP="$(TSAN_E2E_SKIP)" san-check

# ------------------------------------------------------------ make test
# CI runs this on a clean clone of a 2-core machine (.ci/run): keep it well
# under 15 minutes. So:
#   - one apt-get run installs the build's and the report test's packages;
#   - the four builds (normal, asan, tsan, fuzz) and their tests are targets
#     of one make -j$(TEST_JOBS) (default: the CPUs): a build compiles while
#     another one's suites run; each target's output is printed in one piece
#     when it ends (-Otarget), and any failure fails make test; -k: a red
#     run still runs every build and suite, so one CI run names every
#     failing one (and a failure in one build does not stop the others);
#   - TSan, the slowest, starts first; the sanitizer builds make their test
#     data with the normal build's examrisk-gen (same bytes, made faster);
#   - the sanitizer builds run only what they can check (lists above);
#   - the three fuzz targets run side by side, FUZZ_TIME seconds each.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test:
	@$(MAKE) --no-print-directory deps EXTRA_DEBS="$(REPORT_DEBS)"
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) -k -Otarget REQUIRE_BROWSER=1 test-tsan test-normal test-asan test-fuzz
	@echo "all test suites passed"
# The sanitizer builds make their data with the normal generator (TEST_GEN),
# built here first; then the normal build's sub-make only adds to build/ (two
# makes never build the same file at once).
test-tsan test-asan test-normal: $(GEN)
test-tsan:
	@$(MAKE) --no-print-directory TEST_GEN=$(abspath $(GEN)) tsan
test-asan:
	@$(MAKE) --no-print-directory TEST_GEN=$(abspath $(GEN)) asan
test-normal:
	@$(MAKE) --no-print-directory check
test-fuzz:
	@$(MAKE) --no-print-directory fuzz-run

bench: deps all $(BENCH)
	BUILD=$(BUILD) sh benchmarks/bench.sh

bench-compare: deps all
	BUILD=$(BUILD) sh benchmarks/compare.sh

# Re-plot from benchmarks/results/*.csv only (runs no benchmark).
plot:
	sh benchmarks/bench.sh --plot
# Fuzzing: the library built by clang with ASan + UBSan and libFuzzer's
# coverage, one target per input the engine parses (tests/fuzz/). New inputs
# go to build/fuzz/work-NAME; the committed seeds stay as they are.
FUZZ_DIR     := build/fuzz
FUZZ_TARGETS := manifest tables rules
FUZZ_TIME    ?= 20
fuzz:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR) CC=clang SAN=fuzzer-no-link,address,undefined \
	    OPT="-O1 -g" fuzz-bins
fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(LIB)
	$(CC) $(CPPFLAGS) -Itests/fuzz $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS)
# One target per fuzzer (fuzz-run-NAME), so make -j runs them side by side.
.PHONY: $(FUZZ_TARGETS:%=fuzz-run-%)
fuzz-run: $(FUZZ_TARGETS:%=fuzz-run-%)
$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-run-%: fuzz
	@mkdir -p $(FUZZ_DIR)/work-$*; echo "== fuzz_$* ($(FUZZ_TIME) s)"; \
	if ! $(FUZZ_DIR)/fuzz_$* -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(FUZZ_DIR)/crash-$*- -print_final_stats=1 \
	    $(FUZZ_DIR)/work-$* tests/fuzz/corpus/$* >$(FUZZ_DIR)/fuzz_$*.log 2>&1; then \
	  tail -n 40 $(FUZZ_DIR)/fuzz_$*.log; echo "fuzz_$*: failed (see $(FUZZ_DIR)/)" >&2; exit 1; fi; \
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' $(FUZZ_DIR)/fuzz_$*.log

clean:
	rm -rf build
