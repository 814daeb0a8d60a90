/* The built-in issuer: key files (0600, never overwritten, refused when group or others can
 * reach them), the RFC 7638 key id, the tokens it signs, its JWKS and discovery document;
 * and the strict base64url both it and the verifier use. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "server/auth/issuer.h"
#include "lib/common/base64url.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define NS 1000000000LL
#define NOW_S 1750000000LL

static char dir[] = "/tmp/jit-issuer-XXXXXX";

static int
setup_dir(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	return rmdir(dir);
}

static void
path_in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static struct jit_issuer *
load_ok(const char *path, const char *url)
{
	struct jit_issuer *issuer = NULL;
	char error[256] = "";
	int r = jit_issuer_load(path, url, "jitsudo", &issuer, error, sizeof(error));
	if (r != 0)
		fail_msg("load: %d %s", r, error);
	return issuer;
}

static void
test_generate_key_file(UNUSED_STATE)
{
	char path[128];
	path_in_dir(path, sizeof(path), "key.pem");
	/* A permissive umask must not widen the mode. */
	mode_t old = umask(0);
	assert_int_equal(jit_issuer_generate_key(path), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(S_ISREG(st.st_mode));

	/* PKCS#8, unencrypted, P-256. */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char first[64] = "";
	assert_non_null(fgets(first, sizeof(first), f));
	assert_string_equal(first, "-----BEGIN PRIVATE KEY-----\n");
	rewind(f);
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pkey);
	assert_true(EVP_PKEY_is_a(pkey, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(pkey), 256);
	EVP_PKEY_free(pkey);

	/* Never overwritten. */
	assert_int_equal(jit_issuer_generate_key(path), -EEXIST);
	char link_path[128];
	path_in_dir(link_path, sizeof(link_path), "link.pem");
	assert_int_equal(symlink(path, link_path), 0);
	assert_true(jit_issuer_generate_key(link_path) < 0);
	unlink(link_path);
	unlink(path);

	char missing[128];
	path_in_dir(missing, sizeof(missing), "no/such/dir/key.pem");
	assert_int_equal(jit_issuer_generate_key(missing), -ENOENT);
}

