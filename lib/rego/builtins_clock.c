/* Built-in functions: clock group — time.* and units.*. time.now_ns reads the query's clock,
 * taken once per query so every call in one evaluation agrees. Unit amounts are computed
 * exactly (OpenSSL big numbers) and only become floating point when not integral. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "lib/rego/builtins.h"

static int
oom(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* ---- units ------------------------------------------------------------------------------ */

#define UNITS_MAX_EXPONENT 100

struct amount {
	char digits[128]; /* mantissa digits, no dot */
	int exp10;        /* value = digits * 10^exp10 */
	bool negative;
};

/* Parses the numeric part at the start of `s` into *ret and returns its length, 0 when there
 * is no number, -1 when it is malformed, -2 when its exponent is out of range. An 'e' or 'E'
 * followed by a digit (or sign and digit) is an exponent; otherwise it starts the unit. */
static int
parse_amount(const char *s, size_t n, struct amount *ret)
{
	size_t i = 0, nd = 0;
	bool dot = false, any = false;
	int frac = 0;
	memset(ret, 0, sizeof(*ret));
	if (i < n && (s[i] == '-' || s[i] == '+')) {
		ret->negative = s[i] == '-';
		i++;
	}
	for (; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			any = true;
			if (nd + 1 >= sizeof(ret->digits))
				return -1;
			ret->digits[nd++] = c;
			if (dot)
				frac++;
		} else if (c == '.') {
			if (dot)
				return -1;
			dot = true;
		} else {
			break;
		}
	}
	/* "0.0.0" and ".5.2": a second dot after the number. */
	if (i < n && s[i] == '.')
		return -1;
	if (!any)
		return dot ? -1 : 0;
	long exp = 0;
	if (i + 1 < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;
		bool neg = false;
		if (j < n && (s[j] == '-' || s[j] == '+')) {
			neg = s[j] == '-';
			j++;
		}
		if (j < n && s[j] >= '0' && s[j] <= '9') {
			while (j < n && s[j] >= '0' && s[j] <= '9') {
				exp = exp * 10 + (s[j] - '0');
				if (exp > UNITS_MAX_EXPONENT)
					return -2;
				j++;
			}
			if (neg)
				exp = -exp;
			i = j;
		}
	}
	ret->digits[nd] = '\0';
	ret->exp10 = (int)exp - frac;
	return (int)i;
}

/* Multiplies the amount by 10^p10 * 2^p2 (p10 may be negative) and returns the value: an
 * integer when exact (or, with `truncate`, always), otherwise a float. */
static int
amount_value(struct rego_builtin_ctx *ctx, const struct amount *a, int p10, int p2, bool truncate,
             const struct rego_value **ret)
{
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *num = BN_new(), *den = BN_new(), *pow = BN_new(), *ten = BN_new(), *q = BN_new(),
	       *rem = BN_new();
	int r = 0;
	if (!bn || !num || !den || !pow || !ten || !q || !rem || !BN_dec2bn(&num, a->digits) ||
	    !BN_one(den) || !BN_set_word(ten, 10)) {
		r = oom(ctx);
		goto out;
	}
	int e = a->exp10 + p10;
	if (!BN_set_word(pow, (BN_ULONG)(e < 0 ? -e : e)) || !BN_exp(pow, ten, pow, bn) ||
	    !(e >= 0 ? BN_mul(num, num, pow, bn) == 1 : BN_copy(den, pow) != NULL) ||
	    (p2 && !BN_lshift(num, num, p2)) || !BN_div(q, rem, num, den, bn)) {
		r = oom(ctx);
		goto out;
	}
	if (BN_is_zero(rem) || truncate) {
		char *text = BN_bn2dec(q);
		if (!text) {
			r = oom(ctx);
			goto out;
		}
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, ctx->arena);
		if (rego_strbuf_appendf(&sb, "%s%s", a->negative && !BN_is_zero(q) ? "-" : "",
		                        text) < 0)
			r = oom(ctx);
		OPENSSL_free(text);
		if (r == 0)
			*ret = rego_number_parse(ctx->arena, sb.data, sb.length);
	} else {
		char *nt = BN_bn2dec(num), *dt = BN_bn2dec(den);
		double v = nt && dt ? strtod(nt, NULL) / strtod(dt, NULL) : 0;
		OPENSSL_free(nt);
		OPENSSL_free(dt);
		*ret = rego_float(ctx->arena, a->negative ? -v : v);
	}
	if (r == 0 && !*ret)
		r = oom(ctx);
out:
	BN_free(num);
	BN_free(den);
	BN_free(pow);
	BN_free(ten);
	BN_free(q);
	BN_free(rem);
	BN_CTX_free(bn);
	return r;
}

/* Strips one pair of surrounding double quotes ("\"100TI\"" is accepted). */
static void
unquote(const char **s, size_t *n)
{
	if (*n >= 2 && (*s)[0] == '"' && (*s)[*n - 1] == '"') {
		(*s)++;
		*n -= 2;
	}
}

static int
units_common(struct rego_builtin_ctx *ctx, const struct rego_value *in, bool bytes,
             const struct rego_value **ret)
{
	const char *what = bytes ? "byte amount" : "amount";
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	const char *s = in->u.string;
	size_t n = in->length;
	if (memchr(s, ' ', n))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "spaces not allowed in resource strings");
	unquote(&s, &n);
	struct amount a;
	int len = parse_amount(s, n, &a);
	if (len == 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "no %s provided", what);
	if (len == -1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "could not parse %s to a number",
		                          what);
	if (len == -2)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "exponent too large");
	char unit[8];
	size_t ulen = n - (size_t)len;
	if (ulen >= sizeof(unit))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown unit in %s",
		                          in->u.string);
	memcpy(unit, s + len, ulen);
	unit[ulen] = '\0';
	/* Milli exists for plain units only, and only as lower-case "m". */
	if (!bytes && strcmp(unit, "m") == 0)
		return amount_value(ctx, &a, -3, 0, false, ret);
	static const char prefixes[] = "kmgtpe";
	int power = 0;
	bool binary = false;
	if (ulen > 0) {
		const char *at = strchr(prefixes, unit[0] | 0x20);
		if (!at || !unit[0])
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown unit %s", unit);
		power = (int)(at - prefixes) + 1;
		size_t k = 1;
		if (k < ulen && (unit[k] | 0x20) == 'i') {
			binary = true;
			k++;
		}
		if (bytes && k < ulen && (unit[k] | 0x20) == 'b')
			k++;
		if (k != ulen)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown unit %s", unit);
	}
	return amount_value(ctx, &a, binary ? 0 : 3 * power, binary ? 10 * power : 0, bytes, ret);
}

static int
units_parse(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return units_common(ctx, args[0], false, ret);
}

static int
units_parse_bytes(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	return units_common(ctx, args[0], true, ret);
}

static int
time_now_ns(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	*ret = rego_int(ctx->arena, ctx->now_ns);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

const struct rego_builtin rego_builtins_clock[] = {
	{ "time.now_ns", 0, 0, time_now_ns },
	{ "units.parse", 1, 0, units_parse },
	{ "units.parse_bytes", 1, 0, units_parse_bytes },
	{ NULL, 0, 0, NULL },
};
