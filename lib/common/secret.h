/* Secrets have a type: bytes that are wiped when freed and never formatted. Use it for keys,
 * tokens and credentials; log request ids, not these. */
#ifndef JIT_SECRET_H
#define JIT_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/common/macro.h"

struct jit_secret {
	size_t length;
	unsigned char bytes[]; /* followed by a NUL, so text secrets can be used as strings */
};

/* Copies `len` bytes into a new secret. Returns 0 and sets *ret, JIT_ERR_TOO_LARGE over
 * `JIT_SECRET_MAX`, or -ENOMEM. */
#define JIT_SECRET_MAX (1024 * 1024)
int jit_secret_new(const void *data, size_t len, struct jit_secret **ret);
/* Copies `s` into a new secret the caller frees. Returns 0 and sets *ret, JIT_ERR_INVALID for
 * a NULL `s`, or -ENOMEM. */
int jit_secret_copy(const struct jit_secret *s, struct jit_secret **ret);
/* Wipes and frees; accepts NULL. */
void jit_secret_free(struct jit_secret *s);
JIT_DEFINE_CLEANUP(struct jit_secret *, jit_secret_free)
#define _cleanup_secret_ _cleanup_(jit_secret_freep)

/* Compares in time that depends on the lengths only. */
bool jit_secret_equal(const struct jit_secret *a, const void *data, size_t len);

#endif
