/* convolutional.c - [convolutional]: grouped/depthwise 2-D convolution as im2col + GEMM (or a
 * direct depthwise kernel), inference batch-norm folded into a per-channel scale and shift
 * (x_hat = (x - mean) / sqrt(var + 1e-5), AlexeyAB's rule), bias and activation fused in one
 * pass; training with batch statistics and weight gradients. */
#include "layer_util.h"
#include "core/winograd.h"

#include <unistd.h>

typedef struct conv {
    int n, size, stride, pad, groups, batch_normalize;
    dn_bn bn;                /* biases, batch-norm values and their folded form */
    dn_activation act;
    float *weights;          /* (n, c/groups, size, size) */
    float *x;                /* (batch, outputs) pre-activation, when the activation needs it */
    int depthwise;           /* c/groups == 1 and n/groups == 1 */
    /* training (conv_train_prepare) */
    float *weight_updates;   /* (n, c/groups, size, size) */
    /* Winograd F(2x2, 3x3) for 3x3 stride-1 groups-1 layers (core/winograd.c) */
    int wino;                /* eligible */
    float *U;                /* (16, n, c) transformed weights, refreshed by conv_fold */
    size_t wino_scratch;     /* floats per thread */
} conv;


static void conv_fold(dn_layer *l)
{
    conv *p = l->priv;
    if (p->wino) {
        float *U = NULL;
        if (dn_winograd_weights(p->weights, p->n, l->c, &U) == DN_OK) {
            dn_free(p->U);
            p->U = U;
        } else {
            p->wino = 0; /* out of memory: stay on im2col + GEMM */
        }
    }
    dn_bn_fold(&p->bn);
}

static dn_status conv_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    conv *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    int pad_flag, padding, dilation;
    GET_INT("filters", 1, &p->n);
    GET_INT("size", 1, &p->size);
    GET_INT("stride", 1, &p->stride);
    GET_INT("pad", 0, &pad_flag);
    GET_INT("padding", 0, &padding);
    GET_INT("groups", 1, &p->groups);
    GET_INT("batch_normalize", 0, &p->batch_normalize);
    GET_INT("dilation", 1, &dilation);
    int unused_i;
    GET_INT("flipped", 0, &unused_i);
    GET_INT("binary", 0, &unused_i);
    if (unused_i) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "binary", "binary convolutions are not supported");
    GET_INT("xnor", 0, &unused_i);
    if (unused_i) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "xnor", "xnor convolutions are not supported");
    dn_status st = layer_activation(cfg, s, l, "logistic", &p->act);
    if (st != DN_OK) return st;
    if (p->n < 1 || p->n > DN_MAX_FILTERS)
        return LAYER_FAIL(DN_ERR_RANGE, "filters", "filters=%d must be in 1..%d", p->n, DN_MAX_FILTERS);
    if (p->size < 1 || p->size > 64)
        return LAYER_FAIL(DN_ERR_RANGE, "size", "size=%d must be in 1..64", p->size);
    if (p->stride < 1 || p->stride > 64)
        return LAYER_FAIL(DN_ERR_RANGE, "stride", "stride=%d must be in 1..64", p->stride);
    if (dilation != 1)
        return LAYER_FAIL(DN_ERR_UNSUPPORTED, "dilation", "dilation=%d is not supported", dilation);
    if (p->groups < 1 || l->c % p->groups || p->n % p->groups)
        return LAYER_FAIL(DN_ERR_RANGE, "groups",
                          "groups=%d must divide both the input channels (%d) and filters (%d)",
                          p->groups, l->c, p->n);
    if (padding < 0 || padding > 64) return LAYER_FAIL(DN_ERR_RANGE, "padding", "padding=%d out of range", padding);
    p->pad = pad_flag ? p->size / 2 : padding;
    l->out_w = (l->w + 2 * p->pad - p->size) / p->stride + 1;
    l->out_h = (l->h + 2 * p->pad - p->size) / p->stride + 1;
    l->out_c = p->n;
    if (l->w + 2 * p->pad < p->size || l->h + 2 * p->pad < p->size)
        return LAYER_FAIL(DN_ERR_RANGE, "size", "kernel %d is larger than the padded input %d x %d",
                          p->size, l->w, l->h);
    p->depthwise = (l->c / p->groups == 1 && p->n / p->groups == 1);
    size_t cg = (size_t)(l->c / p->groups);
    size_t nw = dn_size_mul(dn_size_mul((size_t)p->n, cg, DN_MAX_FLOATS), (size_t)p->size * p->size,
                            DN_MAX_FLOATS);
    if (!nw || nw > (1u << 30))
        return LAYER_FAIL(DN_ERR_RANGE, "filters", "weights of %d x %zu x %d x %d are too many", p->n,
                          cg, p->size, p->size);
    l->nweights = (int)nw + p->n * (p->batch_normalize ? 4 : 1);
    if ((st = layer_alloc_output(l)) != DN_OK) return st;
    p->weights = dn_alloc_floats(nw, "weights", l->index);
    if (!p->weights) return DN_ERR_NOMEM;
    if ((st = dn_bn_create(&p->bn, p->n, p->batch_normalize, l->index)) != DN_OK) return st;
    if (dn_activation_needs_input(p->act)) {
        p->x = dn_alloc_floats((size_t)l->batch * l->out_c * l->out_h * l->out_w, "x", l->index);
        if (!p->x) return DN_ERR_NOMEM;
    }
    if (!p->depthwise && !(p->size == 1 && p->stride == 1 && p->pad == 0))
        l->workspace = dn_size_mul(cg * p->size * p->size, (size_t)l->out_h * l->out_w, DN_MAX_FLOATS);
    /* Winograd where it pays: 3x3/1, one group, enough channels for its GEMMs (measured about
       2x faster than im2col + GEMM on 128->256 at 52x52 and 256->512 at 26x26) */
    if (p->size == 3 && p->stride == 1 && p->groups == 1 && p->pad <= 1 && l->c >= 8 && p->n >= 16) {
        long nth = sysconf(_SC_NPROCESSORS_ONLN);
        p->wino_scratch = dn_winograd_scratch(l->c, p->n, l->h, l->w, p->pad);
        size_t need = dn_size_mul(p->wino_scratch, (size_t)(nth > 0 ? nth : 1), DN_MAX_FLOATS);
        if (p->wino_scratch && need) {
            p->wino = 1;
            if (need > l->workspace) l->workspace = need;
        }
    }
    conv_fold(l);
    l->bflops = 2.0 * p->n * p->size * p->size * (double)cg * l->out_h * l->out_w / 1e9;
    l->spatial = l->out_w > 1 || l->out_h > 1;
    (void)net;
    return DN_OK;
}

