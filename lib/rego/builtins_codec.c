/* Built-in functions: codec group — JSON text, URL query encoding, base64 (standard and URL
 * alphabets) and hex, with Go's error texts ("illegal base64 data at input byte N"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/common/text.h"
#include "lib/rego/builtins.h"

static const char std_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
oom(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

static int
encode(struct rego_builtin_ctx *ctx, const struct rego_value *in, const char *alphabet, bool pad,
       const struct rego_value **ret)
{
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	const unsigned char *s = (const unsigned char *)in->u.string;
	size_t n = in->length;
	char *out = rego_arena_alloc(ctx->arena, (n + 2) / 3 * 4 + 1);
	if (!out)
		return oom(ctx);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = alphabet[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = alphabet[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	*ret = rego_string_wrap(ctx->arena, out, o);
	return *ret ? 0 : oom(ctx);
}

static int
value_of(const char *alphabet, char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Decodes as Go's encoding/base64 does: padding required when `padded` (strict on its
 * placement), newlines ignored. Returns 0, or -1 with *ret_error_at set to the offending
 * input byte. */
static int
decode(const char *s, size_t n, const char *alphabet, bool padded, unsigned char *out,
       size_t *ret_len, size_t *ret_error_at)
{
	size_t o = 0, q = 0;
	uint32_t acc = 0;
	size_t pads = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=' && padded) {
			/* Padding may only complete a quantum of 2 or 3 characters. */
			if (q < 2) {
				*ret_error_at = i;
				return -1;
			}
			pads++;
			size_t need = 4 - q;
			size_t j = i + 1;
			while (pads < need && j < n) {
				if (s[j] == '\r' || s[j] == '\n') {
					j++;
					continue;
				}
				if (s[j] != '=') {
					*ret_error_at = j;
					return -1;
				}
				pads++;
				j++;
			}
			if (pads < need) {
				*ret_error_at = n;
				return -1;
			}
			for (; j < n; j++)
				if (s[j] != '\r' && s[j] != '\n') {
					*ret_error_at = j;
					return -1;
				}
			break;
		}
		int v = value_of(alphabet, c);
		if (v < 0) {
			*ret_error_at = i;
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		if (++q == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			q = 0;
			acc = 0;
		}
	}
	if (q == 1) {
		*ret_error_at = n - 1;
		return -1;
	}
	if (q && !padded && pads == 0) {
		/* Unpadded tail. */
	} else if (q && pads == 0) {
		*ret_error_at = n;
		return -1;
	}
	if (q == 2) {
		out[o++] = (unsigned char)(acc >> 4);
	} else if (q == 3) {
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	*ret_len = o;
	return 0;
}

static int
decode_builtin(struct rego_builtin_ctx *ctx, const struct rego_value *in, const char *alphabet,
               bool padded, const struct rego_value **ret)
{
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	unsigned char *out = rego_arena_alloc(ctx->arena, in->length / 4 * 3 + 4);
	if (!out)
		return oom(ctx);
	size_t len, at;
	if (decode(in->u.string, in->length, alphabet, padded, out, &len, &at) < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
		                          "illegal base64 data at input byte %zu", at);
	out[len] = '\0';
	*ret = rego_string_wrap(ctx->arena, (const char *)out, len);
	return *ret ? 0 : oom(ctx);
}

static int
base64_encode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return encode(ctx, args[0], std_alphabet, true, ret);
}

static int
base64_decode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return decode_builtin(ctx, args[0], std_alphabet, true, ret);
}

static int
base64_is_valid(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	unsigned char *out = rego_arena_alloc(ctx->arena, in->length / 4 * 3 + 4);
	size_t len, at;
	if (!out)
		return oom(ctx);
	*ret = rego_bool(decode(in->u.string, in->length, std_alphabet, true, out, &len, &at) == 0);
	return 0;
}

static int
base64url_encode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	return encode(ctx, args[0], url_alphabet, true, ret);
}

static int
base64url_encode_no_pad(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                        const struct rego_value **ret)
{
	return encode(ctx, args[0], url_alphabet, false, ret);
}

