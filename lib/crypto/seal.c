/* AES-256-GCM sealing with OpenSSL's EVP interface. Layout: version (1), nonce (12),
 * ciphertext, tag (16). Verification failures reveal nothing but "denied". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/common/errors.h"
#include "lib/common/random.h"
#include "lib/crypto/seal.h"

#define SEAL_VERSION 1
#define NONCE_SIZE 12
#define TAG_SIZE 16

int
jit_seal_new_key(uint8_t key[JIT_SEAL_KEY_SIZE])
{
	return jit_random_bytes(key, JIT_SEAL_KEY_SIZE);
}

int
jit_seal(const uint8_t *key, size_t key_len, const void *plain, size_t len, const void *aad,
         size_t aad_len, uint8_t **ret_sealed, size_t *ret_len)
{
	if (key_len != JIT_SEAL_KEY_SIZE)
		return JIT_ERR_INVALID;
	if (len > JIT_SEAL_MAX || aad_len > JIT_SEAL_MAX)
		return JIT_ERR_TOO_LARGE;
	uint8_t *out = malloc(len + JIT_SEAL_OVERHEAD);
	if (!out)
		return -ENOMEM;
	int r = JIT_ERR_INTERNAL, n = 0, fin = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	out[0] = SEAL_VERSION;
	if (jit_random_bytes(out + 1, NONCE_SIZE) < 0 || !ctx ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_SIZE, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, key, out + 1) != 1 ||
	    (aad_len && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    EVP_EncryptUpdate(ctx, out + 1 + NONCE_SIZE, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + 1 + NONCE_SIZE + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, out + 1 + NONCE_SIZE + len) !=
	            1)
		goto out;
	*ret_sealed = out;
	*ret_len = len + JIT_SEAL_OVERHEAD;
	out = NULL;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (out) {
		explicit_bzero(out, len + JIT_SEAL_OVERHEAD);
		free(out);
	}
	return r;
}

int
jit_unseal(const uint8_t *key, size_t key_len, const uint8_t *sealed, size_t len, const void *aad,
           size_t aad_len, struct jit_secret **ret_plain)
{
	if (key_len != JIT_SEAL_KEY_SIZE)
		return JIT_ERR_INVALID;
	if (len < JIT_SEAL_OVERHEAD || sealed[0] != SEAL_VERSION)
		return JIT_ERR_DENIED;
	if (len - JIT_SEAL_OVERHEAD > JIT_SEAL_MAX || aad_len > JIT_SEAL_MAX)
		return JIT_ERR_TOO_LARGE;
	size_t plain_len = len - JIT_SEAL_OVERHEAD;
	uint8_t *plain = malloc(plain_len + 1);
	if (!plain)
		return -ENOMEM;
	uint8_t tag[TAG_SIZE];
	memcpy(tag, sealed + 1 + NONCE_SIZE + plain_len, TAG_SIZE);
	int r = JIT_ERR_DENIED, n = 0, fin = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_SIZE, NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, key, sealed + 1) != 1 ||
	    (aad_len && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
	    EVP_DecryptUpdate(ctx, plain, &n, sealed + 1 + NONCE_SIZE, (int)plain_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, plain + n, &fin) != 1)
		goto out;
	r = jit_secret_new(plain, plain_len, ret_plain);
out:
	EVP_CIPHER_CTX_free(ctx);
	explicit_bzero(plain, plain_len + 1);
	free(plain);
	return r;
}
