/* pam_jitsudo: the PAM entry points. Runs inside sshd, sudo or login as root, so it stays thin:
 * it asks the local jitsudo-agent (a root-owned socket, a root peer) and nothing else, never
 * blocks past a deadline, never prints or logs a credential, and turns every internal error
 * into a PAM code in one place (pam_code) — never into success. */
#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "lib/common/errors.h"
#include "lib/common/random.h"
#include "pam_jitsudo/agent.h"
#include "pam_jitsudo/args.h"
#include "pam_jitsudo/conv.h"
#include "pam_jitsudo/env.h"

#define USER_MAX 256
#define AUTH_MEMO_KEY "pam_jitsudo_auth"
#define SESSION_KEY "pam_jitsudo_session"

struct ctx {
	pam_handle_t *pamh;
	int flags;
	/* auth: the person is in a dialog with us (typed a reason, waits for a decision), so the
	 * request id and the outcome are shown even under PAM_SILENT, which sudo always passes
	 * to pam_authenticate; only the quiet "you already hold it" honours it there. */
	bool dialog;
	struct jit_pam_args args;
	const char *user;
};

/* One line to the person (PAM_SILENT honoured unless in an auth dialog). */
#define say(c, style, ...)                                                                      \
	jit_pam_say((c)->pamh, (c)->dialog ? (c)->flags & ~(int)PAM_SILENT : (c)->flags, style, \
	            __VA_ARGS__)

/* What an earlier auth call in this PAM handle ended with (sudo retries auth up to passwd_tries
 * times in one handle): a denial is answered again without a new request, a request still
 * pending is waited for again without a new prompt. */
struct auth_memo {
	char request_id[JIT_AP_MAX_REQUEST_ID + 1];
	bool denied;
	char message[JIT_AP_MAX_MESSAGE + 1];
};

enum grant_class {
	GRANT_HELD,
	GRANT_PENDING,
	GRANT_REFUSED,
	GRANT_ENDED,
	GRANT_UNKNOWN
};

static enum grant_class
classify(const char *state)
{
	if (strcmp(state, "APPROVED") == 0 || strcmp(state, "ACTIVE") == 0)
		return GRANT_HELD;
	if (strcmp(state, "PENDING") == 0)
		return GRANT_PENDING;
	if (strcmp(state, "REJECTED") == 0)
		return GRANT_REFUSED;
	if (strcmp(state, "EXPIRED") == 0 || strcmp(state, "REVOKED") == 0)
		return GRANT_ENDED;
	return GRANT_UNKNOWN;
}

/* The one translation from this module's errors to PAM codes. Anything that is not a definite
 * answer from the agent (absent, silent, an impostor, malformed, the server down) is
 * PAM_AUTHINFO_UNAVAIL, so a stack can only ever fail closed on it. */
static int
pam_code(int r)
{
	switch (r) {
	case 0:
		return PAM_SUCCESS;
	case JIT_ERR_DENIED:
		return PAM_PERM_DENIED;
	case -ENOMEM:
		return PAM_BUF_ERR;
	default:
		return PAM_AUTHINFO_UNAVAIL;
	}
}

static void
log_agent_error(const struct ctx *c, const char *what, int r)
{
	int level = r == -EPERM ? LOG_ALERT : LOG_ERR;

	pam_syslog(c->pamh, level, "%s for %s: agent at %s: %s", what, c->user, c->args.socket_path,
	           jit_strerror(r));
}

static void
debug(const struct ctx *c, const char *fmt, const char *a, const char *b)
{
	if (c->args.debug)
		pam_syslog(c->pamh, LOG_DEBUG, fmt, a, b);
}

static bool
user_valid(const char *user)
{
	size_t n = 0;

	if (!user || !*user || user[0] == '-')
		return false;
	for (; user[n]; n++) {
		unsigned char ch = (unsigned char)user[n];
		if (n >= USER_MAX || ch <= 0x20 || ch == 0x7f || ch == '/')
			return false;
	}
	return true;
}

