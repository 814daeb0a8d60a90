/* One client connection of the agent: the HELLO handshake, then one request at a time, each
 * answered for the peer that SO_PEERCRED names — PAM verbs only from uid 0 on the PAM socket,
 * user verbs only about the peer's own uid. Every wait is bounded: the idle deadline between
 * frames, the request deadline for jitsudod calls, the client's GRANT_WAIT timeout capped by
 * deadlines.max_wait. A malformed frame ends the connection, never the agent. On the user
 * socket, the requests of one uid that need jitsudod are metered (limits.user_server_calls_*):
 * over the limit, a request is answered from what the agent holds, or refused with a retry
 * time, so no local user can make the agent hammer jitsudod. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jitsudo-agent/agent.h"
#include "lib/common/errors.h"

#define MAX_LISTED 64

struct conn {
	struct agent *agent;
	int fd;
	enum agent_socket_kind kind;
	uid_t peer_uid;
	bool charged; /* the request being answered took its token (user socket) */
	uint8_t in[JIT_AP_MAX_FRAME];
	uint8_t out[JIT_AP_MAX_FRAME_TOTAL];
	struct jit_ap_msg msg;
	struct agent_grant list[MAX_LISTED];
	/* How much of in, out and list was written: only that is wiped at the end, so the pages
	 * a connection never touched are never faulted in (the struct is ~256 KiB, mapped
	 * fresh for each connection). */
	size_t in_used, out_used, list_used;
};

static void
mark_used(size_t *used, size_t n)
{
	if (n > *used)
		*used = n;
}

/* Receives one frame into c->in. A failure other than a clean close may leave part of a
 * frame of unknown length behind: all of `in` is then wiped at the end. */
static int
recv_frame(struct conn *c, size_t *ret_len, uint32_t idle_ms)
{
	int r = jit_ap_recv(c->fd, c->in, sizeof(c->in), ret_len, jit_ap_deadline_ms(idle_ms));
	if (r == 0)
		mark_used(&c->in_used, *ret_len);
	else if (r != -ENODATA)
		c->in_used = sizeof(c->in);
	return r;
}

static int
send_frame(struct conn *c, struct jit_ap_writer *w)
{
	size_t len;
	int r = jit_ap_writer_finish(w, &len);
	if (r < 0) {
		c->out_used = sizeof(c->out); /* the writer may have filled it */
		agent_log("error", "cannot encode a reply: %s", jit_strerror(r));
		if ((r = jit_ap_encode_error(c->out, sizeof(c->out), c->msg.id, JIT_AP_ERR_INTERNAL,
		                             "reply too large", &len)) < 0)
			return r;
	}
	mark_used(&c->out_used, len);
	return jit_ap_send(c->fd, c->out, len,
	                   jit_ap_deadline_ms((uint32_t)c->agent->config->idle_timeout_ms));
}

static int
send_error(struct conn *c, uint16_t code, const char *message)
{
	size_t len;
	int r = jit_ap_encode_error(c->out, sizeof(c->out), c->msg.id, code, message, &len);
	if (r < 0)
		return r;
	mark_used(&c->out_used, len);
	return jit_ap_send(c->fd, c->out, len,
	                   jit_ap_deadline_ms((uint32_t)c->agent->config->idle_timeout_ms));
}

/* Translates an internal error into the protocol's. */
static int
send_failure(struct conn *c, int r, const char *message)
{
	uint16_t code;
	switch (r) {
	case JIT_ERR_UNAVAILABLE:
		code = JIT_AP_ERR_SERVER_UNREACHABLE;
		break;
	case JIT_ERR_TIMEOUT:
		code = JIT_AP_ERR_TIMEOUT;
		break;
	case JIT_ERR_DENIED:
		code = JIT_AP_ERR_DENIED;
		break;
	case JIT_ERR_NOT_FOUND:
	case -ENOENT:
		code = JIT_AP_ERR_NOT_FOUND;
		break;
	case JIT_ERR_INVALID:
		code = JIT_AP_ERR_BAD_REQUEST;
		break;
	default:
		code = JIT_AP_ERR_INTERNAL;
		break;
	}
	char text[JIT_AP_MAX_MESSAGE];
	if (r == JIT_ERR_UNAUTHENTICATED)
		snprintf(text, sizeof(text), "jitsudod refused this host: %s",
		         message && message[0] ? message : "no reason given");
	else
		snprintf(text, sizeof(text), "%s",
		         message && message[0] ? message : jit_strerror(r));
	return send_error(c, code, text);
}

