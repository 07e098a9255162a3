/* fuzz.h - shared pieces of the fuzz targets in tests/fuzz/. Each target defines
 * LLVMFuzzerTestOneInput and is built twice: with libFuzzer (clang, `make fuzz`) and with
 * replay.c (any compiler, `make test` replays the seeds and the crash regressions). The parsers
 * under test read paths, so fuzz_file() writes the input to a per-process scratch file;
 * fuzz_begin() silences warnings and gives the input a memory budget (FUZZ_BUDGET bytes), so
 * no input can make the library allocate gigabytes; fuzz_end() lifts it. */
#ifndef DN_FUZZ_H
#define DN_FUZZ_H

#include "darknet.h"
#include "core/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_BUDGET ((size_t)256 << 20)

static char fuzz_dir_[64];

static inline void fuzz_cleanup_(void)
{
    char cmd[128];
    if (!fuzz_dir_[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_);
}

/* Writes data to the scratch file `name` (created once per process) and returns its path. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[128];
    if (!fuzz_dir_[0]) {
        snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/dn_fuzz_%ld",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
        char cmd[128];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", fuzz_dir_);
        if (system(cmd) != 0) abort();
        atexit(fuzz_cleanup_);
    }
    snprintf(path, sizeof path, "%s/%s", fuzz_dir_, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
    return path;
}

static inline void fuzz_begin(void)
{
    dn_set_log(NULL);
    dn_mem_budget(FUZZ_BUDGET);
}

static inline void fuzz_end(void) { dn_mem_budget(SIZE_MAX); }

/* A failing call must leave a one-line reason. */
static inline void fuzz_expect_reason(dn_status st)
{
    const char *e = dn_last_error();
    if (st != DN_OK && (!e[0] || strchr(e, '\n'))) {
        fprintf(stderr, "fuzz: status '%s' without a one-line reason: '%s'\n", dn_status_str(st), e);
        abort();
    }
}

#endif /* DN_FUZZ_H */
