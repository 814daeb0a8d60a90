/* The store's audit log against its signed checkpoints (server/audit/audit_chain.h): every
 * checkpoint of the file checked against the log, the log's head compared with one, and a new
 * checkpoint taken of the head. The layer above the store, which seals with the chain key of
 * audit_chain.h and never includes audit_log.h. Trusts nothing read from the file or the
 * database until its signature or hash is checked. Never logs. */
#include "server/audit/audit_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/auth/jose.h"
#include "server/store/store.h"

/* The log against one checkpoint, with the log's head already read. */
static int
compare_one(struct jit_store *store, const struct jit_checkpoint *cp, int64_t log_count,
            int64_t log_last_id, int64_t *ret_bad_id, char *detail, size_t detail_size)
{
	char when[JIT_RFC3339_MAX], hash[65];
	jit_checkpoint_time_text(cp, when, sizeof(when));
	if (cp->last_id > log_last_id) {
		*ret_bad_id = log_last_id + 1;
		jit_set_error(detail, detail_size,
		              "events %" PRId64 "..%" PRId64
		              " are missing (checkpoint of %s counted "
		              "%" PRId64 ")",
		              log_last_id + 1, cp->last_id, when, cp->count);
		return JIT_ERR_DENIED;
	}
	if (cp->last_id == 0)
		return 0;
	int r = jit_store_audit_hash_at(store, cp->last_id, hash);
	if (r == JIT_ERR_NOT_FOUND) {
		*ret_bad_id = cp->last_id;
		jit_set_error(detail, detail_size,
		              "event %" PRId64 " is missing (checkpoint of %s ended with it)",
		              cp->last_id, when);
		return JIT_ERR_DENIED;
	}
	if (r < 0) {
		jit_set_error(detail, detail_size, "reading the audit log: %s", jit_strerror(r));
		return r;
	}
	if (strcmp(hash, cp->head) != 0) {
		*ret_bad_id = cp->last_id;
		jit_set_error(detail, detail_size,
		              "event %" PRId64 " does not have the hash the checkpoint of %s "
		              "recorded: the log up to it was rewritten",
		              cp->last_id, when);
		return JIT_ERR_DENIED;
	}
	/* Ids run from the oldest event with no gap (the chain check saw to it). */
	int64_t held = log_count - (log_last_id - cp->last_id);
	if (held != cp->count) {
		*ret_bad_id = cp->last_id;
		jit_set_error(detail, detail_size,
		              "the checkpoint of %s counted %" PRId64 " events up to event %" PRId64
		              ", the log holds %" PRId64,
		              when, cp->count, cp->last_id, held);
		return JIT_ERR_DENIED;
	}
	return 0;
}

int
jit_audit_checkpoint_compare(struct jit_store *store, const struct jit_checkpoint *cp,
                             int64_t *ret_bad_id, char *detail, size_t detail_size)
{
	int64_t count = 0, last_id = 0;
	char head[65];
	int r = jit_store_audit_head(store, &count, &last_id, head);
	if (r < 0) {
		jit_set_error(detail, detail_size, "reading the audit log: %s", jit_strerror(r));
		return r;
	}
	return compare_one(store, cp, count, last_id, ret_bad_id, detail, detail_size);
}

static void
file_closep(FILE **f)
{
	if (*f)
		fclose(*f);
}

