/* Unit tests of Rego values: total order, sets and objects, numbers, JSON text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/rego/value.h"

#define JIT_UNUSED_PARAM __attribute__((unused))

static const struct rego_value *
json(struct rego_arena *a, const char *text)
{
	const struct rego_value *v = NULL;
	assert_int_equal(rego_parse_json(a, text, strlen(text), &v), 0);
	return v;
}

static const char *
text_of(struct rego_arena *a, const struct rego_value *v, bool rego_syntax)
{
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, a);
	assert_int_equal(rego_syntax ? rego_format_rego(&sb, v) : rego_format_json(&sb, v), 0);
	return sb.data;
}

static void
test_total_order(void **state JIT_UNUSED_PARAM)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	const char *ordered[] = {
		"null",  "false", "true", "-1.5",  "1",  "1.5",       "\"a\"",
		"\"b\"", "[]",    "[1]",  "[1,2]", "{}", "{\"a\":1}", "{\"a\":2}"
	};
	for (size_t i = 0; i + 1 < sizeof(ordered) / sizeof(ordered[0]); i++) {
		const struct rego_value *x = json(&a, ordered[i]), *y = json(&a, ordered[i + 1]);
		assert_true(rego_compare(x, y) < 0);
		assert_true(rego_compare(y, x) > 0);
	}
	/* Numbers compare by value. */
	assert_true(rego_equal(json(&a, "1"), json(&a, "1.0")));
	assert_int_equal(rego_hash(json(&a, "1")), rego_hash(json(&a, "1.0")));
	rego_arena_free(&a);
}

static void
test_big_integers(void **state JIT_UNUSED_PARAM)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	const struct rego_value *x = rego_number_parse(&a, "28857836529306024611913", 23);
	const struct rego_value *y = rego_number_parse(&a, "28857836529306024611912", 23);
	assert_non_null(x);
	assert_int_equal(x->number_kind, REGO_NUM_BIG);
	assert_true(rego_compare(x, y) > 0);
	assert_true(rego_compare(rego_number_parse(&a, "-28857836529306024611913", 24), y) < 0);
	assert_true(rego_compare(x, rego_int(&a, INT64_MAX)) > 0);
	/* A literal that fits is an ordinary integer. */
	assert_int_equal(rego_number_parse(&a, "9223372036854775807", 19)->number_kind,
	                 REGO_NUM_INT);
	assert_string_equal(text_of(&a, x, false), "28857836529306024611913");
	assert_null(rego_number_parse(&a, "1.", 2));
	assert_null(rego_number_parse(&a, "", 0));
	rego_arena_free(&a);
}

static void
test_sets_and_objects(void **state JIT_UNUSED_PARAM)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	const struct rego_value *items[] = { rego_int(&a, 3), rego_int(&a, 1), rego_int(&a, 3),
		                             rego_string_cstr(&a, "x") };
	const struct rego_value *set = rego_set(&a, items, 4);
	assert_int_equal(set->length, 3);
	assert_true(rego_set_contains(set, rego_int(&a, 1)));
	assert_false(rego_set_contains(set, rego_int(&a, 2)));
	assert_string_equal(text_of(&a, set, true), "{1, 3, \"x\"}");
	assert_string_equal(text_of(&a, set, false), "[1,3,\"x\"]");
	assert_string_equal(text_of(&a, &rego_empty_set, true), "set()");
	const struct rego_value *obj = json(&a, "{\"b\": 2, \"a\": 1, \"b\": 3}");
	assert_int_equal(obj->length, 2);
	assert_int_equal(rego_object_get_string(obj, "b", 1)->u.integer, 3);
	assert_null(rego_object_get_string(obj, "c", 1));
	assert_string_equal(text_of(&a, obj, false), "{\"a\":1,\"b\":3}");
	/* Non-string keys become their JSON text in JSON output. */
	struct rego_member m[] = { { rego_int(&a, 1), rego_bool(true) } };
	assert_string_equal(text_of(&a, rego_object(&a, m, 1), false), "{\"1\":true}");
	rego_arena_free(&a);
}

static void
test_json_parser_bounds(void **state JIT_UNUSED_PARAM)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	const struct rego_value *v;
	const char *bad[] = { "", "{", "[1,]", "01", "+1", "\"\\x\"", "nul", "[1] x", "\"a\nb\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(rego_parse_json(&a, bad[i], strlen(bad[i]), &v) < 0);
	/* Deep nesting is refused, not a stack overflow. */
	char deep[4001];
	memset(deep, '[', 4000);
	deep[4000] = '\0';
	assert_true(rego_parse_json(&a, deep, 4000, &v) < 0);
	assert_int_equal(rego_parse_json(&a, "\"\\ud83d\\ude00\"", 14, &v), 0);
	assert_int_equal(v->length, 4); /* U+1F600 in UTF-8 */
	rego_arena_free(&a);
}

static void
test_float_format(void **state JIT_UNUSED_PARAM)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	assert_string_equal(text_of(&a, rego_float(&a, 0.1), false), "0.1");
	assert_string_equal(text_of(&a, rego_float(&a, 1e21), false), "1e+21");
	assert_string_equal(text_of(&a, rego_float(&a, 2.0), false), "2");
	assert_null(rego_float(&a, 1.0 / 0.0));
	rego_arena_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_total_order),      cmocka_unit_test(test_big_integers),
		cmocka_unit_test(test_sets_and_objects), cmocka_unit_test(test_json_parser_bounds),
		cmocka_unit_test(test_float_format),
	};
	return cmocka_run_group_tests_name("rego_value", tests, NULL, NULL);
}
