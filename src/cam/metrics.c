/* metrics.c - localisation and faithfulness metrics of explanation maps (see metrics.h): Loc(delta)
 * of the Grad-CAM++ paper (Chattopadhyay et al., WACV 2018, Table 3), connected-component boxes,
 * IoU, pointing game, multi-instance coverage, Average Drop, Increase in Confidence and Win
 * (Table 1). Pure functions over caller-owned buffers. */
#include "cam/metrics.h"

#include <math.h>

dn_pbox dn_pbox_from_rel(float x, float y, float w, float h, int im_w, int im_h)
{
    dn_pbox b = {(x - w / 2) * im_w, (y - h / 2) * im_h, (x + w / 2) * im_w, (y + h / 2) * im_h};
    return b;
}

int dn_pbox_has(const dn_pbox *b, int px, int py)
{
    float cx = px + .5f, cy = py + .5f;
    return cx >= b->x1 && cx < b->x2 && cy >= b->y1 && cy < b->y2;
}

float dn_pbox_iou(dn_pbox a, dn_pbox b)
{
    float iw = fminf(a.x2, b.x2) - fmaxf(a.x1, b.x1), ih = fminf(a.y2, b.y2) - fmaxf(a.y1, b.y1);
    float inter = iw > 0 && ih > 0 ? iw * ih : 0;
    float aa = fmaxf(a.x2 - a.x1, 0) * fmaxf(a.y2 - a.y1, 0), ab = fmaxf(b.x2 - b.x1, 0) * fmaxf(b.y2 - b.y1, 0);
    float u = aa + ab - inter;
    return u > 0 ? inter / u : 0;
}

/* The pixel columns [*lo, *hi) whose centres lie in [a, b), clamped to [0, n). */
static void pixel_span(float a, float b, int n, int *lo, int *hi)
{
    /* centre p + .5 >= a  <=>  p >= a - .5 ;  p + .5 < b  <=>  p < b - .5 */
    float l = ceilf(a - .5f), h = ceilf(b - .5f);
    *lo = l < 0 ? 0 : l > n ? n : (int)l;
    *hi = h < 0 ? 0 : h > n ? n : (int)h;
}

size_t dn_metric_box_mask(const dn_pbox *boxes, int n, int w, int h, unsigned char *mask)
{
    size_t npx = (size_t)w * h, area = 0;
    for (size_t i = 0; i < npx; i++) mask[i] = 0;
    for (int k = 0; k < n; k++) {
        int x0, x1, y0, y1;
        pixel_span(boxes[k].x1, boxes[k].x2, w, &x0, &x1);
        pixel_span(boxes[k].y1, boxes[k].y2, h, &y0, &y1);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) mask[(size_t)y * w + x] = 1;
    }
    for (size_t i = 0; i < npx; i++) area += mask[i];
    return area;
}

size_t dn_metric_binarize(const float *map, size_t n, float t, int strict, unsigned char *bin)
{
    size_t set = 0;
    if (strict)
        for (size_t i = 0; i < n; i++) set += bin[i] = map[i] > t;
    else
        for (size_t i = 0; i < n; i++) set += bin[i] = map[i] >= t;
    return set;
}

float dn_metric_loc(const unsigned char *bin, const unsigned char *mask, size_t n)
{
    size_t in = 0, out = 0, area = 0;
    for (size_t i = 0; i < n; i++) {
        area += mask[i];
        if (bin[i]) {
            if (mask[i]) in++;
            else out++;
        }
    }
    return area + out ? (float)((double)in / (double)(area + out)) : 0.f;
}

