/* The providers jitsudod knows, in one table: each row names its config section (under
 * providers:), the provider names it serves and how to make one from the config. Adding a
 * provider is a folder under server/providers/ and one row in registry.c. */
#ifndef JIT_SERVER_PROVIDER_REGISTRY_H
#define JIT_SERVER_PROVIDER_REGISTRY_H

#include <stddef.h>

#include "server/config.h"
#include "server/providers/provider.h"

/* The provider names a request may ask for, in the order jitsudod lists them. */
#define JIT_PROVIDER_NAME_COUNT 4
extern const char *const jit_provider_names[JIT_PROVIDER_NAME_COUNT];

/* Makes every provider the config enables: for each name of jit_provider_names, the first
 * enabled row serving it. ret_providers[i] and ret_names[i] (static strings) are set for
 * i < *ret_count, at most `max` (JIT_PROVIDER_NAME_COUNT is enough). Returns 0, JIT_ERR_LIMIT
 * past `max`, or the failing constructor's code; on failure the ones made are freed and
 * *ret_count is 0. Does not block. */
int jit_providers_open(const struct jit_config *config, struct jit_provider **ret_providers,
                       const char **ret_names, size_t max, size_t *ret_count);

#endif
