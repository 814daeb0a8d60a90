/* jitsudo: finds the command (global flags may come before it), parses its flags, loads the
 * settings, runs it and turns its result into the exit status (0, 1 refused, 2 usage, 75
 * temporary failure). Trusts nothing on the command line; never prints a token. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"

/* Whether argv word `a` is a global flag whose value is the next word. */
static bool
global_takes_next(const char *a)
{
	if (a[0] != '-' || a[1] == '\0')
		return false;
	if (a[1] == '-') {
		if (strchr(a, '='))
			return false;
		for (int i = 0; jit_cli_global_options[i].name; i++)
			if (strcmp(a + 2, jit_cli_global_options[i].name) == 0)
				return jit_cli_global_options[i].metavar != NULL;
		return false;
	}
	/* Short flags: "-o json" and "-qo json" take the next word, "-ojson" does not. */
	for (const char *p = a + 1; *p; p++) {
		const struct jit_cli_option *o = NULL;
		for (int i = 0; jit_cli_global_options[i].name; i++)
			if (jit_cli_global_options[i].short_name == *p)
				o = &jit_cli_global_options[i];
		if (!o)
			return false;
		if (o->metavar)
			return p[1] == '\0';
	}
	return false;
}

/* Index of the first word at or after `from` that is not a (global) flag, or argc. */
static int
next_word(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return argc;
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			return i;
		if (global_takes_next(argv[i]))
			i++;
	}
	return argc;
}

/* The reader of our output went away (`jitsudo status | head -1`): ends the way Unix tools
 * do, killed by SIGPIPE without a message (a shell reports 141; set -o pipefail sees it).
 * Called after the cleanup; returns 128 + SIGPIPE only if the signal cannot be delivered. */
static int
exit_output_closed(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGPIPE);
	return 128 + SIGPIPE;
}

int
main(int argc, char **argv)
{
	struct jit_cli cli = { .argv0 = argv[0] };
	struct jit_cli_args global = { 0 }, args = { 0 };
	const struct jit_cli_command *command = NULL;
	_cleanup_free_ char **rest = NULL;
	char path[64] = "";
	char error[512] = "";
	int words[2] = { -1, -1 };
	bool output_closed;
	int n = 0, r;

	/* A closed reader of our output must not kill us mid-cleanup (temporary files, tokens
	 * to wipe): writes fail with EPIPE instead, and exit_output_closed() ends the run. */
	signal(SIGPIPE, SIG_IGN);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--version") == 0) {
			printf("jitsudo %s\n", JIT_CLI_VERSION);
			return 0;
		}
	}

	words[0] = next_word(argc, argv, 1);
	if (words[0] >= argc) {
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
				jit_cli_help(stdout, NULL, "");
				return 0;
			}
		jit_cli_help(stderr, NULL, "");
		return JIT_CLI_EXIT_USAGE;
	}
	command = jit_cli_command_find(jit_cli_commands, argv[words[0]]);
	if (!command) {
		char shown[200];
		jit_cli_sanitize(argv[words[0]], shown, 64);
		fprintf(stderr, "jitsudo: unknown command \"%s\" (see `jitsudo --help`)\n", shown);
		return JIT_CLI_EXIT_USAGE;
	}
	snprintf(path, sizeof path, "%s", command->name);
	if (command->subcommands) {
		words[1] = next_word(argc, argv, words[0] + 1);
		const struct jit_cli_command *sub =
		        words[1] < argc ? jit_cli_command_find(command->subcommands, argv[words[1]])
		                        : NULL;
		if (!sub) {
			bool help = false;
			for (int i = 1; i < argc; i++)
				if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
					help = true;
			if (help && words[1] >= argc) {
				jit_cli_help(stdout, command, path);
				return 0;
			}
			if (words[1] < argc) {
				char shown[200];
				jit_cli_sanitize(argv[words[1]], shown, 64);
				fprintf(stderr,
				        "jitsudo: unknown command \"%s %s\" (see `jitsudo %s "
				        "--help`)\n",
				        command->name, shown, command->name);
			} else {
				fprintf(stderr,
				        "jitsudo: %s needs a command (see `jitsudo %s --help`)\n",
				        command->name, command->name);
			}
			return JIT_CLI_EXIT_USAGE;
		}
		snprintf(path, sizeof path, "%s %s", command->name, sub->name);
		command = sub;
	}
	cli.command = command;
	cli.command_path = path;

	/* The command's words are taken out; everything else is its flags and arguments. */
	rest = calloc((size_t)argc + 1, sizeof(char *));
	if (!rest)
		return JIT_CLI_EXIT_TEMPFAIL;
	for (int i = 1; i < argc; i++)
		if (i != words[0] && i != words[1])
			rest[n++] = argv[i];
	r = jit_cli_parse_args(command->options, command->max_positional, n, rest, &args, &global,
	                       error, sizeof error);
	if (global.values[JIT_CLI_GLOBAL_HELP]) {
		jit_cli_help(stdout, command, path);
		return 0;
	}
	if (r < 0) {
		jit_cli_usage(&cli, "%s", error);
		return JIT_CLI_EXIT_USAGE;
	}
	for (int i = 0; command->options && command->options[i].name; i++)
		if (command->options[i].required && !args.values[i]) {
			jit_cli_usage(&cli, "missing --%s %s", command->options[i].name,
			              command->options[i].metavar ? command->options[i].metavar
			                                          : "");
			return JIT_CLI_EXIT_USAGE;
		}
	if (args.positional_count < command->min_positional) {
		jit_cli_usage(&cli, "missing %s",
		              command->positional_name ? command->positional_name : "an argument");
		return JIT_CLI_EXIT_USAGE;
	}
	if (args.dashdash && !command->takes_command && args.rest_count > 0) {
		jit_cli_usage(&cli, "unexpected arguments after --");
		return JIT_CLI_EXIT_USAGE;
	}

	r = jit_cli_settings_load(&cli, &global);
	if (r >= 0)
		r = command->run(&cli, &args);
	fflush(stdout);
	output_closed = (r == -EPIPE || ferror(stdout)) && jit_cli_output_closed();
	if (!output_closed && ferror(stdout) && r >= 0) {
		fprintf(stderr, "jitsudo: cannot write the output\n");
		r = -EIO;
	}
	jit_cli_settings_free(&cli);
	if (output_closed)
		return exit_output_closed();
	return jit_cli_exit_code(r);
}
