/* `jitsudo status`: one request in detail, or the requests the caller may see as an aligned
 * table (newest first), following the server's pages up to --limit. The server decides what
 * the caller may see; text it returns is printed with control characters replaced. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/common/duration.h"
#include "lib/common/errors.h"
#include "lib/common/timeutil.h"

#define STATUS_DEFAULT_LIMIT 1000
#define STATUS_MAX_LIMIT 100000

static const struct jit_cli_option status_options[] = {
	JIT_CLI_FLAG("pending", 0, NULL,
	             "only requests waiting for a decision you can make or follow"),
	JIT_CLI_FLAG("mine", 0, NULL, "only your own requests"),
	JIT_CLI_FLAG("state", 0, "<state>",
	             "only requests in this state (PENDING, APPROVED, ACTIVE, REJECTED, EXPIRED, "
	             "REVOKED)"),
	JIT_CLI_FLAG("requester", 0, "<identity>", "only requests of this requester"),
	JIT_CLI_FLAG("limit", 0, "<n>", "list at most n requests (default: 1000)"),
	{ 0 },
};

static void
time_left(const json_t *request, char *buf, size_t size)
{
	const char *state = jit_cli_short_state(jit_cli_str(request, "state"));
	int64_t ns;

	snprintf(buf, size, "-");
	if ((strcmp(state, "APPROVED") == 0 || strcmp(state, "ACTIVE") == 0) &&
	    jit_rfc3339_parse(jit_cli_str(request, "expires_at"), &ns) == 0)
		jit_cli_format_left((ns - jit_now_realtime_ns()) / JIT_NSEC_PER_SEC, buf, size);
}

static int
print_list(struct jit_cli *cli, json_t *requests)
{
	struct jit_cli_table t;
	size_t i;
	json_t *r;
	int ret;

	if (cli->output != JIT_CLI_OUTPUT_TABLE)
		return jit_cli_print_machine(cli, requests);
	if (cli->quiet) {
		json_array_foreach(requests, i, r)
		{
			char id[160];
			jit_cli_sanitize(jit_cli_str(r, "id"), id, sizeof id);
			printf("%s\n", id);
		}
		return 0;
	}
	if (json_array_size(requests) == 0) {
		printf("No requests.\n");
		return 0;
	}
	if ((ret = jit_cli_table_init(&t, 9)) < 0)
		return ret;
	static const char *const header[] = { "ID",    "STATE",    "REQUESTER", "PROVIDER", "ROLE",
		                              "SCOPE", "DURATION", "LEFT",      "CREATED" };
	ret = jit_cli_table_add(&t, header);
	json_array_foreach(requests, i, r)
	{
		char duration[32] = "-", left[32], created[JIT_RFC3339_MAX];
		json_int_t s = json_integer_value(json_object_get(r, "duration_seconds"));
		if (s > 0)
			jit_duration_format(s, duration, sizeof duration);
		time_left(r, left, sizeof left);
		const char *row[] = { jit_cli_str(r, "id"),
			              jit_cli_short_state(jit_cli_str(r, "state")),
			              jit_cli_str(r, "requester_identity"),
			              jit_cli_str(r, "provider"),
			              jit_cli_str(r, "role"),
			              jit_cli_str(r, "resource_scope"),
			              duration,
			              left,
			              jit_cli_table_time(r, "created_at", created,
			                                 sizeof created) };
		if (ret >= 0)
			ret = jit_cli_table_add(&t, row);
	}
	if (ret >= 0)
		jit_cli_table_print(&t, stdout);
	jit_cli_table_free(&t);
	return ret < 0 ? jit_cli_fail(ret, "out of memory") : 0;
}

static int
run_one(struct jit_cli *cli, const char *id)
{
	char path[256];
	json_t *answer = NULL;
	int r;

	if ((r = jit_cli_check_id(cli, id, "request ID")) < 0)
		return r;
	snprintf(path, sizeof path, "/api/v1alpha1/requests/%s", id);
	if ((r = jit_cli_api(cli, "GET", path, NULL, true, &answer)) < 0)
		return r;
	json_t *request = json_object_get(answer, "request");
	if (!json_is_object(request))
		r = jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer has no request");
	else if (cli->output != JIT_CLI_OUTPUT_TABLE)
		r = jit_cli_print_machine(cli, request);
	else if (cli->quiet)
		printf("%s\n", jit_cli_short_state(jit_cli_str(request, "state")));
	else
		jit_cli_print_request_block(stdout, request, true);
	json_decref(answer);
	return r;
}

static int
run_status(struct jit_cli *cli, const struct jit_cli_args *args)
{
	char query[2048] = "", error[256];
	int64_t limit = STATUS_DEFAULT_LIMIT;
	json_t *all;
	const char *v;
	int r = 0;

	if (args->positional_count == 1) {
		if (jit_cli_flag(cli, args, "pending") || jit_cli_flag(cli, args, "mine") ||
		    jit_cli_arg(cli, args, "state") || jit_cli_arg(cli, args, "requester") ||
		    jit_cli_arg(cli, args, "limit"))
			return jit_cli_usage(cli, "the list flags do not apply to one request");
		return run_one(cli, args->positional[0]);
	}
	if ((v = jit_cli_arg(cli, args, "limit")) &&
	    jit_cli_parse_count_flag("limit", v, STATUS_MAX_LIMIT, &limit, error, sizeof error) < 0)
		return jit_cli_usage(cli, "%s", error);
	if (jit_cli_flag(cli, args, "pending"))
		r = jit_cli_query_add(query, sizeof query, "pending", "true");
	if (r >= 0 && jit_cli_flag(cli, args, "mine"))
		r = jit_cli_query_add(query, sizeof query, "mine", "true");
	if (r >= 0 && (v = jit_cli_arg(cli, args, "state")))
		r = jit_cli_query_add(query, sizeof query, "state", v);
	if (r >= 0 && (v = jit_cli_arg(cli, args, "requester")))
		r = jit_cli_query_add(query, sizeof query, "requester_identity", v);
	if (r < 0)
		return jit_cli_usage(cli, "flag values too long");

	if ((r = jit_cli_api_list(cli, "/api/v1alpha1/requests", query, "requests", limit, &all)) <
	    0)
		return r;
	r = print_list(cli, all);
	json_decref(all);
	return r;
}

const struct jit_cli_command jit_cli_cmd_status = {
	.name = "status",
	.summary = "Show a request, or list the requests you may see",
	.usage = "status [<request-id>] [--pending] [--mine] [flags]",
	.description =
	        "With a request ID, shows that request in detail (its state, approvals, expiry "
	        "and\n"
	        "the time left). Without one, lists the requests you may see, newest first, in an\n"
	        "aligned table: yours, those you may approve and, for admins, all. The server's\n"
	        "pages are followed up to --limit. With -q: the state of one request, or the IDs\n"
	        "of the list.",
	.examples = "  # Requests waiting for your approval\n"
	            "  jitsudo status --pending\n"
	            "  # Your own requests, as JSON\n"
	            "  jitsudo status --mine -o json\n"
	            "  # One request in detail\n"
	            "  jitsudo status req_01J8KZ4F2EMNQZ3V7XKQYBD4W\n",
	.options = status_options,
	.positional_name = "<request-id>",
	.min_positional = 0,
	.max_positional = 1,
	.run = run_status,
};
