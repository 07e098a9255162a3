/* test_train.c - training: weight gradients (weights, biases, batch-norm scales of
 * [convolutional] and [connected], with batch statistics) against central finite differences of
 * the softmax cross-entropy; the learning-rate policies; and a small network learning a toy task. */
#include "core/core.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static char tmpdir[] = "/tmp/dn_test_train_XXXXXX";

static dn_network *build(const char *name, const char *text, int batch)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.cfg", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    dn_network *net = NULL;
    dn_set_log(NULL);
    if (dn_network_parse(path, batch, &net) != DN_OK) {
        printf("  parse %s: %s\n", name, dn_last_error());
        return NULL;
    }
    dn_network_set_threads(net, 1);
    return net;
}

/* Total cross-entropy of the batch (train-mode forward: batch statistics). */
static double total_loss(dn_network *net, const float *x, const float *truth, int classes)
{
    return (double)dn_network_train_step(net, x, truth, classes) * net->batch;
}

/* Checks every parameter array of every trainable layer on a random subset of entries.
 * Tolerance: |analytic - numeric| <= 2e-3 + 3e-2 |numeric| with eps 1e-2 in float32; points
 * where the one-sided differences disagree (a leaky/relu kink inside +-eps) are skipped. */
static int check_weight_gradients(dn_network *net, const float *x, const float *truth, int classes)
{
    uint64_t rng = 77;
    int checked = 0, skipped = 0;
    for (int li = 0; li < net->n; li++) {
        dn_param ps[3];
        int np = dn_layer_train_params(&net->layers[li], ps);
        for (int k = 0; k < np; k++) {
            /* analytic: clear the accumulators, one step */
            for (int q = 0; q < net->n; q++) {
                dn_param qs[3];
                int nq = dn_layer_train_params(&net->layers[q], qs);
                for (int z = 0; z < nq; z++) memset(qs[z].update, 0, qs[z].n * sizeof(float));
            }
            total_loss(net, x, truth, classes);
            float *grad = malloc(ps[k].n * sizeof(float));
            memcpy(grad, ps[k].update, ps[k].n * sizeof(float));
            double maxerr = 0;
            for (int t = 0; t < 12; t++) {
                size_t i = (size_t)(dn_rng_next(&rng) % ps[k].n);
                const float eps = 1e-2f, keep = ps[k].value[i];
                dn_layer *L = &net->layers[li];
                ps[k].value[i] = keep + eps;
                dn_layer_refold(L);
                double lp = total_loss(net, x, truth, classes);
                ps[k].value[i] = keep - eps;
                dn_layer_refold(L);
                double lm = total_loss(net, x, truth, classes);
                ps[k].value[i] = keep;
                dn_layer_refold(L);
                double l0 = total_loss(net, x, truth, classes);
                double num = -(lp - lm) / (2 * eps); /* Darknet's sign: update = -dLoss/dw */
                if (fabs((lp - l0) / eps - (l0 - lm) / eps) > 2e-3 + 5e-2 * fabs(num)) {
                    skipped++;
                    continue;
                }
                double err = fabs(grad[i] - num);
                if (err > maxerr) maxerr = err;
                if (err > 2e-3 + 3e-2 * fabs(num)) {
                    printf("  layer %d %s[%zu]: analytic %.6g numeric %.6g\n", li, ps[k].name, i, grad[i], num);
                    free(grad);
                    return 0;
                }
                checked++;
            }
            printf("  layer %d [%s] %s: max error %.2e\n", li, net->layers[li].ops->name, ps[k].name, maxerr);
            free(grad);
        }
    }
    printf("  %d points checked, %d skipped at kinks\n", checked, skipped);
    return checked > 2 * skipped;
}

TEST(test_conv_connected_bn_weight_gradients)
{
    dn_network *net = build("g",
                            "[net]\nwidth=6\nheight=5\nchannels=2\n"
                            "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                            "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\ngroups=4\nbatch_normalize=1\nactivation=logistic\n"
                            "[convolutional]\nfilters=3\nsize=1\nactivation=linear\n"
                            "[connected]\noutput=5\nbatch_normalize=1\nactivation=tanh\n"
                            "[connected]\noutput=4\nactivation=linear\n"
                            "[softmax]\n",
                            3);
    CHECK(net);
    dn_network_randomize(net, 21, NULL);
    CHECK_OK(dn_network_train_prepare(net));
    uint64_t s = 4;
    float x[3 * 60], truth[3 * 4] = {0};
    for (int i = 0; i < 3 * 60; i++) x[i] = dn_rng_uniform(&s);
    truth[0 * 4 + 1] = truth[1 * 4 + 3] = truth[2 * 4 + 0] = 1;
    CHECK(check_weight_gradients(net, x, truth, 4));
    dn_network_free(net);
}

