/* Parses pam_jitsudo's module arguments. Runs inside the PAM host (sshd, sudo) as root; the
 * arguments come from the admin's stack file and are checked strictly anyway. No I/O. */
#include "pam_jitsudo/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/duration.h"
#include "lib/common/errors.h"

bool
jit_pam_field_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c <= 0x20 || c >= 0x7f || n >= JIT_PAM_FIELD_MAX)
			return false;
	}
	return true;
}

/* "name=value": returns the value when `arg` starts with `name=`, else NULL. */
static const char *
value_of(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

static int
parse_ms(const char *text, int64_t min_ms, int64_t max_ms, int64_t *ret_ms)
{
	int64_t seconds;

	if (jit_duration_parse(text, &seconds, NULL, 0) < 0)
		return JIT_ERR_INVALID;
	if (seconds > max_ms / 1000 || seconds * 1000 < min_ms)
		return JIT_ERR_INVALID;
	*ret_ms = seconds * 1000;
	return 0;
}

static int
parse_unsigned(const char *text, unsigned min, unsigned max, unsigned *ret)
{
	char *end = NULL;
	unsigned long v;

	if (*text < '0' || *text > '9')
		return JIT_ERR_INVALID;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || !end || *end || v < min || v > max)
		return JIT_ERR_INVALID;
	*ret = (unsigned)v;
	return 0;
}

int
jit_pam_args_parse(int argc, const char **argv, struct jit_pam_args *ret, char *error,
                   size_t error_size)
{
	struct jit_pam_args a = {
		.wait_ms = JIT_PAM_WAIT_DEFAULT_MS,
		.timeout_ms = JIT_PAM_TIMEOUT_DEFAULT_MS,
		.socket_path = JIT_PAM_SOCKET_DEFAULT,
		.gate = JIT_PAM_GATE_HELD,
		.max_env = JIT_PAM_MAX_ENV_DEFAULT,
	};
	const char *what = NULL, *v;

	if (argc < 0 || (argc > 0 && !argv)) {
		what = "argument list";
		goto bad;
	}
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];

		what = arg ? arg : "(null)";
		if (!arg)
			goto bad;
		if ((v = value_of(arg, "provider"))) {
			if (!jit_pam_field_valid(v))
				goto bad;
			a.provider = v;
		} else if ((v = value_of(arg, "role"))) {
			if (!jit_pam_field_valid(v))
				goto bad;
			a.role = v;
		} else if ((v = value_of(arg, "scope"))) {
			if (!jit_pam_field_valid(v))
				goto bad;
			a.scope = v;
		} else if ((v = value_of(arg, "duration"))) {
			if (jit_duration_parse(v, &a.duration_seconds, NULL, 0) < 0)
				goto bad;
		} else if ((v = value_of(arg, "wait"))) {
			if (parse_ms(v, 1000, JIT_PAM_WAIT_MAX_MS, &a.wait_ms) < 0)
				goto bad;
		} else if ((v = value_of(arg, "timeout"))) {
			if (parse_ms(v, 1000, JIT_PAM_TIMEOUT_MAX_MS, &a.timeout_ms) < 0)
				goto bad;
		} else if ((v = value_of(arg, "socket"))) {
			/* An absolute path that fits sockaddr_un (checked again at connect). */
			if (v[0] != '/' || strlen(v) >= 108)
				goto bad;
			a.socket_path = v;
		} else if ((v = value_of(arg, "gate"))) {
			if (strcmp(v, "held") == 0)
				a.gate = JIT_PAM_GATE_HELD;
			else if (strcmp(v, "auto") == 0)
				a.gate = JIT_PAM_GATE_AUTO;
			else
				goto bad;
		} else if ((v = value_of(arg, "max_env"))) {
			if (parse_unsigned(v, 1, JIT_PAM_MAX_ENV_LIMIT, &a.max_env) < 0)
				goto bad;
		} else if (strcmp(arg, "break_glass") == 0) {
			a.break_glass = true;
		} else if (strcmp(arg, "ruser") == 0) {
			a.ruser = true;
		} else if (strcmp(arg, "debug") == 0) {
			a.debug = true;
		} else {
			goto bad;
		}
	}
	*ret = a;
	return 0;
bad:
	if (error && error_size)
		snprintf(error, error_size, "bad or unknown module argument: %.200s", what);
	return JIT_ERR_INVALID;
}
