/* The store: requests, approvals, sealed credentials, policies, the hash-chained audit log
 * and a little server metadata. One handle per thread (a handle is not thread-safe); every
 * change happens inside a write transaction so that a state change and its audit event
 * commit together or not at all. The operations are named for what the workflow needs; each
 * backend implements them behind an ops table (server/store/store_backend.h): SQLite today
 * (server/store/sqlite/), PostgreSQL later. Calls block on the database only, bounded by its
 * busy timeout. */
#ifndef JIT_SERVER_STORE_H
#define JIT_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"
#include "server/core/model.h"

struct jit_store;

/* The store's part of the configuration: the database section of jitsudod's configuration
 * file (server/config.h holds it as `database`, and owns its strings). A backend reads the
 * fields it needs and ignores the others; a new backend's settings are added here and to that
 * section. */
struct jit_store_config {
	char *driver;        /* database.driver: the backend ("sqlite"; NULL: "sqlite") */
	char *path;          /* database.path: the SQLite database file */
	int busy_timeout_ms; /* database.busy_timeout: the longest wait for a lock */
};

/* Flags of jit_store_open. */
enum {
	/* The process calls jit_store_upkeep from a thread of its own: commits on this handle
	 * leave the backend's upkeep to it instead of doing it on the way (SQLite: no automatic
	 * WAL checkpoints on commit, for every handle of the process on the database). */
	JIT_STORE_BACKGROUND_UPKEEP = 1u << 0,
};

/* Opens a handle on the database the configuration names, with the backend that
 * config->driver selects ("sqlite"; an unknown driver is JIT_ERR_INVALID), creating the
 * database if needed and migrating its schema to the latest version (a database newer than
 * this program is refused). `flags` are JIT_STORE_* above. Returns 0, or a negative code with
 * a message in `error`. Blocks for the opening and the migration only. Defined beside the
 * table of backends (server/store/backends.c). */
int jit_store_open(const struct jit_store_config *config, unsigned flags,
                   struct jit_store **ret_store, char *error, size_t error_size);
/* Rolls back an open transaction and frees the handle. Accepts NULL. */
void jit_store_close(struct jit_store *store);
JIT_DEFINE_CLEANUP(struct jit_store *, jit_store_close)

/* The database answers a trivial query. 0 or JIT_ERR_UNAVAILABLE. */
int jit_store_ping(struct jit_store *store);

/* Write transactions. begin takes the write lock at once and returns JIT_ERR_UNAVAILABLE
 * when the busy timeout passes. commit returns 0 once the change is durable (unless the
 * handle defers durability, below). rollback accepts NULL and a handle with no open
 * transaction. Reads outside a transaction see the latest committed state (unless in a read
 * session, below). Nesting is refused (JIT_ERR_INTERNAL). */
int jit_store_begin(struct jit_store *store);
int jit_store_commit(struct jit_store *store);
void jit_store_rollback(struct jit_store *store);

/* Read sessions, for a thread that answers reads in rounds (an event loop) or that needs one
 * consistent view for a series of reads (an audit verification). Between begin and end the
 * handle's reads may share one snapshot; they still see every change this process committed
 * before the read began (a reader never misses a change that was acknowledged), while changes
 * of other processes may be seen only after end. end lets later reads see the latest state.
 * Saves the cost of starting one read transaction per read. A write transaction on the handle
 * ends the shared snapshot first. Backends without snapshots ignore both calls. */
void jit_store_read_session_begin(struct jit_store *store);
void jit_store_read_session_end(struct jit_store *store);

/* Deferred durability, for a thread that hands its answers to someone who waits for the
 * disk (server/transport/durable.h) and goes on with the next change meanwhile. With `on`,
 * jit_store_commit on this handle returns once the change is committed and visible, possibly
 * before it is durable. The caller must not tell anyone that the change happened before it
 * passed jit_store_unsynced_mark's mark to jit_store_make_durable (on any handle of the same
 * database) and got 0 back. The handle itself always reads its own changes. Backends whose
 * commits are always durable ignore it. */
void jit_store_defer_durability(struct jit_store *store, bool on);
/* The mark of this handle's latest commit that nobody has waited to be durable yet, and
 * forgets it; 0 when there is none (always 0 without deferred durability). */
