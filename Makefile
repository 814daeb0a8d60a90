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

# Checks run by `make test`, in order; each module.mk adds its own before the integration tests.
CHECKS := style format-check analyze unit conformance fuzz-replay rego-test-check policy-test
# What `make all` builds and what the integration tests need; each module.mk adds its own.
PROGRAMS :=
INTEGRATION_DEPS :=
# The clang analyzer's build directory (make analyze).
SCAN_BUILD := build-scan

# `make install` (and the distro packages, which run it with DESTDIR) puts each component's
# files under $(DESTDIR)$(PREFIX); a component's module.mk adds its own target to INSTALL_TARGETS.
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
# Where systemd units go: systemd's own directory for PREFIX=/usr (/lib/systemd/system on
# Debian 12, /usr/lib/systemd/system on Fedora), otherwise PREFIX/lib/systemd/system, which
# systemd also searches. The packages pass it explicitly.
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config \
	--variable=systemdsystemunitdir systemd 2>/dev/null),/usr/lib/systemd/system),$(PREFIX)/lib/systemd/system)
# Units name /usr/sbin; installed under another PREFIX they name PREFIX/sbin.
UNIT_PREFIX_SED := s|/usr/sbin/|$(PREFIX)/sbin/|g
INSTALL_TARGETS :=

# Each part keeps its build rules in its own module.mk, which adds to PROGRAMS, CHECKS,
# INTEGRATION_DEPS and INSTALL_TARGETS: lib/ first (the archives everything links), then each
# program (cli/, jitsudo-agent/, pam_jitsudo/, server/, ...), then tests/, which links them.
include lib/module.mk
include $(sort $(filter-out lib/module.mk tests/module.mk,$(wildcard */module.mk)))
include tests/module.mk

CHECKS += integration

.PHONY: all deps install test check analyze unit style format format-check asan fuzz \
	bench clean run integration
all: $(PROGRAMS) $(UNIT_BIN)

deps:
	@tools/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# ---- checks -------------------------------------------------------------------------------
C_FILES = $(shell git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null)

style:
	@tools/check-banned $(C_FILES)
	@tools/check-layout $(C_FILES)

format:
	@clang-format -i $(C_FILES)

format-check:
	@tools/check-format $(C_FILES)

# Every C file compiled by clang (warnings are errors, as with gcc) under clang's static
# analyzer, from scratch each time (only a compile is analyzed); any finding fails the check.
# unix.Malloc is left out: clang 14's analyzer does not run __attribute__((cleanup)) handlers,
# the project's ownership idiom, so it calls every early return a leak. Leaks, double frees
# and uses after free are caught at run time instead by `make asan` (LeakSanitizer included).
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

# New inputs go to build-fuzz/corpus/<harness>; the committed seeds are only read.
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPTFLAGS=-O1 EXTRA_CFLAGS=-Wno-error \
		SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
		$(FUZZ_HARNESSES:%=build-fuzz/fuzz/%)
	@for h in $(FUZZ_HARNESSES); do mkdir -p build-fuzz/corpus/$$h && \
		build-fuzz/fuzz/$$h -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$h \
		tests/fuzz/corpus/$$h || exit 1; done

# The agent and SSH benchmarks start the real agent, sshd and a throwaway user (root).
bench: $(BENCH_BIN) $(JITSUDOD) $(INTEGRATION_DEPS)
	@for b in $(BENCH_BIN); do $$b || exit 1; done
	@tests/bench/bench_http.sh
	@tests/bench/bench_agent.sh
	@tests/bench/bench_ssh.sh

# The integration tests start the real jitsudod (and, later, the agent, sshd and sudo).
integration: $(JITSUDOD) $(INTEGRATION_DEPS)
	@tests/integration/run

# `make run`: jitsudod on its embedded defaults (tools/run-local says what it does).
run: deps
	@$(MAKE) --no-print-directory $(JITSUDOD) $(JITSUDO_BIN)
	@tools/run-local

check: $(CHECKS)

install: $(INSTALL_TARGETS)

# Each check stops the run on failure; the last line sums up the stages that passed (the
# conformance runner's own line counts the OPA cases, some of which are not supported yet).
# The checks run two at a time (the analyzer's clang build beside the integration tests, which
# mostly wait on processes and sockets), each one's output printed whole when it ends.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -j2 --output-sync=target check
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
