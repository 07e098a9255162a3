/* avgpool.c - [avgpool]: global average over each channel's map (Darknet's avgpool is global:
 * output 1 x 1 x c). */
#include "layer_util.h"

static dn_status avgpool_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    l->out_w = l->out_h = 1;
    l->out_c = l->c;
    (void)net;
    (void)cfg;
    (void)s;
    return layer_alloc_output(l);
}

static void avgpool_forward(dn_layer *l, const dn_run *r)
{
    const int hw = l->h * l->w;
    for (int bc = 0; bc < l->batch * l->c; bc++) {
        const float *in = r->input + (size_t)bc * hw;
        float sum = 0;
        for (int i = 0; i < hw; i++) sum += in[i];
        l->output[bc] = sum / hw;
    }
}

static void avgpool_backward(dn_layer *l, const dn_run *r)
{
    if (!r->input_delta) return;
    const int hw = l->h * l->w;
    for (int dc = 0; dc < r->dbatch * l->c; dc++) {
        float g = l->delta[dc] / hw;
        float *din = r->input_delta + (size_t)dc * hw;
        for (int i = 0; i < hw; i++) din[i] += g;
    }
}

static void avgpool_describe(const dn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "avg                     %4d x%4d x%4d   ->  %4d", l->w, l->h, l->c, l->out_c);
}

const dn_layer_ops dn_avgpool_ops = {
    .name = "avgpool",
    .create = avgpool_create,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .describe = avgpool_describe,
};
