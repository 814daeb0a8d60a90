/* Background upkeep of the store: a thread that runs jit_store_upkeep every half second
 * (SQLite: a passive WAL checkpoint, which never waits for readers or writers), so that
 * request threads, opened with JIT_STORE_BACKGROUND_UPKEEP, never pay for it; and that writes
 * the signed audit checkpoints (server/audit/audit_log.h) every interval when the log grew,
 * and once more when it stops. It logs its audit checkpoints and their failures to stderr. */
#ifndef JIT_SERVER_MAINTENANCE_H
#define JIT_SERVER_MAINTENANCE_H

#include "server/audit/audit_log.h"
#include "server/server.h"

struct jit_maintenance;

/* What the thread needs for audit checkpoints. `log` is borrowed and must outlive the thread
 * (NULL: none are taken); `last` is the newest checkpoint so far (count 0: none). */
struct jit_maintenance_audit {
	struct jit_checkpoint_log *log;
	int64_t interval_seconds;
	struct jit_checkpoint last;
};

int jit_maintenance_start(struct jit_server *server, const struct jit_maintenance_audit *audit,
                          struct jit_maintenance **ret, char *error, size_t error_size);
/* Stops and joins the thread after a last WAL checkpoint and a last audit checkpoint (call it
 * once nothing else appends audit events). Accepts NULL. */
void jit_maintenance_stop(struct jit_maintenance *maintenance);

#endif
