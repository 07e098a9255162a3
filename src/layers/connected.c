/* connected.c - [connected]: fully connected layer, y = act(W x + b) with W (outputs, inputs).
 * Weights file order: biases, weights (transposed when the header's major or minor > 1000),
 * then scales, rolling mean, rolling variance when batch_normalize (folded at load, as conv). */
#include "layer_util.h"

#define BN_EPS .00001f /* as convolutional.c */

typedef struct connected {
    int n, batch_normalize;
    dn_activation act;
    float *weights; /* (n, inputs) */
    float *biases, *scales, *rolling_mean, *rolling_variance; /* (n) */
    float *fscale, *fshift; /* (n) folded batch-norm + bias */
    float *x;       /* (batch, n) pre-activation when the activation needs it */
    /* training */
    float *weight_updates;                /* (n, inputs) */
    float *bias_updates, *scale_updates;  /* (n) */
    float *bn_x, *x_norm;                 /* (batch, n) */
    float *mean, *variance;               /* (n) */
} connected;

static void connected_fold(dn_layer *l)
{
    connected *p = l->priv;
    for (int k = 0; k < p->n; k++) {
        if (p->batch_normalize) {
            /* a (slightly) negative stored variance, seen in public weights, counts as 0 */
            float v = p->rolling_variance[k] > 0 ? p->rolling_variance[k] : 0.f;
            float s = p->scales[k] / sqrtf(v + BN_EPS);
            p->fscale[k] = s;
            p->fshift[k] = p->biases[k] - p->rolling_mean[k] * s;
        } else {
            p->fscale[k] = 1.f;
            p->fshift[k] = p->biases[k];
        }
    }
}

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
    p->biases = dn_alloc_floats((size_t)p->n, "biases", l->index);
    p->fscale = dn_alloc_floats((size_t)p->n, "scales", l->index);
    p->fshift = dn_alloc_floats((size_t)p->n, "shift", l->index);
    if (!p->weights || !p->biases || !p->fscale || !p->fshift) return DN_ERR_NOMEM;
    if (p->batch_normalize) {
        p->scales = dn_alloc_floats((size_t)p->n, "scales", l->index);
        p->rolling_mean = dn_alloc_floats((size_t)p->n, "mean", l->index);
        p->rolling_variance = dn_alloc_floats((size_t)p->n, "variance", l->index);
        if (!p->scales || !p->rolling_mean || !p->rolling_variance) return DN_ERR_NOMEM;
        dn_fill(p->scales, (size_t)p->n, 1.f);
        dn_fill(p->rolling_variance, (size_t)p->n, 1.f);
    }
    if (dn_activation_needs_input(p->act)) {
        p->x = dn_alloc_floats((size_t)l->batch * p->n, "x", l->index);
        if (!p->x) return DN_ERR_NOMEM;
    }
    connected_fold(l);
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
        /* batch statistics over the batch (see convolutional.c) */
        memcpy(p->bn_x, l->output, (size_t)l->batch * p->n * sizeof(float));
        for (int k = 0; k < p->n; k++) {
            double sum = 0, sq = 0;
            for (int b = 0; b < l->batch; b++) sum += l->output[(size_t)b * p->n + k];
            double mean = sum / l->batch;
            for (int b = 0; b < l->batch; b++) {
                double dlt = l->output[(size_t)b * p->n + k] - mean;
                sq += dlt * dlt;
            }
            double var = l->batch > 1 ? sq / (l->batch - 1) : 0;
            p->mean[k] = (float)mean;
            p->variance[k] = (float)var;
            p->rolling_mean[k] = .99f * p->rolling_mean[k] + .01f * (float)mean;
            p->rolling_variance[k] = .99f * p->rolling_variance[k] + .01f * (float)var;
            float inv = 1.f / sqrtf((float)var + BN_EPS);
            for (int b = 0; b < l->batch; b++) {
                size_t i = (size_t)b * p->n + k;
                p->x_norm[i] = (l->output[i] - (float)mean) * inv;
                l->output[i] = p->x_norm[i] * p->scales[k] + p->biases[k];
            }
        }
        for (int b = 0; b < l->batch; b++) {
            float *o = l->output + (size_t)b * p->n;
            if (p->x) memcpy(p->x + (size_t)b * p->n, o, (size_t)p->n * sizeof(float));
            dn_activate(NULL, o, (size_t)p->n, p->act);
        }
        connected_fold(l);
        return;
    }
    for (int b = 0; b < l->batch; b++) {
        float *o = l->output + (size_t)b * p->n;
        for (int k = 0; k < p->n; k++) o[k] = o[k] * p->fscale[k] + p->fshift[k];
        if (p->x) memcpy(p->x + (size_t)b * p->n, o, (size_t)p->n * sizeof(float));
        dn_activate(NULL, o, (size_t)p->n, p->act);
    }
}

