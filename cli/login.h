/* `jitsudo login` and the credentials file: the OpenID Connect device authorization grant
 * (RFC 8628) against the configured issuer, and ~/.jitsudo/credentials (mode 0600, in a 0700
 * directory) holding the server URL, the issuer, the client id, the ID token, the refresh token
 * and the ID token's expiry. Everything read from the provider or from the file is checked and
 * bounded; no token is ever printed or logged. */
#ifndef JIT_CLI_LOGIN_H
#define JIT_CLI_LOGIN_H

#include <stdbool.h>
#include <stdio.h>

struct jit_cli_login_opts {
	const char *server; /* jitsudod's URL, stored with the tokens; may be NULL */
	const char *issuer; /* required; discovery at <issuer>/.well-known/openid-configuration */
	const char *client_id;        /* required; a public client allowed the device grant */
	const char *scope;            /* NULL: "openid" */
	const char *ca_file;          /* for the issuer's TLS; NULL: the system's CAs */
	const char *credentials_path; /* NULL: $HOME/.jitsudo/credentials */
	int timeout_ms;               /* per HTTP exchange; > 0 */
	int max_wait_s;               /* upper bound on the whole wait for the user; > 0 */
	bool debug;
};

/* Runs the device flow: prints to `out` the line
 *   "To sign in, open <verification_uri> and enter the code <user_code>"
 * (and "Or open <verification_uri_complete>" when the provider gives one), then polls the token
 * endpoint at the provider's interval (honouring slow_down) until the user approves, the code
 * expires, the provider refuses or max_wait_s passes; then stores the tokens and prints
 * "Logged in as <email, else preferred_username, else subject>".
 * On failure it has already written one line "jitsudo: <what went wrong>" to stderr and returns
 * JIT_ERR_UNAVAILABLE (issuer unreachable or silent), JIT_ERR_DENIED (the user or provider
 * refused), JIT_ERR_TIMEOUT (the code expired or max_wait_s passed), JIT_ERR_INVALID (bad
 * options or a malformed provider answer) or another negative code. */
int jit_cli_login(const struct jit_cli_login_opts *o, FILE *out);

/* Removes the credentials file (NULL path: the default). 0 also when there was none. */
int jit_cli_logout(const char *credentials_path);

/* Reads the credentials file (NULL path: the default). Returns the stored server URL (NULL if
 * none was stored) and an ID token valid for at least 30 more seconds, refreshing it with the
 * refresh token (and rewriting the file atomically) when needed. Returns -ENOENT when there is
 * no file, JIT_ERR_UNAUTHENTICATED when the token expired and cannot be refreshed (the message
 * to show: "run `jitsudo login`"), JIT_ERR_UNAVAILABLE when the issuer is unreachable during a
 * refresh, JIT_ERR_INVALID for a malformed file or one readable by group or others.
 * Either output pointer may be NULL; with ret_token NULL the token is neither checked nor
 * refreshed (only the server is wanted). */
int jit_cli_stored_token(const char *credentials_path, int timeout_ms, bool debug,
                         char **ret_server, char **ret_token);

#endif
