/* Fetching the credentials of an APPROVED or ACTIVE request, for its requester only; the first
 * fetch makes it ACTIVE. The sealed grant is opened only after the fetch is recorded. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "lib/crypto/seal.h"
#include "server/core/workflow_internal.h"

int
jit_wf_credentials(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                   struct jit_grant *ret_grant, struct jit_error *status)
{
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = wf_load_visible(w, caller, id, "grant.fetch_refused", &request, status);
	if (r < 0)
		return r;
	if (!jit_caller_is_requester(caller, request)) {
		wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
		               jit_caller_email(caller), "grant.fetch_refused", request, "denied",
		               wf_denial_details("only the requester may fetch credentials"));
		return jit_error_set(status, JIT_ERR_DENIED,
		                     "only the requester may fetch the credentials of %s", id);
	}
	int64_t now = jit_now_realtime_ns();
	if (!jit_state_allows(request->state, JIT_EVENT_FETCH))
		return jit_state_refuse(status, JIT_EVENT_FETCH, id, request->state,
		                        JIT_REFUSED_AT_READ);
	if (now >= request->expires_at)
		return jit_error_set(status, JIT_ERR_CONFLICT, "the grant of %s has expired", id);

	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	_cleanup_secret_ struct jit_secret *plain = NULL;
	if ((r = wf_begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get_for_update(w->store, jit_caller_tenant(caller), id,
	                                          &request)) < 0)
		goto fail;
	enum jit_request_state to = JIT_STATE_UNSPECIFIED;
	if (jit_state_next(request->state, JIT_EVENT_FETCH, &to) < 0 ||
	    now >= request->expires_at) {
		jit_store_rollback(w->store);
		return jit_state_refuse(status, JIT_EVENT_FETCH, id, request->state,
		                        JIT_REFUSED_AT_RECHECK);
	}
	if ((r = jit_store_credentials_get(w->store, jit_caller_tenant(caller), id, &sealed,
	                                   &sealed_len)) < 0)
		goto fail;
	/* The first fetch is the one that changes the state (APPROVED -> ACTIVE). */
	if (to != request->state) {
		request->state = to;
		request->updated_at = now;
		if ((r = jit_store_request_update(w->store, jit_caller_tenant(caller), request)) <
		            0 ||
		    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
		                  jit_caller_email(caller), "request.activated", request, "success",
		                  NULL)) < 0)
			goto fail;
	}
	if ((r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
	                  jit_caller_email(caller), "grant.fetched", request, "success", NULL)) <
	            0 ||
	    (r = jit_store_commit(w->store)) < 0)
		goto fail;

	const struct jit_secret *key = w->server->seal_key;
	if (jit_unseal(key->bytes, key->length, sealed, sealed_len, id, strlen(id), &plain) < 0)
		return jit_error_set(status, JIT_ERR_INTERNAL,
		                     "the stored credentials of %s cannot be opened", id);
	struct jit_grant grant = { 0 };
	if (jit_grant_deserialize((const char *)plain->bytes, plain->length, &grant) < 0)
		return jit_error_set(status, JIT_ERR_INTERNAL,
		                     "the stored credentials of %s are malformed", id);
	snprintf(grant.request_id, sizeof(grant.request_id), "%s", id);
	grant.issued_at = request->issued_at;
	grant.expires_at = request->expires_at;
	*ret_grant = grant;
	return 0;
fail:
	jit_store_rollback(w->store);
	return jit_error_set(status, JIT_ERR_INTERNAL, "reading the credentials of %s failed: %s",
	                     id, jit_strerror(r));
}
