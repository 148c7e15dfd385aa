/* floe_ordered.h: items made on several threads, used in order on the calling thread.
 *
 * For outputs whose pieces are independent to produce but must land in one order: chunks of
 * CSV rows, Parquet row groups. Thread t produces items t, t + threads, t + 2 * threads, ...;
 * the calling thread consumes item 0, 1, 2, ... as each is ready. A thread waits before
 * starting an item more than `ahead` items past the last one consumed, so at most `ahead`
 * results exist at once whatever the number of items.
 *
 * DESIGN. One mutex and one condition variable guard a ring of `ahead` result slots. Producers
 * fill a slot outside the lock and publish it under the lock; the consumer takes a published
 * slot under the lock and consumes it outside. The first error (a producer's or the
 * consumer's) sets a stop flag every thread checks at each wait; results produced but never
 * consumed are handed to discard. The calling thread joins every producer before returning,
 * so nothing runs on after floe_ordered_run. */
#ifndef FLOE_ORDERED_H
#define FLOE_ORDERED_H

#include <stddef.h>

#include "floe_status.h"

typedef struct floe_ordered_jobs {
    size_t items;
    unsigned threads; /* producers; 0 or 1: everything on the calling thread */
    unsigned ahead;   /* results held at most (>= threads; 0: 2 * threads) */
    /* Makes item's result. `thread` (0..threads-1) lets the caller keep scratch per thread. */
    floe_status (*produce)(void *ctx, unsigned thread, size_t item, void **result);
    /* Uses a result, in item order; owns it from now on. */
    floe_status (*consume)(void *ctx, size_t item, void *result);
    /* Frees a result that was made but will not be consumed (after an error). */
    void (*discard)(void *ctx, void *result);
    void *ctx;
    const char *thread_name; /* for the producer threads (tools and tests tell them apart) */
} floe_ordered_jobs;

/* FLOE_OK, the first error a callback returned, or FLOE_ERR_NOMEM when threads could not
 * start. */
floe_status floe_ordered_run(const floe_ordered_jobs *jobs);

#endif
