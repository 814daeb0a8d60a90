/* Bump allocator for values and syntax trees. Chunks grow geometrically; a reset keeps the
 * first chunk so a warm evaluation allocates nothing from malloc. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rego/arena.h"

struct rego_arena_chunk {
	struct rego_arena_chunk *next; /* older chunk */
	size_t size;                   /* usable bytes after the header */
	char data[];
};

#define ARENA_FIRST_CHUNK 8192u
#define ARENA_ALIGN 8u

void
rego_arena_init(struct rego_arena *arena, size_t limit)
{
	memset(arena, 0, sizeof(*arena));
	arena->limit = limit;
}

static int
arena_grow(struct rego_arena *arena, size_t n)
{
	size_t size = arena->head ? arena->head->size * 2 : ARENA_FIRST_CHUNK;
	while (size < n)
		size *= 2;
	if (size > (1u << 26) && n <= (1u << 26))
		size = 1u << 26;
	struct rego_arena_chunk *chunk = malloc(sizeof(*chunk) + size);
	if (!chunk)
		return -ENOMEM;
	chunk->next = arena->head;
	chunk->size = size;
	arena->head = chunk;
	arena->next = chunk->data;
	arena->end = chunk->data + size;
	return 0;
}

void *
rego_arena_alloc(struct rego_arena *arena, size_t n)
{
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	if (arena->limit && (arena->used + n > arena->limit || n > arena->limit))
		return NULL;
	if ((size_t)(arena->end - arena->next) < n) {
		if (arena_grow(arena, n) < 0)
			return NULL;
	}
	void *p = arena->next;
	arena->next += n;
	arena->used += n;
	return p;
}

void *
rego_arena_zalloc(struct rego_arena *arena, size_t n)
{
	void *p = rego_arena_alloc(arena, n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *
rego_arena_realloc(struct rego_arena *arena, void *p, size_t old_size, size_t new_size)
{
	size_t old_aligned = (old_size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	size_t new_aligned = (new_size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (p && (char *)p + old_aligned == arena->next &&
	    (size_t)(arena->end - (char *)p) >= new_aligned &&
	    (!arena->limit || arena->used - old_aligned + new_aligned <= arena->limit)) {
		arena->next = (char *)p + new_aligned;
		arena->used = arena->used - old_aligned + new_aligned;
		return p;
	}
	void *q = rego_arena_alloc(arena, new_size);
	if (q && p && old_size)
		memcpy(q, p, old_size < new_size ? old_size : new_size);
	return q;
}

char *
rego_arena_strndup(struct rego_arena *arena, const char *s, size_t n)
{
	char *p = rego_arena_alloc(arena, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
rego_arena_reset(struct rego_arena *arena)
{
	struct rego_arena_chunk *chunk = arena->head;
	if (!chunk)
		return;
	/* Keep the largest (newest) chunk: the next evaluation of the same size fits in it. */
	struct rego_arena_chunk *older = chunk->next;
	while (older) {
		struct rego_arena_chunk *next = older->next;
		free(older);
		older = next;
	}
	chunk->next = NULL;
	arena->next = chunk->data;
	arena->end = chunk->data + chunk->size;
	arena->used = 0;
}

void
rego_arena_free(struct rego_arena *arena)
{
	struct rego_arena_chunk *chunk = arena->head;
	while (chunk) {
		struct rego_arena_chunk *next = chunk->next;
		free(chunk);
		chunk = next;
	}
	arena->head = NULL;
	arena->next = arena->end = NULL;
	arena->used = 0;
}
