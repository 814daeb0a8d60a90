/* The plain types of the Rego engine's public API that its compiler and evaluator use too:
 * error codes and the error record, module syntax, and compile options. lib/rego/rego.h
 * includes it and stays the only header included outside lib/rego; the internal headers
 * include this one instead of rego.h, so the public API sits on top of them. */
#ifndef JIT_REGO_TYPES_H
#define JIT_REGO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error codes; the strings are OPA's. */
enum jit_rego_error_code {
	JIT_REGO_OK = 0,
	JIT_REGO_PARSE_ERROR,      /* "rego_parse_error" */
	JIT_REGO_COMPILE_ERROR,    /* "rego_compile_error" (also unsafe vars, recursion, ...) */
	JIT_REGO_TYPE_ERROR,       /* "eval_type_error" */
	JIT_REGO_BUILTIN_ERROR,    /* "eval_builtin_error" */
	JIT_REGO_CONFLICT_ERROR,   /* "eval_conflict_error" */
	JIT_REGO_LIMIT_ERROR,      /* "eval_limit_error": step budget, depth or memory exhausted */
	JIT_REGO_INTERNAL_ERROR,   /* "eval_internal_error": out of memory */
	JIT_REGO_INVALID_ARGUMENT, /* bad JSON data/input, unknown rule path */
};

struct jit_rego_error {
	enum jit_rego_error_code code;
	char message[512]; /* e.g. "policy.rego:3:5: rego_parse_error: unexpected } token" */
	char module[128];  /* module name for parse/compile errors, else "" */
	uint32_t line, column;
};

/* Returns OPA's name of an error code ("eval_type_error", ...). */
const char *jit_rego_error_code_name(enum jit_rego_error_code code);

enum jit_rego_syntax {
	JIT_REGO_SYNTAX_AUTO = 0, /* v1, falling back to v0 when the module does not parse as v1 */
	JIT_REGO_SYNTAX_V0,
	JIT_REGO_SYNTAX_V1,
};

struct jit_rego_options {
	enum jit_rego_syntax syntax;
	bool strict_builtin_errors; /* built-in errors fail the query instead of being undefined */
	bool experimental_keywords; /* `and` / `or` */
	uint64_t max_steps;         /* per evaluation; 0 = default (10,000,000) */
	uint32_t max_depth;         /* nested rule/function calls; 0 = default (256) */
	size_t max_memory;          /* bytes per evaluation; 0 = default (64 MiB) */
};

#endif
