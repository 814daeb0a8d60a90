/* The request state machine as one table: for each state and each event of the workflow, the
 * state it leads to, or none when the event is illegal there. The workflow's verbs ask it
 * before they change anything and answer its refusal texts; nothing else decides which
 * changes are legal. Plain data: no store, no policy, no clock. */
#ifndef JIT_SERVER_STATE_H
#define JIT_SERVER_STATE_H

#include <stdbool.h>

#include "lib/common/errors.h"
#include "server/core/model.h"

/* What happens to a request. Time limits (a grant's expires_at, a pending_expires_at) and who
 * may act are the verbs' business; the table says only which state an event may start from
 * and where it leads. A grant the provider fails to issue is no event: the request stays as
 * it was (PENDING). */
enum jit_request_event {
	JIT_EVENT_CREATE = 0,      /* a new request (its "state" UNSPECIFIED: none yet) */
	JIT_EVENT_AUTO_APPROVE,    /* at create: the auto tier's grant issued */
	JIT_EVENT_BREAK_GLASS,     /* at create: a break-glass grant issued, active at once */
	JIT_EVENT_APPROVAL_RECORD, /* an approval that leaves more approvers needed */
	JIT_EVENT_APPROVE,         /* the approval that completes the count: grant issued */
	JIT_EVENT_DENY,
	JIT_EVENT_FETCH,           /* the requester fetches the credentials */
	JIT_EVENT_REVOKE,          /* the requester, an approver or an admin ends it */
	JIT_EVENT_PENDING_TIMEOUT, /* the sweeper: no decision before pending_expires_at */
	JIT_EVENT_GRANT_EXPIRY,    /* the sweeper: the grant's expires_at passed */
};
#define JIT_EVENT_COUNT (JIT_EVENT_GRANT_EXPIRY + 1)
/* States are JIT_STATE_UNSPECIFIED .. JIT_STATE_REVOKED (server/core/model.h). */
#define JIT_STATE_COUNT (JIT_STATE_REVOKED + 1)

/* "create", "approve", ... for logs and tests; "unknown" for anything else. Static. */
const char *jit_event_name(enum jit_request_event event);

/* The state `event` leads to from `from`: 0 with *ret_to set, JIT_ERR_CONFLICT when the
 * table has no such transition (the API's 409), or JIT_ERR_INVALID for a state or event out
 * of range. *ret_to is set only on success. */
int jit_state_next(enum jit_request_state from, enum jit_request_event event,
                   enum jit_request_state *ret_to);

/* Is `event` legal from `from`? */
bool jit_state_allows(enum jit_request_state from, enum jit_request_event event);

/* APPROVED and ACTIVE: credentials are stored and a grant is live at the provider, so ending
 * the request also revokes it there. */
bool jit_state_holds_grant(enum jit_request_state state);

/* When the verbs refuse: on the request as first read, or on a re-read inside the write
 * transaction (another writer changed it meanwhile). */
enum jit_refusal_moment {
	JIT_REFUSED_AT_READ,
	JIT_REFUSED_AT_RECHECK,
};

/* Sets `status` to the verb's refusal of `event` on request `id` in state `from` (JIT_ERR_CONFLICT
 * and the text the API answers, e.g. "request <id> is REJECTED; only a PENDING request can be
 * approved") and returns JIT_ERR_CONFLICT. `status` may be NULL. */
int jit_state_refuse(struct jit_error *status, enum jit_request_event event, const char *id,
                     enum jit_request_state from, enum jit_refusal_moment moment);

#endif
