/* Verifies host tokens: ES256 JWTs signed by a jump host's agent with its host key, on behalf
 * of one user. The unverified iss only picks the host; the algorithm is pinned to ES256 and
 * every claim is trusted only after the signature verifies with that host's configured key.
 * The identity must match the host's globs; groups the host may not assert are dropped. Each
 * (host, jti) is accepted once: a bounded cache remembers it until the token expires, and
 * refuses tokens when full rather than forget one early. */
#include "server/auth/hostauth.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "server/config.h"
#include "server/auth/jose.h"
#include "server/core/model.h"

#define NS_PER_SECOND 1000000000LL
#define SKEW_SECONDS 60
#define MAX_KEY_FILE (64 * 1024)

struct host {
	char *name;
	cjose_jwk_t *jwk; /* public */
	char **identities;
	char **groups;
};

/* One jti seen: SHA-256 of "<host>\0<jti>", remembered until the token can no longer be
 * accepted. */
struct seen {
	uint8_t digest[SHA256_DIGEST_LENGTH];
	int64_t until; /* ns; 0: free slot */
};

struct jit_hostauth {
	char *audience;
	struct host *hosts;
	size_t count;
	/* The replay cache: open addressing over `slots` (twice the capacity), under `lock`. */
	pthread_mutex_t lock;
	struct seen *seen;
	size_t slots, capacity, used; /* used counts expired entries until a sweep */
	int64_t last_sweep;
};

static void
strv_free(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

static char **
strv_copy(const char *const *list)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	char **copy = calloc(n + 1, sizeof(*copy));
	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(copy[i] = strdup(list[i]))) {
			strv_free(copy);
			return NULL;
		}
	}
	return copy;
}

static void
host_clear(struct host *h)
{
	free(h->name);
	cjose_jwk_release(h->jwk);
	strv_free(h->identities);
	strv_free(h->groups);
	*h = (struct host){ 0 };
}

int
jit_hostauth_new(const char *audience, struct jit_hostauth **ret_hostauth)
{
	struct jit_hostauth *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (!(h->audience = strdup(audience ? audience : ""))) {
		free(h);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	int r = jit_hostauth_set_replay_capacity(h, JIT_HOST_REPLAY_CAPACITY);
	if (r < 0) {
		jit_hostauth_free(h);
		return r;
	}
	*ret_hostauth = h;
	return 0;
}

int
jit_hostauth_set_replay_capacity(struct jit_hostauth *hostauth, size_t capacity)
{
	if (capacity == 0 || capacity > JIT_HOST_REPLAY_CAPACITY)
		return JIT_ERR_INVALID;
	/* Allocated untouched: pages are used as the cache fills. */
	struct seen *seen = calloc(capacity * 2, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	pthread_mutex_lock(&hostauth->lock);
	free(hostauth->seen);
	hostauth->seen = seen;
	hostauth->slots = capacity * 2;
	hostauth->capacity = capacity;
	hostauth->used = 0;
	hostauth->last_sweep = 0;
	pthread_mutex_unlock(&hostauth->lock);
	return 0;
}

void
jit_hostauth_free(struct jit_hostauth *hostauth)
{
	if (!hostauth)
		return;
	for (size_t i = 0; i < hostauth->count; i++)
		host_clear(&hostauth->hosts[i]);
	free(hostauth->hosts);
	free(hostauth->audience);
	free(hostauth->seen);
	pthread_mutex_destroy(&hostauth->lock);
	free(hostauth);
}

static void
fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* Reads a PEM P-256 public key into a cjose JWK. */
static int
load_public_key(const char *path, cjose_jwk_t **ret_jwk, char *error, size_t error_size)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	_cleanup_(jit_evp_pkey_freep) EVP_PKEY *pkey = NULL;

	if (!f) {
		jit_set_error(error, error_size, "cannot read %s: %s", path, strerror(errno));
		return JIT_ERR_INVALID;
	}
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > MAX_KEY_FILE) {
		jit_set_error(error, error_size, "%s: larger than %d bytes", path, MAX_KEY_FILE);
		return JIT_ERR_INVALID;
	}
	rewind(f);
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!pkey) {
		jit_set_error(error, error_size, "%s: not a PEM public key", path);
		return JIT_ERR_INVALID;
	}
	if (!jit_p256_is(pkey)) {
		jit_set_error(error, error_size, "%s: not a P-256 (prime256v1) EC public key",
		              path);
		return JIT_ERR_INVALID;
	}
	if (jit_p256_jwk(pkey, false, ret_jwk, NULL, NULL) < 0) {
		jit_set_error(error, error_size, "%s: unusable EC public key", path);
		return JIT_ERR_INVALID;
	}
	return 0;
}

