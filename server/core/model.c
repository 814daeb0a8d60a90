/* The server's domain objects: enum names, constructors, destructors, JSON forms, and the
 * canonical text and chained seal (HMAC-SHA256, or the unkeyed SHA-256 of old databases) of
 * audit events. Pure data handling; trusts its callers to have validated field contents and
 * never touches the store or the network. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "lib/common/buf.h"
#include "lib/common/errors.h"
#include "lib/common/secret.h"
#include "lib/common/timeutil.h"
#include "server/core/model.h"

static const char *const state_names[] = {
	[JIT_STATE_UNSPECIFIED] = "REQUEST_STATE_UNSPECIFIED",
	[JIT_STATE_PENDING] = "REQUEST_STATE_PENDING",
	[JIT_STATE_APPROVED] = "REQUEST_STATE_APPROVED",
	[JIT_STATE_REJECTED] = "REQUEST_STATE_REJECTED",
	[JIT_STATE_ACTIVE] = "REQUEST_STATE_ACTIVE",
	[JIT_STATE_EXPIRED] = "REQUEST_STATE_EXPIRED",
	[JIT_STATE_REVOKED] = "REQUEST_STATE_REVOKED",
};

#define STATE_PREFIX "REQUEST_STATE_"
#define POLICY_TYPE_PREFIX "POLICY_TYPE_"

const char *
jit_state_name(enum jit_request_state state)
{
	if ((unsigned)state >= JIT_ARRAY_SIZE(state_names))
		return state_names[JIT_STATE_UNSPECIFIED];
	return state_names[state];
}

int
jit_state_parse(const char *text, enum jit_request_state *ret_state)
{
	if (!text)
		return JIT_ERR_INVALID;
	if (strncmp(text, STATE_PREFIX, strlen(STATE_PREFIX)) == 0)
		text += strlen(STATE_PREFIX);
	for (size_t i = JIT_STATE_PENDING; i < JIT_ARRAY_SIZE(state_names); i++) {
		if (strcmp(text, state_names[i] + strlen(STATE_PREFIX)) == 0) {
			*ret_state = (enum jit_request_state)i;
			return 0;
		}
	}
	return JIT_ERR_INVALID;
}

bool
jit_state_terminal(enum jit_request_state state)
{
	return state == JIT_STATE_REJECTED || state == JIT_STATE_EXPIRED ||
	       state == JIT_STATE_REVOKED;
}

static const char *const policy_type_names[] = {
	[JIT_POLICY_UNSPECIFIED] = "POLICY_TYPE_UNSPECIFIED",
	[JIT_POLICY_ELIGIBILITY] = "POLICY_TYPE_ELIGIBILITY",
	[JIT_POLICY_APPROVAL] = "POLICY_TYPE_APPROVAL",
};

const char *
jit_policy_type_name(enum jit_policy_type type)
{
	if ((unsigned)type >= JIT_ARRAY_SIZE(policy_type_names))
		return policy_type_names[JIT_POLICY_UNSPECIFIED];
	return policy_type_names[type];
}

int
jit_policy_type_parse(const char *text, enum jit_policy_type *ret_type)
{
	if (!text)
		return JIT_ERR_INVALID;
	if (strncmp(text, POLICY_TYPE_PREFIX, strlen(POLICY_TYPE_PREFIX)) == 0)
		text += strlen(POLICY_TYPE_PREFIX);
	for (size_t i = JIT_POLICY_ELIGIBILITY; i < JIT_ARRAY_SIZE(policy_type_names); i++) {
		if (strcmp(text, policy_type_names[i] + strlen(POLICY_TYPE_PREFIX)) == 0) {
			*ret_type = (enum jit_policy_type)i;
			return 0;
		}
	}
	return JIT_ERR_INVALID;
}

int
jit_policy_id_new(char *buf, size_t size)
{
	char id[JIT_ID_LENGTH + 1];
	if (size < JIT_POLICY_ID_LENGTH + 1)
		return -EINVAL;
	int r = jit_id_new(id, sizeof(id));
	if (r < 0)
		return r;
	/* Same length and alphabet as a request id; only the prefix differs. */
	memcpy(buf, JIT_POLICY_ID_PREFIX, strlen(JIT_POLICY_ID_PREFIX));
	memcpy(buf + strlen(JIT_POLICY_ID_PREFIX), id + strlen(JIT_ID_PREFIX),
	       JIT_ID_LENGTH - strlen(JIT_ID_PREFIX) + 1);
	return 0;
}

