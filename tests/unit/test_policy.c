/* The server's policy engine: sets compiled from several policies, decisions and their
 * fallbacks, errors that fail closed, budgets, the input document, policies:eval, the set
 * shared and swapped between threads, and the default policies shipped in policies/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/timeutil.h"
#include "server/core/model.h"
#include "server/policy/policy.h"

#define UNUSED_STATE void **state __attribute__((unused))

/* The repository's policies/, relative to the root where `make` runs the tests. */
#define DEFAULT_POLICIES_DIR "policies"

static struct jit_policy *
policy(const char *name, enum jit_policy_type type, bool enabled, const char *rego)
{
	struct jit_policy *p = jit_policy_new();
	assert_non_null(p);
	p->name = strdup(name);
	p->rego = strdup(rego);
	p->type = type;
	p->enabled = enabled;
	assert_non_null(p->name);
	assert_non_null(p->rego);
	return p;
}

/* Compiles the given policies (a NULL-terminated list, freed here) into a set. */
static int
compile_list(struct jit_policy_set **ret_set, struct jit_policy_error *error, ...)
{
	struct jit_policy *list[16];
	size_t n = 0;
	va_list ap;
	va_start(ap, error);
	struct jit_policy *p;
	while ((p = va_arg(ap, struct jit_policy *)) != NULL) {
		assert_true(n < 16);
		list[n++] = p;
	}
	va_end(ap);
	int r = jit_policy_set_compile(list, n, ret_set, error);
	for (size_t i = 0; i < n; i++)
		jit_policy_free(list[i]);
	return r;
}

static struct jit_policy_set *
compile_ok(struct jit_policy *first, ...)
{
	struct jit_policy *list[16];
	size_t n = 0;
	va_list ap;
	va_start(ap, first);
	for (struct jit_policy *p = first; p; p = va_arg(ap, struct jit_policy *)) {
		assert_true(n < 16);
		list[n++] = p;
	}
	va_end(ap);
	struct jit_policy_set *set = NULL;
	struct jit_policy_error error = { 0 };
	int r = jit_policy_set_compile(list, n, &set, &error);
	if (r < 0)
		fprintf(stderr, "compile: %s\n", error.message);
	assert_int_equal(r, 0);
	for (size_t i = 0; i < n; i++)
		jit_policy_free(list[i]);
	return set;
}

static json_t *
input_for(const char *email, const char *groups_json, const char *role, int64_t seconds)
{
	json_error_t jerr;
	json_t *groups = json_loads(groups_json, 0, &jerr);
	assert_non_null(groups);
	struct jit_request *request = jit_request_new();
	assert_non_null(request);
	request->requester_identity = strdup("alice@example.com");
	request->provider = strdup("aws");
	request->role = strdup(role);
	request->resource_scope = strdup("123456789012");
	request->reason = strdup("INC-4421 deploy");
	request->duration_seconds = seconds;
	if (!request->metadata)
		request->metadata = json_object();
	json_t *input =
	        jit_policy_input(email, groups, request, 1774022400LL * JIT_NSEC_PER_SEC, NULL);
	assert_non_null(input);
	jit_request_free(request);
	json_decref(groups);
	return input;
}

struct fixture {
	struct jit_policy_context *eval;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f || jit_policy_context_new(&f->eval) < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	jit_policy_context_free(f->eval);
	free(f);
	return 0;
}

static int
decide(struct fixture *f, struct jit_policy_set *set, enum jit_policy_type type,
       const json_t *input, struct jit_decision *d, struct jit_policy_error *error)
{
	memset(d, 0x55, sizeof(*d)); /* nothing stale may survive */
	return jit_policy_decide(set, f->eval, type, input, d, error);
}

static const char eligibility_sre[] = "package jitsudo.eligibility\n"
                                      "import rego.v1\n"
                                      "allow if \"sre\" in input.user.groups\n"
                                      "reason := \"only sre\" if not allow\n";

/* ---- decisions ------------------------------------------------------------------------- */

