/* JSON parsing with a size cap and strict field access. Error texts name the field so that
 * an API can answer 400 with a useful message; they never include field values. */
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"

static int
json_fail(char *error, size_t size, int code, const char *fmt, const char *arg)
{
	if (error && size)
		snprintf(error, size, fmt, arg);
	return code;
}

int
jit_json_parse_object(const char *text, size_t len, size_t max, json_t **ret, char *error,
                      size_t error_size)
{
	if (len > max) {
		if (error && error_size)
			snprintf(error, error_size, "body larger than %zu bytes", max);
		return JIT_ERR_TOO_LARGE;
	}
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return json_fail(error, error_size, JIT_ERR_INVALID, "malformed JSON: %s",
		                 jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return json_fail(error, error_size, JIT_ERR_INVALID, "%s",
		                 "body must be a JSON object");
	}
	*ret = j;
	return 0;
}

int
jit_json_check_fields(const json_t *object, const char *const *allowed, char *error,
                      size_t error_size)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)object, key, value)
	{
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known)
			return json_fail(error, error_size, JIT_ERR_INVALID,
			                 "unknown field \"%.64s\"", key);
	}
	return 0;
}

static int
lookup(const json_t *object, const char *field, bool required, json_t **ret, char *error,
       size_t error_size)
{
	json_t *v = json_object_get(object, field);
	if (!v || json_is_null(v)) {
		if (required)
			return json_fail(error, error_size, JIT_ERR_INVALID, "missing field \"%s\"",
			                 field);
		return JIT_ERR_NOT_FOUND;
	}
	*ret = v;
	return 0;
}

int
jit_json_get_string(const json_t *object, const char *field, bool required, size_t max_len,
                    const char **ret, char *error, size_t error_size)
{
	json_t *v;
	int r = lookup(object, field, required, &v, error, error_size);
	if (r < 0)
		return r;
	if (!json_is_string(v))
		return json_fail(error, error_size, JIT_ERR_INVALID,
		                 "field \"%s\" must be a string", field);
	size_t n = json_string_length(v);
	if (n > max_len)
		return json_fail(error, error_size, JIT_ERR_INVALID, "field \"%s\" is too long",
		                 field);
	if (memchr(json_string_value(v), '\0', n))
		return json_fail(error, error_size, JIT_ERR_INVALID,
		                 "field \"%s\" contains a NUL character", field);
	*ret = json_string_value(v);
	return 0;
}

int
jit_json_get_int(const json_t *object, const char *field, bool required, int64_t *ret, char *error,
                 size_t error_size)
{
	json_t *v;
	int r = lookup(object, field, required, &v, error, error_size);
	if (r < 0)
		return r;
	if (!json_is_integer(v))
		return json_fail(error, error_size, JIT_ERR_INVALID,
		                 "field \"%s\" must be an integer", field);
	*ret = json_integer_value(v);
	return 0;
}

int
jit_json_get_bool(const json_t *object, const char *field, bool required, bool *ret, char *error,
                  size_t error_size)
{
	json_t *v;
	int r = lookup(object, field, required, &v, error, error_size);
	if (r < 0)
		return r;
	if (!json_is_boolean(v))
		return json_fail(error, error_size, JIT_ERR_INVALID,
		                 "field \"%s\" must be true or false", field);
	*ret = json_is_true(v);
	return 0;
}

char *
jit_json_dump(const json_t *json)
{
	return json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
}