uint64_t jit_store_unsynced_mark(struct jit_store *store);
/* Returns once the change with `mark`, and every change committed before it on this database,
 * is durable (0 for mark 0). JIT_ERR_UNAVAILABLE when that failed: the change may be lost
 * (SQLite: at a power failure, or at once when its batch failed to commit; the store then
 * refuses every write, and jit_store_ping fails, until the process restarts). Blocks on the
 * disk, bounded by the busy timeout for the lock. */
int jit_store_make_durable(struct jit_store *store, uint64_t mark);

/* ---- tenants -------------------------------------------------------------------------- */

/* Requests, approvals, credentials, policies and audit events belong to a tenant (the
 * tenants table; the default tenant, JIT_DEFAULT_TENANT_ID, is created by the schema
 * migration and holds every row of an older database). Every operation on them takes the
 * tenant as `tenant_id`, right after the handle, and sees and changes that tenant's rows
 * only. NULL, "" or an id longer than JIT_MAX_TENANT_ID is JIT_ERR_INVALID; an unknown
 * tenant has no rows (reads find nothing, JIT_ERR_NOT_FOUND where one row is asked for) and
 * a write naming it is JIT_ERR_NOT_FOUND. No operation reads or writes "all tenants" except
 * the audit chain's own (verify, rekey, head, hash_at), which cover the one chain that links
 * the events of every tenant. Ids of requests and policies are unique over all tenants; an
 * id of another tenant's row is "not found" (and, inserted again, JIT_ERR_CONFLICT). The
 * meta table is the server's, not a tenant's. */

/* ---- requests ------------------------------------------------------------------------- */

/* Inserts a new request (its approvals are not stored by this call) and sets
 * request->version to 1. JIT_ERR_CONFLICT when the id exists. */
int jit_store_request_insert(struct jit_store *store, const char *tenant_id,
                             struct jit_request *request);
/* Rewrites every mutable column of the request with this id (state, times, tier, required
 * approvals, decided_by, decision_reason, revocation fields, host), provided the stored row
 * still has request->version, the version this writer read; then request->version is the
 * row's new version. JIT_ERR_CONFLICT when the row was changed since it was read (another
 * writer got there first: nothing is written, and the caller rolls back and may start over
 * from a fresh read); JIT_ERR_NOT_FOUND when there is no such request. So a decision is never
 * written over one it did not see, whatever the backend's locking. */
int jit_store_request_update(struct jit_store *store, const char *tenant_id,
                             struct jit_request *request);
/* Loads one request with its approvals (oldest first), with its version. JIT_ERR_NOT_FOUND. */
int jit_store_request_get(struct jit_store *store, const char *tenant_id, const char *id,
                          struct jit_request **ret_request);
/* The same inside a write transaction, for a writer that will change the request: until the
 * transaction ends no other writer changes the row (SQLite: the transaction's write lock
 * already excludes every other writer; PostgreSQL: SELECT ... FOR UPDATE locks the row). A
 * re-check of the request's state made on what it returns therefore holds at commit.
 * JIT_ERR_INTERNAL outside a write transaction; JIT_ERR_NOT_FOUND. */
int jit_store_request_get_for_update(struct jit_store *store, const char *tenant_id, const char *id,
                                     struct jit_request **ret_request);

struct jit_request_filter {
	const char *requester_identity; /* NULL = any */
	enum jit_request_state state;   /* UNSPECIFIED = any */
	const char *before_id;          /* only ids < this (paging newest first); NULL */
	size_t limit;                   /* at most this many, 1..1000 */
};
/* Requests matching the filter, newest first (by id), with their approvals. *ret_list is a
 * malloc'd array (free with jit_request_list_free), possibly empty. */
int jit_store_request_list(struct jit_store *store, const char *tenant_id,
                           const struct jit_request_filter *filter, struct jit_request ***ret_list,
                           size_t *ret_count);

/* Records an approval. JIT_ERR_CONFLICT when this approver already approved this request;
 * JIT_ERR_NOT_FOUND when the tenant has no request of this id. */
