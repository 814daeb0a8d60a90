/* Compiler: turns parsed modules into the document tree and compiled rule bodies. Resolves
 * every name (locals to frame slots, rules to tree nodes, calls to built-ins or functions),
 * reorders body expressions so that variables are bound before use (OPA's safety rule), and
 * folds constant composites. Trusts the parser's tree; reports errors with module:line:col. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/rego/compile.h"

/* Bounds on what one policy may ask of the compiler and of the evaluator's stack. */
#define REGO_MAX_BODY_EXPRS 1000 /* expressions in one body */
#define REGO_MAX_TERM_ITEMS 1000 /* non-constant items of one composite, call or ref */
#define REGO_MAX_SLOTS 8192      /* variables of one rule or query */
#define REGO_MAX_RULE_EXPRS 4000 /* expressions of one rule, nested bodies included */

struct scope_var {
	const char *name;
	uint32_t slot;
};

struct scope {
	struct scope *parent;
	struct scope_var *vars;
	uint32_t length, capacity;
	uint32_t first_slot; /* slots >= this were allocated inside this scope */
};

struct compiler {
	struct jit_rego_policy *policy;
	struct rego_arena *arena;
	struct jit_rego_error *error;
	struct rego_module *module;
	struct doc_node *package;
	bool v1;
	struct scope *scope;
	uint32_t next_slot;
	const char **slot_names;        /* for messages */
	uint32_t expr_count;            /* expressions compiled for the current rule */
	const struct rego_value **skip; /* names (as char *) pass 1 must not declare */
	size_t skip_count;
	uint32_t slot_names_capacity;
};

static void record_compile_error(struct compiler *c, struct rego_loc loc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Records the first compile error; compile_error() also evaluates to JIT_ERR_INVALID, to
 * return. A macro, so that the static analyzer, which does not follow calls into variadic
 * functions, sees that the code is negative. */
#define compile_error(c, loc, ...) (record_compile_error((c), (loc), __VA_ARGS__), JIT_ERR_INVALID)

static void
record_compile_error(struct compiler *c, struct rego_loc loc, const char *fmt, ...)
{
	if (c->error && c->error->code == JIT_REGO_OK) {
		char msg[384];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		const char *name = c->module ? c->module->name : "query";
		c->error->code = JIT_REGO_COMPILE_ERROR;
		c->error->line = loc.line;
		c->error->column = loc.column;
		snprintf(c->error->module, sizeof(c->error->module), "%s", name ? name : "");
		snprintf(c->error->message, sizeof(c->error->message),
		         "%s:%u:%u: rego_compile_error: %s", name ? name : "", loc.line, loc.column,
		         msg);
	}
}

static int
out_of_memory(struct compiler *c)
{
	if (c->error && c->error->code == JIT_REGO_OK) {
		c->error->code = JIT_REGO_INTERNAL_ERROR;
		snprintf(c->error->message, sizeof(c->error->message), "out of memory");
	}
	return -ENOMEM;
}

/* ---- document tree --------------------------------------------------------------------- */

struct doc_node *
rego_doc_child_value(const struct doc_node *node, const struct rego_value *key)
{
	uint32_t lo = 0, hi = node->child_count;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int r = rego_compare(node->children[mid]->key, key);
		if (r == 0)
			return node->children[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct doc_node *
rego_doc_child(const struct doc_node *node, const char *key, size_t len)
{
	struct rego_value v = { .type = REGO_STRING, .length = (uint32_t)len, .u.string = key };
	return rego_doc_child_value(node, &v);
}

static struct doc_node *
doc_node_new(struct compiler *c, struct doc_node *parent, const struct rego_value *key)
{
	struct doc_node *n = rego_arena_zalloc(c->arena, sizeof(*n));
	if (!n)
		return NULL;
	n->key = key;
	n->parent = parent;
	n->id = c->policy->node_count++;
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, c->arena);
	if (!parent) {
		rego_strbuf_append(&sb, "data", 4);
	} else {
		rego_strbuf_append(&sb, parent->path, strlen(parent->path));
		if (key->type == REGO_STRING) {
			rego_strbuf_append(&sb, ".", 1);
			rego_strbuf_append(&sb, key->u.string, key->length);
		} else {
			rego_strbuf_append(&sb, "[", 1);
			rego_format_rego(&sb, key);
			rego_strbuf_append(&sb, "]", 1);
		}
	}
	n->path = sb.data ? sb.data : "data";
	return n;
}

/* Returns the child for `key`, creating it when absent. */
static struct doc_node *
doc_node_child(struct compiler *c, struct doc_node *node, const struct rego_value *key)
{
	uint32_t lo = 0, hi = node->child_count;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int r = rego_compare(node->children[mid]->key, key);
		if (r == 0)
			return node->children[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (node->child_count == node->child_capacity) {
		uint32_t cap = node->child_capacity ? node->child_capacity * 2 : 4;
		void *p = rego_arena_realloc(c->arena, node->children,
		                             node->child_capacity * sizeof(*node->children),
		                             cap * sizeof(*node->children));
		if (!p)
			return NULL;
		node->children = p;
		node->child_capacity = cap;
	}
	struct doc_node *child = doc_node_new(c, node, key);
	if (!child)
		return NULL;
	memmove(node->children + lo + 1, node->children + lo,
	        (node->child_count - lo) * sizeof(*node->children));
	node->children[lo] = child;
	node->child_count++;
	return child;
}

static int
doc_node_add_rule(struct compiler *c, struct doc_node *node, struct crule *rule)
{
	if (node->rule_count == node->rule_capacity) {
		uint32_t cap = node->rule_capacity ? node->rule_capacity * 2 : 4;
		void *p = rego_arena_realloc(c->arena, node->rules,
		                             node->rule_capacity * sizeof(*node->rules),
		                             cap * sizeof(*node->rules));
		if (!p)
			return out_of_memory(c);
		node->rules = p;
		node->rule_capacity = cap;
	}
	node->rules[node->rule_count++] = rule;
	for (struct doc_node *p = node->parent; p; p = p->parent)
		p->has_rules_below = true;
	return 0;
}

/* ---- scopes ---------------------------------------------------------------------------- */

static uint32_t
slot_new(struct compiler *c, const char *name)
{
	uint32_t slot = c->next_slot++;
	if (slot >= c->slot_names_capacity) {
		uint32_t cap = c->slot_names_capacity ? c->slot_names_capacity * 2 : 32;
		void *p = rego_arena_realloc(c->arena, c->slot_names,
		                             c->slot_names_capacity * sizeof(*c->slot_names),
		                             cap * sizeof(*c->slot_names));
		if (p) {
			c->slot_names = p;
			c->slot_names_capacity = cap;
		}
	}
	if (slot < c->slot_names_capacity)
		c->slot_names[slot] = name;
	return slot;
}

static const char *
slot_name(struct compiler *c, uint32_t slot)
{
	if (slot < c->slot_names_capacity && c->slot_names[slot])
		return c->slot_names[slot];
	return "_";
}

static int
scope_declare(struct compiler *c, struct scope *s, const char *name, uint32_t *ret_slot)
{
	if (s->length == s->capacity) {
		uint32_t cap = s->capacity ? s->capacity * 2 : 8;
		void *p = rego_arena_realloc(c->arena, s->vars, s->capacity * sizeof(*s->vars),
		                             cap * sizeof(*s->vars));
		if (!p)
			return out_of_memory(c);
		s->vars = p;
		s->capacity = cap;
	}
	uint32_t slot = slot_new(c, name);
	s->vars[s->length].name = name;
	s->vars[s->length].slot = slot;
	s->length++;
	if (ret_slot)
		*ret_slot = slot;
	return 0;
}

static bool
scope_find_local(const struct scope *s, const char *name, uint32_t *ret_slot)
{
	for (uint32_t i = s->length; i > 0; i--)
		if (strcmp(s->vars[i - 1].name, name) == 0) {
			*ret_slot = s->vars[i - 1].slot;
			return true;
		}
	return false;
}

static bool
scope_find(const struct scope *s, const char *name, uint32_t *ret_slot)
{
	for (; s; s = s->parent)
		if (scope_find_local(s, name, ret_slot))
			return true;
	return false;
}

/* Opens a nested scope (allocated in the arena); NULL when out of memory. */
static struct scope *
scope_push(struct compiler *c)
{
	struct scope *s = rego_arena_zalloc(c->arena, sizeof(*s));
	if (!s)
		return NULL;
	s->parent = c->scope;
	s->first_slot = c->next_slot;
	c->scope = s;
	return s;
}

static void
scope_pop(struct compiler *c)
{
	c->scope = c->scope->parent;
}

static bool
is_wildcard(const char *name)
{
	return name[0] == '_' && name[1] == '\0';
}

/* ---- name resolution helpers ----------------------------------------------------------- */

static const struct rego_import *
find_import(struct compiler *c, const char *name)
{
	if (!c->module)
		return NULL;
	for (uint32_t i = 0; i < c->module->import_count; i++) {
		const struct rego_import *imp = &c->module->imports[i];
		const char *alias = imp->alias;
		const struct rego_term *path = imp->path;
		const char *root =
		        path->kind == REGO_TERM_VAR ? path->u.var.name
		        : path->kind == REGO_TERM_REF && path->u.ref.head->kind == REGO_TERM_VAR
		                ? path->u.ref.head->u.var.name
		                : "";
		if (strcmp(root, "data") != 0 && strcmp(root, "input") != 0)
			continue;
		if (!alias) {
			if (path->kind == REGO_TERM_VAR) {
				alias = path->u.var.name;
			} else {
				const struct rego_term *last =
				        path->u.ref.segments.items[path->u.ref.segments.length - 1];
				if (last->kind != REGO_TERM_SCALAR ||
				    last->u.value->type != REGO_STRING)
					continue;
				alias = last->u.value->u.string;
			}
		}
		if (strcmp(alias, name) == 0)
			return imp;
	}
	return NULL;
}

static bool
package_has(struct compiler *c, const char *name)
{
	if (!c->package)
		return false;
	struct doc_node *n = rego_doc_child(c->package, name, strlen(name));
	return n && (n->rule_count > 0 || n->has_rules_below || n->default_rule);
}

/* Is `name` something other than a local variable in this module (input, data, an import or a
 * rule of the package)? */
static bool
name_is_global(struct compiler *c, const char *name)
{
	return strcmp(name, "input") == 0 || strcmp(name, "data") == 0 || find_import(c, name) ||
	       package_has(c, name);
}

/* ---- terms ----------------------------------------------------------------------------- */

static struct cterm *
cterm_new(struct compiler *c, enum cterm_kind kind, struct rego_loc loc)
{
	struct cterm *t = rego_arena_zalloc(c->arena, sizeof(*t));
	if (!t)
		return NULL;
	t->kind = kind;
	t->loc = loc;
	return t;
}

static struct cterm *
cterm_value(struct compiler *c, const struct rego_value *v, struct rego_loc loc)
{
	struct cterm *t = cterm_new(c, CT_VALUE, loc);
	if (t) {
		t->u.value = v;
		t->ground = true;
	}
	return t;
}

static int compile_term(struct compiler *c, const struct rego_term *term, struct cterm **ret);
static int compile_body(struct compiler *c, const struct rego_body *body, struct cbody **ret);

/* Pre-declares the variables of a body so that nested closures see them (pass 1). */
static int predeclare_term(struct compiler *c, const struct rego_term *t);

static int
predeclare_name(struct compiler *c, const char *name)
{
	uint32_t slot;
	if (is_wildcard(name) || scope_find(c->scope, name, &slot) || name_is_global(c, name))
		return 0;
	for (size_t i = 0; i < c->skip_count; i++)
		if (strcmp((const char *)c->skip[i], name) == 0)
			return 0;
	return scope_declare(c, c->scope, name, NULL);
}

static int
predeclare_list(struct compiler *c, const struct rego_term_list *l)
{
	int r = 0;
	for (uint32_t i = 0; i < l->length && r == 0; i++)
		r = predeclare_term(c, l->items[i]);
	return r;
}

static int
predeclare_term(struct compiler *c, const struct rego_term *t)
{
	int r = 0;
	if (!t)
		return 0;
	switch (t->kind) {
	case REGO_TERM_VAR:
		return predeclare_name(c, t->u.var.name);
	case REGO_TERM_REF:
		if (t->u.ref.head->kind != REGO_TERM_VAR)
			r = predeclare_term(c, t->u.ref.head);
		else
			r = predeclare_name(c, t->u.ref.head->u.var.name);
		if (r == 0)
			r = predeclare_list(c, &t->u.ref.segments);
		return r;
	case REGO_TERM_ARRAY:
	case REGO_TERM_SET:
		return predeclare_list(c, &t->u.list);
	case REGO_TERM_TEMPLATE:
		return predeclare_list(c, &t->u.tmpl.parts);
	case REGO_TERM_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length && r == 0; i++) {
			r = predeclare_term(c, t->u.object.keys[i]);
			if (r == 0)
				r = predeclare_term(c, t->u.object.values[i]);
		}
		return r;
	case REGO_TERM_CALL:
		return predeclare_list(c, &t->u.call.args);
	default:
		return 0; /* scalars; comprehensions have their own scope */
	}
}

static int
declare_pattern_vars(struct compiler *c, const struct rego_term *t)
{
	int r = 0;
	if (!t)
		return 0;
	switch (t->kind) {
	case REGO_TERM_VAR:
		if (is_wildcard(t->u.var.name))
			return 0;
		return scope_declare(c, c->scope, t->u.var.name, NULL);
	case REGO_TERM_ARRAY:
		for (uint32_t i = 0; i < t->u.list.length && r == 0; i++)
			r = declare_pattern_vars(c, t->u.list.items[i]);
		return r;
	case REGO_TERM_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length && r == 0; i++)
			r = declare_pattern_vars(c, t->u.object.values[i]);
		return r;
	default:
		return 0;
	}
}

/* Adds the names a pattern declares (`x`, `[a, b]`, `{"k": v}`) to `out`. */
static int
collect_pattern_names(struct compiler *c, const struct rego_term *t, struct rego_vec *out)
{
	int r = 0;
	if (!t)
		return 0;
	switch (t->kind) {
	case REGO_TERM_VAR:
		if (is_wildcard(t->u.var.name))
			return 0;
		return rego_vec_push(out, (const struct rego_value *)t->u.var.name) < 0
		               ? out_of_memory(c)
		               : 0;
	case REGO_TERM_ARRAY:
		for (uint32_t i = 0; i < t->u.list.length && r == 0; i++)
			r = collect_pattern_names(c, t->u.list.items[i], out);
		return r;
	case REGO_TERM_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length && r == 0; i++)
			r = collect_pattern_names(c, t->u.object.values[i], out);
		return r;
	default:
		return 0;
	}
}

