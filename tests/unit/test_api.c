/* The API layer without HTTP: jit_api_lane and jit_api_handle (server/api/api.h) given
 * struct jit_http_request values as the transport would build them. The lane of every route
 * of seed 000 against a table written out here; an event loop's worker deferring every
 * request that is not INLINE, changing nothing; the JIT_ERR_* to HTTP status map seen from
 * outside (401, 403, 404, 405, 400, 409); and a create, get, approve, credentials flow with
 * seed 000's JSON names. A real SQLite store in a temporary directory, small Rego policies,
 * the mock provider and ID tokens of the built-in issuer with a key made here. */
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
#include "tests/unit/analyzer_asserts.h"

#include "lib/common/errors.h"
#include "lib/common/id.h"
#include "lib/common/timeutil.h"
#include "lib/crypto/seal.h"
#include "server/api/api.h"
#include "server/api/authn.h"
#include "server/auth/issuer.h"
#include "server/auth/oidc.h"
#include "server/config.h"
#include "server/core/model.h"
#include "server/providers/mock/mock.h"
#include "server/server.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define TENANT JIT_DEFAULT_TENANT_ID
#define ISS "https://jitsudo.test"
#define AUD "jitsudo"
#define API "/api/v1alpha1"

/* ---- lanes --------------------------------------------------------------------------- */

struct lane_case {
	const char *method;
	const char *target; /* path, and '?' query */
	enum jit_api_lane lane;
};

/* Where each route runs, written out again (not read from rest_v1alpha1.c): single reads and
 * the unauthenticated documents on the event loop, request lists and the audit on readers,
 * anything that changes the store (a credentials fetch activates a grant) on writers, and
 * approve and revoke, which wait for the provider, on provider threads. */
