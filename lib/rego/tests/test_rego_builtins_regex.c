/* Unit tests of the regex built-ins: Go RE2 syntax accepted and rejected with Go's messages,
 * Go's FindAll/Split/ReplaceAll rules for empty matches, template and glob matching (gobwas
 * semantics, delimiters), glob intersection, and the match limits that keep backtracking
 * bounded. Expected values come from the OPA conformance cases and Go's regexp tests. */
#include <pthread.h>

#include "lib/rego/tests/builtins_test_call.h"

static const struct rego_value *
STR(const char *s)
{
	const struct rego_value *v = rego_string(&fx->arena, s, strlen(s));
	assert_non_null(v);
	return v;
}

#define EXPECT_STR(want, name, ...)                                                   \
	do {                                                                          \
		int rc_ = CALL(name, __VA_ARGS__);                                    \
		if (rc_ != 0)                                                         \
			fail_msg("%s: rc %d (%s)", name, rc_, fx->ctx.error_message); \
		assert_int_equal(fx->result->type, REGO_STRING);                      \
		assert_string_equal(fx->result->u.string, want);                      \
	} while (0)

#define MATCH(want, pattern, subject) EXPECT(want, "regex.match", STR(pattern), STR(subject))
#define VALID(want, pattern) EXPECT(want, "regex.is_valid", STR(pattern))

static void
test_match(void **state)
{
	MATCH("true", "^[a-z]+\\[[0-9]+\\]$", "foo[1]");
	MATCH("false", "^[a-z]+\\[[0-9]+\\]$", "foo[\"bar\"]");
	MATCH("true", "^$", "");
	MATCH("true", "", "");
	MATCH("true", "", "x");
	MATCH("false", "^$", "something");
	/* Go's $ matches only at the end of text, not before a final newline. */
	MATCH("false", "^a$", "a\n");
	MATCH("true", "(?m)^a$", "a\nb");
	MATCH("true", "(?m)^$", "a\n");
	MATCH("true", "\\Aab\\z", "ab");
	/* Go's \d \s \w are ASCII; \pL is Unicode. */
	MATCH("false", "^\\d$", "٣");
	MATCH("false", "^\\s$", "\v");
	MATCH("true", "^\\pL+$", "åäö");
	MATCH("true", "^\\p{Greek}+$", "αβγ");
	MATCH("true", "^[[:alpha:]]+$", "abc");
	MATCH("true", "(?i)^ABC$", "abc");
	MATCH("true", "^(?i:a)b$", "Ab");
	MATCH("false", "^(?i:a)b$", "AB");
	MATCH("true", "^a.c$",
	      "a\xff"
	      "c");
	MATCH("true", "^\\x{e5}\\x41\\101$", "åAA");
	MATCH("true", "^\\Q.*\\E$", ".*");
	MATCH("true", "^(?P<year>\\d{4})-(?<m>\\d\\d)$", "2024-01");
	MATCH("true", "^x{2,3}$", "xxx");
	MATCH("true", "^a{,2}$", "a{,2}");
	MATCH("true", "^[]a]+$", "]a");
	MATCH("true", "^[^\\n]$", "x");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "error parsing regexp: missing closing ]: `[`", "re_match",
	             STR("]["), STR("x"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "error parsing regexp: missing closing ]: `[[[`",
	             "regex.match", STR("$^[[["), STR("something"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be string but got number", "regex.match",
	             STR("a"), J("1"));
	assert_null(rego_builtin_lookup("re_match", 8, true));
	assert_non_null(rego_builtin_lookup("re_match", 8, false));
}

static void
test_is_valid(void **state)
{
	VALID("true", ".+");
	VALID("false", "++");
	EXPECT("false", "regex.is_valid", J("10"));
	VALID("true", "(?i)a(?:b|c)*?d{1,3}\\b");
	VALID("true", "\\pN\\p{^Greek}\\PL[\\d\\p{Han}[:^space:]]");
	/* PCRE-only syntax that Go rejects. */
	VALID("false", "(a)\\1");
	VALID("false", "(?=a)");
	VALID("false", "(?<=a)b");
	VALID("false", "a*+");
	VALID("false", "a**");
	VALID("false", "a{2}{3}");
	VALID("false", "\\Z");
	VALID("false", "\\C");
	VALID("false", "(?x)a");
	VALID("false", "a{1001}");
	VALID("false", "(a{500}){3}");
	VALID("false", "[z-a]");
	VALID("false", "[[:nope:]]");
	VALID("false", "\\p{Nope}");
	VALID("false", "(?P<a-b>x)");
	VALID("false", "(a");
	VALID("false", "a)");
	VALID("false", "\\");
	VALID("false", "x\xff");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "missing argument to repetition operator: `*`",
	             "regex.match", STR("*"), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid nested repetition operator: `**`", "regex.match",
	             STR("a**"), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid escape sequence: `\\1`", "regex.match",
	             STR("(a)\\1"), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid or unsupported Perl syntax: `(?=`", "regex.match",
	             STR("(?=a)"), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "missing closing ): `(a`", "regex.match", STR("(a"),
	             STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "unexpected ): `a)`", "regex.match", STR("a)"), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid repeat count: `{1001}`", "regex.match",
	             STR("a{1001}"), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "invalid character class range: `z-a`", "regex.match",
	             STR("[z-a]"), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "trailing backslash at end of expression: ``", "regex.match",
	             STR("a\\"), STR(""));
}

