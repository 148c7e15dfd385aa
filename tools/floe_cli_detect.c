/* floe_cli_detect.c: the detectors' settings from the command line: --detect-config FILE,
 * --set NAME=VALUE and --intel FILE, in that order of precedence (later wins). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe_cli.h"

/* The whole file, NUL-terminated; NULL with errno set on failure. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n + 1 < cap) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
                errno = EIO;
            }
            break;
        }
        char *grown = realloc(buf, cap * 2);
        if (!grown) free(buf);
        buf = grown;
        cap *= 2;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

/* A threat list: every good line added; a bad one is named on stderr (also under -q: it is a
 * skip, not progress) and skipped, so a feed with one odd line does not stop a nightly job, and
 * counted in *skipped. Spamhaus's ';' comments are comments too. */
static bool load_list(const char *command, const char *option, const char *path,
                      floe_cidr_set *set, uint64_t *skipped) {
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "floe %s: %s %s: %s\n", command, option, path, strerror(errno));
        return false;
    }
    for (char *semi = text; (semi = memchr(semi, ';', len - (size_t)(semi - text))); semi++)
        *semi = '#';
    uint64_t line_base = 0;
    size_t pos = 0;
    while (pos <= len) {
        uint64_t bad = 0;
        floe_status st = floe_cidr_set_add_list(set, text + pos, len - pos, &bad);
        if (st == FLOE_OK) break;
        if (st != FLOE_ERR_FORMAT) {
            fprintf(stderr, "floe %s: %s %s: %s\n", command, option, path, floe_status_str(st));
            free(text);
            return false;
        }
        /* Skip to the line after the bad one. */
        size_t at = pos;
        for (uint64_t l = 1; l < bad; l++)
            at = (size_t)((char *)memchr(text + at, '\n', len - at) - text) + 1;
        char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        (*skipped)++;
        fprintf(stderr, "floe %s: %s %s:%" PRIu64 ": not an IP or CIDR, skipped: '%.*s'\n",
                    command, option, path, line_base + bad, (int)(end - at > 60 ? 60 : end - at),
                    text + at);
        line_base += bad;
        if (!nl) break;
        pos = end + 1;
    }
    free(text);
    return true;
}

int floe_cli_detect_setup(const floe_cli_detect_args *a, floe_detect_config *config,
                          bool strict) {
    floe_detect_config_init(config);
    char err[256];
    if (a->config_path) {
        size_t len = 0;
        char *text = read_file(a->config_path, &len);
        if (!text) {
            fprintf(stderr, "floe analyze: --detect-config %s: %s\n", a->config_path,
                    strerror(errno));
            return FLOE_EXIT_USAGE;
        }
        uint64_t line = 0;
        floe_status st = floe_detect_config_parse(config, text, len, &line, err, sizeof err);
        free(text);
        if (st != FLOE_OK) {
            fprintf(stderr, "floe analyze: --detect-config %s:%" PRIu64 ": %s\n", a->config_path,
                    line, st == FLOE_ERR_FORMAT ? err : floe_status_str(st));
            return FLOE_EXIT_USAGE;
        }
    }
    for (unsigned i = 0; i < a->nsets; i++) {
        floe_status st = floe_detect_config_set(config, a->sets[i], strlen(a->sets[i]), err, sizeof err);
        if (st != FLOE_OK) {
            fprintf(stderr, "floe analyze: --set %s: %s\n", a->sets[i],
                    st == FLOE_ERR_FORMAT ? err : floe_status_str(st));
            return FLOE_EXIT_USAGE;
        }
    }
    uint64_t skipped = 0;
    for (unsigned i = 0; i < a->nintel; i++) {
        floe_cidr_set **intel = floe_detect_config_list(config, "intel");
        if (!intel || !load_list("analyze", "--intel", a->intel[i], *intel, &skipped))
            return FLOE_EXIT_USAGE;
    }
    if (skipped > 0 && strict) {
        fprintf(stderr, "floe analyze: --strict: %" PRIu64 " threat-list lines were not addresses\n",
                skipped);
        return FLOE_EXIT_SKIPPED;
    }
    floe_status st = floe_detect_config_finish(config);
    if (st != FLOE_OK) {
        fprintf(stderr, "floe analyze: detectors: %s\n", floe_status_str(st));
        return FLOE_EXIT_SKIPPED;
    }
    return -1;
}
