/* jit_cli_login and jit_cli_stored_token against a scripted issuer on loopback (see
 * test_login_fake.h): the printed code, the poll spacing (interval, slow_down), refusals,
 * time limits, an unreachable or silent issuer, and refreshes that work or cannot. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/login.h"
#include "cli/login_internal.h"
#include "cli/tests/test_login_fake.h"
#include "lib/common/errors.h"

#define UNUSED_STATE void **state __attribute__((unused))

static char tmpdir[256];
static char creds[512];
static char outbuf[4096];
static const char *login_path; /* the credentials_path run_login passes; NULL: default */

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/jit-login-flow-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(creds, sizeof creds, "%s/home", tmpdir);
	assert_int_equal(mkdir(creds, 0755), 0);
	snprintf(creds, sizeof creds, "%s/home/.jitsudo/credentials", tmpdir);
	login_path = creds;
	*state = fake_start();
	return 0;
}

static int
teardown(void **state)
{
	fake_stop(*state);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
token_answer(struct fake_issuer *f, const char *sub, long exp, const char *refresh)
{
	char payload[512];
	snprintf(payload, sizeof payload,
	         "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"jitsudo-cli\",\"exp\":%ld,"
	         "\"email\":\"%s@example.test\"}",
	         f->base, sub, exp, sub);
	char *jwt = fake_jwt(payload);
	char *out = malloc(strlen(jwt) + 256);
	snprintf(out, strlen(jwt) + 256,
	         "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"id_token\":\"%s\"%s%s%s}",
	         jwt, refresh ? ",\"refresh_token\":\"" : "", refresh ? refresh : "",
	         refresh ? "\"" : "");
	free(jwt);
	return out;
}

static int
run_login(struct fake_issuer *f, int max_wait_s, int timeout_ms)
{
	struct jit_cli_login_opts o = {
		.server = "http://127.0.0.1:1",
		.issuer = f->base,
		.client_id = "jitsudo-cli",
		.credentials_path = login_path,
		.timeout_ms = timeout_ms,
		.max_wait_s = max_wait_s,
	};
	memset(outbuf, 0, sizeof outbuf);
	FILE *out = fmemopen(outbuf, sizeof outbuf - 1, "w");
	assert_non_null(out);
	int r = jit_cli_login(&o, out);
	fclose(out);
	return r;
}

static double
seconds_between(int64_t a, int64_t b)
{
	return (double)(b - a) / 1e9;
}

static void
test_login_pending_then_approved(void **state)
{
	struct fake_issuer *f = *state;
	char *ok = token_answer(f, "alice", (long)time(NULL) + 3600, "refresh-1");
	f->polls[0] = (struct fake_answer){ 400, "{\"error\":\"authorization_pending\"}" };
	f->polls[1] = (struct fake_answer){ 200, ok };
	f->npolls = 2;

	int64_t t0 = fake_now_ns();
	assert_int_equal(run_login(f, 30, 2000), 0);
	char expect[512];
	snprintf(expect, sizeof expect,
	         "To sign in, open %s/verify and enter the code ABCD-EFGH\n"
	         "Or open %s/verify?code=ABCD-EFGH\nLogged in as alice@example.test\n",
	         f->base, f->base);
	assert_string_equal(outbuf, expect);
	assert_non_null(strstr(f->last_device_body, "client_id=jitsudo-cli"));
	assert_non_null(strstr(f->last_device_body, "scope=openid"));
	/* polled at the interval (1 s): never sooner */
	assert_int_equal(f->poll_count, 2);
	assert_true(seconds_between(t0, f->poll_at_ns[0]) >= 0.99);
	assert_true(seconds_between(f->poll_at_ns[0], f->poll_at_ns[1]) >= 0.99);

	struct stat st;
	assert_int_equal(stat(creds, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct jit_cli_credentials c = { 0 };
	char error[512];
	assert_int_equal(jit_cli_credentials_read(creds, &c, error, sizeof error), 0);
	assert_string_equal(c.server, "http://127.0.0.1:1");
	assert_string_equal(c.issuer, f->base);
	assert_string_equal((const char *)c.refresh_token->bytes, "refresh-1");
	assert_true(c.expires_at > (int64_t)time(NULL) + 3500);
	jit_cli_credentials_done(&c);

	/* the stored token is fresh: handed back without asking the issuer */
	char *server = NULL, *token = NULL;
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, &server, &token), 0);
	assert_string_equal(server, "http://127.0.0.1:1");
	assert_non_null(strstr(ok, token));
	assert_int_equal(f->refresh_count, 0);
	free(server);
	free(token);

	assert_int_equal(jit_cli_logout(creds), 0);
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, NULL), -ENOENT);
	free(ok);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

