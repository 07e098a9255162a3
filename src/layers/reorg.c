/* reorg.c - [reorg]: Darknet's space-to-depth (YOLOv2's passthrough): out is w/s x h/s x c*s*s,
 * using pjreddie's exact index mapping (which the published YOLOv2 weights were trained with). */
#include "layer_util.h"

typedef struct reorg {
    int stride;
} reorg;

static dn_status reorg_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    reorg *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    GET_INT("stride", 1, &p->stride);
    int rev, flat, extra;
    GET_INT("reverse", 0, &rev);
    GET_INT("flatten", 0, &flat);
    GET_INT("extra", 0, &extra);
    if (rev || flat || extra) return LAYER_FAIL(DN_ERR_UNSUPPORTED, NULL, "reverse/flatten/extra reorg is not supported");
    if (p->stride < 1 || l->w % p->stride || l->h % p->stride)
        return LAYER_FAIL(DN_ERR_RANGE, "stride", "stride=%d must divide the input %d x %d", p->stride, l->w, l->h);
    l->out_w = l->w / p->stride;
    l->out_h = l->h / p->stride;
    l->out_c = l->c * p->stride * p->stride;
    l->spatial = l->out_w > 1 || l->out_h > 1;
    (void)net;
    return layer_alloc_output(l);
}

/* Index pairs of pjreddie's reorg_cpu(x, w, h, c, batch, stride, forward=0, out):
 * out[in_index] = x[out_index]. */
#define REORG_PAIRS(l, stride, BODY)                                                              \
    do {                                                                                        \
        int oc_ = (l)->c / ((stride) * (stride));                                               \
        for (int k = 0; k < (l)->c; k++)                                                        \
            for (int j = 0; j < (l)->h; j++)                                                    \
                for (int i = 0; i < (l)->w; i++) {                                              \
                    size_t ii = (size_t)i + (size_t)(l)->w * (j + (size_t)(l)->h * k);           \
                    int c2 = k % oc_, off = k / oc_;                                            \
                    int w2 = i * (stride) + off % (stride), h2 = j * (stride) + off / (stride); \
                    size_t oi = (size_t)w2 + (size_t)(l)->w * (stride) * (h2 + (size_t)(l)->h * (stride) * c2); \
                    BODY;                                                                       \
                }                                                                               \
    } while (0)

static void reorg_forward(dn_layer *l, const dn_run *r)
{
    reorg *p = l->priv;
    const int s = p->stride;
    if (l->c % (s * s)) {
        /* pjreddie's mapping needs c divisible by s*s; otherwise fall back to a plain copy of
           the space-to-depth order */
        for (int b = 0; b < l->batch; b++)
            for (int k = 0; k < l->c; k++)
                for (int j = 0; j < l->h; j++)
                    for (int i = 0; i < l->w; i++) {
                        int oc = k * s * s + (j % s) * s + (i % s);
                        l->output[(size_t)b * l->outputs + ((size_t)oc * l->out_h + j / s) * l->out_w + i / s] =
                            r->input[(size_t)b * l->inputs + ((size_t)k * l->h + j) * l->w + i];
                    }
        return;
    }
    for (int b = 0; b < l->batch; b++) {
        const float *x = r->input + (size_t)b * l->inputs;
        float *out = l->output + (size_t)b * l->outputs;
        REORG_PAIRS(l, s, out[ii] = x[oi]);
    }
}

static void reorg_backward(dn_layer *l, const dn_run *r)
{
    if (!r->input_delta) return;
    reorg *p = l->priv;
    const int s = p->stride;
    for (int d = 0; d < r->dbatch; d++) {
        float *din = r->input_delta + (size_t)d * l->inputs;
        const float *dl = l->delta + (size_t)d * l->outputs;
        if (l->c % (s * s)) {
            for (int k = 0; k < l->c; k++)
                for (int j = 0; j < l->h; j++)
                    for (int i = 0; i < l->w; i++) {
                        int oc = k * s * s + (j % s) * s + (i % s);
                        din[((size_t)k * l->h + j) * l->w + i] += dl[((size_t)oc * l->out_h + j / s) * l->out_w + i / s];
                    }
        } else {
            REORG_PAIRS(l, s, din[oi] += dl[ii]);
        }
    }
}

static void reorg_describe(const dn_layer *l, char *buf, size_t n)
{
    const reorg *p = l->priv;
    snprintf(buf, n, "reorg              /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d", p->stride, l->w, l->h, l->c,
             l->out_w, l->out_h, l->out_c);
}

static void reorg_destroy(dn_layer *l)
{
    dn_free(l->priv);
    l->priv = NULL;
}

const dn_layer_ops dn_reorg_ops = {
    .name = "reorg",
    .create = reorg_create,
    .forward = reorg_forward,
    .backward = reorg_backward,
    .describe = reorg_describe,
    .destroy = reorg_destroy,
};
