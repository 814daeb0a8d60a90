/* sprintf for Rego with Go's fmt semantics, as OPA passes the operands to fmt.Sprintf: integral
 * numbers are Go ints (or *big.Int beyond int64), other numbers float64, strings strings, and
 * every other value its Rego text. Verbs, flags, width, precision, argument indexes and the
 * "%!v(MISSING)"-style error forms follow Go. Trusts nothing in the format; widths and
 * precisions are bounded as Go bounds them (10^6) and output by REGO_VALUE_MAX_LENGTH. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rego/builtins_strings.h"

enum go_arg_kind {
	GO_INT,
	GO_BIG,
	GO_FLOAT,
	GO_STRING,
};

struct go_arg {
	enum go_arg_kind kind;
	int64_t integer;
	double real;
	const char *text; /* GO_STRING bytes; GO_BIG decimal digits with an optional '-' */
	size_t length;
};

struct go_flags {
	bool wid_present, prec_present;
	bool minus, plus, sharp, space, zero;
	bool plus_v, sharp_v;
	int wid, prec;
};

struct go_printer {
	struct rego_strbuf *sb;
	struct go_flags f;
	int error; /* sticky: first append failure */
};

#define GO_NUMBER_LIMIT 1000000

static const char lower_digits[] = "0123456789abcdefx";
static const char upper_digits[] = "0123456789ABCDEFX";

static void
out(struct go_printer *p, const char *s, size_t n)
{
	if (p->error == 0 && n > 0)
		p->error = rego_strbuf_append(p->sb, s, n);
}

static void
out_str(struct go_printer *p, const char *s)
{
	out(p, s, strlen(s));
}

static void
out_byte(struct go_printer *p, char c)
{
	out(p, &c, 1);
}

static void
out_rune(struct go_printer *p, uint32_t r)
{
	char buf[4];
	out(p, buf, rego_utf8_encode(r, buf));
}

/* Decodes one rune like Go's utf8.DecodeRuneInString: *invalid is set for a byte that starts no
 * valid sequence (width 1, value U+FFFD). */
static uint32_t
decode_rune(const char *s, size_t len, size_t *i, bool *invalid)
{
	size_t at = *i;
	uint32_t r = rego_utf8_next(s, len, i);
	*invalid = r == 0xfffd && *i == at + 1 && (unsigned char)s[at] >= 0x80;
	return r;
}

static size_t
rune_count(const char *s, size_t len)
{
	return rego_utf8_length(s, len);
}

/* unicode.IsPrint, approximated: every assigned graphic rune outside the ranges below. */
static bool
go_is_print(uint32_t r)
{
	if (r < 0x20)
		return false;
	if (r < 0x7f)
		return true;
	if (r <= 0xa0 || r == 0xad)
		return false;
	if (r > 0x10ffff || (r >= 0xd800 && r < 0xe000) || (r >= 0xe000 && r < 0xf900))
		return false;
	if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
	    (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0x1680 || r == 0x180e ||
	    r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) || r == 0x061c ||
	    (r >= 0x0600 && r <= 0x0605) || r == 0x06dd || r == 0x070f || r == 0x110bd ||
	    (r >= 0x1d173 && r <= 0x1d17a) || (r >= 0xe0000 && r <= 0xe0fff))
		return false;
	if ((r >= 0xfdd0 && r <= 0xfdef) || (r & 0xfffe) == 0xfffe)
		return false;
	if (r >= 0xf0000)
		return false;
	return true;
}

static void
append_hex(struct go_printer *p, const char *prefix, uint32_t v, int digits)
{
	char buf[16];
	out_str(p, prefix);
	for (int k = digits - 1; k >= 0; k--)
		buf[digits - 1 - k] = lower_digits[(v >> (4 * k)) & 0xf];
	out(p, buf, (size_t)digits);
}

