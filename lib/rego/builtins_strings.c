/* Built-in functions: strings group (concat, split, trim*, replace, substring, indexof,
 * format_int, sprintf, strings.*). Semantics follow OPA's Go implementation, including Go's
 * strings package behaviour (rune-wise cutsets, Replacer priorities). Operands are untrusted;
 * every result is bounded by the arena's limit and REGO_VALUE_MAX_LENGTH. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "lib/common/errors.h"
#include "lib/rego/builtins_strings.h"

/* ---- shared helpers ---------------------------------------------------------------------- */

static int
out_of_memory(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "out of memory or result too large");
}

static int
string_operand(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, int pos)
{
	if (args[pos - 1]->type != REGO_STRING)
		return rego_builtin_type_error(ctx, pos, "string", args[pos - 1]);
	return 0;
}

/* Requires a number that is an integer fitting int64 (builtins.IntOperand). */
static int
int_operand(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, int pos,
            int64_t *ret)
{
	const struct rego_value *v = args[pos - 1];
	if (v->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, pos, "number", v);
	if (!rego_number_int64(v, ret))
		return rego_builtin_error(
		        ctx, REGO_ERR_TYPE,
		        "operand %d must be integer number but got floating-point "
		        "number",
		        pos);
	return 0;
}

static int
return_string(struct rego_builtin_ctx *ctx, const char *s, size_t len,
              const struct rego_value **ret)
{
	const struct rego_value *v = rego_string(ctx->arena, s, len);
	if (!v)
		return out_of_memory(ctx);
	*ret = v;
	return 0;
}

static int
return_strbuf(struct rego_builtin_ctx *ctx, struct rego_strbuf *sb, int r,
              const struct rego_value **ret)
{
	if (r < 0)
		return out_of_memory(ctx);
	const struct rego_value *v = rego_strbuf_to_value(sb);
	if (!v)
		return out_of_memory(ctx);
	*ret = v;
	return 0;
}

static int
return_int(struct rego_builtin_ctx *ctx, int64_t i, const struct rego_value **ret)
{
	const struct rego_value *v = rego_int(ctx->arena, i);
	if (!v)
		return out_of_memory(ctx);
	*ret = v;
	return 0;
}

static const void *
find_bytes(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	if (needle_len == 0)
		return hay;
	return memmem(hay, hay_len, needle, needle_len);
}

/* Collects the strings of an array or set operand (builtins.StringSliceOperand). */
static int
string_slice_operand(struct rego_builtin_ctx *ctx, const struct rego_value *v, int pos,
                     const struct rego_value ***ret, size_t *ret_n)
{
	if (v->type == REGO_STRING) {
		const struct rego_value **one = rego_arena_alloc(ctx->arena, sizeof(*one));
		if (!one)
			return out_of_memory(ctx);
		one[0] = v;
		*ret = one;
		*ret_n = 1;
		return 0;
	}
	if (v->type != REGO_ARRAY && v->type != REGO_SET)
		return rego_builtin_error(
		        ctx, REGO_ERR_TYPE,
		        "operand %d must be one of {string, set, array} but got %s", pos,
		        rego_type_name(v));
	for (size_t k = 0; k < v->length; k++)
		if (v->u.items[k]->type != REGO_STRING)
			return rego_builtin_error(ctx, REGO_ERR_TYPE,
			                          "operand %d must be %s of strings but got %s "
			                          "containing %s",
			                          pos, rego_type_name(v), rego_type_name(v),
			                          rego_type_name(v->u.items[k]));
	*ret = v->u.items;
	*ret_n = v->length;
	return 0;
}

/* ---- concat, contains, startswith, endswith ------------------------------------------------ */

