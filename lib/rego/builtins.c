/* The registry of built-in functions (a sorted index over the group tables, built once) and
 * the helpers built-in authors share: error reporting and UTF-8 decoding. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/rego/builtins.h"

/* Built-ins jitsudo deliberately refuses: policies never reach the network. They exist so that
 * policies naming them compile (and tests can replace them with `with`), and fail closed. */
static int
refuse_network(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
               const struct rego_value **ret)
{
	return rego_builtin_error(ctx, REGO_ERR_BUILTIN,
	                          "network access is not available to jitsudo policies");
}

/* http.send checks its request object as OPA does (so policy authors get the same errors)
 * and then refuses: jitsudo policies never reach the network. */
static int
refuse_http_send(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                 const struct rego_value **ret)
{
	static const char *const allowed[] = {
		"body",
		"cache",
		"cache_ignored_headers",
		"caching_mode",
		"enable_redirect",
		"force_cache",
		"force_cache_duration_seconds",
		"force_json_decode",
		"force_yaml_decode",
		"headers",
		"max_retry_attempts",
		"method",
		"raise_error",
		"raw_body",
		"timeout",
		"tls_ca_cert",
		"tls_ca_cert_env_variable",
		"tls_ca_cert_file",
		"tls_client_cert",
		"tls_client_cert_env_variable",
		"tls_client_cert_file",
		"tls_client_key",
		"tls_client_key_env_variable",
		"tls_client_key_file",
		"tls_insecure_skip_verify",
		"tls_server_name",
		"tls_use_system_certs",
		"url",
	};
	const struct rego_value *req = args[0];
	if (req->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", req);
	struct rego_vec unknown, missing;
	rego_vec_init(&unknown, ctx->arena);
	rego_vec_init(&missing, ctx->arena);
	for (uint32_t i = 0; i < req->length; i++) {
		const struct rego_value *key = req->u.members[i].key;
		bool known = false;
		for (size_t k = 0;
		     key->type == REGO_STRING && k < sizeof(allowed) / sizeof(*allowed); k++)
			known = known || strcmp(key->u.string, allowed[k]) == 0;
		if (!known && rego_vec_push(&unknown, key) < 0)
			return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	}
	static const char *const required[] = { "method", "url" };
	for (size_t k = 0; k < 2; k++)
		if (!rego_object_get_string(req, required[k], strlen(required[k])) &&
		    rego_vec_push(&missing, rego_string_cstr(ctx->arena, required[k])) < 0)
			return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
	struct rego_vec *bad = unknown.length ? &unknown : missing.length ? &missing : NULL;
	if (bad) {
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, ctx->arena);
		if (rego_format_rego(&sb, rego_vec_to_set(bad)) < 0)
			return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
		return rego_builtin_error(ctx, REGO_ERR_TYPE, "%s request parameters(s): %s",
		                          bad == &unknown ? "invalid" : "missing required",
		                          sb.data);
	}
	return refuse_network(ctx, args, ret);
}

/* net.lookup_ip_addr answers for literal addresses (no lookup needed) and refuses names:
 * policies do not resolve DNS. */
static int
lookup_ip_literal(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
                  const struct rego_value **ret)
{
	const struct rego_value *name = args[0];
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];
	if (name->type != REGO_STRING)
		return rego_builtin_type_error(ctx, 1, "string", name);
	int family = inet_pton(AF_INET, name->u.string, addr) == 1    ? AF_INET
	             : inet_pton(AF_INET6, name->u.string, addr) == 1 ? AF_INET6
	                                                              : 0;
	if (!family || strlen(name->u.string) != name->length)
		return refuse_network(ctx, args, ret);
	if (!inet_ntop(family, addr, text, sizeof(text)))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "cannot format address");
	const struct rego_value *ip = rego_string_cstr(ctx->arena, text);
	*ret = ip ? rego_set(ctx->arena, &ip, 1) : NULL;
	return *ret ? 0 : rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* opa.runtime: jitsudo exposes no runtime configuration or environment to policies. */
static int
empty_runtime(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
              const struct rego_value **ret)
{
	*ret = &rego_empty_object;
	return 0;
}

