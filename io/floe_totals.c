#include "floe_totals.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

void floe_totals_options_default(floe_totals_options *options) {
    memset(options, 0, sizeof(*options));
    options->mode = FLOE_LINES_S3;
    options->format = NULL;
    options->simd = floe_scan_default_level();
    options->read_size = MIB;
    options->decode_size = MIB;
    options->max_line = MIB;
    options->batch_rows = 4096;
    options->keep_bad_lines = 10;
}

/* ---- totals ------------------------------------------------------------------------------- */

void floe_totals_init(floe_totals *totals, uint32_t keep_bad_lines) {
    memset(totals, 0, sizeof(*totals));
    totals->keep_bad_lines = keep_bad_lines;
}

void floe_totals_free(floe_totals *totals) {
    if (totals == NULL) return;
    for (size_t i = 0; i < totals->nbad_places; i++) {
        free(totals->bad_places[i].file);
        free(totals->bad_places[i].excerpt);
    }
    for (size_t i = 0; i < totals->nunknown; i++) {
        free(totals->unknown[i].name);
        free(totals->unknown[i].file);
    }
    for (size_t i = 0; i < totals->ndecode_failures; i++)
        free(totals->decode_failures[i].file);
    for (size_t i = 0; i < totals->nfile_failures; i++)
        free(totals->file_failures[i].file);
    free(totals->bad_places);
    free(totals->unknown);
    free(totals->decode_failures);
    free(totals->file_failures);
    memset(totals, 0, sizeof(*totals));
}

/* Makes room for element n of a list whose capacity is implicit: 4, then the next power of
 * two, so the public struct needs no capacity fields. */
static floe_status list_reserve(void **list, size_t n, size_t elem_size) {
    if (n != 0 && (n < 4 || (n & (n - 1)) != 0)) return FLOE_OK;
    size_t cap = n == 0 ? 4 : n * 2;
    void *grown = realloc(*list, cap * elem_size);
    if (grown == NULL) return FLOE_ERR_NOMEM;
    *list = grown;
    return FLOE_OK;
}

static char *copy_text(const char *text, size_t len) {
    char *copy = malloc(len + 1);
    if (copy == NULL) return NULL;
    memcpy(copy, text, len);
    copy[len] = 0;
    return copy;
}

void floe_totals_add_batch(floe_totals *totals, const floe_batch *batch) {
    uint32_t n = batch->count;
    if (n == 0) return;
    const uint8_t *action =
        floe_batch_has(batch, FLOE_F_ACTION) ? floe_batch_u8(batch, FLOE_F_ACTION) : NULL;
    const uint8_t *log_status =
        floe_batch_has(batch, FLOE_F_LOG_STATUS) ? floe_batch_u8(batch, FLOE_F_LOG_STATUS) : NULL;
    /* The parser stores 0 for "-", so nulls need no separate test here. */
    const uint64_t *packets =
        floe_batch_has(batch, FLOE_F_PACKETS) ? floe_batch_u64(batch, FLOE_F_PACKETS) : NULL;
    const uint64_t *bytes =
        floe_batch_has(batch, FLOE_F_BYTES) ? floe_batch_u64(batch, FLOE_F_BYTES) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        unsigned a = action != NULL ? action[i] : FLOE_ACTION_NULL;
        if (a > FLOE_ACTION_REJECT) a = FLOE_ACTION_NULL;
        floe_action_totals *t = &totals->by_action[a];
        t->records++;
        t->packets += packets != NULL ? packets[i] : 0;
        t->bytes += bytes != NULL ? bytes[i] : 0;
        unsigned s = log_status != NULL ? log_status[i] : FLOE_LOG_STATUS_NULL;
        if (s > FLOE_LOG_STATUS_SKIPDATA) s = FLOE_LOG_STATUS_NULL;
        totals->by_log_status[s]++;
    }
}

/* ---- the worker --------------------------------------------------------------------------- */

struct floe_totals_worker {
    floe_totals_options options;
    floe_format format; /* options.format points here when the caller gave one */
    floe_decoder *decoder;
    floe_batch batch;
    floe_parser parser;

    uint8_t *read_buf; /* options.read_size bytes */
    char *text;        /* decoded text: a carried unfinished line, then fresh bytes */
    size_t text_cap;   /* grows up to max_line + decode_size */
    size_t text_len;
    bool skipping; /* inside a too-long line: drop text up to the next '\n' */