static int
str_field(const struct jit_ap_msg *m, uint16_t tag, char *dst, size_t size, bool required)
{
	struct jit_ap_str s;
	dst[0] = '\0';
	if (jit_ap_msg_str(m, tag, &s) < 0)
		return required ? JIT_ERR_INVALID : -ENOENT;
	return jit_ap_str_copy(dst, size, s);
}

static int
send_state(struct conn *c, const struct agent_grant *g)
{
	struct jit_ap_writer w;
	jit_ap_writer_init(&w, c->out, sizeof(c->out), JIT_AP_GRANT_STATE, c->msg.id);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, g->request_id);
	jit_ap_put_str(&w, JIT_AP_TAG_STATE, g->state);
	if (g->expires_at)
		jit_ap_put_i64(&w, JIT_AP_TAG_EXPIRES_AT, g->expires_at);
	jit_ap_put_str(&w, JIT_AP_TAG_PROVIDER, g->provider);
	jit_ap_put_str(&w, JIT_AP_TAG_ROLE, g->role);
	if (g->scope[0])
		jit_ap_put_str(&w, JIT_AP_TAG_SCOPE, g->scope);
	if (g->message[0])
		jit_ap_put_strn(&w, JIT_AP_TAG_MESSAGE, g->message,
		                strnlen(g->message, JIT_AP_MAX_MESSAGE));
	return send_frame(c, &w);
}

static uint64_t
request_deadline(struct conn *c)
{
	return jit_ap_deadline_ms((uint32_t)c->agent->config->request_timeout_ms);
}

/* Whether the agent's view of uid's grants is younger than deadlines.refresh. */
static bool
fresh(struct conn *c, uid_t uid)
{
	uint64_t last = agent_state_refreshed(c->agent->state, uid);
	return last && jit_ap_now_ns() - last < (uint64_t)c->agent->config->refresh_ms * 1000000ull;
}

/* Whether the request being answered may make the agent ask jitsudod: always on the PAM
 * socket; on the user socket when the peer's bucket has a token or this request already took
 * one (one token per request, whatever it then asks). A refusal is logged, rate-limited;
 * *ret_retry_ns (if not NULL) says when a token is there. */
static bool
may_call_server(struct conn *c, uint64_t *ret_retry_ns)
{
	const struct agent_config *config = c->agent->config;
	uint64_t retry = 0;

	if (c->kind != AGENT_SOCKET_USER || c->charged)
		return true;
	if (agent_limits_call(c->agent->limits, c->peer_uid, jit_ap_now_ns(), &retry) == 0) {
		c->charged = true;
		return true;
	}
	agent_log_refusal(c->agent, AGENT_REFUSED_CALLS,
	                  "user.sock: uid %u: %s not sent on to jitsudod: over %s (%d a minute, "
	                  "burst %d)",
	                  (unsigned)c->peer_uid, jit_ap_type_name(c->msg.type),
	                  agent_refusal_limit(AGENT_REFUSED_CALLS),
	                  config->user_server_calls_per_minute, config->user_server_calls_burst);
	if (ret_retry_ns)
		*ret_retry_ns = retry;
	return false;
}

static int
send_too_many_calls(struct conn *c, uint64_t retry_ns)
{
	const struct agent_config *config = c->agent->config;
	char text[JIT_AP_MAX_MESSAGE];
	snprintf(text, sizeof(text),
	         "too many requests to jitsudod from uid %u (%s %d, burst %d); try again in %llu s",
	         (unsigned)c->peer_uid, agent_refusal_limit(AGENT_REFUSED_CALLS),
	         config->user_server_calls_per_minute, config->user_server_calls_burst,
	         (unsigned long long)((retry_ns + 999999999ull) / 1000000000ull));
	return send_error(c, JIT_AP_ERR_INTERNAL, text);
}

/* Brings the agent's view of the user's grants up to date when it is older than
 * deadlines.refresh (or always, with force). Returns the server's error, if any. */
