/* DESIGN
 *
 * Threads. The calling thread is the reader; `threads` worker threads do the rest; when they
 * have all stopped, the calling thread is the reducer.
 *
 *   reader (calling thread)            worker i (one per lane i)
 *   open files, queue reads  --in[i]-->  decode, parse, filter, aggregate into the shared
 *   (io_uring or pread)      <-back[i]-- table (its own writer) and its own totals; hand
 *                                        each buffer back
 *   ... then, after every worker has joined: sort the table and merge the totals (reducer);
 *   with detectors, also put their tables in order and draw the findings' parts.
 *
 * The tables. There is one table per key asked for (usually one; the terminal report adds
 * a few small ones), filled from the same parsed batches. For each, all workers add to one
 * floe_agg, each through its own floe_agg_writer: the
 * table's 16 partitions each have a lock, taken once for a chunk of rows. One table rather
 * than one a worker: a key seen by every worker (a busy source, say) is stored once, and the
 * memory a big group-by faults in, which is dear, is not doubled and then merged.
 *
 * Lanes. Each worker owns one lane: an SPSC ck_ring `in` from the reader and an SPSC ck_ring
 * `back` to it. A file is given whole to one lane, when the lane has room, in input order, so
 * a worker sees each file's chunks in order and files one after another; its decoder needs no
 * more. Lanes that fall behind hold their buffers and so get no new files: the load balances
 * itself and a slow worker slows only the reader's feeding of that lane.
 *
 * Buffers. A fixed pool of read buffers (reads_per_worker per lane, read_size bytes each) is
 * allocated once, registered with io_uring, and never grows. Each pool chunk is, at any time,
 * owned by exactly one party:
 *   free (reader) -> in flight (kernel) -> waiting for its turn (reader: reads of a lane
 *   complete in any order and are passed on in file order) -> queued in `in` / being decoded
 *   (worker) -> queued in `back` -> free (reader).
 * A lane may hold at most reads_per_worker chunks: that is the backpressure, and the rings are
 * sized so an enqueue never finds them full.
 *
 * Sleeping. Workers wait for `in` on a futex word bumped by the reader after each enqueue; the
 * reader waits for completions inside io_uring, or for `back` on a futex word bumped by the
 * workers. Both sides announce that they sleep before re-checking the ring, so a wake-up is
 * never lost (see wait_for / wake). Waits time out after progress_ms so progress keeps coming.
 *
 * Closing the detectors' windows. With detectors whose lateness is not none and an S3 key time
 * on every input, the inputs are read in key-time order, and a file whose hour moves the
 * detectors' horizon on (floe_detect_horizon) is not opened until every file before it is done:
 * the reader stops giving out files, waits until every lane has handed back all its chunks
 * (the workers are then idle between files, so nothing adds to the detectors), closes the
 * windows the new horizon ends (floe_detect_close_begin, then the parts on the reducer's
 * threads: close_windows), and goes on. A drain costs at most one file's tail on the other
 * lanes, once an hour of data; within an hour the inputs go largest first, so that tail is
 * a small file's. What closed is decided by the files' names, never by timing; records too old for
 * their file's hour are left out by the detectors' writers and counted as late in the totals.
 *
 * Errors and shutdown. A problem with one file (open, read, decode, bad lines) is recorded in
 * the totals of whoever met it and the run goes on. A fatal error in a worker (out of memory)
 * sets `failed`; the reader then starts no new file, lets the reads in flight land, and every
 * lane gets the DONE sentinel after its last chunk; a failed worker keeps draining its ring
 * and handing buffers back, so the reader can always finish. The first fatal status is the
 * run's result. A stop the caller asks for (options.stop, set by its signal handler) is such a
 * fatal status on the reader's side, FLOE_ERR_INTERRUPTED, and the reducer then does not start;
 * the workers block SIGINT and SIGTERM, so those signals interrupt the reader's waits. */
#include "floe_pipeline.h"

#include "floe_mem.h"
#include "floe_s3key.h"
#include "floe_sort.h"

#include <ck_ring.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ck_ring orders its slots with fences written in inline assembly, which ThreadSanitizer does
 * not see. The chunk a ring carries is published with an explicit release/acquire pair for
 * it, and the ring's own slot accesses are named in tests/tsan.supp. */
#if defined(__SANITIZE_THREAD__)
#define FLOE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FLOE_TSAN 1
#endif
#endif
#ifdef FLOE_TSAN
#include <sanitizer/tsan_interface.h>
#define PUBLISH(p) __tsan_release(p)
#define RECEIVE(p) __tsan_acquire(p)
#else
#define PUBLISH(p) ((void)(p))
#define RECEIVE(p) ((void)(p))
#endif

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

enum {
    CHUNK_FIRST = 1, /* the file's first bytes: start a stream */
    CHUNK_LAST = 2,  /* the file's last bytes */
    CHUNK_CUT = 4,   /* reading failed (err): end the file early */
    CHUNK_DONE = 8,  /* no more files for this lane */
};

typedef struct chunk {
    uint8_t *data; /* read_size bytes of the pool; NULL for DONE */
    size_t len;    /* bytes read into data */
    size_t asked;  /* bytes asked of the read */
    uint32_t file;
    uint32_t lane;
    uint64_t seq;    /* position in the lane's stream of chunks */
    uint64_t offset; /* in the file */
    unsigned flags;
    int err;
    bool ready; /* the read has completed */
    struct chunk *next_free;
} chunk;

/* The reader's view of one input file. */
typedef struct file_state {
    int fd;          /* -1 when closed */
    bool regular;    /* read by offset; else (a pipe, stdin) read() in order */
    bool all_queued; /* every read of it is queued */
    bool pushed;     /* a chunk of it went to its worker */
    bool dead;       /* ended early (read error, shrank): later chunks are dropped */
    bool finished;   /* its last chunk was passed on, or it failed */
    unsigned reads;  /* reads of it queued or in flight */
    uint64_t size;   /* from fstat when opened */
    uint64_t offset; /* next read's offset */
} file_state;

