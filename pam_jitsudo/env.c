/* The allowlist of session variables (env.h). Pure; the entries come from the agent and are
 * checked byte by byte before anything reaches pam_putenv. */
#include "pam_jitsudo/env.h"

#include <string.h>

static const char *const allowed_prefixes[] = {
	"AWS_", "KUBECONFIG", "KUBE_", "CLOUDSDK_", "GOOGLE_", "AZURE_", "JITSUDO_",
};

size_t
jit_pam_env_name_len(const char *entry, size_t len)
{
	const char *eq = memchr(entry, '=', len);

	return eq ? (size_t)(eq - entry) : 0;
}

static bool
name_valid(const char *name, size_t n)
{
	if (n == 0 || n > JIT_PAM_ENV_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	for (size_t i = 0; i < sizeof(allowed_prefixes) / sizeof(allowed_prefixes[0]); i++) {
		size_t p = strlen(allowed_prefixes[i]);
		if (n >= p && memcmp(name, allowed_prefixes[i], p) == 0)
			return true;
	}
	return false;
}

bool
jit_pam_env_allowed(const char *entry, size_t len)
{
	size_t n;

	if (!entry || (n = jit_pam_env_name_len(entry, len)) == 0)
		return false;
	if (!name_valid(entry, n))
		return false;
	if (len - n - 1 > JIT_PAM_ENV_VALUE_MAX)
		return false;
	for (size_t i = n + 1; i < len; i++) {
		unsigned char c = (unsigned char)entry[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}
