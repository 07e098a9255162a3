/* test_cam.c - Grad-CAM++ and Grad-CAM checked by an independent route: gradients by central
 * finite differences (accumulated in double) on small random networks, the maps recomputed in
 * double from the paper's formulas, compared with dn_cam_compute. Also the Grad-CAM++
 * denominator rule, batched targets, and a detector target. */
#include "core/core.h"
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/dn_test_cam_XXXXXX";

static dn_network *build(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.cfg", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    dn_network *net = NULL;
    dn_set_log(NULL);
    if (dn_network_parse(path, 1, &net) != DN_OK) {
        printf("  parse %s: %s\n", name, dn_last_error());
        return NULL;
    }
    dn_network_set_threads(net, 1);
    return net;
}

static float *random_input(dn_network *net, uint64_t seed)
{
    float *x = malloc((size_t)net->inputs * sizeof(float));
    for (int i = 0; i < net->inputs; i++) x[i] = dn_rng_uniform(&seed);
    return x;
}

/* Score of a classifier target: the class logit (input of softmax). */
static double logit_of(dn_network *net, int layer, int cls)
{
    (void)layer;
    int ll = net->n - 2; /* the cfgs below end in softmax */
    return net->layers[ll].output[cls];
}

/* Finite-difference gradient of the score w.r.t. layer L's output, in double. */
static void fd_gradient(dn_network *net, int L, double (*score)(dn_network *, int, int), int cls, double *g)
{
    dn_layer *l = &net->layers[L];
    const double eps = 1e-2;
    for (int i = 0; i < l->outputs; i++) {
        float keep = l->output[i];
        l->output[i] = keep + (float)eps;
        dn_network_forward_from(net, L + 1, NULL);
        double sp = score(net, L, cls);
        l->output[i] = keep - (float)eps;
        dn_network_forward_from(net, L + 1, NULL);
        double sm = score(net, L, cls);
        l->output[i] = keep;
        g[i] = (sp - sm) / (2 * eps);
    }
    dn_network_forward_from(net, L + 1, NULL);
}

/* Maps in double from A and G: method 0 Grad-CAM++, 1 Grad-CAM; normalised to [0,1]. */
static void ref_map(const float *A, const double *G, int C, int hw, int method, double *map)
{
    for (int i = 0; i < hw; i++) map[i] = 0;
    for (int k = 0; k < C; k++) {
        const float *a = A + (size_t)k * hw;
        const double *g = G + (size_t)k * hw;
        double w = 0, s = 0;
        for (int i = 0; i < hw; i++) s += a[i];
        for (int i = 0; i < hw; i++) {
            if (method == 1) {
                w += g[i] / hw;
            } else if (g[i] > 0) {
                double den = 2 * g[i] * g[i] + s * g[i] * g[i] * g[i];
                if (den > 0) w += g[i] * g[i] / den * g[i];
            }
        }
        for (int i = 0; i < hw; i++) map[i] += w * a[i];
    }
    double lo = 1e300, hi = -1e300;
    for (int i = 0; i < hw; i++) {
        if (map[i] < 0) map[i] = 0;
        if (map[i] < lo) lo = map[i];
        if (map[i] > hi) hi = map[i];
    }
    for (int i = 0; i < hw; i++) map[i] = hi > lo ? (map[i] - lo) / (hi - lo) : 0;
}

static double max_diff_normalised(const float *ours, const double *ref, int hw)
{
    float lo = 3e38f, hi = -3e38f;
    for (int i = 0; i < hw; i++) {
        if (ours[i] < lo) lo = ours[i];
        if (ours[i] > hi) hi = ours[i];
    }
    double m = 0;
    for (int i = 0; i < hw; i++) {
        double v = hi > lo ? (ours[i] - lo) / (hi - lo) : 0;
        if (fabs(v - ref[i]) > m) m = fabs(v - ref[i]);
    }
    return m;
}

static const char *classifier_cfg =
    "[net]\nwidth=12\nheight=10\nchannels=3\n"
    "[convolutional]\nfilters=6\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=relu\n"
    "[convolutional]\nfilters=5\nsize=1\nactivation=linear\n"
    "[avgpool]\n[softmax]\n";

/* Tolerance: the maps are normalised to [0,1]; float32 forward passes and eps = 1e-2 central
 * differences on piecewise-linear networks agree to about 1e-3; allow 1e-2. */
#define MAP_TOL 1e-2

