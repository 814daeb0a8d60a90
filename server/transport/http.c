/* h2o glue: accepts connections, turns each h2o request into a jit_http_request for the API
 * layer and sends its answer. Trusts h2o for HTTP framing only; everything about the
 * request's content is checked by api.c. Runs one event loop per thread. */
#define H2O_USE_LIBUV 0
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/api/api.h"
#include "server/transport/durable.h"
#include "server/transport/http.h"

#define MAX_THREADS 64
/* What an operation does decides where it runs (jit_api_lane), never its HTTP method. The
 * event loops answer only what reads one thing from the store; they never wait for a disk
 * sync, the network or a long scan.
 *
 * Writes run on writer threads so that an event loop never waits for a commit. A writer does
 * not wait for the disk sync either: it hands the answer of a change that is not durable yet
 * to the durable-answer queue (durable.h) and goes on with the next write; the queue waits
 * once for every change that reached it and only then releases their answers (an answer is
 * never sent before its change is on disk). A few writers are enough to keep one database
 * writer busy; more only queue on the write lock.
 *
 * Approvals and revocations wait for a provider (a cloud API may take seconds, up to the
 * provider pool's deadline, server/providers/pool.h) before their transaction. They run on
 * provider threads of their own, so that a slow cloud holds at most those threads and
 * creates, denials and credentials fetches keep their writers; their queue is shorter, as each
 * job may hold a thread for seconds, and a job that waited in it longer than
 * PROVIDER_QUEUE_WAIT_MS is answered 503 without running (changing nothing), so that an
 * approval's answer never waits for a queue of slow calls without bound. Their commits go
 * through the durable-answer queue as the writers' do.
 *
 * Scans (lists and audit queries, a policy check per item) run on reader threads, so that a
 * flood of them delays other scans, not health checks, single reads or writes. */
#define WRITER_THREADS 4
#define WRITER_QUEUE_MAX 4096
#define PROVIDER_THREADS 4
#define PROVIDER_QUEUE_MAX 256
#define PROVIDER_QUEUE_WAIT_MS 10000
#define READER_THREADS 2
#define READER_QUEUE_MAX 4096
#define POOL_THREADS_MAX 4

struct job {
	h2o_multithread_message_t message;
	struct http_thread *origin;
	h2o_req_t *req;    /* NULL once h2o disposed the request; touched on the loop only */
	int refs;          /* the request's pool and the pending answer; loop thread only */
	struct job *next;  /* in a pool's queue */
	int64_t queued_at; /* monotonic ns, when it entered the queue */
	struct jit_durable_entry durable; /* in the durable-answer queue */
	char *data;                       /* method, path, query, authorization and body, copied */
	struct jit_http_request request;
	struct jit_http_response response;
};

struct pool;

struct executor {
	struct pool *pool;
	pthread_t thread;
	struct jit_worker worker;
	bool started;
};

/* Threads taking jobs from one queue. */
struct pool {
	struct jit_http *http;
	const char *name;
	struct executor executors[POOL_THREADS_MAX];
	int size;
	size_t queue_max;    /* jobs waiting at most; submit_job refuses more */
	int64_t max_wait_ns; /* a job waiting longer is answered 503 unrun; 0: no bound */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	size_t length;
	bool stopping;
};

struct http_thread {
	struct jit_http *http;
	pthread_t thread;
	int fd;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	struct jit_worker worker;
	h2o_multithread_receiver_t receiver;
	int init_result;
	char init_error[256];
	bool started;
};

struct jit_http {
	struct jit_server *server;
	h2o_globalconf_t config;
	SSL_CTX *ssl;
	struct http_thread threads[MAX_THREADS];
	int thread_count;
	atomic_bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t ready_cond;
	int ready;

	struct pool writers, providers, readers;
	struct jit_durable *durable;
};

static __thread struct http_thread *current_thread;

/* Bodies are allocated with a length prefix so that dispose can wipe them. */
static void
wipe_body(void *p)
{
	size_t *len = p;
	explicit_bzero(len + 1, *len);
}

static h2o_iovec_t
header_value(h2o_req_t *req, const h2o_token_t *token)
{
	ssize_t i = h2o_find_header(&req->headers, token, -1);
	return i < 0 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
}

static void
set_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
	h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

/* The reason phrase RFC 9110 gives each status the API answers with. */
static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