/* The layers a detector backbone adds between the trainable ones: maxpool, route (one and two
 * inputs, so a layer's delta is summed from two consumers), upsample, shortcut, avgpool. */
TEST(test_branching_network_weight_gradients)
{
    dn_network *net = build("b",
                            "[net]\nwidth=8\nheight=8\nchannels=2\n"
                            "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                            "[maxpool]\nsize=2\nstride=2\n"
                            "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                            "[maxpool]\nsize=2\nstride=2\n"
                            "[convolutional]\nfilters=4\nsize=1\nactivation=leaky\n"
                            "[route]\nlayers=-1\n"
                            "[upsample]\nstride=2\n"
                            "[route]\nlayers=-1,2\n"
                            "[convolutional]\nfilters=8\nsize=3\npad=1\nbatch_normalize=1\nactivation=linear\n"
                            "[shortcut]\nfrom=-2\nactivation=linear\n"
                            "[avgpool]\n"
                            "[connected]\noutput=3\nactivation=linear\n"
                            "[softmax]\n",
                            2);
    CHECK(net);
    dn_network_randomize(net, 5, NULL);
    CHECK_OK(dn_network_train_prepare(net));
    uint64_t s = 9;
    float x[2 * 128], truth[2 * 3] = {0};
    for (int i = 0; i < 2 * 128; i++) x[i] = dn_rng_uniform(&s);
    truth[0 * 3 + 2] = truth[1 * 3 + 0] = 1;
    CHECK(check_weight_gradients(net, x, truth, 3));
    dn_network_free(net);
}

/* AlexeyAB's iou_normalizer and obj_normalizer scale the [yolo] box and objectness deltas (every
 * anchor's) and leave the class deltas alone. */
static dn_network *yolo_net(const char *name, const char *norms)
{
    char text[512];
    snprintf(text, sizeof text,
             "[net]\nwidth=8\nheight=8\nchannels=3\n"
             "[convolutional]\nfilters=21\nsize=1\nactivation=linear\n"
             "[yolo]\nmask=0,1,2\nanchors=2,2, 4,4, 6,3\nclasses=2\nnum=3\n%s\n",
             norms);
    dn_network *net = build(name, text, 1);
    if (!net) return NULL;
    dn_network_randomize(net, 8, NULL);
    if (dn_network_train_prepare(net) != DN_OK) return NULL;
    return net;
}

/* Two such heads, the default one (a) and one with the extra keys (b), after one training step on
 * the same input and truth: one box of class 1, (.4, .6) 4 x 3.6 px. Returns 0 (and frees) if
 * either could not be built. */
static int yolo_pair(const char *name, const char *keys, dn_network **a, dn_network **b)
{
    char na[32], nb[32];
    snprintf(na, sizeof na, "%s1", name);
    snprintf(nb, sizeof nb, "%s2", name);
    *a = yolo_net(na, "");
    *b = yolo_net(nb, keys);
    if (!*a || !*b) {
        dn_network_free(*a);
        dn_network_free(*b);
        return 0;
    }
    float x[3 * 64], truth[DN_MAX_BOXES * 5] = {.4f, .6f, .5f, .45f, 1};
    uint64_t s = 3;
    for (int i = 0; i < 3 * 64; i++) x[i] = dn_rng_uniform(&s) - .5f;
    dn_network_train_step(*a, x, truth, DN_MAX_BOXES * 5);
    dn_network_train_step(*b, x, truth, DN_MAX_BOXES * 5);
    return 1;
}

TEST(test_yolo_normalizers)
{
    dn_network *a, *b;
    CHECK(yolo_pair("y", "iou_normalizer=.5\nobj_normalizer=.25", &a, &b));
    const float *da = a->layers[1].delta, *db = b->layers[1].delta;
    int box = 0, obj = 0, cls = 0;
    for (int i = 0; i < 21 * 64; i++) {
        int entry = (i / 64) % 7; /* 0-3 box, 4 objectness, 5-6 classes */
        if (da[i] == 0) continue;
        float want = entry < 4 ? .5f : entry == 4 ? .25f : 1.f;
        CHECK_NEAR(db[i], want * da[i], 1e-6);
        box += entry < 4, obj += entry == 4, cls += entry > 4;
    }
    CHECK(box == 4 && obj > 100 && cls == 2);
    dn_network_free(a);
    dn_network_free(b);
}

/* AlexeyAB's iou_thresh: the truth (4 x 3.6 px on an 8x8 input) fits anchor 4,4 best (IoU .90);
 * anchor 6,3 overlaps its shape by .59 and anchor 2,2 by .28, so iou_thresh=.3 adds anchor 6,3 at
 * the same cell, with its own box targets, objectness 1 and the one-hot class. */
