/* The CLI's settings, in precedence order: flags, the environment (JITSUDO_SERVER,
 * JITSUDO_TOKEN), ~/.jitsudo/config.yaml (or JITSUDO_CONFIG), then what `jitsudo login` stored
 * (~/.jitsudo/credentials or JITSUDO_CREDENTIALS, read through login.h). The config file is
 * read by lib/config's strict reader (64 KiB, known keys only); the token is wiped when the run
 * ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/login.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/config/reader.h"

#define CONFIG_MAX_BYTES (64 * 1024)

static char *
path_in_home(const char *leaf)
{
	const char *home = getenv("HOME");
	char *p = NULL;

	if (!home || !home[0])
		return NULL;
	if (asprintf(&p, "%s/.jitsudo/%s", home, leaf) < 0)
		return NULL;
	return p;
}

struct config_values {
	char *server, *issuer, *client_id, *ca_file, *output, *timeout;
};

#define V(f) JIT_CONFIG_FIELD(struct config_values, f)

/* config.yaml: flat "key: value" lines; output and timeout are checked after the flags. */
static const struct jit_config_key config_keys[] = {
	{ .name = "server", .type = JIT_CONFIG_STRING, V(server) },
	{ .name = "issuer", .type = JIT_CONFIG_STRING, V(issuer) },
	{ .name = "client_id", .type = JIT_CONFIG_STRING, V(client_id) },
	{ .name = "ca_file", .type = JIT_CONFIG_STRING, V(ca_file) },
	{ .name = "output", .type = JIT_CONFIG_STRING, V(output) },
	{ .name = "timeout", .type = JIT_CONFIG_STRING, V(timeout) },
	{ 0 },
};

static void
config_values_free(struct config_values *c)
{
	free(c->server);
	free(c->issuer);
	free(c->client_id);
	free(c->ca_file);
	free(c->output);
	free(c->timeout);
}

/* Reads the config file into `c` (nothing set on an error). Returns -ENOENT when there is no
 * such file, another negative code with a message in `error`. */
static int
config_file_read(const char *path, struct config_values *c, char *error, size_t error_size)
{
	static const struct jit_config_reader_options options = { .max_bytes = CONFIG_MAX_BYTES };
	_cleanup_(jit_config_reader_freep) struct jit_config_reader *reader = NULL;
	struct config_values read = { 0 };
	int r;

	if ((r = jit_config_reader_open(path, &options, &reader, error, error_size)) < 0)
		return r;
	if ((r = jit_config_reader_apply(reader, config_keys, &read)) < 0) {
		config_values_free(&read);
		return r;
	}
	*c = read;
	return 0;
}

static int
parse_output(const char *text, const char *where, enum jit_cli_output *ret)
{
	if (strcmp(text, "table") == 0)
		*ret = JIT_CLI_OUTPUT_TABLE;
	else if (strcmp(text, "json") == 0)
		*ret = JIT_CLI_OUTPUT_JSON;
	else if (strcmp(text, "yaml") == 0)
		*ret = JIT_CLI_OUTPUT_YAML;
	else
		return jit_cli_fail(JIT_ERR_INVALID, "%s: \"%.32s\" is not table, json or yaml",
		                    where, text);
	return 0;
}

static int
parse_timeout(const char *text, const char *where, int *ret_ms)
{
	char error[256];
	int64_t s;

	if (jit_cli_parse_duration_flag("timeout", text, &s, error, sizeof error) < 0) {
		if (strcmp(where, "--timeout") == 0)
			return jit_cli_fail(JIT_ERR_INVALID, "%s", error);
		return jit_cli_fail(JIT_ERR_INVALID, "%s: timeout \"%.32s\" is not a duration",
		                    where, text);
	}
	if (s > 3600)
		return jit_cli_fail(JIT_ERR_INVALID, "%s: timeout of at most 1h", where);
	*ret_ms = (int)(s * 1000);
	return 0;
}

