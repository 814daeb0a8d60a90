/* Sealing secrets at rest: AES-256-GCM with a random 96-bit nonce, authenticated additional
 * data binding a sealed value to its context (e.g. a request id). Used for credentials in the
 * server's store. */
#ifndef JIT_SEAL_H
#define JIT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/common/secret.h"

#define JIT_SEAL_KEY_SIZE 32
#define JIT_SEAL_OVERHEAD (1 + 12 + 16) /* version byte, nonce, tag */
#define JIT_SEAL_MAX (1024 * 1024)      /* largest plaintext */

/* Encrypts `len` bytes of `plain` under `key` (JIT_SEAL_KEY_SIZE bytes), bound to `aad`
 * (may be empty). On success *ret_sealed is malloc'd (len + JIT_SEAL_OVERHEAD bytes, to be
 * freed with free()) and *ret_len set. Returns 0, JIT_ERR_TOO_LARGE, JIT_ERR_INVALID (bad key
 * size) or JIT_ERR_INTERNAL (the cipher failed). */
int jit_seal(const uint8_t *key, size_t key_len, const void *plain, size_t len, const void *aad,
             size_t aad_len, uint8_t **ret_sealed, size_t *ret_len);

/* Decrypts what jit_seal produced. Any change to the sealed bytes, the key or `aad` gives
 * JIT_ERR_DENIED and no output. On success *ret_plain is a secret (wiped on free). */
int jit_unseal(const uint8_t *key, size_t key_len, const uint8_t *sealed, size_t len,
               const void *aad, size_t aad_len, struct jit_secret **ret_plain);

/* Fills `key` with JIT_SEAL_KEY_SIZE random bytes. Returns 0 or a negative errno. */
int jit_seal_new_key(uint8_t key[JIT_SEAL_KEY_SIZE]);

#endif
