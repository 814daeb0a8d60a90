/* What the agent holds: grants of local users (credentials in memory only, wiped when
 * forgotten), the session directories it wrote, and an expiry thread that deletes them on
 * time: each grant's files at that grant's expiry, a directory when its last grant goes. The
 * list of sessions, their grants and files, and the grants (no secret) is persisted to
 * <state_dir>/state.json before any file is written, so a restarted agent still removes
 * expired material on time.
 * Session files are created as root in a root-owned directory with O_EXCL|O_NOFOLLOW and
 * handed to the user last, so a user cannot redirect the writes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "jitsudo-agent/agent.h"
#include "lib/common/errors.h"
#include "lib/common/timeutil.h"

#define MAX_REMOVE_DEPTH 8
#define MAX_REMOVE_ENTRIES 10000
#define MAX_STATE_FILE (8 * 1024 * 1024)

/* The files a grant may put into a session directory (a bit each). */
enum {
	FILE_AWS_CREDENTIALS = 1u << 0,
	FILE_AWS_CONFIG = 1u << 1,
	FILE_KUBECONFIG = 1u << 2,
	FILE_ALL = (1u << 3) - 1,
};
static const char *const file_names[] = { "aws-credentials", "aws-config", "kubeconfig" };

/* One grant whose material is in a session directory. */
struct session_grant {
	char id[JIT_AP_MAX_REQUEST_ID + 1];
	int64_t expires_at; /* Unix seconds; 0: no known end (goes with the grant) */
	unsigned files;     /* FILE_* written for it */
};

struct session {
	uid_t uid;
	char id[JIT_AP_MAX_SESSION_ID + 1];
	char dir[JIT_AP_MAX_PATH];
	struct session_grant grants[AGENT_MAX_SESSION_GRANTS];
	size_t grant_count; /* 0: the directory goes */
};

struct refresh {
	uid_t uid;
	uint64_t at;
};

struct agent_state {
	const struct agent_config *config;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t expiry_thread;
	bool stopping;
	struct agent_grant *grants;
	size_t grant_count, grant_cap;
	struct session *sessions;
	size_t session_count, session_cap;
	struct refresh *refreshes;
	size_t refresh_count, refresh_cap;
};

static int64_t
now_s(void)
{
	return jit_now_realtime_ns() / 1000000000LL;
}

/* ---- removing a directory without following links ------------------------------------ */

