/* The project's one HTTP client, on libcurl: bounded exchanges with jitsudod, OpenID Connect
 * issuers and cloud APIs. Every exchange has a deadline, a cap on what it reads, TLS verified
 * against the system's CAs or a CA file (never switched off), http and https only, and no
 * redirect unless the caller asks. It trusts nothing it receives: bodies and headers come back
 * as bounded bytes for the caller to parse. Errors name the method, host and path only, never
 * the query, a header, a body or a token. Library code: it never logs. */
#ifndef JIT_NET_HTTP_H
#define JIT_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"

/* The response body cap when the options give none. */
#define JIT_HTTP_DEFAULT_MAX_BODY (8u << 20)
/* The bound on all the header lines of one response, and on how many are kept. */
#define JIT_HTTP_MAX_HEADER_BYTES (64u << 10)
#define JIT_HTTP_MAX_HEADERS 100
/* Redirects followed at most, when the options allow them and give no number. */
#define JIT_HTTP_DEFAULT_MAX_REDIRECTS 5

/* How a client behaves; copied by jit_http_client_new (the strings too). */
struct jit_http_options {
	int timeout_ms;          /* limit on each whole exchange, connecting included; > 0 */
	int connect_timeout_ms;  /* limit on connecting (TCP and TLS); 0: timeout_ms */
	size_t max_body;         /* bytes of a response body; 0: JIT_HTTP_DEFAULT_MAX_BODY */
	const char *ca_file;     /* PEM bundle to verify TLS peers with; NULL: the system's CAs */
	const char *client_cert; /* PEM certificate for mutual TLS, or NULL */
	const char *client_key;  /* its PEM private key (NULL: in client_cert) */
	const char *user_agent;  /* the User-Agent header; NULL: none is sent */
	bool follow_redirects;   /* false (the default): a 3xx is returned as the response */
	int max_redirects;       /* with follow_redirects; 0: JIT_HTTP_DEFAULT_MAX_REDIRECTS */
	bool no_proxy;           /* ignore http_proxy/https_proxy/all_proxy from the environment */
};

struct jit_http_header {
	const char *name;  /* e.g. "Authorization", "X-Amz-Date" */
	const char *value; /* sent as given; must hold no CR or LF */
};

/* One exchange. The strings and the body are the caller's and must outlive the call. */
struct jit_http_request {
	const char *method;                    /* "GET", "POST", "PUT", "DELETE", "HEAD", ... */
	const char *url;                       /* http:// or https:// */
	const struct jit_http_header *headers; /* header_count of them, or NULL */
	size_t header_count;
	const char *bearer; /* adds "Authorization: Bearer <bearer>" unless NULL */
	const void *body;   /* body_len bytes, or NULL for none */
	size_t body_len;
	const char *content_type; /* with a body; NULL: application/octet-stream */
	int64_t deadline_ns;      /* absolute CLOCK_MONOTONIC deadline, or 0: timeout_ms only */
};

struct jit_http_response_header {
	char *name;
	char *value;
};

struct jit_http_response {
	long status; /* the HTTP status of the last response (3xx when a redirect was not taken) */
	char *body; /* NUL-terminated (the NUL is not counted in body_len); never NULL after success */
	size_t body_len;
	/* The header lines of the last response (after redirects and 1xx), in order. */
	struct jit_http_response_header *headers;
	size_t header_count;
};

