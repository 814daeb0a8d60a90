/* The PAM module's agent client (agent.h). Runs inside sshd or sudo as root: talks only to a
 * root-owned socket whose peer is root, never blocks past the caller's deadline, copies out of
 * replies only what it validated, and wipes every buffer that held a reply. */
#include "pam_jitsudo/agent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/errors.h"

struct jit_pam_conn {
	int fd;
	uint32_t next_id;
	uint16_t error_code;
	char error_message[JIT_AP_MAX_MESSAGE + 1];
	struct jit_ap_msg msg;               /* the last reply; points into `in` */
	uint8_t out[JIT_AP_MAX_FRAME_TOTAL]; /* the request being sent */
	uint8_t in[JIT_AP_MAX_FRAME];        /* the reply's body */
};

/* The protocol library's errors, whatever their sign, as this project's negative codes. */
static int
norm(int r)
{
	return r > 0 ? -r : r;
}

void
jit_pam_conn_free(struct jit_pam_conn *conn)
{
	if (!conn)
		return;
	if (conn->fd >= 0)
		close(conn->fd);
	explicit_bzero(conn, sizeof(*conn));
	free(conn);
}

uint16_t
jit_pam_conn_error_code(const struct jit_pam_conn *conn)
{
	return conn->error_code;
}

const char *
jit_pam_conn_error_message(const struct jit_pam_conn *conn)
{
	return conn->error_message;
}

int
jit_pam_conn_open(const char *path, uint64_t deadline_ns, struct jit_pam_conn **ret_conn)
{
	struct jit_pam_conn *conn = NULL;
	struct stat st;
	uint16_t version = 0;
	uid_t peer_uid = (uid_t)-1;
	int r;

	/* Checked here and again by jit_ap_connect: a socket file root owns, then a root peer. */
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		return -ENOMEM;
	conn->fd = -1;
	conn->next_id = 1;
	if ((r = norm(jit_ap_connect(path, 0, deadline_ns, &conn->fd))) != 0)
		goto out;
	if ((r = norm(jit_ap_peer_cred(conn->fd, NULL, &peer_uid, NULL))) != 0)
		goto out;
	if (peer_uid != 0) {
		r = -EPERM;
		goto out;
	}
	/* An ERROR answer to HELLO means no common version. */
	r = norm(jit_ap_client_hello(conn->fd, deadline_ns, &version));
	if (r == JIT_ERR_DENIED)
		r = JIT_ERR_PROTOCOL;
	if (r != 0)
		goto out;
	*ret_conn = conn;
	return 0;
out:
	jit_pam_conn_free(conn);
	return r;
}

/* An ERROR reply as this project's error code; remembers its code and text. */
static int
error_reply(struct jit_pam_conn *conn)
{
	uint16_t code = 0;

	if (norm(jit_ap_msg_error(&conn->msg, &code, conn->error_message,
	                          sizeof(conn->error_message))) != 0)
		return JIT_ERR_PROTOCOL;
	conn->error_code = code;
	switch (code) {
	case JIT_AP_ERR_DENIED:
		return JIT_ERR_DENIED;
	case JIT_AP_ERR_NOT_FOUND:
		return JIT_ERR_NOT_FOUND;
	case JIT_AP_ERR_FORBIDDEN:
		return -EPERM;
	case JIT_AP_ERR_SERVER_UNREACHABLE:
		return JIT_ERR_UNAVAILABLE;
	case JIT_AP_ERR_TIMEOUT:
		return JIT_ERR_TIMEOUT;
	case JIT_AP_ERR_BAD_REQUEST:
		return JIT_ERR_INVALID;
	case JIT_AP_ERR_INTERNAL:
		return JIT_ERR_INTERNAL;
	default:
		return JIT_ERR_PROTOCOL;
	}
}

/* Sends the frame in conn->out and decodes the reply into conn->msg. Returns 0 when the reply
 * has type `want`, the mapped error for an ERROR reply, JIT_ERR_PROTOCOL for anything else. */
static int
call(struct jit_pam_conn *conn, struct jit_ap_writer *w, uint32_t id, uint8_t want,
     uint64_t deadline_ns)
{
	size_t len = 0;
	int r;

	conn->error_code = 0;
	conn->error_message[0] = '\0';
	if ((r = norm(jit_ap_writer_finish(w, &len))) != 0)
		return r == JIT_ERR_TOO_LARGE ? r : JIT_ERR_INVALID;
	explicit_bzero(conn->in, sizeof(conn->in));
	r = norm(jit_ap_call(conn->fd, conn->out, len, id, conn->in, sizeof(conn->in), deadline_ns,
	                     &conn->msg));
	explicit_bzero(conn->out, len);
	if (r != 0)
		return r;
	if (conn->msg.type == JIT_AP_ERROR)
		return error_reply(conn);
	if (conn->msg.type != want)
		return JIT_ERR_PROTOCOL;
	return 0;
}

static void
start(struct jit_pam_conn *conn, struct jit_ap_writer *w, uint8_t type, uint32_t *ret_id)
{
	uint32_t id = conn->next_id++;

	jit_ap_writer_init(w, conn->out, sizeof(conn->out), type, id);
	*ret_id = id;
}

/* Copies a GRANT_STATE reply out; the decoder checked kinds and bounds, this checks that the
 * required fields are there and the strings fit. */
