/* The durable-answer queue: holds the answers of changes that were committed but may not be
 * durable yet (store handles with deferred durability, server/store/store.h) and releases
 * them, from a thread of its own, once one wait on the store covers every change they depend
 * on. Many changes share one wait (group commit), so a writer thread never waits for the disk
 * and goes on with the next change. An answer is never released as done before its change is
 * durable. Knows nothing of HTTP: what a released answer becomes is the caller's. */
#ifndef JIT_SERVER_TRANSPORT_DURABLE_H
#define JIT_SERVER_TRANSPORT_DURABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/server.h"

/* Embedded in the caller's answer; the queue links it and records its store's mark. */
struct jit_durable_entry {
	struct jit_durable_entry *next;
	uint64_t mark;
};

/* Called on the queue's thread for every entry it held, exactly once, in the order they were
 * held within one wait: `durable` is true when the change is durable, false when waiting for
 * it failed (the change may be lost, so it must not be reported as done). Must not block
 * long: the next wait starts after it returns for every entry of this one. */
typedef void (*jit_durable_release_fn)(struct jit_durable_entry *entry, bool durable, void *data);

struct jit_durable;

/* Opens the queue's own store handle and starts its thread; `release` gets `data` back.
 * Returns 0 and sets *ret_durable, or a negative code with a message in `error`. */
int jit_durable_start(struct jit_server *server, jit_durable_release_fn release, void *data,
                      struct jit_durable **ret_durable, char *error, size_t error_size);

/* Makes the commits of `store` (a writer thread's handle) return before they are durable,
 * for their answers to go through jit_durable_hold. */
void jit_durable_attach(struct jit_durable *durable, struct jit_store *store);

/* After an operation on `store`: when it committed a change nobody waited for yet, queues
 * `entry` to be released once that change is durable and returns true (the entry belongs to
 * the queue until released); otherwise returns false and the caller answers at once. Never
 * blocks beyond a short lock. */
bool jit_durable_hold(struct jit_durable *durable, struct jit_store *store,
                      struct jit_durable_entry *entry);

/* After every thread that holds entries stopped: releases what is still queued (after its
 * wait), joins the thread, closes the handle and frees. Accepts NULL. */
void jit_durable_stop(struct jit_durable *durable);

#endif
