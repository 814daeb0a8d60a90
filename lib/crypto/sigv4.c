/* AWS Signature Version 4 (as AWS documents it and its published test vectors check): the
 * canonical request, the string to sign, the derived signing key and the signature. Trusts no
 * input: every field is bounded, header names are checked, buffers holding key material are
 * wiped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "lib/common/text.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/crypto/sigv4.h"

/* A growable string bounded by JIT_SIGV4_MAX_CANONICAL. */
struct text {
	char *data;
	size_t length, capacity;
	int error;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->error)
		return;
	if (t->length + n + 1 > JIT_SIGV4_MAX_CANONICAL) {
		t->error = JIT_ERR_TOO_LARGE;
		return;
	}
	if (t->length + n + 1 > t->capacity) {
		size_t cap = t->capacity ? t->capacity : 256;
		while (cap < t->length + n + 1)
			cap *= 2;
		char *p = realloc(t->data, cap);
		if (!p) {
			t->error = -ENOMEM;
			return;
		}
		t->data = p;
		t->capacity = cap;
	}
	memcpy(t->data + t->length, s, n);
	t->length += n;
	t->data[t->length] = '\0';
}

static void
text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void
text_free(struct text *t)
{
	free(t->data);
	t->data = NULL;
}

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes bytes outside the unreserved set (and '/' unless keep_slash). */
static void
text_encode(struct text *t, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			text_add(t, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			text_add(t, e, 3);
		}
	}
}

/* Decodes %XX escapes (and '+' stays '+') into `out` (at least n + 1 bytes); returns length. */
static size_t
percent_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && jit_hex_digit(s[i + 1]) >= 0 &&
		    jit_hex_digit(s[i + 2]) >= 0) {
			out[o++] = (char)(jit_hex_digit(s[i + 1]) * 16 + jit_hex_digit(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	SHA256(data, n, digest);
	hex_encode(digest, sizeof(digest), out);
}

static int
hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
            unsigned char out[SHA256_DIGEST_LENGTH])
{
	unsigned int len = 0;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, n, out, &len) ||
	    len != SHA256_DIGEST_LENGTH)
		return JIT_ERR_INTERNAL;
	return 0;
}

/* The canonical URI: encoded path, dot and empty segments removed when normalising. */
static int
canonical_path(struct text *out, const char *path, bool normalize)
{
	size_t n = strlen(path);
	if (n == 0) {
		/* An empty path is "/" once normalised; unnormalised it stays empty (as OPA's
		 * providers.aws.sign_req signs a URL without a path). */
		if (normalize)
			text_str(out, "/");
		return 0;
	}
	if (n > JIT_SIGV4_MAX_FIELD)
		return JIT_ERR_TOO_LARGE;
	if (!normalize) {
		text_encode(out, path, n, true);
		return 0;
	}
	/* Segment stack as offsets into `path`. */
	size_t starts[512], lengths[512], depth = 0;
	for (size_t i = 0; i < n;) {
		while (i < n && path[i] == '/')
			i++;
		size_t start = i;
		while (i < n && path[i] != '/')
			i++;
		size_t len = i - start;
		if (len == 0 || (len == 1 && path[start] == '.'))
			continue;
		if (len == 2 && path[start] == '.' && path[start + 1] == '.') {
			if (depth)
				depth--;
			continue;
		}
		if (depth == sizeof(starts) / sizeof(starts[0]))
			return JIT_ERR_TOO_LARGE;
		starts[depth] = start;
		lengths[depth++] = len;
	}
	text_str(out, "/");
	for (size_t k = 0; k < depth; k++) {
		text_encode(out, path + starts[k], lengths[k], false);
		if (k + 1 < depth)
			text_str(out, "/");
	}
	if (depth && path[n - 1] == '/')
		text_str(out, "/");
	return 0;
}

struct param {
	char *name; /* encoded */
	char *value;
};

