/* `jitsudo policy list|get|apply|delete|eval`: the Rego policies stored in jitsudod. Files
 * named on the command line are read with a size bound; the server compiles and checks
 * policies and decides who may change them (admins). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

#define POLICY_FILE_MAX (512 * 1024)

/* Reads a whole file ("-": standard input) of at most `max` bytes as a NUL-terminated string. */
static int
read_text_file(const char *flag, const char *path, size_t max, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	if (strcmp(path, "-") == 0) {
		fd = dup(STDIN_FILENO);
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0)
		return jit_cli_fail(JIT_ERR_INVALID, "--%s: cannot open %s: %s", flag, path,
		                    strerror(errno));
	text = malloc(max + 1);
	if (!text)
		return jit_cli_fail(-ENOMEM, "out of memory");
	for (;;) {
		ssize_t n = read(fd, text + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return jit_cli_fail(JIT_ERR_INVALID, "--%s: cannot read %s: %s", flag, path,
			                    strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return jit_cli_fail(JIT_ERR_INVALID, "--%s: %s is larger than %zu bytes",
			                    flag, path, max);
	}
	text[len] = '\0';
	if (strlen(text) != len)
		return jit_cli_fail(JIT_ERR_INVALID, "--%s: %s contains a NUL byte", flag, path);
	*ret = TAKE_PTR(text);
	return 0;
}

/* "eligibility" or "POLICY_TYPE_ELIGIBILITY" (either case) -> "POLICY_TYPE_ELIGIBILITY". */
static int
policy_type(struct jit_cli *cli, const char *text, const char **ret)
{
	const char *t = text;
	if (strncasecmp(t, "POLICY_TYPE_", 12) == 0)
		t += 12;
	if (strcasecmp(t, "eligibility") == 0)
		*ret = "POLICY_TYPE_ELIGIBILITY";
	else if (strcasecmp(t, "approval") == 0)
		*ret = "POLICY_TYPE_APPROVAL";
	else
		return jit_cli_usage(cli, "--type: \"%.40s\" is not eligibility or approval", text);
	return 0;
}

static const char *
short_type(const char *type)
{
	if (strcmp(type, "POLICY_TYPE_ELIGIBILITY") == 0)
		return "eligibility";
	if (strcmp(type, "POLICY_TYPE_APPROVAL") == 0)
		return "approval";
	return type;
}

static int
run_list(struct jit_cli *cli, const struct jit_cli_args *args)
{
	json_t *answer = NULL;
	struct jit_cli_table t;
	size_t i;
	json_t *p;
	int r;

	if ((r = jit_cli_api(cli, "GET", "/api/v1alpha1/policies", NULL, true, &answer)) < 0)
		return r;
	json_t *list = json_object_get(answer, "policies");
	if (!json_is_array(list)) {
		json_decref(answer);
		return jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer is not a list");
	}
	if (cli->output != JIT_CLI_OUTPUT_TABLE) {
		r = jit_cli_print_machine(cli, list);
	} else if (cli->quiet) {
		json_array_foreach(list, i, p)
		{
			char id[160];
			jit_cli_sanitize(jit_cli_str(p, "id"), id, sizeof id);
			printf("%s\n", id);
		}
	} else if (json_array_size(list) == 0) {
		printf("No policies.\n");
	} else if ((r = jit_cli_table_init(&t, 6)) >= 0) {
		static const char *const header[] = { "ID",      "NAME",    "TYPE",
			                              "ENABLED", "UPDATED", "DESCRIPTION" };
		r = jit_cli_table_add(&t, header);
		json_array_foreach(list, i, p)
		{
			char updated[JIT_RFC3339_MAX];
			const char *row[] = {
				jit_cli_str(p, "id"),
				jit_cli_str(p, "name"),
				short_type(jit_cli_str(p, "type")),
				json_is_true(json_object_get(p, "enabled")) ? "yes" : "no",
				jit_cli_table_time(p, "updated_at", updated, sizeof updated),
				jit_cli_str(p, "description")
			};
			if (r >= 0)
				r = jit_cli_table_add(&t, row);
		}
		if (r >= 0)
			jit_cli_table_print(&t, stdout);
		jit_cli_table_free(&t);
		if (r < 0)
			r = jit_cli_fail(r, "out of memory");
	}
	json_decref(answer);
	return r;
}

static void
print_policy(const json_t *p)
{
	static const char *const fields[][2] = {
		{ "ID", "id" },
		{ "Name", "name" },
		{ "Type", "type" },
		{ "Description", "description" },
		{ "Created", "created_at" },
		{ "Updated", "updated_at" },
		{ "Updated by", "updated_by" },
	};
	char buf[1024];
	for (size_t i = 0; i < JIT_ARRAY_SIZE(fields); i++) {
		const char *v = jit_cli_str(p, fields[i][1]);
		if (strcmp(fields[i][1], "type") == 0)
			v = short_type(v);
		jit_cli_sanitize(v, buf, sizeof buf);
		printf("%-12s %s\n", fields[i][0], buf);
		if (i == 2)
			printf("%-12s %s\n", "Enabled",
			       json_is_true(json_object_get(p, "enabled")) ? "yes" : "no");
	}
	/* The Rego text line by line, each sanitized. */
	const char *rego = jit_cli_str(p, "rego");
	printf("\n");
	while (*rego) {
		size_t n = strcspn(rego, "\n");
		char line[1024];
		char *raw = strndup(rego, n > 1000 ? 1000 : n);
		if (!raw)
			break;
		jit_cli_sanitize(raw, line, sizeof line);
		free(raw);
		printf("%s\n", line);
		rego += n;
		if (*rego == '\n')
			rego++;
	}
}

static int
run_get(struct jit_cli *cli, const struct jit_cli_args *args)
{
	char path[256];
	json_t *answer = NULL;
	int r;

	if ((r = jit_cli_check_id(cli, args->positional[0], "policy ID")) < 0)
		return r;
	snprintf(path, sizeof path, "/api/v1alpha1/policies/%s", args->positional[0]);
	if ((r = jit_cli_api(cli, "GET", path, NULL, true, &answer)) < 0)
		return r;
	json_t *policy = json_object_get(answer, "policy");
	if (!json_is_object(policy))
		r = jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer has no policy");
	else if (cli->output != JIT_CLI_OUTPUT_TABLE)
		r = jit_cli_print_machine(cli, policy);
	else if (cli->quiet)
		printf("%s\n", jit_cli_str(policy, "id"));
	else
		print_policy(policy);
	json_decref(answer);
	return r;
}

/* The policy name from a file name: its base name without ".rego". */
static int
name_from_file(const char *file, char *buf, size_t size)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".rego") == 0)
		n -= 5;
	if (n == 0 || n >= size || strcmp(file, "-") == 0)
		return JIT_ERR_INVALID;
	memcpy(buf, base, n);
	buf[n] = '\0';
	return 0;
}

