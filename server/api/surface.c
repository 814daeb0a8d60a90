/* The answer's memory, shared by every surface and the transport. */
#include <stdlib.h>
#include <string.h>

#include "server/api/surface.h"

void
jit_http_response_clear(struct jit_http_response *response)
{
	if (response->body) {
		explicit_bzero(response->body, response->body_len);
		free(response->body);
	}
	response->body = NULL;
	response->body_len = 0;
}