/* Parses the arguments and gets the user. Returns a PAM code. */
static int
ctx_init(struct ctx *c, pam_handle_t *pamh, int flags, int argc, const char **argv, bool need_grant)
{
	char error[256];
	const char *user = NULL;
	int r;

	*c = (struct ctx){ .pamh = pamh, .flags = flags };
	if (jit_pam_args_parse(argc, argv, &c->args, error, sizeof(error)) < 0) {
		pam_syslog(pamh, LOG_ERR, "%s", error);
		return PAM_SERVICE_ERR;
	}
	if (need_grant && (!c->args.provider || !c->args.role)) {
		pam_syslog(pamh, LOG_ERR, "the provider= and role= arguments are required here");
		return PAM_SERVICE_ERR;
	}
	if (c->args.ruser) {
		/* sudo's session stage: PAM_USER is the target (root), the grants are the
		 * invoking user's, whom sudo names in PAM_RUSER. */
		const void *item = NULL;
		if (pam_get_item(pamh, PAM_RUSER, &item) != PAM_SUCCESS || !item) {
			pam_syslog(pamh, LOG_ERR, "ruser: the application set no PAM_RUSER");
			return PAM_USER_UNKNOWN;
		}
		user = item;
	} else {
		r = pam_get_user(pamh, &user, NULL);
		if (r != PAM_SUCCESS)
			return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : r;
	}
	if (!user_valid(user)) {
		pam_syslog(pamh, LOG_NOTICE, "refusing an unusable user name");
		return PAM_USER_UNKNOWN;
	}
	c->user = user;
	return PAM_SUCCESS;
}

static uint64_t
deadline_after(int64_t ms)
{
	return jit_ap_deadline_ms((uint32_t)ms);
}

static int
connect_agent(const struct ctx *c, uint64_t deadline_ns, struct jit_pam_conn **ret_conn)
{
	int r = jit_pam_conn_open(c->args.socket_path, deadline_ns, ret_conn);

	if (r < 0)
		log_agent_error(c, "connecting", r);
	return r;
}

static void
say_unavailable(const struct ctx *c)
{
	say(c, PAM_ERROR_MSG, "jitsudo: the jitsudo agent is not available; no elevation now.");
}

static void
grant_ensure_request(const struct ctx *c, struct jit_pam_ensure *req, const char *reason,
                     bool break_glass, bool lookup_only)
{
	*req = (struct jit_pam_ensure){
		.user = c->user,
		.provider = c->args.provider,
		.role = c->args.role,
		.scope = c->args.scope,
		.duration_seconds = (uint32_t)c->args.duration_seconds,
		.reason = reason,
		.break_glass = break_glass,
		.lookup_only = lookup_only,
	};
}

/* Looks for a grant the user already holds (or a request already pending). Returns 0 and the
 * state (ret_found false when there is none), or an error. */
static int
lookup(const struct ctx *c, struct jit_pam_grant_state *ret_state, bool *ret_found)
{
	struct jit_pam_conn *conn = NULL;
	struct jit_pam_ensure req;
	uint64_t deadline = deadline_after(c->args.timeout_ms);
	int r;

	if ((r = connect_agent(c, deadline, &conn)) < 0)
		return r;
	grant_ensure_request(c, &req, NULL, false, true);
	r = jit_pam_grant_ensure(conn, &req, deadline, ret_state);
	jit_pam_conn_free(conn);
	if (r == JIT_ERR_NOT_FOUND) {
		*ret_found = false;
		return 0;
	}
	if (r < 0) {
		log_agent_error(c, "looking up a grant", r);
		return r;
	}
	*ret_found = true;
	return 0;
}

/* ---- auth ------------------------------------------------------------------------------- */

static void
memo_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	if (data) {
		explicit_bzero(data, sizeof(struct auth_memo));
		free(data);
	}
}

