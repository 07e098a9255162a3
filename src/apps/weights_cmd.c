/* weights_cmd.c - `darknet weights random cfg out.weights [-seed s] [-image calib.png]` writes seeded random
 * weights for a cfg (conformance tests, benchmarks); `darknet weights info cfg weights` loads
 * and reports the header and how much of the file the cfg consumed. */
#include "app.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_weights(int argc, char **argv);
int cmd_partial(int argc, char **argv);

/* `darknet partial cfg weights out.weights N` (Darknet's command): writes the weights of layers
 * 0 .. N-1 with seen = 0, a pretrained backbone for `train` (which loads such a prefix). */
int cmd_partial(int argc, char **argv)
{
    const char *usage = "darknet partial <cfg> <weights> <out.weights> <layers>";
    char *pos[4];
    int np;
    int rc = app_parse(argc, argv, 2, NULL, 0, pos, 4, &np, usage);
    if (rc) return rc;
    char *end = NULL;
    long n = np == 4 ? strtol(pos[3], &end, 10) : -1;
    if (np != 4 || !end || *end || n < 1) {
        fprintf(stderr, "usage: %s (layers: a positive count)\n", usage);
        return APP_USAGE;
    }
    dn_network *net = app_load_network(pos[0], pos[1], 1);
    if (!net) return APP_FAIL;
    if (n > dn_network_layers(net)) {
        fprintf(stderr, "darknet: %s has %d layers, not %ld\n", pos[0], dn_network_layers(net), n);
        dn_network_free(net);
        return APP_FAIL;
    }
    net->seen = 0;
    dn_status st = dn_network_save_weights_prefix(net, pos[2], (int)n);
    dn_network_free(net);
    if (st != DN_OK) {
        app_error("", st);
        return APP_FAIL;
    }
    fprintf(stderr, "%s: layers 0-%ld of %s\n", pos[2], n - 1, pos[1]);
    return APP_OK;
}

int cmd_weights(int argc, char **argv)
{
    const char *usage = "darknet weights random <cfg> <out.weights> [-seed s] [-image calib.png] | darknet weights info <cfg> <weights>";
    if (argc < 3) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    int seed = 1;
    const char *calib = NULL;
    app_flag flags[] = {{"-seed", 'i', &seed}, {"-image", 's', &calib}};
    char *pos[2];
    int np;
    int rc = app_parse(argc, argv, 3, flags, 2, pos, 2, &np, usage);
    if (rc) return rc;
    if (np < 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    if (!strcmp(argv[2], "random")) {
        dn_network *net = app_load_network(pos[0], NULL, 1);
        if (!net) return APP_FAIL;
        dn_image im = {0}, sized = {0};
        if (calib) {
            dn_status st = dn_image_load(calib, dn_network_channels(net), &im);
            if (st == DN_OK) st = dn_image_letterbox(&im, dn_network_width(net), dn_network_height(net), &sized);
            if (st != DN_OK) {
                app_error("", st);
                dn_image_free(&im);
                dn_network_free(net);
                return APP_FAIL;
            }
        }
        dn_network_randomize(net, (uint64_t)seed, sized.data);
        dn_image_free(&im);
        dn_image_free(&sized);
        dn_status st = dn_network_save_weights(net, pos[1]);
        dn_network_free(net);
        if (st != DN_OK) {
            app_error("", st);
            return APP_FAIL;
        }
        return APP_OK;
    }
    if (!strcmp(argv[2], "info")) {
        dn_network *net = app_load_network(pos[0], NULL, 1);
        if (!net) return APP_FAIL;
        long extra = 0;
        dn_status st = dn_network_load_weights(net, pos[1], &extra);
        if (st != DN_OK) {
            app_error("", st);
            dn_network_free(net);
            return APP_FAIL;
        }
        printf("%s: %d layers loaded, %ld unused bytes at the end\n", pos[1], dn_network_layers(net), extra);
        dn_network_free(net);
        return APP_OK;
    }
    fprintf(stderr, "usage: %s\n", usage);
    return APP_USAGE;
}
