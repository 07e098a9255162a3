/* gradcampp.c - `darknet gradcampp [data] cfg weights image [image ...]`: predictions plus
 * heat-map overlays. Classifiers: the top-k like `classifier predict`, one map per class.
 * Detectors: the detections like `detector test`, one map per detection and one per detected
 * class (the multi-instance map), from one forward and one batched backward pass per layer. */
#include "app.h"
#include "io/json.h"
#include "core/core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

int cmd_gradcampp(int argc, char **argv);
int cmd_gradcampp_eval(int argc, char **argv);
int cmd_gradcampp_demo(int argc, char **argv);

typedef struct gc_opts {
    const char *method_s, *target_s, *layers_s, *out;
    int method, score, top, cls, raw, json, no_letterbox, letterbox, quiet;
    float thresh, nms, alpha;
    int layer_given, layer;
    int nlayers, layers[16];
} gc_opts;

/* One map to produce: a label, a target, and the layer(s). */
typedef struct gc_job {
    char label[256];   /* e.g. "det3_dog" or "class_dog" */
    char what[256];    /* human description */
    int cls;
    dn_detection *dets; /* detections summed (NULL: classifier class) */
    int ndets;
    int det_index;     /* index in the printed detection list, -1 for class maps */
    float score;
    int layer_used;
    float *map;        /* (im_h, im_w) normalised */
    int skip;          /* no layer could explain it */
    char file[4096];
} gc_job;

static const char *base_name(const char *path, char *buf, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, n, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = 0;
    return buf;
}

