/* Host token verification (server/auth/hostauth.c): a good token, a wrong key, alg none and
 * HS256 with the public key, an unknown host, an identity outside the host's globs, groups the
 * host may not assert, a lifetime over 300 s, a missing jti, a replayed jti (also through the
 * API's authentication step, whose cache must not let it pass twice, and which leaves host
 * tokens to a thread), the replay cache full (refused, not forgotten) and its entries expiring
 * with their tokens. Keys are made here; nothing external. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <stdio.h>
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
#include "server/api/authn.h"
#include "server/auth/hostauth.h"
#include "server/auth/identity.h"
#include "server/auth/oidc.h"
#include "tests/unit/jws_support.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define NS 1000000000LL
#define NOW_S 1750000000LL
#define NOW (NOW_S * NS)
#define AUD "jitsudo"

struct host_key {
	cjose_jwk_t *jwk;  /* private, signs */
	char pem_path[64]; /* the public key, PEM, for jit_hostauth_add */
	char pem[512];     /* the same PEM text */
};

static struct host_key key1, key2;

static void
host_key_make(struct host_key *k)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	assert_non_null(pkey);
	uint8_t x[32], y[32], d[32];
	BIGNUM *bx = NULL, *by = NULL, *bd = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bd), 1);
	assert_int_equal(BN_bn2binpad(bx, x, 32), 32);
	assert_int_equal(BN_bn2binpad(by, y, 32), 32);
	assert_int_equal(BN_bn2binpad(bd, d, 32), 32);
	BN_free(bx), BN_free(by), BN_clear_free(bd);
	cjose_jwk_ec_keyspec spec = { .crv = CJOSE_JWK_EC_P_256,
		                      .d = d,
		                      .dlen = 32,
		                      .x = x,
		                      .xlen = 32,
		                      .y = y,
		                      .ylen = 32 };
	cjose_err err;
	k->jwk = cjose_jwk_create_EC_spec(&spec, &err);
	assert_non_null(k->jwk);
	snprintf(k->pem_path, sizeof(k->pem_path), "/tmp/test_hostauth.XXXXXX");
	int fd = mkstemp(k->pem_path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
	fclose(f);
	f = fopen(k->pem_path, "r");
	size_t n = fread(k->pem, 1, sizeof(k->pem) - 1, f);
	k->pem[n] = '\0';
	fclose(f);
	EVP_PKEY_free(pkey);
}

static int
setup(void **state)
{
	host_key_make(&key1);
	host_key_make(&key2);
	return 0;
}

static int
teardown(void **state)
{
	cjose_jwk_release(key1.jwk);
	cjose_jwk_release(key2.jwk);
	unlink(key1.pem_path);
	unlink(key2.pem_path);
	return 0;
}

/* jump1 (key1): *@example.com, groups sre and dev; jump2 (key2): alice@example.com only, no
 * group. */
static struct jit_hostauth *
hosts(void)
{
	struct jit_hostauth *h = NULL;
	char error[256] = "";
	const char *const ids1[] = { "*@example.com", NULL }, *const groups1[] = { "sre", "dev",
		                                                                   NULL };
	const char *const ids2[] = { "alice@example.com", NULL }, *const none[] = { NULL };
	assert_int_equal(jit_hostauth_new(AUD, &h), 0);
	assert_int_equal(
	        jit_hostauth_add(h, "jump1", key1.pem_path, ids1, groups1, error, sizeof(error)),
	        0);
	assert_int_equal(
	        jit_hostauth_add(h, "jump2", key2.pem_path, ids2, none, error, sizeof(error)), 0);
	return h;
}

static int jti_counter;

/* Claims of a host token at NOW_S for sub, with a fresh jti. */
static json_t *
claims(const char *host, const char *sub)
{
	char iss[64], jti[32];
	snprintf(iss, sizeof(iss), "jitsudo-host:%s", host);
	snprintf(jti, sizeof(jti), "jti-%d", ++jti_counter);
	return json_pack("{s:s,s:s,s:s,s:[s,s,s],s:I,s:I,s:s}", "iss", iss, "aud", AUD, "sub", sub,
	                 "groups", "sre", "admins", "dev", "iat", (json_int_t)NOW_S, "exp",
	                 (json_int_t)(NOW_S + 60), "jti", jti);
}

