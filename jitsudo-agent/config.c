/* Reads /etc/jitsudo/agent.yaml through lib/config's strict reader: every option has a default
 * (docs/agent.md); unknown keys, keys given twice, values of the wrong type and files over
 * 64 KiB are errors naming the file, the line and the key, so a typo never weakens a setting.
 * Trusts only root-owned configuration (the caller's job). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jitsudo-agent/agent.h"
#include "lib/common/errors.h"
#include "lib/config/reader.h"

#define MAX_CONFIG_FILE (64 * 1024)
#define F(f) JIT_CONFIG_FIELD(struct agent_config, f)

/* A Unix group name passed on to jitsudod. */
static const char *
check_group(const char *value)
{
	return strlen(value) < 64 ? NULL : "must be a short name";
}

static const struct jit_config_key server_keys[] = {
	{ .name = "url", .type = JIT_CONFIG_STRING, F(server_url) },
	{ .name = "ca_file", .type = JIT_CONFIG_STRING, F(ca_file) },
	{ .name = "timeout",
	  .type = JIT_CONFIG_MILLISECONDS,
	  F(server_timeout_ms),
	  .min = 100,
	  .max = 120000 },
	{ 0 },
};

static const struct jit_config_key host_keys[] = {
	{ .name = "name", .type = JIT_CONFIG_STRING, F(host_name) },
	{ .name = "key_file", .type = JIT_CONFIG_STRING, F(key_file) },
	{ .name = "audience", .type = JIT_CONFIG_STRING, F(audience) },
	{ .name = "token_ttl",
	  .type = JIT_CONFIG_SECONDS,
	  F(token_ttl_seconds),
	  .min = 10,
	  .max = 300 },
	{ 0 },
};

static const struct jit_config_key identity_keys[] = {
	{ .name = "template", .type = JIT_CONFIG_STRING, F(identity_template) },
	{ .name = "groups",
	  .type = JIT_CONFIG_LIST,
	  F(groups),
	  .max_items = AGENT_MAX_GROUPS,
	  .check = check_group },
	{ 0 },
};

static const struct jit_config_key requests_keys[] = {
	{ .name = "duration",
	  .type = JIT_CONFIG_SECONDS,
	  F(default_duration_seconds),
	  .min = 1,
	  .max = 7 * 86400 },
	{ .name = "reason", .type = JIT_CONFIG_STRING, F(default_reason) },
	{ .name = "scope", .type = JIT_CONFIG_STRING, F(default_scope) },
	{ 0 },
};

static const struct jit_config_key deadlines_keys[] = {
	{ .name = "max_wait",
	  .type = JIT_CONFIG_MILLISECONDS,
	  F(max_wait_ms),
	  .min = 1000,
	  .max = 600000 },
	{ .name = "poll_interval",
	  .type = JIT_CONFIG_MILLISECONDS,
	  F(poll_interval_ms),
	  .min = 100,
	  .max = 60000 },
	{ .name = "idle",
	  .type = JIT_CONFIG_MILLISECONDS,
	  F(idle_timeout_ms),
	  .min = 100,
	  .max = 600000 },
	{ .name = "request",
	  .type = JIT_CONFIG_MILLISECONDS,
	  F(request_timeout_ms),
	  .min = 500,
	  .max = 120000 },
	{ .name = "refresh",
	  .type = JIT_CONFIG_MILLISECONDS,
	  F(refresh_ms),
	  .min = 0,
	  .max = 3600000 },
	{ 0 },
};

static const struct jit_config_key limits_keys[] = {
	{ .name = "max_pam_connections",
	  .type = JIT_CONFIG_INTEGER,
	  F(max_pam_connections),
	  .min = 1,
	  .max = 4096 },
	{ .name = "max_user_connections",
	  .type = JIT_CONFIG_INTEGER,
	  F(max_user_connections),
	  .min = 1,
	  .max = 4096 },
	{ .name = "max_user_connections_per_uid",
	  .type = JIT_CONFIG_INTEGER,
	  F(max_user_connections_per_uid),
	  .min = 1,
	  .max = 4096 },
	{ .name = "user_server_calls_per_minute",
	  .type = JIT_CONFIG_INTEGER,
	  F(user_server_calls_per_minute),
	  .min = 1,
	  .max = 6000 },
	{ .name = "user_server_calls_burst",
	  .type = JIT_CONFIG_INTEGER,
	  F(user_server_calls_burst),
	  .min = 1,
	  .max = 1000 },
	/* Deprecated: one pool for both sockets let user.sock starve agent.sock. Still read, so
	 * an older file keeps working: it sizes each pool not given on its own. */
	{ .name = "max_connections",
	  .type = JIT_CONFIG_INTEGER,
	  F(legacy_max_connections),
	  .min = 1,
	  .max = 4096 },
	{ 0 },
};

static const struct jit_config_key paths_keys[] = {
	{ .name = "runtime_dir", .type = JIT_CONFIG_STRING, F(runtime_dir) },
	{ .name = "state_dir", .type = JIT_CONFIG_STRING, F(state_dir) },
	{ 0 },
};