char *
jit_strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- requests ------------------------------------------------------------------------- */

struct jit_request *
jit_request_new(void)
{
	struct jit_request *request = calloc(1, sizeof(*request));
	if (!request)
		return NULL;
	request->metadata = json_object();
	if (!request->metadata) {
		free(request);
		return NULL;
	}
	request->required_approvals = 1;
	return request;
}

void
jit_request_free(struct jit_request *request)
{
	if (!request)
		return;
	free(request->requester_identity);
	free(request->provider);
	free(request->role);
	free(request->resource_scope);
	free(request->reason);
	json_decref(request->metadata);
	free(request->approver_tier);
	for (size_t i = 0; i < request->approval_count; i++) {
		free(request->approvals[i].approver_identity);
		free(request->approvals[i].comment);
	}
	free(request->approvals);
	free(request->decided_by);
	free(request->decision_reason);
	free(request->host);
	free(request);
}

void
jit_request_list_free(struct jit_request **list, size_t count)
{
	if (!list)
		return;
	for (size_t i = 0; i < count; i++)
		jit_request_free(list[i]);
	free(list);
}

/* Sets `key` to a new value (consumed); false when the value is NULL or jansson fails. */
static bool
set_new(json_t *object, const char *key, json_t *value)
{
	return value && json_object_set_new(object, key, value) == 0;
}

static bool
set_string(json_t *object, const char *key, const char *value)
{
	return set_new(object, key, json_string(value ? value : ""));
}

/* Seconds precision, UTC. A time outside the calendar's range (impossible for an int64 of
 * nanoseconds) would be written as "". */
static bool
set_time(json_t *object, const char *key, int64_t ns, bool nanoseconds)
{
	char text[JIT_RFC3339_MAX] = "";
	if (jit_rfc3339_format(ns, nanoseconds, text, sizeof(text)) < 0)
		text[0] = '\0';
	return set_new(object, key, json_string(text));
}

static json_t *
approval_to_json(const struct jit_approval *approval)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (!set_string(object, "approver_identity", approval->approver_identity) ||
	    (approval->comment && !set_string(object, "comment", approval->comment)) ||
	    !set_time(object, "approved_at", approval->approved_at, false)) {
		json_decref(object);
		return NULL;
	}
	return object;
}

json_t *
jit_request_to_json(const struct jit_request *request)
{
	json_t *object = json_object();
	json_t *approvals = NULL;
	if (!object)
		return NULL;
	bool ok = set_string(object, "id", request->id) &&
	          set_string(object, "state", jit_state_name(request->state)) &&
	          set_string(object, "requester_identity", request->requester_identity) &&
	          set_string(object, "provider", request->provider) &&
	          set_string(object, "role", request->role) &&
	          set_string(object, "resource_scope", request->resource_scope) &&
	          set_new(object, "duration_seconds",
	                  json_integer((json_int_t)request->duration_seconds)) &&
	          set_string(object, "reason", request->reason) &&
	          set_new(object, "break_glass", json_boolean(request->break_glass)) &&
	          set_new(object, "metadata",
	                  request->metadata ? json_deep_copy(request->metadata) : json_object()) &&
	          set_time(object, "created_at", request->created_at, false) &&
	          set_time(object, "updated_at", request->updated_at, false);
	if (ok && request->issued_at)
		ok = set_time(object, "issued_at", request->issued_at, false);
	if (ok && request->expires_at)
		ok = set_time(object, "expires_at", request->expires_at, false);
	if (ok && request->pending_expires_at)
		ok = set_time(object, "pending_expires_at", request->pending_expires_at, false);
	if (ok && request->approver_tier)
		ok = set_string(object, "approver_tier", request->approver_tier);
	if (ok)
		ok = set_new(object, "required_approvals",
		             json_integer((json_int_t)request->required_approvals));
	if (ok) {
		approvals = json_array();
		ok = approvals != NULL;
	}
	for (size_t i = 0; ok && i < request->approval_count; i++)
		ok = json_array_append_new(approvals, approval_to_json(&request->approvals[i])) ==
		     0;
	if (ok)
		ok = set_new(object, "approvals", TAKE_PTR(approvals));
	if (ok && request->decided_by)
		ok = set_string(object, "decided_by", request->decided_by);
	if (ok && request->decision_reason)
		ok = set_string(object, "decision_reason", request->decision_reason);
	if (ok)
		ok = set_new(object, "revocation_pending",
		             json_boolean(request->revocation_pending));
	if (ok && request->host)
		ok = set_string(object, "host", request->host);
	json_decref(approvals);
	if (!ok) {
		json_decref(object);
		return NULL;
	}
	return object;
}

