# jitsudo-agent: the host agent and its helper jitsudo-agent-call, and their install. The agent
# protocol library they share with pam_jitsudo (lib/agentproto) is built by lib/module.mk.

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
# exists. The units go into SYSTEMDUNITDIR (the top Makefile says where that is).
AGENT_UNITS := jitsudo-agent.service jitsudo-agent.socket jitsudo-agent-user.socket

.PHONY: agent-install
agent-install: $(AGENT_BIN)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/jitsudo
	install -m 0755 $(AGENT_BIN) $(DESTDIR)$(PREFIX)/sbin/jitsudo-agent
	for u in $(AGENT_UNITS); do \
		sed '$(UNIT_PREFIX_SED)' jitsudo-agent/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml ]; then \
		echo "agent-install: keeping $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml"; \
	else \
		echo "install -m 0644 jitsudo-agent/agent.yaml $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml"; \
		install -m 0644 jitsudo-agent/agent.yaml $(DESTDIR)$(SYSCONFDIR)/jitsudo/agent.yaml; \
	fi

INSTALL_TARGETS += agent-install
