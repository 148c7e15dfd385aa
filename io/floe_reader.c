#include "floe_reader.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_DEPTH 4096
#define MAX_READ  ((size_t)1 << 30)

const char *floe_io_kind_name(floe_io_kind kind) {
    switch (kind) {
    case FLOE_IO_AUTO:
        return "auto";
    case FLOE_IO_URING:
        return "uring";
    case FLOE_IO_PREAD:
        return "pread";
    }
    return "?";
}

/* One read the caller asked for; `done` grows as short reads are finished. */
typedef struct request {
    int fd;
    uint8_t *buf;
    size_t len;
    uint64_t offset;
    size_t done;
    uint64_t tag;
    uint32_t next_free; /* free list link */
    bool busy;          /* queued or in flight */
} request;

struct floe_reader {
    floe_io_kind kind;
    int fallback_errno;
    bool uring_ready; /* ring set up (freed in floe_reader_free) */
    bool broken;      /* the ring failed: every pending read is reported as failed */
    bool fixed;       /* pool registered: reads use IORING_OP_READ_FIXED */
    uint8_t *pool;
    size_t pool_len;
    struct io_uring ring;

    unsigned depth;
    unsigned pending;     /* requests not yet reported complete */
    unsigned unsubmitted; /* io_uring: sqes prepared since the last submit */
    request *requests;
    uint32_t free_head; /* UINT32_MAX: none */
    /* pread: requests in the order they were queued (a ring of depth slots). */
    uint32_t *fifo;
    unsigned fifo_head;
    unsigned fifo_len;
};

floe_io_kind floe_reader_kind(const floe_reader *reader) {
    return reader->kind;
}
int floe_reader_fallback_errno(const floe_reader *reader) {
    return reader->fallback_errno;
}
bool floe_reader_fixed_buffers(const floe_reader *reader) {
    return reader->fixed;
}
unsigned floe_reader_pending(const floe_reader *reader) {
    return reader->pending;
}
bool floe_reader_has_room(const floe_reader *reader) {
    return reader->pending < reader->depth;
}

/* Sets up the ring; returns 0 or the errno io_uring refused with. */
static int setup_uring(floe_reader *r) {
    int ret = io_uring_queue_init(r->depth, &r->ring, 0);
    if (ret < 0) return -ret;
    r->uring_ready = true;
    if (r->pool != NULL && r->pool_len > 0 && r->pool_len <= MAX_READ) {
        /* One registered buffer for the whole pool: the kernel pins it once instead of on
         * every read. Refused under a low RLIMIT_MEMLOCK on older kernels; plain reads then. */
        struct iovec iov = {r->pool, r->pool_len};
        r->fixed = io_uring_register_buffers(&r->ring, &iov, 1) == 0;
    }
    return 0;
}

floe_status floe_reader_new(floe_io_kind kind, unsigned depth, void *pool, size_t pool_len,
                            floe_reader **out) {
    *out = NULL;
    if (depth == 0 || depth > MAX_DEPTH || kind > FLOE_IO_PREAD) return FLOE_ERR_INVALID;
    floe_reader *r = calloc(1, sizeof(*r));
    if (r == NULL) return FLOE_ERR_NOMEM;
    r->depth = depth;
    r->pool = pool;
    r->pool_len = pool_len;
    r->requests = calloc(depth, sizeof(*r->requests));
    r->fifo = calloc(depth, sizeof(*r->fifo));
    if (r->requests == NULL || r->fifo == NULL) {
        floe_reader_free(r);
        return FLOE_ERR_NOMEM;
    }
    for (unsigned i = 0; i < depth; i++)
        r->requests[i].next_free = i + 1 < depth ? i + 1 : UINT32_MAX;
    r->free_head = 0;

    r->kind = FLOE_IO_PREAD;
    if (kind != FLOE_IO_PREAD) {
        int err = setup_uring(r);
        if (err == 0) {
            r->kind = FLOE_IO_URING;
        } else if (kind == FLOE_IO_URING) {
            floe_reader_free(r);
            return FLOE_ERR_UNSUPPORTED;
        } else {
            r->fallback_errno = err;
        }
    }
    *out = r;
    return FLOE_OK;
}

void floe_reader_free(floe_reader *reader) {
    if (reader == NULL) return;
    if (reader->uring_ready) io_uring_queue_exit(&reader->ring);
    free(reader->requests);
    free(reader->fifo);
    free(reader);
}

/* Prepares an sqe for the unread rest of request `id`. The ring has an sqe for every request
 * that can be pending (its size is depth), so one is always free here. */
static void prepare_sqe(floe_reader *r, uint32_t id) {
    request *q = &r->requests[id];
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    unsigned nbytes = (unsigned)(q->len - q->done);
    if (r->fixed)
        io_uring_prep_read_fixed(sqe, q->fd, q->buf + q->done, nbytes, q->offset + q->done, 0);
    else
        io_uring_prep_read(sqe, q->fd, q->buf + q->done, nbytes, q->offset + q->done);
    io_uring_sqe_set_data64(sqe, id);
    r->unsubmitted++;
}

