/* Go RE2 syntax (regexp/syntax with the Perl flags regexp.Compile uses) translated into a
 * PCRE2 pattern with the same meaning, rejecting what Go rejects with Go's error text. Every
 * literal is re-emitted escaped, Perl classes become explicit ASCII sets (Go's \d \s \w are
 * ASCII), and constructs PCRE2 has but Go lacks (backreferences, lookaround, possessive or
 * stacked quantifiers, \C, \Z, ...) are errors. The pattern is untrusted: nesting, repeat
 * counts and length are bounded as Go bounds them. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/rego/builtins.h"
#include "lib/rego/builtins_regex.h"

#define MAX_NESTING 1000
#define MAX_REPEAT 1000

enum atom_kind {
	ATOM_NONE = 0, /* start of pattern, after '(' or '|': a repeat has no argument */
	ATOM_PLAIN,
	ATOM_ASSERTION, /* empty-width: PCRE2 wants it wrapped before a quantifier */
};

struct group {
	size_t out_start;
	uint32_t max_weight;
	bool multiline; /* the (?m) state to restore at ')' */
};

struct translator {
	struct rego_arena *arena;
	const char *src;
	size_t len, pos;
	struct rego_strbuf out;
	struct rego_regex_translation *res;
	int error; /* 0, or the first error: always negative */
	struct group *groups;
	size_t depth;
	uint32_t top_weight;
	enum atom_kind last_kind;
	size_t last_start;
	uint32_t last_weight;
	size_t last_repeat; /* src offset of the previous repeat operator, or SIZE_MAX */
	bool multiline;     /* (?m): ^ and $ match at line boundaries */
	const char **names;
	size_t names_cap;
};

struct rune_range {
	uint32_t lo, hi;
};

static const struct rune_range digit_ranges[] = { { '0', '9' } };
static const struct rune_range word_ranges[] = {
	{ '0', '9' }, { 'A', 'Z' }, { '_', '_' }, { 'a', 'z' }
};
static const struct rune_range space_ranges[] = { { '\t', '\n' }, { '\f', '\r' }, { ' ', ' ' } };

/* Records the first error; returns it (negative). */
static int
fail(struct translator *t, const char *code, size_t start, size_t end)
{
	if (t->error >= 0) {
		snprintf(t->res->error, sizeof(t->res->error), "error parsing regexp: %s: `%.*s`",
		         code, (int)(end - start), t->src + start);
		t->error = JIT_ERR_INVALID;
	}
	return t->error;
}

static void
emit(struct translator *t, const char *s, size_t n)
{
	if (t->error == 0 && rego_strbuf_append(&t->out, s, n) < 0)
		t->error = -ENOMEM;
}

static void
emit_str(struct translator *t, const char *s)
{
	emit(t, s, strlen(s));
}

static bool
is_ascii_alnum(uint32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A code point as PCRE2 reads it literally, in or out of a class. */
static void
emit_rune(struct translator *t, uint32_t r)
{
	if (is_ascii_alnum(r)) {
		char c = (char)r;
		emit(t, &c, 1);
		return;
	}
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "\\x{%x}", r);
	emit(t, buf, (size_t)n);
}

static void
emit_ranges(struct translator *t, const struct rune_range *r, size_t n, bool negate)
{
	if (!negate) {
		for (size_t k = 0; k < n; k++) {
			emit_rune(t, r[k].lo);
			if (r[k].hi != r[k].lo) {
				emit(t, "-", 1);
				emit_rune(t, r[k].hi);
			}
		}
		return;
	}
	/* The complement over all code points; ranges are sorted and disjoint. */
	uint32_t next = 0;
	for (size_t k = 0; k <= n; k++) {
		uint32_t lo = k < n ? r[k].lo : 0x110000;
		if (lo > next) {
			emit_rune(t, next);
			if (lo - 1 != next) {
				emit(t, "-", 1);
				emit_rune(t, lo - 1);
			}
		}
		if (k < n)
			next = r[k].hi + 1;
	}
}

