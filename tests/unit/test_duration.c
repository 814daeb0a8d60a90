/* --duration parsing exactly as the CLI accepts it, and formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/duration.h"
#include "lib/common/errors.h"

#define UNUSED_STATE void **state __attribute__((unused))

static void
test_valid(UNUSED_STATE)
{
	static const struct {
		const char *text;
		int64_t seconds;
	} cases[] = {
		{ "1h", 3600 },       { "30m", 1800 },  { "2h30m", 9000 }, { "45s", 45 },
		{ "1h30m15s", 5415 }, { "90m", 5400 },  { "1h5s", 3605 },  { "8760h", 31536000 },
		{ "0h1m", 60 },       { "0010m", 600 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t s = -1;
		char err[256];
		assert_int_equal(jit_duration_parse(cases[i].text, &s, err, sizeof(err)), 0);
		assert_int_equal(s, cases[i].seconds);
	}
}

static void
test_invalid_names_the_value(UNUSED_STATE)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "", "empty" },
		{ "2x", "unknown unit \"x\"" },
		{ "0h", "longer than zero" },
		{ "-1h", "expected a number" },
		{ "1.5h", "unknown unit \".\"" },
		{ "1h 30m", "spaces are not allowed" },
		{ "30m1h", "out of order" },
		{ "1h1h", "repeated" },
		{ "10", "missing unit" },
		{ "h", "expected a number" },
		{ "9000h", "longer than a year" },
		{ "99999999999999999999s", "too long" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t s = 42;
		char err[256] = "";
		assert_int_equal(jit_duration_parse(cases[i].text, &s, err, sizeof(err)),
		                 JIT_ERR_INVALID);
		assert_int_equal(s, 42); /* untouched on error */
		if (!strstr(err, cases[i].why))
			fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].text, err,
			         cases[i].why);
		char quoted[64];
		snprintf(quoted, sizeof(quoted), "\"%s\"", cases[i].text);
		assert_non_null(strstr(err, quoted));
	}
	/* A NULL error buffer is allowed. */
	int64_t s;
	assert_int_equal(jit_duration_parse("1y", &s, NULL, 0), JIT_ERR_INVALID);
}

static void
test_format(UNUSED_STATE)
{
	char buf[32];
	assert_int_equal(jit_duration_format(9000, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2h30m");
	assert_int_equal(jit_duration_format(45, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "45s");
	assert_int_equal(jit_duration_format(3605, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1h5s");
	assert_int_equal(jit_duration_format(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0s");
	assert_int_equal(jit_duration_format(-1, buf, sizeof(buf)), JIT_ERR_INVALID);
	assert_int_equal(jit_duration_format(3600, buf, 2), JIT_ERR_INVALID);
	/* Round trip. */
	int64_t s;
	assert_int_equal(jit_duration_format(5415, buf, sizeof(buf)), 0);
	assert_int_equal(jit_duration_parse(buf, &s, NULL, 0), 0);
	assert_int_equal(s, 5415);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid_names_the_value),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