static void safe_name(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (; *in && k + 1 < n; in++) {
        char c = *in;
        out[k++] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') ? c : '_';
    }
    out[k] = 0;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    struct stat sb;
    return stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

/* Computes the map of each job (already given its target) at its layer(s): jobs sharing a layer
 * go through dn_cam_compute together. Maps are written at image resolution, normalised. */
static dn_status compute_maps(dn_network *net, const gc_opts *o, gc_job *jobs, int nj, int *job_layer,
                              const float *input, int im_w, int im_h, int letter)
{
    size_t npx = (size_t)im_w * im_h;
    float *acc = dn_malloc(npx * sizeof(float));
    float *tmp = dn_malloc(npx * sizeof(float));
    if (!acc || !tmp) {
        dn_free(acc), dn_free(tmp);
        return DN_ERR_NOMEM;
    }
    dn_status st = DN_OK;
    for (int j = 0; j < nj; j++) {
        jobs[j].map = dn_calloc(npx, sizeof(float));
        if (!jobs[j].map) {
            st = DN_ERR_NOMEM;
            goto done;
        }
    }
    /* distinct layers in use */
    int nl = 0, lay[64];
    for (int j = 0; j < nj; j++) {
        int k;
        for (k = 0; k < nl && lay[k] != job_layer[j]; k++) {}
        if (k == nl && nl < 64) lay[nl++] = job_layer[j];
    }
    for (int li = 0; li < nl && st == DN_OK; li++) {
        int layer = lay[li];
        int c, h, w;
        dn_network_layer_output(net, layer, &c, &h, &w);
        int cnt = 0;
        for (int j = 0; j < nj; j++) cnt += job_layer[j] == layer;
        dn_cam_target *t = dn_calloc((size_t)cnt, sizeof *t);
        float *maps = dn_calloc((size_t)cnt * h * w, sizeof(float));
        float *scores = dn_calloc((size_t)cnt, sizeof(float));
        int *idx = dn_calloc((size_t)cnt, sizeof(int));
        if (!t || !maps || !scores || !idx) {
            st = DN_ERR_NOMEM;
        } else {
            int k = 0;
            for (int j = 0; j < nj; j++)
                if (job_layer[j] == layer) {
                    t[k].cls = jobs[j].cls;
                    t[k].dets = jobs[j].dets;
                    t[k].ndets = jobs[j].ndets;
                    idx[k++] = j;
                }
            st = dn_cam_compute(net, layer, (dn_cam_method)o->method, (dn_cam_score)o->score, t, cnt, input, maps, scores);
            for (k = 0; st == DN_OK && k < cnt; k++) {
                gc_job *jb = &jobs[idx[k]];
                dn_cam_resample(maps + (size_t)k * h * w, w, h, dn_network_width(net), dn_network_height(net), letter,
                                im_w, im_h, 0, tmp);
                /* several layers of one job (fusion or per-head class parts) are summed after each
                   is normalised, so each layer counts equally */
                dn_normalize(tmp, npx);
                for (size_t i = 0; i < npx; i++) jb->map[i] += tmp[i];
                jb->score += scores[k];
                jb->layer_used = layer;
            }
        }
        dn_free(t), dn_free(maps), dn_free(scores), dn_free(idx);
    }
    for (int j = 0; j < nj && st == DN_OK; j++) dn_normalize(jobs[j].map, npx);
done:
    dn_free(acc), dn_free(tmp);
    return st;
}

/* Writes the overlay, raw outputs; fills job->file. */
static dn_status write_job(const gc_opts *o, const dn_image *photo, gc_job *jb, const char *stem, const dn_box *box,
                           const char *boxlabel, int cls, int classes)
{
    dn_image ov;
    dn_status st = dn_cam_overlay(photo, jb->map, o->alpha, &ov);
    if (st != DN_OK) return st;
    if (box) {
        int l = (int)((box->x - box->w / 2) * photo->w), r = (int)((box->x + box->w / 2) * photo->w);
        int t = (int)((box->y - box->h / 2) * photo->h), b = (int)((box->y + box->h / 2) * photo->h);
        float cr = dn_class_color(2, cls, classes), cg = dn_class_color(1, cls, classes), cb = dn_class_color(0, cls, classes);
        int wdt = photo->h / 160 > 1 ? photo->h / 160 : 1;
        dn_image_draw_box(&ov, l, t, r, b, wdt, cr, cg, cb);
        int sc = photo->h >= 400 ? 2 : 1;
        dn_image_draw_label(&ov, l < 0 ? 0 : l, t - 8 * sc - 2 >= 0 ? t - 8 * sc - 2 : (t < 0 ? 0 : t), boxlabel, sc, cr, cg, cb);
    }
    int sc = photo->h >= 400 ? 2 : 1;
    dn_image_draw_label(&ov, 0, photo->h - 8 * sc - 2, jb->what, sc, 1, 1, 1);
    snprintf(jb->file, sizeof jb->file, "%s/%s_%s.png", o->out, stem, jb->label);
    st = dn_image_save_png(&ov, jb->file);
    dn_image_free(&ov);
    if (st != DN_OK || !o->raw) return st;
    char path[4200];
    dn_image m = {photo->w, photo->h, 1, jb->map};
    snprintf(path, sizeof path, "%s/%s_%s.raw.png", o->out, stem, jb->label);
    return dn_image_save_png16(&m, path);
}

/* Writes the layer-resolution map of a job as text (-raw): recomputed cheaply from the job's
 * layer would need the network; instead the caller passes it. */
static dn_status write_text_map(const char *path, const float *map, int w, int h)
{
    dn_afile af;
    dn_status st = dn_afile_open(&af, path);
    if (st != DN_OK) return st;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) fprintf(af.f, "%.6g%c", map[y * w + x], x + 1 < w ? ' ' : '\n');
    return dn_afile_close(&af, DN_OK);
}

/* A grid of all overlays, each scaled to at most 320 px wide. */
static dn_status write_summary(const gc_opts *o, const dn_image *photo, gc_job *jobs, int nj, const char *path)
{
    int tw = photo->w > 320 ? 320 : photo->w;
    int th = (int)((long)photo->h * tw / photo->w);
    if (th < 1) th = 1;
    int shown = 0;
    for (int j = 0; j < nj; j++) shown += !jobs[j].skip;
    if (shown == 0) return DN_OK;
    int cols = shown < 4 ? shown : 4, rows = (shown + cols - 1) / cols;
    dn_image grid, ov, small;
    dn_status st = dn_image_make(cols * tw, rows * th, 3, &grid);
    if (st != DN_OK) return st;
    float *tmp = dn_malloc((size_t)tw * photo->h * 3 * sizeof(float));
    if (!tmp) {
        dn_image_free(&grid);
        return DN_ERR_NOMEM;
    }
    for (int j = 0, cell = 0; j < nj && st == DN_OK; j++) {
        if (jobs[j].skip) continue;
        if ((st = dn_cam_overlay(photo, jobs[j].map, o->alpha, &ov)) != DN_OK) break;
        if ((st = dn_image_make(tw, th, 3, &small)) != DN_OK) {
            dn_image_free(&ov);
            break;
        }
        dn_image_resize_into(&ov, &small, tmp);
        dn_image_draw_label(&small, 0, 0, jobs[j].what, 1, 1, 1, 1);
        int gx = (cell % cols) * tw, gy = (cell / cols) * th;
        cell++;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < th; y++)
                memcpy(grid.data + ((size_t)c * grid.h + gy + y) * grid.w + gx, small.data + ((size_t)c * th + y) * tw,
                       (size_t)tw * sizeof(float));
        dn_image_free(&small);
        dn_image_free(&ov);
    }
    if (st == DN_OK) st = dn_image_save_png(&grid, path);
    dn_free(tmp);
    dn_image_free(&grid);
    return st;
}