/* ---- policies ------------------------------------------------------------------------- */

struct jit_policy *
jit_policy_new(void)
{
	return calloc(1, sizeof(struct jit_policy));
}

void
jit_policy_free(struct jit_policy *policy)
{
	if (!policy)
		return;
	free(policy->name);
	free(policy->rego);
	free(policy->description);
	free(policy->updated_by);
	free(policy);
}

void
jit_policy_list_free(struct jit_policy **list, size_t count)
{
	if (!list)
		return;
	for (size_t i = 0; i < count; i++)
		jit_policy_free(list[i]);
	free(list);
}

json_t *
jit_policy_to_json(const struct jit_policy *policy)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	if (!set_string(object, "id", policy->id) || !set_string(object, "name", policy->name) ||
	    !set_string(object, "type", jit_policy_type_name(policy->type)) ||
	    !set_string(object, "rego", policy->rego) ||
	    !set_string(object, "description", policy->description) ||
	    !set_new(object, "enabled", json_boolean(policy->enabled)) ||
	    !set_time(object, "created_at", policy->created_at, false) ||
	    !set_time(object, "updated_at", policy->updated_at, false) ||
	    !set_string(object, "updated_by", policy->updated_by)) {
		json_decref(object);
		return NULL;
	}
	return object;
}

/* ---- audit events --------------------------------------------------------------------- */

struct jit_audit_event *
jit_audit_event_new(void)
{
	struct jit_audit_event *event = calloc(1, sizeof(*event));
	if (!event)
		return NULL;
	event->details = json_object();
	if (!event->details) {
		free(event);
		return NULL;
	}
	return event;
}

void
jit_audit_event_free(struct jit_audit_event *event)
{
	if (!event)
		return;
	free(event->actor_identity);
	free(event->action);
	free(event->request_id);
	free(event->provider);
	free(event->resource_scope);
	free(event->outcome);
	json_decref(event->details);
	free(event);
}

void
jit_audit_event_list_free(struct jit_audit_event **list, size_t count)
{
	if (!list)
		return;
	for (size_t i = 0; i < count; i++)
		jit_audit_event_free(list[i]);
	free(list);
}

json_t *
jit_audit_event_to_json(const struct jit_audit_event *event)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	char *details = event->details ? json_dumps(event->details, JSON_COMPACT) : strdup("{}");
	bool ok = details && set_new(object, "id", json_integer((json_int_t)event->id)) &&
	          set_time(object, "timestamp", event->timestamp, true) &&
	          set_string(object, "actor_identity", event->actor_identity) &&
	          set_string(object, "action", event->action) &&
	          set_string(object, "request_id", event->request_id) &&
	          set_string(object, "provider", event->provider) &&
	          set_string(object, "resource_scope", event->resource_scope) &&
	          set_string(object, "outcome", event->outcome) &&
	          set_string(object, "details_json", details) &&
	          set_string(object, "prev_hash", event->prev_hash) &&
	          set_string(object, "hash", event->hash);
	free(details);
	if (!ok) {
		json_decref(object);
		return NULL;
	}
	return object;
}

