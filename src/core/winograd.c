/* winograd.c - F(2x2, 3x3) Winograd convolution (Lavin & Gray 2016, eq. 8: Y = A^T [U . V] A,
 * U = G g G^T, V = B^T d B). The output is cut into 2x2 tiles; chunks of tiles go through an
 * input transform, 16 GEMMs M[xi] (n x T) = U[xi] (n x c) * V[xi] (c x T) over the channels, and
 * an output transform. The transforms work on WG_LANES tiles at once so they vectorise. */
#include "winograd.h"

#include <string.h>

/* Tiles transformed together: one vector of 8 floats (AVX2), the innermost index of V and M.
 * The shuffles below are written for exactly 8. */
#define WG_LANES 8
/* Target floats of V + M (16 * (c + n) per tile) for one chunk, per thread (4 MB): the tiles
 * of a chunk are transformed, multiplied and transformed back while they sit in L2/L3. Chunks
 * hold at least WG_MIN_T tiles (so wide layers get long GEMM rows and stream U few times) and at
 * most WG_MAX_T (beyond that narrow layers gain nothing). */
#define WG_CHUNK_FLOATS ((size_t)1 << 20)
#define WG_MIN_T 64
#define WG_MAX_T 1024
/* GEMM micro-tile: WG_MR output channels x WG_NR tiles (12 accumulators of 8 floats). */
#define WG_MR 6
#define WG_NR 16
/* Zeros before each padded input row: spans of tiles in the second tile row of a group start
 * up to 2*(WG_LANES - 1) floats before the row. */
#define WG_FRONT (2 * WG_LANES)

/* How the tiles of one layer are cut into chunks. Depends only on the layer's shape, never on
 * the thread count, so every thread count computes exactly the same arithmetic. */
typedef struct wg_plan {
    int c, n, h, w, pad;
    int oh, ow;    /* output size */
    int th, tw;    /* tiles down and across: ceil(oh/2), ceil(ow/2) */
    int tiles;     /* th * tw */
    int nchunks;   /* chunk k holds tiles [tiles*k/nchunks, tiles*(k+1)/nchunks) */
    int T;         /* capacity of a chunk in tiles, a multiple of WG_NR */
    int rl;        /* length of one padded input row (wg_rows) */
    size_t vs, ms; /* floats from one xi plane of V (T / WG_NR, c, WG_NR), M (n, T) to the next */
    size_t nv, nm; /* floats of V and M: 16 planes each */
    size_t per_thread; /* scratch floats of one thread: V, M, then 4 padded rows */
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
    /* a span read by wg_gather ends at padded column 2*(tw - 1) + 2*WG_LANES + 1 */
    int span = 2 * p->tw + 2 * WG_LANES;
    p->rl = WG_FRONT + (w + 2 * pad > span ? w + 2 * pad : span);
    /* One cache line between consecutive xi planes: with plane sizes that are multiples of
       4 KiB the 16 stores of a tile group would alias in the store buffer (2x slower). */
    p->vs = (size_t)c * p->T + WG_NR;
    p->ms = (size_t)n * p->T + WG_NR;
    p->nv = 16 * p->vs;
    p->nm = 16 * p->ms;
    p->per_thread = p->nv + p->nm + (size_t)4 * p->rl;
    return 1;
}

