/* Descriptions of the project's error codes (negative errno or JIT_ERR_*), and the one
 * error-message type's formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"

const char *
jit_strerror(int error)
{
	switch (error) {
	case 0:
		return "success";
	case JIT_ERR_INVALID:
		return "invalid input";
	case JIT_ERR_TOO_LARGE:
		return "input too large";
	case JIT_ERR_NOT_FOUND:
		return "not found";
	case JIT_ERR_CONFLICT:
		return "conflicting state";
	case JIT_ERR_DENIED:
		return "denied";
	case JIT_ERR_TIMEOUT:
		return "timed out";
	case JIT_ERR_PROTOCOL:
		return "protocol error";
	case JIT_ERR_UNAVAILABLE:
		return "unavailable";
	case JIT_ERR_INTERNAL:
		return "internal error";
	case JIT_ERR_LIMIT:
		return "limit exceeded";
	case JIT_ERR_UNAUTHENTICATED:
		return "not authenticated";
	case JIT_ERR_UPSTREAM:
		return "an upstream service failed";
	case JIT_ERR_WOULD_BLOCK:
		return "would have to wait";
	default:
		break;
	}
	if (error < 0 && error > -4096)
		return strerror(-error);
	return "unknown error";
}

void
jit_error_format(struct jit_error *error, int code, const char *fmt, ...)
{
	if (!error)
		return;
	va_list ap;
	va_start(ap, fmt);
	error->code = code;
	vsnprintf(error->message, sizeof(error->message), fmt, ap);
	va_end(ap);
}
