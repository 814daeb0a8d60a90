/* Runs the agent's helper jitsudo-agent-call (found next to the agent's executable) for one
 * exchange: its input on a pipe, its output read back under the caller's monotonic deadline
 * and size bound; a helper that overruns the deadline is killed and reaped. The helper gets a
 * clean signal state and only the two pipe ends (every other descriptor of the agent is
 * close-on-exec). Trusts the helper binary as much as the agent's own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jitsudo-agent/agent.h"
#include "jitsudo-agent/call/call.h"
#include "lib/common/errors.h"

extern char **environ;

static char helper_path[PATH_MAX];

int
agent_helper_init(struct jit_error *error)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		int r = -errno;
		return jit_error_set(error, r, "cannot find the agent's executable: %s",
		                     strerror(-r));
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return JIT_ERR_INTERNAL;
	*slash = '\0';
	if (snprintf(helper_path, sizeof(helper_path), "%s/%s", self, AGENT_CALL_HELPER) >=
	    (int)sizeof(helper_path))
		return -ENAMETOOLONG;
	if (access(helper_path, X_OK) < 0) {
		int r = -errno;
		return jit_error_set(error, r, "helper %s: %s", helper_path, strerror(-r));
	}
	return 0;
}

const char *
agent_helper_path(void)
{
	return helper_path;
}

static int
remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = jit_ap_now_ns();
	if (now >= deadline_ns)
		return 0;
	uint64_t ms = (deadline_ns - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Writes all of input, then reads until EOF; both bounded by the deadline. */
static int
exchange(int *in_fd, int out_fd, const char *input, size_t input_len, uint64_t deadline_ns,
         char **ret_out, size_t *ret_len)
{
	size_t off = 0, len = 0, cap = 0;
	char *out = NULL;
	int r;

	while (off < input_len) {
		struct pollfd p = { *in_fd, POLLOUT, 0 };
		int ms = remaining_ms(deadline_ns);
		if (ms == 0)
			return JIT_ERR_TIMEOUT;
		if ((r = poll(&p, 1, ms)) < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		ssize_t n = write(*in_fd, input + off, input_len - off);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0)
			off += (size_t)n;
	}
	close(*in_fd);
	*in_fd = -1;
	for (;;) {
		struct pollfd p = { out_fd, POLLIN, 0 };
		int ms = remaining_ms(deadline_ns);
		if (ms == 0) {
			r = JIT_ERR_TIMEOUT;
			goto fail;
		}
		if ((r = poll(&p, 1, ms)) < 0 && errno != EINTR) {
			r = -errno;
			goto fail;
		}
		if (r <= 0)
			continue;
		if (len == cap) {
			if (cap >= AGENT_CALL_MAX_OUTPUT) {
				r = JIT_ERR_TOO_LARGE;
				goto fail;
			}
			size_t grown_cap = cap ? cap * 2 : 4096;
			char *grown = malloc(grown_cap + 1);
			if (!grown) {
				r = -ENOMEM;
				goto fail;
			}
			if (out) {
				memcpy(grown, out, len);
				explicit_bzero(out, len);
				free(out);
			}
			out = grown;
			cap = grown_cap;
		}
		ssize_t n = read(out_fd, out + len, cap - len);
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	if (!out && !(out = malloc(1)))
		return -ENOMEM;
	out[len] = '\0';
	*ret_out = out;
	*ret_len = len;
	return 0;
fail:
	if (out) {
		explicit_bzero(out, len);
		free(out);
	}
	return r;
}

int
agent_helper_run(const char *const argv[], const char *input, size_t input_len,
                 uint64_t deadline_ns, char **ret_out, size_t *ret_len, int *ret_exit)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, r;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid = -1;

	if (!helper_path[0])
		return JIT_ERR_INTERNAL;
	if (pipe2(in, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		close(in[0]);
		close(in[1]);
		return r;
	}
	/* The helper's ends are blocking; the agent's stay non-blocking. */
	fcntl(in[0], F_SETFL, 0);
	fcntl(out[1], F_SETFL, 0);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&pid, helper_path, &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(in[0]);
	close(out[1]);
	if (r != 0) {
		close(in[1]);
		close(out[0]);
		return -r;
	}
	char *data = NULL;
	size_t len = 0;
	r = exchange(&in[1], out[0], input, input_len, deadline_ns, &data, &len);
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	/* Reaped in any case; a helper still running at the deadline is killed first. */
	int status = 0;
	for (;;) {
		pid_t w = r < 0 ? 0 : waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (w == 0 && (r < 0 || remaining_ms(deadline_ns) == 0)) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			if (r == 0)
				r = JIT_ERR_TIMEOUT;
			break;
		}
		if (w == 0) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	if (r < 0) {
		if (data) {
			explicit_bzero(data, len);
			free(data);
		}
		return r;
	}
	*ret_out = data;
	*ret_len = len;
	if (ret_exit)
		*ret_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	return 0;
}
