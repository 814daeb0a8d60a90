/* The audit chain's shared rules (server/store/audit_seal.h), with no database: the hash of a
 * fixed event against SHA-256 and HMAC-SHA256 computed here by OpenSSL over the documented
 * canonical text (so a change of the text or of the rule fails here before any stored chain
 * stops verifying), the tenant inside the hashed text, the choice of rule from the meta
 * values, the verifier on intact and tampered chains, and the re-keyer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/audit/audit_chain.h"
#include "server/store/audit_seal.h"

#define UNUSED_STATE void **state __attribute__((unused))

#define T0 (1774022400LL * JIT_NSEC_PER_SEC) /* 2026-03-20T16:00:00Z */

/* The canonical text of fixed_event(): keys sorted, no spaces, absent strings as "", the
 * timestamp in RFC 3339 with its nanoseconds, and no tenant_id for the default tenant. */
#define FIXED_CANONICAL                                                             \
	"{\"action\":\"grant.issued\",\"actor_identity\":\"bob@example.com\","      \
	"\"details\":{\"n\":1,\"reason\":\"incident 42\"},\"outcome\":\"success\"," \
	"\"provider\":\"aws\",\"request_id\":\"req_01\",\"resource_scope\":\"\","   \
	"\"timestamp\":\"2026-03-20T16:00:00.123456789Z\"}"
/* The same event of tenant "acme": tenant_id is one more key, sorted among the others. */
#define FIXED_CANONICAL_ACME                                                        \
	"{\"action\":\"grant.issued\",\"actor_identity\":\"bob@example.com\","      \
	"\"details\":{\"n\":1,\"reason\":\"incident 42\"},\"outcome\":\"success\"," \
	"\"provider\":\"aws\",\"request_id\":\"req_01\",\"resource_scope\":\"\","   \
	"\"tenant_id\":\"acme\",\"timestamp\":\"2026-03-20T16:00:00.123456789Z\"}"

#define PREV "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static struct jit_audit_event *
fixed_event(int n)
{
	struct jit_audit_event *event = jit_audit_event_new();
	assert_non_null(event);
	event->timestamp = T0 + 123456789;
	event->actor_identity = strdup("bob@example.com");
	event->action = strdup("grant.issued");
	event->request_id = strdup("req_01");
	event->provider = strdup("aws");
	event->outcome = strdup("success");
	json_object_set_new(event->details, "n", json_integer(n));
	json_object_set_new(event->details, "reason", json_string("incident 42"));
	return event;
}

static struct jit_secret *
test_key(unsigned char seed)
{
	unsigned char bytes[JIT_AUDIT_CHAIN_KEY_SIZE];
	struct jit_secret *key = NULL;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(seed + i * 7);
	assert_int_equal(jit_secret_new(bytes, sizeof(bytes), &key), 0);
	return key;
}

static void
to_hex(const unsigned char digest[32], char hex[65])
{
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* The expected hash, computed by OpenSSL alone: SHA-256 (key NULL) or HMAC-SHA256 under `key`
 * of `prev` (as text) followed by `canonical`. */
static void
expected_hash(const struct jit_secret *key, const char *prev, const char *canonical, char hex[65])
{
	size_t prev_len = strlen(prev), canonical_len = strlen(canonical);
	unsigned char *input = malloc(prev_len + canonical_len + 1);
	unsigned char digest[32];
	assert_non_null(input);
	memcpy(input, prev, prev_len);
	memcpy(input + prev_len, canonical, canonical_len);
	if (key) {
		size_t mac_len = 0;
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->bytes,
		                          key->length, input, prev_len + canonical_len, digest,
		                          sizeof(digest), &mac_len));
		assert_int_equal(mac_len, 32);
	} else {
		unsigned int digest_len = 0;
		assert_int_equal(EVP_Digest(input, prev_len + canonical_len, digest, &digest_len,
		                            EVP_sha256(), NULL),
		                 1);
		assert_int_equal(digest_len, 32);
	}
	free(input);
	to_hex(digest, hex);
}

/* ---- known answers -------------------------------------------------------------------- */

