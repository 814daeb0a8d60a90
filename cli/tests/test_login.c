/* cli/login.c: the credentials file (modes, symlinks, atomic replacement, malformed input),
 * the ID token payload, the token answer checks and the device grant's polling verdicts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/login.h"
#include "cli/login_internal.h"
#include "cli/tests/test_login_fake.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"

#define UNUSED_STATE void **state __attribute__((unused))
#define ISSUER "https://id.example.test"

static char tmpdir[256];

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/jit-login-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
path_in(const char *name)
{
	static char buf[512];
	snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
	return buf;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
fill(struct jit_cli_credentials *c, const char *id_token, const char *refresh)
{
	memset(c, 0, sizeof *c);
	c->server = strdup("http://127.0.0.1:8080");
	c->issuer = strdup(ISSUER);
	c->client_id = strdup("jitsudo-cli");
	c->token_endpoint = strdup(ISSUER "/token");
	assert_int_equal(jit_secret_new(id_token, strlen(id_token), &c->id_token), 0);
	if (refresh)
		assert_int_equal(jit_secret_new(refresh, strlen(refresh), &c->refresh_token), 0);
	c->expires_at = 2000000000;
}

static int
files_in(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
test_credentials_round_trip(UNUSED_STATE)
{
	struct jit_cli_credentials c, back = { 0 };
	char error[512];
	char *path = strdup(path_in("dir/credentials"));
	char *dir = strdup(path_in("dir"));

	fill(&c, "aaa.bbb.ccc", "refresh-1");
	assert_int_equal(jit_cli_credentials_write(path, true, &c, error, sizeof error), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(jit_cli_credentials_read(path, &back, error, sizeof error), 0);
	assert_string_equal(back.server, c.server);
	assert_string_equal(back.issuer, ISSUER);
	assert_string_equal(back.client_id, "jitsudo-cli");
	assert_string_equal(back.token_endpoint, ISSUER "/token");
	assert_null(back.ca_file);
	assert_string_equal((const char *)back.id_token->bytes, "aaa.bbb.ccc");
	assert_string_equal((const char *)back.refresh_token->bytes, "refresh-1");
	assert_int_equal(back.expires_at, 2000000000);
	jit_cli_credentials_done(&back);

	/* Replacing it leaves one file (no temporary behind) with the new content. */
	jit_secret_free(c.refresh_token);
	c.refresh_token = NULL;
	free(c.server);
	c.server = NULL;
	assert_int_equal(jit_cli_credentials_write(path, true, &c, error, sizeof error), 0);
	assert_int_equal(files_in(dir), 1);
	assert_int_equal(jit_cli_credentials_read(path, &back, error, sizeof error), 0);
	assert_null(back.refresh_token);
	assert_null(back.server);
	jit_cli_credentials_done(&back);
	jit_cli_credentials_done(&c);
	free(path);
	free(dir);
}

