/* The audit chain's rules that every store backend shares: which rule a chain follows (from
 * its two meta values), how an appended event is sealed, how a stored chain is verified and
 * how an unkeyed chain is re-keyed. A backend only reads and writes rows and feeds them here,
 * so that two backends can never seal or verify a chain differently. Pure computation on
 * plain data (server/core/model.h's event, hashes as text, the chain key): no database, no
 * I/O, never blocks, never logs. The hash of one event (its canonical text, HMAC-SHA256 or the
 * old SHA-256) is jit_audit_event_canonical and jit_audit_event_seal[_keyed] in model.h. */
#ifndef JIT_SERVER_STORE_AUDIT_SEAL_H
#define JIT_SERVER_STORE_AUDIT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/secret.h"
#include "server/core/model.h"

/* The meta table's keys of the chain's rule. No JIT_AUDIT_META_CHAIN entry: the unkeyed
 * SHA-256 chain of old databases. JIT_AUDIT_CHAIN_KEYED_NAME there, with the chain key's id
 * (jit_audit_key_id) under JIT_AUDIT_META_KEY_ID: the keyed HMAC-SHA256 chain. */
#define JIT_AUDIT_META_CHAIN "audit_chain"
#define JIT_AUDIT_META_KEY_ID "audit_key_id"
#define JIT_AUDIT_CHAIN_KEYED_NAME "hmac-sha256"

/* The chain's rule from the meta values as stored (`chain_name`, `key_id`: NULL when the
 * entry is absent), and whether `key` (NULL: the process has none) is its key (always true
 * for an unkeyed chain; false for a keyed chain without a recorded id or without `key`).
 * Returns 0, JIT_ERR_INVALID for an unknown rule name (the meta table was altered or is from
 * a newer program), or a negative code from jit_audit_key_id. */
int jit_audit_seal_chain(const char *chain_name, const char *key_id, const struct jit_secret *key,
                         enum jit_audit_chain *ret_chain, bool *ret_key_matches);

/* ---- appending ------------------------------------------------------------------------ */

/* How appends seal, decided once from the chain's rule and the process's key. A backend may
 * keep it per handle, and must forget it (UNKNOWN) when the rule changes (a re-key). */
enum jit_audit_seal_rule {
	JIT_AUDIT_SEAL_UNKNOWN = 0,
	JIT_AUDIT_SEAL_UNKEYED, /* an unkeyed chain and a process without a key */
	JIT_AUDIT_SEAL_KEYED,   /* a keyed chain and the process's key is its key */
	JIT_AUDIT_SEAL_REFUSED, /* anything else: appending would mix two rules */
};
/* The rule for a chain read by jit_audit_seal_chain with the same `key`. */
enum jit_audit_seal_rule jit_audit_seal_rule_for(enum jit_audit_chain chain, bool key_matches,
                                                 const struct jit_secret *key);

/* Seals `event` of tenant `tenant_id` as the chain's next event after `prev_hash` (the
 * newest stored event's hash, "" for an empty log; the caller read it under the write lock it
 * holds until the insert): sets event->tenant_id (the tenant is part of what the hash
 * covers), event->prev_hash and event->hash. `key` is the process's chain key (NULL: none).
 * Returns 0; JIT_ERR_INVALID for an empty or over-long tenant id; JIT_ERR_DENIED when `rule`
 * is not UNKEYED or KEYED, or does not fit `key` (a key and an unkeyed rule, or no key and a
 * keyed one): an event is never sealed by a rule the chain does not use; or an error of
 * jit_audit_event_seal[_keyed]. */
int jit_audit_seal_append(enum jit_audit_seal_rule rule, const struct jit_secret *key,
                          const char *tenant_id, const char *prev_hash,
                          struct jit_audit_event *event);

/* ---- verifying ------------------------------------------------------------------------ */

