/* dropout.c - [dropout] and [cost]: identity at inference (dropout keeps its own copy rather
 * than aliasing its neighbour's buffer; [cost] passes its input through so the network's
 * output is the layer before it, as in Darknet). */
#include "layer_util.h"

static dn_status passthrough_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    float prob;
    GET_FLOAT("probability", .5f, &prob);
    if (!strcmp(s->type, "dropout") && (prob < 0 || prob >= 1))
        return LAYER_FAIL(DN_ERR_RANGE, "probability", "probability=%g must be in [0,1)", prob);
    if (!strcmp(s->type, "cost")) {
        const char *t = dn_sec_str(s, "type");
        if (t && strcmp(t, "sse") && strcmp(t, "masked") && strcmp(t, "smooth") && strcmp(t, "L1") &&
            strcmp(t, "seg") && strcmp(t, "wgan"))
            return LAYER_FAIL(DN_ERR_PARSE, "type", "unknown cost type '%s'", t);
        float unused;
        GET_FLOAT("scale", 1, &unused);
        GET_FLOAT("ratio", 0, &unused);
        GET_FLOAT("noobject_scale", 1, &unused);
        GET_FLOAT("thresh", 0, &unused);
    }
    int unused_i;
    GET_INT("dropblock", 0, &unused_i);
    GET_FLOAT("dropblock_size_rel", 0, &prob);
    GET_INT("dropblock_size_abs", 0, &unused_i);
    l->out_w = l->w;
    l->out_h = l->h;
    l->out_c = l->c;
    l->spatial = l->out_w > 1 || l->out_h > 1;
    (void)net;
    return layer_alloc_output(l);
}

static void passthrough_forward(dn_layer *l, const dn_run *r)
{
    memcpy(l->output, r->input, (size_t)l->batch * l->outputs * sizeof(float));
}

static void passthrough_backward(dn_layer *l, const dn_run *r)
{
    if (r->input_delta) dn_axpy((size_t)r->dbatch * l->inputs, 1.f, l->delta, r->input_delta);
}

static void dropout_describe(const dn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "dropout                                %4d  ->  %4d", l->inputs, l->outputs);
}

static void cost_describe(const dn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "cost                                           %4d", l->inputs);
}

const dn_layer_ops dn_dropout_ops = {
    .name = "dropout",
    .create = passthrough_create,
    .forward = passthrough_forward,
    .backward = passthrough_backward,
    .describe = dropout_describe,
};

const dn_layer_ops dn_cost_ops = {
    .name = "cost",
    .create = passthrough_create,
    .forward = passthrough_forward,
    .backward = passthrough_backward,
    .describe = cost_describe,
};