static int
grant_state(const struct jit_pam_conn *conn, struct jit_pam_grant_state *ret_state)
{
	struct jit_pam_grant_state s = { 0 };
	struct jit_ap_str id = { 0 }, state = { 0 }, message = { 0 };

	if (jit_ap_msg_str(&conn->msg, JIT_AP_TAG_REQUEST_ID, &id) != 0 ||
	    jit_ap_msg_str(&conn->msg, JIT_AP_TAG_STATE, &state) != 0)
		return JIT_ERR_PROTOCOL;
	if (id.len == 0 || state.len == 0 ||
	    jit_ap_str_copy(s.request_id, sizeof(s.request_id), id) != 0 ||
	    jit_ap_str_copy(s.state, sizeof(s.state), state) != 0)
		return JIT_ERR_PROTOCOL;
	if (jit_ap_msg_str(&conn->msg, JIT_AP_TAG_MESSAGE, &message) == 0 &&
	    jit_ap_str_copy(s.message, sizeof(s.message), message) != 0)
		return JIT_ERR_PROTOCOL;
	s.has_expires_at = jit_ap_msg_i64(&conn->msg, JIT_AP_TAG_EXPIRES_AT, &s.expires_at) == 0;
	*ret_state = s;
	return 0;
}

int
jit_pam_grant_ensure(struct jit_pam_conn *conn, const struct jit_pam_ensure *req,
                     uint64_t deadline_ns, struct jit_pam_grant_state *ret_state)
{
	struct jit_ap_writer w;
	uint32_t id;
	int r;

	start(conn, &w, JIT_AP_GRANT_ENSURE, &id);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, req->user);
	jit_ap_put_str(&w, JIT_AP_TAG_PROVIDER, req->provider);
	jit_ap_put_str(&w, JIT_AP_TAG_ROLE, req->role);
	if (req->scope)
		jit_ap_put_str(&w, JIT_AP_TAG_SCOPE, req->scope);
	if (req->duration_seconds)
		jit_ap_put_u32(&w, JIT_AP_TAG_DURATION, req->duration_seconds);
	if (req->reason)
		jit_ap_put_str(&w, JIT_AP_TAG_REASON, req->reason);
	if (req->break_glass)
		jit_ap_put_u8(&w, JIT_AP_TAG_BREAK_GLASS, 1);
	if (req->lookup_only)
		jit_ap_put_u8(&w, JIT_AP_TAG_LOOKUP_ONLY, 1);
	if ((r = call(conn, &w, id, JIT_AP_GRANT_STATE, deadline_ns)) != 0)
		return r;
	return grant_state(conn, ret_state);
}

int
jit_pam_grant_wait(struct jit_pam_conn *conn, const char *user, const char *request_id,
                   uint32_t timeout_ms, uint64_t deadline_ns, struct jit_pam_grant_state *ret_state)
{
	struct jit_ap_writer w;
	uint32_t id;
	int r;

	start(conn, &w, JIT_AP_GRANT_WAIT, &id);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, user);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, request_id);
	jit_ap_put_u32(&w, JIT_AP_TAG_TIMEOUT_MS, timeout_ms);
	if ((r = call(conn, &w, id, JIT_AP_GRANT_STATE, deadline_ns)) != 0)
		return r;
	if ((r = grant_state(conn, ret_state)) != 0)
		return r;
	/* The answer must be about the request we asked for. */
	if (strcmp(ret_state->request_id, request_id) != 0)
		return JIT_ERR_PROTOCOL;
	return 0;
}

int
jit_pam_session_open(struct jit_pam_conn *conn, const char *user, const char *session_id,
                     const char *provider, const char *role, const char *scope,
                     uint64_t deadline_ns, jit_pam_env_fn fn, void *userdata, char *session_dir,
                     size_t session_dir_size, unsigned *ret_count)
{
	struct jit_ap_writer w;
	struct jit_ap_field field;
	struct jit_ap_str dir = { 0 };
	size_t cursor = 0;
	unsigned count = 0;
	uint32_t id;
	int r;

	start(conn, &w, JIT_AP_SESSION_OPEN, &id);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, user);
	jit_ap_put_str(&w, JIT_AP_TAG_SESSION_ID, session_id);
	if (provider)
		jit_ap_put_str(&w, JIT_AP_TAG_PROVIDER, provider);
	if (role)
		jit_ap_put_str(&w, JIT_AP_TAG_ROLE, role);
	if (scope)
		jit_ap_put_str(&w, JIT_AP_TAG_SCOPE, scope);
	if ((r = call(conn, &w, id, JIT_AP_SESSION_ENV, deadline_ns)) != 0)
		goto out;
	if (jit_ap_msg_str(&conn->msg, JIT_AP_TAG_SESSION_DIR, &dir) == 0) {
		if (dir.len == 0 || dir.ptr[0] != '/' ||
		    jit_ap_str_copy(session_dir, session_dir_size, dir) != 0) {
			r = JIT_ERR_PROTOCOL;
			goto out;
		}
	} else if (session_dir_size) {
		session_dir[0] = '\0';
	}
	while (jit_ap_msg_next(&conn->msg, JIT_AP_TAG_ENV, &cursor, &field) == 0) {
		struct jit_ap_str entry = jit_ap_field_str(&field);
		if (++count > JIT_AP_MAX_ENV) {
			r = JIT_ERR_PROTOCOL;
			goto out;
		}
		if ((r = fn(entry.ptr, entry.len, userdata)) != 0)
			goto out;
	}
	*ret_count = count;
	r = 0;
out:
	/* The reply held the credentials: nothing of it stays in memory. */
	explicit_bzero(conn->in, sizeof(conn->in));
	explicit_bzero(&conn->msg, sizeof(conn->msg));
	return r;
}

int
jit_pam_session_close(struct jit_pam_conn *conn, const char *user, const char *session_id,
                      uint64_t deadline_ns)
{
	struct jit_ap_writer w;
	uint32_t id;

	start(conn, &w, JIT_AP_SESSION_CLOSE, &id);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, user);
	jit_ap_put_str(&w, JIT_AP_TAG_SESSION_ID, session_id);
	return call(conn, &w, id, JIT_AP_OK, deadline_ns);
}
