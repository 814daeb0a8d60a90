/* rego-conformance: runs OPA's Rego conformance cases (YAML files) against jitsudo's engine and
 * prints a pass count per category. Trusts the case files only to be YAML; every case runs in
 * this process, bounded by the engine's own step budget, and frees everything it allocated.
 *   rego-conformance [--floor FILE] [--verbose] [--list-failures] [--filter SUBSTR] PATH... */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <yaml.h>

#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/rego/rego.h"
#include "lib/rego/value.h"
#include "lib/rego/tests/conformance/case_compare.h"

#define MAX_FILES 100000
#define MAX_MODULES 1024
#define MAX_DETAIL_LINE 1000 /* bytes of a value printed in a failure note */

struct category {
	char *name;
	unsigned passed, total;
};

struct runner {
	bool verbose;
	bool list_failures;
	const char *filter;
	struct jit_rego_eval *eval;
	struct rego_arena arena; /* per case; reset after each */
	struct category *categories;
	size_t category_count, category_capacity;
	unsigned passed, failed;
};

/* The fields of one case, pointing into the YAML document. */
struct test_case {
	const char *path;
	size_t index;
	const char *note;
	const char *query;
	yaml_node_t *modules, *data, *input, *input_term, *want_result;
	const char *want_error_code, *want_error;
	bool sort_bindings, strict_error, ignore_generated_vars, experimental_keywords;
};

/* What running a case produced. */
struct case_outcome {
	const char *stage; /* NULL on success, else "compile", "prepare", "input", "eval", "case" */
	struct jit_rego_error error;
	const struct rego_value *rows; /* normalised rows, when evaluation succeeded */
};

/* ---- categories ------------------------------------------------------------------------ */

/* The category of a case file is the name of its directory. */
static void
category_of(const char *path, const char **ret_start, size_t *ret_length)
{
	const char *end = strrchr(path, '/');
	if (!end) {
		*ret_start = ".";
		*ret_length = 1;
		return;
	}
	const char *start = end;
	while (start > path && start[-1] != '/')
		start--;
	*ret_start = start;
	*ret_length = (size_t)(end - start);
}

static struct category *
runner_category(struct runner *runner, const char *path)
{
	const char *name;
	size_t length;
	category_of(path, &name, &length);
	for (size_t i = runner->category_count; i-- > 0;) {
		struct category *c = &runner->categories[i];
		if (strlen(c->name) == length && memcmp(c->name, name, length) == 0)
			return c;
	}
	if (runner->category_count == runner->category_capacity) {
		size_t capacity = runner->category_capacity ? runner->category_capacity * 2 : 64;
		struct category *p = reallocarray(runner->categories, capacity, sizeof(*p));
		if (!p)
			return NULL;
		runner->categories = p;
		runner->category_capacity = capacity;
	}
	char *copy = strndup(name, length);
	if (!copy)
		return NULL;
	struct category *c = &runner->categories[runner->category_count++];
	*c = (struct category){ .name = copy };
	return c;
}

static int
category_compare(const void *a, const void *b)
{
	return strcmp(((const struct category *)a)->name, ((const struct category *)b)->name);
}

/* ---- YAML helpers ---------------------------------------------------------------------- */

