/* Decoder and encoder of agent protocol frame bodies (agentproto.h). Trusts nothing it is
 * given: every length, tag, count and string byte is checked before a field is exposed. No
 * allocation; decoded fields point into the caller's buffer. */
#include "lib/agentproto/agentproto.h"

#include <errno.h>
#include <string.h>

#include "lib/common/errors.h"

enum kind {
	KIND_NONE = 0,
	KIND_STR,
	KIND_U8,
	KIND_U16,
	KIND_U32,
	KIND_I64,
	KIND_GRANT,
};

enum str_rule {
	RULE_TEXT = 0, /* printable UTF-8: no C0 control, no DEL */
	RULE_ENV,      /* NAME=VALUE, NAME [A-Za-z_][A-Za-z0-9_]* */
	RULE_STATE,    /* A-Z and _ only */
	RULE_PATH,     /* absolute */
};

struct tag_info {
	uint8_t kind;
	uint8_t rule;
	uint16_t max; /* STR: longest value */
};

#define TAG_COUNT 32

static const struct tag_info tags[TAG_COUNT] = {
	[JIT_AP_TAG_VERSION_MIN] = { KIND_U16, 0, 0 },
	[JIT_AP_TAG_VERSION_MAX] = { KIND_U16, 0, 0 },
	[JIT_AP_TAG_VERSION] = { KIND_U16, 0, 0 },
	[JIT_AP_TAG_ERROR_CODE] = { KIND_U16, 0, 0 },
	[JIT_AP_TAG_MESSAGE] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_MESSAGE },
	[JIT_AP_TAG_USER] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_USER },
	[JIT_AP_TAG_PROVIDER] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_PROVIDER },
	[JIT_AP_TAG_ROLE] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_ROLE },
	[JIT_AP_TAG_SCOPE] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_SCOPE },
	[JIT_AP_TAG_DURATION] = { KIND_U32, 0, 0 },
	[JIT_AP_TAG_REASON] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_REASON },
	[JIT_AP_TAG_BREAK_GLASS] = { KIND_U8, 0, 0 },
	[JIT_AP_TAG_LOOKUP_ONLY] = { KIND_U8, 0, 0 },
	[JIT_AP_TAG_REQUEST_ID] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_REQUEST_ID },
	[JIT_AP_TAG_STATE] = { KIND_STR, RULE_STATE, JIT_AP_MAX_STATE },
	[JIT_AP_TAG_EXPIRES_AT] = { KIND_I64, 0, 0 },
	[JIT_AP_TAG_TIMEOUT_MS] = { KIND_U32, 0, 0 },
	[JIT_AP_TAG_SESSION_ID] = { KIND_STR, RULE_TEXT, JIT_AP_MAX_SESSION_ID },
	[JIT_AP_TAG_ENV] = { KIND_STR, RULE_ENV, JIT_AP_MAX_ENV_ENTRY },
	[JIT_AP_TAG_SESSION_DIR] = { KIND_STR, RULE_PATH, JIT_AP_MAX_PATH },
	[JIT_AP_TAG_GRANT] = { KIND_GRANT, 0, 0 },
};

struct rule {
	uint16_t tag;
	uint8_t min, max; /* occurrences; max 0 means "up to the schema's repeat bound" */
};

struct schema {
	uint8_t type;
	uint8_t nrules;
	uint16_t repeat_max; /* bound for repeated (max 0) fields */
	struct rule rules[8];
};

