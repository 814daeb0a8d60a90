/* The SQLite store: requests, approvals, sealed credentials, policies, the hash-chained audit
 * log and server metadata in one database file (WAL, synchronous=FULL). One handle per thread;
 * each handle prepares its statements once and reuses them. Trusts its callers to validate
 * field contents; trusts the file's audit rows only as far as jit_store_audit_verify checks.
 * Implements the ops of server/store/store_backend.h; the functions below are named for the
 * jit_store_* operation they implement. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/timeutil.h"
#include "server/audit/audit_chain.h"
#include "server/store/audit_seal.h"
#include "server/store/sqlite/sqlite.h"
#include "server/store/store.h"

#define MAX_APPROVALS_PER_REQUEST 10000
#define MAX_POLICIES 10000
#define MAX_REQUEST_LIST 1000
#define MAX_AUDIT_QUERY 10000
#define MAX_DUE 10000

/* ---- schema --------------------------------------------------------------------------- */

/* Times are INTEGER nanoseconds since the epoch, 0 meaning "not set"; states and policy
 * types are their enum numbers. Migrations only ever get appended to this list. */
static const char migration_1[] =
        "CREATE TABLE requests ("
        " id TEXT PRIMARY KEY NOT NULL,"
        " state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 6),"
        " requester_identity TEXT NOT NULL,"
        " provider TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " resource_scope TEXT NOT NULL,"
        " duration_seconds INTEGER NOT NULL,"
        " reason TEXT NOT NULL,"
        " break_glass INTEGER NOT NULL,"
        " metadata TEXT NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " pending_expires_at INTEGER NOT NULL,"
        " issued_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL,"
        " approver_tier TEXT,"
        " required_approvals INTEGER NOT NULL,"
        " decided_by TEXT,"
        " decision_reason TEXT,"
        " revocation_pending INTEGER NOT NULL,"
        " revoke_attempts INTEGER NOT NULL,"
        " revoke_next_attempt_at INTEGER NOT NULL,"
        " host TEXT);"
        "CREATE INDEX requests_by_state ON requests(state, id);"
        "CREATE INDEX requests_by_requester ON requests(requester_identity, id);"
        /* The sweeper's three deadlines; its queries name these indexes (INDEXED BY), since
         * the planner would otherwise prefer requests_by_state. */
        "CREATE INDEX requests_pending_deadline ON requests(pending_expires_at)"
        " WHERE state = 1;"
        "CREATE INDEX requests_grant_deadline ON requests(expires_at) WHERE state IN (2, 4);"
        "CREATE INDEX requests_revoke_deadline ON requests(revoke_next_attempt_at)"
        " WHERE revocation_pending = 1;"
        "CREATE TABLE approvals ("
        " id INTEGER PRIMARY KEY,"
        " request_id TEXT NOT NULL REFERENCES requests(id),"
        " approver_identity TEXT NOT NULL,"
        " comment TEXT,"
        " approved_at INTEGER NOT NULL,"
        " UNIQUE (request_id, approver_identity));"
        "CREATE TABLE credentials ("
        " request_id TEXT PRIMARY KEY NOT NULL REFERENCES requests(id),"
        " sealed BLOB NOT NULL);"
        "CREATE TABLE policies ("
        " id TEXT PRIMARY KEY NOT NULL,"
        " name TEXT NOT NULL UNIQUE,"
        " type INTEGER NOT NULL CHECK (type IN (1, 2)),"
        " rego TEXT NOT NULL,"
        " description TEXT,"
        " enabled INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " updated_by TEXT);"
        /* AUTOINCREMENT: ids are never reused, and sqlite_sequence remembers the last one,
         * which lets verify notice events removed from the end. */
        "CREATE TABLE audit_events ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " timestamp INTEGER NOT NULL,"
        " actor_identity TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " request_id TEXT,"
        " provider TEXT,"
        " resource_scope TEXT,"
        " outcome TEXT NOT NULL,"
        " details TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL,"
        " hash TEXT NOT NULL);"
        "CREATE INDEX audit_by_request ON audit_events(request_id);"
        "CREATE INDEX audit_by_actor ON audit_events(actor_identity);"
        "CREATE INDEX audit_by_timestamp ON audit_events(timestamp);"
        "CREATE TABLE meta ("
        " key TEXT PRIMARY KEY NOT NULL,"
        " value TEXT NOT NULL);";

/* Each request row carries a version, 1 at insert and one more at each update, so that an
 * update can be made conditional on the row being the one its writer read
 * (jit_store_request_update). Rows from before start at 1. */
static const char migration_2[] =
        "ALTER TABLE requests ADD COLUMN version INTEGER NOT NULL DEFAULT 1;";

/* Tenants. Every table of tenant data gets a NOT NULL tenant_id referencing tenants, and
 * every row of a seed-000 database goes to the default tenant, which this migration creates.
 * SQLite cannot add a constraint to a table, so the tables are rebuilt (create the new one,
 * copy, drop the old, rename; foreign keys are off meanwhile and checked before the commit).
 * Ids stay global (request and policy ids are unique over all tenants); what is unique per
 * tenant becomes so (a policy's name). Approvals and credentials reference their request
 * together with its tenant, so a row can never name a request of another tenant. The audit
 * log stays one chain over all tenants: the ids, hashes and AUTOINCREMENT sequence are kept
 * as they are, and an event's tenant is part of what its hash covers (model.h). Indexes lead
 * with tenant_id, since every query of tenant data filters by it. */
static const char migration_3[] =
        "CREATE TABLE tenants ("
        " id TEXT PRIMARY KEY NOT NULL,"
        " name TEXT NOT NULL,"
        " created_at INTEGER NOT NULL);"
        "INSERT INTO tenants (id, name, created_at) VALUES ('" JIT_DEFAULT_TENANT_ID "',"
        " 'Default', CAST(strftime('%s', 'now') AS INTEGER) * 1000000000);"
        "CREATE TABLE requests_new ("
        " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
        " id TEXT PRIMARY KEY NOT NULL,"
        " state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 6),"
        " requester_identity TEXT NOT NULL,"
        " provider TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " resource_scope TEXT NOT NULL,"
        " duration_seconds INTEGER NOT NULL,"
        " reason TEXT NOT NULL,"
        " break_glass INTEGER NOT NULL,"
        " metadata TEXT NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " pending_expires_at INTEGER NOT NULL,"
        " issued_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL,"
        " approver_tier TEXT,"
        " required_approvals INTEGER NOT NULL,"
        " decided_by TEXT,"
        " decision_reason TEXT,"
        " revocation_pending INTEGER NOT NULL,"
        " revoke_attempts INTEGER NOT NULL,"
        " revoke_next_attempt_at INTEGER NOT NULL,"
        " host TEXT,"
        " version INTEGER NOT NULL DEFAULT 1);"
        "INSERT INTO requests_new SELECT '" JIT_DEFAULT_TENANT_ID "', id, state,"
        " requester_identity, provider, role, resource_scope, duration_seconds, reason,"
        " break_glass, metadata, created_at, updated_at, pending_expires_at, issued_at,"
        " expires_at, approver_tier, required_approvals, decided_by, decision_reason,"
        " revocation_pending, revoke_attempts, revoke_next_attempt_at, host, version"
        " FROM requests;"
        "CREATE TABLE approvals_new ("
        " id INTEGER PRIMARY KEY,"
        " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
        " request_id TEXT NOT NULL,"
        " approver_identity TEXT NOT NULL,"
        " comment TEXT,"
        " approved_at INTEGER NOT NULL,"
        " UNIQUE (tenant_id, request_id, approver_identity),"
        " FOREIGN KEY (tenant_id, request_id) REFERENCES requests(tenant_id, id));"
        "INSERT INTO approvals_new SELECT id, '" JIT_DEFAULT_TENANT_ID "', request_id,"
        " approver_identity, comment, approved_at FROM approvals;"
        "CREATE TABLE credentials_new ("
        " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
        " request_id TEXT NOT NULL,"
        " sealed BLOB NOT NULL,"
        " PRIMARY KEY (tenant_id, request_id),"
        " FOREIGN KEY (tenant_id, request_id) REFERENCES requests(tenant_id, id));"
        "INSERT INTO credentials_new SELECT '" JIT_DEFAULT_TENANT_ID "', request_id, sealed"
        " FROM credentials;"
        "CREATE TABLE policies_new ("
        " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
        " id TEXT PRIMARY KEY NOT NULL,"
        " name TEXT NOT NULL,"
        " type INTEGER NOT NULL CHECK (type IN (1, 2)),"
        " rego TEXT NOT NULL,"
        " description TEXT,"
        " enabled INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL,"
        " updated_by TEXT,"
        " UNIQUE (tenant_id, name));"
        "INSERT INTO policies_new SELECT '" JIT_DEFAULT_TENANT_ID "', id, name, type, rego,"
        " description, enabled, created_at, updated_at, updated_by FROM policies;"
        "CREATE TABLE audit_events_new ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
        " timestamp INTEGER NOT NULL,"
        " actor_identity TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " request_id TEXT,"
        " provider TEXT,"
        " resource_scope TEXT,"
        " outcome TEXT NOT NULL,"
        " details TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL,"
        " hash TEXT NOT NULL);"
        "INSERT INTO audit_events_new SELECT id, '" JIT_DEFAULT_TENANT_ID "', timestamp,"
        " actor_identity, action, request_id, provider, resource_scope, outcome, details,"
        " prev_hash, hash FROM audit_events ORDER BY id;"
        /* The last id handed out, which verify compares with the last event's. */
        "DELETE FROM sqlite_sequence WHERE name = 'audit_events_new';"
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_events_new', seq"
        " FROM sqlite_sequence WHERE name = 'audit_events';"
        "DROP TABLE approvals;"
        "DROP TABLE credentials;"
        "DROP TABLE requests;"
        "DROP TABLE policies;"
        "DROP TABLE audit_events;"
        "ALTER TABLE requests_new RENAME TO requests;"
        "ALTER TABLE approvals_new RENAME TO approvals;"
        "ALTER TABLE credentials_new RENAME TO credentials;"
        "ALTER TABLE policies_new RENAME TO policies;"
        "ALTER TABLE audit_events_new RENAME TO audit_events;"
        /* The parent key of approvals' and credentials' reference, and the unfiltered list. */
        "CREATE UNIQUE INDEX requests_by_tenant ON requests(tenant_id, id);"
        "CREATE INDEX requests_by_state ON requests(tenant_id, state, id);"
        "CREATE INDEX requests_by_requester ON requests(tenant_id, requester_identity, id);"
        "CREATE INDEX requests_pending_deadline ON requests(tenant_id, pending_expires_at)"
        " WHERE state = 1;"
        "CREATE INDEX requests_grant_deadline ON requests(tenant_id, expires_at)"
        " WHERE state IN (2, 4);"
        "CREATE INDEX requests_revoke_deadline ON requests(tenant_id, revoke_next_attempt_at)"
        " WHERE revocation_pending = 1;"
        /* In id order within a tenant (an index ends with the rowid). */
        "CREATE INDEX audit_by_tenant ON audit_events(tenant_id);"
        "CREATE INDEX audit_by_request ON audit_events(tenant_id, request_id);"
        "CREATE INDEX audit_by_actor ON audit_events(tenant_id, actor_identity);"
        "CREATE INDEX audit_by_timestamp ON audit_events(tenant_id, timestamp);";

struct migration {
	int version;
	const char *sql;
	/* Rebuilds tables: runs with foreign keys off, which are checked before it commits. */
	bool rebuilds_tables;
};

static const struct migration migrations[] = {
	{ 1, migration_1, false },
	{ 2, migration_2, false },
	{ 3, migration_3, true },
};

#define SCHEMA_VERSION 3

/* ---- statements ----------------------------------------------------------------------- */

#define REQUEST_COLUMNS_AFTER_ID                                                        \
	"state, requester_identity, provider, role, resource_scope, duration_seconds, " \
	"reason, break_glass, metadata, created_at, updated_at, pending_expires_at, "   \
	"issued_at, expires_at, approver_tier, required_approvals, decided_by, "        \
	"decision_reason, revocation_pending, revoke_attempts, revoke_next_attempt_at, host"
#define REQUEST_COLUMNS "id, " REQUEST_COLUMNS_AFTER_ID
/* What reads select: the written columns, then the row's version. */
#define REQUEST_READ_COLUMNS_AFTER_ID REQUEST_COLUMNS_AFTER_ID ", version"
#define REQUEST_READ_COLUMNS "id, " REQUEST_READ_COLUMNS_AFTER_ID
#define REQUEST_COLUMN_VERSION 23
#define REQUEST_COLUMN_COUNT 24

#define POLICY_COLUMNS \
	"id, name, type, rego, description, enabled, created_at, updated_at, updated_by"

#define AUDIT_COLUMNS                                                                   \
	"id, timestamp, actor_identity, action, request_id, provider, resource_scope, " \
	"outcome, details, prev_hash, hash, tenant_id"

