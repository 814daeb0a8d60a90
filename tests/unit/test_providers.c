/* Providers: the scope and role checks of seed 001, grants serialized for sealing and read
 * back within their bounds, and the mock provider's credentials (shapes per provider, a
 * kubeconfig that parses as YAML), expiry, failure hooks, statistics and thread safety. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <yaml.h>

#include "lib/common/errors.h"
#include "lib/common/secret.h"
#include "lib/common/timeutil.h"
#include "server/core/model.h"
#include "server/providers/provider.h"
#include "server/providers/mock/mock.h"

#define UNUSED_STATE void **state __attribute__((unused))

/* ---- scope and role checks --------------------------------------------------------------- */

typedef int (*scope_check)(const char *, char *, size_t);

static void
check_scopes(scope_check check, const char *const *good, const char *const *bad)
{
	char error[256];
	for (const char *const *s = good; *s; s++) {
		error[0] = '\0';
		if (check(*s, error, sizeof(error)) != 0)
			fail_msg("\"%s\" refused: %s", *s, error);
	}
	for (const char *const *s = bad; *s; s++) {
		error[0] = '\0';
		if (check(*s, error, sizeof(error)) != JIT_ERR_INVALID)
			fail_msg("\"%s\" accepted", *s);
		assert_non_null(strstr(error, "resource_scope"));
	}
	assert_int_equal(check(NULL, error, sizeof(error)), JIT_ERR_INVALID);
	/* A NULL error buffer is allowed. */
	assert_int_equal(check(bad[0], NULL, 0), JIT_ERR_INVALID);
}

static void
test_scope_aws(UNUSED_STATE)
{
	static const char *const good[] = { "123456789012", "000000000000", NULL };
	static const char *const bad[] = {
		"12345678901",   "1234567890123", "12345678901a", "",  " 123456789012",
		"123456789012 ", "1234-5678-901", "-12345678901", NULL
	};
	check_scopes(jit_scope_check_aws, good, bad);
	char error[256];
	jit_scope_check_aws("1", error, sizeof(error));
	assert_non_null(strstr(error, "12-digit AWS account id"));
}

static void
test_scope_gcp(UNUSED_STATE)
{
	static const char *const good[] = { "my-gcp-project",
		                            "abcdef",
		                            "a12345",
		                            "project-2024-x",
		                            "abcdefghijklmnopqrstuvwxyz0123",
		                            NULL };
	static const char *const bad[] = { "abcde",      "abcdefghijklmnopqrstuvwxyz01234",
		                           "1project",   "-project",
		                           "project-",   "My-Project",
		                           "my_project", "my.project",
		                           "my project", "",
		                           NULL };
	check_scopes(jit_scope_check_gcp, good, bad);
}

static void
test_scope_azure(UNUSED_STATE)
{
	static const char *const good[] = { "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
		                            "0B1F6471-1BF0-4DDA-AEC3-CB9272F09590",
		                            "00000000-0000-0000-0000-000000000000", NULL };
	static const char *const bad[] = { "0b1f6471-1bf0-4dda-aec3-cb9272f0959",
		                           "0b1f6471-1bf0-4dda-aec3-cb9272f095900",
		                           "0b1f64711bf04ddaaec3cb9272f09590",
		                           "0b1f6471-1bf0-4dda-aec3_cb9272f09590",
		                           "gb1f6471-1bf0-4dda-aec3-cb9272f09590",
		                           "{0b1f6471-1bf0-4dda-aec3-cb9272f09590}",
		                           "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
		                           "",
		                           NULL };
	check_scopes(jit_scope_check_azure, good, bad);
}

static void
test_scope_kubernetes(UNUSED_STATE)
{
	static const char *const good[] = {
		"*",
		"default",
		"team-a",
		"a",
		"0",
		"kube-system",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789a", /* 63 */
		NULL
	};
	static const char *const bad[] = {
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789ab", /* 64 */
		"Team-A",
		"-team",
		"team-",
		"team_a",
		"team.a",
		"**",
		"* ",
		"",
		NULL
	};
	check_scopes(jit_scope_check_kubernetes, good, bad);
}

