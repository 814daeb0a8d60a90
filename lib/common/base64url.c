/* base64url without padding for JOSE: encoding for keys, thumbprints and tokens, strict
 * decoding of untrusted token segments. Works on caller buffers only. */
#include "lib/common/base64url.h"

#include "lib/common/errors.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
digit_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
jit_base64url_encode(const void *data, size_t len, char *out, size_t out_size)
{
	const uint8_t *in = data;
	size_t need = jit_base64url_encoded_length(len);
	if (len > (SIZE_MAX - 1) / 4 * 3 || out_size < need + 1)
		return JIT_ERR_TOO_LARGE;
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return 0;
}

int
jit_base64url_decode(const char *text, size_t len, uint8_t *out, size_t out_size, size_t *ret_len)
{
	if (len % 4 == 1)
		return JIT_ERR_INVALID;
	if (out_size < jit_base64url_decoded_length(len))
		return JIT_ERR_TOO_LARGE;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int d = digit_value(text[i]);
		if (d < 0)
			return JIT_ERR_INVALID;
		acc = (acc << 6 | (uint32_t)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* The leftover bits of the last character must be zero (one canonical encoding). */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return JIT_ERR_INVALID;
	*ret_len = o;
	return 0;
}

bool
jit_base64url_valid(const char *text, size_t len)
{
	if (len % 4 == 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (digit_value(text[i]) < 0)
			return false;
	/* The last character's unused low bits (4 after two, 2 after three) must be zero. */
	unsigned spare = len % 4 == 2 ? 4 : len % 4 == 3 ? 2 : 0;
	return len == 0 || spare == 0 ||
	       ((unsigned)digit_value(text[len - 1]) & ((1u << spare) - 1)) == 0;
}
