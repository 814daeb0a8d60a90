/* The store's audit log against its signed checkpoints (server/audit/audit_chain.h): checking
 * the checkpoint file against the log, comparing the log's head with one checkpoint, taking a
 * new checkpoint of the head. Library code: errors come back as codes and details, nothing is
 * logged. */
#ifndef JIT_SERVER_AUDIT_LOG_H
#define JIT_SERVER_AUDIT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/audit/audit_chain.h"

struct jit_store;

struct jit_checkpoint_check {
	size_t checkpoints;           /* lines read and verified */
	struct jit_checkpoint newest; /* the one with the most events (count 0: none) */
	int64_t bad_id;               /* the first event named by a failure, 0 if none */
	char detail[512];             /* on failure, one line */
};

/* Reads every line of the checkpoint file (only its first `max_bytes` when not 0: a caller
 * reading the log in one snapshot passes the file's size from before the snapshot, so that a
 * checkpoint written since is not held against it) and checks it against the store's audit
 * log, whose chain the caller has verified: each checkpoint's signature, that checkpoints never go back,
 * that the log still holds every event a checkpoint counted (else "events N..M are missing
 * (checkpoint of <time> counted M)") and that the event a checkpoint names still has its hash.
 * Streams the file: memory is bounded whatever its length. Returns 0, JIT_ERR_NOT_FOUND when
 * there is no file, JIT_ERR_DENIED with a detail on any mismatch, or another code with a
 * detail when a file or the database cannot be read. */
int jit_audit_checkpoints_check(struct jit_store *store, const char *path,
                                const struct jit_checkpoint_key *key, uint64_t max_bytes,
                                struct jit_checkpoint_check *ret_check);

/* The store's head compared with one checkpoint (the server's start, a periodic round):
 * returns 0 when the log still holds the checkpoint's events with the same hash at its last
 * one, JIT_ERR_DENIED with a detail (and *ret_bad_id) when not. */
int jit_audit_checkpoint_compare(struct jit_store *store, const struct jit_checkpoint *cp,
                                 int64_t *ret_bad_id, char *detail, size_t detail_size);

/* Takes a checkpoint of the store's head. The head is read inside a write transaction whose
 * commit waits for the disk sync, so every event it counts is on disk before the checkpoint
 * vouches for it. When `last` holds a checkpoint (count > 0) the log is first compared with it
 * (jit_audit_checkpoint_compare): on a mismatch nothing is written and JIT_ERR_DENIED comes
 * back with a detail, since a checkpoint of a shortened log would hide the loss. Then, when
 * the head differs from `last`, appends a checkpoint (*ret_written, the line in `line`) and
 * makes it *last. Blocks on the database and the disk. */
int jit_audit_checkpoint_take(struct jit_store *store, struct jit_checkpoint_log *log,
                              struct jit_checkpoint *last, bool *ret_written, char *line,
                              size_t line_size, char *detail, size_t detail_size);

#endif
