/* YAML-to-Rego conversion and result comparison for the conformance runner. Plain scalars are
 * resolved like Go's yaml.v3 (the decoder OPA's suite is written for), except that integers of
 * any size stay exact. Depends only on libyaml and the Rego value API, never on the engine. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/rego/tests/conformance/case_compare.h"

static bool
text_is(const char *text, size_t length, const char *word)
{
	size_t n = strlen(word);
	return length == n && memcmp(text, word, n) == 0;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* [-+]?[0-9]+ */
static bool
is_decimal_integer(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i == n)
		return false;
	for (; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* YAML 1.2 float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool
is_yaml_float(const char *s, size_t n)
{
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && is_digit(s[i])) {
		i++;
		digits++;
	}
	if (i < n && s[i] == '.') {
		i++;
		size_t fraction = 0;
		while (i < n && is_digit(s[i])) {
			i++;
			fraction++;
		}
		if (digits == 0 && fraction == 0)
			return false;
	} else if (digits == 0) {
		return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		size_t exponent = 0;
		while (i < n && is_digit(s[i])) {
			i++;
			exponent++;
		}
		if (exponent == 0)
			return false;
	}
	return i == n;
}

static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Parses [-+]?<digits> in `base` as Go's strconv.ParseInt/ParseUint would accept it (up to
 * 64 bits of magnitude). Returns NULL when the text is not such a number, or on overflow. */
static const struct rego_value *
prefixed_integer(struct rego_arena *arena, bool negative, const char *digits, size_t n,
                 unsigned base)
{
	if (n == 0)
		return NULL;
	uint64_t magnitude = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)digit_value(digits[i]);
		if (d >= base)
			return NULL;
		if (magnitude > (UINT64_MAX - d) / base)
			return NULL;
		magnitude = magnitude * base + d;
	}
	if (!negative && magnitude <= (uint64_t)INT64_MAX)
		return rego_int(arena, (int64_t)magnitude);
	if (negative && magnitude <= (uint64_t)INT64_MAX + 1)
		return rego_int(arena, magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN
		                                                            : -(int64_t)magnitude);
	char text[32];
	int len = snprintf(text, sizeof(text), "%s%" PRIu64, negative ? "-" : "", magnitude);
	return rego_number_parse(arena, text, (size_t)len);
}

/* Returns the resolved number, NULL when `text` is no number (or an arena failure, which the
 * caller notices on its own next allocation). */
static const struct rego_value *
resolve_number(struct rego_arena *arena, const char *text, size_t length)
{
	size_t i = 0;
	bool negative = false;
	if (i < length && (text[i] == '-' || text[i] == '+')) {
		negative = text[i] == '-';
		i++;
	}
	if (length - i > 2 && text[i] == '0') {
		char p = text[i + 1];
		unsigned base = p == 'x' || p == 'X'   ? 16
		                : p == 'o' || p == 'O' ? 8
		                : p == 'b' || p == 'B' ? 2
		                                       : 0;
		if (base)
			return prefixed_integer(arena, negative, text + i + 2, length - i - 2,
			                        base);
	}
	if (is_decimal_integer(text, length)) {
		/* A leading zero means octal (YAML 1.1, kept by yaml.v3), when the digits allow. */
		if (length - i > 1 && text[i] == '0') {
			const struct rego_value *octal =
			        prefixed_integer(arena, negative, text + i + 1, length - i - 1, 8);
			if (octal)
				return octal;
		}
		return rego_number_parse(arena, text, length);
	}
	if (is_yaml_float(text, length)) {
		char *copy = rego_arena_strndup(arena, text, length);
		if (!copy)
			return NULL;
		char *end;
		double d = strtod(copy, &end);
		return *end == '\0' ? rego_float(arena, d) : NULL;
	}
	return NULL;
}

