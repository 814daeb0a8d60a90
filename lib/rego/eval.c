/* Top-down evaluation with backtracking, written in continuation-passing style: every
 * generator calls its continuation once per solution, and every binding is undone when the
 * continuation returns. Bounded by a step budget, a call depth and an arena limit, so a
 * hostile policy ends with an error rather than hanging or exhausting memory. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/common/errors.h"
#include "lib/rego/eval.h"

/* Returned by a continuation to stop the generator that asked for it (found enough). */
#define STOP 1

/* Each pending expression and term holds C stack frames: their nesting is bounded so that no
 * policy can exhaust the stack. */
#define EVAL_MAX_NESTING 20000

struct frame {
	const struct rego_value **slots;
	uint32_t size;
};

typedef int (*cont_fn)(struct rego_eval *ev, void *ctx);
typedef int (*vcont_fn)(struct rego_eval *ev, const struct rego_value *v, void *ctx);

struct cont {
	cont_fn fn;
	void *ctx;
};

struct vcont {
	vcont_fn fn;
	void *ctx;
};

struct eval_mock {
	struct eval_mock *next;
	const struct rego_builtin *builtin; /* replaced built-in ... */
	struct doc_node *function;          /* ... or function */
	const struct rego_value *value;     /* replacement value, or */
	const struct rego_builtin *value_builtin;
	struct doc_node *value_function;
};

struct eval_memo {
	struct eval_memo *next;
	const struct rego_builtin *builtin;
	const struct rego_value *args; /* array of the arguments */
	const struct rego_value *result;
};

static inline int
k_call(struct rego_eval *ev, const struct cont *k)
{
	return k->fn(ev, k->ctx);
}

static inline int
vk_call(struct rego_eval *ev, const struct vcont *k, const struct rego_value *v)
{
	return k->fn(ev, v, k->ctx);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void record_eval_error(struct rego_eval *ev, enum jit_rego_error_code code,
                              struct rego_loc loc, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Records the first evaluation error; eval_error() also evaluates to JIT_ERR_INVALID, to
 * return. A macro, so that the static analyzer, which does not follow calls into variadic
 * functions, sees that the code is negative. */
#define eval_error(ev, code, loc, ...) \
	(record_eval_error((ev), (code), (loc), __VA_ARGS__), JIT_ERR_INVALID)

static void
record_eval_error(struct rego_eval *ev, enum jit_rego_error_code code, struct rego_loc loc,
                  const char *fmt, ...)
{
	if (ev->error_code == JIT_REGO_OK) {
		char msg[400];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		ev->error_code = code;
		/* OPA's form: module:row: code: message. */
		if (loc.line)
			snprintf(ev->error_message, sizeof(ev->error_message), "%s:%u: %s: %s",
			         ev->module ? ev->module : "query", loc.line,
			         jit_rego_error_code_name(code), msg);
		else
			snprintf(ev->error_message, sizeof(ev->error_message), "%s: %s",
			         jit_rego_error_code_name(code), msg);
	}
}

static int
oom(struct rego_eval *ev)
{
	if (ev->arena.limit && ev->arena.used + 4096 >= ev->arena.limit)
		return eval_error(ev, JIT_REGO_LIMIT_ERROR, (struct rego_loc){ 0 },
		                  "evaluation memory limit exceeded");
	return eval_error(ev, JIT_REGO_INTERNAL_ERROR, (struct rego_loc){ 0 }, "out of memory");
}

static inline int
step(struct rego_eval *ev)
{
	if (__builtin_expect(++ev->steps > ev->max_steps, 0))
		return eval_error(ev, JIT_REGO_LIMIT_ERROR, (struct rego_loc){ 0 },
		                  "evaluation step budget of %llu exceeded",
		                  (unsigned long long)ev->max_steps);
	return 0;
}

/* ---- forward declarations -------------------------------------------------------------- */

static int eval_term(struct rego_eval *ev, struct frame *f, const struct cterm *t,
                     const struct vcont *k);
static int eval_body(struct rego_eval *ev, struct frame *f, const struct cbody *b, uint32_t i,
                     const struct cont *k);
static int unify_value(struct rego_eval *ev, struct frame *f, const struct cterm *p,
                       const struct rego_value *v, const struct cont *k);
static int walk_value(struct rego_eval *ev, struct frame *f, const struct rego_value *v,
                      struct cterm *const *segs, uint32_t n, uint32_t i, const struct vcont *k);
static int eval_data(struct rego_eval *ev, struct frame *f, struct doc_node *node,
                     const struct rego_value *base, struct cterm *const *segs, uint32_t n,
                     uint32_t i, const struct vcont *k);
static int call_function(struct rego_eval *ev, struct doc_node *node,
                         const struct rego_value *const *args, struct rego_loc loc,
                         const struct rego_value **ret);
static int node_value(struct rego_eval *ev, struct doc_node *node, const struct rego_value *base,
                      const struct rego_value **ret);

/* ---- small helpers --------------------------------------------------------------------- */

struct first_ctx {
	const struct rego_value *value;
};

static int
first_value_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	((struct first_ctx *)ctx)->value = v;
	return STOP;
}

/* Evaluates `t` and returns its first value in *ret (NULL when undefined). */
static int
eval_one(struct rego_eval *ev, struct frame *f, const struct cterm *t,
         const struct rego_value **ret)
{
	if (t->kind == CT_VALUE) {
		*ret = t->u.value;
		return 0;
	}
	if (t->kind == CT_LOCAL && f->slots[t->u.slot]) {
		*ret = f->slots[t->u.slot];
		return 0;
	}
	struct first_ctx fc = { NULL };
	struct vcont k = { first_value_cb, &fc };
	int r = eval_term(ev, f, t, &k);
	if (r < 0)
		return r;
	*ret = fc.value;
	return 0;
}

static struct frame *
frame_new(struct rego_eval *ev, uint32_t size)
{
	struct frame *f = rego_arena_alloc(&ev->arena, sizeof(*f));
	if (!f)
		return NULL;
	f->size = size;
	f->slots = rego_arena_zalloc(&ev->arena, (size ? size : 1) * sizeof(*f->slots));
	return f->slots ? f : NULL;
}

/* Returns a copy of `root` (an object, or NULL for none) with `value` stored at `path`,
 * creating objects along the way. NULL on out of memory. */
static const struct rego_value *
value_set_path(struct rego_eval *ev, const struct rego_value *root,
               const struct rego_value *const *path, uint32_t n, const struct rego_value *value)
{
	if (n == 0)
		return value;
	if (!root || root->type != REGO_OBJECT)
		root = &rego_empty_object;
	const struct rego_value *child = rego_object_get(root, path[0]);
	const struct rego_value *updated = value_set_path(ev, child, path + 1, n - 1, value);
	if (!updated)
		return NULL;
	struct rego_member_vec m;
	rego_member_vec_init(&m, &ev->arena);
	for (uint32_t i = 0; i < root->length; i++)
		if (rego_member_vec_push(&m, root->u.members[i].key, root->u.members[i].value) < 0)
			return NULL;
	if (rego_member_vec_push(&m, path[0], updated) < 0)
		return NULL;
	return rego_member_vec_to_object(&m);
}

/* ---- unification ----------------------------------------------------------------------- */

struct bind_seq_ctx {
	struct frame *f;
	const struct cterm *const *patterns;
	const struct rego_value *const *values;
	uint32_t n, i;
	const struct cont *k;
};

static int bind_seq_next(struct rego_eval *ev, void *ctx);

static int
bind_seq(struct rego_eval *ev, struct bind_seq_ctx *s)
{
	if (s->i == s->n)
		return k_call(ev, s->k);
	struct bind_seq_ctx next = *s;
	next.i = s->i + 1;
	struct cont k = { bind_seq_next, &next };
	return unify_value(ev, s->f, s->patterns[s->i], s->values[s->i], &k);
}

static int
bind_seq_next(struct rego_eval *ev, void *ctx)
{
	return bind_seq(ev, ctx);
}

struct compare_ctx {
	const struct rego_value *value;
	const struct cont *k;
};

static int
compare_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	struct compare_ctx *c = ctx;
	if (!rego_equal(v, c->value))
		return 0;
	return k_call(ev, c->k);
}

/* Unifies the term `p` (which may hold unbound variables) with the value `v`. */
static int
unify_value(struct rego_eval *ev, struct frame *f, const struct cterm *p,
            const struct rego_value *v, const struct cont *k)
{
	switch (p->kind) {
	case CT_VALUE:
		return rego_equal(p->u.value, v) ? k_call(ev, k) : 0;
	case CT_LOCAL: {
		const struct rego_value **slot = &f->slots[p->u.slot];
		if (*slot)
			return rego_equal(*slot, v) ? k_call(ev, k) : 0;
		*slot = v;
		int r = k_call(ev, k);
		*slot = NULL;
		return r;
	}
	case CT_ARRAY: {
		if (v->type != REGO_ARRAY || v->length != p->u.list.length)
			return 0;
		struct bind_seq_ctx s = { f,          (const struct cterm *const *)p->u.list.items,
			                  v->u.items, v->length,
			                  0,          k };
		return bind_seq(ev, &s);
	}
	case CT_OBJECT: {
		if (v->type != REGO_OBJECT || v->length != p->u.object.length)
			return 0;
		uint32_t n = p->u.object.length;
		const struct rego_value **values =
		        rego_arena_alloc(&ev->arena, n * sizeof(*values));
		if (!values)
			return oom(ev);
		for (uint32_t i = 0; i < n; i++) {
			const struct rego_value *key;
			int r = eval_one(ev, f, p->u.object.keys[i], &key);
			if (r < 0)
				return r;
			if (!key || !(values[i] = rego_object_get(v, key)))
				return 0;
		}
		struct bind_seq_ctx s = { f,      (const struct cterm *const *)p->u.object.values,
			                  values, n,
			                  0,      k };
		return bind_seq(ev, &s);
	}
	default: {
		struct compare_ctx c = { v, k };
		struct vcont vk = { compare_cb, &c };
		return eval_term(ev, f, p, &vk);
	}
	}
}

