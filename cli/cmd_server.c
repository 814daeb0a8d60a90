/* `jitsudo server version|health`: the server's version document and its liveness and
 * readiness probes (no token needed). A server that answers but is not ready exits 75. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/common/errors.h"

static int
run_version(struct jit_cli *cli, const struct jit_cli_args *args)
{
	json_t *answer = NULL;
	int r;

	if ((r = jit_cli_api(cli, "GET", "/version", NULL, false, &answer)) < 0)
		return r;
	if (cli->output != JIT_CLI_OUTPUT_TABLE) {
		r = jit_cli_print_machine(cli, answer);
	} else {
		char v[128], apis[256] = "";
		size_t i, used = 0;
		json_t *a;
		jit_cli_sanitize(jit_cli_str(answer, "version"), v, sizeof v);
		json_array_foreach(json_object_get(answer, "api_versions"), i, a)
		{
			char one[64];
			jit_cli_sanitize(json_string_value(a) ? json_string_value(a) : "", one,
			                 sizeof one);
			int n = snprintf(apis + used, sizeof apis - used, "%s%s", i ? ", " : "",
			                 one);
			if (n < 0 || (size_t)n >= sizeof apis - used)
				break;
			used += (size_t)n;
		}
		if (cli->quiet) {
			printf("%s\n", v);
		} else {
			printf("Client version: %s\n", JIT_CLI_VERSION);
			printf("Server version: %s\n", v);
			printf("API versions: %s\n", apis);
		}
	}
	json_decref(answer);
	return r;
}

/* GET a probe that answers "ok"; returns 0 (ok), JIT_ERR_UNAVAILABLE or another error. When
 * the server could not be reached, `why` says what failed (else it is left alone). */
static int
probe(struct jit_cli *cli, const char *path, char *state, size_t size, char *why, size_t why_size)
{
	struct jit_cli_http h = { .ca_file = cli->ca_file,
		                  .timeout_ms = cli->timeout_ms,
		                  .debug = cli->debug };
	struct jit_cli_response resp = { 0 };
	char url[4200];
	int r;

	if ((r = jit_cli_need_server(cli)) < 0)
		return r;
	snprintf(url, sizeof url, "%s%s", cli->server, path);
	r = jit_cli_http_do(&h, "GET", url, NULL, NULL, NULL, 0, &resp);
	if (r == JIT_CLI_HTTP_UNTRUSTED) {
		snprintf(state, size, "TLS certificate not trusted");
		return r;
	}
	if (r < 0) {
		snprintf(state, size, "unreachable");
		if (r == JIT_ERR_UNAVAILABLE)
			jit_cli_http_unreachable_message(&resp, "server", cli->server,
			                                 cli->timeout_ms, JIT_CLI_SERVER_DOWN_HINT,
			                                 why, why_size);
		return JIT_ERR_UNAVAILABLE;
	}
	if (resp.status == 200) {
		snprintf(state, size, "ok");
		r = 0;
	} else {
		snprintf(state, size, "HTTP %ld", resp.status);
		r = JIT_ERR_UNAVAILABLE;
	}
	jit_cli_response_done(&resp);
	return r;
}

static int
run_health(struct jit_cli *cli, const struct jit_cli_args *args)
{
	char live[64], ready[64], why[800] = "";
	int r1, r2;

	if ((r1 = jit_cli_need_server(cli)) < 0)
		return r1;
	r1 = probe(cli, "/healthz", live, sizeof live, why, sizeof why);
	r2 = r1 == 0 ? probe(cli, "/readyz", ready, sizeof ready, why, sizeof why) : r1;
	if (r1 != 0)
		snprintf(ready, sizeof ready, "%s", live);
	if (cli->output != JIT_CLI_OUTPUT_TABLE) {
		json_t *j = json_pack("{s:s,s:s,s:s}", "server", cli->server, "healthz", live,
		                      "readyz", ready);
		if (j) {
			jit_cli_print_machine(cli, j);
			json_decref(j);
		}
	} else if (!cli->quiet) {
		printf("Server: %s\nLive: %s\nReady: %s\n", cli->server, live, ready);
	}
	if (r1 == JIT_CLI_HTTP_UNTRUSTED)
		return jit_cli_fail(r1, JIT_CLI_HTTP_UNTRUSTED_FMT, "server", cli->server);
	if (why[0])
		return jit_cli_fail(JIT_ERR_UNAVAILABLE, "%s", why);
	if (r1 < 0 || r2 < 0)
		return jit_cli_fail(JIT_ERR_UNAVAILABLE, "the server at %s is %s", cli->server,
		                    r1 < 0 ? "not answering" : "not ready");
	return 0;
}

static const struct jit_cli_command server_version = {
	.name = "version",
	.summary = "Show the server's and the client's versions",
	.usage = "server version",
	.description = "Shows jitsudo's version, the server's and the API versions it serves (GET\n"
	               "/version, no token needed).",
	.examples = "  jitsudo server version\n  jitsudo server version -o json\n",
	.options = jit_cli_no_options,
	.run = run_version,
};

static const struct jit_cli_command server_health = {
	.name = "health",
	.summary = "Check that the server is up and ready",
	.usage = "server health",
	.description = "Checks /healthz (the server answers) and /readyz (its database answers), "
	               "no token\n"
	               "needed. Exits 0 when both are ok and 75 otherwise.",
	.examples = "  jitsudo server health --server https://jitsudo.example.com\n",
	.options = jit_cli_no_options,
	.run = run_health,
};

static const struct jit_cli_command *const server_commands[] = {
	&server_version,
	&server_health,
	NULL,
};

const struct jit_cli_command jit_cli_cmd_server = {
	.name = "server",
	.summary = "Show the server's version and health",
	.usage = "server <command>",
	.description = "Asks the control plane for its version or its health.",
	.examples = "  jitsudo server version\n  jitsudo server health\n",
	.subcommands = server_commands,
};