int
conformance_scalar_value(struct rego_arena *arena, const char *text, size_t length, bool plain,
                         const struct rego_value **ret)
{
	const struct rego_value *v = NULL;
	if (plain) {
		if (length == 0 || text_is(text, length, "~") || text_is(text, length, "null") ||
		    text_is(text, length, "Null") || text_is(text, length, "NULL"))
			v = &rego_null_value;
		else if (text_is(text, length, "true") || text_is(text, length, "True") ||
		         text_is(text, length, "TRUE"))
			v = &rego_true_value;
		else if (text_is(text, length, "false") || text_is(text, length, "False") ||
		         text_is(text, length, "FALSE"))
			v = &rego_false_value;
		else
			v = resolve_number(arena, text, length);
	}
	if (!v)
		v = rego_string(arena, text, length);
	if (!v)
		return -ENOMEM;
	*ret = v;
	return 0;
}

static bool
scalar_is_plain(const yaml_node_t *node)
{
	return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
	       node->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

static int value_from_yaml_depth(struct rego_arena *arena, yaml_document_t *document,
                                 yaml_node_t *node, int depth, const struct rego_value **ret);

static int
key_from_yaml(struct rego_arena *arena, yaml_node_t *node, const struct rego_value **ret)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return JIT_ERR_INVALID;
	const struct rego_value *key;
	int r = conformance_scalar_value(arena, (const char *)node->data.scalar.value,
	                                 node->data.scalar.length, scalar_is_plain(node), &key);
	if (r < 0)
		return r;
	if (key->type != REGO_STRING) {
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, arena);
		if (rego_format_json(&sb, key) < 0 || !(key = rego_strbuf_to_value(&sb)))
			return -ENOMEM;
	}
	*ret = key;
	return 0;
}

static int
value_from_yaml_depth(struct rego_arena *arena, yaml_document_t *document, yaml_node_t *node,
                      int depth, const struct rego_value **ret)
{
	if (!node || depth > CONFORMANCE_MAX_DEPTH)
		return JIT_ERR_INVALID;
	int r;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return conformance_scalar_value(arena, (const char *)node->data.scalar.value,
		                                node->data.scalar.length, scalar_is_plain(node),
		                                ret);
	case YAML_SEQUENCE_NODE: {
		struct rego_vec items;
		rego_vec_init(&items, arena);
		for (yaml_node_item_t *item = node->data.sequence.items.start;
		     item < node->data.sequence.items.top; item++) {
			const struct rego_value *v;
			r = value_from_yaml_depth(arena, document,
			                          yaml_document_get_node(document, *item),
			                          depth + 1, &v);
			if (r < 0)
				return r;
			if ((r = rego_vec_push(&items, v)) < 0)
				return r;
		}
		const struct rego_value *array = rego_vec_to_array(&items);
		if (!array)
			return -ENOMEM;
		*ret = array;
		return 0;
	}
	case YAML_MAPPING_NODE: {
		struct rego_member_vec members;
		rego_member_vec_init(&members, arena);
		for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
		     pair < node->data.mapping.pairs.top; pair++) {
			const struct rego_value *key, *v;
			r = key_from_yaml(arena, yaml_document_get_node(document, pair->key), &key);
			if (r < 0)
				return r;
			r = value_from_yaml_depth(arena, document,
			                          yaml_document_get_node(document, pair->value),
			                          depth + 1, &v);
			if (r < 0)
				return r;
			if ((r = rego_member_vec_push(&members, key, v)) < 0)
				return r;
		}
		const struct rego_value *object = rego_member_vec_to_object(&members);
		if (!object)
			return -ENOMEM;
		*ret = object;
		return 0;
	}
	default:
		return JIT_ERR_INVALID;
	}
}

int
conformance_value_from_yaml(struct rego_arena *arena, yaml_document_t *document, yaml_node_t *node,
                            const struct rego_value **ret)
{
	return value_from_yaml_depth(arena, document, node, 0, ret);
}

/* ---- rows ----------------------------------------------------------------------------- */

static int
compare_values_qsort(const void *a, const void *b)
{
	return rego_compare(*(const struct rego_value *const *)a,
	                    *(const struct rego_value *const *)b);
}

