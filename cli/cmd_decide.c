/* `jitsudo approve`, `deny` and `revoke`: one decision on one request (seed 002), printed as
 * "Request <id> → APPROVED" (or the state it reached). The request ID is checked for its
 * shape before it goes into a URL; the server decides who may act. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/common/errors.h"

static int
decide(struct jit_cli *cli, const struct jit_cli_args *args, const char *action, const char *field,
       const char *value)
{
	char path[256];
	const char *id = args->positional[0];
	json_t *body, *answer = NULL;
	int r;

	if ((r = jit_cli_check_id(cli, id, "request ID")) < 0)
		return r;
	body = value ? json_pack("{s:s}", field, value) : json_object();
	if (!body)
		return jit_cli_fail(JIT_ERR_INVALID, "flag values must be UTF-8 text");
	snprintf(path, sizeof path, "/api/v1alpha1/requests/%s/%s", id, action);
	r = jit_cli_api(cli, "POST", path, body, true, &answer);
	json_decref(body);
	if (r < 0)
		return r;
	json_t *request = json_object_get(answer, "request");
	if (!json_is_object(request)) {
		json_decref(answer);
		return jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer has no request");
	}
	if (cli->output != JIT_CLI_OUTPUT_TABLE) {
		r = jit_cli_print_machine(cli, request);
	} else if (!cli->quiet) {
		char shown[160];
		jit_cli_sanitize(jit_cli_str(request, "id"), shown, sizeof shown);
		printf("Request %s \u2192 %s\n", shown,
		       jit_cli_short_state(jit_cli_str(request, "state")));
		/* One of several required approvals: say how many are still needed. */
		json_t *approvals = json_object_get(request, "approvals");
		json_int_t needed =
		        json_integer_value(json_object_get(request, "required_approvals"));
		if (strcmp(action, "approve") == 0 && json_is_array(approvals) &&
		    strcmp(jit_cli_short_state(jit_cli_str(request, "state")), "PENDING") == 0 &&
		    needed > (json_int_t)json_array_size(approvals))
			printf("%lld of %lld approvals recorded\n",
			       (long long)json_array_size(approvals), (long long)needed);
	}
	json_decref(answer);
	return r;
}

static int
run_approve(struct jit_cli *cli, const struct jit_cli_args *args)
{
	return decide(cli, args, "approve", "comment", jit_cli_arg(cli, args, "comment"));
}

static int
run_deny(struct jit_cli *cli, const struct jit_cli_args *args)
{
	const char *reason = jit_cli_arg(cli, args, "reason");
	if (!reason[0])
		return jit_cli_usage(cli, "--reason: must not be empty");
	return decide(cli, args, "deny", "reason", reason);
}

static int
run_revoke(struct jit_cli *cli, const struct jit_cli_args *args)
{
	const char *reason = jit_cli_arg(cli, args, "reason");
	if (!reason[0])
		return jit_cli_usage(cli, "--reason: must not be empty");
	return decide(cli, args, "revoke", "reason", reason);
}

static const struct jit_cli_option approve_options[] = {
	JIT_CLI_FLAG("comment", 0, "<text>", "optional approval comment recorded in the audit log"),
	{ 0 },
};

static const struct jit_cli_option deny_options[] = {
	JIT_CLI_REQUIRED("reason", 0, "<text>",
	                 "reason for denial (audit log; visible to the requester)"),
	{ 0 },
};

static const struct jit_cli_option revoke_options[] = {
	JIT_CLI_REQUIRED("reason", 0, "<text>",
	                 "why the grant ends early (recorded in the audit log)"),
	{ 0 },
};

const struct jit_cli_command jit_cli_cmd_approve = {
	.name = "approve",
	.summary = "Approve a pending elevation request",
	.usage = "approve <request-id> [--comment <text>]",
	.description =
	        "Moves a PENDING request to APPROVED, which issues the credentials (when the\n"
	        "approval policy requires several approvers, each approval is recorded until\n"
	        "enough are in). Requires an approver role as the approval policies define it; a\n"
	        "requester cannot approve their own request. Prints \"Request <id> \u2192 "
	        "APPROVED\".",
	.examples = "  # List requests waiting for your approval\n"
	            "  jitsudo status --pending\n"
	            "  # Approve, with an optional comment\n"
	            "  jitsudo approve req_01J8KZ4F2EMNQZ3V7XKQYBD4W --comment \"Approved for "
	            "INC-4421 response\"\n",
	.options = approve_options,
	.positional_name = "<request-id>",
	.min_positional = 1,
	.max_positional = 1,
	.run = run_approve,
};

const struct jit_cli_command jit_cli_cmd_deny = {
	.name = "deny",
	.summary = "Deny a pending elevation request",
	.usage = "deny <request-id> --reason <text>",
	.description =
	        "Moves a PENDING request to REJECTED. The reason is recorded in the audit\n"
	        "log and returned to the requester. Prints \"Request <id> \u2192 REJECTED\".",
	.examples =
	        "  jitsudo deny req_01J8KZ4F2EMNQZ3V7XKQYBD4W \\\n"
	        "    --reason \"Not authorized for production access outside change windows\"\n",
	.options = deny_options,
	.positional_name = "<request-id>",
	.min_positional = 1,
	.max_positional = 1,
	.run = run_deny,
};

const struct jit_cli_command jit_cli_cmd_revoke = {
	.name = "revoke",
	.summary = "End a request or an active grant early",
	.usage = "revoke <request-id> --reason <text>",
	.description =
	        "Moves a PENDING, APPROVED or ACTIVE request to REVOKED: its credentials stop\n"
	        "being served at once and the provider revokes them. Allowed to the requester,\n"
	        "the request's approvers and admins. Prints \"Request <id> \u2192 REVOKED\".",
	.examples = "  jitsudo revoke req_01J8KZ4F2EMNQZ3V7XKQYBD4W --reason \"incident closed\"\n",
	.options = revoke_options,
	.positional_name = "<request-id>",
	.min_positional = 1,
	.max_positional = 1,
	.run = run_revoke,
};
