/* The server's domain objects: enum names both ways, constructors, the JSON forms of requests,
 * policies and audit events, and the audit event's canonical text and chained SHA-256. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/buf.h"
#include "lib/common/errors.h"
#include "lib/common/id.h"
#include "lib/json/json.h"
#include "lib/common/timeutil.h"
#include "server/core/model.h"

#define UNUSED_STATE void **state __attribute__((unused))

/* 2026-03-20T16:00:00Z */
#define T0 (1774022400LL * 1000000000LL)

static void
test_state_names(UNUSED_STATE)
{
	static const struct {
		enum jit_request_state state;
		const char *name;
	} cases[] = {
		{ JIT_STATE_PENDING, "REQUEST_STATE_PENDING" },
		{ JIT_STATE_APPROVED, "REQUEST_STATE_APPROVED" },
		{ JIT_STATE_REJECTED, "REQUEST_STATE_REJECTED" },
		{ JIT_STATE_ACTIVE, "REQUEST_STATE_ACTIVE" },
		{ JIT_STATE_EXPIRED, "REQUEST_STATE_EXPIRED" },
		{ JIT_STATE_REVOKED, "REQUEST_STATE_REVOKED" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum jit_request_state parsed = JIT_STATE_UNSPECIFIED;
		assert_string_equal(jit_state_name(cases[i].state), cases[i].name);
		assert_int_equal(jit_state_parse(cases[i].name, &parsed), 0);
		assert_int_equal(parsed, cases[i].state);
		parsed = JIT_STATE_UNSPECIFIED;
		assert_int_equal(jit_state_parse(cases[i].name + strlen("REQUEST_STATE_"), &parsed),
		                 0);
		assert_int_equal(parsed, cases[i].state);
	}
	assert_string_equal(jit_state_name(JIT_STATE_UNSPECIFIED), "REQUEST_STATE_UNSPECIFIED");
	assert_string_equal(jit_state_name((enum jit_request_state)42),
	                    "REQUEST_STATE_UNSPECIFIED");
	assert_string_equal(jit_state_name((enum jit_request_state) - 1),
	                    "REQUEST_STATE_UNSPECIFIED");

	enum jit_request_state untouched = JIT_STATE_ACTIVE;
	static const char *const bad[] = { "REQUEST_STATE_UNSPECIFIED",
		                           "UNSPECIFIED",
		                           "pending",
		                           "REQUEST_STATE_pending",
		                           "PENDING ",
		                           "REQUEST_STATE_",
		                           "",
		                           "REQUEST_STATE_REQUEST_STATE_PENDING" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jit_state_parse(bad[i], &untouched), JIT_ERR_INVALID);
	assert_int_equal(jit_state_parse(NULL, &untouched), JIT_ERR_INVALID);
	assert_int_equal(untouched, JIT_STATE_ACTIVE);

	assert_false(jit_state_terminal(JIT_STATE_PENDING));
	assert_false(jit_state_terminal(JIT_STATE_APPROVED));
	assert_false(jit_state_terminal(JIT_STATE_ACTIVE));
	assert_true(jit_state_terminal(JIT_STATE_REJECTED));
	assert_true(jit_state_terminal(JIT_STATE_EXPIRED));
	assert_true(jit_state_terminal(JIT_STATE_REVOKED));
}

static void
test_policy_types(UNUSED_STATE)
{
	enum jit_policy_type type = JIT_POLICY_UNSPECIFIED;
	assert_string_equal(jit_policy_type_name(JIT_POLICY_ELIGIBILITY),
	                    "POLICY_TYPE_ELIGIBILITY");
	assert_string_equal(jit_policy_type_name(JIT_POLICY_APPROVAL), "POLICY_TYPE_APPROVAL");
	assert_string_equal(jit_policy_type_name((enum jit_policy_type)9),
	                    "POLICY_TYPE_UNSPECIFIED");
	assert_int_equal(jit_policy_type_parse("POLICY_TYPE_ELIGIBILITY", &type), 0);
	assert_int_equal(type, JIT_POLICY_ELIGIBILITY);
	assert_int_equal(jit_policy_type_parse("APPROVAL", &type), 0);
	assert_int_equal(type, JIT_POLICY_APPROVAL);
	assert_int_equal(jit_policy_type_parse("ELIGIBILITY", &type), 0);
	assert_int_equal(type, JIT_POLICY_ELIGIBILITY);
	assert_int_equal(jit_policy_type_parse("POLICY_TYPE_APPROVAL", &type), 0);
	assert_int_equal(type, JIT_POLICY_APPROVAL);
	assert_int_equal(jit_policy_type_parse("POLICY_TYPE_UNSPECIFIED", &type), JIT_ERR_INVALID);
	assert_int_equal(jit_policy_type_parse("approval", &type), JIT_ERR_INVALID);
	assert_int_equal(jit_policy_type_parse("", &type), JIT_ERR_INVALID);
	assert_int_equal(jit_policy_type_parse(NULL, &type), JIT_ERR_INVALID);
	assert_int_equal(type, JIT_POLICY_APPROVAL);
}

static void
test_policy_ids(UNUSED_STATE)
{
	char a[JIT_POLICY_ID_LENGTH + 1], b[JIT_POLICY_ID_LENGTH + 1], small[8];
	assert_int_equal(jit_policy_id_new(a, sizeof(a)), 0);
	assert_int_equal(jit_policy_id_new(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), JIT_POLICY_ID_LENGTH);
	assert_memory_equal(a, "pol_", 4);
	assert_true(strcmp(a, b) < 0); /* sortable by creation, like request ids */
	/* The rest has a request id's form. */
	char as_request[JIT_ID_LENGTH + 1];
	memcpy(as_request, "req_", 4);
	memcpy(as_request + 4, a + 4, JIT_POLICY_ID_LENGTH - 4 + 1);
	assert_true(jit_id_valid(as_request));
	assert_int_equal(jit_policy_id_new(small, sizeof(small)), -EINVAL);
}

static void
test_constructors(UNUSED_STATE)
{
	jit_request_free(NULL);
	jit_request_list_free(NULL, 0);
	jit_policy_free(NULL);
	jit_policy_list_free(NULL, 0);
	jit_audit_event_free(NULL);
	jit_audit_event_list_free(NULL, 0);

	struct jit_request *request = jit_request_new();
	assert_non_null(request);
	assert_true(json_is_object(request->metadata));
	assert_int_equal(request->required_approvals, 1);
	assert_int_equal(request->state, JIT_STATE_UNSPECIFIED);
	assert_null(request->approvals);
	jit_request_free(request);

	struct jit_audit_event *event = jit_audit_event_new();
	assert_non_null(event);
	assert_true(json_is_object(event->details));
	assert_string_equal(event->hash, "");
	jit_audit_event_free(event);

	struct jit_policy **list = calloc(2, sizeof(*list));
	assert_non_null(list);
	list[0] = jit_policy_new();
	list[1] = jit_policy_new();
	list[1]->name = strdup("x");
	jit_policy_list_free(list, 2);

	char *copy = jit_strdup_or_null("abc");
	assert_string_equal(copy, "abc");
	free(copy);
	assert_null(jit_strdup_or_null(NULL));
}

static struct jit_request *
sample_request(void)
{
	struct jit_request *request = jit_request_new();
	assert_non_null(request);
	memcpy(request->id, "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX", JIT_ID_LENGTH + 1);
	request->state = JIT_STATE_PENDING;
	request->requester_identity = strdup("alice@example.com");
	request->provider = strdup("aws");
	request->role = strdup("prod-infra-admin");
	request->resource_scope = strdup("123456789012");
	request->duration_seconds = 7200;
	request->reason = strdup("Investigating P1 ECS crash");
	request->created_at = T0;
	request->updated_at = T0 + 999999999; /* fractions are dropped */
	return request;
}

static void
test_request_json_minimal(UNUSED_STATE)
{
	_cleanup_(jit_request_freep) struct jit_request *request = sample_request();
	_cleanup_json_ json_t *json = jit_request_to_json(request);
	assert_non_null(json);
	assert_string_equal(json_string_value(json_object_get(json, "id")),
	                    "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX");
	assert_string_equal(json_string_value(json_object_get(json, "state")),
	                    "REQUEST_STATE_PENDING");
	assert_string_equal(json_string_value(json_object_get(json, "requester_identity")),
	                    "alice@example.com");
	assert_string_equal(json_string_value(json_object_get(json, "provider")), "aws");
	assert_string_equal(json_string_value(json_object_get(json, "role")), "prod-infra-admin");
	assert_string_equal(json_string_value(json_object_get(json, "resource_scope")),
	                    "123456789012");
	assert_true(json_is_integer(json_object_get(json, "duration_seconds")));
	assert_int_equal(json_integer_value(json_object_get(json, "duration_seconds")), 7200);
	assert_string_equal(json_string_value(json_object_get(json, "reason")),
	                    "Investigating P1 ECS crash");
	assert_true(json_is_false(json_object_get(json, "break_glass")));
	assert_true(json_is_object(json_object_get(json, "metadata")));
	assert_string_equal(json_string_value(json_object_get(json, "created_at")),
	                    "2026-03-20T16:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json, "updated_at")),
	                    "2026-03-20T16:00:00Z");
	/* Unset times and optional strings are absent; the rest is always there. */
	static const char *const absent[] = { "issued_at",          "expires_at",
		                              "pending_expires_at", "decided_by",
		                              "decision_reason",    "host",
		                              "approver_tier" };
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		assert_null(json_object_get(json, absent[i]));
	assert_int_equal(json_integer_value(json_object_get(json, "required_approvals")), 1);
	assert_true(json_is_array(json_object_get(json, "approvals")));
	assert_int_equal(json_array_size(json_object_get(json, "approvals")), 0);
	assert_true(json_is_false(json_object_get(json, "revocation_pending")));
	/* Internal bookkeeping never leaves the server. */
	assert_null(json_object_get(json, "revoke_attempts"));
	assert_null(json_object_get(json, "revoke_next_attempt_at"));
}

static void
test_request_json_full(UNUSED_STATE)
{
	_cleanup_(jit_request_freep) struct jit_request *request = sample_request();
	request->state = JIT_STATE_REVOKED;
	request->break_glass = true;
	json_object_set_new(request->metadata, "ticket", json_string("INC-4421"));
	request->pending_expires_at = T0 + 3600 * JIT_NSEC_PER_SEC;
	request->issued_at = T0 + 60 * JIT_NSEC_PER_SEC;
	request->expires_at = T0 + 7260 * JIT_NSEC_PER_SEC;
	request->approver_tier = strdup("human");
	request->required_approvals = 2;
	request->approvals = calloc(2, sizeof(*request->approvals));
	request->approval_count = 2;
	request->approvals[0].approver_identity = strdup("bob@example.com");
	request->approvals[0].comment = strdup("ok");
	request->approvals[0].approved_at = T0 + 30 * JIT_NSEC_PER_SEC;
	request->approvals[1].approver_identity = strdup("carol@example.com");
	request->approvals[1].approved_at = T0 + 60 * JIT_NSEC_PER_SEC;
	request->decided_by = strdup("bob@example.com");
	request->decision_reason = strdup("Incident resolved");
	request->revocation_pending = true;
	request->revoke_attempts = 3;
	request->host = strdup("bastion.example.com");

	_cleanup_json_ json_t *json = jit_request_to_json(request);
	assert_non_null(json);
	assert_string_equal(json_string_value(json_object_get(json, "state")),
	                    "REQUEST_STATE_REVOKED");
	assert_true(json_is_true(json_object_get(json, "break_glass")));
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(json, "metadata"), "ticket")),
	        "INC-4421");
	/* A copy: the request's own object is not shared. */
	assert_ptr_not_equal(json_object_get(json, "metadata"), request->metadata);
	assert_string_equal(json_string_value(json_object_get(json, "pending_expires_at")),
	                    "2026-03-20T17:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json, "issued_at")),
	                    "2026-03-20T16:01:00Z");
	assert_string_equal(json_string_value(json_object_get(json, "expires_at")),
	                    "2026-03-20T18:01:00Z");
	assert_string_equal(json_string_value(json_object_get(json, "approver_tier")), "human");
	assert_int_equal(json_integer_value(json_object_get(json, "required_approvals")), 2);
	json_t *approvals = json_object_get(json, "approvals");
	assert_int_equal(json_array_size(approvals), 2);
	json_t *first = json_array_get(approvals, 0), *second = json_array_get(approvals, 1);
	assert_string_equal(json_string_value(json_object_get(first, "approver_identity")),
	                    "bob@example.com");
	assert_string_equal(json_string_value(json_object_get(first, "comment")), "ok");
	assert_string_equal(json_string_value(json_object_get(first, "approved_at")),
	                    "2026-03-20T16:00:30Z");
	assert_string_equal(json_string_value(json_object_get(second, "approver_identity")),
	                    "carol@example.com");
	assert_null(json_object_get(second, "comment"));
	assert_string_equal(json_string_value(json_object_get(json, "decided_by")),
	                    "bob@example.com");
	assert_string_equal(json_string_value(json_object_get(json, "decision_reason")),
	                    "Incident resolved");
	assert_true(json_is_true(json_object_get(json, "revocation_pending")));
	assert_string_equal(json_string_value(json_object_get(json, "host")),
	                    "bastion.example.com");
	assert_null(json_object_get(json, "revoke_attempts"));

	/* The documented field order (seed 000 first). */
	static const char *const order[] = {
		"id",
		"state",
		"requester_identity",
		"provider",
		"role",
		"resource_scope",
		"duration_seconds",
		"reason",
		"break_glass",
		"metadata",
		"created_at",
		"updated_at",
		"issued_at",
		"expires_at",
		"pending_expires_at",
		"approver_tier",
		"required_approvals",
		"approvals",
		"decided_by",
		"decision_reason",
		"revocation_pending",
		"host",
	};
	size_t i = 0;
	const char *key;
	json_t *value;
	json_object_foreach(json, key, value)
	{
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
}

