/* Built-in functions: core group. Comparison operators as functions (equal, neq, lt, lte, gt,
 * gte), aggregates (count, sum, product, max, min, sort, and the v0-only all and any), type
 * tests (is_*, type_name), to_number and the v0-only cast_* functions, and the membership
 * helpers behind `in`. Trusts nothing about its operands; allocates only from ctx->arena. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rego/builtins.h"
#include "lib/rego/builtins_numbers.h"

static int
result(struct rego_builtin_ctx *ctx, const struct rego_value *v, const struct rego_value **ret)
{
	if (!v)
		return rego_builtin_nomem(ctx);
	*ret = v;
	return 0;
}

/* ---- comparison ----------------------------------------------------------------------- */

static int
builtin_equal(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	*ret = rego_bool(rego_compare(args[0], args[1]) == 0);
	return 0;
}

static int
builtin_neq(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	*ret = rego_bool(rego_compare(args[0], args[1]) != 0);
	return 0;
}

static int
builtin_lt(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	*ret = rego_bool(rego_compare(args[0], args[1]) < 0);
	return 0;
}

static int
builtin_lte(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	*ret = rego_bool(rego_compare(args[0], args[1]) <= 0);
	return 0;
}

static int
builtin_gt(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	*ret = rego_bool(rego_compare(args[0], args[1]) > 0);
	return 0;
}

static int
builtin_gte(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	*ret = rego_bool(rego_compare(args[0], args[1]) >= 0);
	return 0;
}

/* ---- aggregates ----------------------------------------------------------------------- */

static int
builtin_count(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	switch (v->type) {
	case REGO_ARRAY:
	case REGO_OBJECT:
	case REGO_SET:
		return result(ctx, rego_int(ctx->arena, v->length), ret);
	case REGO_STRING:
		return result(
		        ctx,
		        rego_int(ctx->arena, (int64_t)rego_utf8_length(v->u.string, v->length)),
		        ret);
	default:
		return rego_builtin_type_error(ctx, 1, "one of {array, object, set, string}", v);
	}
}

static bool
collection_operand(const struct rego_value *v)
{
	return v->type == REGO_ARRAY || v->type == REGO_SET;
}

/* sum and product: exact when every member is integral, else in long double as OPA's
 * big.Float accumulates. */
static int
aggregate_numbers(struct rego_builtin_ctx *ctx, const struct rego_value *v, enum rego_arith_op op,
                  const struct rego_value **ret)
{
	if (!collection_operand(v))
		return rego_builtin_type_error(ctx, 1, "one of {set, array}", v);
	bool integral = true;
	for (size_t i = 0; i < v->length; i++) {
		const struct rego_value *item = v->u.items[i];
		if (item->type != REGO_NUMBER)
			return rego_builtin_error(ctx, REGO_ERR_TYPE,
			                          "operand 1 must be %s of numbers but got %s "
			                          "containing %s",
			                          rego_type_name(v), rego_type_name(v),
			                          rego_type_name(item));
		if (item->number_kind == REGO_NUM_FLOAT && item->u.real != trunc(item->u.real))
			integral = false;
	}
	int64_t identity = op == REGO_ARITH_ADD ? 0 : 1;
	if (integral) {
		const struct rego_value *acc = rego_int(ctx->arena, identity);
		if (!acc)
			return rego_builtin_nomem(ctx);
		for (size_t i = 0; i < v->length; i++) {
			int rc = rego_arith(ctx, op, acc, v->u.items[i], &acc);
			if (rc < 0)
				return rc;
		}
		*ret = acc;
		return 0;
	}
	long double acc = identity;
	for (size_t i = 0; i < v->length; i++) {
		long double x = rego_number_long_double(v->u.items[i]);
		acc = op == REGO_ARITH_ADD ? acc + x : acc * x;
	}
	return rego_number_from_long_double(ctx, acc, ret);
}

static int
builtin_sum(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return aggregate_numbers(ctx, args[0], REGO_ARITH_ADD, ret);
}

static int
builtin_product(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	return aggregate_numbers(ctx, args[0], REGO_ARITH_MUL, ret);
}

static int
builtin_max(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (!collection_operand(v))
		return rego_builtin_type_error(ctx, 1, "one of {set, array}", v);
	if (v->length == 0)
		return REGO_UNDEFINED;
	const struct rego_value *best = v->u.items[0];
	for (size_t i = 1; i < v->length; i++)
		if (rego_compare(best, v->u.items[i]) <= 0)
			best = v->u.items[i];
	*ret = best;
	return 0;
}