static void
remove_in(int dirfd, int depth, size_t *budget)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) && *budget > 0) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(*budget)--;
		if (unlinkat(dirfd, e->d_name, 0) == 0 || errno != EISDIR)
			continue;
		if (depth < MAX_REMOVE_DEPTH) {
			int sub = openat(dirfd, e->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				remove_in(sub, depth + 1, budget);
		}
		unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* Removes `path` (a session directory) and what is in it; never follows a symbolic link. */
static void
remove_tree(const char *path)
{
	char parent[JIT_AP_MAX_PATH];
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return;
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return;
	int fd = openat(pfd, slash + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t budget = MAX_REMOVE_ENTRIES;
	if (fd >= 0) {
		remove_in(fd, 0, &budget);
		unlinkat(pfd, slash + 1, AT_REMOVEDIR);
	} else {
		unlinkat(pfd, slash + 1, 0);
	}
	close(pfd);
}

/* Removes the files of `files` from the session directory `path` (opened without following
 * links from its parent, which the user cannot change). */
static void
remove_files(const char *path, unsigned files)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	for (size_t i = 0; i < sizeof(file_names) / sizeof(file_names[0]); i++)
		if (files & (1u << i))
			(void)unlinkat(fd, file_names[i], 0);
	close(fd);
}

/* Takes grant k out of session s: its files go, and the directory with the last grant.
 * Returns true when the session is gone (the caller removes the record). */
static bool
session_drop_grant(struct session *s, size_t k)
{
	remove_files(s->dir, s->grants[k].files);
	s->grants[k] = s->grants[--s->grant_count];
	if (s->grant_count > 0)
		return false;
	remove_tree(s->dir);
	return true;
}

/* ---- persistence --------------------------------------------------------------------- */

/* Writes state.json (no secrets) atomically. Called with the lock held. */
static void
persist_locked(struct agent_state *st)
{
	json_t *root = json_object(), *sessions = json_array(), *grants = json_array();
	char path[JIT_AP_MAX_PATH], tmp[JIT_AP_MAX_PATH];
	if (!root || !sessions || !grants)
		goto out;
	for (size_t i = 0; i < st->session_count; i++) {
		const struct session *s = &st->sessions[i];
		json_t *ids = json_array();
		for (size_t k = 0; ids && k < s->grant_count; k++)
			json_array_append_new(
			        ids, json_pack("{s:s,s:I,s:I}", "id", s->grants[k].id, "expires_at",
			                       (json_int_t)s->grants[k].expires_at, "files",
			                       (json_int_t)s->grants[k].files));
		json_array_append_new(sessions,
		                      json_pack("{s:I,s:s,s:s,s:o*}", "uid", (json_int_t)s->uid,
		                                "id", s->id, "dir", s->dir, "grants", ids));
	}
	for (size_t i = 0; i < st->grant_count; i++) {
		const struct agent_grant *g = &st->grants[i];
		json_array_append_new(grants,
		                      json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I}", "uid",
		                                (json_int_t)g->uid, "request_id", g->request_id,
		                                "state", g->state, "provider", g->provider, "role",
		                                g->role, "scope", g->scope, "expires_at",
		                                (json_int_t)g->expires_at));
	}
	json_object_set(root, "sessions", sessions);
	json_object_set(root, "grants", grants);
	snprintf(path, sizeof(path), "%s/state.json", st->config->state_dir);
	snprintf(tmp, sizeof(tmp), "%s/.state.json.tmp", st->config->state_dir);
	/* The session files live on a tmpfs (/run) that a reboot empties: this file only has to
	 * survive agent restarts, not power loss, so it is renamed into place without a sync. */
	if (json_dump_file(root, tmp, JSON_COMPACT) == 0 && chmod(tmp, 0600) == 0 &&
	    rename(tmp, path) == 0)
		goto out;
	agent_log("error", "cannot write %s: %s", path, strerror(errno));
	unlink(tmp);
out:
	json_decref(sessions);
	json_decref(grants);
	json_decref(root);
}

static int
grow(void **array, size_t *cap, size_t count, size_t size, size_t max)
{
	if (count < *cap)
		return 0;
	if (count >= max)
		return JIT_ERR_LIMIT;
	size_t n = *cap ? *cap * 2 : 16;
	if (n > max)
		n = max;
	void *grown = realloc(*array, n * size);
	if (!grown)
		return -ENOMEM;
	memset((char *)grown + *cap * size, 0, (n - *cap) * size);
	*array = grown;
	*cap = n;
	return 0;
}