static int
builtin_concat(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0)
		return r;
	const struct rego_value *list = args[1];
	if (list->type != REGO_ARRAY && list->type != REGO_SET)
		return rego_builtin_error(ctx, REGO_ERR_TYPE,
		                          "operand 2 must be one of {set, array} but got %s",
		                          rego_type_name(list));
	for (size_t k = 0; k < list->length; k++)
		if (list->u.items[k]->type != REGO_STRING)
			return rego_builtin_error(ctx, REGO_ERR_TYPE,
			                          "operand 2 must be %s of strings but got %s "
			                          "containing %s",
			                          rego_type_name(list), rego_type_name(list),
			                          rego_type_name(list->u.items[k]));
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	r = 0;
	for (size_t k = 0; k < list->length && r == 0; k++) {
		if (k > 0)
			r = rego_strbuf_append(&sb, args[0]->u.string, args[0]->length);
		if (r == 0)
			r = rego_strbuf_append(&sb, list->u.items[k]->u.string,
			                       list->u.items[k]->length);
	}
	return return_strbuf(ctx, &sb, r, ret);
}

static int
builtin_contains(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	*ret = rego_bool(find_bytes(args[0]->u.string, args[0]->length, args[1]->u.string,
	                            args[1]->length) != NULL);
	return 0;
}

static int
builtin_startswith(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	*ret = rego_bool(args[1]->length <= args[0]->length &&
	                 memcmp(args[0]->u.string, args[1]->u.string, args[1]->length) == 0);
	return 0;
}

static int
builtin_endswith(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	size_t n = args[0]->length, m = args[1]->length;
	*ret = rego_bool(m <= n && memcmp(args[0]->u.string + n - m, args[1]->u.string, m) == 0);
	return 0;
}

/* ---- lower, upper ------------------------------------------------------------------------ */

static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

static void
utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Maps every rune through towlower/towupper of a UTF-8 locale (Unicode simple case mapping,
 * as Go's unicode.ToLower/ToUpper); ASCII only when no such locale exists. */
static int
map_case(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, bool upper,
         const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0)
		return r;
	pthread_once(&utf8_locale_once, utf8_locale_init);
	const char *s = args[0]->u.string;
	size_t len = args[0]->length;
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	r = 0;
	for (size_t i = 0; i < len && r == 0;) {
		uint32_t cp = rego_utf8_next(s, len, &i);
		uint32_t mapped = cp;
		if (cp < 0x80) {
			if (upper && cp >= 'a' && cp <= 'z')
				mapped = cp - 32;
			else if (!upper && cp >= 'A' && cp <= 'Z')
				mapped = cp + 32;
		} else if (utf8_locale) {
			mapped = upper ? (uint32_t)towupper_l((wint_t)cp, utf8_locale)
			               : (uint32_t)towlower_l((wint_t)cp, utf8_locale);
		}
		char buf[4];
		r = rego_strbuf_append(&sb, buf, rego_utf8_encode(mapped, buf));
	}
	return return_strbuf(ctx, &sb, r, ret);
}

static int
builtin_lower(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return map_case(ctx, args, false, ret);
}

static int
builtin_upper(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	return map_case(ctx, args, true, ret);
}

/* ---- split, strings.split_n ---------------------------------------------------------------- */

/* Go's strings.Split: pieces into a vector. An empty separator explodes into UTF-8 sequences. */
static int
split_string(struct rego_builtin_ctx *ctx, const struct rego_value *text,
             const struct rego_value *sep, struct rego_vec *vec)
{
	const char *s = text->u.string;
	size_t len = text->length;
	rego_vec_init(vec, ctx->arena);
	if (sep->length == 0) {
		for (size_t i = 0; i < len;) {
			size_t at = i;
			rego_utf8_next(s, len, &i);
			const struct rego_value *piece = rego_string(ctx->arena, s + at, i - at);
			if (!piece || rego_vec_push(vec, piece) < 0)
				return out_of_memory(ctx);
		}
		return 0;
	}
	size_t start = 0;
	for (;;) {
		const char *hit = find_bytes(s + start, len - start, sep->u.string, sep->length);
		size_t end = hit ? (size_t)(hit - s) : len;
		const struct rego_value *piece = rego_string(ctx->arena, s + start, end - start);
		if (!piece || rego_vec_push(vec, piece) < 0)
			return out_of_memory(ctx);
		if (!hit)
			break;
		start = end + sep->length;
	}
	return 0;
}

static int
builtin_split(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	struct rego_vec vec;
	if ((r = split_string(ctx, args[0], args[1], &vec)) < 0)
		return r;
	*ret = rego_vec_to_array(&vec);
	return *ret ? 0 : out_of_memory(ctx);
}

