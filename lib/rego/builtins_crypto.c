/* Built-in functions: crypto group (digests, HMACs, X.509 certificates, requests and private
 * keys) and the table for the io.jwt.* functions defined in builtins_jwt.c. Results mirror the
 * JSON OPA produces from Go's crypto/x509 structures. All inputs are untrusted policy data;
 * OpenSSL objects never outlive a call. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/common/errors.h"
#include "lib/rego/builtins_crypto_util.h"
#include "lib/rego/builtins_jwt.h"

JIT_DEFINE_CLEANUP(X509 *, X509_free)
JIT_DEFINE_CLEANUP(X509_REQ *, X509_REQ_free)
JIT_DEFINE_CLEANUP(X509_STORE *, X509_STORE_free)
JIT_DEFINE_CLEANUP(X509_STORE_CTX *, X509_STORE_CTX_free)

static void
x509_stack_freep(STACK_OF(X509) * *stack)
{
	sk_X509_pop_free(*stack, X509_free);
}

/* Most certificates a single call parses. */
#define CERTS_MAX 256

/* ---- digests and HMACs ------------------------------------------------------------------- */

static int
digest_hex(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret, const EVP_MD *md)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int out_len = 0;
	if (EVP_Digest(args[0]->u.string, args[0]->length, out, &out_len, md, NULL) != 1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "digest failed");
	*ret = rego_crypto_hex_value(ctx->arena, out, out_len);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

static int
builtin_md5(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return digest_hex(ctx, args, ret, EVP_md5());
}

static int
builtin_sha1(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	return digest_hex(ctx, args, ret, EVP_sha1());
}

static int
builtin_sha256(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	return digest_hex(ctx, args, ret, EVP_sha256());
}

/* crypto.hmac.<md>(message, key): hex of the HMAC of message under key. */
static int
hmac_hex(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
         const struct rego_value **ret, const EVP_MD *md)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 2, "string", args[1]);
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int out_len = 0;
	if (args[1]->length > INT32_MAX ||
	    !HMAC(md, args[1]->u.string, (int)args[1]->length,
	          (const unsigned char *)args[0]->u.string, args[0]->length, out, &out_len))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "hmac failed");
	*ret = rego_crypto_hex_value(ctx->arena, out, out_len);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

static int
builtin_hmac_md5(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	return hmac_hex(ctx, args, ret, EVP_md5());
}

static int
builtin_hmac_sha1(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	return hmac_hex(ctx, args, ret, EVP_sha1());
}

static int
builtin_hmac_sha256(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	return hmac_hex(ctx, args, ret, EVP_sha256());
}

static int
builtin_hmac_sha512(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	return hmac_hex(ctx, args, ret, EVP_sha512());
}

/* crypto.hmac.equal(mac1, mac2): constant-time comparison (time depends only on the lengths). */
static int
builtin_hmac_equal(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 2, "string", args[1]);
	bool equal = args[0]->length == args[1]->length &&
	             CRYPTO_memcmp(args[0]->u.string, args[1]->u.string, args[0]->length) == 0;
	*ret = rego_bool(equal);
	return 0;
}

/* ---- building Go-shaped JSON objects ----------------------------------------------------- */

/* An object under construction with a sticky failure: any NULL value or allocation failure
 * makes object_finish return NULL (out of memory). */
struct object_builder {
	struct rego_member_vec members;
	bool failed;
};

static void
object_init(struct object_builder *b, struct rego_arena *arena)
{
	rego_member_vec_init(&b->members, arena);
	b->failed = false;
}

static void
object_put(struct object_builder *b, const char *key, const struct rego_value *value)
{
	if (b->failed)
		return;
	const struct rego_value *k = rego_string_cstr(b->members.arena, key);
	if (!k || !value || rego_member_vec_push(&b->members, k, value) < 0)
		b->failed = true;
}

static const struct rego_value *
object_finish(struct object_builder *b)
{
	return b->failed ? NULL : rego_member_vec_to_object(&b->members);
}

/* A list that becomes null when empty, as Go marshals a nil slice. */
struct list_builder {
	struct rego_vec items;
	bool failed;
};

static void
list_init(struct list_builder *l, struct rego_arena *arena)
{
	rego_vec_init(&l->items, arena);
	l->failed = false;
}

static void
list_push(struct list_builder *l, const struct rego_value *v)
{
	if (!l->failed && (!v || rego_vec_push(&l->items, v) < 0))
		l->failed = true;
}

static const struct rego_value *
list_finish(struct list_builder *l)
{
	if (l->failed)
		return NULL;
	if (l->items.length == 0)
		return &rego_null_value;
	return rego_vec_to_array(&l->items);
}

/* Go marshals []byte as standard base64 and a nil slice as null. */
static const struct rego_value *
bytes_value(struct rego_arena *arena, const unsigned char *data, size_t len)
{
	if (!data)
		return &rego_null_value;
	size_t n;
	char *s = rego_crypto_base64_encode(arena, data, len, false, true, &n);
	return s ? rego_string_wrap(arena, s, n) : NULL;
}

static const struct rego_value *
asn1_string_bytes_value(struct rego_arena *arena, const ASN1_STRING *s)
{
	if (!s)
		return &rego_null_value;
	return bytes_value(arena, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
}

/* UTF-8 text of an ASN.1 string value; "" when it cannot be converted. */
static const struct rego_value *
asn1_string_text_value(struct rego_arena *arena, const ASN1_STRING *s)
{
	unsigned char *utf8 = NULL;
	int n = s ? ASN1_STRING_to_UTF8(&utf8, s) : -1;
	if (n < 0)
		return &rego_empty_string;
	const struct rego_value *v = rego_string(arena, (const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return v;
}

/* An object identifier as Go's asn1.ObjectIdentifier marshals: an array of arcs. */
static const struct rego_value *
oid_value(struct rego_arena *arena, const ASN1_OBJECT *obj)
{
	char text[256];
	int n = OBJ_obj2txt(text, sizeof(text), obj, 1);
	if (n <= 0 || (size_t)n >= sizeof(text))
		return &rego_empty_array;
	struct rego_vec arcs;
	rego_vec_init(&arcs, arena);
	const char *p = text;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		const struct rego_value *arc = rego_number_parse(arena, p, len);
		if (!arc || rego_vec_push(&arcs, arc) < 0)
			return NULL;
		p += len;
		if (*p == '.')
			p++;
	}
	return rego_vec_to_array(&arcs);
}

/* Dotted text of an object identifier (Go's x509.OID text form). */
static const struct rego_value *
oid_text_value(struct rego_arena *arena, const ASN1_OBJECT *obj)
{
	char text[256];
	int n = OBJ_obj2txt(text, sizeof(text), obj, 1);
	if (n <= 0 || (size_t)n >= sizeof(text))
		return &rego_empty_string;
	return rego_string(arena, text, (size_t)n);
}

/* Go's time.Time JSON (RFC 3339, UTC). */
static const struct rego_value *
time_value(struct rego_arena *arena, const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return rego_string_cstr(arena, "0001-01-01T00:00:00Z");
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return rego_string(arena, buf, (size_t)n);
}

/* pkix.Name: the well-known attributes in their own fields, all of them in Names. */
static const struct rego_value *
name_value(struct rego_arena *arena, const X509_NAME *name)
{
	struct list_builder country, organization, unit, locality, province, street, postal, names;
	list_init(&country, arena);
	list_init(&organization, arena);
	list_init(&unit, arena);
	list_init(&locality, arena);
	list_init(&province, arena);
	list_init(&street, arena);
	list_init(&postal, arena);
	list_init(&names, arena);
	const struct rego_value *common_name = &rego_empty_string;
	const struct rego_value *serial = &rego_empty_string;
	int count = name ? X509_NAME_entry_count(name) : 0;
	for (int i = 0; i < count; i++) {
		const X509_NAME_ENTRY *entry = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(entry);
		const struct rego_value *text =
		        asn1_string_text_value(arena, X509_NAME_ENTRY_get_data(entry));
		struct object_builder atv;
		object_init(&atv, arena);
		object_put(&atv, "Type", oid_value(arena, obj));
		object_put(&atv, "Value", text);
		list_push(&names, object_finish(&atv));
		switch (OBJ_obj2nid(obj)) {
		case NID_commonName:
			common_name = text;
			break;
		case NID_serialNumber:
			serial = text;
			break;
		case NID_countryName:
			list_push(&country, text);
			break;
		case NID_organizationName:
			list_push(&organization, text);
			break;
		case NID_organizationalUnitName:
			list_push(&unit, text);
			break;
		case NID_localityName:
			list_push(&locality, text);
			break;
		case NID_stateOrProvinceName:
			list_push(&province, text);
			break;
		case NID_streetAddress:
			list_push(&street, text);
			break;
		case NID_postalCode:
			list_push(&postal, text);
			break;
		}
	}
	struct object_builder b;
	object_init(&b, arena);
	object_put(&b, "Country", list_finish(&country));
	object_put(&b, "Organization", list_finish(&organization));
	object_put(&b, "OrganizationalUnit", list_finish(&unit));
	object_put(&b, "Locality", list_finish(&locality));
	object_put(&b, "Province", list_finish(&province));
	object_put(&b, "StreetAddress", list_finish(&street));
	object_put(&b, "PostalCode", list_finish(&postal));
	object_put(&b, "SerialNumber", serial);
	object_put(&b, "CommonName", common_name);
	object_put(&b, "Names", list_finish(&names));
	object_put(&b, "ExtraNames", &rego_null_value);
	return object_finish(&b);
}

static const struct rego_value *
pkey_bn_value(struct rego_arena *arena, const EVP_PKEY *pkey, const char *param)
{
	_cleanup_(BN_freep) BIGNUM *bn = NULL;
	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return &rego_null_value;
	return rego_crypto_bn_value(arena, bn);
}

/* Go's x509.PublicKeyAlgorithm numbering. */
static int
public_key_algorithm(const EVP_PKEY *pkey)
{
	switch (pkey ? EVP_PKEY_get_base_id(pkey) : 0) {
	case EVP_PKEY_RSA:
		return 1;
	case EVP_PKEY_DSA:
		return 2;
	case EVP_PKEY_EC:
		return 3;
	case EVP_PKEY_ED25519:
		return 4;
	default:
		return 0;
	}
}

/* A public key as Go marshals *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or
 * *dsa.PublicKey. */
static const struct rego_value *
public_key_value(struct rego_arena *arena, const EVP_PKEY *pkey)
{
	struct object_builder b;
	object_init(&b, arena);
	switch (public_key_algorithm(pkey)) {
	case 1: {
		object_put(&b, "N", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_N));
		object_put(&b, "E", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_E));
		return object_finish(&b);
	}
	case 2: {
		struct object_builder params;
		object_init(&params, arena);
		object_put(&params, "P", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_FFC_P));
		object_put(&params, "Q", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_FFC_Q));
		object_put(&params, "G", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_FFC_G));
		object_put(&b, "Parameters", object_finish(&params));
		object_put(&b, "Y", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_PUB_KEY));
		return object_finish(&b);
	}
	case 3:
		object_put(&b, "Curve", &rego_empty_object);
		object_put(&b, "X", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_EC_PUB_X));
		object_put(&b, "Y", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_EC_PUB_Y));
		return object_finish(&b);
	case 4: {
		unsigned char raw[64];
		size_t raw_len = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len) != 1)
			return &rego_null_value;
		return bytes_value(arena, raw, raw_len);
	}
	default:
		return &rego_null_value;
	}
}

