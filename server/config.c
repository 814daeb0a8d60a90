/* jitsudod's configuration file: reads the YAML (at most 1 MiB, one document, no anchors,
 * aliases or tags) into a small tree with line numbers, applies it over the defaults through
 * option tables, and checks the result. Trusts nothing in the file: every error names the
 * file, the line and the key. Also `jitsudod init`, which writes a starter config and keys. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "lib/common/duration.h"
#include "lib/common/errors.h"
#include "lib/common/random.h"
#include "server/audit/audit_chain.h"
#include "server/config.h"
#include "server/auth/issuer.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_DEPTH_MAX 16
#define CONFIG_NODES_MAX 100000
#define CONFIG_STRING_MAX 4096
#define CONFIG_KEY_PATH_MAX 192
#define CONFIG_SEEN_MAX 256
#define SEAL_KEY_BYTES 32

/* ---- the YAML tree ------------------------------------------------------------------------ */

enum node_kind {
	NODE_SCALAR,
	NODE_SEQUENCE,
	NODE_MAPPING,
};

struct node {
	enum node_kind kind;
	int line;   /* 1-based */
	bool null;  /* a plain scalar "", "~" or "null" */
	char *text; /* scalars: NUL-terminated copy */
	size_t length;
	struct node **items; /* sequences: the items; mappings: key, value, key, value, ... */
	size_t count;
	size_t capacity;
};

static void
node_free(struct node *node)
{
	if (!node)
		return;
	for (size_t i = 0; i < node->count; i++)
		node_free(node->items[i]); /* depth is bounded by CONFIG_DEPTH_MAX */
	free(node->items);
	free(node->text);
	free(node);
}

static void
node_freep(struct node **node)
{
	node_free(*node);
}

/* What turns a file into messages and resolves its relative paths. */
struct loader {
	const char *file; /* as the caller named it */
	const char *dir;  /* absolute directory of the file */
	char *error;
	size_t error_size;
	struct {
		const void *field;
		int line;
	} seen[CONFIG_SEEN_MAX];
	size_t seen_count;
};

/* "FILE:LINE: key.path: message" (LINE omitted when 0, key path when NULL). Returns
 * JIT_ERR_INVALID. */
static void fail_message(struct loader *l, int line, const char *key, const char *fmt, ...)
        JIT_PRINTF(4, 5);
/* Records "<file>:<line>: <key>: <message>" and evaluates to JIT_ERR_INVALID (a macro, so
 * that each caller's reader sees the failure). */
#define fail(l, line, key, ...)                                \
	({                                                     \
		fail_message((l), (line), (key), __VA_ARGS__); \
		JIT_ERR_INVALID;                               \
	})
static void
fail_message(struct loader *l, int line, const char *key, const char *fmt, ...)
{
	if (!l->error || !l->error_size)
		return;
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	char where[32] = "";
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	snprintf(l->error, l->error_size, "%s%s: %s%s%s", l->file, where, key ? key : "",
	         key ? ": " : "", message);
}

static void
remember_line(struct loader *l, const void *field, int line)
{
	if (l->seen_count < CONFIG_SEEN_MAX)
		l->seen[l->seen_count++] = (typeof(l->seen[0])){ field, line };
}

/* The line `field` was set on, or 0 when it kept its default. */
static int
line_of(const struct loader *l, const void *field)
{
	for (size_t i = l->seen_count; i > 0; i--)
		if (l->seen[i - 1].field == field)
			return l->seen[i - 1].line;
	return 0;
}

static const char *
node_kind_name(const struct node *node)
{
	if (node->kind == NODE_MAPPING)
		return "a mapping";
	if (node->kind == NODE_SEQUENCE)
		return "a list";
	return node->null ? "empty" : "a single value";
}

static int
node_attach(struct loader *l, struct node *parent, struct node *child)
{
	if (parent->kind == NODE_MAPPING && parent->count % 2 == 0 && child->kind != NODE_SCALAR)
		return fail(l, child->line, NULL, "a key must be a plain word, not %s",
		            node_kind_name(child));
	if (parent->count == parent->capacity) {
		size_t capacity = parent->capacity ? parent->capacity * 2 : 8;
		struct node **items = reallocarray(parent->items, capacity, sizeof(*items));
		if (!items)
			return -ENOMEM;
		parent->items = items;
		parent->capacity = capacity;
	}
	parent->items[parent->count++] = child;
	return 0;
}

static bool
scalar_is_null(const yaml_event_t *event)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	if (event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < JIT_ARRAY_SIZE(nulls); i++)
		if (strcmp((const char *)event->data.scalar.value, nulls[i]) == 0)
			return true;
	return false;
}

/* The parse state between events. */
struct tree_builder {
	struct node *root;
	struct node *stack[CONFIG_DEPTH_MAX];
	size_t depth;
	size_t nodes;
	size_t documents;
	bool done;
};

