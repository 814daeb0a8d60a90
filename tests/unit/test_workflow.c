/* The workflow without HTTP: the state machine's table, every (state, event) pair against a
 * table written out here on its own, and the verbs (server/core/workflow.h) driven directly on
 * a real SQLite store in a temporary directory, the Rego policy engine with small policies and
 * the mock provider, each step checked in the store, the mock's counts and the audit log. */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "lib/crypto/seal.h"
#include "server/config.h"
#include "server/core/state.h"
#include "server/core/workflow.h"
#include "server/providers/mock/mock.h"
#include "server/server.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define TENANT JIT_DEFAULT_TENANT_ID
#define SECONDS(n) ((int64_t)(n)*JIT_NSEC_PER_SEC)

/* ---- the table --------------------------------------------------------------------------- */

/* What the workflow does today, written out again (not read from server/core/state.c): 0 for
 * a refused pair. */
static const enum jit_request_state expected[JIT_STATE_COUNT][JIT_EVENT_COUNT] = {
	[JIT_STATE_UNSPECIFIED][JIT_EVENT_CREATE] = JIT_STATE_PENDING,

	[JIT_STATE_PENDING][JIT_EVENT_AUTO_APPROVE] = JIT_STATE_APPROVED,
	[JIT_STATE_PENDING][JIT_EVENT_BREAK_GLASS] = JIT_STATE_ACTIVE,
	[JIT_STATE_PENDING][JIT_EVENT_APPROVAL_RECORD] = JIT_STATE_PENDING,
	[JIT_STATE_PENDING][JIT_EVENT_APPROVE] = JIT_STATE_APPROVED,
	[JIT_STATE_PENDING][JIT_EVENT_DENY] = JIT_STATE_REJECTED,
	[JIT_STATE_PENDING][JIT_EVENT_REVOKE] = JIT_STATE_REVOKED,
	[JIT_STATE_PENDING][JIT_EVENT_PENDING_TIMEOUT] = JIT_STATE_EXPIRED,

	[JIT_STATE_APPROVED][JIT_EVENT_FETCH] = JIT_STATE_ACTIVE,
	[JIT_STATE_APPROVED][JIT_EVENT_REVOKE] = JIT_STATE_REVOKED,
	[JIT_STATE_APPROVED][JIT_EVENT_GRANT_EXPIRY] = JIT_STATE_EXPIRED,

	[JIT_STATE_ACTIVE][JIT_EVENT_FETCH] = JIT_STATE_ACTIVE,
	[JIT_STATE_ACTIVE][JIT_EVENT_REVOKE] = JIT_STATE_REVOKED,
	[JIT_STATE_ACTIVE][JIT_EVENT_GRANT_EXPIRY] = JIT_STATE_EXPIRED,
};

static void
test_table_every_pair(UNUSED_STATE)
{
	size_t legal = 0, refused = 0;
	for (int s = 0; s < JIT_STATE_COUNT; s++)
		for (int e = 0; e < JIT_EVENT_COUNT; e++) {
			enum jit_request_state to = (enum jit_request_state)99;
			int r = jit_state_next((enum jit_request_state)s, (enum jit_request_event)e,
			                       &to);
			if (expected[s][e] != JIT_STATE_UNSPECIFIED) {
				if (r != 0)
					print_error("%s --%s--> refused\n",
					            jit_state_name((enum jit_request_state)s),
					            jit_event_name((enum jit_request_event)e));
				assert_int_equal(r, 0);
				assert_int_equal(to, expected[s][e]);
				assert_true(jit_state_allows((enum jit_request_state)s,
				                             (enum jit_request_event)e));
				legal++;
			} else {
				if (r != JIT_ERR_CONFLICT)
					print_error("%s --%s--> allowed\n",
					            jit_state_name((enum jit_request_state)s),
					            jit_event_name((enum jit_request_event)e));
				assert_int_equal(r, JIT_ERR_CONFLICT);
				assert_int_equal(to, 99); /* untouched */
				assert_false(jit_state_allows((enum jit_request_state)s,
				                              (enum jit_request_event)e));
				refused++;
			}
		}
	assert_int_equal(legal, 14);
	assert_int_equal(legal + refused, (size_t)JIT_STATE_COUNT * JIT_EVENT_COUNT);
}

static void
test_table_out_of_range(UNUSED_STATE)
{
	enum jit_request_state to = JIT_STATE_PENDING;
	assert_int_equal(
	        jit_state_next((enum jit_request_state)JIT_STATE_COUNT, JIT_EVENT_REVOKE, &to),
	        JIT_ERR_INVALID);
	assert_int_equal(jit_state_next((enum jit_request_state) - 1, JIT_EVENT_REVOKE, &to),
	                 JIT_ERR_INVALID);
	assert_int_equal(
	        jit_state_next(JIT_STATE_PENDING, (enum jit_request_event)JIT_EVENT_COUNT, &to),
	        JIT_ERR_INVALID);
	assert_int_equal(jit_state_next(JIT_STATE_PENDING, (enum jit_request_event) - 1, &to),
	                 JIT_ERR_INVALID);
	assert_int_equal(to, JIT_STATE_PENDING);
	assert_false(jit_state_allows(JIT_STATE_PENDING, (enum jit_request_event)JIT_EVENT_COUNT));
	assert_string_equal(jit_event_name((enum jit_request_event)JIT_EVENT_COUNT), "unknown");
	/* Every event has a name of its own. */
	for (int a = 0; a < JIT_EVENT_COUNT; a++) {
		assert_string_not_equal(jit_event_name((enum jit_request_event)a), "unknown");
		for (int b = a + 1; b < JIT_EVENT_COUNT; b++)
			assert_string_not_equal(jit_event_name((enum jit_request_event)a),
			                        jit_event_name((enum jit_request_event)b));
	}
}

