/* Shared server state: the policy set swap (readers take a reference under a short lock, so
 * a reload never waits for evaluations and an evaluation never sees a half-built set), the
 * provider table, and per-thread worker setup. */
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "server/server.h"

struct jit_policy_set *
jit_server_policies(struct jit_server *server)
{
	pthread_mutex_lock(&server->policy_lock);
	struct jit_policy_set *set = jit_policy_set_ref(server->policies);
	pthread_mutex_unlock(&server->policy_lock);
	return set;
}

void
jit_server_set_policies(struct jit_server *server, struct jit_policy_set *set)
{
	pthread_mutex_lock(&server->policy_lock);
	struct jit_policy_set *old = server->policies;
	server->policies = set;
	pthread_mutex_unlock(&server->policy_lock);
	jit_policy_set_unref(old);
}

struct jit_provider *
jit_server_provider(struct jit_server *server, const char *name)
{
	for (size_t i = 0; i < server->provider_count; i++)
		if (strcmp(server->provider_names[i], name) == 0)
			return server->providers[i];
	return NULL;
}

int
jit_worker_init(struct jit_worker *worker, struct jit_server *server, char *error,
                size_t error_size)
{
	memset(worker, 0, sizeof(*worker));
	worker->server = server;
	int r = jit_store_open_sqlite(server->config->database_path,
	                              server->config->database_busy_timeout_ms, &worker->store,
	                              error, error_size);
	if (r < 0)
		return r;
	jit_store_set_autocheckpoint(worker->store, false);
	if ((r = jit_rego_eval_new(&worker->eval)) < 0) {
		snprintf(error, error_size, "creating an evaluation context: %s", jit_strerror(r));
		jit_worker_clear(worker);
		return r;
	}
	return 0;
}

void
jit_worker_clear(struct jit_worker *worker)
{
	jit_store_close(worker->store);
	jit_rego_eval_free(worker->eval);
	worker->store = NULL;
	worker->eval = NULL;
}
