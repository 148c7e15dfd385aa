/* floe_pipeline.h: the engine behind `floe analyze`: reads many files at once, decodes and
 * parses them on worker threads, filters and aggregates the records, and merges the workers'
 * results into one table and one set of totals. See the DESIGN comment in floe_pipeline.c for
 * the threads, queues and buffer ownership.
 *
 * Results do not depend on the thread count, the I/O backend or the read size: aggregation
 * and totals are sums, minima and maxima merged by key, and every recorded place (bad line,
 * failure) carries its file's index in the input order. */
#ifndef FLOE_PIPELINE_H
#define FLOE_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_agg.h"
#include "floe_detect.h"
#include "floe_filter.h"
#include "floe_reader.h"
#include "floe_status.h"
#include "floe_stream.h"
#include "floe_totals.h"

/* One input: a file path, or "-" for standard input. Read in the order given. */
typedef struct floe_input {
    const char *path;
    uint64_t size_hint; /* bytes expected, for progress only (0: unknown) */
} floe_input;

typedef struct floe_progress {
    uint64_t files_done; /* files read to their end (or failed) */
    uint64_t files_total;
    uint64_t bytes_read;  /* bytes read from files (compressed) */
    uint64_t bytes_total; /* sum of the size hints */
    double seconds;       /* since the run started */
} floe_progress;

#define FLOE_PIPELINE_MAX_KEYS 8

typedef struct floe_pipeline_options {
    unsigned threads; /* worker threads; 0: one per online CPU */
    floe_io_kind io;
    size_t read_size;           /* bytes per read; a power of two >= 4 KiB */
    unsigned reads_per_worker;  /* read buffers each worker may hold (in flight or queued) */
    floe_stream_options stream; /* format, line mode, sizes; on_batch is the pipeline's own */
    /* Aggregation keys: one table each, filled in the same pass over the input (the report
     * adds its own tables beside the user's). nkeys 0: totals only. */
    const floe_key_spec *keys;
    unsigned nkeys;     /* <= FLOE_PIPELINE_MAX_KEYS */
    floe_filter filter; /* applied before aggregation */
    /* Detectors fed every record (before the filter), through one writer per worker; the
     * caller owns it and draws the findings after the run. NULL: none. */
    floe_detect *detect;
    bool sort_result;        /* sort keys[0]'s table on the reducer's threads (the others are
                                left to floe_agg_sorted or floe_agg_top) */
    uint32_t keep_bad_lines; /* bad lines kept with their place */
    /* When set (by a signal handler, say), the run ends early with FLOE_ERR_INTERRUPTED: no new
     * read is queued, the reads in flight land, the workers finish what they hold, and the
     * reducer does not start. Checked at least every progress_ms (1 s when 0). With a flag, the
     * run's own threads block SIGINT and SIGTERM, so those reach the calling thread and cut
     * its waits short. NULL: runs to the end. */
    const atomic_bool *stop;
    /* Called on the calling thread about every progress_ms while the run goes on. */
    void (*on_progress)(void *ctx, const floe_progress *progress);
    void *progress_ctx;
    unsigned progress_ms;
} floe_pipeline_options;

/* All cores, FLOE_IO_AUTO, 1 MiB reads, 4 per worker, default stream options, no key, no
 * filter, 10 bad lines kept, no progress. */
void floe_pipeline_options_default(floe_pipeline_options *options);

typedef struct floe_pipeline_result {
    floe_totals totals;                     /* every file, line and record read */
    uint64_t records_kept;                  /* records that passed the filter */
    floe_agg *aggs[FLOE_PIPELINE_MAX_KEYS]; /* one table per key (owned), in keys' order */
    unsigned threads;                       /* workers used */
    floe_io_kind io;                        /* FLOE_IO_URING or FLOE_IO_PREAD */
    int io_fallback_errno;                  /* why io_uring was not used under FLOE_IO_AUTO, or 0 */
    bool fixed_buffers;                     /* io_uring read into registered buffers */
    double seconds;                         /* wall time of the run */
    double merge_seconds; /* of which the reducer: totals merged, the table sorted */
    /* With detectors: whether their windows were closed as the files' hours passed (every input
     * has an S3 key time and the lateness is not none), and how many times. */
    bool detect_closing;
    uint32_t detect_closes;
    double detect_close_seconds; /* spent closing them, the workers idle meanwhile */
} floe_pipeline_result;

/* Runs inputs[0..ninputs) to the end. Problems with single files are recorded in the totals
 * and do not fail the run. Fails with FLOE_ERR_NOMEM, FLOE_ERR_INVALID (options),
 * FLOE_ERR_UNSUPPORTED (FLOE_IO_URING refused by the kernel) or FLOE_ERR_IO (threads could
 * not start, the ring failed). *out is set up in every case and freed by the caller. */
floe_status floe_pipeline_run(const floe_input *inputs, size_t ninputs,
                              const floe_pipeline_options *options, floe_pipeline_result *out);

void floe_pipeline_result_free(floe_pipeline_result *result);

#endif
