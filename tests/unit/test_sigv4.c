/* AWS Signature Version 4 against the test vectors AWS published (shared/aws-sigv4-test-suite):
 * canonical request, string to sign and signature, for header and query signing, byte for
 * byte; plus bounds and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "lib/common/errors.h"
#include "lib/crypto/sigv4.h"

#define UNUSED_STATE void **state __attribute__((unused))

static const char *
suite_dir(void)
{
	const char *dir = getenv("SIGV4_SUITE_DIR");
	return dir ? dir : "../shared/aws-sigv4-test-suite";
}

static char *
read_text(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

struct parsed {
	char method[16];
	char path[2048];
	char query[2048];
	struct jit_sigv4_header headers[JIT_SIGV4_MAX_HEADERS];
	char names[JIT_SIGV4_MAX_HEADERS][128];
	char values[JIT_SIGV4_MAX_HEADERS][2048];
	size_t count;
	const char *body;
	size_t body_length;
};

/* request.txt: "METHOD target HTTP/1.1", header lines (folded lines start with spaces), an
 * empty line, the body. */
static void
parse_request(char *text, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	char *line_end = strchr(text, '\n');
	assert_non_null(line_end);
	*line_end = '\0';
	char *sp1 = strchr(text, ' '), *sp2 = strrchr(text, ' ');
	assert_true(sp1 && sp2 && sp2 > sp1);
	*sp1 = *sp2 = '\0';
	snprintf(p->method, sizeof(p->method), "%s", text);
	char *target = sp1 + 1, *q = strchr(target, '?');
	if (q) {
		*q = '\0';
		snprintf(p->query, sizeof(p->query), "%s", q + 1);
	}
	snprintf(p->path, sizeof(p->path), "%s", target);
	char *s = line_end + 1;
	while (*s && *s != '\n') {
		char *e = strchr(s, '\n');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if ((*s == ' ' || *s == '\t') && p->count) {
			size_t have = strlen(p->values[p->count - 1]);
			snprintf(p->values[p->count - 1] + have, sizeof(p->values[0]) - have,
			         "\n%.*s", (int)n, s);
		} else {
			char *colon = memchr(s, ':', n);
			assert_non_null(colon);
			snprintf(p->names[p->count], sizeof(p->names[0]), "%.*s", (int)(colon - s),
			         s);
			snprintf(p->values[p->count], sizeof(p->values[0]), "%.*s",
			         (int)(n - (size_t)(colon - s) - 1), colon + 1);
			p->count++;
		}
		s = e ? e + 1 : s + n;
	}
	if (*s == '\n') {
		p->body = s + 1;
		p->body_length = strlen(s + 1);
	}
	for (size_t i = 0; i < p->count; i++)
		p->headers[i] = (struct jit_sigv4_header){ p->names[i], p->values[i] };
}

static int64_t
parse_timestamp(const char *s)
{
	struct tm tm = { 0 };
	assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
	return (int64_t)timegm(&tm);
}