enum stmt_id {
	ST_BEGIN_WRITE,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_PING,
	ST_REQUEST_INSERT,
	ST_REQUEST_UPDATE,
	ST_REQUEST_EXISTS,
	ST_REQUEST_GET,
	ST_APPROVALS_OF_LIST,
	ST_APPROVAL_ADD,
	ST_NEXT_DEADLINE,
	ST_DUE,
	ST_CREDENTIALS_PUT,
	ST_CREDENTIALS_GET,
	ST_CREDENTIALS_ZERO,
	ST_CREDENTIALS_DELETE,
	ST_POLICY_LIST,
	ST_POLICY_GET,
	ST_POLICY_GET_BY_NAME,
	ST_POLICY_UPSERT,
	ST_POLICY_DELETE,
	ST_AUDIT_LAST,
	ST_AUDIT_INSERT,
	ST_AUDIT_ALL,
	ST_AUDIT_SEQUENCE,
	ST_META_GET,
	ST_META_SET,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT op",
	[ST_RELEASE] = "RELEASE op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO op",
	[ST_PING] = "SELECT 1",
	[ST_REQUEST_INSERT] = "INSERT INTO requests (" REQUEST_COLUMNS ", tenant_id) VALUES (?1, "
	                      "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
	                      "?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
	[ST_REQUEST_UPDATE] =
	        "UPDATE requests SET state = ?2, updated_at = ?3, "
	        "pending_expires_at = ?4, issued_at = ?5, expires_at = ?6, "
	        "approver_tier = ?7, required_approvals = ?8, decided_by = ?9, "
	        "decision_reason = ?10, revocation_pending = ?11, "
	        "revoke_attempts = ?12, revoke_next_attempt_at = ?13, host = ?14, "
	        "version = version + 1 WHERE id = ?1 AND tenant_id = ?16 AND version = ?15",
	[ST_REQUEST_EXISTS] = "SELECT 1 FROM requests WHERE id = ?1 AND tenant_id = ?2",
	/* One statement, so one snapshot without a transaction of its own: the request, then its
	 * approvals one per row (none: one row of NULLs). */
	[ST_REQUEST_GET] = "SELECT r.id, " REQUEST_READ_COLUMNS_AFTER_ID ", a.approver_identity, "
	                   "a.comment, a.approved_at FROM requests r LEFT JOIN approvals a "
	                   "ON a.tenant_id = r.tenant_id AND a.request_id = r.id "
	                   "WHERE r.id = ?1 AND r.tenant_id = ?2 ORDER BY a.approved_at, a.id",
	[ST_APPROVALS_OF_LIST] = "SELECT request_id, approver_identity, comment, approved_at "
	                         "FROM approvals WHERE tenant_id = ?2 AND request_id IN "
	                         "(SELECT value FROM json_each(?1)) "
	                         "ORDER BY request_id, approved_at, id",
	[ST_APPROVAL_ADD] = "INSERT INTO approvals (request_id, approver_identity, comment, "
	                    "approved_at, tenant_id) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_NEXT_DEADLINE] = "SELECT MIN(at) FROM ("
	                     "SELECT MIN(pending_expires_at) AS at"
	                     " FROM requests INDEXED BY requests_pending_deadline"
	                     " WHERE tenant_id = ?1 AND state = 1 AND pending_expires_at > 0 "
	                     "UNION ALL SELECT MIN(expires_at)"
	                     " FROM requests INDEXED BY requests_grant_deadline"
	                     " WHERE tenant_id = ?1 AND state IN (2, 4) AND expires_at > 0 "
	                     "UNION ALL SELECT MIN(revoke_next_attempt_at)"
	                     " FROM requests INDEXED BY requests_revoke_deadline"
	                     " WHERE tenant_id = ?1 AND revocation_pending = 1)",
	[ST_DUE] = "SELECT id FROM ("
	           "SELECT id, pending_expires_at AS at"
	           " FROM requests INDEXED BY requests_pending_deadline"
	           " WHERE tenant_id = ?3 AND state = 1 AND pending_expires_at > 0"
	           " AND pending_expires_at <= ?1 "
	           "UNION ALL SELECT id, expires_at"
	           " FROM requests INDEXED BY requests_grant_deadline"
	           " WHERE tenant_id = ?3 AND state IN (2, 4) AND expires_at > 0"
	           " AND expires_at <= ?1 "
	           "UNION ALL SELECT id, revoke_next_attempt_at"
	           " FROM requests INDEXED BY requests_revoke_deadline"
	           " WHERE tenant_id = ?3 AND revocation_pending = 1"
	           " AND revoke_next_attempt_at <= ?1) "
	           "GROUP BY id ORDER BY MIN(at), id LIMIT ?2",
	[ST_CREDENTIALS_PUT] = "INSERT INTO credentials (request_id, sealed, tenant_id) "
	                       "VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id, request_id) "
	                       "DO UPDATE SET sealed = excluded.sealed",
	[ST_CREDENTIALS_GET] = "SELECT sealed FROM credentials WHERE tenant_id = ?2 AND "
	                       "request_id = ?1",
	[ST_CREDENTIALS_ZERO] = "UPDATE credentials SET sealed = zeroblob(length(sealed)) "
	                        "WHERE tenant_id = ?2 AND request_id = ?1",
	[ST_CREDENTIALS_DELETE] = "DELETE FROM credentials WHERE tenant_id = ?2 AND "
	                          "request_id = ?1",
	[ST_POLICY_LIST] = "SELECT " POLICY_COLUMNS " FROM policies WHERE tenant_id = ?1 "
	                   "ORDER BY name",
	[ST_POLICY_GET] = "SELECT " POLICY_COLUMNS " FROM policies WHERE id = ?1 AND "
	                  "tenant_id = ?2",
	[ST_POLICY_GET_BY_NAME] = "SELECT " POLICY_COLUMNS " FROM policies WHERE tenant_id = ?2 "
	                          "AND name = ?1",
	/* A policy id of another tenant is a conflict on the primary key, not this one. */
	[ST_POLICY_UPSERT] = "INSERT INTO policies (" POLICY_COLUMNS ", tenant_id) VALUES (?1, "
	                     "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
	                     "ON CONFLICT (tenant_id, name) DO UPDATE SET "
	                     "type = excluded.type, rego = excluded.rego, "
	                     "description = excluded.description, enabled = excluded.enabled, "
	                     "updated_at = excluded.updated_at, updated_by = excluded.updated_by "
	                     "RETURNING id, created_at",
	[ST_POLICY_DELETE] = "DELETE FROM policies WHERE id = ?1 AND tenant_id = ?2",
	[ST_AUDIT_LAST] = "SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1",
	[ST_AUDIT_INSERT] = "INSERT INTO audit_events (timestamp, actor_identity, action, "
	                    "request_id, provider, resource_scope, outcome, details, prev_hash, "
	                    "hash, tenant_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	                    "?11)",
	[ST_AUDIT_ALL] = "SELECT " AUDIT_COLUMNS " FROM audit_events ORDER BY id",
	[ST_AUDIT_SEQUENCE] = "SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
	                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

/* Filtered queries are built once per combination of filters and kept like the others. */
#define LIST_FILTER_REQUESTER 1
#define LIST_FILTER_STATE 2
#define LIST_FILTER_BEFORE 4
#define LIST_VARIANTS 8

#define AUDIT_FILTER_ACTOR 1
#define AUDIT_FILTER_PROVIDER 2
#define AUDIT_FILTER_REQUEST 4
#define AUDIT_FILTER_SINCE 8
#define AUDIT_FILTER_UNTIL 16
#define AUDIT_VARIANTS 32

/* All writes of a process to one database file go through one connection, the writer,
 * taken in turn under a mutex of the process (rather than SQLite's busy handler, which sleeps
 * in growing steps and makes latency jumpy). A handle's write transaction is a savepoint on
 * the writer. The savepoints of handles whose commits are acknowledged later (deferred sync)
 * stay in one open SQLite transaction, the batch, until someone needs them durable or
 * visible: the sync that their acknowledgement waits for commits the batch first, so every
 * change made while the previous sync ran shares one commit, and the pages they all touch go
 * to the log once per batch instead of once per change. Changes are numbered in log order; a
 * change is durable once the log was synced after its batch committed (wal_sync). Other
 * processes still meet the busy timeout. */
#define BATCH_MAX 256

struct writer_lock {
	struct writer_lock *next;
	dev_t dev;
	ino_t ino;
	unsigned refs;
	char *path;
	int busy_timeout_ms;
	pthread_mutex_t mutex;
	struct sqlite_store *shared; /* the writer connection, opened at the first write */
	sqlite3_file *wal;           /* its write-ahead log, for syncing */
	bool autocheckpoint;
	bool batch_open;    /* an SQLite transaction is open on `shared` */
	unsigned batch_ops; /* savepoints released into it */
	uint64_t logical;   /* number of the latest released savepoint */
	pthread_mutex_t
	        sync_lock; /* guards the fields below; `committed` is also read atomically */
	pthread_cond_t sync_cond;
	uint64_t committed; /* every change numbered up to this is committed */
	uint64_t synced;    /* ... and on disk */
	bool syncing;
	bool broken; /* a batch failed to commit: changes were lost, writes are refused */
};

static int batch_end(struct writer_lock *w, bool may_defer);
static struct sqlite_store *use(struct sqlite_store *store);
static void handle_close(struct sqlite_store *store);

static pthread_mutex_t writer_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct writer_lock *writer_registry;

static struct writer_lock *
writer_lock_get(const char *path, int busy_timeout_ms)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return NULL;
	pthread_mutex_lock(&writer_registry_lock);
	struct writer_lock *w = writer_registry;
	while (w && !(w->dev == st.st_dev && w->ino == st.st_ino))
		w = w->next;
	if (!w && (w = calloc(1, sizeof(*w)))) {
		w->dev = st.st_dev;
		w->ino = st.st_ino;
		w->autocheckpoint = true;
		w->busy_timeout_ms = busy_timeout_ms;
		pthread_mutex_init(&w->mutex, NULL);
		pthread_mutex_init(&w->sync_lock, NULL);
		pthread_cond_init(&w->sync_cond, NULL);
		w->next = writer_registry;
		writer_registry = w;
	}
	if (w && !w->path && !(w->path = strdup(path)))
		w = NULL; /* a new lock without its path is freed by its first put */
	if (w)
		w->refs++;
	pthread_mutex_unlock(&writer_registry_lock);
	return w;
}

static void
writer_lock_put(struct writer_lock *lock)
{
	if (!lock)
		return;
	pthread_mutex_lock(&writer_registry_lock);
	if (--lock->refs == 0) {
		struct writer_lock **p = &writer_registry;
		while (*p != lock)
			p = &(*p)->next;
		*p = lock->next;
		if (lock->shared) {
			(void)batch_end(lock, false);
			handle_close(lock->shared);
		}
		free(lock->path);
		pthread_mutex_destroy(&lock->mutex);
		pthread_mutex_destroy(&lock->sync_lock);
		pthread_cond_destroy(&lock->sync_cond);
		free(lock);
	}
	pthread_mutex_unlock(&writer_registry_lock);
}

struct sqlite_store {
	struct jit_store base; /* first: a jit_store pointer is a pointer to this */
	sqlite3 *db;
	struct writer_lock *writer;
	bool is_writer; /* this is writer->shared (it holds no reference to the lock) */
	bool writing;   /* in a write transaction: holds writer->mutex, works on writer->shared */
	bool deferred_sync;
	uint64_t last_seq;           /* number of this handle's latest commit */
	uint64_t unsynced;           /* ... when no sync was waited for it yet (deferred sync) */
	bool reuse_snapshot;         /* in a read session (jit_store_read_session_begin) */
	bool snapshot_open;          /* a read transaction left open for the next reads */
	uint64_t snapshot_committed; /* writer->committed when it began */
	int busy_timeout_ms;
	sqlite3_stmt *stmts[ST_COUNT];
	sqlite3_stmt *list_stmts[LIST_VARIANTS];
	sqlite3_stmt *audit_stmts[AUDIT_VARIANTS];
	enum jit_audit_seal_rule audit_seal; /* how appends on this connection seal (read once) */
};

static struct sqlite_store *
sqlite_of(struct jit_store *base)
{
	return (struct sqlite_store *)base;
}

static void sqlite_store_close(struct jit_store *base);
static void sqlite_store_rollback(struct jit_store *base);
static const struct jit_store_ops sqlite_ops;

static void
handle_close(struct sqlite_store *store)
{
	if (store)
		sqlite_store_close(&store->base);
}

/* ---- errors and statement helpers ----------------------------------------------------- */

