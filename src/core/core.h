/* core.h - internal declarations shared by core/, layers/, io/, cam/ and the apps: errors,
 * checked allocation, the thread pool, GEMM and friends, activations, and the layer/network
 * structs. Not installed; the public API is include/darknet.h. */
#ifndef DN_CORE_H
#define DN_CORE_H

#include "darknet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__)
#define DN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DN_PRINTF(a, b)
#endif

/* ---- errors (status.c) ---- */
/* Records the thread-local message and returns s, so callers write `return dn_error(...)`. */
dn_status dn_error(dn_status s, const char *fmt, ...) DN_PRINTF(2, 3);
/* A warning line to the log sink (stderr by default). */
void dn_warn(const char *fmt, ...) DN_PRINTF(1, 2);

/* ---- memory (mem.c) ---- */
/* Checked allocation. All library allocations go through these, so a test build can make the
 * N-th call fail (dn_mem_fail_at). They record DN_ERR_NOMEM messages on failure. */
void *dn_malloc(size_t n);
void *dn_calloc(size_t count, size_t size);
void *dn_realloc(void *p, size_t n);
char *dn_strdup(const char *s);
void dn_free(void *p);
/* Makes the n-th allocation from now fail (0 = never). For tests. */
void dn_mem_fail_at(long n);
/* Memory budget of the calling thread: from now on the checked allocations of this thread may
 * request at most `bytes` in total (frees do not give bytes back; SIZE_MAX: no limit, the
 * default); a request over it fails with DN_ERR_NOMEM (dn_alloc_floats: DN_ERR_RANGE naming the
 * layer). Returns the previous budget. dn_network_parse caps itself at DN_MAX_NET_BYTES this
 * way; fuzz targets set a small budget per input. */
size_t dn_mem_budget(size_t bytes);
size_t dn_mem_budget_left(void);
/* Number of checked allocation calls the calling thread has made (for failure sweeps). */
long dn_mem_calls(void);
/* Multiplies sizes, returning 0 on overflow or when the product exceeds `limit`. */
size_t dn_size_mul(size_t a, size_t b, size_t limit);
/* Largest float buffer one layer may own (elements): guards absurd cfg sizes. */
#define DN_MAX_FLOATS ((size_t)1 << 31)
/* Most memory one network may allocate while it is built from a cfg (all layers' buffers and
 * the workspace together); a cfg needing more fails naming the layer. */
#define DN_MAX_NET_BYTES ((size_t)16 << 30)

/* ---- threads (pool.c) ---- */
/* A fixed pool of worker threads. dn_pool_run calls fn(ctx, ith, nth) for ith in 0..nth-1 and
 * returns when all are done; the caller's thread runs slice 0. Kernels own their slice. */
typedef struct dn_pool dn_pool;
typedef void (*dn_pool_fn)(void *ctx, int ith, int nth);
dn_status dn_pool_create(int nthreads, dn_pool **out);
void dn_pool_free(dn_pool *p);
int dn_pool_size(const dn_pool *p);
void dn_pool_run(dn_pool *p, dn_pool_fn fn, void *ctx);
/* Split [0,n) into nth near-equal parts; part ith is [*lo, *hi). */
void dn_split(int n, int ith, int nth, int *lo, int *hi);

/* ---- numeric kernels (gemm.c, im2col.c, blas.c) ---- */
/* C[M,N] = alpha * op(A) * op(B) + beta * C, row-major, with leading dimensions. OpenBLAS when
 * built with OPENBLAS=1, else a blocked portable kernel threaded over pool (pool may be NULL). */
