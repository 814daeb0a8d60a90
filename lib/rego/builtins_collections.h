/* Set algebra shared by the collections group (intersection, union, set_diff) and the numbers
 * group (the infix operators &, | and - on sets). Sets are sorted, so each operation is a
 * merge in linear time. */
#ifndef JIT_REGO_BUILTINS_COLLECTIONS_H
#define JIT_REGO_BUILTINS_COLLECTIONS_H

#include "lib/rego/value.h"

enum rego_set_operation {
	REGO_SET_INTERSECTION,
	REGO_SET_UNION,
	REGO_SET_DIFFERENCE, /* members of a that are not in b */
};

/* Combines two set values (the caller has checked both are sets). Returns the new set, one of
 * the operands when the result equals it, or NULL when the arena is out of memory. */
const struct rego_value *rego_set_combine(struct rego_arena *arena, const struct rego_value *a,
                                          const struct rego_value *b,
                                          enum rego_set_operation operation);

#endif
