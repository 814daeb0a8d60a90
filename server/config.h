/* jitsudod's configuration: a YAML file read once at start, every option with a default
 * (documented in docs/configuration.md). Unknown keys and values of the wrong type are errors
 * naming the key and line, so a typo never silently weakens a setting. Paths are resolved
 * relative to the config file's directory. */
#ifndef JIT_SERVER_CONFIG_H
#define JIT_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"
#include "server/store/store.h"

#define JIT_CONFIG_MAX_ISSUERS 16
#define JIT_CONFIG_MAX_LIST 64

struct jit_config_oidc_issuer {
	char *issuer;        /* required */
	char *audience;      /* required */
	char *discovery_url; /* NULL: derived from issuer */
	char *email_claim;   /* "email" */
	char *groups_claim;  /* "groups" */
	char *ca_file;       /* NULL: system CAs */
};

/* A jump host whose agent may act for users (server/auth/hostauth.h). */
#define JIT_CONFIG_MAX_HOSTS 1024
struct jit_config_host {
	char *name;            /* required; iss of its tokens is "jitsudo-host:<name>" */
	char *public_key_file; /* required; P-256 public key, PEM */
	char **identities;     /* required, NULL-terminated fnmatch globs ("*@example.com") */
	char **groups;         /* NULL-terminated, may be empty: groups the host may assert */
};

struct jit_config {
	char *path; /* the file read, absolute */

	/* server: */
	char *http_addr;     /* ":8080"; "host:port", ":port" or "[v6]:port" */
	char *grpc_addr;     /* ":8443" (served by a later component) */
	int http_threads;    /* 0 = one per CPU (at most 64) */
	char *tls_cert_file; /* both set: the REST listener speaks HTTPS */
	char *tls_key_file;
	size_t max_body_bytes; /* 1 MiB */

	/* database: driver "sqlite", path "/var/lib/jitsudo/jitsudo.db", busy_timeout_ms 5000 */
	struct jit_store_config database;

	/* keys: */
	char *seal_key_file; /* 32 random bytes sealing credentials at rest; "/etc/jitsudo/seal.key" */
	char *audit_key_file;      /* 32 random bytes keying the audit chain (HMAC-SHA256);
	                            * "/etc/jitsudo/audit.key" */
	char *checkpoint_key_file; /* Ed25519 private key (PEM) signing audit checkpoints;
	                            * "/etc/jitsudo/checkpoint.pem" */

	/* audit: */
	char *audit_checkpoint_file;               /* NULL in the file: "audit-checkpoints" in the
	                                            * database's directory (NULL for :memory:) */
	int64_t audit_checkpoint_interval_seconds; /* 60 */

	/* identity: */
	char **admin_groups;                    /* NULL-terminated; default {"jitsudo-admins"} */
	char **admin_emails;                    /* NULL-terminated; default empty */
	bool builtin_issuer_enabled;            /* true */
	char *builtin_issuer_url;               /* default "http://127.0.0.1:8080" */
	char *builtin_issuer_audience;          /* "jitsudo" */
	char *builtin_issuer_key_file;          /* "/etc/jitsudo/issuer.pem" */
	int64_t builtin_issuer_max_ttl_seconds; /* 24h */
	struct jit_config_oidc_issuer oidc[JIT_CONFIG_MAX_ISSUERS];
	size_t oidc_count;
	int jwks_fetch_timeout_ms; /* 5000 */

	/* hosts: */
	struct jit_config_host *hosts; /* host_count entries */
	size_t host_count;

	/* workflow: */
	int64_t min_duration_seconds;    /* 60 */
	int64_t max_duration_seconds;    /* 12h */
	int64_t pending_timeout_seconds; /* 24h */
	int64_t revoke_retry_initial_ms; /* 1000 */
	int64_t revoke_retry_max_ms;     /* 300000 */

	/* policies: */
	char *policies_dir; /* defaults loaded on first start: "/usr/share/jitsudo/policies" */

	/* providers: */
	bool mock_enabled;              /* true: the mock serves aws, gcp, azure and kubernetes */
	char **mock_fail_grant_roles;   /* NULL-terminated, test hook */
	uint32_t mock_fail_revocations; /* test hook */
	uint32_t mock_delay_ms;         /* test hook: each grant and revocation sleeps this long */

	/* log: */
	char *log_level; /* "info": debug, info, warn, error */
};

/* The defaults, as if from an empty file. The three lists are never NULL (empty: {NULL}). */
int jit_config_defaults(struct jit_config **ret_config);
/* Reads `path` over the defaults. Returns 0, or JIT_ERR_INVALID / a negative errno with a
 * message ("config.yaml:12: workflow.max_duration: not a duration") in `error`. Also checks
 * the result (e.g. TLS needs both files; min <= max duration). A file over 1 MiB is
 * JIT_ERR_TOO_LARGE; YAML anchors, aliases and tags are refused. Does not open the files the
 * config names. */
int jit_config_load(const char *path, struct jit_config **ret_config, char *error,
                    size_t error_size);
void jit_config_free(struct jit_config *config);
JIT_DEFINE_CLEANUP(struct jit_config *, jit_config_free)

/* Splits an address like ":8080", "127.0.0.1:8080" or "[::1]:8080" into host (NULL = any)
 * and port. *ret_host is malloc'd or NULL. The port is decimal 1..65535; an IPv6 host needs
 * brackets. Returns 0, JIT_ERR_INVALID (nothing set) or -ENOMEM. */
int jit_config_split_addr(const char *addr, char **ret_host, uint16_t *ret_port);

/* `jitsudod init`: in `dir` (created 0750 if absent) writes jitsudod.yaml (0640; refuses to
 * overwrite unless `force`), seal.key and audit.key (32 random bytes each, 0600), issuer.pem
 * (ES256, 0600) and checkpoint.pem (Ed25519, 0600),
 * with database.path under `data_dir`, http_addr `http_addr`, and the built-in issuer at
 * `issuer_url`. Prints nothing; returns 0 or an error with a message (-EEXIST: the config
 * exists and `force` is false; checked before anything is written). `data_dir` is created
 * 0750 if absent; an existing key file is kept, never replaced (a new seal key would make
 * every sealed credential unreadable, a new audit key every audit event unverifiable). NULL arguments take the CLI's defaults
 * (/etc/jitsudo, /var/lib/jitsudo, ":8080", http://127.0.0.1:<port>). */
int jit_config_init(const char *dir, const char *data_dir, const char *http_addr,
                    const char *issuer_url, bool force, char *error, size_t error_size);
/* `jitsudod init --keys-only`: creates whichever of the four key files above is missing in
 * `dir` (which must exist), touching nothing else; for an installation upgraded from a version
 * with fewer keys. *ret_created counts the files written. Returns 0 or an error with a
 * message. */
int jit_config_init_keys(const char *dir, int *ret_created, char *error, size_t error_size);

#endif
