/* fuzz_weights.c - fuzz target: the weights loader against a fixed small network (batch-norm
 * and plain convolutions, a connected layer): headers of every version
 * (32/64-bit seen, transposed connected weights), short and long files. */
#include "fuzz.h"

static const char net_cfg[] =
    "[net]\nwidth=8\nheight=8\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=2\nsize=1\nstride=1\nactivation=linear\n"
    "[connected]\noutput=3\nactivation=linear\n"
    "[softmax]\n";

static dn_network *g_net;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_net) {
        dn_set_log(NULL);
        const char *cfg = fuzz_file("weights_net.cfg", (const uint8_t *)net_cfg, sizeof net_cfg - 1);
        if (dn_network_parse(cfg, 1, &g_net) != DN_OK) {
            fprintf(stderr, "fuzz_weights: %s\n", dn_last_error());
            abort();
        }
        dn_network_set_threads(g_net, 1);
    }
    fuzz_begin();
    const char *path = fuzz_file("fuzz.weights", data, size);
    long extra = -1;
    dn_status st = dn_network_load_weights(g_net, path, &extra);
    fuzz_expect_reason(st);
    if (st == DN_OK) {
        if (extra < 0) abort();
        float x[8 * 8 * 3];
        for (int i = 0; i < 8 * 8 * 3; i++) x[i] = (float)(i % 5) / 5.f;
        dn_network_predict(g_net, x);
    }
    fuzz_end();
    return 0;
}
