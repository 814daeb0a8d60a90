/* `jitsudo login` and `jitsudo logout`: the flags and exit codes around cli/login.h (the
 * OpenID Connect device flow and the credentials file). The issuer and client come from the
 * flags, then config.yaml; no token is printed. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/login.h"
#include "lib/common/errors.h"

#define LOGIN_DEFAULT_MAX_WAIT_S 600
#define LOGIN_MAX_WAIT_S (24 * 3600)

static const struct jit_cli_option login_options[] = {
	JIT_CLI_FLAG("issuer", 0, "<url>",
	             "OpenID Connect issuer (default: \"issuer\" in config.yaml)"),
	JIT_CLI_FLAG(
	        "client-id", 0, "<id>",
	        "OAuth client allowed the device grant (default: \"client_id\" in config.yaml)"),
	JIT_CLI_FLAG("scope", 0, "<scopes>", "scopes to ask for (default: openid)"),
	JIT_CLI_FLAG("max-wait", 0, "<duration>",
	             "how long to wait for you to approve (default: 10m)"),
	{ 0 },
};

static int
run_login(struct jit_cli *cli, const struct jit_cli_args *args)
{
	struct jit_cli_login_opts o = { 0 };
	char error[256];
	int64_t max_wait = LOGIN_DEFAULT_MAX_WAIT_S;
	const char *v;
	int r;

	o.issuer = jit_cli_arg(cli, args, "issuer");
	if (!o.issuer)
		o.issuer = cli->issuer;
	o.client_id = jit_cli_arg(cli, args, "client-id");
	if (!o.client_id)
		o.client_id = cli->client_id;
	if (!o.issuer)
		return jit_cli_usage(cli, "missing --issuer <url> (or \"issuer:\" in %s)",
		                     cli->config_path ? cli->config_path : "config.yaml");
	if (!o.client_id)
		return jit_cli_usage(cli, "missing --client-id <id> (or \"client_id:\" in %s)",
		                     cli->config_path ? cli->config_path : "config.yaml");
	if ((v = jit_cli_arg(cli, args, "max-wait"))) {
		if (jit_cli_parse_duration_flag("max-wait", v, &max_wait, error, sizeof error) < 0)
			return jit_cli_usage(cli, "%s", error);
		if (max_wait > LOGIN_MAX_WAIT_S)
			return jit_cli_usage(cli, "--max-wait: at most 24h");
	}
	o.scope = jit_cli_arg(cli, args, "scope");
	o.server = cli->server;
	o.ca_file = cli->ca_file;
	o.credentials_path = cli->credentials_path;
	o.timeout_ms = cli->timeout_ms;
	o.max_wait_s = (int)max_wait;
	o.debug = cli->debug;
	/* login.c has printed its one line already on failure. */
	r = jit_cli_login(&o, stdout);
	return r;
}

static int
run_logout(struct jit_cli *cli, const struct jit_cli_args *args)
{
	int r = jit_cli_logout(cli->credentials_path);
	if (r < 0)
		return jit_cli_fail(r, "cannot remove %s: %s",
		                    cli->credentials_path ? cli->credentials_path
		                                          : "the credentials",
		                    jit_strerror(r));
	if (!cli->quiet)
		printf("Logged out\n");
	return 0;
}

const struct jit_cli_command jit_cli_cmd_login = {
	.name = "login",
	.summary = "Sign in with your identity provider (OpenID Connect device flow)",
	.usage = "login [--issuer <url>] [--client-id <id>] [flags]",
	.description =
	        "Signs you in with the OpenID Connect device authorization flow: jitsudo shows a\n"
	        "URL and a code, you approve in a browser (on any device), and the ID token and\n"
	        "refresh token are stored in ~/.jitsudo/credentials (mode 0600), with --server if\n"
	        "given. Later commands use and refresh that token. See docs/login.md.",
	.examples = "  jitsudo login --issuer https://id.example.com --client-id jitsudo-cli \\\n"
	            "    --server https://jitsudo.example.com\n"
	            "  # with issuer, client_id and server in ~/.jitsudo/config.yaml\n"
	            "  jitsudo login\n",
	.options = login_options,
	.run = run_login,
};

const struct jit_cli_command jit_cli_cmd_logout = {
	.name = "logout",
	.summary = "Forget the stored credentials",
	.usage = "logout",
	.description = "Removes ~/.jitsudo/credentials (or JITSUDO_CREDENTIALS). Succeeds when\n"
	               "there was none.",
	.examples = "  jitsudo logout\n",
	.options = jit_cli_no_options,
	.run = run_logout,
};