static int
builtin_min(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (!collection_operand(v))
		return rego_builtin_type_error(ctx, 1, "one of {set, array}", v);
	if (v->length == 0)
		return REGO_UNDEFINED;
	const struct rego_value *best = v->u.items[0];
	for (size_t i = 1; i < v->length; i++)
		if (rego_compare(best, v->u.items[i]) >= 0)
			best = v->u.items[i];
	*ret = best;
	return 0;
}

static int
compare_value_ptrs(const void *a, const void *b)
{
	return rego_compare(*(const struct rego_value *const *)a,
	                    *(const struct rego_value *const *)b);
}

static int
builtin_sort(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (!collection_operand(v))
		return rego_builtin_type_error(ctx, 1, "one of {set, array}", v);
	const struct rego_value *sorted = rego_array(ctx->arena, v->u.items, v->length);
	if (!sorted)
		return rego_builtin_nomem(ctx);
	/* rego_array copied the items into a fresh buffer, which is ours to order. */
	if (v->type == REGO_ARRAY && sorted->length > 1)
		qsort((void *)sorted->u.items, sorted->length, sizeof(sorted->u.items[0]),
		      compare_value_ptrs);
	*ret = sorted;
	return 0;
}

static int
builtin_all(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (!collection_operand(v))
		return rego_builtin_type_error(ctx, 1, "one of {array, set}", v);
	bool all = true;
	for (size_t i = 0; i < v->length && all; i++)
		all = rego_equal(v->u.items[i], &rego_true_value);
	*ret = rego_bool(all);
	return 0;
}

static int
builtin_any(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (!collection_operand(v))
		return rego_builtin_type_error(ctx, 1, "one of {array, set}", v);
	bool any = false;
	for (size_t i = 0; i < v->length && !any; i++)
		any = rego_equal(v->u.items[i], &rego_true_value);
	*ret = rego_bool(any);
	return 0;
}

/* ---- membership (`x in c`, `k, v in c`) ----------------------------------------------- */

static int
builtin_member_2(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	const struct rego_value *x = args[0], *c = args[1];
	bool found = false;
	switch (c->type) {
	case REGO_SET:
		found = rego_set_contains(c, x);
		break;
	case REGO_ARRAY:
		for (size_t i = 0; i < c->length && !found; i++)
			found = rego_equal(c->u.items[i], x);
		break;
	case REGO_OBJECT:
		for (size_t i = 0; i < c->length && !found; i++)
			found = rego_equal(c->u.members[i].value, x);
		break;
	default:
		break;
	}
	*ret = rego_bool(found);
	return 0;
}

static int
builtin_member_3(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	const struct rego_value *key = args[0], *value = args[1], *c = args[2];
	const struct rego_value *got = NULL;
	int64_t index;
	switch (c->type) {
	case REGO_SET:
		if (rego_set_contains(c, key))
			got = key;
		break;
	case REGO_OBJECT:
		got = rego_object_get(c, key);
		break;
	case REGO_ARRAY:
		if (rego_number_int64(key, &index) && index >= 0 && (uint64_t)index < c->length)
			got = c->u.items[index];
		break;
	default:
		break;
	}
	*ret = rego_bool(got && rego_equal(got, value));
	return 0;
}

/* ---- types ---------------------------------------------------------------------------- */

static int
builtin_is_number(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	*ret = rego_bool(args[0]->type == REGO_NUMBER);
	return 0;
}

static int
builtin_is_string(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	*ret = rego_bool(args[0]->type == REGO_STRING);
	return 0;
}

static int
builtin_is_boolean(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	*ret = rego_bool(args[0]->type == REGO_BOOLEAN);
	return 0;
}

static int
builtin_is_array(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	*ret = rego_bool(args[0]->type == REGO_ARRAY);
	return 0;
}

static int
builtin_is_set(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	*ret = rego_bool(args[0]->type == REGO_SET);
	return 0;
}

static int
builtin_is_object(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	*ret = rego_bool(args[0]->type == REGO_OBJECT);
	return 0;
}

static int
builtin_is_null(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	*ret = rego_bool(args[0]->type == REGO_NULL);
	return 0;
}

static int
builtin_type_name(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	return result(ctx, rego_string_cstr(ctx->arena, rego_type_name(args[0])), ret);
}

/* ---- to_number ------------------------------------------------------------------------ */

