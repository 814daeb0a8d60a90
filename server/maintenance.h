/* Background upkeep of the store: a thread that checkpoints SQLite's write-ahead log every
 * half second (passive: it never waits for readers or writers), so that request threads,
 * whose own automatic checkpoints are off, never pay for a checkpoint's disk syncs. */
#ifndef JIT_SERVER_MAINTENANCE_H
#define JIT_SERVER_MAINTENANCE_H

#include "server/server.h"

struct jit_maintenance;

int jit_maintenance_start(struct jit_server *server, struct jit_maintenance **ret, char *error,
                          size_t error_size);
/* Stops and joins the thread after a last checkpoint. Accepts NULL. */
void jit_maintenance_stop(struct jit_maintenance *maintenance);

#endif