TEST(test_classifier_maps_match_independent_route)
{
    dn_network *net = build("cls", classifier_cfg);
    CHECK(net);
    dn_network_randomize(net, 11, NULL);
    float *x = random_input(net, 5);
    dn_network_predict(net, x);
    const int L = 2; /* relu conv, 5 x 6 x 8 */
    dn_layer *l = &net->layers[L];
    const int hw = l->out_w * l->out_h;
    double *G = malloc((size_t)l->outputs * sizeof(double)), *ref = malloc((size_t)hw * sizeof(double));
    float *maps = malloc((size_t)hw * 2 * sizeof(float));
    for (int cls = 0; cls < 5; cls++) {
        fd_gradient(net, L, logit_of, cls, G);
        for (int m = 0; m < 2; m++) {
            dn_cam_target t = {cls, NULL, 0};
            CHECK_OK(dn_cam_compute(net, L, m == 0 ? DN_CAM_GRADCAMPP : DN_CAM_GRADCAM, DN_SCORE_LOGIT, &t, 1, x, maps, NULL));
            ref_map(l->output, G, l->out_c, hw, m, ref);
            double d = max_diff_normalised(maps, ref, hw);
            if (cls == 0) printf("  class %d %s: max |ours - reference| = %.2e\n", cls, m ? "gradcam" : "gradcampp", d);
            CHECK(d < MAP_TOL);
        }
    }
    free(G), free(ref), free(maps), free(x);
    dn_network_free(net);
}

TEST(test_batched_targets_equal_single)
{
    dn_network *net = build("cls2", classifier_cfg);
    CHECK(net);
    dn_network_randomize(net, 12, NULL);
    float *x = random_input(net, 6);
    dn_network_predict(net, x);
    const int L = 2, hw = net->layers[L].out_w * net->layers[L].out_h;
    dn_cam_target t[5];
    for (int c = 0; c < 5; c++) t[c] = (dn_cam_target){c, NULL, 0};
    float *batched = malloc((size_t)hw * 5 * sizeof(float)), *single = malloc((size_t)hw * sizeof(float));
    CHECK_OK(dn_cam_compute(net, L, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, t, 5, x, batched, NULL));
    for (int c = 0; c < 5; c++) {
        CHECK_OK(dn_cam_compute(net, L, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, &t[c], 1, x, single, NULL));
        for (int i = 0; i < hw; i++) CHECK_NEAR(batched[(size_t)c * hw + i], single[i], 1e-5 + 1e-5 * fabs(single[i]));
    }
    free(batched), free(single), free(x);
    dn_network_free(net);
}

TEST(test_gradcampp_denominator_rule)
{
    /* hand-worked: hw = 2, A = (1, 2): sum 3; g = (0.5, -1): alpha_0 = .25/(.5 + 3*.125) = 2/7,
       w = 2/7 * 0.5 = 1/7 (g < 0 contributes nothing) */
    float a[2] = {1, 2}, g[2] = {.5f, -1};
    CHECK_NEAR(dn_gradcampp_weight(a, g, 2), 1.0 / 7, 1e-6);
    /* leaky maps: sum(A) = -4, g = 0.5: 2 + sum*g = 0 -> the pixel is dropped (alpha = 0) */
    float b[2] = {-1, -3}, h[2] = {.5f, .5f};
    CHECK_NEAR(dn_gradcampp_weight(b, h, 2), 0, 0);
    /* beyond zero (2 + sum*g < 0) the closed form would give a negative weight: dropped too */
    float c[2] = {-5, -3};
    CHECK_NEAR(dn_gradcampp_weight(c, h, 2), 0, 0);
    /* small negative sum keeps a positive denominator: alpha = 1/(2 + sum g) */
    float e[2] = {-1, 0};
    CHECK_NEAR(dn_gradcampp_weight(e, h, 2), 2 * (1.0 / (2 - .5)) * .5, 1e-6);
    /* zero gradient everywhere: weight 0, no division */
    float z[2] = {0, 0};
    CHECK_NEAR(dn_gradcampp_weight(a, z, 2), 0, 0);
}

static const dn_detection *g_det;

/* Detection logit score (t_obj + t_cls) read from the head's input. */
static double det_logit(dn_network *net, int layer, int cls)
{
    (void)layer;
    const dn_layer *head = &net->layers[g_det->layer];
    const dn_layer *in = &net->layers[g_det->layer - 1];
    const int hw = head->w * head->h, per = head->classes + 5;
    size_t base = (size_t)g_det->anchor * per * hw + g_det->cell;
    return (double)in->output[base + 4 * hw] + in->output[base + (size_t)(5 + cls) * hw];
}

