/* Helpers for built-in unit tests: a fixture with an arena and a built-in context, values
 * written as JSON (S() turns a JSON array into a set), calls through the registry, and results
 * compared in Rego's text form. Included by one test file at a time. */
#ifndef JIT_TESTS_BUILTINS_TEST_CALL_H
#define JIT_TESTS_BUILTINS_TEST_CALL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/rego/builtins.h"

struct builtin_fixture {
	struct rego_arena arena;
	struct rego_builtin_ctx ctx;
	const struct rego_value *result;
};

#define BUILTIN_TEST_HELPER __attribute__((unused))

static struct builtin_fixture *fx;

static int
builtin_setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	rego_arena_init(&fx->arena, 0);
	fx->ctx.arena = &fx->arena;
	fx->ctx.seed = 42;
	*state = fx;
	return 0;
}

static int
builtin_teardown(void **state)
{
	rego_arena_free(&fx->arena);
	free(fx);
	fx = NULL;
	return 0;
}

/* A value from JSON text. */
static const struct rego_value *
J(const char *text)
{
	const struct rego_value *v = NULL;
	assert_int_equal(rego_parse_json(&fx->arena, text, strlen(text), &v), 0);
	return v;
}

/* A set from the members of a JSON array. */
BUILTIN_TEST_HELPER static const struct rego_value *
S(const char *text)
{
	const struct rego_value *a = J(text);
	assert_int_equal(a->type, REGO_ARRAY);
	const struct rego_value *s = rego_set(&fx->arena, a->u.items, a->length);
	assert_non_null(s);
	return s;
}

/* A set of sets from a JSON array of arrays. */
BUILTIN_TEST_HELPER static const struct rego_value *
SS(const char *text)
{
	const struct rego_value *a = J(text);
	const struct rego_value **items = rego_arena_alloc(&fx->arena, (a->length + 1) * 8);
	for (size_t i = 0; i < a->length; i++)
		items[i] = rego_set(&fx->arena, a->u.items[i]->u.items, a->u.items[i]->length);
	return rego_set(&fx->arena, items, a->length);
}

static const char *
rego_text(const struct rego_value *v)
{
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, &fx->arena);
	assert_int_equal(rego_format_rego(&sb, v), 0);
	assert_int_equal(rego_strbuf_append(&sb, "", 1), 0);
	return sb.data;
}

static int
call_builtin(const char *name, const struct rego_value *const *args, size_t n)
{
	const struct rego_builtin *b = rego_builtin_lookup(name, strlen(name), false);
	if (!b) {
		fail_msg("no built-in %s", name);
		return JIT_ERR_NOT_FOUND; /* not reached: fail_msg ends the test */
	}
	assert_int_equal(b->arity, n);
	fx->ctx.name = name;
	fx->ctx.error_kind = 0;
	fx->ctx.error_message[0] = '\0';
	fx->result = NULL;
	return b->fn(&fx->ctx, args, &fx->result);
}

#define ARGS(...) ((const struct rego_value *const[]){ __VA_ARGS__ })
#define NARGS(...) (sizeof(ARGS(__VA_ARGS__)) / sizeof(ARGS(__VA_ARGS__)[0]))
#define CALL(name, ...) call_builtin(name, ARGS(__VA_ARGS__), NARGS(__VA_ARGS__))

/* Asserts that name(args) succeeds with a result whose Rego text is `want`. */
#define EXPECT(want, name, ...)                                                       \
	do {                                                                          \
		int rc_ = CALL(name, __VA_ARGS__);                                    \
		if (rc_ != 0)                                                         \
			fail_msg("%s: rc %d (%s)", name, rc_, fx->ctx.error_message); \
		assert_string_equal(rego_text(fx->result), want);                     \
	} while (0)

/* Asserts that name(args) is undefined. */
#define EXPECT_UNDEFINED(name, ...) assert_int_equal(CALL(name, __VA_ARGS__), REGO_UNDEFINED)

/* Asserts that name(args) fails with `kind` and a message containing `want`. */
#define EXPECT_ERROR(kind, want, name, ...)                                                      \
	do {                                                                                     \
		int rc_ = CALL(name, __VA_ARGS__);                                               \
		if (rc_ >= 0)                                                                    \
			fail_msg("%s: expected an error, got rc %d", name, rc_);                 \
		assert_int_equal(fx->ctx.error_kind, kind);                                      \
		if (!strstr(fx->ctx.error_message, want))                                        \
			fail_msg("%s: message \"%s\" lacks \"%s\"", name, fx->ctx.error_message, \
			         want);                                                          \
	} while (0)

#endif
