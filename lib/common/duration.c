/* Duration parsing and formatting for --duration values. Trusts nothing: rejects signs,
 * spaces, fractions, unknown or repeated units and overflow, with a message naming the value. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/duration.h"
#include "lib/common/errors.h"

#define DURATION_TEXT_MAX 32

static int
duration_error(char *error, size_t size, const char *text, const char *why)
{
	if (error && size)
		snprintf(error, size,
		         "invalid duration \"%.*s\": %s (use h, m or s, e.g. 1h, 30m, 2h30m)",
		         DURATION_TEXT_MAX, text, why);
	return JIT_ERR_INVALID;
}

int
jit_duration_parse(const char *text, int64_t *ret_seconds, char *error, size_t error_size)
{
	static const struct {
		char unit;
		int64_t seconds;
	} units[] = { { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	if (!text || !*text)
		return duration_error(error, error_size, text ? text : "", "empty value");
	if (strlen(text) > DURATION_TEXT_MAX)
		return duration_error(error, error_size, text, "too long");
	int64_t total = 0;
	size_t next_unit = 0; /* units must come in the order h, m, s */
	const char *p = text;
	while (*p) {
		if (*p == ' ' || *p == '\t')
			return duration_error(error, error_size, text, "spaces are not allowed");
		if (*p < '0' || *p > '9') {
			char why[64];
			snprintf(why, sizeof(why), "expected a number at \"%.8s\"", p);
			return duration_error(error, error_size, text, why);
		}
		int64_t n = 0;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (*p - '0');
			if (n > JIT_DURATION_MAX_SECONDS)
				return duration_error(error, error_size, text,
				                      "too long a duration");
			p++;
		}
		if (!*p)
			return duration_error(error, error_size, text,
			                      "missing unit after the number");
		size_t u = next_unit;
		while (u < sizeof(units) / sizeof(units[0]) && units[u].unit != *p)
			u++;
		if (u == sizeof(units) / sizeof(units[0])) {
			char why[64];
			bool known = *p == 'h' || *p == 'm' || *p == 's';
			if (known)
				snprintf(why, sizeof(why), "unit \"%c\" repeated or out of order",
				         *p);
			else
				snprintf(why, sizeof(why), "unknown unit \"%c\"", *p);
			return duration_error(error, error_size, text, why);
		}
		total += n * units[u].seconds;
		if (total > JIT_DURATION_MAX_SECONDS)
			return duration_error(error, error_size, text, "longer than a year");
		next_unit = u + 1;
		p++;
	}
	if (total <= 0)
		return duration_error(error, error_size, text, "must be longer than zero");
	*ret_seconds = total;
	return 0;
}

int
jit_duration_format(int64_t seconds, char *buf, size_t size)
{
	if (seconds < 0 || size == 0)
		return JIT_ERR_INVALID;
	int64_t h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60;
	size_t at = 0;
	int n;
	if (h) {
		n = snprintf(buf + at, size - at, "%lldh", (long long)h);
		if (n < 0 || (size_t)n >= size - at)
			return JIT_ERR_INVALID;
		at += (size_t)n;
	}
	if (m) {
		n = snprintf(buf + at, size - at, "%lldm", (long long)m);
		if (n < 0 || (size_t)n >= size - at)
			return JIT_ERR_INVALID;
		at += (size_t)n;
	}
	if (s || at == 0) {
		n = snprintf(buf + at, size - at, "%llds", (long long)s);
		if (n < 0 || (size_t)n >= size - at)
			return JIT_ERR_INVALID;
	}
	return 0;
}
