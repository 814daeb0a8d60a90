/* The agent's calls to jitsudod's REST API, as the host acting for one local user: each call
 * carries a fresh ES256 token signed with the host key (iss jitsudo-host:<name>, sub the
 * user's identity, the user's allowed groups, at most token_ttl long). Bounded in time by the
 * caller's deadline and in size (1 MiB answers). Trusts jitsudod's TLS certificate only as the
 * configured CA vouches for it. Never logs a token or a credential. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jitsudo-agent/agent.h"
#include "lib/common/errors.h"
#include "lib/common/json.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

#define MAX_ANSWER (1024 * 1024)
#define API "/api/v1alpha1"

struct agent_server {
	const struct agent_config *config;
	cjose_jwk_t *key; /* private */
};

static void msg(char *message, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
msg(char *message, size_t size, const char *fmt, ...)
{
	if (!message || !size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, size, fmt, ap);
	va_end(ap);
}

void
agent_grant_wipe(struct agent_grant *g)
{
	for (size_t i = 0; i < g->cred_count; i++) {
		free(g->creds[i].name);
		if (g->creds[i].value) {
			explicit_bzero(g->creds[i].value, strlen(g->creds[i].value));
			free(g->creds[i].value);
		}
		g->creds[i].name = g->creds[i].value = NULL;
	}
	g->cred_count = 0;
}

/* ---- users ---------------------------------------------------------------------------- */

static int
fill_user(const struct agent_config *config, const struct passwd *pw, struct agent_user *u)
{
	gid_t gids[256];
	int ngroups = 256;
	size_t n = 0;

	memset(u, 0, sizeof(*u));
	if (strlen(pw->pw_name) > JIT_AP_MAX_USER)
		return JIT_ERR_INVALID;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	/* The identity: the template with {user} replaced. */
	const char *t = config->identity_template, *at = strstr(t, "{user}");
	int len = snprintf(u->identity, sizeof(u->identity), "%.*s%s%s", (int)(at - t), t,
	                   pw->pw_name, at + 6);
	if (len < 0 || (size_t)len >= sizeof(u->identity))
		return JIT_ERR_INVALID;
	if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &ngroups) < 0)
		ngroups = 256; /* more groups than we look at: use what fits */
	for (int i = 0; i < ngroups && n < AGENT_MAX_GROUPS; i++) {
		char buf[4096];
		struct group gr, *res = NULL;
		if (getgrgid_r(gids[i], &gr, buf, sizeof(buf), &res) != 0 || !res)
			continue;
		for (char **c = config->groups; c && *c; c++) {
			if (strcmp(*c, gr.gr_name) == 0 && strlen(gr.gr_name) < 64) {
				snprintf(u->group_store[n], sizeof(u->group_store[n]), "%s",
				         gr.gr_name);
				u->groups[n] = u->group_store[n];
				n++;
				break;
			}
		}
	}
	u->groups[n] = NULL;
	return 0;
}

int
agent_user_by_name(const struct agent_config *config, const char *name, struct agent_user *ret)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	return fill_user(config, res, ret);
}

int
agent_user_by_uid(const struct agent_config *config, uid_t uid, struct agent_user *ret)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	return fill_user(config, res, ret);
}

/* ---- keys ----------------------------------------------------------------------------- */

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

static int
load_key(const char *path, cjose_jwk_t **ret, char *error, size_t error_size)
{
	struct stat st;
	uint8_t x[32], y[32], d[32];
	char group[32] = "";
	cjose_err err;
	int r = 0;

	FILE *f = fopen(path, "re");
	if (!f) {
		r = -errno;
		msg(error, error_size, "host key %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & 077)) {
		fclose(f);
		msg(error, error_size, "host key %s: readable by group or others", path);
		return JIT_ERR_DENIED;
	}
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey || !EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		msg(error, error_size, "host key %s: not a P-256 private key (PEM)", path);
		return JIT_ERR_INVALID;
	}
	if (coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_X, x) < 0 ||
	    coordinate(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, y) < 0 ||
	    coordinate(pkey, OSSL_PKEY_PARAM_PRIV_KEY, d) < 0) {
		msg(error, error_size, "host key %s: unusable", path);
		r = JIT_ERR_INVALID;
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
		msg(error, error_size, "host key %s: %s", path, err.message);
		r = JIT_ERR_INVALID;
	}
out:
	explicit_bzero(d, sizeof(d));
	return r;
}

