# cli: the `jitsudo` command-line client (libcurl, jansson, libyaml and libjitcommon), its unit
# tests (cli/tests/test_*.c, cmocka, linked with every CLI object but main.o), and its install:
# the program, one man page per command, bash and zsh completion.

CLI_SRC := $(wildcard cli/*.c)
# The login command calls cli/login.c; it stays out of the link until that file exists.
ifeq ($(wildcard cli/login.c),)
CLI_SRC := $(filter-out cli/cmd_login.c,$(CLI_SRC))
endif
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
CLI_LIB_OBJ := $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJ))
LIBCLI := $(BUILD)/libjitcli.a
JITSUDO_BIN := $(BUILD)/bin/jitsudo
CLI_LIBS := $(shell pkg-config --libs libcurl jansson yaml-0.1 2>/dev/null) -lpthread

$(LIBCLI): $(CLI_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

PROGRAMS += $(LIBCLI)

ifneq ($(wildcard cli/main.c),)
$(JITSUDO_BIN): $(BUILD)/cli/main.o $(LIBCLI) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(CLI_LIBS)

PROGRAMS += $(JITSUDO_BIN)
INTEGRATION_DEPS += $(JITSUDO_BIN)
endif

# Unit tests: cli/tests/test_<name>.c -> build/tests/cli/test_<name>.
CLI_TEST_SRC := $(wildcard cli/tests/test_*.c)
CLI_TEST_BIN := $(CLI_TEST_SRC:cli/tests/%.c=$(BUILD)/tests/cli/%)

$(BUILD)/tests/cli/%: cli/tests/%.c $(LIBCLI) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBCLI) $(LIBJIT) \
		$(CMOCKA_LIBS) $(CLI_LIBS)

.PHONY: cli-unit
cli-unit: $(CLI_TEST_BIN)
	@tools/run-unit $(CLI_TEST_BIN)

PROGRAMS += $(CLI_TEST_BIN)
CHECKS += cli-unit

# Man pages: generated at build time from the command table (cli/man/genman.c), the same
# table the parser and --help use, into $(BUILD)/man/.
CLI_MAN_COMMANDS := login logout request approve deny revoke status exec shell policy audit \
	server
CLI_MAN_PAGES := $(BUILD)/man/jitsudo.1 $(CLI_MAN_COMMANDS:%=$(BUILD)/man/jitsudo-%.1)
CLI_GENMAN := $(BUILD)/cli/genman

$(CLI_GENMAN): $(BUILD)/cli/man/genman.o $(LIBCLI) $(LIBJIT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS)

$(BUILD)/man/.stamp: $(CLI_GENMAN)
	@mkdir -p $(dir $@)
	rm -f $(BUILD)/man/jitsudo*.1
	$(CLI_GENMAN) $(BUILD)/man
	@for p in $(CLI_MAN_PAGES); do [ -s $$p ] || { echo "genman: $$p missing"; exit 1; }; done
	@touch $@

PROGRAMS += $(BUILD)/man/.stamp
INTEGRATION_DEPS += $(BUILD)/man/.stamp

# `make install`: the program, the man pages, bash and zsh completion.
.PHONY: cli-install
cli-install: $(JITSUDO_BIN) $(BUILD)/man/.stamp
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions
	install -m 0755 $(JITSUDO_BIN) $(DESTDIR)$(PREFIX)/bin/jitsudo
	install -m 0644 $(CLI_MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 cli/completion/jitsudo.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/jitsudo
	install -m 0644 cli/completion/_jitsudo $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_jitsudo

INSTALL_TARGETS += cli-install
