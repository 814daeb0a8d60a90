/* The workflow: every state change of a request, policy or grant happens here, in one store
 * transaction together with its audit event. It trusts the caller's identity as verified by
 * the API layer and nothing the caller says about permissions; policies, ownership and state
 * decide. Provider calls run outside store transactions so that a slow provider never holds
 * the write lock. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/id.h"
#include "lib/crypto/seal.h"
#include "lib/common/timeutil.h"
#include "lib/common/usertext.h"
#include "server/core/sweeper.h"
#include "server/core/workflow.h"

#define SWEEP_BATCH 100
/* A non-admin's list or audit query checks each item it reads against the policies. Its cost
 * is bounded whatever page size it asks for: a query stops after this many rows or this many
 * policy checks and answers with a page token where it stopped (pages may then hold fewer
 * items than asked, even none, with a token to go on). */
#define LIST_SCAN_BATCH 200
#define SCAN_ROWS_MAX 2000
#define SCAN_CHECKS_MAX 256

void
jit_status_format(struct jit_status *status, int code, const char *fmt, ...)
{
	if (status) {
		va_list ap;
		va_start(ap, fmt);
		status->code = code;
		vsnprintf(status->message, sizeof(status->message), fmt, ap);
		va_end(ap);
	}
}

bool
jit_is_admin(const struct jit_config *config, const struct jit_identity *identity)
{
	for (char **g = config->admin_groups; g && *g; g++)
		if (jit_identity_in_group(identity, *g))
			return true;
	for (char **e = config->admin_emails; e && *e; e++)
		if (jit_identity_equal(*e, identity->email))
			return true;
	return false;
}

static const char *
caller_email(const struct jit_caller *caller)
{
	return caller ? caller->identity->email : "system";
}

/* The tenant whose data a call sees and changes. The system (no caller: the server's start,
 * the sweeper) works in the default tenant, the only one the server serves today. */
static const char *
tenant_of(const struct jit_caller *caller)
{
	return caller ? caller->tenant_id : JIT_DEFAULT_TENANT_ID;
}

static bool
is_requester(const struct jit_caller *caller, const struct jit_request *request)
{
	return caller && jit_identity_equal(caller->identity->email, request->requester_identity);
}

/* ---- audit ---------------------------------------------------------------------------- */

/* The jump host a caller acts through, or NULL (a direct caller, or the system). */
static const char *
caller_host(const struct jit_caller *caller)
{
	return caller ? caller->host : NULL;
}

/* Appends an event inside the open transaction. `details` is consumed (may be NULL). `host`,
 * the jump host whose call caused the event (or NULL), is recorded in the details. */
static int
audit(struct jit_worker *w, const char *tenant, const char *host, const char *actor,
      const char *action, const struct jit_request *request, const char *outcome, json_t *details)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = jit_audit_event_new();
	if (!event) {
		json_decref(details);
		return -ENOMEM;
	}
	event->timestamp = jit_now_realtime_ns();
	event->actor_identity = strdup(actor);
	event->action = strdup(action);
	event->outcome = strdup(outcome);
	if (request) {
		event->request_id = strdup(request->id);
		event->provider = jit_strdup_or_null(request->provider);
		event->resource_scope = jit_strdup_or_null(request->resource_scope);
		if (!event->request_id)
			return -ENOMEM;
	}
	if (details) {
		json_decref(event->details);
		event->details = details;
	}
	if (!event->actor_identity || !event->action || !event->outcome || !event->details)
		return -ENOMEM;
	if (request && request->break_glass)
		json_object_set_new(event->details, "break_glass", json_true());
	if (host && json_object_set_new(event->details, "host", json_string(host)) < 0)
		return -ENOMEM;
	return jit_store_audit_append(w->store, tenant, event);
}

/* Records a refused or failed attempt in a transaction of its own. */
/* An event loop's worker does not write (server/server.h): the operation is marked to run
 * again on a worker thread, and the caller stops before changing anything. */
static bool
must_move(struct jit_worker *w)
{
	if (w->inline_only)
		w->wants_thread = true;
	return w->inline_only;
}

static void
audit_alone(struct jit_worker *w, const char *tenant, const char *host, const char *actor,
            const char *action, const struct jit_request *request, const char *outcome,
            json_t *details)
{
	if (must_move(w) || jit_store_begin(w->store) < 0) {
		json_decref(details);
		return;
	}
	if (audit(w, tenant, host, actor, action, request, outcome, details) < 0 ||
	    jit_store_commit(w->store) < 0)
		jit_store_rollback(w->store);
}

/* Opens the write transaction; a store still busy after its timeout is a 503 to retry. */
static int
begin(struct jit_worker *w, struct jit_status *status)
{
	if (must_move(w))
		return jit_status_set(status, JIT_ERR_WOULD_BLOCK, "a write moves to a thread");
	int r = jit_store_begin(w->store);
	return r < 0 ? jit_status_set(status, JIT_ERR_UNAVAILABLE, "the store is busy; try again")
	             : 0;
}

static json_t *
reason_details(const char *key, const char *text)
{
	return json_pack("{s:s}", key, text ? text : "");
}

/* ---- policies ------------------------------------------------------------------------- */

/* The policy set belongs to a tenant in principle; the server holds one, the default
 * tenant's (compiled from its stored policies), the only tenant it serves today. */
static int
decide(struct jit_worker *w, enum jit_policy_type type, const char *email, const json_t *groups,
       const struct jit_request *request, const char *host, struct jit_decision *ret,
       struct jit_status *status)
{
	_cleanup_(jit_policy_set_unrefp) struct jit_policy_set *set =
	        jit_server_policies(w->server);
	_cleanup_json_ json_t *input =
	        jit_policy_input(email, groups, request, jit_now_realtime_ns(), host);
	if (!input)
		return jit_status_set(status, -ENOMEM, "out of memory");
	struct jit_policy_error error = { 0 };
	int r = jit_policy_decide(set, w->eval, type, input, ret, &error);
	if (r < 0)
		return jit_status_set(status, JIT_ERR_INTERNAL, "%s policy failed: %s",
		                      type == JIT_POLICY_APPROVAL ? "approval" : "eligibility",
		                      error.message);
	return 0;
}

/* May the caller approve (and so see, deny or revoke) this request, by the approval
 * policies? The requester never may. */
static bool
may_approve(struct jit_worker *w, const struct jit_caller *caller,
            const struct jit_request *request, struct jit_decision *ret_decision)
{
	struct jit_decision decision = { 0 };
	struct jit_status ignored;
	if (is_requester(caller, request))
		return false;
	if (decide(w, JIT_POLICY_APPROVAL, caller->identity->email, caller->identity->groups,
	           request, caller->host, &decision, &ignored) < 0)
		return false;
	if (ret_decision)
		*ret_decision = decision;
	return decision.allow;
}

static bool
may_see(struct jit_worker *w, const struct jit_caller *caller, const struct jit_request *request)
{
	return caller->admin || is_requester(caller, request) ||
	       may_approve(w, caller, request, NULL);
}

/* ---- grants --------------------------------------------------------------------------- */

static int
seal_grant(struct jit_worker *w, const struct jit_grant *grant, uint8_t **ret_sealed,
           size_t *ret_len)
{
	_cleanup_secret_ struct jit_secret *text = NULL;
	int r = jit_grant_serialize(grant, &text);
	if (r < 0)
		return r;
	const struct jit_secret *key = w->server->seal_key;
	return jit_seal(key->bytes, key->length, text->bytes, text->length, grant->request_id,
	                strlen(grant->request_id), ret_sealed, ret_len);
}

