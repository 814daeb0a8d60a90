/* Unit tests of the strings built-ins: Go's strings semantics (rune cutsets, Replacer
 * priorities, Split), code-point offsets, format_int with big numbers, sprintf with Go's fmt
 * verbs and error forms, strings.render_template and internal.template_string. Expected values
 * come from the OPA conformance cases and Go's documented behaviour. */
#include "lib/rego/tests/builtins_test_call.h"

/* A string value from raw bytes (J() needs JSON quoting). */
static const struct rego_value *
STR(const char *s)
{
	const struct rego_value *v = rego_string(&fx->arena, s, strlen(s));
	assert_non_null(v);
	return v;
}

/* Asserts a string result equal to `want` (raw, unquoted). */
#define EXPECT_STR(want, name, ...)                                                   \
	do {                                                                          \
		int rc_ = CALL(name, __VA_ARGS__);                                    \
		if (rc_ != 0)                                                         \
			fail_msg("%s: rc %d (%s)", name, rc_, fx->ctx.error_message); \
		assert_int_equal(fx->result->type, REGO_STRING);                      \
		assert_string_equal(fx->result->u.string, want);                      \
	} while (0)

#define SPRINTF(want, format, args) EXPECT_STR(want, "sprintf", STR(format), J(args))

static void
test_concat_contains(void **state)
{
	EXPECT_STR("/foo/bar/0/baz", "concat", STR("/"),
	           J("[\"\", \"foo\", \"bar\", \"0\", \"baz\"]"));
	EXPECT_STR("1,2,3", "concat", STR(","), S("[\"3\", \"1\", \"2\"]"));
	EXPECT_STR("", "concat", STR(","), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be array of strings but got array containing number", "concat",
	             STR(","), J("[\"a\", 1]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be one of {set, array} but got string",
	             "concat", STR(","), STR("a"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got number", "concat", J("1"),
	             J("[]"));
	EXPECT("true", "contains", STR("abcdefgh"), STR("defg"));
	EXPECT("false", "contains", STR("abcdefgh"), STR("ac"));
	EXPECT("true", "contains", STR("abc"), STR(""));
	EXPECT("true", "startswith", STR("abcdefgh"), STR("abcd"));
	EXPECT("false", "startswith", STR("abcdefgh"), STR("bcd"));
	EXPECT("true", "endswith", STR("abcdefgh"), STR("fgh"));
	EXPECT("false", "endswith", STR("abcdefgh"), STR("fg"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be string but got number", "endswith", STR("a"),
	             J("1"));
}

static void
test_case_mapping(void **state)
{
	EXPECT_STR("ABCDEF", "upper", STR("AbCdEf"));
	EXPECT_STR("abcdef", "lower", STR("AbCdEf"));
	EXPECT_STR("ÅÄÖ ΣΑΣ", "upper", STR("åäö σας"));
	EXPECT_STR("åäö", "lower", STR("ÅÄÖ"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got null", "lower", J("null"));
}

static void
test_split(void **state)
{
	EXPECT("[\"foo\"]", "split", STR("foo"), STR("."));
	EXPECT("[\"\"]", "split", STR(""), STR("."));
	EXPECT("[\"t\", \"e\", \"s\", \"t\"]", "split", STR("test"), STR(""));
	EXPECT("[]", "split", STR(""), STR(""));
	EXPECT("[\"foo\", \"bar\", \"baz\"]", "split", STR("foo.bar.baz"), STR("."));
	EXPECT("[\"\", \"a\", \"\"]", "split", STR(".a."), STR("."));
	EXPECT("[\"å\", \"ä\"]", "split", STR("åä"), STR(""));
	EXPECT("[\"a\", \"b\"]", "strings.split_n", STR("a.b.c.d"), STR("."), J("2"));
	EXPECT("[\"a\", \"b\", \"c\", \"d\"]", "strings.split_n", STR("a.b.c.d"), STR("."),
	       J("10"));
	EXPECT("[]", "strings.split_n", STR("a.b.c.d"), STR("."), J("0"));
	EXPECT("[\"c\", \"d\"]", "strings.split_n", STR("a.b.c.d"), STR("."), J("-2"));
	EXPECT("[\"a\", \"b\", \"c\", \"d\"]", "strings.split_n", STR("a.b.c.d"), STR("."),
	       J("-10"));
	EXPECT("[\"\"]", "strings.split_n", STR(""), STR("."), J("2"));
	EXPECT("[\"b\", \"c\"]", "strings.split_n", STR("abc"), STR(""), J("-2"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 3 must be integer number but got floating-point number",
	             "strings.split_n", STR("a.b.c"), STR("."), J("1.5"));
}

static void
test_trim(void **state)
{
	EXPECT_STR("foo.bar", "trim", STR("...foo.bar..."), STR("."));
	EXPECT_STR("oo.ba", "trim", STR("...foo.bar..."), STR(".fr"));
	EXPECT_STR("foo, bar", "trim", STR("¡¡¡foo, bar!!!"), STR("!¡"));
	EXPECT_STR("¡¡¡foo, bar!!!", "trim", STR("¡¡¡foo, bar!!!"), STR("i"));
	EXPECT_STR("", "trim", STR(""), STR("."));
	EXPECT_STR("", "trim", STR("...."), STR("."));
	EXPECT_STR("abc", "trim", STR("abc"), STR(""));
	EXPECT_STR("foo, bar!!!", "trim_left", STR("¡¡¡foo, bar!!!"), STR("!¡"));
	EXPECT_STR("¡¡¡foo, bar", "trim_right", STR("¡¡¡foo, bar!!!"), STR("!¡"));
	EXPECT_STR("!!!foo, bar¡¡¡", "trim_right", STR("!!!foo, bar¡¡¡"), STR("!"));
	EXPECT_STR("¡¡¡foo, bar!!!", "trim_prefix", STR("¡¡¡foo, bar!!!"), STR("¡¡¡bar"));
	EXPECT_STR("foo, bar!!!", "trim_prefix", STR("¡¡¡foo, bar!!!"), STR("¡¡¡"));
	EXPECT_STR("¡¡¡foo", "trim_suffix", STR("¡¡¡foo, bar!!!"), STR(", bar!!!"));
	EXPECT_STR("foo, bar", "trim_space", STR(" \t\n foo, bar \n\t\r\n"));
	EXPECT_STR("x", "trim_space", STR("\xc2\xa0x\xe3\x80\x80"));
	EXPECT_STR("", "trim_space", STR("   "));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be string but got number", "trim", STR("a"),
	             J("1"));
}

static void
test_replace(void **state)
{
	EXPECT_STR("", "replace", STR(""), STR("hi"), STR("bye"));
	EXPECT_STR("foo,bar,baz", "replace", STR("foo.bar.baz"), STR("."), STR(","));
	EXPECT_STR("foo,,.bar", "replace", STR("foo...bar"), STR(".."), STR(",,"));
	/* An empty pattern matches at every position (byte-wise, as Go's Replacer). */
	EXPECT_STR("-a-b-", "replace", STR("ab"), STR(""), STR("-"));
	EXPECT_STR("This is &lt;b&gt;HTML&lt;/b&gt;!", "strings.replace_n",
	           J("{\"<\": \"&lt;\", \">\": \"&gt;\"}"), STR("This is <b>HTML</b>!"));
	/* Keys in Rego order: "f" comes first and wins over "foo". */
	EXPECT_STR("xoobar", "strings.replace_n", J("{\"f\": \"x\", \"foo\": \"xxx\"}"),
	           STR("foobar"));
	EXPECT_STR("Everything is new1, new2", "strings.replace_n",
	           J("{\"old1\": \"new1\", \"old2\": \"new2\"}"), STR("Everything is new1, new2"));
	/* Go's Replacer priorities: "" sorts first, so it wins (Go's blankHighPriority). */
	EXPECT_STR("XOXOX", "strings.replace_n", J("{\"o\": \"O\", \"\": \"X\"}"), STR("oo"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 non-string value found in pattern object",
	             "strings.replace_n", J("{\"f\": 100}"), STR("foo"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be string but got number", "strings.replace_n",
	             J("{\"f\": \"x\"}"), J("100"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be object but got array", "strings.replace_n",
	             J("[]"), STR("x"));
}

static void
test_substring_indexof(void **state)
{
	EXPECT_STR("cde", "substring", STR("abcdefgh"), J("2"), J("3"));
	EXPECT_STR("åä", "substring", STR("åäö"), J("0"), J("2"));
	EXPECT_STR("cdefgh", "substring", STR("abcdefgh"), J("2"), J("-1"));
	EXPECT_STR("äö", "substring", STR("aåäö"), J("2"), J("-1"));
	EXPECT_STR("cdefghåäö", "substring", STR("abcdefghåäö"), J("2"), J("10000"));
	EXPECT_STR("", "substring", STR("aaa"), J("3"), J("-1"));
	EXPECT_STR("", "substring", STR("åäö"), J("4"), J("-1"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "negative offset", "substring", STR("aaa"), J("-1"),
	             J("-1"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be integer number but got floating-point number", "substring",
	             STR("aaa"), J("1.5"), J("1"));
	EXPECT("2", "indexof", STR("abcdefgh"), STR("cde"));
	EXPECT("8", "indexof", STR("abcabcabcdefgh"), STR("cde"));
	EXPECT("-1", "indexof", STR("abcdefgh"), STR("xyz"));
	EXPECT("1", "indexof", STR("μx"), STR("x"));
	EXPECT("-1", "indexof", STR("μ"), STR("μμ"));
	EXPECT("9", "indexof", STR("skön var våren"), STR("vår"));
	EXPECT("4", "indexof", STR("🍧🍨🧁🍰🍮"), STR("🍮"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "empty search character", "indexof", STR("a"), STR(""));
	EXPECT("[3, 9]", "indexof_n", STR("dogcatdogcat"), STR("cat"));
	EXPECT("[]", "indexof_n", STR("dogcat"), STR("rabbit"));
	EXPECT("[1, 3, 5]", "indexof_n", STR("😇😀😇😀😇😀"), STR("😀"));
	EXPECT("[0, 1, 2]", "indexof_n", STR("aaaa"), STR("aa"));
	/* Invalid UTF-8 compares rune-wise as U+FFFD. */
	EXPECT("1", "indexof",
	       STR("a\xff"
	           "b"),
	       STR("\xef\xbf\xbd"));
}

static void
test_count_reverse_prefix(void **state)
{
	EXPECT("3", "strings.count", STR("cheese"), STR("e"));
	EXPECT("3", "strings.count", STR("hello hello hello world"), STR("hello"));
	EXPECT("0", "strings.count", STR("dummy"), STR("x"));
	EXPECT("6", "strings.count", STR("dummy"), STR(""));
	EXPECT("1", "strings.count", STR(""), STR(""));
	EXPECT("2", "strings.count", STR("11111"), STR("11"));
	EXPECT_STR("rab", "strings.reverse", STR("bar"));
	EXPECT_STR("\xe2\x83\xa3\xef\xb8\x8f"
	           "2",
	           "strings.reverse", STR("2\xef\xb8\x8f\xe2\x83\xa3"));
	EXPECT_STR("𝛾😀1", "strings.reverse", STR("1😀𝛾"));
	EXPECT_STR("", "strings.reverse", STR(""));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got object", "strings.reverse",
	             J("{}"));
	EXPECT("true", "strings.any_prefix_match", J("[\"a/b/c\", \"e/f/g\"]"),
	       J("[\"d/\", \"a/\"]"));
	EXPECT("false", "strings.any_prefix_match", J("[\"aa/bb/cc\"]"), J("[\"b/cc\"]"));
	EXPECT("true", "strings.any_prefix_match", STR("a/b/c"), S("[\"a/\"]"));
	EXPECT("false", "strings.any_prefix_match", J("[]"), J("[\"a\"]"));
	EXPECT("true", "strings.any_suffix_match", J("[\"a/b/c\", \"e/f/g\"]"), J("[\"/c\"]"));
	EXPECT("false", "strings.any_suffix_match", J("[\"aa/bb/cc\"]"), J("[\"aa/b\"]"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be one of {string, set, array} but got number",
	             "strings.any_prefix_match", J("1"), J("[]"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 2 must be array of strings but got array containing number",
	             "strings.any_suffix_match", J("[]"), J("[1]"));
}

static void
test_format_int(void **state)
{
	EXPECT_STR("f", "format_int", J("15.5"), J("16"));
	EXPECT_STR("3", "format_int", J("3.1"), J("10"));
	EXPECT_STR("-f", "format_int", J("-15.9"), J("16"));
	EXPECT_STR("0", "format_int", J("-0.5"), J("2"));
	EXPECT_STR("1010", "format_int", J("10"), J("2"));
	EXPECT_STR("17", "format_int", J("15"), J("8"));
	EXPECT_STR("10000000000000001", "format_int", J("18446744073709551617"), J("16"));
	EXPECT_STR("2000000000000000000001", "format_int", J("18446744073709551617"), J("8"));
	EXPECT_STR("10000000000000000000000000000000000000000000000000000000000000001",
	           "format_int", J("18446744073709551617"), J("2"));
	EXPECT_STR("-18446744073709551617", "format_int", J("-18446744073709551617"), J("10"));
	EXPECT_STR("-8000000000000000", "format_int", J("-9223372036854775808"), J("16"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be one of {2, 8, 10, 16}", "format_int",
	             J("4.1"), J("199"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be number but got string", "format_int",
	             STR("1"), J("10"));
}

static void
test_sprintf_basic(void **state)
{
	SPRINTF("hi", "hi", "[]");
	SPRINTF("hi there", "hi %s", "[\"there\"]");
	SPRINTF("hi 05", "hi %02d", "[5]");
	SPRINTF("hi 3.14", "hi %.2f", "[3.1415]");
	SPRINTF("hi true", "hi %s", "[true]");
	SPRINTF("hi [\"there\", 5, 3.14]", "hi %v", "[[\"there\", 5, 3.14]]");
	SPRINTF("hi 7F.01", "hi %02X.%02X", "[127, 1]");
	SPRINTF("123456789123456789123", "%s", "[123456789123456789123]");
	SPRINTF("1208925819614629174706175", "%s", "[1208925819614629174706175]");
	SPRINTF("5", "%v", "[5]");
	SPRINTF("3.5", "%v", "[3.5]");
	SPRINTF("1e+21", "%v", "[1e21]");
	SPRINTF("1.2345675e+06", "%v", "[1234567.5]");
	SPRINTF("0.0001", "%v", "[0.0001]");
	SPRINTF("1e-05", "%v", "[0.00001]");
	SPRINTF("100%", "%d%%", "[100]");
	SPRINTF("null {\"a\": 1} [1, 2]", "%v %v %v", "[null, {\"a\": 1}, [1, 2]]");
}

static void
test_sprintf_go_verbs(void **state)
{
	SPRINTF("ff FF 377 11111111 0o377", "%x %X %o %b %O", "[255, 255, 255, 255, 255]");
	SPRINTF("0xff 0377 0b101", "%#x %#o %#b", "[255, 255, 5]");
	SPRINTF("+5 -5  5", "%+d %d % d", "[5, -5, 5]");
	SPRINTF("[   42] [42   ] [00042] [-0042]", "[%5d] [%-5d] [%05d] [%05d]",
	        "[42, 42, 42, -42]");
	SPRINTF("[  007]", "[%5.3d]", "[7]");
	SPRINTF("A 'A' U+0041 U+0041 'A'", "%c %q %U %#U", "[65, 65, 65, 65]");
	SPRINTF("3.141593 3.14 3.141593e+00 3.14159", "%f %.2f %e %g",
	        "[3.14159265, 3.14159, "
	        "3.14159265, 3.14159]");
	SPRINTF("[  3.14] [3.14  ] [003.14] [+3.14]", "[%6.2f] [%-6.2f] [%06.2f] [%+.2f]",
	        "[3.14159, 3.14159, 3.14159, 3.14159]");
	SPRINTF("1.550000E+01 1.5e+01", "%E %.1e", "[15.5, 15.25]");
	SPRINTF("\"hi\\n\" `hi`", "%q %#q", "[\"hi\\n\", \"hi\"]");
	SPRINTF("[   ab] [ab   ] [a]", "[%5s] [%-5s] [%.1s]", "[\"ab\", \"ab\", \"ab\"]");
	SPRINTF("6869 68 69 0x6869", "%x % x %#x", "[\"hi\", \"hi\", \"hi\"]");
	SPRINTF("[  åäö]", "[%5s]", "[\"åäö\"]");
	SPRINTF("int float64 string string", "%T %T %T %T", "[1, 1.5, \"a\", true]");
	/* Big integers go through math/big. */
	SPRINTF("1000000000000000000000 3635c9adc5dea00000 +1000000000000000000000", "%d %x %+d",
	        "[1000000000000000000000, 1000000000000000000000, "
	        "1000000000000000000000]");
	SPRINTF("%!c(big.Int=1000000000000000000000)", "%c", "[1000000000000000000000]");
	/* Go's error forms. */
	SPRINTF("%!d(string=a)", "%d", "[\"a\"]");
	SPRINTF("%!s(int=5)", "%s", "[5]");
	SPRINTF("%!d(MISSING)", "%d", "[]");
	SPRINTF("a%!(EXTRA int=1, string=b)", "a", "[1, \"b\"]");
	SPRINTF("%!(NOVERB)", "%", "[]");
	SPRINTF("%!z(int=5)", "%z", "[5]");
	SPRINTF("b a", "%[2]s %[1]s", "[\"a\", \"b\"]");
	SPRINTF("%!s(BADINDEX)", "%[3]s", "[\"a\"]");
	SPRINTF("[   x]", "[%*s]", "[4, \"x\"]");
	SPRINTF("%!(BADWIDTH)x", "%*s", "[\"a\", \"x\"]");
	SPRINTF("3.00", "%.*f", "[2, 3.001]");
	SPRINTF("%!f(int=3)", "%f", "[3]");
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be array but got object", "sprintf", STR("%s"),
	             J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 1 must be string but got number", "sprintf", J("1"),
	             J("[]"));
}

static void
test_render_template(void **state)
{
	EXPECT_STR("hello world", "strings.render_template", STR("{{.test}}"),
	           J("{\"test\": \"hello world\"}"));
	EXPECT_STR("2023", "strings.render_template", STR("{{.test}}"), J("{\"test\": 2023}"));
	EXPECT_STR("hello rohan,hello john doe", "strings.render_template",
	           STR("{{range $i, $name := .hellonames}}{{if $i}},{{end}}hello {{$name}}{{end}}"),
	           J("{\"hellonames\": [\"rohan\", \"john doe\"]}"));
	EXPECT_STR("<undefined>", "strings.render_template", STR("{{.testvarnotprovided}}"),
	           J("{\"test\": \"hello world\"}"));
	EXPECT_STR("test <undefined> <undefined> 1", "strings.render_template",
	           STR("test {{.foo}} {{.bar}} {{.baz}}"), J("{\"baz\": 1}"));
	EXPECT_STR("a=1;b=2;", "strings.render_template",
	           STR("{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}"),
	           J("{\"m\": {\"b\": 2, \"a\": 1}}"));
	EXPECT_STR("yes", "strings.render_template",
	           STR("{{if eq .x \"a\"}}yes{{else if .y}}maybe{{else}}no{{end}}"),
	           J("{\"x\": \"a\"}"));
	EXPECT_STR("maybe", "strings.render_template",
	           STR("{{if eq .x \"a\"}}yes{{else if .y}}maybe{{else}}no{{end}}"),
	           J("{\"x\": \"b\", \"y\": true}"));
	EXPECT_STR("x|y", "strings.render_template", STR("{{- \"x\" -}} | {{- \"y\" -}}"), J("{}"));
	EXPECT_STR("ab", "strings.render_template", STR("a{{/* note */}}b"), J("{}"));
	EXPECT_STR("3 c [1 2] map[k:v] <nil>", "strings.render_template",
	           STR("{{len .l}} {{index .l 2}} {{.n}} {{.o}} {{.z}}"),
	           J("{\"l\": [\"a\", \"b\", \"c\"], \"n\": [1, 2], \"o\": {\"k\": \"v\"}, "
	             "\"z\": null}"));
	EXPECT_STR("empty", "strings.render_template", STR("{{range .l}}{{.}}{{else}}empty{{end}}"),
	           J("{\"l\": []}"));
	EXPECT_STR("inner", "strings.render_template", STR("{{with .a}}{{.b}}{{end}}"),
	           J("{\"a\": {\"b\": \"inner\"}}"));
	EXPECT_STR("v=7", "strings.render_template", STR("{{$x := .a}}v={{$x}}"), J("{\"a\": 7}"));
	EXPECT_STR("ab", "strings.render_template",
	           STR("{{range .l}}{{if eq . \"c\"}}{{break}}{{end}}{{.}}{{end}}"),
	           J("{\"l\": [\"a\", \"b\", \"c\", \"d\"]}"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "template:", "strings.render_template", STR("{{.a"),
	             J("{}"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "template:", "strings.render_template", STR("{{if .a}}x"),
	             J("{}"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "not defined", "strings.render_template",
	             STR("{{nosuch .a}}"), J("{}"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be object but got array",
	             "strings.render_template", STR("x"), J("[]"));
}

static void
test_template_string(void **state)
{
	EXPECT_STR("", "internal.template_string", J("[]"));
	EXPECT_STR("<undefined>", "internal.template_string",
	           rego_array(&fx->arena, ARGS(&rego_empty_set), 1));
	const struct rego_value *one = rego_set(&fx->arena, ARGS(J("[1, 2]")), 1);
	const struct rego_value *parts = rego_array(
	        &fx->arena, ARGS(STR("x = "), one, STR(" "), J("1.5"), STR(" "), J("null")), 6);
	EXPECT_STR("x = [1, 2] 1.5 null", "internal.template_string", parts);
	const struct rego_value *two = rego_set(&fx->arena, ARGS(J("1"), J("2")), 2);
	EXPECT_ERROR(REGO_ERR_BUILTIN, "multiple outputs", "internal.template_string",
	             rego_array(&fx->arena, ARGS(two), 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_concat_contains, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_case_mapping, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_split, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_trim, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_replace, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_substring_indexof, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_count_reverse_prefix, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_format_int, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_sprintf_basic, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_sprintf_go_verbs, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_render_template, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_template_string, builtin_setup,
		                                builtin_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