static void
remember(const struct ctx *c, const char *request_id, bool denied, const char *message)
{
	struct auth_memo *m = calloc(1, sizeof(*m));

	if (!m)
		return;
	snprintf(m->request_id, sizeof(m->request_id), "%s", request_id);
	m->denied = denied;
	snprintf(m->message, sizeof(m->message), "%s", message ? message : "");
	if (pam_set_data(c->pamh, AUTH_MEMO_KEY, m, memo_cleanup) != PAM_SUCCESS)
		memo_cleanup(c->pamh, m, 0);
}

static int
denied(const struct ctx *c, const char *request_id, const char *message)
{
	pam_syslog(c->pamh, LOG_NOTICE, "request %s of %s for %s on %s was denied", request_id,
	           c->user, c->args.role, c->args.provider);
	say(c, PAM_ERROR_MSG, "jitsudo: request %s was denied: %s", request_id,
	    message && *message ? message : "no reason given");
	remember(c, request_id, true, message);
	return PAM_PERM_DENIED;
}

static int
granted(const struct ctx *c, const char *request_id, const char *how)
{
	pam_syslog(c->pamh, LOG_INFO, "%s holds request %s for %s on %s (%s)", c->user, request_id,
	           c->args.role, c->args.provider, how);
	say(c, PAM_TEXT_INFO, "jitsudo: request %s is %s.", request_id, how);
	pam_set_data(c->pamh, AUTH_MEMO_KEY, NULL, NULL);
	return PAM_SUCCESS;
}

/* Waits (bounded by the wait cap) for a pending request to be decided. Returns a PAM code. */
static int
wait_for_decision(const struct ctx *c, const char *request_id)
{
	struct jit_pam_conn *conn = NULL;
	struct jit_pam_grant_state st = { 0 };
	uint64_t wait_deadline = deadline_after(c->args.wait_ms);
	uint64_t slack_ns = (uint64_t)c->args.timeout_ms * 1000000ull;
	/* The agent answers at the timeout it is given; it may answer earlier, but not forever. */
	unsigned calls_left = 2 + (unsigned)(c->args.wait_ms / 1000);
	int r, code;

	say(c, PAM_TEXT_INFO, "jitsudo: request %s is waiting for approval (up to %lld s)...",
	    request_id, (long long)(c->args.wait_ms / 1000));
	if ((r = connect_agent(c, deadline_after(c->args.timeout_ms), &conn)) < 0)
		goto unavailable;
	for (;;) {
		uint64_t now = jit_ap_now_ns();
		uint32_t left_ms;

		if (now >= wait_deadline)
			break;
		if (calls_left-- == 0) {
			r = JIT_ERR_PROTOCOL;
			log_agent_error(c, "waiting for a decision", r);
			goto unavailable;
		}
		left_ms = (uint32_t)((wait_deadline - now) / 1000000ull);
		if (left_ms == 0)
			left_ms = 1;
		r = jit_pam_grant_wait(conn, c->user, request_id, left_ms,
		                       now + (uint64_t)left_ms * 1000000ull + slack_ns, &st);
		if (r == JIT_ERR_DENIED) {
			code = denied(c, request_id, jit_pam_conn_error_message(conn));
			goto out;
		}
		if (r < 0) {
			log_agent_error(c, "waiting for a decision", r);
			goto unavailable;
		}
		switch (classify(st.state)) {
		case GRANT_HELD:
			code = granted(c, request_id, "approved");
			goto out;
		case GRANT_REFUSED:
			code = denied(c, request_id, st.message);
			goto out;
		case GRANT_ENDED:
			code = denied(c, request_id, "the request ended before it was used");
			goto out;
		case GRANT_PENDING:
			continue;
		default:
			r = JIT_ERR_PROTOCOL;
			log_agent_error(c, "waiting for a decision", r);
			goto unavailable;
		}
	}
	pam_syslog(c->pamh, LOG_NOTICE, "request %s of %s still pending after %lld s", request_id,
	           c->user, (long long)(c->args.wait_ms / 1000));
	say(c, PAM_ERROR_MSG,
	    "jitsudo: request %s is still waiting for approval; once it is approved, "
	    "try again.",
	    request_id);
	remember(c, request_id, false, NULL);
	code = PAM_AUTH_ERR;
	goto out;
unavailable:
	say_unavailable(c);
	code = pam_code(r);
out:
	jit_pam_conn_free(conn);
	return code;
}

