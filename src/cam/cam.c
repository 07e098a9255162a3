/* cam.c - class activation maps from one forward pass and one batched backward pass to a
 * chosen layer: Grad-CAM++ (Chattopadhyay et al., WACV 2018, eq. 19 closed form), Grad-CAM,
 * XGrad-CAM, LayerCAM, HiResCAM, and the gradient-free Score-CAM and Eigen-CAM. */
#include "core/core.h"

#include <math.h>
#include <string.h>

static const char *const method_names[DN_CAM_COUNT] = {"gradcampp", "gradcam", "xgradcam", "layercam",
                                                       "hirescam", "scorecam", "eigencam"};
static const char *const score_names[DN_SCORE_COUNT] = {"logit", "logconf", "conf"};

const char *dn_cam_method_name(dn_cam_method m) { return (unsigned)m < DN_CAM_COUNT ? method_names[m] : "?"; }
const char *dn_cam_score_name(dn_cam_score s) { return (unsigned)s < DN_SCORE_COUNT ? score_names[s] : "?"; }

int dn_cam_method_parse(const char *name)
{
    for (int i = 0; i < DN_CAM_COUNT; i++)
        if (!strcmp(name, method_names[i])) return i;
    if (!strcmp(name, "gradcam++")) return DN_CAM_GRADCAMPP;
    return -1;
}

int dn_cam_score_parse(const char *name)
{
    for (int i = 0; i < DN_SCORE_COUNT; i++)
        if (!strcmp(name, score_names[i])) return i;
    if (!strcmp(name, "log-confidence")) return DN_SCORE_LOGCONF;
    if (!strcmp(name, "confidence")) return DN_SCORE_CONF;
    return -1;
}

static int is_conv(const dn_layer *l) { return !strcmp(l->ops->name, "convolutional"); }

int dn_cam_default_layer(const dn_network *net, const dn_detection *det)
{
    if (!det) {
        for (int i = net->n - 1; i >= 0; i--)
            if (is_conv(&net->layers[i]) && (net->layers[i].out_w > 1 || net->layers[i].out_h > 1)) return i;
        for (int i = net->n - 1; i >= 0; i--)
            if (net->layers[i].out_w > 1 || net->layers[i].out_h > 1) return i;
        return -1;
    }
    const dn_layer *head = &net->layers[det->layer];
    /* The head's branch: the run of convolutions at the head's grid size that ends in the head's
       own 1x1 prediction conv (layer - 1). Its first conv sees the merged backbone/neck features
       and, unlike the layers just below the 1x1 prediction (whose gradient is a single cell),
       receives a gradient spread by the branch's k x k convs. */
    int i = det->layer - 1;
    while (i - 1 >= 0 && is_conv(&net->layers[i - 1]) && net->layers[i - 1].out_w == head->w &&
           net->layers[i - 1].out_h == head->h)
        i--;
    return i;
}

/* The layer whose output is the classifier's logits (the input of the last softmax). */
static int logit_layer(const dn_network *net)
{
    for (int i = net->n - 1; i > 0; i--)
        if (!strcmp(net->layers[i].ops->name, "softmax")) return i - 1;
    int i = net->n - 1;
    while (i > 0 && !strcmp(net->layers[i].ops->name, "cost")) i--;
    return i;
}

