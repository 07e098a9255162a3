/* fuzz_jpeg.c - fuzz target: the JPEG decoder path of dn_image_load (libjpeg with the
 * project's error manager, size limits, gray/RGB/CMYK conversion). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t soi[3] = {0xff, 0xd8, 0xff};
    fuzz_image(soi, sizeof soi, data, size);
    return 0;
}
