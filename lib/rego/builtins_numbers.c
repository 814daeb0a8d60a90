/* Built-in functions: numbers group. The arithmetic operators (plus, minus, mul, div, rem), abs,
 * round, ceil, floor, numbers.range, numbers.range_step, rand.intn, bits.*, and the set
 * operators `and` (&) and `or` (|). Integers stay exact at any size; results are bounded (a
 * number of at most 4096 digits, a range of at most REGO_VALUE_MAX_LENGTH members). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "lib/rego/builtins.h"
#include "lib/rego/builtins_collections.h"
#include "lib/rego/builtins_numbers.h"

/* Longest decimal text of an integer result, as rego_number_parse accepts it. */
#define NUMBER_MAX_DIGITS 4096
/* A left shift may not make a number longer than this many bits (about 4096 digits). */
#define SHIFT_MAX_BITS 13600

static int
number_too_large(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "number too large");
}

/* ---- conversions ---------------------------------------------------------------------- */

static void
shortest_double_text(double d, char *buf, size_t size)
{
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(buf, size, "%.*g", precision, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

long double
rego_number_long_double(const struct rego_value *v)
{
	char buf[64];
	switch (v->number_kind) {
	case REGO_NUM_INT:
		return (long double)v->u.integer;
	case REGO_NUM_BIG:
		return strtold(v->u.big, NULL);
	default:
		shortest_double_text(v->u.real, buf, sizeof(buf));
		return strtold(buf, NULL);
	}
}

int
rego_number_from_long_double(struct rego_builtin_ctx *ctx, long double x,
                             const struct rego_value **ret)
{
	const struct rego_value *v;
	if (!isfinite(x))
		return number_too_large(ctx);
	if (x == truncl(x)) {
		if (x >= -9223372036854775808.0L && x < 9223372036854775808.0L) {
			v = rego_int(ctx->arena, (int64_t)x);
			if (!v)
				return rego_builtin_nomem(ctx);
			*ret = v;
			return 0;
		}
		/* A long double has at most 4933 integral digits. */
		char *buf = rego_arena_alloc(ctx->arena, 5000);
		if (!buf)
			return rego_builtin_nomem(ctx);
		int n = snprintf(buf, 5000, "%.0Lf", x);
		if (n <= 0 || n >= 5000 || n > NUMBER_MAX_DIGITS)
			return number_too_large(ctx);
		v = rego_number_parse(ctx->arena, buf, (size_t)n);
		if (!v)
			return rego_builtin_nomem(ctx);
		*ret = v;
		return 0;
	}
	double d = (double)x;
	if (!isfinite(d))
		return number_too_large(ctx);
	v = rego_float(ctx->arena, d);
	if (!v)
		return rego_builtin_nomem(ctx);
	*ret = v;
	return 0;
}

/* Whether a number has an integral value (doubles beyond int64 are integral). */
static bool
number_is_integral(const struct rego_value *v)
{
	return v->number_kind != REGO_NUM_FLOAT || v->u.real == trunc(v->u.real);
}

static bool
number_is_zero(const struct rego_value *v)
{
	return (v->number_kind == REGO_NUM_INT && v->u.integer == 0) ||
	       (v->number_kind == REGO_NUM_FLOAT && v->u.real == 0);
}

static bool
number_is_negative(const struct rego_value *v)
{
	switch (v->number_kind) {
	case REGO_NUM_INT:
		return v->u.integer < 0;
	case REGO_NUM_BIG:
		return v->u.big[0] == '-';
	default:
		return v->u.real < 0;
	}
}

/* A new BIGNUM holding an integral number (see number_is_integral), or NULL when out of
 * memory. */
static BIGNUM *
number_to_bn(const struct rego_value *v)
{
	BIGNUM *bn = NULL;
	if (v->number_kind == REGO_NUM_INT) {
		bn = BN_new();
		if (!bn)
			return NULL;
		int64_t i = v->u.integer;
		uint64_t magnitude = i < 0 ? -(uint64_t)i : (uint64_t)i;
		if (!BN_set_word(bn, magnitude)) {
			BN_free(bn);
			return NULL;
		}
		BN_set_negative(bn, i < 0);
		return bn;
	}
	if (v->number_kind == REGO_NUM_BIG)
		return BN_dec2bn(&bn, v->u.big) ? bn : NULL;
	char buf[400]; /* %.0f of a double has at most 309 digits */
	snprintf(buf, sizeof(buf), "%.0f", v->u.real);
	return BN_dec2bn(&bn, buf) ? bn : NULL;
}

static int
bn_to_value(struct rego_builtin_ctx *ctx, const BIGNUM *bn, const struct rego_value **ret)
{
	/* 3.33 bits per digit: refuse before formatting something absurdly long. */
	if (BN_num_bits(bn) > SHIFT_MAX_BITS + 64)
		return number_too_large(ctx);
	char *text = BN_bn2dec(bn);
	if (!text)
		return rego_builtin_nomem(ctx);
	size_t n = strlen(text);
	const struct rego_value *v = NULL;
	if (n <= NUMBER_MAX_DIGITS)
		v = rego_number_parse(ctx->arena, text, n);
	OPENSSL_free(text);
	if (n > NUMBER_MAX_DIGITS)
		return number_too_large(ctx);
	if (!v)
		return rego_builtin_nomem(ctx);
	*ret = v;
	return 0;
}

static int
int_result(struct rego_builtin_ctx *ctx, int64_t i, const struct rego_value **ret)
{
	const struct rego_value *v = rego_int(ctx->arena, i);
	if (!v)
		return rego_builtin_nomem(ctx);
	*ret = v;
	return 0;
}

/* ---- arithmetic ----------------------------------------------------------------------- */

/* Exact integer arithmetic on BIGNUMs. Returns 0 with *ret set, 1 when a division is not exact
 * (the caller falls back to floating point), or a negative code. */
static int
arith_exact(struct rego_builtin_ctx *ctx, enum rego_arith_op op, const struct rego_value *a,
            const struct rego_value *b, const struct rego_value **ret)
{
	BN_CTX *bn_ctx = BN_CTX_new();
	BIGNUM *x = number_to_bn(a), *y = number_to_bn(b), *r = BN_new(), *rem = BN_new();
	int rc, ok = 0;
	if (!bn_ctx || !x || !y || !r || !rem) {
		rc = rego_builtin_nomem(ctx);
		goto out;
	}
	switch (op) {
	case REGO_ARITH_ADD:
		ok = BN_add(r, x, y);
		break;
	case REGO_ARITH_SUB:
		ok = BN_sub(r, x, y);
		break;
	case REGO_ARITH_MUL:
		if (BN_num_bits(x) + BN_num_bits(y) > SHIFT_MAX_BITS + 64) {
			rc = number_too_large(ctx);
			goto out;
		}
		ok = BN_mul(r, x, y, bn_ctx);
		break;
	case REGO_ARITH_DIV:
		if (BN_is_zero(y)) {
			rc = rego_builtin_error(ctx, REGO_ERR_BUILTIN, "divide by zero");
			goto out;
		}
		ok = BN_div(r, rem, x, y, bn_ctx);
		if (ok && !BN_is_zero(rem)) {
			rc = 1;
			goto out;
		}
		break;
	case REGO_ARITH_REM:
		if (BN_is_zero(y)) {
			rc = rego_builtin_error(ctx, REGO_ERR_BUILTIN, "modulo by zero");
			goto out;
		}
		/* Truncated division: the remainder takes the dividend's sign, as in Go. */
		ok = BN_div(NULL, r, x, y, bn_ctx);
		break;
	}
	if (!ok) {
		rc = rego_builtin_nomem(ctx);
		goto out;
	}
	rc = bn_to_value(ctx, r, ret);
out:
	BN_free(x);
	BN_free(y);
	BN_free(r);
	BN_free(rem);
	BN_CTX_free(bn_ctx);
	return rc;
}

int
rego_arith(struct rego_builtin_ctx *ctx, enum rego_arith_op op, const struct rego_value *a,
           const struct rego_value *b, const struct rego_value **ret)
{
	if (a->number_kind == REGO_NUM_INT && b->number_kind == REGO_NUM_INT) {
		int64_t x = a->u.integer, y = b->u.integer, r = 0;
		bool exact = true;
		switch (op) {
		case REGO_ARITH_ADD:
			exact = !__builtin_add_overflow(x, y, &r);
			break;
		case REGO_ARITH_SUB:
			exact = !__builtin_sub_overflow(x, y, &r);
			break;
		case REGO_ARITH_MUL:
			exact = !__builtin_mul_overflow(x, y, &r);
			break;
		case REGO_ARITH_DIV:
			if (y == 0)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "divide by zero");
			if (y == -1)
				exact = !__builtin_sub_overflow((int64_t)0, x, &r);
			else if (x % y == 0)
				r = x / y;
			else
				goto floating;
			break;
		case REGO_ARITH_REM:
			if (y == 0)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "modulo by zero");
			r = y == -1 ? 0 : x % y;
			break;
		}
		if (exact)
			return int_result(ctx, r, ret);
	}
	if (number_is_integral(a) && number_is_integral(b)) {
		int rc = arith_exact(ctx, op, a, b, ret);
		if (rc <= 0)
			return rc;
	} else if (op == REGO_ARITH_REM) {
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "modulo on floating-point number");
	}
