/* batchnorm.c - the batch normalisation shared by [convolutional] and [connected]: inference
 * constants folded into a per-channel scale and shift, training with batch statistics (unbiased
 * variance, rolling averages with momentum .99, x_hat = (x - mean) / sqrt(var + 1e-5): AlexeyAB's
 * epsilon), its exact backward pass, and Darknet's SGD update. Without batch_normalize only the
 * biases are used. Layout everywhere: (batch, n, spatial) with `stride` floats per image. */
#include "layer_util.h"

dn_status dn_bn_create(dn_bn *b, int n, int on, int layer)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->on = on;
    b->biases = dn_alloc_floats((size_t)n, "biases", layer);
    b->fscale = dn_alloc_floats((size_t)n, "scales", layer);
    b->fshift = dn_alloc_floats((size_t)n, "shift", layer);
    if (!b->biases || !b->fscale || !b->fshift) return DN_ERR_NOMEM;
    if (on) {
        b->scales = dn_alloc_floats((size_t)n, "scales", layer);
        b->rolling_mean = dn_alloc_floats((size_t)n, "mean", layer);
        b->rolling_variance = dn_alloc_floats((size_t)n, "variance", layer);
        if (!b->scales || !b->rolling_mean || !b->rolling_variance) return DN_ERR_NOMEM;
        dn_fill(b->scales, (size_t)n, 1.f);
        dn_fill(b->rolling_variance, (size_t)n, 1.f);
    }
    dn_bn_fold(b);
    return DN_OK;
}

dn_status dn_bn_train_prepare(dn_bn *b, size_t total, int layer)
{
    if (b->bias_updates) return DN_OK;
    b->bias_updates = dn_alloc_floats((size_t)b->n, "bias updates", layer);
    if (!b->bias_updates) return DN_ERR_NOMEM;
    if (!b->on) return DN_OK;
    b->scale_updates = dn_alloc_floats((size_t)b->n, "scale updates", layer);
    b->mean = dn_alloc_floats((size_t)b->n, "mean", layer);
    b->variance = dn_alloc_floats((size_t)b->n, "variance", layer);
    b->bn_x = dn_alloc_floats(total, "bn x", layer);
    b->x_norm = dn_alloc_floats(total, "x_norm", layer);
    return b->scale_updates && b->mean && b->variance && b->bn_x && b->x_norm ? DN_OK : DN_ERR_NOMEM;
}

void dn_bn_free(dn_bn *b)
{
    dn_free(b->biases), dn_free(b->scales), dn_free(b->rolling_mean), dn_free(b->rolling_variance);
    dn_free(b->fscale), dn_free(b->fshift), dn_free(b->bias_updates), dn_free(b->scale_updates);
    dn_free(b->mean), dn_free(b->variance), dn_free(b->bn_x), dn_free(b->x_norm);
    memset(b, 0, sizeof *b);
}

void dn_bn_fold(dn_bn *b)
{
    for (int k = 0; k < b->n; k++) {
        if (b->on) {
            /* a (slightly) negative stored variance, seen in public weights, counts as 0 */
            float v = b->rolling_variance[k] > 0 ? b->rolling_variance[k] : 0.f;
            float s = b->scales[k] / sqrtf(v + DN_BN_EPS);
            b->fscale[k] = s;
            b->fshift[k] = b->biases[k] - b->rolling_mean[k] * s;
        } else {
            b->fscale[k] = 1.f;
            b->fshift[k] = b->biases[k];
        }
    }
}

