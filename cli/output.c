/* Output: the API's objects as indented JSON or as YAML (libyaml's emitter, strings quoted
 * whenever a YAML reader could take them for another type), aligned tables, the request
 * block of seed 001, and the one-line failure messages on stderr. Text from the server is
 * printed with control characters replaced. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "cli/cli.h"
#include "lib/common/duration.h"
#include "lib/common/errors.h"
#include "lib/common/timeutil.h"

#define CELL_MAX 200
#define YAML_MAX_DEPTH 64

void
jit_cli_print_failure(const char *format, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, format);
	vsnprintf(line, sizeof line, format, ap);
	va_end(ap);
	fprintf(stderr, "jitsudo: %s\n", line);
}

int
jit_cli_print_json(FILE *out, const json_t *json)
{
	if (json_dumpf(json, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0)
		return -EIO;
	fputc('\n', out);
	return 0;
}

/* Whether a string can be written plain and still read back as the same string: letters,
 * digits and a few punctuation marks, starting with a letter, and none of YAML 1.1's words
 * for booleans and null. Everything else is double-quoted. */
static bool
plain_safe(const char *s)
{
	static const char *const words[] = { "y",    "n",     "yes",  "no",  "on", "off",
		                             "true", "false", "null", "nan", "inf" };
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '@' || c == '/'))
			return false;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

static int
emit(yaml_emitter_t *e, yaml_event_t *ev)
{
	return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int
emit_scalar(yaml_emitter_t *e, const char *text, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)YAML_STR_TAG,
	                                  (yaml_char_t *)text, (int)strlen(text), 1, 1, style))
		return -ENOMEM;
	return emit(e, &ev);
}

static int
emit_string(yaml_emitter_t *e, const char *s)
{
	if (plain_safe(s))
		return emit_scalar(e, s, YAML_PLAIN_SCALAR_STYLE);
	/* Multi-line text (a policy's Rego) reads best as a literal block; the emitter falls back
	 * to quoting when the text cannot be written that way. */
	if (strchr(s, '\n'))
		return emit_scalar(e, s, YAML_LITERAL_SCALAR_STYLE);
	return emit_scalar(e, s, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int
emit_value(yaml_emitter_t *e, const json_t *j, int depth)
{
	yaml_event_t ev;
	char num[64];
	int r;

	if (depth > YAML_MAX_DEPTH)
		return JIT_ERR_TOO_LARGE;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *value;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_MAP_TAG, 1,
		                                         YAML_BLOCK_MAPPING_STYLE))
			return -ENOMEM;
		if ((r = emit(e, &ev)) < 0)
			return r;
		json_object_foreach((json_t *)j, key, value)
		{
			if ((r = emit_string(e, key)) < 0 ||
			    (r = emit_value(e, value, depth + 1)) < 0)
				return r;
		}
		if (!yaml_mapping_end_event_initialize(&ev))
			return -ENOMEM;
		return emit(e, &ev);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *value;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_SEQ_TAG, 1,
		                                          YAML_BLOCK_SEQUENCE_STYLE))
			return -ENOMEM;
		if ((r = emit(e, &ev)) < 0)
			return r;
		json_array_foreach(j, i, value)
		{
			if ((r = emit_value(e, value, depth + 1)) < 0)
				return r;
		}
		if (!yaml_sequence_end_event_initialize(&ev))
			return -ENOMEM;
		return emit(e, &ev);
	}
	case JSON_STRING:
		return emit_string(e, json_string_value(j));
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return emit_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(j));
		if (!strpbrk(num, ".eEn")) {
			size_t used = strlen(num);
			snprintf(num + used, sizeof num - used, ".0");
		}
		return emit_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
	case JSON_TRUE:
		return emit_scalar(e, "true", YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(e, "false", YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(e, "null", YAML_PLAIN_SCALAR_STYLE);
	}
	return JIT_ERR_INVALID;
}

static int
yaml_write(void *data, unsigned char *buffer, size_t size)
{
	return fwrite(buffer, 1, size, data) == size;
}