static void
send_response(h2o_req_t *req, struct jit_http_response *response)
{
	const char *type = response->content_type ? response->content_type : "application/json";
	req->res.status = response->status;
	req->res.reason = reason_phrase(response->status);
	set_header(req, H2O_TOKEN_CONTENT_TYPE, type);
	set_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"),
	                      0, NULL, H2O_STRLIT("nosniff"));
	if (response->allow)
		set_header(req, H2O_TOKEN_ALLOW, response->allow);
	if (response->status == 401)
		set_header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Bearer");
	size_t len = response->body_len;
	size_t *block = h2o_mem_alloc_shared(&req->pool, sizeof(size_t) + len + 1, wipe_body);
	*block = len;
	char *body = (char *)(block + 1);
	if (len)
		memcpy(body, response->body, len);
	/* A JSON document ends its line, as text on a terminal should (the block has room). */
	if (strcmp(type, "application/json") == 0 && len && body[len - 1] != '\n')
		body[len++] = '\n';
	*block = len;
	jit_http_response_clear(response);
	req->res.content_length = len;
	static h2o_generator_t generator = { NULL, NULL };
	h2o_iovec_t iov = h2o_iovec_init(body, len);
	h2o_start_response(req, &generator);
	h2o_send(req, &iov, 1, H2O_SEND_STATE_FINAL);
}

static void
job_unref(struct job *job)
{
	if (--job->refs > 0)
		return;
	jit_http_response_clear(&job->response);
	if (job->data) {
		explicit_bzero(job->data, job->request.method_len + job->request.path_len +
		                                  job->request.query_len +
		                                  job->request.authorization_len +
		                                  job->request.body_len);
		free(job->data);
	}
	free(job);
}

/* The request's pool is being freed (answered, or the client went away). */
static void
job_request_gone(void *p)
{
	struct job *job = *(struct job **)p;
	job->req = NULL;
	job_unref(job);
}

/* Answers of executors, delivered on the loop that received the requests. */
static void
on_answers(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	/* h2o's lists are circular: a node without neighbours would be a broken list. */
	for (h2o_linklist_t *link = messages->next;
	     link && link != messages && link->next && link->prev; link = messages->next) {
		struct job *job = H2O_STRUCT_FROM_MEMBER(struct job, message.link, link);
		h2o_linklist_unlink(link);
		if (job->req)
			send_response(job->req, &job->response);
		job_unref(job);
	}
}

/* A 503 answer (unavailable) with `message`, a constant text without quotes. */
static void
answer_busy(struct jit_http_response *response, const char *message)
{
	jit_http_response_clear(response);
	response->status = 503;
	response->content_type = "application/json";
	if (asprintf(&response->body, "{\"code\":\"unavailable\",\"message\":\"%s\"}", message) < 0)
		response->body = NULL;
	response->body_len = response->body ? strlen(response->body) : 0;
}

/* The durable-answer queue released an answer: its change is durable, or it may be lost and
 * the answer becomes a 503 (it is not reported as done). Sent to the loop that received it. */
static void
answer_released(struct jit_durable_entry *entry, bool durable, void *data)
{
	struct job *job = H2O_STRUCT_FROM_MEMBER(struct job, durable, entry);
	if (!durable) {
		static const char unsynced[] =
		        "{\"code\":\"unavailable\",\"message\":\"the change could "
		        "not be written to disk and may be lost\"}";
		jit_http_response_clear(&job->response);
		job->response.status = 503;
		job->response.content_type = "application/json";
		job->response.body = strdup(unsynced);
		job->response.body_len = job->response.body ? strlen(unsynced) : 0;
	}
	h2o_multithread_send_message(&job->origin->receiver, &job->message);
}

static void *
executor_main(void *arg)
{
	struct executor *e = arg;
	struct pool *pool = e->pool;
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		while (!pool->head && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		struct job *job = pool->head;
		if (!job) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		pool->head = job->next;
		if (!pool->head)
			pool->tail = NULL;
		pool->length--;
		pthread_mutex_unlock(&pool->lock);
		if (pool->max_wait_ns &&
		    jit_now_monotonic_ns() - job->queued_at > pool->max_wait_ns) {
			answer_busy(&job->response,
			            "too many operations are waiting for a provider; "
			            "nothing was changed, try again");
			h2o_multithread_send_message(&job->origin->receiver, &job->message);
			continue;
		}
		jit_api_handle(&e->worker, &job->request, &job->response);
		if (!jit_durable_hold(pool->http->durable, e->worker.store, &job->durable))
			h2o_multithread_send_message(&job->origin->receiver, &job->message);
	}
}

/* Copies what the API layer needs out of h2o's request and queues it on `pool`. Returns false
 * when the queue is full (the caller answers 503). */