/* A reason typed at the prompt, with surrounding blanks dropped: returns where it starts, or
 * NULL when it is empty or holds a control character. */
static const char *
reason_clean(char *reason)
{
	size_t n = strlen(reason);

	while (n > 0 && (reason[n - 1] == ' ' || reason[n - 1] == '\t' || reason[n - 1] == '\r' ||
	                 reason[n - 1] == '\n'))
		reason[--n] = '\0';
	while (*reason == ' ' || *reason == '\t')
		reason++;
	for (const char *p = reason; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f)
			return NULL;
	}
	return *reason ? reason : NULL;
}

static int
submit(const struct ctx *c)
{
	_cleanup_(jit_pam_answer_freep) char *answer = NULL;
	struct jit_pam_conn *conn = NULL;
	struct jit_pam_grant_state st = { 0 };
	struct jit_pam_ensure req;
	char prompt[640];
	const char *reason = NULL;
	bool break_glass = false;
	uint64_t deadline;
	int r, code;

	snprintf(prompt, sizeof(prompt), "jitsudo: reason for %s on %s%s%s%s: ", c->args.role,
	         c->args.provider, c->args.scope ? " " : "", c->args.scope ? c->args.scope : "",
	         c->args.break_glass ? " (start with ! for break-glass)" : "");
	r = jit_pam_prompt(c->pamh, PAM_PROMPT_ECHO_ON, prompt, JIT_PAM_REASON_MAX, &answer);
	if (r < 0 && r != -E2BIG)
		return r == -ENOMEM ? PAM_BUF_ERR : PAM_CONV_ERR;
	/* Too long, empty or several lines: refused (and anything but a clean answer is). */
	if (r == 0)
		reason = reason_clean(answer);
	if (!reason) {
		say(c, PAM_ERROR_MSG,
		    "jitsudo: a reason of one line (at most %d bytes) is required.",
		    JIT_PAM_REASON_MAX);
		return PAM_AUTH_ERR;
	}
	if (reason[0] == '!') {
		if (!c->args.break_glass) {
			say(c, PAM_ERROR_MSG, "jitsudo: break-glass is not allowed here.");
			return PAM_AUTH_ERR;
		}
		break_glass = true;
		reason++;
		while (*reason == ' ')
			reason++;
		if (!*reason) {
			say(c, PAM_ERROR_MSG, "jitsudo: break-glass needs a reason after the '!'.");
			return PAM_AUTH_ERR;
		}
	}
	deadline = deadline_after(c->args.timeout_ms);
	if ((r = connect_agent(c, deadline, &conn)) < 0)
		goto unavailable;
	grant_ensure_request(c, &req, reason, break_glass, false);
	r = jit_pam_grant_ensure(conn, &req, deadline, &st);
	if (r == JIT_ERR_DENIED) {
		code = denied(c, "(not created)", jit_pam_conn_error_message(conn));
		goto out;
	}
	if (r == JIT_ERR_INVALID) {
		/* The reason did not encode (not UTF-8) or the agent refused the fields. */
		log_agent_error(c, "submitting a request", r);
		say(c, PAM_ERROR_MSG, "jitsudo: the request was refused as malformed%s%s",
		    *jit_pam_conn_error_message(conn) ? ": " : ".",
		    jit_pam_conn_error_message(conn));
		code = PAM_AUTH_ERR;
		goto out;
	}
	if (r < 0) {
		log_agent_error(c, "submitting a request", r);
		goto unavailable;
	}
	pam_syslog(c->pamh, LOG_NOTICE, "%s asked for %s on %s%s: request %s is %s", c->user,
	           c->args.role, c->args.provider, break_glass ? " (break-glass)" : "",
	           st.request_id, st.state);
	switch (classify(st.state)) {
	case GRANT_HELD:
		code = granted(c, st.request_id, break_glass ? "active (break-glass)" : "approved");
		goto out;
	case GRANT_REFUSED:
	case GRANT_ENDED:
		code = denied(c, st.request_id, st.message);
		goto out;
	case GRANT_PENDING:
		jit_pam_conn_free(TAKE_PTR(conn));
		return wait_for_decision(c, st.request_id);
	default:
		r = JIT_ERR_PROTOCOL;
		log_agent_error(c, "submitting a request", r);
		goto unavailable;
	}
unavailable:
	say_unavailable(c);
	code = pam_code(r);
out:
	jit_pam_conn_free(conn);
	return code;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct jit_pam_grant_state st = { 0 };
	const void *data = NULL;
	struct ctx c;
	bool found = false;
	int r;

	if ((r = ctx_init(&c, pamh, flags, argc, argv, true)) != PAM_SUCCESS)
		return r;
	c.dialog = true;
	if (pam_get_data(pamh, AUTH_MEMO_KEY, &data) == PAM_SUCCESS && data) {
		const struct auth_memo *m = data;
		char request_id[sizeof(m->request_id)];

		snprintf(request_id, sizeof(request_id), "%s", m->request_id);
		if (m->denied) {
			say(&c, PAM_ERROR_MSG, "jitsudo: request %s was denied: %s", m->request_id,
			    *m->message ? m->message : "no reason given");
			return PAM_PERM_DENIED;
		}
		return wait_for_decision(&c, request_id);
	}
	if ((r = lookup(&c, &st, &found)) < 0) {
		say_unavailable(&c);
		return pam_code(r);
	}
	if (found) {
		debug(&c, "lookup: request %s is %s", st.request_id, st.state);
		switch (classify(st.state)) {
		case GRANT_HELD:
			c.dialog = false; /* nothing was asked: PAM_SILENT holds */
			return granted(&c, st.request_id, "active");
		case GRANT_PENDING:
			return wait_for_decision(&c, st.request_id);
		case GRANT_UNKNOWN:
			log_agent_error(&c, "looking up a grant", JIT_ERR_PROTOCOL);
			say_unavailable(&c);
			return PAM_AUTHINFO_UNAVAIL;
		default:
			break; /* an old refusal or an ended grant: ask anew */
		}
	}
	return submit(&c);
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* Credentials go into the session (pam_sm_open_session), not here. */
	return PAM_SUCCESS;
}

