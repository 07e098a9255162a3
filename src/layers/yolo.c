/* yolo.c - [yolo] (YOLOv3/v4 head): logistic on x, y, objectness and classes (scale_x_y applied
 * to x, y as AlexeyAB does), and decoding of boxes: x = (col + x)/w, w = exp(tw)*anchor_w/net_w,
 * confidence = objectness * class probability. Training loss lives with the trainer. */
#include "layer_util.h"

typedef struct yolo {
    int n, total, classes;
    int *mask;      /* (n) anchor indices used by this head */
    float *anchors; /* (2 * total) */
    float scale_x_y;
    float ignore_thresh;
    float iou_normalizer, obj_normalizer; /* training: weights of the box and objectness deltas */
    float iou_thresh; /* training: other anchors whose shape overlaps a truth by more also learn it */
} yolo;

static dn_status yolo_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    yolo *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    GET_INT("classes", 20, &p->classes);
    GET_INT("num", 1, &p->total);
    GET_FLOAT("scale_x_y", 1, &p->scale_x_y);
    GET_FLOAT("ignore_thresh", .5f, &p->ignore_thresh);
    GET_FLOAT("iou_normalizer", 1, &p->iou_normalizer);
    GET_FLOAT("obj_normalizer", 1, &p->obj_normalizer);
    GET_FLOAT("iou_thresh", 1, &p->iou_thresh);
    int new_coords;
    GET_INT("new_coords", 0, &new_coords);
    if (new_coords) return LAYER_FAIL(DN_ERR_UNSUPPORTED, "new_coords", "new_coords=1 (scaled YOLOv4) is not supported");
    /* training keys: read so they are known, used by the trainer */
    static const char *const keys[] = {"jitter", "ignore_thresh", "truth_thresh", "random",
        "cls_normalizer", "iou_loss", "nms_kind", "beta_nms",
        "max_delta", "counters_per_class", "label_smooth_eps", "resize", "focal_loss", "max",
        "objectness_smooth", "track_history_size", "sim_thresh", "dets_for_track",
        "dets_for_show", "track_ciou_norm", "embedding_layer", "map", "show_details", "uc_normalizer",
        "iou_thresh_kind", "scale_x_y"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) dn_sec_str(s, keys[i]);
    if (p->classes < 1 || p->classes > 100000)
        return LAYER_FAIL(DN_ERR_RANGE, "classes", "classes=%d must be in 1..100000", p->classes);
    if (p->total < 1 || p->total > 1000) return LAYER_FAIL(DN_ERR_RANGE, "num", "num=%d must be in 1..1000", p->total);
    int na = 0;
    dn_status st = dn_sec_float_list(cfg, s, "anchors", &p->anchors, &na);
    if (st != DN_OK) return st;
    if (na == 0) {
        p->anchors = dn_calloc((size_t)2 * p->total, sizeof(float));
        if (!p->anchors) return DN_ERR_NOMEM;
        dn_fill(p->anchors, (size_t)2 * p->total, .5f);
    } else if (na < 2 * p->total) {
        return LAYER_FAIL(DN_ERR_RANGE, "anchors", "%d anchor values given, num=%d needs %d", na, p->total, 2 * p->total);
    }
    if ((st = dn_sec_int_list(cfg, s, "mask", &p->mask, &p->n)) != DN_OK) return st;
    if (!p->mask) {
        p->n = p->total;
        p->mask = dn_calloc((size_t)p->n, sizeof(int));
        if (!p->mask) return DN_ERR_NOMEM;
        for (int i = 0; i < p->n; i++) p->mask[i] = i;
    }
    for (int i = 0; i < p->n; i++)
        if (p->mask[i] < 0 || p->mask[i] >= p->total)
            return LAYER_FAIL(DN_ERR_RANGE, "mask", "mask value %d outside 0..%d", p->mask[i], p->total - 1);
    if (l->c != p->n * (p->classes + 5))
        return LAYER_FAIL(DN_ERR_RANGE, "classes",
                          "the input has %d channels but %d masks x (classes %d + 5) = %d are needed",
                          l->c, p->n, p->classes, p->n * (p->classes + 5));
    l->out_w = l->w;
    l->out_h = l->h;
    l->out_c = l->c;
    l->classes = p->classes;
    (void)net;
    return layer_alloc_output(l);
}

static void yolo_loss(dn_layer *l, const dn_network *net);

