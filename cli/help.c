/* The command table, and the --help text generated from it (usage, description, the command's
 * flags, the global flags, examples), so that help, man pages and the parser cannot disagree. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const struct jit_cli_command *const jit_cli_commands[] = {
	&jit_cli_cmd_login,
	&jit_cli_cmd_logout,
	&jit_cli_cmd_request,
	&jit_cli_cmd_approve,
	&jit_cli_cmd_deny,
	&jit_cli_cmd_revoke,
	&jit_cli_cmd_status,
	&jit_cli_cmd_exec,
	&jit_cli_cmd_shell,
	&jit_cli_cmd_policy,
	&jit_cli_cmd_audit,
	&jit_cli_cmd_server,
	NULL,
};

const struct jit_cli_command *
jit_cli_command_find(const struct jit_cli_command *const *table, const char *name)
{
	for (size_t i = 0; table && table[i]; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

/* Writes `text` from column `indent`, wrapped at 80 columns (the first line's column is the
 * caller's). */
static void
print_wrapped(FILE *out, const char *text, int indent)
{
	int column = indent, width = 80 - indent;
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, " ");
		if (column > indent && column + 1 + (int)n > indent + width) {
			fprintf(out, "\n%*s", indent, "");
			column = indent;
		} else if (column > indent) {
			fputc(' ', out);
			column++;
		}
		fwrite(p, 1, n, out);
		column += (int)n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

static void
print_options(FILE *out, const struct jit_cli_option *options)
{
	for (int i = 0; options && options[i].name; i++) {
		const struct jit_cli_option *o = &options[i];
		char left[96], help[512];
		int n;
		if (o->short_name)
			n = snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
			             o->metavar ? " " : "", o->metavar ? o->metavar : "");
		else
			n = snprintf(left, sizeof left, "    --%s%s%s", o->name,
			             o->metavar ? " " : "", o->metavar ? o->metavar : "");
		snprintf(help, sizeof help, "%s%s", o->help, o->required ? " (required)" : "");
		if (n < 28)
			fprintf(out, "  %-28s ", left);
		else
			fprintf(out, "  %s\n%31s", left, "");
		print_wrapped(out, help, 31);
	}
}

static void
print_command_list(FILE *out, const struct jit_cli_command *const *table, const char *prefix)
{
	for (size_t i = 0; table[i]; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s%s", prefix, table[i]->name);
		fprintf(out, "  %-16s %s\n", name, table[i]->summary);
	}
}

void
jit_cli_help(FILE *out, const struct jit_cli_command *command, const char *path)
{
	if (!command) {
		fprintf(out,
		        "jitsudo %s: just-in-time privilege elevation, from the command line.\n\n"
		        "Usage:\n  jitsudo <command> [flags]\n\nCommands:\n",
		        JIT_CLI_VERSION);
		print_command_list(out, jit_cli_commands, "");
		fprintf(out, "\nGlobal flags:\n");
		print_options(out, jit_cli_global_options);
		fprintf(out,
		        "      --version                print the version of jitsudo\n\n"
		        "Environment: JITSUDO_SERVER, JITSUDO_TOKEN, JITSUDO_CONFIG (default\n"
		        "~/.jitsudo/config.yaml), JITSUDO_CREDENTIALS (default "
		        "~/.jitsudo/credentials).\n"
		        "Exit status: 0 success, 1 denied or refused, 2 usage, 75 server "
		        "unreachable or\n"
		        "failing (try again later).\n\n"
		        "Run `jitsudo <command> --help` for a command's flags and examples.\n");
		return;
	}
	fprintf(out, "%s\n\nUsage:\n  jitsudo %s\n", command->summary, command->usage);
	if (command->description)
		fprintf(out, "\n%s\n", command->description);
	if (command->subcommands) {
		fprintf(out, "\nCommands:\n");
		print_command_list(out, command->subcommands, "");
	}
	if (command->options && command->options[0].name) {
		fprintf(out, "\nFlags:\n");
		print_options(out, command->options);
	}
	fprintf(out, "\nGlobal flags:\n");
	print_options(out, jit_cli_global_options);
	if (command->examples)
		fprintf(out, "\nExamples:\n%s", command->examples);
	if (command->subcommands)
		fprintf(out, "\nRun `jitsudo %s <command> --help` for a command's flags.\n", path);
}
