/* The REST API of seed 000 (/api/v1alpha1/, and /healthz, /readyz, /version and the built-in
 * issuer's discovery documents), as a surface of server/api/surface.h. It serves every
 * request no other surface claims, so unknown paths get its 404. */
#ifndef JIT_SERVER_API_REST_V1ALPHA1_H
#define JIT_SERVER_API_REST_V1ALPHA1_H

#include "server/api/surface.h"

extern const struct jit_api_surface jit_api_rest_v1alpha1;

#endif
