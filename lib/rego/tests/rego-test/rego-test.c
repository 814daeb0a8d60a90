/* rego-test: runs the unit tests written in Rego, as `opa test` does: every rule whose name
 * starts with "test_" in the given modules is evaluated and passes when its value is true.
 *   build/rego-test [--verbose] FILE.rego...
 * Prints PASS/FAIL per test and ends with "N passed, M failed"; exits 1 on any failure or when
 * no test was found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rego/compile.h"
#include "lib/rego/rego.h"

#define MODULE_MAX (4 * 1024 * 1024)

static char *
read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	char *buf = malloc(MODULE_MAX + 1);
	size_t n = buf ? fread(buf, 1, MODULE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf || n > MODULE_MAX) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*ret_len = n;
	return buf;
}

struct run {
	struct jit_rego_policy *policy;
	struct jit_rego_eval *eval;
	bool verbose;
	unsigned passed, failed;
};

/* Rule path of a node without the leading "data." */
static void
run_node(struct run *run, const struct doc_node *node)
{
	for (uint32_t i = 0; i < node->child_count; i++) {
		const struct doc_node *child = node->children[i];
		bool is_test = child->key->type == REGO_STRING &&
		               strncmp(child->key->u.string, "test_", 5) == 0 &&
		               (child->rule_count || child->default_rule) &&
		               !(child->rule_kind == CR_FUNCTION && child->arity > 0);
		if (is_test) {
			struct jit_rego_query *query;
			struct jit_rego_error error;
			const char *path = child->path + 5; /* "data." */
			bool ok = false;
			if (jit_rego_prepare_rule(run->policy, path, &query, &error) == 0) {
				if (jit_rego_eval_bool(run->eval, query, NULL, &ok, &error) < 0) {
					ok = false;
					printf("FAIL %s: %s\n", child->path, error.message);
				} else if (!ok) {
					printf("FAIL %s\n", child->path);
				}
				jit_rego_query_free(query);
			} else {
				printf("FAIL %s: %s\n", child->path, error.message);
			}
			if (ok) {
				run->passed++;
				if (run->verbose)
					printf("PASS %s\n", child->path);
			} else {
				run->failed++;
			}
		}
		run_node(run, child);
	}
}

int
main(int argc, char **argv)
{
	struct run run = { 0 };
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "--verbose") == 0) {
		run.verbose = true;
		first = 2;
	}
	if (first >= argc || strcmp(argv[first], "--help") == 0) {
		fprintf(stderr,
		        "usage: rego-test [--verbose] FILE.rego...\n"
		        "Evaluates every rule named test_* and passes it when it is true.\n");
		return first >= argc ? 2 : 0;
	}
	size_t n = (size_t)(argc - first);
	struct jit_rego_module_source *modules = calloc(n, sizeof(*modules));
	struct jit_rego_error error;
	int status = 1;
	if (!modules)
		return 1;
	for (size_t i = 0; i < n; i++) {
		modules[i].name = argv[first + (int)i];
		modules[i].text = read_file(modules[i].name, &modules[i].length);
		if (!modules[i].text) {
			fprintf(stderr, "rego-test: cannot read %s\n", modules[i].name);
			goto out;
		}
	}
	if (jit_rego_compile(modules, n, NULL, NULL, &run.policy, &error) < 0) {
		fprintf(stderr, "rego-test: %s\n", error.message);
		goto out;
	}
	if (jit_rego_eval_new(&run.eval) < 0)
		goto out;
	run_node(&run, run.policy->root);
	printf("%u passed, %u failed\n", run.passed, run.failed);
	if (run.passed + run.failed == 0)
		fprintf(stderr, "rego-test: no test_ rules found\n");
	else
		status = run.failed ? 1 : 0;
out:
	jit_rego_eval_free(run.eval);
	jit_rego_policy_free(run.policy);
	/* Modules not read yet have a NULL text (calloc). */
	for (size_t i = 0; i < n; i++)
		free((char *)modules[i].text);
	free(modules);
	return status;
}