static int
compare_params(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *
encode_component(const char *s, size_t n)
{
	char *decoded = malloc(n + 1);
	if (!decoded)
		return NULL;
	size_t len = percent_decode(s, n, decoded);
	struct text t = { 0 };
	text_encode(&t, decoded, len, false);
	free(decoded);
	if (t.error) {
		text_free(&t);
		return NULL;
	}
	if (!t.data)
		return strdup("");
	return t.data;
}

#define MAX_PARAMS 128

/* The canonical query: parameters decoded, re-encoded, sorted by name then value. `extra`
 * holds already encoded pairs to add (query signing). */
static int
canonical_query(struct text *out, const char *query, const struct param *extra, size_t n_extra)
{
	struct param params[MAX_PARAMS];
	size_t count = 0;
	int r = 0;
	size_t qn = query ? strlen(query) : 0;
	if (qn > JIT_SIGV4_MAX_FIELD)
		return JIT_ERR_TOO_LARGE;
	for (size_t i = 0; i < qn && r == 0;) {
		size_t start = i;
		while (i < qn && query[i] != '&')
			i++;
		size_t end = i++;
		if (end == start)
			continue;
		if (count == MAX_PARAMS) {
			r = JIT_ERR_TOO_LARGE;
			break;
		}
		const char *eq = memchr(query + start, '=', end - start);
		size_t name_end = eq ? (size_t)(eq - query) : end;
		params[count].name = encode_component(query + start, name_end - start);
		params[count].value =
		        eq ? encode_component(eq + 1, end - name_end - 1) : strdup("");
		if (!params[count].name || !params[count].value) {
			free(params[count].name);
			free(params[count].value);
			r = -ENOMEM;
			break;
		}
		count++;
	}
	for (size_t k = 0; k < n_extra && r == 0; k++) {
		if (count == MAX_PARAMS) {
			r = JIT_ERR_TOO_LARGE;
			break;
		}
		params[count].name = encode_component(extra[k].name, strlen(extra[k].name));
		params[count].value = encode_component(extra[k].value, strlen(extra[k].value));
		if (!params[count].name || !params[count].value) {
			free(params[count].name);
			free(params[count].value);
			r = -ENOMEM;
			break;
		}
		count++;
	}
	if (r == 0) {
		qsort(params, count, sizeof(params[0]), compare_params);
		for (size_t k = 0; k < count; k++) {
			if (k)
				text_str(out, "&");
			text_str(out, params[k].name);
			text_str(out, "=");
			text_str(out, params[k].value);
		}
	}
	for (size_t k = 0; k < count; k++) {
		free(params[k].name);
		free(params[k].value);
	}
	return r;
}

struct canon_header {
	char name[128];    /* lowercase */
	struct text value; /* trimmed, inner whitespace runs collapsed, duplicates joined by ',' */
};

static int
compare_headers(const void *a, const void *b)
{
	return strcmp(((const struct canon_header *)a)->name,
	              ((const struct canon_header *)b)->name);
}

static bool
valid_header_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 127 || c == ':')
			return false;
	}
	return true;
}

/* Appends a header value trimmed, with runs of whitespace (newlines of folded lines too)
 * collapsed to one space. */
static void
add_trimmed(struct text *t, const char *v)
{
	size_t n = strlen(v), i = 0;
	bool space = false, any = false;
	for (; i < n; i++) {
		char c = v[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = any;
			continue;
		}
		if (space)
			text_str(t, " ");
		text_add(t, &c, 1);
		space = false;
		any = true;
	}
}

static int
add_header(struct canon_header *list, size_t *count, const char *name, const char *value)
{
	if (!valid_header_name(name))
		return JIT_ERR_INVALID;
	if (strlen(value) > JIT_SIGV4_MAX_FIELD)
		return JIT_ERR_TOO_LARGE;
	char lower[128];
	size_t n = strlen(name);
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	for (size_t i = 0; i < *count; i++)
		if (strcmp(list[i].name, lower) == 0) {
			text_str(&list[i].value, ",");
			add_trimmed(&list[i].value, value);
			return list[i].value.error;
		}
	if (*count == JIT_SIGV4_MAX_HEADERS + 4)
		return JIT_ERR_TOO_LARGE;
	struct canon_header *h = &list[(*count)++];
	memcpy(h->name, lower, n + 1);
	memset(&h->value, 0, sizeof(h->value));
	text_str(&h->value, "");
	add_trimmed(&h->value, value);
	return h->value.error;
}