static void
test_role_check(UNUSED_STATE)
{
	char error[256];
	char long_role[JIT_MAX_ROLE + 2];
	memset(long_role, 'r', sizeof(long_role));
	long_role[JIT_MAX_ROLE] = '\0';
	assert_int_equal(jit_role_check(long_role, error, sizeof(error)), 0);
	long_role[JIT_MAX_ROLE] = 'r';
	long_role[JIT_MAX_ROLE + 1] = '\0';
	assert_int_equal(jit_role_check(long_role, error, sizeof(error)), JIT_ERR_INVALID);
	static const char *const good[] = { "prod-infra-admin",      "roles/editor",
		                            "Contributor",           "cluster-admin",
		                            "arn:aws:iam::1:role/x", NULL };
	static const char *const bad[] = { "",          "two words", "tab\there", "caf\xc3\xa9",
		                           "new\nline", "del\x7f",   NULL };
	for (const char *const *s = good; *s; s++)
		assert_int_equal(jit_role_check(*s, error, sizeof(error)), 0);
	for (const char *const *s = bad; *s; s++) {
		error[0] = '\0';
		assert_int_equal(jit_role_check(*s, error, sizeof(error)), JIT_ERR_INVALID);
		assert_non_null(strstr(error, "role"));
	}
	assert_int_equal(jit_role_check(NULL, NULL, 0), JIT_ERR_INVALID);
}

/* ---- grants ------------------------------------------------------------------------------ */

static void
test_grant_round_trip(UNUSED_STATE)
{
	struct jit_grant grant = { 0 };
	static const char *const values[] = {
		"plain",
		"quote \" backslash \\ slash /",
		"line\nbreak\r\ttab \x01\x1f control",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
		"",
	};
	char name[16];
	for (size_t i = 0; i < JIT_ARRAY_SIZE(values); i++) {
		snprintf(name, sizeof(name), "NAME_%zu", i);
		assert_int_equal(jit_grant_add(&grant, name, values[i]), 0);
	}
	struct jit_secret *text = NULL;
	assert_int_equal(jit_grant_serialize(&grant, &text), 0);
	/* Valid JSON of the documented shape. */
	json_error_t jerr;
	json_t *json = json_loadb((const char *)text->bytes, text->length, 0, &jerr);
	assert_non_null(json);
	json_t *list = json_object_get(json, "credentials");
	assert_int_equal(json_object_size(json), 1);
	assert_int_equal(json_array_size(list), JIT_ARRAY_SIZE(values));
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "value")),
	                    values[1]);
	json_decref(json);

	struct jit_grant back = { 0 };
	snprintf(back.request_id, sizeof(back.request_id), "req_kept");
	back.issued_at = 7;
	assert_int_equal(jit_grant_deserialize((const char *)text->bytes, text->length, &back), 0);
	assert_int_equal(back.count, grant.count);
	for (size_t i = 0; i < grant.count; i++) {
		assert_string_equal(back.credentials[i].name, grant.credentials[i].name);
		assert_string_equal(back.credentials[i].value, grant.credentials[i].value);
	}
	assert_string_equal(back.request_id, "req_kept");
	assert_int_equal(back.issued_at, 7);
	/* Deserializing again replaces, not appends. */
	assert_int_equal(jit_grant_deserialize((const char *)text->bytes, text->length, &back), 0);
	assert_int_equal(back.count, grant.count);
	jit_secret_free(text);

	jit_grant_clear(&back);
	assert_int_equal(back.count, 0);
	assert_null(back.credentials[0].value);
	jit_grant_clear(&grant);
	jit_grant_clear(&grant); /* twice, and a zeroed grant, are fine */
	jit_grant_clear(NULL);

	/* No credentials at all. */
	assert_int_equal(jit_grant_serialize(&grant, &text), 0);
	assert_string_equal((const char *)text->bytes, "{\"credentials\":[]}");
	assert_int_equal(jit_grant_deserialize((const char *)text->bytes, text->length, &back), 0);
	assert_int_equal(back.count, 0);
	jit_secret_free(text);
}

