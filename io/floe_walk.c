#include "floe_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *floe_walk_error_str(floe_walk_error_kind kind) {
    switch (kind) {
    case FLOE_WALK_ERR_STAT:
        return "cannot stat";
    case FLOE_WALK_ERR_OPENDIR:
        return "cannot read directory";
    case FLOE_WALK_ERR_LOOP:
        return "symlink loop";
    case FLOE_WALK_ERR_NOT_REGULAR:
        return "not a regular file";
    case FLOE_WALK_ERR_KIND_COUNT:
        break;
    }
    return "unknown error";
}

/* A directory on the path from the walk's root to where it is now. */
typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct walker {
    floe_walk_result *result;
    const floe_walk_options *options;
    size_t files_cap;
    size_t errors_cap;
    dir_id *ancestors; /* the current path's directories, root first */
    size_t depth;
    size_t ancestors_cap;
} walker;

static floe_status grow(void **array, size_t *cap, size_t need, size_t elem_size) {
    if (need <= *cap) return FLOE_OK;
    size_t new_cap = *cap == 0 ? 64 : *cap * 2;
    while (new_cap < need)
        new_cap *= 2;
    void *grown = realloc(*array, new_cap * elem_size);
    if (grown == NULL) return FLOE_ERR_NOMEM;
    *array = grown;
    *cap = new_cap;
    return FLOE_OK;
}

/* Takes ownership of path (freed on failure). */
static floe_status add_file(walker *w, char *path, const struct stat *st) {
    floe_walk_result *r = w->result;
    if (grow((void **)&r->files, &w->files_cap, r->nfiles + 1, sizeof(*r->files)) != FLOE_OK) {
        free(path);
        return FLOE_ERR_NOMEM;
    }
    r->files[r->nfiles++] =
        (floe_walk_file){path, (uint64_t)st->st_size, (uint64_t)st->st_dev, (uint64_t)st->st_ino};
    r->total_size += (uint64_t)st->st_size;
    return FLOE_OK;
}

static floe_status add_error(walker *w, const char *path, floe_walk_error_kind kind, int err) {
    floe_walk_result *r = w->result;
    if (grow((void **)&r->errors, &w->errors_cap, r->nerrors + 1, sizeof(*r->errors)) != FLOE_OK)
        return FLOE_ERR_NOMEM;
    char *copy = strdup(path);
    if (copy == NULL) return FLOE_ERR_NOMEM;
    r->errors[r->nerrors++] = (floe_walk_error){copy, kind, err};
    return FLOE_OK;
}

static char *join_path(const char *dir, const char *name) {
    size_t dir_len = strlen(dir);
    size_t name_len = strlen(name);
    bool slash = dir_len > 0 && dir[dir_len - 1] != '/';
    char *path = malloc(dir_len + slash + name_len + 1);
    if (path == NULL) return NULL;
    memcpy(path, dir, dir_len);
    if (slash) path[dir_len] = '/';
    memcpy(path + dir_len + slash, name, name_len + 1);
    return path;
}

static floe_status visit(walker *w, char *path, const struct stat *st, bool explicit_path);

/* Reads one directory whose stat is st. Entries are visited in readdir order; the final sort
 * makes the order deterministic. */
static floe_status walk_dir(walker *w, const char *path, const struct stat *st) {
    for (size_t i = 0; i < w->depth; i++)
        if (w->ancestors[i].dev == st->st_dev && w->ancestors[i].ino == st->st_ino)
            return add_error(w, path, FLOE_WALK_ERR_LOOP, ELOOP);
    if (grow((void **)&w->ancestors, &w->ancestors_cap, w->depth + 1, sizeof(*w->ancestors)) !=
        FLOE_OK)
        return FLOE_ERR_NOMEM;

    DIR *dir = opendir(path);
    if (dir == NULL) return add_error(w, path, FLOE_WALK_ERR_OPENDIR, errno);
    w->ancestors[w->depth++] = (dir_id){st->st_dev, st->st_ino};
    floe_status status = FLOE_OK;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (entry == NULL) {
            if (errno != 0) status = add_error(w, path, FLOE_WALK_ERR_OPENDIR, errno);
            break;
        }
        const char *name = entry->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
        if (name[0] == '.' && !w->options->include_hidden) {
            w->result->skipped_hidden++;
            continue;
        }
        char *child = join_path(path, name);
        if (child == NULL) {
            status = FLOE_ERR_NOMEM;
            break;
        }
        struct stat child_st;
        /* stat, not lstat: links are followed; walk_dir catches the loops that allows. */
        if (fstatat(dirfd(dir), name, &child_st, 0) != 0) {
            status = add_error(w, child, FLOE_WALK_ERR_STAT, errno);
            free(child);
        } else {
            status = visit(w, child, &child_st, false);
        }
        if (status != FLOE_OK) break;
    }
    closedir(dir);
    w->depth--;
    return status;
}

