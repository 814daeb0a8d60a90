/* The io.jwt.* built-ins: decoding, signature verification with certificates, PEM public keys,
 * JWKs and JWK sets, full decode-and-verify with claim checks, and JWS signing. Tokens, keys
 * and claims are untrusted policy data; verification never throws for a bad signature (it
 * answers false) and errors only for malformed input, with OPA's messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/common/errors.h"
#include "lib/rego/builtins_crypto_util.h"
#include "lib/rego/builtins_jwt.h"

JIT_DEFINE_CLEANUP(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
JIT_DEFINE_CLEANUP(OSSL_PARAM *, OSSL_PARAM_free)
JIT_DEFINE_CLEANUP(ECDSA_SIG *, ECDSA_SIG_free)
JIT_DEFINE_CLEANUP(X509 *, X509_free)

/* Most keys a JWK set may hold, and deepest nesting of JWTs followed. */
#define JWT_KEYS_MAX 64
#define JWT_NESTING_MAX 16

/* ---- algorithms -------------------------------------------------------------------------- */

enum jwt_family {
	JWT_HMAC,
	JWT_RSA_PKCS1,
	JWT_RSA_PSS,
	JWT_ECDSA,
	JWT_EDDSA,
};

struct jwt_alg {
	const char *name;
	enum jwt_family family;
	const EVP_MD *(*md)(void);
};

static const struct jwt_alg jwt_algs[] = {
	{ "HS256", JWT_HMAC, EVP_sha256 },      { "HS384", JWT_HMAC, EVP_sha384 },
	{ "HS512", JWT_HMAC, EVP_sha512 },      { "RS256", JWT_RSA_PKCS1, EVP_sha256 },
	{ "RS384", JWT_RSA_PKCS1, EVP_sha384 }, { "RS512", JWT_RSA_PKCS1, EVP_sha512 },
	{ "PS256", JWT_RSA_PSS, EVP_sha256 },   { "PS384", JWT_RSA_PSS, EVP_sha384 },
	{ "PS512", JWT_RSA_PSS, EVP_sha512 },   { "ES256", JWT_ECDSA, EVP_sha256 },
	{ "ES384", JWT_ECDSA, EVP_sha384 },     { "ES512", JWT_ECDSA, EVP_sha512 },
	{ "EdDSA", JWT_EDDSA, NULL },
};

static const struct jwt_alg *
jwt_alg_find(const char *name)
{
	for (size_t i = 0; i < JIT_ARRAY_SIZE(jwt_algs); i++)
		if (strcmp(jwt_algs[i].name, name) == 0)
			return &jwt_algs[i];
	return NULL;
}

/* ---- keys -------------------------------------------------------------------------------- */

/* A verification or signing key: an asymmetric key, or the bytes of an "oct" JWK. */
struct jwt_key {
	EVP_PKEY *pkey;
	bool is_secret;
	const uint8_t *secret;
	size_t secret_len;
	const char *alg; /* "" when the key names no algorithm */
	const char *kid; /* "" when the key has no id */
};

struct jwt_keys {
	struct jwt_key items[JWT_KEYS_MAX];
	size_t length;
	bool present; /* a key constraint was given, even if it yielded no keys */
};

static void
jwt_keys_free(struct jwt_keys *keys)
{
	for (size_t i = 0; i < keys->length; i++)
		EVP_PKEY_free(keys->items[i].pkey);
	keys->length = 0;
}

static const struct rego_value *
object_string(const struct rego_value *object, const char *key)
{
	const struct rego_value *v = rego_object_get_string(object, key, strlen(key));
	return v && v->type == REGO_STRING ? v : NULL;
}

/* A base64url JWK member: accepts either alphabet, with or without padding, as jwx does. */
static int
jwk_bytes(struct rego_arena *arena, const struct rego_value *object, const char *member,
          uint8_t **ret, size_t *ret_len)
{
	const struct rego_value *v = object_string(object, member);
	if (!v)
		return JIT_ERR_NOT_FOUND;
	char *norm = rego_arena_alloc(arena, v->length + 1);
	if (!norm)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < v->length; i++) {
		char c = v->u.string[i];
		if (c == '=')
			continue;
		norm[n++] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	size_t offset;
	return rego_crypto_base64_decode(arena, norm, n, true, false, ret, ret_len, &offset);
}

/* Pushes a JWK member as a big number parameter. */
static int
jwk_push_bn(struct rego_arena *arena, OSSL_PARAM_BLD *bld, const struct rego_value *object,
            const char *member, const char *param, BIGNUM **owned, bool required)
{
	uint8_t *bytes;
	size_t len;
	int r = jwk_bytes(arena, object, member, &bytes, &len);
	if (r == JIT_ERR_NOT_FOUND && !required)
		return 0;
	if (r < 0)
		return r;
	if (len > 4096)
		return JIT_ERR_TOO_LARGE;
	*owned = BN_bin2bn(bytes, (int)len, NULL);
	if (!*owned || OSSL_PARAM_BLD_push_BN(bld, param, *owned) != 1)
		return -ENOMEM;
	return 0;
}

static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, bool private_key)
{
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *pctx =
	        EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;
	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, private_key ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	                      params) != 1)
		return NULL;
	return pkey;
}

