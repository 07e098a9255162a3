/* winograd.c - F(2x2, 3x3) Winograd convolution (Lavin & Gray 2016, eq. 8: Y = A^T [U . V] A,
 * U = G g G^T, V = B^T d B). The output is cut into 2x2 tiles; chunks of tiles go through an
 * input transform, 16 GEMMs M[xi] (n x T) = U[xi] (n x c) * V[xi] (c x T) over the channels, and
 * an output transform. The transforms work on WG_LANES tiles at once so they vectorise. */
#include "winograd.h"

#include <string.h>

/* Tiles transformed together: one vector of 8 floats (AVX2), the innermost index of V and M.
 * The shuffles below are written for exactly 8. */
#define WG_LANES 8
/* Floats of V (16, c, T) + M (16, n, T) one chunk may use, per thread (4 MB): big enough that
 * the GEMMs see long rows and U is streamed few times, small enough to stay in L2/L3. */
#define WG_CHUNK_FLOATS ((size_t)1 << 20)
#ifndef WG_MIN_T
#define WG_MIN_T 64
#endif
#ifndef WG_MAX_T
#define WG_MAX_T 1024
#endif
#ifndef WG_OWN_GEMM
#define WG_OWN_GEMM 1
#endif
/* GEMM micro-tile: WG_MR output channels x WG_NR tiles (12 accumulators of 8 floats). */
#define WG_MR 6
#define WG_NR 16

/* How the tiles of one layer are cut into chunks. Depends only on the layer's shape, never on
 * the thread count, so every thread count computes exactly the same arithmetic. */
typedef struct wg_plan {
    int c, n, h, w, pad;
    int oh, ow;    /* output size */
    int th, tw;    /* tiles down and across: ceil(oh/2), ceil(ow/2) */
    int tiles;     /* th * tw */
    int nchunks;   /* chunk k holds tiles [tiles*k/nchunks, tiles*(k+1)/nchunks) */
    int T;         /* capacity of a chunk in tiles, a multiple of WG_LANES: row length of V, M */
} wg_plan;

static int wg_plan_make(int c, int n, int h, int w, int pad, wg_plan *p)
{
    memset(p, 0, sizeof *p);
    if (c < 1 || n < 1 || h < 1 || w < 1 || pad < 0 || pad > 1) return 0;
    p->c = c, p->n = n, p->h = h, p->w = w, p->pad = pad;
    p->oh = h + 2 * pad - 2;
    p->ow = w + 2 * pad - 2;
    if (p->oh < 1 || p->ow < 1) return 0;
    p->th = (p->oh + 1) / 2;
    p->tw = (p->ow + 1) / 2;
    p->tiles = p->th * p->tw;
    size_t per_tile = (size_t)16 * ((size_t)c + (size_t)n);
    size_t cap = WG_CHUNK_FLOATS / per_tile;
    if (cap > WG_MAX_T) cap = WG_MAX_T;
    if (cap < WG_MIN_T) cap = WG_MIN_T; /* wide layers: longer GEMM rows before a small budget */
    long nchunks = ((long)p->tiles + (long)cap - 1) / (long)cap;
    /* Several chunks: an even count (a multiple of 4 from 6 on) so 2 or 4 threads share them
       evenly; equal-sized chunks, never more than cap tiles each. */
    if (nchunks > 1) nchunks += nchunks & 1;
    if (nchunks >= 6) nchunks = (nchunks + 3) / 4 * 4;
    if (nchunks > p->tiles) nchunks = p->tiles;
    p->nchunks = (int)nchunks;
    long T = ((long)p->tiles + nchunks - 1) / nchunks;
    p->T = (int)((T + WG_NR - 1) / WG_NR * WG_NR);
    return 1;
}

size_t dn_winograd_scratch(int c, int n, int h, int w, int pad)
{
    wg_plan p;
    if (!wg_plan_make(c, n, h, w, pad, &p)) return 0;
    return (size_t)16 * ((size_t)c + (size_t)n) * (size_t)p.T;
}

