/* Built-in functions: clock group (being written; filled as functions land). */
#include "lib/rego/builtins.h"

const struct rego_builtin rego_builtins_clock[] = {
	{ NULL, 0, 0, NULL },
};