/* Translates an (extended) SQLite result code. */
static int
map_error(int code)
{
	switch (code) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return JIT_ERR_CONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return JIT_ERR_NOT_FOUND; /* the request referred to does not exist */
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_CHECK:
		return JIT_ERR_INVALID;
	default:
		break;
	}
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return JIT_ERR_UNAVAILABLE;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_TOOBIG:
		return JIT_ERR_TOO_LARGE;
	default:
		return JIT_ERR_INTERNAL;
	}
}

/* The error of the last failed call on this handle (a bind, a column fetch). */
static int
last_error(struct sqlite_store *store)
{
	int code = sqlite3_extended_errcode(store->db);
	return code == SQLITE_OK ? JIT_ERR_INTERNAL : map_error(code);
}

static void
stmt_resetp(sqlite3_stmt **st)
{
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
}
/* A cached statement borrowed for the scope: reset and unbound when the scope ends, so no
 * statement keeps a read snapshot or a pointer to the caller's memory. */
#define _cleanup_reset_ _cleanup_(stmt_resetp)

static int
stmt_get(struct sqlite_store *store, enum stmt_id id, sqlite3_stmt **ret)
{
	if (!store->stmts[id]) {
		int rc = sqlite3_prepare_v3(store->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		                            &store->stmts[id], NULL);
		if (rc != SQLITE_OK)
			return map_error(rc);
	}
	*ret = store->stmts[id];
	return 0;
}

/* Runs a statement that returns no rows (or ignores them after the first step). */
static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return map_error(rc);
}

static int
run(struct sqlite_store *store, enum stmt_id id)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r = stmt_get(store, id, &st);
	if (r < 0)
		return r;
	return step_done(st);
}

/* Binds text without copying: every statement is reset before its caller returns. */
static int
bind_text(sqlite3_stmt *st, int index, const char *text)
{
	if (!text)
		return sqlite3_bind_null(st, index);
	return sqlite3_bind_text(st, index, text, -1, SQLITE_STATIC);
}

/* Copies a text column into a new string; a NULL column gives NULL. 0 or -ENOMEM. */
static int
column_strdup(sqlite3_stmt *st, int column, char **ret)
{
	if (sqlite3_column_type(st, column) == SQLITE_NULL) {
		*ret = NULL;
		return 0;
	}
	const unsigned char *text = sqlite3_column_text(st, column);
	int len = sqlite3_column_bytes(st, column);
	if (!text || len < 0)
		return -ENOMEM;
	char *copy = malloc((size_t)len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, (size_t)len);
	copy[len] = '\0';
	*ret = copy;
	return 0;
}

/* Copies a text column into a fixed buffer; JIT_ERR_INTERNAL when it does not fit. */
static int
column_copy(sqlite3_stmt *st, int column, char *buf, size_t size)
{
	const unsigned char *text = sqlite3_column_text(st, column);
	int len = sqlite3_column_bytes(st, column);
	if (sqlite3_column_type(st, column) == SQLITE_NULL)
		len = 0;
	else if (!text)
		return -ENOMEM;
	if (len < 0 || (size_t)len >= size)
		return JIT_ERR_INTERNAL;
	memcpy(buf, text ? (const char *)text : "", (size_t)len);
	buf[len] = '\0';
	return 0;
}

/* Parses a JSON object column (metadata, details). */
static int
column_json_object(sqlite3_stmt *st, int column, json_t **ret)
{
	const char *text = (const char *)sqlite3_column_text(st, column);
	int len = sqlite3_column_bytes(st, column);
	if (!text)
		return sqlite3_column_type(st, column) == SQLITE_NULL ? JIT_ERR_INTERNAL : -ENOMEM;
	json_t *json = json_loadb(text, (size_t)len, JSON_ALLOW_NUL, NULL);
	if (!json || !json_is_object(json)) {
		json_decref(json);
		return JIT_ERR_INTERNAL;
	}
	*ret = json;
	return 0;
}

/* Opens a read transaction when the caller has none, so that several SELECTs see one
 * snapshot; *ret_opened says whether read_end must close it. */
static int
read_begin(struct sqlite_store *store, bool *ret_opened)
{
	if (!sqlite3_get_autocommit(store->db)) {
		*ret_opened = false;
		return 0;
	}
	int r = run(store, ST_BEGIN_READ);
	if (r < 0)
		return r;
	*ret_opened = true;
	return 0;
}

static void
read_end(struct sqlite_store *store, bool opened)
{
	if (opened && !sqlite3_get_autocommit(store->db))
		(void)run(store, ST_ROLLBACK);
}

/* ---- open, migrate, close ------------------------------------------------------------- */

static int
exec_sql(sqlite3 *db, const char *sql, char *error, size_t error_size, const char *what)
{
	char *message = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
	if (rc != SQLITE_OK) {
		snprintf(error, error_size, "%s: %s", what, message ? message : sqlite3_errstr(rc));
		sqlite3_free(message);
		return map_error(sqlite3_extended_errcode(db));
	}
	return 0;
}

/* The highest migration recorded, 0 for a database without the table. */
static int
schema_version(sqlite3 *db, int *ret_version, char *error, size_t error_size)
{
	sqlite3_stmt *st = NULL;
	int version = 0, rc;
	rc = sqlite3_prepare_v2(db,
	                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
	                        "name = 'schema_migrations'",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool exists = sqlite3_column_int(st, 0) > 0;
		sqlite3_finalize(st);
		st = NULL;
		rc = SQLITE_DONE;
		if (exists &&
		    (rc = sqlite3_prepare_v2(db,
		                             "SELECT coalesce(max(version), 0) FROM "
		                             "schema_migrations",
		                             -1, &st, NULL)) == SQLITE_OK &&
		    (rc = sqlite3_step(st)) == SQLITE_ROW) {
			version = sqlite3_column_int(st, 0);
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(error, error_size, "reading the schema version: %s", sqlite3_errmsg(db));
		return map_error(sqlite3_extended_errcode(db));
	}
	*ret_version = version;
	return 0;
}

static int
check_version(int version, char *error, size_t error_size)
{
	if (version > SCHEMA_VERSION) {
		snprintf(error, error_size,
		         "the database's schema version %d is newer than this program's (%d); "
		         "refusing to use it",
		         version, SCHEMA_VERSION);
		return JIT_ERR_INVALID;
	}
	return 0;
}

/* A rebuilt table must leave every reference resolving: JIT_ERR_INTERNAL with a message
 * naming the first table whose rows do not. */
static int
foreign_keys_check(sqlite3 *db, const char *what, char *error, size_t error_size)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(st, 0);
		snprintf(error, error_size, "%s: rows of %s refer to rows that do not exist", what,
		         table ? table : "?");
		sqlite3_finalize(st);
		return JIT_ERR_INTERNAL;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(error, error_size, "%s: checking references: %s", what,
		         sqlite3_errmsg(db));
		return map_error(sqlite3_extended_errcode(db));
	}
	return 0;
}

/* Applies each missing migration in a transaction of its own. Several processes or threads
 * may open the database at once: each migration re-reads the version under the write lock. */
static int
migrate(sqlite3 *db, char *error, size_t error_size)
{
	int version = 0, r;
	bool keys_off = false;
	if ((r = schema_version(db, &version, error, error_size)) < 0 ||
	    (r = check_version(version, error, error_size)) < 0)
		return r;
	for (size_t i = 0; i < JIT_ARRAY_SIZE(migrations) && version < SCHEMA_VERSION; i++) {
		const struct migration *m = &migrations[i];
		if (m->version <= version)
			continue;
		/* The pragma has no effect inside a transaction. */
		if (m->rebuilds_tables && (r = exec_sql(db, "PRAGMA foreign_keys = OFF", error,
		                                        error_size, "migrating")) < 0)
			return r;
		keys_off = m->rebuilds_tables; /* for the failure path */
		if ((r = exec_sql(db, "BEGIN IMMEDIATE", error, error_size, "migrating")) < 0)
			goto fail;
		if ((r = exec_sql(db,
		                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
		                  " version INTEGER PRIMARY KEY NOT NULL,"
		                  " applied_at INTEGER NOT NULL)",
		                  error, error_size, "migrating")) < 0 ||
		    (r = schema_version(db, &version, error, error_size)) < 0 ||
		    (r = check_version(version, error, error_size)) < 0)
			goto fail;
		if (m->version > version) {
			char record[128];
			snprintf(record, sizeof(record),
			         "INSERT INTO schema_migrations (version, applied_at) "
			         "VALUES (%d, %lld)",
			         m->version, (long long)jit_now_realtime_ns());
			char what[64];
			snprintf(what, sizeof(what), "migration %d", m->version);
			if ((r = exec_sql(db, m->sql, error, error_size, what)) < 0 ||
			    (m->rebuilds_tables &&
			     (r = foreign_keys_check(db, what, error, error_size)) < 0) ||
			    (r = exec_sql(db, record, error, error_size, what)) < 0)
				goto fail;
			version = m->version;
		}
		if ((r = exec_sql(db, "COMMIT", error, error_size, "migrating")) < 0)
			goto fail;
		if (m->rebuilds_tables && (r = exec_sql(db, "PRAGMA foreign_keys = ON", error,
		                                        error_size, "migrating")) < 0)
			return r;
	}
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (keys_off)
		sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return r;
}

/* Asks for WAL and checks that the database is in it (an in-memory one cannot be). */
static int
set_pragmas(sqlite3 *db, const char *path, int busy_timeout_ms, char *error, size_t error_size)
{
	sqlite3_stmt *st = NULL;
	int r;
	/* Small pages for a new database (no effect on an existing one): every commit writes each
	 * page it touched to the log, and a request touches about ten (its row, its indexes, the
	 * audit row and its indexes), so the page size is the log's bytes per commit. */
	(void)sqlite3_exec(db, "PRAGMA page_size = 1024", NULL, NULL, NULL);
	/* Switching a new file to WAL needs it to itself; when another connection is setting it
	 * up at the same moment SQLite answers "busy" without waiting, so wait here, within the
	 * busy timeout. */
	int64_t deadline = jit_deadline_after_ms(busy_timeout_ms);
	int rc;
	for (;;) {
		rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if ((rc & 0xff) != SQLITE_BUSY || jit_deadline_passed(deadline))
			break;
		sqlite3_finalize(st);
		st = NULL;
		sqlite3_sleep(2);
	}
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		bool ok = mode && (strcmp(mode, "wal") == 0 || strcmp(path, ":memory:") == 0);
		if (!ok) {
			snprintf(error, error_size, "%s: the database cannot use WAL mode (%s)",
			         path, mode ? mode : "?");
			sqlite3_finalize(st);
			return JIT_ERR_INTERNAL;
		}
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(error, error_size, "%s: setting WAL mode: %s", path, sqlite3_errmsg(db));
		return map_error(sqlite3_extended_errcode(db));
	}
	if ((r = exec_sql(db,
	                  "PRAGMA synchronous = FULL;"
	                  "PRAGMA foreign_keys = ON;"
	                  "PRAGMA secure_delete = ON;"
	                  "PRAGMA journal_size_limit = 67108864;"
	                  "PRAGMA trusted_schema = OFF",
	                  error, error_size, "setting pragmas")) < 0)
		return r;
	return 0;
}

/* Creates a missing database file readable by its owner only (the WAL and shared-memory
 * files inherit its mode). Paths that SQLite treats specially are left alone. */
