/* The provider pool: fixed threads taking calls from a bounded queue. A caller waits on its
 * call with a monotonic deadline; past it the call is marked abandoned, and the thread that
 * finishes it undoes a late grant instead of handing it to anyone. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/providers/pool.h"

#define POOL_MAX_THREADS 64

enum call_kind {
	CALL_GRANT,
	CALL_REVOKE,
};

struct call {
	struct call *next; /* in the queue */
	enum call_kind kind;
	struct jit_provider *provider;
	struct jit_request *request; /* the pool's copy */
	struct jit_grant grant;
	char error[256];
	int result;
	bool done;      /* the thread finished it */
	bool abandoned; /* the caller gave up at its deadline */
	pthread_cond_t cond;
};

struct jit_provider_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct call *head, *tail;
	size_t queued, queue_max;
	pthread_t threads[POOL_MAX_THREADS];
	unsigned thread_count;
	bool stopping;
};

static void
call_free(struct call *call)
{
	if (!call)
		return;
	jit_grant_clear(&call->grant);
	jit_request_free(call->request);
	pthread_cond_destroy(&call->cond);
	free(call);
}

static int
copy_string(char **dst, const char *src)
{
	if (!src)
		return 0;
	return (*dst = strdup(src)) ? 0 : -ENOMEM;
}

/* What a provider reads of a request, copied so that a call outliving its caller's request
 * reads memory of its own. */
static int
request_copy(const struct jit_request *from, struct jit_request **ret_copy)
{
	struct jit_request *to = jit_request_new();
	if (!to)
		return -ENOMEM;
	memcpy(to->id, from->id, sizeof(to->id));
	to->state = from->state;
	to->duration_seconds = from->duration_seconds;
	to->break_glass = from->break_glass;
	to->created_at = from->created_at;
	to->issued_at = from->issued_at;
	to->expires_at = from->expires_at;
	int r;
	if ((r = copy_string(&to->requester_identity, from->requester_identity)) < 0 ||
	    (r = copy_string(&to->provider, from->provider)) < 0 ||
	    (r = copy_string(&to->role, from->role)) < 0 ||
	    (r = copy_string(&to->resource_scope, from->resource_scope)) < 0 ||
	    (r = copy_string(&to->host, from->host)) < 0)
		goto fail;
	if (from->metadata) {
		json_t *metadata = json_deep_copy(from->metadata);
		if (!metadata) {
			r = -ENOMEM;
			goto fail;
		}
		json_decref(to->metadata);
		to->metadata = metadata;
	}
	*ret_copy = to;
	return 0;
fail:
	jit_request_free(to);
	return r;
}

static void
call_run(struct call *call)
{
	struct jit_provider *provider = call->provider;
	if (call->kind == CALL_GRANT)
		call->result = provider->ops->grant(provider, call->request, &call->grant,
		                                    call->error, sizeof(call->error));
	else
		call->result = provider->ops->revoke(provider, call->request, call->error,
		                                     sizeof(call->error));
}

static void *
pool_thread(void *arg)
{
	struct jit_provider_pool *pool = arg;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->head && !pool->stopping)
			pthread_cond_wait(&pool->work, &pool->lock);
		struct call *call = pool->head;
		if (!call)
			break;
		pool->head = call->next;
		if (!pool->head)
			pool->tail = NULL;
		pool->queued--;
		bool skip = call->abandoned;
		pthread_mutex_unlock(&pool->lock);
		if (!skip)
			call_run(call);
		pthread_mutex_lock(&pool->lock);
		if (!call->abandoned) {
			call->done = true;
			pthread_cond_signal(&call->cond);
			continue;
		}
		/* Nobody waits for this one any more: a grant issued after its deadline is taken
		 * back, and the credentials die with the call. */
		pthread_mutex_unlock(&pool->lock);
		if (!skip && call->kind == CALL_GRANT && call->result == 0) {
			char error[256];
			call->provider->ops->revoke(call->provider, call->request, error,
			                            sizeof(error));
		}
		call_free(call);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

