/* jitsudod: the central server, and its maintenance commands (init, token, audit verify).
 * Reads its config, keys and database; trusts only the configured token issuers. The one
 * place where errors become exit codes: 0 success, 1 failure (a tampered audit log too),
 * 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/duration.h"
#include "lib/common/errors.h"
#include "lib/common/json.h"
#include "lib/common/seal.h"
#include "lib/common/timeutil.h"
#include "server/hostauth.h"
#include "server/http.h"
#include "server/maintenance.h"
#include "server/server.h"
#include "server/sweeper.h"
#include "server/workflow.h"

#define DEFAULT_CONFIG "/etc/jitsudo/jitsudod.yaml"
#define EXIT_USAGE 2

static const char usage_text[] =
        "usage: jitsudod [--config FILE]              run the server\n"
        "       jitsudod init [--dir DIR] [--data-dir DIR] [--http-addr ADDR]\n"
        "                     [--issuer-url URL] [--force]\n"
        "                                              write a starter config and keys\n"
        "       jitsudod token [--config FILE] --user EMAIL [--groups G1,G2] [--ttl 8h]\n"
        "                                              print an ID token of the built-in issuer\n"
        "       jitsudod audit verify [--config FILE] check the audit log's hash chain\n"
        "       jitsudod version\n"
        "\n"
        "The config file defaults to $JITSUDOD_CONFIG, then " DEFAULT_CONFIG ".\n"
        "Options are documented in docs/configuration.md.\n";

static int
usage(FILE *to, int code)
{
	fputs(usage_text, to);
	return code;
}

static const char *
default_config(void)
{
	const char *env = getenv("JITSUDOD_CONFIG");
	return env && env[0] ? env : DEFAULT_CONFIG;
}

static int
load_config(const char *path, struct jit_config **ret)
{
	char error[512] = "";
	int r = jit_config_load(path, ret, error, sizeof(error));
	if (r < 0)
		fprintf(stderr, "jitsudod: %s\n", error[0] ? error : jit_strerror(r));
	return r;
}

/* The sealing key: exactly 32 bytes, in a file nobody but the owner may read. */
static int
load_seal_key(const char *path, struct jit_secret **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	unsigned char key[JIT_SEAL_KEY_SIZE + 1];
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "jitsudod: seal key %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "jitsudod: seal key %s: readable by others (chmod 600)\n", path);
		return JIT_ERR_DENIED;
	}
	ssize_t n = read(fd, key, sizeof(key));
	if (n != JIT_SEAL_KEY_SIZE) {
		explicit_bzero(key, sizeof(key));
		fprintf(stderr, "jitsudod: seal key %s: must hold exactly %d bytes\n", path,
		        JIT_SEAL_KEY_SIZE);
		return JIT_ERR_INVALID;
	}
	int r = jit_secret_new(key, JIT_SEAL_KEY_SIZE, ret);
	explicit_bzero(key, sizeof(key));
	return r;
}

