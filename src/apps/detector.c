/* detector.c - `darknet detector test data cfg weights image [-thresh t] [-out name]` and
 * `darknet detect cfg weights image`: letterbox, forward, decode, per-class NMS (0.45), print
 * "name: NN%" per detection and write the image with boxes (predictions.jpg by default). */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_detector(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_train(int argc, char **argv, int detector);
int cmd_detector_map(int argc, char **argv);
int cmd_detector_demo(int argc, char **argv);

static int run_test(const char *datacfg, const char *cfg, const char *weights, const char *image,
                    float thresh, float nms, const char *outname, int ext_output, int no_letterbox)
{
    char **names;
    int nnames;
    dn_options *opts;
    if (app_read_names(datacfg, "data/names.list", &names, &nnames, &opts)) {
        dn_options_free(opts);
        return APP_FAIL;
    }
    int rc = APP_FAIL;
    dn_image im = {0}, sized = {0};
    dn_detection *dets = NULL;
    int n = 0;
    dn_network *net = app_load_network(cfg, weights, 0);
    if (!net) goto done;
    if (dn_network_task(net) != DN_TASK_DETECTOR) {
        fprintf(stderr, "darknet: %s has no [yolo] or [region] layer: not a detector\n", cfg);
        goto done;
    }
    if (nnames < dn_network_classes(net)) {
        fprintf(stderr, "darknet: %s: %d names for %d classes\n", datacfg ? datacfg : "names", nnames,
                dn_network_classes(net));
        goto done;
    }
    dn_status st = dn_image_load(image, 3, &im);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    int letter = !no_letterbox;
    st = letter ? dn_image_letterbox(&im, dn_network_width(net), dn_network_height(net), &sized)
                : dn_image_resize(&im, dn_network_width(net), dn_network_height(net), &sized);
    if (st != DN_OK) {
        app_error(image, st);
        goto done;
    }
    double t = app_now();
    dn_network_predict(net, sized.data);
    printf("%s: Predicted in %f seconds.\n", image, app_now() - t);
    st = dn_network_detections(net, im.w, im.h, thresh, letter, &dets, &n);
    if (st != DN_OK) {
        app_error(image, st);
        goto done;
    }
    if (nms > 0) dn_detections_nms(dets, n, nms);
    app_draw_detections(&im, dets, n, thresh, names, nnames, ext_output);
    char path[4096];
    snprintf(path, sizeof path, "%s.jpg", outname ? outname : "predictions");
    st = dn_image_save_jpeg(&im, path, 80);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    rc = APP_OK;
done:
    dn_detections_free(dets, n);
    dn_image_free(&im);
    dn_image_free(&sized);
    dn_network_free(net);
    dn_lines_free(names, nnames);
    dn_options_free(opts);
    return rc;
}

/* `detector valid`: Darknet's VOC-style results, one file per class in <results>/ named
 * comp4_det_test_<name>.txt with "id prob xmin ymin xmax ymax" (1-based pixels), thresh .005. */
static int run_valid(const char *datacfg, const char *cfg, const char *weights, const char *outfile)
{
    dn_options *opts = NULL;
    char **names = NULL, **paths = NULL;
    int nnames = 0, npaths = 0, rc = APP_FAIL, nfps = 0;
    FILE **fps = NULL;
    dn_network *net = NULL;
    if (app_read_names(datacfg, "data/names.list", &names, &nnames, &opts)) goto done;
    const char *list = dn_options_str(opts, "valid", "data/train.list");
    const char *prefix = dn_options_str(opts, "results", "results");
    dn_status st = dn_lines_read(list, &paths, &npaths);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    net = app_load_network(cfg, weights, 0);
    if (!net) goto done;
    int classes = dn_network_classes(net);
    if (nnames < classes) {
        fprintf(stderr, "darknet: %s: %d names for %d classes\n", datacfg, nnames, classes);
        goto done;
    }
    fps = calloc((size_t)classes, sizeof(FILE *));
    if (!fps) goto done;
    for (nfps = 0; nfps < classes; nfps++) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s/%s%s.txt", prefix, outfile ? outfile : "comp4_det_test_", names[nfps]);
        fps[nfps] = fopen(buf, "w");
        if (!fps[nfps]) {
            fprintf(stderr, "darknet: %s: cannot write\n", buf);
            goto done;
        }
    }
    int failed = 0;
    double start = app_now();
    for (int i = 0; i < npaths; i++) {
        dn_image im = {0}, sized = {0};
        st = dn_image_load(paths[i], 3, &im);
        if (st == DN_OK) st = dn_image_letterbox(&im, dn_network_width(net), dn_network_height(net), &sized);
        if (st != DN_OK) {
            app_error("", st);
            failed = 1;
            dn_image_free(&im);
            continue;
        }
        dn_network_predict(net, sized.data);
        dn_detection *dets;
        int n;
        st = dn_network_detections(net, im.w, im.h, .005f, 1, &dets, &n);
        if (st != DN_OK) {
            app_error(paths[i], st);
            failed = 1;
        } else {
            dn_detections_nms(dets, n, .45f);
            const char *base = strrchr(paths[i], '/');
            base = base ? base + 1 : paths[i];
            char id[1024];
            snprintf(id, sizeof id, "%s", base);
            char *dot = strrchr(id, '.');
            if (dot) *dot = 0;
            for (int k = 0; k < n; k++) {
                dn_box b = dets[k].bbox;
                float xmin = (b.x - b.w / 2.f) * im.w + 1, xmax = (b.x + b.w / 2.f) * im.w + 1;
                float ymin = (b.y - b.h / 2.f) * im.h + 1, ymax = (b.y + b.h / 2.f) * im.h + 1;
                if (xmin < 1) xmin = 1;
                if (ymin < 1) ymin = 1;
                if (xmax > im.w) xmax = (float)im.w;
                if (ymax > im.h) ymax = (float)im.h;
                for (int j = 0; j < classes; j++)
                    if (dets[k].prob[j] > 0)
                        fprintf(fps[j], "%s %f %f %f %f %f\n", id, dets[k].prob[j], xmin, ymin, xmax, ymax);
            }
            dn_detections_free(dets, n);
        }
        dn_image_free(&im);
        dn_image_free(&sized);
        if ((i + 1) % 100 == 0 || i + 1 == npaths)
            fprintf(stderr, "%d/%d images, %.1f s\n", i + 1, npaths, app_now() - start);
    }
    rc = failed ? APP_FAIL : APP_OK;
done:
    for (int j = 0; j < nfps; j++)
        if (fps[j] && fclose(fps[j]) != 0) rc = APP_FAIL;
    free(fps);
    dn_network_free(net);
    dn_lines_free(paths, npaths);
    dn_lines_free(names, nnames);
    dn_options_free(opts);
    return rc;
}

