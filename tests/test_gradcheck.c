/* test_gradcheck.c - finite-difference check of every layer type's backward pass (the input
 * gradient each layer accumulates into the delta below it) and of every activation, through the
 * real driver: dn_network_backward_prepare / dn_network_backward against central differences of
 * S = sum(v * last output) taken with dn_network_forward_from. Also checks that dbatch = 3
 * batched targets give each single-target result, and that [softmax] passes its delta through. */
#include "darknet.h"
#include "core/core.h"
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Step of the central difference, in the units of the perturbed layer's output. */
#define GC_EPS 1e-2f
/* Tolerance: |analytic - numeric| <= GC_ABS + GC_REL * |numeric|. With eps = 1e-2 the central
 * difference's truncation error is eps^2/6 * S''' (~1e-5 for these nets), and float32 rounding of
 * the changed outputs (~1e-6 each for values up to ~10) divided by 2 eps adds ~1e-4; S itself is
 * summed in double. 2e-3 + 2e-2 |n| is ten times that and still far below any wrong factor,
 * missing path or misplaced index, which show up as errors of order |n| or 0.1. */
#define GC_ABS 2e-3
#define GC_REL 2e-2
/* Batched vs single-target results run the same arithmetic except GEMM blocking: near-exact. */
#define GC_BATCH_ABS 1e-5
#define GC_BATCH_REL 1e-4
/* Perturb every element of the stop layer's output up to this many, else a random subset. */
#define GC_ALL_POINTS 200
#define GC_SUBSET 64

/* Piecewise-linear parts downstream of the stop layer (activations with kinks, maxpool): skip
 * points whose secant slopes over the four half-steps in [-eps, eps] disagree, i.e. where a kink
 * or a max-pool tie lies within eps; the central difference there is meaningless. At least half
 * the points must survive. */
#define GC_KINKS 1

/* Added to every case's seed; rebuild with -DGC_SEED_OFFSET=n to try other random nets. */
#ifndef GC_SEED_OFFSET
#define GC_SEED_OFFSET 0
#endif

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static float rng_uniform(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)((rng_next(s) >> 40) * (1.0 / 16777216.0));
}

static double tol_of(double n) { return GC_ABS + GC_REL * fabs(n); }

/* Builds a batch-1 network from cfg text (written to a temporary file: dn_network_parse takes a
 * path). Prints the reason and returns NULL on failure. */
static dn_network *build(const char *cfg)
{
    char path[] = "/tmp/dn_gradcheck_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        printf("  cannot create a temporary cfg file\n");
        return NULL;
    }
    size_t n = strlen(cfg);
    ssize_t w = write(fd, cfg, n);
    close(fd);
    dn_network *net = NULL;
    dn_status st = w == (ssize_t)n ? dn_network_parse(path, 1, &net) : DN_ERR_IO;
    unlink(path);
    if (st != DN_OK) {
        printf("  cfg does not build: %s: %s\n%s", dn_status_str(st), dn_last_error(), cfg);
        return NULL;
    }
    return net;
}

/* S = sum(v * last layer's output), in double. */
static double score(const dn_network *net, const float *v)
{
    const dn_layer *l = &net->layers[net->n - 1];
    double s = 0;
    for (int i = 0; i < l->outputs; i++) s += (double)v[i] * l->output[i];
    return s;
}

/* Analytic gradient of sum(v_d * last output) w.r.t. layers[stop].output for nt targets seeded
 * at once: v (nt, last outputs) -> g (nt, stop outputs). Prepares afresh every time because
 * backward scales deltas in place. */
static int analytic(dn_network *net, int stop, const float *v, int nt, float *g)
{
    int last = net->n - 1;
    dn_status st = dn_network_backward_prepare(net, stop, net->n - 1, nt);
    if (st != DN_OK) {
        printf("  backward_prepare: %s: %s\n", dn_status_str(st), dn_last_error());
        return 0;
    }
    memcpy(net->layers[last].delta, v, (size_t)nt * net->layers[last].outputs * sizeof(float));
    dn_network_backward(net, last, stop, nt);
    memcpy(g, net->layers[stop].delta, (size_t)nt * net->layers[stop].outputs * sizeof(float));
    return 1;
}

