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

/* Adds the lines of text[0..len) (whole lines, the first numbered line_base + 1) to the set:
 * every good line added, a bad one named on stderr (also under -q: it is a skip, not progress)
 * and skipped, and counted in *skipped. Spamhaus's ';' comments are comments too. False on a
 * failure other than a bad line (out of memory). */
static bool add_lines(const char *command, const char *option, const char *path, char *text,
                      size_t len, uint64_t line_base, floe_cidr_set *set, uint64_t *skipped) {
    for (char *semi = text; (semi = memchr(semi, ';', len - (size_t)(semi - text))); semi++)
        *semi = '#';
    size_t pos = 0;
    while (pos <= len) {
        uint64_t bad = 0;
        floe_status st = floe_cidr_set_add_list(set, text + pos, len - pos, &bad);
        if (st == FLOE_OK) break;
        if (st != FLOE_ERR_FORMAT) {
            fprintf(stderr, "floe %s: %s %s: %s\n", command, option, path, floe_status_str(st));
            return false;
        }
        /* Skip to the line after the bad one. */
        size_t at = pos;
        for (uint64_t l = 1; l < bad; l++)
            at = (size_t)((char *)memchr(text + at, '\n', len - at) - text) + 1;
        char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        (*skipped)++;
        fprintf(stderr, "floe %s: %s %s:%" PRIu64 ": not an IP or CIDR, skipped: '%.*s'\n", command,
                option, path, line_base + bad, (int)(end - at > 60 ? 60 : end - at), text + at);
        line_base += bad;
        if (!nl) break;
        pos = end + 1;
    }
    return true;
}

/* A threat list, read a chunk of whole lines at a time (add_lines): a million-entry list is
 * not held whole, only what it adds to the set. */
static bool load_list(const char *command, const char *option, const char *path, floe_cidr_set *set,
                      uint64_t *skipped) {
    FILE *f = fopen(path, "rb");
    size_t cap = (size_t)1 << 20, have = 0;
    char *buf = f ? malloc(cap) : NULL;
    if (!buf) {
        fprintf(stderr, "floe %s: %s %s: %s\n", command, option, path, strerror(errno));
        if (f) fclose(f);
        return false;
    }
    uint64_t line_base = 0;
    bool ok = true, eof = false;
    while (ok && !eof) {
        have += fread(buf + have, 1, cap - have, f);
        if (have < cap) {
            if (ferror(f)) {
                fprintf(stderr, "floe %s: %s %s: %s\n", command, option, path, strerror(EIO));
                ok = false;
                break;
            }
            eof = true;
        }
        /* Whole lines only, unless the file ended: a line cut by the chunk waits for its rest. */
        char *last_nl = eof ? NULL : memrchr(buf, '\n', have);
        size_t whole = eof ? have : last_nl ? (size_t)(last_nl - buf) + 1 : 0;
        if (whole == 0 && !eof) { /* one line longer than the buffer: a bigger buffer */
            char *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                fprintf(stderr, "floe %s: %s %s: %s\n", command, option, path, strerror(ENOMEM));
                ok = false;
                break;
            }
            buf = grown;
            cap *= 2;
            continue;
        }
        ok = add_lines(command, option, path, buf, whole, line_base, set, skipped);
        for (const char *c = buf; (c = memchr(c, '\n', whole - (size_t)(c - buf))); c++)
            line_base++;
        memmove(buf, buf + whole, have - whole);
        have -= whole;
    }
    free(buf);
    fclose(f);
    return ok;
}

int floe_cli_detect_setup(const floe_cli_detect_args *a, floe_detect_config *config, bool strict) {
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
        floe_status st =
            floe_detect_config_set(config, a->sets[i], strlen(a->sets[i]), err, sizeof err);
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
        fprintf(stderr,
                "floe analyze: --strict: %" PRIu64 " threat-list lines were not addresses\n",
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