static void
test_unkeyed_hash_of_a_fixed_event(UNUSED_STATE)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = fixed_event(1);
	char first[65], chained[65];
	expected_hash(NULL, "", FIXED_CANONICAL, first);
	expected_hash(NULL, PREV, FIXED_CANONICAL, chained);

	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_UNKEYED, NULL, JIT_DEFAULT_TENANT_ID,
	                                       "", event),
	                 0);
	assert_string_equal(event->tenant_id, JIT_DEFAULT_TENANT_ID);
	assert_string_equal(event->prev_hash, "");
	assert_string_equal(event->hash, first);

	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_UNKEYED, NULL, JIT_DEFAULT_TENANT_ID,
	                                       PREV, event),
	                 0);
	assert_string_equal(event->prev_hash, PREV);
	assert_string_equal(event->hash, chained);
}

static void
test_keyed_hash_of_a_fixed_event(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *key = test_key(1);
	_cleanup_secret_ struct jit_secret *other = test_key(2);
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = fixed_event(1);
	char keyed[65], unkeyed[65], other_keyed[65];
	expected_hash(key, PREV, FIXED_CANONICAL, keyed);
	expected_hash(NULL, PREV, FIXED_CANONICAL, unkeyed);
	expected_hash(other, PREV, FIXED_CANONICAL, other_keyed);
	assert_string_not_equal(keyed, unkeyed);
	assert_string_not_equal(keyed, other_keyed);

	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_KEYED, key, JIT_DEFAULT_TENANT_ID,
	                                       PREV, event),
	                 0);
	assert_string_equal(event->prev_hash, PREV);
	assert_string_equal(event->hash, keyed);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_KEYED, other, JIT_DEFAULT_TENANT_ID,
	                                       PREV, event),
	                 0);
	assert_string_equal(event->hash, other_keyed);
}

static void
test_tenant_is_in_the_hashed_text(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *key = test_key(1);
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = fixed_event(1);
	char acme[65], acme_keyed[65], fallback[65];
	expected_hash(NULL, PREV, FIXED_CANONICAL_ACME, acme);
	expected_hash(key, PREV, FIXED_CANONICAL_ACME, acme_keyed);
	expected_hash(NULL, PREV, FIXED_CANONICAL, fallback);

	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_UNKEYED, NULL, "acme", PREV, event),
	                 0);
	assert_string_equal(event->tenant_id, "acme");
	assert_string_equal(event->hash, acme);
	assert_string_not_equal(event->hash, fallback);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_KEYED, key, "acme", PREV, event), 0);
	assert_string_equal(event->hash, acme_keyed);

	/* No tenant, or one too long, is refused before anything is sealed. */
	char too_long[JIT_MAX_TENANT_ID + 2];
	memset(too_long, 't', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_KEYED, key, "", PREV, event),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_KEYED, key, NULL, PREV, event),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_KEYED, key, too_long, PREV, event),
	                 JIT_ERR_INVALID);
	assert_string_equal(event->tenant_id, "acme");
	assert_string_equal(event->hash, acme_keyed);
}

/* ---- the rule ------------------------------------------------------------------------- */

