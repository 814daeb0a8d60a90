/* Unit tests of the CLI's argument parsing (flag forms, globals anywhere, "--", the usage
 * errors and the flag they name), duration and count flags, and exit code mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"

#define UNUSED_STATE void **state JIT_UNUSED

static const struct jit_cli_option options[] = {
	JIT_CLI_REQUIRED("provider", 0, "<name>", "provider"),
	JIT_CLI_FLAG("wait", 0, NULL, "wait"),
	JIT_CLI_FLAG("file", 'f', "<file>", "file"),
	JIT_CLI_FLAG("all", 'a', NULL, "all"),
	{ 0 },
};

struct parsed {
	struct jit_cli_args args;
	struct jit_cli_args global;
	char error[256];
	int r;
};

/* Parses a NULL-terminated list of words (copied, as the parser moves them). */
static void
parse(struct parsed *p, int max_positional, ...)
{
	static char *argv[32];
	static char storage[32][128];
	va_list ap;
	int argc = 0;
	const char *w;

	memset(p, 0, sizeof *p);
	va_start(ap, max_positional);
	while ((w = va_arg(ap, const char *)) && argc < 32) {
		snprintf(storage[argc], sizeof storage[argc], "%s", w);
		argv[argc] = storage[argc];
		argc++;
	}
	va_end(ap);
	p->r = jit_cli_parse_args(options, max_positional, argc, argv, &p->args, &p->global,
	                          p->error, sizeof p->error);
}

static void
test_flag_forms(UNUSED_STATE)
{
	struct parsed p;

	parse(&p, 1, "--provider", "aws", "--wait", "-f", "x.rego", "req_1", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.args.values[0], "aws");
	assert_string_equal(p.args.values[1], "");
	assert_string_equal(p.args.values[2], "x.rego");
	assert_null(p.args.values[3]);
	assert_int_equal(p.args.positional_count, 1);
	assert_string_equal(p.args.positional[0], "req_1");

	parse(&p, 0, "--provider=a=b", "-fy.rego", "-a", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.args.values[0], "a=b");
	assert_string_equal(p.args.values[2], "y.rego");
	assert_string_equal(p.args.values[3], "");

	/* an empty value is a value */
	parse(&p, 0, "--provider=", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.args.values[0], "");
}

static void
test_global_flags_anywhere(UNUSED_STATE)
{
	struct parsed p;

	parse(&p, 2, "-o", "json", "a", "--server", "http://s", "-q", "b", "--debug", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.global.values[JIT_CLI_GLOBAL_OUTPUT], "json");
	assert_string_equal(p.global.values[JIT_CLI_GLOBAL_SERVER], "http://s");
	assert_string_equal(p.global.values[JIT_CLI_GLOBAL_QUIET], "");
	assert_string_equal(p.global.values[JIT_CLI_GLOBAL_DEBUG], "");
	assert_int_equal(p.args.positional_count, 2);
	assert_string_equal(p.args.positional[0], "a");
	assert_string_equal(p.args.positional[1], "b");

	/* bundled short flags, the last one taking a value */
	parse(&p, 0, "-qaoyaml", NULL);
	assert_int_equal(p.r, 0);
	assert_string_equal(p.global.values[JIT_CLI_GLOBAL_QUIET], "");
	assert_string_equal(p.args.values[3], "");
	assert_string_equal(p.global.values[JIT_CLI_GLOBAL_OUTPUT], "yaml");
}

static void
test_dashdash(UNUSED_STATE)
{
	struct parsed p;

	parse(&p, 1, "req_1", "--", "ls", "--provider", "-l", NULL);
	assert_int_equal(p.r, 0);
	assert_true(p.args.dashdash);
	assert_null(p.args.values[0]);
	assert_int_equal(p.args.rest_count, 3);
	assert_string_equal(p.args.rest[0], "ls");
	assert_string_equal(p.args.rest[1], "--provider");
	assert_string_equal(p.args.rest[2], "-l");
}

static void
expect_error(int max_positional, const char *contains, const char *a, const char *b, const char *c)
{
	struct parsed p;
	parse(&p, max_positional, a, b, c, NULL);
	assert_int_equal(p.r, JIT_ERR_INVALID);
	if (!strstr(p.error, contains))
		fail_msg("\"%s\" not in \"%s\"", contains, p.error);
}

