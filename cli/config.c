/* The CLI's settings, in precedence order: flags, the environment (JITSUDO_SERVER,
 * JITSUDO_TOKEN), ~/.jitsudo/config.yaml (or JITSUDO_CONFIG), then what `jitsudo login` stored
 * (~/.jitsudo/credentials or JITSUDO_CREDENTIALS, read through login.h). The config file is
 * read with a size bound and strict keys; the token is wiped when the run ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cli/cli.h"
#include "cli/login.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"

#define CONFIG_MAX_BYTES (64 * 1024)
#define SETTING_MAX 4096

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

int
jit_cli_read_flat_yaml(const char *path,
                       int (*on_pair)(const char *key, const char *value, void *userdata),
                       void *userdata, char *error, size_t error_size)
{
	yaml_parser_t parser;
	yaml_event_t event;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *key = NULL;
	struct stat st;
	size_t len = 0;
	int depth = 0, r = 0;
	bool done = false, parser_ready = false;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(error, error_size, "%s: not a regular file", path);
		return JIT_ERR_INVALID;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		snprintf(error, error_size, "%s: larger than %d bytes", path, CONFIG_MAX_BYTES);
		return JIT_ERR_INVALID;
	}
	text = malloc(CONFIG_MAX_BYTES + 1);
	if (!text)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, text + len, CONFIG_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_BYTES) {
			snprintf(error, error_size, "%s: larger than %d bytes", path,
			         CONFIG_MAX_BYTES);
			return JIT_ERR_INVALID;
		}
	}
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	parser_ready = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &event)) {
			snprintf(error, error_size, "%s:%zu: %s", path,
			         parser.problem_mark.line + 1,
			         parser.problem ? parser.problem : "not valid YAML");
			r = JIT_ERR_INVALID;
			break;
		}
		switch (event.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
			if (++depth > 1) {
				snprintf(error, error_size,
				         "%s:%zu: only \"key: value\" lines are allowed", path,
				         event.start_mark.line + 1);
				r = JIT_ERR_INVALID;
			}
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			snprintf(error, error_size, "%s:%zu: only \"key: value\" lines are allowed",
			         path, event.start_mark.line + 1);
			r = JIT_ERR_INVALID;
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)event.data.scalar.value;
			if (depth != 1) {
				snprintf(error, error_size, "%s: must be a mapping of settings",
				         path);
				r = JIT_ERR_INVALID;
				break;
			}
			if (strlen(v) > SETTING_MAX) {
				snprintf(error, error_size, "%s:%zu: value too long", path,
				         event.start_mark.line + 1);
				r = JIT_ERR_INVALID;
				break;
			}
			if (!key) {
				key = strdup(v);
				if (!key)
					r = -ENOMEM;
			} else {
				r = on_pair(key, v, userdata);
				if (r < 0)
					snprintf(error, error_size,
					         "%s: unknown or bad setting \"%.64s\"", path, key);
				free(key);
				key = NULL;
			}
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&event);
		if (r < 0)
			break;
	}
	if (parser_ready)
		yaml_parser_delete(&parser);
	return r;
}

static int
set_string(char **slot, const char *value)
{
	char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

struct config_values {
	char *server, *issuer, *client_id, *ca_file, *output, *timeout;
};

static int
on_config_pair(const char *key, const char *value, void *userdata)
{
	struct config_values *c = userdata;
	if (strcmp(key, "server") == 0)
		return set_string(&c->server, value);
	if (strcmp(key, "issuer") == 0)
		return set_string(&c->issuer, value);
	if (strcmp(key, "client_id") == 0)
		return set_string(&c->client_id, value);
	if (strcmp(key, "ca_file") == 0)
		return set_string(&c->ca_file, value);
	if (strcmp(key, "output") == 0)
		return set_string(&c->output, value);
	if (strcmp(key, "timeout") == 0)
		return set_string(&c->timeout, value);
	return JIT_ERR_INVALID;
}

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
		r = jit_cli_read_flat_yaml(cli->config_path, on_config_pair, &c, error,
		                           sizeof error);
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
