/* The agent's limits (jitsudo-agent/limits.c, compiled in here: the agent is a program, not a
 * library the unit tests link): connection slots per socket and per uid, the token bucket of
 * calls to jitsudod per uid, and the once-a-second refusal log lines. Time is given, not read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jitsudo-agent/limits.c"

#define UNUSED_STATE void **state __attribute__((unused))
#define SEC 1000000000ull
#define T0 (1000 * SEC) /* a monotonic clock well past 0 */

static struct agent_limits *
limits_with(int pam, int user, int per_uid, int per_minute, int burst)
{
	struct agent_config c = { 0 };
	struct agent_limits *l = NULL;
	c.max_pam_connections = pam;
	c.max_user_connections = user;
	c.max_user_connections_per_uid = per_uid;
	c.user_server_calls_per_minute = per_minute;
	c.user_server_calls_burst = burst;
	assert_int_equal(agent_limits_new(&c, &l), 0);
	return l;
}

static void
test_bad_values_are_refused(UNUSED_STATE)
{
	struct agent_config c = { .max_pam_connections = 1,
		                  .max_user_connections = 1,
		                  .max_user_connections_per_uid = 1,
		                  .user_server_calls_per_minute = 0,
		                  .user_server_calls_burst = 1 };
	struct agent_limits *l = NULL;
	assert_int_equal(agent_limits_new(&c, &l), JIT_ERR_INVALID);
	assert_null(l);
	agent_limits_free(NULL);
}

static void
test_pam_and_user_pools_are_apart(UNUSED_STATE)
{
	struct agent_limits *l = limits_with(2, 3, 3, 60, 1);
	enum agent_refusal why = AGENT_REFUSAL_COUNT;
	/* user.sock full ... */
	for (int i = 0; i < 3; i++)
		assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1000, &why), 0);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1001, &why), JIT_ERR_LIMIT);
	assert_int_equal(why, AGENT_REFUSED_USER_FULL);
	/* ... takes nothing of agent.sock's. */
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_PAM, 0, &why), 0);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_PAM, 0, &why), 0);
	why = AGENT_REFUSAL_COUNT;
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_PAM, 0, &why), JIT_ERR_LIMIT);
	assert_int_equal(why, AGENT_REFUSED_PAM_FULL);
	assert_int_equal(agent_limits_connections(l, AGENT_SOCKET_PAM, 0), 2);
	assert_int_equal(agent_limits_connections(l, AGENT_SOCKET_USER, (uid_t)-1), 3);
	/* A slot given back is there again, on its own socket only. */
	agent_limits_disconnect(l, AGENT_SOCKET_PAM, 0);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1001, &why), JIT_ERR_LIMIT);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_PAM, 0, &why), 0);
	agent_limits_disconnect(l, AGENT_SOCKET_USER, 1000);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1001, &why), 0);
	agent_limits_free(l);
}

static void
test_per_uid_cap(UNUSED_STATE)
{
	struct agent_limits *l = limits_with(1, 8, 2, 60, 1);
	enum agent_refusal why = AGENT_REFUSAL_COUNT;
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1000, &why), 0);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1000, &why), 0);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1000, &why), JIT_ERR_LIMIT);
	assert_int_equal(why, AGENT_REFUSED_UID_FULL);
	assert_int_equal(agent_limits_connections(l, AGENT_SOCKET_USER, 1000), 2);
	/* Other uids, root among them, have caps of their own. */
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 0, &why), 0);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1001, &why), 0);
	agent_limits_disconnect(l, AGENT_SOCKET_USER, 1000);
	assert_int_equal(agent_limits_connections(l, AGENT_SOCKET_USER, 1000), 1);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 1000, &why), 0);
	/* Every uid gone: the table is empty again, and a stray disconnect changes nothing. */
	agent_limits_disconnect(l, AGENT_SOCKET_USER, 1000);
	agent_limits_disconnect(l, AGENT_SOCKET_USER, 1000);
	agent_limits_disconnect(l, AGENT_SOCKET_USER, 0);
	agent_limits_disconnect(l, AGENT_SOCKET_USER, 1001);
	agent_limits_disconnect(l, AGENT_SOCKET_USER, 1001);
	assert_int_equal(agent_limits_connections(l, AGENT_SOCKET_USER, (uid_t)-1), 0);
	assert_int_equal(l->uid_count, 0);
	agent_limits_free(l);
}