/* Go's x509.SignatureAlgorithm numbering. */
static int
signature_algorithm(const X509 *x)
{
	int md = NID_undef, pk = NID_undef;
	int sig = X509_get_signature_nid(x);
	switch (sig) {
	case NID_md2WithRSAEncryption:
		return 1;
	case NID_md5WithRSAEncryption:
		return 2;
	case NID_sha1WithRSAEncryption:
		return 3;
	case NID_sha256WithRSAEncryption:
		return 4;
	case NID_sha384WithRSAEncryption:
		return 5;
	case NID_sha512WithRSAEncryption:
		return 6;
	case NID_dsaWithSHA1:
		return 7;
	case NID_dsa_with_SHA256:
		return 8;
	case NID_ecdsa_with_SHA1:
		return 9;
	case NID_ecdsa_with_SHA256:
		return 10;
	case NID_ecdsa_with_SHA384:
		return 11;
	case NID_ecdsa_with_SHA512:
		return 12;
	case NID_ED25519:
		return 16;
	case NID_rsassaPss:
		if (X509_get_signature_info((X509 *)x, &md, &pk, NULL, NULL) != 1)
			return 0;
		return md == NID_sha256 ? 13 : md == NID_sha384 ? 14 : md == NID_sha512 ? 15 : 0;
	default:
		return 0;
	}
}

/* Go's x509.ExtKeyUsage numbering, or -1 for usages Go does not name. */
static int
ext_key_usage(const ASN1_OBJECT *obj)
{
	switch (OBJ_obj2nid(obj)) {
	case NID_anyExtendedKeyUsage:
		return 0;
	case NID_server_auth:
		return 1;
	case NID_client_auth:
		return 2;
	case NID_code_sign:
		return 3;
	case NID_email_protect:
		return 4;
	case NID_ipsecEndSystem:
		return 5;
	case NID_ipsecTunnel:
		return 6;
	case NID_ipsecUser:
		return 7;
	case NID_time_stamp:
		return 8;
	case NID_OCSP_sign:
		return 9;
	case NID_ms_sgc:
		return 10;
	case NID_ns_sgc:
		return 11;
	case NID_ms_code_com:
		return 12;
	}
	char text[64];
	if (OBJ_obj2txt(text, sizeof(text), obj, 1) > 0 &&
	    strcmp(text, "1.3.6.1.4.1.311.61.1.1") == 0)
		return 13;
	return -1;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..len) (Go's url.PathUnescape). */
static const struct rego_value *
unescape_value(struct rego_arena *arena, const char *s, size_t len)
{
	char *out = rego_arena_alloc(arena, len + 1);
	if (!out)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			out[n++] = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
			i += 2;
		} else {
			out[n++] = s[i];
		}
	}
	out[n] = '\0';
	return rego_string_wrap(arena, out, n);
}

/* A URI as Go marshals *url.URL (its exported fields). */
static const struct rego_value *
url_value(struct rego_arena *arena, const char *s, size_t len)
{
	const struct rego_value *scheme = &rego_empty_string, *opaque = &rego_empty_string;
	const struct rego_value *host = &rego_empty_string, *path = &rego_empty_string;
	const struct rego_value *query = &rego_empty_string, *fragment = &rego_empty_string;
	const struct rego_value *user = &rego_null_value;
	bool force_query = false;
	const char *hash = memchr(s, '#', len);
	if (hash) {
		fragment = unescape_value(arena, hash + 1, len - (size_t)(hash - s) - 1);
		len = (size_t)(hash - s);
	}
	size_t i = 0;
	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	                   (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' ||
	                              s[i] == '.'))))
		i++;
	if (i > 0 && i < len && s[i] == ':') {
		char *lower = rego_arena_strndup(arena, s, i);
		if (!lower)
			return NULL;
		for (size_t k = 0; k < i; k++)
			if (lower[k] >= 'A' && lower[k] <= 'Z')
				lower[k] = (char)(lower[k] - 'A' + 'a');
		scheme = rego_string_wrap(arena, lower, i);
		s += i + 1;
		len -= i + 1;
	}
	const char *question = memchr(s, '?', len);
	if (question) {
		query = rego_string(arena, question + 1, len - (size_t)(question - s) - 1);
		force_query = question + 1 == s + len;
		len = (size_t)(question - s);
	}
	if (scheme->length > 0 && (len == 0 || s[0] != '/')) {
		opaque = rego_string(arena, s, len);
	} else {
		if (len >= 2 && s[0] == '/' && s[1] == '/') {
			const char *authority = s + 2;
			const char *end = memchr(authority, '/', len - 2);
			size_t alen = end ? (size_t)(end - authority) : len - 2;
			const char *at = NULL;
			for (size_t k = 0; k < alen; k++)
				if (authority[k] == '@')
					at = authority + k;
			if (at) {
				user = &rego_empty_object;
				host = rego_string(arena, at + 1,
				                   alen - (size_t)(at - authority) - 1);
			} else {
				host = rego_string(arena, authority, alen);
			}
			s = authority + alen;
			len -= alen + 2;
		}
		path = unescape_value(arena, s, len);
	}
	struct object_builder b;
	object_init(&b, arena);
	object_put(&b, "Scheme", scheme);
	object_put(&b, "Opaque", opaque);
	object_put(&b, "User", user);
	object_put(&b, "Host", host);
	object_put(&b, "Path", path);
	object_put(&b, "RawPath", &rego_empty_string);
	object_put(&b, "OmitHost", &rego_false_value);
	object_put(&b, "ForceQuery", rego_bool(force_query));
	object_put(&b, "RawQuery", query);
	object_put(&b, "Fragment", fragment);
	object_put(&b, "RawFragment", &rego_empty_string);
	return object_finish(&b);
}

