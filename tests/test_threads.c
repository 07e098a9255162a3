/* test_threads.c - results are bit-identical for 1 and 2 threads (STYLE rule 5): the forward
 * pass of a network exercising every threaded kernel (im2col + GEMM, Winograd, depthwise,
 * pooling, activations) and batched Grad-CAM++ maps; and a training step (1, 2 and 3 threads:
 * with more than one, whole images per thread and the weight and input gradients on different
 * threads) giving the same loss and weight gradients. */
#include "core/core.h"
#include "harness.h"

#include <stdlib.h>

static const char *cfg_text =
    "[net]\nwidth=64\nheight=48\nchannels=3\n"
    "[convolutional]\nfilters=16\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=32\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=32\nsize=3\npad=1\ngroups=32\nbatch_normalize=1\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=64\nsize=1\nbatch_normalize=1\nactivation=mish\n"
    "[convolutional]\nfilters=600\nsize=1\nactivation=linear\n"
    "[avgpool]\n[softmax]\n";

/* The network of cfg text `text` with the given batch and threads, weights seeded with seed;
 * NULL on failure. */
static dn_network *make_net(const char *text, int batch, int threads, uint64_t seed)
{
    char path[] = "/tmp/dn_test_threads_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    dn_network *net;
    dn_set_log(NULL);
    dn_status st = dn_network_parse(path, batch, &net);
    remove(path);
    if (st != DN_OK) return NULL;
    dn_network_set_threads(net, threads);
    dn_network_randomize(net, seed, NULL);
    return net;
}

static int run(int threads, float *out, float *maps, int *hw)
{
    dn_network *net = make_net(cfg_text, 1, threads, 5);
    if (!net) return -1;
    uint64_t s = 3;
    float *x = malloc((size_t)net->inputs * sizeof(float));
    for (int i = 0; i < net->inputs; i++) x[i] = dn_rng_uniform(&s);
    const float *o = dn_network_predict(net, x);
    memcpy(out, o, 600 * sizeof(float));
    dn_cam_target t[5];
    for (int k = 0; k < 5; k++) t[k] = (dn_cam_target){k * 7, NULL, 0};
    int L = dn_cam_default_layer(net, NULL);
    *hw = net->layers[L].out_w * net->layers[L].out_h;
    dn_status st = dn_cam_compute(net, L, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, t, 5, x, maps, NULL);
    free(x);
    dn_network_free(net);
    return st == DN_OK ? 0 : -1;
}

TEST(test_one_and_two_threads_bit_identical)
{
    float o1[600], o2[600];
    float *m1 = calloc(5 * 4096, sizeof(float)), *m2 = calloc(5 * 4096, sizeof(float));
    int hw1, hw2;
    CHECK(run(1, o1, m1, &hw1) == 0);
    CHECK(run(2, o2, m2, &hw2) == 0);
    CHECK(hw1 == hw2);
    CHECK(memcmp(o1, o2, sizeof o1) == 0);
    CHECK(memcmp(m1, m2, (size_t)5 * hw1 * sizeof(float)) == 0);
    free(m1);
    free(m2);
}

/* Every layer kind the training step threads: Winograd (3x3/1, enough channels), im2col + GEMM
 * (3x3/2), grouped and depthwise convolutions, 1x1, max pooling (forward and backward). */
static const char *train_cfg =
    "[net]\nwidth=24\nheight=20\nchannels=3\n"
    "[convolutional]\nfilters=16\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=16\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=32\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=32\nsize=3\npad=1\ngroups=2\nbatch_normalize=1\nactivation=mish\n"
    "[convolutional]\nfilters=32\nsize=3\npad=1\ngroups=32\nbatch_normalize=1\nactivation=relu\n"
    "[convolutional]\nfilters=5\nsize=1\nactivation=linear\n"
    "[avgpool]\n[softmax]\n";

/* One training step of a batch of 5 with `threads` threads: the loss and every weight gradient
 * (concatenated into grads, room for cap floats; *n: how many). */
static int train_once(int threads, float *loss, float *grads, size_t cap, size_t *n)
{
    dn_network *net = make_net(train_cfg, 5, threads, 9);
    if (!net) return -1;
    if (dn_network_train_prepare(net) != DN_OK) {
        dn_network_free(net);
        return -1;
    }
    uint64_t s = 4;
    size_t nx = (size_t)net->inputs * 5;
    float *x = malloc(nx * sizeof(float)), truth[5 * 5] = {0};
    for (size_t i = 0; i < nx; i++) x[i] = dn_rng_uniform(&s);
    for (int b = 0; b < 5; b++) truth[b * 5 + (b * 3) % 5] = 1;
    *loss = dn_network_train_step(net, x, truth, 5);
    *n = 0;
    for (int li = 0; li < net->n; li++) {
        dn_param ps[3];
        int np = dn_layer_train_params(&net->layers[li], ps);
        for (int k = 0; k < np; k++)
            for (size_t i = 0; i < ps[k].n && *n < cap; i++) grads[(*n)++] = ps[k].update[i];
    }
    free(x);
    dn_network_free(net);
    return 0;
}

TEST(test_training_step_bit_identical)
{
    const size_t cap = 1 << 16;
    float *g1 = calloc(cap, sizeof(float)), *g = calloc(cap, sizeof(float));
    float l1, l;
    size_t n1, n;
    CHECK(train_once(1, &l1, g1, cap, &n1) == 0);
    CHECK(n1 > 10000 && n1 < cap);
    for (int threads = 2; threads <= 3; threads++) {
        CHECK(train_once(threads, &l, g, cap, &n) == 0);
        CHECK(n == n1);
        CHECK(memcmp(&l, &l1, sizeof l) == 0);
        CHECK(memcmp(g, g1, n1 * sizeof(float)) == 0);
    }
    free(g1);
    free(g);
}

int main(void)
{
    RUN(test_one_and_two_threads_bit_identical);
    RUN(test_training_step_bit_identical);
    DONE();
}