/* What the verbs rely on besides single transitions: terminal states (model.h) have no way
 * out; the states that hold a grant are those its fetch and its expiry start from; both kinds
 * of approval start from the same states (approve.c checks one before it knows which). */
static void
test_table_properties(UNUSED_STATE)
{
	for (int s = JIT_STATE_PENDING; s < JIT_STATE_COUNT; s++) {
		enum jit_request_state from = (enum jit_request_state)s;
		bool any = false;
		for (int e = 0; e < JIT_EVENT_COUNT; e++)
			any = any || jit_state_allows(from, (enum jit_request_event)e);
		assert_int_equal(jit_state_terminal(from), !any);
		assert_int_equal(jit_state_holds_grant(from),
		                 jit_state_allows(from, JIT_EVENT_FETCH));
		assert_int_equal(jit_state_holds_grant(from),
		                 jit_state_allows(from, JIT_EVENT_GRANT_EXPIRY));
		assert_int_equal(jit_state_allows(from, JIT_EVENT_APPROVE),
		                 jit_state_allows(from, JIT_EVENT_APPROVAL_RECORD));
		assert_false(jit_state_allows(from, JIT_EVENT_CREATE));
	}
	assert_false(jit_state_holds_grant(JIT_STATE_UNSPECIFIED));
	assert_true(jit_state_holds_grant(JIT_STATE_APPROVED));
	assert_true(jit_state_holds_grant(JIT_STATE_ACTIVE));
}

static void
expect_refusal(enum jit_request_event event, enum jit_request_state from,
               enum jit_refusal_moment moment, const char *text)
{
	struct jit_error status = { 0 };
	assert_int_equal(jit_state_refuse(&status, event, "req_X", from, moment), JIT_ERR_CONFLICT);
	assert_int_equal(status.code, JIT_ERR_CONFLICT);
	assert_string_equal(status.message, text);
}

/* The texts the API answers (409) for illegal transitions, as they were before the table. */
static void
test_table_refusal_texts(UNUSED_STATE)
{
	expect_refusal(JIT_EVENT_APPROVE, JIT_STATE_REJECTED, JIT_REFUSED_AT_READ,
	               "request req_X is REJECTED; only a PENDING request can be approved");
	expect_refusal(JIT_EVENT_APPROVAL_RECORD, JIT_STATE_APPROVED, JIT_REFUSED_AT_READ,
	               "request req_X is APPROVED; only a PENDING request can be approved");
	expect_refusal(JIT_EVENT_APPROVE, JIT_STATE_REVOKED, JIT_REFUSED_AT_RECHECK,
	               "request req_X changed while it was being approved; try again");
	expect_refusal(JIT_EVENT_APPROVAL_RECORD, JIT_STATE_PENDING, JIT_REFUSED_AT_RECHECK,
	               "request req_X changed while it was being approved; try again");
	expect_refusal(JIT_EVENT_DENY, JIT_STATE_ACTIVE, JIT_REFUSED_AT_READ,
	               "request req_X is ACTIVE; only a PENDING request can be denied");
	expect_refusal(JIT_EVENT_DENY, JIT_STATE_EXPIRED, JIT_REFUSED_AT_RECHECK,
	               "request req_X is no longer PENDING");
	expect_refusal(JIT_EVENT_REVOKE, JIT_STATE_EXPIRED, JIT_REFUSED_AT_READ,
	               "request req_X is already EXPIRED");
	expect_refusal(JIT_EVENT_REVOKE, JIT_STATE_REJECTED, JIT_REFUSED_AT_RECHECK,
	               "request req_X is already REJECTED");
	expect_refusal(JIT_EVENT_FETCH, JIT_STATE_PENDING, JIT_REFUSED_AT_READ,
	               "request req_X is PENDING; credentials exist only while APPROVED or "
	               "ACTIVE");
	expect_refusal(JIT_EVENT_FETCH, JIT_STATE_REVOKED, JIT_REFUSED_AT_RECHECK,
	               "the grant of req_X has ended");
	/* A NULL status is allowed; the code comes back all the same. */
	assert_int_equal(jit_state_refuse(NULL, JIT_EVENT_DENY, "req_X", JIT_STATE_REVOKED,
	                                  JIT_REFUSED_AT_READ),
	                 JIT_ERR_CONFLICT);
	/* Every event has texts for both moments. */
	for (int e = 0; e < JIT_EVENT_COUNT; e++)
		for (int m = JIT_REFUSED_AT_READ; m <= JIT_REFUSED_AT_RECHECK; m++) {
			struct jit_error status = { 0 };
			jit_state_refuse(&status, (enum jit_request_event)e, "req_X",
			                 JIT_STATE_REVOKED, (enum jit_refusal_moment)m);
			assert_int_equal(status.code, JIT_ERR_CONFLICT);
			assert_non_null(strstr(status.message, "req_X"));
		}
}

/* ---- the verbs on a real store ----------------------------------------------------------- */

