/* lib/config's strict reader: every key type, every error with its file, line and key path,
 * the programs' two wordings, and that jitsudod's and the agent's readers refuse an unknown key
 * with the same message shape (the CLI's is tested in cli/tests/test_config.c). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/analyzer_asserts.h"

#include "jitsudo-agent/config.c"
#include "lib/config/reader.h"
#include "server/config.h"

#define UNUSED_STATE void **state __attribute__((unused))

static char test_dir[64];
static char test_file[128];

static int
make_dir(void **state)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/jit-reader-test-XXXXXX");
	if (!mkdtemp(test_dir))
		return -1;
	snprintf(test_file, sizeof(test_file), "%s/c.yaml", test_dir);
	return 0;
}

static int
remove_dir(void **state)
{
	unlink(test_file);
	return rmdir(test_dir);
}

static void
put(const char *text, size_t length)
{
	FILE *f = fopen(test_file, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, length, f), length);
	assert_int_equal(fclose(f), 0);
}

static void
put_text(const char *text)
{
	put(text, strlen(text));
}

struct sample {
	char *name;
	char *file;
	bool on;
	int small;
	int64_t big;
	int64_t seconds;
	int ms;
	char **tags;
	char **globs;
	char *inner;
	int custom_calls;
};

static void
sample_clear(struct sample *s)
{
	free(s->name);
	free(s->file);
	free(s->inner);
	jit_config_strv_free(s->tags);
	jit_config_strv_free(s->globs);
	*s = (struct sample){ 0 };
}

static const char *
no_x(const char *value)
{
	return strchr(value, 'x') ? "has an x" : NULL;
}

static int
count_entries(struct jit_config_reader *reader, const struct jit_config_key *key,
              const struct jit_config_node *value, void *base, const char *path)
{
	struct sample *s = base;
	if (value->kind != JIT_CONFIG_NODE_SEQUENCE)
		return jit_config_reader_fail(reader, value->line, path, "not a list");
	s->custom_calls = (int)value->count;
	return 0;
}

#define S(f) JIT_CONFIG_FIELD(struct sample, f)

static const struct jit_config_key deep_keys[] = {
	{ .name = "inner", .type = JIT_CONFIG_STRING, S(inner), .required = true },
	{ 0 },
};

static const struct jit_config_key nest_keys[] = {
	{ .name = "deep", .type = JIT_CONFIG_SECTION, .section = deep_keys },
	{ 0 },
};

static const struct jit_config_key sample_keys[] = {
	{ .name = "name", .type = JIT_CONFIG_STRING, S(name), .check = no_x },
	{ .name = "file", .type = JIT_CONFIG_PATH, S(file) },
	{ .name = "on", .type = JIT_CONFIG_BOOL, S(on) },
	{ .name = "small", .type = JIT_CONFIG_INTEGER, S(small), .min = -5, .max = 10 },
	{ .name = "big", .type = JIT_CONFIG_INTEGER, S(big), .min = 0, .max = INT64_C(1) << 40 },
	{ .name = "seconds", .type = JIT_CONFIG_SECONDS, S(seconds), .min = 1, .max = 3600 },
	{ .name = "ms", .type = JIT_CONFIG_MILLISECONDS, S(ms), .min = 10, .max = 60000 },
	{ .name = "tags", .type = JIT_CONFIG_LIST, S(tags), .max_items = 3, .check = no_x },
	{ .name = "globs", .type = JIT_CONFIG_LIST, S(globs), .one_or_list = true },
	{ .name = "nest", .type = JIT_CONFIG_SECTION, .section = nest_keys },
	{ .name = "entries", .type = JIT_CONFIG_CUSTOM, .set = count_entries },
	{ .name = "old", .type = JIT_CONFIG_REFUSED, .refusal = "no longer read" },
	{ 0 },
};

static const struct jit_config_reader_options plain = { .max_bytes = 4096 };

/* Reads `text` into *s with `options`; returns the code and leaves the message in error. */
static int
read_sample(const char *text, const struct jit_config_reader_options *options, struct sample *s,
            char *error, size_t error_size)
{
	struct jit_config_reader *reader = NULL;
	put_text(text);
	int r = jit_config_reader_open(test_file, options, &reader, error, error_size);
	if (r == 0)
		r = jit_config_reader_apply(reader, sample_keys, s);
	jit_config_reader_free(reader);
	return r;
}