static const struct lane_case lanes[] = {
	{ "POST", API "/requests", JIT_LANE_WRITE },
	{ "GET", API "/requests", JIT_LANE_SCAN },
	{ "GET", API "/requests?mine=true&page_size=5", JIT_LANE_SCAN },
	{ "GET", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz", JIT_LANE_INLINE },
	{ "POST", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/approve", JIT_LANE_PROVIDER },
	{ "POST", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/deny", JIT_LANE_WRITE },
	{ "POST", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/revoke", JIT_LANE_PROVIDER },
	{ "GET", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/credentials", JIT_LANE_WRITE },
	{ "GET", API "/policies", JIT_LANE_INLINE },
	{ "GET", API "/policies/pol_1", JIT_LANE_INLINE },
	{ "POST", API "/policies", JIT_LANE_WRITE },
	{ "DELETE", API "/policies/pol_1", JIT_LANE_WRITE },
	{ "POST", API "/policies:eval", JIT_LANE_WRITE },
	{ "POST", API "/admin/reload-policies", JIT_LANE_WRITE },
	{ "GET", API "/audit", JIT_LANE_SCAN },
	{ "GET", API "/audit?request_id=req_01hzzzzzzzzzzzzzzzzzzzzzzz", JIT_LANE_SCAN },
	{ "GET", "/healthz", JIT_LANE_INLINE },
	{ "GET", "/readyz", JIT_LANE_INLINE },
	{ "GET", "/version", JIT_LANE_INLINE },
	{ "GET", "/.well-known/openid-configuration", JIT_LANE_INLINE },
	{ "GET", "/.well-known/jwks.json", JIT_LANE_INLINE },
	/* What no route serves is answered where it lands: a 404 or 405 costs nothing. */
	{ "GET", "/nothing", JIT_LANE_INLINE },
	{ "GET", API "/nothing", JIT_LANE_INLINE },
};

/* The request for `method` and `target` (split at '?'), borrowing both. */
static struct jit_http_request
http_request(const char *method, const char *target, const char *authorization, const char *body)
{
	const char *q = strchr(target, '?');
	struct jit_http_request req = {
		.method = method,
		.method_len = strlen(method),
		.path = target,
		.path_len = q ? (size_t)(q - target) : strlen(target),
		.query = q ? q + 1 : NULL,
		.query_len = q ? strlen(q + 1) : 0,
		.authorization = authorization,
		.authorization_len = authorization ? strlen(authorization) : 0,
		.body = body,
		.body_len = body ? strlen(body) : 0,
	};
	return req;
}

static const char *
lane_name(enum jit_api_lane lane)
{
	switch (lane) {
	case JIT_LANE_INLINE:
		return "INLINE";
	case JIT_LANE_SCAN:
		return "SCAN";
	case JIT_LANE_WRITE:
		return "WRITE";
	case JIT_LANE_PROVIDER:
		return "PROVIDER";
	}
	return "unknown";
}

static void
test_lanes(UNUSED_STATE)
{
	size_t wrong = 0;
	for (size_t i = 0; i < sizeof(lanes) / sizeof(lanes[0]); i++) {
		struct jit_http_request req =
		        http_request(lanes[i].method, lanes[i].target, NULL, NULL);
		enum jit_api_lane lane = jit_api_lane(&req);
		if (lane != lanes[i].lane) {
			print_error("%s %s: %s, expected %s\n", lanes[i].method, lanes[i].target,
			            lane_name(lane), lane_name(lanes[i].lane));
			wrong++;
		}
	}
	assert_int_equal(wrong, 0);
}

/* ---- the fixture --------------------------------------------------------------------- */

static const char eligibility_rego[] = "package jitsudo.eligibility\n"
                                       "import rego.v1\n"
                                       "allow if \"eng\" in input.user.groups\n"
                                       "reason := \"only eng\" if not allow\n";

static const char approval_rego[] = "package jitsudo.approval\n"
                                    "import rego.v1\n"
                                    "default approver_tier := \"human\"\n"
                                    "default required_approvals := 1\n"
                                    "allow if \"approvers\" in input.user.groups\n"
                                    "reason := \"approvers only\" if not allow\n";

struct fixture {
	char dir[64];
	char key_path[96];
	struct jit_server server;
	struct jit_worker worker; /* a thread's */
	struct jit_worker loop;   /* an event loop's: inline_only */
	struct jit_provider *mock;
	char *alice;   /* Authorization values: eng, the requester */
	char *bob;     /* approvers */
	char *erin;    /* jitsudo-admins */
	char *mallory; /* no group */
};

/* "Bearer <an ID token of the built-in issuer>", malloc'd. */
static char *
bearer(struct jit_issuer *issuer, const char *email, const char *group)
{
	const char *const groups[] = { group };
	char *token = NULL;
	assert_int_equal(jit_issuer_sign(issuer, email, groups, group ? 1 : 0,
	                                 jit_now_realtime_ns(), 300, &token),
	                 0);
	assert_non_null(token);
	size_t size = strlen(token) + 8;
	char *header = malloc(size);
	assert_non_null(header);
	snprintf(header, size, "Bearer %s", token);
	free(token);
	return header;
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
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char error[256] = "";
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/jit-api-test-XXXXXX");
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

	/* The built-in issuer, its key in the temporary directory, the only issuer trusted. */
	snprintf(f->key_path, sizeof(f->key_path), "%s/issuer.pem", f->dir);
	assert_int_equal(jit_issuer_generate_key(f->key_path), 0);
	assert_int_equal(
	        jit_issuer_load(f->key_path, ISS, AUD, &server->issuer, error, sizeof(error)), 0);
	struct jit_oidc *oidc = NULL;
	const struct jit_issuer_config ic = { .issuer = ISS, .audience = AUD };
	json_t *jwks = jit_issuer_jwks(server->issuer);
	assert_non_null(jwks);
	assert_int_equal(jit_oidc_new(1000, &oidc), 0);
	assert_int_equal(jit_oidc_add_static_issuer(oidc, &ic, jwks), 0);
	json_decref(jwks);
	assert_int_equal(jit_authn_new(oidc, NULL, &server->authn), 0);

	struct jit_mock_options options = { 0 };
	assert_int_equal(jit_provider_mock_new("aws", &options, &f->mock), 0);
	server->providers[0] = f->mock;
	server->provider_names[0] = "aws";
	server->provider_count = 1;
	server->provider_pool = NULL; /* provider calls run on the caller's thread */

	struct jit_policy *list[2] = {
		policy("eligibility", JIT_POLICY_ELIGIBILITY, eligibility_rego),
		policy("approval", JIT_POLICY_APPROVAL, approval_rego),
	};
	struct jit_policy_set *set = NULL;
	struct jit_policy_error perror = { 0 };
	int r = jit_policy_set_compile(list, 2, &set, &perror);
	if (r < 0)
		print_error("compile: %s\n", perror.message);
	assert_int_equal(r, 0);
	jit_policy_free(list[0]);
	jit_policy_free(list[1]);
	jit_server_set_policies(server, set);

	r = jit_worker_init(&f->worker, server, error, sizeof(error));
	if (r < 0)
		print_error("worker: %s\n", error);
	assert_int_equal(r, 0);
	assert_int_equal(jit_worker_init(&f->loop, server, error, sizeof(error)), 0);
	f->loop.inline_only = true;

	f->alice = bearer(server->issuer, "alice@example.com", "eng");
	f->bob = bearer(server->issuer, "bob@example.com", "approvers");
	f->erin = bearer(server->issuer, "erin@example.com", "jitsudo-admins");
	f->mallory = bearer(server->issuer, "mallory@example.com", NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	jit_worker_clear(&f->worker);
	jit_worker_clear(&f->loop);
	jit_provider_free(f->mock);
	jit_policy_set_unref(f->server.policies);
	jit_authn_free(f->server.authn);
	jit_issuer_free(f->server.issuer);
	jit_secret_free(f->server.seal_key);
	jit_config_free(f->server.config);
	pthread_mutex_destroy(&f->server.policy_lock);
	pthread_mutex_destroy(&f->server.policy_write_lock);
	free(f->alice);
	free(f->bob);
	free(f->erin);
	free(f->mallory);
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

/* ---- calling the API ----------------------------------------------------------------- */

struct reply {
	struct jit_http_response res;
	json_t *json; /* the body parsed, when it is JSON */
};

/* Sends `method target` with `authorization` and `body` (each may be NULL) to worker `w`. */
static void
call(struct jit_worker *w, const char *method, const char *target, const char *authorization,
     const char *body, struct reply *ret)
{
	struct jit_http_request req = http_request(method, target, authorization, body);
	memset(ret, 0, sizeof(*ret));
	jit_api_handle(w, &req, &ret->res);
	if (ret->res.body && ret->res.content_type &&
	    strcmp(ret->res.content_type, "application/json") == 0) {
		json_error_t jerr;
		ret->json = json_loadb(ret->res.body, ret->res.body_len, 0, &jerr);
		if (!ret->json)
			fail_msg("%s %s: not JSON: %s", method, target, ret->res.body);
	}
}

static void
reply_clear(struct reply *r)
{
	json_decref(r->json);
	jit_http_response_clear(&r->res);
	memset(r, 0, sizeof(*r));
}

static void
expect_status(const struct reply *r, int status)
{
	if (r->res.status != status)
		print_error("status %d, expected %d: %s\n", r->res.status, status,
		            r->res.body ? r->res.body : "(no body)");
	assert_false(r->res.defer);
	assert_int_equal(r->res.status, status);
}

/* An error answer: the status, a body of exactly {"code", "message"}, that code, and a
 * message holding `text`. */
static void
expect_error(const struct reply *r, int status, const char *code, const char *text)
{
	expect_status(r, status);
	assert_non_null(r->json);
	assert_int_equal(json_object_size(r->json), 2);
	const char *c = json_string_value(json_object_get(r->json, "code"));
	const char *m = json_string_value(json_object_get(r->json, "message"));
	assert_non_null(c);
	assert_non_null(m);
	assert_string_equal(c, code);
	if (!strstr(m, text))
		fail_msg("expected \"%s\" in the message \"%s\"", text, m);
}

/* Sends, expects an error answer, and clears it. */
static void
call_error(struct jit_worker *w, const char *method, const char *target, const char *authorization,
           const char *body, int status, const char *code, const char *text)
{
	struct reply r;
	call(w, method, target, authorization, body, &r);
	expect_error(&r, status, code, text);
	reply_clear(&r);
}

static const char *
string_at(const json_t *object, const char *key)
{
	const char *s = json_string_value(json_object_get(object, key));
	if (!s)
		fail_msg("no string \"%s\"", key);
	return s;
}

/* {"request": {...}}: the inner object, borrowed from the reply. */
static json_t *
request_of(const struct reply *r)
{
	assert_non_null(r->json);
	assert_int_equal(json_object_size(r->json), 1);
	json_t *request = json_object_get(r->json, "request");
	assert_true(json_is_object(request));
	return request;
}

static const char create_body[] = "{\"provider\":\"aws\",\"role\":\"deployer\","
                                  "\"resource_scope\":\"123456789012\","
                                  "\"duration_seconds\":3600,\"reason\":\"INC-1 deploy\"}";

/* Alice's request, created through the API on a thread; its id goes to `id`. */
static void
create_ok(struct fixture *f, char *id)
{
	struct reply r;
	call(&f->worker, "POST", API "/requests", f->alice, create_body, &r);
	expect_status(&r, 200);
	json_t *request = request_of(&r);
	assert_string_equal(string_at(request, "state"), "REQUEST_STATE_PENDING");
	const char *text = string_at(request, "id");
	assert_true(jit_id_valid(text));
	snprintf(id, JIT_ID_LENGTH + 1, "%s", text);
	reply_clear(&r);
}

static size_t
stored_requests(struct fixture *f)
{
	struct jit_request_filter filter = { .limit = 100 };
	struct jit_request **list = NULL;
	size_t n = 0;
	assert_int_equal(jit_store_request_list(f->worker.store, TENANT, &filter, &list, &n), 0);
	jit_request_list_free(list, n);
	return n;
}

static enum jit_request_state
stored_state(struct fixture *f, const char *id)
{
	struct jit_request *request = NULL;
	assert_int_equal(jit_store_request_get(f->worker.store, TENANT, id, &request), 0);
	assert_non_null(request);
	enum jit_request_state state = request->state;
	jit_request_free(request);
	return state;
}

static size_t
stored_events(struct fixture *f)
{
	struct jit_audit_filter filter = { .limit = 1000 };
	struct jit_audit_event **list = NULL;
	size_t n = 0;
	assert_int_equal(jit_store_audit_query(f->worker.store, TENANT, &filter, &list, &n), 0);
	jit_audit_event_list_free(list, n);
	return n;
}

static size_t
stored_policies(struct fixture *f)
{
	struct jit_policy **list = NULL;
	size_t n = 0;
	assert_int_equal(jit_store_policy_list(f->worker.store, TENANT, &list, &n), 0);
	jit_policy_list_free(list, n);
	return n;
}

static void
target_of(char *out, size_t size, const char *id, const char *verb)
{
	int n = snprintf(out, size, API "/requests/%s%s%s", id, verb ? "/" : "", verb ? verb : "");
	assert_true(n > 0 && (size_t)n < size);
}

/* ---- an event loop's worker ---------------------------------------------------------- */

/* A request of another lane is not run on an event loop's worker: defer, no status, no body,
 * and nothing changed in the store; the same request then runs on a thread. */
static void
expect_deferred(struct fixture *f, const char *method, const char *target,
                const char *authorization, const char *body)
{
	struct reply r;
	size_t requests = stored_requests(f), events = stored_events(f),
	       policies = stored_policies(f);
	call(&f->loop, method, target, authorization, body, &r);
	if (!r.res.defer)
		print_error("%s %s answered %d on an event loop\n", method, target, r.res.status);
	assert_true(r.res.defer);
	assert_int_equal(r.res.status, 0);
	assert_null(r.res.body);
	assert_int_equal(stored_requests(f), requests);
	assert_int_equal(stored_events(f), events);
	assert_int_equal(stored_policies(f), policies);
	reply_clear(&r);
}

static void
test_inline_only_defers(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], target[128];
	create_ok(f, id);

	expect_deferred(f, "POST", API "/requests", f->alice, create_body);
	expect_deferred(f, "GET", API "/requests", f->alice, NULL);
	expect_deferred(f, "GET", API "/audit", f->erin, NULL);
	target_of(target, sizeof(target), id, "approve");
	expect_deferred(f, "POST", target, f->bob, "{}");
	target_of(target, sizeof(target), id, "deny");
	expect_deferred(f, "POST", target, f->bob, "{\"reason\":\"no\"}");
	target_of(target, sizeof(target), id, "revoke");
	expect_deferred(f, "POST", target, f->alice, "{\"reason\":\"done\"}");
	target_of(target, sizeof(target), id, "credentials");
	expect_deferred(f, "GET", target, f->alice, NULL);
	expect_deferred(f, "POST", API "/policies", f->erin,
	                "{\"name\":\"extra\",\"type\":\"POLICY_TYPE_ELIGIBILITY\","
	                "\"rego\":\"package jitsudo.eligibility\\nallow := true\\n\"}");
	expect_deferred(f, "POST", API "/admin/reload-policies", f->erin, NULL);
	/* Even a request that would fail at once is left to its thread. */
	expect_deferred(f, "POST", API "/requests", NULL, create_body);
	assert_int_equal(stored_state(f, id), JIT_STATE_PENDING);

	/* INLINE requests are answered on the event loop. */
	struct reply r;
	target_of(target, sizeof(target), id, NULL);
	call(&f->loop, "GET", target, f->alice, NULL, &r);
	expect_status(&r, 200);
	assert_string_equal(string_at(request_of(&r), "id"), id);
	reply_clear(&r);
	char other[JIT_ID_LENGTH + 1];
	assert_int_equal(jit_id_new(other, sizeof(other)), 0);
	target_of(target, sizeof(target), other, NULL);
	call_error(&f->loop, "GET", target, f->alice, NULL, 404, "not_found", "");

	call(&f->loop, "GET", "/healthz", NULL, NULL, &r);
	expect_status(&r, 200);
	assert_string_equal(r.res.body, "ok\n");
	reply_clear(&r);
	call(&f->loop, "GET", "/readyz", NULL, NULL, &r);
	expect_status(&r, 200);
	reply_clear(&r);
	call(&f->loop, "GET", "/version", NULL, NULL, &r);
	expect_status(&r, 200);
	assert_string_equal(string_at(r.json, "version"), JIT_VERSION);
	assert_string_equal(
	        json_string_value(json_array_get(json_object_get(r.json, "api_versions"), 0)),
	        "v1alpha1");
	reply_clear(&r);
	call(&f->loop, "GET", "/.well-known/openid-configuration", NULL, NULL, &r);
	expect_status(&r, 200);
	assert_string_equal(string_at(r.json, "issuer"), ISS);
	reply_clear(&r);
	call(&f->loop, "GET", "/.well-known/jwks.json", NULL, NULL, &r);
	expect_status(&r, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "keys")), 1);
	reply_clear(&r);

	/* The deferred approval, run again on a thread, is answered. */
	target_of(target, sizeof(target), id, "approve");
	call(&f->worker, "POST", target, f->bob, "{}", &r);
	expect_status(&r, 200);
	reply_clear(&r);
	assert_int_equal(stored_state(f, id), JIT_STATE_APPROVED);
}

/* ---- errors -------------------------------------------------------------------------- */

/* A message refusing a token must not show it, nor any part of it worth keeping. */
static void
expect_no_echo(struct jit_worker *w, const char *header, const char *secret)
{
	struct reply r;
	call(w, "GET", API "/requests", header, NULL, &r);
	expect_error(&r, 401, "unauthenticated", "");
	if (strstr(r.res.body, secret))
		fail_msg("the answer echoes the token: %s", r.res.body);
	reply_clear(&r);
}

static void
test_unauthenticated(void **state)
{
	struct fixture *f = *state;
	call_error(&f->worker, "GET", API "/requests", NULL, NULL, 401, "unauthenticated",
	           "missing bearer token");
	call_error(&f->worker, "POST", API "/requests", NULL, create_body, 401, "unauthenticated",
	           "missing bearer token");
	call_error(&f->worker, "GET", API "/requests", "Basic YWxpY2U6c2VjcmV0", NULL, 401,
	           "unauthenticated", "missing bearer token");
	call_error(&f->worker, "GET", API "/audit", "Bearer not.a.token", NULL, 401,
	           "unauthenticated", "invalid token");
	expect_no_echo(&f->worker, "Bearer SECRETPART1.SECRETPART2.SECRETPART3", "SECRETPART");

	/* Alice's own token with its signature changed: refused, and not echoed. */
	char *h = strdup(f->alice);
	assert_non_null(h);
	size_t n = strlen(h);
	h[n - 5] = h[n - 5] == 'A' ? 'B' : 'A';
	expect_no_echo(&f->worker, h, strrchr(h, '.') + 1);
	expect_no_echo(&f->worker, h, strchr(h, '.') + 1);
	free(h);
	/* Unknown paths of the API need a token too. */
	call_error(&f->worker, "GET", API "/nothing", NULL, NULL, 401, "unauthenticated", "");
	assert_int_equal(stored_requests(f), 0);
}

static void
test_not_found(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], target[128];
	call_error(&f->worker, "GET", "/nothing", NULL, NULL, 404, "not_found", "no such endpoint");
	call_error(&f->worker, "GET", API "/nothing", f->alice, NULL, 404, "not_found",
	           "no such endpoint");
	call_error(&f->worker, "GET", API "/requests/a/b/c/d", f->alice, NULL, 404, "not_found",
	           "no such endpoint");
	call_error(&f->worker, "POST", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/undo",
	           f->alice, "{}", 404, "not_found", "no such endpoint");

	create_ok(f, id);
	/* A request id that does not exist, and one the caller may not see. */
	char other[JIT_ID_LENGTH + 1];
	assert_int_equal(jit_id_new(other, sizeof(other)), 0);
	target_of(target, sizeof(target), other, NULL);
	call_error(&f->worker, "GET", target, f->alice, NULL, 404, "not_found", "");
	target_of(target, sizeof(target), other, "approve");
	call_error(&f->worker, "POST", target, f->bob, "{}", 404, "not_found", "");
	target_of(target, sizeof(target), id, NULL);
	call_error(&f->worker, "GET", target, f->mallory, NULL, 404, "not_found", "");
	assert_int_equal(stored_state(f, id), JIT_STATE_PENDING);
}

static void
test_method_not_allowed(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *method, *target, *allow;
	} cases[] = {
		{ "PUT", API "/requests", "GET, POST" },
		{ "DELETE", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz", "GET" },
		{ "GET", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/approve", "POST" },
		{ "GET", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/deny", "POST" },
		{ "PUT", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/revoke", "POST" },
		{ "POST", API "/requests/req_01hzzzzzzzzzzzzzzzzzzzzzzz/credentials", "GET" },
		{ "PATCH", API "/policies", "GET, POST" },
		{ "PUT", API "/policies/pol_1", "GET, DELETE" },
		{ "GET", API "/policies:eval", "POST" },
		{ "POST", API "/audit", "GET" },
		{ "GET", API "/admin/reload-policies", "POST" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply r;
		call(&f->worker, cases[i].method, cases[i].target, f->erin, NULL, &r);
		expect_error(&r, 405, "method_not_allowed", "method not allowed");
		assert_non_null(r.res.allow);
		assert_string_equal(r.res.allow, cases[i].allow);
		reply_clear(&r);
	}
	assert_int_equal(stored_requests(f), 0);
}

static void
test_bad_input(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], target[128];
	struct jit_worker *w = &f->worker;
	call_error(w, "POST", API "/requests", f->alice, "{\"provider\":", 400, "invalid_argument",
	           "");
	call_error(w, "POST", API "/requests", f->alice, "[1]", 400, "invalid_argument", "");
	call_error(w, "POST", API "/requests", f->alice,
	           "{\"provider\":\"aws\",\"role\":\"deployer\",\"resource_scope\":\"1\","
	           "\"duration_seconds\":3600,\"reason\":\"r\",\"colour\":\"red\"}",
	           400, "invalid_argument", "colour");
	call_error(w, "POST", API "/requests", f->alice,
	           "{\"provider\":\"aws\",\"resource_scope\":\"1\",\"duration_seconds\":3600,"
	           "\"reason\":\"r\"}",
	           400, "invalid_argument", "role");
	call_error(w, "POST", API "/requests", f->alice,
	           "{\"provider\":\"aws\",\"role\":\"deployer\",\"resource_scope\":\"1\","
	           "\"duration_seconds\":\"soon\",\"reason\":\"r\"}",
	           400, "invalid_argument", "duration_seconds");
	call_error(w, "POST", API "/requests", f->alice,
	           "{\"provider\":\"aws\",\"role\":\"deployer\",\"resource_scope\":\"1\","
	           "\"duration_seconds\":3600,\"reason\":\"r\",\"break_glass\":\"yes\"}",
	           400, "invalid_argument", "break_glass");
	assert_int_equal(stored_requests(f), 0);

	call_error(w, "GET", API "/requests?colour=red", f->alice, NULL, 400, "invalid_argument",
	           "colour");
	call_error(w, "GET", API "/requests?mine=maybe", f->alice, NULL, 400, "invalid_argument",
	           "mine");
	call_error(w, "GET", API "/requests?page_size=5000", f->alice, NULL, 400,
	           "invalid_argument", "page_size");
	call_error(w, "GET", API "/requests?state=NOPE", f->alice, NULL, 400, "invalid_argument",
	           "state");
	call_error(w, "GET", API "/requests?page_token=%%%", f->alice, NULL, 400,
	           "invalid_argument", "");
	call_error(w, "GET", API "/audit?since=yesterday", f->erin, NULL, 400, "invalid_argument",
	           "since");
	call_error(w, "GET", API "/policies?x=1", f->alice, NULL, 400, "invalid_argument", "");

	create_ok(f, id);
	target_of(target, sizeof(target), id, "deny");
	call_error(w, "POST", target, f->bob, "{}", 400, "invalid_argument", "reason");
	call_error(w, "POST", target, f->bob, "{\"reason\":\"no\",\"why\":1}", 400,
	           "invalid_argument", "why");
	target_of(target, sizeof(target), id, "approve");
	call_error(w, "POST", target, f->bob, "{\"comment\":7}", 400, "invalid_argument",
	           "comment");
	char other[JIT_ID_LENGTH + 1], body[96];
	assert_int_equal(jit_id_new(other, sizeof(other)), 0);
	snprintf(body, sizeof(body), "{\"request_id\":\"%s\"}", other);
	call_error(w, "POST", target, f->bob, body, 400, "invalid_argument", "request_id");
	assert_int_equal(stored_state(f, id), JIT_STATE_PENDING);
	assert_int_equal(stored_requests(f), 1);
}

static void
test_forbidden(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], target[128];
	/* The eligibility policy refuses mallory, with its reason. */
	call_error(&f->worker, "POST", API "/requests", f->mallory, create_body, 403,
	           "permission_denied", "only eng");
	assert_int_equal(stored_requests(f), 0);

	create_ok(f, id);
	/* The requester is refused her own approval; mallory, whom the approval policy does not
	 * make an approver of it, does not even see the request. */
	target_of(target, sizeof(target), id, "approve");
	call_error(&f->worker, "POST", target, f->alice, "{}", 403, "permission_denied", "");
	call_error(&f->worker, "POST", target, f->mallory, "{}", 404, "not_found", "");
	/* Policies are changed by admins only. */
	call_error(&f->worker, "POST", API "/policies", f->alice,
	           "{\"name\":\"extra\",\"type\":\"POLICY_TYPE_ELIGIBILITY\","
	           "\"rego\":\"package jitsudo.eligibility\\nallow := true\\n\"}",
	           403, "permission_denied", "");
	call_error(&f->worker, "POST", API "/admin/reload-policies", f->alice, NULL, 403,
	           "permission_denied", "");
	assert_int_equal(stored_state(f, id), JIT_STATE_PENDING);
	assert_int_equal(stored_policies(f), 0);
}

static void
test_conflict(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], target[128], message[160];
	struct reply r;
	create_ok(f, id);

	/* Credentials of a PENDING request. */
	target_of(target, sizeof(target), id, "credentials");
	snprintf(message, sizeof(message),
	         "request %s is PENDING; credentials exist only while APPROVED or ACTIVE", id);
	call_error(&f->worker, "GET", target, f->alice, NULL, 409, "failed_precondition", message);

	target_of(target, sizeof(target), id, "deny");
	call(&f->worker, "POST", target, f->bob, "{\"reason\":\"not now\"}", &r);
	expect_status(&r, 200);
	assert_string_equal(string_at(request_of(&r), "state"), "REQUEST_STATE_REJECTED");
	reply_clear(&r);

	/* Approving a denied request: the state table's text. */
	target_of(target, sizeof(target), id, "approve");
	snprintf(message, sizeof(message),
	         "request %s is REJECTED; only a PENDING request can be approved", id);
	call_error(&f->worker, "POST", target, f->bob, "{}", 409, "failed_precondition", message);
	target_of(target, sizeof(target), id, "revoke");
	snprintf(message, sizeof(message), "request %s is already REJECTED", id);
	call_error(&f->worker, "POST", target, f->alice, "{\"reason\":\"done\"}", 409,
	           "failed_precondition", message);
	assert_int_equal(stored_state(f, id), JIT_STATE_REJECTED);
}

/* ---- a request's life ---------------------------------------------------------------- */

static void
test_create_get_approve_credentials(void **state)
{
	struct fixture *f = *state;
	char id[JIT_ID_LENGTH + 1], target[128];
	struct reply r;

	call(&f->worker, "POST", API "/requests", f->alice, create_body, &r);
	expect_status(&r, 200);
	json_t *request = request_of(&r);
	snprintf(id, sizeof(id), "%s", string_at(request, "id"));
	assert_true(jit_id_valid(id));
	assert_string_equal(string_at(request, "state"), "REQUEST_STATE_PENDING");
	assert_string_equal(string_at(request, "requester_identity"), "alice@example.com");
	assert_string_equal(string_at(request, "provider"), "aws");
	assert_string_equal(string_at(request, "role"), "deployer");
	assert_string_equal(string_at(request, "resource_scope"), "123456789012");
	assert_string_equal(string_at(request, "reason"), "INC-1 deploy");
	assert_int_equal(json_integer_value(json_object_get(request, "duration_seconds")), 3600);
	assert_true(json_is_false(json_object_get(request, "break_glass")));
	assert_true(json_is_object(json_object_get(request, "metadata")));
	int64_t created = 0;
	assert_int_equal(jit_rfc3339_parse(string_at(request, "created_at"), &created), 0);
	assert_true(created > 0);
	assert_non_null(json_object_get(request, "updated_at"));
	reply_clear(&r);
	assert_int_equal(stored_state(f, id), JIT_STATE_PENDING);

	target_of(target, sizeof(target), id, NULL);
	call(&f->worker, "GET", target, f->alice, NULL, &r);
	expect_status(&r, 200);
	assert_string_equal(string_at(request_of(&r), "id"), id);
	assert_string_equal(string_at(request_of(&r), "state"), "REQUEST_STATE_PENDING");
	reply_clear(&r);

	/* The requester may not approve her own request. */
	target_of(target, sizeof(target), id, "approve");
	call_error(&f->worker, "POST", target, f->alice, "{}", 403, "permission_denied", "");
	assert_int_equal(stored_state(f, id), JIT_STATE_PENDING);

	call(&f->worker, "POST", target, f->bob, "{\"comment\":\"ok\"}", &r);
	expect_status(&r, 200);
	request = request_of(&r);
	assert_string_equal(string_at(request, "state"), "REQUEST_STATE_APPROVED");
	json_t *approval = json_array_get(json_object_get(request, "approvals"), 0);
	assert_non_null(approval);
	assert_string_equal(string_at(approval, "approver_identity"), "bob@example.com");
	assert_string_equal(string_at(approval, "comment"), "ok");
	assert_non_null(json_object_get(request, "expires_at"));
	reply_clear(&r);
	assert_int_equal(stored_state(f, id), JIT_STATE_APPROVED);

	/* Only the requester fetches the credentials. */
	target_of(target, sizeof(target), id, "credentials");
	call(&f->worker, "GET", target, f->bob, NULL, &r);
	assert_true(r.res.status == 403 || r.res.status == 404);
	reply_clear(&r);
	assert_int_equal(stored_state(f, id), JIT_STATE_APPROVED);

	call(&f->worker, "GET", target, f->alice, NULL, &r);
	expect_status(&r, 200);
	assert_non_null(r.json);
	json_t *grant = json_object_get(r.json, "grant");
	assert_true(json_is_object(grant));
	assert_string_equal(string_at(grant, "request_id"), id);
	int64_t issued = 0, expires = 0;
	assert_int_equal(jit_rfc3339_parse(string_at(grant, "issued_at"), &issued), 0);
	assert_int_equal(jit_rfc3339_parse(string_at(grant, "expires_at"), &expires), 0);
	assert_true(expires > issued);
	json_t *credentials = json_object_get(grant, "credentials");
	assert_int_equal(json_array_size(credentials), 4);
	assert_string_equal(string_at(json_array_get(credentials, 0), "name"), "AWS_ACCESS_KEY_ID");
	assert_true(strlen(string_at(json_array_get(credentials, 0), "value")) > 0);
	reply_clear(&r);
	assert_int_equal(stored_state(f, id), JIT_STATE_ACTIVE);

	target_of(target, sizeof(target), id, NULL);
	call(&f->worker, "GET", target, f->alice, NULL, &r);
	expect_status(&r, 200);
	assert_string_equal(string_at(request_of(&r), "state"), "REQUEST_STATE_ACTIVE");
	reply_clear(&r);

	/* Her list holds it; the audit shows it to an admin. */
	call(&f->worker, "GET", API "/requests?mine=true", f->alice, NULL, &r);
	expect_status(&r, 200);
	json_t *list = json_object_get(r.json, "requests");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(string_at(json_array_get(list, 0), "id"), id);
	assert_string_equal(string_at(r.json, "next_page_token"), "");
	reply_clear(&r);
	snprintf(target, sizeof(target), API "/audit?request_id=%s", id);
	call(&f->worker, "GET", target, f->erin, NULL, &r);
	expect_status(&r, 200);
	assert_true(json_array_size(json_object_get(r.json, "events")) >= 3);
	reply_clear(&r);

	target_of(target, sizeof(target), id, "revoke");
	call(&f->worker, "POST", target, f->alice, "{\"reason\":\"done\"}", &r);
	expect_status(&r, 200);
	assert_string_equal(string_at(request_of(&r), "state"), "REQUEST_STATE_REVOKED");
	reply_clear(&r);
	assert_int_equal(stored_state(f, id), JIT_STATE_REVOKED);
	target_of(target, sizeof(target), id, "credentials");
	call_error(&f->worker, "GET", target, f->alice, NULL, 409, "failed_precondition", id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lanes),
		cmocka_unit_test_setup_teardown(test_inline_only_defers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unauthenticated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forbidden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_get_approve_credentials, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
