/* imgconv.c - test tool: converts an image (JPEG/PNG) to PNG, optionally resized, so tests can
 * feed Debian's darknet and ours byte-identical lossless input. usage: imgconv in out.png [w h] */
#include "darknet.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: imgconv in out.png [w h]\n");
        return 2;
    }
    dn_image im, out;
    if (dn_image_load(argv[1], 3, &im) != DN_OK) {
        fprintf(stderr, "imgconv: %s\n", dn_last_error());
        return 1;
    }
    if (argc == 5) {
        if (dn_image_resize(&im, atoi(argv[3]), atoi(argv[4]), &out) != DN_OK) return 1;
        dn_image_free(&im);
        im = out;
    }
    if (dn_image_save_png(&im, argv[2]) != DN_OK) {
        fprintf(stderr, "imgconv: %s\n", dn_last_error());
        return 1;
    }
    dn_image_free(&im);
    return 0;
}
