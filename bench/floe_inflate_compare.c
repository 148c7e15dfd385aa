/* floe_inflate_compare.c: which gzip inflater serves a streaming reader best? One thread,
 * files already in memory, output discarded; MB/s of uncompressed output (decimal MB).
 *
 *   isal-stream   ISA-L isal_inflate (ISAL_GZIP: ISA-L parses the header, checks CRC and
 *                 length), input fed in 256 KiB chunks, output into one 1 MiB buffer that is
 *                 reused: the way a streaming reader (floe's io/floe_decode.c) uses it.
 *                 Memory: the ~100 KiB inflate state + 1 MiB, whatever the file size.
 *   isal-whole    ISA-L with the whole file in and the whole output buffer: the same
 *                 conditions as libdeflate, to show what the streaming chunking costs.
 *   libdeflate    libdeflate_gzip_decompress_ex over the whole file in memory. libdeflate
 *                 cannot stream: it needs the whole compressed member and an output buffer
 *                 as large as the whole uncompressed member, so memory grows with file
 *                 size (the largest output buffer is printed).
 *   zlib-stream   zlib inflate (windowBits 15+16), 256 KiB in / 1 MiB out like isal-stream.
 *                 Only when zlib.h is present at build time.
 *
 * Every gzip member of a file is decoded (multi-member files are handled by all four), every
 * CRC is checked by the library, and each method must produce the same byte count.
 *
 * Build (one line; drop -lz and add -DFLOE_NO_ZLIB if zlib1g-dev is missing):
 *   cc -O2 -std=c11 -o /tmp/floe_inflate_compare bench/floe_inflate_compare.c -lisal -ldeflate -lz
 * Run:
 *   /tmp/floe_inflate_compare [-r REPS] FILE.gz...     (REPS default 5; files also on stdin,
 *                                                       one path a line, when none are given)
 * Prints one line per method: median and best of REPS passes over all files. bench/compare.sh
 * builds and runs it on its generated gzip tree. Not part of the CMake build. */
#define _POSIX_C_SOURCE 200809L
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(FLOE_NO_ZLIB)
#include <zlib.h>
#endif

enum { IN_CHUNK = 256 * 1024, OUT_BUF = 1024 * 1024, MAX_REPS = 101 };

typedef struct {
    const char *path;
    uint8_t *data;
    size_t size;
} input_file;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *path) {
    fprintf(stderr, "floe_inflate_compare: %s: %s\n", path, what);
    exit(1);
}

static uint8_t *read_whole(const char *path, size_t *size_ret) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) die("cannot open", path);
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) die("out of memory", path);
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    if (ferror(f)) die("read error", path);
    fclose(f);
    *size_ret = len;
    return buf;
}

static void isal_member_reset(struct inflate_state *st) {
    isal_inflate_reset(st);
    st->crc_flag = ISAL_GZIP; /* ISA-L reads the gzip header and checks the trailer */
    st->hist_bits = 0;        /* full 32 KiB window */
}

/* Streaming: 256 KiB chunks in, one 1 MiB output buffer, output discarded. */
static uint64_t inflate_isal_stream(struct inflate_state *st, uint8_t *out,
                                    const input_file *file) {
    uint64_t total = 0;
    isal_inflate_init(st);
    isal_member_reset(st);
    int member_done = 0;
    for (size_t off = 0; off < file->size;) {
        size_t n = file->size - off < IN_CHUNK ? file->size - off : IN_CHUNK;
        st->next_in = file->data + off;
        st->avail_in = (uint32_t)n;
        off += n;
        for (;;) {
            if (member_done) {
                if (st->avail_in == 0) break; /* next member starts in the next chunk */
                uint8_t *next_in = st->next_in;
                uint32_t avail_in = st->avail_in;
                isal_member_reset(st);
                st->next_in = next_in;
                st->avail_in = avail_in;
                member_done = 0;
            }
            st->next_out = out;
            st->avail_out = OUT_BUF;
            if (isal_inflate(st) != ISAL_DECOMP_OK) die("ISA-L: corrupt gzip", file->path);
            total += OUT_BUF - st->avail_out;
            if (st->block_state == ISAL_BLOCK_FINISH) {
                member_done = 1;
                continue;
            }
            if (st->avail_in == 0 && st->avail_out > 0) break; /* needs the next chunk */
        }
    }
    if (!member_done) die("ISA-L: truncated gzip", file->path);
    return total;
}

