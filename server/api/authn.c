/* The API's authentication step (see authn.h): reads the bearer token, looks it up among the
 * tokens verified already, and otherwise hands it to the verifier its unverified iss picks;
 * the verifier alone decides. Wipes its copy of the token; never logs one. */
#include "server/api/authn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/auth/hostauth.h"
#include "server/auth/jose.h"
#include "server/auth/oidc.h"
#include "server/auth/token_cache.h"

struct jit_authn {
	struct jit_oidc *oidc;
	struct jit_hostauth *hosts; /* NULL: no jump host */
	struct jit_token_cache *verified;
};

int
jit_authn_new(struct jit_oidc *oidc, struct jit_hostauth *hosts, struct jit_authn **ret_authn)
{
	struct jit_authn *authn = calloc(1, sizeof(*authn));
	if (!authn) {
		jit_oidc_free(oidc);
		jit_hostauth_free(hosts);
		return -ENOMEM;
	}
	authn->oidc = oidc;
	authn->hosts = hosts;
	int r = jit_token_cache_new(&authn->verified);
	if (r < 0) {
		jit_authn_free(authn);
		return r;
	}
	*ret_authn = authn;
	return 0;
}

void
jit_authn_free(struct jit_authn *authn)
{
	if (!authn)
		return;
	jit_token_cache_free(authn->verified);
	jit_hostauth_free(authn->hosts);
	jit_oidc_free(authn->oidc);
	free(authn);
}

int
jit_authn_verify_token(struct jit_authn *authn, const char *token, int64_t now, unsigned flags,
                       struct jit_identity *ret_identity, char *error, size_t error_size)
{
	_cleanup_(jit_jwt_unverified_clear) struct jit_jwt_unverified t = { 0 };
	struct jit_token_digest digest;
	int r;

	if (!authn || !token || !ret_identity)
		return JIT_ERR_INVALID;
	if (error && error_size > 0)
		error[0] = '\0';
	size_t len = strnlen(token, JIT_AUTH_MAX_TOKEN + 1);
	bool cacheable = len <= JIT_AUTH_MAX_TOKEN && jit_token_digest(token, len, &digest);
	if (cacheable && jit_token_cache_lookup(authn->verified, &digest, now, ret_identity))
		return 0;
	/* Unverified: the iss only picks the verifier, which checks everything again. */
	if ((r = jit_jwt_parse_unverified(token, &t, error, error_size)) < 0)
		return r;
	/* Jump hosts sign their own tokens: a verifier with its own pinned rules. Each token is
	 * single-use (its jti is recorded), so it is never cached, and it is checked only where
	 * the operation completes: not on a loop, whose request may move to a thread. */
	if (jit_hostauth_is_host_issuer(t.iss)) {
		if (flags & JIT_AUTHN_NO_WAIT)
			return JIT_ERR_WOULD_BLOCK;
		return jit_hostauth_verify(authn->hosts, token, now, ret_identity, error,
		                           error_size);
	}
	r = jit_oidc_verify(authn->oidc, token, now,
	                    flags & JIT_AUTHN_NO_WAIT ? JIT_OIDC_NO_WAIT : 0, ret_identity, error,
	                    error_size);
	if (r == 0 && cacheable)
		jit_token_cache_store(authn->verified, &digest, now, ret_identity);
	return r;
}

int
jit_authn_caller(struct jit_worker *w, const struct jit_credentials *credentials,
                 struct jit_identity *ret_identity, struct jit_caller *ret_caller,
                 struct jit_error *status)
{
	static const char scheme[] = "Bearer ";
	const size_t scheme_len = sizeof(scheme) - 1;
	const char *h = credentials->authorization;
	size_t n = credentials->authorization_len;
	_cleanup_free_ char *token = NULL;
	struct jit_identity identity = { 0 };
	char error[160] = "";

	if (!h || n < scheme_len || strncasecmp(h, scheme, scheme_len) != 0)
		return jit_error_set(status, JIT_ERR_UNAUTHENTICATED,
		                     "missing bearer token (Authorization: Bearer <ID token>)");
	if (n - scheme_len > JIT_AUTH_MAX_TOKEN)
		return jit_error_set(status, JIT_ERR_UNAUTHENTICATED, "token too long");
	if (!(token = strndup(h + scheme_len, n - scheme_len)))
		return jit_error_set(status, -ENOMEM, "out of memory");
	int r = jit_authn_verify_token(w->server->authn, token, jit_now_realtime_ns(),
	                               w->inline_only ? JIT_AUTHN_NO_WAIT : 0, &identity, error,
	                               sizeof(error));
	explicit_bzero(token, n - scheme_len);
	if (r == JIT_ERR_WOULD_BLOCK)
		return jit_error_set(status, JIT_ERR_WOULD_BLOCK, "the token needs a thread");
	if (r == JIT_ERR_UNAVAILABLE)
		return jit_error_set(status, JIT_ERR_UNAVAILABLE, "cannot check the token now: %s",
		                     error);
	if (r < 0)
		return jit_error_set(status, JIT_ERR_UNAUTHENTICATED, "invalid token: %s",
		                     error[0] ? error : "rejected");

	*ret_identity = identity;
	*ret_caller = (struct jit_caller){
		/* Every credential acts in the default tenant, the only one served today. */
		.tenant_id = JIT_DEFAULT_TENANT_ID,
		.identity = ret_identity,
		.host = ret_identity->host,
		/* A jump host acts for a user with that user's own rights, never an admin's. */
		.admin = !ret_identity->host && jit_is_admin(w->server->config, ret_identity),
	};
	return 0;
}
