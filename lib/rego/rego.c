/* The public API of the Rego engine: compiling modules into a policy, preparing queries,
 * converting inputs, and evaluating. Translates internal errors into jit_rego_error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/rego/ast.h"
#include "lib/rego/compile.h"
#include "lib/rego/eval.h"
#include "lib/rego/rego.h"

#define DEFAULT_MAX_STEPS 10000000ull
#define DEFAULT_MAX_DEPTH 256u
#define DEFAULT_MAX_MEMORY (64u * 1024u * 1024u)
#define MODULE_MAX_BYTES (4u * 1024u * 1024u)

struct jit_rego_input {
	struct rego_arena arena;
	const struct rego_value *value;
};

struct jit_rego_eval {
	struct rego_eval ev;
};

static void record_error(struct jit_rego_error *error, enum jit_rego_error_code code,
                         const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The negative code to return for an error of kind `code`. */
static inline int
error_result(enum jit_rego_error_code code)
{
	return code == JIT_REGO_INTERNAL_ERROR ? -ENOMEM : JIT_ERR_INVALID;
}

/* Records the error in *error (when there is one); set_error() also evaluates to the negative
 * code to return. A macro, so that the static analyzer, which does not follow calls into
 * variadic functions, sees that the code is negative. */
#define set_error(error, code, ...) (record_error((error), (code), __VA_ARGS__), error_result(code))

static void
record_error(struct jit_rego_error *error, enum jit_rego_error_code code, const char *fmt, ...)
{
	if (error) {
		va_list ap;
		memset(error, 0, sizeof(*error));
		error->code = code;
		va_start(ap, fmt);
		vsnprintf(error->message, sizeof(error->message), fmt, ap);
		va_end(ap);
	}
}

static void
clear_error(struct jit_rego_error *error)
{
	if (error)
		memset(error, 0, sizeof(*error));
}

static enum rego_syntax
to_syntax(enum jit_rego_syntax s)
{
	return s == JIT_REGO_SYNTAX_V0   ? REGO_SYNTAX_V0
	       : s == JIT_REGO_SYNTAX_V1 ? REGO_SYNTAX_V1
	                                 : REGO_SYNTAX_AUTO;
}

void
jit_rego_policy_free(struct jit_rego_policy *policy)
{
	if (!policy)
		return;
	rego_arena_free(&policy->arena);
	free(policy);
}

static const struct doc_node *
first_package(const struct doc_node *node)
{
	if (node->is_package)
		return node;
	for (uint32_t i = 0; i < node->child_count; i++) {
		const struct doc_node *found = first_package(node->children[i]);
		if (found)
			return found;
	}
	return NULL;
}

const char *
jit_rego_policy_first_package(const struct jit_rego_policy *policy)
{
	const struct doc_node *package =
	        policy && policy->root ? first_package(policy->root) : NULL;
	return package ? package->path : NULL;
}

bool
jit_rego_query_names_rule(const struct jit_rego_query *query)
{
	return query && query->node;
}

int
jit_rego_compile(const struct jit_rego_module_source *modules, size_t module_count,
                 const json_t *data, const struct jit_rego_options *options,
                 struct jit_rego_policy **ret_policy, struct jit_rego_error *error)
{
	struct jit_rego_error scratch;
	if (!error)
		error = &scratch;
	clear_error(error);
	struct jit_rego_policy *policy = calloc(1, sizeof(*policy));
	if (!policy)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	rego_arena_init(&policy->arena, 0);
	if (options)
		policy->options = *options;
	policy->max_steps =
	        policy->options.max_steps ? policy->options.max_steps : DEFAULT_MAX_STEPS;
	policy->max_depth =
	        policy->options.max_depth ? policy->options.max_depth : DEFAULT_MAX_DEPTH;
	policy->max_memory =
	        policy->options.max_memory ? policy->options.max_memory : DEFAULT_MAX_MEMORY;
	int r = 0;
	struct rego_module **parsed =
	        rego_arena_alloc(&policy->arena, (module_count + 1) * sizeof(*parsed));
	if (!parsed) {
		r = set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < module_count; i++) {
		const char *name = modules[i].name ? modules[i].name : "module";
		struct rego_parse_error perr;
		if (modules[i].length > MODULE_MAX_BYTES) {
			r = set_error(error, JIT_REGO_PARSE_ERROR,
			              "%s: rego_parse_error: module larger than %u bytes", name,
			              MODULE_MAX_BYTES);
			goto fail;
		}
		memset(&perr, 0, sizeof(perr));
		if (rego_parse_module(&policy->arena, name, modules[i].text, modules[i].length,
		                      to_syntax(policy->options.syntax),
		                      policy->options.experimental_keywords, &parsed[i],
		                      &perr) < 0) {
			r = set_error(error, JIT_REGO_PARSE_ERROR, "%s:%u:%u: rego_parse_error: %s",
			              name, perr.loc.line, perr.loc.column, perr.message);
			snprintf(error->module, sizeof(error->module), "%s", name);
			error->line = perr.loc.line;
			error->column = perr.loc.column;
			goto fail;
		}
	}
	if (data) {
		if (!json_is_object(data)) {
			r = set_error(error, JIT_REGO_INVALID_ARGUMENT,
			              "data must be a JSON object");
			goto fail;
		}
		policy->data = rego_from_json(&policy->arena, data);
		if (!policy->data) {
			r = set_error(error, JIT_REGO_INVALID_ARGUMENT,
			              "data could not be converted");
			goto fail;
		}
	} else {
		policy->data = &rego_empty_object;
	}
	if ((r = rego_compile_policy(policy, parsed, module_count, error)) < 0)
		goto fail;
	*ret_policy = policy;
	return 0;
fail:
	jit_rego_policy_free(policy);
	return r < 0 ? r : JIT_ERR_INVALID;
}

