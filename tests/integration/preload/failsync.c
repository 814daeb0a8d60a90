/* Test-only LD_PRELOAD shim: while the file named by JITSUDO_TEST_FAIL_SYNC exists, fsync and
 * fdatasync fail with EIO, as a dying disk would make them. Lets the integration tests check
 * that jitsudod never acknowledges a change that did not reach the disk. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

static int
failing(void)
{
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