/* Decodes one rune at t->pos (Go's nextRune), failing on invalid UTF-8. */
static int
next_rune(struct translator *t, size_t *pos, uint32_t *ret)
{
	size_t at = *pos;
	uint32_t r = rego_utf8_next(t->src, t->len, pos);
	if (r == 0xfffd && *pos == at + 1 && (unsigned char)t->src[at] >= 0x80)
		return fail(t, "invalid UTF-8", at, t->len);
	*ret = r;
	return 0;
}

static int
unhex(uint32_t c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return -1;
}

/* Go's parseEscape: a single-character escape at t->src[*pos] == '\\'. */
static int
parse_escape(struct translator *t, size_t *pos, uint32_t *ret)
{
	size_t start = *pos, i = *pos + 1;
	if (i >= t->len)
		return fail(t, "trailing backslash at end of expression", 0, 0);
	uint32_t c;
	if (next_rune(t, &i, &c) < 0)
		return t->error;
	switch (c) {
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
		/* A single non-zero digit is a backreference: not supported. */
		if (i >= t->len || t->src[i] < '0' || t->src[i] > '7')
			break;
		/* fallthrough */
	case '0': {
		uint32_t r = c - '0';
		for (int k = 1; k < 3; k++) {
			if (i >= t->len || t->src[i] < '0' || t->src[i] > '7')
				break;
			r = r * 8 + (uint32_t)(t->src[i] - '0');
			i++;
		}
		*ret = r;
		*pos = i;
		return 0;
	}
	case 'x': {
		if (i >= t->len)
			break;
		uint32_t d = 0;
		if (next_rune(t, &i, &d) < 0)
			return t->error;
		if (d == '{') {
			int nhex = 0;
			uint32_t r = 0;
			for (;;) {
				if (i >= t->len)
					goto invalid;
				if (next_rune(t, &i, &d) < 0)
					return t->error;
				if (d == '}')
					break;
				int v = unhex(d);
				if (v < 0)
					goto invalid;
				r = r * 16 + (uint32_t)v;
				if (r > 0x10ffff)
					goto invalid;
				nhex++;
			}
			if (nhex == 0)
				goto invalid;
			*ret = r;
			*pos = i;
			return 0;
		}
		int x = unhex(d);
		if (i >= t->len)
			goto invalid;
		if (next_rune(t, &i, &d) < 0)
			return t->error;
		int y = unhex(d);
		if (x < 0 || y < 0)
			goto invalid;
		*ret = (uint32_t)(x * 16 + y);
		*pos = i;
		return 0;
	}
	case 'a':
		*ret = '\a';
		*pos = i;
		return 0;
	case 'f':
		*ret = '\f';
		*pos = i;
		return 0;
	case 'n':
		*ret = '\n';
		*pos = i;
		return 0;
	case 'r':
		*ret = '\r';
		*pos = i;
		return 0;
	case 't':
		*ret = '\t';
		*pos = i;
		return 0;
	case 'v':
		*ret = '\v';
		*pos = i;
		return 0;
	default:
		if (c < 0x80 && !is_ascii_alnum(c)) {
			*ret = c;
			*pos = i;
			return 0;
		}
		break;
	}
invalid:
	return fail(t, "invalid escape sequence", start, i);
}

static const char *const go_categories[] = {
	"C",  "Cc", "Cf", "Co", "Cs", "L",  "Ll", "Lm", "Lo", "Lt", "Lu", "M",
	"Mc", "Me", "Mn", "N",  "Nd", "Nl", "No", "P",  "Pc", "Pd", "Pe", "Pf",
	"Pi", "Po", "Ps", "S",  "Sc", "Sk", "Sm", "So", "Z",  "Zl", "Zp", "Zs",
};

/* Whether Go knows the Unicode class name: a category, "Any", or a script name such as Greek
 * or Old_Italic (those PCRE2 knows too; PCRE2's abbreviations and other properties have a
 * shape Go's names lack only partly, so this is an approximation). */
