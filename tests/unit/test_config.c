/* jitsudod's config file: defaults, every option read back, each error with its file, line and
 * key, relative paths, addresses, `jitsudod init` (modes, no overwrite, loadable output), and
 * the bounds on hostile files (anchors, size). Works in a temporary directory it removes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "server/config.h"
#include "server/auth/issuer.h"

#define UNUSED_STATE void **state __attribute__((unused))

static char tmp_root[64];

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/jit-config-test-XXXXXX");
	umask(022);
	return mkdtemp(tmp_root) ? 0 : -1;
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmp_root/name, into a static rotating buffer. */
static const char *
tmp_path(const char *name)
{
	static char paths[4][512];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof(paths[0]), "%s/%s", tmp_root, name);
	return p;
}

static void
write_file(const char *path, const char *text, size_t length)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, length, f), length);
	assert_int_equal(fclose(f), 0);
}

/* Loads `text` from tmp_root/t.yaml; returns the result and leaves the message in `error`. */
static int
load_text(const char *text, struct jit_config **ret, char *error, size_t error_size)
{
	const char *path = tmp_path("t.yaml");
	write_file(path, text, strlen(text));
	return jit_config_load(path, ret, error, error_size);
}

static struct jit_config *
load_ok(const char *text)
{
	struct jit_config *config = NULL;
	char error[512] = "";
	int r = load_text(text, &config, error, sizeof(error));
	if (r != 0)
		print_error("unexpected error: %s\n", error);
	assert_int_equal(r, 0);
	assert_non_null(config);
	return config;
}

static size_t
list_length(char **list)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	return n;
}

static void
assert_defaults(const struct jit_config *c)
{
	assert_string_equal(c->http_addr, ":8080");
	assert_string_equal(c->grpc_addr, ":8443");
	assert_int_equal(c->http_threads, 0);
	assert_null(c->tls_cert_file);
	assert_null(c->tls_key_file);
	assert_int_equal(c->max_body_bytes, 1024 * 1024);
	assert_string_equal(c->database.driver, "sqlite");
	assert_string_equal(c->database.path, "/var/lib/jitsudo/jitsudo.db");
	assert_int_equal(c->database.busy_timeout_ms, 5000);
	assert_string_equal(c->seal_key_file, "/etc/jitsudo/seal.key");
	assert_int_equal(list_length(c->admin_groups), 1);
	assert_string_equal(c->admin_groups[0], "jitsudo-admins");
	assert_non_null(c->admin_emails);
	assert_int_equal(list_length(c->admin_emails), 0);
	assert_true(c->builtin_issuer_enabled);
	assert_string_equal(c->builtin_issuer_url, "http://127.0.0.1:8080");
	assert_string_equal(c->builtin_issuer_audience, "jitsudo");
	assert_string_equal(c->builtin_issuer_key_file, "/etc/jitsudo/issuer.pem");
	assert_int_equal(c->builtin_issuer_max_ttl_seconds, 24 * 3600);
	assert_int_equal(c->oidc_count, 0);
	assert_int_equal(c->jwks_fetch_timeout_ms, 5000);
	assert_int_equal(c->min_duration_seconds, 60);
	assert_int_equal(c->max_duration_seconds, 12 * 3600);
	assert_int_equal(c->pending_timeout_seconds, 24 * 3600);
	assert_int_equal(c->revoke_retry_initial_ms, 1000);
	assert_int_equal(c->revoke_retry_max_ms, 300000);
	assert_string_equal(c->policies_dir, "/usr/share/jitsudo/policies");
	assert_true(c->mock_enabled);
	assert_int_equal(list_length(c->mock_fail_grant_roles), 0);
	assert_int_equal(c->mock_fail_revocations, 0);
	assert_string_equal(c->log_level, "info");
}

static void
test_defaults(UNUSED_STATE)
{
	_cleanup_(jit_config_freep) struct jit_config *config = NULL;
	assert_int_equal(jit_config_defaults(&config), 0);
	assert_defaults(config);
	assert_null(config->path);
}

static void
test_empty_and_commented_files_are_defaults(UNUSED_STATE)
{
	static const char *const texts[] = {
		"",
		"# nothing here\n",
		"---\n",
		"server:\nidentity:\n  builtin_issuer:\nproviders:\n  mock:\n",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		_cleanup_(jit_config_freep) struct jit_config *config = load_ok(texts[i]);
		assert_defaults(config);
		assert_string_equal(config->path, tmp_path("t.yaml"));
	}
}

