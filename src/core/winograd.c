/* winograd.c - F(2x2, 3x3) Winograd convolution (Lavin & Gray 2016, eq. 8: Y = A^T [U . V] A,
 * U = G g G^T, V = B^T d B). The output is cut into 2x2 tiles; chunks of tiles go through an
 * input transform, 16 GEMMs M[xi] (n x T) = U[xi] (n x c) * V[xi] (c x T) over the channels, and
 * an output transform. The transforms work on WG_LANES tiles at once so they vectorise. */
#include "winograd.h"

#include <string.h>

/* Tiles transformed together: one vector of floats (AVX2), the innermost index of V and M. */
#define WG_LANES 8
/* Floats of V (16, c, T) + M (16, n, T) one chunk may use, per thread (4 MB): big enough that
 * the GEMMs see long rows and U is streamed few times, small enough to stay in L2/L3. */
#define WG_CHUNK_FLOATS ((size_t)1 << 20)

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
    cap -= cap % WG_LANES;
    if (cap < 2 * WG_LANES) cap = 2 * WG_LANES; /* wide layers: still 16-column GEMMs */
    long nchunks = ((long)p->tiles + (long)cap - 1) / (long)cap;
    /* Several chunks: an even count (a multiple of 4 from 6 on) so 2 or 4 threads share them
       evenly; equal-sized chunks, never more than cap tiles each. */
    if (nchunks > 1) nchunks += nchunks & 1;
    if (nchunks >= 6) nchunks = (nchunks + 3) / 4 * 4;
    if (nchunks > p->tiles) nchunks = p->tiles;
    p->nchunks = (int)nchunks;
    long T = ((long)p->tiles + nchunks - 1) / nchunks;
    p->T = (int)((T + WG_LANES - 1) / WG_LANES * WG_LANES);
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

/* ---- input transform ---- */

/* V[xi] = (B^T d B)[xi] for WG_LANES patches at once: d[16][lanes] (row-major 4x4 patch, lane
 * innermost) -> v[xi * vs + lane], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. */
static inline void wg_btdb(const float d[16][WG_LANES], float *v, size_t vs)
{
    float s[16][WG_LANES]; /* B^T d: combines rows */
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < WG_LANES; l++) {
            float d0 = d[j][l], d1 = d[4 + j][l], d2 = d[8 + j][l], d3 = d[12 + j][l];
            s[j][l] = d0 - d2;
            s[4 + j][l] = d1 + d2;
            s[8 + j][l] = d2 - d1;
            s[12 + j][l] = d1 - d3;
        }
    for (int i = 0; i < 4; i++)
        for (int l = 0; l < WG_LANES; l++) {
            float s0 = s[4 * i][l], s1 = s[4 * i + 1][l], s2 = s[4 * i + 2][l], s3 = s[4 * i + 3][l];
            v[(size_t)(4 * i) * vs + l] = s0 - s2;
            v[(size_t)(4 * i + 1) * vs + l] = s1 + s2;
            v[(size_t)(4 * i + 2) * vs + l] = s2 - s1;
            v[(size_t)(4 * i + 3) * vs + l] = s1 - s3;
        }
}

/* Gathers the 4x4 input patches of tiles t0 .. t0+WG_LANES-1 (only the first nl are real; the
 * rest are zero) of channel src (h, w) into d, with zeros outside the image. */
static void wg_gather(const wg_plan *p, const float *src, int t0, int nl, float d[16][WG_LANES])
{
    const int h = p->h, w = p->w;
    int ty = t0 / p->tw, tx = t0 % p->tw;
    int iy0 = 2 * ty - p->pad, ix0 = 2 * tx - p->pad;
    if (nl == WG_LANES && tx + WG_LANES <= p->tw) {
        /* one tile row: the patches are columns ix0 .. ix0 + 2*WG_LANES + 1 of four rows */
        if (iy0 >= 0 && iy0 + 4 <= h && ix0 >= 0 && ix0 + 2 * WG_LANES + 2 <= w) {
            for (int r = 0; r < 4; r++) {
                const float *row = src + (size_t)(iy0 + r) * w + ix0;
                for (int j = 0; j < 4; j++)
                    for (int l = 0; l < WG_LANES; l++) d[4 * r + j][l] = row[2 * l + j];
            }
        } else {
            for (int r = 0; r < 4; r++) {
                float x[2 * WG_LANES + 2]; /* the row's span, zero padded */
                int iy = iy0 + r;
                if (iy < 0 || iy >= h) {
                    memset(x, 0, sizeof x);
                } else {
                    const float *row = src + (size_t)iy * w;
                    for (int j = 0; j < 2 * WG_LANES + 2; j++) {
                        int ix = ix0 + j;
                        x[j] = ix >= 0 && ix < w ? row[ix] : 0.f;
                    }
                }
                for (int j = 0; j < 4; j++)
                    for (int l = 0; l < WG_LANES; l++) d[4 * r + j][l] = x[2 * l + j];
            }
        }
        return;
    }
    /* lanes spread over two tile rows, or past the last tile: one patch at a time */
    for (int l = 0; l < WG_LANES; l++) {
        if (l >= nl) {
            for (int k = 0; k < 16; k++) d[k][l] = 0.f;
            continue;
        }
        int t = t0 + l;
        int y0 = 2 * (t / p->tw) - p->pad, x0 = 2 * (t % p->tw) - p->pad;
        for (int r = 0; r < 4; r++) {
            int iy = y0 + r;
            for (int j = 0; j < 4; j++) {
                int ix = x0 + j;
                d[4 * r + j][l] = iy >= 0 && iy < h && ix >= 0 && ix < w ? src[(size_t)iy * w + ix] : 0.f;
            }
        }
    }
}

