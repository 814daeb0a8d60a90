/* `jitsudo audit`: the audit events the caller may read, oldest first, with every filter of
 * the API; the server's pages are followed up to --limit. Times are given as RFC 3339 or as a
 * duration meaning "that long ago". */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/common/errors.h"
#include "lib/common/timeutil.h"

#define AUDIT_DEFAULT_LIMIT 1000
#define AUDIT_MAX_LIMIT 1000000

static const struct jit_cli_option audit_options[] = {
	JIT_CLI_FLAG("actor", 0, "<identity>", "only events of this actor"),
	JIT_CLI_FLAG("provider", 0, "<name>", "only events of this provider"),
	JIT_CLI_FLAG("request", 0, "<request-id>", "only events of this request"),
	JIT_CLI_FLAG("since", 0, "<time>",
	             "only events at or after: RFC 3339, or a duration ago (2h)"),
	JIT_CLI_FLAG("until", 0, "<time>", "only events at or before: RFC 3339, or a duration ago"),
	JIT_CLI_FLAG("limit", 0, "<n>", "show at most n events (default: 1000)"),
	{ 0 },
};

/* An RFC 3339 time, or a duration before now, as the RFC 3339 text the API takes. */
static int
parse_time_flag(struct jit_cli *cli, const char *flag, const char *text, char *buf, size_t size)
{
	char error[256];
	int64_t ns, seconds;

	if (jit_rfc3339_parse(text, &ns) == 0)
		return jit_rfc3339_format(ns, true, buf, size) < 0
		               ? jit_cli_usage(cli, "--%s: out of range", flag)
		               : 0;
	if (jit_cli_parse_duration_flag(flag, text, &seconds, error, sizeof error) < 0)
		return jit_cli_usage(cli,
		                     "--%s: \"%.40s\" is neither an RFC 3339 time "
		                     "(2026-03-20T16:00:00Z) nor a duration (2h)",
		                     flag, text);
	ns = jit_now_realtime_ns() - seconds * JIT_NSEC_PER_SEC;
	if (jit_rfc3339_format(ns, true, buf, size) < 0)
		return jit_cli_usage(cli, "--%s: out of range", flag);
	return 0;
}

static int
print_events(struct jit_cli *cli, json_t *events)
{
	struct jit_cli_table t;
	size_t i;
	json_t *e;
	int r;

	if (cli->output != JIT_CLI_OUTPUT_TABLE)
		return jit_cli_print_machine(cli, events);
	if (cli->quiet) {
		json_array_foreach(events, i, e)
		{
			/* Event IDs are integers (the chain's sequence). */
			json_t *id = json_object_get(e, "id");
			if (json_is_integer(id))
				printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(id));
		}
		return 0;
	}
	if (json_array_size(events) == 0) {
		printf("No events.\n");
		return 0;
	}
	if ((r = jit_cli_table_init(&t, 6)) < 0)
		return r;
	static const char *const header[] = { "TIME",    "ACTOR",   "ACTION",
		                              "OUTCOME", "REQUEST", "PROVIDER" };
	r = jit_cli_table_add(&t, header);
	json_array_foreach(events, i, e)
	{
		char when[JIT_RFC3339_MAX];
		const char *row[] = { jit_cli_table_time(e, "timestamp", when, sizeof when),
			              jit_cli_str(e, "actor_identity"),
			              jit_cli_str(e, "action"),
			              jit_cli_str(e, "outcome"),
			              jit_cli_str(e, "request_id"),
			              jit_cli_str(e, "provider") };
		if (r >= 0)
			r = jit_cli_table_add(&t, row);
	}
	if (r >= 0)
		jit_cli_table_print(&t, stdout);
	jit_cli_table_free(&t);
	return r < 0 ? jit_cli_fail(r, "out of memory") : 0;
}

static int
run_audit(struct jit_cli *cli, const struct jit_cli_args *args)
{
	char query[2048] = "", error[256], when[JIT_RFC3339_MAX];
	int64_t limit = AUDIT_DEFAULT_LIMIT;
	const char *v;
	json_t *all;
	int r = 0;

	if ((v = jit_cli_arg(cli, args, "limit")) &&
	    jit_cli_parse_count_flag("limit", v, AUDIT_MAX_LIMIT, &limit, error, sizeof error) < 0)
		return jit_cli_usage(cli, "%s", error);
	if ((v = jit_cli_arg(cli, args, "actor")))
		r = jit_cli_query_add(query, sizeof query, "actor_identity", v);
	if (r >= 0 && (v = jit_cli_arg(cli, args, "provider")))
		r = jit_cli_query_add(query, sizeof query, "provider", v);
	if (r >= 0 && (v = jit_cli_arg(cli, args, "request")))
		r = jit_cli_query_add(query, sizeof query, "request_id", v);
	if (r < 0)
		return jit_cli_usage(cli, "flag values too long");
	if ((v = jit_cli_arg(cli, args, "since"))) {
		if ((r = parse_time_flag(cli, "since", v, when, sizeof when)) < 0)
			return r;
		jit_cli_query_add(query, sizeof query, "since", when);
	}
	if ((v = jit_cli_arg(cli, args, "until"))) {
		if ((r = parse_time_flag(cli, "until", v, when, sizeof when)) < 0)
			return r;
		jit_cli_query_add(query, sizeof query, "until", when);
	}

	if ((r = jit_cli_api_list(cli, "/api/v1alpha1/audit", query, "events", limit, &all)) < 0)
		return r;
	r = print_events(cli, all);
	json_decref(all);
	return r;
}

const struct jit_cli_command jit_cli_cmd_audit = {
	.name = "audit",
	.summary = "Show the audit log",
	.usage = "audit [--actor <identity>] [--provider <name>] [--request <id>] [--since <time>] "
	         "[--until <time>] [--limit <n>]",
	.description =
	        "Shows the audit events you may read, oldest first: admins see all; others the\n"
	        "events of the requests they may see, and their own. Every filter of the API is a\n"
	        "flag; the server's pages are followed for you, up to --limit events. --since and\n"
	        "--until take an RFC 3339 time or a duration meaning that long ago (both\n"
	        "inclusive). With -o json or yaml every field is shown, hashes included.",
	.examples = "  # Everything about one request\n"
	            "  jitsudo audit --request req_01J8KZ4F2EMNQZ3V7XKQYBD4W\n"
	            "  # What alice did in the last two hours, as JSON\n"
	            "  jitsudo audit --actor alice@example.com --since 2h -o json\n"
	            "  # AWS events of one day\n"
	            "  jitsudo audit --provider aws --since 2026-03-20T00:00:00Z "
	            "--until 2026-03-20T23:59:59Z\n",
	.options = audit_options,
	.run = run_audit,
};
