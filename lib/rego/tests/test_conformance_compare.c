/* Unit tests of the conformance runner's YAML conversion and row comparison. The unit-test rule
 * links one source file, so the code under test is included directly; it needs only libyaml
 * and the Rego value API, never the engine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/rego/tests/conformance/case_compare.c"

struct fixture {
	struct rego_arena arena;
	yaml_parser_t parser;
	yaml_document_t document;
	bool loaded;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	rego_arena_init(&f->arena, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	if (f->loaded) {
		yaml_document_delete(&f->document);
		yaml_parser_delete(&f->parser);
	}
	rego_arena_free(&f->arena);
	free(f);
	return 0;
}

static const struct rego_value *
plain(struct fixture *f, const char *text)
{
	const struct rego_value *v = NULL;
	assert_int_equal(conformance_scalar_value(&f->arena, text, strlen(text), true, &v), 0);
	return v;
}

/* Parses `yaml` and converts its root node. */
static const struct rego_value *
from_yaml(struct fixture *f, const char *yaml)
{
	const struct rego_value *v = NULL;
	if (f->loaded) {
		yaml_document_delete(&f->document);
		yaml_parser_delete(&f->parser);
		f->loaded = false;
	}
	assert_true(yaml_parser_initialize(&f->parser));
	yaml_parser_set_input_string(&f->parser, (const unsigned char *)yaml, strlen(yaml));
	assert_true(yaml_parser_load(&f->parser, &f->document));
	f->loaded = true;
	assert_int_equal(conformance_value_from_yaml(&f->arena, &f->document,
	                                             yaml_document_get_root_node(&f->document), &v),
	                 0);
	return v;
}

/* Parses JSON text (as the engine's results would arrive). */
static const struct rego_value *
from_json(struct fixture *f, const char *text)
{
	const struct rego_value *v = NULL;
	assert_int_equal(rego_parse_json(&f->arena, text, strlen(text), &v), 0);
	return v;
}

static const char *
json_of(struct fixture *f, const struct rego_value *v)
{
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, &f->arena);
	assert_int_equal(rego_format_json(&sb, v), 0);
	return sb.data;
}

static void
assert_int_value(const struct rego_value *v, int64_t want)
{
	int64_t got;
	assert_int_equal(v->type, REGO_NUMBER);
	assert_true(rego_number_int64(v, &got));
	assert_int_equal(got, want);
}

static void
test_scalars_null_and_bool(void **state)
{
	struct fixture *f = *state;
	assert_ptr_equal(plain(f, ""), &rego_null_value);
	assert_ptr_equal(plain(f, "~"), &rego_null_value);
	assert_ptr_equal(plain(f, "null"), &rego_null_value);
	assert_ptr_equal(plain(f, "NULL"), &rego_null_value);
	assert_ptr_equal(plain(f, "true"), &rego_true_value);
	assert_ptr_equal(plain(f, "True"), &rego_true_value);
	assert_ptr_equal(plain(f, "FALSE"), &rego_false_value);
	/* YAML 1.1 booleans stay strings, as in yaml.v3: keys such as `y:` are common. */
	assert_int_equal(plain(f, "y")->type, REGO_STRING);
	assert_int_equal(plain(f, "yes")->type, REGO_STRING);
	assert_int_equal(plain(f, "off")->type, REGO_STRING);
	assert_int_equal(plain(f, "nulls")->type, REGO_STRING);
}

