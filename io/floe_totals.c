#include "floe_totals.h"

#include "floe_stream.h"

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
    for (size_t i = 0; i < totals->nlate_files; i++)
        free(totals->late_files[i].file);
    free(totals->late_files);
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
    const uint8_t *action = floe_batch_u8_or_null(batch, FLOE_F_ACTION);
    const uint8_t *log_status = floe_batch_u8_or_null(batch, FLOE_F_LOG_STATUS);
    /* The parser stores 0 for "-", so nulls need no separate test here. */
    const uint64_t *packets = floe_batch_u64_or_null(batch, FLOE_F_PACKETS);
    const uint64_t *bytes = floe_batch_u64_or_null(batch, FLOE_F_BYTES);
    for (uint32_t i = 0; i < n; i++) {
        unsigned a = action != NULL ? action[i] : FLOE_ACTION_NULL;
        if (a > FLOE_ACTION_REJECT) a = FLOE_ACTION_NULL;
        floe_action_totals *t = &totals->by_action[a];
        t->records++;
        t->packets = floe_counter_add(t->packets, packets != NULL ? packets[i] : 0);
        t->bytes = floe_counter_add(t->bytes, bytes != NULL ? bytes[i] : 0);
        unsigned s = log_status != NULL ? log_status[i] : FLOE_LOG_STATUS_NULL;
        if (s > FLOE_LOG_STATUS_SKIPDATA) s = FLOE_LOG_STATUS_NULL;
        totals->by_log_status[s]++;
    }
}

/* ---- places ------------------------------------------------------------------------------ */

floe_status floe_totals_note_bad_line(floe_totals *totals, const char *path, uint32_t file_index,
                                      const floe_bad_line *bad) {
    if (totals->nbad_places >= totals->keep_bad_lines) return FLOE_OK;
    if (list_reserve((void **)&totals->bad_places, totals->nbad_places,
                     sizeof(*totals->bad_places)) != FLOE_OK)
        return FLOE_ERR_NOMEM;
    size_t len = bad->text.len < FLOE_BAD_EXCERPT_LEN ? bad->text.len : FLOE_BAD_EXCERPT_LEN;
    floe_bad_place place = {
        .file = strdup(path),
        .file_index = file_index,
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
        return FLOE_ERR_NOMEM;
    }
    totals->bad_places[totals->nbad_places++] = place;
    return FLOE_OK;
}

floe_status floe_totals_note_unknown(floe_totals *totals, floe_slice name, const char *path,
                                     uint32_t file_index, uint64_t line_no) {
    for (size_t i = 0; i < totals->nunknown; i++) {
        const char *known = totals->unknown[i].name;
        if (strlen(known) == name.len && memcmp(known, name.ptr, name.len) == 0) return FLOE_OK;
    }
    if (list_reserve((void **)&totals->unknown, totals->nunknown, sizeof(*totals->unknown)) !=
        FLOE_OK)
        return FLOE_ERR_NOMEM;
    floe_unknown_notice notice = {copy_text(name.ptr, name.len), strdup(path), file_index, line_no};
    if (notice.name == NULL || notice.file == NULL) {
        free(notice.name);
        free(notice.file);
        return FLOE_ERR_NOMEM;
    }
    totals->unknown[totals->nunknown++] = notice;
    return FLOE_OK;
}

floe_status floe_totals_note_file_failure(floe_totals *totals, const char *path,
                                          uint32_t file_index, int err, bool opened) {
    if (list_reserve((void **)&totals->file_failures, totals->nfile_failures,
                     sizeof(*totals->file_failures)) != FLOE_OK)
        return FLOE_ERR_NOMEM;
    char *copy = strdup(path);
    if (copy == NULL) return FLOE_ERR_NOMEM;
    totals->file_failures[totals->nfile_failures++] =
        (floe_file_failure){copy, file_index, err, opened};
    return FLOE_OK;
}

floe_status floe_totals_note_decode_failure(floe_totals *totals, const char *path,
                                            uint32_t file_index, floe_codec codec,
                                            floe_status error, uint64_t offset) {
    if (list_reserve((void **)&totals->decode_failures, totals->ndecode_failures,
                     sizeof(*totals->decode_failures)) != FLOE_OK)
        return FLOE_ERR_NOMEM;
    char *copy = strdup(path);
    if (copy == NULL) return FLOE_ERR_NOMEM;
    totals->decode_failures[totals->ndecode_failures++] =
        (floe_decode_failure){copy, file_index, codec, error, offset};
    return FLOE_OK;
}

floe_status floe_totals_note_late(floe_totals *totals, const char *path, uint32_t file_index,
                                  uint64_t records) {
    totals->late_records += records;
    if (totals->nlate_files >= totals->keep_bad_lines) return FLOE_OK;
    if (list_reserve((void **)&totals->late_files, totals->nlate_files,
                     sizeof(*totals->late_files)) != FLOE_OK)
        return FLOE_ERR_NOMEM;
    char *copy = strdup(path);
    if (copy == NULL) return FLOE_ERR_NOMEM;
    totals->late_files[totals->nlate_files++] = (floe_late_file){copy, file_index, records};
    return FLOE_OK;
}