static void
test_login_default_path(void **state)
{
	struct fake_issuer *f = *state;
	char *ok = token_answer(f, "alice", (long)time(NULL) + 3600, NULL);
	char home[400], dir[450], file[500];
	f->polls[0] = (struct fake_answer){ 200, ok };
	f->npolls = 1;

	/* ~/.jitsudo exists but is open to others: login makes it private */
	snprintf(home, sizeof home, "%s/home", tmpdir);
	snprintf(dir, sizeof dir, "%s/.jitsudo", home);
	snprintf(file, sizeof file, "%s/credentials", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	setenv("HOME", home, 1);
	unsetenv("JITSUDO_CREDENTIALS");
	login_path = NULL;
	assert_int_equal(run_login(f, 30, 2000), 0);
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(mode_of(file), 0600);

	/* JITSUDO_CREDENTIALS names a file in a shared directory: the directory is left alone */
	char shared[400], env_file[450];
	snprintf(shared, sizeof shared, "%s/shared", tmpdir);
	snprintf(env_file, sizeof env_file, "%s/creds", shared);
	assert_int_equal(mkdir(shared, 0755), 0);
	assert_int_equal(chmod(shared, 0755), 0);
	setenv("JITSUDO_CREDENTIALS", env_file, 1);
	assert_int_equal(run_login(f, 30, 2000), 0);
	assert_int_equal(mode_of(shared), 0755);
	assert_int_equal(mode_of(env_file), 0600);
	char *token = NULL;
	assert_int_equal(jit_cli_stored_token(NULL, 1000, false, NULL, &token), 0);
	assert_non_null(strstr(ok, token));
	free(token);
	assert_int_equal(jit_cli_logout(NULL), 0);
	assert_int_equal(access(env_file, F_OK), -1);
	assert_int_equal(access(file, F_OK), 0);
	unsetenv("JITSUDO_CREDENTIALS");
	free(ok);
}

static void
test_login_slow_down_adds_five_seconds(void **state)
{
	struct fake_issuer *f = *state;
	char *ok = token_answer(f, "alice", (long)time(NULL) + 3600, NULL);
	f->polls[0] = (struct fake_answer){ 400, "{\"error\":\"slow_down\"}" };
	f->polls[1] = (struct fake_answer){ 200, ok };
	f->npolls = 2;
	assert_int_equal(run_login(f, 30, 2000), 0);
	assert_int_equal(f->poll_count, 2);
	double gap = seconds_between(f->poll_at_ns[0], f->poll_at_ns[1]);
	assert_true(gap >= 5.99);
	assert_true(gap < 8.0);
	free(ok);
}

static void
test_login_denied(void **state)
{
	struct fake_issuer *f = *state;
	f->polls[0] = (struct fake_answer){ 400, "{\"error\":\"access_denied\"}" };
	f->npolls = 1;
	assert_int_equal(run_login(f, 30, 2000), JIT_ERR_DENIED);
	assert_int_equal(access(creds, F_OK), -1);
	assert_null(strstr(outbuf, "Logged in"));
}

static void
test_login_expired_code(void **state)
{
	struct fake_issuer *f = *state;
	f->polls[0] = (struct fake_answer){ 400, "{\"error\":\"expired_token\"}" };
	f->npolls = 1;
	assert_int_equal(run_login(f, 30, 2000), JIT_ERR_TIMEOUT);
	assert_int_equal(access(creds, F_OK), -1);
}

static void
test_login_max_wait(void **state)
{
	struct fake_issuer *f = *state;
	f->polls[0] = (struct fake_answer){ 400, "{\"error\":\"authorization_pending\"}" };
	f->npolls = 1;
	int64_t t0 = fake_now_ns();
	assert_int_equal(run_login(f, 2, 2000), JIT_ERR_TIMEOUT);
	double took = seconds_between(t0, fake_now_ns());
	assert_true(took < 3.5);
	assert_true(f->poll_count >= 1 && f->poll_count <= 2);
}

static void
test_login_code_lifetime_bounds_wait(void **state)
{
	struct fake_issuer *f = *state;
	f->expires_in = 2;
	f->polls[0] = (struct fake_answer){ 400, "{\"error\":\"authorization_pending\"}" };
	f->npolls = 1;
	int64_t t0 = fake_now_ns();
	assert_int_equal(run_login(f, 300, 2000), JIT_ERR_TIMEOUT);
	assert_true(seconds_between(t0, fake_now_ns()) < 3.5);
}

static void
test_login_device_refused(void **state)
{
	struct fake_issuer *f = *state;
	f->device_status = 400;
	assert_int_equal(run_login(f, 30, 2000), JIT_ERR_DENIED);
	assert_int_equal(f->poll_count, 0);
	assert_string_equal(outbuf, "");
}

static void
test_login_wrong_issuer_in_discovery(void **state)
{
	struct fake_issuer *f = *state;
	f->issuer = "https://someone-else.test";
	assert_int_equal(run_login(f, 30, 2000), JIT_ERR_INVALID);
	assert_string_equal(outbuf, "");
}

static void
test_login_silent_issuer(void **state)
{
	struct fake_issuer *f = *state;
	f->silent = true;
	int64_t t0 = fake_now_ns();
	assert_int_equal(run_login(f, 30, 300), JIT_ERR_UNAVAILABLE);
	assert_true(seconds_between(t0, fake_now_ns()) < 1.5);
}

static void
test_login_unreachable_issuer(UNUSED_STATE)
{
	/* a port nobody listens on: bind one, close it, use it */
	struct fake_issuer *g = fake_start();
	char base[64];
	snprintf(base, sizeof base, "%s", g->base);
	fake_stop(g);
	struct jit_cli_login_opts o = { .issuer = base,
		                        .client_id = "jitsudo-cli",
		                        .credentials_path = creds,
		                        .timeout_ms = 1000,
		                        .max_wait_s = 5 };
	assert_int_equal(jit_cli_login(&o, stdout), JIT_ERR_UNAVAILABLE);
}

static void
test_login_bad_options(UNUSED_STATE)
{
	struct jit_cli_login_opts o = { .issuer = NULL,
		                        .client_id = "c",
		                        .timeout_ms = 1000,
		                        .max_wait_s = 5,
		                        .credentials_path = creds };
	assert_int_equal(jit_cli_login(&o, stdout), JIT_ERR_INVALID);
	o.issuer = "ftp://x";
	assert_int_equal(jit_cli_login(&o, stdout), JIT_ERR_INVALID);
	o.issuer = "https://x.test";
	o.client_id = "";
	assert_int_equal(jit_cli_login(&o, stdout), JIT_ERR_INVALID);
	o.client_id = "c d";
	assert_int_equal(jit_cli_login(&o, stdout), JIT_ERR_INVALID);
	o.client_id = "c";
	o.max_wait_s = 0;
	assert_int_equal(jit_cli_login(&o, stdout), JIT_ERR_INVALID);
}

/* Stores credentials whose ID token (subject `sub`) has `left` seconds to live. */
static void
store(struct fake_issuer *f, const char *sub, long left, const char *refresh)
{
	char *ans = token_answer(f, sub, (long)time(NULL) + left + 100000, refresh);
	struct jit_cli_token_answer a = { 0 };
	char error[512];
	assert_int_equal(jit_cli_token_answer_parse(ans, strlen(ans), f->base, time(NULL), true, &a,
	                                            error, sizeof error),
	                 0);
	struct jit_cli_credentials c = { 0 };
	c.issuer = strdup(f->base);
	c.client_id = strdup("jitsudo-cli");
	size_t n = strlen(f->base) + 16;
	c.token_endpoint = malloc(n);
	snprintf(c.token_endpoint, n, "%s/token", f->base);
	c.server = strdup("http://127.0.0.1:2");
	c.id_token = a.id_token;
	a.id_token = NULL;
	c.refresh_token = a.refresh_token;
	a.refresh_token = NULL;
	c.expires_at = (int64_t)time(NULL) + left;
	assert_int_equal(jit_cli_credentials_write(creds, true, &c, error, sizeof error), 0);
	jit_cli_credentials_done(&c);
	jit_cli_token_answer_done(&a);
	free(ans);
}

static void
test_refresh_renews_id_token(void **state)
{
	struct fake_issuer *f = *state;
	store(f, "alice", 10, "refresh-old");
	char *fresh = token_answer(f, "alice", (long)time(NULL) + 3600, "refresh-new");
	f->refresh = (struct fake_answer){ 200, fresh };

	char *server = NULL, *token = NULL;
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, &server, &token), 0);
	assert_int_equal(f->refresh_count, 1);
	assert_non_null(strstr(f->last_refresh_body, "grant_type=refresh_token"));
	assert_non_null(strstr(f->last_refresh_body, "refresh_token=refresh-old"));
	assert_non_null(strstr(f->last_refresh_body, "client_id=jitsudo-cli"));
	assert_non_null(strstr(fresh, token));
	assert_string_equal(server, "http://127.0.0.1:2");
	free(server);
	free(token);

	struct jit_cli_credentials c = { 0 };
	char error[512];
	assert_int_equal(jit_cli_credentials_read(creds, &c, error, sizeof error), 0);
	assert_string_equal((const char *)c.refresh_token->bytes, "refresh-new");
	assert_true(c.expires_at > (int64_t)time(NULL) + 3500);
	jit_cli_credentials_done(&c);
	struct stat st;
	assert_int_equal(stat(creds, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* now fresh: no second refresh */
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, NULL), 0);
	assert_int_equal(f->refresh_count, 1);
	free(fresh);
}