/* strings.split_n(s, delim, n): the first n pieces for n > 0, the last -n for n < 0. */
static int
builtin_split_n(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	int r;
	int64_t n;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0 ||
	    (r = int_operand(ctx, args, 3, &n)) < 0)
		return r;
	struct rego_vec vec;
	if ((r = split_string(ctx, args[0], args[1], &vec)) < 0)
		return r;
	size_t total = vec.length, from = 0, count = 0;
	if (n > 0) {
		count = (uint64_t)n < total ? (size_t)n : total;
	} else if (n < 0) {
		uint64_t want = (uint64_t)0 - (uint64_t)n;
		count = want < total ? (size_t)want : total;
		from = total - count;
	}
	*ret = rego_array(ctx->arena, vec.items + from, count);
	return *ret ? 0 : out_of_memory(ctx);
}

/* ---- trim family ------------------------------------------------------------------------- */

static bool
cutset_contains(const char *cut, size_t cut_len, uint32_t cp)
{
	for (size_t i = 0; i < cut_len;)
		if (rego_utf8_next(cut, cut_len, &i) == cp)
			return true;
	return false;
}

/* Go's strings.TrimLeft/TrimRight over a cutset of runes. */
static void
trim_cutset(const char *s, size_t len, const char *cut, size_t cut_len, bool left, bool right,
            size_t *ret_start, size_t *ret_end)
{
	size_t start = 0, end = len;
	if (cut_len > 0 && left) {
		while (start < len) {
			size_t i = start;
			uint32_t cp = rego_utf8_next(s, len, &i);
			if (!cutset_contains(cut, cut_len, cp))
				break;
			start = i;
		}
	}
	if (cut_len > 0 && right) {
		size_t keep = start;
		for (size_t i = start; i < len;) {
			uint32_t cp = rego_utf8_next(s, len, &i);
			if (!cutset_contains(cut, cut_len, cp))
				keep = i;
		}
		end = keep;
	}
	*ret_start = start;
	*ret_end = end;
}

static int
trim_common(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, bool left,
            bool right, const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	size_t start, end;
	trim_cutset(args[0]->u.string, args[0]->length, args[1]->u.string, args[1]->length, left,
	            right, &start, &end);
	if (start == 0 && end == args[0]->length) {
		*ret = args[0];
		return 0;
	}
	return return_string(ctx, args[0]->u.string + start, end - start, ret);
}

static int
builtin_trim(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
             const struct rego_value **ret)
{
	return trim_common(ctx, args, true, true, ret);
}

static int
builtin_trim_left(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	return trim_common(ctx, args, true, false, ret);
}

static int
builtin_trim_right(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	return trim_common(ctx, args, false, true, ret);
}

static int
builtin_trim_prefix(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	size_t n = args[0]->length, m = args[1]->length;
	if (m == 0 || m > n || memcmp(args[0]->u.string, args[1]->u.string, m) != 0) {
		*ret = args[0];
		return 0;
	}
	return return_string(ctx, args[0]->u.string + m, n - m, ret);
}

static int
builtin_trim_suffix(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	size_t n = args[0]->length, m = args[1]->length;
	if (m == 0 || m > n || memcmp(args[0]->u.string + n - m, args[1]->u.string, m) != 0) {
		*ret = args[0];
		return 0;
	}
	return return_string(ctx, args[0]->u.string, n - m, ret);
}

/* unicode.IsSpace. */
static bool
is_unicode_space(uint32_t cp)
{
	switch (cp) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	}
	return cp >= 0x2000 && cp <= 0x200a;
}

static int
builtin_trim_space(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0)
		return r;
	const char *s = args[0]->u.string;
	size_t len = args[0]->length, start = 0, end;
	while (start < len) {
		size_t i = start;
		if (!is_unicode_space(rego_utf8_next(s, len, &i)))
			break;
		start = i;
	}
	end = start;
	for (size_t i = start; i < len;)
		if (!is_unicode_space(rego_utf8_next(s, len, &i)))
			end = i;
	if (start == 0 && end == len) {
		*ret = args[0];
		return 0;
	}
	return return_string(ctx, s + start, end - start, ret);
}