typedef struct lane {
    /* Shared with the worker. */
    ck_ring_t in;
    ck_ring_buffer_t *in_slots;
    ck_ring_t back;
    ck_ring_buffer_t *back_slots;
    _Alignas(64) atomic_uint in_epoch; /* bumped after each enqueue to `in` */
    atomic_uint worker_sleeping;
    chunk done_chunk; /* the DONE sentinel */

    /* Reader only. */
    _Alignas(64) int64_t file; /* file being queued, or -1 */
    unsigned held;             /* pool chunks the lane holds */
    uint64_t next_seq;         /* seq for the next chunk */
    uint64_t push_seq;         /* seq of the next chunk to pass on */
    chunk **window;            /* chunks by seq % reads_per_worker, until passed on */
    bool done_sent;

    /* Worker only. */
    _Alignas(64) pthread_t thread;
    bool started;
    floe_stream *stream;
    floe_totals totals;
    floe_agg_writer *writers[FLOE_PIPELINE_MAX_KEYS]; /* one into each of the pipeline's tables */
    floe_detect_writer *detect;                       /* into options.detect, or NULL */
    uint32_t *rows;                                   /* filter selection, batch_rows long */
    uint64_t records_kept;
    /* What the current file's S3 key says, for records whose format lacks the field. */
    floe_slice key_region, key_account;
    floe_slice *filled; /* batch_rows slices: a column filled from the key */
    struct floe_pipeline *pipe;
} lane;

typedef struct floe_pipeline {
    floe_pipeline_options options;
    const floe_input *inputs;
    size_t ninputs;
    file_state *files;
    size_t next_file; /* next input to give a lane */
    uint64_t files_done;
    uint64_t bytes_read;
    uint64_t bytes_total; /* the inputs' size hints, for progress */

    unsigned nlanes;
    lane *lanes;
    floe_agg *aggs[FLOE_PIPELINE_MAX_KEYS]; /* the tables every lane adds to; the result's once
                                               reduced */
    uint8_t *pool;
    chunk *chunks;
    chunk *free_chunks;
    floe_reader *reader;
    floe_totals reader_totals; /* files that failed before reaching a worker */

    _Alignas(64) atomic_uint back_epoch; /* bumped after each enqueue to a `back` ring */
    atomic_uint reader_sleeping;
    atomic_int failed;    /* first fatal floe_status of a worker, or FLOE_OK */
    uint64_t fields_used; /* bit f: the key or a distinct count reads field f */
    double start;

    /* Closing the detectors' windows as the files' times pass (see "Closing windows" above):
     * inputs are in key-time order, and no file of a new hour is opened until every file
     * before it is done. */
    bool closing;
    floe_input *by_time;  /* the inputs in key-time order, when closing */
    int64_t *key_time;    /* by input */
    int64_t open_horizon; /* floe_detect_horizon of the files opened so far */
    bool at_barrier;      /* the next file starts a new hour: wait for the lanes to drain */
    uint32_t closes;      /* windows closed so many times */
    double close_seconds; /* spent closing them */
} floe_pipeline;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- sleeping and waking ------------------------------------------------------------------ */

static void futex_wait(atomic_uint *word, unsigned expected, unsigned timeout_ms) {
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, &ts, NULL, 0);
}

static void futex_wake(atomic_uint *word) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The waiting side: `epoch_seen` was read before the caller found its ring empty. Announce
 * the sleep, then sleep only if nothing was enqueued since. Pairs with wake(): either the
 * waker sees `sleeping` set and wakes us, or we see its epoch bump (both are seq_cst, so they
 * cannot both miss). */
static void wait_for(atomic_uint *epoch, atomic_uint *sleeping, unsigned epoch_seen,
                     unsigned timeout_ms) {
    atomic_store(sleeping, 1);
    if (atomic_load(epoch) == epoch_seen) futex_wait(epoch, epoch_seen, timeout_ms);
    atomic_store(sleeping, 0);
}

static void wake(atomic_uint *epoch, atomic_uint *sleeping) {
    atomic_fetch_add(epoch, 1);
    if (atomic_load(sleeping)) futex_wake(epoch);
}

/* ---- the workers -------------------------------------------------------------------------- */

/* A column the format lacks but the file's S3 key carries (region: the v2 format has none, the
 * key always does; account-id in custom formats), filled in as though every line had it, so
 * `--by region` works over any format. A view of the batch: the parser's batch is not
 * touched. Returns the batch to use. */
static const floe_batch *fill_from_key(lane *l, const floe_batch *batch, floe_batch *view) {
    const uint64_t wanted = l->pipe->fields_used;
    const floe_field fields[2] = {FLOE_F_REGION, FLOE_F_ACCOUNT_ID};
    const floe_slice values[2] = {l->key_region, l->key_account};
    const floe_batch *out = batch;
    for (int i = 0; i < 2; i++) {
        floe_field f = fields[i];
        if (!(wanted >> f & 1) || floe_batch_has(batch, f) || values[i].ptr == NULL) continue;
        if (out == batch) *view = *batch;
        for (uint32_t r = 0; r < batch->count; r++)
            l->filled[(size_t)i * l->pipe->options.stream.batch_rows + r] = values[i];
        view->values[f] = &l->filled[(size_t)i * l->pipe->options.stream.batch_rows];
        view->present |= UINT64_C(1) << f;
        /* The parser leaves the bits of absent fields clear: not null. */
        out = view;
    }
    return out;
}

