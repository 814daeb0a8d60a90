/* jitsudod's configuration file: the keys of jitsudod.yaml (tables read by lib/config's strict
 * reader: at most 1 MiB, one document, no anchors, aliases or tags) applied over the defaults,
 * and the checks across keys. Trusts nothing in the file: every error names the file, the line
 * and the key. Also `jitsudod init`, which writes a starter config and keys. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/duration.h"
#include "lib/common/errors.h"
#include "lib/common/random.h"
#include "lib/config/reader.h"
#include "server/audit/audit_chain.h"
#include "server/config.h"
#include "server/auth/issuer.h"
#include "server/store/backends.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define SEAL_KEY_BYTES 32

#define fail(reader, line, key, ...) jit_config_reader_fail(reader, line, key, __VA_ARGS__)

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
	if (jit_store_driver_known(value))
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

/* ---- key tables --------------------------------------------------------------------------- */

/* The two lists of mappings, applied by their own setters. */
static int apply_oidc(struct jit_config_reader *reader, const struct jit_config_key *key,
                      const struct jit_config_node *value, void *base, const char *path);
static int apply_hosts(struct jit_config_reader *reader, const struct jit_config_key *key,
                       const struct jit_config_node *value, void *base, const char *path);

#define NOT_IN_THIS_VERSION "not in this version of jitsudod"

#define CONFIG_FIELD(f) JIT_CONFIG_FIELD(struct jit_config, f)
#define OIDC_FIELD(f) JIT_CONFIG_FIELD(struct jit_config_oidc_issuer, f)
#define HOST_FIELD(f) JIT_CONFIG_FIELD(struct jit_config_host, f)
#define MIB (1024 * 1024)

static const struct jit_config_key tls_options[] = {
	{ .name = "cert_file", .type = JIT_CONFIG_PATH, CONFIG_FIELD(tls_cert_file) },
	{ .name = "key_file", .type = JIT_CONFIG_PATH, CONFIG_FIELD(tls_key_file) },
	{ 0 },
};

static const struct jit_config_key server_options[] = {
	{ .name = "http_addr",
	  .type = JIT_CONFIG_STRING,
	  CONFIG_FIELD(http_addr),
	  .check = check_addr },
	{ .name = "grpc_addr",
	  .type = JIT_CONFIG_STRING,
	  CONFIG_FIELD(grpc_addr),
	  .check = check_addr },
	{ .name = "http_threads",
	  .type = JIT_CONFIG_INTEGER,
	  CONFIG_FIELD(http_threads),
	  .min = 0,
	  .max = 64 },
	{ .name = "tls", .type = JIT_CONFIG_SECTION, .section = tls_options },
	{ .name = "max_body_bytes",
	  .type = JIT_CONFIG_INTEGER,
	  CONFIG_FIELD(max_body_bytes),
	  .min = 1024,
	  .max = 64 * MIB },
	{ 0 },
};

static const struct jit_config_key database_options[] = {
	{ .name = "driver",
	  .type = JIT_CONFIG_STRING,
	  CONFIG_FIELD(database.driver),
	  .check = check_driver },
	{ .name = "path", .type = JIT_CONFIG_PATH, CONFIG_FIELD(database.path) },
	{ .name = "busy_timeout",
	  .type = JIT_CONFIG_MILLISECONDS,
	  CONFIG_FIELD(database.busy_timeout_ms),
	  .min = 0,
	  .max = 600000 },
	{ 0 },
};

static const struct jit_config_key keys_options[] = {
	{ .name = "seal_key_file", .type = JIT_CONFIG_PATH, CONFIG_FIELD(seal_key_file) },
	{ .name = "audit_key_file", .type = JIT_CONFIG_PATH, CONFIG_FIELD(audit_key_file) },
	{ .name = "checkpoint_key_file",
	  .type = JIT_CONFIG_PATH,
	  CONFIG_FIELD(checkpoint_key_file) },
	{ 0 },
};

static const struct jit_config_key audit_options[] = {
	{ .name = "checkpoint_file", .type = JIT_CONFIG_PATH, CONFIG_FIELD(audit_checkpoint_file) },
	{ .name = "checkpoint_interval",
	  .type = JIT_CONFIG_SECONDS,
	  CONFIG_FIELD(audit_checkpoint_interval_seconds),
	  .min = 1,
	  .max = 3600 },
	{ 0 },
};