typedef struct conv_post_job {
    dn_layer *l;
    float *out;  /* (n, ohw) of one image */
    float *x;    /* pre-activation copy or NULL */
    const float *in; /* depthwise only: (c, h, w) */
} conv_post_job;

/* Depthwise convolution of channel k: out (oh, ow) = in_k (h, w) * w_k (size, size). */
static void depthwise_channel(const dn_layer *l, const conv *p, const float *in, float *out, int k)
{
    const int ow = l->out_w, oh = l->out_h, s = p->stride, pad = p->pad, ks = p->size;
    const float *wk = p->weights + (size_t)k * ks * ks;
    const float *ik = in + (size_t)k * l->h * l->w;
    float *ok = out + (size_t)k * oh * ow;
    for (int i = 0; i < oh * ow; i++) ok[i] = 0.f;
    for (int kx = 0; kx < ks; kx++) {
        /* valid ox: 0 <= ox*s + kx - pad < w */
        int lo = pad - kx > 0 ? (pad - kx + s - 1) / s : 0;
        int hi = (l->w - 1 + pad - kx);
        hi = hi < 0 ? -1 : hi / s;
        if (hi > ow - 1) hi = ow - 1;
        if (lo > hi) continue;
        for (int oy = 0; oy < oh; oy++) {
            float *orow = ok + (size_t)oy * ow;
            for (int ky = 0; ky < ks; ky++) {
                int iy = oy * s + ky - pad;
                if (iy < 0 || iy >= l->h) continue;
                const float wv = wk[ky * ks + kx];
                const float *irow = ik + (size_t)iy * l->w + kx - pad;
                if (s == 1)
                    for (int ox = lo; ox <= hi; ox++) orow[ox] += wv * irow[ox];
                else
                    for (int ox = lo; ox <= hi; ox++) orow[ox] += wv * irow[ox * s];
            }
        }
    }
}

