/* The parts of cli/login.c its unit tests reach: the credentials file, the ID token's payload
 * and the device grant's answer handling. Not for the other commands: they use login.h. */
#ifndef JIT_CLI_LOGIN_INTERNAL_H
#define JIT_CLI_LOGIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common/secret.h"

#define JIT_CLI_CREDENTIALS_MAX (64 * 1024) /* bytes of the credentials file */
#define JIT_CLI_TOKEN_MAX (16 * 1024)       /* bytes of an ID or refresh token */
#define JIT_CLI_URL_MAX 2048
#define JIT_CLI_CLIENT_ID_MAX 256
#define JIT_CLI_REFRESH_MARGIN_S 30 /* an ID token with less left than this is refreshed */
#define JIT_CLI_SLOW_DOWN_S 5       /* RFC 8628 §3.5: added to the interval on slow_down */
#define JIT_CLI_DEFAULT_INTERVAL_S 5
#define JIT_CLI_MAX_INTERVAL_S 300

/* What the credentials file holds. Strings are malloc'd; tokens are secrets. */
struct jit_cli_credentials {
	char *server;         /* may be NULL */
	char *issuer;         /* required */
	char *client_id;      /* required */
	char *token_endpoint; /* required: where refreshes go */
	char *ca_file;        /* may be NULL */
	struct jit_secret *id_token;
	struct jit_secret *refresh_token; /* may be NULL */
	int64_t expires_at;               /* the ID token's exp, seconds since the epoch */
};

/* Frees every member and zeroes the structure; safe on a zeroed one. */
void jit_cli_credentials_done(struct jit_cli_credentials *c);

/* The default path: $JITSUDO_CREDENTIALS when set and not empty, else
 * $HOME/.jitsudo/credentials (the passwd entry's home when HOME is unset). Malloc'd. */
int jit_cli_credentials_default_path(char **ret);

/* Reads and checks the file: a regular file (not a symlink) owned by the caller, not readable
 * or writable by group or others, at most JIT_CLI_CREDENTIALS_MAX bytes, with every required
 * field. -ENOENT when absent; JIT_ERR_INVALID with a reason in `error` otherwise. */
int jit_cli_credentials_read(const char *path, struct jit_cli_credentials *ret, char *error,
                             size_t error_size);

/* Writes the file atomically: a 0600 temporary file in the same directory, fsync, rename over
 * the old one, fsync of the directory. Refuses (JIT_ERR_INVALID) when `path` is a symlink or
 * not a regular file. When `private_dir` is true (login.c passes it for ~/.jitsudo only) the
 * directory is created 0700 if missing and tightened to 0700 if group or others may use it;
 * otherwise it is only created (0700) if missing. */
int jit_cli_credentials_write(const char *path, bool private_dir,
                              const struct jit_cli_credentials *c, char *error, size_t error_size);

/* Decodes (without verifying: jitsudod verifies signatures) the payload of a compact JWS.
 * JIT_ERR_INVALID unless it is three base64url segments with a JSON object in the middle. */
int jit_cli_jwt_payload(const char *jwt, size_t len, json_t **ret);

/* A successful token answer, checked: token_type Bearer, an id_token whose payload has the
 * expected iss and an exp in the future, an optional refresh_token, every size bounded. */
struct jit_cli_token_answer {
	struct jit_secret *id_token;
	struct jit_secret *refresh_token; /* NULL when the provider sent none */
	int64_t expires_at;
	char *subject; /* sub, malloc'd */
	char *name;    /* email, else preferred_username, else sub: printable, malloc'd */
};
void jit_cli_token_answer_done(struct jit_cli_token_answer *a);

/* Checks a 200 answer of the token endpoint. `require_id_token` false lets an answer without
 * one through (a refresh may omit it): then ret->id_token is NULL. */
int jit_cli_token_answer_parse(const char *body, size_t len, const char *issuer, int64_t now_s,
                               bool require_id_token, struct jit_cli_token_answer *ret, char *error,
                               size_t error_size);

/* The device grant's polling state (RFC 8628 §3.4-3.5). */
struct jit_cli_poll {
	int interval_s; /* the wait before the next poll; grows by 5 on slow_down */
};

#define JIT_CLI_POLL_AGAIN 1

/* Judges one answer of the token endpoint while polling: 0 with *ret filled when the tokens
 * came; JIT_CLI_POLL_AGAIN on authorization_pending or slow_down (the interval grown); else
 * JIT_ERR_DENIED (access_denied or another refusal), JIT_ERR_TIMEOUT (expired_token),
 * JIT_ERR_UNAVAILABLE (5xx), JIT_ERR_INVALID (a malformed answer), with a message. */
int jit_cli_poll_answer(struct jit_cli_poll *p, long status, const char *body, size_t len,
                        const char *issuer, int64_t now_s, struct jit_cli_token_answer *ret,
                        char *error, size_t error_size);

#endif
