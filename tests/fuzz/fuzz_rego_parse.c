/* Fuzz harness: the input bytes are one Rego module, compiled with automatic syntax detection.
 * Checks that parsing and compiling hostile text never crashes, leaks or reads out of bounds;
 * whether the module compiles does not matter. */
#include "lib/rego/rego.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_MODULE (64 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jit_rego_module_source module = {
		.name = "fuzz.rego",
		.text = (const char *)data,
		.length = size,
	};
	struct jit_rego_options options = {
		.syntax = JIT_REGO_SYNTAX_AUTO,
		.max_steps = 100000,
		.max_memory = 16u * 1024u * 1024u,
	};
	struct jit_rego_policy *policy = NULL;
	struct jit_rego_error error;

	if (size > FUZZ_MAX_MODULE)
		return 0;
	if (jit_rego_compile(&module, 1, NULL, &options, &policy, &error) == 0)
		jit_rego_policy_free(policy);
	return 0;
}