static int
jwk_rsa_key(struct rego_arena *arena, const struct rego_value *jwk, EVP_PKEY **ret)
{
	static const struct {
		const char *member, *param;
	} members[] = {
		{ "n", OSSL_PKEY_PARAM_RSA_N },          { "e", OSSL_PKEY_PARAM_RSA_E },
		{ "d", OSSL_PKEY_PARAM_RSA_D },          { "p", OSSL_PKEY_PARAM_RSA_FACTOR1 },
		{ "q", OSSL_PKEY_PARAM_RSA_FACTOR2 },    { "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 },
		{ "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 }, { "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
	};
	BIGNUM *owned[JIT_ARRAY_SIZE(members)] = { NULL };
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	int r = bld ? 0 : -ENOMEM;
	bool private_key = object_string(jwk, "d") != NULL;
	size_t count = private_key ? JIT_ARRAY_SIZE(members) : 2;
	for (size_t i = 0; i < count && r == 0; i++)
		r = jwk_push_bn(arena, bld, jwk, members[i].member, members[i].param, &owned[i],
		                i < 3);
	if (r == 0) {
		*ret = pkey_from_params("RSA", bld, private_key);
		if (!*ret)
			r = JIT_ERR_INVALID;
	}
	for (size_t i = 0; i < JIT_ARRAY_SIZE(owned); i++)
		BN_clear_free(owned[i]);
	return r;
}

static int
jwk_ec_key(struct rego_arena *arena, const struct rego_value *jwk, EVP_PKEY **ret)
{
	const struct rego_value *crv = object_string(jwk, "crv");
	size_t width;
	if (!crv)
		return JIT_ERR_INVALID;
	if (strcmp(crv->u.string, "P-256") == 0)
		width = 32;
	else if (strcmp(crv->u.string, "P-384") == 0)
		width = 48;
	else if (strcmp(crv->u.string, "P-521") == 0)
		width = 66;
	else
		return JIT_ERR_INVALID;
	uint8_t *x, *y;
	size_t xl, yl;
	int r = jwk_bytes(arena, jwk, "x", &x, &xl);
	if (r == 0)
		r = jwk_bytes(arena, jwk, "y", &y, &yl);
	if (r != 0)
		return r == -ENOMEM ? r : JIT_ERR_INVALID;
	if (xl > width || yl > width)
		return JIT_ERR_INVALID;
	uint8_t point[1 + 2 * 66];
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + width - xl, x, xl);
	memcpy(point + 1 + 2 * width - yl, y, yl);
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *d = NULL;
	if (!bld ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv->u.string, 0) !=
	            1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * width) !=
	            1)
		return -ENOMEM;
	r = jwk_push_bn(arena, bld, jwk, "d", OSSL_PKEY_PARAM_PRIV_KEY, &d, false);
	if (r == 0) {
		*ret = pkey_from_params("EC", bld, d != NULL);
		if (!*ret)
			r = JIT_ERR_INVALID;
	}
	BN_clear_free(d);
	return r;
}

static int
jwk_okp_key(struct rego_arena *arena, const struct rego_value *jwk, EVP_PKEY **ret)
{
	const struct rego_value *crv = object_string(jwk, "crv");
	if (!crv || strcmp(crv->u.string, "Ed25519") != 0)
		return JIT_ERR_INVALID;
	uint8_t *bytes;
	size_t len;
	int r = jwk_bytes(arena, jwk, "d", &bytes, &len);
	if (r == 0) {
		*ret = len == 32 ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, bytes, len)
		                 : NULL;
		OPENSSL_cleanse(bytes, len);
		return *ret ? 0 : JIT_ERR_INVALID;
	}
	if (r != JIT_ERR_NOT_FOUND)
		return r == -ENOMEM ? r : JIT_ERR_INVALID;
	r = jwk_bytes(arena, jwk, "x", &bytes, &len);
	if (r < 0)
		return r == -ENOMEM ? r : JIT_ERR_INVALID;
	*ret = len == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, bytes, len) : NULL;
	return *ret ? 0 : JIT_ERR_INVALID;
}

/* One JWK object into a key. On failure reports "<what>" in *ret_error. */
static int
jwk_key(struct rego_arena *arena, const struct rego_value *jwk, struct jwt_key *key,
        const char **ret_error)
{
	memset(key, 0, sizeof(*key));
	key->alg = "";
	key->kid = "";
	if (jwk->type != REGO_OBJECT) {
		*ret_error = "key must be a JSON object";
		return JIT_ERR_INVALID;
	}
	const struct rego_value *kty = object_string(jwk, "kty");
	if (!kty) {
		*ret_error = "required field kty is missing";
		return JIT_ERR_INVALID;
	}
	int r;
	if (strcmp(kty->u.string, "RSA") == 0) {
		r = jwk_rsa_key(arena, jwk, &key->pkey);
	} else if (strcmp(kty->u.string, "EC") == 0) {
		r = jwk_ec_key(arena, jwk, &key->pkey);
	} else if (strcmp(kty->u.string, "OKP") == 0) {
		r = jwk_okp_key(arena, jwk, &key->pkey);
	} else if (strcmp(kty->u.string, "oct") == 0) {
		uint8_t *bytes;
		size_t len;
		r = jwk_bytes(arena, jwk, "k", &bytes, &len);
		if (r == 0) {
			key->secret = bytes;
			key->secret_len = len;
			key->is_secret = true;
		}
	} else {
		*ret_error = "invalid key type from JSON";
		return JIT_ERR_INVALID;
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		*ret_error = "failed to decode key material";
		return JIT_ERR_INVALID;
	}
	const struct rego_value *alg = object_string(jwk, "alg");
	const struct rego_value *kid = object_string(jwk, "kid");
	key->alg = alg ? alg->u.string : "";
	key->kid = kid ? kid->u.string : "";
	return 0;
}

/* jwk.Parse: a JWK or a JWK set ({"keys": [...]}) in JSON text. With `skip_unknown_alg`, keys
 * naming an algorithm OPA does not know are left out (as verification does). Errors are reported
 * through ctx as "<prefix><reason>". */
static int
jwk_parse(struct rego_builtin_ctx *ctx, const char *prefix, const char *text, size_t len,
          bool skip_unknown_alg, struct jwt_keys *keys)
{
	const struct rego_value *json;
	int r = rego_parse_json(ctx->arena, text, len, &json);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r < 0 || json->type != REGO_OBJECT)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%sfailed to unmarshal JWK JSON",
		                          prefix);
	const struct rego_value *set = rego_object_get_string(json, "keys", 4);
	const struct rego_value *const *items = &json;
	size_t count = 1;
	if (set) {
		if (set->type != REGO_ARRAY)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "%sfailed to parse JWK set: keys must be an array", prefix);
		items = set->u.items;
		count = set->length;
	}
	for (size_t i = 0; i < count; i++) {
		struct jwt_key key;
		const char *why = "";
		r = jwk_key(ctx->arena, items[i], &key, &why);
		if (r == -ENOMEM)
			return rego_crypto_oom(ctx);
		if (r < 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%s%s", prefix, why);
		if (skip_unknown_alg && key.alg[0] && !jwt_alg_find(key.alg)) {
			EVP_PKEY_free(key.pkey);
			continue;
		}
		if (keys->length >= JWT_KEYS_MAX) {
			EVP_PKEY_free(key.pkey);
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%stoo many keys", prefix);
		}
		keys->items[keys->length++] = key;
	}
	return 0;
}

