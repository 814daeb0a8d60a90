/* The HTTP listener of jitsudod on h2o: HTTP/1.1 and HTTP/2 (h2 over TLS with ALPN, h2c with
 * prior knowledge), HTTPS when a certificate is configured. One event loop per thread on one
 * listening socket, each with its own worker (store handle, evaluation context); writer and
 * reader threads for what a loop must not wait for. Request bodies are capped; responses are
 * wiped from memory after sending. */
#ifndef JIT_SERVER_HTTP_H
#define JIT_SERVER_HTTP_H

#include <signal.h>

#include "server/server.h"

/* Binds config->http_addr, starts `threads` serving threads and returns once all are
 * listening (so the caller can report readiness). Errors name the address. */
struct jit_http;
int jit_http_start(struct jit_server *server, int threads, struct jit_http **ret_http, char *error,
                   size_t error_size);
/* Asks the threads to stop, waits for them (in-flight requests finish) and frees. */
void jit_http_stop(struct jit_http *http);

#endif
