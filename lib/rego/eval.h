/* The evaluator's state and entry points (internal). One state per thread; it owns the
 * evaluation arena, the rule caches and the bounds (steps, depth, memory). */
#ifndef JIT_REGO_EVAL_H
#define JIT_REGO_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/rego/compile.h"
#include "lib/rego/types.h"

struct eval_cache_entry {
	uint32_t generation;
	uint8_t state;                  /* 0 empty, 1 computing, 2 done */
	const struct rego_value *value; /* NULL: undefined */
};

struct eval_mock;
struct eval_memo;

struct rego_eval {
	struct rego_arena arena;
	const struct jit_rego_policy *policy;
	const struct rego_value *input; /* NULL when undefined */
	const struct rego_value *data;  /* base document */
	struct eval_cache_entry *cache;
	uint32_t cache_capacity;
	uint32_t generation, next_generation;
	const struct rego_value **node_override; /* by node id, for `with data...` */
	uint32_t override_capacity;
	uint32_t override_count;
	struct eval_mock *mocks;
	struct eval_memo *memo;
	uint64_t steps, max_steps;
	uint32_t depth, max_depth;
	uint32_t nesting; /* pending expressions and terms on the C stack */
	bool strict;
	int64_t now_ns, fixed_now_ns;
	uint64_t seed;
	const char *module; /* module of the rule being evaluated, for messages */
	enum jit_rego_error_code error_code;
	char error_message[512];
};

typedef int (*rego_result_fn)(struct rego_eval *ev, const struct rego_value **slots, void *ctx);

/* Prepares `ev` for one evaluation of `policy` with `input` (NULL = undefined): resets the
 * arena and caches, takes the clock. */
int rego_eval_begin(struct rego_eval *ev, const struct jit_rego_policy *policy,
                    const struct rego_value *input);
/* Evaluates a compiled query body; calls `fn` with the frame for each solution. Returns 0,
 * or a negative code with ev->error_code / error_message set. */
int rego_eval_query_body(struct rego_eval *ev, const struct jit_rego_query *query,
                         rego_result_fn fn, void *ctx);
/* Evaluates the document at `node` (a rule, a package or base data) into *ret (NULL when
 * undefined). */
int rego_eval_node(struct rego_eval *ev, struct doc_node *node, const struct rego_value **ret);
void rego_eval_release(struct rego_eval *ev);

#endif