static const struct schema schemas[] = {
	{ JIT_AP_HELLO,
	  3,
	  0,
	  { { JIT_AP_TAG_VERSION_MIN, 0, 1 },
	    { JIT_AP_TAG_VERSION_MAX, 0, 1 },
	    { JIT_AP_TAG_VERSION, 0, 1 } } },
	{ JIT_AP_ERROR, 2, 0, { { JIT_AP_TAG_ERROR_CODE, 1, 1 }, { JIT_AP_TAG_MESSAGE, 0, 1 } } },
	{ JIT_AP_OK, 0, 0, { { 0, 0, 0 } } },
	{ JIT_AP_GRANT_ENSURE,
	  8,
	  0,
	  { { JIT_AP_TAG_USER, 1, 1 },
	    { JIT_AP_TAG_PROVIDER, 1, 1 },
	    { JIT_AP_TAG_ROLE, 1, 1 },
	    { JIT_AP_TAG_SCOPE, 0, 1 },
	    { JIT_AP_TAG_DURATION, 0, 1 },
	    { JIT_AP_TAG_REASON, 0, 1 },
	    { JIT_AP_TAG_BREAK_GLASS, 0, 1 },
	    { JIT_AP_TAG_LOOKUP_ONLY, 0, 1 } } },
	{ JIT_AP_GRANT_WAIT,
	  3,
	  0,
	  { { JIT_AP_TAG_USER, 1, 1 },
	    { JIT_AP_TAG_REQUEST_ID, 1, 1 },
	    { JIT_AP_TAG_TIMEOUT_MS, 1, 1 } } },
	{ JIT_AP_SESSION_OPEN,
	  5,
	  0,
	  { { JIT_AP_TAG_USER, 1, 1 },
	    { JIT_AP_TAG_SESSION_ID, 1, 1 },
	    { JIT_AP_TAG_PROVIDER, 0, 1 },
	    { JIT_AP_TAG_ROLE, 0, 1 },
	    { JIT_AP_TAG_SCOPE, 0, 1 } } },
	{ JIT_AP_SESSION_CLOSE,
	  2,
	  0,
	  { { JIT_AP_TAG_USER, 1, 1 }, { JIT_AP_TAG_SESSION_ID, 1, 1 } } },
	{ JIT_AP_MY_GRANTS, 0, 0, { { 0, 0, 0 } } },
	{ JIT_AP_MY_CREDENTIALS, 1, 0, { { JIT_AP_TAG_REQUEST_ID, 1, 1 } } },
	{ JIT_AP_DROP_GRANT, 1, 0, { { JIT_AP_TAG_REQUEST_ID, 1, 1 } } },
	{ JIT_AP_GRANT_STATE,
	  7,
	  0,
	  { { JIT_AP_TAG_REQUEST_ID, 1, 1 },
	    { JIT_AP_TAG_STATE, 1, 1 },
	    { JIT_AP_TAG_EXPIRES_AT, 0, 1 },
	    { JIT_AP_TAG_PROVIDER, 0, 1 },
	    { JIT_AP_TAG_ROLE, 0, 1 },
	    { JIT_AP_TAG_SCOPE, 0, 1 },
	    { JIT_AP_TAG_MESSAGE, 0, 1 } } },
	{ JIT_AP_SESSION_ENV,
	  2,
	  JIT_AP_MAX_ENV,
	  { { JIT_AP_TAG_ENV, 0, 0 }, { JIT_AP_TAG_SESSION_DIR, 0, 1 } } },
	{ JIT_AP_GRANT_LIST, 1, JIT_AP_MAX_GRANTS, { { JIT_AP_TAG_GRANT, 0, 0 } } },
	{ JIT_AP_CREDENTIALS, 1, JIT_AP_MAX_ENV, { { JIT_AP_TAG_ENV, 0, 0 } } },
};

/* The fields of a nested GRANT value. */
static const struct schema grant_schema = { 0,
	                                    6,
	                                    0,
	                                    { { JIT_AP_TAG_REQUEST_ID, 1, 1 },
	                                      { JIT_AP_TAG_STATE, 1, 1 },
	                                      { JIT_AP_TAG_PROVIDER, 1, 1 },
	                                      { JIT_AP_TAG_ROLE, 1, 1 },
	                                      { JIT_AP_TAG_SCOPE, 0, 1 },
	                                      { JIT_AP_TAG_EXPIRES_AT, 0, 1 } } };

static const struct schema *
schema_for(uint8_t type)
{
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (schemas[i].type == type)
			return &schemas[i];
	return NULL;
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), no C0 control
 * character and no DEL. */
static bool
text_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t extra;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			extra = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= extra)
			return false;
		for (size_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += extra + 1;
	}
	return true;
}

static bool
env_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	if (n == 0 ||
	    !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < n && s[i] != '='; i++) {
		uint8_t c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return i < n && text_valid(s + i + 1, n - i - 1);
}

