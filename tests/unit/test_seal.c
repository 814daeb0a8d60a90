/* Sealing at rest: round trip, and every kind of tampering refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "lib/crypto/seal.h"

#define UNUSED_STATE void **state __attribute__((unused))

static const char creds[] = "{\"AWS_SECRET_ACCESS_KEY\":\"wJalrXUtnFEMI/K7MDENG\"}";

static void
test_round_trip(UNUSED_STATE)
{
	uint8_t key[JIT_SEAL_KEY_SIZE];
	assert_int_equal(jit_seal_new_key(key), 0);
	uint8_t *sealed;
	size_t len;
	assert_int_equal(
	        jit_seal(key, sizeof(key), creds, strlen(creds), "req_1", 5, &sealed, &len), 0);
	assert_int_equal(len, strlen(creds) + JIT_SEAL_OVERHEAD);
	/* The plaintext does not appear in the sealed bytes. */
	assert_null(memmem(sealed, len, "wJalr", 5));
	struct jit_secret *plain;
	assert_int_equal(jit_unseal(key, sizeof(key), sealed, len, "req_1", 5, &plain), 0);
	assert_int_equal(plain->length, strlen(creds));
	assert_memory_equal(plain->bytes, creds, plain->length);
	jit_secret_free(plain);
	/* Two seals of the same value differ (random nonce). */
	uint8_t *again;
	size_t again_len;
	assert_int_equal(
	        jit_seal(key, sizeof(key), creds, strlen(creds), "req_1", 5, &again, &again_len),
	        0);
	assert_memory_not_equal(sealed, again, len);
	free(sealed);
	free(again);
}

static void
test_tampering_refused(UNUSED_STATE)
{
	uint8_t key[JIT_SEAL_KEY_SIZE], other[JIT_SEAL_KEY_SIZE];
	assert_int_equal(jit_seal_new_key(key), 0);
	assert_int_equal(jit_seal_new_key(other), 0);
	uint8_t *sealed;
	size_t len;
	assert_int_equal(
	        jit_seal(key, sizeof(key), creds, strlen(creds), "req_1", 5, &sealed, &len), 0);
	struct jit_secret *plain = NULL;
	/* Every single flipped bit is detected. */
	for (size_t i = 0; i < len; i++) {
		sealed[i] ^= 0x01;
		assert_int_equal(jit_unseal(key, sizeof(key), sealed, len, "req_1", 5, &plain),
		                 JIT_ERR_DENIED);
		sealed[i] ^= 0x01;
	}
	assert_int_equal(jit_unseal(other, sizeof(other), sealed, len, "req_1", 5, &plain),
	                 JIT_ERR_DENIED);
	assert_int_equal(jit_unseal(key, sizeof(key), sealed, len, "req_2", 5, &plain),
	                 JIT_ERR_DENIED);
	assert_int_equal(jit_unseal(key, sizeof(key), sealed, len - 1, "req_1", 5, &plain),
	                 JIT_ERR_DENIED);
	assert_int_equal(jit_unseal(key, sizeof(key), sealed, 3, "req_1", 5, &plain),
	                 JIT_ERR_DENIED);
	assert_null(plain);
	assert_int_equal(jit_unseal(key, 16, sealed, len, "req_1", 5, &plain), JIT_ERR_INVALID);
	free(sealed);
	assert_int_equal(jit_seal(key, 31, "x", 1, NULL, 0, &sealed, &len), JIT_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tampering_refused),
	};
	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