static void connected_backward_train(dn_layer *l, const dn_run *r)
{
    connected *p = l->priv;
    for (int b = 0; b < l->batch; b++)
        dn_gradient(l->output + (size_t)b * p->n, p->x ? p->x + (size_t)b * p->n : NULL, (size_t)p->n, p->act,
                    l->delta + (size_t)b * p->n);
    for (int k = 0; k < p->n; k++) {
        double sd = 0, sdx = 0;
        for (int b = 0; b < l->batch; b++) {
            size_t i = (size_t)b * p->n + k;
            sd += l->delta[i];
            if (p->batch_normalize) sdx += l->delta[i] * p->x_norm[i];
        }
        p->bias_updates[k] += (float)sd;
        if (!p->batch_normalize) continue;
        p->scale_updates[k] += (float)sdx;
        const float sc = p->scales[k], s_ = sqrtf(p->variance[k] + BN_EPS);
        const double M = l->batch > 1 ? l->batch - 1 : 1;
        double gm = sd * sc / l->batch, gx = 0;
        for (int b = 0; b < l->batch; b++) {
            size_t i = (size_t)b * p->n + k;
            gx += l->delta[i] * sc * (p->bn_x[i] - p->mean[k]);
        }
        double coef = gx / ((double)s_ * s_ * s_ * M);
        for (int b = 0; b < l->batch; b++) {
            size_t i = (size_t)b * p->n + k;
            l->delta[i] = (float)((l->delta[i] * sc - gm) / s_ - (p->bn_x[i] - p->mean[k]) * coef);
        }
    }
    /* dW (n, inputs) += delta^T (n, batch) * input (batch, inputs) */
    dn_gemm(r->net->pool, 1, 0, p->n, l->inputs, l->batch, 1.f, l->delta, p->n, r->input, l->inputs, 1.f,
            p->weight_updates, l->inputs);
    if (r->input_delta)
        dn_gemm(r->net->pool, 0, 0, l->batch, l->inputs, p->n, 1.f, l->delta, p->n, p->weights, l->inputs, 1.f,
                r->input_delta, l->inputs);
}

static dn_status connected_train_prepare(dn_layer *l)
{
    connected *p = l->priv;
    if (p->weight_updates) return DN_OK;
    p->weight_updates = dn_alloc_floats((size_t)p->n * l->inputs, "weight updates", l->index);
    p->bias_updates = dn_alloc_floats((size_t)p->n, "bias updates", l->index);
    if (!p->weight_updates || !p->bias_updates) return DN_ERR_NOMEM;
    if (p->batch_normalize) {
        p->scale_updates = dn_alloc_floats((size_t)p->n, "scale updates", l->index);
        p->bn_x = dn_alloc_floats((size_t)l->batch * p->n, "bn x", l->index);
        p->x_norm = dn_alloc_floats((size_t)l->batch * p->n, "x_norm", l->index);
        p->mean = dn_alloc_floats((size_t)p->n, "mean", l->index);
        p->variance = dn_alloc_floats((size_t)p->n, "variance", l->index);
        if (!p->scale_updates || !p->bn_x || !p->x_norm || !p->mean || !p->variance) return DN_ERR_NOMEM;
    }
    return DN_OK;
}

static void connected_update(dn_layer *l, const dn_update *u)
{
    connected *p = l->priv;
    const float lr = u->learning_rate / u->batch;
    for (int k = 0; k < p->n; k++) {
        p->biases[k] += lr * p->bias_updates[k];
        p->bias_updates[k] *= u->momentum;
        if (p->batch_normalize) {
            p->scales[k] += lr * p->scale_updates[k];
            p->scale_updates[k] *= u->momentum;
        }
    }
    size_t nw = (size_t)p->n * l->inputs;
    for (size_t i = 0; i < nw; i++) {
        p->weight_updates[i] -= u->decay * u->batch * p->weights[i];
        p->weights[i] += lr * p->weight_updates[i];
        p->weight_updates[i] *= u->momentum;
    }
    connected_fold(l);
}