static bool
str_valid(const struct tag_info *info, const uint8_t *s, size_t n)
{
	if (n > info->max)
		return false;
	switch (info->rule) {
	case RULE_ENV:
		return env_valid(s, n);
	case RULE_STATE:
		if (n == 0)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
				return false;
		return true;
	case RULE_PATH:
		return n > 0 && s[0] == '/' && text_valid(s, n);
	default:
		return text_valid(s, n);
	}
}

static int validate_fields(const uint8_t *p, size_t len, const struct schema *schema,
                           struct jit_ap_msg *msg, bool nested);

/* Checks one field value against its tag's kind. */
static int
value_valid(uint16_t tag, const uint8_t *v, size_t n, bool nested)
{
	const struct tag_info *info = &tags[tag];
	switch (info->kind) {
	case KIND_STR:
		return str_valid(info, v, n) ? 0 : JIT_ERR_INVALID;
	case KIND_U8:
		return n == 1 && v[0] <= 1 ? 0 : JIT_ERR_INVALID;
	case KIND_U16:
		return n == 2 ? 0 : JIT_ERR_INVALID;
	case KIND_U32:
		return n == 4 ? 0 : JIT_ERR_INVALID;
	case KIND_I64:
		return n == 8 ? 0 : JIT_ERR_INVALID;
	case KIND_GRANT:
		if (nested)
			return JIT_ERR_INVALID;
		return validate_fields(v, n, &grant_schema, NULL, true);
	default:
		return JIT_ERR_INVALID;
	}
}

/* Walks a TLV sequence, checking every field against the schema; stores the fields in msg
 * when it is not NULL. */
static int
validate_fields(const uint8_t *p, size_t len, const struct schema *schema, struct jit_ap_msg *msg,
                bool nested)
{
	uint16_t counts[TAG_COUNT] = { 0 };
	uint16_t version_min = 0, version_max = 0;
	size_t off = 0, nfields = 0;
	int r;

	while (off < len) {
		if (len - off < JIT_AP_FIELD_HEADER)
			return JIT_ERR_INVALID;
		uint16_t tag = get_u16(p + off), flen = get_u16(p + off + 2);
		off += JIT_AP_FIELD_HEADER;
		if (flen > len - off)
			return JIT_ERR_INVALID;
		if (nfields >= JIT_AP_MAX_FIELDS)
			return JIT_ERR_TOO_LARGE;
		const struct rule *rule = NULL;
		for (size_t i = 0; i < schema->nrules; i++)
			if (schema->rules[i].tag == tag)
				rule = &schema->rules[i];
		if (!rule || tag >= TAG_COUNT)
			return JIT_ERR_INVALID;
		uint16_t bound = rule->max ? rule->max : schema->repeat_max;
		if (counts[tag] >= bound)
			return JIT_ERR_INVALID;
		counts[tag]++;
		if ((r = value_valid(tag, p + off, flen, nested)) < 0)
			return r;
		if (tag == JIT_AP_TAG_VERSION_MIN)
			version_min = get_u16(p + off);
		else if (tag == JIT_AP_TAG_VERSION_MAX)
			version_max = get_u16(p + off);
		if (msg) {
			msg->fields[nfields].tag = tag;
			msg->fields[nfields].len = flen;
			msg->fields[nfields].value = p + off;
		}
		nfields++;
		off += flen;
	}
	for (size_t i = 0; i < schema->nrules; i++)
		if (counts[schema->rules[i].tag] < schema->rules[i].min)
			return JIT_ERR_INVALID;
	if (schema->type == JIT_AP_HELLO && !nested) {
		/* Either a client HELLO (min and max, min <= max) or an agent HELLO (version). */
		bool client = counts[JIT_AP_TAG_VERSION_MIN] && counts[JIT_AP_TAG_VERSION_MAX];
		bool agent = counts[JIT_AP_TAG_VERSION] > 0;
		if (client == agent ||
		    (!client &&
		     (counts[JIT_AP_TAG_VERSION_MIN] || counts[JIT_AP_TAG_VERSION_MAX])) ||
		    (client && version_min > version_max))
			return JIT_ERR_INVALID;
	}
	if (msg)
		msg->nfields = (uint16_t)nfields;
	return 0;
}