static const char full_text[] =
        "server:\n"
        "  http_addr: 127.0.0.1:9000\n"
        "  grpc_addr: \"[::1]:9443\"\n"
        "  http_threads: 8\n"
        "  tls:\n"
        "    cert_file: /etc/tls/server.crt\n"
        "    key_file: /etc/tls/server.key\n"
        "  max_body_bytes: 2097152\n"
        "database:\n"
        "  driver: sqlite\n"
        "  path: /srv/jit/jit.db\n"
        "  busy_timeout: 750ms\n"
        "keys:\n"
        "  seal_key_file: /srv/keys/seal.key\n"
        "identity:\n"
        "  admin_groups: [ops, 'sec team']\n"
        "  admin_emails:\n"
        "    - root@example.com\n"
        "  builtin_issuer:\n"
        "    enabled: false\n"
        "    url: https://jit.example.com\n"
        "    audience: jit-aud\n"
        "    key_file: /srv/keys/issuer.pem\n"
        "    max_ttl: 2h30m\n"
        "  oidc:\n"
        "    - issuer: https://login.example.com\n"
        "      audience: jitsudo-prod\n"
        "      discovery_url: https://login.example.com/.well-known/openid-configuration\n"
        "      email_claim: upn\n"
        "      groups_claim: roles\n"
        "      ca_file: /etc/ssl/corp-ca.pem\n"
        "    - issuer: https://accounts.example.org\n"
        "      audience: other\n"
        "  jwks_fetch_timeout: 2s\n"
        "workflow:\n"
        "  min_duration: 5m\n"
        "  max_duration: 8h\n"
        "  pending_timeout: 2h\n"
        "  revoke_retry_initial: 250ms\n"
        "  revoke_retry_max: 10m\n"
        "policies:\n"
        "  dir: /srv/policies\n"
        "providers:\n"
        "  mock:\n"
        "    enabled: false\n"
        "    fail_grant_roles: [broken-role, other]\n"
        "    fail_revocations: 3\n"
        "log:\n"
        "  level: debug\n";

static void
test_every_option(UNUSED_STATE)
{
	_cleanup_(jit_config_freep) struct jit_config *c = load_ok(full_text);
	assert_string_equal(c->http_addr, "127.0.0.1:9000");
	assert_string_equal(c->grpc_addr, "[::1]:9443");
	assert_int_equal(c->http_threads, 8);
	assert_string_equal(c->tls_cert_file, "/etc/tls/server.crt");
	assert_string_equal(c->tls_key_file, "/etc/tls/server.key");
	assert_int_equal(c->max_body_bytes, 2097152);
	assert_string_equal(c->database.driver, "sqlite");
	assert_string_equal(c->database.path, "/srv/jit/jit.db");
	assert_int_equal(c->database.busy_timeout_ms, 750);
	assert_string_equal(c->seal_key_file, "/srv/keys/seal.key");
	assert_int_equal(list_length(c->admin_groups), 2);
	assert_string_equal(c->admin_groups[0], "ops");
	assert_string_equal(c->admin_groups[1], "sec team");
	assert_int_equal(list_length(c->admin_emails), 1);
	assert_string_equal(c->admin_emails[0], "root@example.com");
	assert_false(c->builtin_issuer_enabled);
	assert_string_equal(c->builtin_issuer_url, "https://jit.example.com");
	assert_string_equal(c->builtin_issuer_audience, "jit-aud");
	assert_string_equal(c->builtin_issuer_key_file, "/srv/keys/issuer.pem");
	assert_int_equal(c->builtin_issuer_max_ttl_seconds, 9000);
	assert_int_equal(c->oidc_count, 2);
	assert_string_equal(c->oidc[0].issuer, "https://login.example.com");
	assert_string_equal(c->oidc[0].audience, "jitsudo-prod");
	assert_string_equal(c->oidc[0].discovery_url,
	                    "https://login.example.com/.well-known/openid-configuration");
	assert_string_equal(c->oidc[0].email_claim, "upn");
	assert_string_equal(c->oidc[0].groups_claim, "roles");
	assert_string_equal(c->oidc[0].ca_file, "/etc/ssl/corp-ca.pem");
	assert_string_equal(c->oidc[1].issuer, "https://accounts.example.org");
	assert_string_equal(c->oidc[1].audience, "other");
	assert_null(c->oidc[1].discovery_url);
	assert_string_equal(c->oidc[1].email_claim, "email");
	assert_string_equal(c->oidc[1].groups_claim, "groups");
	assert_null(c->oidc[1].ca_file);
	assert_int_equal(c->jwks_fetch_timeout_ms, 2000);
	assert_int_equal(c->min_duration_seconds, 300);
	assert_int_equal(c->max_duration_seconds, 8 * 3600);
	assert_int_equal(c->pending_timeout_seconds, 7200);
	assert_int_equal(c->revoke_retry_initial_ms, 250);
	assert_int_equal(c->revoke_retry_max_ms, 600000);
	assert_string_equal(c->policies_dir, "/srv/policies");
	assert_false(c->mock_enabled);
	assert_int_equal(list_length(c->mock_fail_grant_roles), 2);
	assert_string_equal(c->mock_fail_grant_roles[0], "broken-role");
	assert_string_equal(c->mock_fail_grant_roles[1], "other");
	assert_int_equal(c->mock_fail_revocations, 3);
	assert_string_equal(c->log_level, "debug");
}

/* examples/jitsudod.yaml shows every option at its default: it must load as exactly that.
 * (Unit tests run from the top of the repository.) */
