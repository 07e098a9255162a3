/* connected.c - [connected]: fully connected layer, y = act(W x + b) with W (outputs, inputs).
 * Weights file order: biases, weights (transposed when the header's major or minor > 1000),
 * then scales, rolling mean, rolling variance when batch_normalize (folded at load, as conv;
 * the batch normalisation itself is batchnorm.c's, with spatial size 1). */
#include "layer_util.h"

typedef struct connected {
    int n, batch_normalize;
    dn_activation act;
    float *weights;        /* (n, inputs) */
    dn_bn bn;              /* biases, batch-norm values, folded scale/shift */
    float *x;              /* (batch, n) pre-activation when the activation needs it */
    float *weight_updates; /* (n, inputs), training */
} connected;

static dn_status connected_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    connected *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    GET_INT("output", 1, &p->n);
    GET_INT("batch_normalize", 0, &p->batch_normalize);
    dn_status st = layer_activation(cfg, s, l, "logistic", &p->act);
    if (st != DN_OK) return st;
    if (p->n < 1 || p->n > (1 << 24))
        return LAYER_FAIL(DN_ERR_RANGE, "output", "output=%d must be in 1..%d", p->n, 1 << 24);
    size_t nw = dn_size_mul((size_t)p->n, (size_t)l->inputs, (size_t)1 << 30);
    if (!nw) return LAYER_FAIL(DN_ERR_RANGE, "output", "%d x %d weights are too many", p->n, l->inputs);
    l->out_w = l->out_h = 1;
    l->out_c = p->n;
    l->nweights = (int)nw + p->n * (p->batch_normalize ? 4 : 1);
    if ((st = layer_alloc_output(l)) != DN_OK) return st;
    p->weights = dn_alloc_floats(nw, "weights", l->index);
    if (!p->weights) return DN_ERR_NOMEM;
    if ((st = dn_bn_create(&p->bn, p->n, p->batch_normalize, l->index)) != DN_OK) return st;
    if (dn_activation_needs_input(p->act)) {
        p->x = dn_alloc_floats((size_t)l->batch * p->n, "x", l->index);
        if (!p->x) return DN_ERR_NOMEM;
    }
    l->bflops = 2.0 * (double)nw / 1e9;
    (void)net;
    return DN_OK;
}

static void connected_forward(dn_layer *l, const dn_run *r)
{
    connected *p = l->priv;
    dn_gemm(r->net->pool, 0, 1, l->batch, p->n, l->inputs, 1.f, r->input, l->inputs, p->weights,
            l->inputs, 0.f, l->output, p->n);
    if (r->train && p->batch_normalize) {
        dn_bn_train_forward(r->net->pool, &p->bn, l->output, l->batch, 1, (size_t)p->n, p->x, p->act);
        return;
    }
    for (int b = 0; b < l->batch; b++) {
        float *o = l->output + (size_t)b * p->n;
        for (int k = 0; k < p->n; k++) o[k] = o[k] * p->bn.fscale[k] + p->bn.fshift[k];
        if (p->x) memcpy(p->x + (size_t)b * p->n, o, (size_t)p->n * sizeof(float));
        dn_activate(NULL, o, (size_t)p->n, p->act);
    }
}

static void connected_backward(dn_layer *l, const dn_run *r)
{
    connected *p = l->priv;
    for (int d = 0; d < r->dbatch; d++) {
        int b = d % l->batch;
        dn_gradient(l->output + (size_t)b * p->n, p->x ? p->x + (size_t)b * p->n : NULL, (size_t)p->n, p->act,
                    l->delta + (size_t)d * p->n);
    }
    if (r->train) {
        /* batch statistics (or the biases alone), then dW (n, inputs) += delta^T input */
        dn_bn_train_backward(r->net->pool, &p->bn, l->delta, l->batch, 1, (size_t)p->n);
        dn_gemm(r->net->pool, 1, 0, p->n, l->inputs, l->batch, 1.f, l->delta, p->n, r->input, l->inputs, 1.f,
                p->weight_updates, l->inputs);
    } else {
        for (int d = 0; d < r->dbatch; d++)
            for (int k = 0; k < p->n; k++) l->delta[(size_t)d * p->n + k] *= p->bn.fscale[k];
    }
    if (r->input_delta)
        dn_gemm(r->net->pool, 0, 0, r->dbatch, l->inputs, p->n, 1.f, l->delta, p->n, p->weights, l->inputs, 1.f,
                r->input_delta, l->inputs);
}

