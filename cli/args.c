/* Argument parsing for every command: long and short flags against a command's option table
 * and the global flags, positional words, and the words after "--". Trusts nothing in argv:
 * lengths are bounded and every mistake is a usage error that names the flag. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/common/duration.h"
#include "lib/common/errors.h"

const struct jit_cli_option jit_cli_no_options[1] = { { 0 } };

const struct jit_cli_option jit_cli_global_options[JIT_CLI_GLOBAL_COUNT + 1] = {
	[JIT_CLI_GLOBAL_SERVER] =
	        JIT_CLI_FLAG("server", 0, "<url>",
	                     "control plane URL (default: JITSUDO_SERVER, config, stored "
	                     "credentials)"),
	[JIT_CLI_GLOBAL_TOKEN] =
	        JIT_CLI_FLAG("token", 0, "<token>",
	                     "bearer token override (default: JITSUDO_TOKEN, stored "
	                     "credentials)"),
	[JIT_CLI_GLOBAL_OUTPUT] = JIT_CLI_FLAG("output", 'o', "<format>",
	                                       "output format: table, json, yaml (default: table)"),
	[JIT_CLI_GLOBAL_QUIET] = JIT_CLI_FLAG(
	        "quiet", 'q', NULL, "print only the request ID, or nothing non-essential"),
	[JIT_CLI_GLOBAL_DEBUG] = JIT_CLI_FLAG(
	        "debug", 0, NULL, "log each HTTP exchange (method, URL, status, time) to stderr"),
	[JIT_CLI_GLOBAL_TIMEOUT] =
	        JIT_CLI_FLAG("timeout", 0, "<duration>",
	                     "limit on each exchange with the server (default: 30s)"),
	[JIT_CLI_GLOBAL_CA_FILE] = JIT_CLI_FLAG(
	        "ca-file", 0, "<file>", "PEM bundle to verify the server's and the issuer's TLS"),
	[JIT_CLI_GLOBAL_HELP] = JIT_CLI_FLAG("help", 'h', NULL, "show this help"),
	[JIT_CLI_GLOBAL_COUNT] = { 0 },
};

int
jit_cli_option_index(const struct jit_cli_option *options, const char *name)
{
	if (!options)
		return -1;
	for (int i = 0; options[i].name; i++)
		if (strcmp(options[i].name, name) == 0)
			return i;
	return -1;
}

/* Finds a flag by long name (len bytes of `name`) or short letter in the command's options,
 * then in the global ones. Returns the option, or NULL when neither table has it; on success
 * sets *ret_index to its place in its table and *ret_global to whether that is the global one. */
static const struct jit_cli_option *
find_option(const struct jit_cli_option *options, const char *name, size_t len, char short_name,
            int *ret_index, bool *ret_global)
{
	const struct jit_cli_option *tables[2] = { options, jit_cli_global_options };
	for (int t = 0; t < 2; t++) {
		if (!tables[t])
			continue;
		for (int i = 0; tables[t][i].name; i++) {
			const struct jit_cli_option *o = &tables[t][i];
			if ((name && strlen(o->name) == len && strncmp(o->name, name, len) == 0) ||
			    (!name && short_name && o->short_name == short_name)) {
				*ret_index = i;
				*ret_global = t == 1;
				return o;
			}
		}
	}
	return NULL;
}

static int
set_value(const struct jit_cli_option *o, const char **slot, const char *value, char *error,
          size_t error_size)
{
	if (*slot) {
		snprintf(error, error_size, "--%s given twice", o->name);
		return JIT_ERR_INVALID;
	}
	if (strlen(value) > JIT_CLI_MAX_ARG) {
		snprintf(error, error_size, "--%s: value longer than %d bytes", o->name,
		         JIT_CLI_MAX_ARG);
		return JIT_ERR_INVALID;
	}
	*slot = value;
	return 0;
}