static bool
unicode_name_known(const char *name, size_t n)
{
	if (n == 3 && memcmp(name, "Any", 3) == 0)
		return true;
	for (size_t k = 0; k < sizeof(go_categories) / sizeof(go_categories[0]); k++)
		if (strlen(go_categories[k]) == n && memcmp(go_categories[k], name, n) == 0)
			return true;
	if (n < 2 || name[0] < 'A' || name[0] > 'Z')
		return false;
	for (size_t k = 0; k < n; k++) {
		char c = name[k];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'))
			return false;
	}
	char probe[80];
	if (n > sizeof(probe) - 8)
		return false;
	int len = snprintf(probe, sizeof(probe), "\\p{%.*s}", (int)n, name);
	int error;
	PCRE2_SIZE offset;
	pcre2_code *code =
	        pcre2_compile((PCRE2_SPTR)probe, (PCRE2_SIZE)len, PCRE2_UTF, &error, &offset, NULL);
	if (!code)
		return false;
	pcre2_code_free(code);
	return true;
}

/* Go's parseUnicodeClass at \p or \P; emits \p{Name} or \P{Name}. */
static int
parse_unicode_class(struct translator *t, size_t *pos)
{
	size_t start = *pos, i = *pos + 2;
	bool negate = t->src[*pos + 1] == 'P';
	const char *name;
	size_t name_len;
	uint32_t c;
	if (i >= t->len)
		return fail(t, "invalid character class range", start, t->len);
	size_t name_start = i;
	if (next_rune(t, &i, &c) < 0)
		return t->error;
	size_t seq_end;
	if (c != '{') {
		name = t->src + name_start;
		name_len = i - name_start;
		seq_end = i;
	} else {
		const char *close = memchr(t->src + start, '}', t->len - start);
		if (!close)
			return fail(t, "invalid character class range", start, t->len);
		seq_end = (size_t)(close - t->src) + 1;
		name = t->src + start + 3;
		name_len = (size_t)(close - name);
		i = seq_end;
	}
	if (name_len > 0 && name[0] == '^') {
		negate = !negate;
		name++;
		name_len--;
	}
	if (!unicode_name_known(name, name_len))
		return fail(t, "invalid character class range", start, seq_end);
	emit_str(t, negate ? "\\P{" : "\\p{");
	emit(t, name, name_len);
	emit(t, "}", 1);
	*pos = i;
	return 0;
}

/* \d \D \s \S \w \W at pos: emits the set (as class members when in_class). */
static bool
parse_perl_class(struct translator *t, size_t *pos, bool in_class)
{
	if (*pos + 1 >= t->len || t->src[*pos] != '\\')
		return false;
	char c = t->src[*pos + 1];
	const struct rune_range *r;
	size_t n;
	switch (c) {
	case 'd':
	case 'D':
		r = digit_ranges;
		n = sizeof(digit_ranges) / sizeof(digit_ranges[0]);
		break;
	case 's':
	case 'S':
		r = space_ranges;
		n = sizeof(space_ranges) / sizeof(space_ranges[0]);
		break;
	case 'w':
	case 'W':
		r = word_ranges;
		n = sizeof(word_ranges) / sizeof(word_ranges[0]);
		break;
	default:
		return false;
	}
	bool negate = c == 'D' || c == 'S' || c == 'W';
	if (in_class) {
		emit_ranges(t, r, n, negate);
	} else {
		emit_str(t, negate ? "[^" : "[");
		emit_ranges(t, r, n, false);
		emit(t, "]", 1);
	}
	*pos += 2;
	return true;
}

/* Go's parseNamedClass: "[:alpha:]" or "[:^alpha:]" at pos. Returns 1 when parsed, 0 when
 * not a named class, negative on error. */
static int
parse_named_class(struct translator *t, size_t *pos)
{
	static const char *const names[] = { "alnum", "alpha", "ascii", "blank", "cntrl",
		                             "digit", "graph", "lower", "print", "punct",
		                             "space", "upper", "word",  "xdigit" };
	size_t i = *pos;
	if (i + 2 >= t->len || t->src[i] != '[' || t->src[i + 1] != ':')
		return 0;
	const char *end = memmem(t->src + i + 2, t->len - i - 2, ":]", 2);
	if (!end)
		return 0;
	size_t stop = (size_t)(end - t->src) + 2;
	const char *name = t->src + i + 2;
	size_t n = (size_t)(end - name);
	if (n > 0 && name[0] == '^') {
		name++;
		n--;
	}
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (strlen(names[k]) == n && memcmp(names[k], name, n) == 0) {
			emit(t, t->src + i, stop - i);
			*pos = stop;
			return 1;
		}
	}
	return fail(t, "invalid character class range", i, stop);
}

