/* Writes jitsudo's man pages (jitsudo.1 and jitsudo-<command>.1) into a directory, from the
 * same command table that drives the parser and --help, so a flag cannot be documented in one
 * and missing in the other. Build-time tool; trusts the table, escapes every text for groff. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAN_TITLE "\"\" \"jitsudo " JIT_CLI_VERSION "\" \"jitsudo manual\""

/* Text for groff: backslashes and dashes escaped, a leading dot or quote neutralized, the few
 * non-ASCII characters of the table named, anything else replaced. */
static void
roff(FILE *out, const char *text)
{
	bool line_start = true;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (line_start && (*p == '.' || *p == '\''))
			fputs("\\&", out);
		line_start = false;
		if (*p == '\\') {
			fputs("\\e", out);
		} else if (*p == '-') {
			fputs("\\-", out);
		} else if (*p == '\n') {
			fputc('\n', out);
			line_start = true;
		} else if (p[0] == 0xe2 && p[1] == 0x86 && p[2] == 0x92) { /* → */
			fputs("\\(->", out);
			p += 2;
		} else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0x94) { /* — */
			fputs("\\(em", out);
			p += 2;
		} else if (*p >= 0x80) {
			fputc('?', out);
		} else {
			fputc(*p, out);
		}
	}
}

static void
options(FILE *out, const struct jit_cli_option *o)
{
	for (; o && o->name; o++) {
		fputs(".TP\n", out);
		if (o->short_name)
			fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
		fputs("\\fB\\-\\-", out);
		roff(out, o->name);
		fputs("\\fR", out);
		if (o->metavar) {
			fputs(" \\fI", out);
			roff(out, o->metavar);
			fputs("\\fR", out);
		}
		fputc('\n', out);
		roff(out, o->help);
		if (o->required)
			fputs(" (required)", out);
		fputc('\n', out);
	}
}

/* Examples: "  # comment" and command lines, kept as they are, without filling. */
static void
examples(FILE *out, const char *text)
{
	fputs(".PP\n.RS 4\n.nf\n", out);
	while (*text) {
		size_t n = strcspn(text, "\n");
		char *line = strndup(text, n);
		if (!line)
			exit(1);
		roff(out, line[0] == ' ' && line[1] == ' ' ? line + 2 : line);
		fputc('\n', out);
		free(line);
		text += n;
		if (*text == '\n')
			text++;
	}
	fputs(".fi\n.RE\n", out);
}

static void
common_sections(FILE *out)
{
	fputs(".SH GLOBAL OPTIONS\n", out);
	options(out, jit_cli_global_options);
	fputs(".SH EXIT STATUS\n"
	      ".TP\n0\nSuccess.\n"
	      ".TP\n1\nDenied or refused: by the server (not allowed, not found, a state that "
	      "does not allow the change), a request that ended denied or expired with "
	      "\\fB\\-\\-wait\\fR, a login the provider refused, or a TLS certificate that "
	      "could not be verified.\n"
	      ".TP\n2\nUsage: a missing or bad flag, argument or setting (the message names "
	      "it), or a value the server rejected as invalid.\n"
	      ".TP\n75\nTemporary failure: the server or the identity provider could not be "
	      "reached, did not answer within the timeout, or failed (HTTP 5xx); try again "
	      "later.\n"
	      ".PP\n\\fBjitsudo exec\\fR and \\fBjitsudo shell\\fR exit with the command's "
	      "status instead (128+N when it was killed by signal N, 127 when it cannot be "
	      "found, 126 when it cannot be run).\n"
	      ".PP\nWhen nobody reads the output any more (\\fBjitsudo status | head -1\\fR), "
	      "jitsudo stops without a message, as if killed by SIGPIPE (a shell reports "
	      "141).\n"
	      ".SH ENVIRONMENT\n"
	      ".TP\n\\fBJITSUDO_SERVER\\fR\nThe server URL, when \\fB\\-\\-server\\fR is not "
	      "given.\n"
	      ".TP\n\\fBJITSUDO_TOKEN\\fR\nThe bearer token, when \\fB\\-\\-token\\fR is not "
	      "given.\n"
	      ".TP\n\\fBJITSUDO_CONFIG\\fR\nAnother configuration file than "
	      "\\fI~/.jitsudo/config.yaml\\fR.\n"
	      ".TP\n\\fBJITSUDO_CREDENTIALS\\fR\nAnother credentials file than "
	      "\\fI~/.jitsudo/credentials\\fR.\n"
	      ".SH FILES\n"
	      ".TP\n\\fI~/.jitsudo/config.yaml\\fR\nSettings: \\fBserver\\fR, \\fBissuer\\fR, "
	      "\\fBclient_id\\fR, \\fBca_file\\fR, \\fBoutput\\fR, \\fBtimeout\\fR. Flags win "
	      "over the environment, which wins over this file, which wins over what "
	      "\\fBjitsudo login\\fR stored.\n"
	      ".TP\n\\fI~/.jitsudo/credentials\\fR\nWhat \\fBjitsudo login\\fR stored (mode "
	      "0600): the server URL and the tokens.\n",
	      out);
}

