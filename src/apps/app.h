/* app.h - shared pieces of the subcommands: flag parsing with usage errors, loading a network
 * or an image with a one-line error, names files, and the exit codes (0 ok, 1 failure, 2 usage). */
#ifndef DN_APP_H
#define DN_APP_H

#include "darknet.h"

#define APP_OK 0
#define APP_FAIL 1
#define APP_USAGE 2

/* A flag the command accepts; value types: 'i' int, 'f' float, 's' string, 'b' boolean. */
typedef struct app_flag {
    const char *name;
    char type;
    void *dst;
} app_flag;

/* Parses argv[first..argc) against flags; non-flag words go to pos (up to max_pos). Prints a
 * usage line and returns APP_USAGE on an unknown flag, a missing or malformed value, or too
 * many positional arguments; APP_OK otherwise. */
int app_parse(int argc, char **argv, int first, const app_flag *flags, int nflags, char **pos,
              int max_pos, int *npos, const char *usage);

/* Prints "darknet: <what>: <reason>" to stderr. */
void app_error(const char *what, dn_status st);

/* Loads cfg + weights (weights may be NULL) for batch 1, printing the layer table to stderr
 * like Darknet. Returns NULL after printing the error. */
dn_network *app_load_network(const char *cfg, const char *weights, int quiet);

/* Reads the names list of a .data file (key names, then labels, else def). */
int app_read_names(const char *datacfg, const char *def, char ***names, int *count, dn_options **opts);

/* Draws detections onto im like Darknet and prints "name: NN%" lines (and boxes when
 * ext_output). Returns the number of printed labels. */
int app_draw_detections(dn_image *im, dn_detection *dets, int n, float thresh, char **names,
                        int nnames, int ext_output);

double app_now(void);

/* The names file for a cfg given without a .data file: the only *.names file beside the cfg.
 * Returns 1 and writes its path to out, else 0. */
int app_names_beside(const char *cfg, char *out, size_t n);

#endif