static const struct jit_config_key builtin_issuer_options[] = {
	{ .name = "enabled", .type = JIT_CONFIG_BOOL, CONFIG_FIELD(builtin_issuer_enabled) },
	{ .name = "url",
	  .type = JIT_CONFIG_STRING,
	  CONFIG_FIELD(builtin_issuer_url),
	  .check = check_url },
	{ .name = "audience", .type = JIT_CONFIG_STRING, CONFIG_FIELD(builtin_issuer_audience) },
	{ .name = "key_file", .type = JIT_CONFIG_PATH, CONFIG_FIELD(builtin_issuer_key_file) },
	{ .name = "max_ttl",
	  .type = JIT_CONFIG_SECONDS,
	  CONFIG_FIELD(builtin_issuer_max_ttl_seconds),
	  .min = 60,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ 0 },
};

static const struct jit_config_key oidc_options[] = {
	{ .name = "issuer",
	  .type = JIT_CONFIG_STRING,
	  OIDC_FIELD(issuer),
	  .required = true,
	  .check = check_url },
	{ .name = "audience", .type = JIT_CONFIG_STRING, OIDC_FIELD(audience), .required = true },
	{ .name = "discovery_url",
	  .type = JIT_CONFIG_STRING,
	  OIDC_FIELD(discovery_url),
	  .check = check_url },
	{ .name = "email_claim", .type = JIT_CONFIG_STRING, OIDC_FIELD(email_claim) },
	{ .name = "groups_claim", .type = JIT_CONFIG_STRING, OIDC_FIELD(groups_claim) },
	{ .name = "ca_file", .type = JIT_CONFIG_PATH, OIDC_FIELD(ca_file) },
	{ 0 },
};

static const struct jit_config_key identity_options[] = {
	{ .name = "admin_groups", .type = JIT_CONFIG_LIST, CONFIG_FIELD(admin_groups) },
	{ .name = "admin_emails",
	  .type = JIT_CONFIG_LIST,
	  CONFIG_FIELD(admin_emails),
	  .check = check_email },
	{ .name = "builtin_issuer", .type = JIT_CONFIG_SECTION, .section = builtin_issuer_options },
	{ .name = "oidc", .type = JIT_CONFIG_CUSTOM, .set = apply_oidc },
	{ .name = "jwks_fetch_timeout",
	  .type = JIT_CONFIG_MILLISECONDS,
	  CONFIG_FIELD(jwks_fetch_timeout_ms),
	  .min = 100,
	  .max = 300000 },
	{ 0 },
};

static const struct jit_config_key workflow_options[] = {
	{ .name = "min_duration",
	  .type = JIT_CONFIG_SECONDS,
	  CONFIG_FIELD(min_duration_seconds),
	  .min = 1,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ .name = "max_duration",
	  .type = JIT_CONFIG_SECONDS,
	  CONFIG_FIELD(max_duration_seconds),
	  .min = 1,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ .name = "pending_timeout",
	  .type = JIT_CONFIG_SECONDS,
	  CONFIG_FIELD(pending_timeout_seconds),
	  .min = 1,
	  .max = JIT_DURATION_MAX_SECONDS },
	{ .name = "revoke_retry_initial",
	  .type = JIT_CONFIG_MILLISECONDS,
	  CONFIG_FIELD(revoke_retry_initial_ms),
	  .min = 10,
	  .max = 3600 * 1000 },
	{ .name = "revoke_retry_max",
	  .type = JIT_CONFIG_MILLISECONDS,
	  CONFIG_FIELD(revoke_retry_max_ms),
	  .min = 10,
	  .max = 24 * 3600 * 1000 },
	{ 0 },
};

static const struct jit_config_key policies_options[] = {
	{ .name = "dir", .type = JIT_CONFIG_PATH, CONFIG_FIELD(policies_dir) },
	{ 0 },
};