static void
test_refresh_cannot_renew(void **state)
{
	struct fake_issuer *f = *state;
	char *token = NULL;

	/* the provider renews the access token only (OIDC Core §12.2 allows it) */
	store(f, "alice", 5, "refresh-old");
	f->refresh = (struct fake_answer){
		200, "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":60}"
	};
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, &token),
	                 JIT_ERR_UNAUTHENTICATED);
	assert_null(token);

	/* refused */
	f->refresh = (struct fake_answer){ 400, "{\"error\":\"invalid_grant\"}" };
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, &token),
	                 JIT_ERR_UNAUTHENTICATED);

	/* a new ID token about someone else */
	char *other = token_answer(f, "mallory", (long)time(NULL) + 3600, NULL);
	f->refresh = (struct fake_answer){ 200, other };
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, &token),
	                 JIT_ERR_UNAUTHENTICATED);
	free(other);

	/* the issuer fails */
	f->refresh = (struct fake_answer){ 503, "{}" };
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, &token),
	                 JIT_ERR_UNAVAILABLE);

	/* the file was left as it was */
	struct jit_cli_credentials c = { 0 };
	char error[512];
	assert_int_equal(jit_cli_credentials_read(creds, &c, error, sizeof error), 0);
	assert_string_equal((const char *)c.refresh_token->bytes, "refresh-old");
	jit_cli_credentials_done(&c);

	/* only the server wanted: no refresh attempted, the server handed back */
	int count = f->refresh_count;
	char *server = NULL;
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, &server, NULL), 0);
	assert_string_equal(server, "http://127.0.0.1:2");
	assert_int_equal(f->refresh_count, count);
	free(server);

	/* no refresh token at all */
	store(f, "alice", 5, NULL);
	int before = f->refresh_count;
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, &token),
	                 JIT_ERR_UNAUTHENTICATED);
	assert_int_equal(f->refresh_count, before);
}