void
jit_rego_query_free(struct jit_rego_query *query)
{
	if (!query)
		return;
	rego_arena_free(&query->arena);
	free(query);
}

static int
prepare_text(struct jit_rego_policy *policy, const char *text, size_t len,
             struct jit_rego_query **ret_query, struct jit_rego_error *error)
{
	struct jit_rego_error scratch;
	if (!error)
		error = &scratch;
	clear_error(error);
	struct jit_rego_query *query = calloc(1, sizeof(*query));
	if (!query)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	query->policy = policy;
	rego_arena_init(&query->arena, 0);
	struct rego_body *body;
	struct rego_parse_error perr;
	memset(&perr, 0, sizeof(perr));
	enum rego_syntax syntax = to_syntax(policy->options.syntax);
	int r;
	if (rego_parse_query(&query->arena, text, len, syntax, &body, &perr) < 0) {
		r = set_error(error, JIT_REGO_PARSE_ERROR, "query:%u:%u: rego_parse_error: %s",
		              perr.loc.line, perr.loc.column, perr.message);
		goto fail;
	}
	if ((r = rego_compile_query(policy, query, body, syntax != REGO_SYNTAX_V0, error)) < 0)
		goto fail;
	*ret_query = query;
	return 0;
fail:
	jit_rego_query_free(query);
	return r;
}

int
jit_rego_prepare(struct jit_rego_policy *policy, const char *query,
                 struct jit_rego_query **ret_query, struct jit_rego_error *error)
{
	return prepare_text(policy, query, strlen(query), ret_query, error);
}

int
jit_rego_prepare_rule(struct jit_rego_policy *policy, const char *path,
                      struct jit_rego_query **ret_query, struct jit_rego_error *error)
{
	/* "a.b.c": when every segment names a tree node, evaluate that node directly. */
	struct doc_node *node = policy->root;
	const char *p = path;
	while (*p && node) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		node = n ? rego_doc_child(node, p, n) : NULL;
		p += n + (dot ? 1 : 0);
		if (dot && !*p)
			node = NULL;
	}
	if (node && node != policy->root) {
		struct jit_rego_query *query = calloc(1, sizeof(*query));
		if (!query)
			return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
		query->policy = policy;
		query->node = node;
		rego_arena_init(&query->arena, 0);
		clear_error(error);
		*ret_query = query;
		return 0;
	}
	struct rego_strbuf sb;
	struct rego_arena scratch;
	rego_arena_init(&scratch, 0);
	rego_strbuf_init(&sb, &scratch);
	int r = rego_strbuf_appendf(&sb, "__rule_value__ = data.%s", path);
	if (r == 0)
		r = prepare_text(policy, sb.data, sb.length, ret_query, error);
	else
		r = set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	rego_arena_free(&scratch);
	return r;
}

void
jit_rego_input_free(struct jit_rego_input *input)
{
	if (!input)
		return;
	rego_arena_free(&input->arena);
	free(input);
}