static void
append_escaped_rune(struct go_printer *p, uint32_t r, char quote, bool ascii_only)
{
	if (r == (uint32_t)quote || r == '\\') {
		out_byte(p, '\\');
		out_byte(p, (char)r);
		return;
	}
	if (ascii_only ? (r < 0x80 && go_is_print(r)) : go_is_print(r)) {
		out_rune(p, r);
		return;
	}
	switch (r) {
	case '\a':
		out_str(p, "\\a");
		return;
	case '\b':
		out_str(p, "\\b");
		return;
	case '\f':
		out_str(p, "\\f");
		return;
	case '\n':
		out_str(p, "\\n");
		return;
	case '\r':
		out_str(p, "\\r");
		return;
	case '\t':
		out_str(p, "\\t");
		return;
	case '\v':
		out_str(p, "\\v");
		return;
	}
	if (r < ' ' || r == 0x7f)
		append_hex(p, "\\x", r, 2);
	else if (r > 0x10ffff || (r >= 0xd800 && r < 0xe000))
		append_hex(p, "\\u", 0xfffd, 4);
	else if (r < 0x10000)
		append_hex(p, "\\u", r, 4);
	else
		append_hex(p, "\\U", r, 8);
}

static void
append_quoted(struct go_printer *p, const char *s, size_t len, char quote, bool ascii_only)
{
	out_byte(p, quote);
	for (size_t i = 0; i < len;) {
		size_t at = i;
		bool invalid;
		uint32_t r = decode_rune(s, len, &i, &invalid);
		if (invalid)
			append_hex(p, "\\x", (unsigned char)s[at], 2);
		else
			append_escaped_rune(p, r, quote, ascii_only);
	}
	out_byte(p, quote);
}

int
rego_go_quote(struct rego_strbuf *sb, const char *s, size_t len, bool ascii_only)
{
	struct go_printer p = { .sb = sb };
	append_quoted(&p, s, len, '"', ascii_only);
	return p.error;
}

static bool
can_backquote(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		bool invalid;
		uint32_t r = decode_rune(s, len, &i, &invalid);
		if (invalid || r == 0xfeff)
			return false;
		if ((r < ' ' && r != '\t') || r == '`' || r == 0x7f)
			return false;
	}
	return true;
}

/* ---- padding ---------------------------------------------------------------------------- */

static void
write_padding(struct go_printer *p, long n)
{
	char pad = (p->f.zero && !p->f.minus) ? '0' : ' ';
	char chunk[64];
	memset(chunk, pad, sizeof(chunk));
	while (n > 0 && p->error == 0) {
		size_t k = n > (long)sizeof(chunk) ? sizeof(chunk) : (size_t)n;
		out(p, chunk, k);
		n -= (long)k;
	}
}

/* Appends s, padded to the width in runes (left unless '-'). */
static void
pad(struct go_printer *p, const char *s, size_t len)
{
	if (!p->f.wid_present || p->f.wid == 0) {
		out(p, s, len);
		return;
	}
	long width = (long)p->f.wid - (long)rune_count(s, len);
	if (!p->f.minus) {
		write_padding(p, width);
		out(p, s, len);
	} else {
		out(p, s, len);
		write_padding(p, width);
	}
}

/* Pads with the zero flag ignored (Go's "oldZero" dance). */
static void
pad_no_zero(struct go_printer *p, const char *s, size_t len)
{
	bool old = p->f.zero;
	p->f.zero = false;
	pad(p, s, len);
	p->f.zero = old;
}

/* ---- integers ---------------------------------------------------------------------------- */

/* Go's fmt.fmtInteger for one magnitude given as digits already in the target base. */
static void
fmt_integer_digits(struct go_printer *p, const char *digits, size_t ndigits, bool negative,
                   int base, char verb, bool upper)
{
	struct rego_strbuf tmp;
	struct go_printer q = { .sb = &tmp };
	rego_strbuf_init(&tmp, p->sb->arena);
	long prec = 0;
	bool is_zero = ndigits == 1 && digits[0] == '0';
	if (p->f.prec_present) {
		prec = p->f.prec;
		if (prec == 0 && is_zero) {
			bool old = p->f.zero;
			p->f.zero = false;
			write_padding(p, p->f.wid_present ? p->f.wid : 0);
			p->f.zero = old;
			return;
		}
	} else if (p->f.zero && !p->f.minus && p->f.wid_present) {
		prec = p->f.wid;
		if (negative || p->f.plus || p->f.space)
			prec--;
	}
	/* Build [sign][prefix][zeros][digits] front to back. */
	long zeros = prec > (long)ndigits ? prec - (long)ndigits : 0;
	bool leading_zero = zeros > 0 || digits[0] == '0';
	if (negative)
		out_byte(&q, '-');
	else if (p->f.plus)
		out_byte(&q, '+');
	else if (p->f.space)
		out_byte(&q, ' ');
	if (verb == 'O')
		out_str(&q, "0o");
	if (p->f.sharp) {
		if (base == 2)
			out_str(&q, "0b");
		else if (base == 8 && !leading_zero)
			out_byte(&q, '0');
		else if (base == 16)
			out_str(&q, upper ? "0X" : "0x");
	}
	/* Go writes "0o" after "0b"/"0x" (right to left); only octal combines, as "0o0". */
	for (long k = 0; k < zeros && q.error == 0; k++)
		out_byte(&q, '0');
	out(&q, digits, ndigits);
	if (q.error) {
		p->error = q.error;
		return;
	}
	pad_no_zero(p, tmp.data, tmp.length);
}

