# server: `make install` of jitsudod (its build rules are in the top Makefile): the program,
# its systemd unit, sysusers.d and tmpfiles.d entries, the default policies and a starting
# /etc/jitsudo/jitsudod.yaml (written only when none exists, so an admin's file is kept).

# Where systemd units go: systemd's own directory for PREFIX=/usr (/lib/systemd/system on
# Debian 12, /usr/lib/systemd/system on Fedora), otherwise PREFIX/lib/systemd/system, which
# systemd also searches. The packages pass it explicitly.
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(or $(shell pkg-config \
	--variable=systemdsystemunitdir systemd 2>/dev/null),/usr/lib/systemd/system),$(PREFIX)/lib/systemd/system)
# Units name /usr/sbin; installed under another PREFIX they name PREFIX/sbin.
UNIT_PREFIX_SED := s|/usr/sbin/|$(PREFIX)/sbin/|g

.PHONY: server-install
server-install: $(JITSUDOD)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d \
		$(DESTDIR)$(PREFIX)/share/jitsudo/policies $(DESTDIR)$(SYSCONFDIR)/jitsudo
	install -m 0755 $(JITSUDOD) $(DESTDIR)$(PREFIX)/sbin/jitsudod
	sed '$(UNIT_PREFIX_SED)' server/systemd/jitsudod.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/jitsudod.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/jitsudod.service
	install -m 0644 server/systemd/jitsudod.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/jitsudod.conf
	install -m 0644 server/systemd/jitsudod.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/jitsudod.conf
	install -m 0644 policies/eligibility.rego policies/approval.rego \
		$(DESTDIR)$(PREFIX)/share/jitsudo/policies/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/jitsudo/jitsudod.yaml ]; then \
		echo "server-install: keeping $(DESTDIR)$(SYSCONFDIR)/jitsudo/jitsudod.yaml"; \
	else \
		echo "install -m 0644 server/systemd/jitsudod.yaml $(DESTDIR)$(SYSCONFDIR)/jitsudo/jitsudod.yaml"; \
		sed 's|/usr/share/jitsudo/|$(PREFIX)/share/jitsudo/|' server/systemd/jitsudod.yaml \
			>$(DESTDIR)$(SYSCONFDIR)/jitsudo/jitsudod.yaml && \
		chmod 0644 $(DESTDIR)$(SYSCONFDIR)/jitsudo/jitsudod.yaml; \
	fi

INSTALL_TARGETS += server-install

# Every systemd unit of the tree, as installed, passes `systemd-analyze verify`.
.PHONY: units-verify
units-verify: $(JITSUDOD) $(AGENT_BIN)
	@tests/package/verify-units

CHECKS += units-verify
