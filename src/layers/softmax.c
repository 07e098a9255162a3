/* softmax.c - [softmax]: softmax over `groups` contiguous chunks of the input with a
 * temperature. Backward passes the delta through unchanged, as Darknet does (the delta it
 * receives from [cost] is already the cross-entropy gradient w.r.t. the logits). */
#include "layer_util.h"

#include <float.h>
#include <math.h>

typedef struct softmax {
    int groups;
    float temperature;
} softmax;

static dn_status softmax_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    softmax *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    GET_INT("groups", 1, &p->groups);
    GET_FLOAT("temperature", 1, &p->temperature);
    int spatial;
    GET_INT("spatial", 0, &spatial);
    int noloss;
    GET_INT("noloss", 0, &noloss);
    if (dn_sec_str(s, "tree")) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "tree", "hierarchical softmax (tree) is not supported");
    if (spatial) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "spatial", "spatial softmax is not supported");
    if (p->groups < 1 || l->inputs % p->groups)
        return LAYER_FAIL(DN_ERR_RANGE, "groups", "groups=%d must divide the %d inputs", p->groups, l->inputs);
    if (!(p->temperature > 0)) return LAYER_FAIL(DN_ERR_RANGE, "temperature", "temperature must be positive");
    l->out_w = l->w;
    l->out_h = l->h;
    l->out_c = l->c;
    l->classes = l->inputs / p->groups;
    (void)net;
    return layer_alloc_output(l);
}

static void softmax_forward(dn_layer *l, const dn_run *r)
{
    softmax *p = l->priv;
    const int gs = l->inputs / p->groups;
    for (int g = 0; g < l->batch * p->groups; g++) {
        const float *in = r->input + (size_t)g * gs;
        float *out = l->output + (size_t)g * gs;
        float largest = -FLT_MAX, sum = 0;
        for (int i = 0; i < gs; i++)
            if (in[i] > largest) largest = in[i];
        for (int i = 0; i < gs; i++) {
            float e = expf(in[i] / p->temperature - largest / p->temperature);
            sum += e;
            out[i] = e;
        }
        for (int i = 0; i < gs; i++) out[i] /= sum;
    }
    /* training: cross-entropy against the one-hot truth; delta (Darknet's sign, -dLoss/dlogit)
       = truth - p, passed unchanged to the logits by the backward pass */
    const float *truth = r->net->truth;
    if (r->train && truth && r->net->truth_size == l->inputs) {
        double cost = 0;
        for (size_t i = 0; i < (size_t)l->batch * l->inputs; i++) {
            l->delta[i] = truth[i] - l->output[i];
            if (truth[i] > 0) cost -= truth[i] * log(l->output[i] > 1e-30f ? l->output[i] : 1e-30f);
        }
        l->cost = (float)cost;
    }
}

static void softmax_backward(dn_layer *l, const dn_run *r)
{
    if (r->input_delta) dn_axpy((size_t)r->dbatch * l->inputs, 1.f, l->delta, r->input_delta);
}

static void softmax_describe(const dn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "softmax                                        %4d", l->inputs);
}

static void softmax_destroy(dn_layer *l)
{
    dn_free(l->priv);
    l->priv = NULL;
}

const dn_layer_ops dn_softmax_ops = {
    .name = "softmax",
    .create = softmax_create,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .describe = softmax_describe,
    .destroy = softmax_destroy,
};
