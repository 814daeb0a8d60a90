/* Internal interface of the regex group (builtins_regex*.c): translation of Go's RE2 syntax,
 * which OPA's regex built-ins accept, into an equivalent PCRE2 pattern with Go's error
 * messages. Not part of the engine's interface. */
#ifndef JIT_REGO_BUILTINS_REGEX_H
#define JIT_REGO_BUILTINS_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/rego/arena.h"

/* Longest pattern accepted (Go has no limit but its program size; this bounds our work). */
#define REGO_REGEX_MAX_PATTERN (64u * 1024u)

struct rego_regex_translation {
	char *pattern; /* PCRE2 pattern text, NUL-terminated, in the arena */
	size_t length;
	uint32_t ncaptures;
	/* names[i] for capture group i (1-based; names[0] unused), NULL when unnamed; arena. */
	const char **names;
	/* On failure: Go's message, e.g. "error parsing regexp: missing closing ]: `[`". */
	char error[320];
};

/* Translates a Go regexp (syntax.Perl flags, as regexp.Compile) into a PCRE2 pattern meant to
 * be compiled with PCRE2_UTF | PCRE2_ALT_CIRCUMFLEX and LF newlines.
 * Returns 0, JIT_ERR_INVALID with out->error set when Go would reject the pattern, or
 * -ENOMEM. */
int rego_regex_translate(struct rego_arena *arena, const char *src, size_t len,
                         struct rego_regex_translation *out);

#endif
