/* benchmark.c - `darknet benchmark cfg [weights] [-n runs] [-warmup w] [-threads t] [-image f]
 * [-cam k]`: times the forward pass alone (median and minimum of n runs after warm-up) on an
 * image (letterboxed / resized as gradcampp does) or a fixed pseudo-random input, with seeded
 * random weights when none are given. With -cam k it also times forward + Grad-CAM++ for k
 * targets (classifier: the top-k classes; detector: the k most confident candidate boxes, or
 * with -cam 0 every detection above .25) at the automatic layer. */
#include "app.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_benchmark(int argc, char **argv);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_benchmark(int argc, char **argv)
{
    const char *usage = "darknet benchmark <cfg> [weights] [-n runs] [-warmup w] [-threads t] [-image f] [-cam k]";
    int runs = 20, warm = 3, threads = 0, cam = -1;
    const char *image = NULL;
    app_flag flags[] = {{"-n", 'i', &runs}, {"-warmup", 'i', &warm}, {"-threads", 'i', &threads},
                        {"-image", 's', &image}, {"-cam", 'i', &cam}};
    char *pos[2];
    int np;
    int rc = app_parse(argc, argv, 2, flags, 5, pos, 2, &np, usage);
    if (rc) return rc;
    if (np < 1 || runs < 1 || runs > 100000 || warm < 0 || threads < 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    dn_network *net = app_load_network(pos[0], np > 1 ? pos[1] : NULL, 1);
    if (!net) return APP_FAIL;
    if (np < 2) dn_network_randomize(net, 1, NULL);
    if (threads) dn_network_set_threads(net, threads);
    size_t n = (size_t)dn_network_width(net) * dn_network_height(net) * dn_network_channels(net);
    float *in = malloc(n * sizeof(float));
    double *t = malloc((size_t)runs * sizeof(double));
    if (!in || !t) {
        free(in);
        free(t);
        dn_network_free(net);
        return APP_FAIL;
    }
    int detector = dn_network_task(net) == DN_TASK_DETECTOR;
    int letter = detector ? dn_network_letterbox(net) : 1;
    if (image) {
        dn_image im, sz;
        dn_status st = dn_image_load(image, dn_network_channels(net), &im);
        if (st == DN_OK) {
            st = letter ? dn_image_letterbox(&im, dn_network_width(net), dn_network_height(net), &sz)
                        : dn_image_resize(&im, dn_network_width(net), dn_network_height(net), &sz);
            dn_image_free(&im);
        }
        if (st != DN_OK) {
            app_error("", st);
            free(in), free(t);
            dn_network_free(net);
            return APP_FAIL;
        }
        memcpy(in, sz.data, n * sizeof(float));
        dn_image_free(&sz);
    } else {
        unsigned s = 12345;
        for (size_t i = 0; i < n; i++) {
            s = s * 1103515245u + 12345u;
            in[i] = (float)((s >> 8) & 0xffff) / 65535.f;
        }
    }
    for (int i = 0; i < warm; i++) dn_network_predict(net, in);
    for (int i = 0; i < runs; i++) {
        double t0 = app_now();
        dn_network_predict(net, in);
        t[i] = (app_now() - t0) * 1000;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_double);
    double med = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    double bf = dn_network_bflops(net);
    printf("%s: %d x %d, %.3f BFLOPs, median %.2f ms, min %.2f ms over %d runs (%.1f GFLOP/s)\n", pos[0],
           dn_network_width(net), dn_network_height(net), bf, med, t[0], runs, bf / (med / 1000));
    if (cam >= 0) {
        /* targets from one forward pass */
        const float *out = dn_network_predict(net, in);
        int classes = dn_network_classes(net), nt = 0;
        dn_cam_target *tg = NULL;
        dn_detection *dets = NULL;
        int ndet = 0;
        if (!detector) {
            nt = cam > 0 ? (cam < classes ? cam : classes) : 1;
            tg = calloc((size_t)nt, sizeof *tg);
            for (int i = 0; tg && i < nt; i++) {
                int best = -1;
                for (int c = 0; c < classes; c++) {
                    int used = 0;
                    for (int j = 0; j < i; j++) used |= tg[j].cls == c;
                    if (!used && (best < 0 || out[c] > out[best])) best = c;
                }
                tg[i] = (dn_cam_target){best, NULL, 0};
            }
        } else {
            dn_network_detections(net, dn_network_width(net), dn_network_height(net), cam > 0 ? .005f : .25f, letter, &dets, &ndet);
            if (cam == 0) dn_detections_nms(dets, ndet, .45f);
            tg = calloc((size_t)(ndet ? ndet : 1), sizeof *tg);
            for (int i = 0; tg && i < ndet && (cam == 0 || nt < cam); i++) {
                int best = 0;
                for (int c = 1; c < dets[i].classes; c++)
                    if (dets[i].prob[c] > dets[i].prob[best]) best = c;
                if (cam == 0 && !(dets[i].prob[best] > .25f)) continue;
                tg[nt++] = (dn_cam_target){best, &dets[i], 1};
            }
        }
        if (tg && nt > 0) {
            float *maps = malloc((size_t)nt * 4 * dn_network_width(net) * dn_network_height(net) * sizeof(float));
            double *tc = malloc((size_t)runs * sizeof(double));
            dn_status st = DN_OK;
            for (int i = 0; maps && tc && i < runs + warm && st == DN_OK; i++) {
                double t0 = app_now();
                dn_network_predict(net, in);
                /* per target its automatic layer; targets sharing one go in one batch */
                int done = 0;
                while (done < nt && st == DN_OK) {
                    int layer = dn_cam_default_layer(net, tg[done].dets);
                    int k = done;
                    while (k < nt && dn_cam_default_layer(net, tg[k].dets) == layer) k++;
                    st = dn_cam_compute(net, layer, DN_CAM_GRADCAMPP, DN_SCORE_LOGIT, tg + done, k - done, in, maps, NULL);
                    done = k;
                }
                if (i >= warm) tc[i - warm] = (app_now() - t0) * 1000;
            }
            if (st != DN_OK) {
                app_error("", st);
            } else if (maps && tc) {
                qsort(tc, (size_t)runs, sizeof(double), cmp_double);
                double cmed = runs % 2 ? tc[runs / 2] : (tc[runs / 2 - 1] + tc[runs / 2]) / 2;
                printf("%s: forward + Grad-CAM++ for %d target%s: median %.2f ms (%.2fx the forward pass, %.3f ms per target)\n",
                       pos[0], nt, nt > 1 ? "s" : "", cmed, cmed / med, (cmed - med) / nt);
            }
            free(maps), free(tc);
        } else {
            printf("%s: no targets for -cam %d\n", pos[0], cam);
        }
        free(tg);
        dn_detections_free(dets, ndet);
    }
    free(in);
    free(t);
    dn_network_free(net);
    return APP_OK;
}
