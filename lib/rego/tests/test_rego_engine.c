/* Unit tests of the Rego engine's public API: compiling both syntaxes, error reporting with
 * locations, decisions, bounded evaluation of hostile policies, strict built-in errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/rego/rego.h"

#define UNUSED_STATE void **state __attribute__((unused))

static int
compile(const char *text, const struct jit_rego_options *options, struct jit_rego_policy **ret,
        struct jit_rego_error *error)
{
	struct jit_rego_module_source m = { "policy.rego", text, strlen(text) };
	return jit_rego_compile(&m, 1, NULL, options, ret, error);
}

/* Evaluates `rule` of `text` with `input_json`; returns the value as compact JSON text in a
 * static buffer, "undefined", or "error: <message>". */
static const char *
decide(const char *text, const struct jit_rego_options *options, const char *rule,
       const char *input_json)
{
	static char out[1024];
	struct jit_rego_policy *policy = NULL;
	struct jit_rego_query *query = NULL;
	struct jit_rego_input *input = NULL;
	struct jit_rego_eval *eval = NULL;
	struct jit_rego_error error;
	json_t *value = NULL;
	if (compile(text, options, &policy, &error) < 0 ||
	    jit_rego_prepare_rule(policy, rule, &query, &error) < 0 ||
	    (input_json &&
	     jit_rego_input_from_text(input_json, strlen(input_json), &input, &error) < 0)) {
		snprintf(out, sizeof(out), "error: %s", error.message);
		goto done;
	}
	assert_int_equal(jit_rego_eval_new(&eval), 0);
	if (jit_rego_eval_rule(eval, query, input, &value, &error) < 0) {
		snprintf(out, sizeof(out), "error: %s", error.message);
		goto done;
	}
	if (!value) {
		snprintf(out, sizeof(out), "undefined");
		goto done;
	}
	char *text_value = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	snprintf(out, sizeof(out), "%s", text_value);
	free(text_value);
done:
	json_decref(value);
	jit_rego_eval_free(eval);
	jit_rego_input_free(input);
	jit_rego_query_free(query);
	jit_rego_policy_free(policy);
	return out;
}

static const char seed_policy[] = "package jitsudo.eligibility\n\ndefault allow = false\n\n"
                                  "allow {\n  input.user.groups[_] == \"sre\"\n}\n";

static void
test_seed_policy_v0(UNUSED_STATE)
{
	assert_string_equal(decide(seed_policy, NULL, "jitsudo.eligibility.allow",
	                           "{\"user\":{\"groups\":[\"dev\",\"sre\"]}}"),
	                    "true");
	assert_string_equal(decide(seed_policy, NULL, "jitsudo.eligibility.allow",
	                           "{\"user\":{\"groups\":[\"dev\"]}}"),
	                    "false");
	/* The same module forced to v1 does not parse: `if` is required. */
	struct jit_rego_options v1 = { .syntax = JIT_REGO_SYNTAX_V1 };
	const char *r = decide(seed_policy, &v1, "jitsudo.eligibility.allow", "{}");
	assert_non_null(strstr(r, "policy.rego:5:7: rego_parse_error"));
}

static void
test_v1_features(UNUSED_STATE)
{
	const char *text =
	        "package t\n"
	        "import rego.v1\n"
	        "roles contains r if { some r in input.roles; startswith(r, \"ops-\") }\n"
	        "all_short if every r in roles { count(r) < 10 }\n"
	        "level := \"high\" if input.n > 10 else := \"low\"\n"
	        "f(x) := x * 2\n"
	        "doubled := [f(n) | some n in [1, 2, 3]]\n";
	const char *in = "{\"roles\":[\"ops-a\",\"dev\",\"ops-bbbbbbbbbb\"],\"n\":3}";
	assert_string_equal(decide(text, NULL, "t.roles", in), "[\"ops-a\",\"ops-bbbbbbbbbb\"]");
	assert_string_equal(decide(text, NULL, "t.all_short", in), "undefined");
	assert_string_equal(decide(text, NULL, "t.level", in), "\"low\"");
	assert_string_equal(decide(text, NULL, "t.doubled", in), "[2,4,6]");
}