/* OPA's getKeysFromCertOrJWK: a PEM certificate or public key, else a JWK or JWK set. */
static int
keys_from_cert_or_jwk(struct rego_builtin_ctx *ctx, const struct rego_value *s,
                      struct jwt_keys *keys)
{
	struct rego_pem_block block;
	const char *rest;
	size_t rest_len;
	keys->present = true;
	int r = rego_crypto_pem_decode(ctx->arena, s->u.string, s->length, &block, &rest,
	                               &rest_len);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r < 0)
		return jwk_parse(ctx, "failed to parse a JWK key (set): ", s->u.string, s->length,
		                 true, keys);
	if (rest_len > 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "extra data after a PEM certificate block");
	const unsigned char *p = block.bytes;
	long len = block.length <= INT32_MAX ? (long)block.length : 0;
	struct jwt_key key = { .alg = "", .kid = "" };
	if (strcmp(block.type, "CERTIFICATE") == 0) {
		_cleanup_(X509_freep) X509 *cert = d2i_X509(NULL, &p, len);
		if (!cert)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "failed to parse a PEM certificate: x509: malformed certificate");
		key.pkey = X509_get_pubkey(cert);
	} else if (strcmp(block.type, "PUBLIC KEY") == 0) {
		key.pkey = d2i_PUBKEY(NULL, &p, len);
		if (!key.pkey)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "failed to parse a PEM public key: asn1: structure "
			        "error");
	} else {
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "failed to extract a Key from the PEM certificate");
	}
	if (!key.pkey)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "failed to parse a PEM certificate: unsupported key");
	keys->items[keys->length++] = key;
	return 0;
}

/* ---- signatures -------------------------------------------------------------------------- */

static bool
pkey_is(const EVP_PKEY *pkey, int id)
{
	return pkey && EVP_PKEY_get_base_id(pkey) == id;
}

/* r||s (each half of the signature) as a DER ECDSA-Sig-Value in the arena. */
static uint8_t *
ecdsa_raw_to_der(struct rego_arena *arena, const uint8_t *sig, size_t sig_len, size_t *ret_len)
{
	size_t half = sig_len / 2;
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
	BIGNUM *s = BN_bin2bn(sig + half, (int)(sig_len - half), NULL);
	if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		return NULL;
	}
	unsigned char *der = NULL;
	int n = i2d_ECDSA_SIG(es, &der);
	if (n <= 0)
		return NULL;
	uint8_t *copy = rego_arena_alloc(arena, (size_t)n);
	if (copy)
		memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*ret_len = (size_t)n;
	return copy;
}

/* Verifies `sig` over `msg` with one key. The key must suit the algorithm's family. With
 * `exact_ecdsa` (jwsbb), an ECDSA signature must be exactly twice the curve size. */
static bool
signature_valid(struct rego_arena *arena, const struct jwt_key *key, const struct jwt_alg *alg,
                const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len,
                bool exact_ecdsa)
{
	if (sig_len > 16384 || msg_len > INT32_MAX)
		return false;
	if (alg->family == JWT_HMAC) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;
		if (!key->is_secret || key->secret_len > INT32_MAX)
			return false;
		if (!HMAC(alg->md(), key->secret, (int)key->secret_len, msg, msg_len, mac,
		          &mac_len))
			return false;
		return mac_len == sig_len && CRYPTO_memcmp(mac, sig, sig_len) == 0;
	}
	const uint8_t *der = sig;
	size_t der_len = sig_len;
	switch (alg->family) {
	case JWT_RSA_PKCS1:
	case JWT_RSA_PSS:
		if (!pkey_is(key->pkey, EVP_PKEY_RSA))
			return false;
		break;
	case JWT_ECDSA: {
		if (!pkey_is(key->pkey, EVP_PKEY_EC))
			return false;
		size_t width = (size_t)(EVP_PKEY_get_bits(key->pkey) + 7) / 8;
		if (exact_ecdsa && sig_len != 2 * width)
			return false;
		der = ecdsa_raw_to_der(arena, sig, sig_len, &der_len);
		if (!der)
			return false;
		break;
	}
	case JWT_EDDSA:
		if (!pkey_is(key->pkey, EVP_PKEY_ED25519) || sig_len != 64)
			return false;
		break;
	default:
		return false;
	}
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	if (!mctx ||
	    EVP_DigestVerifyInit(mctx, &pctx, alg->md ? alg->md() : NULL, NULL, key->pkey) != 1)
		return false;
	if (alg->family == JWT_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
		return false;
	return EVP_DigestVerify(mctx, der, der_len, msg, msg_len) == 1;
}

/* Signs `msg` with the key for `alg` (jwsbb.Sign). Returns 0 with an arena signature, or an
 * error reported through ctx. */