void floe_reader_queue(floe_reader *r, int fd, void *buf, size_t len, uint64_t offset,
                       uint64_t tag) {
    uint32_t id = r->free_head;
    request *q = &r->requests[id];
    r->free_head = q->next_free;
    *q = (request){fd, buf, len, offset, 0, tag, UINT32_MAX, true};
    r->pending++;
    if (r->kind == FLOE_IO_URING) {
        prepare_sqe(r, id);
    } else {
        r->fifo[(r->fifo_head + r->fifo_len) % r->depth] = id;
        r->fifo_len++;
    }
}

/* The ring failed in a way a retry will not mend. Tearing it down cancels the reads in flight
 * and waits for them, so the kernel writes into no buffer afterwards; floe_reader_complete then
 * reports every pending read as failed (EIO), and the caller's run can end. */
static void break_ring(floe_reader *r) {
    if (r->uring_ready) io_uring_queue_exit(&r->ring);
    r->uring_ready = false;
    r->broken = true;
    r->unsubmitted = 0;
}

floe_status floe_reader_submit(floe_reader *r) {
    while (r->kind == FLOE_IO_URING && !r->broken && r->unsubmitted > 0) {
        int ret = io_uring_submit(&r->ring);
        if (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY) continue;
        if (ret < 0) {
            break_ring(r);
            return FLOE_ERR_IO;
        }
        r->unsubmitted -= (unsigned)ret < r->unsubmitted ? (unsigned)ret : r->unsubmitted;
    }
    return r->broken ? FLOE_ERR_IO : FLOE_OK;
}

static void release(floe_reader *r, uint32_t id, floe_read_done *done) {
    request *q = &r->requests[id];
    done->tag = q->tag;
    q->busy = false;
    q->next_free = r->free_head;
    r->free_head = id;
    r->pending--;
}

/* Runs the oldest queued read with pread() until it is full, at end of file, or failed. */
static void run_pread(floe_reader *r, floe_read_done *done) {
    uint32_t id = r->fifo[r->fifo_head];
    r->fifo_head = (r->fifo_head + 1) % r->depth;
    r->fifo_len--;
    request *q = &r->requests[id];
    int64_t result = 0;
    while (q->done < q->len) {
        ssize_t got =
            pread(q->fd, q->buf + q->done, q->len - q->done, (off_t)(q->offset + q->done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            result = -errno;
            break;
        }
        if (got == 0) break;
        q->done += (size_t)got;
    }
    if (result == 0) result = (int64_t)q->done;
    release(r, id, done);
    done->result = result;
}

unsigned floe_reader_complete(floe_reader *r, floe_read_done *done, unsigned max, int timeout_ms) {
    unsigned n = 0;
    if (r->kind == FLOE_IO_PREAD) {
        while (n < max && r->fifo_len > 0)
            run_pread(r, &done[n++]);
        return n;
    }
    if (floe_reader_submit(r) != FLOE_OK) {
        /* The ring is gone (break_ring): every pending read failed. */
        for (uint32_t id = 0; id < r->depth && n < max; id++) {
            if (!r->requests[id].busy) continue;
            release(r, id, &done[n]);
            done[n++].result = -EIO;
        }
        return n;
    }
    while (n < max && r->pending > 0) {
        struct io_uring_cqe *cqe = NULL;
        int ret;
        if (n > 0) {
            ret = io_uring_peek_cqe(&r->ring, &cqe);
        } else if (timeout_ms < 0) {
            ret = io_uring_wait_cqe(&r->ring, &cqe);
        } else {
            struct __kernel_timespec ts = {timeout_ms / 1000,
                                           (long long)(timeout_ms % 1000) * 1000000};
            ret = io_uring_wait_cqe_timeout(&r->ring, &cqe, &ts);
        }
        if (ret < 0 || cqe == NULL) break; /* nothing (more) ready, timeout or a signal */
        uint32_t id = (uint32_t)io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&r->ring, cqe);
        request *q = &r->requests[id];
        if (res == -EINTR || res == -EAGAIN || (res > 0 && q->done + (size_t)res < q->len)) {
            /* Interrupted or short: read the rest, keeping the request pending. */
            if (res > 0) q->done += (size_t)res;
            prepare_sqe(r, id);
            /* On failure the ring is torn down; the loop's next turn reports every pending
             * read, this one included, as failed. */
            if (floe_reader_submit(r) != FLOE_OK) return n;
            continue;
        }
        if (res > 0) q->done += (size_t)res;
        int64_t result = res < 0 ? res : (int64_t)q->done;
        release(r, id, &done[n]);
        done[n++].result = result;
    }
    return n;
}