static void
test_refresh_issuer_silent(void **state)
{
	struct fake_issuer *f = *state;
	char *token = NULL;
	store(f, "alice", 5, "refresh-old");
	f->silent = true;
	int64_t t0 = fake_now_ns();
	assert_int_equal(jit_cli_stored_token(creds, 300, false, NULL, &token),
	                 JIT_ERR_UNAVAILABLE);
	assert_true(seconds_between(t0, fake_now_ns()) < 1.5);
}

struct renewer {
	struct fake_issuer *f;
	int lock_fd;
};

/* Plays another jitsudo that holds the lock, renews the file, then lets go. */
static void *
renew_then_unlock(void *arg)
{
	struct renewer *w = arg;
	usleep(300000);
	store(w->f, "alice", 3600, "refresh-renewed");
	close(w->lock_fd);
	return NULL;
}

static void
test_refresh_waits_for_another_refresh(void **state)
{
	struct fake_issuer *f = *state;
	char *token = NULL;
	store(f, "alice", 5, "refresh-old");
	f->refresh = (struct fake_answer){ 400, "{\"error\":\"invalid_grant\"}" };

	/* someone holds the lock past our time limit: 75-style failure, no refresh sent */
	int fd = open(creds, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	int64_t t0 = fake_now_ns();
	assert_int_equal(jit_cli_stored_token(creds, 300, false, NULL, &token),
	                 JIT_ERR_UNAVAILABLE);
	assert_true(seconds_between(t0, fake_now_ns()) < 1.0);
	assert_int_equal(f->refresh_count, 0);

	/* the holder renews the file and lets go: we use its token, without a refresh of ours
	 * (which this issuer would refuse: the old refresh token is spent) */
	struct renewer w = { .f = f, .lock_fd = fd };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, renew_then_unlock, &w), 0);
	assert_int_equal(jit_cli_stored_token(creds, 3000, false, NULL, &token), 0);
	pthread_join(t, NULL);
	assert_int_equal(f->refresh_count, 0);
	assert_non_null(token);
	free(token);
	struct jit_cli_credentials c = { 0 };
	char error[512];
	assert_int_equal(jit_cli_credentials_read(creds, &c, error, sizeof error), 0);
	assert_string_equal((const char *)c.refresh_token->bytes, "refresh-renewed");
	jit_cli_credentials_done(&c);
}

static void
test_stored_token_refuses_open_file(void **state)
{
	struct fake_issuer *f = *state;
	store(f, "alice", 3600, "r");
	assert_int_equal(chmod(creds, 0640), 0);
	assert_int_equal(jit_cli_stored_token(creds, 1000, false, NULL, NULL), JIT_ERR_INVALID);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_login_pending_then_approved),
		T(test_login_default_path),
		T(test_login_slow_down_adds_five_seconds),
		T(test_login_denied),
		T(test_login_expired_code),
		T(test_login_max_wait),
		T(test_login_code_lifetime_bounds_wait),
		T(test_login_device_refused),
		T(test_login_wrong_issuer_in_discovery),
		T(test_login_silent_issuer),
		T(test_login_unreachable_issuer),
		T(test_login_bad_options),
		T(test_refresh_renews_id_token),
		T(test_refresh_cannot_renew),
		T(test_refresh_issuer_silent),
		T(test_refresh_waits_for_another_refresh),
		T(test_stored_token_refuses_open_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