static void conv_post_task(void *ctx, int ith, int nth)
{
    conv_post_job *j = ctx;
    dn_layer *l = j->l;
    conv *p = l->priv;
    int lo, hi;
    dn_split(p->n, ith, nth, &lo, &hi);
    const int ohw = l->out_h * l->out_w;
    for (int k = lo; k < hi; k++) {
        if (j->in) depthwise_channel(l, p, j->in, j->out, k);
        float *o = j->out + (size_t)k * ohw;
        const float sc = p->bn.fscale[k], sh = p->bn.fshift[k];
        for (int i = 0; i < ohw; i++) o[i] = o[i] * sc + sh;
        if (j->x) memcpy(j->x + (size_t)k * ohw, o, (size_t)ohw * sizeof(float));
        if (p->act == DN_ACT_LEAKY)
            for (int i = 0; i < ohw; i++) o[i] = o[i] > 0 ? o[i] : .1f * o[i];
        else if (p->act == DN_ACT_RELU)
            for (int i = 0; i < ohw; i++) o[i] = o[i] > 0 ? o[i] : 0.f;
        else if (p->act != DN_ACT_LINEAR)
            for (int i = 0; i < ohw; i++) o[i] = dn_activate1(o[i], p->act);
    }
}

/* Winograd for this layer when the shared workspace holds its scratch for every thread: the same
 * choice whether the pool splits one image or each thread runs whole images (both paths give
 * bit-identical results, so the choice must not depend on which path runs). */
static int conv_use_wino(const dn_layer *l, const dn_network *net)
{
    const conv *p = l->priv;
    return p->wino && p->U && net->workspace_size >= p->wino_scratch * (size_t)dn_pool_size(net->pool);
}

/* Convolution of image b into l->output (and, unless batch-norm statistics are still to come,
 * bias, normalisation and activation). ws: l->workspace floats of scratch (the whole shared
 * workspace when pool splits the image); pool NULL: this thread alone. Every kernel call gets
 * the same operands on either path, so the result does not depend on the thread count. */
static void conv_forward_image(dn_layer *l, const dn_run *r, int b, float *ws, dn_pool *pool, int wino)
{
    conv *p = l->priv;
    const int ohw = l->out_h * l->out_w;
    const int cg = l->c / p->groups, ng = p->n / p->groups;
    const int K = cg * p->size * p->size;
    const float *in = r->input + (size_t)b * l->inputs;
    float *out = l->output + (size_t)b * l->outputs;
    conv_post_job j = {l, out, p->x ? p->x + (size_t)b * l->outputs : NULL, NULL};
    if (p->depthwise) {
        j.in = in;
    } else if (wino) {
        dn_winograd_conv(pool, p->U, in, l->c, l->h, l->w, p->pad, p->n, out, ws);
    } else {
        for (int g = 0; g < p->groups; g++) {
            const float *ing = in + (size_t)g * cg * l->h * l->w;
            const float *B = ing;
            if (!(p->size == 1 && p->stride == 1 && p->pad == 0)) {
                dn_im2col(pool, ing, cg, l->h, l->w, p->size, p->stride, p->pad, l->out_h, l->out_w, ws);
                B = ws;
            }
            dn_gemm(pool, 0, 0, ng, ohw, K, 1.f, p->weights + (size_t)g * ng * K, K, B, ohw, 0.f,
                    out + (size_t)g * ng * ohw, ohw);
        }
    }
    if (r->train && p->batch_normalize) {
        /* batch statistics need every image's convolution first: bias, normalisation and
           activation follow in conv_forward */
        if (j.in)
            for (int k = 0; k < p->n; k++) depthwise_channel(l, p, in, out, k);
        return;
    }
    if (pool && dn_pool_size(pool) > 1 && (size_t)p->n * ohw * (j.in ? p->size * p->size : 1) > 16384)
        dn_pool_run(pool, conv_post_task, &j);
    else
        conv_post_task(&j, 0, 1);
}

typedef struct conv_img_job {
    dn_layer *l;
    const dn_run *r;
    int wino;
} conv_img_job;

