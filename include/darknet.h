/* darknet.h - the one public header of the Darknet-compatible engine with Grad-CAM++.
 *
 * Reads Darknet .cfg/.weights files (pjreddie's and AlexeyAB's layer set), runs classifiers and
 * YOLO detectors, and loads/saves images through libjpeg/libpng. Every exported symbol carries the
 * dn_ prefix. Library functions never exit and never print to stdout: they return a dn_status and
 * record a one-line reason (with file, line or layer) readable through dn_last_error(), which is
 * thread-local. Compiles as C11 and as C++.
 */
#ifndef DARKNET_H
#define DARKNET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and errors ------------------------------------------------------------------- */

typedef enum dn_status {
    DN_OK = 0,
    DN_ERR_IO,          /* a file could not be opened, read or written */
    DN_ERR_PARSE,       /* malformed text input (cfg, data, names, list, labels) */
    DN_ERR_FORMAT,      /* malformed binary input (weights, image) */
    DN_ERR_NOMEM,       /* an allocation failed or a size would overflow */
    DN_ERR_RANGE,       /* a value out of its allowed range */
    DN_ERR_UNSUPPORTED, /* valid input that this build cannot handle */
    DN_ERR_ARG          /* a bad argument from the caller */
} dn_status;

/* Name of a status, e.g. "parse error". Never NULL. */
const char *dn_status_str(dn_status s);
/* The reason recorded by the last failing call on this thread ("" if none). Valid until the
 * next failing call on the same thread. */
const char *dn_last_error(void);

/* Where the library's warnings go (e.g. "unused cfg key"): stderr by default; NULL silences. */
void dn_set_log(FILE *f);

/* ---- images ------------------------------------------------------------------------------ */

/* A float image, planar CHW, values in [0,1]. data holds c*h*w floats, owned by the image. */
typedef struct dn_image {
    int w, h, c;
    float *data; /* (c, h, w) */
} dn_image;

/* Largest width or height accepted by the decoders (guards absurd headers). */
#define DN_IMAGE_MAX_SIDE 16384

/* Allocates a zeroed w x h x c image. Errors: DN_ERR_ARG (non-positive size), DN_ERR_NOMEM. */
dn_status dn_image_make(int w, int h, int c, dn_image *out);
/* Frees the pixels and zeroes the struct; accepts NULL and empty images. */
void dn_image_free(dn_image *im);
/* Loads a JPEG or PNG file (detected by content) as an image with `channels` channels (3: RGB,
 * 1: gray; 0: as stored). Errors name the file: DN_ERR_IO, DN_ERR_FORMAT (corrupt, truncated,
 * unknown format, too large). */
dn_status dn_image_load(const char *path, int channels, dn_image *out);
/* Writes 8-bit PNG (1 or 3 channels, values clamped to [0,1]). */
dn_status dn_image_save_png(const dn_image *im, const char *path);
/* Writes a 16-bit grayscale PNG of channel 0 (values clamped to [0,1]). */
dn_status dn_image_save_png16(const dn_image *im, const char *path);
/* Writes a JPEG at the given quality (1..100). */
dn_status dn_image_save_jpeg(const dn_image *im, const char *path, int quality);
/* Darknet's bilinear resize (two passes, scale (in-1)/(out-1)) into dst, which must already
 * have the wanted size and src's channel count. tmp must hold dst->w * src->h * src->c floats. */
void dn_image_resize_into(const dn_image *src, dn_image *dst, float *tmp);
/* Allocating convenience form of dn_image_resize_into. */
dn_status dn_image_resize(const dn_image *src, int w, int h, dn_image *out);
/* Darknet's letterbox: resize keeping the aspect ratio into a w x h image padded with 0.5. */
dn_status dn_image_letterbox(const dn_image *src, int w, int h, dn_image *out);
/* Geometry of a letterbox of an im_w x im_h image into net_w x net_h: the scaled size (new_w,
 * new_h) and its top-left offset (dx, dy) in network pixels. */
void dn_letterbox_geometry(int im_w, int im_h, int net_w, int net_h,
                           int *new_w, int *new_h, int *dx, int *dy);
/* Draws a rectangle outline, `width` pixels thick, colour rgb in [0,1]; clipped to the image. */
void dn_image_draw_box(dn_image *im, int x1, int y1, int x2, int y2, int width,
                       float r, float g, float b);
/* Draws text with a built-in bitmap font on a filled background of colour rgb, top-left at
 * (x, y), glyphs `scale` times the font's size; clipped to the image. */
void dn_image_draw_label(dn_image *im, int x, int y, const char *text, int scale,
                         float r, float g, float b);
/* Darknet's class colour for class `cls` of `classes`, channel c (0..2) in [0,1]. */
float dn_class_color(int c, int cls, int classes);

/* ---- network ----------------------------------------------------------------------------- */

typedef struct dn_network dn_network;