static void
test_annotated_example_is_the_defaults(UNUSED_STATE)
{
	_cleanup_(jit_config_freep) struct jit_config *c = NULL;
	char error[512] = "";
	int r = jit_config_load("examples/jitsudod.yaml", &c, error, sizeof(error));
	if (r < 0)
		print_error("%s\n", error);
	assert_int_equal(r, 0);
	assert_defaults(c);
}

/* Every ```yaml block of docs/configuration.md is a whole config that loads; the hosts example
 * loads as written. */
static void
test_documented_examples_load(UNUSED_STATE)
{
	FILE *f = fopen("docs/configuration.md", "r");
	assert_non_null(f);
	char line[1024], block[16384];
	size_t length = 0, blocks = 0, hosts_blocks = 0;
	bool inside = false;
	while (fgets(line, sizeof(line), f)) {
		if (!inside && strcmp(line, "```yaml\n") == 0) {
			inside = true;
			length = 0;
		} else if (inside && strcmp(line, "```\n") == 0) {
			inside = false;
			block[length] = '\0';
			struct jit_config *c = load_ok(block);
			if (strncmp(block, "hosts:", 6) == 0) {
				/* The hosts example: two hosts, globs and groups as written, a
				 * relative key file next to the config file. */
				assert_int_equal(c->host_count, 2);
				assert_string_equal(c->hosts[0].name, "jump1.example.com");
				assert_string_equal(c->hosts[0].public_key_file,
				                    "/etc/jitsudo/hosts/jump1.pub");
				assert_int_equal(list_length(c->hosts[0].identities), 1);
				assert_string_equal(c->hosts[0].identities[0], "*@example.com");
				assert_int_equal(list_length(c->hosts[0].groups), 2);
				assert_string_equal(c->hosts[0].groups[1], "dev");
				assert_string_equal(c->hosts[1].name, "bastion-eu");
				assert_string_equal(c->hosts[1].public_key_file,
				                    tmp_path("hosts/bastion-eu.pub"));
				assert_int_equal(list_length(c->hosts[1].identities), 2);
				assert_string_equal(c->hosts[1].identities[1], "bob@example.com");
				assert_int_equal(list_length(c->hosts[1].groups), 0);
				hosts_blocks++;
			}
			jit_config_free(c);
			blocks++;
		} else if (inside) {
			size_t n = strlen(line);
			assert_true(length + n < sizeof(block));
			memcpy(block + length, line, n);
			length += n;
		}
	}
	fclose(f);
	assert_false(inside);
	assert_int_equal(blocks, 3);
	assert_int_equal(hosts_blocks, 1);
}

static void
test_lists_replace_defaults(UNUSED_STATE)
{
	_cleanup_(jit_config_freep) struct jit_config *c =
	        load_ok("identity:\n  admin_groups: []\n  admin_emails:\n");
	assert_non_null(c->admin_groups);
	assert_int_equal(list_length(c->admin_groups), 0);
	assert_int_equal(list_length(c->admin_emails), 0);
}

static void
test_milliseconds(UNUSED_STATE)
{
	static const struct {
		const char *value;
		int ms;
	} cases[] = {
		{ "0ms", 0 },    { "1ms", 1 },       { "500ms", 500 },       { "5s", 5000 },
		{ "1m", 60000 }, { "1m30s", 90000 }, { "600000ms", 600000 }, { "10m", 600000 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "database:\n  busy_timeout: %s\n", cases[i].value);
		_cleanup_(jit_config_freep) struct jit_config *c = load_ok(text);
		assert_int_equal(c->database.busy_timeout_ms, cases[i].ms);
	}
}