/* Workspace slice of pool slice ith: l->workspace floats (conv_per_thread checked the room). */
static float *conv_slice_ws(const conv_img_job *j, int ith)
{
    return j->r->net->workspace ? j->r->net->workspace + (size_t)ith * j->l->workspace : NULL;
}

/* Whole images per thread, each in its own workspace slice. */
static void conv_forward_images_task(void *ctx, int ith, int nth)
{
    conv_img_job *j = ctx;
    int lo, hi;
    dn_split(j->l->batch, ith, nth, &lo, &hi);
    for (int b = lo; b < hi; b++) conv_forward_image(j->l, j->r, b, conv_slice_ws(j, ith), NULL, j->wino);
}

/* The workspace holds one slice per thread (the training and many-target passes size it so):
 * threads can run whole images (or targets) instead of splitting each small kernel. */
static int conv_per_thread(const dn_layer *l, const dn_network *net, int count)
{
    int nth = dn_pool_size(net->pool);
    return nth > 1 && count > 1 && net->workspace_size >= (size_t)nth * l->workspace;
}

static void conv_forward(dn_layer *l, const dn_run *r)
{
    conv *p = l->priv;
    dn_network *net = r->net;
    const int ohw = l->out_h * l->out_w;
    int wino = conv_use_wino(l, net);
    if (conv_per_thread(l, net, l->batch)) {
        conv_img_job j = {l, r, wino};
        dn_pool_run(net->pool, conv_forward_images_task, &j);
    } else {
        for (int b = 0; b < l->batch; b++) conv_forward_image(l, r, b, net->workspace, net->pool, wino);
    }
    if (r->train && p->batch_normalize) {
        dn_bn_train_forward(r->net->pool, &p->bn, l->output, l->batch, ohw, (size_t)l->outputs, p->x, p->act);
        conv_fold(l);
    }
}

/* Input gradient of depthwise channel k: the adjoint of depthwise_channel. */
static void depthwise_channel_backward(const dn_layer *l, const conv *p, const float *dk, float *ik, int k)
{
    const int ow = l->out_w, oh = l->out_h, s = p->stride, pad = p->pad, ks = p->size;
    const float *wk = p->weights + (size_t)k * ks * ks;
    for (int kx = 0; kx < ks; kx++) {
        int lo = pad - kx > 0 ? (pad - kx + s - 1) / s : 0;
        int hi = (l->w - 1 + pad - kx);
        hi = hi < 0 ? -1 : hi / s;
        if (hi > ow - 1) hi = ow - 1;
        if (lo > hi) continue;
        for (int oy = 0; oy < oh; oy++) {
            const float *drow = dk + (size_t)oy * ow;
            for (int ky = 0; ky < ks; ky++) {
                int iy = oy * s + ky - pad;
                if (iy < 0 || iy >= l->h) continue;
                const float wv = wk[ky * ks + kx];
                float *irow = ik + (size_t)iy * l->w + kx - pad;
                if (s == 1)
                    for (int ox = lo; ox <= hi; ox++) irow[ox] += wv * drow[ox];
                else
                    for (int ox = lo; ox <= hi; ox++) irow[ox * s] += wv * drow[ox];
            }
        }
    }
}

/* Input gradient of image (or target) d, groups included: W^T delta into r->input_delta,
 * through col2im for k x k kernels. Images are independent. */
static void conv_igrad_image(dn_layer *l, const dn_run *r, int d, float *ws, dn_pool *pool)
{
    conv *p = l->priv;
    const int ohw = l->out_h * l->out_w;
    const int cg = l->c / p->groups, ng = p->n / p->groups;
    const int K = cg * p->size * p->size;
    const float *delta = l->delta + (size_t)d * l->outputs;
    float *din = r->input_delta + (size_t)d * l->inputs;
    for (int g = 0; g < p->groups; g++) {
        const float *A = p->weights + (size_t)g * ng * K;
        const float *dg = delta + (size_t)g * ng * ohw;
        float *ding = din + (size_t)g * cg * l->h * l->w;
        if (p->size == 1 && p->stride == 1 && p->pad == 0) {
            dn_gemm(pool, 1, 0, K, ohw, ng, 1.f, A, K, dg, ohw, 1.f, ding, ohw);
        } else {
            dn_gemm(pool, 1, 0, K, ohw, ng, 1.f, A, K, dg, ohw, 0.f, ws, ohw);
            dn_col2im(pool, ws, cg, l->h, l->w, p->size, p->stride, p->pad, l->out_h, l->out_w, ding);
        }
    }
}

