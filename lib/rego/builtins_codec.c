/* Built-in functions: codec group — base64 (standard and URL alphabets) and hex, with Go's
 * error texts ("illegal base64 data at input byte N"). */
#include <string.h>

#include "lib/rego/builtins.h"

static const char std_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
oom(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

static int
encode(struct rego_builtin_ctx *ctx, const struct rego_value *in, const char *alphabet, bool pad,
       const struct rego_value **ret)
{
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	const unsigned char *s = (const unsigned char *)in->u.string;
	size_t n = in->length;
	char *out = rego_arena_alloc(ctx->arena, (n + 2) / 3 * 4 + 1);
	if (!out)
		return oom(ctx);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = alphabet[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = alphabet[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	*ret = rego_string_wrap(ctx->arena, out, o);
	return *ret ? 0 : oom(ctx);
}

static int
value_of(const char *alphabet, char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Decodes as Go's encoding/base64 does: padding required when `padded` (strict on its
 * placement), newlines ignored. Returns 0, or -1 with *ret_error_at set to the offending
 * input byte. */
static int
decode(const char *s, size_t n, const char *alphabet, bool padded, unsigned char *out,
       size_t *ret_len, size_t *ret_error_at)
{
	size_t o = 0, q = 0;
	uint32_t acc = 0;
	size_t pads = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=' && padded) {
			/* Padding may only complete a quantum of 2 or 3 characters. */
			if (q < 2) {
				*ret_error_at = i;
				return -1;
			}
			pads++;
			size_t need = 4 - q;
			size_t j = i + 1;
			while (pads < need && j < n) {
				if (s[j] == '\r' || s[j] == '\n') {
					j++;
					continue;
				}
				if (s[j] != '=') {
					*ret_error_at = j;
					return -1;
				}
				pads++;
				j++;
			}
			if (pads < need) {
				*ret_error_at = n;
				return -1;
			}
			for (; j < n; j++)
				if (s[j] != '\r' && s[j] != '\n') {
					*ret_error_at = j;
					return -1;
				}
			break;
		}
		int v = value_of(alphabet, c);
		if (v < 0) {
			*ret_error_at = i;
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		if (++q == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			q = 0;
			acc = 0;
		}
	}
	if (q == 1) {
		*ret_error_at = n - 1;
		return -1;
	}
	if (q && !padded && pads == 0) {
		/* Unpadded tail. */
	} else if (q && pads == 0) {
		*ret_error_at = n;
		return -1;
	}
	if (q == 2) {
		out[o++] = (unsigned char)(acc >> 4);
	} else if (q == 3) {
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	*ret_len = o;
	return 0;
}

static int
decode_builtin(struct rego_builtin_ctx *ctx, const struct rego_value *in, const char *alphabet,
               bool padded, const struct rego_value **ret)
{
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	unsigned char *out = rego_arena_alloc(ctx->arena, in->length / 4 * 3 + 4);
	if (!out)
		return oom(ctx);
	size_t len, at;
	if (decode(in->u.string, in->length, alphabet, padded, out, &len, &at) < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "illegal base64 data at input byte %zu", at);
	out[len] = '\0';
	*ret = rego_string_wrap(ctx->arena, (const char *)out, len);
	return *ret ? 0 : oom(ctx);
}

static int
base64_encode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return encode(ctx, args[0], std_alphabet, true, ret);
}

static int
base64_decode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return decode_builtin(ctx, args[0], std_alphabet, true, ret);
}

static int
base64_is_valid(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	unsigned char *out = rego_arena_alloc(ctx->arena, in->length / 4 * 3 + 4);
	size_t len, at;
	if (!out)
		return oom(ctx);
	*ret = rego_bool(decode(in->u.string, in->length, std_alphabet, true, out, &len, &at) == 0);
	return 0;
}

static int
base64url_encode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	return encode(ctx, args[0], url_alphabet, true, ret);
}

static int
base64url_encode_no_pad(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                        const struct rego_value **ret)
{
	return encode(ctx, args[0], url_alphabet, false, ret);
}

/* base64url.decode accepts both padded and unpadded input, as OPA's does. */
static int
base64url_decode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	bool has_pad = in->type == REGO_STRING && memchr(in->u.string, '=', in->length);
	return decode_builtin(ctx, in, url_alphabet, has_pad, ret);
}

static int
hex_encode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	static const char digits[] = "0123456789abcdef";
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	char *out = rego_arena_alloc(ctx->arena, in->length * 2 + 1);
	if (!out)
		return oom(ctx);
	for (size_t i = 0; i < in->length; i++) {
		unsigned char c = (unsigned char)in->u.string[i];
		out[2 * i] = digits[c >> 4];
		out[2 * i + 1] = digits[c & 15];
	}
	out[in->length * 2] = '\0';
	*ret = rego_string_wrap(ctx->arena, out, in->length * 2);
	return *ret ? 0 : oom(ctx);
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex_decode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	char *out = rego_arena_alloc(ctx->arena, in->length / 2 + 1);
	if (!out)
		return oom(ctx);
	size_t n = in->length;
	for (size_t i = 0; i + 1 < n + (n % 2); i += 2) {
		int hi = hex_digit(in->u.string[i]);
		if (hi < 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "encoding/hex: invalid byte: U+%04X '%c'",
			                          (unsigned char)in->u.string[i], in->u.string[i]);
		if (i + 1 >= n)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "encoding/hex: odd length hex string");
		int lo = hex_digit(in->u.string[i + 1]);
		if (lo < 0)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN, "encoding/hex: invalid byte: U+%04X '%c'",
			        (unsigned char)in->u.string[i + 1], in->u.string[i + 1]);
		out[i / 2] = (char)(hi * 16 + lo);
	}
	out[n / 2] = '\0';
	*ret = rego_string_wrap(ctx->arena, out, n / 2);
	return *ret ? 0 : oom(ctx);
}

const struct rego_builtin rego_builtins_codec[] = {
	{ "base64.encode", 1, 0, base64_encode },
	{ "base64.decode", 1, 0, base64_decode },
	{ "base64.is_valid", 1, 0, base64_is_valid },
	{ "base64url.encode", 1, 0, base64url_encode },
	{ "base64url.encode_no_pad", 1, 0, base64url_encode_no_pad },
	{ "base64url.decode", 1, 0, base64url_decode },
	{ "hex.encode", 1, 0, hex_encode },
	{ "hex.decode", 1, 0, hex_decode },
	{ NULL, 0, 0, NULL },
};