/* Pass 1 over a body: declares its unification variables up front, so that closures written
 * before the expression that binds a variable still see it. Variables declared with `:=`,
 * `some` or `some ... in` are left out: they exist from their declaration on (declared by
 * compile_expr), as OPA scopes them. */
static int
predeclare_body(struct compiler *c, const struct rego_body *body)
{
	int r = 0;
	struct rego_vec declared;
	rego_vec_init(&declared, c->arena);
	for (uint32_t i = 0; i < body->length && r == 0; i++) {
		const struct rego_expr *e = body->exprs[i];
		if (e->kind == REGO_EXPR_SOME) {
			for (uint32_t k = 0; k < e->u.some.vars.length && r == 0; k++)
				r = collect_pattern_names(c, e->u.some.vars.items[k], &declared);
		} else if (e->kind == REGO_EXPR_ASSIGN) {
			r = collect_pattern_names(c, e->u.binary.lhs, &declared);
		} else if (e->kind == REGO_EXPR_SOME_IN) {
			r = collect_pattern_names(c, e->u.some_in.key, &declared);
			if (r == 0)
				r = collect_pattern_names(c, e->u.some_in.value, &declared);
		}
	}
	if (r < 0)
		return r;
	const struct rego_value **saved_skip = c->skip;
	size_t saved_count = c->skip_count;
	c->skip = declared.items;
	c->skip_count = declared.length;
	for (uint32_t i = 0; i < body->length && r == 0; i++) {
		const struct rego_expr *e = body->exprs[i];
		switch (e->kind) {
		case REGO_EXPR_TERM:
			r = predeclare_term(c, e->u.term);
			break;
		case REGO_EXPR_UNIFY:
			r = predeclare_term(c, e->u.binary.lhs);
			if (r == 0)
				r = predeclare_term(c, e->u.binary.rhs);
			break;
		case REGO_EXPR_ASSIGN:
			r = predeclare_term(c, e->u.binary.rhs);
			break;
		case REGO_EXPR_SOME_IN:
			r = predeclare_term(c, e->u.some_in.collection);
			break;
		case REGO_EXPR_EVERY:
			r = predeclare_term(c, e->u.every.domain);
			break;
		default:
			break;
		}
		/* A with value that is a bare name replaces a function: it declares nothing. */
		for (uint32_t w = 0; w < e->with_count && r == 0; w++)
			if (e->with[w].value->kind != REGO_TERM_VAR &&
			    e->with[w].value->kind != REGO_TERM_REF)
				r = predeclare_term(c, e->with[w].value);
	}
	c->skip = saved_skip;
	c->skip_count = saved_count;
	return r;
}

/* Folds a composite whose members are all constants into one constant. */
static struct cterm *
fold_constant(struct compiler *c, struct cterm *t)
{
	const struct rego_value *v = NULL;
	if (t->kind == CT_ARRAY || t->kind == CT_SET) {
		const struct rego_value **items =
		        rego_arena_alloc(c->arena, (t->u.list.length + 1) * sizeof(*items));
		if (!items)
			return t;
		for (uint32_t i = 0; i < t->u.list.length; i++) {
			if (t->u.list.items[i]->kind != CT_VALUE)
				return t;
			items[i] = t->u.list.items[i]->u.value;
		}
		v = t->kind == CT_ARRAY ? rego_array(c->arena, items, t->u.list.length)
		                        : rego_set(c->arena, items, t->u.list.length);
	} else if (t->kind == CT_OBJECT) {
		struct rego_member *members =
		        rego_arena_alloc(c->arena, (t->u.object.length + 1) * sizeof(*members));
		if (!members)
			return t;
		for (uint32_t i = 0; i < t->u.object.length; i++) {
			if (t->u.object.keys[i]->kind != CT_VALUE ||
			    t->u.object.values[i]->kind != CT_VALUE)
				return t;
			members[i].key = t->u.object.keys[i]->u.value;
			members[i].value = t->u.object.values[i]->u.value;
		}
		/* A key written twice keeps its last value (rego_object), as at run time. */
		v = rego_object(c->arena, members, t->u.object.length);
	}
	if (!v)
		return t;
	t->kind = CT_VALUE;
	t->u.value = v;
	t->ground = true;
	return t;
}

static int
compile_list(struct compiler *c, const struct rego_term_list *l, struct cterm ***ret_items,
             bool *ret_ground)
{
	struct cterm **items = rego_arena_alloc(c->arena, (l->length + 1) * sizeof(*items));
	if (!items)
		return out_of_memory(c);
	bool ground = true;
	uint32_t variable = 0;
	for (uint32_t i = 0; i < l->length; i++) {
		int r = compile_term(c, l->items[i], &items[i]);
		if (r < 0)
			return r;
		ground = ground && items[i]->ground;
		if (items[i]->kind != CT_VALUE && ++variable > REGO_MAX_TERM_ITEMS)
			return compile_error(c, l->items[i]->loc,
			                     "more than %d non-constant items in one term",
			                     REGO_MAX_TERM_ITEMS);
	}
	*ret_items = items;
	*ret_ground = ground;
	return 0;
}

/* Builds a data reference from a node and the remaining segments. */
static int
make_data_ref(struct compiler *c, struct doc_node *node, struct cterm **segments, uint32_t n,
              struct rego_loc loc, struct cterm **ret)
{
	/* Walk constant segments down the tree while nodes exist. */
	uint32_t i = 0;
	/* Stop at rules with variables in their heads: they may define documents below. */
	while (i < n && segments[i]->kind == CT_VALUE &&
	       !(node->rule_count && node->rule_kind == CR_OBJECT)) {
		struct doc_node *child = rego_doc_child_value(node, segments[i]->u.value);
		if (!child)
			break;
		node = child;
		i++;
	}
	struct cterm *base = cterm_new(c, CT_DATA, loc);
	if (!base)
		return out_of_memory(c);
	base->u.node = node;
	base->ground = true;
	if (i == n) {
		*ret = base;
		return 0;
	}
	struct cterm *ref = cterm_new(c, CT_REF, loc);
	if (!ref)
		return out_of_memory(c);
	ref->u.ref.base = base;
	ref->u.ref.segments = segments + i;
	ref->u.ref.length = n - i;
	ref->ground = true;
	for (uint32_t k = i; k < n; k++)
		ref->ground = ref->ground && segments[k]->ground;
	*ret = ref;
	return 0;
}

/* Resolves a variable used as a value or ref head. */
static int
compile_var(struct compiler *c, const struct rego_term *term, struct cterm **ret)
{
	const char *name = term->u.var.name;
	uint32_t slot;
	struct cterm *t;
	if (is_wildcard(name)) {
		t = cterm_new(c, CT_LOCAL, term->loc);
		if (!t)
			return out_of_memory(c);
		t->u.slot = slot_new(c, "_");
		*ret = t;
		return 0;
	}
	if (scope_find(c->scope, name, &slot)) {
		t = cterm_new(c, CT_LOCAL, term->loc);
		if (!t)
			return out_of_memory(c);
		t->u.slot = slot;
		*ret = t;
		return 0;
	}
	if (strcmp(name, "input") == 0) {
		t = cterm_new(c, CT_INPUT, term->loc);
		if (!t)
			return out_of_memory(c);
		t->ground = true;
		*ret = t;
		return 0;
	}
	if (strcmp(name, "data") == 0)
		return make_data_ref(c, c->policy->root, NULL, 0, term->loc, ret);
	const struct rego_import *imp = find_import(c, name);
	if (imp)
		return compile_term(c, imp->path, ret);
	if (package_has(c, name)) {
		struct cterm *seg = cterm_value(c, rego_string_cstr(c->arena, name), term->loc);
		struct cterm **segs = rego_arena_alloc(c->arena, sizeof(*segs));
		if (!seg || !segs)
			return out_of_memory(c);
		segs[0] = seg;
		return make_data_ref(c, c->package, segs, 1, term->loc, ret);
	}
	/* An unknown name in a position where it cannot be declared (e.g. a with value or a
	 * rule head): declare it here; the safety check reports it if nothing binds it. */
	int r = scope_declare(c, c->scope, name, &slot);
	if (r < 0)
		return r;
	t = cterm_new(c, CT_LOCAL, term->loc);
	if (!t)
		return out_of_memory(c);
	t->u.slot = slot;
	*ret = t;
	return 0;
}

