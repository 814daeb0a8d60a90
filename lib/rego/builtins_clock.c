/* Built-in functions: clock group — time.* and units.*. time.now_ns reads the query's clock,
 * taken once per query so every call in one evaluation agrees. Unit amounts are computed
 * exactly (OpenSSL big numbers) and only become floating point when not integral. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <strings.h>

#include <openssl/bn.h>

#include "lib/common/timeutil.h"
#include "lib/rego/builtins.h"

static int
oom(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* ---- units ------------------------------------------------------------------------------ */

#define UNITS_MAX_EXPONENT 100

struct amount {
	char digits[128]; /* mantissa digits, no dot */
	int exp10;        /* value = digits * 10^exp10 */
	bool negative;
};

/* Parses the numeric part at the start of `s` into *ret and returns its length, 0 when there
 * is no number, -1 when it is malformed, -2 when its exponent is out of range. An 'e' or 'E'
 * followed by a digit (or sign and digit) is an exponent; otherwise it starts the unit. */
static int
parse_amount(const char *s, size_t n, struct amount *ret)
{
	size_t i = 0, nd = 0;
	bool dot = false, any = false;
	int frac = 0;
	memset(ret, 0, sizeof(*ret));
	if (i < n && (s[i] == '-' || s[i] == '+')) {
		ret->negative = s[i] == '-';
		i++;
	}
	for (; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			any = true;
			if (nd + 1 >= sizeof(ret->digits))
				return -1;
			ret->digits[nd++] = c;
			if (dot)
				frac++;
		} else if (c == '.') {
			if (dot)
				return -1;
			dot = true;
		} else {
			break;
		}
	}
	/* "0.0.0" and ".5.2": a second dot after the number. */
	if (i < n && s[i] == '.')
		return -1;
	if (!any)
		return dot ? -1 : 0;
	long exp = 0;
	if (i + 1 < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1;
		bool neg = false;
		if (j < n && (s[j] == '-' || s[j] == '+')) {
			neg = s[j] == '-';
			j++;
		}
		if (j < n && s[j] >= '0' && s[j] <= '9') {
			while (j < n && s[j] >= '0' && s[j] <= '9') {
				exp = exp * 10 + (s[j] - '0');
				if (exp > UNITS_MAX_EXPONENT)
					return -2;
				j++;
			}
			if (neg)
				exp = -exp;
			i = j;
		}
	}
	ret->digits[nd] = '\0';
	ret->exp10 = (int)exp - frac;
	return (int)i;
}

/* Multiplies the amount by 10^p10 * 2^p2 (p10 may be negative) and returns the value: an
 * integer when exact (or, with `truncate`, always), otherwise a float. */
static int
amount_value(struct rego_builtin_ctx *ctx, const struct amount *a, int p10, int p2, bool truncate,
             const struct rego_value **ret)
{
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *num = BN_new(), *den = BN_new(), *pow = BN_new(), *ten = BN_new(), *q = BN_new(),
	       *rem = BN_new();
	int r = 0;
	if (!bn || !num || !den || !pow || !ten || !q || !rem || !BN_dec2bn(&num, a->digits) ||
	    !BN_one(den) || !BN_set_word(ten, 10)) {
		r = oom(ctx);
		goto out;
	}
	int e = a->exp10 + p10;
	if (!BN_set_word(pow, (BN_ULONG)(e < 0 ? -e : e)) || !BN_exp(pow, ten, pow, bn) ||
	    !(e >= 0 ? BN_mul(num, num, pow, bn) == 1 : BN_copy(den, pow) != NULL) ||
	    (p2 && !BN_lshift(num, num, p2)) || !BN_div(q, rem, num, den, bn)) {
		r = oom(ctx);
		goto out;
	}
	if (BN_is_zero(rem) || truncate) {
		char *text = BN_bn2dec(q);
		if (!text) {
			r = oom(ctx);
			goto out;
		}
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, ctx->arena);
		if (rego_strbuf_appendf(&sb, "%s%s", a->negative && !BN_is_zero(q) ? "-" : "",
		                        text) < 0)
			r = oom(ctx);
		OPENSSL_free(text);
		if (r == 0)
			*ret = rego_number_parse(ctx->arena, sb.data, sb.length);
	} else {
		char *nt = BN_bn2dec(num), *dt = BN_bn2dec(den);
		double v = nt && dt ? strtod(nt, NULL) / strtod(dt, NULL) : 0;
		OPENSSL_free(nt);
		OPENSSL_free(dt);
		*ret = rego_float(ctx->arena, a->negative ? -v : v);
	}
	if (r == 0 && !*ret)
		r = oom(ctx);
out:
	BN_free(num);
	BN_free(den);
	BN_free(pow);
	BN_free(ten);
	BN_free(q);
	BN_free(rem);
	BN_CTX_free(bn);
	return r;
}

/* Strips one pair of surrounding double quotes ("\"100TI\"" is accepted). */
static void
unquote(const char **s, size_t *n)
{
	if (*n >= 2 && (*s)[0] == '"' && (*s)[*n - 1] == '"') {
		(*s)++;
		*n -= 2;
	}
}