/* Which key a verification walks the chain with, from the meta values as stored (as
 * jit_audit_seal_chain) and the process's key. Returns 0 and sets *ret_walk_key (NULL: the
 * unkeyed rule; else `key`, borrowed); JIT_ERR_DENIED with *ret_bad_id = 0 and a detail when
 * the rule name is unknown (altered); JIT_ERR_UNAUTHENTICATED with a detail when the chain
 * is keyed and `key` is absent or not its key; or a negative code from jit_audit_key_id. */
int jit_audit_seal_verify_key(const char *chain_name, const char *key_id,
                              const struct jit_secret *key, const struct jit_secret **ret_walk_key,
                              int64_t *ret_bad_id, char *detail, size_t detail_size);

/* One stored row as the verifier sees it: its id; its prev_hash and hash exactly as stored
 * (bytes and length; NULL for a column without a value); and the event read from the row
 * (every field, its tenant included), or NULL when the row cannot be read as an event
 * (details not a JSON object, a field too long). Nothing is kept after the call. */
struct jit_audit_row {
	int64_t id;
	const char *prev_hash;
	size_t prev_hash_length;
	const char *hash;
	size_t hash_length;
	const struct jit_audit_event *event;
};

/* Walks one chain in id order. Zero it with jit_audit_verifier_init, then feed every stored
 * event from the oldest with jit_audit_verifier_step, then jit_audit_verifier_finish. */
struct jit_audit_verifier {
	const struct jit_secret *key; /* borrowed; NULL: the unkeyed rule */
	int64_t expected_id;          /* ids start at 1 and have no gaps */
	char prev_hash[65];           /* the hash of the last event that checked */
	size_t count;                 /* rows fed so far */
	int64_t bad_id;               /* the first event that did not check, once one did not */
};

void jit_audit_verifier_init(struct jit_audit_verifier *verifier, const struct jit_secret *key);
/* Checks `row` against the chain so far: its id follows the last one, its stored prev_hash is
 * the last event's hash, it can be read, and its stored hash is the one its contents and
 * prev_hash give under the verifier's rule. Returns 0 when it links; JIT_ERR_DENIED with
 * verifier->bad_id = row->id and a one-line explanation in `detail` (an event removed before
 * it, inserted, or altered); or a negative errno (the walk then stops without a verdict). */
int jit_audit_verifier_step(struct jit_audit_verifier *verifier, const struct jit_audit_row *row,
                            char *detail, size_t detail_size);
/* After the last row: `last_issued_id` is the highest id the backend ever handed out (its
 * sequence; 0 when none), which still counts events removed from the end. Returns 0, or
 * JIT_ERR_DENIED with verifier->bad_id set to the first missing id and a detail. */
int jit_audit_verifier_finish(struct jit_audit_verifier *verifier, int64_t last_issued_id,
                              char *detail, size_t detail_size);

/* ---- re-keying ------------------------------------------------------------------------ */

/* Whether an unkeyed chain may be re-keyed with `key` (the process's key): 0;
 * JIT_ERR_INVALID when there is no key; JIT_ERR_CONFLICT when `chain` is already keyed. The
 * backend then checks the whole chain by the unkeyed rule (a verifier with a NULL key) and
 * rewrites nothing unless it is intact. */
int jit_audit_seal_rekey_allowed(enum jit_audit_chain chain, const struct jit_secret *key);

/* Recomputes a chain's hashes under a key: feed every event from the oldest to
 * jit_audit_rekeyer_step, which sets its new prev_hash and hash; store them, then record
 * JIT_AUDIT_CHAIN_KEYED_NAME and the key's id (jit_audit_key_id) in the meta table. */
struct jit_audit_rekeyer {
	const struct jit_secret *key; /* borrowed */
	char prev_hash[65];           /* the new hash of the last event re-keyed */
};
void jit_audit_rekeyer_init(struct jit_audit_rekeyer *rekeyer, const struct jit_secret *key);
/* Seals `event` (read from its row, tenant included) after the last one under the key.
 * Returns 0 or an error of jit_audit_event_seal_keyed. */
int jit_audit_rekeyer_step(struct jit_audit_rekeyer *rekeyer, struct jit_audit_event *event);

#endif