static void
test_compile_errors_name_location(UNUSED_STATE)
{
	struct jit_rego_policy *policy;
	struct jit_rego_error error;
	assert_true(compile("package t\n\np if {\n  x > 1\n}\n", NULL, &policy, &error) < 0);
	assert_int_equal(error.code, JIT_REGO_COMPILE_ERROR);
	assert_non_null(strstr(error.message, "policy.rego:4:3"));
	assert_non_null(strstr(error.message, "var x is unsafe"));
	assert_true(compile("package t\np := count(1, 2, 3)\n", NULL, &policy, &error) < 0);
	assert_non_null(strstr(error.message, "arity"));
	assert_true(compile("package t\np := nosuch(1)\n", NULL, &policy, &error) < 0);
	assert_non_null(strstr(error.message, "undefined function nosuch"));
	assert_true(compile("package t\np := [1, 2\n", NULL, &policy, &error) < 0);
	assert_int_equal(error.code, JIT_REGO_PARSE_ERROR);
	assert_int_equal(error.line, 3);
}

static void
test_conflicts(UNUSED_STATE)
{
	const char *r = decide("package t\np := 1\np := 2\n", NULL, "t.p", NULL);
	assert_non_null(strstr(r, "eval_conflict_error: complete rules must not produce multiple"));
	r = decide("package t\nf(_) := 1\nf(x) := 2 if x\nq := f(true)\n", NULL, "t.q", NULL);
	assert_non_null(strstr(r, "functions must not produce multiple outputs"));
}

static void
test_step_budget_stops_hostile_policy(UNUSED_STATE)
{
	/* 10^9 combinations: must end with a limit error, quickly. */
	const char *text = "package t\n"
	                   "n := numbers.range(1, 1000)\n"
	                   "p if { some a in n; some b in n; some c in n; a + b + c < 0 }\n";
	struct jit_rego_options opts = { .max_steps = 100000 };
	const char *r = decide(text, &opts, "t.p", NULL);
	assert_non_null(strstr(r, "eval_limit_error"));
	assert_non_null(strstr(r, "step budget"));
}

static void
test_depth_and_memory_limits(UNUSED_STATE)
{
	/* Recursion is refused when the policy is compiled, through any number of rules. */
	const char *r =
	        decide("package t\nf(x) := y if { y := f(x + 1) }\np := f(0)\n", NULL, "t.p", NULL);
	assert_non_null(strstr(r, "rego_recursion_error: rule data.t.f is recursive"));
	r = decide("package t\np := q\nq := r\nr := count(data.t)\n", NULL, "t.p", NULL);
	assert_non_null(strstr(r, "data.t.p -> data.t.q -> data.t.r -> data.t.p"));
	/* A long chain of rules is bounded by the call depth. */
	char chain[8192];
	size_t len = (size_t)snprintf(chain, sizeof(chain), "package t\n");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(chain + len, sizeof(chain) - len, "p%d := p%d\n", i, i + 1);
	snprintf(chain + len, sizeof(chain) - len, "p100 := 1\n");
	struct jit_rego_options opts = { .max_depth = 64 };
	r = decide(chain, &opts, "t.p0", NULL);
	assert_non_null(strstr(r, "eval_limit_error: maximum call depth of 64 exceeded"));
	assert_string_equal(decide(chain, NULL, "t.p0", NULL), "1");
	/* A comprehension that would build a huge set runs into the memory bound. */
	const char *big = "package t\np := {[a, b] | some a in numbers.range(1, 3000); "
	                  "some b in numbers.range(1, 3000)}\n";
	struct jit_rego_options small = { .max_memory = 4u << 20, .max_steps = 100000000 };
	r = decide(big, &small, "t.p", NULL);
	assert_non_null(strstr(r, "eval_limit_error"));
}

