/* jitsudod: the central server, and its maintenance commands (init, token, audit verify).
 * Reads its config, keys and database; trusts only the configured token issuers, and the audit
 * log only as far as its keyed chain and signed checkpoints vouch for it. The one place where
 * errors become exit codes: 0 success, 1 failure (a tampered audit log too), 2 usage. */
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
#include "lib/json/json.h"
#include "lib/crypto/seal.h"
#include "lib/common/timeutil.h"
#include "server/audit/audit_chain.h"
#include "server/audit/audit_log.h"
#include "server/api/authn.h"
#include "server/auth/hostauth.h"
#include "server/auth/oidc.h"
#include "server/transport/http.h"
#include "server/maintenance.h"
#include "server/providers/pool.h"
#include "server/providers/registry.h"
#include "server/server.h"
#include "server/core/sweeper.h"
#include "server/core/workflow.h"

#define DEFAULT_CONFIG "/etc/jitsudo/jitsudod.yaml"
#define EXIT_USAGE 2

static const char usage_text[] =
        "usage: jitsudod [--config FILE]              run the server\n"
        "       jitsudod init [--dir DIR] [--data-dir DIR] [--http-addr ADDR]\n"
        "                     [--issuer-url URL] [--force]\n"
        "                                              write a starter config and keys\n"
        "       jitsudod init --keys-only [--dir DIR]  create missing keys only\n"
        "       jitsudod token [--config FILE] --user EMAIL [--groups G1,G2] [--ttl 8h]\n"
        "                                              print an ID token of the built-in issuer\n"
        "       jitsudod audit verify [--config FILE] check the audit log's keyed chain and\n"
        "                                              its signed checkpoints\n"
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

/* The audit keys of `config`: the chain key becomes the process's (every store handle seals
 * with it); the checkpoint key is returned. Messages name files, never key bytes. */
static int
load_audit_keys(const struct jit_config *config, const char *who,
                struct jit_checkpoint_key **ret_checkpoint_key)
{
	_cleanup_secret_ struct jit_secret *key = NULL;
	char error[512] = "";
	int r;
	if ((r = jit_audit_key_load(config->audit_key_file, &key, error, sizeof(error))) < 0 ||
	    (r = jit_checkpoint_key_load(config->checkpoint_key_file, ret_checkpoint_key, error,
	                                 sizeof(error))) < 0) {
		fprintf(stderr, "%s: %s\n", who, error);
		if (r == -ENOENT)
			fprintf(stderr,
			        "%s: an installation from before the audit keys: `jitsudod init "
			        "--keys-only --dir DIR` creates the missing ones "
			        "(docs/storage.md)\n",
			        who);
		return r;
	}
	if ((r = jit_audit_chain_set_key(key)) < 0)
		fprintf(stderr, "%s: audit key: %s\n", who, jit_strerror(r));
	return r;
}

/* Re-keys an unkeyed chain (a database from before the audit key), in one transaction with
 * the audit event that says so, once the old rule vouches for the whole chain. */
