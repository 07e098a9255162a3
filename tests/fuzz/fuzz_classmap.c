/* fuzz_classmap.c - fuzz target: the class-map reader of `gradcampp eval -map`
 * (dn_read_class_map in src/io/data.c) for a 1000-class network: a failure leaves a one-line
 * reason; a success maps every label into range and lists distinct, sorted pairs whose first
 * class per label is the map's. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin();
    const char *path = fuzz_file("classmap.txt", data, size);
    int *map = NULL, *pairs = NULL, n = -1, np = -1;
    dn_status st = dn_read_class_map(path, 1000, &map, &n, &pairs, &np);
    fuzz_expect_reason(st);
    if (st != DN_OK && (map || pairs)) abort();
    if (st == DN_OK) {
        if (!map || n < 1 || n > 1000001 || np < 1) abort();
        for (int i = 0; i < n; i++)
            if (map[i] < -1 || map[i] >= 1000) abort();
        for (int i = 0; i < np; i++) {
            int a = pairs[2 * i], b = pairs[2 * i + 1];
            if (a < 0 || a >= n || b < 0 || b >= 1000 || map[a] < 0) abort();
            if (i && (a < pairs[2 * i - 2] || (a == pairs[2 * i - 2] && b <= pairs[2 * i - 1]))) abort();
        }
    }
    dn_free(map);
    dn_free(pairs);
    fuzz_end();
    return 0;
}