int
agent_keygen(const char *path, char *error, size_t error_size)
{
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = EVP_EC_gen("P-256");
	if (!pkey) {
		msg(error, error_size, "cannot generate a P-256 key");
		return JIT_ERR_INTERNAL;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int r = -errno;
		msg(error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	FILE *f = fdopen(fd, "w");
	if (!f || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) || fflush(f) != 0 ||
	    fsync(fd) < 0) {
		if (f)
			fclose(f);
		else
			close(fd);
		unlink(path);
		msg(error, error_size, "%s: cannot write the key", path);
		return JIT_ERR_INTERNAL;
	}
	fclose(f);
	if (!PEM_write_PUBKEY(stdout, pkey)) {
		msg(error, error_size, "cannot print the public key");
		return JIT_ERR_INTERNAL;
	}
	return 0;
}

int
agent_server_new(const struct agent_config *config, struct agent_server **ret, char *error,
                 size_t error_size)
{
	struct agent_server *s = calloc(1, sizeof(*s));
	int r;
	if (!s)
		return -ENOMEM;
	s->config = config;
	if ((r = load_key(config->key_file, &s->key, error, error_size)) < 0) {
		free(s);
		return r;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		agent_server_free(s);
		msg(error, error_size, "libcurl cannot start");
		return JIT_ERR_INTERNAL;
	}
	*ret = s;
	return 0;
}

void
agent_server_free(struct agent_server *s)
{
	if (!s)
		return;
	cjose_jwk_release(s->key);
	free(s);
}

/* A fresh host token for `user`. malloc'd; the caller wipes and frees it. */
static int
sign_token(struct agent_server *s, const struct agent_user *user, char **ret)
{
	uint8_t raw[16];
	char jti[33];
	int64_t now = jit_now_realtime_ns() / 1000000000LL;
	cjose_err err;
	char iss[300];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(jti + 2 * i, 3, "%02x", raw[i]);
	snprintf(iss, sizeof(iss), "jitsudo-host:%s", s->config->host_name);
	json_t *groups = json_array();
	for (size_t i = 0; groups && user->groups[i]; i++)
		json_array_append_new(groups, json_string(user->groups[i]));
	json_t *claims =
	        json_pack("{s:s,s:s,s:s,s:o*,s:I,s:I,s:s}", "iss", iss, "aud", s->config->audience,
	                  "sub", user->identity, "groups", groups, "iat", (json_int_t)now, "exp",
	                  (json_int_t)(now + s->config->token_ttl_seconds), "jti", jti);
	char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	if (!payload)
		return -ENOMEM;
	cjose_header_t *hdr = cjose_header_new(&err);
	cjose_jws_t *jws = NULL;
	const char *compact = NULL;
	int r = JIT_ERR_INTERNAL;
	if (hdr && cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err) &&
	    cjose_header_set(hdr, "typ", "JWT", &err) &&
	    (jws = cjose_jws_sign(s->key, hdr, (const uint8_t *)payload, strlen(payload), &err)) &&
	    cjose_jws_export(jws, &compact, &err)) {
		*ret = strdup(compact);
		r = *ret ? 0 : -ENOMEM;
	}
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	free(payload);
	return r;
}

struct answer {
	char *data;
	size_t len;
	bool too_large;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct answer *a = userdata;
	size_t n = size * nmemb;
	if (a->len + n > MAX_ANSWER) {
		a->too_large = true;
		return 0;
	}
	char *grown = realloc(a->data, a->len + n + 1);
	if (!grown)
		return 0;
	a->data = grown;
	memcpy(a->data + a->len, ptr, n);
	a->len += n;
	a->data[a->len] = '\0';
	return n;
}

/* One HTTP exchange. Returns 0 and the status and parsed JSON (may be NULL for an empty or
 * unparsable body), or JIT_ERR_UNAVAILABLE / JIT_ERR_TIMEOUT with a message. */