static void
see_also(FILE *out, const char *self)
{
	bool first = true;
	fputs(".SH SEE ALSO\n", out);
	if (strcmp(self, "jitsudo") != 0) {
		fputs("\\fBjitsudo\\fR(1)", out);
		first = false;
	}
	for (size_t i = 0; jit_cli_commands[i]; i++) {
		char name[64];
		snprintf(name, sizeof name, "jitsudo-%s", jit_cli_commands[i]->name);
		if (strcmp(name, self) == 0)
			continue;
		fprintf(out, "%s\\fBjitsudo\\-%s\\fR(1)", first ? "" : ",\n",
		        jit_cli_commands[i]->name);
		first = false;
	}
	fputs("\n", out);
}

static void
upper(const char *in, char *out, size_t size)
{
	size_t i = 0;
	for (; in[i] && i + 1 < size; i++)
		out[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char)(in[i] - 'a' + 'A') : in[i];
	out[i] = '\0';
}

static void
synopsis(FILE *out, const char *usage)
{
	fputs(".SH SYNOPSIS\n.B jitsudo\n", out);
	roff(out, usage);
	fputc('\n', out);
}

static int
command_page(const char *dir, const struct jit_cli_command *c)
{
	char path[4096], title[64];
	FILE *out;

	snprintf(path, sizeof path, "%s/jitsudo-%s.1", dir, c->name);
	out = fopen(path, "we");
	if (!out)
		return -errno;
	upper(c->name, title, sizeof title);
	fprintf(out, ".TH JITSUDO\\-%s 1 %s\n.SH NAME\njitsudo\\-%s \\- ", title, MAN_TITLE,
	        c->name);
	roff(out, c->summary);
	fputc('\n', out);
	if (c->subcommands) {
		fputs(".SH SYNOPSIS\n", out);
		for (size_t i = 0; c->subcommands[i]; i++) {
			fputs(i ? ".br\n.B jitsudo\n" : ".B jitsudo\n", out);
			roff(out, c->subcommands[i]->usage);
			fputc('\n', out);
		}
	} else {
		synopsis(out, c->usage);
	}
	fputs(".SH DESCRIPTION\n", out);
	roff(out, c->description);
	fputc('\n', out);
	if (c->subcommands) {
		fputs(".SH COMMANDS\n", out);
		for (size_t i = 0; c->subcommands[i]; i++) {
			const struct jit_cli_command *s = c->subcommands[i];
			fputs(".SS \"jitsudo ", out);
			roff(out, s->usage);
			fputs("\"\n", out);
			roff(out, s->description);
			fputc('\n', out);
			if (s->options && s->options[0].name) {
				fputs(".PP\nOptions:\n.RS 4\n", out);
				options(out, s->options);
				fputs(".RE\n", out);
			}
		}
	} else if (c->options && c->options[0].name) {
		fputs(".SH OPTIONS\n", out);
		options(out, c->options);
	}
	common_sections(out);
	fputs(".SH EXAMPLES\n", out);
	if (c->subcommands)
		for (size_t i = 0; c->subcommands[i]; i++)
			examples(out, c->subcommands[i]->examples);
	else
		examples(out, c->examples);
	snprintf(path, sizeof path, "jitsudo-%s", c->name);
	see_also(out, path);
	if (fclose(out) != 0)
		return -EIO;
	return 0;
}

static int
main_page(const char *dir)
{
	char path[4096];
	FILE *out;

	snprintf(path, sizeof path, "%s/jitsudo.1", dir);
	out = fopen(path, "we");
	if (!out)
		return -errno;
	fprintf(out,
	        ".TH JITSUDO 1 %s\n.SH NAME\njitsudo \\- just\\-in\\-time privilege elevation "
	        "from the command line\n",
	        MAN_TITLE);
	fputs(".SH SYNOPSIS\n.B jitsudo\n\\fIcommand\\fR [\\fIflags\\fR]\n.br\n.B jitsudo\n"
	      "\\fB\\-\\-version\\fR\n",
	      out);
	fputs(".SH DESCRIPTION\n\\fBjitsudo\\fR asks the jitsudo control plane "
	      "(\\fBjitsudod\\fR) for temporary, approved elevation to a cloud or Kubernetes "
	      "role, lets approvers decide, and runs commands with the credentials the grant "
	      "issued. Each command has its own page, listed below, and \\fB\\-\\-help\\fR.\n"
	      ".SH COMMANDS\n",
	      out);
	for (size_t i = 0; jit_cli_commands[i]; i++) {
		fprintf(out, ".TP\n\\fBjitsudo\\-%s\\fR(1)\n", jit_cli_commands[i]->name);
		roff(out, jit_cli_commands[i]->summary);
		fputc('\n', out);
	}
	fputs(".SH OPTIONS\n.TP\n\\fB\\-\\-version\\fR\nPrint the version of jitsudo.\n", out);
	common_sections(out);
	see_also(out, "jitsudo");
	if (fclose(out) != 0)
		return -EIO;
	return 0;
}

int
main(int argc, char **argv)
{
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <directory>\n", argv[0]);
		return 2;
	}
	if ((r = main_page(argv[1])) < 0) {
		fprintf(stderr, "genman: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	for (size_t i = 0; jit_cli_commands[i]; i++)
		if ((r = command_page(argv[1], jit_cli_commands[i])) < 0) {
			fprintf(stderr, "genman: %s: %s\n", jit_cli_commands[i]->name,
			        strerror(-r));
			return 1;
		}
	return 0;
}