static void
test_chain_rule_from_meta_values(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *key = test_key(1);
	_cleanup_secret_ struct jit_secret *other = test_key(2);
	char id[JIT_AUDIT_KEY_ID_SIZE];
	enum jit_audit_chain chain = 0;
	bool matches = false;
	assert_int_equal(jit_audit_key_id(key, id), 0);

	assert_int_equal(jit_audit_seal_chain(NULL, NULL, key, &chain, &matches), 0);
	assert_int_equal(chain, JIT_AUDIT_CHAIN_UNKEYED);
	assert_true(matches);
	assert_int_equal(jit_audit_seal_chain("hmac-sha256", id, key, &chain, &matches), 0);
	assert_int_equal(chain, JIT_AUDIT_CHAIN_KEYED);
	assert_true(matches);
	assert_int_equal(jit_audit_seal_chain("hmac-sha256", id, other, &chain, &matches), 0);
	assert_int_equal(chain, JIT_AUDIT_CHAIN_KEYED);
	assert_false(matches);
	assert_int_equal(jit_audit_seal_chain("hmac-sha256", id, NULL, &chain, &matches), 0);
	assert_false(matches);
	assert_int_equal(jit_audit_seal_chain("hmac-sha256", NULL, key, &chain, &matches), 0);
	assert_false(matches);
	assert_int_equal(jit_audit_seal_chain("sha256", NULL, key, &chain, &matches),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_audit_seal_chain("", NULL, NULL, &chain, &matches), JIT_ERR_INVALID);

	/* Appends seal only by the chain's own rule. */
	assert_int_equal(jit_audit_seal_rule_for(JIT_AUDIT_CHAIN_KEYED, true, key),
	                 JIT_AUDIT_SEAL_KEYED);
	assert_int_equal(jit_audit_seal_rule_for(JIT_AUDIT_CHAIN_UNKEYED, true, NULL),
	                 JIT_AUDIT_SEAL_UNKEYED);
	assert_int_equal(jit_audit_seal_rule_for(JIT_AUDIT_CHAIN_KEYED, false, key),
	                 JIT_AUDIT_SEAL_REFUSED);
	assert_int_equal(jit_audit_seal_rule_for(JIT_AUDIT_CHAIN_KEYED, false, NULL),
	                 JIT_AUDIT_SEAL_REFUSED);
	assert_int_equal(jit_audit_seal_rule_for(JIT_AUDIT_CHAIN_UNKEYED, true, key),
	                 JIT_AUDIT_SEAL_REFUSED);

	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = fixed_event(1);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_REFUSED, key, "acme", "", event),
	                 JIT_ERR_DENIED);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_UNKNOWN, key, "acme", "", event),
	                 JIT_ERR_DENIED);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_UNKEYED, key, "acme", "", event),
	                 JIT_ERR_DENIED);
	assert_int_equal(jit_audit_seal_append(JIT_AUDIT_SEAL_KEYED, NULL, "acme", "", event),
	                 JIT_ERR_DENIED);
	assert_string_equal(event->hash, "");

	assert_int_equal(jit_audit_seal_rekey_allowed(JIT_AUDIT_CHAIN_UNKEYED, key), 0);
	assert_int_equal(jit_audit_seal_rekey_allowed(JIT_AUDIT_CHAIN_KEYED, key),
	                 JIT_ERR_CONFLICT);
	assert_int_equal(jit_audit_seal_rekey_allowed(JIT_AUDIT_CHAIN_UNKEYED, NULL),
	                 JIT_ERR_INVALID);
}

static void
test_verify_key(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *key = test_key(1);
	_cleanup_secret_ struct jit_secret *other = test_key(2);
	const struct jit_secret *walk_key = key;
	char id[JIT_AUDIT_KEY_ID_SIZE], detail[256] = "";
	int64_t bad_id = -1;
	assert_int_equal(jit_audit_key_id(key, id), 0);

	assert_int_equal(jit_audit_seal_verify_key(NULL, NULL, NULL, &walk_key, &bad_id, detail,
	                                           sizeof(detail)),
	                 0);
	assert_null(walk_key);
	/* A process with a key still checks an unkeyed chain by the unkeyed rule. */
	walk_key = key;
	assert_int_equal(jit_audit_seal_verify_key(NULL, NULL, key, &walk_key, &bad_id, detail,
	                                           sizeof(detail)),
	                 0);
	assert_null(walk_key);
	assert_int_equal(jit_audit_seal_verify_key("hmac-sha256", id, key, &walk_key, &bad_id,
	                                           detail, sizeof(detail)),
	                 0);
	assert_ptr_equal(walk_key, key);

	assert_int_equal(jit_audit_seal_verify_key("hmac-sha256", id, other, &walk_key, &bad_id,
	                                           detail, sizeof(detail)),
	                 JIT_ERR_UNAUTHENTICATED);
	assert_non_null(strstr(detail, "not the key this audit chain was made with"));
	assert_int_equal(jit_audit_seal_verify_key("hmac-sha256", id, NULL, &walk_key, &bad_id,
	                                           detail, sizeof(detail)),
	                 JIT_ERR_UNAUTHENTICATED);
	assert_non_null(strstr(detail, "no audit key was given"));
	assert_int_equal(jit_audit_seal_verify_key("none", NULL, key, &walk_key, &bad_id, detail,
	                                           sizeof(detail)),
	                 JIT_ERR_DENIED);
	assert_int_equal(bad_id, 0);
	assert_non_null(strstr(detail, "unknown audit chain rule"));
}

/* ---- the verifier --------------------------------------------------------------------- */

#define CHAIN_LENGTH 4