int
jit_cli_print_yaml(FILE *out, const json_t *json)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int r;

	if (!yaml_emitter_initialize(&e))
		return -ENOMEM;
	yaml_emitter_set_output(&e, yaml_write, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_indent(&e, 2);
	r = -ENOMEM;
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
		goto out;
	if ((r = emit(&e, &ev)) < 0)
		goto out;
	r = -ENOMEM;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
		goto out;
	if ((r = emit(&e, &ev)) < 0 || (r = emit_value(&e, json, 0)) < 0)
		goto out;
	r = -ENOMEM;
	if (!yaml_document_end_event_initialize(&ev, 1))
		goto out;
	if ((r = emit(&e, &ev)) < 0)
		goto out;
	r = -ENOMEM;
	if (!yaml_stream_end_event_initialize(&ev))
		goto out;
	r = emit(&e, &ev);
out:
	yaml_emitter_delete(&e);
	return r;
}

int
jit_cli_print_machine(const struct jit_cli *cli, const json_t *json)
{
	int r;
	if (cli->output == JIT_CLI_OUTPUT_JSON)
		r = jit_cli_print_json(stdout, json);
	else if (cli->output == JIT_CLI_OUTPUT_YAML)
		r = jit_cli_print_yaml(stdout, json);
	else
		return 1;
	if (r < 0 && jit_cli_output_closed())
		return -EPIPE; /* main ends quietly */
	if (r < 0)
		return jit_cli_fail(r, "cannot write the output: %s", jit_strerror(r));
	return 0;
}

bool
jit_cli_output_closed(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

	/* The write end of a pipe without readers polls as POLLERR; a socket whose peer is gone
	 * or a hung-up terminal as POLLHUP. A full disk polls writable: that stays an error. */
	if (poll(&p, 1, 0) != 1)
		return false;
	return (p.revents & (POLLERR | POLLHUP)) != 0;
}

/* ---- text ------------------------------------------------------------------------------ */

void
jit_cli_sanitize(const char *text, char *buf, size_t size)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)text;

	if (size == 0)
		return;
	while (*p && o + 1 < size) {
		unsigned char c = *p;
		size_t n = 1;
		/* Keep whole UTF-8 sequences; anything malformed becomes '?'. */
		if (c >= 0xc2 && c <= 0xf4) {
			size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			size_t k = 1;
			while (k < want && (p[k] & 0xc0) == 0x80)
				k++;
			if (k == want) {
				if (o + want >= size)
					break;
				memcpy(buf + o, p, want);
				o += want;
				p += want;
				continue;
			}
			n = k;
			buf[o++] = '?';
			p += n;
			continue;
		}
		buf[o++] = (c < 0x20 || c == 0x7f || c >= 0x80) ? '?' : (char)c;
		p += n;
	}
	buf[o] = '\0';
}

const char *
jit_cli_short_state(const char *state)
{
	static const char prefix[] = "REQUEST_STATE_";
	if (state && strncmp(state, prefix, sizeof prefix - 1) == 0)
		return state + sizeof prefix - 1;
	return state ? state : "";
}

const char *
jit_cli_str(const json_t *object, const char *key)
{
	const char *s = json_string_value(json_object_get(object, key));
	return s ? s : "";
}

const char *
jit_cli_table_time(const json_t *object, const char *key, char *buf, size_t size)
{
	const char *text = jit_cli_str(object, key);
	int64_t ns;

	if (jit_rfc3339_parse(text, &ns) < 0 || jit_rfc3339_format(ns, false, buf, size) < 0)
		jit_cli_sanitize(text, buf, size);
	return buf;
}

void
jit_cli_format_left(int64_t seconds, char *buf, size_t size)
{
	if (seconds <= 0 || jit_duration_format(seconds, buf, size) < 0)
		snprintf(buf, size, "expired");
}

/* ---- tables ------------------------------------------------------------------------------ */

int
jit_cli_table_init(struct jit_cli_table *t, size_t columns)
{
	memset(t, 0, sizeof *t);
	if (columns == 0 || columns > 32)
		return JIT_ERR_INVALID;
	t->columns = columns;
	return 0;
}