int
jit_audit_checkpoints_check(struct jit_store *store, const char *path,
                            const struct jit_checkpoint_key *key, uint64_t max_bytes,
                            struct jit_checkpoint_check *ret_check)
{
	uint64_t consumed = 0;
	struct jit_checkpoint_check *c = ret_check;
	struct jit_checkpoint previous = { 0 };
	int64_t count = 0, last_id = 0, mismatch_id = 0;
	char head[65], line[JIT_CHECKPOINT_READ_MAX], mismatch[sizeof(c->detail)] = "";
	size_t line_no = 0;
	int r;
	memset(c, 0, sizeof(*c));
	_cleanup_(file_closep) FILE *f = fopen(path, "re");
	if (!f) {
		r = -errno;
		jit_set_error(c->detail, sizeof(c->detail), "checkpoint file %s: %s", path,
		              strerror(-r));
		return r == -ENOENT ? JIT_ERR_NOT_FOUND : r;
	}
	if ((r = jit_store_audit_head(store, &count, &last_id, head)) < 0) {
		jit_set_error(c->detail, sizeof(c->detail), "reading the audit log: %s",
		              jit_strerror(r));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		consumed += len;
		if (max_bytes && consumed > max_bytes)
			break;
		line_no++;
		if (len == 0 || line[len - 1] != '\n') {
			if (feof(f))
				break; /* an unfinished last line: a crash while it was written */
			jit_set_error(c->detail, sizeof(c->detail),
			              "checkpoint file %s line %zu is too long to be a checkpoint: "
			              "the file was altered",
			              path, line_no);
			return JIT_ERR_DENIED;
		}
		struct jit_checkpoint cp;
		r = jit_checkpoint_parse(key, line, len - 1, &cp);
		if (r == JIT_ERR_DENIED) {
			jit_set_error(
			        c->detail, sizeof(c->detail),
			        "checkpoint file %s line %zu: the signature does not verify with "
			        "the checkpoint key: the checkpoint was forged or altered",
			        path, line_no);
			return JIT_ERR_DENIED;
		}
		if (r < 0) {
			jit_set_error(
			        c->detail, sizeof(c->detail),
			        "checkpoint file %s line %zu is not a checkpoint: the file was "
			        "altered",
			        path, line_no);
			return JIT_ERR_DENIED;
		}
		if (c->checkpoints > 0 &&
		    (cp.last_id < previous.last_id || cp.count < previous.count)) {
			jit_set_error(c->detail, sizeof(c->detail),
			              "checkpoint file %s line %zu counts fewer events (%" PRId64
			              ") than the line before it (%" PRId64
			              "): events were removed "
			              "and the server restarted, or the lines were reordered",
			              path, line_no, cp.count, previous.count);
			return JIT_ERR_DENIED;
		}
		c->checkpoints++;
		previous = cp;
		c->newest = cp;
		int64_t bad = 0;
		char detail[sizeof(c->detail)];
		if (cp.last_id > last_id)
			continue; /* reported for the newest checkpoint, below */
		r = compare_one(store, &cp, count, last_id, &bad, detail, sizeof(detail));
		if (r == JIT_ERR_DENIED && !mismatch_id) {
			mismatch_id = bad;
			snprintf(mismatch, sizeof(mismatch), "%s", detail);
		} else if (r < 0 && r != JIT_ERR_DENIED) {
			snprintf(c->detail, sizeof(c->detail), "%s", detail);
			return r;
		}
	}
	if (ferror(f)) {
		jit_set_error(c->detail, sizeof(c->detail), "checkpoint file %s: read error", path);
		return -EIO;
	}
	if (c->checkpoints > 0 && c->newest.last_id > last_id)
		return compare_one(store, &c->newest, count, last_id, &c->bad_id, c->detail,
		                   sizeof(c->detail));
	if (mismatch_id) {
		c->bad_id = mismatch_id;
		snprintf(c->detail, sizeof(c->detail), "%s", mismatch);
		return JIT_ERR_DENIED;
	}
	return 0;
}

int
jit_audit_checkpoint_take(struct jit_store *store, struct jit_checkpoint_log *log,
                          struct jit_checkpoint *last, bool *ret_written, char *line,
                          size_t line_size, char *detail, size_t detail_size)
{
	struct jit_checkpoint cp = { 0 };
	int64_t bad_id = 0;
	int r;
	*ret_written = false;
	if ((r = jit_store_begin(store)) < 0) {
		jit_set_error(detail, detail_size, "reading the audit log's head: %s",
		              jit_strerror(r));
		return r;
	}
	r = jit_store_audit_head(store, &cp.count, &cp.last_id, cp.head);
	if (r == 0 && last->count > 0)
		r = jit_audit_checkpoint_compare(store, last, &bad_id, detail, detail_size);
	else if (r < 0)
		jit_set_error(detail, detail_size, "reading the audit log's head: %s",
		              jit_strerror(r));
	if (r < 0) {
		jit_store_rollback(store);
		return r;
	}
	/* An empty transaction: its commit returns once everything before it is synced. */
	if ((r = jit_store_commit(store)) < 0) {
		jit_set_error(detail, detail_size, "syncing the audit log: %s", jit_strerror(r));
		return r;
	}
	if (cp.count == 0 || (cp.last_id == last->last_id && cp.count == last->count &&
	                      strcmp(cp.head, last->head) == 0))
		return 0;
	cp.time_ns = jit_now_realtime_ns();
	if ((r = jit_checkpoint_log_append(log, &cp, line, line_size)) < 0) {
		jit_set_error(detail, detail_size, "writing the checkpoint file: %s",
		              jit_strerror(r));
		return r;
	}
	*last = cp;
	*ret_written = true;
	return 0;
}