static int
tree_event(struct loader *l, struct tree_builder *b, const yaml_event_t *event)
{
	int line = (int)event->start_mark.line + 1;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	enum node_kind kind;

	switch (event->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		b->done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (b->documents++ > 0)
			return fail(l, line, NULL, "only one YAML document is allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(l, line, NULL, "YAML aliases (*name) are not allowed");
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	case YAML_SCALAR_EVENT:
		anchor = event->data.scalar.anchor;
		tag = event->data.scalar.tag;
		kind = NODE_SCALAR;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = event->data.sequence_start.anchor;
		tag = event->data.sequence_start.tag;
		kind = NODE_SEQUENCE;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = event->data.mapping_start.anchor;
		tag = event->data.mapping_start.tag;
		kind = NODE_MAPPING;
		break;
	default:
		return fail(l, line, NULL, "unexpected YAML event");
	}
	if (anchor)
		return fail(l, line, NULL, "YAML anchors (&name) are not allowed");
	if (tag)
		return fail(l, line, NULL, "YAML tags (!name) are not allowed");
	if (++b->nodes > CONFIG_NODES_MAX)
		return fail(l, line, NULL, "more than %d YAML nodes", CONFIG_NODES_MAX);
	if (kind != NODE_SCALAR && b->depth == CONFIG_DEPTH_MAX)
		return fail(l, line, NULL, "nested deeper than %d levels", CONFIG_DEPTH_MAX);

	_cleanup_(node_freep) struct node *node = calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	node->kind = kind;
	node->line = line;
	if (kind == NODE_SCALAR) {
		node->length = event->data.scalar.length;
		node->null = scalar_is_null(event);
		node->text = strndup((const char *)event->data.scalar.value, node->length);
		if (!node->text)
			return -ENOMEM;
	}
	struct node *added = node;
	if (b->depth > 0) {
		int r = node_attach(l, b->stack[b->depth - 1], node);
		if (r < 0)
			return r;
		TAKE_PTR(node);
	} else {
		b->root = TAKE_PTR(node);
	}
	if (kind != NODE_SCALAR)
		b->stack[b->depth++] = added;
	return 0;
}

/* Parses `text` into a tree; *ret_root is NULL for an empty document. */
static int
tree_parse(struct loader *l, const char *text, size_t length, struct node **ret_root)
{
	struct tree_builder b = { 0 };
	yaml_parser_t parser;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
	while (!b.done) {
		yaml_event_t event;
		if (!yaml_parser_parse(&parser, &event)) {
			if (parser.error == YAML_MEMORY_ERROR)
				r = -ENOMEM;
			else
				r = fail(l, (int)parser.problem_mark.line + 1, NULL,
				         "YAML syntax error: %s%s%s",
				         parser.problem ? parser.problem : "malformed",
				         parser.context ? " " : "",
				         parser.context ? parser.context : "");
			break;
		}
		r = tree_event(l, &b, &event);
		yaml_event_delete(&event);
		if (r < 0)
			break;
	}
	yaml_parser_delete(&parser);
	if (r < 0) {
		node_free(b.root);
		return r;
	}
	*ret_root = b.root;
	return 0;
}

/* ---- values ------------------------------------------------------------------------------- */

/* A decimal integer in full: an optional '-', digits without leading zeros, nothing else. */
static int
parse_integer(const char *text, int64_t *ret)
{
	const char *digits = text[0] == '-' ? text + 1 : text;
	if (!isdigit((unsigned char)digits[0]) || (digits[0] == '0' && digits[1]))
		return JIT_ERR_INVALID;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(text, &end, 10);
	if (errno == ERANGE || !end || *end)
		return JIT_ERR_INVALID;
	*ret = v;
	return 0;
}

/* Milliseconds: "500ms", or a duration jit_duration_parse accepts ("5s", "1m30s"). */
static int
parse_milliseconds(const char *text, int64_t *ret_ms, char *why, size_t why_size)
{
	size_t n = strlen(text);
	if (n > 2 && strcmp(text + n - 2, "ms") == 0) {
		char digits[16];
		int64_t v = 0;
		if (n - 2 >= sizeof(digits)) {
			snprintf(why, why_size, "invalid duration \"%s\": too long", text);
			return JIT_ERR_INVALID;
		}
		memcpy(digits, text, n - 2);
		digits[n - 2] = '\0';
		if (digits[0] == '-' || parse_integer(digits, &v) < 0) {
			snprintf(why, why_size,
			         "invalid duration \"%s\": expected whole milliseconds like 500ms",
			         text);
			return JIT_ERR_INVALID;
		}
		*ret_ms = v;
		return 0;
	}
	int64_t seconds = 0;
	int r = jit_duration_parse(text, &seconds, why, why_size);
	if (r < 0) {
		snprintf(why, why_size,
		         "invalid duration \"%.32s\" (use h, m, s or ms, e.g. 5s, 500ms, 1m30s)",
		         text);
		return r;
	}
	*ret_ms = seconds * 1000; /* at most a year: no overflow */
	return 0;
}

static bool
is_url(const char *value)
{
	const char *rest = NULL;
	if (strncmp(value, "https://", 8) == 0)
		rest = value + 8;
	else if (strncmp(value, "http://", 7) == 0)
		rest = value + 7;
	if (!rest || !rest[0] || rest[0] == '/')
		return false;
	for (const char *p = value; *p; p++)
		if (isspace((unsigned char)*p))
			return false;
	return true;
}

/* Checks on string values: each returns NULL or what is wrong (static text). */
static const char *
check_url(const char *value)
{
	return is_url(value) ? NULL : "not an http:// or https:// URL";
}

static const char *
check_addr(const char *value)
{
	_cleanup_free_ char *host = NULL;
	uint16_t port = 0;
	if (jit_config_split_addr(value, &host, &port) < 0)
		return "not an address like :8080, 127.0.0.1:8080 or [::1]:8080";
	return NULL;
}

static const char *
check_driver(const char *value)
{
	if (strcmp(value, "sqlite") == 0)
		return NULL;
	if (strcmp(value, "postgres") == 0 || strcmp(value, "postgresql") == 0)
		return "postgres is not in this version of jitsudod (use sqlite)";
	return "unknown driver (use sqlite)";
}

static const char *
check_log_level(const char *value)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	for (size_t i = 0; i < JIT_ARRAY_SIZE(levels); i++)
		if (strcmp(value, levels[i]) == 0)
			return NULL;
	return "must be debug, info, warn or error";
}

static const char *
check_email(const char *value)
{
	const char *at = strchr(value, '@');
	return at && at != value && at[1] ? NULL : "not an email address";
}

