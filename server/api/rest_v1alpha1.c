/* REST routing and the translation between HTTP and the workflow. Trusts nothing from the
 * wire: the caller is authenticated (authn.h) before any /api/ handler runs, bodies are
 * capped and parsed strictly (unknown fields and wrong types are 400 naming the field), query
 * parameters are bounded and checked. Answers are JSON; error answers are {"code",
 * "message"}. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/buf.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/text.h"
#include "lib/common/timeutil.h"
#include "server/api/rest_v1alpha1.h"
#include "server/api/authn.h"
#include "lib/common/base64url.h"
#include "server/core/workflow.h"

#define API_PREFIX "/api/v1alpha1/"
#define MAX_QUERY_PARAMS 16
#define MAX_QUERY_VALUE 1024
#define MAX_QUERY_BYTES 8192
#define DEFAULT_PAGE_SIZE 100
#define MAX_PAGE_SIZE 1000

/* ---- answers -------------------------------------------------------------------------- */

static void
respond_json(struct jit_http_response *res, int status, json_t *json)
{
	res->status = status;
	res->content_type = "application/json";
	res->body = json ? json_dumps(json, JSON_COMPACT) : NULL;
	json_decref(json);
	if (!res->body) {
		res->status = 500;
		res->body = strdup("{\"code\":\"internal\",\"message\":\"out of memory\"}");
	}
	res->body_len = res->body ? strlen(res->body) : 0;
}

/* The one place where a JIT_ERR_* code becomes an HTTP answer: its status and the "code" of
 * the error body. JIT_ERR_WOULD_BLOCK (an event loop's worker must not wait) is no answer:
 * the request runs again, from the start, on a thread. */
static void
respond_error(struct jit_http_response *res, int code, const char *message)
{
	int status;
	const char *name;
	if (code == JIT_ERR_WOULD_BLOCK) {
		jit_http_response_clear(res);
		res->defer = true;
		return;
	}
	switch (code) {
	case JIT_ERR_INVALID:
		status = 400, name = "invalid_argument";
		break;
	case JIT_ERR_UNAUTHENTICATED:
		status = 401, name = "unauthenticated";
		break;
	case JIT_ERR_DENIED:
		status = 403, name = "permission_denied";
		break;
	case JIT_ERR_NOT_FOUND:
		status = 404, name = "not_found";
		break;
	case JIT_ERR_CONFLICT:
		status = 409, name = "failed_precondition";
		break;
	case JIT_ERR_TOO_LARGE:
		status = 413, name = "payload_too_large";
		break;
	case JIT_ERR_UPSTREAM:
		status = 502, name = "provider_error";
		break;
	case JIT_ERR_UNAVAILABLE:
		status = 503, name = "unavailable";
		break;
	default:
		status = 500, name = "internal";
		break;
	}
	respond_json(res, status, json_pack("{s:s,s:s}", "code", name, "message", message));
}

static void
respond_status(struct jit_http_response *res, const struct jit_error *status)
{
	respond_error(res, status->code,
	              status->message[0] ? status->message : jit_strerror(status->code));
}

/* ---- query strings -------------------------------------------------------------------- */

struct query_param {
	char key[32];
	char value[MAX_QUERY_VALUE + 1];
};

struct query {
	struct query_param params[MAX_QUERY_PARAMS];
	size_t count;
};

