/* maxpool.c - [maxpool]: max over size x size windows with Darknet's padding rule (default
 * padding = size - 1, window offset -padding/2, out = (w + padding - size)/stride + 1). The
 * backward pass routes each output's delta to the input that won. */
#include "layer_util.h"

#include <float.h>

typedef struct maxpool {
    int size, stride, padding;
    int *indexes; /* (batch, outputs) flat input index of each maximum */
} maxpool;

static dn_status maxpool_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    maxpool *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    GET_INT("stride", 1, &p->stride);
    GET_INT("size", p->stride, &p->size);
    GET_INT("padding", p->size - 1, &p->padding);
    int sx, sy;
    GET_INT("stride_x", p->stride, &sx);
    GET_INT("stride_y", p->stride, &sy);
    if (sx != p->stride || sy != p->stride)
        return LAYER_FAIL(DN_ERR_UNSUPPORTED, "stride_x", "different stride_x/stride_y are not supported");
    if (p->size < 1 || p->size > 256) return LAYER_FAIL(DN_ERR_RANGE, "size", "size=%d must be in 1..256", p->size);
    if (p->stride < 1 || p->stride > 256)
        return LAYER_FAIL(DN_ERR_RANGE, "stride", "stride=%d must be in 1..256", p->stride);
    if (p->padding < 0 || p->padding > 512)
        return LAYER_FAIL(DN_ERR_RANGE, "padding", "padding=%d out of range", p->padding);
    if (l->w + p->padding < p->size || l->h + p->padding < p->size)
        return LAYER_FAIL(DN_ERR_RANGE, "size", "window %d larger than the padded input %d x %d", p->size, l->w, l->h);
    l->out_w = (l->w + p->padding - p->size) / p->stride + 1;
    l->out_h = (l->h + p->padding - p->size) / p->stride + 1;
    l->out_c = l->c;
    dn_status st = layer_alloc_output(l);
    if (st != DN_OK) return st;
    p->indexes = dn_calloc((size_t)l->batch * l->out_c * l->out_h * l->out_w, sizeof(int));
    if (!p->indexes) return DN_ERR_NOMEM;
    l->spatial = l->out_w > 1 || l->out_h > 1;
    (void)net;
    return DN_OK;
}

typedef struct mp_job {
    dn_layer *l;
    const float *in;
} mp_job;

/* One output row of the 2 x 2 / 2 window: rows r0 and r0 + w of the input. Branch-free (random
   data mispredicts every branch) and alias-free so that the compiler vectorizes it; ties keep the
   first of a, b, c, d as the general loop does. base is the flat index of r0[0]. */
static void maxpool2_row(const float *restrict r0, int w, float *restrict out, int *restrict idx, int ow, int base)
{
    const float *restrict r1 = r0 + w;
    for (int x = 0; x < ow; x++) {
        const float a = r0[2 * x], b = r0[2 * x + 1], c = r1[2 * x], d = r1[2 * x + 1];
        const int right0 = b > a, right1 = d > c;
        const float m0 = right0 ? b : a, m1 = right1 ? d : c;
        const int low = m1 > m0;
        out[x] = low ? m1 : m0;
        idx[x] = base + 2 * x + right0 + low * (w + right1 - right0);
    }
}