/* Asks the provider for credentials; on success the request carries issued_at/expires_at
 * and *ret_sealed the sealed grant. Nothing is stored here. */
static int
issue_grant(struct jit_worker *w, struct jit_request *request, uint8_t **ret_sealed,
            size_t *ret_len, struct jit_status *status)
{
	if (must_move(w))
		return jit_status_set(status, JIT_ERR_WOULD_BLOCK,
		                      "a provider call moves to a thread");
	struct jit_provider *provider = jit_server_provider(w->server, request->provider);
	if (!provider)
		return jit_status_set(status, JIT_ERR_INVALID, "provider: \"%s\" is not configured",
		                      request->provider);
	struct jit_grant grant = { 0 };
	char error[256] = "";
	int64_t now = jit_now_realtime_ns();
	snprintf(grant.request_id, sizeof(grant.request_id), "%s", request->id);
	grant.issued_at = now;
	int r = provider->ops->grant(provider, request, &grant, error, sizeof(error));
	if (r < 0) {
		jit_grant_clear(&grant);
		return jit_status_set(status, JIT_ERR_UPSTREAM, "provider %s failed to issue: %s",
		                      request->provider, error[0] ? error : jit_strerror(r));
	}
	int64_t expires = now + request->duration_seconds * JIT_NSEC_PER_SEC;
	if (grant.expires_at > 0 && grant.expires_at < expires)
		expires = grant.expires_at;
	r = seal_grant(w, &grant, ret_sealed, ret_len);
	jit_grant_clear(&grant);
	if (r < 0)
		return jit_status_set(status, JIT_ERR_INTERNAL, "sealing credentials failed: %s",
		                      jit_strerror(r));
	request->issued_at = now;
	request->expires_at = expires;
	return 0;
}

/* Best effort after a grant that could not be recorded: take it back at once. */
static void
undo_grant(struct jit_worker *w, const struct jit_request *request)
{
	struct jit_provider *provider = jit_server_provider(w->server, request->provider);
	char error[256];
	if (provider)
		provider->ops->revoke(provider, request, error, sizeof(error));
}

static int64_t
revoke_backoff_ns(const struct jit_config *config, int attempts)
{
	int64_t ms = config->revoke_retry_initial_ms;
	for (int i = 1; i < attempts && ms < config->revoke_retry_max_ms; i++)
		ms *= 2;
	if (ms > config->revoke_retry_max_ms)
		ms = config->revoke_retry_max_ms;
	return ms * 1000000LL;
}

/* Revokes at the provider a grant whose request has revocation_pending set, and records the
 * outcome: cleared on success; on failure the attempt count grows and the next attempt is
 * scheduled with exponential backoff. */
static int
revoke_at_provider(struct jit_worker *w, const char *tenant, const char *host, const char *id,
                   struct jit_status *status)
{
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = jit_store_request_get(w->store, tenant, id, &request);
	if (r < 0)
		return jit_status_set(status, r, "loading %s: %s", id, jit_strerror(r));
	if (!request->revocation_pending)
		return 0;
	if (must_move(w))
		return jit_status_set(status, JIT_ERR_WOULD_BLOCK,
		                      "a provider call moves to a thread");
	struct jit_provider *provider = jit_server_provider(w->server, request->provider);
	char error[256] = "";
	int pr = provider ? provider->ops->revoke(provider, request, error, sizeof(error))
	                  : JIT_ERR_NOT_FOUND;
	if (!provider)
		snprintf(error, sizeof(error), "provider %s is not configured", request->provider);

	if ((r = begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get(w->store, tenant, id, &request)) < 0 ||
	    !request->revocation_pending)
		goto out;
	int64_t now = jit_now_realtime_ns();
	request->updated_at = now;
	if (pr == 0) {
		request->revocation_pending = false;
		request->revoke_next_attempt_at = 0;
		if ((r = jit_store_request_update(w->store, tenant, request)) < 0 ||
		    (r = audit(w, tenant, host, "system", "grant.revoked", request, "success",
		               NULL)) < 0)
			goto out;
	} else {
		request->revoke_attempts++;
		request->revoke_next_attempt_at =
		        now + revoke_backoff_ns(w->server->config, request->revoke_attempts);
		json_t *details = json_pack("{s:s,s:i}", "error", error, "attempt",
		                            (json_int_t)request->revoke_attempts);
		if ((r = jit_store_request_update(w->store, tenant, request)) < 0 ||
		    (r = audit(w, tenant, host, "system", "grant.revoke_failed", request, "failure",
		               details)) < 0)
			goto out;
	}
	if ((r = jit_store_commit(w->store)) < 0)
		goto out;
	if (pr < 0)
		jit_sweeper_kick(w->server->sweeper, request->revoke_next_attempt_at);
	return 0;
out:
	jit_store_rollback(w->store);
	return r < 0 ? jit_status_set(status, r, "recording revocation of %s: %s", id,
	                              jit_strerror(r))
	             : 0;
}

/* ---- create --------------------------------------------------------------------------- */

/* A reason or comment: `field` names it in the error. Required ones may not be absent. */
static int
check_text(const char *field, const char *text, size_t max, bool required,
           struct jit_status *status)
{
	if (!text || !text[0])
		return required ? jit_status_set(status, JIT_ERR_INVALID, "%s: required", field)
		                : 0;
	size_t len = strlen(text);
	if (len > max)
		return jit_status_set(status, JIT_ERR_INVALID, "%s: at most %zu bytes", field, max);
	const char *problem = jit_text_problem(text, len, 0);
	if (problem)
		return jit_status_set(status, JIT_ERR_INVALID, "%s: %s", field, problem);
	return 0;
}

static int
check_spec(struct jit_worker *w, const struct jit_request_spec *spec, struct jit_status *status)
{
	const struct jit_config *config = w->server->config;
	char error[256] = "";
	if (!spec->provider || !spec->provider[0])
		return jit_status_set(status, JIT_ERR_INVALID, "provider: required");
	struct jit_provider *provider = jit_server_provider(w->server, spec->provider);
	if (!provider)
		return jit_status_set(status, JIT_ERR_INVALID,
		                      "provider: \"%.32s\" is not configured (one of aws, gcp, "
		                      "azure, kubernetes when enabled)",
		                      spec->provider);
	if (!spec->role || !spec->role[0])
		return jit_status_set(status, JIT_ERR_INVALID, "role: required");
	if (!spec->resource_scope || !spec->resource_scope[0])
		return jit_status_set(status, JIT_ERR_INVALID, "resource_scope: required");
	if (provider->ops->validate(provider, spec->role, spec->resource_scope, error,
	                            sizeof(error)) < 0)
		return jit_status_set(status, JIT_ERR_INVALID, "%s", error);
	if (spec->duration_seconds < config->min_duration_seconds ||
	    spec->duration_seconds > config->max_duration_seconds)
		return jit_status_set(status, JIT_ERR_INVALID,
		                      "duration_seconds: must be between %lld and %lld",
		                      (long long)config->min_duration_seconds,
		                      (long long)config->max_duration_seconds);
	if (check_text("reason", spec->reason, JIT_MAX_REASON, true, status) < 0)
		return JIT_ERR_INVALID;
	if (spec->metadata) {
		const char *key;
		json_t *value;
		if (!json_is_object(spec->metadata))
			return jit_status_set(status, JIT_ERR_INVALID,
			                      "metadata: must be an object");
		if (json_object_size(spec->metadata) > JIT_MAX_METADATA_ENTRIES)
			return jit_status_set(status, JIT_ERR_INVALID,
			                      "metadata: at most %d entries",
			                      JIT_MAX_METADATA_ENTRIES);
		json_object_foreach((json_t *)spec->metadata, key, value)
		{
			if (strlen(key) == 0 || strlen(key) > JIT_MAX_METADATA_KEY)
				return jit_status_set(status, JIT_ERR_INVALID,
				                      "metadata: keys are 1 to %d bytes",
				                      JIT_MAX_METADATA_KEY);
			if (!json_is_string(value) ||
			    json_string_length(value) > JIT_MAX_METADATA_VALUE)
				return jit_status_set(
				        status, JIT_ERR_INVALID,
				        "metadata: value of \"%.64s\" must be a string "
				        "of at most %d bytes",
				        key, JIT_MAX_METADATA_VALUE);
		}
	}
	return 0;
}

