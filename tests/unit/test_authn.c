/* The API's authentication step (server/api/authn.c) as every surface calls it: the
 * Authorization header read (scheme in any case, missing or too long refused with the
 * message the caller sees), an ID token of the built-in issuer and a jump host's token each
 * turned into a caller (default tenant; admin from the configuration, never through a host),
 * refusals as JIT_ERR_UNAUTHENTICATED naming the reason, and an event loop's worker leaving a
 * host token to a thread. Keys are made here; nothing external. */
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
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "lib/json/json.h"
#include "server/api/authn.h"
#include "server/auth/hostauth.h"
#include "server/auth/issuer.h"
#include "server/auth/jose.h"
#include "server/auth/oidc.h"
#include "tests/unit/jws_support.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define ISS "https://jitsudo.test"
#define AUD "jitsudo"

static char dir[] = "/tmp/test_authn.XXXXXX";
static char issuer_key[64], host_key_pem[64];
static struct jit_issuer *issuer;
static cjose_jwk_t *host_jwk; /* private: signs jump1's tokens */
static char *admin_groups[] = { "admins", NULL };
static char *admin_emails[] = { "boss@example.com", NULL };
static struct jit_config config = { .admin_groups = admin_groups, .admin_emails = admin_emails };
static struct jit_server server = { .config = &config };

