/* The SQLite store: every operation against a database in a temporary directory, including
 * audit chain tampering done behind the store's back through a raw sqlite3 connection,
 * migrations on reopen, a newer schema refused, rollback, and busy handling. */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "lib/common/errors.h"
#include "lib/common/id.h"
#include "lib/common/timeutil.h"
#include "server/store/sqlite/sqlite.h"
#include "server/store/store.h"

#define T0 (1774022400LL * JIT_NSEC_PER_SEC) /* 2026-03-20T16:00:00Z */
#define T0_MS 1774022400000ULL
/* The migrations sqlite.c has (schema_migrations gets one row each). */
#define MIGRATIONS 3
#define TENANT JIT_DEFAULT_TENANT_ID /* the tenant of every test but the scoping ones */

struct fixture {
	char dir[64];
	char path[128];
	struct jit_store *store;
};

static int
open_store(const char *path, struct jit_store **ret)
{
	char error[256] = "";
	int r = jit_store_sqlite_open_path(path, 2000, 0, ret, error, sizeof(error));
	if (r < 0)
		print_error("open: %s\n", error);
	return r;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/jit-store-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/jitsudo.db", f->dir);
	assert_int_equal(open_store(f->path, &f->store), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	jit_store_close(f->store);
	DIR *dir = opendir(f->dir);
	struct dirent *entry;
	while (dir && (entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		unlinkat(dirfd(dir), entry->d_name, 0);
	}
	if (dir)
		closedir(dir);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs SQL on the database file through a connection of its own (behind the store's back). */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	char *message = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
	if (rc != SQLITE_OK)
		print_error("raw_exec: %s\n", message ? message : "?");
	sqlite3_free(message);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t value = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return value;
}

/* A PENDING request created at T0 + `ms` milliseconds (ids sort by that time). */
static struct jit_request *
make_request(uint64_t ms, const char *requester, enum jit_request_state state)
{
	struct jit_request *request = jit_request_new();
	assert_non_null(request);
	assert_int_equal(jit_id_new_at(T0_MS + ms, request->id, sizeof(request->id)), 0);
	request->state = state;
	request->requester_identity = strdup(requester);
	request->provider = strdup("aws");
	request->role = strdup("prod-infra-admin");
	request->resource_scope = strdup("123456789012");
	request->duration_seconds = 3600;
	request->reason = strdup("Investigating P1 ECS crash");
	request->created_at = request->updated_at = T0 + (int64_t)ms * 1000000;
	request->approver_tier = strdup("human");
	return request;
}

static void
insert(struct jit_store *store, struct jit_request *request)
{
	assert_int_equal(jit_store_request_insert(store, TENANT, request), 0);
}

/* ---- open, migrations ------------------------------------------------------------------ */

static void
test_open_ping_reopen(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	assert_int_equal(jit_store_ping(f->store), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), MIGRATIONS);
	assert_int_equal(raw_int(f->path, "SELECT max(version) FROM schema_migrations"),
	                 MIGRATIONS);
	assert_true(raw_int(f->path, "SELECT applied_at FROM schema_migrations") > T0);

	/* Data survives; reopening applies nothing twice (a second handle, then a fresh one). */
	_cleanup_(jit_request_freep) struct jit_request *request = make_request(1, "a@x", 1);
	insert(f->store, request);
	struct jit_store *second = NULL;
	assert_int_equal(open_store(f->path, &second), 0);
	jit_store_close(second);
	jit_store_close(f->store);
	f->store = NULL;
	assert_int_equal(open_store(f->path, &f->store), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), MIGRATIONS);
	_cleanup_(jit_request_freep) struct jit_request *loaded = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &loaded), 0);
}

static void
test_journal_mode_wal(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

struct opener {
	const char *path;
	int result;
};

static void *
open_in_thread(void *data)
{
	struct opener *opener = data;
	struct jit_store *store = NULL;
	char error[256] = "";
	opener->result =
	        jit_store_sqlite_open_path(opener->path, 5000, 0, &store, error, sizeof(error));
	if (opener->result == 0) {
		struct jit_request_filter filter = { .limit = 1 };
		struct jit_request **list = NULL;
		size_t count = 0;
		opener->result = jit_store_request_list(store, TENANT, &filter, &list, &count);
		jit_request_list_free(list, count);
	} else {
		print_error("open: %s\n", error);
	}
	jit_store_close(store);
	return NULL;
}

/* Worker threads open a fresh database at the same time: one migrates, the others wait. */
static void
test_concurrent_open(void **state)
{
	struct fixture *f = *state;
	char path[160];
	snprintf(path, sizeof(path), "%s/fresh.db", f->dir);
	struct opener openers[8];
	pthread_t threads[8];
	for (size_t i = 0; i < 8; i++) {
		openers[i] = (struct opener){ .path = path, .result = -1 };
		assert_int_equal(pthread_create(&threads[i], NULL, open_in_thread, &openers[i]), 0);
	}
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(openers[i].result, 0);
	}
	assert_int_equal(raw_int(path, "SELECT count(*) FROM schema_migrations"), MIGRATIONS);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	jit_store_close(f->store);
	f->store = NULL;
	raw_exec(f->path, "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
	struct jit_store *store = NULL;
	char error[256] = "";
	assert_int_equal(jit_store_sqlite_open_path(f->path, 100, 0, &store, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_null(store);
	assert_non_null(strstr(error, "newer"));
	assert_non_null(strstr(error, "99"));
}

static void
test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct jit_store *store = NULL;
	char error[256] = "", path[256];
	assert_int_equal(jit_store_sqlite_open_path("", 100, 0, &store, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	snprintf(path, sizeof(path), "%s/missing/dir/x.db", f->dir);
	assert_true(jit_store_sqlite_open_path(path, 100, 0, &store, error, sizeof(error)) < 0);
	assert_non_null(strstr(error, "missing/dir"));
	/* A file that is not a database. */
	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	char junk[4096];
	memset(junk, 'J', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	error[0] = '\0';
	assert_true(jit_store_sqlite_open_path(path, 100, 0, &store, error, sizeof(error)) < 0);
	assert_true(error[0] != '\0');
	assert_null(store);
}

/* ---- requests -------------------------------------------------------------------------- */

static void
assert_requests_equal(const struct jit_request *a, const struct jit_request *b)
{
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->state, b->state);
	assert_string_equal(a->requester_identity, b->requester_identity);
	assert_string_equal(a->provider, b->provider);
	assert_string_equal(a->role, b->role);
	assert_string_equal(a->resource_scope, b->resource_scope);
	assert_int_equal(a->duration_seconds, b->duration_seconds);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->break_glass, b->break_glass);
	assert_true(json_equal(a->metadata, b->metadata));
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
	assert_int_equal(a->pending_expires_at, b->pending_expires_at);
	assert_int_equal(a->issued_at, b->issued_at);
	assert_int_equal(a->expires_at, b->expires_at);
	if (a->approver_tier || b->approver_tier)
		assert_string_equal(a->approver_tier, b->approver_tier);
	assert_int_equal(a->required_approvals, b->required_approvals);
	if (a->decided_by || b->decided_by)
		assert_string_equal(a->decided_by, b->decided_by);
	if (a->decision_reason || b->decision_reason)
		assert_string_equal(a->decision_reason, b->decision_reason);
	assert_int_equal(a->revocation_pending, b->revocation_pending);
	assert_int_equal(a->revoke_attempts, b->revoke_attempts);
	assert_int_equal(a->revoke_next_attempt_at, b->revoke_next_attempt_at);
	if (a->host || b->host)
		assert_string_equal(a->host, b->host);
}

static void
test_request_roundtrip(void **state)
{
	struct fixture *f = *state;
	_cleanup_(jit_request_freep) struct jit_request *request =
	        make_request(5, "alice@example.com", JIT_STATE_PENDING);
	request->break_glass = true;
	json_object_set_new(request->metadata, "ticket", json_string("INC-1"));
	json_object_set_new(request->metadata, "unicode", json_string("d\xc3\xa9j\xc3\xa0 vu"));
	request->pending_expires_at = T0 + 900 * JIT_NSEC_PER_SEC;
	request->required_approvals = 2;
	request->host = strdup("bastion");
	insert(f->store, request);

	_cleanup_(jit_request_freep) struct jit_request *loaded = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &loaded), 0);
	assert_requests_equal(loaded, request);
	assert_null(loaded->decided_by);
	assert_int_equal(loaded->approval_count, 0);
	/* Copies, not pointers into SQLite's buffers. */
	assert_ptr_not_equal(loaded->reason, request->reason);

	assert_int_equal(jit_store_request_insert(f->store, TENANT, request), JIT_ERR_CONFLICT);
	struct jit_request *missing = NULL;
	assert_int_equal(
	        jit_store_request_get(f->store, TENANT, "req_00000000000000000000000000", &missing),
	        JIT_ERR_NOT_FOUND);
	assert_null(missing);

	/* Update rewrites the mutable columns only. */
	request->state = JIT_STATE_REVOKED;
	request->updated_at += 7;
	request->issued_at = T0 + 1;
	request->expires_at = T0 + 2;
	request->pending_expires_at = 0;
	free(request->approver_tier);
	request->approver_tier = strdup("auto");
	request->required_approvals = 1;
	request->decided_by = strdup("bob@example.com");
	request->decision_reason = strdup("done");
	request->revocation_pending = true;
	request->revoke_attempts = 4;
	request->revoke_next_attempt_at = T0 + 3;
	free(request->host);
	request->host = NULL;
	free(request->reason);
	request->reason = strdup("changed reason is not stored");
	assert_int_equal(jit_store_request_update(f->store, TENANT, request), 0);
	jit_request_free(loaded);
	loaded = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &loaded), 0);
	assert_string_equal(loaded->reason, "Investigating P1 ECS crash");
	free(request->reason);
	request->reason = strdup("Investigating P1 ECS crash");
	assert_requests_equal(loaded, request);
	assert_null(loaded->host);

	memcpy(request->id, "req_00000000000000000000000000", JIT_ID_LENGTH + 1);
	assert_int_equal(jit_store_request_update(f->store, TENANT, request), JIT_ERR_NOT_FOUND);
}

