/* Tiny text helpers shared by parsers. Header-only; no allocation. */
#ifndef JIT_TEXT_H
#define JIT_TEXT_H

/* Value of a hexadecimal digit (either case), or -1. */
static inline int
jit_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
