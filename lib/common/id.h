/* Request ids of the API's shape: "req_" + 26 Crockford base32 characters, a 48-bit
 * millisecond timestamp followed by 80 random bits, so that ids sort by creation time. */
#ifndef JIT_ID_H
#define JIT_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_ID_PREFIX "req_"
#define JIT_ID_LENGTH 30 /* "req_" + 26 */

/* Writes a new id (JIT_ID_LENGTH characters and a NUL) into `buf` (at least 31 bytes).
 * Ids made by one process are strictly increasing, also within one millisecond. Thread-safe.
 * Returns 0, or a negative errno when the system cannot supply random bytes. */
int jit_id_new(char *buf, size_t size);

/* As jit_id_new at a given time (milliseconds since the epoch), for tests. */
int jit_id_new_at(uint64_t ms, char *buf, size_t size);

/* Is `text` a well-formed id (prefix, length, alphabet, timestamp within 48 bits)? */
bool jit_id_valid(const char *text);

#endif