static floe_status on_batch(void *ctx, const floe_batch *batch) {
    lane *l = ctx;
    const floe_pipeline *p = l->pipe;
    floe_batch view;
    batch = fill_from_key(l, batch, &view);
    if (l->detect) {
        floe_status status = floe_detect_writer_add(l->detect, batch);
        if (status != FLOE_OK) return status;
    }
    const uint32_t *rows = NULL;
    uint32_t n = batch->count;
    if (!floe_filter_is_all(&p->options.filter)) {
        n = floe_filter_select(&p->options.filter, batch, l->rows);
        rows = l->rows;
    }
    l->records_kept += n;
    for (unsigned k = 0; n > 0 && k < p->options.nkeys; k++) {
        floe_status status = floe_agg_writer_add_rows(l->writers[k], batch, rows, n);
        if (status != FLOE_OK) return status;
    }
    return FLOE_OK;
}

static floe_status process_chunk(lane *l, const chunk *c) {
    const floe_pipeline *p = l->pipe;
    floe_status status = FLOE_OK;
    if (c->flags & CHUNK_FIRST) {
        const char *path = p->inputs[c->file].path;
        floe_s3key key;
        floe_s3key_parse(path, strlen(path), &key);
        l->key_region = (floe_slice){key.region.len ? path + key.region.off : NULL, key.region.len};
        l->key_account =
            (floe_slice){key.account.len ? path + key.account.off : NULL, key.account.len};
        if (l->detect) floe_detect_writer_begin_file(l->detect, p->closing, key.time);
        status = floe_stream_begin(l->stream, path, c->file, &l->totals, c->data, c->len);
    }
    if (status != FLOE_OK) return status;
    if (c->flags & CHUNK_CUT) {
        /* A shrunken file's last chunk still carries the bytes read before the end. */
        if (c->len > 0) status = floe_stream_feed(l->stream, c->data, c->len, false);
        if (status == FLOE_OK) status = floe_stream_cut(l->stream, c->err);
    } else {
        status = floe_stream_feed(l->stream, c->data, c->len, (c->flags & CHUNK_LAST) != 0);
    }
    if (status == FLOE_OK && l->detect && (c->flags & (CHUNK_LAST | CHUNK_CUT)) &&
        floe_detect_writer_late(l->detect) > 0)
        status = floe_totals_note_late(&l->totals, p->inputs[c->file].path, c->file,
                                       floe_detect_writer_late(l->detect));
    return status;
}

static void *worker_main(void *arg) {
    lane *l = arg;
    pthread_setname_np(pthread_self(), "floe-worker"); /* for ps, gdb and tests */
    floe_pipeline *p = l->pipe;
    const unsigned timeout_ms = 1000;
    for (;;) {
        unsigned epoch = atomic_load(&l->in_epoch);
        void *entry = NULL;
        if (!ck_ring_dequeue_spsc(&l->in, l->in_slots, &entry)) {
            wait_for(&l->in_epoch, &l->worker_sleeping, epoch, timeout_ms);
            continue;
        }
        chunk *c = entry;
        RECEIVE(c);
        if (c->flags & CHUNK_DONE) break;
        if (atomic_load(&p->failed) == FLOE_OK) {
            floe_status status = process_chunk(l, c);
            if (status != FLOE_OK) {
                int expected = FLOE_OK;
                atomic_compare_exchange_strong(&p->failed, &expected, (int)status);
            }
        }
        PUBLISH(c);
        /* The ring has room for every chunk the lane can hold (see lanes_init). */
        bool queued = ck_ring_enqueue_spsc(&l->back, l->back_slots, c);
        (void)queued;
        wake(&p->back_epoch, &p->reader_sleeping);
    }
    return NULL;
}

/* ---- the reader --------------------------------------------------------------------------- */

static chunk *take_chunk(floe_pipeline *p, lane *l) {
    chunk *c = p->free_chunks;
    p->free_chunks = c->next_free;
    c->next_free = NULL;
    c->lane = (uint32_t)(l - p->lanes);
    c->seq = l->next_seq++;
    c->len = 0;
    c->asked = 0;
    c->flags = 0;
    c->err = 0;
    c->ready = false;
    l->window[c->seq % p->options.reads_per_worker] = c;
    l->held++;
    return c;
}

static void give_back(floe_pipeline *p, lane *l, chunk *c) {
    c->next_free = p->free_chunks;
    p->free_chunks = c;
    l->held--;
}

/* Takes back the chunks workers are done with. Returns how many. */
static unsigned reclaim(floe_pipeline *p) {
    unsigned n = 0;
    for (unsigned i = 0; i < p->nlanes; i++) {
        lane *l = &p->lanes[i];
        void *entry;
        while (ck_ring_dequeue_spsc(&l->back, l->back_slots, &entry)) {
            RECEIVE(entry);
            give_back(p, l, entry);
            n++;
        }
    }
    return n;
}

static void close_file(file_state *f) {
    if (f->fd > 0) close(f->fd);
    f->fd = -1;
}

static void file_ended(floe_pipeline *p, file_state *f) {
    if (!f->finished) {
        f->finished = true;
        p->files_done++;
    }
    if (f->reads == 0) close_file(f);
}

/* A file that fails before any of it reached a worker is counted by the reader. */
static floe_status fail_unstarted(floe_pipeline *p, uint32_t index, int err, bool opened) {
    p->reader_totals.files++;
    file_ended(p, &p->files[index]);
    return floe_totals_note_file_failure(&p->reader_totals, p->inputs[index].path, index, err,
                                         opened);
}

/* Opens the next input for lane l. Returns FLOE_OK (l->file set, or no input left) or
 * FLOE_ERR_NOMEM. Inputs that cannot be opened are recorded and skipped. */