/* Each case: the file, then what follows "FILE:" in the message. */
static const struct {
	const char *text;
	const char *message;
} error_cases[] = {
	{ "serverr:\n  http_addr: :80\n", "1: serverr: unknown key" },
	{ "server:\n  htp_addr: :80\n", "2: server.htp_addr: unknown key" },
	{ "server:\n  tls:\n    cert: x\n", "3: server.tls.cert: unknown key" },
	{ "server: [1, 2]\n", "1: server: must be a mapping, not a list" },
	{ "server: 8080\n", "1: server: must be a mapping, not a single value" },
	{ "- a\n- b\n", "1: must be a mapping, not a list" },
	{ "server:\n  http_addr: [a]\n",
	  "2: server.http_addr: must be a single value, not a list" },
	{ "server:\n  http_addr:\n    a: b\n",
	  "3: server.http_addr: must be a single value, not a mapping" },
	{ "server:\n  http_addr:\n", "2: server.http_addr: has no value" },
	{ "server:\n  http_addr: \"\"\n", "2: server.http_addr: is empty" },
	{ "server:\n  http_addr: 8080\n",
	  "2: server.http_addr: \"8080\": not an address like :8080, 127.0.0.1:8080 or "
	  "[::1]:8080" },
	{ "server:\n  http_threads: 65\n", "2: server.http_threads: 65 is out of range (0 to 64)" },
	{ "server:\n  http_threads: -1\n", "2: server.http_threads: -1 is out of range (0 to 64)" },
	{ "server:\n  http_threads: 4x\n", "2: server.http_threads: \"4x\" is not an integer" },
	{ "server:\n  http_threads: 08\n", "2: server.http_threads: \"08\" is not an integer" },
	{ "server:\n  http_threads: \" 4\"\n", "2: server.http_threads: \" 4\" is not an integer" },
	{ "server:\n  http_threads: 99999999999999999999\n",
	  "2: server.http_threads: \"99999999999999999999\" is not an integer" },
	{ "server:\n  max_body_bytes: 1023\n",
	  "2: server.max_body_bytes: 1023 is out of range (1024 to 67108864)" },
	{ "server:\n  max_body_bytes: 67108865\n",
	  "2: server.max_body_bytes: 67108865 is out of range (1024 to 67108864)" },
	{ "server:\n  tls:\n    cert_file: /a.crt\n",
	  "3: server.tls.cert_file: TLS needs both cert_file and key_file" },
	{ "server:\n  tls:\n\n    key_file: /a.key\n",
	  "4: server.tls.key_file: TLS needs both cert_file and key_file" },
	{ "database:\n  driver: postgres\n",
	  "2: database.driver: \"postgres\": postgres is not in this version of jitsudod (use "
	  "sqlite)" },
	{ "database:\n  driver: mysql\n",
	  "2: database.driver: \"mysql\": unknown driver (use sqlite)" },
	{ "database:\n  busy_timeout: 500\n",
	  "2: database.busy_timeout: invalid duration \"500\" (use h, m, s or ms, e.g. 5s, 500ms, "
	  "1m30s)" },
	{ "database:\n  busy_timeout: 5us\n",
	  "2: database.busy_timeout: invalid duration \"5us\" (use h, m, s or ms, e.g. 5s, 500ms, "
	  "1m30s)" },
	{ "database:\n  busy_timeout: -5ms\n",
	  "2: database.busy_timeout: invalid duration \"-5ms\": expected whole milliseconds like "
	  "500ms" },
	{ "database:\n  busy_timeout: 11m\n",
	  "2: database.busy_timeout: \"11m\" is out of range (0ms to 600000ms)" },
	{ "identity:\n  builtin_issuer:\n    enabled: yes\n",
	  "3: identity.builtin_issuer.enabled: must be true or false, not \"yes\"" },
	{ "identity:\n  builtin_issuer:\n    enabled: True\n",
	  "3: identity.builtin_issuer.enabled: must be true or false, not \"True\"" },
	{ "identity:\n  builtin_issuer:\n    url: ftp://x\n",
	  "3: identity.builtin_issuer.url: \"ftp://x\": not an http:// or https:// URL" },
	{ "identity:\n  builtin_issuer:\n    max_ttl: 1d\n",
	  "3: identity.builtin_issuer.max_ttl: invalid duration \"1d\": unknown unit \"d\" (use "
	  "h, m or s, e.g. 1h, 30m, 2h30m)" },
	{ "identity:\n  builtin_issuer:\n    enabled: false\n",
	  "3: identity: no identity source: enable builtin_issuer or add an oidc issuer" },
	{ "identity:\n  admin_groups: admins\n",
	  "2: identity.admin_groups: must be a list, not a single value" },
	{ "identity:\n  admin_groups: [a, [b]]\n",
	  "2: identity.admin_groups[1]: must be a single value, not a list" },
	{ "identity:\n  admin_emails: [root]\n",
	  "2: identity.admin_emails[0]: \"root\": not an email address" },
	{ "identity:\n  oidc:\n    issuer: https://a\n",
	  "3: identity.oidc: must be a list of issuers, not a mapping" },
	{ "identity:\n  oidc:\n    - https://a\n",
	  "3: identity.oidc[0]: must be a mapping, not a single value" },
	{ "identity:\n  oidc:\n    - issuer: https://a\n      audience: x\n    - issuer: "
	  "https://b\n",
	  "5: identity.oidc[1]: audience is required" },
	{ "identity:\n  oidc:\n    - audience: x\n", "3: identity.oidc[0]: issuer is required" },
	{ "identity:\n  oidc:\n    - issuer: https://a\n      audience: x\n      scope: y\n",
	  "5: identity.oidc[0].scope: unknown key" },
	{ "identity:\n  oidc:\n    - issuer: https://a\n      audience: x\n    - issuer: "
	  "https://a\n      audience: y\n",
	  "5: identity.oidc[1]: issuer \"https://a\" is listed twice" },
	{ "identity:\n  oidc:\n    - issuer: http://127.0.0.1:8080\n      audience: x\n",
	  "3: identity.oidc: issuer \"http://127.0.0.1:8080\" is also the built-in issuer's url" },
	{ "identity:\n  jwks_fetch_timeout: 50ms\n",
	  "2: identity.jwks_fetch_timeout: \"50ms\" is out of range (100ms to 300000ms)" },
	{ "workflow:\n  min_duration: 2h\n  max_duration: 1h\n",
	  "3: workflow.max_duration: min_duration (7200s) is longer than max_duration (3600s)" },
	{ "workflow:\n  min_duration: 13h\n",
	  "2: workflow.min_duration: min_duration (46800s) is longer than max_duration (43200s)" },
	{ "workflow:\n  max_duration: 12\n",
	  "2: workflow.max_duration: invalid duration \"12\": missing unit after the number (use "
	  "h, m or s, e.g. 1h, 30m, 2h30m)" },
	{ "workflow:\n  revoke_retry_initial: 10m\n  revoke_retry_max: 1m\n",
	  "3: workflow.revoke_retry_max: revoke_retry_initial (600000ms) is longer than "
	  "revoke_retry_max (60000ms)" },
	{ "providers:\n  aws:\n    region: eu-west-1\n",
	  "2: providers.aws: not in this version of jitsudod" },
	{ "providers:\n  kubernetes: {}\n",
	  "2: providers.kubernetes: not in this version of jitsudod" },
	{ "providers:\n  oracle: {}\n", "2: providers.oracle: unknown key" },
	{ "providers:\n  mock:\n    fail_revocations: 1000001\n",
	  "3: providers.mock.fail_revocations: 1000001 is out of range (0 to 1000000)" },
	{ "log:\n  level: verbose\n",
	  "2: log.level: \"verbose\": must be debug, info, warn or error" },
	{ "log:\n  level: info\nlog:\n  level: debug\n", "3: log: duplicate key" },
	{ "server:\n  http_threads: 1\n  http_threads: 2\n",
	  "3: server.http_threads: duplicate key" },
	{ "policies:\n  dir: \"a\\tb\"\n", "2: policies.dir: contains a control character" },
	{ "policies:\n  dir: \"a\\0b\"\n", "2: policies.dir: contains a NUL byte" },
	{ "policies:\n  ? [a]\n  : b\n", "2: a key must be a plain word, not a list" },
	{ "policies:\n  dir: !!str x\n", "2: YAML tags (!name) are not allowed" },
	{ "log:\n  level: info\n---\nlog:\n  level: debug\n",
	  "3: only one YAML document is allowed" },
	{ "server:\n  http_addr: [\n", "3: YAML syntax error: did not find expected node content "
	                               "while parsing a flow node" },
};

