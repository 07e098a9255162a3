/* region.c - [region] (YOLOv2 head): logistic on x, y and objectness, softmax (or logistic)
 * over classes; boxes relative to the grid: w = exp(tw) * anchor_w / grid_w. */
#include "layer_util.h"

typedef struct region {
    int n, classes, coords, softmax;
    float *anchors; /* (2 * n) */
} region;

static dn_status region_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    region *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    GET_INT("classes", 20, &p->classes);
    GET_INT("coords", 4, &p->coords);
    GET_INT("num", 1, &p->n);
    GET_INT("softmax", 0, &p->softmax);
    int bg;
    GET_INT("background", 0, &bg);
    if (bg) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "background", "background=1 is not supported");
    if (dn_sec_str(s, "tree")) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "tree", "softmax trees are not supported");
    static const char *const keys[] = {"jitter", "rescore", "object_scale", "noobject_scale", "class_scale",
        "coord_scale", "absolute", "thresh", "random", "bias_match", "max", "log", "sqrt", "map"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) dn_sec_str(s, keys[i]);
    if (p->classes < 1 || p->classes > 100000) return LAYER_FAIL(DN_ERR_RANGE, "classes", "classes=%d out of range", p->classes);
    if (p->n < 1 || p->n > 1000) return LAYER_FAIL(DN_ERR_RANGE, "num", "num=%d out of range", p->n);
    if (p->coords != 4) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "coords", "coords=%d (only 4 is supported)", p->coords);
    int na = 0;
    dn_status st = dn_sec_float_list(cfg, s, "anchors", &p->anchors, &na);
    if (st != DN_OK) return st;
    if (na == 0) {
        p->anchors = dn_calloc((size_t)2 * p->n, sizeof(float));
        if (!p->anchors) return DN_ERR_NOMEM;
        dn_fill(p->anchors, (size_t)2 * p->n, .5f);
    } else if (na < 2 * p->n) {
        return LAYER_FAIL(DN_ERR_RANGE, "anchors", "%d anchor values given, num=%d needs %d", na, p->n, 2 * p->n);
    }
    if (l->c != p->n * (p->coords + p->classes + 1))
        return LAYER_FAIL(DN_ERR_RANGE, "classes", "the input has %d channels but num %d x (coords %d + classes %d + 1) = %d are needed",
                          l->c, p->n, p->coords, p->classes, p->n * (p->coords + p->classes + 1));
    l->out_w = l->w;
    l->out_h = l->h;
    l->out_c = l->c;
    l->classes = p->classes;
    (void)net;
    return layer_alloc_output(l);
}

static void region_forward(dn_layer *l, const dn_run *r)
{
    region *p = l->priv;
    const int hw = l->w * l->h, per = p->coords + p->classes + 1;
    memcpy(l->output, r->input, (size_t)l->batch * l->outputs * sizeof(float));
    for (int b = 0; b < l->batch; b++)
        for (int n = 0; n < p->n; n++) {
            float *o = l->output + (size_t)b * l->outputs + (size_t)n * hw * per;
            for (int i = 0; i < 2 * hw; i++) o[i] = dn_logistic(o[i]);
            for (int i = 4 * hw; i < 5 * hw; i++) o[i] = dn_logistic(o[i]);
            float *cls = o + 5 * hw;
            if (!p->softmax) {
                for (int i = 0; i < p->classes * hw; i++) cls[i] = dn_logistic(cls[i]);
                continue;
            }
            for (int i = 0; i < hw; i++) {
                float largest = -3.4e38f, sum = 0;
                for (int k = 0; k < p->classes; k++)
                    if (cls[k * hw + i] > largest) largest = cls[k * hw + i];
                for (int k = 0; k < p->classes; k++) {
                    float e = expf(cls[k * hw + i] - largest);
                    sum += e;
                    cls[k * hw + i] = e;
                }
                for (int k = 0; k < p->classes; k++) cls[k * hw + i] /= sum;
            }
        }
}

static void region_backward(dn_layer *l, const dn_run *r)
{
    if (!r->input_delta) return;
    region *p = l->priv;
    const int hw = l->w * l->h, per = p->coords + p->classes + 1;
    for (int d = 0; d < r->dbatch; d++) {
        int b = d % l->batch;
        for (int n = 0; n < p->n; n++) {
            size_t off = (size_t)n * hw * per;
            const float *o = l->output + (size_t)b * l->outputs + off;
            const float *dl = l->delta + (size_t)d * l->outputs + off;
            float *din = r->input_delta + (size_t)d * l->inputs + off;
            for (int i = 0; i < 2 * hw; i++) din[i] += dl[i] * o[i] * (1 - o[i]);
            for (int i = 2 * hw; i < 4 * hw; i++) din[i] += dl[i];
            for (int i = 4 * hw; i < 5 * hw; i++) din[i] += dl[i] * o[i] * (1 - o[i]);
            const float *c = o + 5 * hw, *dc = dl + 5 * hw;
            float *dic = din + 5 * hw;
            for (int i = 0; i < hw; i++) {
                if (!p->softmax) {
                    for (int k = 0; k < p->classes; k++) dic[k * hw + i] += dc[k * hw + i] * c[k * hw + i] * (1 - c[k * hw + i]);
                    continue;
                }
                float dot = 0;
                for (int k = 0; k < p->classes; k++) dot += dc[k * hw + i] * c[k * hw + i];
                for (int k = 0; k < p->classes; k++) dic[k * hw + i] += c[k * hw + i] * (dc[k * hw + i] - dot);
            }
        }
    }
}