static int
build_request(const struct jit_request_spec *spec, const struct jit_caller *caller, int64_t now,
              int64_t pending_timeout_s, struct jit_request **ret)
{
	_cleanup_(jit_request_freep) struct jit_request *request = jit_request_new();
	if (!request)
		return -ENOMEM;
	int r = jit_id_new(request->id, sizeof(request->id));
	if (r < 0)
		return r;
	request->state = JIT_STATE_PENDING;
	request->requester_identity = strdup(caller->identity->email);
	request->provider = strdup(spec->provider);
	request->role = strdup(spec->role);
	request->resource_scope = strdup(spec->resource_scope);
	request->reason = strdup(spec->reason);
	request->duration_seconds = spec->duration_seconds;
	request->break_glass = spec->break_glass;
	if (spec->metadata) {
		json_decref(request->metadata);
		request->metadata = json_deep_copy(spec->metadata);
	}
	request->created_at = request->updated_at = now;
	request->pending_expires_at = now + pending_timeout_s * JIT_NSEC_PER_SEC;
	request->required_approvals = 1;
	request->approver_tier = strdup("human");
	request->host = jit_strdup_or_null(caller->host);
	if (!request->requester_identity || !request->provider || !request->role ||
	    !request->resource_scope || !request->reason || !request->metadata ||
	    !request->approver_tier || (caller->host && !request->host))
		return -ENOMEM;
	*ret = TAKE_PTR(request);
	return 0;
}

static json_t *
created_details(const struct jit_request *request)
{
	return json_pack("{s:s,s:I,s:s}", "role", request->role, "duration_seconds",
	                 (json_int_t)request->duration_seconds, "reason", request->reason);
}

static json_t *
grant_details(const struct jit_request *request)
{
	char issued[JIT_RFC3339_MAX] = "", expires[JIT_RFC3339_MAX] = "";
	jit_rfc3339_format(request->issued_at, false, issued, sizeof(issued));
	jit_rfc3339_format(request->expires_at, false, expires, sizeof(expires));
	return json_pack("{s:s,s:s}", "issued_at", issued, "expires_at", expires);
}

/* Loads the stored request for the answer (so it carries exactly what was committed). */
static int
reload(struct jit_worker *w, const char *tenant, const char *id, struct jit_request **ret,
       struct jit_status *status)
{
	int r = jit_store_request_get(w->store, tenant, id, ret);
	if (r < 0)
		return jit_status_set(status, r == JIT_ERR_NOT_FOUND ? JIT_ERR_INTERNAL : r,
		                      "reading back %s: %s", id, jit_strerror(r));
	return 0;
}

/* Adds a copy of `approval` to the request's in-memory list, as the store would load it. */
static int
remember_approval(struct jit_request *request, const struct jit_approval *approval)
{
	struct jit_approval *list =
	        realloc(request->approvals, (request->approval_count + 1) * sizeof(*list));
	if (!list)
		return -ENOMEM;
	request->approvals = list;
	struct jit_approval *a = &list[request->approval_count];
	a->approver_identity = strdup(approval->approver_identity);
	a->comment = jit_strdup_or_null(approval->comment);
	a->approved_at = approval->approved_at;
	if (!a->approver_identity || (approval->comment && !a->comment)) {
		free(a->approver_identity);
		free(a->comment);
		return -ENOMEM;
	}
	request->approval_count++;
	return 0;
}

int
jit_wf_create(struct jit_worker *w, const struct jit_caller *caller,
              const struct jit_request_spec *spec, struct jit_request **ret_request,
              struct jit_status *status)
{
	const struct jit_config *config = w->server->config;
	int r = check_spec(w, spec, status);
	if (r < 0)
		return r;
	int64_t now = jit_now_realtime_ns();
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	if ((r = build_request(spec, caller, now, config->pending_timeout_seconds, &request)) < 0)
		return jit_status_set(status, r, "creating the request: %s", jit_strerror(r));

	/* Eligibility: any enabled policy allowing is enough; break-glass is no exception. */
	struct jit_decision eligible = { 0 };
	if ((r = decide(w, JIT_POLICY_ELIGIBILITY, caller->identity->email,
	                caller->identity->groups, request, caller->host, &eligible, status)) < 0) {
		audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		            "request.refused", NULL, "failure",
		            reason_details("error", status->message));
		return r;
	}
	if (!eligible.allow) {
		json_t *details = created_details(request);
		if (details) {
			json_object_set_new(details, "provider", json_string(request->provider));
			json_object_set_new(details, "resource_scope",
			                    json_string(request->resource_scope));
			json_object_set_new(details, "denial", json_string(eligible.reason));
			if (request->break_glass)
				json_object_set_new(details, "break_glass", json_true());
		}
		audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		            "request.refused", NULL, "denied", details);
		return jit_status_set(status, JIT_ERR_DENIED, "%s", eligible.reason);
	}

	/* Routing: the approval policies, asked with the requester as user. An error here only
	 * means no auto-approval; approval itself is decided again for each approver. */
	struct jit_decision route = { .required_approvals = 1 };
	struct jit_status ignored;
	if (decide(w, JIT_POLICY_APPROVAL, caller->identity->email, caller->identity->groups,
	           request, caller->host, &route, &ignored) == 0) {
		free(request->approver_tier);
		request->approver_tier =
		        strdup(route.approver_tier[0] ? route.approver_tier : "human");
		if (!request->approver_tier)
			return jit_status_set(status, -ENOMEM, "out of memory");
		request->required_approvals =
		        route.required_approvals > 0 ? route.required_approvals : 1;
	}

	bool grant_now = request->break_glass || strcmp(request->approver_tier, "auto") == 0;
	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	struct jit_status grant_status = { 0 };
	bool granted = false;
	if (grant_now) {
		r = issue_grant(w, request, &sealed, &sealed_len, &grant_status);
		if (r < 0 && request->break_glass) {
			json_t *details = reason_details("error", grant_status.message);
			audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
			            "grant.failed", request, "failure", details);
			*status = grant_status;
			return r;
		}
		granted = r == 0;
	}

	if (begin(w, status) < 0)
		goto undo;
	struct jit_approval approval = { 0 };
	if (granted) {
		request->state = request->break_glass ? JIT_STATE_ACTIVE : JIT_STATE_APPROVED;
		approval.approver_identity = request->break_glass ? "break-glass" : "policy";
		approval.comment = request->break_glass ? "break-glass: no approver"
		                                        : "approved by policy (auto tier)";
		approval.approved_at = now;
	}
	if ((r = jit_store_request_insert(w->store, tenant_of(caller), request)) < 0 ||
	    (r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
	               "request.created", request, "success", created_details(request))) < 0)
		goto fail;
	if (granted) {
		if ((r = jit_store_approval_add(w->store, tenant_of(caller), request->id,
		                                &approval)) < 0 ||
		    (r = jit_store_credentials_put(w->store, tenant_of(caller), request->id, sealed,
		                                   sealed_len)) < 0 ||
		    (r = audit(w, tenant_of(caller), caller_host(caller),
		               request->break_glass ? caller_email(caller) : "policy",
		               "request.approved", request, "success",
		               reason_details("tier", request->break_glass ? "break-glass"
		                                                           : "auto"))) < 0 ||
		    (r = audit(w, tenant_of(caller), caller_host(caller), "system", "grant.issued",
		               request, "success", grant_details(request))) < 0)
			goto fail;
	} else if (grant_now) {
		if ((r = audit(w, tenant_of(caller), caller_host(caller), "system", "grant.failed",
		               request, "failure", reason_details("error", grant_status.message))) <
		    0)
			goto fail;
	}
	if ((r = jit_store_commit(w->store)) < 0)
		goto fail;
	jit_sweeper_kick(w->server->sweeper,
	                 granted ? request->expires_at : request->pending_expires_at);
	/* The answer is what was just committed; no need to read it back. */
	if (granted && remember_approval(request, &approval) < 0)
		return reload(w, tenant_of(caller), request->id, ret_request, status);
	*ret_request = TAKE_PTR(request);
	return 0;