/* base64url.decode accepts both padded and unpadded input, as OPA's does. */
static int
base64url_decode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	bool has_pad = in->type == REGO_STRING && memchr(in->u.string, '=', in->length);
	return decode_builtin(ctx, in, url_alphabet, has_pad, ret);
}

static int
hex_encode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	static const char digits[] = "0123456789abcdef";
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	char *out = rego_arena_alloc(ctx->arena, in->length * 2 + 1);
	if (!out)
		return oom(ctx);
	for (size_t i = 0; i < in->length; i++) {
		unsigned char c = (unsigned char)in->u.string[i];
		out[2 * i] = digits[c >> 4];
		out[2 * i + 1] = digits[c & 15];
	}
	out[in->length * 2] = '\0';
	*ret = rego_string_wrap(ctx->arena, out, in->length * 2);
	return *ret ? 0 : oom(ctx);
}

static int
hex_decode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
           const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	char *out = rego_arena_alloc(ctx->arena, in->length / 2 + 1);
	if (!out)
		return oom(ctx);
	size_t n = in->length;
	for (size_t i = 0; i + 1 < n + (n % 2); i += 2) {
		int hi = jit_hex_digit(in->u.string[i]);
		if (hi < 0)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "encoding/hex: invalid byte: U+%04X '%c'",
			                          (unsigned char)in->u.string[i], in->u.string[i]);
		if (i + 1 >= n)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "encoding/hex: odd length hex string");
		int lo = jit_hex_digit(in->u.string[i + 1]);
		if (lo < 0)
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN, "encoding/hex: invalid byte: U+%04X '%c'",
			        (unsigned char)in->u.string[i + 1], in->u.string[i + 1]);
		out[i / 2] = (char)(hi * 16 + lo);
	}
	out[n / 2] = '\0';
	*ret = rego_string_wrap(ctx->arena, out, n / 2);
	return *ret ? 0 : oom(ctx);
}

/* ---- JSON --------------------------------------------------------------------------------- */