/* An IP address as Go's net.IP text form. */
static const struct rego_value *
ip_value(struct rego_arena *arena, const ASN1_OCTET_STRING *ip)
{
	const unsigned char *p = ASN1_STRING_get0_data(ip);
	int n = ASN1_STRING_length(ip);
	char buf[INET6_ADDRSTRLEN];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (n == 16 && memcmp(p, mapped, 12) == 0) {
		p += 12;
		n = 4;
	}
	if (n == 4 && inet_ntop(AF_INET, p, buf, sizeof(buf)))
		return rego_string_cstr(arena, buf);
	if (n == 16 && inet_ntop(AF_INET6, p, buf, sizeof(buf)))
		return rego_string_cstr(arena, buf);
	if (n == 0)
		return rego_string_cstr(arena, "<nil>");
	const struct rego_value *hex = rego_crypto_hex_value(arena, p, (size_t)n);
	if (!hex)
		return NULL;
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, arena);
	if (rego_strbuf_appendf(&sb, "?%s", hex->u.string) < 0)
		return NULL;
	return rego_strbuf_to_value(&sb);
}

/* The names of a subjectAltName-style GENERAL_NAMES, sorted into Go's fields. */
struct general_names {
	struct list_builder dns, email, ip, uri, uri_strings;
};

static void
general_names_init(struct general_names *g, struct rego_arena *arena)
{
	list_init(&g->dns, arena);
	list_init(&g->email, arena);
	list_init(&g->ip, arena);
	list_init(&g->uri, arena);
	list_init(&g->uri_strings, arena);
}

static void
general_names_add(struct general_names *g, struct rego_arena *arena, GENERAL_NAMES *names)
{
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
		switch (name->type) {
		case GEN_DNS:
			list_push(&g->dns, asn1_string_text_value(arena, name->d.dNSName));
			break;
		case GEN_EMAIL:
			list_push(&g->email, asn1_string_text_value(arena, name->d.rfc822Name));
			break;
		case GEN_IPADD:
			list_push(&g->ip, ip_value(arena, name->d.iPAddress));
			break;
		case GEN_URI: {
			const struct rego_value *text =
			        asn1_string_text_value(arena, name->d.uniformResourceIdentifier);
			list_push(&g->uri_strings, text);
			list_push(&g->uri,
			          text ? url_value(arena, text->u.string, text->length) : NULL);
			break;
		}
		}
	}
}

/* The extensions list ({Id, Critical, Value}) of a certificate or request. */
static const struct rego_value *
extensions_value(struct rego_arena *arena, const STACK_OF(X509_EXTENSION) * exts)
{
	struct list_builder list;
	list_init(&list, arena);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		struct object_builder b;
		object_init(&b, arena);
		object_put(&b, "Id", oid_value(arena, X509_EXTENSION_get_object(ext)));
		object_put(&b, "Critical", rego_bool(X509_EXTENSION_get_critical(ext) > 0));
		object_put(&b, "Value",
		           asn1_string_bytes_value(arena, X509_EXTENSION_get_data(ext)));
		list_push(&list, object_finish(&b));
	}
	return list_finish(&list);
}

/* The raw DER pieces of a certificate or request, found by walking its structure. */
struct raw_parts {
	const uint8_t *tbs, *issuer, *subject, *spki;
	size_t tbs_len, issuer_len, subject_len, spki_len;
};

/* Splits Certificate/CertificationRequest DER into TBS and, inside it, the names and the key.
 * A request's TBS is version, subject, key; a certificate's is [0] version, serial, signature
 * algorithm, issuer, validity, subject, key. */
static bool
raw_parts_find(const uint8_t *der, size_t len, bool request, struct raw_parts *parts)
{
	uint8_t tag;
	size_t header, total;
	memset(parts, 0, sizeof(*parts));
	if (!rego_crypto_der_element(der, len, &tag, &header, &total) || tag != 0x30)
		return false;
	const uint8_t *p = der + header;
	size_t rest = total - header;
	if (!rego_crypto_der_element(p, rest, &tag, &header, &total) || tag != 0x30)
		return false;
	parts->tbs = p;
	parts->tbs_len = total;
	p += header;
	rest = total - header;
	const uint8_t *items[8];
	size_t sizes[8];
	size_t count = 0;
	while (rest > 0 && count < 8) {
		if (!rego_crypto_der_element(p, rest, &tag, &header, &total))
			return false;
		if (!(count == 0 && tag == 0xa0 && !request)) {
			items[count] = p;
			sizes[count] = total;
			count++;
		}
		p += total;
		rest -= total;
	}
	if (request) {
		if (count < 3)
			return false;
		parts->subject = items[1];
		parts->subject_len = sizes[1];
		parts->spki = items[2];
		parts->spki_len = sizes[2];
	} else {
		if (count < 6)
			return false;
		parts->issuer = items[2];
		parts->issuer_len = sizes[2];
		parts->subject = items[4];
		parts->subject_len = sizes[4];
		parts->spki = items[5];
		parts->spki_len = sizes[5];
	}
	return true;
}

/* DER encoding of a certificate in the arena. */
static const uint8_t *
cert_der(struct rego_arena *arena, X509 *x, size_t *ret_len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	if (n <= 0)
		return NULL;
	uint8_t *copy = rego_arena_alloc(arena, (size_t)n);
	if (copy)
		memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*ret_len = (size_t)n;
	return copy;
}

/* A certificate as OPA marshals Go's x509.Certificate, plus URIStrings when `uri_strings`.
 * Returns NULL only when out of memory. */
