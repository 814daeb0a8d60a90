/* The one HTTP client over libcurl (see http.h). Each exchange resets the handle and sets
 * every option again, so nothing of one exchange leaks into the next but the connections.
 * Peers are untrusted: the body and the header lines are capped while they arrive, nothing is
 * decompressed, and only http and https are spoken (redirects too, and never from https down
 * to http). Messages are built from the parsed URL's scheme, host, port and path alone. */
#include "lib/net/http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

#define METHOD_MAX 16
#define HEADER_LINE_MAX 16384 /* bytes of one request header line we build */

struct jit_http_client {
	CURL *easy;
	struct jit_http_options options; /* the strings point at the copies below */
	char *ca_file;
	char *client_cert;
	char *client_key;
	char *user_agent;
	char curl_error[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void
curl_init_once(void)
{
	curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int
jit_http_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_ready ? 0 : JIT_ERR_INTERNAL;
}

static void
wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

static void
wipe_free_string(char *s)
{
	if (s)
		wipe_free(s, strlen(s));
}

int
jit_http_failure_code(enum jit_http_failure failure)
{
	switch (failure) {
	case JIT_HTTP_FAILURE_NONE:
		return 0;
	case JIT_HTTP_FAILURE_INVALID:
		return JIT_ERR_INVALID;
	case JIT_HTTP_FAILURE_TIMEOUT:
		return JIT_ERR_TIMEOUT;
	case JIT_HTTP_FAILURE_TLS_UNTRUSTED:
		return JIT_ERR_UNAUTHENTICATED;
	case JIT_HTTP_FAILURE_TOO_LARGE:
		return JIT_ERR_TOO_LARGE;
	case JIT_HTTP_FAILURE_REDIRECTS:
		return JIT_ERR_PROTOCOL;
	case JIT_HTTP_FAILURE_NO_MEMORY:
		return -ENOMEM;
	case JIT_HTTP_FAILURE_RESOLVE:
	case JIT_HTTP_FAILURE_REFUSED:
	case JIT_HTTP_FAILURE_CONNECT:
	case JIT_HTTP_FAILURE_TLS_HANDSHAKE:
	case JIT_HTTP_FAILURE_BROKEN:
	default:
		return JIT_ERR_UNAVAILABLE;
	}
}

/* ---- the client ------------------------------------------------------------------------ */

static int
copy_option(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

void
jit_http_client_free(struct jit_http_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	free(c->ca_file);
	free(c->client_cert);
	free(c->client_key);
	free(c->user_agent);
	free(c);
}

int
jit_http_client_new(const struct jit_http_options *o, struct jit_http_client **ret)
{
	struct jit_http_client *c = NULL;
	int r;

	if (!o || !ret || o->timeout_ms <= 0 || o->connect_timeout_ms < 0 || o->max_redirects < 0)
		return JIT_ERR_INVALID;
	if ((r = jit_http_init()) < 0)
		return r;
	if (!(c = calloc(1, sizeof *c)))
		return -ENOMEM;
	c->options = *o;
	if ((r = copy_option(o->ca_file, &c->ca_file)) < 0 ||
	    (r = copy_option(o->client_cert, &c->client_cert)) < 0 ||
	    (r = copy_option(o->client_key, &c->client_key)) < 0 ||
	    (r = copy_option(o->user_agent, &c->user_agent)) < 0)
		goto fail;
	c->options.ca_file = c->ca_file;
	c->options.client_cert = c->client_cert;
	c->options.client_key = c->client_key;
	c->options.user_agent = c->user_agent;
	if (c->options.max_body == 0)
		c->options.max_body = JIT_HTTP_DEFAULT_MAX_BODY;
	if (c->options.max_redirects == 0)
		c->options.max_redirects = JIT_HTTP_DEFAULT_MAX_REDIRECTS;
	if (!(c->easy = curl_easy_init())) {
		r = JIT_ERR_INTERNAL;
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	jit_http_client_free(c);
	return r;
}

/* ---- what arrives ---------------------------------------------------------------------- */

struct body_sink {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	bool too_large;
	bool no_memory;
};

struct header_sink {
	struct jit_http_response_header *list;
	size_t count;
	size_t bytes; /* of every header line seen, over all responses of the exchange */
	bool too_large;
	bool no_memory;
};

/* Grows the body as data arrives; returning less than asked makes libcurl abort the transfer. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body_sink *s = userdata;
	size_t n = size * nmemb;

	if (n > s->max || s->len + n > s->max) {
		s->too_large = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		char *p = malloc(cap);
		if (!p) {
			s->no_memory = true;
			return 0;
		}
		if (s->data) {
			memcpy(p, s->data, s->len);
			wipe_free(s->data, s->cap);
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
headers_clear(struct jit_http_response_header *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		wipe_free_string(list[i].name);
		wipe_free_string(list[i].value);
	}
	free(list);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Keeps the header lines of the latest response: a status line starts a new list, so what a
 * 1xx or a followed redirect said is dropped. Lines that are not "name: value" are skipped. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct header_sink *s = userdata;
	size_t n = size * nmemb;

	s->bytes += n;
	if (n > JIT_HTTP_MAX_HEADER_BYTES || s->bytes > JIT_HTTP_MAX_HEADER_BYTES) {
		s->too_large = true;
		return 0;
	}
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		headers_clear(s->list, s->count);
		s->list = NULL;
		s->count = 0;
		return n;
	}
	const char *colon = memchr(data, ':', n);
	if (!colon || colon == data || is_blank(data[0]))
		return n;
	if (s->count == JIT_HTTP_MAX_HEADERS) {
		s->too_large = true;
		return 0;
	}
	size_t name_len = (size_t)(colon - data);
	const char *v = colon + 1, *end = data + n;
	while (v < end && is_blank(*v))
		v++;
	while (end > v && is_blank(end[-1]))
		end--;
	struct jit_http_response_header *grown = realloc(s->list, (s->count + 1) * sizeof *s->list);
	if (!grown) {
		s->no_memory = true;
		return 0;
	}
	s->list = grown;
	char *name = strndup(data, name_len), *value = strndup(v, (size_t)(end - v));
	if (!name || !value) {
		free(name);
		free(value);
		s->no_memory = true;
		return 0;
	}
	s->list[s->count++] = (struct jit_http_response_header){ name, value };
	return n;
}

const char *
jit_http_response_header(const struct jit_http_response *r, const char *name)
{
	if (!r || !name)
		return NULL;
	for (size_t i = r->header_count; i > 0; i--)
		if (strcasecmp(r->headers[i - 1].name, name) == 0)
			return r->headers[i - 1].value;
	return NULL;
}

void
jit_http_response_done(struct jit_http_response *r)
{
	if (!r)
		return;
	if (r->body)
		wipe_free(r->body, r->body_len);
	headers_clear(r->headers, r->header_count);
	*r = (struct jit_http_response){ 0 };
}

/* ---- what is sent ---------------------------------------------------------------------- */

static bool
is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
valid_token(const char *s, size_t max)
{
	size_t n = 0;
	if (!s || !*s)
		return false;
	for (; s[n]; n++)
		if (n >= max || !is_token_char(s[n]))
			return false;
	return true;
}

/* A header value may not end the line early: no CR, LF or NUL in what is sent. */
static bool
valid_header_value(const char *s)
{
	return s && strpbrk(s, "\r\n") == NULL;
}

/* Wipes every line before freeing the list: Authorization and X-Amz-Security-Token lines
 * hold credentials. */
static void
header_list_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		if (p->data)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* Appends "<name>: <value>" (or "<name>:" for an empty value, which libcurl reads as "do not
 * send its own"; "<name>;" sends an empty one). The line is built in a wiped buffer. */
static int
header_list_add(struct curl_slist **list, const char *name, const char *prefix, const char *value)
{
	size_t size = strlen(name) + 2 + strlen(prefix) + strlen(value) + 1;
	char *line;
	struct curl_slist *l;

	if (size > HEADER_LINE_MAX)
		return JIT_ERR_TOO_LARGE;
	if (!(line = malloc(size)))
		return -ENOMEM;
	if (!*prefix && !*value)
		snprintf(line, size, "%s;", name);
	else
		snprintf(line, size, "%s: %s%s", name, prefix, value);
	l = curl_slist_append(*list, line);
	wipe_free(line, size);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

static bool
method_is(const char *method, const char *want)
{
	return strcmp(method, want) == 0;
}

/* The parts of the URL a message may show. */
struct url_parts {
	char *scheme;
	char *host;
	char *port;
	char *path;
	char *query;
	char *user;
	char *password;
};

static void
url_parts_done(struct url_parts *u)
{
	curl_free(u->scheme);
	curl_free(u->host);
	curl_free(u->port);
	curl_free(u->path);
	if (u->query)
		explicit_bzero(u->query, strlen(u->query));
	curl_free(u->query);
	if (u->user)
		explicit_bzero(u->user, strlen(u->user));
	curl_free(u->user);
	if (u->password)
		explicit_bzero(u->password, strlen(u->password));
	curl_free(u->password);
	*u = (struct url_parts){ 0 };
}

static int
url_parse(const char *url, struct url_parts *ret)
{
	CURLU *u = curl_url();
	int r = JIT_ERR_INVALID;

	*ret = (struct url_parts){ 0 };
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &ret->scheme, 0) != CURLUE_OK ||
	    (strcmp(ret->scheme, "http") != 0 && strcmp(ret->scheme, "https") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &ret->host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &ret->path, 0) != CURLUE_OK)
		goto out;
	/* The rest is optional: absent parts stay NULL. */
	curl_url_get(u, CURLUPART_PORT, &ret->port, 0);
	curl_url_get(u, CURLUPART_QUERY, &ret->query, 0);
	curl_url_get(u, CURLUPART_USER, &ret->user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &ret->password, 0);
	r = 0;
out:
	curl_url_cleanup(u);
	if (r < 0)
		url_parts_done(ret);
	return r;
}

/* ---- failures -------------------------------------------------------------------------- */

static enum jit_http_failure
classify(CURLcode cr, long os_error)
{
	switch (cr) {
	case CURLE_COULDNT_CONNECT:
		return os_error == ECONNREFUSED ? JIT_HTTP_FAILURE_REFUSED
		                                : JIT_HTTP_FAILURE_CONNECT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return JIT_HTTP_FAILURE_RESOLVE;
	case CURLE_OPERATION_TIMEDOUT:
		return JIT_HTTP_FAILURE_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
		return JIT_HTTP_FAILURE_TLS_HANDSHAKE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return JIT_HTTP_FAILURE_TLS_UNTRUSTED;
	case CURLE_FILESIZE_EXCEEDED:
		return JIT_HTTP_FAILURE_TOO_LARGE;
	case CURLE_OUT_OF_MEMORY:
		return JIT_HTTP_FAILURE_NO_MEMORY;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return JIT_HTTP_FAILURE_INVALID;
	case CURLE_TOO_MANY_REDIRECTS:
		return JIT_HTTP_FAILURE_REDIRECTS;
	default:
		return JIT_HTTP_FAILURE_BROKEN;
	}
}

/* Does `text` hold `secret` (ignored when short enough to match by chance)? */
static bool
holds(const char *text, const char *secret)
{
	return secret && strlen(secret) >= 4 && strstr(text, secret) != NULL;
}

/* Fills ret_error for a failure: libcurl's detail unless it repeats something the request
 * kept private, and our message. Returns the failure's code. */
static int
fail(struct jit_http_error *e, enum jit_http_failure failure, CURLcode cr, long os_error,
     const char *curl_error, const struct jit_http_request *req, const struct url_parts *u,
     const struct jit_http_client *c, int timeout_ms, size_t body_bound)
{
	char what[160];

	if (!e)
		return jit_http_failure_code(failure);
	*e = (struct jit_http_error){ .failure = failure, .cause = "" };
	if (failure == JIT_HTTP_FAILURE_REFUSED || failure == JIT_HTTP_FAILURE_CONNECT)
		e->os_error = (int)os_error;
	if (cr != CURLE_OK)
		e->cause = curl_easy_strerror(cr);
	snprintf(e->detail, sizeof e->detail, "%s", curl_error && *curl_error ? curl_error : "");
	bool leaks = false;
	if (u)
		leaks = holds(e->detail, u->query) || holds(e->detail, u->user) ||
		        holds(e->detail, u->password);
	leaks = leaks || holds(e->detail, req->bearer);
	for (size_t i = 0; !leaks && req->headers && i < req->header_count; i++)
		leaks = holds(e->detail, req->headers[i].value);
	if (leaks)
		snprintf(e->detail, sizeof e->detail, "%s", e->cause);
	for (char *p = e->detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';

	switch (failure) {
	case JIT_HTTP_FAILURE_INVALID:
		snprintf(what, sizeof what, "not a valid request");
		break;
	case JIT_HTTP_FAILURE_RESOLVE:
		snprintf(what, sizeof what, "the host name does not resolve");
		break;
	case JIT_HTTP_FAILURE_REFUSED:
		snprintf(what, sizeof what, "the connection was refused");
		break;
	case JIT_HTTP_FAILURE_CONNECT:
		snprintf(what, sizeof what, "cannot connect: %s",
		         os_error > 0 ? strerror((int)os_error) : "no connection");
		break;
	case JIT_HTTP_FAILURE_TIMEOUT:
		snprintf(what, sizeof what, "no answer within %d ms", timeout_ms);
		break;
	case JIT_HTTP_FAILURE_TLS_HANDSHAKE:
		snprintf(what, sizeof what, "the TLS handshake failed");
		break;
	case JIT_HTTP_FAILURE_TLS_UNTRUSTED:
		snprintf(what, sizeof what, "the TLS certificate could not be verified%s",
		         c && c->options.ca_file ? " with the CA file" : "");
		break;
	case JIT_HTTP_FAILURE_TOO_LARGE:
		snprintf(what, sizeof what, "the answer is larger than %zu bytes", body_bound);
		break;
	case JIT_HTTP_FAILURE_REDIRECTS:
		snprintf(what, sizeof what, "more than %d redirects",
		         c ? c->options.max_redirects : 0);
		break;
	case JIT_HTTP_FAILURE_NO_MEMORY:
		snprintf(what, sizeof what, "out of memory");
		break;
	case JIT_HTTP_FAILURE_BROKEN:
	case JIT_HTTP_FAILURE_NONE:
	default:
		snprintf(what, sizeof what, "the exchange broke before an answer");
		break;
	}
	const char *method =
	        req->method && valid_token(req->method, METHOD_MAX) ? req->method : "request";
	if (u)
		snprintf(e->message, sizeof e->message, "%s %s://%s%s%s%s: %s%s%s%s", method,
		         u->scheme, u->host, u->port ? ":" : "", u->port ? u->port : "", u->path,
		         what, e->detail[0] ? " (" : "", e->detail, e->detail[0] ? ")" : "");
	else
		snprintf(e->message, sizeof e->message, "%s to a URL that is not http(s): %s",
		         method, what);
	return jit_http_failure_code(failure);
}

/* ---- one exchange ---------------------------------------------------------------------- */

static int
build_headers(const struct jit_http_request *req, struct curl_slist **ret)
{
	struct curl_slist *list = NULL;
	int r = 0;

	for (size_t i = 0; req->headers && i < req->header_count && r >= 0; i++) {
		const struct jit_http_header *h = &req->headers[i];
		if (!valid_token(h->name, 256) || !valid_header_value(h->value))
			r = JIT_ERR_INVALID;
		else
			r = header_list_add(&list, h->name, "", h->value);
	}
	if (r >= 0 && req->bearer)
		r = valid_header_value(req->bearer)
		            ? header_list_add(&list, "Authorization", "Bearer ", req->bearer)
		            : JIT_ERR_INVALID;
	if (r >= 0 && req->body)
		r = valid_header_value(req->content_type ? req->content_type : "")
		            ? header_list_add(&list, "Content-Type", "",
		                              req->content_type ? req->content_type
		                                                : "application/octet-stream")
		            : JIT_ERR_INVALID;
	/* No "Expect: 100-continue" round trip before a large body: it only adds a wait. */
	if (r >= 0) {
		struct curl_slist *l = curl_slist_append(list, "Expect:");
		if (l)
			list = l;
		else
			r = -ENOMEM;
	}
	if (r < 0) {
		header_list_free(list);
		return r;
	}
	*ret = list;
	return 0;
}

/* Sets the options of one exchange on a freshly reset handle. */
static bool
set_options(struct jit_http_client *c, const struct jit_http_request *req,
            const struct url_parts *u, struct curl_slist *headers, struct body_sink *body,
            struct header_sink *hdrs, int timeout_ms)
{
	CURL *h = c->easy;
	const struct jit_http_options *o = &c->options;
	int connect_ms = o->connect_timeout_ms > 0 && o->connect_timeout_ms < timeout_ms
	                         ? o->connect_timeout_ms
	                         : timeout_ms;
	bool https = strcmp(u->scheme, "https") == 0;
	bool ok = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_error) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_URL, req->url) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_WRITEDATA, body) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_HEADERDATA, hdrs) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body) ==
	                  CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	          curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	if (o->follow_redirects)
		ok = ok && curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)o->max_redirects) == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
		                      https ? "https" : "http,https") == CURLE_OK;
	else
		ok = ok && curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	if (o->user_agent)
		ok = ok && curl_easy_setopt(h, CURLOPT_USERAGENT, o->user_agent) == CURLE_OK;
	if (o->no_proxy)
		ok = ok && curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK;
	if (o->ca_file)
		ok = ok && curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file) == CURLE_OK;
	if (o->client_cert)
		ok = ok && curl_easy_setopt(h, CURLOPT_SSLCERT, o->client_cert) == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_SSLKEY,
		                      o->client_key ? o->client_key : o->client_cert) == CURLE_OK;

	/* The method: libcurl's own for GET, HEAD and POST (so a followed 303 becomes a GET),
	 * a custom one otherwise. POST, PUT and PATCH always send a Content-Length. */
	const char *m = req->method;
	bool sends_length = method_is(m, "POST") || method_is(m, "PUT") || method_is(m, "PATCH");
	if (req->body) {
		ok = ok && curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body) == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) ==
		             CURLE_OK;
	} else if (method_is(m, "GET")) {
		ok = ok && curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	} else if (method_is(m, "HEAD")) {
		ok = ok && curl_easy_setopt(h, CURLOPT_NOBODY, 1L) == CURLE_OK;
	} else if (sends_length) {
		ok = ok && curl_easy_setopt(h, CURLOPT_POSTFIELDS, "") == CURLE_OK &&
		     curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0) == CURLE_OK;
	}
	if (!method_is(m, "POST") && !(method_is(m, "GET") && !req->body) &&
	    !(method_is(m, "HEAD") && !req->body))
		ok = ok && curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m) == CURLE_OK;
	return ok;
}

