/* The checkpoint thread (see maintenance.h). It has its own store handle and sleeps on a
 * condition variable between rounds so that stopping is immediate. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/common/timeutil.h"
#include "server/maintenance.h"

#define CHECKPOINT_INTERVAL_NS (500 * 1000000LL)

struct jit_maintenance {
	struct jit_worker worker;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
};

static void *
maintenance_main(void *arg)
{
	struct jit_maintenance *m = arg;
	pthread_mutex_lock(&m->lock);
	while (!m->stopping) {
		int64_t at = jit_now_realtime_ns() + CHECKPOINT_INTERVAL_NS;
		struct timespec ts = { .tv_sec = at / JIT_NSEC_PER_SEC,
			               .tv_nsec = at % JIT_NSEC_PER_SEC };
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
		pthread_mutex_unlock(&m->lock);
		(void)jit_store_checkpoint(m->worker.store);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int
jit_maintenance_start(struct jit_server *server, struct jit_maintenance **ret, char *error,
                      size_t error_size)
{
	struct jit_maintenance *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r = jit_worker_init(&m->worker, server, error, error_size);
	if (r < 0) {
		free(m);
		return r;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	if ((r = -pthread_create(&m->thread, NULL, maintenance_main, m)) < 0) {
		snprintf(error, error_size, "starting the checkpoint thread: %s", strerror(-r));
		jit_worker_clear(&m->worker);
		free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void
jit_maintenance_stop(struct jit_maintenance *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	(void)jit_store_checkpoint(m->worker.store);
	jit_worker_clear(&m->worker);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
}