/* ---- account ---------------------------------------------------------------------------- */

static int
gate_refuse(const struct ctx *c, const char *why)
{
	pam_syslog(c->pamh, LOG_NOTICE, "account gate refused %s: %s (%s on %s)", c->user, why,
	           c->args.role, c->args.provider);
	say(c, PAM_ERROR_MSG,
	    "jitsudo: access refused: %s. Ask for it with: jitsudo request --provider %s "
	    "--role %s%s%s",
	    why, c->args.provider, c->args.role, c->args.scope ? " --scope " : "",
	    c->args.scope ? c->args.scope : "");
	return PAM_PERM_DENIED;
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct jit_pam_grant_state st = { 0 };
	struct jit_pam_conn *conn = NULL;
	struct jit_pam_ensure req;
	const void *service = NULL;
	char reason[256], why[JIT_AP_MAX_MESSAGE + 128];
	struct ctx c;
	bool found = false;
	int r;

	if ((r = ctx_init(&c, pamh, flags, argc, argv, true)) != PAM_SUCCESS)
		return r;
	if ((r = lookup(&c, &st, &found)) < 0) {
		say_unavailable(&c);
		return pam_code(r);
	}
	if (found && classify(st.state) == GRANT_HELD) {
		pam_syslog(pamh, LOG_INFO, "account gate: %s holds request %s", c.user,
		           st.request_id);
		return PAM_SUCCESS;
	}
	if (found && classify(st.state) == GRANT_UNKNOWN) {
		log_agent_error(&c, "looking up a grant", JIT_ERR_PROTOCOL);
		return PAM_AUTHINFO_UNAVAIL;
	}
	/* A request already waiting for a decision: refused with its id, and with gate=auto no
	 * second request is filed for it. */
	if (found && classify(st.state) == GRANT_PENDING) {
		snprintf(why, sizeof(why), "request %s is still waiting for approval",
		         st.request_id);
		return gate_refuse(&c, why);
	}
	if (c.args.gate != JIT_PAM_GATE_AUTO)
		return gate_refuse(&c, "no active grant");
	/* gate=auto: ask; only an answer of approved-at-once lets the login through. */
	if (pam_get_item(pamh, PAM_SERVICE, &service) != PAM_SUCCESS || !service)
		service = "?";
	snprintf(reason, sizeof(reason), "login through %.64s (account gate)",
	         (const char *)service);
	uint64_t deadline = deadline_after(c.args.timeout_ms);
	if ((r = connect_agent(&c, deadline, &conn)) < 0) {
		say_unavailable(&c);
		return pam_code(r);
	}
	grant_ensure_request(&c, &req, reason, false, false);
	r = jit_pam_grant_ensure(conn, &req, deadline, &st);
	if (r == JIT_ERR_DENIED) {
		snprintf(why, sizeof(why), "%s", jit_pam_conn_error_message(conn));
		jit_pam_conn_free(conn);
		return gate_refuse(&c, *why ? why : "denied");
	}
	jit_pam_conn_free(conn);
	if (r < 0) {
		log_agent_error(&c, "asking for a grant", r);
		say_unavailable(&c);
		return pam_code(r);
	}
	switch (classify(st.state)) {
	case GRANT_HELD:
		pam_syslog(pamh, LOG_INFO, "account gate: %s was granted request %s at once",
		           c.user, st.request_id);
		return PAM_SUCCESS;
	case GRANT_PENDING:
		snprintf(why, sizeof(why), "request %s is waiting for approval", st.request_id);
		return gate_refuse(&c, why);
	case GRANT_REFUSED:
	case GRANT_ENDED:
		snprintf(why, sizeof(why), "request %s was denied: %s", st.request_id,
		         *st.message ? st.message : "no reason given");
		return gate_refuse(&c, why);
	default:
		log_agent_error(&c, "asking for a grant", JIT_ERR_PROTOCOL);
		return PAM_AUTHINFO_UNAVAIL;
	}
}