static void
test_request_states_roundtrip(void **state)
{
	struct fixture *f = *state;
	for (int s = JIT_STATE_PENDING; s <= JIT_STATE_REVOKED; s++) {
		_cleanup_(jit_request_freep) struct jit_request *request =
		        make_request((uint64_t)s, "a@x", (enum jit_request_state)s);
		insert(f->store, request);
		_cleanup_(jit_request_freep) struct jit_request *loaded = NULL;
		assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &loaded), 0);
		assert_int_equal(loaded->state, s);
	}
	/* An invalid state or a missing required field is refused, not stored. */
	_cleanup_(jit_request_freep) struct jit_request *bad = make_request(50, "a@x", 0);
	assert_int_equal(jit_store_request_insert(f->store, TENANT, bad), JIT_ERR_INVALID);
	bad->state = JIT_STATE_PENDING;
	free(bad->reason);
	bad->reason = NULL;
	assert_int_equal(jit_store_request_insert(f->store, TENANT, bad), JIT_ERR_INVALID);
}

static void
test_approvals(void **state)
{
	struct fixture *f = *state;
	_cleanup_(jit_request_freep) struct jit_request *request =
	        make_request(1, "alice@example.com", JIT_STATE_PENDING);
	insert(f->store, request);
	struct jit_approval second = { .approver_identity = "carol@example.com",
		                       .approved_at = T0 + 20 };
	struct jit_approval first = { .approver_identity = "bob@example.com",
		                      .comment = "looks fine",
		                      .approved_at = T0 + 10 };
	assert_int_equal(jit_store_approval_add(f->store, TENANT, request->id, &second), 0);
	assert_int_equal(jit_store_approval_add(f->store, TENANT, request->id, &first), 0);
	struct jit_approval again = { .approver_identity = "bob@example.com",
		                      .approved_at = T0 + 30 };
	assert_int_equal(jit_store_approval_add(f->store, TENANT, request->id, &again),
	                 JIT_ERR_CONFLICT);
	assert_int_equal(
	        jit_store_approval_add(f->store, TENANT, "req_00000000000000000000000000", &first),
	        JIT_ERR_NOT_FOUND);

	_cleanup_(jit_request_freep) struct jit_request *loaded = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &loaded), 0);
	assert_int_equal(loaded->approval_count, 2);
	assert_string_equal(loaded->approvals[0].approver_identity, "bob@example.com");
	assert_string_equal(loaded->approvals[0].comment, "looks fine");
	assert_int_equal(loaded->approvals[0].approved_at, T0 + 10);
	assert_string_equal(loaded->approvals[1].approver_identity, "carol@example.com");
	assert_null(loaded->approvals[1].comment);
	assert_int_equal(loaded->approvals[1].approved_at, T0 + 20);

	/* The same approver may approve another request. */
	_cleanup_(jit_request_freep) struct jit_request *other =
	        make_request(2, "alice@example.com", JIT_STATE_PENDING);
	insert(f->store, other);
	assert_int_equal(jit_store_approval_add(f->store, TENANT, other->id, &first), 0);
}

/* Ten requests at ms 1..10: even ones by alice, odd by bob; states cycle. */
static void
populate(struct jit_store *store, char ids[10][JIT_ID_LENGTH + 1])
{
	for (int i = 0; i < 10; i++) {
		_cleanup_(jit_request_freep) struct jit_request *request =
		        make_request((uint64_t)i + 1, i % 2 == 0 ? "alice@x" : "bob@x",
		                     i % 3 == 0 ? JIT_STATE_PENDING : JIT_STATE_ACTIVE);
		insert(store, request);
		memcpy(ids[i], request->id, JIT_ID_LENGTH + 1);
		for (int k = 0; k < i % 3; k++) {
			char approver[32];
			snprintf(approver, sizeof(approver), "approver%d@x", k);
			struct jit_approval approval = { .approver_identity = approver,
				                         .approved_at = T0 + k };
			assert_int_equal(
			        jit_store_approval_add(store, TENANT, request->id, &approval), 0);
		}
	}
}