static int parse_layers(const char *s, gc_opts *o)
{
    o->nlayers = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || o->nlayers >= 16) return -1;
        o->layers[o->nlayers++] = (int)v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return o->nlayers ? 0 : -1;
}

/* Resolves a user layer index (negative from the end) and checks it has a spatial map. */
static int resolve_layer(dn_network *net, int layer, const char *what)
{
    int n = dn_network_layers(net);
    int l = layer < 0 ? n + layer : layer;
    if (l < 0 || l >= n) {
        fprintf(stderr, "darknet: %s %d is out of range (the network has layers 0..%d)\n", what, layer, n - 1);
        return -1;
    }
    int c, h, w;
    dn_network_layer_output(net, l, &c, &h, &w);
    if (w * h < 2) {
        fprintf(stderr, "darknet: %s %d [%s] has no spatial map (%d x %d x %d)\n", what, layer,
                dn_network_layer_type(net, l), w, h, c);
        return -1;
    }
    return l;
}

/* Explains one image; returns APP_OK, or APP_FAIL on an unreadable image or write error. */
static int explain_image(dn_network *net, const gc_opts *o, const char *path, char **names, int nnames, FILE *jf,
                         int *first_json)
{
    dn_image im = {0}, sized = {0};
    dn_detection *dets = NULL;
    int ndet = 0, rc = APP_FAIL, nj = 0;
    gc_job *jobs = NULL;
    int *top = NULL;
    char stem[1024];
    base_name(path, stem, sizeof stem);
    dn_status st = dn_image_load(path, dn_network_channels(net), &im);
    if (st != DN_OK) {
        app_error("", st);
        return APP_FAIL;
    }
    /* input geometry: -letterbox / -no_letterbox, else classifiers letterbox (pjreddie's
       classifier predict) and detectors follow the cfg's letter_box key (default 0: a plain
       resize, as AlexeyAB's Darknet trains and runs YOLO models; letterbox padding also puts
       spurious peaks on the image edges of the maps) */
    int letter = o->letterbox ? 1 : o->no_letterbox ? 0
                 : dn_network_task(net) == DN_TASK_CLASSIFIER ? 1 : dn_network_letterbox(net);
    st = letter ? dn_image_letterbox(&im, dn_network_width(net), dn_network_height(net), &sized)
                : dn_image_resize(&im, dn_network_width(net), dn_network_height(net), &sized);
    if (st != DN_OK) {
        app_error(path, st);
        goto done;
    }
    double t0 = app_now();
    const float *pred = dn_network_predict(net, sized.data);
    double t_fwd = app_now() - t0;
    int detector = dn_network_task(net) == DN_TASK_DETECTOR;
    int classes = dn_network_classes(net);
    printf("%s: Predicted in %f seconds.\n", path, t_fwd);
    if (!detector) {
        int k = o->cls >= 0 ? 1 : o->top;
        if (o->cls >= classes) {
            fprintf(stderr, "darknet: -class %d is out of range 0..%d\n", o->cls, classes - 1);
            goto done;
        }
        top = calloc((size_t)k, sizeof(int));
        jobs = calloc((size_t)k, sizeof *jobs);
        if (!top || !jobs) goto done;
        const float *probs = pred;
        if (o->cls >= 0) {
            top[0] = o->cls;
        } else {
            for (int i = 0; i < k; i++) top[i] = -1;
            for (int i = 0; i < classes; i++)
                for (int j = 0; j < k; j++)
                    if (top[j] < 0 || probs[i] > probs[top[j]]) {
                        memmove(top + j + 1, top + j, (size_t)(k - j - 1) * sizeof(int));
                        top[j] = i;
                        break;
                    }
        }
        for (int i = 0; i < k; i++) {
            printf("%5.2f%%: %s\n", probs[top[i]] * 100, names[top[i]]);
            gc_job *jb = &jobs[nj];
            char sn[200];
            safe_name(names[top[i]], sn, sizeof sn);
            snprintf(jb->label, sizeof jb->label, "top%d_%s", i + 1, sn);
            snprintf(jb->what, sizeof jb->what, "%s %.1f%%", names[top[i]], probs[top[i]] * 100);
            jb->cls = top[i];
            jb->det_index = -1;
            nj++;
        }
    } else {
        st = dn_network_detections(net, im.w, im.h, o->thresh, letter, &dets, &ndet);
        if (st != DN_OK) {
            app_error(path, st);
            goto done;
        }
        if (o->nms > 0) dn_detections_nms(dets, ndet, o->nms);
        /* one job per (detection, class above thresh), printed like detector test */
        int cap = 16;
        jobs = calloc((size_t)cap, sizeof *jobs);
        if (!jobs) goto done;
        int printed = 0;
        for (int i = 0; i < ndet; i++)
            for (int k = 0; k < dets[i].classes; k++) {
                if (!(dets[i].prob[k] > o->thresh)) continue;
                if (o->cls >= 0 && k != o->cls) continue;
                dn_box b = dets[i].bbox;
                printf("%s: %.0f%%\t(left_x: %4.0f   top_y: %4.0f   width: %4.0f   height: %4.0f)\n", names[k],
                       dets[i].prob[k] * 100, (b.x - b.w / 2) * im.w, (b.y - b.h / 2) * im.h, b.w * im.w, b.h * im.h);
                if (nj == cap) {
                    cap *= 2;
                    gc_job *nj2 = realloc(jobs, (size_t)cap * sizeof *jobs);
                    if (!nj2) goto done;
                    jobs = nj2;
                }
                gc_job *jb = &jobs[nj];
                memset(jb, 0, sizeof *jb);
                char sn[200];
                safe_name(names[k], sn, sizeof sn);
                snprintf(jb->label, sizeof jb->label, "det%d_%s", printed, sn);
                snprintf(jb->what, sizeof jb->what, "%s %.0f%%", names[k], dets[i].prob[k] * 100);
                jb->cls = k;
                jb->dets = &dets[i];
                jb->ndets = 1;
                jb->det_index = printed++;
                nj++;
            }
        if (nj == 0) {
            printf("%s: no detections above -thresh %.2f: no maps written\n", path, o->thresh);
            rc = APP_OK;
            goto done;
        }
        /* class maps: all detections of the class, split per head so each part uses its head's
           layer (with -layer/-layers one part) */
        int ndetjobs = nj;
        for (int j = 0; j < ndetjobs; j++) {
            int k = jobs[j].cls, seen = 0;
            for (int q = ndetjobs; q < nj; q++) seen |= jobs[q].cls == k;
            if (seen) continue;
            int members = 0;
            for (int q = 0; q < ndetjobs; q++) members += jobs[q].cls == k;
            if (nj + 1 > cap) {
                cap *= 2;
                gc_job *nj2 = realloc(jobs, (size_t)cap * sizeof *jobs);
                if (!nj2) goto done;
                jobs = nj2;
            }
            gc_job *jb = &jobs[nj];
            memset(jb, 0, sizeof *jb);
            char sn[200];
            safe_name(names[k], sn, sizeof sn);
            snprintf(jb->label, sizeof jb->label, "class_%s", sn);
            snprintf(jb->what, sizeof jb->what, "class %s (%d instance%s)", names[k], members, members > 1 ? "s" : "");
            jb->cls = k;
            jb->det_index = -1;
            jb->ndets = members;
            nj++;
        }
    }
    /* targets -> (job, layer) work items */
    {
        int cap = nj * (o->nlayers ? o->nlayers : 1) * 4 + 8, nw = 0;
        gc_job *work = calloc((size_t)cap, sizeof *work);
        int *wjob = calloc((size_t)cap, sizeof(int));
        int *wl = calloc((size_t)cap, sizeof(int));
        dn_detection **cls_dets = calloc((size_t)nj, sizeof(dn_detection *));
        if (!work || !wjob || !wl || !cls_dets) {
            free(work), free(wjob), free(wl), free(cls_dets);
            goto done;
        }
        for (int j = 0; j < nj; j++) {
            gc_job *jb = &jobs[j];
            if (detector && jb->det_index < 0) {
                /* gather this class's detections into a contiguous array */
                cls_dets[j] = calloc((size_t)jb->ndets, sizeof(dn_detection));
                if (!cls_dets[j]) continue;
                int m = 0;
                for (int q = 0; q < nj; q++)
                    if (jobs[q].det_index >= 0 && jobs[q].cls == jb->cls) cls_dets[j][m++] = *jobs[q].dets;
                jb->dets = cls_dets[j];
            }
            /* layers for this job */
            int ls[32], nls = 0;
            if (o->nlayers) {
                for (int q = 0; q < o->nlayers; q++) ls[nls++] = o->layers[q];
            } else if (!detector) {
                ls[nls++] = dn_cam_default_layer(net, NULL);
            } else {
                for (int q = 0; q < jb->ndets && nls < 32; q++) {
                    int l = dn_cam_default_layer(net, &jb->dets[q]);
                    int dup = 0;
                    for (int r = 0; r < nls; r++) dup |= ls[r] == l;
                    if (!dup) ls[nls++] = l;
                }
            }
            for (int q = 0; q < nls && nw < cap; q++) {
                /* each work item explains the job's detections whose head the layer can see */
                work[nw] = *jb;
                work[nw].map = NULL;
                if (detector) {
                    /* the detections this layer explains: with the automatic choice those whose
                       head's layer it is, with -layer those whose head lies above it */
                    int m = 0;
                    dn_detection *sub = calloc((size_t)jb->ndets, sizeof *sub);
                    if (!sub) continue;
                    for (int r = 0; r < jb->ndets; r++)
                        if (o->nlayers ? jb->dets[r].layer - 1 >= ls[q] : dn_cam_default_layer(net, &jb->dets[r]) == ls[q])
                            sub[m++] = jb->dets[r];
                    if (m == 0) {
                        fprintf(stderr, "%s: %s: layer %d lies above the head of this detection: no gradient reaches it, skipped\n",
                                path, jb->label, ls[q]);
                        free(sub);
                        continue;
                    }
                    work[nw].dets = sub;
                    work[nw].ndets = m;
                    work[nw].det_index = -2; /* owns sub */
                }
                wjob[nw] = j;
                wl[nw] = ls[q];
                nw++;
            }
        }
        st = compute_maps(net, o, work, nw, wl, sized.data, im.w, im.h, letter);
        size_t npx = (size_t)im.w * im.h;
        for (int j = 0; j < nj && st == DN_OK; j++) {
            jobs[j].map = calloc(npx, sizeof(float));
            if (!jobs[j].map) {
                st = DN_ERR_NOMEM;
                break;
            }
            int parts = 0;
            for (int q = 0; q < nw; q++)
                if (wjob[q] == j) {
                    for (size_t i = 0; i < npx; i++) jobs[j].map[i] += work[q].map[i];
                    jobs[j].score += work[q].score;
                    jobs[j].layer_used = work[q].layer_used;
                    parts++;
                }
            if (parts > 1) dn_normalize(jobs[j].map, npx);
            jobs[j].skip = parts == 0;
        }
        for (int q = 0; q < nw; q++) {
            dn_free(work[q].map);
            if (work[q].det_index == -2) free(work[q].dets);
        }
        if (st != DN_OK) {
            app_error(path, st);
            for (int j = 0; j < nj; j++) {
                free(cls_dets[j]);
                if (detector && jobs[j].det_index < 0) jobs[j].dets = NULL;
            }
            free(work), free(wjob), free(wl), free(cls_dets);
            goto done;
        }
        /* layer description for the console and JSON */
        for (int j = 0; j < nj; j++) {
            char lay[256] = "";
            int k = 0;
            for (int q = 0; q < nw; q++)
                if (wjob[q] == j && k + 8 < (int)sizeof lay) k += snprintf(lay + k, sizeof lay - k, "%s%d", k ? "," : "", wl[q]);
            char *w = jobs[j].what + strlen(jobs[j].what);
            snprintf(w, sizeof jobs[j].what - (size_t)(w - jobs[j].what), " | %s L%s", dn_cam_method_name((dn_cam_method)o->method), lay);
        }
        /* write files */
        for (int j = 0; j < nj && st == DN_OK; j++) {
            gc_job *jb = &jobs[j];
            if (jb->skip) continue;
            char bl[300];
            snprintf(bl, sizeof bl, "%s", jb->what);
            char *bar = strstr(bl, " |");
            if (bar) *bar = 0;
            st = write_job(o, &im, jb, stem, jb->det_index >= 0 ? &jb->dets->bbox : NULL, bl, jb->cls, classes);
            if (st == DN_OK && o->raw) {
                /* layer-resolution text map of the last layer used */
                int c, h, w;
                dn_network_layer_output(net, jb->layer_used, &c, &h, &w);
                float *m = calloc((size_t)h * w, sizeof(float));
                dn_cam_target t = {jb->cls, jb->dets, jb->det_index >= 0 ? 1 : jb->ndets};
                if (m && detector && jb->det_index < 0) {
                    int q = 0;
                    dn_detection *sub = calloc((size_t)jb->ndets, sizeof *sub);
                    for (int r = 0; sub && r < jb->ndets; r++)
                        if (o->nlayers || dn_cam_default_layer(net, &jb->dets[r]) == jb->layer_used) sub[q++] = jb->dets[r];
                    t.dets = sub;
                    t.ndets = q;
                    if (sub) st = dn_cam_compute(net, jb->layer_used, (dn_cam_method)o->method, (dn_cam_score)o->score, &t, 1, sized.data, m, NULL);
                    free(sub);
                } else if (m) {
                    st = dn_cam_compute(net, jb->layer_used, (dn_cam_method)o->method, (dn_cam_score)o->score, &t, 1, sized.data, m, NULL);
                }
                if (m && st == DN_OK) {
                    char tp[4200];
                    snprintf(tp, sizeof tp, "%s/%s_%s.L%d.txt", o->out, stem, jb->label, jb->layer_used);
                    st = write_text_map(tp, m, w, h);
                }
                free(m);
            }
            if (st == DN_OK)
                printf("  map %-28s -> %s  (score %s %.4g, layer %d, %s)\n", jb->label, jb->file,
                       detector ? dn_cam_score_name((dn_cam_score)o->score) : "logit", jb->score, jb->layer_used,
                       dn_cam_method_name((dn_cam_method)o->method));
        }
        char sum[4200];
        snprintf(sum, sizeof sum, "%s/%s_summary.png", o->out, stem);
        if (st == DN_OK && (st = write_summary(o, &im, jobs, nj, sum)) == DN_OK) printf("  summary -> %s\n", sum);
        if (st == DN_OK && jf) {
            fprintf(jf, "%s\n  {\"image\": ", *first_json ? "" : ",");
            *first_json = 0;
            dn_json_str(jf, path);
            fprintf(jf, ", \"width\": %d, \"height\": %d, \"task\": \"%s\", \"method\": \"%s\", \"target\": \"%s\", "
                        "\"forward_seconds\": %.6f, \"summary\": ",
                    im.w, im.h, detector ? "detector" : "classifier", dn_cam_method_name((dn_cam_method)o->method),
                    detector ? dn_cam_score_name((dn_cam_score)o->score) : "logit", t_fwd);
            dn_json_str(jf, sum);
            fprintf(jf, ", \"maps\": [");
            for (int j = 0, nout = 0; j < nj; j++) {
                gc_job *jb = &jobs[j];
                if (jb->skip) continue;
                fprintf(jf, "%s\n    {\"kind\": \"%s\", \"class\": %d, \"name\": ", nout++ ? "," : "",
                        detector ? (jb->det_index >= 0 ? "detection" : "class") : "class", jb->cls);
                dn_json_str(jf, names[jb->cls]);
                if (detector && jb->det_index >= 0) {
                    dn_box b = jb->dets->bbox;
                    fprintf(jf, ", \"confidence\": %.6f, \"box\": [%.1f, %.1f, %.1f, %.1f], \"head\": %d, \"anchor\": %d, \"cell\": %d",
                            jb->dets->prob[jb->cls], (b.x - b.w / 2) * im.w, (b.y - b.h / 2) * im.h, b.w * im.w,
                            b.h * im.h, jb->dets->layer, jb->dets->anchor, jb->dets->cell);
                } else if (detector) {
                    fprintf(jf, ", \"instances\": %d", jb->ndets);
                } else {
                    fprintf(jf, ", \"probability\": %.6f", pred[jb->cls]);
                }
                fprintf(jf, ", \"score\": %.6g, \"layer\": %d, \"file\": ", jb->score, jb->layer_used);
                dn_json_str(jf, jb->file);
                fprintf(jf, "}");
            }
            fprintf(jf, "\n  ]}");
        }
        for (int j = 0; j < nj; j++) {
            free(cls_dets[j]);
            if (detector && jobs[j].det_index < 0) jobs[j].dets = NULL;
        }
        free(work), free(wjob), free(wl), free(cls_dets);
        if (st != DN_OK) {
            app_error("", st);
            goto done;
        }
    }
    rc = APP_OK;
done:
    for (int j = 0; jobs && j < nj; j++) free(jobs[j].map);
    free(jobs);
    free(top);
    dn_detections_free(dets, ndet);
    dn_image_free(&im);
    dn_image_free(&sized);
    return rc;
}