static void
test_private_dir_tightened(UNUSED_STATE)
{
	struct jit_cli_credentials c;
	char error[512];
	char *dir = strdup(path_in("open"));
	char *path = strdup(path_in("open/credentials"));
	struct stat st;

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	fill(&c, "a.b.c", NULL);
	/* Not the private directory: left as it is. */
	assert_int_equal(jit_cli_credentials_write(path, false, &c, error, sizeof error), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	assert_int_equal(jit_cli_credentials_write(path, true, &c, error, sizeof error), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	jit_cli_credentials_done(&c);
	free(dir);
	free(path);
}

static void
test_read_refusals(UNUSED_STATE)
{
	struct jit_cli_credentials c = { 0 };
	char error[512];
	const char *good = "{\"version\":1,\"issuer\":\"" ISSUER "\",\"client_id\":\"x\","
	                   "\"token_endpoint\":\"" ISSUER "/token\",\"id_token\":\"a.b.c\","
	                   "\"expires_at\":5}";

	assert_int_equal(jit_cli_credentials_read(path_in("none"), &c, error, sizeof error),
	                 -ENOENT);

	write_file(path_in("ok"), good, 0600);
	assert_int_equal(jit_cli_credentials_read(path_in("ok"), &c, error, sizeof error), 0);
	assert_int_equal(c.expires_at, 5);
	jit_cli_credentials_done(&c);

	write_file(path_in("shared"), good, 0644);
	assert_int_equal(jit_cli_credentials_read(path_in("shared"), &c, error, sizeof error),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(error, "group or others"));
	write_file(path_in("groupw"), good, 0620);
	assert_int_equal(jit_cli_credentials_read(path_in("groupw"), &c, error, sizeof error),
	                 JIT_ERR_INVALID);

	char *target = strdup(path_in("ok"));
	assert_int_equal(symlink(target, path_in("link")), 0);
	free(target);
	assert_int_equal(jit_cli_credentials_read(path_in("link"), &c, error, sizeof error),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(error, "symbolic link"));

	assert_int_equal(mkdir(path_in("adir"), 0700), 0);
	assert_int_equal(jit_cli_credentials_read(path_in("adir"), &c, error, sizeof error),
	                 JIT_ERR_INVALID);

	static const char *const bad[] = {
		"not json",
		"[]",
		"{\"version\":2,\"issuer\":\"" ISSUER "\",\"client_id\":\"x\",\"token_endpoint\":"
		"\"" ISSUER "/t\",\"id_token\":\"a.b.c\",\"expires_at\":5}",
		/* no id_token */
		"{\"version\":1,\"issuer\":\"" ISSUER "\",\"client_id\":\"x\",\"token_endpoint\":"
		"\"" ISSUER "/t\",\"expires_at\":5}",
		/* issuer not a URL */
		"{\"version\":1,\"issuer\":\"ftp://x\",\"client_id\":\"x\",\"token_endpoint\":"
		"\"" ISSUER "/t\",\"id_token\":\"a.b.c\",\"expires_at\":5}",
		/* a token with a control character */
		"{\"version\":1,\"issuer\":\"" ISSUER "\",\"client_id\":\"x\",\"token_endpoint\":"
		"\"" ISSUER "/t\",\"id_token\":\"a.b\\nc\",\"expires_at\":5}",
		/* exp as a string */
		"{\"version\":1,\"issuer\":\"" ISSUER "\",\"client_id\":\"x\",\"token_endpoint\":"
		"\"" ISSUER "/t\",\"id_token\":\"a.b.c\",\"expires_at\":\"5\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(path_in("bad"), bad[i], 0600);
		assert_int_equal(jit_cli_credentials_read(path_in("bad"), &c, error, sizeof error),
		                 JIT_ERR_INVALID);
		assert_non_null(strstr(error, "malformed"));
	}

	/* Over the size bound. */
	size_t big = JIT_CLI_CREDENTIALS_MAX + 10;
	char *text = malloc(big + 1);
	memset(text, ' ', big);
	text[big] = '\0';
	write_file(path_in("big"), text, 0600);
	free(text);
	assert_int_equal(jit_cli_credentials_read(path_in("big"), &c, error, sizeof error),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(error, "too large"));
}

static void
test_write_refuses_symlink(UNUSED_STATE)
{
	struct jit_cli_credentials c;
	char error[512];
	char *target = strdup(path_in("elsewhere"));
	char *link = strdup(path_in("credentials"));

	write_file(target, "untouched", 0600);
	assert_int_equal(symlink(target, link), 0);
	fill(&c, "a.b.c", NULL);
	assert_int_equal(jit_cli_credentials_write(link, false, &c, error, sizeof error),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(error, "symbolic link"));
	char buf[32] = "";
	FILE *f = fopen(target, "r");
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "untouched");
	jit_cli_credentials_done(&c);
	free(target);
	free(link);
}

static void
test_logout(UNUSED_STATE)
{
	write_file(path_in("creds"), "{}", 0600);
	assert_int_equal(jit_cli_logout(path_in("creds")), 0);
	assert_int_equal(access(path_in("creds"), F_OK), -1);
	assert_int_equal(jit_cli_logout(path_in("creds")), 0); /* none: still 0 */
}

static void
test_default_path(UNUSED_STATE)
{
	char *p = NULL;
	setenv("JITSUDO_CREDENTIALS", "/somewhere/creds", 1);
	assert_int_equal(jit_cli_credentials_default_path(&p), 0);
	assert_string_equal(p, "/somewhere/creds");
	free(p);
	unsetenv("JITSUDO_CREDENTIALS");
	setenv("HOME", "/home/alice", 1);
	assert_int_equal(jit_cli_credentials_default_path(&p), 0);
	assert_string_equal(p, "/home/alice/.jitsudo/credentials");
	free(p);
}

static void
test_jwt_payload(UNUSED_STATE)
{
	json_t *claims = NULL;
	char *jwt = fake_jwt("{\"iss\":\"x\",\"exp\":7}");
	assert_int_equal(jit_cli_jwt_payload(jwt, strlen(jwt), &claims), 0);
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")), 7);
	json_decref(claims);
	free(jwt);

	static const char *const bad[] = {
		"",
		"abc",
		"a.b",
		"a.b.c.d",
		".e30.c",
		"a..c",
		"a.e30.",
		"a.!!!.c",
		"a.W10.c",         /* [] */
		"a.bm90IGpzb24.c", /* "not json" */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(jit_cli_jwt_payload(bad[i], strlen(bad[i]), &claims),
		                 JIT_ERR_INVALID);
}

static char *
answer(const char *type, const char *id_token, const char *refresh)
{
	char *text = malloc(JIT_CLI_TOKEN_MAX * 3);
	snprintf(text, JIT_CLI_TOKEN_MAX * 3,
	         "{\"access_token\":\"at\",\"token_type\":\"%s\"%s%s%s%s%s%s}", type,
	         id_token ? ",\"id_token\":\"" : "", id_token ? id_token : "", id_token ? "\"" : "",
	         refresh ? ",\"refresh_token\":\"" : "", refresh ? refresh : "",
	         refresh ? "\"" : "");
	return text;
}

static void
test_token_answer(UNUSED_STATE)
{
	struct jit_cli_token_answer a = { 0 };
	char error[512];
	int64_t now = 1000;
	char *good = fake_jwt("{\"iss\":\"" ISSUER "\",\"sub\":\"s1\",\"exp\":2000,"
	                      "\"email\":\"alice@example.test\"}");
	char *text = answer("Bearer", good, "r1");
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true, &a,
	                                            error, sizeof error),
	                 0);
	assert_string_equal((const char *)a.id_token->bytes, good);
	assert_string_equal((const char *)a.refresh_token->bytes, "r1");
	assert_int_equal(a.expires_at, 2000);
	assert_string_equal(a.name, "alice@example.test");
	assert_string_equal(a.subject, "s1");
	jit_cli_token_answer_done(&a);
	free(text);

	/* token_type is case-insensitive; no refresh token is fine */
	text = answer("bearer", good, NULL);
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true, &a,
	                                            error, sizeof error),
	                 0);
	assert_null(a.refresh_token);
	jit_cli_token_answer_done(&a);
	free(text);

	text = answer("mac", good, NULL);
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true, &a,
	                                            error, sizeof error),
	                 JIT_ERR_INVALID);
	assert_non_null(strstr(error, "Bearer"));
	free(text);

	/* no id_token: refused unless the caller allows it (a refresh) */
	text = answer("Bearer", NULL, "r2");
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true, &a,
	                                            error, sizeof error),
	                 JIT_ERR_INVALID);
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, false, &a,
	                                            error, sizeof error),
	                 0);
	assert_null(a.id_token);
	jit_cli_token_answer_done(&a);
	free(text);

	/* another issuer, expired, no sub, no exp, not a JWT */
	static const char *const payloads[] = {
		"{\"iss\":\"https://evil.test\",\"sub\":\"s\",\"exp\":2000}",
		"{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"exp\":999}",
		"{\"iss\":\"" ISSUER "\",\"exp\":2000}",
		"{\"iss\":\"" ISSUER "\",\"sub\":\"s\"}",
		"{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"exp\":99999999999}",
	};
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		char *jwt = fake_jwt(payloads[i]);
		text = answer("Bearer", jwt, NULL);
		assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true,
		                                            &a, error, sizeof error),
		                 JIT_ERR_INVALID);
		free(text);
		free(jwt);
	}
	text = answer("Bearer", "opaque", NULL);
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true, &a,
	                                            error, sizeof error),
	                 JIT_ERR_INVALID);
	free(text);

	/* an ID token over the bound */
	char *huge = malloc(JIT_CLI_TOKEN_MAX + 10);
	memset(huge, 'a', JIT_CLI_TOKEN_MAX + 9);
	huge[JIT_CLI_TOKEN_MAX + 9] = '\0';
	text = answer("Bearer", huge, NULL);
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true, &a,
	                                            error, sizeof error),
	                 JIT_ERR_INVALID);
	free(text);
	free(huge);

	/* a name with terminal escapes is shown defanged */
	char *jwt = fake_jwt("{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"exp\":2000,"
	                     "\"preferred_username\":\"\\u001b[31mroot\"}");
	text = answer("Bearer", jwt, NULL);
	assert_int_equal(jit_cli_token_answer_parse(text, strlen(text), ISSUER, now, true, &a,
	                                            error, sizeof error),
	                 0);
	assert_string_equal(a.name, "?[31mroot");
	jit_cli_token_answer_done(&a);
	free(text);
	free(jwt);
	free(good);
}

