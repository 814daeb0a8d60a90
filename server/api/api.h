/* The REST API of seed 000, independent of the HTTP library: routes a request, authenticates
 * its caller (authn.h, the step every surface shares), parses and validates the body and
 * query strictly (400 names the field), calls the workflow, and writes the JSON answer or
 * {"code", "message"} error. The single place where JIT_ERR_* codes become HTTP statuses.
 * Runs on the worker's thread. */
#ifndef JIT_SERVER_API_H
#define JIT_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>

#include "server/server.h"

struct jit_http_request {
	const char *method;
	size_t method_len;
	const char *path; /* without the query */
	size_t path_len;
	const char *query; /* after '?', may be NULL */
	size_t query_len;
	const char *authorization; /* the header's value, or NULL */
	size_t authorization_len;
	const char *body;
	size_t body_len;
};

struct jit_http_response {
	int status;
	const char *content_type;
	char *body; /* malloc'd */
	size_t body_len;
	const char *allow; /* for 405: the methods allowed */
	bool defer;        /* nothing answered: run the request again on a worker thread */
};

/* Where an operation runs, decided by what it does, not by its HTTP method. */
enum jit_api_lane {
	JIT_LANE_INLINE, /* reads one thing from the store: on the event loop */
	JIT_LANE_SCAN,   /* reads many things with a policy check each: on a reader thread */
	JIT_LANE_WRITE,  /* changes the store: on a writer thread */
	/* May call a provider (approve, revoke): runs on a provider thread so that a slow cloud
	 * does not hold the writers. Its changes are answered once durable, as writes are. */
	JIT_LANE_PROVIDER,
};
enum jit_api_lane jit_api_lane(const struct jit_http_request *request);

/* Answers `request`. With an `inline_only` worker (an event loop's), a request of another
 * lane, or one that turns out to need the disk or the network (a write, a key fetch, a
 * single-use host token), is not run: response->defer is set and the caller hands the
 * request to a writer thread, where it runs from the start. */
void jit_api_handle(struct jit_worker *w, const struct jit_http_request *request,
                    struct jit_http_response *response);
void jit_http_response_clear(struct jit_http_response *response);

#endif
