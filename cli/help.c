/* --help text, generated from the command table so that help, man pages and the parser cannot
 * disagree: usage, description, the command's flags, the global flags and examples. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void
print_options(FILE *out, const struct jit_cli_option *options)
{
	for (int i = 0; options && options[i].name; i++) {
		const struct jit_cli_option *o = &options[i];
		char left[96];
		int n;
		if (o->short_name)
			n = snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
			             o->metavar ? " " : "", o->metavar ? o->metavar : "");
		else
			n = snprintf(left, sizeof left, "    --%s%s%s", o->name,
			             o->metavar ? " " : "", o->metavar ? o->metavar : "");
		if (n < 28)
			fprintf(out, "  %-28s %s%s\n", left, o->help,
			        o->required ? " (required)" : "");
		else
			fprintf(out, "  %s\n  %-28s %s%s\n", left, "", o->help,
			        o->required ? " (required)" : "");
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
