/* Role and resource scope checks of seed 001's table, shared by the mock and the real
 * providers: an AWS account id, a GCP project id, an Azure subscription id, a Kubernetes
 * namespace or "*". Pure functions over caller text; messages quote nothing of it. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/text.h"
#include "server/providers/provider.h"

JIT_PRINTF(3, 4)
static int
invalid(char *error, size_t error_size, const char *format, ...)
{
	if (error && error_size) {
		va_list ap;
		va_start(ap, format);
		vsnprintf(error, error_size, format, ap);
		va_end(ap);
	}
	return JIT_ERR_INVALID;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

int
jit_scope_check_aws(const char *scope, char *error, size_t error_size)
{
	size_t n = scope ? strnlen(scope, 13) : 0;
	bool ok = n == 12;
	for (size_t i = 0; ok && i < n; i++)
		ok = is_digit(scope[i]);
	return ok ? 0
	          : invalid(error, error_size,
	                    "resource_scope must be a 12-digit AWS account id (e.g. 123456789012)");
}

int
jit_scope_check_gcp(const char *scope, char *error, size_t error_size)
{
	size_t n = scope ? strnlen(scope, 31) : 0;
	bool ok = n >= 6 && n <= 30 && is_lower(scope[0]) && scope[n - 1] != '-';
	for (size_t i = 0; ok && i < n; i++)
		ok = is_lower(scope[i]) || is_digit(scope[i]) || scope[i] == '-';
	return ok ? 0
	          : invalid(error, error_size,
	                    "resource_scope must be a GCP project id: 6 to 30 lowercase letters, "
	                    "digits and hyphens, starting with a letter and not ending with a "
	                    "hyphen");
}

int
jit_scope_check_azure(const char *scope, char *error, size_t error_size)
{
	/* 8-4-4-4-12 hexadecimal digits, either case. */
	size_t n = scope ? strnlen(scope, 37) : 0;
	bool ok = n == 36;
	for (size_t i = 0; ok && i < n; i++)
		ok = (i == 8 || i == 13 || i == 18 || i == 23) ? scope[i] == '-'
		                                               : jit_hex_digit(scope[i]) >= 0;
	return ok ? 0
	          : invalid(error, error_size,
	                    "resource_scope must be an Azure subscription id, a UUID "
	                    "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
}

int
jit_scope_check_kubernetes(const char *scope, char *error, size_t error_size)
{
	if (scope && strcmp(scope, "*") == 0)
		return 0;
	/* A DNS-1123 label, as Kubernetes requires of namespace names. */
	size_t n = scope ? strnlen(scope, 64) : 0;
	bool ok = n >= 1 && n <= 63 && scope[0] != '-' && scope[n - 1] != '-';
	for (size_t i = 0; ok && i < n; i++)
		ok = is_lower(scope[i]) || is_digit(scope[i]) || scope[i] == '-';
	return ok ? 0
	          : invalid(error, error_size,
	                    "resource_scope must be a Kubernetes namespace (at most 63 lowercase "
	                    "letters, digits and '-', starting and ending with a letter or digit) "
	                    "or \"*\" for cluster-wide");
}

int
jit_role_check(const char *role, char *error, size_t error_size)
{
	size_t n = role ? strnlen(role, JIT_MAX_ROLE + 1) : 0;
	bool ok = n >= 1 && n <= JIT_MAX_ROLE;
	for (size_t i = 0; ok && i < n; i++)
		ok = role[i] > 0x20 && role[i] < 0x7f;
	return ok ? 0
	          : invalid(error, error_size,
	                    "role must be 1 to %d printable ASCII characters without spaces",
	                    JIT_MAX_ROLE);
}
