/* The provider pool: calls run and return their provider's result, a call past its deadline
 * is JIT_ERR_UPSTREAM and its late grant is revoked, and a full queue is refused at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/core/model.h"
#include "server/providers/mock/mock.h"
#include "server/providers/pool.h"

#define UNUSED_STATE void **state __attribute__((unused))

static struct jit_request *
request_for(const char *id)
{
	struct jit_request *r = jit_request_new();
	assert_non_null(r);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->provider = strdup("aws");
	r->role = strdup("admin");
	r->resource_scope = strdup("123456789012");
	r->requester_identity = strdup("alice@example.com");
	r->duration_seconds = 60;
	assert_non_null(r->provider);
	return r;
}

static struct jit_provider *
mock_with_delay(uint32_t delay_ms)
{
	struct jit_mock_options options = { .delay_ms = delay_ms };
	struct jit_provider *p = NULL;
	assert_int_equal(jit_provider_mock_new("aws", &options, &p), 0);
	return p;
}

static void
test_pool_sizes(UNUSED_STATE)
{
	struct jit_provider_pool *pool = NULL;
	assert_int_equal(jit_provider_pool_new(0, 4, &pool), JIT_ERR_INVALID);
	assert_int_equal(jit_provider_pool_new(65, 4, &pool), JIT_ERR_INVALID);
	assert_int_equal(jit_provider_pool_new(2, 0, &pool), JIT_ERR_INVALID);
	assert_null(pool);
	jit_provider_pool_free(NULL);
}

static void
test_pool_grant_and_revoke(UNUSED_STATE)
{
	struct jit_provider_pool *pool = NULL;
	assert_int_equal(jit_provider_pool_new(2, 4, &pool), 0);
	struct jit_provider *p = mock_with_delay(0);
	struct jit_request *request = request_for("req_pool1");
	struct jit_grant grant = { .issued_at = jit_now_realtime_ns() };
	snprintf(grant.request_id, sizeof(grant.request_id), "%s", request->id);
	char error[256] = "";
	assert_int_equal(
	        jit_provider_pool_grant(pool, p, request, &grant, 5000, error, sizeof(error)), 0);
	assert_int_equal(grant.count, 4);
	assert_string_equal(grant.credentials[0].name, "AWS_ACCESS_KEY_ID");
	assert_string_equal(grant.request_id, "req_pool1");
	jit_grant_clear(&grant);
	struct jit_mock_stats stats;
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.active, 1);
	assert_int_equal(jit_provider_pool_revoke(pool, p, request, 5000, error, sizeof(error)), 0);
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.active, 0);
	assert_int_equal(stats.revocations, 1);
	/* The provider's own failure comes back with its message. */
	free(request->resource_scope);
	request->resource_scope = strdup("not-an-account");
	assert_int_not_equal(
	        jit_provider_pool_grant(pool, p, request, &grant, 5000, error, sizeof(error)), 0);
	assert_non_null(strstr(error, "resource_scope"));
	assert_int_equal(grant.count, 0);
	jit_request_free(request);
	jit_provider_pool_free(pool);
	jit_provider_free(p);
}

/* A grant that answers after its deadline: the caller hears JIT_ERR_UPSTREAM at the deadline,
 * and the grant that arrives later is revoked, not left active. */
static void
test_pool_deadline_undoes_late_grant(UNUSED_STATE)
{
	struct jit_provider_pool *pool = NULL;
	assert_int_equal(jit_provider_pool_new(1, 4, &pool), 0);
	struct jit_provider *p = mock_with_delay(400);
	struct jit_request *request = request_for("req_late1");
	struct jit_grant grant = { 0 };
	char error[256] = "";
	int64_t start = jit_now_monotonic_ns();
	assert_int_equal(
	        jit_provider_pool_grant(pool, p, request, &grant, 100, error, sizeof(error)),
	        JIT_ERR_UPSTREAM);
	int64_t waited = jit_now_monotonic_ns() - start;
	assert_true(waited >= 100 * 1000000LL);
	assert_true(waited < 350 * 1000000LL);
	assert_string_equal(error, "no answer within 100 ms");
	assert_int_equal(grant.count, 0);
	jit_request_free(request); /* the pool has its own copy */
	/* Freeing the pool waits for the late call: it granted, then revoked. */
	jit_provider_pool_free(pool);
	struct jit_mock_stats stats;
	jit_provider_mock_stats(p, &stats);
	assert_int_equal(stats.grants, 1);
	assert_int_equal(stats.revocations, 1);
	assert_int_equal(stats.active, 0);
	jit_provider_free(p);
}

struct slow_call {
	struct jit_provider_pool *pool;
	struct jit_provider *provider;
	int result;
};

static void *
slow_grant(void *arg)
{
	struct slow_call *c = arg;
	struct jit_request *request = request_for("req_slow1");
	struct jit_grant grant = { 0 };
	char error[256];
	c->result = jit_provider_pool_grant(c->pool, c->provider, request, &grant, 5000, error,
	                                    sizeof(error));
	jit_grant_clear(&grant);
	jit_request_free(request);
	return NULL;
}

/* One thread busy and one call waiting fill a pool of one thread and a queue of one: the
 * next call is refused at once with JIT_ERR_UNAVAILABLE and a message saying why. */
static void
test_pool_full_queue_refused(UNUSED_STATE)
{
	struct jit_provider_pool *pool = NULL;
	assert_int_equal(jit_provider_pool_new(1, 1, &pool), 0);
	struct jit_provider *p = mock_with_delay(300);
	struct slow_call calls[2] = { { pool, p, 1 }, { pool, p, 1 } };
	pthread_t threads[2];
	assert_int_equal(pthread_create(&threads[0], NULL, slow_grant, &calls[0]), 0);
	usleep(50000); /* the first is running */
	assert_int_equal(pthread_create(&threads[1], NULL, slow_grant, &calls[1]), 0);
	usleep(50000); /* the second is queued */
	struct jit_request *request = request_for("req_full1");
	struct jit_grant grant = { 0 };
	char error[256] = "";
	int64_t start = jit_now_monotonic_ns();
	assert_int_equal(
	        jit_provider_pool_grant(pool, p, request, &grant, 5000, error, sizeof(error)),
	        JIT_ERR_UNAVAILABLE);
	assert_true(jit_now_monotonic_ns() - start < 50 * 1000000LL);
	assert_string_equal(
	        error, "provider calls: all 1 threads busy and 1 calls waiting; try again later");
	for (int i = 0; i < 2; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(calls[i].result, 0);
	}
	jit_request_free(request);
	jit_provider_pool_free(pool);
	jit_provider_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_sizes),
		cmocka_unit_test(test_pool_grant_and_revoke),
		cmocka_unit_test(test_pool_deadline_undoes_late_grant),
		cmocka_unit_test(test_pool_full_queue_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
