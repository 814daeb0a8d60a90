/* The syntax tree of Rego modules and queries, as the parser builds it and before the compiler
 * resolves names. Every node lives in the arena of the policy being compiled. Both syntaxes
 * (v0 and v1) produce the same tree; the differences are settled by the parser. */
#ifndef JIT_REGO_AST_H
#define JIT_REGO_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/rego/value.h"

struct rego_loc {
	uint32_t line;   /* 1-based */
	uint32_t column; /* 1-based, in bytes */
};

enum rego_term_kind {
	REGO_TERM_SCALAR,       /* null, boolean, number or string: u.value */
	REGO_TERM_VAR,          /* u.var; "_" is the wildcard, each occurrence a fresh var */
	REGO_TERM_REF,          /* u.ref: head[seg0][seg1]... */
	REGO_TERM_ARRAY,        /* u.list */
	REGO_TERM_SET,          /* u.list ("set()" is an empty set) */
	REGO_TERM_OBJECT,       /* u.object */
	REGO_TERM_ARRAY_COMPR,  /* u.compr: [head | body] */
	REGO_TERM_SET_COMPR,    /* u.compr: {head | body} */
	REGO_TERM_OBJECT_COMPR, /* u.compr: {key: head | body} */
	REGO_TERM_CALL,         /* u.call: f(args) and every operator, see below */
	REGO_TERM_TEMPLATE,     /* u.tmpl: v1 template string $"a{x}b" */
};

struct rego_term;
struct rego_body;

struct rego_term_list {
	struct rego_term **items;
	uint32_t length;
};

struct rego_term {
	uint8_t kind; /* enum rego_term_kind */
	struct rego_loc loc;
	union {
		const struct rego_value *value;
		struct {
			const char *name; /* NUL-terminated identifier */
		} var;
		struct {
			/* head is a VAR (input, data, x, a rule name), or for a ref on a composite
			 * or call result the term itself: [1,2][0], f(x).y, {"a":1}.a */
			struct rego_term *head;
			/* a.b is a string SCALAR segment "b"; a[x] is whatever term x is */
			struct rego_term_list segments;
		} ref;
		struct rego_term_list list;
		struct {
			struct rego_term **keys;
			struct rego_term **values;
			uint32_t length;
		} object;
		struct {
			struct rego_term *key; /* object comprehensions only */
			struct rego_term *head;
			struct rego_body *body;
		} compr;
		struct {
			/* The callee: a VAR or a REF of string segments (e.g. `strings.replace_n`,
			 * `data.lib.f`). Operators are calls to their built-in names:
			 *   a == b  equal     a != b  neq    a < b lt   a <= b lte   a > b gt
			 *   a >= b  gte       a + b   plus   a - b minus   a * b mul
			 *   a / b   div       a % b   rem    a & b and  a | b or
			 *   -x (non-literal) minus(0, x)
			 *   x in c  internal.member_2(x, c)   k, v in c  internal.member_3(k, v, c)
			 * `=` and `:=` are not calls: see rego_expr. */
			struct rego_term *fn;
			struct rego_term_list args;
		} call;
		struct {
			/* Alternating literal text and expressions: parts[i] is a string SCALAR
			 * for literal text or any term for an interpolated {expr}. */
			struct rego_term_list parts;
		} tmpl;
	} u;
};

enum rego_expr_kind {
	REGO_EXPR_TERM,    /* a term: true when defined and not false */
	REGO_EXPR_UNIFY,   /* lhs = rhs */
	REGO_EXPR_ASSIGN,  /* lhs := rhs (declares the vars of lhs) */
	REGO_EXPR_SOME,    /* some a, b, c: vars in u.some.vars (VAR terms) */
	REGO_EXPR_SOME_IN, /* some [key,] value in collection */
	REGO_EXPR_EVERY,   /* every [key,] value in domain { body } */
	REGO_EXPR_BODY, /* `{ body }`: negated in `not { body }` (future.keywords.not), or an operand of the experimental and/or: u.not_body */
	REGO_EXPR_AND,  /* experimental `lhs and rhs` (u.logic) */
	REGO_EXPR_OR,   /* experimental `lhs or rhs` (u.logic); binds tighter than nothing:
			     * `a and b or c` is `(a and b) or c` */
};