static int
run_apply(struct jit_cli *cli, const struct jit_cli_args *args)
{
	_cleanup_free_ char *rego = NULL;
	const char *file = jit_cli_arg(cli, args, "file");
	const char *name = jit_cli_arg(cli, args, "name");
	const char *type = NULL, *v;
	char name_buf[256];
	json_t *body, *answer = NULL;
	int r;

	if ((r = policy_type(cli, jit_cli_arg(cli, args, "type"), &type)) < 0)
		return r;
	if (!name) {
		if (name_from_file(file, name_buf, sizeof name_buf) < 0)
			return jit_cli_usage(
			        cli, "missing --name <name> (no file name to take it from)");
		name = name_buf;
	}
	if (jit_cli_flag(cli, args, "enable") && jit_cli_flag(cli, args, "disable"))
		return jit_cli_usage(cli, "--enable and --disable exclude each other");
	if ((r = read_text_file("file", file, POLICY_FILE_MAX, &rego)) < 0)
		return r;
	body = json_pack("{s:s,s:s,s:s}", "name", name, "type", type, "rego", rego);
	if (!body)
		return jit_cli_fail(JIT_ERR_INVALID, "--file: the policy must be UTF-8 text");
	if ((v = jit_cli_arg(cli, args, "description")) &&
	    json_object_set_new(body, "description", json_string(v)) < 0) {
		json_decref(body);
		return jit_cli_fail(JIT_ERR_INVALID, "--description: must be UTF-8 text");
	}
	if (jit_cli_flag(cli, args, "disable") || jit_cli_flag(cli, args, "enable"))
		json_object_set_new(body, "enabled",
		                    json_boolean(jit_cli_flag(cli, args, "enable")));
	r = jit_cli_api(cli, "POST", "/api/v1alpha1/policies", body, true, &answer);
	json_decref(body);
	if (r < 0)
		return r;
	json_t *policy = json_object_get(answer, "policy");
	if (!json_is_object(policy))
		r = jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer has no policy");
	else if (cli->output != JIT_CLI_OUTPUT_TABLE)
		r = jit_cli_print_machine(cli, policy);
	else if (cli->quiet)
		printf("%s\n", jit_cli_str(policy, "id"));
	else {
		char n[300], id[160];
		jit_cli_sanitize(jit_cli_str(policy, "name"), n, sizeof n);
		jit_cli_sanitize(jit_cli_str(policy, "id"), id, sizeof id);
		printf("Policy %s applied (%s, %s, %s)\n", n, id,
		       short_type(jit_cli_str(policy, "type")),
		       json_is_true(json_object_get(policy, "enabled")) ? "enabled" : "disabled");
	}
	json_decref(answer);
	return r;
}

