/* Rego values: null, boolean, number, string, array, object and set, immutable once built and
 * allocated in an arena (all values of one evaluation die together when its arena is reset).
 * Objects and sets are kept sorted in Rego's total order, so lookup is a binary search and
 * comparison is a merge. Trusts nothing about JSON it converts; every size is bounded by the
 * caller's arena. */
#ifndef JIT_REGO_VALUE_H
#define JIT_REGO_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/rego/arena.h"

/* In Rego's total order: null < boolean < number < string < array < object < set. */
enum rego_type {
	REGO_NULL = 0,
	REGO_BOOLEAN,
	REGO_NUMBER,
	REGO_STRING,
	REGO_ARRAY,
	REGO_OBJECT,
	REGO_SET,
};

enum rego_number_kind {
	REGO_NUM_INT = 0, /* u.integer holds the exact value */
	REGO_NUM_FLOAT,   /* u.real holds the value; never an integral value that fits int64 */
	REGO_NUM_BIG,     /* u.big holds the canonical decimal text of an integer outside int64 */
};

struct rego_value;

struct rego_member {
	const struct rego_value *key;
	const struct rego_value *value;
};

struct rego_value {
	uint8_t type;        /* enum rego_type */
	uint8_t number_kind; /* enum rego_number_kind, numbers only */
	uint32_t length;     /* string: bytes (not counting the NUL); array/object/set: members */
	union {
		bool boolean;
		int64_t integer;
		double real;
		const char *big;                   /* "-123..." canonical: no '+', no leading 0 */
		const char *string;                /* NUL-terminated UTF-8 (may contain NULs) */
		const struct rego_value **items;   /* array in order; set sorted, unique */
		const struct rego_member *members; /* object, sorted by key, unique keys */
	} u;
};

/* Longest string, array, object or set a value may hold. */
#define REGO_VALUE_MAX_LENGTH (64u * 1024u * 1024u)

/* Statically allocated singletons; never freed. */
extern const struct rego_value rego_null_value;
extern const struct rego_value rego_true_value;
extern const struct rego_value rego_false_value;
extern const struct rego_value rego_empty_string;
extern const struct rego_value rego_empty_array;
extern const struct rego_value rego_empty_object;
extern const struct rego_value rego_empty_set;

static inline const struct rego_value *
rego_bool(bool b)
{
	return b ? &rego_true_value : &rego_false_value;
}

/* Constructors. Each allocates in `arena` and returns NULL only when the arena is out of memory
 * or the length is over REGO_VALUE_MAX_LENGTH. Small integers are shared static values. */
const struct rego_value *rego_int(struct rego_arena *arena, int64_t i);
/* A double; integral values that fit int64 become REGO_NUM_INT. NaN and infinities are refused
 * (NULL), as Rego has no such numbers. */
const struct rego_value *rego_float(struct rego_arena *arena, double d);
/* Parses a JSON/Rego number literal ("12", "-1.5e3", "28857836529306024611913"). Returns NULL on
 * malformed text. */
const struct rego_value *rego_number_parse(struct rego_arena *arena, const char *text, size_t len);
/* Copies `len` bytes into the arena and NUL-terminates them. */
const struct rego_value *rego_string(struct rego_arena *arena, const char *s, size_t len);
const struct rego_value *rego_string_cstr(struct rego_arena *arena, const char *s);
/* Wraps bytes that already live in `arena` (or longer) without copying; s[len] must be NUL. */
const struct rego_value *rego_string_wrap(struct rego_arena *arena, const char *s, size_t len);

/* Array of `n` items, copied from `items` (which may be a temporary). */
const struct rego_value *rego_array(struct rego_arena *arena, const struct rego_value *const *items,
                                    size_t n);
/* Set of `n` items: sorts and removes duplicates. `items` is copied. */
const struct rego_value *rego_set(struct rego_arena *arena, const struct rego_value *const *items,
                                  size_t n);
/* Object from `n` members: sorts by key. On duplicate keys the last member wins. `members` is
 * copied. */
const struct rego_value *rego_object(struct rego_arena *arena, const struct rego_member *members,
                                     size_t n);

/* Growable list of values in an arena, for building arrays, sets and objects of unknown size. */
struct rego_vec {
	struct rego_arena *arena;
	const struct rego_value **items;
	size_t length, capacity;
};
void rego_vec_init(struct rego_vec *vec, struct rego_arena *arena);
/* Returns 0, or -ENOMEM. */
int rego_vec_push(struct rego_vec *vec, const struct rego_value *v);
static inline const struct rego_value *
rego_vec_to_array(const struct rego_vec *vec)
{
	return rego_array(vec->arena, vec->items, vec->length);
}
static inline const struct rego_value *
rego_vec_to_set(const struct rego_vec *vec)
{
	return rego_set(vec->arena, vec->items, vec->length);
}