static const char eligibility_rego[] = "package jitsudo.eligibility\n"
                                       "import rego.v1\n"
                                       "allow if \"eng\" in input.user.groups\n"
                                       "reason := \"only eng\" if not allow\n";

/* Approvers are the "approvers" group; roles starting with "reader" are the auto tier; the
 * role "two-person" needs two approvers. */
static const char approval_rego[] =
        "package jitsudo.approval\n"
        "import rego.v1\n"
        "default approver_tier := \"human\"\n"
        "approver_tier := \"auto\" if startswith(input.request.role, \"reader\")\n"
        "default required_approvals := 1\n"
        "required_approvals := 2 if input.request.role == \"two-person\"\n"
        "allow if \"approvers\" in input.user.groups\n"
        "reason := \"approvers only\" if not allow\n";

/* Grants of these roles fail at the mock (config providers.mock.fail_grant_roles). */
static char *fail_roles[] = { "broken", "reader-broken", NULL };

struct person {
	struct jit_identity identity;
	struct jit_caller caller;
};

struct fixture {
	char dir[64];
	struct jit_server server;
	struct jit_worker worker;
	struct jit_provider *mock;
	int64_t last_deadline; /* what the deadline watch was told last */
	struct person alice;   /* eng: the requester */
	struct person bob;     /* approvers */
	struct person carol;   /* approvers */
	struct person dave;    /* approvers and eng */
	struct person erin;    /* an admin, not an approver */
	struct person mallory; /* neither eng nor approver */
};

static void
deadline_moved(void *context, int64_t at)
{
	struct fixture *f = context;
	f->last_deadline = at;
}

static void
person_init(struct person *p, const char *email, const char *groups_json, bool admin)
{
	json_error_t jerr;
	p->identity.email = strdup(email);
	p->identity.groups = json_loads(groups_json, 0, &jerr);
	assert_non_null(p->identity.email);
	assert_non_null(p->identity.groups);
	p->caller.tenant_id = TENANT;
	p->caller.identity = &p->identity;
	p->caller.admin = admin;
	p->caller.host = NULL;
}

static struct jit_policy *
policy(const char *name, enum jit_policy_type type, const char *rego)
{
	struct jit_policy *p = jit_policy_new();
	assert_non_null(p);
	p->name = strdup(name);
	p->rego = strdup(rego);
	p->type = type;
	p->enabled = true;
	assert_non_null(p->name);
	assert_non_null(p->rego);
	return p;
}

static int
setup_with(void **state, uint32_t fail_revocations, uint32_t delay_ms)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/jit-workflow-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));

	struct jit_server *server = &f->server;
	pthread_mutex_init(&server->policy_lock, NULL);
	pthread_mutex_init(&server->policy_write_lock, NULL);
	assert_int_equal(jit_config_defaults(&server->config), 0);
	assert_non_null(server->config);
	char path[128];
	snprintf(path, sizeof(path), "%s/jitsudo.db", f->dir);
	free(server->config->database.path);
	server->config->database.path = strdup(path);
	assert_non_null(server->config->database.path);

	uint8_t key[JIT_SEAL_KEY_SIZE];
	assert_int_equal(jit_seal_new_key(key), 0);
	assert_int_equal(jit_secret_new(key, sizeof(key), &server->seal_key), 0);

	struct jit_mock_options options = { .fail_grant_roles = fail_roles,
		                            .fail_revocations = fail_revocations,
		                            .delay_ms = delay_ms };
	assert_int_equal(jit_provider_mock_new("aws", &options, &f->mock), 0);
	server->providers[0] = f->mock;
	server->provider_names[0] = "aws";
	server->provider_count = 1;
	server->provider_pool = NULL; /* provider calls run on the caller's thread */
	server->deadline_watch.moved_earlier = deadline_moved;
	server->deadline_watch.context = f;

	struct jit_policy *list[2] = {
		policy("eligibility", JIT_POLICY_ELIGIBILITY, eligibility_rego),
		policy("approval", JIT_POLICY_APPROVAL, approval_rego),
	};
	struct jit_policy_set *set = NULL;
	struct jit_policy_error error = { 0 };
	int r = jit_policy_set_compile(list, 2, &set, &error);
	if (r < 0)
		print_error("compile: %s\n", error.message);
	assert_int_equal(r, 0);
	jit_policy_free(list[0]);
	jit_policy_free(list[1]);
	jit_server_set_policies(server, set);

	char message[256] = "";
	r = jit_worker_init(&f->worker, server, message, sizeof(message));
	if (r < 0)
		print_error("worker: %s\n", message);
	assert_int_equal(r, 0);

	person_init(&f->alice, "alice@example.com", "[\"eng\"]", false);
	person_init(&f->bob, "bob@example.com", "[\"approvers\"]", false);
	person_init(&f->carol, "carol@example.com", "[\"approvers\"]", false);
	person_init(&f->dave, "dave@example.com", "[\"approvers\", \"eng\"]", false);
	person_init(&f->erin, "erin@example.com", "[]", true);
	person_init(&f->mallory, "mallory@example.com", "[]", false);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, 0, 0);
}

/* The mock's first revocation fails. */
static int
setup_failing_revocation(void **state)
{
	return setup_with(state, 1, 0);
}

/* Every grant and revocation at the mock first takes this long. */
#define SLOW_PROVIDER_MS 1000

static int
setup_slow_provider(void **state)
{
	return setup_with(state, 0, SLOW_PROVIDER_MS);
}