static const struct rego_value *
cert_value(struct rego_arena *arena, X509 *x, bool uri_strings)
{
	size_t der_len = 0;
	const uint8_t *der = cert_der(arena, x, &der_len);
	if (!der)
		return NULL;
	struct raw_parts raw;
	raw_parts_find(der, der_len, false, &raw);

	struct object_builder b;
	object_init(&b, arena);
	object_put(&b, "Raw", bytes_value(arena, der, der_len));
	object_put(&b, "RawTBSCertificate", bytes_value(arena, raw.tbs, raw.tbs_len));
	object_put(&b, "RawSubjectPublicKeyInfo", bytes_value(arena, raw.spki, raw.spki_len));
	object_put(&b, "RawSubject", bytes_value(arena, raw.subject, raw.subject_len));
	object_put(&b, "RawIssuer", bytes_value(arena, raw.issuer, raw.issuer_len));

	const ASN1_BIT_STRING *signature = NULL;
	X509_get0_signature(&signature, NULL, x);
	object_put(&b, "Signature", asn1_string_bytes_value(arena, signature));
	object_put(&b, "SignatureAlgorithm", rego_int(arena, signature_algorithm(x)));
	EVP_PKEY *pkey = X509_get0_pubkey(x);
	object_put(&b, "PublicKeyAlgorithm", rego_int(arena, public_key_algorithm(pkey)));
	object_put(&b, "PublicKey", public_key_value(arena, pkey));
	object_put(&b, "Version", rego_int(arena, X509_get_version(x) + 1));

	_cleanup_(BN_freep) BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	object_put(&b, "SerialNumber", serial ? rego_crypto_bn_value(arena, serial) : NULL);
	object_put(&b, "Issuer", name_value(arena, X509_get_issuer_name(x)));
	object_put(&b, "Subject", name_value(arena, X509_get_subject_name(x)));
	object_put(&b, "NotBefore", time_value(arena, X509_get0_notBefore(x)));
	object_put(&b, "NotAfter", time_value(arena, X509_get0_notAfter(x)));

	int64_t key_usage = 0;
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	for (int i = 0; ku && i < 9; i++)
		if (ASN1_BIT_STRING_get_bit(ku, i))
			key_usage |= (int64_t)1 << i;
	ASN1_BIT_STRING_free(ku);
	object_put(&b, "KeyUsage", rego_int(arena, key_usage));
	object_put(&b, "Extensions", extensions_value(arena, X509_get0_extensions(x)));
	object_put(&b, "ExtraExtensions", &rego_null_value);
	object_put(&b, "UnhandledCriticalExtensions", &rego_null_value);

	struct list_builder eku_known, eku_unknown;
	list_init(&eku_known, arena);
	list_init(&eku_unknown, arena);
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
		int usage = ext_key_usage(obj);
		if (usage >= 0)
			list_push(&eku_known, rego_int(arena, usage));
		else
			list_push(&eku_unknown, oid_value(arena, obj));
	}
	EXTENDED_KEY_USAGE_free(eku);
	object_put(&b, "ExtKeyUsage", list_finish(&eku_known));
	object_put(&b, "UnknownExtKeyUsage", list_finish(&eku_unknown));

	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	int64_t max_path_len = 0;
	if (bc) {
		max_path_len = -1;
		if (bc->pathlen && !ASN1_INTEGER_get_int64(&max_path_len, bc->pathlen))
			max_path_len = -1;
	}
	object_put(&b, "BasicConstraintsValid", rego_bool(bc != NULL));
	object_put(&b, "IsCA", rego_bool(bc && bc->ca));
	object_put(&b, "MaxPathLen", rego_int(arena, max_path_len));
	object_put(&b, "MaxPathLenZero", rego_bool(bc && max_path_len == 0));
	BASIC_CONSTRAINTS_free(bc);

	object_put(&b, "SubjectKeyId", asn1_string_bytes_value(arena, X509_get0_subject_key_id(x)));
	object_put(&b, "AuthorityKeyId",
	           asn1_string_bytes_value(arena, X509_get0_authority_key_id(x)));

	struct list_builder ocsp, issuing;
	list_init(&ocsp, arena);
	list_init(&issuing, arena);
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	for (int i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		const ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		if (ad->location->type != GEN_URI)
			continue;
		const struct rego_value *uri =
		        asn1_string_text_value(arena, ad->location->d.uniformResourceIdentifier);
		int nid = OBJ_obj2nid(ad->method);
		if (nid == NID_ad_OCSP)
			list_push(&ocsp, uri);
		else if (nid == NID_ad_ca_issuers)
			list_push(&issuing, uri);
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	object_put(&b, "OCSPServer", list_finish(&ocsp));
	object_put(&b, "IssuingCertificateURL", list_finish(&issuing));

	struct general_names names;
	general_names_init(&names, arena);
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	general_names_add(&names, arena, san);
	GENERAL_NAMES_free(san);
	object_put(&b, "DNSNames", list_finish(&names.dns));
	object_put(&b, "EmailAddresses", list_finish(&names.email));
	object_put(&b, "IPAddresses", list_finish(&names.ip));
	object_put(&b, "URIs", list_finish(&names.uri));
	if (uri_strings)
		object_put(&b, "URIStrings", list_finish(&names.uri_strings));

	object_put(&b, "PermittedDNSDomainsCritical", &rego_false_value);
	static const char *const constraint_fields[] = {
		"PermittedDNSDomains", "ExcludedDNSDomains",      "PermittedIPRanges",
		"ExcludedIPRanges",    "PermittedEmailAddresses", "ExcludedEmailAddresses",
		"PermittedURIDomains", "ExcludedURIDomains",
	};
	for (size_t i = 0; i < JIT_ARRAY_SIZE(constraint_fields); i++)
		object_put(&b, constraint_fields[i], &rego_null_value);

	struct list_builder crl;
	list_init(&crl, arena);
	CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; dps && i < sk_DIST_POINT_num(dps); i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		if (!dp->distpoint || dp->distpoint->type != 0)
			continue;
		GENERAL_NAMES *full = dp->distpoint->name.fullname;
		for (int k = 0; k < sk_GENERAL_NAME_num(full); k++) {
			const GENERAL_NAME *gn = sk_GENERAL_NAME_value(full, k);
			if (gn->type == GEN_URI)
				list_push(&crl, asn1_string_text_value(
				                        arena, gn->d.uniformResourceIdentifier));
		}
	}
	CRL_DIST_POINTS_free(dps);
	object_put(&b, "CRLDistributionPoints", list_finish(&crl));

	struct list_builder policy_ids, policies;
	list_init(&policy_ids, arena);
	list_init(&policies, arena);
	CERTIFICATEPOLICIES *pols = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);
	for (int i = 0; pols && i < sk_POLICYINFO_num(pols); i++) {
		const POLICYINFO *info = sk_POLICYINFO_value(pols, i);
		list_push(&policy_ids, oid_value(arena, info->policyid));
		list_push(&policies, oid_text_value(arena, info->policyid));
	}
	CERTIFICATEPOLICIES_free(pols);
	object_put(&b, "PolicyIdentifiers", list_finish(&policy_ids));
	object_put(&b, "Policies", list_finish(&policies));
	object_put(&b, "InhibitAnyPolicy", rego_int(arena, 0));
	object_put(&b, "InhibitAnyPolicyZero", &rego_false_value);
	object_put(&b, "InhibitPolicyMapping", rego_int(arena, 0));
	object_put(&b, "InhibitPolicyMappingZero", &rego_false_value);
	object_put(&b, "RequireExplicitPolicy", rego_int(arena, 0));
	object_put(&b, "RequireExplicitPolicyZero", &rego_false_value);
	object_put(&b, "PolicyMappings", &rego_null_value);
	return object_finish(&b);
}

/* ---- parsing certificates ---------------------------------------------------------------- */

/* Parses concatenated DER certificates (Go's x509.ParseCertificates) onto `stack`. */
static int
certs_parse_der(struct rego_builtin_ctx *ctx, const uint8_t *der, size_t len,
                STACK_OF(X509) * stack)
{
	while (len > 0) {
		if (sk_X509_num(stack) >= CERTS_MAX)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "too many certificates");
		const unsigned char *p = der;
		X509 *x = len <= INT32_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
		if (!x)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "x509: malformed certificate");
		if (!sk_X509_push(stack, x)) {
			X509_free(x);
			return rego_crypto_oom(ctx);
		}
		len -= (size_t)(p - der);
		der = p;
	}
	return 0;
}

/* Parses every PEM block of `pem` (all must be CERTIFICATE). */
static int
certs_parse_pem(struct rego_builtin_ctx *ctx, const char *pem, size_t len, STACK_OF(X509) * stack)
{
	struct rego_strbuf der;
	rego_strbuf_init(&der, ctx->arena);
	while (len > 0) {
		struct rego_pem_block block;
		const char *rest;
		size_t rest_len;
		int r = rego_crypto_pem_decode(ctx->arena, pem, len, &block, &rest, &rest_len);
		if (r == -ENOMEM)
			return rego_crypto_oom(ctx);
		if (r < 0)
			break;
		if (strcmp(block.type, "CERTIFICATE") != 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "PEM block type is '%s', expected CERTIFICATE",
			                          block.type);
		if (rego_strbuf_append(&der, (const char *)block.bytes, block.length) < 0)
			return rego_crypto_oom(ctx);
		pem = rest;
		len = rest_len;
	}
	return certs_parse_der(ctx, (const uint8_t *)der.data, der.length, stack);
}

static bool
has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

/* OPA's getX509CertsFromString: PEM text, or base64 of PEM text or of DER. */
static int
certs_parse_string(struct rego_builtin_ctx *ctx, const struct rego_value *input,
                   STACK_OF(X509) * stack)
{
	if (has_prefix(input->u.string, input->length, "-----BEGIN"))
		return certs_parse_pem(ctx, input->u.string, input->length, stack);
	uint8_t *bytes;
	size_t len;
	int r = rego_crypto_std_base64_decode(ctx, "", input->u.string, input->length, &bytes,
	                                      &len);
	if (r < 0)
		return r;
	if (has_prefix((const char *)bytes, len, "-----BEGIN"))
		return certs_parse_pem(ctx, (const char *)bytes, len, stack);
	return certs_parse_der(ctx, bytes, len, stack);
}