/* ---- replace, strings.replace_n ------------------------------------------------------------ */

struct replace_pair {
	const char *old, *new;
	size_t old_len, new_len;
};

/* Go's strings.Replacer (generic algorithm): at each byte position the matching pattern that
 * comes first in `pairs` wins; an empty pattern matches everywhere but never twice in a row. */
static int
replace_pairs(struct rego_strbuf *sb, const char *s, size_t len, const struct replace_pair *pairs,
              size_t npairs)
{
	bool has_empty = false;
	bool first_bytes[256] = { false };
	for (size_t k = 0; k < npairs; k++) {
		if (pairs[k].old_len == 0)
			has_empty = true;
		else
			first_bytes[(unsigned char)pairs[k].old[0]] = true;
	}
	size_t last = 0;
	bool prev_match_empty = false;
	int r = 0;
	for (size_t i = 0; i <= len && r == 0;) {
		if (i != len && !has_empty && !first_bytes[(unsigned char)s[i]]) {
			i++;
			continue;
		}
		const struct replace_pair *best = NULL;
		for (size_t k = 0; k < npairs && !best; k++) {
			const struct replace_pair *pp = &pairs[k];
			if (pp->old_len == 0) {
				if (!prev_match_empty)
					best = pp;
			} else if (pp->old_len <= len - i &&
			           memcmp(s + i, pp->old, pp->old_len) == 0) {
				best = pp;
			}
		}
		prev_match_empty = best && best->old_len == 0;
		if (!best) {
			i++;
			continue;
		}
		r = rego_strbuf_append(sb, s + last, i - last);
		if (r == 0)
			r = rego_strbuf_append(sb, best->new, best->new_len);
		i += best->old_len;
		last = i;
	}
	if (r == 0 && last != len)
		r = rego_strbuf_append(sb, s + last, len - last);
	return r;
}

static int
builtin_replace(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0 ||
	    (r = string_operand(ctx, args, 3)) < 0)
		return r;
	struct replace_pair pair = { args[1]->u.string, args[2]->u.string, args[1]->length,
		                     args[2]->length };
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	r = replace_pairs(&sb, args[0]->u.string, args[0]->length, &pair, 1);
	return return_strbuf(ctx, &sb, r, ret);
}

static int
builtin_replace_n(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	const struct rego_value *patterns = args[0];
	if (patterns->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", patterns);
	int r;
	if ((r = string_operand(ctx, args, 2)) < 0)
		return r;
	struct replace_pair *pairs =
	        rego_arena_alloc(ctx->arena, sizeof(*pairs) * (patterns->length + 1));
	if (!pairs)
		return out_of_memory(ctx);
	/* Object members are sorted in Rego's order, which is the order OPA gives the
	 * Replacer (and so the priority). */
	for (size_t k = 0; k < patterns->length; k++) {
		const struct rego_member *m = &patterns->u.members[k];
		if (m->key->type != REGO_STRING)
			return rego_builtin_error(
			        ctx, REGO_ERR_TYPE,
			        "operand 1 non-string key found in pattern object");
		if (m->value->type != REGO_STRING)
			return rego_builtin_error(
			        ctx, REGO_ERR_TYPE,
			        "operand 1 non-string value found in pattern object");
		pairs[k] = (struct replace_pair){ m->key->u.string, m->value->u.string,
			                          m->key->length, m->value->length };
	}
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	r = replace_pairs(&sb, args[1]->u.string, args[1]->length, pairs, patterns->length);
	return return_strbuf(ctx, &sb, r, ret);
}

/* ---- substring, indexof, indexof_n, strings.count, strings.reverse ------------------------- */

static int
builtin_substring(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	int r;
	int64_t start, length;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = int_operand(ctx, args, 2, &start)) < 0 ||
	    (r = int_operand(ctx, args, 3, &length)) < 0)
		return r;
	if (start < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "negative offset");
	const char *s = args[0]->u.string;
	size_t len = args[0]->length, i = 0;
	for (int64_t n = 0; n < start && i < len; n++)
		rego_utf8_next(s, len, &i);
	if (i >= len) {
		*ret = &rego_empty_string;
		return 0;
	}
	size_t begin = i;
	if (length < 0) {
		i = len;
	} else {
		for (int64_t n = 0; n < length && i < len; n++)
			rego_utf8_next(s, len, &i);
	}
	if (begin == 0 && i == len) {
		*ret = args[0];
		return 0;
	}
	return return_string(ctx, s + begin, i - begin, ret);
}