static int
call(struct agent_server *s, const struct agent_user *user, const char *method, const char *path,
     json_t *body, uint64_t deadline_ns, long *ret_status, json_t **ret_json, char *message,
     size_t message_size)
{
	char url[2048], *token = NULL, auth[8192];
	struct answer a = { 0 };
	struct curl_slist *headers = NULL;
	char *text = NULL;
	int r;

	uint64_t now = jit_ap_now_ns();
	if (now >= deadline_ns) {
		msg(message, message_size, "deadline passed before jitsudod could be asked");
		return JIT_ERR_TIMEOUT;
	}
	long timeout_ms = (long)((deadline_ns - now) / 1000000);
	if (timeout_ms > s->config->server_timeout_ms)
		timeout_ms = s->config->server_timeout_ms;
	if (timeout_ms < 1)
		timeout_ms = 1;
	if (snprintf(url, sizeof(url), "%s%s%s", s->config->server_url, API, path) >=
	    (int)sizeof(url))
		return JIT_ERR_INVALID;
	if ((r = sign_token(s, user, &token)) < 0) {
		msg(message, message_size, "cannot sign the host token");
		return r;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	explicit_bzero(token, strlen(token));
	free(token);
	CURL *h = curl_easy_init();
	if (!h) {
		explicit_bzero(auth, sizeof(auth));
		return -ENOMEM;
	}
	headers = curl_slist_append(headers, auth);
	explicit_bzero(auth, sizeof(auth));
	if (body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		text = json_dumps(body, JSON_COMPACT);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (s->config->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->config->ca_file);
	if (text)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	/* The header list holds the token. */
	for (struct curl_slist *l = headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	free(text);
	if (cc != CURLE_OK || a.too_large) {
		msg(message, message_size, "jitsudod unreachable: %s",
		    a.too_large ? "answer too large" : curl_easy_strerror(cc));
		if (a.data)
			explicit_bzero(a.data, a.len);
		free(a.data);
		return JIT_ERR_UNAVAILABLE;
	}
	json_error_t jerr;
	*ret_json = a.data ? json_loadb(a.data, a.len, 0, &jerr) : NULL;
	if (a.data)
		explicit_bzero(a.data, a.len);
	free(a.data);
	*ret_status = status;
	return 0;
}

/* Translates a non-2xx status into an error code and message. */
static int
status_error(long status, const json_t *answer, char *message, size_t message_size)
{
	const char *text = json_string_value(json_object_get(answer, "message"));
	msg(message, message_size, "%s", text ? text : "jitsudod refused the call");
	switch (status) {
	case 400:
		return JIT_ERR_INVALID;
	case 401:
		return JIT_ERR_UNAUTHENTICATED;
	case 403:
		return JIT_ERR_DENIED;
	case 404:
		return JIT_ERR_NOT_FOUND;
	case 409:
		return JIT_ERR_CONFLICT;
	default:
		if (status >= 500 || status == 0) {
			msg(message, message_size, "jitsudod unavailable (HTTP %ld): %s", status,
			    text ? text : "no message");
			return JIT_ERR_UNAVAILABLE;
		}
		return JIT_ERR_PROTOCOL;
	}
}

static int
copy_text(char *dst, size_t size, const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s)
		s = "";
	if (strlen(s) >= size)
		return JIT_ERR_TOO_LARGE;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* Reads a request object of the API into a grant; checks it is the user's. */
static int
parse_request(const json_t *req, const struct agent_user *user, struct agent_grant *g)
{
	const char *state = json_string_value(json_object_get(req, "state"));
	const char *who = json_string_value(json_object_get(req, "requester_identity"));
	memset(g, 0, sizeof(*g));
	if (!state || !who || strcmp(who, user->identity) != 0)
		return JIT_ERR_PROTOCOL;
	g->uid = user->uid;
	if (strncmp(state, "REQUEST_STATE_", 14) == 0)
		state += 14;
	if (copy_text(g->request_id, sizeof(g->request_id), json_object_get(req, "id")) < 0 ||
	    !g->request_id[0] || strlen(state) >= sizeof(g->state) ||
	    copy_text(g->provider, sizeof(g->provider), json_object_get(req, "provider")) < 0 ||
	    copy_text(g->role, sizeof(g->role), json_object_get(req, "role")) < 0 ||
	    copy_text(g->scope, sizeof(g->scope), json_object_get(req, "resource_scope")) < 0)
		return JIT_ERR_PROTOCOL;
	snprintf(g->state, sizeof(g->state), "%s", state);
	const char *why = json_string_value(json_object_get(req, "decision_reason"));
	if (why)
		snprintf(g->message, sizeof(g->message), "%s", why);
	const char *exp = json_string_value(json_object_get(req, "expires_at"));
	int64_t ns;
	if (exp && jit_rfc3339_parse(exp, &ns) == 0)
		g->expires_at = ns / 1000000000LL;
	return 0;
}

int
agent_server_list(struct agent_server *s, const struct agent_user *user, uint64_t deadline_ns,
                  struct agent_grant *ret, size_t max, size_t *ret_count, char *message,
                  size_t message_size)
{
	static const char *const states[] = { "ACTIVE", "APPROVED", "PENDING" };
	size_t n = 0;
	for (size_t k = 0; k < 3; k++) {
		_cleanup_json_ json_t *answer = NULL;
		char path[128];
		long status = 0;
		snprintf(path, sizeof(path), "/requests?mine=true&page_size=100&state=%s",
		         states[k]);
		int r = call(s, user, "GET", path, NULL, deadline_ns, &status, &answer, message,
		             message_size);
		if (r < 0)
			return r;
		if (status != 200)
			return status_error(status, answer, message, message_size);
		const json_t *list = json_object_get(answer, "requests");
		size_t i;
		json_t *item;
		json_array_foreach(list, i, item)
		{
			if (n >= max)
				break;
			if (parse_request(item, user, &ret[n]) == 0)
				n++;
		}
	}
	*ret_count = n;
	return 0;
}

static int
request_answer(long status, json_t *answer, const struct agent_user *user, struct agent_grant *ret,
               char *message, size_t message_size)
{
	if (status != 200)
		return status_error(status, answer, message, message_size);
	if (parse_request(json_object_get(answer, "request"), user, ret) < 0) {
		msg(message, message_size, "jitsudod answered an unexpected request object");
		return JIT_ERR_PROTOCOL;
	}
	return 0;
}

int
agent_server_create(struct agent_server *s, const struct agent_user *user, const char *provider,
                    const char *role, const char *scope, int64_t duration, const char *reason,
                    bool break_glass, uint64_t deadline_ns, struct agent_grant *ret, char *message,
                    size_t message_size)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_json_ json_t *body =
	        json_pack("{s:s,s:s,s:s,s:I,s:s,s:b}", "provider", provider, "role", role,
	                  "resource_scope", scope ? scope : "", "duration_seconds",
	                  (json_int_t)duration, "reason", reason, "break_glass", break_glass);
	long status = 0;
	if (!body)
		return -ENOMEM;
	int r = call(s, user, "POST", "/requests", body, deadline_ns, &status, &answer, message,
	             message_size);
	return r < 0 ? r : request_answer(status, answer, user, ret, message, message_size);
}

static bool
id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > JIT_AP_MAX_REQUEST_ID)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-'))
			return false;
	return true;
}