/* The direct writer gives exactly jansson's compact text of jit_request_to_json. */
static void
expect_same_text(const struct jit_request *request)
{
	_cleanup_json_ json_t *json = jit_request_to_json(request);
	assert_non_null(json);
	_cleanup_free_ char *expected = json_dumps(json, JSON_COMPACT);
	assert_non_null(expected);
	struct jit_buf out;
	jit_buf_init(&out, 1 << 20);
	assert_int_equal(jit_request_write_json(request, &out), 0);
	assert_int_equal(jit_buf_put_u8(&out, 0), 0);
	if (strcmp((const char *)out.data, expected) != 0) {
		/* cmocka cuts long messages; print both whole. */
		fprintf(stderr, "writer: %s\njansson: %s\n", (const char *)out.data, expected);
		fail();
	}
	jit_buf_free(&out);
}

static void
test_request_json_text(UNUSED_STATE)
{
	_cleanup_(jit_request_freep) struct jit_request *request = sample_request();
	expect_same_text(request);

	/* Every optional field, escapes, UTF-8 and metadata. */
	free(request->reason);
	request->reason = strdup("quote \" backslash \\ tab \t nl \n bell \a del \x7f "
	                         "slash / caf\xc3\xa9 \xe2\x80\xa8");
	json_object_set_new(request->metadata, "ticket", json_string("INC-4421 \"x\""));
	json_object_set_new(request->metadata, "team", json_string("sre"));
	request->state = JIT_STATE_ACTIVE;
	request->break_glass = true;
	request->duration_seconds = -1; /* the writer does not judge values */
	request->pending_expires_at = T0 + 1;
	request->issued_at = T0 + 60 * JIT_NSEC_PER_SEC;
	request->expires_at = T0 + 7260 * JIT_NSEC_PER_SEC;
	request->approver_tier = strdup("auto");
	request->required_approvals = 3;
	request->approvals = calloc(2, sizeof(*request->approvals));
	assert_non_null(request->approvals);
	request->approval_count = 2;
	request->approvals[0].approver_identity = strdup("bob@example.com");
	request->approvals[0].comment = strdup("fine\r\n");
	request->approvals[0].approved_at = T0;
	request->approvals[1].approver_identity = strdup("carol@example.com");
	request->approvals[1].approved_at = T0 + 1;
	request->decided_by = strdup("system");
	request->decision_reason = strdup("\x01\x1f");
	request->revocation_pending = true;
	request->host = strdup("bastion.example.com");
	expect_same_text(request);

	/* Too small a bound is refused, not truncated. */
	struct jit_buf small;
	jit_buf_init(&small, 64);
	assert_int_equal(jit_request_write_json(request, &small), JIT_ERR_TOO_LARGE);
	jit_buf_free(&small);
}

