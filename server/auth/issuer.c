/* The built-in token issuer: a P-256 key in a PEM file only its owner may read, ID tokens
 * signed with it (ES256, via cjose) and the discovery document and JWKS that publish it.
 * Trusts the key file's owner; refuses a file that group or others can reach. */
#include "server/auth/issuer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "lib/common/errors.h"
#include "lib/common/random.h"
#include "lib/json/json.h"
#include "server/auth/jose.h"
#include "lib/common/base64url.h"
#include "server/core/model.h"

#define KEY_FILE_MAX (16 * 1024)
#define B64_32 44                              /* base64url of 32 bytes, with the NUL */
#define MAX_TTL_SECONDS (366LL * 24 * 60 * 60) /* a token lives at most a year */
#define NS_PER_SECOND 1000000000LL
#define JWKS_PATH "/.well-known/jwks.json"

struct jit_issuer {
	char *url;
	char *audience;
	char kid[B64_32];
	char x[B64_32];
	char y[B64_32];
	cjose_jwk_t *jwk; /* private: signs */
};

static void
bio_freep(BIO **p)
{
	BIO_free(*p);
}

/* Writes all of `data` to a new file `path` (0600, never an existing one). */
static int
write_new_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	int r = 0;
	/* The umask cannot widen the mode, but a default ACL could: set it outright. */
	if (fchmod(fd, 0600) < 0) {
		r = -errno;
		goto out;
	}
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0)
		r = -errno;
out:
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

int
jit_issuer_generate_key(const char *path)
{
	if (!path || !*path)
		return JIT_ERR_INVALID;
	_cleanup_(jit_evp_pkey_freep) EVP_PKEY *pkey = EVP_EC_gen("P-256");
	if (!pkey)
		return JIT_ERR_INTERNAL;
	/* Secure-heap memory, wiped when freed. */
	_cleanup_(bio_freep) BIO *mem = BIO_new(BIO_s_secmem());
	if (!mem)
		return -ENOMEM;
	/* No cipher: an unencrypted PKCS#8 "PRIVATE KEY"; the file mode protects it. */
	if (PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		return JIT_ERR_INTERNAL;
	char *data = NULL;
	long len = BIO_get_mem_data(mem, &data);
	if (len <= 0 || !data)
		return JIT_ERR_INTERNAL;
	return write_new_file(path, data, (size_t)len);
}

/* Never prompts for a passphrase: an encrypted key simply fails to load. */
static int
no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	return -1;
}

