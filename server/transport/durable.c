/* The durable-answer queue (see durable.h): one thread that takes every held answer, waits
 * once on the store for the latest of their changes and releases them all. Trusts the store
 * to number changes in commit order, so one wait covers every earlier change. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/transport/durable.h"

struct jit_durable {
	pthread_t thread;
	struct jit_store *store; /* its own handle, used for jit_store_make_durable only */
	jit_durable_release_fn release;
	void *data;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct jit_durable_entry *head, *tail;
	bool stopping;
};

/* Takes every waiting entry, waits until the latest of their changes is durable and releases
 * them; when the wait fails, each is released as not durable. Drains the queue before
 * stopping. */
static void *
durable_main(void *arg)
{
	struct jit_durable *d = arg;
	for (;;) {
		pthread_mutex_lock(&d->lock);
		while (!d->head && !d->stopping)
			pthread_cond_wait(&d->cond, &d->lock);
		struct jit_durable_entry *list = d->head;
		d->head = d->tail = NULL;
		pthread_mutex_unlock(&d->lock);
		if (!list)
			return NULL;
		uint64_t through = 0;
		for (struct jit_durable_entry *e = list; e; e = e->next)
			if (e->mark > through)
				through = e->mark;
		bool durable = jit_store_make_durable(d->store, through) == 0;
		while (list) {
			struct jit_durable_entry *entry = list;
			list = entry->next;
			d->release(entry, durable, d->data);
		}
	}
}

int
jit_durable_start(struct jit_server *server, jit_durable_release_fn release, void *data,
                  struct jit_durable **ret_durable, char *error, size_t error_size)
{
	struct jit_durable *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	d->release = release;
	d->data = data;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	int r = jit_store_open(&server->config->database, JIT_STORE_BACKGROUND_UPKEEP, &d->store,
	                       error, error_size);
	if (r < 0)
		goto fail;
	if ((r = -pthread_create(&d->thread, NULL, durable_main, d)) < 0) {
		snprintf(error, error_size, "starting a thread: %s", strerror(-r));
		goto fail;
	}
	d->started = true;
	*ret_durable = d;
	return 0;
fail:
	jit_durable_stop(d);
	return r;
}

void
jit_durable_attach(struct jit_durable *durable, struct jit_store *store)
{
	jit_store_defer_durability(store, true);
}

bool
jit_durable_hold(struct jit_durable *d, struct jit_store *store, struct jit_durable_entry *entry)
{
	if ((entry->mark = jit_store_unsynced_mark(store)) == 0)
		return false;
	entry->next = NULL;
	pthread_mutex_lock(&d->lock);
	if (d->tail)
		d->tail->next = entry;
	else
		d->head = entry;
	d->tail = entry;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return true;
}

void
jit_durable_stop(struct jit_durable *d)
{
	if (!d)
		return;
	if (d->started) {
		pthread_mutex_lock(&d->lock);
		d->stopping = true;
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
	}
	jit_store_close(d->store);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}
