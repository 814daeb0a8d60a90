/* The compiled form of a policy, shared by the compiler and the evaluator (internal). Names
 * are resolved: local variables are frame slots, references into `data` start at a node of
 * the document tree, calls point at a built-in or a user function node. Everything lives in
 * the policy's arena and is immutable after compilation. */
#ifndef JIT_REGO_COMPILE_H
#define JIT_REGO_COMPILE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/rego/ast.h"
#include "lib/rego/builtins.h"
#include "lib/rego/types.h"
#include "lib/rego/value.h"

struct doc_node;
struct cbody;

enum cterm_kind {
	CT_VALUE,        /* constant: u.value */
	CT_LOCAL,        /* frame slot: u.slot */
	CT_INPUT,        /* the input document */
	CT_DATA,         /* a node of the document tree (u.node); the root for `data` */
	CT_REF,          /* u.ref: base term + segments */
	CT_ARRAY,        /* u.list */
	CT_SET,          /* u.list */
	CT_OBJECT,       /* u.object */
	CT_ARRAY_COMPR,  /* u.compr */
	CT_SET_COMPR,    /* u.compr */
	CT_OBJECT_COMPR, /* u.compr */
	CT_CALL,         /* u.call */
	CT_TEMPLATE,     /* u.list: parts */
};

enum ccall_kind {
	CALL_BUILTIN,  /* u.call.builtin */
	CALL_FUNCTION, /* u.call.node: a user function */
	CALL_EQUAL,    /* operators the evaluator handles inline for speed */
	CALL_NEQ,
	CALL_LT,
	CALL_LTE,
	CALL_GT,
	CALL_GTE,
	CALL_MEMBER2,
	CALL_MEMBER3,
	CALL_WALK,  /* relation: walk(x, [path, value]) */
	CALL_PRINT, /* print(...): accepted, output discarded */
	CALL_TRACE,
};

struct cterm {
	uint8_t kind;
	bool ground; /* contains no local variable: a constant or a ref to input/data only */
	struct rego_loc loc;
	union {
		const struct rego_value *value;
		uint32_t slot;
		struct doc_node *node;
		struct {
			struct cterm *base;
			struct cterm **segments;
			uint32_t length;
		} ref;
		struct {
			struct cterm **items;
			uint32_t length;
		} list;
		struct {
			struct cterm **keys, **values;
			uint32_t length;
		} object;
		struct {
			struct cterm *key; /* object comprehensions */
			struct cterm *head;
			struct cbody *body;
			uint32_t first_slot, end_slot; /* slots local to the comprehension */
		} compr;
		struct {
			uint8_t kind; /* enum ccall_kind */
			const struct rego_builtin *builtin;
			struct doc_node *node;
			const char *name; /* for messages and `with` targets */
			struct cterm **args;
			uint32_t length; /* arguments given (arity, or arity + 1 for an output) */
			uint32_t arity;
		} call;
	} u;
};

enum cexpr_kind {
	CE_TERM,
	CE_UNIFY,
	CE_SOME_IN,
	CE_EVERY,
	CE_BODY, /* a sub-body with its own scope (e->body); `negated` for not { } */
	CE_AND,
	CE_OR,
};

struct cwith {
	uint8_t target_kind; /* WITH_INPUT, WITH_DATA, WITH_FUNCTION */
	struct cterm **path; /* segments after input / data (constant strings) */
	uint32_t path_length;
	const struct rego_builtin *builtin;       /* WITH_FUNCTION: the replaced built-in ... */
	struct doc_node *function;                /* ... or user function */
	struct cterm *value;                      /* a term, or a CT_CALL-less function reference */
	const struct rego_builtin *value_builtin; /* WITH_FUNCTION replaced by a built-in */
	struct doc_node *value_function;          /* ... or by a user function */
};

enum {
	WITH_INPUT,
	WITH_DATA,
	WITH_FUNCTION
};

struct cexpr {
	uint8_t kind;
	bool negated;
	struct rego_loc loc;
	struct cterm *a, *b; /* TERM: a; UNIFY: a = b; SOME_IN: key (may be NULL) a, value b */
	struct cterm *collection;
	struct cbody *body; /* EVERY body, NOT_BODY body; AND/OR use left/right */
	struct cexpr *left, *right;
	struct cwith *with;
	uint32_t with_count;
	uint32_t every_key_slot, every_value_slot;
	uint32_t first_slot, end_slot; /* EVERY: slots local to it */
};

struct cbody {
	struct cexpr **exprs;
	uint32_t length;
};

enum crule_kind {
	CR_COMPLETE, /* value at the node itself */
	CR_MULTI,    /* set element */
	CR_OBJECT,   /* ref head with non-constant segments: value at node[key...] */
	CR_FUNCTION,
};

struct crule {
	uint8_t kind;
	bool is_default;
	bool constant_value; /* value term is ground: one solution per body suffices */
	struct rego_loc loc;
	const char *module;
	uint32_t frame_size;     /* slots */
	struct cterm **key_path; /* CR_OBJECT: the segments after the node (terms) */
	uint32_t key_path_length;
	struct cterm *key;   /* CR_MULTI element */
	struct cterm *value; /* value */
	struct cterm **args; /* CR_FUNCTION parameters */
	uint32_t arity;
	struct cbody *body;
	struct crule *else_rule;
};

/* A node of the `data` tree: a package path segment, or a rule path. */
struct doc_node {
	const struct rego_value *key; /* segment (string), NULL for the root */
	struct doc_node *parent;
	struct doc_node **children; /* sorted by key */
	uint32_t child_count, child_capacity;
	struct crule **rules; /* rules whose ground head ends here (or start here, CR_OBJECT) */
	uint32_t rule_count, rule_capacity;
	struct crule *default_rule;
	uint8_t rule_kind;    /* enum crule_kind of its rules, when rule_count > 0 */
	bool has_rules_below; /* some descendant holds rules */
	bool is_package;      /* named by a package clause: defined (at least {}) */
	uint32_t id;          /* index into evaluation caches */
	uint32_t arity;       /* functions */
	const char *path;     /* "data.a.b", for messages */
};

struct jit_rego_policy {
	struct rego_arena arena;
	struct doc_node *root;
	uint32_t node_count;
	const struct rego_value *data; /* base document (object) */
	struct jit_rego_options options;
	uint32_t max_depth;
	uint64_t max_steps;
	size_t max_memory;
};

struct jit_rego_query {
	struct jit_rego_policy *policy;
	struct rego_arena arena;
	struct doc_node *node; /* rule queries that name a tree node: evaluated directly */
	struct cbody *body;
	uint32_t frame_size;
	/* Result variables: name and slot, in order of first appearance. */
	const char **var_names;
	uint32_t *var_slots;
	uint32_t var_count;
};

/* Compiler entry points (compile.c). */
int rego_compile_policy(struct jit_rego_policy *policy, struct rego_module **modules, size_t count,
                        struct jit_rego_error *error);
int rego_compile_query(struct jit_rego_policy *policy, struct jit_rego_query *query,
                       struct rego_body *body, bool v1, struct jit_rego_error *error);
/* Looks up a child by string key, NULL when absent. */
struct doc_node *rego_doc_child(const struct doc_node *node, const char *key, size_t len);
struct doc_node *rego_doc_child_value(const struct doc_node *node, const struct rego_value *key);

#endif
