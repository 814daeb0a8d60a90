/* JOSE helpers shared by the token verifiers, the API's authentication step and the built-in
 * issuer (see jose.h): the unverified split of a compact JWS, claim readers that check type and
 * bounds, and P-256 keys moved from OpenSSL to cjose. Allocates only the JSON and the JWK it
 * returns; wipes private scalars it copies. */
#include "server/auth/jose.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "lib/common/base64url.h"
#include "lib/common/errors.h"
#include "server/auth/identity.h"

void
jit_set_error(char *error, size_t error_size, const char *fmt, ...)
{
	if (!error || error_size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error, error_size, fmt, ap);
	va_end(ap);
}

/* Decodes one base64url token segment holding a JSON object. */
static int
decode_json_segment(const char *text, size_t len, json_t **ret)
{
	size_t size = jit_base64url_decoded_length(len);
	_cleanup_free_ uint8_t *bytes = malloc(size ? size : 1);
	size_t n = 0;
	if (!bytes)
		return -ENOMEM;
	if (jit_base64url_decode(text, len, bytes, size, &n) < 0)
		return JIT_ERR_INVALID;
	json_error_t jerr;
	json_t *json = json_loadb((const char *)bytes, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(json)) {
		json_decref(json);
		return JIT_ERR_INVALID;
	}
	*ret = json;
	return 0;
}

void
jit_jwt_unverified_clear(struct jit_jwt_unverified *t)
{
	if (!t)
		return;
	json_decref(t->header);
	json_decref(t->claims);
	*t = (struct jit_jwt_unverified){ 0 };
}

/* Fills *t as it goes; the caller clears it whatever the result. */
static int
parse_unverified(const char *text, struct jit_jwt_unverified *t, char *error, size_t error_size)
{
	size_t len = strnlen(text, JIT_AUTH_MAX_TOKEN + 1);
	if (len > JIT_AUTH_MAX_TOKEN)
		return jit_deny(error, error_size, "token too long");
	const char *dot1 = memchr(text, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - text)) : NULL;
	if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - text)) ||
	    dot1 == text || dot2 == dot1 + 1 || dot2 + 1 == text + len)
		return jit_deny(error, error_size, "malformed token");
	/* The signature is decoded by cjose, which is lenient (it takes padding): one encoding
	 * of a token is accepted, not several. */
	if (!jit_base64url_valid(dot2 + 1, len - (size_t)(dot2 + 1 - text)))
		return jit_deny(error, error_size, "malformed token signature");
	int r;
	t->length = len;
	if ((r = decode_json_segment(text, (size_t)(dot1 - text), &t->header)) < 0 ||
	    (r = decode_json_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1), &t->claims)) < 0) {
		if (r == -ENOMEM)
			return r;
		return jit_deny(error, error_size, "malformed token");
	}
	const json_t *alg = json_object_get(t->header, "alg");
	const json_t *kid = json_object_get(t->header, "kid");
	if (!json_is_string(alg) || (kid && !jit_jwt_text(kid, JIT_JWT_MAX_KID)))
		return jit_deny(error, error_size, "malformed token header");
	t->alg = json_string_value(alg);
	t->kid = kid ? json_string_value(kid) : NULL;
	/* No extension is understood, so none may be critical (RFC 7515 §4.1.11). */
	if (json_object_get(t->header, "crit"))
		return jit_deny(error, error_size, "unsupported critical header");
	t->iss = jit_jwt_text(json_object_get(t->claims, "iss"), JIT_JWT_MAX_ISSUER);
	if (!t->iss)
		return jit_deny(error, error_size, "missing iss claim");
	return 0;
}

int
jit_jwt_parse_unverified(const char *text, struct jit_jwt_unverified *ret, char *error,
                         size_t error_size)
{
	struct jit_jwt_unverified t = { 0 };
	int r = parse_unverified(text, &t, error, error_size);
	if (r < 0) {
		jit_jwt_unverified_clear(&t);
		return r;
	}
	*ret = t;
	return 0;
}

int
jit_jwt_claim_time(const json_t *claims, const char *name, int64_t *ret_seconds)
{
	const json_t *v = json_object_get(claims, name);
	int64_t seconds;
	if (!v)
		return JIT_ERR_NOT_FOUND;
	if (json_is_integer(v)) {
		seconds = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!(d >= 0 && d <= (double)JIT_JOSE_MAX_NUMERIC_DATE))
			return JIT_ERR_INVALID;
		seconds = (int64_t)d;
	} else {
		return JIT_ERR_INVALID;
	}
	if (seconds < 0 || seconds > JIT_JOSE_MAX_NUMERIC_DATE)
		return JIT_ERR_INVALID;
	*ret_seconds = seconds;
	return 0;
}

bool
jit_jwt_audience_matches(const json_t *aud, const char *audience)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), audience) == 0;
	if (!json_is_array(aud))
		return false;
	size_t i;
	json_t *item;
	json_array_foreach(aud, i, item)
	{
		if (json_is_string(item) && strcmp(json_string_value(item), audience) == 0)
			return true;
	}
	return false;
}

const char *
jit_jwt_text(const json_t *v, size_t max_len)
{
	if (!json_is_string(v))
		return NULL;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	return n > 0 && n <= max_len && strlen(s) == n ? s : NULL;
}

bool
jit_p256_is(const EVP_PKEY *pkey)
{
	char group[32] = "";
	return pkey && EVP_PKEY_is_a(pkey, "EC") &&
	       EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                      sizeof(group), NULL) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

int
jit_p256_get(const EVP_PKEY *pkey, const char *param, uint8_t out[JIT_P256_SIZE])
{
	BIGNUM *bn = NULL;
	int ok = EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 &&
	         BN_bn2binpad(bn, out, JIT_P256_SIZE) == JIT_P256_SIZE;
	BN_clear_free(bn);
	return ok ? 0 : JIT_ERR_INVALID;
}

int
jit_p256_jwk(const EVP_PKEY *pkey, bool with_private, cjose_jwk_t **ret_jwk,
             uint8_t ret_x[JIT_P256_SIZE], uint8_t ret_y[JIT_P256_SIZE])
{
	uint8_t x[JIT_P256_SIZE], y[JIT_P256_SIZE], d[JIT_P256_SIZE];
	int r = JIT_ERR_INVALID;

	if (!jit_p256_is(pkey) || jit_p256_get(pkey, OSSL_PKEY_PARAM_EC_PUB_X, x) < 0 ||
	    jit_p256_get(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, y) < 0 ||
	    (with_private && jit_p256_get(pkey, OSSL_PKEY_PARAM_PRIV_KEY, d) < 0))
		goto out;
	cjose_jwk_ec_keyspec spec = { .crv = CJOSE_JWK_EC_P_256,
		                      .d = with_private ? d : NULL,
		                      .dlen = with_private ? sizeof(d) : 0,
		                      .x = x,
		                      .xlen = sizeof(x),
		                      .y = y,
		                      .ylen = sizeof(y) };
	cjose_err err;
	cjose_jwk_t *jwk = cjose_jwk_create_EC_spec(&spec, &err);
	if (!jwk) {
		r = JIT_ERR_INTERNAL;
		goto out;
	}
	if (ret_x)
		memcpy(ret_x, x, sizeof(x));
	if (ret_y)
		memcpy(ret_y, y, sizeof(y));
	*ret_jwk = jwk;
	r = 0;
out:
	explicit_bzero(d, sizeof(d));
	return r;
}