static bool
is_digit(char c, bool hex)
{
	return (c >= '0' && c <= '9') ||
	       (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

/* Go's rule for digit separators: an underscore must sit between digits (or right after a
 * base prefix). */
static bool
underscores_ok(const char *s, size_t len)
{
	char saw = '^';
	size_t i = 0;
	bool hex = false;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (len - i >= 2 && s[i] == '0' &&
	    (s[i + 1] == 'x' || s[i + 1] == 'X' || s[i + 1] == 'b' || s[i + 1] == 'B' ||
	     s[i + 1] == 'o' || s[i + 1] == 'O')) {
		hex = s[i + 1] == 'x' || s[i + 1] == 'X';
		i += 2;
		saw = '0';
	}
	for (; i < len; i++) {
		if (is_digit(s[i], hex)) {
			saw = '0';
			continue;
		}
		if (s[i] == '_') {
			if (saw != '0')
				return false;
			saw = '_';
			continue;
		}
		if (saw == '_')
			return false;
		saw = '!';
	}
	return saw != '_';
}

/* Checks `s` against the syntax strconv.ParseFloat accepts (decimal or hexadecimal with a 'p'
 * exponent, optional sign, underscores between digits) and writes it without underscores,
 * with a digit on each side of a decimal point, into `out` (size at least len + 3). */
static bool
go_float_syntax(const char *s, size_t len, char *out, bool *ret_hex)
{
	size_t i = 0, o = 0;
	bool underscores = false, hex = false;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		out[o++] = s[i++];
	if (len - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		hex = true;
		out[o++] = '0';
		out[o++] = 'x';
		i += 2;
	}
	size_t digits = 0;
	bool dot = false;
	for (; i < len; i++) {
		char c = s[i];
		if (c == '_') {
			underscores = true;
			continue;
		}
		if (c == '.') {
			if (dot)
				return false;
			if (digits == 0)
				out[o++] = '0';
			dot = true;
			out[o++] = c;
			continue;
		}
		if (!is_digit(c, hex))
			break;
		digits++;
		out[o++] = c;
	}
	if (digits == 0)
		return false;
	if (dot && out[o - 1] == '.')
		out[o++] = '0';
	if (i < len && (hex ? (s[i] == 'p' || s[i] == 'P') : (s[i] == 'e' || s[i] == 'E'))) {
		out[o++] = s[i++];
		if (i < len && (s[i] == '+' || s[i] == '-'))
			out[o++] = s[i++];
		size_t exponent_digits = 0;
		for (; i < len; i++) {
			if (s[i] == '_') {
				underscores = true;
				continue;
			}
			if (!is_digit(s[i], false))
				break;
			exponent_digits++;
			out[o++] = s[i];
		}
		if (exponent_digits == 0)
			return false;
	} else if (hex) {
		return false;
	}
	if (i != len || (underscores && !underscores_ok(s, len)))
		return false;
	out[o] = '\0';
	*ret_hex = hex;
	return true;
}

/* strconv.Quote's form of a string for the error message: quotes, backslash escapes for
 * quotes, backslashes and control bytes. Truncated to fit the message. */
static void
quote_go_string(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
}

static int
to_number_string(struct rego_builtin_ctx *ctx, const struct rego_value *v,
                 const struct rego_value **ret)
{
	const char *s = v->u.string;
	size_t len = v->length;
	size_t start = 0;
	while (start < len && (s[start] == '+' || s[start] == '-'))
		start++;
	if ((len - start == 3 && strncasecmp(s + start, "inf", 3) == 0) ||
	    (len - start == 8 && strncasecmp(s + start, "infinity", 8) == 0) ||
	    (len - start == 3 && strncasecmp(s + start, "nan", 3) == 0))
		return rego_builtin_type_error(ctx, 1, "valid number string", v);

	char quoted[200];
	const char *reason = "invalid syntax";
	char *text = rego_arena_alloc(ctx->arena, len + 4);
	bool hex = false;
	if (!text)
		return rego_builtin_nomem(ctx);
	if (go_float_syntax(s, len, text, &hex)) {
		const struct rego_value *number = NULL;
		if (hex) {
			double d = strtod(text, NULL);
			if (isfinite(d))
				number = rego_float(ctx->arena, d);
		} else if (isfinite(strtod(text, NULL))) {
			/* Keeps integers exact, as OPA keeps the string as the number's text. */
			number = rego_number_parse(ctx->arena, text, strlen(text));
		}
		if (number) {
			*ret = number;
			return 0;
		}
		reason = "value out of range";
	}
	quote_go_string(s, len, quoted, sizeof(quoted));
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "strconv.ParseFloat: parsing %s: %s",
	                          quoted, reason);
}

static int
builtin_to_number(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	switch (v->type) {
	case REGO_NULL:
		return result(ctx, rego_int(ctx->arena, 0), ret);
	case REGO_BOOLEAN:
		return result(ctx, rego_int(ctx->arena, v->u.boolean ? 1 : 0), ret);
	case REGO_NUMBER:
		*ret = v;
		return 0;
	case REGO_STRING:
		return to_number_string(ctx, v, ret);
	default:
		return rego_builtin_type_error(ctx, 1, "one of {null, boolean, number, string}", v);
	}
}

/* ---- cast_* (v0 only) ----------------------------------------------------------------- */

static int
builtin_cast_array(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (v->type == REGO_ARRAY) {
		*ret = v;
		return 0;
	}
	if (v->type == REGO_SET)
		return result(ctx, rego_array(ctx->arena, v->u.items, v->length), ret);
	return rego_builtin_type_error(ctx, 1, "one of {array, set}", v);
}

static int
builtin_cast_set(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	const struct rego_value *v = args[0];
	if (v->type == REGO_SET) {
		*ret = v;
		return 0;
	}
	if (v->type == REGO_ARRAY)
		return result(ctx, rego_set(ctx->arena, v->u.items, v->length), ret);
	return rego_builtin_type_error(ctx, 1, "one of {array, set}", v);
}

static int
cast_identity(struct rego_builtin_ctx *ctx, const struct rego_value *v, enum rego_type type,
              const char *name, const struct rego_value **ret)
{
	if (v->type != type)
		return rego_builtin_type_error(ctx, 1, name, v);
	*ret = v;
	return 0;
}

static int
builtin_cast_string(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	return cast_identity(ctx, args[0], REGO_STRING, "string", ret);
}

static int
builtin_cast_boolean(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                     const struct rego_value **ret)
{
	return cast_identity(ctx, args[0], REGO_BOOLEAN, "boolean", ret);
}

static int
builtin_cast_null(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	return cast_identity(ctx, args[0], REGO_NULL, "null", ret);
}

static int
builtin_cast_object(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	return cast_identity(ctx, args[0], REGO_OBJECT, "object", ret);
}

const struct rego_builtin rego_builtins_core[] = {
	{ "all", 1, REGO_BUILTIN_DEPRECATED, builtin_all },
	{ "any", 1, REGO_BUILTIN_DEPRECATED, builtin_any },
	{ "cast_array", 1, REGO_BUILTIN_DEPRECATED, builtin_cast_array },
	{ "cast_boolean", 1, REGO_BUILTIN_DEPRECATED, builtin_cast_boolean },
	{ "cast_null", 1, REGO_BUILTIN_DEPRECATED, builtin_cast_null },
	{ "cast_object", 1, REGO_BUILTIN_DEPRECATED, builtin_cast_object },
	{ "cast_set", 1, REGO_BUILTIN_DEPRECATED, builtin_cast_set },
	{ "cast_string", 1, REGO_BUILTIN_DEPRECATED, builtin_cast_string },
	{ "count", 1, 0, builtin_count },
	{ "equal", 2, 0, builtin_equal },
	{ "gt", 2, 0, builtin_gt },
	{ "gte", 2, 0, builtin_gte },
	{ "internal.member_2", 2, 0, builtin_member_2 },
	{ "internal.member_3", 3, 0, builtin_member_3 },
	{ "is_array", 1, 0, builtin_is_array },
	{ "is_boolean", 1, 0, builtin_is_boolean },
	{ "is_null", 1, 0, builtin_is_null },
	{ "is_number", 1, 0, builtin_is_number },
	{ "is_object", 1, 0, builtin_is_object },
	{ "is_set", 1, 0, builtin_is_set },
	{ "is_string", 1, 0, builtin_is_string },
	{ "lt", 2, 0, builtin_lt },
	{ "lte", 2, 0, builtin_lte },
	{ "max", 1, 0, builtin_max },
	{ "min", 1, 0, builtin_min },
	{ "neq", 2, 0, builtin_neq },
	{ "product", 1, 0, builtin_product },
	{ "sort", 1, 0, builtin_sort },
	{ "sum", 1, 0, builtin_sum },
	{ "to_number", 1, 0, builtin_to_number },
	{ "type_name", 1, 0, builtin_type_name },
	{ NULL, 0, 0, NULL },
};