static int
units_common(struct rego_builtin_ctx *ctx, const struct rego_value *in, bool bytes,
             const struct rego_value **ret)
{
	const char *what = bytes ? "byte amount" : "amount";
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	const char *s = in->u.string;
	size_t n = in->length;
	if (memchr(s, ' ', n))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "spaces not allowed in resource strings");
	unquote(&s, &n);
	struct amount a;
	int len = parse_amount(s, n, &a);
	if (len == 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "no %s provided", what);
	if (len == -1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "could not parse %s to a number",
		                          what);
	if (len == -2)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "exponent too large");
	char unit[8];
	size_t ulen = n - (size_t)len;
	if (ulen >= sizeof(unit))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown unit in %s",
		                          in->u.string);
	memcpy(unit, s + len, ulen);
	unit[ulen] = '\0';
	/* Milli exists for plain units only, and only as lower-case "m". */
	if (!bytes && strcmp(unit, "m") == 0)
		return amount_value(ctx, &a, -3, 0, false, ret);
	static const char prefixes[] = "kmgtpe";
	int power = 0;
	bool binary = false;
	if (ulen > 0) {
		const char *at = strchr(prefixes, unit[0] | 0x20);
		if (!at || !unit[0])
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown unit %s", unit);
		power = (int)(at - prefixes) + 1;
		size_t k = 1;
		if (k < ulen && (unit[k] | 0x20) == 'i') {
			binary = true;
			k++;
		}
		if (bytes && k < ulen && (unit[k] | 0x20) == 'b')
			k++;
		if (k != ulen)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown unit %s", unit);
	}
	return amount_value(ctx, &a, binary ? 0 : 3 * power, binary ? 10 * power : 0, bytes, ret);
}

static int
units_parse(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	return units_common(ctx, args[0], false, ret);
}

static int
units_parse_bytes(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	return units_common(ctx, args[0], true, ret);
}

