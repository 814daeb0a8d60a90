/* `jitsudo login` and ~/.jitsudo/credentials: the OpenID Connect device grant (RFC 8628) and
 * the refresh grant. Trusts neither the issuer's answers nor the file: both are bounded and
 * parsed strictly; tokens stay in wiped memory and are never printed. jitsudod verifies the
 * signatures: the ID token is decoded here only for its iss, sub, exp and a name to show. */
#include "cli/login.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/http.h"
#include "cli/login_internal.h"
#include "lib/common/base64url.h"
#include "lib/common/buf.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"
#include "lib/net/http.h"

#define DISCOVERY_PATH "/.well-known/openid-configuration"
#define DISCOVERY_MAX (256 * 1024)    /* bytes of a discovery document */
#define ANSWER_MAX (64 * 1024)        /* bytes of a device or token endpoint answer */
#define DEVICE_CODE_MAX 2048          /* bytes of a device_code */
#define USER_CODE_MAX 64              /* bytes of a user_code, printed to the terminal */
#define DESCRIPTION_MAX 200           /* bytes of an issuer's error_description we repeat */
#define NAME_MAX_BYTES 256            /* bytes of the name shown after "Logged in as" */
#define MAX_EXPIRES_IN (24 * 3600)    /* a device code lasting longer is treated as this */
#define MAX_EXP_AHEAD (400LL * 86400) /* an ID token exp further away is refused */
#define FORM_MAX (4 * JIT_CLI_TOKEN_MAX)
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
#define ERROR_SIZE 512

static void JIT_PRINTF(3, 4) set_error(char *error, size_t size, const char *fmt, ...)
{
	va_list ap;
	if (!error || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(error, size, fmt, ap);
	va_end(ap);
}

/* ---- wiping what jansson frees ------------------------------------------------------ */

/* A block of known size holding token bytes: wiped, then freed. */
static void
wipe_free(void *p, size_t size)
{
	if (!p)
		return;
	explicit_bzero(p, size);
	free(p);
}

/* Tokens pass through jansson's parser and objects; while a public function of this file
 * runs, every block jansson frees is wiped first. The CLI is single-threaded. jansson does
 * not pass the size, so the whole usable block is wiped; the function is only ever called
 * through jansson's pointer, never inlined where a fortified build would see a smaller
 * allocation. */
static __attribute__((noinline)) void
json_wiping_free(void *p)
{
	if (!p)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

struct json_alloc {
	json_malloc_t malloc_fn;
	json_free_t free_fn;
};

static void
json_wiping_begin(struct json_alloc *saved)
{
	json_get_alloc_funcs(&saved->malloc_fn, &saved->free_fn);
	json_set_alloc_funcs(malloc, json_wiping_free);
}

static void
json_wiping_end(const struct json_alloc *saved)
{
	json_set_alloc_funcs(saved->malloc_fn, saved->free_fn);
}

static void
wipe_and_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* ---- small checks ------------------------------------------------------------------- */

static bool
printable_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* A copy of untrusted text fit for one terminal line: printable ASCII kept, anything else
 * shown as '?', at most `max` bytes. */
static char *
display_copy(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
	}
	out[n] = '\0';
	return out;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* An http(s) URL without spaces or control characters, at most JIT_CLI_URL_MAX bytes. */
static bool
valid_url(const char *s)
{
	if (!s)
		return false;
	size_t n = strnlen(s, JIT_CLI_URL_MAX + 1);
	if (n > JIT_CLI_URL_MAX || !printable_ascii(s, n))
		return false;
	if (has_prefix(s, "https://"))
		return n > strlen("https://");
	if (has_prefix(s, "http://"))
		return n > strlen("http://");
	return false;
}

static bool
valid_client_id(const char *s)
{
	if (!s)
		return false;
	size_t n = strnlen(s, JIT_CLI_CLIENT_ID_MAX + 1);
	return n > 0 && n <= JIT_CLI_CLIENT_ID_MAX && printable_ascii(s, n);
}

static int64_t
now_seconds(void)
{
	return jit_now_realtime_ns() / 1000000000LL;
}

/* ---- base64url and the JWT payload ------------------------------------------------- */

int
jit_cli_jwt_payload(const char *jwt, size_t len, json_t **ret)
{
	if (!jwt || len == 0 || len > JIT_CLI_TOKEN_MAX)
		return JIT_ERR_INVALID;
	const char *dot1 = memchr(jwt, '.', len);
	if (!dot1)
		return JIT_ERR_INVALID;
	const char *rest = dot1 + 1;
	size_t rest_len = len - (size_t)(rest - jwt);
	const char *dot2 = memchr(rest, '.', rest_len);
	if (!dot2 || dot1 == jwt || dot2 == rest)
		return JIT_ERR_INVALID;
	const char *sig = dot2 + 1;
	size_t sig_len = len - (size_t)(sig - jwt);
	if (sig_len == 0 || memchr(sig, '.', sig_len))
		return JIT_ERR_INVALID;

	size_t text_len = (size_t)(dot2 - rest), size = jit_base64url_decoded_length(text_len) + 1;
	uint8_t *payload = malloc(size);
	size_t payload_len = 0;
	if (!payload)
		return -ENOMEM;
	int r = jit_base64url_decode(rest, text_len, payload, size, &payload_len);
	json_t *claims = NULL;
	if (r >= 0)
		r = jit_json_parse_object((const char *)payload, payload_len, JIT_CLI_TOKEN_MAX,
		                          &claims, NULL, 0);
	wipe_free(payload, size);
	if (r < 0)
		return JIT_ERR_INVALID;
	*ret = claims;
	return 0;
}

/* ---- the credentials file ----------------------------------------------------------- */

void
jit_cli_credentials_done(struct jit_cli_credentials *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->issuer);
	free(c->client_id);
	free(c->token_endpoint);
	free(c->ca_file);
	jit_secret_free(c->id_token);
	jit_secret_free(c->refresh_token);
	*c = (struct jit_cli_credentials){ 0 };
}

/* $HOME/.jitsudo/credentials: the one path whose directory jitsudo owns and keeps 0700. */
static int
home_credentials_path(char **ret)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		if (!pw || !pw->pw_dir || !*pw->pw_dir)
			return JIT_ERR_INVALID;
		home = pw->pw_dir;
	}
	size_t n = strlen(home) + strlen("/.jitsudo/credentials") + 1;
	if (n > PATH_MAX)
		return JIT_ERR_TOO_LARGE;
	char *p = malloc(n);
	if (!p)
		return -ENOMEM;
	snprintf(p, n, "%s/.jitsudo/credentials", home);
	*ret = p;
	return 0;
}

