/* Benchmarks of the Rego engine: warm decision latency for the eligibility policy of the API
 * seed and for an RBAC policy, and the compile time of a 200-line module. Prints one line per
 * benchmark with the median of several timed rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/rego/rego.h"

#define ROUNDS 7

static const char eligibility_policy[] = "package jitsudo.eligibility\n"
                                         "\n"
                                         "default allow = false\n"
                                         "\n"
                                         "allow {\n"
                                         "\tinput.user.groups[_] == \"sre\"\n"
                                         "}\n";

static const char eligibility_input[] =
        "{\"user\":{\"email\":\"alice@example.com\",\"groups\":[\"sre\"]},"
        "\"request\":{\"provider\":\"aws\",\"role\":\"prod-admin\","
        "\"resource_scope\":\"123456789012\",\"duration_seconds\":3600}}";

static double
now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
die(const char *what, const struct jit_rego_error *error)
{
	fprintf(stderr, "bench_rego: %s: %s\n", what, error ? error->message : "failed");
	exit(1);
}

static struct jit_rego_policy *
compile_one(const char *text)
{
	struct jit_rego_module_source m = { "bench.rego", text, strlen(text) };
	struct jit_rego_policy *policy;
	struct jit_rego_error error;
	if (jit_rego_compile(&m, 1, NULL, NULL, &policy, &error) < 0)
		die("compile", &error);
	return policy;
}

/* Median nanoseconds per decision of `rule` with `input`, checking the decision. */
static double
bench_decision(const char *policy_text, const char *rule, const char *input_text, bool expect,
               long iterations)
{
	struct jit_rego_policy *policy = compile_one(policy_text);
	struct jit_rego_query *query;
	struct jit_rego_input *input;
	struct jit_rego_eval *eval;
	struct jit_rego_error error;
	if (jit_rego_prepare_rule(policy, rule, &query, &error) < 0)
		die("prepare", &error);
	if (jit_rego_input_from_text(input_text, strlen(input_text), &input, &error) < 0)
		die("input", &error);
	if (jit_rego_eval_new(&eval) < 0)
		die("eval_new", NULL);
	double rounds[ROUNDS];
	for (int round = 0; round < ROUNDS; round++) {
		double start = now_seconds();
		for (long i = 0; i < iterations; i++) {
			bool allowed;
			if (jit_rego_eval_bool(eval, query, input, &allowed, &error) < 0)
				die("eval", &error);
			if (allowed != expect) {
				fprintf(stderr, "bench_rego: wrong decision for %s\n", rule);
				exit(1);
			}
		}
		rounds[round] = (now_seconds() - start) * 1e9 / (double)iterations;
	}
	qsort(rounds, ROUNDS, sizeof(rounds[0]), compare_doubles);
	jit_rego_eval_free(eval);
	jit_rego_input_free(input);
	jit_rego_query_free(query);
	jit_rego_policy_free(policy);
	return rounds[ROUNDS / 2];
}

/* An RBAC policy: 10 roles with 10 permissions each; the user's roles are iterated. */
static char *
rbac_policy(void)
{
	size_t cap = 16384, len = 0;
	char *s = malloc(cap);
	if (!s)
		exit(1);
	len += (size_t)snprintf(s + len, cap - len,
	                        "package rbac\n\nimport rego.v1\n\ndefault allow := false\n\n"
	                        "allow if {\n\tsome role in input.user.roles\n"
	                        "\tsome grant in role_permissions[role]\n"
	                        "\tgrant.action == input.action\n"
	                        "\tgrant.resource == input.resource\n}\n\nrole_permissions := {\n");
	for (int r = 0; r < 10; r++) {
		len += (size_t)snprintf(s + len, cap - len, "\t\"role%d\": [\n", r);
		for (int p = 0; p < 10; p++)
			len += (size_t)snprintf(
			        s + len, cap - len,
			        "\t\t{\"action\": \"act%d\", \"resource\": \"res%d-%d\"},\n", p, r,
			        p);
		len += (size_t)snprintf(s + len, cap - len, "\t],\n");
	}
	snprintf(s + len, cap - len, "}\n");
	return s;
}

/* A 200-line module of typical access-control rules. */
static char *
module_200_lines(void)
{
	size_t cap = 65536, len = 0;
	char *s = malloc(cap);
	if (!s)
		exit(1);
	len += (size_t)snprintf(
	        s + len, cap - len,
	        "package bench.big\n\nimport rego.v1\n\ndefault allow := false\n\n");
	for (int i = 0; len < cap - 512 && i < 28; i++)
		len += (size_t)snprintf(
		        s + len, cap - len,
		        "allow if {\n\tinput.request.provider == \"p%d\"\n"
		        "\tsome g in input.user.groups\n\tstartswith(g, \"team-%d\")\n"
		        "\tinput.request.duration_seconds <= %d\n}\n\n",
		        i, i, 3600 * (i + 1));
	return s;
}

static double
bench_compile(const char *text, long iterations)
{
	double rounds[ROUNDS];
	for (int round = 0; round < ROUNDS; round++) {
		double start = now_seconds();
		for (long i = 0; i < iterations; i++)
			jit_rego_policy_free(compile_one(text));
		rounds[round] = (now_seconds() - start) * 1e9 / (double)iterations;
	}
	qsort(rounds, ROUNDS, sizeof(rounds[0]), compare_doubles);
	return rounds[ROUNDS / 2];
}

int
main(void)
{
	double eligibility = bench_decision(eligibility_policy, "jitsudo.eligibility.allow",
	                                    eligibility_input, true, 200000);
	printf("rego eligibility (seed 000 policy and input): %.0f ns/decision (bar 1000)\n",
	       eligibility);
	char *rbac = rbac_policy();
	double rbac_allow =
	        bench_decision(rbac, "rbac.allow",
	                       "{\"user\":{\"roles\":[\"role3\",\"role7\"]},\"action\":\"act9\","
	                       "\"resource\":\"res7-9\"}",
	                       true, 100000);
	double rbac_deny =
	        bench_decision(rbac, "rbac.allow",
	                       "{\"user\":{\"roles\":[\"role3\",\"role7\"]},\"action\":\"act9\","
	                       "\"resource\":\"res1-9\"}",
	                       false, 100000);
	printf("rego rbac (10 roles x 10 permissions): allow %.0f ns, deny %.0f ns/decision "
	       "(bar 5000)\n",
	       rbac_allow, rbac_deny);
	char *big = module_200_lines();
	int lines = 0;
	for (const char *p = big; *p; p++)
		lines += *p == '\n';
	double compile = bench_compile(big, 200);
	printf("rego compile (%d-line module): %.0f us (bar 1000)\n", lines, compile / 1000.0);
	free(rbac);
	free(big);
	return 0;
}