static bool
term_is_unbound_var(const struct frame *f, const struct cterm *t)
{
	return t->kind == CT_LOCAL && !f->slots[t->u.slot];
}

/* Does the term hold an unbound variable where unification could bind it? */
static bool
term_is_pattern(const struct frame *f, const struct cterm *t)
{
	switch (t->kind) {
	case CT_LOCAL:
		return !f->slots[t->u.slot];
	case CT_ARRAY:
		for (uint32_t i = 0; i < t->u.list.length; i++)
			if (term_is_pattern(f, t->u.list.items[i]))
				return true;
		return false;
	case CT_OBJECT:
		for (uint32_t i = 0; i < t->u.object.length; i++)
			if (term_is_pattern(f, t->u.object.values[i]))
				return true;
		return false;
	default:
		return false;
	}
}

struct unify_ctx {
	struct frame *f;
	const struct cterm *pattern;
	const struct cont *k;
};

static int
unify_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	struct unify_ctx *u = ctx;
	return unify_value(ev, u->f, u->pattern, v, u->k);
}

struct unify_pairs_ctx {
	struct frame *f;
	struct cterm *const *a;
	struct cterm *const *b;
	uint32_t n, i;
	const struct cont *k;
};

static int unify_terms(struct rego_eval *ev, struct frame *f, const struct cterm *a,
                       const struct cterm *b, const struct cont *k);

static int
unify_pairs_next(struct rego_eval *ev, void *ctx)
{
	struct unify_pairs_ctx *s = ctx;
	if (s->i == s->n)
		return k_call(ev, s->k);
	struct unify_pairs_ctx next = *s;
	next.i = s->i + 1;
	struct cont k = { unify_pairs_next, &next };
	return unify_terms(ev, s->f, s->a[s->i], s->b[s->i], &k);
}

/* Unifies two terms. Structural when both are composites of the same shape; otherwise one
 * side is evaluated and the other unified with each of its values. */
static int
unify_terms(struct rego_eval *ev, struct frame *f, const struct cterm *a, const struct cterm *b,
            const struct cont *k)
{
	if (a->kind == CT_ARRAY && b->kind == CT_ARRAY && a->u.list.length == b->u.list.length &&
	    (term_is_pattern(f, a) || term_is_pattern(f, b))) {
		/* Pairs whose one side is evaluable go first so the others see the bindings. */
		uint32_t n = a->u.list.length;
		struct cterm **pa = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*pa));
		struct cterm **pb = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*pb));
		if (!pa || !pb)
			return oom(ev);
		uint32_t at = 0;
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t i = 0; i < n; i++) {
				bool easy = !term_is_pattern(f, a->u.list.items[i]) ||
				            !term_is_pattern(f, b->u.list.items[i]);
				if (easy == (pass == 0)) {
					pa[at] = a->u.list.items[i];
					pb[at] = b->u.list.items[i];
					at++;
				}
			}
		struct unify_pairs_ctx s = { f, pa, pb, n, 0, k };
		return unify_pairs_next(ev, &s);
	}
	if (a->kind == CT_OBJECT && b->kind == CT_OBJECT &&
	    a->u.object.length == b->u.object.length &&
	    (term_is_pattern(f, a) || term_is_pattern(f, b))) {
		uint32_t n = a->u.object.length;
		struct cterm **pa = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*pa));
		struct cterm **pb = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*pb));
		if (!pa || !pb)
			return oom(ev);
		for (uint32_t i = 0; i < n; i++) {
			const struct rego_value *ka;
			int r = eval_one(ev, f, a->u.object.keys[i], &ka);
			if (r < 0)
				return r;
			if (!ka)
				return 0;
			bool found = false;
			for (uint32_t j = 0; j < n && !found; j++) {
				const struct rego_value *kb;
				if ((r = eval_one(ev, f, b->u.object.keys[j], &kb)) < 0)
					return r;
				if (kb && rego_equal(ka, kb)) {
					pa[i] = a->u.object.values[i];
					pb[i] = b->u.object.values[j];
					found = true;
				}
			}
			if (!found)
				return 0;
		}
		struct unify_pairs_ctx s = { f, pa, pb, n, 0, k };
		return unify_pairs_next(ev, &s);
	}
	/* Evaluate the side that is not a pattern; unify the other with each value. */
	const struct cterm *source = b, *pattern = a;
	if (term_is_unbound_var(f, b) || (term_is_pattern(f, b) && !term_is_pattern(f, a))) {
		source = a;
		pattern = b;
	}
	struct unify_ctx u = { f, pattern, k };
	struct vcont vk = { unify_cb, &u };
	return eval_term(ev, f, source, &vk);
}

/* ---- references ------------------------------------------------------------------------ */

struct walk_ctx {
	struct frame *f;
	const struct rego_value *collection;
	struct cterm *const *segs;
	uint32_t n, i;
	const struct vcont *k;
};

/* Child of a collection for a key: array index, object key, set member. */
static const struct rego_value *
collection_get(const struct rego_value *c, const struct rego_value *key)
{
	switch (c->type) {
	case REGO_ARRAY: {
		int64_t idx;
		if (key->type != REGO_NUMBER || !rego_number_int64(key, &idx) || idx < 0 ||
		    (uint64_t)idx >= c->length)
			return NULL;
		return c->u.items[idx];
	}
	case REGO_OBJECT:
		return rego_object_get(c, key);
	case REGO_SET:
		return rego_set_contains(c, key) ? key : NULL;
	default:
		return NULL;
	}
}

static int
walk_key_cb(struct rego_eval *ev, const struct rego_value *key, void *ctx)
{
	struct walk_ctx *w = ctx;
	const struct rego_value *child = collection_get(w->collection, key);
	if (!child)
		return 0;
	return walk_value(ev, w->f, child, w->segs, w->n, w->i + 1, w->k);
}

struct walk_bind_ctx {
	struct walk_ctx *w;
	const struct rego_value *child;
};

static int
walk_bound_cb(struct rego_eval *ev, void *ctx)
{
	struct walk_bind_ctx *b = ctx;
	return walk_value(ev, b->w->f, b->child, b->w->segs, b->w->n, b->w->i + 1, b->w->k);
}

/* Iterates the collection, unifying the segment pattern with each key. */
static int
walk_iterate(struct rego_eval *ev, struct walk_ctx *w, const struct cterm *seg)
{
	const struct rego_value *c = w->collection;
	struct walk_bind_ctx b = { w, NULL };
	struct cont k = { walk_bound_cb, &b };
	int r = 0;
	for (uint32_t i = 0; i < c->length && r >= 0 && r != STOP; i++) {
		const struct rego_value *key;
		if ((r = step(ev)) < 0)
			return r;
		switch (c->type) {
		case REGO_ARRAY:
			key = rego_int(&ev->arena, i);
			if (!key)
				return oom(ev);
			b.child = c->u.items[i];
			break;
		case REGO_OBJECT:
			key = c->u.members[i].key;
			b.child = c->u.members[i].value;
			break;
		default:
			key = b.child = c->u.items[i];
			break;
		}
		r = unify_value(ev, w->f, seg, key, &k);
	}
	return r;
}

/* Follows segments i..n-1 from the value v. */
static int
walk_value(struct rego_eval *ev, struct frame *f, const struct rego_value *v,
           struct cterm *const *segs, uint32_t n, uint32_t i, const struct vcont *k)
{
	while (i < n) {
		const struct cterm *seg = segs[i];
		const struct rego_value *key = NULL;
		if (seg->kind == CT_VALUE)
			key = seg->u.value;
		else if (seg->kind == CT_LOCAL && f->slots[seg->u.slot])
			key = f->slots[seg->u.slot];
		if (!key)
			break;
		v = collection_get(v, key);
		if (!v)
			return 0;
		i++;
	}
	if (i == n)
		return vk_call(ev, k, v);
	if (v->type != REGO_ARRAY && v->type != REGO_OBJECT && v->type != REGO_SET)
		return 0;
	struct walk_ctx w = { f, v, segs, n, i, k };
	const struct cterm *seg = segs[i];
	if (term_is_pattern(f, seg))
		return walk_iterate(ev, &w, seg);
	struct vcont kk = { walk_key_cb, &w };
	return eval_term(ev, f, seg, &kk);
}

/* Base document below `base` for a key (NULL when absent). The base document is JSON, so
 * an integer key also finds the member named by its decimal text (data[2] is data["2"]). */
static const struct rego_value *
base_child(const struct rego_value *base, const struct rego_value *key)
{
	if (!base || base->type != REGO_OBJECT)
		return NULL;
	const struct rego_value *v = rego_object_get(base, key);
	int64_t i;
	if (!v && key->type == REGO_NUMBER && rego_number_int64(key, &i)) {
		char text[24];
		int n = snprintf(text, sizeof(text), "%lld", (long long)i);
		v = rego_object_get_string(base, text, (size_t)n);
	}
	return v;
}

