/* The table of API surfaces and the dispatch of a request to its surface. */
#include <string.h>

#include "server/api/api.h"
#include "lib/common/macro.h"
#include "server/api/rest_v1alpha1.h"

/* In order; the last row serves every request the others do not. */
static const struct jit_api_surface *const surfaces[] = {
	&jit_api_rest_v1alpha1,
};

static const struct jit_api_surface *
surface_of(const struct jit_http_request *request)
{
	for (size_t i = 0; i + 1 < JIT_ARRAY_SIZE(surfaces); i++)
		if (surfaces[i]->serves(request))
			return surfaces[i];
	return surfaces[JIT_ARRAY_SIZE(surfaces) - 1];
}

enum jit_api_lane
jit_api_lane(const struct jit_http_request *request)
{
	return surface_of(request)->lane(request);
}

void
jit_api_handle(struct jit_worker *w, const struct jit_http_request *request,
               struct jit_http_response *response)
{
	const struct jit_api_surface *surface = surface_of(request);
	memset(response, 0, sizeof(*response));
	w->wants_thread = false;
	if (w->inline_only && surface->lane(request) != JIT_LANE_INLINE) {
		response->defer = true;
		return;
	}
	surface->handle(w, request, response);
}
