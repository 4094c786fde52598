# examrisk - build, test, run, bench.
#   make            build/examrisk, build/libexamrisk.a, build/examrisk-gen
#   make run        install missing packages, build, score data/sample
#   make test       install missing packages (and the report test's chromium), build,
#                   unit + golden + browser + sanitizer runs
#   make check      unit + end-to-end tests of the current build only
#   make asan | ubsan | tsan   sanitizer builds (own directories) running check
#   make bench | bench-compare see benchmarks/README.md

CC       ?= cc
BUILD    ?= build
SAN      ?=
OPT      ?= -O2 -g
PKGS     := zlib cmocka inih libisal libdeflate libutf8proc gsl jansson nettle
# Debian packages behind the libraries (libcsv ships no .pc file).
DEBS     := libcsv-dev zlib1g-dev libcmocka-dev libinih-dev libisal-dev libdeflate-dev libutf8proc-dev libgsl-dev libjansson-dev nettle-dev pkg-config tabix pigz
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
CFLAGS   += -std=c11 $(OPT) $(WARN) -pthread
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

.PHONY: all deps run test check unit e2e symbols asan ubsan tsan bench bench-compare clean
all: $(BIN) $(GEN) $(BENCH) $(LIB)

# Install missing Debian packages (we run as root on a fresh machine).
deps:
	@missing=""; for p in $(DEBS) $(EXTRA_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || \
	  { echo "error: could not install$$missing" >&2; exit 1; }; fi

$(BUILD)/%.o: %.c $(wildcard include/*.h engine/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

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

e2e: $(BIN) $(GEN) $(FI_SO)
	BUILD=$(BUILD) sh tests/e2e.sh
	BUILD=$(BUILD) sh tests/match.sh
	BUILD=$(BUILD) SAN=$(SAN) sh tests/e2e_outputs.sh
	BUILD=$(BUILD) SAN=$(SAN) sh tests/faultinject.sh
	BUILD=$(BUILD) sh tests/test_gen.sh
	BUILD=$(BUILD) sh tests/population.sh
	BUILD=$(BUILD) sh tests/test_ams.sh
	BUILD=$(BUILD) sh tests/test_calibrate.sh
	BUILD=$(BUILD) sh tests/report.sh

# Every exported symbol of the library starts with er_.
symbols: $(LIB)
	@bad=$$(nm -g --defined-only $(LIB) | awk 'NF==3 && $$3 !~ /^er_/ && $$3 !~ /^__(odr_asan|asan|tsan|ubsan)/ {print $$3}'); \
	if [ -n "$$bad" ]; then echo "symbols without er_ prefix:" $$bad >&2; exit 1; fi; echo "symbols: ok"

check: unit e2e symbols

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
	@echo "all test suites passed"

bench: deps all $(BENCH)
	BUILD=$(BUILD) sh benchmarks/bench.sh

bench-compare: deps all
	BUILD=$(BUILD) sh benchmarks/compare.sh

clean:
	rm -rf build