/* Slow, and the first revocation fails. */
static int
setup_slow_provider_failing_revocation(void **state)
{
	return setup_with(state, 1, SLOW_PROVIDER_MS);
}

static void
person_clear(struct person *p)
{
	free(p->identity.email);
	json_decref(p->identity.groups);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	jit_worker_clear(&f->worker);
	jit_provider_free(f->mock);
	jit_policy_set_unref(f->server.policies);
	jit_secret_free(f->server.seal_key);
	jit_config_free(f->server.config);
	pthread_mutex_destroy(&f->server.policy_lock);
	pthread_mutex_destroy(&f->server.policy_write_lock);
	struct person *people[] = {
		&f->alice, &f->bob, &f->carol, &f->dave, &f->erin, &f->mallory
	};
	for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++)
		person_clear(people[i]);
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

/* Creates a request of `who` for `role` and checks it was created; its id goes to `id`. */
static struct jit_request *
create_as(struct fixture *f, struct person *who, const char *role, bool break_glass,
          struct jit_error *status, int *ret_code)
{
	struct jit_request_spec spec = { .provider = "aws",
		                         .role = role,
		                         .resource_scope = "123456789012",
		                         .duration_seconds = 3600,
		                         .reason = "INC-1 deploy",
		                         .break_glass = break_glass };
	struct jit_request *request = NULL;
	memset(status, 0, sizeof(*status));
	*ret_code = jit_wf_create(&f->worker, &who->caller, &spec, &request, status);
	return request;
}

static void
create_ok(struct fixture *f, struct person *who, const char *role, bool break_glass,
          enum jit_request_state expect_state, char *id)
{
	struct jit_error status;
	int r;
	struct jit_request *request = create_as(f, who, role, break_glass, &status, &r);
	if (r < 0)
		print_error("create: %s\n", status.message);
	assert_int_equal(r, 0);
	assert_non_null(request);
	assert_int_equal(request->state, expect_state);
	snprintf(id, JIT_ID_LENGTH + 1, "%s", request->id);
	jit_request_free(request);
}

/* The request as stored now. Freed by the caller. */
static struct jit_request *
stored(struct fixture *f, const char *id)
{
	struct jit_request *request = NULL;
	assert_int_equal(jit_store_request_get(f->worker.store, TENANT, id, &request), 0);
	assert_non_null(request);
	return request;
}

static void
assert_stored_state(struct fixture *f, const char *id, enum jit_request_state state)
{
	struct jit_request *request = stored(f, id);
	if (request->state != state)
		print_error("%s is %s, expected %s\n", id, jit_state_name(request->state),
		            jit_state_name(state));
	assert_int_equal(request->state, state);
	jit_request_free(request);
}

/* The request's audit actions, oldest first, joined by spaces (into `out`). */
static const char *
audit_actions(struct fixture *f, const char *id, char *out, size_t size)
{
	struct jit_audit_filter filter = { .request_id = id, .limit = 100 };
	struct jit_audit_event **list = NULL;
	size_t n = 0;
	assert_int_equal(jit_store_audit_query(f->worker.store, TENANT, &filter, &list, &n), 0);
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		assert_non_null(list[i]);
		int k = snprintf(out + used, size - used, "%s%s", i ? " " : "", list[i]->action);
		assert_true(k > 0 && (size_t)k < size - used);
		used += (size_t)k;
	}
	jit_audit_event_list_free(list, n);
	return out;
}

static struct jit_mock_stats
mock_stats(struct fixture *f)
{
	struct jit_mock_stats stats;
	jit_provider_mock_stats(f->mock, &stats);
	return stats;
}

typedef int (*decide_verb)(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                           const char *text, struct jit_request **ret_request,
                           struct jit_error *status);

/* Runs approve, deny or revoke and checks the code (and, when `message` is set, the text);
 * on success checks the answer's state. */
static void
expect_verb(struct fixture *f, decide_verb verb, struct person *who, const char *id,
            const char *text, int code, enum jit_request_state state, const char *message)
{
	struct jit_request *request = NULL;
	struct jit_error status = { 0 };
	int r = verb(&f->worker, &who->caller, id, text, &request, &status);
	if (r != code)
		print_error("got %d (%s), expected %d\n", r, status.message, code);
	assert_int_equal(r, code);
	if (code == 0) {
		assert_non_null(request);
		assert_int_equal(request->state, state);
		jit_request_free(request);
		return;
	}
	assert_null(request);
	assert_int_equal(status.code, code);
	if (message)
		assert_string_equal(status.message, message);
}

/* Fetches the credentials: 0 with four aws values, or the expected code and text. */
static void
expect_credentials(struct fixture *f, struct person *who, const char *id, int code,
                   const char *message)
{
	struct jit_grant grant = { 0 };
	struct jit_error status = { 0 };
	int r = jit_wf_credentials(&f->worker, &who->caller, id, &grant, &status);
	if (r != code)
		print_error("credentials: got %d (%s), expected %d\n", r, status.message, code);
	assert_int_equal(r, code);
	if (code == 0) {
		assert_int_equal(grant.count, 4);
		assert_string_equal(grant.credentials[0].name, "AWS_ACCESS_KEY_ID");
		assert_string_equal(grant.request_id, id);
		assert_true(grant.expires_at > grant.issued_at);
	} else {
		assert_int_equal(grant.count, 0);
		if (message)
			assert_string_equal(status.message, message);
	}
	jit_grant_clear(&grant);
}

