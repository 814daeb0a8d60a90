/* Helpers shared by the crypto and JWT built-ins: base64 and PEM decoding that fail exactly where
 * Go's encoding/base64 and encoding/pem do (OPA's error messages quote Go's), a DER element
 * reader, and conversions from OpenSSL numbers to Rego values. Every input is policy data and
 * untrusted; every length is checked. Results live in the caller's arena. */
#ifndef JIT_REGO_BUILTINS_CRYPTO_UTIL_H
#define JIT_REGO_BUILTINS_CRYPTO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "lib/common/macro.h"
#include "lib/rego/builtins.h"

JIT_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
JIT_DEFINE_CLEANUP(EVP_MD_CTX *, EVP_MD_CTX_free)
JIT_DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
JIT_DEFINE_CLEANUP(BIGNUM *, BN_free)

/* Reports "out of memory" for the current call; returns the negative code to propagate. */
static inline int
rego_crypto_oom(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* Decodes base64 the way Go does: `url` picks the URL-safe alphabet, `padded` whether '=' padding
 * is required (Go's StdEncoding/URLEncoding) or refused (Raw*Encoding). CR and LF are skipped.
 * Returns 0 with a NUL-terminated arena copy in *ret (length *ret_len); -ENOMEM; or
 * JIT_ERR_INVALID with *ret_offset set to the byte offset Go reports in "illegal base64 data at
 * input byte N". */
int rego_crypto_base64_decode(struct rego_arena *arena, const char *s, size_t len, bool url,
                              bool padded, uint8_t **ret, size_t *ret_len, size_t *ret_offset);

/* Standard base64 with padding, as Go's base64.StdEncoding.DecodeString, reporting failures as
 * "<prefix>illegal base64 data at input byte N" through ctx. Returns 0 or a negative code. */
int rego_crypto_std_base64_decode(struct rego_builtin_ctx *ctx, const char *prefix, const char *s,
                                  size_t len, uint8_t **ret, size_t *ret_len);

/* OPA's base64url.decode: adds missing padding (RFC 7515 appendix C) and decodes with the
 * URL-safe alphabet. Failures are reported through ctx prefixed with `prefix` (may be ""). */
int rego_crypto_base64url_decode(struct rego_builtin_ctx *ctx, const char *prefix, const char *s,
                                 size_t len, uint8_t **ret, size_t *ret_len);

/* Encodes `len` bytes; returns a NUL-terminated arena string (length in *ret_len when not NULL)
 * or NULL when out of memory. */
char *rego_crypto_base64_encode(struct rego_arena *arena, const uint8_t *data, size_t len, bool url,
                                bool padded, size_t *ret_len);

/* Lower-case hex string value of `len` bytes, or NULL when out of memory. */
const struct rego_value *rego_crypto_hex_value(struct rego_arena *arena, const uint8_t *data,
                                               size_t len);

/* One PEM block as Go's encoding/pem finds it. */
struct rego_pem_block {
	const char *type;     /* NUL-terminated, in the arena */
	const uint8_t *bytes; /* decoded body, in the arena */
	size_t length;
};

/* Go's pem.Decode: looks for the next well-formed block in data[0..len). Returns 0 and sets
 * *block and *rest (the bytes after the block's END line); JIT_ERR_NOT_FOUND when there is no
 * well-formed block (rest is then the whole input); -ENOMEM. */
int rego_crypto_pem_decode(struct rego_arena *arena, const char *data, size_t len,
                           struct rego_pem_block *block, const char **rest, size_t *rest_len);

/* Reads one DER element at p[0..len): sets *ret_tag, *ret_header (bytes of tag and length) and
 * *ret_total (header plus content). Returns false when the element is malformed or runs past
 * len. Only definite lengths up to 2^32 are accepted. */
bool rego_crypto_der_element(const uint8_t *p, size_t len, uint8_t *ret_tag, size_t *ret_header,
                             size_t *ret_total);

/* Number value holding a BIGNUM's decimal value (Go's JSON for *big.Int), or NULL when out of
 * memory. */
const struct rego_value *rego_crypto_bn_value(struct rego_arena *arena, const BIGNUM *bn);

/* Big-endian magnitude of `bn` as a base64url (no padding) string value, left-padded with zeros
 * to `width` bytes when width is larger (the JWK encoding). NULL when out of memory. */
const struct rego_value *rego_crypto_bn_base64url(struct rego_arena *arena, const BIGNUM *bn,
                                                  size_t width);

/* Parses private keys from DER: PKCS#1 RSA, PKCS#8 or SEC1 EC depending on the PEM type
 * ("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"). Returns a new key or NULL. */
EVP_PKEY *rego_crypto_private_key_from_der(const char *pem_type, const uint8_t *der, size_t len);

#endif