static int
decode(const uint8_t *body, size_t len, struct jit_ap_msg *msg)
{
	const struct schema *schema;
	int r;

	if (len > JIT_AP_MAX_FRAME)
		return JIT_ERR_TOO_LARGE;
	if (len < JIT_AP_BODY_HEADER)
		return JIT_ERR_INVALID;
	schema = schema_for(body[0]);
	if (!schema)
		return JIT_ERR_INVALID;
	if ((r = validate_fields(body + JIT_AP_BODY_HEADER, len - JIT_AP_BODY_HEADER, schema, msg,
	                         false)) < 0)
		return r;
	if (msg) {
		msg->type = body[0];
		msg->id = get_u32(body + 1);
	}
	return 0;
}

int
jit_ap_decode(const uint8_t *body, size_t len, struct jit_ap_msg *ret_msg)
{
	if (!body || !ret_msg)
		return JIT_ERR_INVALID;
	return decode(body, len, ret_msg);
}

static const struct jit_ap_field *
find(const struct jit_ap_msg *msg, uint16_t tag)
{
	for (size_t i = 0; i < msg->nfields; i++)
		if (msg->fields[i].tag == tag)
			return &msg->fields[i];
	return NULL;
}

int
jit_ap_msg_str(const struct jit_ap_msg *msg, uint16_t tag, struct jit_ap_str *ret_str)
{
	const struct jit_ap_field *f = find(msg, tag);
	if (!f || tag >= TAG_COUNT || tags[tag].kind != KIND_STR)
		return -ENOENT;
	*ret_str = jit_ap_field_str(f);
	return 0;
}

static int
msg_int(const struct jit_ap_msg *msg, uint16_t tag, uint8_t kind, uint64_t *ret_value)
{
	const struct jit_ap_field *f = find(msg, tag);
	if (!f || tag >= TAG_COUNT || tags[tag].kind != kind)
		return -ENOENT;
	switch (kind) {
	case KIND_U8:
		*ret_value = f->value[0];
		break;
	case KIND_U16:
		*ret_value = get_u16(f->value);
		break;
	case KIND_U32:
		*ret_value = get_u32(f->value);
		break;
	default:
		*ret_value = get_u64(f->value);
		break;
	}
	return 0;
}

int
jit_ap_msg_u8(const struct jit_ap_msg *msg, uint16_t tag, uint8_t *ret_value)
{
	uint64_t v;
	int r = msg_int(msg, tag, KIND_U8, &v);
	if (r == 0)
		*ret_value = (uint8_t)v;
	return r;
}

int
jit_ap_msg_u16(const struct jit_ap_msg *msg, uint16_t tag, uint16_t *ret_value)
{
	uint64_t v;
	int r = msg_int(msg, tag, KIND_U16, &v);
	if (r == 0)
		*ret_value = (uint16_t)v;
	return r;
}

int
jit_ap_msg_u32(const struct jit_ap_msg *msg, uint16_t tag, uint32_t *ret_value)
{
	uint64_t v;
	int r = msg_int(msg, tag, KIND_U32, &v);
	if (r == 0)
		*ret_value = (uint32_t)v;
	return r;
}

int
jit_ap_msg_i64(const struct jit_ap_msg *msg, uint16_t tag, int64_t *ret_value)
{
	uint64_t v;
	int r = msg_int(msg, tag, KIND_I64, &v);
	if (r == 0)
		*ret_value = (int64_t)v;
	return r;
}

bool
jit_ap_msg_flag(const struct jit_ap_msg *msg, uint16_t tag)
{
	uint8_t v = 0;
	return jit_ap_msg_u8(msg, tag, &v) == 0 && v == 1;
}

int
jit_ap_msg_next(const struct jit_ap_msg *msg, uint16_t tag, size_t *cursor,
                struct jit_ap_field *ret_field)
{
	for (size_t i = *cursor; i < msg->nfields; i++) {
		if (msg->fields[i].tag == tag) {
			*ret_field = msg->fields[i];
			*cursor = i + 1;
			return 0;
		}
	}
	*cursor = msg->nfields;
	return -ENOENT;
}

