/* jit_random_bytes: getrandom() until the buffer is full. There is deliberately no fallback
 * (no /dev/urandom, no time or pid seeding): a failure is returned to the caller. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "lib/common/random.h"

int
jit_random_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A zero-byte answer to a non-empty request would loop for ever. */
			int r = n < 0 ? -errno : -EIO;
			explicit_bzero(p, got);
			return r;
		}
		got += (size_t)n;
	}
	return 0;
}
