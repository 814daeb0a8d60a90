/* jitsudo-agent's shared types: its configuration, the grants it holds for local users, the
 * sessions whose files it wrote, and the calls to jitsudod it makes as the host. Runs as root;
 * trusts jitsudod (over TLS, checked with the configured CA) and the kernel's SO_PEERCRED,
 * nothing a client writes about who it is. */
#ifndef JIT_AGENT_H
#define JIT_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/agentproto/agentproto.h"
#include "lib/common/errors.h"

#define AGENT_VERSION "0.1.0"
#define AGENT_DEFAULT_CONFIG "/etc/jitsudo/agent.yaml"
#define AGENT_MAX_GROUPS 64
#define AGENT_MAX_CREDS 16      /* credentials of one grant */
#define AGENT_MAX_GRANTS 4096   /* grants held, all users */
#define AGENT_MAX_SESSIONS 4096 /* session directories, all users */
#define AGENT_MAX_SESSION_GRANTS 16
#define AGENT_MAX_TRACKED_UIDS 1024 /* uids whose calls to jitsudod are being metered */

struct agent_config {
	char *server_url; /* required: jitsudod's base URL */
	char *ca_file;    /* NULL: the system's CAs */
	int server_timeout_ms;
	char *host_name; /* required */
	char *key_file;  /* "/etc/jitsudo/host.key" */
	char *audience;  /* "jitsudo" */
	int token_ttl_seconds;
	char *identity_template; /* "{user}@example.com" */
	char **groups;           /* Unix groups passed on, NULL-terminated */
	int64_t default_duration_seconds;
	char *default_reason;
	char *default_scope; /* may be NULL */
	int max_wait_ms;
	int poll_interval_ms;
	int idle_timeout_ms;
	int request_timeout_ms;   /* one PAM verb end to end (GRANT_WAIT excepted) */
	int refresh_ms;           /* how stale the list of a user's grants may be */
	int max_pam_connections;  /* agent.sock: its own pool, never taken by user.sock */
	int max_user_connections; /* user.sock, all uids */
	int max_user_connections_per_uid;
	int user_server_calls_per_minute; /* user verbs of one uid that reach jitsudod */
	int user_server_calls_burst;
	int legacy_max_connections; /* limits.max_connections (deprecated) if given, else 0 */
	char *runtime_dir;          /* "/run/jitsudo" */
	char *state_dir;            /* "/var/lib/jitsudo-agent" */
	bool write_aws_files;
	bool write_kubeconfig;
	bool export_secrets; /* pass AWS secrets as variables too */
};

/* Reads and checks the configuration file. Returns 0 and a config the caller frees, or
 * JIT_ERR_INVALID (error names the file, line and key), -errno or -ENOMEM. */
int agent_config_load(const char *path, struct agent_config **ret, char *error, size_t error_size);
void agent_config_free(struct agent_config *config);

/* ---- jitsudod client (server.c) ------------------------------------------------------ */

struct agent_cred {
	char *name;
	char *value; /* secret: wiped on free */
};

/* What the agent knows of one request of a user. */
struct agent_grant {
	uid_t uid;
	char request_id[JIT_AP_MAX_REQUEST_ID + 1];
	char state[JIT_AP_MAX_STATE + 1]; /* "PENDING", "ACTIVE", ... */
	char provider[JIT_AP_MAX_PROVIDER + 1];
	char role[JIT_AP_MAX_ROLE + 1];
	char scope[JIT_AP_MAX_SCOPE + 1];
	char message[JIT_AP_MAX_MESSAGE + 1]; /* denial or decision reason */
	int64_t expires_at;                   /* Unix seconds, 0: not yet known */
	struct agent_cred creds[AGENT_MAX_CREDS];
	size_t cred_count; /* 0: not fetched */
};

void agent_grant_wipe(struct agent_grant *grant);

/* The user a call is made for. */
struct agent_user {
	uid_t uid;
	gid_t gid;
	char name[JIT_AP_MAX_USER + 1];
	char identity[321];
	char *groups[AGENT_MAX_GROUPS + 1]; /* configured groups the user is in */
	char group_store[AGENT_MAX_GROUPS][64];
};

/* Resolves a local user by name or uid (getpwnam_r / getpwuid_r, getgrouplist) and fills the
 * identity from the template. Returns 0, -ENOENT, or JIT_ERR_INVALID. */
int agent_user_by_name(const struct agent_config *config, const char *name, struct agent_user *ret);
int agent_user_by_uid(const struct agent_config *config, uid_t uid, struct agent_user *ret);

/* Calls to jitsudod as the host acting for `user`, each bounded by the config's timeout and
 * `deadline_ns` (CLOCK_MONOTONIC). Results: 0; JIT_ERR_UNAVAILABLE (unreachable, 5xx);
 * JIT_ERR_DENIED (403, message set); JIT_ERR_NOT_FOUND; JIT_ERR_INVALID (400);
 * JIT_ERR_UNAUTHENTICATED (the host was refused); JIT_ERR_PROTOCOL (an unreadable answer).
 * `message` receives the server's message on failure. */
