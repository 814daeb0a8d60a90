/* The one strict reader of the programs' YAML configuration files (jitsudod, jitsudo-agent,
 * the CLI): a file is read under a size bound into a tree with line numbers (one document, no
 * anchors, aliases or tags) and applied to a struct through tables of keys. Unknown keys,
 * duplicate keys, values of the wrong type and out-of-range values are errors naming the file,
 * the line and the key path ("agent.yaml:3: server.timout: unknown key"). Trusts nothing in
 * the file; never logs. */
#ifndef JIT_CONFIG_READER_H
#define JIT_CONFIG_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"

#define JIT_CONFIG_READER_DEPTH_MAX 16
#define JIT_CONFIG_READER_NODES_MAX 100000
#define JIT_CONFIG_READER_STRING_MAX 4096 /* bytes of one value */
#define JIT_CONFIG_READER_LIST_MAX 64     /* entries of a list when its key says nothing */
#define JIT_CONFIG_READER_PATH_MAX 192    /* bytes of a key path ("identity.oidc[0].issuer") */

enum jit_config_node_kind {
	JIT_CONFIG_NODE_SCALAR,
	JIT_CONFIG_NODE_SEQUENCE,
	JIT_CONFIG_NODE_MAPPING,
};

/* One node of the file, read-only for the key setters. */
struct jit_config_node {
	enum jit_config_node_kind kind;
	int line;   /* 1-based */
	bool null;  /* a plain scalar "", "~" or "null" */
	char *text; /* scalars: NUL-terminated copy (may hold a NUL before length) */
	size_t length;
	struct jit_config_node **items; /* sequences: the items; mappings: key, value, ... */
	size_t count;
	size_t capacity;
};

enum jit_config_key_type {
	JIT_CONFIG_STRING,       /* non-empty text, char * (replaced, the old one freed) */
	JIT_CONFIG_PATH,         /* text as STRING; a relative path is resolved against the file's
	                          * directory */
	JIT_CONFIG_BOOL,         /* true or false, bool */
	JIT_CONFIG_INTEGER,      /* decimal without leading zeros, min..max; a 4- or 8-byte field */
	JIT_CONFIG_SECONDS,      /* a duration ("1h30m", lib/common/duration.h), min..max seconds */
	JIT_CONFIG_MILLISECONDS, /* a duration or "500ms", min..max milliseconds */
	JIT_CONFIG_LIST,         /* a list of strings, char ** NULL-terminated (replaced) */
	JIT_CONFIG_SECTION,      /* a mapping of the keys in `section`, on the same base */
	JIT_CONFIG_CUSTOM,       /* applied by `set` */
	JIT_CONFIG_REFUSED,      /* a known key refused with `refusal` as the message */
};

struct jit_config_reader;
struct jit_config_key;

/* A setter for JIT_CONFIG_CUSTOM: applies `value` (the node under the key named by `path`) to
 * `base`. Returns 0 or a negative code, with the message set by jit_config_reader_fail. */
typedef int (*jit_config_setter)(struct jit_config_reader *reader, const struct jit_config_key *key,
                                 const struct jit_config_node *value, void *base, const char *path);

/* One key of a mapping. A table of keys ends with an entry whose name is NULL. */
struct jit_config_key {
	const char *name;
	enum jit_config_key_type type;
	size_t offset; /* of the field in the struct the table applies to */
	size_t size;   /* INTEGER, SECONDS, MILLISECONDS: the field's size (4 or 8 bytes) */
	int64_t min, max;
	bool required;    /* missing from its mapping: "<mapping>: <name> is required" */
	size_t max_items; /* LIST: at most this many entries (0: JIT_CONFIG_READER_LIST_MAX) */
	bool one_or_list; /* LIST: one value is taken as a list of one */
	/* STRING, PATH and LIST items: NULL or what is wrong with the value (static text). */
	const char *(*check)(const char *value);
	const struct jit_config_key *section; /* SECTION */
	jit_config_setter set;                /* CUSTOM */
	const char *refusal;                  /* REFUSED */
};

/* The offset and size of a field, for a key's table entry. */
#define JIT_CONFIG_FIELD(type, member) \
	.offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

/* How a program words two failures its users (and tests) know: by default a repeated key is
 * "duplicate key" and a bad integer "\"x\" is not an integer" or "N is out of range (A to B)". */