int dn_metric_components(const unsigned char *bin, int w, int h, int *labels, int *stack, dn_pbox *boxes,
                         int *sizes, int max)
{
    size_t npx = (size_t)w * h;
    for (size_t i = 0; i < npx; i++) labels[i] = 0;
    int ncomp = 0;
    for (size_t start = 0; start < npx; start++) {
        if (!bin[start] || labels[start]) continue;
        int id = ++ncomp;
        int minx = w, miny = h, maxx = -1, maxy = -1, count = 0;
        /* depth-first flood fill; every pixel is pushed once (labelled when pushed), so the stack
           never holds more than w * h entries */
        int top = 0;
        stack[top++] = (int)start;
        labels[start] = id;
        while (top > 0) {
            int p = stack[--top], px = p % w, py = p / w;
            count++;
            if (px < minx) minx = px;
            if (px > maxx) maxx = px;
            if (py < miny) miny = py;
            if (py > maxy) maxy = py;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qx = px + dx, qy = py + dy;
                    if ((dx || dy) && qx >= 0 && qx < w && qy >= 0 && qy < h) {
                        int q = qy * w + qx;
                        if (bin[q] && !labels[q]) {
                            labels[q] = id;
                            stack[top++] = q;
                        }
                    }
                }
        }
        if (id <= max) {
            if (boxes) {
                dn_pbox b = {(float)minx, (float)miny, (float)(maxx + 1), (float)(maxy + 1)};
                boxes[id - 1] = b;
            }
            if (sizes) sizes[id - 1] = count;
        }
    }
    return ncomp;
}

float dn_metric_best_iou(const dn_pbox *comp, int nc, const dn_pbox *gt, int ng)
{
    float best = 0;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < ng; j++) {
            float v = dn_pbox_iou(comp[i], gt[j]);
            if (v > best) best = v;
        }
    return best;
}

int dn_metric_pointing(const float *map, int w, int h, const dn_pbox *gt, int ng)
{
    size_t npx = (size_t)w * h, arg = 0;
    if (npx == 0) return 0;
    for (size_t i = 1; i < npx; i++)
        if (map[i] > map[arg]) arg = i;
    if (!(map[arg] > 0)) return 0;
    int px = (int)(arg % (size_t)w), py = (int)(arg / (size_t)w);
    for (int j = 0; j < ng; j++)
        if (dn_pbox_has(&gt[j], px, py)) return 1;
    return 0;
}

int dn_metric_covered(const unsigned char *bin, int w, int h, const dn_pbox *gt, int ng, unsigned char *hit)
{
    int covered = 0;
    for (int j = 0; j < ng; j++) {
        int x0, x1, y0, y1, any = 0;
        pixel_span(gt[j].x1, gt[j].x2, w, &x0, &x1);
        pixel_span(gt[j].y1, gt[j].y2, h, &y0, &y1);
        for (int y = y0; y < y1 && !any; y++)
            for (int x = x0; x < x1; x++)
                if (bin[(size_t)y * w + x]) {
                    any = 1;
                    break;
                }
        covered += any;
        if (hit) hit[j] = (unsigned char)any;
    }
    return covered;
}

float dn_metric_rel_drop(float y, float o) { return y > 0 ? (y - o) / y : 0.f; }

int dn_metric_faithfulness(const float *y, const float *o, int n, double *avg_drop, double *increase)
{
    double drop = 0;
    int used = 0, inc = 0;
    for (int i = 0; i < n; i++) {
        if (!(y[i] > 0)) continue;
        used++;
        drop += y[i] > o[i] ? (double)(y[i] - o[i]) / y[i] : 0.0;
        inc += o[i] > y[i];
    }
    *avg_drop = used ? drop / used * 100 : 0;
    *increase = used ? 100.0 * inc / used : 0;
    return used;
}

double dn_metric_win(const float *y, const float *oa, const float *ob, int n)
{
    int used = 0, wins = 0;
    for (int i = 0; i < n; i++) {
        if (!(y[i] > 0)) continue;
        used++;
        /* drops within DN_METRIC_TIE of each other (float noise of equal maps) are a tie */
        wins += dn_metric_rel_drop(y[i], oa[i]) < dn_metric_rel_drop(y[i], ob[i]) - DN_METRIC_TIE;
    }
    return used ? 100.0 * wins / used : 0;
}