static void
test_grant_reader_forms(UNUSED_STATE)
{
	struct jit_grant grant = { 0 };
	/* Whitespace, members in either order, escapes incl. a surrogate pair. */
	const char *text = " { \"credentials\" : [ { \"value\" : \"v\\u00e9\\ud83d\\udd11\\/\" ,"
	                   " \"name\" : \"A\" } ,\n{\"name\":\"B\",\"value\":\"\\\"\\n\"} ] }\n";
	assert_int_equal(jit_grant_deserialize(text, strlen(text), &grant), 0);
	assert_int_equal(grant.count, 2);
	assert_string_equal(grant.credentials[0].name, "A");
	assert_string_equal(grant.credentials[0].value, "v\xc3\xa9\xf0\x9f\x94\x91/");
	assert_string_equal(grant.credentials[1].value, "\"\n");
	jit_grant_clear(&grant);

	static const char *const bad[] = {
		"",
		"{}",
		"[]",
		"{\"credentials\":{}}",
		"{\"credentials\":[]} x",
		"{\"credentials\":[],\"extra\":1}",
		"{\"credentials\":[{\"name\":\"A\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"v\",\"x\":1}]}",
		"{\"credentials\":[{\"name\":\"A\",\"name\":\"B\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":1}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"v\"},]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"nul\\u0000\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"lone \\ud800\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"low \\udc00\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"bad \\x\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"raw\ncontrol\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"bad utf8 \xc3\x28\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"overlong \xc0\xaf\"}]}",
		"{\"credentials\":[{\"name\":\"A\",\"value\":\"unterminated}]}",
		"{\"credentials\":[{\"name\":\"1A\",\"value\":\"v\"}]}",
		"{\"credentials\":[{\"name\":\"A-B\",\"value\":\"v\"}]}",
		"{\"credentials\":[{\"name\":\"\",\"value\":\"v\"}]}",
		NULL,
	};
	for (const char *const *b = bad; *b; b++) {
		struct jit_grant g = { 0 };
		int r = jit_grant_deserialize(*b, strlen(*b), &g);
		if (r >= 0)
			fail_msg("accepted: %s", *b);
		assert_int_equal(g.count, 0);
	}
	assert_int_equal(jit_grant_deserialize(NULL, 0, &grant), JIT_ERR_INVALID);

	/* A failed read leaves the grant's credentials alone. */
	assert_int_equal(jit_grant_add(&grant, "KEEP", "me"), 0);
	assert_true(jit_grant_deserialize("{", 1, &grant) < 0);
	assert_int_equal(grant.count, 1);
	assert_string_equal(grant.credentials[0].value, "me");
	jit_grant_clear(&grant);
}

static void
test_grant_bounds(UNUSED_STATE)
{
	struct jit_grant grant = { 0 };
	char name[16];
	for (int i = 0; i < JIT_MAX_CREDENTIALS; i++) {
		snprintf(name, sizeof(name), "N%d", i);
		assert_int_equal(jit_grant_add(&grant, name, "v"), 0);
	}
	assert_int_equal(jit_grant_add(&grant, "ONE_MORE", "v"), JIT_ERR_TOO_LARGE);
	assert_int_equal(grant.count, JIT_MAX_CREDENTIALS);
	struct jit_secret *text = NULL;
	assert_int_equal(jit_grant_serialize(&grant, &text), 0);
	struct jit_grant back = { 0 };
	assert_int_equal(jit_grant_deserialize((const char *)text->bytes, text->length, &back), 0);
	assert_int_equal(back.count, JIT_MAX_CREDENTIALS);
	jit_grant_clear(&back);
	/* A seventeenth pair in the text is refused. */
	char *more = malloc(text->length + 64);
	assert_non_null(more);
	size_t n = text->length - 2; /* before "]}" */
	memcpy(more, text->bytes, n);
	n += (size_t)snprintf(more + n, 64, ",{\"name\":\"X\",\"value\":\"v\"}]}");
	assert_int_equal(jit_grant_deserialize(more, n, &back), JIT_ERR_TOO_LARGE);
	assert_int_equal(back.count, 0);
	free(more);
	jit_secret_free(text);
	jit_grant_clear(&grant);

	/* Value and name sizes. */
	char *value = malloc(JIT_GRANT_MAX_VALUE + 2);
	assert_non_null(value);
	memset(value, 'v', JIT_GRANT_MAX_VALUE + 1);
	value[JIT_GRANT_MAX_VALUE + 1] = '\0';
	assert_int_equal(jit_grant_add(&grant, "BIG", value), JIT_ERR_TOO_LARGE);
	value[JIT_GRANT_MAX_VALUE] = '\0';
	assert_int_equal(jit_grant_add(&grant, "BIG", value), 0);
	char long_name[JIT_GRANT_MAX_NAME + 2];
	memset(long_name, 'N', sizeof(long_name));
	long_name[JIT_GRANT_MAX_NAME + 1] = '\0';
	assert_int_equal(jit_grant_add(&grant, long_name, "v"), JIT_ERR_TOO_LARGE);
	long_name[JIT_GRANT_MAX_NAME] = '\0';
	assert_int_equal(jit_grant_add(&grant, long_name, "v"), 0);
	assert_int_equal(jit_grant_add(&grant, "BAD NAME", "v"), JIT_ERR_INVALID);
	assert_int_equal(jit_grant_add(&grant, "UTF", "\xff"), JIT_ERR_INVALID);
	assert_int_equal(jit_grant_add(&grant, NULL, "v"), JIT_ERR_INVALID);
	assert_int_equal(jit_grant_serialize(&grant, &text), 0);
	assert_int_equal(jit_grant_deserialize((const char *)text->bytes, text->length, &back), 0);
	assert_int_equal(strlen(back.credentials[0].value), JIT_GRANT_MAX_VALUE);
	jit_grant_clear(&back);
	jit_secret_free(text);
	jit_grant_clear(&grant);

	/* A value one byte over the bound inside a text is refused, as is an oversized text. */
	size_t size = JIT_GRANT_MAX_VALUE + 128;
	char *big = malloc(size);
	assert_non_null(big);
	int k = snprintf(big, size, "{\"credentials\":[{\"name\":\"A\",\"value\":\"");
	memset(big + k, 'v', JIT_GRANT_MAX_VALUE + 1);
	snprintf(big + k + JIT_GRANT_MAX_VALUE + 1, size - (size_t)k - JIT_GRANT_MAX_VALUE - 1,
	         "\"}]}");
	assert_int_equal(jit_grant_deserialize(big, strlen(big), &back), JIT_ERR_TOO_LARGE);
	assert_int_equal(jit_grant_deserialize(big, JIT_GRANT_MAX_TEXT + 1, &back),
	                 JIT_ERR_TOO_LARGE);
	free(big);
	free(value);

	/* Sixteen values whose escaped text passes the text bound cannot be serialized. */
	char *controls = malloc(JIT_GRANT_MAX_VALUE + 1);
	assert_non_null(controls);
	memset(controls, '\x01', JIT_GRANT_MAX_VALUE);
	controls[JIT_GRANT_MAX_VALUE] = '\0';
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "C%d", i);
		assert_int_equal(jit_grant_add(&grant, name, controls), 0);
	}
	assert_int_equal(jit_grant_serialize(&grant, &text), JIT_ERR_TOO_LARGE);
	jit_grant_clear(&grant);
	free(controls);
}

