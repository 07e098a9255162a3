/* test_winograd.c - checks the F(2x2, 3x3) Winograd convolution (core/winograd.c) against a
 * direct convolution in double on random shapes (odd sizes, 1x1 inputs, pad 0 and 1, channel
 * counts that are not multiples of 8, several chunks), checks that 1 and 2 threads give
 * bit-identical results, and prints timings against im2col + dn_gemm (informational only). */
#include "darknet.h"
#include "core/core.h"
#include "core/winograd.h"
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Accuracy: max |winograd - exact| / max |exact| over the output. F(2x2,3x3) adds a few float
 * roundings per term to the GEMM's; for c up to 512 the observed ratio stays below 1e-6. */
#define WG_REL_TOL 1e-5
/* Timings only mean something in an optimised build without sanitizers. */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
#define WG_TIMING 1
#else
#define WG_TIMING 0
#endif

static uint64_t rng = 12345;
/* Largest max |error| / max |exact| seen by check_shape, for the closing summary. */
static double worst_rel;
/* The 2-thread pool shared by all tests, created once in main. */
static dn_pool *p2;

static void fill_random(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 2.f * dn_rng_uniform(&rng) - 1.f;
}

/* Exact output value (k, y, x) of the 3x3 stride-1 convolution, in double. */
static double ref_at(const float *in, const float *wts, int c, int h, int w, int pad, int k, int y,
                     int x)
{
    double s = 0;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < 3; i++) {
            int iy = y + i - pad;
            if (iy < 0 || iy >= h) continue;
            for (int j = 0; j < 3; j++) {
                int ix = x + j - pad;
                if (ix < 0 || ix >= w) continue;
                s += (double)in[((size_t)ch * h + iy) * w + ix] * wts[(((size_t)k * c + ch) * 3 + i) * 3 + j];
            }
        }
    return s;
}

/* Runs the Winograd convolution with the given pool into out (n, oh, ow); 0 on allocation
 * failure. Scratch is filled with NaN first so any read of unwritten scratch would show. */
static int run_wg(dn_pool *pool, const float *U, const float *in, int c, int h, int w, int pad,
                  int n, float *out)
{
    size_t per = dn_winograd_scratch(c, n, h, w, pad);
    size_t tot = per * (size_t)dn_pool_size(pool);
    float *scratch = malloc((tot ? tot : 1) * sizeof *scratch);
    if (!scratch) return 0;
    for (size_t i = 0; i < tot; i++) scratch[i] = NAN;
    dn_winograd_conv(pool, U, in, c, h, w, pad, n, out, scratch);
    free(scratch);
    return 1;
}

/* One shape: random input/weights, Winograd with 1 and 2 threads, compared with the exact
 * convolution at every output (or `samples` random outputs when samples > 0). Returns 0 and
 * prints on failure. */
static int check_shape(int c, int n, int h, int w, int pad, int samples)
{
    int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
    size_t nin = (size_t)c * h * w, nw = (size_t)n * c * 9, nout = (size_t)n * oh * ow;
    float *in = malloc(nin * sizeof *in), *wts = malloc(nw * sizeof *wts);
    float *o1 = malloc(nout * sizeof *o1), *o2 = malloc(nout * sizeof *o2);
    float *U = NULL;
    int ok = 0;
    if (!in || !wts || !o1 || !o2) goto done;
    fill_random(in, nin);
    fill_random(wts, nw);
    if (dn_winograd_weights(wts, n, c, &U) != DN_OK) goto done;
    for (size_t i = 0; i < nout; i++) o1[i] = o2[i] = NAN;
    if (!run_wg(NULL, U, in, c, h, w, pad, n, o1) || !run_wg(p2, U, in, c, h, w, pad, n, o2))
        goto done;
    if (memcmp(o1, o2, nout * sizeof *o1) != 0) {
        printf("  c=%d n=%d %dx%d pad %d: 1 and 2 threads differ\n", c, n, h, w, pad);
        goto done;
    }
    double maxref = 0, maxerr = 0;
    int count = samples > 0 ? samples : (int)nout;
    for (int s = 0; s < count; s++) {
        size_t i = samples > 0 ? (size_t)(dn_rng_next(&rng) % nout) : (size_t)s;
        int k = (int)(i / ((size_t)oh * ow)), y = (int)(i / ow % oh), x = (int)(i % ow);
        double r = ref_at(in, wts, c, h, w, pad, k, y, x);
        if (fabs(r) > maxref) maxref = fabs(r);
        double e = fabs(r - o1[i]);
        if (!(e <= maxerr)) maxerr = e; /* NaN propagates */
    }
    double rel = maxref > 0 ? maxerr / maxref : maxerr;
    if (rel > worst_rel) worst_rel = rel;
    if (!(rel < WG_REL_TOL)) {
        printf("  c=%d n=%d %dx%d pad %d: max error %.3g of max %.3g (rel %.3g)\n", c, n, h, w, pad,
               maxerr, maxref, rel);
        goto done;
    }
    ok = 1;
done:
    dn_free(U);
    free(in), free(wts), free(o1), free(o2);
    return ok;
}

