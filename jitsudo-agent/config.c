/* Reads /etc/jitsudo/agent.yaml: every option has a default (docs/agent.md); unknown keys,
 * keys given twice, values of the wrong type and files over 64 KiB are errors naming the file,
 * the line and the key, so a typo never weakens a setting. Trusts only root-owned
 * configuration (the caller's job). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "jitsudo-agent/agent.h"
#include "lib/common/duration.h"
#include "lib/common/errors.h"

#define MAX_CONFIG_FILE (64 * 1024)

enum kind {
	K_STRING,
	K_BOOL,
	K_SECONDS, /* a duration, stored as seconds (int64) */
	K_MS,      /* a duration, stored as milliseconds (int) */
	K_INT,
	K_LIST,
};

struct option {
	const char *path; /* "section.key" */
	enum kind kind;
	size_t offset;
	int64_t min, max;
};

#define F(f) offsetof(struct agent_config, f)
#define OPTION_COUNT 28

static const struct option options[] = {
	{ "server.url", K_STRING, F(server_url), 0, 0 },
	{ "server.ca_file", K_STRING, F(ca_file), 0, 0 },
	{ "server.timeout", K_MS, F(server_timeout_ms), 100, 120000 },
	{ "host.name", K_STRING, F(host_name), 0, 0 },
	{ "host.key_file", K_STRING, F(key_file), 0, 0 },
	{ "host.audience", K_STRING, F(audience), 0, 0 },
	{ "host.token_ttl", K_SECONDS, F(token_ttl_seconds), 10, 300 },
	{ "identity.template", K_STRING, F(identity_template), 0, 0 },
	{ "identity.groups", K_LIST, F(groups), 0, 0 },
	{ "requests.duration", K_SECONDS, F(default_duration_seconds), 1, 7 * 86400 },
	{ "requests.reason", K_STRING, F(default_reason), 0, 0 },
	{ "requests.scope", K_STRING, F(default_scope), 0, 0 },
	{ "deadlines.max_wait", K_MS, F(max_wait_ms), 1000, 600000 },
	{ "deadlines.poll_interval", K_MS, F(poll_interval_ms), 100, 60000 },
	{ "deadlines.idle", K_MS, F(idle_timeout_ms), 100, 600000 },
	{ "deadlines.request", K_MS, F(request_timeout_ms), 500, 120000 },
	{ "deadlines.refresh", K_MS, F(refresh_ms), 0, 3600000 },
	{ "limits.max_pam_connections", K_INT, F(max_pam_connections), 1, 4096 },
	{ "limits.max_user_connections", K_INT, F(max_user_connections), 1, 4096 },
	{ "limits.max_user_connections_per_uid", K_INT, F(max_user_connections_per_uid), 1, 4096 },
	{ "limits.user_server_calls_per_minute", K_INT, F(user_server_calls_per_minute), 1, 6000 },
	{ "limits.user_server_calls_burst", K_INT, F(user_server_calls_burst), 1, 1000 },
	/* Deprecated: one pool for both sockets let user.sock starve agent.sock. Still read, so
	 * an older file keeps working: it sizes each pool not given on its own. */
	{ "limits.max_connections", K_INT, F(legacy_max_connections), 1, 4096 },
	{ "paths.runtime_dir", K_STRING, F(runtime_dir), 0, 0 },
	{ "paths.state_dir", K_STRING, F(state_dir), 0, 0 },
	{ "injection.aws_files", K_BOOL, F(write_aws_files), 0, 0 },
	{ "injection.kubeconfig", K_BOOL, F(write_kubeconfig), 0, 0 },
	{ "injection.export_secrets", K_BOOL, F(export_secrets), 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

_Static_assert(sizeof(options) / sizeof(options[0]) == OPTION_COUNT + 1,
               "OPTION_COUNT is the number of options");

static int fail(char *error, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
fail(char *error, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error, size, fmt, ap);
	va_end(ap);
	return JIT_ERR_INVALID;
}

static void
strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void
agent_config_free(struct agent_config *c)
{
	if (!c)
		return;
	for (const struct option *o = options; o->path; o++) {
		void *field = (char *)c + o->offset;
		if (o->kind == K_STRING)
			free(*(char **)field);
		else if (o->kind == K_LIST)
			strv_free(*(char ***)field);
	}
	free(c);
}

static int
defaults(struct agent_config **ret)
{
	struct agent_config *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->server_timeout_ms = 5000;
	c->token_ttl_seconds = 60;
	c->default_duration_seconds = 3600;
	c->max_wait_ms = 120000;
	c->poll_interval_ms = 1000;
	c->idle_timeout_ms = 30000;
	c->request_timeout_ms = 15000;
	c->refresh_ms = 10000;
	c->max_pam_connections = 64;
	c->max_user_connections = 32;
	c->max_user_connections_per_uid = 8;
	c->user_server_calls_per_minute = 30;
	c->user_server_calls_burst = 10;
	c->write_aws_files = true;
	c->write_kubeconfig = true;
	c->export_secrets = true;
	if (!(c->key_file = strdup("/etc/jitsudo/host.key")) ||
	    !(c->audience = strdup("jitsudo")) || !(c->identity_template = strdup("{user}")) ||
	    !(c->default_reason = strdup("session on a jump host")) ||
	    !(c->runtime_dir = strdup("/run/jitsudo")) ||
	    !(c->state_dir = strdup("/var/lib/jitsudo-agent")) ||
	    !(c->groups = calloc(1, sizeof(char *)))) {
		agent_config_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

static const char *
scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	const char *s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length)
		return NULL;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	return s;
}

static int
apply(struct agent_config *c, const struct option *o, yaml_document_t *doc, yaml_node_t *value,
      char *error, size_t size)
{
	void *field = (char *)c + o->offset;
	const char *text = NULL;
	int64_t v = 0;
	char why[160];

	if (o->kind == K_LIST) {
		if (value->type != YAML_SEQUENCE_NODE)
			return fail(error, size, "%s: must be a list", o->path);
		size_t n =
		        (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
		if (n > AGENT_MAX_GROUPS)
			return fail(error, size, "%s: more than %d entries", o->path,
			            AGENT_MAX_GROUPS);
		char **list = calloc(n + 1, sizeof(*list));
		if (!list)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			const char *item = scalar(
			        yaml_document_get_node(doc, value->data.sequence.items.start[i]));
			if (!item || !item[0] || strlen(item) >= 64 || !(list[i] = strdup(item))) {
				strv_free(list);
				return item ? -ENOMEM
				            : fail(error, size, "%s[%zu]: must be a short name",
				                   o->path, i);
			}
		}
		strv_free(*(char ***)field);
		*(char ***)field = list;
		return 0;
	}
	if (!(text = scalar(value)) || !text[0])
		return fail(error, size, "%s: must be a single non-empty value", o->path);
	switch (o->kind) {
	case K_STRING: {
		char *copy = strdup(text);
		if (!copy)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case K_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return fail(error, size, "%s: must be true or false", o->path);
		*(bool *)field = strcmp(text, "true") == 0;
		return 0;
	case K_INT: {
		char *end = NULL;
		errno = 0;
		long long n = strtoll(text, &end, 10);
		if (errno || !end || *end || n < o->min || n > o->max)
			return fail(error, size, "%s: an integer from %lld to %lld", o->path,
			            (long long)o->min, (long long)o->max);
		*(int *)field = (int)n;
		return 0;
	}
	case K_MS: {
		size_t len = strlen(text);
		if (len > 2 && strcmp(text + len - 2, "ms") == 0) {
			char *end = NULL;
			errno = 0;
			long long n = strtoll(text, &end, 10);
			if (errno || end != text + len - 2 || n < 0)
				return fail(error, size, "%s: \"%.32s\" is not a duration", o->path,
				            text);
			v = n;
		} else {
			if (jit_duration_parse(text, &v, why, sizeof(why)) < 0)
				return fail(error, size, "%s: %s", o->path, why);
			v *= 1000;
		}
		if (v < o->min || v > o->max)
			return fail(error, size, "%s: out of range (%lldms to %lldms)", o->path,
			            (long long)o->min, (long long)o->max);
		*(int *)field = (int)v;
		return 0;
	}
	case K_SECONDS:
		if (jit_duration_parse(text, &v, why, sizeof(why)) < 0)
			return fail(error, size, "%s: %s", o->path, why);
		if (v < o->min || v > o->max)
			return fail(error, size, "%s: out of range (%llds to %llds)", o->path,
			            (long long)o->min, (long long)o->max);
		if (o->offset == F(token_ttl_seconds))
			*(int *)field = (int)v;
		else
			*(int64_t *)field = v;
		return 0;
	default:
		return JIT_ERR_INTERNAL;
	}
}

/* The line (1-based) where node starts; 0 when unknown. */
static size_t
line_of(yaml_node_t *node)
{
	return node ? node->start_mark.line + 1 : 0;
}

/* Prefixes the message in error with "file:line: ". */
static int
at_line(int r, const char *file, size_t line, char *error, size_t size)
{
	char text[512];
	if (r != JIT_ERR_INVALID)
		return r;
	snprintf(text, sizeof(text), "%s", error);
	if (line)
		snprintf(error, size, "%s:%zu: %s", file, line, text);
	else
		snprintf(error, size, "%s: %s", file, text);
	return r;
}

/* Applies the document; lines[i] receives the line of options[i] when it is set. */
static int
walk(struct agent_config *c, yaml_document_t *doc, const char *file, size_t lines[OPTION_COUNT],
     char *error, size_t size)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (!root)
		return 0; /* an empty file: the defaults */
	if (root->type != YAML_MAPPING_NODE)
		return at_line(fail(error, size, "the file must be a mapping of sections"), file,
		               line_of(root), error, size);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key_node = yaml_document_get_node(doc, p->key);
		const char *section = scalar(key_node);
		yaml_node_t *map = yaml_document_get_node(doc, p->value);
		if (!section)
			return at_line(fail(error, size, "a section name must be text"), file,
			               line_of(key_node), error, size);
		if (!map || map->type != YAML_MAPPING_NODE)
			return at_line(fail(error, size, "%.64s: must be a mapping", section), file,
			               line_of(map ? map : key_node), error, size);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
		     q < map->data.mapping.pairs.top; q++) {
			yaml_node_t *k = yaml_document_get_node(doc, q->key);
			yaml_node_t *value = yaml_document_get_node(doc, q->value);
			const char *key = scalar(k);
			char path[160];
			if (!key)
				return at_line(
				        fail(error, size, "%.64s: a key must be text", section),
				        file, line_of(k), error, size);
			snprintf(path, sizeof(path), "%.64s.%.64s", section, key);
			size_t i = 0;
			while (options[i].path && strcmp(options[i].path, path) != 0)
				i++;
			if (!options[i].path)
				return at_line(fail(error, size, "%s: unknown key", path), file,
				               line_of(k), error, size);
			if (lines[i])
				return at_line(fail(error, size,
				                    "%s: given twice (first on line %zu)", path,
				                    lines[i]),
				               file, line_of(k), error, size);
			lines[i] = line_of(k);
			int r = apply(c, &options[i], doc, value, error, size);
			if (r < 0)
				return at_line(r, file, line_of(value), error, size);
		}
	}
	return 0;
}