static void
sweep_at(struct fixture *f, int64_t now)
{
	struct jit_error status = { 0 };
	int r = jit_wf_sweep(&f->worker, now, &status);
	if (r < 0)
		print_error("sweep: %s\n", status.message);
	assert_int_equal(r, 0);
}

static char *
message_for(char *buf, size_t size, const char *format, const char *id)
{
	snprintf(buf, size, format, id);
	return buf;
}

/* create -> approve -> credentials (ACTIVE) -> revoke, and nothing legal afterwards. */
static void
test_approve_fetch_revoke(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], text[512], actions[1024];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->required_approvals, 1);
	assert_string_equal(request->approver_tier, "human");
	assert_true(request->pending_expires_at > request->created_at);
	assert_int_equal(f->last_deadline, request->pending_expires_at);
	jit_request_free(request);
	/* No credentials before approval. */
	expect_credentials(f, &f->alice, id, JIT_ERR_CONFLICT,
	                   message_for(text, sizeof(text),
	                               "request %s is PENDING; credentials exist only while "
	                               "APPROVED or ACTIVE",
	                               id));

	expect_verb(f, jit_wf_approve, &f->bob, id, "ok", 0, JIT_STATE_APPROVED, NULL);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_APPROVED);
	assert_int_equal(request->approval_count, 1);
	assert_non_null(request->approvals);
	assert_string_equal(request->approvals[0].approver_identity, "bob@example.com");
	assert_string_equal(request->approvals[0].comment, "ok");
	assert_true(request->issued_at > 0);
	assert_int_equal(request->expires_at - request->issued_at, SECONDS(3600));
	assert_int_equal(f->last_deadline, request->expires_at);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).active, 1);
	expect_verb(f, jit_wf_deny, &f->carol, id, "late", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is APPROVED; only a PENDING request can be denied",
	                        id));

	/* Only the requester fetches; the first fetch makes it ACTIVE, the second keeps it. */
	expect_credentials(f, &f->bob, id, JIT_ERR_DENIED,
	                   message_for(text, sizeof(text),
	                               "only the requester may fetch the credentials of %s", id));
	assert_stored_state(f, id, JIT_STATE_APPROVED);
	expect_credentials(f, &f->alice, id, 0, NULL);
	assert_stored_state(f, id, JIT_STATE_ACTIVE);
	expect_credentials(f, &f->alice, id, 0, NULL);
	assert_stored_state(f, id, JIT_STATE_ACTIVE);
	expect_verb(f, jit_wf_approve, &f->carol, id, NULL, JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is ACTIVE; only a PENDING request can be approved",
	                        id));
	expect_verb(f, jit_wf_deny, &f->carol, id, "late", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is ACTIVE; only a PENDING request can be denied", id));
	assert_stored_state(f, id, JIT_STATE_ACTIVE);

	expect_verb(f, jit_wf_revoke, &f->bob, id, "done", 0, JIT_STATE_REVOKED, NULL);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_REVOKED);
	assert_string_equal(request->decided_by, "bob@example.com");
	assert_string_equal(request->decision_reason, "done");
	assert_false(request->revocation_pending); /* the mock confirmed */
	jit_request_free(request);
	assert_int_equal(mock_stats(f).active, 0);
	assert_int_equal(mock_stats(f).revocations, 1);
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	assert_int_equal(
	        jit_store_credentials_get(f->worker.store, TENANT, id, &sealed, &sealed_len),
	        JIT_ERR_NOT_FOUND);

	/* REVOKED is the end. */
	expect_credentials(f, &f->alice, id, JIT_ERR_CONFLICT,
	                   message_for(text, sizeof(text),
	                               "request %s is REVOKED; credentials exist only while "
	                               "APPROVED or ACTIVE",
	                               id));
	expect_verb(f, jit_wf_approve, &f->carol, id, NULL, JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is REVOKED; only a PENDING request can be approved",
	                        id));
	expect_verb(f, jit_wf_deny, &f->carol, id, "late", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is REVOKED; only a PENDING request can be denied", id));
	expect_verb(f, jit_wf_revoke, &f->alice, id, "again", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text), "request %s is already REVOKED", id));
	assert_stored_state(f, id, JIT_STATE_REVOKED);

	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.approved grant.issued grant.fetch_refused "
	                    "request.activated grant.fetched grant.fetched request.revoked "
	                    "grant.revoked");
}

static void
test_deny(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], text[512], actions[1024];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	/* A reason is required; the requester withdraws by revoking, not denying. */
	expect_verb(f, jit_wf_deny, &f->bob, id, NULL, JIT_ERR_INVALID, 0, "reason: required");
	expect_verb(f, jit_wf_deny, &f->alice, id, "no", JIT_ERR_DENIED, 0,
	            "you cannot deny your own request; revoke it to withdraw it");
	assert_stored_state(f, id, JIT_STATE_PENDING);

	expect_verb(f, jit_wf_deny, &f->bob, id, "not now", 0, JIT_STATE_REJECTED, NULL);
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_REJECTED);
	assert_string_equal(request->decided_by, "bob@example.com");
	assert_string_equal(request->decision_reason, "not now");
	assert_int_equal(request->approval_count, 0);
	jit_request_free(request);

	/* Approving a denied request, denying it again, revoking it, fetching: all refused. */
	expect_verb(f, jit_wf_approve, &f->carol, id, NULL, JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is REJECTED; only a PENDING request can be approved",
	                        id));
	expect_verb(f, jit_wf_deny, &f->carol, id, "again", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is REJECTED; only a PENDING request can be denied",
	                        id));
	expect_verb(f, jit_wf_revoke, &f->alice, id, "withdraw", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text), "request %s is already REJECTED", id));
	expect_credentials(f, &f->alice, id, JIT_ERR_CONFLICT, NULL);
	assert_stored_state(f, id, JIT_STATE_REJECTED);
	assert_int_equal(mock_stats(f).grants, 0);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.rejected");
}

