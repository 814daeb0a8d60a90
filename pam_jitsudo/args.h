/* pam_jitsudo's module arguments: parsed from the PAM stack line into a struct that points into
 * the caller's argv. Trusts nothing in them beyond the admin who wrote the stack; pure, no I/O. */
#ifndef JIT_PAM_ARGS_H
#define JIT_PAM_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_PAM_SOCKET_DEFAULT "/run/jitsudo/agent.sock"
#define JIT_PAM_WAIT_DEFAULT_MS 90000   /* below sshd's LoginGraceTime (120 s) */
#define JIT_PAM_WAIT_MAX_MS 3600000     /* sudo has no grace time; one hour at most */
#define JIT_PAM_TIMEOUT_DEFAULT_MS 5000 /* one non-interactive exchange with the agent */
#define JIT_PAM_TIMEOUT_MAX_MS 60000
#define JIT_PAM_MAX_ENV_DEFAULT 64 /* variables put into a session */
#define JIT_PAM_MAX_ENV_LIMIT 64   /* JIT_AP_MAX_ENV; far below sshd's 1024 */
#define JIT_PAM_FIELD_MAX 256      /* provider, role, scope */
#define JIT_PAM_REASON_MAX 1024    /* a reason typed at the prompt, in bytes */

/* How the account stage decides. */
enum jit_pam_gate {
	JIT_PAM_GATE_HELD = 0, /* only a grant the user already holds (APPROVED or ACTIVE) */
	JIT_PAM_GATE_AUTO,     /* or one the policies approve at once when asked */
};

struct jit_pam_args {
	const char *provider; /* NULL when not given (session: no filter) */
	const char *role;
	const char *scope;
	int64_t duration_seconds; /* 0: the agent's default */
	int64_t wait_ms;          /* auth: how long to wait for an approval */
	int64_t timeout_ms;       /* every other exchange with the agent */
	const char *socket_path;
	bool break_glass; /* auth may ask for break-glass ("!" before the reason) */
	enum jit_pam_gate gate;
	unsigned max_env;
	bool ruser; /* the user is PAM_RUSER (sudo's session stage), not PAM_USER */
	bool debug;
};

/* Parses `argv` (argc entries, as PAM passes them): provider=, role=, scope=, duration=,
 * wait=, timeout=, socket=, break_glass, gate=held|auto, max_env=, ruser, debug. Durations take the
 * CLI's form ("90s", "1h30m"). An unknown or malformed argument is an error (fail closed).
 * Returns 0 and fills *ret (pointing into argv), or JIT_ERR_INVALID with a message naming
 * the argument in `error` (never a secret: arguments hold none). */
int jit_pam_args_parse(int argc, const char **argv, struct jit_pam_args *ret, char *error,
                       size_t error_size);

/* Whether `s` is a usable provider/role/scope value: 1..JIT_PAM_FIELD_MAX bytes of printable
 * ASCII without spaces. */
bool jit_pam_field_valid(const char *s);

#endif
