/* cmocka's assertions end a failing test with longjmp from functions that are not declared
 * to stop, so clang's analyzer walks on past a failed assert_non_null and reports the null
 * dereference the assertion was there to rule out. Under the analyzer only (never in a
 * build that runs), the assertions a test relies on before it dereferences become plain
 * checks that stop, which tells the analyzer what holds after them. Include after
 * <cmocka.h>. */
#ifndef JIT_TESTS_UNIT_ANALYZER_ASSERTS_H
#define JIT_TESTS_UNIT_ANALYZER_ASSERTS_H

#ifdef __clang_analyzer__
#include <stdlib.h>
#undef assert_true
#undef assert_false
#undef assert_non_null
#undef assert_null
#undef assert_int_equal
#undef assert_int_not_equal
#define assert_true(c) ((c) ? (void)0 : abort())
#define assert_false(c) ((c) ? abort() : (void)0)
#define assert_non_null(c) ((c) ? (void)0 : abort())
#define assert_null(c) ((c) ? abort() : (void)0)
#define assert_int_equal(a, b) ((a) == (b) ? (void)0 : abort())
#define assert_int_not_equal(a, b) ((a) != (b) ? (void)0 : abort())
#endif

#endif
