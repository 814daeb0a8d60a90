/* Unit tests of the CLI's output: aligned tables, control characters replaced, YAML that keeps
 * strings as strings (quoted when a reader would take them for numbers, booleans, nulls or
 * times), URL escaping, and the small formatting helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

#define UNUSED_STATE void **state JIT_UNUSED

static char *
capture_table(const struct jit_cli_table *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	jit_cli_table_print(t, f);
	fclose(f);
	return text;
}

static void
test_table_aligns_columns(UNUSED_STATE)
{
	struct jit_cli_table t;
	static const char *const header[] = { "ID", "STATE", "ROLE" };
	static const char *const row1[] = { "req_1", "PENDING", "admin" };
	static const char *const row2[] = { "req_22222", "ACTIVE", "r" };
	static const char *const row3[] = { "x", "", "last-column-not-padded" };

	assert_int_equal(jit_cli_table_init(&t, 3), 0);
	assert_int_equal(jit_cli_table_add(&t, header), 0);
	assert_int_equal(jit_cli_table_add(&t, row1), 0);
	assert_int_equal(jit_cli_table_add(&t, row2), 0);
	assert_int_equal(jit_cli_table_add(&t, row3), 0);
	char *text = capture_table(&t);
	assert_string_equal(text, "ID         STATE    ROLE\n"
	                          "req_1      PENDING  admin\n"
	                          "req_22222  ACTIVE   r\n"
	                          "x                   last-column-not-padded\n");
	free(text);
	jit_cli_table_free(&t);
	jit_cli_table_free(&t); /* twice is harmless */
	assert_int_equal(jit_cli_table_init(&t, 0), JIT_ERR_INVALID);
}

static void
test_table_many_rows_and_utf8_width(UNUSED_STATE)
{
	struct jit_cli_table t;
	static const char *const header[] = { "A", "B" };
	static const char *const accented[] = { "d\xc3\xa9j\xc3\xa0", "x" };

	assert_int_equal(jit_cli_table_init(&t, 2), 0);
	assert_int_equal(jit_cli_table_add(&t, header), 0);
	for (int i = 0; i < 100; i++) {
		const char *row[] = { "abc", "y" };
		assert_int_equal(jit_cli_table_add(&t, row), 0);
	}
	assert_int_equal(jit_cli_table_add(&t, accented), 0);
	assert_int_equal(t.rows, 102);
	char *text = capture_table(&t);
	/* "déjà" is 4 columns wide, like "abc" + 1: the B column starts at column 6 */
	assert_non_null(strstr(text, "d\xc3\xa9j\xc3\xa0  x\n"));
	assert_non_null(strstr(text, "abc   y\n"));
	free(text);
	jit_cli_table_free(&t);
}

static void
test_sanitize(UNUSED_STATE)
{
	char buf[64];

	jit_cli_sanitize("ok text", buf, sizeof buf);
	assert_string_equal(buf, "ok text");
	jit_cli_sanitize("a\x1b[2Jb\rc\nd\x7f", buf, sizeof buf);
	assert_string_equal(buf, "a?[2Jb?c?d?");
	jit_cli_sanitize("caf\xc3\xa9 \xe2\x86\x92", buf, sizeof buf);
	assert_string_equal(buf, "caf\xc3\xa9 \xe2\x86\x92");
	jit_cli_sanitize("bad \xc3 \xff end", buf, sizeof buf);
	assert_string_equal(buf, "bad ? ? end");
	jit_cli_sanitize("0123456789", buf, 5);
	assert_string_equal(buf, "0123");
	/* a multi-byte character that does not fit is left out whole */
	jit_cli_sanitize("ab\xe2\x86\x92", buf, 4);
	assert_string_equal(buf, "ab");
}

static char *
yaml_of(const char *json_text)
{
	json_error_t e;
	json_t *j = json_loads(json_text, JSON_DECODE_ANY, &e);
	char *text = NULL;
	size_t len = 0;
	assert_non_null(j);
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(jit_cli_print_yaml(f, j), 0);
	fclose(f);
	json_decref(j);
	return text;
}

static void
expect_yaml(const char *json_text, const char *yaml_text)
{
	char *got = yaml_of(json_text);
	if (strcmp(got, yaml_text) != 0)
		fail_msg("YAML of %s:\n%s\nwanted:\n%s", json_text, got, yaml_text);
	free(got);
}

static void
test_yaml_keeps_strings_strings(UNUSED_STATE)
{
	expect_yaml("{\"id\": \"req_01J8\", \"state\": \"REQUEST_STATE_PENDING\"}",
	            "id: req_01J8\nstate: REQUEST_STATE_PENDING\n");
	/* would read back as a number, a boolean, null or a time */
	expect_yaml("{\"a\": \"123456789012\", \"b\": \"true\", \"c\": \"no\", \"d\": \"null\", "
	            "\"e\": \"2026-03-20T16:00:00Z\", \"f\": \"\", \"g\": \"Y\", \"h\": \"1e3\"}",
	            "a: \"123456789012\"\nb: \"true\"\nc: \"no\"\nd: \"null\"\n"
	            "e: \"2026-03-20T16:00:00Z\"\nf: \"\"\ng: \"Y\"\nh: \"1e3\"\n");
	/* punctuation YAML gives a meaning to */
	expect_yaml(
	        "{\"a\": \"x: y\", \"b\": \"#c\", \"c\": \"*\", \"d\": \"- e\", \"e\": \"a b\"}",
	        "a: \"x: y\"\nb: \"#c\"\nc: \"*\"\nd: \"- e\"\ne: \"a b\"\n");
	expect_yaml("{\"email\": \"alice@example.com\", \"role\": \"roles/editor\"}",
	            "email: alice@example.com\nrole: roles/editor\n");
}

