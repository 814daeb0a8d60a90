/* lib/net's HTTP client against a loopback server run on a thread of this test: deadlines on a
 * silent server, the body and header caps, redirects taken only when asked, TLS verified with
 * a throwaway CA made here with OpenSSL, connection refused, connection reuse, what is sent,
 * and error text that never repeats a query, a credential, a header or a body. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/common/buf.h"
#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "lib/net/http.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define REQUEST_MAX 65536

/* ---- the loopback server --------------------------------------------------------------- */

enum behaviour {
	ANSWER, /* answers every request (see respond) */
	SILENT, /* reads the request and never answers */
};

struct server {
	int listen_fd;
	int port;
	enum behaviour behaviour;
	SSL_CTX *tls; /* NULL: plain HTTP */
	pthread_t thread;
	atomic_bool stop;
	atomic_int connections;
	atomic_int requests;
	pthread_mutex_t lock;
	char last_request[REQUEST_MAX + 1]; /* under lock */
};

struct conn {
	int fd;
	SSL *ssl;
};

static ssize_t
conn_read(struct conn *c, char *buf, size_t size)
{
	if (c->ssl) {
		int n = SSL_read(c->ssl, buf, (int)size);
		return n > 0 ? n : -1;
	}
	return recv(c->fd, buf, size, 0);
}

static void
conn_write(struct conn *c, const char *data, size_t len)
{
	if (c->ssl) {
		SSL_write(c->ssl, data, (int)len);
		return;
	}
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Waits for the descriptor to be readable, checking the stop flag every 20 ms. */
static bool
wait_readable(struct server *s, int fd)
{
	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 20);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
	return false;
}

/* The canned answer for a request's path. */
static void
respond(struct server *s, struct conn *c, const char *path)
{
	char big[4096];
	const char *plain = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
	                    "Retry-After: 7\r\nX-Amz-Request-Id: abc\r\n\r\nok";

	if (strncmp(path, "/redirect", 9) == 0) {
		const char *r =
		        "HTTP/1.1 302 Found\r\nLocation: /target\r\nContent-Length: 0\r\n\r\n";
		conn_write(c, r, strlen(r));
	} else if (strncmp(path, "/loop", 5) == 0) {
		const char *r =
		        "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n";
		conn_write(c, r, strlen(r));
	} else if (strncmp(path, "/target", 7) == 0) {
		const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\ntarget";
		conn_write(c, r, strlen(r));
	} else if (strncmp(path, "/big", 4) == 0) {
		/* 20000 bytes announced and sent. */
		const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n";
		conn_write(c, h, strlen(h));
		memset(big, 'x', sizeof big);
		for (size_t sent = 0; sent < 20000; sent += 4000)
			conn_write(c, big, 4000);
	} else if (strncmp(path, "/chunked", 8) == 0) {
		/* No length announced: the cap must stop it while it arrives. */
		const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
		conn_write(c, h, strlen(h));
		memset(big, 'y', sizeof big);
		for (int i = 0; i < 5; i++) {
			conn_write(c, "fa0\r\n", 5);
			conn_write(c, big, 4000);
			conn_write(c, "\r\n", 2);
		}
		conn_write(c, "0\r\n\r\n", 5);
	} else if (strncmp(path, "/headers", 8) == 0) {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
		conn_write(c, h, strlen(h));
		memset(big, 'z', sizeof big);
		for (int i = 0; i < 40; i++) {
			char line[64];
			int n = snprintf(line, sizeof line, "X-Filler-%d: ", i);
			conn_write(c, line, (size_t)n);
			conn_write(c, big, 2000);
			conn_write(c, "\r\n", 2);
		}
		conn_write(c, "\r\n", 2);
	} else {
		conn_write(c, plain, strlen(plain));
	}
	(void)s;
}