void dn_gemm(dn_pool *pool, int ta, int tb, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void dn_gemm_set_threads(int n);
/* im2col for one image: data (c, h, w) -> cols (c*ksize*ksize, out_h*out_w). */
void dn_im2col(dn_pool *pool, const float *data, int c, int h, int w, int ksize, int stride,
               int pad, int out_h, int out_w, float *cols);
/* col2im (accumulating): cols (c*ksize*ksize, out_h*out_w) added into data (c, h, w); threaded
   over channels when pool is given. */
void dn_col2im(dn_pool *pool, const float *cols, int c, int h, int w, int ksize, int stride, int pad,
               int out_h, int out_w, float *data);

/* ---- activations (activations.c) ---- */
typedef enum dn_activation {
    DN_ACT_LINEAR = 0, DN_ACT_LOGISTIC, DN_ACT_LOGGY, DN_ACT_RELU, DN_ACT_ELU, DN_ACT_SELU,
    DN_ACT_RELIE, DN_ACT_RAMP, DN_ACT_LEAKY, DN_ACT_TANH, DN_ACT_PLSE, DN_ACT_STAIR,
    DN_ACT_HARDTAN, DN_ACT_LHTAN, DN_ACT_RELU6, DN_ACT_MISH, DN_ACT_SWISH, DN_ACT_HARD_MISH,
    DN_ACT_COUNT
} dn_activation;
/* Looks up a cfg activation name; returns -1 when unknown. */
int dn_activation_parse(const char *name);
const char *dn_activation_name(dn_activation a);
/* One value. */
float dn_activate1(float x, dn_activation a);
/* In place over x[0..n). Threaded when pool is non-NULL and n is large. */
void dn_activate(dn_pool *pool, float *x, size_t n, dn_activation a);
/* delta[i] *= f'(at x) where y is the activated output and x the pre-activation input (x is
 * needed only by mish/swish/hard_mish/selu-like functions; may be NULL for the rest). */
void dn_gradient(const float *y, const float *x, size_t n, dn_activation a, float *delta);
/* Does the activation need its pre-activation input kept for the backward pass? */
int dn_activation_needs_input(dn_activation a);

/* ---- the cfg in memory (io/cfg.c) ---- */
typedef struct dn_kv {
    char *key, *val;
    int line;
    int used;
} dn_kv;

typedef struct dn_section {
    char *type; /* "convolutional", ... without brackets */
    int line;
    dn_kv *kv;
    int nkv;
} dn_section;

typedef struct dn_cfg {
    char *path;
    dn_section *sec;
    int nsec;
} dn_cfg;

dn_status dn_cfg_read(const char *path, dn_cfg **out);
/* Parses cfg text held in memory (path is used in messages only). */
dn_status dn_cfg_parse_text(const char *text, size_t len, const char *path, dn_cfg **out);
void dn_cfg_free(dn_cfg *c);
/* Typed lookups. On a malformed value they record an error naming path:line and return
 * non-OK; absent keys give the default. */
dn_status dn_sec_int(const dn_cfg *c, dn_section *s, const char *key, int def, int *out);
dn_status dn_sec_float(const dn_cfg *c, dn_section *s, const char *key, float def, float *out);
/* Raw string value or NULL. Marks the key used. */
const char *dn_sec_str(dn_section *s, const char *key);
/* Line of a key in the section (the section's line when absent). */
int dn_sec_line(const dn_section *s, const char *key);
/* Parses a comma-separated list of ints (or floats) into a new array. */
dn_status dn_sec_int_list(const dn_cfg *c, dn_section *s, const char *key, int **out, int *n);
dn_status dn_sec_float_list(const dn_cfg *c, dn_section *s, const char *key, float **out, int *n);

/* ---- layers ---- */
typedef struct dn_layer dn_layer;
typedef struct dn_layer_ops dn_layer_ops;

/* State passed to forward/backward. */
typedef struct dn_run {
    dn_network *net;
    const float *input; /* (batch, l->c, l->h, l->w) the previous layer's output or the image */
    float *input_delta; /* (dbatch, l->inputs) where this layer's input gradient accumulates, or
                           NULL when the backward pass stops at this layer */
    int dbatch;         /* number of deltas propagated at once (batched targets) */
    int train;          /* training mode (dropout, batch statistics) */
    int stop;           /* backward: layers with index >= stop own a delta; below get none */
} dn_run;


/* Learning-rate step for dn_layer_ops.update (Darknet's rule: w += lr/batch * (dw - decay*batch*w),
 * then dw *= momentum; biases and batch-norm scales without decay). */
typedef struct dn_update {
    float learning_rate, momentum, decay;
    int batch;
} dn_update;

/* A reader over a weights file that tracks the layer being read for error messages. */
typedef struct dn_wreader {
    FILE *f;
    const char *path;
    int transpose; /* connected weights stored transposed (major or minor > 1000) */
    int layer;
    int eof;       /* set when a read came up short */
} dn_wreader;
/* Reads n floats; on a short read records an error naming the layer. */
dn_status dn_wread(dn_wreader *r, float *dst, size_t n);

/* The operations of one layer type; one static table per file in layers/. */
struct dn_layer_ops {
    const char *name; /* cfg section name */
    /* Reads keys from the section, sets out_* shapes, allocates the layer's buffers. l->w/h/c
       and l->batch are already set from the previous layer. */
    dn_status (*create)(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s);
    void (*forward)(dn_layer *l, const dn_run *r);
    /* Propagates l->delta (dbatch, outputs) into r->input_delta (and, for route/shortcut, into
       the deltas of the layers it reads from). Accumulates: never overwrites. */
    void (*backward)(dn_layer *l, const dn_run *r);
    dn_status (*load_weights)(dn_layer *l, dn_wreader *r);
    dn_status (*save_weights)(const dn_layer *l, FILE *f);
    void (*randomize)(dn_layer *l, uint64_t *rng);
    /* One line for the layer table (without the index), e.g. "conv 16 3 x 3/ 1 ...". */
    void (*describe)(const dn_layer *l, char *buf, size_t n);
    void (*destroy)(dn_layer *l);
    /* Detection heads only (else NULL): appends the detections of batch item 0 above thresh,
       mapped to an im_w x im_h original, growing *dets (capacity *cap). */
    dn_status (*detect)(const dn_layer *l, const dn_network *net, int im_w, int im_h,
                        float thresh, int letterboxed, dn_detection **dets, int *n, int *cap);
    /* Detection heads only: after random init, gives the convolution feeding the head (prev)
       a trained-like objectness prior so random networks yield a realistic number of boxes. */
    void (*random_prior)(dn_layer *head, dn_layer *prev);
    /* Training only (NULL for layers without training state): allocates the buffers training
       needs (weight gradients, batch-norm statistics, dropout masks). Idempotent. */
    dn_status (*train_prepare)(dn_layer *l);
    /* Applies the accumulated weight gradients (SGD with momentum and weight decay, Darknet's
       rule) and decays them by the momentum. */
    void (*update)(dn_layer *l, const struct dn_update *u);
    /* Detection heads only: adds dS/d(head input) for detection d, class cls and score variant
       into delta_in (inputs); in is the head's input (its logits). Returns S. */
    float (*seed)(const dn_layer *head, const dn_detection *d, int cls, dn_cam_score score,
                  const float *in, float *delta_in);
};

/* The common header of every layer; type-specific state lives in priv. */
struct dn_layer {
    const dn_layer_ops *ops;
    int index;
    int batch;
    int w, h, c;             /* input shape */
    int out_w, out_h, out_c; /* output shape */
    int inputs, outputs;     /* per image: c*h*w, out_c*out_h*out_w */
    float *output;           /* (batch, out_c, out_h, out_w) */
    float *delta;            /* (dbatch, out_c, out_h, out_w); NULL until backward is prepared */
    int delta_cap;           /* number of images delta has room for */
    double bflops;
    int cfg_line;
    int nweights;            /* floats stored in the weights file */
    int spatial;             /* output keeps a spatial map (for CAM layer choice) */
    size_t workspace;        /* floats of shared scratch this layer needs */
    int classes;             /* classes of a softmax/detection layer, else 0 */
    float cost;              /* training: this layer's loss over the last batch */
    int stopbackward;        /* training (AlexeyAB's key): 1 = the backward pass stops here (this
                                layer and those below are frozen); n > 1: until iteration n */
    void *priv;
};

/* The delta buffer of layer i during a backward pass, or NULL when i is below the stop layer. */
static inline float *dn_run_delta(const dn_run *r, dn_layer *layers, int i)
{
    return i >= r->stop ? layers[i].delta : NULL;
}

/* ---- network ---- */
struct dn_network {
    char *cfg_path;
    dn_layer *layers;
    int n;
    int batch;
    int w, h, c, inputs;
    dn_pool *pool;
    float *workspace; /* shared scratch, e.g. im2col: workspace_size floats */
    size_t workspace_size;
    int major, minor, revision;
    uint64_t seen;
    /* [net] training keys */
    float learning_rate, momentum, decay;
    int adam;              /* [net] adam=1: Adam instead of SGD with momentum (B1, B2, eps) */
    float B1, B2, eps;
    float **adam_m, **adam_v; /* per layer x 3 parameter arrays, allocated by train_prepare */
    int subdivisions, max_batches, burn_in;
    int cfg_batch; /* [net] batch as written (images per update = cfg_batch) */
    float angle, saturation, exposure, hue, aspect, jitter;
    int policy;
    float power, gamma, scale;
    int step;
    int *steps;
    float *scales;
    int num_steps;
    int time_steps;
    /* letterbox preference from [net] (AlexeyAB's key) */
    int letter_box;
    /* training: ground truth of the current batch, read by the loss layers. Classifiers:
       (batch, classes) one-hot; detectors: (batch, DN_MAX_BOXES * 5) of x, y, w, h, class with
       w = 0 ending the list */
    const float *truth;
    int truth_size;
    uint64_t rng; /* training randomness (dropout) */
    int frozen;   /* training: layers 0..frozen-1 got no gradient in the last step (0: none) */
};
#define DN_MAX_BOXES 90

/* Largest input side / layer count / filter count accepted from a cfg. */
#define DN_MAX_SIDE 16384
#define DN_MAX_LAYERS 10000
#define DN_MAX_FILTERS 65536

/* The biases (n) and weights (n, per) of a [convolutional] layer, or NULL for other layers;
 * call dn_conv_refold after changing them. */
float *dn_conv_params(dn_layer *l, float **weights, int *n, int *per);
void dn_conv_refold(dn_layer *l);

/* Backward pass (backward.c). prepare: delta buffers for layers stop..n-1 sized for dbatch
 * targets, those of stop..top zeroed (top: the highest layer that will be seeded). Then the caller seeds deltas (dbatch, outputs) at layer `from` (>= stop) and
 * dn_network_backward propagates them down: afterwards layers[stop].delta holds, per target,
 * the gradient of the seeded score with respect to layer stop's output. Layers below stop do no
 * work; no weight gradients are computed. Needs a forward pass with batch 1 first. */
dn_status dn_network_backward_prepare(dn_network *net, int stop, int top, int dbatch);
void dn_network_backward(dn_network *net, int from, int stop, int dbatch);

/* Re-runs the forward pass from layer `start` (its input is layers[start-1].output, or `input`
 * when start is 0), e.g. after changing a layer's output for finite differences. */
void dn_network_forward_from(dn_network *net, int start, const float *input);

/* Map resampling (cam/render.c): as dn_cam_to_image, normalising only when asked. */
void dn_cam_resample(const float *map, int mw, int mh, int net_w, int net_h, int letterboxed, int im_w, int im_h,
                     int normalize, float *out);
/* Min-max normalises x to [0,1] in place (all zeros when flat). */
void dn_normalize(float *x, size_t n);

/* Grad-CAM++ weight of one channel (cam.c): a (hw) activations, g (hw) gradients. */
float dn_gradcampp_weight(const float *a, const float *g, int hw);

/* Training (train.c). prepare: training buffers and full-batch deltas (call once). step: one
 * forward/backward over a batch (input (batch, c, h, w), truth (batch, truth_size)),
 * accumulating weight gradients; returns the loss per image. update: applies and decays them.
 * rate: Darknet's learning rate at batch_num (policy, burn_in). */
dn_status dn_network_train_prepare(dn_network *net);
float dn_network_train_step(dn_network *net, const float *input, const float *truth, int truth_size);
void dn_network_update(dn_network *net, float rate, int batch);
float dn_network_rate(const dn_network *net, long batch_num);

/* A trainable parameter array and its accumulated update (Darknet's sign: -dLoss/dw summed
 * over the batch); for tests and tools. */
typedef struct dn_param {
    const char *name;
    float *value, *update;
    size_t n;
} dn_param;
/* Fills out (room for 3) with layer l's trainable parameters; returns how many (0: none). */
int dn_layer_train_params(dn_layer *l, dn_param *out);
int dn_connected_train_params(dn_layer *l, dn_param *out);
/* Recomputes the folded inference constants after parameters were changed directly. */
void dn_layer_refold(dn_layer *l);
void dn_connected_refold(dn_layer *l);

/* Training data (io/data.c). */
typedef struct dn_loader_cfg {
    int kind;            /* 0 classifier (labels found in the path), 1 detector (YOLO label files) */
    char **paths;        /* image paths, npaths of them (borrowed) */
    int npaths;
    char **labels;       /* classifier: the strings matched in each path (borrowed) */
    int nlabels;
    int classes;
    int w, h, c, batch;  /* network input and images per batch */
    int augment;         /* 0: plain resize (validation) */
    float jitter, hue, saturation, exposure;
    int flip;
    uint64_t seed;
} dn_loader_cfg;
typedef struct dn_loader dn_loader;
/* Validates every list entry (file exists, exactly one label, label files parse) and starts
 * preparing the first batch. */
dn_status dn_loader_create(const dn_loader_cfg *cfg, dn_loader **out);
/* The next batch: x (batch, c, h, w), truth (batch, classes or DN_MAX_BOXES * 5); owned by the
 * loader, valid until the following call. */
dn_status dn_loader_next(dn_loader *L, float **x, float **truth);
void dn_loader_free(dn_loader *L);
/* Darknet's label path for an image (images/ -> labels/, extension -> .txt). */
dn_status dn_label_path(const char *image, char *out, size_t n);
/* Reads a YOLO label file: up to max boxes of (x, y, w, h, class); errors name file:line. */
dn_status dn_read_labels(const char *path, int classes, float *boxes, int max, int *count);
/* Reads a class map (gradcampp eval -map): lines "label-id network-class[,class...] [comment]"
 * or "label-id -> class"; '#' starts a comment line; a label listed again adds classes to its set.
 * Sets *map (n entries: label -> its first class, -1 where unmapped) and *pairs (npairs sorted,
 * distinct (label, class) pairs); the caller frees both. Labels are 0..1000000, classes
 * 0..classes-1; errors name file:line. */
dn_status dn_read_class_map(const char *path, int classes, int **map, int *n, int **pairs, int *npairs);

/* Atomic output files (io/afile.c): write to a.f, then dn_afile_close(&a, status) renames
 * the temporary over the target when status is DN_OK and every write succeeded, else removes
 * it. Errors name the path. */
typedef struct dn_afile {
    FILE *f;
    char *path, *tmp, *final;
} dn_afile;
dn_status dn_afile_open(dn_afile *a, const char *path);
dn_status dn_afile_close(dn_afile *a, dn_status st);

/* Registry of layer types (layers/registry.c). */
const dn_layer_ops *dn_layer_ops_find(const char *section);

/* Layer lookup helpers for route/shortcut/scale_channels: turns a cfg index (negative =
 * relative to `self`) into an absolute index < self, or records an error and returns -1. */
int dn_layer_ref(const dn_cfg *cfg, const dn_section *s, const char *key, int idx, int self);

/* Random numbers for weight init (splitmix64/xorshift); deterministic per seed. */
uint64_t dn_rng_next(uint64_t *state);
float dn_rng_uniform(uint64_t *state);            /* [0,1) */
float dn_rng_normal(uint64_t *state);             /* N(0,1) */

/* Helpers shared by layers. */
float *dn_alloc_floats(size_t n, const char *what, int layer);
void dn_fill(float *x, size_t n, float v);
void dn_axpy(size_t n, float a, const float *x, float *y);
static inline float dn_logistic(float x) { return 1.f / (1.f + __builtin_expf(-x)); }

#endif /* DN_CORE_H */
