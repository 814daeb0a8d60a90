/* Built-in functions: collections group. Arrays (array.concat, array.slice, array.reverse,
 * array.flatten), sets (intersection, union, the v0-only set_diff), objects (object.get,
 * object.keys, object.union, object.union_n, object.remove, object.filter, object.subset),
 * JSON documents (json.filter, json.remove, json.patch) and graphs (graph.reachable,
 * graph.reachable_paths). Values are immutable: every edit builds new values in ctx->arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rego/builtins.h"
#include "lib/rego/builtins_collections.h"

static int
result(struct rego_builtin_ctx *ctx, const struct rego_value *v, const struct rego_value **ret)
{
	if (!v)
		return rego_builtin_nomem(ctx);
	*ret = v;
	return 0;
}

/* ---- sets ----------------------------------------------------------------------------- */

const struct rego_value *
rego_set_combine(struct rego_arena *arena, const struct rego_value *a, const struct rego_value *b,
                 enum rego_set_operation operation)
{
	size_t capacity = operation == REGO_SET_UNION ? (size_t)a->length + b->length : a->length;
	if (capacity == 0)
		return &rego_empty_set;
	if (operation == REGO_SET_UNION && b->length == 0)
		return a;
	if (operation == REGO_SET_UNION && a->length == 0)
		return b;
	const struct rego_value **items = rego_arena_alloc(arena, capacity * sizeof(*items));
	if (!items)
		return NULL;
	size_t i = 0, j = 0, n = 0;
	while (i < a->length && j < b->length) {
		int c = rego_compare(a->u.items[i], b->u.items[j]);
		if (c < 0) {
			if (operation != REGO_SET_INTERSECTION)
				items[n++] = a->u.items[i];
			i++;
		} else if (c > 0) {
			if (operation == REGO_SET_UNION)
				items[n++] = b->u.items[j];
			j++;
		} else {
			if (operation != REGO_SET_DIFFERENCE)
				items[n++] = a->u.items[i];
			i++;
			j++;
		}
	}
	if (operation != REGO_SET_INTERSECTION)
		while (i < a->length)
			items[n++] = a->u.items[i++];
	if (operation == REGO_SET_UNION)
		while (j < b->length)
			items[n++] = b->u.items[j++];
	return rego_set(arena, items, n);
}

static int
builtin_intersection(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                     const struct rego_value **ret)
{
	const struct rego_value *sets = args[0];
	if (sets->type != REGO_SET)
		return rego_builtin_type_error(ctx, 1, "set", sets);
	for (size_t i = 0; i < sets->length; i++)
		if (sets->u.items[i]->type != REGO_SET)
			return rego_builtin_type_error(ctx, 1, "set", sets->u.items[i]);
	if (sets->length == 0) {
		*ret = &rego_empty_set;
		return 0;
	}
	const struct rego_value *acc = sets->u.items[0];
	for (size_t i = 1; i < sets->length && acc; i++)
		acc = rego_set_combine(ctx->arena, acc, sets->u.items[i], REGO_SET_INTERSECTION);
	return result(ctx, acc, ret);
}

static int
builtin_union(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	const struct rego_value *sets = args[0];
	struct rego_vec all;
	if (sets->type != REGO_SET)
		return rego_builtin_type_error(ctx, 1, "set", sets);
	rego_vec_init(&all, ctx->arena);
	for (size_t i = 0; i < sets->length; i++) {
		const struct rego_value *s = sets->u.items[i];
		if (s->type != REGO_SET)
			return rego_builtin_type_error(ctx, 1, "set", s);
		for (size_t j = 0; j < s->length; j++)
			if (rego_vec_push(&all, s->u.items[j]) < 0)
				return rego_builtin_nomem(ctx);
	}
	return result(ctx, rego_vec_to_set(&all), ret);
}

static int
builtin_set_diff(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	if (args[0]->type != REGO_SET)
		return rego_builtin_type_error(ctx, 1, "set", args[0]);
	if (args[1]->type != REGO_SET)
		return rego_builtin_type_error(ctx, 2, "set", args[1]);
	return result(ctx, rego_set_combine(ctx->arena, args[0], args[1], REGO_SET_DIFFERENCE),
	              ret);
}

/* ---- arrays --------------------------------------------------------------------------- */

static int
builtin_array_concat(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                     const struct rego_value **ret)
{
	const struct rego_value *a = args[0], *b = args[1];
	if (a->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 1, "array", a);
	if (b->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 2, "array", b);
	if (b->length == 0) {
		*ret = a;
		return 0;
	}
	if (a->length == 0) {
		*ret = b;
		return 0;
	}
	size_t n = (size_t)a->length + b->length;
	if (n > REGO_VALUE_MAX_LENGTH)
		return rego_builtin_nomem(ctx);
	const struct rego_value **items = rego_arena_alloc(ctx->arena, n * sizeof(*items));
	if (!items)
		return rego_builtin_nomem(ctx);
	memcpy(items, a->u.items, a->length * sizeof(*items));
	memcpy(items + a->length, b->u.items, b->length * sizeof(*items));
	return result(ctx, rego_array(ctx->arena, items, n), ret);
}

