/* ID token verification (server/auth/oidc.c): built-in issuer round trip, claims (exp/nbf
 * skew, aud, iss, email, groups), algorithm attacks (none, HS256 with the public key, key-type
 * mismatch), tampering, RS256, and remote issuers served by a tiny HTTP server on 127.0.0.1
 * (lazy fetch, caching, rate-limited refetch, discovery issuer mismatch, timeouts), plus four
 * threads at once; and the verified-token cache of the API's authentication step
 * (server/api/authn.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "lib/common/base64url.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/timeutil.h"
#include "server/api/authn.h"
#include "server/auth/oidc.h"
#include "server/auth/issuer.h"
#include "tests/unit/jws_support.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define NS 1000000000LL
#define NOW_S 1750000000LL
#define NOW (NOW_S * NS)
#define ISS "https://issuer.test"
#define AUD "jitsudo"

/* ---- keys and tokens made by the test --------------------------------------------------- */

struct test_key {
	cjose_jwk_t *jwk;   /* private, signs */
	json_t *public_jwk; /* what a JWKS publishes */
	char *public_pem;   /* SubjectPublicKeyInfo PEM (RSA keys only) */
};

static void
test_key_clear(struct test_key *k)
{
	cjose_jwk_release(k->jwk);
	json_decref(k->public_jwk);
	free(k->public_pem);
	memset(k, 0, sizeof(*k));
}

/* The public JWK of `jwk`, with kid and alg when given. */
static json_t *
public_jwk(cjose_jwk_t *jwk, const char *kid, const char *alg)
{
	cjose_err err;
	char *text = cjose_jwk_to_json(jwk, false, &err);
	assert_non_null(text);
	json_t *j = json_loads(text, 0, NULL);
	cjose_get_dealloc()(text);
	assert_non_null(j);
	json_object_del(j, "kid");
	if (kid)
		json_object_set_new(j, "kid", json_string(kid));
	if (alg)
		json_object_set_new(j, "alg", json_string(alg));
	return j;
}

static void
test_key_ec(struct test_key *k, const char *kid, const char *alg)
{
	cjose_err err;
	k->jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	assert_non_null(k->jwk);
	k->public_jwk = public_jwk(k->jwk, kid, alg);
	k->public_pem = NULL;
}

static size_t
bn_param(EVP_PKEY *pkey, const char *name, uint8_t **ret)
{
	BIGNUM *bn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
	size_t n = (size_t)BN_num_bytes(bn);
	*ret = malloc(n ? n : 1);
	assert_non_null(*ret);
	BN_bn2bin(bn, *ret);
	BN_clear_free(bn);
	return n;
}

/* An RSA key generated with OpenSSL and handed to cjose for signing. */
static void
test_key_rsa(struct test_key *k, unsigned bits, const char *kid, const char *alg)
{
	EVP_PKEY *pkey = EVP_RSA_gen(bits);
	assert_non_null(pkey);
	cjose_jwk_rsa_keyspec spec;
	memset(&spec, 0, sizeof(spec));
	spec.nlen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &spec.n);
	spec.elen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &spec.e);
	spec.dlen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &spec.d);
	spec.plen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &spec.p);
	spec.qlen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, &spec.q);
	spec.dplen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, &spec.dp);
	spec.dqlen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, &spec.dq);
	spec.qilen = bn_param(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &spec.qi);
	cjose_err err;
	k->jwk = cjose_jwk_create_RSA_spec(&spec, &err);
	assert_non_null(k->jwk);
	free(spec.n), free(spec.e), free(spec.d), free(spec.p), free(spec.q);
	free(spec.dp), free(spec.dq), free(spec.qi);
	k->public_jwk = public_jwk(k->jwk, kid, alg);

	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	k->public_pem = strndup(data, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
}

/* {"keys": [...]} of the given keys' public halves. */
static json_t *
jwks_of(const struct test_key *const *keys, size_t count)
{
	json_t *list = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append(list, keys[i]->public_jwk);
	return json_pack("{s:o}", "keys", list);
}

static json_t *
claims_at(const char *iss, int64_t now_s)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:[s,s],s:I,s:I,s:I}", "iss", iss, "aud", AUD, "sub",
	                 "user-123", "email", "alice@example.com", "groups", "admins", "dev", "iat",
	                 (json_int_t)now_s, "nbf", (json_int_t)now_s, "exp",
	                 (json_int_t)(now_s + 3600));
}

static json_t *
claims(void)
{
	return claims_at(ISS, NOW_S);
}

/* Signs `payload` (decref'd here) with cjose under {"alg": alg, "kid": kid}. */
static char *
sign_token(const struct test_key *k, const char *alg, const char *kid, json_t *payload)
{
	return test_jws_sign(k->jwk, alg, kid, payload);
}

static int
verify(struct jit_oidc *auth, const char *token, int64_t now, struct jit_identity *id, char *error,
       size_t error_size)
{
	memset(id, 0, sizeof(*id));
	return jit_oidc_verify(auth, token, now, 0, id, error, error_size);
}

/* Expects a refusal whose reason contains `reason` and does not contain the token. */
static void
expect_denied(struct jit_oidc *auth, const char *token, int64_t now, const char *reason)
{
	struct jit_identity id;
	char error[256] = "";
	int r = verify(auth, token, now, &id, error, sizeof(error));
	if (r != JIT_ERR_DENIED || !strstr(error, reason))
		fail_msg("expected denial \"%s\", got %d \"%s\"", reason, r, error);
	assert_null(id.email);
	if (strlen(token) > 16)
		assert_null(strstr(error, token + strlen(token) - 16));
}

static void
expect_accepted(struct jit_oidc *auth, const char *token, int64_t now)
{
	struct jit_identity id;
	char error[256] = "";
	int r = verify(auth, token, now, &id, error, sizeof(error));
	if (r != 0)
		fail_msg("expected acceptance, got %d \"%s\"", r, error);
	assert_string_equal(id.email, "alice@example.com");
	jit_identity_clear(&id);
}