static dn_status connected_train_prepare(dn_layer *l)
{
    connected *p = l->priv;
    if (p->weight_updates) return DN_OK;
    p->weight_updates = dn_alloc_floats((size_t)p->n * l->inputs, "weight updates", l->index);
    if (!p->weight_updates) return DN_ERR_NOMEM;
    return dn_bn_train_prepare(&p->bn, (size_t)l->batch * p->n, l->index);
}

static void connected_update(dn_layer *l, const dn_update *u)
{
    connected *p = l->priv;
    dn_bn_update(&p->bn, u);
    dn_sgd_update(p->weights, p->weight_updates, (size_t)p->n * l->inputs, u);
    dn_bn_fold(&p->bn);
}

static dn_status connected_load(dn_layer *l, dn_wreader *r)
{
    connected *p = l->priv;
    size_t nw = (size_t)p->n * l->inputs;
    dn_status st = dn_wread(r, p->bn.biases, (size_t)p->n);
    if (st == DN_OK) st = dn_wread(r, p->weights, nw);
    if (st == DN_OK && r->transpose) {
        /* stored (inputs, n): transpose into (n, inputs) */
        float *t = dn_malloc(nw * sizeof(float));
        if (!t) return DN_ERR_NOMEM;
        for (int i = 0; i < l->inputs; i++)
            for (int k = 0; k < p->n; k++) t[(size_t)k * l->inputs + i] = p->weights[(size_t)i * p->n + k];
        memcpy(p->weights, t, nw * sizeof(float));
        dn_free(t);
    }
    if (st == DN_OK) st = dn_bn_load_stats(&p->bn, r);
    dn_bn_fold(&p->bn);
    return st;
}

static dn_status connected_save(const dn_layer *l, FILE *f)
{
    const connected *p = l->priv;
    dn_status st = layer_write(f, p->bn.biases, (size_t)p->n);
    if (st == DN_OK) st = layer_write(f, p->weights, (size_t)p->n * l->inputs);
    if (st == DN_OK) st = dn_bn_save_stats(&p->bn, f);
    return st;
}

static void connected_randomize(dn_layer *l, uint64_t *rng)
{
    connected *p = l->priv;
    layer_rand_normal(rng, p->weights, (size_t)p->n * l->inputs, 0.f, sqrtf(1.f / (float)l->inputs));
    dn_bn_randomize(&p->bn, rng);
}

static void connected_describe(const dn_layer *l, char *buf, size_t n)
{
    snprintf(buf, n, "connected                            %4d  ->  %4d", l->inputs, l->outputs);
}

static void connected_destroy(dn_layer *l)
{
    connected *p = l->priv;
    if (!p) return;
    dn_free(p->weights);
    dn_bn_free(&p->bn);
    dn_free(p->x);
    dn_free(p->weight_updates);
    dn_free(p);
    l->priv = NULL;
}

void dn_connected_refold(dn_layer *l)
{
    if (l->ops->forward == connected_forward) dn_bn_fold(&((connected *)l->priv)->bn);
}

int dn_connected_train_params(dn_layer *l, dn_param *out)
{
    if (l->ops->forward != connected_forward) return 0;
    connected *p = l->priv;
    int k = 0;
    out[k++] = (dn_param){"weights", p->weights, p->weight_updates, (size_t)p->n * l->inputs};
    out[k++] = (dn_param){"biases", p->bn.biases, p->bn.bias_updates, (size_t)p->n};
    if (p->batch_normalize) out[k++] = (dn_param){"scales", p->bn.scales, p->bn.scale_updates, (size_t)p->n};
    return k;
}

const dn_layer_ops dn_connected_ops = {
    .name = "connected",
    .create = connected_create,
    .forward = connected_forward,
    .backward = connected_backward,
    .load_weights = connected_load,
    .save_weights = connected_save,
    .randomize = connected_randomize,
    .describe = connected_describe,
    .destroy = connected_destroy,
    .train_prepare = connected_train_prepare,
    .update = connected_update,
};
