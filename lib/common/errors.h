/* The project's one error convention: fallible functions return 0 on success and a negative
 * errno or a negative JIT_ERR_* on failure. Programs translate these into PAM, HTTP or exit
 * codes in exactly one place each. */
#ifndef JIT_ERRORS_H
#define JIT_ERRORS_H

#include <errno.h>

enum {
	JIT_ERR_BASE = 1000,
	JIT_ERR_INVALID = -(JIT_ERR_BASE + 1),   /* malformed input */
	JIT_ERR_TOO_LARGE = -(JIT_ERR_BASE + 2), /* input over its bound */
	JIT_ERR_NOT_FOUND = -(JIT_ERR_BASE + 3),
	JIT_ERR_CONFLICT = -(JIT_ERR_BASE + 4), /* illegal state change or duplicate */
	JIT_ERR_DENIED = -(JIT_ERR_BASE + 5),   /* a policy or a rule refused */
	JIT_ERR_TIMEOUT = -(JIT_ERR_BASE + 6),  /* a deadline passed */
	JIT_ERR_PROTOCOL = -(JIT_ERR_BASE + 7), /* a peer spoke out of turn */
	JIT_ERR_UNAVAILABLE = -(JIT_ERR_BASE + 8),
	JIT_ERR_INTERNAL = -(JIT_ERR_BASE + 9),
	JIT_ERR_LIMIT = -(JIT_ERR_BASE + 10),           /* an evaluation budget was exhausted */
	JIT_ERR_UNAUTHENTICATED = -(JIT_ERR_BASE + 11), /* no or a bad credential */
	JIT_ERR_UPSTREAM = -(JIT_ERR_BASE + 12),        /* a provider or peer failed */
	JIT_ERR_WOULD_BLOCK = -(JIT_ERR_BASE + 13),     /* must wait (disk, network): not here */
	JIT_ERR_LAST = -(JIT_ERR_BASE + 14),
};

/* The negative errno a failed libc call left, or `fallback` (negative) when it left none:
 * never 0, so a caller testing `< 0` always sees the failure. */
static inline int
jit_errno_or(int fallback)
{
	int r = -errno;
	return r < 0 ? r : fallback;
}

/* Returns a static, human-readable description of a negative error code (errno or JIT_ERR_*).
 * Never returns NULL. */
const char *jit_strerror(int error);

/* A failure as its caller reports it: the negative code and a one-line message for a person,
 * which names what failed and never holds a secret. The one error-message type of the
 * project. */
#define JIT_ERROR_MESSAGE_MAX 512
struct jit_error {
	int code;
	char message[JIT_ERROR_MESSAGE_MAX];
};

/* Sets error (when not NULL) to `code` and the formatted message, cut to fit. */
void jit_error_format(struct jit_error *error, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* jit_error_set(error, code, fmt, ...): jit_error_format, and evaluates to `code` (evaluated
 * once), for `return jit_error_set(...)`. A macro, so that a reader of the caller alone
 * (clang's analyzer among them) sees which code comes back. */
#define jit_error_set(error, code, ...)                              \
	({                                                           \
		int _error_code = (code);                            \
		jit_error_format((error), _error_code, __VA_ARGS__); \
		_error_code;                                         \
	})

#endif