static void
test_list_filters(void **state)
{
	struct fixture *f = *state;
	char ids[10][JIT_ID_LENGTH + 1];
	struct jit_request **list = NULL;
	size_t count = 99;
	populate(f->store, ids);

	struct jit_request_filter all = { .limit = 100 };
	assert_int_equal(jit_store_request_list(f->store, TENANT, &all, &list, &count), 0);
	assert_int_equal(count, 10);
	for (size_t i = 0; i < count; i++) {
		int index = 9 - (int)i; /* newest first */
		assert_string_equal(list[i]->id, ids[index]);
		assert_int_equal(list[i]->approval_count, (size_t)(index % 3));
		for (size_t k = 0; k < list[i]->approval_count; k++) {
			char approver[32];
			snprintf(approver, sizeof(approver), "approver%zu@x", k);
			assert_string_equal(list[i]->approvals[k].approver_identity, approver);
		}
	}
	jit_request_list_free(list, count);

	struct jit_request_filter mine = { .requester_identity = "alice@x", .limit = 100 };
	assert_int_equal(jit_store_request_list(f->store, TENANT, &mine, &list, &count), 0);
	assert_int_equal(count, 5);
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(list[i]->requester_identity, "alice@x");
		assert_string_equal(list[i]->id, ids[8 - 2 * i]);
	}
	jit_request_list_free(list, count);

	struct jit_request_filter pending = { .state = JIT_STATE_PENDING, .limit = 100 };
	assert_int_equal(jit_store_request_list(f->store, TENANT, &pending, &list, &count), 0);
	assert_int_equal(count, 4); /* 0, 3, 6, 9 */
	assert_string_equal(list[0]->id, ids[9]);
	assert_string_equal(list[3]->id, ids[0]);
	jit_request_list_free(list, count);

	struct jit_request_filter both = { .requester_identity = "alice@x",
		                           .state = JIT_STATE_PENDING,
		                           .limit = 100 };
	assert_int_equal(jit_store_request_list(f->store, TENANT, &both, &list, &count), 0);
	assert_int_equal(count, 2); /* 0, 6 */
	assert_string_equal(list[0]->id, ids[6]);
	assert_string_equal(list[1]->id, ids[0]);
	jit_request_list_free(list, count);

	/* Paging newest first with before_id and a limit. */
	struct jit_request_filter page = { .limit = 4 };
	char seen[10][JIT_ID_LENGTH + 1];
	size_t total = 0;
	char before[JIT_ID_LENGTH + 1] = "";
	for (;;) {
		page.before_id = before[0] ? before : NULL;
		assert_int_equal(jit_store_request_list(f->store, TENANT, &page, &list, &count), 0);
		assert_true(count <= 4);
		for (size_t i = 0; i < count; i++)
			memcpy(seen[total++], list[i]->id, JIT_ID_LENGTH + 1);
		if (count)
			memcpy(before, list[count - 1]->id, JIT_ID_LENGTH + 1);
		jit_request_list_free(list, count);
		if (count < 4)
			break;
	}
	assert_int_equal(total, 10);
	for (size_t i = 0; i < total; i++)
		assert_string_equal(seen[i], ids[9 - i]);

	struct jit_request_filter paged_mine = { .requester_identity = "bob@x",
		                                 .before_id = ids[5],
		                                 .limit = 1 };
	assert_int_equal(jit_store_request_list(f->store, TENANT, &paged_mine, &list, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(list[0]->id, ids[3]);
	jit_request_list_free(list, count);

	struct jit_request_filter nobody = { .requester_identity = "nobody", .limit = 10 };
	assert_int_equal(jit_store_request_list(f->store, TENANT, &nobody, &list, &count), 0);
	assert_int_equal(count, 0);
	jit_request_list_free(list, count);

	struct jit_request_filter bad = { .limit = 0 };
	assert_int_equal(jit_store_request_list(f->store, TENANT, &bad, &list, &count),
	                 JIT_ERR_INVALID);
	bad.limit = 1001;
	assert_int_equal(jit_store_request_list(f->store, TENANT, &bad, &list, &count),
	                 JIT_ERR_INVALID);
}

/* ---- deadlines ------------------------------------------------------------------------- */

static void
free_ids(char **ids, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(ids[i]);
	free(ids);
}

static void
test_deadlines(void **state)
{
	struct fixture *f = *state;
	int64_t at = 0;
	char **ids = NULL;
	size_t count = 0;
	assert_int_equal(jit_store_next_deadline(f->store, TENANT, &at), JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_claim_due(f->store, TENANT, T0 * 2, 10, T0 * 2, &ids, &count),
	                 0);
	assert_int_equal(count, 0);
	free_ids(ids, count);

	/* The three conditions, plus rows that must not count. */
	_cleanup_(jit_request_freep) struct jit_request *pending = make_request(1, "a@x", 1);
	pending->pending_expires_at = T0 + 100;
	_cleanup_(jit_request_freep) struct jit_request *active = make_request(2, "a@x", 4);
	active->expires_at = T0 + 50;
	_cleanup_(jit_request_freep) struct jit_request *approved = make_request(3, "a@x", 2);
	approved->expires_at = T0 + 200;
	_cleanup_(jit_request_freep) struct jit_request *revoking = make_request(4, "a@x", 6);
	revoking->expires_at = T0 + 10; /* REVOKED: its expiry no longer matters */
	revoking->revocation_pending = true;
	revoking->revoke_next_attempt_at = T0 + 70;
	_cleanup_(jit_request_freep) struct jit_request *rejected = make_request(5, "a@x", 3);
	rejected->pending_expires_at = T0 + 1;
	rejected->expires_at = T0 + 1;
	_cleanup_(jit_request_freep) struct jit_request *revoked_done = make_request(6, "a@x", 6);
	revoked_done->revoke_next_attempt_at = T0 + 2; /* not pending any more */
	_cleanup_(jit_request_freep) struct jit_request *pending_unset = make_request(7, "a@x", 1);
	insert(f->store, pending);
	insert(f->store, active);
	insert(f->store, approved);
	insert(f->store, revoking);
	insert(f->store, rejected);
	insert(f->store, revoked_done);
	insert(f->store, pending_unset);

	assert_int_equal(jit_store_next_deadline(f->store, TENANT, &at), 0);
	assert_int_equal(at, T0 + 50);

	assert_int_equal(jit_store_claim_due(f->store, TENANT, T0 + 49, 10, T0 + 49, &ids, &count),
	                 0);
	assert_int_equal(count, 0);
	free_ids(ids, count);

	/* At or before now; oldest deadline first. */
	assert_int_equal(jit_store_claim_due(f->store, TENANT, T0 + 70, 10, T0 + 70, &ids, &count),
	                 0);
	assert_int_equal(count, 2);
	assert_string_equal(ids[0], active->id);
	assert_string_equal(ids[1], revoking->id);
	free_ids(ids, count);

	assert_int_equal(
	        jit_store_claim_due(f->store, TENANT, T0 + 1000, 10, T0 + 1000, &ids, &count), 0);
	assert_int_equal(count, 4);
	assert_string_equal(ids[0], active->id);
	assert_string_equal(ids[1], revoking->id);
	assert_string_equal(ids[2], pending->id);
	assert_string_equal(ids[3], approved->id);
	free_ids(ids, count);

	assert_int_equal(
	        jit_store_claim_due(f->store, TENANT, T0 + 1000, 3, T0 + 1000, &ids, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(ids[2], pending->id);
	free_ids(ids, count);
	assert_int_equal(jit_store_claim_due(f->store, TENANT, T0, 0, T0, &ids, &count),
	                 JIT_ERR_INVALID);

	/* A request both expiring and pending revocation is listed once. */
	active->revocation_pending = true;
	active->revoke_next_attempt_at = T0 + 60;
	assert_int_equal(jit_store_request_update(f->store, TENANT, active), 0);
	assert_int_equal(
	        jit_store_claim_due(f->store, TENANT, T0 + 1000, 10, T0 + 1000, &ids, &count), 0);
	assert_int_equal(count, 4);
	assert_string_equal(ids[0], active->id);
	free_ids(ids, count);

	/* Resolving them moves the next deadline. */
	active->state = JIT_STATE_EXPIRED;
	active->revocation_pending = false;
	revoking->revocation_pending = false;
	assert_int_equal(jit_store_request_update(f->store, TENANT, active), 0);
	assert_int_equal(jit_store_request_update(f->store, TENANT, revoking), 0);
	assert_int_equal(jit_store_next_deadline(f->store, TENANT, &at), 0);
	assert_int_equal(at, T0 + 100);
	pending->state = JIT_STATE_EXPIRED;
	approved->state = JIT_STATE_REVOKED;
	assert_int_equal(jit_store_request_update(f->store, TENANT, pending), 0);
	assert_int_equal(jit_store_request_update(f->store, TENANT, approved), 0);
	assert_int_equal(jit_store_next_deadline(f->store, TENANT, &at), JIT_ERR_NOT_FOUND);
}

/* Claims are the due query (one sweeper per database): the same ids inside and outside a
 * write transaction; a lease that ends before now and limits out of range are refused. */
static void
test_claim_due(void **state)
{
	struct fixture *f = *state;
	char **ids = NULL;
	size_t count = 0;
	_cleanup_(jit_request_freep) struct jit_request *pending = make_request(1, "a@x", 1);
	pending->pending_expires_at = T0 + 100;
	_cleanup_(jit_request_freep) struct jit_request *active = make_request(2, "a@x", 4);
	active->expires_at = T0 + 50;
	_cleanup_(jit_request_freep) struct jit_request *later = make_request(3, "a@x", 2);
	later->expires_at = T0 + 5000;
	insert(f->store, pending);
	insert(f->store, active);
	insert(f->store, later);

	assert_int_equal(
	        jit_store_claim_due(f->store, TENANT, T0 + 200, 10, T0 + 300, &ids, &count), 0);
	assert_int_equal(count, 2);
	assert_string_equal(ids[0], active->id);
	assert_string_equal(ids[1], pending->id);
	free_ids(ids, count);

	assert_int_equal(jit_store_begin(f->store), 0);
	assert_int_equal(jit_store_claim_due(f->store, TENANT, T0 + 200, 1, T0 + 200, &ids, &count),
	                 0);
	assert_int_equal(count, 1);
	assert_string_equal(ids[0], active->id);
	free_ids(ids, count);
	/* Within the transaction the claimer sees its own change: the request is no longer due. */
	struct jit_request *locked = NULL;
	assert_int_equal(jit_store_request_get_for_update(f->store, TENANT, active->id, &locked),
	                 0);
	locked->state = JIT_STATE_EXPIRED;
	assert_int_equal(jit_store_request_update(f->store, TENANT, locked), 0);
	jit_request_free(locked);
	assert_int_equal(
	        jit_store_claim_due(f->store, TENANT, T0 + 200, 10, T0 + 300, &ids, &count), 0);
	assert_int_equal(count, 1);
	assert_string_equal(ids[0], pending->id);
	free_ids(ids, count);
	assert_int_equal(jit_store_commit(f->store), 0);

	ids = NULL;
	assert_int_equal(
	        jit_store_claim_due(f->store, TENANT, T0 + 200, 10, T0 + 199, &ids, &count),
	        JIT_ERR_INVALID);
	assert_int_equal(jit_store_claim_due(f->store, TENANT, T0 + 200, 0, T0 + 300, &ids, &count),
	                 JIT_ERR_INVALID);
	assert_int_equal(
	        jit_store_claim_due(f->store, TENANT, T0 + 200, 10001, T0 + 300, &ids, &count),
	        JIT_ERR_INVALID);
	assert_null(ids);
}

/* jit_store_open picks the backend by database.driver and knows only its own. */
static void
test_open_by_driver(void **state)
{
	struct fixture *f = *state;
	char path[160], error[256] = "";
	snprintf(path, sizeof(path), "%s/by-driver.db", f->dir);
	struct jit_store_config config = {
		.driver = "sqlite",
		.path = path,
		.busy_timeout_ms = 100,
	};
	struct jit_store *store = NULL;
	assert_int_equal(
	        jit_store_open(&config, JIT_STORE_BACKGROUND_UPKEEP, &store, error, sizeof(error)),
	        0);
	assert_int_equal(jit_store_ping(store), 0);
	assert_int_equal(jit_store_upkeep(store), 0);
	assert_int_equal(jit_store_unsynced_mark(store), 0);
	assert_int_equal(jit_store_make_durable(store, 0), 0);
	jit_store_close(store);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM schema_migrations"), MIGRATIONS);

	store = NULL;
	config.driver = "postgres";
	assert_int_equal(jit_store_open(&config, 0, &store, error, sizeof(error)), JIT_ERR_INVALID);
	assert_null(store);
	assert_non_null(strstr(error, "postgres"));
	jit_store_close(NULL);
}

/* ---- conditional updates --------------------------------------------------------------- */

/* An update writes only over the row its writer read: a copy read before another writer's
 * change is refused with JIT_ERR_CONFLICT and changes nothing. */
static void
test_conditional_update(void **state)
{
	struct fixture *f = *state;
	_cleanup_(jit_request_freep) struct jit_request *request = make_request(1, "a@x", 1);
	insert(f->store, request);
	assert_int_equal(request->version, 1);

	_cleanup_(jit_request_freep) struct jit_request *first = NULL;
	_cleanup_(jit_request_freep) struct jit_request *second = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &first), 0);
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &second), 0);
	assert_int_equal(first->version, 1);

	/* The first writer approves. */
	assert_int_equal(jit_store_begin(f->store), 0);
	first->state = JIT_STATE_APPROVED;
	assert_int_equal(jit_store_request_update(f->store, TENANT, first), 0);
	assert_int_equal(first->version, 2);
	assert_int_equal(jit_store_commit(f->store), 0);

	/* The second, holding the older copy, would reject: refused, the approval stays. */
	assert_int_equal(jit_store_begin(f->store), 0);
	second->state = JIT_STATE_REJECTED;
	assert_int_equal(jit_store_request_update(f->store, TENANT, second), JIT_ERR_CONFLICT);
	assert_int_equal(second->version, 1);
	jit_store_rollback(f->store);
	_cleanup_(jit_request_freep) struct jit_request *stored = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &stored), 0);
	assert_int_equal(stored->state, JIT_STATE_APPROVED);
	assert_int_equal(stored->version, 2);

	/* Read for update inside the transaction: the re-read copy applies. */
	assert_int_equal(jit_store_begin(f->store), 0);
	jit_request_free(second);
	second = NULL;
	assert_int_equal(jit_store_request_get_for_update(f->store, TENANT, request->id, &second),
	                 0);
	assert_int_equal(second->state, JIT_STATE_APPROVED);
	second->state = JIT_STATE_ACTIVE;
	assert_int_equal(jit_store_request_update(f->store, TENANT, second), 0);
	assert_int_equal(jit_store_commit(f->store), 0);
	assert_int_equal(raw_int(f->path, "SELECT version FROM requests"), 3);

	/* A change made behind the store's back counts as well. */
	raw_exec(f->path, "UPDATE requests SET version = version + 1");
	second->state = JIT_STATE_REVOKED;
	assert_int_equal(jit_store_request_update(f->store, TENANT, second), JIT_ERR_CONFLICT);
	assert_int_equal(raw_int(f->path, "SELECT state FROM requests"), JIT_STATE_ACTIVE);

	/* For update only inside a write transaction; an unknown id is not found. */
	struct jit_request *none = NULL;
	assert_int_equal(jit_store_request_get_for_update(f->store, TENANT, request->id, &none),
	                 JIT_ERR_INTERNAL);
	assert_int_equal(jit_store_begin(f->store), 0);
	assert_int_equal(jit_store_request_get_for_update(f->store, TENANT,
	                                                  "01ARZ3NDEKTSV4RRFFQ69G5FAV", &none),
	                 JIT_ERR_NOT_FOUND);
	jit_store_rollback(f->store);
	assert_null(none);
}

