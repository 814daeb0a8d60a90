/* Verifies OIDC ID tokens for several issuers. The unverified iss only picks which configured
 * issuer to check against; everything else is trusted only after the signature verifies with
 * that issuer's key, the algorithm pinned to the key. Remote keys come from discovery + JWKS
 * over lib/net's client (bounded in time and size), cached per issuer behind a mutex. */
#include "server/auth/oidc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/evp.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/net/http.h"
#include "server/auth/jose.h"
#include "server/core/model.h"

#define NS_PER_SECOND 1000000000LL
#define MAX_ISSUERS 64
#define MAX_KEYS 64                /* keys kept from one JWKS */
#define MAX_KID JIT_JWT_MAX_KID    /* bytes of a key id */
#define MAX_URL JIT_JWT_MAX_ISSUER /* bytes of an issuer, discovery or JWKS URL */
#define MAX_DOCUMENT (1024 * 1024) /* bytes of a discovery document or JWKS */
#define MAX_SUBJECT 255            /* OIDC Core §2: sub is at most 255 ASCII characters */
#define MIN_RSA_BITS 2048
#define DISCOVERY_PATH "/.well-known/openid-configuration"

enum key_family {
	FAMILY_RSA,
	FAMILY_P256,
	FAMILY_P384,
	FAMILY_P521,
};

/* The signing algorithms accepted at all, and the key type each needs. No HS*, no none. */
static const struct {
	const char *name;
	enum key_family family;
} algorithms[] = {
	{ "RS256", FAMILY_RSA },  { "RS384", FAMILY_RSA },  { "RS512", FAMILY_RSA },
	{ "PS256", FAMILY_RSA },  { "PS384", FAMILY_RSA },  { "PS512", FAMILY_RSA },
	{ "ES256", FAMILY_P256 }, { "ES384", FAMILY_P384 }, { "ES512", FAMILY_P521 },
};

struct auth_key {
	char *kid;  /* NULL when the JWK has none */
	char *alg;  /* the JWK's alg, NULL when it names none */
	char *json; /* the JWK's public members only, as compact JSON for cjose_jwk_import */
	enum key_family family;
};

struct auth_keyset {
	struct auth_key *keys;
	size_t count;
};

struct auth_issuer {
	/* Set when the issuer is added, read-only afterwards. */
	char *issuer;
	char *audience;
	char *discovery_url; /* NULL for a static issuer */
	char *email_claim;
	char *groups_claim;
	char *ca_file;
	bool is_static;

	/* Serialises the fetches of this issuer's keys. Taken before `lock`, never inside it. */
	pthread_mutex_t fetch_lock;
	/* Guards everything below; never held across the network. */
	pthread_mutex_t lock;
	struct auth_keyset keys;
	char *jwks_uri; /* from the last good discovery document, or NULL */
	bool fetched;   /* a fetch was attempted */
	bool last_fetch_failed;
	int64_t last_fetch;  /* the `now` (ns) of the last attempt */
	uint64_t generation; /* counts fetch attempts, so waiters know one happened */
	char last_error[128];
};

struct jit_oidc {
	int fetch_timeout_ms;
	struct auth_issuer *issuers[MAX_ISSUERS];
	size_t issuer_count;
};

/* ---- keys ------------------------------------------------------------------------------ */

static bool
algorithm_fits(const char *alg, enum key_family family)
{
	for (size_t i = 0; i < JIT_ARRAY_SIZE(algorithms); i++)
		if (strcmp(algorithms[i].name, alg) == 0)
			return algorithms[i].family == family;
	return false;
}

static bool
algorithm_known(const char *alg)
{
	for (size_t i = 0; i < JIT_ARRAY_SIZE(algorithms); i++)
		if (strcmp(algorithms[i].name, alg) == 0)
			return true;
	return false;
}

/* The one algorithm a key that names none is used with. */
static const char *
family_default_algorithm(enum key_family family)
{
	switch (family) {
	case FAMILY_RSA:
		return "RS256";
	case FAMILY_P256:
		return "ES256";
	case FAMILY_P384:
		return "ES384";
	case FAMILY_P521:
		return "ES512";
	}
	return "";
}

