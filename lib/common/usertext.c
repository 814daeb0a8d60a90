/* Text people type for others to read: strict UTF-8, no controls, no bidi overrides, not
 * blank. Pure functions over caller buffers. */
#include "lib/common/usertext.h"

#include <stdbool.h>
#include <stdint.h>

/* Decodes one UTF-8 sequence at s[0..len); returns its length, or 0 when it is malformed
 * (overlong, a surrogate, past U+10FFFF, cut short). */
static size_t
decode(const unsigned char *s, size_t len, uint32_t *ret)
{
	if (s[0] < 0x80) {
		*ret = s[0];
		return 1;
	}
	size_t n;
	uint32_t c, min;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*ret = c;
	return n;
}

static bool
is_control(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}

static bool
is_bidi(uint32_t c)
{
	return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

/* White space, and characters that show nothing (zero-width ones, the byte order mark). */
static bool
is_blank(uint32_t c)
{
	return c == 0x20 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200d) ||
	       c == 0x202f || c == 0x205f || c == 0x2060 || c == 0x3000 || c == 0xfeff;
}

const char *
jit_text_problem(const char *s, size_t len, unsigned rules)
{
	const unsigned char *p = (const unsigned char *)s;
	bool seen_visible = false, last_blank = false;
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = decode(p + i, len - i, &c);
		if (n == 0)
			return "is not valid UTF-8";
		if (is_control(c))
			return "holds a control character";
		if (is_bidi(c))
			return "holds a bidirectional formatting character";
		last_blank = is_blank(c);
		if (last_blank && i == 0 && (rules & JIT_TEXT_TRIMMED))
			return "starts with white space";
		seen_visible = seen_visible || !last_blank;
		i += n;
	}
	if (!seen_visible)
		return len ? "is only white space" : "is empty";
	if (last_blank && (rules & JIT_TEXT_TRIMMED))
		return "ends with white space";
	return NULL;
}