int jit_store_approval_add(struct jit_store *store, const char *tenant_id, const char *request_id,
                           const struct jit_approval *approval);

/* The earliest time at which the sweeper has work: the minimum over expires_at of APPROVED and
 * ACTIVE requests, pending_expires_at of PENDING ones, and revoke_next_attempt_at of requests
 * with revocation_pending. Returns 0 and sets *ret_at, or JIT_ERR_NOT_FOUND when none. */
int jit_store_next_deadline(struct jit_store *store, const char *tenant_id, int64_t *ret_at);
/* Claims the requests with work due at `now` (the same three conditions, at or before now;
 * oldest deadline first, at most `limit`) for the caller until `lease_until` (>= now, else
 * JIT_ERR_INVALID): until then no other caller's claim returns them, so several sweepers
 * share the due work instead of each doing all of it. A claim is not a lock on the row: the
 * caller still re-reads each request with jit_store_request_get_for_update before acting on
 * it. Inside or outside a write transaction. SQLite: one serving process per database and one
 * sweeper in it, so nothing else claims and the claim is the due query itself. PostgreSQL:
 * SELECT ... FOR UPDATE SKIP LOCKED over due rows whose claim expired, recording the lease on
 * them in the same transaction, so replicas skip rows another one holds. *ret_ids is a
 * malloc'd array of malloc'd strings (free each and the array). */
int jit_store_claim_due(struct jit_store *store, const char *tenant_id, int64_t now, size_t limit,
                        int64_t lease_until, char ***ret_ids, size_t *ret_count);

/* ---- credentials (sealed by the caller; the store never sees plaintext) ---------------- */

/* JIT_ERR_NOT_FOUND when the tenant has no request of this id. */
int jit_store_credentials_put(struct jit_store *store, const char *tenant_id,
                              const char *request_id, const uint8_t *sealed, size_t sealed_len);
/* *ret_sealed is malloc'd. JIT_ERR_NOT_FOUND when none are stored. */
int jit_store_credentials_get(struct jit_store *store, const char *tenant_id,
                              const char *request_id, uint8_t **ret_sealed, size_t *ret_len);
/* Deletes (overwriting first) the sealed credentials; 0 also when there were none. */
int jit_store_credentials_delete(struct jit_store *store, const char *tenant_id,
                                 const char *request_id);

/* ---- policies -------------------------------------------------------------------------- */

/* Every policy of the tenant, ordered by name (names are unique per tenant). */
int jit_store_policy_list(struct jit_store *store, const char *tenant_id,
                          struct jit_policy ***ret_list, size_t *ret_count);
int jit_store_policy_get(struct jit_store *store, const char *tenant_id, const char *id,
                         struct jit_policy **ret);
int jit_store_policy_get_by_name(struct jit_store *store, const char *tenant_id, const char *name,
                                 struct jit_policy **ret);
/* Inserts, or updates the tenant's policy of the same name (keeping its id and created_at; type, rego,
 * description, enabled, updated_at and updated_by are replaced). On return policy->id and
 * created_at hold the stored values. */
int jit_store_policy_upsert(struct jit_store *store, const char *tenant_id,
                            struct jit_policy *policy);
/* JIT_ERR_NOT_FOUND when absent. */
int jit_store_policy_delete(struct jit_store *store, const char *tenant_id, const char *id);

/* ---- audit ----------------------------------------------------------------------------- */

/* Appends an event of the tenant inside the caller's write transaction: reads the last
 * event's hash (the chain is one over all tenants), sets event->tenant_id, seals the event
 * (its tenant included, see jit_audit_event_canonical), inserts it and sets event->id. A keyed chain (see jit_store_audit_chain) is sealed
 * with the process's chain key (jit_audit_chain_set_key, HMAC-SHA256); an unkeyed one, only
 * when the process has no key, with the old SHA-256 rule. Any other combination (a keyed chain
 * and no key or another key; a key and a chain not yet re-keyed) is refused with
 * JIT_ERR_DENIED: an event is never sealed by a rule the chain does not use. */
int jit_store_audit_append(struct jit_store *store, const char *tenant_id,
                           struct jit_audit_event *event);