/* OPA's IntOperand: an integer that fits a machine int. */
static int
int_operand(struct rego_builtin_ctx *ctx, const struct rego_value *v, int pos, int64_t *ret)
{
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
builtin_array_slice(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	const struct rego_value *a = args[0];
	int64_t start, stop;
	int rc;
	if (a->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 1, "array", a);
	if ((rc = int_operand(ctx, args[1], 2, &start)) < 0 ||
	    (rc = int_operand(ctx, args[2], 3, &stop)) < 0)
		return rc;
	/* Clamped, as OPA does: never an error for indexes out of range. */
	if (stop < 0)
		stop = 0;
	else if (stop > a->length)
		stop = a->length;
	if (start < 0)
		start = 0;
	else if (start > stop)
		start = stop;
	if (stop == start) {
		*ret = &rego_empty_array;
		return 0;
	}
	return result(ctx, rego_array(ctx->arena, a->u.items + start, (size_t)(stop - start)), ret);
}

static int
builtin_array_reverse(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	const struct rego_value *a = args[0];
	if (a->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 1, "array", a);
	if (a->length < 2) {
		*ret = a;
		return 0;
	}
	const struct rego_value **items = rego_arena_alloc(ctx->arena, a->length * sizeof(*items));
	if (!items)
		return rego_builtin_nomem(ctx);
	for (size_t i = 0; i < a->length; i++)
		items[i] = a->u.items[a->length - 1 - i];
	return result(ctx, rego_array(ctx->arena, items, a->length), ret);
}

/* Flattens one level: nested arrays are spliced in, other members kept. */
static int
builtin_array_flatten(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	const struct rego_value *a = args[0];
	struct rego_vec items;
	if (a->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 1, "array", a);
	rego_vec_init(&items, ctx->arena);
	for (size_t i = 0; i < a->length; i++) {
		const struct rego_value *item = a->u.items[i];
		if (item->type != REGO_ARRAY) {
			if (rego_vec_push(&items, item) < 0)
				return rego_builtin_nomem(ctx);
			continue;
		}
		for (size_t j = 0; j < item->length; j++)
			if (rego_vec_push(&items, item->u.items[j]) < 0)
				return rego_builtin_nomem(ctx);
	}
	return result(ctx, rego_vec_to_array(&items), ret);
}

/* ---- objects -------------------------------------------------------------------------- */

/* The member of a collection at `key`: an object's value, a set's member, an array's element
 * at an integer index. NULL when absent or when `v` is not a collection. */
static const struct rego_value *
collection_child(const struct rego_value *v, const struct rego_value *key)
{
	int64_t index;
	switch (v->type) {
	case REGO_OBJECT:
		return rego_object_get(v, key);
	case REGO_SET:
		return rego_set_contains(v, key) ? key : NULL;
	case REGO_ARRAY:
		if (rego_number_int64(key, &index) && index >= 0 && (uint64_t)index < v->length)
			return v->u.items[index];
		return NULL;
	default:
		return NULL;
	}
}

static int
builtin_object_get(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	const struct rego_value *object = args[0], *key = args[1], *fallback = args[2];
	if (object->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", object);
	if (key->type != REGO_ARRAY) {
		const struct rego_value *v = rego_object_get(object, key);
		*ret = v ? v : fallback;
		return 0;
	}
	const struct rego_value *v = object;
	for (size_t i = 0; i < key->length && v; i++)
		v = collection_child(v, key->u.items[i]);
	*ret = v ? v : fallback;
	return 0;
}

static int
builtin_object_keys(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	const struct rego_value *object = args[0];
	if (object->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", object);
	if (object->length == 0) {
		*ret = &rego_empty_set;
		return 0;
	}
	const struct rego_value **keys =
	        rego_arena_alloc(ctx->arena, object->length * sizeof(*keys));
	if (!keys)
		return rego_builtin_nomem(ctx);
	for (size_t i = 0; i < object->length; i++)
		keys[i] = object->u.members[i].key;
	return result(ctx, rego_set(ctx->arena, keys, object->length), ret);
}

/* b's members over a's; where both values are objects they are merged the same way. */
static const struct rego_value *
object_merge(struct rego_arena *arena, const struct rego_value *a, const struct rego_value *b)
{
	if (b->length == 0 || a == b)
		return a;
	if (a->length == 0)
		return b;
	struct rego_member_vec out;
	rego_member_vec_init(&out, arena);
	size_t i = 0, j = 0;
	while (i < a->length || j < b->length) {
		int c = i == a->length   ? 1
		        : j == b->length ? -1
		                         : rego_compare(a->u.members[i].key, b->u.members[j].key);
		const struct rego_member *m;
		const struct rego_value *value;
		if (c < 0) {
			m = &a->u.members[i++];
			value = m->value;
		} else if (c > 0) {
			m = &b->u.members[j++];
			value = m->value;
		} else {
			const struct rego_value *x = a->u.members[i++].value;
			m = &b->u.members[j++];
			value = m->value;
			if (x->type == REGO_OBJECT && value->type == REGO_OBJECT)
				value = object_merge(arena, x, value);
			if (!value)
				return NULL;
		}
		if (rego_member_vec_push(&out, m->key, value) < 0)
			return NULL;
	}
	return rego_member_vec_to_object(&out);
}

static int
builtin_object_union(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                     const struct rego_value **ret)
{
	if (args[0]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", args[0]);
	if (args[1]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 2, "object", args[1]);
	return result(ctx, object_merge(ctx->arena, args[0], args[1]), ret);
}

static int
builtin_object_union_n(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                       const struct rego_value **ret)
{
	const struct rego_value *objects = args[0];
	if (objects->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 1, "array", objects);
	for (size_t i = 0; i < objects->length; i++)
		if (objects->u.items[i]->type != REGO_OBJECT)
			return rego_builtin_error(
			        ctx, REGO_ERR_TYPE,
			        "operand 1 must be array of objects but got array "
			        "containing %s",
			        rego_type_name(objects->u.items[i]));
	const struct rego_value *acc = &rego_empty_object;
	for (size_t i = 0; i < objects->length && acc; i++)
		acc = object_merge(ctx->arena, acc, objects->u.items[i]);
	return result(ctx, acc, ret);
}

/* The keys named by object.remove's and object.filter's second operand, as a set. */
static int
object_keys_operand(struct rego_builtin_ctx *ctx, const struct rego_value *v,
                    const struct rego_value **ret)
{
	switch (v->type) {
	case REGO_ARRAY:
		return result(ctx, rego_set(ctx->arena, v->u.items, v->length), ret);
	case REGO_SET:
		*ret = v;
		return 0;
	case REGO_OBJECT: {
		const struct rego_value *keys;
		const struct rego_value *arg[1] = { v };
		int rc = builtin_object_keys(ctx, arg, &keys);
		if (rc < 0)
			return rc;
		*ret = keys;
		return 0;
	}
	default:
		return rego_builtin_type_error(ctx, 2, "one of {object, set, array}", v);
	}
}

static int
object_select(struct rego_builtin_ctx *ctx, const struct rego_value *const *args, bool keep,
              const struct rego_value **ret)
{
	const struct rego_value *object = args[0], *keys = NULL;
	struct rego_member_vec out;
	int rc;
	if (object->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", object);
	if ((rc = object_keys_operand(ctx, args[1], &keys)) < 0)
		return rc;
	rego_member_vec_init(&out, ctx->arena);
	for (size_t i = 0; i < object->length; i++) {
		const struct rego_member *m = &object->u.members[i];
		if (rego_set_contains(keys, m->key) != keep)
			continue;
		if (rego_member_vec_push(&out, m->key, m->value) < 0)
			return rego_builtin_nomem(ctx);
	}
	return result(ctx, rego_member_vec_to_object(&out), ret);
}

static int
builtin_object_remove(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	return object_select(ctx, args, false, ret);
}

static int
builtin_object_filter(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	return object_select(ctx, args, true, ret);
}

static bool
set_subset(const struct rego_value *super, const struct rego_value *sub)
{
	for (size_t i = 0; i < sub->length; i++)
		if (!rego_set_contains(super, sub->u.items[i]))
			return false;
	return true;
}

/* `sub` appears as a contiguous run in `super`. */
static bool
array_subset(const struct rego_value *super, const struct rego_value *sub)
{
	if (sub->length > super->length)
		return false;
	for (size_t start = 0; start + sub->length <= super->length; start++) {
		size_t k = 0;
		while (k < sub->length && rego_equal(super->u.items[start + k], sub->u.items[k]))
			k++;
		if (k == sub->length)
			return true;
	}
	return false;
}

/* OPA counts matches of array members against the set, duplicates included, and an empty
 * array is never a superset. */
static bool
array_set_subset(const struct rego_value *super, const struct rego_value *sub)
{
	size_t unmatched = sub->length;
	for (size_t i = 0; i < super->length; i++) {
		if (rego_set_contains(sub, super->u.items[i]) && unmatched > 0)
			unmatched--;
		if (unmatched == 0)
			return true;
	}
	return false;
}

static bool
object_subset(const struct rego_value *super, const struct rego_value *sub)
{
	for (size_t i = 0; i < sub->length; i++) {
		const struct rego_value *want = sub->u.members[i].value;
		const struct rego_value *have = rego_object_get(super, sub->u.members[i].key);
		if (!have)
			return false;
		if (rego_equal(want, have))
			continue;
		if (want->type != have->type)
			return false;
		if (want->type == REGO_OBJECT && object_subset(have, want))
			continue;
		if (want->type == REGO_SET && set_subset(have, want))
			continue;
		if (want->type == REGO_ARRAY && array_subset(have, want))
			continue;
		return false;
	}
	return true;
}

static int
builtin_object_subset(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                      const struct rego_value **ret)
{
	const struct rego_value *super = args[0], *sub = args[1];
	if (super->type == REGO_OBJECT && sub->type == REGO_OBJECT)
		*ret = rego_bool(object_subset(super, sub));
	else if (super->type == REGO_SET && sub->type == REGO_SET)
		*ret = rego_bool(set_subset(super, sub));
	else if (super->type == REGO_ARRAY && sub->type == REGO_ARRAY)
		*ret = rego_bool(array_subset(super, sub));
	else if (super->type == REGO_ARRAY && sub->type == REGO_SET)
		*ret = rego_bool(array_set_subset(super, sub));
	else
		return rego_builtin_error(
		        ctx, REGO_ERR_TYPE,
		        "both arguments object.subset must be of the same type or "
		        "array and set");
	return 0;
}

/* ---- JSON paths ----------------------------------------------------------------------- */

/* Splits a JSON pointer ("/a/b~1c") into string segments, as OPA does: leading slashes are
 * dropped, "~1" means "/" and "~0" means "~"; "" is the empty path. An array is taken as the
 * segments themselves. Returns 0 with *ret an array of segments, 1 when `path` is neither a
 * string nor an array, or a negative code when out of memory. */
static int
json_path_segments(struct rego_builtin_ctx *ctx, const struct rego_value *path,
                   const struct rego_value **ret)
{
	if (path->type == REGO_ARRAY) {
		*ret = path;
		return 0;
	}
	if (path->type != REGO_STRING)
		return 1;
	struct rego_vec segments;
	rego_vec_init(&segments, ctx->arena);
	const char *s = path->u.string;
	size_t len = path->length, i = 0;
	if (len == 0) {
		*ret = &rego_empty_array;
		return 0;
	}
	while (i < len && s[i] == '/')
		i++;
	for (;;) {
		size_t end = i;
		while (end < len && s[end] != '/')
			end++;
		char *segment = rego_arena_alloc(ctx->arena, end - i + 1);
		if (!segment)
			return rego_builtin_nomem(ctx);
		/* Two passes as OPA's ReplaceAll calls: "~1" first, then "~0". */
		size_t n = 0;
		for (size_t k = i; k < end; k++) {
			if (s[k] == '~' && k + 1 < end && s[k + 1] == '1') {
				segment[n++] = '/';
				k++;
			} else {
				segment[n++] = s[k];
			}
		}
		size_t m = 0;
		for (size_t k = 0; k < n; k++) {
			if (segment[k] == '~' && k + 1 < n && segment[k + 1] == '0') {
				segment[m++] = '~';
				k++;
			} else {
				segment[m++] = segment[k];
			}
		}
		segment[m] = '\0';
		const struct rego_value *v = rego_string_wrap(ctx->arena, segment, m);
		if (!v || rego_vec_push(&segments, v) < 0)
			return rego_builtin_nomem(ctx);
		if (end >= len)
			break;
		i = end + 1;
	}
	return result(ctx, rego_vec_to_array(&segments), ret);
}

/* A tree of selected paths, as OPA's pathsToObject builds it: a leaf selects the whole value
 * beneath it. Children are kept in Rego order for binary search. */
struct path_node {
	const struct rego_value *key;
	bool leaf;
	struct path_node *children;
	size_t length, capacity;
};

static const struct path_node *
path_node_child(const struct path_node *node, const struct rego_value *key)
{
	size_t lo = 0, hi = node->length;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = rego_compare(node->children[mid].key, key);
		if (c == 0)
			return &node->children[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct path_node *
path_node_append(struct rego_arena *arena, struct path_node *node, const struct rego_value *key)
{
	if (node->length == node->capacity) {
		size_t capacity = node->capacity ? node->capacity * 2 : 4;
		void *p = rego_arena_realloc(arena, node->children,
		                             node->capacity * sizeof(*node->children),
		                             capacity * sizeof(*node->children));
		if (!p)
			return NULL;
		node->children = p;
		node->capacity = capacity;
	}
	/* A node with room has its children allocated; one that has not is refused. */
	if (!node->children)
		return NULL;
	struct path_node *child = &node->children[node->length++];
	memset(child, 0, sizeof(*child));
	child->key = key;
	return child;
}

/* Builds the tree from json.filter's or json.remove's second operand (an array or set of
 * paths). The paths are sorted first, so a node's children arrive in order and a path's
 * prefix always comes before it. */
static int
json_paths_tree(struct rego_builtin_ctx *ctx, const struct rego_value *operand,
                struct path_node *root)
{
	if (operand->type != REGO_ARRAY && operand->type != REGO_SET)
		return rego_builtin_type_error(ctx, 2, "one of {set, array}", operand);
	struct rego_vec paths;
	rego_vec_init(&paths, ctx->arena);
	for (size_t i = 0; i < operand->length; i++) {
		const struct rego_value *segments;
		int rc = json_path_segments(ctx, operand->u.items[i], &segments);
		if (rc < 0)
			return rc;
		if (rc > 0)
			return rego_builtin_error(
			        ctx, REGO_ERR_TYPE,
			        "operand 2 must be one of {set, array} containing "
			        "string paths or array of path segments but got %s",
			        rego_type_name(operand->u.items[i]));
		if (rego_vec_push(&paths, segments) < 0)
			return rego_builtin_nomem(ctx);
	}
	const struct rego_value *sorted = rego_vec_to_set(&paths);
	if (!sorted)
		return rego_builtin_nomem(ctx);
	memset(root, 0, sizeof(*root));
	for (size_t p = 0; p < sorted->length; p++) {
		const struct rego_value *path = sorted->u.items[p];
		struct path_node *node = root;
		for (size_t i = 0; i < path->length && !node->leaf; i++) {
			const struct rego_value *key = path->u.items[i];
			struct path_node *last =
			        node->length ? &node->children[node->length - 1] : NULL;
			struct path_node *child = last && rego_equal(last->key, key) ? last : NULL;
			if (!child && !(child = path_node_append(ctx->arena, node, key)))
				return rego_builtin_nomem(ctx);
			if (i + 1 == path->length) {
				child->leaf = true;
				child->length = 0;
			}
			node = child;
		}
	}
	return 0;
}

/* The child node an array element at `index` is selected by: the segment "<index>". */
static const struct path_node *
path_node_index_child(const struct path_node *node, size_t index)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%zu", index);
	struct rego_value key = { .type = REGO_STRING, .length = (uint32_t)n, .u.string = digits };
	return path_node_child(node, &key);
}

/* OPA's filterObject: keeps what the tree selects. Scalars under a non-leaf stay whole. */
static const struct rego_value *
json_filter_value(struct rego_arena *arena, const struct rego_value *v,
                  const struct path_node *node)
{
	if (node->leaf)
		return v;
	switch (v->type) {
	case REGO_ARRAY: {
		struct rego_vec out;
		rego_vec_init(&out, arena);
		for (size_t i = 0; i < v->length; i++) {
			const struct path_node *child = path_node_index_child(node, i);
			if (!child)
				continue;
			const struct rego_value *x = json_filter_value(arena, v->u.items[i], child);
			if (!x || rego_vec_push(&out, x) < 0)
				return NULL;
		}
		return rego_vec_to_array(&out);
	}
	case REGO_SET: {
		struct rego_vec out;
		rego_vec_init(&out, arena);
		for (size_t i = 0; i < v->length; i++) {
			const struct path_node *child = path_node_child(node, v->u.items[i]);
			if (!child)
				continue;
			const struct rego_value *x = json_filter_value(arena, v->u.items[i], child);
			if (!x || rego_vec_push(&out, x) < 0)
				return NULL;
		}
		return rego_vec_to_set(&out);
	}
	case REGO_OBJECT: {
		struct rego_member_vec out;
		rego_member_vec_init(&out, arena);
		for (size_t i = 0; i < v->length; i++) {
			const struct rego_member *m = &v->u.members[i];
			const struct path_node *child = path_node_child(node, m->key);
			if (!child)
				continue;
			const struct rego_value *x = json_filter_value(arena, m->value, child);
			if (!x || rego_member_vec_push(&out, m->key, x) < 0)
				return NULL;
		}
		return rego_member_vec_to_object(&out);
	}
	default:
		return v;
	}
}

/* Sentinel for "removed" in json_remove_value. */
static const struct rego_value removed_marker;

/* OPA's jsonRemove: drops what leaves select. Returns the new value, &removed_marker, or NULL
 * when out of memory. */
static const struct rego_value *
json_remove_value(struct rego_arena *arena, const struct rego_value *v,
                  const struct path_node *node)
{
	if (!node)
		return v;
	if (node->leaf)
		return &removed_marker;
	switch (v->type) {
	case REGO_ARRAY:
	case REGO_SET: {
		struct rego_vec out;
		rego_vec_init(&out, arena);
		for (size_t i = 0; i < v->length; i++) {
			const struct path_node *child =
			        v->type == REGO_ARRAY ? path_node_index_child(node, i)
			                              : path_node_child(node, v->u.items[i]);
			const struct rego_value *x = json_remove_value(arena, v->u.items[i], child);
			if (!x)
				return NULL;
			if (x != &removed_marker && rego_vec_push(&out, x) < 0)
				return NULL;
		}
		return v->type == REGO_ARRAY ? rego_vec_to_array(&out) : rego_vec_to_set(&out);
	}
	case REGO_OBJECT: {
		struct rego_member_vec out;
		rego_member_vec_init(&out, arena);
		for (size_t i = 0; i < v->length; i++) {
			const struct rego_member *m = &v->u.members[i];
			const struct rego_value *x =
			        json_remove_value(arena, m->value, path_node_child(node, m->key));
			if (!x)
				return NULL;
			if (x != &removed_marker && rego_member_vec_push(&out, m->key, x) < 0)
				return NULL;
		}
		return rego_member_vec_to_object(&out);
	}
	default:
		return v;
	}
}

static int
builtin_json_filter(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	struct path_node root;
	int rc;
	if (args[0]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", args[0]);
	if ((rc = json_paths_tree(ctx, args[1], &root)) < 0)
		return rc;
	return result(ctx, json_filter_value(ctx->arena, args[0], &root), ret);
}

static int
builtin_json_remove(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                    const struct rego_value **ret)
{
	struct path_node root;
	int rc;
	if (args[0]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", args[0]);
	if ((rc = json_paths_tree(ctx, args[1], &root)) < 0)
		return rc;
	const struct rego_value *v = json_remove_value(ctx->arena, args[0], &root);
	if (v == &removed_marker)
		return REGO_UNDEFINED;
	return result(ctx, v, ret);
}

/* ---- json.patch ----------------------------------------------------------------------- */

/* A patch step failed: json.patch is then undefined, as in OPA. */
#define PATCH_FAILED 1

/* OPA's toIndex: an integer, "-" for the end, or a decimal string without leading zeros. */
static bool
patch_array_index(const struct rego_value *array, const struct rego_value *segment, int64_t *ret)
{
	if (segment->type == REGO_NUMBER)
		return rego_number_int64(segment, ret);
	if (segment->type != REGO_STRING)
		return false;
	const char *s = segment->u.string;
	size_t len = segment->length, i = 0;
	if (len == 1 && s[0] == '-') {
		*ret = array->length;
		return true;
	}
	if (len > 1 && s[0] == '0')
		return false;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i == len || len - i > 18)
		return false;
	int64_t value = 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		value = value * 10 + (s[i] - '0');
	}
	*ret = s[0] == '-' ? -value : value;
	return true;
}

/* The child of a document at one path segment, or NULL. */
static const struct rego_value *
patch_child(const struct rego_value *doc, const struct rego_value *segment)
{
	int64_t index;
	switch (doc->type) {
	case REGO_OBJECT:
		return rego_object_get(doc, segment);
	case REGO_SET:
		return rego_set_contains(doc, segment) ? segment : NULL;
	case REGO_ARRAY:
		if (!patch_array_index(doc, segment, &index) || index < 0 || index >= doc->length)
			return NULL;
		return doc->u.items[index];
	default:
		return NULL;
	}
}

enum patch_edit {
	PATCH_INSERT,
	PATCH_DELETE,
	PATCH_REPLACE_CHILD, /* swap the child at the segment for a new value */
};

/* Applies one edit to `doc` at `segment`. Returns 0 with *ret the new document, PATCH_FAILED,
 * or -1 when out of memory. */
static int
patch_edit_at(struct rego_arena *arena, const struct rego_value *doc,
              const struct rego_value *segment, enum patch_edit edit,
              const struct rego_value *value, const struct rego_value **ret)
{
	switch (doc->type) {
	case REGO_OBJECT: {
		bool present = rego_object_get(doc, segment) != NULL;
		if (edit != PATCH_INSERT && !present)
			return PATCH_FAILED;
		struct rego_member_vec out;
		rego_member_vec_init(&out, arena);
		for (size_t i = 0; i < doc->length; i++) {
			const struct rego_member *m = &doc->u.members[i];
			if (rego_equal(m->key, segment))
				continue;
			if (rego_member_vec_push(&out, m->key, m->value) < 0)
				return -1;
		}
		if (edit != PATCH_DELETE && rego_member_vec_push(&out, segment, value) < 0)
			return -1;
		*ret = rego_member_vec_to_object(&out);
		return *ret ? 0 : -1;
	}
	case REGO_SET: {
		bool present = rego_set_contains(doc, segment);
		if (edit != PATCH_INSERT && !present)
			return PATCH_FAILED;
		/* A set's key is its member: an insert must name the value it adds. */
		if (edit == PATCH_INSERT && !rego_equal(segment, value))
			return PATCH_FAILED;
		struct rego_vec out;
		rego_vec_init(&out, arena);
		for (size_t i = 0; i < doc->length; i++)
			if (!rego_equal(doc->u.items[i], segment) &&
			    rego_vec_push(&out, doc->u.items[i]) < 0)
				return -1;
		if (edit != PATCH_DELETE && rego_vec_push(&out, value) < 0)
			return -1;
		*ret = rego_vec_to_set(&out);
		return *ret ? 0 : -1;
	}
	case REGO_ARRAY: {
		int64_t index;
		if (!patch_array_index(doc, segment, &index) || index < 0)
			return PATCH_FAILED;
		if (edit == PATCH_INSERT ? index > doc->length : index >= doc->length)
			return PATCH_FAILED;
		size_t n = doc->length, at = (size_t)index;
		size_t out_n = edit == PATCH_INSERT ? n + 1 : edit == PATCH_DELETE ? n - 1 : n;
		const struct rego_value **items =
		        rego_arena_alloc(arena, (out_n + 1) * sizeof(*items));
		if (!items)
			return -1;
		const struct rego_value *const *in = doc->u.items;
		size_t after = n - at - (edit == PATCH_INSERT ? 0 : 1);
		size_t resume = at + (edit == PATCH_INSERT ? 0 : 1);
		size_t out_at = at + (edit == PATCH_DELETE ? 0 : 1);
		if (at > 0)
			memcpy(items, in, at * sizeof(*items));
		if (edit != PATCH_DELETE)
			items[at] = value;
		if (after > 0)
			memcpy(items + out_at, in + resume, after * sizeof(*items));
		*ret = rego_array(arena, items, out_n);
		return *ret ? 0 : -1;
	}
	default:
		return PATCH_FAILED;
	}
}

/* Inserts (value != NULL) or deletes (value == NULL) at path[from..] inside doc, rebuilding
 * the documents along the way. The path has at least one segment. */
static int
patch_apply(struct rego_arena *arena, const struct rego_value *doc, const struct rego_value *path,
            size_t from, const struct rego_value *value, const struct rego_value **ret)
{
	const struct rego_value *segment = path->u.items[from];
	if (from + 1 == path->length)
		return patch_edit_at(arena, doc, segment, value ? PATCH_INSERT : PATCH_DELETE,
		                     value, ret);
	const struct rego_value *child = patch_child(doc, segment), *new_child;
	if (!child)
		return PATCH_FAILED;
	int rc = patch_apply(arena, child, path, from + 1, value, &new_child);
	if (rc != 0)
		return rc;
	if (doc->type == REGO_SET) {
		/* The member itself changes: take the old one out, put the new one in. */
		const struct rego_value *without;
		rc = patch_edit_at(arena, doc, child, PATCH_DELETE, NULL, &without);
		if (rc != 0)
			return rc;
		return patch_edit_at(arena, without, new_child, PATCH_INSERT, new_child, ret);
	}
	return patch_edit_at(arena, doc, segment, PATCH_REPLACE_CHILD, new_child, ret);
}

static const struct rego_value *
patch_get(const struct rego_value *doc, const struct rego_value *path)
{
	for (size_t i = 0; i < path->length && doc; i++)
		doc = patch_child(doc, path->u.items[i]);
	return doc;
}

/* Inserts at a path; the empty path replaces the whole document. *doc may be NULL (deleted). */
static int
patch_insert(struct rego_arena *arena, const struct rego_value **doc, const struct rego_value *path,
             const struct rego_value *value)
{
	if (path->length == 0) {
		*doc = value;
		return 0;
	}
	if (!*doc)
		return PATCH_FAILED;
	return patch_apply(arena, *doc, path, 0, value, doc);
}

static int
patch_delete(struct rego_arena *arena, const struct rego_value **doc, const struct rego_value *path)
{
	if (!*doc)
		return PATCH_FAILED;
	if (path->length == 0) {
		*doc = NULL;
		return 0;
	}
	return patch_apply(arena, *doc, path, 0, NULL, doc);
}

/* One operation of a JSON patch. Returns 0, PATCH_FAILED, or a negative code. */
static int
patch_operation(struct rego_builtin_ctx *ctx, const struct rego_value **doc,
                const struct rego_value *op)
{
	if (op->type != REGO_OBJECT)
		return PATCH_FAILED;
	const struct rego_value *name = rego_object_get_string(op, "op", 2);
	if (!name || name->type != REGO_STRING)
		return PATCH_FAILED;
	static const char *const names[] = { "add", "remove", "replace", "move", "copy", "test" };
	size_t kind = sizeof(names) / sizeof(names[0]);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == name->length &&
		    memcmp(names[i], name->u.string, name->length) == 0)
			kind = i;
	if (kind == sizeof(names) / sizeof(names[0]))
		return PATCH_FAILED;
	bool wants_from = kind == 3 || kind == 4, wants_value = kind == 0 || kind == 2 || kind == 5;
	const struct rego_value *path_value = rego_object_get_string(op, "path", 4);
	const struct rego_value *from_value = rego_object_get_string(op, "from", 4);
	const struct rego_value *value = rego_object_get_string(op, "value", 5);
	if (!path_value || (wants_from && !from_value) || (wants_value && !value))
		return PATCH_FAILED;
	const struct rego_value *path, *from = NULL, *chunk;
	int rc = json_path_segments(ctx, path_value, &path);
	if (rc == 0 && wants_from)
		rc = json_path_segments(ctx, from_value, &from);
	if (rc != 0)
		return rc > 0 ? PATCH_FAILED : rc;
	switch (kind) {
	case 0: /* add */
		return patch_insert(ctx->arena, doc, path, value);
	case 1: /* remove */
		return patch_delete(ctx->arena, doc, path);
	case 2: /* replace */
		if ((rc = patch_delete(ctx->arena, doc, path)) != 0)
			return rc;
		return patch_insert(ctx->arena, doc, path, value);
	case 3: /* move */
	case 4: /* copy */
		if (!*doc || !(chunk = patch_get(*doc, from)))
			return PATCH_FAILED;
		if (kind == 3 && (rc = patch_delete(ctx->arena, doc, from)) != 0)
			return rc;
		return patch_insert(ctx->arena, doc, path, chunk);
	default: /* test */
		if (!*doc || !(chunk = patch_get(*doc, path)))
			return PATCH_FAILED;
		return rego_equal(chunk, value) ? 0 : PATCH_FAILED;
	}
}

static int
builtin_json_patch(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                   const struct rego_value **ret)
{
	const struct rego_value *doc = args[0], *ops = args[1];
	if (ops->type != REGO_ARRAY)
		return rego_builtin_type_error(ctx, 2, "array", ops);
	for (size_t i = 0; i < ops->length; i++) {
		int rc = patch_operation(ctx, &doc, ops->u.items[i]);
		if (rc == PATCH_FAILED)
			return REGO_UNDEFINED;
		if (rc < 0)
			return rc == -1 ? rego_builtin_nomem(ctx) : rc;
	}
	if (!doc)
		return REGO_UNDEFINED;
	*ret = doc;
	return 0;
}

/* ---- graphs --------------------------------------------------------------------------- */

/* An open-addressing set of values (hash and Rego equality), for visited nodes. */
struct value_table {
	struct rego_arena *arena;
	const struct rego_value **slots;
	size_t capacity, length;
};

static bool
value_table_contains(const struct value_table *t, const struct rego_value *v)
{
	if (t->capacity == 0)
		return false;
	for (size_t i = rego_hash(v) & (t->capacity - 1);; i = (i + 1) & (t->capacity - 1)) {
		if (!t->slots[i])
			return false;
		if (rego_equal(t->slots[i], v))
			return true;
	}
}

/* Adds v; returns 1 when added, 0 when already present, -1 when out of memory. */
static int
value_table_add(struct value_table *t, const struct rego_value *v)
{
	if (value_table_contains(t, v))
		return 0;
	if ((t->length + 1) * 2 > t->capacity) {
		size_t capacity = t->capacity ? t->capacity * 2 : 16;
		const struct rego_value **slots =
		        rego_arena_zalloc(t->arena, capacity * sizeof(*slots));
		if (!slots)
			return -1;
		for (size_t i = 0; i < t->capacity; i++) {
			if (!t->slots[i])
				continue;
			size_t j = rego_hash(t->slots[i]) & (capacity - 1);
			while (slots[j])
				j = (j + 1) & (capacity - 1);
			slots[j] = t->slots[i];
		}
		t->slots = slots;
		t->capacity = capacity;
	}
	size_t i = rego_hash(v) & (t->capacity - 1);
	while (t->slots[i])
		i = (i + 1) & (t->capacity - 1);
	t->slots[i] = v;
	t->length++;
	return 1;
}

/* Number of neighbours in an edge list: only arrays and sets hold any. */
static size_t
edge_count(const struct rego_value *edges)
{
	return edges->type == REGO_ARRAY || edges->type == REGO_SET ? edges->length : 0;
}

static int
graph_operands(struct rego_builtin_ctx *ctx, const struct rego_value *const *args)
{
	if (args[0]->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", args[0]);
	if (args[1]->type != REGO_ARRAY && args[1]->type != REGO_SET)
		return rego_builtin_type_error(ctx, 2, "{array, set}", args[1]);
	return 0;
}

static int
builtin_graph_reachable(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                        const struct rego_value **ret)
{
	const struct rego_value *graph = args[0], *initial = args[1];
	struct value_table reached = { .arena = ctx->arena };
	struct rego_vec queue, found;
	int rc;
	if ((rc = graph_operands(ctx, args)) < 0)
		return rc;
	rego_vec_init(&queue, ctx->arena);
	rego_vec_init(&found, ctx->arena);
	for (size_t i = 0; i < initial->length; i++)
		if (rego_vec_push(&queue, initial->u.items[i]) < 0)
			return rego_builtin_nomem(ctx);
	for (size_t q = 0; q < queue.length; q++) {
		const struct rego_value *node = queue.items[q];
		const struct rego_value *edges = rego_object_get(graph, node);
		if (!edges)
			continue;
		if ((rc = value_table_add(&reached, node)) < 0)
			return rego_builtin_nomem(ctx);
		if (rc == 0)
			continue;
		if (rego_vec_push(&found, node) < 0)
			return rego_builtin_nomem(ctx);
		for (size_t i = 0; i < edge_count(edges); i++)
			if (!value_table_contains(&reached, edges->u.items[i]) &&
			    rego_vec_push(&queue, edges->u.items[i]) < 0)
				return rego_builtin_nomem(ctx);
	}
	return result(ctx, rego_vec_to_set(&found), ret);
}

/* One level of the depth-first walk of graph.reachable_paths. */
struct path_frame {
	const struct rego_value *node, *edges;
	size_t next;
};

static int
commit_path(struct rego_vec *paths, const struct path_frame *frames, size_t depth,
            const struct rego_value *extra)
{
	struct rego_vec path;
	rego_vec_init(&path, paths->arena);
	for (size_t i = 0; i < depth; i++)
		if (rego_vec_push(&path, frames[i].node) < 0)
			return -1;
	if (extra && rego_vec_push(&path, extra) < 0)
		return -1;
	const struct rego_value *v = rego_vec_to_array(&path);
	return v && rego_vec_push(paths, v) == 0 ? 0 : -1;
}

/* Every path from each start node, as OPA's pathBuilder finds them: a path ends at a node with
 * no edges, before a node missing from the graph, or where it would close a cycle. */
static int
builtin_graph_reachable_paths(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                              const struct rego_value **ret)
{
	const struct rego_value *graph = args[0], *initial = args[1];
	struct rego_vec paths;
	int rc;
	if ((rc = graph_operands(ctx, args)) < 0)
		return rc;
	rego_vec_init(&paths, ctx->arena);
	/* A path never repeats a node, so it is at most as deep as the graph has nodes. */
	struct path_frame *frames =
	        rego_arena_alloc(ctx->arena, ((size_t)graph->length + 1) * sizeof(*frames));
	if (!frames)
		return rego_builtin_nomem(ctx);
	for (size_t s = 0; s < initial->length; s++) {
		const struct rego_value *start = initial->u.items[s];
		const struct rego_value *edges = rego_object_get(graph, start);
		if (!edges)
			continue;
		frames[0] = (struct path_frame){ .node = start, .edges = edges };
		if (edge_count(edges) == 0) {
			if (commit_path(&paths, frames, 1, NULL) < 0)
				return rego_builtin_nomem(ctx);
			continue;
		}
		size_t depth = 1;
		while (depth > 0) {
			struct path_frame *top = &frames[depth - 1];
			if (top->next == edge_count(top->edges)) {
				depth--;
				continue;
			}
			const struct rego_value *neighbour = top->edges->u.items[top->next++];
			bool on_path = false;
			for (size_t i = 0; i < depth && !on_path; i++)
				on_path = rego_equal(frames[i].node, neighbour);
			const struct rego_value *next =
			        on_path ? NULL : rego_object_get(graph, neighbour);
			if (on_path || !next) {
				rc = commit_path(&paths, frames, depth, NULL);
			} else if (edge_count(next) == 0 || depth >= graph->length) {
				rc = commit_path(&paths, frames, depth, neighbour);
			} else {
				frames[depth++] =
				        (struct path_frame){ .node = neighbour, .edges = next };
				rc = 0;
			}
			if (rc < 0)
				return rego_builtin_nomem(ctx);
		}
	}
	return result(ctx, rego_vec_to_set(&paths), ret);
}

const struct rego_builtin rego_builtins_collections[] = {
	{ "array.concat", 2, 0, builtin_array_concat },
	{ "array.flatten", 1, 0, builtin_array_flatten },
	{ "array.reverse", 1, 0, builtin_array_reverse },
	{ "array.slice", 3, 0, builtin_array_slice },
	{ "graph.reachable", 2, 0, builtin_graph_reachable },
	{ "graph.reachable_paths", 2, 0, builtin_graph_reachable_paths },
	{ "intersection", 1, 0, builtin_intersection },
	{ "json.filter", 2, 0, builtin_json_filter },
	{ "json.patch", 2, 0, builtin_json_patch },
	{ "json.remove", 2, 0, builtin_json_remove },
	{ "object.filter", 2, 0, builtin_object_filter },
	{ "object.get", 3, 0, builtin_object_get },
	{ "object.keys", 1, 0, builtin_object_keys },
	{ "object.remove", 2, 0, builtin_object_remove },
	{ "object.subset", 2, 0, builtin_object_subset },
	{ "object.union", 2, 0, builtin_object_union },
	{ "object.union_n", 1, 0, builtin_object_union_n },
	{ "set_diff", 2, REGO_BUILTIN_DEPRECATED, builtin_set_diff },
	{ "union", 1, 0, builtin_union },
	{ NULL, 0, 0, NULL },
};