struct agent_server;
int agent_server_new(const struct agent_config *config, struct agent_server **ret,
                     struct jit_error *error);
void agent_server_free(struct agent_server *server);
/* The user's requests in any of the states APPROVED, ACTIVE, PENDING (at most `max`). */
int agent_server_list(struct agent_server *server, const struct agent_user *user,
                      uint64_t deadline_ns, struct agent_grant *ret, size_t max, size_t *ret_count,
                      char *message, size_t message_size);
int agent_server_create(struct agent_server *server, const struct agent_user *user,
                        const char *provider, const char *role, const char *scope, int64_t duration,
                        const char *reason, bool break_glass, uint64_t deadline_ns,
                        struct agent_grant *ret, char *message, size_t message_size);
int agent_server_get(struct agent_server *server, const struct agent_user *user, const char *id,
                     uint64_t deadline_ns, struct agent_grant *ret, char *message,
                     size_t message_size);
/* Fetches the credentials into grant->creds (the request becomes ACTIVE). */
int agent_server_credentials(struct agent_server *server, const struct agent_user *user,
                             struct agent_grant *grant, uint64_t deadline_ns, char *message,
                             size_t message_size);
int agent_server_revoke(struct agent_server *server, const struct agent_user *user, const char *id,
                        const char *reason, uint64_t deadline_ns, char *message,
                        size_t message_size);

/* ---- the helper (helper.c) ------------------------------------------------------------
 * jitsudo-agent-call, next to the agent's executable, does what needs TLS or the host key
 * (jitsudo-agent/call/): the agent itself loads neither libcurl nor OpenSSL. */

/* Finds the helper; fails (with error set) if it is missing. */
int agent_helper_init(struct jit_error *error);
const char *agent_helper_path(void);
/* Runs the helper with argv, feeds it input, collects its standard output (malloc'd,
 * NUL-terminated) and exit code. The helper is killed and reaped at deadline_ns (monotonic):
 * JIT_ERR_TIMEOUT. */
int agent_helper_run(const char *const argv[], const char *input, size_t input_len,
                     uint64_t deadline_ns, char **ret_out, size_t *ret_len, int *ret_exit);

/* ---- state (state.c) -------------------------------------------------------------------
 * The grants held and the session directories written, behind one mutex; persisted to
 * <state_dir>/state.json so that expired material is removed on time after a restart. An
 * expiry thread deletes session directories and forgets credentials at expiry. */

struct agent_state;
int agent_state_open(const struct agent_config *config, struct agent_state **ret,
                     struct jit_error *error);
void agent_state_close(struct agent_state *state);

/* Finds a grant of uid matching provider/role (scope if non-NULL) in one of `states`
 * (comma-separated, e.g. "APPROVED,ACTIVE"), not expired. Copies it without credentials. */
int agent_state_find(struct agent_state *state, uid_t uid, const char *provider, const char *role,
                     const char *scope, const char *states, struct agent_grant *ret);
/* Inserts or updates a grant (credentials kept when the update has none). */
int agent_state_put(struct agent_state *state, const struct agent_grant *grant);
/* Stores a grant whose credentials were just fetched (moved out of *grant). */
int agent_state_put_fetched(struct agent_state *state, struct agent_grant *grant);
/* Copies the grant `id` of uid (with credentials when with_creds). -ENOENT if not the uid's. */
int agent_state_get(struct agent_state *state, uid_t uid, const char *id, bool with_creds,
                    struct agent_grant *ret);
/* The grants of uid (without credentials), at most max. */
size_t agent_state_list(struct agent_state *state, uid_t uid, struct agent_grant *ret, size_t max);
/* Forgets grant `id` of uid and removes the session directories built on it. */
int agent_state_drop(struct agent_state *state, uid_t uid, const char *id);
/* When the uid's grant list was last refreshed from the server (monotonic ns), and marking it. */
uint64_t agent_state_refreshed(struct agent_state *state, uid_t uid);
void agent_state_mark_refreshed(struct agent_state *state, uid_t uid);
/* Replaces what is known of uid's grants by the server's list (credentials of grants still
 * listed are kept; grants no longer listed are forgotten). */
int agent_state_sync(struct agent_state *state, uid_t uid, const struct agent_grant *list,
                     size_t count);

/* Writes the session directory <runtime>/<uid>/<session_id>/ for the user's ACTIVE grants that
 * have credentials and match the filters, records it for expiry, and builds the environment
 * (NAME=VALUE strings into env, at most JIT_AP_MAX_ENV). *ret_count 0: no grant (nothing
 * written). */
