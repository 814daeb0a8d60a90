/* Rego values: construction, Rego's total order, hashing, lookups and text forms. Values are
 * immutable and arena-allocated; constructors bound every length by REGO_VALUE_MAX_LENGTH. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/rego/value.h"

const struct rego_value rego_null_value = { .type = REGO_NULL };
const struct rego_value rego_true_value = { .type = REGO_BOOLEAN, .u.boolean = true };
const struct rego_value rego_false_value = { .type = REGO_BOOLEAN, .u.boolean = false };
const struct rego_value rego_empty_string = { .type = REGO_STRING, .u.string = "" };
const struct rego_value rego_empty_array = { .type = REGO_ARRAY };
const struct rego_value rego_empty_object = { .type = REGO_OBJECT };
const struct rego_value rego_empty_set = { .type = REGO_SET };

static struct rego_value *
value_new(struct rego_arena *arena, enum rego_type type)
{
	struct rego_value *v = rego_arena_alloc(arena, sizeof(*v));
	if (!v)
		return NULL;
	v->type = type;
	v->number_kind = 0;
	v->length = 0;
	return v;
}

const struct rego_value *
rego_int(struct rego_arena *arena, int64_t i)
{
	struct rego_value *v = value_new(arena, REGO_NUMBER);
	if (!v)
		return NULL;
	v->number_kind = REGO_NUM_INT;
	v->u.integer = i;
	return v;
}

const struct rego_value *
rego_float(struct rego_arena *arena, double d)
{
	if (!isfinite(d))
		return NULL;
	if (d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
		return rego_int(arena, (int64_t)d);
	struct rego_value *v = value_new(arena, REGO_NUMBER);
	if (!v)
		return NULL;
	v->number_kind = REGO_NUM_FLOAT;
	v->u.real = d;
	return v;
}

/* Canonical decimal text of a big integer: optional '-', digits without leading zeros. */
static const struct rego_value *
big_from_digits(struct rego_arena *arena, bool negative, const char *digits, size_t n)
{
	while (n > 1 && digits[0] == '0') {
		digits++;
		n--;
	}
	char *text = rego_arena_alloc(arena, n + 2);
	if (!text)
		return NULL;
	size_t at = 0;
	if (negative && !(n == 1 && digits[0] == '0'))
		text[at++] = '-';
	memcpy(text + at, digits, n);
	text[at + n] = '\0';
	/* Does it fit int64 after all? */
	if (n <= 19) {
		errno = 0;
		char *end;
		long long ll = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0')
			return rego_int(arena, ll);
	}
	struct rego_value *v = value_new(arena, REGO_NUMBER);
	if (!v)
		return NULL;
	v->number_kind = REGO_NUM_BIG;
	v->u.big = text;
	v->length = (uint32_t)(at + n);
	return v;
}

const struct rego_value *
rego_number_parse(struct rego_arena *arena, const char *text, size_t len)
{
	size_t i = 0;
	bool negative = false;
	if (i < len && (text[i] == '-' || text[i] == '+')) {
		negative = text[i] == '-';
		i++;
	}
	size_t digits_start = i;
	while (i < len && text[i] >= '0' && text[i] <= '9')
		i++;
	size_t int_digits = i - digits_start;
	bool is_integer = true;
	if (i < len && text[i] == '.') {
		is_integer = false;
		i++;
		size_t frac_start = i;
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
		if (i == frac_start)
			return NULL;
	}
	if (int_digits == 0)
		return NULL;
	if (i < len && (text[i] == 'e' || text[i] == 'E')) {
		is_integer = false;
		i++;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			i++;
		size_t exp_start = i;
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
		if (i == exp_start)
			return NULL;
	}
	if (i != len || len > 4096)
		return NULL;
	if (is_integer)
		return big_from_digits(arena, negative, text + digits_start, int_digits);
	char buf[4100];
	memcpy(buf, text, len);
	buf[len] = '\0';
	char *end;
	double d = strtod(buf, &end);
	if (*end != '\0')
		return NULL;
	return rego_float(arena, d);
}

const struct rego_value *
rego_string_wrap(struct rego_arena *arena, const char *s, size_t len)
{
	if (len > REGO_VALUE_MAX_LENGTH)
		return NULL;
	if (len == 0)
		return &rego_empty_string;
	struct rego_value *v = value_new(arena, REGO_STRING);
	if (!v)
		return NULL;
	v->length = (uint32_t)len;
	v->u.string = s;
	return v;
}