static void
test_usage_errors_name_the_flag(UNUSED_STATE)
{
	expect_error(0, "unknown flag --nope", "--nope", NULL, NULL);
	expect_error(0, "unknown flag -z", "-z", NULL, NULL);
	expect_error(0, "--provider needs a value", "--provider", NULL, NULL);
	expect_error(0, "-f (--file) needs a value", "-f", NULL, NULL);
	expect_error(0, "--wait takes no value", "--wait=yes", NULL, NULL);
	expect_error(0, "--provider given twice", "--provider=a", "--provider", "b");
	expect_error(0, "--output given twice", "-o", "json", "--output=yaml");
	expect_error(0, "unexpected argument \"extra\"", "extra", NULL, NULL);
	expect_error(1, "too many arguments", "a", "b", NULL);
	expect_error(0, "--timeout needs a value", "--timeout", NULL, NULL);
}

static void
test_long_values_are_refused(UNUSED_STATE)
{
	static char argv0[] = "--provider";
	static char big[JIT_CLI_MAX_ARG + 2];
	char *argv[] = { argv0, big };
	struct jit_cli_args args, global = { 0 };
	char error[128];

	memset(big, 'a', sizeof big - 1);
	assert_int_equal(
	        jit_cli_parse_args(options, 0, 2, argv, &args, &global, error, sizeof error),
	        JIT_ERR_INVALID);
	assert_non_null(strstr(error, "--provider: value longer than"));
}

static void
test_durations(UNUSED_STATE)
{
	char error[256];
	int64_t s = -1;

	assert_int_equal(jit_cli_parse_duration_flag("duration", "2h30m", &s, error, sizeof error),
	                 0);
	assert_int_equal(s, 9000);
	assert_int_equal(jit_cli_parse_duration_flag("duration", "45s", &s, error, sizeof error),
	                 0);
	assert_int_equal(s, 45);
	static const char *const bad[] = { "",     "90", "1h1h",  "0s",  "-5m", "1d",
		                           "1.5h", "h",  "30m1h", " 1h", "1h ", "99999999h" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s = -1;
		assert_int_equal(
		        jit_cli_parse_duration_flag("duration", bad[i], &s, error, sizeof error),
		        JIT_ERR_INVALID);
		assert_int_equal(s, -1); /* untouched on failure */
		if (strncmp(error, "--duration: ", 12) != 0)
			fail_msg("error for \"%s\" does not name the flag: %s", bad[i], error);
	}
}

static void
test_counts(UNUSED_STATE)
{
	char error[256];
	int64_t n = 0;

	assert_int_equal(jit_cli_parse_count_flag("limit", "25", 100, &n, error, sizeof error), 0);
	assert_int_equal(n, 25);
	static const char *const bad[] = { "0",   "-1", "101",
		                           "ten", "",   "1e3",
		                           "+5",  " 5", "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(
		        jit_cli_parse_count_flag("limit", bad[i], 100, &n, error, sizeof error),
		        JIT_ERR_INVALID);
		assert_non_null(strstr(error, "--limit"));
	}
}

static void
test_exit_codes(UNUSED_STATE)
{
	assert_int_equal(jit_cli_exit_code(0), 0);
	assert_int_equal(jit_cli_exit_code(7), 7);
	assert_int_equal(jit_cli_exit_code(143), 143);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_INVALID), 2);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_DENIED), 1);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_NOT_FOUND), 1);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_CONFLICT), 1);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_UNAUTHENTICATED), 1);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_PROTOCOL), 1);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_UNAVAILABLE), 75);
	assert_int_equal(jit_cli_exit_code(JIT_ERR_TIMEOUT), 75);
}

static void
test_command_table(UNUSED_STATE)
{
	/* every command has help text and examples, and no two flags share a name */
	for (size_t i = 0; jit_cli_commands[i]; i++) {
		const struct jit_cli_command *top = jit_cli_commands[i];
		const struct jit_cli_command *one[] = { top, NULL };
		const struct jit_cli_command *const *list =
		        top->subcommands ? top->subcommands : one;
		for (size_t k = 0; list[k]; k++) {
			const struct jit_cli_command *c = list[k];
			assert_non_null(c->summary);
			assert_non_null(c->usage);
			assert_non_null(c->description);
			assert_non_null(c->examples);
			assert_non_null(c->run);
			for (int a = 0; c->options && c->options[a].name; a++) {
				assert_true(a < JIT_CLI_MAX_OPTIONS);
				assert_int_equal(jit_cli_option_index(jit_cli_global_options,
				                                      c->options[a].name),
				                 -1);
				assert_int_equal(
				        jit_cli_option_index(c->options, c->options[a].name), a);
			}
		}
		assert_ptr_equal(jit_cli_command_find(jit_cli_commands, top->name), top);
	}
	assert_null(jit_cli_command_find(jit_cli_commands, "nope"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_forms),
		cmocka_unit_test(test_global_flags_anywhere),
		cmocka_unit_test(test_dashdash),
		cmocka_unit_test(test_usage_errors_name_the_flag),
		cmocka_unit_test(test_long_values_are_refused),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_command_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
