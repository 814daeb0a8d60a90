/* jitsudo-agent: the host agent. Listens on the PAM socket (root only) and the user socket,
 * from systemd socket activation (FileDescriptorName= agent / user) or --listen-pam and
 * --listen-user; serves each connection on a thread of its own, at most
 * limits.max_pam_connections on the PAM socket and, apart from those,
 * limits.max_user_connections on the user socket (limits.max_user_connections_per_uid of one
 * uid); refuses others with a message; stops cleanly on SIGTERM. Runs as root. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jitsudo-agent/agent.h"
#include "lib/common/errors.h"

#define THREAD_STACK (256 * 1024)

static void
usage(FILE *f)
{
	fputs("usage: jitsudo-agent [--config FILE] [--listen-pam PATH --listen-user PATH]\n"
	      "       jitsudo-agent keygen --out FILE\n"
	      "       jitsudo-agent --help | --version\n"
	      "\n"
	      "The jitsudo host agent: serves pam_jitsudo on the PAM socket and users on the user\n"
	      "socket, talks to jitsudod as this host, writes and expires session credentials.\n"
	      "\n"
	      "  --config FILE       the configuration (default " AGENT_DEFAULT_CONFIG ")\n"
	      "  --listen-pam PATH   create the PAM socket at PATH (mode 0600) instead of using\n"
	      "                      systemd's socket named \"agent\"\n"
	      "  --listen-user PATH  create the user socket at PATH (mode 0666) instead of using\n"
	      "                      systemd's socket named \"user\"\n"
	      "  keygen --out FILE   write a new P-256 host key (0600) and print its public key\n"
	      "                      for jitsudod's hosts: list\n",
	      f);
}

static int
listen_at(const char *path, mode_t mode)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	/* Created with no access at all, opened up by chmod: never briefly too open. */
	mode_t old = umask(0777);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (r < 0 || chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* LISTEN_FDS / LISTEN_FDNAMES of systemd socket activation. */
static int
activated_sockets(int *pam_fd, int *user_fd)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	if (!pid || !fds)
		return 0;
	char *end = NULL;
	long p = strtol(pid, &end, 10), n;
	if (*end || p != (long)getpid())
		return 0;
	n = strtol(fds, &end, 10);
	if (*end || n < 1 || n > 16)
		return JIT_ERR_INVALID;
	const char *cursor = names ? names : "";
	for (long i = 0; i < n; i++) {
		const char *colon = strchr(cursor, ':');
		size_t len = colon ? (size_t)(colon - cursor) : strlen(cursor);
		int fd = 3 + (int)i;
		/* Not inherited by the helper the agent runs for its calls. */
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (len == 5 && strncmp(cursor, "agent", 5) == 0)
			*pam_fd = fd;
		else if (len == 4 && strncmp(cursor, "user", 4) == 0)
			*user_fd = fd;
		else
			close(fd);
		cursor = colon ? colon + 1 : cursor + len;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 0;
}

struct job {
	struct agent *agent;
	int fd;
	enum agent_socket_kind kind;
	uid_t uid;
};

static void *
connection_main(void *arg)
{
	struct job *job = arg;
	struct agent *a = job->agent;
	agent_serve_connection(a, job->fd, job->kind, job->uid);
	agent_limits_disconnect(a->limits, job->kind, job->uid);
	free(job);
	return NULL;
}

/* A refused connection is told why at once (ERROR, request id 0, before its HELLO is read) and
 * closed once the client hangs up or REFUSED_LINGER_MS later: closing at once could race the
 * client's HELLO, which would then fail with EPIPE before the ERROR is read. At most
 * REFUSED_MAX wait; a newer one closes the oldest. */
#define REFUSED_MAX 64
#define REFUSED_LINGER_MS 1000

struct refused {
	int fd; /* -1: free */
	uint64_t close_at;
};

static void
refused_close(struct refused *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static void
refused_add(struct refused refused[REFUSED_MAX], int fd)
{
	struct refused *slot = &refused[0];
	for (size_t i = 0; i < REFUSED_MAX && slot->fd >= 0; i++)
		if (refused[i].fd < 0 || refused[i].close_at < slot->close_at)
			slot = &refused[i];
	refused_close(slot);
	slot->fd = fd;
	slot->close_at = jit_ap_deadline_ms(REFUSED_LINGER_MS);
}

static const char *
socket_name(enum agent_socket_kind kind)
{
	return kind == AGENT_SOCKET_PAM ? "agent.sock" : "user.sock";
}

static void
refuse(struct agent *a, int fd, enum agent_socket_kind kind, uid_t uid, enum agent_refusal reason,
       struct refused refused[REFUSED_MAX])
{
	const struct agent_config *c = a->config;
	uint16_t code = JIT_AP_ERR_INTERNAL;
	uint8_t frame[512];
	char text[256];
	size_t len = 0;

	switch (reason) {
	case AGENT_REFUSED_PAM_FULL:
		snprintf(text, sizeof(text),
		         "the agent serves %d PAM connections already (%s); try again",
		         c->max_pam_connections, agent_refusal_limit(reason));
		break;
	case AGENT_REFUSED_PAM_NOT_ROOT:
		code = JIT_AP_ERR_FORBIDDEN;
		snprintf(text, sizeof(text), "the PAM socket is for root only");
		break;
	case AGENT_REFUSED_USER_FULL:
		snprintf(text, sizeof(text),
		         "user.sock serves %d connections already (%s); try again later",
		         c->max_user_connections, agent_refusal_limit(reason));
		break;
	case AGENT_REFUSED_UID_FULL:
		snprintf(text, sizeof(text),
		         "uid %u has %d connections open on user.sock (%s); close one first",
		         (unsigned)uid, c->max_user_connections_per_uid,
		         agent_refusal_limit(reason));
		break;
	default:
		snprintf(text, sizeof(text), "the agent cannot serve this connection now (%s)",
		         agent_refusal_limit(reason));
		break;
	}
	/* A new connection's send buffer is empty: the frame fits without waiting. */
	if (jit_ap_encode_error(frame, sizeof(frame), 0, code, text, &len) == 0)
		(void)send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)shutdown(fd, SHUT_WR);
	agent_log_refusal(a, reason, "%s: refused a connection of uid %u: %s", socket_name(kind),
	                  (unsigned)uid, text);
	refused_add(refused, fd);
}

static void
accept_one(struct agent *a, int lfd, enum agent_socket_kind kind, pthread_attr_t *attr,
           struct refused refused[REFUSED_MAX])
{
	enum agent_refusal reason = AGENT_REFUSED_NO_THREAD;
	struct job *job = NULL;
	uid_t uid = 0;
	pthread_t t;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (jit_ap_peer_cred(fd, NULL, &uid, NULL) < 0) {
		close(fd);
		return;
	}
	/* Decided here, before a thread or a slot is given: a peer other than root never takes
	 * a slot of the PAM socket (its mode keeps others out; this makes sure). */
	if (kind == AGENT_SOCKET_PAM && uid != 0) {
		refuse(a, fd, kind, uid, AGENT_REFUSED_PAM_NOT_ROOT, refused);
		return;
	}
	if (agent_limits_connect(a->limits, kind, uid, &reason) < 0) {
		refuse(a, fd, kind, uid, reason, refused);
		return;
	}
	if ((job = malloc(sizeof(*job)))) {
		*job = (struct job){ a, fd, kind, uid };
		if (pthread_create(&t, attr, connection_main, job) == 0)
			return;
		free(job);
	}
	agent_limits_disconnect(a->limits, kind, uid);
	refuse(a, fd, kind, uid, AGENT_REFUSED_NO_THREAD, refused);
}

/* Writes the counts of refusal lines held back whose second has passed. Returns when the next
 * such count is due (monotonic ns, 0: none pending). */
static uint64_t
flush_refusal_logs(struct agent *a, uint64_t now)
{
	uint64_t held[AGENT_REFUSAL_COUNT];
	uint64_t next = agent_limits_log_flush(a->limits, now, held);
	for (size_t i = 0; i < AGENT_REFUSAL_COUNT; i++)
		if (held[i])
			agent_log("warn", "%llu more refusals not logged: %s",
			          (unsigned long long)held[i],
			          agent_refusal_limit((enum agent_refusal)i));
	return next;
}

/* The poll timeout (ms, -1: none) until the first of `at` (monotonic ns, 0: unset) */
static int
timeout_until(uint64_t now, uint64_t at, int timeout)
{
	if (!at)
		return timeout;
	uint64_t ms = at > now ? (at - now + 999999) / 1000000 : 0;
	if (ms > 60000)
		ms = 60000;
	return timeout < 0 || (int)ms < timeout ? (int)ms : timeout;
}

static int
run(const char *config_path, const char *pam_path, const char *user_path)
{
	struct agent a = { 0 };
	struct refused refused[REFUSED_MAX];
	struct jit_error error = { 0 };
	int pam_fd = -1, user_fd = -1, sfd = -1, r;
	sigset_t mask;

	for (size_t i = 0; i < REFUSED_MAX; i++)
		refused[i] = (struct refused){ -1, 0 };

	/* Small and steady: one malloc arena for all connection threads (they are few and
	 * short), and the per-connection buffers (over 64 KiB) mapped and unmapped each time
	 * instead of staying in an arena; a fixed threshold also stops glibc from raising it. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sigdelset(&mask, SIGPIPE);
	if (agent_config_load(config_path, &a.config, error.message, sizeof(error.message)) < 0) {
		fprintf(stderr, "jitsudo-agent: %s\n", error.message);
		return 1;
	}
	if ((r = agent_limits_new(a.config, &a.limits)) < 0) {
		fprintf(stderr, "jitsudo-agent: limits: %s\n", jit_strerror(r));
		agent_config_free(a.config);
		return 1;
	}
	if (agent_server_new(a.config, &a.server, &error) < 0 ||
	    agent_state_open(a.config, &a.state, &error) < 0) {
		fprintf(stderr, "jitsudo-agent: %s\n", error.message);
		agent_server_free(a.server);
		agent_limits_free(a.limits);
		agent_config_free(a.config);
		return 1;
	}
	if (a.config->legacy_max_connections)
		agent_log("warn",
		          "limits.max_connections is deprecated: it now sizes "
		          "limits.max_pam_connections (%d) and limits.max_user_connections (%d) "
		          "where the file does not; set those instead (docs/agent.md)",
		          a.config->max_pam_connections, a.config->max_user_connections);
	if (pam_path || user_path) {
		if (!pam_path || !user_path) {
			fprintf(stderr,
			        "jitsudo-agent: --listen-pam and --listen-user go together\n");
			r = -EINVAL;
			goto out;
		}
		if ((pam_fd = listen_at(pam_path, 0600)) < 0 ||
		    (user_fd = listen_at(user_path, 0666)) < 0) {
			r = pam_fd < 0 ? pam_fd : user_fd;
			fprintf(stderr, "jitsudo-agent: cannot listen: %s\n", strerror(-r));
			goto out;
		}
	} else if (activated_sockets(&pam_fd, &user_fd) < 0 || pam_fd < 0 || user_fd < 0) {
		fprintf(stderr, "jitsudo-agent: no sockets: start it from jitsudo-agent.socket "
		                "(names agent and user) or with --listen-pam and --listen-user\n");
		r = -EINVAL;
		goto out;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	agent_log("info", "serving as host %s for %s", a.config->host_name, a.config->server_url);
	for (;;) {
		struct pollfd p[3 + REFUSED_MAX] = { { pam_fd, POLLIN, 0 },
			                             { user_fd, POLLIN, 0 },
			                             { sfd, POLLIN, 0 } };
		uint64_t now = jit_ap_now_ns();
		/* Held-back refusal lines of connection threads are counted at the next wake:
		 * while user connections are open, that is within a second. */
		int timeout = agent_limits_connections(a.limits, AGENT_SOCKET_USER, (uid_t)-1) > 0
		                      ? 1000
		                      : -1;
		timeout = timeout_until(now, flush_refusal_logs(&a, now), timeout);
		for (size_t i = 0; i < REFUSED_MAX; i++) {
			/* No events asked: poll reports the client's hang-up alone. */
			p[3 + i] = (struct pollfd){ refused[i].fd, 0, 0 };
			if (refused[i].fd >= 0)
				timeout = timeout_until(now, refused[i].close_at, timeout);
		}
		if (poll(p, 3 + REFUSED_MAX, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents)
			break;
		now = jit_ap_now_ns();
		for (size_t i = 0; i < REFUSED_MAX; i++)
			if (refused[i].fd >= 0 && (p[3 + i].revents || now >= refused[i].close_at))
				refused_close(&refused[i]);
		if (p[0].revents & POLLIN)
			accept_one(&a, pam_fd, AGENT_SOCKET_PAM, &attr, refused);
		if (p[1].revents & POLLIN)
			accept_one(&a, user_fd, AGENT_SOCKET_USER, &attr, refused);
	}
	pthread_attr_destroy(&attr);
	agent_log("info", "stopping");
	r = 0;
out:
	if (pam_fd >= 0)
		close(pam_fd);
	if (user_fd >= 0)
		close(user_fd);
	if (pam_path && r == 0)
		unlink(pam_path);
	if (user_path && r == 0)
		unlink(user_path);
	if (sfd >= 0)
		close(sfd);
	for (size_t i = 0; i < REFUSED_MAX; i++)
		refused_close(&refused[i]);
	/* Connection threads may still run: the state stays; the process ends. */
	agent_state_close(a.state);
	fflush(stderr);
	_exit(r < 0 ? 1 : 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen-pam", required_argument, NULL, 'p' },
		{ "listen-user", required_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = AGENT_DEFAULT_CONFIG, *pam = NULL, *user = NULL, *out = NULL;
	bool keygen = argc > 1 && strcmp(argv[1], "keygen") == 0;
	int c;

	if (keygen) {
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'p':
			pam = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("jitsudo-agent %s (protocol %d)\n", AGENT_VERSION,
			       JIT_AP_VERSION_MAX);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (keygen) {
		struct jit_error error = { 0 };
		if (!out) {
			fprintf(stderr, "jitsudo-agent keygen: --out FILE is required\n");
			return 2;
		}
		if (agent_helper_init(&error) < 0) {
			fprintf(stderr, "jitsudo-agent keygen: %s\n", error.message);
			return 1;
		}
		/* The helper has OpenSSL; the agent does not. */
		char *const args[] = { (char *)"jitsudo-agent-call", (char *)"keygen",
			               (char *)"--out", (char *)out, NULL };
		execv(agent_helper_path(), args);
		fprintf(stderr, "jitsudo-agent keygen: %s: %s\n", agent_helper_path(),
		        strerror(errno));
		return 1;
	}
	if (out) {
		usage(stderr);
		return 2;
	}
	return run(config, pam, user);
}
