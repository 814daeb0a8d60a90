/* Built-in functions: codec group (being written; filled as functions land). */
#include "lib/rego/builtins.h"

const struct rego_builtin rego_builtins_codec[] = {
	{ NULL, 0, 0, NULL },
};