struct data_key_ctx {
	struct frame *f;
	struct doc_node *node;
	const struct rego_value *base;
	struct cterm *const *segs;
	uint32_t n, i;
	const struct vcont *k;
};

static int
data_key_cb(struct rego_eval *ev, const struct rego_value *key, void *ctx)
{
	struct data_key_ctx *d = ctx;
	struct doc_node *child = rego_doc_child_value(d->node, key);
	const struct rego_value *b = base_child(d->base, key);
	if (child)
		return eval_data(ev, d->f, child, b, d->segs, d->n, d->i + 1, d->k);
	if (!b)
		return 0;
	return walk_value(ev, d->f, b, d->segs, d->n, d->i + 1, d->k);
}

/* Evaluates data at `node` (base document `base` at the same path) followed by segments. */
static int
eval_data(struct rego_eval *ev, struct frame *f, struct doc_node *node,
          const struct rego_value *base, struct cterm *const *segs, uint32_t n, uint32_t i,
          const struct vcont *k)
{
	int r;
	for (;;) {
		if (ev->override_count && ev->node_override[node->id])
			return walk_value(ev, f, ev->node_override[node->id], segs, n, i, k);
		if (node->rule_count || node->default_rule || i == n)
			break;
		const struct cterm *seg = segs[i];
		if (term_is_pattern(f, seg))
			break;
		if (seg->kind != CT_VALUE && !(seg->kind == CT_LOCAL)) {
			struct data_key_ctx d = { f, node, base, segs, n, i, k };
			struct vcont kk = { data_key_cb, &d };
			return eval_term(ev, f, seg, &kk);
		}
		const struct rego_value *key =
		        seg->kind == CT_VALUE ? seg->u.value : f->slots[seg->u.slot];
		struct doc_node *child = rego_doc_child_value(node, key);
		base = base_child(base, key);
		i++;
		if (!child) {
			/* Plain JSON from here on: keep JSON's key rules while segments are known. */
			while (base && i < n) {
				const struct cterm *s = segs[i];
				const struct rego_value *kv =
				        s->kind == CT_VALUE ? s->u.value
				        : s->kind == CT_LOCAL && f->slots[s->u.slot]
				                ? f->slots[s->u.slot]
				                : NULL;
				if (!kv || base->type != REGO_OBJECT)
					break;
				base = base_child(base, kv);
				i++;
			}
			if (!base)
				return 0;
			return walk_value(ev, f, base, segs, n, i, k);
		}
		node = child;
	}
	if (node->rule_count && node->rule_kind == CR_FUNCTION && node->arity > 0)
		return 0;
	const struct rego_value *v;
	if ((r = node_value(ev, node, base, &v)) < 0)
		return r;
	if (!v)
		return 0;
	return walk_value(ev, f, v, segs, n, i, k);
}

/* Value of the base document at a node's path. */
static const struct rego_value *
base_at(struct rego_eval *ev, const struct doc_node *node)
{
	if (!node->parent)
		return ev->data;
	const struct rego_value *parent = base_at(ev, node->parent);
	return base_child(parent, node->key);
}

/* ---- rules ----------------------------------------------------------------------------- */

struct rule_ctx {
	struct frame *f;
	const struct crule *rule;
	struct doc_node *node;
	const struct rego_value *result; /* complete rules and functions */
	bool function;
	struct rego_vec *elements;    /* partial sets */
	struct rego_vec *entries;     /* object rules: arrays [path..., value] */
	struct rego_vec *entry_multi; /* parallel flags: true for `contains` entries */
};

static int
conflict(struct rego_eval *ev, const struct rule_ctx *rc)
{
	return eval_error(ev, JIT_REGO_CONFLICT_ERROR, rc->rule->loc, "%s",
	                  rc->function
	                          ? "functions must not produce multiple outputs for same inputs"
	                          : "complete rules must not produce multiple outputs");
}

static int
rule_value_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	struct rule_ctx *rc = ctx;
	if (rc->result && !rego_equal(rc->result, v))
		return conflict(ev, rc);
	rc->result = v;
	return rc->rule->constant_value ? STOP : 0;
}

static int
rule_body_done(struct rego_eval *ev, void *ctx)
{
	struct rule_ctx *rc = ctx;
	struct vcont k = { rule_value_cb, rc };
	return eval_term(ev, rc->f, rc->rule->value, &k);
}

static int
multi_element_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	struct rule_ctx *rc = ctx;
	return rego_vec_push(rc->elements, v) < 0 ? oom(ev) : 0;
}

static int
multi_body_done(struct rego_eval *ev, void *ctx)
{
	struct rule_ctx *rc = ctx;
	struct vcont k = { multi_element_cb, rc };
	return eval_term(ev, rc->f, rc->rule->key, &k);
}

/* Object rules: records [key path..., value] once the body and head are evaluated. */
static int
object_entry_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	struct rule_ctx *rc = ctx;
	const struct crule *rule = rc->rule;
	uint32_t n = rule->key_path_length;
	const struct rego_value **items = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*items));
	if (!items)
		return oom(ev);
	for (uint32_t i = 0; i < n; i++) {
		int r = eval_one(ev, rc->f, rule->key_path[i], &items[i]);
		if (r < 0)
			return r;
		if (!items[i])
			return 0;
	}
	items[n] = v;
	const struct rego_value *entry = rego_array(&ev->arena, items, n + 1);
	if (!entry || rego_vec_push(rc->entries, entry) < 0 ||
	    rego_vec_push(rc->entry_multi, rego_bool(rule->kind == CR_OBJECT && rule->key)) < 0)
		return oom(ev);
	return 0;
}

static int
object_body_done(struct rego_eval *ev, void *ctx)
{
	struct rule_ctx *rc = ctx;
	struct vcont k = { object_entry_cb, rc };
	return eval_term(ev, rc->f, rc->rule->key ? rc->rule->key : rc->rule->value, &k);
}

/* Builds nested objects from entries [k1, ..., kn, value] sharing the first `depth` keys. */
static int
build_object(struct rego_eval *ev, const struct rule_ctx *rc, const struct rego_value **entries,
             const bool *multi, uint32_t n, uint32_t depth, const struct rego_value **ret)
{
	/* The entries come from evaluated clauses, so rc->rule (the last one) is set. */
	if (!rc->rule)
		return eval_error(ev, JIT_REGO_INTERNAL_ERROR, (struct rego_loc){ 0 },
		                  "object entries without a rule");
	/* Leaves at this depth: one value (all equal) or set elements. */
	bool has_leaf = false, has_deeper = false, leaf_multi = false;
	for (uint32_t i = 0; i < n; i++) {
		if (entries[i]->length == depth + 1) {
			has_leaf = true;
			leaf_multi = multi[i];
		} else {
			has_deeper = true;
		}
	}
	if (has_leaf && has_deeper)
		return eval_error(ev, JIT_REGO_CONFLICT_ERROR, rc->rule->loc,
		                  "object keys must be unique");
	if (has_leaf) {
		if (leaf_multi) {
			struct rego_vec set;
			rego_vec_init(&set, &ev->arena);
			for (uint32_t i = 0; i < n; i++)
				if (rego_vec_push(&set, entries[i]->u.items[depth]) < 0)
					return oom(ev);
			*ret = rego_vec_to_set(&set);
			return *ret ? 0 : oom(ev);
		}
		for (uint32_t i = 1; i < n; i++)
			if (!rego_equal(entries[0]->u.items[depth], entries[i]->u.items[depth]))
				return eval_error(ev, JIT_REGO_CONFLICT_ERROR, rc->rule->loc,
				                  "object keys must be unique");
		*ret = entries[0]->u.items[depth];
		return 0;
	}
	/* Group by the key at this depth (entries sorted by it). */
	struct rego_member_vec members;
	rego_member_vec_init(&members, &ev->arena);
	uint32_t start = 0;
	while (start < n) {
		uint32_t end = start + 1;
		while (end < n &&
		       rego_equal(entries[start]->u.items[depth], entries[end]->u.items[depth]))
			end++;
		const struct rego_value *child;
		int r = build_object(ev, rc, entries + start, multi + start, end - start, depth + 1,
		                     &child);
		if (r < 0)
			return r;
		if (rego_member_vec_push(&members, entries[start]->u.items[depth], child) < 0)
			return oom(ev);
		start = end;
	}
	*ret = rego_member_vec_to_object(&members);
	return *ret ? 0 : oom(ev);
}

struct entry_sort {
	const struct rego_value *entry;
	bool multi;
};

static int
compare_entries(const void *a, const void *b)
{
	const struct rego_value *x = ((const struct entry_sort *)a)->entry;
	const struct rego_value *y = ((const struct entry_sort *)b)->entry;
	uint32_t n = x->length < y->length ? x->length : y->length;
	/* Compare key paths only (not the values): entries with equal paths stay adjacent. */
	for (uint32_t i = 0; i + 1 < n; i++) {
		int c = rego_compare(x->u.items[i], y->u.items[i]);
		if (c)
			return c;
	}
	return (int)x->length - (int)y->length;
}

struct params_ctx {
	struct frame *f;
	const struct cbody *body;
	const struct cont *k;
};

static int
params_bound(struct rego_eval *ev, void *ctx)
{
	struct params_ctx *p = ctx;
	return eval_body(ev, p->f, p->body, 0, p->k);
}

/* Runs one rule clause (and its else chain for complete rules and functions). For functions
 * the parameters are unified with the arguments first. */
