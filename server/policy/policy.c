/* jitsudod's policies: compiles the enabled eligibility and approval policies, each type
 * with its language (server/policy/engine.h; Rego today), into one shared, reference-counted
 * set and turns rule values into decisions.
 * Policy text is trusted only as far as the engine's step, depth and memory budgets: any
 * evaluation error is returned as an error and the caller denies. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/errors.h"
#include "lib/json/json.h"
#include "lib/common/timeutil.h"
#include "server/policy/engine.h"
#include "server/policy/policy.h"

/* What differs between the two policy types. */
struct policy_type_info {
	enum jit_policy_type type;
	struct jit_policy_kind kind;
	const char *no_policy_reason;
	const char *fallback_reason;
};

/* The rules asked of each type, in the order of jit_policy_answer.values. */
enum {
	RULE_ALLOW,
	RULE_REASON,
	RULE_APPROVER_TIER,
	RULE_REQUIRED_APPROVALS
};
static const char *const eligibility_rules[] = { "allow", "reason", NULL };
static const char *const approval_rules[] = { "allow", "reason", "approver_tier",
	                                      "required_approvals", NULL };

static const struct policy_type_info type_info[] = {
	{ JIT_POLICY_ELIGIBILITY,
	  { "eligibility", "jitsudo.eligibility", eligibility_rules },
	  "not eligible: no enabled eligibility policy",
	  "not eligible: no eligibility policy allows this request" },
	{ JIT_POLICY_APPROVAL,
	  { "approval", "jitsudo.approval", approval_rules },
	  "approval denied: no enabled approval policy",
	  "approval denied: no approval policy allows this approver" },
};

#define POLICY_TYPE_COUNT JIT_ARRAY_SIZE(type_info)

/* The languages policies may be written in; a context holds one evaluation state of each. */
static const struct jit_policy_language *const languages[] = {
	&jit_policy_language_rego,
};

#define LANGUAGE_COUNT JIT_ARRAY_SIZE(languages)

const struct jit_policy_language *
jit_policy_language_find(const char *name)
{
	for (size_t i = 0; name && i < LANGUAGE_COUNT; i++)
		if (strcmp(languages[i]->name, name) == 0)
			return languages[i];
	return NULL;
}

static size_t
language_index(const struct jit_policy_language *language)
{
	for (size_t i = 0; i < LANGUAGE_COUNT; i++)
		if (languages[i] == language)
			return i;
	return 0;
}

struct jit_policy_context {
	void *states[LANGUAGE_COUNT];
};

int
jit_policy_context_new(struct jit_policy_context **ret_context)
{
	struct jit_policy_context *context = calloc(1, sizeof(*context));
	if (!context)
		return -ENOMEM;
	for (size_t i = 0; i < LANGUAGE_COUNT; i++) {
		int r = languages[i]->context_new(&context->states[i]);
		if (r < 0) {
			jit_policy_context_free(context);
			return r;
		}
	}
	*ret_context = context;
	return 0;
}

void
jit_policy_context_free(struct jit_policy_context *context)
{
	if (!context)
		return;
	for (size_t i = 0; i < LANGUAGE_COUNT; i++)
		if (context->states[i])
			languages[i]->context_free(context->states[i]);
	free(context);
}

/* The compiled policies of one type; `unit` is NULL when no policy of the type is enabled. */
struct policy_kind {
	const struct jit_policy_language *language;
	void *unit;
	size_t count;
};

struct jit_policy_set {
	atomic_size_t refcount;
	struct policy_kind kinds[POLICY_TYPE_COUNT];
};

static const struct policy_type_info *
info_of(enum jit_policy_type type, size_t *ret_index)
{
	for (size_t i = 0; i < POLICY_TYPE_COUNT; i++)
		if (type_info[i].type == type) {
			if (ret_index)
				*ret_index = i;
			return &type_info[i];
		}
	return NULL;
}