static floe_status open_next(floe_pipeline *p, lane *l) {
    while (p->next_file < p->ninputs) {
        if (p->closing) {
            /* A new hour waits until every file before it is done (run_reader closes the
             * windows the hour ends). */
            int64_t horizon = floe_detect_horizon(p->options.detect, p->key_time[p->next_file]);
            if (horizon > p->open_horizon) {
                p->at_barrier = true;
                break;
            }
        }
        uint32_t index = (uint32_t)p->next_file++;
        file_state *f = &p->files[index];
        const char *path = p->inputs[index].path;
        int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            floe_status status = fail_unstarted(p, index, errno, false);
            if (status != FLOE_OK) return status;
            continue;
        }
        struct stat st;
        if (fstat(fd, &st) != 0) {
            int err = errno;
            if (fd != STDIN_FILENO) close(fd);
            floe_status status = fail_unstarted(p, index, err, true);
            if (status != FLOE_OK) return status;
            continue;
        }
        f->fd = fd == STDIN_FILENO ? 0 : fd;
        f->regular = S_ISREG(st.st_mode);
        f->size = f->regular ? (uint64_t)st.st_size : 0;
        if (f->regular) (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        l->file = index;
        return FLOE_OK;
    }
    l->file = -1;
    return FLOE_OK;
}

/* read() for inputs that are not regular files: in order, on this thread. Blocks; such inputs
 * (standard input) come alone in practice. */
static void read_in_order(floe_pipeline *p, file_state *f, chunk *c) {
    size_t want = c->seq == 0 || (c->flags & CHUNK_FIRST) ? FLOE_DECODE_MAGIC_LEN : 1;
    size_t got = 0;
    while (got < p->options.read_size) {
        ssize_t r = read(f->fd, c->data + got, p->options.read_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* A non-blocking standard input: wait for it rather than spin. */
            struct pollfd wait_in = {f->fd, POLLIN, 0};
            (void)poll(&wait_in, 1, -1);
            continue;
        }
        if (r < 0) {
            c->err = errno;
            f->all_queued = true; /* nothing after an error counts */
            break;
        }
        if (r == 0) {
            c->flags |= CHUNK_LAST;
            break;
        }
        got += (size_t)r;
        if (got >= want) break;
    }
    c->len = got;
    c->asked = p->options.read_size;
    c->ready = true;
    if (c->flags & CHUNK_LAST) f->all_queued = true;
}

/* Queues reads for lane l while it has room. Returns FLOE_OK or FLOE_ERR_NOMEM. */
static floe_status feed_lane(floe_pipeline *p, lane *l, bool *progressed) {
    const size_t read_size = p->options.read_size;
    while (l->held < p->options.reads_per_worker && p->free_chunks != NULL &&
           floe_reader_has_room(p->reader)) {
        if (l->file < 0) {
            if (atomic_load(&p->failed) != FLOE_OK) return FLOE_OK;
            floe_status status = open_next(p, l);
            if (status != FLOE_OK) return status;
            if (l->file < 0) return FLOE_OK;
        }
        uint32_t index = (uint32_t)l->file;
        file_state *f = &p->files[index];
        if (f->dead || atomic_load(&p->failed) != FLOE_OK) {
            /* The file ended early (or the run is stopping): queue no more of it. */
            f->all_queued = true;
            l->file = -1;
            if (f->reads == 0 && f->finished) close_file(f);
            continue;
        }
        chunk *c = take_chunk(p, l);
        c->file = index;
        c->offset = f->offset;
        if (f->offset == 0) c->flags |= CHUNK_FIRST;
        *progressed = true;
        if (!f->regular) {
            read_in_order(p, f, c);
            f->offset += c->len;
        } else {
            uint64_t left = f->size - f->offset;
            c->asked = left < read_size ? (size_t)left : read_size;
            f->offset += c->asked;
            if (f->offset == f->size) {
                c->flags |= CHUNK_LAST;
                f->all_queued = true;
            }
            if (c->asked == 0) {
                c->ready = true; /* an empty file: nothing to read */
            } else {
                f->reads++;
                floe_reader_queue(p->reader, f->fd, c->data, c->asked, c->offset,
                                  (uint64_t)(c - p->chunks));
            }
        }
        if (f->all_queued) l->file = -1;
    }
    return FLOE_OK;
}

/* Marks a completed read's chunk ready. */
static void land(floe_pipeline *p, const floe_read_done *done) {
    chunk *c = &p->chunks[done->tag];
    file_state *f = &p->files[c->file];
    f->reads--;
    if (done->result < 0) {
        c->err = (int)-done->result;
    } else {
        c->len = (size_t)done->result;
        p->bytes_read += c->len;
    }
    c->ready = true;
}

/* Passes lane l's ready chunks on in order. Returns FLOE_OK or FLOE_ERR_NOMEM. */
static floe_status pass_on(floe_pipeline *p, lane *l, bool *progressed) {
    const unsigned window = p->options.reads_per_worker;
    while (l->push_seq < l->next_seq) {
        chunk *c = l->window[l->push_seq % window];
        if (!c->ready) break;
        l->push_seq++;
        *progressed = true;
        file_state *f = &p->files[c->file];
        if (!f->regular && c->err == 0) p->bytes_read += c->len;
        if (f->dead) {
            give_back(p, l, c);
            if (f->reads == 0) close_file(f);
            continue;
        }
        if (f->regular && c->err == 0 && c->len < c->asked) {
            /* The file shrank while being read: the bytes up to here count, like a read
             * error's, and the line the end cut off is dropped (a cut number would still
             * parse, wrongly). */
            c->err = FLOE_FILE_SHRANK;
        }
        if (c->err != 0) f->dead = true; /* nothing after this chunk counts */
        /* A file that fails before any of its bytes: the reader counts it. (A first chunk cut
         * short by a shrinking file still carries bytes: the worker takes them.) */
        if (c->err != 0 && !f->pushed && (c->err != FLOE_FILE_SHRANK || c->len == 0)) {
            floe_status status = fail_unstarted(p, c->file, c->err, true);
            give_back(p, l, c);
            if (status != FLOE_OK) return status;
            continue;
        }
        if (c->err != 0) c->flags |= CHUNK_CUT;
        f->pushed = true;
        if (c->flags & (CHUNK_LAST | CHUNK_CUT)) file_ended(p, f);
        PUBLISH(c);
        bool queued = ck_ring_enqueue_spsc(&l->in, l->in_slots, c);
        (void)queued;
        wake(&l->in_epoch, &l->worker_sleeping);
    }
    return FLOE_OK;
}

