/* im2col.c - unfolds image patches into columns for convolution as GEMM (Darknet's layout:
 * rows ordered channel-major, then kernel row, then kernel column), and the adjoint col2im. */
#include "core.h"

typedef struct im2col_job {
    const float *data;
    int c, h, w, ksize, stride, pad, out_h, out_w;
    float *cols;
} im2col_job;

static void im2col_rows(const im2col_job *j, int r0, int r1)
{
    const int k = j->ksize, ow = j->out_w, oh = j->out_h;
    for (int row = r0; row < r1; row++) {
        int kx = row % k, ky = (row / k) % k, ch = row / k / k;
        const float *src = j->data + (size_t)ch * j->h * j->w;
        float *dst = j->cols + (size_t)row * oh * ow;
        for (int y = 0; y < oh; y++) {
            int iy = ky + y * j->stride - j->pad;
            float *d = dst + (size_t)y * ow;
            if (iy < 0 || iy >= j->h) {
                for (int x = 0; x < ow; x++) d[x] = 0.f;
                continue;
            }
            const float *s = src + (size_t)iy * j->w;
            if (j->stride == 1) {
                int x0 = j->pad - kx; /* first x with ix >= 0 */
                int x;
                for (x = 0; x < ow && x < x0; x++) d[x] = 0.f;
                int xmax = j->w + j->pad - kx; /* ix < w  <=> x < xmax */
                if (xmax > ow) xmax = ow;
                for (; x < xmax; x++) d[x] = s[kx + x - j->pad];
                for (; x < ow; x++) d[x] = 0.f;
            } else {
                for (int x = 0; x < ow; x++) {
                    int ix = kx + x * j->stride - j->pad;
                    d[x] = (ix >= 0 && ix < j->w) ? s[ix] : 0.f;
                }
            }
        }
    }
}

static void im2col_task(void *ctx, int ith, int nth)
{
    const im2col_job *j = ctx;
    int lo, hi;
    dn_split(j->c * j->ksize * j->ksize, ith, nth, &lo, &hi);
    im2col_rows(j, lo, hi);
}

void dn_im2col(dn_pool *pool, const float *data, int c, int h, int w, int ksize, int stride,
               int pad, int out_h, int out_w, float *cols)
{
    im2col_job j = {data, c, h, w, ksize, stride, pad, out_h, out_w, cols};
    if (pool && (size_t)c * ksize * ksize * out_h * out_w > 32768)
        dn_pool_run(pool, im2col_task, &j);
    else
        im2col_rows(&j, 0, c * ksize * ksize);
}

/* col2im for channels [c0, c1): every kernel row of a channel adds into that channel only, so
   channels split between threads without sharing a byte. */
static void col2im_channels(const im2col_job *j, int c0, int c1)
{
    const int k = j->ksize, ow = j->out_w, oh = j->out_h, st = j->stride;
    for (int row = c0 * k * k; row < c1 * k * k; row++) {
        int kx = row % k, ky = (row / k) % k, ch = row / k / k;
        float *dst = j->cols + (size_t)ch * j->h * j->w; /* (the image: the output here) */
        const float *src = j->data + (size_t)row * oh * ow;
        /* the x with 0 <= kx + x * st - pad < w */
        int x0 = j->pad - kx > 0 ? (j->pad - kx + st - 1) / st : 0;
        int x1 = (j->w - 1 + j->pad - kx) >= 0 ? (j->w - 1 + j->pad - kx) / st + 1 : 0;
        if (x1 > ow) x1 = ow;
        for (int y = 0; y < oh; y++) {
            int iy = ky + y * st - j->pad;
            if (iy < 0 || iy >= j->h) continue;
            float *d = dst + (size_t)iy * j->w;
            const float *s = src + (size_t)y * ow;
            const int off = kx - j->pad;
            if (st == 1)
                for (int x = x0; x < x1; x++) d[off + x] += s[x];
            else
                for (int x = x0; x < x1; x++) d[off + x * st] += s[x];
        }
    }
}

static void col2im_task(void *ctx, int ith, int nth)
{
    const im2col_job *j = ctx;
    int lo, hi;
    dn_split(j->c, ith, nth, &lo, &hi);
    col2im_channels(j, lo, hi);
}

void dn_col2im(dn_pool *pool, const float *cols, int c, int h, int w, int ksize, int stride, int pad,
               int out_h, int out_w, float *data)
{
    im2col_job j = {cols, c, h, w, ksize, stride, pad, out_h, out_w, data};
    if (pool && c > 1 && (size_t)c * ksize * ksize * out_h * out_w > 32768)
        dn_pool_run(pool, col2im_task, &j);
    else
        col2im_channels(&j, 0, c);
}