static bool
submit_job(struct pool *pool, struct http_thread *t, h2o_req_t *req,
           const struct jit_http_request *r)
{
	size_t total =
	        r->method_len + r->path_len + r->query_len + r->authorization_len + r->body_len;
	struct job *job = calloc(1, sizeof(*job));
	if (!job || !(job->data = malloc(total + 1))) {
		free(job);
		return false;
	}
	char *p = job->data;
	struct jit_http_request *c = &job->request;
	*c = *r;
#define COPY_FIELD(field, len)                       \
	do {                                         \
		if (r->field)                        \
			memcpy(p, r->field, r->len); \
		c->field = r->field ? p : NULL;      \
		p += r->len;                         \
	} while (0)
	COPY_FIELD(method, method_len);
	COPY_FIELD(path, path_len);
	COPY_FIELD(query, query_len);
	COPY_FIELD(authorization, authorization_len);
	COPY_FIELD(body, body_len);
#undef COPY_FIELD
	if (!c->body)
		c->body = "";
	job->origin = t;
	job->req = req;
	job->refs = 2;
	pthread_mutex_lock(&pool->lock);
	if (pool->length >= pool->queue_max) {
		pthread_mutex_unlock(&pool->lock);
		free(job->data);
		free(job);
		return false;
	}
	struct job **ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), job_request_gone);
	*ref = job;
	if (pool->tail)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pool->length++;
	job->queued_at = jit_now_monotonic_ns();
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return true;
}

/* What a pool is: its threads (1..POOL_THREADS_MAX), its queue's bound and longest wait, and
 * whether its changes' answers wait for durability (the durable-answer queue). */
struct pool_spec {
	const char *name;
	int threads;
	size_t queue_max;
	int64_t max_wait_ms; /* 0: no bound */
	bool deferred;
};

static const struct pool_spec writers_spec = { "writer", WRITER_THREADS, WRITER_QUEUE_MAX, 0,
	                                       true };
static const struct pool_spec providers_spec = { "provider", PROVIDER_THREADS, PROVIDER_QUEUE_MAX,
	                                         PROVIDER_QUEUE_WAIT_MS, true };
static const struct pool_spec readers_spec = { "reader", READER_THREADS, READER_QUEUE_MAX, 0,
	                                       false };

/* Starts the threads of `spec` taking jobs from the pool's queue.
 * `deferred`: answers of commits wait in the durable-answer queue (pools that write). */
static int
pool_start(struct pool *pool, struct jit_http *http, const struct pool_spec *spec, char *error,
           size_t error_size)
{
	pool->http = http;
	pool->name = spec->name;
	pool->queue_max = spec->queue_max;
	pool->max_wait_ns = spec->max_wait_ms * INT64_C(1000000);
	for (int i = 0; i < spec->threads; i++) {
		struct executor *e = &pool->executors[i];
		e->pool = pool;
		int r = jit_worker_init(&e->worker, http->server, error, error_size);
		if (r < 0)
			return r;
		if (spec->deferred)
			jit_durable_attach(http->durable, e->worker.store);
		if ((r = -pthread_create(&e->thread, NULL, executor_main, e)) < 0) {
			jit_worker_clear(&e->worker);
			snprintf(error, error_size, "starting a %s thread: %s", spec->name,
			         strerror(-r));
			return r;
		}
		e->started = true;
		pool->size = i + 1;
	}
	return 0;
}

/* Runs every queued job, then joins the threads. */
static void
pool_stop(struct pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->size; i++)
		if (pool->executors[i].started) {
			pthread_join(pool->executors[i].thread, NULL);
			jit_worker_clear(&pool->executors[i].worker);
			pool->executors[i].started = false;
		}
}

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct http_thread *t = current_thread;
	size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
	h2o_iovec_t auth = header_value(req, H2O_TOKEN_AUTHORIZATION);
	struct jit_http_request request = {
		.method = req->method.base,
		.method_len = req->method.len,
		.path = req->path.base,
		.path_len = path_len,
		.query = req->query_at != SIZE_MAX ? req->path.base + req->query_at + 1 : NULL,
		.query_len = req->query_at != SIZE_MAX ? req->path.len - req->query_at - 1 : 0,
		.authorization = auth.base,
		.authorization_len = auth.len,
		.body = req->entity.base ? req->entity.base : "",
		.body_len = req->entity.base ? req->entity.len : 0,
	};
	struct jit_http_response response = { 0 };
	struct pool *pool = NULL;
	switch (jit_api_lane(&request)) {
	case JIT_LANE_WRITE:
		pool = &t->http->writers;
		break;
	case JIT_LANE_PROVIDER:
		pool = &t->http->providers;
		break;
	case JIT_LANE_SCAN:
		pool = &t->http->readers;
		break;
	case JIT_LANE_INLINE:
		/* What turns out to need a write, a fetch or a host token moves to a writer. */
		jit_api_handle(&t->worker, &request, &response);
		if (response.defer)
			pool = &t->http->writers;
		break;
	}
	if (pool) {
		if (submit_job(pool, t, req, &request))
			return 0;
		answer_busy(&response, "server busy");
	}
	send_response(req, &response);
	return 0;
}

