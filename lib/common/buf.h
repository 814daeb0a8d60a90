/* The one bounded buffer for building and parsing wire data: it grows up to a maximum fixed at
 * creation and never past it; reads go through a cursor and fail cleanly on short data. */
#ifndef JIT_BUF_H
#define JIT_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"

struct jit_buf {
	uint8_t *data;
	size_t length;   /* bytes written */
	size_t capacity; /* bytes allocated */
	size_t max;      /* bound on length */
	size_t cursor;   /* next byte to read */
};

/* An empty buffer that may hold up to `max` bytes. Allocates nothing yet. */
void jit_buf_init(struct jit_buf *b, size_t max);
/* A read-only view over `len` bytes owned by the caller (no copy; do not append). */
void jit_buf_init_view(struct jit_buf *b, const void *data, size_t len);
/* Wipes and releases the bytes; safe to call twice. */
void jit_buf_free(struct jit_buf *b);
JIT_DEFINE_CLEANUP(struct jit_buf *, jit_buf_free)

/* Appends; each returns 0, JIT_ERR_TOO_LARGE beyond the bound (nothing is written), or
 * -ENOMEM. Integers are big-endian. A string is a u32 length then the bytes. */
int jit_buf_put(struct jit_buf *b, const void *data, size_t len);
int jit_buf_put_u8(struct jit_buf *b, uint8_t v);
int jit_buf_put_u16(struct jit_buf *b, uint16_t v);
int jit_buf_put_u32(struct jit_buf *b, uint32_t v);
int jit_buf_put_string(struct jit_buf *b, const char *s);

/* Bytes not yet read. */
static inline size_t
jit_buf_remaining(const struct jit_buf *b)
{
	return b->length - b->cursor;
}

/* Reads at the cursor; each returns 0 and advances, or JIT_ERR_INVALID when too few bytes
 * remain (the cursor does not move). jit_buf_get_string returns a pointer into the buffer
 * (valid while it lives) to `*ret_len` bytes, which are NOT NUL-terminated, and refuses
 * strings longer than `max_len`. */
int jit_buf_get(struct jit_buf *b, void *out, size_t len);
int jit_buf_get_u8(struct jit_buf *b, uint8_t *ret);
int jit_buf_get_u16(struct jit_buf *b, uint16_t *ret);
int jit_buf_get_u32(struct jit_buf *b, uint32_t *ret);
int jit_buf_get_string(struct jit_buf *b, size_t max_len, const char **ret, size_t *ret_len);

#endif
