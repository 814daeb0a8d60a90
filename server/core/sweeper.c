/* The expiry sweeper thread. It computes the next deadline from the store and waits on a
 * condition variable until then (CLOCK_REALTIME deadlines, since expiry times are wall-clock
 * times); the workflow tells it of an earlier deadline through the server's deadline watch,
 * which the sweeper registers. Work that fails (store
 * busy) is retried a second later; nothing is ever dropped. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/core/sweeper.h"
#include "server/core/workflow.h"

#define RETRY_NS (1 * JIT_NSEC_PER_SEC)
#define IDLE_NS (3600 * JIT_NSEC_PER_SEC) /* re-read the store at least hourly */

struct jit_sweeper {
	struct jit_worker worker;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int64_t wake_at; /* earliest kick not yet handled, 0 = none */
	int64_t target;  /* what the waiting thread sleeps until; 0 while it sweeps */
	bool stopping;
};

void
jit_sweeper_kick(struct jit_sweeper *sweeper, int64_t at)
{
	if (!sweeper)
		return;
	/* Most kicks name a deadline later than the one already awaited: those cost a compare,
	 * not a wake-up and a sweep. */
	pthread_mutex_lock(&sweeper->lock);
	if (sweeper->wake_at == 0 || at < sweeper->wake_at)
		sweeper->wake_at = at;
	if (sweeper->target != 0 && at < sweeper->target)
		pthread_cond_signal(&sweeper->cond);
	pthread_mutex_unlock(&sweeper->lock);
}

static void *
sweeper_main(void *arg)
{
	struct jit_sweeper *s = arg;
	for (;;) {
		int64_t now = jit_now_realtime_ns();
		struct jit_error status = { 0 };
		int64_t next = now + IDLE_NS;
		pthread_mutex_lock(&s->lock);
		s->wake_at = 0;
		pthread_mutex_unlock(&s->lock);
		if (jit_wf_sweep(&s->worker, now, &status) < 0) {
			fprintf(stderr, "jitsudod: sweeper: %s\n", status.message);
			next = now + RETRY_NS;
		}
		int64_t due = 0;
		/* The default tenant's deadlines, as jit_wf_sweep works on that tenant. */
		if (jit_store_next_deadline(s->worker.store, JIT_DEFAULT_TENANT_ID, &due) == 0 &&
		    due < next)
			next = due;
		pthread_mutex_lock(&s->lock);
		while (!s->stopping) {
			int64_t target = next;
			if (s->wake_at && s->wake_at < target)
				target = s->wake_at;
			if (target <= jit_now_realtime_ns())
				break;
			struct timespec ts = { .tv_sec = target / JIT_NSEC_PER_SEC,
				               .tv_nsec = target % JIT_NSEC_PER_SEC };
			s->target = target;
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
			s->target = 0;
		}
		bool stop = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			return NULL;
	}
}

static void
deadline_moved(void *context, int64_t at)
{
	jit_sweeper_kick(context, at);
}

int
jit_sweeper_start(struct jit_server *server, struct jit_sweeper **ret_sweeper, char *error,
                  size_t error_size)
{
	struct jit_sweeper *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int r = jit_worker_init(&s->worker, server, error, error_size);
	if (r < 0) {
		free(s);
		return r;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL); /* CLOCK_REALTIME, as deadlines are */
	if ((r = -pthread_create(&s->thread, NULL, sweeper_main, s)) < 0) {
		snprintf(error, error_size, "starting the sweeper: %s", strerror(-r));
		jit_worker_clear(&s->worker);
		free(s);
		return r;
	}
	server->deadline_watch =
	        (struct jit_deadline_watch){ .moved_earlier = deadline_moved, .context = s };
	*ret_sweeper = s;
	return 0;
}

void
jit_sweeper_stop(struct jit_sweeper *sweeper)
{
	if (!sweeper)
		return;
	sweeper->worker.server->deadline_watch = (struct jit_deadline_watch){ 0 };
	pthread_mutex_lock(&sweeper->lock);
	sweeper->stopping = true;
	pthread_cond_signal(&sweeper->cond);
	pthread_mutex_unlock(&sweeper->lock);
	pthread_join(sweeper->thread, NULL);
	jit_worker_clear(&sweeper->worker);
	pthread_mutex_destroy(&sweeper->lock);
	pthread_cond_destroy(&sweeper->cond);
	free(sweeper);
}
