/* main.c - the `darknet` command: dispatches to the subcommands (Darknet's names and syntax). */
#include "app.h"

#include <stdio.h>
#include <string.h>

int cmd_classifier(int argc, char **argv);
int cmd_detector(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_weights(int argc, char **argv);
int cmd_partial(int argc, char **argv);
int cmd_benchmark(int argc, char **argv);
int cmd_gradcampp(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f,
            "usage: darknet <command> ...\n"
            "  classifier predict <data> <cfg> <weights> <image> [-top k]\n"
            "  detector test <data> <cfg> <weights> <image> [-thresh t] [-out name]\n"
            "  detector demo <data> <cfg> <weights> [-c index | file] [-out file.mp4|.avi] [-dont_show]\n"
            "  detect <cfg> <weights> <image> [-thresh t]\n"
            "  gradcampp [data] <cfg> <weights> <image> [image ...] [-method m] [-layer n] [-out dir]\n"
            "  gradcampp demo [data] <cfg> <weights> [-c index | file] [-out file.mp4|.avi] [-dont_show] [-frames N]\n"
            "  weights random <cfg> <out> [-seed s] | weights info <cfg> <weights>\n"
            "  partial <cfg> <weights> <out.weights> <layers>   (a pretrained prefix for train)\n"
            "  benchmark <cfg> [weights] [-n runs] [-threads t]\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return APP_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "classifier")) return cmd_classifier(argc, argv);
    if (!strcmp(c, "detector")) return cmd_detector(argc, argv);
    if (!strcmp(c, "detect")) return cmd_detect(argc, argv);
    if (!strcmp(c, "weights")) return cmd_weights(argc, argv);
    if (!strcmp(c, "partial")) return cmd_partial(argc, argv);
    if (!strcmp(c, "benchmark")) return cmd_benchmark(argc, argv);
    if (!strcmp(c, "gradcampp")) return cmd_gradcampp(argc, argv);
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
        usage(stdout);
        return APP_OK;
    }
    fprintf(stderr, "darknet: unknown command '%s'\n", c);
    usage(stderr);
    return APP_USAGE;
}
