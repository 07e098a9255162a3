/* fuzz_image.h - the body of the image decoder targets (fuzz_jpeg.c, fuzz_png.c): loads the
 * input as stored, as gray and as RGB through dn_image_load, checks the result's shape, and
 * resizes and letterboxes it. Each target prepends its format's magic bytes when the input
 * lacks them, so mutations stay inside one decoder. */
#ifndef DN_FUZZ_IMAGE_H
#define DN_FUZZ_IMAGE_H

#include "fuzz.h"

static void fuzz_image(const uint8_t *magic, size_t nmagic, const uint8_t *data, size_t size)
{
    fuzz_begin();
    uint8_t *buf = malloc(size + nmagic + 1);
    if (!buf) abort();
    size_t n = 0;
    if (size < nmagic || memcmp(data, magic, nmagic) != 0) {
        memcpy(buf, magic, nmagic);
        n = nmagic;
    }
    if (size) memcpy(buf + n, data, size);
    n += size;
    const char *path = fuzz_file("fuzz.img", buf, n);
    free(buf);
    static const int chans[3] = {0, 1, 3};
    for (int k = 0; k < 3; k++) {
        dn_image im;
        dn_status st = dn_image_load(path, chans[k], &im);
        fuzz_expect_reason(st);
        if (st != DN_OK) {
            if (im.data) abort();
            break; /* the other channel counts fail the same way */
        }
        if (im.w < 1 || im.h < 1 || im.w > DN_IMAGE_MAX_SIDE || im.h > DN_IMAGE_MAX_SIDE ||
            (chans[k] && im.c != chans[k]) || (im.c != 1 && im.c != 3))
            abort();
        size_t px = (size_t)im.w * im.h * im.c;
        for (size_t i = 0; i < px; i += 97)
            if (!(im.data[i] >= 0.f && im.data[i] <= 1.f)) abort();
        if (k == 2) {
            dn_image r;
            if (dn_image_letterbox(&im, 13, 7, &r) == DN_OK) dn_image_free(&r);
            if (dn_image_resize(&im, 5, 9, &r) == DN_OK) dn_image_free(&r);
        }
        dn_image_free(&im);
    }
    fuzz_end();
}

#endif /* DN_FUZZ_IMAGE_H */