static int
time_now_ns(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	*ret = rego_int(ctx->arena, ctx->now_ns);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* ---- time zones (TZif files of the system's IANA database) ------------------------------- */

#define ZONE_CACHE 32
#define ZONE_MAX_TRANSITIONS 4096

struct zone_rule {
	int month, week, wday; /* Mm.w.d */
	int32_t time;          /* seconds after local midnight */
};

struct zone {
	char name[64];
	int32_t std_offset; /* used when nothing else applies */
	uint32_t count;
	int64_t *at;     /* transition instants */
	int32_t *offset; /* offset in effect from at[i] */
	char (*abbr)[8];
	/* POSIX rule for instants after the last transition (the file's footer) */
	bool has_rule;
	char std_abbr[8], dst_abbr[8];
	int32_t rule_std, rule_dst;
	struct zone_rule start, end;
};

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *zone_cache[ZONE_CACHE];
static size_t zone_count;

static bool
zone_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= 64 || name[0] == '/' || strstr(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return false;
	}
	return true;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* "<+0530>-5:30" style names and offsets of a POSIX TZ string. */
static const char *
posix_name(const char *s, char out[8])
{
	size_t n = 0;
	if (*s == '<') {
		s++;
		while (*s && *s != '>')
			if (n < 7)
				out[n++] = *s++;
			else
				s++;
		if (*s == '>')
			s++;
	} else {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
			if (n < 7)
				out[n++] = *s++;
			else
				s++;
	}
	out[n] = '\0';
	return n ? s : NULL;
}

static const char *
posix_time(const char *s, int32_t *ret)
{
	int sign = 1;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	int32_t parts[3] = { 0, 0, 0 };
	for (int i = 0; i < 3; i++) {
		/* hh[:mm[:ss]]: a colon must be followed by digits (Go's tzset refuses "5:" too). */
		if (*s < '0' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9')
			parts[i] = parts[i] * 10 + (*s++ - '0');
		if (*s != ':')
			break;
		s++;
	}
	*ret = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
	return s;
}

static const char *
posix_rule(const char *s, struct zone_rule *r)
{
	if (*s++ != 'M')
		return NULL;
	r->month = (int)strtol(s, (char **)&s, 10);
	if (*s++ != '.')
		return NULL;
	r->week = (int)strtol(s, (char **)&s, 10);
	if (*s++ != '.')
		return NULL;
	r->wday = (int)strtol(s, (char **)&s, 10);
	r->time = 7200;
	if (*s == '/' && !(s = posix_time(s + 1, &r->time)))
		return NULL;
	return r->month >= 1 && r->month <= 12 && r->week >= 1 && r->week <= 5 && r->wday >= 0 &&
	                       r->wday <= 6
	               ? s
	               : NULL;
}

/* Parses a TZ footer like "EST5EDT,M3.2.0,M11.1.0" or "<+0530>-5:30". */
static void
zone_parse_footer(struct zone *z, const char *s)
{
	int32_t off;
	if (!(s = posix_name(s, z->std_abbr)) || !(s = posix_time(s, &off)))
		return;
	z->rule_std = -off; /* POSIX offsets are west-positive */
	z->std_offset = z->rule_std;
	if (!*s)
		return;
	if (!(s = posix_name(s, z->dst_abbr)))
		return;
	z->rule_dst = z->rule_std + 3600;
	if (*s && *s != ',') {
		if (!(s = posix_time(s, &off)))
			return;
		z->rule_dst = -off;
	}
	if (*s++ != ',' || !(s = posix_rule(s, &z->start)) || *s++ != ',' ||
	    !posix_rule(s, &z->end))
		return;
	z->has_rule = true;
}

/* Day (days since the epoch) of rule `r` in `year`: the w-th wday of the month (5 = last). */
static int64_t
rule_day(int64_t year, const struct zone_rule *r)
{
	int64_t first = jit_days_from_civil(year, r->month, 1);
	int first_wday = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
	int64_t day = first + (r->wday - first_wday + 7) % 7 + (r->week - 1) * 7;
	int dim = (int)(jit_days_from_civil(year + (r->month == 12), r->month % 12 + 1, 1) - first);
	while (day - first >= dim)
		day -= 7;
	return day;
}

static int32_t
zone_rule_offset(const struct zone *z, int64_t t, const char **abbr)
{
	int64_t y;
	int m, d;
	jit_civil_from_days(floor_div(t + z->rule_std, 86400), &y, &m, &d);
	int64_t start = rule_day(y, &z->start) * 86400 + z->start.time - z->rule_std;
	int64_t end = rule_day(y, &z->end) * 86400 + z->end.time - z->rule_dst;
	bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
	*abbr = dst ? z->dst_abbr : z->std_abbr;
	return dst ? z->rule_dst : z->rule_std;
}

static struct zone *
zone_read(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	unsigned char *data = malloc(256 * 1024);
	size_t n = data ? fread(data, 1, 256 * 1024, f) : 0;
	fclose(f);
	struct zone *z = NULL;
	if (!data || n < 44 || memcmp(data, "TZif", 4) != 0)
		goto out;
	/* Skip the version 1 block to the 64-bit one when present. */
	const unsigned char *h = data;
	size_t timesize = 4;
	uint32_t cnt[6];
	for (int i = 0; i < 6; i++)
		cnt[i] = be32(h + 20 + 4 * i);
	if (data[4] >= '2') {
		size_t skip = 44 + cnt[3] * 4 + cnt[3] + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] +
		              cnt[0];
		if (skip + 44 > n)
			goto out;
		h = data + skip;
		timesize = 8;
		for (int i = 0; i < 6; i++)
			cnt[i] = be32(h + 20 + 4 * i);
	}
	uint32_t timecnt = cnt[3], typecnt = cnt[4], charcnt = cnt[5];
	const unsigned char *p = h + 44;
	size_t need = timecnt * timesize + timecnt + typecnt * 6 + charcnt;
	if ((size_t)(p - data) + need > n || typecnt == 0 || timecnt > ZONE_MAX_TRANSITIONS)
		goto out;
	z = calloc(1, sizeof(*z));
	if (!z)
		goto out;
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->count = timecnt;
	z->at = calloc(timecnt + 1, sizeof(*z->at));
	z->offset = calloc(timecnt + 1, sizeof(*z->offset));
	z->abbr = calloc(timecnt + 1, sizeof(*z->abbr));
	if (!z->at || !z->offset || !z->abbr) {
		free(z->at);
		free(z->offset);
		free(z->abbr);
		free(z);
		z = NULL;
		goto out;
	}
	const unsigned char *idx = p + timecnt * timesize, *types = idx + timecnt;
	const char *chars = (const char *)(types + typecnt * 6);
	for (uint32_t i = 0; i < timecnt; i++) {
		int64_t at =
		        timesize == 8
		                ? (int64_t)((uint64_t)be32(p + 8 * i) << 32 | be32(p + 8 * i + 4))
		                : (int32_t)be32(p + 4 * i);
		uint8_t t = idx[i] < typecnt ? idx[i] : 0;
		z->at[i] = at;
		z->offset[i] = (int32_t)be32(types + 6 * t);
		uint8_t ai = types[6 * t + 5];
		snprintf(z->abbr[i], sizeof(z->abbr[i]), "%.7s", ai < charcnt ? chars + ai : "");
	}
	z->std_offset = (int32_t)be32(types);
	/* The footer follows the 64-bit data: "\nTZ\n". */
	const char *footer = chars + charcnt + cnt[2] * (timesize + 4) + cnt[1] + cnt[0];
	if (timesize == 8 && (const unsigned char *)footer < data + n && *footer == '\n') {
		char tz[64];
		size_t k = 0;
		footer++;
		while ((const unsigned char *)footer < data + n && *footer != '\n' && k < 63)
			tz[k++] = *footer++;
		tz[k] = '\0';
		zone_parse_footer(z, tz);
	}
out:
	free(data);
	return z;
}

/* The zone named `name` ("" and "UTC" are UTC, "Local" is UTC too: jitsudod runs in UTC),
 * loaded once and kept. NULL for UTC. Returns false for an unknown zone. */
static bool
zone_get(const char *name, const struct zone **ret)
{
	*ret = NULL;
	if (!*name || strcmp(name, "UTC") == 0 || strcmp(name, "Local") == 0)
		return true;
	if (!zone_name_ok(name))
		return false;
	pthread_mutex_lock(&zone_lock);
	for (size_t i = 0; i < zone_count; i++)
		if (strcmp(zone_cache[i]->name, name) == 0) {
			*ret = zone_cache[i];
			pthread_mutex_unlock(&zone_lock);
			return true;
		}
	struct zone *z = zone_count < ZONE_CACHE ? zone_read(name) : NULL;
	if (z)
		zone_cache[zone_count++] = z;
	pthread_mutex_unlock(&zone_lock);
	*ret = z;
	return z != NULL;
}

/* UTC offset (seconds) of `z` at instant `t` (seconds), and its abbreviation. */
static int32_t
zone_offset(const struct zone *z, int64_t t, const char **abbr)
{
	if (!z) {
		*abbr = "UTC";
		return 0;
	}
	if (z->count == 0 || t >= z->at[z->count - 1]) {
		if (z->has_rule && (z->count == 0 || t >= z->at[z->count - 1]))
			return zone_rule_offset(z, t, abbr);
		if (z->count) {
			*abbr = z->abbr[z->count - 1];
			return z->offset[z->count - 1];
		}
		*abbr = z->std_abbr;
		return z->std_offset;
	}
	if (t < z->at[0]) {
		*abbr = z->abbr[0];
		return z->std_offset;
	}
	uint32_t lo = 0, hi = z->count;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*abbr = z->abbr[lo];
	return z->offset[lo];
}

/* ---- arguments ----------------------------------------------------------------------------- */

struct when {
	int64_t ns;
	const struct zone *zone;
	const char *layout; /* time.format only */
};

static int
time_arg(struct rego_builtin_ctx *ctx, const struct rego_value *v, bool allow_layout,
         struct when *ret)
{
	const struct rego_value *ns = v, *tz = NULL, *layout = NULL;
	memset(ret, 0, sizeof(*ret));
	if (v->type == REGO_ARRAY) {
		if (v->length < 2 || v->length > (allow_layout ? 3u : 2u))
			return rego_builtin_type_error(ctx, 1, "number or array", v);
		ns = v->u.items[0];
		tz = v->u.items[1];
		layout = v->length == 3 ? v->u.items[2] : NULL;
		if (tz->type != REGO_STRING || (layout && layout->type != REGO_STRING))
			return rego_builtin_type_error(ctx, 1, "array of number and strings", v);
	}
	if (ns->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, 1, "number or array", v);
	if (!rego_number_int64(ns, &ret->ns)) {
		double d = rego_number_double(ns);
		if (ns->number_kind != REGO_NUM_FLOAT || d >= 9223372036854775808.0 ||
		    d < -9223372036854775808.0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "timestamp too big");
		ret->ns = (int64_t)d;
	}
	if (tz && !zone_get(tz->u.string, &ret->zone))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "unknown time zone %s",
		                          tz->u.string);
	ret->layout = layout ? layout->u.string : NULL;
	return 0;
}

struct civil {
	int64_t year;
	int month, day, hour, minute, second, wday, yday;
	int64_t nsec;
	int32_t offset;
	const char *abbr;
};

static void
to_civil(const struct when *w, struct civil *c)
{
	/* Split without overflow, also at INT64_MIN. */
	int64_t secs = w->ns / 1000000000;
	c->nsec = w->ns % 1000000000;
	if (c->nsec < 0) {
		c->nsec += 1000000000;
		secs--;
	}
	c->offset = zone_offset(w->zone, secs, &c->abbr);
	int64_t local = secs + c->offset;
	int64_t days = floor_div(local, 86400), rem = local - days * 86400;
	jit_civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (int)(rem / 3600);
	c->minute = (int)(rem / 60 % 60);
	c->second = (int)(rem % 60);
	c->wday = (int)((days % 7 + 11) % 7);
	c->yday = (int)(days - jit_days_from_civil(c->year, 1, 1)) + 1;
}

static int
int_array(struct rego_builtin_ctx *ctx, const int64_t *v, size_t n, const struct rego_value **ret)
{
	const struct rego_value *items[6];
	for (size_t i = 0; i < n; i++)
		if (!(items[i] = rego_int(ctx->arena, v[i])))
			return oom(ctx);
	*ret = rego_array(ctx->arena, items, n);
	return *ret ? 0 : oom(ctx);
}

static int
time_date(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
          const struct rego_value **ret)
{
	struct when w;
	struct civil c;
	int r = time_arg(ctx, args[0], false, &w);
	if (r < 0)
		return r;
	to_civil(&w, &c);
	int64_t v[3] = { c.year, c.month, c.day };
	return int_array(ctx, v, 3, ret);
}

static int
time_clock(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	struct when w;
	struct civil c;
	int r = time_arg(ctx, args[0], false, &w);
	if (r < 0)
		return r;
	to_civil(&w, &c);
	int64_t v[3] = { c.hour, c.minute, c.second };
	return int_array(ctx, v, 3, ret);
}

static const char *const weekdays[] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
	                                "Thursday", "Friday", "Saturday" };