/* A verifier trusting ISS with the given keys. */
static struct jit_oidc *
static_auth(const struct test_key *const *keys, size_t count)
{
	struct jit_oidc *auth = NULL;
	assert_int_equal(jit_oidc_new(1000, &auth), 0);
	struct jit_issuer_config ic = { .issuer = ISS, .audience = AUD };
	json_t *jwks = jwks_of(keys, count);
	assert_int_equal(jit_oidc_add_static_issuer(auth, &ic, jwks), 0);
	json_decref(jwks);
	return auth;
}

/* Keys made once: RSA generation is slow. */
static struct test_key ec_key, ec_key2, rsa_key;

static int
setup_keys(void **state)
{
	test_key_ec(&ec_key, "ec1", "ES256");
	test_key_ec(&ec_key2, "ec2", NULL);
	test_key_rsa(&rsa_key, 2048, "rsa1", NULL);
	return 0;
}

static int
teardown_keys(void **state)
{
	test_key_clear(&ec_key);
	test_key_clear(&ec_key2);
	test_key_clear(&rsa_key);
	return 0;
}

/* ---- the built-in issuer, end to end ---------------------------------------------------- */

static void
test_issuer_round_trip(UNUSED_STATE)
{
	char dir[] = "/tmp/jit-auth-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/issuer.pem", dir);
	assert_int_equal(jit_issuer_generate_key(path), 0);
	struct jit_issuer *issuer = NULL;
	char error[256];
	assert_int_equal(
	        jit_issuer_load(path, "http://127.0.0.1:8080", AUD, &issuer, error, sizeof(error)),
	        0);
	unlink(path);
	rmdir(dir);

	struct jit_oidc *auth = NULL;
	assert_int_equal(jit_oidc_new(1000, &auth), 0);
	struct jit_issuer_config ic = { .issuer = jit_issuer_url(issuer),
		                        .audience = jit_issuer_audience(issuer) };
	json_t *jwks = jit_issuer_jwks(issuer);
	assert_int_equal(jit_oidc_add_static_issuer(auth, &ic, jwks), 0);
	assert_int_equal(jit_oidc_add_static_issuer(auth, &ic, jwks), JIT_ERR_CONFLICT);
	json_decref(jwks);

	const char *groups[] = { "admins", "oncall" };
	char *token = NULL;
	int64_t now = jit_now_realtime_ns();
	assert_int_equal(jit_issuer_sign(issuer, "bob@example.com", groups, 2, now, 600, &token),
	                 0);

	struct jit_identity id;
	assert_int_equal(verify(auth, token, now, &id, error, sizeof(error)), 0);
	assert_string_equal(id.email, "bob@example.com");
	assert_string_equal(id.subject, "bob@example.com");
	assert_string_equal(id.issuer, "http://127.0.0.1:8080");
	assert_int_equal(json_array_size(id.groups), 2);
	assert_true(jit_identity_in_group(&id, "admins"));
	assert_true(jit_identity_in_group(&id, "oncall"));
	assert_false(jit_identity_in_group(&id, "admin"));
	assert_int_equal(id.expires_at, (now / NS + 600) * NS);
	jit_identity_clear(&id);
	assert_null(id.email);
	jit_identity_clear(&id); /* twice is harmless */

	/* After its lifetime plus the skew, the same token is refused. */
	expect_denied(auth, token, now + (600 + 61) * NS, "token expired");
	free(token);

	/* No groups: an empty array, not NULL. */
	assert_int_equal(jit_issuer_sign(issuer, "bob@example.com", NULL, 0, now, 600, &token), 0);
	assert_int_equal(verify(auth, token, now, &id, error, sizeof(error)), 0);
	assert_non_null(id.groups);
	assert_int_equal(json_array_size(id.groups), 0);
	assert_false(jit_identity_in_group(&id, "admins"));
	jit_identity_clear(&id);
	free(token);

	jit_oidc_free(auth);
	jit_issuer_free(issuer);
}

/* ---- claims ----------------------------------------------------------------------------- */

static void
test_expiry_and_skew(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	json_t *c = claims();
	json_object_set_new(c, "exp", json_integer(NOW_S - 59));
	char *within = sign_token(&ec_key, "ES256", "ec1", c);
	expect_accepted(auth, within, NOW);
	free(within);

	c = claims();
	json_object_set_new(c, "exp", json_integer(NOW_S - 61));
	char *beyond = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, beyond, NOW, "token expired");
	free(beyond);

	c = claims();
	json_object_del(c, "exp");
	char *no_exp = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, no_exp, NOW, "missing exp claim");
	free(no_exp);

	c = claims();
	json_object_set_new(c, "exp", json_string("tomorrow"));
	char *bad_exp = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, bad_exp, NOW, "exp claim is not a valid time");
	free(bad_exp);

	/* A fractional NumericDate is a time too. */
	c = claims();
	json_object_set_new(c, "exp", json_real((double)NOW_S + 100.5));
	char *real_exp = sign_token(&ec_key, "ES256", "ec1", c);
	expect_accepted(auth, real_exp, NOW);
	free(real_exp);
	jit_oidc_free(auth);
}

/* Through the authentication step, whose cache keeps a verified token. */
static int
authn_verify(struct jit_authn *authn, const char *token, int64_t now, char *error,
             size_t error_size)
{
	struct jit_identity id = { 0 };
	int r = jit_authn_verify_token(authn, token, now, 0, &id, error, error_size);
	if (r == 0)
		assert_string_equal(id.email, "alice@example.com");
	else
		assert_null(id.email);
	jit_identity_clear(&id);
	return r;
}

