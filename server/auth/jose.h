/* The JOSE pieces that jitsudod's token verifiers (oidc.c for OpenID Connect issuers,
 * hostauth.c for jump hosts), the API's authentication step and the built-in issuer (issuer.c)
 * share: refusal messages, a compact JWS split and decoded unverified, JWT claim readers
 * (NumericDate, aud, bounded text) and P-256 keys between OpenSSL and cjose. Pure functions
 * over their arguments; a claim is trusted for nothing beyond its type and bounds. */
#ifndef JIT_SERVER_JOSE_H
#define JIT_SERVER_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"

/* A NumericDate claim is at most this many seconds (year 2255): nanoseconds fit in int64. */
#define JIT_JOSE_MAX_NUMERIC_DATE 9000000000LL
/* Bytes of a P-256 coordinate or private scalar. */
#define JIT_P256_SIZE 32

/* Formats into error (when not NULL and error_size > 0). */
void jit_set_error(char *error, size_t error_size, const char *fmt, ...) JIT_PRINTF(3, 4);
/* A refusal: sets the short reason and returns JIT_ERR_DENIED (inline, so that a reader of
 * the caller alone sees the failure). */
static inline int
jit_deny(char *error, size_t error_size, const char *reason)
{
	jit_set_error(error, error_size, "%s", reason);
	return JIT_ERR_DENIED;
}

/* Bytes of a key id (kid) and of an iss claim (an issuer's URL) a token may carry. */
#define JIT_JWT_MAX_KID 256
#define JIT_JWT_MAX_ISSUER 2048

/* A compact JWS split and decoded, NOT verified: its header and claims only pick the verifier
 * and the key that must then verify it. */
struct jit_jwt_unverified {
	size_t length; /* bytes of the token's text */
	json_t *header;
	json_t *claims;
	const char *alg; /* in header */
	const char *kid; /* in header; NULL when it names none */
	const char *iss; /* in claims */
};

/* Splits and decodes `text`: at most JIT_AUTH_MAX_TOKEN bytes (server/auth/identity.h) of
 * header.payload.signature, each part non-empty strict base64url, header and payload JSON
 * objects without duplicate members, alg a string, kid (if any) and iss strings of at most
 * JIT_JWT_MAX_KID and JIT_JWT_MAX_ISSUER bytes, no crit. Returns 0 and fills *ret (cleared
 * with jit_jwt_unverified_clear); JIT_ERR_DENIED with a short reason ("token too long",
 * "malformed token", "malformed token signature", "malformed token header", "unsupported
 * critical header", "missing iss claim"), never the token; or -ENOMEM. */
int jit_jwt_parse_unverified(const char *text, struct jit_jwt_unverified *ret, char *error,
                             size_t error_size);
void jit_jwt_unverified_clear(struct jit_jwt_unverified *token);

/* Reads the NumericDate claim `name` in whole seconds (an integer, or a real that is cut):
 * 0, JIT_ERR_NOT_FOUND when absent, JIT_ERR_INVALID when not a date in 0..MAX. */
int jit_jwt_claim_time(const json_t *claims, const char *name, int64_t *ret_seconds);
/* Is `audience` the aud claim, or one of its strings? */
bool jit_jwt_audience_matches(const json_t *aud, const char *audience);
/* The string of v when it is a string of 1..max_len bytes without NUL; else NULL. */
const char *jit_jwt_text(const json_t *v, size_t max_len);

/* Is pkey an EC key on P-256 (prime256v1)? */
bool jit_p256_is(const EVP_PKEY *pkey);
/* One big-endian, left-padded value of a P-256 key (OSSL_PKEY_PARAM_EC_PUB_X, ..._Y,
 * OSSL_PKEY_PARAM_PRIV_KEY). 0 or JIT_ERR_INVALID. */
int jit_p256_get(const EVP_PKEY *pkey, const char *param, uint8_t out[JIT_P256_SIZE]);
/* The cjose JWK of a P-256 key: public only, or with its private scalar (wiped here after
 * use). ret_x/ret_y (may be NULL) receive the coordinates. 0, JIT_ERR_INVALID (not a usable
 * P-256 key) or JIT_ERR_INTERNAL (cjose refused it). */
int jit_p256_jwk(const EVP_PKEY *pkey, bool with_private, cjose_jwk_t **ret_jwk,
                 uint8_t ret_x[JIT_P256_SIZE], uint8_t ret_y[JIT_P256_SIZE]);

static inline void
jit_evp_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static inline void
jit_cjose_jws_releasep(cjose_jws_t **p)
{
	cjose_jws_release(*p);
}

#endif
