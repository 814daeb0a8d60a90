/* jitsudod's policy engine: compiles the enabled eligibility and approval policies with
 * lib/rego into one shared, reference-counted set and turns rule values into decisions.
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
#include "lib/rego/compile.h"
#include "server/policy/policy.h"

/* What differs between the two policy types. */
struct policy_type_info {
	enum jit_policy_type type;
	const char *label;   /* "eligibility" */
	const char *package; /* "jitsudo.eligibility" */
	const char *no_policy_reason;
	const char *fallback_reason;
};

static const struct policy_type_info type_info[] = {
	{ JIT_POLICY_ELIGIBILITY, "eligibility", "jitsudo.eligibility",
	  "not eligible: no enabled eligibility policy",
	  "not eligible: no eligibility policy allows this request" },
	{ JIT_POLICY_APPROVAL, "approval", "jitsudo.approval",
	  "approval denied: no enabled approval policy",
	  "approval denied: no approval policy allows this approver" },
};

#define POLICY_TYPE_COUNT JIT_ARRAY_SIZE(type_info)

/* The compiled policies of one type; `rego` is NULL when no policy of the type is enabled. */
struct policy_kind {
	struct jit_rego_policy *rego;
	struct jit_rego_query *allow;
	struct jit_rego_query *reason;
	struct jit_rego_query *approver_tier;      /* approval only */
	struct jit_rego_query *required_approvals; /* approval only */
	struct jit_rego_query *document;           /* the whole package, for eval_raw */
	size_t count;
};

struct jit_policy_set {
	atomic_size_t refcount;
	struct policy_kind kinds[POLICY_TYPE_COUNT];
};