static void connected_backward(dn_layer *l, const dn_run *r)
{
    connected *p = l->priv;
    if (r->train) {
        connected_backward_train(l, r);
        return;
    }
    for (int d = 0; d < r->dbatch; d++) {
        int b = d % l->batch;
        float *dl = l->delta + (size_t)d * p->n;
        dn_gradient(l->output + (size_t)b * p->n, p->x ? p->x + (size_t)b * p->n : NULL, (size_t)p->n,
                    p->act, dl);
        for (int k = 0; k < p->n; k++) dl[k] *= p->fscale[k];
    }
    if (r->input_delta)
        dn_gemm(r->net->pool, 0, 0, r->dbatch, l->inputs, p->n, 1.f, l->delta, p->n, p->weights,
                l->inputs, 1.f, r->input_delta, l->inputs);
}

static dn_status connected_load(dn_layer *l, dn_wreader *r)
{
    connected *p = l->priv;
    size_t nw = (size_t)p->n * l->inputs;
    dn_status st = dn_wread(r, p->biases, (size_t)p->n);
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
    if (st == DN_OK && p->batch_normalize) {
        if ((st = dn_wread(r, p->scales, (size_t)p->n)) == DN_OK &&
            (st = dn_wread(r, p->rolling_mean, (size_t)p->n)) == DN_OK)
            st = dn_wread(r, p->rolling_variance, (size_t)p->n);
    }
    connected_fold(l);
    return st;
}

static dn_status connected_save(const dn_layer *l, FILE *f)
{
    const connected *p = l->priv;
    dn_status st = layer_write(f, p->biases, (size_t)p->n);
    if (st == DN_OK) st = layer_write(f, p->weights, (size_t)p->n * l->inputs);
    if (st == DN_OK && p->batch_normalize) {
        if ((st = layer_write(f, p->scales, (size_t)p->n)) == DN_OK &&
            (st = layer_write(f, p->rolling_mean, (size_t)p->n)) == DN_OK)
            st = layer_write(f, p->rolling_variance, (size_t)p->n);
    }
    return st;
}

static void connected_randomize(dn_layer *l, uint64_t *rng)
{
    connected *p = l->priv;
    layer_rand_normal(rng, p->weights, (size_t)p->n * l->inputs, 0.f, sqrtf(1.f / (float)l->inputs));
    layer_rand_normal(rng, p->biases, (size_t)p->n, 0.f, .1f);
    if (p->batch_normalize) {
        layer_rand_uniform(rng, p->scales, (size_t)p->n, .5f, 1.5f);
        layer_rand_normal(rng, p->rolling_mean, (size_t)p->n, 0.f, .1f);
        layer_rand_uniform(rng, p->rolling_variance, (size_t)p->n, .5f, 1.5f);
    }
    connected_fold(l);
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
    dn_free(p->biases);
    dn_free(p->scales);
    dn_free(p->rolling_mean);
    dn_free(p->rolling_variance);
    dn_free(p->fscale);
    dn_free(p->fshift);
    dn_free(p->x);
    dn_free(p->weight_updates);
    dn_free(p->bias_updates);
    dn_free(p->scale_updates);
    dn_free(p->bn_x);
    dn_free(p->x_norm);
    dn_free(p->mean);
    dn_free(p->variance);
    dn_free(p);
    l->priv = NULL;
}

void dn_connected_refold(dn_layer *l)
{
    if (l->ops->forward == connected_forward) connected_fold(l);
}

int dn_connected_train_params(dn_layer *l, dn_param *out)
{
    if (l->ops->forward != connected_forward) return 0;
    connected *p = l->priv;
    int k = 0;
    out[k++] = (dn_param){"weights", p->weights, p->weight_updates, (size_t)p->n * l->inputs};
    out[k++] = (dn_param){"biases", p->biases, p->bias_updates, (size_t)p->n};
    if (p->batch_normalize) out[k++] = (dn_param){"scales", p->scales, p->scale_updates, (size_t)p->n};
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
