/* Unit tests of the core built-ins: comparison functions, aggregates (exact and big sums and
 * products), type tests, to_number and the cast_* functions, membership. Expected values come
 * from the OPA conformance cases. */
#include "lib/rego/tests/builtins_test_call.h"

static void
test_comparison(void **state)
{
	EXPECT("true", "equal", J("1"), J("1.0"));
	EXPECT("false", "equal", J("1"), J("\"1\""));
	EXPECT("true", "neq", J("0"), J("1"));
	EXPECT("true", "lt", J("-1"), J("0"));
	EXPECT("true", "lt", J("null"), J("false"));
	EXPECT("true", "lt", J("1"), J("\"a\""));
	EXPECT("true", "lt", J("[1]"), J("{}"));
	EXPECT("true", "lt", J("{}"), S("[]"));
	EXPECT("false", "lt", J("1"), J("-1"));
	EXPECT("true", "lte", J("1"), J("1"));
	EXPECT("true", "gt", J("28857836529306024611913"), J("28857836529306024611912"));
	EXPECT("true", "gt", J("1.5"), J("1"));
	EXPECT("true", "gte", J("4"), J("4"));
	EXPECT("false", "gte", J("3"), J("4"));
}

static void
test_count(void **state)
{
	EXPECT("4", "count", J("[1, 2, 3, 4]"));
	EXPECT("2", "count", J("{\"v1\": \"hello\", \"v2\": \"goodbye\"}"));
	EXPECT("3", "count", S("[1, 2, 3, 3]"));
	EXPECT("5", "count", J("\"abcde\""));
	EXPECT("3", "count", J("\"\\u00e5\\u00e4\\u00f6\""));
	EXPECT("0", "count", J("\"\""));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be one of {array, object, set, string} but got null", "count",
	             J("null"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be one of {array, object, set, string} but got number",
	             "count", J("5"));
}

