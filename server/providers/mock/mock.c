/* The mock provider: validates role and scope as the real aws, gcp, azure and kubernetes
 * providers do and issues random credentials of their shape, without touching the network.
 * It keeps the granted requests in memory (thread-safe) and obeys the test hooks of
 * providers.mock (refused roles, injected revocation failures, a delay before each call).
 * Values are wiped after use. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/common/errors.h"
#include "lib/common/random.h"
#include "lib/common/timeutil.h"
#include "server/providers/mock/mock.h"

/* Bounds on what the mock keeps: refused roles from the config, and granted requests not yet
 * revoked (past this, grants fail with JIT_ERR_LIMIT rather than grow without end). */
#define MOCK_MAX_FAIL_ROLES 256
#define MOCK_MAX_ACTIVE 100000

enum mock_kind {
	MOCK_AWS,
	MOCK_GCP,
	MOCK_AZURE,
	MOCK_KUBERNETES,
};

struct mock_state {
	enum mock_kind kind;
	char **fail_roles;
	size_t fail_role_count;
	pthread_mutex_t lock;
	uint32_t fail_revocations_left;
	uint32_t delay_ms; /* read-only after creation */
	struct jit_mock_stats stats;
	char (*active)[JIT_ID_LENGTH + 1]; /* granted, not yet revoked */
	size_t active_count, active_capacity;
};

struct mock_provider {
	struct jit_provider base;
	struct mock_state state;
};

/* ---- randomness and encodings ------------------------------------------------------------ */

static const char base64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char base32_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* `n` random characters of an alphabet of 32 or 64 (a power of two: no bias), NUL-ended.
 * `out` holds n + 1 bytes. */
