/* The CLI's exchanges over lib/net's client (see http.h): one bounded exchange per call, no
 * redirects, http and https only, the body capped at JIT_CLI_HTTP_MAX_BODY; here only the
 * CLI's words for what failed and its debug line, which names the method, the URL without its
 * query, the status and the time, never a header or a body. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/http.h"
#include "lib/net/http.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

static bool
url_is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* The URL up to its query or fragment, for the debug line (queries may name people). */
static void
debug_line(const char *method, const char *url, long status, int64_t started_ns, const char *what)
{
	size_t n = strcspn(url, "?#");
	double ms = (double)(jit_now_monotonic_ns() - started_ns) / 1e6;

	if (n > 512)
		n = 512;
	if (what)
		fprintf(stderr, "jitsudo: debug: %s %.*s -> %s (%.1f ms)\n", method, (int)n, url,
		        what, ms);
	else
		fprintf(stderr, "jitsudo: debug: %s %.*s -> %ld (%.1f ms)\n", method, (int)n, url,
		        status, ms);
}

/* What an exchange that got no answer ran into, in the words of the messages below. */
static enum jit_cli_http_failure
unreachable_failure(enum jit_http_failure f)
{
	switch (f) {
	case JIT_HTTP_FAILURE_REFUSED:
		return JIT_CLI_HTTP_FAILURE_REFUSED;
	case JIT_HTTP_FAILURE_CONNECT:
		return JIT_CLI_HTTP_FAILURE_CONNECT;
	case JIT_HTTP_FAILURE_RESOLVE:
		return JIT_CLI_HTTP_FAILURE_RESOLVE;
	case JIT_HTTP_FAILURE_TIMEOUT:
		return JIT_CLI_HTTP_FAILURE_TIMEOUT;
	case JIT_HTTP_FAILURE_TLS_HANDSHAKE:
		return JIT_CLI_HTTP_FAILURE_TLS;
	default:
		return JIT_CLI_HTTP_FAILURE_BROKEN;
	}
}

void
jit_cli_http_unreachable_message(const struct jit_cli_response *resp, const char *peer,
                                 const char *url, int timeout_ms, const char *hint, char *buf,
                                 size_t size)
{
	switch (resp ? resp->failure : JIT_CLI_HTTP_FAILURE_NONE) {
	case JIT_CLI_HTTP_FAILURE_REFUSED:
		snprintf(buf, size, "the %s at %s refused the connection%s%s", peer, url,
		         hint ? ": " : "", hint ? hint : "");
		break;
	case JIT_CLI_HTTP_FAILURE_CONNECT:
		snprintf(buf, size, "cannot connect to the %s at %s: %s", peer, url,
		         resp->os_error > 0 ? strerror(resp->os_error) : "no connection");
		break;
	case JIT_CLI_HTTP_FAILURE_RESOLVE:
		snprintf(buf, size, "cannot reach the %s at %s: its host name does not resolve",
		         peer, url);
		break;
	case JIT_CLI_HTTP_FAILURE_TIMEOUT:
		snprintf(buf, size, "the %s at %s did not answer within %d ms", peer, url,
		         timeout_ms);
		break;
	case JIT_CLI_HTTP_FAILURE_TLS:
		snprintf(buf, size,
		         "the TLS handshake with the %s at %s failed (--debug shows why)", peer,
		         url);
		break;
	case JIT_CLI_HTTP_FAILURE_BROKEN:
		snprintf(buf, size,
		         "the connection to the %s at %s broke before an answer "
		         "(--debug shows why)",
		         peer, url);
		break;
	case JIT_CLI_HTTP_FAILURE_NONE:
	default:
		snprintf(buf, size, "cannot reach the %s at %s", peer, url);
		break;
	}
}

int
jit_cli_http_do(const struct jit_cli_http *h, const char *method, const char *url,
                const char *bearer, const char *content_type, const char *body, size_t body_len,
                struct jit_cli_response *ret)
{
	const struct jit_http_options options = { .timeout_ms = h ? h->timeout_ms : 0,
		                                  .max_body = JIT_CLI_HTTP_MAX_BODY,
		                                  .ca_file = h ? h->ca_file : NULL,
		                                  .user_agent = "jitsudo-cli" };
	const struct jit_http_header accept = { "Accept", "application/json" };
	const struct jit_http_request req = { .method = method,
		                              .url = url,
		                              .headers = &accept,
		                              .header_count = 1,
		                              .bearer = bearer,
		                              .body = body,
		                              .body_len = body_len,
		                              .content_type = content_type };
	struct jit_http_client *client = NULL;
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;
	int64_t started = jit_now_monotonic_ns();
	int r;

	if (!h || !method || !url || !ret || h->timeout_ms <= 0)
		return JIT_ERR_INVALID;
	if (!url_is_http(url))
		return JIT_ERR_INVALID;
	if ((r = jit_http_client_new(&options, &client)) < 0)
		return r == JIT_ERR_INVALID ? r : -ENOMEM;
	r = jit_http_exchange(client, &req, &resp, &e);
	jit_http_client_free(client);
	if (r < 0) {
		switch (e.failure) {
		case JIT_HTTP_FAILURE_TOO_LARGE:
			if (h->debug)
				debug_line(method, url, 0, started, "body too large");
			return JIT_ERR_TOO_LARGE;
		case JIT_HTTP_FAILURE_NO_MEMORY:
			return -ENOMEM;
		case JIT_HTTP_FAILURE_TLS_UNTRUSTED:
			if (h->debug)
				debug_line(method, url, 0, started, e.cause);
			return JIT_CLI_HTTP_UNTRUSTED;
		case JIT_HTTP_FAILURE_INVALID:
			if (h->debug)
				debug_line(method, url, 0, started,
				           e.cause[0] ? e.cause : e.message);
			return JIT_ERR_INVALID;
		default:
			ret->failure = unreachable_failure(e.failure);
			ret->os_error = e.os_error;
			if (h->debug)
				debug_line(method, url, 0, started,
				           e.detail[0] ? e.detail : e.cause);
			return JIT_ERR_UNAVAILABLE;
		}
	}
	if (h->debug)
		debug_line(method, url, resp.status, started, NULL);
	ret->status = resp.status;
	ret->body = TAKE_PTR(resp.body);
	ret->len = resp.body_len;
	jit_http_response_done(&resp);
	return 0;
}

void
jit_cli_response_done(struct jit_cli_response *r)
{
	if (!r)
		return;
	if (r->body) {
		explicit_bzero(r->body, r->len);
		free(r->body);
	}
	r->body = NULL;
	r->len = 0;
	r->status = 0;
	r->failure = JIT_CLI_HTTP_FAILURE_NONE;
	r->os_error = 0;
}