/* Percent-decodes (and '+' to space) `len` bytes into `out` (size `size`). */
static int
url_decode(const char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '%') {
			if (i + 2 >= len)
				return JIT_ERR_INVALID;
			int hi = jit_hex_digit(in[i + 1]), lo = jit_hex_digit(in[i + 2]);
			if (hi < 0 || lo < 0)
				return JIT_ERR_INVALID;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0' || o + 1 >= size)
			return JIT_ERR_INVALID;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int
parse_query(const char *text, size_t len, const char *const *allowed, struct query *q,
            struct jit_error *status)
{
	q->count = 0;
	if (!text || len == 0)
		return 0;
	if (len > MAX_QUERY_BYTES)
		return jit_error_set(status, JIT_ERR_INVALID, "query string too long");
	size_t start = 0;
	while (start <= len) {
		size_t end = start;
		while (end < len && text[end] != '&')
			end++;
		if (end > start) {
			const char *eq = memchr(text + start, '=', end - start);
			size_t klen = eq ? (size_t)(eq - (text + start)) : end - start;
			if (q->count == MAX_QUERY_PARAMS)
				return jit_error_set(status, JIT_ERR_INVALID,
				                     "too many query parameters");
			struct query_param *p = &q->params[q->count];
			if (url_decode(text + start, klen, p->key, sizeof(p->key)) < 0)
				return jit_error_set(status, JIT_ERR_INVALID,
				                     "malformed query parameter name");
			const char *v = eq ? eq + 1 : text + end;
			if (url_decode(v, (size_t)(text + end - v), p->value, sizeof(p->value)) < 0)
				return jit_error_set(status, JIT_ERR_INVALID,
				                     "%s: malformed or longer than %d bytes",
				                     p->key, MAX_QUERY_VALUE);
			bool known = false;
			for (const char *const *a = allowed; *a && !known; a++)
				known = strcmp(*a, p->key) == 0;
			if (!known)
				return jit_error_set(status, JIT_ERR_INVALID,
				                     "unknown query parameter \"%.31s\"", p->key);
			for (size_t i = 0; i < q->count; i++)
				if (strcmp(q->params[i].key, p->key) == 0)
					return jit_error_set(status, JIT_ERR_INVALID,
					                     "%s: given more than once", p->key);
			q->count++;
		}
		start = end + 1;
	}
	return 0;
}

static const char *
query_get(const struct query *q, const char *key)
{
	for (size_t i = 0; i < q->count; i++)
		if (strcmp(q->params[i].key, key) == 0)
			return q->params[i].value;
	return NULL;
}

static int
query_bool(const struct query *q, const char *key, bool *ret, struct jit_error *status)
{
	const char *v = query_get(q, key);
	*ret = false;
	if (!v)
		return 0;
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*ret = true;
	else if (strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
		return jit_error_set(status, JIT_ERR_INVALID, "%s: must be true or false", key);
	return 0;
}

static int
query_page_size(const struct query *q, size_t *ret, struct jit_error *status)
{
	const char *v = query_get(q, "page_size");
	*ret = DEFAULT_PAGE_SIZE;
	if (!v || !v[0])
		return 0;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || *end || n < 0 || n > MAX_PAGE_SIZE)
		return jit_error_set(status, JIT_ERR_INVALID, "page_size: an integer from 1 to %d",
		                     MAX_PAGE_SIZE);
	if (n > 0)
		*ret = (size_t)n;
	return 0;
}

static int
query_time(const struct query *q, const char *key, int64_t *ret, struct jit_error *status)
{
	const char *v = query_get(q, key);
	*ret = 0;
	if (!v || !v[0])
		return 0;
	if (jit_rfc3339_parse(v, ret) < 0)
		return jit_error_set(status, JIT_ERR_INVALID, "%s: not an RFC 3339 timestamp", key);
	return 0;
}

/* ---- page tokens: base64url of "<kind>:<position>" ------------------------------------ */

static void
token_encode(const char *plain, char *out, size_t size)
{
	if (jit_base64url_encode(plain, strlen(plain), out, size) < 0)
		out[0] = '\0';
}

/* Decodes a page token into NUL-terminated text; refuses anything that is not strict
 * base64url of printable text. */
static int
token_decode(const char *text, char *out, size_t size)
{
	size_t n = 0;
	if (size == 0 || jit_base64url_decode(text, strlen(text), (uint8_t *)out, size - 1, &n) < 0)
		return JIT_ERR_INVALID;
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x21 || out[i] > 0x7e)
			return JIT_ERR_INVALID;
	return 0;
}

/* ---- bodies --------------------------------------------------------------------------- */

static int
parse_body(struct jit_worker *w, const struct jit_http_request *req, bool optional,
           const char *const *fields, json_t **ret, struct jit_error *status)
{
	char error[256] = "";
	if (req->body_len == 0 && optional) {
		*ret = json_object();
		return *ret ? 0 : jit_error_set(status, -ENOMEM, "out of memory");
	}
	int r = jit_json_parse_object(req->body, req->body_len, w->server->config->max_body_bytes,
	                              ret, error, sizeof(error));
	if (r < 0)
		return jit_error_set(status, r, "%s", error);
	if ((r = jit_json_check_fields(*ret, fields, error, sizeof(error))) < 0) {
		json_decref(*ret);
		*ret = NULL;
		return jit_error_set(status, r, "%s", error);
	}
	return 0;
}

