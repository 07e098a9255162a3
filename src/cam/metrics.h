/* metrics.h - how well an explanation map localises and how faithful it is (`gradcampp eval`):
 * the Grad-CAM++ paper's Loc(delta) (Chattopadhyay et al., WACV 2018, Table 3), connected
 * components (8-connectivity) with their boxes, box IoU, the pointing game, multi-instance
 * coverage, and Average Drop / Increase in Confidence / Win (Table 1). Pure functions: they read
 * their inputs, write only the buffers they are given, never allocate and never fail. */
#ifndef DN_CAM_METRICS_H
#define DN_CAM_METRICS_H

#include <stddef.h>

/* A box in pixel units of a w x h map: it covers [x1, x2) x [y1, y2). Pixel (x, y) is the unit
 * square [x, x+1) x [y, y+1) and belongs to a box when its centre (x + .5, y + .5) lies inside. */
typedef struct dn_pbox {
    float x1, y1, x2, y2;
} dn_pbox;

/* A YOLO label box (centre x, y and size w, h relative to the image) in pixels of im_w x im_h. */
dn_pbox dn_pbox_from_rel(float x, float y, float w, float h, int im_w, int im_h);
/* Does pixel (px, py) belong to b (its centre inside)? */
int dn_pbox_has(const dn_pbox *b, int px, int py);
/* Intersection over union of two pixel boxes (0 when both are empty). */
float dn_pbox_iou(dn_pbox a, dn_pbox b);

/* Sets mask[y * w + x] = 1 for the pixels inside the union of n boxes, 0 elsewhere; returns the
 * union's area in pixels. mask: (h, w). */
size_t dn_metric_box_mask(const dn_pbox *boxes, int n, int w, int h, unsigned char *mask);

/* Binarises map (n values): bin[i] = map[i] > t when strict, else map[i] >= t. Returns the number
 * of pixels set. */
size_t dn_metric_binarize(const float *map, size_t n, float t, int strict, unsigned char *bin);

/* The paper's localisation metric: Loc = (set pixels of bin inside mask) / (pixels of mask + set
 * pixels of bin outside mask). 0 when both the mask and the binarised map are empty. */
float dn_metric_loc(const unsigned char *bin, const unsigned char *mask, size_t n);

/* Connected components of bin (w x h, 8-connectivity), scanned row by row: writes the box of
 * each of the first `max` components to boxes (may be NULL) and its pixel count to sizes (may be
 * NULL) and returns the total number of components. labels (h, w) receives 0 for background and
 * 1.. for the components; stack needs room for w * h ints (work space). */
int dn_metric_components(const unsigned char *bin, int w, int h, int *labels, int *stack, dn_pbox *boxes,
                         int *sizes, int max);

/* The largest IoU between any of nc component boxes and any of ng ground-truth boxes (0 if none). */
float dn_metric_best_iou(const dn_pbox *comp, int nc, const dn_pbox *gt, int ng);

/* Pointing game: is the map's maximum (the first one in row order) inside one of the ng boxes?
 * A map whose maximum is not above 0 (a flat map) points nowhere: 0. */
int dn_metric_pointing(const float *map, int w, int h, const dn_pbox *gt, int ng);

/* Multi-instance coverage: how many of the ng boxes hold at least one set pixel of bin (w x h);
 * hit (may be NULL) receives 1 or 0 per box. */
int dn_metric_covered(const unsigned char *bin, int w, int h, const dn_pbox *gt, int ng, unsigned char *hit);

/* Relative confidence drop of one map: (y - o) / y, unclamped (0 when y <= 0), where y is the
 * score on the original input and o the score on the input masked by the map. */
float dn_metric_rel_drop(float y, float o);
/* Over n maps with y > 0 (others are ignored): Average Drop % = mean(max(0, y - o) / y) * 100 and
 * % Increase in Confidence = share with o > y, in percent. Returns the number of maps used. */
int dn_metric_faithfulness(const float *y, const float *o, int n, double *avg_drop, double *increase);
/* Win %: the share (in percent) of the n maps with y > 0 where method A's relative drop is
 * smaller than method B's by more than DN_METRIC_TIE (y: the same targets' scores on the original
 * input for both methods). Drops are compared unclamped, so that two increases still rank. */
#define DN_METRIC_TIE 1e-5f
double dn_metric_win(const float *y, const float *oa, const float *ob, int n);

#endif
