/* The bounded buffer (bounds on write and read) and secret buffers (wiped, compared). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/buf.h"
#include "lib/common/errors.h"
#include "lib/common/secret.h"

#define UNUSED_STATE void **state __attribute__((unused))

static void
test_round_trip(UNUSED_STATE)
{
	struct jit_buf b;
	jit_buf_init(&b, 1024);
	_cleanup_(jit_buf_freep) JIT_UNUSED struct jit_buf *pb = &b; /* frees b's data */
	assert_int_equal(jit_buf_put_u8(&b, 7), 0);
	assert_int_equal(jit_buf_put_u16(&b, 0x1234), 0);
	assert_int_equal(jit_buf_put_u32(&b, 0xdeadbeef), 0);
	assert_int_equal(jit_buf_put_string(&b, "hello"), 0);
	assert_int_equal(b.length, 1 + 2 + 4 + 4 + 5);
	/* Big-endian on the wire. */
	assert_int_equal(b.data[1], 0x12);
	assert_int_equal(b.data[3], 0xde);
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	const char *s;
	size_t n;
	assert_int_equal(jit_buf_get_u8(&b, &u8), 0);
	assert_int_equal(jit_buf_get_u16(&b, &u16), 0);
	assert_int_equal(jit_buf_get_u32(&b, &u32), 0);
	assert_int_equal(jit_buf_get_string(&b, 64, &s, &n), 0);
	assert_int_equal(u8, 7);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(n, 5);
	assert_memory_equal(s, "hello", 5);
	assert_int_equal(jit_buf_remaining(&b), 0);
	assert_int_equal(jit_buf_get_u8(&b, &u8), JIT_ERR_INVALID);
}

static void
test_write_bound(UNUSED_STATE)
{
	struct jit_buf b;
	jit_buf_init(&b, 10);
	assert_int_equal(jit_buf_put(&b, "0123456789", 10), 0);
	assert_int_equal(jit_buf_put_u8(&b, 1), JIT_ERR_TOO_LARGE);
	assert_int_equal(b.length, 10); /* nothing written on failure */
	jit_buf_free(&b);
	jit_buf_init(&b, 8);
	assert_int_equal(jit_buf_put_string(&b, "12345"), JIT_ERR_TOO_LARGE);
	assert_int_equal(b.length, 0);
	assert_int_equal(jit_buf_put(&b, "x", SIZE_MAX), JIT_ERR_TOO_LARGE);
	jit_buf_free(&b);
	jit_buf_free(&b); /* twice is fine */
}

static void
test_read_bounds(UNUSED_STATE)
{
	/* A string whose length prefix points past the end, and one over the caller's max. */
	const uint8_t wire[] = { 0, 0, 0, 9, 'a', 'b' };
	struct jit_buf v;
	jit_buf_init_view(&v, wire, sizeof(wire));
	const char *s;
	size_t n;
	assert_int_equal(jit_buf_get_string(&v, 100, &s, &n), JIT_ERR_INVALID);
	assert_int_equal(v.cursor, 0); /* unchanged */
	const uint8_t wire2[] = { 0, 0, 0, 2, 'a', 'b' };
	jit_buf_init_view(&v, wire2, sizeof(wire2));
	assert_int_equal(jit_buf_get_string(&v, 1, &s, &n), JIT_ERR_INVALID);
	assert_int_equal(jit_buf_get_string(&v, 2, &s, &n), 0);
	uint32_t u32;
	const uint8_t short_wire[] = { 1, 2, 3 };
	jit_buf_init_view(&v, short_wire, sizeof(short_wire));
	assert_int_equal(jit_buf_get_u32(&v, &u32), JIT_ERR_INVALID);
	/* A view cannot be appended to. */
	assert_int_equal(jit_buf_put_u8(&v, 1), JIT_ERR_TOO_LARGE);
}

static void
test_secret(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *s = NULL;
	assert_int_equal(jit_secret_new("hunter2", 7, &s), 0);
	assert_int_equal(s->length, 7);
	assert_string_equal((const char *)s->bytes, "hunter2");
	assert_true(jit_secret_equal(s, "hunter2", 7));
	assert_false(jit_secret_equal(s, "hunter3", 7));
	assert_false(jit_secret_equal(s, "hunter", 6));
	assert_false(jit_secret_equal(NULL, "", 0));
	struct jit_secret *big;
	assert_int_equal(jit_secret_new("", JIT_SECRET_MAX + 1, &big), JIT_ERR_TOO_LARGE);
	jit_secret_free(NULL);
}

static void
test_secret_copy(UNUSED_STATE)
{
	_cleanup_secret_ struct jit_secret *s = NULL, *c = NULL, *e = NULL, *e2 = NULL;
	const unsigned char raw[] = { 0x00, 0xff, 0x10, 0x00 }; /* binary, with NUL bytes */
	assert_int_equal(jit_secret_new(raw, sizeof(raw), &s), 0);
	assert_int_equal(jit_secret_copy(s, &c), 0);
	assert_ptr_not_equal(c, s);
	assert_int_equal(c->length, sizeof(raw));
	assert_memory_equal(c->bytes, raw, sizeof(raw));
	assert_int_equal(c->bytes[sizeof(raw)], 0);
	assert_true(jit_secret_equal(c, raw, sizeof(raw)));
	/* The copy is independent of the original. */
	c->bytes[1] = 0;
	assert_true(jit_secret_equal(s, raw, sizeof(raw)));
	/* Empty secrets copy; a NULL one is refused and leaves the output alone. */
	assert_int_equal(jit_secret_new(NULL, 0, &e), 0);
	assert_int_equal(jit_secret_copy(e, &e2), 0);
	assert_int_equal(e2->length, 0);
	assert_true(jit_secret_equal(e2, "", 0));
	struct jit_secret *untouched = (struct jit_secret *)0x1;
	assert_int_equal(jit_secret_copy(NULL, &untouched), JIT_ERR_INVALID);
	assert_ptr_equal(untouched, (struct jit_secret *)0x1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_write_bound),
		cmocka_unit_test(test_read_bounds), cmocka_unit_test(test_secret),
		cmocka_unit_test(test_secret_copy),
	};
	return cmocka_run_group_tests_name("buf_secret", tests, NULL, NULL);
}