/* ---- the mock provider ------------------------------------------------------------------- */

static struct jit_request *
request_for(const char *provider, const char *role, const char *scope, int64_t seconds,
            const char *id)
{
	struct jit_request *r = jit_request_new();
	assert_non_null(r);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->provider = strdup(provider);
	r->role = strdup(role);
	r->resource_scope = strdup(scope);
	r->requester_identity = strdup("alice@example.com");
	r->duration_seconds = seconds;
	return r;
}

static const char *
value_of(const struct jit_grant *grant, const char *name)
{
	for (size_t i = 0; i < grant->count; i++)
		if (strcmp(grant->credentials[i].name, name) == 0)
			return grant->credentials[i].value;
	return NULL;
}

static void
assert_names(const struct jit_grant *grant, const char *const *names, size_t count)
{
	assert_int_equal(grant->count, count);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(grant->credentials[i].name, names[i]);
}

static bool
all_in(const char *s, const char *alphabet)
{
	return s[strspn(s, alphabet)] == '\0';
}

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

static void
grant_ok(struct jit_provider *p, const struct jit_request *request, struct jit_grant *grant)
{
	char error[256] = "";
	memset(grant, 0, sizeof(*grant));
	grant->issued_at = 1774022400LL * JIT_NSEC_PER_SEC;
	int r = p->ops->grant(p, request, grant, error, sizeof(error));
	if (r < 0)
		fail_msg("grant: %s", error);
	assert_int_equal(grant->expires_at,
	                 grant->issued_at + request->duration_seconds * JIT_NSEC_PER_SEC);
}