static const char *
scalar_text(yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

static bool
scalar_is_true(struct rego_arena *arena, yaml_node_t *node)
{
	const struct rego_value *v;
	if (!node || node->type != YAML_SCALAR_NODE)
		return false;
	if (conformance_scalar_value(arena, (const char *)node->data.scalar.value,
	                             node->data.scalar.length,
	                             node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, &v) < 0)
		return false;
	return v == &rego_true_value;
}

static bool
node_is_null(struct rego_arena *arena, yaml_node_t *node)
{
	const struct rego_value *v;
	if (!node || node->type != YAML_SCALAR_NODE)
		return false;
	if (conformance_scalar_value(arena, (const char *)node->data.scalar.value,
	                             node->data.scalar.length,
	                             node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, &v) < 0)
		return false;
	return v == &rego_null_value;
}

static void
test_case_read(struct rego_arena *arena, yaml_document_t *document, yaml_node_t *node,
               struct test_case *tc)
{
	if (!node || node->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		const char *key = scalar_text(yaml_document_get_node(document, pair->key));
		yaml_node_t *value = yaml_document_get_node(document, pair->value);
		if (!key)
			continue;
		if (strcmp(key, "note") == 0)
			tc->note = scalar_text(value);
		else if (strcmp(key, "query") == 0)
			tc->query = scalar_text(value);
		else if (strcmp(key, "modules") == 0)
			tc->modules = value;
		else if (strcmp(key, "data") == 0)
			tc->data = value;
		else if (strcmp(key, "input") == 0)
			tc->input = value;
		else if (strcmp(key, "input_term") == 0)
			tc->input_term = value;
		else if (strcmp(key, "want_result") == 0)
			tc->want_result = value;
		else if (strcmp(key, "want_error_code") == 0)
			tc->want_error_code = scalar_text(value);
		else if (strcmp(key, "want_error") == 0)
			tc->want_error = scalar_text(value);
		else if (strcmp(key, "sort_bindings") == 0)
			tc->sort_bindings = scalar_is_true(arena, value);
		else if (strcmp(key, "strict_error") == 0)
			tc->strict_error = scalar_is_true(arena, value);
		else if (strcmp(key, "ignore_generated_vars") == 0)
			tc->ignore_generated_vars = scalar_is_true(arena, value);
		else if (strcmp(key, "experimental_keywords") == 0)
			tc->experimental_keywords = scalar_is_true(arena, value);
	}
}

/* ---- running a case -------------------------------------------------------------------- */

static enum jit_rego_syntax
syntax_of(const char *path)
{
	/* A path component "v0" or "v1" selects the syntax. */
	enum jit_rego_syntax syntax = JIT_REGO_SYNTAX_AUTO;
	const char *p = path;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 2 && p[0] == 'v' && p[1] == '0')
			syntax = JIT_REGO_SYNTAX_V0;
		else if (n == 2 && p[0] == 'v' && p[1] == '1')
			syntax = JIT_REGO_SYNTAX_V1;
		p = *end ? end + 1 : end;
	}
	return syntax;
}

static void
outcome_fail(struct case_outcome *outcome, const char *stage, const char *message)
{
	outcome->stage = stage;
	outcome->error.code = JIT_REGO_INVALID_ARGUMENT;
	snprintf(outcome->error.message, sizeof(outcome->error.message), "%s", message);
}

/* Converts a YAML node to a JSON text held in the arena. */
static const char *
yaml_to_json_text(struct rego_arena *arena, yaml_document_t *document, yaml_node_t *node,
                  size_t *ret_length)
{
	const struct rego_value *v;
	struct rego_strbuf sb;
	if (conformance_value_from_yaml(arena, document, node, &v) < 0)
		return NULL;
	rego_strbuf_init(&sb, arena);
	if (rego_format_json(&sb, v) < 0 || rego_strbuf_append(&sb, "", 0) < 0)
		return NULL;
	*ret_length = sb.length;
	return sb.data ? sb.data : "";
}

/* Builds the engine inputs from the case, evaluates it and fills *outcome. */
static void
case_execute(struct runner *runner, yaml_document_t *document, const struct test_case *tc,
             struct case_outcome *outcome)
{
	struct rego_arena *arena = &runner->arena;
	struct jit_rego_policy *policy = NULL;
	struct jit_rego_query *query = NULL;
	struct jit_rego_input *input = NULL;
	json_t *data = NULL, *results = NULL;
	struct jit_rego_module_source *modules = NULL;
	size_t module_count = 0;

