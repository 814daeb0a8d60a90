/* The maintenance thread (see maintenance.h). It has its own store handle and sleeps on a
 * condition variable between rounds so that stopping is immediate. Audit checkpoint lines go
 * to stderr (the journal) as well as to the checkpoint file; they hold hashes, never keys. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/maintenance.h"

#define CHECKPOINT_INTERVAL_NS (500 * 1000000LL)

struct jit_maintenance {
	struct jit_worker worker;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct jit_maintenance_audit audit;
	int64_t next_audit_at;     /* monotonic ns */
	bool audit_failure_logged; /* the same failure is logged once, until a round succeeds */
};

/* One audit checkpoint round: the line goes to the journal, a failure too (once). */
static void
audit_round(struct jit_maintenance *m)
{
	char line[JIT_CHECKPOINT_LINE_MAX], detail[512] = "";
	bool written = false;
	if (!m->audit.log)
		return;
	int r = jit_audit_checkpoint_take(m->worker.store, m->audit.log, &m->audit.last, &written,
	                                  line, sizeof(line), detail, sizeof(detail));
	if (r == 0) {
		m->audit_failure_logged = false;
		if (written)
			fprintf(stderr, "jitsudod: %s\n", line);
		return;
	}
	if (r == JIT_ERR_DENIED)
		/* Every round says it again: someone changed the log behind the server's back. */
		fprintf(stderr,
		        "jitsudod: error: the audit log no longer matches its last checkpoint: "
		        "%s; no checkpoint is written until it is resolved (jitsudod audit "
		        "verify)\n",
		        detail);
	else if (!m->audit_failure_logged)
		fprintf(stderr, "jitsudod: warning: audit checkpoint: %s\n", detail);
	m->audit_failure_logged = true;
}

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
		if (m->stopping)
			break;
		pthread_mutex_unlock(&m->lock);
		(void)jit_store_upkeep(m->worker.store);
		if (jit_now_monotonic_ns() >= m->next_audit_at) {
			audit_round(m);
			m->next_audit_at = jit_now_monotonic_ns() +
			                   m->audit.interval_seconds * JIT_NSEC_PER_SEC;
		}
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int
jit_maintenance_start(struct jit_server *server, const struct jit_maintenance_audit *audit,
                      struct jit_maintenance **ret, char *error, size_t error_size)
{
	struct jit_maintenance *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r = jit_worker_init(&m->worker, server, error, error_size);
	if (r < 0) {
		free(m);
		return r;
	}
	if (audit)
		m->audit = *audit;
	if (m->audit.interval_seconds < 1)
		m->audit.interval_seconds = 60;
	m->next_audit_at = jit_now_monotonic_ns() + m->audit.interval_seconds * JIT_NSEC_PER_SEC;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	if ((r = -pthread_create(&m->thread, NULL, maintenance_main, m)) < 0) {
		snprintf(error, error_size, "starting the maintenance thread: %s", strerror(-r));
		jit_worker_clear(&m->worker);
		pthread_mutex_destroy(&m->lock);
		pthread_cond_destroy(&m->cond);
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
	audit_round(m);
	(void)jit_store_upkeep(m->worker.store);
	jit_worker_clear(&m->worker);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
}
