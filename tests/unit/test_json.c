/* JSON helpers: bounded parsing, strict getters naming the field, unknown fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"

#define UNUSED_STATE void **state __attribute__((unused))

static json_t *
parse(const char *text)
{
	json_t *j = NULL;
	char err[128];
	assert_int_equal(jit_json_parse_object(text, strlen(text), 1024, &j, err, sizeof(err)), 0);
	return j;
}

static void
test_parse_bounds(UNUSED_STATE)
{
	json_t *j;
	char err[128];
	const char *text = "{\"a\": 1}";
	assert_int_equal(jit_json_parse_object(text, strlen(text), 4, &j, err, sizeof(err)),
	                 JIT_ERR_TOO_LARGE);
	assert_non_null(strstr(err, "larger than 4 bytes"));
	assert_int_equal(jit_json_parse_object("[1]", 3, 100, &j, err, sizeof(err)),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(err, "must be a JSON object"));
	assert_int_equal(jit_json_parse_object("{\"a\":", 5, 100, &j, err, sizeof(err)),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(err, "malformed JSON"));
	const char *dup = "{\"a\": 1, \"a\": 2}";
	assert_int_equal(jit_json_parse_object(dup, strlen(dup), 100, &j, err, sizeof(err)),
	                 JIT_ERR_INVALID);
}

static void
test_getters(UNUSED_STATE)
{
	_cleanup_json_ json_t *j =
	        parse("{\"provider\": \"aws\", \"duration_seconds\": 7200, \"break_glass\": true, "
	              "\"reason\": 5, \"metadata\": null}");
	const char *s;
	int64_t i;
	bool b;
	char err[128];
	assert_int_equal(jit_json_get_string(j, "provider", true, 64, &s, err, sizeof(err)), 0);
	assert_string_equal(s, "aws");
	assert_int_equal(jit_json_get_int(j, "duration_seconds", true, &i, err, sizeof(err)), 0);
	assert_int_equal(i, 7200);
	assert_int_equal(jit_json_get_bool(j, "break_glass", false, &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(jit_json_get_string(j, "reason", true, 64, &s, err, sizeof(err)),
	                 JIT_ERR_INVALID);
	assert_string_equal(err, "field \"reason\" must be a string");
	assert_int_equal(jit_json_get_string(j, "role", true, 64, &s, err, sizeof(err)),
	                 JIT_ERR_INVALID);
	assert_string_equal(err, "missing field \"role\"");
	assert_int_equal(jit_json_get_string(j, "role", false, 64, &s, err, sizeof(err)),
	                 JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_json_get_string(j, "metadata", false, 64, &s, err, sizeof(err)),
	                 JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_json_get_string(j, "provider", true, 2, &s, err, sizeof(err)),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_json_get_int(j, "provider", true, &i, err, sizeof(err)),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_json_get_bool(j, "provider", true, &b, err, sizeof(err)),
	                 JIT_ERR_INVALID);
}

static void
test_unknown_fields_and_nul(UNUSED_STATE)
{
	_cleanup_json_ json_t *j = parse("{\"provider\": \"aws\", \"colour\": 1}");
	static const char *const allowed[] = { "provider", "role", NULL };
	char err[128];
	assert_int_equal(jit_json_check_fields(j, allowed, err, sizeof(err)), JIT_ERR_INVALID);
	assert_string_equal(err, "unknown field \"colour\"");
	/* NUL characters in strings are refused when parsing. */
	json_t *nul;
	const char *text_nul = "{\"provider\": \"a\\u0000b\"}";
	assert_int_equal(
	        jit_json_parse_object(text_nul, strlen(text_nul), 100, &nul, err, sizeof(err)),
	        JIT_ERR_INVALID);
	char *text = jit_json_dump(j);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"colour\":1"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_unknown_fields_and_nul),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