static dn_status region_detect(const dn_layer *l, const dn_network *net, int im_w, int im_h, float thresh,
                               int letterboxed, dn_detection **dets, int *n, int *cap)
{
    const region *p = l->priv;
    const int hw = l->w * l->h, per = p->coords + p->classes + 1;
    for (int i = 0; i < hw; i++) {
        int row = i / l->w, col = i % l->w;
        for (int a = 0; a < p->n; a++) {
            const float *o = l->output + (size_t)a * hw * per;
            float obj = o[4 * hw + i];
            if (!(obj > thresh)) continue;
            dn_detection *d;
            dn_status st = dn_detection_push(dets, n, cap, p->classes, &d);
            if (st != DN_OK) return st;
            d->bbox.x = (col + o[i]) / l->w;
            d->bbox.y = (row + o[hw + i]) / l->h;
            d->bbox.w = expf(o[2 * hw + i]) * p->anchors[2 * a] / l->w;
            d->bbox.h = expf(o[3 * hw + i]) * p->anchors[2 * a + 1] / l->h;
            dn_correct_box(&d->bbox, im_w, im_h, net->w, net->h, letterboxed);
            d->objectness = obj;
            d->layer = l->index;
            d->anchor = a;
            d->cell = i;
            for (int k = 0; k < p->classes; k++) {
                float prob = obj * o[(5 + k) * hw + i];
                d->prob[k] = prob > thresh ? prob : 0;
            }
        }
    }
    return DN_OK;
}

static void region_random_prior(dn_layer *l, dn_layer *prev)
{
    region *p = l->priv;
    dn_head_prior(l, prev, p->n, p->coords + p->classes + 1, .01f, -8.f, 3.f);
}

/* As yolo_seed; with softmax classes the class probability p_k couples every class logit:
 * d log p_k / d t_j = [j == k] - p_j. */
static float region_seed(const dn_layer *l, const dn_detection *d, int cls, dn_cam_score score,
                         const float *in, float *delta_in)
{
    const region *p = l->priv;
    const int hw = l->w * l->h, per = p->coords + p->classes + 1;
    size_t base = (size_t)d->anchor * per * hw + d->cell;
    size_t io = base + (size_t)4 * hw, ic = base + (size_t)(5 + cls) * hw;
    float so = l->output[io], sc = l->output[ic];
    /* g_obj, g_cls: dS/d t_obj and dS/d log(p_cls) or dS/d t_cls */
    float g_obj, g_cls, s;
    switch (score) {
    case DN_SCORE_LOGCONF:
        g_obj = 1 - so;
        g_cls = 1;
        s = logf(so > 1e-30f ? so : 1e-30f) + logf(sc > 1e-30f ? sc : 1e-30f);
        break;
    case DN_SCORE_CONF:
        g_obj = sc * so * (1 - so);
        g_cls = so * sc;
        s = so * sc;
        break;
    default:
        delta_in[io] += 1;
        delta_in[ic] += 1;
        return in[io] + in[ic];
    }
    delta_in[io] += g_obj;
    if (!p->softmax) {
        delta_in[ic] += g_cls * (1 - sc);
    } else {
        for (int j = 0; j < p->classes; j++) {
            size_t ij = base + (size_t)(5 + j) * hw;
            delta_in[ij] += g_cls * ((j == cls) - l->output[ij]);
        }
    }
    return s;
}

static void region_describe(const dn_layer *l, char *buf, size_t n)
{
    const region *p = l->priv;
    snprintf(buf, n, "detection (region) %2d anchors %3d classes %4d x%4d", p->n, p->classes, l->w, l->h);
}

static void region_destroy(dn_layer *l)
{
    region *p = l->priv;
    if (p) dn_free(p->anchors);
    dn_free(p);
    l->priv = NULL;
}

const dn_layer_ops dn_region_ops = {
    .name = "region",
    .create = region_create,
    .forward = region_forward,
    .backward = region_backward,
    .describe = region_describe,
    .destroy = region_destroy,
    .detect = region_detect,
    .random_prior = region_random_prior,
    .seed = region_seed,
};