static int
compile_ref(struct compiler *c, const struct rego_term *term, struct cterm **ret)
{
	struct cterm *base;
	struct cterm **segs;
	bool ground;
	int r = compile_list(c, &term->u.ref.segments, &segs, &ground);
	if (r < 0)
		return r;
	uint32_t n = term->u.ref.segments.length;
	if ((r = term->u.ref.head->kind == REGO_TERM_VAR
	                 ? compile_var(c, term->u.ref.head, &base)
	                 : compile_term(c, term->u.ref.head, &base)) < 0)
		return r;
	if (base->kind == CT_DATA)
		return make_data_ref(c, base->u.node, segs, n, term->loc, ret);
	if (base->kind == CT_REF && base->u.ref.base->kind == CT_DATA) {
		/* An import or rule alias that expanded to a data ref: extend it. */
		uint32_t m = base->u.ref.length;
		struct cterm **all = rego_arena_alloc(c->arena, (m + n + 1) * sizeof(*all));
		if (!all)
			return out_of_memory(c);
		memcpy(all, base->u.ref.segments, m * sizeof(*all));
		memcpy(all + m, segs, n * sizeof(*all));
		return make_data_ref(c, base->u.ref.base->u.node, all, m + n, term->loc, ret);
	}
	if (base->kind == CT_REF) {
		uint32_t m = base->u.ref.length;
		struct cterm **all = rego_arena_alloc(c->arena, (m + n + 1) * sizeof(*all));
		if (!all)
			return out_of_memory(c);
		memcpy(all, base->u.ref.segments, m * sizeof(*all));
		memcpy(all + m, segs, n * sizeof(*all));
		segs = all;
		n += m;
		ground = ground && base->ground;
		base = base->u.ref.base;
	}
	struct cterm *t = cterm_new(c, CT_REF, term->loc);
	if (!t)
		return out_of_memory(c);
	t->u.ref.base = base;
	t->u.ref.segments = segs;
	t->u.ref.length = n;
	t->ground = ground && base->ground;
	*ret = t;
	return 0;
}

/* Dotted name of a callee: `count`, `strings.replace_n`, `data.lib.f`. */
static int
callee_name(struct compiler *c, const struct rego_term *fn, struct rego_strbuf *sb)
{
	if (fn->kind == REGO_TERM_VAR)
		return rego_strbuf_append(sb, fn->u.var.name, strlen(fn->u.var.name));
	if (fn->kind != REGO_TERM_REF || fn->u.ref.head->kind != REGO_TERM_VAR)
		return JIT_ERR_INVALID;
	int r = rego_strbuf_append(sb, fn->u.ref.head->u.var.name,
	                           strlen(fn->u.ref.head->u.var.name));
	for (uint32_t i = 0; i < fn->u.ref.segments.length && r == 0; i++) {
		const struct rego_term *s = fn->u.ref.segments.items[i];
		if (s->kind != REGO_TERM_SCALAR || s->u.value->type != REGO_STRING)
			return JIT_ERR_INVALID;
		r = rego_strbuf_append(sb, ".", 1);
		if (r == 0)
			r = rego_strbuf_append(sb, s->u.value->u.string, s->u.value->length);
	}
	return r;
}

/* Finds the function node a callee names, if any. */
static struct doc_node *
resolve_function(struct compiler *c, const struct rego_term *fn)
{
	const char *head = fn->kind == REGO_TERM_VAR ? fn->u.var.name
	                   : fn->kind == REGO_TERM_REF && fn->u.ref.head->kind == REGO_TERM_VAR
	                           ? fn->u.ref.head->u.var.name
	                           : NULL;
	if (!head)
		return NULL;
	uint32_t slot;
	if (scope_find(c->scope, head, &slot))
		return NULL;
	struct doc_node *node = NULL;
	const struct rego_import *imp;
	if (strcmp(head, "data") == 0) {
		node = c->policy->root;
	} else if ((imp = find_import(c, head)) != NULL) {
		const struct rego_term *p = imp->path;
		if (p->kind != REGO_TERM_REF || p->u.ref.head->kind != REGO_TERM_VAR ||
		    strcmp(p->u.ref.head->u.var.name, "data") != 0)
			return NULL;
		node = c->policy->root;
		for (uint32_t i = 0; i < p->u.ref.segments.length && node; i++) {
			const struct rego_term *s = p->u.ref.segments.items[i];
			if (s->kind != REGO_TERM_SCALAR)
				return NULL;
			node = rego_doc_child_value(node, s->u.value);
		}
	} else if (c->package) {
		node = rego_doc_child(c->package, head, strlen(head));
	}
	if (!node)
		return NULL;
	if (fn->kind == REGO_TERM_REF) {
		for (uint32_t i = 0; i < fn->u.ref.segments.length && node; i++) {
			const struct rego_term *s = fn->u.ref.segments.items[i];
			if (s->kind != REGO_TERM_SCALAR)
				return NULL;
			node = rego_doc_child_value(node, s->u.value);
		}
	}
	if (node && node->rule_count > 0 && node->rule_kind == CR_FUNCTION)
		return node;
	if (node && node->default_rule && node->default_rule->kind == CR_FUNCTION)
		return node;
	return NULL;
}

static const struct {
	const char *name;
	uint8_t kind;
	uint8_t arity;
} inline_calls[] = {
	{ "equal", CALL_EQUAL, 2 },
	{ "neq", CALL_NEQ, 2 },
	{ "lt", CALL_LT, 2 },
	{ "lte", CALL_LTE, 2 },
	{ "gt", CALL_GT, 2 },
	{ "gte", CALL_GTE, 2 },
	{ "internal.member_2", CALL_MEMBER2, 2 },
	{ "internal.member_3", CALL_MEMBER3, 3 },
	{ "walk", CALL_WALK, 1 },
	{ "print", CALL_PRINT, 255 },
	{ "internal.print", CALL_PRINT, 255 },
	{ "trace", CALL_TRACE, 1 },
};

static int
compile_call(struct compiler *c, const struct rego_term *term, struct cterm **ret)
{
	struct cterm *t = cterm_new(c, CT_CALL, term->loc);
	if (!t)
		return out_of_memory(c);
	struct rego_strbuf name;
	rego_strbuf_init(&name, c->arena);
	if (callee_name(c, term->u.call.fn, &name) < 0 || !name.data)
		return compile_error(c, term->loc, "invalid function name");
	t->u.call.name = name.data;
	bool ground;
	int r = compile_list(c, &term->u.call.args, &t->u.call.args, &ground);
	if (r < 0)
		return r;
	t->u.call.length = term->u.call.args.length;
	struct doc_node *fn = resolve_function(c, term->u.call.fn);
	if (fn) {
		t->u.call.kind = CALL_FUNCTION;
		t->u.call.node = fn;
		t->u.call.arity = fn->arity;
	} else {
		bool found = false;
		for (size_t i = 0; i < sizeof(inline_calls) / sizeof(inline_calls[0]); i++) {
			if (strcmp(inline_calls[i].name, name.data) == 0) {
				t->u.call.kind = inline_calls[i].kind;
				t->u.call.arity = inline_calls[i].arity == 255
				                          ? t->u.call.length
				                          : inline_calls[i].arity;
				found = true;
				break;
			}
		}
		const struct rego_builtin *b = rego_builtin_lookup(name.data, name.length, c->v1);
		if (b) {
			t->u.call.builtin = b;
			if (!found) {
				t->u.call.kind = CALL_BUILTIN;
				t->u.call.arity = b->arity;
			}
		} else if (!found) {
			return compile_error(c, term->loc, "undefined function %s", name.data);
		}
	}
	if (t->u.call.length != t->u.call.arity && t->u.call.length != t->u.call.arity + 1)
		return compile_error(c, term->loc, "function %s has arity %u, got %u arguments",
		                     name.data, t->u.call.arity, t->u.call.length);
	t->ground = false;
	*ret = t;
	return 0;
}

static int
compile_comprehension(struct compiler *c, const struct rego_term *term, struct cterm **ret)
{
	enum cterm_kind kind = term->kind == REGO_TERM_ARRAY_COMPR ? CT_ARRAY_COMPR
	                       : term->kind == REGO_TERM_SET_COMPR ? CT_SET_COMPR
	                                                           : CT_OBJECT_COMPR;
	struct cterm *t = cterm_new(c, kind, term->loc);
	if (!t)
		return out_of_memory(c);
	if (!scope_push(c))
		return out_of_memory(c);
	int r = predeclare_body(c, term->u.compr.body);
	if (r == 0 && term->u.compr.key)
		r = predeclare_term(c, term->u.compr.key);
	if (r == 0)
		r = predeclare_term(c, term->u.compr.head);
	if (r == 0)
		r = compile_body(c, term->u.compr.body, &t->u.compr.body);
	if (r == 0 && term->u.compr.key)
		r = compile_term(c, term->u.compr.key, &t->u.compr.key);
	if (r == 0)
		r = compile_term(c, term->u.compr.head, &t->u.compr.head);
	t->u.compr.first_slot = c->scope->first_slot;
	t->u.compr.end_slot = c->next_slot;
	scope_pop(c);
	*ret = t;
	return r;
}