floating:;
	long double x = rego_number_long_double(a), y = rego_number_long_double(b), r = 0;
	switch (op) {
	case REGO_ARITH_ADD:
		r = x + y;
		break;
	case REGO_ARITH_SUB:
		r = x - y;
		break;
	case REGO_ARITH_MUL:
		r = x * y;
		break;
	case REGO_ARITH_DIV:
		if (y == 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "divide by zero");
		r = x / y;
		break;
	case REGO_ARITH_REM:
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "modulo on floating-point number");
	}
	return rego_number_from_long_double(ctx, r, ret);
}

static int
binary_number_operator(struct rego_builtin_ctx *ctx, enum rego_arith_op op,
                       const struct rego_value *const *args, const struct rego_value **ret)
{
	if (args[0]->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, 1, "number", args[0]);
	if (args[1]->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, 2, "number", args[1]);
	return rego_arith(ctx, op, args[0], args[1], ret);
}

static int
builtin_plus(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	return binary_number_operator(ctx, REGO_ARITH_ADD, args, ret);
}

static int
builtin_mul(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return binary_number_operator(ctx, REGO_ARITH_MUL, args, ret);
}

static int
builtin_div(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return binary_number_operator(ctx, REGO_ARITH_DIV, args, ret);
}

static int
builtin_rem(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return binary_number_operator(ctx, REGO_ARITH_REM, args, ret);
}