typedef enum dn_task {
    DN_TASK_CLASSIFIER = 0, /* ends in softmax/connected without a detection head */
    DN_TASK_DETECTOR        /* has [yolo] or [region] heads */
} dn_task;

/* Parses a cfg and builds the network with every buffer allocated: batch > 0 images per pass,
 * 0 for one (inference), -1 for training (the cfg's batch / subdivisions, which must divide).
 * Errors name the file and line. Caller frees. */
dn_status dn_network_parse(const char *cfg_path, int batch, dn_network **out);
/* Loads weights in Darknet's format. A file shorter than the cfg needs fails naming the layer;
 * a longer one loads and sets *extra_bytes (may be NULL) to the unread byte count. */
dn_status dn_network_load_weights(dn_network *net, const char *path, long *extra_bytes);
/* Loads a pretrained prefix (a file written by `darknet partial`): like dn_network_load_weights,
 * but a file that ends exactly between two layers is complete; the layers after it keep their
 * values. *layers_loaded (may be NULL) is the index of the first layer not loaded (net's layer
 * count when the file covered them all); *extra_bytes (may be NULL) as above. */
dn_status dn_network_load_weights_prefix(dn_network *net, const char *path, int *layers_loaded,
                                         long *extra_bytes);
/* Convenience: parse then load (weights may be NULL: leave them zero). */
dn_status dn_network_load(const char *cfg_path, const char *weights_path, int batch,
                          dn_network **out);
/* Saves weights in Darknet's format (header 0.2.0, 64-bit seen), writing to a temporary file
 * and renaming it, so a failure never leaves a truncated file under `path`. */
dn_status dn_network_save_weights(const dn_network *net, const char *path);
/* The same for layers 0 .. n-1 only (Darknet's `partial`: a pretrained backbone). */
dn_status dn_network_save_weights_prefix(const dn_network *net, const char *path, int n);
/* Fills every weight with seeded pseudo-random values (for tests and conformance runs).
 * Detection heads then get an objectness prior calibrated on one forward pass of `input`
 * (batch, c, h, w) - or of uniform noise when input is NULL - so that about 3% of anchors
 * fire, as in a trained model, instead of all or none. */
void dn_network_randomize(dn_network *net, uint64_t seed, const float *input);
void dn_network_free(dn_network *net);

/* Prints Darknet's layer table (index, type, filters, size/stride, input -> output, BFLOPs). */
void dn_network_print(const dn_network *net, FILE *f);

int dn_network_width(const dn_network *net);
int dn_network_height(const dn_network *net);
int dn_network_channels(const dn_network *net);
int dn_network_batch(const dn_network *net);
int dn_network_layers(const dn_network *net);
dn_task dn_network_task(const dn_network *net);
/* Number of classes of the output (softmax size or detection classes). */
int dn_network_classes(const dn_network *net);
/* The [net] letter_box key (AlexeyAB): 1 when the model was trained on letterboxed input. */
int dn_network_letterbox(const dn_network *net);
/* Total BFLOPs of one forward pass of one image. */
double dn_network_bflops(const dn_network *net);

/* Threads used by the network's kernels (and OpenBLAS). Default: number of cores. */
void dn_network_set_threads(dn_network *net, int n);

/* Runs the forward pass on input (batch, c, h, w) and returns the last layer's output
 * (batch, outputs), owned by the network, valid until the next call. Not thread-safe per net. */
const float *dn_network_predict(dn_network *net, const float *input);
/* Size of the last layer's output for one image. */
int dn_network_outputs(const dn_network *net);

/* Output of layer i after the last forward pass: data (batch, c, h, w); shape written to c/h/w
 * (may be NULL). Returns NULL when i is out of range. */
const float *dn_network_layer_output(const dn_network *net, int i, int *c, int *h, int *w);
/* The cfg section name of layer i ("convolutional", ...), or NULL when out of range. */
const char *dn_network_layer_type(const dn_network *net, int i);

/* ---- detections -------------------------------------------------------------------------- */

typedef struct dn_box {
    float x, y, w, h; /* centre and size, relative to the original image (0..1) */
} dn_box;

typedef struct dn_detection {
    dn_box bbox;
    int classes;
    float *prob;      /* (classes) per-class confidence, 0 below the threshold */
    float objectness;
    int layer;        /* index of the [yolo]/[region] layer that produced it */
    int anchor;       /* anchor slot within that layer (0..n-1) */
    int cell;         /* row * w + col in that layer's grid */
} dn_detection;

/* Collects detections of batch item 0 whose objectness exceeds thresh after a forward pass,
 * boxes mapped back to an im_w x im_h original; `letterboxed` says whether the input was
 * letterboxed. The array and its prob arrays are allocated; free with dn_detections_free. */
dn_status dn_network_detections(const dn_network *net, int im_w, int im_h, float thresh,
                                int letterboxed, dn_detection **out, int *count);