/* ---- session ---------------------------------------------------------------------------- */

struct inject {
	const struct ctx *c;
	unsigned put;
	unsigned skipped;
	bool has_kubeconfig;
};

static int
put_one(const char *entry, size_t len, void *userdata)
{
	struct inject *in = userdata;
	size_t name_len = jit_pam_env_name_len(entry, len);
	char *copy;
	int r;

	if (!jit_pam_env_allowed(entry, len)) {
		/* The name alone is logged, and only when it is a plain identifier. */
		bool plain = name_len > 0 && name_len <= JIT_PAM_ENV_NAME_MAX &&
		             strspn(entry, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                           "0123456789_") >= name_len;
		pam_syslog(in->c->pamh, LOG_WARNING,
		           "agent sent a variable not allowed (%.*s), "
		           "ignoring",
		           plain ? (int)name_len : 9, plain ? entry : "malformed");
		in->skipped++;
		return 0;
	}
	if (in->put >= in->c->args.max_env) {
		pam_syslog(in->c->pamh, LOG_WARNING,
		           "more than max_env=%u variables, ignoring %.*s", in->c->args.max_env,
		           (int)name_len, entry);
		in->skipped++;
		return 0;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, entry, len);
	copy[len] = '\0';
	r = pam_putenv(in->c->pamh, copy);
	explicit_bzero(copy, len);
	free(copy);
	if (r != PAM_SUCCESS)
		return -ENOMEM;
	if (name_len == strlen("KUBECONFIG") && memcmp(entry, "KUBECONFIG", name_len) == 0)
		in->has_kubeconfig = true;
	if (in->c->args.debug)
		pam_syslog(in->c->pamh, LOG_DEBUG, "session: set %.*s", (int)name_len, entry);
	in->put++;
	return 0;
}

