/* demo.c - `darknet gradcampp demo` and `darknet detector demo`: live Grad-CAM++ (or boxes only)
 * on a camera or a video file. Three stages joined by bounded queues: a capture thread, a
 * network + maps thread, and the main thread, which owns the window and the video writer.
 * A camera's queue holds one frame and overwrites it (stale frames are dropped); a file's queue
 * blocks, so every frame is processed in order. SIGINT/SIGTERM raise a sig_atomic_t flag that a
 * watcher thread turns into a stop request; q, Esc, closing the window or the end of the input,
 * and the writer is always finished so the output video is complete. */
#include "app.h"
#include "core/core.h"
#include "io/video.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_gradcampp_demo(int argc, char **argv);
int cmd_detector_demo(int argc, char **argv);

#ifndef DN_OPENCV

static int no_opencv(void)
{
    fprintf(stderr, "darknet: this build has no OpenCV (make OPENCV=1)\n");
    return APP_FAIL;
}
int cmd_gradcampp_demo(int argc, char **argv) { return no_opencv(); }
int cmd_detector_demo(int argc, char **argv) { return no_opencv(); }

#else

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

typedef struct demo_opts {
    const char *datacfg, *cfg, *weights, *input, *out, *method_s;
    int cam_index;   /* -1: read the file `input` */
    int explain;     /* 1: gradcampp demo (maps), 0: detector demo (boxes only) */
    int dont_show, frames, cls, layer, threads, hold;
    float thresh, nms, alpha;
} demo_opts;

/* One frame on its way through the pipeline. */
typedef struct demo_frame {
    dn_image im;  /* (3, h, w) the captured frame */
    dn_image ov;  /* (3, h, w) what is shown / written; empty until the worker fills it */
    long index;
} demo_frame;

/* A bounded FIFO of frames. overwrite: when full, push replaces the oldest (live camera);
 * otherwise push blocks (file). After close, push fails and pop drains what is left. */
typedef struct demo_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    demo_frame items[4];
    int cap, head, count, overwrite, closed;
    long dropped;
} demo_queue;

typedef struct worker_state {
    int cls;          /* selected class, -1: automatic (top detection / top class) */
    int presses_seen; /* 'c' presses already applied */
    double last_t, fps;
} worker_state;

typedef struct demo_ctx {
    const demo_opts *o;
    dn_network *net;
    dn_video_in *vin;
    char **names;
    int nnames, detector, classes, letter, layer; /* layer: -1 automatic */
    demo_queue in_q, out_q;
    atomic_int stop;      /* shutdown requested (signal, key, window closed, -frames reached) */
    atomic_int method;    /* dn_cam_method, cycled by 'm' */
    atomic_int cls_presses; /* 'c' presses so far; the worker moves one class per press */
    atomic_int alpha_pm;  /* blend in per mille, changed by + and - */
    dn_image first;       /* the first frame, read before the threads start */
    worker_state ws;      /* the network thread's; the main thread's once that has been joined */
} demo_ctx;

static void frame_free(demo_frame *f)
{
    dn_image_free(&f->im);
    dn_image_free(&f->ov);
}