static const struct jit_config_key mock_options[] = {
	{ .name = "enabled", .type = JIT_CONFIG_BOOL, CONFIG_FIELD(mock_enabled) },
	{ .name = "fail_grant_roles",
	  .type = JIT_CONFIG_LIST,
	  CONFIG_FIELD(mock_fail_grant_roles) },
	{ .name = "fail_revocations",
	  .type = JIT_CONFIG_INTEGER,
	  CONFIG_FIELD(mock_fail_revocations),
	  .min = 0,
	  .max = 1000000 },
	{ .name = "delay_ms",
	  .type = JIT_CONFIG_INTEGER,
	  CONFIG_FIELD(mock_delay_ms),
	  .min = 0,
	  .max = 600000 },
	{ 0 },
};

static const struct jit_config_key providers_options[] = {
	{ .name = "mock", .type = JIT_CONFIG_SECTION, .section = mock_options },
	{ .name = "aws", .type = JIT_CONFIG_REFUSED, .refusal = NOT_IN_THIS_VERSION },
	{ .name = "gcp", .type = JIT_CONFIG_REFUSED, .refusal = NOT_IN_THIS_VERSION },
	{ .name = "azure", .type = JIT_CONFIG_REFUSED, .refusal = NOT_IN_THIS_VERSION },
	{ .name = "kubernetes", .type = JIT_CONFIG_REFUSED, .refusal = NOT_IN_THIS_VERSION },
	{ 0 },
};

static const struct jit_config_key log_options[] = {
	{ .name = "level",
	  .type = JIT_CONFIG_STRING,
	  CONFIG_FIELD(log_level),
	  .check = check_log_level },
	{ 0 },
};

static const struct jit_config_key host_options[] = {
	{ .name = "name",
	  .type = JIT_CONFIG_STRING,
	  HOST_FIELD(name),
	  .required = true,
	  .check = check_host_name },
	{ .name = "public_key_file",
	  .type = JIT_CONFIG_PATH,
	  HOST_FIELD(public_key_file),
	  .required = true },
	{ .name = "identities",
	  .type = JIT_CONFIG_LIST,
	  .one_or_list = true,
	  HOST_FIELD(identities) },
	{ .name = "groups", .type = JIT_CONFIG_LIST, HOST_FIELD(groups) },
	{ 0 },
};

static const struct jit_config_key root_options[] = {
	{ .name = "server", .type = JIT_CONFIG_SECTION, .section = server_options },
	{ .name = "database", .type = JIT_CONFIG_SECTION, .section = database_options },
	{ .name = "keys", .type = JIT_CONFIG_SECTION, .section = keys_options },
	{ .name = "audit", .type = JIT_CONFIG_SECTION, .section = audit_options },
	{ .name = "identity", .type = JIT_CONFIG_SECTION, .section = identity_options },
	{ .name = "workflow", .type = JIT_CONFIG_SECTION, .section = workflow_options },
	{ .name = "policies", .type = JIT_CONFIG_SECTION, .section = policies_options },
	{ .name = "providers", .type = JIT_CONFIG_SECTION, .section = providers_options },
	{ .name = "log", .type = JIT_CONFIG_SECTION, .section = log_options },
	{ .name = "hosts", .type = JIT_CONFIG_CUSTOM, .set = apply_hosts },
	{ 0 },
};
/* ---- the lists of mappings ---------------------------------------------------------------- */

static int
apply_oidc(struct jit_config_reader *reader, const struct jit_config_key *key,
           const struct jit_config_node *value, void *base, const char *path)
{
	struct jit_config *config = base;
	if (value->kind == JIT_CONFIG_NODE_MAPPING ||
	    (value->kind == JIT_CONFIG_NODE_SCALAR && !value->null))
		return fail(reader, value->line, path, "must be a list of issuers, not %s",
		            jit_config_node_kind_name(value));
	size_t count = value->kind == JIT_CONFIG_NODE_SEQUENCE ? value->count : 0;
	if (count > JIT_CONFIG_MAX_ISSUERS)
		return fail(reader, value->line, path, "more than %d issuers",
		            JIT_CONFIG_MAX_ISSUERS);
	for (size_t i = 0; i < count; i++) {
		const struct jit_config_node *entry = value->items[i];
		char entry_path[JIT_CONFIG_READER_PATH_MAX];
		snprintf(entry_path, sizeof(entry_path), "%.160s[%zu]", path, i);
		if (entry->kind != JIT_CONFIG_NODE_MAPPING)
			return fail(reader, entry->line, entry_path, "must be a mapping, not %s",
			            jit_config_node_kind_name(entry));
		/* Counted before it is filled so that jit_config_free releases it on error. */
		struct jit_config_oidc_issuer *o = &config->oidc[config->oidc_count++];
		*o = (struct jit_config_oidc_issuer){ 0 };
		if (!(o->email_claim = strdup("email")) || !(o->groups_claim = strdup("groups")))
			return -ENOMEM;
		int r = jit_config_reader_apply_mapping(reader, entry, oidc_options, o, entry_path);
		if (r < 0)
			return r;
		for (size_t j = 0; j + 1 < config->oidc_count; j++)
			if (strcmp(config->oidc[j].issuer, o->issuer) == 0)
				return fail(reader, jit_config_reader_line_of(reader, &o->issuer),
				            entry_path, "issuer \"%.64s\" is listed twice",
				            o->issuer);
	}
	return 0;
}

