/* The built-in token issuer, for one machine with no external IdP: an ES256 key of its own
 * (PEM file, 0600), ID tokens signed with it, and the discovery document and JWKS it
 * publishes. Tokens it signs are verified by server/auth/oidc.h like any other issuer's. */
#ifndef JIT_SERVER_ISSUER_H
#define JIT_SERVER_ISSUER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common/macro.h"

struct jit_issuer;

/* Writes a new P-256 private key as PEM to `path` (created 0600, refusing to overwrite).
 * Returns 0 or a negative errno / JIT_ERR_*. */
int jit_issuer_generate_key(const char *path);

/* Loads the key at `path` (refusing a file readable by group or others: JIT_ERR_DENIED) for
 * issuer URL `issuer` and audience `audience`. The key id is derived from the public key
 * (RFC 7638 thumbprint). */
int jit_issuer_load(const char *path, const char *issuer, const char *audience,
                    struct jit_issuer **ret_issuer, char *error, size_t error_size);
void jit_issuer_free(struct jit_issuer *issuer);
JIT_DEFINE_CLEANUP(struct jit_issuer *, jit_issuer_free)

/* Signs an ID token: iss, aud, sub = email, email, groups (array, may be empty), iat, nbf =
 * now, exp = now + ttl_seconds, a random jti. *ret_token is malloc'd. */
int jit_issuer_sign(struct jit_issuer *issuer, const char *email, const char *const *groups,
                    size_t group_count, int64_t now, int64_t ttl_seconds, char **ret_token);

/* {"keys": [the public JWK with kid, alg ES256, use sig]}: new reference. */
json_t *jit_issuer_jwks(const struct jit_issuer *issuer);
/* The OIDC discovery document: issuer, jwks_uri (<issuer>/.well-known/jwks.json),
 * id_token_signing_alg_values_supported, response_types_supported, subject_types_supported,
 * claims_supported. New reference. */
json_t *jit_issuer_discovery(const struct jit_issuer *issuer);
const char *jit_issuer_url(const struct jit_issuer *issuer);
const char *jit_issuer_audience(const struct jit_issuer *issuer);

#endif