static bool lane_idle(const lane *l) {
    return l->file < 0 && l->push_seq == l->next_seq;
}

static void send_done(lane *l) {
    if (l->done_sent) return;
    l->done_sent = true;
    l->done_chunk.flags = CHUNK_DONE;
    PUBLISH(&l->done_chunk);
    bool queued = ck_ring_enqueue_spsc(&l->in, l->in_slots, &l->done_chunk);
    (void)queued;
    wake(&l->in_epoch, &l->worker_sleeping);
}

static void report_progress(floe_pipeline *p, double *last) {
    if (p->options.on_progress == NULL) return;
    double now = now_seconds();
    if ((now - *last) * 1000 < p->options.progress_ms) return;
    *last = now;
    floe_progress progress = {p->files_done, p->ninputs, p->bytes_read, p->bytes_total,
                              now - p->start};
    p->options.on_progress(p->options.progress_ctx, &progress);
}

/* ---- the reducer's threads (also closing the detectors' windows) -------------------------- */

/* The reducer's work when the caller wants the table in order, in two phases, each spread over
 * the threads (job t of n):
 *   sort:   sort partitions t, t + n, ... of the table;
 *   slices: merge key range t of the sorted partitions into the final order.
 * Jobs share nothing: partitions are disjoint, and so are key ranges. With detectors, a third
 * phase once their tables are in order:
 *   find:   the findings' parts, each thread taking the next one left (each part has its own
 *           list);
 * and, during the run, at each new hour of key times (close_windows):
 *   close:  the parts of closing the windows that hour ends, handed out the same way. */
typedef enum reduce_phase { REDUCE_SORT, REDUCE_SLICES, REDUCE_FIND, REDUCE_CLOSE } reduce_phase;

typedef struct reduce_job {
    floe_agg *agg;
    floe_detect *detect;    /* REDUCE_FIND, REDUCE_CLOSE: draw the parts of its findings, */
    atomic_uint *next_part; /* taking the next one not taken until none is left */
    reduce_phase phase;
    unsigned index, count;
    floe_status status;
    pthread_t thread;
    bool started;
} reduce_job;

static void reduce_work(reduce_job *job) {
    if (job->phase == REDUCE_FIND || job->phase == REDUCE_CLOSE) {
        /* Parts differ in cost (scans and sweeps are the largest), so each thread takes the next
         * free one; which thread drew a part does not show in the findings. Relaxed is enough:
         * the counter only hands out numbers, and pthread_join orders the rest. */
        while (job->status == FLOE_OK) {
            unsigned part = atomic_fetch_add_explicit(job->next_part, 1, memory_order_relaxed);
            if (part >= floe_detect_part_count()) break;
            job->status = job->phase == REDUCE_FIND ? floe_detect_find_part(job->detect, part)
                                                    : floe_detect_close_part(job->detect, part);
        }
        return;
    }
    if (job->phase == REDUCE_SLICES) {
        floe_agg_merge_slice(job->agg, job->index);
        return;
    }
    for (unsigned part = job->index; part < FLOE_AGG_PARTITIONS && job->status == FLOE_OK;
         part += job->count)
        job->status = floe_agg_sort_partition(job->agg, part);
}

static void *reduce_thread(void *arg) {
    pthread_setname_np(pthread_self(), "floe-reduce");
    reduce_work(arg);
    return NULL;
}

/* Runs the n jobs of a phase at once: job 0 on this thread, the others on threads of their own
 * (or here, when a thread cannot start). Returns the first failure. */
static floe_status run_reduce_phase(floe_agg *agg, floe_detect *detect, reduce_phase phase,
                                    unsigned n) {
    reduce_job jobs[FLOE_AGG_PARTITIONS];
    atomic_uint next_part = 0;
    for (unsigned t = 0; t < n; t++) {
        jobs[t] = (reduce_job){agg, detect, &next_part, phase, t, n, FLOE_OK, 0, false};
        if (t > 0)
            jobs[t].started = pthread_create(&jobs[t].thread, NULL, reduce_thread, &jobs[t]) == 0;
    }
    for (unsigned t = 0; t < n; t++)
        if (!jobs[t].started) reduce_work(&jobs[t]);
    floe_status status = FLOE_OK;
    for (unsigned t = 0; t < n; t++) {
        if (jobs[t].started) pthread_join(jobs[t].thread, NULL);
        if (status == FLOE_OK) status = jobs[t].status;
    }
    return status;
}

/* At a new hour of key times, once every file before it is done and no worker is adding:
 * closes the detectors' windows that hour ends. */
static floe_status close_windows(floe_pipeline *p) {
    if (floe_reader_pending(p->reader) > 0) return FLOE_OK;
    for (unsigned i = 0; i < p->nlanes; i++)
        if (!lane_idle(&p->lanes[i]) || p->lanes[i].held > 0) return FLOE_OK;
    floe_detect_writer *writers[1024];
    for (unsigned i = 0; i < p->nlanes; i++)
        writers[i] = p->lanes[i].detect;
    const int64_t horizon = floe_detect_horizon(p->options.detect, p->key_time[p->next_file]);
    const double start = now_seconds();
    /* On as many threads as the reducer would use: the workers are idle. */
    floe_status status = floe_detect_close_begin(p->options.detect, writers, p->nlanes, horizon);
    if (status == FLOE_OK) {
        unsigned nthreads = p->nlanes < FLOE_AGG_PARTITIONS ? p->nlanes : FLOE_AGG_PARTITIONS;
        status = run_reduce_phase(NULL, p->options.detect, REDUCE_CLOSE, nthreads);
    }
    p->close_seconds += now_seconds() - start;
    p->closes++;
    p->open_horizon = horizon;
    p->at_barrier = false;
    return status;
}

