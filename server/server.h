/* The running jitsudod: its configuration, identity verifier, sealing key, providers and the
 * current policy set (shared by every thread), and the per-thread worker state (a store
 * handle and a policy evaluation context). A failure goes from the workflow to the API as
 * the project's one error-message type, struct jit_error (lib/common/errors.h): a JIT_ERR_*
 * code and the message a caller sees (never a secret). */
#ifndef JIT_SERVER_SERVER_H
#define JIT_SERVER_SERVER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/common/secret.h"
#include "server/config.h"
#include "server/auth/issuer.h"
#include "server/policy/policy.h"
#include "server/providers/provider.h"
#include "server/store/store.h"

#define JIT_VERSION "0.1.0"
#define JIT_PROVIDER_COUNT 4

struct jit_authn;
struct jit_sweeper;
struct jit_provider_pool;

/* Who is told when the workflow has committed a deadline (a grant's expiry, a pending timeout,
 * a revocation's retry) that may be earlier than any it waits for: the sweeper registers
 * itself here when it starts and leaves when it stops. moved_earlier is called after the
 * commit on the workflow's thread and never blocks for long; NULL when no one watches. */
struct jit_deadline_watch {
	void (*moved_earlier)(void *context, int64_t at);
	void *context;
};

struct jit_server {
	struct jit_config *config;
	struct jit_authn *authn;   /* every credential's verifier (server/api/authn.h) */
	struct jit_issuer *issuer; /* NULL when the built-in issuer is disabled */
	struct jit_secret *seal_key;
	struct jit_provider *providers[JIT_PROVIDER_COUNT];
	const char *provider_names[JIT_PROVIDER_COUNT];
	size_t provider_count;
	struct jit_provider_pool *provider_pool; /* where provider calls run (providers/pool.h) */

	pthread_mutex_t policy_write_lock; /* serialises apply/delete/reload */
	pthread_mutex_t policy_lock;       /* guards the pointer below */
	struct jit_policy_set *policies;

	struct jit_sweeper *sweeper; /* NULL until started */
	struct jit_deadline_watch deadline_watch;

	bool locked; /* lock_fd holds the database's lock file (jit_server_lock) */
	int lock_fd;
};

/* Takes the exclusive lock that one serving jitsudod holds on its database: a file beside it
 * ("<database>.lock", holding the holder's pid and address). Fails at once with a message
 * naming the holder when another process has it. Released by jit_server_unlock or exit. */
int jit_server_lock(struct jit_server *server, char *error, size_t error_size);
void jit_server_unlock(struct jit_server *server);

/* What one thread needs to serve requests. A worker of an event loop is `inline_only`: an
 * operation that would write (a commit waits for the disk) or reach the network sets
 * `wants_thread` instead and changes nothing; the API layer then runs it again on a worker
 * thread (server/api/api.h). */
struct jit_worker {
	struct jit_server *server;
	struct jit_store *store;
	struct jit_policy_context *eval;
	bool inline_only;
	bool wants_thread;
};

/* Opens a store handle and an evaluation context for the calling thread. */
int jit_worker_init(struct jit_worker *worker, struct jit_server *server, char *error,
                    size_t error_size);
void jit_worker_clear(struct jit_worker *worker);

/* The current policy set, referenced (unref when done). Never NULL once the server started. */
struct jit_policy_set *jit_server_policies(struct jit_server *server);
/* Replaces the policy set (takes the caller's reference). */
void jit_server_set_policies(struct jit_server *server, struct jit_policy_set *set);
/* The provider serving `name`, or NULL. */
struct jit_provider *jit_server_provider(struct jit_server *server, const char *name);

#endif