static struct jit_rego_input *
input_new(void)
{
	struct jit_rego_input *input = calloc(1, sizeof(*input));
	if (input)
		rego_arena_init(&input->arena, 0);
	return input;
}

int
jit_rego_input_from_json(const json_t *json, struct jit_rego_input **ret_input,
                         struct jit_rego_error *error)
{
	struct jit_rego_input *input = input_new();
	if (!input)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	input->value = rego_from_json(&input->arena, json);
	if (!input->value) {
		jit_rego_input_free(input);
		return set_error(error, JIT_REGO_INVALID_ARGUMENT, "input could not be converted");
	}
	clear_error(error);
	*ret_input = input;
	return 0;
}

int
jit_rego_input_from_text(const char *text, size_t length, struct jit_rego_input **ret_input,
                         struct jit_rego_error *error)
{
	struct jit_rego_input *input = input_new();
	if (!input)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	if (rego_parse_json(&input->arena, text, length, &input->value) < 0) {
		jit_rego_input_free(input);
		return set_error(error, JIT_REGO_INVALID_ARGUMENT, "input is not valid JSON");
	}
	clear_error(error);
	*ret_input = input;
	return 0;
}

/* Converts a literal term (no variables, calls or references) to a value. */
static const struct rego_value *
term_literal(struct rego_arena *arena, const struct rego_term *t, int depth)
{
	if (depth > 512)
		return NULL;
	switch (t->kind) {
	case REGO_TERM_SCALAR:
		return t->u.value;
	case REGO_TERM_ARRAY:
	case REGO_TERM_SET: {
		struct rego_vec items;
		rego_vec_init(&items, arena);
		for (uint32_t i = 0; i < t->u.list.length; i++) {
			const struct rego_value *v =
			        term_literal(arena, t->u.list.items[i], depth + 1);
			if (!v || rego_vec_push(&items, v) < 0)
				return NULL;
		}
		return t->kind == REGO_TERM_ARRAY ? rego_vec_to_array(&items)
		                                  : rego_vec_to_set(&items);
	}
	case REGO_TERM_OBJECT: {
		struct rego_member_vec members;
		rego_member_vec_init(&members, arena);
		for (uint32_t i = 0; i < t->u.object.length; i++) {
			const struct rego_value *k =
			        term_literal(arena, t->u.object.keys[i], depth + 1);
			const struct rego_value *v =
			        term_literal(arena, t->u.object.values[i], depth + 1);
			if (!k || !v || rego_member_vec_push(&members, k, v) < 0)
				return NULL;
		}
		return rego_member_vec_to_object(&members);
	}
	default:
		return NULL;
	}
}

int
jit_rego_input_from_rego(const char *text, size_t length, struct jit_rego_input **ret_input,
                         struct jit_rego_error *error)
{
	struct jit_rego_input *input = input_new();
	if (!input)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	struct rego_term *term;
	struct rego_parse_error perr;
	memset(&perr, 0, sizeof(perr));
	if (rego_parse_term(&input->arena, text, length, &term, &perr) < 0) {
		jit_rego_input_free(input);
		return set_error(error, JIT_REGO_PARSE_ERROR, "input:%u:%u: rego_parse_error: %s",
		                 perr.loc.line, perr.loc.column, perr.message);
	}
	input->value = term_literal(&input->arena, term, 0);
	if (!input->value) {
		jit_rego_input_free(input);
		return set_error(error, JIT_REGO_INVALID_ARGUMENT,
		                 "input term must be a literal value");
	}
	clear_error(error);
	*ret_input = input;
	return 0;
}

int
jit_rego_eval_new(struct jit_rego_eval **ret_eval)
{
	struct jit_rego_eval *eval = calloc(1, sizeof(*eval));
	if (!eval)
		return -ENOMEM;
	rego_arena_init(&eval->ev.arena, 0);
	*ret_eval = eval;
	return 0;
}

void
jit_rego_eval_free(struct jit_rego_eval *eval)
{
	if (!eval)
		return;
	rego_eval_release(&eval->ev);
	free(eval);
}

void
jit_rego_eval_set_time(struct jit_rego_eval *eval, int64_t now_ns)
{
	eval->ev.fixed_now_ns = now_ns;
}

