/* One compiled policy shared by several threads, each with its own evaluation context, as the
 * server uses it: every thread keeps getting its own, correct decisions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/rego/rego.h"

#define THREADS 4
#define ROUNDS 20000

static const char policy_text[] =
        "package t\nimport rego.v1\n"
        "default allow := false\n"
        "allow if { some g in input.groups; regex.match(`^sre(-.*)?$`, g) }\n"
        "zone := time.clock([input.ns, \"America/New_York\"])\n";

struct worker {
	struct jit_rego_query *query;
	int id;
	int wrong;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct jit_rego_eval *eval;
	if (jit_rego_eval_new(&eval) < 0)
		return NULL;
	char in_yes[128], in_no[128];
	snprintf(in_yes, sizeof(in_yes), "{\"groups\":[\"dev\",\"sre-%d\"],\"ns\":0}", w->id);
	snprintf(in_no, sizeof(in_no), "{\"groups\":[\"dev-%d\"],\"ns\":0}", w->id);
	struct jit_rego_input *yes, *no;
	struct jit_rego_error error;
	if (jit_rego_input_from_text(in_yes, strlen(in_yes), &yes, &error) < 0 ||
	    jit_rego_input_from_text(in_no, strlen(in_no), &no, &error) < 0)
		return NULL;
	for (int i = 0; i < ROUNDS; i++) {
		bool allowed;
		bool want = (i + w->id) % 2 == 0;
		if (jit_rego_eval_bool(eval, w->query, want ? yes : no, &allowed, &error) < 0 ||
		    allowed != want)
			w->wrong++;
	}
	jit_rego_input_free(yes);
	jit_rego_input_free(no);
	jit_rego_eval_free(eval);
	return NULL;
}

static void
test_shared_policy(void **state __attribute__((unused)))
{
	struct jit_rego_module_source m = { "t.rego", policy_text, strlen(policy_text) };
	struct jit_rego_policy *policy;
	struct jit_rego_query *query;
	struct jit_rego_error error;
	assert_int_equal(jit_rego_compile(&m, 1, NULL, NULL, &policy, &error), 0);
	assert_int_equal(jit_rego_prepare_rule(policy, "t.allow", &query, &error), 0);
	pthread_t threads[THREADS];
	struct worker workers[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){ query, i, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].wrong, 0);
	}
	jit_rego_query_free(query);
	jit_rego_policy_free(policy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_policy),
	};
	return cmocka_run_group_tests_name("rego_threads", tests, NULL, NULL);
}