static void
load_state(struct agent_state *st)
{
	char path[JIT_AP_MAX_PATH];
	json_error_t jerr;
	snprintf(path, sizeof(path), "%s/state.json", st->config->state_dir);
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root)
		return;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(root, "sessions"), i, item)
	{
		const char *id = json_string_value(json_object_get(item, "id"));
		const char *dir = json_string_value(json_object_get(item, "dir"));
		if (!id || !dir || strlen(id) > JIT_AP_MAX_SESSION_ID ||
		    strlen(dir) >= JIT_AP_MAX_PATH ||
		    grow((void **)&st->sessions, &st->session_cap, st->session_count,
		         sizeof(*st->sessions), AGENT_MAX_SESSIONS) < 0)
			continue;
		/* Only directories under our runtime directory are ever removed. */
		size_t rl = strlen(st->config->runtime_dir);
		if (strncmp(dir, st->config->runtime_dir, rl) != 0 || dir[rl] != '/' ||
		    strstr(dir, "/.."))
			continue;
		struct session *s = &st->sessions[st->session_count++];
		memset(s, 0, sizeof(*s));
		s->uid = (uid_t)json_integer_value(json_object_get(item, "uid"));
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->dir, sizeof(s->dir), "%s", dir);
		size_t k;
		json_t *g;
		json_array_foreach(json_object_get(item, "grants"), k, g)
		{
			const char *gid = json_string_value(json_object_get(g, "id"));
			if (s->grant_count >= AGENT_MAX_SESSION_GRANTS || !gid ||
			    strlen(gid) > JIT_AP_MAX_REQUEST_ID)
				continue;
			struct session_grant *sg = &s->grants[s->grant_count++];
			snprintf(sg->id, sizeof(sg->id), "%s", gid);
			sg->expires_at = json_integer_value(json_object_get(g, "expires_at"));
			sg->files = (unsigned)json_integer_value(json_object_get(g, "files")) &
			            FILE_ALL;
		}
		if (s->grant_count == 0) { /* nothing to wait for: the directory goes now */
			remove_tree(s->dir);
			st->session_count--;
		}
	}
	json_array_foreach(json_object_get(root, "grants"), i, item)
	{
		if (grow((void **)&st->grants, &st->grant_cap, st->grant_count, sizeof(*st->grants),
		         AGENT_MAX_GRANTS) < 0)
			break;
		struct agent_grant *g = &st->grants[st->grant_count];
		memset(g, 0, sizeof(*g));
		g->uid = (uid_t)json_integer_value(json_object_get(item, "uid"));
		const char *f[5] = { json_string_value(json_object_get(item, "request_id")),
			             json_string_value(json_object_get(item, "state")),
			             json_string_value(json_object_get(item, "provider")),
			             json_string_value(json_object_get(item, "role")),
			             json_string_value(json_object_get(item, "scope")) };
		if (!f[0] || !f[1] || !f[2] || !f[3] || !f[4] ||
		    strlen(f[0]) >= sizeof(g->request_id) || strlen(f[1]) >= sizeof(g->state) ||
		    strlen(f[2]) >= sizeof(g->provider) || strlen(f[3]) >= sizeof(g->role) ||
		    strlen(f[4]) >= sizeof(g->scope))
			continue;
		snprintf(g->request_id, sizeof(g->request_id), "%s", f[0]);
		snprintf(g->state, sizeof(g->state), "%s", f[1]);
		snprintf(g->provider, sizeof(g->provider), "%s", f[2]);
		snprintf(g->role, sizeof(g->role), "%s", f[3]);
		snprintf(g->scope, sizeof(g->scope), "%s", f[4]);
		g->expires_at = json_integer_value(json_object_get(item, "expires_at"));
		st->grant_count++;
	}
	json_decref(root);
}

/* ---- expiry ---------------------------------------------------------------------------- */