static int
compile_term(struct compiler *c, const struct rego_term *term, struct cterm **ret)
{
	struct cterm *t;
	int r;
	switch (term->kind) {
	case REGO_TERM_SCALAR:
		t = cterm_value(c, term->u.value, term->loc);
		if (!t)
			return out_of_memory(c);
		*ret = t;
		return 0;
	case REGO_TERM_VAR:
		return compile_var(c, term, ret);
	case REGO_TERM_REF:
		return compile_ref(c, term, ret);
	case REGO_TERM_ARRAY:
	case REGO_TERM_SET:
	case REGO_TERM_TEMPLATE:
		t = cterm_new(c,
		              term->kind == REGO_TERM_ARRAY ? CT_ARRAY
		              : term->kind == REGO_TERM_SET ? CT_SET
		                                            : CT_TEMPLATE,
		              term->loc);
		if (!t)
			return out_of_memory(c);
		{
			const struct rego_term_list *l = term->kind == REGO_TERM_TEMPLATE
			                                         ? &term->u.tmpl.parts
			                                         : &term->u.list;
			if ((r = compile_list(c, l, &t->u.list.items, &t->ground)) < 0)
				return r;
			t->u.list.length = l->length;
		}
		*ret = t->kind == CT_TEMPLATE ? t : fold_constant(c, t);
		return 0;
	case REGO_TERM_OBJECT: {
		uint32_t n = term->u.object.length;
		t = cterm_new(c, CT_OBJECT, term->loc);
		if (!t)
			return out_of_memory(c);
		t->u.object.keys = rego_arena_alloc(c->arena, (n + 1) * sizeof(struct cterm *));
		t->u.object.values = rego_arena_alloc(c->arena, (n + 1) * sizeof(struct cterm *));
		if (!t->u.object.keys || !t->u.object.values)
			return out_of_memory(c);
		t->u.object.length = n;
		t->ground = true;
		for (uint32_t i = 0; i < n; i++) {
			if ((r = compile_term(c, term->u.object.keys[i], &t->u.object.keys[i])) < 0)
				return r;
			if ((r = compile_term(c, term->u.object.values[i],
			                      &t->u.object.values[i])) < 0)
				return r;
			t->ground = t->ground && t->u.object.keys[i]->ground &&
			            t->u.object.values[i]->ground;
		}
		*ret = fold_constant(c, t);
		return 0;
	}
	case REGO_TERM_ARRAY_COMPR:
	case REGO_TERM_SET_COMPR:
	case REGO_TERM_OBJECT_COMPR:
		return compile_comprehension(c, term, ret);
	case REGO_TERM_CALL:
		return compile_call(c, term, ret);
	}
	return compile_error(c, term->loc, "unsupported term");
}

/* ---- variable sets and safety ---------------------------------------------------------- */

struct slotset {
	uint64_t *bits;
	uint32_t words;
};

static bool
slotset_has(const struct slotset *s, uint32_t slot)
{
	return slot / 64 < s->words && (s->bits[slot / 64] >> (slot % 64)) & 1;
}

static void
slotset_add(struct slotset *s, uint32_t slot)
{
	if (slot / 64 < s->words)
		s->bits[slot / 64] |= 1ull << (slot % 64);
}

static int
slotset_init(struct compiler *c, struct slotset *s)
{
	s->words = (c->next_slot + 63) / 64 + 1;
	s->bits = rego_arena_zalloc(c->arena, s->words * sizeof(uint64_t));
	return s->bits ? 0 : out_of_memory(c);
}

static void
slotset_copy(struct slotset *dst, const struct slotset *src)
{
	memcpy(dst->bits, src->bits, src->words * sizeof(uint64_t));
}

/* Collects every local slot the term mentions (free variables of closures included). */
static void body_all_slots(const struct cbody *b, struct slotset *out);

static void
term_all_slots(const struct cterm *t, struct slotset *out)
{
	if (!t)
		return;
	switch (t->kind) {
	case CT_LOCAL:
		slotset_add(out, t->u.slot);
		return;
	case CT_REF:
		term_all_slots(t->u.ref.base, out);
		for (uint32_t i = 0; i < t->u.ref.length; i++)
			term_all_slots(t->u.ref.segments[i], out);
		return;
	case CT_ARRAY:
	case CT_SET:
	case CT_TEMPLATE:
		for (uint32_t i = 0; i < t->u.list.length; i++)
			term_all_slots(t->u.list.items[i], out);
		return;
	case CT_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length; i++) {
			term_all_slots(t->u.object.keys[i], out);
			term_all_slots(t->u.object.values[i], out);
		}
		return;
	case CT_ARRAY_COMPR:
	case CT_SET_COMPR:
	case CT_OBJECT_COMPR: {
		/* Only the free variables: the closure's own slots are not visible outside. */
		term_all_slots(t->u.compr.key, out);
		term_all_slots(t->u.compr.head, out);
		body_all_slots(t->u.compr.body, out);
		for (uint32_t sl = t->u.compr.first_slot; sl < t->u.compr.end_slot; sl++)
			if (sl / 64 < out->words)
				out->bits[sl / 64] &= ~(1ull << (sl % 64));
		return;
	}
	case CT_CALL:
		for (uint32_t i = 0; i < t->u.call.length; i++)
			term_all_slots(t->u.call.args[i], out);
		return;
	default:
		return;
	}
}

static void
expr_all_slots(const struct cexpr *e, struct slotset *out)
{
	term_all_slots(e->a, out);
	term_all_slots(e->b, out);
	term_all_slots(e->collection, out);
	if (e->body) {
		body_all_slots(e->body, out);
		if (e->kind == CE_EVERY || e->kind == CE_BODY)
			for (uint32_t sl = e->first_slot; sl < e->end_slot; sl++)
				if (sl / 64 < out->words)
					out->bits[sl / 64] &= ~(1ull << (sl % 64));
	}
	if (e->left)
		expr_all_slots(e->left, out);
	if (e->right)
		expr_all_slots(e->right, out);
	for (uint32_t i = 0; i < e->with_count; i++)
		term_all_slots(e->with[i].value, out);
}

static void
body_all_slots(const struct cbody *b, struct slotset *out)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < b->length; i++)
		expr_all_slots(b->exprs[i], out);
}

/* Is every variable needed to evaluate `t` as a value bound (in `bound`) — with variables that
 * appear as plain ref segments counting as bindable (they iterate)? `scope_first` marks slots
 * local to closures compiled inside: those are not free. */
static bool term_evaluable(const struct cterm *t, const struct slotset *bound);
static bool pattern_ready(const struct cterm *t, const struct slotset *bound);

static void term_binds(const struct cterm *t, struct slotset *out);

static bool
items_evaluable(struct cterm *const *items, uint32_t n, const struct slotset *bound)
{
	for (uint32_t i = 0; i < n; i++)
		if (!term_evaluable(items[i], bound))
			return false;
	return true;
}

/* Are the arguments of an expression's call evaluable together? One may bind a variable
 * another needs (x == obj[x]): the evaluator then takes them in that order (see seq_run), up
 * to 64 of them. Only the top of an expression is looked at this way, so that checking stays
 * linear in the size of nested terms. */
static bool
list_evaluable(struct cterm *const *items, uint32_t n, const struct slotset *bound)
{
	bool each = items_evaluable(items, n, bound);
	if (each || n > 64)
		return each;
	uint64_t words[bound->words];
	struct slotset tmp = { words, bound->words };
	memcpy(words, bound->bits, sizeof(words));
	uint64_t done = 0, all = n == 64 ? ~0ull : (1ull << n) - 1;
	bool progress = true;
	while (done != all && progress) {
		progress = false;
		for (uint32_t i = 0; i < n; i++)
			if (!(done & (1ull << i)) && term_evaluable(items[i], &tmp)) {
				done |= 1ull << i;
				term_binds(items[i], &tmp);
				progress = true;
			}
	}
	return done == all;
}

static bool
term_evaluable(const struct cterm *t, const struct slotset *bound)
{
	switch (t->kind) {
	case CT_VALUE:
	case CT_INPUT:
	case CT_DATA:
		return true;
	case CT_LOCAL:
		return slotset_has(bound, t->u.slot);
	case CT_REF:
		if (!term_evaluable(t->u.ref.base, bound))
			return false;
		for (uint32_t i = 0; i < t->u.ref.length; i++) {
			const struct cterm *s = t->u.ref.segments[i];
			/* A variable, or a composite holding variables, iterates when unbound. */
			if (s->kind == CT_LOCAL || pattern_ready(s, bound))
				continue;
			if (!term_evaluable(s, bound))
				return false;
		}
		return true;
	case CT_ARRAY:
	case CT_SET:
	case CT_TEMPLATE:
		return items_evaluable(t->u.list.items, t->u.list.length, bound);
	case CT_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length; i++)
			if (!term_evaluable(t->u.object.keys[i], bound) ||
			    !term_evaluable(t->u.object.values[i], bound))
				return false;
		return true;
	case CT_CALL: {
		uint32_t inputs =
		        t->u.call.length > t->u.call.arity ? t->u.call.arity : t->u.call.length;
		return items_evaluable(t->u.call.args, inputs, bound);
	}
	case CT_ARRAY_COMPR:
	case CT_SET_COMPR:
	case CT_OBJECT_COMPR:
		return true; /* free variables are checked by closures_ready() */
	}
	return false;
}

/* Adds the variables that evaluating `t` binds (ref segments, relation outputs). */
static void
term_binds(const struct cterm *t, struct slotset *out)
{
	switch (t->kind) {
	case CT_LOCAL:
		slotset_add(out, t->u.slot);
		return;
	case CT_REF:
		term_binds(t->u.ref.base, out);
		for (uint32_t i = 0; i < t->u.ref.length; i++)
			term_binds(t->u.ref.segments[i], out);
		return;
	case CT_ARRAY:
	case CT_SET:
	case CT_TEMPLATE:
		for (uint32_t i = 0; i < t->u.list.length; i++)
			term_binds(t->u.list.items[i], out);
		return;
	case CT_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length; i++) {
			term_binds(t->u.object.keys[i], out);
			term_binds(t->u.object.values[i], out);
		}
		return;
	case CT_CALL:
		for (uint32_t i = 0; i < t->u.call.length; i++)
			term_binds(t->u.call.args[i], out);
		return;
	default:
		return;
	}
}

/* Can `pattern` take a value by unification once its non-pattern parts are evaluable? */
static bool
pattern_ready(const struct cterm *t, const struct slotset *bound)
{
	switch (t->kind) {
	case CT_LOCAL:
		return true;
	case CT_ARRAY:
		for (uint32_t i = 0; i < t->u.list.length; i++)
			if (!pattern_ready(t->u.list.items[i], bound))
				return false;
		return true;
	case CT_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length; i++)
			if (!term_evaluable(t->u.object.keys[i], bound) ||
			    !pattern_ready(t->u.object.values[i], bound))
				return false;
		return true;
	default:
		return term_evaluable(t, bound);
	}
}

static bool
unify_ready(const struct cterm *a, const struct cterm *b, struct slotset *bound)
{
	if (term_evaluable(a, bound))
		return pattern_ready(b, bound);
	if (term_evaluable(b, bound))
		return pattern_ready(a, bound);
	if (a->kind == CT_ARRAY && b->kind == CT_ARRAY && a->u.list.length == b->u.list.length) {
		/* Element by element; what one pair binds helps the next. Try in rounds. */
		uint32_t n = a->u.list.length, done = 0;
		bool *ok = __builtin_alloca(n + 1);
		memset(ok, 0, n + 1);
		bool progress = true;
		while (done < n && progress) {
			progress = false;
			for (uint32_t i = 0; i < n; i++) {
				if (ok[i])
					continue;
				if (unify_ready(a->u.list.items[i], b->u.list.items[i], bound)) {
					ok[i] = true;
					done++;
					progress = true;
					term_binds(a->u.list.items[i], bound);
					term_binds(b->u.list.items[i], bound);
				}
			}
		}
		return done == n;
	}
	if (a->kind == CT_OBJECT && b->kind == CT_OBJECT &&
	    a->u.object.length == b->u.object.length) {
		for (uint32_t i = 0; i < a->u.object.length; i++) {
			bool matched = false;
			for (uint32_t j = 0; j < b->u.object.length && !matched; j++) {
				if (a->u.object.keys[i]->kind != CT_VALUE ||
				    b->u.object.keys[j]->kind != CT_VALUE ||
				    !rego_equal(a->u.object.keys[i]->u.value,
				                b->u.object.keys[j]->u.value))
					continue;
				if (!unify_ready(a->u.object.values[i], b->u.object.values[j],
				                 bound))
					return false;
				term_binds(a->u.object.values[i], bound);
				term_binds(b->u.object.values[j], bound);
				matched = true;
			}
			if (!matched)
				return false;
		}
		return true;
	}
	return false;
}