/* Seeds the deltas of all targets; returns the highest seeded layer, or -1 with *st set. */
static int seed_targets(dn_network *net, int stop, dn_cam_score score, const dn_cam_target *t, int nt,
                        float *scores, dn_status *st)
{
    *st = DN_ERR_ARG;
    int from = -1;
    if (dn_network_task(net) == DN_TASK_CLASSIFIER) {
        int ll = logit_layer(net);
        dn_layer *l = &net->layers[ll];
        if (ll < stop) {
            *st = dn_error(DN_ERR_RANGE, "layer %d is above the logits (layer %d)", stop, ll);
            return -1;
        }
        for (int d = 0; d < nt; d++) {
            if (t[d].cls < 0 || t[d].cls >= l->outputs) {
                dn_error(DN_ERR_ARG, "class %d is out of range 0..%d", t[d].cls, l->outputs - 1);
                return -1;
            }
            l->delta[(size_t)d * l->outputs + t[d].cls] = 1;
            if (scores) scores[d] = l->output[t[d].cls];
        }
        return ll;
    }
    for (int d = 0; d < nt; d++) {
        if (scores) scores[d] = 0;
        for (int k = 0; k < t[d].ndets; k++) {
            const dn_detection *det = &t[d].dets[k];
            if (det->layer < 1 || det->layer >= net->n || !net->layers[det->layer].ops->seed) {
                dn_error(DN_ERR_ARG, "target %d: detection from layer %d is not from a detection head", d, det->layer);
                return -1;
            }
            dn_layer *head = &net->layers[det->layer];
            if (t[d].cls < 0 || t[d].cls >= head->classes) {
                dn_error(DN_ERR_ARG, "class %d is out of range 0..%d", t[d].cls, head->classes - 1);
                return -1;
            }
            if (det->layer - 1 < stop) {
                *st = dn_error(DN_ERR_RANGE, "layer %d is above detection head %d: no gradient reaches it", stop, det->layer);
                return -1;
            }
            dn_layer *in = &net->layers[det->layer - 1];
            float s = head->ops->seed(head, det, t[d].cls, score, in->output, in->delta + (size_t)d * in->outputs);
            if (scores) scores[d] += s;
            if (det->layer - 1 > from) from = det->layer - 1;
        }
    }
    if (from < 0) dn_error(DN_ERR_ARG, "no detections in the targets");
    return from;
}

/* Grad-CAM++ channel weights (paper eq. 19 with Y = exp(S)):
 *   alpha_ij = g_ij^2 / (2 g_ij^2 + sum_ab(A_ab) g_ij^3),  w = sum_ij alpha_ij relu(g_ij).
 * With leaky activations sum(A) can be negative and the denominator g^2 (2 + sum(A) g) zero or
 * negative; the closed form then has no meaning (alpha must be a non-negative weight), so such
 * pixels get alpha = 0, as do pixels with g = 0. No epsilon is added. */
float dn_gradcampp_weight(const float *a, const float *g, int hw)
{
    double sum_a = 0;
    for (int i = 0; i < hw; i++) sum_a += a[i];
    double w = 0;
    for (int i = 0; i < hw; i++) {
        double gi = g[i];
        if (gi <= 0) continue; /* relu(g) = 0 */
        double den = 2 * gi * gi + sum_a * gi * gi * gi;
        if (!(den > 0)) continue;
        w += gi * gi / den * gi;
    }
    return (float)w;
}

static void cam_from_gradients(dn_cam_method m, const float *A, const float *G, int C, int hw, float *map)
{
    memset(map, 0, (size_t)hw * sizeof(float));
    for (int k = 0; k < C; k++) {
        const float *a = A + (size_t)k * hw, *g = G + (size_t)k * hw;
        float w = 0;
        switch (m) {
        case DN_CAM_GRADCAMPP: w = dn_gradcampp_weight(a, g, hw); break;
        case DN_CAM_GRADCAM: {
            double s = 0;
            for (int i = 0; i < hw; i++) s += g[i];
            w = (float)(s / hw);
            break;
        }
        case DN_CAM_XGRADCAM: {
            double s = 0, sa = 0;
            for (int i = 0; i < hw; i++) {
                s += (double)g[i] * a[i];
                sa += a[i];
            }
            w = sa != 0 ? (float)(s / sa) : 0.f;
            break;
        }
        case DN_CAM_LAYERCAM:
            for (int i = 0; i < hw; i++) map[i] += (g[i] > 0 ? g[i] : 0) * a[i];
            continue;
        case DN_CAM_HIRESCAM:
            for (int i = 0; i < hw; i++) map[i] += g[i] * a[i];
            continue;
        default: break;
        }
        if (w != 0)
            for (int i = 0; i < hw; i++) map[i] += w * a[i];
    }
    for (int i = 0; i < hw; i++)
        if (!(map[i] > 0)) map[i] = 0;
}