static void
test_find(void **state)
{
	EXPECT("[\"ar\", \"an\", \"al\"]", "regex.find_n", STR("a."), STR("paranormal"), J("-1"));
	EXPECT("[\"ar\", \"an\"]", "regex.find_n", STR("a."), STR("paranormal"), J("2"));
	EXPECT("[]", "regex.find_n", STR("a."), STR("paranormal"), J("0"));
	EXPECT("[\"ab\"]", "regex.find_n", STR("^a."), STR("abacadaeaf"), J("-1"));
	EXPECT("[\"f\"]", "regex.find_n", STR(".$"), STR("abacadaeaf"), J("-1"));
	EXPECT("[\"ab\", \"ac\", \"ad\", \"ae\", \"af\"]", "regex.find_n", STR("[abcdef]{2}"),
	       STR("abacadaeaf"), J("-1"));
	EXPECT("[]", "regex.find_n", STR("bork"), STR("paranormal"), J("-1"));
	/* Go: empty matches, but never right after a match. */
	EXPECT("[\"\", \"b\", \"\"]", "regex.find_n", STR("b*"), STR("abc"), J("-1"));
	EXPECT("[\"\", \"\", \"\", \"\"]", "regex.find_n", STR(""), STR("åäö"), J("-1"));
	EXPECT("[]", "regex.find_all_string_submatch_n", STR("a(x*)b"), STR("-"), J("-1"));
	EXPECT("[[\"ab\", \"\"]]", "regex.find_all_string_submatch_n", STR("a(x*)b"), STR("-ab-"),
	       J("-1"));
	EXPECT("[[\"ab\", \"\"], [\"axb\", \"x\"]]", "regex.find_all_string_submatch_n",
	       STR("a(x*)b"), STR("-ab-axb-"), J("-1"));
	EXPECT("[[\"som\", \"o\", \"m\"], [\"ri\", \"i\", \"\"]]",
	       "regex.find_all_string_submatch_n", STR("[^aouiye]([aouiye])([^aouiye])?"),
	       STR("somestri"), J("-1"));
	EXPECT("[[\"som\", \"o\", \"m\"]]", "regex.find_all_string_submatch_n",
	       STR("[^aouiye]([aouiye])([^aouiye])?"), STR("somestri"), J("1"));
	/* Invalid UTF-8 in the subject reads as U+FFFD but is returned as it was. */
	EXPECT_STR("a\xff", "regex.replace", STR("a\xff"), STR("x"), STR("y"));
	EXPECT("true", "regex.match", STR("^a\\x{fffd}$"), STR("a\xff"));
	EXPECT_ERROR(REGO_ERR_TYPE,
	             "operand 3 must be integer number but got floating-point number",
	             "regex.find_n", STR("a"), STR("a"), J("1.5"));
}

static void
test_split(void **state)
{
	EXPECT("[\"b\", \"n\", \"n\", \"\"]", "regex.split", STR("a"), STR("banana"));
	EXPECT("[\"pi\", \"a\"]", "regex.split", STR("z+"), STR("pizza"));
	EXPECT("[\"\"]", "regex.split", STR("^[a-z]+\\[[0-9]+\\]$"), STR(""));
	EXPECT("[]", "regex.split", STR(""), STR(""));
	EXPECT("[\"a\", \"b\", \"c\"]", "regex.split", STR(""), STR("abc"));
	EXPECT("[\"\", \"b\"]", "regex.split", STR("a"), STR("ab"));
}