static void
test_scalars_numbers(void **state)
{
	struct fixture *f = *state;
	assert_int_value(plain(f, "12"), 12);
	assert_int_value(plain(f, "-7"), -7);
	assert_int_value(plain(f, "+3"), 3);
	assert_int_value(plain(f, "0"), 0);
	assert_int_value(plain(f, "0x1F"), 31);
	assert_int_value(plain(f, "-0x10"), -16);
	assert_int_value(plain(f, "0o17"), 15);
	assert_int_value(plain(f, "0b101"), 5);
	assert_int_value(plain(f, "0777"), 511);
	assert_int_value(plain(f, "089"), 89); /* not octal: a float, which is integral */
	assert_int_value(plain(f, "1e3"), 1000);
	assert_int_value(plain(f, "9223372036854775807"), INT64_MAX);

	const struct rego_value *big = plain(f, "18446744073709551614");
	assert_int_equal(big->number_kind, REGO_NUM_BIG);
	assert_string_equal(big->u.big, "18446744073709551614");
	big = plain(f, "-28857836529306024611913");
	assert_string_equal(big->u.big, "-28857836529306024611913");
	assert_int_equal(plain(f, "0xFFFFFFFFFFFFFFFF")->number_kind, REGO_NUM_BIG);

	const struct rego_value *real = plain(f, "3.14159");
	assert_int_equal(real->number_kind, REGO_NUM_FLOAT);
	assert_true(real->u.real == 3.14159);
	assert_true(plain(f, ".5")->u.real == 0.5);
	assert_true(plain(f, "1.5893857701234e+09")->u.real == 1.5893857701234e+09);

	assert_int_equal(plain(f, "1.2.3")->type, REGO_STRING);
	assert_int_equal(plain(f, "0x")->type, REGO_STRING);
	assert_int_equal(plain(f, "0xZZ")->type, REGO_STRING);
	assert_int_equal(plain(f, "-")->type, REGO_STRING);
	assert_int_equal(plain(f, ".")->type, REGO_STRING);
	assert_int_equal(plain(f, "1e")->type, REGO_STRING);
	assert_int_equal(plain(f, ".inf")->type, REGO_STRING);
	assert_int_equal(plain(f, "000003e8-48b9-21ee-b200-325096b39f47")->type, REGO_STRING);
	assert_int_equal(plain(f, "2601:600::/64")->type, REGO_STRING);
}

static void
test_quoted_scalars_are_strings(void **state)
{
	struct fixture *f = *state;
	const struct rego_value *v =
	        from_yaml(f, "- '12'\n- \"true\"\n- ''\n- |\n  null\n- 12\n- \"\"\n");
	assert_string_equal(json_of(f, v), "[\"12\",\"true\",\"\",\"null\\n\",12,\"\"]");
}

static void
test_documents(void **state)
{
	struct fixture *f = *state;
	const struct rego_value *v = from_yaml(f, "cases:\n"
	                                          "  - x:\n"
	                                          "      - 1\n"
	                                          "      - 2.5\n"
	                                          "    y: {a: [true, null], 1: b, true: c}\n"
	                                          "    big: 18446744073709551614\n"
	                                          "    s: \"2\"\n"
	                                          "    anchor: &a {k: v}\n"
	                                          "    alias: *a\n");
	assert_string_equal(json_of(f, v),
	                    "{\"cases\":[{\"alias\":{\"k\":\"v\"},"
	                    "\"anchor\":{\"k\":\"v\"},"
	                    "\"big\":18446744073709551614,\"s\":\"2\","
	                    "\"x\":[1,2.5],"
	                    "\"y\":{\"1\":\"b\",\"a\":[true,null],\"true\":\"c\"}}]}");
	/* Keys are strings whatever they look like. */
	const struct rego_value *y =
	        rego_object_get_string(v->u.members[0].value->u.items[0], "y", 1);
	assert_non_null(y);
	assert_non_null(rego_object_get_string(y, "1", 1));
}

static void
test_non_scalar_key_is_invalid(void **state)
{
	struct fixture *f = *state;
	const struct rego_value *v = NULL;
	const char *yaml = "? [1, 2]\n: x\n";
	assert_true(yaml_parser_initialize(&f->parser));
	yaml_parser_set_input_string(&f->parser, (const unsigned char *)yaml, strlen(yaml));
	assert_true(yaml_parser_load(&f->parser, &f->document));
	f->loaded = true;
	assert_int_equal(conformance_value_from_yaml(&f->arena, &f->document,
	                                             yaml_document_get_root_node(&f->document), &v),
	                 JIT_ERR_INVALID);
}

static const struct rego_value *
rows(struct fixture *f, const struct rego_value *v, bool sort, bool ignore)
{
	const struct rego_value *out = NULL;
	struct conformance_row_options options = {
		.sort_bindings = sort,
		.ignore_generated_vars = ignore,
	};
	assert_int_equal(conformance_rows_normalize(&f->arena, v, &options, &out), 0);
	return out;
}

