/* jit_strerror: every JIT_ERR_* has its own text, errno values fall through to strerror, and
 * nothing ever yields NULL. struct jit_error: jit_error_set records the code and the message,
 * cuts a long message, evaluates its code once, and accepts a NULL error. */
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

static int calls;

static int
counted(int code)
{
	calls++;
	return code;
}

static int
fails_with(struct jit_error *error, const char *what)
{
	return jit_error_set(error, counted(JIT_ERR_NOT_FOUND), "%s: no such thing", what);
}

static void
test_error_message(UNUSED_STATE)
{
	struct jit_error e = { 0 };
	calls = 0;
	assert_int_equal(fails_with(&e, "grant"), JIT_ERR_NOT_FOUND);
	assert_int_equal(calls, 1);
	assert_int_equal(e.code, JIT_ERR_NOT_FOUND);
	assert_string_equal(e.message, "grant: no such thing");

	/* Without a place for the message, only the code comes back. */
	assert_int_equal(fails_with(NULL, "grant"), JIT_ERR_NOT_FOUND);
	assert_int_equal(calls, 2);

	/* A message longer than the buffer is cut, NUL-ended. */
	char long_text[2 * JIT_ERROR_MESSAGE_MAX];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	jit_error_format(&e, -EIO, "%s", long_text);
	assert_int_equal(e.code, -EIO);
	assert_int_equal(strlen(e.message), JIT_ERROR_MESSAGE_MAX - 1);
	assert_int_equal(sizeof(e.message), JIT_ERROR_MESSAGE_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_project_codes),
		cmocka_unit_test(test_errno_codes),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_unknown_codes),
	};
	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