fail:
	jit_store_rollback(w->store);
	jit_status_set(status, r == JIT_ERR_UNAVAILABLE ? r : JIT_ERR_INTERNAL,
	               "storing the request failed: %s", jit_strerror(r));
undo:
	if (granted)
		undo_grant(w, request);
	return status->code;
}

static json_t *
denial_details(const char *reason)
{
	return reason_details("denial", reason);
}

/* ---- read ----------------------------------------------------------------------------- */

/* Loads a request the caller may see; one they may not see is "not found", so that ids of
 * other people's requests are not confirmed. When the caller meant to act on it
 * (`refusal_action` set), the refused attempt is audited all the same. */
static int
load_visible(struct jit_worker *w, const struct jit_caller *caller, const char *id,
             const char *refusal_action, struct jit_request **ret, struct jit_status *status)
{
	if (!jit_id_valid(id))
		return jit_status_set(status, JIT_ERR_INVALID, "id: not a request id");
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = jit_store_request_get(w->store, tenant_of(caller), id, &request);
	if (r == 0 && !may_see(w, caller, request)) {
		if (refusal_action)
			audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
			            refusal_action, request, "denied",
			            denial_details("not the requester, an approver or an admin"));
		r = JIT_ERR_NOT_FOUND;
	}
	if (r == JIT_ERR_NOT_FOUND)
		return jit_status_set(status, JIT_ERR_NOT_FOUND, "request %s not found", id);
	if (r < 0)
		return jit_status_set(status, r, "reading %s: %s", id, jit_strerror(r));
	*ret = TAKE_PTR(request);
	return 0;
}

int
jit_wf_get(struct jit_worker *w, const struct jit_caller *caller, const char *id,
           struct jit_request **ret_request, struct jit_status *status)
{
	return load_visible(w, caller, id, NULL, ret_request, status);
}

int
jit_wf_list(struct jit_worker *w, const struct jit_caller *caller,
            const struct jit_list_options *options, struct jit_request ***ret_list,
            size_t *ret_count, char *ret_next_before, struct jit_status *status)
{
	/* Stored identities are folded to lower case (server/auth/auth.h), so is the filter. */
	_cleanup_free_ char *who = NULL;
	if (options->requester_identity && !(who = strdup(options->requester_identity)))
		return jit_status_set(status, -ENOMEM, "out of memory");
	jit_identity_fold(who);
	struct jit_request_filter filter = {
		.requester_identity = who,
		.state = options->state,
		.before_id = options->before_id,
	};
	if (options->mine) {
		if (filter.requester_identity &&
		    !jit_identity_equal(filter.requester_identity, caller->identity->email)) {
			*ret_list = NULL;
			*ret_count = 0;
			ret_next_before[0] = '\0';
			return 0;
		}
		filter.requester_identity = caller->identity->email;
	}
	if (options->pending) {
		if (filter.state != JIT_STATE_UNSPECIFIED && filter.state != JIT_STATE_PENDING)
			return jit_status_set(status, JIT_ERR_INVALID,
			                      "state: conflicts with pending=true");
		filter.state = JIT_STATE_PENDING;
	}
	bool all_visible = caller->admin ||
	                   jit_identity_equal(filter.requester_identity, caller->identity->email);
	size_t want = options->page_size;
	struct jit_request **out = calloc(want, sizeof(*out));
	size_t count = 0, scanned = 0;
	char last[JIT_ID_LENGTH + 1] = "";
	bool more = false;
	int r = 0;
	if (!out)
		return jit_status_set(status, -ENOMEM, "out of memory");
	while (count < want) {
		struct jit_request **batch = NULL;
		size_t n = 0;
		filter.limit = all_visible ? want - count : LIST_SCAN_BATCH;
		if (last[0])
			filter.before_id = last;
		if ((r = jit_store_request_list(w->store, tenant_of(caller), &filter, &batch, &n)) <
		    0) {
			jit_status_set(status, r, "listing requests: %s", jit_strerror(r));
			break;
		}
		size_t i = 0;
		for (; i < n && count < want && (all_visible || scanned + i < SCAN_CHECKS_MAX);
		     i++) {
			snprintf(last, sizeof(last), "%s", batch[i]->id);
			if (all_visible || may_see(w, caller, batch[i]))
				out[count++] = TAKE_PTR(batch[i]);
		}
		more = i < n || n == filter.limit;
		jit_request_list_free(batch, n);
		scanned += all_visible ? 0 : i;
		if (!more || scanned >= SCAN_CHECKS_MAX)
			break;
	}
	if (r < 0) {
		jit_request_list_free(out, count);
		return r;
	}
	snprintf(ret_next_before, JIT_ID_LENGTH + 1, "%s", more ? last : "");
	*ret_list = out;
	*ret_count = count;
	return 0;
}

/* ---- approve / deny / revoke ---------------------------------------------------------- */