static const char *const months[] = { "January",   "February", "March",    "April",
	                              "May",       "June",     "July",     "August",
	                              "September", "October",  "November", "December" };

static int
time_weekday(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	struct when w;
	struct civil c;
	int r = time_arg(ctx, args[0], false, &w);
	if (r < 0)
		return r;
	to_civil(&w, &c);
	*ret = rego_string_cstr(ctx->arena, weekdays[c.wday]);
	return *ret ? 0 : oom(ctx);
}

/* ns since the epoch of a civil time in UTC, or false when outside int64 nanoseconds. */
static bool
civil_to_ns(int64_t year, int64_t month, int64_t day, int64_t secs_of_day, int64_t nsec,
            int64_t *ret)
{
	/* Normalise months first (Go's time.Date does the same), then days fall out. */
	int64_t m0 = month - 1;
	year += floor_div(m0, 12);
	month = m0 - floor_div(m0, 12) * 12 + 1;
	if (year < -300000 || year > 300000)
		return false;
	int64_t days = jit_days_from_civil(year, month, 1) + day - 1;
	__int128 total = ((__int128)days * 86400 + secs_of_day) * 1000000000 + nsec;
	if (total > INT64_MAX || total < INT64_MIN)
		return false;
	*ret = (int64_t)total;
	return true;
}

static int
time_add_date(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	struct when w;
	struct civil c;
	int64_t add[3];
	int r = time_arg(ctx, args[0], false, &w);
	if (r < 0)
		return r;
	for (int i = 0; i < 3; i++)
		if (args[i + 1]->type != REGO_NUMBER || !rego_number_int64(args[i + 1], &add[i]) ||
		    add[i] > 1000000 || add[i] < -1000000)
			return rego_builtin_type_error(ctx, i + 2, "integer", args[i + 1]);
	to_civil(&w, &c);
	int64_t ns;
	if (!civil_to_ns(c.year + add[0], c.month + add[1], c.day + add[2],
	                 c.hour * 3600 + c.minute * 60 + c.second, c.nsec, &ns))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "time outside of valid range");
	*ret = rego_int(ctx->arena, ns);
	return *ret ? 0 : oom(ctx);
}

static int
time_diff(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
          const struct rego_value **ret)
{
	struct when a, b;
	int r = time_arg(ctx, args[0], false, &a);
	if (r < 0 || (r = time_arg(ctx, args[1], false, &b)) < 0)
		return r;
	/* Both in the first one's zone, earlier first. */
	b.zone = a.zone;
	if (a.ns > b.ns) {
		struct when t = a;
		a = b;
		b = t;
	}
	struct civil x, y;
	to_civil(&a, &x);
	to_civil(&b, &y);
	int64_t d[6] = { y.year - x.year, y.month - x.month,   y.day - x.day,
		         y.hour - x.hour, y.minute - x.minute, y.second - x.second };
	if (d[5] < 0) {
		d[5] += 60;
		d[4]--;
	}
	if (d[4] < 0) {
		d[4] += 60;
		d[3]--;
	}
	if (d[3] < 0) {
		d[3] += 24;
		d[2]--;
	}
	if (d[2] < 0) {
		/* Borrow the length of the first time's month. */
		int64_t dim = jit_days_from_civil(x.year + (x.month == 12), x.month % 12 + 1, 1) -
		              jit_days_from_civil(x.year, x.month, 1);
		d[2] += dim;
		d[1]--;
	}
	if (d[1] < 0) {
		d[1] += 12;
		d[0]--;
	}
	return int_array(ctx, d, 6, ret);
}

