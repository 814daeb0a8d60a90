/* The policies of the server: the enabled eligibility and approval policies compiled into
 * one immutable set, swapped atomically on reload, and the two decisions the workflow asks of
 * it. Evaluation runs in-process in the policies' language (server/policy/engine.h: Rego on
 * lib/rego today) with its budgets; it never blocks. */
#ifndef JIT_SERVER_POLICY_H
#define JIT_SERVER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common/macro.h"
#include "server/policy/engine.h"
#include "server/core/model.h"

/* Per-thread evaluation state of every language, reused across evaluations. */
struct jit_policy_context;
int jit_policy_context_new(struct jit_policy_context **ret_context);
void jit_policy_context_free(struct jit_policy_context *context);

/* A compiled set: every enabled policy of each type compiled together as modules named
 * "<policy name>.rego" (so several `allow` rules OR together). With no enabled policy of a
 * type, that type denies everything. Immutable; shared by threads through references. */
struct jit_policy_set;

/* Compiles `policies` (the enabled ones are used; disabled ones are skipped). On a compile
 * error returns JIT_ERR_INVALID and fills *error (message with the policy name, line and
 * column). */
int jit_policy_set_compile(struct jit_policy *const *policies, size_t count,
                           struct jit_policy_set **ret_set, struct jit_policy_error *error);
/* Compiles one policy alone, as a pre-flight check before it is saved: a parse or compile
 * error fills *error (line and column) and returns JIT_ERR_INVALID; a module whose package is
 * not the one of its type (jitsudo.eligibility / jitsudo.approval) is refused the same way. */
int jit_policy_check(const struct jit_policy *policy, struct jit_policy_error *error);

struct jit_policy_set *jit_policy_set_ref(struct jit_policy_set *set);
void jit_policy_set_unref(struct jit_policy_set *set);
JIT_DEFINE_CLEANUP(struct jit_policy_set *, jit_policy_set_unref)
/* Number of enabled policies compiled into the set. */
size_t jit_policy_set_count(const struct jit_policy_set *set);

/* The input document of both policy types (DESIGN.md): {"user": {"email", "groups"},
 * "request": {"provider", "role", "resource_scope", "duration_seconds", "reason",
 * "break_glass", "metadata", "requester_identity"}, "context": {"now" (RFC 3339), "host"
 * (when set), "trust_tier" (0)}}. New reference or NULL on ENOMEM. */
json_t *jit_policy_input(const char *user_email, const json_t *user_groups,
                         const struct jit_request *request, int64_t now, const char *host);

struct jit_decision {
	bool allow;
	char reason[512];           /* the policy's `reason` (string), or a fallback text */
	char approver_tier[16];     /* approval only: "auto" or "human" (default "human") */
	int32_t required_approvals; /* approval only: >= 1 (default 1, capped at 10) */
};

/* Eligibility: data.jitsudo.eligibility.allow with the requester as user; reason from
 * data.jitsudo.eligibility.reason when it is a string, else "not eligible: no eligibility
 * policy allows this request". Approval: data.jitsudo.approval.allow (and reason,
 * approver_tier, required_approvals) with the approver (or, at create, the requester) as
 * user. Each returns 0 with the decision filled in, or JIT_ERR_INTERNAL / JIT_ERR_LIMIT with
 * the engine's error (a policy that fails to evaluate denies). `context` is the
 * caller's per-thread context. */
int jit_policy_decide(struct jit_policy_set *set, struct jit_policy_context *context,
                      enum jit_policy_type type, const json_t *input,
                      struct jit_decision *ret_decision, struct jit_policy_error *error);

/* policies:eval: evaluates the whole package document (data.jitsudo.eligibility or
 * data.jitsudo.approval) against a caller-supplied input, returning allow, reason and the
 * package's value as JSON text (malloc'd) in *ret_result_json. */
int jit_policy_eval_raw(struct jit_policy_set *set, struct jit_policy_context *context,
                        enum jit_policy_type type, const json_t *input,
                        struct jit_decision *ret_decision, char **ret_result_json,
                        struct jit_policy_error *error);

/* The default policies shipped in `dir` (eligibility.rego and approval.rego, each with a
 * leading comment block used as the description): returns them as policy objects named
 * "default-eligibility" and "default-approval", enabled, ready to upsert. */
int jit_policy_load_defaults(const char *dir, struct jit_policy ***ret_list, size_t *ret_count,
                             char *error, size_t error_size);

/* Budgets of one policy evaluation: a hostile or careless policy stops with
 * eval_limit_error (JIT_ERR_LIMIT) after this many steps instead of stalling a worker. */
#define JIT_POLICY_MAX_STEPS 1000000
/* required_approvals is clamped to 1..JIT_POLICY_MAX_APPROVALS; a value that is not an
 * integer counts as 1. approver_tier is "auto" only when the rule's value is exactly the
 * string "auto". An allowed decision whose policy defines no string `reason` has reason "";
 * the fallback texts are for denials. */
#define JIT_POLICY_MAX_APPROVALS 10

#endif
