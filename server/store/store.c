/* The public store functions: each one dispatches to the handle's backend through its ops
 * table (store_backend.h). No logic of its own beyond the meaning of an optional operation a
 * backend leaves out and the check of the tenant id that operations on tenant data take.
 * Includes no backend: jit_store_open, which picks one, is in backends.c. */
#include "server/store/store.h"

#include <string.h>

#include "lib/common/errors.h"
#include "server/store/store_backend.h"

void
jit_store_close(struct jit_store *store)
{
	if (store)
		store->ops->close(store);
}

void
jit_store_rollback(struct jit_store *store)
{
	if (store)
		store->ops->rollback(store);
}

int
jit_store_ping(struct jit_store *store)
{
	return store->ops->ping(store);
}

int
jit_store_begin(struct jit_store *store)
{
	return store->ops->begin(store);
}

int
jit_store_commit(struct jit_store *store)
{
	return store->ops->commit(store);
}

void
jit_store_read_session_begin(struct jit_store *store)
{
	if (store->ops->read_session_begin)
		store->ops->read_session_begin(store);
}

void
jit_store_read_session_end(struct jit_store *store)
{
	if (store->ops->read_session_end)
		store->ops->read_session_end(store);
}

void
jit_store_defer_durability(struct jit_store *store, bool on)
{
	if (store->ops->defer_durability)
		store->ops->defer_durability(store, on);
}

uint64_t
jit_store_unsynced_mark(struct jit_store *store)
{
	return store->ops->unsynced_mark ? store->ops->unsynced_mark(store) : 0;
}

int
jit_store_make_durable(struct jit_store *store, uint64_t mark)
{
	return store->ops->make_durable ? store->ops->make_durable(store, mark) : 0;
}

int
jit_store_upkeep(struct jit_store *store)
{
	return store->ops->upkeep ? store->ops->upkeep(store) : 0;
}

/* The tenant every operation on tenant data names (store.h, "tenants"): checked here once
 * for every backend, so that no backend ever sees a NULL that its queries might read as "no
 * condition". */
static bool
tenant_id_ok(const char *tenant_id)
{
	return tenant_id && tenant_id[0] &&
	       strnlen(tenant_id, JIT_MAX_TENANT_ID + 1) <= JIT_MAX_TENANT_ID;
}

int
jit_store_request_insert(struct jit_store *store, const char *tenant_id,
                         struct jit_request *request)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->request_insert(store, tenant_id, request);
}

int
jit_store_request_update(struct jit_store *store, const char *tenant_id,
                         struct jit_request *request)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->request_update(store, tenant_id, request);
}

int
jit_store_request_get(struct jit_store *store, const char *tenant_id, const char *id,
                      struct jit_request **ret_request)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->request_get(store, tenant_id, id, ret_request);
}

int
jit_store_request_get_for_update(struct jit_store *store, const char *tenant_id, const char *id,
                                 struct jit_request **ret_request)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->request_get_for_update(store, tenant_id, id, ret_request);
}

int
jit_store_request_list(struct jit_store *store, const char *tenant_id,
                       const struct jit_request_filter *filter, struct jit_request ***ret_list,
                       size_t *ret_count)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->request_list(store, tenant_id, filter, ret_list, ret_count);
}

int
jit_store_approval_add(struct jit_store *store, const char *tenant_id, const char *request_id,
                       const struct jit_approval *approval)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->approval_add(store, tenant_id, request_id, approval);
}

int
jit_store_next_deadline(struct jit_store *store, const char *tenant_id, int64_t *ret_at)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->next_deadline(store, tenant_id, ret_at);
}

int
jit_store_claim_due(struct jit_store *store, const char *tenant_id, int64_t now, size_t limit,
                    int64_t lease_until, char ***ret_ids, size_t *ret_count)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->claim_due(store, tenant_id, now, limit, lease_until, ret_ids, ret_count);
}

int
jit_store_credentials_put(struct jit_store *store, const char *tenant_id, const char *request_id,
                          const uint8_t *sealed, size_t sealed_len)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->credentials_put(store, tenant_id, request_id, sealed, sealed_len);
}

int
jit_store_credentials_get(struct jit_store *store, const char *tenant_id, const char *request_id,
                          uint8_t **ret_sealed, size_t *ret_len)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->credentials_get(store, tenant_id, request_id, ret_sealed, ret_len);
}

int
jit_store_credentials_delete(struct jit_store *store, const char *tenant_id, const char *request_id)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->credentials_delete(store, tenant_id, request_id);
}

int
jit_store_policy_list(struct jit_store *store, const char *tenant_id, struct jit_policy ***ret_list,
                      size_t *ret_count)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->policy_list(store, tenant_id, ret_list, ret_count);
}

int
jit_store_policy_get(struct jit_store *store, const char *tenant_id, const char *id,
                     struct jit_policy **ret)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->policy_get(store, tenant_id, id, ret);
}

int
jit_store_policy_get_by_name(struct jit_store *store, const char *tenant_id, const char *name,
                             struct jit_policy **ret)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->policy_get_by_name(store, tenant_id, name, ret);
}

int
jit_store_policy_upsert(struct jit_store *store, const char *tenant_id, struct jit_policy *policy)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->policy_upsert(store, tenant_id, policy);
}

int
jit_store_policy_delete(struct jit_store *store, const char *tenant_id, const char *id)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->policy_delete(store, tenant_id, id);
}

int
jit_store_audit_append(struct jit_store *store, const char *tenant_id,
                       struct jit_audit_event *event)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->audit_append(store, tenant_id, event);
}

int
jit_store_audit_query(struct jit_store *store, const char *tenant_id,
                      const struct jit_audit_filter *filter, struct jit_audit_event ***ret_list,
                      size_t *ret_count)
{
	if (!tenant_id_ok(tenant_id))
		return JIT_ERR_INVALID;
	return store->ops->audit_query(store, tenant_id, filter, ret_list, ret_count);
}

int
jit_store_audit_verify(struct jit_store *store, int64_t *ret_bad_id, size_t *ret_count,
                       char *detail, size_t detail_size)
{
	return store->ops->audit_verify(store, ret_bad_id, ret_count, detail, detail_size);
}

int
jit_store_audit_chain(struct jit_store *store, enum jit_audit_chain *ret_chain,
                      bool *ret_key_matches)
{
	return store->ops->audit_chain(store, ret_chain, ret_key_matches);
}

int
jit_store_audit_rekey(struct jit_store *store, size_t *ret_count, int64_t *ret_bad_id, char *detail,
                      size_t detail_size)
{
	return store->ops->audit_rekey(store, ret_count, ret_bad_id, detail, detail_size);
}

int
jit_store_audit_head(struct jit_store *store, int64_t *ret_count, int64_t *ret_last_id,
                     char hash[65])
{
	return store->ops->audit_head(store, ret_count, ret_last_id, hash);
}

int
jit_store_audit_hash_at(struct jit_store *store, int64_t id, char hash[65])
{
	return store->ops->audit_hash_at(store, id, hash);
}

int
jit_store_meta_get(struct jit_store *store, const char *key, char **ret_value)
{
	return store->ops->meta_get(store, key, ret_value);
}

int
jit_store_meta_set(struct jit_store *store, const char *key, const char *value)
{
	return store->ops->meta_set(store, key, value);
}
