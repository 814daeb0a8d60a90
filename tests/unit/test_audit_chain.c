/* The keyed audit chain and its checkpoints: the HMAC seal against an independent HMAC of the
 * documented input, checkpoint lines (round trip, every kind of forgery), the checkpoint file
 * (append, newest line, a crash's unfinished line), and the store with a key: re-keying an
 * unkeyed chain, the rules that refuse mixing, and the checks against checkpoints. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <openssl/evp.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/audit/audit_chain.h"
#include "server/audit/audit_log.h"
#include "server/store/sqlite/sqlite.h"
#include "server/store/store.h"

#define TENANT JIT_DEFAULT_TENANT_ID

#define T0 (1774022400LL * JIT_NSEC_PER_SEC) /* 2026-03-20T16:00:00Z */

struct fixture {
	char dir[64];
	char db[128];
	char pem[128];
	char log[128];
	struct jit_secret *key;
	struct jit_checkpoint_key *checkpoint_key;
	struct jit_store *store;
};

static struct jit_secret *
test_key(unsigned char fill)
{
	unsigned char bytes[JIT_AUDIT_CHAIN_KEY_SIZE];
	struct jit_secret *key = NULL;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(fill + i);
	assert_int_equal(jit_secret_new(bytes, sizeof(bytes), &key), 0);
	return key;
}

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
	char error[256] = "";
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/jit-audit-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/jitsudo.db", f->dir);
	snprintf(f->pem, sizeof(f->pem), "%s/checkpoint.pem", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/audit-checkpoints", f->dir);
	assert_int_equal(jit_checkpoint_key_generate(f->pem), 0);
	assert_int_equal(jit_checkpoint_key_load(f->pem, &f->checkpoint_key, error, sizeof(error)),
	                 0);
	f->key = test_key(1);
	assert_int_equal(open_store(f->db, &f->store), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];
	jit_audit_chain_clear_key();
	jit_store_close(f->store);
	jit_checkpoint_key_free(f->checkpoint_key);
	jit_secret_free(f->key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *message = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
	if (rc != SQLITE_OK)
		print_error("raw_exec: %s\n", message ? message : "?");
	sqlite3_free(message);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}

static struct jit_audit_event *
sample_event(int n)
{
	struct jit_audit_event *event = jit_audit_event_new();
	assert_non_null(event);
	event->timestamp = T0 + n * JIT_NSEC_PER_SEC + 123;
	event->actor_identity = strdup("alice@example.com");
	event->action = strdup("request.created");
	event->outcome = strdup("success");
	json_object_set_new(event->details, "n", json_integer(n));
	return event;
}

static int
append(struct jit_store *store, int n)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = sample_event(n);
	return jit_store_audit_append(store, TENANT, event);
}

/* ---- the seal ----------------------------------------------------------------------------- */

static void
test_keyed_seal_is_hmac_of_the_documented_input(void **state)
{
	struct fixture *f = *state;
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = sample_event(1);
	_cleanup_secret_ struct jit_secret *other = test_key(7);
	const char *prev = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	assert_int_equal(jit_audit_event_seal_keyed(event, prev, f->key), 0);
	assert_string_equal(event->prev_hash, prev);

	/* HMAC-SHA256(key, prev_hash || canonical), computed here by OpenSSL's one-shot call. */
	_cleanup_free_ char *canonical = jit_audit_event_canonical(event);
	size_t prev_len = strlen(prev), canonical_len = strlen(canonical);
	_cleanup_free_ unsigned char *input = malloc(prev_len + canonical_len);
	unsigned char mac[32];
	size_t mac_len = 0;
	char hex[65];
	memcpy(input, prev, prev_len);
	memcpy(input + prev_len, canonical, canonical_len);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, f->key->bytes, f->key->length,
	                          input, prev_len + canonical_len, mac, sizeof(mac), &mac_len));
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	assert_string_equal(event->hash, hex);

	char keyed[65];
	memcpy(keyed, event->hash, sizeof(keyed));
	assert_int_equal(jit_audit_event_seal(event, prev), 0);
	assert_string_not_equal(event->hash, keyed);
	assert_int_equal(jit_audit_event_seal_keyed(event, prev, other), 0);
	assert_string_not_equal(event->hash, keyed);
	assert_int_equal(jit_audit_event_seal_keyed(event, prev, NULL), JIT_ERR_INVALID);
}