/* Reads requests on one connection and answers each, until the peer closes or stop. */
static void
serve_connection(struct server *s, struct conn *c)
{
	char buf[REQUEST_MAX + 1];
	size_t len = 0;

	for (;;) {
		if (!c->ssl || SSL_pending(c->ssl) == 0)
			if (!wait_readable(s, c->fd))
				return;
		ssize_t n = conn_read(c, buf + len, REQUEST_MAX - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		if (buf[0] < 'A' || buf[0] > 'Z') { /* not HTTP (a TLS hello, say) */
			const char *bad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
			                  "Connection: close\r\n\r\n";
			conn_write(c, bad, strlen(bad));
			return;
		}
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		size_t head = (size_t)(end + 4 - buf), body = 0;
		const char *cl = strcasestr(buf, "\r\nContent-Length:");
		if (cl && cl < end)
			body = strtoul(cl + 17, NULL, 10);
		if (len < head + body)
			continue;
		pthread_mutex_lock(&s->lock);
		memcpy(s->last_request, buf, head + body);
		s->last_request[head + body] = '\0';
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_add(&s->requests, 1);
		if (s->behaviour == SILENT) {
			while (wait_readable(s, c->fd))
				if (conn_read(c, buf, REQUEST_MAX) <= 0)
					return;
			return;
		}
		char path[256] = "";
		sscanf(buf, "%*s %255s", path);
		respond(s, c, path);
		memmove(buf, buf + head + body, len - head - body);
		len -= head + body;
	}
}

static void *
server_main(void *arg)
{
	struct server *s = arg;
	while (wait_readable(s, s->listen_fd)) {
		struct conn c = { .fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC) };
		if (c.fd < 0)
			continue;
		atomic_fetch_add(&s->connections, 1);
		if (s->tls) {
			c.ssl = SSL_new(s->tls);
			SSL_set_fd(c.ssl, c.fd);
			if (SSL_accept(c.ssl) != 1) {
				SSL_free(c.ssl);
				close(c.fd);
				continue;
			}
		}
		serve_connection(s, &c);
		if (c.ssl) {
			SSL_shutdown(c.ssl);
			SSL_free(c.ssl);
		}
		close(c.fd);
	}
	return NULL;
}

