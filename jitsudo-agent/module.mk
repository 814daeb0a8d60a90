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

# The agent itself: linked only with what it uses (no libcurl, no OpenSSL), so its resident
# size stays small. TLS and the host key live in its short-lived helper jitsudo-agent-call,
# which must sit in the same directory (jitsudo-agent/call/).
AGENT_SRC := $(wildcard jitsudo-agent/*.c)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
AGENT_BIN := $(BUILD)/bin/jitsudo-agent
AGENT_LIBS := $(shell pkg-config --libs jansson yaml-0.1 2>/dev/null) -lpthread
AGENT_CALL_SRC := $(wildcard jitsudo-agent/call/*.c)
AGENT_CALL_OBJ := $(AGENT_CALL_SRC:%.c=$(BUILD)/%.o)
AGENT_CALL_BIN := $(BUILD)/bin/jitsudo-agent-call
AGENT_CALL_LIBS := $(shell pkg-config --libs libcurl jansson cjose libcrypto 2>/dev/null)

$(AGENT_CALL_BIN): $(AGENT_CALL_OBJ) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(AGENT_CALL_OBJ) $(LIBJIT) $(AGENT_CALL_LIBS)

$(AGENT_BIN): $(AGENT_OBJ) $(LIBAGENTPROTO) $(LIBJIT) | $(AGENT_CALL_BIN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(AGENT_OBJ) $(LIBAGENTPROTO) $(LIBJIT) \
		$(AGENT_LIBS)

PROGRAMS += $(AGENT_BIN) $(AGENT_CALL_BIN)
INTEGRATION_DEPS += $(AGENT_BIN) $(AGENT_CALL_BIN)

# The helper goes next to the agent (PREFIX/sbin), where the agent looks for it.
.PHONY: agent-call-install
agent-call-install: $(AGENT_CALL_BIN)
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(AGENT_CALL_BIN) $(DESTDIR)$(PREFIX)/sbin/jitsudo-agent-call

INSTALL_TARGETS += agent-call-install

# ---- agent-install (packaging) ------------------------------------------------------------
# `make install` of the agent: the program, its three systemd units (ExecStart rewritten to
# PREFIX/sbin when PREFIX is not /usr) and /etc/jitsudo/agent.yaml, written only when none
# exists. SYSTEMDUNITDIR: systemd's own directory for PREFIX=/usr, else PREFIX/lib/systemd/system.
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config \
	--variable=systemdsystemunitdir systemd 2>/dev/null),/usr/lib/systemd/system),$(PREFIX)/lib/systemd/system)
AGENT_UNITS := jitsudo-agent.service jitsudo-agent.socket jitsudo-agent-user.socket

.PHONY: agent-install
agent-install: $(AGENT_BIN)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/jitsudo
	install -m 0755 $(AGENT_BIN) $(DESTDIR)$(PREFIX)/sbin/jitsudo-agent
	for u in $(AGENT_UNITS); do \
		sed 's|/usr/sbin/|$(PREFIX)/sbin/|g' jitsudo-agent/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml ]; then \
		echo "agent-install: keeping $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml"; \
	else \
		echo "install -m 0644 jitsudo-agent/agent.yaml $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml"; \
		install -m 0644 jitsudo-agent/agent.yaml $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml; \
	fi

INSTALL_TARGETS += agent-install