static int
create_private(const char *path, char *error, size_t error_size)
{
	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return 0;
	/* Only a file that does not exist yet is opened here. Closing a descriptor of a file
	 * drops every POSIX lock this process holds on it: the locks by which SQLite's open
	 * connections tell other processes that the database is in use. Without them, another
	 * process closing its connection takes itself for the last one and deletes the log that
	 * this process still appends to, and every change committed after that is lost when this
	 * process ends (and other readers meanwhile see a malformed database). */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0) {
		int e = errno;
		snprintf(error, error_size, "%s: %s", path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

/* SQLite's allocation statistics take a global mutex on every malloc; nothing here reads
 * them, and with several server threads that mutex is the hottest lock in the process. */
static pthread_once_t sqlite_config_once = PTHREAD_ONCE_INIT;

static void
sqlite_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void
handle_closep(struct sqlite_store **p)
{
	handle_close(*p);
}

/* Opens one connection with its statements prepared (see jit_store_sqlite_open_path). */
static int
handle_open(const char *path, int busy_timeout_ms, struct sqlite_store **ret_store, char *error,
            size_t error_size)
{
	_cleanup_(handle_closep) struct sqlite_store *store = NULL;
	int r;
	if (!path || !path[0]) {
		snprintf(error, error_size, "no database path");
		return JIT_ERR_INVALID;
	}
	if ((r = create_private(path, error, error_size)) < 0)
		return r;
	pthread_once(&sqlite_config_once, sqlite_config);
	store = calloc(1, sizeof(*store));
	if (!store) {
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	store->base.ops = &sqlite_ops;
	/* NOMUTEX: a handle is used by one thread at a time (see store.h). */
	int rc = sqlite3_open_v2(path, &store->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK) {
		snprintf(error, error_size, "%s: %s", path,
		         store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
		return map_error(rc);
	}
	sqlite3_extended_result_codes(store->db, 1);
	sqlite3_busy_timeout(store->db, busy_timeout_ms > 0 ? busy_timeout_ms : 0);
	store->busy_timeout_ms = busy_timeout_ms > 0 ? busy_timeout_ms : 0;
	if (!(store->writer = writer_lock_get(path, store->busy_timeout_ms))) {
		snprintf(error, error_size, "%s: %s", path, strerror(errno ? errno : ENOMEM));
		return jit_errno_or(-ENOMEM);
	}
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if ((r = set_pragmas(store->db, path, store->busy_timeout_ms, error, error_size)) < 0 ||
	    (r = migrate(store->db, error, error_size)) < 0)
		return r;
	for (int i = 0; i < ST_COUNT; i++) {
		sqlite3_stmt *st = NULL;
		if ((r = stmt_get(store, (enum stmt_id)i, &st)) < 0) {
			snprintf(error, error_size, "preparing a statement: %s",
			         sqlite3_errmsg(store->db));
			return r;
		}
	}
	*ret_store = TAKE_PTR(store);
	return 0;
}

static void
sqlite_store_close(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	if (!store)
		return;
	if (store->writing)
		sqlite_store_rollback(&store->base);
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(store->stmts[i]);
	for (size_t i = 0; i < LIST_VARIANTS; i++)
		sqlite3_finalize(store->list_stmts[i]);
	for (size_t i = 0; i < AUDIT_VARIANTS; i++)
		sqlite3_finalize(store->audit_stmts[i]);
	sqlite3_close(store->db);
	if (!store->is_writer)
		writer_lock_put(store->writer);
	free(store);
}

static int
sqlite_store_ping(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	if (__atomic_load_n(&store->writer->broken, __ATOMIC_ACQUIRE))
		return JIT_ERR_UNAVAILABLE;
	if (stmt_get(store, ST_PING, &st) < 0 || sqlite3_step(st) != SQLITE_ROW)
		return JIT_ERR_UNAVAILABLE;
	return 0;
}

/* ---- transactions --------------------------------------------------------------------- */

static int
writer_lock_timed(struct writer_lock *w, int timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	return pthread_mutex_timedlock(&w->mutex, &deadline) == 0 ? 0 : JIT_ERR_UNAVAILABLE;
}

/* Opens the writer connection (with `w->mutex` held): SQLite syncs nothing on commit there,
 * wal_sync does. */
static int
writer_open(struct writer_lock *w)
{
	char error[256];
	struct sqlite_store *shared = NULL;
	int r = handle_open(w->path, w->busy_timeout_ms, &shared, error, sizeof(error));
	if (r < 0 || !shared)
		return r < 0 ? r : JIT_ERR_INTERNAL;
	/* The connection is part of the lock: it holds no reference to it. */
	pthread_mutex_lock(&writer_registry_lock);
	w->refs--;
	pthread_mutex_unlock(&writer_registry_lock);
	shared->is_writer = true;
	char *msg = NULL;
	if (sqlite3_exec(shared->db, "PRAGMA synchronous = NORMAL", NULL, NULL, &msg) !=
	    SQLITE_OK) {
		sqlite3_free(msg);
		handle_close(shared);
		return JIT_ERR_INTERNAL;
	}
	sqlite3_wal_autocheckpoint(shared->db, w->autocheckpoint ? 1000 : 0);
	w->shared = shared;
	return 0;
}

static void
set_committed(struct writer_lock *w, uint64_t seq, bool failed)
{
	pthread_mutex_lock(&w->sync_lock);
	if (failed)
		__atomic_store_n(&w->broken, true, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&w->committed, seq, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->sync_cond);
	pthread_mutex_unlock(&w->sync_lock);
}

/* Ends the writer's open transaction, with `w->mutex` held, unless `may_defer` and the batch
 * still has room (the sync that waits for it, or a later writer, ends it). A failed commit loses
 * the whole batch, some of whose changes may already have been reported committed to their
 * (deferred) callers: the writer is then marked broken, their syncs fail, and no write is
 * accepted until the process restarts. */
static int
batch_end(struct writer_lock *w, bool may_defer)
{
	if (!w->batch_open)
		return 0;
	if (may_defer && w->batch_ops > 0 && w->batch_ops < BATCH_MAX)
		return 0;
	w->batch_open = false;
	if (w->batch_ops == 0) {
		(void)run(w->shared, ST_ROLLBACK);
		return 0;
	}
	w->batch_ops = 0;
	int r = run(w->shared, ST_COMMIT);
	if (r < 0 && !sqlite3_get_autocommit(w->shared->db))
		(void)run(w->shared, ST_ROLLBACK);
	set_committed(w, __atomic_load_n(&w->logical, __ATOMIC_ACQUIRE), r < 0);
	return r < 0 ? JIT_ERR_UNAVAILABLE : 0;
}

/* Commits the writer's open transaction, if any, waiting up to `timeout_ms` for the lock. */
static int
batch_flush(struct writer_lock *w, int timeout_ms)
{
	int r = writer_lock_timed(w, timeout_ms);
	if (r < 0)
		return r;
	r = batch_end(w, false);
	pthread_mutex_unlock(&w->mutex);
	return r;
}

static bool
batch_pending(struct writer_lock *w)
{
	return __atomic_load_n(&w->logical, __ATOMIC_ACQUIRE) >
	       __atomic_load_n(&w->committed, __ATOMIC_ACQUIRE);
}

/* The connection a call works on: the writer inside a write transaction, the handle's own
 * outside. A handle reads its own committed writes: if one of them is still in an open
 * batch, the batch is committed first. */
static void
snapshot_end(struct sqlite_store *store)
{
	if (store->snapshot_open && !sqlite3_get_autocommit(store->db))
		(void)run(store, ST_ROLLBACK);
	store->snapshot_open = false;
}

static struct sqlite_store *
use(struct sqlite_store *store)
{
	if (store->writing)
		return store->writer->shared;
	if (store->last_seq &&
	    store->last_seq > __atomic_load_n(&store->writer->committed, __ATOMIC_ACQUIRE))
		(void)batch_flush(store->writer, store->busy_timeout_ms);
	if (store->reuse_snapshot) {
		/* Read before the snapshot starts: a commit after this read makes it stale. */
		uint64_t committed = __atomic_load_n(&store->writer->committed, __ATOMIC_ACQUIRE);
		if (store->snapshot_open && committed != store->snapshot_committed)
			snapshot_end(store);
		if (!store->snapshot_open && sqlite3_get_autocommit(store->db) &&
		    run(store, ST_BEGIN_READ) == 0) {
			store->snapshot_open = true;
			store->snapshot_committed = committed;
		}
	}
	return store;
}

/* A read session keeps the handle's read transaction open from one read to the next (see
 * use: a commit of the process ends it at the next read). */
static void
sqlite_store_read_session_begin(struct jit_store *base)
{
	sqlite_of(base)->reuse_snapshot = true;
}

static void
sqlite_store_read_session_end(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	snapshot_end(store);
	store->reuse_snapshot = false;
}

/* Gives the writer back after a transaction on it. */
static void
writer_release(struct sqlite_store *store, bool may_defer)
{
	struct writer_lock *w = store->writer;
	(void)batch_end(w, may_defer);
	store->writing = false;
	pthread_mutex_unlock(&w->mutex);
}

/* The batch's transaction is gone although it was never ended: SQLite rolled it back itself
 * (after an I/O error, a full disk, lack of memory). Changes already reported committed to
 * their deferred callers went with it: their syncs fail from now on and no write is taken
 * until the process restarts, as after a failed batch commit. With `w->mutex` held. */
static int
batch_lost(struct writer_lock *w)
{
	w->batch_open = false;
	w->batch_ops = 0;
	set_committed(w, 0, true);
	return JIT_ERR_UNAVAILABLE;
}

static int
sqlite_store_begin(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	snapshot_end(store);
	if (store->writing || store->is_writer || !sqlite3_get_autocommit(store->db))
		return JIT_ERR_INTERNAL;
	struct writer_lock *w = store->writer;
	if (writer_lock_timed(w, store->busy_timeout_ms) < 0)
		return JIT_ERR_UNAVAILABLE;
	int r = 0;
	if (__atomic_load_n(&w->broken, __ATOMIC_ACQUIRE))
		r = JIT_ERR_UNAVAILABLE;
	else if (!w->shared)
		r = writer_open(w);
	else if (w->batch_open && sqlite3_get_autocommit(w->shared->db))
		r = batch_lost(w);
	if (r == 0 && !w->batch_open && (r = run(w->shared, ST_BEGIN_WRITE)) == 0) {
		w->batch_open = true;
		w->batch_ops = 0;
		sqlite3_file *wal = NULL;
		if (!w->wal &&
		    sqlite3_file_control(w->shared->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
		                         &wal) == SQLITE_OK &&
		    wal && wal->pMethods)
			w->wal = wal;
	}
	if (r == 0)
		r = run(w->shared, ST_SAVEPOINT);
	if (r < 0) {
		(void)batch_end(w, true);
		pthread_mutex_unlock(&w->mutex);
		return r;
	}
	store->writing = true;
	return 0;
}

/* Makes every change numbered up to `seq` durable: commits its batch if it is still open,
 * then one thread syncs the log for all commits so far and the others wait for that sync (or
 * start the next one). */
static int
wal_sync(struct writer_lock *w, uint64_t seq, int timeout_ms)
{
	int r = 0;
	pthread_mutex_lock(&w->sync_lock);
	while (w->synced < seq && r == 0) {
		if (w->committed < seq) {
			if (w->broken) {
				r = JIT_ERR_UNAVAILABLE;
				break;
			}
			pthread_mutex_unlock(&w->sync_lock);
			int fr = batch_flush(w, timeout_ms);
			pthread_mutex_lock(&w->sync_lock);
			if (fr < 0 && w->committed < seq)
				r = JIT_ERR_UNAVAILABLE;
			continue;
		}
		if (w->syncing) {
			pthread_cond_wait(&w->sync_cond, &w->sync_lock);
			continue;
		}
		uint64_t target = w->committed;
		w->syncing = true;
		pthread_mutex_unlock(&w->sync_lock);
		int rc =
		        w->wal ? w->wal->pMethods->xSync(w->wal, SQLITE_SYNC_NORMAL) : SQLITE_IOERR;
		pthread_mutex_lock(&w->sync_lock);
		w->syncing = false;
		if (rc == SQLITE_OK && target > w->synced)
			w->synced = target;
		if (rc != SQLITE_OK)
			r = JIT_ERR_UNAVAILABLE;
		pthread_cond_broadcast(&w->sync_cond);
	}
	pthread_mutex_unlock(&w->sync_lock);
	return r;
}

static void
sqlite_store_defer_durability(struct jit_store *base, bool on)
{
	struct sqlite_store *store = sqlite_of(base);
	store->deferred_sync = on;
}

static uint64_t
sqlite_store_unsynced_mark(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	uint64_t seq = store->unsynced;
	store->unsynced = 0;
	return seq;
}

static int
sqlite_store_make_durable(struct jit_store *base, uint64_t seq)
{
	struct sqlite_store *store = sqlite_of(base);
	return seq ? wal_sync(store->writer, seq, store->busy_timeout_ms) : 0;
}

static int
sqlite_store_commit(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	if (!store->writing)
		return JIT_ERR_INTERNAL;
	struct writer_lock *w = store->writer;
	int r = run(w->shared, ST_RELEASE);
	if (r < 0 && !sqlite3_get_autocommit(w->shared->db)) {
		(void)run(w->shared, ST_ROLLBACK_TO);
		(void)run(w->shared, ST_RELEASE);
	}
	/* Releasing a savepoint inside the batch leaves the batch open; if it is not, the
	 * savepoint was the whole transaction and the batch before it was lost. */
	if (w->batch_open && sqlite3_get_autocommit(w->shared->db)) {
		(void)batch_lost(w);
		store->writing = false;
		pthread_mutex_unlock(&w->mutex);
		return JIT_ERR_UNAVAILABLE;
	}
	uint64_t seq = 0;
	if (r == 0) {
		seq = __atomic_add_fetch(&w->logical, 1, __ATOMIC_RELEASE);
		w->batch_ops++;
	}
	/* Only a change acknowledged later may wait in the open batch. */
	bool may_defer = store->deferred_sync;
	int br = batch_end(w, may_defer);
	store->writing = false;
	pthread_mutex_unlock(&w->mutex);
	if (r < 0)
		return r;
	if (br < 0)
		return br;
	store->last_seq = seq;
	if (may_defer) {
		store->unsynced = seq;
		return 0;
	}
	return wal_sync(w, seq, store->busy_timeout_ms);
}

static void
sqlite_store_rollback(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	if (!store)
		return;
	if (!store->writing) {
		/* A read transaction of the handle's own connection. */
		snapshot_end(store);
		if (!sqlite3_get_autocommit(store->db))
			(void)run(store, ST_ROLLBACK);
		return;
	}
	struct sqlite_store *shared = store->writer->shared;
	if (!sqlite3_get_autocommit(shared->db)) {
		(void)run(shared, ST_ROLLBACK_TO);
		(void)run(shared, ST_RELEASE);
	}
	writer_release(store, true);
}

/* ---- maintenance ---------------------------------------------------------------------- */

/* Whether commits may checkpoint the log themselves (SQLite's default), on this connection
 * and the process's writer connection for the database. Off when a background thread calls
 * jit_store_upkeep (JIT_STORE_BACKGROUND_UPKEEP), so that no request waits for a checkpoint's
 * disk syncs. */
static void
autocheckpoint_set(struct sqlite_store *store, bool on)
{
	struct writer_lock *w = store->writer;
	sqlite3_wal_autocheckpoint(store->db, on ? 1000 : 0);
	if (writer_lock_timed(w, store->busy_timeout_ms) < 0)
		return;
	w->autocheckpoint = on;
	if (w->shared)
		sqlite3_wal_autocheckpoint(w->shared->db, on ? 1000 : 0);
	pthread_mutex_unlock(&w->mutex);
}

/* A passive checkpoint never finishes while writes keep coming, and a log that is never
 * finished is never restarted: it would grow without bound. So the bulk is copied while
 * writers go on, in a few passes, and once little is left the rest is copied with this
 * process's writers held back, which lets the next commit start the log from its beginning. */
#define CHECKPOINT_PASSES 4
#define CHECKPOINT_LOCKED_FRAMES 2048
#define CHECKPOINT_RESTART_FRAMES 4096

static int
checkpoint_passive(struct sqlite_store *store, int *ret_log, int *ret_left)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (rc != SQLITE_OK)
		return JIT_ERR_UNAVAILABLE;
	*ret_log = log;
	*ret_left = log > done ? log - done : 0;
	return 0;
}

static int
sqlite_store_upkeep(struct jit_store *base)
{
	struct sqlite_store *store = sqlite_of(base);
	int log = 0, left = 0, r = 0;
	for (int pass = 0; pass < CHECKPOINT_PASSES; pass++)
		if ((r = checkpoint_passive(store, &log, &left)) < 0 ||
		    left <= CHECKPOINT_LOCKED_FRAMES)
			break;
	/* A short log is left to grow; when too much is left to finish quickly, the next round
	 * tries again. */
	if (r < 0 || log < CHECKPOINT_RESTART_FRAMES || left > CHECKPOINT_LOCKED_FRAMES)
		return r;
	struct writer_lock *w = store->writer;
	if (writer_lock_timed(w, 1000) < 0)
		return 0;
	(void)batch_end(w, false);
	r = checkpoint_passive(store, &log, &left);
	pthread_mutex_unlock(&w->mutex);
	return r;
}

/* ---- requests ------------------------------------------------------------------------- */

static int
sqlite_store_request_insert(struct jit_store *base, const char *tenant_id,
                            struct jit_request *request)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_free_ char *metadata =
	        request->metadata ? json_dumps(request->metadata, JSON_COMPACT) : strdup("{}");
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;
	if (!metadata)
		return -ENOMEM;
	if ((r = stmt_get(store, ST_REQUEST_INSERT, &st)) < 0)
		return r;
	int rc = bind_text(st, 1, request->id);
	rc |= sqlite3_bind_int(st, 2, (int)request->state);
	rc |= bind_text(st, 3, request->requester_identity);
	rc |= bind_text(st, 4, request->provider);
	rc |= bind_text(st, 5, request->role);
	rc |= bind_text(st, 6, request->resource_scope);
	rc |= sqlite3_bind_int64(st, 7, request->duration_seconds);
	rc |= bind_text(st, 8, request->reason);
	rc |= sqlite3_bind_int(st, 9, request->break_glass ? 1 : 0);
	rc |= bind_text(st, 10, metadata);
	rc |= sqlite3_bind_int64(st, 11, request->created_at);
	rc |= sqlite3_bind_int64(st, 12, request->updated_at);
	rc |= sqlite3_bind_int64(st, 13, request->pending_expires_at);
	rc |= sqlite3_bind_int64(st, 14, request->issued_at);
	rc |= sqlite3_bind_int64(st, 15, request->expires_at);
	rc |= bind_text(st, 16, request->approver_tier);
	rc |= sqlite3_bind_int(st, 17, request->required_approvals);
	rc |= bind_text(st, 18, request->decided_by);
	rc |= bind_text(st, 19, request->decision_reason);
	rc |= sqlite3_bind_int(st, 20, request->revocation_pending ? 1 : 0);
	rc |= sqlite3_bind_int(st, 21, request->revoke_attempts);
	rc |= sqlite3_bind_int64(st, 22, request->revoke_next_attempt_at);
	rc |= bind_text(st, 23, request->host);
	rc |= bind_text(st, 24, tenant_id);
	if (rc != SQLITE_OK)
		return last_error(store);
	if ((r = step_done(st)) < 0)
		return r;
	request->version = 1; /* the column's default */
	return 0;
}

static int
sqlite_store_request_update(struct jit_store *base, const char *tenant_id,
                            struct jit_request *request)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;
	if ((r = stmt_get(store, ST_REQUEST_UPDATE, &st)) < 0)
		return r;
	int rc = bind_text(st, 1, request->id);
	rc |= sqlite3_bind_int(st, 2, (int)request->state);
	rc |= sqlite3_bind_int64(st, 3, request->updated_at);
	rc |= sqlite3_bind_int64(st, 4, request->pending_expires_at);
	rc |= sqlite3_bind_int64(st, 5, request->issued_at);
	rc |= sqlite3_bind_int64(st, 6, request->expires_at);
	rc |= bind_text(st, 7, request->approver_tier);
	rc |= sqlite3_bind_int(st, 8, request->required_approvals);
	rc |= bind_text(st, 9, request->decided_by);
	rc |= bind_text(st, 10, request->decision_reason);
	rc |= sqlite3_bind_int(st, 11, request->revocation_pending ? 1 : 0);
	rc |= bind_text(st, 16, tenant_id);
	rc |= sqlite3_bind_int(st, 12, request->revoke_attempts);
	rc |= sqlite3_bind_int64(st, 13, request->revoke_next_attempt_at);
	rc |= bind_text(st, 14, request->host);
	rc |= sqlite3_bind_int64(st, 15, (sqlite3_int64)request->version);
	if (rc != SQLITE_OK)
		return last_error(store);
	if ((r = step_done(st)) < 0)
		return r;
	if (sqlite3_changes(store->db) > 0) {
		request->version++;
		return 0;
	}
	/* Nothing matched: either the row is gone or someone changed it since it was read. */
	_cleanup_reset_ sqlite3_stmt *exists = NULL;
	if ((r = stmt_get(store, ST_REQUEST_EXISTS, &exists)) < 0)
		return r;
	if (bind_text(exists, 1, request->id) != SQLITE_OK ||
	    bind_text(exists, 2, tenant_id) != SQLITE_OK)
		return last_error(store);
	int rc2 = sqlite3_step(exists);
	if (rc2 == SQLITE_ROW)
		return JIT_ERR_CONFLICT;
	return rc2 == SQLITE_DONE ? JIT_ERR_NOT_FOUND : map_error(rc2);
}

/* Builds a request from a row of REQUEST_READ_COLUMNS, copying every string. */
static int
read_request(sqlite3_stmt *st, struct jit_request **ret)
{
	_cleanup_(jit_request_freep) struct jit_request *request = jit_request_new();
	int r;
	if (!request)
		return -ENOMEM;
	json_decref(TAKE_PTR(request->metadata));
	if ((r = column_copy(st, 0, request->id, sizeof(request->id))) < 0)
		return r;
	request->state = (enum jit_request_state)sqlite3_column_int(st, 1);
	request->duration_seconds = sqlite3_column_int64(st, 6);
	request->break_glass = sqlite3_column_int(st, 8) != 0;
	request->created_at = sqlite3_column_int64(st, 10);
	request->updated_at = sqlite3_column_int64(st, 11);
	request->pending_expires_at = sqlite3_column_int64(st, 12);
	request->issued_at = sqlite3_column_int64(st, 13);
	request->expires_at = sqlite3_column_int64(st, 14);
	request->required_approvals = sqlite3_column_int(st, 16);
	request->revocation_pending = sqlite3_column_int(st, 19) != 0;
	request->revoke_attempts = sqlite3_column_int(st, 20);
	request->revoke_next_attempt_at = sqlite3_column_int64(st, 21);
	request->version = (uint64_t)sqlite3_column_int64(st, REQUEST_COLUMN_VERSION);
	if ((r = column_strdup(st, 2, &request->requester_identity)) < 0 ||
	    (r = column_strdup(st, 3, &request->provider)) < 0 ||
	    (r = column_strdup(st, 4, &request->role)) < 0 ||
	    (r = column_strdup(st, 5, &request->resource_scope)) < 0 ||
	    (r = column_strdup(st, 7, &request->reason)) < 0 ||
	    (r = column_json_object(st, 9, &request->metadata)) < 0 ||
	    (r = column_strdup(st, 15, &request->approver_tier)) < 0 ||
	    (r = column_strdup(st, 17, &request->decided_by)) < 0 ||
	    (r = column_strdup(st, 18, &request->decision_reason)) < 0 ||
	    (r = column_strdup(st, 22, &request->host)) < 0)
		return r;
	*ret = TAKE_PTR(request);
	return 0;
}

/* Appends the approval in columns first..first+2 (approver, comment, approved_at) of `st`. */
static int
read_approval(sqlite3_stmt *st, int first, struct jit_request *request)
{
	if (request->approval_count >= MAX_APPROVALS_PER_REQUEST)
		return JIT_ERR_TOO_LARGE;
	struct jit_approval *grown =
	        reallocarray(request->approvals, request->approval_count + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	request->approvals = grown;
	struct jit_approval approval = { .approved_at = sqlite3_column_int64(st, first + 2) };
	int r;
	if ((r = column_strdup(st, first, &approval.approver_identity)) < 0 ||
	    (r = column_strdup(st, first + 1, &approval.comment)) < 0) {
		free(approval.approver_identity);
		return r;
	}
	request->approvals[request->approval_count++] = approval;
	return 0;
}

static int
sqlite_store_request_get(struct jit_store *base, const char *tenant_id, const char *id,
                         struct jit_request **ret_request)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;
	if ((r = stmt_get(store, ST_REQUEST_GET, &st)) < 0)
		return r;
	if (bind_text(st, 1, id) != SQLITE_OK || bind_text(st, 2, tenant_id) != SQLITE_OK)
		return last_error(store);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!request && (r = read_request(st, &request)) < 0)
			return r;
		if (sqlite3_column_type(st, REQUEST_COLUMN_COUNT) != SQLITE_NULL &&
		    (r = read_approval(st, REQUEST_COLUMN_COUNT, request)) < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return map_error(rc);
	if (!request)
		return JIT_ERR_NOT_FOUND;
	*ret_request = TAKE_PTR(request);
	return 0;
}

/* Inside the write transaction every other writer of the database already waits for the
 * writer lock (BEGIN IMMEDIATE on the one writer connection), so a plain read is a locked
 * read; the conditional update still checks the version. */
static int
sqlite_store_request_get_for_update(struct jit_store *base, const char *tenant_id, const char *id,
                                    struct jit_request **ret_request)
{
	if (!sqlite_of(base)->writing)
		return JIT_ERR_INTERNAL;
	return sqlite_store_request_get(base, tenant_id, id, ret_request);
}

static int
list_stmt(struct sqlite_store *store, unsigned variant, sqlite3_stmt **ret)
{
	if (!store->list_stmts[variant]) {
		char sql[1024];
		const char *joiner = " AND ";
		size_t n = (size_t)snprintf(sql, sizeof(sql),
		                            "SELECT %s FROM requests WHERE tenant_id = ?5",
		                            REQUEST_READ_COLUMNS);
		if (variant & LIST_FILTER_REQUESTER) {
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%srequester_identity = ?1",
			                      joiner);
			joiner = " AND ";
		}
		if (variant & LIST_FILTER_STATE) {
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%sstate = ?2", joiner);
			joiner = " AND ";
		}
		if (variant & LIST_FILTER_BEFORE)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%sid < ?3", joiner);
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, " ORDER BY id DESC LIMIT ?4");
		if (n >= sizeof(sql))
			return JIT_ERR_INTERNAL;
		int rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		                            &store->list_stmts[variant], NULL);
		if (rc != SQLITE_OK)
			return map_error(rc);
	}
	*ret = store->list_stmts[variant];
	return 0;
}

