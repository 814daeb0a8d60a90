/* The workflow: the only code that changes state. Each operation checks who the caller is
 * and what they may do, asks the policies, talks to the provider, and commits the state
 * change with its audit event in one store transaction; on any error nothing is half-done and
 * the status says why (JIT_ERR_INVALID 400, JIT_ERR_DENIED 403, JIT_ERR_NOT_FOUND 404,
 * JIT_ERR_CONFLICT 409, JIT_ERR_UPSTREAM 502, ...). Runs on the calling worker's thread;
 * blocks on the store and on provider calls. */
#ifndef JIT_SERVER_WORKFLOW_H
#define JIT_SERVER_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "server/core/caller.h"
#include "server/server.h"

/* What a new request asks for; strings are borrowed. */
struct jit_request_spec {
	const char *provider;
	const char *role;
	const char *resource_scope;
	int64_t duration_seconds;
	const char *reason;
	bool break_glass;
	const json_t *metadata; /* object of strings, or NULL */
};

int jit_wf_create(struct jit_worker *w, const struct jit_caller *caller,
                  const struct jit_request_spec *spec, struct jit_request **ret_request,
                  struct jit_error *status);
int jit_wf_get(struct jit_worker *w, const struct jit_caller *caller, const char *id,
               struct jit_request **ret_request, struct jit_error *status);

struct jit_list_options {
	bool mine;
	bool pending;
	const char *requester_identity;
	enum jit_request_state state;
	size_t page_size;      /* 1..1000 */
	const char *before_id; /* from the page token, or NULL */
};
/* Requests the caller may see, newest first. *ret_next_before is the id to continue before
 * ("" when there is no more), a buffer of JIT_ID_LENGTH + 1 bytes. */
int jit_wf_list(struct jit_worker *w, const struct jit_caller *caller,
                const struct jit_list_options *options, struct jit_request ***ret_list,
                size_t *ret_count, char *ret_next_before, struct jit_error *status);

int jit_wf_approve(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                   const char *comment, struct jit_request **ret_request, struct jit_error *status);
int jit_wf_deny(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                const char *reason, struct jit_request **ret_request, struct jit_error *status);
int jit_wf_revoke(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                  const char *reason, struct jit_request **ret_request, struct jit_error *status);
/* The grant of an APPROVED or ACTIVE request, for its requester only (APPROVED -> ACTIVE on
 * the first fetch). The caller clears *ret_grant with jit_grant_clear. */
int jit_wf_credentials(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                       struct jit_grant *ret_grant, struct jit_error *status);

/* Policies: anyone authenticated may read and dry-run; admins write. */
int jit_wf_policy_list(struct jit_worker *w, const struct jit_caller *caller,
                       struct jit_policy ***ret_list, size_t *ret_count, struct jit_error *status);
int jit_wf_policy_get(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                      struct jit_policy **ret_policy, struct jit_error *status);
/* Upsert by name: compiled alone and with the other enabled policies before it is saved. */
int jit_wf_policy_apply(struct jit_worker *w, const struct jit_caller *caller,
                        struct jit_policy *policy, struct jit_error *status);
int jit_wf_policy_delete(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                         struct jit_error *status);
int jit_wf_policy_eval(struct jit_worker *w, const struct jit_caller *caller,
                       enum jit_policy_type type, const json_t *input,
                       struct jit_decision *ret_decision, char **ret_result_json,
                       struct jit_error *status);
/* Recompiles every enabled policy from the store; *ret_loaded = how many. caller may be NULL
 * (server start). */
int jit_wf_policy_reload(struct jit_worker *w, const struct jit_caller *caller, size_t *ret_loaded,
                         struct jit_error *status);
/* On first start (no "default_policies_loaded" mark in the store) saves the policies of
 * config->policies_dir. */
int jit_wf_load_default_policies(struct jit_worker *w, struct jit_error *status);

/* Audit events the caller may read (admins: all; others: events of requests they may see
 * and their own), oldest first. *ret_next_after is the id to continue after, 0 when done. */
int jit_wf_audit_query(struct jit_worker *w, const struct jit_caller *caller,
                       const struct jit_audit_filter *filter, struct jit_audit_event ***ret_list,
                       size_t *ret_count, int64_t *ret_next_after, struct jit_error *status);

/* The sweeper's work at `now`: expires grants and pending requests that are due and retries
 * failed provider revocations. Returns 0 when all due work was done. */
int jit_wf_sweep(struct jit_worker *w, int64_t now, struct jit_error *status);

#endif