static void
host_clear(struct jit_config_host *h)
{
	free(h->name);
	free(h->public_key_file);
	jit_config_strv_free(h->identities);
	jit_config_strv_free(h->groups);
	*h = (struct jit_config_host){ 0 };
}

static int
apply_hosts(struct jit_config_reader *reader, const struct jit_config_key *key,
            const struct jit_config_node *value, void *base, const char *path)
{
	struct jit_config *config = base;
	if (value->kind == JIT_CONFIG_NODE_MAPPING ||
	    (value->kind == JIT_CONFIG_NODE_SCALAR && !value->null))
		return fail(reader, value->line, path, "must be a list of hosts, not %s",
		            jit_config_node_kind_name(value));
	size_t count = value->kind == JIT_CONFIG_NODE_SEQUENCE ? value->count : 0;
	if (count > JIT_CONFIG_MAX_HOSTS)
		return fail(reader, value->line, path, "more than %d hosts", JIT_CONFIG_MAX_HOSTS);
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
		const struct jit_config_node *entry = value->items[i];
		char entry_path[JIT_CONFIG_READER_PATH_MAX];
		snprintf(entry_path, sizeof(entry_path), "%.160s[%zu]", path, i);
		if (entry->kind != JIT_CONFIG_NODE_MAPPING)
			return fail(reader, entry->line, entry_path, "must be a mapping, not %s",
			            jit_config_node_kind_name(entry));
		/* Counted before it is filled so that jit_config_free releases it on error. */
		struct jit_config_host *h = &config->hosts[config->host_count++];
		if (!(h->groups = calloc(1, sizeof(*h->groups))))
			return -ENOMEM;
		int r = jit_config_reader_apply_mapping(reader, entry, host_options, h, entry_path);
		if (r < 0)
			return r;
		if (!h->identities || !h->identities[0])
			return fail(reader, entry->line, entry_path,
			            "identities is required (e.g. \"*@example.com\")");
		for (size_t j = 0; j + 1 < config->host_count; j++)
			if (strcmp(config->hosts[j].name, h->name) == 0)
				return fail(reader, jit_config_reader_line_of(reader, &h->name),
				            entry_path, "host \"%.64s\" is listed twice", h->name);
	}
	return 0;
}