static int
judge(struct jit_cli_poll *p, long status, const char *body, struct jit_cli_token_answer *a,
      char *error)
{
	return jit_cli_poll_answer(p, status, body, strlen(body), ISSUER, 1000, a, error, 512);
}

static void
test_poll_verdicts(UNUSED_STATE)
{
	struct jit_cli_poll p = { .interval_s = 5 };
	struct jit_cli_token_answer a = { 0 };
	char error[512];

	assert_int_equal(judge(&p, 400, "{\"error\":\"authorization_pending\"}", &a, error),
	                 JIT_CLI_POLL_AGAIN);
	assert_int_equal(p.interval_s, 5);
	assert_int_equal(judge(&p, 400, "{\"error\":\"slow_down\"}", &a, error),
	                 JIT_CLI_POLL_AGAIN);
	assert_int_equal(p.interval_s, 10);
	assert_int_equal(judge(&p, 400, "{\"error\":\"slow_down\"}", &a, error),
	                 JIT_CLI_POLL_AGAIN);
	assert_int_equal(p.interval_s, 15);
	p.interval_s = JIT_CLI_MAX_INTERVAL_S - 1;
	assert_int_equal(judge(&p, 400, "{\"error\":\"slow_down\"}", &a, error),
	                 JIT_CLI_POLL_AGAIN);
	assert_int_equal(p.interval_s, JIT_CLI_MAX_INTERVAL_S);

	assert_int_equal(judge(&p, 400, "{\"error\":\"access_denied\"}", &a, error),
	                 JIT_ERR_DENIED);
	assert_non_null(strstr(error, "denied"));
	assert_int_equal(judge(&p, 400, "{\"error\":\"expired_token\"}", &a, error),
	                 JIT_ERR_TIMEOUT);
	assert_non_null(strstr(error, "expired"));
	assert_int_equal(
	        judge(&p, 401,
	              "{\"error\":\"invalid_client\",\"error_description\":\"no\\u0007pe\"}", &a,
	              error),
	        JIT_ERR_DENIED);
	assert_non_null(strstr(error, "invalid_client: no?pe"));
	assert_int_equal(judge(&p, 503, "busy", &a, error), JIT_ERR_UNAVAILABLE);
	assert_int_equal(judge(&p, 400, "<html>", &a, error), JIT_ERR_INVALID);
	assert_int_equal(judge(&p, 400, "{\"error\":7}", &a, error), JIT_ERR_INVALID);
	assert_int_equal(judge(&p, 200, "{\"token_type\":\"Bearer\"}", &a, error), JIT_ERR_INVALID);

	char *jwt = fake_jwt("{\"iss\":\"" ISSUER "\",\"sub\":\"s\",\"exp\":2000}");
	char *text = answer("Bearer", jwt, "r");
	assert_int_equal(judge(&p, 200, text, &a, error), 0);
	assert_string_equal(a.name, "s");
	jit_cli_token_answer_done(&a);
	free(text);
	free(jwt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_credentials_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_dir_tightened, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logout, setup, teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_jwt_payload),
		cmocka_unit_test(test_token_answer),
		cmocka_unit_test(test_poll_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