/* Darknet's per-class greedy NMS: sorts and zeroes prob of suppressed boxes. */
void dn_detections_nms(dn_detection *dets, int count, float iou_thresh);
void dn_detections_free(dn_detection *dets, int count);
float dn_box_iou(dn_box a, dn_box b);

/* ---- explanations: Grad-CAM++ and friends ----------------------------------------------- */

typedef enum dn_cam_method {
    DN_CAM_GRADCAMPP = 0, /* Chattopadhyay et al. 2018, closed form (default) */
    DN_CAM_GRADCAM,       /* Selvaraju et al.: w_k = mean of the gradient */
    DN_CAM_XGRADCAM,      /* w_k = sum(g A) / sum(A) */
    DN_CAM_LAYERCAM,      /* L = relu(sum_k relu(g_k) A_k), pixelwise */
    DN_CAM_HIRESCAM,      /* L = relu(sum_k g_k A_k), pixelwise */
    DN_CAM_SCORECAM,      /* gradient-free: one masked forward pass per channel */
    DN_CAM_EIGENCAM,      /* gradient-free: first principal component of the activations */
    DN_CAM_COUNT
} dn_cam_method;

/* What a detection target differentiates (classifier targets always use the class logit). */
typedef enum dn_cam_score {
    DN_SCORE_LOGIT = 0, /* objectness logit + class logit (the paper's S, Y = exp(S)) */
    DN_SCORE_LOGCONF,   /* log(objectness * class probability) */
    DN_SCORE_CONF,      /* objectness * class probability */
    DN_SCORE_COUNT
} dn_cam_score;

const char *dn_cam_method_name(dn_cam_method m);
/* Returns the method for a name ("gradcampp", "gradcam", ...), or -1. */
int dn_cam_method_parse(const char *name);
const char *dn_cam_score_name(dn_cam_score s);
int dn_cam_score_parse(const char *name);

/* One explanation target. A classifier target names a class (dets NULL). A detector target
 * sums the scores of `ndets` detections of class `cls`: one for a per-detection map, all of
 * the class for the multi-instance class map. */
typedef struct dn_cam_target {
    int cls;
    const dn_detection *dets;
    int ndets;
} dn_cam_target;

/* The automatic layer: for a classifier the last convolutional layer with a spatial map; for a
 * detection the first convolution of its head's branch (the run of convolutional layers at the
 * head's grid size that ends in the head's 1x1 prediction conv). */
int dn_cam_default_layer(const dn_network *net, const dn_detection *det);

/* Computes one map per target at `layer` (negative: counted from the end) after
 * dn_network_predict(net, input). All targets share that forward pass and one batched backward
 * pass that stops at `layer`. maps receives (nt, h, w) floats with h, w of the layer's output
 * (relu'd, not normalised); scores (may be NULL) each target's score. input is read by Score-CAM
 * only (it runs masked forward passes and restores the network's state afterwards).
 * Errors: DN_ERR_RANGE for a layer without a spatial map, out of range, or above a target's
 * head; DN_ERR_ARG for a class out of range. */
dn_status dn_cam_compute(dn_network *net, int layer, dn_cam_method m, dn_cam_score score,
                         const dn_cam_target *t, int nt, const float *input, float *maps,
                         float *scores);
/* Maps a layer-resolution map back to an im_w x im_h original: bilinear to the network input,
 * undoing the letterbox, then min-max normalised to [0,1] (all zeros when the map is flat). */
void dn_cam_to_image(const float *map, int mw, int mh, int net_w, int net_h, int letterboxed,
                     int im_w, int im_h, float *out);
/* Jet colour map of v in [0,1]. */
void dn_colormap_jet(float v, float *r, float *g, float *b);
/* Blends a jet-coloured map (im_w x im_h, values in [0,1]) over the photo: out = (1-alpha) *
 * photo + alpha * jet(map). out is allocated. */
dn_status dn_cam_overlay(const dn_image *photo, const float *map, float alpha, dn_image *out);

/* ---- .data, .names and list files -------------------------------------------------------- */

/* A Darknet key=value options file (.data). */
typedef struct dn_options dn_options;
dn_status dn_options_read(const char *path, dn_options **out);
/* The value of key, or def when absent. The string is owned by the options. */
const char *dn_options_str(const dn_options *o, const char *key, const char *def);
int dn_options_int(const dn_options *o, const char *key, int def);
void dn_options_free(dn_options *o);

/* Reads a file of one item per line (names, image lists): trailing CR/LF and whitespace are
 * stripped, empty lines dropped. *lines is an array of *count strings; free with
 * dn_lines_free. Errors name the file. */
dn_status dn_lines_read(const char *path, char ***lines, int *count);
void dn_lines_free(char **lines, int count);

#ifdef __cplusplus
}
#endif

#endif /* DARKNET_H */