static void
test_every_type(UNUSED_STATE)
{
	struct sample s = { 0 };
	char error[512] = "", expected[256];
	const char *text = "name: alice\n"
	                   "file: sub/k.pem\n"
	                   "on: true\n"
	                   "small: -5\n"
	                   "big: 1099511627776\n"
	                   "seconds: 1h\n"
	                   "ms: 250ms\n"
	                   "tags: [a, b]\n"
	                   "globs: \"*@example.com\"\n"
	                   "nest:\n  deep:\n    inner: here\n"
	                   "entries: [1, 2, 3]\n";
	assert_int_equal(read_sample(text, &plain, &s, error, sizeof(error)), 0);
	assert_string_equal(s.name, "alice");
	snprintf(expected, sizeof(expected), "%s/sub/k.pem", test_dir);
	assert_string_equal(s.file, expected);
	assert_true(s.on);
	assert_int_equal(s.small, -5);
	assert_true(s.big == INT64_C(1) << 40);
	assert_int_equal(s.seconds, 3600);
	assert_int_equal(s.ms, 250);
	assert_non_null(s.tags);
	assert_string_equal(s.tags[0], "a");
	assert_string_equal(s.tags[1], "b");
	assert_null(s.tags[2]);
	assert_non_null(s.globs);
	assert_string_equal(s.globs[0], "*@example.com");
	assert_null(s.globs[1]);
	assert_string_equal(s.inner, "here");
	assert_int_equal(s.custom_calls, 3);
	sample_clear(&s);

	/* Seconds given as a duration for milliseconds; an absolute path kept; an empty list. */
	assert_int_equal(
	        read_sample("ms: 2s\nfile: /abs/f\ntags: []\n", &plain, &s, error, sizeof(error)),
	        0);
	assert_int_equal(s.ms, 2000);
	assert_string_equal(s.file, "/abs/f");
	assert_non_null(s.tags);
	assert_null(s.tags[0]);
	sample_clear(&s);
}

static void
test_empty_file_applies_nothing(UNUSED_STATE)
{
	struct sample s = { .small = 7 };
	char error[512] = "";
	assert_int_equal(read_sample("", &plain, &s, error, sizeof(error)), 0);
	assert_int_equal(read_sample("# only a comment\n", &plain, &s, error, sizeof(error)), 0);
	assert_int_equal(s.small, 7);
	assert_null(s.name);
	/* A section with everything commented out is an empty section. */
	assert_int_equal(read_sample("nest:\n  # deep: x\n", &plain, &s, error, sizeof(error)), 0);
}

