/* The names of the public error codes, as OPA prints them (types.h). Pure: no state, no
 * allocation. */
#include "lib/rego/types.h"

const char *
jit_rego_error_code_name(enum jit_rego_error_code code)
{
	switch (code) {
	case JIT_REGO_OK:
		return "ok";
	case JIT_REGO_PARSE_ERROR:
		return "rego_parse_error";
	case JIT_REGO_COMPILE_ERROR:
		return "rego_compile_error";
	case JIT_REGO_TYPE_ERROR:
		return "eval_type_error";
	case JIT_REGO_BUILTIN_ERROR:
		return "eval_builtin_error";
	case JIT_REGO_CONFLICT_ERROR:
		return "eval_conflict_error";
	case JIT_REGO_LIMIT_ERROR:
		return "eval_limit_error";
	case JIT_REGO_INTERNAL_ERROR:
		return "eval_internal_error";
	case JIT_REGO_INVALID_ARGUMENT:
		return "invalid_argument";
	}
	return "unknown_error";
}