struct agent_env {
	char *entries[JIT_AP_MAX_ENV];
	size_t count;
	char dir[JIT_AP_MAX_PATH];
};
void agent_env_clear(struct agent_env *env);
int agent_state_session_open(struct agent_state *state, const struct agent_user *user,
                             const char *session_id, const char *provider, const char *role,
                             const char *scope, struct agent_env *ret);
int agent_state_session_close(struct agent_state *state, uid_t uid, const char *session_id);
/* The environment of one grant (for MY_CREDENTIALS), no files. */
int agent_state_grant_env(struct agent_state *state, uid_t uid, const char *id,
                          struct agent_env *ret);

/* ---- limits (limits.c) -----------------------------------------------------------------
 * What one client may take: connection slots of each socket (separate pools; user.sock also
 * per uid), calls to jitsudod caused by the user verbs of one uid (a token bucket per uid),
 * and refusal log lines (one a second per reason). Thread-safe; never blocks or logs. */

enum agent_socket_kind {
	AGENT_SOCKET_PAM,
	AGENT_SOCKET_USER,
};

/* Why a client was refused; each reason's log lines are rate-limited on their own. */
enum agent_refusal {
	AGENT_REFUSED_PAM_FULL,     /* limits.max_pam_connections */
	AGENT_REFUSED_PAM_NOT_ROOT, /* a peer other than root on agent.sock */
	AGENT_REFUSED_USER_FULL,    /* limits.max_user_connections */
	AGENT_REFUSED_UID_FULL,     /* limits.max_user_connections_per_uid */
	AGENT_REFUSED_CALLS,        /* limits.user_server_calls_per_minute / _burst */
	AGENT_REFUSED_NO_THREAD,    /* no thread could be started for the connection */
	AGENT_REFUSAL_COUNT,
};

struct agent_limits;
/* Sizes the tables from the config's limits.* values (each at least 1, else JIT_ERR_INVALID).
 * Returns 0 or -ENOMEM. */
int agent_limits_new(const struct agent_config *config, struct agent_limits **ret);
void agent_limits_free(struct agent_limits *limits);
/* The configuration key (or a phrase) that names the limit of a refusal; static. */
const char *agent_refusal_limit(enum agent_refusal reason);
/* Takes a connection slot on the socket `kind` for a peer of `uid` (the uid matters on the
 * user socket only). Returns 0, or JIT_ERR_LIMIT with *ret_reason set and nothing taken. Every
 * 0 is paired with one agent_limits_disconnect of the same kind and uid. */
int agent_limits_connect(struct agent_limits *limits, enum agent_socket_kind kind, uid_t uid,
                         enum agent_refusal *ret_reason);
void agent_limits_disconnect(struct agent_limits *limits, enum agent_socket_kind kind, uid_t uid);
/* Connections open now: on the PAM socket, on the user socket ((uid_t)-1), or of one uid. */
int agent_limits_connections(struct agent_limits *limits, enum agent_socket_kind kind, uid_t uid);
/* Takes one token of uid's bucket at now_ns (monotonic): 0, or JIT_ERR_LIMIT with
 * *ret_retry_ns (if not NULL) set to how long until a token is there. */
int agent_limits_call(struct agent_limits *limits, uid_t uid, uint64_t now_ns,
                      uint64_t *ret_retry_ns);
/* Whether a refusal line of `reason` may be written now (at most one a second per reason).
 * True: *ret_held_back is the number of lines held back since the last one written (the
 * count restarts); false: this one is counted as held back. */
bool agent_limits_log_due(struct agent_limits *limits, enum agent_refusal reason, uint64_t now_ns,
                          uint64_t *ret_held_back);
/* The lines held back of each reason whose second has passed since its last line (counted as
 * that reason's line now; ret_held_back[reason] 0: nothing to report). Returns the monotonic
 * time when the next reason becomes due, 0 if none is pending. */
uint64_t agent_limits_log_flush(struct agent_limits *limits, uint64_t now_ns,
                                uint64_t ret_held_back[AGENT_REFUSAL_COUNT]);

/* ---- the daemon (main.c / conn.c) ------------------------------------------------------ */

struct agent {
	struct agent_config *config;
	struct agent_server *server;
	struct agent_state *state;
	struct agent_limits *limits;
};

/* Serves one accepted connection of the peer `peer_uid` (SO_PEERCRED, read at accept) until
 * the peer closes, idles or misbehaves; closes fd. */
void agent_serve_connection(struct agent *agent, int fd, enum agent_socket_kind kind,
                            uid_t peer_uid);

/* ---- log lines (log.c) ------------------------------------------------------------------ */

/* One line "jitsudo-agent: <level>: <text>" on stderr, at most 1023 bytes of text, control
 * characters shown as '?'. Never fails, never blocks but on stderr. */
void agent_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning about a refused client, written only if agent_limits_log_due allows it (with the
 * count of the lines of that reason held back since the last one). */
void agent_log_refusal(struct agent *agent, enum agent_refusal reason, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