const struct rego_value *
rego_string(struct rego_arena *arena, const char *s, size_t len)
{
	if (len > REGO_VALUE_MAX_LENGTH)
		return NULL;
	if (len == 0)
		return &rego_empty_string;
	char *copy = rego_arena_strndup(arena, s, len);
	if (!copy)
		return NULL;
	return rego_string_wrap(arena, copy, len);
}

const struct rego_value *
rego_string_cstr(struct rego_arena *arena, const char *s)
{
	return rego_string(arena, s, strlen(s));
}

const struct rego_value *
rego_array(struct rego_arena *arena, const struct rego_value *const *items, size_t n)
{
	if (n > REGO_VALUE_MAX_LENGTH)
		return NULL;
	if (n == 0)
		return &rego_empty_array;
	struct rego_value *v = value_new(arena, REGO_ARRAY);
	const struct rego_value **copy = rego_arena_alloc(arena, n * sizeof(*copy));
	if (!v || !copy)
		return NULL;
	memcpy(copy, items, n * sizeof(*copy));
	v->length = (uint32_t)n;
	v->u.items = copy;
	return v;
}

static int
compare_value_ptrs(const void *a, const void *b)
{
	return rego_compare(*(const struct rego_value *const *)a,
	                    *(const struct rego_value *const *)b);
}

const struct rego_value *
rego_set(struct rego_arena *arena, const struct rego_value *const *items, size_t n)
{
	if (n > REGO_VALUE_MAX_LENGTH)
		return NULL;
	if (n == 0)
		return &rego_empty_set;
	struct rego_value *v = value_new(arena, REGO_SET);
	const struct rego_value **copy = rego_arena_alloc(arena, n * sizeof(*copy));
	if (!v || !copy)
		return NULL;
	memcpy(copy, items, n * sizeof(*copy));
	bool sorted = true;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = rego_compare(copy[i - 1], copy[i]) < 0;
	if (!sorted) {
		qsort(copy, n, sizeof(*copy), compare_value_ptrs);
		size_t out = 1;
		for (size_t i = 1; i < n; i++)
			if (rego_compare(copy[out - 1], copy[i]) != 0)
				copy[out++] = copy[i];
		n = out;
	}
	v->length = (uint32_t)n;
	v->u.items = copy;
	return v;
}

/* Stable merge sort of members by key, so that the last of duplicate keys can be kept. */
static void
members_merge_sort(struct rego_member *m, struct rego_member *tmp, size_t n)
{
	if (n < 2)
		return;
	if (n <= 8) {
		for (size_t i = 1; i < n; i++) {
			struct rego_member x = m[i];
			size_t j = i;
			while (j > 0 && rego_compare(m[j - 1].key, x.key) > 0) {
				m[j] = m[j - 1];
				j--;
			}
			m[j] = x;
		}
		return;
	}
	size_t half = n / 2;
	members_merge_sort(m, tmp, half);
	members_merge_sort(m + half, tmp, n - half);
	size_t i = 0, j = half, k = 0;
	while (i < half && j < n)
		tmp[k++] = rego_compare(m[j].key, m[i].key) < 0 ? m[j++] : m[i++];
	while (i < half)
		tmp[k++] = m[i++];
	while (j < n)
		tmp[k++] = m[j++];
	memcpy(m, tmp, n * sizeof(*m));
}

const struct rego_value *
rego_object(struct rego_arena *arena, const struct rego_member *members, size_t n)
{
	if (n > REGO_VALUE_MAX_LENGTH)
		return NULL;
	if (n == 0)
		return &rego_empty_object;
	struct rego_value *v = value_new(arena, REGO_OBJECT);
	struct rego_member *copy = rego_arena_alloc(arena, n * sizeof(*copy));
	if (!v || !copy)
		return NULL;
	memcpy(copy, members, n * sizeof(*copy));
	bool sorted = true;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = rego_compare(copy[i - 1].key, copy[i].key) < 0;
	if (!sorted) {
		struct rego_member *tmp = rego_arena_alloc(arena, n * sizeof(*tmp));
		if (!tmp)
			return NULL;
		members_merge_sort(copy, tmp, n);
		size_t out = 0;
		for (size_t i = 0; i < n; i++) {
			if (out > 0 && rego_compare(copy[out - 1].key, copy[i].key) == 0)
				copy[out - 1] = copy[i];
			else
				copy[out++] = copy[i];
		}
		n = out;
	}
	v->length = (uint32_t)n;
	v->u.members = copy;
	return v;
}