static bool
utf8_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t at = i;
		if (rego_utf8_next(s, len, &i) == 0xfffd && i == at + 1)
			return false;
	}
	return true;
}

/* Finds the occurrences of needle in s by code point index, as OPA compares rune slices
 * (occurrences may overlap). Stops after the first when `first` (*ret_first, -1 if none);
 * otherwise pushes every index onto vec. */
static int
rune_occurrences(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, bool first,
                 struct rego_vec *vec, int64_t *ret_first)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	if (args[1]->length == 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "empty search character");
	const char *s = args[0]->u.string, *needle = args[1]->u.string;
	size_t len = args[0]->length, nlen = args[1]->length;
	*ret_first = -1;
	bool valid = utf8_valid(s, len) && utf8_valid(needle, nlen);
	int64_t index = 0;
	for (size_t i = 0; i < len;) {
		size_t hit_at;
		if (valid) {
			/* Byte search finds exactly the rune matches of valid UTF-8 (a match of a
			 * valid needle always starts on a rune boundary). */
			const char *hit = memmem(s + i, len - i, needle, nlen);
			if (!hit)
				break;
			hit_at = (size_t)(hit - s);
			index += (int64_t)rego_utf8_length(s + i, hit_at - i);
		} else {
			/* Compare decoded runes, so invalid bytes compare as U+FFFD. */
			size_t a = i, b = 0;
			bool match = true;
			while (b < nlen && match)
				match = a < len && rego_utf8_next(s, len, &a) ==
				                           rego_utf8_next(needle, nlen, &b);
			if (!match) {
				rego_utf8_next(s, len, &i);
				index++;
				continue;
			}
			hit_at = i;
		}
		if (first) {
			*ret_first = index;
			return 0;
		}
		const struct rego_value *v = rego_int(ctx->arena, index);
		if (!v || rego_vec_push(vec, v) < 0)
			return out_of_memory(ctx);
		i = hit_at;
		rego_utf8_next(s, len, &i);
		index++;
	}
	return 0;
}

static int
builtin_indexof(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	int64_t index;
	int r = rune_occurrences(ctx, args, true, NULL, &index);
	if (r < 0)
		return r;
	return return_int(ctx, index, ret);
}

static int
builtin_indexof_n(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	struct rego_vec vec;
	int64_t unused;
	rego_vec_init(&vec, ctx->arena);
	int r = rune_occurrences(ctx, args, false, &vec, &unused);
	if (r < 0)
		return r;
	*ret = rego_vec_to_array(&vec);
	return *ret ? 0 : out_of_memory(ctx);
}

static int
builtin_count(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0 || (r = string_operand(ctx, args, 2)) < 0)
		return r;
	const char *s = args[0]->u.string;
	size_t len = args[0]->length, nlen = args[1]->length;
	if (nlen == 0)
		return return_int(ctx, (int64_t)rego_utf8_length(s, len) + 1, ret);
	int64_t n = 0;
	for (size_t i = 0; i < len;) {
		const char *hit = find_bytes(s + i, len - i, args[1]->u.string, nlen);
		if (!hit)
			break;
		n++;
		i = (size_t)(hit - s) + nlen;
	}
	return return_int(ctx, n, ret);
}

static int
builtin_reverse(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0)
		return r;
	const char *s = args[0]->u.string;
	size_t len = args[0]->length;
	char *buf = rego_arena_alloc(ctx->arena, len + 1);
	if (!buf)
		return out_of_memory(ctx);
	for (size_t i = 0; i < len;) {
		size_t at = i;
		rego_utf8_next(s, len, &i);
		memcpy(buf + len - i, s + at, i - at);
	}
	buf[len] = '\0';
	*ret = rego_string_wrap(ctx->arena, buf, len);
	return *ret ? 0 : out_of_memory(ctx);
}

