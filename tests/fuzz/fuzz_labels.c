/* fuzz_labels.c - fuzz target: the training-data text parsers of src/io/data.c and options.c -
 * the same input read as a YOLO label file (class x y w h per line), as an image list (one path
 * per line), and each listed path turned into its label path (images/ -> labels/, .txt). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin();
    const char *path = fuzz_file("fuzz_labels.txt", data, size);
    float boxes[DN_MAX_BOXES * 5];
    int count = -1;
    dn_status st = dn_read_labels(path, 10, boxes, DN_MAX_BOXES, &count);
    fuzz_expect_reason(st);
    if (count < 0 || count > DN_MAX_BOXES) abort();
    for (int i = 0; st == DN_OK && i < count; i++) {
        const float *b = boxes + 5 * i;
        if (!(b[2] > 0 && b[3] > 0 && b[4] >= 0 && b[4] < 10)) abort();
    }
    char **lines = NULL;
    int n = 0;
    st = dn_lines_read(path, &lines, &n);
    fuzz_expect_reason(st);
    if (st == DN_OK) {
        char out[4200];
        for (int i = 0; i < n && i < 64; i++) {
            dn_status s2 = dn_label_path(lines[i], out, sizeof out);
            fuzz_expect_reason(s2);
            if (s2 == DN_OK && !strstr(out, ".txt")) abort();
        }
        dn_lines_free(lines, n);
    }
    fuzz_end();
    return 0;
}