static void
test_policy_json(UNUSED_STATE)
{
	_cleanup_(jit_policy_freep) struct jit_policy *policy = jit_policy_new();
	assert_non_null(policy);
	memcpy(policy->id, "pol_01J8KZ4F2EMNQZ3V7XKQYBD4WX", 31);
	policy->name = strdup("sre-eligibility");
	policy->type = JIT_POLICY_ELIGIBILITY;
	policy->rego = strdup("package jitsudo.eligibility\n");
	policy->enabled = true;
	policy->created_at = T0;
	policy->updated_at = T0 + 5 * JIT_NSEC_PER_SEC;
	policy->updated_by = strdup("admin@example.com");
	_cleanup_json_ json_t *json = jit_policy_to_json(policy);
	assert_non_null(json);
	assert_string_equal(json_string_value(json_object_get(json, "id")),
	                    "pol_01J8KZ4F2EMNQZ3V7XKQYBD4WX");
	assert_string_equal(json_string_value(json_object_get(json, "name")), "sre-eligibility");
	assert_string_equal(json_string_value(json_object_get(json, "type")),
	                    "POLICY_TYPE_ELIGIBILITY");
	assert_string_equal(json_string_value(json_object_get(json, "rego")),
	                    "package jitsudo.eligibility\n");
	assert_string_equal(json_string_value(json_object_get(json, "description")), "");
	assert_true(json_is_true(json_object_get(json, "enabled")));
	assert_string_equal(json_string_value(json_object_get(json, "created_at")),
	                    "2026-03-20T16:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json, "updated_at")),
	                    "2026-03-20T16:00:05Z");
	assert_string_equal(json_string_value(json_object_get(json, "updated_by")),
	                    "admin@example.com");
	assert_int_equal(json_object_size(json), 9);
}

