/* Internal helpers shared by the strings group's files (builtins_strings*.c): Go-compatible
 * formatting for sprintf and the text/template subset of strings.render_template. Not part of
 * the engine's interface; everything allocates from the caller's arena. */
#ifndef JIT_REGO_BUILTINS_STRINGS_H
#define JIT_REGO_BUILTINS_STRINGS_H

#include "lib/rego/builtins.h"

/* Formats `args` (an array value) with Go fmt semantics as OPA's sprintf does: numbers become Go
 * ints, big ints or float64s, strings stay strings and every other value is passed as its Rego
 * text. Appends to `sb`; returns 0 or -ENOMEM. */
int rego_go_sprintf(struct rego_strbuf *sb, const char *format, size_t format_len,
                    const struct rego_value *args);

/* Appends strconv.Quote(s) (Go double-quoted string syntax). ascii_only escapes every non-ASCII
 * rune as strconv.QuoteToASCII does. */
int rego_go_quote(struct rego_strbuf *sb, const char *s, size_t len, bool ascii_only);

/* Appends a float64 the way Go's %v prints it (strconv 'g' with the shortest precision). */
int rego_go_format_float(struct rego_strbuf *sb, double v);

/* strings.render_template: renders `template` (Go text/template syntax, the subset OPA policies
 * use) with `vars` (an object). Returns 0 and sets *ret, or a negative code after recording an
 * error on ctx. */
int rego_render_template(struct rego_builtin_ctx *ctx, const struct rego_value *template,
                         const struct rego_value *vars, const struct rego_value **ret);

/* Converts a non-negative decimal digit string (no sign, no leading zeros unless "0") into
 * base 2, 8 or 16 digits, allocated in `arena`. Returns 0 or -ENOMEM. */
int rego_decimal_to_base(struct rego_arena *arena, const char *dec, size_t n, int base, bool upper,
                         char **ret, size_t *ret_len);

#endif
