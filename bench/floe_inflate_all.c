/* floe_inflate_all.c: the decompression-alone peer of bench/compare.sh. Inflates every gzip
 * file it is given with ISA-L (the inflater floe uses) on N threads and discards the output:
 * read() 256 KiB at a time, isal_inflate (ISAL_GZIP: header, CRC and length checked) into one
 * 1 MiB buffer per thread, every gzip member of a file. Threads take the next file, largest
 * first, from a shared counter. Prints files, compressed and uncompressed bytes, seconds and
 * MB/s of uncompressed output (decimal MB); exits 1 on a corrupt or unreadable file.
 *
 * Build (one line):
 *   cc -O2 -std=c11 -pthread -o /tmp/floe_inflate_all bench/floe_inflate_all.c -lisal
 * Run:
 *   /tmp/floe_inflate_all [-t THREADS] FILE.gz...    (THREADS default: online CPUs; files
 *                                                     also on stdin, one path a line)
 * Not part of the CMake build. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { IN_CHUNK = 256 * 1024, OUT_BUF = 1024 * 1024, MAX_THREADS = 256 };

typedef struct {
    char *path;
    off_t size;
} input_file;

static input_file *files;
static size_t nfiles;
static atomic_size_t next_file;
static atomic_uint_fast64_t out_total, in_total;
static atomic_int failed;

static int by_size_desc(const void *a, const void *b) {
    const input_file *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return strcmp(x->path, y->path);
}

static void member_reset(struct inflate_state *st) {
    uint8_t *next_in = st->next_in;
    uint32_t avail_in = st->avail_in;
    isal_inflate_reset(st);
    st->crc_flag = ISAL_GZIP;
    st->hist_bits = 0;
    st->next_in = next_in;
    st->avail_in = avail_in;
}

/* Returns the uncompressed size, or -1 (and says why) on error. */
static int64_t inflate_file(const char *path, struct inflate_state *st, uint8_t *in,
                            uint8_t *out) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "floe_inflate_all: %s: cannot open\n", path);
        return -1;
    }
    int64_t total = 0;
    int member_done = 0, any_input = 0;
    isal_inflate_init(st);
    member_reset(st);
    for (;;) {
        ssize_t n = read(fd, in, IN_CHUNK);
        if (n < 0) {
            fprintf(stderr, "floe_inflate_all: %s: read error\n", path);
            close(fd);
            return -1;
        }
        if (n == 0) break;
        any_input = 1;
        st->next_in = in;
        st->avail_in = (uint32_t)n;
        for (;;) {
            if (member_done) {
                if (st->avail_in == 0) break;
                member_reset(st);
                member_done = 0;
            }
            st->next_out = out;
            st->avail_out = OUT_BUF;
            if (isal_inflate(st) != ISAL_DECOMP_OK) {
                fprintf(stderr, "floe_inflate_all: %s: corrupt gzip\n", path);
                close(fd);
                return -1;
            }
            total += OUT_BUF - st->avail_out;
            if (st->block_state == ISAL_BLOCK_FINISH) {
                member_done = 1;
                continue;
            }
            if (st->avail_in == 0 && st->avail_out > 0) break;
        }
    }
    close(fd);
    if (any_input && !member_done) {
        fprintf(stderr, "floe_inflate_all: %s: truncated gzip\n", path);
        return -1;
    }
    return total;
}

static void *worker(void *arg) {
    (void)arg;
    struct inflate_state *st = malloc(sizeof *st);
    uint8_t *in = malloc(IN_CHUNK), *out = malloc(OUT_BUF);
    if (st == NULL || in == NULL || out == NULL) {
        fprintf(stderr, "floe_inflate_all: out of memory\n");
        atomic_store(&failed, 1);
    } else {
        for (;;) {
            size_t i = atomic_fetch_add(&next_file, 1);
            if (i >= nfiles) break;
            int64_t n = inflate_file(files[i].path, st, in, out);
            if (n < 0) {
                atomic_store(&failed, 1);
                continue;
            }
            atomic_fetch_add(&out_total, (uint64_t)n);
            atomic_fetch_add(&in_total, (uint64_t)files[i].size);
        }
    }
    free(st);
    free(in);
    free(out);
    return NULL;
}

static void add_file(const char *path, size_t *cap) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "floe_inflate_all: %s: cannot stat\n", path);
        exit(1);
    }
    if (nfiles == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        files = realloc(files, *cap * sizeof *files);
        if (files == NULL) exit(1);
    }
    files[nfiles].path = strdup(path);
    files[nfiles].size = sb.st_size;
    nfiles++;
}

int main(int argc, char **argv) {
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    int argi = 1;
    if (argi + 1 < argc && strcmp(argv[argi], "-t") == 0) {
        threads = atol(argv[argi + 1]);
        argi += 2;
    }
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: floe_inflate_all [-t THREADS (1-%d)] FILE.gz...\n", MAX_THREADS);
        return 2;
    }
    size_t cap = 0;
    if (argi < argc) {
        for (int i = argi; i < argc; i++) add_file(argv[i], &cap);
    } else {
        char *line = NULL;
        size_t line_cap = 0;
        ssize_t len;
        while ((len = getline(&line, &line_cap, stdin)) >= 0) {
            if (len > 0 && line[len - 1] == '\n') line[len - 1] = '\0';
            if (line[0] != '\0') add_file(line, &cap);
        }
        free(line);
    }
    if (nfiles == 0) {
        fprintf(stderr, "floe_inflate_all: no input files\n");
        return 2;
    }
    qsort(files, nfiles, sizeof *files, by_size_desc);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t tid[MAX_THREADS];
    for (long t = 0; t < threads; t++) pthread_create(&tid[t], NULL, worker, NULL);
    for (long t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;

    uint64_t out = atomic_load(&out_total);
    printf("files=%zu threads=%ld compressed_bytes=%llu text_bytes=%llu seconds=%.3f MB/s=%.0f\n",
           nfiles, threads, (unsigned long long)atomic_load(&in_total), (unsigned long long)out,
           secs, (double)out / 1e6 / secs);
    return atomic_load(&failed) ? 1 : 0;
}
