/* Conversions between Rego values and JSON (jansson or text), and the textual forms used by
 * json.marshal, sprintf and error messages. The JSON parser is bounded in depth and trusts
 * nothing in its input. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/text.h"
#include "lib/common/errors.h"
#include "lib/rego/value.h"

#define JSON_MAX_DEPTH 512

/* ---- jansson -> value ------------------------------------------------------------------ */

static const struct rego_value *
from_json_depth(struct rego_arena *arena, const json_t *json, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return NULL;
	switch (json_typeof(json)) {
	case JSON_NULL:
		return &rego_null_value;
	case JSON_TRUE:
		return &rego_true_value;
	case JSON_FALSE:
		return &rego_false_value;
	case JSON_INTEGER:
		return rego_int(arena, json_integer_value(json));
	case JSON_REAL:
		return rego_float(arena, json_real_value(json));
	case JSON_STRING:
		return rego_string(arena, json_string_value(json), json_string_length(json));
	case JSON_ARRAY: {
		size_t n = json_array_size(json);
		if (n == 0)
			return &rego_empty_array;
		const struct rego_value **items = rego_arena_alloc(arena, n * sizeof(*items));
		if (!items)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			items[i] = from_json_depth(arena, json_array_get(json, i), depth + 1);
			if (!items[i])
				return NULL;
		}
		return rego_array(arena, items, n);
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(json), i = 0;
		if (n == 0)
			return &rego_empty_object;
		struct rego_member *members = rego_arena_alloc(arena, n * sizeof(*members));
		if (!members)
			return NULL;
		const char *key;
		size_t key_len;
		json_t *value;
		void *iter = json_object_iter((json_t *)json);
		while (iter && i < n) {
			key = json_object_iter_key(iter);
			key_len = json_object_iter_key_len(iter);
			value = json_object_iter_value(iter);
			members[i].key = rego_string(arena, key, key_len);
			members[i].value = from_json_depth(arena, value, depth + 1);
			if (!members[i].key || !members[i].value)
				return NULL;
			i++;
			iter = json_object_iter_next((json_t *)json, iter);
		}
		return rego_object(arena, members, i);
	}
	}
	return NULL;
}

const struct rego_value *
rego_from_json(struct rego_arena *arena, const json_t *json)
{
	return from_json_depth(arena, json, 0);
}

/* ---- value -> jansson ------------------------------------------------------------------ */

json_t *
rego_to_json(const struct rego_value *v)
{
	switch (v->type) {
	case REGO_NULL:
		return json_null();
	case REGO_BOOLEAN:
		return json_boolean(v->u.boolean);
	case REGO_NUMBER:
		if (v->number_kind == REGO_NUM_INT)
			return json_integer(v->u.integer);
		return json_real(rego_number_double(v));
	case REGO_STRING:
		return json_stringn_nocheck(v->u.string, v->length);
	case REGO_ARRAY:
	case REGO_SET: {
		json_t *array = json_array();
		if (!array)
			return NULL;
		for (size_t i = 0; i < v->length; i++) {
			json_t *item = rego_to_json(v->u.items[i]);
			if (!item || json_array_append_new(array, item) < 0) {
				json_decref(array);
				return NULL;
			}
		}
		return array;
	}
	case REGO_OBJECT: {
		json_t *object = json_object();
		if (!object)
			return NULL;
		for (size_t i = 0; i < v->length; i++) {
			const struct rego_value *key = v->u.members[i].key;
			json_t *value = rego_to_json(v->u.members[i].value);
			int r;
			if (!value) {
				json_decref(object);
				return NULL;
			}
			if (key->type == REGO_STRING) {
				r = json_object_setn_new_nocheck(object, key->u.string, key->length,
				                                 value);
			} else {
				struct rego_arena scratch;
				struct rego_strbuf sb;
				rego_arena_init(&scratch, 0);
				rego_strbuf_init(&sb, &scratch);
				r = rego_format_json(&sb, key);
				if (r == 0)
					r = json_object_setn_new_nocheck(object, sb.data, sb.length,
					                                 value);
				else
					json_decref(value);
				rego_arena_free(&scratch);
			}
			if (r < 0) {
				json_decref(object);
				return NULL;
			}
		}
		return object;
	}
	}
	return NULL;
}

/* ---- JSON text -> value ---------------------------------------------------------------- */

struct json_parser {
	struct rego_arena *arena;
	const char *text;
	size_t length, at;
	int depth;
};

