# jitsudo-agent: the host agent, and the agent protocol library it shares with pam_jitsudo
# (lib/agentproto, no dependency but libc, so the PAM module can link it statically).

AGENTPROTO_SRC := $(wildcard lib/agentproto/*.c)
AGENTPROTO_OBJ := $(AGENTPROTO_SRC:%.c=$(BUILD)/%.o)
LIBAGENTPROTO := $(BUILD)/libjitagentproto.a
FUZZ_LIBS := $(LIBAGENTPROTO) $(FUZZ_LIBS)

$(LIBAGENTPROTO): $(AGENTPROTO_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Unit tests of the protocol library, linked with it alone (plus cmocka).
AGENTPROTO_TEST_SRC := $(wildcard lib/agentproto/tests/test_*.c)
AGENTPROTO_TEST_BIN := $(AGENTPROTO_TEST_SRC:lib/agentproto/tests/%.c=$(BUILD)/tests/agentproto/%)

$(BUILD)/tests/agentproto/%: lib/agentproto/tests/%.c $(LIBAGENTPROTO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBAGENTPROTO) $(CMOCKA_LIBS)

.PHONY: agentproto-unit
agentproto-unit: $(AGENTPROTO_TEST_BIN)
	@tools/run-unit $(AGENTPROTO_TEST_BIN)

PROGRAMS += $(LIBAGENTPROTO) $(AGENTPROTO_TEST_BIN)
CHECKS += agentproto-unit

# The agent itself: linked only with what it uses, so its resident size stays small.
AGENT_SRC := $(wildcard jitsudo-agent/*.c)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
AGENT_BIN := $(BUILD)/bin/jitsudo-agent
AGENT_LIBS := $(shell pkg-config --libs libcurl jansson yaml-0.1 cjose libcrypto 2>/dev/null) \
	-lpthread

$(AGENT_BIN): $(AGENT_OBJ) $(LIBAGENTPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(AGENT_OBJ) $(LIBAGENTPROTO) $(LIBCOMMON) \
		$(AGENT_LIBS)

PROGRAMS += $(AGENT_BIN)
INTEGRATION_DEPS += $(AGENT_BIN)