static void
check_case(const char *dir, bool query, int *checked)
{
	char *request_text = read_text(dir, "request.txt");
	char *context_text = read_text(dir, "context.json");
	char *want_canon = read_text(dir, query ? "query-canonical-request.txt"
	                                        : "header-canonical-request.txt");
	char *want_sts =
	        read_text(dir, query ? "query-string-to-sign.txt" : "header-string-to-sign.txt");
	char *want_sig = read_text(dir, query ? "query-signature.txt" : "header-signature.txt");
	assert_non_null(request_text);
	assert_non_null(context_text);
	if (!want_canon || !want_sts || !want_sig)
		goto done; /* this case publishes no vectors for this kind of signing */
	struct parsed p;
	parse_request(request_text, &p);
	json_error_t jerr;
	json_t *ctx = json_loads(context_text, 0, &jerr);
	assert_non_null(ctx);
	json_t *creds = json_object_get(ctx, "credentials");
	struct jit_sigv4_request req = { p.method, p.path, p.query,      p.headers,
		                         p.count,  p.body, p.body_length };
	struct jit_sigv4_params params = {
		.access_key_id = json_string_value(json_object_get(creds, "access_key_id")),
		.secret_access_key = json_string_value(json_object_get(creds, "secret_access_key")),
		.session_token = json_string_value(json_object_get(creds, "token")),
		.region = json_string_value(json_object_get(ctx, "region")),
		.service = json_string_value(json_object_get(ctx, "service")),
		.time = parse_timestamp(json_string_value(json_object_get(ctx, "timestamp"))),
		.normalize_path = json_is_true(json_object_get(ctx, "normalize")),
		.sign_body = json_is_true(json_object_get(ctx, "sign_body")),
		.omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
		.query = query,
		.expires_seconds =
		        (uint32_t)json_integer_value(json_object_get(ctx, "expiration_in_seconds")),
	};
	struct jit_sigv4_result res;
	assert_int_equal(jit_sigv4_sign(&req, &params, &res), 0);
	if (strcmp(res.canonical_request, want_canon) != 0)
		fail_msg("%s (%s): canonical request\n--- got\n%s\n--- want\n%s", dir,
		         query ? "query" : "header", res.canonical_request, want_canon);
	assert_string_equal(res.string_to_sign, want_sts);
	/* Files may end with a newline. */
	want_sig[strcspn(want_sig, "\r\n")] = '\0';
	assert_string_equal(res.signature, want_sig);
	(*checked)++;
	jit_sigv4_result_free(&res);
	json_decref(ctx);
done:
	free(request_text);
	free(context_text);
	free(want_canon);
	free(want_sts);
	free(want_sig);
}

static void
test_published_vectors(UNUSED_STATE)
{
	DIR *d = opendir(suite_dir());
	if (!d) {
		fail_msg("cannot open %s (set SIGV4_SUITE_DIR)", suite_dir());
		return; /* not reached: fail_msg ends the test */
	}
	struct dirent *e;
	int checked = 0, cases = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		char dir[1024];
		snprintf(dir, sizeof(dir), "%s/%s", suite_dir(), e->d_name);
		cases++;
		check_case(dir, false, &checked);
		check_case(dir, true, &checked);
	}
	closedir(d);
	/* Every case has header and query vectors: all of them must have been checked. */
	assert_true(cases >= 38);
	assert_int_equal(checked, 2 * cases);
}

static void
test_bad_input(UNUSED_STATE)
{
	struct jit_sigv4_header h[] = { { "Host", "example.com" }, { "Bad Name", "x" } };
	struct jit_sigv4_request req = { "GET", "/", NULL, h, 2, NULL, 0 };
	struct jit_sigv4_params params = { .access_key_id = "AKID",
		                           .secret_access_key = "secret",
		                           .region = "us-east-1",
		                           .service = "sts" };
	struct jit_sigv4_result res;
	assert_int_equal(jit_sigv4_sign(&req, &params, &res), JIT_ERR_INVALID);
	req.header_count = JIT_SIGV4_MAX_HEADERS + 1;
	assert_int_equal(jit_sigv4_sign(&req, &params, &res), JIT_ERR_TOO_LARGE);
	req.header_count = 1;
	params.region = NULL;
	assert_int_equal(jit_sigv4_sign(&req, &params, &res), JIT_ERR_INVALID);
	params.region = "us-east-1";
	char *long_value = malloc(JIT_SIGV4_MAX_FIELD + 2);
	memset(long_value, 'a', JIT_SIGV4_MAX_FIELD + 1);
	long_value[JIT_SIGV4_MAX_FIELD + 1] = '\0';
	struct jit_sigv4_header big[] = { { "Host", long_value } };
	req.headers = big;
	assert_int_equal(jit_sigv4_sign(&req, &params, &res), JIT_ERR_TOO_LARGE);
	free(long_value);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_vectors),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests_name("sigv4", tests, NULL, NULL);
}
