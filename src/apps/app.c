/* app.c - flag parsing, error printing, network/names loading and detection drawing shared by
 * the subcommands. */
#include "app.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double app_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int is_number(const char *s)
{
    char *end;
    errno = 0;
    strtod(s, &end);
    return end != s && *end == 0;
}

int app_parse(int argc, char **argv, int first, const app_flag *flags, int nflags, char **pos,
              int max_pos, int *npos, const char *usage)
{
    *npos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] && !is_number(a)) {
            const app_flag *f = NULL;
            for (int k = 0; k < nflags; k++)
                if (!strcmp(a, flags[k].name)) f = &flags[k];
            if (!f) {
                fprintf(stderr, "darknet: unknown option '%s'\nusage: %s\n", a, usage);
                return APP_USAGE;
            }
            if (f->type == 'b') {
                *(int *)f->dst = 1;
                continue;
            }
            if (i + 1 >= argc) {
                fprintf(stderr, "darknet: option '%s' needs a value\nusage: %s\n", a, usage);
                return APP_USAGE;
            }
            const char *v = argv[++i];
            char *end;
            errno = 0;
            if (f->type == 'i') {
                long x = strtol(v, &end, 10);
                if (end == v || *end || errno || x < -1000000000L || x > 1000000000L) {
                    fprintf(stderr, "darknet: option '%s' expects an integer, got '%s'\n", a, v);
                    return APP_USAGE;
                }
                *(int *)f->dst = (int)x;
            } else if (f->type == 'f') {
                float x = strtof(v, &end);
                if (end == v || *end || errno || !isfinite(x)) {
                    fprintf(stderr, "darknet: option '%s' expects a number, got '%s'\n", a, v);
                    return APP_USAGE;
                }
                *(float *)f->dst = x;
            } else {
                *(const char **)f->dst = v;
            }
            continue;
        }
        if (*npos >= max_pos) {
            fprintf(stderr, "darknet: unexpected argument '%s'\nusage: %s\n", a, usage);
            return APP_USAGE;
        }
        pos[(*npos)++] = argv[i];
    }
    return APP_OK;
}

void app_error(const char *what, dn_status st)
{
    const char *why = dn_last_error();
    if (what && *what)
        fprintf(stderr, "darknet: %s: %s\n", what, *why ? why : dn_status_str(st));
    else
        fprintf(stderr, "darknet: %s\n", *why ? why : dn_status_str(st));
}

dn_network *app_load_network(const char *cfg, const char *weights, int quiet)
{
    dn_network *net = NULL;
    dn_status st = dn_network_parse(cfg, 1, &net);
    if (st != DN_OK) {
        app_error("", st);
        return NULL;
    }
    if (!quiet) dn_network_print(net, stderr);
    if (weights) {
        if (!quiet) fprintf(stderr, "Loading weights from %s...", weights);
        long extra = 0;
        st = dn_network_load_weights(net, weights, &extra);
        if (st != DN_OK) {
            if (!quiet) fprintf(stderr, "\n");
            app_error("", st);
            dn_network_free(net);
            return NULL;
        }
        if (!quiet) fprintf(stderr, "Done!\n");
        if (extra > 0)
            fprintf(stderr, "darknet: warning: %s: %ld bytes after the last layer were not used "
                            "(the file is longer than %s needs)\n", weights, extra, cfg);
    }
    return net;
}

int app_read_names(const char *datacfg, const char *def, char ***names, int *count, dn_options **opts)
{
    *names = NULL;
    *count = 0;
    *opts = NULL;
    const char *path = def;
    if (datacfg) {
        dn_status st = dn_options_read(datacfg, opts);
        if (st != DN_OK) {
            app_error("", st);
            return APP_FAIL;
        }
        path = dn_options_str(*opts, "names", NULL);
        if (!path) path = dn_options_str(*opts, "labels", def);
    }
    dn_status st = dn_lines_read(path, names, count);
    if (st != DN_OK) {
        app_error("", st);
        return APP_FAIL;
    }
    return APP_OK;
}

int app_draw_detections(dn_image *im, dn_detection *dets, int n, float thresh, char **names,
                        int nnames, int ext_output)
{
    int printed = 0;
    for (int i = 0; i < n; i++) {
        char label[4096] = {0};
        int cls = -1;
        for (int j = 0; j < dets[i].classes; j++) {
            if (!(dets[i].prob[j] > thresh)) continue;
            const char *name = j < nnames ? names[j] : "?";
            if (cls < 0) {
                snprintf(label, sizeof label, "%s", name);
                cls = j;
            } else if (strlen(label) + strlen(name) + 3 < sizeof label) {
                strcat(label, ", ");
                strcat(label, name);
            }
            printf("%s: %.0f%%\n", name, dets[i].prob[j] * 100);
            printed++;
        }
        if (cls < 0) continue;
        dn_box b = dets[i].bbox;
        int left = (int)((b.x - b.w / 2.) * im->w), right = (int)((b.x + b.w / 2.) * im->w);
        int top = (int)((b.y - b.h / 2.) * im->h), bot = (int)((b.y + b.h / 2.) * im->h);
        if (left < 0) left = 0;
        if (right > im->w - 1) right = im->w - 1;
        if (top < 0) top = 0;
        if (bot > im->h - 1) bot = im->h - 1;
        if (ext_output)
            printf("\t(left_x: %4d   top_y: %4d   width: %4d   height: %4d)\n", left, top, right - left,
                   bot - top);
        int classes = dets[i].classes;
        float r = dn_class_color(2, cls, classes), g = dn_class_color(1, cls, classes),
              bl = dn_class_color(0, cls, classes);
        int width = (int)(im->h * .006);
        if (width < 1) width = 1;
        dn_image_draw_box(im, left, top, right, bot, width, r, g, bl);
        int scale = im->h >= 400 ? 2 : 1;
        dn_image_draw_label(im, left, top - 8 * scale - 2 >= 0 ? top - 8 * scale - 2 : top, label, scale, r, g, bl);
    }
    return printed;
}

int app_names_beside(const char *cfg, char *out, size_t n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", cfg);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 6 && !strcmp(e->d_name + l - 6, ".names")) {
            if (found++) break;
            if ((size_t)snprintf(out, n, "%s/%s", dir, e->d_name) >= n) found = 2;
        }
    }
    closedir(d);
    return found == 1;
}
