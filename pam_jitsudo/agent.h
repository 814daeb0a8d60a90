/* pam_jitsudo's side of the agent protocol: one connection to the root-only PAM socket (socket
 * file and peer both checked to be root), the handshake and the four PAM verbs. Runs inside the
 * PAM host as root; trusts only a root peer, and even then checks every reply's shape. Every
 * call takes an absolute CLOCK_MONOTONIC deadline and never blocks past it. */
#ifndef JIT_PAM_AGENT_H
#define JIT_PAM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/agentproto/agentproto.h"
#include "lib/common/macro.h"

struct jit_pam_conn;

/* What the agent answered about a grant (GRANT_STATE), copied out of the reply. */
struct jit_pam_grant_state {
	char request_id[JIT_AP_MAX_REQUEST_ID + 1];
	char state[JIT_AP_MAX_STATE + 1]; /* PENDING APPROVED REJECTED ACTIVE EXPIRED REVOKED */
	char message[JIT_AP_MAX_MESSAGE + 1];
	bool has_expires_at;
	int64_t expires_at; /* Unix seconds */
};

/* A GRANT_ENSURE request. */
struct jit_pam_ensure {
	const char *user;
	const char *provider;
	const char *role;
	const char *scope;         /* may be NULL */
	uint32_t duration_seconds; /* 0: the agent's default */
	const char *reason;        /* may be NULL for a lookup */
	bool break_glass;
	bool lookup_only;
};

/* Connects to `path` (lstat: a socket owned by root; SO_PEERCRED: a root peer) and completes
 * HELLO before `deadline_ns`. Returns 0 and a connection to free with jit_pam_conn_free;
 * -EPERM (not root's socket or peer), -ENOENT/-ECONNREFUSED (no agent), JIT_ERR_TIMEOUT,
 * JIT_ERR_PROTOCOL (not an agent), -ENOMEM or another -errno. */
int jit_pam_conn_open(const char *path, uint64_t deadline_ns, struct jit_pam_conn **ret_conn);

/* Closes the connection and wipes its buffers (replies may hold credentials); accepts NULL. */
void jit_pam_conn_free(struct jit_pam_conn *conn);
JIT_DEFINE_CLEANUP(struct jit_pam_conn *, jit_pam_conn_free)

/* The agent's last ERROR, for messages: its code (0 if the last reply was not an ERROR) and its
 * text ("" if none). Valid until the next call on the connection. */
uint16_t jit_pam_conn_error_code(const struct jit_pam_conn *conn);
const char *jit_pam_conn_error_message(const struct jit_pam_conn *conn);

/* GRANT_ENSURE. Returns 0 and fills *ret_state; an ERROR reply as JIT_ERR_DENIED (denied),
 * JIT_ERR_NOT_FOUND, -EPERM (forbidden), JIT_ERR_UNAVAILABLE (server unreachable),
 * JIT_ERR_TIMEOUT (the agent's or our deadline), JIT_ERR_INVALID (the agent refused our
 * request) or JIT_ERR_INTERNAL; any malformed or unexpected reply as JIT_ERR_PROTOCOL. */
int jit_pam_grant_ensure(struct jit_pam_conn *conn, const struct jit_pam_ensure *req,
                         uint64_t deadline_ns, struct jit_pam_grant_state *ret_state);

/* GRANT_WAIT: asks the agent to answer when request `request_id` leaves PENDING or after
 * `timeout_ms`; `deadline_ns` must leave the agent some slack past that. Errors as above. */
int jit_pam_grant_wait(struct jit_pam_conn *conn, const char *user, const char *request_id,
                       uint32_t timeout_ms, uint64_t deadline_ns,
                       struct jit_pam_grant_state *ret_state);

/* Called once for each NAME=VALUE entry of a SESSION_ENV reply (`entry` is `len` bytes, not
 * NUL-terminated, and is wiped after the call). Returns 0 to go on or a negative error to stop
 * (that error is returned by jit_pam_session_open). */
typedef int (*jit_pam_env_fn)(const char *entry, size_t len, void *userdata);

/* SESSION_OPEN with optional filters (NULL: none). Calls `fn` for each entry; copies the
 * session directory (or "") into session_dir. Returns 0 and the number of entries in
 * *ret_count, or an error as above. */
int jit_pam_session_open(struct jit_pam_conn *conn, const char *user, const char *session_id,
                         const char *provider, const char *role, const char *scope,
                         uint64_t deadline_ns, jit_pam_env_fn fn, void *userdata, char *session_dir,
                         size_t session_dir_size, unsigned *ret_count);

/* SESSION_CLOSE. Returns 0 on OK, or an error as above. */
int jit_pam_session_close(struct jit_pam_conn *conn, const char *user, const char *session_id,
                          uint64_t deadline_ns);

#endif