static int
listen_loopback(int *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

static struct server *
server_start(enum behaviour behaviour, SSL_CTX *tls)
{
	struct server *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->behaviour = behaviour;
	s->tls = tls;
	pthread_mutex_init(&s->lock, NULL);
	s->listen_fd = listen_loopback(&s->port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void
server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void
url_of(const struct server *s, const char *scheme, const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "%s://127.0.0.1:%d%s", scheme, s->port, path);
}

static struct jit_http_client *
client(int timeout_ms, size_t max_body, bool follow)
{
	struct jit_http_options o = { .timeout_ms = timeout_ms,
		                      .max_body = max_body,
		                      .follow_redirects = follow,
		                      .no_proxy = true,
		                      .user_agent = "jitsudo-test" };
	struct jit_http_client *c = NULL;
	assert_int_equal(jit_http_client_new(&o, &c), 0);
	return c;
}

/* ---- plain HTTP -------------------------------------------------------------------------- */

static void
test_answer_headers_and_reuse(UNUSED_STATE)
{
	struct server *s = server_start(ANSWER, NULL);
	struct jit_http_client *c = client(5000, 0, false);
	char url[128];
	url_of(s, "http", "/hello", url, sizeof url);
	const struct jit_http_header headers[] = { { "X-Amz-Date", "20260101T000000Z" },
		                                   { "X-Amz-Target", "Svc.Call" } };
	const char *json = "{\"a\":1}";
	struct jit_http_request req = { .method = "POST",
		                        .url = url,
		                        .headers = headers,
		                        .header_count = 2,
		                        .bearer = "tok123",
		                        .body = json,
		                        .body_len = strlen(json),
		                        .content_type = "application/json" };
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;

	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body_len, 2);
	assert_string_equal(resp.body, "ok");
	assert_string_equal(jit_http_response_header(&resp, "retry-after"), "7");
	assert_string_equal(jit_http_response_header(&resp, "Content-Type"), "text/plain");
	assert_string_equal(jit_http_response_header(&resp, "X-AMZ-REQUEST-ID"), "abc");
	assert_null(jit_http_response_header(&resp, "Location"));
	pthread_mutex_lock(&s->lock);
	assert_non_null(strstr(s->last_request, "POST /hello HTTP/1.1\r\n"));
	assert_non_null(strstr(s->last_request, "\r\nX-Amz-Date: 20260101T000000Z\r\n"));
	assert_non_null(strstr(s->last_request, "\r\nX-Amz-Target: Svc.Call\r\n"));
	assert_non_null(strstr(s->last_request, "\r\nAuthorization: Bearer tok123\r\n"));
	assert_non_null(strstr(s->last_request, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(s->last_request, "\r\nUser-Agent: jitsudo-test\r\n"));
	assert_null(strcasestr(s->last_request, "Expect:"));
	assert_non_null(strstr(s->last_request, "\r\n\r\n{\"a\":1}"));
	pthread_mutex_unlock(&s->lock);
	jit_http_response_done(&resp);

	/* Further exchanges (a GET, a PUT and a DELETE without a body) reuse the connection. */
	const char *methods[] = { "GET", "PUT", "DELETE" };
	for (size_t i = 0; i < 3; i++) {
		req = (struct jit_http_request){ .method = methods[i], .url = url };
		assert_int_equal(jit_http_exchange(c, &req, &resp, &e), 0);
		assert_int_equal(resp.status, 200);
		pthread_mutex_lock(&s->lock);
		char line[64];
		snprintf(line, sizeof line, "%s /hello HTTP/1.1\r\n", methods[i]);
		assert_non_null(strstr(s->last_request, line));
		assert_null(strstr(s->last_request, "Authorization"));
		if (i == 1)
			assert_non_null(strstr(s->last_request, "Content-Length: 0\r\n"));
		pthread_mutex_unlock(&s->lock);
		jit_http_response_done(&resp);
	}
	assert_int_equal(atomic_load(&s->requests), 4);
	assert_int_equal(atomic_load(&s->connections), 1);
	jit_http_response_done(&resp); /* twice is fine */
	jit_http_client_free(c);
	server_stop(s);
}

static void
test_deadline_on_silent_server(UNUSED_STATE)
{
	struct server *s = server_start(SILENT, NULL);
	struct jit_http_client *c = client(300, 0, false);
	char url[128];
	url_of(s, "http", "/slow", url, sizeof url);
	struct jit_http_request req = { .method = "GET", .url = url };
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;

	int64_t start = jit_now_monotonic_ns();
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_TIMEOUT);
	int64_t took_ms = (jit_now_monotonic_ns() - start) / 1000000;
	assert_true(took_ms >= 250 && took_ms < 3000);
	assert_int_equal(e.failure, JIT_HTTP_FAILURE_TIMEOUT);
	assert_non_null(strstr(e.message, "no answer within 300 ms"));
	assert_null(resp.body);

	/* An absolute deadline shorter than the timeout wins. */
	jit_http_client_free(c);
	c = client(20000, 0, false);
	req.deadline_ns = jit_deadline_after_ms(200);
	start = jit_now_monotonic_ns();
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_TIMEOUT);
	took_ms = (jit_now_monotonic_ns() - start) / 1000000;
	assert_true(took_ms >= 150 && took_ms < 3000);
	/* One already passed: nothing is sent. */
	int before = atomic_load(&s->requests);
	req.deadline_ns = jit_now_monotonic_ns() - 1;
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_TIMEOUT);
	assert_int_equal(e.failure, JIT_HTTP_FAILURE_TIMEOUT);
	usleep(100 * 1000);
	assert_int_equal(atomic_load(&s->requests), before);
	jit_http_client_free(c);
	server_stop(s);
}

static void
test_size_caps(UNUSED_STATE)
{
	struct server *s = server_start(ANSWER, NULL);
	struct jit_http_client *c = client(5000, 10000, false);
	const char *paths[] = { "/big", "/chunked", "/headers" };
	char url[128];
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;

	for (size_t i = 0; i < 3; i++) {
		url_of(s, "http", paths[i], url, sizeof url);
		struct jit_http_request req = { .method = "GET", .url = url };
		assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_TOO_LARGE);
		assert_int_equal(e.failure, JIT_HTTP_FAILURE_TOO_LARGE);
		assert_non_null(strstr(e.message, "larger than"));
		assert_null(resp.body);
	}
	/* The same bodies fit a larger cap. */
	jit_http_client_free(c);
	c = client(5000, 20000, false);
	for (size_t i = 0; i < 2; i++) {
		url_of(s, "http", paths[i], url, sizeof url);
		struct jit_http_request req = { .method = "GET", .url = url };
		assert_int_equal(jit_http_exchange(c, &req, &resp, &e), 0);
		assert_int_equal(resp.body_len, 20000);
		jit_http_response_done(&resp);
	}
	jit_http_client_free(c);
	server_stop(s);
}