/* Eigen-CAM: projection of the centred activations (hw, C) on their first principal axis, found
 * by power iteration on the C x C covariance; the sign is chosen to correlate positively with the
 * channel sum. */
static dn_status eigencam(const float *A, int C, int hw, float *map)
{
    float *mean = dn_calloc((size_t)C, sizeof(float));
    float *v = dn_calloc((size_t)C, sizeof(float));
    float *nv = dn_calloc((size_t)C, sizeof(float));
    float *proj = dn_calloc((size_t)hw, sizeof(float));
    if (!mean || !v || !nv || !proj) {
        dn_free(mean), dn_free(v), dn_free(nv), dn_free(proj);
        return DN_ERR_NOMEM;
    }
    for (int k = 0; k < C; k++) {
        double s = 0;
        for (int i = 0; i < hw; i++) s += A[(size_t)k * hw + i];
        mean[k] = (float)(s / hw);
        v[k] = 1.f / sqrtf((float)C) * (1 + 0.01f * (k % 7));
    }
    for (int it = 0; it < 60; it++) {
        /* nv = X^T (X v) with X the centred (hw, C) matrix */
        for (int i = 0; i < hw; i++) {
            double s = 0;
            for (int k = 0; k < C; k++) s += (A[(size_t)k * hw + i] - mean[k]) * v[k];
            proj[i] = (float)s;
        }
        double norm = 0;
        for (int k = 0; k < C; k++) {
            double s = 0;
            for (int i = 0; i < hw; i++) s += (A[(size_t)k * hw + i] - mean[k]) * proj[i];
            nv[k] = (float)s;
            norm += s * s;
        }
        norm = sqrt(norm);
        if (norm == 0) break;
        for (int k = 0; k < C; k++) v[k] = (float)(nv[k] / norm);
    }
    double corr = 0;
    for (int i = 0; i < hw; i++) {
        double s = 0, tot = 0;
        for (int k = 0; k < C; k++) {
            s += (A[(size_t)k * hw + i] - mean[k]) * v[k];
            tot += A[(size_t)k * hw + i];
        }
        proj[i] = (float)s;
        corr += s * tot;
    }
    for (int i = 0; i < hw; i++) {
        float x = corr < 0 ? -proj[i] : proj[i];
        map[i] = x > 0 ? x : 0;
    }
    dn_free(mean), dn_free(v), dn_free(nv), dn_free(proj);
    return DN_OK;
}

/* Score of target d after a forward pass, for Score-CAM: the class probability (softmax) for a
 * classifier, the detection confidence for detections. */
static float target_prob(dn_network *net, const dn_cam_target *t)
{
    if (!t->dets) {
        const dn_layer *last = &net->layers[net->n - 1];
        int ll = logit_layer(net);
        if (ll + 1 < net->n && !strcmp(net->layers[ll + 1].ops->name, "softmax"))
            return net->layers[ll + 1].output[t->cls];
        return last->output[t->cls];
    }
    float s = 0;
    for (int k = 0; k < t->ndets; k++) {
        const dn_detection *det = &t->dets[k];
        dn_layer *head = &net->layers[det->layer];
        /* conf = objectness * p(cls) read from the head's output: both [yolo] and [region] (coords
           4) lay out anchor a's entries at channels a*(classes+5) + (x, y, w, h, obj, classes) */
        const int per = head->classes + 5;
        const int hw = head->w * head->h;
        size_t base = (size_t)det->anchor * per * hw + det->cell;
        s += head->output[base + (size_t)4 * hw] * head->output[base + (size_t)(5 + t->cls) * hw];
    }
    return s;
}

