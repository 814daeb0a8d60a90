/* Bearer tokens already verified, keyed by the SHA-256 of their text, so that a client sending
 * the same token on every call costs a hash instead of a signature check. An entry lives until
 * the token's exp (plus the skew) and at most JIT_TOKEN_CACHE_TTL_SECONDS, so a key withdrawn
 * by its issuer stops being honoured within that time. Direct-mapped, lock-striped:
 * thread-safe, waits only on its own locks. A single-use token (a host token) is never to be
 * stored: a hit would skip its replay check. */
#ifndef JIT_SERVER_TOKEN_CACHE_H
#define JIT_SERVER_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"
#include "server/auth/identity.h"

#define JIT_TOKEN_CACHE_TTL_SECONDS 60

struct jit_token_digest {
	unsigned char bytes[32]; /* SHA-256 */
};

struct jit_token_cache;

int jit_token_cache_new(struct jit_token_cache **ret_cache);
void jit_token_cache_free(struct jit_token_cache *cache);
JIT_DEFINE_CLEANUP(struct jit_token_cache *, jit_token_cache_free)

/* The digest `len` bytes of token text are kept under. False when it cannot be computed: the
 * token is then neither looked up nor stored. */
bool jit_token_digest(const char *token, size_t len, struct jit_token_digest *ret_digest);

/* A copy of the identity stored under `digest` while it is valid at `now` (ns): true and
 * *ret_identity filled (the caller clears it), or false with *ret_identity holding nothing
 * (a copy that ran out of memory is a miss). */
bool jit_token_cache_lookup(struct jit_token_cache *cache, const struct jit_token_digest *digest,
                            int64_t now, struct jit_identity *ret_identity);
/* Keeps a copy of the identity a token verified as at `now`, replacing what its slot held. Out
 * of memory, nothing is kept. */
void jit_token_cache_store(struct jit_token_cache *cache, const struct jit_token_digest *digest,
                           int64_t now, const struct jit_identity *identity);

#endif
