/* Unit tests of the Rego parser (lib/rego/parse.c): tree shapes of both syntaxes, operator
 * precedence, strings and templates, keywords as names, errors with line and column, and
 * bounded work on hostile text. Trees are compared through a compact text dump (dump_*). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "lib/rego/ast.h"

#define UNUSED_STATE void **state __attribute__((unused))

/* ---- dumping trees as text ------------------------------------------------------------- */

static void dump_term(struct rego_strbuf *sb, const struct rego_term *t);
static void dump_body(struct rego_strbuf *sb, const struct rego_body *b);

static void
put(struct rego_strbuf *sb, const char *s)
{
	assert_int_equal(rego_strbuf_append(sb, s, strlen(s)), 0);
}

static void
dump_list(struct rego_strbuf *sb, const struct rego_term_list *l)
{
	for (uint32_t i = 0; i < l->length; i++) {
		if (i)
			put(sb, ", ");
		dump_term(sb, l->items[i]);
	}
}

/* Scalars in Rego syntax, vars by name, refs as head["seg"][x], calls as fn(args), templates
 * as tmpl(parts); composites and comprehensions in Rego syntax. */
static void
dump_term(struct rego_strbuf *sb, const struct rego_term *t)
{
	assert_non_null(t);
	switch (t->kind) {
	case REGO_TERM_SCALAR:
		assert_int_equal(rego_format_rego(sb, t->u.value), 0);
		break;
	case REGO_TERM_VAR:
		put(sb, t->u.var.name);
		break;
	case REGO_TERM_REF:
		dump_term(sb, t->u.ref.head);
		for (uint32_t i = 0; i < t->u.ref.segments.length; i++) {
			put(sb, "[");
			dump_term(sb, t->u.ref.segments.items[i]);
			put(sb, "]");
		}
		break;
	case REGO_TERM_ARRAY:
		put(sb, "[");
		dump_list(sb, &t->u.list);
		put(sb, "]");
		break;
	case REGO_TERM_SET:
		if (t->u.list.length == 0) {
			put(sb, "set()");
			break;
		}
		put(sb, "{");
		dump_list(sb, &t->u.list);
		put(sb, "}");
		break;
	case REGO_TERM_OBJECT:
		put(sb, "{");
		for (uint32_t i = 0; i < t->u.object.length; i++) {
			if (i)
				put(sb, ", ");
			dump_term(sb, t->u.object.keys[i]);
			put(sb, ": ");
			dump_term(sb, t->u.object.values[i]);
		}
		put(sb, "}");
		break;
	case REGO_TERM_ARRAY_COMPR:
	case REGO_TERM_SET_COMPR:
	case REGO_TERM_OBJECT_COMPR:
		put(sb, t->kind == REGO_TERM_ARRAY_COMPR ? "[" : "{");
		if (t->kind == REGO_TERM_OBJECT_COMPR) {
			dump_term(sb, t->u.compr.key);
			put(sb, ": ");
		}
		dump_term(sb, t->u.compr.head);
		put(sb, " | ");
		dump_body(sb, t->u.compr.body);
		put(sb, t->kind == REGO_TERM_ARRAY_COMPR ? "]" : "}");
		break;
	case REGO_TERM_CALL:
		dump_term(sb, t->u.call.fn);
		put(sb, "(");
		dump_list(sb, &t->u.call.args);
		put(sb, ")");
		break;
	case REGO_TERM_TEMPLATE:
		put(sb, "tmpl(");
		dump_list(sb, &t->u.tmpl.parts);
		put(sb, ")");
		break;
	default:
		fail_msg("unknown term kind %d", t->kind);
	}
}

