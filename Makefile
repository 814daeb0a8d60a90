# jitsudo: one entry point for building, testing, fuzzing and benchmarking.
#   make            build everything
#   make test       install missing Debian packages, build, run every check and test
#   make asan       the same tests, built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       run the libFuzzer harnesses for a while (FUZZ_SECONDS each)
#   make bench      benchmarks (numbers go into issue closing notes)
#   make install    install every component under $(DESTDIR)$(PREFIX) (default /usr/local)

.DEFAULT_GOAL := all
BUILD ?= build
CC ?= cc
FUZZ_SECONDS ?= 60
REGO_CONFORMANCE_DIR ?= ../shared/rego-conformance

PKGS := jansson yaml-0.1 libpcre2-8 libcrypto libssl libh2o-evloop cjose libcurl sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

OPTFLAGS ?= -O2
WARNFLAGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral
# The distribution's hardening, so `make test` runs what the packages ship. Sanitizer builds
# leave fortification out (it hides what the sanitizers would report), and so does -O0 (glibc
# fortifies optimized code only).
HARDENFLAGS ?= $(if $(SANFLAGS)$(filter -O0,$(OPTFLAGS)),,-D_FORTIFY_SOURCE=2 -fstack-protector-strong)
CFLAGS := -std=gnu11 -g $(OPTFLAGS) $(WARNFLAGS) -D_GNU_SOURCE -fPIC -I. $(PKG_CFLAGS) \
	$(HARDENFLAGS) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
LIBS := $(PKG_LIBS) -lpthread -lm

COMMON_SRC := $(wildcard lib/common/*.c)
REGO_SRC := $(wildcard lib/rego/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
REGO_OBJ := $(REGO_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON := $(BUILD)/libjitcommon.a
LIBJSON := $(BUILD)/libjitjson.a
LIBCRYPTO := $(BUILD)/libjitcrypto.a
LIBNET := $(BUILD)/libjitnet.a
# What every program but the PAM module links: lib/common (libc only) and the libraries on
# top of it, dependents first.
LIBJIT := $(LIBNET) $(LIBJSON) $(LIBCRYPTO) $(LIBCOMMON)
LIBREGO := $(BUILD)/libjitrego.a
# Everything of jitsudod but main(), so unit tests can link the server's parts.
SERVER_SRC := $(filter-out server/main.c,$(shell find server -name '*.c' | sort))
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
LIBSERVER := $(BUILD)/libjitserver.a
JITSUDOD := $(BUILD)/jitsudod

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
CONFORMANCE_SRC := $(wildcard tests/conformance/*.c)
CONFORMANCE_BIN := $(BUILD)/rego-conformance
FUZZ_HARNESSES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY_BIN := $(FUZZ_HARNESSES:%=$(BUILD)/fuzz-replay/%)

PROGRAMS := $(CONFORMANCE_BIN) $(BUILD)/rego-test $(JITSUDOD)
# Libraries the fuzz harnesses link with (a component's fragment puts its own first).
FUZZ_LIBS := $(LIBREGO) $(LIBJIT)
# Checks run by `make test`, in order; components add theirs before the integration tests.
CHECKS := style format-check analyze unit conformance fuzz-replay rego-test-check policy-test
# What the integration tests need built besides jitsudod (the LD_PRELOAD shim that makes
# disk syncs fail is always built without sanitizers, into build/).
FAILSYNC_SO := build/tests/failsync.so
INTEGRATION_DEPS := $(FAILSYNC_SO)

# `make install` (and the distro packages, which run it with DESTDIR) puts each component's
# files under $(DESTDIR)$(PREFIX); a component's module.mk adds its own target to INSTALL_TARGETS.
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
INSTALL_TARGETS :=

# Each component (cli/, jitsudo-agent/, pam_jitsudo/, ...) keeps its build rules in its own
# module.mk, which adds to PROGRAMS, CHECKS, FUZZ_LIBS, INTEGRATION_DEPS and INSTALL_TARGETS.
include $(sort $(wildcard */module.mk))

