/* The mock provider's own interface: making one for aws, gcp, azure or kubernetes, its test
 * hooks (from the config's providers.mock section) and the counts tests read. It never touches
 * the network; its values are random and wiped after use. */
#ifndef JIT_SERVER_PROVIDER_MOCK_H
#define JIT_SERVER_PROVIDER_MOCK_H

#include <stdint.h>

#include "server/providers/provider.h"

/* The longest delay_ms the mock accepts (the config's bound too): ten minutes. */
#define JIT_MOCK_MAX_DELAY_MS 600000

/* Test hooks of the mock, set from the config (providers.mock): grants for a role listed in
 * fail_grant_roles fail with an error; the first `fail_revocations` revocations fail; every
 * grant and revocation first sleeps `delay_ms` milliseconds (a slow cloud API). */
struct jit_mock_options {
	char **fail_grant_roles; /* NULL-terminated, may be NULL; copied */
	uint32_t fail_revocations;
	uint32_t delay_ms; /* at most JIT_MOCK_MAX_DELAY_MS */
};

/* The mock provider for `provider_name` (one of the four): validates as the real one does,
 * issues credentials of realistic shape (aws: AWS_ACCESS_KEY_ID "ASIA..." (20 chars),
 * AWS_SECRET_ACCESS_KEY (40), AWS_SESSION_TOKEN, AWS_DEFAULT_REGION; gcp:
 * CLOUDSDK_AUTH_ACCESS_TOKEN, CLOUDSDK_CORE_PROJECT; azure: AZURE_ACCESS_TOKEN,
 * AZURE_SUBSCRIPTION_ID; kubernetes: KUBECONFIG_DATA (a kubeconfig YAML) and
 * KUBE_NAMESPACE), random values, and records each grant and revocation in memory
 * (thread-safe). `options` may be NULL. For the kubernetes mock with scope "*",
 * KUBE_NAMESPACE is "default" and the kubeconfig context names no namespace. Returns 0,
 * JIT_ERR_INVALID for another name or a delay past the bound, JIT_ERR_TOO_LARGE, -ENOMEM.
 * The provider's grant and revoke block for delay_ms and never longer. */
int jit_provider_mock_new(const char *provider_name, const struct jit_mock_options *options,
                          struct jit_provider **ret_provider);

/* Counts of what a mock did, for tests. */
struct jit_mock_stats {
	uint64_t grants;
	uint64_t revocations;
	uint64_t active; /* granted and not yet revoked */
};
/* Accepts only a provider made by jit_provider_mock_new (others read as zeros). */
void jit_provider_mock_stats(struct jit_provider *provider, struct jit_mock_stats *ret_stats);

#endif