static int
signature_create(struct rego_builtin_ctx *ctx, const struct jwt_key *key, const struct jwt_alg *alg,
                 const uint8_t *msg, size_t msg_len, uint8_t **ret, size_t *ret_len)
{
	if (alg->family == JWT_HMAC) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;
		if (!key->is_secret)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "failed to sign payload: %s requires an oct key",
			                          alg->name);
		if (key->secret_len > INT32_MAX ||
		    !HMAC(alg->md(), key->secret, (int)key->secret_len, msg, msg_len, mac,
		          &mac_len))
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "failed to sign payload");
		*ret = rego_arena_alloc(ctx->arena, mac_len);
		if (!*ret)
			return rego_crypto_oom(ctx);
		memcpy(*ret, mac, mac_len);
		*ret_len = mac_len;
		return 0;
	}
	int want = alg->family == JWT_ECDSA   ? EVP_PKEY_EC
	           : alg->family == JWT_EDDSA ? EVP_PKEY_ED25519
	                                      : EVP_PKEY_RSA;
	if (!pkey_is(key->pkey, want))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "failed to sign payload: key type does not suit %s",
		                          alg->name);
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t sig_len = 0;
	if (!mctx ||
	    EVP_DigestSignInit(mctx, &pctx, alg->md ? alg->md() : NULL, NULL, key->pkey) != 1 ||
	    (alg->family == JWT_RSA_PSS &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
	    EVP_DigestSign(mctx, NULL, &sig_len, msg, msg_len) != 1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "failed to sign payload: unusable %s key", alg->name);
	uint8_t *sig = rego_arena_alloc(ctx->arena, sig_len);
	if (!sig)
		return rego_crypto_oom(ctx);
	if (EVP_DigestSign(mctx, sig, &sig_len, msg, msg_len) != 1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "failed to sign payload: unusable %s key", alg->name);
	if (alg->family != JWT_ECDSA) {
		*ret = sig;
		*ret_len = sig_len;
		return 0;
	}
	/* JWS wants r||s, each as wide as the curve, not DER. */
	size_t width = (size_t)(EVP_PKEY_get_bits(key->pkey) + 7) / 8;
	const unsigned char *p = sig;
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
	uint8_t *raw = rego_arena_alloc(ctx->arena, 2 * width);
	if (!raw)
		return rego_crypto_oom(ctx);
	if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)width) < 0 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + width, (int)width) < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "failed to sign payload");
	*ret = raw;
	*ret_len = 2 * width;
	return 0;
}

/* ---- tokens ------------------------------------------------------------------------------ */

struct jwt_token {
	const char *header, *payload, *signature;
	size_t header_len, payload_len, signature_len;
	const struct rego_value *decoded_header; /* set by jwt_decode_header */
};

/* OPA's decodeJWT: three dot-separated sections. */
static int
jwt_split(struct rego_builtin_ctx *ctx, const char *s, size_t len, struct jwt_token *token)
{
	const char *dots[2];
	size_t count = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '.')
			continue;
		if (count < 2)
			dots[count] = s + i;
		count++;
	}
	if (count == 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "encoded JWT had no period separators");
	if (count != 2)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "encoded JWT must have 3 sections, found %zu", count + 1);
	memset(token, 0, sizeof(*token));
	token->header = s;
	token->header_len = (size_t)(dots[0] - s);
	token->payload = dots[0] + 1;
	token->payload_len = (size_t)(dots[1] - dots[0] - 1);
	token->signature = dots[1] + 1;
	token->signature_len = len - (size_t)(dots[1] + 1 - s);
	return 0;
}

/* OPA's extractJSONObject. */
static int
json_object_parse(struct rego_builtin_ctx *ctx, const char *prefix, const uint8_t *text, size_t len,
                  const struct rego_value **ret)
{
	const struct rego_value *v;
	int r = rego_parse_json(ctx->arena, (const char *)text, len, &v);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%sinvalid JSON", prefix);
	if (v->type != REGO_OBJECT)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "%sdecoded JSON type was not an Object", prefix);
	*ret = v;
	return 0;
}

/* Decodes the header section (decodeHeader and validateJWTHeader). */
static int
jwt_decode_header(struct rego_builtin_ctx *ctx, struct jwt_token *token)
{
	uint8_t *text;
	size_t len;
	int r = rego_crypto_base64url_decode(ctx,
	                                     "JWT header had invalid encoding: ", token->header,
	                                     token->header_len, &text, &len);
	if (r < 0)
		return r;
	if ((r = json_object_parse(ctx, "bad JWT header: ", text, len, &token->decoded_header)) < 0)
		return r;
	if (rego_object_get_string(token->decoded_header, "enc", 3))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "JWT is a JWE object, which is not supported");
	return 0;
}

static int
jwt_decode_signature(struct rego_builtin_ctx *ctx, const struct jwt_token *token, uint8_t **ret,
                     size_t *ret_len)
{
	return rego_crypto_base64url_decode(ctx, "", token->signature, token->signature_len, ret,
	                                    ret_len);
}

/* The registered header parameters (parseTokenHeader). */
struct jwt_header {
	const char *alg, *kid, *typ, *cty;
	const struct rego_value *crit; /* array of strings, or NULL */
	bool critical_unknown;         /* a parameter we do not know is listed in crit */
};

static bool
header_known(const char *name)
{
	return strcmp(name, "alg") == 0 || strcmp(name, "kid") == 0 || strcmp(name, "typ") == 0 ||
	       strcmp(name, "cty") == 0 || strcmp(name, "crit") == 0;
}

static int
jwt_parse_header(struct rego_builtin_ctx *ctx, const struct rego_value *object,
                 struct jwt_header *header)
{
	memset(header, 0, sizeof(*header));
	header->alg = header->kid = header->typ = header->cty = "";
	for (size_t i = 0; i < object->length; i++) {
		const struct rego_value *key = object->u.members[i].key;
		const struct rego_value *value = object->u.members[i].value;
		const char **slot = NULL;
		if (key->type != REGO_STRING)
			continue;
		if (strcmp(key->u.string, "alg") == 0)
			slot = &header->alg;
		else if (strcmp(key->u.string, "kid") == 0)
			slot = &header->kid;
		else if (strcmp(key->u.string, "typ") == 0)
			slot = &header->typ;
		else if (strcmp(key->u.string, "cty") == 0)
			slot = &header->cty;
		if (slot) {
			if (value->type != REGO_STRING)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "%s: must be a string", key->u.string);
			*slot = value->u.string;
		} else if (strcmp(key->u.string, "crit") == 0) {
			if (value->type != REGO_ARRAY)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "crit: must be a list");
			size_t strings = 0;
			for (size_t k = 0; k < value->length; k++)
				strings += value->u.items[k]->type == REGO_STRING;
			if (strings == 0)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "crit: must be a nonempty list");
			header->crit = value;
		}
	}
	for (size_t i = 0; header->crit && i < object->length; i++) {
		const struct rego_value *key = object->u.members[i].key;
		if (key->type != REGO_STRING || header_known(key->u.string))
			continue;
		for (size_t k = 0; k < header->crit->length; k++)
			if (rego_equal(header->crit->u.items[k], key))
				header->critical_unknown = true;
	}
	return 0;
}