static void
test_yaml_types(UNUSED_STATE)
{
	expect_yaml("{\"n\": 3600, \"neg\": -1, \"t\": true, \"f\": false, \"z\": null, "
	            "\"r\": 1.5, \"whole\": 2.0}",
	            "\"n\": 3600\nneg: -1\nt: true\nf: false\nz: null\nr: 1.5\nwhole: 2.0\n");
	expect_yaml("{\"list\": [1, \"two\"], \"empty\": [], \"obj\": {}}",
	            "list:\n- 1\n- two\nempty: []\nobj: {}\n");
	expect_yaml("[{\"a\": 1}, {\"b\": [true]}]", "- a: 1\n- b:\n  - true\n");
	/* multi-line text (Rego) as a literal block */
	expect_yaml("{\"rego\": \"package x\\n\\nallow := true\\n\"}",
	            "rego: |\n  package x\n\n  allow := true\n");
}

static void
test_yaml_depth_is_bounded(UNUSED_STATE)
{
	json_t *root = json_array(), *cur = root;
	for (int i = 0; i < 100; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(jit_cli_print_yaml(f, root), JIT_ERR_TOO_LARGE);
	fclose(f);
	free(text);
	json_decref(root);
}

static void
test_url_escape_and_query(UNUSED_STATE)
{
	char buf[128] = "";

	assert_int_equal(jit_cli_url_escape("a b/c?d&e=f~_.-", buf, sizeof buf), 0);
	assert_string_equal(buf, "a%20b%2Fc%3Fd%26e%3Df~_.-");
	assert_int_equal(jit_cli_url_escape("abcdef", buf, 4), JIT_ERR_TOO_LARGE);
	buf[0] = '\0';
	assert_int_equal(jit_cli_query_add(buf, sizeof buf, "actor_identity", "a+b@x.com"), 0);
	assert_int_equal(jit_cli_query_add(buf, sizeof buf, "since", "2026-03-20T16:00:00Z"), 0);
	assert_string_equal(buf, "?actor_identity=a%2Bb%40x.com&since=2026-03-20T16%3A00%3A00Z");
	char small[16] = "?a=b";
	assert_int_equal(jit_cli_query_add(small, sizeof small, "long", "value-too-long"),
	                 JIT_ERR_TOO_LARGE);
	assert_string_equal(small, "?a=b"); /* unchanged */
}

static void
test_helpers(UNUSED_STATE)
{
	char buf[JIT_RFC3339_MAX];
	json_t *j = json_pack("{s:s,s:i}", "state", "REQUEST_STATE_ACTIVE", "n", 1);

	assert_string_equal(jit_cli_short_state("REQUEST_STATE_PENDING"), "PENDING");
	assert_string_equal(jit_cli_short_state("OTHER"), "OTHER");
	assert_string_equal(jit_cli_short_state(NULL), "");
	assert_string_equal(jit_cli_str(j, "state"), "REQUEST_STATE_ACTIVE");
	assert_string_equal(jit_cli_str(j, "n"), "");
	assert_string_equal(jit_cli_str(j, "missing"), "");
	json_t *times = json_pack("{s:s,s:s,s:s}", "a", "2026-11-23T10:00:05.123456789Z", "b",
	                          "2026-11-23T12:00:05+02:00", "c", "yesterday\x1b[2J");
	assert_string_equal(jit_cli_table_time(times, "a", buf, sizeof buf),
	                    "2026-11-23T10:00:05Z");
	assert_string_equal(jit_cli_table_time(times, "b", buf, sizeof buf),
	                    "2026-11-23T10:00:05Z");
	assert_string_equal(jit_cli_table_time(times, "c", buf, sizeof buf), "yesterday?[2J");
	assert_string_equal(jit_cli_table_time(times, "none", buf, sizeof buf), "");
	json_decref(times);
	jit_cli_format_left(5400, buf, sizeof buf);
	assert_string_equal(buf, "1h30m");
	jit_cli_format_left(59, buf, sizeof buf);
	assert_string_equal(buf, "59s");
	jit_cli_format_left(0, buf, sizeof buf);
	assert_string_equal(buf, "expired");
	jit_cli_format_left(-10, buf, sizeof buf);
	assert_string_equal(buf, "expired");
	json_decref(j);
}

static void
test_request_block(UNUSED_STATE)
{
	json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", "req_01J8KZ4F2EMNQZ3V7XKQYBD4W",
	                      "state", "REQUEST_STATE_PENDING", "provider", "aws", "role",
	                      "prod-infra-admin", "resource_scope", "123456789012");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	jit_cli_print_request_block(f, r, false);
	fclose(f);
	assert_string_equal(text, "Request ID: req_01J8KZ4F2EMNQZ3V7XKQYBD4W\n"
	                          "State: PENDING\n"
	                          "Provider: aws\n"
	                          "Role: prod-infra-admin\n"
	                          "Scope: 123456789012\n");
	free(text);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_aligns_columns),
		cmocka_unit_test(test_table_many_rows_and_utf8_width),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_yaml_keeps_strings_strings),
		cmocka_unit_test(test_yaml_types),
		cmocka_unit_test(test_yaml_depth_is_bounded),
		cmocka_unit_test(test_url_escape_and_query),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_request_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
