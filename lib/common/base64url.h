/* base64url without padding (RFC 4648 §5, as JOSE uses it) for tokens: the server's verifier
 * and built-in issuer, and the CLI reading its ID token's expiry. Decoding is strict: the URL-safe alphabet only, no padding, no stray bits.
 * Pure functions over caller buffers; nothing is allocated. */
#ifndef JIT_COMMON_BASE64URL_H
#define JIT_COMMON_BASE64URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode `len` bytes (without the terminating NUL). */
static inline size_t
jit_base64url_encoded_length(size_t len)
{
	return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

/* Bytes that `len` characters decode to at most. */
static inline size_t
jit_base64url_decoded_length(size_t len)
{
	return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}

/* Encodes `len` bytes into `out` as NUL-terminated text. Returns 0, or JIT_ERR_TOO_LARGE when
 * `out_size` cannot hold the text and its NUL (nothing useful is written then). */
int jit_base64url_encode(const void *data, size_t len, char *out, size_t out_size);

/* Decodes `len` characters into `out`. Returns 0 and sets *ret_len, JIT_ERR_INVALID for a
 * character outside the alphabet, padding, an impossible length or non-zero trailing bits, or
 * JIT_ERR_TOO_LARGE when `out_size` is too small. */
int jit_base64url_decode(const char *text, size_t len, uint8_t *out, size_t out_size,
                         size_t *ret_len);

/* Whether `len` characters are base64url that jit_base64url_decode would accept (for a
 * segment that is checked but decoded elsewhere, such as a token's signature). */
bool jit_base64url_valid(const char *text, size_t len);

#endif