int
jit_cli_parse_args(const struct jit_cli_option *options, int max_positional, int argc, char **argv,
                   struct jit_cli_args *args, struct jit_cli_args *global, char *error,
                   size_t error_size)
{
	int count = 0;
	int r;

	if (options)
		while (options[count].name)
			count++;
	if (count > JIT_CLI_MAX_OPTIONS)
		return JIT_ERR_INTERNAL;
	memset(args->values, 0, sizeof(args->values));
	args->positional = NULL;
	args->positional_count = 0;
	args->rest = NULL;
	args->rest_count = 0;
	args->dashdash = false;

	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		bool is_global = false;
		int idx = 0;

		if (strcmp(a, "--") == 0) {
			args->dashdash = true;
			args->rest = argv + i + 1;
			args->rest_count = argc - i - 1;
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			/* Positional words are collected in place: move this one down. */
			if (args->positional_count >= max_positional) {
				if (max_positional == 0)
					snprintf(error, error_size, "unexpected argument \"%.64s\"",
					         a);
				else
					snprintf(error, error_size,
					         "too many arguments (\"%.64s\" is one too many)",
					         a);
				return JIT_ERR_INVALID;
			}
			if (strlen(a) > JIT_CLI_MAX_ARG) {
				snprintf(error, error_size, "argument longer than %d bytes",
				         JIT_CLI_MAX_ARG);
				return JIT_ERR_INVALID;
			}
			if (!args->positional)
				args->positional = argv + i;
			/* Keep the positional words contiguous: shift this one down next to the
			 * previous ones (flags between them were consumed already). */
			args->positional[args->positional_count++] = a;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct jit_cli_option *o =
			        find_option(options, name, len, 0, &idx, &is_global);
			if (!o) {
				snprintf(error, error_size, "unknown flag --%.*s",
				         (int)(len > 64 ? 64 : len), name);
				return JIT_ERR_INVALID;
			}
			const char **slot = is_global ? &global->values[idx] : &args->values[idx];
			if (!o->metavar) {
				if (eq) {
					snprintf(error, error_size, "--%s takes no value", o->name);
					return JIT_ERR_INVALID;
				}
				if ((r = set_value(o, slot, "", error, error_size)) < 0)
					return r;
				continue;
			}
			const char *value = eq ? eq + 1 : NULL;
			if (!value) {
				if (i + 1 >= argc) {
					snprintf(error, error_size, "--%s needs a value %s",
					         o->name, o->metavar);
					return JIT_ERR_INVALID;
				}
				value = argv[++i];
			}
			if ((r = set_value(o, slot, value, error, error_size)) < 0)
				return r;
			continue;
		}
		/* Short flags: "-q", "-o json", "-ojson", "-qo json". */
		for (const char *p = a + 1; *p; p++) {
			const struct jit_cli_option *o =
			        find_option(options, NULL, 0, *p, &idx, &is_global);
			if (!o) {
				if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
					snprintf(error, error_size, "unknown flag -%c", *p);
				else
					snprintf(error, error_size, "unknown flag in \"%.64s\"", a);
				return JIT_ERR_INVALID;
			}
			const char **slot = is_global ? &global->values[idx] : &args->values[idx];
			if (!o->metavar) {
				if ((r = set_value(o, slot, "", error, error_size)) < 0)
					return r;
				continue;
			}
			const char *value = p[1] ? p + 1 : NULL;
			if (!value) {
				if (i + 1 >= argc) {
					snprintf(error, error_size, "-%c (--%s) needs a value %s",
					         *p, o->name, o->metavar);
					return JIT_ERR_INVALID;
				}
				value = argv[++i];
			}
			if ((r = set_value(o, slot, value, error, error_size)) < 0)
				return r;
			break;
		}
	}
	return 0;
}

const char *
jit_cli_arg(const struct jit_cli *cli, const struct jit_cli_args *args, const char *name)
{
	int i = jit_cli_option_index(cli->command->options, name);
	return i < 0 ? NULL : args->values[i];
}

bool
jit_cli_flag(const struct jit_cli *cli, const struct jit_cli_args *args, const char *name)
{
	return jit_cli_arg(cli, args, name) != NULL;
}

int
jit_cli_parse_duration_flag(const char *flag, const char *value, int64_t *ret_seconds, char *error,
                            size_t error_size)
{
	char why[160] = "";
	int64_t s;

	if (jit_duration_parse(value, &s, why, sizeof why) < 0) {
		if (why[0])
			snprintf(error, error_size, "--%s: %s", flag, why);
		else
			snprintf(error, error_size,
			         "--%s: \"%.32s\" is not a duration such as 30m, 1h "
			         "or 2h30m",
			         flag, value);
		return JIT_ERR_INVALID;
	}
	*ret_seconds = s;
	return 0;
}

int
jit_cli_parse_count_flag(const char *flag, const char *value, int64_t max, int64_t *ret,
                         char *error, size_t error_size)
{
	char *end = NULL;
	long long n;

	errno = 0;
	if (value[0] < '0' || value[0] > '9' || (n = strtoll(value, &end, 10), errno) || *end ||
	    n < 1 || n > max) {
		snprintf(error, error_size, "--%s: \"%.32s\" is not a whole number from 1 to %lld",
		         flag, value, (long long)max);
		return JIT_ERR_INVALID;
	}
	*ret = n;
	return 0;
}

int
jit_cli_usage(const struct jit_cli *cli, const char *format, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, format);
	vsnprintf(line, sizeof line, format, ap);
	va_end(ap);
	fprintf(stderr, "jitsudo: %s (see `jitsudo %s --help`)\n", line,
	        cli && cli->command_path ? cli->command_path : "");
	return JIT_ERR_INVALID;
}

int
jit_cli_exit_code(int result)
{
	if (result >= 0)
		return result > 255 ? 255 : result;
	switch (result) {
	case JIT_ERR_INVALID:
		return JIT_CLI_EXIT_USAGE;
	case JIT_ERR_UNAVAILABLE:
	case JIT_ERR_TIMEOUT:
	case JIT_ERR_UPSTREAM:
		return JIT_CLI_EXIT_TEMPFAIL;
	default:
		return JIT_CLI_EXIT_REFUSED;
	}
}

int
jit_cli_check_id(const struct jit_cli *cli, const char *id, const char *what)
{
	size_t n = strlen(id);
	bool ok = n > 0 && n <= 128;
	for (const char *p = id; ok && *p; p++)
		ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
	if (!ok) {
		char shown[80];
		jit_cli_sanitize(id, shown, sizeof shown);
		return jit_cli_usage(cli, "\"%s\" is not a %s", shown, what);
	}
	return 0;
}