char *
jit_audit_event_canonical(const struct jit_audit_event *event)
{
	json_t *object = json_object();
	char *text = NULL;
	if (!object)
		return NULL;
	/* Keys are sorted by the encoder, so the insertion order here does not matter. */
	if (set_time(object, "timestamp", event->timestamp, true) &&
	    set_string(object, "actor_identity", event->actor_identity) &&
	    set_string(object, "action", event->action) &&
	    set_string(object, "request_id", event->request_id) &&
	    set_string(object, "provider", event->provider) &&
	    set_string(object, "resource_scope", event->resource_scope) &&
	    set_string(object, "outcome", event->outcome) &&
	    set_new(object, "details",
	            event->details ? json_incref(event->details) : json_object()) &&
	    (!event->tenant_id[0] || strcmp(event->tenant_id, JIT_DEFAULT_TENANT_ID) == 0 ||
	     set_string(object, "tenant_id", event->tenant_id)))
		text = json_dumps(object, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(object);
	return text;
}

/* OpenSSL's HMAC, fetched once for the process (fetching takes a global lock). */
static EVP_MAC *hmac_algorithm;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
	hmac_algorithm = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static void
mac_ctx_freep(EVP_MAC_CTX **p)
{
	EVP_MAC_CTX_free(*p);
}

static void
md_ctx_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

/* The 32-byte digest of prev_hash followed by `canonical`: HMAC-SHA256 under `key`, or plain
 * SHA-256 when `key` is NULL. */
static int
chain_digest(const struct jit_secret *key, const char *prev_hash, size_t prev_len,
             const char *canonical, unsigned char digest[32])
{
	if (!key) {
		_cleanup_(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned int len = 0;
		if (!md)
			return -ENOMEM;
		if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(md, prev_hash, prev_len) != 1 ||
		    EVP_DigestUpdate(md, canonical, strlen(canonical)) != 1 ||
		    EVP_DigestFinal_ex(md, digest, &len) != 1 || len != 32)
			return JIT_ERR_INTERNAL;
		return 0;
	}
	pthread_once(&hmac_once, hmac_fetch);
	if (!hmac_algorithm)
		return JIT_ERR_INTERNAL;
	_cleanup_(mac_ctx_freep) EVP_MAC_CTX *mac = EVP_MAC_CTX_new(hmac_algorithm);
	char digest_name[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t len = 0;
	if (!mac)
		return -ENOMEM;
	if (EVP_MAC_init(mac, key->bytes, key->length, params) != 1 ||
	    EVP_MAC_update(mac, (const unsigned char *)prev_hash, prev_len) != 1 ||
	    EVP_MAC_update(mac, (const unsigned char *)canonical, strlen(canonical)) != 1 ||
	    EVP_MAC_final(mac, digest, &len, 32) != 1 || len != 32)
		return JIT_ERR_INTERNAL;
	return 0;
}

static int
seal(struct jit_audit_event *event, const char *prev_hash, const struct jit_secret *key)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[32];
	size_t prev_len = prev_hash ? strlen(prev_hash) : 0;
	int r;
	if (prev_len >= sizeof(event->prev_hash))
		return JIT_ERR_INVALID;
	if (key && key->length != JIT_AUDIT_CHAIN_KEY_SIZE)
		return JIT_ERR_INVALID;
	_cleanup_free_ char *canonical = jit_audit_event_canonical(event);
	if (!canonical)
		return -ENOMEM;
	if ((r = chain_digest(key, prev_hash ? prev_hash : "", prev_len, canonical, digest)) < 0)
		return r;
	memmove(event->prev_hash, prev_hash ? prev_hash : "", prev_len + 1);
	for (size_t i = 0; i < sizeof(digest); i++) {
		event->hash[2 * i] = hex[digest[i] >> 4];
		event->hash[2 * i + 1] = hex[digest[i] & 0xf];
	}
	event->hash[2 * sizeof(digest)] = '\0';
	OPENSSL_cleanse(digest, sizeof(digest));
	return 0;
}

int
jit_audit_event_seal(struct jit_audit_event *event, const char *prev_hash)
{
	return seal(event, prev_hash, NULL);
}

int
jit_audit_event_seal_keyed(struct jit_audit_event *event, const char *prev_hash,
                           const struct jit_secret *key)
{
	if (!key)
		return JIT_ERR_INVALID;
	return seal(event, prev_hash, key);
}

/* ---- the request's JSON text, written directly ---------------------------------------- */

/* The same bytes json_dumps(jit_request_to_json(request), JSON_COMPACT) gives, written
 * without building a jansson tree (the hot path of GET). Escapes as jansson does: '"', '\\'
 * and control characters; other UTF-8 passes through. */
static int
put_text(struct jit_buf *b, const char *s)
{
	return jit_buf_put(b, s, strlen(s));
}

static int
put_string(struct jit_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF"; /* jansson writes upper case */
	int r = jit_buf_put_u8(b, '"');
	const char *run = s ? s : "";
	for (const char *p = run; r == 0 && *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((r = jit_buf_put(b, run, (size_t)(p - run))) < 0)
			break;
		char esc[7] = { '\\', 0 };
		size_t n = 2;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
			break;
		}
		r = jit_buf_put(b, esc, n);
		run = p + 1;
	}
	if (r == 0)
		r = jit_buf_put(b, run, strlen(run));
	return r < 0 ? r : jit_buf_put_u8(b, '"');
}