static void
session_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

static int
new_session_id(char *buf, size_t size)
{
	unsigned char raw[16];
	static const char hex[] = "0123456789abcdef";

	if (size < 2 * sizeof(raw) + 1)
		return -EINVAL;
	if (jit_random_bytes(raw, sizeof(raw)) < 0)
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++) {
		buf[2 * i] = hex[raw[i] >> 4];
		buf[2 * i + 1] = hex[raw[i] & 15];
	}
	buf[2 * sizeof(raw)] = '\0';
	return 0;
}

PAM_EXTERN int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct jit_pam_conn *conn = NULL;
	char session_id[33], session_dir[JIT_AP_MAX_PATH + 1] = "", *kept = NULL;
	struct ctx c;
	struct inject in = { .c = &c };
	unsigned count = 0;
	uint64_t deadline;
	int r;

	if ((r = ctx_init(&c, pamh, flags, argc, argv, false)) != PAM_SUCCESS)
		return r;
	if (new_session_id(session_id, sizeof(session_id)) < 0) {
		pam_syslog(pamh, LOG_CRIT, "no random bytes for a session id");
		return PAM_SYSTEM_ERR;
	}
	deadline = deadline_after(c.args.timeout_ms);
	if ((r = connect_agent(&c, deadline, &conn)) < 0)
		goto unavailable;
	r = jit_pam_session_open(conn, c.user, session_id, c.args.provider, c.args.role,
	                         c.args.scope, deadline, put_one, &in, session_dir,
	                         sizeof(session_dir), &count);
	jit_pam_conn_free(conn);
	if (r == JIT_ERR_NOT_FOUND) {
		debug(&c, "session: %s holds no grant%s", c.user, "");
		return PAM_SUCCESS;
	}
	if (r < 0) {
		log_agent_error(&c, "opening a session", r);
		goto unavailable;
	}
	kept = strdup(session_id);
	if (!kept || pam_set_data(pamh, SESSION_KEY, kept, session_cleanup) != PAM_SUCCESS) {
		free(kept);
		pam_syslog(pamh, LOG_CRIT, "cannot keep the session id");
		return PAM_BUF_ERR;
	}
	pam_syslog(pamh, LOG_INFO, "session %s of %s: %u variables from the agent%s", session_id,
	           c.user, in.put, in.skipped ? " (some refused)" : "");
	if (in.put > 0)
		jit_pam_say(pamh, flags, PAM_TEXT_INFO,
		            "jitsudo: %u variables from your active grants are set%s%s.", in.put,
		            in.has_kubeconfig ? "; KUBECONFIG=" : "",
		            in.has_kubeconfig ? pam_getenv(pamh, "KUBECONFIG") : "");
	return PAM_SUCCESS;
unavailable:
	say_unavailable(&c);
	return pam_code(r);
}

PAM_EXTERN int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct jit_pam_conn *conn = NULL;
	const void *data = NULL;
	struct ctx c;
	int r;

	if ((r = ctx_init(&c, pamh, flags, argc, argv, false)) != PAM_SUCCESS)
		return r;
	if (pam_get_data(pamh, SESSION_KEY, &data) != PAM_SUCCESS || !data)
		return PAM_IGNORE; /* this handle opened no session of ours */
	uint64_t deadline = deadline_after(c.args.timeout_ms);
	if ((r = connect_agent(&c, deadline, &conn)) == 0) {
		r = jit_pam_session_close(conn, c.user, data, deadline);
		jit_pam_conn_free(conn);
	}
	if (r == JIT_ERR_NOT_FOUND)
		r = 0; /* already gone (expired) */
	if (r < 0) {
		/* Best effort: the agent's timers remove the files at expiry anyway. */
		log_agent_error(&c, "closing a session", r);
		return pam_code(r);
	}
	debug(&c, "session %s of %s closed", (const char *)data, c.user);
	pam_set_data(pamh, SESSION_KEY, NULL, NULL);
	return PAM_SUCCESS;
}

PAM_EXTERN int
pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}
