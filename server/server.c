/* Shared server state: the policy set swap (readers take a reference under a short lock, so
 * a reload never waits for evaluations and an evaluation never sees a half-built set), the
 * provider table, and per-thread worker setup. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

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
	int r = jit_store_open(&server->config->database, JIT_STORE_BACKGROUND_UPKEEP,
	                       &worker->store, error, error_size);
	if (r < 0)
		return r;
	if ((r = jit_policy_context_new(&worker->eval)) < 0) {
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
	jit_policy_context_free(worker->eval);
	worker->store = NULL;
	worker->eval = NULL;
}

/* What the holder wrote into the lock file: "pid <n> address <addr>", cut to one line. */
static void
read_holder(int fd, char *out, size_t size)
{
	ssize_t n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

int
jit_server_lock(struct jit_server *server, char *error, size_t error_size)
{
	const struct jit_config *config = server->config;
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s.lock", config->database.path) >=
	    sizeof(path)) {
		snprintf(error, error_size, "database path too long");
		return JIT_ERR_INVALID;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(error, error_size, "lock file %s: %s", path, strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char holder[160] = "";
		if (e == EWOULDBLOCK)
			read_holder(fd, holder, sizeof(holder));
		close(fd);
		if (e != EWOULDBLOCK) {
			snprintf(error, error_size, "lock file %s: %s", path, strerror(e));
			return -e;
		}
		snprintf(error, error_size,
		         "the database %s is in use by another jitsudod (%s); stop it first",
		         config->database.path, holder[0] ? holder : "holder unknown");
		return JIT_ERR_CONFLICT;
	}
	char line[160];
	int n = snprintf(line, sizeof(line), "pid %ld, listening on %s\n", (long)getpid(),
	                 config->http_addr);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = snprintf(line, sizeof(line), "pid %ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		int e = errno;
		snprintf(error, error_size, "lock file %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	server->lock_fd = fd;
	server->locked = true;
	return 0;
}

void
jit_server_unlock(struct jit_server *server)
{
	if (!server->locked)
		return;
	close(server->lock_fd);
	server->locked = false;
}
