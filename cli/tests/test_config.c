/* The CLI's config.yaml through lib/config's reader: its six settings are read, and an unknown
 * key, a value of the wrong type and a file over 64 KiB are refused naming the file, the line
 * and the key in the shape jitsudod and the agent use ("FILE:LINE: KEY: unknown key"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "lib/common/errors.h"

#define UNUSED_STATE void **state __attribute__((unused))

static char dir[64];
static char file[128];
static char err_file[128];

static int
make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/jit-cli-config-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/config.yaml", dir);
	snprintf(err_file, sizeof(err_file), "%s/stderr", dir);
	unsetenv("JITSUDO_SERVER");
	unsetenv("JITSUDO_TOKEN");
	return setenv("JITSUDO_CONFIG", file, 1);
}

static int
remove_dir(void **state)
{
	unlink(file);
	unlink(err_file);
	return rmdir(dir);
}

static void
put(const char *text, size_t length)
{
	FILE *f = fopen(file, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, length, f), length);
	assert_int_equal(fclose(f), 0);
}

/* Loads the settings with no flags; returns the code and what went to stderr in `said`. */
static int
load(struct jit_cli *cli, char *said, size_t said_size)
{
	static const struct jit_cli_args none = { 0 };
	int saved = dup(STDERR_FILENO);
	FILE *f = fopen(err_file, "w+e");
	assert_true(saved >= 0);
	assert_non_null(f);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	*cli = (struct jit_cli){ 0 };
	int r = jit_cli_settings_load(cli, &none);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	size_t n = fread(said, 1, said_size - 1, f);
	said[n] = '\0';
	fclose(f);
	return r;
}

static void
test_settings_are_read(UNUSED_STATE)
{
	struct jit_cli cli;
	char said[1024];
	const char *text = "server: https://jit.example.com/\noutput: json\ntimeout: 7s\n"
	                   "issuer: https://login.example.com\nclient_id: cli\nca_file: /ca.pem\n";
	put(text, strlen(text));
	assert_int_equal(load(&cli, said, sizeof(said)), 0);
	assert_string_equal(said, "");
	assert_string_equal(cli.server, "https://jit.example.com");
	assert_int_equal(cli.output, JIT_CLI_OUTPUT_JSON);
	assert_int_equal(cli.timeout_ms, 7000);
	assert_string_equal(cli.issuer, "https://login.example.com");
	assert_string_equal(cli.client_id, "cli");
	assert_string_equal(cli.ca_file, "/ca.pem");
	jit_cli_settings_free(&cli);

	/* No file at all: the defaults. */
	unlink(file);
	assert_int_equal(load(&cli, said, sizeof(said)), 0);
	assert_null(cli.server);
	jit_cli_settings_free(&cli);
}

static void
test_errors_name_file_line_and_key(UNUSED_STATE)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
		{ "output: json\nsever: http://x\n", "2: sever: unknown key" },
		{ "server: [1, 2]\n", "1: server: must be a single value, not a list" },
		{ "server: http://a\nserver: http://b\n", "2: server: duplicate key" },
		{ "- server\n", "1: must be a mapping, not a list" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jit_cli cli;
		char said[1024], expected[512];
		put(cases[i].text, strlen(cases[i].text));
		assert_int_equal(load(&cli, said, sizeof(said)), JIT_ERR_INVALID);
		snprintf(expected, sizeof(expected), "jitsudo: %s:%s\n", file, cases[i].message);
		assert_string_equal(said, expected);
		jit_cli_settings_free(&cli);
	}
}

static void
test_large_file_refused(UNUSED_STATE)
{
	struct jit_cli cli;
	char said[1024], expected[512];
	size_t size = 64 * 1024 + 1;
	char *text = malloc(size);
	assert_non_null(text);
	memset(text, '#', size);
	put(text, size);
	free(text);
	assert_int_equal(load(&cli, said, sizeof(said)), JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "jitsudo: %s: larger than 65536 bytes\n", file);
	assert_string_equal(said, expected);
	jit_cli_settings_free(&cli);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_are_read),
		cmocka_unit_test(test_errors_name_file_line_and_key),
		cmocka_unit_test(test_large_file_refused),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