static void
test_mock_aws(UNUSED_STATE)
{
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("aws", NULL, &p), 0);
	assert_string_equal(p->ops->name, "aws");
	struct jit_request *request =
	        request_for("aws", "prod-infra-admin", "123456789012", 7200, "req_aws1");
	struct jit_grant a, b;
	grant_ok(p, request, &a);
	static const char *const names[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		                             "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION" };
	assert_names(&a, names, 4);
	const char *key = value_of(&a, "AWS_ACCESS_KEY_ID");
	assert_int_equal(strlen(key), 20);
	assert_memory_equal(key, "ASIA", 4);
	assert_true(all_in(key + 4, UPPER "234567"));
	const char *secret = value_of(&a, "AWS_SECRET_ACCESS_KEY");
	assert_int_equal(strlen(secret), 40);
	assert_true(all_in(secret, UPPER LOWER DIGITS "+/"));
	const char *token = value_of(&a, "AWS_SESSION_TOKEN");
	assert_true(strlen(token) >= 300);
	assert_true(all_in(token, UPPER LOWER DIGITS "+/="));
	assert_string_equal(value_of(&a, "AWS_DEFAULT_REGION"), "us-east-1");
	/* Random: a second grant differs. */
	grant_ok(p, request, &b);
	assert_string_not_equal(value_of(&b, "AWS_ACCESS_KEY_ID"), key);
	assert_string_not_equal(value_of(&b, "AWS_SECRET_ACCESS_KEY"), secret);
	assert_string_not_equal(value_of(&b, "AWS_SESSION_TOKEN"), token);
	jit_grant_clear(&a);
	jit_grant_clear(&b);
	jit_request_free(request);
	jit_provider_free(p);
}

static void
test_mock_gcp(UNUSED_STATE)
{
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("gcp", NULL, &p), 0);
	struct jit_request *request =
	        request_for("gcp", "roles/editor", "my-gcp-project", 60, "req_gcp1");
	struct jit_grant g;
	grant_ok(p, request, &g);
	static const char *const names[] = { "CLOUDSDK_AUTH_ACCESS_TOKEN",
		                             "CLOUDSDK_CORE_PROJECT" };
	assert_names(&g, names, 2);
	const char *token = value_of(&g, "CLOUDSDK_AUTH_ACCESS_TOKEN");
	assert_memory_equal(token, "ya29.", 5);
	assert_true(strlen(token) > 100);
	assert_true(all_in(token + 5, UPPER LOWER DIGITS "-_"));
	assert_string_equal(value_of(&g, "CLOUDSDK_CORE_PROJECT"), "my-gcp-project");
	jit_grant_clear(&g);
	jit_request_free(request);
	jit_provider_free(p);
}

/* Decodes base64url without padding; returns a malloc'd NUL-terminated string. */
static char *
base64url_decode(const char *s, size_t n)
{
	static const char alphabet[] = UPPER LOWER DIGITS "-_";
	char *out = malloc(n * 3 / 4 + 4);
	assert_non_null(out);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(alphabet, s[i]);
		assert_non_null(p);
		acc = (acc << 6) | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return out;
}

static void
test_mock_azure(UNUSED_STATE)
{
	static const char scope[] = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("azure", NULL, &p), 0);
	struct jit_request *request = request_for("azure", "Contributor", scope, 1800, "req_az1");
	struct jit_grant g;
	grant_ok(p, request, &g);
	static const char *const names[] = { "AZURE_ACCESS_TOKEN", "AZURE_SUBSCRIPTION_ID" };
	assert_names(&g, names, 2);
	assert_string_equal(value_of(&g, "AZURE_SUBSCRIPTION_ID"), scope);
	/* header.payload.signature, the first two JSON objects. */
	const char *token = value_of(&g, "AZURE_ACCESS_TOKEN");
	const char *dot1 = strchr(token, '.');
	assert_non_null(dot1);
	const char *dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));
	assert_true(strlen(dot2 + 1) > 100);
	char *header = base64url_decode(token, (size_t)(dot1 - token));
	char *payload = base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	json_error_t jerr;
	json_t *h = json_loads(header, 0, &jerr);
	json_t *pl = json_loads(payload, 0, &jerr);
	assert_non_null(h);
	assert_non_null(pl);
	assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(pl, "aud")),
	                    "https://management.azure.com/");
	assert_int_equal(json_integer_value(json_object_get(pl, "exp")) -
	                         json_integer_value(json_object_get(pl, "iat")),
	                 1800);
	json_decref(h);
	json_decref(pl);
	free(header);
	free(payload);
	jit_grant_clear(&g);
	jit_request_free(request);
	jit_provider_free(p);
}

/* Finds the value of `key` in a YAML mapping node. */
static yaml_node_t *
yaml_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

static yaml_node_t *
yaml_first(yaml_document_t *doc, yaml_node_t *seq)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.items.top == seq->data.sequence.items.start)
		return NULL;
	return yaml_document_get_node(doc, *seq->data.sequence.items.start);
}

