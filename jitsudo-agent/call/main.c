/* jitsudo-agent-call: the agent's short-lived helper for everything that needs TLS or the host
 * key, so that the long-running agent loads neither libcurl nor OpenSSL. `call` reads one
 * request (JSON, bounded) on stdin: up to AGENT_CALL_MAX_CALLS HTTP exchanges with jitsudod,
 * made in order on one connection, each with a freshly signed host token (new jti each time);
 * it writes "STATUS <code> <length>\n<body>" for each, or "ERROR <kind> <text>\n" and stops; `check-key FILE` validates the host key; `keygen --out FILE` writes a new one.
 * Trusts its parent (the agent, root) for the request and jitsudod's certificate only as the
 * configured CA vouches for it. Never prints or logs the token or the key. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jitsudo-agent/call/call.h"
#include "lib/common/errors.h"
#include "lib/common/random.h"
#include "lib/json/json.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"
#include "lib/net/http.h"

static void
evp_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static int
coordinate(const EVP_PKEY *pkey, const char *param, uint8_t out[32])
{
	BIGNUM *bn = NULL;
	int ok = EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 && BN_bn2binpad(bn, out, 32) == 32;
	BN_clear_free(bn);
	return ok ? 0 : JIT_ERR_INVALID;
}

/* Loads the P-256 private key at path (refused if group or others may read it). Returns 0,
 * or the failure's code with error set. */
static int
load_key(const char *path, cjose_jwk_t **ret, struct jit_error *error)
{
	struct stat st;
	uint8_t x[32], y[32], d[32];
	char group[32] = "";
	cjose_err err;
	int r = 0;

	FILE *f = fopen(path, "re");
	if (!f) {
		r = -errno;
		return jit_error_set(error, r, "host key %s: %s", path, strerror(-r));
	}
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & 077)) {
		fclose(f);
		return jit_error_set(error, JIT_ERR_DENIED,
		                     "host key %s: readable by group or others", path);
	}
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey || !EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		return jit_error_set(error, JIT_ERR_INVALID,
		                     "host key %s: not a P-256 private key (PEM)", path);
	}
	if (coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_X, x) < 0 ||
	    coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, y) < 0 ||
	    coordinate(pkey, OSSL_PKEY_PARAM_PRIV_KEY, d) < 0) {
		r = jit_error_set(error, JIT_ERR_INVALID, "host key %s: unusable", path);
		goto out;
	}
	cjose_jwk_ec_keyspec spec = { .crv = CJOSE_JWK_EC_P_256,
		                      .d = d,
		                      .dlen = 32,
		                      .x = x,
		                      .xlen = 32,
		                      .y = y,
		                      .ylen = 32 };
	*ret = cjose_jwk_create_EC_spec(&spec, &err);
	if (!*ret) {
		r = jit_error_set(error, JIT_ERR_INVALID, "host key %s: %s", path, err.message);
	}
out:
	explicit_bzero(d, sizeof(d));
	return r;
}

static int
keygen(const char *path)
{
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = EVP_EC_gen("P-256");
	if (!pkey) {
		fprintf(stderr, "jitsudo-agent keygen: cannot generate a P-256 key\n");
		return 1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		fprintf(stderr, "jitsudo-agent keygen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	FILE *f = fdopen(fd, "w");
	if (!f || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) || fflush(f) != 0 ||
	    fsync(fd) < 0) {
		if (f)
			fclose(f);
		else
			close(fd);
		unlink(path);
		fprintf(stderr, "jitsudo-agent keygen: %s: cannot write the key\n", path);
		return 1;
	}
	fclose(f);
	if (!PEM_write_PUBKEY(stdout, pkey) || fflush(stdout) != 0) {
		fprintf(stderr, "jitsudo-agent keygen: cannot print the public key\n");
		return 1;
	}
	return 0;
}

/* A fresh host token: a new random jti for every call, so jitsudod can refuse replays. */
static int
sign_token(cjose_jwk_t *key, const json_t *req, char **ret)
{
	uint8_t raw[16];
	char jti[33];
	int64_t now = jit_now_realtime_ns() / 1000000000LL;
	cjose_err err;
	char iss[300];

	if (jit_random_bytes(raw, sizeof(raw)) < 0)
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(jti + 2 * i, 3, "%02x", raw[i]);
	snprintf(iss, sizeof(iss), "jitsudo-host:%s",
	         json_string_value(json_object_get(req, "host")));
	json_int_t ttl = json_integer_value(json_object_get(req, "token_ttl"));
	json_t *claims = json_pack("{s:s,s:s,s:s,s:O,s:I,s:I,s:s}", "iss", iss, "aud",
	                           json_string_value(json_object_get(req, "audience")), "sub",
	                           json_string_value(json_object_get(req, "sub")), "groups",
	                           json_object_get(req, "groups"), "iat", (json_int_t)now, "exp",
	                           now + ttl, "jti", jti);
	char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	if (!payload)
		return JIT_ERR_INVALID;
	cjose_header_t *hdr = cjose_header_new(&err);
	cjose_jws_t *jws = NULL;
	const char *compact = NULL;
	int r = JIT_ERR_INTERNAL;
	if (hdr && cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err) &&
	    cjose_header_set(hdr, "typ", "JWT", &err) &&
	    (jws = cjose_jws_sign(key, hdr, (const uint8_t *)payload, strlen(payload), &err)) &&
	    cjose_jws_export(jws, &compact, &err)) {
		*ret = strdup(compact);
		r = *ret ? 0 : -ENOMEM;
	}
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	free(payload);
	return r;
}

