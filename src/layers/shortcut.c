/* shortcut.c - [shortcut]: out = act(alpha * prev + beta * layer[from]). Sources of different
 * size follow pjreddie's rule: the larger map is sampled with an integer stride and only the
 * overlapping channels are added. */
#include "layer_util.h"

typedef struct shortcut {
    int from;
    float alpha, beta;
    dn_activation act;
    float *x; /* (batch, outputs) pre-activation when the activation needs it */
} shortcut;

static dn_status shortcut_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    shortcut *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    int *from = NULL, nfrom = 0;
    dn_status st = dn_sec_int_list(cfg, s, "from", &from, &nfrom);
    if (st != DN_OK) return st;
    if (nfrom != 1) {
        dn_free(from);
        return LAYER_FAIL(nfrom ? DN_ERR_UNSUPPORTED : DN_ERR_PARSE, "from",
                          nfrom ? "only one 'from' layer is supported" : "[shortcut] needs from=");
    }
    int idx = dn_layer_ref(cfg, s, "from", from[0], l->index);
    dn_free(from);
    if (idx < 0) return DN_ERR_RANGE;
    p->from = idx;
    GET_FLOAT("alpha", 1, &p->alpha);
    GET_FLOAT("beta", 1, &p->beta);
    if ((st = layer_activation(cfg, s, l, "linear", &p->act)) != DN_OK) return st;
    const char *wt = dn_sec_str(s, "weights_type");
    if (wt && strcmp(wt, "none"))
        return LAYER_FAIL(DN_ERR_UNSUPPORTED, "weights_type", "weights_type=%s is not supported", wt);
    dn_sec_str(s, "weights_normalization");
    l->out_w = l->w;
    l->out_h = l->h;
    l->out_c = l->c;
    l->spatial = l->out_w > 1 || l->out_h > 1;
    if ((st = layer_alloc_output(l)) != DN_OK) return st;
    if (dn_activation_needs_input(p->act)) {
        p->x = dn_alloc_floats((size_t)l->batch * l->out_c * l->out_h * l->out_w, "x", l->index);
        if (!p->x) return DN_ERR_NOMEM;
    }
    (void)net;
    return DN_OK;
}

/* Visits the pairs (out index, add index) of pjreddie's shortcut rule for one image. The rule
 * takes stride and sample from the widths alone; when the heights are in another ratio its
 * rows would run past one of the maps (Darknet reads and writes out of bounds there), so rows
 * and columns are limited to those inside both. */
static inline int shortcut_span(int m, int a, int stride, int b, int sample)
{
    int ra = (a + stride - 1) / stride, rb = (b + sample - 1) / sample;
    if (ra < m) m = ra;
    return rb < m ? rb : m;
}

#define SHORTCUT_PAIRS(src, l, BODY)                                                             \
    do {                                                                                       \
        int w1 = (src)->out_w, h1 = (src)->out_h, c1 = (src)->out_c;                           \
        int w2 = (l)->out_w, h2 = (l)->out_h, c2 = (l)->out_c;                                 \
        int stride = w1 / w2 > 1 ? w1 / w2 : 1, sample = w2 / w1 > 1 ? w2 / w1 : 1;            \
        int minw = w1 < w2 ? w1 : w2, minh = h1 < h2 ? h1 : h2, minc = c1 < c2 ? c1 : c2;      \
        minw = shortcut_span(minw, w1, stride, w2, sample);                                    \
        minh = shortcut_span(minh, h1, stride, h2, sample);                                    \
        (void)c2;                                                                              \
        for (int k = 0; k < minc; k++)                                                         \
            for (int j = 0; j < minh; j++)                                                     \
                for (int i = 0; i < minw; i++) {                                               \
                    size_t oi = (size_t)i * sample + (size_t)w2 * (j * sample + (size_t)h2 * k); \
                    size_t ai = (size_t)i * stride + (size_t)w1 * (j * stride + (size_t)h1 * k); \
                    (void)oi; (void)ai;                                                        \
                    BODY;                                                                      \
                }                                                                              \
    } while (0)

static void shortcut_forward(dn_layer *l, const dn_run *r)
{
    shortcut *p = l->priv;
    const dn_layer *src = &r->net->layers[p->from];
    for (int b = 0; b < l->batch; b++) {
        float *out = l->output + (size_t)b * l->outputs;
        const float *in = r->input + (size_t)b * l->inputs;
        const float *add = src->output + (size_t)b * src->outputs;
        if (src->out_w == l->out_w && src->out_h == l->out_h && src->out_c == l->out_c) {
            if (p->alpha == 1 && p->beta == 1)
                for (int i = 0; i < l->outputs; i++) out[i] = in[i] + add[i];
            else
                for (int i = 0; i < l->outputs; i++) out[i] = p->alpha * in[i] + p->beta * add[i];
        } else {
            memcpy(out, in, (size_t)l->outputs * sizeof(float));
            SHORTCUT_PAIRS(src, l, out[oi] = p->alpha * out[oi] + p->beta * add[ai]);
        }
        if (p->x) memcpy(p->x + (size_t)b * l->outputs, out, (size_t)l->outputs * sizeof(float));
        dn_activate(NULL, out, (size_t)l->outputs, p->act);
    }
}

static void shortcut_backward(dn_layer *l, const dn_run *r)
{
    shortcut *p = l->priv;
    dn_layer *src = &r->net->layers[p->from];
    float *sd = dn_run_delta(r, r->net->layers, p->from);
    const int same = src->out_w == l->out_w && src->out_h == l->out_h && src->out_c == l->out_c;
    for (int d = 0; d < r->dbatch; d++) {
        int b = d % l->batch;
        float *dl = l->delta + (size_t)d * l->outputs;
        dn_gradient(l->output + (size_t)b * l->outputs, p->x ? p->x + (size_t)b * l->outputs : NULL,
                    (size_t)l->outputs, p->act, dl);
        if (sd) {
            float *sdd = sd + (size_t)d * src->outputs;
            if (same) {
                dn_axpy((size_t)l->outputs, p->beta, dl, sdd);
            } else {
                /* d out[oi] / d add[ai] = beta; the alpha-scaled part of out[oi] comes from in */
                SHORTCUT_PAIRS(src, l, sdd[ai] += p->beta * dl[oi]);
            }
        }
        if (r->input_delta) {
            float *din = r->input_delta + (size_t)d * l->inputs;
            if (same) {
                dn_axpy((size_t)l->outputs, p->alpha, dl, din);
            } else {
                /* positions touched by the rule carry alpha, the rest pass through */
                dn_axpy((size_t)l->outputs, 1.f, dl, din);
                if (p->alpha != 1) SHORTCUT_PAIRS(src, l, din[oi] += (p->alpha - 1) * dl[oi]);
            }
        }
    }
}

static void shortcut_describe(const dn_layer *l, char *buf, size_t n)
{
    const shortcut *p = l->priv;
    snprintf(buf, n, "res  %3d                %4d x%4d x%4d   ->  %4d x%4d x%4d", p->from, l->w, l->h, l->c,
             l->out_w, l->out_h, l->out_c);
}

static void shortcut_destroy(dn_layer *l)
{
    shortcut *p = l->priv;
    if (p) dn_free(p->x);
    dn_free(p);
    l->priv = NULL;
}

const dn_layer_ops dn_shortcut_ops = {
    .name = "shortcut",
    .create = shortcut_create,
    .forward = shortcut_forward,
    .backward = shortcut_backward,
    .describe = shortcut_describe,
    .destroy = shortcut_destroy,
};
