/* Policy verbs: anyone authenticated may read and dry-run; admins apply, delete and reload. A
 * change is compiled with the other enabled policies before it is stored, and the live set is
 * replaced only after the store committed it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "lib/json/json.h"
#include "server/core/workflow_internal.h"

static bool
policy_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > JIT_MAX_POLICY_NAME)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static int
require_admin(struct jit_worker *w, const struct jit_caller *caller, const char *action,
              struct jit_error *status)
{
	if (!caller || caller->admin)
		return 0;
	wf_audit_alone(w, jit_caller_tenant(caller), jit_caller_host(caller),
	               jit_caller_email(caller), action, NULL, "denied",
	               wf_denial_details("not an administrator"));
	return jit_error_set(status, JIT_ERR_DENIED, "only administrators may change policies");
}

int
jit_wf_policy_list(struct jit_worker *w, const struct jit_caller *caller,
                   struct jit_policy ***ret_list, size_t *ret_count, struct jit_error *status)
{
	int r = jit_store_policy_list(w->store, jit_caller_tenant(caller), ret_list, ret_count);
	return r < 0 ? jit_error_set(status, r, "listing policies: %s", jit_strerror(r)) : 0;
}

int
jit_wf_policy_get(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                  struct jit_policy **ret_policy, struct jit_error *status)
{
	int r = jit_store_policy_get(w->store, jit_caller_tenant(caller), id, ret_policy);
	if (r == JIT_ERR_NOT_FOUND)
		return jit_error_set(status, r, "policy %.64s not found", id);
	return r < 0 ? jit_error_set(status, r, "reading policy: %s", jit_strerror(r)) : 0;
}

/* Compiles the stored policies with `replace` put in place of the one of the same name (or
 * added) and `remove_id` left out, as the set that would be live after the change. */
static int
compile_prospective(struct jit_worker *w, const char *tenant, const struct jit_policy *replace,
                    const char *remove_id, struct jit_policy_set **ret_set, size_t *ret_count,
                    struct jit_error *status)
{
	struct jit_policy **list = NULL;
	size_t count = 0;
	int r = jit_store_policy_list(w->store, tenant, &list, &count);
	if (r < 0)
		return jit_error_set(status, r, "listing policies: %s", jit_strerror(r));
	struct jit_policy **use = calloc(count + 1, sizeof(*use));
	size_t n = 0;
	if (!use) {
		jit_policy_list_free(list, count);
		return jit_error_set(status, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		if (remove_id && strcmp(list[i]->id, remove_id) == 0)
			continue;
		if (replace && strcmp(list[i]->name, replace->name) == 0)
			continue;
		use[n++] = list[i];
	}
	if (replace)
		use[n++] = (struct jit_policy *)replace;
	struct jit_policy_error error = { 0 };
	r = jit_policy_set_compile(use, n, ret_set, &error);
	if (r == 0 && ret_count)
		*ret_count = jit_policy_set_count(*ret_set);
	free(use);
	jit_policy_list_free(list, count);
	if (r < 0)
		return jit_error_set(status, JIT_ERR_INVALID, "rego: %s", error.message);
	return 0;
}

static json_t *
policy_details(const struct jit_policy *policy)
{
	return json_pack("{s:s,s:s,s:s,s:b}", "policy_id", policy->id, "name", policy->name, "type",
	                 jit_policy_type_name(policy->type), "enabled", policy->enabled);
}

/* Stores a policy change (an upsert, or a delete) with its audit event, then makes `*set`,
 * compiled beforehand with the change, the live set. The caller holds policy_write_lock. */
static int
commit_policy_change(struct jit_worker *w, const struct jit_caller *caller,
                     struct jit_policy *policy, bool deleting, struct jit_policy_set **set,
                     struct jit_error *status)
{
	int r = wf_begin(w, status);
	if (r < 0)
		return r;
	if ((r = deleting ? jit_store_policy_delete(w->store, jit_caller_tenant(caller), policy->id)
	                  : jit_store_policy_upsert(w->store, jit_caller_tenant(caller), policy)) <
	            0 ||
	    (r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
	                  jit_caller_email(caller), deleting ? "policy.deleted" : "policy.applied",
	                  NULL, "success", policy_details(policy))) < 0 ||
	    (r = jit_store_commit(w->store)) < 0) {
		jit_store_rollback(w->store);
		return jit_error_set(status, JIT_ERR_INTERNAL, "%s the policy failed: %s",
		                     deleting ? "deleting" : "saving", jit_strerror(r));
	}
	jit_server_set_policies(w->server, TAKE_PTR(*set));
	return 0;
}

