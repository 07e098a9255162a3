/* classifier.c - `darknet classifier predict data cfg weights image [-top k]`: letterboxes the
 * image (pjreddie's default; -center_crop for AlexeyAB's resize + centre crop), runs the
 * network and prints the top-k as Darknet does ("%5.2f%%: name"). */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_classifier(int argc, char **argv);
int cmd_train(int argc, char **argv, int detector);
int cmd_classifier_valid(int argc, char **argv);

/* Resize the short side to the network size, then crop the centre (AlexeyAB's predict). */
static dn_status center_crop(const dn_image *im, int w, int h, dn_image *out)
{
    int nw, nh;
    if (im->w < im->h) {
        nw = w;
        nh = (int)((long)im->h * w / im->w);
    } else {
        nh = h;
        nw = (int)((long)im->w * h / im->h);
    }
    if (nw < w) nw = w;
    if (nh < h) nh = h;
    dn_image r;
    dn_status st = dn_image_resize(im, nw, nh, &r);
    if (st != DN_OK) return st;
    st = dn_image_make(w, h, im->c, out);
    if (st == DN_OK) {
        int dx = (nw - w) / 2, dy = (nh - h) / 2;
        for (int c = 0; c < im->c; c++)
            for (int y = 0; y < h; y++)
                memcpy(out->data + ((size_t)c * h + y) * w, r.data + ((size_t)c * nh + y + dy) * nw + dx,
                       (size_t)w * sizeof(float));
    }
    dn_image_free(&r);
    return st;
}

/* Indices of the k largest values, best first. */
static void top_k(const float *x, int n, int k, int *idx)
{
    for (int i = 0; i < k; i++) idx[i] = -1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            if (idx[j] < 0 || x[i] > x[idx[j]]) {
                memmove(idx + j + 1, idx + j, (size_t)(k - j - 1) * sizeof(int));
                idx[j] = i;
                break;
            }
        }
}

static int predict(int argc, char **argv)
{
    const char *usage = "darknet classifier predict <data> <cfg> <weights> <image> [-top k] [-center_crop]";
    int top = 0, crop = 0;
    /* -t is pjreddie's spelling, -top AlexeyAB's */
    app_flag flags[] = {{"-top", 'i', &top}, {"-t", 'i', &top}, {"-center_crop", 'b', &crop}};
    char *pos[4];
    int np;
    int rc = app_parse(argc, argv, 3, flags, 3, pos, 4, &np, usage);
    if (rc) return rc;
    if (np < 4) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    char **names;
    int nnames;
    dn_options *opts;
    if (app_read_names(pos[0], "data/labels.list", &names, &nnames, &opts)) {
        dn_options_free(opts);
        return APP_FAIL;
    }
    if (top == 0) top = dn_options_int(opts, "top", 1);
    dn_network *net = app_load_network(pos[1], pos[2], 0);
    dn_image im = {0}, sized = {0};
    rc = APP_FAIL;
    if (!net) goto done;
    int outputs = dn_network_outputs(net);
    if (nnames < outputs) {
        fprintf(stderr, "darknet: %s: %d names for %d network outputs\n", pos[0], nnames, outputs);
        goto done;
    }
    if (top < 1 || top > outputs) {
        fprintf(stderr, "darknet: -top %d must be in 1..%d\n", top, outputs);
        rc = APP_USAGE;
        goto done;
    }
    dn_status st = dn_image_load(pos[3], dn_network_channels(net), &im);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    st = crop ? center_crop(&im, dn_network_width(net), dn_network_height(net), &sized)
              : dn_image_letterbox(&im, dn_network_width(net), dn_network_height(net), &sized);
    if (st != DN_OK) {
        app_error(pos[3], st);
        goto done;
    }
    double t = app_now();
    const float *pred = dn_network_predict(net, sized.data);
    fprintf(stderr, "%s: Predicted in %f seconds.\n", pos[3], app_now() - t);
    int *idx = calloc((size_t)top, sizeof(int));
    if (!idx) goto done;
    top_k(pred, outputs, top, idx);
    for (int i = 0; i < top; i++) printf("%5.2f%%: %s\n", pred[idx[i]] * 100, names[idx[i]]);
    free(idx);
    rc = APP_OK;
done:
    dn_image_free(&im);
    dn_image_free(&sized);
    dn_network_free(net);
    dn_lines_free(names, nnames);
    dn_options_free(opts);
    return rc;
}

int cmd_classifier(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: darknet classifier predict|train|valid <data> <cfg> ...\n");
        return APP_USAGE;
    }
    if (!strcmp(argv[2], "predict")) return predict(argc, argv);
    if (!strcmp(argv[2], "train")) return cmd_train(argc, argv, 0);
    if (!strcmp(argv[2], "valid")) return cmd_classifier_valid(argc, argv);
    fprintf(stderr, "darknet: unknown classifier command '%s' (expected predict, train or valid)\n", argv[2]);
    return APP_USAGE;
}
