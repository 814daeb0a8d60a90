# pam_jitsudo: the PAM module (linked statically with the agent protocol library and the few
# lib/common helpers it uses; only pam_sm_* exported), its unit tests, the export check and the
# pam_start_confdir driver the integration tests run it with.

PAM_MODULE_SRC := pam_jitsudo/pam_jitsudo.c pam_jitsudo/args.c pam_jitsudo/conv.c \
	pam_jitsudo/agent.c pam_jitsudo/env.c
PAM_MODULE_OBJ := $(PAM_MODULE_SRC:%.c=$(BUILD)/%.o)
PAM_MODULE := $(BUILD)/pam_jitsudo.so
PAM_MODULE_MAP := pam_jitsudo/pam_jitsudo.map
PAM_DRIVER := $(BUILD)/pam_jitsudo/pam_driver

$(PAM_MODULE): $(PAM_MODULE_OBJ) $(LIBAGENTPROTO) $(LIBCOMMON) $(PAM_MODULE_MAP)
	$(CC) $(LDFLAGS) -shared -Wl,--version-script=$(PAM_MODULE_MAP) -Wl,-z,defs \
		-Wl,-z,relro -Wl,-z,now -o $@ $(PAM_MODULE_OBJ) $(LIBAGENTPROTO) $(LIBCOMMON) -lpam

# Runs a PAM stack from a private directory (pam_start_confdir) with a scripted conversation.
$(PAM_DRIVER): pam_jitsudo/tests/pam_driver.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpam

# Unit tests of the argument parser and the variable allowlist (cmocka).
PAM_UNIT_SRC := $(wildcard pam_jitsudo/tests/test_*.c)
PAM_UNIT_BIN := $(PAM_UNIT_SRC:pam_jitsudo/tests/%.c=$(BUILD)/tests/pam_jitsudo/%)

$(BUILD)/tests/pam_jitsudo/%: pam_jitsudo/tests/%.c $(BUILD)/pam_jitsudo/args.o \
		$(BUILD)/pam_jitsudo/env.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(BUILD)/pam_jitsudo/args.o \
		$(BUILD)/pam_jitsudo/env.o $(LDFLAGS) $(LIBCOMMON) $(CMOCKA_LIBS)

.PHONY: pam-unit pam-symbols
pam-unit: $(PAM_UNIT_BIN)
	@tools/run-unit $(PAM_UNIT_BIN)

# The module exports exactly the PAM service functions (version script) and needs nothing
# it does not name.
pam-symbols: $(PAM_MODULE)
	@pam_jitsudo/tests/check-symbols $(PAM_MODULE)

PROGRAMS += $(PAM_MODULE) $(PAM_DRIVER) $(PAM_UNIT_BIN)
CHECKS += pam-unit pam-symbols
INTEGRATION_DEPS += $(PAM_MODULE) $(PAM_DRIVER)

# ---- pam-install (packaging) --------------------------------------------------------------
# `make install` of the module into PAMDIR: PREFIX/lib/<multiarch>/security by default (PAM
# itself only looks in its own directory, /usr/lib/<multiarch>/security on Debian; the packages
# pass PAMDIR). Shared objects are installed 0644.
PAM_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
PAMDIR ?= $(PREFIX)/lib/$(if $(PAM_MULTIARCH),$(PAM_MULTIARCH)/)security

.PHONY: pam-install
pam-install: $(PAM_MODULE)
	install -d $(DESTDIR)$(PAMDIR)
	install -m 0644 $(PAM_MODULE) $(DESTDIR)$(PAMDIR)/pam_jitsudo.so

INSTALL_TARGETS += pam-install
