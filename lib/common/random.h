/* Random bytes for keys, nonces, ids and tokens, from the kernel's getrandom() and nothing
 * else: if the kernel cannot give them, the caller gets an error, never weaker bytes. Needs
 * libc alone (the PAM module links it). */
#ifndef JIT_RANDOM_H
#define JIT_RANDOM_H

#include <stddef.h>

/* Fills all `len` bytes of `buf` with random bytes. Blocks only until the kernel's random
 * generator is initialised (early boot); retries calls a signal interrupted and reads that
 * came back short. Returns 0, or a negative errno (-ENOSYS without getrandom, -EFAULT for a
 * bad buffer, -EIO if the kernel returns nothing); on failure the bytes already written are
 * wiped and the buffer must not be used. */
int jit_random_bytes(void *buf, size_t len);

#endif