TEST(test_detector_target_matches_independent_route)
{
    dn_network *net = build("det",
                            "[net]\nwidth=16\nheight=16\nchannels=3\n"
                            "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                            "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
                            "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n"
                            "[yolo]\nmask=0,1\nanchors=4,4,8,8\nclasses=2\nnum=2\n");
    CHECK(net);
    dn_network_randomize(net, 3, NULL);
    float *x = random_input(net, 9);
    dn_network_predict(net, x);
    dn_detection *dets;
    int n;
    CHECK_OK(dn_network_detections(net, 16, 16, 0.f, 0, &dets, &n));
    CHECK(n == 2 * 8 * 8);
    const int L = 1;
    dn_layer *l = &net->layers[L];
    const int hw = l->out_w * l->out_h;
    double *G = malloc((size_t)l->outputs * sizeof(double)), *ref = malloc((size_t)hw * sizeof(double));
    float *map = malloc((size_t)hw * sizeof(float));
    for (int k = 0; k < 3; k++) {
        g_det = &dets[k * 37 % n];
        dn_cam_target t = {1, g_det, 1};
        fd_gradient(net, L, det_logit, 1, G);
        CHECK_OK(dn_cam_compute(net, L, DN_CAM_GRADCAM, DN_SCORE_LOGIT, &t, 1, x, map, NULL));
        ref_map(l->output, G, l->out_c, hw, 1, ref);
        CHECK(max_diff_normalised(map, ref, hw) < MAP_TOL);
        CHECK_OK(dn_cam_compute(net, L, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, &t, 1, x, map, NULL));
        ref_map(l->output, G, l->out_c, hw, 0, ref);
        CHECK(max_diff_normalised(map, ref, hw) < MAP_TOL);
    }
    /* a layer above the head's input gets no gradient: a clear error */
    dn_cam_target t = {0, &dets[0], 1};
    CHECK(dn_cam_compute(net, 3, DN_CAM_GRADCAM, DN_SCORE_LOGIT, &t, 1, x, map, NULL) == DN_ERR_RANGE);
    dn_detections_free(dets, n);
    free(G), free(ref), free(map), free(x);
    dn_network_free(net);
}

TEST(test_errors)
{
    dn_network *net = build("err", classifier_cfg);
    CHECK(net);
    float *x = random_input(net, 1);
    dn_network_predict(net, x);
    float map[64];
    dn_cam_target t = {7, NULL, 0}; /* 5 classes */
    CHECK(dn_cam_compute(net, 2, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, &t, 1, x, map, NULL) == DN_ERR_ARG);
    t.cls = 0;
    CHECK(dn_cam_compute(net, 4, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, &t, 1, x, map, NULL) == DN_ERR_RANGE); /* avgpool 1x1 */
    CHECK(strstr(dn_last_error(), "no spatial map"));
    CHECK(dn_cam_compute(net, 99, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, &t, 1, x, map, NULL) == DN_ERR_RANGE);
    CHECK(dn_cam_method_parse("gradcampp") == DN_CAM_GRADCAMPP && dn_cam_method_parse("nope") == -1);
    free(x);
    dn_network_free(net);
}

TEST(test_gradient_free_methods_run)
{
    dn_network *net = build("gf", classifier_cfg);
    CHECK(net);
    dn_network_randomize(net, 4, NULL);
    float *x = random_input(net, 2);
    const float *p0 = dn_network_predict(net, x);
    float before = p0[0];
    const int L = 2, hw = net->layers[L].out_w * net->layers[L].out_h;
    float *map = malloc((size_t)hw * sizeof(float));
    dn_cam_target t = {0, NULL, 0};
    for (int m = 0; m < DN_CAM_COUNT; m++) {
        CHECK_OK(dn_cam_compute(net, L, (dn_cam_method)m, DN_SCORE_LOGIT, &t, 1, x, map, NULL));
        for (int i = 0; i < hw; i++) CHECK(map[i] >= 0 && isfinite(map[i]));
    }
    /* Score-CAM restores the forward state */
    CHECK(net->layers[net->n - 1].output[0] == before);
    free(map), free(x);
    dn_network_free(net);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) return 1;
    RUN(test_classifier_maps_match_independent_route);
    RUN(test_batched_targets_equal_single);
    RUN(test_gradcampp_denominator_rule);
    RUN(test_detector_target_matches_independent_route);
    RUN(test_errors);
    RUN(test_gradient_free_methods_run);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) {}
    DONE();
}