/* V (16, c, T): columns [0, roundup(nt)) for channels [c0, c1) from tiles [t0, t0 + nt). */
static void wg_input(const wg_plan *p, const float *in, int t0, int nt, int c0, int c1, float *V)
{
    const size_t T = (size_t)p->T, vs = (size_t)p->c * T;
    for (int ch = c0; ch < c1; ch++) {
        const float *src = in + (size_t)ch * p->h * p->w;
        for (int g = 0; g < nt; g += WG_LANES) {
            float d[16][WG_LANES];
            int nl = nt - g < WG_LANES ? nt - g : WG_LANES;
            wg_gather(p, src, t0 + g, nl, d);
            wg_btdb(d, V + (size_t)ch * T + g, vs);
        }
    }
}

/* ---- output transform ---- */

/* out[k] for output channels [k0, k1) from M (16, n, T) of tiles [t0, t0 + nt):
 * Y = A^T m A with A^T = [1 1 1 0; 0 1 -1 -1], written where it lies inside (oh, ow). */
static void wg_output(const wg_plan *p, const float *M, int t0, int nt, int k0, int k1, float *out)
{
    const size_t T = (size_t)p->T, ms = (size_t)p->n * T;
    const int oh = p->oh, ow = p->ow;
    for (int k = k0; k < k1; k++) {
        float *dst = out + (size_t)k * oh * ow;
        for (int g = 0; g < nt; g += WG_LANES) {
            const float *m = M + (size_t)k * T + g;
            int nl = nt - g < WG_LANES ? nt - g : WG_LANES;
            float t[8][WG_LANES]; /* A^T m: 2 x 4 */
            float y[4][WG_LANES]; /* t A: 2 x 2 */
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < WG_LANES; l++) {
                    /* lanes past nt hold stale values; they are computed but never stored */
                    float m0 = m[(size_t)j * ms + l], m1 = m[(size_t)(4 + j) * ms + l];
                    float m2 = m[(size_t)(8 + j) * ms + l], m3 = m[(size_t)(12 + j) * ms + l];
                    t[j][l] = m0 + m1 + m2;
                    t[4 + j][l] = m1 - m2 - m3;
                }
            for (int i = 0; i < 2; i++)
                for (int l = 0; l < WG_LANES; l++) {
                    float a0 = t[4 * i][l], a1 = t[4 * i + 1][l], a2 = t[4 * i + 2][l], a3 = t[4 * i + 3][l];
                    y[2 * i][l] = a0 + a1 + a2;
                    y[2 * i + 1][l] = a1 - a2 - a3;
                }
            int tt = t0 + g;
            int ty = tt / p->tw, tx = tt % p->tw;
            int oy = 2 * ty, ox = 2 * tx;
            if (nl == WG_LANES && tx + WG_LANES <= p->tw && oy + 2 <= oh && ox + 2 * WG_LANES <= ow) {
                float *r0 = dst + (size_t)oy * ow + ox, *r1 = r0 + ow;
                for (int l = 0; l < WG_LANES; l++) {
                    r0[2 * l] = y[0][l];
                    r0[2 * l + 1] = y[1][l];
                    r1[2 * l] = y[2][l];
                    r1[2 * l + 1] = y[3][l];
                }
                continue;
            }
            for (int l = 0; l < nl; l++) {
                int t1 = tt + l;
                int y0 = 2 * (t1 / p->tw), x0 = 2 * (t1 % p->tw);
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++)
                        if (y0 + i < oh && x0 + j < ow)
                            dst[(size_t)(y0 + i) * ow + x0 + j] = y[2 * i + j][l];
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
