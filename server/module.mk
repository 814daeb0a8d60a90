# server: jitsudod, built from every server/**/*.c; all but main.c also go into
# build/libjitserver.a, which the unit tests link. `make install` of jitsudod: the program,
# its systemd unit, sysusers.d and tmpfiles.d entries, the default policies and a starting
# /etc/jitsudo/jitsudod.yaml (written only when none exists, so an admin's file is kept).

# Everything of jitsudod but main(), so unit tests can link the server's parts.
SERVER_SRC := $(filter-out server/main.c,$(shell find server -name '*.c' | sort))
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
LIBSERVER := $(BUILD)/libjitserver.a
JITSUDOD := $(BUILD)/jitsudod

$(LIBSERVER): $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(JITSUDOD): $(BUILD)/server/main.o $(LIBSERVER) $(LIBREGO) $(LIBJIT)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

PROGRAMS += $(JITSUDOD)

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