static void
test_many_uids_fill_the_user_pool_exactly(UNUSED_STATE)
{
	struct agent_limits *l = limits_with(1, 64, 1, 60, 1);
	enum agent_refusal why = AGENT_REFUSAL_COUNT;
	for (uid_t u = 0; u < 64; u++)
		assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 5000 + u, &why), 0);
	assert_int_equal(agent_limits_connect(l, AGENT_SOCKET_USER, 9999, &why), JIT_ERR_LIMIT);
	assert_int_equal(why, AGENT_REFUSED_USER_FULL);
	for (uid_t u = 0; u < 64; u += 2)
		agent_limits_disconnect(l, AGENT_SOCKET_USER, 5000 + u);
	for (uid_t u = 1; u < 64; u += 2)
		assert_int_equal(agent_limits_connections(l, AGENT_SOCKET_USER, 5000 + u), 1);
	assert_int_equal(agent_limits_connections(l, AGENT_SOCKET_USER, (uid_t)-1), 32);
	agent_limits_free(l);
}

static void
test_bucket_burst_then_rate(UNUSED_STATE)
{
	/* 60 a minute: one a second, at most 5 at once. */
	struct agent_limits *l = limits_with(1, 1, 1, 60, 5);
	uint64_t retry = 0;
	for (int i = 0; i < 5; i++)
		assert_int_equal(agent_limits_call(l, 1000, T0, &retry), 0);
	assert_int_equal(agent_limits_call(l, 1000, T0, &retry), JIT_ERR_LIMIT);
	assert_int_equal(retry, SEC);
	/* Half a second later: not yet; the retry time shrinks. */
	assert_int_equal(agent_limits_call(l, 1000, T0 + SEC / 2, &retry), JIT_ERR_LIMIT);
	assert_int_equal(retry, SEC / 2);
	/* One a second from then on, never two. */
	for (uint64_t s = 1; s <= 10; s++) {
		assert_int_equal(agent_limits_call(l, 1000, T0 + s * SEC, NULL), 0);
		assert_int_equal(agent_limits_call(l, 1000, T0 + s * SEC, NULL), JIT_ERR_LIMIT);
	}
	/* Idle long enough, the burst is back (and no more than the burst). */
	uint64_t later = T0 + 100 * SEC;
	for (int i = 0; i < 5; i++)
		assert_int_equal(agent_limits_call(l, 1000, later, NULL), 0);
	assert_int_equal(agent_limits_call(l, 1000, later, NULL), JIT_ERR_LIMIT);
	agent_limits_free(l);
}

static void
test_bucket_over_a_minute(UNUSED_STATE)
{
	/* Made-up ids as fast as possible for a minute: burst + rate, no more. */
	struct agent_limits *l = limits_with(1, 1, 1, 30, 10);
	int allowed = 0;
	for (uint64_t ms = 0; ms < 60000; ms++)
		allowed += agent_limits_call(l, 1000, T0 + ms * 1000000ull, NULL) == 0;
	assert_true(allowed >= 10 + 29 && allowed <= 10 + 30);
	agent_limits_free(l);
}

static void
test_buckets_are_per_uid(UNUSED_STATE)
{
	struct agent_limits *l = limits_with(1, 1, 1, 60, 2);
	assert_int_equal(agent_limits_call(l, 1000, T0, NULL), 0);
	assert_int_equal(agent_limits_call(l, 1000, T0, NULL), 0);
	assert_int_equal(agent_limits_call(l, 1000, T0, NULL), JIT_ERR_LIMIT);
	assert_int_equal(agent_limits_call(l, 1001, T0, NULL), 0);
	assert_int_equal(agent_limits_call(l, 0, T0, NULL), 0);
	agent_limits_free(l);
}

