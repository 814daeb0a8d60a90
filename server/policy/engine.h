/* What a policy language gives the server (server/policy/policy.h is what the rest of the
 * server uses). A language compiles the enabled policies of one type together into a unit
 * and answers, for an input document, the values of the rules the server asks about; the
 * server (policy.c) turns those values into decisions, keeps the compiled set and swaps it on
 * reload. A language knows neither the store nor HTTP, and never blocks: its evaluation is
 * bounded by its own budgets.
 *
 * Adding a language: a file beside rego.c implementing struct jit_policy_language, and one
 * row in the table of policy.c (jit_policy_language_find). */
#ifndef JIT_SERVER_POLICY_ENGINE_H
#define JIT_SERVER_POLICY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "server/core/model.h"

/* An error a caller may see: a compile error names the module, line and column; an
 * evaluation error says what ran out or went wrong. Never holds input values beyond what the
 * policy text itself put in its message. */
struct jit_policy_error {
	const char *kind;  /* the language's name for it, e.g. "rego_parse_error"; "" when none */
	char message[512]; /* e.g. "policy.rego:3:5: rego_parse_error: unexpected } token" */
	char module[128];  /* module name for parse/compile errors, else "" */
	uint32_t line, column;
};

/* One policy as a language compiles it: its module name ("<policy name>.<suffix>") and its
 * text. */
struct jit_policy_source {
	const char *name;
	const char *text;
	size_t length;
};

/* What the server asks of the policies of one type: the namespace they must declare
 * ("jitsudo.eligibility") and the rules it reads (NULL-terminated; "allow" first). */
struct jit_policy_kind {
	const char *label;     /* "eligibility" */
	const char *namespace; /* "jitsudo.eligibility" */
	const char *const *rules;
};

/* The values of the asked rules, in the order of jit_policy_kind.rules; NULL where a rule is
 * undefined. `allow` is whether the first rule's value is exactly true. */
struct jit_policy_answer {
	bool allow;
	json_t *values[4];
};

struct jit_policy_language {
	const char *name;   /* "rego" */
	const char *suffix; /* of module names: "rego" */

	/* Compiles `count` (>= 1) sources of one kind together into *ret_unit. 0, JIT_ERR_INVALID
	 * with *error filled, or -ENOMEM. */
	int (*compile)(const struct jit_policy_source *sources, size_t count,
	               const struct jit_policy_kind *kind, void **ret_unit,
	               struct jit_policy_error *error);
	void (*unit_free)(void *unit);
	/* Compiles one source alone and checks that it declares the kind's namespace: the
	 * pre-flight of a policy before it is saved. 0, JIT_ERR_INVALID, or -ENOMEM. */
	int (*check)(const struct jit_policy_source *source, const struct jit_policy_kind *kind,
	             struct jit_policy_error *error);

	/* Per-thread evaluation state, reused across evaluations. */
	int (*context_new)(void **ret_context);
	void (*context_free)(void *context);

	/* The values of the kind's rules for `input`. 0 with *ret_answer filled (the caller
	 * decrefs the values), JIT_ERR_LIMIT when a budget ran out, JIT_ERR_INVALID for an input
	 * the language cannot take, JIT_ERR_INTERNAL for any other evaluation error, -ENOMEM. */
	int (*decide)(void *unit, void *context, const json_t *input,
	              struct jit_policy_answer *ret_answer, struct jit_policy_error *error);
	/* The whole namespace's document for `input` (a dry run shows all of it), a new
	 * reference or NULL when nothing is defined; the same codes as decide. */
	int (*evaluate)(void *unit, void *context, const json_t *input, json_t **ret_document,
	                struct jit_policy_error *error);
};

/* The language the policies of the seed-000 API are written in. */
#define JIT_POLICY_DEFAULT_LANGUAGE "rego"

/* The language called `name`, or NULL. */
const struct jit_policy_language *jit_policy_language_find(const char *name);

extern const struct jit_policy_language jit_policy_language_rego;

#endif