static void
on_accept(h2o_socket_t *listener, const char *err)
{
	struct http_thread *t = listener->data;
	if (err)
		return;
	h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
	if (sock)
		h2o_accept(&t->accept_ctx, sock);
}

static void
mark_ready(struct jit_http *http)
{
	pthread_mutex_lock(&http->lock);
	http->ready++;
	pthread_cond_broadcast(&http->ready_cond);
	pthread_mutex_unlock(&http->lock);
}

static void *
thread_main(void *arg)
{
	struct http_thread *t = arg;
	struct jit_http *http = t->http;
	current_thread = t;
	t->init_result =
	        jit_worker_init(&t->worker, http->server, t->init_error, sizeof(t->init_error));
	if (t->init_result < 0) {
		mark_ready(http);
		return NULL;
	}
	h2o_evloop_t *loop = h2o_evloop_create();
	h2o_context_init(&t->ctx, loop, &http->config);
	h2o_multithread_register_receiver(t->ctx.queue, &t->receiver, on_answers);
	t->accept_ctx.ctx = &t->ctx;
	t->accept_ctx.hosts = http->config.hosts;
	t->accept_ctx.ssl_ctx = http->ssl;
	h2o_socket_t *listener = h2o_evloop_socket_create(loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
	listener->data = t;
	h2o_socket_read_start(listener, on_accept);
	mark_ready(http);
	/* The loop's reads share one snapshot per round of events (see store.h); it never
	 * writes or waits (server/server.h). */
	t->worker.inline_only = true;
	while (!atomic_load(&http->stopping)) {
		jit_store_read_session_begin(t->worker.store);
		h2o_evloop_run(loop, 200);
		jit_store_read_session_end(t->worker.store);
	}
	h2o_socket_read_stop(listener);
	h2o_socket_close(listener);
	t->fd = -1;
	/* Connections still open (keep-alive clients) are not torn down one by one: h2o 2.2
	 * asserts when a context with live timers is disposed, and the process is ending. The
	 * store is closed properly so that SQLite checkpoints its WAL. */
	jit_worker_clear(&t->worker);
	return NULL;
}

static int
open_listener(const char *addr, char *error, size_t error_size)
{
	_cleanup_free_ char *host = NULL;
	uint16_t port = 0;
	int r = jit_config_split_addr(addr, &host, &port);
	if (r < 0) {
		snprintf(error, error_size, "http_addr \"%s\": not host:port", addr);
		return r;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		                  .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	if ((r = getaddrinfo(host, service, &hints, &ai)) != 0) {
		snprintf(error, error_size, "http_addr \"%s\": %s", addr, gai_strerror(r));
		return JIT_ERR_INVALID;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	/* No SO_REUSEPORT: a second server on the same address must fail, not share it. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		if (r == -EADDRINUSE)
			snprintf(error, error_size,
			         "listening on %s: the address is in use (is jitsudod already "
			         "running there?)",
			         addr);
		else
			snprintf(error, error_size, "listening on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);
	return fd;
}

static int
setup_tls(struct jit_http *http, char *error, size_t error_size)
{
	const struct jit_config *config = http->server->config;
	if (!config->tls_cert_file)
		return 0;
	SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
	if (!ssl)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ssl, config->tls_cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ssl, config->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ssl) != 1) {
		char why[160];
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		snprintf(error, error_size, "TLS certificate or key: %s", why);
		SSL_CTX_free(ssl);
		return JIT_ERR_INVALID;
	}
	h2o_ssl_register_alpn_protocols(ssl, h2o_http2_alpn_protocols);
	http->ssl = ssl;
	return 0;
}

int
jit_http_start(struct jit_server *server, int threads, struct jit_http **ret_http, char *error,
               size_t error_size)
{
	if (threads < 1 || threads > MAX_THREADS) {
		snprintf(error, error_size, "thread count must be 1..%d", MAX_THREADS);
		return JIT_ERR_INVALID;
	}
	struct jit_http *http = calloc(1, sizeof(*http));
	if (!http)
		return -ENOMEM;
	http->server = server;
	for (int i = 0; i < MAX_THREADS; i++)
		http->threads[i].fd = -1;
	pthread_mutex_init(&http->lock, NULL);
	pthread_cond_init(&http->ready_cond, NULL);
	h2o_config_init(&http->config);
	/* The Server header names the program, not the HTTP library and its version. */
	http->config.server_name = h2o_iovec_init(H2O_STRLIT("jitsudod"));
	/* Bodies up to 8 times the cap (at least 8 MiB) reach the API, which answers 413 in JSON
	 * after reading them, as HTTP clients expect; h2o refuses anything larger itself and
	 * closes the connection. */
	size_t entity_max = server->config->max_body_bytes * 8;
	http->config.max_request_entity_size = entity_max < (8u << 20) ? (8u << 20) : entity_max;
	h2o_hostconf_t *host = h2o_config_register_host(
	        &http->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
	h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
	handler->on_req = on_req;
	pthread_mutex_init(&http->writers.lock, NULL);
	pthread_cond_init(&http->writers.cond, NULL);
	pthread_mutex_init(&http->providers.lock, NULL);
	pthread_cond_init(&http->providers.cond, NULL);
	pthread_mutex_init(&http->readers.lock, NULL);
	pthread_cond_init(&http->readers.cond, NULL);
	int r = setup_tls(http, error, error_size);
	if (r < 0)
		goto fail;
	if ((r = jit_durable_start(server, answer_released, NULL, &http->durable, error,
	                           error_size)) < 0 ||
	    (r = pool_start(&http->writers, http, &writers_spec, error, error_size)) < 0 ||
	    (r = pool_start(&http->providers, http, &providers_spec, error, error_size)) < 0 ||
	    (r = pool_start(&http->readers, http, &readers_spec, error, error_size)) < 0)
		goto fail;
	/* One listening socket; each loop accepts on its own descriptor of it. */
	for (int i = 0; i < threads; i++) {
		struct http_thread *t = &http->threads[i];
		t->http = http;
		t->fd = i == 0 ? open_listener(server->config->http_addr, error, error_size)
		               : fcntl(http->threads[0].fd, F_DUPFD_CLOEXEC, 0);
		if (t->fd < 0) {
			r = i == 0 ? t->fd : -errno;
			if (i > 0)
				snprintf(error, error_size, "listening socket: %s", strerror(-r));
			goto fail;
		}
	}
	http->thread_count = threads;
	for (int i = 0; i < threads; i++) {
		struct http_thread *t = &http->threads[i];
		if ((r = -pthread_create(&t->thread, NULL, thread_main, t)) < 0) {
			snprintf(error, error_size, "starting a thread: %s", strerror(-r));
			goto fail;
		}
		t->started = true;
	}
	pthread_mutex_lock(&http->lock);
	while (http->ready < threads)
		pthread_cond_wait(&http->ready_cond, &http->lock);
	pthread_mutex_unlock(&http->lock);
	for (int i = 0; i < threads; i++)
		if (http->threads[i].init_result < 0) {
			r = http->threads[i].init_result;
			snprintf(error, error_size, "%s", http->threads[i].init_error);
			goto fail;
		}
	*ret_http = http;
	return 0;
fail:
	jit_http_stop(http);
	return r;
}

void
jit_http_stop(struct jit_http *http)
{
	if (!http)
		return;
	/* The provider threads first: their jobs take longest (a provider call each), and the
	 * writers and readers still serve while they finish. */
	pool_stop(&http->providers);
	pool_stop(&http->readers);
	pool_stop(&http->writers);
	/* After the executors: every answer they handed over is still released. */
	jit_durable_stop(http->durable);
	atomic_store(&http->stopping, true);
	for (int i = 0; i < MAX_THREADS; i++) {
		struct http_thread *t = &http->threads[i];
		if (t->started)
			pthread_join(t->thread, NULL);
		/* A thread that served closed its listener and set -1; the others did not. */
		if (t->fd >= 0)
			close(t->fd);
	}
	h2o_config_dispose(&http->config);
	if (http->ssl)
		SSL_CTX_free(http->ssl);
	pthread_mutex_destroy(&http->lock);
	pthread_cond_destroy(&http->ready_cond);
	pthread_mutex_destroy(&http->writers.lock);
	pthread_cond_destroy(&http->writers.cond);
	pthread_mutex_destroy(&http->providers.lock);
	pthread_cond_destroy(&http->providers.cond);
	pthread_mutex_destroy(&http->readers.lock);
	pthread_cond_destroy(&http->readers.cond);
	free(http);
}
