/* The built-in registry: every name is registered once, with a function and a sane arity, and
 * lookups find what the tables hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/rego/builtins.h"

static void
test_names_unique_and_complete(void **state __attribute__((unused)))
{
	const struct rego_builtin *const *all;
	size_t n = rego_builtin_all(&all);
	assert_true(n > 150);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(all[i]->fn);
		assert_true(all[i]->arity <= 8);
		if (i > 0 && strcmp(all[i - 1]->name, all[i]->name) == 0)
			fail_msg("built-in %s is registered twice", all[i]->name);
		assert_ptr_equal(rego_builtin_lookup(all[i]->name, strlen(all[i]->name), false),
		                 all[i]);
	}
}

static void
test_lookup(void **state __attribute__((unused)))
{
	assert_non_null(rego_builtin_lookup("count", 5, true));
	assert_non_null(rego_builtin_lookup("net.cidr_contains", 17, true));
	/* A prefix of a name is not the name. */
	assert_null(rego_builtin_lookup("coun", 4, true));
	assert_null(rego_builtin_lookup("no.such", 7, false));
	/* Deprecated built-ins exist for v0 modules only. */
	assert_non_null(rego_builtin_lookup("net.cidr_overlap", 16, false));
	assert_null(rego_builtin_lookup("net.cidr_overlap", 16, true));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_unique_and_complete),
		cmocka_unit_test(test_lookup),
	};
	return cmocka_run_group_tests_name("rego_builtins_registry", tests, NULL, NULL);
}
