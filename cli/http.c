/* The CLI's one HTTP client over libcurl (see http.h): one bounded exchange per call, no
 * redirects, http and https only, the body capped at JIT_CLI_HTTP_MAX_BODY. Trusts nothing it
 * receives; the debug line names the method, the URL without its query, the status and the
 * time, never a header or a body. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "cli/http.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

struct body_sink {
	char *data;
	size_t len;
	size_t cap;
	bool too_large;
	bool no_memory;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void
curl_init_once(void)
{
	curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Grows the body as data arrives; returning less than asked makes libcurl abort the transfer. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body_sink *s = userdata;
	size_t n = size * nmemb;

	if (n > JIT_CLI_HTTP_MAX_BODY || s->len + n > JIT_CLI_HTTP_MAX_BODY) {
		s->too_large = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > JIT_CLI_HTTP_MAX_BODY + 1)
			cap = JIT_CLI_HTTP_MAX_BODY + 1;
		char *p = malloc(cap);
		if (!p) {
			s->no_memory = true;
			return 0;
		}
		if (s->data) {
			memcpy(p, s->data, s->len);
			explicit_bzero(s->data, s->cap);
			free(s->data);
		}
		s->data = p;
		s->cap = cap;
	}
	memcpy(s->data + s->len, data, n);
	s->len += n;
	s->data[s->len] = '\0';
	return n;
}

static void
body_sink_free(struct body_sink *s)
{
	if (s->data) {
		explicit_bzero(s->data, s->cap);
		free(s->data);
	}
	s->data = NULL;
	s->len = s->cap = 0;
}

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

/* What an exchange that got no answer ran into; os_error is connect()'s errno, when any. */
static enum jit_cli_http_failure
classify(CURLcode cr, long os_error)
{
	switch (cr) {
	case CURLE_COULDNT_CONNECT:
		return os_error == ECONNREFUSED ? JIT_CLI_HTTP_FAILURE_REFUSED
		                                : JIT_CLI_HTTP_FAILURE_CONNECT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return JIT_CLI_HTTP_FAILURE_RESOLVE;
	case CURLE_OPERATION_TIMEDOUT:
		return JIT_CLI_HTTP_FAILURE_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
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

static void
headers_free(struct curl_slist *l)
{
	/* The Authorization header holds the token: wipe every header before freeing. */
	for (struct curl_slist *p = l; p; p = p->next)
		if (p->data)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

int
jit_cli_http_do(const struct jit_cli_http *h, const char *method, const char *url,
                const char *bearer, const char *content_type, const char *body, size_t body_len,
                struct jit_cli_response *ret)
{
	struct body_sink sink = { 0 };
	struct curl_slist *headers = NULL, *l;
	CURL *c = NULL;
	char *auth = NULL;
	size_t auth_len = 0;
	char ctype[256];
	char curl_error[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode cr;
	int64_t started = jit_now_monotonic_ns();
	int r;

	if (!h || !method || !url || !ret || h->timeout_ms <= 0)
		return JIT_ERR_INVALID;
	if (!url_is_http(url))
		return JIT_ERR_INVALID;
	pthread_once(&curl_once, curl_init_once);
	if (!curl_ready)
		return -ENOMEM;

	c = curl_easy_init();
	if (!c) {
		r = -ENOMEM;
		goto out;
	}
	if (bearer) {
		auth_len = strlen("Authorization: Bearer ") + strlen(bearer) + 1;
		auth = malloc(auth_len);
		if (!auth) {
			r = -ENOMEM;
			goto out;
		}
		snprintf(auth, auth_len, "Authorization: Bearer %s", bearer);
		l = curl_slist_append(headers, auth);
		if (!l) {
			r = -ENOMEM;
			goto out;
		}
		headers = l;
	}
	if (body) {
		snprintf(ctype, sizeof ctype, "Content-Type: %s",
		         content_type ? content_type : "application/octet-stream");
		l = curl_slist_append(headers, ctype);
		if (!l) {
			r = -ENOMEM;
			goto out;
		}
		headers = l;
	}
	l = curl_slist_append(headers, "Accept: application/json");
	if (!l) {
		r = -ENOMEM;
		goto out;
	}
	headers = l;
	/* No "Expect: 100-continue" round trip: it only adds a wait. */
	l = curl_slist_append(headers, "Expect:");
	if (!l) {
		r = -ENOMEM;
		goto out;
	}
	headers = l;

	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "jitsudo-cli");
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)JIT_CLI_HTTP_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "POST") == 0) {
		/* A POST without a body still sends Content-Length: 0. */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}

	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		if (sink.too_large || cr == CURLE_FILESIZE_EXCEEDED) {
			r = JIT_ERR_TOO_LARGE;
			if (h->debug)
				debug_line(method, url, 0, started, "body too large");
		} else if (sink.no_memory || cr == CURLE_OUT_OF_MEMORY) {
			r = -ENOMEM;
		} else if (cr == CURLE_PEER_FAILED_VERIFICATION || cr == CURLE_SSL_CACERT_BADFILE ||
		           cr == CURLE_SSL_ISSUER_ERROR || cr == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
			r = JIT_CLI_HTTP_UNTRUSTED;
			if (h->debug)
				debug_line(method, url, 0, started, curl_easy_strerror(cr));
		} else if (cr == CURLE_UNSUPPORTED_PROTOCOL || cr == CURLE_URL_MALFORMAT) {
			r = JIT_ERR_INVALID;
			if (h->debug)
				debug_line(method, url, 0, started, curl_easy_strerror(cr));
		} else {
			long os_error = 0;
			r = JIT_ERR_UNAVAILABLE;
			curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_error);
			ret->failure = classify(cr, os_error);
			ret->os_error = (int)os_error;
			if (h->debug)
				debug_line(method, url, 0, started,
				           curl_error[0] ? curl_error : curl_easy_strerror(cr));
		}
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (h->debug)
		debug_line(method, url, status, started, NULL);
	if (!sink.data) {
		sink.data = calloc(1, 1);
		if (!sink.data) {
			r = -ENOMEM;
			goto out;
		}
		sink.cap = 1;
	}
	ret->status = status;
	ret->body = TAKE_PTR(sink.data);
	ret->len = sink.len;
	r = 0;
out:
	body_sink_free(&sink);
	headers_free(headers);
	if (auth) {
		explicit_bzero(auth, auth_len);
		free(auth);
	}
	if (c)
		curl_easy_cleanup(c);
	return r;
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
