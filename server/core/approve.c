/* Approving and denying a PENDING request. An approval that completes the required count issues
 * the grant at the provider before the transaction that records it; the decision is checked
 * again inside that transaction against what is stored then. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/core/workflow_internal.h"

int
jit_wf_approve(struct jit_worker *w, const struct jit_caller *caller, const char *id,
               const char *comment, struct jit_request **ret_request, struct jit_error *status)
{
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = wf_load_visible(w, caller, id, "request.approve_refused", &request, status);
	if (r < 0)
		return r;
	if (wf_check_text("comment", comment, JIT_MAX_COMMENT, false, status) < 0)
		return JIT_ERR_INVALID;
	/* Whether this approval completes the count is known only after the policy; both
	 * kinds of approval start from the same states (tests/unit/test_workflow.c checks it). */
	if (!jit_state_allows(request->state, JIT_EVENT_APPROVE))
		return jit_state_refuse(status, JIT_EVENT_APPROVE, id, request->state,
		                        JIT_REFUSED_AT_READ);
	if (jit_caller_is_requester(caller, request)) {
		wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
		               jit_caller_email(caller), "request.approve_refused", request,
		               "denied",
		               wf_denial_details("requester cannot approve their own request"));
		return jit_error_set(status, JIT_ERR_DENIED, "you cannot approve your own request");
	}
	struct jit_decision decision = { 0 };
	if ((r = wf_decide(w, JIT_POLICY_APPROVAL, caller->identity->email,
	                   caller->identity->groups, request, caller->host, &decision, status)) < 0)
		return r;
	if (!decision.allow) {
		wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
		               jit_caller_email(caller), "request.approve_refused", request,
		               "denied", wf_denial_details(decision.reason));
		return jit_error_set(status, JIT_ERR_DENIED, "%s", decision.reason);
	}
	for (size_t i = 0; i < request->approval_count; i++)
		if (jit_identity_equal(request->approvals[i].approver_identity,
		                       caller->identity->email))
			return jit_error_set(
			        status, JIT_ERR_CONFLICT,
			        "you already approved request %s; it needs %d distinct "
			        "approvers",
			        id, request->required_approvals);
	int32_t required = request->required_approvals;
	if (decision.required_approvals > required)
		required = decision.required_approvals;
	bool complete = request->approval_count + 1 >= (size_t)required;
	enum jit_request_event event = complete ? JIT_EVENT_APPROVE : JIT_EVENT_APPROVAL_RECORD;
	enum jit_request_state to = JIT_STATE_UNSPECIFIED;

	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	if (complete && (r = wf_issue_grant(w, request, &sealed, &sealed_len, status)) < 0) {
		wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
		               jit_caller_email(caller), "grant.failed", request, "failure",
		               wf_reason_details("error", status->message));
		return r;
	}

	int64_t now = jit_now_realtime_ns();
	struct jit_approval approval = { .approver_identity = caller->identity->email,
		                         .comment = (char *)comment,
		                         .approved_at = now };
	_cleanup_(jit_request_freep) struct jit_request *current = NULL;
	if (wf_begin(w, status) < 0)
		goto undo;
	/* The decision was made on what we read before; make sure it still holds. */
	if ((r = jit_store_request_get_for_update(w->store, jit_caller_tenant(caller), id,
	                                          &current)) < 0)
		goto fail;
	if (jit_state_next(current->state, event, &to) < 0 ||
	    current->approval_count != request->approval_count) {
		jit_store_rollback(w->store);
		jit_state_refuse(status, event, id, current->state, JIT_REFUSED_AT_RECHECK);
		goto undo;
	}
	current->state = to;
	current->updated_at = now;
	current->required_approvals = required;
	if (complete) {
		current->issued_at = request->issued_at;
		current->expires_at = request->expires_at;
	}
	if ((r = jit_store_approval_add(w->store, jit_caller_tenant(caller), id, &approval)) < 0)
		goto fail;
	/* A conflict here is another writer's change, not this approver's second approval. */
	if ((r = jit_store_request_update(w->store, jit_caller_tenant(caller), current)) ==
	    JIT_ERR_CONFLICT) {
		jit_store_rollback(w->store);
		jit_state_refuse(status, event, id, current->state, JIT_REFUSED_AT_RECHECK);
		goto undo;
	}
	if (r < 0 ||
	    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
	                  jit_caller_email(caller),
	                  complete ? "request.approved" : "request.approval_recorded", current,
	                  "success", comment ? wf_reason_details("comment", comment) : NULL)) < 0)
		goto fail;
	if (complete &&
	    ((r = jit_store_credentials_put(w->store, jit_caller_tenant(caller), id, sealed,
	                                    sealed_len)) < 0 ||
	     (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller), "system",
	                   "grant.issued", current, "success", wf_grant_details(current))) < 0))
		goto fail;
	if ((r = jit_store_commit(w->store)) < 0)
		goto fail;
	if (complete)
		wf_deadline_committed(w, current->expires_at);
	return wf_reload(w, jit_caller_tenant(caller), id, ret_request, status);