static void
dump_expr(struct rego_strbuf *sb, const struct rego_expr *e)
{
	assert_non_null(e);
	if (e->negated)
		put(sb, "not ");
	switch (e->kind) {
	case REGO_EXPR_TERM:
		dump_term(sb, e->u.term);
		break;
	case REGO_EXPR_UNIFY:
	case REGO_EXPR_ASSIGN:
		dump_term(sb, e->u.binary.lhs);
		put(sb, e->kind == REGO_EXPR_UNIFY ? " = " : " := ");
		dump_term(sb, e->u.binary.rhs);
		break;
	case REGO_EXPR_SOME:
		put(sb, "some ");
		dump_list(sb, &e->u.some.vars);
		break;
	case REGO_EXPR_SOME_IN:
		put(sb, "some ");
		if (e->u.some_in.key) {
			dump_term(sb, e->u.some_in.key);
			put(sb, ", ");
		}
		dump_term(sb, e->u.some_in.value);
		put(sb, " in ");
		dump_term(sb, e->u.some_in.collection);
		break;
	case REGO_EXPR_EVERY:
		put(sb, "every ");
		if (e->u.every.key) {
			dump_term(sb, e->u.every.key);
			put(sb, ", ");
		}
		dump_term(sb, e->u.every.value);
		put(sb, " in ");
		dump_term(sb, e->u.every.domain);
		put(sb, " { ");
		dump_body(sb, e->u.every.body);
		put(sb, " }");
		break;
	case REGO_EXPR_BODY:
		put(sb, "{ ");
		dump_body(sb, e->u.not_body.body);
		put(sb, " }");
		break;
	case REGO_EXPR_AND:
	case REGO_EXPR_OR:
		put(sb, "(");
		dump_expr(sb, e->u.logic.lhs);
		put(sb, e->kind == REGO_EXPR_AND ? " and " : " or ");
		dump_expr(sb, e->u.logic.rhs);
		put(sb, ")");
		break;
	default:
		fail_msg("unknown expression kind %d", e->kind);
	}
	for (uint32_t i = 0; i < e->with_count; i++) {
		put(sb, " with ");
		dump_term(sb, e->with[i].target);
		put(sb, " as ");
		dump_term(sb, e->with[i].value);
	}
}

static void
dump_body(struct rego_strbuf *sb, const struct rego_body *b)
{
	assert_non_null(b);
	for (uint32_t i = 0; i < b->length; i++) {
		if (i)
			put(sb, "; ");
		dump_expr(sb, b->exprs[i]);
	}
}

/* "SINGLE p = v { body }", "MULTI p contains x { body }", "FUNCTION f(x) := v { body }", with
 * "default " and " else = v { body }" where they apply. */
static void
dump_rule(struct rego_strbuf *sb, const struct rego_rule *r)
{
	static const char *const kinds[] = { "SINGLE", "MULTI", "FUNCTION" };
	assert_true(r->kind <= REGO_RULE_FUNCTION);
	put(sb, kinds[r->kind]);
	put(sb, r->is_default ? " default " : " ");
	dump_term(sb, r->head);
	if (r->kind == REGO_RULE_FUNCTION) {
		put(sb, "(");
		dump_list(sb, &r->args);
		put(sb, ")");
	}
	if (r->kind == REGO_RULE_MULTI) {
		assert_null(r->value);
		put(sb, " contains ");
		dump_term(sb, r->key);
	} else {
		assert_null(r->key);
		put(sb, r->assign ? " := " : " = ");
		dump_term(sb, r->value);
	}
	put(sb, " { ");
	dump_body(sb, r->body);
	put(sb, " }");
	for (const struct rego_rule *e = r->else_rule; e; e = e->else_rule) {
		put(sb, " else = ");
		dump_term(sb, e->value);
		put(sb, " { ");
		dump_body(sb, e->body);
		put(sb, " }");
	}
}

/* The module as "package <ref>", "import <path> [as alias]" and one rule per line. */
static const char *
dump_module(struct rego_arena *a, const struct rego_module *m)
{
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, a);
	put(&sb, "package ");
	dump_term(&sb, m->package);
	for (uint32_t i = 0; i < m->import_count; i++) {
		put(&sb, "\nimport ");
		dump_term(&sb, m->imports[i].path);
		if (m->imports[i].alias) {
			put(&sb, " as ");
			put(&sb, m->imports[i].alias);
		}
	}
	for (uint32_t i = 0; i < m->rule_count; i++) {
		put(&sb, "\n");
		dump_rule(&sb, m->rules[i]);
		assert_ptr_equal(m->rules[i]->module, m);
	}
	return sb.data;
}

