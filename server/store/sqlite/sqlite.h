/* The SQLite backend of the store (server/store/store.h): one database file in WAL mode,
 * synchronous=FULL, foreign keys on, versioned migrations (a schema_migrations table; each
 * one in a transaction). Writes of all handles of a process on one database go through one
 * connection in turn and share disk syncs (group commit, see sqlite.c). Callers outside
 * server/store/ open it through jit_store_open; this header is for the table of backends
 * (server/store/backends.c) and for the backend's own tests. */
#ifndef JIT_SERVER_STORE_SQLITE_H
#define JIT_SERVER_STORE_SQLITE_H

#include "server/store/store_backend.h"

/* The jit_store_open function of the backend: config->path and config->busy_timeout_ms. */
int jit_store_sqlite_open(const struct jit_store_config *config, unsigned flags,
                          struct jit_store **ret_store, char *error, size_t error_size);
/* The same with the path and the busy timeout given directly (the backend's tests). */
int jit_store_sqlite_open_path(const char *path, int busy_timeout_ms, unsigned flags,
                               struct jit_store **ret_store, char *error, size_t error_size);

/* Beyond the codes of store.h: a foreign key that names no request (an approval or credentials of
 * an unknown request id) is JIT_ERR_NOT_FOUND; a missing required field or an invalid state
 * or policy type is JIT_ERR_INVALID; a lock held past the busy timeout is
 * JIT_ERR_UNAVAILABLE. jit_store_audit_append called outside a transaction runs in one of its
 * own. Limits outside the documented ranges are JIT_ERR_INVALID (claim_due: 1..10000). A
 * policy upserted with an empty id gets a new one (jit_policy_id_new), and created_at defaults
 * to updated_at. Time columns hold 0 for "not set"; the sweeper's deadlines ignore an unset
 * pending_expires_at or expires_at, while a pending revocation is due from
 * revoke_next_attempt_at even when that is 0. */

#endif
