/* What the workflow's files (server/core/create.c, approve.c, ...) share, and nothing outside
 * server/core uses: audit events, the write transaction, policy decisions, visibility, grants at
 * the provider. The wf_ prefix marks these helpers. Each runs on the calling worker's thread and
 * may block on the store; those that call a provider say so. `tenant` scopes every store call. */
#ifndef JIT_SERVER_WORKFLOW_INTERNAL_H
#define JIT_SERVER_WORKFLOW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "server/core/caller.h"
#include "server/core/state.h"
#include "server/core/workflow.h"
#include "server/server.h"

/* A non-admin's list or audit query checks each item it reads against the policies. Its cost
 * is bounded whatever page size it asks for: a query stops after this many rows or this many
 * policy checks and answers with a page token where it stopped (pages may then hold fewer
 * items than asked, even none, with a token to go on). */
#define LIST_SCAN_BATCH 200
#define SCAN_ROWS_MAX 2000
#define SCAN_CHECKS_MAX 256

/* ---- audit and transactions (common.c) ------------------------------------------------ */

/* Appends an event inside the open transaction. `details` is consumed (may be NULL). `host`,
 * the jump host whose call caused the event (or NULL), is recorded in the details. Returns 0
 * or a negative error. */
int wf_audit(struct jit_worker *w, const char *tenant, const char *host, const char *actor,
             const char *action, const struct jit_request *request, const char *outcome,
             json_t *details);

/* An event loop's worker does not write (server/server.h): true when the operation has been
 * marked to run again on a worker thread, and the caller must stop before changing anything. */
bool wf_must_move(struct jit_worker *w);

/* Records a refused or failed attempt in a transaction of its own, best effort. `details` is
 * consumed. */
void wf_audit_alone(struct jit_worker *w, const char *tenant, const char *host, const char *actor,
                    const char *action, const struct jit_request *request, const char *outcome,
                    json_t *details);

/* Opens the write transaction: 0, JIT_ERR_WOULD_BLOCK on an event loop's worker, or
 * JIT_ERR_UNAVAILABLE (a 503 to retry) when the store is still busy after its timeout. */
int wf_begin(struct jit_worker *w, struct jit_error *status);

/* {key: text} ("" for a NULL text) for audit details; NULL when out of memory. */
json_t *wf_reason_details(const char *key, const char *text);
/* {"denial": reason}. */
json_t *wf_denial_details(const char *reason);

/* Loads the stored request for the answer (so it carries exactly what was committed). */
int wf_reload(struct jit_worker *w, const char *tenant, const char *id, struct jit_request **ret,
              struct jit_error *status);

/* Tells the deadline watcher (the sweeper, server/server.h), if any, that a deadline at `at`
 * (ns since the epoch) was committed. Never blocks for long. */
void wf_deadline_committed(struct jit_worker *w, int64_t at);

/* ---- policies and visibility (common.c) ----------------------------------------------- */

/* Asks the live policies of `type` about `request` for this user; *ret holds the decision.
 * Fails (JIT_ERR_INTERNAL) only when evaluating failed, not when the policies say no. */
int wf_decide(struct jit_worker *w, enum jit_policy_type type, const char *email,
              const json_t *groups, const struct jit_request *request, const char *host,
              struct jit_decision *ret, struct jit_error *status);

/* May the caller approve (and so see, deny or revoke) this request, by the approval
 * policies? The requester never may. *ret_decision (may be NULL) gets the decision. */
bool wf_may_approve(struct jit_worker *w, const struct jit_caller *caller,
                    const struct jit_request *request, struct jit_decision *ret_decision);

/* Admins, the requester and its approvers may see a request. */
bool wf_may_see(struct jit_worker *w, const struct jit_caller *caller,
                const struct jit_request *request);

/* A reason or comment: `field` names it in the error. Required ones may not be absent. */
int wf_check_text(const char *field, const char *text, size_t max, bool required,
                  struct jit_error *status);

/* Loads a request of the caller's tenant that the caller may see; one they may not see is "not
 * found", so that ids of other people's requests are not confirmed. When the caller meant to
 * act on it (`refusal_action` set), the refused attempt is audited all the same. */
int wf_load_visible(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                    const char *refusal_action, struct jit_request **ret, struct jit_error *status);

/* ---- grants (grants.c) ---------------------------------------------------------------- */

/* Asks the provider for credentials (blocks on the provider); on success the request carries
 * issued_at/expires_at and *ret_sealed the sealed grant, owned by the caller. Nothing is
 * stored here. */
int wf_issue_grant(struct jit_worker *w, struct jit_request *request, uint8_t **ret_sealed,
                   size_t *ret_len, struct jit_error *status);

/* After a grant that could not be recorded: takes it back at once (blocks on the provider);
 * if the provider does not confirm, marks the stored request of `tenant` for revocation (the
 * sweeper retries) and audits grant.revoke_failed. */
void wf_undo_grant(struct jit_worker *w, const char *tenant, const struct jit_request *request);

/* {issued_at, expires_at} of the request's grant, for the audit. */
json_t *wf_grant_details(const struct jit_request *request);

/* Revokes at the provider a grant whose request has revocation_pending set, and records the
 * outcome: cleared on success; on failure the attempt count grows and the next attempt is
 * scheduled with exponential backoff. Blocks on the provider outside any transaction. */
int wf_revoke_at_provider(struct jit_worker *w, const char *tenant, const char *host,
                          const char *id, struct jit_error *status);

/* Ends a request (REVOKED or EXPIRED) inside the open transaction: the sealed credentials go
 * at once, and a grant that was issued is marked for revocation at the provider. */
int wf_end_request(struct jit_worker *w, const char *tenant, struct jit_request *request,
                   enum jit_request_state state, const char *by, const char *reason, int64_t now);

#endif
