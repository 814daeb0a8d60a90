/* The strict YAML configuration reader: the file (bounded, a regular file) becomes a small tree
 * with line numbers, which is applied to a struct through tables of keys. Trusts nothing in the
 * file: every failure is a message naming the file, the line and the key path. */
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
#include "lib/config/reader.h"

#define SEEN_MAX 256

struct jit_config_reader {
	const char *file; /* as the caller named it */
	char *absolute;   /* the file's absolute path */
	char *dir;        /* its directory */
	struct jit_config_reader_options options;
	struct jit_config_node *root; /* NULL for an empty document */
	char *error;
	size_t error_size;
	struct {
		const void *field;
		int line;
	} seen[SEEN_MAX];
	size_t seen_count;
};

/* ---- messages ----------------------------------------------------------------------------- */

void
jit_config_reader_message(struct jit_config_reader *reader, int line, const char *key,
                          const char *fmt, ...)
{
	if (!reader->error || !reader->error_size)
		return;
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	char where[32] = "";
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	snprintf(reader->error, reader->error_size, "%s%s: %s%s%s", reader->file, where,
	         key ? key : "", key ? ": " : "", message);
}

#define fail(reader, line, key, ...) jit_config_reader_fail(reader, line, key, __VA_ARGS__)

/* A message without a line, before there is a reader. */
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

void
jit_config_reader_remember(struct jit_config_reader *reader, const void *field, int line)
{
	if (reader->seen_count < SEEN_MAX)
		reader->seen[reader->seen_count++] = (typeof(reader->seen[0])){ field, line };
}

int
jit_config_reader_line_of(const struct jit_config_reader *reader, const void *field)
{
	for (size_t i = reader->seen_count; i > 0; i--)
		if (reader->seen[i - 1].field == field)
			return reader->seen[i - 1].line;
	return 0;
}

const char *
jit_config_reader_path(const struct jit_config_reader *reader)
{
	return reader->absolute;
}

const char *
jit_config_reader_dir(const struct jit_config_reader *reader)
{
	return reader->dir;
}

/* ---- the YAML tree ------------------------------------------------------------------------ */

static void
node_free(struct jit_config_node *node)
{
	if (!node)
		return;
	for (size_t i = 0; i < node->count; i++)
		node_free(node->items[i]); /* depth is bounded by JIT_CONFIG_READER_DEPTH_MAX */
	free(node->items);
	free(node->text);
	free(node);
}

static void
node_freep(struct jit_config_node **node)
{
	node_free(*node);
}

const char *
jit_config_node_kind_name(const struct jit_config_node *node)
{
	if (node->kind == JIT_CONFIG_NODE_MAPPING)
		return "a mapping";
	if (node->kind == JIT_CONFIG_NODE_SEQUENCE)
		return "a list";
	return node->null ? "empty" : "a single value";
}

