/* Helpers shared by the crypto and JWT built-ins: Go-compatible base64 and PEM decoding, a DER
 * element reader and OpenSSL number conversions. Inputs are untrusted policy data; every index
 * is checked against its length before use. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "lib/common/errors.h"
#include "lib/rego/builtins_crypto_util.h"

/* ---- base64 ------------------------------------------------------------------------------ */

static int
base64_digit(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static size_t
skip_newlines(const char *s, size_t len, size_t si)
{
	while (si < len && (s[si] == '\n' || s[si] == '\r'))
		si++;
	return si;
}

/* One quantum of Go's decoder (encoding/base64 decodeQuantum). Returns 0 and advances *si and
 * *n, or JIT_ERR_INVALID with *ret_offset. */
static int
base64_decode_quantum(const char *s, size_t len, bool url, bool padded, size_t *si_io, uint8_t *out,
                      size_t *n_io, size_t *ret_offset)
{
	size_t si = *si_io;
	int dbuf[4] = { 0, 0, 0, 0 };
	int dlen = 4;
	bool trailing = false;
	size_t trailing_at = 0;
	for (int j = 0; j < 4; j++) {
		if (si == len) {
			if (j == 0) {
				*si_io = si;
				return 0;
			}
			if (j == 1 || padded) {
				*ret_offset = si - (size_t)j;
				return JIT_ERR_INVALID;
			}
			dlen = j;
			break;
		}
		unsigned char in = (unsigned char)s[si++];
		int digit = base64_digit(in, url);
		if (digit >= 0) {
			dbuf[j] = digit;
			continue;
		}
		if (in == '\n' || in == '\r') {
			j--;
			continue;
		}
		if (!padded || in != '=') {
			*ret_offset = si - 1;
			return JIT_ERR_INVALID;
		}
		/* Padding: only after two or three digits. */
		if (j < 2) {
			*ret_offset = si - 1;
			return JIT_ERR_INVALID;
		}
		if (j == 2) {
			si = skip_newlines(s, len, si);
			if (si == len) {
				*ret_offset = len;
				return JIT_ERR_INVALID;
			}
			if (s[si] != '=') {
				*ret_offset = si - 1;
				return JIT_ERR_INVALID;
			}
			si++;
		}
		si = skip_newlines(s, len, si);
		if (si < len) {
			trailing = true;
			trailing_at = si;
		}
		dlen = j;
		break;
	}
	unsigned int val = (unsigned int)dbuf[0] << 18 | (unsigned int)dbuf[1] << 12 |
	                   (unsigned int)dbuf[2] << 6 | (unsigned int)dbuf[3];
	uint8_t bytes[3] = { (uint8_t)(val >> 16), (uint8_t)(val >> 8), (uint8_t)val };
	for (int k = 0; k < dlen - 1; k++)
		out[(*n_io)++] = bytes[k];
	*si_io = si;
	if (trailing) {
		*ret_offset = trailing_at;
		return JIT_ERR_INVALID;
	}
	return 0;
}

int
rego_crypto_base64_decode(struct rego_arena *arena, const char *s, size_t len, bool url,
                          bool padded, uint8_t **ret, size_t *ret_len, size_t *ret_offset)
{
	uint8_t *out = rego_arena_alloc(arena, len / 4 * 3 + 4);
	if (!out)
		return -ENOMEM;
	size_t si = 0, n = 0;
	while (si < len) {
		int r = base64_decode_quantum(s, len, url, padded, &si, out, &n, ret_offset);
		if (r < 0)
			return r;
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
}

int
rego_crypto_std_base64_decode(struct rego_builtin_ctx *ctx, const char *prefix, const char *s,
                              size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t offset = 0;
	int r = rego_crypto_base64_decode(ctx->arena, s, len, false, true, ret, ret_len, &offset);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "%sillegal base64 data at input byte %zu", prefix,
		                          offset);
	return 0;
}

int
rego_crypto_base64url_decode(struct rego_builtin_ctx *ctx, const char *prefix, const char *s,
                             size_t len, uint8_t **ret, size_t *ret_len)
{
	char *padded = rego_arena_alloc(ctx->arena, len + 3);
	if (!padded)
		return rego_crypto_oom(ctx);
	memcpy(padded, s, len);
	size_t n = len;
	if (len == 0 || s[len - 1] != '=') {
		switch (len % 4) {
		case 0:
			break;
		case 2:
			padded[n++] = '=';
			padded[n++] = '=';
			break;
		case 3:
			padded[n++] = '=';
			break;
		default:
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "%sillegal base64url string: %.*s", prefix,
			                          (int)(len > 200 ? 200 : len), s);
		}
	}
	size_t offset = 0;
	int r = rego_crypto_base64_decode(ctx->arena, padded, n, true, true, ret, ret_len, &offset);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "%sillegal base64 data at input byte %zu", prefix,
		                          offset);
	return 0;
}

