/* Frame I/O of the agent protocol over a Unix stream socket: send and receive one frame before an
 * absolute monotonic deadline, connect with an owner check, the HELLO handshake and one
 * request/reply call. Trusts neither the peer's timing nor its bytes; never raises SIGPIPE. */
#include "lib/agentproto/agentproto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/common/errors.h"

uint64_t
jit_ap_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
jit_ap_deadline_ms(uint32_t ms)
{
	return jit_ap_now_ns() + (uint64_t)ms * 1000000ull;
}

/* Waits until fd is ready for `events` or the deadline passes. Returns 0, JIT_ERR_TIMEOUT or
 * -errno. EINTR is retried against the same deadline. */
static int
wait_fd(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = jit_ap_now_ns();
		if (now >= deadline_ns)
			return JIT_ERR_TIMEOUT;
		uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
		struct pollfd pfd = { .fd = fd, .events = events };
		int n = poll(&pfd, 1, left_ms > 60000 ? 60000 : (int)left_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			continue; /* the loop re-checks the deadline */
		if (pfd.revents & POLLNVAL)
			return -EBADF;
		return 0; /* readable, writable, or an error/hang-up the next call reports */
	}
}

int
jit_ap_send(int fd, const uint8_t *frame, size_t len, uint64_t deadline_ns)
{
	size_t off = 0;
	int r;

	while (off < len) {
		if ((r = wait_fd(fd, POLLOUT, deadline_ns)) < 0)
			return r;
		ssize_t n = send(fd, frame + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Reads exactly n bytes. *got counts bytes read so far (to tell a clean close from a cut). */
static int
read_exact(int fd, uint8_t *p, size_t n, size_t *got, uint64_t deadline_ns)
{
	size_t off = 0;
	int r;

	while (off < n) {
		if ((r = wait_fd(fd, POLLIN, deadline_ns)) < 0)
			return r;
		ssize_t k = recv(fd, p + off, n - off, MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		if (k == 0)
			return *got == 0 ? -ENODATA : JIT_ERR_PROTOCOL;
		off += (size_t)k;
		*got += (size_t)k;
	}
	return 0;
}

int
jit_ap_recv(int fd, uint8_t *buf, size_t cap, size_t *ret_len, uint64_t deadline_ns)
{
	uint8_t prefix[JIT_AP_FRAME_PREFIX];
	size_t got = 0;
	uint32_t len;
	int r;

	if ((r = read_exact(fd, prefix, sizeof(prefix), &got, deadline_ns)) < 0)
		return r;
	len = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 | (uint32_t)prefix[2] << 8 |
	      prefix[3];
	if (len == 0 || len > JIT_AP_MAX_FRAME || len > cap)
		return JIT_ERR_TOO_LARGE;
	if ((r = read_exact(fd, buf, len, &got, deadline_ns)) < 0)
		return r;
	*ret_len = len;
	return 0;
}

int
jit_ap_peer_cred(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred))
		return -EINVAL;
	if (ret_pid)
		*ret_pid = cred.pid;
	if (ret_uid)
		*ret_uid = cred.uid;
	if (ret_gid)
		*ret_gid = cred.gid;
	return 0;
}

int
jit_ap_connect(const char *path, uid_t expect_uid, uint64_t deadline_ns, int *ret_fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t n = path ? strlen(path) : 0;
	int fd = -1, r, flags;

	if (n == 0 || n >= sizeof(addr.sun_path))
		return -EINVAL;
	memcpy(addr.sun_path, path, n + 1);
	if (expect_uid != (uid_t)-1) {
		struct stat st;
		if (lstat(path, &st) < 0)
			return -errno;
		if (!S_ISSOCK(st.st_mode) || st.st_uid != expect_uid)
			return -EPERM;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* The listen backlog is full: retry shortly, within the deadline. */
			if (jit_ap_now_ns() + 10000000ull >= deadline_ns) {
				r = JIT_ERR_TIMEOUT;
				goto out;
			}
			(void)poll(NULL, 0, 10);
			continue;
		}
		if (errno == EINPROGRESS) {
			int err = 0;
			socklen_t len = sizeof(err);
			if ((r = wait_fd(fd, POLLOUT, deadline_ns)) < 0)
				goto out;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
				r = -errno;
				goto out;
			}
			if (err) {
				r = -err;
				goto out;
			}
			break;
		}
		r = -errno;
		goto out;
	}
	if (expect_uid != (uid_t)-1) {
		uid_t uid = (uid_t)-1; /* never expect_uid: an unset value fails the check */
		if ((r = jit_ap_peer_cred(fd, NULL, &uid, NULL)) < 0)
			goto out;
		if (uid != expect_uid) {
			r = -EPERM;
			goto out;
		}
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		r = -errno;
		goto out;
	}
	*ret_fd = fd;
	return 0;
out:
	close(fd);
	return r;
}

int
jit_ap_call(int fd, const uint8_t *frame, size_t frame_len, uint32_t id, uint8_t *buf, size_t cap,
            uint64_t deadline_ns, struct jit_ap_msg *ret_msg)
{
	size_t len;
	int r;

	if ((r = jit_ap_send(fd, frame, frame_len, deadline_ns)) < 0)
		return r;
	if ((r = jit_ap_recv(fd, buf, cap, &len, deadline_ns)) < 0)
		return r;
	if (jit_ap_decode(buf, len, ret_msg) < 0 || ret_msg->id != id)
		return JIT_ERR_PROTOCOL;
	return 0;
}

int
jit_ap_client_hello(int fd, uint64_t deadline_ns, uint16_t *ret_version)
{
	/* A HELLO answer is a few bytes (a larger frame is refused as too large): small enough
	 * for the stack of any thread a PAM application calls a module on. */
	uint8_t frame[64], reply[256];
	struct jit_ap_msg msg;
	struct jit_ap_writer w;
	uint16_t version;
	size_t len;
	int r;

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, 0);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MIN, JIT_AP_VERSION_MIN);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MAX, JIT_AP_VERSION_MAX);
	if ((r = jit_ap_writer_finish(&w, &len)) < 0)
		return r;
	if ((r = jit_ap_call(fd, frame, len, 0, reply, sizeof(reply), deadline_ns, &msg)) < 0)
		return r;
	if (msg.type == JIT_AP_ERROR)
		return JIT_ERR_DENIED;
	if (msg.type != JIT_AP_HELLO || jit_ap_msg_u16(&msg, JIT_AP_TAG_VERSION, &version) < 0 ||
	    version < JIT_AP_VERSION_MIN || version > JIT_AP_VERSION_MAX)
		return JIT_ERR_PROTOCOL;
	*ret_version = version;
	return 0;
}

int
jit_ap_server_hello(const struct jit_ap_msg *msg, uint16_t *ret_version)
{
	uint16_t lo, hi;

	if (msg->type != JIT_AP_HELLO || jit_ap_msg_u16(msg, JIT_AP_TAG_VERSION_MIN, &lo) < 0 ||
	    jit_ap_msg_u16(msg, JIT_AP_TAG_VERSION_MAX, &hi) < 0)
		return JIT_ERR_PROTOCOL;
	if (hi < JIT_AP_VERSION_MIN || lo > JIT_AP_VERSION_MAX)
		return JIT_ERR_DENIED;
	*ret_version = hi < JIT_AP_VERSION_MAX ? hi : JIT_AP_VERSION_MAX;
	return 0;
}