static void yolo_forward(dn_layer *l, const dn_run *r)
{
    yolo *p = l->priv;
    const int hw = l->w * l->h;
    memcpy(l->output, r->input, (size_t)l->batch * l->outputs * sizeof(float));
    for (int b = 0; b < l->batch; b++)
        for (int n = 0; n < p->n; n++) {
            float *o = l->output + (size_t)b * l->outputs + (size_t)n * hw * (p->classes + 5);
            for (int i = 0; i < 2 * hw; i++) o[i] = dn_logistic(o[i]);
            if (p->scale_x_y != 1.f)
                for (int i = 0; i < 2 * hw; i++) o[i] = o[i] * p->scale_x_y - .5f * (p->scale_x_y - 1);
            for (int i = 4 * hw; i < (p->classes + 5) * hw; i++) o[i] = dn_logistic(o[i]);
        }
    if (r->train && r->net->truth) yolo_loss(l, r->net);
}

/* IoU of anchor n's shape with the truth's shape, both centred at the origin. */
static float anchor_shape_iou(const yolo *p, const dn_network *net, int n, dn_box tr)
{
    dn_box an = {0, 0, p->anchors[2 * n] / net->w, p->anchors[2 * n + 1] / net->h};
    dn_box ts = {0, 0, tr.w, tr.h};
    return dn_box_iou(an, ts);
}

/* The deltas of one truth at anchor a (index into the mask) of cell (col, row): box deltas
 * scaled by (2 - w*h) * iou_normalizer, objectness 1 * obj_normalizer, classes one-hot (when the
 * anchor already learns another truth of this batch item, only this truth's class is added). */
static void yolo_truth_deltas(const yolo *p, const dn_layer *l, const dn_network *net, const float *o,
                              float *d, dn_box tr, int cls, int a, int col, int row)
{
    const int hw = l->w * l->h;
    const int n = p->mask[a];
    size_t base = (size_t)a * (p->classes + 5) * hw + (size_t)row * l->w + col;
    float scale = (2 - tr.w * tr.h) * p->iou_normalizer;
    float tx = tr.x * l->w - col, ty = tr.y * l->h - row;
    float tw = logf(tr.w * net->w / p->anchors[2 * n]), th = logf(tr.h * net->h / p->anchors[2 * n + 1]);
    d[base] = scale * (tx - o[base]);
    d[base + hw] = scale * (ty - o[base + hw]);
    d[base + 2 * hw] = scale * (tw - o[base + 2 * hw]);
    d[base + 3 * hw] = scale * (th - o[base + 3 * hw]);
    d[base + 4 * hw] = p->obj_normalizer * (1 - o[base + 4 * hw]);
    size_t ci = base + (size_t)5 * hw;
    if (d[ci + (size_t)cls * hw] != 0) {
        d[ci + (size_t)cls * hw] = 1 - o[ci + (size_t)cls * hw];
    } else {
        for (int k = 0; k < p->classes; k++) d[ci + (size_t)k * hw] = (k == cls) - o[ci + (size_t)k * hw];
    }
}

/* Training loss (pjreddie's YOLOv3 rule, Darknet's sign: delta = target - output): every
 * anchor's objectness is pushed to 0 unless its box overlaps a truth by more than ignore_thresh;
 * each truth is assigned to the cell it falls in and the anchor (of all heads) whose shape fits
 * it best; if that anchor is in this head it learns the truth (yolo_truth_deltas). AlexeyAB's
 * iou_thresh (default 1: off) also assigns the truth to every other anchor of this head whose
 * shape overlaps the truth's by more than iou_thresh, at the same cell: without it those anchors
 * are only spared the no-object push (their boxes overlap the truth) and never learn its class,
 * so they fire with untrained class scores. AlexeyAB's iou_normalizer and obj_normalizer weight
 * the box and objectness deltas (default 1: pjreddie's loss; AlexeyAB's own default
 * iou_normalizer is .75). The deltas go to the logits unchanged (the logistic's derivative is
 * left out, as in Darknet). cost = |delta|^2. */