struct jit_ap_str
jit_ap_field_str(const struct jit_ap_field *field)
{
	struct jit_ap_str s = { (const char *)field->value, field->len };
	if (!s.ptr)
		s.ptr = "";
	return s;
}

int
jit_ap_grant_decode(const struct jit_ap_field *field, struct jit_ap_grant *ret_grant)
{
	struct jit_ap_grant g;
	size_t off = 0;

	if (field->tag != JIT_AP_TAG_GRANT ||
	    validate_fields(field->value, field->len, &grant_schema, NULL, true) < 0)
		return JIT_ERR_INVALID;
	memset(&g, 0, sizeof(g));
	while (off < field->len) {
		uint16_t tag = get_u16(field->value + off), flen = get_u16(field->value + off + 2);
		const uint8_t *v = field->value + off + JIT_AP_FIELD_HEADER;
		struct jit_ap_str s = { (const char *)v, flen };
		switch (tag) {
		case JIT_AP_TAG_REQUEST_ID:
			g.request_id = s;
			break;
		case JIT_AP_TAG_STATE:
			g.state = s;
			break;
		case JIT_AP_TAG_PROVIDER:
			g.provider = s;
			break;
		case JIT_AP_TAG_ROLE:
			g.role = s;
			break;
		case JIT_AP_TAG_SCOPE:
			g.scope = s;
			break;
		case JIT_AP_TAG_EXPIRES_AT:
			g.has_expires_at = true;
			g.expires_at = (int64_t)get_u64(v);
			break;
		}
		off += JIT_AP_FIELD_HEADER + flen;
	}
	*ret_grant = g;
	return 0;
}

int
jit_ap_str_copy(char *dst, size_t size, struct jit_ap_str str)
{
	size_t n = str.ptr ? str.len : 0;
	if (size == 0)
		return JIT_ERR_TOO_LARGE;
	if (n >= size) {
		dst[0] = '\0';
		return JIT_ERR_TOO_LARGE;
	}
	if (n)
		memcpy(dst, str.ptr, n);
	dst[n] = '\0';
	return 0;
}

bool
jit_ap_str_eq(struct jit_ap_str str, const char *s)
{
	size_t n = strlen(s);
	return str.ptr && str.len == n && memcmp(str.ptr, s, n) == 0;
}

int
jit_ap_msg_error(const struct jit_ap_msg *msg, uint16_t *ret_code, char *message,
                 size_t message_size)
{
	struct jit_ap_str text = { NULL, 0 };
	uint16_t code;

	if (msg->type != JIT_AP_ERROR || jit_ap_msg_u16(msg, JIT_AP_TAG_ERROR_CODE, &code) < 0)
		return JIT_ERR_INVALID;
	(void)jit_ap_msg_str(msg, JIT_AP_TAG_MESSAGE, &text);
	if (message && message_size > 0) {
		size_t n = text.ptr ? text.len : 0;
		if (n >= message_size) {
			/* Truncate at a UTF-8 character boundary. */
			n = message_size - 1;
			while (n > 0 && ((uint8_t)text.ptr[n] & 0xc0) == 0x80)
				n--;
		}
		if (n)
			memcpy(message, text.ptr, n);
		message[n] = '\0';
	}
	*ret_code = code;
	return 0;
}

const char *
jit_ap_error_name(uint16_t code)
{
	switch (code) {
	case JIT_AP_ERR_BAD_REQUEST:
		return "bad request";
	case JIT_AP_ERR_FORBIDDEN:
		return "forbidden";
	case JIT_AP_ERR_NOT_FOUND:
		return "not found";
	case JIT_AP_ERR_DENIED:
		return "denied";
	case JIT_AP_ERR_SERVER_UNREACHABLE:
		return "server unreachable";
	case JIT_AP_ERR_TIMEOUT:
		return "timeout";
	case JIT_AP_ERR_INTERNAL:
		return "internal error";
	case JIT_AP_ERR_VERSION:
		return "unsupported protocol version";
	default:
		return "unknown error";
	}
}