/* ---- handlers ------------------------------------------------------------------------- */

struct ctx {
	struct jit_worker *w;
	const struct jit_http_request *req;
	struct jit_http_response *res;
	struct jit_caller caller;
	struct jit_error status;
};

static void
answer_request(struct ctx *c, int r, struct jit_request *request)
{
	if (r < 0) {
		respond_status(c->res, &c->status);
		return;
	}
	/* Written directly: this is the answer of most calls, GET above all. */
	struct jit_buf out;
	jit_buf_init(&out, 4 * 1024 * 1024);
	r = jit_buf_put(&out, "{\"request\":", 11);
	if (r == 0)
		r = jit_request_write_json(request, &out);
	if (r == 0)
		r = jit_buf_put(&out, "}", 2); /* with the NUL */
	jit_request_free(request);
	if (r < 0) {
		jit_buf_free(&out);
		respond_error(c->res, JIT_ERR_INTERNAL, "writing the answer failed");
		return;
	}
	c->res->status = 200;
	c->res->content_type = "application/json";
	c->res->body = (char *)out.data;
	c->res->body_len = out.length - 1;
}

static void
h_create(struct ctx *c)
{
	static const char *const fields[] = { "provider",         "role",   "resource_scope",
		                              "duration_seconds", "reason", "break_glass",
		                              "metadata",         NULL };
	_cleanup_json_ json_t *body = NULL;
	char e[256] = "";
	struct jit_request_spec spec = { 0 };
	int r = parse_body(c->w, c->req, false, fields, &body, &c->status);
	if (r < 0)
		return respond_status(c->res, &c->status);
	if (jit_json_get_string(body, "provider", true, JIT_MAX_PROVIDER, &spec.provider, e,
	                        sizeof(e)) < 0 ||
	    jit_json_get_string(body, "role", true, JIT_MAX_ROLE, &spec.role, e, sizeof(e)) < 0 ||
	    jit_json_get_string(body, "resource_scope", true, JIT_MAX_SCOPE, &spec.resource_scope,
	                        e, sizeof(e)) < 0 ||
	    jit_json_get_string(body, "reason", true, JIT_MAX_REASON, &spec.reason, e, sizeof(e)) <
	            0)
		return respond_error(c->res, JIT_ERR_INVALID, e);
	/* duration_seconds: a JSON integer, or (as proto JSON writes int64) a string of digits. */
	json_t *d = json_object_get(body, "duration_seconds");
	if (json_is_string(d)) {
		const char *s = json_string_value(d);
		char *end = NULL;
		errno = 0;
		spec.duration_seconds = strtoll(s, &end, 10);
		if (!s[0] || *end || errno)
			return respond_error(c->res, JIT_ERR_INVALID,
			                     "field \"duration_seconds\" must be an integer");
	} else if (jit_json_get_int(body, "duration_seconds", true, &spec.duration_seconds, e,
	                            sizeof(e)) < 0) {
		return respond_error(c->res, JIT_ERR_INVALID, e);
	}
	if ((r = jit_json_get_bool(body, "break_glass", false, &spec.break_glass, e, sizeof(e))) <
	            0 &&
	    r != JIT_ERR_NOT_FOUND)
		return respond_error(c->res, JIT_ERR_INVALID, e);
	json_t *metadata = json_object_get(body, "metadata");
	if (metadata && !json_is_null(metadata)) {
		if (!json_is_object(metadata))
			return respond_error(c->res, JIT_ERR_INVALID,
			                     "field \"metadata\" must be an object of strings");
		spec.metadata = metadata;
	}
	struct jit_request *request = NULL;
	r = jit_wf_create(c->w, &c->caller, &spec, &request, &c->status);
	answer_request(c, r, request);
}