/* A database from before row versions gets the column at open, every row at version 1. */
/* The schema of a seed-000 database (migration 1 of sqlite.c, which never changes). */
static const char v1_schema[] =
        "CREATE TABLE requests (id TEXT PRIMARY KEY NOT NULL, state INTEGER NOT NULL CHECK"
        " (state BETWEEN 1 AND 6), requester_identity TEXT NOT NULL, provider TEXT NOT NULL,"
        " role TEXT NOT NULL, resource_scope TEXT NOT NULL, duration_seconds INTEGER NOT NULL,"
        " reason TEXT NOT NULL, break_glass INTEGER NOT NULL, metadata TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, pending_expires_at"
        " INTEGER NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
        " approver_tier TEXT, required_approvals INTEGER NOT NULL, decided_by TEXT,"
        " decision_reason TEXT, revocation_pending INTEGER NOT NULL, revoke_attempts INTEGER"
        " NOT NULL, revoke_next_attempt_at INTEGER NOT NULL, host TEXT);"
        "CREATE INDEX requests_by_state ON requests(state, id);"
        "CREATE INDEX requests_by_requester ON requests(requester_identity, id);"
        "CREATE INDEX requests_pending_deadline ON requests(pending_expires_at) WHERE state = 1;"
        "CREATE INDEX requests_grant_deadline ON requests(expires_at) WHERE state IN (2, 4);"
        "CREATE INDEX requests_revoke_deadline ON requests(revoke_next_attempt_at)"
        " WHERE revocation_pending = 1;"
        "CREATE TABLE approvals (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL REFERENCES"
        " requests(id), approver_identity TEXT NOT NULL, comment TEXT, approved_at INTEGER"
        " NOT NULL, UNIQUE (request_id, approver_identity));"
        "CREATE TABLE credentials (request_id TEXT PRIMARY KEY NOT NULL REFERENCES"
        " requests(id), sealed BLOB NOT NULL);"
        "CREATE TABLE policies (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL UNIQUE,"
        " type INTEGER NOT NULL CHECK (type IN (1, 2)), rego TEXT NOT NULL, description TEXT,"
        " enabled INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " updated_by TEXT);"
        "CREATE TABLE audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp INTEGER"
        " NOT NULL, actor_identity TEXT NOT NULL, action TEXT NOT NULL, request_id TEXT,"
        " provider TEXT, resource_scope TEXT, outcome TEXT NOT NULL, details TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
        "CREATE INDEX audit_by_request ON audit_events(request_id);"
        "CREATE INDEX audit_by_actor ON audit_events(actor_identity);"
        "CREATE INDEX audit_by_timestamp ON audit_events(timestamp);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL,"
        " applied_at INTEGER NOT NULL);"
        "INSERT INTO schema_migrations VALUES (1, 0);";

/* Replaces the fixture's database with a seed-000 one holding a request with id `id`
 * (PENDING, made at T0 + ms). */
static void
make_v1_database(struct fixture *f, uint64_t ms, char id[JIT_ID_LENGTH + 1])
{
	char sql[1024];
	jit_store_close(f->store);
	f->store = NULL;
	unlink(f->path);
	assert_int_equal(jit_id_new_at(T0_MS + ms, id, JIT_ID_LENGTH + 1), 0);
	raw_exec(f->path, v1_schema);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO requests VALUES ('%s', 1, 'a@x', 'aws', 'prod-infra-admin',"
	         " '123456789012', 3600, 'why', 0, '{}', %lld, %lld, %lld, 0, 0, 'human', 1,"
	         " NULL, NULL, 0, 0, 0, NULL)",
	         id, (long long)T0, (long long)T0, (long long)(T0 + 60 * JIT_NSEC_PER_SEC));
	raw_exec(f->path, sql);
}

static void
test_migration_adds_versions(void **state)
{
	struct fixture *f = *state;
	_cleanup_(jit_request_freep) struct jit_request *request = jit_request_new();
	assert_non_null(request);
	make_v1_database(f, 1, request->id);
	assert_int_equal(open_store(f->path, &f->store), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), MIGRATIONS);
	_cleanup_(jit_request_freep) struct jit_request *loaded = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &loaded), 0);
	assert_int_equal(loaded->version, 1);
	loaded->state = JIT_STATE_REJECTED;
	assert_int_equal(jit_store_request_update(f->store, TENANT, loaded), 0);
	assert_int_equal(loaded->version, 2);
}

/* ---- credentials ----------------------------------------------------------------------- */

/* Does the file contain `needle`? */
static bool
file_contains(const char *path, const uint8_t *needle, size_t len)
{
	FILE *file = fopen(path, "rbe");
	if (!file)
		return false;
	static uint8_t data[4 << 20];
	size_t n = fread(data, 1, sizeof(data), file);
	fclose(file);
	for (size_t i = 0; i + len <= n; i++)
		if (memcmp(data + i, needle, len) == 0)
			return true;
	return false;
}

static void
test_credentials(void **state)
{
	struct fixture *f = *state;
	_cleanup_(jit_request_freep) struct jit_request *request = make_request(1, "a@x", 4);
	insert(f->store, request);
	uint8_t sealed[200], other[50];
	for (size_t i = 0; i < sizeof(sealed); i++)
		sealed[i] = (uint8_t)(0xA5 ^ (i * 7));
	memset(other, 0x5A, sizeof(other));
	uint8_t *got = NULL;
	size_t len = 0;

	assert_int_equal(jit_store_credentials_get(f->store, TENANT, request->id, &got, &len),
	                 JIT_ERR_NOT_FOUND);
	assert_int_equal(
	        jit_store_credentials_put(f->store, TENANT, request->id, sealed, sizeof(sealed)),
	        0);
	assert_int_equal(jit_store_credentials_get(f->store, TENANT, request->id, &got, &len), 0);
	assert_int_equal(len, sizeof(sealed));
	assert_memory_equal(got, sealed, sizeof(sealed));
	free(got);
	/* put replaces */
	assert_int_equal(
	        jit_store_credentials_put(f->store, TENANT, request->id, other, sizeof(other)), 0);
	assert_int_equal(jit_store_credentials_get(f->store, TENANT, request->id, &got, &len), 0);
	assert_int_equal(len, sizeof(other));
	assert_memory_equal(got, other, sizeof(other));
	free(got);
	assert_int_equal(
	        jit_store_credentials_put(f->store, TENANT, request->id, sealed, sizeof(sealed)),
	        0);

	/* Credentials of an unknown request are refused. */
	assert_int_equal(jit_store_credentials_put(f->store, TENANT,
	                                           "req_00000000000000000000000000", sealed,
	                                           sizeof(sealed)),
	                 JIT_ERR_NOT_FOUND);

	/* The search below finds the bytes while they are stored. */
	char wal[160];
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_true(file_contains(f->path, sealed, sizeof(sealed)) ||
	            file_contains(wal, sealed, sizeof(sealed)));

	assert_int_equal(jit_store_credentials_delete(f->store, TENANT, request->id), 0);
	got = NULL;
	assert_int_equal(jit_store_credentials_get(f->store, TENANT, request->id, &got, &len),
	                 JIT_ERR_NOT_FOUND);
	assert_null(got);
	assert_int_equal(jit_store_credentials_delete(f->store, TENANT, request->id), 0);
	assert_int_equal(
	        jit_store_credentials_delete(f->store, TENANT, "req_00000000000000000000000000"),
	        0);

	/* Once checkpointed (closing the last connection does it), the sealed bytes are gone
	 * from the file: overwritten, then the freed page cleared. */
	jit_store_close(f->store);
	f->store = NULL;
	assert_false(file_contains(f->path, sealed, sizeof(sealed)));
	assert_false(file_contains(wal, sealed, sizeof(sealed)));
}

/* ---- policies -------------------------------------------------------------------------- */

static struct jit_policy *
make_policy(const char *name, enum jit_policy_type type, const char *rego, int64_t at)
{
	struct jit_policy *policy = jit_policy_new();
	assert_non_null(policy);
	policy->name = strdup(name);
	policy->type = type;
	policy->rego = strdup(rego);
	policy->description = strdup("first");
	policy->enabled = true;
	policy->updated_at = at;
	policy->updated_by = strdup("admin@x");
	return policy;
}