static void
test_allow_deny_reason(void **state)
{
	struct fixture *f = *state;
	struct jit_policy_set *set =
	        compile_ok(policy("sre", JIT_POLICY_ELIGIBILITY, true, eligibility_sre), NULL);
	assert_int_equal(jit_policy_set_count(set), 1);
	struct jit_decision d;
	struct jit_policy_error error;
	json_t *yes = input_for("bob@example.com", "[\"dev\",\"sre\"]", "admin", 3600);
	json_t *no = input_for("bob@example.com", "[\"dev\"]", "admin", 3600);

	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, yes, &d, &error), 0);
	assert_true(d.allow);
	assert_string_equal(d.reason, "");
	assert_string_equal(d.approver_tier, "human");
	assert_int_equal(d.required_approvals, 1);

	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, no, &d, &error), 0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "only sre");

	/* No approval policy in the set: approval denies everything. */
	assert_int_equal(decide(f, set, JIT_POLICY_APPROVAL, yes, &d, &error), 0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "approval denied: no enabled approval policy");
	assert_int_equal(d.required_approvals, 1);

	/* An unknown type is refused. */
	assert_int_equal(decide(f, set, JIT_POLICY_UNSPECIFIED, yes, &d, &error), JIT_ERR_INVALID);
	json_decref(yes);
	json_decref(no);
	jit_policy_set_unref(set);
}

static void
test_fallback_reason(void **state)
{
	struct fixture *f = *state;
	struct jit_policy_set *set = compile_ok(
	        policy("e", JIT_POLICY_ELIGIBILITY, true,
	               "package jitsudo.eligibility\nallow { input.user.groups[_] == \"sre\" }\n"),
	        policy("a", JIT_POLICY_APPROVAL, true,
	               "package jitsudo.approval\nimport rego.v1\nallow if false\n"
	               "reason := 42\n"),
	        NULL);
	json_t *in = input_for("bob@example.com", "[]", "admin", 60);
	struct jit_decision d;
	struct jit_policy_error error;
	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "not eligible: no eligibility policy allows this request");
	/* A reason that is not a string is not used. */
	assert_int_equal(decide(f, set, JIT_POLICY_APPROVAL, in, &d, &error), 0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "approval denied: no approval policy allows this approver");
	json_decref(in);
	jit_policy_set_unref(set);
}