/* A verified token is remembered, but never past its exp (plus skew) nor past 60 s. */
static void
test_verified_token_cache(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_authn *authn = NULL;
	char error[256] = "";
	assert_int_equal(jit_authn_new(static_auth(keys, 1), NULL, &authn), 0);
	json_t *c = claims();
	json_object_set_new(c, "exp", json_integer(NOW_S + 30));
	char *token = sign_token(&ec_key, "ES256", "ec1", c);
	assert_int_equal(authn_verify(authn, token, NOW, error, sizeof(error)), 0);
	/* within exp + skew */
	assert_int_equal(authn_verify(authn, token, NOW + 80 * NS, error, sizeof(error)), 0);
	assert_int_equal(authn_verify(authn, token, NOW + 95 * NS, error, sizeof(error)),
	                 JIT_ERR_DENIED);
	assert_non_null(strstr(error, "token expired"));
	free(token);

	/* A token differing from a cached one in its signature is not a cache hit. */
	c = claims();
	json_object_set_new(c, "exp", json_integer(NOW_S + 3600));
	token = sign_token(&ec_key, "ES256", "ec1", c);
	assert_int_equal(authn_verify(authn, token, NOW, error, sizeof(error)), 0);
	size_t n = strlen(token);
	token[n - 10] = token[n - 10] == 'A' ? 'B' : 'A';
	assert_int_equal(authn_verify(authn, token, NOW, error, sizeof(error)), JIT_ERR_DENIED);
	free(token);
	jit_authn_free(authn);
}

static void
test_not_before_and_issued_at(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	json_t *c = claims();
	json_object_set_new(c, "nbf", json_integer(NOW_S + 120));
	char *future = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, future, NOW, "token not yet valid");
	expect_accepted(auth, future, NOW + 61 * NS);
	free(future);

	c = claims();
	json_object_set_new(c, "nbf", json_integer(NOW_S + 30));
	char *soon = sign_token(&ec_key, "ES256", "ec1", c);
	expect_accepted(auth, soon, NOW);
	free(soon);

	c = claims();
	json_object_del(c, "nbf");
	json_object_set_new(c, "iat", json_integer(NOW_S + 600));
	char *iat = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, iat, NOW, "issued in the future");
	free(iat);
	jit_oidc_free(auth);
}

static void
test_audience(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	json_t *c = claims();
	json_object_set_new(c, "aud", json_string("someone-else"));
	char *t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "wrong audience");
	free(t);

	c = claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "other", AUD));
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_accepted(auth, t, NOW);
	free(t);

	c = claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "other", "jitsud"));
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "wrong audience");
	free(t);

	c = claims();
	json_object_del(c, "aud");
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "wrong audience");
	free(t);
	jit_oidc_free(auth);
}

static void
test_issuer_must_be_trusted(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	/* Signed by a trusted key, but for another issuer. */
	char *t = sign_token(&ec_key, "ES256", "ec1", claims_at("https://evil.test", NOW_S));
	expect_denied(auth, t, NOW, "unknown issuer");
	free(t);
	/* The iss match is exact: no trailing slash, no case folding. */
	t = sign_token(&ec_key, "ES256", "ec1", claims_at(ISS "/", NOW_S));
	expect_denied(auth, t, NOW, "unknown issuer");
	free(t);
	t = sign_token(&ec_key, "ES256", "ec1", claims_at("https://ISSUER.test", NOW_S));
	expect_denied(auth, t, NOW, "unknown issuer");
	free(t);
	json_t *c = claims();
	json_object_del(c, "iss");
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "missing iss claim");
	free(t);
	jit_oidc_free(auth);
}

static void
test_email_and_groups_claims(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	json_t *c = claims();
	json_object_del(c, "email");
	char *t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "missing email claim");
	free(t);

	c = claims();
	json_object_set_new(c, "email", json_integer(5));
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "email claim must be");
	free(t);

	c = claims();
	json_object_set_new(c, "email_verified", json_false());
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "email not verified");
	free(t);

	c = claims();
	json_object_set_new(c, "groups", json_string("admins"));
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "groups claim must be an array of strings");
	free(t);

	c = claims();
	json_object_set_new(c, "groups", json_pack("[s,i]", "admins", 7));
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "groups claim must be an array of strings");
	free(t);

	c = claims();
	json_t *many = json_array();
	for (int i = 0; i < 257; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g%d", i);
		json_array_append_new(many, json_string(name));
	}
	json_object_set_new(c, "groups", many);
	t = sign_token(&ec_key, "ES256", "ec1", c);
	expect_denied(auth, t, NOW, "too many groups");
	free(t);

	c = claims();
	json_object_del(c, "groups");
	json_object_del(c, "sub");
	t = sign_token(&ec_key, "ES256", "ec1", c);
	struct jit_identity id;
	char error[128];
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), 0);
	assert_null(id.subject);
	assert_int_equal(json_array_size(id.groups), 0);
	jit_identity_clear(&id);
	free(t);
	jit_oidc_free(auth);

	/* Claim names are configurable. */
	struct jit_oidc *custom = NULL;
	assert_int_equal(jit_oidc_new(1000, &custom), 0);
	struct jit_issuer_config ic = {
		.issuer = ISS, .audience = AUD, .email_claim = "upn", .groups_claim = "roles"
	};
	json_t *jwks = jwks_of(keys, 1);
	assert_int_equal(jit_oidc_add_static_issuer(custom, &ic, jwks), 0);
	json_decref(jwks);
	c = claims();
	json_object_set_new(c, "upn", json_string("carol@example.com"));
	json_object_set_new(c, "roles", json_pack("[s]", "readers"));
	t = sign_token(&ec_key, "ES256", "ec1", c);
	assert_int_equal(verify(custom, t, NOW, &id, error, sizeof(error)), 0);
	assert_string_equal(id.email, "carol@example.com");
	assert_true(jit_identity_in_group(&id, "readers"));
	assert_false(jit_identity_in_group(&id, "admins"));
	jit_identity_clear(&id);
	free(t);
	jit_oidc_free(custom);
}