/* Slots mentioned by closures (comprehensions) inside a term that were declared outside of
 * them must be bound first. */
static bool closures_ready(struct compiler *c, const struct cterm *t, const struct slotset *bound);

static bool
closures_ready_list(struct compiler *c, struct cterm *const *items, uint32_t n,
                    const struct slotset *bound)
{
	for (uint32_t i = 0; i < n; i++)
		if (!closures_ready(c, items[i], bound))
			return false;
	return true;
}

static bool
closures_ready(struct compiler *c, const struct cterm *t, const struct slotset *bound)
{
	if (!t)
		return true;
	switch (t->kind) {
	case CT_REF:
		return closures_ready(c, t->u.ref.base, bound) &&
		       closures_ready_list(c, t->u.ref.segments, t->u.ref.length, bound);
	case CT_ARRAY:
	case CT_SET:
	case CT_TEMPLATE:
		return closures_ready_list(c, t->u.list.items, t->u.list.length, bound);
	case CT_OBJECT:
		return closures_ready_list(c, t->u.object.keys, t->u.object.length, bound) &&
		       closures_ready_list(c, t->u.object.values, t->u.object.length, bound);
	case CT_CALL:
		return closures_ready_list(c, t->u.call.args, t->u.call.length, bound);
	case CT_ARRAY_COMPR:
	case CT_SET_COMPR:
	case CT_OBJECT_COMPR: {
		struct slotset all;
		if (slotset_init(c, &all) < 0)
			return false;
		term_all_slots(t, &all);
		for (uint32_t s = 0; s < all.words * 64; s++)
			if (slotset_has(&all, s) && !slotset_has(bound, s))
				return false;
		return true;
	}
	default:
		return true;
	}
}

struct reorder {
	struct compiler *c;
	const struct slotset *others; /* for the expression tested: slots of the others */
};

static bool
expr_ready(struct reorder *ro, const struct cexpr *e, struct slotset *bound)
{
	struct compiler *c = ro->c;
	for (uint32_t i = 0; i < e->with_count; i++)
		if (e->with[i].value && !term_evaluable(e->with[i].value, bound))
			return false;
	if (e->negated || e->kind == CE_BODY || e->kind == CE_AND || e->kind == CE_OR) {
		/* These bind nothing outside: every variable shared with the rest of the
		 * body must be bound already. */
		struct slotset mine;
		if (slotset_init(c, &mine) < 0)
			return false;
		expr_all_slots(e, &mine);
		for (uint32_t s = 0; s < mine.words * 64; s++)
			if (slotset_has(&mine, s) && (!ro->others || slotset_has(ro->others, s)) &&
			    !slotset_has(bound, s))
				return false;
		return true;
	}
	switch (e->kind) {
	case CE_TERM: {
		const struct cterm *t = e->a;
		if (!closures_ready(c, t, bound))
			return false;
		if (t->kind == CT_CALL && t->u.call.length == t->u.call.arity + 1) {
			for (uint32_t i = 0; i < t->u.call.arity; i++)
				if (!term_evaluable(t->u.call.args[i], bound))
					return false;
			return pattern_ready(t->u.call.args[t->u.call.arity], bound);
		}
		if (t->kind == CT_CALL)
			return list_evaluable(t->u.call.args, t->u.call.length, bound);
		return term_evaluable(t, bound);
	}
	case CE_UNIFY: {
		if (!closures_ready(c, e->a, bound) || !closures_ready(c, e->b, bound))
			return false;
		struct slotset tmp;
		if (slotset_init(c, &tmp) < 0)
			return false;
		slotset_copy(&tmp, bound);
		return unify_ready(e->a, e->b, &tmp);
	}
	case CE_SOME_IN:
		return closures_ready(c, e->collection, bound) &&
		       term_evaluable(e->collection, bound) &&
		       (!e->a || pattern_ready(e->a, bound)) && pattern_ready(e->b, bound);
	case CE_EVERY:
		if (!term_evaluable(e->collection, bound) ||
		    !closures_ready(c, e->collection, bound))
			return false;
		{
			struct slotset mine;
			if (slotset_init(c, &mine) < 0)
				return false;
			expr_all_slots(e, &mine);
			for (uint32_t s = 0; s < mine.words * 64; s++)
				if (slotset_has(&mine, s) && !slotset_has(bound, s))
					return false;
		}
		return true;
	case CE_AND:
	case CE_OR: {
		struct slotset tmp;
		if (slotset_init(c, &tmp) < 0)
			return false;
		slotset_copy(&tmp, bound);
		if (!expr_ready(ro, e->left, &tmp))
			return false;
		if (e->kind == CE_AND)
			expr_all_slots(e->left, &tmp);
		return expr_ready(ro, e->right, e->kind == CE_AND ? &tmp : bound);
	}
	default:
		return true;
	}
}

static void
expr_binds(const struct cexpr *e, struct slotset *bound)
{
	if (e->negated || e->kind == CE_BODY || e->kind == CE_EVERY || e->kind == CE_AND ||
	    e->kind == CE_OR)
		return;
	if (e->a)
		term_binds(e->a, bound);
	if (e->b)
		term_binds(e->b, bound);
	if (e->collection)
		term_binds(e->collection, bound);
}

/* Orders the body so every expression runs once its inputs are bound, keeping the written
 * order where possible. `bound` holds what is bound on entry and is updated. */
static int
reorder_body(struct compiler *c, struct cbody *body, struct slotset *bound)
{
	uint32_t n = body->length;
	if (n == 0)
		return 0;
	struct cexpr **ordered = rego_arena_alloc(c->arena, n * sizeof(*ordered));
	bool *taken = rego_arena_zalloc(c->arena, n);
	if (!ordered || !taken)
		return out_of_memory(c);
	struct reorder ro = { .c = c };
	/* For each expression, the variables the other expressions mention: a negated
	 * expression must wait for those, while variables only it mentions stay local. */
	struct slotset *free_sets = rego_arena_alloc(c->arena, n * sizeof(*free_sets));
	struct slotset *others = rego_arena_alloc(c->arena, n * sizeof(*others));
	if (!free_sets || !others)
		return out_of_memory(c);
	for (uint32_t i = 0; i < n; i++) {
		if (slotset_init(c, &free_sets[i]) < 0 || slotset_init(c, &others[i]) < 0)
			return -ENOMEM;
		expr_all_slots(body->exprs[i], &free_sets[i]);
	}
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			if (i != j)
				for (uint32_t w = 0; w < others[i].words; w++)
					others[i].bits[w] |= free_sets[j].bits[w];
	for (uint32_t k = 0; k < n; k++) {
		uint32_t pick = n;
		for (uint32_t i = 0; i < n; i++) {
			ro.others = &others[i];
			if (!taken[i] && expr_ready(&ro, body->exprs[i], bound)) {
				pick = i;
				break;
			}
		}
		if (pick == n) {
			/* Report the first unbound variable of the first stuck expression. */
			for (uint32_t i = 0; i < n; i++) {
				if (taken[i])
					continue;
				struct slotset mine;
				if (slotset_init(c, &mine) < 0)
					return -ENOMEM;
				expr_all_slots(body->exprs[i], &mine);
				for (uint32_t s = 0; s < mine.words * 64; s++)
					if (slotset_has(&mine, s) && !slotset_has(bound, s))
						return compile_error(c, body->exprs[i]->loc,
						                     "var %s is unsafe",
						                     slot_name(c, s));
				return compile_error(c, body->exprs[i]->loc,
				                     "expression is unsafe");
			}
		}
		taken[pick] = true;
		ordered[k] = body->exprs[pick];
		expr_binds(body->exprs[pick], bound);
	}
	memcpy(body->exprs, ordered, n * sizeof(*ordered));
	return 0;
}

/* ---- expressions and bodies ------------------------------------------------------------ */

static int compile_expr(struct compiler *c, const struct rego_expr *e, struct cexpr **ret);

static int
compile_with(struct compiler *c, const struct rego_with *w, struct cwith *out)
{
	const struct rego_term *target = w->target;
	const char *head =
	        target->kind == REGO_TERM_VAR ? target->u.var.name
	        : target->kind == REGO_TERM_REF && target->u.ref.head->kind == REGO_TERM_VAR
	                ? target->u.ref.head->u.var.name
	                : NULL;
	if (!head)
		return compile_error(
		        c, w->loc,
		        "with keyword target must reference existing input, data, or a function");
	int r;
	if (strcmp(head, "input") == 0 || strcmp(head, "data") == 0) {
		out->target_kind = strcmp(head, "input") == 0 ? WITH_INPUT : WITH_DATA;
		if (target->kind == REGO_TERM_REF) {
			uint32_t n = target->u.ref.segments.length;
			out->path = rego_arena_alloc(c->arena, (n + 1) * sizeof(*out->path));
			if (!out->path)
				return out_of_memory(c);
			for (uint32_t i = 0; i < n; i++) {
				const struct rego_term *s = target->u.ref.segments.items[i];
				if (s->kind != REGO_TERM_SCALAR)
					return compile_error(
					        c, w->loc,
					        "with keyword target must be a ground reference");
				out->path[i] = cterm_value(c, s->u.value, s->loc);
			}
			out->path_length = n;
		}
		/* data.x.f where f is a function: mock it. */
		if (out->target_kind == WITH_DATA) {
			struct doc_node *fn = resolve_function(c, target);
			if (fn) {
				out->target_kind = WITH_FUNCTION;
				out->function = fn;
			}
		}
	} else {
		struct doc_node *fn = resolve_function(c, target);
		if (fn) {
			out->target_kind = WITH_FUNCTION;
			out->function = fn;
		} else {
			struct rego_strbuf name;
			rego_strbuf_init(&name, c->arena);
			if (callee_name(c, target, &name) < 0 || !name.data)
				return compile_error(c, w->loc, "invalid with target");
			const struct rego_builtin *b =
			        rego_builtin_lookup(name.data, name.length, c->v1);
			bool inline_op = false;
			for (size_t i = 0; i < sizeof(inline_calls) / sizeof(inline_calls[0]); i++)
				if (strcmp(inline_calls[i].name, name.data) == 0)
					inline_op = true;
			if (!b && !inline_op) {
				/* A package rule that is not a function (e.g. `with p as 1`). */
				uint32_t slot;
				if (!scope_find(c->scope, head, &slot) && package_has(c, head)) {
					struct cterm *ref;
					if ((r = compile_term(c, target, &ref)) < 0)
						return r;
					out->target_kind = WITH_DATA;
					/* Build the absolute path from the node. */
					struct doc_node *node = ref->kind == CT_DATA
					                                ? ref->u.node
					                                : ref->u.ref.base->u.node;
					uint32_t depth = 0;
					for (struct doc_node *p = node; p->parent; p = p->parent)
						depth++;
					uint32_t extra =
					        ref->kind == CT_REF ? ref->u.ref.length : 0;
					out->path = rego_arena_alloc(
					        c->arena, (depth + extra + 1) * sizeof(*out->path));
					if (!out->path)
						return out_of_memory(c);
					uint32_t i = depth;
					for (struct doc_node *p = node; p->parent; p = p->parent)
						out->path[--i] = cterm_value(c, p->key, w->loc);
					for (uint32_t k = 0; k < extra; k++)
						out->path[depth + k] = ref->u.ref.segments[k];
					out->path_length = depth + extra;
					return compile_term(c, w->value, &out->value);
				}
				return compile_error(
				        c, w->loc,
				        "with keyword target %s is not a function, input or data",
				        name.data);
			}
			out->target_kind = WITH_FUNCTION;
			out->builtin = b;
			if (!b) {
				/* An operator handled inline: mock by name. */
				out->builtin = rego_builtin_lookup(name.data, name.length, false);
				if (!out->builtin)
					return compile_error(c, w->loc, "cannot mock %s",
					                     name.data);
			}
		}
		/* The replacement may itself name a function or built-in. */
		const struct rego_term *v = w->value;
		const char *vhead =
		        v->kind == REGO_TERM_VAR ? v->u.var.name
		        : v->kind == REGO_TERM_REF && v->u.ref.head->kind == REGO_TERM_VAR
		                ? v->u.ref.head->u.var.name
		                : NULL;
		if (vhead) {
			struct doc_node *vf = resolve_function(c, v);
			struct rego_strbuf vname;
			rego_strbuf_init(&vname, c->arena);
			uint32_t slot;
			if (vf)
				out->value_function = vf;
			else if (!scope_find(c->scope, vhead, &slot) && !name_is_global(c, vhead) &&
			         callee_name(c, v, &vname) == 0 && vname.data)
				out->value_builtin =
				        rego_builtin_lookup(vname.data, vname.length, c->v1);
			if (out->value_function || out->value_builtin)
				return 0;
		}
	}
	return compile_term(c, w->value, &out->value);
}