static void
test_errors_name_file_line_and_key(UNUSED_STATE)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct jit_config *config = NULL;
		char error[512] = "", expected[512];
		int r = load_text(error_cases[i].text, &config, error, sizeof(error));
		snprintf(expected, sizeof(expected), "%s:%s", tmp_path("t.yaml"),
		         error_cases[i].message);
		if (r != JIT_ERR_INVALID || strcmp(error, expected) != 0)
			print_error("case %zu: got %d \"%s\"\n", i, r, error);
		assert_int_equal(r, JIT_ERR_INVALID);
		assert_null(config);
		assert_string_equal(error, expected);
	}
}

static void
test_relative_paths(UNUSED_STATE)
{
	const char *dir = tmp_path("rel");
	char file[600], expected[600];
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(file, sizeof(file), "%s/jitsudod.yaml", dir);
	const char *text = "server:\n  tls: {cert_file: tls/c.pem, key_file: /abs/k.pem}\n"
	                   "database:\n  path: data/jit.db\n"
	                   "keys:\n  seal_key_file: ../keys/seal.key\n"
	                   "identity:\n  builtin_issuer:\n    key_file: issuer.pem\n"
	                   "  oidc:\n    - {issuer: https://a, audience: b, ca_file: ca.pem}\n"
	                   "policies:\n  dir: ./policies\n";
	write_file(file, text, strlen(text));

	/* Named relative to the working directory: still resolved against the file's folder. */
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmp_root), 0);
	_cleanup_(jit_config_freep) struct jit_config *c = NULL;
	char error[512] = "";
	int r = jit_config_load("rel/jitsudod.yaml", &c, error, sizeof(error));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(r, 0);
	assert_string_equal(c->path, file);
	snprintf(expected, sizeof(expected), "%s/tls/c.pem", dir);
	assert_string_equal(c->tls_cert_file, expected);
	assert_string_equal(c->tls_key_file, "/abs/k.pem");
	snprintf(expected, sizeof(expected), "%s/data/jit.db", dir);
	assert_string_equal(c->database.path, expected);
	snprintf(expected, sizeof(expected), "%s/../keys/seal.key", dir);
	assert_string_equal(c->seal_key_file, expected);
	snprintf(expected, sizeof(expected), "%s/issuer.pem", dir);
	assert_string_equal(c->builtin_issuer_key_file, expected);
	snprintf(expected, sizeof(expected), "%s/ca.pem", dir);
	assert_string_equal(c->oidc[0].ca_file, expected);
	snprintf(expected, sizeof(expected), "%s/./policies", dir);
	assert_string_equal(c->policies_dir, expected);
}