static char *
sign(const struct host_key *k, const char *alg, json_t *payload)
{
	return test_jws_sign(k->jwk, alg, NULL, payload);
}

/* header.payload.signature from raw parts; payload decref'd. */
static char *
hand_token(const char *header, json_t *payload, const void *sig, size_t sig_len)
{
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	char *t = test_jws_by_hand(header, text, sig, sig_len);
	free(text);
	return t;
}

static int
verify(struct jit_hostauth *h, const char *token, int64_t now, struct jit_identity *id, char *error,
       size_t size)
{
	memset(id, 0, sizeof(*id));
	return jit_hostauth_verify(h, token, now, id, error, size);
}

static void
expect_denied(struct jit_hostauth *h, const char *token, int64_t now, const char *reason)
{
	struct jit_identity id;
	char error[256] = "";
	int r = verify(h, token, now, &id, error, sizeof(error));
	if (r != JIT_ERR_DENIED || !strstr(error, reason))
		fail_msg("expected denial \"%s\", got %d \"%s\"", reason, r, error);
	assert_null(id.email);
}

static void
expect_accepted(struct jit_hostauth *h, const char *token, int64_t now)
{
	struct jit_identity id;
	char error[256] = "";
	int r = verify(h, token, now, &id, error, sizeof(error));
	if (r != 0)
		fail_msg("expected acceptance, got %d \"%s\"", r, error);
	jit_identity_clear(&id);
}

static void
test_good_token(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	char *t = sign(&key1, "ES256", claims("jump1", "bob@example.com"));
	struct jit_identity id;
	char error[256] = "";
	assert_int_equal(verify(h, t, NOW, &id, error, sizeof(error)), 0);
	assert_string_equal(id.email, "bob@example.com");
	assert_string_equal(id.subject, "bob@example.com");
	assert_string_equal(id.host, "jump1");
	assert_string_equal(id.issuer, "jitsudo-host:jump1");
	assert_int_equal(id.expires_at, (NOW_S + 60) * NS);
	jit_identity_clear(&id);
	jit_hostauth_free(h);
	free(t);
}

static void
test_groups_are_filtered(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	/* jump1 may assert sre and dev, not admins. */
	char *t1 = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	struct jit_identity id;
	char error[256] = "";
	assert_int_equal(verify(h, t1, NOW, &id, error, sizeof(error)), 0);
	assert_int_equal(json_array_size(id.groups), 2);
	assert_true(jit_identity_in_group(&id, "sre"));
	assert_true(jit_identity_in_group(&id, "dev"));
	assert_false(jit_identity_in_group(&id, "admins"));
	jit_identity_clear(&id);
	/* jump2 may assert none. */
	char *t2 = sign(&key2, "ES256", claims("jump2", "alice@example.com"));
	assert_int_equal(verify(h, t2, NOW, &id, error, sizeof(error)), 0);
	assert_int_equal(json_array_size(id.groups), 0);
	jit_identity_clear(&id);
	/* A groups claim that is not an array of strings is refused. */
	json_t *c = claims("jump1", "alice@example.com");
	json_object_set_new(c, "groups", json_string("sre"));
	char *t3 = sign(&key1, "ES256", c);
	expect_denied(h, t3, NOW, "groups claim");
	jit_hostauth_free(h);
	free(t1), free(t2), free(t3);
}

static void
test_wrong_key(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	/* jump1's iss, signed with jump2's key. */
	char *t = sign(&key2, "ES256", claims("jump1", "alice@example.com"));
	expect_denied(h, t, NOW, "bad signature");
	jit_hostauth_free(h);
	free(t);
}