struct jit_config_reader_options {
	size_t max_bytes;        /* the file's bound; larger is JIT_ERR_TOO_LARGE */
	bool say_given_twice;    /* "given twice (first on line N)" */
	bool say_integer_bounds; /* both integer failures: "an integer from A to B" */
};

/* Reads and parses the file at `path` (a regular file, at most options->max_bytes; opening does
 * not wait on a FIFO). Returns 0 and a reader the caller frees, or a negative code with a
 * message in `error` (kept by the reader for its later messages, so it must outlive it):
 * -errno when the file cannot be opened or read ("<path>: <strerror>"), JIT_ERR_TOO_LARGE,
 * JIT_ERR_INVALID for YAML that is malformed or uses what the reader refuses, -ENOMEM.
 * Messages name the file as `path` spells it. Does not block beyond reading the file. */
int jit_config_reader_open(const char *path, const struct jit_config_reader_options *options,
                           struct jit_config_reader **ret_reader, char *error, size_t error_size);
/* The same for `length` bytes of `text` (not kept) said to be the file at `path` (to check a
 * file before it is written). */
int jit_config_reader_open_text(const char *path, const char *text, size_t length,
                                const struct jit_config_reader_options *options,
                                struct jit_config_reader **ret_reader, char *error,
                                size_t error_size);
void jit_config_reader_free(struct jit_config_reader *reader);
JIT_DEFINE_CLEANUP(struct jit_config_reader *, jit_config_reader_free)

/* Applies the file's document to `base` through `keys` (the root mapping). An empty file
 * applies nothing. Returns 0, JIT_ERR_INVALID with the message, or -ENOMEM. On an error `base`
 * may hold part of the file: load into a fresh struct and free it on failure, so that nothing
 * is half-applied. */
int jit_config_reader_apply(struct jit_config_reader *reader, const struct jit_config_key *keys,
                            void *base);
/* Applies the mapping `map` (for setters of lists of mappings); `path` names it in messages.
 * A null scalar is an empty mapping. */
int jit_config_reader_apply_mapping(struct jit_config_reader *reader,
                                    const struct jit_config_node *map,
                                    const struct jit_config_key *keys, void *base,
                                    const char *path);

/* `path` made absolute against the working directory (symlinks are kept as named): a new
 * string, or NULL with errno set. */
char *jit_config_absolute_path(const char *path);

/* The absolute path of the file and its directory (owned by the reader). */
const char *jit_config_reader_path(const struct jit_config_reader *reader);
const char *jit_config_reader_dir(const struct jit_config_reader *reader);
/* The line the field at `field` was last set on by the file, or 0 when the file left it. */
int jit_config_reader_line_of(const struct jit_config_reader *reader, const void *field);
/* Records that `field` was set on `line` (for setters). */
void jit_config_reader_remember(struct jit_config_reader *reader, const void *field, int line);

/* Writes "<file>:<line>: <key>: <message>" (":<line>" left out when 0, "<key>: " when key is
 * NULL) as the reader's message. Use through jit_config_reader_fail. */
void jit_config_reader_message(struct jit_config_reader *reader, int line, const char *key,
                               const char *fmt, ...) JIT_PRINTF(4, 5);
/* Sets the message and evaluates to JIT_ERR_INVALID (a macro, so that each caller's static
 * analysis sees the failure). */
#define jit_config_reader_fail(reader, line, key, ...)                           \
	({                                                                       \
		jit_config_reader_message((reader), (line), (key), __VA_ARGS__); \
		JIT_ERR_INVALID;                                                 \
	})

/* "a mapping", "a list", "empty" or "a single value", for messages. */
const char *jit_config_node_kind_name(const struct jit_config_node *node);
/* The text of a single non-empty value free of NUL and control characters and at most
 * JIT_CONFIG_READER_STRING_MAX bytes; *ret_text points into the node. */
int jit_config_reader_scalar(struct jit_config_reader *reader, const struct jit_config_node *value,
                             const char *path, const char **ret_text);

/* A decimal integer in full: an optional '-', digits without leading zeros, nothing else.
 * Returns 0 or JIT_ERR_INVALID (*ret untouched). */
int jit_config_parse_integer(const char *text, int64_t *ret);

/* Frees a NULL-terminated list of strings (NULL is fine). */
void jit_config_strv_free(char **list);

#endif