    /* The file being read, for the parser's callbacks. */
    const char *path;
    floe_totals *totals;
    floe_status callback_status; /* FLOE_ERR_NOMEM from a callback, reported after floe_parse */
};

static void on_bad_line(void *ctx, const floe_bad_line *bad) {
    floe_totals_worker *w = ctx;
    floe_totals *totals = w->totals;
    if (totals->nbad_places >= totals->keep_bad_lines) return;
    if (list_reserve((void **)&totals->bad_places, totals->nbad_places,
                     sizeof(*totals->bad_places)) != FLOE_OK) {
        w->callback_status = FLOE_ERR_NOMEM;
        return;
    }
    size_t len = bad->text.len < FLOE_BAD_EXCERPT_LEN ? bad->text.len : FLOE_BAD_EXCERPT_LEN;
    floe_bad_place place = {
        .file = strdup(w->path),
        .line_no = bad->line_no,
        .reason = bad->reason,
        .column = bad->column,
        .field = bad->field,
        .fields_seen = bad->fields_seen,
        .fields_wanted = bad->fields_wanted,
        .excerpt = copy_text(bad->text.ptr != NULL ? bad->text.ptr : "", len),
        .excerpt_len = len,
    };
    if (place.file == NULL || place.excerpt == NULL) {
        free(place.file);
        free(place.excerpt);
        w->callback_status = FLOE_ERR_NOMEM;
        return;
    }
    totals->bad_places[totals->nbad_places++] = place;
}

static void on_unknown_field(void *ctx, floe_slice name, uint64_t line_no) {
    floe_totals_worker *w = ctx;
    floe_totals *totals = w->totals;
    for (size_t i = 0; i < totals->nunknown; i++) {
        const char *known = totals->unknown[i].name;
        if (strlen(known) == name.len && memcmp(known, name.ptr, name.len) == 0) return;
    }
    if (list_reserve((void **)&totals->unknown, totals->nunknown, sizeof(*totals->unknown)) !=
        FLOE_OK) {
        w->callback_status = FLOE_ERR_NOMEM;
        return;
    }
    floe_unknown_notice notice = {copy_text(name.ptr, name.len), strdup(w->path), line_no};
    if (notice.name == NULL || notice.file == NULL) {
        free(notice.name);
        free(notice.file);
        w->callback_status = FLOE_ERR_NOMEM;
        return;
    }
    totals->unknown[totals->nunknown++] = notice;
}

floe_status floe_totals_worker_new(const floe_totals_options *options, floe_totals_worker **out) {
    *out = NULL;
    if (options->read_size == 0 || options->decode_size == 0 || options->max_line == 0 ||
        options->batch_rows == 0)
        return FLOE_ERR_INVALID;
    /* The parser takes at most 4 GiB a call; the text buffer holds a line plus a decode step. */
    if (options->max_line > UINT32_MAX / 2 || options->decode_size > UINT32_MAX / 2)
        return FLOE_ERR_INVALID;
    floe_totals_worker *w = calloc(1, sizeof(*w));
    if (w == NULL) return FLOE_ERR_NOMEM;
    w->options = *options;
    if (options->format != NULL) {
        w->format = *options->format;
        w->options.format = &w->format;
    }
    /* A decode step never exceeds the line limit, so a line that fits in one step fits the
     * limit: only lines carried across steps need a length check. */
    if (w->options.decode_size > w->options.max_line) w->options.decode_size = w->options.max_line;
    /* The first read must be able to hold the codec's magic bytes. */
    if (w->options.read_size < FLOE_DECODE_MAGIC_LEN) w->options.read_size = FLOE_DECODE_MAGIC_LEN;
    w->decoder = floe_decoder_new();
    w->read_buf = malloc(w->options.read_size);
    size_t carry_start = w->options.max_line < 64 * 1024 ? w->options.max_line : 64 * 1024;
    w->text_cap = w->options.decode_size + carry_start;
    w->text = malloc(w->text_cap);
    floe_status status = floe_batch_init(&w->batch, w->options.batch_rows);
    if (w->decoder == NULL || w->read_buf == NULL || w->text == NULL || status != FLOE_OK) {
        floe_totals_worker_free(w);
        return FLOE_ERR_NOMEM;
    }
    *out = w;
    return FLOE_OK;
}

void floe_totals_worker_free(floe_totals_worker *worker) {
    if (worker == NULL) return;
    floe_decoder_free(worker->decoder);
    floe_batch_free(&worker->batch);
    free(worker->read_buf);
    free(worker->text);
    free(worker);
}