static const char *
yaml_text(yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value
	                                              : NULL;
}

static void
check_kubeconfig(const char *text, const char *namespace)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	assert_true(yaml_parser_load(&parser, &doc));
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	assert_non_null(root);
	assert_string_equal(yaml_text(yaml_get(&doc, root, "apiVersion")), "v1");
	assert_string_equal(yaml_text(yaml_get(&doc, root, "kind")), "Config");
	yaml_node_t *cluster = yaml_first(&doc, yaml_get(&doc, root, "clusters"));
	const char *cluster_name = yaml_text(yaml_get(&doc, cluster, "name"));
	assert_non_null(cluster_name);
	yaml_node_t *cluster_body = yaml_get(&doc, cluster, "cluster");
	assert_string_equal(yaml_text(yaml_get(&doc, cluster_body, "server")),
	                    "https://127.0.0.1:6443");
	const char *ca = yaml_text(yaml_get(&doc, cluster_body, "certificate-authority-data"));
	assert_non_null(ca);
	assert_true(strlen(ca) > 100);
	assert_true(all_in(ca, UPPER LOWER DIGITS "+/="));
	yaml_node_t *user = yaml_first(&doc, yaml_get(&doc, root, "users"));
	const char *user_name = yaml_text(yaml_get(&doc, user, "name"));
	assert_non_null(user_name);
	const char *token = yaml_text(yaml_get(&doc, yaml_get(&doc, user, "user"), "token"));
	assert_non_null(token);
	assert_true(strlen(token) >= 32);
	yaml_node_t *context = yaml_first(&doc, yaml_get(&doc, root, "contexts"));
	const char *context_name = yaml_text(yaml_get(&doc, context, "name"));
	yaml_node_t *context_body = yaml_get(&doc, context, "context");
	assert_string_equal(yaml_text(yaml_get(&doc, context_body, "cluster")), cluster_name);
	assert_string_equal(yaml_text(yaml_get(&doc, context_body, "user")), user_name);
	const char *ns = yaml_text(yaml_get(&doc, context_body, "namespace"));
	if (namespace)
		assert_string_equal(ns, namespace);
	else
		assert_null(ns);
	assert_string_equal(yaml_text(yaml_get(&doc, root, "current-context")), context_name);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

static void
test_mock_kubernetes(UNUSED_STATE)
{
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("kubernetes", NULL, &p), 0);
	static const char *const names[] = { "KUBECONFIG_DATA", "KUBE_NAMESPACE" };
	struct jit_request *request = request_for("kubernetes", "view", "team-a", 900, "req_k1");
	struct jit_grant g;
	grant_ok(p, request, &g);
	assert_names(&g, names, 2);
	assert_string_equal(value_of(&g, "KUBE_NAMESPACE"), "team-a");
	check_kubeconfig(value_of(&g, "KUBECONFIG_DATA"), "team-a");
	jit_grant_clear(&g);
	jit_request_free(request);

	request = request_for("kubernetes", "cluster-admin", "*", 900, "req_k2");
	grant_ok(p, request, &g);
	assert_names(&g, names, 2);
	assert_string_equal(value_of(&g, "KUBE_NAMESPACE"), "default");
	check_kubeconfig(value_of(&g, "KUBECONFIG_DATA"), NULL);
	jit_grant_clear(&g);
	jit_request_free(request);
	jit_provider_free(p);
}

