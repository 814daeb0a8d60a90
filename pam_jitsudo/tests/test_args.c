/* Unit tests of pam_jitsudo's argument parser and session variable allowlist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lib/common/errors.h"
#include "pam_jitsudo/args.h"
#include "pam_jitsudo/env.h"

static void
test_defaults(void **state)
{
	struct jit_pam_args a;
	assert_int_equal(jit_pam_args_parse(0, NULL, &a, NULL, 0), 0);
	assert_null(a.provider);
	assert_null(a.role);
	assert_int_equal(a.wait_ms, 90000);
	assert_int_equal(a.timeout_ms, 5000);
	assert_string_equal(a.socket_path, "/run/jitsudo/agent.sock");
	assert_int_equal(a.gate, JIT_PAM_GATE_HELD);
	assert_int_equal(a.max_env, 64);
	assert_false(a.break_glass);
	assert_false(a.debug);
	assert_false(a.ruser);
}

static void
test_all_arguments(void **state)
{
	const char *argv[] = { "provider=aws",
		               "role=prod-infra-admin",
		               "scope=123456789012",
		               "duration=1h30m",
		               "wait=2m",
		               "timeout=3s",
		               "socket=/tmp/a.sock",
		               "break_glass",
		               "gate=auto",
		               "max_env=12",
		               "debug" };
	struct jit_pam_args a;
	assert_int_equal(jit_pam_args_parse(11, argv, &a, NULL, 0), 0);
	assert_string_equal(a.provider, "aws");
	assert_string_equal(a.role, "prod-infra-admin");
	assert_string_equal(a.scope, "123456789012");
	assert_int_equal(a.duration_seconds, 5400);
	assert_int_equal(a.wait_ms, 120000);
	assert_int_equal(a.timeout_ms, 3000);
	assert_string_equal(a.socket_path, "/tmp/a.sock");
	assert_true(a.break_glass);
	assert_int_equal(a.gate, JIT_PAM_GATE_AUTO);
	assert_int_equal(a.max_env, 12);
	assert_true(a.debug);
}

static void
test_bad_arguments(void **state)
{
	static const char *bad[] = {
		"unknown",         "provider=",       "role=has space", "scope=tab\there",
		"duration=5",      "duration=-1h",    "wait=0s",        "wait=2h",
		"timeout=2m",      "socket=relative", "gate=maybe",     "max_env=0",
		"max_env=65",      "max_env=1x",      "max_env=-1",     "debug=1",
		"break_glass=yes", "providerx=aws",   "ruser=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jit_pam_args a;
		char error[128] = "";
		const char *argv[] = { "provider=aws", bad[i] };
		assert_int_equal(jit_pam_args_parse(2, argv, &a, error, sizeof(error)),
		                 JIT_ERR_INVALID);
		assert_non_null(strstr(error, bad[i]));
	}
}

static void
test_long_field(void **state)
{
	char role[JIT_PAM_FIELD_MAX + 8] = "role=";
	memset(role + 5, 'r', JIT_PAM_FIELD_MAX);
	role[5 + JIT_PAM_FIELD_MAX] = '\0';
	const char *argv[] = { role };
	struct jit_pam_args a;
	assert_int_equal(jit_pam_args_parse(1, argv, &a, NULL, 0), 0);
	role[4 + JIT_PAM_FIELD_MAX] = '\0';
	assert_int_equal(jit_pam_args_parse(1, argv, &a, NULL, 0), 0);
	memset(role + 5, 'r', JIT_PAM_FIELD_MAX + 1);
	role[6 + JIT_PAM_FIELD_MAX] = '\0';
	assert_int_equal(jit_pam_args_parse(1, argv, &a, NULL, 0), JIT_ERR_INVALID);
}

static bool
allowed(const char *entry)
{
	return jit_pam_env_allowed(entry, strlen(entry));
}

static void
test_env_allowlist(void **state)
{
	assert_true(allowed("AWS_ACCESS_KEY_ID=ASIAEXAMPLE"));
	assert_true(allowed("AWS_SESSION_TOKEN="));
	assert_true(allowed("KUBECONFIG=/run/jitsudo/1000/abc/kubeconfig"));
	assert_true(allowed("CLOUDSDK_CORE_PROJECT=p"));
	assert_true(allowed("AZURE_SUBSCRIPTION_ID=s"));
	assert_true(allowed("JITSUDO_REQUEST_ID=r1"));
	assert_false(allowed("LD_PRELOAD=/tmp/x.so"));
	assert_false(allowed("PATH=/tmp"));
	assert_false(allowed("BASH_ENV=/tmp/x"));
	assert_false(allowed("AWS_X"));
	assert_false(allowed("=value"));
	assert_false(allowed("AWS-KEY=1"));
	assert_false(allowed("1AWS=1"));
	assert_false(allowed("AWS_X=line\nbreak"));
	assert_false(allowed("AWS_X=del\x7f"));
	assert_true(jit_pam_env_allowed("AWS_X=1\0AWS", 7));
	assert_false(jit_pam_env_allowed("AWS_X=1\0AWS", 11));
}

static void
test_env_bounds(void **state)
{
	static char entry[JIT_PAM_ENV_VALUE_MAX + 64];
	size_t n = strlen("AWS_V=");
	memcpy(entry, "AWS_V=", n);
	memset(entry + n, 'v', JIT_PAM_ENV_VALUE_MAX);
	assert_true(jit_pam_env_allowed(entry, n + JIT_PAM_ENV_VALUE_MAX));
	memset(entry + n, 'v', JIT_PAM_ENV_VALUE_MAX + 1);
	assert_false(jit_pam_env_allowed(entry, n + JIT_PAM_ENV_VALUE_MAX + 1));
	memcpy(entry, "AWS_", 4);
	memset(entry + 4, 'N', JIT_PAM_ENV_NAME_MAX);
	entry[JIT_PAM_ENV_NAME_MAX] = '=';
	assert_true(jit_pam_env_allowed(entry, JIT_PAM_ENV_NAME_MAX + 2));
	entry[JIT_PAM_ENV_NAME_MAX] = 'N';
	entry[JIT_PAM_ENV_NAME_MAX + 1] = '=';
	assert_false(jit_pam_env_allowed(entry, JIT_PAM_ENV_NAME_MAX + 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_all_arguments),
		cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_long_field),
		cmocka_unit_test(test_env_allowlist), cmocka_unit_test(test_env_bounds),
	};
	return cmocka_run_group_tests_name("pam_jitsudo args", tests, NULL, NULL);
}