void floe_totals_add_parse_stats(floe_totals *totals, const floe_parse_stats *stats) {
    totals->lines += stats->lines;
    totals->records += stats->records;
    totals->headers += stats->headers;
    totals->blank_lines += stats->blank_lines;
    totals->bad_lines += stats->bad_lines;
    for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++)
        totals->bad_by_reason[r] += stats->bad_by_reason[r];
}

/* ---- merging ------------------------------------------------------------------------------- */

static int compare_place(uint32_t file_a, uint64_t line_a, uint32_t file_b, uint64_t line_b) {
    if (file_a != file_b) return file_a < file_b ? -1 : 1;
    return (line_a > line_b) - (line_a < line_b);
}

static int compare_bad(const void *a, const void *b) {
    const floe_bad_place *x = a, *y = b;
    return compare_place(x->file_index, x->line_no, y->file_index, y->line_no);
}

static int compare_unknown(const void *a, const void *b) {
    const floe_unknown_notice *x = a, *y = b;
    int order = compare_place(x->file_index, x->line_no, y->file_index, y->line_no);
    return order != 0 ? order : strcmp(x->name, y->name);
}

static int compare_decode_failure(const void *a, const void *b) {
    const floe_decode_failure *x = a, *y = b;
    return compare_place(x->file_index, 0, y->file_index, 0);
}

static int compare_file_failure(const void *a, const void *b) {
    const floe_file_failure *x = a, *y = b;
    return compare_place(x->file_index, 0, y->file_index, 0);
}

static int compare_late_file(const void *a, const void *b) {
    const floe_late_file *x = a, *y = b;
    return compare_place(x->file_index, 0, y->file_index, 0);
}

/* Appends from's n elements to *into_list (n_into of them), moving ownership. */
static floe_status move_list(void **into_list, size_t *n_into, void **from_list, size_t *n_from,
                             size_t elem_size) {
    for (size_t i = 0; i < *n_from; i++) {
        if (list_reserve(into_list, *n_into, elem_size) != FLOE_OK) {
            /* Keep in `from` only what did not move, so each element has one owner. */
            memmove(*from_list, (char *)*from_list + i * elem_size, (*n_from - i) * elem_size);
            *n_from -= i;
            return FLOE_ERR_NOMEM;
        }
        memcpy((char *)*into_list + *n_into * elem_size, (char *)*from_list + i * elem_size,
               elem_size);
        ++*n_into;
    }
    free(*from_list);
    *from_list = NULL;
    *n_from = 0;
    return FLOE_OK;
}

/* qsort, but an empty list may be NULL (qsort's pointer must not be). */
static void sort_list(void *list, size_t n, size_t elem_size,
                      int (*compare)(const void *, const void *)) {
    if (n > 1) qsort(list, n, elem_size, compare);
}

floe_status floe_totals_merge(floe_totals *into, floe_totals *from) {
    into->files += from->files;
    for (int c = 0; c < FLOE_CODEC_COUNT; c++)
        into->files_by_codec[c] += from->files_by_codec[c];
    into->members += from->members;
    into->compressed_bytes += from->compressed_bytes;
    into->decoded_bytes += from->decoded_bytes;
    into->lines += from->lines;
    into->records += from->records;
    into->headers += from->headers;
    into->blank_lines += from->blank_lines;
    into->bad_lines += from->bad_lines;
    for (int r = 0; r < FLOE_BAD_REASON_COUNT; r++)
        into->bad_by_reason[r] += from->bad_by_reason[r];
    into->cut_lines += from->cut_lines;
    for (int a = 0; a < 3; a++) {
        into->by_action[a].records += from->by_action[a].records;
        into->by_action[a].packets =
            floe_counter_add(into->by_action[a].packets, from->by_action[a].packets);
        into->by_action[a].bytes =
            floe_counter_add(into->by_action[a].bytes, from->by_action[a].bytes);
    }
    for (int s = 0; s < 4; s++)
        into->by_log_status[s] += from->by_log_status[s];
    into->late_records += from->late_records;

    /* Counters are merged; if a list cannot grow, the places moved so far stay in `into` and
     * the rest are freed with `from`. */
    floe_status status = FLOE_OK;
    if (move_list((void **)&into->bad_places, &into->nbad_places, (void **)&from->bad_places,
                  &from->nbad_places, sizeof(floe_bad_place)) != FLOE_OK ||
        move_list((void **)&into->unknown, &into->nunknown, (void **)&from->unknown,
                  &from->nunknown, sizeof(floe_unknown_notice)) != FLOE_OK ||
        move_list((void **)&into->decode_failures, &into->ndecode_failures,
                  (void **)&from->decode_failures, &from->ndecode_failures,
                  sizeof(floe_decode_failure)) != FLOE_OK ||
        move_list((void **)&into->file_failures, &into->nfile_failures,
                  (void **)&from->file_failures, &from->nfile_failures,
                  sizeof(floe_file_failure)) != FLOE_OK ||
        move_list((void **)&into->late_files, &into->nlate_files, (void **)&from->late_files,
                  &from->nlate_files, sizeof(floe_late_file)) != FLOE_OK)
        status = FLOE_ERR_NOMEM;

    sort_list(into->bad_places, into->nbad_places, sizeof(floe_bad_place), compare_bad);
    while (into->nbad_places > into->keep_bad_lines) {
        floe_bad_place *drop = &into->bad_places[--into->nbad_places];
        free(drop->file);
        free(drop->excerpt);
    }
    /* One notice per name: its first place. */
    sort_list(into->unknown, into->nunknown, sizeof(floe_unknown_notice), compare_unknown);
    size_t kept = 0;
    for (size_t i = 0; i < into->nunknown; i++) {
        bool seen = false;
        for (size_t j = 0; j < kept && !seen; j++)
            seen = strcmp(into->unknown[j].name, into->unknown[i].name) == 0;
        if (seen) {
            free(into->unknown[i].name);
            free(into->unknown[i].file);
        } else {
            into->unknown[kept++] = into->unknown[i];
        }
    }
    into->nunknown = kept;
    sort_list(into->decode_failures, into->ndecode_failures, sizeof(floe_decode_failure),
              compare_decode_failure);
    sort_list(into->file_failures, into->nfile_failures, sizeof(floe_file_failure),
              compare_file_failure);
    sort_list(into->late_files, into->nlate_files, sizeof(floe_late_file), compare_late_file);
    while (into->nlate_files > into->keep_bad_lines)
        free(into->late_files[--into->nlate_files].file);
    uint32_t keep = from->keep_bad_lines;
    floe_totals_free(from);
    floe_totals_init(from, keep);
    return status;
}

