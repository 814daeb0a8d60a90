/* jit_strerror: every JIT_ERR_* has its own text, errno values fall through to strerror, and
 * nothing ever yields NULL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/errors.h"

#define UNUSED_STATE void **state __attribute__((unused))

static void
test_project_codes(UNUSED_STATE)
{
	assert_string_equal(jit_strerror(0), "success");
	assert_string_equal(jit_strerror(JIT_ERR_INVALID), "invalid input");
	assert_string_equal(jit_strerror(JIT_ERR_TOO_LARGE), "input too large");
	assert_string_equal(jit_strerror(JIT_ERR_TIMEOUT), "timed out");
	/* Each code between the base and the last has a distinct, specific text. */
	for (int a = JIT_ERR_INVALID; a > JIT_ERR_LAST; a--) {
		const char *ta = jit_strerror(a);
		assert_non_null(ta);
		assert_string_not_equal(ta, "unknown error");
		for (int b = a - 1; b > JIT_ERR_LAST; b--)
			assert_string_not_equal(ta, jit_strerror(b));
	}
}

static void
test_errno_codes(UNUSED_STATE)
{
	assert_string_equal(jit_strerror(-ENOMEM), strerror(ENOMEM));
	assert_string_equal(jit_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(jit_strerror(-EACCES), strerror(EACCES));
}

static void
test_unknown_codes(UNUSED_STATE)
{
	/* Positive values, the sentinel, values past the errno range and the extremes. */
	const int odd[] = { 1,     42,      JIT_ERR_LAST, JIT_ERR_LAST - 1, -(JIT_ERR_BASE + 500),
		            -5000, INT_MIN, INT_MAX };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		const char *t = jit_strerror(odd[i]);
		assert_non_null(t);
		assert_true(strlen(t) > 0);
	}
	assert_string_equal(jit_strerror(1), "unknown error");
	assert_string_equal(jit_strerror(INT_MIN), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_project_codes),
		cmocka_unit_test(test_errno_codes),
		cmocka_unit_test(test_unknown_codes),
	};
	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
