/* JSON helpers over jansson for request bodies and configuration: bounded parsing, strict
 * field getters that name the offending field, and rejection of unknown fields. */
#ifndef JIT_JSON_H
#define JIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common/macro.h"

static inline void
jit_json_decrefp(json_t **j)
{
	json_decref(*j);
}
#define _cleanup_json_ _cleanup_(jit_json_decrefp)

/* Parses `len` bytes of JSON text, refusing more than `max` bytes (JIT_ERR_TOO_LARGE) and
 * anything but an object (JIT_ERR_INVALID, with jansson's message or "body must be a JSON
 * object" in `error`). On success *ret is a new reference. */
int jit_json_parse_object(const char *text, size_t len, size_t max, json_t **ret, char *error,
                          size_t error_size);

/* Fails with JIT_ERR_INVALID and "unknown field \"x\"" when `object` has a key not in
 * `allowed` (a NULL-terminated list). */
int jit_json_check_fields(const json_t *object, const char *const *allowed, char *error,
                          size_t error_size);

/* Strict getters. A missing field is JIT_ERR_NOT_FOUND when `required` is false (the output
 * is left untouched) and JIT_ERR_INVALID ("missing field \"x\"") when it is true; a field of
 * another type is JIT_ERR_INVALID ("field \"x\" must be a string"). Strings point into the
 * object (valid while it lives) and are refused when longer than `max_len` bytes or when
 * they contain a NUL byte. */
int jit_json_get_string(const json_t *object, const char *field, bool required, size_t max_len,
                        const char **ret, char *error, size_t error_size);
int jit_json_get_int(const json_t *object, const char *field, bool required, int64_t *ret,
                     char *error, size_t error_size);
int jit_json_get_bool(const json_t *object, const char *field, bool required, bool *ret,
                      char *error, size_t error_size);

/* Compact text of `json` (keys in insertion order) as a malloc'd string, or NULL. */
char *jit_json_dump(const json_t *json);

#endif
