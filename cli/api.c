/* Calls to jitsudod's REST API: the URL from the settings, the bearer token, JSON bodies, and
 * the one place where HTTP answers become errors and one-line messages. The server's answers
 * are parsed with a bound and its messages are printed with control characters replaced. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/macro.h"

int
jit_cli_url_escape(const char *text, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		             (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		             *p == '~';
		if (o + (plain ? 1 : 3) >= size)
			return JIT_ERR_TOO_LARGE;
		if (plain) {
			buf[o++] = (char)*p;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
	}
	if (o >= size)
		return JIT_ERR_TOO_LARGE;
	buf[o] = '\0';
	return 0;
}

int
jit_cli_query_add(char *buf, size_t size, const char *name, const char *value)
{
	size_t used = strlen(buf);
	char escaped[2048];
	int r, n;

	if ((r = jit_cli_url_escape(value, escaped, sizeof escaped)) < 0)
		return r;
	n = snprintf(buf + used, size - used, "%c%s=%s", strchr(buf, '?') ? '&' : '?', name,
	             escaped);
	if (n < 0 || (size_t)n >= size - used) {
		buf[used] = '\0';
		return JIT_ERR_TOO_LARGE;
	}
	return 0;
}

/* The message of an error answer: {"code", "message"} from jitsudod, or the status alone. */
static void
error_message(const struct jit_cli_response *resp, char *buf, size_t size)
{
	_cleanup_json_ json_t *body = NULL;
	char parse_error[160];
	const char *message = NULL;

	if (jit_json_parse_object(resp->body, resp->len, JIT_CLI_HTTP_MAX_BODY, &body, parse_error,
	                          sizeof parse_error) == 0)
		message = jit_cli_str(body, "message");
	if (message && message[0])
		jit_cli_sanitize(message, buf, size);
	else
		snprintf(buf, size, "HTTP status %ld", resp->status);
}

static int
status_error(long status)
{
	if (status == 400 || status == 413)
		return JIT_ERR_INVALID;
	if (status == 401)
		return JIT_ERR_UNAUTHENTICATED;
	if (status == 403)
		return JIT_ERR_DENIED;
	if (status == 404)
		return JIT_ERR_NOT_FOUND;
	if (status == 409)
		return JIT_ERR_CONFLICT;
	if (status >= 500)
		return JIT_ERR_UNAVAILABLE;
	return JIT_ERR_PROTOCOL;
}

int
jit_cli_api_quiet(struct jit_cli *cli, const char *method, const char *path, json_t *body,
                  bool authenticated, json_t **ret, char *error, size_t error_size)
{
	struct jit_cli_http h = {
		.ca_file = cli->ca_file,
		.timeout_ms = cli->timeout_ms,
		.debug = cli->debug,
	};
	struct jit_cli_response resp = { 0 };
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ char *text = NULL;
	char message[600];
	json_t *parsed = NULL;
	int r;

	error[0] = '\0';
	if ((r = jit_cli_need_server(cli)) < 0)
		return r;
	if (authenticated && (r = jit_cli_need_token(cli)) < 0)
		return r;
	if (asprintf(&url, "%s%s", cli->server, path) < 0)
		return -ENOMEM;
	if (body) {
		text = jit_json_dump(body);
		if (!text)
			return -ENOMEM;
	}
	r = jit_cli_http_do(&h, method, url, authenticated ? cli->token : NULL,
	                    text ? "application/json" : NULL, text, text ? strlen(text) : 0, &resp);
	if (text)
		explicit_bzero(text, strlen(text));
	if (r == JIT_ERR_UNAVAILABLE) {
		jit_cli_http_unreachable_message(&resp, "server", cli->server, cli->timeout_ms,
		                                 JIT_CLI_SERVER_DOWN_HINT, error, error_size);
		return r;
	}
	if (r == JIT_CLI_HTTP_UNTRUSTED) {
		snprintf(error, error_size, JIT_CLI_HTTP_UNTRUSTED_FMT, "server", cli->server);
		return r;
	}
	if (r == JIT_ERR_TOO_LARGE) {
		snprintf(error, error_size, "the server's answer is larger than %u bytes",
		         JIT_CLI_HTTP_MAX_BODY);
		return JIT_ERR_PROTOCOL;
	}
	if (r < 0) {
		snprintf(error, error_size, "%s %s: %s", method, path, jit_strerror(r));
		return r;
	}
	if (resp.status < 200 || resp.status > 299) {
		error_message(&resp, message, sizeof message);
		r = status_error(resp.status);
		switch (r) {
		case JIT_ERR_UNAUTHENTICATED:
			snprintf(error, error_size, "the server did not accept the token: %s%s",
			         message,
			         cli->token_from_flag_or_env ? "" : " (run `jitsudo login`)");
			break;
		case JIT_ERR_DENIED:
			snprintf(error, error_size, "refused: %s", message);
			break;
		case JIT_ERR_NOT_FOUND:
			snprintf(error, error_size, "not found: %s", message);
			break;
		case JIT_ERR_UNAVAILABLE:
			snprintf(error, error_size, "the server failed (HTTP %ld): %s", resp.status,
			         message);
			break;
		default:
			snprintf(error, error_size, "%s", message);
			break;
		}
		jit_cli_response_done(&resp);
		return r;
	}
	if (ret) {
		char parse_error[200];
		r = jit_json_parse_object(resp.body, resp.len, JIT_CLI_HTTP_MAX_BODY, &parsed,
		                          parse_error, sizeof parse_error);
		if (r < 0) {
			snprintf(error, error_size,
			         "the server's answer to %s %s is not a JSON object", method, path);
			jit_cli_response_done(&resp);
			return JIT_ERR_PROTOCOL;
		}
		*ret = parsed;
	}
	jit_cli_response_done(&resp);
	return 0;
}