TEST(hand_worked)
{
    /* 1 channel 3x3 input of ones, all-ones filter, pad 1: each output counts its in-image
       neighbours: corners 4, edges 6, centre 9. */
    float in[9], wts[9], out[9], *U = NULL;
    for (int i = 0; i < 9; i++) in[i] = wts[i] = 1.f;
    CHECK_OK(dn_winograd_weights(wts, 1, 1, &U));
    float scratch[4096];
    CHECK(dn_winograd_scratch(1, 1, 3, 3, 1) <= 4096);
    dn_winograd_conv(NULL, U, in, 1, 3, 3, 1, 1, out, scratch);
    dn_free(U);
    const float want[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    for (int i = 0; i < 9; i++) CHECK_NEAR(out[i], want[i], 1e-6);
}

TEST(small_shapes)
{
    /* c, n, h, w, pad */
    static const int shapes[][5] = {
        {1, 1, 1, 1, 1},   {3, 5, 1, 1, 1},   {2, 3, 2, 3, 1},  {2, 3, 3, 4, 0},
        {3, 7, 7, 5, 1},   {5, 9, 7, 5, 0},   {4, 4, 13, 13, 1}, {11, 6, 13, 13, 0},
        {1, 17, 3, 3, 0},  {17, 1, 4, 4, 0},  {9, 13, 1, 9, 1},  {6, 3, 20, 1, 1},
        {13, 21, 19, 33, 1}, {21, 10, 16, 16, 1}, {7, 15, 17, 18, 0}, {30, 33, 26, 26, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *v = shapes[s];
        CHECK(check_shape(v[0], v[1], v[2], v[3], v[4], 0));
    }
}

/* TEST_QUICK=1 (the valgrind pass, ~50x slower): 10 random shapes instead of 40 and no
   wide-channel shapes */
static int quick;

TEST(random_shapes)
{
    for (int it = 0; it < (quick ? 10 : 40); it++) {
        int c = 1 + (int)(dn_rng_next(&rng) % 40), n = 1 + (int)(dn_rng_next(&rng) % 40);
        int pad = (int)(dn_rng_next(&rng) % 2);
        int h = 3 - 2 * pad + (int)(dn_rng_next(&rng) % 30);
        int w = 3 - 2 * pad + (int)(dn_rng_next(&rng) % 30);
        CHECK(check_shape(c, n, h, w, pad, 0));
    }
}

TEST(many_chunks)
{
    /* Large enough for several chunks per layer (each mode of the 2-thread split), and wide
       channels for accuracy; checked at sampled outputs. */
    CHECK(check_shape(32, 32, 96, 80, 1, 0));
    CHECK(check_shape(40, 24, 131, 71, 1, 3000));
    CHECK(check_shape(16, 32, 208, 208, 1, 3000));
    CHECK(check_shape(35, 19, 150, 151, 0, 3000));
    if (quick)
        return;
    CHECK(check_shape(512, 1024, 13, 13, 1, 300));
    CHECK(check_shape(256, 512, 26, 26, 1, 300));
}

TEST(errors)
{
    float w[9] = {0}, *U = (float *)w;
    CHECK(dn_winograd_weights(w, 0, 1, &U) == DN_ERR_ARG && U == NULL);
    dn_mem_fail_at(1);
    dn_status s = dn_winograd_weights(w, 1, 1, &U);
    dn_mem_fail_at(0);
    CHECK(s == DN_ERR_NOMEM && U == NULL);
    CHECK(dn_winograd_scratch(4, 4, 2, 2, 0) == 0); /* empty output */
    CHECK(dn_winograd_scratch(4, 4, 1, 1, 1) > 0);
}

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Timing of im2col + dn_gemm vs Winograd for one layer (pad 1), best of several runs: with 1
 * thread by wall clock and by the thread's CPU time (steadier on a shared machine), and with
 * the 2-thread pool by wall clock. Informational: nothing is asserted. */
static void time_shape(int c, int n, int hw)
{
    int h = hw, w = hw, pad = 1, oh = hw, ow = hw;
    size_t nin = (size_t)c * h * w, nw = (size_t)n * c * 9, nout = (size_t)n * oh * ow;
    size_t ncol = (size_t)c * 9 * oh * ow, per = dn_winograd_scratch(c, n, h, w, pad);
    float *in = malloc(nin * 4), *wts = malloc(nw * 4), *o1 = malloc(nout * 4), *o2 = malloc(nout * 4);
    float *cols = malloc(ncol * 4), *scratch = malloc(2 * per * 4), *U = NULL;
    if (!in || !wts || !o1 || !o2 || !cols || !scratch) goto done;
    fill_random(in, nin);
    fill_random(wts, nw);
    if (dn_winograd_weights(wts, n, c, &U) != DN_OK) goto done;
    double flops = 2.0 * n * c * 9 * oh * ow, t[3][2];
    static const char *const how[3] = {"1 thr (cpu) ", "1 thr (wall)", "2 thr (wall)"};
    int reps = flops > 5e8 ? 6 : 12;
    for (int m = 0; m < 3; m++) {
        dn_pool *pool = m == 2 ? p2 : NULL;
        clockid_t clk = m == 0 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
        t[m][0] = t[m][1] = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = now_s(clk);
            dn_im2col(pool, in, c, h, w, 3, 1, pad, oh, ow, cols);
            dn_gemm(pool, 0, 0, n, oh * ow, c * 9, 1.f, wts, c * 9, cols, oh * ow, 0.f, o1, oh * ow);
            double t1 = now_s(clk);
            dn_winograd_conv(pool, U, in, c, h, w, pad, n, o2, scratch);
            double t2 = now_s(clk);
            if (t1 - t0 < t[m][0]) t[m][0] = t1 - t0;
            if (t2 - t1 < t[m][1]) t[m][1] = t2 - t1;
        }
    }
    double maxo = 0, maxd = 0;
    for (size_t i = 0; i < nout; i++) {
        if (fabs(o1[i]) > maxo) maxo = fabs(o1[i]);
        if (fabs(o1[i] - o2[i]) > maxd) maxd = fabs(o1[i] - o2[i]);
    }
    for (int m = 0; m < 3; m++)
        printf("  %4d->%-4d %3dx%-3d %s | im2col+gemm %8.2f ms %6.1f GF/s | winograd %8.2f ms "
               "%6.1f GF/s | x%.2f\n",
               c, n, hw, hw, how[m], 1e3 * t[m][0], flops / t[m][0] * 1e-9, 1e3 * t[m][1],
               flops / t[m][1] * 1e-9, t[m][0] / t[m][1]);
    printf("  %4d->%-4d %3dx%-3d max |winograd - im2col| / max |out| = %.1e\n", c, n, hw, hw,
           maxo > 0 ? maxd / maxo : maxd);
    goto cleanup;
done:
    printf("  (timing %d->%d %dx%d skipped: no memory)\n", c, n, hw, hw);
cleanup:
    dn_free(U);
    free(in), free(wts), free(o1), free(o2), free(cols), free(scratch);
}

static void print_timings(void)
{
    printf("timings (informational), best of several runs, GF/s = 2*n*c*9*oh*ow / time:\n");
    static const int shapes[][3] = {{16, 32, 208}, {32, 64, 208}, {64, 128, 104},
                                    {128, 256, 52}, {256, 512, 26}, {512, 1024, 13}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        time_shape(shapes[s][0], shapes[s][1], shapes[s][2]);
}

int main(int argc, char **argv)
{
    const char *q = getenv("TEST_QUICK");
    quick = q && strcmp(q, "1") == 0;
    dn_gemm_set_threads(1);
    if (dn_pool_create(2, &p2) != DN_OK) {
        printf("cannot create a 2-thread pool\n");
        return 1;
    }
    /* no pause: the first run is issued before the worker has started (a worker starts at
       generation 0 and joins a job already in flight; this once hung) */
    RUN(hand_worked);
    RUN(small_shapes);
    RUN(random_shapes);
    RUN(many_chunks);
    RUN(errors);
    printf("worst max |error| / max |exact| over all shapes: %.2e (tolerance %.0e)\n", worst_rel,
           WG_REL_TOL);
    if (!WG_TIMING)
        printf("timings skipped: unoptimised or sanitizer build\n");
    else if (quick || (argc > 1 && strcmp(argv[1], "--no-timing") == 0))
        printf("timings skipped: --no-timing or TEST_QUICK=1\n");
    else
        print_timings();
    dn_pool_free(p2);
    DONE();
}
