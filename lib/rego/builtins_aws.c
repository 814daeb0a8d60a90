/* Built-in functions: providers.aws.sign_req, which signs an HTTP request object with AWS
 * Signature Version 4 (lib/common/sigv4) the way OPA's built-in does. Computation only: the
 * request is returned signed, never sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/crypto/sigv4.h"
#include "lib/rego/builtins.h"

static int
oom(struct rego_builtin_ctx *ctx)
{
	return rego_builtin_error(ctx, REGO_ERR_INTERNAL, "out of memory");
}

/* Checks that `obj` has each of `names` as a string: reports missing ones first, then those
 * with a value of the wrong type, as OPA does ("... parameters(s): {"a", "b"}"). */
static int
require_strings(struct rego_builtin_ctx *ctx, const struct rego_value *obj, int pos,
                const char *what, const char *const *names, size_t n)
{
	struct rego_vec missing, invalid;
	rego_vec_init(&missing, ctx->arena);
	rego_vec_init(&invalid, ctx->arena);
	for (size_t i = 0; i < n; i++) {
		const struct rego_value *v =
		        rego_object_get_string(obj, names[i], strlen(names[i]));
		const struct rego_value *name = rego_string_cstr(ctx->arena, names[i]);
		if (!name)
			return oom(ctx);
		if (!v && rego_vec_push(&missing, name) < 0)
			return oom(ctx);
		if (v && v->type != REGO_STRING && rego_vec_push(&invalid, name) < 0)
			return oom(ctx);
	}
	struct rego_vec *bad = missing.length ? &missing : invalid.length ? &invalid : NULL;
	if (!bad)
		return 0;
	struct rego_strbuf sb;
	rego_strbuf_init(&sb, ctx->arena);
	if (rego_format_rego(&sb, rego_vec_to_set(bad)) < 0)
		return oom(ctx);
	return rego_builtin_error(ctx, REGO_ERR_TYPE, "operand %d %s required %s parameters(s): %s",
	                          pos, bad == &missing ? "missing" : "invalid values for", what,
	                          sb.data);
}

