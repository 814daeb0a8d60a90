/* The parts of `jitsudo` every command shares: the command table and argument parser, the
 * settings (flags > environment > config.yaml > stored credentials), the API call that maps
 * HTTP answers to errors, and output (tables, JSON, YAML). It trusts neither its arguments nor
 * the server: both are checked and bounded; tokens and credentials are never printed. */
#ifndef JIT_CLI_CLI_H
#define JIT_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "cli/http.h"

#define JIT_CLI_VERSION "0.1.0"

/* Exit codes (the one translation is jit_cli_exit_code). */
#define JIT_CLI_EXIT_OK 0
#define JIT_CLI_EXIT_REFUSED 1
#define JIT_CLI_EXIT_USAGE 2
#define JIT_CLI_EXIT_TEMPFAIL 75

/* Added to the message of a refused connection to jitsudod. */
#define JIT_CLI_SERVER_DOWN_HINT "is jitsudod running there?"

#define JIT_CLI_DEFAULT_TIMEOUT_MS 30000
#define JIT_CLI_MAX_OPTIONS 24 /* per command, global flags included */
#define JIT_CLI_MAX_ARG 65536  /* longest accepted flag value or positional argument */

enum jit_cli_output {
	JIT_CLI_OUTPUT_TABLE,
	JIT_CLI_OUTPUT_JSON,
	JIT_CLI_OUTPUT_YAML,
};

/* One flag. `metavar` NULL: a boolean flag, which takes no value. */
struct jit_cli_option {
	const char *name; /* long name, without the dashes */
	char short_name;  /* 0: none */
	const char *metavar;
	const char *help;
	bool required;
};

#define JIT_CLI_FLAG(n, s, m, h)                                    \
	{                                                           \
		.name = n, .short_name = s, .metavar = m, .help = h \
	}
#define JIT_CLI_REQUIRED(n, s, m, h)                                                  \
	{                                                                             \
		.name = n, .short_name = s, .metavar = m, .help = h, .required = true \
	}

/* What the parser found: values[i] belongs to the command's options[i] (NULL: not given; ""
 * for a boolean flag that was given), then the positional words, then the words after "--". */
struct jit_cli_args {
	const char *values[JIT_CLI_MAX_OPTIONS];
	char **positional;
	int positional_count;
	char **rest;
	int rest_count;
	bool dashdash;
};

struct jit_cli;

struct jit_cli_command {
	const char *name;    /* "request", or "list" under "policy" */
	const char *summary; /* one line for the command list */
	const char *usage;   /* after "jitsudo " */
	const char *description;
	const char *examples;
	const struct jit_cli_option *options; /* ends with a zeroed entry; may be NULL */
	const char *positional_name;          /* "<request-id>", for messages */
	int min_positional;
	int max_positional;
	bool takes_command; /* words after "--" are a command to run */
	/* Returns a negative error (the message already printed) or a non-negative exit status. */
	int (*run)(struct jit_cli *cli, const struct jit_cli_args *args);
	const struct jit_cli_command *const *subcommands; /* NULL-terminated; run is NULL then */
};

/* The global flags, valid before or after any command. */
enum {
	JIT_CLI_GLOBAL_SERVER,
	JIT_CLI_GLOBAL_TOKEN,
	JIT_CLI_GLOBAL_OUTPUT,
	JIT_CLI_GLOBAL_QUIET,
	JIT_CLI_GLOBAL_DEBUG,
	JIT_CLI_GLOBAL_TIMEOUT,
	JIT_CLI_GLOBAL_CA_FILE,
	JIT_CLI_GLOBAL_HELP,
	JIT_CLI_GLOBAL_COUNT,
};
extern const struct jit_cli_option jit_cli_global_options[JIT_CLI_GLOBAL_COUNT + 1];
/* The option table of a command that has no flags of its own. */
extern const struct jit_cli_option jit_cli_no_options[1];

/* The settings of one run, resolved from flags, the environment and the config file. */
struct jit_cli {
	const char *argv0;
	char *server;      /* no trailing slash; NULL until resolved */
	char *token;       /* wiped on exit; NULL until resolved */
	char *config_path; /* the config file read (or that would be) */
	char *credentials_path;
	char *issuer;
	char *client_id;
	char *ca_file;
	enum jit_cli_output output;
	bool quiet;
	bool debug;
	int timeout_ms;
	bool token_from_flag_or_env;
	const struct jit_cli_command *command;
	const char *command_path; /* "policy apply" */
	const struct jit_cli_args *global;
};