/* Whole file in, whole output buffer (out_cap >= the file's uncompressed size). */
static uint64_t inflate_isal_whole(struct inflate_state *st, uint8_t *out, size_t out_cap,
                                   const input_file *file) {
    uint64_t total = 0;
    isal_inflate_init(st);
    st->next_in = file->data;
    st->avail_in = (uint32_t)file->size;
    while (st->avail_in > 0) {
        uint8_t *next_in = st->next_in;
        uint32_t avail_in = st->avail_in;
        isal_member_reset(st);
        st->next_in = next_in;
        st->avail_in = avail_in;
        st->next_out = out + total;
        st->avail_out = (uint32_t)(out_cap - total);
        if (isal_inflate(st) != ISAL_DECOMP_OK || st->block_state != ISAL_BLOCK_FINISH)
            die("ISA-L (whole): corrupt gzip or output buffer too small", file->path);
        total = (uint64_t)(st->next_out - out);
    }
    return total;
}

static uint64_t inflate_libdeflate(struct libdeflate_decompressor *d, uint8_t *out,
                                   size_t out_cap, const input_file *file) {
    uint64_t total = 0;
    size_t off = 0;
    while (off < file->size) { /* one call per gzip member, outputs back to back */
        size_t in_used = 0, out_made = 0;
        enum libdeflate_result r =
            libdeflate_gzip_decompress_ex(d, file->data + off, file->size - off, out + total,
                                          out_cap - total, &in_used, &out_made);
        if (r != LIBDEFLATE_SUCCESS) die("libdeflate: corrupt gzip or buffer too small", file->path);
        off += in_used;
        total += out_made;
    }
    return total;
}

#if !defined(FLOE_NO_ZLIB)
static uint64_t inflate_zlib_stream(z_stream *zs, uint8_t *out, const input_file *file) {
    uint64_t total = 0;
    if (inflateReset2(zs, 15 + 16) != Z_OK) die("zlib: reset failed", file->path);
    int member_done = 0;
    for (size_t off = 0; off < file->size;) {
        size_t n = file->size - off < IN_CHUNK ? file->size - off : IN_CHUNK;
        zs->next_in = file->data + off;
        zs->avail_in = (uInt)n;
        off += n;
        for (;;) {
            if (member_done) {
                if (zs->avail_in == 0) break;
                inflateReset(zs);
                member_done = 0;
            }
            zs->next_out = out;
            zs->avail_out = OUT_BUF;
            int ret = inflate(zs, Z_NO_FLUSH);
            total += OUT_BUF - zs->avail_out;
            if (ret == Z_STREAM_END) {
                member_done = 1;
                continue;
            }
            if (ret != Z_OK && ret != Z_BUF_ERROR) die("zlib: corrupt gzip", file->path);
            if (zs->avail_in == 0 && zs->avail_out > 0) break;
        }
    }
    if (!member_done) die("zlib: truncated gzip", file->path);
    return total;
}
#endif

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    int reps = 5, argi = 1;
    if (argi + 1 < argc && strcmp(argv[argi], "-r") == 0) {
        reps = atoi(argv[argi + 1]);
        argi += 2;
    }
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: floe_inflate_compare [-r REPS (1-%d)] FILE.gz...\n", MAX_REPS);
        return 2;
    }
    size_t nfiles = 0, cap = 64;
    input_file *files = malloc(cap * sizeof *files);
    char *line = NULL;
    size_t line_cap = 0;
    for (int i = argi;; i++) { /* paths from argv, else from stdin */
        const char *path;
        if (argi < argc) {
            if (i >= argc) break;
            path = argv[i];
        } else {
            ssize_t len = getline(&line, &line_cap, stdin);
            if (len < 0) break;
            if (len > 0 && line[len - 1] == '\n') line[len - 1] = '\0';
            if (line[0] == '\0') continue;
            path = strdup(line);
        }
        if (nfiles == cap) files = realloc(files, (cap *= 2) * sizeof *files);
        if (files == NULL) die("out of memory", "-");
        files[nfiles].path = path;
        files[nfiles].data = read_whole(path, &files[nfiles].size);
        nfiles++;
    }
    free(line);
    if (nfiles == 0) {
        fprintf(stderr, "floe_inflate_compare: no input files\n");
        return 2;
    }

    struct inflate_state *st = malloc(sizeof *st);
    uint8_t *stream_out = malloc(OUT_BUF);
    if (st == NULL || stream_out == NULL) die("out of memory", "-");

    /* A first streaming pass gives each file's uncompressed size (and warms the caches):
     * the whole-buffer methods get an output buffer as large as the largest file. */
    uint64_t in_total = 0, out_total = 0;
    size_t whole_cap = 0;
    for (size_t f = 0; f < nfiles; f++) {
        uint64_t n = inflate_isal_stream(st, stream_out, &files[f]);
        in_total += files[f].size;
        out_total += n;
        if (n > whole_cap) whole_cap = (size_t)n;
    }
    uint8_t *whole_out = malloc(whole_cap + 1);
    struct libdeflate_decompressor *ld = libdeflate_alloc_decompressor();
    if (whole_out == NULL || ld == NULL) die("out of memory", "-");
