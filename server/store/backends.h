/* The backends this program has: one table (backends.c) gives each database.driver name its
 * backend's open function, and jit_store_open (server/store/store.h) is defined beside it, so
 * that the dispatchers of store.c include no backend and a new backend adds one row there. */
#ifndef JIT_SERVER_STORE_BACKENDS_H
#define JIT_SERVER_STORE_BACKENDS_H

#include <stdbool.h>

/* Whether this program has a backend of that database.driver name (the configuration checks
 * database.driver with it). Never blocks. */
bool jit_store_driver_known(const char *driver);

#endif
