/* The Rego language behind server/policy/engine.h, on lib/rego's public interface: the
 * policies of one kind compile together as modules (so several `allow` rules OR together),
 * each asked rule is prepared once, and the whole package is prepared for dry runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/rego/rego.h"
#include "server/policy/engine.h"
#include "server/policy/policy.h"

#define MAX_RULES JIT_ARRAY_SIZE(((struct jit_policy_answer *)0)->values)

struct rego_unit {
	struct jit_rego_policy *policy;
	struct jit_rego_query *rules[MAX_RULES]; /* NULL: no module defines the rule */
	size_t rule_count;
	struct jit_rego_query *document; /* the whole package, for evaluate */
};

static const struct jit_rego_options rego_options = {
	.syntax = JIT_REGO_SYNTAX_AUTO,
	.max_steps = JIT_POLICY_MAX_STEPS,
};

static void
convert_error(struct jit_policy_error *out, const struct jit_rego_error *in)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	out->kind = in->code == JIT_REGO_OK ? "" : jit_rego_error_code_name(in->code);
	snprintf(out->message, sizeof(out->message), "%s", in->message);
	snprintf(out->module, sizeof(out->module), "%s", in->module);
	out->line = in->line;
	out->column = in->column;
}

/* A failure to compile, prepare or convert: out of memory, or the text (or input) is wrong. */
static int
build_failure(struct jit_policy_error *out, const struct jit_rego_error *in)
{
	convert_error(out, in);
	return in->code == JIT_REGO_INTERNAL_ERROR ? -ENOMEM : JIT_ERR_INVALID;
}

/* An evaluation failure: exhausted budgets are JIT_ERR_LIMIT, everything else (conflicts,
 * type errors, memory) JIT_ERR_INTERNAL. */
static int
eval_failure(struct jit_policy_error *out, const struct jit_rego_error *in)
{
	convert_error(out, in);
	return in->code == JIT_REGO_LIMIT_ERROR ? JIT_ERR_LIMIT : JIT_ERR_INTERNAL;
}

static void
unit_free(void *p)
{
	struct rego_unit *unit = p;
	if (!unit)
		return;
	for (size_t i = 0; i < unit->rule_count; i++)
		jit_rego_query_free(unit->rules[i]);
	jit_rego_query_free(unit->document);
	jit_rego_policy_free(unit->policy);
	free(unit);
}

static int
prepare(struct jit_rego_policy *policy, const char *namespace, const char *rule,
        struct jit_rego_query **ret_query, struct jit_policy_error *error)
{
	char path[128];
	struct jit_rego_error rego_error = { 0 };
	if (rule)
		snprintf(path, sizeof(path), "%s.%s", namespace, rule);
	else
		snprintf(path, sizeof(path), "%s", namespace);
	struct jit_rego_query *query = NULL;
	if (jit_rego_prepare_rule(policy, path, &query, &rego_error) < 0)
		return build_failure(error, &rego_error);
	/* A path no policy defines is prepared as a general query, which cannot be evaluated as
	 * a rule; it is simply undefined, kept as NULL. */
	if (!jit_rego_query_names_rule(query)) {
		jit_rego_query_free(query);
		query = NULL;
	}
	*ret_query = query;
	return 0;
}

static int
compile_sources(const struct jit_policy_source *sources, size_t count,
                struct jit_rego_policy **ret_policy, struct jit_policy_error *error)
{
	struct jit_rego_error rego_error = { 0 };
	_cleanup_free_ struct jit_rego_module_source *modules = calloc(count, sizeof(*modules));
	if (!modules)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		modules[i] = (struct jit_rego_module_source){ sources[i].name, sources[i].text,
			                                      sources[i].length };
	if (jit_rego_compile(modules, count, NULL, &rego_options, ret_policy, &rego_error) < 0)
		return build_failure(error, &rego_error);
	return 0;
}

static int
compile(const struct jit_policy_source *sources, size_t count, const struct jit_policy_kind *kind,
        void **ret_unit, struct jit_policy_error *error)
{
	struct rego_unit *unit = calloc(1, sizeof(*unit));
	int r;
	if (!unit)
		return -ENOMEM;
	if ((r = compile_sources(sources, count, &unit->policy, error)) < 0)
		goto fail;
	for (; kind->rules[unit->rule_count]; unit->rule_count++) {
		if (unit->rule_count == MAX_RULES) {
			r = -EINVAL;
			goto fail;
		}
		if ((r = prepare(unit->policy, kind->namespace, kind->rules[unit->rule_count],
		                 &unit->rules[unit->rule_count], error)) < 0) {
			unit->rule_count++;
			goto fail;
		}
	}
	if ((r = prepare(unit->policy, kind->namespace, NULL, &unit->document, error)) < 0)
		goto fail;
	*ret_unit = unit;
	return 0;
fail:
	unit_free(unit);
	return r;
}