static const struct jit_config_key injection_keys[] = {
	{ .name = "aws_files", .type = JIT_CONFIG_BOOL, F(write_aws_files) },
	{ .name = "kubeconfig", .type = JIT_CONFIG_BOOL, F(write_kubeconfig) },
	{ .name = "export_secrets", .type = JIT_CONFIG_BOOL, F(export_secrets) },
	{ 0 },
};

static const struct jit_config_key root_keys[] = {
	{ .name = "server", .type = JIT_CONFIG_SECTION, .section = server_keys },
	{ .name = "host", .type = JIT_CONFIG_SECTION, .section = host_keys },
	{ .name = "identity", .type = JIT_CONFIG_SECTION, .section = identity_keys },
	{ .name = "requests", .type = JIT_CONFIG_SECTION, .section = requests_keys },
	{ .name = "deadlines", .type = JIT_CONFIG_SECTION, .section = deadlines_keys },
	{ .name = "limits", .type = JIT_CONFIG_SECTION, .section = limits_keys },
	{ .name = "paths", .type = JIT_CONFIG_SECTION, .section = paths_keys },
	{ .name = "injection", .type = JIT_CONFIG_SECTION, .section = injection_keys },
	{ 0 },
};

/* The words this program's users know: "given twice (first on line N)", "an integer from A
 * to B" (docs/agent.md). */
static const struct jit_config_reader_options reader_options = {
	.max_bytes = MAX_CONFIG_FILE,
	.say_given_twice = true,
	.say_integer_bounds = true,
};

static int config_fail(char *error, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
config_fail(char *error, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error, size, fmt, ap);
	va_end(ap);
	return JIT_ERR_INVALID;
}

void
agent_config_free(struct agent_config *c)
{
	if (!c)
		return;
	free(c->server_url);
	free(c->ca_file);
	free(c->host_name);
	free(c->key_file);
	free(c->audience);
	free(c->identity_template);
	jit_config_strv_free(c->groups);
	free(c->default_reason);
	free(c->default_scope);
	free(c->runtime_dir);
	free(c->state_dir);
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

/* "<file>:<line>: <message>" for a check across keys (no line when the file left the key). */
static int
at_line(const char *file, int line, char *error, size_t size, const char *message)
{
	if (line)
		return config_fail(error, size, "%s:%d: %s", file, line, message);
	return config_fail(error, size, "%s: %s", file, message);
}

/* The connection limits after the file: the deprecated limits.max_connections sizes each
 * socket's pool the file does not size, and the per-uid cap fits in the user socket's. */
static int
check_limits(struct agent_config *c, const struct jit_config_reader *reader, const char *file,
             char *error, size_t size)
{
	char message[256];
	int per_uid = jit_config_reader_line_of(reader, &c->max_user_connections_per_uid);
	if (c->legacy_max_connections) {
		if (!jit_config_reader_line_of(reader, &c->max_pam_connections))
			c->max_pam_connections = c->legacy_max_connections;
		if (!jit_config_reader_line_of(reader, &c->max_user_connections))
			c->max_user_connections = c->legacy_max_connections;
	}
	if (c->max_user_connections_per_uid <= c->max_user_connections)
		return 0;
	if (!per_uid) {
		c->max_user_connections_per_uid = c->max_user_connections;
		return 0;
	}
	snprintf(message, sizeof(message),
	         "limits.max_user_connections_per_uid: %d is more than "
	         "limits.max_user_connections (%d)",
	         c->max_user_connections_per_uid, c->max_user_connections);
	return at_line(file, per_uid, error, size, message);
}

/* The rules across keys, after the file. */
static int
check(struct agent_config *c, const struct jit_config_reader *reader, const char *path, char *error,
      size_t size)
{
	if (!c->server_url || !c->host_name)
		return config_fail(error, size, "%s: server.url and host.name are required", path);
	if (c->runtime_dir[0] != '/')
		return at_line(path, jit_config_reader_line_of(reader, &c->runtime_dir), error,
		               size, "paths.runtime_dir: must be an absolute path");
	if (c->state_dir[0] != '/')
		return at_line(path, jit_config_reader_line_of(reader, &c->state_dir), error, size,
		               "paths.state_dir: must be an absolute path");
	if (!strstr(c->identity_template, "{user}"))
		return at_line(path, jit_config_reader_line_of(reader, &c->identity_template),
		               error, size, "identity.template: must contain {user}");
	return check_limits(c, reader, path, error, size);
}

int
agent_config_load(const char *path, struct agent_config **ret, char *error, size_t error_size)
{
	struct jit_config_reader *reader = NULL;
	struct agent_config *c = NULL;
	int r;

	if ((r = jit_config_reader_open(path, &reader_options, &reader, error, error_size)) < 0)
		return r;
	if ((r = defaults(&c)) < 0 || (r = jit_config_reader_apply(reader, root_keys, c)) < 0 ||
	    (r = check(c, reader, path, error, error_size)) < 0) {
		agent_config_free(c);
		jit_config_reader_free(reader);
		return r;
	}
	jit_config_reader_free(reader);
	*ret = c;
	return 0;
}