/* Parses text[off..text_len) (whole lines; with at_eof the last unfinished one too) and adds
 * the batches up. Returns the offset after the last line parsed. */
static floe_status parse_lines(floe_totals_worker *w, size_t off, bool at_eof, size_t *end) {
    while (off < w->text_len) {
        size_t consumed = 0;
        floe_status status =
            floe_parse(&w->parser, w->text + off, w->text_len - off, at_eof, &w->batch, &consumed);
        if (status != FLOE_OK) return status;
        if (w->callback_status != FLOE_OK) return w->callback_status;
        floe_totals_add_batch(w->totals, &w->batch);
        /* floe_parse stops early only after a row (full batch, format change), so 0 means
         * no complete line is left. */
        if (consumed == 0) break;
        off += consumed;
    }
    *end = off;
    return FLOE_OK;
}

static void skip_too_long(floe_totals_worker *w, size_t len) {
    size_t shown = len < FLOE_BAD_EXCERPT_LEN ? len : FLOE_BAD_EXCERPT_LEN;
    floe_parser_skip_line(&w->parser, FLOE_BAD_TOO_LONG, (floe_slice){w->text, (uint32_t)shown});
}

/* Handles text[0..text_len), of which text[fresh..text_len) was just decoded and the part
 * before it is an unfinished line carried from the previous step. end: no text follows.
 * cut: the text ends because of an error, so an unfinished last line is dropped. */
static floe_status consume_text(floe_totals_worker *w, size_t fresh, bool end, bool cut) {
    const size_t max_line = w->options.max_line;
    size_t off = 0;
    if (w->skipping) {
        /* The too-long line was reported when it crossed the limit; drop the rest of it. */
        const char *newline = memchr(w->text, '\n', w->text_len);
        if (newline == NULL) {
            w->text_len = 0;
            return FLOE_OK;
        }
        off = (size_t)(newline - w->text) + 1;
        w->skipping = false;
    } else if (fresh > 0) {
        const char *newline = memchr(w->text + fresh, '\n', w->text_len - fresh);
        size_t line_len = newline != NULL ? (size_t)(newline - w->text) : w->text_len;
        if (line_len > max_line) {
            skip_too_long(w, line_len);
            if (newline == NULL) {
                w->skipping = true;
                w->text_len = 0;
                return FLOE_OK;
            }
            off = line_len + 1;
        }
    }

    size_t parsed = off;
    floe_status status = parse_lines(w, off, end && !cut, &parsed);
    if (status != FLOE_OK) return status;
    size_t rest = w->text_len - parsed;
    if (rest == 0 || end) {
        if (rest > 0) w->totals->cut_lines++;
        w->text_len = 0;
        return FLOE_OK;
    }
    if (rest > max_line) {
        memmove(w->text, w->text + parsed, rest);
        skip_too_long(w, rest);
        w->skipping = true;
        w->text_len = 0;
        return FLOE_OK;
    }
    memmove(w->text, w->text + parsed, rest);
    w->text_len = rest;
    return FLOE_OK;
}

/* Makes room for at least one decode step after the carried line. */
static floe_status reserve_text(floe_totals_worker *w) {
    size_t need = w->text_len + w->options.decode_size;
    if (need <= w->text_cap) return FLOE_OK;
    size_t cap = w->text_cap * 2;
    if (cap < need) cap = need;
    char *grown = realloc(w->text, cap);
    if (grown == NULL) return FLOE_ERR_NOMEM;
    w->text = grown;
    w->text_cap = cap;
    return FLOE_OK;
}

static floe_status add_file_failure(floe_totals *totals, const char *path, int err, bool opened) {
    if (list_reserve((void **)&totals->file_failures, totals->nfile_failures,
                     sizeof(*totals->file_failures)) != FLOE_OK)
        return FLOE_ERR_NOMEM;
    char *copy = strdup(path);
    if (copy == NULL) return FLOE_ERR_NOMEM;
    totals->file_failures[totals->nfile_failures++] = (floe_file_failure){copy, err, opened};
    return FLOE_OK;
}

static floe_status add_decode_failure(floe_totals *totals, const char *path,
                                      const floe_decoder *dec, floe_status error) {
    if (list_reserve((void **)&totals->decode_failures, totals->ndecode_failures,
                     sizeof(*totals->decode_failures)) != FLOE_OK)
        return FLOE_ERR_NOMEM;
    char *copy = strdup(path);
    if (copy == NULL) return FLOE_ERR_NOMEM;
    totals->decode_failures[totals->ndecode_failures++] =
        (floe_decode_failure){copy, floe_decoder_codec(dec), error, floe_decoder_error_offset(dec)};
    return FLOE_OK;
}