static int
node_attach(struct jit_config_reader *r, struct jit_config_node *parent,
            struct jit_config_node *child)
{
	if (parent->kind == JIT_CONFIG_NODE_MAPPING && parent->count % 2 == 0 &&
	    child->kind != JIT_CONFIG_NODE_SCALAR)
		return fail(r, child->line, NULL, "a key must be a plain word, not %s",
		            jit_config_node_kind_name(child));
	if (parent->count == parent->capacity) {
		size_t capacity = parent->capacity ? parent->capacity * 2 : 8;
		struct jit_config_node **items =
		        reallocarray(parent->items, capacity, sizeof(*items));
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
	struct jit_config_node *root;
	struct jit_config_node *stack[JIT_CONFIG_READER_DEPTH_MAX];
	size_t depth;
	size_t nodes;
	size_t documents;
	bool done;
};

static int
tree_event(struct jit_config_reader *r, struct tree_builder *b, const yaml_event_t *event)
{
	int line = (int)event->start_mark.line + 1;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	enum jit_config_node_kind kind;

	switch (event->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		b->done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (b->documents++ > 0)
			return fail(r, line, NULL, "only one YAML document is allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(r, line, NULL, "YAML aliases (*name) are not allowed");
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	case YAML_SCALAR_EVENT:
		anchor = event->data.scalar.anchor;
		tag = event->data.scalar.tag;
		kind = JIT_CONFIG_NODE_SCALAR;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = event->data.sequence_start.anchor;
		tag = event->data.sequence_start.tag;
		kind = JIT_CONFIG_NODE_SEQUENCE;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = event->data.mapping_start.anchor;
		tag = event->data.mapping_start.tag;
		kind = JIT_CONFIG_NODE_MAPPING;
		break;
	default:
		return fail(r, line, NULL, "unexpected YAML event");
	}
	if (anchor)
		return fail(r, line, NULL, "YAML anchors (&name) are not allowed");
	if (tag)
		return fail(r, line, NULL, "YAML tags (!name) are not allowed");
	if (++b->nodes > JIT_CONFIG_READER_NODES_MAX)
		return fail(r, line, NULL, "more than %d YAML nodes", JIT_CONFIG_READER_NODES_MAX);
	if (kind != JIT_CONFIG_NODE_SCALAR && b->depth == JIT_CONFIG_READER_DEPTH_MAX)
		return fail(r, line, NULL, "nested deeper than %d levels",
		            JIT_CONFIG_READER_DEPTH_MAX);

	_cleanup_(node_freep) struct jit_config_node *node = calloc(1, sizeof(*node));
	if (!node)
		return -ENOMEM;
	node->kind = kind;
	node->line = line;
	if (kind == JIT_CONFIG_NODE_SCALAR) {
		node->length = event->data.scalar.length;
		node->null = scalar_is_null(event);
		node->text = strndup((const char *)event->data.scalar.value, node->length);
		if (!node->text)
			return -ENOMEM;
	}
	struct jit_config_node *added = node;
	if (b->depth > 0) {
		int e = node_attach(r, b->stack[b->depth - 1], node);
		if (e < 0)
			return e;
		TAKE_PTR(node);
	} else {
		b->root = TAKE_PTR(node);
	}
	if (kind != JIT_CONFIG_NODE_SCALAR)
		b->stack[b->depth++] = added;
	return 0;
}

/* Parses `text` into the reader's tree (NULL for an empty document). */
static int
tree_parse(struct jit_config_reader *r, const char *text, size_t length)
{
	struct tree_builder b = { 0 };
	yaml_parser_t parser;
	int e = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);
	while (!b.done) {
		yaml_event_t event;
		if (!yaml_parser_parse(&parser, &event)) {
			if (parser.error == YAML_MEMORY_ERROR)
				e = -ENOMEM;
			else
				e = fail(r, (int)parser.problem_mark.line + 1, NULL,
				         "YAML syntax error: %s%s%s",
				         parser.problem ? parser.problem : "malformed",
				         parser.context ? " " : "",
				         parser.context ? parser.context : "");
			break;
		}
		e = tree_event(r, &b, &event);
		yaml_event_delete(&event);
		if (e < 0)
			break;
	}
	yaml_parser_delete(&parser);
	if (e < 0) {
		node_free(b.root);
		return e;
	}
	r->root = b.root;
	return 0;
}

/* ---- the file ----------------------------------------------------------------------------- */

char *
jit_config_absolute_path(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	char *joined = NULL;
	if (asprintf(&joined, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return joined;
}

static int
directory_of(const char *absolute, char **ret)
{
	const char *slash = strrchr(absolute, '/');
	size_t length = slash && slash != absolute ? (size_t)(slash - absolute) : 1;
	return (*ret = strndup(absolute, length)) ? 0 : -ENOMEM;
}

/* Reads at most `max` bytes of the file into *ret_text (NUL-terminated). */
static int
read_bounded(const char *path, const char *absolute, size_t max, char **ret_text,
             size_t *ret_length, char *error, size_t error_size)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t length = 0;
	int r;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below). */
	fd = open(absolute, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = jit_errno_or(-EIO);
		set_error(error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		set_error(error, error_size, "%s: not a regular file", path);
		return JIT_ERR_INVALID;
	}
	if ((uintmax_t)st.st_size > max) {
		set_error(error, error_size, "%s: larger than %zu bytes", path, max);
		return JIT_ERR_TOO_LARGE;
	}
	/* One byte more than the bound, in case the file grew after fstat. */
	if (!(text = malloc(max + 1)))
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, text + length, max + 1 - length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = jit_errno_or(-EIO);
			set_error(error, error_size, "%s: %s", path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		length += (size_t)n;
		if (length > max) {
			set_error(error, error_size, "%s: larger than %zu bytes", path, max);
			return JIT_ERR_TOO_LARGE;
		}
	}
	text[length] = '\0';
	*ret_text = TAKE_PTR(text);
	*ret_length = length;
	return 0;
}

void
jit_config_reader_free(struct jit_config_reader *reader)
{
	if (!reader)
		return;
	node_free(reader->root);
	free(reader->absolute);
	free(reader->dir);
	free(reader);
}

/* A reader for the file `path` with nothing read yet. */
static int
reader_new(const char *path, const struct jit_config_reader_options *options,
           struct jit_config_reader **ret_reader, char *error, size_t error_size)
{
	_cleanup_(jit_config_reader_freep) struct jit_config_reader *reader = NULL;
	int r;

	if (error && error_size)
		error[0] = '\0';
	if (!path || !path[0]) {
		set_error(error, error_size, "no config file named");
		return JIT_ERR_INVALID;
	}
	if (!(reader = calloc(1, sizeof(*reader))))
		return -ENOMEM;
	*reader = (struct jit_config_reader){
		.file = path, .options = *options, .error = error, .error_size = error_size
	};
	if (!(reader->absolute = jit_config_absolute_path(path))) {
		r = jit_errno_or(-ENOMEM);
		set_error(error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	if ((r = directory_of(reader->absolute, &reader->dir)) < 0)
		return r;
	*ret_reader = TAKE_PTR(reader);
	return 0;
}

int
jit_config_reader_open_text(const char *path, const char *text, size_t length,
                            const struct jit_config_reader_options *options,
                            struct jit_config_reader **ret_reader, char *error, size_t error_size)
{
	_cleanup_(jit_config_reader_freep) struct jit_config_reader *reader = NULL;
	int r;

	if ((r = reader_new(path, options, &reader, error, error_size)) < 0)
		return r;
	if (length > options->max_bytes) {
		set_error(error, error_size, "%s: larger than %zu bytes", path, options->max_bytes);
		return JIT_ERR_TOO_LARGE;
	}
	if ((r = tree_parse(reader, text, length)) < 0)
		return r;
	*ret_reader = TAKE_PTR(reader);
	return 0;
}

int
jit_config_reader_open(const char *path, const struct jit_config_reader_options *options,
                       struct jit_config_reader **ret_reader, char *error, size_t error_size)
{
	_cleanup_(jit_config_reader_freep) struct jit_config_reader *reader = NULL;
	_cleanup_free_ char *text = NULL;
	size_t length = 0;
	int r;

	if ((r = reader_new(path, options, &reader, error, error_size)) < 0)
		return r;
	if ((r = read_bounded(path, reader->absolute, options->max_bytes, &text, &length, error,
	                      error_size)) < 0)
		return r;
	if ((r = tree_parse(reader, text, length)) < 0)
		return r;
	*ret_reader = TAKE_PTR(reader);
	return 0;
}

/* ---- values ------------------------------------------------------------------------------- */

int
jit_config_parse_integer(const char *text, int64_t *ret)
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
		if (digits[0] == '-' || jit_config_parse_integer(digits, &v) < 0) {
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

int
jit_config_reader_scalar(struct jit_config_reader *reader, const struct jit_config_node *value,
                         const char *path, const char **ret_text)
{
	if (value->kind != JIT_CONFIG_NODE_SCALAR)
		return fail(reader, value->line, path, "must be a single value, not %s",
		            jit_config_node_kind_name(value));
	if (value->null)
		return fail(reader, value->line, path, "has no value");
	if (value->length == 0)
		return fail(reader, value->line, path, "is empty");
	if (value->length > JIT_CONFIG_READER_STRING_MAX)
		return fail(reader, value->line, path, "longer than %d bytes",
		            JIT_CONFIG_READER_STRING_MAX);
	if (strlen(value->text) != value->length)
		return fail(reader, value->line, path, "contains a NUL byte");
	for (const char *p = value->text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(reader, value->line, path, "contains a control character");
	*ret_text = value->text;
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

static int
store_integer(void *field, size_t size, int64_t v)
{
	if (size == sizeof(int32_t)) {
		int32_t narrow = (int32_t)v; /* within the key's bounds, which fit the field */
		memcpy(field, &narrow, sizeof(narrow));
	} else if (size == sizeof(int64_t)) {
		memcpy(field, &v, sizeof(v));
	} else {
		return JIT_ERR_INTERNAL;
	}
	return 0;
}

void
jit_config_strv_free(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

static int
apply_list(struct jit_config_reader *r, const struct jit_config_key *k,
           const struct jit_config_node *value, char ***field, const char *path)
{
	const struct jit_config_node *const *items = (const struct jit_config_node *const *)&value;
	size_t count = 1;
	size_t max = k->max_items ? k->max_items : JIT_CONFIG_READER_LIST_MAX;

	if (value->kind == JIT_CONFIG_NODE_SEQUENCE) {
		items = (const struct jit_config_node *const *)value->items;
		count = value->count;
	} else if (value->kind == JIT_CONFIG_NODE_SCALAR && value->null) {
		count = 0;
	} else if (value->kind == JIT_CONFIG_NODE_MAPPING || !k->one_or_list) {
		return fail(r, value->line, path, "must be a list, not %s",
		            jit_config_node_kind_name(value));
	}
	if (count > max)
		return fail(r, value->line, path, "more than %zu entries", max);
	char **list = calloc(count + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct jit_config_node *item = items[i];
		char item_path[JIT_CONFIG_READER_PATH_MAX];
		const char *text = NULL, *why = NULL;
		int e;
		if (value->kind == JIT_CONFIG_NODE_SEQUENCE)
			snprintf(item_path, sizeof(item_path), "%.160s[%zu]", path, i);
		else
			snprintf(item_path, sizeof(item_path), "%.160s", path);
		if ((e = jit_config_reader_scalar(r, item, item_path, &text)) == 0 && k->check &&
		    (why = k->check(text)))
			e = fail(r, item->line, item_path, "\"%.64s\": %s", text, why);
		if (e == 0 && !(list[i] = strdup(text)))
			e = -ENOMEM;
		if (e < 0) {
			jit_config_strv_free(list);
			return e;
		}
	}
	jit_config_strv_free(*field);
	*field = list;
	return 0;
}

/* "an integer from A to B", or the words of the default wording. */
static int
integer_failure(struct jit_config_reader *r, const struct jit_config_key *k, int line,
                const char *path, const char *text, const int64_t *parsed)
{
	if (r->options.say_integer_bounds)
		return fail(r, line, path, "an integer from %lld to %lld", (long long)k->min,
		            (long long)k->max);
	if (!parsed)
		return fail(r, line, path, "\"%.64s\" is not an integer", text);
	return fail(r, line, path, "%lld is out of range (%lld to %lld)", (long long)*parsed,
	            (long long)k->min, (long long)k->max);
}

static int
apply_key(struct jit_config_reader *r, const struct jit_config_key *k,
          const struct jit_config_node *key_node, const struct jit_config_node *value, void *base,
          const char *path)
{
	void *field = (char *)base + k->offset;
	const char *text = NULL, *why = NULL;
	char reason[256] = "";
	int64_t v = 0;
	int e;

	switch (k->type) {
	case JIT_CONFIG_SECTION:
		return jit_config_reader_apply_mapping(r, value, k->section, base, path);
	case JIT_CONFIG_CUSTOM:
		return k->set(r, k, value, base, path);
	case JIT_CONFIG_REFUSED:
		return fail(r, key_node->line, path, "%s", k->refusal);
	case JIT_CONFIG_LIST:
		if ((e = apply_list(r, k, value, field, path)) < 0)
			return e;
		jit_config_reader_remember(r, field, value->line);
		return 0;
	default:
		break;
	}
	if ((e = jit_config_reader_scalar(r, value, path, &text)) < 0)
		return e;
	switch (k->type) {
	case JIT_CONFIG_STRING:
	case JIT_CONFIG_PATH: {
		char *copy = NULL;
		if (k->check && (why = k->check(text)))
			return fail(r, value->line, path, "\"%.64s\": %s", text, why);
		e = k->type == JIT_CONFIG_PATH ? resolve_path(r->dir, text, &copy)
		                               : ((copy = strdup(text)) ? 0 : -ENOMEM);
		if (e < 0)
			return e;
		free(*(char **)field);
		*(char **)field = copy;
		break;
	}
	case JIT_CONFIG_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return fail(r, value->line, path, "must be true or false, not \"%.64s\"",
			            text);
		*(bool *)field = strcmp(text, "true") == 0;
		break;
	case JIT_CONFIG_INTEGER:
		if (jit_config_parse_integer(text, &v) < 0)
			return integer_failure(r, k, value->line, path, text, NULL);
		if (v < k->min || v > k->max)
			return integer_failure(r, k, value->line, path, text, &v);
		if ((e = store_integer(field, k->size, v)) < 0)
			return e;
		break;
	case JIT_CONFIG_SECONDS:
		if (jit_duration_parse(text, &v, reason, sizeof(reason)) < 0)
			return fail(r, value->line, path, "%s", reason);
		if (v < k->min || v > k->max)
			return fail(r, value->line, path,
			            "\"%.32s\" is out of range (%llds to %llds)", text,
			            (long long)k->min, (long long)k->max);
		if ((e = store_integer(field, k->size, v)) < 0)
			return e;
		break;
	case JIT_CONFIG_MILLISECONDS:
		if (parse_milliseconds(text, &v, reason, sizeof(reason)) < 0)
			return fail(r, value->line, path, "%s", reason);
		if (v < k->min || v > k->max)
			return fail(r, value->line, path,
			            "\"%.32s\" is out of range (%lldms to %lldms)", text,
			            (long long)k->min, (long long)k->max);
		if ((e = store_integer(field, k->size, v)) < 0)
			return e;
		break;
	default:
		return JIT_ERR_INTERNAL;
	}
	jit_config_reader_remember(r, field, value->line);
	return 0;
}

int
jit_config_reader_apply_mapping(struct jit_config_reader *reader, const struct jit_config_node *map,
                                const struct jit_config_key *keys, void *base, const char *path)
{
	if (map->kind == JIT_CONFIG_NODE_SCALAR && map->null)
		map = NULL; /* a section with everything commented out */
	else if (map->kind != JIT_CONFIG_NODE_MAPPING)
		return fail(reader, map->line, path[0] ? path : NULL, "must be a mapping, not %s",
		            jit_config_node_kind_name(map));
	for (size_t i = 0; map && i + 1 < map->count; i += 2) {
		const struct jit_config_node *key_node = map->items[i], *value = map->items[i + 1];
		char key[JIT_CONFIG_READER_PATH_MAX];
		key_path(key, sizeof(key), path, key_node->text);
		/* Every earlier key was known and unique, so this loop is bounded by the table. */
		for (size_t j = 0; j < i; j += 2) {
			if (strcmp(map->items[j]->text, key_node->text) != 0)
				continue;
			if (reader->options.say_given_twice)
				return fail(reader, key_node->line, key,
				            "given twice (first on line %d)", map->items[j]->line);
			return fail(reader, key_node->line, key, "duplicate key");
		}
		const struct jit_config_key *k = keys;
		while (k->name && (strlen(k->name) != key_node->length ||
		                   strcmp(k->name, key_node->text) != 0))
			k++;
		if (!k->name)
			return fail(reader, key_node->line, key, "unknown key");
		int e = apply_key(reader, k, key_node, value, base, key);
		if (e < 0)
			return e;
	}
	for (const struct jit_config_key *k = keys; k->name; k++) {
		if (!k->required)
			continue;
		bool given = false;
		for (size_t i = 0; map && !given && i + 1 < map->count; i += 2)
			given = strcmp(map->items[i]->text, k->name) == 0;
		if (!given)
			return fail(reader, map ? map->line : 0, path[0] ? path : NULL,
			            "%s is required", k->name);
	}
	return 0;
}

int
jit_config_reader_apply(struct jit_config_reader *reader, const struct jit_config_key *keys,
                        void *base)
{
	if (!reader->root) {
		/* An empty file: the defaults, unless a key must be given. */
		for (const struct jit_config_key *k = keys; k->name; k++)
			if (k->required)
				return fail(reader, 0, NULL, "%s is required", k->name);
		return 0;
	}
	return jit_config_reader_apply_mapping(reader, reader->root, keys, base, "");
}