static void
test_alg_none_and_hs256(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	char *none = hand_token("{\"alg\":\"none\"}", claims("jump1", "alice@example.com"), "", 0);
	expect_denied(h, none, NOW, "ES256");

	/* HS256 keyed with the host's public key PEM, the classic confusion. */
	json_t *c = claims("jump1", "alice@example.com");
	char *text = json_dumps(c, JSON_COMPACT);
	char *hb = test_b64url("{\"alg\":\"HS256\"}", 15), *pb = test_b64url(text, strlen(text));
	char input[2048];
	snprintf(input, sizeof(input), "%s.%s", hb, pb);
	uint8_t mac[32];
	unsigned mac_len = 0;
	assert_non_null(HMAC(EVP_sha256(), key1.pem, (int)strlen(key1.pem), (const uint8_t *)input,
	                     strlen(input), mac, &mac_len));
	char *hs = hand_token("{\"alg\":\"HS256\"}", c, mac, mac_len);
	expect_denied(h, hs, NOW, "ES256");
	free(text), free(hb), free(pb);

	/* ES256 signature under a header claiming ES384. */
	char *es384 = sign(&key1, "ES384", claims("jump1", "alice@example.com"));
	expect_denied(h, es384, NOW, "ES256");
	jit_hostauth_free(h);
	free(none), free(hs), free(es384);
}

static void
test_unknown_host(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	char *t = sign(&key1, "ES256", claims("jump9", "alice@example.com"));
	expect_denied(h, t, NOW, "unknown host");
	/* No host configured at all. */
	struct jit_identity id;
	char error[256] = "";
	assert_int_equal(verify(NULL, t, NOW, &id, error, sizeof(error)), JIT_ERR_DENIED);
	assert_non_null(strstr(error, "unknown host"));
	jit_hostauth_free(h);
	free(t);
}