/* ---- io.jwt.decode ----------------------------------------------------------------------- */

static int
jwt_decode_string(struct rego_builtin_ctx *ctx, const char *s, size_t len, int depth,
                  const struct rego_value **ret)
{
	struct jwt_token token;
	int r = jwt_split(ctx, s, len, &token);
	if (r == 0)
		r = jwt_decode_header(ctx, &token);
	if (r < 0)
		return r;
	uint8_t *payload;
	size_t payload_len;
	r = rego_crypto_base64url_decode(ctx, "JWT payload had invalid encoding: ", token.payload,
	                                 token.payload_len, &payload, &payload_len);
	if (r < 0)
		return r;
	const struct rego_value *cty = object_string(token.decoded_header, "cty");
	if (cty && strcmp(cty->u.string, "JWT") == 0) {
		/* A nested token; jwt.io quotes it, so quotes are trimmed first. */
		if (depth >= JWT_NESTING_MAX)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "JWT nested too deeply");
		const char *p = (const char *)payload;
		size_t n = payload_len;
		while (n > 0 && (p[0] == '"' || p[0] == '\'')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == '"' || p[n - 1] == '\''))
			n--;
		return jwt_decode_string(ctx, p, n, depth + 1, ret);
	}
	const struct rego_value *claims;
	if ((r = json_object_parse(ctx, "", payload, payload_len, &claims)) < 0)
		return r;
	uint8_t *signature;
	size_t signature_len;
	r = rego_crypto_base64url_decode(ctx,
	                                 "JWT signature had invalid encoding: ", token.signature,
	                                 token.signature_len, &signature, &signature_len);
	if (r < 0)
		return r;
	const struct rego_value *items[3] = {
		token.decoded_header,
		claims,
		rego_crypto_hex_value(ctx->arena, signature, signature_len),
	};
	if (!items[2])
		return rego_crypto_oom(ctx);
	*ret = rego_array(ctx->arena, items, 3);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

REGO_JWT_BUILTIN(decode)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	return jwt_decode_string(ctx, args[0]->u.string, args[0]->length, 0, ret);
}

/* ---- io.jwt.verify_* --------------------------------------------------------------------- */

/* The signing input of a token: "<header>.<payload>" as it appears in the token. */
static const uint8_t *
jwt_signing_input(const struct jwt_token *token, size_t *ret_len)
{
	*ret_len = token->header_len + 1 + token->payload_len;
	return (const uint8_t *)token->header;
}

/* Tries the keys as OPA does: a key whose kid matches the header's is used alone; otherwise
 * every key whose alg is unset or equals the header's. */
static bool
keys_verify(struct rego_arena *arena, const struct jwt_keys *keys, const struct jwt_header *header,
            const struct jwt_alg *alg, const struct jwt_token *token, const uint8_t *sig,
            size_t sig_len, bool exact_ecdsa)
{
	size_t msg_len;
	const uint8_t *msg = jwt_signing_input(token, &msg_len);
	if (header->kid[0]) {
		for (size_t i = 0; i < keys->length; i++)
			if (strcmp(keys->items[i].kid, header->kid) == 0)
				return signature_valid(arena, &keys->items[i], alg, msg, msg_len,
				                       sig, sig_len, exact_ecdsa);
	}
	for (size_t i = 0; i < keys->length; i++) {
		const struct jwt_key *key = &keys->items[i];
		if (key->alg[0] && strcmp(key->alg, header->alg) != 0)
			continue;
		if (signature_valid(arena, key, alg, msg, msg_len, sig, sig_len, exact_ecdsa))
			return true;
	}
	return false;
}

/* io.jwt.verify_<alg>(jwt, certificate): the asymmetric algorithms. */
static int
jwt_verify_asymmetric(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret, const char *alg_name)
{
	const struct jwt_alg *alg = jwt_alg_find(alg_name);
	struct jwt_token token;
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	int r = jwt_split(ctx, args[0]->u.string, args[0]->length, &token);
	if (r < 0)
		return r;
	if (args[1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 2, "string", args[1]);
	_cleanup_(jwt_keys_free) struct jwt_keys keys = { .length = 0 };
	if ((r = keys_from_cert_or_jwk(ctx, args[1], &keys)) < 0)
		return r;
	uint8_t *sig;
	size_t sig_len;
	struct jwt_header header;
	if ((r = jwt_decode_signature(ctx, &token, &sig, &sig_len)) < 0 ||
	    (r = jwt_decode_header(ctx, &token)) < 0 ||
	    (r = jwt_parse_header(ctx, token.decoded_header, &header)) < 0)
		return r;
	*ret = rego_bool(keys_verify(ctx->arena, &keys, &header, alg, &token, sig, sig_len, false));
	return 0;
}

/* io.jwt.verify_hs<bits>(jwt, secret). */
static int
jwt_verify_hmac(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret, const char *alg_name)
{
	const struct jwt_alg *alg = jwt_alg_find(alg_name);
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 2, "string", args[1]);
	struct jwt_token token;
	int r = jwt_split(ctx, args[0]->u.string, args[0]->length, &token);
	if (r < 0)
		return r;
	uint8_t *sig;
	size_t sig_len, msg_len;
	if ((r = jwt_decode_signature(ctx, &token, &sig, &sig_len)) < 0)
		return r;
	const uint8_t *msg = jwt_signing_input(&token, &msg_len);
	struct jwt_key key = { .is_secret = true,
		               .secret = (const uint8_t *)args[1]->u.string,
		               .secret_len = args[1]->length };
	*ret = rego_bool(signature_valid(ctx->arena, &key, alg, msg, msg_len, sig, sig_len, false));
	return 0;
}