/* ---- helpers --------------------------------------------------------------------------- */

static const char *
module_text(struct rego_arena *a, const char *text, enum rego_syntax syntax, bool experimental,
            struct rego_module **ret_module)
{
	struct rego_module *m = NULL;
	struct rego_parse_error err;
	memset(&err, 0, sizeof(err));
	int r = rego_parse_module(a, "test.rego", text, strlen(text), syntax, experimental, &m,
	                          &err);
	if (r < 0)
		fail_msg("parse failed at %u:%u: %s\n%s", err.loc.line, err.loc.column, err.message,
		         text);
	assert_string_equal(m->name, "test.rego");
	if (ret_module)
		*ret_module = m;
	return dump_module(a, m);
}

/* Parses `text` and compares its dump with `want` (lines joined by '\n'). */
static void
check_module(enum rego_syntax syntax, const char *text, const char *want)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	const char *got = module_text(&a, text, syntax, false, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("module:\n%s\ngot:\n%s\nwant:\n%s", text, got, want);
	rego_arena_free(&a);
}

static void
check_query(enum rego_syntax syntax, const char *text, const char *want)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	struct rego_body *b = NULL;
	struct rego_parse_error err;
	memset(&err, 0, sizeof(err));
	int r = rego_parse_query(&a, text, strlen(text), syntax, &b, &err);
	if (r < 0)
		fail_msg("query %s failed at %u:%u: %s", text, err.loc.line, err.loc.column,
		         err.message);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, &a);
	dump_body(&sb, b);
	if (strcmp(sb.data, want) != 0)
		fail_msg("query: %s\ngot:  %s\nwant: %s", text, sb.data, want);
	rego_arena_free(&a);
}

static void
check_term(const char *text, const char *want)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	struct rego_term *t = NULL;
	struct rego_parse_error err;
	memset(&err, 0, sizeof(err));
	int r = rego_parse_term(&a, text, strlen(text), &t, &err);
	if (r < 0)
		fail_msg("term %s failed at %u:%u: %s", text, err.loc.line, err.loc.column,
		         err.message);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, &a);
	dump_term(&sb, t);
	if (strcmp(sb.data, want) != 0)
		fail_msg("term: %s\ngot:  %s\nwant: %s", text, sb.data, want);
	rego_arena_free(&a);
}

/* Expects the module to fail at line:column with a message containing `message`. */
static void
check_module_error(enum rego_syntax syntax, const char *text, uint32_t line, uint32_t column,
                   const char *message)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	struct rego_module *m = NULL;
	struct rego_parse_error err;
	memset(&err, 0, sizeof(err));
	int r = rego_parse_module(&a, "test.rego", text, strlen(text), syntax, false, &m, &err);
	if (r != JIT_ERR_INVALID)
		fail_msg("module parsed (r=%d) but should not:\n%s", r, text);
	if (err.loc.line != line || err.loc.column != column || !strstr(err.message, message))
		fail_msg("module:\n%s\ngot %u:%u %s\nwant %u:%u %s", text, err.loc.line,
		         err.loc.column, err.message, line, column, message);
	rego_arena_free(&a);
}

static void
check_query_error(enum rego_syntax syntax, const char *text, uint32_t line, uint32_t column,
                  const char *message)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	struct rego_body *b = NULL;
	struct rego_parse_error err;
	memset(&err, 0, sizeof(err));
	int r = rego_parse_query(&a, text, strlen(text), syntax, &b, &err);
	if (r != JIT_ERR_INVALID)
		fail_msg("query parsed (r=%d) but should not: %s", r, text);
	if (err.loc.line != line || err.loc.column != column || !strstr(err.message, message))
		fail_msg("query: %s\ngot %u:%u %s\nwant %u:%u %s", text, err.loc.line,
		         err.loc.column, err.message, line, column, message);
	rego_arena_free(&a);
}

/* ---- modules --------------------------------------------------------------------------- */