static void
test_file_errors(UNUSED_STATE)
{
	struct jit_config *config = NULL;
	char error[512] = "", expected[600];
	const char *missing = tmp_path("missing.yaml");
	assert_int_equal(jit_config_load(missing, &config, error, sizeof(error)), -ENOENT);
	snprintf(expected, sizeof(expected), "%s: No such file or directory", missing);
	assert_string_equal(error, expected);
	assert_int_equal(jit_config_load(tmp_root, &config, error, sizeof(error)), JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s: not a regular file", tmp_root);
	assert_string_equal(error, expected);
	/* A FIFO is refused without waiting for a writer. */
	const char *fifo = tmp_path("fifo.yaml");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(jit_config_load(fifo, &config, error, sizeof(error)), JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s: not a regular file", fifo);
	assert_string_equal(error, expected);
	assert_null(config);
}

static void
test_split_addr(UNUSED_STATE)
{
	static const struct {
		const char *addr;
		const char *host; /* NULL: any address */
		uint16_t port;
	} good[] = {
		{ ":8080", NULL, 8080 },           { "127.0.0.1:8080", "127.0.0.1", 8080 },
		{ "[::1]:8080", "::1", 8080 },     { "[fe80::1%eth0]:443", "fe80::1%eth0", 443 },
		{ "localhost:1", "localhost", 1 }, { "0.0.0.0:65535", "0.0.0.0", 65535 },
	};
	static const char *const bad[] = {
		"",
		"8080",
		":",
		":0",
		":65536",
		":-1",
		":+80",
		":80x",
		":080",
		"::1:8080",
		"[::1]",
		"[::1]8080",
		"[]:80",
		"[::1]]:80",
		"[a]:80",
		"a b:80",
		"a/b:80",
		"host:",
		":99999999999999999999",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *host = (char *)"unset";
		uint16_t port = 0;
		assert_int_equal(jit_config_split_addr(good[i].addr, &host, &port), 0);
		if (good[i].host)
			assert_string_equal(host, good[i].host);
		else
			assert_null(host);
		assert_int_equal(port, good[i].port);
		free(host);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *host = NULL;
		uint16_t port = 0;
		if (jit_config_split_addr(bad[i], &host, &port) != JIT_ERR_INVALID)
			print_error("accepted \"%s\"\n", bad[i]);
		assert_int_equal(jit_config_split_addr(bad[i], &host, &port), JIT_ERR_INVALID);
		assert_null(host);
		assert_int_equal(port, 0);
	}
	assert_int_equal(jit_config_split_addr(NULL, NULL, NULL), JIT_ERR_INVALID);
}

static void
assert_mode(const char *path, mode_t mode)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

static void
read_all(const char *path, unsigned char *buf, size_t size, size_t *ret_length)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, size);
	close(fd);
	assert_true(n >= 0);
	*ret_length = (size_t)n;
}

static void
test_init_writes_a_loadable_config(UNUSED_STATE)
{
	char dir[512], data[512], file[600], expected[600];
	snprintf(dir, sizeof(dir), "%s/etc", tmp_root);
	snprintf(data, sizeof(data), "%s/var/data", tmp_root);
	assert_int_equal(mkdir(tmp_path("var"), 0755), 0);
	char error[512] = "";
	int r = jit_config_init(dir, data, "127.0.0.1:9090", "http://127.0.0.1:9090", false, error,
	                        sizeof(error));
	if (r < 0)
		print_error("init: %s\n", error);
	assert_int_equal(r, 0);

	assert_mode(dir, 0750);
	assert_mode(data, 0750);
	snprintf(file, sizeof(file), "%s/seal.key", dir);
	assert_mode(file, 0600);
	unsigned char key[64];
	size_t length = 0;
	read_all(file, key, sizeof(key), &length);
	assert_int_equal(length, 32);
	snprintf(file, sizeof(file), "%s/issuer.pem", dir);
	assert_mode(file, 0600);
	snprintf(file, sizeof(file), "%s/jitsudod.yaml", dir);
	assert_mode(file, 0640);

	_cleanup_(jit_config_freep) struct jit_config *c = NULL;
	r = jit_config_load(file, &c, error, sizeof(error));
	if (r < 0)
		print_error("load: %s\n", error);
	assert_int_equal(r, 0);
	assert_string_equal(c->http_addr, "127.0.0.1:9090");
	snprintf(expected, sizeof(expected), "%s/jitsudo.db", data);
	assert_string_equal(c->database.path, expected);
	snprintf(expected, sizeof(expected), "%s/seal.key", dir);
	assert_string_equal(c->seal_key_file, expected);
	assert_true(c->builtin_issuer_enabled);
	assert_string_equal(c->builtin_issuer_url, "http://127.0.0.1:9090");
	snprintf(expected, sizeof(expected), "%s/issuer.pem", dir);
	assert_string_equal(c->builtin_issuer_key_file, expected);
	assert_true(c->mock_enabled);
	assert_string_equal(c->policies_dir, "/usr/share/jitsudo/policies");
	assert_string_equal(c->admin_groups[0], "jitsudo-admins");

	/* The issuer key is one the built-in issuer accepts. */
	struct jit_issuer *issuer = NULL;
	r = jit_issuer_load(c->builtin_issuer_key_file, c->builtin_issuer_url,
	                    c->builtin_issuer_audience, &issuer, error, sizeof(error));
	if (r < 0)
		print_error("issuer: %s\n", error);
	assert_int_equal(r, 0);
	jit_issuer_free(issuer);

	/* The audit chain key and the checkpoint key, owner-only too. */
	snprintf(file, sizeof(file), "%s/audit.key", dir);
	assert_mode(file, 0600);
	snprintf(file, sizeof(file), "%s/checkpoint.pem", dir);
	assert_mode(file, 0600);
	snprintf(expected, sizeof(expected), "%s/audit.key", dir);
	assert_string_equal(c->audit_key_file, expected);
	snprintf(expected, sizeof(expected), "%s/checkpoint.pem", dir);
	assert_string_equal(c->checkpoint_key_file, expected);
	snprintf(expected, sizeof(expected), "%s/audit-checkpoints", data);
	assert_string_equal(c->audit_checkpoint_file, expected);

	/* Exactly the five files: no temporary file is left behind. */
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t entries = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			entries++;
	closedir(d);
	assert_int_equal(entries, 5);
}