static struct jit_audit_event *
sample_event(void)
{
	struct jit_audit_event *event = jit_audit_event_new();
	assert_non_null(event);
	event->timestamp = T0 + 500000000;
	event->actor_identity = strdup("alice@example.com");
	event->action = strdup("request.created");
	event->request_id = strdup("req_1");
	event->provider = strdup("aws");
	event->outcome = strdup("success");
	json_object_set_new(event->details, "reason", json_string("P1"));
	json_object_set_new(event->details, "break_glass", json_true());
	return event;
}

#define SAMPLE_CANONICAL                                                                \
	"{\"action\":\"request.created\",\"actor_identity\":\"alice@example.com\","     \
	"\"details\":{\"break_glass\":true,\"reason\":\"P1\"},\"outcome\":\"success\"," \
	"\"provider\":\"aws\",\"request_id\":\"req_1\",\"resource_scope\":\"\","        \
	"\"timestamp\":\"2026-03-20T16:00:00.5Z\"}"
/* sha256(SAMPLE_CANONICAL) and sha256(that hex + SAMPLE_CANONICAL), computed independently. */
#define SAMPLE_HASH_FIRST "59c5d83fac221074c930fa2ccaa905080257c21fe2734863312700d177e9cb95"
#define SAMPLE_HASH_CHAINED "4d67f6e7e82670b0935233b40e30dd021a13954a3028ac277c3772ea2a18ff21"

