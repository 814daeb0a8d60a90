/* Providers turn an approved request into credentials and take them back. One interface for
 * aws, gcp, azure, kubernetes and the mock; each validates its own scopes. Calls may block on
 * the network (real providers) up to the provider's configured timeout; they never log
 * credential values. */
#ifndef JIT_SERVER_PROVIDER_H
#define JIT_SERVER_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"
#include "lib/common/secret.h"
#include "server/core/model.h"

#define JIT_MAX_CREDENTIALS 16

/* One name/value pair of a grant; values are secrets (wiped on free). */
struct jit_credential {
	char *name;
	char *value;
};

struct jit_grant {
	char request_id[JIT_ID_LENGTH + 1];
	struct jit_credential credentials[JIT_MAX_CREDENTIALS];
	size_t count;
	int64_t issued_at;
	int64_t expires_at;
};

/* Wipes every value and frees the grant's strings (not the struct). Accepts a zeroed grant. */
void jit_grant_clear(struct jit_grant *grant);
/* Appends a pair (copies both). JIT_ERR_TOO_LARGE past JIT_MAX_CREDENTIALS, -ENOMEM. */
int jit_grant_add(struct jit_grant *grant, const char *name, const char *value);
/* The grant as JSON text {"credentials":[{"name","value"}...]} in a secret, for sealing; and
 * back. Times are not part of it (they live on the request). */
int jit_grant_serialize(const struct jit_grant *grant, struct jit_secret **ret_text);
int jit_grant_deserialize(const char *text, size_t len, struct jit_grant *grant);

struct jit_provider;

struct jit_provider_ops {
	const char *name; /* "aws", "gcp", "azure", "kubernetes" */
	/* Checks role and scope for this provider (seed 001's table). Returns 0 or JIT_ERR_INVALID
	 * with a message naming the field ("resource_scope must be a 12-digit AWS account id"). */
	int (*validate)(struct jit_provider *provider, const char *role, const char *scope,
	                char *error, size_t error_size);
	/* Issues credentials for `request`, valid from `grant->issued_at` (set by the caller) for
	 * request->duration_seconds; fills grant->credentials and grant->expires_at. Returns 0,
	 * or a negative code with a message (no secrets in it) in `error`. */
	int (*grant)(struct jit_provider *provider, const struct jit_request *request,
	             struct jit_grant *grant, char *error, size_t error_size);
	/* Takes back what grant issued for `request`. Idempotent: revoking twice is 0. */
	int (*revoke)(struct jit_provider *provider, const struct jit_request *request, char *error,
	              size_t error_size);
	void (*free)(struct jit_provider *provider);
};

struct jit_provider {
	const struct jit_provider_ops *ops;
	void *state;
};

/* Scope checks of seed 001, shared by the mock and the real providers. Each returns 0 or
 * JIT_ERR_INVALID with a message naming resource_scope. */
int jit_scope_check_aws(const char *scope, char *error, size_t error_size);
int jit_scope_check_gcp(const char *scope, char *error, size_t error_size);
int jit_scope_check_azure(const char *scope, char *error, size_t error_size);
int jit_scope_check_kubernetes(const char *scope, char *error, size_t error_size);
/* Role names: non-empty, at most JIT_MAX_ROLE bytes, printable ASCII without spaces. */
int jit_role_check(const char *role, char *error, size_t error_size);

void jit_provider_free(struct jit_provider *provider);

/* Bounds of a grant's pairs: names are environment variable names ([A-Za-z_][A-Za-z0-9_]*)
 * of at most JIT_GRANT_MAX_NAME bytes, values UTF-8 of at most JIT_GRANT_MAX_VALUE bytes
 * without NUL; jit_grant_add and jit_grant_deserialize refuse others (JIT_ERR_INVALID,
 * JIT_ERR_TOO_LARGE). The serialized text is at most JIT_GRANT_MAX_TEXT bytes.
 * jit_grant_deserialize replaces the credentials of `grant` (wiping any it held) only on
 * success and leaves its request id and times alone. */
#define JIT_GRANT_MAX_NAME 128
#define JIT_GRANT_MAX_VALUE (64 * 1024)
#define JIT_GRANT_MAX_TEXT JIT_SECRET_MAX

/* jit_provider_free calls ops->free, which releases everything the provider owns including
 * the struct itself; it accepts NULL. */

#endif