static void
test_no_policies_and_null_set(void **state)
{
	struct fixture *f = *state;
	struct jit_policy_set *set = NULL;
	struct jit_policy_error error;
	assert_int_equal(jit_policy_set_compile(NULL, 0, &set, &error), 0);
	assert_int_equal(jit_policy_set_count(set), 0);
	json_t *in = input_for("bob@example.com", "[\"sre\"]", "admin", 60);
	struct jit_decision d;
	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "not eligible: no enabled eligibility policy");
	/* A server that has not loaded any set yet denies the same way. */
	assert_int_equal(decide(f, NULL, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
	assert_false(d.allow);
	assert_int_equal(jit_policy_set_count(NULL), 0);
	assert_null(jit_policy_set_ref(NULL));
	jit_policy_set_unref(NULL);
	json_decref(in);
	jit_policy_set_unref(set);
}

static void
test_policies_or_together(void **state)
{
	struct fixture *f = *state;
	/* v1 and v0 syntax in one set; a disabled policy and one of the other type are left out
	 * of the eligibility decision. */
	struct jit_policy_set *set =
	        compile_ok(policy("sre", JIT_POLICY_ELIGIBILITY, true, eligibility_sre),
	                   policy("dev-view", JIT_POLICY_ELIGIBILITY, true,
	                          "package jitsudo.eligibility\n"
	                          "allow { input.user.groups[_] == \"dev\"; input.request.role == "
	                          "\"view\" }\n"),
	                   policy("everyone-off", JIT_POLICY_ELIGIBILITY, false,
	                          "package jitsudo.eligibility\nallow := true\n"),
	                   policy("approve-all", JIT_POLICY_APPROVAL, true,
	                          "package jitsudo.approval\nallow := true\n"),
	                   NULL);
	assert_int_equal(jit_policy_set_count(set), 3);
	struct jit_decision d;
	struct jit_policy_error error;
	struct {
		const char *groups, *role;
		bool allow;
	} cases[] = {
		{ "[\"sre\"]", "admin", true },     { "[\"dev\"]", "view", true },
		{ "[\"dev\"]", "admin", false },    { "[\"ops\"]", "view", false },
		{ "[\"dev\",\"sre\"]", "x", true },
	};
	for (size_t i = 0; i < JIT_ARRAY_SIZE(cases); i++) {
		json_t *in = input_for("bob@example.com", cases[i].groups, cases[i].role, 60);
		assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
		if (d.allow != cases[i].allow)
			fail_msg("case %zu: allow %d", i, d.allow);
		if (!d.allow)
			assert_string_equal(d.reason, "only sre");
		json_decref(in);
	}
	jit_policy_set_unref(set);

	/* With only the disabled policy, nothing is enabled. */
	set = compile_ok(policy("everyone-off", JIT_POLICY_ELIGIBILITY, false,
	                        "package jitsudo.eligibility\nallow := true\n"),
	                 NULL);
	assert_int_equal(jit_policy_set_count(set), 0);
	json_t *in = input_for("bob@example.com", "[]", "view", 60);
	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
	assert_false(d.allow);
	json_decref(in);
	jit_policy_set_unref(set);
}

static void
test_allow_must_be_true(void **state)
{
	struct fixture *f = *state;
	static const char *const values[] = { "\"true\"", "1", "{\"a\": true}", "[true]" };
	for (size_t i = 0; i < JIT_ARRAY_SIZE(values); i++) {
		char text[128];
		snprintf(text, sizeof(text), "package jitsudo.eligibility\nallow := %s\n",
		         values[i]);
		struct jit_policy_set *set =
		        compile_ok(policy("p", JIT_POLICY_ELIGIBILITY, true, text), NULL);
		json_t *in = input_for("bob@example.com", "[]", "view", 60);
		struct jit_decision d;
		struct jit_policy_error error;
		assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
		if (d.allow)
			fail_msg("allow := %s allowed", values[i]);
		json_decref(in);
		jit_policy_set_unref(set);
	}
}

static void
test_tier_and_approvals(void **state)
{
	struct fixture *f = *state;
	struct {
		const char *tier, *required;
		const char *want_tier;
		int32_t want_required;
	} cases[] = {
		{ "\"auto\"", "3", "auto", 3 },
		{ "\"AUTO\"", "0", "human", 1 },
		{ "\"human\"", "-5", "human", 1 },
		{ "1", "50", "human", 10 },
		{ "\"auto \"", "10", "human", 10 },
		{ "true", "2.5", "human", 1 },
		{ "\"auto\"", "\"3\"", "auto", 1 },
		{ "\"auto\"", "2.0", "auto", 2 },
		{ "\"auto\"", "1e40", "auto", 10 },
		{ "\"auto\"", "99999999999999999999999", "auto", 10 },
		{ NULL, NULL, "human", 1 },
	};
	for (size_t i = 0; i < JIT_ARRAY_SIZE(cases); i++) {
		char text[256] = "package jitsudo.approval\nallow := true\n";
		if (cases[i].tier) {
			size_t n = strlen(text);
			snprintf(text + n, sizeof(text) - n,
			         "approver_tier := %s\nrequired_approvals := %s\n", cases[i].tier,
			         cases[i].required);
		}
		struct jit_policy_set *set =
		        compile_ok(policy("p", JIT_POLICY_APPROVAL, true, text), NULL);
		json_t *in = input_for("bob@example.com", "[]", "view", 60);
		struct jit_decision d;
		struct jit_policy_error error;
		assert_int_equal(decide(f, set, JIT_POLICY_APPROVAL, in, &d, &error), 0);
		assert_true(d.allow);
		if (strcmp(d.approver_tier, cases[i].want_tier) != 0 ||
		    d.required_approvals != cases[i].want_required)
			fail_msg("case %zu: tier %s, required %d", i, d.approver_tier,
			         d.required_approvals);
		/* policies:eval derives the same decision from the package document. */
		char *result = NULL;
		struct jit_decision raw;
		assert_int_equal(jit_policy_eval_raw(set, f->eval, JIT_POLICY_APPROVAL, in, &raw,
		                                     &result, &error),
		                 0);
		assert_string_equal(raw.approver_tier, d.approver_tier);
		assert_int_equal(raw.required_approvals, d.required_approvals);
		free(result);
		json_decref(in);
		jit_policy_set_unref(set);
	}
}

static void
test_long_reason_cut(void **state)
{
	struct fixture *f = *state;
	/* 600 bytes of two-byte characters: cut below 512 bytes at a character boundary. */
	char text[256];
	snprintf(text, sizeof(text),
	         "package jitsudo.eligibility\nimport rego.v1\n"
	         "reason := concat(\"\", [\"\\u00e9\" | some _ in numbers.range(1, 300)])\n");
	struct jit_policy_set *set =
	        compile_ok(policy("p", JIT_POLICY_ELIGIBILITY, true, text), NULL);
	json_t *in = input_for("bob@example.com", "[]", "view", 60);
	struct jit_decision d;
	struct jit_policy_error error;
	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
	assert_int_equal(strlen(d.reason), 510);
	assert_int_equal((unsigned char)d.reason[508], 0xc3);
	json_decref(in);
	jit_policy_set_unref(set);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void
test_compile_error_line_column(UNUSED_STATE)
{
	struct jit_policy_set *set = NULL;
	struct jit_policy_error error = { 0 };
	int r = compile_list(&set, &error,
	                     policy("good", JIT_POLICY_ELIGIBILITY, true, eligibility_sre),
	                     policy("broken", JIT_POLICY_ELIGIBILITY, true,
	                            "package jitsudo.eligibility\n"
	                            "import rego.v1\n"
	                            "\n"
	                            "allow if {\n"
	                            "    input.user.email ==\n"
	                            "}\n"),
	                     NULL);
	assert_int_equal(r, JIT_ERR_INVALID);
	assert_null(set);
	assert_string_equal(error.kind, "rego_parse_error");
	assert_string_equal(error.module, "broken.rego");
	assert_int_equal(error.line, 6);
	assert_true(error.column >= 1);
	assert_non_null(strstr(error.message, "broken.rego:6:"));

	/* A compile (not parse) error: an unsafe variable, located. */
	struct jit_policy *p = policy("unsafe", JIT_POLICY_APPROVAL, true,
	                              "package jitsudo.approval\nimport rego.v1\n"
	                              "allow if {\n\tx > 1\n}\n");
	assert_int_equal(jit_policy_check(p, &error), JIT_ERR_INVALID);
	assert_string_equal(error.kind, "rego_compile_error");
	assert_int_equal(error.line, 4);
	assert_int_equal(error.column, 2);
	assert_non_null(strstr(error.message, "unsafe.rego:4:2"));
	jit_policy_free(p);

	/* The same error in a disabled policy does not matter. */
	assert_int_equal(compile_list(&set, &error,
	                              policy("broken", JIT_POLICY_ELIGIBILITY, false, "package {"),
	                              NULL),
	                 0);
	jit_policy_set_unref(set);
}

static void
test_check_package(UNUSED_STATE)
{
	struct jit_policy_error error = { 0 };
	struct jit_policy *p = policy("ok", JIT_POLICY_ELIGIBILITY, true, eligibility_sre);
	assert_int_equal(jit_policy_check(p, &error), 0);
	jit_policy_free(p);

	p = policy("swapped", JIT_POLICY_ELIGIBILITY, true,
	           "# approval rules by mistake\n\npackage jitsudo.approval\nallow := true\n");
	assert_int_equal(jit_policy_check(p, &error), JIT_ERR_INVALID);
	assert_string_equal(error.kind, "rego_compile_error");
	assert_int_equal(error.line, 3);
	assert_int_equal(error.column, 1);
	assert_non_null(strstr(error.message, "swapped.rego:3:1"));
	assert_non_null(strstr(error.message, "package jitsudo.eligibility"));
	assert_non_null(strstr(error.message, "found jitsudo.approval"));
	jit_policy_free(p);

	/* A sub-package is not the package either. */
	p = policy("deeper", JIT_POLICY_APPROVAL, true,
	           "package jitsudo.approval.extra\nallow := true\n");
	assert_int_equal(jit_policy_check(p, &error), JIT_ERR_INVALID);
	assert_non_null(strstr(error.message, "package jitsudo.approval"));
	jit_policy_free(p);

	p = policy("v0", JIT_POLICY_APPROVAL, true,
	           "package jitsudo.approval\ndefault allow = false\n"
	           "allow { input.user.groups[_] == \"leads\" }\n");
	assert_int_equal(jit_policy_check(p, &error), 0);
	p->type = JIT_POLICY_UNSPECIFIED;
	assert_int_equal(jit_policy_check(p, &error), JIT_ERR_INVALID);
	jit_policy_free(p);

	p = policy("empty", JIT_POLICY_APPROVAL, true, "");
	assert_int_equal(jit_policy_check(p, &error), JIT_ERR_INVALID);
	jit_policy_free(p);
}

static void
test_conflict_fails_closed(void **state)
{
	struct fixture *f = *state;
	/* Two policies each allowed to say something about `allow`: one true, one false. */
	struct jit_policy_set *set = compile_ok(
	        policy("yes", JIT_POLICY_ELIGIBILITY, true,
	               "package jitsudo.eligibility\nimport rego.v1\nallow := true if true\n"),
	        policy("no", JIT_POLICY_ELIGIBILITY, true,
	               "package jitsudo.eligibility\nimport rego.v1\n"
	               "allow := false if input.user.email == \"bob@example.com\"\n"),
	        policy("reasons", JIT_POLICY_APPROVAL, true,
	               "package jitsudo.approval\nimport rego.v1\nallow := true\n"
	               "reason := \"a\"\nreason := \"b\" if input.user.email != \"\"\n"),
	        NULL);
	json_t *bob = input_for("bob@example.com", "[]", "view", 60);
	json_t *carol = input_for("carol@example.com", "[]", "view", 60);
	struct jit_decision d = { 0 };
	struct jit_policy_error error = { 0 };
	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, carol, &d, &error), 0);
	assert_true(d.allow);
	memset(&d, 0, sizeof(d));
	assert_int_equal(jit_policy_decide(set, f->eval, JIT_POLICY_ELIGIBILITY, bob, &d, &error),
	                 JIT_ERR_INTERNAL);
	assert_false(d.allow); /* untouched */
	assert_string_equal(error.kind, "eval_conflict_error");
	assert_non_null(strstr(error.message, "eval_conflict_error"));
	/* A conflict in a rule other than allow fails the decision too, although allow is true. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(jit_policy_decide(set, f->eval, JIT_POLICY_APPROVAL, bob, &d, &error),
	                 JIT_ERR_INTERNAL);
	assert_false(d.allow);
	assert_string_equal(error.kind, "eval_conflict_error");
	char *result = NULL;
	assert_int_equal(
	        jit_policy_eval_raw(set, f->eval, JIT_POLICY_ELIGIBILITY, bob, &d, &result, &error),
	        JIT_ERR_INTERNAL);
	assert_null(result);
	json_decref(bob);
	json_decref(carol);
	jit_policy_set_unref(set);
}

static void
test_step_budget(void **state)
{
	struct fixture *f = *state;
	/* 10^8 iterations if nothing stopped it. */
	struct jit_policy_set *set =
	        compile_ok(policy("slow", JIT_POLICY_ELIGIBILITY, true,
	                          "package jitsudo.eligibility\nimport rego.v1\n"
	                          "allow if {\n"
	                          "\tsome i in numbers.range(1, 10000)\n"
	                          "\tsome j in numbers.range(1, 10000)\n"
	                          "\ti * j < 0\n"
	                          "}\n"),
	                   NULL);
	json_t *in = input_for("bob@example.com", "[]", "view", 60);
	struct jit_decision d = { 0 };
	struct jit_policy_error error = { 0 };
	int64_t start = jit_now_monotonic_ns();
	assert_int_equal(jit_policy_decide(set, f->eval, JIT_POLICY_ELIGIBILITY, in, &d, &error),
	                 JIT_ERR_LIMIT);
	assert_string_equal(error.kind, "eval_limit_error");
	assert_non_null(strstr(error.message, "1000000"));
	assert_false(d.allow);
	/* Well under a second: the budget, not the loop, ended it. */
	assert_true(jit_now_monotonic_ns() - start < 5 * JIT_NSEC_PER_SEC);
	/* The context is usable again afterwards. */
	jit_policy_set_unref(set);
	set = compile_ok(policy("sre", JIT_POLICY_ELIGIBILITY, true, eligibility_sre), NULL);
	assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &error), 0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "only sre");
	json_decref(in);
	jit_policy_set_unref(set);
}