static int
put_field_string(struct jit_buf *b, const char *key, const char *value, bool first)
{
	int r = first ? 0 : jit_buf_put_u8(b, ',');
	if (r == 0)
		r = put_string(b, key);
	if (r == 0)
		r = jit_buf_put_u8(b, ':');
	return r < 0 ? r : put_string(b, value);
}

static int
put_field_raw(struct jit_buf *b, const char *key, const char *raw)
{
	int r = jit_buf_put_u8(b, ',');
	if (r == 0)
		r = put_string(b, key);
	if (r == 0)
		r = jit_buf_put_u8(b, ':');
	return r < 0 ? r : put_text(b, raw);
}

static int
put_field_time(struct jit_buf *b, const char *key, int64_t ns)
{
	char text[JIT_RFC3339_MAX] = "";
	if (jit_rfc3339_format(ns, false, text, sizeof(text)) < 0)
		text[0] = '\0';
	return put_field_string(b, key, text, false);
}

int
jit_request_write_json(const struct jit_request *request, struct jit_buf *out)
{
	char number[32];
	int r = jit_buf_put_u8(out, '{');
	if (r == 0)
		r = put_field_string(out, "id", request->id, true);
	if (r == 0)
		r = put_field_string(out, "state", jit_state_name(request->state), false);
	if (r == 0)
		r = put_field_string(out, "requester_identity", request->requester_identity, false);
	if (r == 0)
		r = put_field_string(out, "provider", request->provider, false);
	if (r == 0)
		r = put_field_string(out, "role", request->role, false);
	if (r == 0)
		r = put_field_string(out, "resource_scope", request->resource_scope, false);
	snprintf(number, sizeof(number), "%lld", (long long)request->duration_seconds);
	if (r == 0)
		r = put_field_raw(out, "duration_seconds", number);
	if (r == 0)
		r = put_field_string(out, "reason", request->reason, false);
	if (r == 0)
		r = put_field_raw(out, "break_glass", request->break_glass ? "true" : "false");
	if (r == 0) {
		bool empty = !request->metadata || json_object_size(request->metadata) == 0;
		char *text = empty ? NULL : json_dumps(request->metadata, JSON_COMPACT);
		if (!empty && !text)
			return -ENOMEM;
		r = put_field_raw(out, "metadata", empty ? "{}" : text);
		free(text);
	}
	if (r == 0)
		r = put_field_time(out, "created_at", request->created_at);
	if (r == 0)
		r = put_field_time(out, "updated_at", request->updated_at);
	if (r == 0 && request->issued_at)
		r = put_field_time(out, "issued_at", request->issued_at);
	if (r == 0 && request->expires_at)
		r = put_field_time(out, "expires_at", request->expires_at);
	if (r == 0 && request->pending_expires_at)
		r = put_field_time(out, "pending_expires_at", request->pending_expires_at);
	if (r == 0 && request->approver_tier)
		r = put_field_string(out, "approver_tier", request->approver_tier, false);
	snprintf(number, sizeof(number), "%d", (int)request->required_approvals);
	if (r == 0)
		r = put_field_raw(out, "required_approvals", number);
	if (r == 0)
		r = put_field_raw(out, "approvals", "[");
	for (size_t i = 0; r == 0 && i < request->approval_count; i++) {
		const struct jit_approval *a = &request->approvals[i];
		if (i > 0)
			r = jit_buf_put_u8(out, ',');
		if (r == 0)
			r = jit_buf_put_u8(out, '{');
		if (r == 0)
			r = put_field_string(out, "approver_identity", a->approver_identity, true);
		if (r == 0 && a->comment)
			r = put_field_string(out, "comment", a->comment, false);
		if (r == 0)
			r = put_field_time(out, "approved_at", a->approved_at);
		if (r == 0)
			r = jit_buf_put_u8(out, '}');
	}
	if (r == 0)
		r = jit_buf_put_u8(out, ']');
	if (r == 0 && request->decided_by)
		r = put_field_string(out, "decided_by", request->decided_by, false);
	if (r == 0 && request->decision_reason)
		r = put_field_string(out, "decision_reason", request->decision_reason, false);
	if (r == 0)
		r = put_field_raw(out, "revocation_pending",
		                  request->revocation_pending ? "true" : "false");
	if (r == 0 && request->host)
		r = put_field_string(out, "host", request->host, false);
	return r < 0 ? r : jit_buf_put_u8(out, '}');
}