static void yolo_loss(dn_layer *l, const dn_network *net)
{
    yolo *p = l->priv;
    const int hw = l->w * l->h, per = p->classes + 5;
    const float *truth = net->truth;
    memset(l->delta, 0, (size_t)l->batch * l->outputs * sizeof(float));
    for (int b = 0; b < l->batch; b++) {
        const float *tb = truth + (size_t)b * net->truth_size;
        float *o = l->output + (size_t)b * l->outputs, *d = l->delta + (size_t)b * l->outputs;
        for (int a = 0; a < p->n; a++)
            for (int i = 0; i < hw; i++) {
                size_t base = (size_t)a * per * hw + i;
                dn_box pred = {(i % l->w + o[base]) / l->w, (i / l->w + o[base + hw]) / l->h,
                               expf(o[base + 2 * hw]) * p->anchors[2 * p->mask[a]] / net->w,
                               expf(o[base + 3 * hw]) * p->anchors[2 * p->mask[a] + 1] / net->h};
                float best = 0;
                for (int t = 0; t < DN_MAX_BOXES && tb[t * 5 + 2] > 0; t++) {
                    dn_box tr = {tb[t * 5], tb[t * 5 + 1], tb[t * 5 + 2], tb[t * 5 + 3]};
                    float iou = dn_box_iou(pred, tr);
                    if (iou > best) best = iou;
                }
                d[base + 4 * hw] = best > p->ignore_thresh ? 0 : p->obj_normalizer * (0 - o[base + 4 * hw]);
            }
        for (int t = 0; t < DN_MAX_BOXES && tb[t * 5 + 2] > 0; t++) {
            dn_box tr = {tb[t * 5], tb[t * 5 + 1], tb[t * 5 + 2], tb[t * 5 + 3]};
            int cls = (int)tb[t * 5 + 4];
            int col = (int)(tr.x * l->w), row = (int)(tr.y * l->h);
            if (col < 0 || col >= l->w || row < 0 || row >= l->h || cls < 0 || cls >= p->classes) continue;
            int best_n = 0;
            float best = 0;
            for (int n = 0; n < p->total; n++) {
                float iou = anchor_shape_iou(p, net, n, tr);
                if (iou > best) {
                    best = iou;
                    best_n = n;
                }
            }
            for (int a = 0; a < p->n; a++) {
                int n = p->mask[a];
                if (n == best_n || (p->iou_thresh < 1 && anchor_shape_iou(p, net, n, tr) > p->iou_thresh))
                    yolo_truth_deltas(p, l, net, o, d, tr, cls, a, col, row);
            }
        }
    }
    double cost = 0;
    for (size_t i = 0; i < (size_t)l->batch * l->outputs; i++) cost += (double)l->delta[i] * l->delta[i];
    l->cost = (float)cost;
}

static void yolo_backward(dn_layer *l, const dn_run *r)
{
    if (!r->input_delta) return;
    yolo *p = l->priv;
    if (r->train) {
        dn_axpy((size_t)l->batch * l->inputs, 1.f, l->delta, r->input_delta);
        return;
    }
    const int hw = l->w * l->h;
    for (int d = 0; d < r->dbatch; d++) {
        int b = d % l->batch;
        for (int n = 0; n < p->n; n++) {
            size_t off = (size_t)n * hw * (p->classes + 5);
            const float *o = l->output + (size_t)b * l->outputs + off;
            const float *dl = l->delta + (size_t)d * l->outputs + off;
            float *din = r->input_delta + (size_t)d * l->inputs + off;
            for (int i = 0; i < 2 * hw; i++) {
                /* o = s*sig - (s-1)/2  =>  sig = (o + (s-1)/2)/s, do/dx = s*sig*(1-sig) */
                float sg = (o[i] + .5f * (p->scale_x_y - 1)) / p->scale_x_y;
                din[i] += dl[i] * p->scale_x_y * sg * (1 - sg);
            }
            for (int i = 2 * hw; i < 4 * hw; i++) din[i] += dl[i];
            for (int i = 4 * hw; i < (p->classes + 5) * hw; i++) din[i] += dl[i] * o[i] * (1 - o[i]);
        }
    }
}

/* Maps a box relative to the (letterboxed) network input back to the original image. */
void dn_correct_box(dn_box *b, int im_w, int im_h, int net_w, int net_h, int letterboxed)
{
    int new_w = net_w, new_h = net_h;
    if (letterboxed) {
        if ((float)net_w / im_w < (float)net_h / im_h) {
            new_w = net_w;
            new_h = (im_h * net_w) / im_w;
        } else {
            new_h = net_h;
            new_w = (im_w * net_h) / im_h;
        }
    }
    b->x = (b->x - (net_w - new_w) / 2. / net_w) / ((float)new_w / net_w);
    b->y = (b->y - (net_h - new_h) / 2. / net_h) / ((float)new_h / net_h);
    b->w *= (float)net_w / new_w;
    b->h *= (float)net_h / new_h;
}

/* Appends one detection, growing the array. */
dn_status dn_detection_push(dn_detection **dets, int *n, int *cap, int classes, dn_detection **out)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        dn_detection *nd = dn_realloc(*dets, (size_t)nc * sizeof *nd);
        if (!nd) return DN_ERR_NOMEM;
        *dets = nd;
        *cap = nc;
    }
    dn_detection *d = &(*dets)[*n];
    memset(d, 0, sizeof *d);
    d->prob = dn_calloc((size_t)classes, sizeof(float));
    if (!d->prob) return DN_ERR_NOMEM;
    d->classes = classes;
    (*n)++;
    *out = d;
    return DN_OK;
}