void
jit_sigv4_result_free(struct jit_sigv4_result *result)
{
	if (!result)
		return;
	free(result->canonical_request);
	free(result->string_to_sign);
	free(result->signature);
	free(result->amz_date);
	free(result->authorization);
	free(result->payload_hash);
	free(result->signed_headers);
	free(result->query);
	memset(result, 0, sizeof(*result));
}

static char *
take(struct text *t)
{
	char *s = t->data ? t->data : strdup("");
	t->data = NULL;
	return s;
}

int
jit_sigv4_sign(const struct jit_sigv4_request *request, const struct jit_sigv4_params *params,
               struct jit_sigv4_result *ret)
{
	struct jit_sigv4_result result = { 0 };
	struct canon_header headers[JIT_SIGV4_MAX_HEADERS + 4];
	size_t header_count = 0;
	struct text canon = { 0 }, sts = { 0 }, signed_names = { 0 }, query = { 0 };
	char date[9], amz_date[17], payload[65], scope[256], credential[512];
	unsigned char key[SHA256_DIGEST_LENGTH], signature[SHA256_DIGEST_LENGTH];
	int r = 0;

	if (!request->method || !request->path || !params->access_key_id ||
	    !params->secret_access_key || !params->region || !params->service ||
	    request->header_count > JIT_SIGV4_MAX_HEADERS)
		return request->header_count > JIT_SIGV4_MAX_HEADERS ? JIT_ERR_TOO_LARGE
		                                                     : JIT_ERR_INVALID;
	time_t t = (time_t)params->time;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return JIT_ERR_INVALID;
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	if (snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, params->region,
	             params->service) >= (int)sizeof(scope) ||
	    snprintf(credential, sizeof(credential), "%s/%s", params->access_key_id, scope) >=
	            (int)sizeof(credential))
		return JIT_ERR_TOO_LARGE;
	if (params->payload_hash && strlen(params->payload_hash) < sizeof(payload))
		memcpy(payload, params->payload_hash, strlen(params->payload_hash) + 1);
	else if (params->payload_hash)
		return JIT_ERR_TOO_LARGE;
	else
		sha256_hex(request->body ? request->body : "",
		           request->body ? request->body_length : 0, payload);

	for (size_t i = 0; i < request->header_count && r == 0; i++)
		r = add_header(headers, &header_count, request->headers[i].name,
		               request->headers[i].value ? request->headers[i].value : "");
	bool token_signed = params->session_token && !params->omit_session_token;
	if (r == 0 && !params->query) {
		r = add_header(headers, &header_count, "X-Amz-Date", amz_date);
		if (r == 0 && params->sign_body)
			r = add_header(headers, &header_count, "x-amz-content-sha256", payload);
		if (r == 0 && token_signed)
			r = add_header(headers, &header_count, "X-Amz-Security-Token",
			               params->session_token);
	}
	if (r < 0)
		goto out;
	qsort(headers, header_count, sizeof(headers[0]), compare_headers);
	for (size_t i = 0; i < header_count; i++) {
		if (i)
			text_str(&signed_names, ";");
		text_str(&signed_names, headers[i].name);
	}
	if (signed_names.error) {
		r = signed_names.error;
		goto out;
	}

	/* Query signing adds the authentication parameters to the query itself. */
	struct param extra[6];
	size_t n_extra = 0;
	char expires[16];
	struct text enc_credential = { 0 };
	if (params->query) {
		text_encode(&enc_credential, credential, strlen(credential), false);
		snprintf(expires, sizeof(expires), "%u", params->expires_seconds);
		extra[n_extra++] = (struct param){ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" };
		extra[n_extra++] = (struct param){ "X-Amz-Credential",
			                           enc_credential.data ? enc_credential.data : "" };
		extra[n_extra++] = (struct param){ "X-Amz-Date", amz_date };
		extra[n_extra++] = (struct param){ "X-Amz-Expires", expires };
		extra[n_extra++] = (struct param){ "X-Amz-SignedHeaders",
			                           signed_names.data ? signed_names.data : "" };
	}
	struct text enc_token = { 0 };
	if (params->query && token_signed) {
		text_encode(&enc_token, params->session_token, strlen(params->session_token),
		            false);
		extra[n_extra++] = (struct param){ "X-Amz-Security-Token",
			                           enc_token.data ? enc_token.data : "" };
	}

	text_str(&canon, request->method);
	text_str(&canon, "\n");
	if ((r = canonical_path(&canon, request->path, params->normalize_path)) < 0)
		goto out_query;
	text_str(&canon, "\n");
	size_t query_start = canon.length;
	if ((r = canonical_query(&canon, request->query, extra, n_extra)) < 0)
		goto out_query;
	if (params->query && !canon.error)
		text_add(&query, canon.data + query_start, canon.length - query_start);
	text_str(&canon, "\n");
	for (size_t i = 0; i < header_count; i++) {
		text_str(&canon, headers[i].name);
		text_str(&canon, ":");
		text_str(&canon, headers[i].value.data ? headers[i].value.data : "");
		text_str(&canon, "\n");
	}
	text_str(&canon, "\n");
	text_str(&canon, signed_names.data ? signed_names.data : "");
	text_str(&canon, "\n");
	text_str(&canon, payload);
	if ((r = canon.error) < 0)
		goto out_query;

	char canon_hash[65];
	sha256_hex(canon.data, canon.length, canon_hash);
	text_str(&sts, "AWS4-HMAC-SHA256\n");
	text_str(&sts, amz_date);
	text_str(&sts, "\n");
	text_str(&sts, scope);
	text_str(&sts, "\n");
	text_str(&sts, canon_hash);
	if ((r = sts.error) < 0)
		goto out_query;

	/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
	{
		size_t secret_len = strlen(params->secret_access_key);
		char *k0 = malloc(secret_len + 5);
		if (!k0) {
			r = -ENOMEM;
			goto out_query;
		}
		memcpy(k0, "AWS4", 4);
		memcpy(k0 + 4, params->secret_access_key, secret_len + 1);
		r = hmac_sha256(k0, secret_len + 4, date, strlen(date), key);
		explicit_bzero(k0, secret_len + 4);
		free(k0);
		if (r == 0)
			r = hmac_sha256(key, sizeof(key), params->region, strlen(params->region),
			                key);
		if (r == 0)
			r = hmac_sha256(key, sizeof(key), params->service, strlen(params->service),
			                key);
		if (r == 0)
			r = hmac_sha256(key, sizeof(key), "aws4_request", 12, key);
		if (r == 0)
			r = hmac_sha256(key, sizeof(key), sts.data, sts.length, signature);
		explicit_bzero(key, sizeof(key));
		if (r < 0)
			goto out_query;
	}
	char signature_hex[65];
	hex_encode(signature, sizeof(signature), signature_hex);

	result.canonical_request = take(&canon);
	result.string_to_sign = take(&sts);
	result.signature = strdup(signature_hex);
	result.amz_date = strdup(amz_date);
	result.payload_hash = strdup(payload);
	result.signed_headers = strdup(signed_names.data ? signed_names.data : "");
	if (params->query) {
		text_str(&query, "&X-Amz-Signature=");
		text_str(&query, signature_hex);
		result.query = take(&query);
	} else {
		struct text auth = { 0 };
		text_str(&auth, "AWS4-HMAC-SHA256 Credential=");
		text_str(&auth, credential);
		text_str(&auth, ", SignedHeaders=");
		text_str(&auth, signed_names.data ? signed_names.data : "");
		text_str(&auth, ", Signature=");
		text_str(&auth, signature_hex);
		result.authorization = auth.error ? NULL : take(&auth);
		text_free(&auth);
	}
	if (!result.canonical_request || !result.string_to_sign || !result.signature ||
	    !result.amz_date || !result.payload_hash || !result.signed_headers ||
	    (params->query ? !result.query : !result.authorization)) {
		jit_sigv4_result_free(&result);
		r = -ENOMEM;
		goto out_query;
	}
	*ret = result;
	r = 0;
out_query:
	text_free(&enc_credential);
	text_free(&enc_token);
out:
	for (size_t i = 0; i < header_count; i++)
		text_free(&headers[i].value);
	text_free(&canon);
	text_free(&sts);
	text_free(&signed_names);
	text_free(&query);
	return r;
}