static int
random_chars(char *out, size_t n, const char *alphabet, size_t alphabet_size)
{
	unsigned char bytes[512];
	if (n > sizeof(bytes))
		return JIT_ERR_TOO_LARGE;
	int r = jit_random_bytes(bytes, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[bytes[i] & (alphabet_size - 1)];
	out[n] = '\0';
	explicit_bzero(bytes, sizeof(bytes));
	return 0;
}

/* Base64 of `in` into `out` (size bytes), standard with padding or URL-safe without.
 * Returns the length written (NUL-terminated) or 0 when it does not fit. */
static size_t
base64_encode(const unsigned char *in, size_t n, bool url, char *out, size_t size)
{
	const char *alphabet = url ? base64_url : base64_std;
	size_t need = url ? (n * 4 + 2) / 3 : (n + 2) / 3 * 4;
	if (need + 1 > size)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = n - i;
		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (left > 1)
			out[o++] = alphabet[(v >> 6) & 63];
		else if (!url)
			out[o++] = '=';
		if (left > 2)
			out[o++] = alphabet[v & 63];
		else if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Random bytes, base64 encoded into `out`. */
static int
random_base64(size_t bytes, bool url, char *out, size_t size)
{
	unsigned char raw[1024];
	if (bytes > sizeof(raw))
		return JIT_ERR_TOO_LARGE;
	int r = jit_random_bytes(raw, bytes);
	if (r == 0 && base64_encode(raw, bytes, url, out, size) == 0)
		r = JIT_ERR_TOO_LARGE;
	explicit_bzero(raw, sizeof(raw));
	return r;
}

static int
random_uuid(char out[37])
{
	unsigned char b[16];
	int r = jit_random_bytes(b, sizeof(b));
	if (r < 0)
		return r;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
	return 0;
}

/* ---- credentials ------------------------------------------------------------------------- */

/* Scratch space for one grant's values, wiped when the grant is done. */
struct scratch {
	char a[512];
	char b[4096];
	char c[4096];
	char d[1024];
};

static int
issue_aws(struct jit_grant *grant, struct scratch *s)
{
	/* Temporary STS keys: "ASIA" + 16 base32 characters, a 40-character secret and a long
	 * session token. */
	memcpy(s->a, "ASIA", 4);
	int r = random_chars(s->a + 4, 16, base32_upper, 32);
	if (r < 0 || (r = random_chars(s->d, 40, base64_std, 64)) < 0)
		return r;
	memcpy(s->b, "IQoJb3JpZ2luX2Vj", 16);
	if ((r = random_base64(300, false, s->b + 16, sizeof(s->b) - 16)) < 0)
		return r;
	if ((r = jit_grant_add(grant, "AWS_ACCESS_KEY_ID", s->a)) < 0 ||
	    (r = jit_grant_add(grant, "AWS_SECRET_ACCESS_KEY", s->d)) < 0 ||
	    (r = jit_grant_add(grant, "AWS_SESSION_TOKEN", s->b)) < 0)
		return r;
	return jit_grant_add(grant, "AWS_DEFAULT_REGION", "us-east-1");
}

static int
issue_gcp(struct jit_grant *grant, const struct jit_request *request, struct scratch *s)
{
	/* An OAuth 2.0 access token as gcloud accepts it in CLOUDSDK_AUTH_ACCESS_TOKEN. */
	memcpy(s->a, "ya29.", 5);
	int r = random_chars(s->a + 5, 160, base64_url, 64);
	if (r < 0 || (r = jit_grant_add(grant, "CLOUDSDK_AUTH_ACCESS_TOKEN", s->a)) < 0)
		return r;
	return jit_grant_add(grant, "CLOUDSDK_CORE_PROJECT", request->resource_scope);
}

static int
issue_azure(struct jit_grant *grant, const struct jit_request *request, int64_t issued,
            int64_t expires, struct scratch *s)
{
	/* A token shaped like an Entra ID access token: header.payload.signature, base64url. */
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"jitsudo-mock\"}";
	char tenant[37], object[37];
	int r;
	if ((r = random_uuid(tenant)) < 0 || (r = random_uuid(object)) < 0)
		return r;
	int n = snprintf(
	        s->a, sizeof(s->a),
	        "{\"aud\":\"https://management.azure.com/\",\"iss\":\"https://"
	        "sts.windows.net/%s/\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"oid\":\"%s\","
	        "\"tid\":\"%s\",\"scp\":\"user_impersonation\",\"ver\":\"1.0\"}",
	        tenant, (long long)(issued / JIT_NSEC_PER_SEC),
	        (long long)(issued / JIT_NSEC_PER_SEC), (long long)(expires / JIT_NSEC_PER_SEC),
	        object, tenant);
	if (n < 0 || (size_t)n >= sizeof(s->a))
		return JIT_ERR_TOO_LARGE;
	size_t o = base64_encode((const unsigned char *)header, strlen(header), true, s->c,
	                         sizeof(s->c));
	if (o == 0 || o + 2 >= sizeof(s->c))
		return JIT_ERR_TOO_LARGE;
	s->c[o++] = '.';
	size_t p = base64_encode((const unsigned char *)s->a, (size_t)n, true, s->c + o,
	                         sizeof(s->c) - o);
	if (p == 0 || o + p + 2 >= sizeof(s->c))
		return JIT_ERR_TOO_LARGE;
	o += p;
	s->c[o++] = '.';
	if ((r = random_base64(256, true, s->c + o, sizeof(s->c) - o)) < 0 ||
	    (r = jit_grant_add(grant, "AZURE_ACCESS_TOKEN", s->c)) < 0)
		return r;
	return jit_grant_add(grant, "AZURE_SUBSCRIPTION_ID", request->resource_scope);
}

static int
issue_kubernetes(struct jit_grant *grant, const struct jit_request *request, struct scratch *s)
{
	/* A placeholder CA: a PEM block of random base64, itself base64 encoded as kubeconfig's
	 * certificate-authority-data is. */
	size_t o = (size_t)snprintf(s->b, sizeof(s->b), "-----BEGIN CERTIFICATE-----\n");
	int r;
	for (int line = 0; line < 12; line++) {
		if ((r = random_chars(s->b + o, 64, base64_std, 64)) < 0)
			return r;
		o += 64;
		s->b[o++] = '\n';
	}
	o += (size_t)snprintf(s->b + o, sizeof(s->b) - o, "-----END CERTIFICATE-----\n");
	if (base64_encode((const unsigned char *)s->b, o, false, s->c, sizeof(s->c)) == 0)
		return JIT_ERR_TOO_LARGE;
	if ((r = random_base64(48, true, s->a, sizeof(s->a))) < 0)
		return r;
	bool cluster_wide = strcmp(request->resource_scope, "*") == 0;
	const char *namespace = cluster_wide ? "default" : request->resource_scope;
	char namespace_line[128] = "";
	if (!cluster_wide)
		snprintf(namespace_line, sizeof(namespace_line), "    namespace: %s\n", namespace);
	char user[64];
	snprintf(user, sizeof(user), "jitsudo-%s", request->id[0] ? request->id : "mock");
	int n = snprintf(s->b, sizeof(s->b),
	                 "apiVersion: v1\n"
	                 "kind: Config\n"
	                 "clusters:\n"
	                 "- name: jitsudo-mock\n"
	                 "  cluster:\n"
	                 "    server: https://127.0.0.1:6443\n"
	                 "    certificate-authority-data: %s\n"
	                 "users:\n"
	                 "- name: %s\n"
	                 "  user:\n"
	                 "    token: %s\n"
	                 "contexts:\n"
	                 "- name: jitsudo\n"
	                 "  context:\n"
	                 "    cluster: jitsudo-mock\n"
	                 "    user: %s\n"
	                 "%s"
	                 "current-context: jitsudo\n"
	                 "preferences: {}\n",
	                 s->c, user, s->a, user, namespace_line);
	if (n < 0 || (size_t)n >= sizeof(s->b))
		return JIT_ERR_TOO_LARGE;
	if ((r = jit_grant_add(grant, "KUBECONFIG_DATA", s->b)) < 0)
		return r;
	return jit_grant_add(grant, "KUBE_NAMESPACE", namespace);
}

/* ---- operations -------------------------------------------------------------------------- */

static int
mock_validate(struct jit_provider *provider, const char *role, const char *scope, char *error,
              size_t error_size)
{
	const struct mock_state *state = provider->state;
	int r = jit_role_check(role, error, error_size);
	if (r < 0)
		return r;
	switch (state->kind) {
	case MOCK_AWS:
		return jit_scope_check_aws(scope, error, error_size);
	case MOCK_GCP:
		return jit_scope_check_gcp(scope, error, error_size);
	case MOCK_AZURE:
		return jit_scope_check_azure(scope, error, error_size);
	case MOCK_KUBERNETES:
		return jit_scope_check_kubernetes(scope, error, error_size);
	}
	return JIT_ERR_INVALID;
}

static bool
role_refused(const struct mock_state *state, const char *role)
{
	for (size_t i = 0; i < state->fail_role_count; i++)
		if (strcmp(state->fail_roles[i], role) == 0)
			return true;
	return false;
}

static ssize_t
active_find(const struct mock_state *state, const char *id)
{
	for (size_t i = 0; i < state->active_count; i++)
		if (strcmp(state->active[i], id) == 0)
			return (ssize_t)i;
	return -1;
}

/* Records a grant of `id`; the caller holds the lock. */
static int
active_add(struct mock_state *state, const char *id)
{
	if (active_find(state, id) >= 0)
		return 0;
	if (state->active_count == state->active_capacity) {
		if (state->active_capacity >= MOCK_MAX_ACTIVE)
			return JIT_ERR_LIMIT;
		size_t capacity = state->active_capacity ? state->active_capacity * 2 : 64;
		if (capacity > MOCK_MAX_ACTIVE)
			capacity = MOCK_MAX_ACTIVE;
		void *grown = realloc(state->active, capacity * sizeof(*state->active));
		if (!grown)
			return -ENOMEM;
		state->active = grown;
		state->active_capacity = capacity;
	}
	snprintf(state->active[state->active_count++], JIT_ID_LENGTH + 1, "%s", id);
	return 0;
}

/* Sleeps the configured delay (a slow cloud API), restarting after a signal. */
static void
mock_delay(const struct mock_state *state)
{
	if (!state->delay_ms)
		return;
	struct timespec left = { .tv_sec = state->delay_ms / 1000,
		                 .tv_nsec = (long)(state->delay_ms % 1000) * 1000000L };
	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

static int
mock_grant(struct jit_provider *provider, const struct jit_request *request,
           struct jit_grant *grant, char *error, size_t error_size)
{
	struct mock_state *state = provider->state;
	int r = mock_validate(provider, request->role, request->resource_scope, error, error_size);
	if (r < 0)
		return r;
	mock_delay(state);
	if (role_refused(state, request->role)) {
		snprintf(error, error_size, "mock: grant refused for role %s", request->role);
		return JIT_ERR_UPSTREAM;
	}
	int64_t issued = grant->issued_at ? grant->issued_at : jit_now_realtime_ns();
	if (request->duration_seconds <= 0 ||
	    request->duration_seconds > (INT64_MAX - issued) / JIT_NSEC_PER_SEC) {
		snprintf(error, error_size, "mock: duration_seconds out of range");
		return JIT_ERR_INVALID;
	}
	int64_t expires = issued + request->duration_seconds * JIT_NSEC_PER_SEC;

	struct scratch *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	switch (state->kind) {
	case MOCK_AWS:
		r = issue_aws(grant, s);
		break;
	case MOCK_GCP:
		r = issue_gcp(grant, request, s);
		break;
	case MOCK_AZURE:
		r = issue_azure(grant, request, issued, expires, s);
		break;
	case MOCK_KUBERNETES:
		r = issue_kubernetes(grant, request, s);
		break;
	}
	explicit_bzero(s, sizeof(*s));
	free(s);
	if (r < 0) {
		snprintf(error, error_size, "mock: building credentials failed: %s",
		         jit_strerror(r));
		return r;
	}

	pthread_mutex_lock(&state->lock);
	r = active_add(state, request->id);
	if (r == 0) {
		state->stats.grants++;
		state->stats.active = state->active_count;
	}
	pthread_mutex_unlock(&state->lock);
	if (r < 0) {
		snprintf(error, error_size, "mock: too many active grants");
		return r;
	}
	grant->issued_at = issued;
	grant->expires_at = expires;
	return 0;
}

static int
mock_revoke(struct jit_provider *provider, const struct jit_request *request, char *error,
            size_t error_size)
{
	struct mock_state *state = provider->state;
	int r = 0;
	mock_delay(state);
	pthread_mutex_lock(&state->lock);
	if (state->fail_revocations_left > 0) {
		state->fail_revocations_left--;
		snprintf(error, error_size, "mock: revocation failed (injected)");
		r = JIT_ERR_UPSTREAM;
	} else {
		ssize_t i = active_find(state, request->id);
		if (i >= 0) {
			state->active_count--;
			if ((size_t)i != state->active_count)
				memcpy(state->active[i], state->active[state->active_count],
				       sizeof(state->active[i]));
			state->stats.revocations++;
			state->stats.active = state->active_count;
		}
	}
	pthread_mutex_unlock(&state->lock);
	return r;
}

static void
mock_free(struct jit_provider *provider)
{
	struct mock_provider *mock = (struct mock_provider *)provider;
	struct mock_state *state = &mock->state;
	for (size_t i = 0; i < state->fail_role_count; i++)
		free(state->fail_roles[i]);
	free(state->fail_roles);
	free(state->active);
	pthread_mutex_destroy(&state->lock);
	free(mock);
}

static const struct jit_provider_ops mock_ops[] = {
	[MOCK_AWS] = { "aws", mock_validate, mock_grant, mock_revoke, mock_free },
	[MOCK_GCP] = { "gcp", mock_validate, mock_grant, mock_revoke, mock_free },
	[MOCK_AZURE] = { "azure", mock_validate, mock_grant, mock_revoke, mock_free },
	[MOCK_KUBERNETES] = { "kubernetes", mock_validate, mock_grant, mock_revoke, mock_free },
};

int
jit_provider_mock_new(const char *provider_name, const struct jit_mock_options *options,
                      struct jit_provider **ret_provider)
{
	size_t kind = JIT_ARRAY_SIZE(mock_ops);
	for (size_t i = 0; provider_name && i < JIT_ARRAY_SIZE(mock_ops); i++)
		if (strcmp(mock_ops[i].name, provider_name) == 0)
			kind = i;
	if (kind == JIT_ARRAY_SIZE(mock_ops) ||
	    (options && options->delay_ms > JIT_MOCK_MAX_DELAY_MS))
		return JIT_ERR_INVALID;
	struct mock_provider *mock = calloc(1, sizeof(*mock));
	if (!mock)
		return -ENOMEM;
	struct mock_state *state = &mock->state;
	mock->base.ops = &mock_ops[kind];
	mock->base.state = state;
	state->kind = (enum mock_kind)kind;
	if (pthread_mutex_init(&state->lock, NULL) != 0) {
		free(mock);
		return -ENOMEM;
	}
	size_t count = 0;
	while (options && options->fail_grant_roles && options->fail_grant_roles[count])
		if (++count > MOCK_MAX_FAIL_ROLES) {
			mock_free(&mock->base);
			return JIT_ERR_TOO_LARGE;
		}
	if (count && !(state->fail_roles = calloc(count, sizeof(*state->fail_roles)))) {
		mock_free(&mock->base);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if (!(state->fail_roles[i] = strdup(options->fail_grant_roles[i]))) {
			mock_free(&mock->base);
			return -ENOMEM;
		}
		state->fail_role_count++;
	}
	state->fail_revocations_left = options ? options->fail_revocations : 0;
	state->delay_ms = options ? options->delay_ms : 0;
	*ret_provider = &mock->base;
	return 0;
}

void
jit_provider_mock_stats(struct jit_provider *provider, struct jit_mock_stats *ret_stats)
{
	memset(ret_stats, 0, sizeof(*ret_stats));
	bool is_mock = false;
	for (size_t i = 0; provider && i < JIT_ARRAY_SIZE(mock_ops); i++)
		is_mock = is_mock || provider->ops == &mock_ops[i];
	if (!is_mock)
		return;
	struct mock_state *state = provider->state;
	pthread_mutex_lock(&state->lock);
	*ret_stats = state->stats;
	pthread_mutex_unlock(&state->lock);
}