/* ---- the command table (main.c and the cmd_*.c files) ---------------------------------- */

extern const struct jit_cli_command *const jit_cli_commands[];
extern const struct jit_cli_command jit_cli_cmd_login, jit_cli_cmd_logout, jit_cli_cmd_request,
        jit_cli_cmd_approve, jit_cli_cmd_deny, jit_cli_cmd_revoke, jit_cli_cmd_status,
        jit_cli_cmd_exec, jit_cli_cmd_shell, jit_cli_cmd_policy, jit_cli_cmd_audit,
        jit_cli_cmd_server;

/* Finds a command by name in a NULL-terminated table, or NULL. */
const struct jit_cli_command *jit_cli_command_find(const struct jit_cli_command *const *table,
                                                   const char *name);

/* ---- arguments (args.c) ------------------------------------------------------------------- */

/* Parses argv[0..argc) against `options` (zero-terminated; the global flags are matched after
 * them, their values going to global->values, which must be zeroed by the caller), accepting
 * "--name value", "--name=value", "-x value", "-xvalue" and bundled short booleans. Words after
 * "--" go to rest. Flags given twice, unknown flags, a missing value, a value given to a
 * boolean flag and more positional words than `max_positional` are usage errors: returns
 * JIT_ERR_INVALID with a message naming the flag in `error`. `args` points into argv. */
int jit_cli_parse_args(const struct jit_cli_option *options, int max_positional, int argc,
                       char **argv, struct jit_cli_args *args, struct jit_cli_args *global,
                       char *error, size_t error_size);

/* Index of the option named `name` in `options`, or -1. */
int jit_cli_option_index(const struct jit_cli_option *options, const char *name);

/* The value of option `name` of the current command (NULL when not given). */
const char *jit_cli_arg(const struct jit_cli *cli, const struct jit_cli_args *args,
                        const char *name);
bool jit_cli_flag(const struct jit_cli *cli, const struct jit_cli_args *args, const char *name);

/* Parses the value of --<flag> as a duration (lib/common/duration.h). A bad one prints
 * "jitsudo: --<flag>: <why>" and returns JIT_ERR_INVALID. */
int jit_cli_parse_duration_flag(const char *flag, const char *value, int64_t *ret_seconds,
                                char *error, size_t error_size);
/* Parses a positive integer of at most `max` for --<flag>, the same way. */
int jit_cli_parse_count_flag(const char *flag, const char *value, int64_t max, int64_t *ret,
                             char *error, size_t error_size);

/* An ID that goes into a URL path ("req_..." and policy IDs): 1-128 bytes of [A-Za-z0-9_-].
 * Anything else is a usage error naming `what`. */
int jit_cli_check_id(const struct jit_cli *cli, const char *id, const char *what);

