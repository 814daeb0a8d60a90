/* Built-in functions: clock group. time.now_ns reads the query's clock, which the evaluator
 * takes once per query so every call in one evaluation agrees. */
#include "lib/rego/builtins.h"

static int
time_now_ns(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
            const struct rego_value **ret)
{
	*ret = rego_int(ctx->arena, ctx->now_ns);
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

const struct rego_builtin rego_builtins_clock[] = {
	{ "time.now_ns", 0, 0, time_now_ns },
	{ NULL, 0, 0, NULL },
};
