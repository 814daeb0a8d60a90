/* The CLI's HTTP exchanges (lib/net's client): a single bounded exchange with jitsudod or an OpenID
 * Connect provider. It trusts nothing it receives: bodies are capped and handed back as bytes
 * for the caller to parse; with debug on it logs the method, URL, status and time, never a
 * header or a body (they carry tokens and credentials). */
#ifndef JIT_CLI_HTTP_H
#define JIT_CLI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* The largest response body accepted; a longer one fails with JIT_ERR_TOO_LARGE. */
#define JIT_CLI_HTTP_MAX_BODY (8u << 20)

/* The TLS peer's certificate failed verification, or the CA file could not be used; and the
 * one-line message for it (arguments: "server" or "issuer", and its URL). */
#define JIT_CLI_HTTP_UNTRUSTED JIT_ERR_UNAUTHENTICATED
#define JIT_CLI_HTTP_UNTRUSTED_FMT                                                          \
	"the %s at %s presented a TLS certificate that could not be verified (give its CA " \
	"with --ca-file or ca_file in the config; --debug shows why)"

struct jit_cli_http {
	const char *ca_file; /* PEM bundle to verify TLS peers with; NULL: the system's CAs */
	int timeout_ms;      /* limit on the whole exchange, connecting included; > 0 */
	bool debug;          /* one line per exchange on stderr (see above) */
};

/* Why an exchange got no answer (JIT_ERR_UNAVAILABLE), for a message that says what happened
 * instead of one that blames a timeout for everything. */
enum jit_cli_http_failure {
	JIT_CLI_HTTP_FAILURE_NONE,
	JIT_CLI_HTTP_FAILURE_REFUSED, /* the connection was refused: nothing listens there */
	JIT_CLI_HTTP_FAILURE_CONNECT, /* no connection for another reason (no route, ...) */
	JIT_CLI_HTTP_FAILURE_RESOLVE, /* the host name does not resolve */
	JIT_CLI_HTTP_FAILURE_TIMEOUT, /* no answer within timeout_ms */
	JIT_CLI_HTTP_FAILURE_TLS,     /* the TLS handshake failed (not a verification failure) */
	JIT_CLI_HTTP_FAILURE_BROKEN,  /* connected, but the exchange broke before an answer */
};

struct jit_cli_response {
	long status; /* the HTTP status */
	char *body;  /* NUL-terminated (the NUL is not counted in len); never NULL after success */
	size_t len;
	/* Set when jit_cli_http_do returned JIT_ERR_UNAVAILABLE (the rest stays empty then). */
	enum jit_cli_http_failure failure;
	int os_error; /* with JIT_CLI_HTTP_FAILURE_CONNECT: the errno of connect(), or 0 */
};

/* Performs one exchange: `method` on `url`, with "Authorization: Bearer <bearer>" unless bearer
 * is NULL, and with `body` (body_len bytes, of type `content_type`) unless body is NULL.
 * Returns 0 when a response arrived, whatever its status, and fills *ret; JIT_ERR_UNAVAILABLE
 * when the peer could not be reached or did not answer within the timeout, with only
 * ret->failure (and ret->os_error) set to say why;
 * JIT_CLI_HTTP_UNTRUSTED when its TLS certificate could not be verified (not a temporary
 * failure: retrying will not help until the CA is configured);
 * JIT_ERR_TOO_LARGE when the body is over JIT_CLI_HTTP_MAX_BODY; JIT_ERR_INVALID for a URL
 * that is not http(s); -ENOMEM. */
int jit_cli_http_do(const struct jit_cli_http *h, const char *method, const char *url,
                    const char *bearer, const char *content_type, const char *body, size_t body_len,
                    struct jit_cli_response *ret);

/* The one-line message for an exchange that got no answer: what failed, naming the `peer`
 * ("server", "issuer") and its URL, e.g. "the server at http://127.0.0.1:9 refused the
 * connection". `hint`, when not NULL, is added after a refused connection ("is jitsudod
 * running there?"). Never fails; the text is cut to fit `size`. */
void jit_cli_http_unreachable_message(const struct jit_cli_response *resp, const char *peer,
                                      const char *url, int timeout_ms, const char *hint, char *buf,
                                      size_t size);

/* Frees what jit_cli_http_do filled (wiping the body first); safe on a zeroed response. */
void jit_cli_response_done(struct jit_cli_response *r);

#endif