static void
test_v1_rules(UNUSED_STATE)
{
	check_module(REGO_SYNTAX_V1,
	             "package a.b.c\n"
	             "import data.x.y\n"
	             "import input.z as w\n"
	             "p if { x > 1 }\n"
	             "p if x > 1\n"
	             "q := 1 if {\n\tinput.a\n\tinput.b; input.c\n}\n"
	             "r = 2\n"
	             "s contains x if { some x in input.xs }\n"
	             "f(x, y) := z if { z := x + y }\n"
	             "g(x) if x > 0\n"
	             "t[x] := y if { y := input.m[x] }\n"
	             "u[x] if { x := 1 }\n"
	             "a.b.c := 1\n"
	             "a.b[x] contains y if { y := x }\n"
	             "default v := false\n"
	             "default h(_) := 0\n",
	             "package data[\"a\"][\"b\"][\"c\"]\n"
	             "import data[\"x\"][\"y\"]\n"
	             "import input[\"z\"] as w\n"
	             "SINGLE p = true { gt(x, 1) }\n"
	             "SINGLE p = true { gt(x, 1) }\n"
	             "SINGLE q := 1 { input[\"a\"]; input[\"b\"]; input[\"c\"] }\n"
	             "SINGLE r = 2 {  }\n"
	             "MULTI s contains x { some x in input[\"xs\"] }\n"
	             "FUNCTION f(x, y) := z { z := plus(x, y) }\n"
	             "FUNCTION g(x) = true { gt(x, 0) }\n"
	             "SINGLE t[x] := y { y := input[\"m\"][x] }\n"
	             "SINGLE u[x] = true { x := 1 }\n"
	             "SINGLE a[\"b\"][\"c\"] := 1 {  }\n"
	             "MULTI a[\"b\"][x] contains y { y := x }\n"
	             "SINGLE default v := false {  }\n"
	             "FUNCTION default h(_) := 0 {  }");
}

static void
test_v1_else_and_package_forms(UNUSED_STATE)
{
	check_module(REGO_SYNTAX_V1,
	             "package a[\"b\"]\n"
	             "p := 1 if { input.x } else := 2 if { input.y } else := 3\n"
	             "f(x) := \"a\" if x == 1\n"
	             "else := \"b\"\n",
	             "package data[\"a\"][\"b\"]\n"
	             "SINGLE p := 1 { input[\"x\"] } else = 2 { input[\"y\"] } else = 3 {  }\n"
	             "FUNCTION f(x) := \"a\" { equal(x, 1) } else = \"b\" {  }");
	/* As in OPA, `if {}` is an empty object, not an empty body. */
	check_module(REGO_SYNTAX_V1, "package a\np if {}\n",
	             "package data[\"a\"]\nSINGLE p = true { {} }");
	check_module(REGO_SYNTAX_V1, "package p\nimport rego.v1\nimport future.keywords\n",
	             "package data[\"p\"]\nimport rego[\"v1\"]\nimport future[\"keywords\"]");
}

static void
test_v0_rules(UNUSED_STATE)
{
	check_module(REGO_SYNTAX_V0,
	             "package a\n"
	             "p { x > 1 }\n"
	             "p = 1 { true }\n"
	             "s[x] { x := 1 }\n"
	             "o[k] = v { k := \"a\"; v := 1 }\n"
	             "f(x) = y { y := x }\n"
	             "default d = false\n"
	             "e = 1 { false } else = 2 { true } else { true }\n"
	             "m { input.a } { input.b }\n"
	             "c = 3\n"
	             "a.b { true }\n",
	             "package data[\"a\"]\n"
	             "SINGLE p = true { gt(x, 1) }\n"
	             "SINGLE p = 1 { true }\n"
	             "MULTI s contains x { x := 1 }\n"
	             "SINGLE o[k] = v { k := \"a\"; v := 1 }\n"
	             "FUNCTION f(x) = y { y := x }\n"
	             "SINGLE default d = false {  }\n"
	             "SINGLE e = 1 { false } else = 2 { true } else = true { true }\n"
	             "SINGLE m = true { input[\"a\"] }\n"
	             "SINGLE m = true { input[\"b\"] }\n"
	             "SINGLE c = 3 {  }\n"
	             "SINGLE a[\"b\"] = true { true }");
}