static void
test_bucket_table_is_bounded(UNUSED_STATE)
{
	struct agent_limits *l = limits_with(1, 1, 1, 60, 1);
	/* Every tracked entry still refilling: a new uid is refused, never given room. */
	for (uid_t u = 0; u < AGENT_MAX_TRACKED_UIDS; u++)
		assert_int_equal(agent_limits_call(l, 10000 + u, T0, NULL), 0);
	assert_int_equal(l->bucket_count, AGENT_MAX_TRACKED_UIDS);
	uint64_t retry = 0;
	assert_int_equal(agent_limits_call(l, 99999, T0, &retry), JIT_ERR_LIMIT);
	assert_true(retry > 0);
	/* Once entries are full again, they are reused. */
	assert_int_equal(agent_limits_call(l, 99999, T0 + 2 * SEC, NULL), 0);
	assert_int_equal(l->bucket_count, AGENT_MAX_TRACKED_UIDS);
	agent_limits_free(l);
}

static void
test_refusal_lines_once_a_second(UNUSED_STATE)
{
	struct agent_limits *l = limits_with(1, 1, 1, 60, 1);
	uint64_t held = 99, counts[AGENT_REFUSAL_COUNT];
	assert_true(agent_limits_log_due(l, AGENT_REFUSED_UID_FULL, T0, &held));
	assert_int_equal(held, 0);
	for (int i = 0; i < 40; i++)
		assert_false(agent_limits_log_due(l, AGENT_REFUSED_UID_FULL, T0 + i * 1000, &held));
	/* Another reason has a second of its own. */
	assert_true(agent_limits_log_due(l, AGENT_REFUSED_CALLS, T0 + 10, &held));
	/* Nothing due before the second is over; the flush says when. */
	assert_int_equal(agent_limits_log_flush(l, T0 + SEC / 2, counts), T0 + SEC);
	for (size_t i = 0; i < AGENT_REFUSAL_COUNT; i++)
		assert_int_equal(counts[i], 0);
	/* Either the next line carries the count ... */
	assert_true(agent_limits_log_due(l, AGENT_REFUSED_UID_FULL, T0 + SEC, &held));
	assert_int_equal(held, 40);
	/* ... or the flush reports it, and counts as the line of its second. */
	for (int i = 0; i < 7; i++)
		assert_false(agent_limits_log_due(l, AGENT_REFUSED_UID_FULL, T0 + SEC + 1, &held));
	assert_int_equal(agent_limits_log_flush(l, T0 + 2 * SEC, counts), 0);
	assert_int_equal(counts[AGENT_REFUSED_UID_FULL], 7);
	assert_int_equal(counts[AGENT_REFUSED_CALLS], 0);
	assert_false(agent_limits_log_due(l, AGENT_REFUSED_UID_FULL, T0 + 2 * SEC + 1, &held));
	assert_int_equal(agent_limits_log_flush(l, T0 + 2 * SEC + 2, counts), T0 + 3 * SEC);
	assert_false(agent_limits_log_due(l, AGENT_REFUSAL_COUNT, T0, &held));
	assert_string_equal(agent_refusal_limit(AGENT_REFUSED_UID_FULL),
	                    "limits.max_user_connections_per_uid");
	assert_string_equal(agent_refusal_limit(AGENT_REFUSAL_COUNT), "unknown limit");
	agent_limits_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_values_are_refused),
		cmocka_unit_test(test_pam_and_user_pools_are_apart),
		cmocka_unit_test(test_per_uid_cap),
		cmocka_unit_test(test_many_uids_fill_the_user_pool_exactly),
		cmocka_unit_test(test_bucket_burst_then_rate),
		cmocka_unit_test(test_bucket_over_a_minute),
		cmocka_unit_test(test_buckets_are_per_uid),
		cmocka_unit_test(test_bucket_table_is_bounded),
		cmocka_unit_test(test_refusal_lines_once_a_second),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