int
jit_wf_approve(struct jit_worker *w, const struct jit_caller *caller, const char *id,
               const char *comment, struct jit_request **ret_request, struct jit_status *status)
{
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = load_visible(w, caller, id, "request.approve_refused", &request, status);
	if (r < 0)
		return r;
	if (check_text("comment", comment, JIT_MAX_COMMENT, false, status) < 0)
		return JIT_ERR_INVALID;
	if (request->state != JIT_STATE_PENDING)
		return jit_status_set(status, JIT_ERR_CONFLICT,
		                      "request %s is %s; only a PENDING request can be approved",
		                      id,
		                      jit_state_name(request->state) + strlen("REQUEST_STATE_"));
	if (is_requester(caller, request)) {
		audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		            "request.approve_refused", request, "denied",
		            denial_details("requester cannot approve their own request"));
		return jit_status_set(status, JIT_ERR_DENIED,
		                      "you cannot approve your own request");
	}
	struct jit_decision decision = { 0 };
	if ((r = decide(w, JIT_POLICY_APPROVAL, caller->identity->email, caller->identity->groups,
	                request, caller->host, &decision, status)) < 0)
		return r;
	if (!decision.allow) {
		audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		            "request.approve_refused", request, "denied",
		            denial_details(decision.reason));
		return jit_status_set(status, JIT_ERR_DENIED, "%s", decision.reason);
	}
	for (size_t i = 0; i < request->approval_count; i++)
		if (jit_identity_equal(request->approvals[i].approver_identity,
		                       caller->identity->email))
			return jit_status_set(
			        status, JIT_ERR_CONFLICT,
			        "you already approved request %s; it needs %d distinct "
			        "approvers",
			        id, request->required_approvals);
	int32_t required = request->required_approvals;
	if (decision.required_approvals > required)
		required = decision.required_approvals;
	bool complete = request->approval_count + 1 >= (size_t)required;

	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	if (complete && (r = issue_grant(w, request, &sealed, &sealed_len, status)) < 0) {
		audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		            "grant.failed", request, "failure",
		            reason_details("error", status->message));
		return r;
	}

	int64_t now = jit_now_realtime_ns();
	struct jit_approval approval = { .approver_identity = caller->identity->email,
		                         .comment = (char *)comment,
		                         .approved_at = now };
	_cleanup_(jit_request_freep) struct jit_request *current = NULL;
	if (begin(w, status) < 0)
		goto undo;
	/* The decision was made on what we read before; make sure it still holds. */
	if ((r = jit_store_request_get(w->store, tenant_of(caller), id, &current)) < 0)
		goto fail;
	if (current->state != JIT_STATE_PENDING ||
	    current->approval_count != request->approval_count) {
		jit_store_rollback(w->store);
		jit_status_set(status, JIT_ERR_CONFLICT,
		               "request %s changed while it was being approved; try again", id);
		goto undo;
	}
	current->updated_at = now;
	current->required_approvals = required;
	if (complete) {
		current->state = JIT_STATE_APPROVED;
		current->issued_at = request->issued_at;
		current->expires_at = request->expires_at;
	}
	if ((r = jit_store_approval_add(w->store, tenant_of(caller), id, &approval)) < 0 ||
	    (r = jit_store_request_update(w->store, tenant_of(caller), current)) < 0 ||
	    (r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
	               complete ? "request.approved" : "request.approval_recorded", current,
	               "success", comment ? reason_details("comment", comment) : NULL)) < 0)
		goto fail;
	if (complete &&
	    ((r = jit_store_credentials_put(w->store, tenant_of(caller), id, sealed, sealed_len)) <
	             0 ||
	     (r = audit(w, tenant_of(caller), caller_host(caller), "system", "grant.issued",
	                current, "success", grant_details(current))) < 0))
		goto fail;
	if ((r = jit_store_commit(w->store)) < 0)
		goto fail;
	if (complete)
		jit_sweeper_kick(w->server->sweeper, current->expires_at);
	return reload(w, tenant_of(caller), id, ret_request, status);
fail:
	jit_store_rollback(w->store);
	jit_status_set(status, r == JIT_ERR_CONFLICT ? r : JIT_ERR_INTERNAL,
	               r == JIT_ERR_CONFLICT ? "you already approved request %s"
	                                     : "recording the approval of %s failed",
	               id);
undo:
	if (complete)
		undo_grant(w, request);
	return status->code;
}

int
jit_wf_deny(struct jit_worker *w, const struct jit_caller *caller, const char *id,
            const char *reason, struct jit_request **ret_request, struct jit_status *status)
{
	if (check_text("reason", reason, JIT_MAX_REASON, true, status) < 0)
		return JIT_ERR_INVALID;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = load_visible(w, caller, id, "request.deny_refused", &request, status);
	if (r < 0)
		return r;
	if (request->state != JIT_STATE_PENDING)
		return jit_status_set(status, JIT_ERR_CONFLICT,
		                      "request %s is %s; only a PENDING request can be denied", id,
		                      jit_state_name(request->state) + strlen("REQUEST_STATE_"));
	if (is_requester(caller, request))
		return jit_status_set(status, JIT_ERR_DENIED,
		                      "you cannot deny your own request; revoke it to withdraw it");
	struct jit_decision decision = { 0 };
	if (!may_approve(w, caller, request, &decision)) {
		audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		            "request.deny_refused", request, "denied",
		            denial_details(decision.reason));
		return jit_status_set(status, JIT_ERR_DENIED, "%s",
		                      decision.reason[0] ? decision.reason
		                                         : "you may not decide on this request");
	}
	if ((r = begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get(w->store, tenant_of(caller), id, &request)) < 0)
		goto fail;
	if (request->state != JIT_STATE_PENDING) {
		jit_store_rollback(w->store);
		return jit_status_set(status, JIT_ERR_CONFLICT, "request %s is no longer PENDING",
		                      id);
	}
	request->state = JIT_STATE_REJECTED;
	request->updated_at = jit_now_realtime_ns();
	request->decided_by = strdup(caller->identity->email);
	request->decision_reason = strdup(reason);
	if (!request->decided_by || !request->decision_reason) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = jit_store_request_update(w->store, tenant_of(caller), request)) < 0 ||
	    (r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
	               "request.rejected", request, "success", reason_details("reason", reason))) <
	            0 ||
	    (r = jit_store_commit(w->store)) < 0)
		goto fail;
	return reload(w, tenant_of(caller), id, ret_request, status);
fail:
	jit_store_rollback(w->store);
	return jit_status_set(status, JIT_ERR_INTERNAL, "recording the denial of %s failed: %s", id,
	                      jit_strerror(r));
}

/* Ends a request (REVOKED or EXPIRED) inside the open transaction: the sealed credentials go
 * at once, and a grant that was issued is marked for revocation at the provider. */
static int
end_request(struct jit_worker *w, const char *tenant, struct jit_request *request,
            enum jit_request_state state, const char *by, const char *reason, int64_t now)
{
	bool had_grant = request->state == JIT_STATE_APPROVED || request->state == JIT_STATE_ACTIVE;
	int r;
	request->state = state;
	request->updated_at = now;
	free(request->decided_by);
	free(request->decision_reason);
	request->decided_by = strdup(by);
	request->decision_reason = strdup(reason);
	if (!request->decided_by || !request->decision_reason)
		return -ENOMEM;
	if (had_grant) {
		request->revocation_pending = true;
		request->revoke_next_attempt_at = now;
		if ((r = jit_store_credentials_delete(w->store, tenant, request->id)) < 0)
			return r;
	}
	return jit_store_request_update(w->store, tenant, request);
}