static void
test_v0_keywords_are_names(UNUSED_STATE)
{
	/* Without future keywords, if/in/contains/every are plain identifiers in v0. */
	check_module(REGO_SYNTAX_V0,
	             "package a\n"
	             "contains(x) = y { y := x }\n"
	             "p { in := 1; every := in; if := every }\n",
	             "package data[\"a\"]\n"
	             "FUNCTION contains(x) = y { y := x }\n"
	             "SINGLE p = true { in := 1; every := in; if := every }");
	/* With them, v0 modules may use v1 forms. */
	check_module(REGO_SYNTAX_V0,
	             "package a\n"
	             "import future.keywords.in\n"
	             "import future.keywords.if\n"
	             "p if { 1 in [1] }\n",
	             "package data[\"a\"]\n"
	             "import future[\"keywords\"][\"in\"]\n"
	             "import future[\"keywords\"][\"if\"]\n"
	             "SINGLE p = true { internal[\"member_2\"](1, [1]) }");
	check_module(REGO_SYNTAX_V0,
	             "package a\n"
	             "import rego.v1\n"
	             "s contains x if { every y in [1] { y == 1 }; x := 1 }\n",
	             "package data[\"a\"]\n"
	             "import rego[\"v1\"]\n"
	             "MULTI s contains x { every y in [1] { equal(y, 1) }; x := 1 }");
}

static void
test_auto_syntax(UNUSED_STATE)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	struct rego_module *m = NULL;
	module_text(&a, "package a\np if { true }\n", REGO_SYNTAX_AUTO, false, &m);
	assert_true(m->v1);
	module_text(&a, "package a\np { true }\ns[x] { x := 1 }\n", REGO_SYNTAX_AUTO, false, &m);
	assert_false(m->v1);
	assert_int_equal(m->rules[1]->kind, REGO_RULE_MULTI);
	module_text(&a, "package a\nimport rego.v1\np if { true }\n", REGO_SYNTAX_V0, false, &m);
	assert_true(m->v1);
	rego_arena_free(&a);
	/* Both fail: the error of the attempt that got further. */
	check_module_error(REGO_SYNTAX_AUTO, "package a\np { true }\nq := }\n", 3, 6,
	                   "unexpected } token");
}

static void
test_keyword_refs(UNUSED_STATE)
{
	check_module(REGO_SYNTAX_V1,
	             "package a\n"
	             "p if { data.foo.if; input.not; x := {\"if\": 1}.if }\n",
	             "package data[\"a\"]\n"
	             "SINGLE p = true { data[\"foo\"][\"if\"]; input[\"not\"]; "
	             "x := {\"if\": 1}[\"if\"] }");
}

/* ---- expressions, queries and terms ---------------------------------------------------- */

static void
test_precedence(UNUSED_STATE)
{
	check_query(REGO_SYNTAX_V1, "x := 1 + 2 * 3 - -4", "x := minus(plus(1, mul(2, 3)), -4)");
	check_query(REGO_SYNTAX_V1, "a | b & c", "or(a, and(b, c))");
	check_query(REGO_SYNTAX_V1, "x == y + 1", "equal(x, plus(y, 1))");
	check_query(REGO_SYNTAX_V1, "(1 + 2) * 3 % 4 / 5", "div(rem(mul(plus(1, 2), 3), 4), 5)");
	check_query(REGO_SYNTAX_V1, "-x < 2", "lt(minus(0, x), 2)");
	check_query(REGO_SYNTAX_V1, "x != 1; x >= 2; x <= 3", "neq(x, 1); gte(x, 2); lte(x, 3)");
	check_query(REGO_SYNTAX_V1, "x = y", "x = y");
	check_query(REGO_SYNTAX_V1, "[a, b] := [1, 2]", "[a, b] := [1, 2]");
	check_query(REGO_SYNTAX_V1, "1 in [1] == true",
	            "internal[\"member_2\"](1, equal([1], true))");
	check_query(REGO_SYNTAX_V1, "k, v in {\"a\": 1}",
	            "internal[\"member_3\"](k, v, {\"a\": 1})");
	check_query(REGO_SYNTAX_V1, "x := (k, v in o)", "x := internal[\"member_3\"](k, v, o)");
	check_query(REGO_SYNTAX_V1, "f(x, y in z)", "f(x, internal[\"member_2\"](y, z))");
}