/* minus is numeric subtraction or set difference; its type errors follow OPA's wording. */
static int
builtin_minus(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	const struct rego_value *a = args[0], *b = args[1];
	if (a->type == REGO_NUMBER && b->type == REGO_NUMBER)
		return rego_arith(ctx, REGO_ARITH_SUB, a, b, ret);
	if (a->type == REGO_SET && b->type == REGO_SET) {
		const struct rego_value *v =
		        rego_set_combine(ctx->arena, a, b, REGO_SET_DIFFERENCE);
		if (!v)
			return rego_builtin_nomem(ctx);
		*ret = v;
		return 0;
	}
	if (a->type != REGO_NUMBER && a->type != REGO_SET)
		return rego_builtin_type_error(ctx, 1, "one of {number, set}", a);
	if (b->type == REGO_NUMBER)
		return rego_builtin_type_error(ctx, 2, "set", b);
	return rego_builtin_type_error(ctx, 2, "number", b);
}

/* ---- abs, round, ceil, floor ---------------------------------------------------------- */

enum unary_op {
	UNARY_ABS,
	UNARY_ROUND,
	UNARY_CEIL,
	UNARY_FLOOR,
};

static int
unary_number_operator(struct rego_builtin_ctx *ctx, enum unary_op op,
                      const struct rego_value *const *args, const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (v->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, 1, "number", v);
	if (v->number_kind == REGO_NUM_INT) {
		if (op != UNARY_ABS || v->u.integer >= 0) {
			*ret = v;
			return 0;
		}
		if (v->u.integer != INT64_MIN)
			return int_result(ctx, -v->u.integer, ret);
		const struct rego_value *big =
		        rego_number_parse(ctx->arena, "9223372036854775808", 19);
		if (!big)
			return rego_builtin_nomem(ctx);
		*ret = big;
		return 0;
	}
	if (v->number_kind == REGO_NUM_BIG) {
		if (op != UNARY_ABS || v->u.big[0] != '-') {
			*ret = v;
			return 0;
		}
		const struct rego_value *big =
		        rego_number_parse(ctx->arena, v->u.big + 1, strlen(v->u.big + 1));
		if (!big)
			return rego_builtin_nomem(ctx);
		*ret = big;
		return 0;
	}
	long double x = rego_number_long_double(v), r;
	switch (op) {
	case UNARY_ABS:
		r = fabsl(x);
		break;
	case UNARY_ROUND:
		/* Half away from zero, as OPA rounds. */
		r = x < 0 ? truncl(x - 0.5L) : truncl(x + 0.5L);
		break;
	case UNARY_CEIL:
		r = ceill(x);
		break;
	case UNARY_FLOOR:
		r = floorl(x);
		break;
	default:
		r = x;
		break;
	}
	return rego_number_from_long_double(ctx, r, ret);
}