static int
eval_clause(struct rego_eval *ev, struct rule_ctx *rc, const struct crule *clause,
            const struct rego_value *const *args, cont_fn done)
{
	for (; clause; clause = clause->else_rule) {
		struct frame *f = frame_new(ev, clause->frame_size);
		if (!f)
			return oom(ev);
		rc->f = f;
		rc->rule = clause;
		struct cont k = { done, rc };
		int r;
		const char *saved_module = ev->module;
		ev->module = clause->module;
		if (args && clause->arity) {
			struct params_ctx p = { f, clause->body, &k };
			struct cont after = { params_bound, &p };
			struct bind_seq_ctx s = { f,    (const struct cterm *const *)clause->args,
				                  args, clause->arity,
				                  0,    &after };
			r = bind_seq(ev, &s);
		} else {
			r = eval_body(ev, f, clause->body, 0, &k);
		}
		ev->module = saved_module;
		if (r < 0)
			return r;
		/* A clause that produced a value ends the else chain. */
		if (rc->result || (rc->elements && rc->elements->length) ||
		    (rc->entries && rc->entries->length))
			return 0;
	}
	return 0;
}

static int
enter(struct rego_eval *ev, struct rego_loc loc)
{
	if (++ev->depth > ev->max_depth)
		return eval_error(ev, JIT_REGO_LIMIT_ERROR, loc,
		                  "maximum call depth of %u exceeded", ev->max_depth);
	return 0;
}

static int
eval_default(struct rego_eval *ev, const struct crule *rule, const struct rego_value **ret)
{
	struct frame *f = frame_new(ev, rule->frame_size);
	if (!f)
		return oom(ev);
	return eval_one(ev, f, rule->value, ret);
}

/* The one value of a complete rule or a function call (`args`): every definition is tried,
 * two different values are a conflict, and the default applies when none has a value. */
static int
eval_single_value(struct rego_eval *ev, struct rule_ctx *rc, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	struct doc_node *node = rc->node;
	const struct rego_value *result = NULL;
	int r = 0;
	for (uint32_t i = 0; i < node->rule_count && r >= 0; i++) {
		rc->result = NULL;
		r = eval_clause(ev, rc, node->rules[i], args, rule_body_done);
		if (r >= 0 && rc->result) {
			if (result && !rego_equal(result, rc->result))
				return conflict(ev, rc);
			result = rc->result;
		}
	}
	if (r >= 0 && !result && node->default_rule)
		r = eval_default(ev, node->default_rule, &result);
	if (r < 0)
		return r;
	*ret = result;
	return 0;
}

/* Evaluates the rules held by `node` into *ret (NULL: undefined). */
static int
eval_rules(struct rego_eval *ev, struct doc_node *node, const struct rego_value **ret)
{
	struct rule_ctx rc = { .node = node };
	int r = 0;
	*ret = NULL;
	if ((r = enter(ev, node->rule_count ? node->rules[0]->loc : (struct rego_loc){ 0 })) < 0)
		return r;
	switch (node->rule_kind) {
	case CR_COMPLETE:
		r = eval_single_value(ev, &rc, NULL, ret);
		break;
	case CR_MULTI: {
		struct rego_vec elements;
		rego_vec_init(&elements, &ev->arena);
		rc.elements = &elements;
		for (uint32_t i = 0; i < node->rule_count && r >= 0; i++)
			r = eval_clause(ev, &rc, node->rules[i], NULL, multi_body_done);
		if (r >= 0) {
			*ret = rego_vec_to_set(&elements);
			if (!*ret)
				r = oom(ev);
		}
		break;
	}
	case CR_OBJECT: {
		struct rego_vec entries, flags;
		rego_vec_init(&entries, &ev->arena);
		rego_vec_init(&flags, &ev->arena);
		rc.entries = &entries;
		rc.entry_multi = &flags;
		const struct rego_value *whole = NULL;
		for (uint32_t i = 0; i < node->rule_count && r >= 0; i++) {
			if (node->rules[i]->kind == CR_COMPLETE) {
				rc.result = NULL;
				r = eval_clause(ev, &rc, node->rules[i], NULL, rule_body_done);
				if (r >= 0 && rc.result)
					whole = rc.result;
				continue;
			}
			r = eval_clause(ev, &rc, node->rules[i], NULL, object_body_done);
		}
		if (r < 0)
			break;
		if (whole && entries.length == 0) {
			*ret = whole;
			break;
		}
		struct entry_sort *sorted =
		        rego_arena_alloc(&ev->arena, (entries.length + 1) * sizeof(*sorted));
		const struct rego_value **list =
		        rego_arena_alloc(&ev->arena, (entries.length + 1) * sizeof(*list));
		bool *multi = rego_arena_alloc(&ev->arena, entries.length + 1);
		if (!sorted || !list || !multi) {
			r = oom(ev);
			break;
		}
		for (size_t i = 0; i < entries.length; i++) {
			sorted[i].entry = entries.items[i];
			sorted[i].multi = flags.items[i]->u.boolean;
		}
		qsort(sorted, entries.length, sizeof(*sorted), compare_entries);
		for (size_t i = 0; i < entries.length; i++) {
			list[i] = sorted[i].entry;
			multi[i] = sorted[i].multi;
		}
		if (entries.length == 0) {
			*ret = &rego_empty_object;
			break;
		}
		r = build_object(ev, &rc, list, multi, (uint32_t)entries.length, 0, ret);
		break;
	}
	default:
		break;
	}
	ev->depth--;
	return r < 0 ? r : 0;
}

/* How many object levels the rules of `node` build from their head variables (the shortest
 * head): the rule values start below that. */
static int
object_rule_depth(const struct doc_node *node)
{
	int depth = -1;
	for (uint32_t i = 0; i < node->rule_count; i++) {
		int d = node->rules[i]->kind == CR_OBJECT ? (int)node->rules[i]->key_path_length
		                                          : 0;
		if (depth < 0 || d < depth)
			depth = d;
	}
	return depth < 0 ? 0 : depth;
}

/* Passed as `levels` when merging base data with rules: merge at any depth. */
#define BASE_MERGE_LEVELS 4096

/* Merges two documents defined for the same path: sets unite, objects merge key by key,
 * equal values stay, anything else is a conflict. */
static int
merge_documents(struct rego_eval *ev, const struct doc_node *node, const struct rego_value *a,
                const struct rego_value *b, int levels, const struct rego_value **ret)
{
	if (rego_equal(a, b)) {
		*ret = a;
		return 0;
	}
	/* Below `levels` the objects are rule values, which other rules may not extend. */
	if (a->type == REGO_SET && b->type == REGO_SET && levels >= 0) {
		struct rego_vec all;
		rego_vec_init(&all, &ev->arena);
		for (uint32_t i = 0; i < a->length; i++)
			if (rego_vec_push(&all, a->u.items[i]) < 0)
				return oom(ev);
		for (uint32_t i = 0; i < b->length; i++)
			if (rego_vec_push(&all, b->u.items[i]) < 0)
				return oom(ev);
		*ret = rego_vec_to_set(&all);
		return *ret ? 0 : oom(ev);
	}
	if (a->type == REGO_OBJECT && b->type == REGO_OBJECT && levels > 0) {
		struct rego_member_vec m;
		rego_member_vec_init(&m, &ev->arena);
		for (uint32_t i = 0; i < a->length; i++) {
			const struct rego_value *key = a->u.members[i].key,
			                        *v = a->u.members[i].value;
			const struct rego_value *other = rego_object_get(b, key);
			int r;
			if (other && (r = merge_documents(ev, node, v, other, levels - 1, &v)) < 0)
				return r;
			if (rego_member_vec_push(&m, key, v) < 0)
				return oom(ev);
		}
		for (uint32_t i = 0; i < b->length; i++)
			if (!rego_object_get(a, b->u.members[i].key) &&
			    rego_member_vec_push(&m, b->u.members[i].key, b->u.members[i].value) <
			            0)
				return oom(ev);
		*ret = rego_member_vec_to_object(&m);
		return *ret ? 0 : oom(ev);
	}
	if (levels >= BASE_MERGE_LEVELS / 2) {
		/* Base data and a rule at the same path: the base document wins, as in OPA. */
		*ret = a;
		return 0;
	}
	return eval_error(ev, JIT_REGO_CONFLICT_ERROR,
	                  node->rule_count ? node->rules[0]->loc : (struct rego_loc){ 0 },
	                  "object keys must be unique");
}

/* The document at `node`: its rules' value, or the object of its children merged with the
 * base document. Cached per evaluation generation. */