static void
test_body_forms(UNUSED_STATE)
{
	check_query(REGO_SYNTAX_V1, "x := 1\ny = x + 1\n\nnot y == 3",
	            "x := 1; y = plus(x, 1); not equal(y, 3)");
	check_query(REGO_SYNTAX_V1, "x := [1,\n 2]", "x := [1, 2]");
	check_query(REGO_SYNTAX_V1, "some x, y; some k, v in o; some z in [1]",
	            "some x, y; some k, v in o; some z in [1]");
	check_query(REGO_SYNTAX_V1, "every k, v in o { k == v }; every x in s { x }",
	            "every k, v in o { equal(k, v) }; every x in s { x }");
	check_query(REGO_SYNTAX_V1, "data.p with input.a as 1 with data.b as {2}",
	            "data[\"p\"] with input[\"a\"] as 1 with data[\"b\"] as {2}");
	check_query(REGO_SYNTAX_V1, "not f(x) with f as g", "not f(x) with f as g");
	check_query(REGO_SYNTAX_V1, "a.b.c(x); strings.replace_n({}, s)",
	            "a[\"b\"][\"c\"](x); strings[\"replace_n\"]({}, s)");
	/* As in OPA, only `.` (and `contains(`) makes a keyword a name. */
	check_query(REGO_SYNTAX_V1, "not(input.x); x in(s); contains(\"ab\", \"b\"); not.a(1)",
	            "not input[\"x\"]; internal[\"member_2\"](x, s); contains(\"ab\", \"b\"); "
	            "not[\"a\"](1)");
	/* v0 queries: `in` is a name. */
	check_query(REGO_SYNTAX_V0, "in := 1", "in := 1");
}

static void
test_terms(UNUSED_STATE)
{
	check_term("[1, 2][0]", "[1, 2][0]");
	check_term("f(x)[0].y", "f(x)[0][\"y\"]");
	check_term("{\"a\": 1}.a", "{\"a\": 1}[\"a\"]");
	check_term("{}", "{}");
	check_term("set()", "set()");
	check_term("{1, 2,}", "{1, 2}");
	check_term("{[1]: {true: null}}", "{[1]: {true: null}}");
	check_term("[x | x := 1]", "[x | x := 1]");
	check_term("{x | some x in s}", "{x | some x in s}");
	check_term("{k: v | k := 1; v := 2}", "{k: v | k := 1; v := 2}");
	check_term("{x | a | b}", "{x | or(a, b)}");
	check_term("input.a[\"b\"][c][1]", "input[\"a\"][\"b\"][c][1]");
	check_term("-1.5e3", "-1500");
	check_term("28857836529306024611913", "28857836529306024611913");
	check_term("-28857836529306024611913", "-28857836529306024611913");
}

static void
test_strings(UNUSED_STATE)
{
	check_term("\"a\\\"b\\\\c\\/\\n\\t\"", "\"a\\\"b\\\\c/\\n\\t\"");
	check_term("\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	check_term("`raw \\n {x}`", "\"raw \\\\n {x}\"");
	check_term("$\"a{x}b{1 + 2}\"", "tmpl(\"a\", x, \"b\", plus(1, 2))");
	check_term("$\"\\{lit} {x}\"", "tmpl(\"{lit} \", x)");
	check_term("$`a{input.x}`", "tmpl(\"a\", input[\"x\"])");
}