static size_t
u64_digits(uint64_t u, int base, bool upper, char *buf /* >= 65 */)
{
	const char *d = upper ? upper_digits : lower_digits;
	char rev[65];
	size_t n = 0;
	do {
		rev[n++] = d[u % (uint64_t)base];
		u /= (uint64_t)base;
	} while (u > 0);
	for (size_t k = 0; k < n; k++)
		buf[k] = rev[n - 1 - k];
	return n;
}

static void print_arg(struct go_printer *p, const struct go_arg *arg, uint32_t verb);

static void
bad_verb(struct go_printer *p, const struct go_arg *arg, uint32_t verb)
{
	static const char *const type_names[] = { "int", "*big.Int", "float64", "string" };
	out_str(p, "%!");
	out_rune(p, verb);
	out_byte(p, '(');
	out_str(p, type_names[arg->kind]);
	out_byte(p, '=');
	print_arg(p, arg, 'v');
	out_byte(p, ')');
}

static void
fmt_unicode(struct go_printer *p, uint64_t u)
{
	char digits[65];
	size_t n = u64_digits(u, 16, true, digits);
	struct rego_strbuf tmp;
	struct go_printer q = { .sb = &tmp };
	rego_strbuf_init(&tmp, p->sb->arena);
	long prec = 4;
	if (p->f.prec_present && p->f.prec > 4)
		prec = p->f.prec;
	out_str(&q, "U+");
	for (long k = (long)n; k < prec && q.error == 0; k++)
		out_byte(&q, '0');
	out(&q, digits, n);
	if (p->f.sharp && u <= 0x10ffff && go_is_print((uint32_t)u)) {
		out_str(&q, " '");
		out_rune(&q, (uint32_t)u);
		out_byte(&q, '\'');
	}
	if (q.error) {
		p->error = q.error;
		return;
	}
	pad_no_zero(p, tmp.data, tmp.length);
}

static void
fmt_int(struct go_printer *p, const struct go_arg *arg, uint32_t verb)
{
	int64_t v = arg->integer;
	bool negative = v < 0;
	uint64_t u = negative ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char digits[65];
	int base;
	bool upper = false;
	switch (verb) {
	case 'v':
	case 'd':
		base = 10;
		break;
	case 'b':
		base = 2;
		break;
	case 'o':
	case 'O':
		base = 8;
		break;
	case 'x':
		base = 16;
		break;
	case 'X':
		base = 16;
		upper = true;
		break;
	case 'c': {
		uint64_t c = (uint64_t)v;
		uint32_t r = c > 0x10ffff ? 0xfffd : (uint32_t)c;
		char buf[4];
		pad(p, buf, rego_utf8_encode(r, buf));
		return;
	}
	case 'q': {
		uint64_t c = (uint64_t)v;
		uint32_t r = c > 0x10ffff ? 0xfffd : (uint32_t)c;
		if (r >= 0xd800 && r < 0xe000)
			r = 0xfffd;
		struct rego_strbuf tmp;
		struct go_printer q = { .sb = &tmp };
		rego_strbuf_init(&tmp, p->sb->arena);
		char buf[4];
		size_t n = rego_utf8_encode(r, buf);
		if (p->f.sharp && can_backquote(buf, n)) {
			out_byte(&q, '`');
			out(&q, buf, n);
			out_byte(&q, '`');
		} else {
			out_byte(&q, '\'');
			append_escaped_rune(&q, r, '\'', p->f.plus);
			out_byte(&q, '\'');
		}
		if (q.error) {
			p->error = q.error;
			return;
		}
		pad(p, tmp.data, tmp.length);
		return;
	}
	case 'U':
		fmt_unicode(p, (uint64_t)v);
		return;
	default:
		bad_verb(p, arg, verb);
		return;
	}
	size_t n = u64_digits(u, base, upper, digits);
	fmt_integer_digits(p, digits, n, negative, base, (char)verb, upper);
}

