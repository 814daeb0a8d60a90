/* A bounded pool of threads for provider calls: a fixed number of threads, a bounded queue,
 * and an absolute deadline on every call, so that a slow cloud API delays the caller that
 * asked for it by at most the deadline and never grows a queue without end. The pool trusts
 * the providers it runs to return eventually; a call that does not within its deadline is
 * given up on, and what it does afterwards is undone. */
#ifndef JIT_SERVER_PROVIDER_POOL_H
#define JIT_SERVER_PROVIDER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "server/core/model.h"
#include "server/providers/provider.h"

/* How long one provider call may take before the caller is answered JIT_ERR_UPSTREAM. No
 * provider has a timeout key in the config yet; a provider that gets one passes it to the
 * calls below instead. */
#define JIT_PROVIDER_CALL_DEADLINE_MS 30000
/* The pool jitsudod runs: threads, and calls that may wait for one. */
#define JIT_PROVIDER_POOL_THREADS 8
#define JIT_PROVIDER_POOL_QUEUE 64

struct jit_provider_pool;

/* Starts `threads` threads (1..64) taking calls from a queue of at most `queue_max` (>= 1)
 * waiting calls. Returns 0, JIT_ERR_INVALID for sizes out of range, -ENOMEM or the negative
 * errno of pthread_create (then nothing is left running). */
int jit_provider_pool_new(unsigned threads, size_t queue_max, struct jit_provider_pool **ret_pool);
/* Stops taking calls, lets queued and running ones finish (each is bounded by the provider's
 * own behaviour, not by its deadline), joins the threads and frees the pool. Accepts NULL. */
void jit_provider_pool_free(struct jit_provider_pool *pool);

/* provider->ops->grant(request, grant) on a pool thread; blocks the caller until it returns or
 * until `deadline_ms` milliseconds have passed. The pool works on its own copy of the
 * request's identity, provider, role, scope, duration and metadata. Returns what grant
 * returned (its message in `error`), or:
 *   JIT_ERR_UNAVAILABLE  the queue is full ("provider calls: all N threads busy and M
 *                        calls waiting"); nothing was called;
 *   JIT_ERR_UPSTREAM     the deadline passed ("no answer within N ms"); if the grant
 *                        succeeds later, the pool revokes it at once and drops the
 *                        credentials, so nothing issued outlives the refusal;
 *   -ENOMEM.
 * `grant` is filled only on success (grant->issued_at is read as grant expects). With a NULL
 * pool (a program without one) the call runs on the caller's thread with no deadline. */
int jit_provider_pool_grant(struct jit_provider_pool *pool, struct jit_provider *provider,
                            const struct jit_request *request, struct jit_grant *grant,
                            int deadline_ms, char *error, size_t error_size);
/* provider->ops->revoke(request) on a pool thread, with the same queue and deadline rules. A
 * revocation past its deadline is reported JIT_ERR_UPSTREAM (the caller retries later, as for
 * any failed revocation; revoking twice is harmless) and its late result is dropped. */
int jit_provider_pool_revoke(struct jit_provider_pool *pool, struct jit_provider *provider,
                             const struct jit_request *request, int deadline_ms, char *error,
                             size_t error_size);

#endif
