/* What one client may take from the agent: connection slots (the PAM socket and the user socket
 * have separate pools, so nothing done on user.sock takes a PAM slot; user.sock is also capped
 * per uid), the calls to jitsudod that the user verbs of one uid cause (a token bucket per uid),
 * and refusal log lines (at most one a second per reason, with a count of those held back).
 * One mutex, held only for table lookups: never blocks, never logs (the callers log what these
 * functions answer). Trusts the uid SO_PEERCRED gave; the time is the caller's monotonic clock. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jitsudo-agent/agent.h"
#include "lib/common/errors.h"

#define NS_PER_SEC 1000000000ull
#define LOG_INTERVAL_NS NS_PER_SEC

/* The uids with a connection open on user.sock: at most max_user_connections of them. */
struct uid_connections {
	uid_t uid;
	int count;
};

/* A token bucket kept as the time it is full again (GCRA): each call moves full_at one
 * interval later, from now if it was in the past; a call is allowed while full_at stays within
 * burst intervals of now. An entry whose full_at has passed holds nothing and may be reused. */
struct uid_bucket {
	uid_t uid;
	uint64_t full_at;
};

struct log_window {
	uint64_t last_ns; /* when the last line of this reason was written; 0: never */
	uint64_t held_back;
};

struct agent_limits {
	pthread_mutex_t lock;
	int max_pam, max_user, max_per_uid;
	uint64_t call_interval_ns; /* 60 s / limits.user_server_calls_per_minute */
	uint64_t call_burst_ns;    /* limits.user_server_calls_burst intervals */
	int pam_connections, user_connections;
	struct uid_connections *uids;
	size_t uid_count;
	struct uid_bucket buckets[AGENT_MAX_TRACKED_UIDS];
	size_t bucket_count;
	struct log_window logs[AGENT_REFUSAL_COUNT];
};

static const char *const refusal_limits[AGENT_REFUSAL_COUNT] = {
	[AGENT_REFUSED_PAM_FULL] = "limits.max_pam_connections",
	[AGENT_REFUSED_PAM_NOT_ROOT] = "the PAM socket is root's",
	[AGENT_REFUSED_USER_FULL] = "limits.max_user_connections",
	[AGENT_REFUSED_UID_FULL] = "limits.max_user_connections_per_uid",
	[AGENT_REFUSED_CALLS] = "limits.user_server_calls_per_minute",
	[AGENT_REFUSED_NO_THREAD] = "no thread for the connection",
};

const char *
agent_refusal_limit(enum agent_refusal reason)
{
	if ((unsigned)reason >= AGENT_REFUSAL_COUNT)
		return "unknown limit";
	return refusal_limits[reason];
}

int
agent_limits_new(const struct agent_config *config, struct agent_limits **ret)
{
	if (config->max_pam_connections < 1 || config->max_user_connections < 1 ||
	    config->max_user_connections_per_uid < 1 || config->user_server_calls_per_minute < 1 ||
	    config->user_server_calls_burst < 1)
		return JIT_ERR_INVALID;
	struct agent_limits *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->uids = calloc((size_t)config->max_user_connections, sizeof(*l->uids));
	if (!l->uids) {
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->lock, NULL);
	l->max_pam = config->max_pam_connections;
	l->max_user = config->max_user_connections;
	l->max_per_uid = config->max_user_connections_per_uid;
	l->call_interval_ns = 60 * NS_PER_SEC / (uint64_t)config->user_server_calls_per_minute;
	l->call_burst_ns = l->call_interval_ns * (uint64_t)config->user_server_calls_burst;
	*ret = l;
	return 0;
}

void
agent_limits_free(struct agent_limits *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->uids);
	free(l);
}

/* ---- connection slots ------------------------------------------------------------------ */

static struct uid_connections *
uid_entry_locked(struct agent_limits *l, uid_t uid)
{
	for (size_t i = 0; i < l->uid_count; i++)
		if (l->uids[i].uid == uid)
			return &l->uids[i];
	return NULL;
}

int
agent_limits_connect(struct agent_limits *l, enum agent_socket_kind kind, uid_t uid,
                     enum agent_refusal *ret_reason)
{
	enum agent_refusal reason = AGENT_REFUSED_PAM_FULL;
	struct uid_connections *e = NULL;
	int r = 0;

	pthread_mutex_lock(&l->lock);
	if (kind == AGENT_SOCKET_PAM) {
		if (l->pam_connections >= l->max_pam)
			r = JIT_ERR_LIMIT;
		else
			l->pam_connections++;
		goto out;
	}
	e = uid_entry_locked(l, uid);
	if (l->user_connections >= l->max_user) {
		reason = AGENT_REFUSED_USER_FULL;
		r = JIT_ERR_LIMIT;
		goto out;
	}
	if (e && e->count >= l->max_per_uid) {
		reason = AGENT_REFUSED_UID_FULL;
		r = JIT_ERR_LIMIT;
		goto out;
	}
	if (!e) {
		/* One entry per uid with a connection, and fewer connections than max_user:
		 * there is room. */
		e = &l->uids[l->uid_count++];
		e->uid = uid;
		e->count = 0;
	}
	e->count++;
	l->user_connections++;
out:
	pthread_mutex_unlock(&l->lock);
	if (r < 0)
		*ret_reason = reason;
	return r;
}