	if (!tc->query) {
		outcome_fail(outcome, "case", "case has no query");
		goto out;
	}
	if (tc->modules && tc->modules->type == YAML_SEQUENCE_NODE) {
		size_t n = (size_t)(tc->modules->data.sequence.items.top -
		                    tc->modules->data.sequence.items.start);
		if (n > MAX_MODULES) {
			outcome_fail(outcome, "case", "too many modules");
			goto out;
		}
		modules = rego_arena_zalloc(arena, (n ? n : 1) * sizeof(*modules));
		if (!modules) {
			outcome_fail(outcome, "case", "out of memory");
			goto out;
		}
		for (size_t k = 0; k < n; k++) {
			yaml_node_t *m = yaml_document_get_node(
			        document, tc->modules->data.sequence.items.start[k]);
			struct rego_strbuf name;
			if (!m || m->type != YAML_SCALAR_NODE) {
				outcome_fail(outcome, "case", "a module is not a string");
				goto out;
			}
			rego_strbuf_init(&name, arena);
			/* Named as OPA's test driver names them: some expected messages quote it. */
			if (rego_strbuf_appendf(&name, "test-%zu.rego", k) < 0) {
				outcome_fail(outcome, "case", "out of memory");
				goto out;
			}
			modules[k] = (struct jit_rego_module_source){
				.name = name.data,
				.text = (const char *)m->data.scalar.value,
				.length = m->data.scalar.length,
			};
		}
		module_count = n;
	}
	if (tc->data && !node_is_null(arena, tc->data)) {
		const struct rego_value *v;
		if (conformance_value_from_yaml(arena, document, tc->data, &v) < 0 ||
		    !(data = rego_to_json(v))) {
			outcome_fail(outcome, "case", "cannot convert data");
			goto out;
		}
	}

	struct jit_rego_options options = {
		.syntax = syntax_of(tc->path),
		.strict_builtin_errors = tc->strict_error,
		.experimental_keywords = tc->experimental_keywords,
	};
	if (jit_rego_compile(modules, module_count, data, &options, &policy, &outcome->error) < 0) {
		outcome->stage = "compile";
		goto out;
	}
	if (jit_rego_prepare(policy, tc->query, &query, &outcome->error) < 0) {
		outcome->stage = "prepare";
		goto out;
	}
	if (tc->input_term) {
		const char *text = scalar_text(tc->input_term);
		if (!text) {
			outcome_fail(outcome, "case", "input_term is not a string");
			goto out;
		}
		if (jit_rego_input_from_rego(text, tc->input_term->data.scalar.length, &input,
		                             &outcome->error) < 0) {
			outcome->stage = "input";
			goto out;
		}
	} else if (tc->input && !node_is_null(arena, tc->input)) {
		size_t length;
		const char *text = yaml_to_json_text(arena, document, tc->input, &length);
		if (!text) {
			outcome_fail(outcome, "case", "cannot convert input");
			goto out;
		}
		if (jit_rego_input_from_text(text, length, &input, &outcome->error) < 0) {
			outcome->stage = "input";
			goto out;
		}
	}
	if (jit_rego_eval_query(runner->eval, query, input, &results, &outcome->error) < 0) {
		outcome->stage = "eval";
		goto out;
	}

	const struct rego_value *rows = rego_from_json(arena, results);
	struct conformance_row_options row_options = {
		.sort_bindings = tc->sort_bindings,
		.ignore_generated_vars = tc->ignore_generated_vars,
	};
	if (!rows || conformance_rows_normalize(arena, rows, &row_options, &outcome->rows) < 0)
		outcome_fail(outcome, "case", "results are not a list of binding rows");
out:
	json_decref(results);
	json_decref(data);
	jit_rego_input_free(input);
	jit_rego_query_free(query);
	jit_rego_policy_free(policy);
}

