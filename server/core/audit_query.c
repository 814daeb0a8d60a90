/* Reading the audit log: admins read everything; others read their own events and those of
 * requests they may see, within a fixed budget of rows and policy checks per query. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/errors.h"
#include "server/core/workflow_internal.h"

/* Visibility of events for a non-admin, cached per request id within one query. */
struct seen {
	char id[JIT_ID_LENGTH + 1];
	bool visible;
};

/* 1 when the caller may see `event`, 0 when not, -1 when deciding would take a policy check
 * beyond the query's budget (`cache_max` checks, each remembered in `cache`). */
static int
event_visible(struct jit_worker *w, const struct jit_caller *caller,
              const struct jit_audit_event *event, struct seen *cache, size_t *cache_count,
              size_t cache_max)
{
	if (jit_identity_equal(event->actor_identity, caller->identity->email))
		return 1;
	if (!event->request_id)
		return 0;
	for (size_t i = 0; i < *cache_count; i++)
		if (strcmp(cache[i].id, event->request_id) == 0)
			return cache[i].visible;
	if (*cache_count >= cache_max)
		return -1;
	_cleanup_(jit_request_freep) struct jit_request *request = NULL;
	bool visible = jit_store_request_get(w->store, jit_caller_tenant(caller), event->request_id,
	                                     &request) == 0 &&
	               wf_may_see(w, caller, request);
	snprintf(cache[*cache_count].id, sizeof(cache[0].id), "%s", event->request_id);
	cache[(*cache_count)++].visible = visible;
	return visible;
}

int
jit_wf_audit_query(struct jit_worker *w, const struct jit_caller *caller,
                   const struct jit_audit_filter *filter, struct jit_audit_event ***ret_list,
                   size_t *ret_count, int64_t *ret_next_after, struct jit_error *status)
{
	struct jit_audit_filter f = *filter;
	size_t want = filter->limit;
	int r;
	_cleanup_free_ char *actor = NULL;
	if (filter->actor_identity && !(actor = strdup(filter->actor_identity)))
		return jit_error_set(status, -ENOMEM, "out of memory");
	jit_identity_fold(actor);
	f.actor_identity = actor;
	if (caller->admin) {
		if ((r = jit_store_audit_query(w->store, jit_caller_tenant(caller), &f, ret_list,
		                               ret_count)) < 0)
			return jit_error_set(status, r, "reading the audit log: %s",
			                     jit_strerror(r));
		*ret_next_after = *ret_count == want ? (*ret_list)[*ret_count - 1]->id : 0;
		return 0;
	}
	struct jit_audit_event **out = calloc(want, sizeof(*out));
	struct seen *cache = calloc(SCAN_CHECKS_MAX, sizeof(*cache));
	size_t count = 0, cache_count = 0, scanned = 0;
	int64_t last = f.after_id;
	bool more = false;
	r = 0;
	if (!out || !cache) {
		free(out);
		free(cache);
		return jit_error_set(status, -ENOMEM, "out of memory");
	}
	bool budget_left = true;
	while (count < want && scanned < SCAN_ROWS_MAX && budget_left) {
		struct jit_audit_event **batch = NULL;
		size_t n = 0, i = 0;
		f.after_id = last;
		f.limit = want < SCAN_ROWS_MAX - scanned ? want : SCAN_ROWS_MAX - scanned;
		if ((r = jit_store_audit_query(w->store, jit_caller_tenant(caller), &f, &batch,
		                               &n)) < 0) {
			jit_error_set(status, r, "reading the audit log: %s", jit_strerror(r));
			break;
		}
		for (; i < n && count < want; i++) {
			int v = event_visible(w, caller, batch[i], cache, &cache_count,
			                      SCAN_CHECKS_MAX);
			if (v < 0) {
				budget_left = false; /* this event is read again on the next page */
				break;
			}
			last = batch[i]->id;
			if (v)
				out[count++] = TAKE_PTR(batch[i]);
		}
		more = i < n || n == f.limit;
		scanned += i;
		jit_audit_event_list_free(batch, n);
		if (!more)
			break;
	}
	free(cache);
	if (r < 0) {
		jit_audit_event_list_free(out, count);
		return r;
	}
	*ret_list = out;
	*ret_count = count;
	*ret_next_after = more ? last : 0;
	return 0;
}
