/* Grants: the name/value credential pairs a provider issued, and their JSON text for sealing
 * at rest. Values are secrets: every copy this file makes is wiped before it is freed. The
 * text read back is trusted no further than its bounds (it comes from the store). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/buf.h"
#include "lib/common/errors.h"
#include "lib/common/text.h"
#include "server/providers/provider.h"

static void
wipe_string(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

void
jit_grant_clear(struct jit_grant *grant)
{
	if (!grant)
		return;
	for (size_t i = 0; i < grant->count && i < JIT_MAX_CREDENTIALS; i++) {
		wipe_string(grant->credentials[i].value);
		free(grant->credentials[i].value);
		free(grant->credentials[i].name);
	}
	explicit_bzero(grant, sizeof(*grant));
}

/* Names are environment variable names: a letter or '_', then letters, digits and '_'. */
static bool
name_valid(const char *name, size_t length)
{
	if (length == 0 || length > JIT_GRANT_MAX_NAME)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = name[i];
		bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
		if (!letter && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
static bool
utf8_valid(const unsigned char *s, size_t length)
{
	size_t i = 0;
	while (i < length) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (length - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Appends name and value of the given lengths (no NUL inside; checked by the callers). */
static int
grant_add_n(struct jit_grant *grant, const char *name, size_t name_length, const char *value,
            size_t value_length)
{
	if (grant->count >= JIT_MAX_CREDENTIALS || value_length > JIT_GRANT_MAX_VALUE)
		return JIT_ERR_TOO_LARGE;
	if (!name_valid(name, name_length) ||
	    !utf8_valid((const unsigned char *)value, value_length))
		return JIT_ERR_INVALID;
	char *n = strndup(name, name_length);
	char *v = malloc(value_length + 1);
	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	memcpy(v, value, value_length);
	v[value_length] = '\0';
	grant->credentials[grant->count].name = n;
	grant->credentials[grant->count].value = v;
	grant->count++;
	return 0;
}

int
jit_grant_add(struct jit_grant *grant, const char *name, const char *value)
{
	if (!grant || !name || !value)
		return JIT_ERR_INVALID;
	size_t name_length = strnlen(name, JIT_GRANT_MAX_NAME + 1);
	size_t value_length = strnlen(value, JIT_GRANT_MAX_VALUE + 1);
	if (name_length > JIT_GRANT_MAX_NAME || value_length > JIT_GRANT_MAX_VALUE)
		return JIT_ERR_TOO_LARGE;
	return grant_add_n(grant, name, name_length, value, value_length);
}

/* ---- serialize -------------------------------------------------------------------------- */

static int
put_json_string(struct jit_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	int r = jit_buf_put_u8(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++) {
		char escaped[6] = { '\\', 0 };
		size_t n = 2;
		switch (*p) {
		case '"':
			escaped[1] = '"';
			break;
		case '\\':
			escaped[1] = '\\';
			break;
		case '\n':
			escaped[1] = 'n';
			break;
		case '\r':
			escaped[1] = 'r';
			break;
		case '\t':
			escaped[1] = 't';
			break;
		default:
			if (*p >= 0x20) {
				r = jit_buf_put_u8(b, *p);
				continue;
			}
			escaped[1] = 'u';
			escaped[2] = '0';
			escaped[3] = '0';
			escaped[4] = hex[*p >> 4];
			escaped[5] = hex[*p & 15];
			n = 6;
		}
		r = jit_buf_put(b, escaped, n);
	}
	return r == 0 ? jit_buf_put_u8(b, '"') : r;
}

static int
put_text(struct jit_buf *b, const char *s)
{
	return jit_buf_put(b, s, strlen(s));
}

int
jit_grant_serialize(const struct jit_grant *grant, struct jit_secret **ret_text)
{
	if (!grant || grant->count > JIT_MAX_CREDENTIALS)
		return JIT_ERR_INVALID;
	_cleanup_(jit_buf_freep) struct jit_buf *b = &(struct jit_buf){ 0 };
	jit_buf_init(b, JIT_GRANT_MAX_TEXT);
	int r = put_text(b, "{\"credentials\":[");
	for (size_t i = 0; r == 0 && i < grant->count; i++) {
		const struct jit_credential *c = &grant->credentials[i];
		if (!c->name || !c->value)
			return JIT_ERR_INVALID;
		if ((i > 0 && (r = jit_buf_put_u8(b, ',')) < 0) ||
		    (r = put_text(b, "{\"name\":")) < 0 || (r = put_json_string(b, c->name)) < 0 ||
		    (r = put_text(b, ",\"value\":")) < 0 || (r = put_json_string(b, c->value)) < 0)
			break;
		r = jit_buf_put_u8(b, '}');
	}
	if (r == 0)
		r = put_text(b, "]}");
	if (r < 0)
		return r;
	return jit_secret_new(b->data, b->length, ret_text);
}

/* ---- deserialize ------------------------------------------------------------------------
 * A strict reader of exactly the shape written above (members in either order, whitespace
 * allowed), decoding strings into a scratch buffer that is wiped: jansson would leave copies
 * of the values in freed memory. */

struct reader {
	const char *p, *end;
	char *scratch; /* JIT_GRANT_MAX_VALUE + 1 bytes, wiped by the caller */
	size_t length; /* of the last string read into scratch */
};

static void
skip_space(struct reader *rd)
{
	while (rd->p < rd->end &&
	       (*rd->p == ' ' || *rd->p == '\t' || *rd->p == '\n' || *rd->p == '\r'))
		rd->p++;
}

static bool
expect_char(struct reader *rd, char c)
{
	skip_space(rd);
	if (rd->p >= rd->end || *rd->p != c)
		return false;
	rd->p++;
	return true;
}

static bool
peek_char(struct reader *rd, char c)
{
	skip_space(rd);
	return rd->p < rd->end && *rd->p == c;
}

static int
read_hex4(struct reader *rd, uint32_t *ret)
{
	uint32_t v = 0;
	if (rd->end - rd->p < 4)
		return JIT_ERR_INVALID;
	for (int i = 0; i < 4; i++) {
		int d = jit_hex_digit(rd->p[i]);
		if (d < 0)
			return JIT_ERR_INVALID;
		v = (v << 4) | (uint32_t)d;
	}
	rd->p += 4;
	*ret = v;
	return 0;
}

static int
scratch_put(struct reader *rd, const char *bytes, size_t n)
{
	if (n > JIT_GRANT_MAX_VALUE - rd->length)
		return JIT_ERR_TOO_LARGE;
	memcpy(rd->scratch + rd->length, bytes, n);
	rd->length += n;
	return 0;
}

static int
put_code_point(struct reader *rd, uint32_t cp)
{
	char out[4];
	size_t n;
	if (cp == 0)
		return JIT_ERR_INVALID; /* a NUL would cut the C string short */
	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (char)(0xf0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return scratch_put(rd, out, n);
}

static int
read_escape(struct reader *rd)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (rd->p >= rd->end)
		return JIT_ERR_INVALID;
	char c = *rd->p++;
	const char *k = c ? strchr(from, c) : NULL;
	if (k)
		return scratch_put(rd, &to[k - from], 1);
	if (c != 'u')
		return JIT_ERR_INVALID;
	uint32_t cp, low;
	int r = read_hex4(rd, &cp);
	if (r < 0)
		return r;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return JIT_ERR_INVALID;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (rd->end - rd->p < 2 || rd->p[0] != '\\' || rd->p[1] != 'u')
			return JIT_ERR_INVALID;
		rd->p += 2;
		if ((r = read_hex4(rd, &low)) < 0)
			return r;
		if (low < 0xdc00 || low > 0xdfff)
			return JIT_ERR_INVALID;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	}
	return put_code_point(rd, cp);
}

/* Reads a JSON string into rd->scratch (NUL-terminated; rd->length bytes). */
static int
read_string(struct reader *rd)
{
	rd->length = 0;
	if (!expect_char(rd, '"'))
		return JIT_ERR_INVALID;
	for (;;) {
		if (rd->p >= rd->end)
			return JIT_ERR_INVALID;
		unsigned char c = (unsigned char)*rd->p++;
		int r;
		if (c == '"')
			break;
		if (c < 0x20)
			return JIT_ERR_INVALID;
		if (c == '\\')
			r = read_escape(rd);
		else
			r = scratch_put(rd, (const char *)&c, 1);
		if (r < 0)
			return r;
	}
	rd->scratch[rd->length] = '\0';
	return 0;
}

/* {"name": "...", "value": "..."} in either order, each exactly once. */
static int
read_credential(struct reader *rd, struct jit_grant *grant)
{
	char name[JIT_GRANT_MAX_NAME + 1];
	size_t name_length = 0;
	bool have_name = false, have_value = false;
	size_t value_at = 0;
	int r;
	if (!expect_char(rd, '{'))
		return JIT_ERR_INVALID;
	for (int member = 0; member < 2; member++) {
		if (member > 0 && !expect_char(rd, ','))
			return JIT_ERR_INVALID;
		if ((r = read_string(rd)) < 0)
			return r;
		bool is_name = strcmp(rd->scratch, "name") == 0;
		bool is_value = strcmp(rd->scratch, "value") == 0;
		if ((!is_name && !is_value) || (is_name && have_name) || (is_value && have_value) ||
		    !expect_char(rd, ':'))
			return JIT_ERR_INVALID;
		if (is_name) {
			if ((r = read_string(rd)) < 0)
				return r;
			if (rd->length > JIT_GRANT_MAX_NAME)
				return JIT_ERR_TOO_LARGE;
			memcpy(name, rd->scratch, rd->length + 1);
			name_length = rd->length;
			have_name = true;
		} else {
			/* Skipped now and read last, so the value is in scratch when it is added. */
			skip_space(rd);
			value_at = (size_t)(rd->end - rd->p);
			if ((r = read_string(rd)) < 0)
				return r;
			have_value = true;
		}
	}
	if (!expect_char(rd, '}'))
		return JIT_ERR_INVALID;
	const char *after = rd->p;
	rd->p = rd->end - value_at;
	r = read_string(rd);
	rd->p = after;
	if (r < 0)
		return r;
	return grant_add_n(grant, name, name_length, rd->scratch, rd->length);
}

static int
read_grant(struct reader *rd, struct jit_grant *grant)
{
	int r;
	if (!expect_char(rd, '{') || read_string(rd) < 0 ||
	    strcmp(rd->scratch, "credentials") != 0 || !expect_char(rd, ':') ||
	    !expect_char(rd, '['))
		return JIT_ERR_INVALID;
	if (!peek_char(rd, ']')) {
		do {
			if (grant->count >= JIT_MAX_CREDENTIALS)
				return JIT_ERR_TOO_LARGE;
			if ((r = read_credential(rd, grant)) < 0)
				return r;
		} while (expect_char(rd, ','));
	}
	if (!expect_char(rd, ']') || !expect_char(rd, '}'))
		return JIT_ERR_INVALID;
	skip_space(rd);
	return rd->p == rd->end ? 0 : JIT_ERR_INVALID;
}

int
jit_grant_deserialize(const char *text, size_t len, struct jit_grant *grant)
{
	if (!text || !grant)
		return JIT_ERR_INVALID;
	if (len > JIT_GRANT_MAX_TEXT)
		return JIT_ERR_TOO_LARGE;
	struct reader rd = { text, text + len, malloc(JIT_GRANT_MAX_VALUE + 1), 0 };
	if (!rd.scratch)
		return -ENOMEM;
	struct jit_grant parsed = { 0 };
	int r = read_grant(&rd, &parsed);
	explicit_bzero(rd.scratch, JIT_GRANT_MAX_VALUE + 1);
	free(rd.scratch);
	if (r < 0) {
		jit_grant_clear(&parsed);
		return r;
	}
	/* Replace the credentials; keep the caller's request id and times. */
	for (size_t i = 0; i < grant->count && i < JIT_MAX_CREDENTIALS; i++) {
		wipe_string(grant->credentials[i].value);
		free(grant->credentials[i].value);
		free(grant->credentials[i].name);
	}
	memcpy(grant->credentials, parsed.credentials, sizeof(parsed.credentials));
	grant->count = parsed.count;
	explicit_bzero(&parsed, sizeof(parsed));
	return 0;
}

void
jit_provider_free(struct jit_provider *provider)
{
	if (!provider)
		return;
	if (provider->ops && provider->ops->free)
		provider->ops->free(provider);
	else
		free(provider);
}