static void
test_replace(void **state)
{
	EXPECT_STR("-0-0-", "regex.replace", STR("-wy-wxxy-"), STR("w(x*)y"), STR("0"));
	EXPECT_STR("foofoo", "regex.replace", STR("foo"), STR("(foo)"), STR("$1$1"));
	EXPECT_STR("Foo", "regex.replace", STR("foo"), STR("^[a-z]"), STR("F"));
	EXPECT_STR("foo", "regex.replace", STR("foo"), STR("^[a-z]$"), STR("F"));
	EXPECT_STR("M", "regex.replace", STR("foo"), STR("^[a-z]+$"), STR("M"));
	EXPECT_STR("foF", "regex.replace", STR("foo"), STR("[a-z]$"), STR("F"));
	EXPECT_STR("___ ___", "regex.replace", STR("foo bar"), STR("[a-z]"), STR("_"));
	EXPECT_STR("_ _x", "regex.replace", STR("foo barx"), STR("[a-z]{3}"), STR("_"));
	EXPECT_STR("_o __", "regex.replace", STR("foo barx"), STR("[a-z]{2}"), STR("_"));
	/* Empty matches (Go's ReplaceAll tests). */
	EXPECT_STR("-a-b-c-", "regex.replace", STR("abc"), STR(""), STR("-"));
	EXPECT_STR("-a-c-", "regex.replace", STR("abc"), STR("b*"), STR("-"));
	/* Expand: ${n}, names, $$, unknown names and malformed references. */
	EXPECT_STR("x-y", "regex.replace", STR("y-x"), STR("(?P<a>\\w)-(?P<b>\\w)"),
	           STR("$b-${a}"));
	EXPECT_STR("$", "regex.replace", STR("a"), STR("a"), STR("$$"));
	EXPECT_STR("", "regex.replace", STR("ab"), STR("(a)(b)"), STR("$1x"));
	EXPECT_STR("ax", "regex.replace", STR("ab"), STR("(a)(b)"), STR("${1}x"));
	EXPECT_STR("${1", "regex.replace", STR("a"), STR("(a)"), STR("${1"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "missing closing ]", "regex.replace", STR("foo"), STR("["),
	             STR("$1"));
}

static void
test_template_match(void **state)
{
	EXPECT("true", "regex.template_match", STR("urn:foo:{.*}"), STR("urn:foo:bar:baz"),
	       STR("{"), STR("}"));
	EXPECT("true", "regex.template_match", STR("urn:foo:<.*>"), STR("urn:foo:bar:baz"),
	       STR("<"), STR(">"));
	EXPECT("true", "regex.template_match", STR("foo:bar.baz:<[0-9]{2,10}>"),
	       STR("foo:bar.baz:123"), STR("<"), STR(">"));
	EXPECT("false", "regex.template_match", STR("foo:bar.baz:<[0-9]{2,10}>"),
	       STR("foo:barXbaz:123"), STR("<"), STR(">"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "unbalanced braces in \"urn:{a\"", "regex.template_match",
	             STR("urn:{a"), STR("x"), STR("{"), STR("}"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "start delimiter has to be exactly one character long",
	             "regex.template_match", STR("a"), STR("a"), STR("{{"), STR("}"));
}

#define GLOB(want, pattern, delims, subject) \
	EXPECT(want, "glob.match", STR(pattern), J(delims), STR(subject))

static void
test_glob(void **state)
{
	GLOB("true", "*.github.com", "[\".\"]", "api.github.com");
	GLOB("true", "api.**.com", "[\".\"]", "api.cdn.github.com");
	GLOB("true", "*:github:com", "[\":\"]", "api:github:com");
	GLOB("false", "*.github.com", "[\".\"]", "api.not-github.com");
	GLOB("false", "*.github.com", "[\".\"]", "api.cdn.github.com");
	GLOB("true", "[abc]at", "[]", "cat");
	GLOB("false", "[abc]at", "[]", "fat");
	GLOB("false", "[!abc]at", "[]", "cat");
	GLOB("true", "[a-c]at", "[]", "bat");
	GLOB("false", "[!a-c]at", "[]", "bat");
	GLOB("true", "[!a-c]at", "[]", "fat");
	GLOB("true", "?at", "[]", "fat");
	GLOB("false", "?at", "[]", "at");
	GLOB("false", "?at", "[\"f\"]", "fat");
	GLOB("true", "{cat,bat,[fr]at}", "[]", "cat");
	GLOB("true", "{cat,bat,[fr]at}", "[]", "rat");
	GLOB("false", "{cat,bat,[fr]at}", "[]", "at");
	GLOB("true", "*", "[]", "foo");
	GLOB("false", "*", "[]", "foo.bar");
	GLOB("true", "*", "null", "foo.bar");
	GLOB("true", "foo*", "null", "foo.bar");
	GLOB("true", "\\*x", "[]", "*x");
	GLOB("false", "\\*x", "[]", "ax");
	GLOB("true", "a{b,{c,d}}e", "[]", "ade");
	GLOB("true", "{a,b", "[]", "b");
	GLOB("true", "a,b}", "[]", "a,b}");
	EXPECT_ERROR(REGO_ERR_BUILTIN, "unexpected end of input", "glob.match", STR("[abc"),
	             J("[]"), STR("a"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "could not parse range", "glob.match", STR("[]"), J("[]"),
	             STR("a"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be one of {array, null} but got string",
	             "glob.match", STR("*"), STR("."), STR("a"));
	EXPECT_ERROR(REGO_ERR_TYPE, "operand 2 must be array of runes", "glob.match", STR("*"),
	             J("[\"ab\"]"), STR("a"));
	EXPECT_STR("\\*.github.com", "glob.quote_meta", STR("*.github.com"));
	EXPECT_STR("\\[\\{a\\}\\]\\?\\\\", "glob.quote_meta", STR("[{a}]?\\"));
}

static void
test_globs_match(void **state)
{
	EXPECT("false", "regex.globs_match", STR("[a-z]+"), STR("[0-9]*"));
	EXPECT("true", "regex.globs_match", STR("b.*"), STR("bar"));
	EXPECT("true", "regex.globs_match", STR("[a-z]+\\[[0-9]+\\]"), STR("foo\\[1\\]"));
	EXPECT("false", "regex.globs_match", STR("[a-z]+\\[[0-9]+\\]"), STR("foo[\"bar\"]"));
	EXPECT("true", "regex.globs_match", STR("a.a.[0-9]+z"), STR(".b.b2359825792*594823z"));
	EXPECT("false", "regex.globs_match", STR("a*"), STR("b*"));
	EXPECT("true", "regex.globs_match", STR(""), STR(""));
	EXPECT_ERROR(REGO_ERR_BUILTIN,
	             "input:pqrs], pos:5, set-close ']' with no preceding '[': the input provided "
	             "is invalid",
	             "regex.globs_match", STR("pqrs]"), STR("[a-b]+"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "found [ without matching ]", "regex.globs_match",
	             STR("[ab"), STR("a"));
	EXPECT_ERROR(REGO_ERR_BUILTIN, "flag '*' must be preceded by a non-flag",
	             "regex.globs_match", STR("a**"), STR("a"));
}

static void
test_limits(void **state)
{
	/* Catastrophic backtracking is cut off (finds) or avoided (the DFA for tests). */
	char subject[64];
	memset(subject, 'a', 40);
	subject[40] = '!';
	subject[41] = '\0';
	EXPECT("false", "regex.match", STR("^(a+)+$"), STR(subject));
	int rc = CALL("regex.find_n", STR("(a+)+$"), STR(subject), J("1"));
	if (rc == 0)
		assert_string_equal(rego_text(fx->result), "[]");
	else
		assert_non_null(strstr(fx->ctx.error_message, "match limit"));
	/* Many distinct patterns cycle through the bounded cache. */
	for (int k = 0; k < 200; k++) {
		char pattern[32];
		snprintf(pattern, sizeof(pattern), "^a{%d}$", k % 100 + 1);
		assert_int_equal(CALL("regex.match", STR(pattern), STR("aaa")), 0);
		assert_int_equal(fx->result->u.boolean, k % 100 == 2);
	}
}

static void *
match_in_thread(void *arg)
{
	struct rego_arena arena;
	struct rego_builtin_ctx ctx = { .arena = &arena, .name = "regex.match" };
	const struct rego_builtin *b = rego_builtin_lookup("regex.match", 11, false);
	long failures = 0;
	rego_arena_init(&arena, 0);
	for (int k = 0; k < 300; k++) {
		char pattern[32];
		snprintf(pattern, sizeof(pattern), "^x{%d}$", (k + (int)(long)arg) % 80 + 1);
		const struct rego_value *args[2] = { rego_string_cstr(&arena, pattern),
			                             rego_string_cstr(&arena, "xxxx") };
		const struct rego_value *ret = NULL;
		if (b->fn(&ctx, args, &ret) != 0 ||
		    ret->u.boolean != ((k + (int)(long)arg) % 80 + 1 == 4))
			failures++;
		rego_arena_reset(&arena);
	}
	rego_arena_free(&arena);
	return (void *)failures;
}

static void
test_threads(void **state)
{
	pthread_t threads[4];
	for (long k = 0; k < 4; k++)
		assert_int_equal(
		        pthread_create(&threads[k], NULL, match_in_thread, (void *)(k * 7)), 0);
	for (int k = 0; k < 4; k++) {
		void *failures;
		assert_int_equal(pthread_join(threads[k], &failures), 0);
		assert_int_equal((long)failures, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_match, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_is_valid, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_find, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_split, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_replace, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_template_match, builtin_setup,
		                                builtin_teardown),
		cmocka_unit_test_setup_teardown(test_glob, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_globs_match, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_limits, builtin_setup, builtin_teardown),
		cmocka_unit_test_setup_teardown(test_threads, builtin_setup, builtin_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
