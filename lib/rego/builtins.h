/* The interface between the evaluator and built-in functions. A built-in receives evaluated
 * argument values and returns one value, "undefined", or an error. Built-ins never keep
 * pointers across calls and allocate only from ctx->arena (the evaluation's arena). */
#ifndef JIT_REGO_BUILTINS_H
#define JIT_REGO_BUILTINS_H

#include <stdint.h>

#include "lib/common/errors.h"
#include "lib/rego/value.h"

/* Returned (positive) by a built-in whose result is undefined without an error. */
#define REGO_UNDEFINED 1

/* Error kinds a built-in reports through rego_builtin_error(); they map onto OPA's codes. */
enum rego_error_kind {
	REGO_ERR_TYPE = 1,     /* "eval_type_error": an operand has the wrong type */
	REGO_ERR_BUILTIN = 2,  /* "eval_builtin_error": the operation failed (bad regex, ...) */
	REGO_ERR_CONFLICT = 3, /* "eval_conflict_error" (evaluator only) */
	REGO_ERR_LIMIT = 4,    /* an evaluation budget ran out (evaluator only) */
	REGO_ERR_INTERNAL = 5, /* out of memory and similar (evaluator only) */
	REGO_ERR_COMPILE = 6,  /* "rego_compile_error" / parse errors (compiler only) */
	REGO_ERR_PARSE = 7,
	REGO_ERR_UNSAFE = 8, /* "rego_unsafe_var_error" */
	REGO_ERR_RECURSION = 9,
};

struct rego_eval;

struct rego_builtin_ctx {
	struct rego_arena *arena; /* results and temporaries go here */
	struct rego_eval *eval;   /* opaque to built-ins; use the accessors below */
	const char *name;         /* the built-in's name, for messages */
	int64_t now_ns;           /* time.now_ns of this query: the same for every call */
	uint64_t seed;            /* per-query seed for rand.intn and uuid.rfc4122 */
	/* Set by rego_builtin_error(); read by the evaluator. */
	enum rego_error_kind error_kind;
	char error_message[384];
};

/* Records an error for the current call in ctx (kind and message). Prefer rego_builtin_error. */
void rego_builtin_set_error(struct rego_builtin_ctx *ctx, enum rego_error_kind kind,
                            const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records an error for the current call and evaluates to JIT_ERR_INVALID, to propagate:
 *   return rego_builtin_error(ctx, REGO_ERR_TYPE, "operand 1 must be string but got %s", ...);
 * The message is prefixed with "<name>: " by the evaluator, as OPA prints it. A macro, so that
 * callers (and the static analyzer) see that the code is always negative. */
#define rego_builtin_error(ctx, kind, ...) \
	(rego_builtin_set_error((ctx), (kind), __VA_ARGS__), JIT_ERR_INVALID)

/* Records the standard operand type error,
 *   "operand <pos> must be <want> but got <type of got>" (pos is 1-based). */
void rego_builtin_set_type_error(struct rego_builtin_ctx *ctx, int pos, const char *want,
                                 const struct rego_value *got);

/* rego_builtin_set_type_error, then JIT_ERR_INVALID to propagate. */
static inline int
rego_builtin_type_error(struct rego_builtin_ctx *ctx, int pos, const char *want,
                        const struct rego_value *got)
{
	rego_builtin_set_type_error(ctx, pos, want, got);
	return JIT_ERR_INVALID;
}

/* Records "out of memory" for the current call and returns the negative code. */
static inline int
rego_builtin_nomem(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* A built-in function. `args` holds exactly `arity` evaluated values. On success sets *ret and
 * returns 0; returns REGO_UNDEFINED for no result; or a negative code from rego_builtin_error. */
typedef int (*rego_builtin_fn)(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                               const struct rego_value **ret);

enum rego_builtin_flags {
	REGO_BUILTIN_DEPRECATED = 1
	                          << 0, /* only in v0 modules (all, any, set_diff, re_match, ...) */
	REGO_BUILTIN_MEMO = 1 << 1,     /* non-deterministic: one result per arguments per query */
};

struct rego_builtin {
	const char *name; /* dotted name as written in policies: "strings.replace_n" */
	uint8_t arity;
	uint8_t flags;
	rego_builtin_fn fn;
};

/* Each group file defines one table ending with a {NULL} entry. */
extern const struct rego_builtin rego_builtins_core[];        /* operators, aggregates, types */
extern const struct rego_builtin rego_builtins_numbers[];     /* arithmetic, bits, numbers.range */
extern const struct rego_builtin rego_builtins_strings[];     /* strings.*, sprintf, format_int */
extern const struct rego_builtin rego_builtins_regex[];       /* regex.*, glob.* */
extern const struct rego_builtin rego_builtins_collections[]; /* arrays, sets, objects */
extern const struct rego_builtin rego_builtins_crypto[];      /* crypto.*, io.jwt.* */
extern const struct rego_builtin rego_builtins_codec[]; /* json, yaml, base64, hex, urlquery, uri */
extern const struct rego_builtin rego_builtins_clock[]; /* time.*, units.* */
extern const struct rego_builtin rego_builtins_network[]; /* net.cidr_*, semver.*, uuid.* */
extern const struct rego_builtin rego_builtins_aws[];     /* providers.aws.sign_req */

/* Every registered built-in, sorted by name (for listings and tests). */
size_t rego_builtin_all(const struct rego_builtin *const **ret);

/* Looks a built-in up by name (NULL when unknown). `v1` hides deprecated ones. */
const struct rego_builtin *rego_builtin_lookup(const char *name, size_t len, bool v1);

/* Helpers for built-in authors. */
/* Decodes one UTF-8 code point at s[*i] (advancing *i); invalid bytes yield U+FFFD. */
uint32_t rego_utf8_next(const char *s, size_t len, size_t *i);
/* Number of code points in a string value. */
size_t rego_utf8_length(const char *s, size_t len);

#endif
