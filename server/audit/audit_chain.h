/* The audit log's keys and checkpoints: the process's chain key (32 bytes, HMAC-SHA256; the
 * store seals every event with it), the Ed25519 key that signs checkpoints of the chain's head,
 * and the checkpoint file outside the database (one signed text line per checkpoint, appended
 * and synced). Includes no store, so that the store's backends can seal with the chain key;
 * checking the log against its checkpoints is server/audit/audit_log.h. Library code: errors
 * come back as codes and messages, nothing is logged; no message ever holds key material. */
#ifndef JIT_SERVER_AUDIT_CHAIN_H
#define JIT_SERVER_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/macro.h"
#include "lib/common/secret.h"
#include "server/core/model.h"

/* ---- the chain key -------------------------------------------------------------------- */

/* Reads a chain key file: a regular file of exactly JIT_AUDIT_CHAIN_KEY_SIZE bytes that group
 * and others cannot reach (the seal key's rules). Returns 0 and a new secret, or a negative
 * code with a message naming the file (never its contents). */
int jit_audit_key_load(const char *path, struct jit_secret **ret_key, char *error,
                       size_t error_size);

/* Makes `key` the chain key of every store handle of the process (a copy is kept until
 * jit_audit_chain_clear_key). Call it before any thread appends; one server has one database
 * and one key. JIT_ERR_INVALID for a key of another size. */
int jit_audit_chain_set_key(const struct jit_secret *key);
/* The process's chain key, or NULL when none was set (a store then keeps the unkeyed rule,
 * and refuses to append to or check a keyed chain). Borrowed. */
const struct jit_secret *jit_audit_chain_key(void);
void jit_audit_chain_clear_key(void);

/* A public name of a chain key: the first 16 bytes of HMAC-SHA256(key, "jitsudo audit key
 * id"), in hex (JIT_AUDIT_KEY_ID_SIZE with the NUL). Recorded in the database so that a wrong
 * key is told apart from a tampered log; reveals nothing of the key. */
#define JIT_AUDIT_KEY_ID_SIZE 33
int jit_audit_key_id(const struct jit_secret *key, char out[JIT_AUDIT_KEY_ID_SIZE]);

/* ---- the checkpoint key --------------------------------------------------------------- */

struct jit_checkpoint_key;

/* Writes a new Ed25519 private key (PKCS#8 PEM) to `path`: created 0600, never over an
 * existing file. Returns 0 or a negative errno / JIT_ERR_*. */
int jit_checkpoint_key_generate(const char *path);
/* Loads the private key at `path` (a regular file group and others cannot reach, an
 * unencrypted Ed25519 key). Returns 0, or a negative code with a message. */
int jit_checkpoint_key_load(const char *path, struct jit_checkpoint_key **ret_key, char *error,
                            size_t error_size);
void jit_checkpoint_key_free(struct jit_checkpoint_key *key);
JIT_DEFINE_CLEANUP(struct jit_checkpoint_key *, jit_checkpoint_key_free)

/* ---- checkpoints ---------------------------------------------------------------------- */

/* What the server vouched for at `time_ns`: the chain held `count` events, the last of them
 * `last_id`, whose hash was `head`. */
struct jit_checkpoint {
	int64_t count;
	int64_t last_id;
	int64_t time_ns;
	char head[65];
};

/* The text of a checkpoint, one line without its newline:
 *   jitsudo-audit-checkpoint/1 count=N last_id=N head=<64 hex> time=<RFC 3339> sig=<b64url>
 * where sig is the Ed25519 signature of everything before " sig=". Time is in whole seconds
 * (UTC). At most JIT_CHECKPOINT_LINE_MAX bytes with the NUL. */
#define JIT_CHECKPOINT_LINE_MAX 320
#define JIT_CHECKPOINT_PREFIX "jitsudo-audit-checkpoint/1 "
/* A line of the file is read into this much; anything longer is not a checkpoint. */
#define JIT_CHECKPOINT_READ_MAX 1024
int jit_checkpoint_format(const struct jit_checkpoint_key *key, const struct jit_checkpoint *cp,
                          char *line, size_t size);
/* Parses and checks one line (without its newline). Returns 0 and sets *ret_cp,
 * JIT_ERR_INVALID when it is not a checkpoint line, JIT_ERR_DENIED when its signature does
 * not verify with `key`. */
int jit_checkpoint_parse(const struct jit_checkpoint_key *key, const char *line, size_t length,
                         struct jit_checkpoint *ret_cp);

/* ---- the checkpoint file -------------------------------------------------------------- */

struct jit_checkpoint_log;

/* Opens (creating, mode 0640) the checkpoint file for appending. A last line left unfinished
 * by a crash is cut off. `key` is borrowed and must outlive the log. Returns 0, or a negative
 * code with a message. */
int jit_checkpoint_log_open(const char *path, const struct jit_checkpoint_key *key,
                            struct jit_checkpoint_log **ret_log, char *error, size_t error_size);
/* Appends `cp` as one line and syncs the file; the line (without newline) is copied into
 * `line` for the caller's log. Blocks on the disk. Returns 0 or a negative errno. */
int jit_checkpoint_log_append(struct jit_checkpoint_log *log, const struct jit_checkpoint *cp,
                              char *line, size_t line_size);
void jit_checkpoint_log_free(struct jit_checkpoint_log *log);
JIT_DEFINE_CLEANUP(struct jit_checkpoint_log *, jit_checkpoint_log_free)

/* The newest checkpoint of the file at `path`: the last complete line, which must be a
 * checkpoint signed with `key`. Reads only the end of the file. Returns 0 and sets *ret_cp,
 * JIT_ERR_NOT_FOUND when the file is absent or holds no line, JIT_ERR_DENIED / JIT_ERR_INVALID
 * (with a message) when its last line is forged or garbage, or a negative errno. */
int jit_checkpoint_read_last(const char *path, const struct jit_checkpoint_key *key,
                             struct jit_checkpoint *ret_cp, char *error, size_t error_size);

/* The checkpoint's time as the messages show it (RFC 3339, UTC, whole seconds). */
void jit_checkpoint_time_text(const struct jit_checkpoint *cp, char *buf, size_t size);

#endif