static void
auth_key_clear(struct auth_key *key)
{
	free(key->kid);
	free(key->alg);
	free(key->json);
	*key = (struct auth_key){ 0 };
}

static int
auth_key_copy(const struct auth_key *key, struct auth_key *ret)
{
	struct auth_key copy = { .family = key->family };
	copy.kid = key->kid ? strdup(key->kid) : NULL;
	copy.alg = key->alg ? strdup(key->alg) : NULL;
	copy.json = strdup(key->json);
	if ((key->kid && !copy.kid) || (key->alg && !copy.alg) || !copy.json) {
		auth_key_clear(&copy);
		return -ENOMEM;
	}
	*ret = copy;
	return 0;
}

static void
keyset_clear(struct auth_keyset *set)
{
	for (size_t i = 0; i < set->count; i++)
		auth_key_clear(&set->keys[i]);
	free(set->keys);
	*set = (struct auth_keyset){ 0 };
}

static const char *
string_member(const json_t *object, const char *name, size_t max_len)
{
	const json_t *v = json_object_get(object, name);
	if (!json_is_string(v))
		return NULL;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0 || n > max_len || strlen(s) != n)
		return NULL;
	return s;
}

/* Can cjose use this public JWK, and is an RSA modulus long enough? */
static bool
jwk_importable(const char *json, enum key_family family)
{
	cjose_err err;
	cjose_jwk_t *jwk = cjose_jwk_import(json, strlen(json), &err);
	if (!jwk)
		return false;
	bool ok = family != FAMILY_RSA || cjose_jwk_get_keysize(jwk, &err) >= MIN_RSA_BITS;
	cjose_jwk_release(jwk);
	return ok;
}

/* Makes a key out of one JWKS entry. Returns 0, or JIT_ERR_INVALID for an entry that is not a
 * usable signature-verification key (the caller skips it), or -ENOMEM. */
static int
key_from_jwk(const json_t *jwk, struct auth_key *ret)
{
	if (!json_is_object(jwk))
		return JIT_ERR_INVALID;
	const char *kty = string_member(jwk, "kty", 8);
	const json_t *use = json_object_get(jwk, "use");
	const json_t *kid = json_object_get(jwk, "kid");
	const json_t *alg = json_object_get(jwk, "alg");
	if (!kty || (use && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0)))
		return JIT_ERR_INVALID;
	if ((kid && !string_member(jwk, "kid", MAX_KID)) || (alg && !string_member(jwk, "alg", 8)))
		return JIT_ERR_INVALID;

	enum key_family family;
	_cleanup_json_ json_t *clean = NULL;
	if (strcmp(kty, "RSA") == 0) {
		const char *n = string_member(jwk, "n", MAX_DOCUMENT);
		const char *e = string_member(jwk, "e", 16);
		if (!n || !e)
			return JIT_ERR_INVALID;
		family = FAMILY_RSA;
		clean = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", n, "e", e);
	} else if (strcmp(kty, "EC") == 0) {
		const char *crv = string_member(jwk, "crv", 8);
		const char *x = string_member(jwk, "x", 128);
		const char *y = string_member(jwk, "y", 128);
		if (!crv || !x || !y)
			return JIT_ERR_INVALID;
		if (strcmp(crv, "P-256") == 0)
			family = FAMILY_P256;
		else if (strcmp(crv, "P-384") == 0)
			family = FAMILY_P384;
		else if (strcmp(crv, "P-521") == 0)
			family = FAMILY_P521;
		else
			return JIT_ERR_INVALID;
		clean = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", crv, "x", x, "y", y);
	} else {
		return JIT_ERR_INVALID;
	}
	if (!clean)
		return -ENOMEM;
	/* A key that names an algorithm is used with that one only, and it must suit the key. */
	if (alg && !algorithm_fits(json_string_value(alg), family))
		return JIT_ERR_INVALID;

	struct auth_key key = { .family = family };
	key.json = jit_json_dump(clean);
	key.kid = kid ? strdup(json_string_value(kid)) : NULL;
	key.alg = alg ? strdup(json_string_value(alg)) : NULL;
	if (!key.json || (kid && !key.kid) || (alg && !key.alg)) {
		auth_key_clear(&key);
		return -ENOMEM;
	}
	if (!jwk_importable(key.json, family)) {
		auth_key_clear(&key);
		return JIT_ERR_INVALID;
	}
	*ret = key;
	return 0;
}