const char *
jit_ap_type_name(uint8_t type)
{
	switch (type) {
	case JIT_AP_HELLO:
		return "HELLO";
	case JIT_AP_ERROR:
		return "ERROR";
	case JIT_AP_OK:
		return "OK";
	case JIT_AP_GRANT_ENSURE:
		return "GRANT_ENSURE";
	case JIT_AP_GRANT_WAIT:
		return "GRANT_WAIT";
	case JIT_AP_SESSION_OPEN:
		return "SESSION_OPEN";
	case JIT_AP_SESSION_CLOSE:
		return "SESSION_CLOSE";
	case JIT_AP_MY_GRANTS:
		return "MY_GRANTS";
	case JIT_AP_MY_CREDENTIALS:
		return "MY_CREDENTIALS";
	case JIT_AP_DROP_GRANT:
		return "DROP_GRANT";
	case JIT_AP_GRANT_STATE:
		return "GRANT_STATE";
	case JIT_AP_SESSION_ENV:
		return "SESSION_ENV";
	case JIT_AP_GRANT_LIST:
		return "GRANT_LIST";
	case JIT_AP_CREDENTIALS:
		return "CREDENTIALS";
	default:
		return "unknown";
	}
}

/* ---- encoder ------------------------------------------------------------------------------ */

void
jit_ap_writer_init(struct jit_ap_writer *w, uint8_t *buf, size_t cap, uint8_t type, uint32_t id)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	if (!buf || cap < JIT_AP_FRAME_PREFIX + JIT_AP_BODY_HEADER) {
		w->error = JIT_ERR_TOO_LARGE;
		return;
	}
	w->buf[4] = type;
	put_be(w->buf + 5, id, 4);
	w->len = JIT_AP_FRAME_PREFIX + JIT_AP_BODY_HEADER;
}

static void
fail(struct jit_ap_writer *w, int error)
{
	if (w->error == 0)
		w->error = error;
}

/* Appends one field whose value has already been checked. */
static void
put_raw(struct jit_ap_writer *w, uint16_t tag, const void *value, size_t n)
{
	if (w->error)
		return;
	if (n > UINT16_MAX || w->nfields >= JIT_AP_MAX_FIELDS ||
	    w->cap - w->len < JIT_AP_FIELD_HEADER + n ||
	    w->len + JIT_AP_FIELD_HEADER + n > JIT_AP_MAX_FRAME_TOTAL) {
		fail(w, JIT_ERR_TOO_LARGE);
		return;
	}
	put_be(w->buf + w->len, tag, 2);
	put_be(w->buf + w->len + 2, n, 2);
	if (n)
		memcpy(w->buf + w->len + JIT_AP_FIELD_HEADER, value, n);
	w->len += JIT_AP_FIELD_HEADER + n;
	w->nfields++;
}

static bool
tag_is(uint16_t tag, uint8_t kind)
{
	return tag < TAG_COUNT && tags[tag].kind == kind;
}

void
jit_ap_put_strn(struct jit_ap_writer *w, uint16_t tag, const char *s, size_t n)
{
	if (!tag_is(tag, KIND_STR) || !s) {
		fail(w, JIT_ERR_INVALID);
		return;
	}
	if (n > tags[tag].max) {
		fail(w, JIT_ERR_TOO_LARGE);
		return;
	}
	if (!str_valid(&tags[tag], (const uint8_t *)s, n)) {
		fail(w, JIT_ERR_INVALID);
		return;
	}
	put_raw(w, tag, s, n);
}

void
jit_ap_put_str(struct jit_ap_writer *w, uint16_t tag, const char *s)
{
	jit_ap_put_strn(w, tag, s, s ? strnlen(s, (size_t)UINT16_MAX + 1) : 0);
}

static void
put_int(struct jit_ap_writer *w, uint16_t tag, uint8_t kind, uint64_t v, size_t n)
{
	uint8_t b[8];
	if (!tag_is(tag, kind)) {
		fail(w, JIT_ERR_INVALID);
		return;
	}
	put_be(b, v, n);
	put_raw(w, tag, b, n);
}

void
jit_ap_put_u8(struct jit_ap_writer *w, uint16_t tag, uint8_t value)
{
	if (value > 1) {
		fail(w, JIT_ERR_INVALID);
		return;
	}
	put_int(w, tag, KIND_U8, value, 1);
}

