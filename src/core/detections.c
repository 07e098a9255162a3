/* detections.c - collects detections from every [yolo]/[region] head after a forward pass, and
 * Darknet's per-class greedy NMS (sort by the class's confidence, zero the overlapping). */
#include "core.h"

#include <string.h>

dn_status dn_network_detections(const dn_network *net, int im_w, int im_h, float thresh,
                                int letterboxed, dn_detection **out, int *count)
{
    *out = NULL;
    *count = 0;
    if (im_w < 1 || im_h < 1) return dn_error(DN_ERR_ARG, "image size %d x %d is invalid", im_w, im_h);
    dn_detection *dets = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < net->n; i++) {
        const dn_layer *l = &net->layers[i];
        if (!l->ops->detect) continue;
        dn_status st = l->ops->detect(l, net, im_w, im_h, thresh, letterboxed, &dets, &n, &cap);
        if (st != DN_OK) {
            dn_detections_free(dets, n);
            return st;
        }
    }
    *out = dets;
    *count = n;
    return DN_OK;
}

void dn_detections_free(dn_detection *dets, int count)
{
    if (!dets) return;
    for (int i = 0; i < count; i++) dn_free(dets[i].prob);
    dn_free(dets);
}

static float overlap(float x1, float w1, float x2, float w2)
{
    float l1 = x1 - w1 / 2, l2 = x2 - w2 / 2;
    float left = l1 > l2 ? l1 : l2;
    float r1 = x1 + w1 / 2, r2 = x2 + w2 / 2;
    float right = r1 < r2 ? r1 : r2;
    return right - left;
}

float dn_box_iou(dn_box a, dn_box b)
{
    float w = overlap(a.x, a.w, b.x, b.w), h = overlap(a.y, a.h, b.y, b.h);
    float inter = (w < 0 || h < 0) ? 0 : w * h;
    float uni = a.w * a.h + b.w * b.h - inter;
    return uni > 0 ? inter / uni : 0;
}

static _Thread_local int g_sort_class;

static int by_prob_desc(const void *pa, const void *pb)
{
    const dn_detection *a = pa, *b = pb;
    float d = a->prob[g_sort_class] - b->prob[g_sort_class];
    return d < 0 ? 1 : (d > 0 ? -1 : 0);
}

void dn_detections_nms(dn_detection *dets, int count, float iou_thresh)
{
    if (count < 1) return;
    int classes = dets[0].classes;
    for (int k = 0; k < classes; k++) {
        g_sort_class = k;
        qsort(dets, (size_t)count, sizeof *dets, by_prob_desc);
        int m = 0; /* the boxes with a score for class k come first */
        while (m < count && dets[m].prob[k] > 0) m++;
        for (int i = 0; i < m; i++) {
            if (dets[i].prob[k] == 0) continue;
            for (int j = i + 1; j < m; j++)
                if (dets[j].prob[k] > 0 && dn_box_iou(dets[i].bbox, dets[j].bbox) > iou_thresh) dets[j].prob[k] = 0;
        }
    }
}
