/* The agent's calls to jitsudod's REST API, as the host acting for one local user: each call is
 * made by the helper jitsudo-agent-call (TLS and the host key stay out of the agent), which
 * signs a fresh ES256 token for it (iss jitsudo-host:<name>, sub the user's identity, the
 * user's allowed groups, a new jti, at most token_ttl long). Bounded in time by the caller's
 * deadline and in size (1 MiB answers). Never logs a token or a credential. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "jitsudo-agent/agent.h"
#include "jitsudo-agent/call/call.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

#define API "/api/v1alpha1"

struct agent_server {
	const struct agent_config *config;
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

/* ---- calls through the helper --------------------------------------------------------- */

int
agent_server_new(const struct agent_config *config, struct agent_server **ret,
                 struct jit_error *error)
{
	const char *argv[] = { AGENT_CALL_HELPER, "check-key", config->key_file, NULL };
	char *out = NULL;
	size_t len = 0;
	int code = 0, r;

	if ((r = agent_helper_init(error)) < 0)
		return r;
	/* The key is read by the helper at every call; checked once here so that a wrong key
	 * stops the agent at start with the helper's message (on standard error). */
	r = agent_helper_run(argv, "", 0, jit_ap_deadline_ms(10000), &out, &len, &code);
	free(out);
	if (r < 0 || code != 0)
		return jit_error_set(error, r < 0 ? r : JIT_ERR_INVALID,
		                     "host key %s is not usable (see the message above)",
		                     config->key_file);
	struct agent_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->config = config;
	*ret = s;
	return 0;
}

void
agent_server_free(struct agent_server *s)
{
	free(s);
}

struct http_call {
	const char *method;
	const char *path; /* under the API's base */
	json_t *body;     /* NULL: none */
};

/* Reads the answer of call i from the helper's output at *cursor. */
static int
parse_answer(char **cursor, char *end, long *ret_status, json_t **ret_json, char *message,
             size_t message_size)
{
	char *line = *cursor, *nl = memchr(line, '\n', (size_t)(end - line));
	if (nl && strncmp(line, "STATUS ", 7) == 0) {
		char *p = NULL;
		long status = strtol(line + 7, &p, 10);
		unsigned long long body_len = p && *p == ' ' ? strtoull(p + 1, &p, 10) : 0;
		if (p == nl && status >= 100 && status <= 599 &&
		    body_len <= (unsigned long long)(end - nl - 1)) {
			json_error_t jerr;
			*ret_json = body_len ? json_loadb(nl + 1, body_len, 0, &jerr) : NULL;
			*ret_status = status;
			*cursor = nl + 1 + body_len;
			return 0;
		}
	}
	if (nl && strncmp(line, "ERROR ", 6) == 0) {
		*nl = '\0';
		char *kind = line + 6, *text = strchr(kind, ' ');
		if (text)
			*text++ = '\0';
		msg(message, message_size, "%s", text ? text : kind);
		return strcmp(kind, "timeout") == 0       ? JIT_ERR_TIMEOUT
		       : strcmp(kind, "unreachable") == 0 ? JIT_ERR_UNAVAILABLE
		                                          : JIT_ERR_INTERNAL;
	}
	msg(message, message_size, "jitsudod unreachable: the call helper answered nothing");
	return JIT_ERR_UNAVAILABLE;
}

/* HTTP exchanges made in order by one run of the helper, on one connection, each with a fresh
 * host token. Returns 0 with every status and parsed JSON (a body may be NULL when empty or
 * unparsable; the caller decrefs them), or JIT_ERR_UNAVAILABLE / JIT_ERR_TIMEOUT /
 * JIT_ERR_INTERNAL with a message (nothing returned). The whole run ends by deadline_ns plus
 * the helper's start. */