TEST(test_yolo_iou_thresh)
{
    dn_network *a, *b;
    CHECK(yolo_pair("t", "iou_thresh=.3", &a, &b));
    const float *da = a->layers[1].delta, *db = b->layers[1].delta, *o = b->layers[1].output;
    const int cell = 4 * 8 + 3; /* row (int)(.6 * 8), column (int)(.4 * 8) */
    for (int anchor = 0; anchor < 3; anchor++) {
        const float *pa = da + anchor * 7 * 64 + cell, *pb = db + anchor * 7 * 64 + cell;
        const float *ob = o + anchor * 7 * 64 + cell;
        int learns_a = anchor == 1, learns_b = anchor >= 1;
        CHECK((pa[5 * 64] != 0) == learns_a);
        CHECK((pb[5 * 64] != 0) == learns_b);
        if (!learns_b) continue;
        CHECK_NEAR(pb[4 * 64], 1 - ob[4 * 64], 1e-6);
        CHECK_NEAR(pb[5 * 64], 0 - ob[5 * 64], 1e-6);
        CHECK_NEAR(pb[6 * 64], 1 - ob[6 * 64], 1e-6);
        float anchor_w = anchor == 1 ? 4 : 6;
        CHECK_NEAR(pb[2 * 64], (2 - .5f * .45f) * (logf(.5f * 8 / anchor_w) - ob[2 * 64]), 1e-5);
    }
    int box_a = 0, box_b = 0;
    for (int i = 0; i < 21 * 64; i++) {
        int entry = (i / 64) % 7;
        box_a += entry < 4 && da[i] != 0;
        box_b += entry < 4 && db[i] != 0;
    }
    CHECK(box_a == 4 && box_b == 8);
    dn_network_free(a);
    dn_network_free(b);
}

/* stopbackward (AlexeyAB's key): =1 freezes the layer and every layer below it for good; =n > 1
 * until iteration n. Frozen layers keep their weights bit for bit (no decay, no momentum), with SGD
 * and with Adam; the layers above keep learning. */
static const float *weights_of(dn_layer *l, size_t *n)
{
    dn_param ps[3];
    int np = dn_layer_train_params(l, ps);
    for (int k = 0; k < np; k++)
        if (!strcmp(ps[k].name, "weights")) {
            *n = ps[k].n < 64 ? ps[k].n : 64;
            return ps[k].value;
        }
    *n = 0;
    return NULL;
}

static int frozen_steps(const char *optimizer, int stop, int steps, int *changed)
{
    char text[512];
    snprintf(text, sizeof text,
             "[net]\nwidth=4\nheight=4\nchannels=1\nbatch=2\nlearning_rate=.1\nmomentum=.9\n"
             "decay=.0005\n%s\n"
             "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=leaky\n"
             "[convolutional]\nfilters=3\nsize=1\nactivation=leaky\nstopbackward=%d\n"
             "[connected]\noutput=2\nactivation=linear\n[softmax]\n",
             optimizer, stop);
    dn_network *net = build("frozen", text, 2);
    if (!net) return 0;
    dn_network_randomize(net, 4, NULL);
    if (dn_network_train_prepare(net) != DN_OK) return 0;
    float before[3][64];
    size_t n[3];
    for (int i = 0; i < 3; i++) {
        const float *w = weights_of(&net->layers[i], &n[i]);
        if (!w || !n[i]) return 0;
        memcpy(before[i], w, sizeof(float) * n[i]);
    }
    uint64_t s = 5;
    float x[32], truth[4] = {1, 0, 0, 1};
    for (int k = 0; k < steps; k++) {
        for (int i = 0; i < 32; i++) x[i] = dn_rng_uniform(&s);
        dn_network_train_step(net, x, truth, 2);
        dn_network_update(net, .1f, 2);
        net->seen += 2;
    }
    for (int i = 0; i < 3; i++) changed[i] = memcmp(before[i], weights_of(&net->layers[i], &n[i]), sizeof(float) * n[i]) != 0;
    dn_network_free(net);
    return 1;
}

TEST(test_stopbackward)
{
    const char *opt[2] = {"", "adam=1"};
    for (int o = 0; o < 2; o++) {
        int c[3];
        CHECK(frozen_steps(opt[o], 1, 3, c));
        CHECK(!c[0] && !c[1] && c[2]);
        CHECK(frozen_steps(opt[o], 3, 3, c)); /* iterations 0-2: frozen */
        CHECK(!c[0] && !c[1] && c[2]);
        CHECK(frozen_steps(opt[o], 3, 5, c)); /* iterations 3-4: all learn */
        CHECK(c[0] && c[1] && c[2]);
        CHECK(frozen_steps(opt[o], 0, 1, c));
        CHECK(c[0] && c[1] && c[2]);
    }
}