static void
test_mock_validate(UNUSED_STATE)
{
	static const struct {
		const char *provider, *good_scope, *bad_scope;
	} cases[] = {
		{ "aws", "123456789012", "my-gcp-project" },
		{ "gcp", "my-gcp-project", "123456789012" },
		{ "azure", "0b1f6471-1bf0-4dda-aec3-cb9272f09590", "team-a" },
		{ "kubernetes", "*", "Team_A" },
	};
	char error[256];
	for (size_t i = 0; i < JIT_ARRAY_SIZE(cases); i++) {
		struct jit_provider *p = NULL;
		assert_int_equal(jit_provider_mock_new(cases[i].provider, NULL, &p), 0);
		assert_string_equal(p->ops->name, cases[i].provider);
		assert_int_equal(
		        p->ops->validate(p, "admin", cases[i].good_scope, error, sizeof(error)), 0);
		error[0] = '\0';
		assert_int_equal(
		        p->ops->validate(p, "admin", cases[i].bad_scope, error, sizeof(error)),
		        JIT_ERR_INVALID);
		assert_non_null(strstr(error, "resource_scope"));
		assert_int_equal(
		        p->ops->validate(p, "bad role", cases[i].good_scope, error, sizeof(error)),
		        JIT_ERR_INVALID);
		assert_non_null(strstr(error, "role"));
		/* grant checks again: a bad scope issues nothing. */
		struct jit_request *request =
		        request_for(cases[i].provider, "admin", cases[i].bad_scope, 60, "req_bad");
		struct jit_grant g = { 0 };
		assert_int_equal(p->ops->grant(p, request, &g, error, sizeof(error)),
		                 JIT_ERR_INVALID);
		assert_int_equal(g.count, 0);
		struct jit_mock_stats stats;
		jit_provider_mock_stats(p, &stats);
		assert_int_equal(stats.grants, 0);
		jit_request_free(request);
		jit_provider_free(p);
	}
	struct jit_provider *p = (struct jit_provider *)1;
	assert_int_equal(jit_provider_mock_new("oracle", NULL, &p), JIT_ERR_INVALID);
	assert_int_equal(jit_provider_mock_new(NULL, NULL, &p), JIT_ERR_INVALID);
	assert_ptr_equal(p, (struct jit_provider *)1);
	jit_provider_free(NULL);
}

/* delay_ms makes every grant and revocation take at least that long; past the bound it is
 * refused. */
static void
test_mock_delay(UNUSED_STATE)
{
	struct jit_mock_options options = { .delay_ms = JIT_MOCK_MAX_DELAY_MS + 1 };
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("aws", &options, &p), JIT_ERR_INVALID);
	options.delay_ms = 150;
	assert_int_equal(jit_provider_mock_new("aws", &options, &p), 0);
	struct jit_request *one = request_for("aws", "admin", "123456789012", 60, "req_slow");
	struct jit_grant g = { 0 };
	char error[256] = "";
	int64_t start = jit_now_monotonic_ns();
	assert_int_equal(p->ops->grant(p, one, &g, error, sizeof(error)), 0);
	assert_true(jit_now_monotonic_ns() - start >= 150 * 1000000LL);
	jit_grant_clear(&g);
	start = jit_now_monotonic_ns();
	assert_int_equal(p->ops->revoke(p, one, error, sizeof(error)), 0);
	assert_true(jit_now_monotonic_ns() - start >= 150 * 1000000LL);
	jit_request_free(one);
	jit_provider_free(p);
}

static void
test_mock_hooks_and_stats(UNUSED_STATE)
{
	char *roles[] = { "broken-role", "auto-broken-role", NULL };
	struct jit_mock_options options = { .fail_grant_roles = roles, .fail_revocations = 2 };
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("aws", &options, &p), 0);
	roles[0] = "changed"; /* the mock keeps its own copy */
	char error[256] = "";
	struct jit_mock_stats stats;

	struct jit_request *broken =
	        request_for("aws", "broken-role", "123456789012", 60, "req_broken");
	struct jit_grant g = { 0 };
	assert_int_equal(p->ops->grant(p, broken, &g, error, sizeof(error)), JIT_ERR_UPSTREAM);
	assert_string_equal(error, "mock: grant refused for role broken-role");
	assert_int_equal(g.count, 0);
	jit_request_free(broken);

	struct jit_request *one = request_for("aws", "admin", "123456789012", 60, "req_one");
	struct jit_request *two = request_for("aws", "admin", "123456789012", 60, "req_two");
	grant_ok(p, one, &g);
	jit_grant_clear(&g);
	grant_ok(p, two, &g);
	jit_grant_clear(&g);
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.grants, 2);
	assert_int_equal(stats.revocations, 0);
	assert_int_equal(stats.active, 2);

	/* The first two revocations fail, whatever they are for. */
	for (int i = 0; i < 2; i++) {
		error[0] = '\0';
		assert_int_equal(p->ops->revoke(p, one, error, sizeof(error)), JIT_ERR_UPSTREAM);
		assert_string_equal(error, "mock: revocation failed (injected)");
	}
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.active, 2);
	assert_int_equal(stats.revocations, 0);
	assert_int_equal(p->ops->revoke(p, one, error, sizeof(error)), 0);
	/* Idempotent: again, and for a request never granted. */
	assert_int_equal(p->ops->revoke(p, one, error, sizeof(error)), 0);
	struct jit_request *never = request_for("aws", "admin", "123456789012", 60, "req_never");
	assert_int_equal(p->ops->revoke(p, never, error, sizeof(error)), 0);
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.grants, 2);
	assert_int_equal(stats.revocations, 1);
	assert_int_equal(stats.active, 1);
	assert_int_equal(p->ops->revoke(p, two, error, sizeof(error)), 0);
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.active, 0);
	assert_int_equal(stats.revocations, 2);

	/* Stats of something that is not a mock read as zeros. */
	static const struct jit_provider_ops other_ops = { .name = "other" };
	struct jit_provider other = { &other_ops, NULL };
	jit_provider_mock_stats(&other, &stats);
	assert_int_equal(stats.grants, 0);

	jit_request_free(one);
	jit_request_free(two);
	jit_request_free(never);
	jit_provider_free(p);
}

