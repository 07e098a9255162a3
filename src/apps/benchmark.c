/* benchmark.c - `darknet benchmark cfg [weights] [-n runs] [-warmup w] [-threads t]`: times the
 * forward pass alone (median and minimum of n runs after warm-up) on a fixed pseudo-random
 * input, with seeded random weights when none are given. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_benchmark(int argc, char **argv);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_benchmark(int argc, char **argv)
{
    const char *usage = "darknet benchmark <cfg> [weights] [-n runs] [-warmup w] [-threads t]";
    int runs = 20, warm = 3, threads = 0;
    app_flag flags[] = {{"-n", 'i', &runs}, {"-warmup", 'i', &warm}, {"-threads", 'i', &threads}};
    char *pos[2];
    int np;
    int rc = app_parse(argc, argv, 2, flags, 3, pos, 2, &np, usage);
    if (rc) return rc;
    if (np < 1 || runs < 1 || runs > 100000 || warm < 0 || threads < 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    dn_network *net = app_load_network(pos[0], np > 1 ? pos[1] : NULL, 1);
    if (!net) return APP_FAIL;
    if (np < 2) dn_network_randomize(net, 1, NULL);
    if (threads) dn_network_set_threads(net, threads);
    size_t n = (size_t)dn_network_width(net) * dn_network_height(net) * dn_network_channels(net);
    float *in = malloc(n * sizeof(float));
    double *t = malloc((size_t)runs * sizeof(double));
    if (!in || !t) {
        free(in);
        free(t);
        dn_network_free(net);
        return APP_FAIL;
    }
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        in[i] = (float)((s >> 8) & 0xffff) / 65535.f;
    }
    for (int i = 0; i < warm; i++) dn_network_predict(net, in);
    for (int i = 0; i < runs; i++) {
        double t0 = app_now();
        dn_network_predict(net, in);
        t[i] = (app_now() - t0) * 1000;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    double med = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    double bf = dn_network_bflops(net);
    printf("%s: %d x %d, %.3f BFLOPs, median %.2f ms, min %.2f ms over %d runs (%.1f GFLOP/s)\n", pos[0],
           dn_network_width(net), dn_network_height(net), bf, med, t[0], runs, bf / (med / 1000));
    free(in);
    free(t);
    dn_network_free(net);
    return APP_OK;
}
