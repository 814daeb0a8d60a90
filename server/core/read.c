/* Reading requests: one by id, and pages of a list. A request the caller may not see is "not
 * found"; a non-admin's list checks each row against the policies within a fixed budget. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "server/core/workflow_internal.h"

int
jit_wf_get(struct jit_worker *w, const struct jit_caller *caller, const char *id,
           struct jit_request **ret_request, struct jit_error *status)
{
	return wf_load_visible(w, caller, id, NULL, ret_request, status);
}

int
jit_wf_list(struct jit_worker *w, const struct jit_caller *caller,
            const struct jit_list_options *options, struct jit_request ***ret_list,
            size_t *ret_count, char *ret_next_before, struct jit_error *status)
{
	/* Stored identities are folded to lower case (server/auth/identity.h), so is the filter. */
	_cleanup_free_ char *who = NULL;
	if (options->requester_identity && !(who = strdup(options->requester_identity)))
		return jit_error_set(status, -ENOMEM, "out of memory");
	jit_identity_fold(who);
	struct jit_request_filter filter = {
		.requester_identity = who,
		.state = options->state,
		.before_id = options->before_id,
	};
	if (options->mine) {
		if (filter.requester_identity &&
		    !jit_identity_equal(filter.requester_identity, caller->identity->email)) {
			*ret_list = NULL;
			*ret_count = 0;
			ret_next_before[0] = '\0';
			return 0;
		}
		filter.requester_identity = caller->identity->email;
	}
	if (options->pending) {
		if (filter.state != JIT_STATE_UNSPECIFIED && filter.state != JIT_STATE_PENDING)
			return jit_error_set(status, JIT_ERR_INVALID,
			                     "state: conflicts with pending=true");
		filter.state = JIT_STATE_PENDING;
	}
	bool all_visible = caller->admin ||
	                   jit_identity_equal(filter.requester_identity, caller->identity->email);
	size_t want = options->page_size;
	struct jit_request **out = calloc(want, sizeof(*out));
	size_t count = 0, scanned = 0;
	char last[JIT_ID_LENGTH + 1] = "";
	bool more = false;
	int r = 0;
	if (!out)
		return jit_error_set(status, -ENOMEM, "out of memory");
	while (count < want) {
		struct jit_request **batch = NULL;
		size_t n = 0;
		filter.limit = all_visible ? want - count : LIST_SCAN_BATCH;
		if (last[0])
			filter.before_id = last;
		if ((r = jit_store_request_list(w->store, jit_caller_tenant(caller), &filter,
		                                &batch, &n)) < 0) {
			jit_error_set(status, r, "listing requests: %s", jit_strerror(r));
			break;
		}
		size_t i = 0;
		for (; i < n && count < want && (all_visible || scanned + i < SCAN_CHECKS_MAX);
		     i++) {
			snprintf(last, sizeof(last), "%s", batch[i]->id);
			if (all_visible || wf_may_see(w, caller, batch[i]))
				out[count++] = TAKE_PTR(batch[i]);
		}
		more = i < n || n == filter.limit;
		jit_request_list_free(batch, n);
		scanned += all_visible ? 0 : i;
		if (!more || scanned >= SCAN_CHECKS_MAX)
			break;
	}
	if (r < 0) {
		jit_request_list_free(out, count);
		return r;
	}
	snprintf(ret_next_before, JIT_ID_LENGTH + 1, "%s", more ? last : "");
	*ret_list = out;
	*ret_count = count;
	return 0;
}