static int
compile_expr(struct compiler *c, const struct rego_expr *e, struct cexpr **ret)
{
	struct cexpr *x = rego_arena_zalloc(c->arena, sizeof(*x));
	if (!x)
		return out_of_memory(c);
	x->loc = e->loc;
	x->negated = e->negated;
	int r = 0;
	switch (e->kind) {
	case REGO_EXPR_TERM:
		x->kind = CE_TERM;
		r = compile_term(c, e->u.term, &x->a);
		break;
	case REGO_EXPR_UNIFY:
		x->kind = CE_UNIFY;
		r = compile_term(c, e->u.binary.lhs, &x->a);
		if (r == 0)
			r = compile_term(c, e->u.binary.rhs, &x->b);
		break;
	case REGO_EXPR_ASSIGN:
		/* The right side sees the names before the declaration; the left declares. */
		x->kind = CE_UNIFY;
		r = compile_term(c, e->u.binary.rhs, &x->b);
		if (r == 0)
			r = declare_pattern_vars(c, e->u.binary.lhs);
		if (r == 0)
			r = compile_term(c, e->u.binary.lhs, &x->a);
		break;
	case REGO_EXPR_SOME_IN:
		x->kind = CE_SOME_IN;
		r = compile_term(c, e->u.some_in.collection, &x->collection);
		if (r == 0)
			r = declare_pattern_vars(c, e->u.some_in.key);
		if (r == 0)
			r = declare_pattern_vars(c, e->u.some_in.value);
		if (r == 0 && e->u.some_in.key)
			r = compile_term(c, e->u.some_in.key, &x->a);
		if (r == 0)
			r = compile_term(c, e->u.some_in.value, &x->b);
		break;
	case REGO_EXPR_EVERY: {
		x->kind = CE_EVERY;
		r = compile_term(c, e->u.every.domain, &x->collection);
		if (r < 0)
			break;
		if (!scope_push(c))
			return out_of_memory(c);
		x->every_key_slot = x->every_value_slot = UINT32_MAX;
		if (e->u.every.key) {
			r = declare_pattern_vars(c, e->u.every.key);
			if (r == 0)
				r = compile_term(c, e->u.every.key, &x->a);
			if (r == 0 && x->a->kind == CT_LOCAL)
				x->every_key_slot = x->a->u.slot;
		}
		if (r == 0)
			r = declare_pattern_vars(c, e->u.every.value);
		if (r == 0)
			r = compile_term(c, e->u.every.value, &x->b);
		if (r == 0 && x->b->kind == CT_LOCAL)
			x->every_value_slot = x->b->u.slot;
		if (r == 0)
			r = predeclare_body(c, e->u.every.body);
		if (r == 0)
			r = compile_body(c, e->u.every.body, &x->body);
		x->first_slot = c->scope->first_slot;
		x->end_slot = c->next_slot;
		scope_pop(c);
		break;
	}
	case REGO_EXPR_BODY:
		/* A sub-body with a scope of its own; negated for not { }. */
		x->kind = CE_BODY;
		if (!scope_push(c))
			return out_of_memory(c);
		x->every_key_slot = x->every_value_slot = UINT32_MAX;
		r = predeclare_body(c, e->u.not_body.body);
		if (r == 0)
			r = compile_body(c, e->u.not_body.body, &x->body);
		x->first_slot = c->scope->first_slot;
		x->end_slot = c->next_slot;
		scope_pop(c);
		break;
	case REGO_EXPR_AND:
	case REGO_EXPR_OR:
		x->kind = e->kind == REGO_EXPR_AND ? CE_AND : CE_OR;
		r = compile_expr(c, e->u.logic.lhs, &x->left);
		if (r == 0)
			r = compile_expr(c, e->u.logic.rhs, &x->right);
		break;
	case REGO_EXPR_SOME:
		/* A declaration only: the names are new locals from here on. */
		for (uint32_t k = 0; k < e->u.some.vars.length && r == 0; k++)
			r = declare_pattern_vars(c, e->u.some.vars.items[k]);
		*ret = NULL;
		return r;
	}
	if (r < 0)
		return r;
	if (e->with_count) {
		x->with = rego_arena_zalloc(c->arena, e->with_count * sizeof(*x->with));
		if (!x->with)
			return out_of_memory(c);
		x->with_count = e->with_count;
		for (uint32_t i = 0; i < e->with_count && r == 0; i++)
			r = compile_with(c, &e->with[i], &x->with[i]);
	}
	*ret = x;
	return r;
}

static int
compile_body(struct compiler *c, const struct rego_body *body, struct cbody **ret)
{
	struct cbody *b = rego_arena_zalloc(c->arena, sizeof(*b));
	if (!b)
		return out_of_memory(c);
	if (body->length > REGO_MAX_BODY_EXPRS)
		return compile_error(c, body->loc, "body has more than %d expressions",
		                     REGO_MAX_BODY_EXPRS);
	b->exprs = rego_arena_alloc(c->arena, (body->length + 1) * sizeof(*b->exprs));
	if (!b->exprs)
		return out_of_memory(c);
	for (uint32_t i = 0; i < body->length; i++) {
		struct cexpr *x = NULL;
		if (++c->expr_count > REGO_MAX_RULE_EXPRS || c->next_slot > REGO_MAX_SLOTS)
			return compile_error(
			        c, body->exprs[i]->loc,
			        "rule too large: more than %d expressions or %d variables",
			        REGO_MAX_RULE_EXPRS, REGO_MAX_SLOTS);
		int r = compile_expr(c, body->exprs[i], &x);
		if (r < 0)
			return r;
		if (x)
			b->exprs[b->length++] = x;
	}
	*ret = b;
	return 0;
}

/* Safety pass over a compiled body and everything nested in it. `bound` is what is bound on
 * entry. Closures (comprehensions, every, not) are ordered with the outer bound set plus
 * their own variables as they bind. */
static int order_term_closures(struct compiler *c, struct cterm *t, const struct slotset *bound);
static int order_body(struct compiler *c, struct cbody *b, struct slotset *bound);

static int
order_list_closures(struct compiler *c, struct cterm **items, uint32_t n,
                    const struct slotset *bound)
{
	int r = 0;
	for (uint32_t i = 0; i < n && r == 0; i++)
		r = order_term_closures(c, items[i], bound);
	return r;
}

static int
order_term_closures(struct compiler *c, struct cterm *t, const struct slotset *bound)
{
	if (!t)
		return 0;
	switch (t->kind) {
	case CT_REF:
		return order_term_closures(c, t->u.ref.base, bound)
		               ?: order_list_closures(c, t->u.ref.segments, t->u.ref.length, bound);
	case CT_ARRAY:
	case CT_SET:
	case CT_TEMPLATE:
		return order_list_closures(c, t->u.list.items, t->u.list.length, bound);
	case CT_OBJECT:
		return order_list_closures(c, t->u.object.keys, t->u.object.length, bound)
		               ?: order_list_closures(c, t->u.object.values, t->u.object.length,
		                                      bound);
	case CT_CALL:
		return order_list_closures(c, t->u.call.args, t->u.call.length, bound);
	case CT_ARRAY_COMPR:
	case CT_SET_COMPR:
	case CT_OBJECT_COMPR: {
		/* The closure runs where the outer body has bound `bound`. */
		struct slotset inner;
		int r = slotset_init(c, &inner);
		if (r < 0)
			return r;
		slotset_copy(&inner, bound);
		if ((r = order_body(c, t->u.compr.body, &inner)) < 0)
			return r;
		if (t->u.compr.key && (r = order_term_closures(c, t->u.compr.key, &inner)) < 0)
			return r;
		return order_term_closures(c, t->u.compr.head, &inner);
	}
	default:
		return 0;
	}
}

static int
order_expr_closures(struct compiler *c, struct cexpr *e, const struct slotset *bound)
{
	int r = order_term_closures(c, e->a, bound);
	if (r == 0)
		r = order_term_closures(c, e->b, bound);
	if (r == 0)
		r = order_term_closures(c, e->collection, bound);
	if (r == 0 && e->left)
		r = order_expr_closures(c, e->left, bound);
	if (r == 0 && e->right)
		r = order_expr_closures(c, e->right, bound);
	for (uint32_t i = 0; i < e->with_count && r == 0; i++)
		r = order_term_closures(c, e->with[i].value, bound);
	if (r == 0 && e->body) {
		struct slotset inner;
		if ((r = slotset_init(c, &inner)) < 0)
			return r;
		slotset_copy(&inner, bound);
		if (e->every_key_slot != UINT32_MAX)
			slotset_add(&inner, e->every_key_slot);
		if (e->every_value_slot != UINT32_MAX)
			slotset_add(&inner, e->every_value_slot);
		if (e->kind == CE_EVERY) {
			term_binds(e->b, &inner);
			if (e->a)
				term_binds(e->a, &inner);
		}
		r = order_body(c, e->body, &inner);
	}
	return r;
}