/* Why an exchange produced no response: one code per thing that can fail. */
enum jit_http_failure {
	JIT_HTTP_FAILURE_NONE,
	JIT_HTTP_FAILURE_INVALID, /* not an http(s) URL, bad method or header: JIT_ERR_INVALID */
	JIT_HTTP_FAILURE_RESOLVE, /* the host name does not resolve: JIT_ERR_UNAVAILABLE */
	JIT_HTTP_FAILURE_REFUSED, /* the connection was refused: JIT_ERR_UNAVAILABLE */
	JIT_HTTP_FAILURE_CONNECT, /* no connection for another reason: JIT_ERR_UNAVAILABLE */
	JIT_HTTP_FAILURE_TIMEOUT, /* the deadline passed: JIT_ERR_TIMEOUT */
	JIT_HTTP_FAILURE_TLS_HANDSHAKE, /* TLS failed, not its verification: JIT_ERR_UNAVAILABLE */
	JIT_HTTP_FAILURE_TLS_UNTRUSTED, /* the peer's certificate did not verify, or the CA file
	                                 * is unusable: JIT_ERR_UNAUTHENTICATED */
	JIT_HTTP_FAILURE_TOO_LARGE,     /* body or headers over their bound: JIT_ERR_TOO_LARGE */
	JIT_HTTP_FAILURE_REDIRECTS,     /* more redirects than allowed: JIT_ERR_PROTOCOL */
	JIT_HTTP_FAILURE_BROKEN,    /* the exchange broke before an answer: JIT_ERR_UNAVAILABLE */
	JIT_HTTP_FAILURE_NO_MEMORY, /* -ENOMEM */
};

/* What failed, for the caller's own message. */
struct jit_http_error {
	enum jit_http_failure failure;
	int os_error; /* with REFUSED or CONNECT: connect()'s errno, or 0 */
	/* libcurl's one-line name of the failure (static text, names nothing of the request), or
	 * "" when libcurl did not fail. */
	const char *cause;
	/* libcurl's own account ("SSL certificate problem: ...", "Failed to connect to HOST port
	 * N ..."): it may name the host and port, never the query or a credential (it is replaced
	 * by `cause` when it would). */
	char detail[256];
	/* Ours: "<METHOD> <scheme>://<host>[:<port>]<path>: <what failed> (<detail>)". */
	char message[512];
};

struct jit_http_client;

/* Starts libcurl for the process, once; later calls return the first one's result. Returns 0
 * or JIT_ERR_INTERNAL. jit_http_client_new calls it; a threaded program may call it at start
 * so that its first exchange does not pay for it. */
int jit_http_init(void);

/* A client: one libcurl handle whose connections are kept between exchanges. It is used by
 * one thread at a time (make one per thread). Returns 0, JIT_ERR_INVALID for bad options
 * (timeout_ms <= 0), JIT_ERR_INTERNAL when libcurl cannot start, or -ENOMEM. */
int jit_http_client_new(const struct jit_http_options *options, struct jit_http_client **ret);

/* Closes the client's connections and frees it; NULL is fine. */
void jit_http_client_free(struct jit_http_client *client);
JIT_DEFINE_CLEANUP(struct jit_http_client *, jit_http_client_free)

/* Performs one exchange and blocks until it ends: at most timeout_ms, and never past
 * req->deadline_ns. Returns 0 when a response arrived, whatever its status, and fills *ret
 * (free it with jit_http_response_done). On failure *ret is left empty and, when ret_error is
 * not NULL, it says what failed; the return value is the code named beside each
 * jit_http_failure above. The copies of the headers made for the exchange are wiped before
 * it returns; the request body stays the caller's to wipe. */
int jit_http_exchange(struct jit_http_client *client, const struct jit_http_request *req,
                      struct jit_http_response *ret, struct jit_http_error *ret_error);

/* The value of the last response header called `name` (case does not matter), or NULL. */
const char *jit_http_response_header(const struct jit_http_response *r, const char *name);

/* Wipes and frees what jit_http_exchange filled; safe on a zeroed or already freed response. */
void jit_http_response_done(struct jit_http_response *r);

struct jit_buf;

/* Appends "key=value" to an application/x-www-form-urlencoded body in `b`, after a "&" unless
 * `b` is empty; both are percent-encoded but for RFC 3986's unreserved characters. Returns 0,
 * JIT_ERR_TOO_LARGE past the buffer's bound (the buffer may then hold part of the pair), or
 * -ENOMEM. */
int jit_http_form_add(struct jit_buf *b, const char *key, const char *value);

/* The errno-style code a failure is reported with (see the list above); 0 for NONE. */
int jit_http_failure_code(enum jit_http_failure failure);

#endif
