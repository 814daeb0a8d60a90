/* Built-in functions: encoding group. (Being written; the table is filled as functions land.) */
#include "lib/rego/builtins.h"

const struct rego_builtin rego_builtins_encoding[] = {
	{ NULL, 0, 0, NULL },
};