static int
setup(void **state)
{
	char error[256] = "";
	assert_non_null(mkdtemp(dir));
	snprintf(issuer_key, sizeof(issuer_key), "%s/issuer.pem", dir);
	snprintf(host_key_pem, sizeof(host_key_pem), "%s/jump1.pub", dir);
	assert_int_equal(jit_issuer_generate_key(issuer_key), 0);
	assert_int_equal(jit_issuer_load(issuer_key, ISS, AUD, &issuer, error, sizeof(error)), 0);

	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	assert_non_null(pkey);
	FILE *f = fopen(host_key_pem, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
	fclose(f);
	assert_int_equal(jit_p256_jwk(pkey, true, &host_jwk, NULL, NULL), 0);
	EVP_PKEY_free(pkey);

	struct jit_oidc *oidc = NULL;
	struct jit_hostauth *hosts = NULL;
	const struct jit_issuer_config ic = { .issuer = ISS, .audience = AUD };
	json_t *jwks = jit_issuer_jwks(issuer);
	assert_int_equal(jit_oidc_new(1000, &oidc), 0);
	assert_int_equal(jit_oidc_add_static_issuer(oidc, &ic, jwks), 0);
	json_decref(jwks);
	const char *const identities[] = { "*@example.com", NULL }, *const groups[] = { "sre",
		                                                                        NULL };
	assert_int_equal(jit_hostauth_new(AUD, &hosts), 0);
	assert_int_equal(jit_hostauth_add(hosts, "jump1", host_key_pem, identities, groups, error,
	                                  sizeof(error)),
	                 0);
	assert_int_equal(jit_authn_new(oidc, hosts, &server.authn), 0);
	return 0;
}

static int
teardown(void **state)
{
	jit_authn_free(server.authn);
	jit_issuer_free(issuer);
	cjose_jwk_release(host_jwk);
	unlink(issuer_key);
	unlink(host_key_pem);
	rmdir(dir);
	return 0;
}

/* "Bearer <an ID token of the built-in issuer for email, in groups>", malloc'd. */
static char *
person_header(const char *scheme, const char *email, const char *const *groups, size_t count)
{
	char *token = NULL;
	assert_int_equal(
	        jit_issuer_sign(issuer, email, groups, count, jit_now_realtime_ns(), 300, &token),
	        0);
	size_t size = strlen(scheme) + strlen(token) + 2;
	char *header = malloc(size);
	assert_non_null(header);
	snprintf(header, size, "%s %s", scheme, token);
	free(token);
	return header;
}

/* "Bearer <a token of jump1 acting for sub, asserting the groups sre and admins>". */
static char *
host_header(const char *sub)
{
	static int jti;
	char jti_text[32];
	snprintf(jti_text, sizeof(jti_text), "jti-%d", ++jti);
	json_int_t now = (json_int_t)(jit_now_realtime_ns() / 1000000000LL);
	char *token = test_jws_sign(host_jwk, "ES256", NULL,
	                            json_pack("{s:s,s:s,s:s,s:[s,s],s:I,s:I,s:s}", "iss",
	                                      "jitsudo-host:jump1", "aud", AUD, "sub", sub,
	                                      "groups", "sre", "admins", "iat", now, "exp",
	                                      now + 60, "jti", jti_text));
	size_t size = strlen(token) + 8;
	char *header = malloc(size);
	assert_non_null(header);
	snprintf(header, size, "Bearer %s", token);
	free(token);
	return header;
}

static int
authenticate(bool inline_only, const char *header, struct jit_identity *identity,
             struct jit_caller *caller, struct jit_error *status)
{
	struct jit_worker w = { .server = &server, .inline_only = inline_only };
	const struct jit_credentials credentials = { .authorization = header,
		                                     .authorization_len =
		                                             header ? strlen(header) : 0 };
	memset(identity, 0, sizeof(*identity));
	memset(caller, 0, sizeof(*caller));
	memset(status, 0, sizeof(*status));
	return jit_authn_caller(&w, &credentials, identity, caller, status);
}

static void
expect_unauthenticated(const char *header, const char *message)
{
	struct jit_identity identity;
	struct jit_caller caller;
	struct jit_error status;
	assert_int_equal(authenticate(false, header, &identity, &caller, &status),
	                 JIT_ERR_UNAUTHENTICATED);
	assert_int_equal(status.code, JIT_ERR_UNAUTHENTICATED);
	if (!strstr(status.message, message))
		fail_msg("expected \"%s\" in \"%s\"", message, status.message);
	assert_null(identity.email);
	assert_null(caller.identity);
}

static void
test_missing_or_malformed_header(UNUSED_STATE)
{
	expect_unauthenticated(NULL, "missing bearer token (Authorization: Bearer <ID token>)");
	expect_unauthenticated("", "missing bearer token");
	expect_unauthenticated("Basic YWxpY2U6c2VjcmV0", "missing bearer token");
	expect_unauthenticated("Bearer", "missing bearer token");
	expect_unauthenticated("Bearer ", "invalid token: malformed token");
	expect_unauthenticated("Bearer a.b.c", "invalid token: malformed token");

	size_t size = 7 + JIT_AUTH_MAX_TOKEN + 2;
	char *huge = malloc(size);
	assert_non_null(huge);
	memcpy(huge, "Bearer ", 7);
	memset(huge + 7, 'a', JIT_AUTH_MAX_TOKEN + 1);
	huge[size - 1] = '\0';
	expect_unauthenticated(huge, "token too long");
	free(huge);
}

static void
test_person(UNUSED_STATE)
{
	struct jit_identity identity;
	struct jit_caller caller;
	struct jit_error status;
	const char *const dev[] = { "dev" }, *const admins[] = { "admins" };

	/* The scheme's name in any case. */
	char *h = person_header("bearer", "Alice@Example.com", dev, 1);
	assert_int_equal(authenticate(false, h, &identity, &caller, &status), 0);
	assert_string_equal(identity.email, "alice@example.com");
	assert_ptr_equal(caller.identity, &identity);
	assert_string_equal(caller.tenant_id, JIT_DEFAULT_TENANT_ID);
	assert_false(caller.admin);
	assert_null(caller.host);
	jit_identity_clear(&identity);
	/* On an event loop's worker too: the built-in issuer's keys are at hand. */
	assert_int_equal(authenticate(true, h, &identity, &caller, &status), 0);
	assert_string_equal(identity.email, "alice@example.com");
	jit_identity_clear(&identity);
	free(h);

	h = person_header("Bearer", "carol@example.com", admins, 1);
	assert_int_equal(authenticate(false, h, &identity, &caller, &status), 0);
	assert_true(caller.admin);
	jit_identity_clear(&identity);
	free(h);
	h = person_header("BEARER", "Boss@example.com", dev, 0);
	assert_int_equal(authenticate(false, h, &identity, &caller, &status), 0);
	assert_true(caller.admin);
	jit_identity_clear(&identity);

	/* A token tampered with is refused, with the verifier's reason. */
	h[strlen(h) - 5] = h[strlen(h) - 5] == 'A' ? 'B' : 'A';
	expect_unauthenticated(h, "invalid token: bad signature");
	free(h);
}

static void
test_jump_host(UNUSED_STATE)
{
	struct jit_identity identity;
	struct jit_caller caller;
	struct jit_error status;

	/* On an event loop's worker a host token is left to a thread, not spent. */
	char *h = host_header("boss@example.com");
	assert_int_equal(authenticate(true, h, &identity, &caller, &status), JIT_ERR_WOULD_BLOCK);
	assert_int_equal(status.code, JIT_ERR_WOULD_BLOCK);
	assert_null(identity.email);
	/* On a thread: the user, through the host, with the user's own rights only. */
	assert_int_equal(authenticate(false, h, &identity, &caller, &status), 0);
	assert_string_equal(identity.email, "boss@example.com");
	assert_string_equal(caller.host, "jump1");
	assert_false(caller.admin); /* boss@example.com is an admin, but not through a host */
	assert_true(jit_identity_in_group(&identity, "sre"));
	assert_false(jit_identity_in_group(&identity, "admins"));
	jit_identity_clear(&identity);
	/* Once only. */
	expect_unauthenticated(h, "invalid token: host token already used");
	free(h);

	h = host_header("mallory@elsewhere.test");
	expect_unauthenticated(h, "invalid token: identity not allowed for this host");
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_or_malformed_header),
		cmocka_unit_test(test_person),
		cmocka_unit_test(test_jump_host),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