/* Sums of a row in 8 float lanes (vectorised; the rows of a channel add up in double). */
static float row_sum(const float *x, int n)
{
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[j + l];
    float s = 0;
    for (; j < n; j++) s += x[j];
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

static float row_sq_dev(const float *x, int n, float m)
{
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += (x[j + l] - m) * (x[j + l] - m);
    float s = 0;
    for (; j < n; j++) s += (x[j] - m) * (x[j] - m);
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

/* sum of x * (y - m) */
static float row_dot(const float *x, const float *y, int n, float m)
{
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[j + l] * (y[j + l] - m);
    float s = 0;
    for (; j < n; j++) s += x[j] * (y[j] - m);
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

typedef struct bn_job {
    dn_bn *b;
    float *data, *x; /* out (forward) or delta (backward); forward: the pre-activation copy */
    int batch, spatial;
    size_t stride;
    dn_activation act;
} bn_job;

/* Forward for channels [lo, hi) of the pool's split: batch statistics, x_hat, scale and shift,
   the copies the backward pass needs, the activation. */
static void bn_forward_task(void *ctx, int ith, int nth)
{
    const bn_job *j = ctx;
    dn_bn *b = j->b;
    const int batch = j->batch, spatial = j->spatial;
    const size_t N = (size_t)batch * spatial;
    int lo, hi;
    dn_split(b->n, ith, nth, &lo, &hi);
    for (int k = lo; k < hi; k++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < batch; i++) sum += row_sum(j->data + i * j->stride + (size_t)k * spatial, spatial);
        const double mean = sum / N;
        for (int i = 0; i < batch; i++) sq += row_sq_dev(j->data + i * j->stride + (size_t)k * spatial, spatial, (float)mean);
        const double var = N > 1 ? sq / (N - 1) : 0;
        b->mean[k] = (float)mean;
        b->variance[k] = (float)var;
        b->rolling_mean[k] = .99f * b->rolling_mean[k] + .01f * (float)mean;
        b->rolling_variance[k] = .99f * b->rolling_variance[k] + .01f * (float)var;
        const float inv = 1.f / sqrtf((float)var + DN_BN_EPS), m = (float)mean, sc = b->scales[k], bi = b->biases[k];
        for (int i = 0; i < batch; i++) {
            const size_t off = i * j->stride + (size_t)k * spatial;
            float *restrict o = j->data + off, *restrict xn = b->x_norm + off, *restrict bx = b->bn_x + off;
            /* the input copy in the normalising pass; the pre-activation copy and the activation
               then find the row in cache */
            for (int q = 0; q < spatial; q++) {
                const float v = o[q], n = (v - m) * inv;
                bx[q] = v;
                xn[q] = n;
                o[q] = n * sc + bi;
            }
            if (j->x) memcpy(j->x + off, o, (size_t)spatial * sizeof(float));
            dn_activate(NULL, o, (size_t)spatial, j->act);
        }
    }
}

void dn_bn_train_forward(dn_pool *pool, dn_bn *b, float *out, int batch, int spatial, size_t stride, float *x,
                         dn_activation act)
{
    bn_job j = {b, out, x, batch, spatial, stride, act};
    dn_pool_run((size_t)batch * stride > 8192 ? pool : NULL, bn_forward_task, &j);
    dn_bn_fold(b); /* inference constants follow the rolling statistics */
}

static void bn_backward_task(void *ctx, int ith, int nth)
{
    const bn_job *j = ctx;
    dn_bn *b = j->b;
    const int batch = j->batch, spatial = j->spatial;
    const size_t N = (size_t)batch * spatial;
    int lo, hi;
    dn_split(b->n, ith, nth, &lo, &hi);
    for (int k = lo; k < hi; k++) {
        const float mu = b->on ? b->mean[k] : 0.f;
        double sd = 0, sdx = 0, gx = 0;
        for (int i = 0; i < batch; i++) { /* the three sums in one pass over the rows */
            const size_t off = i * j->stride + (size_t)k * spatial;
            sd += row_sum(j->data + off, spatial);
            if (!b->on) continue;
            sdx += row_dot(j->data + off, b->x_norm + off, spatial, 0.f);
            gx += row_dot(j->data + off, b->bn_x + off, spatial, mu);
        }
        b->bias_updates[k] += (float)sd;
        if (!b->on) continue;
        b->scale_updates[k] += (float)sdx;
        /* g = delta * scale is dLoss/dx_hat, s = sqrt(v + eps):
           dx = (g - mean(g)) / s - (x - mu) sum(g (x - mu)) / (s^3 (N - 1)) */
        const float sc = b->scales[k], s_ = sqrtf(b->variance[k] + DN_BN_EPS);
        const double M = N > 1 ? (double)(N - 1) : 1.0;
        gx *= sc;
        const float gm = (float)(sd * sc / N), coef = (float)(gx / ((double)s_ * s_ * s_ * M)), inv = 1.f / s_;
        for (int i = 0; i < batch; i++) {
            const size_t off = i * j->stride + (size_t)k * spatial;
            float *dk = j->data + off;
            const float *xx = b->bn_x + off;
            for (int q = 0; q < spatial; q++) dk[q] = (dk[q] * sc - gm) * inv - (xx[q] - mu) * coef;
        }
    }
}

void dn_bn_train_backward(dn_pool *pool, dn_bn *b, float *delta, int batch, int spatial, size_t stride)
{
    bn_job j = {b, delta, NULL, batch, spatial, stride, DN_ACT_LINEAR};
    dn_pool_run((size_t)batch * stride > 8192 ? pool : NULL, bn_backward_task, &j);
}

void dn_bn_update(dn_bn *b, const dn_update *u)
{
    const float lr = u->learning_rate / u->batch;
    for (int k = 0; k < b->n; k++) {
        b->biases[k] += lr * b->bias_updates[k];
        b->bias_updates[k] *= u->momentum;
        if (b->on) {
            b->scales[k] += lr * b->scale_updates[k];
            b->scale_updates[k] *= u->momentum;
        }
    }
}

void dn_sgd_update(float *w, float *dw, size_t n, const dn_update *u)
{
    const float lr = u->learning_rate / u->batch;
    for (size_t i = 0; i < n; i++) {
        dw[i] -= u->decay * u->batch * w[i];
        w[i] += lr * dw[i];
        dw[i] *= u->momentum;
    }
}

dn_status dn_bn_load_stats(dn_bn *b, dn_wreader *r)
{
    dn_status st = DN_OK;
    if (b->on && (st = dn_wread(r, b->scales, (size_t)b->n)) == DN_OK &&
        (st = dn_wread(r, b->rolling_mean, (size_t)b->n)) == DN_OK)
        st = dn_wread(r, b->rolling_variance, (size_t)b->n);
    return st;
}

dn_status dn_bn_save_stats(const dn_bn *b, FILE *f)
{
    dn_status st = DN_OK;
    if (b->on && (st = layer_write(f, b->scales, (size_t)b->n)) == DN_OK &&
        (st = layer_write(f, b->rolling_mean, (size_t)b->n)) == DN_OK)
        st = layer_write(f, b->rolling_variance, (size_t)b->n);
    return st;
}

void dn_bn_randomize(dn_bn *b, uint64_t *rng)
{
    layer_rand_normal(rng, b->biases, (size_t)b->n, 0.f, .1f);
    if (b->on) {
        layer_rand_uniform(rng, b->scales, (size_t)b->n, .5f, 1.5f);
        layer_rand_normal(rng, b->rolling_mean, (size_t)b->n, 0.f, .1f);
        layer_rand_uniform(rng, b->rolling_variance, (size_t)b->n, .5f, 1.5f);
    }
    dn_bn_fold(b);
}