static int
refresh(struct conn *c, const struct agent_user *user, bool force, uint64_t deadline, char *message,
        size_t size)
{
	struct agent *a = c->agent;
	if (!force && fresh(c, user->uid))
		return 0;
	size_t n = 0;
	int r = agent_server_list(a->server, user, deadline, c->list, MAX_LISTED, &n, message,
	                          size);
	mark_used(&c->list_used, n < MAX_LISTED ? n + 1 : MAX_LISTED); /* a refused entry too */
	if (r < 0)
		return r;
	agent_state_mark_refreshed(a->state, user->uid);
	return agent_state_sync(a->state, user->uid, c->list, n);
}

/* Answers the request with an ERROR: returns 0 once it is sent, or the send's negative error;
 * never positive, so a caller's "<= 0: answered" test holds whatever the send returns. */
static int
refuse(struct conn *c, uint16_t code, const char *message)
{
	int r = send_error(c, code, message);
	return r < 0 ? r : 0;
}

/* The local user the USER field names: returns 1 and fills *user, or refuses the request
 * (see refuse()). */
static int
pam_user(struct conn *c, struct agent_user *user)
{
	char name[JIT_AP_MAX_USER + 1];
	if (str_field(&c->msg, JIT_AP_TAG_USER, name, sizeof(name), true) < 0)
		return refuse(c, JIT_AP_ERR_BAD_REQUEST, "user: required");
	if (agent_user_by_name(c->agent->config, name, user) < 0)
		return refuse(c, JIT_AP_ERR_NOT_FOUND, "no such local user");
	return 1;
}