static void
h_list(struct ctx *c)
{
	static const char *const params[] = { "mine",  "pending",   "requester_identity",
		                              "state", "page_size", "page_token",
		                              NULL };
	struct query q;
	struct jit_list_options options = { 0 };
	char position[64] = "";
	if (parse_query(c->req->query, c->req->query_len, params, &q, &c->status) < 0 ||
	    query_bool(&q, "mine", &options.mine, &c->status) < 0 ||
	    query_bool(&q, "pending", &options.pending, &c->status) < 0 ||
	    query_page_size(&q, &options.page_size, &c->status) < 0)
		return respond_status(c->res, &c->status);
	const char *v = query_get(&q, "state");
	if (v && v[0] && jit_state_parse(v, &options.state) < 0)
		return respond_error(c->res, JIT_ERR_INVALID,
		                     "state: one of PENDING, APPROVED, REJECTED, ACTIVE, EXPIRED, "
		                     "REVOKED (or REQUEST_STATE_...)");
	v = query_get(&q, "requester_identity");
	if (v && v[0])
		options.requester_identity = v;
	v = query_get(&q, "page_token");
	if (v && v[0]) {
		if (token_decode(v, position, sizeof(position)) < 0 ||
		    strncmp(position, "r:", 2) != 0 || !jit_id_valid(position + 2))
			return respond_error(c->res, JIT_ERR_INVALID, "page_token: invalid");
		options.before_id = position + 2;
	}
	struct jit_request **list = NULL;
	size_t count = 0;
	char next[JIT_ID_LENGTH + 1] = "";
	if (jit_wf_list(c->w, &c->caller, &options, &list, &count, next, &c->status) < 0)
		return respond_status(c->res, &c->status);
	json_t *array = json_array();
	for (size_t i = 0; array && i < count; i++)
		json_array_append_new(array, jit_request_to_json(list[i]));
	jit_request_list_free(list, count);
	char token[96] = "";
	if (next[0]) {
		char plain[64];
		snprintf(plain, sizeof(plain), "r:%s", next);
		token_encode(plain, token, sizeof(token));
	}
	respond_json(c->res, 200,
	             json_pack("{s:o,s:s}", "requests", array, "next_page_token", token));
}

static void
h_get(struct ctx *c, const char *id)
{
	struct jit_request *request = NULL;
	int r = jit_wf_get(c->w, &c->caller, id, &request, &c->status);
	answer_request(c, r, request);
}

/* approve / deny / revoke share the shape: a body with one text field. */
static void
h_decide(struct ctx *c, const char *id, const char *verb)
{
	bool approve = strcmp(verb, "approve") == 0;
	const char *const approve_fields[] = { "comment", "request_id", NULL };
	const char *const reason_fields[] = { "reason", "request_id", NULL };
	_cleanup_json_ json_t *body = NULL;
	char e[256] = "";
	const char *text = NULL, *body_id = NULL;
	int r = parse_body(c->w, c->req, approve, approve ? approve_fields : reason_fields, &body,
	                   &c->status);
	if (r < 0)
		return respond_status(c->res, &c->status);
	r = jit_json_get_string(body, approve ? "comment" : "reason", !approve,
	                        approve ? JIT_MAX_COMMENT : JIT_MAX_REASON, &text, e, sizeof(e));
	if (r < 0 && r != JIT_ERR_NOT_FOUND)
		return respond_error(c->res, JIT_ERR_INVALID, e);
	r = jit_json_get_string(body, "request_id", false, JIT_ID_LENGTH, &body_id, e, sizeof(e));
	if (r < 0 && r != JIT_ERR_NOT_FOUND)
		return respond_error(c->res, JIT_ERR_INVALID, e);
	if (body_id && strcmp(body_id, id) != 0)
		return respond_error(c->res, JIT_ERR_INVALID,
		                     "request_id: does not match the request in the path");
	struct jit_request *request = NULL;
	if (approve)
		r = jit_wf_approve(c->w, &c->caller, id, text, &request, &c->status);
	else if (strcmp(verb, "deny") == 0)
		r = jit_wf_deny(c->w, &c->caller, id, text, &request, &c->status);
	else
		r = jit_wf_revoke(c->w, &c->caller, id, text, &request, &c->status);
	answer_request(c, r, request);
}