int
jit_provider_pool_new(unsigned threads, size_t queue_max, struct jit_provider_pool **ret_pool)
{
	if (threads < 1 || threads > POOL_MAX_THREADS || queue_max < 1)
		return JIT_ERR_INVALID;
	struct jit_provider_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->queue_max = queue_max;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	int r = -pthread_mutex_init(&pool->lock, NULL);
	if (r == 0 && (r = -pthread_cond_init(&pool->work, &attr)) < 0)
		pthread_mutex_destroy(&pool->lock);
	pthread_condattr_destroy(&attr);
	if (r < 0) {
		free(pool);
		return r;
	}
	for (unsigned i = 0; i < threads; i++) {
		if ((r = -pthread_create(&pool->threads[i], NULL, pool_thread, pool)) < 0) {
			jit_provider_pool_free(pool);
			return r;
		}
		pool->thread_count++;
	}
	*ret_pool = pool;
	return 0;
}

void
jit_provider_pool_free(struct jit_provider_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->work);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

/* Queues a call and waits for it until the deadline. When *ret_given_up is set (the deadline
 * passed) the pool owns the call from then on and the caller must not touch it; otherwise the
 * caller does. */
static int
call_submit_wait(struct jit_provider_pool *pool, struct call *call, int deadline_ms, char *error,
                 size_t error_size, bool *ret_given_up)
{
	*ret_given_up = false;
	int64_t deadline = jit_deadline_after_ms(deadline_ms > 0 ? deadline_ms : 0);
	struct timespec until = { .tv_sec = deadline / JIT_NSEC_PER_SEC,
		                  .tv_nsec = deadline % JIT_NSEC_PER_SEC };
	pthread_mutex_lock(&pool->lock);
	if (pool->stopping || pool->queued >= pool->queue_max) {
		size_t queued = pool->queued;
		pthread_mutex_unlock(&pool->lock);
		snprintf(error, error_size,
		         "provider calls: all %u threads busy and %zu calls waiting; try again "
		         "later",
		         pool->thread_count, queued);
		return JIT_ERR_UNAVAILABLE;
	}
	if (pool->tail)
		pool->tail->next = call;
	else
		pool->head = call;
	pool->tail = call;
	pool->queued++;
	pthread_cond_signal(&pool->work);
	while (!call->done) {
		int w = pthread_cond_timedwait(&call->cond, &pool->lock, &until);
		if (w == ETIMEDOUT && !call->done) {
			call->abandoned = true;
			*ret_given_up = true;
			pthread_mutex_unlock(&pool->lock);
			snprintf(error, error_size, "no answer within %d ms", deadline_ms);
			return JIT_ERR_UPSTREAM;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	snprintf(error, error_size, "%s", call->error);
	return call->result;
}

static int
call_new(enum call_kind kind, struct jit_provider *provider, const struct jit_request *request,
         struct call **ret_call)
{
	struct call *call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	int r = -pthread_cond_init(&call->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (r < 0) {
		free(call);
		return r;
	}
	call->kind = kind;
	call->provider = provider;
	if ((r = request_copy(request, &call->request)) < 0) {
		call_free(call);
		return r;
	}
	*ret_call = call;
	return 0;
}

int
jit_provider_pool_grant(struct jit_provider_pool *pool, struct jit_provider *provider,
                        const struct jit_request *request, struct jit_grant *grant, int deadline_ms,
                        char *error, size_t error_size)
{
	if (!pool)
		return provider->ops->grant(provider, request, grant, error, error_size);
	struct call *call = NULL;
	int r = call_new(CALL_GRANT, provider, request, &call);
	if (r < 0)
		return r;
	memcpy(call->grant.request_id, grant->request_id, sizeof(grant->request_id));
	call->grant.issued_at = grant->issued_at;
	bool given_up;
	r = call_submit_wait(pool, call, deadline_ms, error, error_size, &given_up);
	if (given_up)
		return r; /* the pool frees it */
	if (r == 0) {
		/* The pairs move to the caller's grant; the call's is left empty. */
		*grant = call->grant;
		memset(&call->grant, 0, sizeof(call->grant));
	}
	call_free(call);
	return r;
}

int
jit_provider_pool_revoke(struct jit_provider_pool *pool, struct jit_provider *provider,
                         const struct jit_request *request, int deadline_ms, char *error,
                         size_t error_size)
{
	if (!pool)
		return provider->ops->revoke(provider, request, error, error_size);
	struct call *call = NULL;
	int r = call_new(CALL_REVOKE, provider, request, &call);
	if (r < 0)
		return r;
	bool given_up;
	r = call_submit_wait(pool, call, deadline_ms, error, error_size, &given_up);
	if (given_up)
		return r; /* the pool frees it */
	call_free(call);
	return r;
}