static const struct rego_value *
certs_value(struct rego_arena *arena, STACK_OF(X509) * stack, bool uri_strings)
{
	struct rego_vec items;
	rego_vec_init(&items, arena);
	for (int i = 0; i < sk_X509_num(stack); i++) {
		const struct rego_value *v =
		        cert_value(arena, sk_X509_value(stack, i), uri_strings);
		if (!v || rego_vec_push(&items, v) < 0)
			return NULL;
	}
	return rego_vec_to_array(&items);
}

static int
builtin_x509_parse_certificates(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                                const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	_cleanup_(x509_stack_freep) STACK_OF(X509) *stack = sk_X509_new_null();
	if (!stack)
		return rego_crypto_oom(ctx);
	int r = certs_parse_string(ctx, args[0], stack);
	if (r < 0)
		return r;
	*ret = certs_value(ctx->arena, stack, true);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

/* ---- verifying chains -------------------------------------------------------------------- */

/* Extended key usages a chain must allow (Go's x509.VerifyOptions.KeyUsages). */
struct verify_options {
	const char *dns_name;
	int64_t time_s;
	bool any_usage;
	int usages[16];
	size_t usage_count;
};

/* Go's checkChainForKeyUsage: every certificate that restricts extended key usage must allow at
 * least one of the requested usages, and some requested usage must survive the whole chain. */
static bool
chain_allows_usage(STACK_OF(X509) * chain, const struct verify_options *options)
{
	if (options->any_usage)
		return true;
	bool usable[16];
	size_t remaining = options->usage_count;
	for (size_t i = 0; i < options->usage_count; i++)
		usable[i] = true;
	for (int c = sk_X509_num(chain) - 1; c >= 0; c--) {
		EXTENDED_KEY_USAGE *eku =
		        X509_get_ext_d2i(sk_X509_value(chain, c), NID_ext_key_usage, NULL, NULL);
		if (!eku)
			continue;
		bool any = false;
		for (int k = 0; k < sk_ASN1_OBJECT_num(eku); k++)
			if (ext_key_usage(sk_ASN1_OBJECT_value(eku, k)) == 0)
				any = true;
		for (size_t i = 0; !any && i < options->usage_count; i++) {
			if (!usable[i])
				continue;
			bool found = false;
			for (int k = 0; k < sk_ASN1_OBJECT_num(eku); k++) {
				int usage = ext_key_usage(sk_ASN1_OBJECT_value(eku, k));
				if (usage == options->usages[i] ||
				    (options->usages[i] == 1 && (usage == 10 || usage == 11)))
					found = true;
			}
			if (!found) {
				usable[i] = false;
				remaining--;
			}
		}
		EXTENDED_KEY_USAGE_free(eku);
		if (remaining == 0)
			return false;
	}
	return remaining > 0;
}

/* OPA's verifyX509CertificateChain: certs[0] is the trusted root, the last is the leaf and the
 * rest are intermediates. On success returns the verified chain (leaf first) as a new stack. */
static STACK_OF(X509) * chain_verify(STACK_OF(X509) * certs, const struct verify_options *options)
{
	int n = sk_X509_num(certs);
	if (n < 2)
		return NULL;
	_cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
	_cleanup_(x509_stack_freep) STACK_OF(X509) *untrusted = sk_X509_new_null();
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	if (!store || !untrusted || !sctx ||
	    X509_STORE_add_cert(store, sk_X509_value(certs, 0)) != 1)
		return NULL;
	for (int i = 1; i < n - 1; i++) {
		X509 *x = sk_X509_value(certs, i);
		if (X509_up_ref(x) != 1)
			return NULL;
		if (!sk_X509_push(untrusted, x)) {
			X509_free(x);
			return NULL;
		}
	}
	if (X509_STORE_CTX_init(sctx, store, sk_X509_value(certs, n - 1), untrusted) != 1)
		return NULL;
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(param, (time_t)options->time_s);
	if (options->dns_name && options->dns_name[0] &&
	    X509_VERIFY_PARAM_set1_host(param, options->dns_name, 0) != 1)
		return NULL;
	if (X509_verify_cert(sctx) != 1)
		return NULL;
	STACK_OF(X509) *chain = X509_STORE_CTX_get1_chain(sctx);
	if (chain && !chain_allows_usage(chain, options)) {
		sk_X509_pop_free(chain, X509_free);
		return NULL;
	}
	return chain;
}

static int64_t
now_seconds(const struct rego_builtin_ctx *ctx)
{
	if (ctx->now_ns > 0)
		return ctx->now_ns / 1000000000;
	return (int64_t)time(NULL);
}

static int
verify_and_return(struct rego_builtin_ctx *ctx, const struct rego_value *input,
                  const struct verify_options *options, bool uri_strings,
                  const struct rego_value **ret)
{
	const struct rego_value *unverified[2] = { &rego_false_value, &rego_empty_array };
	_cleanup_(x509_stack_freep) STACK_OF(X509) *certs = sk_X509_new_null();
	if (!certs)
		return rego_crypto_oom(ctx);
	/* Parse failures are a negative answer here, not an error. */
	struct rego_builtin_ctx scratch = *ctx;
	if (certs_parse_string(&scratch, input, certs) < 0) {
		*ret = rego_array(ctx->arena, unverified, 2);
		return *ret ? 0 : rego_crypto_oom(ctx);
	}
	_cleanup_(x509_stack_freep) STACK_OF(X509) *chain = chain_verify(certs, options);
	if (!chain) {
		*ret = rego_array(ctx->arena, unverified, 2);
		return *ret ? 0 : rego_crypto_oom(ctx);
	}
	const struct rego_value *verified[2] = { &rego_true_value,
		                                 certs_value(ctx->arena, chain, uri_strings) };
	if (!verified[1])
		return rego_crypto_oom(ctx);
	*ret = rego_array(ctx->arena, verified, 2);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

static int
builtin_x509_parse_and_verify_certificates(struct rego_builtin_ctx *ctx,
                                           const struct rego_value *const *args,
                                           const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	struct verify_options options = { .time_s = now_seconds(ctx),
		                          .usages = { 1 },
		                          .usage_count = 1 };
	return verify_and_return(ctx, args[0], &options, true, ret);
}

static const struct {
	const char *name;
	int usage;
} key_usage_names[] = {
	{ "KeyUsageAny", 0 },
	{ "KeyUsageServerAuth", 1 },
	{ "KeyUsageClientAuth", 2 },
	{ "KeyUsageCodeSigning", 3 },
	{ "KeyUsageEmailProtection", 4 },
	{ "KeyUsageIPSECEndSystem", 5 },
	{ "KeyUsageIPSECTunnel", 6 },
	{ "KeyUsageIPSECUser", 7 },
	{ "KeyUsageTimeStamping", 8 },
	{ "KeyUsageOCSPSigning", 9 },
	{ "KeyUsageMicrosoftServerGatedCrypto", 10 },
	{ "KeyUsageNetscapeServerGatedCrypto", 11 },
	{ "KeyUsageMicrosoftCommercialCodeSigning", 12 },
	{ "KeyUsageMicrosoftKernelCodeSigning", 13 },
};

/* Reads the options object of parse_and_verify_certificates_with_options. */
static int
verify_options_parse(struct rego_builtin_ctx *ctx, const struct rego_value *object,
                     struct verify_options *options)
{
	for (size_t i = 0; i < object->length; i++) {
		const struct rego_value *key = object->u.members[i].key;
		const struct rego_value *value = object->u.members[i].value;
		if (key->type != REGO_STRING)
			continue;
		if (strcmp(key->u.string, "DNSName") == 0) {
			if (value->type != REGO_STRING)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "'DNSName' should be a string");
			options->dns_name = value->u.string;
		} else if (strcmp(key->u.string, "CurrentTime") == 0) {
			int64_t ns;
			if (value->type != REGO_NUMBER)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "'CurrentTime' should be a number");
			if (!rego_number_int64(value, &ns))
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "'CurrentTime' should be a valid int64 number");
			options->time_s = ns / 1000000000 - (ns % 1000000000 < 0);
		} else if (strcmp(key->u.string, "MaxConstraintComparisons") == 0) {
			int64_t unused;
			if (value->type != REGO_NUMBER)
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "'MaxConstraintComparisons' should be a number");
			if (!rego_number_int64(value, &unused))
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "'MaxConstraintComparisons' should be a valid number");
		} else if (strcmp(key->u.string, "KeyUsages") == 0) {
			if (value->type != REGO_ARRAY && value->type != REGO_SET)
				return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
				                          "'KeyUsages' should be an Array or Set");
			struct rego_strbuf invalid;
			rego_strbuf_init(&invalid, ctx->arena);
			options->usage_count = 0;
			for (size_t k = 0; k < value->length; k++) {
				const struct rego_value *item = value->u.items[k];
				if (item->type != REGO_STRING)
					continue;
				bool known = false;
				for (size_t u = 0; u < JIT_ARRAY_SIZE(key_usage_names); u++) {
					if (strcmp(item->u.string, key_usage_names[u].name) != 0)
						continue;
					known = true;
					if (key_usage_names[u].usage == 0)
						options->any_usage = true;
					if (options->usage_count < JIT_ARRAY_SIZE(options->usages))
						options->usages[options->usage_count++] =
						        key_usage_names[u].usage;
				}
				if (!known &&
				    rego_strbuf_appendf(&invalid, "%s%s", invalid.length ? " " : "",
				                        item->u.string) < 0)
					return rego_crypto_oom(ctx);
			}
			if (invalid.length > 0)
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "invalid entries for 'KeyUsages' found: [%s]",
				        invalid.data);
			if (options->usage_count == 0) {
				options->usages[0] = 1;
				options->usage_count = 1;
			}
		} else {
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid key option");
		}
	}
	return 0;
}