/* Appends `v` as compact JSON, cut at MAX_DETAIL_LINE bytes. */
static void
detail_value(struct rego_strbuf *sb, const struct rego_value *v)
{
	size_t start = sb->length;
	if (rego_format_json(sb, v) < 0)
		return;
	size_t n = sb->length - start;
	if (n > MAX_DETAIL_LINE) {
		sb->length = start + MAX_DETAIL_LINE;
		rego_strbuf_appendf(sb, "... (%zu bytes)", n);
	}
}

/* Decides whether the case passed; on failure and with --verbose, prints why. */
static bool
case_judge(struct runner *runner, yaml_document_t *document, const struct test_case *tc,
           const struct case_outcome *outcome)
{
	struct rego_arena *arena = &runner->arena;
	const struct rego_value *want_rows = NULL;
	const char *problem = NULL;
	bool passed;

	if (tc->want_error_code || tc->want_error) {
		/* An expected error wins over want_result: the case passes only by failing so. */
		const char *code = jit_rego_error_code_name(outcome->error.code);
		if (!outcome->stage)
			problem = "expected an error, got a result";
		else if (strcmp(outcome->stage, "case") == 0)
			problem = "the case could not be run";
		else if (tc->want_error_code && strcmp(code, tc->want_error_code) != 0)
			problem = "wrong error code";
		else if (tc->want_error && !strstr(outcome->error.message, tc->want_error))
			problem = "wrong error message";
		passed = !problem;
	} else if (outcome->stage) {
		problem = "unexpected error";
		passed = false;
	} else if (tc->want_result) {
		const struct rego_value *v;
		struct conformance_row_options row_options = {
			.sort_bindings = tc->sort_bindings,
			.ignore_generated_vars = tc->ignore_generated_vars,
		};
		if (conformance_value_from_yaml(arena, document, tc->want_result, &v) < 0 ||
		    conformance_rows_normalize(arena, v, &row_options, &want_rows) < 0) {
			problem = "want_result is not a list of binding rows";
			passed = false;
		} else {
			passed = conformance_rows_equal(want_rows, outcome->rows);
			if (!passed)
				problem = "wrong result";
		}
	} else {
		passed = true; /* no expectation beyond running without error */
	}
	if (passed)
		return true;

	if (runner->list_failures)
		printf("%s#%zu %s\n", tc->path, tc->index, tc->note ? tc->note : "");
	if (!runner->verbose)
		return false;

	struct rego_strbuf sb;
	rego_strbuf_init(&sb, arena);
	rego_strbuf_appendf(&sb, "FAIL %s#%zu %s: %s\n  query: %s\n", tc->path, tc->index,
	                    tc->note ? tc->note : "", problem, tc->query ? tc->query : "");
	if (tc->want_error_code || tc->want_error) {
		rego_strbuf_appendf(&sb, "  want error: %s \"%s\"\n",
		                    tc->want_error_code ? tc->want_error_code : "(any code)",
		                    tc->want_error ? tc->want_error : "");
	} else if (want_rows) {
		rego_strbuf_appendf(&sb, "  want: ");
		detail_value(&sb, want_rows);
		rego_strbuf_append(&sb, "\n", 1);
	}
	if (outcome->stage) {
		rego_strbuf_appendf(&sb, "  got %s error: %s: %s\n", outcome->stage,
		                    jit_rego_error_code_name(outcome->error.code),
		                    outcome->error.message);
	} else if (outcome->rows) {
		rego_strbuf_appendf(&sb, "  got:  ");
		detail_value(&sb, outcome->rows);
		rego_strbuf_append(&sb, "\n", 1);
	}
	if (sb.data)
		fwrite(sb.data, 1, sb.length, stdout);
	return false;
}

static bool
case_selected(const struct runner *runner, const struct test_case *tc)
{
	if (!runner->filter)
		return true;
	return strstr(tc->path, runner->filter) || (tc->note && strstr(tc->note, runner->filter));
}

static void
runner_record(struct runner *runner, const char *path, bool passed)
{
	struct category *c = runner_category(runner, path);
	if (c) {
		c->total++;
		c->passed += passed;
	}
	if (passed)
		runner->passed++;
	else
		runner->failed++;
}