int cmd_gradcampp(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[2], "demo")) return cmd_gradcampp_demo(argc, argv);
    if (argc >= 3 && !strcmp(argv[2], "eval")) return cmd_gradcampp_eval(argc, argv);
    const char *usage =
        "darknet gradcampp [data] <cfg> <weights> <image> [image ...] [-method gradcampp|gradcam|xgradcam|layercam|"
        "hirescam|scorecam|eigencam] [-target logit|logconf|conf] [-layer n | -layers a,b] [-top k] [-class c] "
        "[-thresh t] [-nms n] [-alpha a] [-out dir] [-raw] [-json] [-letterbox | -no_letterbox]";
    gc_opts o = {0};
    o.method_s = "gradcampp";
    o.target_s = "conf"; /* measured best for localisation by gradcampp eval (README) */
    o.out = "gradcampp_out";
    o.thresh = .25f;
    o.nms = .45f;
    o.alpha = .5f;
    o.top = 0;
    o.cls = -1;
    o.layer = 0x7fffffff;
    app_flag flags[] = {{"-method", 's', &o.method_s}, {"-target", 's', &o.target_s}, {"-layer", 'i', &o.layer},
                        {"-layers", 's', &o.layers_s}, {"-top", 'i', &o.top}, {"-class", 'i', &o.cls},
                        {"-thresh", 'f', &o.thresh}, {"-nms", 'f', &o.nms}, {"-alpha", 'f', &o.alpha},
                        {"-out", 's', &o.out}, {"-raw", 'b', &o.raw}, {"-json", 'b', &o.json},
                        {"-no_letterbox", 'b', &o.no_letterbox}, {"-letterbox", 'b', &o.letterbox}};
    char *pos[1024];
    int np;
    int rc = app_parse(argc, argv, 2, flags, (int)(sizeof flags / sizeof flags[0]), pos, 1024, &np, usage);
    if (rc) return rc;
    int has_data = np >= 1 && strlen(pos[0]) > 5 && !strcmp(pos[0] + strlen(pos[0]) - 5, ".data");
    int first_img = has_data ? 3 : 2;
    if (np <= first_img) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    if ((o.method = dn_cam_method_parse(o.method_s)) < 0) {
        fprintf(stderr, "darknet: unknown -method '%s' (gradcampp, gradcam, xgradcam, layercam, hirescam, scorecam, eigencam)\n", o.method_s);
        return APP_USAGE;
    }
    if ((o.score = dn_cam_score_parse(o.target_s)) < 0) {
        fprintf(stderr, "darknet: unknown -target '%s' (logit, logconf, conf)\n", o.target_s);
        return APP_USAGE;
    }
    if (o.thresh < 0 || o.thresh > 1 || o.nms < 0 || o.nms > 1 || o.alpha < 0 || o.alpha > 1) {
        fprintf(stderr, "darknet: -thresh, -nms and -alpha must be in [0,1]\n");
        return APP_USAGE;
    }
    if (o.layers_s && parse_layers(o.layers_s, &o)) {
        fprintf(stderr, "darknet: -layers expects a comma-separated list of layer indices, got '%s'\n", o.layers_s);
        return APP_USAGE;
    }
    if (o.layer != 0x7fffffff) {
        if (o.layers_s) {
            fprintf(stderr, "darknet: give -layer or -layers, not both\n");
            return APP_USAGE;
        }
        o.nlayers = 1;
        o.layers[0] = o.layer;
    }
    const char *datacfg = has_data ? pos[0] : NULL;
    const char *cfg = pos[has_data ? 1 : 0], *weights = pos[has_data ? 2 : 1];
    dn_network *net = app_load_network(cfg, weights, 1);
    if (!net) return APP_FAIL;
    int detector = dn_network_task(net) == DN_TASK_DETECTOR;
    int classes = dn_network_classes(net);
    char **names = NULL;
    int nnames = 0;
    dn_options *opts = NULL;
    rc = APP_FAIL;
    if (datacfg) {
        if (app_read_names(datacfg, "data/names.list", &names, &nnames, &opts)) goto done;
    } else {
        char np2[4096];
        if (app_names_beside(cfg, np2, sizeof np2)) {
            if (dn_lines_read(np2, &names, &nnames) != DN_OK) nnames = 0, names = NULL;
            else fprintf(stderr, "names: %s\n", np2);
        }
    }
    if (nnames < classes) {
        /* no usable names: number the classes */
        dn_lines_free(names, nnames);
        names = calloc((size_t)classes, sizeof(char *));
        if (!names) goto done;
        for (int i = 0; i < classes; i++) {
            names[i] = malloc(24);
            if (names[i]) snprintf(names[i], 24, "class%d", i);
        }
        nnames = classes;
        fprintf(stderr, "names: none found for %d classes (give a .data file); using class numbers\n", classes);
    }
    if (o.top == 0) {
        o.top = opts ? dn_options_int(opts, "top", 5) : 5;
        if (o.top > classes) o.top = classes;
    }
    if (!detector && (o.top < 1 || o.top > classes)) {
        fprintf(stderr, "darknet: -top %d must be in 1..%d\n", o.top, classes);
        rc = APP_USAGE;
        goto done;
    }
    if (o.cls >= classes || o.cls < -1) {
        fprintf(stderr, "darknet: -class %d is out of range 0..%d\n", o.cls, classes - 1);
        rc = APP_USAGE;
        goto done;
    }
    for (int i = 0; i < o.nlayers; i++) {
        int l = resolve_layer(net, o.layers[i], "-layer");
        if (l < 0) {
            rc = APP_USAGE;
            goto done;
        }
        o.layers[i] = l;
    }
    if (mkdir_p(o.out) != 0) {
        fprintf(stderr, "darknet: %s: cannot create the output folder: %s\n", o.out, strerror(errno));
        goto done;
    }
    fprintf(stderr, "%s: %s, method %s, target %s, layer %s\n", cfg, detector ? "detector" : "classifier",
            dn_cam_method_name((dn_cam_method)o.method), detector ? dn_cam_score_name((dn_cam_score)o.score) : "class logit",
            o.nlayers ? "as given" : (detector ? "auto (per head: the first conv of the head's branch)" : "auto (last conv with a spatial map)"));
    if (!detector && !o.nlayers) fprintf(stderr, "layer: %d\n", dn_cam_default_layer(net, NULL));
    FILE *jf = NULL;
    dn_afile ja = {0};
    char jpath[4200];
    if (o.json) {
        snprintf(jpath, sizeof jpath, "%s/gradcampp.json", o.out);
        dn_status jst = dn_afile_open(&ja, jpath);
        if (jst != DN_OK) {
            app_error("", jst);
            goto done;
        }
        jf = ja.f;
        fprintf(jf, "{\"cfg\": ");
        dn_json_str(jf, cfg);
        fprintf(jf, ", \"weights\": ");
        dn_json_str(jf, weights);
        fprintf(jf, ", \"images\": [");
    }
    int failed = 0, first = 1;
    for (int i = first_img; i < np; i++)
        if (explain_image(net, &o, pos[i], names, nnames, jf, &first) != APP_OK) failed++;
    if (jf) {
        fprintf(jf, "\n]}\n");
        dn_status jst = dn_afile_close(&ja, DN_OK);
        if (jst != DN_OK) {
            app_error("", jst);
            failed++;
        } else {
            printf("json -> %s\n", jpath);
        }
    }
    if (failed) fprintf(stderr, "darknet: %d of %d images failed\n", failed, np - first_img);
    rc = failed ? APP_FAIL : APP_OK;
done:
    dn_lines_free(names, nnames);
    dn_options_free(opts);
    dn_network_free(net);
    return rc;
}
