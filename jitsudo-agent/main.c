/* jitsudo-agent: the host agent. Listens on the PAM socket (root only) and the user socket,
 * from systemd socket activation (FileDescriptorName= agent / user) or --listen-pam and
 * --listen-user; serves each connection on a thread of its own, at most
 * limits.max_connections at once; stops cleanly on SIGTERM. Runs as root. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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

void
agent_log(const char *level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	fprintf(stderr, "jitsudo-agent: %s: %s\n", level, line);
}

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
};

static void *
connection_main(void *arg)
{
	struct job *job = arg;
	struct agent *a = job->agent;
	agent_serve_connection(a, job->fd, job->kind);
	free(job);
	pthread_mutex_lock(&a->lock);
	a->connections--;
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static void
accept_one(struct agent *a, int lfd, enum agent_socket_kind kind, pthread_attr_t *attr)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&a->lock);
	bool room = a->connections < a->config->max_connections;
	if (room)
		a->connections++;
	pthread_mutex_unlock(&a->lock);
	struct job *job = room ? malloc(sizeof(*job)) : NULL;
	pthread_t t;
	if (job) {
		*job = (struct job){ a, fd, kind };
		if (pthread_create(&t, attr, connection_main, job) == 0)
			return;
		free(job);
	}
	if (room) {
		pthread_mutex_lock(&a->lock);
		a->connections--;
		pthread_mutex_unlock(&a->lock);
	}
	/* Over the limit: the client sees the connection closed at once and may retry. */
	agent_log("warn", "connection refused: %d connections already served",
	          a->config->max_connections);
	close(fd);
}

static int
run(const char *config_path, const char *pam_path, const char *user_path)
{
	struct agent a = { 0 };
	char error[512] = "";
	int pam_fd = -1, user_fd = -1, sfd = -1, r;
	sigset_t mask;

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
	if ((r = agent_config_load(config_path, &a.config, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudo-agent: %s\n", error);
		return 1;
	}
	if ((r = agent_server_new(a.config, &a.server, error, sizeof(error))) < 0 ||
	    (r = agent_state_open(a.config, &a.state, error, sizeof(error))) < 0) {
		fprintf(stderr, "jitsudo-agent: %s\n", error);
		agent_server_free(a.server);
		agent_config_free(a.config);
		return 1;
	}
	pthread_mutex_init(&a.lock, NULL);
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
	} else if ((r = activated_sockets(&pam_fd, &user_fd)) < 0 || pam_fd < 0 || user_fd < 0) {
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
		struct pollfd p[3] = { { pam_fd, POLLIN, 0 },
			               { user_fd, POLLIN, 0 },
			               { sfd, POLLIN, 0 } };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents)
			break;
		if (p[0].revents & POLLIN)
			accept_one(&a, pam_fd, AGENT_SOCKET_PAM, &attr);
		if (p[1].revents & POLLIN)
			accept_one(&a, user_fd, AGENT_SOCKET_USER, &attr);
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
		char error[512] = "";
		if (!out) {
			fprintf(stderr, "jitsudo-agent keygen: --out FILE is required\n");
			return 2;
		}
		if (agent_helper_init(error, sizeof(error)) < 0) {
			fprintf(stderr, "jitsudo-agent keygen: %s\n", error);
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