void
agent_limits_disconnect(struct agent_limits *l, enum agent_socket_kind kind, uid_t uid)
{
	pthread_mutex_lock(&l->lock);
	if (kind == AGENT_SOCKET_PAM) {
		if (l->pam_connections > 0)
			l->pam_connections--;
	} else {
		struct uid_connections *e = uid_entry_locked(l, uid);
		if (e && l->user_connections > 0) {
			l->user_connections--;
			if (--e->count <= 0)
				*e = l->uids[--l->uid_count];
		}
	}
	pthread_mutex_unlock(&l->lock);
}

int
agent_limits_connections(struct agent_limits *l, enum agent_socket_kind kind, uid_t uid)
{
	int n;
	pthread_mutex_lock(&l->lock);
	if (kind == AGENT_SOCKET_PAM) {
		n = l->pam_connections;
	} else if (uid == (uid_t)-1) {
		n = l->user_connections;
	} else {
		const struct uid_connections *e = uid_entry_locked(l, uid);
		n = e ? e->count : 0;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* ---- calls to jitsudod per uid --------------------------------------------------------- */

/* The bucket of uid, or a new one (full) in a free or unused entry; NULL when every entry is
 * a uid still refilling. Lock held. */
static struct uid_bucket *
bucket_locked(struct agent_limits *l, uid_t uid, uint64_t now_ns)
{
	struct uid_bucket *spare = NULL;
	for (size_t i = 0; i < l->bucket_count; i++) {
		if (l->buckets[i].uid == uid)
			return &l->buckets[i];
		if (!spare && l->buckets[i].full_at <= now_ns)
			spare = &l->buckets[i];
	}
	if (!spare && l->bucket_count < AGENT_MAX_TRACKED_UIDS)
		spare = &l->buckets[l->bucket_count++];
	if (spare) {
		spare->uid = uid;
		spare->full_at = now_ns;
	}
	return spare;
}

int
agent_limits_call(struct agent_limits *l, uid_t uid, uint64_t now_ns, uint64_t *ret_retry_ns)
{
	struct uid_bucket *b = NULL;
	uint64_t retry = 0, next = 0;
	int r = 0;

	pthread_mutex_lock(&l->lock);
	b = bucket_locked(l, uid, now_ns);
	if (!b) {
		/* More uids calling at once than are tracked: refused until one refills. */
		r = JIT_ERR_LIMIT;
		retry = l->call_interval_ns;
		goto out;
	}
	next = (b->full_at > now_ns ? b->full_at : now_ns) + l->call_interval_ns;
	if (next - now_ns > l->call_burst_ns) {
		r = JIT_ERR_LIMIT;
		retry = next - now_ns - l->call_burst_ns;
		goto out;
	}
	b->full_at = next;
out:
	pthread_mutex_unlock(&l->lock);
	if (r < 0 && ret_retry_ns)
		*ret_retry_ns = retry;
	return r;
}

/* ---- refusal log lines ----------------------------------------------------------------- */

bool
agent_limits_log_due(struct agent_limits *l, enum agent_refusal reason, uint64_t now_ns,
                     uint64_t *ret_held_back)
{
	bool due = false;
	if ((unsigned)reason >= AGENT_REFUSAL_COUNT)
		return false;
	pthread_mutex_lock(&l->lock);
	struct log_window *w = &l->logs[reason];
	if (!w->last_ns || now_ns - w->last_ns >= LOG_INTERVAL_NS) {
		*ret_held_back = w->held_back;
		w->held_back = 0;
		w->last_ns = now_ns ? now_ns : 1;
		due = true;
	} else {
		w->held_back++;
	}
	pthread_mutex_unlock(&l->lock);
	return due;
}

uint64_t
agent_limits_log_flush(struct agent_limits *l, uint64_t now_ns,
                       uint64_t ret_held_back[AGENT_REFUSAL_COUNT])
{
	uint64_t next = 0;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < AGENT_REFUSAL_COUNT; i++) {
		struct log_window *w = &l->logs[i];
		ret_held_back[i] = 0;
		if (!w->held_back)
			continue;
		if (now_ns - w->last_ns >= LOG_INTERVAL_NS) {
			/* The summary counts as this reason's line of the second. */
			ret_held_back[i] = w->held_back;
			w->held_back = 0;
			w->last_ns = now_ns ? now_ns : 1;
			continue;
		}
		uint64_t due = w->last_ns + LOG_INTERVAL_NS;
		if (!next || due < next)
			next = due;
	}
	pthread_mutex_unlock(&l->lock);
	return next;
}