/* The requester withdraws a PENDING request: nothing was granted, nothing is revoked. */
static void
test_revoke_pending(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], text[512];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	expect_verb(f, jit_wf_revoke, &f->alice, id, NULL, JIT_ERR_INVALID, 0, "reason: required");
	expect_verb(f, jit_wf_revoke, &f->mallory, id, "mine", JIT_ERR_NOT_FOUND, 0,
	            message_for(text, sizeof(text), "request %s not found", id));
	expect_verb(f, jit_wf_revoke, &f->alice, id, "not needed", 0, JIT_STATE_REVOKED, NULL);
	struct jit_request *request = stored(f, id);
	assert_string_equal(request->decided_by, "alice@example.com");
	assert_false(request->revocation_pending);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).grants, 0);
	assert_int_equal(mock_stats(f).revocations, 0);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is REVOKED; only a PENDING request can be approved",
	                        id));
}

/* An admin revokes an APPROVED request before its first fetch: the grant goes at the provider
 * and the credentials from the store. */
static void
test_revoke_approved(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], actions[1024];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, 0, JIT_STATE_APPROVED, NULL);
	assert_int_equal(mock_stats(f).active, 1);
	expect_verb(f, jit_wf_revoke, &f->erin, id, "audit finding", 0, JIT_STATE_REVOKED, NULL);
	assert_int_equal(mock_stats(f).active, 0);
	expect_credentials(f, &f->alice, id, JIT_ERR_CONFLICT, NULL);
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	assert_int_equal(
	        jit_store_credentials_get(f->worker.store, TENANT, id, &sealed, &sealed_len),
	        JIT_ERR_NOT_FOUND);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.approved grant.issued request.revoked "
	                    "grant.revoked");
}

/* One approval for a one-approver request: the second approver is too late. A two-person
 * request stays PENDING after the first approval, and the same approver cannot count twice. */
static void
test_double_approve(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], text[512], actions[1024];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, 0, JIT_STATE_APPROVED, NULL);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is APPROVED; only a PENDING request can be approved",
	                        id));
	expect_verb(f, jit_wf_approve, &f->carol, id, NULL, JIT_ERR_CONFLICT, 0, text);
	assert_int_equal(mock_stats(f).grants, 1);

	create_ok(f, &f->alice, "two-person", false, JIT_STATE_PENDING, id);
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->required_approvals, 2);
	jit_request_free(request);
	expect_verb(f, jit_wf_approve, &f->bob, id, "one", 0, JIT_STATE_PENDING, NULL);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_PENDING);
	assert_int_equal(request->approval_count, 1);
	assert_int_equal(request->issued_at, 0);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).grants, 1); /* none for this one yet */
	expect_verb(f, jit_wf_approve, &f->bob, id, "one again", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "you already approved request %s; it needs 2 distinct approvers",
	                        id));
	expect_credentials(f, &f->alice, id, JIT_ERR_CONFLICT, NULL);
	expect_verb(f, jit_wf_approve, &f->carol, id, "two", 0, JIT_STATE_APPROVED, NULL);
	request = stored(f, id);
	assert_int_equal(request->approval_count, 2);
	assert_true(request->issued_at > 0);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).grants, 2);
	expect_verb(f, jit_wf_approve, &f->dave, id, NULL, JIT_ERR_CONFLICT, 0, NULL);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.approval_recorded request.approved "
	                    "grant.issued");
}

/* The requester never approves their own request, even when the policy would let them; an
 * admin who may see every request still needs the policy's allow. */
static void
test_self_approval_refused(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], actions[1024];
	/* dave is an approver and eligible. */
	create_ok(f, &f->dave, "deployer", false, JIT_STATE_PENDING, id);
	expect_verb(f, jit_wf_approve, &f->dave, id, NULL, JIT_ERR_DENIED, 0,
	            "you cannot approve your own request");
	expect_verb(f, jit_wf_approve, &f->erin, id, NULL, JIT_ERR_DENIED, 0, "approvers only");
	assert_stored_state(f, id, JIT_STATE_PENDING);
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->approval_count, 0);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).grants, 0);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.approve_refused request.approve_refused");
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, 0, JIT_STATE_APPROVED, NULL);
}

/* Not eligible: nothing is stored. */
static void
test_not_eligible(void **state)
{
	struct fixture *f = *state;
	struct jit_error status;
	int r;
	struct jit_request *request = create_as(f, &f->mallory, "deployer", false, &status, &r);
	assert_int_equal(r, JIT_ERR_DENIED);
	assert_null(request);
	assert_string_equal(status.message, "only eng");
	struct jit_request_filter filter = { .limit = 10 };
	struct jit_request **list = NULL;
	size_t n = 0;
	assert_int_equal(jit_store_request_list(f->worker.store, TENANT, &filter, &list, &n), 0);
	assert_int_equal(n, 0);
	jit_request_list_free(list, n);
}

