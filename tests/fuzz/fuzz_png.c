/* fuzz_png.c - fuzz target: the PNG decoder path of dn_image_load (libpng with the project's
 * error handlers, size limits, palette/gray/alpha/16-bit conversion). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    fuzz_image(sig, sizeof sig, data, size);
    return 0;
}