/* Backward of target d: activation derivative, folded batch-norm scale, then the input gradient
 * W^T delta (col2im for k x k kernels) into r->input_delta. ws: im2col-sized scratch; pool may
 * be NULL (the caller already splits targets over threads). */
static void conv_backward_one(dn_layer *l, const dn_run *r, int d, float *ws, dn_pool *pool)
{
    conv *p = l->priv;
    const int ohw = l->out_h * l->out_w;
    int b = d % l->batch;
    float *delta = l->delta + (size_t)d * l->outputs;
    dn_gradient(l->output + (size_t)b * l->outputs, p->x ? p->x + (size_t)b * l->outputs : NULL,
                (size_t)l->outputs, p->act, delta);
    for (int k = 0; k < p->n; k++) {
        float sc = p->bn.fscale[k];
        float *dk = delta + (size_t)k * ohw;
        for (int i = 0; i < ohw; i++) dk[i] *= sc;
    }
    if (!r->input_delta) return;
    float *din = r->input_delta + (size_t)d * l->inputs;
    if (p->depthwise) {
        for (int k = 0; k < p->n; k++)
            depthwise_channel_backward(l, p, delta + (size_t)k * ohw, din + (size_t)k * l->h * l->w, k);
        return;
    }
    conv_igrad_image(l, r, d, ws, pool);
}

static void conv_backward_task(void *ctx, int ith, int nth)
{
    conv_img_job *j = ctx;
    int lo, hi;
    dn_split(j->r->dbatch, ith, nth, &lo, &hi);
    for (int d = lo; d < hi; d++) conv_backward_one(j->l, j->r, d, conv_slice_ws(j, ith), NULL);
}

/* Weight gradient of image b (groups): im2col, then weight_updates += delta * cols^T. The images
 * must come in order (each adds to the same sums). */
static void conv_wgrad_image(dn_layer *l, const dn_run *r, int b, float *ws, dn_pool *pool)
{
    conv *p = l->priv;
    const int ohw = l->out_h * l->out_w;
    const int cg = l->c / p->groups, ng = p->n / p->groups;
    const int K = cg * p->size * p->size;
    const float *in = r->input + (size_t)b * l->inputs;
    const float *delta = l->delta + (size_t)b * l->outputs;
    for (int g = 0; g < p->groups; g++) {
        const float *B = in + (size_t)g * cg * l->h * l->w;
        if (!(p->size == 1 && p->stride == 1 && p->pad == 0)) {
            dn_im2col(pool, B, cg, l->h, l->w, p->size, p->stride, p->pad, l->out_h, l->out_w, ws);
            B = ws;
        }
        dn_gemm(pool, 0, 1, ng, K, ohw, 1.f, delta + (size_t)g * ng * ohw, ohw, B, ohw, 1.f,
                p->weight_updates + (size_t)g * ng * K, K);
    }
}

/* Two roles over the batch: slice 0 runs the weight gradients image after image (one chain of
 * sums), the other slices share the input gradients; with one thread slice 0 does both. Each
 * slice uses its own workspace slice, and every kernel call is the one the pooled path makes. */
static void conv_backward_images_task(void *ctx, int ith, int nth)
{
    conv_img_job *j = ctx;
    dn_layer *l = j->l;
    float *ws = conv_slice_ws(j, ith);
    int lo = 0, hi = l->batch;
    if (ith == 0)
        for (int b = 0; b < l->batch; b++) conv_wgrad_image(l, j->r, b, ws, NULL);
    if (nth > 1) {
        if (ith == 0) return;
        dn_split(l->batch, ith - 1, nth - 1, &lo, &hi);
    }
    for (int b = lo; b < hi; b++) conv_igrad_image(l, j->r, b, ws, NULL);
}

typedef struct conv_grad_job {
    dn_layer *l;
    float *delta;
} conv_grad_job;