static dn_status yolo_detect(const dn_layer *l, const dn_network *net, int im_w, int im_h, float thresh,
                             int letterboxed, dn_detection **dets, int *n, int *cap)
{
    const yolo *p = l->priv;
    const int hw = l->w * l->h;
    for (int i = 0; i < hw; i++) {
        int row = i / l->w, col = i % l->w;
        for (int a = 0; a < p->n; a++) {
            const float *o = l->output + (size_t)a * hw * (p->classes + 5);
            float obj = o[4 * hw + i];
            if (!(obj > thresh)) continue;
            dn_detection *d;
            dn_status st = dn_detection_push(dets, n, cap, p->classes, &d);
            if (st != DN_OK) return st;
            d->bbox.x = (col + o[i]) / l->w;
            d->bbox.y = (row + o[hw + i]) / l->h;
            d->bbox.w = expf(o[2 * hw + i]) * p->anchors[2 * p->mask[a]] / net->w;
            d->bbox.h = expf(o[3 * hw + i]) * p->anchors[2 * p->mask[a] + 1] / net->h;
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

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Rescales and shifts the objectness rows of the conv feeding a head so that, on the forward
 * pass just run, the median anchor's objectness logit is `lo` and the top `share` of anchors
 * lie above `hi`: a trained-like spread (few confident anchors, most near zero). */
void dn_head_prior(dn_layer *head, dn_layer *prev, int nanchors, int per_anchor, float share, float lo, float hi)
{
    int n, per;
    float *w;
    float *b = dn_conv_params(prev, &w, &n, &per);
    const int hw = head->w * head->h;
    if (!b || n != head->c) return;
    float *z = dn_malloc((size_t)nanchors * hw * sizeof(float));
    if (!z) return;
    for (int a = 0; a < nanchors; a++)
        for (int i = 0; i < hw; i++)
            z[a * hw + i] = prev->output[(size_t)(a * per_anchor + 4) * hw + i];
    qsort(z, (size_t)nanchors * hw, sizeof(float), cmp_float);
    float z50 = z[(nanchors * hw - 1) / 2], zq = z[(int)((1 - share) * (nanchors * hw - 1))];
    dn_free(z);
    float scale = zq > z50 ? (hi - lo) / (zq - z50) : 1.f;
    for (int a = 0; a < nanchors; a++) {
        int row = a * per_anchor + 4;
        for (int k = 0; k < per; k++) w[(size_t)row * per + k] *= scale;
        /* new logit = scale * (z - b) + b' ; put the median at lo */
        b[row] = lo - scale * (z50 - b[row]);
    }
    dn_conv_refold(prev);
}

static void yolo_random_prior(dn_layer *l, dn_layer *prev)
{
    yolo *p = l->priv;
    dn_head_prior(l, prev, p->n, p->classes + 5, .01f, -12.f, -4.f);
}

/* Score of detection d for class cls (DESIGN 3): logit t_obj + t_cls, log(conf) or conf, where
 * conf = sigmoid(t_obj) * sigmoid(t_cls); adds its gradient w.r.t. the two logits. */
static float yolo_seed(const dn_layer *l, const dn_detection *d, int cls, dn_cam_score score,
                       const float *in, float *delta_in)
{
    const yolo *p = l->priv;
    const int hw = l->w * l->h;
    size_t io = ((size_t)d->anchor * (p->classes + 5) + 4) * hw + d->cell;
    size_t ic = ((size_t)d->anchor * (p->classes + 5) + 5 + cls) * hw + d->cell;
    float so = l->output[io], sc = l->output[ic];
    switch (score) {
    case DN_SCORE_LOGCONF:
        delta_in[io] += 1 - so;
        delta_in[ic] += 1 - sc;
        return logf(so > 1e-30f ? so : 1e-30f) + logf(sc > 1e-30f ? sc : 1e-30f);
    case DN_SCORE_CONF:
        delta_in[io] += sc * so * (1 - so);
        delta_in[ic] += so * sc * (1 - sc);
        return so * sc;
    default:
        delta_in[io] += 1;
        delta_in[ic] += 1;
        return in[io] + in[ic];
    }
}

static void yolo_describe(const dn_layer *l, char *buf, size_t n)
{
    const yolo *p = l->priv;
    snprintf(buf, n, "yolo     %2d anchors %3d classes %4d x%4d", p->n, p->classes, l->w, l->h);
}

static void yolo_destroy(dn_layer *l)
{
    yolo *p = l->priv;
    if (p) {
        dn_free(p->mask);
        dn_free(p->anchors);
    }
    dn_free(p);
    l->priv = NULL;
}

const dn_layer_ops dn_yolo_ops = {
    .name = "yolo",
    .create = yolo_create,
    .forward = yolo_forward,
    .backward = yolo_backward,
    .describe = yolo_describe,
    .destroy = yolo_destroy,
    .detect = yolo_detect,
    .random_prior = yolo_random_prior,
    .seed = yolo_seed,
};