/* One gradient check: builds cfg, randomizes it (seed), runs an input uniform in [lo, hi] and
 * compares the analytic input gradient at layer `stop` (-1: the layer before the last) with
 * central differences, then the dbatch = 3 result with three single-target runs. Prints one
 * line with the largest errors; returns 1 when everything is within tolerance. */
static int gradcheck(const char *label, const char *cfg, int stop, int flags, float lo, float hi,
                     uint64_t seed)
{
    dn_network *net = build(cfg);
    if (!net) {
        printf("  %s: FAILED to build\n", label);
        return 0;
    }
    if (stop < 0) stop = net->n - 2;
    int ok = 1;
    seed += GC_SEED_OFFSET;
    uint64_t rng = seed * 7919 + 17;
    dn_network_randomize(net, seed, NULL);
    const int last = net->n - 1;
    const int no = net->layers[last].outputs, ns = net->layers[stop].outputs;
    float *in = malloc((size_t)net->inputs * sizeof(float));
    float *v = malloc((size_t)3 * no * sizeof(float));
    float *g = malloc((size_t)3 * ns * sizeof(float));
    float *gb = malloc((size_t)3 * ns * sizeof(float));
    int *pts = malloc((size_t)ns * sizeof(int));
    if (!in || !v || !g || !gb || !pts) {
        printf("  %s: out of memory\n", label);
        ok = 0;
        goto done;
    }
    for (int i = 0; i < net->inputs; i++) in[i] = rng_uniform(&rng, lo, hi);
    for (int i = 0; i < 3 * no; i++) v[i] = rng_uniform(&rng, -1.f, 1.f);
    dn_network_predict(net, in);

    /* analytic: three single-target runs, then one batched run of the same three */
    for (int d = 0; d < 3 && ok; d++) ok = analytic(net, stop, v + (size_t)d * no, 1, g + (size_t)d * ns);
    if (ok) ok = analytic(net, stop, v, 3, gb);
    if (!ok) goto done;
    double berr = 0;
    int bad_b = -1;
    for (int i = 0; i < 3 * ns; i++) {
        double e = fabs((double)gb[i] - g[i]);
        if (e > berr) berr = e;
        if (e > GC_BATCH_ABS + GC_BATCH_REL * fabs(g[i]) && bad_b < 0) bad_b = i;
    }

    /* numeric: central differences at every point (or a random subset) of layers[stop].output */
    int npts = ns;
    for (int i = 0; i < ns; i++) pts[i] = i;
    if (ns > GC_ALL_POINTS) {
        npts = GC_SUBSET;
        for (int i = 0; i < npts; i++) {
            int k = i + (int)(rng_next(&rng) % (uint64_t)(ns - i));
            int t = pts[i];
            pts[i] = pts[k];
            pts[k] = t;
        }
    }
    float *x = net->layers[stop].output;
    const double s0 = score(net, v);
    double maxerr = 0, signal = 0;
    int checked = 0, kinks = 0, nbad = 0, worst = -1;
    double worst_a = 0, worst_n = 0, worst_excess = 0;
    for (int p = 0; p < npts; p++) {
        int j = pts[p];
        const float x0 = x[j], xp = x0 + GC_EPS, xm = x0 - GC_EPS;
        x[j] = xp;
        dn_network_forward_from(net, stop + 1, NULL);
        double sp = score(net, v);
        x[j] = xm;
        dn_network_forward_from(net, stop + 1, NULL);
        double sm = score(net, v);
        /* the steps actually taken in float, not the nominal eps */
        double num = (sp - sm) / ((double)xp - (double)xm);
        if (flags & GC_KINKS) {
            /* secant slopes over [-eps, -eps/2], [-eps/2, 0], [0, eps/2], [eps/2, eps]: all
               equal where the function is linear around x0. Comparing only the two one-sided
               differences misses kinks on both sides whose slope changes cancel. */
            const float xph = x0 + .5f * GC_EPS, xmh = x0 - .5f * GC_EPS;
            x[j] = xph;
            dn_network_forward_from(net, stop + 1, NULL);
            double sph = score(net, v);
            x[j] = xmh;
            dn_network_forward_from(net, stop + 1, NULL);
            double smh = score(net, v);
            const double sec[4] = {(smh - sm) / ((double)xmh - xm), (s0 - smh) / ((double)x0 - xmh),
                                   (sph - s0) / ((double)xph - x0), (sp - sph) / ((double)xp - xph)};
            double lo_s = sec[0], hi_s = sec[0];
            for (int k = 1; k < 4; k++) {
                if (sec[k] < lo_s) lo_s = sec[k];
                if (sec[k] > hi_s) hi_s = sec[k];
            }
            if (hi_s - lo_s > tol_of(num)) {
                x[j] = x0;
                kinks++;
                continue;
            }
        }
        x[j] = x0;
        checked++;
        double e = fabs((double)g[j] - num);
        if (e > maxerr) maxerr = e;
        if (fabs(num) > signal) signal = fabs(num);
        if (e > tol_of(num)) {
            nbad++;
            if (e - tol_of(num) > worst_excess) {
                worst_excess = e - tol_of(num);
                worst = j;
                worst_a = g[j];
                worst_n = num;
            }
        }
    }
    dn_network_forward_from(net, stop + 1, NULL);

    printf("  %-50s max|a-n| %.2e  |n|max %.2f  points %d/%d (kinks %d)  dbatch3 %.1e\n", label,
           maxerr, signal, checked, npts, kinks, berr);
    if (nbad) {
        const dn_layer *sl = &net->layers[stop];
        int hw = sl->out_w * sl->out_h;
        printf("    FAIL %s: %d of %d points off; worst at layer %d output %d (c %d, y %d, x %d): "
               "analytic %.6g numeric %.6g\n", label, nbad, checked, stop, worst, worst / hw,
               worst % hw / sl->out_w, worst % sl->out_w, worst_a, worst_n);
        ok = 0;
    }
    if (2 * checked < npts) {
        printf("    FAIL %s: only %d of %d points away from kinks\n", label, checked, npts);
        ok = 0;
    }
    if (signal < 1e-3) {
        printf("    FAIL %s: the numeric gradient is ~0 everywhere (%.3g): the case checks nothing\n",
               label, signal);
        ok = 0;
    }
    if (bad_b >= 0) {
        printf("    FAIL %s: dbatch=3 target %d element %d: batched %.9g, single %.9g\n", label,
               bad_b / ns, bad_b % ns, gb[bad_b], g[bad_b]);
        ok = 0;
    }
done:
    free(in);
    free(v);
    free(g);
    free(gb);
    free(pts);
    dn_network_free(net);
    return ok;
}

