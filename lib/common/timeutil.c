/* RFC 3339 parsing and formatting without the C library's time zone state (no TZ, no
 * mktime), and monotonic deadlines. Rejects every malformed or out-of-range field. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"

static bool
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

int64_t
jit_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
jit_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly `n` digits. */
static bool
digits(const char **p, int n, int64_t *ret)
{
	int64_t v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

int
jit_rfc3339_parse(const char *text, int64_t *ret_ns)
{
	const char *p = text;
	int64_t year, month, day, hour, minute, second, frac = 0, oh = 0, om = 0;
	if (!text || strlen(text) > JIT_RFC3339_MAX)
		return JIT_ERR_INVALID;
	if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &month) || *p++ != '-' ||
	    !digits(&p, 2, &day) || (*p != 'T' && *p != 't') || !(++p) || !digits(&p, 2, &hour) ||
	    *p++ != ':' || !digits(&p, 2, &minute) || *p++ != ':' || !digits(&p, 2, &second))
		return JIT_ERR_INVALID;
	if (*p == '.') {
		p++;
		int n = 0;
		while (*p >= '0' && *p <= '9') {
			if (++n > 9)
				return JIT_ERR_INVALID;
			frac = frac * 10 + (*p++ - '0');
		}
		if (n == 0)
			return JIT_ERR_INVALID;
		while (n++ < 9)
			frac *= 10;
	}
	int sign = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
			return JIT_ERR_INVALID;
	} else {
		return JIT_ERR_INVALID;
	}
	if (*p || year < 1 || month < 1 || month > 12 || day < 1 ||
	    day > days_in_month(year, (int)month) || hour > 23 || minute > 59 || second > 60)
		return JIT_ERR_INVALID;
	if (second == 60) {
		/* A leap second exists only as 23:59:60 (UTC); it is read as 23:59:59. */
		if (hour * 3600 + minute * 60 - sign * (oh * 3600 + om * 60) !=
		            23 * 3600 + 59 * 60 &&
		    hour * 3600 + minute * 60 - sign * (oh * 3600 + om * 60) != -60)
			return JIT_ERR_INVALID;
		second = 59;
	}
	int64_t secs = jit_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
	               second - sign * (oh * 3600 + om * 60);
	/* int64 nanoseconds reach from 1677 to 2262. */
	if (secs < -9223372036LL || secs > 9223372035LL)
		return JIT_ERR_INVALID;
	*ret_ns = secs * JIT_NSEC_PER_SEC + frac;
	return 0;
}

/* Writes `value` (0 <= value < 10^width) as exactly `width` decimal digits. */
static void
put_digits(char **p, int64_t value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		(*p)[i] = (char)('0' + value % 10);
		value /= 10;
	}
	*p += width;
}

int
jit_rfc3339_format(int64_t ns, bool nanoseconds, char *buf, size_t size)
{
	int64_t secs = ns / JIT_NSEC_PER_SEC, frac = ns % JIT_NSEC_PER_SEC;
	if (frac < 0) {
		frac += JIT_NSEC_PER_SEC;
		secs--;
	}
	int64_t days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t year;
	int month, day;
	jit_civil_from_days(days, &year, &month, &day);
	if (year < 1 || year > 9999 || size < JIT_RFC3339_MAX)
		return JIT_ERR_INVALID;
	/* Written digit by digit: this runs for every time field of every answer. */
	char *p = buf;
	put_digits(&p, year, 4);
	*p++ = '-';
	put_digits(&p, month, 2);
	*p++ = '-';
	put_digits(&p, day, 2);
	*p++ = 'T';
	put_digits(&p, rem / 3600, 2);
	*p++ = ':';
	put_digits(&p, rem / 60 % 60, 2);
	*p++ = ':';
	put_digits(&p, rem % 60, 2);
	if (nanoseconds && frac) {
		int width = 9;
		while (frac % 10 == 0) {
			frac /= 10;
			width--;
		}
		*p++ = '.';
		put_digits(&p, frac, width);
	}
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

static int64_t
clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * JIT_NSEC_PER_SEC + ts.tv_nsec;
}

int64_t
jit_now_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t
jit_now_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t
jit_deadline_after_ms(int64_t ms)
{
	/* Capped at ten years so the sum cannot overflow. */
	const int64_t max_ms = 10LL * 366 * 24 * 3600 * 1000;
	return jit_now_monotonic_ns() + (ms < 0 ? 0 : ms > max_ms ? max_ms : ms) * 1000000;
}

int
jit_deadline_remaining_ms(int64_t deadline_ns)
{
	int64_t left = deadline_ns - jit_now_monotonic_ns();
	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

bool
jit_deadline_passed(int64_t deadline_ns)
{
	return jit_now_monotonic_ns() >= deadline_ns;
}
