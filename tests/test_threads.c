/* test_threads.c - results are bit-identical for 1 and 2 threads (STYLE rule 5): the forward
 * pass of a network exercising every threaded kernel (im2col + GEMM, Winograd, depthwise,
 * pooling, activations) and batched Grad-CAM++ maps. */
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

static int run(int threads, float *out, float *maps, int *hw)
{
    char path[] = "/tmp/dn_test_threads_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    fputs(cfg_text, f);
    fclose(f);
    dn_network *net;
    dn_set_log(NULL);
    dn_status st = dn_network_parse(path, 1, &net);
    remove(path);
    if (st != DN_OK) return -1;
    dn_network_set_threads(net, threads);
    dn_network_randomize(net, 5, NULL);
    uint64_t s = 3;
    float *x = malloc((size_t)net->inputs * sizeof(float));
    for (int i = 0; i < net->inputs; i++) x[i] = dn_rng_uniform(&s);
    const float *o = dn_network_predict(net, x);
    memcpy(out, o, 600 * sizeof(float));
    dn_cam_target t[5];
    for (int k = 0; k < 5; k++) t[k] = (dn_cam_target){k * 7, NULL, 0};
    int L = dn_cam_default_layer(net, NULL);
    *hw = net->layers[L].out_w * net->layers[L].out_h;
    st = dn_cam_compute(net, L, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, t, 5, x, maps, NULL);
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

int main(void)
{
    RUN(test_one_and_two_threads_bit_identical);
    DONE();
}