static int
json_marshal(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	if (rego_format_json(&sb, args[0]) < 0)
		return oom(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : oom(ctx);
}

/* Indented JSON as Go's MarshalIndent writes it, with the prefix also before the first line
 * (as OPA's json.marshal_with_options does). */
static int
indent_json(struct rego_strbuf *sb, const struct rego_value *v, const char *prefix,
            const char *indent, int depth)
{
	int r = 0;
	if (depth > 512)
		return -1;
	bool array = v->type == REGO_ARRAY || v->type == REGO_SET;
	if ((!array && v->type != REGO_OBJECT) || v->length == 0) {
		if (v->type == REGO_SET && v->length == 0)
			return rego_strbuf_append(sb, "[]", 2);
		return rego_format_json(sb, v);
	}
	r = rego_strbuf_append(sb, array ? "[" : "{", 1);
	for (uint32_t i = 0; i < v->length && r == 0; i++) {
		r = rego_strbuf_appendf(sb, "%s\n%s", i ? "," : "", prefix);
		for (int d = 0; d <= depth && r == 0; d++)
			r = rego_strbuf_append(sb, indent, strlen(indent));
		if (r == 0 && !array) {
			r = rego_format_json(sb, v->u.members[i].key);
			if (r == 0)
				r = rego_strbuf_append(sb, ": ", 2);
		}
		if (r == 0)
			r = indent_json(sb, array ? v->u.items[i] : v->u.members[i].value, prefix,
			                indent, depth + 1);
	}
	if (r == 0)
		r = rego_strbuf_appendf(sb, "\n%s", prefix);
	for (int d = 0; d < depth && r == 0; d++)
		r = rego_strbuf_append(sb, indent, strlen(indent));
	if (r == 0)
		r = rego_strbuf_append(sb, array ? "]" : "}", 1);
	return r;
}

static int
json_marshal_with_options(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                          const struct rego_value **ret)
{
	const struct rego_value *opts = args[1];
	if (opts->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 2, "object", opts);
	const char *prefix = "", *indent = "\t";
	bool pretty = false;
	for (uint32_t i = 0; i < opts->length; i++) {
		const struct rego_value *k = opts->u.members[i].key, *v = opts->u.members[i].value;
		const char *name = k->type == REGO_STRING ? k->u.string : "";
		if (strcmp(name, "prefix") == 0 && v->type == REGO_STRING) {
			prefix = v->u.string;
			pretty = true;
		} else if (strcmp(name, "indent") == 0 && v->type == REGO_STRING) {
			indent = v->u.string;
			pretty = true;
		} else if (strcmp(name, "pretty") == 0 && v->type == REGO_BOOLEAN) {
			/* pretty: false wins over any prefix or indent. */
			if (!v->u.boolean)
				return json_marshal(ctx, args, ret);
			pretty = true;
		} else {
			struct rego_strbuf key;
			rego_strbuf_init(&key, ctx->arena);
			if (rego_format_json(&key, k) < 0)
				return oom(ctx);
			return rego_builtin_error(ctx, REGO_ERR_TYPE,
			                          "object contained unknown key %s", key.data);
		}
	}
	if (!pretty)
		return json_marshal(ctx, args, ret);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	if (rego_strbuf_append(&sb, prefix, strlen(prefix)) < 0 ||
	    indent_json(&sb, args[0], prefix, indent, 0) < 0)
		return oom(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : oom(ctx);
}

static int
json_unmarshal(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	if (rego_parse_json(ctx->arena, in->u.string, in->length, ret) < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid JSON");
	return 0;
}

static int
json_is_valid(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	const struct rego_value *in = args[0], *parsed;
	*ret = rego_bool(in->type == REGO_STRING &&
	                 rego_parse_json(ctx->arena, in->u.string, in->length, &parsed) == 0);
	return 0;
}

/* ---- URL query encoding (Go's QueryEscape / QueryUnescape) ------------------------------- */

static int
query_escape(struct rego_strbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			r = rego_strbuf_append(sb, (const char *)&c, 1);
		else if (c == ' ')
			r = rego_strbuf_append(sb, "+", 1);
		else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			r = rego_strbuf_append(sb, e, 3);
		}
	}
	return r;
}

/* Returns 0, -1 for a bad escape (the escape is written to `bad`), or -ENOMEM. */
static int
query_unescape(struct rego_strbuf *sb, const char *s, size_t n, char bad[4])
{
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char c = s[i];
		if (c == '+') {
			r = rego_strbuf_append(sb, " ", 1);
		} else if (c == '%') {
			int hi = i + 1 < n ? jit_hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? jit_hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				size_t k = n - i < 3 ? n - i : 3;
				memcpy(bad, s + i, k);
				bad[k] = '\0';
				return -1;
			}
			char d = (char)(hi * 16 + lo);
			r = rego_strbuf_append(sb, &d, 1);
			i += 2;
		} else {
			r = rego_strbuf_append(sb, &c, 1);
		}
	}
	return r;
}

static int
urlquery_encode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	if (query_escape(&sb, in->u.string, in->length) < 0)
		return oom(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : oom(ctx);
}

static int
urlquery_decode(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	struct rego_strbuf sb;
	char bad[4];
	rego_strbuf_init(&sb, ctx->arena);
	int r = query_unescape(&sb, in->u.string, in->length, bad);
	if (r == -1)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid URL escape \"%s\"", bad);
	if (r < 0)
		return oom(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : oom(ctx);
}

