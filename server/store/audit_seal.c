/* The audit chain's backend-neutral rules (audit_seal.h): the rule from the meta values, the
 * seal of an appended event, the verifier and the re-keyer. Trusts nothing of the rows it is
 * fed: every stored byte of prev_hash and hash is compared as stored. */
#include "server/store/audit_seal.h"

#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "server/audit/audit_chain.h"

int
jit_audit_seal_chain(const char *chain_name, const char *key_id, const struct jit_secret *key,
                     enum jit_audit_chain *ret_chain, bool *ret_key_matches)
{
	char id[JIT_AUDIT_KEY_ID_SIZE];
	int r;
	if (!chain_name) {
		*ret_chain = JIT_AUDIT_CHAIN_UNKEYED;
		*ret_key_matches = true;
		return 0;
	}
	if (strcmp(chain_name, JIT_AUDIT_CHAIN_KEYED_NAME) != 0)
		return JIT_ERR_INVALID;
	if (!key_id || !key) {
		*ret_chain = JIT_AUDIT_CHAIN_KEYED;
		*ret_key_matches = false;
		return 0;
	}
	if ((r = jit_audit_key_id(key, id)) < 0)
		return r;
	*ret_chain = JIT_AUDIT_CHAIN_KEYED;
	*ret_key_matches = strcmp(id, key_id) == 0;
	return 0;
}

enum jit_audit_seal_rule
jit_audit_seal_rule_for(enum jit_audit_chain chain, bool key_matches, const struct jit_secret *key)
{
	if (chain == JIT_AUDIT_CHAIN_KEYED && key && key_matches)
		return JIT_AUDIT_SEAL_KEYED;
	if (chain == JIT_AUDIT_CHAIN_UNKEYED && !key)
		return JIT_AUDIT_SEAL_UNKEYED;
	return JIT_AUDIT_SEAL_REFUSED;
}

int
jit_audit_seal_append(enum jit_audit_seal_rule rule, const struct jit_secret *key,
                      const char *tenant_id, const char *prev_hash, struct jit_audit_event *event)
{
	size_t tenant_length = tenant_id ? strnlen(tenant_id, sizeof(event->tenant_id)) : 0;
	if (tenant_length == 0 || tenant_length >= sizeof(event->tenant_id))
		return JIT_ERR_INVALID;
	switch (rule) {
	case JIT_AUDIT_SEAL_KEYED:
		if (!key)
			return JIT_ERR_DENIED;
		memcpy(event->tenant_id, tenant_id, tenant_length + 1);
		return jit_audit_event_seal_keyed(event, prev_hash, key);
	case JIT_AUDIT_SEAL_UNKEYED:
		if (key)
			return JIT_ERR_DENIED;
		memcpy(event->tenant_id, tenant_id, tenant_length + 1);
		return jit_audit_event_seal(event, prev_hash);
	default:
		return JIT_ERR_DENIED;
	}
}

int
jit_audit_seal_verify_key(const char *chain_name, const char *key_id, const struct jit_secret *key,
                          const struct jit_secret **ret_walk_key, int64_t *ret_bad_id, char *detail,
                          size_t detail_size)
{
	enum jit_audit_chain chain = JIT_AUDIT_CHAIN_UNKEYED;
	bool matches = false;
	int r = jit_audit_seal_chain(chain_name, key_id, key, &chain, &matches);
	if (r == JIT_ERR_INVALID) {
		snprintf(detail, detail_size,
		         "the meta table names an unknown audit chain rule: it was altered");
		*ret_bad_id = 0;
		return JIT_ERR_DENIED;
	}
	if (r < 0)
		return r;
	if (chain == JIT_AUDIT_CHAIN_KEYED && !matches) {
		snprintf(detail, detail_size,
		         key ? "the audit key is not the key this audit chain was made with (or "
		               "the key id in the meta table was altered)"
		             : "the audit chain is keyed and no audit key was given");
		return JIT_ERR_UNAUTHENTICATED;
	}
	*ret_walk_key = chain == JIT_AUDIT_CHAIN_KEYED ? key : NULL;
	return 0;
}