static void
test_key_id(void **state)
{
	struct fixture *f = *state;
	_cleanup_secret_ struct jit_secret *other = test_key(7);
	char a[JIT_AUDIT_KEY_ID_SIZE], b[JIT_AUDIT_KEY_ID_SIZE], c[JIT_AUDIT_KEY_ID_SIZE];
	assert_int_equal(jit_audit_key_id(f->key, a), 0);
	assert_int_equal(jit_audit_key_id(f->key, b), 0);
	assert_int_equal(jit_audit_key_id(other, c), 0);
	assert_int_equal(strlen(a), 32);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

static void
test_key_files(void **state)
{
	struct fixture *f = *state;
	char path[160], error[256] = "";
	struct jit_secret *key = NULL;
	snprintf(path, sizeof(path), "%s/audit.key", f->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->key->bytes, 31), 31);
	assert_int_equal(jit_audit_key_load(path, &key, error, sizeof(error)), JIT_ERR_INVALID);
	assert_non_null(strstr(error, "exactly 32 bytes"));
	assert_int_equal(write(fd, f->key->bytes + 31, 1), 1);
	close(fd);
	assert_int_equal(jit_audit_key_load(path, &key, error, sizeof(error)), 0);
	assert_true(jit_secret_equal(key, f->key->bytes, f->key->length));
	jit_secret_free(key);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(jit_audit_key_load(path, &key, error, sizeof(error)), JIT_ERR_DENIED);
	assert_int_equal(chmod(f->pem, 0644), 0);
	struct jit_checkpoint_key *ck = NULL;
	assert_int_equal(jit_checkpoint_key_load(f->pem, &ck, error, sizeof(error)),
	                 JIT_ERR_DENIED);
	/* An existing key is never replaced. */
	assert_int_equal(jit_checkpoint_key_generate(f->pem), -EEXIST);
}

/* ---- checkpoint lines ------------------------------------------------------------------- */

static struct jit_checkpoint
sample_checkpoint(void)
{
	struct jit_checkpoint cp = { .count = 12, .last_id = 12, .time_ns = T0 };
	memset(cp.head, 'a', 64);
	cp.head[64] = '\0';
	return cp;
}

static void
expect_parse(const struct jit_checkpoint_key *key, const char *line, int expected)
{
	struct jit_checkpoint cp;
	int r = jit_checkpoint_parse(key, line, strlen(line), &cp);
	if (r != expected)
		print_error("parse %s: %d\n", line, r);
	assert_int_equal(r, expected);
}