/* A usage error for the current command: the message and a hint to --help; JIT_ERR_INVALID. */
int jit_cli_usage(const struct jit_cli *cli, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

/* The exit status of a command's result (see cli.h's exit codes). */
int jit_cli_exit_code(int result);

/* ---- help (help.c) ------------------------------------------------------------------------ */

/* Writes the help of `command` (NULL: the whole program) reached by `path` ("policy apply"). */
void jit_cli_help(FILE *out, const struct jit_cli_command *command, const char *path);

/* ---- settings (config.c) ------------------------------------------------------------------ */

/* Resolves the settings from the global flags, the environment and the config file into cli
 * (the server and token stay unresolved until jit_cli_need_server/token). A bad value prints
 * its error and returns JIT_ERR_INVALID. */
int jit_cli_settings_load(struct jit_cli *cli, const struct jit_cli_args *global);
void jit_cli_settings_free(struct jit_cli *cli);

/* Resolves the server URL (flag, environment, config, then the stored credentials). Prints
 * "no server" and returns JIT_ERR_INVALID when there is none. */
int jit_cli_need_server(struct jit_cli *cli);
/* Resolves the token (flag, environment, then the stored credentials via login.h). */
int jit_cli_need_token(struct jit_cli *cli);

/* ---- the API (api.c) ---------------------------------------------------------------------- */

/* Calls jitsudod: `method` on `path` ("/api/v1alpha1/requests"; query included), with `body`
 * as JSON unless NULL, the bearer token when `authenticated`. On a 2xx answer returns 0 and
 * sets *ret to the parsed JSON object (ret may be NULL). Otherwise prints one line with the
 * server's message and returns JIT_ERR_INVALID (400), JIT_ERR_UNAUTHENTICATED (401),
 * JIT_ERR_DENIED (403), JIT_ERR_NOT_FOUND (404), JIT_ERR_CONFLICT (409), JIT_ERR_UNAVAILABLE
 * (5xx, unreachable, silent past the timeout) or another negative code. With `quiet_errors`
 * nothing is printed. */
int jit_cli_api(struct jit_cli *cli, const char *method, const char *path, json_t *body,
                bool authenticated, json_t **ret);
int jit_cli_api_quiet(struct jit_cli *cli, const char *method, const char *path, json_t *body,
                      bool authenticated, json_t **ret, char *error, size_t error_size);

/* Lists a collection ("/api/v1alpha1/audit") with `query` ("" or "?a=b..."), following the
 * server's pages until `limit` items or the last page. On success *ret is a new array of the
 * items found under `list_key` in each page; errors are printed, as by jit_cli_api. */
int jit_cli_api_list(struct jit_cli *cli, const char *collection, const char *query,
                     const char *list_key, int64_t limit, json_t **ret);

/* Appends "name=<value percent-encoded>" to a query being built in buf (with '?' or '&'). */
int jit_cli_query_add(char *buf, size_t size, const char *name, const char *value);
/* Percent-encodes `text` for a path segment or query value. */
int jit_cli_url_escape(const char *text, char *buf, size_t size);

/* ---- output (output.c) -------------------------------------------------------------------- */

/* Prints "jitsudo: <message>" (one line) to stderr. */
void jit_cli_print_failure(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* jit_cli_fail(error, format, ...): prints "jitsudo: <message>" (one line) to stderr and
 * evaluates to `error` (evaluated once, before the message). A macro, so that callers and the
 * static analyzer, which does not follow calls into variadic functions, see which code comes
 * back. */
#define jit_cli_fail(error, ...)                    \
	({                                          \
		int _failure = (error);             \
		jit_cli_print_failure(__VA_ARGS__); \
		_failure;                           \
	})

/* Prints `json` as the chosen machine format (JSON indented, keys in the API's order; or YAML
 * through libyaml's emitter) to `out`. Returns 0 or a negative error. */
int jit_cli_print_json(FILE *out, const json_t *json);
int jit_cli_print_yaml(FILE *out, const json_t *json);
/* Prints json in cli->output's format; JIT_CLI_OUTPUT_TABLE is the caller's job (returns 1).
 * A write that fails prints "cannot write the output", except when the reader of standard
 * output went away: then it returns -EPIPE without a word (see jit_cli_output_closed). */
int jit_cli_print_machine(const struct jit_cli *cli, const json_t *json);

/* Whether nobody reads standard output any more: a pipe whose reader closed it (`jitsudo
 * status | head -1`), a socket whose peer left, a terminal that hung up. Does not block.
 * main() then ends quietly, as if killed by SIGPIPE, instead of reporting a write error. */
bool jit_cli_output_closed(void);

/* A table with aligned columns: add a header row then rows of the same width. Cells are
 * copied, control characters replaced by '?', each cut at 200 bytes. */
struct jit_cli_table {
	size_t columns;
	size_t rows;
	size_t capacity;
	char **cells; /* rows * columns */
};
int jit_cli_table_init(struct jit_cli_table *t, size_t columns);
int jit_cli_table_add(struct jit_cli_table *t, const char *const *cells);
/* Writes the rows, columns separated by two spaces, the last one not padded. */
void jit_cli_table_print(const struct jit_cli_table *t, FILE *out);
void jit_cli_table_free(struct jit_cli_table *t);

/* Copies `text` into buf with control characters (and invalid bytes) replaced by '?', so a
 * server cannot move the cursor or rewrite the terminal. */
void jit_cli_sanitize(const char *text, char *buf, size_t size);

/* "REQUEST_STATE_PENDING" -> "PENDING"; other strings unchanged. */
const char *jit_cli_short_state(const char *state);
/* A string member of an object, or "" (never NULL). */
const char *jit_cli_str(const json_t *object, const char *key);
/* A timestamp member of an object for a table column: whole seconds in UTC
 * ("2026-11-23T10:00:05Z", the same width on every row), or the text as it is when it is not
 * RFC 3339. Returns buf. */
const char *jit_cli_table_time(const json_t *object, const char *key, char *buf, size_t size);
/* "1h30m" for seconds > 0, "expired" otherwise. */
void jit_cli_format_left(int64_t seconds, char *buf, size_t size);

/* ---- shared by request and status ------------------------------------------------------- */

/* Prints the detail block of a request object (table format). */
void jit_cli_print_request_block(FILE *out, const json_t *request, bool full);

#endif