/* Removes expired sessions and grants; returns the next expiry (0: none). Lock held. */
static int64_t
expire_locked(struct agent_state *st, int64_t now)
{
	int64_t next = 0;
	bool changed = false;
	for (size_t i = 0; i < st->session_count;) {
		struct session *s = &st->sessions[i];
		bool gone = false;
		for (size_t k = 0; k < s->grant_count && !gone;) {
			struct session_grant *sg = &s->grants[k];
			if (!sg->expires_at || sg->expires_at > now) {
				if (sg->expires_at && (!next || sg->expires_at < next))
					next = sg->expires_at;
				k++;
				continue;
			}
			agent_log("info", "grant %s of uid %u expired: its files in %s removed",
			          sg->id, (unsigned)s->uid, s->dir);
			gone = session_drop_grant(s, k);
			changed = true;
		}
		if (gone) {
			agent_log("info", "session %s of uid %u: last grant gone, %s removed",
			          s->id, (unsigned)s->uid, s->dir);
			st->sessions[i] = st->sessions[--st->session_count];
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < st->grant_count;) {
		struct agent_grant *g = &st->grants[i];
		if (g->expires_at && g->expires_at <= now) {
			agent_grant_wipe(g);
			st->grants[i] = st->grants[--st->grant_count];
			changed = true;
			continue;
		}
		if (g->expires_at && (!next || g->expires_at < next))
			next = g->expires_at;
		i++;
	}
	if (changed)
		persist_locked(st);
	return next;
}

static void *
expiry_main(void *arg)
{
	struct agent_state *st = arg;
	pthread_mutex_lock(&st->lock);
	while (!st->stopping) {
		int64_t next = expire_locked(st, now_s());
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		/* Wake at the next expiry (to the second), and at least once a minute. */
		if (next && next - until.tv_sec < 60) {
			until.tv_sec = next;
			until.tv_nsec = 0;
		} else {
			until.tv_sec += 60;
		}
		pthread_cond_timedwait(&st->wake, &st->lock, &until);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int
agent_state_open(const struct agent_config *config, struct agent_state **ret,
                 struct jit_error *error)
{
	struct agent_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->config = config;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	if (mkdir(config->state_dir, 0700) < 0 && errno != EEXIST) {
		int r = -errno;
		free(st);
		return jit_error_set(error, r, "%s: %s", config->state_dir, strerror(-r));
	}
	if (mkdir(config->runtime_dir, 0755) < 0 && errno != EEXIST) {
		int r = -errno;
		free(st);
		return jit_error_set(error, r, "%s: %s", config->runtime_dir, strerror(-r));
	}
	load_state(st);
	pthread_mutex_lock(&st->lock);
	expire_locked(st, now_s()); /* what expired while the agent was down goes now */
	pthread_mutex_unlock(&st->lock);
	if (pthread_create(&st->expiry_thread, NULL, expiry_main, st) != 0) {
		agent_state_close(st);
		return jit_error_set(error, JIT_ERR_INTERNAL, "cannot start the expiry thread");
	}
	*ret = st;
	return 0;
}

void
agent_state_close(struct agent_state *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->stopping = true;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	if (st->expiry_thread)
		pthread_join(st->expiry_thread, NULL);
	for (size_t i = 0; i < st->grant_count; i++)
		agent_grant_wipe(&st->grants[i]);
	free(st->grants);
	free(st->sessions);
	free(st->refreshes);
	free(st);
}

/* ---- grants ---------------------------------------------------------------------------- */

static struct agent_grant *
find_id_locked(struct agent_state *st, const char *id)
{
	for (size_t i = 0; i < st->grant_count; i++)
		if (strcmp(st->grants[i].request_id, id) == 0)
			return &st->grants[i];
	return NULL;
}

static bool
state_in(const char *state, const char *states)
{
	size_t n = strlen(state);
	for (const char *p = states; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, state, n) == 0)
			return true;
		p += len + (end ? 1 : 0);
	}
	return false;
}

static void
copy_public(struct agent_grant *dst, const struct agent_grant *src)
{
	*dst = *src;
	memset(dst->creds, 0, sizeof(dst->creds));
	dst->cred_count = 0;
}

static bool
live(const struct agent_grant *g, int64_t now)
{
	return !g->expires_at || g->expires_at > now;
}

int
agent_state_find(struct agent_state *st, uid_t uid, const char *provider, const char *role,
                 const char *scope, const char *states, struct agent_grant *ret)
{
	int r = -ENOENT;
	int64_t now = now_s();
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->grant_count; i++) {
		const struct agent_grant *g = &st->grants[i];
		if (g->uid == uid && strcmp(g->provider, provider) == 0 &&
		    strcmp(g->role, role) == 0 && (!scope || strcmp(g->scope, scope) == 0) &&
		    state_in(g->state, states) && live(g, now)) {
			copy_public(ret, g);
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* Takes over src's credentials when it has some. Lock held. */
static int
put_locked(struct agent_state *st, struct agent_grant *src)
{
	struct agent_grant *g = find_id_locked(st, src->request_id);
	if (g && g->uid != src->uid)
		return JIT_ERR_CONFLICT;
	if (!g) {
		int r = grow((void **)&st->grants, &st->grant_cap, st->grant_count,
		             sizeof(*st->grants), AGENT_MAX_GRANTS);
		if (r < 0)
			return r;
		g = &st->grants[st->grant_count++];
		memset(g, 0, sizeof(*g));
	}
	struct agent_grant keep = *g;
	*g = *src;
	if (src->cred_count) {
		agent_grant_wipe(&keep);
		src->cred_count = 0; /* moved */
	} else {
		memcpy(g->creds, keep.creds, sizeof(g->creds));
		g->cred_count = keep.cred_count;
	}
	return 0;
}

int
agent_state_put(struct agent_state *st, const struct agent_grant *grant)
{
	struct agent_grant copy;
	copy_public(&copy, grant);
	pthread_mutex_lock(&st->lock);
	int r = put_locked(st, &copy);
	if (r == 0) {
		persist_locked(st);
		pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* Stores a grant with its credentials (moved out of *grant). */
static int
put_with_creds(struct agent_state *st, struct agent_grant *grant)
{
	pthread_mutex_lock(&st->lock);
	int r = put_locked(st, grant);
	if (r == 0) {
		persist_locked(st);
		pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

static int
dup_creds(struct agent_grant *dst, const struct agent_grant *src)
{
	for (size_t i = 0; i < src->cred_count; i++) {
		dst->creds[i].name = strdup(src->creds[i].name);
		dst->creds[i].value = strdup(src->creds[i].value);
		dst->cred_count = i + 1;
		if (!dst->creds[i].name || !dst->creds[i].value) {
			agent_grant_wipe(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

int
agent_state_get(struct agent_state *st, uid_t uid, const char *id, bool with_creds,
                struct agent_grant *ret)
{
	int r = -ENOENT;
	pthread_mutex_lock(&st->lock);
	const struct agent_grant *g = find_id_locked(st, id);
	if (g && g->uid == uid && live(g, now_s())) {
		copy_public(ret, g);
		r = with_creds ? dup_creds(ret, g) : 0;
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

size_t
agent_state_list(struct agent_state *st, uid_t uid, struct agent_grant *ret, size_t max)
{
	size_t n = 0;
	int64_t now = now_s();
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->grant_count && n < max; i++)
		if (st->grants[i].uid == uid && live(&st->grants[i], now))
			copy_public(&ret[n++], &st->grants[i]);
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* Removes the files of grant `id` from uid's sessions, and the directories left without a
 * grant. Lock held. */
static void
drop_sessions_locked(struct agent_state *st, uid_t uid, const char *id)
{
	for (size_t i = 0; i < st->session_count;) {
		struct session *s = &st->sessions[i];
		bool gone = false;
		for (size_t k = 0; s->uid == uid && k < s->grant_count; k++) {
			if (strcmp(s->grants[k].id, id) == 0) {
				gone = session_drop_grant(s, k);
				break;
			}
		}
		if (gone) {
			st->sessions[i] = st->sessions[--st->session_count];
			continue;
		}
		i++;
	}
}

int
agent_state_drop(struct agent_state *st, uid_t uid, const char *id)
{
	int r = -ENOENT;
	pthread_mutex_lock(&st->lock);
	struct agent_grant *g = find_id_locked(st, id);
	if (g && g->uid == uid) {
		agent_grant_wipe(g);
		*g = st->grants[--st->grant_count];
		drop_sessions_locked(st, uid, id);
		persist_locked(st);
		r = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

uint64_t
agent_state_refreshed(struct agent_state *st, uid_t uid)
{
	uint64_t at = 0;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->refresh_count; i++)
		if (st->refreshes[i].uid == uid)
			at = st->refreshes[i].at;
	pthread_mutex_unlock(&st->lock);
	return at;
}

void
agent_state_mark_refreshed(struct agent_state *st, uid_t uid)
{
	pthread_mutex_lock(&st->lock);
	size_t i = 0;
	while (i < st->refresh_count && st->refreshes[i].uid != uid)
		i++;
	if (i == st->refresh_count && grow((void **)&st->refreshes, &st->refresh_cap,
	                                   st->refresh_count, sizeof(*st->refreshes), 65536) == 0)
		st->refreshes[st->refresh_count++].uid = uid;
	if (i < st->refresh_count)
		st->refreshes[i].at = jit_ap_now_ns();
	pthread_mutex_unlock(&st->lock);
}

int
agent_state_sync(struct agent_state *st, uid_t uid, const struct agent_grant *list, size_t count)
{
	int r = 0;
	pthread_mutex_lock(&st->lock);
	/* Forget what the server no longer lists (revoked, expired, rejected). */
	for (size_t i = 0; i < st->grant_count;) {
		struct agent_grant *g = &st->grants[i];
		bool listed = false;
		for (size_t k = 0; k < count && !listed; k++)
			listed = strcmp(list[k].request_id, g->request_id) == 0;
		if (g->uid == uid && !listed) {
			char id[JIT_AP_MAX_REQUEST_ID + 1];
			snprintf(id, sizeof(id), "%s", g->request_id);
			agent_grant_wipe(g);
			*g = st->grants[--st->grant_count];
			drop_sessions_locked(st, uid, id);
			continue;
		}
		i++;
	}
	for (size_t k = 0; k < count && r == 0; k++) {
		struct agent_grant copy;
		copy_public(&copy, &list[k]);
		r = put_locked(st, &copy);
	}
	persist_locked(st);
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* ---- environments and session files ---------------------------------------------------- */

void
agent_env_clear(struct agent_env *env)
{
	for (size_t i = 0; i < env->count; i++) {
		explicit_bzero(env->entries[i], strlen(env->entries[i]));
		free(env->entries[i]);
	}
	env->count = 0;
	env->dir[0] = '\0';
}

static int
env_add(struct agent_env *env, const char *name, const char *value)
{
	if (env->count >= JIT_AP_MAX_ENV)
		return JIT_ERR_TOO_LARGE;
	for (size_t i = 0; i < env->count; i++) /* the first grant wins a name */
		if (strncmp(env->entries[i], name, strlen(name)) == 0 &&
		    env->entries[i][strlen(name)] == '=')
			return 0;
	for (const char *p = value; *p; p++) /* what a variable cannot carry goes to files */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	char *e = NULL;
	if (asprintf(&e, "%s=%s", name, value) < 0)
		return -ENOMEM;
	if (strlen(e) > JIT_AP_MAX_ENV_ENTRY) {
		explicit_bzero(e, strlen(e));
		free(e);
		return 0;
	}
	env->entries[env->count++] = e;
	return 0;
}

static const char *
cred(const struct agent_grant *g, const char *name)
{
	for (size_t i = 0; i < g->cred_count; i++)
		if (strcmp(g->creds[i].name, name) == 0)
			return g->creds[i].value;
	return NULL;
}

/* Writes one file in the session directory: created, never followed, 0600, then given to
 * the user. */
static int
write_file(int dirfd, const char *name, const char *text, uid_t uid, gid_t gid)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	int r = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fchown(fd, uid, gid) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The files grant g puts into a session directory (FILE_*), before those of `taken`, which
 * earlier grants of the session claimed (the first grant wins a file, as it wins a name). */
static unsigned
grant_files(const struct agent_config *config, const struct agent_grant *g, unsigned taken)
{
	unsigned files = 0;
	if (strcmp(g->provider, "aws") == 0 && cred(g, "AWS_ACCESS_KEY_ID") &&
	    config->write_aws_files)
		files = FILE_AWS_CREDENTIALS | FILE_AWS_CONFIG;
	else if (strcmp(g->provider, "kubernetes") == 0 && cred(g, "KUBECONFIG_DATA") &&
	         config->write_kubeconfig)
		files = FILE_KUBECONFIG;
	return files & ~taken;
}

/* The variables of one grant and, with dirfd >= 0, the files of `files` (grant_files). */
static int
grant_env(const struct agent_config *config, const struct agent_grant *g, int dirfd,
          const char *dir, uid_t uid, gid_t gid, unsigned files, struct agent_env *env)
{
	char path[JIT_AP_MAX_PATH + 32], *text = NULL;
	int r = 0;
	if (strcmp(g->provider, "aws") == 0 && cred(g, "AWS_ACCESS_KEY_ID")) {
		const char *region = cred(g, "AWS_DEFAULT_REGION");
		if (dirfd >= 0 && (files & FILE_AWS_CREDENTIALS)) {
			if (asprintf(&text,
			             "[default]\naws_access_key_id = %s\naws_secret_access_key = "
			             "%s\n"
			             "aws_session_token = %s\n",
			             cred(g, "AWS_ACCESS_KEY_ID"),
			             cred(g, "AWS_SECRET_ACCESS_KEY")
			                     ? cred(g, "AWS_SECRET_ACCESS_KEY")
			                     : "",
			             cred(g, "AWS_SESSION_TOKEN") ? cred(g, "AWS_SESSION_TOKEN")
			                                          : "") < 0)
				return -ENOMEM;
			r = write_file(dirfd, "aws-credentials", text, uid, gid);
			explicit_bzero(text, strlen(text));
			free(text);
			if (r < 0)
				return r;
			if (asprintf(&text, "[default]\nregion = %s\n",
			             region ? region : "us-east-1") < 0)
				return -ENOMEM;
			r = write_file(dirfd, "aws-config", text, uid, gid);
			free(text);
			if (r < 0)
				return r;
			snprintf(path, sizeof(path), "%s/aws-credentials", dir);
			if ((r = env_add(env, "AWS_SHARED_CREDENTIALS_FILE", path)) < 0)
				return r;
			snprintf(path, sizeof(path), "%s/aws-config", dir);
			if ((r = env_add(env, "AWS_CONFIG_FILE", path)) < 0)
				return r;
		}
		if (config->export_secrets || dirfd < 0)
			for (size_t i = 0; i < g->cred_count; i++)
				if ((r = env_add(env, g->creds[i].name, g->creds[i].value)) < 0)
					return r;
		if (region && (r = env_add(env, "AWS_REGION", region)) < 0)
			return r;
		return 0;
	}
	if (strcmp(g->provider, "kubernetes") == 0 && cred(g, "KUBECONFIG_DATA")) {
		if (dirfd >= 0 && (files & FILE_KUBECONFIG)) {
			r = write_file(dirfd, "kubeconfig", cred(g, "KUBECONFIG_DATA"), uid, gid);
			if (r < 0)
				return r;
			snprintf(path, sizeof(path), "%s/kubeconfig", dir);
			if ((r = env_add(env, "KUBECONFIG", path)) < 0)
				return r;
		}
		if (cred(g, "KUBE_NAMESPACE"))
			return env_add(env, "KUBE_NAMESPACE", cred(g, "KUBE_NAMESPACE"));
		return 0;
	}
	for (size_t i = 0; i < g->cred_count; i++)
		if ((r = env_add(env, g->creds[i].name, g->creds[i].value)) < 0)
			return r;
	return 0;
}

int
agent_state_grant_env(struct agent_state *st, uid_t uid, const char *id, struct agent_env *ret)
{
	struct agent_grant g;
	int r = agent_state_get(st, uid, id, true, &g);
	if (r < 0)
		return r;
	if (!g.cred_count) {
		agent_grant_wipe(&g);
		return -ENODATA;
	}
	r = grant_env(st->config, &g, -1, "", uid, 0, 0, ret);
	agent_grant_wipe(&g);
	return r;
}

static bool
session_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > JIT_AP_MAX_SESSION_ID || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-' ||
		      id[i] == '.'))
			return false;
	return true;
}

/* <runtime>/<uid>, owned by the agent's user, 0755: the user may not rename what is in it. */
static int
open_user_dir(const struct agent_config *config, uid_t uid)
{
	char path[JIT_AP_MAX_PATH];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%u", config->runtime_dir, (unsigned)uid);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int
agent_state_session_open(struct agent_state *st, const struct agent_user *user,
                         const char *session_id, const char *provider, const char *role,
                         const char *scope, struct agent_env *ret)
{
	struct agent_grant *held = NULL;
	size_t n = 0;
	unsigned taken = 0;
	int64_t now = now_s();
	int r = 0, ufd = -1, sfd = -1;
	struct session rec = { .uid = user->uid };

	if (!session_id_ok(session_id))
		return JIT_ERR_INVALID;
	held = calloc(AGENT_MAX_SESSION_GRANTS, sizeof(*held));
	if (!held)
		return -ENOMEM;
	/* The user's ACTIVE grants with credentials, matching the filters. */
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->grant_count && n < AGENT_MAX_SESSION_GRANTS; i++) {
		const struct agent_grant *g = &st->grants[i];
		if (g->uid != user->uid || !g->cred_count || !live(g, now) ||
		    strcmp(g->state, "ACTIVE") != 0 ||
		    (provider && strcmp(g->provider, provider)) ||
		    (role && strcmp(g->role, role)) || (scope && strcmp(g->scope, scope)))
			continue;
		copy_public(&held[n], g);
		if ((r = dup_creds(&held[n], g)) < 0)
			break;
		/* Each grant with its own expiry and the files it will write. */
		struct session_grant *sg = &rec.grants[rec.grant_count++];
		snprintf(sg->id, sizeof(sg->id), "%s", g->request_id);
		sg->expires_at = g->expires_at;
		sg->files = grant_files(st->config, g, taken);
		taken |= sg->files;
		n++;
	}
	pthread_mutex_unlock(&st->lock);
	if (r < 0 || n == 0)
		goto out;

	snprintf(rec.id, sizeof(rec.id), "%s", session_id);
	if (snprintf(rec.dir, sizeof(rec.dir), "%s/%u/%s", st->config->runtime_dir,
	             (unsigned)user->uid, session_id) >= (int)sizeof(rec.dir)) {
		r = JIT_ERR_TOO_LARGE;
		goto out;
	}
	/* Recorded (and persisted) before anything is written, replacing a session of the same
	 * id, so a crash in between still leaves the directory to the expiry. */
	pthread_mutex_lock(&st->lock);
	size_t i = 0;
	while (i < st->session_count &&
	       !(st->sessions[i].uid == user->uid && strcmp(st->sessions[i].id, session_id) == 0))
		i++;
	if (i == st->session_count &&
	    (r = grow((void **)&st->sessions, &st->session_cap, st->session_count,
	              sizeof(*st->sessions), AGENT_MAX_SESSIONS)) == 0)
		st->session_count++;
	if (r == 0) {
		st->sessions[i] = rec;
		persist_locked(st);
		pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&st->lock);
	if (r < 0)
		goto out;

	if ((ufd = open_user_dir(st->config, user->uid)) < 0) {
		r = ufd;
		goto out;
	}
	remove_tree(rec.dir);
	if (mkdirat(ufd, session_id, 0700) < 0) {
		r = -errno;
		goto out;
	}
	sfd = openat(ufd, session_id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) {
		r = -errno;
		goto out;
	}
	for (size_t k = 0; k < n && r == 0; k++)
		r = grant_env(st->config, &held[k], sfd, rec.dir, user->uid, user->gid,
		              rec.grants[k].files, ret);
	if (r == 0)
		r = env_add(ret, "JITSUDO_SESSION_DIR", rec.dir);
	/* The directory goes to the user last, once every file in it is written. */
	if (r == 0 && (fchown(sfd, user->uid, user->gid) < 0 || fchmod(sfd, 0700) < 0))
		r = -errno;
	if (r == 0)
		snprintf(ret->dir, sizeof(ret->dir), "%s", rec.dir);
	else
		remove_tree(rec.dir);
out:
	if (r < 0)
		agent_env_clear(ret);
	for (size_t k = 0; k < n; k++)
		agent_grant_wipe(&held[k]);
	free(held);
	if (ufd >= 0)
		close(ufd);
	if (sfd >= 0)
		close(sfd);
	return r;
}

int
agent_state_session_close(struct agent_state *st, uid_t uid, const char *session_id)
{
	int r = -ENOENT;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->session_count; i++) {
		if (st->sessions[i].uid == uid && strcmp(st->sessions[i].id, session_id) == 0) {
			remove_tree(st->sessions[i].dir);
			st->sessions[i] = st->sessions[--st->session_count];
			persist_locked(st);
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

int
agent_state_put_fetched(struct agent_state *st, struct agent_grant *grant)
{
	return put_with_creds(st, grant);
}