static int
builtin_x509_parse_and_verify_certificates_with_options(struct rego_builtin_ctx *ctx,
                                                        const struct rego_value *const *args,
                                                        const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[1]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 2, "object", args[1]);
	struct verify_options options = { .time_s = now_seconds(ctx),
		                          .usages = { 1 },
		                          .usage_count = 1 };
	int r = verify_options_parse(ctx, args[1], &options);
	if (r < 0)
		return r;
	return verify_and_return(ctx, args[0], &options, false, ret);
}

/* ---- certificate requests ---------------------------------------------------------------- */

static const struct rego_value *
request_value(struct rego_arena *arena, X509_REQ *req, const uint8_t *der, size_t der_len)
{
	struct raw_parts raw;
	raw_parts_find(der, der_len, true, &raw);
	struct object_builder b;
	object_init(&b, arena);
	object_put(&b, "Raw", bytes_value(arena, der, der_len));
	object_put(&b, "RawTBSCertificateRequest", bytes_value(arena, raw.tbs, raw.tbs_len));
	object_put(&b, "RawSubjectPublicKeyInfo", bytes_value(arena, raw.spki, raw.spki_len));
	object_put(&b, "RawSubject", bytes_value(arena, raw.subject, raw.subject_len));
	object_put(&b, "Version", rego_int(arena, X509_REQ_get_version(req)));
	const ASN1_BIT_STRING *signature = NULL;
	const X509_ALGOR *alg = NULL;
	X509_REQ_get0_signature(req, &signature, &alg);
	object_put(&b, "Signature", asn1_string_bytes_value(arena, signature));
	int sig = 0;
	switch (X509_REQ_get_signature_nid(req)) {
	case NID_sha1WithRSAEncryption:
		sig = 3;
		break;
	case NID_sha256WithRSAEncryption:
		sig = 4;
		break;
	case NID_sha384WithRSAEncryption:
		sig = 5;
		break;
	case NID_sha512WithRSAEncryption:
		sig = 6;
		break;
	case NID_ecdsa_with_SHA1:
		sig = 9;
		break;
	case NID_ecdsa_with_SHA256:
		sig = 10;
		break;
	case NID_ecdsa_with_SHA384:
		sig = 11;
		break;
	case NID_ecdsa_with_SHA512:
		sig = 12;
		break;
	case NID_ED25519:
		sig = 16;
		break;
	}
	object_put(&b, "SignatureAlgorithm", rego_int(arena, sig));
	EVP_PKEY *pkey = X509_REQ_get0_pubkey(req);
	object_put(&b, "PublicKeyAlgorithm", rego_int(arena, public_key_algorithm(pkey)));
	object_put(&b, "PublicKey", public_key_value(arena, pkey));
	object_put(&b, "Subject", name_value(arena, X509_REQ_get_subject_name(req)));
	object_put(&b, "Attributes", &rego_null_value);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	object_put(&b, "Extensions", extensions_value(arena, exts));
	struct general_names names;
	general_names_init(&names, arena);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name)
			continue;
		GENERAL_NAMES *san = X509V3_EXT_d2i(ext);
		general_names_add(&names, arena, san);
		GENERAL_NAMES_free(san);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	object_put(&b, "ExtraExtensions", &rego_null_value);
	object_put(&b, "DNSNames", list_finish(&names.dns));
	object_put(&b, "EmailAddresses", list_finish(&names.email));
	object_put(&b, "IPAddresses", list_finish(&names.ip));
	object_put(&b, "URIs", list_finish(&names.uri));
	return object_finish(&b);
}

static int
builtin_x509_parse_certificate_request(struct rego_builtin_ctx *ctx,
                                       const struct rego_value *const *args,
                                       const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	const uint8_t *bytes = (const uint8_t *)args[0]->u.string;
	size_t len = args[0]->length;
	if (!has_prefix(args[0]->u.string, len, "-----BEGIN CERTIFICATE REQUEST-----")) {
		uint8_t *decoded;
		int r = rego_crypto_std_base64_decode(ctx, "", args[0]->u.string, len, &decoded,
		                                      &len);
		if (r < 0)
			return r;
		bytes = decoded;
	}
	struct rego_pem_block block;
	const char *rest;
	size_t rest_len;
	int r = rego_crypto_pem_decode(ctx->arena, (const char *)bytes, len, &block, &rest,
	                               &rest_len);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r == 0) {
		if (strcmp(block.type, "CERTIFICATE REQUEST") != 0)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "invalid PEM-encoded certificate signing request");
		bytes = block.bytes;
		len = block.length;
	}
	const unsigned char *p = bytes;
	_cleanup_(X509_REQ_freep) X509_REQ *req =
	        len <= INT32_MAX ? d2i_X509_REQ(NULL, &p, (long)len) : NULL;
	if (!req)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "asn1: structure error: malformed certificate request");
	*ret = request_value(ctx->arena, req, bytes, (size_t)(p - bytes));
	return *ret ? 0 : rego_crypto_oom(ctx);
}

/* ---- private keys ------------------------------------------------------------------------ */

/* A private key as Go marshals *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey. */
static const struct rego_value *
private_key_go_value(struct rego_arena *arena, const EVP_PKEY *pkey)
{
	struct object_builder b;
	object_init(&b, arena);
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA: {
		const struct rego_value *primes[2] = {
			pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1),
			pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2),
		};
		if (!primes[0] || !primes[1])
			return NULL;
		struct object_builder pre;
		object_init(&pre, arena);
		object_put(&pre, "Dp", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1));
		object_put(&pre, "Dq", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2));
		object_put(&pre, "Qinv",
		           pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1));
		object_put(&pre, "CRTValues", &rego_empty_array);
		object_put(&b, "N", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_N));
		object_put(&b, "E", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_E));
		object_put(&b, "D", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_RSA_D));
		object_put(&b, "Primes", rego_array(arena, primes, 2));
		object_put(&b, "Precomputed", object_finish(&pre));
		return object_finish(&b);
	}
	case EVP_PKEY_EC:
		object_put(&b, "Curve", &rego_empty_object);
		object_put(&b, "X", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_EC_PUB_X));
		object_put(&b, "Y", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_EC_PUB_Y));
		object_put(&b, "D", pkey_bn_value(arena, pkey, OSSL_PKEY_PARAM_PRIV_KEY));
		return object_finish(&b);
	case EVP_PKEY_ED25519: {
		unsigned char raw[64];
		size_t seed_len = 32, pub_len = 32;
		if (EVP_PKEY_get_raw_private_key(pkey, raw, &seed_len) != 1 ||
		    EVP_PKEY_get_raw_public_key(pkey, raw + 32, &pub_len) != 1)
			return &rego_null_value;
		const struct rego_value *v = bytes_value(arena, raw, 64);
		OPENSSL_cleanse(raw, sizeof(raw));
		return v;
	}
	default:
		return &rego_null_value;
	}
}

