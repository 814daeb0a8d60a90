/* Who is calling: the admin test over the configuration and the small questions every verb
 * asks of a caller (email, tenant, jump host, requester or not). No I/O; the identity was
 * verified by the API layer before a caller exists. */
#include "server/core/caller.h"

bool
jit_is_admin(const struct jit_config *config, const struct jit_identity *identity)
{
	for (char **g = config->admin_groups; g && *g; g++)
		if (jit_identity_in_group(identity, *g))
			return true;
	for (char **e = config->admin_emails; e && *e; e++)
		if (jit_identity_equal(*e, identity->email))
			return true;
	return false;
}

const char *
jit_caller_email(const struct jit_caller *caller)
{
	return caller ? caller->identity->email : "system";
}

const char *
jit_caller_tenant(const struct jit_caller *caller)
{
	return caller ? caller->tenant_id : JIT_DEFAULT_TENANT_ID;
}

bool
jit_caller_is_requester(const struct jit_caller *caller, const struct jit_request *request)
{
	return caller && jit_identity_equal(caller->identity->email, request->requester_identity);
}

const char *
jit_caller_host(const struct jit_caller *caller)
{
	return caller ? caller->host : NULL;
}
