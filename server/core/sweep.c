/* The sweeper's verbs: expiring pending requests and grants that are due, and retrying failed
 * revocations at the provider, each request in a transaction of its own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/core/workflow_internal.h"

#define SWEEP_BATCH 100
/* How long a claimed batch of due work stays this sweeper's (each request is re-read for
 * update before it is changed, so a lease that runs out only lets another sweeper look). */
#define SWEEP_LEASE_NS (60 * JIT_NSEC_PER_SEC)

static int
sweep_one(struct jit_worker *w, const char *tenant, const char *id, int64_t now,
          struct jit_error *status)
{
	int r;
	if ((r = wf_begin(w, status)) < 0)
		return r;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	if ((r = jit_store_request_get_for_update(w->store, tenant, id, &request)) < 0)
		goto fail;
	bool changed = false;
	enum jit_request_state to = JIT_STATE_UNSPECIFIED;
	if (request->pending_expires_at > 0 && request->pending_expires_at <= now &&
	    jit_state_next(request->state, JIT_EVENT_PENDING_TIMEOUT, &to) == 0) {
		if ((r = wf_end_request(w, tenant, request, to, "system",
		                        "no decision before the pending timeout", now)) < 0 ||
		    (r = wf_audit(w, tenant, NULL, "system", "request.expired", request, "success",
		                  NULL)) < 0)
			goto fail;
		changed = true;
	} else if (request->expires_at <= now &&
	           jit_state_next(request->state, JIT_EVENT_GRANT_EXPIRY, &to) == 0) {
		if ((r = wf_end_request(w, tenant, request, to, "system", "the grant expired",
		                        now)) < 0 ||
		    (r = wf_audit(w, tenant, NULL, "system", "grant.expired", request, "success",
		                  NULL)) < 0)
			goto fail;
		changed = true;
	}
	if (changed && (r = jit_store_commit(w->store)) < 0)
		goto fail;
	if (!changed)
		jit_store_rollback(w->store);
	if (request->revocation_pending && request->revoke_next_attempt_at <= now)
		return wf_revoke_at_provider(w, tenant, NULL, id, status);
	return 0;
fail:
	jit_store_rollback(w->store);
	return jit_error_set(status, r, "sweeping %s: %s", id, jit_strerror(r));
}

int
jit_wf_sweep(struct jit_worker *w, int64_t now, struct jit_error *status)
{
	/* The default tenant's requests: the only tenant the server serves today. Serving
	 * others, the sweeper goes through each tenant (or the store claims due work of all). */
	const char *tenant = JIT_DEFAULT_TENANT_ID;
	for (;;) {
		char **ids = NULL;
		size_t n = 0;
		int r = jit_store_claim_due(w->store, tenant, now, SWEEP_BATCH,
		                            now + SWEEP_LEASE_NS, &ids, &n);
		if (r < 0)
			return jit_error_set(status, r, "finding due requests: %s",
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
