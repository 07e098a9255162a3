/* crop.c - [crop]: at inference the centre crop_width x crop_height window, mapped from [0,1]
 * to [-1,1] (x*2 - 1) unless noadjust=1, as pjreddie's crop layer does in test mode. The
 * training-time random crop, flip and colour jitter belong to the data loader. */
#include "layer_util.h"

typedef struct crop {
    int noadjust;
} crop;

static dn_status crop_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    crop *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    int ch, cw, flip;
    float f;
    GET_INT("crop_height", 1, &ch);
    GET_INT("crop_width", 1, &cw);
    GET_INT("flip", 0, &flip);
    GET_FLOAT("angle", 0, &f);
    GET_FLOAT("saturation", 1, &f);
    GET_FLOAT("exposure", 1, &f);
    GET_FLOAT("shift", 0, &f);
    GET_INT("noadjust", 0, &p->noadjust);
    if (ch < 1 || cw < 1 || ch > l->h || cw > l->w)
        return LAYER_FAIL(DN_ERR_RANGE, "crop_width", "crop %d x %d must fit in the input %d x %d", cw, ch, l->w, l->h);
    l->out_w = cw;
    l->out_h = ch;
    l->out_c = l->c;
    l->spatial = 1;
    (void)net;
    return layer_alloc_output(l);
}

static void crop_forward(dn_layer *l, const dn_run *r)
{
    crop *p = l->priv;
    const float scale = p->noadjust ? 1.f : 2.f, trans = p->noadjust ? 0.f : -1.f;
    const int dh = (l->h - l->out_h) / 2, dw = (l->w - l->out_w) / 2;
    float *o = l->output;
    for (int bc = 0; bc < l->batch * l->c; bc++)
        for (int i = 0; i < l->out_h; i++) {
            const float *in = r->input + ((size_t)bc * l->h + i + dh) * l->w + dw;
            for (int j = 0; j < l->out_w; j++) *o++ = in[j] * scale + trans;
        }
}

static void crop_backward(dn_layer *l, const dn_run *r)
{
    if (!r->input_delta) return;
    crop *p = l->priv;
    const float scale = p->noadjust ? 1.f : 2.f;
    const int dh = (l->h - l->out_h) / 2, dw = (l->w - l->out_w) / 2;
    for (int dc = 0; dc < r->dbatch * l->c; dc++)
        for (int i = 0; i < l->out_h; i++) {
            float *din = r->input_delta + ((size_t)dc * l->h + i + dh) * l->w + dw;
            const float *dl = l->delta + ((size_t)dc * l->out_h + i) * l->out_w;
            for (int j = 0; j < l->out_w; j++) din[j] += scale * dl[j];
        }
}

static void crop_describe(const dn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "Crop Layer: %d x %d -> %d x %d x %d image", l->h, l->w, l->out_h, l->out_w, l->out_c);
}

static void crop_destroy(dn_layer *l)
{
    dn_free(l->priv);
    l->priv = NULL;
}

const dn_layer_ops dn_crop_ops = {
    .name = "crop",
    .create = crop_create,
    .forward = crop_forward,
    .backward = crop_backward,
    .describe = crop_describe,
    .destroy = crop_destroy,
};