/* ---- signatures and algorithms ---------------------------------------------------------- */

static void
test_alg_none(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	json_t *c = claims();
	char *payload = json_dumps(c, JSON_COMPACT);
	json_decref(c);

	char *t = test_jws_by_hand("{\"alg\":\"none\",\"kid\":\"ec1\"}", payload, "", 0);
	expect_denied(auth, t, NOW, "malformed token"); /* the empty signature */
	free(t);
	t = test_jws_by_hand("{\"alg\":\"none\",\"kid\":\"ec1\"}", payload, "x", 1);
	expect_denied(auth, t, NOW, "unsupported algorithm");
	free(t);
	t = test_jws_by_hand("{\"alg\":\"NONE\",\"kid\":\"ec1\"}", payload, "x", 1);
	expect_denied(auth, t, NOW, "unsupported algorithm");
	free(t);
	t = test_jws_by_hand("{\"kid\":\"ec1\"}", payload, "x", 1);
	expect_denied(auth, t, NOW, "malformed token header");
	free(t);
	free(payload);
	jit_oidc_free(auth);
}

/* HS256 MAC'd with the bytes of the issuer's public key: a library that trusted the header's
 * alg would check the MAC with the "key" and accept. */
static void
test_hs256_with_public_key(UNUSED_STATE)
{
	const struct test_key *keys[] = { &rsa_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	json_t *c = claims();
	char *payload = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	char *jwk_text = json_dumps(rsa_key.public_jwk, JSON_COMPACT);
	const char *secrets[] = { rsa_key.public_pem, jwk_text };
	for (size_t i = 0; i < 2; i++) {
		char *unsigned_token =
		        test_jws_by_hand("{\"alg\":\"HS256\",\"kid\":\"rsa1\"}", payload, "", 0);
		size_t input_len = strlen(unsigned_token) - 1; /* up to the second dot */
		unsigned char mac[32];
		unsigned int mac_len = 0;
		assert_non_null(HMAC(EVP_sha256(), secrets[i], (int)strlen(secrets[i]),
		                     (const unsigned char *)unsigned_token, input_len, mac,
		                     &mac_len));
		char *sig = test_b64url(mac, mac_len);
		size_t size = input_len + 1 + strlen(sig) + 1;
		char *t = malloc(size);
		snprintf(t, size, "%.*s.%s", (int)input_len, unsigned_token, sig);
		expect_denied(auth, t, NOW, "unsupported algorithm");
		free(t), free(sig), free(unsigned_token);
	}
	free(jwk_text);
	free(payload);
	jit_oidc_free(auth);
}

/* Each key is used with its own algorithm only. */
static void
test_algorithm_pinned_to_key(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key, &ec_key2, &rsa_key };
	struct jit_oidc *auth = static_auth(keys, 3);
	/* RS384 is a fine algorithm, but rsa1 names none, so RS256 is the only one it implies. */
	char *t = sign_token(&rsa_key, "RS384", "rsa1", claims());
	expect_denied(auth, t, NOW, "algorithm does not match the key");
	free(t);
	t = sign_token(&rsa_key, "PS256", "rsa1", claims());
	expect_denied(auth, t, NOW, "algorithm does not match the key");
	free(t);
	/* An RSA-signed token that names an EC key. */
	t = sign_token(&rsa_key, "RS256", "ec1", claims());
	expect_denied(auth, t, NOW, "algorithm does not match the key");
	free(t);
	/* An ES256 token naming the RSA key fails too, even though ES256 is allowed. */
	t = sign_token(&ec_key, "ES256", "rsa1", claims());
	expect_denied(auth, t, NOW, "algorithm does not match the key");
	free(t);
	/* ec2 names no alg: ES256 is implied by P-256. */
	t = sign_token(&ec_key2, "ES256", "ec2", claims());
	expect_accepted(auth, t, NOW);
	free(t);
	/* Signed by ec2's private key but naming ec1: the signature does not verify. */
	t = sign_token(&ec_key2, "ES256", "ec1", claims());
	expect_denied(auth, t, NOW, "bad signature");
	free(t);
	jit_oidc_free(auth);

	/* A JWKS key whose alg does not suit its type is never used. */
	struct test_key odd = { 0 };
	test_key_ec(&odd, "odd", "RS256");
	const struct test_key *odd_keys[] = { &odd };
	struct jit_oidc *a2 = NULL;
	assert_int_equal(jit_oidc_new(1000, &a2), 0);
	struct jit_issuer_config ic = { .issuer = ISS, .audience = AUD };
	json_t *jwks = jwks_of(odd_keys, 1);
	assert_int_equal(jit_oidc_add_static_issuer(a2, &ic, jwks), JIT_ERR_INVALID);
	json_decref(jwks);
	/* Nor is an HMAC key. */
	jwks = json_pack("{s:[{s:s,s:s,s:s}]}", "keys", "kty", "oct", "k", "c2VjcmV0", "kid", "h");
	assert_int_equal(jit_oidc_add_static_issuer(a2, &ic, jwks), JIT_ERR_INVALID);
	json_decref(jwks);
	jit_oidc_free(a2);
	test_key_clear(&odd);
}