/* Strips trailing slashes and checks the scheme, so paths can be appended. */
static int
normalize_server(char **server, const char *where)
{
	size_t n = strlen(*server);
	while (n > 0 && (*server)[n - 1] == '/')
		(*server)[--n] = '\0';
	if (strncmp(*server, "http://", 7) != 0 && strncmp(*server, "https://", 8) != 0)
		return jit_cli_fail(JIT_ERR_INVALID,
		                    "%s: the server URL must start with https:// "
		                    "or http://",
		                    where);
	for (const char *p = *server; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#')
			return jit_cli_fail(JIT_ERR_INVALID,
			                    "%s: the server URL has a bad character", where);
	return 0;
}

int
jit_cli_settings_load(struct jit_cli *cli, const struct jit_cli_args *global)
{
	struct config_values c = { 0 };
	const char *v;
	char error[512] = "";
	int r;

	cli->global = global;
	cli->timeout_ms = JIT_CLI_DEFAULT_TIMEOUT_MS;
	cli->output = JIT_CLI_OUTPUT_TABLE;
	cli->quiet = global->values[JIT_CLI_GLOBAL_QUIET] != NULL;
	cli->debug = global->values[JIT_CLI_GLOBAL_DEBUG] != NULL;

	v = getenv("JITSUDO_CONFIG");
	cli->config_path = v && v[0] ? strdup(v) : path_in_home("config.yaml");
	v = getenv("JITSUDO_CREDENTIALS");
	cli->credentials_path = v && v[0] ? strdup(v) : path_in_home("credentials");

	if (cli->config_path) {
		r = config_file_read(cli->config_path, &c, error, sizeof error);
		/* No config file at all is no error. */
		if (r < 0 && r != -ENOENT) {
			if (!error[0])
				snprintf(error, sizeof error, "%s: %s", cli->config_path,
				         jit_strerror(r));
			config_values_free(&c);
			return jit_cli_fail(JIT_ERR_INVALID, "%s", error);
		}
	}

	/* Output and timeout: flag, then config. */
	r = 0;
	if ((v = global->values[JIT_CLI_GLOBAL_OUTPUT]))
		r = parse_output(v, "--output", &cli->output);
	else if (c.output)
		r = parse_output(c.output, cli->config_path, &cli->output);
	if (r < 0)
		goto out;
	if ((v = global->values[JIT_CLI_GLOBAL_TIMEOUT]))
		r = parse_timeout(v, "--timeout", &cli->timeout_ms);
	else if (c.timeout)
		r = parse_timeout(c.timeout, cli->config_path, &cli->timeout_ms);
	if (r < 0)
		goto out;

	/* The server: flag, environment, config (the stored one comes later, if needed). */
	if ((v = global->values[JIT_CLI_GLOBAL_SERVER])) {
		if (!(cli->server = strdup(v)))
			r = -ENOMEM;
		else
			r = normalize_server(&cli->server, "--server");
	} else if ((v = getenv("JITSUDO_SERVER")) && v[0]) {
		if (!(cli->server = strdup(v)))
			r = -ENOMEM;
		else
			r = normalize_server(&cli->server, "JITSUDO_SERVER");
	} else if (c.server) {
		cli->server = TAKE_PTR(c.server);
		r = normalize_server(&cli->server, cli->config_path);
	}
	if (r < 0)
		goto out;

	if ((v = global->values[JIT_CLI_GLOBAL_TOKEN])) {
		if (!v[0]) {
			r = jit_cli_fail(JIT_ERR_INVALID, "--token: empty");
			goto out;
		}
		cli->token = strdup(v);
		cli->token_from_flag_or_env = true;
	} else if ((v = getenv("JITSUDO_TOKEN")) && v[0]) {
		cli->token = strdup(v);
		cli->token_from_flag_or_env = true;
	}
	if (cli->token_from_flag_or_env && !cli->token) {
		r = -ENOMEM;
		goto out;
	}

	if ((v = global->values[JIT_CLI_GLOBAL_CA_FILE]))
		cli->ca_file = strdup(v);
	else if (c.ca_file)
		cli->ca_file = TAKE_PTR(c.ca_file);
	cli->issuer = TAKE_PTR(c.issuer);
	cli->client_id = TAKE_PTR(c.client_id);
	r = 0;
out:
	config_values_free(&c);
	return r;
}

void
jit_cli_settings_free(struct jit_cli *cli)
{
	if (cli->token) {
		explicit_bzero(cli->token, strlen(cli->token));
		free(cli->token);
	}
	free(cli->server);
	free(cli->config_path);
	free(cli->credentials_path);
	free(cli->issuer);
	free(cli->client_id);
	free(cli->ca_file);
	cli->token = cli->server = cli->config_path = cli->credentials_path = NULL;
	cli->issuer = cli->client_id = cli->ca_file = NULL;
}

/* Reads the stored credentials once: the server URL (when none came from elsewhere) and the
 * token (when needed and none came from a flag or the environment). */
static int
load_stored(struct jit_cli *cli, bool want_token)
{
	_cleanup_free_ char *server = NULL;
	char *token = NULL;
	int r;

	r = jit_cli_stored_token(cli->credentials_path, cli->timeout_ms, cli->debug, &server,
	                         want_token ? &token : NULL);
	if (r < 0)
		return r;
	if (!cli->server && server) {
		cli->server = TAKE_PTR(server);
		if ((r = normalize_server(&cli->server, cli->credentials_path)) < 0) {
			if (token) {
				explicit_bzero(token, strlen(token));
				free(token);
			}
			return r;
		}
	}
	if (want_token)
		cli->token = token;
	return 0;
}

static int
stored_invalid(const struct jit_cli *cli)
{
	return jit_cli_fail(JIT_ERR_INVALID,
	                    "the stored credentials %s are malformed or readable by others: run "
	                    "`jitsudo login` again (--debug says why)",
	                    cli->credentials_path ? cli->credentials_path : "");
}

int
jit_cli_need_server(struct jit_cli *cli)
{
	int r;

	if (cli->server)
		return 0;
	r = load_stored(cli, false);
	if (r == JIT_ERR_INVALID)
		return stored_invalid(cli);
	if (r < 0 && r != -ENOENT && r != JIT_ERR_UNAUTHENTICATED)
		return jit_cli_fail(r, "cannot read the stored credentials %s: %s",
		                    cli->credentials_path ? cli->credentials_path : "",
		                    jit_strerror(r));
	if (!cli->server)
		return jit_cli_fail(JIT_ERR_INVALID,
		                    "no server: pass --server <url>, set JITSUDO_SERVER, put "
		                    "\"server:\" in %s or run `jitsudo login`",
		                    cli->config_path ? cli->config_path : "~/.jitsudo/config.yaml");
	return 0;
}

int
jit_cli_need_token(struct jit_cli *cli)
{
	int r;

	if (cli->token)
		return 0;
	r = load_stored(cli, true);
	if (r == -ENOENT)
		return jit_cli_fail(JIT_ERR_UNAUTHENTICATED,
		                    "not logged in: run `jitsudo login`, or pass --token or set "
		                    "JITSUDO_TOKEN");
	if (r == JIT_ERR_UNAUTHENTICATED)
		return jit_cli_fail(r, "the stored token expired and cannot be refreshed: run "
		                       "`jitsudo login`");
	if (r == JIT_ERR_UNAVAILABLE)
		return jit_cli_fail(r, "cannot reach the identity provider to refresh the stored "
		                       "token (--debug shows why)");
	if (r == JIT_ERR_INVALID)
		return stored_invalid(cli);
	if (r < 0)
		return jit_cli_fail(r, "cannot use the stored credentials %s: %s",
		                    cli->credentials_path ? cli->credentials_path : "",
		                    jit_strerror(r));
	if (!cli->token)
		return jit_cli_fail(JIT_ERR_UNAUTHENTICATED, "not logged in: run `jitsudo login`");
	return 0;
}
