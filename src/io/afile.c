/* afile.c - output files that are never left half-written: data goes to <target>.tmp and is
 * renamed over the target only when every write and the close succeeded. The target is the
 * path with symlinks resolved (so a link keeps pointing where it did); an existing target that
 * is not a regular file (a device such as /dev/null, a fifo) is written directly. */
#include "core/core.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

dn_status dn_afile_open(dn_afile *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->path = dn_strdup(path);
    if (!a->path) return dn_error(DN_ERR_NOMEM, "%s: out of memory opening the file", path);
    char *target = NULL;
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) target = realpath(path, NULL);
    const char *t = target ? target : path;
    if (stat(t, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        if (S_ISDIR(sb.st_mode)) {
            free(target);
            dn_free(a->path);
            a->path = NULL;
            return dn_error(DN_ERR_IO, "%s: is a directory", path);
        }
        a->f = fopen(t, "wb");
    } else {
        size_t n = strlen(t);
        a->tmp = dn_malloc(n + 5);
        a->final = a->tmp ? dn_strdup(t) : NULL;
        if (!a->final) {
            free(target);
            dn_free(a->tmp);
            dn_free(a->path);
            memset(a, 0, sizeof *a);
            return dn_error(DN_ERR_NOMEM, "%s: out of memory opening the file", path);
        }
        memcpy(a->tmp, t, n);
        memcpy(a->tmp + n, ".tmp", 5);
        a->f = fopen(a->tmp, "wb");
    }
    free(target);
    if (!a->f) {
        int e = errno;
        dn_free(a->tmp);
        dn_free(a->final);
        dn_free(a->path);
        memset(a, 0, sizeof *a);
        return dn_error(DN_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return DN_OK;
}

dn_status dn_afile_close(dn_afile *a, dn_status st)
{
    if (!a->f) return st;
    int bad = ferror(a->f) || fflush(a->f) != 0;
    int e = errno;
    if (fclose(a->f) != 0 && !bad) bad = 1, e = errno;
    a->f = NULL;
    if (st == DN_OK && bad) st = dn_error(DN_ERR_IO, "%s: cannot write: %s", a->path, strerror(e));
    if (st == DN_OK && a->tmp && rename(a->tmp, a->final) != 0)
        st = dn_error(DN_ERR_IO, "%s: cannot move the finished file into place: %s", a->path, strerror(errno));
    if (st != DN_OK && a->tmp) remove(a->tmp);
    dn_free(a->tmp);
    dn_free(a->final);
    dn_free(a->path);
    memset(a, 0, sizeof *a);
    return st;
}