#define JWT_VERIFY(suffix, kind, alg)                          \
	REGO_JWT_BUILTIN(verify_##suffix)                      \
	{                                                      \
		return jwt_verify_##kind(ctx, args, ret, alg); \
	}

JWT_VERIFY(rs256, asymmetric, "RS256")
JWT_VERIFY(rs384, asymmetric, "RS384")
JWT_VERIFY(rs512, asymmetric, "RS512")
JWT_VERIFY(ps256, asymmetric, "PS256")
JWT_VERIFY(ps384, asymmetric, "PS384")
JWT_VERIFY(ps512, asymmetric, "PS512")
JWT_VERIFY(es256, asymmetric, "ES256")
JWT_VERIFY(es384, asymmetric, "ES384")
JWT_VERIFY(es512, asymmetric, "ES512")
JWT_VERIFY(eddsa, asymmetric, "EdDSA")
JWT_VERIFY(hs256, hmac, "HS256")
JWT_VERIFY(hs384, hmac, "HS384")
JWT_VERIFY(hs512, hmac, "HS512")

/* ---- io.jwt.decode_verify ---------------------------------------------------------------- */

struct jwt_constraints {
	struct jwt_keys keys;
	const struct rego_value *secret; /* NULL or a string */
	const char *alg, *iss, *aud;     /* "" when not constrained */
	double time_ns;                  /* < 0 when not given */
};

static int
constraint_string(struct rego_builtin_ctx *ctx, const char *name, const struct rego_value *value,
                  const char **slot)
{
	if (value->type != REGO_STRING)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%s constraint: must be a string",
		                          name);
	*slot = value->u.string;
	return 0;
}

static int
constraints_parse(struct rego_builtin_ctx *ctx, const struct rego_value *object,
                  struct jwt_constraints *c)
{
	c->alg = c->iss = c->aud = "";
	c->time_ns = -1;
	for (size_t i = 0; i < object->length; i++) {
		const struct rego_value *key = object->u.members[i].key;
		const struct rego_value *value = object->u.members[i].value;
		const char *name = key->type == REGO_STRING ? key->u.string : "";
		const char *ignored;
		int r = 0;
		if (strcmp(name, "cert") == 0) {
			if (value->type != REGO_STRING)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "cert constraint: must be a string");
			jwt_keys_free(&c->keys);
			r = keys_from_cert_or_jwk(ctx, value, &c->keys);
		} else if (strcmp(name, "secret") == 0) {
			r = constraint_string(ctx, name, value, &ignored);
			c->secret = value;
		} else if (strcmp(name, "alg") == 0) {
			r = constraint_string(ctx, name, value, &c->alg);
		} else if (strcmp(name, "iss") == 0) {
			r = constraint_string(ctx, name, value, &c->iss);
		} else if (strcmp(name, "aud") == 0) {
			r = constraint_string(ctx, name, value, &c->aud);
		} else if (strcmp(name, "time") == 0) {
			if (value->type != REGO_NUMBER)
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "token time constraint: must be a number");
			c->time_ns = rego_number_double(value);
			if (c->time_ns < 0)
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "token time constraint: must not be negative");
		} else {
			struct rego_strbuf sb;
			rego_strbuf_init(&sb, ctx->arena);
			if (key->type != REGO_STRING && rego_format_rego(&sb, key) < 0)
				return rego_crypto_oom(ctx);
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "unknown token validation constraint: %s",
			                          key->type == REGO_STRING ? name : sb.data);
		}
		if (r < 0)
			return r;
	}
	if (c->time_ns < 0)
		c->time_ns = (double)ctx->now_ns;
	int key_constraints = c->keys.present + (c->secret && c->secret->length > 0);
	if (key_constraints > 1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "duplicate key constraints");
	if (key_constraints < 1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "no key constraint");
	return 0;
}

static bool
audience_valid(const struct jwt_constraints *c, const struct rego_value *aud)
{
	if (aud->type == REGO_STRING)
		return strcmp(aud->u.string, c->aud) == 0;
	if (aud->type != REGO_ARRAY)
		return false;
	for (size_t i = 0; i < aud->length; i++)
		if (aud->u.items[i]->type == REGO_STRING &&
		    strcmp(aud->u.items[i]->u.string, c->aud) == 0)
			return true;
	return false;
}

static void
constraints_free(struct jwt_constraints *c)
{
	jwt_keys_free(&c->keys);
}