static void
h_credentials(struct ctx *c, const char *id)
{
	struct jit_grant grant = { 0 };
	if (jit_wf_credentials(c->w, &c->caller, id, &grant, &c->status) < 0)
		return respond_status(c->res, &c->status);
	char issued[JIT_RFC3339_MAX] = "", expires[JIT_RFC3339_MAX] = "";
	jit_rfc3339_format(grant.issued_at, false, issued, sizeof(issued));
	jit_rfc3339_format(grant.expires_at, false, expires, sizeof(expires));
	json_t *list = json_array();
	for (size_t i = 0; list && i < grant.count; i++)
		json_array_append_new(list,
		                      json_pack("{s:s,s:s}", "name", grant.credentials[i].name,
		                                "value", grant.credentials[i].value));
	json_t *answer = json_pack("{s:{s:s,s:o,s:s,s:s}}", "grant", "request_id", grant.request_id,
	                           "credentials", list, "issued_at", issued, "expires_at", expires);
	jit_grant_clear(&grant);
	/* The answer holds secrets: dump, then wipe jansson's copies before they are freed. */
	c->res->status = 200;
	c->res->content_type = "application/json";
	c->res->body = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
	c->res->body_len = c->res->body ? strlen(c->res->body) : 0;
	if (answer) {
		json_t *creds = json_object_get(json_object_get(answer, "grant"), "credentials");
		size_t i;
		json_t *item;
		json_array_foreach(creds, i, item)
		{
			json_t *value = json_object_get(item, "value");
			char *s = (char *)json_string_value(value);
			if (s)
				explicit_bzero(s, json_string_length(value));
		}
		json_decref(answer);
	}
	if (!c->res->body)
		respond_error(c->res, -ENOMEM, "out of memory");
}

static void
h_policy_list(struct ctx *c)
{
	struct jit_policy **list = NULL;
	size_t count = 0;
	if (c->req->query_len > 0)
		return respond_error(c->res, JIT_ERR_INVALID, "this endpoint takes no parameters");
	if (jit_wf_policy_list(c->w, &c->caller, &list, &count, &c->status) < 0)
		return respond_status(c->res, &c->status);
	json_t *array = json_array();
	for (size_t i = 0; array && i < count; i++)
		json_array_append_new(array, jit_policy_to_json(list[i]));
	jit_policy_list_free(list, count);
	respond_json(c->res, 200, json_pack("{s:o}", "policies", array));
}

static void
h_policy_get(struct ctx *c, const char *id)
{
	_cleanup_(jit_policy_freep) struct jit_policy *policy = NULL;
	if (jit_wf_policy_get(c->w, &c->caller, id, &policy, &c->status) < 0)
		return respond_status(c->res, &c->status);
	respond_json(c->res, 200, json_pack("{s:o}", "policy", jit_policy_to_json(policy)));
}

static int
body_policy_type(const json_t *body, bool required, enum jit_policy_type *ret,
                 struct jit_error *status)
{
	json_t *t = json_object_get(body, "type");
	if (!t && !required)
		return 0;
	if (!json_is_string(t) || jit_policy_type_parse(json_string_value(t), ret) < 0)
		return jit_error_set(status, JIT_ERR_INVALID,
		                     "type: POLICY_TYPE_ELIGIBILITY or POLICY_TYPE_APPROVAL");
	return 0;
}

static void
h_policy_apply(struct ctx *c)
{
	static const char *const fields[] = { "name",    "type", "rego", "description",
		                              "enabled", "id",   NULL };
	_cleanup_json_ json_t *body = NULL;
	_cleanup_(jit_policy_freep) struct jit_policy *policy = jit_policy_new();
	const char *name = NULL, *rego = NULL, *description = NULL;
	char e[256] = "";
	bool enabled = true;
	int r;
	if (!policy)
		return respond_error(c->res, -ENOMEM, "out of memory");
	if (parse_body(c->w, c->req, false, fields, &body, &c->status) < 0 ||
	    body_policy_type(body, true, &policy->type, &c->status) < 0)
		return respond_status(c->res, &c->status);
	if (jit_json_get_string(body, "name", true, JIT_MAX_POLICY_NAME, &name, e, sizeof(e)) < 0 ||
	    jit_json_get_string(body, "rego", true, JIT_MAX_POLICY_REGO, &rego, e, sizeof(e)) < 0 ||
	    ((r = jit_json_get_string(body, "description", false, JIT_MAX_POLICY_DESCRIPTION,
	                              &description, e, sizeof(e))) < 0 &&
	     r != JIT_ERR_NOT_FOUND) ||
	    ((r = jit_json_get_bool(body, "enabled", false, &enabled, e, sizeof(e))) < 0 &&
	     r != JIT_ERR_NOT_FOUND))
		return respond_error(c->res, JIT_ERR_INVALID, e);
	policy->name = strdup(name);
	policy->rego = strdup(rego);
	policy->description = strdup(description ? description : "");
	policy->enabled = enabled;
	if (!policy->name || !policy->rego || !policy->description)
		return respond_error(c->res, -ENOMEM, "out of memory");
	if (jit_wf_policy_apply(c->w, &c->caller, policy, &c->status) < 0)
		return respond_status(c->res, &c->status);
	respond_json(c->res, 200, json_pack("{s:o}", "policy", jit_policy_to_json(policy)));
}

