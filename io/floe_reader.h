/* floe_reader.h: whole-buffer reads of file ranges, many at once, through io_uring, or through
 * plain pread() where io_uring is refused.
 *
 * The caller queues reads (fd, buffer, length, offset, a tag of its own), flushes them to the
 * kernel, and collects completions. A completion's result is the number of bytes read, or
 * -errno; fewer bytes than asked means the file ended there: short reads the kernel may return
 * part way are finished by the reader itself, so the caller never sees one.
 *
 * io_uring: one ring, up to `depth` reads in flight. The caller's buffer pool is registered
 * with the kernel once ("fixed buffers", no page pinning per read) when the pool is given and
 * the kernel allows it; otherwise plain reads into the same buffers. Where io_uring itself is
 * unavailable (ENOSYS on old kernels, EPERM under a container's seccomp profile or with
 * kernel.io_uring_disabled) FLOE_IO_AUTO falls back to pread() and reports why, once, through
 * floe_reader_fallback_errno(); FLOE_IO_URING then fails instead of falling back.
 *
 * pread: reads are done one after another inside floe_reader_complete(), on the calling
 * thread; depth still bounds how many may be queued.
 *
 * Single-threaded: one thread queues and completes. Results come back in any order. */
#ifndef FLOE_READER_H
#define FLOE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe_status.h"

/* Values are pinned. */
typedef enum floe_io_kind {
    FLOE_IO_AUTO = 0,  /* io_uring when the kernel allows it, else pread */
    FLOE_IO_URING = 1, /* io_uring or fail */
    FLOE_IO_PREAD = 2  /* pread() */
} floe_io_kind;

/* "auto", "uring", "pread". */
const char *floe_io_kind_name(floe_io_kind kind);

typedef struct floe_read_done {
    uint64_t tag;
    int64_t result; /* bytes read (< asked only at end of file), or -errno */
} floe_read_done;

typedef struct floe_reader floe_reader;

/* depth: most reads queued or in flight (1..4096). pool / pool_len: the memory every read
 * buffer lies in, registered as one fixed buffer when possible (may be NULL). Fails with
 * FLOE_ERR_UNSUPPORTED when FLOE_IO_URING was asked for and io_uring is refused, and with
 * FLOE_ERR_NOMEM or FLOE_ERR_INVALID. */
floe_status floe_reader_new(floe_io_kind kind, unsigned depth, void *pool, size_t pool_len,
                            floe_reader **out);
void floe_reader_free(floe_reader *reader);

/* FLOE_IO_URING or FLOE_IO_PREAD: what the reader really uses. */
floe_io_kind floe_reader_kind(const floe_reader *reader);
/* After FLOE_IO_AUTO fell back to pread: the errno io_uring setup failed with; else 0. */
int floe_reader_fallback_errno(const floe_reader *reader);
/* True when io_uring reads go to the registered pool (fixed buffers). */
bool floe_reader_fixed_buffers(const floe_reader *reader);

/* Reads queued or in flight. */
unsigned floe_reader_pending(const floe_reader *reader);
/* True when another read may be queued (pending < depth). */
bool floe_reader_has_room(const floe_reader *reader);

/* Queues a read of buf[0..len) from fd at offset. Requires floe_reader_has_room(). len > 0
 * and <= 1 GiB. Nothing reaches the kernel until floe_reader_submit or floe_reader_complete. */
void floe_reader_queue(floe_reader *reader, int fd, void *buf, size_t len, uint64_t offset,
                       uint64_t tag);

/* Hands queued reads to the kernel (io_uring; a no-op for pread). Returns FLOE_OK or
 * FLOE_ERR_IO. */
floe_status floe_reader_submit(floe_reader *reader);

/* Collects up to max finished reads into done[]. When none has finished yet and reads are
 * pending, waits up to timeout_ms (< 0: no limit) for one. Returns the number collected. */
unsigned floe_reader_complete(floe_reader *reader, floe_read_done *done, unsigned max,
                              int timeout_ms);

#endif