static void
test_init_refuses_to_overwrite(UNUSED_STATE)
{
	char dir[512], data[512], file[600], seal[600];
	snprintf(dir, sizeof(dir), "%s/again", tmp_root);
	snprintf(data, sizeof(data), "%s/again-data", tmp_root);
	snprintf(file, sizeof(file), "%s/jitsudod.yaml", dir);
	snprintf(seal, sizeof(seal), "%s/seal.key", dir);
	char error[512] = "";
	assert_int_equal(jit_config_init(dir, data, ":8081", NULL, false, error, sizeof(error)), 0);
	unsigned char before[64], after[64];
	size_t before_length = 0, after_length = 0;
	read_all(seal, before, sizeof(before), &before_length);

	/* The issuer URL was derived from the address. */
	_cleanup_(jit_config_freep) struct jit_config *c = NULL;
	assert_int_equal(jit_config_load(file, &c, error, sizeof(error)), 0);
	assert_string_equal(c->builtin_issuer_url, "http://127.0.0.1:8081");

	/* A hand-edited config survives a second init. */
	write_file(file, "log:\n  level: warn\n", strlen("log:\n  level: warn\n"));
	assert_int_equal(jit_config_init(dir, data, ":8082", NULL, false, error, sizeof(error)),
	                 -EEXIST);
	char expected[700];
	snprintf(expected, sizeof(expected), "%s exists (--force overwrites it)", file);
	assert_string_equal(error, expected);
	_cleanup_(jit_config_freep) struct jit_config *kept = NULL;
	assert_int_equal(jit_config_load(file, &kept, error, sizeof(error)), 0);
	assert_string_equal(kept->log_level, "warn");

	/* --force rewrites the config and keeps the keys. */
	assert_int_equal(jit_config_init(dir, data, ":8082", NULL, true, error, sizeof(error)), 0);
	_cleanup_(jit_config_freep) struct jit_config *forced = NULL;
	assert_int_equal(jit_config_load(file, &forced, error, sizeof(error)), 0);
	assert_string_equal(forced->http_addr, ":8082");
	assert_string_equal(forced->log_level, "info");
	assert_mode(file, 0640);
	read_all(seal, after, sizeof(after), &after_length);
	assert_int_equal(after_length, 32);
	assert_memory_equal(before, after, 32);
}

