/* The expiry sweeper: one thread that sleeps until the next deadline in the store (never a
 * fixed poll), then expires grants, lapses pending requests and retries failed revocations.
 * It catches up at once after a restart. */
#ifndef JIT_SERVER_SWEEPER_H
#define JIT_SERVER_SWEEPER_H

#include <stdint.h>

#include "server/server.h"

/* Starts the thread (with its own store handle) and registers it as the server's deadline
 * watch (server/server.h), through which the workflow reports earlier deadlines without
 * knowing of the sweeper. */
int jit_sweeper_start(struct jit_server *server, struct jit_sweeper **ret_sweeper, char *error,
                      size_t error_size);
/* Tells the sweeper there may be work at `at` (ns since the epoch); it wakes then, if that is
 * earlier than what it waits for. Never blocks for long. Accepts NULL. */
void jit_sweeper_kick(struct jit_sweeper *sweeper, int64_t at);
/* Leaves the deadline watch, then stops and joins the thread. Accepts NULL. */
void jit_sweeper_stop(struct jit_sweeper *sweeper);

#endif