static int
node_value(struct rego_eval *ev, struct doc_node *node, const struct rego_value *base,
           const struct rego_value **ret)
{
	if (ev->override_count && ev->node_override[node->id]) {
		*ret = ev->node_override[node->id];
		return 0;
	}
	struct eval_cache_entry *entry = &ev->cache[node->id];
	if (entry->generation == ev->generation) {
		if (entry->state == 2) {
			*ret = entry->value;
			return 0;
		}
		if (entry->state == 1)
			return eval_error(ev, JIT_REGO_COMPILE_ERROR,
			                  node->rule_count ? node->rules[0]->loc
			                                   : (struct rego_loc){ 0 },
			                  "rego_recursion_error: rule %s is recursive", node->path);
	}
	uint32_t generation = ev->generation;
	entry->generation = generation;
	entry->state = 1;
	const struct rego_value *v = NULL;
	int r = 0;
	if (node->rule_count || node->default_rule) {
		if (node->rule_kind != CR_FUNCTION)
			r = eval_rules(ev, node, &v);
		else if (node->arity == 0) /* f() := 1 is a document like a constant */
			r = call_function(ev, node, NULL,
			                  node->rule_count ? node->rules[0]->loc
			                                   : (struct rego_loc){ 0 },
			                  &v);
	} else {
		v = base;
	}
	if (r >= 0 && (node->child_count || (node->is_package && !node->rule_count))) {
		struct rego_member_vec members;
		rego_member_vec_init(&members, &ev->arena);
		const struct rego_value *own = v && v->type == REGO_OBJECT ? v : NULL;
		if (own)
			for (uint32_t i = 0; i < own->length; i++)
				if (!rego_doc_child_value(node, own->u.members[i].key) &&
				    rego_member_vec_push(&members, own->u.members[i].key,
				                         own->u.members[i].value) < 0)
					r = oom(ev);
		for (uint32_t i = 0; i < node->child_count && r >= 0; i++) {
			struct doc_node *child = node->children[i];
			if (child->rule_kind == CR_FUNCTION && child->rule_count &&
			    child->arity > 0)
				continue;
			const struct rego_value *cv;
			const struct rego_value *mine =
			        own ? rego_object_get(own, child->key) : NULL;
			r = node_value(ev, child, base_child(base, child->key), &cv);
			/* Rules with variables in their heads and rules below may define the same
			 * key: their documents merge, and differing leaves conflict. */
			if (r >= 0 && cv && mine)
				r = merge_documents(ev, node, mine, cv,
				                    node->rule_count ? object_rule_depth(node) - 1
				                                     : BASE_MERGE_LEVELS,
				                    &cv);
			else if (r >= 0 && !cv)
				cv = mine;
			if (r >= 0 && cv && rego_member_vec_push(&members, child->key, cv) < 0)
				r = oom(ev);
		}
		if (r >= 0 && (own || !v || members.length || node->is_package)) {
			if (!own && v && v->type != REGO_OBJECT) {
				/* A non-object value with children below cannot merge: keep it. */
			} else {
				v = rego_member_vec_to_object(&members);
				if (!v)
					r = oom(ev);
			}
		}
	}
	if (r < 0) {
		entry->state = 0;
		return r;
	}
	/* A nested `with` may have reused the entry; only fill it for our generation. */
	if (entry->generation == generation) {
		entry->state = 2;
		entry->value = v;
	}
	*ret = v;
	return 0;
}

/* ---- calls ----------------------------------------------------------------------------- */

static int
call_function(struct rego_eval *ev, struct doc_node *node, const struct rego_value *const *args,
              struct rego_loc loc, const struct rego_value **ret)
{
	struct rule_ctx rc = { .node = node, .function = true };
	const struct rego_value *result = NULL;
	int r;
	if ((r = enter(ev, loc)) < 0)
		return r;
	r = eval_single_value(ev, &rc, args, &result);
	ev->depth--;
	if (r < 0)
		return r;
	*ret = result;
	return 0;
}

static int
call_builtin(struct rego_eval *ev, const struct rego_builtin *b,
             const struct rego_value *const *args, struct rego_loc loc,
             const struct rego_value **ret)
{
	struct eval_memo *memo = NULL;
	const struct rego_value *key = NULL;
	if (b->flags & REGO_BUILTIN_MEMO) {
		key = rego_array(&ev->arena, args, b->arity);
		if (!key)
			return oom(ev);
		for (memo = ev->memo; memo; memo = memo->next)
			if (memo->builtin == b && rego_equal(memo->args, key)) {
				*ret = memo->result;
				return 0;
			}
	}
	struct rego_builtin_ctx ctx = {
		.arena = &ev->arena,
		.eval = ev,
		.name = b->name,
		.now_ns = ev->now_ns,
		.seed = ev->seed,
	};
	const struct rego_value *result = NULL;
	int r = b->fn(&ctx, args, &result);
	if (r == 0 && !result)
		return oom(ev);
	if (r == REGO_UNDEFINED) {
		*ret = NULL;
		return 0;
	}
	if (r < 0) {
		if (!ctx.error_kind)
			return oom(ev);
		if (!ev->strict) {
			*ret = NULL;
			return 0;
		}
		return eval_error(ev,
		                  ctx.error_kind == REGO_ERR_TYPE ? JIT_REGO_TYPE_ERROR
		                                                  : JIT_REGO_BUILTIN_ERROR,
		                  loc, "%s: %s", b->name, ctx.error_message);
	}
	if (key) {
		memo = rego_arena_alloc(&ev->arena, sizeof(*memo));
		if (!memo)
			return oom(ev);
		memo->builtin = b;
		memo->args = key;
		memo->result = result;
		memo->next = ev->memo;
		ev->memo = memo;
	}
	*ret = result;
	return 0;
}

static const struct eval_mock *
find_mock(const struct rego_eval *ev, const struct rego_builtin *b, const struct doc_node *fn)
{
	for (const struct eval_mock *m = ev->mocks; m; m = m->next)
		if ((b && m->builtin == b) || (fn && m->function == fn))
			return m;
	return NULL;
}

static bool
member2(const struct rego_value *x, const struct rego_value *c)
{
	switch (c->type) {
	case REGO_ARRAY:
		for (uint32_t i = 0; i < c->length; i++)
			if (rego_equal(c->u.items[i], x))
				return true;
		return false;
	case REGO_OBJECT:
		for (uint32_t i = 0; i < c->length; i++)
			if (rego_equal(c->u.members[i].value, x))
				return true;
		return false;
	case REGO_SET:
		return rego_set_contains(c, x);
	default:
		return false;
	}
}

static bool
member3(const struct rego_value *k, const struct rego_value *x, const struct rego_value *c)
{
	if (c->type != REGO_ARRAY && c->type != REGO_OBJECT)
		return false;
	const struct rego_value *v = collection_get(c, k);
	return v && rego_equal(v, x);
}

/* Applies a call to evaluated arguments; *ret is NULL when undefined. */
static int
apply_call(struct rego_eval *ev, const struct cterm *t, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	const struct rego_builtin *b = t->u.call.builtin;
	if (ev->mocks) {
		const struct eval_mock *m =
		        find_mock(ev, t->u.call.kind == CALL_FUNCTION ? NULL : b,
		                  t->u.call.kind == CALL_FUNCTION ? t->u.call.node : NULL);
		if (m) {
			if (!m->value_function && !m->value_builtin) {
				*ret = m->value;
				return 0;
			}
			/* The replacement runs without mocks, so it may call the original. */
			struct eval_mock *saved = ev->mocks;
			ev->mocks = NULL;
			int r = m->value_function
			                ? call_function(ev, m->value_function, args, t->loc, ret)
			                : call_builtin(ev, m->value_builtin, args, t->loc, ret);
			ev->mocks = saved;
			return r;
		}
	}
	int c;
	switch (t->u.call.kind) {
	case CALL_EQUAL:
		*ret = rego_bool(rego_equal(args[0], args[1]));
		return 0;
	case CALL_NEQ:
		*ret = rego_bool(!rego_equal(args[0], args[1]));
		return 0;
	case CALL_LT:
	case CALL_LTE:
	case CALL_GT:
	case CALL_GTE:
		c = rego_compare(args[0], args[1]);
		*ret = rego_bool(t->u.call.kind == CALL_LT    ? c < 0
		                 : t->u.call.kind == CALL_LTE ? c <= 0
		                 : t->u.call.kind == CALL_GT  ? c > 0
		                                              : c >= 0);
		return 0;
	case CALL_MEMBER2:
		*ret = rego_bool(member2(args[0], args[1]));
		return 0;
	case CALL_MEMBER3:
		*ret = rego_bool(member3(args[0], args[1], args[2]));
		return 0;
	case CALL_PRINT:
	case CALL_TRACE:
		*ret = &rego_true_value;
		return 0;
	case CALL_FUNCTION:
		return call_function(ev, t->u.call.node, args, t->loc, ret);
	default:
		return call_builtin(ev, b, args, t->loc, ret);
	}
}

/* ---- terms ----------------------------------------------------------------------------- */

/* Evaluates terms[0..n) in order, calling done() with all their values (backtracking over
 * every combination). */
struct seq_ctx {
	struct frame *f;
	struct cterm *const *terms;
	const struct rego_value **values;
	uint32_t n, i; /* i: next position (lists longer than 64) or the one being evaluated */
	uint64_t done; /* positions evaluated, for lists of up to 64 */
	int (*done_fn)(struct rego_eval *ev, struct seq_ctx *s);
	void *ctx;
};

static int seq_run(struct rego_eval *ev, struct seq_ctx *s);

static int
seq_value_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	struct seq_ctx *s = ctx;
	s->values[s->i] = v;
	struct seq_ctx next = *s;
	if (s->n <= 64)
		next.done |= 1ull << s->i;
	else
		next.i = s->i + 1;
	return seq_run(ev, &next);
}

/* The value of a term that needs no generator (constant, bound variable, input), or NULL. */
static const struct rego_value *
seq_immediate(struct rego_eval *ev, const struct seq_ctx *s, const struct cterm *t)
{
	if (t->kind == CT_VALUE)
		return t->u.value;
	if (t->kind == CT_LOCAL)
		return s->f->slots[t->u.slot];
	if (t->kind == CT_INPUT)
		return ev->input;
	return NULL;
}