struct jit_audit_filter {
	const char *actor_identity; /* NULL = any */
	const char *provider;
	const char *request_id;
	int64_t since;    /* inclusive; 0 = unbounded */
	int64_t until;    /* inclusive; 0 = unbounded */
	int64_t after_id; /* only ids > this (paging oldest first) */
	size_t limit;     /* 1..10000 */
};
/* The tenant's matching events, oldest first (by id). */
int jit_store_audit_query(struct jit_store *store, const char *tenant_id,
                          const struct jit_audit_filter *filter, struct jit_audit_event ***ret_list,
                          size_t *ret_count);

/* Walks the whole chain (every tenant's events) in id order and recomputes every hash, by the chain's own rule (a
 * keyed chain needs the process's chain key: JIT_ERR_UNAUTHENTICATED with a detail when it is
 * not set or is not the key the chain was made with). Returns 0 when intact, or
 * JIT_ERR_DENIED with *ret_bad_id set to the first event that was altered, removed (a gap in
 * ids or a prev_hash that does not match the previous event's hash: the event after the
 * removal is named) or inserted, and a one-line explanation in `detail`. *ret_count is the
 * number of events checked. Removal of the newest events is caught here only while
 * sqlite_sequence still counts them; the signed checkpoints outside the database
 * (server/audit/audit_chain.h) catch it in any case. */
int jit_store_audit_verify(struct jit_store *store, int64_t *ret_bad_id, size_t *ret_count,
                           char *detail, size_t detail_size);

/* The chain's rule (enum jit_audit_chain, server/core/model.h; from the meta table:
 * "audit_chain", "audit_key_id"), and whether the process's chain key is the one it was made
 * with (always true for an unkeyed chain). */
int jit_store_audit_chain(struct jit_store *store, enum jit_audit_chain *ret_chain,
                          bool *ret_key_matches);

/* Re-keys an unkeyed chain, inside the caller's write transaction: checks the whole chain by
 * the old rule first (as jit_store_audit_verify; a broken one is refused with JIT_ERR_DENIED,
 * *ret_bad_id and a detail, and nothing is changed), then recomputes every prev_hash and hash
 * with the process's chain key and records the keyed rule and the key's id in the meta table.
 * *ret_count is the number of events re-keyed (0 for an empty log). JIT_ERR_CONFLICT when the
 * chain is already keyed; JIT_ERR_INVALID when the process has no key. Reads the log in
 * batches: memory stays bounded. */
int jit_store_audit_rekey(struct jit_store *store, size_t *ret_count, int64_t *ret_bad_id,
                          char *detail, size_t detail_size);

/* The newest event: *ret_last_id (0 for an empty log) and its hash (64 hex and a NUL, "" when
 * empty) in `hash`, and *ret_count, the number of ids from the oldest event to it. */
int jit_store_audit_head(struct jit_store *store, int64_t *ret_count, int64_t *ret_last_id,
                         char hash[65]);
/* The stored hash of event `id`. JIT_ERR_NOT_FOUND when there is none. */
int jit_store_audit_hash_at(struct jit_store *store, int64_t id, char hash[65]);

/* ---- metadata -------------------------------------------------------------------------- */

/* A small key/value table for server state (e.g. "default_policies_loaded"). get returns
 * JIT_ERR_NOT_FOUND when absent; *ret_value is malloc'd. */
int jit_store_meta_get(struct jit_store *store, const char *key, char **ret_value);
int jit_store_meta_set(struct jit_store *store, const char *key, const char *value);

/* ---- upkeep --------------------------------------------------------------------------- */

/* The backend's periodic housekeeping, for a background thread that calls it every half
 * second or so (server/maintenance.c); request handles opened with
 * JIT_STORE_BACKGROUND_UPKEEP then never pay for it. SQLite: copies committed pages from the
 * write-ahead log into the database, mostly while writers go on; once the log is a few MiB
 * long and little is left, it holds this process's writers back to finish (a few
 * milliseconds), so that the log restarts from its beginning instead of growing without
 * bound. Returns 0 or JIT_ERR_UNAVAILABLE (the next call tries again). */
int jit_store_upkeep(struct jit_store *store);

#endif