static const struct host *
find_host(const struct jit_hostauth *hostauth, const char *name)
{
	for (size_t i = 0; hostauth && i < hostauth->count; i++)
		if (strcmp(hostauth->hosts[i].name, name) == 0)
			return &hostauth->hosts[i];
	return NULL;
}

int
jit_hostauth_add(struct jit_hostauth *hostauth, const char *name, const char *public_key_file,
                 const char *const *identities, const char *const *groups, char *error,
                 size_t error_size)
{
	struct host h = { 0 };
	int r;

	if (!name || !name[0] || strlen(name) > JIT_MAX_HOST || !public_key_file) {
		jit_set_error(error, error_size, "a host needs a name and a public key file");
		return JIT_ERR_INVALID;
	}
	if (find_host(hostauth, name)) {
		jit_set_error(error, error_size, "host \"%s\" is listed twice", name);
		return JIT_ERR_INVALID;
	}
	if ((r = load_public_key(public_key_file, &h.jwk, error, error_size)) < 0)
		return r;
	h.name = strdup(name);
	h.identities = strv_copy(identities);
	h.groups = strv_copy(groups);
	struct host *grown =
	        h.name && h.identities && h.groups
	                ? realloc(hostauth->hosts, (hostauth->count + 1) * sizeof(*hostauth->hosts))
	                : NULL;
	if (!grown) {
		host_clear(&h);
		return -ENOMEM;
	}
	hostauth->hosts = grown;
	hostauth->hosts[hostauth->count++] = h;
	return 0;
}

int
jit_hostauth_from_config(const struct jit_config *config, struct jit_hostauth **ret_hostauth,
                         char *error, size_t error_size)
{
	_cleanup_(jit_hostauth_freep) struct jit_hostauth *h = NULL;
	char why[256] = "";
	int r;

	if (config->host_count == 0) {
		*ret_hostauth = NULL;
		return 0;
	}
	if ((r = jit_hostauth_new(config->builtin_issuer_audience, &h)) < 0)
		return r;
	for (size_t i = 0; i < config->host_count; i++) {
		const struct jit_config_host *c = &config->hosts[i];
		if ((r = jit_hostauth_add(h, c->name, c->public_key_file,
		                          (const char *const *)c->identities,
		                          (const char *const *)c->groups, why, sizeof(why))) < 0) {
			jit_set_error(error, error_size, "hosts: %s: %s", c->name, why);
			return r;
		}
	}
	*ret_hostauth = TAKE_PTR(h);
	return 0;
}

bool
jit_hostauth_is_host_issuer(const char *iss)
{
	return iss && strncmp(iss, JIT_HOST_ISSUER_PREFIX, strlen(JIT_HOST_ISSUER_PREFIX)) == 0;
}

/* ---- verification --------------------------------------------------------------------- */

