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
$(JITSUDO_BIN): $(BUILD)/cli/main.o $(LIBCLI) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(CLI_LIBS)

PROGRAMS += $(JITSUDO_BIN)
INTEGRATION_DEPS += $(JITSUDO_BIN)
endif

# Unit tests: cli/tests/test_<name>.c -> build/tests/cli/test_<name>.
CLI_TEST_SRC := $(wildcard cli/tests/test_*.c)
CLI_TEST_BIN := $(CLI_TEST_SRC:cli/tests/%.c=$(BUILD)/tests/cli/%)

$(BUILD)/tests/cli/%: cli/tests/%.c $(LIBCLI) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBCLI) $(LIBCOMMON) \
		$(CMOCKA_LIBS) $(CLI_LIBS)

.PHONY: cli-unit
cli-unit: $(CLI_TEST_BIN)
	@tools/run-unit $(CLI_TEST_BIN)

PROGRAMS += $(CLI_TEST_BIN)
CHECKS += cli-unit
