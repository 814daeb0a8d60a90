# tests: the unit tests of lib/ and the server (tests/unit, cmocka), the Rego conformance
# runner and rego-test, the fuzz harnesses and their corpus replay, the benchmarks' programs,
# the sync-failure shim the integration tests preload, and the checks that run them. Included
# last: its rules link what the other module.mk files build.

# Unit tests: tests/unit/test_<name>.c -> build/tests/test_<name>, linked with the server's
# parts and every library.
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# The Rego engine's own white-box tests live beside it (lib/rego/tests: they may use its
# internal headers, nothing else may) and link the engine and the libraries alone.
REGO_UNIT_SRC := $(wildcard lib/rego/tests/test_*.c)
REGO_UNIT_BIN := $(REGO_UNIT_SRC:lib/rego/tests/%.c=$(BUILD)/tests/rego/%)

$(BUILD)/tests/%: tests/unit/%.c $(LIBSERVER) $(LIBREGO) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBSERVER) $(LIBREGO) $(LIBJIT) \
		$(CMOCKA_LIBS) $(LIBS)

$(BUILD)/tests/rego/%: lib/rego/tests/%.c $(LIBREGO) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBREGO) $(LIBJIT) $(CMOCKA_LIBS) \
		$(LIBS)

UNIT_BIN += $(REGO_UNIT_BIN)

# The OPA conformance suite's runner.
CONFORMANCE_SRC := $(wildcard lib/rego/tests/conformance/*.c)
CONFORMANCE_BIN := $(BUILD)/rego-conformance

$(CONFORMANCE_BIN): $(CONFORMANCE_SRC:%.c=$(BUILD)/%.o) $(LIBREGO) $(LIBJIT)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Runs the unit tests written in Rego (rules named test_*), as `opa test` does.
REGO_TEST_BIN := $(BUILD)/rego-test
$(REGO_TEST_BIN): $(BUILD)/lib/rego/tests/rego-test/rego-test.o $(LIBREGO) $(LIBJIT)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

PROGRAMS += $(CONFORMANCE_BIN) $(REGO_TEST_BIN)

.PHONY: conformance rego-test-check policy-test fuzz-replay units-verify
conformance: $(CONFORMANCE_BIN)
	@$(CONFORMANCE_BIN) --floor lib/rego/tests/conformance/floor $(REGO_CONFORMANCE_DIR)/v0 \
		$(REGO_CONFORMANCE_DIR)/v1

# rego-test must pass a file of passing tests and fail a file with failing ones.
rego-test-check: $(REGO_TEST_BIN)
	@$(REGO_TEST_BIN) lib/rego/tests/rego-test/examples/pass.rego
	@if $(REGO_TEST_BIN) lib/rego/tests/rego-test/examples/fail.rego >/dev/null; then \
		echo "rego-test: a failing test was not reported"; exit 1; fi

# The default policies' own Rego unit tests.
policy-test: $(REGO_TEST_BIN)
	@$(REGO_TEST_BIN) policies/eligibility.rego policies/eligibility_test.rego
	@$(REGO_TEST_BIN) policies/approval.rego policies/approval_test.rego

# Fuzz harnesses: tests/fuzz/fuzz_<name>.c, linked with the engine, the agent protocol and
# every library.
FUZZ_HARNESSES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY_BIN := $(FUZZ_HARNESSES:%=$(BUILD)/fuzz-replay/%)
FUZZ_LIBS := $(LIBAGENTPROTO) $(LIBREGO) $(LIBJIT)

# A fuzz harness linked with libFuzzer (built by `make fuzz`, with clang, into build-fuzz/).
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LDFLAGS) -fsanitize=fuzzer $(FUZZ_LIBS) $(LIBS)

# The same harness with a main() that runs each corpus file once (tests/fuzz/replay.c).
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(LDFLAGS) $(FUZZ_LIBS) $(LIBS)

# The replay is bounded in time: an input that makes the engine slow is a failure too.
fuzz-replay: $(FUZZ_REPLAY_BIN)
	@for h in $(FUZZ_HARNESSES); do timeout 120 $(BUILD)/fuzz-replay/$$h tests/fuzz/corpus/$$h \
		|| { echo "fuzz-replay: $$h failed or took over 120 s"; exit 1; }; done

# Benchmark programs (the shell benchmarks start the real programs).
BENCH_BIN := $(BUILD)/bench/bench_rego

$(BUILD)/bench/%: tests/bench/%.c $(LIBREGO) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LIBREGO) $(LIBJIT) $(LIBS)

# What the integration tests need built besides the programs: the LD_PRELOAD shim that makes
# disk syncs fail, always built without sanitizers, into build/.
FAILSYNC_SO := build/tests/failsync.so
INTEGRATION_DEPS += $(FAILSYNC_SO)

$(FAILSYNC_SO) $(SCAN_BUILD)/tests/failsync.so: tests/integration/preload/failsync.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

# Every systemd unit of the tree, as installed, passes `systemd-analyze verify`.
units-verify: $(JITSUDOD) $(AGENT_BIN)
	@tests/package/verify-units

CHECKS += units-verify