/* ---- input and policies:eval ----------------------------------------------------------- */

static void
test_input_document(UNUSED_STATE)
{
	struct jit_request *request = jit_request_new();
	assert_non_null(request);
	request->requester_identity = strdup("alice@example.com");
	request->provider = strdup("kubernetes");
	request->role = strdup("view");
	request->resource_scope = strdup("team-a");
	request->reason = strdup("debug");
	request->duration_seconds = 900;
	request->break_glass = true;
	json_decref(request->metadata);
	request->metadata = json_pack("{s:s}", "ticket", "INC-1");
	json_t *groups = json_pack("[s,s]", "sre", "dev");
	int64_t now = 1774022400LL * JIT_NSEC_PER_SEC + 123456789;
	json_t *input = jit_policy_input("bob@example.com", groups, request, now, "jump-1");
	assert_non_null(input);
	char *text = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
	        text,
	        "{\"context\":{\"host\":\"jump-1\",\"now\":\"2026-03-20T16:00:00Z\","
	        "\"trust_tier\":0},\"request\":{\"break_glass\":true,\"duration_seconds\":900,"
	        "\"metadata\":{\"ticket\":\"INC-1\"},\"provider\":\"kubernetes\","
	        "\"reason\":\"debug\",\"requester_identity\":\"alice@example.com\","
	        "\"resource_scope\":\"team-a\",\"role\":\"view\"},\"user\":{\"email\":"
	        "\"bob@example.com\",\"groups\":[\"sre\",\"dev\"]}}");
	free(text);
	/* Copies, not shared references: later changes do not leak into the input. */
	json_array_append_new(groups, json_string("late"));
	json_object_set_new(request->metadata, "late", json_true());
	assert_int_equal(json_array_size(json_object_get(json_object_get(input, "user"), "groups")),
	                 2);
	json_decref(input);

	/* No host, no groups, no metadata, missing strings. */
	free(request->reason);
	request->reason = NULL;
	json_decref(request->metadata);
	request->metadata = NULL;
	input = jit_policy_input(NULL, NULL, request, now, NULL);
	assert_non_null(input);
	json_t *context = json_object_get(input, "context");
	assert_null(json_object_get(context, "host"));
	assert_int_equal(json_integer_value(json_object_get(context, "trust_tier")), 0);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(input, "user"), "email")), "");
	assert_true(json_is_array(json_object_get(json_object_get(input, "user"), "groups")));
	json_t *req = json_object_get(input, "request");
	assert_string_equal(json_string_value(json_object_get(req, "reason")), "");
	assert_true(json_is_object(json_object_get(req, "metadata")));
	json_decref(input);
	json_decref(groups);
	jit_request_free(request);
}