int
jit_wf_revoke(struct jit_worker *w, const struct jit_caller *caller, const char *id,
              const char *reason, struct jit_request **ret_request, struct jit_status *status)
{
	if (check_text("reason", reason, JIT_MAX_REASON, true, status) < 0)
		return JIT_ERR_INVALID;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = load_visible(w, caller, id, "request.revoke_refused", &request, status);
	if (r < 0)
		return r;
	if (jit_state_terminal(request->state))
		return jit_status_set(status, JIT_ERR_CONFLICT, "request %s is already %s", id,
		                      jit_state_name(request->state) + strlen("REQUEST_STATE_"));
	/* load_visible let in the requester, admins and approvers of this request: exactly who
	 * may revoke. */
	if ((r = begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get(w->store, tenant_of(caller), id, &request)) < 0)
		goto fail;
	if (jit_state_terminal(request->state)) {
		jit_store_rollback(w->store);
		return jit_status_set(status, JIT_ERR_CONFLICT, "request %s is already %s", id,
		                      jit_state_name(request->state) + strlen("REQUEST_STATE_"));
	}
	if ((r = end_request(w, tenant_of(caller), request, JIT_STATE_REVOKED,
	                     caller->identity->email, reason, jit_now_realtime_ns())) < 0 ||
	    (r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
	               "request.revoked", request, "success", reason_details("reason", reason))) <
	            0 ||
	    (r = jit_store_commit(w->store)) < 0)
		goto fail;
	if (request->revocation_pending)
		revoke_at_provider(w, tenant_of(caller), caller_host(caller), id, status);
	return reload(w, tenant_of(caller), id, ret_request, status);
fail:
	jit_store_rollback(w->store);
	return jit_status_set(status, JIT_ERR_INTERNAL, "recording the revocation of %s failed: %s",
	                      id, jit_strerror(r));
}

/* ---- credentials ---------------------------------------------------------------------- */

int
jit_wf_credentials(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                   struct jit_grant *ret_grant, struct jit_status *status)
{
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = load_visible(w, caller, id, "grant.fetch_refused", &request, status);
	if (r < 0)
		return r;
	if (!is_requester(caller, request)) {
		audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		            "grant.fetch_refused", request, "denied",
		            denial_details("only the requester may fetch credentials"));
		return jit_status_set(status, JIT_ERR_DENIED,
		                      "only the requester may fetch the credentials of %s", id);
	}
	int64_t now = jit_now_realtime_ns();
	if (request->state != JIT_STATE_APPROVED && request->state != JIT_STATE_ACTIVE)
		return jit_status_set(status, JIT_ERR_CONFLICT,
		                      "request %s is %s; credentials exist only while APPROVED or "
		                      "ACTIVE",
		                      id,
		                      jit_state_name(request->state) + strlen("REQUEST_STATE_"));
	if (now >= request->expires_at)
		return jit_status_set(status, JIT_ERR_CONFLICT, "the grant of %s has expired", id);

	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	_cleanup_secret_ struct jit_secret *plain = NULL;
	if ((r = begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get(w->store, tenant_of(caller), id, &request)) < 0)
		goto fail;
	if ((request->state != JIT_STATE_APPROVED && request->state != JIT_STATE_ACTIVE) ||
	    now >= request->expires_at) {
		jit_store_rollback(w->store);
		return jit_status_set(status, JIT_ERR_CONFLICT, "the grant of %s has ended", id);
	}
	if ((r = jit_store_credentials_get(w->store, tenant_of(caller), id, &sealed, &sealed_len)) <
	    0)
		goto fail;
	if (request->state == JIT_STATE_APPROVED) {
		request->state = JIT_STATE_ACTIVE;
		request->updated_at = now;
		if ((r = jit_store_request_update(w->store, tenant_of(caller), request)) < 0 ||
		    (r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		               "request.activated", request, "success", NULL)) < 0)
			goto fail;
	}
	if ((r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
	               "grant.fetched", request, "success", NULL)) < 0 ||
	    (r = jit_store_commit(w->store)) < 0)
		goto fail;

	const struct jit_secret *key = w->server->seal_key;
	if (jit_unseal(key->bytes, key->length, sealed, sealed_len, id, strlen(id), &plain) < 0)
		return jit_status_set(status, JIT_ERR_INTERNAL,
		                      "the stored credentials of %s cannot be opened", id);
	struct jit_grant grant = { 0 };
	if (jit_grant_deserialize((const char *)plain->bytes, plain->length, &grant) < 0)
		return jit_status_set(status, JIT_ERR_INTERNAL,
		                      "the stored credentials of %s are malformed", id);
	snprintf(grant.request_id, sizeof(grant.request_id), "%s", id);
	grant.issued_at = request->issued_at;
	grant.expires_at = request->expires_at;
	*ret_grant = grant;
	return 0;
fail:
	jit_store_rollback(w->store);
	return jit_status_set(status, JIT_ERR_INTERNAL, "reading the credentials of %s failed: %s",
	                      id, jit_strerror(r));
}

/* ---- sweeper -------------------------------------------------------------------------- */

static int
sweep_one(struct jit_worker *w, const char *tenant, const char *id, int64_t now,
          struct jit_status *status)
{
	int r;
	if ((r = begin(w, status)) < 0)
		return r;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	if ((r = jit_store_request_get(w->store, tenant, id, &request)) < 0)
		goto fail;
	bool changed = false;
	if (request->state == JIT_STATE_PENDING && request->pending_expires_at > 0 &&
	    request->pending_expires_at <= now) {
		if ((r = end_request(w, tenant, request, JIT_STATE_EXPIRED, "system",
		                     "no decision before the pending timeout", now)) < 0 ||
		    (r = audit(w, tenant, NULL, "system", "request.expired", request, "success",
		               NULL)) < 0)
			goto fail;
		changed = true;
	} else if ((request->state == JIT_STATE_APPROVED || request->state == JIT_STATE_ACTIVE) &&
	           request->expires_at <= now) {
		if ((r = end_request(w, tenant, request, JIT_STATE_EXPIRED, "system",
		                     "the grant expired", now)) < 0 ||
		    (r = audit(w, tenant, NULL, "system", "grant.expired", request, "success",
		               NULL)) < 0)
			goto fail;
		changed = true;
	}
	if (changed && (r = jit_store_commit(w->store)) < 0)
		goto fail;
	if (!changed)
		jit_store_rollback(w->store);
	if (request->revocation_pending && request->revoke_next_attempt_at <= now)
		return revoke_at_provider(w, tenant, NULL, id, status);
	return 0;
fail:
	jit_store_rollback(w->store);
	return jit_status_set(status, r, "sweeping %s: %s", id, jit_strerror(r));
}

int
jit_wf_sweep(struct jit_worker *w, int64_t now, struct jit_status *status)
{
	/* The default tenant's requests: the only tenant the server serves today. Serving
	 * others, the sweeper goes through each tenant (or the store claims due work of all). */
	const char *tenant = JIT_DEFAULT_TENANT_ID;
	for (;;) {
		char **ids = NULL;
		size_t n = 0;
		int r = jit_store_due_requests(w->store, tenant, now, SWEEP_BATCH, &ids, &n);
		if (r < 0)
			return jit_status_set(status, r, "finding due requests: %s",
			                      jit_strerror(r));
		int failed = 0;
		for (size_t i = 0; i < n; i++) {
			if (sweep_one(w, tenant, ids[i], now, status) < 0)
				failed++;
			free(ids[i]);
		}
		free(ids);
		if (failed)
			return status->code ? status->code : JIT_ERR_INTERNAL;
		if (n < SWEEP_BATCH)
			return 0;
	}
}

/* ---- policies ------------------------------------------------------------------------- */

static bool
policy_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > JIT_MAX_POLICY_NAME)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static int
require_admin(struct jit_worker *w, const struct jit_caller *caller, const char *action,
              struct jit_status *status)
{
	if (!caller || caller->admin)
		return 0;
	audit_alone(w, tenant_of(caller), caller_host(caller), caller_email(caller), action, NULL,
	            "denied", denial_details("not an administrator"));
	return jit_status_set(status, JIT_ERR_DENIED, "only administrators may change policies");
}