/* A chain of CHAIN_LENGTH events (ids 1..), alternating tenants, sealed by `rule`. */
static void
build_chain(enum jit_audit_seal_rule rule, const struct jit_secret *key,
            struct jit_audit_event *events[CHAIN_LENGTH])
{
	const char *prev = "";
	for (int i = 0; i < CHAIN_LENGTH; i++) {
		events[i] = fixed_event(i + 1);
		events[i]->id = i + 1;
		assert_int_equal(jit_audit_seal_append(rule, key,
		                                       i % 2 ? "acme" : JIT_DEFAULT_TENANT_ID, prev,
		                                       events[i]),
		                 0);
		prev = events[i]->hash;
	}
}

static void
free_chain(struct jit_audit_event *events[CHAIN_LENGTH])
{
	for (int i = 0; i < CHAIN_LENGTH; i++)
		jit_audit_event_free(events[i]);
}

static struct jit_audit_row
row_of(const struct jit_audit_event *event)
{
	return (struct jit_audit_row){
		.id = event->id,
		.prev_hash = event->prev_hash,
		.prev_hash_length = strlen(event->prev_hash),
		.hash = event->hash,
		.hash_length = strlen(event->hash),
		.event = event,
	};
}

/* Feeds events[0..n) (skipping index `skip`, -1 for none) and finishes with `issued`. Returns
 * the first error; *ret_bad_id is the verifier's bad id. */
static int
walk(const struct jit_secret *key, struct jit_audit_event *events[], int n, int skip,
     int64_t issued, int64_t *ret_bad_id, char *detail, size_t detail_size)
{
	struct jit_audit_verifier verifier;
	int r = 0;
	jit_audit_verifier_init(&verifier, key);
	for (int i = 0; i < n && r == 0; i++) {
		if (i == skip)
			continue;
		struct jit_audit_row row = row_of(events[i]);
		r = jit_audit_verifier_step(&verifier, &row, detail, detail_size);
	}
	if (r == 0)
		r = jit_audit_verifier_finish(&verifier, issued, detail, detail_size);
	*ret_bad_id = verifier.bad_id;
	return r;
}