static void
test_audit_canonical_and_seal(UNUSED_STATE)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = sample_event();
	_cleanup_free_ char *canonical = jit_audit_event_canonical(event);
	assert_non_null(canonical);
	assert_string_equal(canonical, SAMPLE_CANONICAL);

	assert_int_equal(jit_audit_event_seal(event, ""), 0);
	assert_string_equal(event->prev_hash, "");
	assert_string_equal(event->hash, SAMPLE_HASH_FIRST);
	assert_int_equal(jit_audit_event_seal(event, NULL), 0);
	assert_string_equal(event->hash, SAMPLE_HASH_FIRST);

	assert_int_equal(jit_audit_event_seal(event, SAMPLE_HASH_FIRST), 0);
	assert_string_equal(event->prev_hash, SAMPLE_HASH_FIRST);
	assert_string_equal(event->hash, SAMPLE_HASH_CHAINED);

	/* The event's own prev_hash may be passed (as verify does). */
	assert_int_equal(jit_audit_event_seal(event, event->prev_hash), 0);
	assert_string_equal(event->hash, SAMPLE_HASH_CHAINED);

	/* id and hash are not part of the canonical text; every other field is. */
	event->id = 77;
	assert_int_equal(jit_audit_event_seal(event, SAMPLE_HASH_FIRST), 0);
	assert_string_equal(event->hash, SAMPLE_HASH_CHAINED);
	free(event->outcome);
	event->outcome = strdup("denied");
	assert_int_equal(jit_audit_event_seal(event, SAMPLE_HASH_FIRST), 0);
	assert_string_not_equal(event->hash, SAMPLE_HASH_CHAINED);
	free(event->outcome);
	event->outcome = strdup("success");
	event->timestamp += 1;
	assert_int_equal(jit_audit_event_seal(event, SAMPLE_HASH_FIRST), 0);
	assert_string_not_equal(event->hash, SAMPLE_HASH_CHAINED);
	event->timestamp -= 1;
	json_object_set_new(event->details, "extra", json_integer(1));
	assert_int_equal(jit_audit_event_seal(event, SAMPLE_HASH_FIRST), 0);
	assert_string_not_equal(event->hash, SAMPLE_HASH_CHAINED);
	json_object_del(event->details, "extra");
	assert_int_equal(jit_audit_event_seal(event, SAMPLE_HASH_FIRST), 0);
	assert_string_equal(event->hash, SAMPLE_HASH_CHAINED);

	char too_long[80];
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(jit_audit_event_seal(event, too_long), JIT_ERR_INVALID);
	assert_string_equal(event->hash, SAMPLE_HASH_CHAINED);
}