TEST(test_learning_rate_policies)
{
    dn_network net = {0};
    net.learning_rate = .1f;
    net.power = 4;
    net.burn_in = 100;
    CHECK_NEAR(dn_network_rate(&net, 50), .1 * pow(.5, 4), 1e-7);
    net.burn_in = 0;
    net.policy = 3; /* poly */
    net.max_batches = 1000;
    net.power = 2;
    CHECK_NEAR(dn_network_rate(&net, 500), .1 * .25, 1e-7);
    int steps[2] = {100, 200};
    float scales[2] = {.1f, .5f};
    net.policy = 4;
    net.steps = steps;
    net.scales = scales;
    net.num_steps = 2;
    CHECK_NEAR(dn_network_rate(&net, 99), .1, 1e-7);
    CHECK_NEAR(dn_network_rate(&net, 150), .01, 1e-7);
    CHECK_NEAR(dn_network_rate(&net, 250), .005, 1e-7);
    net.policy = 0;
    CHECK_NEAR(dn_network_rate(&net, 12345), .1, 1e-7);
}

/* class = which half of a 6x6 image is brighter (left/right); returns last/first mean loss */
static double toy_task(const char *name, const char *optimizer)
{
    char text[512];
    snprintf(text, sizeof text,
             "[net]\nwidth=6\nheight=6\nchannels=1\n%s\ndecay=0.0005\n"
             "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
             "[maxpool]\nsize=2\nstride=2\n"
             "[connected]\noutput=2\nactivation=linear\n"
             "[softmax]\n",
             optimizer);
    dn_network *net = build(name, text, 16);
    if (!net) return 1e9;
    dn_network_randomize(net, 3, NULL);
    if (dn_network_train_prepare(net) != DN_OK) return 1e9;
    uint64_t s = 9;
    float x[16 * 36], truth[16 * 2];
    double first = 0, last = 0;
    for (int it = 0; it < 200; it++) {
        for (int b = 0; b < 16; b++) {
            int cls = (int)(dn_rng_next(&s) & 1);
            truth[b * 2] = (float)(cls == 0);
            truth[b * 2 + 1] = (float)(cls == 1);
            for (int i = 0; i < 36; i++) {
                int right = (i % 6) >= 3;
                x[b * 36 + i] = .3f * dn_rng_uniform(&s) + (right == cls ? .5f : 0.f);
            }
        }
        float loss = dn_network_train_step(net, x, truth, 2);
        dn_network_update(net, dn_network_rate(net, it), 16);
        net->seen += 16;
        if (it < 10) first += loss / 10;
        if (it >= 190) last += loss / 10;
    }
    printf("  %s: loss %.3f -> %.3f\n", name, first, last);
    dn_network_free(net);
    return last / first;
}

TEST(test_learns_a_toy_task)
{
    CHECK(toy_task("sgd", "learning_rate=0.1\nmomentum=0.9") < .3);
    CHECK(toy_task("adam", "learning_rate=0.01\nadam=1") < .3);
}

/* Adam's first step (t = 1): the bias-corrected m/sqrt(v) is sign(d), so every parameter moves
 * by the learning rate in the direction of its update (weights: the update less decay*batch*w),
 * and the accumulated updates are cleared. */
TEST(test_adam_first_step)
{
    dn_network *net = build("adam1",
                            "[net]\nwidth=3\nheight=3\nchannels=1\nlearning_rate=0.01\nadam=1\ndecay=0.1\n"
                            "[convolutional]\nfilters=2\nsize=3\nbatch_normalize=1\nactivation=linear\n",
                            1);
    CHECK(net);
    dn_network_randomize(net, 4, NULL);
    CHECK_OK(dn_network_train_prepare(net));
    dn_param ps[3];
    int np = dn_layer_train_params(&net->layers[0], ps);
    CHECK(np == 3);
    float before[3][18], d[3][18];
    uint64_t s = 5;
    for (int k = 0; k < np; k++)
        for (size_t i = 0; i < ps[k].n; i++) {
            before[k][i] = ps[k].value[i];
            d[k][i] = ps[k].update[i] = dn_rng_uniform(&s) - .5f;
        }
    dn_network_update(net, .01f, 4);
    for (int k = 0; k < np; k++)
        for (size_t i = 0; i < ps[k].n; i++) {
            float g = d[k][i] - (k == 0 ? .1f * 4 * before[k][i] : 0);
            CHECK_NEAR(ps[k].value[i] - before[k][i], g > 0 ? .01 : -.01, 1e-5);
            CHECK(ps[k].update[i] == 0);
        }
    dn_network_free(net);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_conv_connected_bn_weight_gradients);
    RUN(test_branching_network_weight_gradients);
    RUN(test_learning_rate_policies);
    RUN(test_learns_a_toy_task);
    RUN(test_adam_first_step);
    RUN(test_yolo_normalizers);
    RUN(test_yolo_iou_thresh);
    RUN(test_stopbackward);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) {}
    DONE();
}
