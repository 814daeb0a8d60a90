/* RFC 3339 timestamps and deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"

#define UNUSED_STATE void **state __attribute__((unused))

static void
test_parse(UNUSED_STATE)
{
	static const struct {
		const char *text;
		int64_t ns;
	} cases[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-03-20T16:00:00Z", 1774022400LL * JIT_NSEC_PER_SEC },
		{ "2026-03-20T18:00:00+02:00", 1774022400LL * JIT_NSEC_PER_SEC },
		{ "2024-02-29T12:00:00.5Z", 1709208000LL * JIT_NSEC_PER_SEC + 500000000 },
		{ "1969-12-31T23:59:59.999999999Z", -1 },
		{ "2016-12-31T23:59:60Z", 1483228799LL * JIT_NSEC_PER_SEC },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = 0;
		assert_int_equal(jit_rfc3339_parse(cases[i].text, &ns), 0);
		assert_int_equal(ns, cases[i].ns);
	}
	/* Lower case t and a half-hour offset. */
	int64_t ns;
	assert_int_equal(jit_rfc3339_parse("2026-03-20t16:30:00+00:30", &ns), 0);
	assert_int_equal(ns, 1774022400LL * JIT_NSEC_PER_SEC);
}

static void
test_parse_rejects(UNUSED_STATE)
{
	const char *bad[] = {
		"",
		"2026-03-20",
		"2026-03-20 16:00:00Z",
		"2026-03-20T16:00:00",
		"2026-02-30T00:00:00Z",
		"2025-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-03-20T24:00:00Z",
		"2026-03-20T16:00:00.Z",
		"2026-03-20T16:00:00.1234567890Z",
		"2026-03-20T16:00:00+2:00",
		"2026-03-20T16:00:00Zjunk",
		"0000-01-01T00:00:00Z",
		"+2026-03-20T16:00:00Z",
		"2016-12-31T12:00:60Z", /* a leap second only ends a day */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns = 7;
		if (jit_rfc3339_parse(bad[i], &ns) != JIT_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(ns, 7);
	}
}

static void
test_format_round_trip(UNUSED_STATE)
{
	char buf[JIT_RFC3339_MAX];
	assert_int_equal(
	        jit_rfc3339_format(1774022400LL * JIT_NSEC_PER_SEC, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-03-20T16:00:00Z");
	assert_int_equal(jit_rfc3339_format(1774022400LL * JIT_NSEC_PER_SEC + 120000000, true, buf,
	                                    sizeof(buf)),
	                 0);
	assert_string_equal(buf, "2026-03-20T16:00:00.12Z");
	assert_int_equal(jit_rfc3339_format(-1, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1969-12-31T23:59:59.999999999Z");
	for (int64_t s = -5000000000LL; s < 9000000000LL; s += 123456789) {
		int64_t back;
		assert_int_equal(
		        jit_rfc3339_format(s * JIT_NSEC_PER_SEC + 42, true, buf, sizeof(buf)), 0);
		assert_int_equal(jit_rfc3339_parse(buf, &back), 0);
		assert_int_equal(back, s * JIT_NSEC_PER_SEC + 42);
	}
	assert_int_equal(jit_rfc3339_format(0, false, buf, 10), JIT_ERR_INVALID);
}

static void
test_deadlines(UNUSED_STATE)
{
	int64_t d = jit_deadline_after_ms(10000);
	assert_false(jit_deadline_passed(d));
	int left = jit_deadline_remaining_ms(d);
	assert_true(left > 9000 && left <= 10000);
	int64_t past = jit_deadline_after_ms(0) - 1;
	assert_true(jit_deadline_passed(past));
	assert_int_equal(jit_deadline_remaining_ms(past), 0);
	assert_true(jit_now_realtime_ns() > 1700000000LL * JIT_NSEC_PER_SEC);
	/* Huge waits are capped, not overflowed. */
	assert_false(jit_deadline_passed(jit_deadline_after_ms(INT64_MAX)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_deadlines),
	};
	return cmocka_run_group_tests_name("timeutil", tests, NULL, NULL);
}