/* ---- strings.any_prefix_match, strings.any_suffix_match ------------------------------------ */

struct bytes_ref {
	const char *s;
	size_t len;
};

static int
compare_bytes_ref(const void *a, const void *b)
{
	const struct bytes_ref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);
	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

static int
collect_refs(struct rego_builtin_ctx *ctx, const struct rego_value **items, size_t n, bool reversed,
             struct bytes_ref **ret)
{
	struct bytes_ref *refs = rego_arena_alloc(ctx->arena, sizeof(*refs) * (n + 1));
	if (!refs)
		return out_of_memory(ctx);
	for (size_t k = 0; k < n; k++) {
		const char *s = items[k]->u.string;
		size_t len = items[k]->length;
		if (reversed) {
			char *rev = rego_arena_alloc(ctx->arena, len + 1);
			if (!rev)
				return out_of_memory(ctx);
			for (size_t i = 0; i < len; i++)
				rev[i] = s[len - 1 - i];
			s = rev;
		}
		refs[k] = (struct bytes_ref){ s, len };
	}
	*ret = refs;
	return 0;
}

static int
any_prefix_common(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, bool suffix,
                  const struct rego_value **ret)
{
	const struct rego_value **strs, **prefixes;
	size_t nstrs, nprefixes;
	int r;
	if ((r = string_slice_operand(ctx, args[0], 1, &strs, &nstrs)) < 0 ||
	    (r = string_slice_operand(ctx, args[1], 2, &prefixes, &nprefixes)) < 0)
		return r;
	struct bytes_ref *sorted, *wanted;
	if ((r = collect_refs(ctx, strs, nstrs, suffix, &sorted)) < 0 ||
	    (r = collect_refs(ctx, prefixes, nprefixes, suffix, &wanted)) < 0)
		return r;
	qsort(sorted, nstrs, sizeof(*sorted), compare_bytes_ref);
	/* The smallest string not below a prefix starts with it if any string does. */
	for (size_t k = 0; k < nprefixes; k++) {
		size_t lo = 0, hi = nstrs;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (compare_bytes_ref(&sorted[mid], &wanted[k]) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nstrs && sorted[lo].len >= wanted[k].len &&
		    memcmp(sorted[lo].s, wanted[k].s, wanted[k].len) == 0) {
			*ret = &rego_true_value;
			return 0;
		}
	}
	*ret = &rego_false_value;
	return 0;
}

static int
builtin_any_prefix_match(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                         const struct rego_value **ret)
{
	return any_prefix_common(ctx, args, false, ret);
}

static int
builtin_any_suffix_match(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                         const struct rego_value **ret)
{
	return any_prefix_common(ctx, args, true, ret);
}

/* ---- format_int ---------------------------------------------------------------------------- */

static int
builtin_format_int(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	const struct rego_value *input = args[0], *base_value = args[1];
	if (input->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, 1, "number", input);
	if (base_value->type != REGO_NUMBER)
		return rego_builtin_type_error(ctx, 2, "number", base_value);
	int64_t base = 0;
	if (base_value->number_kind != REGO_NUM_INT ||
	    ((base = base_value->u.integer) != 2 && base != 8 && base != 10 && base != 16))
		return rego_builtin_error(ctx, REGO_ERR_TYPE,
		                          "operand 2 must be one of {2, 8, 10, 16}");
	/* The integer part (truncated toward zero) as sign and decimal digits. */
	char buf[400];
	const char *digits;
	size_t ndigits;
	bool negative;
	if (input->number_kind == REGO_NUM_BIG) {
		negative = input->u.big[0] == '-';
		digits = input->u.big + (negative ? 1 : 0);
		ndigits = input->length - (negative ? 1 : 0);
	} else {
		if (input->number_kind == REGO_NUM_INT) {
			int64_t v = input->u.integer;
			negative = v < 0;
			uint64_t u = negative ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u);
		} else {
			double t = trunc(input->u.real);
			negative = t < 0;
			snprintf(buf, sizeof(buf), "%.0f", fabs(t));
		}
		digits = buf;
		ndigits = strlen(buf);
	}
	bool zero = ndigits == 1 && digits[0] == '0';
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	int r = 0;
	if (negative && !zero)
		r = rego_strbuf_append(&sb, "-", 1);
	if (r == 0 && base != 10) {
		char *converted;
		r = rego_decimal_to_base(ctx->arena, digits, ndigits, (int)base, false, &converted,
		                         &ndigits);
		digits = converted;
	}
	if (r == 0)
		r = rego_strbuf_append(&sb, digits, ndigits);
	return return_strbuf(ctx, &sb, r, ret);
}

