/* Checks for text that people type and other people read: reasons, comments, and the identity
 * and group names in tokens. Refuses what can make one text look like another on a terminal
 * or a page (control characters, bidirectional overrides) and text that says nothing. */
#ifndef JIT_COMMON_USERTEXT_H
#define JIT_COMMON_USERTEXT_H

#include <stddef.h>

enum {
	/* No white space (nor invisible characters) at either end: names, not sentences. */
	JIT_TEXT_TRIMMED = 1 << 0,
};

/* NULL when the `len` bytes at `s` are valid UTF-8 that is not blank (not only white space
 * and invisible characters) and holds no control character (C0, DEL, C1, line and paragraph
 * separators) and no bidirectional formatting character (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069); with JIT_TEXT_TRIMMED it must also neither start nor end
 * with white space. Otherwise a static phrase naming the first problem, to follow the
 * field's name ("reason: holds a control character"). */
const char *jit_text_problem(const char *s, size_t len, unsigned rules);

#endif