static size_t
option_line(const size_t lines[OPTION_COUNT], const char *path)
{
	for (size_t i = 0; options[i].path; i++)
		if (strcmp(options[i].path, path) == 0)
			return lines[i];
	return 0;
}

/* The connection limits after the file: the deprecated limits.max_connections sizes each
 * socket's pool the file does not size, and the per-uid cap fits in the user socket's. */
static int
check_limits(struct agent_config *c, const size_t lines[OPTION_COUNT], const char *file,
             char *error, size_t size)
{
	const char *per_uid = "limits.max_user_connections_per_uid";
	if (c->legacy_max_connections) {
		if (!option_line(lines, "limits.max_pam_connections"))
			c->max_pam_connections = c->legacy_max_connections;
		if (!option_line(lines, "limits.max_user_connections"))
			c->max_user_connections = c->legacy_max_connections;
	}
	if (c->max_user_connections_per_uid <= c->max_user_connections)
		return 0;
	if (!option_line(lines, per_uid)) {
		c->max_user_connections_per_uid = c->max_user_connections;
		return 0;
	}
	return at_line(fail(error, size, "%s: %d is more than limits.max_user_connections (%d)",
	                    per_uid, c->max_user_connections_per_uid, c->max_user_connections),
	               file, option_line(lines, per_uid), error, size);
}