static int
urlquery_encode_object(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                       const struct rego_value **ret)
{
	const struct rego_value *obj = args[0];
	if (obj->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", obj);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	int r = 0;
	for (uint32_t i = 0; i < obj->length && r == 0; i++) {
		const struct rego_value *k = obj->u.members[i].key, *v = obj->u.members[i].value;
		if (k->type != REGO_STRING)
			return rego_builtin_type_error(ctx, 1, "object with string keys", k);
		const struct rego_value *const *values = &v;
		uint32_t count = 1;
		if (v->type == REGO_ARRAY || v->type == REGO_SET) {
			values = v->u.items;
			count = v->length;
		}
		for (uint32_t j = 0; j < count && r == 0; j++) {
			if (values[j]->type != REGO_STRING)
				return rego_builtin_error(
				        ctx, REGO_ERR_TYPE,
				        "operand 1 values must be strings or arrays or "
				        "sets of strings");
			if (sb.length)
				r = rego_strbuf_append(&sb, "&", 1);
			if (r == 0)
				r = query_escape(&sb, k->u.string, k->length);
			if (r == 0)
				r = rego_strbuf_append(&sb, "=", 1);
			if (r == 0)
				r = query_escape(&sb, values[j]->u.string, values[j]->length);
		}
	}
	if (r < 0)
		return oom(ctx);
	*ret = rego_strbuf_to_value(&sb);
	return *ret ? 0 : oom(ctx);
}

static int
urlquery_decode_object(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                       const struct rego_value **ret)
{
	const struct rego_value *in = args[0];
	if (in->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", in);
	/* key -> values in order of appearance */
	struct rego_member_vec pairs;
	rego_member_vec_init(&pairs, ctx->arena);
	const char *s = in->u.string;
	size_t n = in->length;
	for (size_t i = 0; i < n;) {
		size_t start = i;
		while (i < n && s[i] != '&' && s[i] != ';')
			i++;
		size_t end = i++;
		if (end == start)
			continue;
		const char *eq = memchr(s + start, '=', end - start);
		size_t key_end = eq ? (size_t)(eq - s) : end;
		struct rego_strbuf k, v;
		char bad[4];
		rego_strbuf_init(&k, ctx->arena);
		rego_strbuf_init(&v, ctx->arena);
		int r = query_unescape(&k, s + start, key_end - start, bad);
		if (r == 0 && eq)
			r = query_unescape(&v, eq + 1, end - key_end - 1, bad);
		if (r == -1)
			return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
			                          "invalid URL escape \"%s\"", bad);
		const struct rego_value *kv = rego_strbuf_to_value(&k);
		const struct rego_value *vv = rego_strbuf_to_value(&v);
		if (r < 0 || !kv || !vv || rego_member_vec_push(&pairs, kv, vv) < 0)
			return oom(ctx);
	}
	struct rego_member_vec out;
	rego_member_vec_init(&out, ctx->arena);
	for (size_t i = 0; i < pairs.length; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = rego_equal(pairs.items[j].key, pairs.items[i].key);
		if (seen)
			continue;
		struct rego_vec values;
		rego_vec_init(&values, ctx->arena);
		for (size_t j = i; j < pairs.length; j++)
			if (rego_equal(pairs.items[j].key, pairs.items[i].key) &&
			    rego_vec_push(&values, pairs.items[j].value) < 0)
				return oom(ctx);
		const struct rego_value *arr = rego_vec_to_array(&values);
		if (!arr || rego_member_vec_push(&out, pairs.items[i].key, arr) < 0)
			return oom(ctx);
	}
	*ret = rego_member_vec_to_object(&out);
	return *ret ? 0 : oom(ctx);
}

/* ---- YAML (reading only) ---------------------------------------------------------------- */

#define YAML_MAX_DEPTH 256

/* A plain scalar read as YAML 1.1 core types do (null, booleans, integers, floats), else text. */
static const struct rego_value *
yaml_scalar(struct rego_arena *arena, const yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;
	size_t n = node->data.scalar.length;
	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return rego_string(arena, s, n);
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const trues[] = { "true", "True", "TRUE", "yes", "Yes",
		                             "YES",  "on",   "On",   "ON" };
	static const char *const falses[] = { "false", "False", "FALSE", "no", "No",
		                              "NO",    "off",   "Off",   "OFF" };
	for (size_t i = 0; i < sizeof(nulls) / sizeof(*nulls); i++)
		if (strcmp(s, nulls[i]) == 0)
			return &rego_null_value;
	for (size_t i = 0; i < sizeof(trues) / sizeof(*trues); i++)
		if (strcmp(s, trues[i]) == 0)
			return &rego_true_value;
	for (size_t i = 0; i < sizeof(falses) / sizeof(*falses); i++)
		if (strcmp(s, falses[i]) == 0)
			return &rego_false_value;
	const struct rego_value *num = rego_number_parse(arena, s, n);
	return num ? num : rego_string(arena, s, n);
}

static const struct rego_value *
yaml_value(struct rego_arena *arena, yaml_document_t *doc, yaml_node_t *node, int depth)
{
	if (!node || depth > YAML_MAX_DEPTH)
		return NULL;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return yaml_scalar(arena, node);
	case YAML_SEQUENCE_NODE: {
		struct rego_vec items;
		rego_vec_init(&items, arena);
		for (yaml_node_item_t *i = node->data.sequence.items.start;
		     i < node->data.sequence.items.top; i++) {
			const struct rego_value *v =
			        yaml_value(arena, doc, yaml_document_get_node(doc, *i), depth + 1);
			if (!v || rego_vec_push(&items, v) < 0)
				return NULL;
		}
		return rego_vec_to_array(&items);
	}
	case YAML_MAPPING_NODE: {
		struct rego_member_vec members;
		rego_member_vec_init(&members, arena);
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     p < node->data.mapping.pairs.top; p++) {
			const struct rego_value *k = yaml_value(
			        arena, doc, yaml_document_get_node(doc, p->key), depth + 1);
			const struct rego_value *v = yaml_value(
			        arena, doc, yaml_document_get_node(doc, p->value), depth + 1);
			if (!k || !v || rego_member_vec_push(&members, k, v) < 0)
				return NULL;
		}
		return rego_member_vec_to_object(&members);
	}
	default:
		return NULL;
	}
}