static int
run_delete(struct jit_cli *cli, const struct jit_cli_args *args)
{
	char path[256];
	json_t *answer = NULL;
	int r;

	if ((r = jit_cli_check_id(cli, args->positional[0], "policy ID")) < 0)
		return r;
	snprintf(path, sizeof path, "/api/v1alpha1/policies/%s", args->positional[0]);
	if ((r = jit_cli_api(cli, "DELETE", path, NULL, true, &answer)) < 0)
		return r;
	if (cli->output != JIT_CLI_OUTPUT_TABLE)
		r = jit_cli_print_machine(cli, answer);
	else if (!cli->quiet)
		printf("Policy %s deleted\n", args->positional[0]);
	json_decref(answer);
	return r;
}

static int
run_eval(struct jit_cli *cli, const struct jit_cli_args *args)
{
	_cleanup_free_ char *input = NULL;
	const char *type = "POLICY_TYPE_ELIGIBILITY", *v;
	json_t *parsed = NULL, *body, *answer = NULL;
	char error[256];
	int r;

	if ((v = jit_cli_arg(cli, args, "type")) && (r = policy_type(cli, v, &type)) < 0)
		return r;
	if ((r = read_text_file("input", jit_cli_arg(cli, args, "input"), POLICY_FILE_MAX,
	                        &input)) < 0)
		return r;
	/* Checked here so a typo is a usage error with the parser's position, not a 400. */
	if (jit_json_parse_object(input, strlen(input), POLICY_FILE_MAX, &parsed, error,
	                          sizeof error) < 0)
		return jit_cli_usage(cli, "--input: not a JSON object: %s", error);
	json_decref(parsed);
	body = json_pack("{s:s,s:s}", "input_json", input, "type", type);
	if (!body)
		return jit_cli_fail(JIT_ERR_INVALID, "--input: must be UTF-8 text");
	r = jit_cli_api(cli, "POST", "/api/v1alpha1/policies:eval", body, true, &answer);
	json_decref(body);
	if (r < 0)
		return r;
	if (cli->output != JIT_CLI_OUTPUT_TABLE) {
		r = jit_cli_print_machine(cli, answer);
	} else {
		char reason[1024];
		bool allowed = json_is_true(json_object_get(answer, "allowed"));
		jit_cli_sanitize(jit_cli_str(answer, "reason"), reason, sizeof reason);
		printf("Allowed: %s\n", allowed ? "yes" : "no");
		if (reason[0])
			printf("Reason: %s\n", reason);
		if (!cli->quiet) {
			json_t *result = NULL;
			const char *text = jit_cli_str(answer, "result_json");
			if (jit_json_parse_object(text, strlen(text), JIT_CLI_HTTP_MAX_BODY,
			                          &result, error, sizeof error) == 0) {
				printf("Result:\n");
				jit_cli_print_yaml(stdout, result);
				json_decref(result);
			}
		}
	}
	json_decref(answer);
	return r;
}

static const struct jit_cli_option apply_options[] = {
	JIT_CLI_REQUIRED("file", 'f', "<file>", "the Rego source to store (- for standard input)"),
	JIT_CLI_REQUIRED("type", 0, "<type>", "eligibility or approval"),
	JIT_CLI_FLAG("name", 0, "<name>", "policy name (default: the file name without .rego)"),
	JIT_CLI_FLAG("description", 0, "<text>", "what the policy is for"),
	JIT_CLI_FLAG("disable", 0, NULL, "store it disabled (default: enabled)"),
	JIT_CLI_FLAG("enable", 0, NULL, "store it enabled (the default)"),
	{ 0 },
};