typedef struct gc_case {
    const char *label;
    const char *cfg;
    int stop;   /* -1: the layer before the last */
    int flags;
    float lo, hi; /* input range */
} gc_case;

static int run_cases(const gc_case *c, int n, uint64_t seed)
{
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed += !gradcheck(c[i].label, c[i].cfg, c[i].stop, c[i].flags, c[i].lo, c[i].hi,
                             seed + (uint64_t)i);
    return failed;
}

#define NET(w, h, c) "[net]\nwidth=" #w "\nheight=" #h "\nchannels=" #c "\n"
/* a linear 3x3 conv making 4 channels: the layer whose output is perturbed */
#define PRE4 "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n"

/* ---- convolutional geometry: size, stride, padding, groups, batch norm ------------------- */

TEST(conv_geometry)
{
    static const gc_case cases[] = {
        {"conv 1x1/1 pad0", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=5\nsize=1\nstride=1\npad=0\nactivation=linear\n", -1, 0, 0, 1},
        {"conv 1x1/2", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=5\nsize=1\nstride=2\nactivation=linear\n", -1, 0, 0, 1},
        {"conv 3x3/1 pad1 bn", NET(7, 6, 3) PRE4
         "[convolutional]\nbatch_normalize=1\nfilters=5\nsize=3\nstride=1\npad=1\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv 3x3/2 pad1", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=5\nsize=3\nstride=2\npad=1\nactivation=linear\n", -1, 0, 0, 1},
        {"conv 3x3/1 pad0", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=5\nsize=3\nstride=1\npad=0\nactivation=linear\n", -1, 0, 0, 1},
        {"conv 3x3/2 pad0 bn", NET(7, 6, 3) PRE4
         "[convolutional]\nbatch_normalize=1\nfilters=5\nsize=3\nstride=2\npad=0\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv 5x5/1 pad1 (pad 2)", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=5\nsize=5\nstride=1\npad=1\nactivation=linear\n", -1, 0, 0, 1},
        {"conv 5x5/2 padding=1 bn", NET(7, 6, 3) PRE4
         "[convolutional]\nbatch_normalize=1\nfilters=5\nsize=5\nstride=2\npadding=1\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv 5x5/1 pad0", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=5\nsize=5\nstride=1\npad=0\nactivation=linear\n", -1, 0, 0, 1},
        {"conv depthwise 3x3/1 pad1 bn", NET(7, 6, 3) PRE4
         "[convolutional]\nbatch_normalize=1\nfilters=4\ngroups=4\nsize=3\nstride=1\npad=1\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv depthwise 3x3/2 pad1", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\ngroups=4\nsize=3\nstride=2\npad=1\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv depthwise 5x5/1 pad0", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\ngroups=4\nsize=5\nstride=1\npad=0\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv depthwise 1x1/1", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\ngroups=4\nsize=1\nstride=1\nactivation=linear\n", -1, 0, 0, 1},
        {"conv depthwise 3x3/2 pad1 leaky", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\ngroups=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n",
         -1, GC_KINKS, 0, 1},
        {"conv groups=4 filters=8 3x3/1 pad1", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=8\ngroups=4\nsize=3\nstride=1\npad=1\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv groups=2 3x3/1 pad1 bn leaky", NET(7, 6, 3) PRE4
         "[convolutional]\nbatch_normalize=1\nfilters=6\ngroups=2\nsize=3\nstride=1\npad=1\nactivation=leaky\n",
         -1, GC_KINKS, 0, 1},
        {"conv groups=2 1x1/1", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=6\ngroups=2\nsize=1\nstride=1\nactivation=linear\n", -1, 0, 0, 1},
        {"conv groups=2 3x3/2 pad0 bn", NET(7, 6, 3) PRE4
         "[convolutional]\nbatch_normalize=1\nfilters=6\ngroups=2\nsize=3\nstride=2\npad=0\nactivation=linear\n",
         -1, 0, 0, 1},
        {"conv 3x3 chain, stop below both (leaky, bn)", NET(7, 6, 3) PRE4
         "[convolutional]\nbatch_normalize=1\nfilters=5\nsize=3\npad=1\nactivation=leaky\n"
         "[convolutional]\nfilters=3\nsize=3\nstride=2\npad=1\nactivation=linear\n",
         0, GC_KINKS, 0, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 100) == 0);
}

/* ---- every activation, through a 3x3 conv (batch norm on every other one) ----------------- */

TEST(conv_activations)
{
    /* Input half-width chosen so the pre-activations reach each function's regimes (|x| > 1 for
     * hardtan, > 4 for plse, > 6 for relu6, < -2 for hard_mish, several stair steps).
     * stair is not flat almost everywhere: Darknet's stair is floor(x/2) on [2k, 2k+1) but
     * (x - floor(x)) + floor(x/2) on [2k+1, 2k+2), slope 1 there, and continuous; so it gets the
     * same finite-difference check as the other piecewise-linear functions. */
    static const struct {
        const char *name;
        float a;
        int flags;
    } acts[] = {
        {"linear", 2, 0},          {"logistic", 3, 0},        {"loggy", 3, 0},
        {"relu", 2, GC_KINKS},     {"elu", 3, 0},             {"selu", 3, GC_KINKS},
        {"relie", 2, GC_KINKS},    {"ramp", 2, GC_KINKS},     {"leaky", 2, GC_KINKS},
        {"tanh", 3, 0},            {"plse", 10, GC_KINKS},    {"stair", 4, GC_KINKS},
        {"hardtan", 3, GC_KINKS},  {"lhtan", 3, GC_KINKS},    {"relu6", 10, GC_KINKS},
        {"mish", 4, 0},            {"swish", 4, 0},           {"hard_mish", 4, GC_KINKS},
    };
    _Static_assert(sizeof acts / sizeof acts[0] == DN_ACT_COUNT, "every activation is covered");
    int failed = 0;
    for (int i = 0; i < (int)(sizeof acts / sizeof acts[0]); i++) {
        char cfg[512], label[64];
        snprintf(cfg, sizeof cfg,
                 NET(7, 6, 3) PRE4 "[convolutional]\nbatch_normalize=%d\nfilters=5\nsize=3\npad=1\n"
                 "activation=%s\n", i % 2, acts[i].name);
        snprintf(label, sizeof label, "conv 3x3 %s%s", acts[i].name, i % 2 ? " bn" : "");
        failed += !gradcheck(label, cfg, -1, acts[i].flags, -acts[i].a, acts[i].a, 200 + (uint64_t)i);
    }
    CHECK(failed == 0);
}

/* ---- connected ------------------------------------------------------------------------- */

TEST(connected)
{
    static const gc_case cases[] = {
        {"connected linear", NET(7, 6, 3) PRE4 "[connected]\noutput=10\nactivation=linear\n", -1, 0, 0, 1},
        {"connected leaky bn", NET(7, 6, 3) PRE4
         "[connected]\noutput=10\nbatch_normalize=1\nactivation=leaky\n", -1, GC_KINKS, -2, 2},
        {"connected logistic", NET(7, 6, 3) PRE4 "[connected]\noutput=10\nactivation=logistic\n", -1, 0, -2, 2},
        {"connected mish bn", NET(7, 6, 3) PRE4
         "[connected]\noutput=10\nbatch_normalize=1\nactivation=mish\n", -1, 0, -2, 2},
        {"connected -> connected, stop below both", NET(7, 6, 3) PRE4
         "[connected]\noutput=12\nbatch_normalize=1\nactivation=tanh\n"
         "[connected]\noutput=5\nactivation=linear\n", 0, 0, -2, 2},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 300) == 0);
}

/* ---- pooling, dropout, cost ------------------------------------------------------------ */

TEST(pooling)
{
    static const gc_case cases[] = {
        {"maxpool 2/2 (odd width)", NET(7, 6, 3) PRE4 "[maxpool]\nsize=2\nstride=2\n", -1, GC_KINKS, 0, 1},
        {"maxpool 3/1 (SPP style)", NET(7, 6, 3) PRE4 "[maxpool]\nsize=3\nstride=1\n", -1, GC_KINKS, 0, 1},
        {"maxpool 3/2 default padding", NET(7, 6, 3) PRE4 "[maxpool]\nsize=3\nstride=2\n", -1, GC_KINKS, 0, 1},
        {"maxpool 2/1 (yolov3-tiny)", NET(8, 8, 3) PRE4 "[maxpool]\nsize=2\nstride=1\n", -1, GC_KINKS, 0, 1},
        {"SPP block: maxpool 5/1, 3/1, route", NET(7, 6, 3) PRE4
         "[maxpool]\nsize=5\nstride=1\n[route]\nlayers=-2\n[maxpool]\nsize=3\nstride=1\n"
         "[route]\nlayers=-1,-3,0\n", 0, GC_KINKS, 0, 1},
        {"avgpool", NET(7, 6, 3) PRE4 "[avgpool]\n", -1, 0, 0, 1},
        {"avgpool 3x2 map", NET(3, 2, 3) PRE4 "[avgpool]\n", -1, 0, 0, 1},
        {"avgpool -> connected", NET(7, 6, 3) PRE4 "[avgpool]\n[connected]\noutput=6\nactivation=linear\n",
         0, 0, 0, 1},
        {"dropout (identity at inference)", NET(7, 6, 3) PRE4 "[dropout]\nprobability=.5\n", -1, 0, 0, 1},
        {"dropout between convs", NET(7, 6, 3) PRE4
         "[dropout]\nprobability=.3\n[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n",
         0, 0, 0, 1},
        {"cost (identity)", NET(7, 6, 3) PRE4 "[cost]\ntype=sse\n", -1, 0, 0, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 400) == 0);
}

/* Darknet's softmax backward is the identity on purpose (it pairs with the cross-entropy cost,
 * whose delta is already taken w.r.t. the logits), so no finite differences: the delta must
 * come through unchanged, for one target and for three. */
TEST(softmax_passthrough)
{
    static const char *const cfgs[] = {
        NET(7, 6, 3) PRE4 "[softmax]\n",
        NET(7, 6, 3) PRE4 "[softmax]\ngroups=2\ntemperature=2\n",
        NET(7, 6, 3) PRE4 "[avgpool]\n[softmax]\n",
    };
    for (int c = 0; c < 3; c++) {
        dn_network *net = build(cfgs[c]);
        CHECK(net != NULL);
        dn_network_randomize(net, 500 + GC_SEED_OFFSET + (uint64_t)c, NULL);
        uint64_t rng = 501 + GC_SEED_OFFSET + (uint64_t)c;
        float in[7 * 6 * 3];
        for (int i = 0; i < 7 * 6 * 3; i++) in[i] = rng_uniform(&rng, 0, 1);
        dn_network_predict(net, in);
        int last = net->n - 1, stop = last - 1, no = net->layers[last].outputs;
        CHECK(net->layers[stop].outputs == no);
        float *v = malloc((size_t)3 * no * sizeof(float)), *g = malloc((size_t)3 * no * sizeof(float));
        CHECK(v && g);
        for (int i = 0; i < 3 * no; i++) v[i] = rng_uniform(&rng, -1, 1);
        int ok1 = analytic(net, stop, v, 1, g), same1 = ok1 && !memcmp(g, v, (size_t)no * sizeof(float));
        int ok3 = analytic(net, stop, v, 3, g), same3 = ok3 && !memcmp(g, v, (size_t)3 * no * sizeof(float));
        printf("  softmax cfg %d: delta passed through unchanged: dbatch1 %s, dbatch3 %s\n", c,
               same1 ? "yes" : "NO", same3 ? "yes" : "NO");
        free(v);
        free(g);
        dn_network_free(net);
        CHECK(same1 && same3);
    }
}

/* ---- route, shortcut, scale_channels: gradients into both sources ------------------------ */

TEST(route)
{
    static const gc_case cases[] = {
        {"route -1,1 (relative + absolute), stop below both", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n"
         "[convolutional]\nfilters=2\nsize=1\nactivation=linear\n"
         "[route]\nlayers=-1,1\n", 0, GC_KINKS, 0, 1},
        {"route -> conv, stop below both", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
         "[route]\nlayers=0,-1\n"
         "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=linear\n", 0, 0, 0, 1},
        {"route groups=2 group_id=1, stop below both", NET(7, 6, 3) "[dropout]\n"
         "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n"
         "[convolutional]\nfilters=6\nsize=1\nactivation=linear\n"
         "[route]\nlayers=-1,1\ngroups=2\ngroup_id=1\n", 0, 0, 0, 1},
        {"route, one source below stop", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
         "[route]\nlayers=0,1\n", 1, 0, 0, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 600) == 0);
}

TEST(shortcut)
{
    static const gc_case cases[] = {
        {"shortcut same size, stop below both", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
         "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n"
         "[shortcut]\nfrom=-2\nactivation=linear\n", 0, GC_KINKS, 0, 1},
        {"shortcut alpha=.7 beta=1.3 leaky", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n"
         "[convolutional]\nfilters=4\nsize=1\nactivation=linear\n"
         "[shortcut]\nfrom=1\nalpha=.7\nbeta=1.3\nactivation=leaky\n", 0, GC_KINKS, -1, 1},
        {"shortcut swish (keeps pre-activation)", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n"
         "[shortcut]\nfrom=-2\nactivation=swish\n", 0, 0, -1, 1},
        {"shortcut from a 2x larger map (6 -> 4 ch)", NET(8, 8, 3) PRE4
         "[convolutional]\nfilters=6\nsize=3\npad=1\nactivation=leaky\n"
         "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=linear\n"
         "[shortcut]\nfrom=1\nalpha=.6\nbeta=1.5\n", 0, GC_KINKS, 0, 1},
        {"shortcut into a 2x larger map (4 -> 3 ch)", NET(8, 8, 3) PRE4
         "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
         "[route]\nlayers=0\n"
         "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
         "[shortcut]\nfrom=1\nalpha=.5\nbeta=2\n", 0, GC_KINKS, 0, 1},
        {"shortcut into a larger map, alpha=1", NET(8, 8, 3) PRE4
         "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=linear\n"
         "[route]\nlayers=0\n"
         "[convolutional]\nfilters=5\nsize=1\nactivation=linear\n"
         "[shortcut]\nfrom=1\n", 0, 0, 0, 1},
        {"shortcut, from-layer below stop", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n"
         "[shortcut]\nfrom=0\nbeta=.5\n", 1, 0, 0, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 700) == 0);
}

TEST(scale_channels)
{
    static const gc_case cases[] = {
        {"SE block scale_channels from=-3, stop below both", NET(7, 6, 3) PRE4
         "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
         "[avgpool]\n"
         "[convolutional]\nfilters=4\nsize=1\nactivation=logistic\n"
         "[scale_channels]\nfrom=-3\n", 0, GC_KINKS, -1, 1},
        {"SE block, stop at the scaled layer", NET(7, 6, 3) PRE4
         "[avgpool]\n"
         "[convolutional]\nfilters=4\nsize=1\nactivation=logistic\n"
         "[scale_channels]\nfrom=-3\n", 0, 0, -1, 1},
        {"SE block, scaled layer below stop", NET(7, 6, 3) PRE4
         "[avgpool]\n"
         "[convolutional]\nfilters=4\nsize=1\nactivation=logistic\n"
         "[scale_channels]\nfrom=0\n", 1, 0, -1, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 800) == 0);
}

/* ---- reshaping layers ------------------------------------------------------------------ */

TEST(reshape)
{
    static const gc_case cases[] = {
        {"upsample 2", NET(7, 6, 3) PRE4 "[upsample]\nstride=2\n", -1, 0, 0, 1},
        {"upsample 3 scale=.5", NET(5, 4, 3) PRE4 "[upsample]\nstride=3\nscale=.5\n", -1, 0, 0, 1},
        {"reorg 2 (8 ch, pjreddie mapping)", NET(8, 6, 3)
         "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=linear\n[reorg]\nstride=2\n", -1, 0, 0, 1},
        {"reorg 2 (6 ch, space-to-depth fallback)", NET(8, 6, 3)
         "[convolutional]\nfilters=6\nsize=3\npad=1\nactivation=linear\n[reorg]\nstride=2\n", -1, 0, 0, 1},
        {"crop 8x8 -> 6x6", NET(8, 8, 3)
         "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
         "[crop]\ncrop_width=6\ncrop_height=6\n", -1, 0, 0, 1},
        {"crop 8x8 -> 5x6 noadjust", NET(8, 8, 3)
         "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=linear\n"
         "[crop]\ncrop_width=5\ncrop_height=6\nnoadjust=1\n", -1, 0, 0, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 900) == 0);
}

/* ---- detection heads ------------------------------------------------------------------- */

#define YOLO_HEAD(sxy)                                                                          \
    "[yolo]\nmask=0,1\nanchors=10,14,23,27,37,58\nnum=3\nclasses=2\nscale_x_y=" sxy "\n"
#define REGION_HEAD(sm)                                                                          \
    "[region]\nanchors=1.08,1.19,3.42,4.41\nnum=2\nclasses=3\ncoords=4\nsoftmax=" sm "\n"

TEST(detection_heads)
{
    /* A [dropout] between the conv and the head keeps randomize's objectness prior (which
     * pushes the logits to -12..-4, where the logistic is flat) off, so all parts are exercised;
     * one case per head keeps the calibrated conv directly below. */
    static const gc_case cases[] = {
        {"yolo scale_x_y=1.0", NET(6, 5, 3)
         "[convolutional]\nfilters=14\nsize=3\npad=1\nactivation=linear\n[dropout]\n" YOLO_HEAD("1.0"),
         -1, 0, -2, 2},
        {"yolo scale_x_y=1.1", NET(6, 5, 3)
         "[convolutional]\nfilters=14\nsize=3\npad=1\nactivation=linear\n[dropout]\n" YOLO_HEAD("1.1"),
         -1, 0, -2, 2},
        {"yolo scale_x_y=1.05 after calibrated conv", NET(6, 5, 3) PRE4
         "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n" YOLO_HEAD("1.05"), -1, 0, 0, 1},
        {"region softmax=1", NET(6, 5, 3)
         "[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=linear\n[dropout]\n" REGION_HEAD("1"),
         -1, 0, -2, 2},
        {"region softmax=0", NET(6, 5, 3)
         "[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=linear\n[dropout]\n" REGION_HEAD("0"),
         -1, 0, -2, 2},
        {"region softmax=1 after calibrated conv", NET(6, 5, 3) PRE4
         "[convolutional]\nfilters=16\nsize=1\nactivation=linear\n" REGION_HEAD("1"), -1, 0, 0, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 1000) == 0);
}

/* ---- a small YOLOv3-tiny-like network end to end --------------------------------------- */

TEST(tiny_detector)
{
    static const gc_case cases[] = {
        {"tiny yolo: conv/maxpool/upsample/route/shortcut/yolo", NET(8, 8, 3)
         "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\npad=1\nactivation=linear\n" /* 0 */
         "[maxpool]\nsize=2\nstride=2\n"                                                     /* 1 */
         "[convolutional]\nbatch_normalize=1\nfilters=6\nsize=3\npad=1\nactivation=leaky\n"  /* 2 */
         "[convolutional]\nfilters=6\nsize=1\nactivation=mish\n"                             /* 3 */
         "[shortcut]\nfrom=-2\n"                                                             /* 4 */
         "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n"                          /* 5 */
         YOLO_HEAD("1.0")                                                                    /* 6 */
         "[route]\nlayers=-3\n"                                                              /* 7 */
         "[upsample]\nstride=2\n"                                                            /* 8 */
         "[route]\nlayers=-1,0\n"                                                            /* 9 */
         "[convolutional]\nfilters=14\nsize=3\npad=1\nactivation=linear\n"                   /* 10 */
         "[dropout]\n"                                                                       /* 11 */
         YOLO_HEAD("1.1"),                                                                   /* 12 */
         0, GC_KINKS, 0, 1},
    };
    CHECK(run_cases(cases, (int)(sizeof cases / sizeof cases[0]), 1100) == 0);
}

int main(void)
{
    RUN(conv_geometry);
    RUN(conv_activations);
    RUN(connected);
    RUN(pooling);
    RUN(softmax_passthrough);
    RUN(route);
    RUN(shortcut);
    RUN(scale_channels);
    RUN(reshape);
    RUN(detection_heads);
    RUN(tiny_detector);
    DONE();
}
