/* Unit tests of the collections built-ins: arrays, set algebra, objects, json.filter,
 * json.remove, json.patch and graph reachability. Expected values come from the OPA
 * conformance cases. */
#include "lib/rego/tests/builtins_test_call.h"

static void
test_arrays(void **state)
{
	EXPECT("[1, 2, 3, 4]", "array.concat", J("[1, 2]"), J("[3, 4]"));
	EXPECT("[3]", "array.concat", J("[]"), J("[3]"));
	EXPECT("[]", "array.concat", J("[]"), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be array but got object", "array.concat",
	             J("{}"), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be array but got object", "array.concat",
	             J("[]"), J("{}"));

	EXPECT("[2, 3]", "array.slice", J("[1, 2, 3, 4]"), J("1"), J("3"));
	EXPECT("[1, 2, 3, 4]", "array.slice", J("[1, 2, 3, 4]"), J("-5"), J("10"));
	EXPECT("[]", "array.slice", J("[1, 2, 3, 4]"), J("3"), J("1"));
	EXPECT("[]", "array.slice", J("[1, 2, 3, 4]"), J("5"), J("10"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be integer number but got floating-point number",
	             "array.slice", J("[1]"), J("0.5"), J("1"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 3 must be number but got string", "array.slice",
	             J("[1]"), J("0"), J("\"1\""));

	EXPECT("[3, 2, 1]", "array.reverse", J("[1, 2, 3]"));
	EXPECT("[]", "array.reverse", J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be array but got object", "array.reverse",
	             J("{}"));

	EXPECT("[]", "array.flatten", J("[]"));
	EXPECT("[1, 2, 3, 4, 5]", "array.flatten", J("[[1, 2], [3, 4], [5]]"));
	EXPECT("[[1], [2, 3, []], [4, 5]]", "array.flatten", J("[[[1], [2, 3, []]], [[4, 5]]]"));
	EXPECT("[1, 2, \"string\", 3, {\"a\": \"b\"}, 4.5, 6, [7, 8]]", "array.flatten",
	       J("[[1, 2], \"string\", [3, {\"a\": \"b\"}], 4.5, [6, [7, 8]]]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be array but got number", "array.flatten",
	             J("42"));
}

static void
test_sets(void **state)
{
	EXPECT("{2}", "intersection", SS("[[1, 2], [2, 3]]"));
	EXPECT("set()", "intersection", SS("[]"));
	EXPECT("set()", "intersection", SS("[[1], [2]]"));
	EXPECT("{1, 2, 3}", "union", SS("[[1, 2], [2, 3]]"));
	EXPECT("set()", "union", SS("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be set but got array", "union", J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be set but got number", "intersection",
	             S("[1]"));
	EXPECT("{1}", "set_diff", S("[1, 2]"), S("[2, 3]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be set but got array", "set_diff", S("[1]"),
	             J("[1]"));
	assert_null(rego_builtin_lookup("set_diff", 8, true));
}

static void
test_object_get_keys(void **state)
{
	EXPECT("\"b\"", "object.get", J("{\"a\": \"b\"}"), J("\"a\""), J("\"c\""));
	EXPECT("\"c\"", "object.get", J("{\"a\": \"b\"}"), J("\"c\""), J("\"c\""));
	EXPECT("{\"a\": 1}", "object.get", J("{\"a\": 1}"), J("[]"), J("2"));
	EXPECT("1", "object.get", J("{\"a\": {\"b\": {\"c\": 1}}}"), J("[\"a\", \"b\", \"c\"]"),
	       J("2"));
	EXPECT("2", "object.get", J("{\"a\": {\"b\": {\"c\": 1}}}"), J("[\"a\", \"b\", \"a\"]"),
	       J("2"));
	EXPECT("2", "object.get", J("{\"a\": {\"b\": [1, 2, 3]}}"), J("[\"a\", \"b\", \"a\"]"),
	       J("2"));
	EXPECT("1", "object.get", J("{\"a\": {\"b\": [{\"c\": 1}]}}"),
	       J("[\"a\", \"b\", 0, \"c\"]"), J("2"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got string", "object.get",
	             J("\"object\""), J("[\"a\"]"), J("2"));

	EXPECT("{\"a\", \"b\"}", "object.keys", J("{\"b\": 1, \"a\": 2}"));
	EXPECT("set()", "object.keys", J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got string", "object.keys",
	             J("\"a\""));
}

static void
test_object_union(void **state)
{
	EXPECT("{\"a\": 2, \"b\": 1, \"c\": 3}", "object.union", J("{\"a\": 1, \"b\": 1}"),
	       J("{\"a\": 2, \"c\": 3}"));
	EXPECT("{\"a\": {\"b\": 1, \"c\": 2}}", "object.union", J("{\"a\": {\"b\": 1}}"),
	       J("{\"a\": {\"c\": 2}}"));
	EXPECT("{\"a\": 4}", "object.union", J("{\"a\": {\"b\": 1}}"), J("{\"a\": 4}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be object but got array", "object.union",
	             J("{}"), J("[]"));

	EXPECT("{}", "object.union_n", J("[{}]"));
	EXPECT("{}", "object.union_n", J("[]"));
	EXPECT("{\"foo\": \"baz\"}", "object.union_n",
	       J("[{\"foo\": \"bar\"}, {\"foo\": \"baz\"}]"));
	EXPECT("{\"a\": \"final A!\", \"b\": 2, \"c\": 3, \"d\": 4, \"e\": 5, \"foo\": \"baz\"}",
	       "object.union_n",
	       J("[{\"a\": 1, \"b\": 2, \"c\": 3}, {\"foo\": \"baz\", \"a\": \"a\", \"b\": 2, "
	         "\"d\": 4}, {\"a\": \"final A!\", \"e\": 5.0}]"));
	EXPECT("{\"a\": {\"c\": 3}}", "object.union_n",
	       J("[{\"a\": {\"b\": 2}}, {\"a\": 4}, {\"a\": {\"c\": 3}}]"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 1 must be array of objects but got array containing string",
	             "object.union_n", J("[{\"foo\": 1}, {\"bar\": 2}, \"baz\"]"));
}

static void
test_object_remove_filter(void **state)
{
	EXPECT("{\"b\": 2}", "object.remove", J("{\"a\": 1, \"b\": 2}"), J("[\"a\"]"));
	EXPECT("{\"b\": 2}", "object.remove", J("{\"a\": 1, \"b\": 2}"), S("[\"a\", \"c\"]"));
	EXPECT("{\"b\": 2}", "object.remove", J("{\"a\": 1, \"b\": 2}"), J("{\"a\": 0}"));
	EXPECT("{}", "object.remove", J("{\"a\": 1}"), J("[\"a\"]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got array", "object.remove",
	             J("[]"), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be one of {object, set, array} but got string",
	             "object.remove", J("{}"), J("\"a\""));

	EXPECT("{\"a\": 1}", "object.filter", J("{\"a\": 1, \"b\": 2}"), J("[\"a\", \"c\"]"));
	EXPECT("{\"a\": 1}", "object.filter", J("{\"a\": 1, \"b\": 2}"), S("[\"a\"]"));
	EXPECT("{\"b\": 2}", "object.filter", J("{\"a\": 1, \"b\": 2}"), J("{\"b\": null}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got null", "object.filter",
	             J("null"), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be one of {object, set, array} but got number",
	             "object.filter", J("{}"), J("1"));
}

static void
test_object_subset(void **state)
{
	EXPECT("true", "object.subset", J("{\"a\": 5, \"b\": 7}"), J("{\"a\": 5}"));
	EXPECT("false", "object.subset", J("{\"a\": 5}"), J("{\"a\": 5, \"b\": 7}"));
	EXPECT("false", "object.subset", J("{\"a\": 5, \"b\": 7}"), J("{\"a\": 5, \"b\": 10}"));
	EXPECT("true", "object.subset",
	       J("{\"a\": 5, \"n\": {\"x\": 10, \"y\": 15, \"arr\": [6, 7, 8, 9]}}"),
	       J("{\"n\": {\"x\": 10, \"arr\": [7, 8]}}"));
	EXPECT("true", "object.subset", S("[1, 2, 3]"), S("[3, 2]"));
	EXPECT("false", "object.subset", S("[3, 2]"), S("[1, 2, 3]"));
	EXPECT("true", "object.subset", J("[1, 2, 3, 4, 5, 6]"), J("[3, 4, 5]"));
	EXPECT("false", "object.subset", J("[1, 2, 3, 4, 5, 6]"), J("[3, 5]"));
	EXPECT("true", "object.subset", J("[1, 2, 1, 2, 3]"), J("[1, 2, 3]"));
	EXPECT("true", "object.subset", J("[1, 2, 3]"), J("[]"));
	EXPECT("true", "object.subset", J("[3, 1, 2]"), S("[1, 2]"));
	EXPECT("false", "object.subset", J("[3, 1]"), S("[1, 2]"));
	EXPECT("false", "object.subset", J("[]"), S("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "both arguments object.subset must be of the same type or array and set",
	             "object.subset", S("[1]"), J("[1]"));
}

static void
test_json_filter(void **state)
{
	EXPECT("{\"a\": {\"b\": 1}}", "json.filter", J("{\"a\": {\"b\": 1, \"c\": 2}, \"d\": 3}"),
	       J("[\"a/b\"]"));
	EXPECT("{\"a\": {\"b\": 1, \"c\": 2}}", "json.filter",
	       J("{\"a\": {\"b\": 1, \"c\": 2}, \"d\": 3}"), S("[\"a\", \"a/b\"]"));
	EXPECT("{\"a\": [{\"x\": 1}]}", "json.filter",
	       J("{\"a\": [{\"x\": 1, \"y\": 2}, {\"x\": 3}]}"), J("[\"/a/0/x\"]"));
	EXPECT("{\"a/b\": 1}", "json.filter", J("{\"a/b\": 1, \"c\": 2}"), J("[\"a~1b\"]"));
	EXPECT("{\"a\": 1}", "json.filter", J("{\"a\": 1, \"c\": 2}"), J("[[\"a\", \"b\"]]"));
	EXPECT("{}", "json.filter", J("{\"a\": 1}"), J("[\"\"]"));
	struct rego_member m = { J("\"a\""), S("[\"b\", \"c\"]") };
	EXPECT("{\"a\": {\"c\"}}", "json.filter", rego_object(&fx->arena, &m, 1),
	       J("[\"a/c\", \"a/d\"]"));
	EXPECT("{\"a\": {\"b\"}}", "json.remove", rego_object(&fx->arena, &m, 1),
	       J("[\"a/c\", \"a/d\"]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got number", "json.filter",
	             J("1"), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be one of {set, array} but got string",
	             "json.filter", J("{}"), J("\"a\""));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be one of {set, array} containing string paths or array of "
	             "path segments but got number",
	             "json.filter", J("{}"), J("[1]"));
}

static void
test_json_remove(void **state)
{
	EXPECT("{\"a\": {\"c\": 2}, \"d\": 3}", "json.remove",
	       J("{\"a\": {\"b\": 1, \"c\": 2}, \"d\": 3}"), J("[\"a/b\"]"));
	EXPECT("{\"d\": 3}", "json.remove", J("{\"a\": {\"b\": 1, \"c\": 2}, \"d\": 3}"),
	       S("[\"a/b\", \"a\"]"));
	EXPECT("{\"a\": [1, 3]}", "json.remove", J("{\"a\": [1, 2, 3]}"), J("[\"/a/1\"]"));
	EXPECT("{\"a\": [1, 2, 3]}", "json.remove", J("{\"a\": [1, 2, 3]}"), J("[[\"a\", 1]]"));
	EXPECT("{\"a\": [1, 2, 3]}", "json.remove", J("{\"a\": [1, 2, 3]}"), J("[\"\"]"));
	EXPECT("{}", "json.remove", J("{\"a\": {\"b\": 1}}"), J("[[\"a\"]]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got boolean", "json.remove",
	             J("true"), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be one of {set, array} but got object",
	             "json.remove", J("{}"), J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be one of {set, array} containing string paths or array of "
	             "path segments but got object",
	             "json.remove", J("{}"), J("[\"a\", {\"x\": 1}]"));
}

static void
test_json_patch(void **state)
{
	EXPECT("{\"baz\": \"qux\", \"foo\": \"bar\"}", "json.patch", J("{\"foo\": \"bar\"}"),
	       J("[{\"op\": \"add\", \"path\": \"/baz\", \"value\": \"qux\"}]"));
	EXPECT("{\"foo\": [\"bar\", \"qux\", \"baz\"]}", "json.patch",
	       J("{\"foo\": [\"bar\", \"baz\"]}"),
	       J("[{\"op\": \"add\", \"path\": \"/foo/1\", \"value\": \"qux\"}]"));
	EXPECT("{\"foo\": [\"bar\", \"baz\"]}", "json.patch",
	       J("{\"foo\": [\"bar\", \"qux\", \"baz\"]}"),
	       J("[{\"op\": \"remove\", \"path\": \"/foo/1\"}]"));
	EXPECT("{\"foo\": {\"bar\": \"baz\"}, \"qux\": {\"corge\": \"grault\", \"thud\": "
	       "\"fred\"}}",
	       "json.patch",
	       J("{\"foo\": {\"bar\": \"baz\", \"waldo\": \"fred\"}, \"qux\": {\"corge\": "
	         "\"grault\"}}"),
	       J("[{\"op\": \"move\", \"from\": \"/foo/waldo\", \"path\": \"/qux/thud\"}]"));
	EXPECT("{\"foo\": [\"all\", \"cows\", \"eat\", \"grass\"]}", "json.patch",
	       J("{\"foo\": [\"all\", \"grass\", \"cows\", \"eat\"]}"),
	       J("[{\"op\": \"move\", \"from\": \"/foo/1\", \"path\": \"/foo/3\"}]"));
	EXPECT("[1, 3]", "json.patch", J("[1, 2, 3, 4]"),
	       J("[{\"op\": \"remove\", \"path\": \"/1\"}, {\"op\": \"remove\", \"path\": "
	         "\"/2\"}]"));
	EXPECT("[\"hi\"]", "json.patch", J("[]"),
	       J("[{\"op\": \"add\", \"path\": \"/-\", \"value\": \"hi\"}]"));
	EXPECT("{\"\": 1}", "json.patch", J("{}"),
	       J("[{\"op\": \"add\", \"path\": \"/\", \"value\": 1}]"));
	EXPECT("[]", "json.patch", J("{}"),
	       J("[{\"op\": \"add\", \"path\": \"\", \"value\": []}]"));
	EXPECT("{\"baz\": \"qux\"}", "json.patch", J("{\"foo\": \"bar\"}"),
	       J("[{\"op\": \"replace\", \"path\": \"\", \"value\": {\"baz\": \"qux\"}}]"));
	EXPECT("{\"/\": 9, \"~1\": 10}", "json.patch", J("{\"/\": 9, \"~1\": 10}"),
	       J("[{\"op\": \"test\", \"path\": \"/~01\", \"value\": 10}]"));
	EXPECT("{\"bar\": 1, \"baz\": [{\"qux\": \"hello\"}], \"boo\": {\"qux\": \"hello\"}}",
	       "json.patch", J("{\"baz\": [{\"qux\": \"hello\"}], \"bar\": 1}"),
	       J("[{\"op\": \"copy\", \"from\": \"/baz/0\", \"path\": \"/boo\"}]"));
	/* Failures make the result undefined. */
	EXPECT_UNDEFINED("json.patch", J("{\"q\": {\"bar\": 2}}"),
	                 J("[{\"op\": \"add\", \"path\": \"/a/b\", \"value\": 1}]"));
	EXPECT_UNDEFINED("json.patch", J("{\"baz\": \"qux\"}"),
	                 J("[{\"op\": \"test\", \"path\": \"/baz\", \"value\": \"bar\"}]"));
	EXPECT_UNDEFINED("json.patch", J("{\"bar\": [1, 2]}"),
	                 J("[{\"op\": \"add\", \"path\": \"/bar/8\", \"value\": \"5\"}]"));
	EXPECT_UNDEFINED("json.patch", J("{\"bar\": [1, 2]}"),
	                 J("[{\"op\": \"add\", \"path\": \"/bar/-1\", \"value\": \"5\"}]"));
	EXPECT_UNDEFINED("json.patch", J("[\"foo\", \"bar\"]"),
	                 J("[{\"op\": \"test\", \"path\": \"/1e0\", \"value\": \"bar\"}]"));
	EXPECT_UNDEFINED("json.patch", J("[\"foo\", \"bar\"]"),
	                 J("[{\"op\": \"test\", \"path\": \"/01\", \"value\": \"bar\"}]"));
	EXPECT_UNDEFINED("json.patch", J("{\"foo\": 1}"),
	                 J("[{\"op\": \"spam\", \"path\": \"/foo\", \"value\": 1}]"));
	EXPECT_UNDEFINED("json.patch", J("{}"), J("[{\"op\": \"add\", \"value\": \"bar\"}]"));
	EXPECT_UNDEFINED("json.patch", J("{}"),
	                 J("[{\"op\": \"add\", \"path\": null, \"value\": \"bar\"}]"));
	EXPECT_UNDEFINED("json.patch", J("[1]"), J("[{\"op\": \"copy\", \"path\": \"/-\"}]"));
	EXPECT_UNDEFINED("json.patch", J("{\"foo\": \"bar\"}"),
	                 J("[{\"op\": \"remove\", \"path\": \"/baz\"}]"));
	EXPECT_UNDEFINED("json.patch", J("[\"foo\", \"bar\"]"),
	                 J("[{\"op\": \"remove\", \"path\": \"/2\"}]"));
	EXPECT_UNDEFINED("json.patch", J("{}"), J("[1]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be array but got object", "json.patch", J("{}"),
	             J("{}"));
}

static void
test_json_patch_sets(void **state)
{
	const struct rego_value *doc[1];
	/* {"foo": {"a", "b", "c"}} */
	struct rego_member m = { J("\"foo\""), S("[\"a\", \"b\", \"c\"]") };
	doc[0] = rego_object(&fx->arena, &m, 1);
	EXPECT("{\"foo\": {\"a\", \"c\"}}", "json.patch", doc[0],
	       J("[{\"op\": \"remove\", \"path\": \"foo/b\"}]"));
	EXPECT("{\"foo\": {\"a\", \"b\", \"c\", \"d\"}}", "json.patch", doc[0],
	       J("[{\"op\": \"add\", \"path\": \"foo/d\", \"value\": \"d\"}]"));
	EXPECT_UNDEFINED("json.patch", doc[0],
	                 J("[{\"op\": \"add\", \"path\": \"foo/d\", \"value\": \"e\"}]"));
	/* {[1]} with path [[1], 1] */
	EXPECT("{[1, 2]}", "json.patch", S("[[1]]"),
	       J("[{\"op\": \"add\", \"path\": [[1], 1], \"value\": 2}]"));
}

static void
test_graph(void **state)
{
	EXPECT("set()", "graph.reachable", J("{}"), S("[\"a\"]"));
	EXPECT("{\"a\", \"b\", \"c\"}", "graph.reachable",
	       J("{\"a\": [\"b\"], \"b\": [\"c\"], \"c\": [\"a\"]}"), S("[\"a\"]"));
	EXPECT("{\"b\", \"d\", \"e\", \"f\"}", "graph.reachable",
	       J("{\"a\": [\"b\", \"c\"], \"b\": [\"d\"], \"c\": [\"d\"], \"d\": [], \"e\": "
	         "[\"f\"], \"f\": [\"e\"], \"x\": [\"x\"]}"),
	       S("[\"b\", \"e\"]"));
	EXPECT("{\"a\"}", "graph.reachable", J("{\"a\": null}"), J("[\"a\"]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got number", "graph.reachable",
	             J("1"), J("[1]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be {array, set} but got string",
	             "graph.reachable", J("{\"a\": []}"), J("\"a\""));

	const char *g1 = "{\"one\": [\"two\", \"five\"], \"two\": [\"four\"], \"three\": [\"\"], "
	                 "\"four\": [\"three\"], \"five\": [\"seven\", \"six\"], \"six\": "
	                 "[\"nine\"], \"seven\": [\"eight\"], \"eight\": [\"\"], \"nine\": [\"\"]}";
	EXPECT("{[\"one\", \"five\", \"seven\", \"eight\"], [\"one\", \"five\", \"six\", "
	       "\"nine\"], [\"one\", \"two\", \"four\", \"three\"]}",
	       "graph.reachable_paths", J(g1), S("[\"one\"]"));
	const char *g3 = "{\"one\": [\"two\", \"five\"], \"two\": [\"four\"], \"three\": [\"\"], "
	                 "\"four\": [\"three\"], \"five\": [\"seven\", \"six\"], \"six\": "
	                 "[\"nine\", \"seven\"], \"seven\": [\"eight\"], \"eight\": [\"three\"], "
	                 "\"nine\": [\"\"]}";
	EXPECT("{[\"one\", \"five\", \"seven\", \"eight\", \"three\"], [\"one\", \"five\", "
	       "\"six\", \"nine\"], [\"one\", \"five\", \"six\", \"seven\", \"eight\", \"three\"], "
	       "[\"one\", \"two\", \"four\", \"three\"]}",
	       "graph.reachable_paths", J(g3), S("[\"one\"]"));
	EXPECT("{[\"a\", \"b\"]}", "graph.reachable_paths", J("{\"a\": [\"b\"], \"b\": [\"a\"]}"),
	       J("[\"a\"]"));
	EXPECT("{[\"a\"]}", "graph.reachable_paths", J("{\"a\": []}"), J("[\"a\"]"));
	EXPECT("set()", "graph.reachable_paths", J("{}"), J("[\"a\"]"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arrays, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_sets, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_object_get_keys, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_object_union, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_object_remove_filter, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_object_subset, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_json_filter, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_json_remove, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_json_patch, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_json_patch_sets, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_graph, builtin_setup, builtin_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