static void maxpool_task(void *ctx, int ith, int nth)
{
    mp_job *j = ctx;
    dn_layer *l = j->l;
    maxpool *p = l->priv;
    int lo, hi;
    dn_split(l->batch * l->c, ith, nth, &lo, &hi);
    const int off = -p->padding / 2;
    /* the common 2 x 2 / 2 case without left/top padding: windows are inside the input except
       the last row/column when the input size is odd */
    if (p->size == 2 && p->stride == 2 && off == 0 && l->out_w * 2 <= l->w && l->out_h * 2 <= l->h) {
        const int w = l->w, h = l->h, ow = l->out_w, oh = l->out_h;
        for (int bc = lo; bc < hi; bc++) {
            const float *in = j->in + (size_t)bc * h * w;
            float *out = l->output + (size_t)bc * oh * ow;
            int *idx = p->indexes + (size_t)bc * oh * ow;
            for (int y = 0; y < oh; y++)
                maxpool2_row(in + (size_t)(2 * y) * w, w, out + (size_t)y * ow, idx + (size_t)y * ow, ow, 2 * y * w);
        }
        return;
    }
    for (int bc = lo; bc < hi; bc++) {
        const float *in = j->in + (size_t)bc * l->h * l->w;
        float *out = l->output + (size_t)bc * l->out_h * l->out_w;
        int *idx = p->indexes + (size_t)bc * l->out_h * l->out_w;
        for (int y = 0; y < l->out_h; y++)
            for (int x = 0; x < l->out_w; x++) {
                float best = -FLT_MAX;
                int bi = -1;
                for (int n = 0; n < p->size; n++) {
                    int iy = off + y * p->stride + n;
                    if (iy < 0 || iy >= l->h) continue;
                    for (int m = 0; m < p->size; m++) {
                        int ix = off + x * p->stride + m;
                        if (ix < 0 || ix >= l->w) continue;
                        float v = in[iy * l->w + ix];
                        if (v > best) {
                            best = v;
                            bi = iy * l->w + ix;
                        }
                    }
                }
                out[y * l->out_w + x] = best;
                idx[y * l->out_w + x] = bi;
            }
    }
}

static void maxpool_forward(dn_layer *l, const dn_run *r)
{
    mp_job j = {l, r->input};
    dn_pool_run((size_t)l->outputs * l->batch > 8192 ? r->net->pool : NULL, maxpool_task, &j);
}

typedef struct mp_bwd_job {
    dn_layer *l;
    const dn_run *r;
} mp_bwd_job;

/* Input gradient of the (target, channel) planes of one slice: each plane adds only into its
 * own input plane, so slices never touch the same memory. */
static void maxpool_backward_task(void *ctx, int ith, int nth)
{
    mp_bwd_job *j = ctx;
    dn_layer *l = j->l;
    maxpool *p = l->priv;
    const int ohw = l->out_h * l->out_w, ihw = l->h * l->w;
    int lo, hi;
    dn_split(j->r->dbatch * l->c, ith, nth, &lo, &hi);
    for (int dc = lo; dc < hi; dc++) {
        int d = dc / l->c, c = dc % l->c, b = d % l->batch;
        const int *idx = p->indexes + ((size_t)b * l->c + c) * ohw;
        const float *dl = l->delta + (size_t)dc * ohw;
        float *din = j->r->input_delta + (size_t)dc * ihw;
        for (int i = 0; i < ohw; i++)
            if (idx[i] >= 0) din[idx[i]] += dl[i];
    }
}

static void maxpool_backward(dn_layer *l, const dn_run *r)
{
    if (!r->input_delta) return;
    mp_bwd_job j = {l, r};
    dn_pool_run((size_t)l->outputs * r->dbatch > 8192 ? r->net->pool : NULL, maxpool_backward_task, &j);
}

static void maxpool_describe(const dn_layer *l, char *buf, size_t n)
{
    const maxpool *p = l->priv;
    snprintf(buf, n, "max          %d x %d / %d  %4d x%4d x%4d   ->  %4d x%4d x%4d", p->size, p->size,
             p->stride, l->w, l->h, l->c, l->out_w, l->out_h, l->out_c);
}

static void maxpool_destroy(dn_layer *l)
{
    maxpool *p = l->priv;
    if (p) dn_free(p->indexes);
    dn_free(p);
    l->priv = NULL;
}

const dn_layer_ops dn_maxpool_ops = {
    .name = "maxpool",
    .create = maxpool_create,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .describe = maxpool_describe,
    .destroy = maxpool_destroy,
};