/* Headers the signature sets itself; values the request brings for them are replaced. */
static bool
replaced_header(const char *name)
{
	static const char *const names[] = { "authorization", "host", "x-amz-content-sha256",
		                             "x-amz-date", "x-amz-security-token" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

static const char *
string_of(const struct rego_value *obj, const char *key)
{
	const struct rego_value *v = rego_object_get_string(obj, key, strlen(key));
	return v && v->type == REGO_STRING ? v->u.string : NULL;
}

static int
sign_req(struct rego_builtin_ctx *ctx, const struct rego_value *const *args,
         const struct rego_value **ret)
{
	static const char *const request_keys[] = { "method", "url" };
	static const char *const config_keys[] = { "aws_access_key", "aws_region",
		                                   "aws_secret_access_key", "aws_service" };
	const struct rego_value *req = args[0], *config = args[1], *when = args[2];
	int r;
	if (req->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 1, "object", req);
	if (config->type != REGO_OBJECT)
		return rego_builtin_type_error(ctx, 2, "object", config);
	if ((r = require_strings(ctx, req, 1, "request", request_keys, 2)) < 0 ||
	    (r = require_strings(ctx, config, 2, "AWS config", config_keys, 4)) < 0)
		return r;
	const struct rego_value *unsigned_payload =
	        rego_object_get_string(config, "disable_payload_signing", 23);
	if (unsigned_payload && unsigned_payload->type != REGO_BOOLEAN)
		return rego_builtin_error(
		        ctx, REGO_ERR_TYPE,
		        "operand 2 invalid value for 'disable_payload_signing' in "
		        "AWS config");
	int64_t ns;
	if (when->type != REGO_NUMBER || !rego_number_int64(when, &ns) || ns < 0)
		return rego_builtin_error(ctx, REGO_ERR_TYPE,
		                          "operand 3 could not convert time_ns value into a unix "
		                          "timestamp");

	/* scheme://authority/path?query */
	const char *url = string_of(req, "url");
	const char *authority = strstr(url, "://");
	authority = authority ? authority + 3 : url;
	size_t authority_len = strcspn(authority, "/?#");
	const char *rest = authority + authority_len;
	size_t path_len = strcspn(rest, "?#");
	char *host = rego_arena_strndup(ctx->arena, authority, authority_len);
	char *path = rego_arena_strndup(ctx->arena, rest, path_len);
	const char *query = rest[path_len] == '?' ? rest + path_len + 1 : NULL;
	char *query_copy =
	        query ? rego_arena_strndup(ctx->arena, query, strcspn(query, "#")) : NULL;
	if (!host || !path || (query && !query_copy))
		return oom(ctx);

	/* The body: raw_body as given, else body as JSON. */
	const char *body = "";
	size_t body_len = 0;
	const struct rego_value *raw = rego_object_get_string(req, "raw_body", 8);
	const struct rego_value *structured = rego_object_get_string(req, "body", 4);
	if (raw && raw->type == REGO_STRING) {
		body = raw->u.string;
		body_len = raw->length;
	} else if (structured) {
		struct rego_strbuf sb;
		rego_strbuf_init(&sb, ctx->arena);
		if (rego_format_json(&sb, structured) < 0)
			return oom(ctx);
		body = sb.data ? sb.data : "";
		body_len = sb.length;
	}

	/* Headers: the request's own plus Host. */
	const struct rego_value *headers = rego_object_get_string(req, "headers", 7);
	size_t n = headers && headers->type == REGO_OBJECT ? headers->length : 0;
	if (n >= JIT_SIGV4_MAX_HEADERS)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "too many headers");
	struct jit_sigv4_header list[JIT_SIGV4_MAX_HEADERS];
	size_t count = 0;
	bool has_own_hash = false;
	for (size_t i = 0; i < n; i++) {
		const struct rego_member *m = &headers->u.members[i];
		if (m->key->type != REGO_STRING || m->value->type != REGO_STRING)
			return rego_builtin_error(ctx, REGO_ERR_TYPE,
			                          "operand 1 headers must be strings");
		/* OPA signs a request's own x-amz-content-sha256 value as given (and returns the
		 * computed one): keep it for signing, so the signer adds none of its own. */
		bool own_hash = strcasecmp(m->key->u.string, "x-amz-content-sha256") == 0;
		if (own_hash)
			has_own_hash = true;
		if (!replaced_header(m->key->u.string) || own_hash)
			list[count++] =
			        (struct jit_sigv4_header){ m->key->u.string, m->value->u.string };
	}
	list[count++] = (struct jit_sigv4_header){ "host", host };

	char method[16];
	const char *m = string_of(req, "method");
	size_t mlen = strlen(m);
	if (mlen == 0 || mlen >= sizeof(method))
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "invalid method");
	/* Signed as given: OPA does not change the method's case either. */
	memcpy(method, m, mlen + 1);

	const char *token = string_of(config, "aws_session_token");
	struct jit_sigv4_request sreq = { method, path, query_copy, list, count, body, body_len };
	struct jit_sigv4_params params = {
		.access_key_id = string_of(config, "aws_access_key"),
		.secret_access_key = string_of(config, "aws_secret_access_key"),
		.session_token = token,
		.region = string_of(config, "aws_region"),
		.service = string_of(config, "aws_service"),
		.time = ns / 1000000000,
		.normalize_path = false,
		.sign_body = !has_own_hash,
		.payload_hash =
		        unsigned_payload && unsigned_payload->u.boolean ? "UNSIGNED-PAYLOAD" : NULL,
	};
	struct jit_sigv4_result res;
	if (jit_sigv4_sign(&sreq, &params, &res) < 0)
		return rego_builtin_error(ctx, REGO_ERR_BUILTIN, "cannot sign the request");

	/* OPA's form of the Authorization header: no spaces after the commas. */
	struct rego_strbuf auth;
	rego_strbuf_init(&auth, ctx->arena);
	char scope_date[9];
	memcpy(scope_date, res.amz_date, 8);
	scope_date[8] = '\0';
	r = rego_strbuf_appendf(&auth,
	                        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,"
	                        "SignedHeaders=%s,Signature=%s",
	                        params.access_key_id, scope_date, params.region, params.service,
	                        res.signed_headers, res.signature);
	struct rego_member_vec out_headers;
	rego_member_vec_init(&out_headers, ctx->arena);
	for (size_t i = 0; i < n && r == 0; i++)
		if (!replaced_header(headers->u.members[i].key->u.string))
			r = rego_member_vec_push(&out_headers, headers->u.members[i].key,
			                         headers->u.members[i].value);
	const char *added[][2] = {
		{ "Authorization", auth.data ? auth.data : "" },
		{ "host", host },
		{ "x-amz-content-sha256", res.payload_hash },
		{ "x-amz-date", res.amz_date },
		{ "x-amz-security-token", token },
	};
	for (size_t i = 0; i < sizeof(added) / sizeof(added[0]) && r == 0; i++) {
		if (!added[i][1])
			continue;
		const struct rego_value *k = rego_string_cstr(ctx->arena, added[i][0]);
		const struct rego_value *v = rego_string_cstr(ctx->arena, added[i][1]);
		r = k && v ? rego_member_vec_push(&out_headers, k, v) : -1;
	}
	jit_sigv4_result_free(&res);
	if (r < 0)
		return oom(ctx);
	struct rego_member_vec out;
	rego_member_vec_init(&out, ctx->arena);
	for (uint32_t i = 0; i < req->length; i++)
		if (rego_member_vec_push(&out, req->u.members[i].key, req->u.members[i].value) < 0)
			return oom(ctx);
	const struct rego_value *hk = rego_string_cstr(ctx->arena, "headers");
	const struct rego_value *hv = rego_member_vec_to_object(&out_headers);
	if (!hk || !hv || rego_member_vec_push(&out, hk, hv) < 0)
		return oom(ctx);
	*ret = rego_member_vec_to_object(&out);
	return *ret ? 0 : oom(ctx);
}

const struct rego_builtin rego_builtins_aws[] = {
	{ "providers.aws.sign_req", 3, 0, sign_req },
	{ NULL, 0, 0, NULL },
};