#if !defined(FLOE_NO_ZLIB)
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) die("zlib: init failed", "-");
#endif

    printf("%zu files, %.1f MB compressed, %.1f MB uncompressed; one thread, %d passes\n",
           nfiles, (double)in_total / 1e6, (double)out_total / 1e6, reps);
    printf("libraries: ISA-L (libisal), libdeflate %s", LIBDEFLATE_VERSION_STRING);
#if !defined(FLOE_NO_ZLIB)
    printf(", zlib %s", zlibVersion());
#endif
    printf("\n%-12s %12s %12s  %s\n", "method", "median MB/s", "best MB/s", "output buffer");

    const char *names[] = {"isal-stream", "isal-whole", "libdeflate", "zlib-stream"};
#if !defined(FLOE_NO_ZLIB)
    const int methods = 4;
#else
    const int methods = 3;
#endif
    for (int m = 0; m < methods; m++) {
        double secs[MAX_REPS];
        for (int r = 0; r < reps; r++) {
            uint64_t produced = 0;
            double t0 = now_seconds();
            for (size_t f = 0; f < nfiles; f++) {
                switch (m) {
                case 0: produced += inflate_isal_stream(st, stream_out, &files[f]); break;
                case 1: produced += inflate_isal_whole(st, whole_out, whole_cap + 1, &files[f]); break;
                case 2: produced += inflate_libdeflate(ld, whole_out, whole_cap + 1, &files[f]); break;
#if !defined(FLOE_NO_ZLIB)
                case 3: produced += inflate_zlib_stream(&zs, stream_out, &files[f]); break;
#endif
                default: break;
                }
            }
            secs[r] = now_seconds() - t0;
            if (produced != out_total) {
                fprintf(stderr, "floe_inflate_compare: %s produced %llu bytes, expected %llu\n",
                        names[m], (unsigned long long)produced, (unsigned long long)out_total);
                return 1;
            }
        }
        double med = median(secs, reps), best = secs[0];
        char bufdesc[64];
        if (m == 1 || m == 2)
            snprintf(bufdesc, sizeof bufdesc, "%.1f MB (largest file, grows with it)",
                     (double)whole_cap / 1e6);
        else
            snprintf(bufdesc, sizeof bufdesc, "1 MiB fixed, 256 KiB input chunks");
        printf("%-12s %12.0f %12.0f  %s\n", names[m], (double)out_total / 1e6 / med,
               (double)out_total / 1e6 / best, bufdesc);
        fflush(stdout);
    }
    return 0;
}
