/* The table of providers: which config section makes which provider names, read at start-up
 * from the parsed config (trusted: the config reader checked types and bounds). */
#include <stdbool.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "server/providers/mock/mock.h"
#include "server/providers/registry.h"

const char *const jit_provider_names[JIT_PROVIDER_NAME_COUNT] = { "aws", "gcp", "azure",
	                                                          "kubernetes" };

struct provider_row {
	const char *section;                             /* under providers: in the config */
	const char *serves[JIT_PROVIDER_NAME_COUNT + 1]; /* NULL-terminated */
	bool (*enabled)(const struct jit_config *config);
	int (*make)(const struct jit_config *config, const char *name,
	            struct jit_provider **ret_provider);
};

static bool
mock_enabled(const struct jit_config *config)
{
	return config->mock_enabled;
}

static int
mock_make(const struct jit_config *config, const char *name, struct jit_provider **ret_provider)
{
	struct jit_mock_options options = { .fail_grant_roles = config->mock_fail_grant_roles,
		                            .fail_revocations = config->mock_fail_revocations,
		                            .delay_ms = config->mock_delay_ms };
	return jit_provider_mock_new(name, &options, ret_provider);
}

static const struct provider_row rows[] = {
	{ "mock", { "aws", "gcp", "azure", "kubernetes", NULL }, mock_enabled, mock_make },
};

static bool
row_serves(const struct provider_row *row, const char *name)
{
	for (size_t i = 0; row->serves[i]; i++)
		if (strcmp(row->serves[i], name) == 0)
			return true;
	return false;
}

int
jit_providers_open(const struct jit_config *config, struct jit_provider **ret_providers,
                   const char **ret_names, size_t max, size_t *ret_count)
{
	size_t count = 0;
	int r = 0;
	for (size_t n = 0; n < JIT_PROVIDER_NAME_COUNT; n++) {
		const char *name = jit_provider_names[n];
		for (size_t i = 0; i < JIT_ARRAY_SIZE(rows); i++) {
			const struct provider_row *row = &rows[i];
			if (!row_serves(row, name) || !row->enabled(config))
				continue;
			if (count == max) {
				r = JIT_ERR_LIMIT;
				goto fail;
			}
			if ((r = row->make(config, name, &ret_providers[count])) < 0)
				goto fail;
			ret_names[count++] = name;
			break;
		}
	}
	*ret_count = count;
	return 0;
fail:
	while (count > 0) {
		jit_provider_free(ret_providers[--count]);
		ret_providers[count] = NULL;
	}
	*ret_count = 0;
	return r;
}