int
jit_cli_table_add(struct jit_cli_table *t, const char *const *cells)
{
	if (t->rows == t->capacity) {
		size_t capacity = t->capacity ? t->capacity * 2 : 16;
		char **grown = reallocarray(t->cells, capacity * t->columns, sizeof(char *));
		if (!grown)
			return -ENOMEM;
		t->cells = grown;
		t->capacity = capacity;
	}
	for (size_t c = 0; c < t->columns; c++) {
		char buf[CELL_MAX + 1];
		jit_cli_sanitize(cells[c] ? cells[c] : "", buf, sizeof buf);
		char *copy = strdup(buf);
		if (!copy) {
			for (size_t k = 0; k < c; k++)
				free(t->cells[t->rows * t->columns + k]);
			return -ENOMEM;
		}
		t->cells[t->rows * t->columns + c] = copy;
	}
	t->rows++;
	return 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t
text_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			w++;
	return w;
}

void
jit_cli_table_print(const struct jit_cli_table *t, FILE *out)
{
	size_t width[32] = { 0 };

	for (size_t r = 0; r < t->rows; r++)
		for (size_t c = 0; c < t->columns; c++) {
			size_t w = text_width(t->cells[r * t->columns + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < t->columns; c++) {
			const char *cell = t->cells[r * t->columns + c];
			fputs(cell, out);
			if (c + 1 < t->columns)
				fprintf(out, "%*s", (int)(width[c] - text_width(cell) + 2), "");
		}
		fputc('\n', out);
	}
}

void
jit_cli_table_free(struct jit_cli_table *t)
{
	if (!t->cells)
		return;
	for (size_t i = 0; i < t->rows * t->columns; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->rows = t->capacity = 0;
}

/* ---- the request block ----------------------------------------------------------------- */

static void
line(FILE *out, const char *label, const char *value)
{
	char buf[1024];
	jit_cli_sanitize(value, buf, sizeof buf);
	fprintf(out, "%s: %s\n", label, buf);
}

void
jit_cli_print_request_block(FILE *out, const json_t *request, bool full)
{
	char buf[64];
	const char *v;
	json_int_t seconds;

	line(out, "Request ID", jit_cli_str(request, "id"));
	line(out, "State", jit_cli_short_state(jit_cli_str(request, "state")));
	line(out, "Provider", jit_cli_str(request, "provider"));
	line(out, "Role", jit_cli_str(request, "role"));
	line(out, "Scope", jit_cli_str(request, "resource_scope"));
	if (full) {
		line(out, "Requester", jit_cli_str(request, "requester_identity"));
		seconds = json_integer_value(json_object_get(request, "duration_seconds"));
		if (seconds > 0 && jit_duration_format(seconds, buf, sizeof buf) == 0)
			line(out, "Duration", buf);
		line(out, "Reason", jit_cli_str(request, "reason"));
		if (json_is_true(json_object_get(request, "break_glass")))
			line(out, "Break glass", "yes");
		line(out, "Created", jit_cli_str(request, "created_at"));
		json_t *approvals = json_object_get(request, "approvals");
		size_t i;
		json_t *a;
		json_array_foreach(approvals, i, a)
		{
			char text[800];
			char who[300], comment[400];
			jit_cli_sanitize(jit_cli_str(a, "approver_identity"), who, sizeof who);
			jit_cli_sanitize(jit_cli_str(a, "comment"), comment, sizeof comment);
			snprintf(text, sizeof text, "%s at %s%s%s%s", who,
			         jit_cli_str(a, "approved_at"), comment[0] ? " (\"" : "", comment,
			         comment[0] ? "\")" : "");
			line(out, "Approved by", text);
		}
		if ((v = jit_cli_str(request, "decided_by"))[0])
			line(out, "Decided by", v);
		if ((v = jit_cli_str(request, "decision_reason"))[0])
			line(out, "Decision reason", v);
		if ((v = jit_cli_str(request, "pending_expires_at"))[0] &&
		    strcmp(jit_cli_short_state(jit_cli_str(request, "state")), "PENDING") == 0)
			line(out, "Pending until", v);
	}
	if ((v = jit_cli_str(request, "expires_at"))[0]) {
		int64_t ns;
		line(out, "Expires", v);
		const char *state = jit_cli_short_state(jit_cli_str(request, "state"));
		if (jit_rfc3339_parse(v, &ns) == 0 &&
		    (strcmp(state, "APPROVED") == 0 || strcmp(state, "ACTIVE") == 0)) {
			jit_cli_format_left((ns - jit_now_realtime_ns()) / JIT_NSEC_PER_SEC, buf,
			                    sizeof buf);
			line(out, "Time left", buf);
		}
	}
}
