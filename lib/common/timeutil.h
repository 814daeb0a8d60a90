/* Time: RFC 3339 timestamps (as the API writes and reads them) and monotonic deadlines.
 * Pure functions; nothing here sleeps. */
#ifndef JIT_TIMEUTIL_H
#define JIT_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_NSEC_PER_SEC 1000000000LL
#define JIT_RFC3339_MAX 40 /* buffer size for formatted timestamps */

/* Parses an RFC 3339 timestamp ("2026-03-20T16:00:00Z", "2026-03-20T18:00:00.5+02:00"; the
 * 'T' and 'Z' may be lower case, fractions have up to 9 digits) into nanoseconds since the
 * epoch. Years 0001-9999. Returns 0, or JIT_ERR_INVALID for anything else. */
int jit_rfc3339_parse(const char *text, int64_t *ret_ns);

/* Formats nanoseconds since the epoch in UTC: "2026-03-20T16:00:00Z" (seconds precision) or,
 * with `nanoseconds`, "2026-03-20T16:00:00.123456789Z" (trailing zeros of the fraction
 * dropped). `buf` must hold JIT_RFC3339_MAX bytes. Returns 0 or JIT_ERR_INVALID (out of
 * range). */
int jit_rfc3339_format(int64_t ns, bool nanoseconds, char *buf, size_t size);

/* The proleptic Gregorian calendar: days since 1970-01-01 of a civil date (months and days
 * may be out of range and are carried, as Go's time.Date does for days), and back. */
int64_t jit_days_from_civil(int64_t year, int64_t month, int64_t day);
void jit_civil_from_days(int64_t days, int64_t *ret_year, int *ret_month, int *ret_day);

/* Wall-clock and monotonic time in nanoseconds. */
int64_t jit_now_realtime_ns(void);
int64_t jit_now_monotonic_ns(void);

/* An absolute monotonic deadline `ms` milliseconds from now, the milliseconds left until it
 * (0 when passed, for poll()), and whether it has passed. */
int64_t jit_deadline_after_ms(int64_t ms);
int jit_deadline_remaining_ms(int64_t deadline_ns);
bool jit_deadline_passed(int64_t deadline_ns);

#endif