/* Activation derivative of whole images, split over threads. */
static void conv_gradient_task(void *ctx, int ith, int nth)
{
    conv_grad_job *j = ctx;
    dn_layer *l = j->l;
    conv *p = l->priv;
    int lo, hi;
    dn_split(l->batch, ith, nth, &lo, &hi);
    for (int b = lo; b < hi; b++)
        dn_gradient(l->output + (size_t)b * l->outputs, p->x ? p->x + (size_t)b * l->outputs : NULL,
                    (size_t)l->outputs, p->act, j->delta + (size_t)b * l->outputs);
}

/* Training backward for the whole batch (delta has batch images): activation derivative,
 * batch-norm backward with batch statistics (exact derivative of the forward's
 * (x - mean)/(sqrt(var) + eps) with the unbiased variance), bias/scale/weight gradients
 * (accumulated into *_updates in Darknet's sign convention: delta = -dLoss/dOutput), and the
 * input gradient. */
static void conv_backward_train(dn_layer *l, const dn_run *r)
{
    conv *p = l->priv;
    dn_network *net = r->net;
    const int ohw = l->out_h * l->out_w;
    conv_grad_job gj = {l, l->delta};
    dn_pool_run((size_t)l->outputs * l->batch > 16384 ? net->pool : NULL, conv_gradient_task, &gj);
    dn_bn_train_backward(r->net->pool, &p->bn, l->delta, l->batch, ohw, (size_t)l->outputs);
    if (r->input_delta && !p->depthwise && conv_per_thread(l, net, l->batch)) {
        conv_img_job j = {l, r, 0};
        dn_pool_run(net->pool, conv_backward_images_task, &j);
        return;
    }
    for (int b = 0; b < l->batch; b++) {
        const float *in = r->input + (size_t)b * l->inputs;
        const float *delta = l->delta + (size_t)b * l->outputs;
        float *din = r->input_delta ? r->input_delta + (size_t)b * l->inputs : NULL;
        if (p->depthwise) {
            const int st = p->stride, pad = p->pad, ks = p->size;
            for (int k = 0; k < p->n; k++) {
                const float *dk = delta + (size_t)k * ohw, *ik = in + (size_t)k * l->h * l->w;
                float *wu = p->weight_updates + (size_t)k * ks * ks;
                for (int ky = 0; ky < ks; ky++)
                    for (int kx = 0; kx < ks; kx++) {
                        double acc = 0;
                        for (int oy = 0; oy < l->out_h; oy++) {
                            int iy = oy * st + ky - pad;
                            if (iy < 0 || iy >= l->h) continue;
                            for (int ox = 0; ox < l->out_w; ox++) {
                                int ix = ox * st + kx - pad;
                                if (ix >= 0 && ix < l->w) acc += dk[oy * l->out_w + ox] * ik[iy * l->w + ix];
                            }
                        }
                        wu[ky * ks + kx] += (float)acc;
                    }
                if (din) depthwise_channel_backward(l, p, dk, din + (size_t)k * l->h * l->w, k);
            }
            continue;
        }
        conv_wgrad_image(l, r, b, net->workspace, net->pool);
        if (din) conv_igrad_image(l, r, b, net->workspace, net->pool);
    }
}

static dn_status conv_train_prepare(dn_layer *l)
{
    conv *p = l->priv;
    if (p->weight_updates) return DN_OK;
    size_t nw = (size_t)p->n * (l->c / p->groups) * p->size * p->size;
    p->weight_updates = dn_alloc_floats(nw, "weight updates", l->index);
    if (!p->weight_updates) return DN_ERR_NOMEM;
    return dn_bn_train_prepare(&p->bn, (size_t)l->batch * l->outputs, l->index);
}

static void conv_update(dn_layer *l, const dn_update *u)
{
    conv *p = l->priv;
    dn_bn_update(&p->bn, u);
    dn_sgd_update(p->weights, p->weight_updates, (size_t)p->n * (l->c / p->groups) * p->size * p->size, u);
    conv_fold(l);
}