static int
invalid_type(struct jit_policy_error *error)
{
	if (error) {
		memset(error, 0, sizeof(*error));
		error->kind = "";
		snprintf(error->message, sizeof(error->message),
		         "the policy type must be eligibility or approval");
	}
	return JIT_ERR_INVALID;
}

/* Copies `text` into `buf`, cut at a UTF-8 character boundary when it does not fit. */
static void
copy_text(char *buf, size_t size, const char *text)
{
	size_t n = strlen(text);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
}

static char *
module_name(const struct jit_policy *policy, const struct jit_policy_language *language)
{
	const char *name = policy->name && policy->name[0] ? policy->name : "unnamed";
	size_t size = strlen(name) + strlen(language->suffix) + 2;
	char *text = malloc(size);
	if (text)
		snprintf(text, size, "%s.%s", name, language->suffix);
	return text;
}

static void
kind_clear(struct policy_kind *kind)
{
	if (kind->unit)
		kind->language->unit_free(kind->unit);
	memset(kind, 0, sizeof(*kind));
}

/* Compiles the enabled policies of `info->type` in `policies` into `kind`. */
static int
kind_compile(struct policy_kind *kind, const struct policy_type_info *info,
             struct jit_policy *const *policies, size_t count, struct jit_policy_error *error)
{
	const struct jit_policy_language *language =
	        jit_policy_language_find(JIT_POLICY_DEFAULT_LANGUAGE);
	struct jit_policy_source *sources = NULL;
	size_t n = 0;
	int r = 0;
	if (count && !(sources = calloc(count, sizeof(*sources))))
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct jit_policy *policy = policies[i];
		if (!policy || !policy->enabled || policy->type != info->type)
			continue;
		const char *text = policy->rego ? policy->rego : "";
		sources[n] = (struct jit_policy_source){ module_name(policy, language), text,
			                                 strlen(text) };
		if (!sources[n++].name) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (n == 0)
		goto out;
	kind->language = language;
	if ((r = language->compile(sources, n, &info->kind, &kind->unit, error)) < 0) {
		kind->unit = NULL;
		goto out;
	}
	kind->count = n;
out:
	for (size_t i = 0; i < n; i++)
		free((char *)sources[i].name);
	free(sources);
	if (r < 0)
		kind_clear(kind);
	return r;
}

int
jit_policy_set_compile(struct jit_policy *const *policies, size_t count,
                       struct jit_policy_set **ret_set, struct jit_policy_error *error)
{
	struct jit_policy_set *set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	atomic_init(&set->refcount, 1);
	for (size_t i = 0; i < POLICY_TYPE_COUNT; i++) {
		int r = kind_compile(&set->kinds[i], &type_info[i], policies, count, error);
		if (r < 0) {
			jit_policy_set_unref(set);
			return r;
		}
	}
	*ret_set = set;
	return 0;
}

struct jit_policy_set *
jit_policy_set_ref(struct jit_policy_set *set)
{
	if (set)
		atomic_fetch_add_explicit(&set->refcount, 1, memory_order_relaxed);
	return set;
}

