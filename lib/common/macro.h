/* Small language helpers shared by every program: cleanup attributes for locals, ownership
 * transfer, array sizes. Header-only; trusts nothing and allocates nothing. */
#ifndef JIT_MACRO_H
#define JIT_MACRO_H

#include <stdlib.h>
#include <unistd.h>

#define JIT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define JIT_UNUSED __attribute__((unused))
#define JIT_NORETURN __attribute__((noreturn))
#define JIT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define JIT_LIKELY(x) __builtin_expect(!!(x), 1)
#define JIT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Moves ownership out of a cleanup-managed local: returns the pointer and leaves NULL behind. */
#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) _taken = (p); \
		(p) = NULL;                 \
		_taken;                     \
	})

/* Same for descriptors: returns the fd and leaves -1 behind. */
#define TAKE_FD(fd)                   \
	({                            \
		int _taken_fd = (fd); \
		(fd) = -1;            \
		_taken_fd;            \
	})

static inline void
jit_freep(void *p)
{
	free(*(void **)p);
}

static inline void
jit_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(jit_freep)
#define _cleanup_close_ _cleanup_(jit_closep)

/* Defines a `name##p` helper so `_cleanup_(name##p)` can run a destructor that accepts NULL. */
#define JIT_DEFINE_CLEANUP(type, func)      \
	static inline void func##p(type *p) \
	{                                   \
		func(*p);                   \
	}

#endif
