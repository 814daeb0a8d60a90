/* Token making for the unit tests of the token verifiers: a JWS signed by cjose with a chosen
 * header, and one put together by hand from raw parts (for algorithms and signatures no
 * library would produce). Each returns a new string the test frees. */
#ifndef JIT_TESTS_UNIT_JWS_SUPPORT_H
#define JIT_TESTS_UNIT_JWS_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "lib/common/base64url.h"

/* `payload` signed with `jwk` under `alg` (and `kid` unless NULL); payload is decref'd. */
static inline char *
test_jws_sign(cjose_jwk_t *jwk, const char *alg, const char *kid, json_t *payload)
{
	cjose_err err;
	cjose_header_t *h = cjose_header_new(&err);
	assert_true(cjose_header_set(h, CJOSE_HDR_ALG, alg, &err));
	if (kid)
		assert_true(cjose_header_set(h, CJOSE_HDR_KID, kid, &err));
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	cjose_jws_t *jws = cjose_jws_sign(jwk, h, (const uint8_t *)text, strlen(text), &err);
	assert_non_null(jws);
	const char *compact;
	assert_true(cjose_jws_export(jws, &compact, &err));
	char *token = strdup(compact);
	cjose_jws_release(jws);
	cjose_header_release(h);
	free(text);
	return token;
}

static inline char *
test_b64url(const void *data, size_t len)
{
	size_t size = jit_base64url_encoded_length(len) + 1;
	char *out = malloc(size);
	assert_non_null(out);
	assert_int_equal(jit_base64url_encode(data, len, out, size), 0);
	return out;
}

/* header.payload.signature from raw parts, without any library's help. */
static inline char *
test_jws_by_hand(const char *header, const char *payload, const void *sig, size_t sig_len)
{
	char *h = test_b64url(header, strlen(header)), *p = test_b64url(payload, strlen(payload));
	char *s = test_b64url(sig, sig_len);
	size_t size = strlen(h) + strlen(p) + strlen(s) + 3;
	char *t = malloc(size);
	assert_non_null(t);
	snprintf(t, size, "%s.%s.%s", h, p, s);
	free(h), free(p), free(s);
	return t;
}

#endif