REGO_JWT_BUILTIN(decode_verify)
{
	if (args[1]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 2, "object", args[1]);
	const struct rego_value *items[3] = { &rego_false_value, &rego_empty_object,
		                              &rego_empty_object };
	const struct rego_value *unverified = rego_array(ctx->arena, items, 3);
	if (!unverified)
		return rego_crypto_oom(ctx);
	_cleanup_(constraints_free) struct jwt_constraints c = { .keys = { .length = 0 } };
	int r = constraints_parse(ctx, args[1], &c);
	if (r < 0)
		return r;
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	const char *encoded = args[0]->u.string;
	size_t encoded_len = args[0]->length;
	struct jwt_token token;
	uint8_t *payload = NULL;
	size_t payload_len = 0;
	for (int depth = 0;; depth++) {
		if (depth > JWT_NESTING_MAX)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "JWT nested too deeply");
		struct jwt_header header;
		if ((r = jwt_split(ctx, encoded, encoded_len, &token)) < 0 ||
		    (r = jwt_decode_header(ctx, &token)) < 0 ||
		    (r = jwt_parse_header(ctx, token.decoded_header, &header)) < 0)
			return r;
		if (!header.alg[0] || header.critical_unknown)
			goto unverified;
		if (c.alg[0] && strcmp(c.alg, header.alg) != 0)
			goto unverified;
		uint8_t *sig;
		size_t sig_len;
		if ((r = jwt_decode_signature(ctx, &token, &sig, &sig_len)) < 0)
			return r;
		const struct jwt_alg *alg = jwt_alg_find(header.alg);
		if (!alg)
			goto unverified;
		bool valid;
		if (c.keys.present) {
			valid = keys_verify(ctx->arena, &c.keys, &header, alg, &token, sig, sig_len,
			                    true);
		} else {
			size_t msg_len;
			const uint8_t *msg = jwt_signing_input(&token, &msg_len);
			struct jwt_key key = { .is_secret = true,
				               .secret = (const uint8_t *)c.secret->u.string,
				               .secret_len = c.secret->length };
			valid = signature_valid(ctx->arena, &key, alg, msg, msg_len, sig, sig_len,
			                        true);
		}
		if (!valid)
			goto unverified;
		r = rego_crypto_base64url_decode(
		        ctx, "JWT payload had invalid encoding: ", token.payload, token.payload_len,
		        &payload, &payload_len);
		if (r < 0)
			return r;
		if (strcasecmp(header.cty, "JWT") != 0)
			break;
		encoded = (const char *)payload;
		encoded_len = payload_len;
	}
	const struct rego_value *claims;
	if ((r = json_object_parse(ctx, "", payload, payload_len, &claims)) < 0)
		return r;

	if (c.iss[0]) {
		const struct rego_value *iss = object_string(claims, "iss");
		if (!iss || strcmp(iss->u.string, c.iss) != 0)
			goto unverified;
	}
	const struct rego_value *aud = rego_object_get_string(claims, "aud", 3);
	if (aud ? !audience_valid(&c, aud) : c.aud[0] != '\0')
		goto unverified;
	double now_s = c.time_ns / 1e9;
	const struct rego_value *exp = rego_object_get_string(claims, "exp", 3);
	if (exp) {
		if (exp->type != REGO_NUMBER)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "exp value must be a number");
		if (!(now_s < rego_number_double(exp)))
			goto unverified;
	}
	const struct rego_value *nbf = rego_object_get_string(claims, "nbf", 3);
	if (nbf) {
		if (nbf->type != REGO_NUMBER)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "nbf value must be a number");
		if (now_s < rego_number_double(nbf))
			goto unverified;
	}
	items[0] = &rego_true_value;
	items[1] = token.decoded_header;
	items[2] = claims;
	*ret = rego_array(ctx->arena, items, 3);
	return *ret ? 0 : rego_crypto_oom(ctx);
unverified:
	*ret = unverified;
	return 0;
}

/* ---- io.jwt.encode_sign ------------------------------------------------------------------ */

/* Appends a string as Go's json.Marshal writes it (HTML-safe, invalid UTF-8 replaced). */
static int
go_json_string(struct rego_strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int r = rego_strbuf_append(sb, "\"", 1);
	for (size_t i = 0; i < len && r == 0;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			char esc[7];
			const char *out = NULL;
			size_t out_len = 2;
			switch (c) {
			case '"':
				out = "\\\"";
				break;
			case '\\':
				out = "\\\\";
				break;
			case '\b':
				out = "\\b";
				break;
			case '\f':
				out = "\\f";
				break;
			case '\n':
				out = "\\n";
				break;
			case '\r':
				out = "\\r";
				break;
			case '\t':
				out = "\\t";
				break;
			default:
				if (c < 0x20 || c == '<' || c == '>' || c == '&') {
					memcpy(esc, "\\u00", 4);
					esc[4] = hex[c >> 4];
					esc[5] = hex[c & 15];
					out = esc;
					out_len = 6;
				}
			}
			r = out ? rego_strbuf_append(sb, out, out_len)
			        : rego_strbuf_append(sb, s + i, 1);
			i++;
			continue;
		}
		size_t next = i;
		uint32_t cp = rego_utf8_next(s, len, &next);
		if (cp == 0xfffd && !(next - i == 3 && memcmp(s + i, "\xef\xbf\xbd", 3) == 0))
			r = rego_strbuf_append(sb, "\\ufffd", 6);
		else if (cp == 0x2028 || cp == 0x2029)
			r = rego_strbuf_append(sb, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
		else
			r = rego_strbuf_append(sb, s + i, next - i);
		i = next;
	}
	if (r == 0)
		r = rego_strbuf_append(sb, "\"", 1);
	return r;
}

/* Appends a value as OPA's json.Marshal(ast.JSON(v)): keys sorted, sets as arrays. */
static int
go_json_value(struct rego_strbuf *sb, const struct rego_value *v, int depth)
{
	int r = 0;
	if (depth > 64)
		return JIT_ERR_TOO_LARGE;
	switch (v->type) {
	case REGO_NULL:
		return rego_strbuf_append(sb, "null", 4);
	case REGO_BOOLEAN:
		return v->u.boolean ? rego_strbuf_append(sb, "true", 4)
		                    : rego_strbuf_append(sb, "false", 5);
	case REGO_NUMBER:
		return rego_format_number(sb, v);
	case REGO_STRING:
		return go_json_string(sb, v->u.string, v->length);
	case REGO_ARRAY:
	case REGO_SET:
		r = rego_strbuf_append(sb, "[", 1);
		for (size_t i = 0; i < v->length && r == 0; i++) {
			if (i > 0)
				r = rego_strbuf_append(sb, ",", 1);
			if (r == 0)
				r = go_json_value(sb, v->u.items[i], depth + 1);
		}
		return r == 0 ? rego_strbuf_append(sb, "]", 1) : r;
	case REGO_OBJECT:
		r = rego_strbuf_append(sb, "{", 1);
		for (size_t i = 0; i < v->length && r == 0; i++) {
			const struct rego_value *key = v->u.members[i].key;
			if (i > 0)
				r = rego_strbuf_append(sb, ",", 1);
			if (r == 0 && key->type == REGO_STRING) {
				r = go_json_string(sb, key->u.string, key->length);
			} else if (r == 0) {
				struct rego_strbuf text;
				rego_strbuf_init(&text, sb->arena);
				r = go_json_value(&text, key, depth + 1);
				if (r == 0)
					r = go_json_string(sb, text.data, text.length);
			}
			if (r == 0)
				r = rego_strbuf_append(sb, ":", 1);
			if (r == 0)
				r = go_json_value(sb, v->u.members[i].value, depth + 1);
		}
		return r == 0 ? rego_strbuf_append(sb, "}", 1) : r;
	}
	return JIT_ERR_INVALID;
}