static int
seq_run(struct rego_eval *ev, struct seq_ctx *s)
{
	if (s->n > 64) {
		while (s->i < s->n && (s->values[s->i] = seq_immediate(ev, s, s->terms[s->i])))
			s->i++;
		if (s->i == s->n)
			return s->done_fn(ev, s);
		struct vcont k = { seq_value_cb, s };
		return eval_term(ev, s->f, s->terms[s->i], &k);
	}
	/* Terms in order, except that a variable another term binds (x == obj[x]) waits for
	 * that term. */
	uint32_t pick = s->n;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->done & (1ull << i))
			continue;
		const struct cterm *t = s->terms[i];
		if ((s->values[i] = seq_immediate(ev, s, t))) {
			s->done |= 1ull << i;
			continue;
		}
		if (pick == s->n && t->kind != CT_LOCAL)
			pick = i;
	}
	if (s->done == (s->n == 64 ? ~0ull : (1ull << s->n) - 1))
		return s->done_fn(ev, s);
	if (pick == s->n)
		return eval_error(ev, JIT_REGO_INTERNAL_ERROR, s->terms[0]->loc,
		                  "variable used before it is bound");
	s->i = pick;
	struct vcont k = { seq_value_cb, s };
	return eval_term(ev, s->f, s->terms[pick], &k);
}

struct call_ctx {
	const struct cterm *t;
	const struct vcont *k;
};

static int
call_output_bound(struct rego_eval *ev, void *ctx)
{
	return vk_call(ev, (const struct vcont *)ctx, &rego_true_value);
}

struct walk_rel_ctx {
	struct frame *f;
	const struct cterm *output;
	const struct vcont *k;
	struct rego_vec path;
};

static int
walk_relation(struct rego_eval *ev, struct walk_rel_ctx *w, const struct rego_value *v)
{
	int r = step(ev);
	if (r < 0)
		return r;
	const struct rego_value *pair[2];
	pair[0] = rego_vec_to_array(&w->path);
	pair[1] = v;
	const struct rego_value *out = pair[0] ? rego_array(&ev->arena, pair, 2) : NULL;
	if (!out)
		return oom(ev);
	struct cont k = { call_output_bound, (void *)w->k };
	r = w->output ? unify_value(ev, w->f, w->output, out, &k) : vk_call(ev, w->k, out);
	if (r < 0 || r == STOP)
		return r;
	if (v->type != REGO_ARRAY && v->type != REGO_OBJECT && v->type != REGO_SET)
		return 0;
	for (uint32_t i = 0; i < v->length && r >= 0 && r != STOP; i++) {
		const struct rego_value *key, *child;
		if (v->type == REGO_ARRAY) {
			key = rego_int(&ev->arena, i);
			child = v->u.items[i];
		} else if (v->type == REGO_OBJECT) {
			key = v->u.members[i].key;
			child = v->u.members[i].value;
		} else {
			key = child = v->u.items[i];
		}
		if (!key || rego_vec_push(&w->path, key) < 0)
			return oom(ev);
		r = walk_relation(ev, w, child);
		w->path.length--;
	}
	return r;
}

static int
call_args_done(struct rego_eval *ev, struct seq_ctx *s)
{
	struct call_ctx *c = s->ctx;
	const struct cterm *t = c->t;
	bool relation = t->u.call.length == t->u.call.arity + 1;
	if (t->u.call.kind == CALL_WALK) {
		/* walk is a relation: one result per node, bound to the output or yielded. */
		struct walk_rel_ctx w = { s->f, relation ? t->u.call.args[1] : NULL, c->k, { 0 } };
		rego_vec_init(&w.path, &ev->arena);
		return walk_relation(ev, &w, s->values[0]);
	}
	const struct rego_value *result;
	int r = apply_call(ev, t, s->values, &result);
	if (r < 0 || !result)
		return r;
	if (!relation)
		return vk_call(ev, c->k, result);
	struct cont k = { call_output_bound, (void *)c->k };
	return unify_value(ev, s->f, t->u.call.args[t->u.call.arity], result, &k);
}

static int
eval_call(struct rego_eval *ev, struct frame *f, const struct cterm *t, const struct vcont *k)
{
	uint32_t inputs = t->u.call.length > t->u.call.arity ? t->u.call.arity : t->u.call.length;
	const struct rego_value *values[8];
	const struct rego_value **vals = values;
	if (inputs > 8) {
		vals = rego_arena_alloc(&ev->arena, inputs * sizeof(*vals));
		if (!vals)
			return oom(ev);
	}
	if (t->u.call.kind == CALL_PRINT)
		inputs = 0; /* print never fails, whatever its arguments */
	struct call_ctx c = { t, k };
	struct seq_ctx s = { f, t->u.call.args, vals, inputs, 0, 0, call_args_done, &c };
	return seq_run(ev, &s);
}

struct composite_ctx {
	const struct cterm *t;
	const struct vcont *k;
};

static int
array_done(struct rego_eval *ev, struct seq_ctx *s)
{
	struct composite_ctx *c = s->ctx;
	const struct rego_value *v = c->t->kind == CT_ARRAY
	                                     ? rego_array(&ev->arena, s->values, s->n)
	                                     : rego_set(&ev->arena, s->values, s->n);
	if (!v)
		return oom(ev);
	return vk_call(ev, c->k, v);
}

static int
object_done(struct rego_eval *ev, struct seq_ctx *s)
{
	struct composite_ctx *c = s->ctx;
	uint32_t n = s->n / 2;
	struct rego_member *members = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*members));
	if (!members)
		return oom(ev);
	/* A key written twice in one literal keeps its last value, as in OPA. */
	for (uint32_t i = 0; i < n; i++) {
		members[i].key = s->values[2 * i];
		members[i].value = s->values[2 * i + 1];
	}
	const struct rego_value *v = rego_object(&ev->arena, members, n);
	if (!v)
		return oom(ev);
	return vk_call(ev, c->k, v);
}

static int
template_done(struct rego_eval *ev, struct seq_ctx *s)
{
	struct composite_ctx *c = s->ctx;
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, &ev->arena);
	int r = 0;
	for (uint32_t i = 0; i < s->n && r == 0; i++) {
		const struct rego_value *v = s->values[i];
		if (v->type == REGO_STRING)
			r = rego_strbuf_append(&sb, v->u.string, v->length);
		else
			r = rego_format_rego(&sb, v);
	}
	if (r < 0)
		return oom(ev);
	const struct rego_value *v = rego_strbuf_to_value(&sb);
	return v ? vk_call(ev, c->k, v) : oom(ev);
}

/* A template part that is undefined renders as <undefined> rather than failing. */
static int
eval_template(struct rego_eval *ev, struct frame *f, const struct cterm *t, const struct vcont *k)
{
	uint32_t n = t->u.list.length;
	const struct rego_value **values = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*values));
	struct cterm **parts = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*parts));
	if (!values || !parts)
		return oom(ev);
	for (uint32_t i = 0; i < n; i++) {
		const struct cterm *p = t->u.list.items[i];
		parts[i] = (struct cterm *)p;
		if (p->kind == CT_VALUE)
			continue;
		/* Each interpolation takes the first value its expression has. */
		const struct rego_value *v;
		int r = eval_one(ev, f, p, &v);
		if (r < 0)
			return r;
		struct cterm *c = rego_arena_zalloc(&ev->arena, sizeof(*c));
		if (!c)
			return oom(ev);
		c->kind = CT_VALUE;
		c->u.value = v ? v : rego_string_cstr(&ev->arena, "<undefined>");
		if (!c->u.value)
			return oom(ev);
		parts[i] = c;
	}
	struct composite_ctx c = { t, k };
	struct seq_ctx s = { f, parts, values, n, 0, 0, template_done, &c };
	return seq_run(ev, &s);
}

struct compr_ctx {
	struct frame *f;
	const struct cterm *t;
	struct rego_vec items;
	struct rego_member_vec members;
};

static int
compr_key_value_done(struct rego_eval *ev, struct seq_ctx *s)
{
	struct compr_ctx *c = s->ctx;
	if (c->t->kind == CT_OBJECT_COMPR) {
		for (size_t i = 0; i < c->members.length; i++)
			if (rego_equal(c->members.items[i].key, s->values[0])) {
				if (!rego_equal(c->members.items[i].value, s->values[1]))
					return eval_error(ev, JIT_REGO_CONFLICT_ERROR, c->t->loc,
					                  "object keys must be unique");
				return 0;
			}
		return rego_member_vec_push(&c->members, s->values[0], s->values[1]) < 0 ? oom(ev)
		                                                                         : 0;
	}
	return rego_vec_push(&c->items, s->values[0]) < 0 ? oom(ev) : 0;
}

static int
compr_body_done(struct rego_eval *ev, void *ctx)
{
	struct compr_ctx *c = ctx;
	const struct rego_value *values[2];
	struct cterm *terms[2] = { c->t->u.compr.key, c->t->u.compr.head };
	struct seq_ctx s;
	if (c->t->kind == CT_OBJECT_COMPR)
		s = (struct seq_ctx){ c->f, terms, values, 2, 0, 0, compr_key_value_done, c };
	else
		s = (struct seq_ctx){ c->f, terms + 1, values, 1, 0, 0, compr_key_value_done, c };
	return seq_run(ev, &s);
}

static int
eval_comprehension(struct rego_eval *ev, struct frame *f, const struct cterm *t,
                   const struct vcont *k)
{
	struct compr_ctx c = { .f = f, .t = t };
	rego_vec_init(&c.items, &ev->arena);
	rego_member_vec_init(&c.members, &ev->arena);
	struct cont body_k = { compr_body_done, &c };
	int r = eval_body(ev, f, t->u.compr.body, 0, &body_k);
	if (r < 0)
		return r;
	const struct rego_value *v = t->kind == CT_ARRAY_COMPR ? rego_vec_to_array(&c.items)
	                             : t->kind == CT_SET_COMPR
	                                     ? rego_vec_to_set(&c.items)
	                                     : rego_member_vec_to_object(&c.members);
	if (!v)
		return oom(ev);
	return vk_call(ev, k, v);
}

