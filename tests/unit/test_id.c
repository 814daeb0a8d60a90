/* Request ids: shape, validity, order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "lib/common/id.h"

#define UNUSED_STATE void **state __attribute__((unused))

static void
test_shape_and_order(UNUSED_STATE)
{
	char prev[JIT_ID_LENGTH + 1] = "";
	for (int i = 0; i < 1000; i++) {
		char id[JIT_ID_LENGTH + 1];
		assert_int_equal(jit_id_new(id, sizeof(id)), 0);
		assert_int_equal(strlen(id), JIT_ID_LENGTH);
		assert_true(jit_id_valid(id));
		assert_true(strcmp(prev, id) < 0); /* strictly increasing, as text */
		memcpy(prev, id, sizeof(id));
	}
}

static void
test_time_ordered(UNUSED_STATE)
{
	char a[JIT_ID_LENGTH + 1], b[JIT_ID_LENGTH + 1];
	/* Later milliseconds sort later, whatever the random part. */
	assert_int_equal(jit_id_new_at(1774022400000ULL + 10000000ULL, a, sizeof(a)), 0);
	assert_int_equal(jit_id_new_at(1774022400000ULL + 20000000ULL, b, sizeof(b)), 0);
	assert_true(strcmp(a, b) < 0);
	/* The API reference shows ids of this shape (with one character fewer, a typo). */
	assert_true(jit_id_valid("req_01J8KZ4F2EMNQZ3V7XKQYBD4WX"));
	assert_int_equal(jit_id_new_at(1ULL << 48, a, sizeof(a)), JIT_ERR_INVALID);
	assert_int_equal(jit_id_new(a, 10), JIT_ERR_INVALID);
}

static void
test_invalid(UNUSED_STATE)
{
	const char *bad[] = {
		"",
		"req_",
		"req_01J8KZ4F2EMNQZ3V7XKQYBD4W",   /* 25 */
		"req_01J8KZ4F2EMNQZ3V7XKQYBD4WXX", /* 27 */
		"rq__01J8KZ4F2EMNQZ3V7XKQYBD4WX",
		"req_01J8KZ4F2EMNQZ3V7XKQYBD4WI", /* I is not Crockford */
		"req_01J8KZ4F2EMNQZ3V7XKQYBD4WL",
		"req_01J8KZ4F2EMNQZ3V7XKQYBD4WO",
		"req_01J8KZ4F2EMNQZ3V7XKQYBD4WU",
		"req_01j8kz4f2emnqz3v7xkqybd4wx", /* lower case */
		"req_81J8KZ4F2EMNQZ3V7XKQYBD4WX", /* more than 48 bits of time */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (jit_id_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(jit_id_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_and_order),
		cmocka_unit_test(test_time_ordered),
		cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests_name("id", tests, NULL, NULL);
}