static const char *
fastjson_type(const struct rego_value *v)
{
	switch (v->type) {
	case REGO_NULL:
		return "null";
	case REGO_BOOLEAN:
		return v->u.boolean ? "true" : "false";
	case REGO_NUMBER:
		return "number";
	case REGO_ARRAY:
		return "array";
	default:
		return "object";
	}
}

/* Reads a string header parameter as jwsbb.HeaderGetString does over its fastjson parse.
 * Returns 0 with *ret set; JIT_ERR_NOT_FOUND or JIT_ERR_INVALID with *ret_error set. */
static int
jws_header_get_string(struct rego_arena *arena, const char *text, size_t len, const char *name,
                      const char **ret, const char **ret_error)
{
	size_t at = 0;
	while (at < len &&
	       (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
		at++;
	if (at == len) {
		*ret_error = "cannot parse JSON: cannot parse empty string; unparsed tail: \"\"";
		return JIT_ERR_INVALID;
	}
	const struct rego_value *header;
	int r = rego_parse_json(arena, text, len, &header);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* fastjson reads any run of number characters as a number. */
		size_t end = at;
		while (end < len && strchr("0123456789.-+eE", text[end]) && text[end] != '\0')
			end++;
		while (end < len && strchr(" \t\r\n", text[end]) && text[end] != '\0')
			end++;
		if (end == len && end > at)
			header = &rego_null_value;
		else {
			*ret_error = "cannot parse JSON";
			return JIT_ERR_INVALID;
		}
	}
	const struct rego_value *v = header->type == REGO_OBJECT
	                                     ? rego_object_get_string(header, name, strlen(name))
	                                     : NULL;
	if (!v) {
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, arena);
		if (rego_strbuf_appendf(&sb, "jwsbb: header \"%s\" not found", name) < 0)
			return -ENOMEM;
		*ret_error = sb.data;
		return JIT_ERR_NOT_FOUND;
	}
	if (v->type != REGO_STRING) {
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, arena);
		if (rego_strbuf_appendf(&sb, "value doesn't contain string; it contains %s",
		                        fastjson_type(v)) < 0)
			return -ENOMEM;
		*ret_error = sb.data;
		return JIT_ERR_INVALID;
	}
	*ret = v->u.string;
	return 0;
}

/* OPA's commonBuiltinJWTEncodeSign over header, payload and JWK texts. */
static int
jwt_encode_sign(struct rego_builtin_ctx *ctx, const char *header, size_t header_len,
                const char *payload, size_t payload_len, const char *jwk, size_t jwk_len,
                const struct rego_value **ret)
{
	_cleanup_(jwt_keys_free) struct jwt_keys keys = { .length = 0 };
	int r = jwk_parse(ctx, "failed to parse JWK: ", jwk, jwk_len, false, &keys);
	if (r < 0)
		return r;
	if (keys.length == 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "no keys found in JWK set");
	const char *alg_name, *typ, *why = "";
	r = jws_header_get_string(ctx->arena, header, header_len, "alg", &alg_name, &why);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "missing or invalid 'alg' header: %s", why);
	const struct jwt_alg *alg = jwt_alg_find(alg_name);
	if (!alg)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown JWS algorithm: %s",
		                          alg_name);
	r = jws_header_get_string(ctx->arena, header, header_len, "typ", &typ, &why);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r < 0 || strcmp(typ, "JWT") == 0) {
		const struct rego_value *ignored;
		int valid = rego_parse_json(ctx->arena, payload, payload_len, &ignored);
		if (valid == -ENOMEM)
			return rego_crypto_oom(ctx);
		if (valid < 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "type is JWT but payload is not JSON");
	}
	size_t h_len, p_len;
	char *h = rego_crypto_base64_encode(ctx->arena, (const uint8_t *)header, header_len, true,
	                                    false, &h_len);
	char *p = rego_crypto_base64_encode(ctx->arena, (const uint8_t *)payload, payload_len, true,
	                                    false, &p_len);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	if (!h || !p || rego_strbuf_append(&sb, h, h_len) < 0 ||
	    rego_strbuf_append(&sb, ".", 1) < 0 || rego_strbuf_append(&sb, p, p_len) < 0)
		return rego_crypto_oom(ctx);
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	r = signature_create(ctx, &keys.items[0], alg, (const uint8_t *)sb.data, sb.length, &sig,
	                     &sig_len);
	if (r < 0)
		return r;
	size_t s_len;
	char *s = rego_crypto_base64_encode(ctx->arena, sig, sig_len, true, false, &s_len);
	if (!s || rego_strbuf_append(&sb, ".", 1) < 0 || rego_strbuf_append(&sb, s, s_len) < 0)
		return rego_crypto_oom(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

REGO_JWT_BUILTIN(encode_sign)
{
	struct rego_strbuf texts[3];
	static const char *const what[3] = { "headers", "payload", "signature" };
	for (int i = 0; i < 3; i++) {
		rego_strbuf_init(&texts[i], ctx->arena);
		int r = go_json_value(&texts[i], args[i], 0);
		if (r == -ENOMEM)
			return rego_crypto_oom(ctx);
		if (r < 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "failed to marshal JWT %s",
			                          what[i]);
	}
	return jwt_encode_sign(ctx, texts[0].data, texts[0].length, texts[1].data, texts[1].length,
	                       texts[2].data, texts[2].length, ret);
}

REGO_JWT_BUILTIN(encode_sign_raw)
{
	if (args[2]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 3, "string", args[2]);
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 2, "string", args[1]);
	return jwt_encode_sign(ctx, args[0]->u.string, args[0]->length, args[1]->u.string,
	                       args[1]->length, args[2]->u.string, args[2]->length, ret);
}