/* Position of `id` in `list`, which is sorted by id, newest (largest) first; -1 if absent. */
static ssize_t
find_descending(struct jit_request **list, size_t count, const char *id)
{
	size_t low = 0, high = count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		int c = strcmp(list[mid]->id, id);
		if (c == 0)
			return (ssize_t)mid;
		if (c > 0)
			low = mid + 1;
		else
			high = mid;
	}
	return -1;
}

/* Loads the approvals of every listed request with one query. */
static int
read_approvals_of_list(struct sqlite_store *store, const char *tenant_id, struct jit_request **list,
                       size_t count)
{
	_cleanup_(jit_json_decrefp) json_t *ids = json_array();
	_cleanup_free_ char *ids_text = NULL;
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		if (json_array_append_new(ids, json_string(list[i]->id)) < 0)
			return -ENOMEM;
	if (!(ids_text = json_dumps(ids, JSON_COMPACT)))
		return -ENOMEM;
	if ((r = stmt_get(store, ST_APPROVALS_OF_LIST, &st)) < 0)
		return r;
	if (bind_text(st, 1, ids_text) != SQLITE_OK || bind_text(st, 2, tenant_id) != SQLITE_OK)
		return last_error(store);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		ssize_t at = id ? find_descending(list, count, id) : -1;
		if (at >= 0 && (r = read_approval(st, 1, list[at])) < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : map_error(rc);
}

static int
sqlite_store_request_list(struct jit_store *base, const char *tenant_id,
                          const struct jit_request_filter *filter, struct jit_request ***ret_list,
                          size_t *ret_count)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	struct jit_request **list = NULL;
	size_t count = 0;
	unsigned variant = 0;
	bool opened = false;
	int r, rc;
	if (filter->limit < 1 || filter->limit > MAX_REQUEST_LIST)
		return JIT_ERR_INVALID;
	if (filter->requester_identity)
		variant |= LIST_FILTER_REQUESTER;
	if (filter->state != JIT_STATE_UNSPECIFIED)
		variant |= LIST_FILTER_STATE;
	if (filter->before_id)
		variant |= LIST_FILTER_BEFORE;
	if (!(list = calloc(filter->limit, sizeof(*list))))
		return -ENOMEM;
	if ((r = read_begin(store, &opened)) < 0)
		goto out;
	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		if ((r = list_stmt(store, variant, &st)) < 0)
			goto out;
		rc = bind_text(st, 1, filter->requester_identity);
		rc |= sqlite3_bind_int(st, 2, (int)filter->state);
		rc |= bind_text(st, 3, filter->before_id);
		rc |= sqlite3_bind_int64(st, 4, (sqlite3_int64)filter->limit);
		rc |= bind_text(st, 5, tenant_id);
		if (rc != SQLITE_OK) {
			r = last_error(store);
			goto out;
		}
		while (count < filter->limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			if ((r = read_request(st, &list[count])) < 0)
				goto out;
			count++;
		}
		if (count < filter->limit && rc != SQLITE_DONE) {
			r = map_error(rc);
			goto out;
		}
	}
	if (count > 0)
		r = read_approvals_of_list(store, tenant_id, list, count);