/* Policies too large for the compiler's bounds are refused with a message, not compiled into
 * something that would exhaust the evaluator's stack. */
static void
test_size_bounds(UNUSED_STATE)
{
	size_t cap = 1u << 20, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "package t\np if {\n");
	for (int i = 0; i < 1001; i++)
		len += (size_t)snprintf(text + len, cap - len, "  x%d := %d\n", i, i);
	snprintf(text + len, cap - len, "}\n");
	const char *r = decide(text, NULL, "t.p", NULL);
	assert_non_null(strstr(r, "body has more than 1000 expressions"));
	len = (size_t)snprintf(text, cap, "package t\nq := [");
	for (int i = 0; i < 1001; i++)
		len += (size_t)snprintf(text + len, cap - len, "%sinput.a", i ? ", " : "");
	snprintf(text + len, cap - len, "]\n");
	r = decide(text, NULL, "t.q", "{\"a\": 1}");
	assert_non_null(strstr(r, "more than 1000 non-constant items"));
	/* A constant list of any length is one value. */
	len = (size_t)snprintf(text, cap, "package t\nq := count([");
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s%d", i ? ", " : "", i);
	snprintf(text + len, cap - len, "])\n");
	assert_string_equal(decide(text, NULL, "t.q", NULL), "5000");
	free(text);
}

static void
test_strict_builtin_errors(UNUSED_STATE)
{
	const char *text = "package t\np := x if x := 1 / 0\n";
	assert_string_equal(decide(text, NULL, "t.p", NULL), "undefined");
	struct jit_rego_options strict = { .strict_builtin_errors = true };
	const char *r = decide(text, &strict, "t.p", NULL);
	assert_non_null(strstr(r, "eval_builtin_error: div: divide by zero"));
}

static void
test_query_rows_and_with(UNUSED_STATE)
{
	struct jit_rego_policy *policy;
	struct jit_rego_query *query;
	struct jit_rego_eval *eval;
	struct jit_rego_error error;
	json_t *rows;
	assert_int_equal(compile("package t\nimport rego.v1\nallow if input.user == \"alice\"\n",
	                         NULL, &policy, &error),
	                 0);
	assert_int_equal(jit_rego_prepare(policy,
	                                  "x := data.t.allow with input as {\"user\": \"alice\"}",
	                                  &query, &error),
	                 0);
	assert_int_equal(jit_rego_eval_new(&eval), 0);
	assert_int_equal(jit_rego_eval_query(eval, query, NULL, &rows, &error), 0);
	char *text = json_dumps(rows, JSON_COMPACT);
	assert_string_equal(text, "[{\"x\":true}]");
	free(text);
	json_decref(rows);
	jit_rego_eval_free(eval);
	jit_rego_query_free(query);
	jit_rego_policy_free(policy);
}

static void
test_bad_input_is_refused(UNUSED_STATE)
{
	struct jit_rego_input *input;
	struct jit_rego_error error;
	assert_true(jit_rego_input_from_text("{\"a\": ", 6, &input, &error) < 0);
	assert_int_equal(error.code, JIT_REGO_INVALID_ARGUMENT);
	assert_int_equal(jit_rego_input_from_rego("{1, 2, {\"a\": set()}}", 20, &input, &error), 0);
	jit_rego_input_free(input);
	assert_true(jit_rego_input_from_rego("{x}", 3, &input, &error) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_policy_v0),
		cmocka_unit_test(test_v1_features),
		cmocka_unit_test(test_compile_errors_name_location),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_step_budget_stops_hostile_policy),
		cmocka_unit_test(test_depth_and_memory_limits),
		cmocka_unit_test(test_size_bounds),
		cmocka_unit_test(test_strict_builtin_errors),
		cmocka_unit_test(test_query_rows_and_with),
		cmocka_unit_test(test_bad_input_is_refused),
	};
	return cmocka_run_group_tests_name("rego_engine", tests, NULL, NULL);
}