/* An existing config is noticed before any key is written. */
static void
test_init_refusal_writes_nothing(UNUSED_STATE)
{
	char dir[512], file[600], seal[600], error[512] = "";
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/handmade", tmp_root);
	snprintf(file, sizeof(file), "%s/jitsudod.yaml", dir);
	snprintf(seal, sizeof(seal), "%s/seal.key", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(file, "", 0);
	assert_int_equal(jit_config_init(dir, dir, ":8080", NULL, false, error, sizeof(error)),
	                 -EEXIST);
	assert_int_equal(stat(seal, &st), -1);
	assert_mode(dir, 0700);
}

static void
test_init_bad_arguments(UNUSED_STATE)
{
	char dir[512], error[512] = "";
	snprintf(dir, sizeof(dir), "%s/never", tmp_root);
	assert_int_equal(jit_config_init(dir, dir, "8080", NULL, false, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	assert_string_equal(error, "http address \"8080\": not host:port");
	assert_int_equal(
	        jit_config_init(dir, dir, ":8080", "ldap://x", false, error, sizeof(error)),
	        JIT_ERR_INVALID);
	assert_string_equal(error, "issuer url \"ldap://x\": not an http(s) URL");
	assert_int_equal(jit_config_init(dir, "a\nb", ":8080", NULL, false, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	/* Nothing was created. */
	struct stat st;
	assert_int_equal(stat(dir, &st), -1);

	/* Quotes and backslashes in paths survive the YAML written. */
	snprintf(dir, sizeof(dir), "%s/we\"ird\\dir: #x", tmp_root);
	assert_int_equal(jit_config_init(dir, dir, ":8080", NULL, false, error, sizeof(error)), 0);
	char file[600], expected[600];
	snprintf(file, sizeof(file), "%s/jitsudod.yaml", dir);
	_cleanup_(jit_config_freep) struct jit_config *c = NULL;
	assert_int_equal(jit_config_load(file, &c, error, sizeof(error)), 0);
	snprintf(expected, sizeof(expected), "%s/seal.key", dir);
	assert_string_equal(c->seal_key_file, expected);
}

static void
test_anchors_and_aliases_refused(UNUSED_STATE)
{
	struct jit_config *config = NULL;
	char error[512] = "", expected[600];
	assert_int_equal(
	        load_text("identity:\n  admin_groups: &g [a, b]\n", &config, error, sizeof(error)),
	        JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s:2: YAML anchors (&name) are not allowed",
	         tmp_path("t.yaml"));
	assert_string_equal(error, expected);
	/* A billion-laughs shape: refused at the first anchor, before any expansion. */
	assert_int_equal(load_text("a: &a [x, x, x, x, x, x, x, x, x]\n"
	                           "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	                           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
	                           &config, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s:1: YAML anchors (&name) are not allowed",
	         tmp_path("t.yaml"));
	assert_string_equal(error, expected);
	/* An alias to an undefined anchor is an alias all the same. */
	assert_int_equal(load_text("log:\n  level: *lvl\n", &config, error, sizeof(error)),
	                 JIT_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s:2: YAML aliases (*name) are not allowed",
	         tmp_path("t.yaml"));
	assert_string_equal(error, expected);
	assert_null(config);
}

static void
test_hostile_shapes(UNUSED_STATE)
{
	struct jit_config *config = NULL;
	char error[512] = "";
	char deep[256] = "";
	size_t n = 0;
	for (int i = 0; i < 40; i++)
		deep[n++] = '[';
	for (int i = 0; i < 40; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	char text[300];
	snprintf(text, sizeof(text), "server: %s\n", deep);
	assert_int_equal(load_text(text, &config, error, sizeof(error)), JIT_ERR_INVALID);
	assert_non_null(strstr(error, ":1: nested deeper than 16 levels"));

	/* 65 groups: one over the list bound. */
	char list[1024] = "identity:\n  admin_groups: [";
	for (int i = 0; i < 65; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%sg%d", i ? "," : "", i);
	}
	size_t used = strlen(list);
	snprintf(list + used, sizeof(list) - used, "]\n");
	assert_int_equal(load_text(list, &config, error, sizeof(error)), JIT_ERR_INVALID);
	assert_non_null(strstr(error, ":2: identity.admin_groups: more than 64 entries"));
	assert_null(config);
}

static void
test_huge_file_refused(UNUSED_STATE)
{
	const size_t limit = 1024 * 1024;
	char *text = malloc(limit + 1);
	assert_non_null(text);
	/* Exactly 1 MiB of comments loads; one byte more does not. */
	for (size_t i = 0; i < limit; i += 64) {
		memset(text + i, 'x', 64);
		text[i] = '#';
		text[i + 63] = '\n';
	}
	const char *path = tmp_path("huge.yaml");
	write_file(path, text, limit);
	struct jit_config *config = NULL;
	char error[512] = "", expected[600];
	assert_int_equal(jit_config_load(path, &config, error, sizeof(error)), 0);
	jit_config_free(config);
	config = NULL;
	text[limit] = '\n';
	write_file(path, text, limit + 1);
	assert_int_equal(jit_config_load(path, &config, error, sizeof(error)), JIT_ERR_TOO_LARGE);
	snprintf(expected, sizeof(expected), "%s: larger than 1048576 bytes", path);
	assert_string_equal(error, expected);
	assert_null(config);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_commented_files_are_defaults),
		cmocka_unit_test(test_every_option),
		cmocka_unit_test(test_annotated_example_is_the_defaults),
		cmocka_unit_test(test_documented_examples_load),
		cmocka_unit_test(test_lists_replace_defaults),
		cmocka_unit_test(test_milliseconds),
		cmocka_unit_test(test_errors_name_file_line_and_key),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_split_addr),
		cmocka_unit_test(test_init_writes_a_loadable_config),
		cmocka_unit_test(test_init_refuses_to_overwrite),
		cmocka_unit_test(test_init_refusal_writes_nothing),
		cmocka_unit_test(test_init_bad_arguments),
		cmocka_unit_test(test_anchors_and_aliases_refused),
		cmocka_unit_test(test_hostile_shapes),
		cmocka_unit_test(test_huge_file_refused),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