static int
time_parse_rfc3339_ns(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	const struct rego_value *s = args[0];
	if (s->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", s);
	/* Parsed by hand (years 0000-9999), then checked against int64 nanoseconds. */
	const char *p = s->u.string;
	int64_t f[6] = { 0 };
	static const char seps[] = "--T::";
	for (int i = 0; i < 6; i++) {
		int width = i == 0 ? 4 : 2;
		for (int k = 0; k < width; k++, p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			f[i] = f[i] * 10 + (*p - '0');
		}
		if (i < 5 && !(*p == seps[i] || (i == 2 && *p == 't')))
			goto bad;
		if (i < 5)
			p++;
	}
	int64_t nsec = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				nsec = nsec * 10 + (*p - '0');
		if (digits == 0)
			goto bad;
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		int64_t oh = 0, om = 0;
		for (int k = 0; k < 2; k++, p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			oh = oh * 10 + (*p - '0');
		}
		if (*p++ != ':')
			goto bad;
		for (int k = 0; k < 2; k++, p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			om = om * 10 + (*p - '0');
		}
		offset = sign * (oh * 3600 + om * 60);
	} else {
		goto bad;
	}
	if (*p || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[3] > 23 || f[4] > 59 || f[5] > 59 ||
	    f[2] > jit_days_from_civil(f[0] + (f[1] == 12), f[1] % 12 + 1, 1) -
	                    jit_days_from_civil(f[0], f[1], 1))
		goto bad;
	int64_t ns;
	if (!civil_to_ns(f[0], f[1], f[2], f[3] * 3600 + f[4] * 60 + f[5] - offset, nsec, &ns))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "time outside of valid range");
	*ret = rego_int(ctx->arena, ns);
	return *ret ? 0 : oom(ctx);
bad:
	return rego_builtin_error(
	        ctx, REGO_ERR_BUILTIN,
	        "parsing time \"%s\" as \"2006-01-02T15:04:05Z07:00\": cannot parse", s->u.string);
}

/* Go's duration syntax with units ns us µs ms s m h, plus d, w and y as OPA accepts. */
static int
time_parse_duration_ns(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                       const struct rego_value **ret)
{
	const struct rego_value *s = args[0];
	if (s->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", s);
	const char *p = s->u.string;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ret = rego_int(ctx->arena, 0);
		return *ret ? 0 : oom(ctx);
	}
	if (!*p)
		goto bad;
	__int128 total = 0;
	while (*p) {
		__int128 whole = 0, frac = 0, scale = 1;
		bool any = false;
		while (*p >= '0' && *p <= '9') {
			whole = whole * 10 + (*p++ - '0');
			any = true;
			if (whole > ((__int128)1 << 63))
				goto range;
		}
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				if (scale < (__int128)1000000000000000000LL) {
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				}
				p++;
				any = true;
			}
		}
		if (!any)
			goto bad;
		static const struct {
			const char *name;
			int64_t ns;
		} units[] = { { "ns", 1 },
			      { "us", 1000 },
			      { "\xc2\xb5s", 1000 },
			      { "\xce\xbcs", 1000 },
			      { "ms", 1000000 },
			      { "s", 1000000000 },
			      { "m", 60000000000LL },
			      { "h", 3600000000000LL },
			      /* OPA also accepts days, weeks and (365-day) years. */
			      { "d", 86400000000000LL },
			      { "w", 604800000000000LL },
			      { "y", 31536000000000000LL } };
		size_t best = 0, best_len = 0;
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t n = strlen(units[u].name);
			if (strncmp(p, units[u].name, n) == 0 && n > best_len) {
				best = u;
				best_len = n;
			}
		}
		if (!best_len)
			goto bad;
		p += best_len;
		total += whole * units[best].ns + frac * units[best].ns / scale;
		if (total > ((__int128)1 << 63))
			goto range;
	}
	if (neg)
		total = -total;
	if (total > INT64_MAX || total < INT64_MIN)
		goto range;
	*ret = rego_int(ctx->arena, (int64_t)total);
	return *ret ? 0 : oom(ctx);
bad:
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "time: invalid duration \"%s\"",
	                          s->u.string);
range:
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "time: invalid duration \"%s\"",
	                          s->u.string);
}

/* ---- Go reference layouts ---------------------------------------------------------------- */

enum layout_token {
	L_LITERAL,
	L_LONG_MONTH,
	L_MONTH,
	L_NUM_MONTH,
	L_ZERO_MONTH,
	L_LONG_WEEKDAY,
	L_WEEKDAY,
	L_DAY,
	L_UNDER_DAY,
	L_ZERO_DAY,
	L_UNDER_YEARDAY,
	L_ZERO_YEARDAY,
	L_HOUR,
	L_HOUR12,
	L_ZERO_HOUR12,
	L_MINUTE,
	L_ZERO_MINUTE,
	L_SECOND,
	L_ZERO_SECOND,
	L_LONG_YEAR,
	L_YEAR,
	L_PM,
	L_pm,
	L_TZ,
	L_ISO_TZ,
	L_ISO_TZ_COLON,
	L_ISO_TZ_SHORT,
	L_ISO_TZ_SECS,
	L_ISO_TZ_COLON_SECS,
	L_NUM_TZ,
	L_NUM_TZ_COLON,
	L_NUM_TZ_SHORT,
	L_NUM_TZ_SECS,
	L_NUM_TZ_COLON_SECS,
	L_FRAC_ZERO,
	L_FRAC_NINE,
};

/* The next chunk of `layout` at `s`: a token (setting *len to its length and, for fractions,
 * *digits) or L_LITERAL for one byte. */