static const char *test_usage =
    "darknet detector test <data> <cfg> <weights> <image> [-thresh t] [-nms n] [-out name] [-ext_output] [-no_letterbox]";

int cmd_detector(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s\n", test_usage);
        return APP_USAGE;
    }
    if (!strcmp(argv[2], "train")) return cmd_train(argc, argv, 1);
    if (!strcmp(argv[2], "map")) return cmd_detector_map(argc, argv);
    if (!strcmp(argv[2], "demo")) return cmd_detector_demo(argc, argv);
    if (!strcmp(argv[2], "valid")) {
        const char *out = NULL;
        app_flag vflags[] = {{"-out", 's', &out}};
        char *vpos[3];
        int vn;
        const char *vu = "darknet detector valid <data> <cfg> <weights> [-out prefix]";
        int vrc = app_parse(argc, argv, 3, vflags, 1, vpos, 3, &vn, vu);
        if (vrc) return vrc;
        if (vn < 3) {
            fprintf(stderr, "usage: %s\n", vu);
            return APP_USAGE;
        }
        return run_valid(vpos[0], vpos[1], vpos[2], out);
    }
    if (strcmp(argv[2], "test")) {
        fprintf(stderr, "darknet: unknown detector command '%s' (expected test, valid, demo, train or map)\n", argv[2]);
        return APP_USAGE;
    }
    float thresh = .5f, hier = .5f, nms = .45f;
    const char *out = NULL;
    int ext = 0, noletter = 0, dont_show = 0;
    app_flag flags[] = {{"-thresh", 'f', &thresh}, {"-hier", 'f', &hier}, {"-nms", 'f', &nms},
                        {"-out", 's', &out}, {"-ext_output", 'b', &ext}, {"-no_letterbox", 'b', &noletter},
                        {"-dont_show", 'b', &dont_show}};
    char *pos[4];
    int np;
    int rc = app_parse(argc, argv, 3, flags, 7, pos, 4, &np, test_usage);
    if (rc) return rc;
    if (np < 4) {
        fprintf(stderr, "usage: %s\n", test_usage);
        return APP_USAGE;
    }
    if (thresh < 0 || thresh > 1 || nms < 0 || nms > 1) {
        fprintf(stderr, "darknet: -thresh and -nms must be in [0,1]\n");
        return APP_USAGE;
    }
    return run_test(pos[0], pos[1], pos[2], pos[3], thresh, nms, out, ext, noletter);
}

int cmd_detect(int argc, char **argv)
{
    const char *usage = "darknet detect <cfg> <weights> <image> [-thresh t] [-out name] [-ext_output]";
    float thresh = .5f, hier = .5f;
    const char *out = NULL;
    int ext = 0, dont_show = 0;
    app_flag flags[] = {{"-thresh", 'f', &thresh}, {"-hier", 'f', &hier}, {"-out", 's', &out},
                        {"-ext_output", 'b', &ext}, {"-dont_show", 'b', &dont_show}};
    char *pos[3];
    int np;
    int rc = app_parse(argc, argv, 2, flags, 5, pos, 3, &np, usage);
    if (rc) return rc;
    if (np < 3) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    if (thresh < 0 || thresh > 1) {
        fprintf(stderr, "darknet: -thresh must be in [0,1]\n");
        return APP_USAGE;
    }
    return run_test("cfg/coco.data", pos[0], pos[1], pos[2], thresh, .45f, out, ext, 0);
}