static void
test_rs256(UNUSED_STATE)
{
	const struct test_key *keys[] = { &rsa_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	char *t = sign_token(&rsa_key, "RS256", "rsa1", claims());
	expect_accepted(auth, t, NOW);
	free(t);
	jit_oidc_free(auth);

	/* An RSA key shorter than 2048 bits is not trusted. */
	struct test_key small = { 0 };
	test_key_rsa(&small, 1024, "small", "RS256");
	const struct test_key *small_keys[] = { &small };
	struct jit_oidc *a2 = NULL;
	assert_int_equal(jit_oidc_new(1000, &a2), 0);
	struct jit_issuer_config ic = { .issuer = ISS, .audience = AUD };
	json_t *jwks = jwks_of(small_keys, 1);
	assert_int_equal(jit_oidc_add_static_issuer(a2, &ic, jwks), JIT_ERR_INVALID);
	json_decref(jwks);
	jit_oidc_free(a2);
	test_key_clear(&small);
}

/* Replaces the payload segment of `token` with `payload` encoded. */
static char *
swap_payload(const char *token, const char *payload)
{
	const char *dot1 = strchr(token, '.'), *dot2 = strrchr(token, '.');
	char *p = test_b64url(payload, strlen(payload));
	size_t size = strlen(token) + strlen(p) + 1;
	char *t = malloc(size);
	snprintf(t, size, "%.*s.%s%s", (int)(dot1 - token), token, p, dot2);
	free(p);
	return t;
}

static void
test_tampering(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key, &rsa_key };
	struct jit_oidc *auth = static_auth(keys, 2);
	const char *signers[] = { "ec1", "rsa1" };
	for (size_t i = 0; i < 2; i++) {
		const struct test_key *k = i == 0 ? &ec_key : &rsa_key;
		char *good = sign_token(k, i == 0 ? "ES256" : "RS256", signers[i], claims());
		expect_accepted(auth, good, NOW);

		json_t *c = claims();
		json_object_set_new(c, "email", json_string("mallory@example.com"));
		char *payload = json_dumps(c, JSON_COMPACT);
		json_decref(c);
		char *t = swap_payload(good, payload);
		expect_denied(auth, t, NOW, "bad signature");
		free(t), free(payload);

		/* One character of the signature changed. */
		char *flipped = strdup(good);
		char *sig = strrchr(flipped, '.') + 5;
		*sig = *sig == 'A' ? 'B' : 'A';
		expect_denied(auth, flipped, NOW, "bad signature");
		free(flipped);

		/* The signature cut short. */
		char *cut = strdup(good);
		cut[strlen(cut) - 4] = '\0';
		expect_denied(auth, cut, NOW, "");
		free(cut);
		free(good);
	}
	jit_oidc_free(auth);
}

static void
test_key_ids(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key, &ec_key2 };
	struct jit_oidc *auth = static_auth(keys, 2);
	char *t = sign_token(&ec_key, "ES256", "nope", claims());
	expect_denied(auth, t, NOW, "unknown key id");
	free(t);
	/* Without a kid, two keys are ambiguous. */
	t = sign_token(&ec_key, "ES256", NULL, claims());
	expect_denied(auth, t, NOW, "token has no key id");
	jit_oidc_free(auth);

	/* With one key, a token without kid uses it. */
	const struct test_key *one[] = { &ec_key };
	auth = static_auth(one, 1);
	expect_accepted(auth, t, NOW);
	free(t);
	t = sign_token(&ec_key2, "ES256", NULL, claims());
	expect_denied(auth, t, NOW, "bad signature");
	free(t);
	jit_oidc_free(auth);
}