int
jit_wf_policy_list(struct jit_worker *w, const struct jit_caller *caller,
                   struct jit_policy ***ret_list, size_t *ret_count, struct jit_status *status)
{
	int r = jit_store_policy_list(w->store, tenant_of(caller), ret_list, ret_count);
	return r < 0 ? jit_status_set(status, r, "listing policies: %s", jit_strerror(r)) : 0;
}

int
jit_wf_policy_get(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                  struct jit_policy **ret_policy, struct jit_status *status)
{
	int r = jit_store_policy_get(w->store, tenant_of(caller), id, ret_policy);
	if (r == JIT_ERR_NOT_FOUND)
		return jit_status_set(status, r, "policy %.64s not found", id);
	return r < 0 ? jit_status_set(status, r, "reading policy: %s", jit_strerror(r)) : 0;
}

/* Compiles the stored policies with `replace` put in place of the one of the same name (or
 * added) and `remove_id` left out, as the set that would be live after the change. */
static int
compile_prospective(struct jit_worker *w, const char *tenant, const struct jit_policy *replace,
                    const char *remove_id, struct jit_policy_set **ret_set, size_t *ret_count,
                    struct jit_status *status)
{
	struct jit_policy **list = NULL;
	size_t count = 0;
	int r = jit_store_policy_list(w->store, tenant, &list, &count);
	if (r < 0)
		return jit_status_set(status, r, "listing policies: %s", jit_strerror(r));
	struct jit_policy **use = calloc(count + 1, sizeof(*use));
	size_t n = 0;
	if (!use) {
		jit_policy_list_free(list, count);
		return jit_status_set(status, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		if (remove_id && strcmp(list[i]->id, remove_id) == 0)
			continue;
		if (replace && strcmp(list[i]->name, replace->name) == 0)
			continue;
		use[n++] = list[i];
	}
	if (replace)
		use[n++] = (struct jit_policy *)replace;
	struct jit_policy_error error = { 0 };
	r = jit_policy_set_compile(use, n, ret_set, &error);
	if (r == 0 && ret_count)
		*ret_count = jit_policy_set_count(*ret_set);
	free(use);
	jit_policy_list_free(list, count);
	if (r < 0)
		return jit_status_set(status, JIT_ERR_INVALID, "rego: %s", error.message);
	return 0;
}

static json_t *
policy_details(const struct jit_policy *policy)
{
	return json_pack("{s:s,s:s,s:s,s:b}", "policy_id", policy->id, "name", policy->name, "type",
	                 jit_policy_type_name(policy->type), "enabled", policy->enabled);
}

/* Stores a policy change (an upsert, or a delete) with its audit event, then makes `*set`,
 * compiled beforehand with the change, the live set. The caller holds policy_write_lock. */
static int
commit_policy_change(struct jit_worker *w, const struct jit_caller *caller,
                     struct jit_policy *policy, bool deleting, struct jit_policy_set **set,
                     struct jit_status *status)
{
	int r = begin(w, status);
	if (r < 0)
		return r;
	if ((r = deleting ? jit_store_policy_delete(w->store, tenant_of(caller), policy->id)
	                  : jit_store_policy_upsert(w->store, tenant_of(caller), policy)) < 0 ||
	    (r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
	               deleting ? "policy.deleted" : "policy.applied", NULL, "success",
	               policy_details(policy))) < 0 ||
	    (r = jit_store_commit(w->store)) < 0) {
		jit_store_rollback(w->store);
		return jit_status_set(status, JIT_ERR_INTERNAL, "%s the policy failed: %s",
		                      deleting ? "deleting" : "saving", jit_strerror(r));
	}
	jit_server_set_policies(w->server, TAKE_PTR(*set));
	return 0;
}

int
jit_wf_policy_apply(struct jit_worker *w, const struct jit_caller *caller,
                    struct jit_policy *policy, struct jit_status *status)
{
	int r = require_admin(w, caller, "policy.apply_refused", status);
	if (r < 0)
		return r;
	if (!policy->name || !policy_name_ok(policy->name))
		return jit_status_set(
		        status, JIT_ERR_INVALID,
		        "name: 1 to %d characters of letters, digits, '-', '_' and '.'",
		        JIT_MAX_POLICY_NAME);
	if (policy->type != JIT_POLICY_ELIGIBILITY && policy->type != JIT_POLICY_APPROVAL)
		return jit_status_set(status, JIT_ERR_INVALID,
		                      "type: POLICY_TYPE_ELIGIBILITY or POLICY_TYPE_APPROVAL");
	if (!policy->rego || !policy->rego[0])
		return jit_status_set(status, JIT_ERR_INVALID, "rego: required");
	if (strlen(policy->rego) > JIT_MAX_POLICY_REGO)
		return jit_status_set(status, JIT_ERR_INVALID, "rego: at most %d bytes",
		                      JIT_MAX_POLICY_REGO);
	struct jit_policy_error error = { 0 };
	if (jit_policy_check(policy, &error) < 0)
		return jit_status_set(status, JIT_ERR_INVALID, "rego: %s", error.message);

	pthread_mutex_lock(&w->server->policy_write_lock);
	struct jit_policy_set *set = NULL;
	if ((r = compile_prospective(w, tenant_of(caller), policy, NULL, &set, NULL, status)) < 0)
		goto out;
	policy->updated_at = jit_now_realtime_ns();
	free(policy->updated_by);
	if (!(policy->updated_by = strdup(caller_email(caller)))) {
		r = jit_status_set(status, -ENOMEM, "out of memory");
		goto out;
	}
	r = commit_policy_change(w, caller, policy, false, &set, status);
out:
	pthread_mutex_unlock(&w->server->policy_write_lock);
	jit_policy_set_unref(set);
	return r < 0 ? status->code : 0;
}

int
jit_wf_policy_delete(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                     struct jit_status *status)
{
	int r = require_admin(w, caller, "policy.delete_refused", status);
	if (r < 0)
		return r;
	pthread_mutex_lock(&w->server->policy_write_lock);
	struct jit_policy_set *set = NULL;
	_cleanup_(jit_policy_freep) struct jit_policy *policy = NULL;
	if ((r = jit_store_policy_get(w->store, tenant_of(caller), id, &policy)) < 0) {
		jit_status_set(status, r,
		               r == JIT_ERR_NOT_FOUND ? "policy %.64s not found"
		                                      : "reading policy %.64s failed",
		               id);
		goto out;
	}
	if ((r = compile_prospective(w, tenant_of(caller), NULL, id, &set, NULL, status)) < 0)
		goto out;
	r = commit_policy_change(w, caller, policy, true, &set, status);
out:
	pthread_mutex_unlock(&w->server->policy_write_lock);
	jit_policy_set_unref(set);
	return r < 0 ? status->code : 0;
}

int
jit_wf_policy_eval(struct jit_worker *w, const struct jit_caller *caller, enum jit_policy_type type,
                   const json_t *input, struct jit_decision *ret_decision, char **ret_result_json,
                   struct jit_status *status)
{
	_cleanup_(jit_policy_set_unrefp) struct jit_policy_set *set =
	        jit_server_policies(w->server);
	struct jit_policy_error error = { 0 };
	int r = jit_policy_eval_raw(set, w->eval, type, input, ret_decision, ret_result_json,
	                            &error);
	if (r < 0)
		return jit_status_set(status, JIT_ERR_INVALID, "evaluation failed: %s",
		                      error.message);
	return 0;
}