/* Orders `b` given `bound` (copied, not modified for the caller beyond what the body binds). */
static int
order_body(struct compiler *c, struct cbody *b, struct slotset *bound)
{
	struct slotset work;
	int r = slotset_init(c, &work);
	if (r < 0)
		return r;
	slotset_copy(&work, bound);
	if ((r = reorder_body(c, b, &work)) < 0)
		return r;
	/* Now order closures with what is bound at the point each expression runs. */
	slotset_copy(&work, bound);
	for (uint32_t i = 0; i < b->length && r == 0; i++) {
		r = order_expr_closures(c, b->exprs[i], &work);
		expr_binds(b->exprs[i], &work);
	}
	if (r == 0)
		slotset_copy(bound, &work);
	return r;
}

/* ---- rules ----------------------------------------------------------------------------- */

/* Ground prefix of a rule head: appends string/scalar segments into `out`; returns the
 * number of leading ground segments and sets *ret_total. */
static int
head_segments(struct compiler *c, const struct rego_term *head, const struct rego_term ***ret,
              uint32_t *ret_length)
{
	if (head->kind == REGO_TERM_VAR) {
		const struct rego_term **segs = rego_arena_alloc(c->arena, sizeof(*segs));
		if (!segs)
			return out_of_memory(c);
		segs[0] = head;
		*ret = segs;
		*ret_length = 1;
		return 0;
	}
	if (head->kind != REGO_TERM_REF || head->u.ref.head->kind != REGO_TERM_VAR)
		return compile_error(c, head->loc, "invalid rule head");
	uint32_t n = head->u.ref.segments.length + 1;
	const struct rego_term **segs = rego_arena_alloc(c->arena, n * sizeof(*segs));
	if (!segs)
		return out_of_memory(c);
	segs[0] = head->u.ref.head;
	for (uint32_t i = 1; i < n; i++)
		segs[i] = head->u.ref.segments.items[i - 1];
	*ret = segs;
	*ret_length = n;
	return 0;
}

static const struct rego_value *
segment_key(struct compiler *c, const struct rego_term *seg, bool first)
{
	if (first && seg->kind == REGO_TERM_VAR)
		return rego_string_cstr(c->arena, seg->u.var.name);
	if (seg->kind == REGO_TERM_SCALAR)
		return seg->u.value;
	return NULL;
}

struct pending_rule {
	struct rego_rule *rule;
	struct crule *compiled;
	struct doc_node *node;
	struct rego_module *module;
	struct doc_node *package;
	const struct rego_term **segments;
	uint32_t ground, total;
};

static int
package_node(struct compiler *c, const struct rego_module *m, struct doc_node **ret)
{
	struct doc_node *node = c->policy->root;
	const struct rego_term *pkg = m->package;
	if (pkg->kind != REGO_TERM_REF)
		return compile_error(c, pkg->loc, "invalid package");
	for (uint32_t i = 0; i < pkg->u.ref.segments.length; i++) {
		const struct rego_term *s = pkg->u.ref.segments.items[i];
		if (s->kind != REGO_TERM_SCALAR)
			return compile_error(c, s->loc, "package path must be constant");
		node = doc_node_child(c, node, s->u.value);
		if (!node)
			return out_of_memory(c);
	}
	node->is_package = true;
	*ret = node;
	return 0;
}

static int
place_rule(struct compiler *c, struct pending_rule *p)
{
	struct rego_rule *rule = p->rule;
	int r = head_segments(c, rule->head, &p->segments, &p->total);
	if (r < 0)
		return r;
	struct doc_node *node = p->package;
	uint32_t i = 0;
	for (; i < p->total; i++) {
		const struct rego_value *key = segment_key(c, p->segments[i], i == 0);
		if (!key)
			break;
		/* A var segment in the last position of a SINGLE rule makes it an object rule;
		 * string keys from refs such as p["a"] are ground. */
		node = doc_node_child(c, node, key);
		if (!node)
			return out_of_memory(c);
	}
	p->ground = i;
	p->node = node;
	struct crule *cr = rego_arena_zalloc(c->arena, sizeof(*cr));
	if (!cr)
		return out_of_memory(c);
	cr->loc = rule->loc;
	cr->module = p->module->name;
	cr->is_default = rule->is_default;
	switch (rule->kind) {
	case REGO_RULE_FUNCTION:
		cr->kind = CR_FUNCTION;
		cr->arity = rule->args.length;
		break;
	case REGO_RULE_MULTI:
		cr->kind = CR_MULTI;
		break;
	default:
		cr->kind = p->ground == p->total ? CR_COMPLETE : CR_OBJECT;
		break;
	}
	if (rule->kind == REGO_RULE_MULTI && p->ground != p->total)
		cr->kind = CR_OBJECT; /* a.b[x] contains y: a set under each key */
	p->compiled = cr;
	if (rule->is_default) {
		if (node->default_rule)
			return compile_error(c, rule->loc, "multiple default rules %s found",
			                     node->path);
		node->default_rule = cr;
		if (cr->kind == CR_FUNCTION)
			node->arity = cr->arity;
		if (node->rule_count == 0)
			node->rule_kind = cr->kind;
		return 0;
	}
	if (node->rule_count > 0) {
		uint8_t k = node->rule_kind;
		bool compatible = k == cr->kind || (k == CR_OBJECT && cr->kind == CR_COMPLETE) ||
		                  (k == CR_COMPLETE && cr->kind == CR_OBJECT);
		if (!compatible)
			return compile_error(c, rule->loc, "conflicting rules %s found",
			                     node->path);
		if (cr->kind == CR_FUNCTION && node->arity != cr->arity)
			return compile_error(
			        c, rule->loc,
			        "conflicting rules %s found: functions must have the same arity",
			        node->path);
	} else {
		node->rule_kind = cr->kind;
		node->arity = cr->arity;
	}
	if (cr->kind == CR_OBJECT && node->rule_kind == CR_COMPLETE)
		node->rule_kind = CR_OBJECT;
	return doc_node_add_rule(c, node, cr);
}

/* Can a function parameter bind the argument on entry (a variable, a constant, or an array or
 * object of those)? Other terms (refs, calls, templates) are compared after the body. */
static bool
head_pattern(const struct rego_term *t)
{
	switch (t->kind) {
	case REGO_TERM_VAR:
	case REGO_TERM_SCALAR:
		return true;
	case REGO_TERM_ARRAY:
	case REGO_TERM_SET:
		for (uint32_t i = 0; i < t->u.list.length; i++)
			if (!head_pattern(t->u.list.items[i]))
				return false;
		return true;
	case REGO_TERM_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length; i++)
			if (!head_pattern(t->u.object.keys[i]) ||
			    !head_pattern(t->u.object.values[i]))
				return false;
		return true;
	default:
		return false;
	}
}

/* Compiles one rule clause (and its else chain) into `cr`. */
static int
compile_rule_clause(struct compiler *c, struct pending_rule *p, struct rego_rule *rule,
                    struct crule *cr, const struct rego_term_list *args)
{
	c->next_slot = 0;
	c->expr_count = 0;
	c->scope = NULL;
	if (!scope_push(c))
		return out_of_memory(c);
	int r = 0;
	/* Function parameters are patterns bound on entry; they shadow rules of the package. */
	for (uint32_t i = 0; i < args->length && r == 0; i++)
		r = declare_pattern_vars(c, args->items[i]);
	if (r == 0)
		r = predeclare_body(c, rule->body);
	if (r < 0)
		return r;
	cr->arity = args->length;
	if (args->length) {
		cr->args = rego_arena_alloc(c->arena, args->length * sizeof(*cr->args));
		if (!cr->args)
			return out_of_memory(c);
		for (uint32_t i = 0; i < args->length; i++) {
			if (!head_pattern(args->items[i])) {
				/* A parameter such as f($"{x}") or f(input.y) is compared with the
				 * argument after the body has run: bind a fresh slot now. */
				if (!(cr->args[i] = cterm_new(c, CT_LOCAL, args->items[i]->loc)))
					return out_of_memory(c);
				cr->args[i]->u.slot = slot_new(c, "_");
				continue;
			}
			if ((r = compile_term(c, args->items[i], &cr->args[i])) < 0)
				return r;
		}
	}
	if ((r = compile_body(c, rule->body, &cr->body)) < 0)
		return r;
	for (uint32_t i = 0; i < args->length; i++) {
		if (head_pattern(args->items[i]))
			continue;
		struct cexpr *x = rego_arena_zalloc(c->arena, sizeof(*x));
		struct cexpr **exprs =
		        rego_arena_alloc(c->arena, (cr->body->length + 1) * sizeof(*exprs));
		if (!x || !exprs)
			return out_of_memory(c);
		if ((r = predeclare_term(c, args->items[i])) < 0 ||
		    (r = compile_term(c, args->items[i], &x->b)) < 0)
			return r;
		x->kind = CE_UNIFY;
		x->loc = args->items[i]->loc;
		x->a = cr->args[i];
		memcpy(exprs, cr->body->exprs, cr->body->length * sizeof(*exprs));
		exprs[cr->body->length++] = x;
		cr->body->exprs = exprs;
	}
	/* Head terms name variables of the body (declared by now) or of their own. */
	if (rule->key)
		r = predeclare_term(c, rule->key);
	for (uint32_t i = p->ground; i < p->total && r == 0; i++)
		r = predeclare_term(c, p->segments[i]);
	if (r == 0 && rule->value)
		r = predeclare_term(c, rule->value);
	if (r < 0)
		return r;
	if (rule->key && (r = compile_term(c, rule->key, &cr->key)) < 0)
		return r;
	if (p->total > p->ground) {
		cr->key_path_length = p->total - p->ground;
		cr->key_path =
		        rego_arena_alloc(c->arena, cr->key_path_length * sizeof(*cr->key_path));
		if (!cr->key_path)
			return out_of_memory(c);
		for (uint32_t i = 0; i < cr->key_path_length; i++)
			if ((r = compile_term(c, p->segments[p->ground + i], &cr->key_path[i])) < 0)
				return r;
	}
	if (rule->value) {
		if ((r = compile_term(c, rule->value, &cr->value)) < 0)
			return r;
	} else {
		cr->value = cterm_value(c, &rego_true_value, rule->loc);
		if (!cr->value)
			return out_of_memory(c);
	}
	cr->constant_value = cr->value->kind == CT_VALUE && (!cr->key || cr->key->ground) &&
	                     cr->key_path_length == 0;
	/* Safety: parameters are bound on entry; the head's terms need the body's bindings. */
	struct slotset bound;
	if ((r = slotset_init(c, &bound)) < 0)
		return r;
	for (uint32_t i = 0; i < cr->arity; i++)
		term_binds(cr->args[i], &bound);
	if ((r = order_body(c, cr->body, &bound)) < 0)
		return r;
	struct cterm *heads[3] = { cr->value, cr->key, NULL };
	for (uint32_t i = 0; i < 2; i++) {
		if (heads[i] && !term_evaluable(heads[i], &bound)) {
			struct slotset mine;
			if ((r = slotset_init(c, &mine)) < 0)
				return r;
			term_all_slots(heads[i], &mine);
			for (uint32_t sl = 0; sl < mine.words * 64; sl++)
				if (slotset_has(&mine, sl) && !slotset_has(&bound, sl))
					return compile_error(c, rule->loc, "var %s is unsafe",
					                     slot_name(c, sl));
		}
		if (heads[i] && (r = order_term_closures(c, heads[i], &bound)) < 0)
			return r;
	}
	for (uint32_t i = 0; i < cr->key_path_length; i++)
		if (!term_evaluable(cr->key_path[i], &bound))
			return compile_error(c, rule->loc, "var in rule head is unsafe");
	if (c->next_slot > REGO_MAX_SLOTS)
		return compile_error(c, rule->loc, "rule has more than %d variables",
		                     REGO_MAX_SLOTS);
	cr->frame_size = c->next_slot;
	scope_pop(c);
	if (rule->else_rule) {
		struct crule *next = rego_arena_zalloc(c->arena, sizeof(*next));
		if (!next)
			return out_of_memory(c);
		*next = *cr;
		next->else_rule = NULL;
		next->loc = rule->else_rule->loc;
		const struct rego_term_list *else_args =
		        rule->else_rule->args.length ? &rule->else_rule->args : args;
		if ((r = compile_rule_clause(c, p, rule->else_rule, next, else_args)) < 0)
			return r;
		cr->else_rule = next;
	}
	return 0;
}