static void
test_sum_product(void **state)
{
	EXPECT("10", "sum", S("[1, 2, 3, 4]"));
	EXPECT("10", "sum", J("[1, 2, 3, 4]"));
	EXPECT("0", "sum", J("[]"));
	EXPECT("49649733058", "sum", J("[49649733057, 1]"));
	EXPECT("18446744073709551618", "sum", J("[18446744073709551617, 1]"));
	EXPECT("18446744073709551618", "sum", S("[18446744073709551617, 1]"));
	EXPECT("9223372036854775808", "sum", J("[9223372036854775807, 1]"));
	EXPECT("9223372036854775810", "sum", S("[9223372036854775807, 1, 2]"));
	EXPECT("-9223372036854775809", "sum", J("[-9223372036854775808, -1]"));
	EXPECT("9223372036854775807", "sum", J("[9223372036854775806, 1]"));
	EXPECT("4", "sum", J("[1.5, 2.5]"));
	EXPECT("3.5", "sum", J("[1, 2.5]"));
	EXPECT("0.6", "sum", J("[0.1, 0.2, 0.3]"));
	EXPECT("24", "product", J("[1, 2, 3, 4]"));
	EXPECT("24", "product", S("[1, 2, 3, 4]"));
	EXPECT("1", "product", S("[]"));
	EXPECT("36893488147419103234", "product", J("[18446744073709551617, 2]"));
	EXPECT("3", "product", J("[1.5, 2]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {set, array} but got object", "sum",
	             J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be array of numbers but got array containing string", "sum",
	             J("[1, \"a\"]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be set of numbers but got set containing null",
	             "product", S("[1, null]"));
}

static void
test_max_min_sort(void **state)
{
	EXPECT("4", "max", J("[1, 2, 3, 4]"));
	EXPECT("4", "max", S("[1, 2, 3, 4]"));
	EXPECT("\"a\"", "max", J("[1, \"a\", null]"));
	EXPECT_UNDEFINED("max", J("[]"));
	EXPECT_UNDEFINED("min", S("[]"));
	EXPECT("1", "min", J("[1, 2, 1, 3, 4]"));
	EXPECT("-7", "min", J("[3, 2, 1, 4, 6, -7, 10]"));
	EXPECT("1", "min", S("[1, 2, 3, 4]"));
	EXPECT("[1, 2, 3, 4]", "sort", J("[4, 3, 2, 1]"));
	EXPECT("[1, 2, 3, 4]", "sort", S("[4, 1, 3, 2]"));
	EXPECT("[null, false, 1, \"a\", [], {}]", "sort", J("[{}, [], \"a\", 1, false, null]"));
	EXPECT("[]", "sort", J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {set, array} but got string", "max",
	             J("\"abc\""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {set, array} but got number", "sort",
	             J("1"));
}

static void
test_all_any(void **state)
{
	EXPECT("true", "all", J("[true, true]"));
	EXPECT("true", "all", J("[]"));
	EXPECT("false", "all", J("[true, 1]"));
	EXPECT("true", "all", S("[true]"));
	EXPECT("true", "any", J("[false, true]"));
	EXPECT("false", "any", S("[]"));
	EXPECT("false", "any", J("[false, 1]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {array, set} but got object", "all",
	             J("{}"));
	assert_null(rego_builtin_lookup("all", 3, true));
	assert_null(rego_builtin_lookup("any", 3, true));
	assert_non_null(rego_builtin_lookup("any", 3, false));
}

static void
test_types(void **state)
{
	EXPECT("true", "is_number", J("1.5"));
	EXPECT("false", "is_number", J("null"));
	EXPECT("false", "is_number", J("false"));
	EXPECT("true", "is_string", J("\"Hello\""));
	EXPECT("false", "is_string", J("null"));
	EXPECT("true", "is_boolean", J("false"));
	EXPECT("true", "is_array", J("[1]"));
	EXPECT("false", "is_array", S("[1]"));
	EXPECT("true", "is_set", S("[]"));
	EXPECT("true", "is_object", J("{}"));
	EXPECT("true", "is_null", J("null"));
	EXPECT("false", "is_null", J("0"));
	EXPECT("\"null\"", "type_name", J("null"));
	EXPECT("\"boolean\"", "type_name", J("true"));
	EXPECT("\"number\"", "type_name", J("100"));
	EXPECT("\"string\"", "type_name", J("\"Hello\""));
	EXPECT("\"array\"", "type_name", J("[]"));
	EXPECT("\"object\"", "type_name", J("{}"));
	EXPECT("\"set\"", "type_name", S("[]"));
}

static void
test_to_number(void **state)
{
	EXPECT("-42", "to_number", J("\"-42.0\""));
	EXPECT("0", "to_number", J("false"));
	EXPECT("1", "to_number", J("true"));
	EXPECT("100.1", "to_number", J("100.1"));
	EXPECT("0", "to_number", J("null"));
	EXPECT("3", "to_number", J("\"3\""));
	EXPECT("0.5", "to_number", J("\".5\""));
	EXPECT("5", "to_number", J("\"5.\""));
	EXPECT("5", "to_number", J("\"+5\""));
	EXPECT("100000", "to_number", J("\"1e5\""));
	EXPECT("1000.5", "to_number", J("\"1_000.5\""));
	EXPECT("0.25", "to_number", J("\"0x1p-2\""));
	EXPECT("3", "to_number", J("\"0x1.8p1\""));
	EXPECT("123456789012345678901234567890", "to_number",
	       J("\"123456789012345678901234567890\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "strconv.ParseFloat: parsing \"broken\": invalid syntax",
	             "to_number", J("\"broken\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid syntax", "to_number", J("\"\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid syntax", "to_number", J("\" 1\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid syntax", "to_number", J("\"1e\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid syntax", "to_number", J("\"0x10\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid syntax", "to_number", J("\"1__0\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid syntax", "to_number", J("\"_1\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid syntax", "to_number", J("\"1.2.3\""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "value out of range", "to_number", J("\"1e400\""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be valid number string but got string",
	             "to_number", J("\"-Inf\""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be valid number string but got string",
	             "to_number", J("\"NaN\""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be valid number string but got string",
	             "to_number", J("\"infinity\""));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be one of {null, boolean, number, string} but got array",
	             "to_number", J("[]"));
}

static void
test_casts(void **state)
{
	EXPECT("[1, 2]", "cast_array", S("[2, 1]"));
	EXPECT("[2, 1]", "cast_array", J("[2, 1]"));
	EXPECT("{1, 2}", "cast_set", J("[2, 1, 2]"));
	EXPECT("{1}", "cast_set", S("[1]"));
	EXPECT("\"a\"", "cast_string", J("\"a\""));
	EXPECT("false", "cast_boolean", J("false"));
	EXPECT("null", "cast_null", J("null"));
	EXPECT("{}", "cast_object", J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {array, set} but got object",
	             "cast_array", J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {array, set} but got string",
	             "cast_set", J("\"a\""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be null but got object", "cast_null", J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be boolean but got number", "cast_boolean",
	             J("1"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got array", "cast_object",
	             J("[1, 2, 3]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got number", "cast_string",
	             J("1"));
	assert_null(rego_builtin_lookup("cast_set", 8, true));
}

static void
test_membership(void **state)
{
	EXPECT("true", "internal.member_2", J("2"), J("[1, 2]"));
	EXPECT("true", "internal.member_2", J("2"), S("[1, 2]"));
	EXPECT("true", "internal.member_2", J("\"b\""), J("{\"a\": \"b\"}"));
	EXPECT("false", "internal.member_2", J("\"a\""), J("{\"a\": \"b\"}"));
	EXPECT("false", "internal.member_2", J("1"), J("1"));
	EXPECT("true", "internal.member_3", J("1"), J("2"), J("[1, 2]"));
	EXPECT("false", "internal.member_3", J("2"), J("2"), J("[1, 2]"));
	EXPECT("true", "internal.member_3", J("\"a\""), J("\"b\""), J("{\"a\": \"b\"}"));
	EXPECT("true", "internal.member_3", J("1"), J("1"), S("[1]"));
	EXPECT("false", "internal.member_3", J("1"), J("2"), S("[1]"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_comparison, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_count, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_sum_product, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_max_min_sort, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_all_any, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_types, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_to_number, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_casts, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_membership, builtin_setup, builtin_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
