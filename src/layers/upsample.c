/* upsample.c - [upsample]: nearest-neighbour upsampling by an integer stride, times `scale`. */
#include "layer_util.h"

typedef struct upsample {
    int stride;
    float scale;
} upsample;

static dn_status up_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    upsample *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    GET_INT("stride", 2, &p->stride);
    GET_FLOAT("scale", 1, &p->scale);
    if (p->stride < 1 || p->stride > 64)
        return LAYER_FAIL(DN_ERR_RANGE, "stride", "stride=%d must be in 1..64 (downsampling is not supported)", p->stride);
    l->out_w = l->w * p->stride;
    l->out_h = l->h * p->stride;
    l->out_c = l->c;
    l->spatial = 1;
    (void)net;
    return layer_alloc_output(l);
}

static void up_forward(dn_layer *l, const dn_run *r)
{
    upsample *p = l->priv;
    const int s = p->stride;
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        const float *in = r->input + (size_t)bc * l->w * l->h;
        float *out = l->output + (size_t)bc * l->out_w * l->out_h;
        for (int y = 0; y < l->out_h; y++) {
            const float *irow = in + (size_t)(y / s) * l->w;
            float *orow = out + (size_t)y * l->out_w;
            for (int x = 0; x < l->out_w; x++) orow[x] = p->scale * irow[x / s];
        }
    }
}

static void up_backward(dn_layer *l, const dn_run *r)
{
    if (!r->input_delta) return;
    upsample *p = l->priv;
    const int s = p->stride;
    for (int dc = 0; dc < r->dbatch * l->c; dc++) {
        float *din = r->input_delta + (size_t)dc * l->w * l->h;
        const float *dl = l->delta + (size_t)dc * l->out_w * l->out_h;
        for (int y = 0; y < l->out_h; y++)
            for (int x = 0; x < l->out_w; x++) din[(y / s) * l->w + x / s] += p->scale * dl[y * l->out_w + x];
    }
}

static void up_describe(const dn_layer *l, char *buf, size_t n)
{
    const upsample *p = l->priv;
    snprintf(buf, n, "upsample           %2dx  %4d x%4d x%4d   ->  %4d x%4d x%4d", p->stride, l->w, l->h, l->c,
             l->out_w, l->out_h, l->out_c);
}

static void up_destroy(dn_layer *l)
{
    dn_free(l->priv);
    l->priv = NULL;
}

const dn_layer_ops dn_upsample_ops = {
    .name = "upsample",
    .create = up_create,
    .forward = up_forward,
    .backward = up_backward,
    .describe = up_describe,
    .destroy = up_destroy,
};