/* Reads the key file, refusing anything but a regular file only its owner can reach. */
static int
read_key_file(const char *path, unsigned char *buf, size_t size, size_t *ret_len, char *error,
              size_t error_size)
{
	/* O_NONBLOCK: a FIFO in its place must not hang us before fstat refuses it. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int r = -errno;
		jit_set_error(error, error_size, "%s: %s", path, strerror(errno));
		return r;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		jit_set_error(error, error_size, "%s: %s", path, strerror(errno));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		jit_set_error(error, error_size, "%s is not a regular file", path);
		return JIT_ERR_INVALID;
	}
	if (st.st_mode & 077) {
		jit_set_error(error, error_size,
		              "%s is accessible by group or others (mode %03o; chmod 600 it)", path,
		              (unsigned)(st.st_mode & 0777));
		return JIT_ERR_DENIED;
	}
	size_t len = 0;
	for (;;) {
		if (len == size) {
			jit_set_error(error, error_size, "%s is larger than %zu bytes", path, size);
			return JIT_ERR_TOO_LARGE;
		}
		ssize_t n = read(fd, buf + len, size - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			jit_set_error(error, error_size, "%s: %s", path, strerror(errno));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
}

/* The RFC 7638 thumbprint of an EC public key: the required members in lexicographic order,
 * no whitespace, SHA-256, base64url. */
static int
ec_thumbprint(const char *x, const char *y, char out[B64_32])
{
	char text[160];
	int n = snprintf(text, sizeof(text),
	                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	if (n < 0 || (size_t)n >= sizeof(text))
		return JIT_ERR_INTERNAL;
	uint8_t digest[SHA256_DIGEST_LENGTH];
	if (!SHA256((const unsigned char *)text, (size_t)n, digest))
		return JIT_ERR_INTERNAL;
	return jit_base64url_encode(digest, sizeof(digest), out, B64_32);
}

static int
issuer_from_pkey(struct jit_issuer *issuer, const EVP_PKEY *pkey, char *error, size_t error_size)
{
	uint8_t x[JIT_P256_SIZE], y[JIT_P256_SIZE];
	cjose_err err;
	int r;
	if (!jit_p256_is(pkey)) {
		jit_set_error(error, error_size, "the key is not a P-256 (prime256v1) EC key");
		return JIT_ERR_INVALID;
	}
	if ((r = jit_p256_jwk(pkey, true, &issuer->jwk, x, y)) < 0) {
		jit_set_error(error, error_size, "the key has no usable EC private key");
		return r;
	}
	if ((r = jit_base64url_encode(x, sizeof(x), issuer->x, sizeof(issuer->x))) < 0 ||
	    (r = jit_base64url_encode(y, sizeof(y), issuer->y, sizeof(issuer->y))) < 0 ||
	    (r = ec_thumbprint(issuer->x, issuer->y, issuer->kid)) < 0)
		return r;
	if (!cjose_jwk_set_kid(issuer->jwk, issuer->kid, strlen(issuer->kid), &err))
		return JIT_ERR_INTERNAL;
	return 0;
}

int
jit_issuer_load(const char *path, const char *issuer_url, const char *audience,
                struct jit_issuer **ret_issuer, char *error, size_t error_size)
{
	if (!path || !issuer_url || !*issuer_url || !audience || !*audience) {
		jit_set_error(error, error_size,
		              "the key file, issuer URL and audience are required");
		return JIT_ERR_INVALID;
	}
	unsigned char text[KEY_FILE_MAX];
	size_t len = 0;
	_cleanup_(jit_issuer_freep) struct jit_issuer *issuer = NULL;
	_cleanup_(jit_evp_pkey_freep) EVP_PKEY *pkey = NULL;
	int r = read_key_file(path, text, sizeof(text), &len, error, error_size);
	if (r < 0)
		goto out;
	{
		_cleanup_(bio_freep) BIO *bio = BIO_new_mem_buf(text, (int)len);
		if (!bio) {
			r = -ENOMEM;
			goto out;
		}
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	}
	if (!pkey) {
		jit_set_error(error, error_size, "%s: not an unencrypted PEM private key", path);
		r = JIT_ERR_INVALID;
		goto out;
	}
	issuer = calloc(1, sizeof(*issuer));
	if (!issuer) {
		r = -ENOMEM;
		goto out;
	}
	issuer->url = strdup(issuer_url);
	issuer->audience = strdup(audience);
	if (!issuer->url || !issuer->audience) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = issuer_from_pkey(issuer, pkey, error, error_size)) < 0)
		goto out;
	*ret_issuer = TAKE_PTR(issuer);
	r = 0;
out:
	explicit_bzero(text, sizeof(text));
	return r;
}

void
jit_issuer_free(struct jit_issuer *issuer)
{
	if (!issuer)
		return;
	cjose_jwk_release(issuer->jwk);
	free(issuer->url);
	free(issuer->audience);
	free(issuer);
}

static void
cjose_header_releasep(cjose_header_t **p)
{
	cjose_header_release(*p);
}

static json_t *
claims_new(const struct jit_issuer *issuer, const char *email, const char *const *groups,
           size_t group_count, int64_t now_s, int64_t ttl_seconds, const char *jti)
{
	_cleanup_json_ json_t *claims = json_object();
	if (!claims || json_object_set_new(claims, "iss", json_string(issuer->url)) < 0 ||
	    json_object_set_new(claims, "aud", json_string(issuer->audience)) < 0 ||
	    json_object_set_new(claims, "sub", json_string(email)) < 0 ||
	    json_object_set_new(claims, "email", json_string(email)) < 0 ||
	    json_object_set_new(claims, "groups", json_array()) < 0 ||
	    json_object_set_new(claims, "iat", json_integer(now_s)) < 0 ||
	    json_object_set_new(claims, "nbf", json_integer(now_s)) < 0 ||
	    json_object_set_new(claims, "exp", json_integer(now_s + ttl_seconds)) < 0 ||
	    json_object_set_new(claims, "jti", json_string(jti)) < 0)
		return NULL;
	json_t *list = json_object_get(claims, "groups");
	for (size_t i = 0; i < group_count; i++)
		if (json_array_append_new(list, json_string(groups[i])) < 0)
			return NULL;
	return TAKE_PTR(claims);
}