int
jit_wf_policy_apply(struct jit_worker *w, const struct jit_caller *caller,
                    struct jit_policy *policy, struct jit_error *status)
{
	int r = require_admin(w, caller, "policy.apply_refused", status);
	if (r < 0)
		return r;
	if (!policy->name || !policy_name_ok(policy->name))
		return jit_error_set(
		        status, JIT_ERR_INVALID,
		        "name: 1 to %d characters of letters, digits, '-', '_' and '.'",
		        JIT_MAX_POLICY_NAME);
	if (policy->type != JIT_POLICY_ELIGIBILITY && policy->type != JIT_POLICY_APPROVAL)
		return jit_error_set(status, JIT_ERR_INVALID,
		                     "type: POLICY_TYPE_ELIGIBILITY or POLICY_TYPE_APPROVAL");
	if (!policy->rego || !policy->rego[0])
		return jit_error_set(status, JIT_ERR_INVALID, "rego: required");
	if (strlen(policy->rego) > JIT_MAX_POLICY_REGO)
		return jit_error_set(status, JIT_ERR_INVALID, "rego: at most %d bytes",
		                     JIT_MAX_POLICY_REGO);
	struct jit_policy_error error = { 0 };
	if (jit_policy_check(policy, &error) < 0)
		return jit_error_set(status, JIT_ERR_INVALID, "rego: %s", error.message);

	pthread_mutex_lock(&w->server->policy_write_lock);
	struct jit_policy_set *set = NULL;
	if ((r = compile_prospective(w, jit_caller_tenant(caller), policy, NULL, &set, NULL,
	                             status)) < 0)
		goto out;
	policy->updated_at = jit_now_realtime_ns();
	free(policy->updated_by);
	if (!(policy->updated_by = strdup(jit_caller_email(caller)))) {
		r = jit_error_set(status, -ENOMEM, "out of memory");
		goto out;
	}
	r = commit_policy_change(w, caller, policy, false, &set, status);
out:
	pthread_mutex_unlock(&w->server->policy_write_lock);
	jit_policy_set_unref(set);
	return r < 0 ? status->code : 0;
}

int
jit_wf_policy_delete(struct jit_worker *w, const struct jit_caller *caller, const char *id,
                     struct jit_error *status)
{
	int r = require_admin(w, caller, "policy.delete_refused", status);
	if (r < 0)
		return r;
	pthread_mutex_lock(&w->server->policy_write_lock);
	struct jit_policy_set *set = NULL;
	_cleanup_(jit_policy_freep) struct jit_policy *policy = NULL;
	if ((r = jit_store_policy_get(w->store, jit_caller_tenant(caller), id, &policy)) < 0) {
		jit_error_set(status, r,
		              r == JIT_ERR_NOT_FOUND ? "policy %.64s not found"
		                                     : "reading policy %.64s failed",
		              id);
		goto out;
	}
	if ((r = compile_prospective(w, jit_caller_tenant(caller), NULL, id, &set, NULL, status)) <
	    0)
		goto out;
	r = commit_policy_change(w, caller, policy, true, &set, status);
out:
	pthread_mutex_unlock(&w->server->policy_write_lock);
	jit_policy_set_unref(set);
	return r < 0 ? status->code : 0;
}