/* read() into buf[0..n), retried on EINTR and repeated until at least `want` bytes came (the
 * start of a file asks for the whole magic, which a pipe may deliver in pieces) or the file
 * ended (*eof). Returns 0 or an errno. */
static int read_chunk(int fd, uint8_t *buf, size_t n, size_t want, size_t *got, bool *eof) {
    *got = 0;
    *eof = false;
    for (;;) {
        ssize_t r = read(fd, buf + *got, n - *got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) {
            *eof = true;
            return 0;
        }
        *got += (size_t)r;
        if (*got >= want || *got == n) return 0;
    }
}

static void add_parse_stats(floe_totals *totals, const floe_parse_stats *stats) {
    totals->lines += stats->lines;
    totals->records += stats->records;
    totals->headers += stats->headers;
    totals->blank_lines += stats->blank_lines;
    totals->bad_lines += stats->bad_lines;
    for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++)
        totals->bad_by_reason[r] += stats->bad_by_reason[r];
}

static floe_status add_fd(floe_totals_worker *w, int fd) {
    floe_totals *totals = w->totals;
    size_t in_len = 0;
    bool in_eof = false;
    int err =
        read_chunk(fd, w->read_buf, w->options.read_size, FLOE_DECODE_MAGIC_LEN, &in_len, &in_eof);
    if (err != 0) return add_file_failure(totals, w->path, err, true);
    totals->compressed_bytes += in_len;

    floe_decoder *dec = w->decoder;
    floe_status status = floe_decoder_start(dec, w->read_buf, in_len);
    if (status != FLOE_OK) return status;
    totals->files_by_codec[floe_decoder_codec(dec)]++;

    floe_parse_options parse_options = {w->options.mode, w->options.format, w->options.simd,
                                        on_bad_line,     on_unknown_field,  w};
    floe_parser_init(&w->parser, &parse_options);
    w->text_len = 0;
    w->skipping = false;
    w->callback_status = FLOE_OK;

    size_t in_off = 0;
    for (;;) {
        status = reserve_text(w);
        if (status != FLOE_OK) break;
        size_t fresh = w->text_len;
        size_t out_cap = w->text_cap - fresh;
        if (out_cap > w->options.decode_size) out_cap = w->options.decode_size;
        size_t in_used = 0, out_written = 0;
        bool finished = false;
        floe_status decode_status =
            floe_decoder_run(dec, w->read_buf + in_off, in_len - in_off, in_eof, &in_used,
                             (uint8_t *)w->text + fresh, out_cap, &out_written, &finished);
        in_off += in_used;
        w->text_len += out_written;
        totals->decoded_bytes += out_written;

        bool failed = decode_status != FLOE_OK;
        int read_err = 0;
        if (!failed && !finished && in_off == in_len && !in_eof) {
            /* Read before parsing so an error can mark the text as cut. */
            in_off = 0;
            read_err = read_chunk(fd, w->read_buf, w->options.read_size, 1, &in_len, &in_eof);
            if (read_err != 0) in_len = 0;
            totals->compressed_bytes += in_len;
        }
        bool end = failed || finished || read_err != 0;
        if (out_written > 0 || end) {
            status = consume_text(w, fresh, end, failed || read_err != 0);
            if (status != FLOE_OK) break;
        }
        if (failed) {
            if (decode_status == FLOE_ERR_NOMEM)
                status = FLOE_ERR_NOMEM;
            else
                status = add_decode_failure(totals, w->path, dec, decode_status);
            break;
        }
        if (read_err != 0) {
            status = add_file_failure(totals, w->path, read_err, true);
            break;
        }
        if (finished) break;
    }
    totals->members += floe_decoder_members(dec);
    add_parse_stats(totals, &w->parser.stats);
    return status;
}

floe_status floe_totals_add_file(floe_totals_worker *worker, const char *path,
                                 floe_totals *totals) {
    totals->files++;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return add_file_failure(totals, path, errno, false);
    /* Whole files are read front to back once: let the kernel read ahead aggressively. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    worker->path = path;
    worker->totals = totals;
    floe_status status = add_fd(worker, fd);
    worker->path = NULL;
    worker->totals = NULL;
    close(fd);
    return status;
}
