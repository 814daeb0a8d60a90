# lib: the project's libraries, one static archive per folder: lib/X/*.c -> $(BUILD)/libjitX.a,
# all made by the one rule below. A new library (lib/config, lib/cedar) needs no rule:
# name it once, in JIT_LIBS if every program but the PAM module links it, or in a variable of
# its own (like LIBREGO) if only some do. Tests of a library live in lib/X/tests/.

# Each folder of lib/ with a .c file is a library; its archive holds its objects. The objects
# are named here, as prerequisites, so make keeps them between builds; the one rule below
# makes every archive.
JIT_LIB_DIRS := $(patsubst lib/%/,%,$(sort $(dir $(wildcard lib/*/*.c))))
$(foreach l,$(JIT_LIB_DIRS),$(eval \
	$(BUILD)/libjit$(l).a: $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/$(l)/*.c))))

$(BUILD)/libjit%.a:
	$(if $^,,$(error $@: lib/$*/ has no .c file))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# What every program but the PAM module links: lib/common (libc only) and the libraries on
# top of it, dependents first.
JIT_LIBS := config net json crypto common
LIBJIT := $(JIT_LIBS:%=$(BUILD)/libjit%.a)
LIBCOMMON := $(BUILD)/libjitcommon.a
LIBREGO := $(BUILD)/libjitrego.a
# The agent protocol shared by jitsudo-agent and pam_jitsudo: no dependency but libc, so the
# PAM module can link it statically.
LIBAGENTPROTO := $(BUILD)/libjitagentproto.a

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