int
agent_config_load(const char *path, struct agent_config **ret, char *error, size_t error_size)
{
	struct agent_config *c = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	char *text = NULL;
	size_t len = 0;
	int r;
	FILE *f = fopen(path, "re");

	if (!f) {
		r = -errno;
		fail(error, error_size, "%s: %s", path, strerror(-r));
		return r;
	}
	text = malloc(MAX_CONFIG_FILE + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, MAX_CONFIG_FILE + 1, f);
	fclose(f);
	if (len > MAX_CONFIG_FILE) {
		free(text);
		return fail(error, error_size, "%s: larger than %d bytes", path, MAX_CONFIG_FILE);
	}
	if ((r = defaults(&c)) < 0) {
		free(text);
		return r;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		agent_config_free(c);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = fail(error, error_size, "%s:%zu:%zu: %s%s%s", path,
		         parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		         parser.problem ? parser.problem : "invalid YAML",
		         parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		free(text);
		agent_config_free(c);
		return r;
	}
	size_t lines[OPTION_COUNT] = { 0 };
	r = walk(c, &doc, path, lines, error, error_size);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	if (r == 0 && (!c->server_url || !c->host_name))
		r = fail(error, error_size, "%s: server.url and host.name are required", path);
	if (r == 0 && c->runtime_dir[0] != '/')
		r = at_line(fail(error, error_size, "paths.runtime_dir: must be an absolute path"),
		            path, option_line(lines, "paths.runtime_dir"), error, error_size);
	if (r == 0 && c->state_dir[0] != '/')
		r = at_line(fail(error, error_size, "paths.state_dir: must be an absolute path"),
		            path, option_line(lines, "paths.state_dir"), error, error_size);
	if (r == 0 && !strstr(c->identity_template, "{user}"))
		r = at_line(fail(error, error_size, "identity.template: must contain {user}"), path,
		            option_line(lines, "identity.template"), error, error_size);
	if (r == 0)
		r = check_limits(c, lines, path, error, error_size);
	if (r < 0) {
		agent_config_free(c);
		return r;
	}
	*ret = c;
	return 0;
}
