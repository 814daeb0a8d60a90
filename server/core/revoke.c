/* Revoking a request that has not ended: its credentials go in the same transaction, and a grant
 * that was issued is then revoked at the provider (retried by the sweeper if that fails). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/core/workflow_internal.h"

int
jit_wf_revoke(struct jit_worker *w, const struct jit_caller *caller, const char *id,
              const char *reason, struct jit_request **ret_request, struct jit_error *status)
{
	if (wf_check_text("reason", reason, JIT_MAX_REASON, true, status) < 0)
		return JIT_ERR_INVALID;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = wf_load_visible(w, caller, id, "request.revoke_refused", &request, status);
	if (r < 0)
		return r;
	if (!jit_state_allows(request->state, JIT_EVENT_REVOKE))
		return jit_state_refuse(status, JIT_EVENT_REVOKE, id, request->state,
		                        JIT_REFUSED_AT_READ);
	/* load_visible let in the requester, admins and approvers of this request: exactly who
	 * may revoke. */
	if ((r = wf_begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get_for_update(w->store, jit_caller_tenant(caller), id,
	                                          &request)) < 0)
		goto fail;
	enum jit_request_state to = JIT_STATE_UNSPECIFIED;
	if (jit_state_next(request->state, JIT_EVENT_REVOKE, &to) < 0) {
		jit_store_rollback(w->store);
		return jit_state_refuse(status, JIT_EVENT_REVOKE, id, request->state,
		                        JIT_REFUSED_AT_RECHECK);
	}
	if ((r = wf_end_request(w, jit_caller_tenant(caller), request, to, caller->identity->email,
	                        reason, jit_now_realtime_ns())) < 0 ||
	    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
	                  jit_caller_email(caller), "request.revoked", request, "success",
	                  wf_reason_details("reason", reason))) < 0 ||
	    (r = jit_store_commit(w->store)) < 0)
		goto fail;
	if (request->revocation_pending)
		wf_revoke_at_provider(w, jit_caller_tenant(caller), jit_caller_host(caller), id,
		                      status);
	return wf_reload(w, jit_caller_tenant(caller), id, ret_request, status);
fail:
	jit_store_rollback(w->store);
	return jit_error_set(status, JIT_ERR_INTERNAL, "recording the revocation of %s failed: %s",
	                     id, jit_strerror(r));
}