static int
setup_identity(struct jit_server *server)
{
	const struct jit_config *config = server->config;
	char error[512] = "";
	int r = jit_auth_new(config->jwks_fetch_timeout_ms, &server->auth);
	if (r < 0)
		return r;
	if (config->builtin_issuer_enabled) {
		if ((r = jit_issuer_load(config->builtin_issuer_key_file,
		                         config->builtin_issuer_url,
		                         config->builtin_issuer_audience, &server->issuer, error,
		                         sizeof(error))) < 0) {
			fprintf(stderr, "jitsudod: built-in issuer: %s\n", error);
			return r;
		}
		struct jit_issuer_config ic = { .issuer = config->builtin_issuer_url,
			                        .audience = config->builtin_issuer_audience };
		_cleanup_json_ json_t *jwks = jit_issuer_jwks(server->issuer);
		if ((r = jit_auth_add_static_issuer(server->auth, &ic, jwks)) < 0)
			return r;
	}
	for (size_t i = 0; i < config->oidc_count; i++) {
		const struct jit_config_oidc_issuer *o = &config->oidc[i];
		struct jit_issuer_config ic = { .issuer = o->issuer,
			                        .audience = o->audience,
			                        .discovery_url = o->discovery_url,
			                        .email_claim = o->email_claim,
			                        .groups_claim = o->groups_claim,
			                        .ca_file = o->ca_file };
		if ((r = jit_auth_add_issuer(server->auth, &ic)) < 0) {
			fprintf(stderr, "jitsudod: issuer %s: %s\n", o->issuer, jit_strerror(r));
			return r;
		}
	}
	struct jit_hostauth *hosts = NULL;
	if ((r = jit_hostauth_from_config(config, &hosts, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: %s\n", error[0] ? error : jit_strerror(r));
		return r;
	}
	jit_auth_set_hosts(server->auth, hosts);
	return 0;
}

static int
setup_providers(struct jit_server *server)
{
	static const char *const names[JIT_PROVIDER_COUNT] = { "aws", "gcp", "azure",
		                                               "kubernetes" };
	const struct jit_config *config = server->config;
	if (!config->mock_enabled)
		return 0;
	struct jit_mock_options options = { .fail_grant_roles = config->mock_fail_grant_roles,
		                            .fail_revocations = config->mock_fail_revocations };
	for (size_t i = 0; i < JIT_PROVIDER_COUNT; i++) {
		int r = jit_provider_mock_new(names[i], &options, &server->providers[i]);
		if (r < 0)
			return r;
		server->provider_names[i] = names[i];
		server->provider_count++;
	}
	return 0;
}

static void
server_clear(struct jit_server *server)
{
	jit_sweeper_stop(server->sweeper);
	for (size_t i = 0; i < server->provider_count; i++)
		jit_provider_free(server->providers[i]);
	jit_policy_set_unref(server->policies);
	jit_issuer_free(server->issuer);
	jit_auth_free(server->auth);
	jit_secret_free(server->seal_key);
	jit_config_free(server->config);
	pthread_mutex_destroy(&server->policy_lock);
	pthread_mutex_destroy(&server->policy_write_lock);
}

static int
cmd_serve(const char *config_path)
{
	struct jit_server server = { 0 };
	struct jit_worker worker = { 0 };
	struct jit_http *http = NULL;
	struct jit_maintenance *maintenance = NULL;
	struct jit_status status = { 0 };
	char error[512] = "";
	sigset_t signals;
	int r, sig = 0;

	pthread_mutex_init(&server.policy_lock, NULL);
	pthread_mutex_init(&server.policy_write_lock, NULL);
	if ((r = load_config(config_path, &server.config)) < 0 ||
	    (r = load_seal_key(server.config->seal_key_file, &server.seal_key)) < 0 ||
	    (r = setup_identity(&server)) < 0)
		goto out;
	if ((r = setup_providers(&server)) < 0) {
		fprintf(stderr, "jitsudod: providers: %s\n", jit_strerror(r));
		goto out;
	}
	if ((r = jit_worker_init(&worker, &server, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: database %s: %s\n", server.config->database_path, error);
		goto out;
	}
	size_t loaded = 0;
	if ((r = jit_wf_load_default_policies(&worker, &status)) < 0)
		fprintf(stderr, "jitsudod: warning: %s (starting without them)\n", status.message);
	if ((r = jit_wf_policy_reload(&worker, NULL, &loaded, &status)) < 0) {
		fprintf(stderr, "jitsudod: policies: %s\n", status.message);
		goto out;
	}
	if ((r = jit_sweeper_start(&server, &server.sweeper, error, sizeof(error))) < 0 ||
	    (r = jit_maintenance_start(&server, &maintenance, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: %s\n", error);
		goto out;
	}

	/* Signals are taken synchronously by this thread only. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	int threads = server.config->http_threads;
	if (threads <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
	}
	if ((r = jit_http_start(&server, threads, &http, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: %s\n", error);
		goto out;
	}
	fprintf(stderr,
	        "jitsudod %s: listening on %s%s (%d threads), database %s, %zu policies "
	        "loaded\n",
	        JIT_VERSION, server.config->http_addr, server.config->tls_cert_file ? " (TLS)" : "",
	        threads, server.config->database_path, loaded);
	sigwait(&signals, &sig);
	fprintf(stderr, "jitsudod: %s received, stopping\n", strsignal(sig));
	jit_http_stop(http);
	r = 0;
out:
	jit_maintenance_stop(maintenance);
	jit_worker_clear(&worker);
	server_clear(&server);
	return r < 0 ? 1 : 0;
}

static int
cmd_init(int argc, char **argv)
{
	static const struct option options[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "http-addr", required_argument, NULL, 'a' },
		{ "issuer-url", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = "/etc/jitsudo", *data_dir = "/var/lib/jitsudo";
	const char *addr = ":8080", *issuer = NULL;
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'D':
			data_dir = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'i':
			issuer = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc)
		return usage(stderr, EXIT_USAGE);
	/* Without --issuer-url, init derives it from the address (IPv6 hosts in brackets,
	 * loopback for "every address"). */
	char error[512] = "";
	if (jit_config_init(dir, data_dir, addr, issuer, force, error, sizeof(error)) < 0) {
		fprintf(stderr, "jitsudod init: %s\n", error);
		return 1;
	}
	printf("Wrote %s/jitsudod.yaml, %s/seal.key and %s/issuer.pem.\n"
	       "Start the server:     jitsudod --config %s/jitsudod.yaml\n"
	       "Get a token:          jitsudod token --config %s/jitsudod.yaml --user "
	       "alice@example.com --groups sre\n",
	       dir, dir, dir, dir, dir);
	return 0;
}

static int
cmd_token(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "groups", required_argument, NULL, 'g' },
		{ "ttl", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = default_config(), *user = NULL, *groups = "", *ttl = "8h";
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'g':
			groups = optarg;
			break;
		case 't':
			ttl = optarg;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc || !user || !user[0] || !strchr(user, '@')) {
		fprintf(stderr, "jitsudod token: --user EMAIL is required\n");
		return EXIT_USAGE;
	}
	int64_t ttl_seconds = 0;
	char error[512] = "";
	if (jit_duration_parse(ttl, &ttl_seconds, error, sizeof(error)) < 0) {
		fprintf(stderr, "jitsudod token: --ttl: %s\n", error);
		return EXIT_USAGE;
	}
	_cleanup_(jit_config_freep) struct jit_config *config = NULL;
	if (load_config(config_path, &config) < 0)
		return 1;
	if (!config->builtin_issuer_enabled) {
		fprintf(stderr, "jitsudod token: the built-in issuer is disabled in %s\n",
		        config_path);
		return 1;
	}
	if (ttl_seconds > config->builtin_issuer_max_ttl_seconds) {
		fprintf(stderr, "jitsudod token: --ttl is over identity.builtin_issuer.max_ttl\n");
		return EXIT_USAGE;
	}
	_cleanup_(jit_issuer_freep) struct jit_issuer *issuer = NULL;
	if (jit_issuer_load(config->builtin_issuer_key_file, config->builtin_issuer_url,
	                    config->builtin_issuer_audience, &issuer, error, sizeof(error)) < 0) {
		fprintf(stderr, "jitsudod token: %s\n", error);
		return 1;
	}
	/* Split the comma-separated groups in place in a copy. */
	_cleanup_free_ char *copy = strdup(groups);
	const char *list[JIT_MAX_GROUPS];
	size_t count = 0;
	if (!copy)
		return 1;
	for (char *p = copy; *p && count < JIT_MAX_GROUPS;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (*p)
			list[count++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	_cleanup_free_ char *token = NULL;
	if (jit_issuer_sign(issuer, user, list, count, jit_now_realtime_ns(), ttl_seconds, &token) <
	    0) {
		fprintf(stderr, "jitsudod token: signing failed\n");
		return 1;
	}
	printf("%s\n", token);
	explicit_bzero(token, strlen(token));
	return 0;
}

static int
cmd_audit(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = default_config();
	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return usage(stderr, EXIT_USAGE);
	argc--, argv++;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'c')
			config_path = optarg;
		else
			return usage(c == 'h' ? stdout : stderr, c == 'h' ? 0 : EXIT_USAGE);
	}
	if (optind != argc)
		return usage(stderr, EXIT_USAGE);
	_cleanup_(jit_config_freep) struct jit_config *config = NULL;
	if (load_config(config_path, &config) < 0)
		return 1;
	_cleanup_(jit_store_closep) struct jit_store *store = NULL;
	char error[512] = "";
	if (jit_store_open_sqlite(config->database_path, config->database_busy_timeout_ms, &store,
	                          error, sizeof(error)) < 0) {
		fprintf(stderr, "jitsudod audit verify: %s\n", error);
		return 1;
	}
	int64_t bad = 0;
	size_t checked = 0;
	char detail[512] = "";
	int r = jit_store_audit_verify(store, &bad, &checked, detail, sizeof(detail));
	if (r == JIT_ERR_DENIED) {
		printf("audit log TAMPERED: event %lld: %s (%zu events checked)\n", (long long)bad,
		       detail, checked);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "jitsudod audit verify: %s\n",
		        detail[0] ? detail : jit_strerror(r));
		return 1;
	}
	printf("audit log intact: %zu events\n", checked);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "version") == 0) {
		printf("jitsudod %s\n", JIT_VERSION);
		return 0;
	}
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = default_config();
	int c;
	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		if (c == 'c')
			config_path = optarg;
		else
			return usage(c == 'h' ? stdout : stderr, c == 'h' ? 0 : EXIT_USAGE);
	}
	if (optind != argc) {
		fprintf(stderr, "jitsudod: unknown command \"%s\"\n", argv[optind]);
		return usage(stderr, EXIT_USAGE);
	}
	return cmd_serve(config_path);
}