static void
h_policy_delete(struct ctx *c, const char *id)
{
	if (jit_wf_policy_delete(c->w, &c->caller, id, &c->status) < 0)
		return respond_status(c->res, &c->status);
	respond_json(c->res, 200, json_object());
}

static void
h_policy_eval(struct ctx *c)
{
	static const char *const fields[] = { "input_json", "type", NULL };
	_cleanup_json_ json_t *body = NULL;
	const char *input_text = NULL;
	enum jit_policy_type type = JIT_POLICY_ELIGIBILITY;
	char e[256] = "";
	if (parse_body(c->w, c->req, false, fields, &body, &c->status) < 0 ||
	    body_policy_type(body, false, &type, &c->status) < 0)
		return respond_status(c->res, &c->status);
	if (jit_json_get_string(body, "input_json", true, c->w->server->config->max_body_bytes,
	                        &input_text, e, sizeof(e)) < 0)
		return respond_error(c->res, JIT_ERR_INVALID, e);
	_cleanup_json_ json_t *input = NULL;
	if (jit_json_parse_object(input_text, strlen(input_text),
	                          c->w->server->config->max_body_bytes, &input, e, sizeof(e)) < 0) {
		char message[300];
		snprintf(message, sizeof(message), "input_json: %s", e);
		return respond_error(c->res, JIT_ERR_INVALID, message);
	}
	struct jit_decision decision = { 0 };
	_cleanup_free_ char *result = NULL;
	if (jit_wf_policy_eval(c->w, &c->caller, type, input, &decision, &result, &c->status) < 0)
		return respond_status(c->res, &c->status);
	respond_json(c->res, 200,
	             json_pack("{s:b,s:s,s:s}", "allowed", decision.allow, "reason",
	                       decision.allow ? "" : decision.reason, "result_json",
	                       result ? result : "{}"));
}

static void
h_reload(struct ctx *c)
{
	static const char *const fields[] = { NULL };
	_cleanup_json_ json_t *body = NULL;
	size_t loaded = 0;
	if (parse_body(c->w, c->req, true, fields, &body, &c->status) < 0 ||
	    jit_wf_policy_reload(c->w, &c->caller, &loaded, &c->status) < 0)
		return respond_status(c->res, &c->status);
	respond_json(c->res, 200, json_pack("{s:I}", "policies_loaded", (json_int_t)loaded));
}