/* Go's parseClassChar: one class member rune. */
static int
parse_class_char(struct translator *t, size_t *pos, size_t class_start, uint32_t *ret)
{
	if (*pos >= t->len)
		return fail(t, "missing closing ]", class_start, t->len);
	if (t->src[*pos] == '\\')
		return parse_escape(t, pos, ret);
	return next_rune(t, pos, ret);
}

/* Go's parseClass at '['. */
static int
parse_class(struct translator *t)
{
	size_t start = t->pos, i = t->pos + 1;
	emit(t, "[", 1);
	if (i < t->len && t->src[i] == '^') {
		emit(t, "^", 1);
		i++;
	}
	bool first = true;
	while (t->error == 0 && (i >= t->len || t->src[i] != ']' || first)) {
		first = false;
		int r = parse_named_class(t, &i);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (i + 1 < t->len && t->src[i] == '\\' &&
		    (t->src[i + 1] == 'p' || t->src[i + 1] == 'P')) {
			if (parse_unicode_class(t, &i) < 0)
				return t->error;
			continue;
		}
		if (parse_perl_class(t, &i, true))
			continue;
		size_t range_start = i;
		uint32_t lo = 0, hi;
		if (parse_class_char(t, &i, start, &lo) < 0)
			return t->error;
		hi = lo;
		if (i + 1 < t->len && t->src[i] == '-' && t->src[i + 1] != ']') {
			i++;
			if (parse_class_char(t, &i, start, &hi) < 0)
				return t->error;
			if (hi < lo)
				return fail(t, "invalid character class range", range_start, i);
		}
		struct rune_range rr = { lo, hi };
		emit_ranges(t, &rr, 1, false);
	}
	emit(t, "]", 1);
	t->pos = i + 1;
	return t->error;
}

/* Go's parseInt for repeat counts: no leading zeros; -1 when too large. */
static bool
parse_repeat_int(const char *s, size_t len, size_t *i, long *ret)
{
	size_t at = *i;
	if (at >= len || s[at] < '0' || s[at] > '9')
		return false;
	if (at + 1 < len && s[at] == '0' && s[at + 1] >= '0' && s[at + 1] <= '9')
		return false;
	long n = 0;
	for (; at < len && s[at] >= '0' && s[at] <= '9'; at++) {
		if (n >= 100000000)
			n = -1;
		else if (n >= 0)
			n = n * 10 + (s[at] - '0');
	}
	*ret = n;
	*i = at;
	return true;
}

/* Go's parseRepeat at '{': {n}, {n,} or {n,m}. */
static bool
parse_repeat(struct translator *t, size_t *end, long *ret_min, long *ret_max)
{
	size_t i = t->pos + 1;
	long min, max;
	if (!parse_repeat_int(t->src, t->len, &i, &min) || i >= t->len)
		return false;
	if (t->src[i] != ',') {
		max = min;
	} else {
		i++;
		if (i >= t->len)
			return false;
		if (t->src[i] == '}') {
			max = -1;
		} else {
			if (!parse_repeat_int(t->src, t->len, &i, &max))
				return false;
			if (max < 0)
				min = -1;
		}
	}
	if (i >= t->len || t->src[i] != '}')
		return false;
	*end = i + 1;
	*ret_min = min;
	*ret_max = max;
	return true;
}

static void
set_last(struct translator *t, enum atom_kind kind, size_t start, uint32_t weight)
{
	t->last_kind = kind;
	t->last_start = start;
	t->last_weight = weight;
	uint32_t *max = t->depth > 0 ? &t->groups[t->depth - 1].max_weight : &t->top_weight;
	if (weight > *max)
		*max = weight;
}

