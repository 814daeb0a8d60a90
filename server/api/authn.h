/* The one authentication step of every API surface (the seed-000 REST API today, the tenant
 * API and gRPC to come): from the credentials a request carries to the caller the workflow
 * sees. A bearer token whose unverified iss names a jump host goes to the hosts' verifier
 * (server/auth/hostauth.h), any other to the OIDC issuers' (server/auth/oidc.h); an ID token
 * verified once is kept (server/auth/token_cache.h), a host token never (it is single-use).
 * Trusts only those verifiers, nothing a caller says of its own rights. Returns JIT_ERR_*
 * codes that each surface turns into its own statuses in its one place. Thread-safe. */
#ifndef JIT_SERVER_AUTHN_H
#define JIT_SERVER_AUTHN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"
#include "server/auth/identity.h"
#include "server/core/caller.h"
#include "server/server.h"

struct jit_oidc;
struct jit_hostauth;

/* The verifiers and the cache of tokens verified. Takes ownership of `oidc` and of `hosts`
 * (NULL: no jump host is configured), also when it fails (-ENOMEM). */
int jit_authn_new(struct jit_oidc *oidc, struct jit_hostauth *hosts, struct jit_authn **ret_authn);
void jit_authn_free(struct jit_authn *authn);
JIT_DEFINE_CLEANUP(struct jit_authn *, jit_authn_free)

/* Verifies one bearer token (an ID token or a host token) at `now` (ns). Returns 0 and fills
 * *ret_identity (host set for a host token), or JIT_ERR_DENIED with a short reason in `error`
 * (the verifier's: "token expired", "unknown issuer", "host token already used", ...), never
 * the token; JIT_ERR_UNAVAILABLE when it cannot be checked now (an issuer's keys cannot be
 * fetched, the hosts' replay cache is full); -ENOMEM. With JIT_AUTHN_NO_WAIT (an event loop's
 * call) nothing that waits is done: an ID token whose issuer's keys must be fetched, and any
 * host token (accepting one records its jti), give JIT_ERR_WOULD_BLOCK, having changed
 * nothing. */
#define JIT_AUTHN_NO_WAIT 1u
int jit_authn_verify_token(struct jit_authn *authn, const char *token, int64_t now, unsigned flags,
                           struct jit_identity *ret_identity, char *error, size_t error_size);

/* What a request carries to prove who sends it, as its surface read it. Borrowed. */
struct jit_credentials {
	const char *authorization; /* the Authorization header's value, or NULL */
	size_t authorization_len;
};

/* Authenticates a request on worker `w` (its server's verifiers, the real-time clock; an
 * inline_only worker waits for nothing). The credential is "Authorization: Bearer <token>"
 * (the scheme's name in any case). Returns 0 and fills *ret_identity (cleared by the caller
 * with jit_identity_clear) and *ret_caller, which borrows it: the default tenant, the jump
 * host acting for the user if any, admin only for a direct caller the configuration names.
 * Otherwise sets `status` and returns JIT_ERR_UNAUTHENTICATED (no credential, or one refused:
 * the message says why, never the token), JIT_ERR_UNAVAILABLE (it cannot be checked now),
 * JIT_ERR_WOULD_BLOCK (an inline_only worker: run the request again on a thread) or -ENOMEM,
 * leaving both outputs untouched. */
int jit_authn_caller(struct jit_worker *w, const struct jit_credentials *credentials,
                     struct jit_identity *ret_identity, struct jit_caller *ret_caller,
                     struct jit_error *status);

#endif