static void
test_policies(void **state)
{
	struct fixture *f = *state;
	struct jit_policy **list = NULL;
	size_t count = 99;
	assert_int_equal(jit_store_policy_list(f->store, TENANT, &list, &count), 0);
	assert_int_equal(count, 0);
	jit_policy_list_free(list, count);

	_cleanup_(jit_policy_freep) struct jit_policy *b =
	        make_policy("b-approval", JIT_POLICY_APPROVAL, "package jitsudo.approval\n", T0);
	assert_int_equal(jit_store_policy_upsert(f->store, TENANT, b), 0);
	assert_int_equal(strlen(b->id), JIT_POLICY_ID_LENGTH);
	assert_memory_equal(b->id, "pol_", 4);
	assert_int_equal(b->created_at, T0);
	char first_id[sizeof(b->id)];
	memcpy(first_id, b->id, sizeof(first_id));

	_cleanup_(jit_policy_freep) struct jit_policy *a = make_policy(
	        "a-eligibility", JIT_POLICY_ELIGIBILITY, "package jitsudo.eligibility\n", T0 + 5);
	assert_int_equal(jit_store_policy_upsert(f->store, TENANT, a), 0);
	assert_string_not_equal(a->id, b->id);

	/* Upsert by name: same id and created_at, everything else replaced. */
	_cleanup_(jit_policy_freep) struct jit_policy *b2 =
	        make_policy("b-approval", JIT_POLICY_ELIGIBILITY, "package x\n", T0 + 100);
	free(b2->description);
	b2->description = strdup("second");
	b2->enabled = false;
	free(b2->updated_by);
	b2->updated_by = strdup("other@x");
	assert_int_equal(jit_store_policy_upsert(f->store, TENANT, b2), 0);
	assert_string_equal(b2->id, first_id);
	assert_int_equal(b2->created_at, T0);

	_cleanup_(jit_policy_freep) struct jit_policy *got = NULL;
	assert_int_equal(jit_store_policy_get(f->store, TENANT, first_id, &got), 0);
	assert_string_equal(got->name, "b-approval");
	assert_int_equal(got->type, JIT_POLICY_ELIGIBILITY);
	assert_string_equal(got->rego, "package x\n");
	assert_string_equal(got->description, "second");
	assert_false(got->enabled);
	assert_int_equal(got->created_at, T0);
	assert_int_equal(got->updated_at, T0 + 100);
	assert_string_equal(got->updated_by, "other@x");

	_cleanup_(jit_policy_freep) struct jit_policy *by_name = NULL;
	assert_int_equal(jit_store_policy_get_by_name(f->store, TENANT, "a-eligibility", &by_name),
	                 0);
	assert_string_equal(by_name->id, a->id);
	assert_int_equal(by_name->type, JIT_POLICY_ELIGIBILITY);
	assert_true(by_name->enabled);
	assert_int_equal(by_name->created_at, T0 + 5);
	struct jit_policy *none = NULL;
	assert_int_equal(jit_store_policy_get_by_name(f->store, TENANT, "zzz", &none),
	                 JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_policy_get(f->store, TENANT, "pol_nope", &none),
	                 JIT_ERR_NOT_FOUND);
	assert_null(none);

	assert_int_equal(jit_store_policy_list(f->store, TENANT, &list, &count), 0);
	assert_int_equal(count, 2);
	assert_string_equal(list[0]->name, "a-eligibility");
	assert_string_equal(list[1]->name, "b-approval");
	jit_policy_list_free(list, count);

	/* A given id is kept for a new name; an id already used by another name conflicts. */
	_cleanup_(jit_policy_freep) struct jit_policy *c =
	        make_policy("c", JIT_POLICY_APPROVAL, "package c\n", T0 + 7);
	memcpy(c->id, "pol_01J8KZ4F2EMNQZ3V7XKQYBD4WX", 31);
	c->created_at = T0 + 1;
	assert_int_equal(jit_store_policy_upsert(f->store, TENANT, c), 0);
	assert_string_equal(c->id, "pol_01J8KZ4F2EMNQZ3V7XKQYBD4WX");
	assert_int_equal(c->created_at, T0 + 1);
	_cleanup_(jit_policy_freep) struct jit_policy *d =
	        make_policy("d", JIT_POLICY_APPROVAL, "package d\n", T0 + 8);
	memcpy(d->id, c->id, sizeof(d->id));
	assert_int_equal(jit_store_policy_upsert(f->store, TENANT, d), JIT_ERR_CONFLICT);
	assert_int_equal(d->created_at, 0); /* untouched on failure */

	assert_int_equal(jit_store_policy_delete(f->store, TENANT, a->id), 0);
	assert_int_equal(jit_store_policy_delete(f->store, TENANT, a->id), JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_policy_get(f->store, TENANT, a->id, &none), JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_policy_list(f->store, TENANT, &list, &count), 0);
	assert_int_equal(count, 2);
	jit_policy_list_free(list, count);
}

/* ---- audit ----------------------------------------------------------------------------- */

static void
append(struct jit_store *store, int64_t timestamp, const char *actor, const char *action,
       const char *request_id, const char *provider, int64_t *ret_id)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = jit_audit_event_new();
	assert_non_null(event);
	event->timestamp = timestamp;
	event->actor_identity = strdup(actor);
	event->action = strdup(action);
	event->request_id = jit_strdup_or_null(request_id);
	event->provider = jit_strdup_or_null(provider);
	event->resource_scope = provider ? strdup("123456789012") : NULL;
	event->outcome = strdup("success");
	json_object_set_new(event->details, "n", json_integer(timestamp - T0));
	json_object_set_new(event->details, "text", json_string("caf\xc3\xa9 \"quoted\" \\ /"));
	assert_int_equal(jit_store_begin(store), 0);
	assert_int_equal(jit_store_audit_append(store, TENANT, event), 0);
	assert_int_equal(jit_store_commit(store), 0);
	assert_true(event->id > 0);
	assert_int_equal(strlen(event->hash), 64);
	if (ret_id)
		*ret_id = event->id;
}

/* Eight events at T0 + 0..7 s: actors alternate, request ids in pairs, provider on even. */
static void
populate_audit(struct jit_store *store)
{
	for (int i = 0; i < 8; i++) {
		char request_id[16];
		snprintf(request_id, sizeof(request_id), "req_%d", i / 2);
		int64_t id = 0;
		append(store, T0 + i * JIT_NSEC_PER_SEC, i % 2 ? "bob@x" : "alice@x",
		       "request.created", i == 7 ? NULL : request_id, i % 2 ? NULL : "aws", &id);
		assert_int_equal(id, i + 1);
	}
}

static size_t
query_count(struct jit_store *store, const struct jit_audit_filter *filter, int64_t *ret_first)
{
	struct jit_audit_event **list = NULL;
	size_t count = 0;
	assert_int_equal(jit_store_audit_query(store, TENANT, filter, &list, &count), 0);
	for (size_t i = 1; i < count; i++)
		assert_true(list[i]->id > list[i - 1]->id);
	if (ret_first)
		*ret_first = count ? list[0]->id : 0;
	jit_audit_event_list_free(list, count);
	return count;
}

static void
test_audit_chain_and_query(void **state)
{
	struct fixture *f = *state;
	populate_audit(f->store);

	struct jit_audit_event **list = NULL;
	size_t count = 0;
	struct jit_audit_filter all = { .limit = 100 };
	assert_int_equal(jit_store_audit_query(f->store, TENANT, &all, &list, &count), 0);
	assert_int_equal(count, 8);
	assert_string_equal(list[0]->prev_hash, "");
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(list[i]->id, (int64_t)i + 1);
		if (i > 0)
			assert_string_equal(list[i]->prev_hash, list[i - 1]->hash);
		/* The stored hash is what sealing the loaded event gives. */
		char stored[65];
		memcpy(stored, list[i]->hash, sizeof(stored));
		assert_int_equal(jit_audit_event_seal(list[i], list[i]->prev_hash), 0);
		assert_string_equal(list[i]->hash, stored);
	}
	assert_string_equal(json_string_value(json_object_get(list[0]->details, "text")),
	                    "caf\xc3\xa9 \"quoted\" \\ /");
	assert_null(list[7]->request_id);
	assert_null(list[1]->provider);
	assert_string_equal(list[0]->resource_scope, "123456789012");
	jit_audit_event_list_free(list, count);

	int64_t first = 0;
	struct jit_audit_filter actor = { .actor_identity = "bob@x", .limit = 100 };
	assert_int_equal(query_count(f->store, &actor, &first), 4);
	assert_int_equal(first, 2);
	struct jit_audit_filter provider = { .provider = "aws", .limit = 100 };
	assert_int_equal(query_count(f->store, &provider, &first), 4);
	assert_int_equal(first, 1);
	struct jit_audit_filter request = { .request_id = "req_2", .limit = 100 };
	assert_int_equal(query_count(f->store, &request, &first), 2);
	assert_int_equal(first, 5);
	/* since and until are inclusive. */
	struct jit_audit_filter window = { .since = T0 + 2 * JIT_NSEC_PER_SEC,
		                           .until = T0 + 5 * JIT_NSEC_PER_SEC,
		                           .limit = 100 };
	assert_int_equal(query_count(f->store, &window, &first), 4);
	assert_int_equal(first, 3);
	struct jit_audit_filter since = { .since = T0 + 7 * JIT_NSEC_PER_SEC, .limit = 100 };
	assert_int_equal(query_count(f->store, &since, &first), 1);
	assert_int_equal(first, 8);
	struct jit_audit_filter until = { .until = T0, .limit = 100 };
	assert_int_equal(query_count(f->store, &until, &first), 1);
	assert_int_equal(first, 1);
	struct jit_audit_filter after = { .after_id = 6, .limit = 100 };
	assert_int_equal(query_count(f->store, &after, &first), 2);
	assert_int_equal(first, 7);
	struct jit_audit_filter limited = { .after_id = 2, .limit = 3 };
	assert_int_equal(query_count(f->store, &limited, &first), 3);
	assert_int_equal(first, 3);
	struct jit_audit_filter combined = { .actor_identity = "alice@x",
		                             .provider = "aws",
		                             .since = T0 + 1,
		                             .after_id = 3,
		                             .limit = 1 };
	assert_int_equal(query_count(f->store, &combined, &first), 1);
	assert_int_equal(first, 5);
	struct jit_audit_filter nothing = {
		.actor_identity = "alice@x", .request_id = "req_0", .provider = "gcp", .limit = 10
	};
	assert_int_equal(query_count(f->store, &nothing, NULL), 0);
	struct jit_audit_filter bad = { .limit = 0 };
	assert_int_equal(jit_store_audit_query(f->store, TENANT, &bad, &list, &count),
	                 JIT_ERR_INVALID);
	bad.limit = 10001;
	assert_int_equal(jit_store_audit_query(f->store, TENANT, &bad, &list, &count),
	                 JIT_ERR_INVALID);

	/* Outside a transaction the append makes one of its own and still chains. */
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *alone = jit_audit_event_new();
	alone->timestamp = T0 + 9;
	alone->actor_identity = strdup("system");
	alone->action = strdup("policy.reloaded");
	alone->outcome = strdup("success");
	assert_int_equal(jit_store_audit_append(f->store, TENANT, alone), 0);
	assert_int_equal(alone->id, 9);

	int64_t bad_id = -1;
	size_t checked = 0;
	char detail[256] = "";
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)), 0);
	assert_int_equal(checked, 9);
	assert_int_equal(bad_id, -1);
}

static void
test_audit_verify_empty(void **state)
{
	struct fixture *f = *state;
	int64_t bad_id = -1;
	size_t checked = 99;
	char detail[256] = "";
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)), 0);
	assert_int_equal(checked, 0);
}

/* Tampers with the log through a raw connection and expects verify to name `expected`. */
static void
expect_tampered(struct fixture *f, const char *sql, int64_t expected, const char *phrase)
{
	populate_audit(f->store);
	int64_t bad_id = 0;
	size_t checked = 0;
	char detail[256] = "";
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)), 0);
	raw_exec(f->path, sql);
	detail[0] = '\0';
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	if (bad_id != expected || !strstr(detail, phrase))
		print_error("verify named %lld: %s\n", (long long)bad_id, detail);
	assert_int_equal(bad_id, expected);
	assert_non_null(strstr(detail, phrase));
	assert_true(checked >= 1);
}

