#include "floe_ordered.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct slot {
    void *result;
    size_t item;
    bool ready;
} slot;

typedef struct run {
    const floe_ordered_jobs *jobs;
    slot *slots;
    unsigned nslots;
    size_t consumed; /* items consumed so far */
    floe_status error;
    bool stop;
    pthread_mutex_t lock;
    pthread_cond_t changed;
} run;

typedef struct producer {
    run *r;
    unsigned index;
    pthread_t thread;
    bool started;
} producer;

static void fail(run *r, floe_status status) {
    pthread_mutex_lock(&r->lock);
    if (!r->stop) r->error = status;
    r->stop = true;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void *produce_main(void *arg) {
    producer *p = arg;
    run *r = p->r;
    const floe_ordered_jobs *jobs = r->jobs;
    if (jobs->thread_name != NULL) pthread_setname_np(pthread_self(), jobs->thread_name);
    for (size_t item = p->index; item < jobs->items; item += jobs->threads) {
        pthread_mutex_lock(&r->lock);
        while (!r->stop && r->consumed + r->nslots <= item)
            pthread_cond_wait(&r->changed, &r->lock);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->lock);
        if (stop) break;
        /* The slot is this thread's until it is marked ready. */
        void *result = NULL;
        floe_status status = jobs->produce(jobs->ctx, p->index, item, &result);
        if (status != FLOE_OK) {
            fail(r, status);
            break;
        }
        pthread_mutex_lock(&r->lock);
        slot *s = &r->slots[item % r->nslots];
        s->result = result;
        s->item = item;
        s->ready = true;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

static floe_status run_here(const floe_ordered_jobs *jobs) {
    for (size_t item = 0; item < jobs->items; item++) {
        void *result = NULL;
        floe_status status = jobs->produce(jobs->ctx, 0, item, &result);
        if (status == FLOE_OK) status = jobs->consume(jobs->ctx, item, result);
        if (status != FLOE_OK) return status;
    }
    return FLOE_OK;
}

floe_status floe_ordered_run(const floe_ordered_jobs *jobs) {
    if (jobs->threads <= 1 || jobs->items <= 1) return run_here(jobs);
    floe_ordered_jobs clamped = *jobs; /* no more producers than items */
    if (clamped.threads > clamped.items) clamped.threads = (unsigned)clamped.items;
    jobs = &clamped;
    run r = {.jobs = jobs, .error = FLOE_OK};
    r.nslots = jobs->ahead >= jobs->threads ? jobs->ahead : 2 * jobs->threads;
    r.slots = calloc(r.nslots, sizeof(*r.slots));
    producer *producers = calloc(jobs->threads, sizeof(*producers));
    if (r.slots == NULL || producers == NULL) {
        free(r.slots);
        free(producers);
        return FLOE_ERR_NOMEM;
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    unsigned started = 0;
    for (unsigned t = 0; t < jobs->threads; t++) {
        producers[t] = (producer){&r, t, 0, false};
        producers[t].started =
            pthread_create(&producers[t].thread, NULL, produce_main, &producers[t]) == 0;
        started += producers[t].started;
    }
    if (started < jobs->threads) fail(&r, FLOE_ERR_NOMEM); /* an item nobody makes would stall */
    for (size_t item = 0; item < jobs->items; item++) {
        slot *s = &r.slots[item % r.nslots];
        pthread_mutex_lock(&r.lock);
        while (!r.stop && !(s->ready && s->item == item))
            pthread_cond_wait(&r.changed, &r.lock);
        bool stop = r.stop;
        void *result = s->result;
        pthread_mutex_unlock(&r.lock);
        if (stop) break;
        floe_status status = jobs->consume(jobs->ctx, item, result);
        pthread_mutex_lock(&r.lock);
        s->ready = false;
        s->result = NULL;
        r.consumed = item + 1;
        if (status != FLOE_OK && !r.stop) {
            r.error = status;
            r.stop = true;
        }
        pthread_cond_broadcast(&r.changed);
        pthread_mutex_unlock(&r.lock);
        if (status != FLOE_OK) break;
    }
    for (unsigned t = 0; t < jobs->threads; t++)
        if (producers[t].started) pthread_join(producers[t].thread, NULL);
    for (unsigned k = 0; k < r.nslots; k++)
        if (r.slots[k].ready && jobs->discard != NULL) jobs->discard(jobs->ctx, r.slots[k].result);
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.lock);
    free(r.slots);
    free(producers);
    return r.error;
}
