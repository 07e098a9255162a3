/* train.c - `darknet classifier train|valid` and `darknet detector train|map`: Darknet's
 * training loop (batch / subdivisions per step, one SGD update per batch, learning-rate policy,
 * checkpoints in Darknet's weights format under the .data file's backup folder, resume from a
 * weights file) and the evaluations Darknet users expect (top-1/top-5, per-class AP and mAP@0.5). */
#include "app.h"
#include "core/core.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cmd_train(int argc, char **argv, int detector);
int cmd_classifier_valid(int argc, char **argv);
int cmd_detector_map(int argc, char **argv);

static volatile sig_atomic_t g_stop;
static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void base_of(const char *cfg, char *out, size_t n)
{
    const char *b = strrchr(cfg, '/');
    b = b ? b + 1 : cfg;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

static void fmt_eta(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 3.6e6) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)s;
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static int save_checkpoint(dn_network *net, const char *backup, const char *base, const char *suffix)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s%s.weights", backup, base, suffix);
    dn_status st = dn_network_save_weights(net, path);
    if (st != DN_OK) {
        app_error("", st);
        return -1;
    }
    fprintf(stderr, "Saving weights to %s\n", path);
    return 0;
}

int cmd_train(int argc, char **argv, int detector)
{
    const char *usage = detector ? "darknet detector train <data> <cfg> [weights] [-clear] [-save n] [-max n] [-seed s]"
                                 : "darknet classifier train <data> <cfg> [weights] [-clear] [-save n] [-max n] [-seed s]";
    int clear = 0, save_every = 0, max_override = 0, seed = 1, dont_show = 0, threads = 0;
    app_flag flags[] = {{"-clear", 'b', &clear}, {"-save", 'i', &save_every}, {"-max", 'i', &max_override},
                        {"-seed", 'i', &seed}, {"-dont_show", 'b', &dont_show}, {"-threads", 'i', &threads}};
    char *pos[3];
    int np;
    int rc = app_parse(argc, argv, 3, flags, (int)(sizeof flags / sizeof flags[0]), pos, 3, &np, usage);
    if (rc) return rc;
    if (np < 2 || save_every < 0 || max_override < 0 || threads < 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    dn_options *opts = NULL;
    char **paths = NULL, **labels = NULL, **names = NULL;
    int npaths = 0, nlabels = 0, nnames = 0;
    dn_network *net = NULL;
    dn_loader *loader = NULL;
    rc = APP_FAIL;
    dn_status st = dn_options_read(pos[0], &opts);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    const char *train_list = dn_options_str(opts, "train", "data/train.list");
    const char *backup = dn_options_str(opts, "backup", "backup");
    int classes = dn_options_int(opts, "classes", 0);
    if ((st = dn_lines_read(train_list, &paths, &npaths)) != DN_OK) {
        app_error("", st);
        goto done;
    }
    if (npaths == 0) {
        fprintf(stderr, "darknet: %s: the training list is empty\n", train_list);
        goto done;
    }
    if (!detector) {
        const char *lp = dn_options_str(opts, "labels", NULL);
        if (!lp) lp = dn_options_str(opts, "names", "data/labels.list");
        if ((st = dn_lines_read(lp, &labels, &nlabels)) != DN_OK) {
            app_error("", st);
            goto done;
        }
    }
    if ((st = dn_network_parse(pos[1], -1, &net)) != DN_OK) {
        app_error("", st);
        goto done;
    }
    dn_network_print(net, stderr);
    if (threads) dn_network_set_threads(net, threads);
    /* a weights file: all the layers, or a pretrained prefix written by `darknet partial`; the
       layers it does not cover start from seeded random weights */
    net->seen = 0;
    int loaded = 0;
    if (np > 2) {
        fprintf(stderr, "Loading weights from %s...", pos[2]);
        long extra = 0;
        if ((st = dn_network_load_weights_prefix(net, pos[2], &loaded, &extra)) != DN_OK) {
            fprintf(stderr, "\n");
            app_error("", st);
            goto done;
        }
        fprintf(stderr, "Done!\n");
        if (loaded < dn_network_layers(net))
            fprintf(stderr, "%s: a pretrained prefix: %d of %d layers loaded, the rest start from random weights\n",
                    pos[2], loaded, dn_network_layers(net));
        if (extra > 0)
            fprintf(stderr, "%s: warning: %ld bytes at the end were not used: was it written for %s?\n", pos[2], extra,
                    pos[1]);
    }
    if (loaded < dn_network_layers(net)) {
        /* randomize draws every layer in turn (so a layer's values do not depend on the prefix),
           then the prefix goes back over its layers */
        dn_network_randomize(net, (uint64_t)seed, NULL);
        if (loaded > 0 && (st = dn_network_load_weights_prefix(net, pos[2], &loaded, NULL)) != DN_OK) {
            app_error("", st);
            goto done;
        }
    }
    if (clear) net->seen = 0;
    if (classes <= 0) classes = dn_network_classes(net);
    if (classes != dn_network_classes(net)) {
        fprintf(stderr, "darknet: %s: classes=%d but %s has %d\n", pos[0], classes, pos[1], dn_network_classes(net));
        goto done;
    }
    if (detector != (dn_network_task(net) == DN_TASK_DETECTOR)) {
        fprintf(stderr, "darknet: %s is %s\n", pos[1], detector ? "not a detector (no [yolo] layer)" : "a detector: use detector train");
        goto done;
    }
    if ((st = dn_network_train_prepare(net)) != DN_OK) {
        app_error("", st);
        goto done;
    }
    if (mkdir(backup, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "darknet: %s: cannot create the backup folder: %s\n", backup, strerror(errno));
        goto done;
    }
    dn_loader_cfg lc = {detector, paths, npaths, labels, nlabels, classes, net->w, net->h, net->c, net->batch, 1,
                        net->jitter >= 0 ? net->jitter : detector ? .2f : .1f, net->hue, net->saturation, net->exposure, 1, (uint64_t)seed};
    if ((st = dn_loader_create(&lc, &loader)) != DN_OK) {
        app_error("", st);
        goto done;
    }
    int imgs = net->batch * net->subdivisions;
    int max_batches = max_override ? max_override : net->max_batches;
    if (max_batches <= 0) {
        fprintf(stderr, "darknet: %s: max_batches must be set in [net] (or give -max)\n", pos[1]);
        goto done;
    }
    if (!save_every) save_every = max_batches / 10 > 100 ? max_batches / 10 : 100;
    char base[1024];
    base_of(pos[1], base, sizeof base);
    int truth_size = detector ? DN_MAX_BOXES * 5 : classes;
    if (net->adam)
        fprintf(stderr, "Learning Rate: %g, Adam (B1 %g, B2 %g, eps %g), Decay: %g", net->learning_rate, net->B1,
                net->B2, net->eps, net->decay);
    else
        fprintf(stderr, "Learning Rate: %g, Momentum: %g, Decay: %g", net->learning_rate, net->momentum, net->decay);
    fprintf(stderr, "; %d images per batch in %d steps; %d images listed\n", imgs, net->subdivisions, npaths);
    signal(SIGINT, on_sigint);
    double start = app_now(), avg = -1;
    long batch_num = (long)(net->seen / (uint64_t)imgs), first = batch_num;
    while (batch_num < max_batches && !g_stop) {
        double t0 = app_now();
        double loss = 0;
        for (int s = 0; s < net->subdivisions; s++) {
            float *x, *y;
            if ((st = dn_loader_next(loader, &x, &y)) != DN_OK) {
                app_error("", st);
                goto done;
            }
            loss += dn_network_train_step(net, x, y, truth_size);
        }
        loss /= net->subdivisions;
        float rate = dn_network_rate(net, batch_num);
        dn_network_update(net, rate, imgs);
        net->seen += (uint64_t)imgs;
        batch_num++;
        if (!isfinite(loss)) {
            fprintf(stderr, "darknet: the loss diverged (%f) at batch %ld: lower learning_rate\n", loss, batch_num);
            goto done;
        }
        avg = avg < 0 ? loss : avg * .9 + loss * .1;
        double el = app_now() - start, per = el / (double)(batch_num - first);
        char eta[32];
        fmt_eta(per * (max_batches - batch_num), eta, sizeof eta);
        printf("%ld: %f, %f avg, %f rate, %.3f seconds, %llu images, %.0f img/s, ETA %s\n", batch_num, loss, avg, rate,
               app_now() - t0, (unsigned long long)net->seen, imgs / (app_now() - t0), eta);
        fflush(stdout);
        if (batch_num % 100 == 0 && save_checkpoint(net, backup, base, ".backup") != 0) goto done;
        if (batch_num % save_every == 0 && batch_num < max_batches) {
            char suf[32];
            snprintf(suf, sizeof suf, "_%ld", batch_num);
            if (save_checkpoint(net, backup, base, suf) != 0) goto done;
        }
    }
    if (save_checkpoint(net, backup, base, g_stop ? ".backup" : "_final") != 0) goto done;
    if (g_stop) fprintf(stderr, "interrupted at batch %ld: resume from %s/%s.backup\n", batch_num, backup, base);
    rc = APP_OK;
done:
    signal(SIGINT, SIG_DFL);
    dn_loader_free(loader);
    dn_network_free(net);
    dn_lines_free(paths, npaths);
    dn_lines_free(labels, nlabels);
    dn_lines_free(names, nnames);
    dn_options_free(opts);
    return rc;
}

int cmd_classifier_valid(int argc, char **argv)
{
    const char *usage = "darknet classifier valid <data> <cfg> <weights>";
    char *pos[3];
    int np;
    int rc = app_parse(argc, argv, 3, NULL, 0, pos, 3, &np, usage);
    if (rc) return rc;
    if (np < 3) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    dn_options *opts = NULL;
    char **paths = NULL, **labels = NULL;
    int npaths = 0, nlabels = 0;
    dn_network *net = NULL;
    rc = APP_FAIL;
    dn_status st = dn_options_read(pos[0], &opts);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    const char *list = dn_options_str(opts, "valid", "data/valid.list");
    const char *lp = dn_options_str(opts, "labels", NULL);
    if (!lp) lp = dn_options_str(opts, "names", "data/labels.list");
    if ((st = dn_lines_read(list, &paths, &npaths)) != DN_OK || (st = dn_lines_read(lp, &labels, &nlabels)) != DN_OK) {
        app_error("", st);
        goto done;
    }
    net = app_load_network(pos[1], pos[2], 1);
    if (!net) goto done;
    int classes = dn_network_outputs(net);
    int topk = classes < 5 ? classes : 5, n = 0, top1 = 0, top5 = 0, skipped = 0;
    double t0 = app_now();
    for (int i = 0; i < npaths; i++) {
        int truth = -1, count = 0;
        for (int k = 0; k < nlabels; k++)
            if (strstr(paths[i], labels[k])) truth = k, count++;
        dn_image im = {0}, sized = {0};
        if (count != 1 || truth >= classes) {
            fprintf(stderr, "darknet: %s: %d labels match the path (exactly one must): skipped\n", paths[i], count);
            skipped++;
            continue;
        }
        if ((st = dn_image_load(paths[i], dn_network_channels(net), &im)) != DN_OK ||
            (st = dn_image_letterbox(&im, dn_network_width(net), dn_network_height(net), &sized)) != DN_OK) {
            app_error("skipped", st);
            dn_image_free(&im);
            skipped++;
            continue;
        }
        const float *p = dn_network_predict(net, sized.data);
        int better = 0;
        for (int c = 0; c < classes; c++) better += p[c] > p[truth];
        top1 += better == 0;
        top5 += better < topk;
        n++;
        dn_image_free(&im);
        dn_image_free(&sized);
        if ((i + 1) % 1000 == 0 || i + 1 == npaths) {
            double el = app_now() - t0;
            char eta[32];
            fmt_eta(el / (i + 1) * (npaths - i - 1), eta, sizeof eta);
            fprintf(stderr, "%d/%d: top 1: %f, top %d: %f (%.0f img/s, ETA %s)\n", i + 1, npaths, (double)top1 / n, topk,
                    (double)top5 / n, (i + 1) / el, eta);
        }
    }
    if (n == 0) {
        fprintf(stderr, "darknet: %s: no image could be evaluated\n", list);
        goto done;
    }
    printf("top 1: %f, top %d: %f (%d images%s)\n", (double)top1 / n, topk, (double)top5 / n, n, skipped ? ", some skipped" : "");
    rc = skipped ? APP_FAIL : APP_OK;
done:
    dn_network_free(net);
    dn_lines_free(paths, npaths);
    dn_lines_free(labels, nlabels);
    dn_options_free(opts);
    return rc;
}

typedef struct map_det {
    float prob;
    int image, cls;
    dn_box box;
} map_det;

static int by_prob(const void *a, const void *b)
{
    float x = ((const map_det *)a)->prob, y = ((const map_det *)b)->prob;
    return (x < y) - (x > y);
}

int cmd_detector_map(int argc, char **argv)
{
    const char *usage = "darknet detector map <data> <cfg> <weights> [-iou_thresh t] [-points 0|11|101]";
    float iou_t = .5f;
    int points = 0;
    app_flag flags[] = {{"-iou_thresh", 'f', &iou_t}, {"-points", 'i', &points}};
    char *pos[3];
    int np;
    int rc = app_parse(argc, argv, 3, flags, 2, pos, 3, &np, usage);
    if (rc) return rc;
    if (np < 3 || !(iou_t > 0 && iou_t <= 1) || (points != 0 && points != 11 && points != 101)) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    dn_options *opts = NULL;
    char **paths = NULL, **names = NULL;
    int npaths = 0, nnames = 0, ndet = 0, cap = 0;
    dn_network *net = NULL;
    map_det *all = NULL;
    float *gt = NULL;
    int *ngt = NULL;
    char *used = NULL;
    rc = APP_FAIL;
    if (app_read_names(pos[0], "data/names.list", &names, &nnames, &opts)) goto done;
    const char *list = dn_options_str(opts, "valid", "data/valid.list");
    dn_status st = dn_lines_read(list, &paths, &npaths);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    net = app_load_network(pos[1], pos[2], 1);
    if (!net) goto done;
    int classes = dn_network_classes(net);
    if (nnames < classes) {
        fprintf(stderr, "darknet: %s: %d names for %d classes\n", pos[0], nnames, classes);
        goto done;
    }
    gt = calloc((size_t)npaths * DN_MAX_BOXES * 5, sizeof(float));
    ngt = calloc((size_t)npaths, sizeof(int));
    used = calloc((size_t)npaths * DN_MAX_BOXES, 1);
    if (!gt || !ngt || !used) goto done;
    int letter = dn_network_letterbox(net), skipped = 0;
    double t0 = app_now();
    for (int i = 0; i < npaths; i++) {
        char lp[4200];
        dn_image im = {0}, sized = {0};
        if ((st = dn_label_path(paths[i], lp, sizeof lp)) != DN_OK ||
            (st = dn_read_labels(lp, classes, gt + (size_t)i * DN_MAX_BOXES * 5, DN_MAX_BOXES, &ngt[i])) != DN_OK ||
            (st = dn_image_load(paths[i], 3, &im)) != DN_OK ||
            (st = letter ? dn_image_letterbox(&im, net->w, net->h, &sized) : dn_image_resize(&im, net->w, net->h, &sized)) != DN_OK) {
            app_error("skipped", st);
            ngt[i] = 0;
            skipped++;
            dn_image_free(&im);
            continue;
        }
        dn_network_predict(net, sized.data);
        dn_detection *dets;
        int n;
        if ((st = dn_network_detections(net, im.w, im.h, .005f, letter, &dets, &n)) != DN_OK) {
            app_error("", st);
            dn_image_free(&im);
            dn_image_free(&sized);
            goto done;
        }
        dn_detections_nms(dets, n, .45f);
        for (int k = 0; k < n; k++)
            for (int c = 0; c < classes; c++) {
                if (!(dets[k].prob[c] > 0)) continue;
                if (ndet == cap) {
                    cap = cap ? cap * 2 : 4096;
                    map_det *na = realloc(all, (size_t)cap * sizeof *na);
                    if (!na) {
                        dn_detections_free(dets, n);
                        goto done;
                    }
                    all = na;
                }
                all[ndet++] = (map_det){dets[k].prob[c], i, c, dets[k].bbox};
            }
        dn_detections_free(dets, n);
        dn_image_free(&im);
        dn_image_free(&sized);
        if ((i + 1) % 200 == 0 || i + 1 == npaths) {
            double el = app_now() - t0;
            char eta[32];
            fmt_eta(el / (i + 1) * (npaths - i - 1), eta, sizeof eta);
            fprintf(stderr, "%d/%d images, %.1f img/s, ETA %s\n", i + 1, npaths, (i + 1) / el, eta);
        }
    }
    if (ndet) qsort(all, (size_t)ndet, sizeof *all, by_prob); /* qsort(NULL, 0) is undefined */
    double sum_ap = 0;
    int present = 0;
    for (int c = 0; c < classes; c++) {
        int total = 0, tp = 0, fp = 0;
        for (int i = 0; i < npaths; i++)
            for (int b = 0; b < ngt[i]; b++) total += (int)gt[((size_t)i * DN_MAX_BOXES + b) * 5 + 4] == c;
        /* precision/recall along the ranking */
        int m = 0;
        for (int k = 0; k < ndet; k++) m += all[k].cls == c;
        double *prec = calloc((size_t)m + 1, sizeof(double)), *rec = calloc((size_t)m + 1, sizeof(double));
        if (!prec || !rec) {
            free(prec), free(rec);
            goto done;
        }
        int j = 0;
        for (int k = 0; k < ndet; k++) {
            if (all[k].cls != c) continue;
            int img = all[k].image, best = -1;
            float bi = iou_t;
            for (int b = 0; b < ngt[img]; b++) {
                const float *g = gt + ((size_t)img * DN_MAX_BOXES + b) * 5;
                if ((int)g[4] != c) continue;
                dn_box gb = {g[0], g[1], g[2], g[3]};
                float iou = dn_box_iou(all[k].box, gb);
                if (iou >= bi) bi = iou, best = b;
            }
            if (best >= 0 && !used[(size_t)img * DN_MAX_BOXES + best]) {
                used[(size_t)img * DN_MAX_BOXES + best] = 1;
                tp++;
            } else {
                fp++;
            }
            prec[j] = (double)tp / (tp + fp);
            rec[j] = total ? (double)tp / total : 0;
            j++;
        }
        double ap = 0;
        if (points == 0) {
            /* all-point interpolation (VOC 2010+): area under the monotone precision envelope */
            for (int k = m - 2; k >= 0; k--)
                if (prec[k + 1] > prec[k]) prec[k] = prec[k + 1];
            double last_r = 0;
            for (int k = 0; k < m; k++) {
                ap += (rec[k] - last_r) * prec[k];
                last_r = rec[k];
            }
        } else {
            for (int q = 0; q < points; q++) {
                double r = (double)q / (points - 1), best = 0;
                for (int k = 0; k < m; k++)
                    if (rec[k] >= r && prec[k] > best) best = prec[k];
                ap += best / points;
            }
        }
        free(prec), free(rec);
        if (total > 0) {
            sum_ap += ap;
            present++;
        }
        printf("class_id = %d, name = %s, ap = %.2f%%   \t (TP = %d, FP = %d, ground truth %d)\n", c, names[c], ap * 100,
               tp, fp, total);
    }
    if (present == 0) {
        fprintf(stderr, "darknet: %s: no ground-truth boxes\n", list);
        goto done;
    }
    printf("mean average precision (mAP@%.2f) = %f, or %.2f %% (over %d classes with ground truth%s)\n", iou_t,
           sum_ap / present, sum_ap / present * 100, present, skipped ? "; some images skipped" : "");
    rc = skipped ? APP_FAIL : APP_OK;
done:
    free(all);
    free(gt);
    free(ngt);
    free(used);
    dn_network_free(net);
    dn_lines_free(paths, npaths);
    dn_lines_free(names, nnames);
    dn_options_free(opts);
    return rc;
}