static void
test_redirects_only_when_asked(UNUSED_STATE)
{
	struct server *s = server_start(ANSWER, NULL);
	struct jit_http_client *c = client(5000, 0, false);
	char url[128];
	url_of(s, "http", "/redirect", url, sizeof url);
	struct jit_http_request req = { .method = "GET", .url = url };
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;

	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), 0);
	assert_int_equal(resp.status, 302);
	assert_string_equal(jit_http_response_header(&resp, "location"), "/target");
	assert_int_equal(atomic_load(&s->requests), 1);
	jit_http_response_done(&resp);
	jit_http_client_free(c);

	c = client(5000, 0, true);
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "target");
	/* Only the last response's headers are kept. */
	assert_null(jit_http_response_header(&resp, "location"));
	assert_int_equal(atomic_load(&s->requests), 3);
	jit_http_response_done(&resp);

	url_of(s, "http", "/loop", url, sizeof url);
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_PROTOCOL);
	assert_int_equal(e.failure, JIT_HTTP_FAILURE_REDIRECTS);
	jit_http_client_free(c);
	server_stop(s);
}

static void
test_connection_refused(UNUSED_STATE)
{
	int port, fd = listen_loopback(&port);
	close(fd); /* nothing listens there now */
	struct jit_http_client *c = client(5000, 0, false);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/x", port);
	struct jit_http_request req = { .method = "GET", .url = url };
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;

	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_UNAVAILABLE);
	assert_int_equal(e.failure, JIT_HTTP_FAILURE_REFUSED);
	assert_int_equal(e.os_error, ECONNREFUSED);
	char want[128];
	snprintf(want, sizeof want, "GET http://127.0.0.1:%d/api/x: the connection was refused",
	         port);
	assert_non_null(strstr(e.message, want));
	assert_true(e.cause[0] != '\0');
	jit_http_client_free(c);
}

static void
test_errors_keep_secrets(UNUSED_STATE)
{
	struct server *silent = server_start(SILENT, NULL);
	struct server *answering = server_start(ANSWER, NULL);
	int refused_port, fd = listen_loopback(&refused_port);
	close(fd);
	int ports[] = { refused_port, silent->port, answering->port };
	const char *paths[] = { "/p/refused", "/p/silent", "/big" };
	struct jit_http_client *c = client(300, 100, false);
	const struct jit_http_header headers[] = { { "X-Amz-Security-Token", "SECRETheader" } };

	for (size_t i = 0; i < 3; i++) {
		char url[256];
		snprintf(
		        url, sizeof url,
		        "http://someone:SECRETpassword@127.0.0.1:%d%s?token=SECRETquery#SECRETfrag",
		        ports[i], paths[i]);
		struct jit_http_request req = { .method = "POST",
			                        .url = url,
			                        .headers = headers,
			                        .header_count = 1,
			                        .bearer = "SECRETbearer",
			                        .body = "SECRETbody",
			                        .body_len = 10 };
		struct jit_http_response resp = { 0 };
		struct jit_http_error e;
		assert_true(jit_http_exchange(c, &req, &resp, &e) < 0);
		assert_int_not_equal(e.failure, JIT_HTTP_FAILURE_NONE);
		assert_non_null(strstr(e.message, "127.0.0.1"));
		assert_non_null(strstr(e.message, paths[i]));
		assert_null(strstr(e.message, "SECRET"));
		assert_null(strstr(e.detail, "SECRET"));
		assert_null(strstr(e.message, "someone"));
		assert_null(strchr(e.message, '?'));
	}
	jit_http_client_free(c);
	server_stop(silent);
	server_stop(answering);
}