static int
eval_failed(struct rego_eval *ev, int r, struct jit_rego_error *error)
{
	if (ev->error_code != JIT_REGO_OK)
		return set_error(error, ev->error_code, "%s", ev->error_message);
	return set_error(error, r == -ENOMEM ? JIT_REGO_INTERNAL_ERROR : JIT_REGO_INTERNAL_ERROR,
	                 "evaluation failed: %s", strerror(r < 0 && r > -4096 ? -r : EINVAL));
}

struct rows_ctx {
	const struct jit_rego_query *query;
	json_t *rows;
};

static int
add_row(struct rego_eval *ev, const struct rego_value **slots, void *ctx)
{
	struct rows_ctx *rc = ctx;
	json_t *row = json_object();
	if (!row)
		return -ENOMEM;
	for (uint32_t i = 0; i < rc->query->var_count; i++) {
		const struct rego_value *v = slots[rc->query->var_slots[i]];
		if (!v)
			continue;
		json_t *j = rego_to_json(v);
		if (!j || json_object_set_new(row, rc->query->var_names[i], j) < 0) {
			json_decref(row);
			return -ENOMEM;
		}
	}
	if (json_array_append_new(rc->rows, row) < 0)
		return -ENOMEM;
	return 0;
}

int
jit_rego_eval_query(struct jit_rego_eval *eval, struct jit_rego_query *query,
                    const struct jit_rego_input *input, json_t **ret_results,
                    struct jit_rego_error *error)
{
	struct rego_eval *ev = &eval->ev;
	int r = rego_eval_begin(ev, query->policy, input ? input->value : NULL);
	if (r < 0)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	json_t *rows = json_array();
	if (!rows)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	if (query->node) {
		const struct rego_value *v;
		r = rego_eval_node(ev, query->node, &v);
		if (r >= 0 && v) {
			json_t *row = json_object();
			json_t *j = rego_to_json(v);
			if (!row || !j || json_object_set_new(row, "result", j) < 0 ||
			    json_array_append_new(rows, row) < 0)
				r = -ENOMEM;
		}
	} else {
		struct rows_ctx rc = { query, rows };
		r = rego_eval_query_body(ev, query, add_row, &rc);
	}
	if (r < 0) {
		json_decref(rows);
		return eval_failed(ev, r, error);
	}
	clear_error(error);
	*ret_results = rows;
	return 0;
}

struct rule_value_ctx {
	const struct rego_value *value;
	uint32_t slot;
};

static int
take_rule_value(struct rego_eval *ev, const struct rego_value **slots, void *ctx)
{
	struct rule_value_ctx *rv = ctx;
	rv->value = slots[rv->slot];
	return 1;
}

/* Evaluates a rule query to its value (NULL: undefined), living in the evaluation arena. */
static int
eval_rule_value(struct jit_rego_eval *eval, struct jit_rego_query *query,
                const struct jit_rego_input *input, const struct rego_value **ret,
                struct jit_rego_error *error)
{
	struct rego_eval *ev = &eval->ev;
	int r = rego_eval_begin(ev, query->policy, input ? input->value : NULL);
	if (r < 0)
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	*ret = NULL;
	if (query->node) {
		r = rego_eval_node(ev, query->node, ret);
	} else {
		if (query->var_count == 0)
			return set_error(error, JIT_REGO_INVALID_ARGUMENT, "not a rule query");
		struct rule_value_ctx rv = { NULL, query->var_slots[0] };
		r = rego_eval_query_body(ev, query, take_rule_value, &rv);
		*ret = rv.value;
	}
	if (r < 0)
		return eval_failed(ev, r, error);
	clear_error(error);
	return 0;
}

int
jit_rego_eval_rule(struct jit_rego_eval *eval, struct jit_rego_query *query,
                   const struct jit_rego_input *input, json_t **ret_value,
                   struct jit_rego_error *error)
{
	const struct rego_value *v;
	int r = eval_rule_value(eval, query, input, &v, error);
	if (r < 0)
		return r;
	*ret_value = NULL;
	if (v && !(*ret_value = rego_to_json(v)))
		return set_error(error, JIT_REGO_INTERNAL_ERROR, "out of memory");
	return 0;
}

int
jit_rego_eval_bool(struct jit_rego_eval *eval, struct jit_rego_query *query,
                   const struct jit_rego_input *input, bool *ret_allowed,
                   struct jit_rego_error *error)
{
	const struct rego_value *v;
	int r = eval_rule_value(eval, query, input, &v, error);
	if (r < 0)
		return r;
	*ret_allowed = v && v->type == REGO_BOOLEAN && v->u.boolean;
	return 0;
}