static void
test_mock_durations(UNUSED_STATE)
{
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("gcp", NULL, &p), 0);
	char error[256];
	struct jit_request *request = request_for("gcp", "roles/viewer", "my-project", 0, "req_d");
	struct jit_grant g = { 0 };
	assert_int_equal(p->ops->grant(p, request, &g, error, sizeof(error)), JIT_ERR_INVALID);
	request->duration_seconds = INT64_MAX / 2;
	assert_int_equal(p->ops->grant(p, request, &g, error, sizeof(error)), JIT_ERR_INVALID);
	jit_grant_clear(&g);
	/* No issued_at from the caller: the mock starts the clock now. */
	request->duration_seconds = 60;
	int64_t before = jit_now_realtime_ns();
	assert_int_equal(p->ops->grant(p, request, &g, error, sizeof(error)), 0);
	assert_true(g.issued_at >= before && g.issued_at <= jit_now_realtime_ns());
	assert_int_equal(g.expires_at - g.issued_at, 60 * JIT_NSEC_PER_SEC);
	jit_grant_clear(&g);
	jit_request_free(request);
	jit_provider_free(p);
}

#define MOCK_THREADS 4
#define MOCK_ROUNDS 500

struct mock_worker {
	struct jit_provider *provider;
	int id, failures;
};

static void *
mock_work(void *arg)
{
	struct mock_worker *w = arg;
	char id[32], error[256];
	for (int i = 0; i < MOCK_ROUNDS; i++) {
		snprintf(id, sizeof(id), "req_t%d_%d", w->id, i);
		struct jit_request *request = request_for("kubernetes", "view", "team-a", 60, id);
		struct jit_grant g = { 0 };
		if (w->provider->ops->grant(w->provider, request, &g, error, sizeof(error)) < 0 ||
		    g.count != 2)
			w->failures++;
		jit_grant_clear(&g);
		if (i % 2 == 0 &&
		    w->provider->ops->revoke(w->provider, request, error, sizeof(error)) < 0)
			w->failures++;
		jit_request_free(request);
	}
	return NULL;
}

static void
test_mock_threads(UNUSED_STATE)
{
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("kubernetes", NULL, &p), 0);
	pthread_t threads[MOCK_THREADS];
	struct mock_worker workers[MOCK_THREADS];
	for (int i = 0; i < MOCK_THREADS; i++) {
		workers[i] = (struct mock_worker){ p, i, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, mock_work, &workers[i]), 0);
	}
	for (int i = 0; i < MOCK_THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(workers[i].failures, 0);
	}
	struct jit_mock_stats stats;
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.grants, MOCK_THREADS * MOCK_ROUNDS);
	assert_int_equal(stats.revocations, MOCK_THREADS * MOCK_ROUNDS / 2);
	assert_int_equal(stats.active, MOCK_THREADS * MOCK_ROUNDS / 2);
	jit_provider_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_aws),
		cmocka_unit_test(test_scope_gcp),
		cmocka_unit_test(test_scope_azure),
		cmocka_unit_test(test_scope_kubernetes),
		cmocka_unit_test(test_role_check),
		cmocka_unit_test(test_grant_round_trip),
		cmocka_unit_test(test_grant_reader_forms),
		cmocka_unit_test(test_grant_bounds),
		cmocka_unit_test(test_mock_aws),
		cmocka_unit_test(test_mock_gcp),
		cmocka_unit_test(test_mock_azure),
		cmocka_unit_test(test_mock_kubernetes),
		cmocka_unit_test(test_mock_validate),
		cmocka_unit_test(test_mock_hooks_and_stats),
		cmocka_unit_test(test_mock_delay),
		cmocka_unit_test(test_mock_durations),
		cmocka_unit_test(test_mock_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