static int queue_init(demo_queue *q, int cap, int overwrite)
{
    memset(q, 0, sizeof *q);
    q->cap = cap;
    q->overwrite = overwrite;
    if (pthread_mutex_init(&q->mu, NULL)) return -1;
    if (pthread_cond_init(&q->cv, NULL)) {
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    return 0;
}

static void queue_destroy(demo_queue *q)
{
    for (int i = 0; i < q->count; i++) frame_free(&q->items[(q->head + i) % q->cap]);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

/* Takes ownership of *f. Returns 0, or -1 when the queue is closed (f is freed). */
static int queue_push(demo_queue *q, demo_frame *f)
{
    pthread_mutex_lock(&q->mu);
    while (!q->overwrite && q->count == q->cap && !q->closed) pthread_cond_wait(&q->cv, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        frame_free(f);
        return -1;
    }
    if (q->count == q->cap) { /* overwrite: drop the stalest frame */
        frame_free(&q->items[q->head]);
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->dropped++;
    }
    q->items[(q->head + q->count) % q->cap] = *f;
    q->count++;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

/* Returns 0 with a frame, -1 when the queue is closed and empty. */
static int queue_pop(demo_queue *q, demo_frame *f)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed) pthread_cond_wait(&q->cv, &q->mu);
    if (q->count == 0) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    *f = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

static void queue_close(demo_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void request_stop(demo_ctx *c)
{
    atomic_store(&c->stop, 1);
    queue_close(&c->in_q);
    queue_close(&c->out_q);
}

/* ---- capture thread ---------------------------------------------------------------------- */

static void *capture_main(void *arg)
{
    demo_ctx *c = arg;
    dn_image im = c->first;
    c->first = (dn_image){0};
    for (long idx = 0; !atomic_load(&c->stop); idx++) {
        demo_frame f = {im, {0}, idx};
        im = (dn_image){0};
        if (queue_push(&c->in_q, &f) < 0) break;
        if (c->o->frames > 0 && idx + 1 >= c->o->frames && c->o->cam_index < 0) break;
        if (!dn_video_read(c->vin, &im)) break;
    }
    dn_image_free(&im);
    queue_close(&c->in_q);
    return NULL;
}

/* ---- network + maps thread --------------------------------------------------------------- */

/* Moves the selection to the next class among `present` (sorted, unique), then back to auto. */
static int next_class(int cur, const int *present, int n)
{
    if (n == 0) return -1;
    if (cur < 0) return present[0];
    for (int i = 0; i < n; i++)
        if (present[i] > cur) return present[i];
    return -1;
}

/* The multi-instance map of class k: the class's detections grouped by the layer that explains
 * them (the first conv of their head's branch, or -layer), each group's map normalised and the
 * groups summed, as `gradcampp` does for its class maps. acc receives (h, w) in [0,1]. */
static dn_status class_map(demo_ctx *c, const float *input, dn_detection *dets, int n, int k, int im_w, int im_h,
                           float *acc, float *tmp, int *any)
{
    size_t npx = (size_t)im_w * im_h;
    dn_detection *grp = dn_calloc((size_t)n + 1, sizeof *grp);
    int *layer_of = dn_calloc((size_t)n + 1, sizeof(int));
    if (!grp || !layer_of) {
        dn_free(grp), dn_free(layer_of);
        return DN_ERR_NOMEM;
    }
    dn_status st = DN_OK;
    memset(acc, 0, npx * sizeof(float));
    *any = 0;
    int method = atomic_load(&c->method);
    for (int i = 0; i < n; i++) {
        layer_of[i] = -1;
        if (!(dets[i].prob[k] > c->o->thresh)) continue;
        if (c->layer >= 0) layer_of[i] = dets[i].layer - 1 >= c->layer ? c->layer : -1;
        else layer_of[i] = dn_cam_default_layer(c->net, &dets[i]);
    }
    for (int i = 0; i < n && st == DN_OK; i++) {
        int l = layer_of[i];
        if (l < 0) continue;
        int m = 0;
        for (int j = i; j < n; j++)
            if (layer_of[j] == l) {
                grp[m++] = dets[j];
                layer_of[j] = -1;
            }
        int lc, lh, lw;
        dn_network_layer_output(c->net, l, &lc, &lh, &lw);
        float *map = dn_malloc((size_t)lh * lw * sizeof(float));
        if (!map) {
            st = DN_ERR_NOMEM;
            break;
        }
        dn_cam_target t = {k, grp, m};
        st = dn_cam_compute(c->net, l, (dn_cam_method)method, DN_SCORE_LOGIT, &t, 1, input, map, NULL);
        if (st == DN_OK) {
            dn_cam_resample(map, lw, lh, dn_network_width(c->net), dn_network_height(c->net), c->letter, im_w, im_h, 0,
                            tmp);
            dn_normalize(tmp, npx);
            for (size_t p = 0; p < npx; p++) acc[p] += tmp[p];
            *any = 1;
        }
        dn_free(map);
    }
    if (*any) dn_normalize(acc, npx);
    dn_free(grp), dn_free(layer_of);
    return st;
}

static void draw_text_line(dn_image *im, int row, const char *text)
{
    int sc = im->h >= 400 ? 2 : 1;
    dn_image_draw_label(im, 0, row * (8 * sc + 4), text, sc, 0, 0, 0);
}

/* Runs the network on f->im and fills f->ov: heat map, boxes, labels, method and FPS. */
static dn_status process_frame(demo_ctx *c, worker_state *ws, demo_frame *f)
{
    const demo_opts *o = c->o;
    dn_image sized = {0};
    dn_detection *dets = NULL;
    int n = 0;
    float *acc = NULL, *tmp = NULL;
    dn_image *im = &f->im;
    size_t npx = (size_t)im->w * im->h;
    dn_status st = c->letter ? dn_image_letterbox(im, dn_network_width(c->net), dn_network_height(c->net), &sized)
                             : dn_image_resize(im, dn_network_width(c->net), dn_network_height(c->net), &sized);
    if (st != DN_OK) return st;
    const float *pred = dn_network_predict(c->net, sized.data);
    int present[64], np = 0, auto_cls = -1;
    if (c->detector) {
        st = dn_network_detections(c->net, im->w, im->h, o->thresh, c->letter, &dets, &n);
        if (st != DN_OK) goto done;
        if (o->nms > 0) dn_detections_nms(dets, n, o->nms);
        float best = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < dets[i].classes; k++) {
                if (!(dets[i].prob[k] > o->thresh)) continue;
                if (dets[i].prob[k] > best) best = dets[i].prob[k], auto_cls = k;
                int pos = 0;
                while (pos < np && present[pos] < k) pos++;
                if ((pos == np || present[pos] != k) && np < 64) {
                    memmove(present + pos + 1, present + pos, (size_t)(np - pos) * sizeof(int));
                    present[pos] = k;
                    np++;
                }
            }
    } else {
        /* the top 5 classes, best first; c cycles through them in that order */
        for (int i = 0; i < c->classes; i++) {
            int pos = np;
            while (pos > 0 && pred[i] > pred[present[pos - 1]]) pos--;
            if (pos >= 5) continue;
            if (np < 5) np++;
            memmove(present + pos + 1, present + pos, (size_t)(np - 1 - pos) * sizeof(int));
            present[pos] = i;
        }
        auto_cls = np ? present[0] : -1;
    }
    int presses = atomic_load(&c->cls_presses);
    for (; ws->presses_seen < presses; ws->presses_seen++) {
        if (c->detector) {
            ws->cls = next_class(ws->cls, present, np);
        } else { /* classifier: walk the current top 5 */
            int at = -1;
            for (int i = 0; i < np; i++)
                if (present[i] == ws->cls) at = i;
            ws->cls = at < 0 ? (np > 1 ? present[1] : -1) : (at + 1 < np ? present[at + 1] : -1);
        }
    }
    int k = ws->cls >= 0 ? ws->cls : auto_cls;
    int any = 0;
    if (o->explain && k >= 0) {
        acc = dn_malloc(npx * sizeof(float));
        tmp = dn_malloc(npx * sizeof(float));
        if (!acc || !tmp) {
            st = DN_ERR_NOMEM;
            goto done;
        }
        if (c->detector) {
            st = class_map(c, sized.data, dets, n, k, im->w, im->h, acc, tmp, &any);
        } else {
            int lc, lh, lw, l = c->layer >= 0 ? c->layer : dn_cam_default_layer(c->net, NULL);
            dn_network_layer_output(c->net, l, &lc, &lh, &lw);
            float *map = dn_malloc((size_t)lh * lw * sizeof(float));
            if (!map) {
                st = DN_ERR_NOMEM;
                goto done;
            }
            dn_cam_target t = {k, NULL, 0};
            st = dn_cam_compute(c->net, l, (dn_cam_method)atomic_load(&c->method), DN_SCORE_LOGIT, &t, 1, sized.data, map,
                                NULL);
            if (st == DN_OK) {
                dn_cam_resample(map, lw, lh, dn_network_width(c->net), dn_network_height(c->net), c->letter, im->w,
                                im->h, 1, acc);
                any = 1;
            }
            dn_free(map);
        }
        if (st != DN_OK) goto done;
    }
    float alpha = atomic_load(&c->alpha_pm) / 1000.f;
    if (any) {
        st = dn_cam_overlay(im, acc, alpha, &f->ov);
    } else {
        st = dn_image_make(im->w, im->h, 3, &f->ov);
        if (st == DN_OK) memcpy(f->ov.data, im->data, npx * 3 * sizeof(float));
    }
    if (st != DN_OK) goto done;
    int sc = im->h >= 400 ? 2 : 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dets[i].classes; j++) {
            if (!(dets[i].prob[j] > o->thresh)) continue;
            dn_box b = dets[i].bbox;
            int l = (int)((b.x - b.w / 2) * im->w), r = (int)((b.x + b.w / 2) * im->w);
            int t = (int)((b.y - b.h / 2) * im->h), bt = (int)((b.y + b.h / 2) * im->h);
            float cr = dn_class_color(2, j, c->classes), cg = dn_class_color(1, j, c->classes),
                  cb = dn_class_color(0, j, c->classes);
            dn_image_draw_box(&f->ov, l, t, r, bt, im->h / 160 > 1 ? im->h / 160 : 1, cr, cg, cb);
            char lab[160];
            snprintf(lab, sizeof lab, "%s %.0f%%", c->names[j], dets[i].prob[j] * 100);
            int ty = t - 8 * sc - 2;
            dn_image_draw_label(&f->ov, l < 0 ? 0 : l, ty >= 0 ? ty : (t < 0 ? 0 : t), lab, sc, cr, cg, cb);
        }
    double now = app_now();
    if (ws->last_t > 0) {
        double inst = 1.0 / (now - ws->last_t > 1e-6 ? now - ws->last_t : 1e-6);
        ws->fps = ws->fps > 0 ? .9 * ws->fps + .1 * inst : inst;
    }
    ws->last_t = now;
    char line[512];
    if (o->explain) {
        char what[200];
        if (k < 0) snprintf(what, sizeof what, "no %s", c->detector ? "detection" : "class");
        else if (c->detector) snprintf(what, sizeof what, "class %s%s", c->names[k], ws->cls < 0 ? " (top)" : "");
        else snprintf(what, sizeof what, "class %s %.1f%%%s", c->names[k], pred[k] * 100, ws->cls < 0 ? " (top)" : "");
        snprintf(line, sizeof line, "%s | %s | blend %.1f | %.1f FPS",
                 dn_cam_method_name((dn_cam_method)atomic_load(&c->method)), what, alpha, ws->fps);
    } else {
        snprintf(line, sizeof line, "%.1f FPS", ws->fps);
    }
    draw_text_line(&f->ov, 0, line);
done:
    dn_free(acc), dn_free(tmp);
    dn_detections_free(dets, n);
    dn_image_free(&sized);
    return st;
}

static void *worker_main(void *arg)
{
    demo_ctx *c = arg;
    worker_state *ws = &c->ws;
    long done = 0;
    demo_frame f;
    while (!atomic_load(&c->stop) && queue_pop(&c->in_q, &f) == 0) {
        dn_status st = process_frame(c, ws, &f);
        if (st != DN_OK) {
            app_error("frame", st);
            frame_free(&f);
            request_stop(c);
            break;
        }
        if (queue_push(&c->out_q, &f) < 0) break;
        if (c->o->frames > 0 && ++done >= c->o->frames) break;
    }
    if (c->o->frames > 0 && done >= c->o->frames) queue_close(&c->in_q); /* a camera's capture stops too */
    queue_close(&c->out_q);
    return NULL;
}

/* ---- signals ----------------------------------------------------------------------------
 * OpenBLAS starts its threads before main, with every signal unblocked, so a sigwait thread
 * cannot be relied on to receive SIGINT. The handler therefore only raises this flag (the one
 * static: a volatile sig_atomic_t that means "shut down", nothing else), and a watcher thread
 * turns it into request_stop() on the context, which wakes every queue. */
static volatile sig_atomic_t demo_signalled;

static void on_signal(int sig)
{
    demo_signalled = sig;
}

static void *watcher_main(void *arg)
{
    demo_ctx *c = arg;
    while (!atomic_load(&c->stop)) {
        if (demo_signalled) {
            fprintf(stderr, "darknet: signal %d: shutting down\n", (int)demo_signalled);
            request_stop(c);
            break;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- main thread: window, keys, writer ---------------------------------------------------- */

static const char *WINDOW = "darknet demo";

/* Applies a key; returns 1 when it asks to quit. */
static int handle_key(demo_ctx *c, int key, int *paused, const dn_image *shown, long index)
{
    if (key == -2 || key == 'q' || key == 'Q' || key == 27) return 1;
    if (key == ' ') *paused = !*paused;
    else if (key == 'm' && c->o->explain) {
        int m = (atomic_load(&c->method) + 1) % DN_CAM_COUNT;
        atomic_store(&c->method, m);
        fprintf(stderr, "method: %s\n", dn_cam_method_name((dn_cam_method)m));
    } else if (key == 'c' && c->o->explain) {
        atomic_fetch_add(&c->cls_presses, 1);
    } else if ((key == '+' || key == '=') && c->o->explain) {
        int a = atomic_load(&c->alpha_pm) + 100;
        atomic_store(&c->alpha_pm, a > 1000 ? 1000 : a);
    } else if ((key == '-' || key == '_') && c->o->explain) {
        int a = atomic_load(&c->alpha_pm) - 100;
        atomic_store(&c->alpha_pm, a < 0 ? 0 : a);
    } else if (key == 's' && shown && shown->data) {
        char path[64];
        snprintf(path, sizeof path, "demo_%05ld.png", index);
        dn_status st = dn_image_save_png(shown, path);
        if (st != DN_OK) app_error("", st);
        else fprintf(stderr, "saved %s\n", path);
    }
    return 0;
}

static int run_pipeline(demo_ctx *c, dn_video_out *vout)
{
    const demo_opts *o = c->o;
    int rc = APP_OK;
    int cam = o->cam_index >= 0;
    if (queue_init(&c->in_q, cam ? 1 : 4, cam) || queue_init(&c->out_q, 2, 0)) {
        fprintf(stderr, "darknet: cannot create the frame queues\n");
        return APP_FAIL;
    }
    /* SIGINT/SIGTERM only raise the flag (also when a background job started with SIGINT
       ignored); the previous dispositions come back at the end */
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    demo_signalled = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pthread_t th_sig, th_cap, th_work;
    int have_sig = pthread_create(&th_sig, NULL, watcher_main, c) == 0;
    int have_cap = pthread_create(&th_cap, NULL, capture_main, c) == 0;
    int have_work = have_cap && pthread_create(&th_work, NULL, worker_main, c) == 0;
    if (!have_cap || !have_work || !have_sig) {
        fprintf(stderr, "darknet: cannot start the demo threads\n");
        request_stop(c);
        rc = APP_FAIL;
    }
    double t0 = app_now();
    long frames = 0;
    int paused = 0, quit = 0;
    demo_frame f, last = {{0}, {0}, -1};
    while (have_work && !atomic_load(&c->stop) && queue_pop(&c->out_q, &f) == 0) {
        if (vout) {
            dn_status st = dn_video_write(vout, &f.ov);
            if (st != DN_OK) {
                app_error("", st);
                rc = APP_FAIL;
                quit = 1;
            }
        }
        frame_free(&last);
        last = f;
        frames++;
        if (!o->dont_show && !quit) {
            int key = dn_window_show(WINDOW, &last.ov, 1);
            quit = handle_key(c, key, &paused, &last.ov, last.index);
            while (paused && !quit && !atomic_load(&c->stop)) {
                key = dn_window_wait(WINDOW, 30);
                quit = handle_key(c, key, &paused, &last.ov, last.index);
            }
        }
        if (quit) break;
    }
    double secs = app_now() - t0;
    /* -hold: keep the last frame up until a key, the window closes or a signal. The network
       thread has finished (its queue is closed), so this thread may run the network to redraw
       the frame when m, c, + or - change the view. */
    if (o->hold && !quit && !atomic_load(&c->stop) && have_work) {
        pthread_join(th_work, NULL);
        have_work = 0;
        while (!atomic_load(&c->stop)) {
            if (!o->dont_show) {
                int key = last.ov.data ? dn_window_show(WINDOW, &last.ov, 30) : dn_window_wait(WINDOW, 30);
                if (handle_key(c, key, &paused, &last.ov, last.index)) break;
                if (o->explain && last.im.data && key > 0 && strchr("mc+=-_", key)) {
                    demo_frame nf = {{0}, {0}, last.index};
                    dn_status st = dn_image_make(last.im.w, last.im.h, 3, &nf.im);
                    if (st == DN_OK) {
                        memcpy(nf.im.data, last.im.data, (size_t)last.im.w * last.im.h * 3 * sizeof(float));
                        st = process_frame(c, &c->ws, &nf);
                    }
                    if (st == DN_OK) {
                        dn_image_free(&last.ov);
                        last.ov = nf.ov;
                        nf.ov = (dn_image){0};
                    }
                    frame_free(&nf);
                }
            } else {
                struct timespec ts = {0, 30 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
    request_stop(c);
    if (have_work) pthread_join(th_work, NULL);
    if (have_cap) pthread_join(th_cap, NULL);
    if (have_sig) pthread_join(th_sig, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (!o->dont_show) dn_window_close(WINDOW);
    frame_free(&last);
    long dropped = c->in_q.dropped;
    queue_destroy(&c->in_q);
    queue_destroy(&c->out_q);
    printf("%ld frames in %.2f s, %.2f FPS", frames, secs, secs > 0 ? frames / secs : 0.0);
    if (cam) printf(" (%ld stale camera frames dropped)", dropped);
    printf("\n");
    fflush(stdout);
    return rc;
}


static int run_demo(demo_opts *o)
{
    demo_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.layer = -1;
    int rc = APP_FAIL;
    dn_options *opts = NULL;
    dn_video_out *vout = NULL;
    dn_status st = o->cam_index >= 0 ? dn_video_open_camera(o->cam_index, &c.vin) : dn_video_open_file(o->input, &c.vin);
    if (st != DN_OK) {
        app_error("", st);
        return APP_FAIL;
    }
    if (!dn_video_read(c.vin, &c.first)) {
        fprintf(stderr, "darknet: %s: no frames could be read (empty or unreadable video)\n",
                o->cam_index >= 0 ? "camera" : o->input);
        goto done;
    }
    c.net = app_load_network(o->cfg, o->weights, 1);
    if (!c.net) goto done;
    if (o->threads > 0) dn_network_set_threads(c.net, o->threads);
    c.detector = dn_network_task(c.net) == DN_TASK_DETECTOR;
    c.classes = dn_network_classes(c.net);
    if (!o->explain && !c.detector) {
        fprintf(stderr, "darknet: %s has no [yolo] or [region] layer: not a detector\n", o->cfg);
        goto done;
    }
    if (o->datacfg) {
        if (app_read_names(o->datacfg, "data/names.list", &c.names, &c.nnames, &opts)) goto done;
    } else {
        char np[4096];
        if (app_names_beside(o->cfg, np, sizeof np) && dn_lines_read(np, &c.names, &c.nnames) != DN_OK) c.nnames = 0;
    }
    if (c.nnames < c.classes) {
        dn_lines_free(c.names, c.nnames);
        c.names = calloc((size_t)c.classes, sizeof(char *));
        if (!c.names) goto done;
        for (int i = 0; i < c.classes; i++)
            if ((c.names[i] = malloc(24))) snprintf(c.names[i], 24, "class%d", i);
        c.nnames = c.classes;
    }
    if (o->cls >= c.classes || o->cls < -1) {
        fprintf(stderr, "darknet: -class %d is out of range 0..%d\n", o->cls, c.classes - 1);
        rc = APP_USAGE;
        goto done;
    }
    if (o->layer != 0x7fffffff) {
        int nl = dn_network_layers(c.net), l = o->layer < 0 ? nl + o->layer : o->layer, lc, lh = 0, lw = 0;
        if (l >= 0 && l < nl) dn_network_layer_output(c.net, l, &lc, &lh, &lw);
        if (l < 0 || l >= nl || lh * lw < 2) {
            fprintf(stderr, "darknet: -layer %d is out of range or has no spatial map\n", o->layer);
            rc = APP_USAGE;
            goto done;
        }
        c.layer = l;
    }
    c.letter = c.detector ? dn_network_letterbox(c.net) : 1;
    c.ws.cls = o->cls;
    atomic_init(&c.stop, 0);
    atomic_init(&c.method, dn_cam_method_parse(o->method_s));
    atomic_init(&c.cls_presses, 0);
    atomic_init(&c.alpha_pm, (int)lroundf(o->alpha * 1000));
    if (o->out) {
        double fps = dn_video_fps(c.vin);
        st = dn_video_writer_open(o->out, c.first.w, c.first.h, fps > 0 ? fps : 25, &vout);
        if (st != DN_OK) {
            app_error("", st);
            goto done;
        }
    }
    fprintf(stderr, "%s: %dx%d %s, %s%s\n", o->cam_index >= 0 ? "camera" : o->input, c.first.w, c.first.h,
            o->cam_index >= 0 ? "(live: stale frames dropped)" : "(every frame, in order)",
            o->explain ? "method " : "boxes only", o->explain ? o->method_s : "");
    rc = run_pipeline(&c, vout);
    dn_video_writer_close(vout);
    vout = NULL;
    if (o->out && rc == APP_OK) fprintf(stderr, "video -> %s\n", o->out);
done:
    dn_video_writer_close(vout);
    dn_image_free(&c.first);
    dn_video_close(c.vin);
    dn_network_free(c.net);
    dn_lines_free(c.names, c.nnames);
    dn_options_free(opts);
    return rc;
}

/* -info file [other]: decodes every frame and prints the count, size and fps; with a second
 * video, also the mean absolute pixel difference over the frames both have (for tests). */
static int run_info(const char *a, const char *b)
{
    dn_video_in *va = NULL, *vb = NULL;
    dn_status st = dn_video_open_file(a, &va);
    if (st == DN_OK && b) st = dn_video_open_file(b, &vb);
    if (st != DN_OK) {
        app_error("", st);
        dn_video_close(va);
        return APP_FAIL;
    }
    long n = 0, nb = 0, ncmp = 0;
    double diff = 0;
    int w = 0, h = 0;
    dn_image ia = {0}, ib = {0};
    while (dn_video_read(va, &ia)) {
        w = ia.w, h = ia.h;
        n++;
        if (vb && dn_video_read(vb, &ib)) {
            nb++;
            if (ib.w == ia.w && ib.h == ia.h) {
                size_t m = (size_t)ia.w * ia.h * 3;
                double s = 0;
                for (size_t i = 0; i < m; i++) s += fabsf(ia.data[i] - ib.data[i]);
                diff += s / m;
                ncmp++;
            }
            dn_image_free(&ib);
        }
        dn_image_free(&ia);
    }
    printf("%s: %d x %d, %ld frames decoded, %.2f fps\n", a, w, h, n, dn_video_fps(va));
    if (vb) printf("mean abs diff over %ld frames: %.4f\n", ncmp, ncmp ? diff / ncmp : 0.0);
    dn_video_close(va);
    dn_video_close(vb);
    return n > 0 ? APP_OK : APP_FAIL;
}

static int demo_main(int argc, char **argv, int explain)
{
    const char *usage = explain
        ? "darknet gradcampp demo [data] <cfg> <weights> [-c index | file] [-out file.mp4|.avi] [-dont_show] [-frames N] "
          "[-method m] [-class c] [-layer n] [-thresh t] [-nms n] [-alpha a] [-threads t] [-hold]"
          " | darknet gradcampp demo -info video [other]"
        : "darknet detector demo <data> <cfg> <weights> [-c index | file] [-out file.mp4|.avi] [-dont_show] [-frames N] "
          "[-thresh t] [-nms n] [-threads t] [-hold]";
    demo_opts o = {0};
    o.explain = explain;
    o.cam_index = 0x7fffffff;
    o.method_s = "gradcampp";
    o.thresh = explain ? .25f : .5f;
    o.nms = .45f;
    o.alpha = .5f;
    o.cls = -1;
    o.layer = 0x7fffffff;
    int info = 0;
    app_flag flags[] = {{"-c", 'i', &o.cam_index}, {"-out", 's', &o.out}, {"-dont_show", 'b', &o.dont_show},
                        {"-frames", 'i', &o.frames}, {"-thresh", 'f', &o.thresh}, {"-nms", 'f', &o.nms},
                        {"-threads", 'i', &o.threads}, {"-hold", 'b', &o.hold}, {"-method", 's', &o.method_s},
                        {"-class", 'i', &o.cls}, {"-layer", 'i', &o.layer}, {"-alpha", 'f', &o.alpha},
                        {"-info", 'b', &info}};
    int nflags = explain ? (int)(sizeof flags / sizeof flags[0]) : 8;
    char *pos[5];
    int np;
    int rc = app_parse(argc, argv, 3, flags, nflags, pos, 5, &np, usage);
    if (rc) return rc;
    if (info) {
        if (np < 1 || np > 2) {
            fprintf(stderr, "usage: %s\n", usage);
            return APP_USAGE;
        }
        return run_info(pos[0], np > 1 ? pos[1] : NULL);
    }
    int has_data = np >= 1 && strlen(pos[0]) > 5 && !strcmp(pos[0] + strlen(pos[0]) - 5, ".data");
    if (!explain && !has_data) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    int base = has_data ? 1 : 0;
    int want = base + 2 + (o.cam_index == 0x7fffffff ? 1 : 0);
    if (np != want) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    o.datacfg = has_data ? pos[0] : NULL;
    o.cfg = pos[base];
    o.weights = pos[base + 1];
    if (o.cam_index == 0x7fffffff) {
        o.cam_index = -1;
        o.input = pos[base + 2];
    } else if (o.cam_index < 0) {
        fprintf(stderr, "darknet: -c %d: a camera index is 0 or more\n", o.cam_index);
        return APP_USAGE;
    }
    if (dn_cam_method_parse(o.method_s) < 0) {
        fprintf(stderr, "darknet: unknown -method '%s' (gradcampp, gradcam, xgradcam, layercam, hirescam, scorecam, eigencam)\n",
                o.method_s);
        return APP_USAGE;
    }
    if (o.thresh < 0 || o.thresh > 1 || o.nms < 0 || o.nms > 1 || o.alpha < 0 || o.alpha > 1 || o.frames < 0 ||
        o.threads < 0) {
        fprintf(stderr, "darknet: -thresh, -nms and -alpha must be in [0,1]; -frames and -threads not negative\n");
        return APP_USAGE;
    }
    return run_demo(&o);
}

int cmd_gradcampp_demo(int argc, char **argv) { return demo_main(argc, argv, 1); }
int cmd_detector_demo(int argc, char **argv) { return demo_main(argc, argv, 0); }

#endif /* DN_OPENCV */