static void
test_invalid_requests(UNUSED_STATE)
{
	struct jit_http_client *c = client(1000, 0, false);
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;
	const struct jit_http_header crlf[] = { { "X-A", "b\r\nInjected: yes" } };
	const struct jit_http_header bad_name[] = { { "X A", "b" } };
	struct jit_http_request reqs[] = {
		{ .method = "GET", .url = "ftp://127.0.0.1/x?SECRET" },
		{ .method = "GET", .url = "file:///etc/passwd" },
		{ .method = "GET", .url = "not a url" },
		{ .method = "GE T", .url = "http://127.0.0.1:1/" },
		{ .method = "GET",
		  .url = "http://127.0.0.1:1/",
		  .headers = crlf,
		  .header_count = 1 },
		{ .method = "GET",
		  .url = "http://127.0.0.1:1/",
		  .headers = bad_name,
		  .header_count = 1 },
		{ .method = "GET", .url = "http://127.0.0.1:1/", .bearer = "a\nb" },
	};
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		assert_int_equal(jit_http_exchange(c, &reqs[i], &resp, &e), JIT_ERR_INVALID);
		assert_int_equal(e.failure, JIT_HTTP_FAILURE_INVALID);
		assert_null(strstr(e.message, "SECRET"));
	}
	struct jit_http_options o = { .timeout_ms = 0 };
	struct jit_http_client *none = NULL;
	assert_int_equal(jit_http_client_new(&o, &none), JIT_ERR_INVALID);
	assert_null(none);
	jit_http_client_free(NULL);
	jit_http_client_free(c);
}

/* ---- TLS ----------------------------------------------------------------------------------- */

struct pki {
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *leaf_key;
	X509 *leaf;
	char ca_file[64];
	char other_ca_file[64]; /* a CA that did not sign the leaf */
};

static void
add_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(subject, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for `key` named `cn`, signed by issuer/issuer_key (itself when NULL). */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long serial)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	if (issuer) {
		add_ext(issuer, x, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(issuer, x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
		add_ext(issuer, x, NID_ext_key_usage, "serverAuth");
	} else {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, x, NID_subject_key_identifier, "hash");
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void
write_pem(X509 *x, char *path_template)
{
	int fd = mkstemp(path_template);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

static void
pki_make(struct pki *p)
{
	memset(p, 0, sizeof *p);
	p->ca_key = EVP_EC_gen("P-256");
	p->leaf_key = EVP_EC_gen("P-256");
	EVP_PKEY *other_key = EVP_EC_gen("P-256");
	assert_non_null(p->ca_key);
	assert_non_null(p->leaf_key);
	assert_non_null(other_key);
	p->ca = make_cert(p->ca_key, "jitsudo test CA", NULL, NULL, 1);
	p->leaf = make_cert(p->leaf_key, "127.0.0.1", p->ca, p->ca_key, 2);
	X509 *other = make_cert(other_key, "another test CA", NULL, NULL, 3);
	snprintf(p->ca_file, sizeof p->ca_file, "/tmp/jitsudo-test-net-ca-XXXXXX");
	snprintf(p->other_ca_file, sizeof p->other_ca_file, "/tmp/jitsudo-test-net-ca-XXXXXX");
	write_pem(p->ca, p->ca_file);
	write_pem(other, p->other_ca_file);
	X509_free(other);
	EVP_PKEY_free(other_key);
}

static void
pki_free(struct pki *p)
{
	unlink(p->ca_file);
	unlink(p->other_ca_file);
	X509_free(p->ca);
	X509_free(p->leaf);
	EVP_PKEY_free(p->ca_key);
	EVP_PKEY_free(p->leaf_key);
}

static SSL_CTX *
server_tls(const struct pki *p)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, p->leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, p->leaf_key), 1);
	return ctx;
}

static struct jit_http_client *
tls_client(const char *ca_file)
{
	struct jit_http_options o = { .timeout_ms = 5000, .ca_file = ca_file, .no_proxy = true };
	struct jit_http_client *c = NULL;
	assert_int_equal(jit_http_client_new(&o, &c), 0);
	return c;
}