int
rego_decimal_to_base(struct rego_arena *arena, const char *dec, size_t n, int base, bool upper,
                     char **ret, size_t *ret_len)
{
	const char *d = upper ? upper_digits : lower_digits;
	unsigned char *work = rego_arena_alloc(arena, n + 1);
	/* Each division step yields one digit; a base-2 result has at most ~3.33 digits per
	 * decimal digit. */
	size_t cap = n * 4 + 8;
	char *rev = rego_arena_alloc(arena, cap);
	if (!work || !rev)
		return -ENOMEM;
	size_t len = 0;
	for (size_t k = 0; k < n; k++)
		work[k] = (unsigned char)(dec[k] - '0');
	size_t start = 0;
	while (start < n && work[start] == 0)
		start++;
	while (start < n) {
		unsigned rem = 0;
		for (size_t k = start; k < n; k++) {
			unsigned cur = rem * 10 + work[k];
			work[k] = (unsigned char)(cur / (unsigned)base);
			rem = cur % (unsigned)base;
		}
		rev[len++] = d[rem];
		while (start < n && work[start] == 0)
			start++;
	}
	if (len == 0)
		rev[len++] = '0';
	char *res = rego_arena_alloc(arena, len + 1);
	if (!res)
		return -ENOMEM;
	for (size_t k = 0; k < len; k++)
		res[k] = rev[len - 1 - k];
	res[len] = '\0';
	*ret = res;
	*ret_len = len;
	return 0;
}

/* math/big's (*Int).Format. */
static void
fmt_big(struct go_printer *p, const struct go_arg *arg, uint32_t verb)
{
	int base;
	switch (verb) {
	case 'b':
		base = 2;
		break;
	case 'o':
	case 'O':
		base = 8;
		break;
	case 'd':
	case 's':
	case 'v':
		base = 10;
		break;
	case 'x':
	case 'X':
		base = 16;
		break;
	default:
		out_str(p, "%!");
		out_rune(p, verb);
		out_str(p, "(big.Int=");
		out(p, arg->text, arg->length);
		out_byte(p, ')');
		return;
	}
	bool negative = arg->length > 0 && arg->text[0] == '-';
	const char *dec = arg->text + (negative ? 1 : 0);
	size_t dec_len = arg->length - (negative ? 1 : 0);
	char *digits = (char *)dec;
	size_t ndigits = dec_len;
	if (base != 10) {
		int r = rego_decimal_to_base(p->sb->arena, dec, dec_len, base, verb == 'X', &digits,
		                             &ndigits);
		if (r < 0) {
			p->error = r;
			return;
		}
	}
	bool plus = p->f.plus || p->f.plus_v, sharp = p->f.sharp || p->f.sharp_v;
	const char *sign = negative ? "-" : plus ? "+" : p->f.space ? " " : "";
	const char *prefix = "";
	if (sharp) {
		if (verb == 'b')
			prefix = "0b";
		else if (verb == 'o')
			prefix = "0";
		else if (verb == 'x')
			prefix = "0x";
		else if (verb == 'X')
			prefix = "0X";
	}
	if (verb == 'O')
		prefix = "0o";
	long left = 0, zeros = 0, right = 0;
	if (p->f.prec_present && (long)ndigits < p->f.prec)
		zeros = p->f.prec - (long)ndigits;
	long length = (long)(strlen(sign) + strlen(prefix)) + zeros + (long)ndigits;
	if (p->f.wid_present && length < p->f.wid) {
		long d = p->f.wid - length;
		if (p->f.minus)
			right = d;
		else if (p->f.zero && !p->f.prec_present)
			zeros = d;
		else
			left = d;
	}
	for (long k = 0; k < left && p->error == 0; k++)
		out_byte(p, ' ');
	out_str(p, sign);
	out_str(p, prefix);
	for (long k = 0; k < zeros && p->error == 0; k++)
		out_byte(p, '0');
	out(p, digits, ndigits);
	for (long k = 0; k < right && p->error == 0; k++)
		out_byte(p, ' ');
}

