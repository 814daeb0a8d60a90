/* What every workflow verb shares: audit events, the write transaction
 * (and the event loop's hand-off to a worker thread), policy decisions, who may see or approve
 * a request, text checks and loading a request the caller may see. Trusts the caller's identity
 * as verified by the API layer and nothing the caller says about permissions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/id.h"
#include "lib/common/timeutil.h"
#include "lib/common/usertext.h"
#include "lib/json/json.h"
#include "server/core/workflow_internal.h"

/* Appends an event inside the open transaction. `details` is consumed (may be NULL). `host`,
 * the jump host whose call caused the event (or NULL), is recorded in the details. */
int
wf_audit(struct jit_worker *w, const char *tenant, const char *host, const char *actor,
         const char *action, const struct jit_request *request, const char *outcome,
         json_t *details)
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

/* An event loop's worker does not write (server/server.h): the operation is marked to run
 * again on a worker thread, and the caller stops before changing anything. */
bool
wf_must_move(struct jit_worker *w)
{
	if (w->inline_only)
		w->wants_thread = true;
	return w->inline_only;
}

/* Records a refused or failed attempt in a transaction of its own. */
void
wf_audit_alone(struct jit_worker *w, const char *tenant, const char *host, const char *actor,
               const char *action, const struct jit_request *request, const char *outcome,
               json_t *details)
{
	if (wf_must_move(w) || jit_store_begin(w->store) < 0) {
		json_decref(details);
		return;
	}
	if (wf_audit(w, tenant, host, actor, action, request, outcome, details) < 0 ||
	    jit_store_commit(w->store) < 0)
		jit_store_rollback(w->store);
}

void
wf_deadline_committed(struct jit_worker *w, int64_t at)
{
	const struct jit_deadline_watch *watch = &w->server->deadline_watch;
	if (watch->moved_earlier)
		watch->moved_earlier(watch->context, at);
}

/* Opens the write transaction; a store still busy after its timeout is a 503 to retry. */
int
wf_begin(struct jit_worker *w, struct jit_error *status)
{
	if (wf_must_move(w))
		return jit_error_set(status, JIT_ERR_WOULD_BLOCK, "a write moves to a thread");
	int r = jit_store_begin(w->store);
	return r < 0 ? jit_error_set(status, JIT_ERR_UNAVAILABLE, "the store is busy; try again")
	             : 0;
}

json_t *
wf_reason_details(const char *key, const char *text)
{
	return json_pack("{s:s}", key, text ? text : "");
}

json_t *
wf_denial_details(const char *reason)
{
	return wf_reason_details("denial", reason);
}

/* The policy set belongs to a tenant in principle; the server holds one, the default
 * tenant's (compiled from its stored policies), the only tenant it serves today. */
int
wf_decide(struct jit_worker *w, enum jit_policy_type type, const char *email, const json_t *groups,
          const struct jit_request *request, const char *host, struct jit_decision *ret,
          struct jit_error *status)
{
	_cleanup_(jit_policy_set_unrefp) struct jit_policy_set *set =
	        jit_server_policies(w->server);
	_cleanup_json_ json_t *input =
	        jit_policy_input(email, groups, request, jit_now_realtime_ns(), host);
	if (!input)
		return jit_error_set(status, -ENOMEM, "out of memory");
	struct jit_policy_error error = { 0 };
	int r = jit_policy_decide(set, w->eval, type, input, ret, &error);
	if (r < 0)
		return jit_error_set(status, JIT_ERR_INTERNAL, "%s policy failed: %s",
		                     type == JIT_POLICY_APPROVAL ? "approval" : "eligibility",
		                     error.message);
	return 0;
}

/* May the caller approve (and so see, deny or revoke) this request, by the approval
 * policies? The requester never may. */
bool
wf_may_approve(struct jit_worker *w, const struct jit_caller *caller,
               const struct jit_request *request, struct jit_decision *ret_decision)
{
	struct jit_decision decision = { 0 };
	struct jit_error ignored;
	if (jit_caller_is_requester(caller, request))
		return false;
	if (wf_decide(w, JIT_POLICY_APPROVAL, caller->identity->email, caller->identity->groups,
	              request, caller->host, &decision, &ignored) < 0)
		return false;
	if (ret_decision)
		*ret_decision = decision;
	return decision.allow;
}

bool
wf_may_see(struct jit_worker *w, const struct jit_caller *caller, const struct jit_request *request)
{
	return caller->admin || jit_caller_is_requester(caller, request) ||
	       wf_may_approve(w, caller, request, NULL);
}

/* A reason or comment: `field` names it in the error. Required ones may not be absent. */
int
wf_check_text(const char *field, const char *text, size_t max, bool required,
              struct jit_error *status)
{
	if (!text || !text[0])
		return required ? jit_error_set(status, JIT_ERR_INVALID, "%s: required", field) : 0;
	size_t len = strlen(text);
	if (len > max)
		return jit_error_set(status, JIT_ERR_INVALID, "%s: at most %zu bytes", field, max);
	const char *problem = jit_text_problem(text, len, 0);
	if (problem)
		return jit_error_set(status, JIT_ERR_INVALID, "%s: %s", field, problem);
	return 0;
}

/* Loads the stored request for the answer (so it carries exactly what was committed). */
int
wf_reload(struct jit_worker *w, const char *tenant, const char *id, struct jit_request **ret,
          struct jit_error *status)
{
	int r = jit_store_request_get(w->store, tenant, id, ret);
	if (r < 0)
		return jit_error_set(status, r == JIT_ERR_NOT_FOUND ? JIT_ERR_INTERNAL : r,
		                     "reading back %s: %s", id, jit_strerror(r));
	return 0;
}

/* Loads a request the caller may see; one they may not see is "not found", so that ids of
 * other people's requests are not confirmed. When the caller meant to act on it
 * (`refusal_action` set), the refused attempt is audited all the same. */
int
wf_load_visible(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                const char *refusal_action, struct jit_request **ret, struct jit_error *status)
{
	if (!jit_id_valid(id))
		return jit_error_set(status, JIT_ERR_INVALID, "id: not a request id");
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = jit_store_request_get(w->store, jit_caller_tenant(caller), id, &request);
	if (r == 0 && !wf_may_see(w, caller, request)) {
		if (refusal_action)
			wf_audit_alone(
			        w, jit_caller_tenant(caller), jit_caller_host(caller),
			        jit_caller_email(caller), refusal_action, request, "denied",
			        wf_denial_details("not the requester, an approver or an admin"));
		r = JIT_ERR_NOT_FOUND;
	}
	if (r == JIT_ERR_NOT_FOUND)
		return jit_error_set(status, JIT_ERR_NOT_FOUND, "request %s not found", id);
	if (r < 0)
		return jit_error_set(status, r, "reading %s: %s", id, jit_strerror(r));
	*ret = TAKE_PTR(request);
	return 0;
}