static void
test_logic_operators(UNUSED_STATE)
{
	struct rego_arena a;
	rego_arena_init(&a, 0);
	const char *got = module_text(&a,
	                              "package a\n"
	                              "import future.keywords.and\n"
	                              "import future.keywords.or\n"
	                              "p if {\n"
	                              "\tinput.a and input.b or input.c\n"
	                              "\tinput.a and (input.b or input.c)\n"
	                              "\t{ x := 1; x > 0 } and true\n"
	                              "}\n",
	                              REGO_SYNTAX_V1, true, NULL);
	assert_string_equal(got,
	                    "package data[\"a\"]\n"
	                    "import future[\"keywords\"][\"and\"]\n"
	                    "import future[\"keywords\"][\"or\"]\n"
	                    "SINGLE p = true { ((input[\"a\"] and input[\"b\"]) or "
	                    "input[\"c\"]); (input[\"a\"] and (input[\"b\"] or input[\"c\"])); "
	                    "({ x := 1; gt(x, 0) } and true) }");
	rego_arena_free(&a);
}

/* ---- errors and bounds ----------------------------------------------------------------- */

static void
test_errors(UNUSED_STATE)
{
	check_module_error(REGO_SYNTAX_V1, "package a\n\np { true }\n", 3, 3,
	                   "`if` keyword is required before rule body");
	check_module_error(REGO_SYNTAX_V1, "package a\np if { x := }\n", 2, 13,
	                   "unexpected } token");
	check_module_error(REGO_SYNTAX_V0, "package a\np {\n}\n", 3, 1, "found empty body");
	check_module_error(REGO_SYNTAX_V1, "p := 1\n", 1, 1, "package expected");
	check_module_error(REGO_SYNTAX_V1, "package a\np := \"abc\n", 2, 6,
	                   "non-terminated string");
	check_module_error(REGO_SYNTAX_V1, "package a\np := 1 ! 2\n", 2, 8, "illegal ! character");
	check_module_error(REGO_SYNTAX_V1, "package a\np := 1\nimport data.x\n", 3, 1,
	                   "imports must appear before rules");
	check_module_error(REGO_SYNTAX_V1, "package a\nimport foo.bar\n", 2, 1,
	                   "path must begin with input or data");
	check_module_error(REGO_SYNTAX_V0, "package a\np = $\"x\"\n", 2, 5,
	                   "template strings require rego v1");
	check_query_error(REGO_SYNTAX_V1, "", 1, 1, "empty query");
	check_query_error(REGO_SYNTAX_V1, "x := \"\\q\"", 1, 6, "invalid escape");
	/* Tokens are named as OPA names them. */
	check_query_error(REGO_SYNTAX_V1, "x := [1, 2", 1, 11, "unexpected eof token");
	check_query_error(REGO_SYNTAX_V1, "x := 1 y := 2", 1, 8, "unexpected ident token");
	check_query_error(REGO_SYNTAX_V1, "x := else", 1, 6, "unexpected else keyword");
}

/* Parses generated text `prefix rep*n suffix` and returns how long it took; the parse must
 * fail cleanly or succeed, never crash. */
