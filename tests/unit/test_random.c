/* jit_random_bytes: every byte written however the kernel splits the reads, signals during a
 * read retried, and failures returned (with what was written wiped), never papered over. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/common/random.h"

#define UNUSED_STATE void **state __attribute__((unused))

/* True when no run of `block` bytes in buf is all zero (for random bytes and blocks of 256
 * bytes or more, a false alarm has odds below 2^-2048). */
static bool
no_zero_block(const unsigned char *buf, size_t len, size_t block)
{
	for (size_t off = 0; off + block <= len; off += block) {
		bool zero = true;
		for (size_t i = 0; i < block && zero; i++)
			zero = buf[off + i] == 0;
		if (zero)
			return false;
	}
	return true;
}

static void
test_fills_and_differs(UNUSED_STATE)
{
	unsigned char a[256] = { 0 }, b[256] = { 0 };
	assert_int_equal(jit_random_bytes(a, sizeof(a)), 0);
	assert_int_equal(jit_random_bytes(b, sizeof(b)), 0);
	assert_true(no_zero_block(a, sizeof(a), sizeof(a)));
	assert_memory_not_equal(a, b, sizeof(a));
	/* Nothing asked, nothing written. */
	assert_int_equal(jit_random_bytes(NULL, 0), 0);
	unsigned char one = 0;
	for (int i = 0; i < 64 && one == 0; i++)
		assert_int_equal(jit_random_bytes(&one, 1), 0);
	assert_int_not_equal(one, 0);
}

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	alarms++;
}

/* 40 MiB: larger than one getrandom() call returns on older kernels (32 MiB - 1), and read
 * while a timer interrupts every 200 us, so calls come back short or with EINTR. Every
 * 4 KiB block of the buffer must still be filled. */
static void
test_short_reads_and_signals(UNUSED_STATE)
{
	const size_t len = 40u << 20;
	unsigned char *buf = calloc(1, len);
	assert_non_null(buf);

	struct sigaction sa = { .sa_handler = on_alarm }, old;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: an interrupted getrandom() fails with EINTR or returns short. */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	struct itimerval tick = { .it_interval = { 0, 200 }, .it_value = { 0, 200 } }, off = { 0 };
	assert_int_equal(setitimer(ITIMER_REAL, &tick, NULL), 0);
	int r = 0;
	for (int i = 0; i < 3 && r == 0; i++)
		r = jit_random_bytes(buf, len);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);

	assert_int_equal(r, 0);
	assert_true(alarms > 0);
	assert_true(no_zero_block(buf, len, 4096));
	free(buf);
}

/* A buffer the kernel cannot write: the error comes back, and bytes written before the bad
 * page are wiped. */
static void
test_failure_returned_and_wiped(UNUSED_STATE)
{
	long page = sysconf(_SC_PAGESIZE);
	assert_true(page > 0);
	unsigned char *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
	                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);

	unsigned char *start = map + page - 512;
	assert_int_equal(jit_random_bytes(start, 1024), -EFAULT);
	for (size_t i = 0; i < 512; i++)
		assert_int_equal(start[i], 0);
	assert_int_equal(jit_random_bytes(map + page, 16), -EFAULT);
	/* The writable part is still usable. */
	assert_int_equal(jit_random_bytes(start, 512), 0);
	assert_true(no_zero_block(start, 512, 512));
	munmap(map, 2 * (size_t)page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fills_and_differs),
		cmocka_unit_test(test_short_reads_and_signals),
		cmocka_unit_test(test_failure_returned_and_wiped),
	};
	return cmocka_run_group_tests_name("random", tests, NULL, NULL);
}