static void
test_checkpoint_lines(void **state)
{
	struct fixture *f = *state;
	struct jit_checkpoint cp = sample_checkpoint(), back;
	char line[JIT_CHECKPOINT_LINE_MAX], forged[JIT_CHECKPOINT_LINE_MAX + 20];
	assert_int_equal(jit_checkpoint_format(f->checkpoint_key, &cp, line, sizeof(line)), 0);
	const char *head = "jitsudo-audit-checkpoint/1 count=12 last_id=12 head=aaaaaaaaaa";
	assert_memory_equal(line, head, strlen(head));
	assert_non_null(strstr(line, " time=2026-03-20T16:00:00Z sig="));
	assert_int_equal(jit_checkpoint_parse(f->checkpoint_key, line, strlen(line), &back), 0);
	assert_int_equal(back.count, 12);
	assert_int_equal(back.last_id, 12);
	assert_int_equal(back.time_ns, T0);
	assert_string_equal(back.head, cp.head);

	/* Any changed field breaks the signature. */
	snprintf(forged, sizeof(forged), "%s", line);
	memcpy(strstr(forged, "count=12"), "count=13", 8);
	expect_parse(f->checkpoint_key, forged, JIT_ERR_DENIED);
	snprintf(forged, sizeof(forged), "%s", line);
	strstr(forged, "head=")[5] = 'b';
	expect_parse(f->checkpoint_key, forged, JIT_ERR_DENIED);
	snprintf(forged, sizeof(forged), "%s", line);
	memcpy(strstr(forged, "16:00:00Z"), "17", 2);
	expect_parse(f->checkpoint_key, forged, JIT_ERR_DENIED);

	/* Signed by another key. */
	char other_pem[200], error[256];
	struct jit_checkpoint_key *other = NULL;
	snprintf(other_pem, sizeof(other_pem), "%s/other.pem", f->dir);
	assert_int_equal(jit_checkpoint_key_generate(other_pem), 0);
	assert_int_equal(jit_checkpoint_key_load(other_pem, &other, error, sizeof(error)), 0);
	expect_parse(other, line, JIT_ERR_DENIED);
	jit_checkpoint_key_free(other);

	/* Other spellings of the same values, garbage, truncation. */
	snprintf(forged, sizeof(forged), "%s", line);
	memcpy(strstr(forged, "count=12"), "count=012", 9);
	expect_parse(f->checkpoint_key, forged, JIT_ERR_INVALID);
	snprintf(forged, sizeof(forged), "%s x", line);
	expect_parse(f->checkpoint_key, forged, JIT_ERR_INVALID);
	snprintf(forged, sizeof(forged), "%.*s", (int)strlen(line) - 3, line);
	expect_parse(f->checkpoint_key, forged, JIT_ERR_INVALID);
	expect_parse(f->checkpoint_key, "", JIT_ERR_INVALID);
	expect_parse(f->checkpoint_key, "jitsudo-audit-checkpoint/1 count=1", JIT_ERR_INVALID);
	cp.head[3] = 'G';
	assert_int_equal(jit_checkpoint_format(f->checkpoint_key, &cp, line, sizeof(line)),
	                 JIT_ERR_INVALID);
}

