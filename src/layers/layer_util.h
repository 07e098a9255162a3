/* layer_util.h - small helpers shared by the layer files: reading cfg keys with error
 * propagation, and the common load/save/randomize of plain float arrays. */
#ifndef DN_LAYER_UTIL_H
#define DN_LAYER_UTIL_H

#include "core/core.h"

#include <math.h>
#include <string.h>

#define GET_INT(key, def, dst)                                                                  \
    do {                                                                                       \
        dn_status st_ = dn_sec_int(cfg, s, key, def, dst);                                     \
        if (st_ != DN_OK) return st_;                                                          \
    } while (0)
#define GET_FLOAT(key, def, dst)                                                                \
    do {                                                                                       \
        dn_status st_ = dn_sec_float(cfg, s, key, def, dst);                                   \
        if (st_ != DN_OK) return st_;                                                          \
    } while (0)
/* Fails with a message naming cfg path:line of `key`, the layer index and section. */
#define LAYER_FAIL(code, key, ...)                                                              \
    layer_fail(code, cfg, s, l, key, __VA_ARGS__)

dn_status layer_fail(dn_status code, const dn_cfg *cfg, const dn_section *s, const dn_layer *l,
                     const char *key, const char *fmt, ...) DN_PRINTF(6, 7);
/* Parses the activation key (default def); error names the line. */
dn_status layer_activation(const dn_cfg *cfg, dn_section *s, const dn_layer *l, const char *def,
                           dn_activation *out);
/* Allocates l->output for (batch, outputs) after out_* are set. */
dn_status layer_alloc_output(dn_layer *l);
/* Writes n floats; DN_ERR_IO on a short write. */
dn_status layer_write(FILE *f, const float *x, size_t n);
/* Fills x with N(mean, sd) or U(lo, hi) samples. */
void layer_rand_normal(uint64_t *rng, float *x, size_t n, float mean, float sd);
void layer_rand_uniform(uint64_t *rng, float *x, size_t n, float lo, float hi);

/* Batch normalisation and biases shared by [convolutional] and [connected] (batchnorm.c). */
#define DN_BN_EPS .00001f
typedef struct dn_bn {
    int n, on;                                      /* channels; batch_normalize */
    float *biases, *scales, *rolling_mean, *rolling_variance; /* (n) weights-file values */
    float *fscale, *fshift;                         /* (n) folded: y = x * fscale + fshift */
    float *bias_updates, *scale_updates, *mean, *variance;   /* (n) training */
    float *bn_x, *x_norm;                           /* (batch, stride) training */
} dn_bn;
dn_status dn_bn_create(dn_bn *b, int n, int on, int layer);
dn_status dn_bn_train_prepare(dn_bn *b, size_t total, int layer);
void dn_bn_free(dn_bn *b);
void dn_bn_fold(dn_bn *b);
/* out (batch, n, spatial) holds the raw layer output; normalises with batch statistics, scales,
 * adds the biases, copies the pre-activation to x when non-NULL, and applies act. */
void dn_bn_train_forward(dn_pool *pool, dn_bn *b, float *out, int batch, int spatial, size_t stride, float *x, dn_activation act);
/* delta already multiplied by the activation's derivative: accumulates bias/scale updates and
 * turns delta into the gradient w.r.t. the raw output. */
void dn_bn_train_backward(dn_pool *pool, dn_bn *b, float *delta, int batch, int spatial, size_t stride);
void dn_bn_update(dn_bn *b, const dn_update *u);
void dn_sgd_update(float *w, float *dw, size_t n, const dn_update *u);
dn_status dn_bn_load_stats(dn_bn *b, dn_wreader *r);
dn_status dn_bn_save_stats(const dn_bn *b, FILE *f);
void dn_bn_randomize(dn_bn *b, uint64_t *rng);

/* Detection helpers shared by [yolo] and [region] (yolo.c). */
void dn_correct_box(dn_box *b, int im_w, int im_h, int net_w, int net_h, int letterboxed);
dn_status dn_detection_push(dn_detection **dets, int *n, int *cap, int classes, dn_detection **out);

void dn_head_prior(dn_layer *head, dn_layer *prev, int nanchors, int per_anchor, float share, float lo,
                   float hi);

#endif