static const struct jit_rego_options policy_options = {
	.syntax = JIT_REGO_SYNTAX_AUTO,
	.max_steps = JIT_POLICY_MAX_STEPS,
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
set_rego_error(struct jit_rego_error *error, enum jit_rego_error_code code, const char *module,
               uint32_t line, uint32_t column, const char *message)
{
	if (error) {
		memset(error, 0, sizeof(*error));
		error->code = code;
		error->line = line;
		error->column = column;
		snprintf(error->module, sizeof(error->module), "%s", module ? module : "");
		snprintf(error->message, sizeof(error->message), "%s", message);
	}
	return JIT_ERR_INVALID;
}

/* An evaluation error as the project's error code: exhausted budgets are JIT_ERR_LIMIT,
 * everything else (conflicts, type errors, memory) JIT_ERR_INTERNAL. */
static int
eval_failure(const struct jit_rego_error *error)
{
	return error && error->code == JIT_REGO_LIMIT_ERROR ? JIT_ERR_LIMIT : JIT_ERR_INTERNAL;
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
module_name(const struct jit_policy *policy)
{
	const char *name = policy->name && policy->name[0] ? policy->name : "unnamed";
	size_t size = strlen(name) + sizeof(".rego");
	char *text = malloc(size);
	if (text)
		snprintf(text, size, "%s.rego", name);
	return text;
}

static void
kind_clear(struct policy_kind *kind)
{
	jit_rego_query_free(kind->allow);
	jit_rego_query_free(kind->reason);
	jit_rego_query_free(kind->approver_tier);
	jit_rego_query_free(kind->required_approvals);
	jit_rego_query_free(kind->document);
	jit_rego_policy_free(kind->rego);
	memset(kind, 0, sizeof(*kind));
}

static int
prepare(struct jit_rego_policy *rego, const char *package, const char *rule,
        struct jit_rego_query **ret_query, struct jit_rego_error *error)
{
	char path[128];
	if (rule)
		snprintf(path, sizeof(path), "%s.%s", package, rule);
	else
		snprintf(path, sizeof(path), "%s", package);
	struct jit_rego_query *query = NULL;
	if (jit_rego_prepare_rule(rego, path, &query, error) < 0)
		return error && error->code == JIT_REGO_INTERNAL_ERROR ? -ENOMEM : JIT_ERR_INVALID;
	/* A path no policy defines is prepared as a general query, which cannot be evaluated as
	 * a rule; it is simply undefined, kept as NULL. */
	if (!query->node) {
		jit_rego_query_free(query);
		query = NULL;
	}
	*ret_query = query;
	return 0;
}

/* Compiles the enabled policies of `info->type` in `policies` into `kind`. */
static int
kind_compile(struct policy_kind *kind, const struct policy_type_info *info,
             struct jit_policy *const *policies, size_t count, struct jit_rego_error *error)
{
	struct jit_rego_module_source *modules = NULL;
	size_t n = 0;
	int r = 0;
	if (count && !(modules = calloc(count, sizeof(*modules))))
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct jit_policy *policy = policies[i];
		if (!policy || !policy->enabled || policy->type != info->type)
			continue;
		const char *text = policy->rego ? policy->rego : "";
		modules[n] =
		        (struct jit_rego_module_source){ module_name(policy), text, strlen(text) };
		if (!modules[n++].name) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (n == 0)
		goto out;
	if (jit_rego_compile(modules, n, NULL, &policy_options, &kind->rego, error) < 0) {
		r = error && error->code == JIT_REGO_INTERNAL_ERROR ? -ENOMEM : JIT_ERR_INVALID;
		goto out;
	}
	kind->count = n;
	if ((r = prepare(kind->rego, info->package, "allow", &kind->allow, error)) < 0 ||
	    (r = prepare(kind->rego, info->package, "reason", &kind->reason, error)) < 0 ||
	    (r = prepare(kind->rego, info->package, NULL, &kind->document, error)) < 0)
		goto out;
	if (info->type == JIT_POLICY_APPROVAL &&
	    ((r = prepare(kind->rego, info->package, "approver_tier", &kind->approver_tier,
	                  error)) < 0 ||
	     (r = prepare(kind->rego, info->package, "required_approvals",
	                  &kind->required_approvals, error)) < 0))
		goto out;
out:
	for (size_t i = 0; i < n; i++)
		free((char *)modules[i].name);
	free(modules);
	if (r < 0)
		kind_clear(kind);
	return r;
}

int
jit_policy_set_compile(struct jit_policy *const *policies, size_t count,
                       struct jit_policy_set **ret_set, struct jit_rego_error *error)
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

/* The one node of the compiled tree named by a package clause (a module alone has one). */
static const struct doc_node *
find_package(const struct doc_node *node)
{
	if (node->is_package)
		return node;
	for (uint32_t i = 0; i < node->child_count; i++) {
		const struct doc_node *found = find_package(node->children[i]);
		if (found)
			return found;
	}
	return NULL;
}

/* Line of the package clause, for the message: the first line that starts with `package`
 * after leading blanks (comments precede it; the module has compiled, so it is there). */
static uint32_t
package_line(const char *text)
{
	uint32_t line = 1;
	for (const char *p = text; *p; line++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "package", 7) == 0)
			return line;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return 1;
}

int
jit_policy_check(const struct jit_policy *policy, struct jit_rego_error *error)
{
	const struct policy_type_info *info = policy ? info_of(policy->type, NULL) : NULL;
	if (!info)
		return set_rego_error(error, JIT_REGO_INVALID_ARGUMENT, NULL, 0, 0,
		                      "the policy type must be eligibility or approval");
	_cleanup_free_ char *name = module_name(policy);
	if (!name)
		return -ENOMEM;
	const char *text = policy->rego ? policy->rego : "";
	struct jit_rego_module_source module = { name, text, strlen(text) };
	struct jit_rego_policy *rego = NULL;
	if (jit_rego_compile(&module, 1, NULL, &policy_options, &rego, error) < 0)
		return error && error->code == JIT_REGO_INTERNAL_ERROR ? -ENOMEM : JIT_ERR_INVALID;
	const struct doc_node *package = find_package(rego->root);
	char expected[64];
	snprintf(expected, sizeof(expected), "data.%s", info->package);
	int r = 0;
	if (!package || !package->path || strcmp(package->path, expected) != 0) {
		char message[512];
		uint32_t line = package_line(text);
		snprintf(message, sizeof(message),
		         "%.200s:%u:1: rego_compile_error: an %s policy must declare package %s "
		         "(found %.100s)",
		         name, line, info->label, info->package,
		         package && package->path ? package->path + 5 : "none");
		r = set_rego_error(error, JIT_REGO_COMPILE_ERROR, name, line, 1, message);
	}
	jit_rego_policy_free(rego);
	return r;
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

static int
eval_value(struct jit_rego_eval *eval, struct jit_rego_query *query,
           const struct jit_rego_input *input, json_t **ret_value, struct jit_rego_error *error)
{
	*ret_value = NULL;
	if (!query)
		return 0;
	if (jit_rego_eval_rule(eval, query, input, ret_value, error) < 0)
		return eval_failure(error);
	return 0;
}

/* Looks up the type and converts the input; *ret_kind is NULL when no policy is enabled. */
static int
begin(struct jit_policy_set *set, enum jit_policy_type type, const json_t *input,
      const struct policy_type_info **ret_info, struct policy_kind **ret_kind,
      struct jit_rego_input **ret_input, struct jit_rego_error *error)
{
	size_t index = 0;
	const struct policy_type_info *info = info_of(type, &index);
	if (!info)
		return set_rego_error(error, JIT_REGO_INVALID_ARGUMENT, NULL, 0, 0,
		                      "the policy type must be eligibility or approval");
	struct policy_kind *kind = set && set->kinds[index].rego ? &set->kinds[index] : NULL;
	struct jit_rego_input *rego_input = NULL;
	if (kind && jit_rego_input_from_json(input, &rego_input, error) < 0)
		return error && error->code == JIT_REGO_INTERNAL_ERROR ? -ENOMEM : JIT_ERR_INVALID;
	*ret_info = info;
	*ret_kind = kind;
	*ret_input = rego_input;
	return 0;
}

int
jit_policy_decide(struct jit_policy_set *set, struct jit_rego_eval *eval, enum jit_policy_type type,
                  const json_t *input, struct jit_decision *ret_decision,
                  struct jit_rego_error *error)
{
	const struct policy_type_info *info;
	struct policy_kind *kind;
	struct jit_rego_input *rego_input = NULL;
	int r = begin(set, type, input, &info, &kind, &rego_input, error);
	if (r < 0)
		return r;
	if (!kind) {
		no_policy_decision(ret_decision, info);
		return 0;
	}
	bool allow = false;
	_cleanup_json_ json_t *reason = NULL;
	_cleanup_json_ json_t *tier = NULL;
	_cleanup_json_ json_t *required = NULL;
	if (kind->allow && jit_rego_eval_bool(eval, kind->allow, rego_input, &allow, error) < 0) {
		r = eval_failure(error);
		goto out;
	}
	if ((r = eval_value(eval, kind->reason, rego_input, &reason, error)) < 0 ||
	    (r = eval_value(eval, kind->approver_tier, rego_input, &tier, error)) < 0 ||
	    (r = eval_value(eval, kind->required_approvals, rego_input, &required, error)) < 0)
		goto out;
	fill_decision(ret_decision, info, allow, reason, tier, required);
out:
	jit_rego_input_free(rego_input);
	return r;
}

int
jit_policy_eval_raw(struct jit_policy_set *set, struct jit_rego_eval *eval,
                    enum jit_policy_type type, const json_t *input,
                    struct jit_decision *ret_decision, char **ret_result_json,
                    struct jit_rego_error *error)
{
	const struct policy_type_info *info;
	struct policy_kind *kind;
	struct jit_rego_input *rego_input = NULL;
	_cleanup_json_ json_t *document = NULL;
	int r = begin(set, type, input, &info, &kind, &rego_input, error);
	if (r < 0)
		return r;
	if (kind && (r = eval_value(eval, kind->document, rego_input, &document, error)) < 0)
		goto out;
	if (!document && !(document = json_object())) {
		r = -ENOMEM;
		goto out;
	}
	char *text = json_dumps(document, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
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
out:
	jit_rego_input_free(rego_input);
	return r;
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
		struct jit_rego_error rego_error = { 0 };
		if ((r = jit_policy_check(policy, &rego_error)) < 0) {
			snprintf(error, error_size, "%s: %s", path, rego_error.message);
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
