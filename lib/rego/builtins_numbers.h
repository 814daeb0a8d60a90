/* Number arithmetic shared by the numbers and core built-in groups (operators, sum, product).
 * Integers are exact at any size (int64 fast path, OpenSSL BIGNUM beyond); anything with a
 * fractional part is computed in long double and stored as a double, which reproduces OPA's
 * 64-bit-mantissa big.Float results once they are read back as doubles. */
#ifndef JIT_REGO_BUILTINS_NUMBERS_H
#define JIT_REGO_BUILTINS_NUMBERS_H

#include "lib/rego/builtins.h"

enum rego_arith_op {
	REGO_ARITH_ADD,
	REGO_ARITH_SUB,
	REGO_ARITH_MUL,
	REGO_ARITH_DIV,
	REGO_ARITH_REM,
};

/* a <op> b for two numbers (the caller has checked the types). Returns 0 and sets *ret, or a
 * negative code recorded with rego_builtin_error ("divide by zero", "modulo by zero",
 * "modulo on floating-point number", out of memory). */
int rego_arith(struct rego_builtin_ctx *ctx, enum rego_arith_op op, const struct rego_value *a,
               const struct rego_value *b, const struct rego_value **ret);

/* The value of a number as a long double, read from its shortest decimal text as OPA reads
 * its number literals (so 0.1 is the long double nearest to 1/10, not to the double 0.1). */
long double rego_number_long_double(const struct rego_value *v);

/* Turns a long double result into a value: integral results become exact integers (int64 or
 * big), others the nearest double. Returns 0 and sets *ret, or a negative code recorded with
 * rego_builtin_error when the result is not finite or memory runs out. */
int rego_number_from_long_double(struct rego_builtin_ctx *ctx, long double x,
                                 const struct rego_value **ret);

#endif