/* ---- sprintf, internal.template_string ----------------------------------------------------- */

static int
builtin_sprintf(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0)
		return r;
	if (args[1]->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 2, "array", args[1]);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	r = rego_go_sprintf(&sb, args[0]->u.string, args[0]->length, args[1]);
	return return_strbuf(ctx, &sb, r, ret);
}

/* Appends a value as template strings print it: strings raw, everything else as Rego text. */
static int
append_template_value(struct rego_strbuf *sb, const struct rego_value *v)
{
	if (v->type == REGO_STRING)
		return rego_strbuf_append(sb, v->u.string, v->length);
	return rego_format_rego(sb, v);
}

/* internal.template_string(parts): what $"..{expr}.." compiles to. Each part is a literal
 * string or the set of values its expression produced: empty prints "<undefined>". */
static int
builtin_template_string(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                        const struct rego_value **ret)
{
	if (args[0]->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 1, "array", args[0]);
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	int r = 0;
	for (size_t k = 0; k < args[0]->length && r == 0; k++) {
		const struct rego_value *part = args[0]->u.items[k];
		if (part->type != REGO_SET) {
			r = append_template_value(&sb, part);
		} else if (part->length == 0) {
			r = rego_strbuf_append(&sb, "<undefined>", 11);
		} else if (part->length == 1) {
			r = append_template_value(&sb, part->u.items[0]);
		} else {
			return rego_builtin_error(
			        ctx, REGO_ERR_BUILTIN,
			        "template-strings must not produce multiple outputs");
		}
	}
	return return_strbuf(ctx, &sb, r, ret);
}

static int
builtin_render_template(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                        const struct rego_value **ret)
{
	int r;
	if ((r = string_operand(ctx, args, 1)) < 0)
		return r;
	if (args[1]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 2, "object", args[1]);
	return rego_render_template(ctx, args[0], args[1], ret);
}

const struct rego_builtin rego_builtins_strings[] = {
	{ "concat", 2, 0, builtin_concat },
	{ "contains", 2, 0, builtin_contains },
	{ "endswith", 2, 0, builtin_endswith },
	{ "format_int", 2, 0, builtin_format_int },
	{ "indexof", 2, 0, builtin_indexof },
	{ "indexof_n", 2, 0, builtin_indexof_n },
	{ "internal.template_string", 1, 0, builtin_template_string },
	{ "lower", 1, 0, builtin_lower },
	{ "replace", 3, 0, builtin_replace },
	{ "split", 2, 0, builtin_split },
	{ "sprintf", 2, 0, builtin_sprintf },
	{ "startswith", 2, 0, builtin_startswith },
	{ "strings.any_prefix_match", 2, 0, builtin_any_prefix_match },
	{ "strings.any_suffix_match", 2, 0, builtin_any_suffix_match },
	{ "strings.count", 2, 0, builtin_count },
	{ "strings.render_template", 2, 0, builtin_render_template },
	{ "strings.replace_n", 2, 0, builtin_replace_n },
	{ "strings.reverse", 1, 0, builtin_reverse },
	{ "strings.split_n", 3, 0, builtin_split_n },
	{ "substring", 3, 0, builtin_substring },
	{ "trim", 2, 0, builtin_trim },
	{ "trim_left", 2, 0, builtin_trim_left },
	{ "trim_prefix", 2, 0, builtin_trim_prefix },
	{ "trim_right", 2, 0, builtin_trim_right },
	{ "trim_space", 1, 0, builtin_trim_space },
	{ "trim_suffix", 2, 0, builtin_trim_suffix },
	{ "upper", 1, 0, builtin_upper },
	{ NULL, 0, 0, NULL },
};