static double
parse_generated(const char *prefix, const char *rep, int n, const char *suffix, bool module,
                struct rego_parse_error *err)
{
	size_t lp = strlen(prefix), lr = strlen(rep), ls = strlen(suffix);
	size_t len = lp + lr * (size_t)n + ls;
	char *text = test_malloc(len + 1);
	memcpy(text, prefix, lp);
	for (int i = 0; i < n; i++)
		memcpy(text + lp + lr * (size_t)i, rep, lr);
	memcpy(text + lp + lr * (size_t)n, suffix, ls + 1);
	struct rego_arena a;
	rego_arena_init(&a, 0);
	memset(err, 0, sizeof(*err));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r;
	if (module) {
		struct rego_module *m;
		r = rego_parse_module(&a, "t", text, len, REGO_SYNTAX_AUTO, true, &m, err);
	} else {
		struct rego_term *t;
		r = rego_parse_term(&a, text, len, &t, err);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(r == 0 || r == JIT_ERR_INVALID);
	rego_arena_free(&a);
	test_free(text);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void
test_nesting_bounds(UNUSED_STATE)
{
	static const char *const reps[] = { "(", "[",     "{",    "a[",   "f(",
		                            "-", "[x | ", "{1: ", "$\"{", "x.y(" };
	struct rego_parse_error err;
	for (size_t i = 0; i < sizeof(reps) / sizeof(reps[0]); i++) {
		parse_generated("", reps[i], 100000, "1", false, &err);
		assert_int_equal(err.loc.line, 1);
		assert_true(err.message[0] != '\0');
	}
	parse_generated("", "a[", 100000, "1", false, &err);
	assert_string_equal(err.message, "nesting too deep");
	/* Templates nested through alternating quote styles. */
	char text[16 * 300 + 8];
	size_t o = 0;
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, i % 2 ? "$`{" : "$\"{");
	text[o++] = 'x';
	for (int i = 299; i >= 0; i--)
		o += (size_t)snprintf(text + o, sizeof(text) - o, i % 2 ? "}`" : "}\"");
	struct rego_arena a;
	rego_arena_init(&a, 0);
	struct rego_term *t;
	assert_int_equal(rego_parse_term(&a, text, o, &t, &err), JIT_ERR_INVALID);
	assert_string_equal(err.message, "nesting too deep");
	rego_arena_free(&a);
}

static void
test_backtracking_is_bounded(UNUSED_STATE)
{
	/* Under and/or a `{` may open a body or a set; nested retries must not blow up. */
	static const char *prefix = "package a\nimport future.keywords.and\n"
	                            "import future.keywords.or\np if {\n";
	struct rego_parse_error err;
	double secs = parse_generated(prefix, "{ {x | ", 64, "x", true, &err);
	assert_true(secs < 0.5);
	secs = parse_generated(prefix, "{ {x | ", 64, "x } } , } } , } } , } } , } } ,", true,
	                       &err);
	assert_true(secs < 0.5);
	assert_true(err.message[0] != '\0');
}

/* Mutates a module byte by byte (deterministically) and parses every variant in all syntaxes:
 * no crash, no leak past the arena, and only 0 or JIT_ERR_INVALID. */
static void
test_mutations(UNUSED_STATE)
{
	static const char base[] =
	        "package a.b\nimport future.keywords\nimport data.x as y\n"
	        "default p := false\n"
	        "p if { some k, v in input.o; k == \"a\"; v > -1.5e3 }\n"
	        "s contains x if { x := [y | y := input.xs[_]; y != 0][0] }\n"
	        "f(x) := {k: v | some k, v in x} if { every e in x { e } } else := `r`\n"
	        "t := $\"v={input.v} \\{}\" if not input.q with input.q as {1, 2}\n";
	static const char alphabet[] = "{}[]()|,;:=!.\"`$\\\n #-+0aei";
	char text[sizeof(base)];
	uint32_t seed = 12345;
	for (int round = 0; round < 3000; round++) {
		memcpy(text, base, sizeof(base));
		int edits = 1 + round % 4;
		for (int k = 0; k < edits; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % (sizeof(base) - 1);
			seed = seed * 1103515245u + 12345u;
			text[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
		}
		for (int syntax = REGO_SYNTAX_AUTO; syntax <= REGO_SYNTAX_V1; syntax++) {
			struct rego_arena a;
			rego_arena_init(&a, 0);
			struct rego_module *m;
			struct rego_body *b;
			struct rego_parse_error err;
			int r = rego_parse_module(&a, "m", text, sizeof(base) - 1, syntax, true, &m,
			                          &err);
			assert_true(r == 0 || r == JIT_ERR_INVALID);
			if (r < 0)
				assert_true(err.loc.line >= 1 && err.loc.column >= 1);
			r = rego_parse_query(&a, text, sizeof(base) - 1, syntax, &b, &err);
			assert_true(r == 0 || r == JIT_ERR_INVALID);
			rego_arena_free(&a);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_rules),
		cmocka_unit_test(test_v1_else_and_package_forms),
		cmocka_unit_test(test_v0_rules),
		cmocka_unit_test(test_v0_keywords_are_names),
		cmocka_unit_test(test_auto_syntax),
		cmocka_unit_test(test_keyword_refs),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_body_forms),
		cmocka_unit_test(test_terms),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_logic_operators),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nesting_bounds),
		cmocka_unit_test(test_backtracking_is_bounded),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests_name("rego_parser", tests, NULL, NULL);
}
