/* What a store backend implements: one function per operation of server/store/store.h, in
 * an ops table that every handle points to. The public jit_store_* functions (store.c) only
 * dispatch through it, so callers never know which backend they talk to. Read
 * docs/storage.md ("Writing a backend") before adding one; the audit operations leave the
 * chain's rules to server/store/audit_seal.h. Names the types of store.h by
 * their tags only: store.c includes this header and each backend includes store.h, without
 * an include cycle between them. */
#ifndef JIT_SERVER_STORE_BACKEND_H
#define JIT_SERVER_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/core/model.h"

struct jit_audit_filter;
struct jit_request_filter;
struct jit_store_config;

/* Every handle begins with this: a backend's own handle type embeds it as its first member
 * and hands out a pointer to it. */
struct jit_store {
	const struct jit_store_ops *ops;
};

/* Each operation has the contract of the jit_store_* function of the same name in store.h,
 * and receives the handle its backend opened. The operations on tenant data get a tenant id
 * that store.c has checked (never NULL, never longer than JIT_MAX_TENANT_ID); they must
 * read and change that tenant's rows only. Required operations are never NULL. The
 * optional ones may be NULL, with the meaning given beside each. */
struct jit_store_ops {
	const char *name; /* the database.driver value that selects the backend */

	void (*close)(struct jit_store *store); /* never called with NULL */
	int (*ping)(struct jit_store *store);

	int (*begin)(struct jit_store *store);
	int (*commit)(struct jit_store *store);
	void (*rollback)(struct jit_store *store); /* never called with NULL */

	/* Optional. NULL: every read sees the latest committed state (no shared snapshot). */
	void (*read_session_begin)(struct jit_store *store);
	void (*read_session_end)(struct jit_store *store);

	/* Optional, all three or none. NULL: commit returns once the change is durable, there
	 * is never an unsynced mark (0) and make_durable has nothing to wait for (0). */
	void (*defer_durability)(struct jit_store *store, bool on);
	uint64_t (*unsynced_mark)(struct jit_store *store);
	int (*make_durable)(struct jit_store *store, uint64_t mark);

	/* Optional. NULL: the backend needs no upkeep (jit_store_upkeep returns 0). */
	int (*upkeep)(struct jit_store *store);

	int (*request_insert)(struct jit_store *store, const char *tenant_id,
	                      struct jit_request *request);
	int (*request_update)(struct jit_store *store, const char *tenant_id,
	                      struct jit_request *request);
	int (*request_get)(struct jit_store *store, const char *tenant_id, const char *id,
	                   struct jit_request **ret_request);
	int (*request_get_for_update)(struct jit_store *store, const char *tenant_id,
	                              const char *id, struct jit_request **ret_request);
	int (*request_list)(struct jit_store *store, const char *tenant_id,
	                    const struct jit_request_filter *filter, struct jit_request ***ret_list,
	                    size_t *ret_count);
	int (*approval_add)(struct jit_store *store, const char *tenant_id, const char *request_id,
	                    const struct jit_approval *approval);
	int (*next_deadline)(struct jit_store *store, const char *tenant_id, int64_t *ret_at);
	int (*claim_due)(struct jit_store *store, const char *tenant_id, int64_t now, size_t limit,
	                 int64_t lease_until, char ***ret_ids, size_t *ret_count);

	int (*credentials_put)(struct jit_store *store, const char *tenant_id,
	                       const char *request_id, const uint8_t *sealed, size_t sealed_len);
	int (*credentials_get)(struct jit_store *store, const char *tenant_id,
	                       const char *request_id, uint8_t **ret_sealed, size_t *ret_len);
	int (*credentials_delete)(struct jit_store *store, const char *tenant_id,
	                          const char *request_id);

	int (*policy_list)(struct jit_store *store, const char *tenant_id,
	                   struct jit_policy ***ret_list, size_t *ret_count);
	int (*policy_get)(struct jit_store *store, const char *tenant_id, const char *id,
	                  struct jit_policy **ret);
	int (*policy_get_by_name)(struct jit_store *store, const char *tenant_id, const char *name,
	                          struct jit_policy **ret);
	int (*policy_upsert)(struct jit_store *store, const char *tenant_id,
	                     struct jit_policy *policy);
	int (*policy_delete)(struct jit_store *store, const char *tenant_id, const char *id);

	int (*audit_append)(struct jit_store *store, const char *tenant_id,
	                    struct jit_audit_event *event);
	int (*audit_query)(struct jit_store *store, const char *tenant_id,
	                   const struct jit_audit_filter *filter,
	                   struct jit_audit_event ***ret_list, size_t *ret_count);
	int (*audit_verify)(struct jit_store *store, int64_t *ret_bad_id, size_t *ret_count,
	                    char *detail, size_t detail_size);
	int (*audit_chain)(struct jit_store *store, enum jit_audit_chain *ret_chain,
	                   bool *ret_key_matches);
	int (*audit_rekey)(struct jit_store *store, size_t *ret_count, int64_t *ret_bad_id,
	                   char *detail, size_t detail_size);
	int (*audit_head)(struct jit_store *store, int64_t *ret_count, int64_t *ret_last_id,
	                  char hash[65]);
	int (*audit_hash_at)(struct jit_store *store, int64_t id, char hash[65]);

	int (*meta_get)(struct jit_store *store, const char *key, char **ret_value);
	int (*meta_set)(struct jit_store *store, const char *key, const char *value);
};

/* Opens a handle of one backend from the store's configuration (the table of backends in
 * backends.c lists each backend's function; see jit_store_open for the contract). */
typedef int (*jit_store_open_fn)(const struct jit_store_config *config, unsigned flags,
                                 struct jit_store **ret_store, char *error, size_t error_size);

#endif