struct rego_with {
	struct rego_term *target; /* input..., data..., or a function / built-in name (VAR/REF) */
	struct rego_term *value;
	struct rego_loc loc;
};

struct rego_expr {
	uint8_t kind; /* enum rego_expr_kind */
	bool negated; /* `not` (REGO_EXPR_TERM, UNIFY, ASSIGN-free forms) */
	struct rego_loc loc;
	union {
		struct rego_term *term;
		struct {
			struct rego_term *lhs, *rhs;
		} binary;
		struct {
			struct rego_term_list vars;
		} some;
		struct {
			struct rego_term *key; /* NULL when only a value is named */
			struct rego_term *value;
			struct rego_term *collection;
		} some_in;
		struct {
			struct rego_term *key; /* NULL when only a value is named; VAR terms */
			struct rego_term *value;
			struct rego_term *domain;
			struct rego_body *body;
		} every;
		struct {
			struct rego_expr *lhs, *rhs;
		} logic;
		struct {
			struct rego_body *body;
		} not_body;
	} u;
	struct rego_with *with;
	uint32_t with_count;
};

struct rego_body {
	struct rego_expr **exprs;
	uint32_t length;
	struct rego_loc loc;
};

enum rego_rule_kind {
	REGO_RULE_SINGLE,   /* complete rule, or a ref head such as p[k] = v / a.b.c := v */
	REGO_RULE_MULTI,    /* partial set: v0 `p[x] { }`, v1 `p contains x if { }` */
	REGO_RULE_FUNCTION, /* f(args) = v / f(args) := v / f(args) if { } */
};

struct rego_rule {
	uint8_t kind; /* enum rego_rule_kind */
	bool is_default;
	bool assign; /* written with := */
	struct rego_loc loc;
	/* The rule's name as a ref relative to the package: `p` is a VAR; `a.b[x].c` is a REF
	 * whose head is VAR a. For a v0 partial object `p[k] = v` the head is `p[k]`. For MULTI
	 * rules the ref names the set and u.key is the element. */
	struct rego_term *head;
	struct rego_term *key;       /* MULTI: the element */
	struct rego_term *value;     /* SINGLE/FUNCTION: the value; a `true` SCALAR when omitted */
	struct rego_term_list args;  /* FUNCTION: parameter terms */
	struct rego_body *body;      /* never NULL; an empty body for `p := 1` */
	struct rego_rule *else_rule; /* next `else` of this rule, same head, NULL at the end */
	struct rego_module *module;
};

struct rego_import {
	struct rego_term *path; /* REF (or VAR) of data..., input..., future.keywords..., rego.v1 */
	const char *alias;      /* NULL without `as` */
	struct rego_loc loc;
};

struct rego_module {
	const char *name;          /* file name or caller-given id, for errors */
	struct rego_term *package; /* REF data.<package path> (string segments) */
	struct rego_import *imports;
	uint32_t import_count;
	struct rego_rule **rules;
	uint32_t rule_count;
	bool v1; /* parsed with the v1 syntax */
};

/* Parse options. */
enum rego_syntax {
	REGO_SYNTAX_AUTO = 0, /* try v1, then fall back to v0 */
	REGO_SYNTAX_V0,
	REGO_SYNTAX_V1,
};

struct rego_parse_error {
	struct rego_loc loc;
	char message[256];
};

/* Parses one module. On success returns 0 and sets *ret (arena-owned). On failure returns
 * JIT_ERR_INVALID and fills *err with the location and message (e.g. "unexpected } token").
 * With `experimental_keywords`, `and` / `or` are parsed as infix logic operators. */
int rego_parse_module(struct rego_arena *arena, const char *name, const char *text, size_t len,
                      enum rego_syntax syntax, bool experimental_keywords, struct rego_module **ret,
                      struct rego_parse_error *err);

/* Parses a query body ("data.test.p = x", "x := 1; y = x + 1") with the keywords of the given
 * syntax (REGO_SYNTAX_AUTO means v1 keywords are available). */
int rego_parse_query(struct rego_arena *arena, const char *text, size_t len,
                     enum rego_syntax syntax, struct rego_body **ret, struct rego_parse_error *err);

/* Parses a single term (used for input_term and for tests). */
int rego_parse_term(struct rego_arena *arena, const char *text, size_t len, struct rego_term **ret,
                    struct rego_parse_error *err);

#endif