/* ---- the read() loop ------------------------------------------------------------------------ */

struct floe_totals_worker {
    floe_totals_options options;
    floe_stream *stream;
    uint8_t *read_buf; /* options.read_size bytes */
};

floe_status floe_totals_worker_new(const floe_totals_options *options, floe_totals_worker **out) {
    *out = NULL;
    if (options->read_size == 0) return FLOE_ERR_INVALID;
    floe_stream_options stream_options;
    floe_stream_options_default(&stream_options);
    stream_options.mode = options->mode;
    stream_options.format = options->format;
    stream_options.simd = options->simd;
    stream_options.decode_size = options->decode_size;
    stream_options.max_line = options->max_line;
    stream_options.batch_rows = options->batch_rows;
    floe_stream *stream = NULL;
    floe_status status = floe_stream_new(&stream_options, &stream);
    if (status != FLOE_OK) return status;
    floe_totals_worker *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        floe_stream_free(stream);
        return FLOE_ERR_NOMEM;
    }
    w->options = *options;
    w->stream = stream;
    /* The first read must be able to hold the codec's magic bytes. */
    if (w->options.read_size < FLOE_DECODE_MAGIC_LEN) w->options.read_size = FLOE_DECODE_MAGIC_LEN;
    w->read_buf = malloc(w->options.read_size);
    if (w->read_buf == NULL) {
        floe_totals_worker_free(w);
        return FLOE_ERR_NOMEM;
    }
    *out = w;
    return FLOE_OK;
}

void floe_totals_worker_free(floe_totals_worker *worker) {
    if (worker == NULL) return;
    floe_stream_free(worker->stream);
    free(worker->read_buf);
    free(worker);
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

floe_status floe_totals_add_file(floe_totals_worker *worker, const char *path,
                                 floe_totals *totals) {
    uint32_t file_index = (uint32_t)totals->files;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        totals->files++;
        return floe_totals_note_file_failure(totals, path, file_index, errno, false);
    }
    /* Whole files are read front to back once: let the kernel read ahead aggressively. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint8_t *buf = worker->read_buf;
    size_t n = worker->options.read_size;
    size_t got = 0;
    bool eof = false;
    int err = read_chunk(fd, buf, n, FLOE_DECODE_MAGIC_LEN, &got, &eof);
    if (err != 0) {
        close(fd);
        totals->files++;
        return floe_totals_note_file_failure(totals, path, file_index, err, true);
    }
    floe_status status = floe_stream_begin(worker->stream, path, file_index, totals, buf, got);
    while (status == FLOE_OK) {
        /* Look one read ahead, so the decoder learns "last" with the file's final bytes. */
        if (eof) {
            status = floe_stream_feed(worker->stream, buf, got, true);
            break;
        }
        status = floe_stream_feed(worker->stream, buf, got, false);
        if (status != FLOE_OK) break;
        err = read_chunk(fd, buf, n, 1, &got, &eof);
        if (err != 0) {
            status = floe_stream_cut(worker->stream, err);
            break;
        }
    }
    close(fd);
    return status;
}
