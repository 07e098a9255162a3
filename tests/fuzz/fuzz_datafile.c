/* fuzz_datafile.c - fuzz target: the .data reader (key=value, comments, CRLF, BOM) with the
 * lookups the commands make, and the .names reader on the same bytes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin();
    const char *path = fuzz_file("fuzz.data", data, size);
    dn_options *o = NULL;
    dn_status st = dn_options_read(path, &o);
    fuzz_expect_reason(st);
    if (st == DN_OK) {
        static const char *const keys[] = {"classes", "train", "valid", "names", "backup", "top",
                                           "labels", "eval", "results", ""};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const char *v = dn_options_str(o, keys[k], NULL);
            if (v) (void)strlen(v);
            (void)dn_options_int(o, keys[k], -1);
        }
        dn_options_free(o);
    }
    char **names = NULL;
    int n = 0;
    st = dn_lines_read(path, &names, &n);
    fuzz_expect_reason(st);
    if (st == DN_OK) {
        if (n < 0 || !names || names[n] != NULL) abort();
        for (int i = 0; i < n; i++)
            if (!names[i][0]) abort();
        dn_lines_free(names, n);
    }
    fuzz_end();
    return 0;
}