static const struct rego_builtin rego_builtins_refused[] = {
	{ "opa.runtime", 0, 0, empty_runtime },
	{ "http.send", 1, 0, refuse_http_send },
	{ "net.lookup_ip_addr", 1, 0, lookup_ip_literal },
	{ NULL, 0, 0, NULL },
};

static const struct rego_builtin *const builtin_groups[] = {
	rego_builtins_refused, rego_builtins_core,  rego_builtins_numbers,
	rego_builtins_strings, rego_builtins_regex, rego_builtins_collections,
	rego_builtins_crypto,  rego_builtins_codec, rego_builtins_clock,
	rego_builtins_network, rego_builtins_aws,
};

#define BUILTIN_INDEX_MAX 512

static const struct rego_builtin *builtin_index[BUILTIN_INDEX_MAX];
static size_t builtin_index_length;
static pthread_once_t builtin_index_once = PTHREAD_ONCE_INIT;

static int
compare_builtin_names(const void *a, const void *b)
{
	const struct rego_builtin *x = *(const struct rego_builtin *const *)a;
	const struct rego_builtin *y = *(const struct rego_builtin *const *)b;
	return strcmp(x->name, y->name);
}

static void
builtin_index_build(void)
{
	for (size_t g = 0; g < sizeof(builtin_groups) / sizeof(builtin_groups[0]); g++)
		for (const struct rego_builtin *b = builtin_groups[g]; b->name; b++)
			if (builtin_index_length < BUILTIN_INDEX_MAX)
				builtin_index[builtin_index_length++] = b;
	qsort(builtin_index, builtin_index_length, sizeof(builtin_index[0]), compare_builtin_names);
}

const struct rego_builtin *
rego_builtin_lookup(const char *name, size_t len, bool v1)
{
	pthread_once(&builtin_index_once, builtin_index_build);
	size_t lo = 0, hi = builtin_index_length;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *candidate = builtin_index[mid]->name;
		int c = strncmp(candidate, name, len);
		if (c == 0 && candidate[len] != '\0')
			c = 1;
		if (c == 0) {
			const struct rego_builtin *b = builtin_index[mid];
			if (v1 && (b->flags & REGO_BUILTIN_DEPRECATED))
				return NULL;
			return b;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
rego_builtin_set_error(struct rego_builtin_ctx *ctx, enum rego_error_kind kind, const char *fmt,
                       ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->error_message, sizeof(ctx->error_message), fmt, ap);
	va_end(ap);
	ctx->error_kind = kind;
}

void
rego_builtin_set_type_error(struct rego_builtin_ctx *ctx, int pos, const char *want,
                            const struct rego_value *got)
{
	rego_builtin_set_error(ctx, REGO_ERR_TYPE, "operand %d must be %s but got %s", pos, want,
	                       rego_type_name(got));
}

uint32_t
rego_utf8_next(const char *s, size_t len, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t at = *i;
	unsigned char c = p[at];
	uint32_t cp;
	size_t need;
	if (c < 0x80) {
		*i = at + 1;
		return c;
	} else if ((c & 0xe0) == 0xc0) {
		cp = c & 0x1f;
		need = 1;
	} else if ((c & 0xf0) == 0xe0) {
		cp = c & 0x0f;
		need = 2;
	} else if ((c & 0xf8) == 0xf0) {
		cp = c & 0x07;
		need = 3;
	} else {
		*i = at + 1;
		return 0xfffd;
	}
	for (size_t k = 1; k <= need; k++) {
		if (at + k >= len || (p[at + k] & 0xc0) != 0x80) {
			*i = at + 1;
			return 0xfffd;
		}
		cp = (cp << 6) | (p[at + k] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
		*i = at + 1;
		return 0xfffd;
	}
	*i = at + need + 1;
	return cp;
}

size_t
rego_utf8_length(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; n++)
		rego_utf8_next(s, len, &i);
	return n;
}

size_t
rego_builtin_all(const struct rego_builtin *const **ret)
{
	pthread_once(&builtin_index_once, builtin_index_build);
	*ret = builtin_index;
	return builtin_index_length;
}