static int fail(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(const char *kind, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	printf("ERROR %s %s\n", kind, text);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Reads the whole request from stdin (at most AGENT_CALL_MAX_REQUEST bytes). */
static json_t *
read_request(void)
{
	static char buf[AGENT_CALL_MAX_REQUEST + 1];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf))
			return NULL;
	}
	json_error_t jerr;
	return json_loadb(buf, len, 0, &jerr);
}

/* One HTTP exchange on client h (kept between the calls of a batch, so the connection is
 * reused), with its own fresh token. Writes its answer to stdout. Returns 0 when the batch may
 * go on, 1 when it must stop (an ERROR line was written or stdout failed). */
static int
exchange(struct jit_http_client *h, cjose_jwk_t *key, const json_t *req, const json_t *one)
{
	const char *url = json_string_value(json_object_get(one, "url"));
	const char *method = json_string_value(json_object_get(one, "method"));
	const char *body = json_string_value(json_object_get(one, "body"));
	struct jit_http_response a = { 0 };
	struct jit_http_error e;
	char *token = NULL;
	int rc = 1;

	if (!url || !method) {
		fail("internal", "malformed request from the agent");
		return 1;
	}
	if (sign_token(key, req, &token) < 0) {
		fail("internal", "cannot sign the host token");
		return 1;
	}
	const struct jit_http_request r = { .method = method,
		                            .url = url,
		                            .bearer = token,
		                            .body = body,
		                            .body_len = body ? strlen(body) : 0,
		                            .content_type = "application/json" };
	int cc = jit_http_exchange(h, &r, &a, &e);
	explicit_bzero(token, strlen(token));
	free(token);
	if (cc < 0) {
		fail(e.failure == JIT_HTTP_FAILURE_TIMEOUT ? "timeout" : "unreachable",
		     "jitsudod unreachable: %s",
		     e.failure == JIT_HTTP_FAILURE_TOO_LARGE ? "answer too large"
		     : e.cause[0]                            ? e.cause
		                                             : e.message);
		goto out;
	}
	printf("STATUS %ld %zu\n", a.status, a.body_len);
	if (a.body_len && fwrite(a.body, 1, a.body_len, stdout) != a.body_len)
		goto out;
	rc = 0;
out:
	jit_http_response_done(&a);
	return rc;
}

static int
call(void)
{
	struct jit_error error = { 0 };
	cjose_jwk_t *key = NULL;

	_cleanup_json_ json_t *req = read_request();
	const char *key_file = json_string_value(json_object_get(req, "key_file"));
	const json_t *calls = json_object_get(req, "calls");
	if (!key_file || !json_is_string(json_object_get(req, "host")) ||
	    !json_is_string(json_object_get(req, "audience")) ||
	    !json_is_string(json_object_get(req, "sub")) ||
	    !json_is_array(json_object_get(req, "groups")) || !json_is_array(calls) ||
	    json_array_size(calls) == 0 || json_array_size(calls) > AGENT_CALL_MAX_CALLS ||
	    json_integer_value(json_object_get(req, "timeout_ms")) < 1)
		return fail("internal", "malformed request from the agent");
	if (load_key(key_file, &key, &error) < 0)
		return fail("internal", "%s", error.message);
	json_int_t timeout_ms = json_integer_value(json_object_get(req, "timeout_ms"));
	const struct jit_http_options options = {
		.timeout_ms = timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms,
		.max_body = AGENT_CALL_MAX_ANSWER,
		.ca_file = json_string_value(json_object_get(req, "ca_file")),
		.no_proxy = true,
	};
	struct jit_http_client *h = NULL;
	if (jit_http_client_new(&options, &h) < 0) {
		cjose_jwk_release(key);
		return fail("internal", "libcurl cannot start");
	}
	size_t i;
	json_t *one;
	json_array_foreach(calls, i, one)
	{
		if (exchange(h, key, req, one) != 0)
			break;
	}
	jit_http_client_free(h);
	cjose_jwk_release(key);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "call") == 0)
		return call();
	if (argc == 3 && strcmp(argv[1], "check-key") == 0) {
		struct jit_error error = { 0 };
		cjose_jwk_t *key = NULL;
		if (load_key(argv[2], &key, &error) < 0) {
			fprintf(stderr, "%s\n", error.message);
			return 1;
		}
		cjose_jwk_release(key);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "keygen") == 0 && strcmp(argv[2], "--out") == 0)
		return keygen(argv[3]);
	fprintf(stderr, "usage: jitsudo-agent-call call | check-key FILE | keygen --out FILE\n"
	                "(run by jitsudo-agent, not by hand)\n");
	return 2;
}
