/* Test helpers for cli/login.c: unsigned JWTs, and a scripted OpenID Connect issuer on a
 * loopback port served by a thread (discovery, device authorization, token endpoint) that
 * records when and what it was asked. Header-only: each cli/tests/test_*.c is one program. */
#ifndef JIT_CLI_TEST_LOGIN_FAKE_H
#define JIT_CLI_TEST_LOGIN_FAKE_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline char *
fake_b64url(const char *data, size_t len)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *in = (const unsigned char *)data;
	char *out = malloc(len / 3 * 4 + 5);
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

/* "<header>.<payload>.<signature>" with a fixed header and a dummy signature: login.c only
 * reads the payload (jitsudod verifies signatures). */
static inline char *
fake_jwt(const char *payload_json)
{
	char *p = fake_b64url(payload_json, strlen(payload_json));
	size_t n = strlen(p) + 64;
	char *out = malloc(n);
	snprintf(out, n, "eyJhbGciOiJSUzI1NiJ9.%s.c2lnbmF0dXJl", p);
	free(p);
	return out;
}

static inline int64_t
fake_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define FAKE_MAX_SCRIPT 16

struct fake_answer {
	long status;
	const char *body;
};

struct fake_issuer {
	int fd;
	int port;
	char base[64];
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
	bool silent;        /* accept connections and never answer */
	const char *issuer; /* the issuer the discovery document names; NULL: base */
	int interval;       /* of the device authorization answer */
	int expires_in;     /* of the device authorization answer */
	long device_status; /* of the device authorization answer */
	struct fake_answer polls[FAKE_MAX_SCRIPT]; /* device-code answers; the last repeats */
	int npolls;
	struct fake_answer refresh; /* the refresh_token grant's answer */
	/* What happened. */
	int poll_count;
	int64_t poll_at_ns[64];
	int refresh_count;
	char last_refresh_body[8192];
	char last_device_body[1024];
};

static inline void
fake_reply(int c, long status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %ld X\r\nContent-Type: application/json\r\nContent-Length: "
	                 "%zu\r\nConnection: close\r\n\r\n",
	                 status, strlen(body));
	if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
		return;
}

static inline void
fake_serve(struct fake_issuer *f, int c)
{
	char req[32768] = "";
	size_t len = 0;
	char *end = NULL;
	while (len < sizeof req - 1 && !(end = strstr(req, "\r\n\r\n"))) {
		ssize_t n = read(c, req + len, sizeof req - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
	}
	if (!end)
		return;
	size_t content = 0;
	const char *cl = strcasestr(req, "\r\nContent-Length:");
	if (cl)
		content = strtoul(cl + 17, NULL, 10);
	size_t head = (size_t)(end + 4 - req);
	while (len < head + content && len < sizeof req - 1) {
		ssize_t n = read(c, req + len, sizeof req - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
	}
	const char *body = req + head;
	char out[4096];

	pthread_mutex_lock(&f->lock);
	if (f->silent) {
		pthread_mutex_unlock(&f->lock);
		usleep(800000);
		return;
	}
	if (strncmp(req, "GET /.well-known/openid-configuration ", 38) == 0) {
		snprintf(out, sizeof out,
		         "{\"issuer\":\"%s\",\"device_authorization_endpoint\":\"%s/device\","
		         "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\"}",
		         f->issuer ? f->issuer : f->base, f->base, f->base, f->base);
		fake_reply(c, 200, out);
	} else if (strncmp(req, "POST /device ", 13) == 0) {
		snprintf(f->last_device_body, sizeof f->last_device_body, "%s", body);
		if (f->device_status != 200) {
			fake_reply(c, f->device_status, "{\"error\":\"unauthorized_client\"}");
		} else {
			snprintf(out, sizeof out,
			         "{\"device_code\":\"dev-code-1\",\"user_code\":\"ABCD-EFGH\","
			         "\"verification_uri\":\"%s/verify\",\"verification_uri_complete\":"
			         "\"%s/verify?code=ABCD-EFGH\",\"expires_in\":%d,\"interval\":%d}",
			         f->base, f->base, f->expires_in, f->interval);
			fake_reply(c, 200, out);
		}
	} else if (strncmp(req, "POST /token ", 12) == 0 &&
	           strstr(body, "grant_type=refresh_token")) {
		snprintf(f->last_refresh_body, sizeof f->last_refresh_body, "%s", body);
		f->refresh_count++;
		fake_reply(c, f->refresh.status, f->refresh.body);
	} else if (strncmp(req, "POST /token ", 12) == 0 &&
	           strstr(body, "device_code=dev-code-1")) {
		int i = f->poll_count < f->npolls ? f->poll_count : f->npolls - 1;
		if (f->poll_count < 64)
			f->poll_at_ns[f->poll_count] = fake_now_ns();
		f->poll_count++;
		fake_reply(c, f->polls[i].status, f->polls[i].body);
	} else {
		fake_reply(c, 404, "{\"error\":\"not_found\"}");
	}
	pthread_mutex_unlock(&f->lock);
}

static inline void *
fake_main(void *arg)
{
	struct fake_issuer *f = arg;
	for (;;) {
		pthread_mutex_lock(&f->lock);
		bool stop = f->stop;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			return NULL;
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			continue;
		fake_serve(f, c);
		close(c);
	}
}

static inline struct fake_issuer *
fake_start(void)
{
	struct fake_issuer *f = calloc(1, sizeof *f);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(f->fd, 16) < 0 || getsockname(f->fd, (struct sockaddr *)&a, &alen) < 0)
		abort();
	f->port = ntohs(a.sin_port);
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
	f->interval = 1;
	f->expires_in = 600;
	f->device_status = 200;
	pthread_mutex_init(&f->lock, NULL);
	if (pthread_create(&f->thread, NULL, fake_main, f) != 0)
		abort();
	return f;
}

static inline void
fake_stop(struct fake_issuer *f)
{
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	close(f->fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

#endif