static int
builtin_abs(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return unary_number_operator(ctx, UNARY_ABS, args, ret);
}

static int
builtin_round(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return unary_number_operator(ctx, UNARY_ROUND, args, ret);
}

static int
builtin_ceil(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	return unary_number_operator(ctx, UNARY_CEIL, args, ret);
}

static int
builtin_floor(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return unary_number_operator(ctx, UNARY_FLOOR, args, ret);
}

/* ---- integer operands ----------------------------------------------------------------- */

/* OPA's BigIntOperand: any number with an integral value. */
static int
integer_operand(struct rego_builtin_ctx *ctx, const struct rego_value *v, int pos)
{
	if (v->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, pos, "integer", v);
	if (!number_is_integral(v))
		return rego_builtin_error(
		        ctx, REGO_ERR_TYPE,
		        "operand %d must be integer number but got floating-point "
		        "number",
		        pos);
	return 0;
}

/* ---- numbers.range, numbers.range_step ------------------------------------------------ */

static int
range_too_large(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "range too large");
}

static int
range_int64(struct rego_builtin_ctx *ctx, int64_t from, int64_t to, int64_t step,
            const struct rego_value **ret)
{
	__int128 span = from <= to ? (__int128)to - from : (__int128)from - to;
	__int128 count = span / step + 1;
	if (count > REGO_VALUE_MAX_LENGTH)
		return range_too_large(ctx);
	const struct rego_value **items =
	        rego_arena_alloc(ctx->arena, (size_t)count * sizeof(*items));
	if (!items)
		return rego_builtin_nomem(ctx);
	__int128 at = from;
	for (size_t i = 0; i < (size_t)count; i++) {
		items[i] = rego_int(ctx->arena, (int64_t)at);
		if (!items[i])
			return rego_builtin_nomem(ctx);
		at += from <= to ? step : -step;
	}
	const struct rego_value *v = rego_array(ctx->arena, items, (size_t)count);
	if (!v)
		return rego_builtin_nomem(ctx);
	*ret = v;
	return 0;
}

