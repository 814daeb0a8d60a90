/* The caller of a workflow verb, as the API's authentication step (server/api/authn.h) built
 * it from a verified identity: who they are, whether they are an admin, the jump host acting
 * for them and the tenant they act in. Nothing here is taken from what the caller says about
 * their own permissions. */
#ifndef JIT_SERVER_CALLER_H
#define JIT_SERVER_CALLER_H

#include <stdbool.h>

#include "server/auth/identity.h"
#include "server/core/model.h"
#include "server/server.h"

struct jit_caller {
	/* The tenant every store call is scoped to (never NULL); the seed-000 API sets the
	 * default tenant, JIT_DEFAULT_TENANT_ID (server/core/model.h). Borrowed. */
	const char *tenant_id;
	const struct jit_identity *identity; /* email and groups, borrowed */
	bool admin;
	const char *host; /* the jump host acting for the user, or NULL */
};

/* Is this identity an admin (a configured group or email)? */
bool jit_is_admin(const struct jit_config *config, const struct jit_identity *identity);

/* The caller's email, or "system" for a NULL caller (the server itself). Borrowed. */
const char *jit_caller_email(const struct jit_caller *caller);

/* The tenant whose data a call sees and changes. The system (a NULL caller: the server's
 * start, the sweeper) works in the default tenant, the only one the server serves today. */
const char *jit_caller_tenant(const struct jit_caller *caller);

/* Is the caller (not NULL) the requester of `request`? */
bool jit_caller_is_requester(const struct jit_caller *caller, const struct jit_request *request);

/* The jump host a caller acts through, or NULL (a direct caller, or the system). */
const char *jit_caller_host(const struct jit_caller *caller);

#endif
