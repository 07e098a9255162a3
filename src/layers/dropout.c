/* dropout.c - [dropout] and [cost]: identity at inference (dropout keeps its own copy rather
 * than aliasing its neighbour's buffer; [cost] passes its input through so the network's
 * output is the layer before it, as in Darknet). Training: dropout masks and rescales; the
 * classifier's loss lives in [softmax], so [cost] stays a pass-through. */
#include "layer_util.h"

typedef struct dropout {
    float prob;
    float *rand; /* (batch, inputs) training mask draws */
} dropout;

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
    if (!strcmp(s->type, "dropout")) {
        dropout *p = dn_calloc(1, sizeof *p);
        if (!p) return DN_ERR_NOMEM;
        GET_FLOAT("probability", .5f, &p->prob);
        l->priv = p;
    }
    (void)net;
    return layer_alloc_output(l);
}

static dn_status dropout_train_prepare(dn_layer *l)
{
    dropout *p = l->priv;
    if (!p->rand) p->rand = dn_alloc_floats((size_t)l->batch * l->inputs, "dropout mask", l->index);
    return p->rand ? DN_OK : DN_ERR_NOMEM;
}

/* Training: each input is dropped with probability p, the rest scaled by 1/(1-p). */
static void dropout_forward(dn_layer *l, const dn_run *r)
{
    dropout *p = l->priv;
    if (!r->train || !p->rand || p->prob <= 0) {
        memcpy(l->output, r->input, (size_t)l->batch * l->outputs * sizeof(float));
        return;
    }
    const float scale = 1.f / (1.f - p->prob);
    for (size_t i = 0; i < (size_t)l->batch * l->inputs; i++) {
        p->rand[i] = dn_rng_uniform(&r->net->rng);
        l->output[i] = p->rand[i] < p->prob ? 0.f : r->input[i] * scale;
    }
}

static void dropout_backward(dn_layer *l, const dn_run *r)
{
    dropout *p = l->priv;
    if (!r->input_delta) return;
    if (!r->train || !p->rand || p->prob <= 0) {
        dn_axpy((size_t)r->dbatch * l->inputs, 1.f, l->delta, r->input_delta);
        return;
    }
    const float scale = 1.f / (1.f - p->prob);
    for (size_t i = 0; i < (size_t)l->batch * l->inputs; i++)
        if (p->rand[i] >= p->prob) r->input_delta[i] += l->delta[i] * scale;
}

static void dropout_destroy(dn_layer *l)
{
    dropout *p = l->priv;
    if (p) dn_free(p->rand);
    dn_free(p);
    l->priv = NULL;
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
    .forward = dropout_forward,
    .backward = dropout_backward,
    .describe = dropout_describe,
    .destroy = dropout_destroy,
    .train_prepare = dropout_train_prepare,
};

const dn_layer_ops dn_cost_ops = {
    .name = "cost",
    .create = passthrough_create,
    .forward = passthrough_forward,
    .backward = passthrough_backward,
    .describe = cost_describe,
};