static void
test_audit_canonical_absent_fields(UNUSED_STATE)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = jit_audit_event_new();
	assert_non_null(event);
	event->timestamp = T0;
	json_decref(event->details);
	event->details = NULL;
	_cleanup_free_ char *canonical = jit_audit_event_canonical(event);
	assert_string_equal(canonical,
	                    "{\"action\":\"\",\"actor_identity\":\"\",\"details\":{},"
	                    "\"outcome\":\"\",\"provider\":\"\",\"request_id\":\"\","
	                    "\"resource_scope\":\"\",\"timestamp\":\"2026-03-20T16:00:00Z\"}");
}

static void
test_audit_json(UNUSED_STATE)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = sample_event();
	event->id = 12;
	event->timestamp = T0 + 123456789;
	assert_int_equal(jit_audit_event_seal(event, SAMPLE_HASH_FIRST), 0);
	_cleanup_json_ json_t *json = jit_audit_event_to_json(event);
	assert_non_null(json);
	assert_int_equal(json_integer_value(json_object_get(json, "id")), 12);
	assert_string_equal(json_string_value(json_object_get(json, "timestamp")),
	                    "2026-03-20T16:00:00.123456789Z");
	assert_string_equal(json_string_value(json_object_get(json, "actor_identity")),
	                    "alice@example.com");
	assert_string_equal(json_string_value(json_object_get(json, "action")), "request.created");
	assert_string_equal(json_string_value(json_object_get(json, "request_id")), "req_1");
	assert_string_equal(json_string_value(json_object_get(json, "provider")), "aws");
	assert_string_equal(json_string_value(json_object_get(json, "resource_scope")), "");
	assert_string_equal(json_string_value(json_object_get(json, "outcome")), "success");
	assert_string_equal(json_string_value(json_object_get(json, "details_json")),
	                    "{\"reason\":\"P1\",\"break_glass\":true}");
	assert_string_equal(json_string_value(json_object_get(json, "prev_hash")),
	                    SAMPLE_HASH_FIRST);
	assert_string_equal(json_string_value(json_object_get(json, "hash")), event->hash);
	assert_int_equal(json_object_size(json), 11);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_policy_types),
		cmocka_unit_test(test_policy_ids),
		cmocka_unit_test(test_constructors),
		cmocka_unit_test(test_request_json_minimal),
		cmocka_unit_test(test_request_json_text),
		cmocka_unit_test(test_request_json_full),
		cmocka_unit_test(test_policy_json),
		cmocka_unit_test(test_audit_canonical_and_seal),
		cmocka_unit_test(test_audit_canonical_absent_fields),
		cmocka_unit_test(test_audit_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