/* Keeps the usable keys of a JWKS (at most MAX_KEYS). Returns 0, JIT_ERR_INVALID when there
 * are none, or -ENOMEM. */
static int
keyset_from_jwks(const json_t *jwks, struct auth_keyset *ret, char *error, size_t error_size)
{
	const json_t *list = json_object_get(jwks, "keys");
	if (!json_is_array(list)) {
		jit_set_error(error, error_size, "JWKS has no \"keys\" array");
		return JIT_ERR_INVALID;
	}
	size_t total = json_array_size(list);
	size_t room = total < MAX_KEYS ? total : MAX_KEYS;
	struct auth_keyset set = { .keys = calloc(room ? room : 1, sizeof(struct auth_key)) };
	if (!set.keys)
		return -ENOMEM;
	for (size_t i = 0; i < total && set.count < room; i++) {
		int r = key_from_jwk(json_array_get(list, i), &set.keys[set.count]);
		if (r == -ENOMEM) {
			keyset_clear(&set);
			return r;
		}
		if (r == 0)
			set.count++;
	}
	if (set.count == 0) {
		keyset_clear(&set);
		jit_set_error(error, error_size, "JWKS has no usable signing key");
		return JIT_ERR_INVALID;
	}
	*ret = set;
	return 0;
}

enum lookup_result {
	LOOKUP_FOUND,
	LOOKUP_NO_KEYS,
	LOOKUP_UNKNOWN_KID,
	LOOKUP_NO_KID, /* the token names no key and the issuer has several */
};

/* Finds the key a token names: by kid, or the only key when the token names none. */
static enum lookup_result
keyset_lookup(const struct auth_keyset *set, const char *kid, const struct auth_key **ret)
{
	if (set->count == 0)
		return LOOKUP_NO_KEYS;
	if (!kid) {
		if (set->count != 1)
			return LOOKUP_NO_KID;
		*ret = &set->keys[0];
		return LOOKUP_FOUND;
	}
	for (size_t i = 0; i < set->count; i++)
		if (set->keys[i].kid && strcmp(set->keys[i].kid, kid) == 0) {
			*ret = &set->keys[i];
			return LOOKUP_FOUND;
		}
	return LOOKUP_UNKNOWN_KID;
}

/* ---- fetching -------------------------------------------------------------------------- */

/* GETs `url` on `client` (http or https only, no redirects, at most MAX_DOCUMENT bytes,
 * within the client's timeout) and parses it as a JSON object. Blocks for at most the
 * timeout. */
