/* Grants at the provider: issuing (sealed before anything is stored), taking back a grant that
 * could not be recorded, ending a request inside a transaction, and revocation at the provider
 * with exponential backoff. Provider calls run outside store transactions so that a slow
 * provider never holds the write lock. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "lib/crypto/seal.h"
#include "lib/json/json.h"
#include "server/core/workflow_internal.h"
#include "server/providers/pool.h"

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
int
wf_issue_grant(struct jit_worker *w, struct jit_request *request, uint8_t **ret_sealed,
               size_t *ret_len, struct jit_error *status)
{
	if (wf_must_move(w))
		return jit_error_set(status, JIT_ERR_WOULD_BLOCK,
		                     "a provider call moves to a thread");
	struct jit_provider *provider = jit_server_provider(w->server, request->provider);
	if (!provider)
		return jit_error_set(status, JIT_ERR_INVALID, "provider: \"%s\" is not configured",
		                     request->provider);
	struct jit_grant grant = { 0 };
	char error[256] = "";
	int64_t now = jit_now_realtime_ns();
	snprintf(grant.request_id, sizeof(grant.request_id), "%s", request->id);
	grant.issued_at = now;
	int r = jit_provider_pool_grant(w->server->provider_pool, provider, request, &grant,
	                                JIT_PROVIDER_CALL_DEADLINE_MS, error, sizeof(error));
	if (r < 0) {
		jit_grant_clear(&grant);
		/* A full pool is a temporary refusal (503); anything else is the provider's. */
		return jit_error_set(status, r == JIT_ERR_UNAVAILABLE ? r : JIT_ERR_UPSTREAM,
		                     "provider %s failed to issue: %s", request->provider,
		                     error[0] ? error : jit_strerror(r));
	}
	int64_t expires = now + request->duration_seconds * JIT_NSEC_PER_SEC;
	if (grant.expires_at > 0 && grant.expires_at < expires)
		expires = grant.expires_at;
	r = seal_grant(w, &grant, ret_sealed, ret_len);
	jit_grant_clear(&grant);
	if (r < 0)
		return jit_error_set(status, JIT_ERR_INTERNAL, "sealing credentials failed: %s",
		                     jit_strerror(r));
	request->issued_at = now;
	request->expires_at = expires;
	return 0;
}

