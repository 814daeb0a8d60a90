/* Built-in functions: numbers group. (Being written; the table is filled as functions land.) */
#include "lib/rego/builtins.h"

const struct rego_builtin rego_builtins_numbers[] = {
	{ NULL, 0, 0, NULL },
};
