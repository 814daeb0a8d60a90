/* The server's domain objects: elevation requests, policies and audit events, their enum
 * names as the API spells them, and their JSON form (seed 000, snake_case field names).
 * Plain data; nothing here touches the store or the network. */
#ifndef JIT_SERVER_MODEL_H
#define JIT_SERVER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common/id.h"
#include "lib/common/macro.h"

/* Bounds on what a caller may send; checked by the API before anything is stored. */
#define JIT_MAX_IDENTITY 320 /* an email address */
#define JIT_MAX_PROVIDER 32
#define JIT_MAX_ROLE 256
#define JIT_MAX_SCOPE 256
#define JIT_MAX_REASON 1024
#define JIT_MAX_COMMENT 1024
#define JIT_MAX_METADATA_ENTRIES 32
#define JIT_MAX_METADATA_KEY 64
#define JIT_MAX_METADATA_VALUE 1024
#define JIT_MAX_POLICY_NAME 128
#define JIT_MAX_POLICY_DESCRIPTION 1024
#define JIT_MAX_POLICY_REGO (256 * 1024)
#define JIT_MAX_GROUPS 256
#define JIT_MAX_HOST 253
#define JIT_MAX_TENANT_ID 64 /* a uuid (36) today; room for other forms */

/* The tenant of the seed-000 API and of every row written before tenants existed. The
 * schema migration that introduced tenants stores it in the database: never change it. */
#define JIT_DEFAULT_TENANT_ID "default"

enum jit_request_state {
	JIT_STATE_UNSPECIFIED = 0,
	JIT_STATE_PENDING = 1,
	JIT_STATE_APPROVED = 2,
	JIT_STATE_REJECTED = 3,
	JIT_STATE_ACTIVE = 4,
	JIT_STATE_EXPIRED = 5,
	JIT_STATE_REVOKED = 6,
};

/* "REQUEST_STATE_PENDING", ...; "REQUEST_STATE_UNSPECIFIED" for anything else. */
const char *jit_state_name(enum jit_request_state state);
/* Accepts the proto name ("REQUEST_STATE_PENDING") or the short one ("PENDING"), exactly.
 * Returns 0 or JIT_ERR_INVALID (also for UNSPECIFIED). */
int jit_state_parse(const char *text, enum jit_request_state *ret_state);
/* REJECTED, EXPIRED and REVOKED never change again. */
bool jit_state_terminal(enum jit_request_state state);

enum jit_policy_type {
	JIT_POLICY_UNSPECIFIED = 0,
	JIT_POLICY_ELIGIBILITY = 1,
	JIT_POLICY_APPROVAL = 2,
};

/* "POLICY_TYPE_ELIGIBILITY" / "POLICY_TYPE_APPROVAL". */
const char *jit_policy_type_name(enum jit_policy_type type);
/* Accepts "POLICY_TYPE_ELIGIBILITY", "ELIGIBILITY", and the same for APPROVAL. */
int jit_policy_type_parse(const char *text, enum jit_policy_type *ret_type);

/* Times are nanoseconds since the epoch, 0 meaning "not set". Strings are malloc'd and owned
 * by the struct; optional ones may be NULL. */
struct jit_approval {
	char *approver_identity;
	char *comment; /* may be NULL */
	int64_t approved_at;
};

struct jit_request {
	char id[JIT_ID_LENGTH + 1];
	enum jit_request_state state;
	char *requester_identity;
	char *provider;
	char *role;
	char *resource_scope;
	int64_t duration_seconds;
	char *reason;
	bool break_glass;
	json_t *metadata; /* object of string values; never NULL once built or loaded */
	int64_t created_at;
	int64_t updated_at;
	int64_t pending_expires_at; /* a PENDING request lapses to EXPIRED at this time */
	int64_t issued_at;          /* set at approval: the clock starts then */
	int64_t expires_at;         /* issued_at + duration */
	char *approver_tier;        /* "human" or "auto"; as the approval policy said at create */
	int32_t required_approvals; /* distinct approvers needed (>= 1) */
	struct jit_approval *approvals;
	size_t approval_count;
	char *decided_by;               /* who denied or revoked; "system" for expiry */
	char *decision_reason;          /* the deny or revoke reason */
	bool revocation_pending;        /* the provider has not yet confirmed revocation */
	int32_t revoke_attempts;        /* failed provider revocations so far */
	int64_t revoke_next_attempt_at; /* when the next revocation attempt is due */
	char *host;                     /* the jump host involved, or NULL */
	uint64_t version; /* the stored row's version when loaded (server/store/store.h) */
};

struct jit_request *jit_request_new(void);
void jit_request_free(struct jit_request *request);
JIT_DEFINE_CLEANUP(struct jit_request *, jit_request_free)
/* Frees an array of `count` requests and the array itself. */
void jit_request_list_free(struct jit_request **list, size_t count);

/* The API's JSON object of a request (seed 000 "request" object plus the fields this server
 * adds: metadata, issued_at, expires_at, approver_tier, required_approvals, approvals,
 * decided_by, decision_reason, revocation_pending). Unset times are omitted. New reference
 * or NULL on ENOMEM. */
