/* Which variables pam_jitsudo may put into a session, checked before pam_putenv. The agent is
 * trusted (root, verified by SO_PEERCRED) but a variable that steers the loader or the shell
 * never enters a root-spawned session whatever it says. Pure functions, no I/O. */
#ifndef JIT_PAM_ENV_H
#define JIT_PAM_ENV_H

#include <stdbool.h>
#include <stddef.h>

#define JIT_PAM_ENV_NAME_MAX 128
#define JIT_PAM_ENV_VALUE_MAX 8192

/* Whether `entry` ("NAME=VALUE", `len` bytes, not necessarily NUL-terminated) may be put into
 * the session: NAME is [A-Za-z_][A-Za-z0-9_]* of at most JIT_PAM_ENV_NAME_MAX bytes and starts
 * with one of the allowed prefixes (AWS_, KUBECONFIG, KUBE_, CLOUDSDK_, GOOGLE_, AZURE_,
 * JITSUDO_); VALUE has no control character and at most JIT_PAM_ENV_VALUE_MAX bytes. */
bool jit_pam_env_allowed(const char *entry, size_t len);

/* Length of the NAME part of a NAME=VALUE entry (the offset of '='), or 0 if there is none. */
size_t jit_pam_env_name_len(const char *entry, size_t len);

#endif