static enum layout_token
layout_next(const char *s, size_t *len, int *digits)
{
	static const struct {
		const char *text;
		enum layout_token token;
	} fixed[] = {
		{ "January", L_LONG_MONTH },
		{ "Jan", L_MONTH },
		{ "Monday", L_LONG_WEEKDAY },
		{ "Mon", L_WEEKDAY },
		{ "MST", L_TZ },
		{ "2006", L_LONG_YEAR },
		{ "002", L_ZERO_YEARDAY },
		{ "__2", L_UNDER_YEARDAY },
		{ "_2", L_UNDER_DAY },
		{ "01", L_ZERO_MONTH },
		{ "02", L_ZERO_DAY },
		{ "03", L_ZERO_HOUR12 },
		{ "04", L_ZERO_MINUTE },
		{ "05", L_ZERO_SECOND },
		{ "06", L_YEAR },
		{ "15", L_HOUR },
		{ "1", L_NUM_MONTH },
		{ "2", L_DAY },
		{ "3", L_HOUR12 },
		{ "4", L_MINUTE },
		{ "5", L_SECOND },
		{ "PM", L_PM },
		{ "pm", L_pm },
		{ "Z07:00:00", L_ISO_TZ_COLON_SECS },
		{ "Z070000", L_ISO_TZ_SECS },
		{ "Z07:00", L_ISO_TZ_COLON },
		{ "Z0700", L_ISO_TZ },
		{ "Z07", L_ISO_TZ_SHORT },
		{ "-07:00:00", L_NUM_TZ_COLON_SECS },
		{ "-070000", L_NUM_TZ_SECS },
		{ "-07:00", L_NUM_TZ_COLON },
		{ "-0700", L_NUM_TZ },
		{ "-07", L_NUM_TZ_SHORT },
	};
	if ((s[0] == '.' || s[0] == ',') && (s[1] == '0' || s[1] == '9')) {
		size_t n = 1;
		while (s[n] == s[1])
			n++;
		if (!(s[n] >= '0' && s[n] <= '9')) {
			*len = n;
			*digits = (int)n - 1;
			return s[1] == '0' ? L_FRAC_ZERO : L_FRAC_NINE;
		}
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		size_t n = strlen(fixed[i].text);
		if (strncmp(s, fixed[i].text, n) == 0) {
			/* "Jan" in "January" was handled by order; "Mon" must not be "Month". */
			if ((fixed[i].token == L_WEEKDAY || fixed[i].token == L_MONTH) &&
			    s[n] >= 'a' && s[n] <= 'z')
				continue;
			*len = n;
			return fixed[i].token;
		}
	}
	*len = 1;
	return L_LITERAL;
}

static const char *
layout_named(const char *name)
{
	static const char *const named[][2] = {
		{ "ANSIC", "Mon Jan _2 15:04:05 2006" },
		{ "UnixDate", "Mon Jan _2 15:04:05 MST 2006" },
		{ "RubyDate", "Mon Jan 02 15:04:05 -0700 2006" },
		{ "RFC822", "02 Jan 06 15:04 MST" },
		{ "RFC822Z", "02 Jan 06 15:04 -0700" },
		{ "RFC850", "Monday, 02-Jan-06 15:04:05 MST" },
		{ "RFC1123", "Mon, 02 Jan 2006 15:04:05 MST" },
		{ "RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700" },
		{ "RFC3339", "2006-01-02T15:04:05Z07:00" },
		{ "RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00" },
		{ "Kitchen", "3:04PM" },
		{ "Stamp", "Jan _2 15:04:05" },
		{ "StampMilli", "Jan _2 15:04:05.000" },
		{ "StampMicro", "Jan _2 15:04:05.000000" },
		{ "StampNano", "Jan _2 15:04:05.000000000" },
		{ "DateTime", "2006-01-02 15:04:05" },
		{ "DateOnly", "2006-01-02" },
		{ "TimeOnly", "15:04:05" },
	};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strcmp(name, named[i][0]) == 0)
			return named[i][1];
	return name;
}

static int
format_offset(struct rego_strbuf *sb, int32_t off, bool iso, bool colon, bool short_form, bool secs)
{
	if (iso && off == 0)
		return rego_strbuf_append(sb, "Z", 1);
	int32_t a = off < 0 ? -off : off;
	int r = rego_strbuf_appendf(sb, "%c%02d", off < 0 ? '-' : '+', a / 3600);
	if (r == 0 && !short_form)
		r = rego_strbuf_appendf(sb, colon ? ":%02d" : "%02d", a / 60 % 60);
	if (r == 0 && secs)
		r = rego_strbuf_appendf(sb, colon ? ":%02d" : "%02d", a % 60);
	return r;
}