static void
test_checkpoint_file(void **state)
{
	struct fixture *f = *state;
	struct jit_checkpoint cp = sample_checkpoint(), last;
	char line[JIT_CHECKPOINT_LINE_MAX], error[256] = "";
	struct jit_checkpoint_log *log = NULL;
	assert_int_equal(
	        jit_checkpoint_read_last(f->log, f->checkpoint_key, &last, error, sizeof(error)),
	        JIT_ERR_NOT_FOUND);
	assert_int_equal(
	        jit_checkpoint_log_open(f->log, f->checkpoint_key, &log, error, sizeof(error)), 0);
	assert_int_equal(jit_checkpoint_log_append(log, &cp, line, sizeof(line)), 0);
	cp.count = cp.last_id = 20;
	assert_int_equal(jit_checkpoint_log_append(log, &cp, line, sizeof(line)), 0);
	jit_checkpoint_log_free(log);
	assert_int_equal(
	        jit_checkpoint_read_last(f->log, f->checkpoint_key, &last, error, sizeof(error)),
	        0);
	assert_int_equal(last.count, 20);

	/* A crash in the middle of a line: ignored when read, cut off when reopened. */
	FILE *file = fopen(f->log, "a");
	assert_non_null(file);
	fputs("jitsudo-audit-checkpoint/1 count=3", file);
	fclose(file);
	assert_int_equal(
	        jit_checkpoint_read_last(f->log, f->checkpoint_key, &last, error, sizeof(error)),
	        0);
	assert_int_equal(last.count, 20);
	assert_int_equal(
	        jit_checkpoint_log_open(f->log, f->checkpoint_key, &log, error, sizeof(error)), 0);
	cp.count = cp.last_id = 21;
	assert_int_equal(jit_checkpoint_log_append(log, &cp, line, sizeof(line)), 0);
	jit_checkpoint_log_free(log);
	assert_int_equal(
	        jit_checkpoint_read_last(f->log, f->checkpoint_key, &last, error, sizeof(error)),
	        0);
	assert_int_equal(last.count, 21);
	struct stat st;
	assert_int_equal(stat(f->log, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	/* A forged last line is reported, not skipped. */
	file = fopen(f->log, "a");
	fputs("jitsudo-audit-checkpoint/1 count=1 last_id=1\n", file);
	fclose(file);
	assert_int_equal(
	        jit_checkpoint_read_last(f->log, f->checkpoint_key, &last, error, sizeof(error)),
	        JIT_ERR_INVALID);
}

/* ---- the store with a key --------------------------------------------------------------- */

static void
test_rekey_and_append(void **state)
{
	struct fixture *f = *state;
	enum jit_audit_chain chain;
	bool matches = false;
	size_t count = 0;
	int64_t bad = 0;
	char detail[512] = "";
	/* Without a key: the old rule, as before. */
	for (int i = 1; i <= 300; i++)
		assert_int_equal(append(f->store, i), 0);
	assert_int_equal(jit_store_audit_chain(f->store, &chain, &matches), 0);
	assert_int_equal(chain, JIT_AUDIT_CHAIN_UNKEYED);

	/* A key and an unkeyed chain: appending is refused until the chain is re-keyed (a fresh
	 * handle: the writer reads the rule once per connection). */
	jit_store_close(f->store);
	assert_int_equal(jit_audit_chain_set_key(f->key), 0);
	assert_int_equal(open_store(f->db, &f->store), 0);
	assert_int_equal(append(f->store, 301), JIT_ERR_DENIED);
	assert_int_equal(jit_store_audit_rekey(f->store, &count, &bad, detail, sizeof(detail)),
	                 JIT_ERR_INTERNAL); /* outside a transaction */
	assert_int_equal(jit_store_begin(f->store), 0);
	int64_t started = jit_now_monotonic_ns();
	assert_int_equal(jit_store_audit_rekey(f->store, &count, &bad, detail, sizeof(detail)), 0);
	print_message("re-keyed %zu events in %lld us\n", count,
	              (long long)((jit_now_monotonic_ns() - started) / 1000));
	assert_int_equal(count, 300); /* more than one batch */
	assert_int_equal(append(f->store, 301), 0);
	assert_int_equal(jit_store_commit(f->store), 0);
	assert_int_equal(jit_store_audit_chain(f->store, &chain, &matches), 0);
	assert_int_equal(chain, JIT_AUDIT_CHAIN_KEYED);
	assert_true(matches);
	size_t checked = 0;
	assert_int_equal(jit_store_audit_verify(f->store, &bad, &checked, detail, sizeof(detail)),
	                 0);
	assert_int_equal(checked, 301);
	assert_int_equal(jit_store_begin(f->store), 0);
	assert_int_equal(jit_store_audit_rekey(f->store, &count, &bad, detail, sizeof(detail)),
	                 JIT_ERR_CONFLICT);
	jit_store_rollback(f->store);

	/* Another key: verify refuses to judge; appends are refused. */
	_cleanup_secret_ struct jit_secret *other = test_key(9);
	jit_store_close(f->store);
	assert_int_equal(jit_audit_chain_set_key(other), 0);
	assert_int_equal(open_store(f->db, &f->store), 0);
	assert_int_equal(jit_store_audit_chain(f->store, &chain, &matches), 0);
	assert_false(matches);
	assert_int_equal(jit_store_audit_verify(f->store, &bad, &checked, detail, sizeof(detail)),
	                 JIT_ERR_UNAUTHENTICATED);
	assert_int_equal(append(f->store, 302), JIT_ERR_DENIED);
	/* No key at all: the same. */
	jit_store_close(f->store);
	jit_audit_chain_clear_key();
	assert_int_equal(open_store(f->db, &f->store), 0);
	assert_int_equal(append(f->store, 302), JIT_ERR_DENIED);
}

static void
test_rekey_refuses_a_broken_chain(void **state)
{
	struct fixture *f = *state;
	size_t count = 0;
	int64_t bad = 0;
	char detail[512] = "";
	for (int i = 1; i <= 5; i++)
		assert_int_equal(append(f->store, i), 0);
	raw_exec(f->db, "UPDATE audit_events SET outcome = 'denied' WHERE id = 3");
	jit_store_close(f->store);
	assert_int_equal(jit_audit_chain_set_key(f->key), 0);
	assert_int_equal(open_store(f->db, &f->store), 0);
	assert_int_equal(jit_store_begin(f->store), 0);
	assert_int_equal(jit_store_audit_rekey(f->store, &count, &bad, detail, sizeof(detail)),
	                 JIT_ERR_DENIED);
	jit_store_rollback(f->store);
	assert_int_equal(bad, 3);
	enum jit_audit_chain chain;
	bool matches;
	assert_int_equal(jit_store_audit_chain(f->store, &chain, &matches), 0);
	assert_int_equal(chain, JIT_AUDIT_CHAIN_UNKEYED);
}

/* A keyed store with `n` events and a checkpoint of them in the file. */
static void
keyed_with_checkpoint(struct fixture *f, int n)
{
	struct jit_checkpoint_log *log = NULL;
	struct jit_checkpoint last = { 0 };
	char line[JIT_CHECKPOINT_LINE_MAX], detail[512] = "";
	size_t count = 0;
	int64_t bad = 0;
	bool written = false;
	jit_store_close(f->store);
	assert_int_equal(jit_audit_chain_set_key(f->key), 0);
	assert_int_equal(open_store(f->db, &f->store), 0);
	assert_int_equal(jit_store_begin(f->store), 0);
	assert_int_equal(jit_store_audit_rekey(f->store, &count, &bad, detail, sizeof(detail)), 0);
	assert_int_equal(jit_store_commit(f->store), 0);
	for (int i = 1; i <= n; i++)
		assert_int_equal(append(f->store, i), 0);
	assert_int_equal(
	        jit_checkpoint_log_open(f->log, f->checkpoint_key, &log, detail, sizeof(detail)),
	        0);
	assert_int_equal(jit_audit_checkpoint_take(f->store, log, &last, &written, line,
	                                           sizeof(line), detail, sizeof(detail)),
	                 0);
	assert_true(written);
	assert_int_equal(last.count, n);
	/* Nothing moved: nothing written. */
	assert_int_equal(jit_audit_checkpoint_take(f->store, log, &last, &written, line,
	                                           sizeof(line), detail, sizeof(detail)),
	                 0);
	assert_false(written);
	jit_checkpoint_log_free(log);
}

static void
test_checkpoints_find_a_removed_tail(void **state)
{
	struct fixture *f = *state;
	struct jit_checkpoint_check check;
	keyed_with_checkpoint(f, 8);
	assert_int_equal(
	        jit_audit_checkpoints_check(f->store, f->log, f->checkpoint_key, 0, &check), 0);
	assert_int_equal(check.checkpoints, 1);
	raw_exec(f->db, "DELETE FROM audit_events WHERE id > 5; UPDATE sqlite_sequence SET seq = 5 "
	                "WHERE name = 'audit_events'");
	int64_t bad = 0;
	size_t checked = 0;
	char detail[512] = "";
	assert_int_equal(jit_store_audit_verify(f->store, &bad, &checked, detail, sizeof(detail)),
	                 0);
	assert_int_equal(
	        jit_audit_checkpoints_check(f->store, f->log, f->checkpoint_key, 0, &check),
	        JIT_ERR_DENIED);
	assert_int_equal(check.bad_id, 6);
	assert_non_null(strstr(check.detail, "events 6..8 are missing (checkpoint of "));
	assert_non_null(strstr(check.detail, " counted 8)"));
	assert_int_equal(
	        jit_audit_checkpoint_compare(f->store, &check.newest, &bad, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	/* A byte limit below the line: that checkpoint is not held against the log. */
	assert_int_equal(
	        jit_audit_checkpoints_check(f->store, f->log, f->checkpoint_key, 10, &check), 0);
	assert_int_equal(check.checkpoints, 0);
}

static void
test_checkpoints_find_a_rewritten_head(void **state)
{
	struct fixture *f = *state;
	struct jit_checkpoint_check check;
	keyed_with_checkpoint(f, 4);
	raw_exec(f->db, "UPDATE audit_events SET hash = prev_hash WHERE id = 4");
	assert_int_equal(
	        jit_audit_checkpoints_check(f->store, f->log, f->checkpoint_key, 0, &check),
	        JIT_ERR_DENIED);
	assert_int_equal(check.bad_id, 4);
	assert_non_null(strstr(check.detail, "event 4 does not have the hash"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keyed_seal_is_hmac_of_the_documented_input,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_and_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_refuses_a_broken_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints_find_a_removed_tail, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints_find_a_rewritten_head, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
