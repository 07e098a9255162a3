/* weights_cmd.c - `darknet weights random cfg out.weights [-seed s]` writes seeded random
 * weights for a cfg (conformance tests, benchmarks); `darknet weights info cfg weights` loads
 * and reports the header and how much of the file the cfg consumed. */
#include "app.h"

#include <stdio.h>
#include <string.h>

int cmd_weights(int argc, char **argv);

int cmd_weights(int argc, char **argv)
{
    const char *usage = "darknet weights random <cfg> <out.weights> [-seed s] | darknet weights info <cfg> <weights>";
    if (argc < 3) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    int seed = 1;
    app_flag flags[] = {{"-seed", 'i', &seed}};
    char *pos[2];
    int np;
    int rc = app_parse(argc, argv, 3, flags, 1, pos, 2, &np, usage);
    if (rc) return rc;
    if (np < 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    if (!strcmp(argv[2], "random")) {
        dn_network *net = app_load_network(pos[0], NULL, 1);
        if (!net) return APP_FAIL;
        dn_network_randomize(net, (uint64_t)seed);
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