static int
audit_rekey(struct jit_store *store)
{
	_cleanup_(jit_audit_event_freep) struct jit_audit_event *event = jit_audit_event_new();
	char detail[512] = "", key_id[JIT_AUDIT_KEY_ID_SIZE];
	int64_t bad = 0, started = jit_now_monotonic_ns();
	size_t count = 0;
	int r;
	if (!event || jit_audit_key_id(jit_audit_chain_key(), key_id) < 0)
		return -ENOMEM;
	if ((r = jit_store_begin(store)) < 0) {
		fprintf(stderr, "jitsudod: re-keying the audit log: %s\n", jit_strerror(r));
		return r;
	}
	r = jit_store_audit_rekey(store, &count, &bad, detail, sizeof(detail));
	if (r == JIT_ERR_DENIED) {
		jit_store_rollback(store);
		fprintf(stderr,
		        "jitsudod: refusing to start: the audit log (an old unkeyed chain) is not "
		        "intact: event %lld: %s. It is not re-keyed: decide what to do with it "
		        "first (jitsudod audit verify; docs/storage.md)\n",
		        (long long)bad, detail);
		return r;
	}
	if (r == 0 && count > 0) {
		event->timestamp = jit_now_realtime_ns();
		event->actor_identity = strdup("system");
		event->action = strdup("audit.chain_rekeyed");
		event->outcome = strdup("success");
		if (!event->actor_identity || !event->action || !event->outcome ||
		    json_object_set_new(event->details, "events", json_integer((json_int_t)count)) <
		            0 ||
		    json_object_set_new(event->details, "from", json_string("sha256")) < 0 ||
		    json_object_set_new(event->details, "to", json_string("hmac-sha256")) < 0 ||
		    json_object_set_new(event->details, "key_id", json_string(key_id)) < 0)
			r = -ENOMEM;
		else
			/* The server's own event: the chain is global, the event the default
			 * tenant's (the operator's). */
			r = jit_store_audit_append(store, JIT_DEFAULT_TENANT_ID, event);
	}
	if (r == 0)
		r = jit_store_commit(store);
	else
		jit_store_rollback(store);
	if (r < 0) {
		fprintf(stderr, "jitsudod: re-keying the audit log: %s\n",
		        detail[0] ? detail : jit_strerror(r));
		return r;
	}
	if (count > 0)
		fprintf(stderr,
		        "jitsudod: audit log re-keyed: %zu events now chained with HMAC-SHA256 "
		        "(key id %s) in %lld ms; event %lld records it\n",
		        count, key_id, (long long)((jit_now_monotonic_ns() - started) / 1000000),
		        (long long)event->id);
	return 0;
}

/* Before the server appends anything: the chain must be keyed with this key (an unkeyed one is
 * re-keyed, unless checkpoints of a keyed chain exist: that is a downgrade), and the log must
 * still hold what the newest checkpoint counted. Opens the checkpoint file for appending. */