int
jit_issuer_sign(struct jit_issuer *issuer, const char *email, const char *const *groups,
                size_t group_count, int64_t now, int64_t ttl_seconds, char **ret_token)
{
	if (!issuer || !email || !*email || strlen(email) > JIT_MAX_IDENTITY || now <= 0 ||
	    ttl_seconds <= 0 || ttl_seconds > MAX_TTL_SECONDS || group_count > JIT_MAX_GROUPS ||
	    (group_count > 0 && !groups))
		return JIT_ERR_INVALID;
	for (size_t i = 0; i < group_count; i++)
		if (!groups[i] || !*groups[i])
			return JIT_ERR_INVALID;

	uint8_t random[16];
	char jti[B64_32];
	if (jit_random_bytes(random, sizeof(random)) < 0 ||
	    jit_base64url_encode(random, sizeof(random), jti, sizeof(jti)) < 0)
		return JIT_ERR_INTERNAL;
	_cleanup_json_ json_t *claims = claims_new(issuer, email, groups, group_count,
	                                           now / NS_PER_SECOND, ttl_seconds, jti);
	if (!claims)
		return -ENOMEM;
	_cleanup_free_ char *payload = jit_json_dump(claims);
	if (!payload)
		return -ENOMEM;

	cjose_err err;
	_cleanup_(cjose_header_releasep) cjose_header_t *header = cjose_header_new(&err);
	if (!header || !cjose_header_set(header, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err) ||
	    !cjose_header_set(header, CJOSE_HDR_KID, issuer->kid, &err) ||
	    !cjose_header_set(header, "typ", "JWT", &err))
		return -ENOMEM;
	_cleanup_(jit_cjose_jws_releasep) cjose_jws_t *jws = cjose_jws_sign(
	        issuer->jwk, header, (const uint8_t *)payload, strlen(payload), &err);
	const char *compact = NULL;
	if (!jws || !cjose_jws_export(jws, &compact, &err) || !compact)
		return JIT_ERR_INTERNAL;
	char *token = strdup(compact);
	if (!token)
		return -ENOMEM;
	*ret_token = token;
	return 0;
}

json_t *
jit_issuer_jwks(const struct jit_issuer *issuer)
{
	return json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:s}]}", "keys", "kty", "EC", "crv", "P-256",
	                 "x", issuer->x, "y", issuer->y, "kid", issuer->kid, "alg", "ES256", "use",
	                 "sig");
}

json_t *
jit_issuer_discovery(const struct jit_issuer *issuer)
{
	/* "<issuer>/.well-known/jwks.json", without doubling a trailing slash. */
	size_t n = strlen(issuer->url);
	while (n > 0 && issuer->url[n - 1] == '/')
		n--;
	size_t size = n + sizeof(JWKS_PATH);
	_cleanup_free_ char *jwks_uri = malloc(size);
	if (!jwks_uri)
		return NULL;
	memcpy(jwks_uri, issuer->url, n);
	memcpy(jwks_uri + n, JWKS_PATH, sizeof(JWKS_PATH));
	return json_pack("{s:s,s:s,s:[s],s:[s],s:[s],s:[s,s,s,s,s,s,s,s,s]}", "issuer", issuer->url,
	                 "jwks_uri", jwks_uri, "id_token_signing_alg_values_supported", "ES256",
	                 "response_types_supported", "id_token", "subject_types_supported",
	                 "public", "claims_supported", "iss", "aud", "sub", "email", "groups",
	                 "iat", "nbf", "exp", "jti");
}

const char *
jit_issuer_url(const struct jit_issuer *issuer)
{
	return issuer->url;
}

const char *
jit_issuer_audience(const struct jit_issuer *issuer)
{
	return issuer->audience;
}
