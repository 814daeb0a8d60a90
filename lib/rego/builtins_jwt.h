/* The io.jwt.* built-ins (defined in builtins_jwt.c, listed in rego_builtins_crypto). Each has
 * the rego_builtin_fn contract of builtins.h. */
#ifndef JIT_REGO_BUILTINS_JWT_H
#define JIT_REGO_BUILTINS_JWT_H

#include "lib/rego/builtins.h"

#define REGO_JWT_BUILTIN(name)                                            \
	int rego_builtin_jwt_##name(struct rego_builtin_ctx *ctx,         \
	                            const struct rego_value *const *args, \
	                            const struct rego_value **ret)

REGO_JWT_BUILTIN(decode);
REGO_JWT_BUILTIN(decode_verify);
REGO_JWT_BUILTIN(verify_rs256);
REGO_JWT_BUILTIN(verify_rs384);
REGO_JWT_BUILTIN(verify_rs512);
REGO_JWT_BUILTIN(verify_ps256);
REGO_JWT_BUILTIN(verify_ps384);
REGO_JWT_BUILTIN(verify_ps512);
REGO_JWT_BUILTIN(verify_es256);
REGO_JWT_BUILTIN(verify_es384);
REGO_JWT_BUILTIN(verify_es512);
REGO_JWT_BUILTIN(verify_eddsa);
REGO_JWT_BUILTIN(verify_hs256);
REGO_JWT_BUILTIN(verify_hs384);
REGO_JWT_BUILTIN(verify_hs512);
REGO_JWT_BUILTIN(encode_sign);
REGO_JWT_BUILTIN(encode_sign_raw);

#endif