void
jit_ap_put_u16(struct jit_ap_writer *w, uint16_t tag, uint16_t value)
{
	put_int(w, tag, KIND_U16, value, 2);
}

void
jit_ap_put_u32(struct jit_ap_writer *w, uint16_t tag, uint32_t value)
{
	put_int(w, tag, KIND_U32, value, 4);
}

void
jit_ap_put_i64(struct jit_ap_writer *w, uint16_t tag, int64_t value)
{
	put_int(w, tag, KIND_I64, (uint64_t)value, 8);
}

/* Writes a nested field at the end of an inner buffer. */
static size_t
inner_put(uint8_t *p, size_t off, uint16_t tag, const void *v, size_t n)
{
	put_be(p + off, tag, 2);
	put_be(p + off + 2, n, 2);
	memcpy(p + off + JIT_AP_FIELD_HEADER, v, n);
	return off + JIT_AP_FIELD_HEADER + n;
}

void
jit_ap_put_grant(struct jit_ap_writer *w, const struct jit_ap_grant *g)
{
	uint8_t inner[6 * JIT_AP_FIELD_HEADER + JIT_AP_MAX_REQUEST_ID + JIT_AP_MAX_STATE +
	              JIT_AP_MAX_PROVIDER + JIT_AP_MAX_ROLE + JIT_AP_MAX_SCOPE + 8];
	const struct {
		uint16_t tag;
		struct jit_ap_str s;
		bool required;
	} parts[] = {
		{ JIT_AP_TAG_REQUEST_ID, g->request_id, true },
		{ JIT_AP_TAG_STATE, g->state, true },
		{ JIT_AP_TAG_PROVIDER, g->provider, true },
		{ JIT_AP_TAG_ROLE, g->role, true },
		{ JIT_AP_TAG_SCOPE, g->scope, false },
	};
	size_t off = 0;

	if (w->error)
		return;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i].s.ptr) {
			if (parts[i].required) {
				fail(w, JIT_ERR_INVALID);
				return;
			}
			continue;
		}
		if (!str_valid(&tags[parts[i].tag], (const uint8_t *)parts[i].s.ptr,
		               parts[i].s.len)) {
			fail(w, parts[i].s.len > tags[parts[i].tag].max ? JIT_ERR_TOO_LARGE
			                                                : JIT_ERR_INVALID);
			return;
		}
		off = inner_put(inner, off, parts[i].tag, parts[i].s.ptr, parts[i].s.len);
	}
	if (g->has_expires_at) {
		uint8_t b[8];
		put_be(b, (uint64_t)g->expires_at, 8);
		off = inner_put(inner, off, JIT_AP_TAG_EXPIRES_AT, b, 8);
	}
	put_raw(w, JIT_AP_TAG_GRANT, inner, off);
}

int
jit_ap_writer_finish(struct jit_ap_writer *w, size_t *ret_len)
{
	size_t body;
	int r;

	if (w->error)
		return w->error;
	body = w->len - JIT_AP_FRAME_PREFIX;
	if (body > JIT_AP_MAX_FRAME)
		return JIT_ERR_TOO_LARGE;
	if ((r = decode(w->buf + JIT_AP_FRAME_PREFIX, body, NULL)) < 0)
		return r;
	put_be(w->buf, body, 4);
	*ret_len = w->len;
	return 0;
}

int
jit_ap_encode_error(uint8_t *buf, size_t cap, uint32_t id, uint16_t code, const char *message,
                    size_t *ret_len)
{
	struct jit_ap_writer w;

	jit_ap_writer_init(&w, buf, cap, JIT_AP_ERROR, id);
	jit_ap_put_u16(&w, JIT_AP_TAG_ERROR_CODE, code);
	if (message) {
		size_t n = strnlen(message, JIT_AP_MAX_MESSAGE + 1);
		if (n > JIT_AP_MAX_MESSAGE) {
			n = JIT_AP_MAX_MESSAGE;
			while (n > 0 && ((uint8_t)message[n] & 0xc0) == 0x80)
				n--;
		}
		jit_ap_put_strn(&w, JIT_AP_TAG_MESSAGE, message, n);
	}
	return jit_ap_writer_finish(&w, ret_len);
}