/* Rules across keys. */
static int
config_check(struct jit_config_reader *l, const struct jit_config *c)
{
	if (!c->tls_cert_file != !c->tls_key_file) {
		bool cert = c->tls_cert_file != NULL;
		return fail(l,
		            jit_config_reader_line_of(l, cert ? (void *)&c->tls_cert_file
		                                              : (void *)&c->tls_key_file),
		            cert ? "server.tls.cert_file" : "server.tls.key_file",
		            "TLS needs both cert_file and key_file");
	}
	if (c->min_duration_seconds > c->max_duration_seconds) {
		int line = jit_config_reader_line_of(l, &c->max_duration_seconds);
		return fail(l, line ? line : jit_config_reader_line_of(l, &c->min_duration_seconds),
		            line ? "workflow.max_duration" : "workflow.min_duration",
		            "min_duration (%llds) is longer than max_duration (%llds)",
		            (long long)c->min_duration_seconds, (long long)c->max_duration_seconds);
	}
	if (c->revoke_retry_initial_ms > c->revoke_retry_max_ms) {
		int line = jit_config_reader_line_of(l, &c->revoke_retry_max_ms);
		return fail(
		        l, line ? line : jit_config_reader_line_of(l, &c->revoke_retry_initial_ms),
		        line ? "workflow.revoke_retry_max" : "workflow.revoke_retry_initial",
		        "revoke_retry_initial (%lldms) is longer than revoke_retry_max (%lldms)",
		        (long long)c->revoke_retry_initial_ms, (long long)c->revoke_retry_max_ms);
	}
	if (!c->builtin_issuer_enabled && c->oidc_count == 0)
		return fail(l, jit_config_reader_line_of(l, &c->builtin_issuer_enabled), "identity",
		            "no identity source: enable builtin_issuer or add an oidc issuer");
	for (size_t i = 0; c->builtin_issuer_enabled && i < c->oidc_count; i++)
		if (strcmp(c->oidc[i].issuer, c->builtin_issuer_url) == 0)
			return fail(l, jit_config_reader_line_of(l, &c->oidc[i].issuer),
			            "identity.oidc",
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
	free(config->database.driver);
	free(config->database.path);
	free(config->seal_key_file);
	free(config->audit_key_file);
	free(config->checkpoint_key_file);
	free(config->audit_checkpoint_file);
	jit_config_strv_free(config->admin_groups);
	jit_config_strv_free(config->admin_emails);
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
	jit_config_strv_free(config->mock_fail_grant_roles);
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
	c->database.busy_timeout_ms = 5000;
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
	    set_string(&c->database.driver, "sqlite") < 0 ||
	    set_string(&c->database.path, "/var/lib/jitsudo/jitsudo.db") < 0 ||
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
	if (c->audit_checkpoint_file || c->database.path[0] != '/')
		return 0;
	_cleanup_free_ char *dir = NULL;
	int r = directory_of(c->database.path, &dir);
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
/* Applies the file `reader` read over the defaults and checks the result. */
static int
config_parse(struct jit_config_reader *reader, struct jit_config **ret_config)
{
	_cleanup_(jit_config_freep) struct jit_config *config = NULL;
	int r;

	if ((r = jit_config_defaults(&config)) < 0)
		return r;
	if ((r = jit_config_reader_apply(reader, root_options, config)) < 0)
		return r;
	if ((r = config_check(reader, config)) < 0)
		return r;
	if ((r = default_checkpoint_file(config)) < 0)
		return r;
	if (!(config->path = strdup(jit_config_reader_path(reader))))
		return -ENOMEM;
	*ret_config = TAKE_PTR(config);
	return 0;
}

static const struct jit_config_reader_options reader_options = { .max_bytes = CONFIG_FILE_MAX };

int
jit_config_load(const char *path, struct jit_config **ret_config, char *error, size_t error_size)
{
	_cleanup_(jit_config_reader_freep) struct jit_config_reader *reader = NULL;
	int r;

	if ((r = jit_config_reader_open(path, &reader_options, &reader, error, error_size)) < 0)
		return r;
	return config_parse(reader, ret_config);
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
	if (!colon[1] || colon[1] == '-' || jit_config_parse_integer(colon + 1, &port) < 0 ||
	    port < 1 || port > 65535)
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
	if (error && error_size)
		error[0] = '\0';
	dir = dir ? dir : "/etc/jitsudo";
	if (!printable(dir)) {
		set_error(error, error_size, "the directory must be a non-empty printable path");
		return JIT_ERR_INVALID;
	}
	if (!(abs_dir = jit_config_absolute_path(dir)))
		return jit_errno_or(-ENOMEM);
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
	_cleanup_(jit_config_reader_freep) struct jit_config_reader *reader = NULL;
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
	if (!(abs_dir = jit_config_absolute_path(dir)) ||
	    !(abs_data = jit_config_absolute_path(data_dir)))
		return jit_errno_or(-ENOMEM);
	if (asprintf(&config_path, "%s/jitsudod.yaml", abs_dir) < 0)
		return -ENOMEM;

	/* The text must load before anything is written. */
	if ((r = init_text(abs_data, abs_dir, http_addr, issuer_url, &text, &length)) < 0)
		return r;
	if ((r = jit_config_reader_open_text(config_path, text, length, &reader_options, &reader,
	                                     error, error_size)) < 0 ||
	    (r = config_parse(reader, &check)) < 0)
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