fail:
	jit_store_rollback(w->store);
	jit_error_set(status, r == JIT_ERR_CONFLICT ? r : JIT_ERR_INTERNAL,
	              r == JIT_ERR_CONFLICT ? "you already approved request %s"
	                                    : "recording the approval of %s failed",
	              id);
undo:
	if (complete)
		wf_undo_grant(w, jit_caller_tenant(caller), request);
	return status->code;
}

int
jit_wf_deny(struct jit_worker *w, const struct jit_caller *caller, const char *id,
            const char *reason, struct jit_request **ret_request, struct jit_error *status)
{
	if (wf_check_text("reason", reason, JIT_MAX_REASON, true, status) < 0)
		return JIT_ERR_INVALID;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = wf_load_visible(w, caller, id, "request.deny_refused", &request, status);
	if (r < 0)
		return r;
	if (!jit_state_allows(request->state, JIT_EVENT_DENY))
		return jit_state_refuse(status, JIT_EVENT_DENY, id, request->state,
		                        JIT_REFUSED_AT_READ);
	if (jit_caller_is_requester(caller, request))
		return jit_error_set(status, JIT_ERR_DENIED,
		                     "you cannot deny your own request; revoke it to withdraw it");
	struct jit_decision decision = { 0 };
	if (!wf_may_approve(w, caller, request, &decision)) {
		wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
		               jit_caller_email(caller), "request.deny_refused", request, "denied",
		               wf_denial_details(decision.reason));
		return jit_error_set(status, JIT_ERR_DENIED, "%s",
		                     decision.reason[0] ? decision.reason
		                                        : "you may not decide on this request");
	}
	if ((r = wf_begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get_for_update(w->store, jit_caller_tenant(caller), id,
	                                          &request)) < 0)
		goto fail;
	enum jit_request_state to = JIT_STATE_UNSPECIFIED;
	if (jit_state_next(request->state, JIT_EVENT_DENY, &to) < 0) {
		jit_store_rollback(w->store);
		return jit_state_refuse(status, JIT_EVENT_DENY, id, request->state,
		                        JIT_REFUSED_AT_RECHECK);
	}
	request->state = to;
	request->updated_at = jit_now_realtime_ns();
	request->decided_by = strdup(caller->identity->email);
	request->decision_reason = strdup(reason);
	if (!request->decided_by || !request->decision_reason) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = jit_store_request_update(w->store, jit_caller_tenant(caller), request)) < 0 ||
	    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
	                  jit_caller_email(caller), "request.rejected", request, "success",
	                  wf_reason_details("reason", reason))) < 0 ||
	    (r = jit_store_commit(w->store)) < 0)
		goto fail;
	return wf_reload(w, jit_caller_tenant(caller), id, ret_request, status);
fail:
	jit_store_rollback(w->store);
	return jit_error_set(status, JIT_ERR_INTERNAL, "recording the denial of %s failed: %s", id,
	                     jit_strerror(r));
}