static void
test_audit_verify_updated_row(void **state)
{
	expect_tampered(*state, "UPDATE audit_events SET outcome = 'denied' WHERE id = 4", 4,
	                "altered");
}

static void
test_audit_verify_updated_details(void **state)
{
	expect_tampered(*state,
	                "UPDATE audit_events SET details = '{\"n\":0,\"text\":\"x\"}' WHERE id = 3",
	                3, "altered");
}

static void
test_audit_verify_updated_timestamp(void **state)
{
	expect_tampered(*state, "UPDATE audit_events SET timestamp = timestamp + 1 WHERE id = 6", 6,
	                "altered");
}

static void
test_audit_verify_unparseable_details(void **state)
{
	expect_tampered(*state, "UPDATE audit_events SET details = 'not json' WHERE id = 2", 2,
	                "altered");
}

static void
test_audit_verify_deleted_row(void **state)
{
	expect_tampered(*state, "DELETE FROM audit_events WHERE id = 4", 5, "removed");
}

static void
test_audit_verify_deleted_first_row(void **state)
{
	expect_tampered(*state, "DELETE FROM audit_events WHERE id = 1", 2, "removed");
}

static void
test_audit_verify_deleted_last_row(void **state)
{
	expect_tampered(*state, "DELETE FROM audit_events WHERE id = 8", 8, "removed");
}

static void
test_audit_verify_forged_row(void **state)
{
	/* Chains to the last hash and takes the next id, but its own hash is made up. */
	expect_tampered(
	        *state,
	        "INSERT INTO audit_events (id, tenant_id, timestamp, actor_identity, action, "
	        "outcome, details, prev_hash, hash) SELECT 9, tenant_id, timestamp + 1, "
	        "'mallory@x', 'request.approved', 'success', '{}', hash, "
	        "'0000000000000000000000000000000000000000000000000000000000000000' "
	        "FROM audit_events WHERE id = 8",
	        9, "altered");
}

static void
test_audit_verify_forged_row_bad_link(void **state)
{
	expect_tampered(
	        *state,
	        "INSERT INTO audit_events (id, tenant_id, timestamp, actor_identity, action, "
	        "outcome, details, prev_hash, hash) VALUES (9, 'default', 1, 'mallory@x', "
	        "'x', 'success', '{}', 'abc', 'def')",
	        9, "prev_hash");
}

static void
test_audit_verify_forged_row_far_id(void **state)
{
	expect_tampered(
	        *state,
	        "INSERT INTO audit_events (id, tenant_id, timestamp, actor_identity, action, "
	        "outcome, details, prev_hash, hash) SELECT 1000, tenant_id, timestamp, "
	        "actor_identity, action, outcome, details, hash, hash FROM audit_events "
	        "WHERE id = 8",
	        1000, "inserted");
}

static void
test_audit_verify_rehashed_row(void **state)
{
	/* A replaced hash no longer matches the row it is stored with. */
	expect_tampered(*state,
	                "UPDATE audit_events SET hash = "
	                "'1111111111111111111111111111111111111111111111111111111111111111' "
	                "WHERE id = 5",
	                5, "altered");
}

/* ---- tenants --------------------------------------------------------------------------- */

#define OTHER "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f"

/* A seed-000 database with an approval, credentials, a policy and a chain of three events
 * (the unkeyed rule, as the store seals without a key) comes out with every row in the
 * default tenant, the chain and its sequence intact, and foreign keys on again. */
static void
test_migration_tenants_from_v1(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], sql[1024], prev[65] = "";
	make_v1_database(f, 1, id);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO approvals (request_id, approver_identity, comment, approved_at)"
	         " VALUES ('%s', 'b@x', 'ok', 1);"
	         "INSERT INTO credentials VALUES ('%s', x'0102');"
	         "INSERT INTO policies VALUES ('pol_00000000000000000000000001', 'p', 1,"
	         " 'package p', NULL, 1, 1, 1, 'admin@x')",
	         id, id);
	raw_exec(f->path, sql);
	for (int i = 1; i <= 3; i++) {
		_cleanup_(jit_audit_event_freep) struct jit_audit_event *event =
		        jit_audit_event_new();
		assert_non_null(event);
		event->timestamp = T0 + i;
		event->actor_identity = strdup("a@x");
		event->action = strdup("request.created");
		event->request_id = strdup(id);
		event->outcome = strdup("success");
		assert_int_equal(jit_audit_event_seal(event, prev), 0);
		snprintf(sql, sizeof(sql),
		         "INSERT INTO audit_events (timestamp, actor_identity, action, request_id,"
		         " outcome, details, prev_hash, hash) VALUES (%lld, 'a@x', "
		         "'request.created',"
		         " '%s', 'success', '{}', '%s', '%s')",
		         (long long)event->timestamp, id, prev, event->hash);
		raw_exec(f->path, sql);
		memcpy(prev, event->hash, sizeof(prev));
	}
	assert_int_equal(open_store(f->path, &f->store), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_migrations"), MIGRATIONS);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM tenants WHERE id = 'default'"), 1);
	static const char *const tables[] = { "requests", "approvals", "credentials", "policies",
		                              "audit_events" };
	for (size_t i = 0; i < JIT_ARRAY_SIZE(tables); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE tenant_id = 'default'",
		         tables[i]);
		assert_int_equal(raw_int(f->path, sql), i == 4 ? 3 : 1);
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM pragma_table_info('%s')"
		         " WHERE name = 'tenant_id' AND \"notnull\" = 1",
		         tables[i]);
		assert_int_equal(raw_int(f->path, sql), 1);
	}
	assert_int_equal(raw_int(f->path, "SELECT seq FROM sqlite_sequence WHERE name = "
	                                  "'audit_events'"),
	                 3);
	_cleanup_(jit_request_freep) struct jit_request *loaded = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, id, &loaded), 0);
	assert_int_equal(loaded->version, 1);
	assert_int_equal(loaded->approval_count, 1);
	assert_string_equal(loaded->approvals[0].approver_identity, "b@x");
	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	assert_int_equal(jit_store_credentials_get(f->store, TENANT, id, &sealed, &sealed_len), 0);
	assert_int_equal(sealed_len, 2);
	_cleanup_(jit_policy_freep) struct jit_policy *policy = NULL;
	assert_int_equal(jit_store_policy_get_by_name(f->store, TENANT, "p", &policy), 0);
	int64_t bad_id = 0;
	size_t checked = 0;
	char detail[256] = "";
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)), 0);
	assert_int_equal(checked, 3);
	/* The old events kept their hashes: the default tenant is not part of the text. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit_events WHERE prev_hash = ''"),
	                 1);
	/* References are enforced again: an approval of no request is refused. */
	struct jit_approval approval = { .approver_identity = "c@x", .approved_at = 1 };
	assert_int_equal(jit_store_approval_add(f->store, TENANT, "req_00000000000000000000000000",
	                                        &approval),
	                 JIT_ERR_NOT_FOUND);
}

/* Rows of another tenant, written through the store, are never seen or changed by calls
 * in the default tenant, and the other way round; the tenant is checked before any SQL. */