/* Applies a repeat operator spanning src[op_start, op_end) (op_end before any lazy '?'). */
static int
apply_repeat(struct translator *t, size_t op_start, size_t op_end, long min, long max, bool counted)
{
	size_t after = op_end;
	bool lazy = after < t->len && t->src[after] == '?';
	if (lazy)
		after++;
	if (t->last_repeat != SIZE_MAX)
		return fail(t, "invalid nested repetition operator", t->last_repeat, after);
	if (t->last_kind == ATOM_NONE)
		return fail(t, "missing argument to repetition operator", op_start, after);
	uint32_t weight = t->last_weight;
	if (counted) {
		long m = max < 0 ? min : max;
		if ((min >= 2 || max >= 2) && m > 0) {
			uint64_t product = (uint64_t)m * (weight ? weight : 1);
			if (product > MAX_REPEAT)
				return fail(t, "invalid repeat count", op_start, op_end);
		}
		weight = m > 0 ? (uint32_t)((uint64_t)m * (weight ? weight : 1)) : 1;
	}
	if (t->last_kind == ATOM_ASSERTION) {
		/* PCRE2 repeats no bare assertion; a group it does. */
		struct rego_strbuf *o = &t->out;
		if (t->error == 0 && rego_strbuf_append(o, "(?:)", 4) < 0)
			t->error = -ENOMEM;
		if (t->error)
			return t->error;
		memmove(o->data + t->last_start + 3, o->data + t->last_start,
		        o->length - 4 - t->last_start);
		memcpy(o->data + t->last_start, "(?:", 3);
		o->data[o->length - 1] = ')';
	}
	if (counted) {
		char buf[32];
		int n = max == min ? snprintf(buf, sizeof(buf), "{%ld}", min)
		        : max < 0  ? snprintf(buf, sizeof(buf), "{%ld,}", min)
		                   : snprintf(buf, sizeof(buf), "{%ld,%ld}", min, max);
		emit(t, buf, (size_t)n);
	} else {
		emit(t, t->src + op_start, 1);
	}
	if (lazy)
		emit(t, "?", 1);
	set_last(t, ATOM_PLAIN, t->last_start, weight);
	t->last_repeat = op_start;
	t->pos = after;
	return t->error;
}

static bool
is_capture_name(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t k = 0; k < n; k++)
		if (s[k] != '_' && !is_ascii_alnum((unsigned char)s[k]))
			return false;
	return true;
}

static int
add_capture(struct translator *t, const char *name, size_t name_len)
{
	uint32_t index = ++t->res->ncaptures;
	if (index >= t->names_cap) {
		size_t cap = t->names_cap ? t->names_cap * 2 : 8;
		const char **names = rego_arena_realloc(
		        t->arena, t->names, t->names_cap * sizeof(*names), cap * sizeof(*names));
		if (!names)
			return t->error = -ENOMEM;
		for (size_t k = t->names_cap; k < cap; k++)
			names[k] = NULL;
		t->names = names;
		t->names_cap = cap;
	}
	if (name) {
		char *copy = rego_arena_strndup(t->arena, name, name_len);
		if (!copy)
			return t->error = -ENOMEM;
		t->names[index] = copy;
	}
	return 0;
}

static int
open_group(struct translator *t, bool capture, const char *name, size_t name_len)
{
	if (t->depth >= MAX_NESTING)
		return fail(t, "expression nests too deeply", 0, t->len);
	if (capture && add_capture(t, name, name_len) < 0)
		return t->error;
	t->groups[t->depth++] = (struct group){ t->out.length, 0, t->multiline };
	emit_str(t, capture ? "(" : "(?:");
	t->last_kind = ATOM_NONE;
	return t->error;
}