int
jit_cli_credentials_default_path(char **ret)
{
	const char *env = getenv("JITSUDO_CREDENTIALS");
	if (env && *env) {
		char *p = strdup(env);
		if (!p)
			return -ENOMEM;
		*ret = p;
		return 0;
	}
	return home_credentials_path(ret);
}

static int
dup_string_member(const json_t *o, const char *field, bool required, size_t max, char **ret,
                  char *error, size_t error_size)
{
	const char *v = NULL;
	int r = jit_json_get_string(o, field, required, max, &v, error, error_size);
	if (r == JIT_ERR_NOT_FOUND)
		return 0;
	if (r < 0)
		return r;
	char *copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

static int
secret_member(const json_t *o, const char *field, bool required, struct jit_secret **ret,
              char *error, size_t error_size)
{
	const char *v = NULL;
	int r = jit_json_get_string(o, field, required, JIT_CLI_TOKEN_MAX, &v, error, error_size);
	if (r == JIT_ERR_NOT_FOUND)
		return 0;
	if (r < 0)
		return r;
	if (*v == '\0' || !printable_ascii(v, strlen(v))) {
		set_error(error, error_size, "field \"%s\" is not a token", field);
		return JIT_ERR_INVALID;
	}
	return jit_secret_new(v, strlen(v), ret);
}

/* Returns -errno after a system call failed; a failure that left errno unset is still a failure,
 * so this never returns 0. */
static int
errno_failure(void)
{
	int r = -errno;
	return r < 0 ? r : -EIO;
}

static int
read_bounded(int fd, size_t max, char **ret, size_t *ret_len)
{
	char *data = malloc(max + 1);
	if (!data)
		return -ENOMEM;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, data + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno_failure();
			wipe_free(data, max + 1);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			wipe_free(data, max + 1);
			return JIT_ERR_TOO_LARGE;
		}
	}
	data[len] = '\0';
	*ret = data;
	*ret_len = len;
	return 0;
}