/* Reads one YAML document. Returns 0 and *ret, or -1 with libyaml's message in `error`. */
static int
yaml_read(struct rego_arena *arena, const struct rego_value *in, const struct rego_value **ret,
          char *error, size_t size)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(error, size, "yaml: out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)in->u.string, in->length);
	int r = -1;
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(error, size, "yaml: line %zu: %s", parser.problem_mark.line + 1,
		         parser.problem ? parser.problem : "invalid document");
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	*ret = root ? yaml_value(arena, &doc, root, 0) : &rego_null_value;
	if (*ret)
		r = 0;
	else
		snprintf(error, size, "yaml: document too deep or of an unsupported kind");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

static int
yaml_unmarshal(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	char error[256];
	if (args[0]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", args[0]);
	if (yaml_read(ctx->arena, args[0], ret, error, sizeof(error)) < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "%s", error);
	return 0;
}

static int
yaml_is_valid(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	char error[256];
	const struct rego_value *v;
	*ret = rego_bool(args[0]->type == REGO_STRING &&
	                 yaml_read(ctx->arena, args[0], &v, error, sizeof(error)) == 0);
	return 0;
}

const struct rego_builtin rego_builtins_codec[] = {
	{ "json.marshal", 1, 0, json_marshal },
	{ "json.marshal_with_options", 2, 0, json_marshal_with_options },
	{ "json.unmarshal", 1, 0, json_unmarshal },
	{ "json.is_valid", 1, 0, json_is_valid },
	{ "yaml.unmarshal", 1, 0, yaml_unmarshal },
	{ "yaml.is_valid", 1, 0, yaml_is_valid },
	{ "urlquery.encode", 1, 0, urlquery_encode },
	{ "urlquery.decode", 1, 0, urlquery_decode },
	{ "urlquery.encode_object", 1, 0, urlquery_encode_object },
	{ "urlquery.decode_object", 1, 0, urlquery_decode_object },
	{ "base64.encode", 1, 0, base64_encode },
	{ "base64.decode", 1, 0, base64_decode },
	{ "base64.is_valid", 1, 0, base64_is_valid },
	{ "base64url.encode", 1, 0, base64url_encode },
	{ "base64url.encode_no_pad", 1, 0, base64url_encode_no_pad },
	{ "base64url.decode", 1, 0, base64url_decode },
	{ "hex.encode", 1, 0, hex_encode },
	{ "hex.decode", 1, 0, hex_decode },
	{ NULL, 0, 0, NULL },
};