static void
test_verifier_accepts_an_intact_chain(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *key = test_key(1);
	struct jit_audit_event *unkeyed[CHAIN_LENGTH], *keyed[CHAIN_LENGTH];
	char detail[256] = "";
	int64_t bad_id = 0;
	build_chain(JIT_AUDIT_SEAL_UNKEYED, NULL, unkeyed);
	build_chain(JIT_AUDIT_SEAL_KEYED, key, keyed);

	assert_int_equal(walk(NULL, unkeyed, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail,
	                      sizeof(detail)),
	                 0);
	assert_int_equal(
	        walk(key, keyed, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        0);
	assert_int_equal(walk(NULL, unkeyed, 0, -1, 0, &bad_id, detail, sizeof(detail)), 0);

	/* A chain is checked by its own rule only. */
	assert_int_equal(
	        walk(key, unkeyed, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 1);
	assert_int_equal(
	        walk(NULL, keyed, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 1);

	/* The verifier seals a copy: the events fed are unchanged. */
	char first[65];
	expected_hash(key, "", FIXED_CANONICAL, first);
	assert_string_equal(keyed[0]->hash, first);
	free_chain(unkeyed);
	free_chain(keyed);
}

static void
test_verifier_names_the_tampered_event(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *key = test_key(1);
	struct jit_audit_event *events[CHAIN_LENGTH];
	char detail[256] = "", saved[65];
	int64_t bad_id = 0;
	build_chain(JIT_AUDIT_SEAL_KEYED, key, events);

	/* An altered field. */
	free(events[2]->outcome);
	events[2]->outcome = strdup("denied");
	assert_int_equal(
	        walk(key, events, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 3);
	assert_non_null(strstr(detail, "the hash does not match the event's contents"));
	free(events[2]->outcome);
	events[2]->outcome = strdup("success");

	/* An event moved to another tenant. */
	memcpy(events[1]->tenant_id, "other", sizeof("other"));
	assert_int_equal(
	        walk(key, events, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 2);
	memcpy(events[1]->tenant_id, "acme", sizeof("acme"));

	/* A removed event: the gap names the one after it. */
	assert_int_equal(
	        walk(key, events, CHAIN_LENGTH, 1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 3);
	assert_non_null(strstr(detail, "event 3 follows event 1"));
	assert_int_equal(
	        walk(key, events, CHAIN_LENGTH, 0, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 2);
	assert_non_null(strstr(detail, "starts at event 2"));

	/* A removed and renumbered event: the prev_hash no longer links. */
	memcpy(saved, events[2]->prev_hash, sizeof(saved));
	memcpy(events[2]->prev_hash, events[0]->hash, sizeof(saved));
	assert_int_equal(
	        walk(key, events, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        JIT_ERR_DENIED);
	assert_int_equal(bad_id, 3);
	assert_non_null(strstr(detail, "prev_hash does not match"));
	memcpy(events[2]->prev_hash, saved, sizeof(saved));

	/* Events removed from the end: only the sequence tells. */
	assert_int_equal(walk(key, events, CHAIN_LENGTH - 1, -1, CHAIN_LENGTH, &bad_id, detail,
	                      sizeof(detail)),
	                 JIT_ERR_DENIED);
	assert_int_equal(bad_id, CHAIN_LENGTH);
	assert_non_null(strstr(detail, "events at the end were removed"));

	/* A stored hash with one more byte (not a C string's end) or none at all. */
	struct jit_audit_verifier verifier;
	struct jit_audit_row row = row_of(events[0]);
	char longer[66];
	memcpy(longer, events[0]->hash, 64);
	longer[64] = '\0';
	longer[65] = '\0';
	row.hash = longer;
	row.hash_length = 65;
	jit_audit_verifier_init(&verifier, key);
	assert_int_equal(jit_audit_verifier_step(&verifier, &row, detail, sizeof(detail)),
	                 JIT_ERR_DENIED);
	row = row_of(events[0]);
	row.prev_hash = NULL;
	row.prev_hash_length = 0;
	jit_audit_verifier_init(&verifier, key);
	assert_int_equal(jit_audit_verifier_step(&verifier, &row, detail, sizeof(detail)),
	                 JIT_ERR_DENIED);

	/* A row that cannot be read as an event. */
	row = row_of(events[0]);
	row.event = NULL;
	jit_audit_verifier_init(&verifier, key);
	assert_int_equal(jit_audit_verifier_step(&verifier, &row, detail, sizeof(detail)),
	                 JIT_ERR_DENIED);
	assert_int_equal(verifier.bad_id, 1);
	assert_int_equal(verifier.count, 1);
	assert_non_null(strstr(detail, "cannot be read"));

	assert_int_equal(
	        walk(key, events, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        0);
	free_chain(events);
}

/* ---- re-keying ------------------------------------------------------------------------ */

static void
test_rekeyer_makes_the_keyed_chain(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *key = test_key(1);
	struct jit_audit_event *events[CHAIN_LENGTH], *keyed[CHAIN_LENGTH];
	struct jit_audit_rekeyer rekeyer;
	char detail[256] = "", first[65];
	int64_t bad_id = 0;
	build_chain(JIT_AUDIT_SEAL_UNKEYED, NULL, events);
	build_chain(JIT_AUDIT_SEAL_KEYED, key, keyed);

	jit_audit_rekeyer_init(&rekeyer, key);
	for (int i = 0; i < CHAIN_LENGTH; i++) {
		assert_int_equal(jit_audit_rekeyer_step(&rekeyer, events[i]), 0);
		/* The same hashes as a chain sealed with the key from the start. */
		assert_string_equal(events[i]->prev_hash, keyed[i]->prev_hash);
		assert_string_equal(events[i]->hash, keyed[i]->hash);
	}
	expected_hash(key, "", FIXED_CANONICAL, first);
	assert_string_equal(events[0]->hash, first);
	assert_int_equal(
	        walk(key, events, CHAIN_LENGTH, -1, CHAIN_LENGTH, &bad_id, detail, sizeof(detail)),
	        0);
	free_chain(events);
	free_chain(keyed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unkeyed_hash_of_a_fixed_event),
		cmocka_unit_test(test_keyed_hash_of_a_fixed_event),
		cmocka_unit_test(test_tenant_is_in_the_hashed_text),
		cmocka_unit_test(test_chain_rule_from_meta_values),
		cmocka_unit_test(test_verify_key),
		cmocka_unit_test(test_verifier_accepts_an_intact_chain),
		cmocka_unit_test(test_verifier_names_the_tampered_event),
		cmocka_unit_test(test_rekeyer_makes_the_keyed_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
