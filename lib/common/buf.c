/* Bounded buffer: appends never exceed the maximum given at creation, reads never pass the
 * end. Memory is wiped before it is released, as buffers may carry credentials. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/buf.h"
#include "lib/common/errors.h"

void
jit_buf_init(struct jit_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
jit_buf_init_view(struct jit_buf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->data = (uint8_t *)data;
	b->length = len;
	b->max = len;
	b->capacity = 0; /* not owned */
}

void
jit_buf_free(struct jit_buf *b)
{
	if (!b)
		return;
	if (b->data && b->capacity) {
		explicit_bzero(b->data, b->capacity);
		free(b->data);
	}
	b->data = NULL;
	b->length = b->capacity = b->cursor = 0;
}

int
jit_buf_put(struct jit_buf *b, const void *data, size_t len)
{
	if (len > b->max || b->length > b->max - len)
		return JIT_ERR_TOO_LARGE;
	if (b->length && !b->capacity)
		return JIT_ERR_INVALID; /* a view */
	if (b->length + len > b->capacity) {
		size_t cap = b->capacity ? b->capacity : 64;
		while (cap < b->length + len)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		uint8_t *p = malloc(cap);
		if (!p)
			return -ENOMEM;
		if (b->data) {
			memcpy(p, b->data, b->length);
			explicit_bzero(b->data, b->capacity);
			free(b->data);
		}
		b->data = p;
		b->capacity = cap;
	}
	if (len)
		memcpy(b->data + b->length, data, len);
	b->length += len;
	return 0;
}

int
jit_buf_put_u8(struct jit_buf *b, uint8_t v)
{
	return jit_buf_put(b, &v, 1);
}

int
jit_buf_put_u16(struct jit_buf *b, uint16_t v)
{
	uint8_t be[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	return jit_buf_put(b, be, 2);
}

int
jit_buf_put_u32(struct jit_buf *b, uint32_t v)
{
	uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return jit_buf_put(b, be, 4);
}

int
jit_buf_put_string(struct jit_buf *b, const char *s)
{
	size_t n = strlen(s);
	if (n > UINT32_MAX || n + 4 > b->max || b->length > b->max - n - 4)
		return JIT_ERR_TOO_LARGE;
	int r = jit_buf_put_u32(b, (uint32_t)n);
	return r < 0 ? r : jit_buf_put(b, s, n);
}

int
jit_buf_get(struct jit_buf *b, void *out, size_t len)
{
	if (jit_buf_remaining(b) < len)
		return JIT_ERR_INVALID;
	if (len)
		memcpy(out, b->data + b->cursor, len);
	b->cursor += len;
	return 0;
}

int
jit_buf_get_u8(struct jit_buf *b, uint8_t *ret)
{
	return jit_buf_get(b, ret, 1);
}

int
jit_buf_get_u16(struct jit_buf *b, uint16_t *ret)
{
	uint8_t be[2];
	int r = jit_buf_get(b, be, 2);
	if (r == 0)
		*ret = (uint16_t)(be[0] << 8 | be[1]);
	return r;
}

int
jit_buf_get_u32(struct jit_buf *b, uint32_t *ret)
{
	uint8_t be[4];
	int r = jit_buf_get(b, be, 4);
	if (r == 0)
		*ret = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3];
	return r;
}

int
jit_buf_get_string(struct jit_buf *b, size_t max_len, const char **ret, size_t *ret_len)
{
	size_t start = b->cursor;
	uint32_t n;
	int r = jit_buf_get_u32(b, &n);
	if (r < 0)
		return r;
	if (n > max_len || jit_buf_remaining(b) < n) {
		b->cursor = start;
		return JIT_ERR_INVALID;
	}
	*ret = (const char *)b->data + b->cursor;
	*ret_len = n;
	b->cursor += n;
	return 0;
}