static void
h_audit(struct ctx *c)
{
	static const char *const params[] = { "actor_identity", "provider",  "request_id", "since",
		                              "until",          "page_size", "page_token", NULL };
	struct query q;
	struct jit_audit_filter filter = { 0 };
	size_t page_size = 0;
	if (parse_query(c->req->query, c->req->query_len, params, &q, &c->status) < 0 ||
	    query_time(&q, "since", &filter.since, &c->status) < 0 ||
	    query_time(&q, "until", &filter.until, &c->status) < 0 ||
	    query_page_size(&q, &page_size, &c->status) < 0)
		return respond_status(c->res, &c->status);
	if (filter.since && filter.until && filter.since > filter.until)
		return respond_error(c->res, JIT_ERR_INVALID, "since: later than until");
	const char *v;
	if ((v = query_get(&q, "actor_identity")) && v[0])
		filter.actor_identity = v;
	if ((v = query_get(&q, "provider")) && v[0])
		filter.provider = v;
	if ((v = query_get(&q, "request_id")) && v[0])
		filter.request_id = v;
	if ((v = query_get(&q, "page_token")) && v[0]) {
		char plain[64];
		char *end = NULL;
		if (token_decode(v, plain, sizeof(plain)) < 0 || strncmp(plain, "a:", 2) != 0)
			return respond_error(c->res, JIT_ERR_INVALID, "page_token: invalid");
		errno = 0;
		long long after = strtoll(plain + 2, &end, 10);
		if (errno || *end || end == plain + 2 || after < 0)
			return respond_error(c->res, JIT_ERR_INVALID, "page_token: invalid");
		filter.after_id = after;
	}
	filter.limit = page_size;
	struct jit_audit_event **list = NULL;
	size_t count = 0;
	int64_t next = 0;
	if (jit_wf_audit_query(c->w, &c->caller, &filter, &list, &count, &next, &c->status) < 0)
		return respond_status(c->res, &c->status);
	json_t *array = json_array();
	for (size_t i = 0; array && i < count; i++)
		json_array_append_new(array, jit_audit_event_to_json(list[i]));
	jit_audit_event_list_free(list, count);
	char token[64] = "";
	if (next > 0) {
		char plain[40];
		snprintf(plain, sizeof(plain), "a:%lld", (long long)next);
		token_encode(plain, token, sizeof(token));
	}
	respond_json(c->res, 200,
	             json_pack("{s:o,s:s}", "events", array, "next_page_token", token));
}

/* ---- unauthenticated endpoints -------------------------------------------------------- */

static void
h_readyz(struct ctx *c)
{
	c->res->status = 200;
	c->res->content_type = "text/plain";
	if (jit_store_ping(c->w->store) < 0) {
		c->res->status = 503;
		c->res->body = strdup("database unavailable\n");
	} else {
		c->res->body = strdup("ok\n");
	}
	c->res->body_len = c->res->body ? strlen(c->res->body) : 0;
}

/* ---- routing -------------------------------------------------------------------------- */

static bool
method_is(const struct jit_http_request *req, const char *m)
{
	return req->method_len == strlen(m) && memcmp(req->method, m, req->method_len) == 0;
}

static void
method_not_allowed(struct jit_http_response *res, const char *allow)
{
	res->allow = allow;
	respond_json(res, 405,
	             json_pack("{s:s,s:s}", "code", "method_not_allowed", "message",
	                       "method not allowed"));
}

/* Splits "requests/<id>/<verb>" style paths: returns the number of segments (at most 3). */
static size_t
split_path(const char *path, size_t len, char segs[3][64])
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || path[i] == '/') {
			if (n == 3 || i - start >= 64 || i == start)
				return 4;
			memcpy(segs[n], path + start, i - start);
			segs[n][i - start] = '\0';
			n++;
			start = i + 1;
		}
	}
	return n;
}

static void
route_api(struct ctx *c, const char *path, size_t len)
{
	const struct jit_http_request *req = c->req;
	char seg[3][64];
	size_t n = split_path(path, len, seg);
	bool get = method_is(req, "GET"), post = method_is(req, "POST");

	if (n == 1 && strcmp(seg[0], "requests") == 0)
		return post  ? h_create(c)
		       : get ? h_list(c)
		             : method_not_allowed(c->res, "GET, POST");
	if (n == 2 && strcmp(seg[0], "requests") == 0)
		return get ? h_get(c, seg[1]) : method_not_allowed(c->res, "GET");
	if (n == 3 && strcmp(seg[0], "requests") == 0) {
		if (strcmp(seg[2], "credentials") == 0)
			return get ? h_credentials(c, seg[1]) : method_not_allowed(c->res, "GET");
		if (strcmp(seg[2], "approve") == 0 || strcmp(seg[2], "deny") == 0 ||
		    strcmp(seg[2], "revoke") == 0)
			return post ? h_decide(c, seg[1], seg[2])
			            : method_not_allowed(c->res, "POST");
	}
	if (n == 1 && strcmp(seg[0], "policies") == 0)
		return post  ? h_policy_apply(c)
		       : get ? h_policy_list(c)
		             : method_not_allowed(c->res, "GET, POST");
	if (n == 1 && strcmp(seg[0], "policies:eval") == 0)
		return post ? h_policy_eval(c) : method_not_allowed(c->res, "POST");
	if (n == 2 && strcmp(seg[0], "policies") == 0)
		return get                        ? h_policy_get(c, seg[1])
		       : method_is(req, "DELETE") ? h_policy_delete(c, seg[1])
		                                  : method_not_allowed(c->res, "GET, DELETE");
	if (n == 1 && strcmp(seg[0], "audit") == 0)
		return get ? h_audit(c) : method_not_allowed(c->res, "GET");
	if (n == 2 && strcmp(seg[0], "admin") == 0 && strcmp(seg[1], "reload-policies") == 0)
		return post ? h_reload(c) : method_not_allowed(c->res, "POST");
	respond_error(c->res, JIT_ERR_NOT_FOUND, "no such endpoint");
}

