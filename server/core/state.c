/* The request state machine: the one table of legal transitions, and the texts the verbs
 * answer when the table refuses. Trusts nothing but its arguments; never blocks. */
#include <stddef.h>
#include <string.h>

#include "server/core/state.h"

/* next[from][event]: the state the event leads to; UNSPECIFIED (0) marks an illegal pair, so
 * every pair left out below is refused. A request never comes back to UNSPECIFIED. */
static const enum jit_request_state next[JIT_STATE_COUNT][JIT_EVENT_COUNT] = {
	[JIT_STATE_UNSPECIFIED] = {
		[JIT_EVENT_CREATE] = JIT_STATE_PENDING,
	},
	[JIT_STATE_PENDING] = {
		[JIT_EVENT_AUTO_APPROVE] = JIT_STATE_APPROVED,
		[JIT_EVENT_BREAK_GLASS] = JIT_STATE_ACTIVE,
		[JIT_EVENT_APPROVAL_RECORD] = JIT_STATE_PENDING,
		[JIT_EVENT_APPROVE] = JIT_STATE_APPROVED,
		[JIT_EVENT_DENY] = JIT_STATE_REJECTED,
		[JIT_EVENT_REVOKE] = JIT_STATE_REVOKED,
		[JIT_EVENT_PENDING_TIMEOUT] = JIT_STATE_EXPIRED,
	},
	[JIT_STATE_APPROVED] = {
		[JIT_EVENT_FETCH] = JIT_STATE_ACTIVE,
		[JIT_EVENT_REVOKE] = JIT_STATE_REVOKED,
		[JIT_EVENT_GRANT_EXPIRY] = JIT_STATE_EXPIRED,
	},
	[JIT_STATE_ACTIVE] = {
		[JIT_EVENT_FETCH] = JIT_STATE_ACTIVE,
		[JIT_EVENT_REVOKE] = JIT_STATE_REVOKED,
		[JIT_EVENT_GRANT_EXPIRY] = JIT_STATE_EXPIRED,
	},
	/* REJECTED, EXPIRED and REVOKED: nothing leads out. */
};

/* Per event: its name, and the refusal texts (formatted with the request id and the short
 * name of its state, "PENDING"; a text may leave the state out). */
struct event_info {
	const char *name;
	const char *refused_at_read;
	const char *refused_at_recheck;
};

static const struct event_info events[JIT_EVENT_COUNT] = {
	[JIT_EVENT_CREATE] = { "create", "request %s is %s; it exists already",
	                       "request %s is %s; it exists already" },
	[JIT_EVENT_AUTO_APPROVE] = { "auto_approve",
	                             "request %s is %s; only a PENDING request can be approved",
	                             "request %s is no longer PENDING" },
	[JIT_EVENT_BREAK_GLASS] = { "break_glass",
	                            "request %s is %s; only a PENDING request can be approved",
	                            "request %s is no longer PENDING" },
	[JIT_EVENT_APPROVAL_RECORD] = { "approval_record",
	                                "request %s is %s; only a PENDING request can be approved",
	                                "request %s changed while it was being approved; try "
	                                "again" },
	[JIT_EVENT_APPROVE] = { "approve",
	                        "request %s is %s; only a PENDING request can be approved",
	                        "request %s changed while it was being approved; try again" },
	[JIT_EVENT_DENY] = { "deny", "request %s is %s; only a PENDING request can be denied",
	                     "request %s is no longer PENDING" },
	[JIT_EVENT_FETCH] = { "fetch",
	                      "request %s is %s; credentials exist only while APPROVED or ACTIVE",
	                      "the grant of %s has ended" },
	[JIT_EVENT_REVOKE] = { "revoke", "request %s is already %s", "request %s is already %s" },
	[JIT_EVENT_PENDING_TIMEOUT] = { "pending_timeout", "request %s is %s; it is not PENDING",
	                                "request %s is no longer PENDING" },
	[JIT_EVENT_GRANT_EXPIRY] = { "grant_expiry", "request %s is %s; it holds no grant",
	                             "request %s no longer holds a grant" },
};

static bool
in_range(enum jit_request_state state, enum jit_request_event event)
{
	return (unsigned)state < JIT_STATE_COUNT && (unsigned)event < JIT_EVENT_COUNT;
}

const char *
jit_event_name(enum jit_request_event event)
{
	return (unsigned)event < JIT_EVENT_COUNT ? events[event].name : "unknown";
}

int
jit_state_next(enum jit_request_state from, enum jit_request_event event,
               enum jit_request_state *ret_to)
{
	if (!in_range(from, event))
		return JIT_ERR_INVALID;
	enum jit_request_state to = next[from][event];
	if (to == JIT_STATE_UNSPECIFIED)
		return JIT_ERR_CONFLICT;
	*ret_to = to;
	return 0;
}

bool
jit_state_allows(enum jit_request_state from, enum jit_request_event event)
{
	enum jit_request_state to = JIT_STATE_UNSPECIFIED;
	return jit_state_next(from, event, &to) == 0;
}

bool
jit_state_holds_grant(enum jit_request_state state)
{
	return state == JIT_STATE_APPROVED || state == JIT_STATE_ACTIVE;
}

int
jit_state_refuse(struct jit_error *status, enum jit_request_event event, const char *id,
                 enum jit_request_state from, enum jit_refusal_moment moment)
{
	static const char prefix[] = "REQUEST_STATE_";
	const char *state = jit_state_name(from);
	if (strncmp(state, prefix, strlen(prefix)) == 0)
		state += strlen(prefix);
	if ((unsigned)event >= JIT_EVENT_COUNT)
		return jit_error_set(status, JIT_ERR_CONFLICT, "request %s is %s", id, state);
	const struct event_info *info = &events[event];
	jit_error_format(status, JIT_ERR_CONFLICT,
	                 moment == JIT_REFUSED_AT_RECHECK ? info->refused_at_recheck
	                                                  : info->refused_at_read,
	                 id, state);
	return JIT_ERR_CONFLICT;
}
