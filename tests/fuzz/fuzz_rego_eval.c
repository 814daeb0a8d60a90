/* Fuzz harness: the input is a Rego module, the line "#--input--", and a JSON input document.
 * The module is compiled, the query `data` prepared and evaluated with a small step budget and
 * a fixed clock. Checks that evaluation of hostile policies and inputs stays memory-safe,
 * bounded and leak-free; results and errors do not matter. */
#include <string.h>

#include "lib/rego/rego.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_INPUT (64 * 1024)

static const char separator[] = "\n#--input--\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t module_length = size;
	const char *input_text = NULL;
	size_t input_length = 0;
	struct jit_rego_options options = {
		.syntax = JIT_REGO_SYNTAX_AUTO,
		.max_steps = 20000,
		.max_depth = 64,
		.max_memory = 16u * 1024u * 1024u,
	};
	struct jit_rego_policy *policy = NULL;
	struct jit_rego_query *query = NULL;
	struct jit_rego_input *input = NULL;
	struct jit_rego_eval *eval = NULL;
	struct jit_rego_error error;
	json_t *results = NULL;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	const char *split = memmem(text, size, separator, sizeof(separator) - 1);
	if (split) {
		module_length = (size_t)(split - text);
		input_text = split + sizeof(separator) - 1;
		input_length = size - module_length - (sizeof(separator) - 1);
	}
	struct jit_rego_module_source module = {
		.name = "fuzz.rego",
		.text = text,
		.length = module_length,
	};

	if (jit_rego_compile(&module, 1, NULL, &options, &policy, &error) < 0)
		goto out;
	if (jit_rego_prepare(policy, "data", &query, &error) < 0)
		goto out;
	if (input_text && jit_rego_input_from_text(input_text, input_length, &input, &error) < 0)
		goto out;
	if (jit_rego_eval_new(&eval) < 0)
		goto out;
	jit_rego_eval_set_time(eval, 1700000000000000000);
	(void)jit_rego_eval_query(eval, query, input, &results, &error);
out:
	json_decref(results);
	jit_rego_eval_free(eval);
	jit_rego_input_free(input);
	jit_rego_query_free(query);
	jit_rego_policy_free(policy);
	return 0;
}
