/* Durations as the CLI's --duration accepts them ("1h", "30m", "2h30m", "45s", "1h30m15s"),
 * in whole seconds. Pure functions over the caller's buffers. */
#ifndef JIT_DURATION_H
#define JIT_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest duration accepted: one year. */
#define JIT_DURATION_MAX_SECONDS (366LL * 24 * 3600)

/* Parses `text` (NUL-terminated): hours, minutes and seconds, each at most once and in that
 * order, positive integers, a total above zero and at most JIT_DURATION_MAX_SECONDS. Returns 0
 * and sets *ret_seconds, or JIT_ERR_INVALID with a message naming the value written to `error`
 * (which may be NULL). */
int jit_duration_parse(const char *text, int64_t *ret_seconds, char *error, size_t error_size);

/* Writes the shortest form ("2h30m", "45s", "1h5s") of a positive duration into `buf`.
 * Returns 0, or JIT_ERR_INVALID for a negative duration or too small a buffer. */
int jit_duration_format(int64_t seconds, char *buf, size_t size);

#endif
