/* The verified-token cache (see token_cache.h): 4096 slots chosen by the digest's first bytes,
 * each holding one digest and a copy of its identity, under 16 reader-writer locks. Digests
 * are compared in constant time. Allocates the copies it keeps and hands out. */
#include "server/auth/token_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define CACHE_SLOTS 4096
#define CACHE_STRIPES 16
#define NS_PER_SECOND 1000000000LL

_Static_assert(sizeof(((struct jit_token_digest *)0)->bytes) == SHA256_DIGEST_LENGTH,
               "a token digest is a SHA-256");

struct cache_entry {
	struct jit_token_digest digest;
	bool used;
	int64_t valid_until; /* ns */
	struct jit_identity identity;
};

struct jit_token_cache {
	struct cache_entry entries[CACHE_SLOTS];
	pthread_rwlock_t locks[CACHE_STRIPES];
};

int
jit_token_cache_new(struct jit_token_cache **ret_cache)
{
	struct jit_token_cache *cache = calloc(1, sizeof(*cache));
	if (!cache)
		return -ENOMEM;
	for (size_t i = 0; i < CACHE_STRIPES; i++)
		pthread_rwlock_init(&cache->locks[i], NULL);
	*ret_cache = cache;
	return 0;
}

void
jit_token_cache_free(struct jit_token_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		jit_identity_clear(&cache->entries[i].identity);
	for (size_t i = 0; i < CACHE_STRIPES; i++)
		pthread_rwlock_destroy(&cache->locks[i]);
	free(cache);
}

/* SHA-256 with the algorithm fetched once: OpenSSL 3's one-shot SHA256() looks it up in the
 * provider store under a lock on every call. */
static EVP_MD *digest_md;
static pthread_once_t digest_md_once = PTHREAD_ONCE_INIT;

static void
digest_md_fetch(void)
{
	digest_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

bool
jit_token_digest(const char *token, size_t len, struct jit_token_digest *ret_digest)
{
	pthread_once(&digest_md_once, digest_md_fetch);
	return digest_md && EVP_Digest(token, len, ret_digest->bytes, NULL, digest_md, NULL) == 1;
}

static size_t
cache_slot(const struct jit_token_digest *digest)
{
	return ((size_t)digest->bytes[0] << 8 | digest->bytes[1]) % CACHE_SLOTS;
}

bool
jit_token_cache_lookup(struct jit_token_cache *cache, const struct jit_token_digest *digest,
                       int64_t now, struct jit_identity *ret_identity)
{
	size_t slot = cache_slot(digest);
	pthread_rwlock_t *lock = &cache->locks[slot % CACHE_STRIPES];
	bool hit = false;
	pthread_rwlock_rdlock(lock);
	struct cache_entry *e = &cache->entries[slot];
	if (e->used && now < e->valid_until &&
	    CRYPTO_memcmp(e->digest.bytes, digest->bytes, sizeof(digest->bytes)) == 0)
		hit = jit_identity_copy(&e->identity, ret_identity) == 0;
	pthread_rwlock_unlock(lock);
	return hit;
}

void
jit_token_cache_store(struct jit_token_cache *cache, const struct jit_token_digest *digest,
                      int64_t now, const struct jit_identity *identity)
{
	struct jit_identity copy;
	if (jit_identity_copy(identity, &copy) < 0)
		return;
	int64_t until = now + (int64_t)JIT_TOKEN_CACHE_TTL_SECONDS * NS_PER_SECOND;
	int64_t token_end = identity->expires_at + (int64_t)JIT_AUTH_SKEW_SECONDS * NS_PER_SECOND;
	if (token_end < until)
		until = token_end;
	size_t slot = cache_slot(digest);
	pthread_rwlock_t *lock = &cache->locks[slot % CACHE_STRIPES];
	pthread_rwlock_wrlock(lock);
	struct cache_entry *e = &cache->entries[slot];
	jit_identity_clear(&e->identity);
	e->digest = *digest;
	e->identity = copy;
	e->valid_until = until;
	e->used = true;
	pthread_rwlock_unlock(lock);
}