/* A grant that expires is ended by the sweep at its time, not before, and revoked. */
static void
test_grant_expiry_by_sweep(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], text[512], actions[1024];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, 0, JIT_STATE_APPROVED, NULL);
	expect_credentials(f, &f->alice, id, 0, NULL);
	struct jit_request *request = stored(f, id);
	int64_t expires_at = request->expires_at;
	jit_request_free(request);

	sweep_at(f, expires_at - 1);
	assert_stored_state(f, id, JIT_STATE_ACTIVE);
	sweep_at(f, expires_at);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_EXPIRED);
	assert_string_equal(request->decided_by, "system");
	assert_string_equal(request->decision_reason, "the grant expired");
	assert_false(request->revocation_pending);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).active, 0);

	expect_credentials(f, &f->alice, id, JIT_ERR_CONFLICT,
	                   message_for(text, sizeof(text),
	                               "request %s is EXPIRED; credentials exist only while "
	                               "APPROVED or ACTIVE",
	                               id));
	expect_verb(f, jit_wf_revoke, &f->alice, id, "late", JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text), "request %s is already EXPIRED", id));
	/* A later sweep finds nothing more to do. */
	sweep_at(f, expires_at + SECONDS(3600));
	assert_stored_state(f, id, JIT_STATE_EXPIRED);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.approved grant.issued request.activated "
	                    "grant.fetched grant.expired grant.revoked");
}

/* A PENDING request nobody decided on lapses at its pending timeout. */
static void
test_pending_timeout_by_sweep(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], text[512], actions[1024];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	struct jit_request *request = stored(f, id);
	int64_t pending_expires_at = request->pending_expires_at;
	assert_int_equal(pending_expires_at - request->created_at,
	                 SECONDS(f->server.config->pending_timeout_seconds));
	jit_request_free(request);

	sweep_at(f, pending_expires_at - 1);
	assert_stored_state(f, id, JIT_STATE_PENDING);
	sweep_at(f, pending_expires_at);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_EXPIRED);
	assert_string_equal(request->decided_by, "system");
	assert_string_equal(request->decision_reason, "no decision before the pending timeout");
	assert_false(request->revocation_pending);
	jit_request_free(request);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, JIT_ERR_CONFLICT, 0,
	            message_for(text, sizeof(text),
	                        "request %s is EXPIRED; only a PENDING request can be approved",
	                        id));
	expect_verb(f, jit_wf_deny, &f->bob, id, "late", JIT_ERR_CONFLICT, 0, NULL);
	assert_int_equal(mock_stats(f).grants, 0);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.expired");
}

/* The auto tier is APPROVED at create, break-glass ACTIVE at once. */
static void
test_auto_tier_and_break_glass(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], actions[1024];
	create_ok(f, &f->alice, "reader", false, JIT_STATE_APPROVED, id);
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_APPROVED);
	assert_string_equal(request->approver_tier, "auto");
	assert_int_equal(request->approval_count, 1);
	assert_non_null(request->approvals);
	assert_string_equal(request->approvals[0].approver_identity, "policy");
	jit_request_free(request);
	expect_credentials(f, &f->alice, id, 0, NULL);
	assert_stored_state(f, id, JIT_STATE_ACTIVE);

	create_ok(f, &f->alice, "deployer", true, JIT_STATE_ACTIVE, id);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_ACTIVE);
	assert_true(request->break_glass);
	assert_int_equal(request->approval_count, 1);
	assert_non_null(request->approvals);
	assert_string_equal(request->approvals[0].approver_identity, "break-glass");
	jit_request_free(request);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, JIT_ERR_CONFLICT, 0, NULL);
	expect_credentials(f, &f->alice, id, 0, NULL);
	assert_stored_state(f, id, JIT_STATE_ACTIVE);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.approved grant.issued grant.fetched");
	assert_int_equal(mock_stats(f).active, 2);
}

/* A grant the provider refuses changes no state: an approval stays unrecorded, an auto-tier
 * request stays PENDING, a break-glass request is not stored at all. */
static void
test_grant_failure(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], actions[1024];
	create_ok(f, &f->alice, "broken", false, JIT_STATE_PENDING, id);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, JIT_ERR_UPSTREAM, 0,
	            "provider aws failed to issue: mock: grant refused for role broken");
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_PENDING);
	assert_int_equal(request->approval_count, 0);
	jit_request_free(request);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created grant.failed");

	create_ok(f, &f->alice, "reader-broken", false, JIT_STATE_PENDING, id);
	assert_stored_state(f, id, JIT_STATE_PENDING);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created grant.failed");

	struct jit_error status;
	int r;
	request = create_as(f, &f->alice, "broken", true, &status, &r);
	assert_int_equal(r, JIT_ERR_UPSTREAM);
	assert_null(request);
	struct jit_request_filter filter = { .limit = 10 };
	struct jit_request **list = NULL;
	size_t n = 0;
	assert_int_equal(jit_store_request_list(f->worker.store, TENANT, &filter, &list, &n), 0);
	assert_int_equal(n, 2); /* the two above only */
	jit_request_list_free(list, n);
	assert_int_equal(mock_stats(f).grants, 0);
}

/* A revocation the provider fails: the request is REVOKED at once, the grant is marked for
 * revocation and the sweep retries it when due. */