int
jit_cli_api(struct jit_cli *cli, const char *method, const char *path, json_t *body,
            bool authenticated, json_t **ret)
{
	char error[800];
	int r = jit_cli_api_quiet(cli, method, path, body, authenticated, ret, error, sizeof error);
	if (r < 0 && error[0])
		jit_cli_fail(r, "%s", error);
	return r;
}

int
jit_cli_api_list(struct jit_cli *cli, const char *collection, const char *query,
                 const char *list_key, int64_t limit, json_t **ret)
{
	/* Pages of at most 100 keep each answer quick; the page count bounds a server that keeps
	 * answering with a next token and empty pages. */
	enum {
		PAGE_SIZE_MAX = 100,
		PAGES_MAX = 10000
	};
	char token[1024] = "", path[4096];
	int r = 0, pages = 0;
	json_t *all = json_array();

	if (!all)
		return jit_cli_fail(JIT_ERR_INTERNAL, "out of memory");
	for (;;) {
		char page[1600] = "", size[24];
		json_t *answer = NULL;
		int64_t want = limit - (int64_t)json_array_size(all);
		snprintf(size, sizeof size, "%lld",
		         (long long)(want > PAGE_SIZE_MAX ? PAGE_SIZE_MAX : want));
		r = jit_cli_query_add(page, sizeof page, "page_size", size);
		if (r >= 0 && token[0])
			r = jit_cli_query_add(page, sizeof page, "page_token", token);
		if (r < 0) {
			r = jit_cli_fail(JIT_ERR_PROTOCOL, "the server's page token is too long");
			break;
		}
		if (snprintf(path, sizeof path, "%s%s%s%s", collection, query, query[0] ? "&" : "?",
		             page + 1) >= (int)sizeof path) {
			r = jit_cli_fail(JIT_ERR_TOO_LARGE, "the query is too long");
			break;
		}
		if ((r = jit_cli_api(cli, "GET", path, NULL, true, &answer)) < 0)
			break;
		json_t *list = json_object_get(answer, list_key);
		const char *next = jit_cli_str(answer, "next_page_token");
		if (!json_is_array(list) || strlen(next) >= sizeof token) {
			json_decref(answer);
			r = jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer is not a list");
			break;
		}
		size_t i;
		json_t *item;
		json_array_foreach(list, i, item)
		{
			if ((int64_t)json_array_size(all) >= limit)
				break;
			json_array_append(all, item);
		}
		snprintf(token, sizeof token, "%s", next);
		json_decref(answer);
		if (!token[0] || (int64_t)json_array_size(all) >= limit || ++pages >= PAGES_MAX)
			break;
	}
	if (r < 0) {
		json_decref(all);
		return r;
	}
	*ret = all;
	return 0;
}