static void
test_identity_outside_the_glob(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	const struct {
		const struct host_key *key;
		const char *host, *sub;
	} cases[] = {
		{ &key1, "jump1", "alice@evil.example" },
		{ &key1, "jump1", "alice@example.com.evil" },
		{ &key2, "jump2", "bob@example.com" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = sign(cases[i].key, "ES256", claims(cases[i].host, cases[i].sub));
		expect_denied(h, t, NOW, "identity not allowed");
		free(t);
	}
	jit_hostauth_free(h);
}

static void
test_lifetime_and_times(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	json_t *c = claims("jump1", "alice@example.com");
	json_object_set_new(c, "exp", json_integer(NOW_S + 301));
	char *long_lived = sign(&key1, "ES256", c);
	expect_denied(h, long_lived, NOW, "at most 300 seconds");

	c = claims("jump1", "alice@example.com");
	json_object_set_new(c, "exp", json_integer(NOW_S + 300));
	char *max = sign(&key1, "ES256", c);
	expect_accepted(h, max, NOW);

	char *expired = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	expect_denied(h, expired, NOW + 121 * NS, "expired");

	c = claims("jump1", "alice@example.com");
	json_object_del(c, "exp");
	char *no_exp = sign(&key1, "ES256", c);
	expect_denied(h, no_exp, NOW, "exp");
	jit_hostauth_free(h);
	free(long_lived), free(max), free(expired), free(no_exp);
}

static void
test_missing_jti(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	json_t *c = claims("jump1", "alice@example.com");
	json_object_del(c, "jti");
	char *t = sign(&key1, "ES256", c);
	expect_denied(h, t, NOW, "missing jti");
	c = claims("jump1", "alice@example.com");
	json_object_set_new(c, "jti", json_string(""));
	char *empty = sign(&key1, "ES256", c);
	expect_denied(h, empty, NOW, "missing jti");
	jit_hostauth_free(h);
	free(t), free(empty);
}

static void
test_replay(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	char *t = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	expect_accepted(h, t, NOW);
	expect_denied(h, t, NOW + NS, "already used");
	/* Still refused at the last moment the token could be accepted. */
	expect_denied(h, t, NOW + 119 * NS, "already used");
	/* Another jti is fine; the same jti from another host is that host's own. */
	json_t *c = claims("jump2", "alice@example.com");
	json_object_set_new(c, "jti", json_string("jti-1"));
	char *other_host = sign(&key2, "ES256", c);
	expect_accepted(h, other_host, NOW);
	char *fresh = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	expect_accepted(h, fresh, NOW);
	/* A token refused for another reason takes no place: the same jti, validly signed,
	 * passes afterwards. */
	c = claims("jump1", "alice@example.com");
	json_object_set_new(c, "jti", json_string("shared-id"));
	json_t *c2 = json_deep_copy(c);
	char *forged = sign(&key2, "ES256", c);
	expect_denied(h, forged, NOW, "bad signature");
	char *good = sign(&key1, "ES256", c2);
	expect_accepted(h, good, NOW);
	expect_denied(h, good, NOW, "already used");
	jit_hostauth_free(h);
	free(t), free(other_host), free(fresh), free(forged), free(good);
}

/* Through the authentication step: its verified-token cache must not let a host token pass
 * twice, and an event loop's call leaves a host token to a thread without recording it. */
static void
test_replay_through_the_auth_cache(UNUSED_STATE)
{
	struct jit_oidc *oidc = NULL;
	struct jit_authn *authn = NULL;
	assert_int_equal(jit_oidc_new(1000, &oidc), 0);
	assert_int_equal(jit_authn_new(oidc, hosts(), &authn), 0);
	char *t = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	struct jit_identity id;
	char error[256] = "";
	memset(&id, 0, sizeof(id));
	assert_int_equal(
	        jit_authn_verify_token(authn, t, NOW, JIT_AUTHN_NO_WAIT, &id, error, sizeof(error)),
	        JIT_ERR_WOULD_BLOCK);
	assert_null(id.email);
	assert_int_equal(jit_authn_verify_token(authn, t, NOW, 0, &id, error, sizeof(error)), 0);
	assert_string_equal(id.host, "jump1");
	jit_identity_clear(&id);
	memset(&id, 0, sizeof(id));
	assert_int_equal(jit_authn_verify_token(authn, t, NOW, 0, &id, error, sizeof(error)),
	                 JIT_ERR_DENIED);
	assert_non_null(strstr(error, "already used"));
	assert_null(id.email);
	jit_authn_free(authn);
	free(t);
}

static void
test_replay_cache_full_fails_closed(UNUSED_STATE)
{
	struct jit_hostauth *h = hosts();
	assert_int_equal(jit_hostauth_set_replay_capacity(h, 2), 0);
	char *a = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	char *b = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	char *c = sign(&key1, "ES256", claims("jump1", "alice@example.com"));
	expect_accepted(h, a, NOW);
	expect_accepted(h, b, NOW);
	/* Full of tokens still in force: refused, and a replay is still caught. */
	struct jit_identity id;
	char error[256] = "";
	assert_int_equal(verify(h, c, NOW + NS, &id, error, sizeof(error)), JIT_ERR_UNAVAILABLE);
	assert_non_null(strstr(error, "replay cache full"));
	assert_null(id.email);
	expect_denied(h, a, NOW + 2 * NS, "already used");
	/* Once the first two can no longer be accepted (exp + 60 s of skew), their places are
	 * free again. A token made for that time passes. */
	json_t *later = claims("jump1", "alice@example.com");
	json_object_set_new(later, "iat", json_integer(NOW_S + 120));
	json_object_set_new(later, "exp", json_integer(NOW_S + 180));
	char *d = sign(&key1, "ES256", later);
	expect_accepted(h, d, NOW + 120 * NS);
	assert_int_equal(jit_hostauth_set_replay_capacity(h, 0), JIT_ERR_INVALID);
	jit_hostauth_free(h);
	free(a), free(b), free(c), free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_token),
		cmocka_unit_test(test_groups_are_filtered),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_alg_none_and_hs256),
		cmocka_unit_test(test_unknown_host),
		cmocka_unit_test(test_identity_outside_the_glob),
		cmocka_unit_test(test_lifetime_and_times),
		cmocka_unit_test(test_missing_jti),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_replay_through_the_auth_cache),
		cmocka_unit_test(test_replay_cache_full_fails_closed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