json_t *jit_request_to_json(const struct jit_request *request);
/* Appends the same object as JSON text (byte for byte what json_dumps of the above gives in
 * compact form) to `out`, without building a tree. 0, JIT_ERR_TOO_LARGE or -ENOMEM. */
struct jit_buf;
int jit_request_write_json(const struct jit_request *request, struct jit_buf *out);

struct jit_policy {
	char id[40]; /* "pol_" + 26 characters */
	char *name;
	enum jit_policy_type type;
	char *rego;
	char *description;
	bool enabled;
	int64_t created_at;
	int64_t updated_at;
	char *updated_by;
};

struct jit_policy *jit_policy_new(void);
void jit_policy_free(struct jit_policy *policy);
JIT_DEFINE_CLEANUP(struct jit_policy *, jit_policy_free)
void jit_policy_list_free(struct jit_policy **list, size_t count);
json_t *jit_policy_to_json(const struct jit_policy *policy);

/* One audit event. The store assigns id, prev_hash and hash when it appends; the hash is the
 * lowercase hex HMAC-SHA256, under the server's audit key, of prev_hash (as text) followed by
 * the canonical JSON of the event without id and hash (jit_audit_event_canonical). Databases
 * written before the chain had a key hold the plain SHA-256 of the same bytes until the server
 * re-keys them (docs/storage.md). */
struct jit_audit_event {
	int64_t id;
	char tenant_id[JIT_MAX_TENANT_ID + 1]; /* set by the store when it appends or loads */
	int64_t timestamp;
	char *actor_identity;
	char *action;         /* "request.created", "request.approved", ... */
	char *request_id;     /* may be NULL */
	char *provider;       /* may be NULL */
	char *resource_scope; /* may be NULL */
	char *outcome;        /* "success", "denied", "failure" */
	json_t *details;      /* object; never NULL once built or loaded */
	char prev_hash[65];
	char hash[65];
};

struct jit_audit_event *jit_audit_event_new(void);
void jit_audit_event_free(struct jit_audit_event *event);
JIT_DEFINE_CLEANUP(struct jit_audit_event *, jit_audit_event_free)
void jit_audit_event_list_free(struct jit_audit_event **list, size_t count);
/* The API's JSON object: id, timestamp, actor_identity, action, request_id, provider,
 * resource_scope, outcome, details_json (text), prev_hash, hash. */
json_t *jit_audit_event_to_json(const struct jit_audit_event *event);
/* Canonical text hashed into the chain: a JSON object with keys sorted, no spaces, of
 * timestamp (RFC 3339 with nanoseconds), actor_identity, action, request_id, provider,
 * resource_scope, outcome, details (absent strings as ""), and tenant_id unless the event
 * belongs to the default tenant (or to none yet): events from before tenants keep their
 * hashes, and an event moved to another tenant no longer matches its hash. malloc'd, or NULL
 * on ENOMEM. */
char *jit_audit_event_canonical(const struct jit_audit_event *event);
/* Computes event->hash as HMAC-SHA256 under `key` (JIT_AUDIT_CHAIN_KEY_SIZE bytes) of
 * `prev_hash` (64 hex characters or "" for the first event) followed by the canonical text;
 * also copies prev_hash into the event. Returns 0, JIT_ERR_INVALID (no key, a key of another
 * size, an over-long prev_hash) or -ENOMEM. The key is only read. */
#define JIT_AUDIT_CHAIN_KEY_SIZE 32
struct jit_secret;
int jit_audit_event_seal_keyed(struct jit_audit_event *event, const char *prev_hash,
                               const struct jit_secret *key);
/* The unkeyed rule of old databases: SHA-256 of the same bytes. Only for checking such a
 * chain before it is re-keyed, and for stores used without a key (unit tests). */
int jit_audit_event_seal(struct jit_audit_event *event, const char *prev_hash);
/* Which of the two rules a chain follows (the store records it: jit_store_audit_chain). */
enum jit_audit_chain {
	JIT_AUDIT_CHAIN_UNKEYED = 1, /* SHA-256 (databases from before the key) */
	JIT_AUDIT_CHAIN_KEYED = 2,   /* HMAC-SHA256 under the chain key */
};

/* A copy of `s` (NULL for NULL); aborts nothing: returns NULL on ENOMEM too, so callers that
 * pass non-NULL must check. */
char *jit_strdup_or_null(const char *s);

/* Policy ids: "pol_" + 26 characters of the same form as request ids (sortable by creation). */
#define JIT_POLICY_ID_PREFIX "pol_"
#define JIT_POLICY_ID_LENGTH 30
/* Writes a new policy id (JIT_POLICY_ID_LENGTH characters and a NUL) into `buf` (at least 31
 * bytes). Returns 0, -EINVAL when `buf` is too small, or a negative errno from jit_id_new. */
int jit_policy_id_new(char *buf, size_t size);

#endif
