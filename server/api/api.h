/* The API surfaces jitsudod serves, as the transport sees them: one table (api.c), a request
 * going to the first surface that serves it. Adding a surface (the tenant API, ...) is a file
 * beside rest_v1alpha1.c exporting a struct jit_api_surface, and its row in api.c's table. */
#ifndef JIT_SERVER_API_H
#define JIT_SERVER_API_H

#include "server/api/surface.h"

/* Where `request` runs (its surface's lane). */
enum jit_api_lane jit_api_lane(const struct jit_http_request *request);

/* Answers `request` with its surface. With an `inline_only` worker (an event loop's), a
 * request of another lane, or one that turns out to need the disk or the network, is not
 * run: response->defer is set and the caller hands the request to a thread of its lane, where
 * it runs from the start. */
void jit_api_handle(struct jit_worker *w, const struct jit_http_request *request,
                    struct jit_http_response *response);

#endif