static void
test_eval_raw(void **state)
{
	struct fixture *f = *state;
	struct jit_policy_set *set = compile_ok(
	        policy("sre", JIT_POLICY_ELIGIBILITY, true, eligibility_sre),
	        policy("helpers", JIT_POLICY_ELIGIBILITY, true,
	               "package jitsudo.eligibility\nimport rego.v1\n"
	               "max_seconds := 3600\nis_long if input.request.duration_seconds > 3600\n"
	               "double(x) := 2 * x\n"),
	        NULL);
	json_t *no = input_for("bob@example.com", "[]", "view", 7200);
	json_t *yes = input_for("bob@example.com", "[\"sre\"]", "view", 60);
	struct jit_decision d;
	struct jit_policy_error error;
	char *result = NULL;
	assert_int_equal(
	        jit_policy_eval_raw(set, f->eval, JIT_POLICY_ELIGIBILITY, no, &d, &result, &error),
	        0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "only sre");
	assert_string_equal(result, "{\"is_long\":true,\"max_seconds\":3600,\"reason\":\"only "
	                            "sre\"}");
	free(result);
	assert_int_equal(
	        jit_policy_eval_raw(set, f->eval, JIT_POLICY_ELIGIBILITY, yes, &d, &result, &error),
	        0);
	assert_true(d.allow);
	assert_string_equal(result, "{\"allow\":true,\"max_seconds\":3600}");
	free(result);
	/* No approval policies: an empty document and the no-policy denial. */
	assert_int_equal(
	        jit_policy_eval_raw(set, f->eval, JIT_POLICY_APPROVAL, yes, &d, &result, &error),
	        0);
	assert_false(d.allow);
	assert_string_equal(d.reason, "approval denied: no enabled approval policy");
	assert_string_equal(result, "{}");
	free(result);
	/* An input of any shape may be evaluated. */
	json_t *odd = json_pack("{s:[i,i]}", "user", 1, 2);
	assert_int_equal(
	        jit_policy_eval_raw(set, f->eval, JIT_POLICY_ELIGIBILITY, odd, &d, &result, &error),
	        0);
	assert_false(d.allow);
	free(result);
	json_decref(odd);
	json_decref(no);
	json_decref(yes);
	jit_policy_set_unref(set);
}

