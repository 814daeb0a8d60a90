/* Test-only LD_PRELOAD shim: while the file named by JITSUDO_TEST_FAIL_SYNC exists, fsync and
 * fdatasync fail with EIO, as a dying disk would make them; with JITSUDO_TEST_SYNC_DELAY_MS
 * each takes that long first, as a slow disk would. Lets the integration tests check that
 * jitsudod never acknowledges a change that did not reach the disk, and that no event loop
 * waits for one. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

static void
slow_disk(void)
{
	const char *ms = getenv("JITSUDO_TEST_SYNC_DELAY_MS");
	long n = ms ? strtol(ms, NULL, 10) : 0;
	if (n > 0 && n <= 10000) {
		struct timespec t = { .tv_sec = n / 1000, .tv_nsec = n % 1000 * 1000000L };
		while (nanosleep(&t, &t) < 0 && errno == EINTR) {
		}
	}
}

static int
failing(void)
{
	slow_disk();
	const char *flag = getenv("JITSUDO_TEST_FAIL_SYNC");
	struct stat st;
	return flag && stat(flag, &st) == 0;
}

int
fsync(int fd)
{
	if (failing()) {
		errno = EIO;
		return -1;
	}
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real ? real(fd) : (errno = ENOSYS, -1);
}

int
fdatasync(int fd)
{
	if (failing()) {
		errno = EIO;
		return -1;
	}
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real ? real(fd) : (errno = ENOSYS, -1);
}