static int
range_big(struct rego_builtin_ctx *ctx, const struct rego_value *from_v,
          const struct rego_value *to_v, const struct rego_value *step_v,
          const struct rego_value **ret)
{
	BN_CTX *bn_ctx = BN_CTX_new();
	BIGNUM *from = number_to_bn(from_v), *to = number_to_bn(to_v), *step = number_to_bn(step_v);
	BIGNUM *span = BN_new();
	struct rego_vec items;
	int rc;
	rego_vec_init(&items, ctx->arena);
	if (!bn_ctx || !from || !to || !step || !span) {
		rc = rego_builtin_nomem(ctx);
		goto out;
	}
	bool ascending = BN_cmp(from, to) <= 0;
	if (!(ascending ? BN_sub(span, to, from) : BN_sub(span, from, to)) ||
	    !BN_div(span, NULL, span, step, bn_ctx)) {
		rc = rego_builtin_nomem(ctx);
		goto out;
	}
	if (BN_num_bits(span) > 31 || BN_get_word(span) >= REGO_VALUE_MAX_LENGTH) {
		rc = range_too_large(ctx);
		goto out;
	}
	BN_ULONG count = BN_get_word(span) + 1;
	for (BN_ULONG i = 0; i < count; i++) {
		const struct rego_value *v;
		if ((rc = bn_to_value(ctx, from, &v)) < 0)
			goto out;
		if (rego_vec_push(&items, v) < 0) {
			rc = rego_builtin_nomem(ctx);
			goto out;
		}
		if (!(ascending ? BN_add(from, from, step) : BN_sub(from, from, step))) {
			rc = rego_builtin_nomem(ctx);
			goto out;
		}
	}
	*ret = rego_vec_to_array(&items);
	rc = *ret ? 0 : rego_builtin_nomem(ctx);
out:
	BN_free(from);
	BN_free(to);
	BN_free(step);
	BN_free(span);
	BN_CTX_free(bn_ctx);
	return rc;
}

static int
range_common(struct rego_builtin_ctx *ctx, const struct rego_value *from,
             const struct rego_value *to, const struct rego_value *step,
             const struct rego_value **ret)
{
	int rc;
	if ((rc = integer_operand(ctx, from, 1)) < 0 || (rc = integer_operand(ctx, to, 2)) < 0)
		return rc;
	if (step) {
		if ((rc = integer_operand(ctx, step, 3)) < 0)
			return rc;
		if (number_is_negative(step) || number_is_zero(step))
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "step must be a positive integer");
	}
	int64_t x, y, s = 1;
	if (rego_number_int64(from, &x) && rego_number_int64(to, &y) &&
	    (!step || rego_number_int64(step, &s)))
		return range_int64(ctx, x, y, s, ret);
	static const struct rego_value one = { .type = REGO_NUMBER,
		                               .number_kind = REGO_NUM_INT,
		                               .u.integer = 1 };
	return range_big(ctx, from, to, step ? step : &one, ret);
}

static int
builtin_numbers_range(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	return range_common(ctx, args[0], args[1], NULL, ret);
}

static int
builtin_numbers_range_step(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                           const struct rego_value **ret)
{
	return range_common(ctx, args[0], args[1], args[2], ret);
}

/* ---- rand.intn ------------------------------------------------------------------------ */

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Deterministic for a query: derived from the query's seed, the string and |n|, so repeated
 * calls with the same arguments agree (the evaluator also memoises MEMO built-ins). */