/* ---- recursion ------------------------------------------------------------------------- */

/* Rules may not depend on themselves (OPA's rego_recursion_error). A rule depends on every
 * document it references — a node and the rules below it — and on the functions it calls.
 * The check walks that graph depth first, colouring nodes: 1 on the current path, 2 done. */
struct recursion_walk {
	struct compiler *c;
	uint8_t *colour;        /* by node id */
	struct doc_node **path; /* nodes on the current path, for the message */
	uint32_t depth;
};

static int recursion_visit(struct recursion_walk *w, struct doc_node *node);

static int recursion_body(struct recursion_walk *w, const struct cbody *b);

static int
recursion_node_deps(struct recursion_walk *w, struct doc_node *node)
{
	/* Referencing a document evaluates its rules and every rule below it. */
	int r = 0;
	if (node->rule_count || node->default_rule)
		r = recursion_visit(w, node);
	for (uint32_t i = 0; i < node->child_count && r == 0; i++)
		if (node->children[i]->rule_count || node->children[i]->default_rule ||
		    node->children[i]->has_rules_below)
			r = recursion_node_deps(w, node->children[i]);
	return r;
}

static int
recursion_term(struct recursion_walk *w, const struct cterm *t)
{
	int r = 0;
	if (!t)
		return 0;
	switch (t->kind) {
	case CT_DATA:
		return recursion_node_deps(w, t->u.node);
	case CT_REF:
		if (t->u.ref.base->kind == CT_DATA) {
			/* data.<node>.x where x names no node below: only base data, unless the
			 * node itself holds rules. */
			struct doc_node *node = t->u.ref.base->u.node;
			const struct cterm *first = t->u.ref.segments[0];
			if (node->rule_count || node->default_rule)
				r = recursion_visit(w, node);
			else if (first->kind == CT_VALUE &&
			         rego_doc_child_value(node, first->u.value))
				r = recursion_term(w, t->u.ref.base);
			/* A variable first segment (data[x]) is resolved at run time, where the
			 * evaluator detects recursion; the check follows static references. */
		} else {
			r = recursion_term(w, t->u.ref.base);
		}
		for (uint32_t i = 0; i < t->u.ref.length && r == 0; i++)
			r = recursion_term(w, t->u.ref.segments[i]);
		return r;
	case CT_ARRAY:
	case CT_SET:
	case CT_TEMPLATE:
		for (uint32_t i = 0; i < t->u.list.length && r == 0; i++)
			r = recursion_term(w, t->u.list.items[i]);
		return r;
	case CT_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length && r == 0; i++) {
			r = recursion_term(w, t->u.object.keys[i]);
			if (r == 0)
				r = recursion_term(w, t->u.object.values[i]);
		}
		return r;
	case CT_ARRAY_COMPR:
	case CT_SET_COMPR:
	case CT_OBJECT_COMPR:
		r = recursion_term(w, t->u.compr.key);
		if (r == 0)
			r = recursion_term(w, t->u.compr.head);
		if (r == 0)
			r = recursion_body(w, t->u.compr.body);
		return r;
	case CT_CALL:
		if (t->u.call.kind == CALL_FUNCTION)
			r = recursion_visit(w, t->u.call.node);
		for (uint32_t i = 0; i < t->u.call.length && r == 0; i++)
			r = recursion_term(w, t->u.call.args[i]);
		return r;
	default:
		return 0;
	}
}

static int
recursion_expr(struct recursion_walk *w, const struct cexpr *e)
{
	int r = recursion_term(w, e->a);
	if (r == 0)
		r = recursion_term(w, e->b);
	if (r == 0)
		r = recursion_term(w, e->collection);
	if (r == 0 && e->body)
		r = recursion_body(w, e->body);
	if (r == 0 && e->left)
		r = recursion_expr(w, e->left);
	if (r == 0 && e->right)
		r = recursion_expr(w, e->right);
	for (uint32_t i = 0; i < e->with_count && r == 0; i++) {
		r = recursion_term(w, e->with[i].value);
		if (r == 0 && e->with[i].value_function)
			r = recursion_visit(w, e->with[i].value_function);
	}
	return r;
}

static int
recursion_body(struct recursion_walk *w, const struct cbody *b)
{
	int r = 0;
	for (uint32_t i = 0; b && i < b->length && r == 0; i++)
		r = recursion_expr(w, b->exprs[i]);
	return r;
}

static int
recursion_rule(struct recursion_walk *w, const struct crule *rule)
{
	int r = 0;
	for (; rule && r == 0; rule = rule->else_rule) {
		r = recursion_body(w, rule->body);
		if (r == 0)
			r = recursion_term(w, rule->value);
		if (r == 0)
			r = recursion_term(w, rule->key);
		for (uint32_t i = 0; i < rule->key_path_length && r == 0; i++)
			r = recursion_term(w, rule->key_path[i]);
	}
	return r;
}

static int
recursion_visit(struct recursion_walk *w, struct doc_node *node)
{
	if (w->colour[node->id] == 2)
		return 0;
	if (w->colour[node->id] == 1) {
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, w->c->arena);
		uint32_t start = 0;
		while (start < w->depth && w->path[start] != node)
			start++;
		for (uint32_t i = start; i < w->depth; i++) {
			rego_strbuf_append(&sb, w->path[i]->path, strlen(w->path[i]->path));
			rego_strbuf_append(&sb, " -> ", 4);
		}
		rego_strbuf_append(&sb, node->path, strlen(node->path));
		const struct crule *first = node->rule_count ? node->rules[0] : node->default_rule;
		w->c->module = NULL;
		return compile_error(w->c, first ? first->loc : (struct rego_loc){ 0 },
		                     "rego_recursion_error: rule %s is recursive: %s", node->path,
		                     sb.data ? sb.data : node->path);
	}
	w->colour[node->id] = 1;
	w->path[w->depth++] = node;
	int r = 0;
	for (uint32_t i = 0; i < node->rule_count && r == 0; i++)
		r = recursion_rule(w, node->rules[i]);
	if (r == 0 && node->default_rule)
		r = recursion_rule(w, node->default_rule);
	w->depth--;
	w->colour[node->id] = 2;
	return r;
}

static int
recursion_check_tree(struct recursion_walk *w, struct doc_node *node)
{
	int r = 0;
	if (node->rule_count || node->default_rule)
		r = recursion_visit(w, node);
	for (uint32_t i = 0; i < node->child_count && r == 0; i++)
		r = recursion_check_tree(w, node->children[i]);
	return r;
}

static int
check_recursion(struct compiler *c)
{
	struct recursion_walk w = { .c = c };
	w.colour = rego_arena_zalloc(c->arena, c->policy->node_count + 1);
	w.path = rego_arena_alloc(c->arena, (c->policy->node_count + 1) * sizeof(*w.path));
	if (!w.colour || !w.path)
		return out_of_memory(c);
	return recursion_check_tree(&w, c->policy->root);
}

int
rego_compile_policy(struct jit_rego_policy *policy, struct rego_module **modules, size_t count,
                    struct jit_rego_error *error)
{
	struct compiler c = { .policy = policy, .arena = &policy->arena, .error = error };
	int r;
	policy->root = doc_node_new(&c, NULL, NULL);
	if (!policy->root)
		return out_of_memory(&c);
	size_t total = 0;
	for (size_t m = 0; m < count; m++)
		total += modules[m]->rule_count;
	struct pending_rule *pending =
	        rego_arena_zalloc(&policy->arena, (total + 1) * sizeof(*pending));
	if (!pending)
		return out_of_memory(&c);
	size_t k = 0;
	for (size_t m = 0; m < count; m++) {
		struct doc_node *pkg = NULL;
		c.module = modules[m];
		if ((r = package_node(&c, modules[m], &pkg)) < 0)
			return r;
		for (uint32_t i = 0; i < modules[m]->rule_count; i++, k++) {
			pending[k].rule = modules[m]->rules[i];
			pending[k].module = modules[m];
			pending[k].package = pkg;
			if ((r = place_rule(&c, &pending[k])) < 0)
				return r;
		}
	}
	for (size_t i = 0; i < total; i++) {
		c.module = pending[i].module;
		c.package = pending[i].package;
		c.v1 = pending[i].module->v1;
		r = compile_rule_clause(&c, &pending[i], pending[i].rule, pending[i].compiled,
		                        &pending[i].rule->args);
		if (r < 0)
			return r;
	}
	return check_recursion(&c);
}

int
rego_compile_query(struct jit_rego_policy *policy, struct jit_rego_query *query,
                   struct rego_body *body, bool v1, struct jit_rego_error *error)
{
	struct compiler c = { .policy = policy, .arena = &query->arena, .error = error, .v1 = v1 };
	struct scope *s = scope_push(&c);
	if (!s)
		return out_of_memory(&c);
	int r = predeclare_body(&c, body);
	if (r == 0)
		r = compile_body(&c, body, &query->body);
	if (r < 0)
		return r;
	struct slotset bound;
	if ((r = slotset_init(&c, &bound)) < 0)
		return r;
	if ((r = order_body(&c, query->body, &bound)) < 0)
		return r;
	if (c.next_slot > REGO_MAX_SLOTS)
		return compile_error(&c, body->loc, "query has more than %d variables",
		                     REGO_MAX_SLOTS);
	query->frame_size = c.next_slot;
	query->var_names = rego_arena_alloc(&query->arena, (s->length + 1) * sizeof(char *));
	query->var_slots = rego_arena_alloc(&query->arena, (s->length + 1) * sizeof(uint32_t));
	if (!query->var_names || !query->var_slots)
		return out_of_memory(&c);
	for (uint32_t i = 0; i < s->length; i++) {
		bool dup = false;
		for (uint32_t j = 0; j < query->var_count; j++)
			if (strcmp(query->var_names[j], s->vars[i].name) == 0)
				dup = true;
		if (dup || s->vars[i].name[0] == '_' || !slotset_has(&bound, s->vars[i].slot))
			continue;
		query->var_names[query->var_count] = s->vars[i].name;
		query->var_slots[query->var_count] = s->vars[i].slot;
		query->var_count++;
	}
	scope_pop(&c);
	return 0;
}
