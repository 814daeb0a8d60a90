/* Secret buffers: wiped with explicit_bzero before release; compared in constant time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/secret.h"

int
jit_secret_new(const void *data, size_t len, struct jit_secret **ret)
{
	if (len > JIT_SECRET_MAX)
		return JIT_ERR_TOO_LARGE;
	struct jit_secret *s = malloc(sizeof(*s) + len + 1);
	if (!s)
		return -ENOMEM;
	s->length = len;
	if (len)
		memcpy(s->bytes, data, len);
	s->bytes[len] = '\0';
	*ret = s;
	return 0;
}

int
jit_secret_copy(const struct jit_secret *s, struct jit_secret **ret)
{
	if (!s)
		return JIT_ERR_INVALID;
	return jit_secret_new(s->bytes, s->length, ret);
}

void
jit_secret_free(struct jit_secret *s)
{
	if (!s)
		return;
	explicit_bzero(s->bytes, s->length + 1);
	explicit_bzero(&s->length, sizeof(s->length));
	free(s);
}

bool
jit_secret_equal(const struct jit_secret *a, const void *data, size_t len)
{
	if (!a || a->length != len)
		return false;
	const unsigned char *b = data;
	unsigned char diff = 0;
	for (size_t i = 0; i < len; i++)
		diff |= a->bytes[i] ^ b[i];
	return diff == 0;
}
