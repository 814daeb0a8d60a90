/* jitsudo's Rego engine: compile Rego modules (v0 or v1 syntax), add base documents, and
 * evaluate queries or rules against an input. Evaluation is pure and bounded: a step budget
 * and a depth limit stop hostile policies with an error. A compiled policy is immutable and
 * may be shared by threads; each thread evaluates with its own jit_rego_eval context. */
#ifndef JIT_REGO_H
#define JIT_REGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Error codes, the error record, syntax and options: in types.h, shared with the compiler
 * and evaluator, which do not include this header. */
#include "lib/rego/types.h"

struct jit_rego_module_source {
	const char *name; /* used in error messages */
	const char *text;
	size_t length;
};

struct jit_rego_policy;

/* Compiles modules into a policy. `data` (may be NULL) is the base document, an object.
 * On success returns 0 and sets *ret_policy; otherwise returns a negative code and fills
 * *error (when non-NULL). Compiling does not take ownership of anything passed in. */
int jit_rego_compile(const struct jit_rego_module_source *modules, size_t module_count,
                     const json_t *data, const struct jit_rego_options *options,
                     struct jit_rego_policy **ret_policy, struct jit_rego_error *error);
void jit_rego_policy_free(struct jit_rego_policy *policy);
/* The path ("data.a.b") of the first package clause of the compiled tree, in document order,
 * or NULL when there is none; the string belongs to the policy. A policy compiled from one
 * module has exactly that module's package. */
const char *jit_rego_policy_first_package(const struct jit_rego_policy *policy);

/* A prepared query: parsed and compiled once, evaluated many times. */
struct jit_rego_query;
int jit_rego_prepare(struct jit_rego_policy *policy, const char *query,
                     struct jit_rego_query **ret_query, struct jit_rego_error *error);
/* Prepares `data.<path>` for rule evaluation: path "jitsudo.eligibility.allow". */
int jit_rego_prepare_rule(struct jit_rego_policy *policy, const char *path,
                          struct jit_rego_query **ret_query, struct jit_rego_error *error);
void jit_rego_query_free(struct jit_rego_query *query);
/* Does the prepared query name a rule or package of the policy? A rule path that no module
 * defines is prepared as a general query instead, whose value is simply undefined. */
bool jit_rego_query_names_rule(const struct jit_rego_query *query);

/* An input converted once to the engine's representation, reusable across evaluations. */
struct jit_rego_input;
int jit_rego_input_from_json(const json_t *input, struct jit_rego_input **ret_input,
                             struct jit_rego_error *error);
int jit_rego_input_from_text(const char *json_text, size_t length,
                             struct jit_rego_input **ret_input, struct jit_rego_error *error);
/* An input written as a Rego term (literals only: may contain sets and non-string keys). */
int jit_rego_input_from_rego(const char *term_text, size_t length,
                             struct jit_rego_input **ret_input, struct jit_rego_error *error);
void jit_rego_input_free(struct jit_rego_input *input);

/* Per-thread evaluation state (arena, caches), reused across evaluations. */
struct jit_rego_eval;
int jit_rego_eval_new(struct jit_rego_eval **ret_eval);
void jit_rego_eval_free(struct jit_rego_eval *eval);

/* Evaluates a prepared query. `input` may be NULL (input undefined). Returns 0 and sets
 * *ret_results to a new JSON array of binding rows (objects var -> value; [] = undefined), or
 * returns a negative code and fills *error. Blocks only for the evaluation itself, which is
 * bounded by the policy's budgets. */
int jit_rego_eval_query(struct jit_rego_eval *eval, struct jit_rego_query *query,
                        const struct jit_rego_input *input, json_t **ret_results,
                        struct jit_rego_error *error);

/* Evaluates a rule query (from jit_rego_prepare_rule) and returns its value as JSON in
 * *ret_value (a new reference), or NULL in *ret_value when the rule is undefined. */
int jit_rego_eval_rule(struct jit_rego_eval *eval, struct jit_rego_query *query,
                       const struct jit_rego_input *input, json_t **ret_value,
                       struct jit_rego_error *error);

/* Fast path for decisions: evaluates a rule query and reports whether its value is `true`.
 * Allocates nothing that survives the call. */
int jit_rego_eval_bool(struct jit_rego_eval *eval, struct jit_rego_query *query,
                       const struct jit_rego_input *input, bool *ret_allowed,
                       struct jit_rego_error *error);

/* Options applied per evaluation, overriding the clock for tests (0 = real time). */
void jit_rego_eval_set_time(struct jit_rego_eval *eval, int64_t now_ns);

#endif
