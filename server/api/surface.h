/* What an API surface is to the transport: the request as the wire gave it, the answer it
 * fills in, where each of its operations runs (its lane), and the table row a surface
 * exports (server/api/api.c lists the rows). Independent of the HTTP library. A surface
 * routes, authenticates its callers through server/api/authn.h, parses and bounds its input,
 * calls the workflow and turns JIT_ERR_* codes into its own statuses in one place. */
#ifndef JIT_SERVER_API_SURFACE_H
#define JIT_SERVER_API_SURFACE_H

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

/* Wipes and frees the body (answers may hold credentials). */
void jit_http_response_clear(struct jit_http_response *response);

/* Where an operation runs, decided by what it does, not by its HTTP method. */
enum jit_api_lane {
	JIT_LANE_INLINE, /* reads one thing from the store: on the event loop */
	JIT_LANE_SCAN,   /* reads many things with a policy check each: on a reader thread */
	JIT_LANE_WRITE,  /* changes the store: on a writer thread */
	/* May call a provider (approve, revoke): runs on a provider thread so that a slow cloud
	 * does not hold the writers. Its changes are answered once durable, as writes are. */
	JIT_LANE_PROVIDER,
};

/* One API surface. `serves` says whether a request is its (by path; NULL: every request,
 * for the last row only); `lane` where a request of it runs; `handle` answers it on the
 * worker's thread. With an `inline_only` worker (an event loop's) `handle` is called only
 * for INLINE requests, and one that turns out to need the disk or the network (a write, a key
 * fetch, a single-use host token) sets response->defer and changes nothing, to be run again
 * from the start on a thread. */
struct jit_api_surface {
	const char *name;
	bool (*serves)(const struct jit_http_request *request);
	enum jit_api_lane (*lane)(const struct jit_http_request *request);
	void (*handle)(struct jit_worker *w, const struct jit_http_request *request,
	               struct jit_http_response *response);
};

#endif