static int
grant_ensure(struct conn *c)
{
	struct agent *a = c->agent;
	struct agent_user user;
	struct agent_grant g;
	char provider[JIT_AP_MAX_PROVIDER + 1], role[JIT_AP_MAX_ROLE + 1];
	char scope[JIT_AP_MAX_SCOPE + 1], reason[JIT_AP_MAX_REASON + 1];
	char message[JIT_AP_MAX_MESSAGE] = "";
	uint32_t duration = 0;
	int r;

	if ((r = pam_user(c, &user)) <= 0)
		return r;
	str_field(&c->msg, JIT_AP_TAG_PROVIDER, provider, sizeof(provider), true);
	str_field(&c->msg, JIT_AP_TAG_ROLE, role, sizeof(role), true);
	bool have_scope = str_field(&c->msg, JIT_AP_TAG_SCOPE, scope, sizeof(scope), false) == 0;
	if (!have_scope && a->config->default_scope) {
		snprintf(scope, sizeof(scope), "%s", a->config->default_scope);
		have_scope = true;
	}
	if (str_field(&c->msg, JIT_AP_TAG_REASON, reason, sizeof(reason), false) < 0 || !reason[0])
		snprintf(reason, sizeof(reason), "%s", a->config->default_reason);
	(void)jit_ap_msg_u32(&c->msg, JIT_AP_TAG_DURATION, &duration);
	bool break_glass = jit_ap_msg_flag(&c->msg, JIT_AP_TAG_BREAK_GLASS);
	bool lookup = jit_ap_msg_flag(&c->msg, JIT_AP_TAG_LOOKUP_ONLY);
	const char *scope_filter = have_scope ? scope : NULL;
	uint64_t deadline = request_deadline(c);

	if (agent_state_find(a->state, user.uid, provider, role, scope_filter, "APPROVED,ACTIVE",
	                     &g) == 0)
		return send_state(c, &g);
	r = refresh(c, &user, true, deadline, message, sizeof(message));
	if (r < 0 && r != JIT_ERR_UNAVAILABLE && r != JIT_ERR_TIMEOUT)
		return send_failure(c, r, message);
	if (agent_state_find(a->state, user.uid, provider, role, scope_filter, "APPROVED,ACTIVE",
	                     &g) == 0)
		return send_state(c, &g);
	if (r < 0) /* nothing held and jitsudod cannot be asked */
		return send_failure(c, JIT_ERR_UNAVAILABLE, message);
	/* A request of the user for this grant still waiting for a decision is the answer, also
	 * to a lookup: the caller waits for it instead of filing a second one. */
	if (agent_state_find(a->state, user.uid, provider, role, scope_filter, "PENDING", &g) == 0)
		return send_state(c, &g);
	if (lookup)
		return send_error(c, JIT_AP_ERR_NOT_FOUND, "no matching grant held or pending");
	r = agent_server_create(a->server, &user, provider, role, have_scope ? scope : "",
	                        duration ? duration : a->config->default_duration_seconds, reason,
	                        break_glass, deadline, &g, message, sizeof(message));
	if (r < 0)
		return send_failure(c, r, message);
	agent_state_put(a->state, &g);
	agent_log("info", "user %s: request %s for %s/%s is %s", user.name, g.request_id, provider,
	          role, g.state);
	return send_state(c, &g);
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
grant_wait(struct conn *c)
{
	struct agent *a = c->agent;
	struct agent_user user;
	struct agent_grant g;
	char id[JIT_AP_MAX_REQUEST_ID + 1], message[JIT_AP_MAX_MESSAGE] = "";
	uint32_t timeout = 0;
	int r, last = 0;

	if ((r = pam_user(c, &user)) <= 0)
		return r;
	str_field(&c->msg, JIT_AP_TAG_REQUEST_ID, id, sizeof(id), true);
	(void)jit_ap_msg_u32(&c->msg, JIT_AP_TAG_TIMEOUT_MS, &timeout);
	if (timeout > (uint32_t)a->config->max_wait_ms)
		timeout = (uint32_t)a->config->max_wait_ms;
	uint64_t deadline = jit_ap_deadline_ms(timeout);
	memset(&g, 0, sizeof(g));
	for (;;) {
		r = agent_server_get(a->server, &user, id, deadline, &g, message, sizeof(message));
		if (r == JIT_ERR_NOT_FOUND || r == JIT_ERR_PROTOCOL)
			return send_error(c, JIT_AP_ERR_NOT_FOUND, "no such request of this user");
		if (r < 0 && r != JIT_ERR_UNAVAILABLE && r != JIT_ERR_TIMEOUT)
			return send_failure(c, r, message);
		last = r;
		if (r == 0 && strcmp(g.state, "PENDING") != 0)
			break;
		uint64_t now = jit_ap_now_ns();
		if (now >= deadline)
			break;
		uint64_t left = (deadline - now) / 1000000;
		uint64_t interval = (uint64_t)a->config->poll_interval_ms;
		sleep_ms(left < interval ? left : interval);
	}
	if (!g.request_id[0]) /* never got an answer */
		return send_failure(c, last ? last : JIT_ERR_UNAVAILABLE,
		                    message[0] ? message : "jitsudod unreachable");
	agent_state_put(a->state, &g);
	return send_state(c, &g);
}

/* Fetches the credentials of the user's approved or active grants the agent has none of.
 * Returns the first server error (the caller decides whether held credentials suffice). */
static int
fetch_missing(struct conn *c, const struct agent_user *user, uint64_t deadline, char *message,
              size_t size)
{
	struct agent *a = c->agent;
	size_t n = agent_state_list(a->state, user->uid, c->list, MAX_LISTED);
	int first = 0;
	mark_used(&c->list_used, n);
	for (size_t i = 0; i < n; i++) {
		struct agent_grant full;
		if (strcmp(c->list[i].state, "APPROVED") != 0 && strcmp(c->list[i].state, "ACTIVE"))
			continue;
		if (agent_state_get(a->state, user->uid, c->list[i].request_id, true, &full) < 0)
			continue;
		bool have = full.cred_count > 0;
		agent_grant_wipe(&full);
		if (have)
			continue;
		int r = agent_server_credentials(a->server, user, &c->list[i], deadline, message,
		                                 size);
		if (r == 0)
			r = agent_state_put_fetched(a->state, &c->list[i]);
		agent_grant_wipe(&c->list[i]);
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

static int
send_env(struct conn *c, uint8_t type, struct agent_env *env)
{
	struct jit_ap_writer w;
	jit_ap_writer_init(&w, c->out, sizeof(c->out), type, c->msg.id);
	for (size_t i = 0; i < env->count; i++)
		jit_ap_put_str(&w, JIT_AP_TAG_ENV, env->entries[i]);
	if (type == JIT_AP_SESSION_ENV && env->dir[0])
		jit_ap_put_str(&w, JIT_AP_TAG_SESSION_DIR, env->dir);
	int r = send_frame(c, &w);
	explicit_bzero(c->out, c->out_used); /* the credentials */
	return r;
}

static int
session_open(struct conn *c)
{
	struct agent *a = c->agent;
	struct agent_user user;
	struct agent_env env = { 0 };
	char session[JIT_AP_MAX_SESSION_ID + 1], message[JIT_AP_MAX_MESSAGE] = "";
	char provider[JIT_AP_MAX_PROVIDER + 1], role[JIT_AP_MAX_ROLE + 1];
	char scope[JIT_AP_MAX_SCOPE + 1];
	int r;

	if ((r = pam_user(c, &user)) <= 0)
		return r;
	str_field(&c->msg, JIT_AP_TAG_SESSION_ID, session, sizeof(session), true);
	bool hp = str_field(&c->msg, JIT_AP_TAG_PROVIDER, provider, sizeof(provider), false) == 0;
	bool hr = str_field(&c->msg, JIT_AP_TAG_ROLE, role, sizeof(role), false) == 0;
	bool hs = str_field(&c->msg, JIT_AP_TAG_SCOPE, scope, sizeof(scope), false) == 0;
	uint64_t deadline = request_deadline(c);
	/* jitsudod is asked only when the agent's view is stale; if it cannot be reached, the
	 * credentials already held keep working until they expire. */
	int server = refresh(c, &user, false, deadline, message, sizeof(message));
	if (server == 0)
		server = fetch_missing(c, &user, deadline, message, sizeof(message));
	r = agent_state_session_open(a->state, &user, session, hp ? provider : NULL,
	                             hr ? role : NULL, hs ? scope : NULL, &env);
	if (r < 0) {
		agent_log("error", "user %s: session %s: %s", user.name, session, jit_strerror(r));
		return send_failure(c, r == JIT_ERR_INVALID ? r : JIT_ERR_INTERNAL,
		                    r == JIT_ERR_INVALID ? "session id: letters, digits, . _ -"
		                                         : "cannot write the session files");
	}
	if (env.count == 0 && server < 0)
		return send_failure(c, server, message);
	r = send_env(c, JIT_AP_SESSION_ENV, &env);
	agent_env_clear(&env);
	return r;
}

static int
session_close(struct conn *c)
{
	struct agent_user user;
	char session[JIT_AP_MAX_SESSION_ID + 1];
	int r;
	if ((r = pam_user(c, &user)) <= 0)
		return r;
	str_field(&c->msg, JIT_AP_TAG_SESSION_ID, session, sizeof(session), true);
	(void)agent_state_session_close(c->agent->state, user.uid, session);
	struct jit_ap_writer w;
	jit_ap_writer_init(&w, c->out, sizeof(c->out), JIT_AP_OK, c->msg.id);
	return send_frame(c, &w);
}

/* The local user of the calling uid: returns 1 and fills *user, or refuses the request. */
static int
peer_user(struct conn *c, struct agent_user *user)
{
	if (agent_user_by_uid(c->agent->config, c->peer_uid, user) < 0)
		return refuse(c, JIT_AP_ERR_FORBIDDEN, "the calling uid is not a known user");
	return 1;
}

static int
my_grants(struct conn *c)
{
	struct agent_user user;
	char message[JIT_AP_MAX_MESSAGE] = "";
	int r;
	if ((r = peer_user(c, &user)) <= 0)
		return r;
	/* Over the limit, the list is what the agent holds, as when jitsudod is unreachable. */
	if (!fresh(c, user.uid) && may_call_server(c, NULL))
		(void)refresh(c, &user, true, request_deadline(c), message, sizeof(message));
	size_t n = agent_state_list(c->agent->state, user.uid, c->list, MAX_LISTED);
	mark_used(&c->list_used, n);
	struct jit_ap_writer w;
	jit_ap_writer_init(&w, c->out, sizeof(c->out), JIT_AP_GRANT_LIST, c->msg.id);
	for (size_t i = 0; i < n && i < JIT_AP_MAX_GRANTS; i++) {
		const struct agent_grant *g = &c->list[i];
		struct jit_ap_grant ag = {
			.request_id = { g->request_id, (uint16_t)strlen(g->request_id) },
			.state = { g->state, (uint16_t)strlen(g->state) },
			.provider = { g->provider, (uint16_t)strlen(g->provider) },
			.role = { g->role, (uint16_t)strlen(g->role) },
			.has_expires_at = g->expires_at != 0,
			.expires_at = g->expires_at,
		};
		if (g->scope[0])
			ag.scope = (struct jit_ap_str){ g->scope, (uint16_t)strlen(g->scope) };
		jit_ap_put_grant(&w, &ag);
	}
	return send_frame(c, &w);
}

static int
my_credentials(struct conn *c)
{
	struct agent_user user;
	struct agent_env env = { 0 };
	char id[JIT_AP_MAX_REQUEST_ID + 1], message[JIT_AP_MAX_MESSAGE] = "";
	uint64_t retry = 0;
	int r;
	if ((r = peer_user(c, &user)) <= 0)
		return r;
	str_field(&c->msg, JIT_AP_TAG_REQUEST_ID, id, sizeof(id), true);
	uint64_t deadline = request_deadline(c);
	struct agent_grant g;
	if (agent_state_get(c->agent->state, user.uid, id, false, &g) < 0) {
		/* An id the agent does not know costs a refresh: metered, as anyone can make
		 * up ids. */
		if (!may_call_server(c, &retry))
			return send_too_many_calls(c, retry);
		(void)refresh(c, &user, true, deadline, message, sizeof(message));
		if (agent_state_get(c->agent->state, user.uid, id, false, &g) < 0)
			return send_error(c, JIT_AP_ERR_NOT_FOUND, "no such grant of yours");
	}
	r = agent_state_grant_env(c->agent->state, user.uid, id, &env);
	if (r == -ENODATA) {
		if (strcmp(g.state, "APPROVED") != 0 && strcmp(g.state, "ACTIVE") != 0)
			return send_error(c, JIT_AP_ERR_NOT_FOUND, "the grant is not approved");
		if (!may_call_server(c, &retry))
			return send_too_many_calls(c, retry);
		if ((r = agent_server_credentials(c->agent->server, &user, &g, deadline, message,
		                                  sizeof(message))) < 0)
			return send_failure(c, r, message);
		agent_state_put_fetched(c->agent->state, &g);
		agent_grant_wipe(&g);
		r = agent_state_grant_env(c->agent->state, user.uid, id, &env);
	}
	if (r < 0)
		return send_failure(c, r, "no credentials");
	r = send_env(c, JIT_AP_CREDENTIALS, &env);
	agent_env_clear(&env);
	return r;
}

static int
drop_grant(struct conn *c)
{
	struct agent_user user;
	struct agent_grant g;
	char id[JIT_AP_MAX_REQUEST_ID + 1], message[JIT_AP_MAX_MESSAGE] = "";
	uint64_t retry = 0;
	int r;
	if ((r = peer_user(c, &user)) <= 0)
		return r;
	/* Dropping always tells jitsudod: metered before anything is dropped, so a refusal
	 * leaves the grant as it was. */
	if (!may_call_server(c, &retry))
		return send_too_many_calls(c, retry);
	str_field(&c->msg, JIT_AP_TAG_REQUEST_ID, id, sizeof(id), true);
	uint64_t deadline = request_deadline(c);
	if (agent_state_get(c->agent->state, user.uid, id, false, &g) < 0 &&
	    agent_server_get(c->agent->server, &user, id, deadline, &g, message, sizeof(message)) <
	            0)
		return send_error(c, JIT_AP_ERR_NOT_FOUND, "no such grant of yours");
	(void)agent_state_drop(c->agent->state, user.uid, id);
	r = agent_server_revoke(c->agent->server, &user, id, "dropped by the user on the host",
	                        deadline, message, sizeof(message));
	if (r < 0 && r != JIT_ERR_CONFLICT) {
		char text[JIT_AP_MAX_MESSAGE];
		/* The server's message is cut to fit the frame's message field. */
		snprintf(text, sizeof(text), "dropped on this host; jitsudod was not told: %.*s",
		         (int)(sizeof(text) - 64), message);
		return send_failure(c, r, text);
	}
	agent_log("info", "uid %u dropped grant %s", (unsigned)user.uid, id);
	struct jit_ap_writer w;
	jit_ap_writer_init(&w, c->out, sizeof(c->out), JIT_AP_OK, c->msg.id);
	return send_frame(c, &w);
}

/* Answers one decoded request. Returns < 0 to end the connection. */
static int
dispatch(struct conn *c)
{
	bool pam_verb = c->msg.type >= JIT_AP_GRANT_ENSURE && c->msg.type <= JIT_AP_SESSION_CLOSE;
	c->charged = false;
	if (pam_verb && (c->kind != AGENT_SOCKET_PAM || c->peer_uid != 0))
		return send_error(c, JIT_AP_ERR_FORBIDDEN,
		                  "this verb is only for the PAM module, on the PAM socket");
	switch (c->msg.type) {
	case JIT_AP_GRANT_ENSURE:
		return grant_ensure(c);
	case JIT_AP_GRANT_WAIT:
		return grant_wait(c);
	case JIT_AP_SESSION_OPEN:
		return session_open(c);
	case JIT_AP_SESSION_CLOSE:
		return session_close(c);
	case JIT_AP_MY_GRANTS:
		return my_grants(c);
	case JIT_AP_MY_CREDENTIALS:
		return my_credentials(c);
	case JIT_AP_DROP_GRANT:
		return drop_grant(c);
	default:
		send_error(c, JIT_AP_ERR_BAD_REQUEST, "not a request");
		return JIT_ERR_PROTOCOL;
	}
}

void
agent_serve_connection(struct agent *a, int fd, enum agent_socket_kind kind, uid_t peer_uid)
{
	struct conn *c = calloc(1, sizeof(*c));
	size_t len;
	uint16_t version;
	int r;

	if (!c)
		goto out;
	c->agent = a;
	c->fd = fd;
	c->kind = kind;
	c->peer_uid = peer_uid;
	/* The PAM socket is root's alone (its mode says so; the accept and the check after the
	 * handshake make sure). */
	uint32_t idle = (uint32_t)a->config->idle_timeout_ms;
	if (recv_frame(c, &len, idle) < 0)
		goto out;
	if (jit_ap_decode(c->in, len, &c->msg) < 0 || c->msg.type != JIT_AP_HELLO) {
		c->msg.id = len >= JIT_AP_BODY_HEADER
		                    ? (uint32_t)c->in[1] << 24 | (uint32_t)c->in[2] << 16 |
		                              (uint32_t)c->in[3] << 8 | c->in[4]
		                    : 0;
		send_error(c, JIT_AP_ERR_BAD_REQUEST, "the first frame must be HELLO");
		goto out;
	}
	if ((r = jit_ap_server_hello(&c->msg, &version)) < 0) {
		send_error(c, r == JIT_ERR_DENIED ? JIT_AP_ERR_VERSION : JIT_AP_ERR_BAD_REQUEST,
		           "no common protocol version");
		goto out;
	}
	if (kind == AGENT_SOCKET_PAM && c->peer_uid != 0) {
		send_error(c, JIT_AP_ERR_FORBIDDEN, "the PAM socket is for root only");
		goto out;
	}
	struct jit_ap_writer w;
	jit_ap_writer_init(&w, c->out, sizeof(c->out), JIT_AP_HELLO, c->msg.id);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION, version);
	if (send_frame(c, &w) < 0)
		goto out;
	for (;;) {
		r = recv_frame(c, &len, idle);
		if (r < 0)
			break; /* closed, idle, oversized or broken: the connection ends */
		r = jit_ap_decode(c->in, len, &c->msg);
		if (r < 0) {
			/* Answer with the request id if the header was readable, then close. */
			c->msg.id = len >= JIT_AP_BODY_HEADER
			                    ? (uint32_t)c->in[1] << 24 | (uint32_t)c->in[2] << 16 |
			                              (uint32_t)c->in[3] << 8 | c->in[4]
			                    : 0;
			send_error(c, JIT_AP_ERR_BAD_REQUEST, "malformed request");
			break;
		}
		if (dispatch(c) < 0)
			break;
	}
out:
	if (c) {
		explicit_bzero(c->in, c->in_used);
		explicit_bzero(c->out, c->out_used);
		explicit_bzero(c->list, c->list_used * sizeof(c->list[0]));
		explicit_bzero(&c->msg, sizeof(c->msg));
		free(c);
	}
	close(fd);
}
