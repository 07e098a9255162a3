/* render.c - turns layer-resolution maps into pictures: bilinear upsampling to the network
 * input, undoing the letterbox to the original image, min-max normalisation, the jet colour
 * map and the blended overlay. */
#include "core/core.h"

#include <math.h>
#include <string.h>

/* Bilinear sample of map (mh, mw) at continuous map coordinates (u, v) with pixel centres at
 * integers, clamped at the borders (align_corners = false semantics). */
static float sample(const float *map, int mw, int mh, float u, float v)
{
    if (u < 0) u = 0;
    if (v < 0) v = 0;
    if (u > mw - 1) u = (float)(mw - 1);
    if (v > mh - 1) v = (float)(mh - 1);
    int x0 = (int)u, y0 = (int)v;
    int x1 = x0 + 1 < mw ? x0 + 1 : x0, y1 = y0 + 1 < mh ? y0 + 1 : y0;
    float fx = u - x0, fy = v - y0;
    float a = map[y0 * mw + x0] * (1 - fx) + map[y0 * mw + x1] * fx;
    float b = map[y1 * mw + x0] * (1 - fx) + map[y1 * mw + x1] * fx;
    return a * (1 - fy) + b * fy;
}

void dn_cam_resample(const float *map, int mw, int mh, int net_w, int net_h, int letterboxed, int im_w, int im_h,
                     int normalize, float *out)
{
    int nw = net_w, nh = net_h, dx = 0, dy = 0;
    if (letterboxed) dn_letterbox_geometry(im_w, im_h, net_w, net_h, &nw, &nh, &dx, &dy);
    /* original pixel centre x + .5 -> network pixel dx + (x + .5) * nw / im_w -> map coordinate */
    const float sx = (float)nw / im_w, sy = (float)nh / im_h;
    const float mx = (float)mw / net_w, my = (float)mh / net_h;
    for (int y = 0; y < im_h; y++) {
        float v = (dy + (y + .5f) * sy) * my - .5f;
        for (int x = 0; x < im_w; x++) {
            float u = (dx + (x + .5f) * sx) * mx - .5f;
            float val = sample(map, mw, mh, u, v);
            out[(size_t)y * im_w + x] = val;
        }
    }
    size_t n = (size_t)im_w * im_h;
    if (normalize) dn_normalize(out, n);
}

void dn_normalize(float *x, size_t n)
{
    float lo = 3.4e38f, hi = -3.4e38f;
    for (size_t i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    float *out = x;
    if (!(hi > lo)) {
        memset(out, 0, n * sizeof(float));
        return;
    }
    float inv = 1.f / (hi - lo);
    for (size_t i = 0; i < n; i++) out[i] = (out[i] - lo) * inv;
}

void dn_cam_to_image(const float *map, int mw, int mh, int net_w, int net_h, int letterboxed, int im_w, int im_h,
                     float *out)
{
    dn_cam_resample(map, mw, mh, net_w, net_h, letterboxed, im_w, im_h, 1, out);
}

void dn_colormap_jet(float v, float *r, float *g, float *b)
{
    if (!(v >= 0)) v = 0;
    if (v > 1) v = 1;
    /* piecewise-linear jet: dark blue -> blue -> cyan -> yellow -> red -> dark red */
    float fr = 1.5f - fabsf(4 * v - 3), fg = 1.5f - fabsf(4 * v - 2), fb = 1.5f - fabsf(4 * v - 1);
    *r = fr < 0 ? 0 : (fr > 1 ? 1 : fr);
    *g = fg < 0 ? 0 : (fg > 1 ? 1 : fg);
    *b = fb < 0 ? 0 : (fb > 1 ? 1 : fb);
}

dn_status dn_cam_overlay(const dn_image *photo, const float *map, float alpha, dn_image *out)
{
    dn_status st = dn_image_make(photo->w, photo->h, 3, out);
    if (st != DN_OK) return st;
    const size_t n = (size_t)photo->w * photo->h;
    for (size_t i = 0; i < n; i++) {
        float rgb[3];
        dn_colormap_jet(map[i], &rgb[0], &rgb[1], &rgb[2]);
        for (int c = 0; c < 3; c++) {
            float p = photo->data[(size_t)(photo->c == 3 ? c : 0) * n + i];
            out->data[(size_t)c * n + i] = (1 - alpha) * p + alpha * rgb[c];
        }
    }
    return DN_OK;
}
