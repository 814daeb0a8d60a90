/* Unit tests of the numbers built-ins: exact integer arithmetic (int64 and big), floating
 * point as OPA rounds it, division and modulo errors, rounding, ranges, rand.intn, bits and the
 * set operators. Expected values come from the OPA conformance cases. */
#include "lib/rego/tests/builtins_test_call.h"

static void
test_plus_minus_mul(void **state)
{
	EXPECT("5", "plus", J("2"), J("3"));
	EXPECT("49649733058", "plus", J("49649733057"), J("1"));
	EXPECT("3.5", "plus", J("1"), J("2.5"));
	EXPECT("4", "plus", J("1.5"), J("2.5"));
	EXPECT("0.3", "plus", J("0.1"), J("0.2"));
	EXPECT("-1", "minus", J("1"), J("2"));
	EXPECT("12", "mul", J("3"), J("4"));
	EXPECT("5", "mul", J("2.5"), J("2"));
	EXPECT("0.3", "mul", J("0.1"), J("3"));
	/* Past int64: exact. */
	EXPECT("9223372036854775808", "plus", J("9223372036854775807"), J("1"));
	EXPECT("-9223372036854775809", "minus", J("-9223372036854775808"), J("1"));
	EXPECT("18446744073709551618", "plus", J("18446744073709551617"), J("1"));
	EXPECT("18446744073709551616", "minus", J("18446744073709551617"), J("1"));
	EXPECT("36893488147419103234", "mul", J("18446744073709551617"), J("2"));
	EXPECT("123456789012345678901234567891", "plus", J("123456789012345678901234567890"),
	       J("1"));
	EXPECT("-18446744073709551618", "minus", J("-18446744073709551617"), J("1"));
	EXPECT("85070591730234615847396907784232501249", "mul", J("9223372036854775807"),
	       J("9223372036854775807"));
	/* Back into int64 range. */
	EXPECT("1", "minus", J("18446744073709551617"), J("18446744073709551616"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be number but got string", "plus", J("\"a\""),
	             J("1"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be number but got null", "mul", J("1"),
	             J("null"));
}

static void
test_minus_sets(void **state)
{
	EXPECT("{1, 3}", "minus", S("[1, 2, 3]"), S("[2, 4]"));
	EXPECT("set()", "minus", S("[1]"), S("[1]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be set but got number", "minus", S("[1]"),
	             J("1"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be number but got set", "minus", J("1"),
	             S("[1]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {number, set} but got string",
	             "minus", J("\"a\""), J("1"));
}

static void
test_div_rem(void **state)
{
	EXPECT("2", "div", J("4"), J("2"));
	EXPECT("0.3333333333333333", "div", J("1"), J("3"));
	EXPECT("0.5", "div", J("1"), J("2"));
	EXPECT("-2.5", "div", J("5"), J("-2"));
	EXPECT("0", "div", J("0"), J("-5"));
	EXPECT("9223372036854775808", "div", J("-9223372036854775808"), J("-1"));
	EXPECT("9223372036854775808", "div", J("18446744073709551616"), J("2"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "divide by zero", "div", J("1"), J("0"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "divide by zero", "div", J("1.5"), J("0"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "divide by zero", "div", J("18446744073709551616"), J("0"));

	EXPECT("3", "rem", J("7"), J("4"));
	EXPECT("-3", "rem", J("-7"), J("4"));
	EXPECT("0", "rem", J("-9223372036854775808"), J("-1"));
	EXPECT("10", "rem", J("10"), J("18446744073709551616"));
	EXPECT("5", "rem", J("5"), J("55340232221128654848"));
	EXPECT("7", "rem", J("7"), J("340282366920938463463374607431768211456"));
	EXPECT("100", "rem", J("100"), J("-18446744073709551616"));
	EXPECT("1", "rem", J("18446744073709551617"), J("18446744073709551616"));
	EXPECT("-1", "rem", J("-18446744073709551617"), J("18446744073709551616"));
	EXPECT("10", "rem", J("10"), J("18446744073709551617"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "modulo by zero", "rem", J("7"), J("0"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "modulo by zero", "rem", J("18446744073709551616"), J("0"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "modulo on floating-point number", "rem", J("1.1"), J("1"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "modulo on floating-point number", "rem", J("1.5"), J("0"));
}

static void
test_rounding(void **state)
{
	EXPECT("10", "abs", J("-10"));
	EXPECT("1.5", "abs", J("-1.5"));
	EXPECT("9223372036854775808", "abs", J("-9223372036854775808"));
	EXPECT("18446744073709551617", "abs", J("-18446744073709551617"));
	EXPECT("2", "round", J("1.5"));
	EXPECT("-2", "round", J("-1.5"));
	EXPECT("1", "round", J("1.4999"));
	EXPECT("0", "round", J("0.49999999999999994"));
	EXPECT("2", "ceil", J("1.01"));
	EXPECT("2223", "ceil", J("2222.2222222222"));
	EXPECT("-1", "ceil", J("-1.99999"));
	EXPECT("1", "ceil", J("1"));
	EXPECT("1", "floor", J("1.5"));
	EXPECT("99", "floor", J("99.99999"));
	EXPECT("-2", "floor", J("-1.001"));
	EXPECT("18446744073709551617", "floor", J("18446744073709551617"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be number but got string", "round", J("\"1\""));
}

static void
test_numbers_range(void **state)
{
	EXPECT("[0]", "numbers.range", J("0"), J("0"));
	EXPECT("[1, 2, 3]", "numbers.range", J("1"), J("3"));
	EXPECT("[3, 2, 1]", "numbers.range", J("3"), J("1"));
	EXPECT("[49649733057, 49649733058, 49649733059, 49649733060]", "numbers.range",
	       J("49649733057"), J("49649733060"));
	EXPECT("[18446744073709551616, 18446744073709551617]", "numbers.range",
	       J("18446744073709551616"), J("18446744073709551617"));
	EXPECT("[9223372036854775807, 9223372036854775806]", "numbers.range",
	       J("9223372036854775807"), J("9223372036854775806"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be integer number but got floating-point number",
	             "numbers.range", J("3.14"), J("4"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be integer number but got floating-point number",
	             "numbers.range", J("3"), J("3.14"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be integer but got string", "numbers.range",
	             J("\"a\""), J("1"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "range too large", "numbers.range",
	             J("-9223372036854775808"), J("9223372036854775807"));

	EXPECT("[0, 2, 4, 6, 8, 10]", "numbers.range_step", J("0"), J("10"), J("2"));
	EXPECT("[0, -2, -4, -6, -8, -10]", "numbers.range_step", J("0"), J("-10"), J("2"));
	EXPECT("[10, 8, 6, 4]", "numbers.range_step", J("10"), J("3"), J("2"));
	EXPECT("[1024, 2048, 3072, 4096]", "numbers.range_step", J("1024"), J("4096"), J("1024"));
	EXPECT("[2]", "numbers.range_step", J("2"), J("2"), J("2"));
	EXPECT("[2, 4]", "numbers.range_step", J("2"), J("5"), J("2"));
	EXPECT("[18446744073709551616, 18446744073709551618]", "numbers.range_step",
	       J("18446744073709551616"), J("18446744073709551619"), J("2"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "step must be a positive integer", "numbers.range_step",
	             J("0"), J("10"), J("-2"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "step must be a positive integer", "numbers.range_step",
	             J("0"), J("10"), J("0"));
}

static void
test_rand_intn(void **state)
{
	assert_int_equal(CALL("rand.intn", J("\"key\""), J("100")), 0);
	const struct rego_value *first = fx->result;
	int64_t n;
	assert_true(rego_number_int64(first, &n));
	assert_true(n >= 0 && n < 100);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(CALL("rand.intn", J("\"key\""), J("100")), 0);
		assert_true(rego_equal(first, fx->result));
	}
	EXPECT(rego_text(first), "rand.intn", J("\"key\""), J("-100"));
	EXPECT("0", "rand.intn", J("\"key\""), J("0"));
	EXPECT("0", "rand.intn", J("\"key\""), J("1"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got number", "rand.intn", J("1"),
	             J("1"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be integer number but got floating-point number", "rand.intn",
	             J("\"k\""), J("1.5"));
	const struct rego_builtin *b = rego_builtin_lookup("rand.intn", 9, true);
	assert_non_null(b);
	assert_true(b->flags & REGO_BUILTIN_MEMO);
}

static void
test_bits(void **state)
{
	EXPECT("0", "bits.and", J("50"), J("0"));
	EXPECT("2", "bits.and", J("10"), J("3"));
	EXPECT("15", "bits.or", J("7"), J("9"));
	EXPECT("50", "bits.or", J("50"), J("0"));
	EXPECT("41", "bits.xor", J("42"), J("3"));
	EXPECT("0", "bits.xor", J("42"), J("42"));
	EXPECT("-26", "bits.xor", J("10"), J("-20"));
	EXPECT("26", "bits.xor", J("-10"), J("-20"));
	EXPECT("-43", "bits.negate", J("42"));
	EXPECT("-18446744073709551617", "bits.negate", J("18446744073709551616"));
	EXPECT("18446744073709551616", "bits.negate", J("-18446744073709551617"));
	EXPECT("8", "bits.lsh", J("1"), J("3"));
	EXPECT("10485760", "bits.lsh", J("10"), J("20"));
	EXPECT("4294967294", "bits.lsh", J("2147483647"), J("1"));
	EXPECT("18446744073709551614", "bits.lsh", J("9223372036854775807"), J("1"));
	EXPECT("-18446744073709551616", "bits.lsh", J("-9223372036854775808"), J("1"));
	EXPECT("1", "bits.rsh", J("8"), J("3"));
	EXPECT("0", "bits.rsh", J("10"), J("20"));
	EXPECT("-1", "bits.rsh", J("-1"), J("5"));
	EXPECT("-2", "bits.rsh", J("-3"), J("1"));
	EXPECT("-1", "bits.rsh", J("-3"), J("100"));
	EXPECT("9223372036854775807", "bits.rsh", J("18446744073709551614"), J("1"));
	EXPECT("-9223372036854775809", "bits.rsh", J("-18446744073709551617"), J("1"));
	/* Two's complement on numbers past 64 bits. */
	EXPECT("18446744073709551616", "bits.and", J("18446744073709551617"), J("-2"));
	EXPECT("-1", "bits.or", J("-18446744073709551617"), J("18446744073709551616"));
	EXPECT("36893488147419103231", "bits.xor", J("18446744073709551616"),
	       J("18446744073709551615"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be integer number but got floating-point number", "bits.or",
	             J("7.2"), J("42"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be integer number but got floating-point number",
	             "bits.negate", J("7.2"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be integer number but got floating-point number", "bits.xor",
	             J("2"), J("2.22"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be an unsigned integer number but got a negative integer",
	             "bits.rsh", J("7"), J("-1"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be an unsigned integer number but got a negative integer",
	             "bits.lsh", J("7"), J("-1"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "number too large", "bits.lsh", J("1"), J("100000"));
	EXPECT("0", "bits.lsh", J("0"), J("100000000000000000000"));
}

static void
test_set_operators(void **state)
{
	EXPECT("{2, 3}", "and", S("[1, 2, 3]"), S("[2, 3, 4]"));
	EXPECT("set()", "and", S("[1]"), S("[2]"));
	EXPECT("{1, 2, 3, 4}", "or", S("[1, 2, 3]"), S("[2, 3, 4]"));
	EXPECT("{\"a\"}", "or", S("[]"), S("[\"a\"]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be set but got array", "and", S("[1]"),
	             J("[1]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be set but got number", "or", J("1"), S("[1]"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plus_minus_mul, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_minus_sets, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_div_rem, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_rounding, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_numbers_range, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_rand_intn, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_bits, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_set_operators, builtin_setup,
		                                builtin_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
