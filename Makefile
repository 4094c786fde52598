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
# ISA-L is the fast inflate (zlib stays the portable fallback); .gz output uses
# libdeflate, because ISA-L's deflate bytes vary with memory addresses.
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
        install uninstall install-check man-check plot FORCE fuzz fuzz-bins fuzz-run
all: $(BIN) $(GEN) $(BENCH) $(LIB) $(SHLIB) $(PC)

# Install missing Debian packages (we run as root on a fresh machine).
deps:
	@missing=""; for p in $(DEBS) $(EXTRA_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || \
	  { echo "error: could not install$$missing" >&2; exit 1; }; fi

$(BUILD)/%.o: %.c $(wildcard include/*.h engine/*.h tests/*.h) $(BUILD)/flags.stamp
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

unit: $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; ./$$t; done

# LD_PRELOAD shim failing the Nth allocation or I/O call (tests only).
FI_SO      := $(BUILD)/tests/faultinject.so
$(FI_SO): tests/faultinject.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -g -Wall -Wextra -o $@ $< -ldl

e2e: $(BIN) $(GEN) $(FI_SO) $(LIB) $(SHLIB) $(PC)
	BUILD=$(BUILD) sh tests/e2e.sh
	BUILD=$(BUILD) sh tests/match.sh
	BUILD=$(BUILD) SAN=$(SAN) sh tests/e2e_outputs.sh
	BUILD=$(BUILD) SAN=$(SAN) sh tests/faultinject.sh
	BUILD=$(BUILD) sh tests/cli.sh
	+BUILD=$(BUILD) SAN=$(SAN) sh tests/install.sh
	BUILD=$(BUILD) sh tests/test_gen.sh
	BUILD=$(BUILD) sh tests/population.sh
	BUILD=$(BUILD) sh tests/test_ams.sh
	BUILD=$(BUILD) sh tests/test_calibrate.sh
	BUILD=$(BUILD) sh tests/report.sh

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

asan:
	$(MAKE) --no-print-directory BUILD=build/asan SAN=address,undefined OPT="-O1 -g" check
ubsan:
	$(MAKE) --no-print-directory BUILD=build/ubsan SAN=undefined OPT="-O1 -g" check
tsan:
	$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread OPT="-O1 -g" check

# make test installs the report test's browser too and fails when it is missing.
test: deps
	@$(MAKE) --no-print-directory deps EXTRA_DEBS="$(REPORT_DEBS)"
	@REQUIRE_BROWSER=1 $(MAKE) --no-print-directory check
	@REQUIRE_BROWSER=1 $(MAKE) --no-print-directory asan
	@REQUIRE_BROWSER=1 $(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz-run
	@echo "all test suites passed"

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
fuzz-run: fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/work-$$t; echo "== fuzz_$$t ($(FUZZ_TIME) s)"; \
	  if ! $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	      -artifact_prefix=$(FUZZ_DIR)/crash-$$t- -print_final_stats=1 \
	      $(FUZZ_DIR)/work-$$t tests/fuzz/corpus/$$t >$(FUZZ_DIR)/fuzz_$$t.log 2>&1; then \
	    tail -n 40 $(FUZZ_DIR)/fuzz_$$t.log; echo "fuzz_$$t: failed (see $(FUZZ_DIR)/)" >&2; exit 1; fi; \
	  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' $(FUZZ_DIR)/fuzz_$$t.log; done

clean:
	rm -rf build