/* A host name as it appears in "jitsudo-host:<name>": letters, digits, '.', '-' and '_'. */
static const char *
check_host_name(const char *value)
{
	size_t n = strlen(value);
	if (n > 253) /* JIT_MAX_HOST */
		return "longer than 253 bytes";
	for (const char *p = value; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return "only letters, digits, '.', '-' and '_'";
	return NULL;
}

/* ---- option tables ------------------------------------------------------------------------ */

enum option_kind {
	OPTION_STRING,  /* non-empty text */
	OPTION_PATH,    /* text; a relative path is resolved against the file's directory */
	OPTION_BOOL,    /* true or false */
	OPTION_INTEGER, /* decimal, min..max */
	OPTION_SECONDS, /* a duration ("1h30m"), min..max seconds */
	OPTION_MS,      /* a duration or "500ms", min..max milliseconds */
	OPTION_LIST,    /* a list of strings, at most JIT_CONFIG_MAX_LIST */
	OPTION_SECTION, /* a mapping of more options */
	OPTION_OIDC,    /* identity.oidc: a list of issuer mappings */
	OPTION_HOSTS,   /* hosts: a list of host mappings */
	OPTION_GLOBS,   /* one string or a list of strings, at most JIT_CONFIG_MAX_LIST */
	OPTION_UNSUPPORTED,
};

enum option_store {
	STORE_INT,
	STORE_INT64,
	STORE_UINT32,
	STORE_SIZE,
};

struct option {
	const char *name;
	enum option_kind kind;
	size_t offset; /* of the field in the struct the table applies to */
	enum option_store store;
	int64_t min, max;
	const char *(*check)(const char *value); /* strings and list items */
	const struct option *section;            /* OPTION_SECTION: ended by a NULL name */
};

#define CONFIG_FIELD(f) offsetof(struct jit_config, f)
#define OIDC_FIELD(f) offsetof(struct jit_config_oidc_issuer, f)
#define HOST_FIELD(f) offsetof(struct jit_config_host, f)
#define MIB (1024 * 1024)

static const struct option tls_options[] = {
	{ .name = "cert_file", .kind = OPTION_PATH, .offset = CONFIG_FIELD(tls_cert_file) },
	{ .name = "key_file", .kind = OPTION_PATH, .offset = CONFIG_FIELD(tls_key_file) },
	{ 0 },
};

static const struct option server_options[] = {
	{ .name = "http_addr",
	  .kind = OPTION_STRING,
	  .offset = CONFIG_FIELD(http_addr),
	  .check = check_addr },
	{ .name = "grpc_addr",
	  .kind = OPTION_STRING,
	  .offset = CONFIG_FIELD(grpc_addr),
	  .check = check_addr },
	{ .name = "http_threads",
	  .kind = OPTION_INTEGER,
	  .offset = CONFIG_FIELD(http_threads),
	  .store = STORE_INT,
	  .min = 0,
	  .max = 64 },
	{ .name = "tls", .kind = OPTION_SECTION, .section = tls_options },
	{ .name = "max_body_bytes",
	  .kind = OPTION_INTEGER,
	  .offset = CONFIG_FIELD(max_body_bytes),
	  .store = STORE_SIZE,
	  .min = 1024,
	  .max = 64 * MIB },
	{ 0 },
};

static const struct option database_options[] = {
	{ .name = "driver",
	  .kind = OPTION_STRING,
	  .offset = CONFIG_FIELD(database_driver),
	  .check = check_driver },
	{ .name = "path", .kind = OPTION_PATH, .offset = CONFIG_FIELD(database_path) },
	{ .name = "busy_timeout",
	  .kind = OPTION_MS,
	  .offset = CONFIG_FIELD(database_busy_timeout_ms),
	  .store = STORE_INT,
	  .min = 0,
	  .max = 600000 },
	{ 0 },
};

static const struct option keys_options[] = {
	{ .name = "seal_key_file", .kind = OPTION_PATH, .offset = CONFIG_FIELD(seal_key_file) },
	{ .name = "audit_key_file", .kind = OPTION_PATH, .offset = CONFIG_FIELD(audit_key_file) },
	{ .name = "checkpoint_key_file",
	  .kind = OPTION_PATH,
	  .offset = CONFIG_FIELD(checkpoint_key_file) },
	{ 0 },
};

static const struct option audit_options[] = {
	{ .name = "checkpoint_file",
	  .kind = OPTION_PATH,
	  .offset = CONFIG_FIELD(audit_checkpoint_file) },
	{ .name = "checkpoint_interval",
	  .kind = OPTION_SECONDS,
	  .offset = CONFIG_FIELD(audit_checkpoint_interval_seconds),
	  .store = STORE_INT64,
	  .min = 1,
	  .max = 3600 },
	{ 0 },
};

static const struct option builtin_issuer_options[] = {
	{ .name = "enabled", .kind = OPTION_BOOL, .offset = CONFIG_FIELD(builtin_issuer_enabled) },
	{ .name = "url",
	  .kind = OPTION_STRING,
	  .offset = CONFIG_FIELD(builtin_issuer_url),
	  .check = check_url },
	{ .name = "audience",
	  .kind = OPTION_STRING,
	  .offset = CONFIG_FIELD(builtin_issuer_audience) },
	{ .name = "key_file",
	  .kind = OPTION_PATH,
	  .offset = CONFIG_FIELD(builtin_issuer_key_file) },
	{ .name = "max_ttl",
	  .kind = OPTION_SECONDS,
	  .offset = CONFIG_FIELD(builtin_issuer_max_ttl_seconds),
	  .store = STORE_INT64,
	  .min = 60,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ 0 },
};

static const struct option oidc_options[] = {
	{ .name = "issuer",
	  .kind = OPTION_STRING,
	  .offset = OIDC_FIELD(issuer),
	  .check = check_url },
	{ .name = "audience", .kind = OPTION_STRING, .offset = OIDC_FIELD(audience) },
	{ .name = "discovery_url",
	  .kind = OPTION_STRING,
	  .offset = OIDC_FIELD(discovery_url),
	  .check = check_url },
	{ .name = "email_claim", .kind = OPTION_STRING, .offset = OIDC_FIELD(email_claim) },
	{ .name = "groups_claim", .kind = OPTION_STRING, .offset = OIDC_FIELD(groups_claim) },
	{ .name = "ca_file", .kind = OPTION_PATH, .offset = OIDC_FIELD(ca_file) },
	{ 0 },
};

static const struct option identity_options[] = {
	{ .name = "admin_groups", .kind = OPTION_LIST, .offset = CONFIG_FIELD(admin_groups) },
	{ .name = "admin_emails",
	  .kind = OPTION_LIST,
	  .offset = CONFIG_FIELD(admin_emails),
	  .check = check_email },
	{ .name = "builtin_issuer", .kind = OPTION_SECTION, .section = builtin_issuer_options },
	{ .name = "oidc", .kind = OPTION_OIDC },
	{ .name = "jwks_fetch_timeout",
	  .kind = OPTION_MS,
	  .offset = CONFIG_FIELD(jwks_fetch_timeout_ms),
	  .store = STORE_INT,
	  .min = 100,
	  .max = 300000 },
	{ 0 },
};

static const struct option workflow_options[] = {
	{ .name = "min_duration",
	  .kind = OPTION_SECONDS,
	  .offset = CONFIG_FIELD(min_duration_seconds),
	  .store = STORE_INT64,
	  .min = 1,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ .name = "max_duration",
	  .kind = OPTION_SECONDS,
	  .offset = CONFIG_FIELD(max_duration_seconds),
	  .store = STORE_INT64,
	  .min = 1,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ .name = "pending_timeout",
	  .kind = OPTION_SECONDS,
	  .offset = CONFIG_FIELD(pending_timeout_seconds),
	  .store = STORE_INT64,
	  .min = 1,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ .name = "revoke_retry_initial",
	  .kind = OPTION_MS,
	  .offset = CONFIG_FIELD(revoke_retry_initial_ms),
	  .store = STORE_INT64,
	  .min = 10,
	  .max = 3600 * 1000 },
	{ .name = "revoke_retry_max",
	  .kind = OPTION_MS,
	  .offset = CONFIG_FIELD(revoke_retry_max_ms),
	  .store = STORE_INT64,
	  .min = 10,
	  .max = 24 * 3600 * 1000 },
	{ 0 },
};

static const struct option policies_options[] = {
	{ .name = "dir", .kind = OPTION_PATH, .offset = CONFIG_FIELD(policies_dir) },
	{ 0 },
};

static const struct option mock_options[] = {
	{ .name = "enabled", .kind = OPTION_BOOL, .offset = CONFIG_FIELD(mock_enabled) },
	{ .name = "fail_grant_roles",
	  .kind = OPTION_LIST,
	  .offset = CONFIG_FIELD(mock_fail_grant_roles) },
	{ .name = "fail_revocations",
	  .kind = OPTION_INTEGER,
	  .offset = CONFIG_FIELD(mock_fail_revocations),
	  .store = STORE_UINT32,
	  .min = 0,
	  .max = 1000000 },
	{ 0 },
};

static const struct option providers_options[] = {
	{ .name = "mock", .kind = OPTION_SECTION, .section = mock_options },
	{ .name = "aws", .kind = OPTION_UNSUPPORTED },
	{ .name = "gcp", .kind = OPTION_UNSUPPORTED },
	{ .name = "azure", .kind = OPTION_UNSUPPORTED },
	{ .name = "kubernetes", .kind = OPTION_UNSUPPORTED },
	{ 0 },
};

static const struct option log_options[] = {
	{ .name = "level",
	  .kind = OPTION_STRING,
	  .offset = CONFIG_FIELD(log_level),
	  .check = check_log_level },
	{ 0 },
};

static const struct option host_options[] = {
	{ .name = "name",
	  .kind = OPTION_STRING,
	  .offset = HOST_FIELD(name),
	  .check = check_host_name },
	{ .name = "public_key_file", .kind = OPTION_PATH, .offset = HOST_FIELD(public_key_file) },
	{ .name = "identities", .kind = OPTION_GLOBS, .offset = HOST_FIELD(identities) },
	{ .name = "groups", .kind = OPTION_LIST, .offset = HOST_FIELD(groups) },
	{ 0 },
};

static const struct option root_options[] = {
	{ .name = "server", .kind = OPTION_SECTION, .section = server_options },
	{ .name = "database", .kind = OPTION_SECTION, .section = database_options },
	{ .name = "keys", .kind = OPTION_SECTION, .section = keys_options },
	{ .name = "audit", .kind = OPTION_SECTION, .section = audit_options },
	{ .name = "identity", .kind = OPTION_SECTION, .section = identity_options },
	{ .name = "workflow", .kind = OPTION_SECTION, .section = workflow_options },
	{ .name = "policies", .kind = OPTION_SECTION, .section = policies_options },
	{ .name = "providers", .kind = OPTION_SECTION, .section = providers_options },
	{ .name = "log", .kind = OPTION_SECTION, .section = log_options },
	{ .name = "hosts", .kind = OPTION_HOSTS },
	{ 0 },
};

/* ---- applying the tree -------------------------------------------------------------------- */

/* "prefix.key", with unprintable bytes of the key shown as '?'. */
static void
key_path(char *path, size_t size, const char *prefix, const char *key)
{
	if (snprintf(path, size, "%s%s%.64s", prefix, prefix[0] ? "." : "", key) < 0)
		path[0] = '\0';
	for (size_t i = 0; path[i]; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			path[i] = '?';
}

/* The text of a single non-empty value, free of NUL and control characters. */
static int
scalar_text(struct loader *l, const struct node *value, const char *key, const char **ret)
{
	if (value->kind != NODE_SCALAR)
		return fail(l, value->line, key, "must be a single value, not %s",
		            node_kind_name(value));
	if (value->null)
		return fail(l, value->line, key, "has no value");
	if (value->length == 0)
		return fail(l, value->line, key, "is empty");
	if (value->length > CONFIG_STRING_MAX)
		return fail(l, value->line, key, "longer than %d bytes", CONFIG_STRING_MAX);
	if (strlen(value->text) != value->length)
		return fail(l, value->line, key, "contains a NUL byte");
	for (const char *p = value->text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(l, value->line, key, "contains a control character");
	*ret = value->text;
	return 0;
}

static int
resolve_path(const char *dir, const char *path, char **ret)
{
	char *joined = NULL;
	if (path[0] == '/')
		joined = strdup(path);
	else if (asprintf(&joined, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", path) < 0)
		joined = NULL;
	if (!joined)
		return -ENOMEM;
	*ret = joined;
	return 0;
}

static void
store_integer(void *field, enum option_store store, int64_t v)
{
	switch (store) {
	case STORE_INT:
		*(int *)field = (int)v;
		break;
	case STORE_INT64:
		*(int64_t *)field = v;
		break;
	case STORE_UINT32:
		*(uint32_t *)field = (uint32_t)v;
		break;
	case STORE_SIZE:
		*(size_t *)field = (size_t)v;
		break;
	}
}

static void
string_list_free(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

static int
apply_list(struct loader *l, const struct option *o, const struct node *value, char ***field,
           const char *key)
{
	if (value->kind == NODE_MAPPING || (value->kind == NODE_SCALAR && !value->null))
		return fail(l, value->line, key, "must be a list, not %s", node_kind_name(value));
	size_t count = value->kind == NODE_SEQUENCE ? value->count : 0;
	if (count > JIT_CONFIG_MAX_LIST)
		return fail(l, value->line, key, "more than %d entries", JIT_CONFIG_MAX_LIST);
	char **list = calloc(count + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct node *item = value->items[i];
		char item_key[CONFIG_KEY_PATH_MAX];
		const char *text = NULL, *why = NULL;
		int r;
		snprintf(item_key, sizeof(item_key), "%.160s[%zu]", key, i);
		if ((r = scalar_text(l, item, item_key, &text)) == 0 && o->check &&
		    (why = o->check(text)))
			r = fail(l, item->line, item_key, "\"%.64s\": %s", text, why);
		if (r == 0 && !(list[i] = strdup(text)))
			r = -ENOMEM;
		if (r < 0) {
			string_list_free(list);
			return r;
		}
	}
	string_list_free(*field);
	*field = list;
	return 0;
}

static int apply_mapping(struct loader *l, const struct node *map, const struct option *options,
                         void *base, const char *prefix);

static int
apply_oidc(struct loader *l, const struct node *value, struct jit_config *config, const char *key)
{
	if (value->kind == NODE_MAPPING || (value->kind == NODE_SCALAR && !value->null))
		return fail(l, value->line, key, "must be a list of issuers, not %s",
		            node_kind_name(value));
	size_t count = value->kind == NODE_SEQUENCE ? value->count : 0;
	if (count > JIT_CONFIG_MAX_ISSUERS)
		return fail(l, value->line, key, "more than %d issuers", JIT_CONFIG_MAX_ISSUERS);
	for (size_t i = 0; i < count; i++) {
		const struct node *entry = value->items[i];
		char entry_key[CONFIG_KEY_PATH_MAX];
		snprintf(entry_key, sizeof(entry_key), "%.160s[%zu]", key, i);
		if (entry->kind != NODE_MAPPING)
			return fail(l, entry->line, entry_key, "must be a mapping, not %s",
			            node_kind_name(entry));
		/* Counted before it is filled so that jit_config_free releases it on error. */
		struct jit_config_oidc_issuer *o = &config->oidc[config->oidc_count++];
		*o = (struct jit_config_oidc_issuer){ 0 };
		if (!(o->email_claim = strdup("email")) || !(o->groups_claim = strdup("groups")))
			return -ENOMEM;
		int r = apply_mapping(l, entry, oidc_options, o, entry_key);
		if (r < 0)
			return r;
		if (!o->issuer)
			return fail(l, entry->line, entry_key, "issuer is required");
		if (!o->audience)
			return fail(l, entry->line, entry_key, "audience is required");
		for (size_t j = 0; j + 1 < config->oidc_count; j++)
			if (strcmp(config->oidc[j].issuer, o->issuer) == 0)
				return fail(l, line_of(l, &o->issuer), entry_key,
				            "issuer \"%.64s\" is listed twice", o->issuer);
	}
	return 0;
}

static void
host_clear(struct jit_config_host *h)
{
	free(h->name);
	free(h->public_key_file);
	string_list_free(h->identities);
	string_list_free(h->groups);
	*h = (struct jit_config_host){ 0 };
}

static int
apply_hosts(struct loader *l, const struct node *value, struct jit_config *config, const char *key)
{
	if (value->kind == NODE_MAPPING || (value->kind == NODE_SCALAR && !value->null))
		return fail(l, value->line, key, "must be a list of hosts, not %s",
		            node_kind_name(value));
	size_t count = value->kind == NODE_SEQUENCE ? value->count : 0;
	if (count > JIT_CONFIG_MAX_HOSTS)
		return fail(l, value->line, key, "more than %d hosts", JIT_CONFIG_MAX_HOSTS);
	for (size_t i = 0; i < config->host_count; i++)
		host_clear(&config->hosts[i]);
	free(config->hosts);
	config->hosts = NULL;
	config->host_count = 0;
	if (count == 0)
		return 0;
	if (!(config->hosts = calloc(count, sizeof(*config->hosts))))
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct node *entry = value->items[i];
		char entry_key[CONFIG_KEY_PATH_MAX];
		snprintf(entry_key, sizeof(entry_key), "%.160s[%zu]", key, i);
		if (entry->kind != NODE_MAPPING)
			return fail(l, entry->line, entry_key, "must be a mapping, not %s",
			            node_kind_name(entry));
		/* Counted before it is filled so that jit_config_free releases it on error. */
		struct jit_config_host *h = &config->hosts[config->host_count++];
		if (!(h->groups = calloc(1, sizeof(*h->groups))))
			return -ENOMEM;
		int r = apply_mapping(l, entry, host_options, h, entry_key);
		if (r < 0)
			return r;
		if (!h->name)
			return fail(l, entry->line, entry_key, "name is required");
		if (!h->public_key_file)
			return fail(l, entry->line, entry_key, "public_key_file is required");
		if (!h->identities || !h->identities[0])
			return fail(l, entry->line, entry_key,
			            "identities is required (e.g. \"*@example.com\")");
		for (size_t j = 0; j + 1 < config->host_count; j++)
			if (strcmp(config->hosts[j].name, h->name) == 0)
				return fail(l, line_of(l, &h->name), entry_key,
				            "host \"%.64s\" is listed twice", h->name);
	}
	return 0;
}

static int
apply_option(struct loader *l, const struct option *o, const struct node *key_node,
             const struct node *value, void *base, const char *key)
{
	void *field = (char *)base + o->offset;
	const char *text = NULL, *why = NULL;
	char reason[256] = "";
	int64_t v = 0;
	int r;

	switch (o->kind) {
	case OPTION_SECTION:
		return apply_mapping(l, value, o->section, base, key);
	case OPTION_OIDC:
		return apply_oidc(l, value, base, key);
	case OPTION_HOSTS:
		return apply_hosts(l, value, base, key);
	case OPTION_GLOBS:
		if (value->kind == NODE_SCALAR && !value->null) {
			/* One pattern: a list of one. */
			char **list = calloc(2, sizeof(*list));
			if (!list)
				return -ENOMEM;
			if ((r = scalar_text(l, value, key, &text)) < 0 ||
			    (r = (list[0] = strdup(text)) ? 0 : -ENOMEM) < 0) {
				string_list_free(list);
				return r;
			}
			string_list_free(*(char ***)field);
			*(char ***)field = list;
			remember_line(l, field, value->line);
			return 0;
		}
		if ((r = apply_list(l, o, value, field, key)) < 0)
			return r;
		remember_line(l, field, value->line);
		return 0;
	case OPTION_UNSUPPORTED:
		return fail(l, key_node->line, key, "not in this version of jitsudod");
	case OPTION_LIST:
		if ((r = apply_list(l, o, value, field, key)) < 0)
			return r;
		remember_line(l, field, value->line);
		return 0;
	default:
		break;
	}
	if ((r = scalar_text(l, value, key, &text)) < 0)
		return r;
	switch (o->kind) {
	case OPTION_STRING:
	case OPTION_PATH: {
		char *copy = NULL;
		if (o->check && (why = o->check(text)))
			return fail(l, value->line, key, "\"%.64s\": %s", text, why);
		r = o->kind == OPTION_PATH ? resolve_path(l->dir, text, &copy)
		                           : ((copy = strdup(text)) ? 0 : -ENOMEM);
		if (r < 0)
			return r;
		free(*(char **)field);
		*(char **)field = copy;
		break;
	}
	case OPTION_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return fail(l, value->line, key, "must be true or false, not \"%.64s\"",
			            text);
		*(bool *)field = strcmp(text, "true") == 0;
		break;
	case OPTION_INTEGER:
		if (parse_integer(text, &v) < 0)
			return fail(l, value->line, key, "\"%.64s\" is not an integer", text);
		if (v < o->min || v > o->max)
			return fail(l, value->line, key, "%lld is out of range (%lld to %lld)",
			            (long long)v, (long long)o->min, (long long)o->max);
		store_integer(field, o->store, v);
		break;
	case OPTION_SECONDS:
		if (jit_duration_parse(text, &v, reason, sizeof(reason)) < 0)
			return fail(l, value->line, key, "%s", reason);
		if (v < o->min || v > o->max)
			return fail(l, value->line, key,
			            "\"%.32s\" is out of range (%llds to %llds)", text,
			            (long long)o->min, (long long)o->max);
		store_integer(field, o->store, v);
		break;
	case OPTION_MS:
		if (parse_milliseconds(text, &v, reason, sizeof(reason)) < 0)
			return fail(l, value->line, key, "%s", reason);
		if (v < o->min || v > o->max)
			return fail(l, value->line, key,
			            "\"%.32s\" is out of range (%lldms to %lldms)", text,
			            (long long)o->min, (long long)o->max);
		store_integer(field, o->store, v);
		break;
	default:
		return JIT_ERR_INTERNAL;
	}
	remember_line(l, field, value->line);
	return 0;
}

static int
apply_mapping(struct loader *l, const struct node *map, const struct option *options, void *base,
              const char *prefix)
{
	if (map->kind == NODE_SCALAR && map->null)
		return 0; /* a section with everything commented out */
	if (map->kind != NODE_MAPPING)
		return fail(l, map->line, prefix[0] ? prefix : NULL, "must be a mapping, not %s",
		            node_kind_name(map));
	for (size_t i = 0; i + 1 < map->count; i += 2) {
		const struct node *key_node = map->items[i], *value = map->items[i + 1];
		char key[CONFIG_KEY_PATH_MAX];
		key_path(key, sizeof(key), prefix, key_node->text);
		/* Every earlier key was known and unique, so this loop is bounded by the table. */
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(map->items[j]->text, key_node->text) == 0)
				return fail(l, key_node->line, key, "duplicate key");
		const struct option *o = options;
		while (o->name && (strlen(o->name) != key_node->length ||
		                   strcmp(o->name, key_node->text) != 0))
			o++;
		if (!o->name)
			return fail(l, key_node->line, key, "unknown key");
		int r = apply_option(l, o, key_node, value, base, key);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Rules across options. */
static int
config_check(struct loader *l, const struct jit_config *c)
{
	if (!c->tls_cert_file != !c->tls_key_file) {
		bool cert = c->tls_cert_file != NULL;
		return fail(l,
		            line_of(l, cert ? (void *)&c->tls_cert_file : (void *)&c->tls_key_file),
		            cert ? "server.tls.cert_file" : "server.tls.key_file",
		            "TLS needs both cert_file and key_file");
	}
	if (c->min_duration_seconds > c->max_duration_seconds) {
		int line = line_of(l, &c->max_duration_seconds);
		return fail(l, line ? line : line_of(l, &c->min_duration_seconds),
		            line ? "workflow.max_duration" : "workflow.min_duration",
		            "min_duration (%llds) is longer than max_duration (%llds)",
		            (long long)c->min_duration_seconds, (long long)c->max_duration_seconds);
	}
	if (c->revoke_retry_initial_ms > c->revoke_retry_max_ms) {
		int line = line_of(l, &c->revoke_retry_max_ms);
		return fail(
		        l, line ? line : line_of(l, &c->revoke_retry_initial_ms),
		        line ? "workflow.revoke_retry_max" : "workflow.revoke_retry_initial",
		        "revoke_retry_initial (%lldms) is longer than revoke_retry_max (%lldms)",
		        (long long)c->revoke_retry_initial_ms, (long long)c->revoke_retry_max_ms);
	}
	if (!c->builtin_issuer_enabled && c->oidc_count == 0)
		return fail(l, line_of(l, &c->builtin_issuer_enabled), "identity",
		            "no identity source: enable builtin_issuer or add an oidc issuer");
	for (size_t i = 0; c->builtin_issuer_enabled && i < c->oidc_count; i++)
		if (strcmp(c->oidc[i].issuer, c->builtin_issuer_url) == 0)
			return fail(l, line_of(l, &c->oidc[i].issuer), "identity.oidc",
			            "issuer \"%.64s\" is also the built-in issuer's url",
			            c->oidc[i].issuer);
	return 0;
}

/* ---- the public functions ----------------------------------------------------------------- */

void
jit_config_free(struct jit_config *config)
{
	if (!config)
		return;
	free(config->path);
	free(config->http_addr);
	free(config->grpc_addr);
	free(config->tls_cert_file);
	free(config->tls_key_file);
	free(config->database_driver);
	free(config->database_path);
	free(config->seal_key_file);
	free(config->audit_key_file);
	free(config->checkpoint_key_file);
	free(config->audit_checkpoint_file);
	string_list_free(config->admin_groups);
	string_list_free(config->admin_emails);
	free(config->builtin_issuer_url);
	free(config->builtin_issuer_audience);
	free(config->builtin_issuer_key_file);
	for (size_t i = 0; i < config->oidc_count; i++) {
		struct jit_config_oidc_issuer *o = &config->oidc[i];
		free(o->issuer);
		free(o->audience);
		free(o->discovery_url);
		free(o->email_claim);
		free(o->groups_claim);
		free(o->ca_file);
	}
	for (size_t i = 0; i < config->host_count; i++)
		host_clear(&config->hosts[i]);
	free(config->hosts);
	free(config->policies_dir);
	string_list_free(config->mock_fail_grant_roles);
	free(config->log_level);
	free(config);
}

static int
set_string(char **field, const char *value)
{
	return (*field = strdup(value)) ? 0 : -ENOMEM;
}

int
jit_config_defaults(struct jit_config **ret_config)
{
	_cleanup_(jit_config_freep) struct jit_config *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->http_threads = 0;
	c->max_body_bytes = 1 * MIB;
	c->database_busy_timeout_ms = 5000;
	c->builtin_issuer_enabled = true;
	c->builtin_issuer_max_ttl_seconds = 24 * 3600;
	c->jwks_fetch_timeout_ms = 5000;
	c->min_duration_seconds = 60;
	c->max_duration_seconds = 12 * 3600;
	c->pending_timeout_seconds = 24 * 3600;
	c->revoke_retry_initial_ms = 1000;
	c->revoke_retry_max_ms = 300000;
	c->mock_enabled = true;
	c->mock_fail_revocations = 0;
	c->audit_checkpoint_interval_seconds = 60;
	if (set_string(&c->http_addr, ":8080") < 0 || set_string(&c->grpc_addr, ":8443") < 0 ||
	    set_string(&c->database_driver, "sqlite") < 0 ||
	    set_string(&c->database_path, "/var/lib/jitsudo/jitsudo.db") < 0 ||
	    set_string(&c->seal_key_file, "/etc/jitsudo/seal.key") < 0 ||
	    set_string(&c->audit_key_file, "/etc/jitsudo/audit.key") < 0 ||
	    set_string(&c->checkpoint_key_file, "/etc/jitsudo/checkpoint.pem") < 0 ||
	    set_string(&c->builtin_issuer_url, "http://127.0.0.1:8080") < 0 ||
	    set_string(&c->builtin_issuer_audience, "jitsudo") < 0 ||
	    set_string(&c->builtin_issuer_key_file, "/etc/jitsudo/issuer.pem") < 0 ||
	    set_string(&c->policies_dir, "/usr/share/jitsudo/policies") < 0 ||
	    set_string(&c->log_level, "info") < 0)
		return -ENOMEM;
	if (!(c->admin_groups = calloc(2, sizeof(char *))) ||
	    !(c->admin_groups[0] = strdup("jitsudo-admins")) ||
	    !(c->admin_emails = calloc(1, sizeof(char *))) ||
	    !(c->mock_fail_grant_roles = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret_config = TAKE_PTR(c);
	return 0;
}

/* `path` made absolute against the working directory (symlinks are kept as named). */
static int
absolute_path(const char *path, char **ret)
{
	if (path[0] == '/')
		return (*ret = strdup(path)) ? 0 : -ENOMEM;
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return -errno;
	char *joined = NULL;
	if (asprintf(&joined, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path) < 0)
		return -ENOMEM;
	*ret = joined;
	return 0;
}

static int
directory_of(const char *absolute, char **ret)
{
	const char *slash = strrchr(absolute, '/');
	size_t length = slash && slash != absolute ? (size_t)(slash - absolute) : 1;
	return (*ret = strndup(absolute, length)) ? 0 : -ENOMEM;
}

/* The audit checkpoint file defaults to one beside the database (the state directory, which
 * jitsudod may write), so that moving the database moves it too. A database SQLite names
 * specially (":memory:", "file:...") has none. */
static int
default_checkpoint_file(struct jit_config *c)
{
	if (c->audit_checkpoint_file || c->database_path[0] != '/')
		return 0;
	_cleanup_free_ char *dir = NULL;
	int r = directory_of(c->database_path, &dir);
	if (r < 0)
		return r;
	if (asprintf(&c->audit_checkpoint_file, "%s%saudit-checkpoints", dir,
	             strcmp(dir, "/") == 0 ? "" : "/") < 0) {
		c->audit_checkpoint_file = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Applies `text` (the contents of the file `display` at absolute path `absolute`) over the
 * defaults and checks the result. */
static int
config_parse(const char *display, const char *absolute, const char *text, size_t length,
             struct jit_config **ret_config, char *error, size_t error_size)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_(jit_config_freep) struct jit_config *config = NULL;
	_cleanup_(node_freep) struct node *root = NULL;
	_cleanup_free_ struct loader *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	if ((r = directory_of(absolute, &dir)) < 0 || (r = jit_config_defaults(&config)) < 0)
		return r;
	*l = (struct loader){
		.file = display, .dir = dir, .error = error, .error_size = error_size
	};
	if ((r = tree_parse(l, text, length, &root)) < 0)
		return r;
	if (root && (r = apply_mapping(l, root, root_options, config, "")) < 0)
		return r;
	if ((r = config_check(l, config)) < 0)
		return r;
	if ((r = default_checkpoint_file(config)) < 0)
		return r;
	if (!(config->path = strdup(absolute)))
		return -ENOMEM;
	*ret_config = TAKE_PTR(config);
	return 0;
}

/* A message without a line (the file as a whole, or `jitsudod init`). */
static void set_error(char *error, size_t error_size, const char *fmt, ...) JIT_PRINTF(3, 4);
static void
set_error(char *error, size_t error_size, const char *fmt, ...)
{
	if (error && error_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(error, error_size, fmt, ap);
		va_end(ap);
	}
}

int
jit_config_load(const char *path, struct jit_config **ret_config, char *error, size_t error_size)
{
	_cleanup_free_ char *absolute = NULL, *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t length = 0;
	int r;

	if (error && error_size)
		error[0] = '\0';
	if (!path || !path[0]) {
		set_error(error, error_size, "no config file named");
		return JIT_ERR_INVALID;
	}
	if ((r = absolute_path(path, &absolute)) < 0) {
		set_error(error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below). */
	fd = open(absolute, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		set_error(error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		set_error(error, error_size, "%s: not a regular file", path);
		return JIT_ERR_INVALID;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		set_error(error, error_size, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		return JIT_ERR_TOO_LARGE;
	}
	/* One byte more than the bound, in case the file grew after fstat. */
	if (!(text = malloc(CONFIG_FILE_MAX + 1)))
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, text + length, CONFIG_FILE_MAX + 1 - length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			set_error(error, error_size, "%s: %s", path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		length += (size_t)n;
		if (length > CONFIG_FILE_MAX) {
			set_error(error, error_size, "%s: larger than %d bytes", path,
			          CONFIG_FILE_MAX);
			return JIT_ERR_TOO_LARGE;
		}
	}
	return config_parse(path, absolute, text, length, ret_config, error, error_size);
}

int
jit_config_split_addr(const char *addr, char **ret_host, uint16_t *ret_port)
{
	if (!addr)
		return JIT_ERR_INVALID;
	size_t length = strnlen(addr, 300);
	if (length == 0 || length >= 300)
		return JIT_ERR_INVALID;
	const char *colon = strrchr(addr, ':');
	if (!colon)
		return JIT_ERR_INVALID;
	const char *host = addr;
	size_t host_length = (size_t)(colon - addr);
	if (addr[0] == '[') {
		/* "[v6]:port": the brackets must close right before the port's colon. */
		if (host_length < 3 || addr[host_length - 1] != ']')
			return JIT_ERR_INVALID;
		host = addr + 1;
		host_length -= 2;
		if (memchr(host, '[', host_length) || memchr(host, ']', host_length) ||
		    !memchr(host, ':', host_length))
			return JIT_ERR_INVALID;
	} else if (memchr(addr, ':', host_length) || memchr(addr, '[', host_length) ||
	           memchr(addr, ']', host_length)) {
		return JIT_ERR_INVALID; /* an IPv6 address needs brackets */
	}
	for (size_t i = 0; i < host_length; i++)
		if (!isgraph((unsigned char)host[i]) || host[i] == '/')
			return JIT_ERR_INVALID;
	int64_t port = 0;
	if (!colon[1] || colon[1] == '-' || parse_integer(colon + 1, &port) < 0 || port < 1 ||
	    port > 65535)
		return JIT_ERR_INVALID;
	char *copy = NULL;
	if (host_length > 0 && !(copy = strndup(host, host_length)))
		return -ENOMEM;
	*ret_host = copy;
	*ret_port = (uint16_t)port;
	return 0;
}

/* ---- jitsudod init ------------------------------------------------------------------------ */

static bool
printable(const char *s)
{
	if (!s || !s[0] || strlen(s) > 1024)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A double-quoted YAML string (the value has no control characters). */
static void
yaml_quoted(FILE *f, const char *value)
{
	fputc('"', f);
	for (const char *p = value; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static int
make_directory(const char *dir, char *error, size_t error_size)
{
	struct stat st;
	if (mkdir(dir, 0750) == 0) {
		if (chmod(dir, 0750) < 0) {
			int r = -errno;
			set_error(error, error_size, "%s: %s", dir, strerror(-r));
			return r;
		}
		return 0;
	}
	if (errno != EEXIST) {
		int r = -errno;
		set_error(error, error_size, "creating %s: %s", dir, strerror(-r));
		return r;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		set_error(error, error_size, "%s: not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

/* 32 random bytes in a new 0600 file (the seal key, the audit key); an existing key is kept
 * (replacing it would make every sealed credential or audit event unreadable). *ret_created
 * says whether a file was written. */
static int
write_random_key(const char *path, bool *ret_created, char *error, size_t error_size)
{
	unsigned char key[SEAL_KEY_BYTES];
	int r = 0;

	_cleanup_close_ int fd =
	        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	*ret_created = false;
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0) {
		r = -errno;
		set_error(error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if ((r = jit_random_bytes(key, sizeof(key))) < 0)
		goto out;
	for (size_t written = 0; written < sizeof(key);) {
		ssize_t n = write(fd, key + written, sizeof(key) - written);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		written += (size_t)n;
	}
	if (fchmod(fd, 0600) < 0 || fsync(fd) < 0)
		r = -errno;
out:
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		set_error(error, error_size, "%s: %s", path, strerror(-r));
		unlink(path);
	} else {
		*ret_created = true;
	}
	return r;
}

/* The four key files of `dir` that are missing: seal.key, audit.key (32 random bytes each),
 * issuer.pem (P-256) and checkpoint.pem (Ed25519), all 0600. Existing files are kept. */
static int
write_missing_keys(const char *dir, int *ret_created, char *error, size_t error_size)
{
	static const char *const random_keys[] = { "seal.key", "audit.key" };
	int created = 0, r;
	for (size_t i = 0; i < JIT_ARRAY_SIZE(random_keys); i++) {
		_cleanup_free_ char *path = NULL;
		bool made = false;
		if (asprintf(&path, "%s/%s", dir, random_keys[i]) < 0)
			return -ENOMEM;
		if ((r = write_random_key(path, &made, error, error_size)) < 0)
			return r;
		created += made;
	}
	_cleanup_free_ char *issuer_path = NULL, *checkpoint_path = NULL;
	struct stat st;
	if (asprintf(&issuer_path, "%s/issuer.pem", dir) < 0 ||
	    asprintf(&checkpoint_path, "%s/checkpoint.pem", dir) < 0)
		return -ENOMEM;
	if (lstat(issuer_path, &st) < 0) {
		if ((r = jit_issuer_generate_key(issuer_path)) < 0) {
			set_error(error, error_size, "%s: %s", issuer_path, jit_strerror(r));
			return r;
		}
		created++;
	}
	if (lstat(checkpoint_path, &st) < 0) {
		if ((r = jit_checkpoint_key_generate(checkpoint_path)) < 0) {
			set_error(error, error_size, "%s: %s", checkpoint_path, jit_strerror(r));
			return r;
		}
		created++;
	}
	*ret_created = created;
	return 0;
}

int
jit_config_init_keys(const char *dir, int *ret_created, char *error, size_t error_size)
{
	_cleanup_free_ char *abs_dir = NULL;
	struct stat st;
	int r;
	if (error && error_size)
		error[0] = '\0';
	dir = dir ? dir : "/etc/jitsudo";
	if (!printable(dir)) {
		set_error(error, error_size, "the directory must be a non-empty printable path");
		return JIT_ERR_INVALID;
	}
	if ((r = absolute_path(dir, &abs_dir)) < 0)
		return r;
	if (stat(abs_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		set_error(error, error_size, "%s: not a directory", abs_dir);
		return -ENOTDIR;
	}
	return write_missing_keys(abs_dir, ret_created, error, error_size);
}

/* The starter config: commented, and loadable as it is. */
static int
init_text(const char *data_dir, const char *key_dir, const char *http_addr, const char *issuer_url,
          char **ret_text, size_t *ret_length)
{
	char *text = NULL;
	size_t length = 0;
	_cleanup_free_ char *db = NULL, *seal = NULL, *issuer_key = NULL;
	_cleanup_free_ char *audit_key = NULL, *checkpoint_key = NULL;
	if (asprintf(&db, "%s/jitsudo.db", data_dir) < 0 ||
	    asprintf(&seal, "%s/seal.key", key_dir) < 0 ||
	    asprintf(&issuer_key, "%s/issuer.pem", key_dir) < 0 ||
	    asprintf(&audit_key, "%s/audit.key", key_dir) < 0 ||
	    asprintf(&checkpoint_key, "%s/checkpoint.pem", key_dir) < 0)
		return -ENOMEM;
	FILE *f = open_memstream(&text, &length);
	if (!f)
		return -ENOMEM;
	fputs("# jitsudod configuration, written by `jitsudod init`. Every option is described in\n"
	      "# docs/configuration.md; an option left out keeps its default.\n"
	      "\n"
	      "server:\n"
	      "  # Where the REST API listens: \"host:port\", \":port\" (every address) or "
	      "\"[v6]:port\".\n"
	      "  http_addr: ",
	      f);
	yaml_quoted(f, http_addr);
	fputs("\n"
	      "  # HTTPS: set both to PEM files (certificate chain and private key).\n"
	      "  # tls:\n"
	      "  #   cert_file: /etc/jitsudo/tls/server.crt\n"
	      "  #   key_file: /etc/jitsudo/tls/server.key\n"
	      "\n"
	      "database:\n"
	      "  driver: sqlite\n"
	      "  # The SQLite file; its directory must be writable by jitsudod.\n"
	      "  path: ",
	      f);
	yaml_quoted(f, db);
	fputs("\n"
	      "\n"
	      "keys:\n"
	      "  # 32 random bytes sealing credentials at rest (mode 0600). Back it up: without "
	      "it\n"
	      "  # the sealed credentials in the database cannot be read.\n"
	      "  seal_key_file: ",
	      f);
	yaml_quoted(f, seal);
	fputs("\n"
	      "  # 32 random bytes keying the audit log's hash chain (HMAC-SHA256, mode 0600). "
	      "Keep\n"
	      "  # it out of the database's backups: whoever holds it can rewrite the chain.\n"
	      "  audit_key_file: ",
	      f);
	yaml_quoted(f, audit_key);
	fputs("\n"
	      "  # Ed25519 key signing the audit checkpoints (mode 0600).\n"
	      "  checkpoint_key_file: ",
	      f);
	yaml_quoted(f, checkpoint_key);
	fputs("\n"
	      "\n"
	      "audit:\n"
	      "  # Signed checkpoints of the audit log's head, written here and to the log.\n"
	      "  # checkpoint_file: defaults to audit-checkpoints beside the database\n"
	      "  checkpoint_interval: 1m\n"
	      "\n"
	      "identity:\n"
	      "  # Members of these groups, and these emails, administer jitsudo (policies, "
	      "audit).\n"
	      "  admin_groups: [jitsudo-admins]\n"
	      "  admin_emails: []\n"
	      "  # jitsudod's own token issuer, for a machine without an identity provider:\n"
	      "  # `jitsudod token --config THIS_FILE --user EMAIL --groups G1,G2` prints a "
	      "token.\n"
	      "  builtin_issuer:\n"
	      "    enabled: true\n"
	      "    url: ",
	      f);
	yaml_quoted(f, issuer_url);
	fputs("\n"
	      "    audience: jitsudo\n"
	      "    key_file: ",
	      f);
	yaml_quoted(f, issuer_key);
	fputs("\n"
	      "    max_ttl: 24h\n"
	      "  # An external OpenID Connect provider whose ID tokens are accepted too:\n"
	      "  # oidc:\n"
	      "  #   - issuer: https://login.example.com\n"
	      "  #     audience: jitsudo\n"
	      "\n"
	      "workflow:\n"
	      "  # Bounds on the duration a request may ask for.\n"
	      "  min_duration: 1m\n"
	      "  max_duration: 12h\n"
	      "  # A request nobody approves or denies expires after this long.\n"
	      "  pending_timeout: 24h\n"
	      "\n"
	      "policies:\n"
	      "  # Default eligibility and approval policies, loaded into the database on first\n"
	      "  # start.\n"
	      "  dir: /usr/share/jitsudo/policies\n"
	      "\n"
	      "providers:\n"
	      "  # The mock provider serves aws, gcp, azure and kubernetes with fake credentials,\n"
	      "  # for trying jitsudo out; it is the only provider of this version.\n"
	      "  mock:\n"
	      "    enabled: true\n"
	      "\n"
	      "log:\n"
	      "  level: info\n",
	      f);
	if (fclose(f) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	*ret_length = length;
	return 0;
}

/* Writes `text` to `path` (0640) through a temporary file: renamed over an existing file when
 * `force`, else linked so that an existing file is never replaced. */
static int
write_config(const char *dir, const char *path, const char *text, size_t length, bool force,
             char *error, size_t error_size)
{
	_cleanup_free_ char *temporary = NULL;
	int r = 0;
	if (asprintf(&temporary, "%s/.jitsudod.yaml.XXXXXX", dir) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd = mkostemp(temporary, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		set_error(error, error_size, "%s: %s", dir, strerror(-r));
		return r;
	}
	for (size_t written = 0; written < length && r == 0;) {
		ssize_t n = write(fd, text + written, length - written);
		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			written += (size_t)n;
	}
	if (r == 0 && (fchmod(fd, 0640) < 0 || fsync(fd) < 0))
		r = -errno;
	if (r == 0 && force && rename(temporary, path) < 0)
		r = -errno;
	if (r == 0 && !force && link(temporary, path) < 0)
		r = -errno;
	if (r < 0 || !force)
		unlink(temporary);
	if (r == -EEXIST)
		set_error(error, error_size, "%s exists (--force overwrites it)", path);
	else if (r < 0)
		set_error(error, error_size, "%s: %s", path, strerror(-r));
	return r;
}

int
jit_config_init(const char *dir, const char *data_dir, const char *http_addr,
                const char *issuer_url, bool force, char *error, size_t error_size)
{
	_cleanup_free_ char *abs_dir = NULL, *abs_data = NULL, *config_path = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *host = NULL, *derived_url = NULL;
	_cleanup_(jit_config_freep) struct jit_config *check = NULL;
	uint16_t port = 0;
	size_t length = 0;
	struct stat st;
	int r;

	if (error && error_size)
		error[0] = '\0';
	dir = dir ? dir : "/etc/jitsudo";
	data_dir = data_dir ? data_dir : "/var/lib/jitsudo";
	http_addr = http_addr ? http_addr : ":8080";
	if (!printable(dir) || !printable(data_dir)) {
		set_error(error, error_size, "directories must be non-empty printable paths");
		return JIT_ERR_INVALID;
	}
	if (!printable(http_addr) || jit_config_split_addr(http_addr, &host, &port) < 0) {
		set_error(error, error_size, "http address \"%.64s\": not host:port", http_addr);
		return JIT_ERR_INVALID;
	}
	if (!issuer_url) {
		/* The address clients reach: loopback when listening on every address. */
		bool any = !host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
		bool v6 = !any && strchr(host, ':');
		if (asprintf(&derived_url, "http://%s%s%s:%u", v6 ? "[" : "",
		             any ? "127.0.0.1" : host, v6 ? "]" : "", port) < 0)
			return -ENOMEM;
		issuer_url = derived_url;
	}
	if (!printable(issuer_url) || !is_url(issuer_url)) {
		set_error(error, error_size, "issuer url \"%.64s\": not an http(s) URL",
		          issuer_url);
		return JIT_ERR_INVALID;
	}
	if ((r = absolute_path(dir, &abs_dir)) < 0 || (r = absolute_path(data_dir, &abs_data)) < 0)
		return r;
	if (asprintf(&config_path, "%s/jitsudod.yaml", abs_dir) < 0)
		return -ENOMEM;

	/* The text must load before anything is written. */
	if ((r = init_text(abs_data, abs_dir, http_addr, issuer_url, &text, &length)) < 0)
		return r;
	if ((r = config_parse(config_path, config_path, text, length, &check, error, error_size)) <
	    0)
		return r;

	if ((r = make_directory(abs_dir, error, error_size)) < 0)
		return r;
	if (!force && lstat(config_path, &st) == 0) {
		set_error(error, error_size, "%s exists (--force overwrites it)", config_path);
		return -EEXIST;
	}
	int created = 0;
	if ((r = make_directory(abs_data, error, error_size)) < 0 ||
	    (r = write_missing_keys(abs_dir, &created, error, error_size)) < 0)
		return r;
	return write_config(abs_dir, config_path, text, length, force, error, error_size);
}