/* Runs every case of one file. A file that cannot be read or parsed counts as one failure. */
static void
runner_file(struct runner *runner, const char *path)
{
	yaml_parser_t parser;
	yaml_document_t document;
	bool loaded = false;
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "rego-conformance: %s: %s\n", path, strerror(errno));
		runner_record(runner, path, false);
		return;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		runner_record(runner, path, false);
		return;
	}
	yaml_parser_set_input_file(&parser, f);
	loaded = yaml_parser_load(&parser, &document) != 0;
	if (!loaded) {
		fprintf(stderr, "rego-conformance: %s:%zu: %s\n", path,
		        parser.problem_mark.line + 1,
		        parser.problem ? parser.problem : "cannot parse YAML");
		runner_record(runner, path, false);
		goto out;
	}

	yaml_node_t *root = yaml_document_get_root_node(&document), *cases = NULL;
	if (root && root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
		     pair < root->data.mapping.pairs.top; pair++) {
			const char *key = scalar_text(yaml_document_get_node(&document, pair->key));
			if (key && strcmp(key, "cases") == 0)
				cases = yaml_document_get_node(&document, pair->value);
		}
	}
	if (!cases || cases->type != YAML_SEQUENCE_NODE) {
		fprintf(stderr, "rego-conformance: %s: no list of cases\n", path);
		runner_record(runner, path, false);
		goto out;
	}
	size_t index = 0;
	for (yaml_node_item_t *item = cases->data.sequence.items.start;
	     item < cases->data.sequence.items.top; item++, index++) {
		struct test_case tc = { .path = path, .index = index };
		struct case_outcome outcome = { 0 };
		test_case_read(&runner->arena, &document, yaml_document_get_node(&document, *item),
		               &tc);
		if (case_selected(runner, &tc)) {
			case_execute(runner, &document, &tc, &outcome);
			runner_record(runner, path, case_judge(runner, &document, &tc, &outcome));
		}
		rego_arena_reset(&runner->arena);
	}
out:
	if (loaded)
		yaml_document_delete(&document);
	yaml_parser_delete(&parser);
	fclose(f);
}

/* ---- collecting files ------------------------------------------------------------------ */

struct file_list {
	char **paths;
	size_t length, capacity;
};

static void
file_list_clear(struct file_list *list)
{
	for (size_t i = 0; i < list->length; i++)
		free(list->paths[i]);
	free(list->paths);
	*list = (struct file_list){ 0 };
}

static int
file_list_push(struct file_list *list, char *path)
{
	if (list->length >= MAX_FILES) {
		free(path);
		return JIT_ERR_TOO_LARGE;
	}
	if (list->length == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 256;
		char **p = reallocarray(list->paths, capacity, sizeof(*p));
		if (!p) {
			free(path);
			return -ENOMEM;
		}
		list->paths = p;
		list->capacity = capacity;
	}
	list->paths[list->length++] = path;
	return 0;
}