/* A string claim of 1..max bytes, no NUL and no control character. */
static const char *
text_claim(const json_t *claims, const char *name, size_t max)
{
	const char *s = jit_jwt_text(json_object_get(claims, name), max);
	for (const char *p = s; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	return s;
}

static bool
matches_any(char *const *globs, const char *s)
{
	for (char *const *g = globs; g && *g; g++)
		if (fnmatch(*g, s, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

/* The claim's groups that the host may assert (an absent claim: none). */
static int
allowed_groups(const struct host *host, const json_t *claim, json_t **ret, char *error,
               size_t error_size)
{
	_cleanup_json_ json_t *groups = json_array();
	if (!groups)
		return -ENOMEM;
	if (claim) {
		if (!json_is_array(claim) || json_array_size(claim) > JIT_MAX_GROUPS)
			return jit_deny(error, error_size,
			                "groups claim must be an array of strings");
		size_t i;
		json_t *item;
		json_array_foreach(claim, i, item)
		{
			const char *g = jit_jwt_text(item, JIT_AUTH_MAX_GROUP_NAME);
			if (!g)
				return jit_deny(error, error_size,
				                "groups claim must be an array of strings");
			int r = jit_identity_check_name("groups", g, error, error_size);
			if (r < 0)
				return r;
			bool allowed = false;
			for (char *const *a = host->groups; a && *a && !allowed; a++)
				allowed = strcmp(*a, g) == 0;
			if (allowed && json_array_append_new(groups, json_string(g)) < 0)
				return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(groups);
	return 0;
}

static int
check_claims(const struct jit_hostauth *hostauth, const struct host *host, const char *iss,
             const json_t *claims, int64_t now, struct jit_identity *ret, char *error,
             size_t error_size)
{
	const json_t *claimed_iss = json_object_get(claims, "iss");
	if (!json_is_string(claimed_iss) || strcmp(json_string_value(claimed_iss), iss) != 0)
		return jit_deny(error, error_size, "wrong issuer");
	if (!jit_jwt_audience_matches(json_object_get(claims, "aud"), hostauth->audience))
		return jit_deny(error, error_size, "wrong audience");

	const int64_t skew = (int64_t)SKEW_SECONDS * NS_PER_SECOND;
	int64_t exp, iat, nbf;
	int r;
	if (jit_jwt_claim_time(claims, "exp", &exp) < 0)
		return jit_deny(error, error_size, "missing or invalid exp claim");
	if (jit_jwt_claim_time(claims, "iat", &iat) < 0)
		return jit_deny(error, error_size, "missing or invalid iat claim");
	if (exp <= iat || exp - iat > JIT_HOST_TOKEN_MAX_SECONDS)
		return jit_deny(error, error_size, "host tokens may live at most 300 seconds");
	if (now >= exp * NS_PER_SECOND + skew)
		return jit_deny(error, error_size, "token expired");
	if (iat * NS_PER_SECOND - skew > now)
		return jit_deny(error, error_size, "token issued in the future");
	r = jit_jwt_claim_time(claims, "nbf", &nbf);
	if (r != JIT_ERR_NOT_FOUND && (r < 0 || now < nbf * NS_PER_SECOND - skew))
		return jit_deny(error, error_size, "token not yet valid");
	if (!text_claim(claims, "jti", JIT_HOST_MAX_JTI))
		return jit_deny(error, error_size, "missing jti claim");
	const char *sub = text_claim(claims, "sub", JIT_MAX_IDENTITY);
	if (!sub)
		return jit_deny(error, error_size, "sub claim must be the user's identity");
	if ((r = jit_identity_check_name("sub", sub, error, error_size)) < 0)
		return r;
	/* Identities are compared without regard to case (server/auth/identity.h), globs too. */
	if (!matches_any(host->identities, sub))
		return jit_deny(error, error_size, "identity not allowed for this host");

	struct jit_identity identity = { .expires_at = exp * NS_PER_SECOND };
	if ((r = allowed_groups(host, json_object_get(claims, "groups"), &identity.groups, error,
	                        error_size)) < 0)
		return r;
	identity.email = strdup(sub);
	identity.subject = strdup(sub);
	identity.issuer = strdup(iss);
	identity.host = strdup(host->name);
	if (!identity.email || !identity.subject || !identity.issuer || !identity.host) {
		jit_identity_clear(&identity);
		return -ENOMEM;
	}
	jit_identity_fold(identity.email);
	*ret = identity;
	return 0;
}

/* ---- replays ---------------------------------------------------------------------------- */

static size_t
seen_start(const struct jit_hostauth *h, const uint8_t *digest)
{
	uint64_t v = 0;
	memcpy(&v, digest, sizeof(v));
	return (size_t)(v % h->slots);
}

/* Rebuilds the table with only the entries still in force. Lock held. */
static void
seen_sweep(struct jit_hostauth *h, int64_t now)
{
	size_t kept = 0;
	/* Compact the live entries to the front, clear the rest, then reinsert them. */
	for (size_t i = 0; i < h->slots; i++)
		if (h->seen[i].until > now)
			h->seen[kept++] = h->seen[i];
	struct seen *live = kept ? malloc(kept * sizeof(*live)) : NULL;
	if (kept && !live) /* cannot rebuild: keep everything (nothing is forgotten) */
		return;
	if (kept)
		memcpy(live, h->seen, kept * sizeof(*live));
	memset(h->seen, 0, h->slots * sizeof(*h->seen));
	for (size_t k = 0; k < kept; k++) {
		size_t i = seen_start(h, live[k].digest);
		while (h->seen[i].until)
			i = (i + 1) % h->slots;
		h->seen[i] = live[k];
	}
	free(live);
	h->used = kept;
	h->last_sweep = now;
}

/* Records (host, jti) until `until` (ns). 0; JIT_ERR_DENIED when it was seen before and is
 * still in force; JIT_ERR_UNAVAILABLE when the cache is full of tokens still in force. */
static int
seen_record(struct jit_hostauth *h, const char *host, const char *jti, int64_t now, int64_t until,
            char *error, size_t error_size)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	char key[JIT_MAX_HOST + 1 + JIT_HOST_MAX_JTI];
	size_t hl = strlen(host), jl = strlen(jti);
	int r = 0;

	if (hl > JIT_MAX_HOST || jl > JIT_HOST_MAX_JTI)
		return jit_deny(error, error_size, "cannot check the token id");
	memcpy(key, host, hl + 1);
	memcpy(key + hl + 1, jti, jl);
	if (!SHA256((const unsigned char *)key, hl + 1 + jl, digest))
		return jit_deny(error, error_size, "cannot check the token id");
	pthread_mutex_lock(&h->lock);
	size_t i = seen_start(h, digest), free_slot = h->slots;
	for (size_t n = 0; n < h->slots && h->seen[i].until; n++, i = (i + 1) % h->slots) {
		if (memcmp(h->seen[i].digest, digest, sizeof(digest)) == 0) {
			if (h->seen[i].until > now) {
				r = jit_deny(
				        error, error_size,
				        "host token already used (replayed jti); the agent signs a "
				        "new token for every call");
				goto out;
			}
			free_slot = i; /* the same id, long expired: reuse its slot */
			break;
		}
		if (h->seen[i].until <= now && free_slot == h->slots)
			free_slot = i;
	}
	if (free_slot == h->slots) {
		if (h->used >= h->capacity && now - h->last_sweep >= 1000000000LL)
			seen_sweep(h, now);
		if (h->used >= h->capacity) {
			jit_set_error(
			        error, error_size,
			        "too many host tokens in force (%zu): replay cache full, retry "
			        "in a few seconds",
			        h->capacity);
			r = JIT_ERR_UNAVAILABLE;
			goto out;
		}
		free_slot = seen_start(h, digest);
		while (h->seen[free_slot].until)
			free_slot = (free_slot + 1) % h->slots;
		h->used++;
	}
	memcpy(h->seen[free_slot].digest, digest, sizeof(digest));
	h->seen[free_slot].until = until;
out:
	pthread_mutex_unlock(&h->lock);
	return r;
}

int
jit_hostauth_verify(struct jit_hostauth *hostauth, const char *token, int64_t now,
                    struct jit_identity *ret_identity, char *error, size_t error_size)
{
	cjose_err err;
	size_t len = token ? strnlen(token, JIT_AUTH_MAX_TOKEN + 1) : 0;

	if (error && error_size)
		error[0] = '\0';
	if (len == 0 || len > JIT_AUTH_MAX_TOKEN)
		return jit_deny(error, error_size, "malformed token");
	_cleanup_(jit_cjose_jws_releasep) cjose_jws_t *jws = cjose_jws_import(token, len, &err);
	if (!jws)
		return jit_deny(error, error_size, "malformed token");
	cjose_header_t *header = cjose_jws_get_protected(jws);
	const char *alg = header ? cjose_header_get(header, CJOSE_HDR_ALG, &err) : NULL;
	/* The one algorithm host keys use; the header's choice is never trusted. */
	if (!alg || strcmp(alg, CJOSE_HDR_ALG_ES256) != 0)
		return jit_deny(error, error_size, "host tokens must use ES256");
	if (json_object_get((json_t *)header, "crit"))
		return jit_deny(error, error_size, "unsupported critical header");

	/* Unverified: only to pick the host whose key must verify the signature. */
	uint8_t *payload = NULL;
	size_t payload_len = 0;
	if (!cjose_jws_get_plaintext(jws, &payload, &payload_len, &err))
		return jit_deny(error, error_size, "malformed token");
	json_error_t jerr;
	_cleanup_json_ json_t *claims =
	        json_loadb((const char *)payload, payload_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(claims))
		return jit_deny(error, error_size, "malformed token payload");
	const char *iss = text_claim(claims, "iss", strlen(JIT_HOST_ISSUER_PREFIX) + JIT_MAX_HOST);
	if (!jit_hostauth_is_host_issuer(iss))
		return jit_deny(error, error_size, "not a host token");
	const struct host *host = find_host(hostauth, iss + strlen(JIT_HOST_ISSUER_PREFIX));
	if (!host)
		return jit_deny(error, error_size, "unknown host");
	if (!cjose_jws_verify(jws, host->jwk, &err))
		return jit_deny(error, error_size, "bad signature");
	struct jit_identity identity;
	int r = check_claims(hostauth, host, iss, claims, now, &identity, error, error_size);
	if (r < 0)
		return r;
	/* Only a token that verified may take a place in the cache, until it could no longer be
	 * accepted (exp plus the allowed skew). */
	r = seen_record(hostauth, host->name, json_string_value(json_object_get(claims, "jti")),
	                now, identity.expires_at + (int64_t)SKEW_SECONDS * NS_PER_SECOND, error,
	                error_size);
	if (r < 0) {
		jit_identity_clear(&identity);
		return r;
	}
	*ret_identity = identity;
	return 0;
}