static int
ref_base_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	struct walk_ctx *w = ctx;
	return walk_value(ev, w->f, v, w->segs, w->n, 0, w->k);
}

static int eval_term_inner(struct rego_eval *ev, struct frame *f, const struct cterm *t,
                           const struct vcont *k);

static int
eval_term(struct rego_eval *ev, struct frame *f, const struct cterm *t, const struct vcont *k)
{
	if (t->kind == CT_VALUE)
		return vk_call(ev, k, t->u.value);
	if (++ev->nesting > EVAL_MAX_NESTING) {
		ev->nesting--;
		return eval_error(ev, JIT_REGO_LIMIT_ERROR, t->loc, "evaluation nested too deeply");
	}
	int r = eval_term_inner(ev, f, t, k);
	ev->nesting--;
	return r;
}

static int
eval_term_inner(struct rego_eval *ev, struct frame *f, const struct cterm *t, const struct vcont *k)
{
	switch (t->kind) {
	case CT_VALUE:
		return vk_call(ev, k, t->u.value);
	case CT_LOCAL: {
		const struct rego_value *v = f->slots[t->u.slot];
		if (!v)
			return eval_error(ev, JIT_REGO_INTERNAL_ERROR, t->loc,
			                  "variable used before it is bound");
		return vk_call(ev, k, v);
	}
	case CT_INPUT:
		return ev->input ? vk_call(ev, k, ev->input) : 0;
	case CT_DATA:
		return eval_data(ev, f, t->u.node, base_at(ev, t->u.node), NULL, 0, 0, k);
	case CT_REF: {
		const struct cterm *base = t->u.ref.base;
		if (base->kind == CT_DATA)
			return eval_data(ev, f, base->u.node, base_at(ev, base->u.node),
			                 t->u.ref.segments, t->u.ref.length, 0, k);
		if (base->kind == CT_INPUT)
			return ev->input ? walk_value(ev, f, ev->input, t->u.ref.segments,
			                              t->u.ref.length, 0, k)
			                 : 0;
		if (base->kind == CT_LOCAL && f->slots[base->u.slot])
			return walk_value(ev, f, f->slots[base->u.slot], t->u.ref.segments,
			                  t->u.ref.length, 0, k);
		struct walk_ctx w = { f, NULL, t->u.ref.segments, t->u.ref.length, 0, k };
		struct vcont kk = { ref_base_cb, &w };
		return eval_term(ev, f, base, &kk);
	}
	case CT_ARRAY:
	case CT_SET: {
		struct composite_ctx c = { t, k };
		uint32_t n = t->u.list.length;
		const struct rego_value **values =
		        rego_arena_alloc(&ev->arena, (n + 1) * sizeof(*values));
		if (!values)
			return oom(ev);
		struct seq_ctx s = { f, t->u.list.items, values, n, 0, 0, array_done, &c };
		return seq_run(ev, &s);
	}
	case CT_OBJECT: {
		struct composite_ctx c = { t, k };
		uint32_t n = t->u.object.length;
		const struct rego_value **values =
		        rego_arena_alloc(&ev->arena, (2 * n + 1) * sizeof(*values));
		struct cterm **terms = rego_arena_alloc(&ev->arena, (2 * n + 1) * sizeof(*terms));
		if (!values || !terms)
			return oom(ev);
		for (uint32_t i = 0; i < n; i++) {
			terms[2 * i] = t->u.object.keys[i];
			terms[2 * i + 1] = t->u.object.values[i];
		}
		struct seq_ctx s = { f, terms, values, 2 * n, 0, 0, object_done, &c };
		return seq_run(ev, &s);
	}
	case CT_ARRAY_COMPR:
	case CT_SET_COMPR:
	case CT_OBJECT_COMPR:
		return eval_comprehension(ev, f, t, k);
	case CT_CALL:
		return eval_call(ev, f, t, k);
	case CT_TEMPLATE:
		return eval_template(ev, f, t, k);
	}
	return 0;
}

/* ---- expressions ----------------------------------------------------------------------- */

static int eval_expr(struct rego_eval *ev, struct frame *f, const struct cexpr *e,
                     const struct cont *k);

struct truthy_ctx {
	const struct cont *k;
};

static int
truthy_cb(struct rego_eval *ev, const struct rego_value *v, void *ctx)
{
	if (v->type == REGO_BOOLEAN && !v->u.boolean)
		return 0;
	return k_call(ev, ((struct truthy_ctx *)ctx)->k);
}

static int
stop_cb(struct rego_eval *ev, void *ctx)
{
	return STOP;
}

struct iterate_ctx {
	struct frame *f;
	const struct cexpr *e;
	const struct cont *k;
};

struct member_bind_ctx {
	struct frame *f;
	const struct cterm *value_pattern;
	const struct rego_value *value;
	const struct cont *k;
};

static int
member_key_bound(struct rego_eval *ev, void *ctx)
{
	struct member_bind_ctx *m = ctx;
	return unify_value(ev, m->f, m->value_pattern, m->value, m->k);
}

/* Calls k for each member of `c` after unifying key (optional) and value patterns. */
static int
for_each_member(struct rego_eval *ev, struct frame *f, const struct rego_value *c,
                const struct cterm *key, const struct cterm *value, const struct cont *k)
{
	if (c->type != REGO_ARRAY && c->type != REGO_OBJECT && c->type != REGO_SET)
		return 0;
	int r = 0;
	for (uint32_t i = 0; i < c->length && r >= 0 && r != STOP; i++) {
		const struct rego_value *kv, *vv;
		if ((r = step(ev)) < 0)
			return r;
		if (c->type == REGO_ARRAY) {
			kv = key ? rego_int(&ev->arena, i) : NULL;
			vv = c->u.items[i];
			if (key && !kv)
				return oom(ev);
		} else if (c->type == REGO_OBJECT) {
			kv = c->u.members[i].key;
			vv = c->u.members[i].value;
		} else {
			kv = vv = c->u.items[i];
		}
		if (key) {
			struct member_bind_ctx m = { f, value, vv, k };
			struct cont kk = { member_key_bound, &m };
			r = unify_value(ev, f, key, kv, &kk);
		} else {
			r = unify_value(ev, f, value, vv, k);
		}
	}
	return r;
}

static int
some_in_cb(struct rego_eval *ev, const struct rego_value *c, void *ctx)
{
	struct iterate_ctx *it = ctx;
	return for_each_member(ev, it->f, c, it->e->a, it->e->b, it->k);
}

struct every_ctx {
	struct frame *f;
	const struct cexpr *e;
	bool failed;
};

static int
every_member(struct rego_eval *ev, void *ctx)
{
	struct every_ctx *ec = ctx;
	struct cont k = { stop_cb, NULL };
	int r = eval_body(ev, ec->f, ec->e->body, 0, &k);
	if (r < 0)
		return r;
	if (r != STOP) {
		ec->failed = true;
		return STOP; /* one counterexample ends the iteration */
	}
	return 0;
}

static int
every_cb(struct rego_eval *ev, const struct rego_value *c, void *ctx)
{
	struct iterate_ctx *it = ctx;
	struct every_ctx ec = { it->f, it->e, false };
	struct cont k = { every_member, &ec };
	/* A domain that is not a collection makes `every` false, not vacuously true. */
	if (c->type != REGO_ARRAY && c->type != REGO_OBJECT && c->type != REGO_SET)
		return 0;
	int r = for_each_member(ev, it->f, c, it->e->a, it->e->b, &k);
	if (r < 0)
		return r;
	if (ec.failed)
		return 0;
	return k_call(ev, it->k);
}

static int
eval_expr_inner(struct rego_eval *ev, struct frame *f, const struct cexpr *e, const struct cont *k)
{
	switch (e->kind) {
	case CE_TERM: {
		struct truthy_ctx t = { k };
		struct vcont vk = { truthy_cb, &t };
		return eval_term(ev, f, e->a, &vk);
	}
	case CE_UNIFY:
		return unify_terms(ev, f, e->a, e->b, k);
	case CE_SOME_IN: {
		struct iterate_ctx it = { f, e, k };
		struct vcont vk = { some_in_cb, &it };
		return eval_term(ev, f, e->collection, &vk);
	}
	case CE_EVERY: {
		struct iterate_ctx it = { f, e, k };
		struct vcont vk = { every_cb, &it };
		return eval_term(ev, f, e->collection, &vk);
	}
	case CE_BODY:
		return eval_body(ev, f, e->body, 0, k);
	case CE_AND:
	case CE_OR: {
		/* Each operand is a check of its own: it succeeds at most once and binds
		 * nothing outside, so the expression succeeds once or not at all. */
		struct cont stop = { stop_cb, NULL };
		int r = eval_expr(ev, f, e->left, &stop);
		if (r < 0)
			return r;
		bool left = r == STOP;
		if (e->kind == CE_AND ? left : !left) {
			if ((r = eval_expr(ev, f, e->right, &stop)) < 0)
				return r;
			left = r == STOP;
		}
		return left ? k_call(ev, k) : 0;
	}
	}
	return 0;
}