void
rego_vec_init(struct rego_vec *vec, struct rego_arena *arena)
{
	vec->arena = arena;
	vec->items = NULL;
	vec->length = vec->capacity = 0;
}

int
rego_vec_push(struct rego_vec *vec, const struct rego_value *v)
{
	if (vec->length == vec->capacity) {
		size_t cap = vec->capacity ? vec->capacity * 2 : 8;
		if (cap > REGO_VALUE_MAX_LENGTH)
			return -ENOMEM;
		void *p = rego_arena_realloc(vec->arena, vec->items,
		                             vec->capacity * sizeof(*vec->items),
		                             cap * sizeof(*vec->items));
		if (!p)
			return -ENOMEM;
		vec->items = p;
		vec->capacity = cap;
	}
	vec->items[vec->length++] = v;
	return 0;
}

void
rego_member_vec_init(struct rego_member_vec *vec, struct rego_arena *arena)
{
	vec->arena = arena;
	vec->items = NULL;
	vec->length = vec->capacity = 0;
}

int
rego_member_vec_push(struct rego_member_vec *vec, const struct rego_value *key,
                     const struct rego_value *value)
{
	if (vec->length == vec->capacity) {
		size_t cap = vec->capacity ? vec->capacity * 2 : 8;
		if (cap > REGO_VALUE_MAX_LENGTH)
			return -ENOMEM;
		void *p = rego_arena_realloc(vec->arena, vec->items,
		                             vec->capacity * sizeof(*vec->items),
		                             cap * sizeof(*vec->items));
		if (!p)
			return -ENOMEM;
		vec->items = p;
		vec->capacity = cap;
	}
	vec->items[vec->length].key = key;
	vec->items[vec->length].value = value;
	vec->length++;
	return 0;
}

/* ---- order ---------------------------------------------------------------------------- */

static int
big_sign(const struct rego_value *v)
{
	return v->u.big[0] == '-' ? -1 : 1;
}

static int
compare_big(const struct rego_value *a, const struct rego_value *b)
{
	int sa = big_sign(a), sb = big_sign(b);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	size_t la = a->length, lb = b->length;
	int magnitude;
	if (la != lb)
		magnitude = la < lb ? -1 : 1;
	else
		magnitude = strcmp(a->u.big, b->u.big) < 0 ? -1 : (strcmp(a->u.big, b->u.big) > 0);
	return sa > 0 ? magnitude : -magnitude;
}

static int
compare_numbers(const struct rego_value *a, const struct rego_value *b)
{
	if (a->number_kind == REGO_NUM_INT && b->number_kind == REGO_NUM_INT)
		return a->u.integer < b->u.integer ? -1 : a->u.integer > b->u.integer;
	if (a->number_kind == REGO_NUM_BIG && b->number_kind == REGO_NUM_BIG)
		return compare_big(a, b);
	if (a->number_kind == REGO_NUM_BIG && b->number_kind == REGO_NUM_INT)
		return big_sign(a);
	if (a->number_kind == REGO_NUM_INT && b->number_kind == REGO_NUM_BIG)
		return -big_sign(b);
	long double x = a->number_kind == REGO_NUM_INT     ? (long double)a->u.integer
	                : a->number_kind == REGO_NUM_FLOAT ? (long double)a->u.real
	                                                   : strtold(a->u.big, NULL);
	long double y = b->number_kind == REGO_NUM_INT     ? (long double)b->u.integer
	                : b->number_kind == REGO_NUM_FLOAT ? (long double)b->u.real
	                                                   : strtold(b->u.big, NULL);
	return x < y ? -1 : x > y;
}

static int
compare_strings(const struct rego_value *a, const struct rego_value *b)
{
	size_t n = a->length < b->length ? a->length : b->length;
	int c = memcmp(a->u.string, b->u.string, n);
	if (c)
		return c < 0 ? -1 : 1;
	return a->length < b->length ? -1 : a->length > b->length;
}