/* ---- a set shared and swapped between threads ------------------------------------------ */

#define SWAP_THREADS 4
#define SWAP_ROUNDS 3000

struct shared {
	pthread_mutex_t lock;
	struct jit_policy_set *current;
	bool stop;
};

struct swap_worker {
	struct shared *shared;
	int wrong, decided;
};

static struct jit_policy_set *
shared_get(struct shared *s)
{
	pthread_mutex_lock(&s->lock);
	struct jit_policy_set *set = jit_policy_set_ref(s->current);
	pthread_mutex_unlock(&s->lock);
	return set;
}

static void *
swap_work(void *arg)
{
	struct swap_worker *w = arg;
	struct jit_policy_context *eval;
	if (jit_policy_context_new(&eval) < 0)
		return NULL;
	json_t *in =
	        json_pack("{s:{s:s,s:[s]}}", "user", "email", "bob@example.com", "groups", "sre");
	for (;;) {
		pthread_mutex_lock(&w->shared->lock);
		bool stop = w->shared->stop;
		pthread_mutex_unlock(&w->shared->lock);
		if (stop)
			break;
		struct jit_policy_set *set = shared_get(w->shared);
		struct jit_decision d;
		struct jit_policy_error error;
		/* Each set says which it is in its reason; allow must agree with it. */
		if (jit_policy_decide(set, eval, JIT_POLICY_APPROVAL, in, &d, &error) < 0 ||
		    (strcmp(d.reason, "set-allow") == 0) != d.allow ||
		    (strcmp(d.reason, "set-allow") != 0 && strcmp(d.reason, "set-deny") != 0))
			w->wrong++;
		w->decided++;
		jit_policy_set_unref(set);
	}
	json_decref(in);
	jit_policy_context_free(eval);
	return NULL;
}