static void conv_backward(dn_layer *l, const dn_run *r)
{
    if (r->train) {
        conv_backward_train(l, r);
        return;
    }
    dn_network *net = r->net;
    /* many targets: one thread per slice of targets; one target: threads inside the GEMMs */
    if (conv_per_thread(l, net, r->dbatch)) {
        conv_img_job j = {l, r, 0};
        dn_pool_run(net->pool, conv_backward_task, &j);
    } else {
        for (int d = 0; d < r->dbatch; d++) conv_backward_one(l, r, d, net->workspace, net->pool);
    }
}

static dn_status conv_load(dn_layer *l, dn_wreader *r)
{
    conv *p = l->priv;
    size_t nw = (size_t)p->n * (l->c / p->groups) * p->size * p->size;
    dn_status st = dn_wread(r, p->bn.biases, (size_t)p->n);
    if (st == DN_OK) st = dn_bn_load_stats(&p->bn, r);
    if (st == DN_OK) st = dn_wread(r, p->weights, nw);
    conv_fold(l);
    return st;
}

static dn_status conv_save(const dn_layer *l, FILE *f)
{
    const conv *p = l->priv;
    size_t nw = (size_t)p->n * (l->c / p->groups) * p->size * p->size;
    dn_status st = layer_write(f, p->bn.biases, (size_t)p->n);
    if (st == DN_OK) st = dn_bn_save_stats(&p->bn, f);
    if (st == DN_OK) st = layer_write(f, p->weights, nw);
    return st;
}

static void conv_randomize(dn_layer *l, uint64_t *rng)
{
    conv *p = l->priv;
    size_t fan_in = (size_t)(l->c / p->groups) * p->size * p->size;
    size_t nw = (size_t)p->n * fan_in;
    layer_rand_normal(rng, p->weights, nw, 0.f, sqrtf(1.f / (float)fan_in));
    dn_bn_randomize(&p->bn, rng);
    conv_fold(l);
}

static void conv_describe(const dn_layer *l, char *buf, size_t n)
{
    const conv *p = l->priv;
    char filt[32];
    if (p->groups > 1)
        snprintf(filt, sizeof filt, "%4d/%4d", p->n, p->groups);
    else
        snprintf(filt, sizeof filt, "%5d", p->n);
    snprintf(buf, n, "conv  %s %2d x%2d /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d  %5.3f BFLOPs", filt,
             p->size, p->size, p->stride, l->w, l->h, l->c, l->out_w, l->out_h, l->out_c, l->bflops);
}

static void conv_destroy(dn_layer *l)
{
    conv *p = l->priv;
    if (!p) return;
    dn_free(p->weights);
    dn_bn_free(&p->bn);
    dn_free(p->x);
    dn_free(p->U);
    dn_free(p->weight_updates);
    dn_free(p);
    l->priv = NULL;
}

float *dn_conv_params(dn_layer *l, float **weights, int *n, int *per)
{
    if (l->ops->forward != conv_forward) return NULL;
    conv *p = l->priv;
    *n = p->n;
    *per = l->c / p->groups * p->size * p->size;
    *weights = p->weights;
    return p->bn.biases;
}

void dn_conv_refold(dn_layer *l) { conv_fold(l); }

int dn_layer_train_params(dn_layer *l, dn_param *out)
{
    int k = 0;
    if (l->ops->forward == conv_forward) {
        conv *p = l->priv;
        out[k++] = (dn_param){"weights", p->weights, p->weight_updates, (size_t)p->n * (l->c / p->groups) * p->size * p->size};
        out[k++] = (dn_param){"biases", p->bn.biases, p->bn.bias_updates, (size_t)p->n};
        if (p->batch_normalize) out[k++] = (dn_param){"scales", p->bn.scales, p->bn.scale_updates, (size_t)p->n};
        return k;
    }
    return dn_connected_train_params(l, out);
}

void dn_layer_refold(dn_layer *l)
{
    if (l->ops->forward == conv_forward) conv_fold(l);
    else dn_connected_refold(l);
}

const dn_layer_ops dn_convolutional_ops = {
    .name = "convolutional",
    .create = conv_create,
    .forward = conv_forward,
    .backward = conv_backward,
    .load_weights = conv_load,
    .save_weights = conv_save,
    .randomize = conv_randomize,
    .describe = conv_describe,
    .destroy = conv_destroy,
    .train_prepare = conv_train_prepare,
    .update = conv_update,
};
