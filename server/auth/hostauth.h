/* Host authentication: a jump host's agent signs a short-lived ES256 JWT with its host key and
 * acts for a local user. Trusts only the configured public key of each host, the identities
 * its globs allow and the groups it may assert; everything else in the token is refused or
 * dropped. A token is accepted once (its jti is remembered until it expires). Hosts are
 * read-only after setup; the replay cache has its own lock, so verification is thread-safe.
 * Never logs a token. */
#ifndef JIT_SERVER_HOSTAUTH_H
#define JIT_SERVER_HOSTAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"
#include "server/auth/identity.h"

/* iss of a host token: this prefix and the host's configured name. */
#define JIT_HOST_ISSUER_PREFIX "jitsudo-host:"
/* A host token may live at most this long (exp - iat). */
#define JIT_HOST_TOKEN_MAX_SECONDS 300
#define JIT_HOST_MAX_JTI 128
/* At most this many host tokens in force at once (each is remembered until it expires): past
 * it, host tokens are refused (JIT_ERR_UNAVAILABLE) until some expire. */
#define JIT_HOST_REPLAY_CAPACITY (128 * 1024)

struct jit_config;
struct jit_hostauth;

/* An empty set of hosts whose tokens must carry `audience` in aud. */
int jit_hostauth_new(const char *audience, struct jit_hostauth **ret_hostauth);
void jit_hostauth_free(struct jit_hostauth *hostauth);
JIT_DEFINE_CLEANUP(struct jit_hostauth *, jit_hostauth_free)

/* Adds host `name` with the P-256 public key (PEM, SubjectPublicKeyInfo) in `public_key_file`,
 * the identity globs (fnmatch patterns, NULL-terminated) it may act for and the groups
 * (NULL-terminated, may be empty) it may assert. Returns 0, JIT_ERR_INVALID with a message
 * (unreadable or non-P-256 key, duplicate name) or -ENOMEM. */
int jit_hostauth_add(struct jit_hostauth *hostauth, const char *name, const char *public_key_file,
                     const char *const *identities, const char *const *groups, char *error,
                     size_t error_size);

/* Sets the replay cache's capacity (1..JIT_HOST_REPLAY_CAPACITY) and empties it. */
int jit_hostauth_set_replay_capacity(struct jit_hostauth *hostauth, size_t capacity);

/* Builds the set from config->hosts (audience: identity.builtin_issuer.audience). *ret is
 * NULL when no host is configured. Returns 0 or an error naming the host. */
int jit_hostauth_from_config(const struct jit_config *config, struct jit_hostauth **ret_hostauth,
                             char *error, size_t error_size);

/* Is `iss` a host issuer ("jitsudo-host:...")? Decides only which verifier handles a token. */
bool jit_hostauth_is_host_issuer(const char *iss);

/* Verifies a compact JWS host token at `now` (ns): alg exactly ES256 with the key of the host
 * named by iss, aud, exp/iat (at most JIT_HOST_TOKEN_MAX_SECONDS apart, 60 s of skew), nbf if
 * present, a jti not used before with this host, sub within the host's globs. Returns 0 and an
 * identity with email = sub, groups = the claim's groups the host may assert, issuer = iss and
 * host = the host's name (and records the jti); JIT_ERR_DENIED with a short reason ("unknown
 * host", "bad signature", "identity not allowed for this host", "host token already used",
 * ...); JIT_ERR_UNAVAILABLE when the replay cache is full; or -ENOMEM. hostauth may be NULL
 * (no host configured: "unknown host"). */
int jit_hostauth_verify(struct jit_hostauth *hostauth, const char *token, int64_t now,
                        struct jit_identity *ret_identity, char *error, size_t error_size);

#endif