static void
test_load_refuses_open_modes(UNUSED_STATE)
{
	char path[128];
	path_in_dir(path, sizeof(path), "modes.pem");
	assert_int_equal(jit_issuer_generate_key(path), 0);
	const mode_t bad[] = { 0640, 0604, 0644, 0660, 0606, 0610 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		struct jit_issuer *issuer = NULL;
		char error[256] = "";
		assert_int_equal(
		        jit_issuer_load(path, "http://x", "jitsudo", &issuer, error, sizeof(error)),
		        JIT_ERR_DENIED);
		assert_null(issuer);
		assert_non_null(strstr(error, "chmod 600"));
	}
	assert_int_equal(chmod(path, 0400), 0);
	jit_issuer_free(load_ok(path, "http://x"));
	assert_int_equal(chmod(path, 0600), 0);
	jit_issuer_free(load_ok(path, "http://x"));
	unlink(path);

	struct jit_issuer *issuer = NULL;
	char error[256] = "";
	assert_int_equal(
	        jit_issuer_load(path, "http://x", "jitsudo", &issuer, error, sizeof(error)),
	        -ENOENT);
	/* A directory or a FIFO is not a key file (and the FIFO does not block). */
	assert_int_equal(jit_issuer_load(dir, "http://x", "jitsudo", &issuer, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	char fifo[128];
	path_in_dir(fifo, sizeof(fifo), "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(
	        jit_issuer_load(fifo, "http://x", "jitsudo", &issuer, error, sizeof(error)),
	        JIT_ERR_INVALID);
	unlink(fifo);
}

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
test_load_refuses_other_keys(UNUSED_STATE)
{
	char path[128];
	path_in_dir(path, sizeof(path), "other.pem");
	struct jit_issuer *issuer = NULL;
	char error[256] = "";

	write_file(path, "not a key\n");
	assert_int_equal(
	        jit_issuer_load(path, "http://x", "jitsudo", &issuer, error, sizeof(error)),
	        JIT_ERR_INVALID);

	/* A P-384 key. */
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	assert_non_null(p384);
	FILE *f = fopen(path, "w");
	assert_int_equal(PEM_write_PrivateKey(f, p384, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(p384);
	assert_int_equal(
	        jit_issuer_load(path, "http://x", "jitsudo", &issuer, error, sizeof(error)),
	        JIT_ERR_INVALID);
	assert_non_null(strstr(error, "P-256"));

	/* An encrypted key fails without prompting for a passphrase. */
	EVP_PKEY *p256 = EVP_EC_gen("P-256");
	f = fopen(path, "w");
	assert_int_equal(PEM_write_PrivateKey(f, p256, EVP_aes_256_cbc(), NULL, 0, NULL,
	                                      (void *)"passphrase"),
	                 1);
	fclose(f);
	EVP_PKEY_free(p256);
	assert_int_equal(
	        jit_issuer_load(path, "http://x", "jitsudo", &issuer, error, sizeof(error)),
	        JIT_ERR_INVALID);

	/* Too large. */
	char *big = malloc(20000);
	memset(big, 'A', 19999);
	big[19999] = '\0';
	write_file(path, big);
	free(big);
	assert_int_equal(
	        jit_issuer_load(path, "http://x", "jitsudo", &issuer, error, sizeof(error)),
	        JIT_ERR_TOO_LARGE);
	unlink(path);

	/* A key made by OpenSSL alone (as `openssl genpkey` would) loads. */
	p256 = EVP_EC_gen("P-256");
	f = fopen(path, "w");
	assert_int_equal(PEM_write_PrivateKey(f, p256, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(p256);
	assert_int_equal(chmod(path, 0600), 0);
	jit_issuer_free(load_ok(path, "http://x"));
	unlink(path);
	assert_int_equal(jit_issuer_load(path, "", "jitsudo", &issuer, error, sizeof(error)),
	                 JIT_ERR_INVALID);
}

static void
test_jwks_and_key_id(UNUSED_STATE)
{
	char path[128];
	path_in_dir(path, sizeof(path), "kid.pem");
	assert_int_equal(jit_issuer_generate_key(path), 0);
	struct jit_issuer *issuer = load_ok(path, "https://jit.example.com/");
	assert_string_equal(jit_issuer_url(issuer), "https://jit.example.com/");
	assert_string_equal(jit_issuer_audience(issuer), "jitsudo");

	_cleanup_json_ json_t *jwks = jit_issuer_jwks(issuer);
	assert_non_null(jwks);
	json_t *keys = json_object_get(jwks, "keys");
	assert_int_equal(json_array_size(keys), 1);
	json_t *key = json_array_get(keys, 0);
	assert_string_equal(json_string_value(json_object_get(key, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(key, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(key, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(key, "use")), "sig");
	assert_null(json_object_get(key, "d")); /* never the private part */
	const char *x = json_string_value(json_object_get(key, "x"));
	const char *y = json_string_value(json_object_get(key, "y"));
	const char *kid = json_string_value(json_object_get(key, "kid"));
	assert_int_equal(strlen(x), 43);
	assert_int_equal(strlen(y), 43);

	/* RFC 7638: SHA-256 over {"crv","kty","x","y"} in that order, no whitespace. */
	char canonical[256];
	snprintf(canonical, sizeof(canonical),
	         "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	unsigned char digest[32];
	SHA256((const unsigned char *)canonical, strlen(canonical), digest);
	char expected[64];
	assert_int_equal(jit_base64url_encode(digest, sizeof(digest), expected, sizeof(expected)),
	                 0);
	assert_string_equal(kid, expected);

	/* The same file gives the same kid. */
	struct jit_issuer *again = load_ok(path, "https://jit.example.com/");
	_cleanup_json_ json_t *jwks2 = jit_issuer_jwks(again);
	assert_true(json_equal(jwks, jwks2));
	jit_issuer_free(again);

	_cleanup_json_ json_t *doc = jit_issuer_discovery(issuer);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "issuer")),
	                    "https://jit.example.com/");
	assert_string_equal(json_string_value(json_object_get(doc, "jwks_uri")),
	                    "https://jit.example.com/.well-known/jwks.json");
	json_t *algs = json_object_get(doc, "id_token_signing_alg_values_supported");
	assert_int_equal(json_array_size(algs), 1);
	assert_string_equal(json_string_value(json_array_get(algs, 0)), "ES256");
	assert_true(json_is_array(json_object_get(doc, "response_types_supported")));
	assert_true(json_is_array(json_object_get(doc, "subject_types_supported")));
	assert_true(json_is_array(json_object_get(doc, "claims_supported")));
	jit_issuer_free(issuer);
	unlink(path);
}

static json_t *
decode_segment(const char *start, size_t len)
{
	uint8_t buf[4096];
	size_t n = 0;
	assert_int_equal(jit_base64url_decode(start, len, buf, sizeof(buf), &n), 0);
	json_t *j = json_loadb((const char *)buf, n, 0, NULL);
	assert_non_null(j);
	return j;
}

static void
test_sign(UNUSED_STATE)
{
	char path[128];
	path_in_dir(path, sizeof(path), "sign.pem");
	assert_int_equal(jit_issuer_generate_key(path), 0);
	struct jit_issuer *issuer = load_ok(path, "http://127.0.0.1:8080");
	unlink(path);
	_cleanup_json_ json_t *jwks = jit_issuer_jwks(issuer);
	const char *kid = json_string_value(
	        json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "kid"));

	const char *groups[] = { "admins", "dev" };
	char *token = NULL, *token2 = NULL;
	assert_int_equal(jit_issuer_sign(issuer, "dave@example.com", groups, 2, NOW_S * NS + 123,
	                                 3600, &token),
	                 0);
	assert_int_equal(jit_issuer_sign(issuer, "dave@example.com", groups, 2, NOW_S * NS + 123,
	                                 3600, &token2),
	                 0);
	const char *dot1 = strchr(token, '.'), *dot2 = strrchr(token, '.');
	assert_true(dot1 && dot2 && dot1 < dot2);

	json_t *header = decode_segment(token, (size_t)(dot1 - token));
	assert_string_equal(json_string_value(json_object_get(header, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(header, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(header, "kid")), kid);
	json_decref(header);

	json_t *claims = decode_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	assert_string_equal(json_string_value(json_object_get(claims, "iss")),
	                    "http://127.0.0.1:8080");
	assert_string_equal(json_string_value(json_object_get(claims, "aud")), "jitsudo");
	assert_string_equal(json_string_value(json_object_get(claims, "sub")), "dave@example.com");
	assert_string_equal(json_string_value(json_object_get(claims, "email")),
	                    "dave@example.com");
	assert_int_equal(json_integer_value(json_object_get(claims, "iat")), NOW_S);
	assert_int_equal(json_integer_value(json_object_get(claims, "nbf")), NOW_S);
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")), NOW_S + 3600);
	json_t *g = json_object_get(claims, "groups");
	assert_int_equal(json_array_size(g), 2);
	assert_string_equal(json_string_value(json_array_get(g, 1)), "dev");
	const char *jti = json_string_value(json_object_get(claims, "jti"));
	assert_non_null(jti);
	assert_true(strlen(jti) >= 16);

	/* Each token gets its own jti (and ECDSA its own signature). */
	const char *dot1b = strchr(token2, '.');
	json_t *claims2 = decode_segment(dot1b + 1, (size_t)(strrchr(token2, '.') - dot1b - 1));
	assert_string_not_equal(jti, json_string_value(json_object_get(claims2, "jti")));
	json_decref(claims2);
	json_decref(claims);
	free(token), free(token2);

	/* Bad arguments. */
	assert_int_equal(jit_issuer_sign(issuer, "", NULL, 0, NOW_S * NS, 60, &token),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_issuer_sign(issuer, "a@b", NULL, 0, NOW_S * NS, 0, &token),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_issuer_sign(issuer, "a@b", NULL, 0, NOW_S * NS, -5, &token),
	                 JIT_ERR_INVALID);
	const char *empty_group[] = { "" };
	assert_int_equal(jit_issuer_sign(issuer, "a@b", empty_group, 1, NOW_S * NS, 60, &token),
	                 JIT_ERR_INVALID);
	jit_issuer_free(issuer);
	jit_issuer_free(NULL);
}

static void
test_base64url(UNUSED_STATE)
{
	/* RFC 4648 §10 vectors, without padding. */
	const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *coded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char out[16];
		assert_int_equal(jit_base64url_encode(plain[i], strlen(plain[i]), out, sizeof(out)),
		                 0);
		assert_string_equal(out, coded[i]);
		assert_int_equal(jit_base64url_encoded_length(strlen(plain[i])), strlen(coded[i]));
		uint8_t back[16];
		size_t n = 99;
		assert_int_equal(
		        jit_base64url_decode(coded[i], strlen(coded[i]), back, sizeof(back), &n),
		        0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(back, plain[i], n);
	}
	/* The URL-safe alphabet. */
	const uint8_t high[] = { 0xfb, 0xff, 0xbf };
	char out[8];
	assert_int_equal(jit_base64url_encode(high, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "-_-_");
	/* Too small an output. */
	assert_int_equal(jit_base64url_encode("foo", 3, out, 4), JIT_ERR_TOO_LARGE);
	uint8_t small[2];
	size_t n;
	assert_int_equal(jit_base64url_decode("Zm9v", 4, small, sizeof(small), &n),
	                 JIT_ERR_TOO_LARGE);
	/* Strictness: padding, the standard alphabet, impossible lengths, stray bits. */
	const char *bad[] = { "Zg==",  "Zm8=", "+/+/", "ab/c",   "Z",
		              "Zm9vY", "Zh",   "Zm9",  "Zm\n9v", "Zm 9v" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[16];
		if (jit_base64url_decode(bad[i], strlen(bad[i]), buf, sizeof(buf), &n) !=
		    JIT_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_key_file),
		cmocka_unit_test(test_load_refuses_open_modes),
		cmocka_unit_test(test_load_refuses_other_keys),
		cmocka_unit_test(test_jwks_and_key_id),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_base64url),
	};
	return cmocka_run_group_tests_name("issuer", tests, setup_dir, teardown_dir);
}