/* Each case: the file, then what follows "FILE:" in the message. */
static const struct {
	const char *text;
	const char *message;
} error_cases[] = {
	{ "name: a\nnmae: b\n", "2: nmae: unknown key" },
	{ "nest:\n  deep:\n    inner: a\n    outer: b\n", "4: nest.deep.outer: unknown key" },
	{ "name: a\nname: b\n", "2: name: duplicate key" },
	{ "nest:\n  deep: {inner: a, inner: b}\n", "2: nest.deep.inner: duplicate key" },
	{ "name: [a]\n", "1: name: must be a single value, not a list" },
	{ "name: {a: b}\n", "1: name: must be a single value, not a mapping" },
	{ "name:\n", "1: name: has no value" },
	{ "name: \"\"\n", "1: name: is empty" },
	{ "name: \"a\\tb\"\n", "1: name: contains a control character" },
	{ "name: \"a\\0b\"\n", "1: name: contains a NUL byte" },
	{ "name: max\n", "1: name: \"max\": has an x" },
	{ "on: yes\n", "1: on: must be true or false, not \"yes\"" },
	{ "small: 11\n", "1: small: 11 is out of range (-5 to 10)" },
	{ "small: -6\n", "1: small: -6 is out of range (-5 to 10)" },
	{ "small: 007\n", "1: small: \"007\" is not an integer" },
	{ "small: 1.5\n", "1: small: \"1.5\" is not an integer" },
	{ "big: 99999999999999999999\n", "1: big: \"99999999999999999999\" is not an integer" },
	{ "seconds: 2h\n", "1: seconds: \"2h\" is out of range (1s to 3600s)" },
	{ "ms: 5ms\n", "1: ms: \"5ms\" is out of range (10ms to 60000ms)" },
	{ "ms: soon\n",
	  "1: ms: invalid duration \"soon\" (use h, m, s or ms, e.g. 5s, 500ms, 1m30s)" },
	{ "tags: a\n", "1: tags: must be a list, not a single value" },
	{ "tags: [a, b, c, d]\n", "1: tags: more than 3 entries" },
	{ "tags:\n  - a\n  - [b]\n", "3: tags[1]: must be a single value, not a list" },
	{ "tags: [a, x]\n", "1: tags[1]: \"x\": has an x" },
	{ "globs: {a: b}\n", "1: globs: must be a list, not a mapping" },
	{ "nest: 3\n", "1: nest: must be a mapping, not a single value" },
	{ "nest:\n  deep: {}\n", "2: nest.deep: inner is required" },
	{ "entries: 3\n", "1: entries: not a list" },
	{ "old: 1\n", "1: old: no longer read" },
	{ "- a\n- b\n", "1: must be a mapping, not a list" },
	{ "just text\n", "1: must be a mapping, not a single value" },
	{ "? [a]\n: b\n", "1: a key must be a plain word, not a list" },
	{ "name: &n a\n", "1: YAML anchors (&name) are not allowed" },
	{ "name: !!str a\n", "1: YAML tags (!name) are not allowed" },
	{ "a: &x b\nc: *x\n", "1: YAML anchors (&name) are not allowed" },
	{ "name: a\n---\nname: b\n", "2: only one YAML document is allowed" },
	{ "name: [a\n", "2: YAML syntax error: did not find expected ',' or ']' while parsing a "
	                "flow sequence" },
	{ "a: [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]\n", "1: nested deeper than 16 levels" },
};

static void
test_errors_name_file_line_and_key(UNUSED_STATE)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct sample s = { 0 };
		char error[512] = "", expected[512];
		int r = read_sample(error_cases[i].text, &plain, &s, error, sizeof(error));
		snprintf(expected, sizeof(expected), "%s:%s", test_file, error_cases[i].message);
		if (r != JIT_ERR_INVALID || strcmp(error, expected) != 0)
			print_error("case %zu: got %d \"%s\"\n", i, r, error);
		assert_int_equal(r, JIT_ERR_INVALID);
		assert_string_equal(error, expected);
		sample_clear(&s);
	}
}