static void
test_tls_with_ca_file(UNUSED_STATE)
{
	struct pki p;
	pki_make(&p);
	SSL_CTX *ctx = server_tls(&p);
	struct server *s = server_start(ANSWER, ctx);
	char url[128];
	url_of(s, "https", "/hello", url, sizeof url);
	struct jit_http_request req = { .method = "GET", .url = url };
	struct jit_http_response resp = { 0 };
	struct jit_http_error e;

	/* The CA file vouches for the server. */
	struct jit_http_client *c = tls_client(p.ca_file);
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "ok");
	jit_http_response_done(&resp);
	jit_http_client_free(c);

	/* Another CA, or the system's, do not. */
	const char *untrusting[] = { p.other_ca_file, NULL };
	for (size_t i = 0; i < 2; i++) {
		c = tls_client(untrusting[i]);
		assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_UNAUTHENTICATED);
		assert_int_equal(e.failure, JIT_HTTP_FAILURE_TLS_UNTRUSTED);
		assert_non_null(strstr(e.message, "could not be verified"));
		assert_non_null(strstr(e.message, "/hello"));
		assert_null(resp.body);
		jit_http_client_free(c);
	}
	/* A CA file that cannot be read is no trust either. */
	c = tls_client("/nonexistent/ca.pem");
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_UNAUTHENTICATED);
	jit_http_client_free(c);
	server_stop(s);

	/* https to a server that speaks plain HTTP: the handshake fails, nothing verified. */
	s = server_start(ANSWER, NULL);
	url_of(s, "https", "/hello", url, sizeof url);
	c = tls_client(p.ca_file);
	assert_int_equal(jit_http_exchange(c, &req, &resp, &e), JIT_ERR_UNAVAILABLE);
	assert_int_equal(e.failure, JIT_HTTP_FAILURE_TLS_HANDSHAKE);
	jit_http_client_free(c);
	server_stop(s);
	SSL_CTX_free(ctx);
	pki_free(&p);
}

static void
test_failure_codes(UNUSED_STATE)
{
	assert_int_equal(jit_http_failure_code(JIT_HTTP_FAILURE_NONE), 0);
	assert_int_equal(jit_http_failure_code(JIT_HTTP_FAILURE_TIMEOUT), JIT_ERR_TIMEOUT);
	assert_int_equal(jit_http_failure_code(JIT_HTTP_FAILURE_REFUSED), JIT_ERR_UNAVAILABLE);
	assert_int_equal(jit_http_failure_code(JIT_HTTP_FAILURE_TLS_UNTRUSTED),
	                 JIT_ERR_UNAUTHENTICATED);
	assert_int_equal(jit_http_failure_code(JIT_HTTP_FAILURE_TOO_LARGE), JIT_ERR_TOO_LARGE);
	assert_int_equal(jit_http_failure_code(JIT_HTTP_FAILURE_NO_MEMORY), -ENOMEM);
}

static void
test_form_encoding(UNUSED_STATE)
{
	struct jit_buf b;
	jit_buf_init(&b, 64);
	assert_int_equal(jit_http_form_add(&b, "grant_type", "device_code"), 0);
	assert_int_equal(jit_http_form_add(&b, "a b&c", "x=y/z~-._+\xc3\xa9"), 0);
	assert_int_equal(jit_buf_put(&b, "", 1), 0);
	assert_string_equal((const char *)b.data,
	                    "grant_type=device_code&a%20b%26c=x%3Dy%2Fz~-._%2B%C3%A9");
	jit_buf_free(&b);

	/* Past the bound: an error, never a silently cut value. */
	jit_buf_init(&b, 16);
	assert_int_equal(jit_http_form_add(&b, "k", "0123456789"), 0);
	assert_int_equal(jit_http_form_add(&b, "token", "0123456789"), JIT_ERR_TOO_LARGE);
	jit_buf_free(&b);
}

int
main(void)
{
	/* The server's TLS writes go through write(): a client that hung up must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_headers_and_reuse),
		cmocka_unit_test(test_deadline_on_silent_server),
		cmocka_unit_test(test_size_caps),
		cmocka_unit_test(test_redirects_only_when_asked),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_errors_keep_secrets),
		cmocka_unit_test(test_invalid_requests),
		cmocka_unit_test(test_tls_with_ca_file),
		cmocka_unit_test(test_failure_codes),
		cmocka_unit_test(test_form_encoding),
	};
	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