void
jit_policy_set_unref(struct jit_policy_set *set)
{
	if (!set || atomic_fetch_sub_explicit(&set->refcount, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < POLICY_TYPE_COUNT; i++)
		kind_clear(&set->kinds[i]);
	free(set);
}

size_t
jit_policy_set_count(const struct jit_policy_set *set)
{
	size_t n = 0;
	for (size_t i = 0; set && i < POLICY_TYPE_COUNT; i++)
		n += set->kinds[i].count;
	return n;
}

int
jit_policy_check(const struct jit_policy *policy, struct jit_policy_error *error)
{
	const struct policy_type_info *info = policy ? info_of(policy->type, NULL) : NULL;
	if (!info)
		return invalid_type(error);
	const struct jit_policy_language *language =
	        jit_policy_language_find(JIT_POLICY_DEFAULT_LANGUAGE);
	_cleanup_free_ char *name = module_name(policy, language);
	if (!name)
		return -ENOMEM;
	const char *text = policy->rego ? policy->rego : "";
	struct jit_policy_source source = { name, text, strlen(text) };
	return language->check(&source, &info->kind, error);
}

/* ---- input ----------------------------------------------------------------------------- */

static int
put(json_t *object, const char *key, json_t *value)
{
	return value ? json_object_set_new(object, key, value) : -1;
}

static json_t *
string_or_empty(const char *s)
{
	return json_string(s ? s : "");
}

json_t *
jit_policy_input(const char *user_email, const json_t *user_groups,
                 const struct jit_request *request, int64_t now, const char *host)
{
	static const struct jit_request empty_request = { 0 };
	const struct jit_request *rq = request ? request : &empty_request;
	char now_text[JIT_RFC3339_MAX] = "";
	if (jit_rfc3339_format(now, false, now_text, sizeof(now_text)) < 0)
		now_text[0] = '\0';
	_cleanup_json_ json_t *input = json_object();
	json_t *user = json_object(), *req = json_object(), *context = json_object();
	if (put(input, "user", user) < 0 || put(input, "request", req) < 0 ||
	    put(input, "context", context) < 0)
		return NULL;
	json_t *groups = json_is_array(user_groups) ? json_deep_copy(user_groups) : json_array();
	json_t *metadata =
	        json_is_object(rq->metadata) ? json_deep_copy(rq->metadata) : json_object();
	if (put(user, "email", string_or_empty(user_email)) < 0 ||
	    put(user, "groups", groups) < 0 ||
	    put(req, "provider", string_or_empty(rq->provider)) < 0 ||
	    put(req, "role", string_or_empty(rq->role)) < 0 ||
	    put(req, "resource_scope", string_or_empty(rq->resource_scope)) < 0 ||
	    put(req, "duration_seconds", json_integer(rq->duration_seconds)) < 0 ||
	    put(req, "reason", string_or_empty(rq->reason)) < 0 ||
	    put(req, "break_glass", json_boolean(rq->break_glass)) < 0 ||
	    put(req, "metadata", metadata) < 0 ||
	    put(req, "requester_identity", string_or_empty(rq->requester_identity)) < 0 ||
	    put(context, "trust_tier", json_integer(0)) < 0 ||
	    put(context, "now", json_string(now_text)) < 0)
		return NULL;
	if (host && host[0] && put(context, "host", json_string(host)) < 0)
		return NULL;
	return TAKE_PTR(input);
}

/* ---- decisions ------------------------------------------------------------------------- */

/* required_approvals as a count: integers clamped to 1..JIT_POLICY_MAX_APPROVALS, anything
 * else (undefined, a fraction, a string) 1. */
static int32_t
clamp_approvals(const json_t *value)
{
	double d;
	if (json_is_integer(value)) {
		json_int_t n = json_integer_value(value);
		return n < 1                          ? 1
		       : n > JIT_POLICY_MAX_APPROVALS ? JIT_POLICY_MAX_APPROVALS
		                                      : (int32_t)n;
	}
	if (!json_is_real(value))
		return 1;
	d = json_real_value(value);
	if (isnan(d) || floor(d) != d || d < 1)
		return 1;
	return d > JIT_POLICY_MAX_APPROVALS ? JIT_POLICY_MAX_APPROVALS : (int32_t)d;
}

/* Fills a decision from the rule values (any may be NULL: undefined). */
static void
fill_decision(struct jit_decision *d, const struct policy_type_info *info, bool allow,
              const json_t *reason, const json_t *tier, const json_t *required)
{
	memset(d, 0, sizeof(*d));
	d->allow = allow;
	if (json_is_string(reason))
		copy_text(d->reason, sizeof(d->reason), json_string_value(reason));
	else if (!allow)
		copy_text(d->reason, sizeof(d->reason), info->fallback_reason);
	copy_text(d->approver_tier, sizeof(d->approver_tier),
	          json_is_string(tier) && strcmp(json_string_value(tier), "auto") == 0 ? "auto"
	                                                                               : "human");
	d->required_approvals = clamp_approvals(required);
}

static void
no_policy_decision(struct jit_decision *d, const struct policy_type_info *info)
{
	fill_decision(d, info, false, NULL, NULL, NULL);
	copy_text(d->reason, sizeof(d->reason), info->no_policy_reason);
}

/* Looks up the type; *ret_kind is NULL when no policy of it is enabled. */
static int
begin(struct jit_policy_set *set, enum jit_policy_type type,
      const struct policy_type_info **ret_info, struct policy_kind **ret_kind,
      struct jit_policy_error *error)
{
	size_t index = 0;
	const struct policy_type_info *info = info_of(type, &index);
	if (!info)
		return invalid_type(error);
	*ret_info = info;
	*ret_kind = set && set->kinds[index].unit ? &set->kinds[index] : NULL;
	return 0;
}

static void *
state_of(struct jit_policy_context *context, const struct policy_kind *kind)
{
	return context->states[language_index(kind->language)];
}

int
jit_policy_decide(struct jit_policy_set *set, struct jit_policy_context *context,
                  enum jit_policy_type type, const json_t *input, struct jit_decision *ret_decision,
                  struct jit_policy_error *error)
{
	const struct policy_type_info *info;
	struct policy_kind *kind;
	struct jit_policy_answer answer = { 0 };
	int r = begin(set, type, &info, &kind, error);
	if (r < 0)
		return r;
	if (!kind) {
		no_policy_decision(ret_decision, info);
		return 0;
	}
	if ((r = kind->language->decide(kind->unit, state_of(context, kind), input, &answer,
	                                error)) < 0)
		return r;
	bool typed = type == JIT_POLICY_APPROVAL;
	fill_decision(ret_decision, info, answer.allow, answer.values[RULE_REASON],
	              typed ? answer.values[RULE_APPROVER_TIER] : NULL,
	              typed ? answer.values[RULE_REQUIRED_APPROVALS] : NULL);
	for (size_t i = 0; i < JIT_ARRAY_SIZE(answer.values); i++)
		json_decref(answer.values[i]);
	return 0;
}

int
jit_policy_eval_raw(struct jit_policy_set *set, struct jit_policy_context *context,
                    enum jit_policy_type type, const json_t *input,
                    struct jit_decision *ret_decision, char **ret_result_json,
                    struct jit_policy_error *error)
{
	const struct policy_type_info *info;
	struct policy_kind *kind;
	_cleanup_json_ json_t *document = NULL;
	int r = begin(set, type, &info, &kind, error);
	if (r < 0)
		return r;
	if (kind && (r = kind->language->evaluate(kind->unit, state_of(context, kind), input,
	                                          &document, error)) < 0)
		return r;
	if (!document && !(document = json_object()))
		return -ENOMEM;
	char *text = json_dumps(document, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	if (!kind) {
		no_policy_decision(ret_decision, info);
	} else {
		bool typed = type == JIT_POLICY_APPROVAL;
		fill_decision(ret_decision, info, json_is_true(json_object_get(document, "allow")),
		              json_object_get(document, "reason"),
		              typed ? json_object_get(document, "approver_tier") : NULL,
		              typed ? json_object_get(document, "required_approvals") : NULL);
	}
	*ret_result_json = text;
	return 0;
}

/* ---- default policies ------------------------------------------------------------------ */

/* Reads a regular file of at most `max` bytes without NUL bytes. O_NONBLOCK so that a FIFO
 * put in its place cannot stall the server; it is then refused as not regular. */
static int
read_policy_file(const char *path, size_t max, char **ret_text, char *error, size_t error_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		snprintf(error, error_size, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(error, error_size, "%s: not a regular file", path);
		return JIT_ERR_INVALID;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(error, error_size, "%s: larger than %zu bytes", path, max);
		return JIT_ERR_TOO_LARGE;
	}
	_cleanup_free_ char *text = malloc(max + 1);
	if (!text)
		return -ENOMEM;
	size_t length = 0;
	for (;;) {
		ssize_t n = read(fd, text + length, max + 1 - length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			snprintf(error, error_size, "%s: %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		length += (size_t)n;
		if (length > max) {
			snprintf(error, error_size, "%s: larger than %zu bytes", path, max);
			return JIT_ERR_TOO_LARGE;
		}
	}
	text[length] = '\0';
	if (memchr(text, '\0', length)) {
		snprintf(error, error_size, "%s: contains a NUL byte", path);
		return JIT_ERR_INVALID;
	}
	*ret_text = TAKE_PTR(text);
	return 0;
}

/* The first paragraph of the module's leading comment block, its lines joined by spaces:
 * comment lines up to an empty comment line or the first line that is not a comment. */
static char *
leading_comment(const char *text)
{
	char buf[JIT_MAX_POLICY_DESCRIPTION + 1];
	size_t length = 0;
	const char *p = text;
	while (*p == '\n' || *p == '\r')
		p++;
	while (*p == '#') {
		const char *end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		const char *s = p + 1;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		size_t n = (size_t)(end - s);
		while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
			n--;
		if (n == 0 && length > 0)
			break;
		if (n > 0) {
			if (length > 0 && length < sizeof(buf) - 1)
				buf[length++] = ' ';
			if (n > sizeof(buf) - 1 - length)
				n = sizeof(buf) - 1 - length;
			memcpy(buf + length, s, n);
			length += n;
		}
		p = *end ? end + 1 : end;
	}
	buf[length] = '\0';
	char *description = malloc(length + 1);
	if (description)
		copy_text(description, length + 1, buf);
	return description;
}

int
jit_policy_load_defaults(const char *dir, struct jit_policy ***ret_list, size_t *ret_count,
                         char *error, size_t error_size)
{
	static const struct {
		const char *file;
		const char *name;
		enum jit_policy_type type;
	} defaults[] = {
		{ "eligibility.rego", "default-eligibility", JIT_POLICY_ELIGIBILITY },
		{ "approval.rego", "default-approval", JIT_POLICY_APPROVAL },
	};
	struct jit_policy **list = calloc(JIT_ARRAY_SIZE(defaults), sizeof(*list));
	size_t count = 0;
	int r = 0;
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < JIT_ARRAY_SIZE(defaults); i++) {
		char path[4096];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".",
		                     defaults[i].file) >= sizeof(path)) {
			snprintf(error, error_size, "policies directory path too long");
			r = JIT_ERR_INVALID;
			goto out;
		}
		struct jit_policy *policy = jit_policy_new();
		if (!policy) {
			r = -ENOMEM;
			goto out;
		}
		list[count++] = policy;
		policy->type = defaults[i].type;
		policy->enabled = true;
		if ((r = read_policy_file(path, JIT_MAX_POLICY_REGO, &policy->rego, error,
		                          error_size)) < 0)
			goto out;
		if (!(policy->name = strdup(defaults[i].name)) ||
		    !(policy->description = leading_comment(policy->rego))) {
			r = -ENOMEM;
			goto out;
		}
		struct jit_policy_error policy_error = { 0 };
		if ((r = jit_policy_check(policy, &policy_error)) < 0) {
			snprintf(error, error_size, "%s: %s", path, policy_error.message);
			goto out;
		}
	}
	*ret_list = list;
	*ret_count = count;
	return 0;
out:
	if (r == -ENOMEM)
		snprintf(error, error_size, "out of memory");
	jit_policy_list_free(list, count);
	return r;
}