static struct jit_policy_set *
swap_set(bool allow)
{
	char text[256];
	snprintf(text, sizeof(text),
	         "package jitsudo.approval\nimport rego.v1\n"
	         "allow := %s if \"sre\" in input.user.groups\nreason := \"set-%s\"\n",
	         allow ? "true" : "false", allow ? "allow" : "deny");
	return compile_ok(policy("p", JIT_POLICY_APPROVAL, true, text), NULL);
}

static void
test_swap_under_threads(UNUSED_STATE)
{
	struct shared shared = { .current = swap_set(true) };
	pthread_mutex_init(&shared.lock, NULL);
	pthread_t threads[SWAP_THREADS];
	struct swap_worker workers[SWAP_THREADS];
	for (int i = 0; i < SWAP_THREADS; i++) {
		workers[i] = (struct swap_worker){ &shared, 0, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, swap_work, &workers[i]), 0);
	}
	for (int round = 0; round < SWAP_ROUNDS; round++) {
		struct jit_policy_set *next = swap_set(round % 2 == 1);
		pthread_mutex_lock(&shared.lock);
		struct jit_policy_set *old = shared.current;
		shared.current = next;
		pthread_mutex_unlock(&shared.lock);
		jit_policy_set_unref(old); /* possibly still used by a worker */
	}
	pthread_mutex_lock(&shared.lock);
	shared.stop = true;
	pthread_mutex_unlock(&shared.lock);
	int decided = 0;
	for (int i = 0; i < SWAP_THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].wrong, 0);
		decided += workers[i].decided;
	}
	assert_true(decided > 0);
	jit_policy_set_unref(shared.current);
	pthread_mutex_destroy(&shared.lock);
}

/* ---- the default policies -------------------------------------------------------------- */

static void
test_load_defaults(void **state)
{
	struct fixture *f = *state;
	struct jit_policy **list = NULL;
	size_t count = 0;
	char error[256] = "";
	int r = jit_policy_load_defaults(DEFAULT_POLICIES_DIR, &list, &count, error, sizeof(error));
	if (r < 0)
		fail_msg("load_defaults: %s", error);
	assert_int_equal(count, 2);
	assert_string_equal(list[0]->name, "default-eligibility");
	assert_int_equal(list[0]->type, JIT_POLICY_ELIGIBILITY);
	assert_string_equal(list[1]->name, "default-approval");
	assert_int_equal(list[1]->type, JIT_POLICY_APPROVAL);
	for (size_t i = 0; i < count; i++) {
		assert_true(list[i]->enabled);
		assert_string_equal(list[i]->id, "");
		assert_non_null(strstr(list[i]->description, "Default "));
		assert_null(strchr(list[i]->description, '#'));
		assert_null(strchr(list[i]->description, '\n'));
		assert_true(strlen(list[i]->description) < JIT_MAX_POLICY_DESCRIPTION);
	}
	assert_non_null(strstr(list[0]->rego, "package jitsudo.eligibility"));

	struct jit_policy_set *set = NULL;
	struct jit_policy_error rerr;
	assert_int_equal(jit_policy_set_compile(list, count, &set, &rerr), 0);
	assert_int_equal(jit_policy_set_count(set), 2);
	jit_policy_list_free(list, count);

	struct jit_decision d;
	struct {
		const char *email, *groups, *role;
		int64_t seconds;
		bool eligible, approvable;
		const char *tier;
		int32_t required;
	} cases[] = {
		{ "bob@example.com", "[\"sre\"]", "prod-infra-admin", 14400, true, false, "human",
		  2 },
		{ "bob@example.com", "[\"sre\"]", "prod-infra-admin", 14401, false, false, "human",
		  2 },
		{ "bob@example.com", "[\"developers\"]", "view", 3600, true, false, "auto", 1 },
		{ "bob@example.com", "[\"developers\"]", "Contributor", 600, false, false, "human",
		  1 },
		{ "bob@example.com", "[\"sre-leads\"]", "prod-infra-admin", 3600, false, true,
		  "human", 1 },
		{ "alice@example.com", "[\"sre-leads\"]", "view", 60, false, false, "auto", 1 },
	};
	for (size_t i = 0; i < JIT_ARRAY_SIZE(cases); i++) {
		json_t *in =
		        input_for(cases[i].email, cases[i].groups, cases[i].role, cases[i].seconds);
		assert_int_equal(decide(f, set, JIT_POLICY_ELIGIBILITY, in, &d, &rerr), 0);
		if (d.allow != cases[i].eligible)
			fail_msg("case %zu: eligible %d (%s)", i, d.allow, d.reason);
		if (!d.allow)
			assert_non_null(strstr(d.reason, "not eligible: "));
		assert_int_equal(decide(f, set, JIT_POLICY_APPROVAL, in, &d, &rerr), 0);
		if (d.allow != cases[i].approvable || strcmp(d.approver_tier, cases[i].tier) != 0 ||
		    d.required_approvals != cases[i].required)
			fail_msg("case %zu: approve %d tier %s required %d (%s)", i, d.allow,
			         d.approver_tier, d.required_approvals, d.reason);
		json_decref(in);
	}
	jit_policy_set_unref(set);
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "we");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