static const struct rego_value *
sorted_array(struct rego_arena *arena, const struct rego_value *array)
{
	if (array->length < 2)
		return array;
	const struct rego_value **items = rego_arena_alloc(arena, array->length * sizeof(*items));
	if (!items)
		return NULL;
	memcpy(items, array->u.items, array->length * sizeof(*items));
	qsort(items, array->length, sizeof(*items), compare_values_qsort);
	return rego_array(arena, items, array->length);
}

static bool
is_generated_var(const struct rego_value *key)
{
	static const char prefix[] = "__localq";
	return key->type == REGO_STRING && key->length >= sizeof(prefix) - 1 &&
	       memcmp(key->u.string, prefix, sizeof(prefix) - 1) == 0;
}

int
conformance_rows_normalize(struct rego_arena *arena, const struct rego_value *rows,
                           const struct conformance_row_options *options,
                           const struct rego_value **ret)
{
	if (rows->type != REGO_ARRAY)
		return JIT_ERR_INVALID;
	struct rego_vec out;
	rego_vec_init(&out, arena);
	for (uint32_t i = 0; i < rows->length; i++) {
		const struct rego_value *row = rows->u.items[i];
		if (row->type != REGO_OBJECT)
			return JIT_ERR_INVALID;
		struct rego_member_vec members;
		rego_member_vec_init(&members, arena);
		for (uint32_t m = 0; m < row->length; m++) {
			const struct rego_value *key = row->u.members[m].key;
			const struct rego_value *value = row->u.members[m].value;
			if (options->ignore_generated_vars && is_generated_var(key))
				continue;
			if (options->sort_bindings && value->type == REGO_ARRAY &&
			    !(value = sorted_array(arena, value)))
				return -ENOMEM;
			if (rego_member_vec_push(&members, key, value) < 0)
				return -ENOMEM;
		}
		const struct rego_value *normalized = rego_member_vec_to_object(&members);
		if (!normalized || rego_vec_push(&out, normalized) < 0)
			return -ENOMEM;
	}
	/* A set sorts and removes duplicate rows; hand it back as an array in that order. */
	const struct rego_value *set = rego_vec_to_set(&out);
	if (!set)
		return -ENOMEM;
	const struct rego_value *array = rego_array(arena, set->u.items, set->length);
	if (!array)
		return -ENOMEM;
	*ret = array;
	return 0;
}

static bool
big_equals_float(const struct rego_value *big, const struct rego_value *real)
{
	return strtod(big->u.big, NULL) == real->u.real;
}

bool
conformance_value_equal(const struct rego_value *a, const struct rego_value *b)
{
	if (a == b)
		return true;
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case REGO_NUMBER:
		if (a->number_kind == REGO_NUM_BIG && b->number_kind == REGO_NUM_FLOAT)
			return big_equals_float(a, b);
		if (a->number_kind == REGO_NUM_FLOAT && b->number_kind == REGO_NUM_BIG)
			return big_equals_float(b, a);
		return rego_compare(a, b) == 0;
	case REGO_ARRAY:
	case REGO_SET:
		if (a->length != b->length)
			return false;
		for (uint32_t i = 0; i < a->length; i++)
			if (!conformance_value_equal(a->u.items[i], b->u.items[i]))
				return false;
		return true;
	case REGO_OBJECT:
		if (a->length != b->length)
			return false;
		for (uint32_t i = 0; i < a->length; i++)
			if (!conformance_value_equal(a->u.members[i].key, b->u.members[i].key) ||
			    !conformance_value_equal(a->u.members[i].value, b->u.members[i].value))
				return false;
		return true;
	default:
		return rego_compare(a, b) == 0;
	}
}

/* True when every row of `rows` has an equal row in `other`. */
static bool
rows_covered(const struct rego_value *rows, const struct rego_value *other)
{
	for (uint32_t i = 0; i < rows->length; i++) {
		bool found = false;
		for (uint32_t j = 0; j < other->length && !found; j++)
			found = conformance_value_equal(rows->u.items[i], other->u.items[j]);
		if (!found)
			return false;
	}
	return true;
}

bool
conformance_rows_equal(const struct rego_value *want, const struct rego_value *got)
{
	return rows_covered(want, got) && rows_covered(got, want);
}
