/* scale_channels.c - [scale_channels] from=-N: out = layer[from] (c, h, w) * prev (c, 1, 1), one
 * factor per channel: the excitation step of squeeze-and-excitation blocks (AlexeyAB). */
#include "layer_util.h"

typedef struct scale_channels {
    int from;
    dn_activation act;
} scale_channels;

static dn_status sc_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    scale_channels *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    int from;
    GET_INT("from", 0, &from);
    if (!dn_sec_str(s, "from")) return LAYER_FAIL(DN_ERR_PARSE, NULL, "[scale_channels] needs from=");
    int idx = dn_layer_ref(cfg, s, "from", from, l->index);
    if (idx < 0) return DN_ERR_RANGE;
    p->from = idx;
    int scale_wh;
    GET_INT("scale_wh", 0, &scale_wh);
    if (scale_wh) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "scale_wh", "scale_wh=1 is not supported");
    dn_status st = layer_activation(cfg, s, l, "linear", &p->act);
    if (st != DN_OK) return st;
    if (p->act != DN_ACT_LINEAR)
        return LAYER_FAIL(DN_ERR_UNSUPPORTED, "activation", "only a linear activation is supported");
    const dn_layer *src = &net->layers[idx];
    if (l->c != src->out_c || l->w * l->h != 1)
        return LAYER_FAIL(DN_ERR_RANGE, "from",
                          "the previous layer (%d x %d x %d) must be 1 x 1 x %d to scale layer %d's channels",
                          l->w, l->h, l->c, src->out_c, idx);
    l->out_w = src->out_w;
    l->out_h = src->out_h;
    l->out_c = src->out_c;
    l->spatial = l->out_w > 1 || l->out_h > 1;
    return layer_alloc_output(l);
}

static void sc_forward(dn_layer *l, const dn_run *r)
{
    scale_channels *p = l->priv;
    const dn_layer *src = &r->net->layers[p->from];
    const int hw = l->out_w * l->out_h;
    for (int b = 0; b < l->batch; b++)
        for (int k = 0; k < l->out_c; k++) {
            const float f = r->input[(size_t)b * l->inputs + k];
            const float *a = src->output + (size_t)b * src->outputs + (size_t)k * hw;
            float *o = l->output + (size_t)b * l->outputs + (size_t)k * hw;
            for (int i = 0; i < hw; i++) o[i] = a[i] * f;
        }
}

static void sc_backward(dn_layer *l, const dn_run *r)
{
    scale_channels *p = l->priv;
    const dn_layer *src = &r->net->layers[p->from];
    float *sd = dn_run_delta(r, r->net->layers, p->from);
    const int hw = l->out_w * l->out_h;
    for (int d = 0; d < r->dbatch; d++) {
        int b = d % l->batch;
        for (int k = 0; k < l->out_c; k++) {
            const float f = r->input[(size_t)b * l->inputs + k];
            const float *a = src->output + (size_t)b * src->outputs + (size_t)k * hw;
            const float *dl = l->delta + (size_t)d * l->outputs + (size_t)k * hw;
            if (r->input_delta) {
                float g = 0;
                for (int i = 0; i < hw; i++) g += dl[i] * a[i];
                r->input_delta[(size_t)d * l->inputs + k] += g;
            }
            if (sd) {
                float *s = sd + (size_t)d * src->outputs + (size_t)k * hw;
                for (int i = 0; i < hw; i++) s[i] += dl[i] * f;
            }
        }
    }
}

static void sc_describe(const dn_layer *l, char *buf, size_t n)
{
    const scale_channels *p = l->priv;
    snprintf(buf, n, "scale Layer: %d                       ->  %4d x%4d x%4d", p->from, l->out_w, l->out_h, l->out_c);
}

static void sc_destroy(dn_layer *l)
{
    dn_free(l->priv);
    l->priv = NULL;
}

const dn_layer_ops dn_scale_channels_ops = {
    .name = "scale_channels",
    .create = sc_create,
    .forward = sc_forward,
    .backward = sc_backward,
    .describe = sc_describe,
    .destroy = sc_destroy,
};