static int
builtin_rand_intn(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	const struct rego_value *key = args[0], *limit = args[1];
	int64_t n;
	if (key->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", key);
	if (limit->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, 2, "number", limit);
	if (!rego_number_int64(limit, &n))
		return rego_builtin_error(ctx, REGO_ERR_TYPE,
		                          "operand 2 must be integer number but got floating-point "
		                          "number");
	if (n == 0)
		return int_result(ctx, 0, ret);
	uint64_t bound = n < 0 ? -(uint64_t)n : (uint64_t)n;
	uint64_t h = mix64(ctx->seed);
	for (size_t i = 0; i < key->length; i++)
		h = (h ^ (unsigned char)key->u.string[i]) * 0x100000001b3ull;
	h = mix64(h ^ mix64(bound));
	return int_result(ctx, (int64_t)(h % bound), ret);
}

/* ---- bits ----------------------------------------------------------------------------- */

enum bits_op {
	BITS_AND,
	BITS_OR,
	BITS_XOR,
	BITS_LSH,
	BITS_RSH,
};

/* Two's complement of x in exactly `width` big-endian bytes (width > BN_num_bytes(x)). */
static bool
bn_to_twos_complement(const BIGNUM *x, unsigned char *buf, int width)
{
	if (BN_bn2binpad(x, buf, width) < 0)
		return false;
	if (BN_is_negative(x)) {
		unsigned carry = 1;
		for (int i = width - 1; i >= 0; i--) {
			unsigned byte = (unsigned char)~buf[i] + carry;
			buf[i] = (unsigned char)byte;
			carry = byte >> 8;
		}
	}
	return true;
}

static BIGNUM *
bn_from_twos_complement(unsigned char *buf, int width)
{
	bool negative = buf[0] & 0x80;
	if (negative) {
		unsigned carry = 1;
		for (int i = width - 1; i >= 0; i--) {
			unsigned byte = (unsigned char)~buf[i] + carry;
			buf[i] = (unsigned char)byte;
			carry = byte >> 8;
		}
	}
	BIGNUM *r = BN_bin2bn(buf, width, NULL);
	if (r)
		BN_set_negative(r, negative);
	return r;
}

/* and, or, xor on BIGNUMs with Go's infinite two's complement semantics. */
static BIGNUM *
bn_bitwise(const BIGNUM *x, const BIGNUM *y, enum bits_op op)
{
	int width = (BN_num_bytes(x) > BN_num_bytes(y) ? BN_num_bytes(x) : BN_num_bytes(y)) + 1;
	unsigned char *a = calloc(2, (size_t)width);
	if (!a)
		return NULL;
	unsigned char *b = a + width;
	BIGNUM *r = NULL;
	if (bn_to_twos_complement(x, a, width) && bn_to_twos_complement(y, b, width)) {
		for (int i = 0; i < width; i++)
			a[i] = op == BITS_AND  ? a[i] & b[i]
			       : op == BITS_OR ? a[i] | b[i]
			                       : a[i] ^ b[i];
		r = bn_from_twos_complement(a, width);
	}
	free(a);
	return r;
}

/* floor(x / 2^shift), as Go's Rsh rounds. */
static bool
bn_shift_right(BIGNUM *r, const BIGNUM *x, int shift)
{
	if (!BN_is_negative(x))
		return BN_rshift(r, x, shift);
	/* -(((|x| - 1) >> shift) + 1) */
	if (!BN_copy(r, x))
		return false;
	BN_set_negative(r, 0);
	if (!BN_sub_word(r, 1) || !BN_rshift(r, r, shift) || !BN_add_word(r, 1))
		return false;
	BN_set_negative(r, 1);
	return true;
}

static int
bits_big(struct rego_builtin_ctx *ctx, enum bits_op op, const struct rego_value *a,
         const struct rego_value *b, const struct rego_value **ret)
{
	BIGNUM *x = number_to_bn(a), *y = number_to_bn(b), *r = NULL;
	int rc;
	if (!x || !y) {
		rc = rego_builtin_nomem(ctx);
		goto out;
	}
	if (op == BITS_LSH || op == BITS_RSH) {
		/* The count is non-negative here; anything past the bound shifts everything. */
		int shift = BN_num_bits(y) > 30 ? SHIFT_MAX_BITS + 1 : (int)BN_get_word(y);
		if (op == BITS_LSH && !BN_is_zero(x) && BN_num_bits(x) + shift > SHIFT_MAX_BITS) {
			rc = number_too_large(ctx);
			goto out;
		}
		if (op == BITS_RSH && shift > BN_num_bits(x))
			shift = BN_num_bits(x) + 1;
		r = BN_new();
		if (r && !(op == BITS_LSH ? BN_lshift(r, x, shift) : bn_shift_right(r, x, shift))) {
			BN_free(r);
			r = NULL;
		}
	} else {
		r = bn_bitwise(x, y, op);
	}
	if (!r) {
		rc = rego_builtin_nomem(ctx);
		goto out;
	}
	rc = bn_to_value(ctx, r, ret);
out:
	BN_free(x);
	BN_free(y);
	BN_free(r);
	return rc;
}

static int
bits_binary(struct rego_builtin_ctx *ctx, enum bits_op op, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	const struct rego_value *a = args[0], *b = args[1];
	int rc;
	if ((rc = integer_operand(ctx, a, 1)) < 0 || (rc = integer_operand(ctx, b, 2)) < 0)
		return rc;
	if ((op == BITS_LSH || op == BITS_RSH) && number_is_negative(b))
		return rego_builtin_error(ctx, REGO_ERR_TYPE,
		                          "operand 2 must be an unsigned integer number but got a "
		                          "negative integer");
	int64_t x, y;
	if (rego_number_int64(a, &x) && rego_number_int64(b, &y)) {
		switch (op) {
		case BITS_AND:
			return int_result(ctx, x & y, ret);
		case BITS_OR:
			return int_result(ctx, x | y, ret);
		case BITS_XOR:
			return int_result(ctx, x ^ y, ret);
		case BITS_LSH: {
			int64_t r;
			if (x == 0)
				return int_result(ctx, 0, ret);
			if (y < 62 && !__builtin_mul_overflow(x, (int64_t)1 << y, &r))
				return int_result(ctx, r, ret);
			break;
		}
		case BITS_RSH:
			if (y >= 63)
				return int_result(ctx, x < 0 ? -1 : 0, ret);
			return int_result(ctx, x < 0 ? ~(~x >> y) : x >> y, ret);
		}
	}
	return bits_big(ctx, op, a, b, ret);
}

static int
builtin_bits_and(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	return bits_binary(ctx, BITS_AND, args, ret);
}

static int
builtin_bits_or(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	return bits_binary(ctx, BITS_OR, args, ret);
}

static int
builtin_bits_xor(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	return bits_binary(ctx, BITS_XOR, args, ret);
}

static int
builtin_bits_lsh(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	return bits_binary(ctx, BITS_LSH, args, ret);
}

static int
builtin_bits_rsh(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	return bits_binary(ctx, BITS_RSH, args, ret);
}

static int
builtin_bits_negate(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	const struct rego_value *a = args[0];
	int rc;
	int64_t x;
	if ((rc = integer_operand(ctx, a, 1)) < 0)
		return rc;
	if (rego_number_int64(a, &x))
		return int_result(ctx, ~x, ret);
	/* ~x = -(x + 1) */
	BIGNUM *r = number_to_bn(a);
	if (!r || !BN_add_word(r, 1)) {
		BN_free(r);
		return rego_builtin_nomem(ctx);
	}
	BN_set_negative(r, !BN_is_negative(r));
	rc = bn_to_value(ctx, r, ret);
	BN_free(r);
	return rc;
}

/* ---- set operators -------------------------------------------------------------------- */

static int
set_operator(struct rego_builtin_ctx *ctx, enum rego_set_operation operation,
             const struct rego_value *const *args, const struct rego_value **ret)
{
	if (args[0]->type != REGO_SET)
		return rego_builtin_type_error(ctx, 1, "set", args[0]);
	if (args[1]->type != REGO_SET)
		return rego_builtin_type_error(ctx, 2, "set", args[1]);
	const struct rego_value *v = rego_set_combine(ctx->arena, args[0], args[1], operation);
	if (!v)
		return rego_builtin_nomem(ctx);
	*ret = v;
	return 0;
}

static int
builtin_and(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return set_operator(ctx, REGO_SET_INTERSECTION, args, ret);
}

static int
builtin_or(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	return set_operator(ctx, REGO_SET_UNION, args, ret);
}

const struct rego_builtin rego_builtins_numbers[] = {
	{ "abs", 1, 0, builtin_abs },
	{ "and", 2, 0, builtin_and },
	{ "bits.and", 2, 0, builtin_bits_and },
	{ "bits.lsh", 2, 0, builtin_bits_lsh },
	{ "bits.negate", 1, 0, builtin_bits_negate },
	{ "bits.or", 2, 0, builtin_bits_or },
	{ "bits.rsh", 2, 0, builtin_bits_rsh },
	{ "bits.xor", 2, 0, builtin_bits_xor },
	{ "ceil", 1, 0, builtin_ceil },
	{ "div", 2, 0, builtin_div },
	{ "floor", 1, 0, builtin_floor },
	{ "minus", 2, 0, builtin_minus },
	{ "mul", 2, 0, builtin_mul },
	{ "numbers.range", 2, 0, builtin_numbers_range },
	{ "numbers.range_step", 3, 0, builtin_numbers_range_step },
	{ "or", 2, 0, builtin_or },
	{ "plus", 2, 0, builtin_plus },
	{ "rand.intn", 2, REGO_BUILTIN_MEMO, builtin_rand_intn },
	{ "rem", 2, 0, builtin_rem },
	{ "round", 1, 0, builtin_round },
	{ NULL, 0, 0, NULL },
};