void
jit_audit_verifier_init(struct jit_audit_verifier *verifier, const struct jit_secret *key)
{
	*verifier = (struct jit_audit_verifier){ .key = key, .expected_id = 1 };
}

/* Do the stored bytes (NULL: no value) equal `expected` exactly? */
static bool
stored_equals(const char *stored, size_t length, const char *expected)
{
	return stored && length == strlen(expected) && memcmp(stored, expected, length) == 0;
}

int
jit_audit_verifier_step(struct jit_audit_verifier *verifier, const struct jit_audit_row *row,
                        char *detail, size_t detail_size)
{
	verifier->count++;
	if (row->id != verifier->expected_id) {
		if (verifier->expected_id == 1)
			snprintf(detail, detail_size,
			         "the log starts at event %lld, not 1: earlier events were removed "
			         "or this one was inserted",
			         (long long)row->id);
		else
			snprintf(detail, detail_size,
			         "event %lld follows event %lld: events in between were removed or "
			         "this one was inserted",
			         (long long)row->id, (long long)(verifier->expected_id - 1));
		goto denied;
	}
	if (!stored_equals(row->prev_hash, row->prev_hash_length, verifier->prev_hash)) {
		snprintf(detail, detail_size,
		         "prev_hash does not match the hash of the event before it: the event "
		         "before was removed or changed, or this one was inserted");
		goto denied;
	}
	if (!row->event) {
		snprintf(detail, detail_size,
		         "the event cannot be read (details are not a JSON object, or a hash is "
		         "malformed): it was altered");
		goto denied;
	}
	/* Sealed on a shallow copy: the seal writes only the copy's two hash arrays. */
	struct jit_audit_event copy = *row->event;
	int r = verifier->key
	                ? jit_audit_event_seal_keyed(&copy, verifier->prev_hash, verifier->key)
	                : jit_audit_event_seal(&copy, verifier->prev_hash);
	if (r < 0)
		return r;
	if (!stored_equals(row->hash, row->hash_length, copy.hash)) {
		snprintf(detail, detail_size,
		         "the hash does not match the event's contents: it was altered");
		goto denied;
	}
	memcpy(verifier->prev_hash, copy.hash, sizeof(verifier->prev_hash));
	verifier->expected_id++;
	return 0;
denied:
	verifier->bad_id = row->id;
	return JIT_ERR_DENIED;
}

int
jit_audit_verifier_finish(struct jit_audit_verifier *verifier, int64_t last_issued_id, char *detail,
                          size_t detail_size)
{
	/* Rows removed from the end leave no gap; the sequence still counts them (unless it was
	 * edited too: the checkpoints outside the database catch that). */
	if (last_issued_id < verifier->expected_id)
		return 0;
	verifier->bad_id = verifier->expected_id;
	snprintf(detail, detail_size,
	         "the log ends at event %lld but ids were handed out up to %lld: events at the "
	         "end were removed",
	         (long long)(verifier->expected_id - 1), (long long)last_issued_id);
	return JIT_ERR_DENIED;
}

int
jit_audit_seal_rekey_allowed(enum jit_audit_chain chain, const struct jit_secret *key)
{
	if (!key)
		return JIT_ERR_INVALID;
	if (chain == JIT_AUDIT_CHAIN_KEYED)
		return JIT_ERR_CONFLICT;
	return 0;
}

void
jit_audit_rekeyer_init(struct jit_audit_rekeyer *rekeyer, const struct jit_secret *key)
{
	*rekeyer = (struct jit_audit_rekeyer){ .key = key };
}

int
jit_audit_rekeyer_step(struct jit_audit_rekeyer *rekeyer, struct jit_audit_event *event)
{
	int r = jit_audit_event_seal_keyed(event, rekeyer->prev_hash, rekeyer->key);
	if (r < 0)
		return r;
	memcpy(rekeyer->prev_hash, event->hash, sizeof(rekeyer->prev_hash));
	return 0;
}