static void
test_the_other_wording(UNUSED_STATE)
{
	static const struct jit_config_reader_options agent_words = { .max_bytes = 4096,
		                                                      .say_given_twice = true,
		                                                      .say_integer_bounds = true };
	struct sample s = { 0 };
	char error[512] = "", expected[512];

	assert_int_equal(
	        read_sample("on: true\nname: a\nname: b\n", &agent_words, &s, error, sizeof(error)),
	        JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s:3: name: given twice (first on line 2)",
	         test_file);
	assert_string_equal(error, expected);
	sample_clear(&s);
	assert_int_equal(read_sample("small: 11\n", &agent_words, &s, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s:1: small: an integer from -5 to 10", test_file);
	assert_string_equal(error, expected);
	assert_int_equal(read_sample("small: lots\n", &agent_words, &s, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_string_equal(error, expected);
	sample_clear(&s);
}

static void
test_the_file_itself(UNUSED_STATE)
{
	struct jit_config_reader *reader = NULL;
	char error[512] = "", expected[512];
	char big[4097];

	/* Over the bound: refused before parsing. */
	memset(big, '#', sizeof(big));
	put(big, sizeof(big));
	assert_int_equal(jit_config_reader_open(test_file, &plain, &reader, error, sizeof(error)),
	                 JIT_ERR_TOO_LARGE);
	snprintf(expected, sizeof(expected), "%s: larger than 4096 bytes", test_file);
	assert_string_equal(error, expected);
	/* At the bound: read. */
	put(big, sizeof(big) - 1);
	assert_int_equal(jit_config_reader_open(test_file, &plain, &reader, error, sizeof(error)),
	                 0);
	jit_config_reader_free(reader);
	reader = NULL;
	assert_int_equal(jit_config_reader_open_text(test_file, big, sizeof(big), &plain, &reader,
	                                             error, sizeof(error)),
	                 JIT_ERR_TOO_LARGE);
	/* Not there, not a file, no name. */
	unlink(test_file);
	assert_int_equal(jit_config_reader_open(test_file, &plain, &reader, error, sizeof(error)),
	                 -ENOENT);
	snprintf(expected, sizeof(expected), "%s: %s", test_file, strerror(ENOENT));
	assert_string_equal(error, expected);
	assert_int_equal(jit_config_reader_open(test_dir, &plain, &reader, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s: not a regular file", test_dir);
	assert_string_equal(error, expected);
	assert_int_equal(jit_config_reader_open("", &plain, &reader, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_null(reader);
	jit_config_reader_free(NULL);
}

static void
test_lines_of_fields(UNUSED_STATE)
{
	struct jit_config_reader *reader = NULL;
	struct sample s = { 0 };
	char error[512] = "";
	const char *text = "on: true\n\nsmall: 3\n";
	assert_int_equal(jit_config_reader_open_text(test_file, text, strlen(text), &plain, &reader,
	                                             error, sizeof(error)),
	                 0);
	assert_string_equal(jit_config_reader_path(reader), test_file);
	assert_string_equal(jit_config_reader_dir(reader), test_dir);
	assert_int_equal(jit_config_reader_apply(reader, sample_keys, &s), 0);
	assert_int_equal(jit_config_reader_line_of(reader, &s.on), 1);
	assert_int_equal(jit_config_reader_line_of(reader, &s.small), 3);
	assert_int_equal(jit_config_reader_line_of(reader, &s.name), 0);
	jit_config_reader_free(reader);
	sample_clear(&s);
}

/* The agent's loader on the reader: its words, its deprecated key, nothing returned on an
 * error. */
static void
test_agent_reader(UNUSED_STATE)
{
	struct agent_config *c = NULL, *untouched = (struct agent_config *)&c;
	char error[512] = "", expected[512];
	const char *base = "server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\n";
	char text[512];

	snprintf(text, sizeof(text), "%slimits:\n  max_connections: 4\n", base);
	put_text(text);
	assert_int_equal(agent_config_load(test_file, &c, error, sizeof(error)), 0);
	assert_non_null(c);
	assert_int_equal(c->legacy_max_connections, 4);
	assert_int_equal(c->max_pam_connections, 4);
	assert_int_equal(c->max_user_connections, 4);
	assert_int_equal(c->max_user_connections_per_uid, 4);
	assert_int_equal(c->token_ttl_seconds, 60);
	agent_config_free(c);

	c = untouched;
	snprintf(text, sizeof(text), "%sidentity:\n  groups: [ops]\n  template: alice\n", base);
	put_text(text);
	assert_int_equal(agent_config_load(test_file, &c, error, sizeof(error)), JIT_ERR_INVALID);
	assert_ptr_equal(c, untouched);
	snprintf(expected, sizeof(expected), "%s:7: identity.template: must contain {user}",
	         test_file);
	assert_string_equal(error, expected);

	put_text("host:\n  name: j\n");
	assert_int_equal(agent_config_load(test_file, &c, error, sizeof(error)), JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s: server.url and host.name are required",
	         test_file);
	assert_string_equal(error, expected);
	assert_ptr_equal(c, untouched);
}

/* jitsudod's and the agent's readers refuse an unknown key in one shape. */
static void
test_programs_agree_on_unknown_keys(UNUSED_STATE)
{
	struct agent_config *agent = NULL;
	struct jit_config *server = NULL;
	char error[512] = "", expected[512];

	put_text("server:\n  url: http://127.0.0.1:1\n  colour: red\n");
	snprintf(expected, sizeof(expected), "%s:3: server.colour: unknown key", test_file);
	assert_int_equal(agent_config_load(test_file, &agent, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_string_equal(error, expected);
	put_text("server:\n  http_addr: :8080\n  colour: red\n");
	assert_int_equal(jit_config_load(test_file, &server, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_string_equal(error, expected);
	assert_null(agent);
	assert_null(server);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_empty_file_applies_nothing),
		cmocka_unit_test(test_errors_name_file_line_and_key),
		cmocka_unit_test(test_the_other_wording),
		cmocka_unit_test(test_the_file_itself),
		cmocka_unit_test(test_lines_of_fields),
		cmocka_unit_test(test_agent_reader),
		cmocka_unit_test(test_programs_agree_on_unknown_keys),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