struct rego_member_vec {
	struct rego_arena *arena;
	struct rego_member *items;
	size_t length, capacity;
};
void rego_member_vec_init(struct rego_member_vec *vec, struct rego_arena *arena);
int rego_member_vec_push(struct rego_member_vec *vec, const struct rego_value *key,
                         const struct rego_value *value);
static inline const struct rego_value *
rego_member_vec_to_object(const struct rego_member_vec *vec)
{
	return rego_object(vec->arena, vec->items, vec->length);
}

/* Total order of Rego: <0, 0, >0. Numbers compare by value (1 == 1.0); strings bytewise;
 * arrays, then objects (keys, then values) and sets element by element, then by length. */
int rego_compare(const struct rego_value *a, const struct rego_value *b);
static inline bool
rego_equal(const struct rego_value *a, const struct rego_value *b)
{
	return a == b || rego_compare(a, b) == 0;
}
/* Hash consistent with rego_equal (1 and 1.0 hash alike). */
uint64_t rego_hash(const struct rego_value *v);

/* Lookups. Return NULL when absent. */
const struct rego_value *rego_object_get(const struct rego_value *object,
                                         const struct rego_value *key);
const struct rego_value *rego_object_get_string(const struct rego_value *object, const char *key,
                                                size_t key_len);
bool rego_set_contains(const struct rego_value *set, const struct rego_value *v);

/* Numbers. rego_number_int64 returns true and sets *ret when the number is integral and fits. */
bool rego_number_int64(const struct rego_value *v, int64_t *ret);
double rego_number_double(const struct rego_value *v);
static inline bool
rego_is_number(const struct rego_value *v)
{
	return v->type == REGO_NUMBER;
}
static inline bool
rego_is_string(const struct rego_value *v)
{
	return v->type == REGO_STRING;
}

/* Name of the type as `type_name` and error messages spell it: "null", "boolean", "number",
 * "string", "array", "object", "set". */
const char *rego_type_name(const struct rego_value *v);

/* JSON. rego_from_json converts a jansson value (objects are sorted, numbers keep their
 * precision through the text jansson gives); returns NULL on out of memory or bound.
 * rego_to_json returns a new reference, converting sets to arrays in sorted order and
 * non-string object keys to their JSON text, as OPA does; NULL on out of memory. */
const struct rego_value *rego_from_json(struct rego_arena *arena, const json_t *json);
json_t *rego_to_json(const struct rego_value *v);
/* Parses JSON text straight into a value (faster than going through jansson). Returns 0 and
 * sets *ret, or a negative JIT_ERR_INVALID / -ENOMEM. */
int rego_parse_json(struct rego_arena *arena, const char *text, size_t len,
                    const struct rego_value **ret);

/* Writes the UTF-8 encoding of code point `cp` (at most 4 bytes; surrogates and values past
 * U+10FFFF become U+FFFD) to `out`; returns its length. */
size_t rego_utf8_encode(uint32_t cp, char *out);

/* Text forms, appended to a growable arena string. Both return 0 or -ENOMEM.
 * rego_format_json: the JSON text of the value as rego_to_json would produce it, compact, keys
 * in sorted order (what json.marshal returns).
 * rego_format_rego: Rego literal syntax: strings quoted, sets as {1, 2}, set() for the empty
 * set; used by sprintf's %v and in error messages. */
struct rego_strbuf {
	struct rego_arena *arena;
	char *data;
	size_t length, capacity;
};
void rego_strbuf_init(struct rego_strbuf *sb, struct rego_arena *arena);
int rego_strbuf_append(struct rego_strbuf *sb, const char *s, size_t len);
int rego_strbuf_appendf(struct rego_strbuf *sb, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Returns the NUL-terminated text as a string value (no copy). */
const struct rego_value *rego_strbuf_to_value(struct rego_strbuf *sb);
int rego_format_json(struct rego_strbuf *sb, const struct rego_value *v);
int rego_format_rego(struct rego_strbuf *sb, const struct rego_value *v);
/* Formats a number the way OPA prints it (integers exactly, floats in the shortest form that
 * round-trips, e.g. 0.1, 1e+21, 1e-07, as Go prints them). */
int rego_format_number(struct rego_strbuf *sb, const struct rego_value *v);

#endif