json_t *
wf_grant_details(const struct jit_request *request)
{
	char issued[JIT_RFC3339_MAX] = "", expires[JIT_RFC3339_MAX] = "";
	jit_rfc3339_format(request->issued_at, false, issued, sizeof(issued));
	jit_rfc3339_format(request->expires_at, false, expires, sizeof(expires));
	return json_pack("{s:s,s:s}", "issued_at", issued, "expires_at", expires);
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

/* Revokes `request`'s grant at its provider through the pool (blocks up to the call's
 * deadline). 0, or a negative code with `error` saying why. */
static int
revoke_through_pool(struct jit_worker *w, const struct jit_request *request, char *error,
                    size_t error_size)
{
	struct jit_provider *provider = jit_server_provider(w->server, request->provider);
	if (!provider) {
		snprintf(error, error_size, "provider %s is not configured", request->provider);
		return JIT_ERR_NOT_FOUND;
	}
	return jit_provider_pool_revoke(w->server->provider_pool, provider, request,
	                                JIT_PROVIDER_CALL_DEADLINE_MS, error, error_size);
}

/* After a grant that could not be recorded (its request changed meanwhile, or the store
 * failed): takes it back at once. When the provider does not confirm, the stored request is
 * marked for revocation and the failure audited, so that the sweeper retries with backoff as
 * for any failed revocation, and a live grant is never left without a record. A request that
 * is not stored (its creation failed) has nothing to mark. */
void
wf_undo_grant(struct jit_worker *w, const char *tenant, const struct jit_request *request)
{
	char error[256] = "";
	if (revoke_through_pool(w, request, error, sizeof(error)) == 0)
		return;

	struct jit_error status = { 0 };
	_cleanup_(jit_request_freep) struct jit_request *current = NULL;
	if (wf_begin(w, &status) < 0)
		return;
	if (jit_store_request_get_for_update(w->store, tenant, request->id, &current) < 0)
		goto out;
	int64_t now = jit_now_realtime_ns();
	current->updated_at = now;
	current->revocation_pending = true;
	current->revoke_attempts++;
	current->revoke_next_attempt_at =
	        now + revoke_backoff_ns(w->server->config, current->revoke_attempts);
	if (jit_store_request_update(w->store, tenant, current) < 0)
		goto out;
	json_t *details = json_pack("{s:s,s:i,s:b}", "error", error, "attempt",
	                            (json_int_t)current->revoke_attempts, "undo", 1);
	if (wf_audit(w, tenant, NULL, "system", "grant.revoke_failed", current, "failure",
	             details) < 0 ||
	    jit_store_commit(w->store) < 0)
		goto out;
	wf_deadline_committed(w, current->revoke_next_attempt_at);
	return;
out:
	jit_store_rollback(w->store);
}

/* Revokes at the provider a grant whose request has revocation_pending set, and records the
 * outcome: cleared on success; on failure the attempt count grows and the next attempt is
 * scheduled with exponential backoff. */
int
wf_revoke_at_provider(struct jit_worker *w, const char *tenant, const char *host, const char *id,
                      struct jit_error *status)
{
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	int r = jit_store_request_get(w->store, tenant, id, &request);
	if (r < 0)
		return jit_error_set(status, r, "loading %s: %s", id, jit_strerror(r));
	if (!request->revocation_pending)
		return 0;
	if (wf_must_move(w))
		return jit_error_set(status, JIT_ERR_WOULD_BLOCK,
		                     "a provider call moves to a thread");
	char error[256] = "";
	int pr = revoke_through_pool(w, request, error, sizeof(error));

	if ((r = wf_begin(w, status)) < 0)
		return r;
	jit_request_free(request);
	request = NULL;
	if ((r = jit_store_request_get_for_update(w->store, tenant, id, &request)) < 0 ||
	    !request->revocation_pending)
		goto out;
	int64_t now = jit_now_realtime_ns();
	request->updated_at = now;
	if (pr == 0) {
		request->revocation_pending = false;
		request->revoke_next_attempt_at = 0;
		if ((r = jit_store_request_update(w->store, tenant, request)) < 0 ||
		    (r = wf_audit(w, tenant, host, "system", "grant.revoked", request, "success",
		                  NULL)) < 0)
			goto out;
	} else {
		request->revoke_attempts++;
		request->revoke_next_attempt_at =
		        now + revoke_backoff_ns(w->server->config, request->revoke_attempts);
		json_t *details = json_pack("{s:s,s:i}", "error", error, "attempt",
		                            (json_int_t)request->revoke_attempts);
		if ((r = jit_store_request_update(w->store, tenant, request)) < 0 ||
		    (r = wf_audit(w, tenant, host, "system", "grant.revoke_failed", request,
		                  "failure", details)) < 0)
			goto out;
	}
	if ((r = jit_store_commit(w->store)) < 0)
		goto out;
	if (pr < 0)
		wf_deadline_committed(w, request->revoke_next_attempt_at);
	return 0;
out:
	jit_store_rollback(w->store);
	return r < 0 ? jit_error_set(status, r, "recording revocation of %s: %s", id,
	                             jit_strerror(r))
	             : 0;
}

/* Ends a request (REVOKED or EXPIRED) inside the open transaction: the sealed credentials go
 * at once, and a grant that was issued is marked for revocation at the provider. */
int
wf_end_request(struct jit_worker *w, const char *tenant, struct jit_request *request,
               enum jit_request_state state, const char *by, const char *reason, int64_t now)
{
	bool had_grant = jit_state_holds_grant(request->state);
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
