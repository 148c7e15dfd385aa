#include "floe_outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static floe_status open_beside(const char *path, floe_outfile *out, int *err);
static floe_status open_in_place(const char *path, floe_outfile *out, int *err);

floe_status floe_outfile_open(const char *path, floe_outfile *out, int *err) {
    memset(out, 0, sizeof(*out));
    *err = 0;
    if (strcmp(path, "-") == 0) {
        out->fp = stdout;
        return FLOE_OK;
    }
    /* A symbolic link: write its target (the temporary goes beside the target). */
    struct stat st;
    bool link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
    char *resolved = link ? realpath(path, NULL) : NULL;
    const char *target = resolved != NULL ? resolved : path;
    /* In place: a dangling link, or anything but a regular file (a device, a FIFO). */
    bool in_place = (link && resolved == NULL) || (stat(target, &st) == 0 && !S_ISREG(st.st_mode));
    floe_status status = in_place ? open_in_place(target, out, err) : open_beside(target, out, err);
    free(resolved);
    return status;
}

static floe_status open_in_place(const char *path, floe_outfile *out, int *err) {
    out->fp = fopen(path, "w");
    if (out->fp == NULL) {
        *err = errno;
        return FLOE_ERR_IO;
    }
    out->direct = true;
    return FLOE_OK;
}

/* Opens a temporary beside path, which is a regular file or does not exist yet. */
static floe_status open_beside(const char *path, floe_outfile *out, int *err) {
    /* "dir/name" -> "dir/.name.tmp-XXXXXX": hidden, so a walk over the directory skips it. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    size_t len = strlen(path);
    out->final_path = strdup(path);
    out->tmp_path = malloc(len + 16);
    if (out->final_path == NULL || out->tmp_path == NULL) {
        floe_outfile_abort(out);
        return FLOE_ERR_NOMEM;
    }
    memcpy(out->tmp_path, path, dir_len);
    snprintf(out->tmp_path + dir_len, len - dir_len + 16, ".%s.tmp-XXXXXX", path + dir_len);
    int fd = mkstemp(out->tmp_path);
    if (fd < 0) {
        *err = errno;
        free(out->tmp_path);
        out->tmp_path = NULL;
        floe_outfile_abort(out);
        return FLOE_ERR_IO;
    }
    /* mkstemp makes the file 0600; outputs are ordinary files, readable as umask allows. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    out->fp = fdopen(fd, "w");
    if (out->fp == NULL) {
        *err = errno;
        close(fd);
        floe_outfile_abort(out);
        return FLOE_ERR_IO;
    }
    return FLOE_OK;
}

floe_status floe_outfile_commit(floe_outfile *file, int *err) {
    *err = 0;
    if (file->direct) {
        bool ok = fflush(file->fp) == 0 && !ferror(file->fp);
        if (!ok) *err = errno != 0 ? errno : EIO;
        if (fclose(file->fp) != 0 && ok) {
            ok = false;
            *err = errno;
        }
        memset(file, 0, sizeof(*file));
        return ok ? FLOE_OK : FLOE_ERR_IO;
    }
    if (file->final_path == NULL) {
        if (fflush(file->fp) != 0 || ferror(file->fp)) *err = errno != 0 ? errno : EIO;
        file->fp = NULL;
        return *err != 0 ? FLOE_ERR_IO : FLOE_OK;
    }
    bool ok = fflush(file->fp) == 0 && !ferror(file->fp) && fsync(fileno(file->fp)) == 0;
    if (!ok) *err = errno != 0 ? errno : EIO;
    if (fclose(file->fp) != 0 && ok) {
        ok = false;
        *err = errno;
    }
    file->fp = NULL;
    if (ok && rename(file->tmp_path, file->final_path) != 0) {
        ok = false;
        *err = errno;
    }
    if (!ok) {
        unlink(file->tmp_path);
    } else {
        /* The rename itself reaches the disk with the directory's next sync: ask for it now,
         * so a crash right after the run does not lose the name. Best effort. */
        char *slash = strrchr(file->final_path, '/');
        if (slash != NULL) *slash = 0;
        int dir = open(slash != NULL ? (file->final_path[0] ? file->final_path : "/") : ".",
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            (void)fsync(dir);
            close(dir);
        }
    }
    free(file->tmp_path);
    free(file->final_path);
    file->tmp_path = file->final_path = NULL;
    return ok ? FLOE_OK : FLOE_ERR_IO;
}

void floe_outfile_abort(floe_outfile *file) {
    if (file->fp != NULL && file->fp != stdout) fclose(file->fp);
    if (file->tmp_path != NULL) unlink(file->tmp_path);
    free(file->tmp_path);
    free(file->final_path);
    memset(file, 0, sizeof(*file));
}