static bool
rows_match(struct fixture *f, const char *want_yaml, const char *got_json, bool sort, bool ignore)
{
	const struct rego_value *want = rows(f, from_yaml(f, want_yaml), sort, ignore);
	const struct rego_value *got = rows(f, from_json(f, got_json), sort, ignore);
	return conformance_rows_equal(want, got);
}

static void
test_rows_compare_as_sets(void **state)
{
	struct fixture *f = *state;
	assert_true(rows_match(f, "- x: 1\n- x: 2\n", "[{\"x\":2},{\"x\":1}]", false, false));
	assert_true(rows_match(f, "- x: 1\n", "[{\"x\":1},{\"x\":1}]", false, false));
	assert_false(rows_match(f, "- x: 1\n- x: 2\n", "[{\"x\":1}]", false, false));
	assert_false(rows_match(f, "- x: 1\n", "[{\"x\":1},{\"x\":2}]", false, false));
	assert_true(rows_match(f, "[]", "[]", false, false));
	assert_false(rows_match(f, "[]", "[{}]", false, false));
	assert_false(rows_match(f, "- x: 1\n", "[{\"x\":1,\"y\":2}]", false, false));
	assert_false(rows_match(f, "- x: '1'\n", "[{\"x\":1}]", false, false));
}

static void
test_rows_numbers_by_value(void **state)
{
	struct fixture *f = *state;
	assert_true(rows_match(f, "- x: 1\n", "[{\"x\":1.0}]", false, false));
	assert_true(
	        rows_match(f, "- x: [1, {a: 2}]\n", "[{\"x\":[1.0,{\"a\":2.0}]}]", false, false));
	assert_false(rows_match(f, "- x: 1\n", "[{\"x\":1.5}]", false, false));
	/* Big integers exactly against exact results ... */
	assert_true(rows_match(f, "- x: 18446744073709551614\n", "[{\"x\":18446744073709551614}]",
	                       false, false));
	assert_false(rows_match(f, "- x: 18446744073709551614\n", "[{\"x\":18446744073709551615}]",
	                        false, false));
	/* ... and at double precision against a float, which is all JSON results can carry. */
	assert_true(rows_match(f, "- x: 18446744073709551614\n", "[{\"x\":1.8446744073709552e+19}]",
	                       false, false));
}

static void
test_rows_options(void **state)
{
	struct fixture *f = *state;
	assert_false(rows_match(f, "- x: [1, 2, 3]\n", "[{\"x\":[3,1,2]}]", false, false));
	assert_true(rows_match(f, "- x: [1, 2, 3]\n", "[{\"x\":[3,1,2]}]", true, false));
	assert_true(
	        rows_match(f, "- x: [a, a, b]\n", "[{\"x\":[\"b\",\"a\",\"a\"]}]", true, false));
	assert_false(rows_match(f, "- x: [a, b]\n", "[{\"x\":[\"b\",\"a\",\"a\"]}]", true, false));
	/* Only arrays are sorted; nested arrays keep their order. */
	assert_false(rows_match(f, "- x: {a: [1, 2]}\n", "[{\"x\":{\"a\":[2,1]}}]", true, false));

	assert_false(rows_match(f, "- x: 1\n", "[{\"x\":1,\"__localq0__\":5}]", false, false));
	assert_true(rows_match(f, "- x: 1\n", "[{\"x\":1,\"__localq0__\":5}]", false, true));
	assert_false(rows_match(f, "- x: 1\n", "[{\"x\":1,\"__local0__\":5}]", false, true));
}

static void
test_rows_must_be_objects(void **state)
{
	struct fixture *f = *state;
	const struct rego_value *out = NULL;
	struct conformance_row_options options = { 0 };
	assert_int_equal(conformance_rows_normalize(&f->arena, from_json(f, "[1]"), &options, &out),
	                 JIT_ERR_INVALID);
	assert_int_equal(
	        conformance_rows_normalize(&f->arena, from_json(f, "{\"x\":1}"), &options, &out),
	        JIT_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scalars_null_and_bool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scalars_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quoted_scalars_are_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_scalar_key_is_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_compare_as_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_numbers_by_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_must_be_objects, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