static int
http_get_json(struct jit_http_client *client, const char *url, json_t **ret, char *error,
              size_t error_size)
{
	const struct jit_http_request req = { .method = "GET", .url = url };
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;
	char parse_error[96] = "";
	int r;

	if ((r = jit_http_exchange(client, &req, &resp, &e)) < 0) {
		if (e.failure == JIT_HTTP_FAILURE_TOO_LARGE) {
			jit_set_error(error, error_size, "response larger than %d bytes",
			              MAX_DOCUMENT);
			return JIT_ERR_TOO_LARGE;
		}
		if (e.failure == JIT_HTTP_FAILURE_NO_MEMORY)
			return -ENOMEM;
		jit_set_error(error, error_size, "%s", e.cause[0] ? e.cause : e.message);
		return e.failure == JIT_HTTP_FAILURE_TIMEOUT ? JIT_ERR_TIMEOUT
		                                             : JIT_ERR_UNAVAILABLE;
	}
	if (resp.status != 200) {
		jit_set_error(error, error_size, "HTTP status %ld", resp.status);
		r = JIT_ERR_UNAVAILABLE;
	} else if (resp.body_len == 0) {
		jit_set_error(error, error_size, "empty response");
		r = JIT_ERR_PROTOCOL;
	} else if (jit_json_parse_object(resp.body, resp.body_len, MAX_DOCUMENT, ret, parse_error,
	                                 sizeof(parse_error)) < 0) {
		jit_set_error(error, error_size, "bad JSON: %s", parse_error);
		r = JIT_ERR_PROTOCOL;
	}
	jit_http_response_done(&resp);
	return r;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Fetches an issuer's keys: the discovery document (unless its jwks_uri is already known)
 * and then the JWKS. Called without the issuer's lock; blocks for at most two fetch
 * timeouts. On success sets *ret_keys and *ret_jwks_uri (malloc'd). */
static int
fetch_keys(const struct jit_oidc *oidc, const struct auth_issuer *is, const char *known_jwks_uri,
           struct auth_keyset *ret_keys, char **ret_jwks_uri, char *error, size_t error_size)
{
	const struct jit_http_options options = { .timeout_ms = oidc->fetch_timeout_ms,
		                                  .max_body = MAX_DOCUMENT,
		                                  .ca_file = is->ca_file,
		                                  .user_agent = "jitsudod" };
	char detail[96] = "";
	_cleanup_free_ char *jwks_uri = NULL;
	_cleanup_(jit_http_client_freep) struct jit_http_client *client = NULL;
	int r;
	/* One client for both documents: the JWKS usually comes over the same connection. */
	if (jit_http_client_new(&options, &client) < 0) {
		jit_set_error(error, error_size, "cannot set up the HTTP client");
		return JIT_ERR_INTERNAL;
	}
	if (known_jwks_uri) {
		if (!(jwks_uri = strdup(known_jwks_uri)))
			return -ENOMEM;
	} else {
		_cleanup_json_ json_t *doc = NULL;
		if ((r = http_get_json(client, is->discovery_url, &doc, detail, sizeof(detail))) <
		    0) {
			jit_set_error(error, error_size, "discovery document: %s", detail);
			return r;
		}
		const char *named = string_member(doc, "issuer", MAX_URL);
		if (!named || strcmp(named, is->issuer) != 0) {
			jit_set_error(error, error_size, "discovery document names another issuer");
			return JIT_ERR_PROTOCOL;
		}
		const char *uri = string_member(doc, "jwks_uri", MAX_URL);
		if (!uri || !(has_prefix(uri, "https://") || has_prefix(uri, "http://"))) {
			jit_set_error(error, error_size,
			              "discovery document has no http(s) jwks_uri");
			return JIT_ERR_PROTOCOL;
		}
		/* Keys found over TLS are not then fetched without it. */
		if (has_prefix(is->discovery_url, "https://") && !has_prefix(uri, "https://")) {
			jit_set_error(error, error_size, "jwks_uri is not https");
			return JIT_ERR_PROTOCOL;
		}
		if (!(jwks_uri = strdup(uri)))
			return -ENOMEM;
	}
	_cleanup_json_ json_t *jwks = NULL;
	if ((r = http_get_json(client, jwks_uri, &jwks, detail, sizeof(detail))) < 0) {
		jit_set_error(error, error_size, "JWKS: %s", detail);
		return r;
	}
	if ((r = keyset_from_jwks(jwks, ret_keys, error, error_size)) < 0)
		return r;
	*ret_jwks_uri = TAKE_PTR(jwks_uri);
	return 0;
}

/* Under is->lock: may a fetch help now? Refetches for an unknown kid are rate-limited to one
 * per JIT_OIDC_REFETCH_SECONDS, and retries after a failure with no keys cached to one per
 * JIT_OIDC_RETRY_SECONDS. A clock that went back allows a fetch. */
static bool
should_fetch_locked(const struct auth_issuer *is, enum lookup_result result, int64_t now)
{
	if (is->is_static || result == LOOKUP_FOUND || result == LOOKUP_NO_KID)
		return false;
	if (!is->fetched || now < is->last_fetch)
		return true;
	int64_t since = now - is->last_fetch;
	if (result == LOOKUP_NO_KEYS)
		return since >= (int64_t)JIT_OIDC_RETRY_SECONDS * NS_PER_SECOND;
	return since >= (int64_t)JIT_OIDC_REFETCH_SECONDS * NS_PER_SECOND;
}

/* Under is->lock: copies the key for `kid`, or returns why there is none. */
static int
lookup_locked(const struct auth_issuer *is, const char *kid, enum lookup_result *ret_result,
              struct auth_key *ret_key, char *error, size_t error_size)
{
	const struct auth_key *key = NULL;
	enum lookup_result result = keyset_lookup(&is->keys, kid, &key);
	*ret_result = result;
	switch (result) {
	case LOOKUP_FOUND:
		return auth_key_copy(key, ret_key);
	case LOOKUP_NO_KID:
		return jit_deny(error, error_size, "token has no key id");
	case LOOKUP_UNKNOWN_KID:
		return jit_deny(error, error_size, "unknown key id");
	case LOOKUP_NO_KEYS:
		break;
	}
	jit_set_error(error, error_size, "cannot fetch the issuer's keys: %s",
	              is->last_error[0] ? is->last_error : "not fetched yet");
	return JIT_ERR_UNAVAILABLE;
}

/* The key to verify a token of issuer `is` naming `kid` (or none) with, fetching the issuer's
 * keys first when that may help. Fetches of one issuer are serialised; a verification that
 * waited for another's fetch uses its result instead of fetching again. */
static int
issuer_get_key(const struct jit_oidc *oidc, struct auth_issuer *is, const char *kid, int64_t now,
               unsigned flags, struct auth_key *ret_key, char *error, size_t error_size)
{
	enum lookup_result result;
	pthread_mutex_lock(&is->lock);
	int r = lookup_locked(is, kid, &result, ret_key, error, error_size);
	bool fetch = r != -ENOMEM && should_fetch_locked(is, result, now);
	uint64_t generation = is->generation;
	pthread_mutex_unlock(&is->lock);
	if (!fetch)
		return r;
	if (flags & JIT_OIDC_NO_WAIT) {
		auth_key_clear(ret_key);
		return JIT_ERR_WOULD_BLOCK;
	}

	pthread_mutex_lock(&is->fetch_lock);
	pthread_mutex_lock(&is->lock);
	bool someone_fetched = is->generation != generation;
	char *known_jwks_uri = NULL;
	if (!someone_fetched && is->jwks_uri && !(known_jwks_uri = strdup(is->jwks_uri)))
		r = -ENOMEM;
	pthread_mutex_unlock(&is->lock);
	if (r == -ENOMEM)
		goto out;

	if (!someone_fetched) {
		struct auth_keyset fresh = { 0 };
		char *jwks_uri = NULL;
		char fetch_error[sizeof(is->last_error)] = "";
		int fr = fetch_keys(oidc, is, known_jwks_uri, &fresh, &jwks_uri, fetch_error,
		                    sizeof(fetch_error));
		free(known_jwks_uri);
		pthread_mutex_lock(&is->lock);
		is->generation++;
		is->fetched = true;
		is->last_fetch = now;
		is->last_fetch_failed = fr < 0;
		/* A failed fetch keeps the old keys but forgets the jwks_uri: the next attempt
		 * starts again from discovery. */
		free(is->jwks_uri);
		is->jwks_uri = jwks_uri;
		if (fr >= 0) {
			keyset_clear(&is->keys);
			is->keys = fresh;
			is->last_error[0] = '\0';
		} else {
			jit_set_error(is->last_error, sizeof(is->last_error), "%s", fetch_error);
		}
		pthread_mutex_unlock(&is->lock);
	}

	pthread_mutex_lock(&is->lock);
	r = lookup_locked(is, kid, &result, ret_key, error, error_size);
	pthread_mutex_unlock(&is->lock);
out:
	pthread_mutex_unlock(&is->fetch_lock);
	return r;
}

/* ---- issuers --------------------------------------------------------------------------- */

static void
issuer_free(struct auth_issuer *is)
{
	if (!is)
		return;
	pthread_mutex_destroy(&is->fetch_lock);
	pthread_mutex_destroy(&is->lock);
	keyset_clear(&is->keys);
	free(is->jwks_uri);
	free(is->issuer);
	free(is->audience);
	free(is->discovery_url);
	free(is->email_claim);
	free(is->groups_claim);
	free(is->ca_file);
	free(is);
}
JIT_DEFINE_CLEANUP(struct auth_issuer *, issuer_free)

/* "<issuer>/.well-known/openid-configuration", without doubling a trailing slash. */
static char *
default_discovery_url(const char *issuer)
{
	size_t n = strlen(issuer);
	while (n > 0 && issuer[n - 1] == '/')
		n--;
	char *url = malloc(n + sizeof(DISCOVERY_PATH));
	if (!url)
		return NULL;
	memcpy(url, issuer, n);
	memcpy(url + n, DISCOVERY_PATH, sizeof(DISCOVERY_PATH));
	return url;
}

static int
issuer_new(const struct jit_oidc *oidc, const struct jit_issuer_config *config, bool is_static,
           struct auth_issuer **ret)
{
	if (!config || !config->issuer || !*config->issuer || strlen(config->issuer) > MAX_URL ||
	    !config->audience || !*config->audience)
		return JIT_ERR_INVALID;
	if (config->discovery_url && strlen(config->discovery_url) > MAX_URL)
		return JIT_ERR_INVALID;
	for (size_t i = 0; i < oidc->issuer_count; i++)
		if (strcmp(oidc->issuers[i]->issuer, config->issuer) == 0)
			return JIT_ERR_CONFLICT;
	if (oidc->issuer_count == MAX_ISSUERS)
		return JIT_ERR_TOO_LARGE;

	_cleanup_(issuer_freep) struct auth_issuer *is = calloc(1, sizeof(*is));
	if (!is)
		return -ENOMEM;
	/* Before anything can fail, so issuer_free may destroy them. */
	pthread_mutex_init(&is->fetch_lock, NULL);
	pthread_mutex_init(&is->lock, NULL);
	is->is_static = is_static;
	is->issuer = strdup(config->issuer);
	is->audience = strdup(config->audience);
	is->email_claim = strdup(config->email_claim ? config->email_claim : "email");
	is->groups_claim = strdup(config->groups_claim ? config->groups_claim : "groups");
	if (!is->issuer || !is->audience || !is->email_claim || !is->groups_claim)
		return -ENOMEM;
	if (!is_static) {
		is->discovery_url = config->discovery_url ? strdup(config->discovery_url)
		                                          : default_discovery_url(config->issuer);
		if (!is->discovery_url ||
		    (config->ca_file && !(is->ca_file = strdup(config->ca_file))))
			return -ENOMEM;
	}
	*ret = TAKE_PTR(is);
	return 0;
}

int
jit_oidc_new(int fetch_timeout_ms, struct jit_oidc **ret_oidc)
{
	if (fetch_timeout_ms <= 0)
		return JIT_ERR_INVALID;
	if (jit_http_init() < 0)
		return JIT_ERR_INTERNAL;
	struct jit_oidc *oidc = calloc(1, sizeof(*oidc));
	if (!oidc)
		return -ENOMEM;
	oidc->fetch_timeout_ms = fetch_timeout_ms;
	*ret_oidc = oidc;
	return 0;
}

void
jit_oidc_free(struct jit_oidc *oidc)
{
	if (!oidc)
		return;
	for (size_t i = 0; i < oidc->issuer_count; i++)
		issuer_free(oidc->issuers[i]);
	free(oidc);
}

int
jit_oidc_add_issuer(struct jit_oidc *oidc, const struct jit_issuer_config *config)
{
	struct auth_issuer *is = NULL;
	int r = issuer_new(oidc, config, false, &is);
	if (r < 0)
		return r;
	oidc->issuers[oidc->issuer_count++] = is;
	return 0;
}

int
jit_oidc_add_static_issuer(struct jit_oidc *oidc, const struct jit_issuer_config *config,
                           const json_t *jwks)
{
	if (!json_is_object(jwks))
		return JIT_ERR_INVALID;
	_cleanup_(issuer_freep) struct auth_issuer *is = NULL;
	int r = issuer_new(oidc, config, true, &is);
	if (r < 0)
		return r;
	if ((r = keyset_from_jwks(jwks, &is->keys, NULL, 0)) < 0)
		return r;
	is->fetched = true;
	oidc->issuers[oidc->issuer_count++] = TAKE_PTR(is);
	return 0;
}

/* ---- tokens ---------------------------------------------------------------------------- */

static void
cjose_jwk_releasep(cjose_jwk_t **p)
{
	cjose_jwk_release(*p);
}

/* Verifies the signature with `key` and returns the verified claims (new reference). */
static int
verify_signature(const char *text, const struct jit_jwt_unverified *t, const struct auth_key *key,
                 json_t **ret_claims, char *error, size_t error_size)
{
	/* Pin the algorithm: the key's own, or the one its type implies. cjose would also
	 * refuse HS* with a public key and none, but the header's choice is never trusted. */
	const char *expected = key->alg ? key->alg : family_default_algorithm(key->family);
	if (strcmp(t->alg, expected) != 0 || !algorithm_fits(t->alg, key->family))
		return jit_deny(error, error_size, "algorithm does not match the key");

	cjose_err err;
	_cleanup_(cjose_jwk_releasep) cjose_jwk_t *jwk =
	        cjose_jwk_import(key->json, strlen(key->json), &err);
	if (!jwk) {
		jit_set_error(error, error_size, "cannot use the issuer's key");
		return JIT_ERR_INTERNAL;
	}
	_cleanup_(jit_cjose_jws_releasep) cjose_jws_t *jws =
	        cjose_jws_import(text, t->length, &err);
	if (!jws)
		return jit_deny(error, error_size, "malformed token");
	/* cjose verifies with the alg it parsed itself: it must be the one pinned above. */
	const char *parsed_alg =
	        cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &err);
	if (!parsed_alg || strcmp(parsed_alg, expected) != 0)
		return jit_deny(error, error_size, "algorithm does not match the key");
	if (!cjose_jws_verify(jws, jwk, &err))
		return jit_deny(error, error_size, "bad signature");
	uint8_t *plaintext = NULL;
	size_t plaintext_len = 0;
	if (!cjose_jws_get_plaintext(jws, &plaintext, &plaintext_len, &err))
		return jit_deny(error, error_size, "malformed token");
	json_error_t jerr;
	json_t *claims =
	        json_loadb((const char *)plaintext, plaintext_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(claims)) {
		json_decref(claims);
		return jit_deny(error, error_size, "malformed token payload");
	}
	*ret_claims = claims;
	return 0;
}

/* Copies the groups claim: absent is empty; otherwise an array of at most JIT_MAX_GROUPS
 * strings of at most JIT_AUTH_MAX_GROUP_NAME bytes each. */
static int
copy_groups(const json_t *claim, json_t **ret, char *error, size_t error_size)
{
	_cleanup_json_ json_t *groups = json_array();
	if (!groups)
		return -ENOMEM;
	if (claim) {
		if (!json_is_array(claim))
			return jit_deny(error, error_size,
			                "groups claim must be an array of strings");
		if (json_array_size(claim) > JIT_MAX_GROUPS)
			return jit_deny(error, error_size, "too many groups");
		size_t i;
		json_t *item;
		json_array_foreach(claim, i, item)
		{
			if (!jit_jwt_text(item, JIT_AUTH_MAX_GROUP_NAME))
				return jit_deny(error, error_size,
				                "groups claim must be an array of strings");
			int r = jit_identity_check_name("groups", json_string_value(item), error,
			                                error_size);
			if (r < 0)
				return r;
			if (json_array_append_new(groups, json_string(json_string_value(item))) < 0)
				return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(groups);
	return 0;
}

static bool
email_unverified(const json_t *claims)
{
	const json_t *v = json_object_get(claims, "email_verified");
	/* Some providers send the boolean as a string. */
	return json_is_false(v) ||
	       (json_is_string(v) && strcmp(json_string_value(v), "false") == 0);
}

/* Checks the verified claims at time `now` and fills *ret. */
static int
check_claims(const struct auth_issuer *is, const json_t *claims, int64_t now,
             struct jit_identity *ret, char *error, size_t error_size)
{
	const json_t *iss = json_object_get(claims, "iss");
	if (!json_is_string(iss) || strcmp(json_string_value(iss), is->issuer) != 0)
		return jit_deny(error, error_size, "wrong issuer");
	if (!jit_jwt_audience_matches(json_object_get(claims, "aud"), is->audience))
		return jit_deny(error, error_size, "wrong audience");

	const int64_t skew = (int64_t)JIT_AUTH_SKEW_SECONDS * NS_PER_SECOND;
	int64_t exp, nbf, iat;
	int r = jit_jwt_claim_time(claims, "exp", &exp);
	if (r == JIT_ERR_NOT_FOUND)
		return jit_deny(error, error_size, "missing exp claim");
	if (r < 0)
		return jit_deny(error, error_size, "exp claim is not a valid time");
	if (now >= exp * NS_PER_SECOND + skew)
		return jit_deny(error, error_size, "token expired");
	r = jit_jwt_claim_time(claims, "nbf", &nbf);
	if (r != JIT_ERR_NOT_FOUND) {
		if (r < 0)
			return jit_deny(error, error_size, "nbf claim is not a valid time");
		if (now < nbf * NS_PER_SECOND - skew)
			return jit_deny(error, error_size, "token not yet valid");
	}
	r = jit_jwt_claim_time(claims, "iat", &iat);
	if (r != JIT_ERR_NOT_FOUND) {
		if (r < 0)
			return jit_deny(error, error_size, "iat claim is not a valid time");
		if (iat * NS_PER_SECOND - skew > now)
			return jit_deny(error, error_size, "token issued in the future");
	}

	const json_t *email = json_object_get(claims, is->email_claim);
	if (!email)
		return jit_deny(error, error_size, "missing email claim");
	if (!jit_jwt_text(email, JIT_MAX_IDENTITY))
		return jit_deny(error, error_size, "email claim must be a non-empty string");
	if ((r = jit_identity_check_name(is->email_claim, json_string_value(email), error,
	                                 error_size)) < 0)
		return r;
	if (strcmp(is->email_claim, "email") == 0 && email_unverified(claims))
		return jit_deny(error, error_size, "email not verified");
	const json_t *sub = json_object_get(claims, "sub");
	if (sub && !jit_jwt_text(sub, MAX_SUBJECT))
		return jit_deny(error, error_size, "sub claim must be a string");
	if (sub &&
	    (r = jit_identity_check_name("sub", json_string_value(sub), error, error_size)) < 0)
		return r;

	struct jit_identity identity = { .expires_at = exp * NS_PER_SECOND };
	if ((r = copy_groups(json_object_get(claims, is->groups_claim), &identity.groups, error,
	                     error_size)) < 0)
		return r;
	identity.email = strdup(json_string_value(email));
	identity.subject = sub ? strdup(json_string_value(sub)) : NULL;
	identity.issuer = strdup(is->issuer);
	if (!identity.email || (sub && !identity.subject) || !identity.issuer) {
		jit_identity_clear(&identity);
		return -ENOMEM;
	}
	jit_identity_fold(identity.email);
	*ret = identity;
	return 0;
}

int
jit_oidc_verify(struct jit_oidc *oidc, const char *token, int64_t now, unsigned flags,
                struct jit_identity *ret_identity, char *error, size_t error_size)
{
	if (!oidc || !token || !ret_identity)
		return JIT_ERR_INVALID;
	if (error && error_size > 0)
		error[0] = '\0';

	_cleanup_(jit_jwt_unverified_clear) struct jit_jwt_unverified t = { 0 };
	int r = jit_jwt_parse_unverified(token, &t, error, error_size);
	if (r < 0)
		return r;
	if (!algorithm_known(t.alg))
		return jit_deny(error, error_size, "unsupported algorithm");
	struct auth_issuer *is = NULL;
	for (size_t i = 0; i < oidc->issuer_count && !is; i++)
		if (strcmp(oidc->issuers[i]->issuer, t.iss) == 0)
			is = oidc->issuers[i];
	if (!is)
		return jit_deny(error, error_size, "unknown issuer");

	struct auth_key key = { 0 };
	if ((r = issuer_get_key(oidc, is, t.kid, now, flags, &key, error, error_size)) < 0)
		return r;
	_cleanup_json_ json_t *claims = NULL;
	r = verify_signature(token, &t, &key, &claims, error, error_size);
	auth_key_clear(&key);
	if (r < 0)
		return r;
	return check_claims(is, claims, now, ret_identity, error, error_size);
}