static int
credentials_read(const char *path, struct jit_cli_credentials *ret, char *error, size_t error_size)
{
	struct jit_cli_credentials c = { 0 };
	_cleanup_close_ int fd = -1;
	_cleanup_json_ json_t *o = NULL;
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	int64_t version = 0;
	int r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		if (errno == ELOOP) {
			set_error(error, error_size, "%s is a symbolic link", path);
			return JIT_ERR_INVALID;
		}
		r = errno_failure();
		set_error(error, error_size, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = errno_failure();
		set_error(error, error_size, "cannot stat %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		set_error(error, error_size, "%s is not a regular file", path);
		return JIT_ERR_INVALID;
	}
	if (st.st_uid != geteuid()) {
		set_error(error, error_size, "%s belongs to another user", path);
		return JIT_ERR_INVALID;
	}
	if (st.st_mode & 077) {
		set_error(error, error_size,
		          "%s is accessible by group or others (mode %03o); run `chmod 600 %s` or "
		          "log in again",
		          path, (unsigned)(st.st_mode & 0777), path);
		return JIT_ERR_INVALID;
	}
	if ((r = read_bounded(fd, JIT_CLI_CREDENTIALS_MAX, &text, &len)) < 0) {
		set_error(error, error_size, "cannot read %s: %s", path,
		          r == JIT_ERR_TOO_LARGE ? "file too large" : jit_strerror(r));
		return r == JIT_ERR_TOO_LARGE ? JIT_ERR_INVALID : r;
	}
	char detail[256] = "";
	r = jit_json_parse_object(text, len, JIT_CLI_CREDENTIALS_MAX, &o, detail, sizeof detail);
	explicit_bzero(text, len);
	free(text);
	if (r < 0)
		goto bad;
	if ((r = jit_json_get_int(o, "version", true, &version, detail, sizeof detail)) < 0)
		goto bad;
	if (version != 1) {
		set_error(detail, sizeof detail, "unknown version %lld", (long long)version);
		r = JIT_ERR_INVALID;
		goto bad;
	}
	if ((r = dup_string_member(o, "server", false, JIT_CLI_URL_MAX, &c.server, detail,
	                           sizeof detail)) < 0 ||
	    (r = dup_string_member(o, "issuer", true, JIT_CLI_URL_MAX, &c.issuer, detail,
	                           sizeof detail)) < 0 ||
	    (r = dup_string_member(o, "client_id", true, JIT_CLI_CLIENT_ID_MAX, &c.client_id,
	                           detail, sizeof detail)) < 0 ||
	    (r = dup_string_member(o, "token_endpoint", true, JIT_CLI_URL_MAX, &c.token_endpoint,
	                           detail, sizeof detail)) < 0 ||
	    (r = dup_string_member(o, "ca_file", false, PATH_MAX, &c.ca_file, detail,
	                           sizeof detail)) < 0 ||
	    (r = secret_member(o, "id_token", true, &c.id_token, detail, sizeof detail)) < 0 ||
	    (r = secret_member(o, "refresh_token", false, &c.refresh_token, detail,
	                       sizeof detail)) < 0 ||
	    (r = jit_json_get_int(o, "expires_at", true, &c.expires_at, detail, sizeof detail)) < 0)
		goto bad;
	if ((c.server && !valid_url(c.server)) || !valid_url(c.issuer) ||
	    !valid_url(c.token_endpoint) || !valid_client_id(c.client_id)) {
		set_error(detail, sizeof detail, "a URL or the client id is malformed");
		r = JIT_ERR_INVALID;
		goto bad;
	}
	*ret = c;
	return 0;
bad:
	jit_cli_credentials_done(&c);
	if (r == -ENOMEM)
		return r;
	set_error(error, error_size, "%s is malformed: %s", path, detail);
	return JIT_ERR_INVALID;
}

int
jit_cli_credentials_read(const char *path, struct jit_cli_credentials *ret, char *error,
                         size_t error_size)
{
	struct json_alloc saved;
	json_wiping_begin(&saved);
	int r = credentials_read(path, ret, error, error_size);
	json_wiping_end(&saved);
	return r;
}

/* The directory part of `path` ("." when it has none), malloc'd. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int
prepare_dir(const char *dir, bool private_dir, char *error, size_t error_size)
{
	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		int r = -errno;
		set_error(error, error_size, "cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	if (!private_dir)
		return 0;
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = -errno;
		set_error(error, error_size, "cannot open the directory %s: %s", dir, strerror(-r));
		return r;
	}
	if (st.st_uid != geteuid()) {
		set_error(error, error_size, "%s belongs to another user", dir);
		return JIT_ERR_INVALID;
	}
	if ((st.st_mode & 077) && fchmod(fd, 0700) < 0) {
		int r = -errno;
		set_error(error, error_size, "cannot make %s private: %s", dir, strerror(-r));
		return r;
	}
	return 0;
}

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
credentials_json(const struct jit_cli_credentials *c, json_t **ret)
{
	json_t *o = json_object();
	if (!o)
		return -ENOMEM;
	int bad = 0;
	bad |= json_object_set_new(o, "version", json_integer(1));
	if (c->server)
		bad |= json_object_set_new(o, "server", json_string(c->server));
	bad |= json_object_set_new(o, "issuer", json_string(c->issuer));
	bad |= json_object_set_new(o, "client_id", json_string(c->client_id));
	bad |= json_object_set_new(o, "token_endpoint", json_string(c->token_endpoint));
	if (c->ca_file)
		bad |= json_object_set_new(o, "ca_file", json_string(c->ca_file));
	bad |= json_object_set_new(o, "id_token", json_string((const char *)c->id_token->bytes));
	if (c->refresh_token)
		bad |= json_object_set_new(o, "refresh_token",
		                           json_string((const char *)c->refresh_token->bytes));
	bad |= json_object_set_new(o, "expires_at", json_integer(c->expires_at));
	if (bad) {
		json_decref(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

static int
credentials_write(const char *path, bool private_dir, const struct jit_cli_credentials *c,
                  char *error, size_t error_size)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_json_ json_t *o = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_close_ int dfd = -1;
	char *text = NULL;
	size_t text_len = 0;
	struct stat st;
	int r;

	if (!c || !c->issuer || !c->client_id || !c->token_endpoint || !c->id_token)
		return JIT_ERR_INVALID;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			set_error(error, error_size,
			          "%s is a symbolic link; not writing through it", path);
			return JIT_ERR_INVALID;
		}
		if (!S_ISREG(st.st_mode)) {
			set_error(error, error_size, "%s is not a regular file", path);
			return JIT_ERR_INVALID;
		}
	} else if (errno != ENOENT) {
		r = -errno;
		set_error(error, error_size, "cannot stat %s: %s", path, strerror(-r));
		return r;
	}
	if (!(dir = dir_of(path)))
		return -ENOMEM;
	if ((r = prepare_dir(dir, private_dir, error, error_size)) < 0)
		return r;

	if ((r = credentials_json(c, &o)) < 0)
		return r;
	size_t need = json_dumpb(o, NULL, 0, JSON_INDENT(2));
	if (need == 0 || need > JIT_CLI_CREDENTIALS_MAX)
		return JIT_ERR_TOO_LARGE;
	if (!(text = malloc(need + 1)))
		return -ENOMEM;
	text_len = json_dumpb(o, text, need, JSON_INDENT(2));
	if (text_len != need) {
		r = JIT_ERR_INTERNAL;
		goto out;
	}
	text[text_len++] = '\n';

	size_t tmp_size = strlen(path) + sizeof(".XXXXXX");
	if (!(tmp = malloc(tmp_size))) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(tmp, tmp_size, "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		set_error(error, error_size, "cannot create a file in %s: %s", dir, strerror(-r));
		free(TAKE_PTR(tmp));
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || (r = write_all(fd, text, text_len)) < 0 || fsync(fd) < 0) {
		r = r < 0 ? r : -errno;
		set_error(error, error_size, "cannot write %s: %s", tmp, strerror(-r));
		goto out;
	}
	if (close(TAKE_FD(fd)) < 0) {
		r = -errno;
		set_error(error, error_size, "cannot write %s: %s", tmp, strerror(-r));
		goto out;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		set_error(error, error_size, "cannot replace %s: %s", path, strerror(-r));
		goto out;
	}
	free(TAKE_PTR(tmp));
	/* The rename lasts only once the directory is on disk too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	r = 0;
out:
	if (tmp)
		(void)unlink(tmp);
	if (text) {
		explicit_bzero(text, need + 1);
		free(text);
	}
	return r;
}

int
jit_cli_credentials_write(const char *path, bool private_dir, const struct jit_cli_credentials *c,
                          char *error, size_t error_size)
{
	struct json_alloc saved;
	json_wiping_begin(&saved);
	int r = credentials_write(path, private_dir, c, error, error_size);
	json_wiping_end(&saved);
	return r;
}

/* ---- the issuer's answers ----------------------------------------------------------- */

void
jit_cli_token_answer_done(struct jit_cli_token_answer *a)
{
	if (!a)
		return;
	jit_secret_free(a->id_token);
	jit_secret_free(a->refresh_token);
	free(a->name);
	free(a->subject);
	*a = (struct jit_cli_token_answer){ 0 };
}

/* What the ID token says about itself: issuer, expiry, subject and a name to show. */
static int
id_token_claims(const struct jit_secret *token, const char *issuer, bool check_exp, int64_t now_s,
                struct jit_cli_token_answer *a, char *error, size_t error_size)
{
	_cleanup_json_ json_t *claims = NULL;
	if (jit_cli_jwt_payload((const char *)token->bytes, token->length, &claims) < 0) {
		set_error(error, error_size, "the issuer's ID token is not a JWT");
		return JIT_ERR_INVALID;
	}
	const json_t *iss = json_object_get(claims, "iss");
	if (!json_is_string(iss) || strcmp(json_string_value(iss), issuer) != 0) {
		set_error(error, error_size, "the ID token names another issuer");
		return JIT_ERR_INVALID;
	}
	const json_t *exp = json_object_get(claims, "exp");
	if (!json_is_integer(exp)) {
		set_error(error, error_size, "the ID token has no exp");
		return JIT_ERR_INVALID;
	}
	int64_t e = json_integer_value(exp);
	if (check_exp && e <= now_s) {
		set_error(error, error_size, "the issuer's ID token has already expired");
		return JIT_ERR_INVALID;
	}
	if (check_exp && e - now_s > MAX_EXP_AHEAD) {
		set_error(error, error_size, "the ID token's exp is too far ahead");
		return JIT_ERR_INVALID;
	}
	const json_t *sub = json_object_get(claims, "sub");
	if (!json_is_string(sub) || json_string_length(sub) == 0 || json_string_length(sub) > 255) {
		set_error(error, error_size, "the ID token has no valid sub");
		return JIT_ERR_INVALID;
	}
	const char *name = NULL;
	static const char *const name_claims[] = { "email", "preferred_username", "sub" };
	for (size_t i = 0; i < JIT_ARRAY_SIZE(name_claims) && !name; i++) {
		const json_t *v = json_object_get(claims, name_claims[i]);
		if (json_is_string(v) && json_string_length(v) > 0)
			name = json_string_value(v);
	}
	if (!(a->subject = strdup(json_string_value(sub))) ||
	    !(a->name = display_copy(name, NAME_MAX_BYTES)))
		return -ENOMEM;
	a->expires_at = e;
	return 0;
}

int
jit_cli_token_answer_parse(const char *body, size_t len, const char *issuer, int64_t now_s,
                           bool require_id_token, struct jit_cli_token_answer *ret, char *error,
                           size_t error_size)
{
	struct jit_cli_token_answer a = { 0 };
	_cleanup_json_ json_t *o = NULL;
	const char *type = NULL;
	char detail[256] = "";
	int r;

	if (!body || !issuer || !ret)
		return JIT_ERR_INVALID;
	if ((r = jit_json_parse_object(body, len, ANSWER_MAX, &o, detail, sizeof detail)) < 0) {
		set_error(error, error_size, "the issuer's token answer is not a JSON object%s",
		          r == JIT_ERR_TOO_LARGE ? " of a sane size" : "");
		return JIT_ERR_INVALID;
	}
	if (jit_json_get_string(o, "token_type", true, 64, &type, detail, sizeof detail) < 0 ||
	    strcasecmp(type, "Bearer") != 0) {
		set_error(error, error_size, "the issuer's token answer has no Bearer token_type");
		return JIT_ERR_INVALID;
	}
	if ((r = secret_member(o, "id_token", require_id_token, &a.id_token, detail,
	                       sizeof detail)) < 0 ||
	    (r = secret_member(o, "refresh_token", false, &a.refresh_token, detail,
	                       sizeof detail)) < 0) {
		if (r != -ENOMEM)
			set_error(error, error_size, "the issuer's token answer: %s", detail);
		goto bad;
	}
	if (a.id_token &&
	    (r = id_token_claims(a.id_token, issuer, true, now_s, &a, error, error_size)) < 0)
		goto bad;
	*ret = a;
	return 0;
bad:
	jit_cli_token_answer_done(&a);
	return r == -ENOMEM ? r : JIT_ERR_INVALID;
}

/* The OAuth error of an answer: `error` (a short token) and a printable description. */
static void
oauth_error(const char *body, size_t len, char *code, size_t code_size, char *description,
            size_t description_size)
{
	_cleanup_json_ json_t *o = NULL;
	code[0] = description[0] = '\0';
	if (jit_json_parse_object(body, len, ANSWER_MAX, &o, NULL, 0) < 0)
		return;
	const json_t *e = json_object_get(o, "error");
	if (json_is_string(e) && json_string_length(e) < code_size &&
	    printable_ascii(json_string_value(e), json_string_length(e)))
		snprintf(code, code_size, "%s", json_string_value(e));
	const json_t *d = json_object_get(o, "error_description");
	if (json_is_string(d)) {
		_cleanup_free_ char *copy = display_copy(json_string_value(d), DESCRIPTION_MAX);
		if (copy)
			snprintf(description, description_size, "%s", copy);
	}
}

int
jit_cli_poll_answer(struct jit_cli_poll *p, long status, const char *body, size_t len,
                    const char *issuer, int64_t now_s, struct jit_cli_token_answer *ret,
                    char *error, size_t error_size)
{
	char code[64], description[DESCRIPTION_MAX + 1];

	if (status == 200)
		return jit_cli_token_answer_parse(body, len, issuer, now_s, true, ret, error,
		                                  error_size);
	if (status >= 500) {
		set_error(error, error_size, "the issuer failed (HTTP %ld)", status);
		return JIT_ERR_UNAVAILABLE;
	}
	oauth_error(body, len, code, sizeof code, description, sizeof description);
	if (strcmp(code, "authorization_pending") == 0)
		return JIT_CLI_POLL_AGAIN;
	if (strcmp(code, "slow_down") == 0) {
		p->interval_s += JIT_CLI_SLOW_DOWN_S;
		if (p->interval_s > JIT_CLI_MAX_INTERVAL_S)
			p->interval_s = JIT_CLI_MAX_INTERVAL_S;
		return JIT_CLI_POLL_AGAIN;
	}
	if (strcmp(code, "access_denied") == 0) {
		set_error(error, error_size, "sign-in refused: the issuer denied the request");
		return JIT_ERR_DENIED;
	}
	if (strcmp(code, "expired_token") == 0) {
		set_error(error, error_size, "the code expired before the sign-in was completed");
		return JIT_ERR_TIMEOUT;
	}
	if (code[0]) {
		set_error(error, error_size, "the issuer refused the sign-in: %s%s%s", code,
		          description[0] ? ": " : "", description);
		return JIT_ERR_DENIED;
	}
	set_error(error, error_size, "the issuer answered HTTP %ld without an OAuth error", status);
	return JIT_ERR_INVALID;
}

/* ---- HTTP exchanges with the issuer -------------------------------------------------- */

/* POSTs a form; the body (it may hold a code or a token) is wiped afterwards. */
static int
post_form(const struct jit_cli_http *h, const char *url, const char *const *pairs, size_t npairs,
          struct jit_cli_response *ret)
{
	_cleanup_(jit_buf_freep) struct jit_buf *b = &(struct jit_buf){ 0 };
	int r;

	jit_buf_init(b, FORM_MAX);
	for (size_t i = 0; i + 1 < npairs * 2; i += 2)
		if ((r = jit_http_form_add(b, pairs[i], pairs[i + 1])) < 0)
			return r;
	if ((r = jit_buf_put(b, "", 1)) < 0) /* a NUL, not sent */
		return r;
	return jit_cli_http_do(h, "POST", url, NULL, "application/x-www-form-urlencoded",
	                       (const char *)b->data, b->length - 1, ret);
}

struct endpoints {
	char *device;
	char *token;
};

static void
endpoints_done(struct endpoints *e)
{
	free(e->device);
	free(e->token);
}

static int
endpoint_member(const json_t *doc, const char *field, const char *issuer, char **ret, char *error,
                size_t error_size)
{
	const json_t *v = json_object_get(doc, field);
	if (!json_is_string(v) || !valid_url(json_string_value(v))) {
		set_error(error, error_size, "the issuer's discovery document has no usable %s",
		          field);
		return JIT_ERR_INVALID;
	}
	if (has_prefix(issuer, "https://") && !has_prefix(json_string_value(v), "https://")) {
		set_error(error, error_size, "the issuer's %s is not https", field);
		return JIT_ERR_INVALID;
	}
	if (!(*ret = strdup(json_string_value(v))))
		return -ENOMEM;
	return 0;
}

/* The message for an exchange with the issuer that got no answer; false when r is not such a
 * failure. */
static bool
issuer_unreachable(const struct jit_cli_http *h, int r, const struct jit_cli_response *resp,
                   const char *url, char *error, size_t error_size)
{
	if (r == JIT_ERR_UNAVAILABLE) {
		if (error && error_size)
			jit_cli_http_unreachable_message(resp, "issuer", url, h->timeout_ms, NULL,
			                                 error, error_size);
	} else if (r == JIT_CLI_HTTP_UNTRUSTED)
		set_error(error, error_size, JIT_CLI_HTTP_UNTRUSTED_FMT, "issuer", url);
	else
		return false;
	return true;
}

static int
discover(const struct jit_cli_http *h, const char *issuer, struct endpoints *ret, char *error,
         size_t error_size)
{
	struct jit_cli_response resp = { 0 };
	_cleanup_json_ json_t *doc = NULL;
	_cleanup_free_ char *url = NULL;
	struct endpoints e = { 0 };
	size_t n = strlen(issuer);
	int r;

	while (n > 0 && issuer[n - 1] == '/')
		n--;
	size_t url_size = n + strlen(DISCOVERY_PATH) + 1;
	if (!(url = malloc(url_size)))
		return -ENOMEM;
	snprintf(url, url_size, "%.*s%s", (int)n, issuer, DISCOVERY_PATH);
	r = jit_cli_http_do(h, "GET", url, NULL, NULL, NULL, 0, &resp);
	if (issuer_unreachable(h, r, &resp, url, error, error_size))
		return r;
	if (r < 0) {
		set_error(error, error_size, "discovery at %s failed: %s", url, jit_strerror(r));
		return r == JIT_ERR_TOO_LARGE ? JIT_ERR_INVALID : r;
	}
	if (resp.status >= 500) {
		set_error(error, error_size, "the issuer failed (HTTP %ld at %s)", resp.status,
		          url);
		r = JIT_ERR_UNAVAILABLE;
		goto out;
	}
	if (resp.status != 200) {
		set_error(error, error_size, "no discovery document at %s (HTTP %ld)", url,
		          resp.status);
		r = JIT_ERR_INVALID;
		goto out;
	}
	if (jit_json_parse_object(resp.body, resp.len, DISCOVERY_MAX, &doc, NULL, 0) < 0) {
		set_error(error, error_size, "the discovery document at %s is not a JSON object",
		          url);
		r = JIT_ERR_INVALID;
		goto out;
	}
	const json_t *iss = json_object_get(doc, "issuer");
	if (!json_is_string(iss) || strcmp(json_string_value(iss), issuer) != 0) {
		set_error(error, error_size,
		          "the discovery document at %s names another issuer (check --issuer)",
		          url);
		r = JIT_ERR_INVALID;
		goto out;
	}
	if (!json_is_string(json_object_get(doc, "device_authorization_endpoint"))) {
		set_error(error, error_size,
		          "the issuer offers no device authorization (RFC 8628) endpoint");
		r = JIT_ERR_INVALID;
		goto out;
	}
	if ((r = endpoint_member(doc, "device_authorization_endpoint", issuer, &e.device, error,
	                         error_size)) < 0 ||
	    (r = endpoint_member(doc, "token_endpoint", issuer, &e.token, error, error_size)) < 0)
		goto out;
	*ret = e;
	e = (struct endpoints){ 0 };
	r = 0;
out:
	endpoints_done(&e);
	jit_cli_response_done(&resp);
	return r;
}

struct device_grant {
	struct jit_secret *device_code;
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete; /* NULL when not given */
	int expires_in;
	int interval;
};

static void
device_grant_done(struct device_grant *d)
{
	jit_secret_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	*d = (struct device_grant){ 0 };
}

static int
parse_device_answer(const struct jit_cli_response *resp, struct device_grant *ret, char *error,
                    size_t error_size)
{
	_cleanup_json_ json_t *o = NULL;
	struct device_grant d = { 0 };
	const char *v = NULL;
	int64_t n = 0;
	char detail[256] = "";
	int r;

	if (jit_json_parse_object(resp->body, resp->len, ANSWER_MAX, &o, detail, sizeof detail) <
	    0) {
		set_error(error, error_size,
		          "the device authorization answer is not a JSON object");
		return JIT_ERR_INVALID;
	}
	if ((r = jit_json_get_string(o, "device_code", true, DEVICE_CODE_MAX, &v, detail,
	                             sizeof detail)) < 0 ||
	    !*v || (r = jit_secret_new(v, strlen(v), &d.device_code)) < 0)
		goto bad;
	if ((r = jit_json_get_string(o, "user_code", true, USER_CODE_MAX, &v, detail,
	                             sizeof detail)) < 0)
		goto bad;
	if (!*v || !printable_ascii(v, strlen(v))) {
		set_error(detail, sizeof detail, "user_code is not printable");
		r = JIT_ERR_INVALID;
		goto bad;
	}
	if (!(d.user_code = strdup(v))) {
		r = -ENOMEM;
		goto bad;
	}
	/* RFC 8628 names it verification_uri; some providers still say verification_url. */
	r = jit_json_get_string(o, "verification_uri", false, JIT_CLI_URL_MAX, &v, detail,
	                        sizeof detail);
	if (r == JIT_ERR_NOT_FOUND)
		r = jit_json_get_string(o, "verification_url", true, JIT_CLI_URL_MAX, &v, detail,
		                        sizeof detail);
	if (r < 0)
		goto bad;
	if (!valid_url(v)) {
		set_error(detail, sizeof detail, "verification_uri is not an http(s) URL");
		r = JIT_ERR_INVALID;
		goto bad;
	}
	if (!(d.verification_uri = strdup(v))) {
		r = -ENOMEM;
		goto bad;
	}
	r = jit_json_get_string(o, "verification_uri_complete", false, JIT_CLI_URL_MAX, &v, detail,
	                        sizeof detail);
	if (r == 0 && valid_url(v) && !(d.verification_uri_complete = strdup(v))) {
		r = -ENOMEM;
		goto bad;
	}
	if ((r = jit_json_get_int(o, "expires_in", true, &n, detail, sizeof detail)) < 0)
		goto bad;
	if (n <= 0) {
		set_error(detail, sizeof detail, "expires_in is not positive");
		r = JIT_ERR_INVALID;
		goto bad;
	}
	d.expires_in = n > MAX_EXPIRES_IN ? MAX_EXPIRES_IN : (int)n;
	n = JIT_CLI_DEFAULT_INTERVAL_S;
	r = jit_json_get_int(o, "interval", false, &n, detail, sizeof detail);
	if (r < 0 && r != JIT_ERR_NOT_FOUND)
		goto bad;
	d.interval = n < 1 ? 1 : n > JIT_CLI_MAX_INTERVAL_S ? JIT_CLI_MAX_INTERVAL_S : (int)n;
	*ret = d;
	return 0;
bad:
	device_grant_done(&d);
	if (r == -ENOMEM)
		return r;
	set_error(error, error_size, "the device authorization answer is malformed: %s", detail);
	return JIT_ERR_INVALID;
}

static int
start_device_grant(const struct jit_cli_http *h, const struct endpoints *e,
                   const struct jit_cli_login_opts *o, struct device_grant *ret, char *error,
                   size_t error_size)
{
	struct jit_cli_response resp = { 0 };
	const char *pairs[] = { "client_id", o->client_id, "scope",
		                o->scope ? o->scope : "openid" };
	char code[64], description[DESCRIPTION_MAX + 1];
	int r;

	r = post_form(h, e->device, pairs, JIT_ARRAY_SIZE(pairs) / 2, &resp);
	if (issuer_unreachable(h, r, &resp, e->device, error, error_size))
		return r;
	if (r < 0) {
		set_error(error, error_size, "device authorization failed: %s", jit_strerror(r));
		return r == JIT_ERR_TOO_LARGE ? JIT_ERR_INVALID : r;
	}
	if (resp.status >= 500) {
		set_error(error, error_size, "the issuer failed (HTTP %ld)", resp.status);
		r = JIT_ERR_UNAVAILABLE;
	} else if (resp.status != 200) {
		oauth_error(resp.body, resp.len, code, sizeof code, description,
		            sizeof description);
		set_error(error, error_size, "the issuer refused the device authorization: %s%s%s",
		          code[0] ? code : "HTTP error", description[0] ? ": " : "", description);
		r = JIT_ERR_DENIED;
	} else {
		r = parse_device_answer(&resp, ret, error, error_size);
	}
	jit_cli_response_done(&resp);
	return r;
}

/* Sleeps until the monotonic time `until_ns`. */
static void
sleep_until(int64_t until_ns)
{
	struct timespec ts = { .tv_sec = until_ns / 1000000000LL,
		               .tv_nsec = until_ns % 1000000000LL };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int
poll_tokens(const struct jit_cli_http *h, const struct endpoints *e,
            const struct jit_cli_login_opts *o, const struct device_grant *d,
            struct jit_cli_token_answer *ret, char *error, size_t error_size)
{
	struct jit_cli_poll p = { .interval_s = d->interval };
	bool user_limit = o->max_wait_s < d->expires_in;
	int64_t wait_s = user_limit ? o->max_wait_s : d->expires_in;
	int64_t deadline = jit_now_monotonic_ns() + wait_s * 1000000000LL;
	const char *pairs[] = { "grant_type",  DEVICE_GRANT,
		                "device_code", (const char *)d->device_code->bytes,
		                "client_id",   o->client_id };
	int r;

	for (;;) {
		int64_t next = jit_now_monotonic_ns() + (int64_t)p.interval_s * 1000000000LL;
		if (next > deadline) {
			if (user_limit)
				set_error(error, error_size,
				          "gave up waiting for the sign-in after %d s",
				          o->max_wait_s);
			else
				set_error(error, error_size,
				          "the code expired before the sign-in was completed");
			return JIT_ERR_TIMEOUT;
		}
		sleep_until(next);
		struct jit_cli_response resp = { 0 };
		r = post_form(h, e->token, pairs, JIT_ARRAY_SIZE(pairs) / 2, &resp);
		if (issuer_unreachable(h, r, &resp, e->token, error, error_size))
			return r;
		if (r < 0) {
			set_error(error, error_size, "polling the issuer failed: %s",
			          jit_strerror(r));
			return r == JIT_ERR_TOO_LARGE ? JIT_ERR_INVALID : r;
		}
		int before = p.interval_s;
		r = jit_cli_poll_answer(&p, resp.status, resp.body, resp.len, o->issuer,
		                        now_seconds(), ret, error, error_size);
		jit_cli_response_done(&resp);
		if (r != JIT_CLI_POLL_AGAIN)
			return r;
		if (o->debug && p.interval_s != before)
			fprintf(stderr, "jitsudo: debug: slow_down: polling every %d s\n",
			        p.interval_s);
	}
}

/* Is `path` ~/.jitsudo/credentials, whose directory may be created and tightened to 0700?
 * Any other file's directory (JITSUDO_CREDENTIALS=/tmp/x names /tmp) is only created when
 * missing, never changed. */
static bool
path_in_private_dir(const char *path)
{
	_cleanup_free_ char *home = NULL;
	return home_credentials_path(&home) == 0 && strcmp(home, path) == 0;
}

static int
login(const struct jit_cli_login_opts *o, FILE *out, char *error, size_t error_size)
{
	struct jit_cli_http h = { 0 };
	struct endpoints e = { 0 };
	struct device_grant d = { 0 };
	struct jit_cli_token_answer a = { 0 };
	struct jit_cli_credentials c = { 0 }, old = { 0 };
	_cleanup_free_ char *path = NULL;
	char ignored[ERROR_SIZE];
	int r;

	if (!o || !out) {
		set_error(error, error_size, "login: no options");
		return JIT_ERR_INVALID;
	}
	if (!o->issuer || !*o->issuer) {
		set_error(error, error_size, "--issuer is required (or `issuer` in the config)");
		return JIT_ERR_INVALID;
	}
	if (!valid_url(o->issuer)) {
		set_error(error, error_size, "--issuer must be an http(s) URL");
		return JIT_ERR_INVALID;
	}
	if (!o->client_id || !*o->client_id) {
		set_error(error, error_size,
		          "--client-id is required (or `client_id` in the config)");
		return JIT_ERR_INVALID;
	}
	if (!valid_client_id(o->client_id)) {
		set_error(error, error_size, "--client-id is malformed");
		return JIT_ERR_INVALID;
	}
	if (o->server && !valid_url(o->server)) {
		set_error(error, error_size, "--server must be an http(s) URL");
		return JIT_ERR_INVALID;
	}
	if (o->scope && (!*o->scope || strlen(o->scope) > 1024)) {
		set_error(error, error_size, "the scope is empty or too long");
		return JIT_ERR_INVALID;
	}
	if (o->timeout_ms <= 0 || o->max_wait_s <= 0) {
		set_error(error, error_size, "login: the time limits must be positive");
		return JIT_ERR_INVALID;
	}
	if (o->credentials_path)
		path = strdup(o->credentials_path);
	else if ((r = jit_cli_credentials_default_path(&path)) < 0) {
		set_error(error, error_size, "cannot tell where the credentials file goes (HOME)");
		return r;
	}
	if (!path)
		return -ENOMEM;

	h = (struct jit_cli_http){ .ca_file = o->ca_file,
		                   .timeout_ms = o->timeout_ms,
		                   .debug = o->debug };
	if ((r = discover(&h, o->issuer, &e, error, error_size)) < 0)
		goto out;
	if ((r = start_device_grant(&h, &e, o, &d, error, error_size)) < 0)
		goto out;
	fprintf(out, "To sign in, open %s and enter the code %s\n", d.verification_uri,
	        d.user_code);
	if (d.verification_uri_complete)
		fprintf(out, "Or open %s\n", d.verification_uri_complete);
	fflush(out);
	if ((r = poll_tokens(&h, &e, o, &d, &a, error, error_size)) < 0)
		goto out;

	/* A login without --server keeps the server a previous login stored. */
	if (!o->server && jit_cli_credentials_read(path, &old, ignored, sizeof ignored) == 0)
		c.server = TAKE_PTR(old.server);
	else if (o->server && !(c.server = strdup(o->server))) {
		r = -ENOMEM;
		goto out;
	}
	c.issuer = strdup(o->issuer);
	c.client_id = strdup(o->client_id);
	c.token_endpoint = strdup(e.token);
	c.ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
	if (!c.issuer || !c.client_id || !c.token_endpoint || (o->ca_file && !c.ca_file)) {
		r = -ENOMEM;
		goto out;
	}
	c.id_token = TAKE_PTR(a.id_token);
	c.refresh_token = TAKE_PTR(a.refresh_token);
	c.expires_at = a.expires_at;
	if ((r = credentials_write(path, path_in_private_dir(path), &c, error, error_size)) < 0)
		goto out;
	fprintf(out, "Logged in as %s\n", a.name);
	fflush(out);
	r = 0;
out:
	jit_cli_credentials_done(&c);
	jit_cli_credentials_done(&old);
	jit_cli_token_answer_done(&a);
	device_grant_done(&d);
	endpoints_done(&e);
	return r;
}

int
jit_cli_login(const struct jit_cli_login_opts *o, FILE *out)
{
	char error[ERROR_SIZE] = "";
	struct json_alloc saved;

	json_wiping_begin(&saved);
	int r = login(o, out, error, sizeof error);
	json_wiping_end(&saved);
	if (r < 0)
		fprintf(stderr, "jitsudo: %s\n", error[0] ? error : jit_strerror(r));
	return r;
}

int
jit_cli_logout(const char *credentials_path)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (credentials_path)
		path = strdup(credentials_path);
	else if ((r = jit_cli_credentials_default_path(&path)) < 0)
		return r;
	if (!path)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Renews the ID token with the refresh token (OpenID Connect Core §12). The provider may
 * answer without a new ID token (§12.2 allows it): then the login cannot be extended. */
static int
refresh(struct jit_cli_credentials *c, const char *path, bool private_dir, int timeout_ms,
        bool debug, char *error, size_t error_size)
{
	struct jit_cli_http h = { .ca_file = c->ca_file, .timeout_ms = timeout_ms, .debug = debug };
	struct jit_cli_response resp = { 0 };
	struct jit_cli_token_answer a = { 0 }, old = { 0 };
	const char *pairs[] = { "grant_type",    "refresh_token",
		                "refresh_token", (const char *)c->refresh_token->bytes,
		                "client_id",     c->client_id,
		                "scope",         "openid" };
	char code[64], description[DESCRIPTION_MAX + 1];
	int r;

	r = post_form(&h, c->token_endpoint, pairs, JIT_ARRAY_SIZE(pairs) / 2, &resp);
	if (issuer_unreachable(&h, r, &resp, c->token_endpoint, error, error_size))
		return r;
	if (r < 0) {
		set_error(error, error_size, "refresh failed: %s", jit_strerror(r));
		return JIT_ERR_UNAUTHENTICATED;
	}
	if (resp.status >= 500) {
		set_error(error, error_size, "the issuer failed (HTTP %ld)", resp.status);
		r = JIT_ERR_UNAVAILABLE;
		goto out;
	}
	if (resp.status != 200) {
		oauth_error(resp.body, resp.len, code, sizeof code, description,
		            sizeof description);
		set_error(error, error_size, "the issuer refused the refresh: %s%s%s",
		          code[0] ? code : "HTTP error", description[0] ? ": " : "", description);
		r = JIT_ERR_UNAUTHENTICATED;
		goto out;
	}
	int64_t now = now_seconds();
	if ((r = jit_cli_token_answer_parse(resp.body, resp.len, c->issuer, now, false, &a, error,
	                                    error_size)) < 0) {
		r = r == -ENOMEM ? r : JIT_ERR_UNAUTHENTICATED;
		goto out;
	}
	if (!a.id_token) {
		set_error(error, error_size,
		          "the issuer renewed the access token but gave no new ID token");
		r = JIT_ERR_UNAUTHENTICATED;
		goto out;
	}
	/* §12.2: the new ID token is about the same person, from the same issuer. The stored
	 * one has expired, so its exp is not checked here: only its sub is read. */
	if ((r = id_token_claims(c->id_token, c->issuer, false, 0, &old, error, error_size)) < 0 ||
	    strcmp(old.subject, a.subject) != 0) {
		if (r >= 0)
			set_error(error, error_size,
			          "the refreshed ID token names another subject");
		r = r == -ENOMEM ? r : JIT_ERR_UNAUTHENTICATED;
		goto out;
	}
	jit_secret_free(c->id_token);
	c->id_token = TAKE_PTR(a.id_token);
	c->expires_at = a.expires_at;
	if (a.refresh_token) {
		jit_secret_free(c->refresh_token);
		c->refresh_token = TAKE_PTR(a.refresh_token);
	}
	r = credentials_write(path, private_dir, c, error, error_size);
out:
	jit_cli_token_answer_done(&a);
	jit_cli_token_answer_done(&old);
	jit_cli_response_done(&resp);
	return r;
}

/* Takes an exclusive flock on the credentials file, waiting at most timeout_ms. The lock
 * goes with the descriptor (*ret_fd), released when it is closed. */
static int
lock_credentials(const char *path, int timeout_ms, int *ret_fd, char *error, size_t error_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int r = -errno;
		set_error(error, error_size, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	int64_t deadline = jit_deadline_after_ms(timeout_ms);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int r = -errno;
			set_error(error, error_size, "cannot lock %s: %s", path, strerror(-r));
			return r;
		}
		if (jit_deadline_passed(deadline)) {
			set_error(error, error_size,
			          "another jitsudo is still refreshing the token in %s", path);
			return JIT_ERR_UNAVAILABLE;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int
stored_token(const char *credentials_path, int timeout_ms, bool debug, char **ret_server,
             char **ret_token)
{
	struct jit_cli_credentials c = { 0 };
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int lock_fd = -1;
	char *server = NULL, *token = NULL;
	char error[ERROR_SIZE] = "";
	int r;

	if (timeout_ms <= 0)
		return JIT_ERR_INVALID;
	if (credentials_path)
		path = strdup(credentials_path);
	else if ((r = jit_cli_credentials_default_path(&path)) < 0)
		return r;
	if (!path)
		return -ENOMEM;
	if ((r = credentials_read(path, &c, error, sizeof error)) < 0) {
		if (debug && r != -ENOENT)
			fprintf(stderr, "jitsudo: debug: %s\n", error);
		return r;
	}
	/* Only the server wanted: the token's state does not matter. */
	int64_t left = c.expires_at - now_seconds();
	if (ret_token && left < JIT_CLI_REFRESH_MARGIN_S) {
		/* One refresh at a time: a provider that rotates refresh tokens may revoke them
		 * all when one is used twice. The lock is on the file read; whoever waited reads
		 * the file again, which the first one has renewed meanwhile. */
		if ((r = lock_credentials(path, timeout_ms, &lock_fd, error, sizeof error)) < 0)
			goto out;
		jit_cli_credentials_done(&c);
		if ((r = credentials_read(path, &c, error, sizeof error)) < 0)
			goto out;
		left = c.expires_at - now_seconds();
	}
	if (ret_token && left < JIT_CLI_REFRESH_MARGIN_S) {
		if (!c.refresh_token) {
			set_error(error, sizeof error,
			          "the ID token expired and there is no "
			          "refresh token");
			r = JIT_ERR_UNAUTHENTICATED;
			goto out;
		}
		if (debug)
			fprintf(stderr,
			        "jitsudo: debug: the ID token has %lld s left: refreshing\n",
			        (long long)left);
		if ((r = refresh(&c, path, path_in_private_dir(path), timeout_ms, debug, error,
		                 sizeof error)) < 0)
			goto out;
	}
	if ((c.server && ret_server && !(server = strdup(c.server))) ||
	    (ret_token && !(token = strdup((const char *)c.id_token->bytes)))) {
		r = -ENOMEM;
		goto out;
	}
	if (ret_server)
		*ret_server = TAKE_PTR(server);
	if (ret_token)
		*ret_token = TAKE_PTR(token);
	r = 0;
out:
	if (r < 0 && debug && error[0])
		fprintf(stderr, "jitsudo: debug: %s\n", error);
	free(server);
	wipe_and_free(token);
	jit_cli_credentials_done(&c);
	return r;
}

int
jit_cli_stored_token(const char *credentials_path, int timeout_ms, bool debug, char **ret_server,
                     char **ret_token)
{
	struct json_alloc saved;
	json_wiping_begin(&saved);
	int r = stored_token(credentials_path, timeout_ms, debug, ret_server, ret_token);
	json_wiping_end(&saved);
	return r;
}