static void
test_load_defaults_errors(UNUSED_STATE)
{
	char dir[] = "/tmp/jit-policy-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char elig[128], appr[128];
	snprintf(elig, sizeof(elig), "%s/eligibility.rego", dir);
	snprintf(appr, sizeof(appr), "%s/approval.rego", dir);
	struct jit_policy **list = NULL;
	size_t count = 0;
	char error[256] = "";

	/* Missing file. */
	write_file(elig, "# Everyone.\n#\n# More text.\npackage jitsudo.eligibility\n"
	                 "allow := true\n");
	assert_int_equal(jit_policy_load_defaults(dir, &list, &count, error, sizeof(error)),
	                 -ENOENT);
	assert_non_null(strstr(error, "approval.rego"));

	/* The package of the other type. */
	write_file(appr, "package jitsudo.eligibility\nallow := true\n");
	assert_int_equal(jit_policy_load_defaults(dir, &list, &count, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(error, "package jitsudo.approval"));

	/* Good: the description is the first paragraph of the comment block. */
	write_file(appr, "\n#   Leads\n# approve.\n\npackage jitsudo.approval\nallow := true\n");
	assert_int_equal(jit_policy_load_defaults(dir, &list, &count, error, sizeof(error)), 0);
	assert_string_equal(list[0]->description, "Everyone.");
	assert_string_equal(list[1]->description, "Leads approve.");
	jit_policy_list_free(list, count);

	/* Too large. */
	FILE *fp = fopen(appr, "we");
	assert_non_null(fp);
	fputs("package jitsudo.approval\n", fp);
	for (int i = 0; i < JIT_MAX_POLICY_REGO / 16 + 1; i++)
		fputs("# padding......\n", fp);
	fclose(fp);
	assert_int_equal(jit_policy_load_defaults(dir, &list, &count, error, sizeof(error)),
	                 JIT_ERR_TOO_LARGE);

	/* A FIFO does not block; it is refused. */
	unlink(appr);
	assert_int_equal(mkfifo(appr, 0600), 0);
	assert_int_equal(jit_policy_load_defaults(dir, &list, &count, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(error, "not a regular file"));
	unlink(appr);
	unlink(elig);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_allow_deny_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_policies_and_null_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies_or_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_must_be_true, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tier_and_approvals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_reason_cut, setup, teardown),
		cmocka_unit_test(test_compile_error_line_column),
		cmocka_unit_test(test_check_package),
		cmocka_unit_test_setup_teardown(test_conflict_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_budget, setup, teardown),
		cmocka_unit_test(test_input_document),
		cmocka_unit_test_setup_teardown(test_eval_raw, setup, teardown),
		cmocka_unit_test(test_swap_under_threads),
		cmocka_unit_test_setup_teardown(test_load_defaults, setup, teardown),
		cmocka_unit_test(test_load_defaults_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