static void
test_revocation_retry(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], actions[1024];
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	expect_verb(f, jit_wf_approve, &f->bob, id, NULL, 0, JIT_STATE_APPROVED, NULL);
	expect_verb(f, jit_wf_revoke, &f->alice, id, "done", 0, JIT_STATE_REVOKED, NULL);
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_REVOKED);
	assert_true(request->revocation_pending);
	assert_int_equal(request->revoke_attempts, 1);
	int64_t next = request->revoke_next_attempt_at;
	/* The first retry waits workflow.revoke_retry_initial (1 s by default). */
	assert_int_equal(next - request->updated_at,
	                 f->server.config->revoke_retry_initial_ms * 1000000LL);
	assert_int_equal(f->last_deadline, next);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).active, 1);

	sweep_at(f, next);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_REVOKED);
	assert_false(request->revocation_pending);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).active, 0);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.approved grant.issued request.revoked "
	                    "grant.revoke_failed grant.revoked");
}

struct approval_call {
	struct fixture *f;
	struct jit_worker worker; /* opened before the thread starts */
	const char *id;
	int result;
	struct jit_error status;
};

static void *
approve_in_thread(void *arg)
{
	struct approval_call *call = arg;
	struct jit_request *request = NULL;
	call->result = jit_wf_approve(&call->worker, &call->f->bob.caller, call->id, NULL, &request,
	                              &call->status);
	jit_request_free(request);
	return NULL;
}

/* Creates a pending request of alice's into `id`, starts bob's approval of it on another
 * worker and, while that waits for the slow provider, has alice revoke it; returns once the
 * approval has answered (call->result, call->status). */
static void
revoke_during_approval(struct fixture *f, char *id, struct approval_call *call)
{
	create_ok(f, &f->alice, "deployer", false, JIT_STATE_PENDING, id);
	char message[256] = "";
	assert_int_equal(jit_worker_init(&call->worker, &f->server, message, sizeof(message)), 0);
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, approve_in_thread, call), 0);
	/* Well inside the grant's delay: the approval has read the request PENDING and asked
	 * the policy by now (milliseconds), and waits for the provider. */
	usleep(SLOW_PROVIDER_MS * 3 / 10 * 1000);
	expect_verb(f, jit_wf_revoke, &f->alice, id, "changed my mind", 0, JIT_STATE_REVOKED, NULL);
	assert_int_equal(pthread_join(thread, NULL), 0);
	jit_worker_clear(&call->worker);
}

/* A request revoked while its approval waits for the provider: the approval's re-check inside
 * its transaction sees REVOKED, answers that the request changed, records nothing and takes
 * the grant it got back at the provider. */
static void
test_approve_recheck_after_revoke(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], text[512], actions[1024];
	struct approval_call call = { .f = f, .id = id };
	revoke_during_approval(f, id, &call);
	assert_int_equal(call.result, JIT_ERR_CONFLICT);
	assert_string_equal(call.status.message,
	                    message_for(text, sizeof(text),
	                                "request %s changed while it was being approved; try "
	                                "again",
	                                id));
	struct jit_request *request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_REVOKED);
	assert_int_equal(request->approval_count, 0);
	assert_false(request->revocation_pending); /* there was no grant to revoke */
	jit_request_free(request);
	struct jit_mock_stats stats = mock_stats(f);
	assert_int_equal(stats.grants, 1);
	assert_int_equal(stats.revocations, 1); /* the approval's grant, undone */
	assert_int_equal(stats.active, 0);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.revoked");
}

/* As above, but the provider refuses to take the grant back: the request is marked for
 * revocation with the failure audited, and the sweep takes the grant back later. A grant at
 * the provider is never left without a record. */
static void
test_approve_recheck_undo_fails(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], actions[1024];
	struct approval_call call = { .f = f, .id = id };
	revoke_during_approval(f, id, &call);
	assert_int_equal(call.result, JIT_ERR_CONFLICT);

	struct jit_request *request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_REVOKED);
	assert_true(request->revocation_pending);
	assert_int_equal(request->revoke_attempts, 1);
	int64_t next = request->revoke_next_attempt_at;
	assert_true(next > 0);
	jit_request_free(request);
	assert_int_equal(f->last_deadline, next);
	assert_int_equal(mock_stats(f).active, 1); /* the grant is still out there */
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.revoked grant.revoke_failed");

	sweep_at(f, next);
	request = stored(f, id);
	assert_int_equal(request->state, JIT_STATE_REVOKED);
	assert_false(request->revocation_pending);
	jit_request_free(request);
	assert_int_equal(mock_stats(f).active, 0);
	assert_string_equal(audit_actions(f, id, actions, sizeof(actions)),
	                    "request.created request.revoked grant.revoke_failed grant.revoked");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_every_pair),
		cmocka_unit_test(test_table_out_of_range),
		cmocka_unit_test(test_table_properties),
		cmocka_unit_test(test_table_refusal_texts),
		cmocka_unit_test_setup_teardown(test_approve_fetch_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deny, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_approved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_approve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_approval_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_eligible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_expiry_by_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_timeout_by_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_tier_and_break_glass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_retry, setup_failing_revocation,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_approve_recheck_after_revoke,
		                                setup_slow_provider, teardown),
		cmocka_unit_test_setup_teardown(test_approve_recheck_undo_fails,
		                                setup_slow_provider_failing_revocation, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
