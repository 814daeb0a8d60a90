/* Who is calling: OIDC ID tokens verified against their issuer's JWKS (found by discovery,
 * fetched with lib/net's HTTP client, cached, refetched on an unknown kid at most every 30 s)
 * with cjose.
 * Checks the signature with the algorithm pinned to the key's, iss, aud, exp and nbf (60 s of
 * skew). Trusts only the configured issuers. Thread-safe; a verification may block on one
 * JWKS fetch bounded by the fetch timeout. Never logs a token. */
#ifndef JIT_SERVER_AUTH_H
#define JIT_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common/macro.h"

#define JIT_AUTH_MAX_TOKEN 16384 /* bytes of a bearer token */
#define JIT_AUTH_SKEW_SECONDS 60
#define JIT_AUTH_REFETCH_SECONDS 30

struct jit_identity {
	char *email;    /* the identity everything keys on */
	char *subject;  /* the sub claim, or NULL */
	json_t *groups; /* array of strings (empty when the claim is absent) */
	char *issuer;
	int64_t expires_at; /* exp, ns since the epoch */
	char *host;         /* a jump host acting for the user (host token), else NULL */
};

void jit_identity_clear(struct jit_identity *identity);
/* Identities are emails compared without regard to ASCII case, as identity providers treat
 * both parts; a verified identity's email is folded to lower case once (jit_identity_fold).
 * jit_identity_check_name refuses an identity or group claim that is blank, has white space
 * at either end, or holds a control or bidirectional formatting character (lib/common/
 * usertext.h), with JIT_ERR_DENIED and an error naming `claim`. */
int jit_identity_check_name(const char *claim, const char *value, char *error, size_t error_size);
void jit_identity_fold(char *email);
bool jit_identity_equal(const char *a, const char *b);
/* Is `group` one of the identity's groups? */
bool jit_identity_in_group(const struct jit_identity *identity, const char *group);

struct jit_issuer_config {
	const char *issuer;        /* must equal the iss claim exactly */
	const char *audience;      /* must be in aud (string or array) */
	const char *discovery_url; /* NULL: <issuer>/.well-known/openid-configuration */
	const char *email_claim;   /* NULL: "email" */
	const char *groups_claim;  /* NULL: "groups" */
	const char *ca_file;       /* NULL: the system's CAs */
};

struct jit_auth;

/* A verifier trusting nothing yet. `fetch_timeout_ms` bounds each discovery or JWKS fetch. */
int jit_auth_new(int fetch_timeout_ms, struct jit_auth **ret_auth);
void jit_auth_free(struct jit_auth *auth);
JIT_DEFINE_CLEANUP(struct jit_auth *, jit_auth_free)

/* Trusts a remote issuer (keys fetched lazily, on first use). Copies the config. */
int jit_auth_add_issuer(struct jit_auth *auth, const struct jit_issuer_config *config);
/* Trusts an issuer whose JWKS is given (the built-in issuer): never fetched, same checks. */
int jit_auth_add_static_issuer(struct jit_auth *auth, const struct jit_issuer_config *config,
                               const json_t *jwks);

/* Verifies a compact JWS ID token at time `now` (ns). Returns 0 and fills *ret_identity, or
 * JIT_ERR_DENIED with a short reason in `error` ("token expired", "wrong audience", "unknown
 * issuer", "bad signature", "unknown key id", "missing email claim", ...), never the token.
 * A host token yields the identity it acts for, with `host` set (jit_hostauth_verify).
 * JIT_ERR_UNAVAILABLE when the issuer's keys cannot be fetched. With JIT_AUTH_NO_WAIT
 * (an event loop's call) nothing that waits is done: a token that needs its issuer's keys
 * fetched (or another thread's fetch awaited), and a host token (single-use: it is checked
 * where the operation completes), give JIT_ERR_WOULD_BLOCK, having changed nothing. */
#define JIT_AUTH_NO_WAIT 1u
int jit_auth_verify(struct jit_auth *auth, const char *token, int64_t now, unsigned flags,
                    struct jit_identity *ret_identity, char *error, size_t error_size);

/* Hands the verifier the configured jump hosts (server/auth/hostauth.h); takes ownership, replaces
 * any earlier set. Tokens whose iss is "jitsudo-host:<name>" are verified against them. Called
 * before the first jit_auth_verify. */
struct jit_hostauth;
void jit_auth_set_hosts(struct jit_auth *auth, struct jit_hostauth *hosts);

/* After a failed fetch left an issuer with no keys, its tokens fail with JIT_ERR_UNAVAILABLE at
 * once for this long instead of each waiting out another fetch. Refetch and retry intervals
 * are measured with the `now` passed to jit_auth_verify. */
#define JIT_AUTH_RETRY_SECONDS 5
/* Bytes of one name in the groups claim; a token with a longer one is refused. */
#define JIT_AUTH_MAX_GROUP_NAME 256
/* Issuers are added before the first jit_auth_verify; adding is not synchronised with it. */

#endif
