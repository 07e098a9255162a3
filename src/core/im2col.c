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

void dn_col2im(const float *cols, int c, int h, int w, int ksize, int stride, int pad,
               int out_h, int out_w, float *data)
{
    for (int row = 0; row < c * ksize * ksize; row++) {
        int kx = row % ksize, ky = (row / ksize) % ksize, ch = row / ksize / ksize;
        float *dst = data + (size_t)ch * h * w;
        const float *src = cols + (size_t)row * out_h * out_w;
        for (int y = 0; y < out_h; y++) {
            int iy = ky + y * stride - pad;
            if (iy < 0 || iy >= h) continue;
            for (int x = 0; x < out_w; x++) {
                int ix = kx + x * stride - pad;
                if (ix >= 0 && ix < w) dst[(size_t)iy * w + ix] += src[(size_t)y * out_w + x];
            }
        }
    }
}