static bool
path_is(const struct jit_http_request *req, const char *p)
{
	return req->path_len == strlen(p) && memcmp(req->path, p, req->path_len) == 0;
}

static enum jit_api_lane
rest_lane(const struct jit_http_request *req)
{
	size_t prefix = strlen(API_PREFIX);
	if (req->path_len <= prefix || memcmp(req->path, API_PREFIX, prefix) != 0)
		return JIT_LANE_INLINE;
	char seg[3][64];
	size_t n = split_path(req->path + prefix, req->path_len - prefix, seg);
	if (!method_is(req, "GET")) {
		/* Approving may issue a grant, revoking ends one: both wait for the provider. */
		if (method_is(req, "POST") && n == 3 && strcmp(seg[0], "requests") == 0 &&
		    (strcmp(seg[2], "approve") == 0 || strcmp(seg[2], "revoke") == 0))
			return JIT_LANE_PROVIDER;
		return JIT_LANE_WRITE; /* every other method of the API changes something */
	}
	/* Fetching credentials moves APPROVED to ACTIVE and is audited: a write. */
	if (n == 3 && strcmp(seg[0], "requests") == 0 && strcmp(seg[2], "credentials") == 0)
		return JIT_LANE_WRITE;
	if (n == 1 && (strcmp(seg[0], "requests") == 0 || strcmp(seg[0], "audit") == 0))
		return JIT_LANE_SCAN;
	return JIT_LANE_INLINE;
}

static void
rest_handle(struct jit_worker *w, const struct jit_http_request *req, struct jit_http_response *res)
{
	struct ctx c = { .w = w, .req = req, .res = res };

	if (path_is(req, "/healthz")) {
		res->status = 200;
		res->content_type = "text/plain";
		res->body = strdup("ok\n");
		res->body_len = res->body ? 3 : 0;
		return;
	}
	if (path_is(req, "/readyz"))
		return h_readyz(&c);
	if (path_is(req, "/version"))
		return respond_json(res, 200,
		                    json_pack("{s:s,s:[s]}", "version", JIT_VERSION, "api_versions",
		                              "v1alpha1"));
	if (w->server->issuer && path_is(req, "/.well-known/openid-configuration"))
		return respond_json(res, 200, jit_issuer_discovery(w->server->issuer));
	if (w->server->issuer && path_is(req, "/.well-known/jwks.json"))
		return respond_json(res, 200, jit_issuer_jwks(w->server->issuer));

	size_t prefix = strlen(API_PREFIX);
	if (req->path_len <= prefix || memcmp(req->path, API_PREFIX, prefix) != 0)
		return respond_error(res, JIT_ERR_NOT_FOUND, "no such endpoint");

	const struct jit_credentials credentials = { .authorization = req->authorization,
		                                     .authorization_len = req->authorization_len };
	struct jit_identity identity = { 0 };
	if (jit_authn_caller(w, &credentials, &identity, &c.caller, &c.status) < 0)
		return respond_status(res, &c.status);
	route_api(&c, req->path + prefix, req->path_len - prefix);
	jit_identity_clear(&identity);
	if (w->wants_thread) {
		/* The handler stopped before its first change: nothing of it is kept. */
		jit_http_response_clear(res);
		memset(res, 0, sizeof(*res));
		res->defer = true;
	}
}

const struct jit_api_surface jit_api_rest_v1alpha1 = {
	.name = "rest_v1alpha1",
	.serves = NULL, /* the last row: every request no other surface claims */
	.lane = rest_lane,
	.handle = rest_handle,
};
