/* The conformance runner's data handling, kept apart from the engine so it can be unit-tested:
 * YAML nodes to Rego values (plain scalars resolved as Go's YAML decoder does), and result rows
 * compared the way OPA's test runner compares them. Trusts the YAML files only to be YAML;
 * nesting is bounded by CONFORMANCE_MAX_DEPTH. */
#ifndef JIT_CONFORMANCE_CASE_COMPARE_H
#define JIT_CONFORMANCE_CASE_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "lib/rego/value.h"

#define CONFORMANCE_MAX_DEPTH 256

/* Resolves a scalar to a Rego value. `plain` is true for unquoted scalars, which are resolved:
 * null (empty, ~, null, Null, NULL), booleans (true/True/TRUE, false/False/FALSE), integers
 * (decimal of any size, kept exactly; 0x hex, 0o and leading-0 octal, 0b binary), floats, and
 * otherwise strings. Quoted and block scalars are always strings. Returns 0 and sets *ret
 * (arena-owned), or -ENOMEM. */
int conformance_scalar_value(struct rego_arena *arena, const char *text, size_t length, bool plain,
                             const struct rego_value **ret);

/* Converts a YAML node of `document` to a Rego value in `arena`. Mapping keys become strings
 * (a resolved non-string key becomes its JSON text, as OPA's YAML loader does). Returns 0 and
 * sets *ret, -ENOMEM, or JIT_ERR_INVALID (non-scalar key, nesting too deep). */
int conformance_value_from_yaml(struct rego_arena *arena, yaml_document_t *document,
                                yaml_node_t *node, const struct rego_value **ret);

struct conformance_row_options {
	bool sort_bindings;         /* sort every array binding */
	bool ignore_generated_vars; /* drop bindings named __localq... */
};

/* Normalises result rows: `rows` must be an array of objects (var -> value). Applies the
 * options and returns in *ret the rows as an array in Rego order with duplicates removed (rows
 * compare as a set). Returns 0, -ENOMEM, or JIT_ERR_INVALID when a row is not an object. */
int conformance_rows_normalize(struct rego_arena *arena, const struct rego_value *rows,
                               const struct conformance_row_options *options,
                               const struct rego_value **ret);

/* Value equality for expected-versus-actual: rego_equal, except that a big integer equals a
 * float when both are the same double (results arrive through JSON, where big integers are
 * doubles). */
bool conformance_value_equal(const struct rego_value *a, const struct rego_value *b);

/* Compares two normalised row sets (from conformance_rows_normalize): true when every row of
 * one has an equal row in the other. */
bool conformance_rows_equal(const struct rego_value *want, const struct rego_value *got);

#endif
