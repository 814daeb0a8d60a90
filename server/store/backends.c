/* The table of backends and jit_store_open, which opens a handle with the backend that the
 * configuration's driver names (backends.h). The only file outside a backend's folder that
 * names the backend. */
#include "server/store/backends.h"

#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "server/store/sqlite/sqlite.h"
#include "server/store/store.h"
#include "server/store/store_backend.h"

/* Every backend this program has, by its database.driver name. */
static const struct {
	const char *driver;
	jit_store_open_fn open;
} backends[] = {
	{ "sqlite", jit_store_sqlite_open },
};

/* The open function of the backend of that driver, or NULL. */
static jit_store_open_fn
backend_open(const char *driver)
{
	for (size_t i = 0; i < JIT_ARRAY_SIZE(backends); i++)
		if (strcmp(backends[i].driver, driver) == 0)
			return backends[i].open;
	return NULL;
}

bool
jit_store_driver_known(const char *driver)
{
	return driver && backend_open(driver);
}

int
jit_store_open(const struct jit_store_config *config, unsigned flags, struct jit_store **ret_store,
               char *error, size_t error_size)
{
	const char *driver = config->driver ? config->driver : "sqlite";
	jit_store_open_fn open_backend = backend_open(driver);
	if (!open_backend) {
		snprintf(error, error_size, "database driver \"%s\" is not in this program",
		         driver);
		return JIT_ERR_INVALID;
	}
	return open_backend(config, flags, ret_store, error, error_size);
}