int
jit_wf_policy_eval(struct jit_worker *w, const struct jit_caller *caller, enum jit_policy_type type,
                   const json_t *input, struct jit_decision *ret_decision, char **ret_result_json,
                   struct jit_error *status)
{
	_cleanup_(jit_policy_set_unrefp) struct jit_policy_set *set =
	        jit_server_policies(w->server);
	struct jit_policy_error error = { 0 };
	int r = jit_policy_eval_raw(set, w->eval, type, input, ret_decision, ret_result_json,
	                            &error);
	if (r < 0)
		return jit_error_set(status, JIT_ERR_INVALID, "evaluation failed: %s",
		                     error.message);
	return 0;
}

int
jit_wf_policy_reload(struct jit_worker *w, const struct jit_caller *caller, size_t *ret_loaded,
                     struct jit_error *status)
{
	int r = caller ? require_admin(w, caller, "policy.reload_refused", status) : 0;
	if (r < 0)
		return r;
	pthread_mutex_lock(&w->server->policy_write_lock);
	struct jit_policy_set *set = NULL;
	size_t loaded = 0;
	if ((r = compile_prospective(w, jit_caller_tenant(caller), NULL, NULL, &set, &loaded,
	                             status)) < 0)
		goto out;
	if (caller) {
		if ((r = wf_begin(w, status)) < 0)
			goto out;
		if ((r = wf_audit(w, jit_caller_tenant(caller), jit_caller_host(caller),
		                  jit_caller_email(caller), "policy.reloaded", NULL, "success",
		                  json_pack("{s:I}", "policies_loaded", (json_int_t)loaded))) < 0 ||
		    (r = jit_store_commit(w->store)) < 0) {
			jit_store_rollback(w->store);
			jit_error_set(status, JIT_ERR_INTERNAL, "recording the reload failed");
			goto out;
		}
	}
	jit_server_set_policies(w->server, TAKE_PTR(set));
	*ret_loaded = loaded;
out:
	pthread_mutex_unlock(&w->server->policy_write_lock);
	jit_policy_set_unref(set);
	return r < 0 ? status->code : 0;
}

int
jit_wf_load_default_policies(struct jit_worker *w, struct jit_error *status)
{
	/* The policies of config->policies_dir are the default tenant's. */
	const char *tenant = JIT_DEFAULT_TENANT_ID;
	_cleanup_free_ char *mark = NULL;
	int r = jit_store_meta_get(w->store, "default_policies_loaded", &mark);
	if (r == 0)
		return 0;
	if (r != JIT_ERR_NOT_FOUND)
		return jit_error_set(status, r, "reading the store: %s", jit_strerror(r));
	struct jit_policy **list = NULL;
	size_t count = 0;
	char error[256] = "";
	if ((r = jit_policy_load_defaults(w->server->config->policies_dir, &list, &count, error,
	                                  sizeof(error))) < 0)
		return jit_error_set(status, r, "default policies: %s", error);
	if ((r = jit_store_begin(w->store)) < 0) {
		jit_policy_list_free(list, count);
		return jit_error_set(status, r, "the store is busy");
	}
	for (size_t i = 0; i < count && r == 0; i++) {
		list[i]->updated_at = jit_now_realtime_ns();
		free(list[i]->updated_by);
		list[i]->updated_by = strdup("system");
		if ((r = jit_store_policy_upsert(w->store, tenant, list[i])) == 0)
			r = wf_audit(w, tenant, NULL, "system", "policy.applied", NULL, "success",
			             policy_details(list[i]));
	}
	char now_text[JIT_RFC3339_MAX] = "";
	jit_rfc3339_format(jit_now_realtime_ns(), false, now_text, sizeof(now_text));
	if (r == 0)
		r = jit_store_meta_set(w->store, "default_policies_loaded", now_text);
	if (r == 0)
		r = jit_store_commit(w->store);
	if (r < 0)
		jit_store_rollback(w->store);
	jit_policy_list_free(list, count);
	return r < 0 ? jit_error_set(status, r, "saving default policies: %s", jit_strerror(r)) : 0;
}