/* Go's parsePerlFlags at "(?". */
static int
parse_perl_flags(struct translator *t)
{
	size_t start = t->pos;
	const char *s = t->src + start;
	size_t rest = t->len - start;
	bool with_p = rest > 4 && s[2] == 'P' && s[3] == '<';
	bool with_name = rest > 3 && s[2] == '<';
	if (with_p || with_name) {
		size_t name_start = start + (with_p ? 4 : 3);
		const char *end = memchr(s, '>', rest);
		if (!end)
			return fail(t, "invalid named capture", start, t->len);
		size_t end_at = (size_t)(end - t->src);
		if (!is_capture_name(t->src + name_start, end_at - name_start))
			return fail(t, "invalid named capture", start, end_at + 1);
		for (uint32_t k = 1; k <= t->res->ncaptures; k++)
			if (t->names[k] && strlen(t->names[k]) == end_at - name_start &&
			    memcmp(t->names[k], t->src + name_start, end_at - name_start) == 0)
				return fail(t, "duplicate capture group name", start, end_at + 1);
		t->pos = end_at + 1;
		return open_group(t, true, t->src + name_start, end_at - name_start);
	}
	/* Flags: (?flags) or (?flags:re), flags from i m s U with one '-'. */
	char flags[16];
	size_t nflags = 0;
	bool negated = false, saw_flag = false, multiline = t->multiline;
	size_t i = start + 2;
	while (i < t->len) {
		char c = t->src[i++];
		switch (c) {
		case 'i':
		case 'm':
		case 's':
		case 'U':
			if (c == 'm')
				multiline = !negated;
			if (nflags < sizeof(flags) - 1)
				flags[nflags++] = c;
			saw_flag = true;
			continue;
		case '-':
			if (negated)
				goto bad;
			negated = true;
			saw_flag = false;
			if (nflags < sizeof(flags) - 1)
				flags[nflags++] = c;
			continue;
		case ':':
		case ')':
			if (negated && !saw_flag)
				goto bad;
			t->pos = i;
			if (c == ':') {
				if (t->depth >= MAX_NESTING)
					return fail(t, "expression nests too deeply", 0, t->len);
				t->groups[t->depth++] =
				        (struct group){ t->out.length, 0, t->multiline };
				emit_str(t, "(?");
				emit(t, flags, nflags);
				emit(t, ":", 1);
				t->last_kind = ATOM_NONE;
				t->multiline = multiline;
			} else if (nflags > 0) {
				/* A flag change is no atom: what precedes stays repeatable in Go,
				 * which PCRE2 cannot express; such patterns fail to compile. */
				emit_str(t, "(?");
				emit(t, flags, nflags);
				emit(t, ")", 1);
				t->multiline = multiline;
			}
			return t->error;
		default:
			goto bad;
		}
	}
bad:
	return fail(t, "invalid or unsupported Perl syntax", start, i);
}

static int
translate_escape(struct translator *t)
{
	size_t start = t->pos;
	if (start + 1 < t->len) {
		char c = t->src[start + 1];
		const char *assertion = NULL;
		switch (c) {
		case 'A':
			assertion = "\\A";
			break;
		case 'b':
			assertion = "\\b";
			break;
		case 'B':
			assertion = "\\B";
			break;
		case 'z':
			assertion = "\\z";
			break;
		case 'C':
			return fail(t, "invalid escape sequence", start, start + 2);
		case 'Q': {
			size_t i = start + 2;
			const char *end = memmem(t->src + i, t->len - i, "\\E", 2);
			size_t stop = end ? (size_t)(end - t->src) : t->len;
			while (i < stop && t->error == 0) {
				uint32_t r;
				if (next_rune(t, &i, &r) < 0)
					return t->error;
				size_t out_at = t->out.length;
				emit_rune(t, r);
				set_last(t, ATOM_PLAIN, out_at, 1);
			}
			t->pos = end ? stop + 2 : t->len;
			return t->error;
		}
		}
		if (assertion) {
			size_t out_at = t->out.length;
			emit_str(t, assertion);
			set_last(t, ATOM_ASSERTION, out_at, 1);
			t->pos = start + 2;
			return t->error;
		}
		if (c == 'p' || c == 'P') {
			size_t out_at = t->out.length;
			if (parse_unicode_class(t, &t->pos) < 0)
				return t->error;
			set_last(t, ATOM_PLAIN, out_at, 1);
			return 0;
		}
		size_t out_at = t->out.length;
		if (parse_perl_class(t, &t->pos, false)) {
			set_last(t, ATOM_PLAIN, out_at, 1);
			return t->error;
		}
	}
	uint32_t r;
	size_t out_at = t->out.length;
	if (parse_escape(t, &t->pos, &r) < 0)
		return t->error;
	emit_rune(t, r);
	set_last(t, ATOM_PLAIN, out_at, 1);
	return t->error;
}