static const struct rego_value *
pkey_b64url(struct rego_arena *arena, const EVP_PKEY *pkey, const char *param, size_t width)
{
	_cleanup_(BN_freep) BIGNUM *bn = NULL;
	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return &rego_null_value;
	return rego_crypto_bn_base64url(arena, bn, width);
}

/* A private key as a JWK object (what OPA's jwk.New produces). */
static const struct rego_value *
private_key_jwk_value(struct rego_arena *arena, const EVP_PKEY *pkey)
{
	struct object_builder b;
	object_init(&b, arena);
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		object_put(&b, "kty", rego_string_cstr(arena, "RSA"));
		object_put(&b, "n", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_N, 0));
		object_put(&b, "e", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_E, 0));
		object_put(&b, "d", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_D, 0));
		object_put(&b, "p", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, 0));
		object_put(&b, "q", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, 0));
		object_put(&b, "dp", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0));
		object_put(&b, "dq", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0));
		object_put(&b, "qi", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0));
		return object_finish(&b);
	case EVP_PKEY_EC: {
		char group[64];
		size_t group_len = 0;
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                   sizeof(group), &group_len) != 1)
			group[0] = '\0';
		const char *crv = strcmp(group, "prime256v1") == 0  ? "P-256"
		                  : strcmp(group, "secp384r1") == 0 ? "P-384"
		                  : strcmp(group, "secp521r1") == 0 ? "P-521"
		                                                    : group;
		size_t width = (size_t)(EVP_PKEY_get_bits(pkey) + 7) / 8;
		object_put(&b, "kty", rego_string_cstr(arena, "EC"));
		object_put(&b, "crv", rego_string_cstr(arena, crv));
		object_put(&b, "x", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_EC_PUB_X, width));
		object_put(&b, "y", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, width));
		object_put(&b, "d", pkey_b64url(arena, pkey, OSSL_PKEY_PARAM_PRIV_KEY, width));
		return object_finish(&b);
	}
	case EVP_PKEY_ED25519: {
		unsigned char seed[32], pub[32];
		size_t seed_len = sizeof(seed), pub_len = sizeof(pub);
		if (EVP_PKEY_get_raw_private_key(pkey, seed, &seed_len) != 1 ||
		    EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1)
			return &rego_null_value;
		size_t xl, dl;
		char *x = rego_crypto_base64_encode(arena, pub, pub_len, true, false, &xl);
		char *d = rego_crypto_base64_encode(arena, seed, seed_len, true, false, &dl);
		OPENSSL_cleanse(seed, sizeof(seed));
		object_put(&b, "kty", rego_string_cstr(arena, "OKP"));
		object_put(&b, "crv", rego_string_cstr(arena, "Ed25519"));
		object_put(&b, "x", x ? rego_string_wrap(arena, x, xl) : NULL);
		object_put(&b, "d", d ? rego_string_wrap(arena, d, dl) : NULL);
		return object_finish(&b);
	}
	default:
		return &rego_null_value;
	}
}

/* Most private keys one call parses. */
#define KEYS_MAX 64

struct key_list {
	EVP_PKEY *keys[KEYS_MAX];
	size_t length;
};

static void
key_list_free(struct key_list *list)
{
	for (size_t i = 0; i < list->length; i++)
		EVP_PKEY_free(list->keys[i]);
	list->length = 0;
}

/* OPA's getPrivateKeysFromPEMData: decodes base64 when the whole input is base64, then parses
 * every RSA PRIVATE KEY, PRIVATE KEY and EC PRIVATE KEY block; other blocks are skipped. */
static int
private_keys_parse(struct rego_builtin_ctx *ctx, const char *data, size_t len,
                   struct key_list *list)
{
	uint8_t *decoded;
	size_t decoded_len, offset;
	int r = rego_crypto_base64_decode(ctx->arena, data, len, false, true, &decoded,
	                                  &decoded_len, &offset);
	if (r == -ENOMEM)
		return rego_crypto_oom(ctx);
	if (r == 0) {
		data = (const char *)decoded;
		len = decoded_len;
	}
	while (len > 0) {
		struct rego_pem_block block;
		const char *rest;
		size_t rest_len;
		r = rego_crypto_pem_decode(ctx->arena, data, len, &block, &rest, &rest_len);
		if (r == -ENOMEM)
			return rego_crypto_oom(ctx);
		if (r < 0)
			break;
		data = rest;
		len = rest_len;
		if (strcmp(block.type, "RSA PRIVATE KEY") != 0 &&
		    strcmp(block.type, "PRIVATE KEY") != 0 &&
		    strcmp(block.type, "EC PRIVATE KEY") != 0)
			continue;
		EVP_PKEY *key =
		        rego_crypto_private_key_from_der(block.type, block.bytes, block.length);
		if (!key)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "x509: failed to parse private key (%s)",
			                          block.type);
		if (list->length >= KEYS_MAX) {
			EVP_PKEY_free(key);
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "too many private keys");
		}
		list->keys[list->length++] = key;
	}
	return 0;
}