static void
test_tenant_scoping(void **state)
{
	struct fixture *f = *state;
	raw_exec(f->path,
	         "INSERT INTO tenants (id, name, created_at) VALUES ('" OTHER "', 'o', 1)");
	_cleanup_(jit_request_freep) struct jit_request *mine = make_request(1, "a@x", 1);
	_cleanup_(jit_request_freep) struct jit_request *theirs = make_request(2, "a@x", 1);
	mine->pending_expires_at = theirs->pending_expires_at = T0 + 10;
	assert_int_equal(jit_store_request_insert(f->store, TENANT, mine), 0);
	assert_int_equal(jit_store_request_insert(f->store, OTHER, theirs), 0);
	/* The same id in another tenant is still the same id. */
	assert_int_equal(jit_store_request_insert(f->store, OTHER, mine), JIT_ERR_CONFLICT);

	/* get, list */
	_cleanup_(jit_request_freep) struct jit_request *got = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, theirs->id, &got),
	                 JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_request_get(f->store, OTHER, mine->id, &got), JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_request_get(f->store, OTHER, theirs->id, &got), 0);
	struct jit_request_filter filters[] = {
		{ .limit = 10 },
		{ .requester_identity = "a@x", .limit = 10 },
		{ .state = JIT_STATE_PENDING, .limit = 10 },
		{ .before_id = "req_ZZZZZZZZZZZZZZZZZZZZZZZZZZ", .limit = 10 },
	};
	for (size_t i = 0; i < JIT_ARRAY_SIZE(filters); i++) {
		struct jit_request **list = NULL;
		size_t count = 0;
		assert_int_equal(
		        jit_store_request_list(f->store, TENANT, &filters[i], &list, &count), 0);
		assert_int_equal(count, 1);
		assert_string_equal(list[0]->id, mine->id);
		jit_request_list_free(list, count);
	}

	/* update, approvals, credentials of the other tenant's request */
	assert_int_equal(jit_store_begin(f->store), 0);
	struct jit_request *update = got;
	update->state = JIT_STATE_REJECTED;
	assert_int_equal(jit_store_request_update(f->store, TENANT, update), JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_request_get_for_update(f->store, TENANT, theirs->id, &got),
	                 JIT_ERR_NOT_FOUND);
	struct jit_approval approval = { .approver_identity = "b@x", .approved_at = T0 };
	assert_int_equal(jit_store_approval_add(f->store, TENANT, theirs->id, &approval),
	                 JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_approval_add(f->store, OTHER, theirs->id, &approval), 0);
	const uint8_t blob[] = { 1, 2, 3 };
	assert_int_equal(jit_store_credentials_put(f->store, TENANT, theirs->id, blob, 3),
	                 JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_credentials_put(f->store, OTHER, theirs->id, blob, 3), 0);
	assert_int_equal(jit_store_credentials_delete(f->store, TENANT, theirs->id), 0);
	assert_int_equal(jit_store_commit(f->store), 0);
	_cleanup_free_ uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	assert_int_equal(
	        jit_store_credentials_get(f->store, TENANT, theirs->id, &sealed, &sealed_len),
	        JIT_ERR_NOT_FOUND);
	assert_int_equal(
	        jit_store_credentials_get(f->store, OTHER, theirs->id, &sealed, &sealed_len), 0);
	assert_int_equal(sealed_len, 3);
	assert_memory_equal(sealed, blob, 3); /* not even zeroed by the other tenant's delete */
	jit_request_free(got);
	got = NULL;
	assert_int_equal(jit_store_request_get(f->store, OTHER, theirs->id, &got), 0);
	assert_int_equal(got->state, JIT_STATE_PENDING);
	assert_int_equal(got->approval_count, 1);
	{
		/* Their approval is not listed with our requests either. */
		struct jit_request **list = NULL;
		size_t count = 0;
		struct jit_request_filter all = { .limit = 10 };
		assert_int_equal(jit_store_request_list(f->store, OTHER, &all, &list, &count), 0);
		assert_int_equal(count, 1);
		assert_int_equal(list[0]->approval_count, 1);
		jit_request_list_free(list, count);
		jit_request_free(got);
		got = NULL;
		assert_int_equal(jit_store_request_get(f->store, TENANT, mine->id, &got), 0);
		assert_int_equal(got->approval_count, 0);
	}

	/* deadlines */
	int64_t at = 0;
	char **ids = NULL;
	size_t n = 0;
	assert_int_equal(jit_store_next_deadline(f->store, TENANT, &at), 0);
	assert_int_equal(at, T0 + 10);
	assert_int_equal(jit_store_claim_due(f->store, TENANT, T0 + 20, 10, T0 + 20, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], mine->id);
	free(ids[0]);
	free(ids);
	assert_int_equal(jit_store_claim_due(f->store, OTHER, T0 + 20, 10, T0 + 30, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], theirs->id);
	free(ids[0]);
	free(ids);

	/* policies: names are per tenant */
	_cleanup_(jit_policy_freep) struct jit_policy *a = jit_policy_new();
	_cleanup_(jit_policy_freep) struct jit_policy *b = jit_policy_new();
	a->name = strdup("same");
	b->name = strdup("same");
	a->rego = strdup("package a");
	b->rego = strdup("package b");
	a->type = b->type = JIT_POLICY_ELIGIBILITY;
	a->updated_at = b->updated_at = T0;
	assert_int_equal(jit_store_policy_upsert(f->store, TENANT, a), 0);
	assert_int_equal(jit_store_policy_upsert(f->store, OTHER, b), 0);
	assert_string_not_equal(a->id, b->id);
	_cleanup_(jit_policy_freep) struct jit_policy *p = NULL;
	assert_int_equal(jit_store_policy_get(f->store, TENANT, b->id, &p), JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_policy_get_by_name(f->store, OTHER, "same", &p), 0);
	assert_string_equal(p->rego, "package b");
	/* An upsert naming the other tenant's policy id does not take it over. */
	_cleanup_(jit_policy_freep) struct jit_policy *steal = jit_policy_new();
	memcpy(steal->id, b->id, sizeof(steal->id));
	steal->name = strdup("stolen");
	steal->rego = strdup("package s");
	steal->type = JIT_POLICY_ELIGIBILITY;
	assert_int_equal(jit_store_policy_upsert(f->store, TENANT, steal), JIT_ERR_CONFLICT);
	assert_int_equal(jit_store_policy_delete(f->store, TENANT, b->id), JIT_ERR_NOT_FOUND);
	struct jit_policy **policies = NULL;
	size_t policy_count = 0;
	assert_int_equal(jit_store_policy_list(f->store, TENANT, &policies, &policy_count), 0);
	assert_int_equal(policy_count, 1);
	assert_string_equal(policies[0]->id, a->id);
	jit_policy_list_free(policies, policy_count);
	assert_int_equal(jit_store_policy_list(f->store, OTHER, &policies, &policy_count), 0);
	assert_int_equal(policy_count, 1);
	assert_string_equal(policies[0]->rego, "package b");
	jit_policy_list_free(policies, policy_count);

	/* audit: one chain, queried per tenant */
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = jit_audit_event_new();
	event->timestamp = T0;
	event->actor_identity = strdup("a@x");
	event->action = strdup("request.created");
	event->request_id = strdup(theirs->id);
	event->outcome = strdup("success");
	assert_int_equal(jit_store_audit_append(f->store, OTHER, event), 0);
	assert_string_equal(event->tenant_id, OTHER);
	append(f->store, T0 + 1, "a@x", "request.created", mine->id, "aws", NULL);
	struct jit_audit_filter audit_filters[] = {
		{ .limit = 10 },
		{ .actor_identity = "a@x", .limit = 10 },
		{ .request_id = theirs->id, .limit = 10 },
		{ .since = T0 - 1, .until = T0 + 5, .limit = 10 },
	};
	for (size_t i = 0; i < JIT_ARRAY_SIZE(audit_filters); i++) {
		struct jit_audit_event **events = NULL;
		size_t count = 0;
		assert_int_equal(
		        jit_store_audit_query(f->store, TENANT, &audit_filters[i], &events, &count),
		        0);
		assert_int_equal(count, i == 2 ? 0 : 1);
		for (size_t j = 0; j < count; j++) {
			assert_int_equal(events[j]->id, 2);
			assert_string_equal(events[j]->tenant_id, TENANT);
		}
		jit_audit_event_list_free(events, count);
	}
	int64_t bad_id = 0;
	size_t checked = 0;
	char detail[256] = "";
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)), 0);
	assert_int_equal(checked, 2);
	/* An event moved to another tenant no longer has its hash. */
	raw_exec(f->path, "UPDATE audit_events SET tenant_id = 'default' WHERE id = 1");
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 1);
	raw_exec(f->path, "UPDATE audit_events SET tenant_id = '" OTHER "' WHERE id = 1;"
	                  "UPDATE audit_events SET tenant_id = '" OTHER "' WHERE id = 2");
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 2);

	/* No tenant, an empty or over-long one: refused; an unknown one: nothing there, and no
	 * write. */
	char long_id[JIT_MAX_TENANT_ID + 2];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	const char *bad[] = { NULL, "", long_id };
	for (size_t i = 0; i < JIT_ARRAY_SIZE(bad); i++) {
		struct jit_request **list = NULL;
		size_t count = 0;
		assert_int_equal(jit_store_request_get(f->store, bad[i], mine->id, &got),
		                 JIT_ERR_INVALID);
		assert_int_equal(
		        jit_store_request_list(f->store, bad[i], &filters[0], &list, &count),
		        JIT_ERR_INVALID);
		assert_int_equal(jit_store_policy_list(f->store, bad[i], &policies, &policy_count),
		                 JIT_ERR_INVALID);
		assert_int_equal(jit_store_next_deadline(f->store, bad[i], &at), JIT_ERR_INVALID);
		assert_int_equal(jit_store_audit_append(f->store, bad[i], event), JIT_ERR_INVALID);
	}
	assert_int_equal(jit_store_request_get(f->store, "nobody", mine->id, &got),
	                 JIT_ERR_NOT_FOUND);
	_cleanup_(jit_request_freep) struct jit_request *stray = make_request(3, "a@x", 1);
	assert_int_equal(jit_store_request_insert(f->store, "nobody", stray), JIT_ERR_NOT_FOUND);
	assert_int_equal(jit_store_next_deadline(f->store, "nobody", &at), JIT_ERR_NOT_FOUND);
}

/* ---- transactions, metadata, busy ------------------------------------------------------ */

/* Group commit: several threads of one process committing through handles of their own, the
 * log synced by whichever commit gets there first, while another thread checkpoints. Every
 * commit succeeds, the chain is whole and SQLite finds the file sound. */
#define GROUP_THREADS 6
#define GROUP_COMMITS 150

struct group_arg {
	const char *path;
	int index;
	bool deferred; /* acknowledges after jit_store_make_durable, as the server's executors */
	int failures;
};

/* Each commit stores a request and an audit event. A deferred writer reads its request back
 * at once (its change may still sit in an open batch) and then waits for the sync. */
static void *
group_writer(void *p)
{
	struct group_arg *a = p;
	struct jit_store *store = NULL;
	char error[256];
	if (jit_store_sqlite_open_path(a->path, 5000, JIT_STORE_BACKGROUND_UPKEEP, &store, error,
	                               sizeof(error)) < 0) {
		a->failures++;
		return NULL;
	}
	jit_store_defer_durability(store, a->deferred);
	for (int i = 0; i < GROUP_COMMITS; i++) {
		struct jit_request *request = jit_request_new();
		struct jit_audit_event *event = jit_audit_event_new();
		event->timestamp = T0 + i;
		event->actor_identity = strdup("writer@x");
		event->action = strdup("test.write");
		event->outcome = strdup("success");
		request->state = JIT_STATE_PENDING;
		request->requester_identity = strdup("writer@x");
		request->provider = strdup("aws");
		request->role = strdup("r");
		request->resource_scope = strdup("123456789012");
		request->duration_seconds = 60;
		request->reason = strdup("group commit");
		request->created_at = request->updated_at = T0;
		if (jit_id_new_at(T0_MS + (uint64_t)(a->index * GROUP_COMMITS + i), request->id,
		                  sizeof(request->id)) < 0 ||
		    jit_store_begin(store) < 0 ||
		    jit_store_request_insert(store, TENANT, request) < 0 ||
		    jit_store_audit_append(store, TENANT, event) < 0 ||
		    jit_store_commit(store) < 0) {
			jit_store_rollback(store);
			a->failures++;
		} else {
			uint64_t seq = jit_store_unsynced_mark(store);
			struct jit_request *back = NULL;
			if (jit_store_request_get(store, TENANT, request->id, &back) < 0)
				a->failures++;
			jit_request_free(back);
			if (a->deferred && (seq == 0 || jit_store_unsynced_mark(store) != 0 ||
			                    jit_store_make_durable(store, seq) < 0))
				a->failures++;
			if (!a->deferred && seq != 0)
				a->failures++;
		}
		jit_request_free(request);
		jit_audit_event_free(event);
	}
	jit_store_close(store);
	return NULL;
}