out:
	read_end(store, opened);
	if (r < 0) {
		jit_request_list_free(list, count);
		return r;
	}
	*ret_list = list;
	*ret_count = count;
	return 0;
}

static int
sqlite_store_approval_add(struct jit_store *base, const char *tenant_id, const char *request_id,
                          const struct jit_approval *approval)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;
	if ((r = stmt_get(store, ST_APPROVAL_ADD, &st)) < 0)
		return r;
	int rc = bind_text(st, 1, request_id);
	rc |= bind_text(st, 2, approval->approver_identity);
	rc |= bind_text(st, 3, approval->comment);
	rc |= sqlite3_bind_int64(st, 4, approval->approved_at);
	rc |= bind_text(st, 5, tenant_id);
	if (rc != SQLITE_OK)
		return last_error(store);
	return step_done(st);
}

static int
sqlite_store_next_deadline(struct jit_store *base, const char *tenant_id, int64_t *ret_at)
{
	struct sqlite_store *store = sqlite_of(base);
	/* The sweeper's view must include every change the workflow kicked it for. */
	if (!store->writing && batch_pending(store->writer))
		(void)batch_flush(store->writer, store->busy_timeout_ms);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;
	if ((r = stmt_get(store, ST_NEXT_DEADLINE, &st)) < 0)
		return r;
	if (bind_text(st, 1, tenant_id) != SQLITE_OK)
		return last_error(store);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return map_error(rc);
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		return JIT_ERR_NOT_FOUND;
	*ret_at = sqlite3_column_int64(st, 0);
	return 0;
}

/* One serving process per database (the server's lock file) and one sweeper in it: there is
 * no other claimer, so a claim is the due query itself, under the write lock when the caller
 * holds it, and the lease needs no record. */
static int
sqlite_store_claim_due(struct jit_store *base, const char *tenant_id, int64_t now, size_t limit,
                       int64_t lease_until, char ***ret_ids, size_t *ret_count)
{
	struct sqlite_store *store = sqlite_of(base);
	if (lease_until < now)
		return JIT_ERR_INVALID;
	/* The sweeper's view must include every change the workflow kicked it for. */
	if (!store->writing && batch_pending(store->writer))
		(void)batch_flush(store->writer, store->busy_timeout_ms);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char **ids = NULL;
	size_t count = 0;
	int r = 0, rc;
	if (limit < 1 || limit > MAX_DUE)
		return JIT_ERR_INVALID;
	if ((r = stmt_get(store, ST_DUE, &st)) < 0)
		return r;
	rc = sqlite3_bind_int64(st, 1, now);
	rc |= sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	rc |= bind_text(st, 3, tenant_id);
	if (rc != SQLITE_OK)
		return last_error(store);
	if (!(ids = calloc(limit, sizeof(*ids))))
		return -ENOMEM;
	while (count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = column_strdup(st, 0, &ids[count])) < 0)
			goto fail;
		if (!ids[count]) {
			r = JIT_ERR_INTERNAL;
			goto fail;
		}
		count++;
	}
	if (count < limit && rc != SQLITE_DONE) {
		r = map_error(rc);
		goto fail;
	}
	*ret_ids = ids;
	*ret_count = count;
	return 0;
fail:
	for (size_t i = 0; i < count; i++)
		free(ids[i]);
	free(ids);
	return r;
}

/* ---- credentials ---------------------------------------------------------------------- */

static int
sqlite_store_credentials_put(struct jit_store *base, const char *tenant_id, const char *request_id,
                             const uint8_t *sealed, size_t sealed_len)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;
	if (sealed_len > INT32_MAX)
		return JIT_ERR_TOO_LARGE;
	if ((r = stmt_get(store, ST_CREDENTIALS_PUT, &st)) < 0)
		return r;
	int rc = bind_text(st, 1, request_id);
	rc |= sqlite3_bind_blob(st, 2, sealed_len ? (const void *)sealed : "", (int)sealed_len,
	                        SQLITE_STATIC);
	rc |= bind_text(st, 3, tenant_id);
	if (rc != SQLITE_OK)
		return last_error(store);
	return step_done(st);
}

static int
sqlite_store_credentials_get(struct jit_store *base, const char *tenant_id, const char *request_id,
                             uint8_t **ret_sealed, size_t *ret_len)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;
	if ((r = stmt_get(store, ST_CREDENTIALS_GET, &st)) < 0)
		return r;
	if (bind_text(st, 1, request_id) != SQLITE_OK || bind_text(st, 2, tenant_id) != SQLITE_OK)
		return last_error(store);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return JIT_ERR_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return map_error(rc);
	const void *blob = sqlite3_column_blob(st, 0);
	int len = sqlite3_column_bytes(st, 0);
	if (len < 0 || (!blob && len > 0))
		return -ENOMEM;
	uint8_t *copy = malloc(len > 0 ? (size_t)len : 1);
	if (!copy)
		return -ENOMEM;
	if (len > 0)
		memcpy(copy, blob, (size_t)len);
	*ret_sealed = copy;
	*ret_len = (size_t)len;
	return 0;
}

static int
sqlite_store_credentials_delete(struct jit_store *base, const char *tenant_id,
                                const char *request_id)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	int r;
	/* Zeros first, so the bytes are gone from the page even if the page is reused before
	 * secure_delete would have cleared it. */
	{
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		if ((r = stmt_get(store, ST_CREDENTIALS_ZERO, &st)) < 0)
			return r;
		if (bind_text(st, 1, request_id) != SQLITE_OK ||
		    bind_text(st, 2, tenant_id) != SQLITE_OK)
			return last_error(store);
		if ((r = step_done(st)) < 0)
			return r;
	}
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	if ((r = stmt_get(store, ST_CREDENTIALS_DELETE, &st)) < 0)
		return r;
	if (bind_text(st, 1, request_id) != SQLITE_OK || bind_text(st, 2, tenant_id) != SQLITE_OK)
		return last_error(store);
	return step_done(st);
}

/* ---- policies ------------------------------------------------------------------------- */

static int
read_policy(sqlite3_stmt *st, struct jit_policy **ret)
{
	_cleanup_(jit_policy_freep) struct jit_policy *policy = jit_policy_new();
	int r;
	if (!policy)
		return -ENOMEM;
	if ((r = column_copy(st, 0, policy->id, sizeof(policy->id))) < 0 ||
	    (r = column_strdup(st, 1, &policy->name)) < 0 ||
	    (r = column_strdup(st, 3, &policy->rego)) < 0 ||
	    (r = column_strdup(st, 4, &policy->description)) < 0 ||
	    (r = column_strdup(st, 8, &policy->updated_by)) < 0)
		return r;
	policy->type = (enum jit_policy_type)sqlite3_column_int(st, 2);
	policy->enabled = sqlite3_column_int(st, 5) != 0;
	policy->created_at = sqlite3_column_int64(st, 6);
	policy->updated_at = sqlite3_column_int64(st, 7);
	*ret = TAKE_PTR(policy);
	return 0;
}

static int
sqlite_store_policy_list(struct jit_store *base, const char *tenant_id,
                         struct jit_policy ***ret_list, size_t *ret_count)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jit_policy **list = NULL;
	size_t count = 0, capacity = 0;
	int r = 0, rc;
	if ((r = stmt_get(store, ST_POLICY_LIST, &st)) < 0)
		return r;
	if (bind_text(st, 1, tenant_id) != SQLITE_OK)
		return last_error(store);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == capacity) {
			size_t grown_capacity = capacity ? capacity * 2 : 16;
			struct jit_policy **grown = NULL;
			if (count >= MAX_POLICIES) {
				r = JIT_ERR_TOO_LARGE;
				goto fail;
			}
			if (!(grown = reallocarray(list, grown_capacity, sizeof(*list)))) {
				r = -ENOMEM;
				goto fail;
			}
			list = grown;
			capacity = grown_capacity;
		}
		if ((r = read_policy(st, &list[count])) < 0)
			goto fail;
		count++;
	}
	if (rc != SQLITE_DONE) {
		r = map_error(rc);
		goto fail;
	}
	if (!list && !(list = calloc(1, sizeof(*list))))
		return -ENOMEM;
	*ret_list = list;
	*ret_count = count;
	return 0;
fail:
	jit_policy_list_free(list, count);
	return r;
}

static int
policy_get_by(struct sqlite_store *store, const char *tenant_id, enum stmt_id id, const char *key,
              struct jit_policy **ret)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;
	if ((r = stmt_get(store, id, &st)) < 0)
		return r;
	if (bind_text(st, 1, key) != SQLITE_OK || bind_text(st, 2, tenant_id) != SQLITE_OK)
		return last_error(store);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return JIT_ERR_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return map_error(rc);
	return read_policy(st, ret);
}

static int
sqlite_store_policy_get(struct jit_store *base, const char *tenant_id, const char *id,
                        struct jit_policy **ret)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	return policy_get_by(store, tenant_id, ST_POLICY_GET, id, ret);
}

static int
sqlite_store_policy_get_by_name(struct jit_store *base, const char *tenant_id, const char *name,
                                struct jit_policy **ret)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	return policy_get_by(store, tenant_id, ST_POLICY_GET_BY_NAME, name, ret);
}