static int
eval_expr_plain(struct rego_eval *ev, struct frame *f, const struct cexpr *e, const struct cont *k)
{
	if (!e->negated)
		return eval_expr_inner(ev, f, e, k);
	struct cont stop = { stop_cb, NULL };
	int r = eval_expr_inner(ev, f, e, &stop);
	if (r < 0)
		return r;
	if (r == STOP)
		return 0;
	return k_call(ev, k);
}

/* State replaced by `with` modifiers. */
struct with_state {
	const struct rego_value *input;
	const struct rego_value *data;
	struct eval_mock *mocks;
	uint32_t generation;
	uint32_t override_count;
	uint32_t *override_ids;
	const struct rego_value **override_values; /* values at those ids */
	uint32_t changed;
};

struct with_ctx {
	struct frame *f;
	struct with_state outer, inner;
	const struct cont *k;
};

static void
with_swap_overrides(struct rego_eval *ev, struct with_state *to)
{
	for (uint32_t i = 0; i < to->changed; i++)
		ev->node_override[to->override_ids[i]] = to->override_values[i];
}

static void
with_install(struct rego_eval *ev, struct with_state *s)
{
	ev->input = s->input;
	ev->data = s->data;
	ev->mocks = s->mocks;
	ev->generation = s->generation;
	ev->override_count = s->override_count;
	with_swap_overrides(ev, s);
}

static int
with_continue(struct rego_eval *ev, void *ctx)
{
	struct with_ctx *w = ctx;
	with_install(ev, &w->outer);
	int r = k_call(ev, w->k);
	with_install(ev, &w->inner);
	/* The continuation may have run other `with`s reusing generations: take a fresh one. */
	return r;
}

static int
eval_with(struct rego_eval *ev, struct frame *f, const struct cexpr *e, const struct cont *k)
{
	struct with_ctx w = { .f = f, .k = k };
	w.outer = (struct with_state){ ev->input,          ev->data, ev->mocks, ev->generation,
		                       ev->override_count, NULL,     NULL,      0 };
	w.inner = w.outer;
	uint32_t n = e->with_count;
	w.outer.override_ids = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(uint32_t));
	w.outer.override_values = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(void *));
	w.inner.override_ids = w.outer.override_ids;
	w.inner.override_values = rego_arena_alloc(&ev->arena, (n + 1) * sizeof(void *));
	if (!w.outer.override_ids || !w.outer.override_values || !w.inner.override_values)
		return oom(ev);
	int r;
	for (uint32_t i = 0; i < n; i++) {
		const struct cwith *m = &e->with[i];
		const struct rego_value *v = NULL;
		if (m->target_kind != WITH_FUNCTION || (!m->value_builtin && !m->value_function)) {
			if ((r = eval_one(ev, f, m->value, &v)) < 0)
				return r;
			if (!v)
				return 0;
		}
		const struct rego_value **path =
		        rego_arena_alloc(&ev->arena, (m->path_length + 1) * sizeof(*path));
		if (!path)
			return oom(ev);
		for (uint32_t p = 0; p < m->path_length; p++)
			path[p] = m->path[p]->u.value;
		if (m->target_kind == WITH_INPUT) {
			w.inner.input = value_set_path(ev, w.inner.input, path, m->path_length, v);
			if (!w.inner.input)
				return oom(ev);
		} else if (m->target_kind == WITH_DATA) {
			/* Follow the tree: a path ending at (or below) a node overrides it. */
			struct doc_node *node = ev->policy->root;
			uint32_t p = 0;
			while (p < m->path_length && !node->rule_count && !node->default_rule) {
				struct doc_node *child = rego_doc_child_value(node, path[p]);
				if (!child)
					break;
				node = child;
				p++;
			}
			bool in_tree =
			        p == m->path_length || node->rule_count || node->default_rule;
			if (in_tree && node != ev->policy->root) {
				const struct rego_value *nv = v;
				if (p < m->path_length) {
					const struct rego_value *cur;
					if ((r = node_value(ev, node, base_at(ev, node), &cur)) < 0)
						return r;
					nv = value_set_path(ev, cur, path + p, m->path_length - p,
					                    v);
					if (!nv)
						return oom(ev);
				}
				uint32_t at = w.inner.changed++;
				w.outer.override_ids[at] = node->id;
				w.outer.override_values[at] = ev->node_override[node->id];
				w.inner.override_values[at] = nv;
				w.inner.override_count++;
			} else {
				w.inner.data =
				        value_set_path(ev, w.inner.data, path, m->path_length, v);
				if (!w.inner.data)
					return oom(ev);
			}
		} else {
			struct eval_mock *mock = rego_arena_zalloc(&ev->arena, sizeof(*mock));
			if (!mock)
				return oom(ev);
			mock->builtin = m->builtin;
			mock->function = m->function;
			mock->value = v;
			mock->value_builtin = m->value_builtin;
			mock->value_function = m->value_function;
			mock->next = w.inner.mocks;
			w.inner.mocks = mock;
		}
	}
	w.outer.changed = w.inner.changed;
	w.inner.generation = ++ev->next_generation;
	with_install(ev, &w.inner);
	struct cont kk = { with_continue, &w };
	r = eval_expr_plain(ev, f, e, &kk);
	with_install(ev, &w.outer);
	return r;
}

static int
eval_expr(struct rego_eval *ev, struct frame *f, const struct cexpr *e, const struct cont *k)
{
	int r = step(ev);
	if (r < 0)
		return r;
	if (++ev->nesting > EVAL_MAX_NESTING) {
		ev->nesting--;
		return eval_error(ev, JIT_REGO_LIMIT_ERROR, e->loc, "evaluation nested too deeply");
	}
	r = e->with_count ? eval_with(ev, f, e, k) : eval_expr_plain(ev, f, e, k);
	ev->nesting--;
	return r;
}

struct body_ctx {
	struct frame *f;
	const struct cbody *b;
	uint32_t i;
	const struct cont *k;
};

static int
body_next(struct rego_eval *ev, void *ctx)
{
	struct body_ctx *c = ctx;
	return eval_body(ev, c->f, c->b, c->i, c->k);
}

static int
eval_body(struct rego_eval *ev, struct frame *f, const struct cbody *b, uint32_t i,
          const struct cont *k)
{
	if (i == b->length)
		return k_call(ev, k);
	struct body_ctx next = { f, b, i + 1, k };
	struct cont kk = { body_next, &next };
	return eval_expr(ev, f, b->exprs[i], &kk);
}

/* ---- entry points ---------------------------------------------------------------------- */

int
rego_eval_begin(struct rego_eval *ev, const struct jit_rego_policy *policy,
                const struct rego_value *input)
{
	rego_arena_reset(&ev->arena);
	ev->arena.limit = policy->max_memory;
	ev->policy = policy;
	ev->input = input;
	ev->data = policy->data;
	ev->mocks = NULL;
	ev->memo = NULL;
	ev->module = NULL;
	ev->nesting = 0;
	ev->steps = 0;
	ev->max_steps = policy->max_steps;
	ev->depth = 0;
	ev->max_depth = policy->max_depth;
	ev->strict = policy->options.strict_builtin_errors;
	ev->error_code = JIT_REGO_OK;
	ev->error_message[0] = '\0';
	if (ev->cache_capacity < policy->node_count) {
		free(ev->cache);
		free(ev->node_override);
		uint32_t cap = policy->node_count + 16;
		ev->cache = calloc(cap, sizeof(*ev->cache));
		ev->node_override = calloc(cap, sizeof(*ev->node_override));
		if (!ev->cache || !ev->node_override) {
			free(ev->cache);
			free(ev->node_override);
			ev->cache = NULL;
			ev->node_override = NULL;
			ev->cache_capacity = 0;
			return -ENOMEM;
		}
		ev->cache_capacity = cap;
		ev->generation = ev->next_generation = 0;
	}
	ev->override_count = 0;
	/* A new generation invalidates every cached rule value without touching the cache. */
	if (ev->next_generation >= UINT32_MAX - 1) {
		memset(ev->cache, 0, ev->cache_capacity * sizeof(*ev->cache));
		ev->next_generation = 0;
	}
	ev->generation = ++ev->next_generation;
	if (ev->fixed_now_ns) {
		ev->now_ns = ev->fixed_now_ns;
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ev->now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	ev->seed = (uint64_t)ev->now_ns ^ 0x9e3779b97f4a7c15ull;
	return 0;
}

struct query_ctx {
	struct frame *f;
	rego_result_fn fn;
	void *ctx;
};

static int
query_solution(struct rego_eval *ev, void *ctx)
{
	struct query_ctx *q = ctx;
	return q->fn(ev, q->f->slots, q->ctx);
}

int
rego_eval_query_body(struct rego_eval *ev, const struct jit_rego_query *query, rego_result_fn fn,
                     void *ctx)
{
	struct frame *f = frame_new(ev, query->frame_size);
	if (!f)
		return oom(ev);
	struct query_ctx q = { f, fn, ctx };
	struct cont k = { query_solution, &q };
	int r = eval_body(ev, f, query->body, 0, &k);
	return r < 0 ? r : 0;
}

int
rego_eval_node(struct rego_eval *ev, struct doc_node *node, const struct rego_value **ret)
{
	if (node->rule_count && node->rule_kind == CR_FUNCTION && node->arity > 0) {
		*ret = NULL;
		return 0;
	}
	return node_value(ev, node, base_at(ev, node), ret);
}

void
rego_eval_release(struct rego_eval *ev)
{
	rego_arena_free(&ev->arena);
	free(ev->cache);
	free(ev->node_override);
	ev->cache = NULL;
	ev->node_override = NULL;
	ev->cache_capacity = 0;
}