int
rego_regex_translate(struct rego_arena *arena, const char *src, size_t len,
                     struct rego_regex_translation *out)
{
	memset(out, 0, sizeof(*out));
	struct translator t = {
		.arena = arena, .src = src, .len = len, .res = out, .last_repeat = SIZE_MAX
	};
	rego_strbuf_init(&t.out, arena);
	if (len > REGO_REGEX_MAX_PATTERN) {
		snprintf(out->error, sizeof(out->error),
		         "error parsing regexp: expression too large");
		return JIT_ERR_INVALID;
	}
	t.groups = rego_arena_alloc(arena, sizeof(*t.groups) * MAX_NESTING);
	if (!t.groups || add_capture(&t, NULL, 0) < 0)
		return -ENOMEM;
	out->ncaptures = 0; /* add_capture above only sized the name table */
	/* Reject invalid UTF-8 up front, as Go's parser does. */
	for (size_t i = 0; i < len;) {
		uint32_t r;
		if (next_rune(&t, &i, &r) < 0)
			return t.error;
	}
	while (t.pos < len && t.error == 0) {
		size_t repeat_before = t.last_repeat;
		t.last_repeat = SIZE_MAX;
		char c = src[t.pos];
		size_t out_at = t.out.length;
		switch (c) {
		case '(':
			if (t.pos + 1 < len && src[t.pos + 1] == '?') {
				parse_perl_flags(&t);
			} else {
				t.pos++;
				open_group(&t, true, NULL, 0);
			}
			break;
		case '|':
			emit(&t, "|", 1);
			t.last_kind = ATOM_NONE;
			t.pos++;
			break;
		case ')': {
			if (t.depth == 0) {
				fail(&t, "unexpected )", 0, len);
				break;
			}
			struct group g = t.groups[--t.depth];
			emit(&t, ")", 1);
			t.multiline = g.multiline;
			t.pos++;
			set_last(&t, ATOM_PLAIN, g.out_start, g.max_weight);
			break;
		}
		case '^':
		case '$':
			/* Without (?m) Go's ^ and $ are \A and \z (never before a final \n). */
			if (t.multiline)
				emit(&t, &c, 1);
			else
				emit_str(&t, c == '^' ? "\\A" : "\\z");
			set_last(&t, ATOM_ASSERTION, out_at, 1);
			t.pos++;
			break;
		case '.':
			emit(&t, ".", 1);
			set_last(&t, ATOM_PLAIN, out_at, 1);
			t.pos++;
			break;
		case '[':
			if (parse_class(&t) == 0)
				set_last(&t, ATOM_PLAIN, out_at, 1);
			break;
		case '*':
		case '+':
		case '?':
			t.last_repeat = repeat_before;
			apply_repeat(&t, t.pos, t.pos + 1, 0, 0, false);
			break;
		case '{': {
			size_t end;
			long min, max;
			if (!parse_repeat(&t, &end, &min, &max)) {
				emit_rune(&t, '{');
				set_last(&t, ATOM_PLAIN, out_at, 1);
				t.pos++;
				break;
			}
			if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT ||
			    (max >= 0 && min > max)) {
				fail(&t, "invalid repeat count", t.pos, end);
				break;
			}
			t.last_repeat = repeat_before;
			apply_repeat(&t, t.pos, end, min, max, true);
			break;
		}
		case '\\':
			translate_escape(&t);
			break;
		default: {
			uint32_t r;
			if (next_rune(&t, &t.pos, &r) < 0)
				break;
			emit_rune(&t, r);
			set_last(&t, ATOM_PLAIN, out_at, 1);
		}
		}
	}
	if (t.error == 0 && t.depth > 0)
		fail(&t, "missing closing )", 0, len);
	if (t.error)
		return t.error;
	out->pattern = t.out.data ? t.out.data : rego_arena_strndup(arena, "", 0);
	if (!out->pattern)
		return -ENOMEM;
	out->length = t.out.length;
	out->names = t.names;
	return 0;
}