int
agent_server_get(struct agent_server *s, const struct agent_user *user, const char *id,
                 uint64_t deadline_ns, struct agent_grant *ret, char *message, size_t message_size)
{
	_cleanup_json_ json_t *answer = NULL;
	char path[128];
	long status = 0;
	if (!id_ok(id))
		return JIT_ERR_NOT_FOUND;
	snprintf(path, sizeof(path), "/requests/%s", id);
	int r = call(s, user, "GET", path, NULL, deadline_ns, &status, &answer, message,
	             message_size);
	return r < 0 ? r : request_answer(status, answer, user, ret, message, message_size);
}

int
agent_server_credentials(struct agent_server *s, const struct agent_user *user,
                         struct agent_grant *g, uint64_t deadline_ns, char *message,
                         size_t message_size)
{
	_cleanup_json_ json_t *answer = NULL;
	char path[128];
	long status = 0;
	if (!id_ok(g->request_id))
		return JIT_ERR_NOT_FOUND;
	snprintf(path, sizeof(path), "/requests/%s/credentials", g->request_id);
	int r = call(s, user, "GET", path, NULL, deadline_ns, &status, &answer, message,
	             message_size);
	if (r < 0)
		return r;
	if (status != 200)
		return status_error(status, answer, message, message_size);
	const json_t *grant = json_object_get(answer, "grant");
	const json_t *list = json_object_get(grant, "credentials");
	size_t i;
	json_t *item;
	agent_grant_wipe(g);
	json_array_foreach(list, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));
		json_t *value = json_object_get(item, "value");
		if (!name || !json_string_value(value) || g->cred_count >= AGENT_MAX_CREDS)
			continue;
		g->creds[g->cred_count].name = strdup(name);
		g->creds[g->cred_count].value = strdup(json_string_value(value));
		explicit_bzero((char *)json_string_value(value), json_string_length(value));
		if (!g->creds[g->cred_count].name || !g->creds[g->cred_count].value) {
			g->cred_count++;
			agent_grant_wipe(g);
			return -ENOMEM;
		}
		g->cred_count++;
	}
	const char *exp = json_string_value(json_object_get(grant, "expires_at"));
	int64_t ns;
	if (exp && jit_rfc3339_parse(exp, &ns) == 0)
		g->expires_at = ns / 1000000000LL;
	snprintf(g->state, sizeof(g->state), "ACTIVE");
	return 0;
}

int
agent_server_revoke(struct agent_server *s, const struct agent_user *user, const char *id,
                    const char *reason, uint64_t deadline_ns, char *message, size_t message_size)
{
	_cleanup_json_ json_t *answer = NULL;
	_cleanup_json_ json_t *body = json_pack("{s:s}", "reason", reason);
	char path[128];
	long status = 0;
	if (!id_ok(id))
		return JIT_ERR_NOT_FOUND;
	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/requests/%s/revoke", id);
	int r = call(s, user, "POST", path, body, deadline_ns, &status, &answer, message,
	             message_size);
	if (r < 0)
		return r;
	return status == 200 ? 0 : status_error(status, answer, message, message_size);
}