CHECKS += integration

.PHONY: all deps install test check analyze unit conformance style format format-check asan fuzz fuzz-replay rego-test-check \
	bench clean run integration policy-test
all: $(PROGRAMS) $(UNIT_BIN)

deps:
	@tools/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBJSON): $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/json/*.c))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBCRYPTO): $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/crypto/*.c))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBNET): $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/net/*.c))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBREGO): $(REGO_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBSERVER): $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(JITSUDOD): $(BUILD)/server/main.o $(LIBSERVER) $(LIBREGO) $(LIBJIT)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBSERVER) $(LIBREGO) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBSERVER) $(LIBREGO) $(LIBJIT) \
		$(CMOCKA_LIBS) $(LIBS)

$(CONFORMANCE_BIN): $(CONFORMANCE_SRC:%.c=$(BUILD)/%.o) $(LIBREGO) $(LIBJIT)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Runs the unit tests written in Rego (rules named test_*), as `opa test` does.
REGO_TEST_BIN := $(BUILD)/rego-test
$(REGO_TEST_BIN): $(BUILD)/tests/rego-test/rego-test.o $(LIBREGO) $(LIBJIT)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# A fuzz harness linked with libFuzzer (built by `make fuzz`, with clang, into build-fuzz/).
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LDFLAGS) -fsanitize=fuzzer $(FUZZ_LIBS) $(LIBS)

# The same harness with a main() that runs each corpus file once (tests/fuzz/replay.c).
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(LDFLAGS) $(FUZZ_LIBS) $(LIBS)

# ---- checks -------------------------------------------------------------------------------
C_FILES = $(shell git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null)

style:
	@tools/check-banned $(C_FILES)

format:
	@clang-format -i $(C_FILES)

format-check:
	@tools/check-format $(C_FILES)

# Every C file compiled by clang (warnings are errors, as with gcc) under clang's static
# analyzer, from scratch each time (only a compile is analyzed); any finding fails the check.
# unix.Malloc is left out: clang 14's analyzer does not run __attribute__((cleanup)) handlers,
# the project's ownership idiom, so it calls every early return a leak. Leaks, double frees
# and uses after free are caught at run time instead by `make asan` (LeakSanitizer included).
SCAN_BUILD := build-scan
SCAN_TARGETS = all $(FUZZ_REPLAY_BIN) $(BENCH_BIN) $(SCAN_BUILD)/tests/failsync.so
analyze:
	@rm -rf $(SCAN_BUILD) && mkdir -p $(SCAN_BUILD)
	@scan-build --status-bugs --use-cc=clang -disable-checker unix.Malloc \
		-o $(SCAN_BUILD)/report \
		$(MAKE) --no-print-directory -j2 BUILD=$(SCAN_BUILD) \
		$(patsubst $(BUILD)/%,$(SCAN_BUILD)/%,$(SCAN_TARGETS)) >$(SCAN_BUILD)/analyze.log 2>&1 \
		|| { grep -E 'warning:|error:' $(SCAN_BUILD)/analyze.log; \
		echo "analyze: clang or its analyzer found the above ($(SCAN_BUILD)/analyze.log)"; \
		exit 1; }
	@echo "analyze: every C file builds with clang, no analyzer finding"

unit: $(UNIT_BIN)
	@tools/run-unit $(UNIT_BIN)

conformance: $(CONFORMANCE_BIN)
	@$(CONFORMANCE_BIN) --floor tests/conformance/floor $(REGO_CONFORMANCE_DIR)/v0 \
		$(REGO_CONFORMANCE_DIR)/v1

# The replay is bounded in time: an input that makes the engine slow is a failure too.
fuzz-replay: $(FUZZ_REPLAY_BIN)
	@for h in $(FUZZ_HARNESSES); do timeout 120 $(BUILD)/fuzz-replay/$$h tests/fuzz/corpus/$$h \
		|| { echo "fuzz-replay: $$h failed or took over 120 s"; exit 1; }; done

# New inputs go to build-fuzz/corpus/<harness>; the committed seeds are only read.
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPTFLAGS=-O1 EXTRA_CFLAGS=-Wno-error \
		SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
		$(FUZZ_HARNESSES:%=build-fuzz/fuzz/%)
	@for h in $(FUZZ_HARNESSES); do mkdir -p build-fuzz/corpus/$$h && \
		build-fuzz/fuzz/$$h -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$h \
		tests/fuzz/corpus/$$h || exit 1; done

BENCH_BIN := $(BUILD)/bench/bench_rego

$(BUILD)/bench/%: tests/bench/%.c $(LIBREGO) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LIBREGO) $(LIBJIT) $(LIBS)

# The agent and SSH benchmarks start the real agent, sshd and a throwaway user (root).
bench: $(BENCH_BIN) $(JITSUDOD) $(INTEGRATION_DEPS)
	@for b in $(BENCH_BIN); do $$b || exit 1; done
	@tests/bench/bench_http.sh
	@tests/bench/bench_agent.sh
	@tests/bench/bench_ssh.sh

# The integration tests start the real jitsudod (and, later, the agent, sshd and sudo).
integration: $(JITSUDOD) $(INTEGRATION_DEPS)
	@tests/integration/run

$(FAILSYNC_SO) $(SCAN_BUILD)/tests/failsync.so: tests/integration/preload/failsync.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

# `make run`: jitsudod on its embedded defaults (tools/run-local says what it does).
run: deps
	@$(MAKE) --no-print-directory $(JITSUDOD) $(JITSUDO_BIN)
	@tools/run-local

# rego-test must pass a file of passing tests and fail a file with failing ones.
rego-test-check: $(BUILD)/rego-test
	@$(BUILD)/rego-test tests/rego-test/examples/pass.rego
	@if $(BUILD)/rego-test tests/rego-test/examples/fail.rego >/dev/null; then \
		echo "rego-test: a failing test was not reported"; exit 1; fi

# The default policies' own Rego unit tests.
policy-test: $(BUILD)/rego-test
	@$(BUILD)/rego-test policies/eligibility.rego policies/eligibility_test.rego
	@$(BUILD)/rego-test policies/approval.rego policies/approval_test.rego

check: $(CHECKS)

install: $(INSTALL_TARGETS)

# Each check stops the run on failure; the last line sums up the stages that passed (the
# conformance runner's own line counts the OPA cases, some of which are not supported yet).
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check
	@echo "checks: $(words $(CHECKS)) passed, 0 failed"

# Unit and conformance tests, then the integration tests against the sanitized jitsudod (any
# sanitizer report makes the server exit non-zero, which the tests check).
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPTFLAGS=-O1 \
		SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		all unit conformance
	@$(MAKE) --no-print-directory $(FAILSYNC_SO)
	@LSAN_OPTIONS=suppressions=$(CURDIR)/tests/integration/lsan.supp \
		JITSUDOD_BIN=build-asan/jitsudod tests/integration/run

clean:
	rm -rf build build-asan build-fuzz build-tsan build-scan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- packages -----------------------------------------------------------------------------
# make deb: the .debs (dpkg-buildpackage -us -uc -b on a copy of the tree) into build/packages/,
# lintian clean. make rpm: rpm/jitsudo.spec with rpmbuild, rpmlint clean (rpm/jitsudo.rpmlintrc).
# make package-test: the .debs and .rpms installed, checked, removed (and purged) in a clean
# Debian 12 root (debootstrap, cached in /var/cache/jitsudo-package-test). See docs/install.md.
.PHONY: deb rpm package-test
deb: deps
	@tests/package/build-deb

rpm: deps
	@tests/package/build-rpm

package-test: deb rpm
	@tests/package/package-test