int
jit_http_exchange(struct jit_http_client *c, const struct jit_http_request *req,
                  struct jit_http_response *ret, struct jit_http_error *ret_error)
{
	struct url_parts u = { 0 };
	struct body_sink body = { 0 };
	struct header_sink hdrs = { 0 };
	struct curl_slist *headers = NULL;
	long status = 0, os_error = 0;
	CURLcode cr;
	int timeout_ms, r;

	if (ret_error)
		*ret_error = (struct jit_http_error){ .cause = "" };
	if (!c || !req || !ret)
		return JIT_ERR_INVALID;
	*ret = (struct jit_http_response){ 0 };
	if (!req->url || !valid_token(req->method, METHOD_MAX))
		return fail(ret_error, JIT_HTTP_FAILURE_INVALID, CURLE_OK, 0, NULL, req, NULL, c, 0,
		            0);
	if ((r = url_parse(req->url, &u)) < 0)
		return fail(ret_error,
		            r == -ENOMEM ? JIT_HTTP_FAILURE_NO_MEMORY : JIT_HTTP_FAILURE_INVALID,
		            CURLE_OK, 0, NULL, req, NULL, c, 0, 0);
	timeout_ms = c->options.timeout_ms;
	if (req->deadline_ns) {
		int left = jit_deadline_remaining_ms(req->deadline_ns);
		if (left <= 0) {
			r = fail(ret_error, JIT_HTTP_FAILURE_TIMEOUT, CURLE_OK, 0, NULL, req, &u, c,
			         0, 0);
			goto out;
		}
		if (left < timeout_ms)
			timeout_ms = left;
	}
	if ((r = build_headers(req, &headers)) < 0) {
		r = fail(ret_error,
		         r == -ENOMEM ? JIT_HTTP_FAILURE_NO_MEMORY : JIT_HTTP_FAILURE_INVALID,
		         CURLE_OK, 0, NULL, req, &u, c, timeout_ms, 0);
		goto out;
	}
	body.max = c->options.max_body;
	curl_easy_reset(c->easy);
	c->curl_error[0] = '\0';
	if (!set_options(c, req, &u, headers, &body, &hdrs, timeout_ms)) {
		r = fail(ret_error, JIT_HTTP_FAILURE_INVALID, CURLE_OK, 0, NULL, req, &u, c,
		         timeout_ms, 0);
		goto out;
	}
	cr = curl_easy_perform(c->easy);
	/* The handle must not point at this call's header list or sinks once they are gone. */
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
	if (cr != CURLE_OK || body.too_large || hdrs.too_large || body.no_memory ||
	    hdrs.no_memory) {
		enum jit_http_failure f;
		curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &os_error);
		if (body.too_large || hdrs.too_large)
			f = JIT_HTTP_FAILURE_TOO_LARGE;
		else if (body.no_memory || hdrs.no_memory)
			f = JIT_HTTP_FAILURE_NO_MEMORY;
		else
			f = classify(cr, os_error);
		r = fail(ret_error, f, cr, os_error, c->curl_error, req, &u, c, timeout_ms,
		         hdrs.too_large ? JIT_HTTP_MAX_HEADER_BYTES : c->options.max_body);
		goto out;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!body.data) {
		if (!(body.data = calloc(1, 1))) {
			r = fail(ret_error, JIT_HTTP_FAILURE_NO_MEMORY, CURLE_OK, 0, NULL, req, &u,
			         c, timeout_ms, 0);
			goto out;
		}
		body.cap = 1;
	}
	ret->status = status;
	ret->body = TAKE_PTR(body.data);
	ret->body_len = body.len;
	ret->headers = TAKE_PTR(hdrs.list);
	ret->header_count = hdrs.count;
	hdrs.count = 0;
	r = 0;
out:
	if (body.data)
		wipe_free(body.data, body.cap);
	headers_clear(hdrs.list, hdrs.count);
	header_list_free(headers);
	url_parts_done(&u);
	return r;
}
