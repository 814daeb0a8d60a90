/* AWS Signature Version 4: signs an HTTP request with an access key, by headers
 * (Authorization) or by query parameters (a presigned URL). Pure computation over the caller's
 * strings; secrets are wiped from intermediate buffers. */
#ifndef JIT_SIGV4_H
#define JIT_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_SIGV4_MAX_HEADERS 64
#define JIT_SIGV4_MAX_FIELD (8 * 1024)        /* one header value, path or query */
#define JIT_SIGV4_MAX_CANONICAL (1024 * 1024) /* the canonical request */

struct jit_sigv4_header {
	const char *name;
	const char *value;
};

struct jit_sigv4_request {
	const char *method; /* "GET" */
	const char *path;   /* as sent, e.g. "/a b/../c"; encoded here */
	const char *query;  /* after '?', NULL or "" for none; percent-encoding is normalised */
	const struct jit_sigv4_header *headers; /* must include Host */
	size_t header_count;
	const void *body;
	size_t body_length;
};

struct jit_sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL without one */
	const char *region;
	const char *service;
	int64_t time;             /* seconds since the epoch */
	bool normalize_path;      /* remove dot segments and empty segments (all but S3) */
	bool sign_body;           /* add and sign x-amz-content-sha256 */
	bool omit_session_token;  /* sign without the token, add it afterwards */
	bool query;               /* presign: signature in the query string */
	uint32_t expires_seconds; /* query signing: X-Amz-Expires */
	const char *payload_hash; /* instead of the body's hash, e.g. "UNSIGNED-PAYLOAD" */
};

/* Everything the signature is made of (for tests and debugging) and what to send. All strings
 * are NUL-terminated and owned by the result. */
struct jit_sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signature;      /* 64 hex digits */
	char *amz_date;       /* 20150830T123600Z */
	char *authorization;  /* header signing: the Authorization header value */
	char *payload_hash;   /* hex SHA-256 of the body */
	char *signed_headers; /* "host;x-amz-date" */
	char *query;          /* query signing: the full query string to send */
};

/* Signs `request`. Returns 0 and fills *ret, or JIT_ERR_INVALID (missing field, bad
 * character), JIT_ERR_TOO_LARGE (over a bound) or -ENOMEM. Never blocks. */
int jit_sigv4_sign(const struct jit_sigv4_request *request, const struct jit_sigv4_params *params,
                   struct jit_sigv4_result *ret);
/* Frees the strings of a result; safe on a zeroed or already freed result. */
void jit_sigv4_result_free(struct jit_sigv4_result *result);

#endif