static void
json_skip_space(struct json_parser *p)
{
	while (p->at < p->length) {
		char c = p->text[p->at];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->at++;
	}
}

static int
json_read_hex4(struct json_parser *p, uint32_t *ret)
{
	if (p->length - p->at < 4)
		return JIT_ERR_INVALID;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = jit_hex_digit(p->text[p->at + i]);
		if (h < 0)
			return JIT_ERR_INVALID;
		v = v * 16 + (uint32_t)h;
	}
	p->at += 4;
	*ret = v;
	return 0;
}

size_t
rego_utf8_encode(uint32_t cp, char *out)
{
	if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parses a JSON string starting at the opening quote. */
static int
json_parse_string(struct json_parser *p, const struct rego_value **ret)
{
	p->at++; /* opening quote */
	size_t start = p->at;
	bool escaped = false;
	while (p->at < p->length && p->text[p->at] != '"') {
		unsigned char c = (unsigned char)p->text[p->at];
		if (c < 0x20)
			return JIT_ERR_INVALID;
		if (c == '\\') {
			escaped = true;
			p->at++;
		}
		p->at++;
	}
	if (p->at >= p->length)
		return JIT_ERR_INVALID;
	size_t end = p->at;
	p->at++; /* closing quote */
	if (!escaped) {
		*ret = rego_string(p->arena, p->text + start, end - start);
		return *ret ? 0 : -ENOMEM;
	}
	char *out = rego_arena_alloc(p->arena, end - start + 1);
	if (!out)
		return -ENOMEM;
	size_t n = 0;
	struct json_parser sub = *p;
	sub.at = start;
	while (sub.at < end) {
		char c = sub.text[sub.at++];
		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		char e = sub.text[sub.at++];
		switch (e) {
		case '"':
		case '\\':
		case '/':
			out[n++] = e;
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u': {
			uint32_t cp, low;
			if (json_read_hex4(&sub, &cp) < 0)
				return JIT_ERR_INVALID;
			if (cp >= 0xd800 && cp < 0xdc00 && end - sub.at >= 6 &&
			    sub.text[sub.at] == '\\' && sub.text[sub.at + 1] == 'u') {
				sub.at += 2;
				if (json_read_hex4(&sub, &low) < 0)
					return JIT_ERR_INVALID;
				if (low >= 0xdc00 && low < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				else {
					n += rego_utf8_encode(0xfffd, out + n);
					cp = low;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			/* A \u escape is 6 bytes of input and at most 4 of output (the pair form
			 * is 12 in, 4 out), so `out` cannot overflow. */
			n += rego_utf8_encode(cp, out + n);
			break;
		}
		default:
			return JIT_ERR_INVALID;
		}
	}
	out[n] = '\0';
	*ret = rego_string_wrap(p->arena, out, n);
	return *ret ? 0 : -ENOMEM;
}

static int json_parse_value(struct json_parser *p, const struct rego_value **ret);

static int
json_parse_array(struct json_parser *p, const struct rego_value **ret)
{
	struct rego_vec items;
	rego_vec_init(&items, p->arena);
	p->at++;
	json_skip_space(p);
	if (p->at < p->length && p->text[p->at] == ']') {
		p->at++;
		*ret = &rego_empty_array;
		return 0;
	}
	for (;;) {
		const struct rego_value *item;
		int r = json_parse_value(p, &item);
		if (r < 0)
			return r;
		if ((r = rego_vec_push(&items, item)) < 0)
			return r;
		json_skip_space(p);
		if (p->at >= p->length)
			return JIT_ERR_INVALID;
		char c = p->text[p->at++];
		if (c == ']')
			break;
		if (c != ',')
			return JIT_ERR_INVALID;
	}
	*ret = rego_vec_to_array(&items);
	return *ret ? 0 : -ENOMEM;
}

static int
json_parse_object(struct json_parser *p, const struct rego_value **ret)
{
	struct rego_member_vec members;
	rego_member_vec_init(&members, p->arena);
	p->at++;
	json_skip_space(p);
	if (p->at < p->length && p->text[p->at] == '}') {
		p->at++;
		*ret = &rego_empty_object;
		return 0;
	}
	for (;;) {
		const struct rego_value *key, *value;
		int r;
		json_skip_space(p);
		if (p->at >= p->length || p->text[p->at] != '"')
			return JIT_ERR_INVALID;
		if ((r = json_parse_string(p, &key)) < 0)
			return r;
		json_skip_space(p);
		if (p->at >= p->length || p->text[p->at] != ':')
			return JIT_ERR_INVALID;
		p->at++;
		if ((r = json_parse_value(p, &value)) < 0)
			return r;
		if ((r = rego_member_vec_push(&members, key, value)) < 0)
			return r;
		json_skip_space(p);
		if (p->at >= p->length)
			return JIT_ERR_INVALID;
		char c = p->text[p->at++];
		if (c == '}')
			break;
		if (c != ',')
			return JIT_ERR_INVALID;
	}
	*ret = rego_member_vec_to_object(&members);
	return *ret ? 0 : -ENOMEM;
}

static bool
json_match_word(struct json_parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->length - p->at < n || memcmp(p->text + p->at, word, n) != 0)
		return false;
	p->at += n;
	return true;
}

static int
json_parse_value(struct json_parser *p, const struct rego_value **ret)
{
	json_skip_space(p);
	if (p->at >= p->length)
		return JIT_ERR_INVALID;
	if (++p->depth > JSON_MAX_DEPTH)
		return JIT_ERR_TOO_LARGE;
	int r = 0;
	char c = p->text[p->at];
	switch (c) {
	case '{':
		r = json_parse_object(p, ret);
		break;
	case '[':
		r = json_parse_array(p, ret);
		break;
	case '"':
		r = json_parse_string(p, ret);
		break;
	case 't':
		*ret = &rego_true_value;
		r = json_match_word(p, "true") ? 0 : JIT_ERR_INVALID;
		break;
	case 'f':
		*ret = &rego_false_value;
		r = json_match_word(p, "false") ? 0 : JIT_ERR_INVALID;
		break;
	case 'n':
		*ret = &rego_null_value;
		r = json_match_word(p, "null") ? 0 : JIT_ERR_INVALID;
		break;
	default: {
		size_t start = p->at;
		if (c == '-')
			p->at++;
		while (p->at < p->length) {
			char d = p->text[p->at];
			if ((d >= '0' && d <= '9') || d == '.' || d == 'e' || d == 'E' ||
			    d == '+' || d == '-')
				p->at++;
			else
				break;
		}
		if (p->at == start)
			return JIT_ERR_INVALID;
		/* JSON forbids leading zeros and a leading '+'. */
		const char *digits = p->text + start + (c == '-');
		size_t ndigits = p->at - start - (c == '-');
		if (ndigits == 0 || digits[0] == '+' ||
		    (ndigits > 1 && digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9'))
			return JIT_ERR_INVALID;
		*ret = rego_number_parse(p->arena, p->text + start, p->at - start);
		r = *ret ? 0 : JIT_ERR_INVALID;
		break;
	}
	}
	p->depth--;
	return r;
}

int
rego_parse_json(struct rego_arena *arena, const char *text, size_t len,
                const struct rego_value **ret)
{
	struct json_parser p = { .arena = arena, .text = text, .length = len };
	const struct rego_value *v;
	int r = json_parse_value(&p, &v);
	if (r < 0)
		return r;
	json_skip_space(&p);
	if (p.at != p.length)
		return JIT_ERR_INVALID;
	*ret = v;
	return 0;
}

/* ---- text forms ------------------------------------------------------------------------ */

void
rego_strbuf_init(struct rego_strbuf *sb, struct rego_arena *arena)
{
	sb->arena = arena;
	sb->data = NULL;
	sb->length = sb->capacity = 0;
}

static int
strbuf_reserve(struct rego_strbuf *sb, size_t extra)
{
	if (sb->length + extra + 1 <= sb->capacity)
		return 0;
	if (sb->length + extra + 1 > REGO_VALUE_MAX_LENGTH)
		return -ENOMEM;
	size_t cap = sb->capacity ? sb->capacity : 64;
	while (cap < sb->length + extra + 1)
		cap *= 2;
	char *p = rego_arena_realloc(sb->arena, sb->data, sb->capacity, cap);
	if (!p)
		return -ENOMEM;
	sb->data = p;
	sb->capacity = cap;
	return 0;
}

int
rego_strbuf_append(struct rego_strbuf *sb, const char *s, size_t len)
{
	int r = strbuf_reserve(sb, len);
	if (r < 0)
		return r;
	memcpy(sb->data + sb->length, s, len);
	sb->length += len;
	sb->data[sb->length] = '\0';
	return 0;
}

int
rego_strbuf_appendf(struct rego_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return JIT_ERR_INVALID;
	int r = strbuf_reserve(sb, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->length, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->length += (size_t)n;
	return 0;
}

const struct rego_value *
rego_strbuf_to_value(struct rego_strbuf *sb)
{
	if (sb->length == 0)
		return &rego_empty_string;
	return rego_string_wrap(sb->arena, sb->data, sb->length);
}

int
rego_format_number(struct rego_strbuf *sb, const struct rego_value *v)
{
	if (v->number_kind == REGO_NUM_INT)
		return rego_strbuf_appendf(sb, "%lld", (long long)v->u.integer);
	if (v->number_kind == REGO_NUM_BIG)
		return rego_strbuf_append(sb, v->u.big, v->length);
	/* Shortest digits that read back as the same double. */
	char buf[64];
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(buf, sizeof(buf), "%.*g", precision, v->u.real);
		if (strtod(buf, NULL) == v->u.real)
			break;
	}
	/* %g and Go's strconv agree on the exponent form: 1e+21, 1e-07. */
	return rego_strbuf_append(sb, buf, strlen(buf));
}

static int
format_json_string(struct rego_strbuf *sb, const char *s, size_t len)
{
	int r = rego_strbuf_append(sb, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len && r == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char ubuf[8];
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (c < 0x20) {
				snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
				esc = ubuf;
			}
		}
		if (!esc)
			continue;
		r = rego_strbuf_append(sb, s + run, i - run);
		if (r == 0)
			r = rego_strbuf_append(sb, esc, strlen(esc));
		run = i + 1;
	}
	if (r == 0)
		r = rego_strbuf_append(sb, s + run, len - run);
	if (r == 0)
		r = rego_strbuf_append(sb, "\"", 1);
	return r;
}

static int
format_any(struct rego_strbuf *sb, const struct rego_value *v, bool rego_syntax, int depth)
{
	int r = 0;
	if (depth > JSON_MAX_DEPTH)
		return JIT_ERR_TOO_LARGE;
	switch (v->type) {
	case REGO_NULL:
		return rego_strbuf_append(sb, "null", 4);
	case REGO_BOOLEAN:
		return v->u.boolean ? rego_strbuf_append(sb, "true", 4)
		                    : rego_strbuf_append(sb, "false", 5);
	case REGO_NUMBER:
		return rego_format_number(sb, v);
	case REGO_STRING:
		return format_json_string(sb, v->u.string, v->length);
	case REGO_SET:
		if (rego_syntax && v->length == 0)
			return rego_strbuf_append(sb, "set()", 5);
		/* fallthrough */
	case REGO_ARRAY: {
		bool braces = rego_syntax && v->type == REGO_SET;
		r = rego_strbuf_append(sb, braces ? "{" : "[", 1);
		for (size_t i = 0; i < v->length && r == 0; i++) {
			if (i > 0)
				r = rego_strbuf_append(sb, rego_syntax ? ", " : ",",
				                       rego_syntax ? 2 : 1);
			if (r == 0)
				r = format_any(sb, v->u.items[i], rego_syntax, depth + 1);
		}
		if (r == 0)
			r = rego_strbuf_append(sb, braces ? "}" : "]", 1);
		return r;
	}
	case REGO_OBJECT:
		r = rego_strbuf_append(sb, "{", 1);
		for (size_t i = 0; i < v->length && r == 0; i++) {
			const struct rego_value *key = v->u.members[i].key;
			if (i > 0)
				r = rego_strbuf_append(sb, rego_syntax ? ", " : ",",
				                       rego_syntax ? 2 : 1);
			if (r == 0 && (rego_syntax || key->type == REGO_STRING)) {
				r = format_any(sb, key, rego_syntax, depth + 1);
			} else if (r == 0) {
				/* JSON keys must be strings: a non-string key becomes its JSON text. */
				struct rego_strbuf inner;
				rego_strbuf_init(&inner, sb->arena);
				r = format_any(&inner, key, false, depth + 1);
				if (r == 0)
					r = format_json_string(sb, inner.data, inner.length);
			}
			if (r == 0)
				r = rego_strbuf_append(sb, rego_syntax ? ": " : ":",
				                       rego_syntax ? 2 : 1);
			if (r == 0)
				r = format_any(sb, v->u.members[i].value, rego_syntax, depth + 1);
		}
		if (r == 0)
			r = rego_strbuf_append(sb, "}", 1);
		return r;
	}
	return JIT_ERR_INVALID;
}

int
rego_format_json(struct rego_strbuf *sb, const struct rego_value *v)
{
	return format_any(sb, v, false, 0);
}

int
rego_format_rego(struct rego_strbuf *sb, const struct rego_value *v)
{
	return format_any(sb, v, true, 0);
}