static int
call_many(struct agent_server *s, const struct agent_user *user, size_t n,
          const struct http_call *calls, uint64_t deadline_ns, long *ret_status, json_t **ret_json,
          char *message, size_t message_size)
{
	const struct agent_config *c = s->config;
	const char *argv[] = { AGENT_CALL_HELPER, "call", NULL };
	char *input = NULL, *out = NULL;
	size_t len = 0;
	int r;

	if (n == 0 || n > AGENT_CALL_MAX_CALLS)
		return JIT_ERR_INVALID;
	uint64_t now = jit_ap_now_ns();
	if (now >= deadline_ns) {
		msg(message, message_size, "deadline passed before jitsudod could be asked");
		return JIT_ERR_TIMEOUT;
	}
	/* Each exchange gets its share of what is left, at most server.timeout. */
	long timeout_ms = (long)((deadline_ns - now) / 1000000 / n);
	if (timeout_ms > c->server_timeout_ms)
		timeout_ms = c->server_timeout_ms;
	if (timeout_ms < 1)
		timeout_ms = 1;
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		char url[2048];
		if (snprintf(url, sizeof(url), "%s%s%s", c->server_url, API, calls[i].path) >=
		    (int)sizeof(url)) {
			json_decref(list);
			return JIT_ERR_INVALID;
		}
		char *text = calls[i].body ? json_dumps(calls[i].body, JSON_COMPACT) : NULL;
		json_array_append_new(list, json_pack("{s:s,s:s,s:s*}", "url", url, "method",
		                                      calls[i].method, "body", text));
		free(text);
	}
	json_t *groups = json_array();
	for (size_t i = 0; groups && user->groups[i]; i++)
		json_array_append_new(groups, json_string(user->groups[i]));
	json_t *req =
	        json_pack("{s:s,s:s*,s:s,s:s,s:I,s:s,s:o*,s:o*,s:I}", "key_file", c->key_file,
	                  "ca_file", c->ca_file, "host", c->host_name, "audience", c->audience,
	                  "token_ttl", (json_int_t)c->token_ttl_seconds, "sub", user->identity,
	                  "groups", groups, "calls", list, "timeout_ms", (json_int_t)timeout_ms);
	input = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!input)
		return -ENOMEM;
	/* The helper bounds each exchange by timeout_ms; the extra second covers its start. */
	uint64_t hard = jit_ap_now_ns() + ((uint64_t)timeout_ms * n + 1000) * 1000000ull;
	r = agent_helper_run(argv, input, strlen(input), hard, &out, &len, NULL);
	free(input);
	if (r < 0) {
		msg(message, message_size, "jitsudod unreachable: the call helper failed: %s",
		    jit_strerror(r));
		return r == JIT_ERR_TIMEOUT ? JIT_ERR_TIMEOUT : JIT_ERR_UNAVAILABLE;
	}
	char *cursor = out;
	size_t done = 0;
	for (; done < n; done++)
		if ((r = parse_answer(&cursor, out + len, &ret_status[done], &ret_json[done],
		                      message, message_size)) < 0)
			break;
	if (r < 0)
		for (size_t i = 0; i < done; i++)
			json_decref(TAKE_PTR(ret_json[i]));
	explicit_bzero(out, len);
	free(out);
	return r;
}

/* One HTTP exchange through the helper (see call_many). */
static int
call(struct agent_server *s, const struct agent_user *user, const char *method, const char *path,
     json_t *body, uint64_t deadline_ns, long *ret_status, json_t **ret_json, char *message,
     size_t message_size)
{
	const struct http_call one = { method, path, body };
	return call_many(s, user, 1, &one, deadline_ns, ret_status, ret_json, message,
	                 message_size);
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
	struct http_call calls[3];
	char paths[3][128];
	long status[3] = { 0 };
	json_t *answers[3] = { NULL, NULL, NULL };
	size_t n = 0;
	for (size_t k = 0; k < 3; k++) {
		snprintf(paths[k], sizeof(paths[k]), "/requests?mine=true&page_size=100&state=%s",
		         states[k]);
		calls[k] = (struct http_call){ "GET", paths[k], NULL };
	}
	/* One run of the helper for the three lists. */
	int r = call_many(s, user, 3, calls, deadline_ns, status, answers, message, message_size);
	if (r < 0)
		return r;
	for (size_t k = 0; k < 3 && r == 0; k++) {
		if (status[k] != 200) {
			r = status_error(status[k], answers[k], message, message_size);
			break;
		}
		const json_t *list = json_object_get(answers[k], "requests");
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
	for (size_t k = 0; k < 3; k++)
		json_decref(answers[k]);
	if (r < 0)
		return r;
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