/* The caller asked the run to stop (floe_pipeline_options.stop). */
static bool stop_asked(const floe_pipeline *p) {
    return p->options.stop != NULL && atomic_load(p->options.stop);
}

static floe_status run_reader(floe_pipeline *p) {
    floe_status fatal = FLOE_OK;
    floe_read_done done[64];
    const unsigned timeout_ms = p->options.progress_ms > 0 ? p->options.progress_ms : 1000;
    /* The first line at once: a person sees the run has started and how much it will read. */
    double last_progress = p->start - p->options.progress_ms / 1000.0;
    for (;;) {
        if (fatal == FLOE_OK && stop_asked(p)) fatal = FLOE_ERR_INTERRUPTED; /* as a failure */
        unsigned epoch = atomic_load(&p->back_epoch);
        bool progressed = reclaim(p) > 0;
        for (unsigned i = 0; i < p->nlanes && fatal == FLOE_OK; i++) {
            fatal = feed_lane(p, &p->lanes[i], &progressed);
            if (fatal != FLOE_OK) break;
        }
        if (fatal == FLOE_OK && floe_reader_submit(p->reader) != FLOE_OK) fatal = FLOE_ERR_IO;
        unsigned n = floe_reader_complete(p->reader, done, 64, 0);
        for (unsigned i = 0; i < n; i++)
            land(p, &done[i]);
        progressed |= n > 0;
        for (unsigned i = 0; i < p->nlanes; i++) {
            floe_status status = pass_on(p, &p->lanes[i], &progressed);
            if (fatal == FLOE_OK) fatal = status;
        }
        if (p->at_barrier && fatal == FLOE_OK && atomic_load(&p->failed) == FLOE_OK) {
            fatal = close_windows(p);
            progressed |= !p->at_barrier;
        }
        /* Once no lane can get more work, each gets DONE after its last chunk. */
        bool stop_feeding =
            fatal != FLOE_OK || atomic_load(&p->failed) != FLOE_OK || p->next_file == p->ninputs;
        bool all_done = true;
        for (unsigned i = 0; i < p->nlanes; i++) {
            lane *l = &p->lanes[i];
            if (fatal != FLOE_OK) l->file = -1; /* stop queueing the open file */
            if (stop_feeding && lane_idle(l) && floe_reader_pending(p->reader) == 0) send_done(l);
            all_done &= l->done_sent;
        }
        if (all_done) break;
        report_progress(p, &last_progress);
        if (progressed) continue;
        if (floe_reader_pending(p->reader) > 0) {
            n = floe_reader_complete(p->reader, done, 64, (int)timeout_ms);
            for (unsigned i = 0; i < n; i++)
                land(p, &done[i]);
        } else {
            wait_for(&p->back_epoch, &p->reader_sleeping, epoch, timeout_ms);
        }
    }
    /* Every file whose reads were all queued is closed by now; close what a stop left open. */
    for (size_t i = 0; i < p->ninputs; i++)
        if (p->files[i].reads == 0) close_file(&p->files[i]);
    return fatal;
}

/* ---- set-up, run, reduce ------------------------------------------------------------------ */

void floe_pipeline_options_default(floe_pipeline_options *options) {
    memset(options, 0, sizeof(*options));
    options->threads = 0;
    options->io = FLOE_IO_AUTO;
    options->read_size = MIB;
    options->reads_per_worker = 4;
    floe_stream_options_default(&options->stream);
    floe_filter_all(&options->filter);
    options->keep_bad_lines = 10;
    options->progress_ms = 250;
}

static unsigned ring_size_for(unsigned entries) {
    /* ck_ring holds size - 1 entries; the DONE sentinel needs one more. */
    unsigned size = 4;
    while (size < entries + 2)
        size *= 2;
    return size;
}

static floe_status lanes_init(floe_pipeline *p) {
    const floe_pipeline_options *o = &p->options;
    unsigned ring_size = ring_size_for(o->reads_per_worker);
    for (unsigned k = 0; k < o->nkeys; k++)
        if ((p->aggs[k] = floe_agg_new(&o->keys[k])) == NULL) return FLOE_ERR_NOMEM;
    for (unsigned i = 0; i < p->nlanes; i++) {
        lane *l = &p->lanes[i];
        l->pipe = p;
        l->file = -1;
        floe_totals_init(&l->totals, o->keep_bad_lines);
        l->in_slots = calloc(ring_size, sizeof(ck_ring_buffer_t));
        l->back_slots = calloc(ring_size, sizeof(ck_ring_buffer_t));
        l->window = calloc(o->reads_per_worker, sizeof(chunk *));
        l->rows = malloc(o->stream.batch_rows * sizeof(uint32_t));
        l->filled = malloc(2 * (size_t)o->stream.batch_rows * sizeof(floe_slice));
        if (l->in_slots == NULL || l->back_slots == NULL || l->window == NULL || l->rows == NULL ||
            l->filled == NULL)
            return FLOE_ERR_NOMEM;
        ck_ring_init(&l->in, ring_size);
        ck_ring_init(&l->back, ring_size);
        floe_stream_options stream_options = o->stream;
        stream_options.on_batch = on_batch;
        stream_options.ctx = l;
        floe_status status = floe_stream_new(&stream_options, &l->stream);
        if (status != FLOE_OK) return status;
        for (unsigned k = 0; k < o->nkeys; k++)
            if ((l->writers[k] = floe_agg_writer_new(p->aggs[k])) == NULL) return FLOE_ERR_NOMEM;
        if (o->detect && (l->detect = floe_detect_writer_new(o->detect)) == NULL)
            return FLOE_ERR_NOMEM;
    }
    return FLOE_OK;
}