static int
audit_prepare(struct jit_store *store, const struct jit_config *config,
              const struct jit_checkpoint_key *checkpoint_key, struct jit_checkpoint_log **ret_log,
              struct jit_checkpoint *ret_last)
{
	_cleanup_(jit_checkpoint_log_freep) struct jit_checkpoint_log *log = NULL;
	enum jit_audit_chain chain = JIT_AUDIT_CHAIN_UNKEYED;
	struct jit_checkpoint last = { 0 };
	char error[512] = "";
	bool matches = false;
	int64_t bad = 0;
	int r = jit_store_audit_chain(store, &chain, &matches);
	if (r < 0) {
		fprintf(stderr,
		        "jitsudod: refusing to start: the audit chain's rule in the meta table "
		        "cannot be read or is unknown (%s)\n",
		        jit_strerror(r));
		return r;
	}
	if (chain == JIT_AUDIT_CHAIN_KEYED && !matches) {
		fprintf(stderr,
		        "jitsudod: refusing to start: %s is not the key the audit chain was made "
		        "with (or the key id in the database was changed)\n",
		        config->audit_key_file);
		return JIT_ERR_UNAUTHENTICATED;
	}
	const char *path = config->audit_checkpoint_file;
	if (path) {
		r = jit_checkpoint_read_last(path, checkpoint_key, &last, error, sizeof(error));
		if (r < 0 && r != JIT_ERR_NOT_FOUND) {
			fprintf(stderr, "jitsudod: refusing to start: %s\n", error);
			return r;
		}
	}
	if (chain == JIT_AUDIT_CHAIN_UNKEYED) {
		if (last.count > 0) {
			fprintf(stderr,
			        "jitsudod: refusing to start: the audit log is an unkeyed chain "
			        "but %s holds checkpoints of a keyed one: the chain was replaced "
			        "by one without a key (jitsudod audit verify)\n",
			        path);
			return JIT_ERR_DENIED;
		}
		if ((r = audit_rekey(store)) < 0)
			return r;
	}
	if (!path) {
		fprintf(stderr,
		        "jitsudod: warning: no audit checkpoint file (the database is not a "
		        "file): removal of the newest audit events cannot be detected\n");
		return 0;
	}
	if (last.count > 0 &&
	    (r = jit_audit_checkpoint_compare(store, &last, &bad, error, sizeof(error))) < 0) {
		fprintf(stderr,
		        "jitsudod: refusing to start: the audit log does not match its newest "
		        "checkpoint (%s): %s (jitsudod audit verify; docs/storage.md)\n",
		        path, error);
		return r;
	}
	if ((r = jit_checkpoint_log_open(path, checkpoint_key, &log, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: %s\n", error);
		return r;
	}
	*ret_log = TAKE_PTR(log);
	*ret_last = last;
	return 0;
}

/* A checkpoint of the head now (the start, once the default policies are in), logged. */
static int
audit_checkpoint_now(struct jit_store *store, struct jit_maintenance_audit *audit)
{
	char line[JIT_CHECKPOINT_LINE_MAX], detail[512] = "";
	bool written = false;
	if (!audit->log)
		return 0;
	int r = jit_audit_checkpoint_take(store, audit->log, &audit->last, &written, line,
	                                  sizeof(line), detail, sizeof(detail));
	if (r < 0)
		fprintf(stderr, "jitsudod: audit checkpoint: %s\n", detail);
	else if (written)
		fprintf(stderr, "jitsudod: %s\n", line);
	return r;
}

static int
setup_identity(struct jit_server *server)
{
	const struct jit_config *config = server->config;
	char error[512] = "";
	_cleanup_(jit_oidc_freep) struct jit_oidc *oidc = NULL;
	_cleanup_(jit_hostauth_freep) struct jit_hostauth *hosts = NULL;
	int r = jit_oidc_new(config->jwks_fetch_timeout_ms, &oidc);
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
		if ((r = jit_oidc_add_static_issuer(oidc, &ic, jwks)) < 0)
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
		if ((r = jit_oidc_add_issuer(oidc, &ic)) < 0) {
			fprintf(stderr, "jitsudod: issuer %s: %s\n", o->issuer, jit_strerror(r));
			return r;
		}
	}
	if ((r = jit_hostauth_from_config(config, &hosts, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: %s\n", error[0] ? error : jit_strerror(r));
		return r;
	}
	return jit_authn_new(TAKE_PTR(oidc), TAKE_PTR(hosts), &server->authn);
}

static int
setup_providers(struct jit_server *server)
{
	int r = jit_providers_open(server->config, server->providers, server->provider_names,
	                           JIT_PROVIDER_COUNT, &server->provider_count);
	if (r < 0)
		return r;
	return jit_provider_pool_new(JIT_PROVIDER_POOL_THREADS, JIT_PROVIDER_POOL_QUEUE,
	                             &server->provider_pool);
}

static void
server_clear(struct jit_server *server)
{
	jit_sweeper_stop(server->sweeper);
	jit_provider_pool_free(server->provider_pool);
	for (size_t i = 0; i < server->provider_count; i++)
		jit_provider_free(server->providers[i]);
	jit_policy_set_unref(server->policies);
	jit_issuer_free(server->issuer);
	jit_authn_free(server->authn);
	jit_secret_free(server->seal_key);
	jit_server_unlock(server);
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
	struct jit_checkpoint_key *checkpoint_key = NULL;
	struct jit_maintenance_audit audit = { 0 };
	struct jit_error status = { 0 };
	char error[512] = "";
	sigset_t signals;
	int r, sig = 0;

	pthread_mutex_init(&server.policy_lock, NULL);
	pthread_mutex_init(&server.policy_write_lock, NULL);
	if ((r = load_config(config_path, &server.config)) < 0)
		goto out;
	/* Before anything opens the database: a second server on it fails here, at once. */
	if ((r = jit_server_lock(&server, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: %s\n", error);
		goto out;
	}
	if ((r = load_seal_key(server.config->seal_key_file, &server.seal_key)) < 0 ||
	    (r = load_audit_keys(server.config, "jitsudod", &checkpoint_key)) < 0 ||
	    (r = setup_identity(&server)) < 0)
		goto out;
	if ((r = setup_providers(&server)) < 0) {
		fprintf(stderr, "jitsudod: providers: %s\n", jit_strerror(r));
		goto out;
	}
	if ((r = jit_worker_init(&worker, &server, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudod: database %s: %s\n", server.config->database.path, error);
		goto out;
	}
	/* Before anything appends an audit event. */
	if ((r = audit_prepare(worker.store, server.config, checkpoint_key, &audit.log,
	                       &audit.last)) < 0)
		goto out;
	audit.interval_seconds = server.config->audit_checkpoint_interval_seconds;
	size_t loaded = 0;
	if (jit_wf_load_default_policies(&worker, &status) < 0)
		fprintf(stderr, "jitsudod: warning: %s (starting without them)\n", status.message);
	if ((r = jit_wf_policy_reload(&worker, NULL, &loaded, &status)) < 0) {
		fprintf(stderr, "jitsudod: policies: %s\n", status.message);
		goto out;
	}
	if ((r = audit_checkpoint_now(worker.store, &audit)) < 0)
		goto out;
	if ((r = jit_sweeper_start(&server, &server.sweeper, error, sizeof(error))) < 0 ||
	    (r = jit_maintenance_start(&server, &audit, &maintenance, error, sizeof(error))) < 0) {
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
	        threads, server.config->database.path, loaded);
	sigwait(&signals, &sig);
	fprintf(stderr, "jitsudod: %s received, stopping\n", strsignal(sig));
	jit_http_stop(http);
	r = 0;
out:
	/* The sweeper appends audit events: stop it before the last audit checkpoint. */
	jit_sweeper_stop(server.sweeper);
	server.sweeper = NULL;
	jit_maintenance_stop(maintenance);
	jit_checkpoint_log_free(audit.log);
	jit_checkpoint_key_free(checkpoint_key);
	jit_audit_chain_clear_key();
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
		{ "keys-only", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = "/etc/jitsudo", *data_dir = "/var/lib/jitsudo";
	const char *addr = ":8080", *issuer = NULL;
	bool force = false, keys_only = false;
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
		case 'k':
			keys_only = true;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc)
		return usage(stderr, EXIT_USAGE);
	char error[512] = "";
	if (keys_only) {
		int created = 0;
		if (jit_config_init_keys(dir, &created, error, sizeof(error)) < 0) {
			fprintf(stderr, "jitsudod init: %s\n", error);
			return 1;
		}
		printf("Created %d missing key file%s in %s.\n", created, created == 1 ? "" : "s",
		       dir);
		return 0;
	}
	/* Without --issuer-url, init derives it from the address (IPv6 hosts in brackets,
	 * loopback for "every address"). */
	if (jit_config_init(dir, data_dir, addr, issuer, force, error, sizeof(error)) < 0) {
		fprintf(stderr, "jitsudod init: %s\n", error);
		return 1;
	}
	printf("Wrote %s/jitsudod.yaml and the keys %s/seal.key, %s/issuer.pem, %s/audit.key and "
	       "%s/checkpoint.pem.\n"
	       "Start the server:     jitsudod --config %s/jitsudod.yaml\n"
	       "Get a token:          jitsudod token --config %s/jitsudod.yaml --user "
	       "alice@example.com --groups sre\n",
	       dir, dir, dir, dir, dir, dir, dir);
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

/* `jitsudod audit verify` once the keys are loaded: the chain, then the checkpoints. Prints
 * one line: intact, TAMPERED (naming the first bad event or the missing range) or UNVERIFIED.
 * Returns the exit code. */
static int
verify_audit(const struct jit_config *config, const struct jit_checkpoint_key *checkpoint_key)
{
	_cleanup_(jit_store_closep) struct jit_store *store = NULL;
	struct jit_checkpoint_check check;
	enum jit_audit_chain chain = JIT_AUDIT_CHAIN_UNKEYED;
	char error[512] = "", detail[512] = "", when[JIT_RFC3339_MAX];
	const char *path = config->audit_checkpoint_file;
	bool matches = false;
	uint64_t file_size = 0;
	int64_t bad = 0;
	size_t checked = 0;
	struct stat st;
	int r;
	if (jit_store_open(&config->database, 0, &store, error, sizeof(error)) < 0) {
		fprintf(stderr, "jitsudod audit verify: %s\n", error);
		return 1;
	}
	/* Checkpoints written from here on may count events this snapshot does not hold. */
	if (path && stat(path, &st) == 0)
		file_size = (uint64_t)st.st_size;
	/* One read snapshot for the chain and the checkpoints (the server may be running). */
	jit_store_read_session_begin(store);
	if (jit_store_audit_chain(store, &chain, &matches) < 0)
		chain = JIT_AUDIT_CHAIN_KEYED; /* an unknown rule: verify explains it below */
	r = jit_store_audit_verify(store, &bad, &checked, detail, sizeof(detail));
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
	if (!path) {
		printf("audit log UNVERIFIED: the chain of %zu events is intact, but there is no "
		       "checkpoint file (the database is not a file)\n",
		       checked);
		return 1;
	}
	r = jit_audit_checkpoints_check(store, path, checkpoint_key, file_size, &check);
	if (chain == JIT_AUDIT_CHAIN_UNKEYED) {
		/* Checkpoints are only ever written of a keyed chain. */
		if (r == JIT_ERR_NOT_FOUND || (r == 0 && check.checkpoints == 0)) {
			printf("audit log intact: %zu events (an unkeyed chain from before the "
			       "audit key: the server re-keys it when it starts)\n",
			       checked);
			return 0;
		}
		if (r == 0 || r == JIT_ERR_DENIED) {
			printf("audit log TAMPERED: the chain has no key but %s holds checkpoints: "
			       "a keyed chain was replaced by an unkeyed one (%zu events "
			       "checked)\n",
			       path, checked);
			return 1;
		}
	}
	if (r == JIT_ERR_NOT_FOUND) {
		printf("audit log UNVERIFIED: the chain of %zu events is intact, but the "
		       "checkpoint file %s is missing, so events removed from the end cannot be "
		       "ruled out\n",
		       checked, path);
		return 1;
	}
	if (r == JIT_ERR_DENIED) {
		printf("audit log TAMPERED: %s (%zu events checked)\n", check.detail, checked);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "jitsudod audit verify: %s\n", check.detail);
		return 1;
	}
	if (check.checkpoints == 0 && checked > 0) {
		printf("audit log UNVERIFIED: the chain of %zu events is intact, but %s holds no "
		       "checkpoint\n",
		       checked, path);
		return 1;
	}
	if (check.checkpoints == 0) {
		printf("audit log intact: 0 events\n");
		return 0;
	}
	jit_checkpoint_time_text(&check.newest, when, sizeof(when));
	printf("audit log intact: %zu events (the newest of %zu checkpoints, of %s, counted "
	       "%lld)\n",
	       checked, check.checkpoints, when, (long long)check.newest.count);
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
	_cleanup_(jit_checkpoint_key_freep) struct jit_checkpoint_key *checkpoint_key = NULL;
	if (load_config(config_path, &config) < 0 ||
	    load_audit_keys(config, "jitsudod audit verify", &checkpoint_key) < 0)
		return 1;
	int r = verify_audit(config, checkpoint_key);
	jit_audit_chain_clear_key();
	return r;
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