static int
format_time(struct rego_strbuf *sb, const char *layout, const struct civil *c)
{
	int r = 0;
	for (const char *s = layout; *s && r == 0;) {
		size_t len;
		int digits = 0;
		enum layout_token t = layout_next(s, &len, &digits);
		int hour12 = c->hour % 12 ? c->hour % 12 : 12;
		switch (t) {
		case L_LITERAL:
			r = rego_strbuf_append(sb, s, 1);
			break;
		case L_LONG_MONTH:
			r = rego_strbuf_appendf(sb, "%s", months[c->month - 1]);
			break;
		case L_MONTH:
			r = rego_strbuf_appendf(sb, "%.3s", months[c->month - 1]);
			break;
		case L_NUM_MONTH:
			r = rego_strbuf_appendf(sb, "%d", c->month);
			break;
		case L_ZERO_MONTH:
			r = rego_strbuf_appendf(sb, "%02d", c->month);
			break;
		case L_LONG_WEEKDAY:
			r = rego_strbuf_appendf(sb, "%s", weekdays[c->wday]);
			break;
		case L_WEEKDAY:
			r = rego_strbuf_appendf(sb, "%.3s", weekdays[c->wday]);
			break;
		case L_DAY:
			r = rego_strbuf_appendf(sb, "%d", c->day);
			break;
		case L_UNDER_DAY:
			r = rego_strbuf_appendf(sb, "%2d", c->day);
			break;
		case L_ZERO_DAY:
			r = rego_strbuf_appendf(sb, "%02d", c->day);
			break;
		case L_UNDER_YEARDAY:
			r = rego_strbuf_appendf(sb, "%3d", c->yday);
			break;
		case L_ZERO_YEARDAY:
			r = rego_strbuf_appendf(sb, "%03d", c->yday);
			break;
		case L_HOUR:
			r = rego_strbuf_appendf(sb, "%02d", c->hour);
			break;
		case L_HOUR12:
			r = rego_strbuf_appendf(sb, "%d", hour12);
			break;
		case L_ZERO_HOUR12:
			r = rego_strbuf_appendf(sb, "%02d", hour12);
			break;
		case L_MINUTE:
			r = rego_strbuf_appendf(sb, "%d", c->minute);
			break;
		case L_ZERO_MINUTE:
			r = rego_strbuf_appendf(sb, "%02d", c->minute);
			break;
		case L_SECOND:
			r = rego_strbuf_appendf(sb, "%d", c->second);
			break;
		case L_ZERO_SECOND:
			r = rego_strbuf_appendf(sb, "%02d", c->second);
			break;
		case L_LONG_YEAR:
			r = rego_strbuf_appendf(sb, "%04lld", (long long)c->year);
			break;
		case L_YEAR:
			r = rego_strbuf_appendf(sb, "%02lld", (long long)(c->year % 100));
			break;
		case L_PM:
			r = rego_strbuf_append(sb, c->hour >= 12 ? "PM" : "AM", 2);
			break;
		case L_pm:
			r = rego_strbuf_append(sb, c->hour >= 12 ? "pm" : "am", 2);
			break;
		case L_TZ:
			if (c->abbr && *c->abbr)
				r = rego_strbuf_appendf(sb, "%s", c->abbr);
			else
				r = format_offset(sb, c->offset, false, false, false, false);
			break;
		case L_ISO_TZ:
		case L_ISO_TZ_COLON:
		case L_ISO_TZ_SHORT:
		case L_ISO_TZ_SECS:
		case L_ISO_TZ_COLON_SECS:
		case L_NUM_TZ:
		case L_NUM_TZ_COLON:
		case L_NUM_TZ_SHORT:
		case L_NUM_TZ_SECS:
		case L_NUM_TZ_COLON_SECS: {
			bool iso = t <= L_ISO_TZ_COLON_SECS;
			bool colon = t == L_ISO_TZ_COLON || t == L_ISO_TZ_COLON_SECS ||
			             t == L_NUM_TZ_COLON || t == L_NUM_TZ_COLON_SECS;
			bool short_form = t == L_ISO_TZ_SHORT || t == L_NUM_TZ_SHORT;
			bool secs = t == L_ISO_TZ_SECS || t == L_ISO_TZ_COLON_SECS ||
			            t == L_NUM_TZ_SECS || t == L_NUM_TZ_COLON_SECS;
			r = format_offset(sb, c->offset, iso, colon, short_form, secs);
			break;
		}
		case L_FRAC_ZERO:
		case L_FRAC_NINE: {
			char f[16];
			snprintf(f, sizeof(f), "%09lld", (long long)c->nsec);
			size_t n = (size_t)digits;
			if (t == L_FRAC_NINE) {
				while (n > 0 && f[n - 1] == '0')
					n--;
				if (n == 0)
					break;
			}
			r = rego_strbuf_append(sb, s, 1);
			if (r == 0)
				r = rego_strbuf_append(sb, f, n);
			break;
		}
		}
		s += len;
	}
	return r;
}