size_t dn_winograd_scratch(int c, int n, int h, int w, int pad)
{
    wg_plan p;
    if (!wg_plan_make(c, n, h, w, pad, &p)) return 0;
    return p.per_thread;
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

/* Unaligned access to WG_LANES floats of a float array (may_alias: no strict-aliasing
 * assumptions). Macros rather than functions: a vector passed by value changes the ABI when AVX
 * is off (-Wpsabi). */
typedef float wg_v8u __attribute__((vector_size(4 * WG_LANES), aligned(4), may_alias));
#define wg_load(p) (*(const wg_v8u *)(p))
#define wg_store(p, v) (*(wg_v8u *)(p) = (v))

#if defined(__clang__)
#define WG_SHUFFLE2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define WG_SHUFFLE2(a, b, ...) __builtin_shuffle(a, b, (wg_i8){__VA_ARGS__})
#endif

/* One input row's span x[0 .. 2*WG_LANES+1] -> e[j][lane] = x[2*lane + j], j = 0..3. */
static inline void wg_row_split(const float *x, wg_v8 e[4])
{
    wg_v8 a = wg_load(x), b = wg_load(x + WG_LANES);
    wg_v8 a2 = wg_load(x + 2), b2 = wg_load(x + WG_LANES + 2);
    e[0] = WG_SHUFFLE2(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
    e[1] = WG_SHUFFLE2(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
    e[2] = WG_SHUFFLE2(a2, b2, 0, 2, 4, 6, 8, 10, 12, 14);
    e[3] = WG_SHUFFLE2(a2, b2, 1, 3, 5, 7, 9, 11, 13, 15);
}

/* Fills the padded rows of tile row ty of channel src (h, w): row r (input row 2*ty - pad + r)
 * is rows[r * p->rl + WG_FRONT + x] = pixel (2*ty - pad + r, x - pad), zero outside the image,
 * for x from -WG_FRONT to p->rl - WG_FRONT - 1. */
static void wg_rows(const wg_plan *p, const float *src, int ty, float *rows)
{
    for (int r = 0; r < 4; r++) {
        float *x = rows + (size_t)r * p->rl;
        int iy = 2 * ty - p->pad + r;
        if (iy < 0 || iy >= p->h) {
            memset(x, 0, (size_t)p->rl * sizeof *x);
            continue;
        }
        int lead = WG_FRONT + p->pad, tail = p->rl - lead - p->w;
        memset(x, 0, (size_t)lead * sizeof *x);
        memcpy(x + lead, src + (size_t)iy * p->w, (size_t)p->w * sizeof *x);
        memset(x + lead + p->w, 0, (size_t)tail * sizeof *x);
    }
}

/* d[4*r + j][lane] = pixel (2*ty - pad + r, 2*tx - pad + j) of channel src, zero outside the
 * image, where (ty, tx) is tile t0 + lane; lanes >= nl are zero. The general case: the lanes are
 * cut into segments that lie in one tile row; each reads its tile row's padded rows (refilled
 * when *rows_ty is another tile row) as spans of 2*WG_LANES + 2 floats. */
static void wg_gather(const wg_plan *p, const float *src, int t0, int nl, float *rows,
                      int *rows_ty, wg_v8 d[16])
{
    const wg_i8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    int ty = t0 / p->tw, tx = t0 % p->tw;
    for (int k = 0; k < 16; k++) d[k] = (wg_v8){0};
    for (int l0 = 0, len; l0 < nl; l0 += len, tx = 0, ty++) {
        len = p->tw - tx < nl - l0 ? p->tw - tx : nl - l0;
        if (*rows_ty != ty) {
            wg_rows(p, src, ty, rows);
            *rows_ty = ty;
        }
        /* lane l of the segment reads x[2 * l + j], x = its padded row from column 2*(tx - l0) */
        const float *x = rows + WG_FRONT + 2 * (tx - l0);
        wg_i8 in_seg = (lane >= (wg_i8){0} + l0) & (lane < (wg_i8){0} + (l0 + len));
        for (int r = 0; r < 4; r++) {
            wg_v8 e[4];
            wg_row_split(x + (size_t)r * p->rl, e);
            for (int j = 0; j < 4; j++)
                d[4 * r + j] = (wg_v8)(((wg_i8)e[j] & in_seg) | ((wg_i8)d[4 * r + j] & ~in_seg));
        }
    }
}

/* v[xi * vs] = (B^T d B)[xi] with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] (eq. 8): rows
 * combined first, then columns, in every path, so each tile's V is the same wherever it is. */
static inline __attribute__((always_inline)) void wg_btdb(const wg_v8 d[16], float *v, size_t vs)
{
    wg_v8 s[16];
    for (int j = 0; j < 4; j++) {
        s[j] = d[j] - d[8 + j];
        s[4 + j] = d[4 + j] + d[8 + j];
        s[8 + j] = d[8 + j] - d[4 + j];
        s[12 + j] = d[4 + j] - d[12 + j];
    }
    for (int i = 0; i < 4; i++) {
        const wg_v8 *r = s + 4 * i;
        wg_store(v + (4 * i) * vs, r[0] - r[2]);
        wg_store(v + (4 * i + 1) * vs, r[1] + r[2]);
        wg_store(v + (4 * i + 2) * vs, r[2] - r[1]);
        wg_store(v + (4 * i + 3) * vs, r[1] - r[3]);
    }
}

/* V (16, T / WG_NR, c, WG_NR) for channels [c0, c1) from tiles [t0, t0 + nt): tile t0 + q of
 * channel ch, element xi, is V[xi][q / WG_NR][ch][q % WG_NR], the layout wg_kernel reads. Lanes
 * up to the next multiple of WG_LANES are written too (zeros). rows: 4 * p->rl floats. */
static void wg_input(const wg_plan *p, const float *in, int t0, int nt, int c0, int c1, float *V,
                     float *rows)
{
    const size_t vs = p->vs, plane = (size_t)p->h * p->w;
    const int w = p->w;
    for (int ch = c0; ch < c1; ch++) {
        const float *src = in + ch * plane;
        int rows_ty = -1;
        for (int g = 0; g < nt; g += WG_LANES) {
            float *v = V + (size_t)(g / WG_NR) * WG_NR * p->c + (size_t)ch * WG_NR + g % WG_NR;
            int ty = (t0 + g) / p->tw, tx = (t0 + g) % p->tw;
            int iy0 = 2 * ty - p->pad, ix0 = 2 * tx - p->pad;
            wg_v8 d[16];
            if (nt - g >= WG_LANES && tx + WG_LANES <= p->tw && iy0 >= 0 && iy0 + 4 <= p->h &&
                ix0 >= 0 && ix0 + 2 * WG_LANES + 2 <= w) {
                /* all lanes in one tile row, inside the image: straight from src */
                const float *x = src + (size_t)iy0 * w + ix0;
                for (int r = 0; r < 4; r++) wg_row_split(x + (size_t)r * w, d + 4 * r);
            } else {
                wg_gather(p, src, t0 + g, nt - g < WG_LANES ? nt - g : WG_LANES, rows, &rows_ty, d);
            }
            wg_btdb(d, v, vs);
        }
    }
}

/* out[k] for output channels [k0, k1) from M (16, n, T) of tiles [t0, t0 + nt):
 * Y = A^T m A with A^T = [1 1 1 0; 0 1 -1 -1] (eq. 8), written where it lies inside (oh, ow). */
static void wg_output(const wg_plan *p, const float *M, int t0, int nt, int k0, int k1, float *out)
{
    const size_t T = (size_t)p->T, ms = p->ms;
    const int oh = p->oh, ow = p->ow;
    for (int k = k0; k < k1; k++) {
        float *dst = out + (size_t)k * oh * ow;
        for (int g = 0; g < nt; g += WG_LANES) {
            const float *m = M + (size_t)k * T + g;
            int nl = nt - g < WG_LANES ? nt - g : WG_LANES;
            /* lanes past nt hold padding tiles: computed, never stored */
            wg_v8 t[8], y[4], q[4];
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
            /* output rows 2ty, 2ty+1 of the lanes: (q[0] q[1]) and (q[2] q[3]), 2 floats a lane */
            q[0] = WG_SHUFFLE2(y[0], y[1], 0, 8, 1, 9, 2, 10, 3, 11);
            q[1] = WG_SHUFFLE2(y[0], y[1], 4, 12, 5, 13, 6, 14, 7, 15);
            q[2] = WG_SHUFFLE2(y[2], y[3], 0, 8, 1, 9, 2, 10, 3, 11);
            q[3] = WG_SHUFFLE2(y[2], y[3], 4, 12, 5, 13, 6, 14, 7, 15);
            int ty = (t0 + g) / p->tw, tx = (t0 + g) % p->tw;
            if (nl == WG_LANES && tx + WG_LANES <= p->tw && 2 * ty + 2 <= oh &&
                2 * tx + 2 * WG_LANES <= ow) {
                float *r0 = dst + (size_t)(2 * ty) * ow + 2 * tx;
                wg_store(r0, q[0]);
                wg_store(r0 + WG_LANES, q[1]);
                wg_store(r0 + ow, q[2]);
                wg_store(r0 + ow + WG_LANES, q[3]);
                continue;
            }
            float rows[2][2 * WG_LANES];
            for (int i = 0; i < 2; i++) {
                wg_store(rows[i], q[2 * i]);
                wg_store(rows[i] + WG_LANES, q[2 * i + 1]);
            }
            for (int l0 = 0, len; l0 < nl; l0 += len, tx = 0, ty++) { /* per tile row, clipped */
                len = p->tw - tx < nl - l0 ? p->tw - tx : nl - l0;
                int cols = 2 * len < ow - 2 * tx ? 2 * len : ow - 2 * tx;
                for (int i = 0; i < 2 && 2 * ty + i < oh; i++)
                    memcpy(dst + (size_t)(2 * ty + i) * ow + 2 * tx, rows[i] + 2 * l0,
                           (size_t)cols * sizeof(float));
            }
        }
    }
}

/* ---- driver ---- */

typedef struct wg_job {
    const wg_plan *p;
    const float *U, *in;
    float *out, *scratch;
    int chunk; /* cooperative mode: the chunk being processed */
} wg_job;

static void wg_chunk_range(const wg_plan *p, int k, int *t0, int *nt)
{
    int lo, hi;
    dn_split(p->tiles, k, p->nchunks, &lo, &hi);
    *t0 = lo;
    *nt = hi - lo;
}

/* m (mr x 8*nv, row stride ldm) = u (mr x c, row stride ldu) * v (c x 8*nv, row stride WG_NR):
 * WG_MR x WG_NR register block, k ascending (so every thread count gives the same sums). */
static inline __attribute__((always_inline)) void wg_kernel(int mr, int nv, int c, const float *u,
                                                           size_t ldu, const float *v, float *m,
                                                           size_t ldm, const float *pf)
{
    wg_v8 acc[WG_MR][2];
    for (int i = 0; i < WG_MR; i++) acc[i][0] = acc[i][1] = (wg_v8){0};
    for (int k = 0; k < c; k++) {
        if (pf && (k & 15) == 0)
            for (int i = 0; i < WG_MR; i++) __builtin_prefetch(pf + i * ldu + k);
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
        const float *u = U + xi * nc, *v = V + xi * p->vs;
        float *m = M + xi * p->ms;
        for (int i0 = 0; i0 < n; i0 += WG_MR) {
            int mr = n - i0 < WG_MR ? n - i0 : WG_MR;
            for (int j = 0; j < nv8; j += 2) {
                int nv = nv8 - j < 2 ? 1 : 2;
                const float *ub = u + (size_t)i0 * c, *vb = v + (size_t)(j / 2) * WG_NR * c;
                float *mb = m + (size_t)i0 * T + (size_t)j * WG_LANES;
                const float *pf = j == 0 && i0 + 2 * WG_MR <= n ? ub + (size_t)WG_MR * c : NULL;
                if (mr == WG_MR && nv == 2)
                    wg_kernel(WG_MR, 2, c, ub, c, vb, mb, T, pf);
                else if (nv == 2)
                    wg_kernel(mr, 2, c, ub, c, vb, mb, T, pf);
                else
                    wg_kernel(mr, 1, c, ub, c, vb, mb, T, pf);
            }
        }
    }
}

/* Per-thread mode: each thread runs whole chunks in its own slice of scratch. */
static void wg_task_chunks(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    const wg_plan *p = j->p;
    float *V = j->scratch + (size_t)ith * p->per_thread, *M = V + p->nv, *rows = M + p->nm;
    int lo, hi;
    dn_split(p->nchunks, ith, nth, &lo, &hi);
    for (int k = lo; k < hi; k++) {
        int t0, nt;
        wg_chunk_range(p, k, &t0, &nt);
        wg_input(p, j->in, t0, nt, 0, p->c, V, rows);
        wg_gemms(p, j->U, V, M, nt, 0, 16);
        wg_output(p, M, t0, nt, 0, p->n, j->out);
    }
}

/* Cooperative mode: all threads work on one chunk, phase by phase, with V and M in scratch
 * slice 0 and each thread's padded rows in its own slice. */
static void wg_task_input(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    const wg_plan *p = j->p;
    int t0, nt, lo, hi;
    wg_chunk_range(p, j->chunk, &t0, &nt);
    dn_split(p->c, ith, nth, &lo, &hi);
    float *rows = j->scratch + (size_t)ith * p->per_thread + p->nv + p->nm;
    wg_input(p, j->in, t0, nt, lo, hi, j->scratch, rows);
}

static void wg_task_gemm(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    int t0, nt, lo, hi;
    wg_chunk_range(j->p, j->chunk, &t0, &nt);
    dn_split(16, ith, nth, &lo, &hi);
    wg_gemms(j->p, j->U, j->scratch, j->scratch + j->p->nv, nt, lo, hi);
}

static void wg_task_output(void *ctx, int ith, int nth)
{
    const wg_job *j = ctx;
    int t0, nt, lo, hi;
    wg_chunk_range(j->p, j->chunk, &t0, &nt);
    dn_split(j->p->n, ith, nth, &lo, &hi);
    wg_output(j->p, j->scratch + j->p->nv, t0, nt, lo, hi, j->out);
}

void dn_winograd_conv(dn_pool *pool, const float *U, const float *in, int c, int h, int w,
                      int pad, int n, float *out, float *scratch)
{
    wg_plan p;
    if (!wg_plan_make(c, n, h, w, pad, &p)) return;
    wg_job j = {&p, U, in, out, scratch, 0};
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