static int
builtin_x509_parse_rsa_private_key(struct rego_builtin_ctx *ctx,
                                   const struct rego_value *const *args,
                                   const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	const char *data = args[0]->u.string;
	size_t len = args[0]->length;
	if (len == 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "input PEM data was empty");
	if (!has_prefix(data, len, "-----BEGIN")) {
		uint8_t *decoded;
		int r = rego_crypto_std_base64_decode(ctx, "", data, len, &decoded, &len);
		if (r < 0)
			return r;
		data = (const char *)decoded;
	}
	_cleanup_(key_list_free) struct key_list keys = { .length = 0 };
	int r = private_keys_parse(ctx, data, len, &keys);
	if (r < 0)
		return r;
	if (keys.length == 0) {
		*ret = &rego_null_value;
		return 0;
	}
	*ret = private_key_jwk_value(ctx->arena, keys.keys[0]);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

static int
builtin_parse_private_keys(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                           const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[0]->length == 0) {
		*ret = &rego_null_value;
		return 0;
	}
	_cleanup_(key_list_free) struct key_list keys = { .length = 0 };
	int r = private_keys_parse(ctx, args[0]->u.string, args[0]->length, &keys);
	if (r < 0)
		return r;
	struct rego_vec items;
	rego_vec_init(&items, ctx->arena);
	for (size_t i = 0; i < keys.length; i++) {
		const struct rego_value *v = private_key_go_value(ctx->arena, keys.keys[i]);
		if (!v || rego_vec_push(&items, v) < 0)
			return rego_crypto_oom(ctx);
	}
	*ret = rego_vec_to_array(&items);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

/* ---- key pairs --------------------------------------------------------------------------- */

/* OPA's getTLSx509KeyPairFromString: inputs that do not start with a PEM header are base64;
 * after decoding, input that is still not PEM is taken as DER. */
static int
keypair_input(struct rego_builtin_ctx *ctx, const struct rego_value *input, const char **ret,
              size_t *ret_len, bool *ret_der)
{
	const char *data = input->u.string;
	size_t len = input->length;
	if (!has_prefix(data, len, "-----BEGIN ")) {
		uint8_t *decoded;
		int r = rego_crypto_std_base64_decode(ctx, "", data, len, &decoded, &len);
		if (r < 0)
			return r;
		data = (const char *)decoded;
	}
	*ret = data;
	*ret_len = len;
	*ret_der = !has_prefix(data, len, "-----BEGIN");
	return 0;
}

static int
builtin_x509_parse_keypair(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                           const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[1]);
	const char *cert_data, *key_data;
	size_t cert_len, key_len;
	bool cert_is_der, key_is_der;
	int r = keypair_input(ctx, args[0], &cert_data, &cert_len, &cert_is_der);
	if (r == 0)
		r = keypair_input(ctx, args[1], &key_data, &key_len, &key_is_der);
	if (r < 0)
		return r;

	/* Certificates: every CERTIFICATE block (tls.X509KeyPair). */
	struct rego_vec certificates;
	rego_vec_init(&certificates, ctx->arena);
	_cleanup_(X509_freep) X509 *leaf = NULL;
	size_t skipped = 0;
	const char *skipped_type = "";
	if (cert_is_der) {
		const struct rego_value *v =
		        bytes_value(ctx->arena, (const uint8_t *)cert_data, cert_len);
		if (!v || rego_vec_push(&certificates, v) < 0)
			return rego_crypto_oom(ctx);
	}
	const uint8_t *leaf_der = cert_is_der ? (const uint8_t *)cert_data : NULL;
	size_t leaf_len = cert_is_der ? cert_len : 0;
	while (!cert_is_der && cert_len > 0) {
		struct rego_pem_block block;
		const char *rest;
		size_t rest_len;
		r = rego_crypto_pem_decode(ctx->arena, cert_data, cert_len, &block, &rest,
		                           &rest_len);
		if (r == -ENOMEM)
			return rego_crypto_oom(ctx);
		if (r < 0)
			break;
		cert_data = rest;
		cert_len = rest_len;
		if (strcmp(block.type, "CERTIFICATE") != 0) {
			skipped++;
			skipped_type = block.type;
			continue;
		}
		if (!leaf_der) {
			leaf_der = block.bytes;
			leaf_len = block.length;
		}
		const struct rego_value *v = bytes_value(ctx->arena, block.bytes, block.length);
		if (!v || rego_vec_push(&certificates, v) < 0)
			return rego_crypto_oom(ctx);
	}
	if (certificates.length == 0) {
		if (skipped == 0)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "tls: failed to find any PEM data in certificate input");
		if (skipped == 1 && strlen(skipped_type) >= 11 &&
		    strcmp(skipped_type + strlen(skipped_type) - 11, "PRIVATE KEY") == 0)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "tls: failed to find certificate PEM data in certificate input, "
			        "but "
			        "did find a private key; PEM inputs may have been switched");
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "tls: failed to find \"CERTIFICATE\" PEM block in "
		                          "certificate input");
	}

	/* Key: the first block whose type ends in PRIVATE KEY. */
	const uint8_t *key_der = key_is_der ? (const uint8_t *)key_data : NULL;
	size_t key_der_len = key_is_der ? key_len : 0;
	skipped = 0;
	while (!key_der) {
		struct rego_pem_block block;
		const char *rest;
		size_t rest_len;
		r = rego_crypto_pem_decode(ctx->arena, key_data, key_len, &block, &rest, &rest_len);
		if (r == -ENOMEM)
			return rego_crypto_oom(ctx);
		if (r < 0) {
			if (skipped == 0)
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "tls: failed to find any PEM data in key input");
			if (skipped == 1 && strcmp(skipped_type, "CERTIFICATE") == 0)
				return rego_builtin_error(
				        ctx, REGO_ERR_BUILTIN,
				        "tls: found a certificate rather than a key "
				        "in the PEM for the private key");
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "tls: failed to find PEM block with type ending "
			                          "in \"PRIVATE KEY\" in key input");
		}
		key_data = rest;
		key_len = rest_len;
		size_t type_len = strlen(block.type);
		if (strcmp(block.type, "PRIVATE KEY") == 0 ||
		    (type_len > 12 && strcmp(block.type + type_len - 12, " PRIVATE KEY") == 0)) {
			key_der = block.bytes;
			key_der_len = block.length;
			break;
		}
		skipped++;
		skipped_type = block.type;
	}

	const unsigned char *p = leaf_der;
	leaf = leaf_len <= INT32_MAX ? d2i_X509(NULL, &p, (long)leaf_len) : NULL;
	if (!leaf)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "x509: malformed certificate");
	/* Go's tls parsePrivateKey tries PKCS#1, PKCS#8 and SEC1 whatever the block type. */
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key =
	        rego_crypto_private_key_from_der("RSA PRIVATE KEY", key_der, key_der_len);
	if (!key)
		key = rego_crypto_private_key_from_der("PRIVATE KEY", key_der, key_der_len);
	if (!key)
		key = rego_crypto_private_key_from_der("EC PRIVATE KEY", key_der, key_der_len);
	if (!key)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "tls: failed to parse private key");
	EVP_PKEY *pub = X509_get0_pubkey(leaf);
	if (!pub || public_key_algorithm(pub) == 0 || public_key_algorithm(pub) == 2)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "tls: unknown public key algorithm");
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_get_base_id(key))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "tls: private key type does not match public key type");
	if (EVP_PKEY_eq(pub, key) != 1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "tls: private key does not match public key");

	struct object_builder b;
	object_init(&b, ctx->arena);
	object_put(&b, "Certificate", rego_vec_to_array(&certificates));
	object_put(&b, "PrivateKey", private_key_go_value(ctx->arena, key));
	object_put(&b, "SupportedSignatureAlgorithms", &rego_null_value);
	object_put(&b, "OCSPStaple", &rego_null_value);
	object_put(&b, "SignedCertificateTimestamps", &rego_null_value);
	object_put(&b, "Leaf", cert_value(ctx->arena, leaf, false));
	*ret = object_finish(&b);
	return *ret ? 0 : rego_crypto_oom(ctx);
}

/* ---- table ------------------------------------------------------------------------------- */

const struct rego_builtin rego_builtins_crypto[] = {
	{ "crypto.md5", 1, 0, builtin_md5 },
	{ "crypto.sha1", 1, 0, builtin_sha1 },
	{ "crypto.sha256", 1, 0, builtin_sha256 },
	{ "crypto.hmac.md5", 2, 0, builtin_hmac_md5 },
	{ "crypto.hmac.sha1", 2, 0, builtin_hmac_sha1 },
	{ "crypto.hmac.sha256", 2, 0, builtin_hmac_sha256 },
	{ "crypto.hmac.sha512", 2, 0, builtin_hmac_sha512 },
	{ "crypto.hmac.equal", 2, 0, builtin_hmac_equal },
	{ "crypto.x509.parse_certificates", 1, 0, builtin_x509_parse_certificates },
	{ "crypto.x509.parse_and_verify_certificates", 1, 0,
	  builtin_x509_parse_and_verify_certificates },
	{ "crypto.x509.parse_and_verify_certificates_with_options", 2, 0,
	  builtin_x509_parse_and_verify_certificates_with_options },
	{ "crypto.x509.parse_certificate_request", 1, 0, builtin_x509_parse_certificate_request },
	{ "crypto.x509.parse_keypair", 2, 0, builtin_x509_parse_keypair },
	{ "crypto.x509.parse_rsa_private_key", 1, 0, builtin_x509_parse_rsa_private_key },
	{ "crypto.parse_private_keys", 1, 0, builtin_parse_private_keys },
	{ "io.jwt.decode", 1, 0, rego_builtin_jwt_decode },
	{ "io.jwt.decode_verify", 2, 0, rego_builtin_jwt_decode_verify },
	{ "io.jwt.verify_rs256", 2, 0, rego_builtin_jwt_verify_rs256 },
	{ "io.jwt.verify_rs384", 2, 0, rego_builtin_jwt_verify_rs384 },
	{ "io.jwt.verify_rs512", 2, 0, rego_builtin_jwt_verify_rs512 },
	{ "io.jwt.verify_ps256", 2, 0, rego_builtin_jwt_verify_ps256 },
	{ "io.jwt.verify_ps384", 2, 0, rego_builtin_jwt_verify_ps384 },
	{ "io.jwt.verify_ps512", 2, 0, rego_builtin_jwt_verify_ps512 },
	{ "io.jwt.verify_es256", 2, 0, rego_builtin_jwt_verify_es256 },
	{ "io.jwt.verify_es384", 2, 0, rego_builtin_jwt_verify_es384 },
	{ "io.jwt.verify_es512", 2, 0, rego_builtin_jwt_verify_es512 },
	{ "io.jwt.verify_eddsa", 2, 0, rego_builtin_jwt_verify_eddsa },
	{ "io.jwt.verify_hs256", 2, 0, rego_builtin_jwt_verify_hs256 },
	{ "io.jwt.verify_hs384", 2, 0, rego_builtin_jwt_verify_hs384 },
	{ "io.jwt.verify_hs512", 2, 0, rego_builtin_jwt_verify_hs512 },
	{ "io.jwt.encode_sign", 3, REGO_BUILTIN_MEMO, rego_builtin_jwt_encode_sign },
	{ "io.jwt.encode_sign_raw", 3, REGO_BUILTIN_MEMO, rego_builtin_jwt_encode_sign_raw },
	{ NULL, 0, 0, NULL },
};