static int
time_format(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	struct when w;
	struct civil c;
	int r = time_arg(ctx, args[0], true, &w);
	if (r < 0)
		return r;
	to_civil(&w, &c);
	if (!w.zone)
		c.abbr = "UTC";
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	if (format_time(&sb, layout_named(w.layout ? w.layout : "RFC3339Nano"), &c) < 0)
		return oom(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : oom(ctx);
}

/* Reads 1..max digits (exactly `max` when `exact`) into *ret. */
static bool
parse_digits(const char **p, int max, bool exact, int64_t *ret)
{
	int64_t v = 0;
	int n = 0;
	while (n < max && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*ret = v;
	return exact ? n == max : n > 0;
}

static bool
parse_name(const char **p, const char *const *names, size_t count, bool short_form, int *ret)
{
	for (size_t i = 0; i < count; i++) {
		size_t n = short_form ? 3 : strlen(names[i]);
		if (strncasecmp(*p, names[i], n) == 0) {
			*p += n;
			*ret = (int)i;
			return true;
		}
	}
	return false;
}

static bool
parse_offset(const char **p, enum layout_token t, int32_t *ret)
{
	bool iso = t <= L_ISO_TZ_COLON_SECS;
	if (iso && **p == 'Z') {
		(*p)++;
		*ret = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	int sign = *(*p)++ == '-' ? -1 : 1;
	bool colon = t == L_ISO_TZ_COLON || t == L_ISO_TZ_COLON_SECS || t == L_NUM_TZ_COLON ||
	             t == L_NUM_TZ_COLON_SECS;
	bool short_form = t == L_ISO_TZ_SHORT || t == L_NUM_TZ_SHORT;
	bool secs = t == L_ISO_TZ_SECS || t == L_ISO_TZ_COLON_SECS || t == L_NUM_TZ_SECS ||
	            t == L_NUM_TZ_COLON_SECS;
	int64_t h, m = 0, s = 0;
	if (!parse_digits(p, 2, true, &h))
		return false;
	if (!short_form) {
		if (colon && *(*p)++ != ':')
			return false;
		if (!parse_digits(p, 2, true, &m))
			return false;
	}
	if (secs) {
		if (colon && *(*p)++ != ':')
			return false;
		if (!parse_digits(p, 2, true, &s))
			return false;
	}
	*ret = sign * (int32_t)(h * 3600 + m * 60 + s);
	return true;
}

static int
time_parse_ns(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (args[1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 2, "string", args[1]);
	const char *layout = layout_named(args[0]->u.string), *p = args[1]->u.string;
	int64_t year = 1, month = 1, day = 1, hour = 0, minute = 0, second = 0, nsec = 0;
	int32_t offset = 0;
	bool pm = false, am = false;
	for (const char *s = layout; *s;) {
		size_t len;
		int digits = 0, idx = 0;
		int64_t v;
		enum layout_token t = layout_next(s, &len, &digits);
		bool ok = true;
		switch (t) {
		case L_LITERAL:
			ok = *p == *s;
			if (ok)
				p++;
			break;
		case L_LONG_MONTH:
		case L_MONTH:
			ok = parse_name(&p, months, 12, t == L_MONTH, &idx);
			month = idx + 1;
			break;
		case L_LONG_WEEKDAY:
		case L_WEEKDAY:
			ok = parse_name(&p, weekdays, 7, t == L_WEEKDAY, &idx);
			break;
		case L_NUM_MONTH:
		case L_ZERO_MONTH:
			ok = parse_digits(&p, 2, t == L_ZERO_MONTH, &month);
			break;
		case L_DAY:
		case L_UNDER_DAY:
		case L_ZERO_DAY:
			if (t == L_UNDER_DAY && *p == ' ')
				p++;
			ok = parse_digits(&p, 2, t == L_ZERO_DAY, &day);
			break;
		case L_UNDER_YEARDAY:
		case L_ZERO_YEARDAY:
			while (t == L_UNDER_YEARDAY && *p == ' ')
				p++;
			ok = parse_digits(&p, 3, t == L_ZERO_YEARDAY, &v);
			break;
		case L_HOUR:
			ok = parse_digits(&p, 2, false, &hour);
			break;
		case L_HOUR12:
		case L_ZERO_HOUR12:
			ok = parse_digits(&p, 2, t == L_ZERO_HOUR12, &hour);
			break;
		case L_MINUTE:
		case L_ZERO_MINUTE:
			ok = parse_digits(&p, 2, t == L_ZERO_MINUTE, &minute);
			break;
		case L_SECOND:
		case L_ZERO_SECOND:
			ok = parse_digits(&p, 2, t == L_ZERO_SECOND, &second);
			/* Go accepts a fraction after seconds even when the layout has none. */
			if (ok && *p == '.' && !(s[len] == '.' || s[len] == ',')) {
				p++;
				int n = 0;
				for (; *p >= '0' && *p <= '9'; p++, n++)
					if (n < 9)
						nsec = nsec * 10 + (*p - '0');
				for (; n < 9; n++)
					nsec *= 10;
			}
			break;
		case L_LONG_YEAR:
			ok = parse_digits(&p, 4, true, &year);
			break;
		case L_YEAR:
			ok = parse_digits(&p, 2, true, &year);
			year += year >= 69 ? 1900 : 2000;
			break;
		case L_PM:
		case L_pm:
			if (strncasecmp(p, "PM", 2) == 0)
				pm = true;
			else if (strncasecmp(p, "AM", 2) == 0)
				am = true;
			else
				ok = false;
			p += ok ? 2 : 0;
			break;
		case L_TZ:
			if (strncmp(p, "UTC", 3) == 0) {
				p += 3;
			} else {
				/* Abbreviations other than UTC do not say which offset they mean. */
				int n = 0;
				while (n < 5 && p[n] >= 'A' && p[n] <= 'Z')
					n++;
				ok = n >= 3;
				p += n;
			}
			break;
		case L_FRAC_ZERO:
		case L_FRAC_NINE: {
			if (*p != '.' && *p != ',') {
				ok = t == L_FRAC_NINE;
				break;
			}
			p++;
			int n = 0;
			for (; *p >= '0' && *p <= '9'; p++, n++)
				if (n < 9)
					nsec = nsec * 10 + (*p - '0');
			ok = t == L_FRAC_NINE || n == digits;
			for (; n < 9; n++)
				nsec *= 10;
			break;
		}
		default:
			ok = parse_offset(&p, t, &offset);
			break;
		}
		if (!ok)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "parsing time \"%s\" as \"%s\": cannot parse \"%s\"",
			        args[1]->u.string, layout, p);
		s += len;
	}
	if (*p)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "parsing time \"%s\": extra text: \"%s\"",
		                          args[1]->u.string, p);
	if (pm && hour < 12)
		hour += 12;
	if (am && hour == 12)
		hour = 0;
	if (month < 1 || month > 12 || day < 1 ||
	    day > jit_days_from_civil(year + (month == 12), month % 12 + 1, 1) -
	                    jit_days_from_civil(year, month, 1) ||
	    hour > 23 || minute > 59 || second > 59)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "parsing time \"%s\": value out of range",
		                          args[1]->u.string);
	int64_t ns;
	if (!civil_to_ns(year, month, day, hour * 3600 + minute * 60 + second - offset, nsec, &ns))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "time outside of valid range");
	*ret = rego_int(ctx->arena, ns);
	return *ret ? 0 : oom(ctx);
}

const struct rego_builtin rego_builtins_clock[] = {
	{ "time.now_ns", 0, 0, time_now_ns },
	{ "time.parse_rfc3339_ns", 1, 0, time_parse_rfc3339_ns },
	{ "time.parse_ns", 2, 0, time_parse_ns },
	{ "time.parse_duration_ns", 1, 0, time_parse_duration_ns },
	{ "time.date", 1, 0, time_date },
	{ "time.clock", 1, 0, time_clock },
	{ "time.weekday", 1, 0, time_weekday },
	{ "time.add_date", 4, 0, time_add_date },
	{ "time.diff", 2, 0, time_diff },
	{ "time.format", 1, 0, time_format },
	{ "units.parse", 1, 0, units_parse },
	{ "units.parse_bytes", 1, 0, units_parse_bytes },
	{ NULL, 0, 0, NULL },
};