static bool
is_yaml_name(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int
collect(struct file_list *list, const char *path, int depth)
{
	struct stat st;
	if (depth > 32)
		return JIT_ERR_TOO_LARGE;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		char *copy = strdup(path);
		return copy ? file_list_push(list, copy) : -ENOMEM;
	}
	DIR *dir = opendir(path);
	if (!dir)
		return -errno;
	int r = 0;
	struct dirent *entry;
	while (r == 0 && (entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		char *child;
		size_t n = strlen(path);
		if (asprintf(&child, "%s%s%s", path, n && path[n - 1] == '/' ? "" : "/",
		             entry->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (stat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
			r = collect(list, child, depth + 1);
			free(child);
		} else if (is_yaml_name(entry->d_name)) {
			r = file_list_push(list, child);
		} else {
			free(child);
		}
	}
	closedir(dir);
	return r;
}

static int
path_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- main ------------------------------------------------------------------------------ */

static int
read_floor(const char *path, unsigned long *ret)
{
	char text[64];
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *end;
	errno = 0;
	unsigned long floor = strtoul(text, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (errno || end == text || *end != '\0' || text[0] == '-')
		return JIT_ERR_INVALID;
	*ret = floor;
	return 0;
}

static void
usage(FILE *out)
{
	fputs("usage: rego-conformance [--floor FILE] [--verbose] [--list-failures] "
	      "[--filter SUBSTR] DIR_OR_FILE...\n"
	      "  --floor FILE     fail (exit 1) when fewer cases pass than the number in FILE\n"
	      "  --verbose        explain every failing case\n"
	      "  --list-failures  print \"file#index note\" for every failing case\n"
	      "  --filter SUBSTR  run only cases whose path or note contains SUBSTR\n",
	      out);
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "floor", required_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list-failures", no_argument, NULL, 'l' },
		{ "filter", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct runner runner = { 0 };
	struct file_list files = { 0 };
	const char *floor_path = NULL;
	int c, r, status = 0;

	while ((c = getopt_long(argc, argv, "vhf:", long_options, NULL)) != -1) {
		switch (c) {
		case 'F':
			floor_path = optarg;
			break;
		case 'v':
			runner.verbose = true;
			break;
		case 'l':
			runner.list_failures = true;
			break;
		case 'f':
			runner.filter = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	unsigned long floor = 0;
	if (floor_path && (r = read_floor(floor_path, &floor)) < 0) {
		fprintf(stderr, "rego-conformance: %s: %s\n", floor_path,
		        r == JIT_ERR_INVALID ? "expected one non-negative integer" : strerror(-r));
		return 2;
	}

	if ((r = jit_rego_eval_new(&runner.eval)) < 0) {
		fprintf(stderr, "rego-conformance: cannot create an evaluation context (%d)\n", r);
		return 2;
	}
	rego_arena_init(&runner.arena, 0);

	for (int i = optind; i < argc; i++) {
		size_t first = files.length;
		if ((r = collect(&files, argv[i], 0)) < 0) {
			fprintf(stderr, "rego-conformance: %s: %s\n", argv[i],
			        r == JIT_ERR_TOO_LARGE ? "too many files or too deep"
			                               : strerror(-r));
			status = 2;
			goto out;
		}
		/* Nothing found leaves files.paths NULL, which qsort must not be given. */
		if (files.length > first)
			qsort(files.paths + first, files.length - first, sizeof(*files.paths),
			      path_compare);
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (size_t i = 0; i < files.length; i++)
		runner_file(&runner, files.paths[i]);
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (runner.verbose)
		fprintf(stderr, "rego-conformance: %u cases in %.2f s\n",
		        runner.passed + runner.failed,
		        (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);

	qsort(runner.categories, runner.category_count, sizeof(*runner.categories),
	      category_compare);
	for (size_t i = 0; i < runner.category_count; i++)
		printf("%s: %u/%u\n", runner.categories[i].name, runner.categories[i].passed,
		       runner.categories[i].total);
	printf("%u passed, %u failed\n", runner.passed, runner.failed);

	if (floor_path && runner.passed < floor) {
		fprintf(stderr,
		        "rego-conformance: %u cases passed, fewer than the floor of %lu in %s: "
		        "the engine regressed\n",
		        runner.passed, floor, floor_path);
		status = 1;
	} else if (floor_path && runner.passed > floor) {
		fprintf(stderr,
		        "rego-conformance: %u cases passed, more than the floor of %lu: raise it "
		        "with `echo %u > %s`\n",
		        runner.passed, floor, runner.passed, floor_path);
	}
out:
	file_list_clear(&files);
	for (size_t i = 0; i < runner.category_count; i++)
		free(runner.categories[i].name);
	free(runner.categories);
	rego_arena_free(&runner.arena);
	jit_rego_eval_free(runner.eval);
	fflush(stdout);
	return status;
}