static void
test_malformed_tokens(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct jit_oidc *auth = static_auth(keys, 1);
	char *good = sign_token(&ec_key, "ES256", "ec1", claims());
	const char *bad[] = { "",     "abc",  "a.b",         "a.b.c.d",   ".b.c",
		              "a..c", "a.b.", "e30.e30.e30", "eyJ.e30.AA" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_denied(auth, bad[i], NOW, "malformed token");

	/* Padding and characters outside base64url. */
	size_t n = strlen(good);
	char *padded = malloc(n + 3);
	const char *dot1 = strchr(good, '.');
	snprintf(padded, n + 3, "%.*s==%s", (int)(dot1 - good), good, dot1);
	expect_denied(auth, padded, NOW, "malformed token");
	free(padded);
	char *plus = strdup(good);
	plus[3] = '+';
	expect_denied(auth, plus, NOW, "malformed token");
	free(plus);

	/* A JSON array where an object belongs, and duplicate claims. */
	char *t = test_jws_by_hand("{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "[1]", "x", 1);
	expect_denied(auth, t, NOW, "malformed token");
	free(t);
	t = test_jws_by_hand("{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
	                     "{\"iss\":\"https://evil.test\",\"iss\":\"" ISS "\"}", "x", 1);
	expect_denied(auth, t, NOW, "malformed token");
	free(t);
	t = test_jws_by_hand("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"crit\":[\"b64\"]}",
	                     "{\"iss\":\"" ISS "\"}", "x", 1);
	expect_denied(auth, t, NOW, "unsupported critical header");
	free(t);

	/* Too long. */
	char *huge = malloc(JIT_AUTH_MAX_TOKEN + 2);
	memset(huge, 'a', JIT_AUTH_MAX_TOKEN + 1);
	huge[JIT_AUTH_MAX_TOKEN + 1] = '\0';
	expect_denied(auth, huge, NOW, "token too long");
	free(huge);
	free(good);
	jit_oidc_free(auth);
}

/* ---- a remote issuer on 127.0.0.1 -------------------------------------------------------- */

struct fake_idp {
	int listen_fd;
	pthread_t thread;
	atomic_bool stop;
	char url[64];
	pthread_mutex_t lock; /* guards what follows */
	char *discovery;      /* body served at /.well-known/openid-configuration */
	char *jwks;           /* body served at /jwks */
	int discovery_status;
	int jwks_status;
	size_t big_size; /* > 0: /jwks serves this many bytes */
	int discovery_fetches;
	int jwks_fetches;
};

static int
listen_local(uint16_t *ret_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

static void
send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void
idp_serve(struct fake_idp *idp, int fd)
{
	char request[4096];
	size_t len = 0;
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < sizeof(request) - 1) {
		ssize_t n = recv(fd, request + len, sizeof(request) - 1 - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		request[len] = '\0';
		if (strstr(request, "\r\n\r\n"))
			break;
	}
	int status = 404;
	char *body = NULL;
	size_t body_len = 0;
	pthread_mutex_lock(&idp->lock);
	if (strncmp(request, "GET /.well-known/openid-configuration ", 38) == 0) {
		idp->discovery_fetches++;
		status = idp->discovery_status;
		body = strdup(idp->discovery ? idp->discovery : "{}");
		body_len = strlen(body);
	} else if (strncmp(request, "GET /jwks ", 10) == 0) {
		idp->jwks_fetches++;
		status = idp->jwks_status;
		if (idp->big_size) {
			body = malloc(idp->big_size);
			memset(body, ' ', idp->big_size);
			body[0] = '{';
			body[idp->big_size - 1] = '}';
			body_len = idp->big_size;
		} else {
			body = strdup(idp->jwks ? idp->jwks : "{}");
			body_len = strlen(body);
		}
	}
	pthread_mutex_unlock(&idp->lock);
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                 status, body_len);
	send_all(fd, head, (size_t)n);
	if (body)
		send_all(fd, body, body_len);
	free(body);
}

static void *
idp_thread(void *arg)
{
	struct fake_idp *idp = arg;
	while (!atomic_load(&idp->stop)) {
		struct pollfd p = { .fd = idp->listen_fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int fd = accept4(idp->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		idp_serve(idp, fd);
		close(fd);
	}
	return NULL;
}

/* Serves discovery for `issuer` (NULL: its own URL) and the JWKS of `keys`. */
static void
idp_start(struct fake_idp *idp, const char *issuer, const struct test_key *const *keys,
          size_t count)
{
	memset(idp, 0, sizeof(*idp));
	uint16_t port;
	idp->listen_fd = listen_local(&port);
	snprintf(idp->url, sizeof(idp->url), "http://127.0.0.1:%u", port);
	pthread_mutex_init(&idp->lock, NULL);
	idp->discovery_status = 200;
	idp->jwks_status = 200;
	char jwks_uri[96];
	snprintf(jwks_uri, sizeof(jwks_uri), "%s/jwks", idp->url);
	json_t *d =
	        json_pack("{s:s,s:s}", "issuer", issuer ? issuer : idp->url, "jwks_uri", jwks_uri);
	idp->discovery = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	json_t *j = jwks_of(keys, count);
	idp->jwks = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(pthread_create(&idp->thread, NULL, idp_thread, idp), 0);
}

static void
idp_set_keys(struct fake_idp *idp, const struct test_key *const *keys, size_t count)
{
	json_t *j = jwks_of(keys, count);
	pthread_mutex_lock(&idp->lock);
	free(idp->jwks);
	idp->jwks = json_dumps(j, JSON_COMPACT);
	pthread_mutex_unlock(&idp->lock);
	json_decref(j);
}

static void
idp_counts(struct fake_idp *idp, int *discovery, int *jwks)
{
	pthread_mutex_lock(&idp->lock);
	*discovery = idp->discovery_fetches;
	*jwks = idp->jwks_fetches;
	pthread_mutex_unlock(&idp->lock);
}

static void
idp_stop(struct fake_idp *idp)
{
	atomic_store(&idp->stop, true);
	pthread_join(idp->thread, NULL);
	close(idp->listen_fd);
	free(idp->discovery);
	free(idp->jwks);
	pthread_mutex_destroy(&idp->lock);
}

static struct jit_oidc *
remote_auth(const char *issuer, int timeout_ms)
{
	struct jit_oidc *auth = NULL;
	assert_int_equal(jit_oidc_new(timeout_ms, &auth), 0);
	struct jit_issuer_config ic = { .issuer = issuer, .audience = AUD };
	assert_int_equal(jit_oidc_add_issuer(auth, &ic), 0);
	return auth;
}

static void
expect_counts(struct fake_idp *idp, int discovery, int jwks)
{
	int d, j;
	idp_counts(idp, &d, &j);
	if (d != discovery || j != jwks)
		fail_msg("expected %d discovery and %d JWKS fetches, got %d and %d", discovery,
		         jwks, d, j);
}

/* An event loop's verification never fetches: it says so and changes nothing, and a thread's
 * verification then fetches; once the keys are known the loop verifies on its own. */
static void
test_no_wait_never_fetches(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct fake_idp idp;
	idp_start(&idp, NULL, keys, 1);
	struct jit_oidc *auth = remote_auth(idp.url, 2000);
	char *t = sign_token(&ec_key, "ES256", "ec1", claims_at(idp.url, NOW_S));
	struct jit_identity id = { 0 };
	char error[160] = "";
	assert_int_equal(jit_oidc_verify(auth, t, NOW, JIT_OIDC_NO_WAIT, &id, error, sizeof(error)),
	                 JIT_ERR_WOULD_BLOCK);
	assert_null(id.email);
	expect_counts(&idp, 0, 0);
	expect_accepted(auth, t, NOW);
	expect_counts(&idp, 1, 1);
	char *t2 = sign_token(&ec_key, "ES256", "ec1", claims_at(idp.url, NOW_S + 1));
	assert_int_equal(
	        jit_oidc_verify(auth, t2, NOW + NS, JIT_OIDC_NO_WAIT, &id, error, sizeof(error)),
	        0);
	assert_string_equal(id.email, "alice@example.com");
	jit_identity_clear(&id);
	/* An unknown kid past the refetch interval would fetch: not on the loop. */
	char *t3 = sign_token(&ec_key, "ES256", "ec9", claims_at(idp.url, NOW_S));
	assert_int_equal(jit_oidc_verify(auth, t3, NOW + 40 * NS, JIT_OIDC_NO_WAIT, &id, error,
	                                 sizeof(error)),
	                 JIT_ERR_WOULD_BLOCK);
	expect_counts(&idp, 1, 1);
	free(t);
	free(t2);
	free(t3);
	jit_oidc_free(auth);
	idp_stop(&idp);
}

static void
test_remote_fetch_cache_refetch(UNUSED_STATE)
{
	const struct test_key *first[] = { &ec_key };
	struct fake_idp idp;
	idp_start(&idp, NULL, first, 1);
	struct jit_oidc *auth = remote_auth(idp.url, 2000);
	expect_counts(&idp, 0, 0); /* lazily: nothing fetched before the first token */

	char *t1 = sign_token(&ec_key, "ES256", "ec1", claims_at(idp.url, NOW_S));
	expect_accepted(auth, t1, NOW);
	expect_counts(&idp, 1, 1);
	expect_accepted(auth, t1, NOW + NS);
	expect_counts(&idp, 1, 1); /* cached */

	/* A token signed with a key the issuer has not published yet. */
	char *t2 = sign_token(&ec_key2, "ES256", "ec2", claims_at(idp.url, NOW_S));
	expect_denied(auth, t2, NOW + 2 * NS, "unknown key id");
	expect_counts(&idp, 1, 1); /* within 30 s of the last fetch: no refetch */

	const struct test_key *both[] = { &ec_key, &ec_key2 };
	idp_set_keys(&idp, both, 2);
	expect_denied(auth, t2, NOW + 20 * NS, "unknown key id");
	expect_counts(&idp, 1, 1);
	expect_accepted(auth, t2, NOW + 31 * NS); /* refetched: the JWKS only */
	expect_counts(&idp, 1, 2);
	expect_accepted(auth, t1, NOW + 32 * NS);
	expect_accepted(auth, t2, NOW + 33 * NS);
	expect_counts(&idp, 1, 2);

	/* A stream of unknown kids costs one fetch per 30 s, no more. */
	char *t3 = sign_token(&ec_key, "ES256", "ec3", claims_at(idp.url, NOW_S));
	expect_denied(auth, t3, NOW + 40 * NS, "unknown key id");
	expect_counts(&idp, 1, 2);
	for (int i = 0; i < 20; i++)
		expect_denied(auth, t3, NOW + (61 + i) * NS, "unknown key id");
	expect_counts(&idp, 1, 3);

	/* A key that left the JWKS is gone after the next fetch. */
	const struct test_key *second[] = { &ec_key2 };
	idp_set_keys(&idp, second, 1);
	expect_denied(auth, t3, NOW + 100 * NS, "unknown key id");
	expect_counts(&idp, 1, 4);
	expect_denied(auth, t1, NOW + 101 * NS, "unknown key id");
	expect_accepted(auth, t2, NOW + 101 * NS);

	free(t1), free(t2), free(t3);
	jit_oidc_free(auth);
	idp_stop(&idp);
}

static void
test_remote_discovery_issuer_mismatch(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct fake_idp idp;
	idp_start(&idp, "https://someone-else.test", keys, 1);
	struct jit_oidc *auth = remote_auth(idp.url, 2000);
	char *t = sign_token(&ec_key, "ES256", "ec1", claims_at(idp.url, NOW_S));
	struct jit_identity id;
	char error[256] = "";
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	assert_non_null(strstr(error, "another issuer"));
	assert_null(id.email);
	expect_counts(&idp, 1, 0); /* the JWKS it names is never fetched */
	free(t);
	jit_oidc_free(auth);
	idp_stop(&idp);
}

static void
test_remote_bad_responses(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct fake_idp idp;
	idp_start(&idp, NULL, keys, 1);
	char *t = sign_token(&ec_key, "ES256", "ec1", claims_at(idp.url, NOW_S));
	struct jit_identity id;
	char error[256] = "";

	/* A redirect is not followed. */
	idp.discovery_status = 302;
	struct jit_oidc *auth = remote_auth(idp.url, 2000);
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	assert_non_null(strstr(error, "302"));
	/* Within the retry interval the failure is remembered, not refetched. */
	assert_int_equal(verify(auth, t, NOW + NS, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	expect_counts(&idp, 1, 0);
	/* The issuer recovers: the next attempt after the interval succeeds. */
	pthread_mutex_lock(&idp.lock);
	idp.discovery_status = 200;
	pthread_mutex_unlock(&idp.lock);
	expect_accepted(auth, t, NOW + (JIT_OIDC_RETRY_SECONDS + 1) * NS);
	expect_counts(&idp, 2, 1);
	jit_oidc_free(auth);

	/* A JWKS over 1 MiB. */
	pthread_mutex_lock(&idp.lock);
	idp.big_size = 1024 * 1024 + 100;
	pthread_mutex_unlock(&idp.lock);
	auth = remote_auth(idp.url, 2000);
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	assert_non_null(strstr(error, "larger than"));
	jit_oidc_free(auth);

	/* A JWKS that is not JSON, and one with no usable key. */
	pthread_mutex_lock(&idp.lock);
	idp.big_size = 0;
	free(idp.jwks);
	idp.jwks = strdup("not json");
	pthread_mutex_unlock(&idp.lock);
	auth = remote_auth(idp.url, 2000);
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	jit_oidc_free(auth);
	pthread_mutex_lock(&idp.lock);
	free(idp.jwks);
	idp.jwks = strdup("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}");
	pthread_mutex_unlock(&idp.lock);
	auth = remote_auth(idp.url, 2000);
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	assert_non_null(strstr(error, "no usable signing key"));
	jit_oidc_free(auth);

	free(t);
	idp_stop(&idp);
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
test_remote_down(UNUSED_STATE)
{
	struct test_key *k = &ec_key;
	struct jit_identity id;
	char error[256] = "";

	/* Nothing listens on the port. */
	uint16_t port;
	int fd = listen_local(&port);
	close(fd);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	struct jit_oidc *auth = remote_auth(url, 500);
	char *t = sign_token(k, "ES256", "ec1", claims_at(url, NOW_S));
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	assert_non_null(strstr(error, "discovery document"));
	free(t);
	jit_oidc_free(auth);

	/* Something accepts connections but never answers: the fetch timeout bounds the wait. */
	int silent = listen_local(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	auth = remote_auth(url, 300);
	t = sign_token(k, "ES256", "ec1", claims_at(url, NOW_S));
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(verify(auth, t, NOW, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	double took = seconds_since(&start);
	assert_true(took >= 0.25 && took < 2.0);
	/* The next verification fails at once rather than waiting again. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(verify(auth, t, NOW + NS, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	assert_true(seconds_since(&start) < 0.1);
	assert_non_null(strstr(error, "cannot fetch the issuer's keys"));
	free(t);
	jit_oidc_free(auth);
	close(silent);
}

/* ---- threads ---------------------------------------------------------------------------- */

static pthread_barrier_t start_line;

struct worker {
	struct jit_oidc *auth;
	const char *tokens[2];
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(&start_line); /* all four ask for the first fetch at once */
	for (int i = 0; i < 50; i++) {
		struct jit_identity id = { 0 };
		char error[128];
		const char *token = w->tokens[i % 2];
		if (jit_oidc_verify(w->auth, token, NOW, 0, &id, error, sizeof(error)) != 0 ||
		    strcmp(id.email, "alice@example.com") != 0 ||
		    !jit_identity_in_group(&id, "dev"))
			w->failures++;
		jit_identity_clear(&id);
	}
	return NULL;
}

static void
test_concurrent_verification(UNUSED_STATE)
{
	const struct test_key *keys[] = { &ec_key };
	struct fake_idp idp;
	idp_start(&idp, NULL, keys, 1);
	/* One remote issuer (first fetched by whichever thread comes first) and one static. */
	struct jit_oidc *auth = remote_auth(idp.url, 2000);
	struct jit_issuer_config ic = { .issuer = ISS, .audience = AUD };
	const struct test_key *static_keys[] = { &rsa_key };
	json_t *jwks = jwks_of(static_keys, 1);
	assert_int_equal(jit_oidc_add_static_issuer(auth, &ic, jwks), 0);
	json_decref(jwks);
	char *remote = sign_token(&ec_key, "ES256", "ec1", claims_at(idp.url, NOW_S));
	char *local = sign_token(&rsa_key, "RS256", "rsa1", claims());

	struct worker workers[4];
	pthread_t threads[4];
	assert_int_equal(pthread_barrier_init(&start_line, NULL, 4), 0);
	for (int i = 0; i < 4; i++) {
		workers[i] = (struct worker){ .auth = auth, .tokens = { remote, local } };
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].failures, 0);
	}
	pthread_barrier_destroy(&start_line);
	/* The threads that raced for the first fetch shared one. */
	expect_counts(&idp, 1, 1);
	free(remote), free(local);
	jit_oidc_free(auth);
	idp_stop(&idp);
}

static void
test_config_checks(UNUSED_STATE)
{
	struct jit_oidc *auth = NULL;
	assert_int_equal(jit_oidc_new(0, &auth), JIT_ERR_INVALID);
	assert_int_equal(jit_oidc_new(1000, &auth), 0);
	struct jit_issuer_config ic = { .issuer = "", .audience = AUD };
	assert_int_equal(jit_oidc_add_issuer(auth, &ic), JIT_ERR_INVALID);
	ic = (struct jit_issuer_config){ .issuer = ISS };
	assert_int_equal(jit_oidc_add_issuer(auth, &ic), JIT_ERR_INVALID);
	ic = (struct jit_issuer_config){ .issuer = ISS, .audience = AUD };
	assert_int_equal(jit_oidc_add_issuer(auth, &ic), 0);
	assert_int_equal(jit_oidc_add_issuer(auth, &ic), JIT_ERR_CONFLICT);
	json_t *empty = json_pack("{s:[]}", "keys");
	ic.issuer = "https://other.test";
	assert_int_equal(jit_oidc_add_static_issuer(auth, &ic, empty), JIT_ERR_INVALID);
	json_decref(empty);
	/* A verifier with no key for a token's issuer never answers "accepted". */
	char *t = sign_token(&ec_key, "ES256", "ec1", claims_at("https://nobody.test", NOW_S));
	expect_denied(auth, t, NOW, "unknown issuer");
	free(t);
	jit_oidc_free(auth);
	jit_oidc_free(NULL);
}

int
main(void)
{
	/* The remote tests talk to 127.0.0.1 directly. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issuer_round_trip),
		cmocka_unit_test(test_expiry_and_skew),
		cmocka_unit_test(test_verified_token_cache),
		cmocka_unit_test(test_not_before_and_issued_at),
		cmocka_unit_test(test_audience),
		cmocka_unit_test(test_issuer_must_be_trusted),
		cmocka_unit_test(test_email_and_groups_claims),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hs256_with_public_key),
		cmocka_unit_test(test_algorithm_pinned_to_key),
		cmocka_unit_test(test_rs256),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_key_ids),
		cmocka_unit_test(test_malformed_tokens),
		cmocka_unit_test(test_remote_fetch_cache_refetch),
		cmocka_unit_test(test_no_wait_never_fetches),
		cmocka_unit_test(test_remote_discovery_issuer_mismatch),
		cmocka_unit_test(test_remote_bad_responses),
		cmocka_unit_test(test_remote_down),
		cmocka_unit_test(test_concurrent_verification),
		cmocka_unit_test(test_config_checks),
	};
	return cmocka_run_group_tests_name("auth", tests, setup_keys, teardown_keys);
}