static const struct jit_cli_option eval_options[] = {
	JIT_CLI_REQUIRED(
	        "input", 'i', "<file>",
	        "the input document, a JSON object with user and request (- for standard input)"),
	JIT_CLI_FLAG("type", 0, "<type>", "eligibility (default) or approval"),
	{ 0 },
};

static const struct jit_cli_command policy_list = {
	.name = "list",
	.summary = "List the stored policies",
	.usage = "policy list",
	.description = "Lists the policies stored in jitsudod, by name, with their type and state.",
	.examples = "  jitsudo policy list\n  jitsudo policy list -o yaml\n",
	.options = jit_cli_no_options,
	.run = run_list,
};

static const struct jit_cli_command policy_get = {
	.name = "get",
	.summary = "Show one policy and its Rego source",
	.usage = "policy get <policy-id>",
	.description = "Shows a policy's settings and its Rego source.",
	.examples = "  jitsudo policy get pol_01J8KZ4F2EMNQZ3V7XKQYBD4W\n",
	.options = jit_cli_no_options,
	.positional_name = "<policy-id>",
	.min_positional = 1,
	.max_positional = 1,
	.run = run_get,
};

static const struct jit_cli_command policy_apply = {
	.name = "apply",
	.summary = "Create or replace a policy from a Rego file",
	.usage = "policy apply -f <file> --type <type> [--name <name>] [flags]",
	.description =
	        "Stores a policy (created, or replaced when one of that name exists). The server\n"
	        "compiles it first: a policy that does not compile is refused with the line and\n"
	        "column, and nothing changes. Admins only.",
	.examples = "  jitsudo policy apply -f eligibility.rego --type eligibility\n"
	            "  jitsudo policy apply -f oncall.rego --type approval --name oncall \\\n"
	            "    --description \"on-call engineers approve production\"\n",
	.options = apply_options,
	.run = run_apply,
};

static const struct jit_cli_command policy_delete = {
	.name = "delete",
	.summary = "Delete a policy",
	.usage = "policy delete <policy-id>",
	.description = "Deletes a stored policy. Admins only.",
	.examples = "  jitsudo policy delete pol_01J8KZ4F2EMNQZ3V7XKQYBD4W\n",
	.options = jit_cli_no_options,
	.positional_name = "<policy-id>",
	.min_positional = 1,
	.max_positional = 1,
	.run = run_delete,
};

static const struct jit_cli_command policy_eval = {
	.name = "eval",
	.summary = "Evaluate the enabled policies against an input (a dry run)",
	.usage = "policy eval --input <file> [--type <type>]",
	.description =
	        "Evaluates the enabled policies of a type against an input document, without\n"
	        "creating anything, and prints whether it is allowed, the reason and the whole\n"
	        "result. The input is {\"user\": {\"email\", \"groups\"}, \"request\": {...}} as\n"
	        "docs/policies.md describes.",
	.examples = "  jitsudo policy eval --input input.json\n"
	            "  echo '{\"user\":{\"email\":\"bob@example.com\",\"groups\":[\"dev\"]},"
	            "\"request\":{\"provider\":\"aws\",\"role\":\"read\",\"resource_scope\":"
	            "\"123456789012\",\"duration_seconds\":600,\"reason\":\"debug\"}}' |\n"
	            "    jitsudo policy eval --input - --type eligibility\n",
	.options = eval_options,
	.run = run_eval,
};

static const struct jit_cli_command *const policy_commands[] = {
	&policy_list, &policy_get, &policy_apply, &policy_delete, &policy_eval, NULL,
};

const struct jit_cli_command jit_cli_cmd_policy = {
	.name = "policy",
	.summary = "List, show, apply, delete and try Rego policies",
	.usage = "policy <command> [flags]",
	.description = "Manages the eligibility and approval policies stored in jitsudod.",
	.examples = "  jitsudo policy list\n"
	            "  jitsudo policy apply -f eligibility.rego --type eligibility\n"
	            "  jitsudo policy eval --input input.json --type approval\n",
	.subcommands = policy_commands,
};
