/* Creating a request: the spec is checked, eligibility decided by the policies, the approval
 * route chosen; break-glass and the auto tier are granted at once. The request, its approval,
 * sealed credentials and audit events are stored in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/id.h"
#include "lib/common/timeutil.h"
#include "lib/json/json.h"
#include "server/core/workflow_internal.h"

static int
check_spec(struct jit_worker *w, const struct jit_request_spec *spec, struct jit_error *status)
{
	const struct jit_config *config = w->server->config;
	char error[256] = "";
	if (!spec->provider || !spec->provider[0])
		return jit_error_set(status, JIT_ERR_INVALID, "provider: required");
	struct jit_provider *provider = jit_server_provider(w->server, spec->provider);
	if (!provider)
		return jit_error_set(status, JIT_ERR_INVALID,
		                     "provider: \"%.32s\" is not configured (one of aws, gcp, "
		                     "azure, kubernetes when enabled)",
		                     spec->provider);
	if (!spec->role || !spec->role[0])
		return jit_error_set(status, JIT_ERR_INVALID, "role: required");
	if (!spec->resource_scope || !spec->resource_scope[0])
		return jit_error_set(status, JIT_ERR_INVALID, "resource_scope: required");
	if (provider->ops->validate(provider, spec->role, spec->resource_scope, error,
	                            sizeof(error)) < 0)
		return jit_error_set(status, JIT_ERR_INVALID, "%s", error);
	if (spec->duration_seconds < config->min_duration_seconds ||
	    spec->duration_seconds > config->max_duration_seconds)
		return jit_error_set(status, JIT_ERR_INVALID,
		                     "duration_seconds: must be between %lld and %lld",
		                     (long long)config->min_duration_seconds,
		                     (long long)config->max_duration_seconds);
	if (wf_check_text("reason", spec->reason, JIT_MAX_REASON, true, status) < 0)
		return JIT_ERR_INVALID;
	if (spec->metadata) {
		const char *key;
		json_t *value;
		if (!json_is_object(spec->metadata))
			return jit_error_set(status, JIT_ERR_INVALID,
			                     "metadata: must be an object");
		if (json_object_size(spec->metadata) > JIT_MAX_METADATA_ENTRIES)
			return jit_error_set(status, JIT_ERR_INVALID,
			                     "metadata: at most %d entries",
			                     JIT_MAX_METADATA_ENTRIES);
		json_object_foreach((json_t *)spec->metadata, key, value)
		{
			if (strlen(key) == 0 || strlen(key) > JIT_MAX_METADATA_KEY)
				return jit_error_set(status, JIT_ERR_INVALID,
				                     "metadata: keys are 1 to %d bytes",
				                     JIT_MAX_METADATA_KEY);
			if (!json_is_string(value) ||
			    json_string_length(value) > JIT_MAX_METADATA_VALUE)
				return jit_error_set(
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
	if (r < 0 ||
	    (r = jit_state_next(JIT_STATE_UNSPECIFIED, JIT_EVENT_CREATE, &request->state)) < 0)
		return r;
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
              struct jit_error *status)
{
	const struct jit_config *config = w->server->config;
	int r = check_spec(w, spec, status);
	if (r < 0)
		return r;
	int64_t now = jit_now_realtime_ns();
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	if ((r = build_request(spec, caller, now, config->pending_timeout_seconds, &request)) < 0)
		return jit_error_set(status, r, "creating the request: %s", jit_strerror(r));

	/* Eligibility: any enabled policy allowing is enough; break-glass is no exception. */
	struct jit_decision eligible = { 0 };
	if ((r = wf_decide(w, JIT_POLICY_ELIGIBILITY, caller->identity->email,
	                   caller->identity->groups, request, caller->host, &eligible, status)) <
	    0) {
		wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
		               jit_caller_email(caller), "request.refused", NULL, "failure",
		               wf_reason_details("error", status->message));
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
		wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
		               jit_caller_email(caller), "request.refused", NULL, "denied",
		               details);
		return jit_error_set(status, JIT_ERR_DENIED, "%s", eligible.reason);
	}

	/* Routing: the approval policies, asked with the requester as user. An error here only
	 * means no auto-approval; approval itself is decided again for each approver. */
	struct jit_decision route = { .required_approvals = 1 };
	struct jit_error ignored;
	if (wf_decide(w, JIT_POLICY_APPROVAL, caller->identity->email, caller->identity->groups,
	              request, caller->host, &route, &ignored) == 0) {
		free(request->approver_tier);
		request->approver_tier =
		        strdup(route.approver_tier[0] ? route.approver_tier : "human");
		if (!request->approver_tier)
			return jit_error_set(status, -ENOMEM, "out of memory");
		request->required_approvals =
		        route.required_approvals > 0 ? route.required_approvals : 1;
	}

	bool grant_now = request->break_glass || strcmp(request->approver_tier, "auto") == 0;
	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	struct jit_error grant_status = { 0 };
	bool granted = false;
	if (grant_now) {
		r = wf_issue_grant(w, request, &sealed, &sealed_len, &grant_status);
		if (r < 0 && request->break_glass) {
			json_t *details = wf_reason_details("error", grant_status.message);
			wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
			               jit_caller_email(caller), "grant.failed", request, "failure",
			               details);
			*status = grant_status;
			return r;
		}
		granted = r == 0;
	}

	if (wf_begin(w, status) < 0)
		goto undo;
	struct jit_approval approval = { 0 };
	if (granted) {
		enum jit_request_event event =
		        request->break_glass ? JIT_EVENT_BREAK_GLASS : JIT_EVENT_AUTO_APPROVE;
		if ((r = jit_state_next(request->state, event, &request->state)) < 0)
			goto fail;
		approval.approver_identity = request->break_glass ? "break-glass" : "policy";
		approval.comment = request->break_glass ? "break-glass: no approver"
		                                        : "approved by policy (auto tier)";
		approval.approved_at = now;
	}
	if ((r = jit_store_request_insert(w->store, jit_caller_tenant(caller), request)) < 0 ||
	    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
	                  jit_caller_email(caller), "request.created", request, "success",
	                  created_details(request))) < 0)
		goto fail;
	if (granted) {
		if ((r = jit_store_approval_add(w->store, jit_caller_tenant(caller), request->id,
		                                &approval)) < 0 ||
		    (r = jit_store_credentials_put(w->store, jit_caller_tenant(caller), request->id,
		                                   sealed, sealed_len)) < 0 ||
		    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
		                  request->break_glass ? jit_caller_email(caller) : "policy",
		                  "request.approved", request, "success",
		                  wf_reason_details("tier", request->break_glass ? "break-glass"
		                                                                 : "auto"))) < 0 ||
		    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller), "system",
		                  "grant.issued", request, "success", wf_grant_details(request))) <
		            0)
			goto fail;
	} else if (grant_now) {
		if ((r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller), "system",
		                  "grant.failed", request, "failure",
		                  wf_reason_details("error", grant_status.message))) < 0)
			goto fail;
	}
	if ((r = jit_store_commit(w->store)) < 0)
		goto fail;
	wf_deadline_committed(w, granted ? request->expires_at : request->pending_expires_at);
	/* The answer is what was just committed; no need to read it back. */
	if (granted && remember_approval(request, &approval) < 0)
		return wf_reload(w, jit_caller_tenant(caller), request->id, ret_request, status);
	*ret_request = TAKE_PTR(request);
	return 0;
fail:
	jit_store_rollback(w->store);
	jit_error_set(status, r == JIT_ERR_UNAVAILABLE ? r : JIT_ERR_INTERNAL,
	              "storing the request failed: %s", jit_strerror(r));
undo:
	if (granted)
		wf_undo_grant(w, jit_caller_tenant(caller), request);
	return status->code;
}