static int
sqlite_store_policy_upsert(struct jit_store *base, const char *tenant_id, struct jit_policy *policy)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char id[sizeof(policy->id)];
	char stored_id[sizeof(policy->id)];
	int r, rc;
	if (policy->id[0]) {
		memcpy(id, policy->id, sizeof(id));
		id[sizeof(id) - 1] = '\0';
	} else if ((r = jit_policy_id_new(id, sizeof(id))) < 0) {
		return r;
	}
	int64_t created_at = policy->created_at   ? policy->created_at
	                     : policy->updated_at ? policy->updated_at
	                                          : jit_now_realtime_ns();
	if ((r = stmt_get(store, ST_POLICY_UPSERT, &st)) < 0)
		return r;
	rc = bind_text(st, 1, id);
	rc |= bind_text(st, 2, policy->name);
	rc |= sqlite3_bind_int(st, 3, (int)policy->type);
	rc |= bind_text(st, 4, policy->rego);
	rc |= bind_text(st, 5, policy->description);
	rc |= sqlite3_bind_int(st, 6, policy->enabled ? 1 : 0);
	rc |= sqlite3_bind_int64(st, 7, created_at);
	rc |= sqlite3_bind_int64(st, 8, policy->updated_at);
	rc |= bind_text(st, 9, policy->updated_by);
	rc |= bind_text(st, 10, tenant_id);
	if (rc != SQLITE_OK)
		return last_error(store);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? JIT_ERR_INTERNAL : map_error(rc);
	if ((r = column_copy(st, 0, stored_id, sizeof(stored_id))) < 0)
		return r;
	created_at = sqlite3_column_int64(st, 1);
	if ((r = step_done(st)) < 0)
		return r;
	memcpy(policy->id, stored_id, sizeof(policy->id));
	policy->created_at = created_at;
	return 0;
}

static int
sqlite_store_policy_delete(struct jit_store *base, const char *tenant_id, const char *id)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;
	if ((r = stmt_get(store, ST_POLICY_DELETE, &st)) < 0)
		return r;
	if (bind_text(st, 1, id) != SQLITE_OK || bind_text(st, 2, tenant_id) != SQLITE_OK)
		return last_error(store);
	if ((r = step_done(st)) < 0)
		return r;
	return sqlite3_changes(store->db) > 0 ? 0 : JIT_ERR_NOT_FOUND;
}

/* ---- audit ---------------------------------------------------------------------------- */

/* The chain's rules (which rule, sealing, verifying, re-keying) are server/store/audit_seal.h;
 * this backend only reads and writes the rows and the meta entries they are decided from. */
#define REKEY_BATCH 256

static void
stmt_finalizep(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}

/* A meta value on this connection (no batch flush, no snapshot handling: the caller's
 * transaction decides what is seen): 0 and a malloc'd copy in *ret_value, NULL when the entry
 * is absent (a value without one reads as ""). */
static int
meta_read(struct sqlite_store *store, const char *key, char **ret_value)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char *value = NULL;
	int r, rc;
	if ((r = stmt_get(store, ST_META_GET, &st)) < 0)
		return r;
	if (bind_text(st, 1, key) != SQLITE_OK)
		return last_error(store);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*ret_value = NULL;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return map_error(rc);
	if ((r = column_strdup(st, 0, &value)) < 0)
		return r;
	if (!value && !(value = strdup("")))
		return -ENOMEM;
	*ret_value = value;
	return 0;
}

static int
meta_write(struct sqlite_store *store, const char *key, const char *value)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;
	if ((r = stmt_get(store, ST_META_SET, &st)) < 0)
		return r;
	int rc = bind_text(st, 1, key);
	rc |= bind_text(st, 2, value);
	if (rc != SQLITE_OK)
		return last_error(store);
	return step_done(st);
}

/* The chain's two meta values on this connection (each NULL when absent; malloc'd), from
 * which audit_seal.h decides the rule. */
static int
audit_meta_read(struct sqlite_store *store, char **ret_chain_name, char **ret_key_id)
{
	_cleanup_free_ char *chain_name = NULL, *key_id = NULL;
	int r;
	if ((r = meta_read(store, JIT_AUDIT_META_CHAIN, &chain_name)) < 0 ||
	    (r = meta_read(store, JIT_AUDIT_META_KEY_ID, &key_id)) < 0)
		return r;
	*ret_chain_name = TAKE_PTR(chain_name);
	*ret_key_id = TAKE_PTR(key_id);
	return 0;
}

/* The chain's rule on this connection and whether `key` (may be NULL) is its key: as
 * jit_audit_seal_chain. */
static int
audit_chain_read(struct sqlite_store *store, const struct jit_secret *key,
                 enum jit_audit_chain *ret_chain, bool *ret_key_matches)
{
	_cleanup_free_ char *chain_name = NULL, *key_id = NULL;
	int r = audit_meta_read(store, &chain_name, &key_id);
	if (r < 0)
		return r;
	return jit_audit_seal_chain(chain_name, key_id, key, ret_chain, ret_key_matches);
}

static int
sqlite_store_audit_chain(struct jit_store *base, enum jit_audit_chain *ret_chain,
                         bool *ret_key_matches)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	return audit_chain_read(store, jit_audit_chain_key(), ret_chain, ret_key_matches);
}

/* Builds an event from a row of AUDIT_COLUMNS, copying every string. */
static int
read_event(sqlite3_stmt *st, struct jit_audit_event **ret)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = jit_audit_event_new();
	int r;
	if (!event)
		return -ENOMEM;
	json_decref(TAKE_PTR(event->details));
	event->id = sqlite3_column_int64(st, 0);
	event->timestamp = sqlite3_column_int64(st, 1);
	if ((r = column_strdup(st, 2, &event->actor_identity)) < 0 ||
	    (r = column_strdup(st, 3, &event->action)) < 0 ||
	    (r = column_strdup(st, 4, &event->request_id)) < 0 ||
	    (r = column_strdup(st, 5, &event->provider)) < 0 ||
	    (r = column_strdup(st, 6, &event->resource_scope)) < 0 ||
	    (r = column_strdup(st, 7, &event->outcome)) < 0 ||
	    (r = column_json_object(st, 8, &event->details)) < 0 ||
	    (r = column_copy(st, 9, event->prev_hash, sizeof(event->prev_hash))) < 0 ||
	    (r = column_copy(st, 10, event->hash, sizeof(event->hash))) < 0 ||
	    (r = column_copy(st, 11, event->tenant_id, sizeof(event->tenant_id))) < 0)
		return r;
	*ret = TAKE_PTR(event);
	return 0;
}

/* The hash of the newest event, "" when the log is empty. */
static int
audit_last_hash(struct sqlite_store *store, char *buf, size_t size)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;
	if ((r = stmt_get(store, ST_AUDIT_LAST, &st)) < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		buf[0] = '\0';
		return 0;
	}
	if (rc != SQLITE_ROW)
		return map_error(rc);
	return column_copy(st, 0, buf, size);
}

/* Seals `event` of the tenant after `prev_hash` the way this connection's appends seal (the
 * rule is read at the first append, and again after a re-key). */
static int
audit_seal(struct sqlite_store *store, const char *tenant_id, struct jit_audit_event *event,
           const char *prev_hash)
{
	const struct jit_secret *key = jit_audit_chain_key();
	if (store->audit_seal == JIT_AUDIT_SEAL_UNKNOWN) {
		enum jit_audit_chain chain = JIT_AUDIT_CHAIN_UNKEYED;
		bool matches = false;
		int r = audit_chain_read(store, key, &chain, &matches);
		if (r < 0)
			return r;
		store->audit_seal = jit_audit_seal_rule_for(chain, matches, key);
	}
	return jit_audit_seal_append(store->audit_seal, key, tenant_id, prev_hash, event);
}

static int
audit_insert(struct sqlite_store *store, const char *tenant_id, struct jit_audit_event *event,
             int64_t *ret_id)
{
	char prev_hash[sizeof(event->prev_hash)];
	int r;
	if ((r = audit_last_hash(store, prev_hash, sizeof(prev_hash))) < 0 ||
	    (r = audit_seal(store, tenant_id, event, prev_hash)) < 0)
		return r;
	_cleanup_free_ char *details =
	        event->details ? json_dumps(event->details, JSON_COMPACT) : strdup("{}");
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	if (!details)
		return -ENOMEM;
	if ((r = stmt_get(store, ST_AUDIT_INSERT, &st)) < 0)
		return r;
	int rc = sqlite3_bind_int64(st, 1, event->timestamp);
	rc |= bind_text(st, 2, event->actor_identity);
	rc |= bind_text(st, 3, event->action);
	rc |= bind_text(st, 4, event->request_id);
	rc |= bind_text(st, 5, event->provider);
	rc |= bind_text(st, 6, event->resource_scope);
	rc |= bind_text(st, 7, event->outcome);
	rc |= bind_text(st, 8, details);
	rc |= bind_text(st, 9, event->prev_hash);
	rc |= bind_text(st, 10, event->hash);
	rc |= bind_text(st, 11, event->tenant_id);
	if (rc != SQLITE_OK)
		return last_error(store);
	if ((r = step_done(st)) < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(store->db);
	return 0;
}

static int
sqlite_store_audit_append(struct jit_store *base, const char *tenant_id,
                          struct jit_audit_event *event)
{
	struct sqlite_store *store = sqlite_of(base);
	/* The chain needs the write lock between reading the last hash and inserting; a caller
	 * without a transaction gets one of its own. */
	bool own = !store->writing;
	int64_t id = 0;
	int r;
	if (own && (r = sqlite_store_begin(&store->base)) < 0)
		return r;
	r = audit_insert(use(store), tenant_id, event, &id);
	if (own) {
		if (r == 0)
			r = sqlite_store_commit(&store->base);
		if (r < 0)
			sqlite_store_rollback(&store->base);
	}
	if (r < 0)
		return r;
	event->id = id;
	return 0;
}

static int
audit_stmt(struct sqlite_store *store, unsigned variant, sqlite3_stmt **ret)
{
	if (!store->audit_stmts[variant]) {
		char sql[1024];
		size_t n = (size_t)snprintf(sql, sizeof(sql),
		                            "SELECT %s FROM audit_events WHERE tenant_id = ?8 "
		                            "AND id > ?6",
		                            AUDIT_COLUMNS);
		if (variant & AUDIT_FILTER_ACTOR)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND actor_identity = ?1");
		if (variant & AUDIT_FILTER_PROVIDER)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND provider = ?2");
		if (variant & AUDIT_FILTER_REQUEST)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND request_id = ?3");
		if (variant & AUDIT_FILTER_SINCE)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND timestamp >= ?4");
		if (variant & AUDIT_FILTER_UNTIL)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND timestamp <= ?5");
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, " ORDER BY id LIMIT ?7");
		if (n >= sizeof(sql))
			return JIT_ERR_INTERNAL;
		int rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		                            &store->audit_stmts[variant], NULL);
		if (rc != SQLITE_OK)
			return map_error(rc);
	}
	*ret = store->audit_stmts[variant];
	return 0;
}

static int
sqlite_store_audit_query(struct jit_store *base, const char *tenant_id,
                         const struct jit_audit_filter *filter, struct jit_audit_event ***ret_list,
                         size_t *ret_count)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct jit_audit_event **list = NULL;
	size_t count = 0;
	unsigned variant = 0;
	int r = 0, rc;
	if (filter->limit < 1 || filter->limit > MAX_AUDIT_QUERY)
		return JIT_ERR_INVALID;
	if (filter->actor_identity)
		variant |= AUDIT_FILTER_ACTOR;
	if (filter->provider)
		variant |= AUDIT_FILTER_PROVIDER;
	if (filter->request_id)
		variant |= AUDIT_FILTER_REQUEST;
	if (filter->since)
		variant |= AUDIT_FILTER_SINCE;
	if (filter->until)
		variant |= AUDIT_FILTER_UNTIL;
	if ((r = audit_stmt(store, variant, &st)) < 0)
		return r;
	rc = bind_text(st, 1, filter->actor_identity);
	rc |= bind_text(st, 2, filter->provider);
	rc |= bind_text(st, 3, filter->request_id);
	rc |= sqlite3_bind_int64(st, 4, filter->since);
	rc |= sqlite3_bind_int64(st, 5, filter->until);
	rc |= sqlite3_bind_int64(st, 6, filter->after_id);
	rc |= sqlite3_bind_int64(st, 7, (sqlite3_int64)filter->limit);
	rc |= bind_text(st, 8, tenant_id);
	if (rc != SQLITE_OK)
		return last_error(store);
	if (!(list = calloc(filter->limit, sizeof(*list))))
		return -ENOMEM;
	while (count < filter->limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = read_event(st, &list[count])) < 0)
			goto fail;
		count++;
	}
	if (count < filter->limit && rc != SQLITE_DONE) {
		r = map_error(rc);
		goto fail;
	}
	*ret_list = list;
	*ret_count = count;
	return 0;
fail:
	jit_audit_event_list_free(list, count);
	return r;
}

/* Feeds the row `st` is on (AUDIT_COLUMNS) to the verifier. As jit_audit_verifier_step. */
static int
verify_row(struct jit_audit_verifier *verifier, sqlite3_stmt *st, char *detail, size_t detail_size)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = NULL;
	/* A row that is not an event (JIT_ERR_INTERNAL) is the verifier's to judge. */
	int r = read_event(st, &event);
	if (r < 0 && r != JIT_ERR_INTERNAL)
		return r;
	const char *prev_hash = (const char *)sqlite3_column_text(st, 9);
	int prev_length = sqlite3_column_bytes(st, 9);
	const char *hash = (const char *)sqlite3_column_text(st, 10);
	int hash_length = sqlite3_column_bytes(st, 10);
	struct jit_audit_row row = {
		.id = sqlite3_column_int64(st, 0),
		.prev_hash = prev_length >= 0 ? prev_hash : NULL,
		.prev_hash_length = prev_length >= 0 ? (size_t)prev_length : 0,
		.hash = hash_length >= 0 ? hash : NULL,
		.hash_length = hash_length >= 0 ? (size_t)hash_length : 0,
		.event = event,
	};
	return jit_audit_verifier_step(verifier, &row, detail, detail_size);
}