static dn_status scorecam(dn_network *net, int layer, const dn_cam_target *t, int nt, const float *input,
                          float *maps)
{
    dn_layer *L = &net->layers[layer];
    const int C = L->out_c, hw = L->out_w * L->out_h, n_in = net->inputs;
    float *A = dn_malloc((size_t)C * hw * sizeof(float));
    float *mask = dn_malloc((size_t)net->w * net->h * sizeof(float));
    float *x = dn_malloc((size_t)n_in * sizeof(float));
    float *sc = dn_malloc((size_t)C * nt * sizeof(float));
    if (!A || !mask || !x || !sc) {
        dn_free(A), dn_free(mask), dn_free(x), dn_free(sc);
        return DN_ERR_NOMEM;
    }
    memcpy(A, L->output, (size_t)C * hw * sizeof(float));
    for (int k = 0; k < C; k++) {
        dn_cam_to_image(A + (size_t)k * hw, L->out_w, L->out_h, net->w, net->h, 0, net->w, net->h, mask);
        for (int c = 0; c < net->c; c++)
            for (int i = 0; i < net->w * net->h; i++) x[(size_t)c * net->w * net->h + i] = input[(size_t)c * net->w * net->h + i] * mask[i];
        dn_network_predict(net, x);
        for (int d = 0; d < nt; d++) sc[(size_t)d * C + k] = target_prob(net, &t[d]);
    }
    for (int d = 0; d < nt; d++) {
        /* channel weights: softmax of the masked scores */
        float mx = -3.4e38f;
        for (int k = 0; k < C; k++)
            if (sc[(size_t)d * C + k] > mx) mx = sc[(size_t)d * C + k];
        double sum = 0;
        for (int k = 0; k < C; k++) sum += exp(sc[(size_t)d * C + k] - mx);
        float *map = maps + (size_t)d * hw;
        memset(map, 0, (size_t)hw * sizeof(float));
        for (int k = 0; k < C; k++) {
            float w = (float)(exp(sc[(size_t)d * C + k] - mx) / sum);
            for (int i = 0; i < hw; i++) map[i] += w * A[(size_t)k * hw + i];
        }
        for (int i = 0; i < hw; i++)
            if (!(map[i] > 0)) map[i] = 0;
    }
    dn_network_predict(net, input); /* restore the state the caller's detections refer to */
    dn_free(A), dn_free(mask), dn_free(x), dn_free(sc);
    return DN_OK;
}

dn_status dn_cam_compute(dn_network *net, int layer, dn_cam_method m, dn_cam_score score, const dn_cam_target *t,
                         int nt, const float *input, float *maps, float *scores)
{
    if (layer < 0) layer += net->n;
    if (layer < 0 || layer >= net->n) return dn_error(DN_ERR_RANGE, "layer %d is out of range 0..%d", layer, net->n - 1);
    dn_layer *L = &net->layers[layer];
    if (L->out_w * L->out_h < 2)
        return dn_error(DN_ERR_RANGE, "layer %d [%s] has no spatial map (%d x %d x %d)", layer, L->ops->name,
                        L->out_w, L->out_h, L->out_c);
    if ((unsigned)m >= DN_CAM_COUNT) return dn_error(DN_ERR_ARG, "unknown method %d", (int)m);
    if (nt < 1) return dn_error(DN_ERR_ARG, "no targets");
    const int hw = L->out_w * L->out_h;
    /* the highest layer the targets seed: the logits, or the heads' inputs */
    int top = layer;
    for (int d = 0; d < nt; d++) {
        if (!t[d].dets) top = net->n - 1;
        for (int k = 0; k < t[d].ndets; k++)
            if (t[d].dets[k].layer - 1 > top) top = t[d].dets[k].layer - 1;
    }
    dn_status st = dn_network_backward_prepare(net, layer, top, nt);
    if (st != DN_OK) return st;
    int from = seed_targets(net, layer, score, t, nt, scores, &st);
    if (from < 0) return st;
    if (m == DN_CAM_EIGENCAM) {
        for (int d = 0; d < nt; d++)
            if ((st = eigencam(L->output, L->out_c, hw, maps + (size_t)d * hw)) != DN_OK) return st;
        return DN_OK;
    }
    if (m == DN_CAM_SCORECAM) {
        if (!input) return dn_error(DN_ERR_ARG, "Score-CAM needs the input image");
        return scorecam(net, layer, t, nt, input, maps);
    }
    dn_network_backward(net, from, layer, nt);
    for (int d = 0; d < nt; d++)
        cam_from_gradients(m, L->output, L->delta + (size_t)d * L->outputs, L->out_c, hw, maps + (size_t)d * hw);
    return DN_OK;
}