char *
rego_crypto_base64_encode(struct rego_arena *arena, const uint8_t *data, size_t len, bool url,
                          bool padded, size_t *ret_len)
{
	static const char std[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char safe[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *alphabet = url ? safe : std;
	if (len > REGO_VALUE_MAX_LENGTH)
		return NULL;
	char *out = rego_arena_alloc(arena, (len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	size_t n = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		unsigned int v =
		        (unsigned int)data[i] << 16 | (unsigned int)data[i + 1] << 8 | data[i + 2];
		out[n++] = alphabet[(v >> 18) & 63];
		out[n++] = alphabet[(v >> 12) & 63];
		out[n++] = alphabet[(v >> 6) & 63];
		out[n++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		unsigned int v = (unsigned int)data[i] << 16;
		out[n++] = alphabet[(v >> 18) & 63];
		out[n++] = alphabet[(v >> 12) & 63];
		if (padded) {
			out[n++] = '=';
			out[n++] = '=';
		}
	} else if (len - i == 2) {
		unsigned int v = (unsigned int)data[i] << 16 | (unsigned int)data[i + 1] << 8;
		out[n++] = alphabet[(v >> 18) & 63];
		out[n++] = alphabet[(v >> 12) & 63];
		out[n++] = alphabet[(v >> 6) & 63];
		if (padded)
			out[n++] = '=';
	}
	out[n] = '\0';
	if (ret_len)
		*ret_len = n;
	return out;
}

const struct rego_value *
rego_crypto_hex_value(struct rego_arena *arena, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	if (len > REGO_VALUE_MAX_LENGTH / 2)
		return NULL;
	char *out = rego_arena_alloc(arena, len * 2 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[len * 2] = '\0';
	return rego_string_wrap(arena, out, len * 2);
}

/* ---- PEM --------------------------------------------------------------------------------- */

struct span {
	const char *p;
	size_t len;
};

static bool
span_has_prefix(struct span s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

static bool
span_has_suffix(struct span s, const char *suffix)
{
	size_t n = strlen(suffix);
	return s.len >= n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

/* Index of `needle` in s, or -1. */
static ptrdiff_t
span_index(struct span s, const char *needle)
{
	size_t n = strlen(needle);
	if (n > s.len)
		return -1;
	for (size_t i = 0; i + n <= s.len; i++)
		if (s.p[i] == needle[0] && memcmp(s.p + i, needle, n) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static struct span
span_from(struct span s, size_t at)
{
	return (struct span){ s.p + at, s.len - at };
}

/* Go's pem getLine: the first LF- or CRLF-terminated line without trailing spaces and tabs, and
 * the rest after the newline. */
static struct span
pem_get_line(struct span data, struct span *rest)
{
	const char *nl = memchr(data.p, '\n', data.len);
	size_t i, j;
	if (!nl) {
		i = j = data.len;
	} else {
		i = (size_t)(nl - data.p);
		j = i + 1;
		if (i > 0 && data.p[i - 1] == '\r')
			i--;
	}
	while (i > 0 && (data.p[i - 1] == ' ' || data.p[i - 1] == '\t'))
		i--;
	*rest = span_from(data, j);
	return (struct span){ data.p, i };
}

int
rego_crypto_pem_decode(struct rego_arena *arena, const char *data, size_t len,
                       struct rego_pem_block *block, const char **rest_out, size_t *rest_len)
{
	struct span rest = { data, len };
	for (;;) {
		if (span_has_prefix(rest, "-----BEGIN ")) {
			rest = span_from(rest, 11);
		} else {
			ptrdiff_t at = span_index(rest, "\n-----BEGIN ");
			if (at < 0)
				break;
			rest = span_from(rest, (size_t)at + 12);
		}
		struct span type_line = pem_get_line(rest, &rest);
		if (!span_has_suffix(type_line, "-----"))
			continue;
		type_line.len -= 5;

		size_t headers = 0;
		bool truncated = false;
		for (;;) {
			if (rest.len == 0) {
				truncated = true;
				break;
			}
			struct span next;
			struct span line = pem_get_line(rest, &next);
			if (!memchr(line.p, ':', line.len))
				break;
			headers++;
			rest = next;
		}
		if (truncated)
			break;

		ptrdiff_t end_index;
		size_t trailer_index;
		if (headers == 0 && span_has_prefix(rest, "-----END ")) {
			end_index = 0;
			trailer_index = 9;
		} else {
			end_index = span_index(rest, "\n-----END ");
			trailer_index = (size_t)end_index + 10;
		}
		if (end_index < 0)
			continue;
		struct span trailer = span_from(rest, trailer_index);
		size_t trailer_len = type_line.len + 5;
		if (trailer.len < trailer_len)
			continue;
		struct span rest_of_line = span_from(trailer, trailer_len);
		trailer.len = trailer_len;
		if (memcmp(trailer.p, type_line.p, type_line.len) != 0 ||
		    !span_has_suffix(trailer, "-----"))
			continue;
		struct span ignored;
		if (pem_get_line(rest_of_line, &ignored).len != 0)
			continue;

		/* The body without spaces and tabs (the decoder skips CR and LF itself). */
		char *body = rego_arena_alloc(arena, (size_t)end_index + 1);
		if (!body)
			return -ENOMEM;
		size_t body_len = 0;
		for (size_t i = 0; i < (size_t)end_index; i++)
			if (rest.p[i] != ' ' && rest.p[i] != '\t')
				body[body_len++] = rest.p[i];
		uint8_t *bytes;
		size_t nbytes, offset;
		int r = rego_crypto_base64_decode(arena, body, body_len, false, true, &bytes,
		                                  &nbytes, &offset);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		char *type = rego_arena_strndup(arena, type_line.p, type_line.len);
		if (!type)
			return -ENOMEM;
		block->type = type;
		block->bytes = bytes;
		block->length = nbytes;
		struct span after;
		pem_get_line(span_from(rest, (size_t)end_index + 10 - 1), &after);
		*rest_out = after.p;
		*rest_len = after.len;
		return 0;
	}
	*rest_out = data;
	*rest_len = len;
	return JIT_ERR_NOT_FOUND;
}

/* ---- DER --------------------------------------------------------------------------------- */

bool
rego_crypto_der_element(const uint8_t *p, size_t len, uint8_t *ret_tag, size_t *ret_header,
                        size_t *ret_total)
{
	if (len < 2 || (p[0] & 0x1f) == 0x1f)
		return false;
	size_t header = 2;
	size_t content;
	if (p[1] < 0x80) {
		content = p[1];
	} else {
		size_t octets = p[1] & 0x7f;
		if (octets == 0 || octets > 4 || len < 2 + octets)
			return false;
		content = 0;
		for (size_t i = 0; i < octets; i++)
			content = content << 8 | p[2 + i];
		header += octets;
	}
	if (content > len - header)
		return false;
	*ret_tag = p[0];
	*ret_header = header;
	*ret_total = header + content;
	return true;
}

/* ---- numbers and keys -------------------------------------------------------------------- */

const struct rego_value *
rego_crypto_bn_value(struct rego_arena *arena, const BIGNUM *bn)
{
	if (!bn)
		return &rego_null_value;
	char *dec = BN_bn2dec(bn);
	if (!dec)
		return NULL;
	const struct rego_value *v = rego_number_parse(arena, dec, strlen(dec));
	OPENSSL_free(dec);
	return v;
}

const struct rego_value *
rego_crypto_bn_base64url(struct rego_arena *arena, const BIGNUM *bn, size_t width)
{
	if (!bn)
		return &rego_null_value;
	size_t n = (size_t)BN_num_bytes(bn);
	if (width > n)
		n = width;
	if (n > 16384)
		return NULL;
	uint8_t *buf = rego_arena_alloc(arena, n + 1);
	if (!buf || BN_bn2binpad(bn, buf, (int)n) < 0)
		return NULL;
	size_t out_len;
	char *out = rego_crypto_base64_encode(arena, buf, n, true, false, &out_len);
	return out ? rego_string_wrap(arena, out, out_len) : NULL;
}

EVP_PKEY *
rego_crypto_private_key_from_der(const char *pem_type, const uint8_t *der, size_t len)
{
	if (len > (size_t)INT32_MAX)
		return NULL;
	const unsigned char *p = der;
	if (strcmp(pem_type, "RSA PRIVATE KEY") == 0)
		return d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	if (strcmp(pem_type, "EC PRIVATE KEY") == 0)
		return d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)len);
	if (strcmp(pem_type, "PRIVATE KEY") == 0) {
		PKCS8_PRIV_KEY_INFO *info = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
		if (!info)
			return NULL;
		EVP_PKEY *key = EVP_PKCS82PKEY(info);
		PKCS8_PRIV_KEY_INFO_free(info);
		return key;
	}
	return NULL;
}