/* Line of the package clause, for the message: the first line that starts with `package`
 * after leading blanks (comments precede it; the module has compiled, so it is there). */
static uint32_t
package_line(const char *text)
{
	uint32_t line = 1;
	for (const char *p = text; *p; line++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "package", 7) == 0)
			return line;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return 1;
}

static int
check(const struct jit_policy_source *source, const struct jit_policy_kind *kind,
      struct jit_policy_error *error)
{
	struct jit_rego_policy *policy = NULL;
	int r = compile_sources(source, 1, &policy, error);
	if (r < 0)
		return r;
	const char *package = jit_rego_policy_first_package(policy);
	char expected[64];
	snprintf(expected, sizeof(expected), "data.%s", kind->namespace);
	if (!package || strcmp(package, expected) != 0) {
		uint32_t line = package_line(source->text);
		if (error) {
			memset(error, 0, sizeof(*error));
			error->kind = jit_rego_error_code_name(JIT_REGO_COMPILE_ERROR);
			snprintf(error->module, sizeof(error->module), "%s", source->name);
			error->line = line;
			error->column = 1;
			snprintf(error->message, sizeof(error->message),
			         "%.200s:%u:1: rego_compile_error: an %s policy must declare "
			         "package "
			         "%s (found %.100s)",
			         source->name, line, kind->label, kind->namespace,
			         package ? package + 5 : "none");
		}
		r = JIT_ERR_INVALID;
	}
	jit_rego_policy_free(policy);
	return r;
}

static int
context_new(void **ret_context)
{
	struct jit_rego_eval *eval = NULL;
	int r = jit_rego_eval_new(&eval);
	if (r < 0)
		return r;
	*ret_context = eval;
	return 0;
}

static void
context_free(void *context)
{
	jit_rego_eval_free(context);
}

static int
to_input(const json_t *input, struct jit_rego_input **ret_input, struct jit_policy_error *error)
{
	struct jit_rego_error rego_error = { 0 };
	if (jit_rego_input_from_json(input, ret_input, &rego_error) < 0)
		return build_failure(error, &rego_error);
	return 0;
}

static int
eval_value(struct jit_rego_eval *eval, struct jit_rego_query *query,
           const struct jit_rego_input *input, json_t **ret_value, struct jit_policy_error *error)
{
	struct jit_rego_error rego_error = { 0 };
	*ret_value = NULL;
	if (query && jit_rego_eval_rule(eval, query, input, ret_value, &rego_error) < 0)
		return eval_failure(error, &rego_error);
	return 0;
}

static int
decide(void *p, void *context, const json_t *input, struct jit_policy_answer *ret_answer,
       struct jit_policy_error *error)
{
	struct rego_unit *unit = p;
	struct jit_rego_eval *eval = context;
	struct jit_rego_error rego_error = { 0 };
	struct jit_rego_input *rego_input = NULL;
	struct jit_policy_answer answer = { 0 };
	int r = to_input(input, &rego_input, error);
	if (r < 0)
		return r;
	/* The first rule is the decision: the fast path that allocates nothing. */
	if (unit->rules[0] &&
	    jit_rego_eval_bool(eval, unit->rules[0], rego_input, &answer.allow, &rego_error) < 0) {
		r = eval_failure(error, &rego_error);
		goto out;
	}
	for (size_t i = 1; i < unit->rule_count; i++)
		if ((r = eval_value(eval, unit->rules[i], rego_input, &answer.values[i], error)) <
		    0)
			goto out;
	*ret_answer = answer;
	memset(&answer, 0, sizeof(answer));
out:
	for (size_t i = 0; i < MAX_RULES; i++)
		json_decref(answer.values[i]);
	jit_rego_input_free(rego_input);
	return r;
}

static int
evaluate(void *p, void *context, const json_t *input, json_t **ret_document,
         struct jit_policy_error *error)
{
	struct rego_unit *unit = p;
	struct jit_rego_input *rego_input = NULL;
	int r = to_input(input, &rego_input, error);
	if (r < 0)
		return r;
	r = eval_value(context, unit->document, rego_input, ret_document, error);
	jit_rego_input_free(rego_input);
	return r;
}

const struct jit_policy_language jit_policy_language_rego = {
	.name = "rego",
	.suffix = "rego",
	.compile = compile,
	.unit_free = unit_free,
	.check = check,
	.context_new = context_new,
	.context_free = context_free,
	.decide = decide,
	.evaluate = evaluate,
};
