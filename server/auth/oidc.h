/* People's ID tokens: OIDC ID tokens verified against their issuer's JWKS (found by discovery,
 * fetched with lib/net's HTTP client, cached, refetched on an unknown kid at most every 30 s)
 * with cjose, or against the built-in issuer's key, given at start.
 * Checks the signature with the algorithm pinned to the key's, iss, aud, exp and nbf (60 s of
 * skew). Trusts only the configured issuers; knows nothing of host tokens (hostauth.h) nor of
 * which credential a request carries (server/api/authn.h). Thread-safe; a verification may
 * block on one JWKS fetch bounded by the fetch timeout. Never logs a token. */
#ifndef JIT_SERVER_OIDC_H
#define JIT_SERVER_OIDC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common/macro.h"
#include "server/auth/identity.h"

#define JIT_OIDC_REFETCH_SECONDS 30

struct jit_issuer_config {
	const char *issuer;        /* must equal the iss claim exactly */
	const char *audience;      /* must be in aud (string or array) */
	const char *discovery_url; /* NULL: <issuer>/.well-known/openid-configuration */
	const char *email_claim;   /* NULL: "email" */
	const char *groups_claim;  /* NULL: "groups" */
	const char *ca_file;       /* NULL: the system's CAs */
};

struct jit_oidc;

/* A verifier trusting nothing yet. `fetch_timeout_ms` bounds each discovery or JWKS fetch. */
int jit_oidc_new(int fetch_timeout_ms, struct jit_oidc **ret_oidc);
void jit_oidc_free(struct jit_oidc *oidc);
JIT_DEFINE_CLEANUP(struct jit_oidc *, jit_oidc_free)

/* Trusts a remote issuer (keys fetched lazily, on first use). Copies the config. */
int jit_oidc_add_issuer(struct jit_oidc *oidc, const struct jit_issuer_config *config);
/* Trusts an issuer whose JWKS is given (the built-in issuer): never fetched, same checks. */
int jit_oidc_add_static_issuer(struct jit_oidc *oidc, const struct jit_issuer_config *config,
                               const json_t *jwks);

/* Verifies a compact JWS ID token at time `now` (ns). Returns 0 and fills *ret_identity (host
 * NULL), or JIT_ERR_DENIED with a short reason in `error` ("token expired", "wrong audience",
 * "unknown issuer", "bad signature", "unknown key id", "missing email claim", ...), never the
 * token. JIT_ERR_UNAVAILABLE when the issuer's keys cannot be fetched. With JIT_OIDC_NO_WAIT
 * (an event loop's call) nothing that waits is done: a token that needs its issuer's keys
 * fetched (or another thread's fetch awaited) gives JIT_ERR_WOULD_BLOCK, having changed
 * nothing. Every call checks the signature: the API keeps tokens it verified already
 * (server/auth/token_cache.h). */
#define JIT_OIDC_NO_WAIT 1u
int jit_oidc_verify(struct jit_oidc *oidc, const char *token, int64_t now, unsigned flags,
                    struct jit_identity *ret_identity, char *error, size_t error_size);

/* After a failed fetch left an issuer with no keys, its tokens fail with JIT_ERR_UNAVAILABLE at
 * once for this long instead of each waiting out another fetch. Refetch and retry intervals
 * are measured with the `now` passed to jit_oidc_verify. */
#define JIT_OIDC_RETRY_SECONDS 5
/* Issuers are added before the first jit_oidc_verify; adding is not synchronised with it. */

#endif