int
rego_compare(const struct rego_value *a, const struct rego_value *b)
{
	if (a == b)
		return 0;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case REGO_NULL:
		return 0;
	case REGO_BOOLEAN:
		return (int)a->u.boolean - (int)b->u.boolean;
	case REGO_NUMBER:
		return compare_numbers(a, b);
	case REGO_STRING:
		return compare_strings(a, b);
	case REGO_ARRAY:
	case REGO_SET: {
		size_t n = a->length < b->length ? a->length : b->length;
		for (size_t i = 0; i < n; i++) {
			int c = rego_compare(a->u.items[i], b->u.items[i]);
			if (c)
				return c;
		}
		return a->length < b->length ? -1 : a->length > b->length;
	}
	case REGO_OBJECT: {
		size_t n = a->length < b->length ? a->length : b->length;
		for (size_t i = 0; i < n; i++) {
			int c = rego_compare(a->u.members[i].key, b->u.members[i].key);
			if (c)
				return c;
			c = rego_compare(a->u.members[i].value, b->u.members[i].value);
			if (c)
				return c;
		}
		return a->length < b->length ? -1 : a->length > b->length;
	}
	}
	return 0;
}

static uint64_t
hash_bytes(const void *data, size_t n, uint64_t h)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t
hash_mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

uint64_t
rego_hash(const struct rego_value *v)
{
	uint64_t h = 0xcbf29ce484222325ull ^ v->type;
	switch (v->type) {
	case REGO_NULL:
		return h;
	case REGO_BOOLEAN:
		return hash_mix(h, v->u.boolean);
	case REGO_NUMBER:
		if (v->number_kind == REGO_NUM_INT)
			return hash_mix(h, (uint64_t)v->u.integer);
		if (v->number_kind == REGO_NUM_FLOAT)
			return hash_bytes(&v->u.real, sizeof(v->u.real), h);
		return hash_bytes(v->u.big, v->length, h);
	case REGO_STRING:
		return hash_bytes(v->u.string, v->length, h);
	case REGO_ARRAY:
	case REGO_SET:
		for (size_t i = 0; i < v->length; i++)
			h = hash_mix(h, rego_hash(v->u.items[i]));
		return h;
	case REGO_OBJECT:
		for (size_t i = 0; i < v->length; i++) {
			h = hash_mix(h, rego_hash(v->u.members[i].key));
			h = hash_mix(h, rego_hash(v->u.members[i].value));
		}
		return h;
	}
	return h;
}

/* ---- lookups -------------------------------------------------------------------------- */

const struct rego_value *
rego_object_get(const struct rego_value *object, const struct rego_value *key)
{
	if (object->type != REGO_OBJECT)
		return NULL;
	if (key->type == REGO_STRING)
		return rego_object_get_string(object, key->u.string, key->length);
	size_t lo = 0, hi = object->length;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = rego_compare(object->u.members[mid].key, key);
		if (c == 0)
			return object->u.members[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct rego_value *
rego_object_get_string(const struct rego_value *object, const char *key, size_t key_len)
{
	if (object->type != REGO_OBJECT)
		return NULL;
	size_t lo = 0, hi = object->length;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct rego_value *k = object->u.members[mid].key;
		int c;
		if (k->type != REGO_STRING) {
			c = k->type < REGO_STRING ? -1 : 1;
		} else {
			size_t n = k->length < key_len ? k->length : key_len;
			c = memcmp(k->u.string, key, n);
			if (c == 0)
				c = k->length < key_len ? -1 : k->length > key_len;
		}
		if (c == 0)
			return object->u.members[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool
rego_set_contains(const struct rego_value *set, const struct rego_value *v)
{
	if (set->type != REGO_SET)
		return false;
	size_t lo = 0, hi = set->length;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = rego_compare(set->u.items[mid], v);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool
rego_number_int64(const struct rego_value *v, int64_t *ret)
{
	if (v->type != REGO_NUMBER || v->number_kind != REGO_NUM_INT)
		return false;
	*ret = v->u.integer;
	return true;
}

double
rego_number_double(const struct rego_value *v)
{
	if (v->type != REGO_NUMBER)
		return NAN;
	switch (v->number_kind) {
	case REGO_NUM_INT:
		return (double)v->u.integer;
	case REGO_NUM_FLOAT:
		return v->u.real;
	default:
		return strtod(v->u.big, NULL);
	}
}

const char *
rego_type_name(const struct rego_value *v)
{
	static const char *const names[] = { "null",  "boolean", "number", "string",
		                             "array", "object",  "set" };
	return v->type < (sizeof(names) / sizeof(names[0])) ? names[v->type] : "unknown";
}