/* ---- floats ------------------------------------------------------------------------------ */

/* Shortest decimal digits that read back as v (v >= 0): fills digits (no dot, no trailing
 * zeros) and the decimal exponent of the first digit. */
static void
shortest_digits(double v, char *digits, size_t *ndigits, int *exp10)
{
	char buf[48];
	for (int prec = 0; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	size_t n = 0;
	const char *c = buf;
	for (; *c && *c != 'e'; c++)
		if (*c >= '0' && *c <= '9')
			digits[n++] = *c;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*ndigits = n;
	*exp10 = *c == 'e' ? (int)strtol(c + 1, NULL, 10) : 0;
}

/* strconv.FormatFloat(|v|, verb, prec, 64) without the sign, into buf. */
static void
format_float_abs(double v, char verb, int prec, bool sharp, char *buf, size_t size)
{
	switch (verb) {
	case 'e':
	case 'E':
	case 'f':
	case 'F': {
		char f[8];
		snprintf(f, sizeof(f), "%%%s.*%c", sharp ? "#" : "", verb == 'F' ? 'f' : verb);
		snprintf(buf, size, f, prec < 0 ? 6 : prec, v);
		return;
	}
	case 'g':
	case 'G': {
		if (prec >= 0) {
			char f[8];
			snprintf(f, sizeof(f), "%%%s.*%c", sharp ? "#" : "", verb);
			snprintf(buf, size, f, prec == 0 ? 1 : prec, v);
			return;
		}
		char digits[32];
		size_t nd;
		int x;
		shortest_digits(v, digits, &nd, &x);
		if (sharp && nd <= 6) {
			snprintf(buf, size, verb == 'g' ? "%#.6g" : "%#.6G", v);
			return;
		}
		if (x < -4 || x >= 6) {
			snprintf(buf, size, verb == 'g' ? "%.*e" : "%.*E", (int)nd - 1, v);
			return;
		}
		long decimals = (long)nd - 1 - x;
		snprintf(buf, size, "%.*f", decimals > 0 ? (int)decimals : 0, v);
		return;
	}
	case 'x':
	case 'X': {
		char tmp[64];
		if (prec >= 0)
			snprintf(tmp, sizeof(tmp), verb == 'x' ? "%.*a" : "%.*A", prec, v);
		else
			snprintf(tmp, sizeof(tmp), verb == 'x' ? "%a" : "%A", v);
		/* Go writes at least two exponent digits: 0x1p+00. */
		char *e = strchr(tmp, verb == 'x' ? 'p' : 'P');
		if (e && (e[1] == '+' || e[1] == '-') && e[2] && !e[3])
			snprintf(buf, size, "%.*s%c%c0%c", (int)(e - tmp), tmp, e[0], e[1], e[2]);
		else
			snprintf(buf, size, "%s", tmp);
		return;
	}
	case 'b': {
		uint64_t bits;
		memcpy(&bits, &v, sizeof(bits));
		int exp = (int)((bits >> 52) & 0x7ff);
		uint64_t mant = bits & ((UINT64_C(1) << 52) - 1);
		if (exp == 0)
			exp++;
		else
			mant |= UINT64_C(1) << 52;
		exp += -1023 - 52;
		snprintf(buf, size, "%llup%c%d", (unsigned long long)mant, exp < 0 ? '-' : '+',
		         exp < 0 ? -exp : exp);
		return;
	}
	}
	buf[0] = '\0';
}

static void
fmt_float(struct go_printer *p, const struct go_arg *arg, uint32_t verb)
{
	int prec;
	char fverb;
	switch (verb) {
	case 'v':
		fverb = 'g';
		prec = -1;
		break;
	case 'b':
	case 'g':
	case 'G':
	case 'x':
	case 'X':
		fverb = (char)verb;
		prec = -1;
		break;
	case 'f':
	case 'e':
	case 'E':
		fverb = (char)verb;
		prec = 6;
		break;
	case 'F':
		fverb = 'f';
		prec = 6;
		break;
	default:
		bad_verb(p, arg, verb);
		return;
	}
	if (p->f.prec_present)
		prec = p->f.prec;
	double v = arg->real;
	/* %f of 1e308 needs 309 digits plus the precision. */
	size_t size = 400 + (size_t)(prec > 0 ? prec : 0);
	char *num = rego_arena_alloc(p->sb->arena, size + 1);
	if (!num) {
		p->error = -ENOMEM;
		return;
	}
	num[0] = signbit(v) ? '-' : '+';
	format_float_abs(fabs(v), fverb, prec, p->f.sharp && fverb != 'b', num + 1, size);
	if (p->f.space && num[0] == '+' && !p->f.plus)
		num[0] = ' ';
	size_t len = strlen(num);
	if (p->f.plus || num[0] != '+') {
		if (p->f.zero && !p->f.minus && p->f.wid_present && (size_t)p->f.wid > len) {
			out_byte(p, num[0]);
			write_padding(p, (long)p->f.wid - (long)len);
			out(p, num + 1, len - 1);
			return;
		}
		pad(p, num, len);
		return;
	}
	pad(p, num + 1, len - 1);
}

int
rego_go_format_float(struct rego_strbuf *sb, double v)
{
	struct go_printer p = { .sb = sb };
	struct go_arg arg = { .kind = GO_FLOAT, .real = v };
	fmt_float(&p, &arg, 'v');
	return p.error;
}

/* ---- strings ----------------------------------------------------------------------------- */

/* Byte length of the first `runes` runes of s. */
static size_t
truncate_runes(const char *s, size_t len, long runes)
{
	size_t i = 0;
	for (long n = 0; i < len && n < runes; n++)
		rego_utf8_next(s, len, &i);
	return i;
}

static void
fmt_string_hex(struct go_printer *p, const char *s, size_t len, bool upper)
{
	const char *d = upper ? upper_digits : lower_digits;
	size_t length = len;
	if (p->f.prec_present && (size_t)p->f.prec < length)
		length = (size_t)p->f.prec;
	long width = 2 * (long)length;
	if (width > 0) {
		if (p->f.space) {
			if (p->f.sharp)
				width *= 2;
			width += (long)length - 1;
		} else if (p->f.sharp) {
			width += 2;
		}
	} else {
		if (p->f.wid_present)
			write_padding(p, p->f.wid);
		return;
	}
	if (p->f.wid_present && p->f.wid > width && !p->f.minus)
		write_padding(p, p->f.wid - width);
	char prefix[2] = { '0', d[16] };
	if (p->f.sharp)
		out(p, prefix, 2);
	for (size_t i = 0; i < length && p->error == 0; i++) {
		if (p->f.space && i > 0) {
			out_byte(p, ' ');
			if (p->f.sharp)
				out(p, prefix, 2);
		}
		unsigned char c = (unsigned char)s[i];
		char pair[2] = { d[c >> 4], d[c & 0xf] };
		out(p, pair, 2);
	}
	if (p->f.wid_present && p->f.wid > width && p->f.minus)
		write_padding(p, p->f.wid - width);
}

static void
fmt_quoted_string(struct go_printer *p, const char *s, size_t len)
{
	if (p->f.prec_present)
		len = truncate_runes(s, len, p->f.prec);
	struct rego_strbuf tmp;
	struct go_printer q = { .sb = &tmp };
	rego_strbuf_init(&tmp, p->sb->arena);
	if (p->f.sharp && can_backquote(s, len)) {
		out_byte(&q, '`');
		out(&q, s, len);
		out_byte(&q, '`');
	} else {
		append_quoted(&q, s, len, '"', p->f.plus);
	}
	if (q.error) {
		p->error = q.error;
		return;
	}
	pad(p, tmp.data, tmp.length);
}

static void
fmt_string(struct go_printer *p, const struct go_arg *arg, uint32_t verb)
{
	const char *s = arg->text;
	size_t len = arg->length;
	switch (verb) {
	case 'v':
		if (p->f.sharp_v) {
			fmt_quoted_string(p, s, len);
			return;
		}
		/* fallthrough */
	case 's':
		if (p->f.prec_present)
			len = truncate_runes(s, len, p->f.prec);
		pad(p, s, len);
		return;
	case 'x':
	case 'X':
		fmt_string_hex(p, s, len, verb == 'X');
		return;
	case 'q':
		fmt_quoted_string(p, s, len);
		return;
	default:
		bad_verb(p, arg, verb);
	}
}

static void
print_arg(struct go_printer *p, const struct go_arg *arg, uint32_t verb)
{
	if (verb == 'T') {
		static const char *const type_names[] = { "int", "*big.Int", "float64", "string" };
		const char *name = type_names[arg->kind];
		pad(p, name, strlen(name));
		return;
	}
	if (verb == 'p') {
		bad_verb(p, arg, verb);
		return;
	}
	switch (arg->kind) {
	case GO_INT:
		fmt_int(p, arg, verb);
		return;
	case GO_BIG:
		fmt_big(p, arg, verb);
		return;
	case GO_FLOAT:
		fmt_float(p, arg, verb);
		return;
	case GO_STRING:
		fmt_string(p, arg, verb);
		return;
	}
}

/* ---- the format loop --------------------------------------------------------------------- */

static bool
too_large(long x)
{
	return x > GO_NUMBER_LIMIT || x < -GO_NUMBER_LIMIT;
}

/* Parses decimal digits at fmt[*i]; returns whether any were found. */
static bool
parse_num(const char *fmt, size_t *i, size_t end, int *ret)
{
	long num = 0;
	bool isnum = false;
	size_t at = *i;
	for (; at < end && fmt[at] >= '0' && fmt[at] <= '9'; at++) {
		if (too_large(num)) {
			*ret = 0;
			*i = end;
			return false;
		}
		num = num * 10 + (fmt[at] - '0');
		isnum = true;
	}
	*ret = (int)num;
	*i = at;
	return isnum;
}

struct go_state {
	size_t arg_num, nargs;
	bool reordered, good_arg_num;
};

/* Go's pp.argNumber: an explicit "[n]" index at fmt[*i]. Returns whether one was found. */
static bool
arg_number(struct go_state *st, const char *fmt, size_t *i, size_t end)
{
	if (*i >= end || fmt[*i] != '[')
		return false;
	st->reordered = true;
	/* parseArgNumber */
	size_t rest = end - *i;
	if (rest < 3) {
		*i += 1;
		st->good_arg_num = false;
		return false;
	}
	for (size_t k = 1; k < rest; k++) {
		if (fmt[*i + k] != ']')
			continue;
		size_t at = *i + 1;
		int width;
		bool ok = parse_num(fmt, &at, *i + k, &width);
		if (!ok || at != *i + k) {
			*i += k + 1;
			st->good_arg_num = false;
			return false;
		}
		long index = (long)width - 1;
		*i += k + 1;
		if (index >= 0 && (size_t)index < st->nargs) {
			st->arg_num = (size_t)index;
			return true;
		}
		st->good_arg_num = false;
		return true;
	}
	*i += 1;
	st->good_arg_num = false;
	return false;
}

static bool
int_from_arg(struct go_state *st, const struct go_arg *args, int *ret)
{
	bool is_int = false;
	*ret = 0;
	if (st->arg_num < st->nargs) {
		const struct go_arg *a = &args[st->arg_num];
		if (a->kind == GO_INT) {
			is_int = true;
			if (a->integer > GO_NUMBER_LIMIT || a->integer < -GO_NUMBER_LIMIT)
				is_int = false;
			else
				*ret = (int)a->integer;
		}
		st->arg_num++;
	}
	return is_int;
}

static int
convert_args(struct rego_strbuf *sb, const struct rego_value *array, struct go_arg **ret)
{
	struct go_arg *args = rego_arena_zalloc(sb->arena, sizeof(*args) * (array->length + 1));
	if (!args)
		return -ENOMEM;
	for (size_t k = 0; k < array->length; k++) {
		const struct rego_value *v = array->u.items[k];
		struct go_arg *a = &args[k];
		if (v->type == REGO_NUMBER && v->number_kind == REGO_NUM_INT) {
			a->kind = GO_INT;
			a->integer = v->u.integer;
		} else if (v->type == REGO_NUMBER && v->number_kind == REGO_NUM_BIG) {
			a->kind = GO_BIG;
			a->text = v->u.big;
			a->length = v->length;
		} else if (v->type == REGO_NUMBER) {
			a->kind = GO_FLOAT;
			a->real = v->u.real;
		} else if (v->type == REGO_STRING) {
			a->kind = GO_STRING;
			a->text = v->u.string;
			a->length = v->length;
		} else {
			struct rego_strbuf text;
			rego_strbuf_init(&text, sb->arena);
			int r = rego_format_rego(&text, v);
			if (r < 0)
				return r;
			a->kind = GO_STRING;
			a->text = text.data ? text.data : "";
			a->length = text.length;
		}
	}
	*ret = args;
	return 0;
}

int
rego_go_sprintf(struct rego_strbuf *sb, const char *fmt, size_t end, const struct rego_value *array)
{
	struct go_arg *args;
	int r = convert_args(sb, array, &args);
	if (r < 0)
		return r;
	struct go_printer p = { .sb = sb };
	struct go_state st = { .nargs = array->length };
	for (size_t i = 0; i < end && p.error == 0;) {
		st.good_arg_num = true;
		size_t last = i;
		while (i < end && fmt[i] != '%')
			i++;
		out(&p, fmt + last, i - last);
		if (i >= end)
			break;
		i++;
		memset(&p.f, 0, sizeof(p.f));
		for (; i < end; i++) {
			char c = fmt[i];
			if (c == '#')
				p.f.sharp = true;
			else if (c == '0')
				p.f.zero = !p.f.minus;
			else if (c == '+')
				p.f.plus = true;
			else if (c == '-') {
				p.f.minus = true;
				p.f.zero = false;
			} else if (c == ' ')
				p.f.space = true;
			else
				break;
		}
		bool after_index = arg_number(&st, fmt, &i, end);
		if (i < end && fmt[i] == '*') {
			i++;
			p.f.wid_present = int_from_arg(&st, args, &p.f.wid);
			if (!p.f.wid_present)
				out_str(&p, "%!(BADWIDTH)");
			if (p.f.wid < 0) {
				p.f.wid = -p.f.wid;
				p.f.minus = true;
				p.f.zero = false;
			}
			after_index = false;
		} else {
			p.f.wid_present = parse_num(fmt, &i, end, &p.f.wid);
			if (after_index && p.f.wid_present)
				st.good_arg_num = false;
		}
		if (i + 1 < end && fmt[i] == '.') {
			i++;
			if (after_index)
				st.good_arg_num = false;
			after_index = arg_number(&st, fmt, &i, end);
			if (i < end && fmt[i] == '*') {
				i++;
				p.f.prec_present = int_from_arg(&st, args, &p.f.prec);
				if (p.f.prec < 0) {
					p.f.prec = 0;
					p.f.prec_present = false;
				}
				if (!p.f.prec_present)
					out_str(&p, "%!(BADPREC)");
				after_index = false;
			} else {
				p.f.prec_present = parse_num(fmt, &i, end, &p.f.prec);
				if (!p.f.prec_present) {
					p.f.prec = 0;
					p.f.prec_present = true;
				}
			}
		}
		if (!after_index)
			arg_number(&st, fmt, &i, end);
		if (i >= end) {
			out_str(&p, "%!(NOVERB)");
			break;
		}
		uint32_t verb = rego_utf8_next(fmt, end, &i);
		if (verb == '%') {
			out_byte(&p, '%');
		} else if (!st.good_arg_num) {
			out_str(&p, "%!");
			out_rune(&p, verb);
			out_str(&p, "(BADINDEX)");
		} else if (st.arg_num >= st.nargs) {
			out_str(&p, "%!");
			out_rune(&p, verb);
			out_str(&p, "(MISSING)");
		} else if (verb == 'w') {
			/* Only fmt.Errorf accepts %w. */
			bad_verb(&p, &args[st.arg_num], verb);
			st.arg_num++;
		} else {
			if (verb == 'v') {
				p.f.sharp_v = p.f.sharp;
				p.f.sharp = false;
				p.f.plus_v = p.f.plus;
				p.f.plus = false;
			}
			print_arg(&p, &args[st.arg_num], verb);
			st.arg_num++;
		}
	}
	if (!st.reordered && st.arg_num < st.nargs && p.error == 0) {
		static const char *const type_names[] = { "int", "*big.Int", "float64", "string" };
		memset(&p.f, 0, sizeof(p.f));
		out_str(&p, "%!(EXTRA ");
		for (size_t k = st.arg_num; k < st.nargs; k++) {
			if (k > st.arg_num)
				out_str(&p, ", ");
			out_str(&p, type_names[args[k].kind]);
			out_byte(&p, '=');
			print_arg(&p, &args[k], 'v');
		}
		out_byte(&p, ')');
	}
	return p.error;
}