static void lanes_free(floe_pipeline *p) {
    for (unsigned i = 0; p->lanes != NULL && i < p->nlanes; i++) {
        lane *l = &p->lanes[i];
        free(l->in_slots);
        free(l->back_slots);
        free(l->window);
        free(l->rows);
        free(l->filled);
        floe_stream_free(l->stream);
        floe_totals_free(&l->totals);
        for (unsigned k = 0; k < FLOE_PIPELINE_MAX_KEYS; k++)
            floe_agg_writer_free(l->writers[k]);
        floe_detect_writer_free(l->detect);
    }
    free(p->lanes);
    for (unsigned k = 0; k < FLOE_PIPELINE_MAX_KEYS; k++)
        floe_agg_free(p->aggs[k]); /* NULL once the result has it */
}

static floe_status pool_init(floe_pipeline *p) {
    const floe_pipeline_options *o = &p->options;
    size_t nchunks = (size_t)p->nlanes * o->reads_per_worker;
    /* Page-aligned buffers: what O_DIRECT would need, and what fixed buffers like. */
    if (posix_memalign((void **)&p->pool, 4096, nchunks * o->read_size) != 0) {
        p->pool = NULL;
        return FLOE_ERR_NOMEM;
    }
    p->chunks = calloc(nchunks, sizeof(chunk));
    if (p->chunks == NULL) return FLOE_ERR_NOMEM;
    for (size_t i = nchunks; i-- > 0;) {
        p->chunks[i].data = p->pool + i * o->read_size;
        p->chunks[i].next_free = p->free_chunks;
        p->free_chunks = &p->chunks[i];
    }
    return FLOE_OK;
}

/* Puts a table in its canonical order on nthreads threads (floe_agg_sorted is then free). */
static floe_status sort_table(floe_agg *agg, unsigned nthreads) {
    floe_status status = run_reduce_phase(agg, NULL, REDUCE_SORT, nthreads);
    if (status != FLOE_OK) return status;
    status = floe_agg_merge_prepare(agg, nthreads);
    if (status != FLOE_OK) return status;
    status = run_reduce_phase(agg, NULL, REDUCE_SLICES, nthreads);
    floe_agg_merge_finish(agg);
    return status;
}

/* Merges the totals, and hands the table to the result, sorted when asked, if the run went
 * well (run_ok). */
static floe_status reduce(floe_pipeline *p, floe_pipeline_result *out, bool run_ok) {
    floe_status status = floe_totals_merge(&out->totals, &p->reader_totals);
    for (unsigned i = 0; i < p->nlanes; i++) {
        lane *l = &p->lanes[i];
        floe_status merged = floe_totals_merge(&out->totals, &l->totals);
        if (status == FLOE_OK) status = merged;
        out->records_kept += l->records_kept;
    }
    if (!run_ok || status != FLOE_OK) return status; /* failed */
    if (stop_asked(p)) return FLOE_ERR_INTERRUPTED;
    unsigned nthreads = p->nlanes < FLOE_AGG_PARTITIONS ? p->nlanes : FLOE_AGG_PARTITIONS;
    if (p->options.detect != NULL) {
        for (unsigned i = 0; i < p->nlanes; i++) {
            status = floe_detect_writer_finish(p->lanes[i].detect);
            if (status != FLOE_OK) return status;
        }
        /* Their tables in order too, on all threads: the findings walk them so. */
        for (unsigned t = 0; t < floe_detect_table_count(); t++) {
            status = sort_table(floe_detect_table(p->options.detect, t), nthreads);
            if (status != FLOE_OK) return status;
        }
        /* And the findings' independent parts, on all threads (floe_detect_findings joins). */
        status = run_reduce_phase(NULL, p->options.detect, REDUCE_FIND, nthreads);
        /* The evidence's pages go to the main table's sort next (floe_mem keeps them). */
        if (status == FLOE_OK) status = floe_detect_drop_evidence(p->options.detect);
        if (status != FLOE_OK) return status;
    }
    if (p->options.nkeys == 0) return FLOE_OK;
    if (stop_asked(p)) return FLOE_ERR_INTERRUPTED;
    for (unsigned k = 0; k < p->options.nkeys; k++) {
        out->aggs[k] = p->aggs[k];
        p->aggs[k] = NULL;
    }
    status = p->options.sort_result ? sort_table(out->aggs[0], nthreads) : FLOE_OK;
    /* Writing the result takes no large blocks: pages kept for them would only add to the
     * resident memory from here on. */
    floe_mem_trim();
    return status;
}

typedef struct timed_input {
    floe_input input;
    int64_t horizon; /* floe_detect_horizon of its key time */
    int64_t time;
    size_t index;
} timed_input;

/* By horizon (the drains come between horizons), then largest first (the lanes' last files
 * before a drain are then the small ones: less idle tail), then the given order. */
static inline bool timed_less(const timed_input *a, const timed_input *b) {
    if (a->horizon != b->horizon) return a->horizon < b->horizon;
    if (a->input.size_hint != b->input.size_hint) return a->input.size_hint > b->input.size_hint;
    return a->index < b->index;
}

FLOE_SORT_DEFINE(sort_timed, timed_input, timed_less)

/* With detectors that close windows (a lateness other than none), and S3 key times on every
 * input, the inputs are read in key-time order (ties in the given order) and p->closing is set.
 * Otherwise nothing changes: every window stays open to the end. */