int
jit_wf_policy_reload(struct jit_worker *w, const struct jit_caller *caller, size_t *ret_loaded,
                     struct jit_status *status)
{
	int r = caller ? require_admin(w, caller, "policy.reload_refused", status) : 0;
	if (r < 0)
		return r;
	pthread_mutex_lock(&w->server->policy_write_lock);
	struct jit_policy_set *set = NULL;
	size_t loaded = 0;
	if ((r = compile_prospective(w, tenant_of(caller), NULL, NULL, &set, &loaded, status)) < 0)
		goto out;
	if (caller) {
		if ((r = begin(w, status)) < 0)
			goto out;
		if ((r = audit(w, tenant_of(caller), caller_host(caller), caller_email(caller),
		               "policy.reloaded", NULL, "success",
		               json_pack("{s:I}", "policies_loaded", (json_int_t)loaded))) < 0 ||
		    (r = jit_store_commit(w->store)) < 0) {
			jit_store_rollback(w->store);
			jit_status_set(status, JIT_ERR_INTERNAL, "recording the reload failed");
			goto out;
		}
	}
	jit_server_set_policies(w->server, TAKE_PTR(set));
	*ret_loaded = loaded;
out:
	pthread_mutex_unlock(&w->server->policy_write_lock);
	jit_policy_set_unref(set);
	return r < 0 ? status->code : 0;
}

int
jit_wf_load_default_policies(struct jit_worker *w, struct jit_status *status)
{
	/* The policies of config->policies_dir are the default tenant's. */
	const char *tenant = JIT_DEFAULT_TENANT_ID;
	_cleanup_free_ char *mark = NULL;
	int r = jit_store_meta_get(w->store, "default_policies_loaded", &mark);
	if (r == 0)
		return 0;
	if (r != JIT_ERR_NOT_FOUND)
		return jit_status_set(status, r, "reading the store: %s", jit_strerror(r));
	struct jit_policy **list = NULL;
	size_t count = 0;
	char error[256] = "";
	if ((r = jit_policy_load_defaults(w->server->config->policies_dir, &list, &count, error,
	                                  sizeof(error))) < 0)
		return jit_status_set(status, r, "default policies: %s", error);
	if ((r = jit_store_begin(w->store)) < 0) {
		jit_policy_list_free(list, count);
		return jit_status_set(status, r, "the store is busy");
	}
	for (size_t i = 0; i < count && r == 0; i++) {
		list[i]->updated_at = jit_now_realtime_ns();
		free(list[i]->updated_by);
		list[i]->updated_by = strdup("system");
		if ((r = jit_store_policy_upsert(w->store, tenant, list[i])) == 0)
			r = audit(w, tenant, NULL, "system", "policy.applied", NULL, "success",
			          policy_details(list[i]));
	}
	char now_text[JIT_RFC3339_MAX] = "";
	jit_rfc3339_format(jit_now_realtime_ns(), false, now_text, sizeof(now_text));
	if (r == 0)
		r = jit_store_meta_set(w->store, "default_policies_loaded", now_text);
	if (r == 0)
		r = jit_store_commit(w->store);
	if (r < 0)
		jit_store_rollback(w->store);
	jit_policy_list_free(list, count);
	return r < 0 ? jit_status_set(status, r, "saving default policies: %s", jit_strerror(r))
	             : 0;
}

/* ---- audit ---------------------------------------------------------------------------- */

/* Visibility of events for a non-admin, cached per request id within one query. */
struct seen {
	char id[JIT_ID_LENGTH + 1];
	bool visible;
};

/* 1 when the caller may see `event`, 0 when not, -1 when deciding would take a policy check
 * beyond the query's budget (`cache_max` checks, each remembered in `cache`). */
static int
event_visible(struct jit_worker *w, const struct jit_caller *caller,
              const struct jit_audit_event *event, struct seen *cache, size_t *cache_count,
              size_t cache_max)
{
	if (jit_identity_equal(event->actor_identity, caller->identity->email))
		return 1;
	if (!event->request_id)
		return 0;
	for (size_t i = 0; i < *cache_count; i++)
		if (strcmp(cache[i].id, event->request_id) == 0)
			return cache[i].visible;
	if (*cache_count >= cache_max)
		return -1;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	bool visible = jit_store_request_get(w->store, tenant_of(caller), event->request_id,
	                                     &request) == 0 &&
	               may_see(w, caller, request);
	snprintf(cache[*cache_count].id, sizeof(cache[0].id), "%s", event->request_id);
	cache[(*cache_count)++].visible = visible;
	return visible;
}

int
jit_wf_audit_query(struct jit_worker *w, const struct jit_caller *caller,
                   const struct jit_audit_filter *filter, struct jit_audit_event ***ret_list,
                   size_t *ret_count, int64_t *ret_next_after, struct jit_status *status)
{
	struct jit_audit_filter f = *filter;
	size_t want = filter->limit;
	int r;
	_cleanup_free_ char *actor = NULL;
	if (filter->actor_identity && !(actor = strdup(filter->actor_identity)))
		return jit_status_set(status, -ENOMEM, "out of memory");
	jit_identity_fold(actor);
	f.actor_identity = actor;
	if (caller->admin) {
		if ((r = jit_store_audit_query(w->store, tenant_of(caller), &f, ret_list,
		                               ret_count)) < 0)
			return jit_status_set(status, r, "reading the audit log: %s",
			                      jit_strerror(r));
		*ret_next_after = *ret_count == want ? (*ret_list)[*ret_count - 1]->id : 0;
		return 0;
	}
	struct jit_audit_event **out = calloc(want, sizeof(*out));
	struct seen *cache = calloc(SCAN_CHECKS_MAX, sizeof(*cache));
	size_t count = 0, cache_count = 0, scanned = 0;
	int64_t last = f.after_id;
	bool more = false;
	r = 0;
	if (!out || !cache) {
		free(out);
		free(cache);
		return jit_status_set(status, -ENOMEM, "out of memory");
	}
	bool budget_left = true;
	while (count < want && scanned < SCAN_ROWS_MAX && budget_left) {
		struct jit_audit_event **batch = NULL;
		size_t n = 0, i = 0;
		f.after_id = last;
		f.limit = want < SCAN_ROWS_MAX - scanned ? want : SCAN_ROWS_MAX - scanned;
		if ((r = jit_store_audit_query(w->store, tenant_of(caller), &f, &batch, &n)) < 0) {
			jit_status_set(status, r, "reading the audit log: %s", jit_strerror(r));
			break;
		}
		for (; i < n && count < want; i++) {
			int v = event_visible(w, caller, batch[i], cache, &cache_count,
			                      SCAN_CHECKS_MAX);
			if (v < 0) {
				budget_left = false; /* this event is read again on the next page */
				break;
			}
			last = batch[i]->id;
			if (v)
				out[count++] = TAKE_PTR(batch[i]);
		}
		more = i < n || n == f.limit;
		scanned += i;
		jit_audit_event_list_free(batch, n);
		if (!more)
			break;
	}
	free(cache);
	if (r < 0) {
		jit_audit_event_list_free(out, count);
		return r;
	}
	*ret_list = out;
	*ret_count = count;
	*ret_next_after = more ? last : 0;
	return 0;
}
