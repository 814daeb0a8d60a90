/* Bump allocator: memory is handed out from chunks and released all at once by reset or free.
 * Not thread-safe; one arena per evaluation or per compiled policy. */
#ifndef JIT_REGO_ARENA_H
#define JIT_REGO_ARENA_H

#include <stddef.h>

struct rego_arena_chunk;

struct rego_arena {
	struct rego_arena_chunk *head; /* chunk being filled */
	char *next, *end;
	size_t used;  /* bytes handed out since the last reset */
	size_t limit; /* 0 = unlimited; otherwise allocation fails beyond this many bytes */
};

/* Initialises an empty arena; allocates nothing until first use. */
void rego_arena_init(struct rego_arena *arena, size_t limit);
/* Returns 8-byte aligned memory or NULL (out of memory or over the limit). Never zeroed. */
void *rego_arena_alloc(struct rego_arena *arena, size_t n);
void *rego_arena_zalloc(struct rego_arena *arena, size_t n);
/* Returns a new buffer of `new_size` holding the first `old_size` bytes of `p` (which must come
 * from this arena); grows in place when `p` was the last allocation. */
void *rego_arena_realloc(struct rego_arena *arena, void *p, size_t old_size, size_t new_size);
char *rego_arena_strndup(struct rego_arena *arena, const char *s, size_t n);
/* Releases everything but the first chunk, which is kept for reuse. */
void rego_arena_reset(struct rego_arena *arena);
/* Releases everything. Safe to call twice. */
void rego_arena_free(struct rego_arena *arena);

#endif