dn_status dn_winograd_weights(const float *weights, int n, int c, float **U)
{
    *U = NULL;
    if (n < 1 || c < 1) return dn_error(DN_ERR_ARG, "winograd weights: bad shape n=%d c=%d", n, c);
    size_t nc = dn_size_mul((size_t)n, (size_t)c, DN_MAX_FLOATS);
    size_t total = nc ? dn_size_mul(nc, 16, DN_MAX_FLOATS) : 0;
    if (!total)
        return dn_error(DN_ERR_NOMEM, "winograd weights: 16 x %d x %d floats is too large", n, c);
    float *u = dn_malloc(total * sizeof *u);
    if (!u) return DN_ERR_NOMEM;
    for (size_t k = 0; k < nc; k++) {
        /* u = G g G^T with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], in double so the only
           rounding is the final one. k = filter * c + channel, which is also U[xi]'s index. */
        const float *g = weights + k * 9;
        double t[4][3]; /* G g */
        for (int j = 0; j < 3; j++) {
            double g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
            t[0][j] = g0;
            t[1][j] = 0.5 * (g0 + g1 + g2);
            t[2][j] = 0.5 * (g0 - g1 + g2);
            t[3][j] = g2;
        }
        for (int i = 0; i < 4; i++) {
            double r[4] = {t[i][0], 0.5 * (t[i][0] + t[i][1] + t[i][2]),
                           0.5 * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
            for (int j = 0; j < 4; j++) u[(size_t)(4 * i + j) * nc + k] = (float)r[j];
        }
    }
    *U = u;
    return DN_OK;
}

/* ---- transforms: WG_LANES tiles per vector ---- */

typedef float wg_v8 __attribute__((vector_size(4 * WG_LANES)));
typedef int wg_i8 __attribute__((vector_size(4 * WG_LANES)));

static inline wg_v8 wg_load(const float *p)
{
    wg_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void wg_store(float *p, wg_v8 v) { memcpy(p, &v, sizeof v); }

#if defined(__clang__)
#define WG_SHUFFLE2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define WG_SHUFFLE2(a, b, ...) __builtin_shuffle(a, b, (wg_i8){__VA_ARGS__})
#endif

/* One input row's span x[0 .. 2*WG_LANES+1] -> d[j][lane] = x[2*lane + j], j = 0..3. */
static inline void wg_row_split(const float *x, wg_v8 d[4])
{
    wg_v8 a = wg_load(x), b = wg_load(x + WG_LANES);
    wg_v8 a2 = wg_load(x + 2), b2 = wg_load(x + WG_LANES + 2);
    d[0] = WG_SHUFFLE2(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
    d[1] = WG_SHUFFLE2(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
    d[2] = WG_SHUFFLE2(a2, b2, 0, 2, 4, 6, 8, 10, 12, 14);
    d[3] = WG_SHUFFLE2(a2, b2, 1, 3, 5, 7, 9, 11, 13, 15);
}

/* Gathers the 4x4 input patches of tiles t0 .. t0+WG_LANES-1 (only the first nl are real; the
 * rest are zero) of one channel src (h, w) into d[4*row + col][lane], zero outside the image. */
static void wg_gather(const wg_plan *p, const float *src, int t0, int nl, wg_v8 d[16])
{
    const int h = p->h, w = p->w;
    int ty = t0 / p->tw, tx = t0 % p->tw;
    int iy0 = 2 * ty - p->pad, ix0 = 2 * tx - p->pad;
    if (nl == WG_LANES && tx + WG_LANES <= p->tw) {
        /* one tile row: the patches span columns ix0 .. ix0 + 2*WG_LANES + 1 of four rows */
        int inside_x = ix0 >= 0 && ix0 + 2 * WG_LANES + 2 <= w;
        for (int r = 0; r < 4; r++) {
            int iy = iy0 + r;
            if (iy >= 0 && iy < h && inside_x) {
                wg_row_split(src + (size_t)iy * w + ix0, d + 4 * r);
                continue;
            }
            float x[2 * WG_LANES + 2]; /* the row's span, zero padded */
            for (int j = 0; j < 2 * WG_LANES + 2; j++) {
                int ix = ix0 + j;
                x[j] = iy >= 0 && iy < h && ix >= 0 && ix < w ? src[(size_t)iy * w + ix] : 0.f;
            }
            wg_row_split(x, d + 4 * r);
        }
        return;
    }
    /* lanes spread over two tile rows, or past the last tile: one patch at a time */
    float g[16][WG_LANES];
    for (int l = 0; l < WG_LANES; l++) {
        int t = t0 + l;
        int y0 = 2 * (t / p->tw) - p->pad, x0 = 2 * (t % p->tw) - p->pad;
        for (int r = 0; r < 4; r++) {
            int iy = y0 + r;
            for (int j = 0; j < 4; j++) {
                int ix = x0 + j;
                g[4 * r + j][l] = l < nl && iy >= 0 && iy < h && ix >= 0 && ix < w
                                      ? src[(size_t)iy * w + ix] : 0.f;
            }
        }
    }
    for (int k = 0; k < 16; k++) d[k] = wg_load(g[k]);
}

/* V (16, c, T): columns [0, roundup(nt)) for channels [c0, c1) from tiles [t0, t0 + nt).
 * Per patch d: V = B^T d B with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] (eq. 8). */
static void wg_input(const wg_plan *p, const float *in, int t0, int nt, int c0, int c1, float *V)
{
    const size_t T = (size_t)p->T, vs = (size_t)p->c * T;
    for (int ch = c0; ch < c1; ch++) {
        const float *src = in + (size_t)ch * p->h * p->w;
        for (int g = 0; g < nt; g += WG_LANES) {
            wg_v8 d[16], s[16];
            int nl = nt - g < WG_LANES ? nt - g : WG_LANES;
            wg_gather(p, src, t0 + g, nl, d);
            for (int j = 0; j < 4; j++) { /* B^T d: combine rows */
                s[j] = d[j] - d[8 + j];
                s[4 + j] = d[4 + j] + d[8 + j];
                s[8 + j] = d[8 + j] - d[4 + j];
                s[12 + j] = d[4 + j] - d[12 + j];
            }
#if WG_OWN_GEMM
            float *v = V + (size_t)(g / WG_NR) * WG_NR * p->c + (size_t)ch * WG_NR + g % WG_NR;
#else
            float *v = V + (size_t)ch * T + g;
#endif
            for (int i = 0; i < 4; i++) { /* (B^T d) B: combine columns */
                const wg_v8 *r = s + 4 * i;
                wg_store(v + (4 * i) * vs, r[0] - r[2]);
                wg_store(v + (4 * i + 1) * vs, r[1] + r[2]);
                wg_store(v + (4 * i + 2) * vs, r[2] - r[1]);
                wg_store(v + (4 * i + 3) * vs, r[1] - r[3]);
            }
        }
    }
}

/* out[k] for output channels [k0, k1) from M (16, n, T) of tiles [t0, t0 + nt):
 * Y = A^T m A with A^T = [1 1 1 0; 0 1 -1 -1] (eq. 8), written where it lies inside (oh, ow). */
static void wg_output(const wg_plan *p, const float *M, int t0, int nt, int k0, int k1, float *out)
{
    const size_t T = (size_t)p->T, ms = (size_t)p->n * T;
    const int oh = p->oh, ow = p->ow;
    for (int k = k0; k < k1; k++) {
        float *dst = out + (size_t)k * oh * ow;
        for (int g = 0; g < nt; g += WG_LANES) {
            const float *m = M + (size_t)k * T + g;
            int nl = nt - g < WG_LANES ? nt - g : WG_LANES;
            /* lanes past nt hold stale values: computed, never stored */
            wg_v8 t[8], y[4];
            for (int j = 0; j < 4; j++) { /* A^T m: 2 x 4 */
                wg_v8 m0 = wg_load(m + j * ms), m1 = wg_load(m + (4 + j) * ms);
                wg_v8 m2 = wg_load(m + (8 + j) * ms), m3 = wg_load(m + (12 + j) * ms);
                t[j] = m0 + m1 + m2;
                t[4 + j] = m1 - m2 - m3;
            }
            for (int i = 0; i < 2; i++) { /* (A^T m) A: 2 x 2 */
                const wg_v8 *r = t + 4 * i;
                y[2 * i] = r[0] + r[1] + r[2];
                y[2 * i + 1] = r[1] - r[2] - r[3];
            }
            int tt = t0 + g;
            int ty = tt / p->tw, tx = tt % p->tw;
            int oy = 2 * ty, ox = 2 * tx;
            if (nl == WG_LANES && tx + WG_LANES <= p->tw && oy + 2 <= oh && ox + 2 * WG_LANES <= ow) {
                /* one tile row inside the image: interleave the two columns of each tile */
                float *r0 = dst + (size_t)oy * ow + ox, *r1 = r0 + ow;
                wg_store(r0, WG_SHUFFLE2(y[0], y[1], 0, 8, 1, 9, 2, 10, 3, 11));
                wg_store(r0 + WG_LANES, WG_SHUFFLE2(y[0], y[1], 4, 12, 5, 13, 6, 14, 7, 15));
                wg_store(r1, WG_SHUFFLE2(y[2], y[3], 0, 8, 1, 9, 2, 10, 3, 11));
                wg_store(r1 + WG_LANES, WG_SHUFFLE2(y[2], y[3], 4, 12, 5, 13, 6, 14, 7, 15));
                continue;
            }
            float ys[4][WG_LANES];
            for (int q = 0; q < 4; q++) wg_store(ys[q], y[q]);
            for (int l = 0; l < nl; l++) {
                int t1 = tt + l;
                int y0 = 2 * (t1 / p->tw), x0 = 2 * (t1 % p->tw);
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++)
                        if (y0 + i < oh && x0 + j < ow)
                            dst[(size_t)(y0 + i) * ow + x0 + j] = ys[2 * i + j][l];
            }
        }
    }
}

/* ---- driver ---- */

typedef struct wg_job {
    const wg_plan *p;
    const float *U, *in;
    float *out, *scratch;
    size_t per_thread; /* floats of scratch per thread */
    int chunk;         /* cooperative mode: the chunk being processed */
} wg_job;

static void wg_chunk_range(const wg_plan *p, int k, int *t0, int *nt)
{
    int lo, hi;
    dn_split(p->tiles, k, p->nchunks, &lo, &hi);
    *t0 = lo;
    *nt = hi - lo;
}

#if WG_OWN_GEMM
/* m (mr x 8*nv, row stride ldm) = u (mr x c, row stride ldu) * v (c x 8*nv, row stride WG_NR):
 * WG_MR x WG_NR register block, k ascending (so every thread count gives the same sums). */
static inline __attribute__((always_inline)) void wg_kernel(int mr, int nv, int c, const float *u,
                                                           size_t ldu, const float *v, float *m,
                                                           size_t ldm)
{
    wg_v8 acc[WG_MR][2];
    for (int i = 0; i < WG_MR; i++) acc[i][0] = acc[i][1] = (wg_v8){0};
    for (int k = 0; k < c; k++) {
        wg_v8 v0 = wg_load(v + (size_t)k * WG_NR), v1 = v0;
        if (nv == 2) v1 = wg_load(v + (size_t)k * WG_NR + WG_LANES);
        for (int i = 0; i < mr; i++) {
            float a = u[i * ldu + k];
            acc[i][0] += a * v0;
            if (nv == 2) acc[i][1] += a * v1;
        }
    }
    for (int i = 0; i < mr; i++) {
        wg_store(m + i * ldm, acc[i][0]);
        if (nv == 2) wg_store(m + i * ldm + WG_LANES, acc[i][1]);
    }
}

/* M[xi] (n x roundup8(nt), row stride T) = U[xi] (n x c) * V[xi] (c x nt, in blocks of WG_NR
 * tiles: (T / WG_NR, c, WG_NR)), single-threaded, for xi in [x0, x1). Rows outer so each block
 * of U stays in L1 while V[xi] (c x T) streams from L2. */
static void wg_gemms(const wg_plan *p, const float *U, const float *V, float *M, int nt, int x0,
                     int x1)
{
    const int c = p->c, n = p->n;
    const size_t T = (size_t)p->T, nc = (size_t)n * c;
    const int nv8 = (nt + WG_LANES - 1) / WG_LANES; /* 8-tile columns to compute */
    for (int xi = x0; xi < x1; xi++) {
        const float *u = U + xi * nc, *v = V + xi * c * T;
        float *m = M + xi * n * T;
        for (int i0 = 0; i0 < n; i0 += WG_MR) {
            int mr = n - i0 < WG_MR ? n - i0 : WG_MR;
            for (int j = 0; j < nv8; j += 2) {
                int nv = nv8 - j < 2 ? 1 : 2;
                const float *ub = u + (size_t)i0 * c, *vb = v + (size_t)(j / 2) * WG_NR * c;
                float *mb = m + (size_t)i0 * T + (size_t)j * WG_LANES;
                if (mr == WG_MR && nv == 2)
                    wg_kernel(WG_MR, 2, c, ub, c, vb, mb, T);
                else if (nv == 2)
                    wg_kernel(mr, 2, c, ub, c, vb, mb, T);
                else
                    wg_kernel(mr, 1, c, ub, c, vb, mb, T);
            }
        }
    }
}
#else
/* M[xi] (n x nt, row stride T) = U[xi] (n x c) * V[xi] (c x nt, row stride T), single-threaded,
 * for xi in [x0, x1). */
static void wg_gemms(const wg_plan *p, const float *U, const float *V, float *M, int nt, int x0,
                     int x1)
{
    const size_t T = (size_t)p->T, nc = (size_t)p->n * p->c;
    for (int xi = x0; xi < x1; xi++)
        dn_gemm(NULL, 0, 0, p->n, nt, p->c, 1.f, U + xi * nc, p->c, V + xi * p->c * T, p->T, 0.f,
                M + xi * p->n * T, p->T);
}
#endif

/* Per-thread mode: each thread runs whole chunks in its own slice of scratch. */
static void wg_task_chunks(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    const wg_plan *p = j->p;
    float *V = j->scratch + (size_t)ith * j->per_thread;          /* (16, c, T) */
    float *M = V + (size_t)16 * p->c * p->T;                      /* (16, n, T) */
    int lo, hi;
    dn_split(p->nchunks, ith, nth, &lo, &hi);
    for (int k = lo; k < hi; k++) {
        int t0, nt;
        wg_chunk_range(p, k, &t0, &nt);
        wg_input(p, j->in, t0, nt, 0, p->c, V);
        wg_gemms(p, j->U, V, M, nt, 0, 16);
        wg_output(p, M, t0, nt, 0, p->n, j->out);
    }
}

/* Cooperative mode: all threads work on one chunk, phase by phase, in scratch slice 0. */
static void wg_task_input(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    int t0, nt, lo, hi;
    wg_chunk_range(j->p, j->chunk, &t0, &nt);
    dn_split(j->p->c, ith, nth, &lo, &hi);
    wg_input(j->p, j->in, t0, nt, lo, hi, j->scratch);
}

static void wg_task_gemm(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    int t0, nt, lo, hi;
    wg_chunk_range(j->p, j->chunk, &t0, &nt);
    dn_split(16, ith, nth, &lo, &hi);
    wg_gemms(j->p, j->U, j->scratch, j->scratch + (size_t)16 * j->p->c * j->p->T, nt, lo, hi);
}

static void wg_task_output(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    int t0, nt, lo, hi;
    wg_chunk_range(j->p, j->chunk, &t0, &nt);
    dn_split(j->p->n, ith, nth, &lo, &hi);
    wg_output(j->p, j->scratch + (size_t)16 * j->p->c * j->p->T, t0, nt, lo, hi, j->out);
}

void dn_winograd_conv(dn_pool *pool, const float *U, const float *in, int c, int h, int w,
                      int pad, int n, float *out, float *scratch)
{
    wg_plan p;
    if (!wg_plan_make(c, n, h, w, pad, &p)) return;
    wg_job j = {&p, U, in, out, scratch, (size_t)16 * ((size_t)c + n) * p.T, 0};
    int nth = dn_pool_size(pool);
    /* Whole chunks per thread when they share out evenly (or there are many); otherwise all
       threads on each chunk in turn: transforms split over channels, GEMMs over xi. Both modes
       do identical arithmetic per tile, so the result does not depend on nth. */
    if (nth == 1 || p.nchunks % nth == 0 || p.nchunks >= 4 * nth) {
        dn_pool_run(pool, wg_task_chunks, &j);
        return;
    }
    for (int k = 0; k < p.nchunks; k++) {
        j.chunk = k;
        dn_pool_run(pool, wg_task_input, &j);
        dn_pool_run(pool, wg_task_gemm, &j);
        dn_pool_run(pool, wg_task_output, &j);
    }
}