/* The last id AUTOINCREMENT handed out; 0 when none. */
static int
audit_sequence(struct sqlite_store *store, int64_t *ret_seq)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r, rc;
	if ((r = stmt_get(store, ST_AUDIT_SEQUENCE, &st)) < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*ret_seq = 0;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return map_error(rc);
	*ret_seq = sqlite3_column_int64(st, 0);
	return 0;
}

/* Walks the chain on this connection (inside the caller's transaction, if any) by the rule
 * of `key` (NULL: unkeyed), feeding every row to a verifier. As jit_store_audit_verify. */
static int
audit_walk(struct sqlite_store *store, const struct jit_secret *key, int64_t *ret_bad_id,
           size_t *ret_count, char *detail, size_t detail_size)
{
	struct jit_audit_verifier verifier;
	int64_t seq = 0;
	int r = 0, rc;
	jit_audit_verifier_init(&verifier, key);
	{
		/* One row at a time: memory stays bounded however long the log is. */
		_cleanup_reset_ sqlite3_stmt *st = NULL;
		if ((r = stmt_get(store, ST_AUDIT_ALL, &st)) < 0)
			goto out;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if ((r = verify_row(&verifier, st, detail, detail_size)) < 0)
				goto out;
		if (rc != SQLITE_DONE) {
			r = map_error(rc);
			goto out;
		}
	}
	if ((r = audit_sequence(store, &seq)) < 0)
		goto out;
	r = jit_audit_verifier_finish(&verifier, seq, detail, detail_size);
out:
	if (r == JIT_ERR_DENIED)
		*ret_bad_id = verifier.bad_id;
	*ret_count = verifier.count;
	return r;
}

static int
sqlite_store_audit_verify(struct jit_store *base, int64_t *ret_bad_id, size_t *ret_count,
                          char *detail, size_t detail_size)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	const struct jit_secret *key = jit_audit_chain_key(), *walk_key = NULL;
	_cleanup_free_ char *chain_name = NULL, *key_id = NULL;
	bool opened = false;
	int r;
	*ret_count = 0;
	if ((r = read_begin(store, &opened)) < 0) {
		snprintf(detail, detail_size, "reading the audit log: %s", jit_strerror(r));
		return r;
	}
	if ((r = audit_meta_read(store, &chain_name, &key_id)) == 0 &&
	    (r = jit_audit_seal_verify_key(chain_name, key_id, key, &walk_key, ret_bad_id, detail,
	                                   detail_size)) == 0)
		r = audit_walk(store, walk_key, ret_bad_id, ret_count, detail, detail_size);
	read_end(store, opened);
	if (r < 0 && r != JIT_ERR_DENIED && detail_size > 0 && !detail[0])
		snprintf(detail, detail_size, "reading the audit log: %s", jit_strerror(r));
	return r;
}

/* One batch of re-keyed hashes, computed before any row of it is rewritten (a statement
 * never reads a table that is being changed under it). */
struct rekey_row {
	int64_t id;
	char prev_hash[65];
	char hash[65];
};

/* Computes the keyed hashes of up to REKEY_BATCH events after `after_id`, going on from where
 * `rekeyer` left off. */
static int
rekey_read_batch(struct sqlite_store *store, struct jit_audit_rekeyer *rekeyer, int64_t after_id,
                 struct rekey_row *rows, size_t *ret_n)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r, rc;
	rc = sqlite3_prepare_v2(store->db,
	                        "SELECT " AUDIT_COLUMNS " FROM audit_events WHERE id > ?1 "
	                        "ORDER BY id LIMIT ?2",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return map_error(rc);
	if (sqlite3_bind_int64(st, 1, after_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, REKEY_BATCH) != SQLITE_OK)
		return last_error(store);
	while (n < REKEY_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = NULL;
		if ((r = read_event(st, &event)) < 0 ||
		    (r = jit_audit_rekeyer_step(rekeyer, event)) < 0)
			return r;
		rows[n].id = event->id;
		memcpy(rows[n].prev_hash, event->prev_hash, sizeof(rows[n].prev_hash));
		memcpy(rows[n].hash, event->hash, sizeof(rows[n].hash));
		n++;
	}
	if (n < REKEY_BATCH && rc != SQLITE_DONE)
		return map_error(rc);
	*ret_n = n;
	return 0;
}

static int
sqlite_store_audit_rekey(struct jit_store *base, size_t *ret_count, int64_t *ret_bad_id,
                         char *detail, size_t detail_size)
{
	struct sqlite_store *store = sqlite_of(base);
	const struct jit_secret *key = jit_audit_chain_key();
	enum jit_audit_chain chain = JIT_AUDIT_CHAIN_UNKEYED;
	struct jit_audit_rekeyer rekeyer;
	char key_id[JIT_AUDIT_KEY_ID_SIZE];
	bool matches = false;
	size_t checked = 0, count = 0;
	int64_t after_id = 0;
	int r;
	if (!store->writing)
		return JIT_ERR_INTERNAL;
	/* Without a key it is refused before the database is read; the chain's rule, after. */
	if ((r = jit_audit_seal_rekey_allowed(JIT_AUDIT_CHAIN_UNKEYED, key)) < 0)
		return r;
	store = use(store);
	if ((r = audit_chain_read(store, key, &chain, &matches)) < 0 ||
	    (r = jit_audit_seal_rekey_allowed(chain, key)) < 0)
		return r;
	/* Never re-key what the old rule does not vouch for. */
	if ((r = audit_walk(store, NULL, ret_bad_id, &checked, detail, detail_size)) < 0)
		return r;
	_cleanup_free_ struct rekey_row *rows = calloc(REKEY_BATCH, sizeof(*rows));
	_cleanup_(stmt_finalizep) sqlite3_stmt *update = NULL;
	if (!rows)
		return -ENOMEM;
	int rc = sqlite3_prepare_v2(
	        store->db, "UPDATE audit_events SET prev_hash = ?1, hash = ?2 WHERE id = ?3", -1,
	        &update, NULL);
	if (rc != SQLITE_OK)
		return map_error(rc);
	jit_audit_rekeyer_init(&rekeyer, key);
	for (;;) {
		size_t n = 0;
		if ((r = rekey_read_batch(store, &rekeyer, after_id, rows, &n)) < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			sqlite3_reset(update);
			if (sqlite3_bind_text(update, 1, rows[i].prev_hash, -1, SQLITE_STATIC) !=
			            SQLITE_OK ||
			    sqlite3_bind_text(update, 2, rows[i].hash, -1, SQLITE_STATIC) !=
			            SQLITE_OK ||
			    sqlite3_bind_int64(update, 3, rows[i].id) != SQLITE_OK)
				return last_error(store);
			if ((r = step_done(update)) < 0)
				return r;
		}
		count += n;
		if (n < REKEY_BATCH)
			break;
		after_id = rows[n - 1].id;
	}
	if ((r = jit_audit_key_id(key, key_id)) < 0 ||
	    (r = meta_write(store, JIT_AUDIT_META_CHAIN, JIT_AUDIT_CHAIN_KEYED_NAME)) < 0 ||
	    (r = meta_write(store, JIT_AUDIT_META_KEY_ID, key_id)) < 0)
		return r;
	/* The next append reads the rule again, inside its own transaction. */
	store->audit_seal = JIT_AUDIT_SEAL_UNKNOWN;
	*ret_count = count;
	return 0;
}

static int
sqlite_store_audit_hash_at(struct jit_store *base, int64_t id, char hash[65])
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store->db, "SELECT hash FROM audit_events WHERE id = ?1", -1,
	                            &st, NULL);
	if (rc != SQLITE_OK)
		return map_error(rc);
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
		return last_error(store);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return JIT_ERR_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return map_error(rc);
	return column_copy(st, 0, hash, 65);
}

static int
sqlite_store_audit_head(struct jit_store *base, int64_t *ret_count, int64_t *ret_last_id,
                        char hash[65])
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	bool opened = false;
	int64_t first = 0, last = 0;
	int r, rc;
	if ((r = read_begin(store, &opened)) < 0)
		return r;
	{
		_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
		rc = sqlite3_prepare_v2(store->db,
		                        "SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM "
		                        "audit_events",
		                        -1, &st, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			first = sqlite3_column_int64(st, 0);
			last = sqlite3_column_int64(st, 1);
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_OK)
			r = map_error(rc);
	}
	hash[0] = '\0';
	if (r == 0 && last > 0)
		r = sqlite_store_audit_hash_at(&store->base, last, hash);
	read_end(store, opened);
	if (r < 0)
		return r;
	*ret_count = last > 0 ? last - first + 1 : 0;
	*ret_last_id = last;
	return 0;
}

/* ---- metadata ------------------------------------------------------------------------- */

static int
sqlite_store_meta_get(struct jit_store *base, const char *key, char **ret_value)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	char *value = NULL;
	int r, rc;
	if ((r = stmt_get(store, ST_META_GET, &st)) < 0)
		return r;
	if (bind_text(st, 1, key) != SQLITE_OK)
		return last_error(store);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return JIT_ERR_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return map_error(rc);
	if ((r = column_strdup(st, 0, &value)) < 0)
		return r;
	if (!value && !(value = strdup("")))
		return -ENOMEM;
	*ret_value = value;
	return 0;
}

static int
sqlite_store_meta_set(struct jit_store *base, const char *key, const char *value)
{
	struct sqlite_store *store = sqlite_of(base);
	store = use(store);
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int r;
	if ((r = stmt_get(store, ST_META_SET, &st)) < 0)
		return r;
	int rc = bind_text(st, 1, key);
	rc |= bind_text(st, 2, value);
	if (rc != SQLITE_OK)
		return last_error(store);
	return step_done(st);
}

/* ---- the backend ----------------------------------------------------------------------- */

static const struct jit_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sqlite_store_close,
	.ping = sqlite_store_ping,
	.begin = sqlite_store_begin,
	.commit = sqlite_store_commit,
	.rollback = sqlite_store_rollback,
	.read_session_begin = sqlite_store_read_session_begin,
	.read_session_end = sqlite_store_read_session_end,
	.defer_durability = sqlite_store_defer_durability,
	.unsynced_mark = sqlite_store_unsynced_mark,
	.make_durable = sqlite_store_make_durable,
	.upkeep = sqlite_store_upkeep,
	.request_insert = sqlite_store_request_insert,
	.request_update = sqlite_store_request_update,
	.request_get = sqlite_store_request_get,
	.request_get_for_update = sqlite_store_request_get_for_update,
	.request_list = sqlite_store_request_list,
	.approval_add = sqlite_store_approval_add,
	.next_deadline = sqlite_store_next_deadline,
	.claim_due = sqlite_store_claim_due,
	.credentials_put = sqlite_store_credentials_put,
	.credentials_get = sqlite_store_credentials_get,
	.credentials_delete = sqlite_store_credentials_delete,
	.policy_list = sqlite_store_policy_list,
	.policy_get = sqlite_store_policy_get,
	.policy_get_by_name = sqlite_store_policy_get_by_name,
	.policy_upsert = sqlite_store_policy_upsert,
	.policy_delete = sqlite_store_policy_delete,
	.audit_append = sqlite_store_audit_append,
	.audit_query = sqlite_store_audit_query,
	.audit_verify = sqlite_store_audit_verify,
	.audit_chain = sqlite_store_audit_chain,
	.audit_rekey = sqlite_store_audit_rekey,
	.audit_head = sqlite_store_audit_head,
	.audit_hash_at = sqlite_store_audit_hash_at,
	.meta_get = sqlite_store_meta_get,
	.meta_set = sqlite_store_meta_set,
};

int
jit_store_sqlite_open_path(const char *path, int busy_timeout_ms, unsigned flags,
                           struct jit_store **ret_store, char *error, size_t error_size)
{
	struct sqlite_store *store = NULL;
	int r = handle_open(path, busy_timeout_ms, &store, error, error_size);
	if (r < 0 || !store)
		return r < 0 ? r : JIT_ERR_INTERNAL;
	if (flags & JIT_STORE_BACKGROUND_UPKEEP)
		autocheckpoint_set(store, false);
	*ret_store = &store->base;
	return 0;
}

int
jit_store_sqlite_open(const struct jit_store_config *config, unsigned flags,
                      struct jit_store **ret_store, char *error, size_t error_size)
{
	return jit_store_sqlite_open_path(config->path, config->busy_timeout_ms, flags, ret_store,
	                                  error, error_size);
}