static floe_status order_by_time(floe_pipeline *p) {
    if (p->options.detect == NULL || p->ninputs == 0 ||
        floe_detect_horizon(p->options.detect, 0) == INT64_MIN)
        return FLOE_OK;
    timed_input *t = malloc(p->ninputs * sizeof(*t));
    if (t == NULL) return FLOE_ERR_NOMEM;
    for (size_t i = 0; i < p->ninputs; i++) {
        floe_s3key key;
        const char *path = p->inputs[i].path;
        floe_s3key_parse(path, strlen(path), &key);
        if (!key.has_time) {
            free(t);
            return FLOE_OK;
        }
        t[i] = (timed_input){p->inputs[i], floe_detect_horizon(p->options.detect, key.time),
                             key.time, i};
    }
    sort_timed(t, p->ninputs);
    p->by_time = malloc(p->ninputs * sizeof(*p->by_time));
    p->key_time = malloc(p->ninputs * sizeof(*p->key_time));
    if (p->by_time == NULL || p->key_time == NULL) {
        free(t);
        return FLOE_ERR_NOMEM;
    }
    for (size_t i = 0; i < p->ninputs; i++) {
        p->by_time[i] = t[i].input;
        p->key_time[i] = t[i].time;
    }
    free(t);
    p->inputs = p->by_time;
    p->closing = true;
    p->open_horizon = floe_detect_horizon(p->options.detect, p->key_time[0]);
    return FLOE_OK;
}

static unsigned online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

floe_status floe_pipeline_run(const floe_input *inputs, size_t ninputs,
                              const floe_pipeline_options *options, floe_pipeline_result *out) {
    memset(out, 0, sizeof(*out));
    floe_totals_init(&out->totals, options->keep_bad_lines);
    if (options->read_size < 4 * KIB || options->read_size > 256 * MIB ||
        (options->read_size & (options->read_size - 1)) != 0 || options->reads_per_worker == 0 ||
        options->reads_per_worker > 1024 || options->threads > 1024 || ninputs > UINT32_MAX ||
        options->nkeys > FLOE_PIPELINE_MAX_KEYS)
        return FLOE_ERR_INVALID;

    floe_pipeline pipe;
    floe_pipeline *p = &pipe;
    memset(p, 0, sizeof(*p));
    p->options = *options;
    p->inputs = inputs;
    p->ninputs = ninputs;
    for (size_t i = 0; i < ninputs; i++)
        p->bytes_total += inputs[i].size_hint;
    p->nlanes = options->threads > 0 ? options->threads : online_cpus();
    p->start = now_seconds();
    atomic_init(&p->back_epoch, 0);
    atomic_init(&p->reader_sleeping, 0);
    atomic_init(&p->failed, FLOE_OK);
    floe_totals_init(&p->reader_totals, options->keep_bad_lines);
    out->threads = p->nlanes;
    for (unsigned k = 0; k < options->nkeys; k++) {
        const floe_key_spec *key = &options->keys[k];
        for (unsigned i = 0; i < key->nparts; i++)
            p->fields_used |= UINT64_C(1) << key->parts[i].field;
        for (unsigned i = 0; i < key->ndistinct; i++)
            p->fields_used |= UINT64_C(1) << key->distinct[i];
    }

    floe_status status = order_by_time(p);
    if (status == FLOE_OK) p->files = calloc(ninputs > 0 ? ninputs : 1, sizeof(file_state));
    p->lanes = calloc(p->nlanes, sizeof(lane));
    if (status == FLOE_OK && (p->files == NULL || p->lanes == NULL)) status = FLOE_ERR_NOMEM;
    for (size_t i = 0; status == FLOE_OK && i < ninputs; i++)
        p->files[i].fd = -1;
    if (status == FLOE_OK) status = lanes_init(p);
    if (status == FLOE_OK) status = pool_init(p);
    if (status == FLOE_OK) {
        size_t pool_len = (size_t)p->nlanes * options->reads_per_worker * options->read_size;
        status = floe_reader_new(options->io, p->nlanes * options->reads_per_worker, p->pool,
                                 pool_len, &p->reader);
    }
    if (status == FLOE_OK) {
        out->io = floe_reader_kind(p->reader);
        out->io_fallback_errno = floe_reader_fallback_errno(p->reader);
        out->fixed_buffers = floe_reader_fixed_buffers(p->reader);
    }

    /* With a stop flag the workers block SIGINT and SIGTERM (a thread inherits the mask of its
     * creator): those signals then reach this thread, whose waits they cut short. */
    sigset_t stop_signals, mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (options->stop != NULL) pthread_sigmask(SIG_BLOCK, &stop_signals, &mask);
    unsigned started = 0;
    for (; status == FLOE_OK && started < p->nlanes; started++) {
        lane *l = &p->lanes[started];
        if (pthread_create(&l->thread, NULL, worker_main, l) != 0) {
            status = FLOE_ERR_IO;
            break;
        }
        l->started = true;
    }
    if (options->stop != NULL) pthread_sigmask(SIG_SETMASK, &mask, NULL);
    if (status == FLOE_OK) {
        status = run_reader(p);
    } else {
        /* Threads that did start get DONE at once. */
        for (unsigned i = 0; i < started; i++)
            send_done(&p->lanes[i]);
    }
    for (unsigned i = 0; i < p->nlanes; i++)
        if (p->lanes[i].started) pthread_join(p->lanes[i].thread, NULL);
    if (status == FLOE_OK) status = (floe_status)atomic_load(&p->failed);
    double merge_start = now_seconds();
    floe_status reduced = reduce(p, out, status == FLOE_OK);
    out->merge_seconds = now_seconds() - merge_start;
    out->detect_closing = p->closing;
    out->detect_closes = p->closes;
    out->detect_close_seconds = p->close_seconds;
    if (status == FLOE_OK) status = reduced;

    floe_reader_free(p->reader);
    lanes_free(p);
    free(p->chunks);
    free(p->pool);
    free(p->files);
    free(p->by_time);
    free(p->key_time);
    floe_totals_free(&p->reader_totals);
    out->seconds = now_seconds() - p->start;
    return status;
}

void floe_pipeline_result_free(floe_pipeline_result *result) {
    if (result == NULL) return;
    floe_totals_free(&result->totals);
    for (unsigned k = 0; k < FLOE_PIPELINE_MAX_KEYS; k++) {
        floe_agg_free(result->aggs[k]);
        result->aggs[k] = NULL;
    }
}