/* Takes ownership of path. */
static floe_status visit(walker *w, char *path, const struct stat *st, bool explicit_path) {
    if (S_ISREG(st->st_mode)) return add_file(w, path, st);
    floe_status status = FLOE_OK;
    if (S_ISDIR(st->st_mode))
        status = walk_dir(w, path, st);
    else if (explicit_path)
        status = add_error(w, path, FLOE_WALK_ERR_NOT_REGULAR, 0);
    else
        w->result->skipped_special++;
    free(path);
    return status;
}

static int compare_files(const void *a, const void *b) {
    return strcmp(((const floe_walk_file *)a)->path, ((const floe_walk_file *)b)->path);
}

static int compare_errors(const void *a, const void *b) {
    const floe_walk_error *x = a;
    const floe_walk_error *y = b;
    int order = strcmp(x->path, y->path);
    return order != 0 ? order : (int)x->kind - (int)y->kind;
}

static int compare_identity(const void *a, const void *b) {
    const floe_walk_file *x = *(const floe_walk_file *const *)a,
                         *y = *(const floe_walk_file *const *)b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
    return x < y ? -1 : x > y; /* entries are in path order: the first path wins */
}

/* A file reached by several paths (a directory and a file in it, "./d//a.log", links) would be
 * read twice. Sorting pointers by (device, inode) puts its entries side by side; all but the
 * one with the first path are dropped, and the path order of the rest is kept. */
static floe_status drop_duplicates(floe_walk_result *r) {
    if (r->nfiles < 2) return FLOE_OK;
    floe_walk_file **by_identity = malloc(r->nfiles * sizeof(*by_identity));
    if (by_identity == NULL) return FLOE_ERR_NOMEM;
    for (size_t i = 0; i < r->nfiles; i++)
        by_identity[i] = &r->files[i];
    qsort(by_identity, r->nfiles, sizeof(*by_identity), compare_identity);
    for (size_t i = 1; i < r->nfiles; i++) {
        floe_walk_file *prev = by_identity[i - 1], *file = by_identity[i];
        if (file->dev != prev->dev || file->ino != prev->ino) continue;
        r->total_size -= file->size;
        free(file->path);
        file->path = NULL; /* marks the duplicate */
    }
    free(by_identity);
    size_t kept = 0;
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].path != NULL) r->files[kept++] = r->files[i];
    r->nfiles = kept;
    return FLOE_OK;
}

floe_status floe_walk(const char *const *paths, size_t npaths, const floe_walk_options *options,
                      floe_walk_result *out) {
    if (out == NULL) return FLOE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (paths == NULL && npaths > 0) return FLOE_ERR_INVALID;
    static const floe_walk_options defaults = {false};
    walker w = {out, options != NULL ? options : &defaults, 0, 0, NULL, 0, 0};
    floe_status status = FLOE_OK;
    for (size_t i = 0; i < npaths && status == FLOE_OK; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            status = add_error(&w, paths[i], FLOE_WALK_ERR_STAT, errno);
            continue;
        }
        char *path = strdup(paths[i]);
        if (path == NULL)
            status = FLOE_ERR_NOMEM;
        else
            status = visit(&w, path, &st, true);
    }
    free(w.ancestors);
    if (status != FLOE_OK) return status;
    if (out->nfiles > 1) qsort(out->files, out->nfiles, sizeof(*out->files), compare_files);
    if (out->nerrors > 1) qsort(out->errors, out->nerrors, sizeof(*out->errors), compare_errors);
    status = drop_duplicates(out);
    if (status != FLOE_OK) return status;
    return FLOE_OK;
}

void floe_walk_result_free(floe_walk_result *result) {
    if (result == NULL) return;
    for (size_t i = 0; i < result->nfiles; i++)
        free(result->files[i].path);
    for (size_t i = 0; i < result->nerrors; i++)
        free(result->errors[i].path);
    free(result->files);
    free(result->errors);
    memset(result, 0, sizeof(*result));
}