static void *
group_checkpointer(void *p)
{
	struct group_arg *a = p;
	struct jit_store *store = NULL;
	char error[256];
	if (jit_store_sqlite_open_path(a->path, 5000, 0, &store, error, sizeof(error)) < 0) {
		a->failures++;
		return NULL;
	}
	for (int i = 0; i < 200; i++) {
		(void)jit_store_upkeep(store);
		usleep(1000);
	}
	jit_store_close(store);
	return NULL;
}

static void
test_group_commit_threads(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[GROUP_THREADS + 1];
	struct group_arg args[GROUP_THREADS + 1];
	for (int i = 0; i <= GROUP_THREADS; i++) {
		args[i] = (struct group_arg){ .path = f->path, .index = i, .deferred = i % 2 == 0 };
		assert_int_equal(
		        pthread_create(&threads[i], NULL,
		                       i == GROUP_THREADS ? group_checkpointer : group_writer,
		                       &args[i]),
		        0);
	}
	for (int i = 0; i <= GROUP_THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	int64_t bad = 0;
	size_t checked = 0;
	char detail[256] = "";
	assert_int_equal(jit_store_audit_verify(f->store, &bad, &checked, detail, sizeof(detail)),
	                 0);
	assert_int_equal(checked, GROUP_THREADS * GROUP_COMMITS);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM requests"),
	                 GROUP_THREADS * GROUP_COMMITS);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A reader that reuses its snapshot sees every change committed by the process at its next
 * read, and changes of other processes after jit_store_read_session_end. */
static void
test_snapshot_reuse(void **state)
{
	struct fixture *f = *state;
	struct jit_store *reader = NULL;
	assert_int_equal(open_store(f->path, &reader), 0);
	jit_store_read_session_begin(reader);
	_cleanup_(jit_request_freep) struct jit_request *request = make_request(1, "a@x", 1);
	insert(f->store, request);
	struct jit_request *got = NULL;
	assert_int_equal(jit_store_request_get(reader, TENANT, request->id, &got), 0);
	assert_int_equal(got->state, JIT_STATE_PENDING);
	jit_request_free(got);

	/* A commit of this process: seen at once. */
	request->state = JIT_STATE_REJECTED;
	assert_int_equal(jit_store_begin(f->store), 0);
	assert_int_equal(jit_store_request_update(f->store, TENANT, request), 0);
	assert_int_equal(jit_store_commit(f->store), 0);
	assert_int_equal(jit_store_request_get(reader, TENANT, request->id, &got), 0);
	assert_int_equal(got->state, JIT_STATE_REJECTED);
	jit_request_free(got);

	/* Another process's change: seen once the snapshot ends. */
	char sql[160];
	snprintf(sql, sizeof(sql), "UPDATE requests SET state = 5 WHERE id = '%s'", request->id);
	raw_exec(f->path, sql);
	assert_int_equal(jit_store_request_get(reader, TENANT, request->id, &got), 0);
	assert_int_equal(got->state, JIT_STATE_REJECTED);
	jit_request_free(got);
	jit_store_read_session_end(reader);
	assert_int_equal(jit_store_request_get(reader, TENANT, request->id, &got), 0);
	assert_int_equal(got->state, JIT_STATE_EXPIRED);
	jit_request_free(got);

	/* A write on a handle in a read session ends its snapshot first. */
	jit_store_read_session_begin(reader);
	assert_int_equal(jit_store_request_get(reader, TENANT, request->id, &got), 0);
	jit_request_free(got);
	request->state = JIT_STATE_REVOKED;
	assert_int_equal(jit_store_begin(reader), 0);
	assert_int_equal(jit_store_request_update(reader, TENANT, request), 0);
	assert_int_equal(jit_store_commit(reader), 0);
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &got), 0);
	assert_int_equal(got->state, JIT_STATE_REVOKED);
	jit_request_free(got);
	jit_store_close(reader);
}

static void
test_transactions(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(jit_store_commit(f->store), JIT_ERR_INTERNAL);
	jit_store_rollback(f->store); /* no transaction: harmless */
	jit_store_rollback(NULL);

	_cleanup_(jit_request_freep) struct jit_request *request = make_request(1, "a@x", 1);
	assert_int_equal(jit_store_begin(f->store), 0);
	assert_int_equal(jit_store_begin(f->store), JIT_ERR_INTERNAL); /* no nesting */
	insert(f->store, request);
	struct jit_approval approval = { .approver_identity = "b@x", .approved_at = T0 };
	assert_int_equal(jit_store_approval_add(f->store, TENANT, request->id, &approval), 0);
	uint8_t sealed[4] = { 1, 2, 3, 4 };
	assert_int_equal(jit_store_credentials_put(f->store, TENANT, request->id, sealed, 4), 0);
	assert_int_equal(jit_store_meta_set(f->store, "k", "v"), 0);
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *created = jit_audit_event_new();
	created->timestamp = T0;
	created->actor_identity = strdup("a@x");
	created->action = strdup("request.created");
	created->outcome = strdup("success");
	assert_int_equal(jit_store_audit_append(f->store, TENANT, created), 0);
	assert_int_equal(created->id, 1);
	assert_int_equal(jit_store_commit(f->store), 0);

	/* A second transaction that is rolled back leaves nothing behind. */
	_cleanup_(jit_request_freep) struct jit_request *second = make_request(2, "a@x", 1);
	assert_int_equal(jit_store_begin(f->store), 0);
	insert(f->store, second);
	assert_int_equal(jit_store_credentials_put(f->store, TENANT, second->id, sealed, 4), 0);
	assert_int_equal(jit_store_approval_add(f->store, TENANT, second->id, &approval), 0);
	assert_int_equal(jit_store_meta_set(f->store, "k", "changed"), 0);
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = jit_audit_event_new();
	event->timestamp = T0 + 1;
	event->actor_identity = strdup("a@x");
	event->action = strdup("request.created");
	event->outcome = strdup("success");
	assert_int_equal(jit_store_audit_append(f->store, TENANT, event), 0);
	assert_int_equal(event->id, 2);
	/* Reads inside the transaction see its changes. */
	_cleanup_(jit_request_freep) struct jit_request *inside = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, second->id, &inside), 0);
	jit_store_rollback(f->store);

	struct jit_request *gone = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, second->id, &gone),
	                 JIT_ERR_NOT_FOUND);
	uint8_t *got = NULL;
	size_t len = 0;
	assert_int_equal(jit_store_credentials_get(f->store, TENANT, second->id, &got, &len),
	                 JIT_ERR_NOT_FOUND);
	_cleanup_free_ char *value = NULL;
	assert_int_equal(jit_store_meta_get(f->store, "k", &value), 0);
	assert_string_equal(value, "v");
	struct jit_audit_filter all = { .limit = 10 };
	struct jit_audit_event **list = NULL;
	size_t count = 0;
	assert_int_equal(jit_store_audit_query(f->store, TENANT, &all, &list, &count), 0);
	assert_int_equal(count, 1);
	jit_audit_event_list_free(list, count);
	/* The id of the rolled-back event is used again, and the chain stays intact. */
	int64_t id = 0;
	append(f->store, T0 + 2, "a@x", "request.created", NULL, NULL, &id);
	assert_int_equal(id, 2);
	int64_t bad_id = 0;
	size_t checked = 0;
	char detail[256];
	assert_int_equal(
	        jit_store_audit_verify(f->store, &bad_id, &checked, detail, sizeof(detail)), 0);
	assert_int_equal(checked, 2);

	/* The committed first transaction is all there. */
	_cleanup_(jit_request_freep) struct jit_request *kept = NULL;
	assert_int_equal(jit_store_request_get(f->store, TENANT, request->id, &kept), 0);
	assert_int_equal(kept->approval_count, 1);
	assert_int_equal(jit_store_credentials_get(f->store, TENANT, request->id, &got, &len), 0);
	free(got);
}

static void
test_meta(void **state)
{
	struct fixture *f = *state;
	char *value = NULL;
	assert_int_equal(jit_store_meta_get(f->store, "default_policies_loaded", &value),
	                 JIT_ERR_NOT_FOUND);
	assert_null(value);
	assert_int_equal(jit_store_meta_set(f->store, "default_policies_loaded", "2026"), 0);
	assert_int_equal(jit_store_meta_get(f->store, "default_policies_loaded", &value), 0);
	assert_string_equal(value, "2026");
	free(value);
	assert_int_equal(jit_store_meta_set(f->store, "default_policies_loaded", ""), 0);
	assert_int_equal(jit_store_meta_get(f->store, "default_policies_loaded", &value), 0);
	assert_string_equal(value, "");
	free(value);
}

static void
test_busy(void **state)
{
	struct fixture *f = *state;
	struct jit_store *other = NULL;
	char error[256] = "";
	assert_int_equal(jit_store_sqlite_open_path(f->path, 50, 0, &other, error, sizeof(error)),
	                 0);
	assert_int_equal(jit_store_begin(f->store), 0);
	/* The write lock is taken at begin, so the other handle waits out its timeout. */
	int64_t started = jit_now_monotonic_ns();
	assert_int_equal(jit_store_begin(other), JIT_ERR_UNAVAILABLE);
	assert_true(jit_now_monotonic_ns() - started >= 40 * 1000000LL);
	assert_int_equal(jit_store_meta_set(other, "k", "v"), JIT_ERR_UNAVAILABLE);
	/* Readers are not blocked by a writer (WAL). */
	assert_int_equal(jit_store_ping(other), 0);
	char *value = NULL;
	assert_int_equal(jit_store_meta_get(other, "k", &value), JIT_ERR_NOT_FOUND);
	jit_store_rollback(f->store);
	assert_int_equal(jit_store_begin(other), 0);
	assert_int_equal(jit_store_meta_set(other, "k", "v"), 0);
	assert_int_equal(jit_store_commit(other), 0);
	assert_int_equal(jit_store_meta_get(f->store, "k", &value), 0);
	assert_string_equal(value, "v");
	free(value);
	jit_store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_ping_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_mode_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_states_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approvals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_tenants_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_scoping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_and_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_updated_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_updated_details, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_updated_timestamp, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_unparseable_details, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_deleted_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_deleted_first_row, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_deleted_last_row, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_forged_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_forged_row_bad_link, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_forged_row_far_id, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_audit_verify_rehashed_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_by_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conditional_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_adds_versions, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
