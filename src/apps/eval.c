/* eval.c - `darknet gradcampp eval [data] cfg weights list.txt`: scores explanation methods side by
 * side against YOLO labels - Loc(delta), component boxes, pointing game, multi-instance coverage
 * (localisation) and Average Drop / Increase in Confidence / Win (faithfulness), after the
 * Grad-CAM++ paper (Chattopadhyay et al., WACV 2018, Tables 1 and 3) - then prints a table and
 * writes JSON and an HTML report; `gradcampp eval merge` combines sharded runs. Math: cam/metrics.c. */
#include "app.h"
#include "cam/metrics.h"
#include "core/core.h"
#include "io/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <png.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>

int cmd_gradcampp_eval(int argc, char **argv);

#define EV_MAX_METHODS 8
#define EV_MAX_DELTAS 4
#define EV_MAX_GT 4096     /* boxes read from one label file */
#define EV_MAX_COMP 65536  /* component boxes kept per map (more are counted, not boxed) */
#define EV_BUCKETS 4       /* multi-instance breakdown: 1, 2, 3, 4+ instances */
#define EV_THUMB 256       /* widest picture in the HTML report */

enum { EV_DET = 0, EV_CLASS, EV_IMAGE, EV_KINDS };
static const char *const kind_names[EV_KINDS] = {"detection", "class", "image"};

/* One method's results on one map. */
typedef struct ev_score {
    float loc[EV_MAX_DELTAS]; /* Loc(delta) for the run's deltas */
    float best_iou;           /* best IoU of a component box with a GT box */
    int ncomp;                /* components of the map at box_thresh */
    int loc_ok;               /* best_iou >= 0.5 */
    int point;                /* the map's peak lies in a GT box */
    int covered;              /* GT boxes holding a pixel of the map at box_thresh */
    float o;                  /* score on the input masked by the map */
} ev_score;

/* One scored map (one target), with every method's results. */
typedef struct ev_map {
    int kind;   /* EV_DET, EV_CLASS, EV_IMAGE */
    int cls;    /* network class */
    int det;    /* EV_DET: the detection's index among the image's detections, else -1 */
    int gt;     /* EV_DET: the matched GT box (index in the label file), else -1 */
    int ngt;    /* GT boxes the map is scored against */
    int ndets;  /* detections summed by the target */
    float iou;  /* EV_DET: IoU of the detection with its GT box */
    float y;    /* score on the original input */
    float box[4]; /* EV_DET: the detection's box (x, y, w, h relative) */
    ev_score s[EV_MAX_METHODS];
} ev_map;

/* One image of the list. Owns path, skip, gt and maps. */
typedef struct ev_image {
    int index;          /* line in the list (0-based, empty lines dropped) */
    char *path;
    int skipped;        /* not evaluated: skip says why */
    char skip[512];
    int w, h;
    int ngt;
    float *gt;          /* (ngt, 6): x, y, w, h relative, label id, network class (-1: not mapped) */
    int ndet;           /* detection/class pairs above the threshold */
    int unmatched;      /* of them without a GT box of their class at IoU >= 0.5 (not scored) */
    int missed_gt;      /* GT boxes that no detection matched */
    int missed_classes; /* GT classes without any detection (no class map); classifier -map: GT classes
                         * whose chosen class scores below -thresh (no map) */
    int fp_classes;     /* detected classes without a GT box (class map not scored) */
    int unexplained;    /* maps dropped: their head lies below -layer */
    int unscored;       /* classifier: no GT box to score the map against (with -map: none mapped) */
    ev_map *maps;
    int nmaps;
    double seconds;
} ev_image;

/* Settings of a run, as written to and read from the JSON. Strings are borrowed. */
typedef struct ev_set {
    const char *cfg, *weights, *list, *target, *layer, *shard_s;
    int task; /* DN_TASK_* */
    int nmethods, methods[EV_MAX_METHODS];
    int ndelta;
    float deltas[EV_MAX_DELTAS]; /* 0, .25, .5 and -delta */
    float box_thresh, thresh, nms;
    int letterbox;
    int list_total;
    char **names;
    int nnames;
} ev_set;

/* Totals of one kind of map for one method. */
typedef struct ev_tot {
    int n;                                 /* maps */
    double loc[EV_MAX_DELTAS], iou;        /* sums, then means */
    int loc_ok, point;
    int cov_gt[EV_BUCKETS + 1], cov_hit[EV_BUCKETS + 1]; /* [0] all, [b] maps with b (4: 4+) instances */
    int nf;                                /* maps with a positive score */
    double drop, inc, win[EV_MAX_METHODS]; /* percent */
} ev_tot;

typedef struct ev_counts {
    int listed, evaluated, skipped, gt, dets, unmatched, missed_gt, missed_classes, fp_classes, unexplained,
        unscored;
    int maps[EV_KINDS];
    double seconds;
} ev_counts;

static void image_free(ev_image *e)
{
    dn_free(e->path);
    dn_free(e->gt);
    dn_free(e->maps);
    memset(e, 0, sizeof *e);
}

/* The method that orders the report (worst first): gradcampp when evaluated, else the first. */
static int key_method(const ev_set *S)
{
    for (int m = 0; m < S->nmethods; m++)
        if (S->methods[m] == DN_CAM_GRADCAMPP) return m;
    return 0;
}

static const char *class_name(const ev_set *S, int cls, char *buf, size_t n)
{
    if (cls >= 0 && cls < S->nnames) return S->names[cls];
    snprintf(buf, n, "class%d", cls);
    return buf;
}

/* ---- totals and the table ----------------------------------------------------------------- */

static int bucket(int ngt) { return ngt >= EV_BUCKETS ? EV_BUCKETS : ngt; }

/* Recomputes every total from the per-image records (also what merge does). */
static dn_status compute_totals(const ev_set *S, const ev_image *im, int nim, ev_tot tot[EV_KINDS][EV_MAX_METHODS],
                                ev_counts *c)
{
    memset(tot, 0, sizeof(ev_tot) * EV_KINDS * EV_MAX_METHODS);
    memset(c, 0, sizeof *c);
    c->listed = S->list_total;
    for (int i = 0; i < nim; i++) {
        const ev_image *e = &im[i];
        if (e->skipped) {
            c->skipped++;
            continue;
        }
        c->evaluated++;
        for (int g = 0; g < e->ngt; g++) c->gt += e->gt[g * 6 + 5] >= 0;
        c->dets += e->ndet;
        c->unmatched += e->unmatched;
        c->missed_gt += e->missed_gt;
        c->missed_classes += e->missed_classes;
        c->fp_classes += e->fp_classes;
        c->unexplained += e->unexplained;
        c->unscored += e->unscored;
        c->seconds += e->seconds;
        for (int j = 0; j < e->nmaps; j++) {
            const ev_map *mp = &e->maps[j];
            c->maps[mp->kind]++;
            for (int m = 0; m < S->nmethods; m++) {
                ev_tot *t = &tot[mp->kind][m];
                const ev_score *s = &mp->s[m];
                t->n++;
                for (int d = 0; d < S->ndelta; d++) t->loc[d] += s->loc[d];
                t->iou += s->best_iou;
                t->loc_ok += s->loc_ok;
                t->point += s->point;
                int b = bucket(mp->ngt);
                t->cov_gt[0] += mp->ngt, t->cov_hit[0] += s->covered;
                t->cov_gt[b] += mp->ngt, t->cov_hit[b] += s->covered;
            }
        }
    }
    /* faithfulness: the scores of each kind's maps gathered per method */
    for (int k = 0; k < EV_KINDS; k++) {
        int n = c->maps[k];
        if (n == 0) continue;
        float *y = dn_malloc((size_t)n * sizeof(float)), *o = dn_malloc((size_t)n * S->nmethods * sizeof(float));
        if (!y || !o) {
            dn_free(y), dn_free(o);
            return DN_ERR_NOMEM;
        }
        int q = 0;
        for (int i = 0; i < nim; i++)
            for (int j = 0; !im[i].skipped && j < im[i].nmaps; j++) {
                const ev_map *mp = &im[i].maps[j];
                if (mp->kind != k) continue;
                y[q] = mp->y;
                for (int m = 0; m < S->nmethods; m++) o[(size_t)m * n + q] = mp->s[m].o;
                q++;
            }
        for (int m = 0; m < S->nmethods; m++) {
            ev_tot *t = &tot[k][m];
            t->nf = dn_metric_faithfulness(y, o + (size_t)m * n, n, &t->drop, &t->inc);
            for (int b = 0; b < S->nmethods; b++)
                t->win[b] = b == m ? 0 : dn_metric_win(y, o + (size_t)m * n, o + (size_t)b * n, n);
        }
        dn_free(y), dn_free(o);
    }
    for (int k = 0; k < EV_KINDS; k++)
        for (int m = 0; m < S->nmethods; m++) {
            ev_tot *t = &tot[k][m];
            if (!t->n) continue;
            for (int d = 0; d < S->ndelta; d++) t->loc[d] /= t->n;
            t->iou /= t->n;
        }
    return DN_OK;
}

/* One row of the results table: a section header (no cells) or a metric. */
typedef struct ev_row {
    char label[128];
    char cell[EV_MAX_METHODS][24];
    int header;
} ev_row;

static double pct(int a, int b) { return b ? 100.0 * a / b : 0; }

/* Fills the table's rows (metrics as rows, methods as columns); returns how many. */
static int table_rows(const ev_set *S, ev_tot tot[EV_KINDS][EV_MAX_METHODS], const ev_counts *c, ev_row *rows, int max)
{
    int n = 0;
#define ROW(...)                                                                                   \
    do {                                                                                           \
        if (n < max) {                                                                             \
            memset(&rows[n], 0, sizeof rows[n]);                                                   \
            snprintf(rows[n].label, sizeof rows[n].label, __VA_ARGS__);                            \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
#define CELL(m, ...)                                                                               \
    do {                                                                                           \
        if (n - 1 < max) snprintf(rows[n - 1].cell[m], sizeof rows[n - 1].cell[m], __VA_ARGS__);   \
    } while (0)
    int kinds[2], nk = 0;
    if (S->task == DN_TASK_DETECTOR) kinds[nk++] = EV_DET, kinds[nk++] = EV_CLASS;
    else kinds[nk++] = EV_IMAGE;
    for (int ki = 0; ki < nk; ki++) {
        int k = kinds[ki];
        if (k == EV_DET)
            ROW("per detection: %d maps (detections matched to a GT box of their class at IoU >= 0.5; "
                "scored against that box)", c->maps[k]);
        else if (k == EV_CLASS)
            ROW("per class: %d maps (all detections of the class; scored against all its GT boxes)", c->maps[k]);
        else
            ROW("per image: %d maps (the top-1 or -class class; scored against its GT boxes)", c->maps[k]);
        if (n - 1 < max) rows[n - 1].header = 1;
        if (c->maps[k] == 0) continue;
        for (int d = 0; d < S->ndelta; d++) {
            ROW("Loc(%g)", S->deltas[d]);
            for (int m = 0; m < S->nmethods; m++) CELL(m, "%.4f", tot[k][m].loc[d]);
        }
        ROW("mean best component-box IoU");
        for (int m = 0; m < S->nmethods; m++) CELL(m, "%.4f", tot[k][m].iou);
        ROW("localisation accuracy %% (IoU >= 0.5)");
        for (int m = 0; m < S->nmethods; m++) CELL(m, "%.2f", pct(tot[k][m].loc_ok, tot[k][m].n));
        ROW("pointing game %%");
        for (int m = 0; m < S->nmethods; m++) CELL(m, "%.2f", pct(tot[k][m].point, tot[k][m].n));
        if (k != EV_DET) {
            ROW("coverage %% of GT instances (%d boxes)", tot[k][0].cov_gt[0]);
            for (int m = 0; m < S->nmethods; m++) CELL(m, "%.2f", pct(tot[k][m].cov_hit[0], tot[k][m].cov_gt[0]));
            for (int b = 1; b <= EV_BUCKETS; b++) {
                if (!tot[k][0].cov_gt[b]) continue;
                ROW("  %d%s instance%s of the class in the image (%d)", b, b == EV_BUCKETS ? "+" : "", b > 1 ? "s" : "",
                    tot[k][0].cov_gt[b]);
                for (int m = 0; m < S->nmethods; m++) CELL(m, "%.2f", pct(tot[k][m].cov_hit[b], tot[k][m].cov_gt[b]));
            }
        }
        ROW("Average Drop %%");
        for (int m = 0; m < S->nmethods; m++) CELL(m, "%.2f", tot[k][m].drop);
        ROW("Increase in Confidence %%");
        for (int m = 0; m < S->nmethods; m++) CELL(m, "%.2f", tot[k][m].inc);
        for (int b = 0; S->nmethods > 1 && b < S->nmethods; b++) {
            ROW("Win %% vs %s", dn_cam_method_name((dn_cam_method)S->methods[b]));
            for (int m = 0; m < S->nmethods; m++)
                if (m == b) CELL(m, "-");
                else CELL(m, "%.2f", tot[k][m].win[b]);
        }
    }
#undef ROW
#undef CELL
    return n < max ? n : max;
}

static void counts_line(const ev_set *S, const ev_counts *c, char *buf, size_t n)
{
    char drop[96] = "";
    if (c->unexplained) snprintf(drop, sizeof drop, "; %d maps dropped (their head lies below -layer)", c->unexplained);
    if (S->task == DN_TASK_DETECTOR)
        snprintf(buf, n,
                 "%d images evaluated (%d skipped) of %d listed; %d GT boxes; %d detections above %g "
                 "(%d unmatched: not scored); %d GT boxes not detected; %d GT classes without a detection; "
                 "%d detected classes without a GT box (class maps not scored)%s",
                 c->evaluated, c->skipped, c->listed, c->gt, c->dets, S->thresh, c->unmatched, c->missed_gt,
                 c->missed_classes, c->fp_classes, drop);
    else
        snprintf(buf, n, "%d images evaluated (%d skipped) of %d listed; %d GT boxes; %d images without a GT box "
                         "to score against (with -map: of a mapped class); %d GT classes scoring below %g (no map)",
                 c->evaluated, c->skipped, c->listed, c->gt, c->unscored, c->missed_classes, S->thresh);
}

static void print_table(FILE *f, const ev_set *S, ev_tot tot[EV_KINDS][EV_MAX_METHODS], const ev_counts *c)
{
    ev_row rows[128];
    int nr = table_rows(S, tot, c, rows, 128);
    char line[1024];
    counts_line(S, c, line, sizeof line);
    fprintf(f, "%s\n", line);
    fprintf(f, "Loc(delta): map binarised at delta (delta 0: > 0); boxes: connected components (8-connectivity) "
               "of the map at %g of its max (-box_thresh); faithfulness: %s\n",
            S->box_thresh, S->task == DN_TASK_DETECTOR ? "detection confidence on input * map" : "class probability on input * map");
    fprintf(f, "\n%-48s", "");
    for (int m = 0; m < S->nmethods; m++) fprintf(f, " %12s", dn_cam_method_name((dn_cam_method)S->methods[m]));
    fprintf(f, "\n");
    for (int r = 0; r < nr; r++) {
        if (rows[r].header) {
            fprintf(f, "%s\n", rows[r].label);
            continue;
        }
        fprintf(f, "  %-46s", rows[r].label);
        for (int m = 0; m < S->nmethods; m++) fprintf(f, " %12s", rows[r].cell[m]);
        fprintf(f, "\n");
    }
}

/* ---- JSON output ---------------------------------------------------------------------------- */

/* Totals (computed in double, never read back). */
static void json_dbl(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.10g", v);
    else fputs("null", f);
}

static void json_image(FILE *f, const ev_set *S, const ev_image *e)
{
    char nb[32];
    fprintf(f, "    {\"index\": %d, \"image\": ", e->index);
    dn_json_str(f, e->path);
    fprintf(f, ", \"skipped\": ");
    if (e->skipped) dn_json_str(f, e->skip);
    else fputs("null", f);
    fprintf(f, ", \"width\": %d, \"height\": %d, \"seconds\": %.4f,\n     \"gt\": [", e->w, e->h, e->seconds);
    for (int g = 0; g < e->ngt; g++) {
        const float *b = e->gt + g * 6;
        fprintf(f, "%s[", g ? ", " : "");
        for (int q = 0; q < 4; q++) dn_json_float(f, b[q]), fputs(", ", f);
        fprintf(f, "%d, %d]", (int)b[4], (int)b[5]);
    }
    fprintf(f, "],\n     \"detections\": %d, \"unmatched\": %d, \"missed_gt\": %d, \"missed_classes\": %d, "
               "\"fp_classes\": %d, \"unexplained\": %d, \"unscored\": %d, \"maps\": [",
            e->ndet, e->unmatched, e->missed_gt, e->missed_classes, e->fp_classes, e->unexplained, e->unscored);
    for (int j = 0; j < e->nmaps; j++) {
        const ev_map *mp = &e->maps[j];
        fprintf(f, "%s\n      {\"kind\": \"%s\", \"class\": %d, \"name\": ", j ? "," : "", kind_names[mp->kind], mp->cls);
        dn_json_str(f, class_name(S, mp->cls, nb, sizeof nb));
        fprintf(f, ", \"det\": %d, \"gt\": %d, \"iou\": ", mp->det, mp->gt);
        dn_json_float(f, mp->iou);
        fprintf(f, ", \"box\": [");
        for (int q = 0; q < 4; q++) dn_json_float(f, mp->box[q]), fputs(q < 3 ? ", " : "", f);
        fprintf(f, "], \"instances\": %d, \"detections\": %d, \"y\": ", mp->ngt, mp->ndets);
        dn_json_float(f, mp->y);
        fprintf(f, ", \"methods\": {");
        for (int m = 0; m < S->nmethods; m++) {
            const ev_score *s = &mp->s[m];
            fprintf(f, "%s\n        \"%s\": {\"loc\": [", m ? "," : "", dn_cam_method_name((dn_cam_method)S->methods[m]));
            for (int d = 0; d < S->ndelta; d++) dn_json_float(f, s->loc[d]), fputs(d + 1 < S->ndelta ? ", " : "", f);
            fprintf(f, "], \"best_iou\": ");
            dn_json_float(f, s->best_iou);
            fprintf(f, ", \"components\": %d, \"loc_ok\": %d, \"pointing\": %d, \"covered\": %d, \"o\": ", s->ncomp,
                    s->loc_ok, s->point, s->covered);
            dn_json_float(f, s->o);
            fprintf(f, ", \"drop\": ");
            dn_json_float(f, dn_metric_rel_drop(mp->y, s->o));
            fprintf(f, "}");
        }
        fprintf(f, "}}");
    }
    fprintf(f, "]}");
}

static void json_tot(FILE *f, const ev_set *S, const ev_tot *t, int self)
{
    fprintf(f, "{\"maps\": %d, \"loc\": [", t->n);
    for (int d = 0; d < S->ndelta; d++) json_dbl(f, t->loc[d]), fputs(d + 1 < S->ndelta ? ", " : "", f);
    fprintf(f, "], \"best_iou\": ");
    json_dbl(f, t->iou);
    fprintf(f, ", \"loc_accuracy\": ");
    json_dbl(f, pct(t->loc_ok, t->n));
    fprintf(f, ", \"pointing\": ");
    json_dbl(f, pct(t->point, t->n));
    fprintf(f, ", \"coverage\": {");
    for (int b = 0; b <= EV_BUCKETS; b++) {
        fprintf(f, "%s\"%s\": {\"instances\": %d, \"covered\": %d, \"percent\": ", b ? ", " : "",
                b == 0 ? "all" : b == 1 ? "1" : b == 2 ? "2" : b == 3 ? "3" : "4+", t->cov_gt[b], t->cov_hit[b]);
        json_dbl(f, pct(t->cov_hit[b], t->cov_gt[b]));
        fputc('}', f);
    }
    fprintf(f, "}, \"faithfulness_maps\": %d, \"average_drop\": ", t->nf);
    json_dbl(f, t->drop);
    fprintf(f, ", \"increase_in_confidence\": ");
    json_dbl(f, t->inc);
    fprintf(f, ", \"win\": {");
    for (int b = 0, k = 0; b < S->nmethods; b++) {
        if (b == self) continue;
        fprintf(f, "%s\"%s\": ", k++ ? ", " : "", dn_cam_method_name((dn_cam_method)S->methods[b]));
        json_dbl(f, t->win[b]);
    }
    fprintf(f, "}}");
}

/* Writes the whole JSON (settings, per-image records, totals) to a temporary file, then renames. */
static int write_json(const char *path, const ev_set *S, const ev_image *im, int nim,
                      ev_tot tot[EV_KINDS][EV_MAX_METHODS], const ev_counts *c)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "darknet: %s: cannot write: %s\n", tmp, strerror(errno));
        return APP_FAIL;
    }
    fprintf(f, "{\"format\": \"gradcampp-eval 1\", \"cfg\": ");
    dn_json_str(f, S->cfg);
    fprintf(f, ", \"weights\": ");
    dn_json_str(f, S->weights);
    fprintf(f, ", \"list\": ");
    dn_json_str(f, S->list);
    fprintf(f, ", \"list_images\": %d, \"shard\": ", S->list_total);
    dn_json_str(f, S->shard_s);
    fprintf(f, ",\n \"task\": \"%s\", \"methods\": [", S->task == DN_TASK_DETECTOR ? "detector" : "classifier");
    for (int m = 0; m < S->nmethods; m++) fprintf(f, "%s\"%s\"", m ? ", " : "", dn_cam_method_name((dn_cam_method)S->methods[m]));
    fprintf(f, "], \"target\": ");
    dn_json_str(f, S->target);
    fprintf(f, ", \"layer\": ");
    dn_json_str(f, S->layer);
    fprintf(f, ", \"thresh\": ");
    dn_json_float(f, S->thresh);
    fprintf(f, ", \"nms\": ");
    dn_json_float(f, S->nms);
    fprintf(f, ", \"letterbox\": %d, \"deltas\": [", S->letterbox);
    for (int d = 0; d < S->ndelta; d++) dn_json_float(f, S->deltas[d]), fputs(d + 1 < S->ndelta ? ", " : "", f);
    fprintf(f, "], \"box_thresh\": ");
    dn_json_float(f, S->box_thresh);
    fprintf(f, ",\n \"names\": [");
    for (int i = 0; i < S->nnames; i++) {
        if (i) fputs(", ", f);
        dn_json_str(f, S->names[i]);
    }
    fprintf(f, "],\n \"images\": [");
    for (int i = 0; i < nim; i++) {
        fputs(i ? ",\n" : "\n", f);
        json_image(f, S, &im[i]);
    }
    fprintf(f, "\n ],\n \"totals\": {\"images_listed\": %d, \"images_evaluated\": %d, \"images_skipped\": %d, "
               "\"gt_boxes\": %d, \"detections\": %d, \"unmatched_detections\": %d, \"missed_gt\": %d, "
               "\"missed_classes\": %d, \"fp_classes\": %d, \"unexplained\": %d, \"unscored\": %d, \"seconds\": %.3f",
            c->listed, c->evaluated, c->skipped, c->gt, c->dets, c->unmatched, c->missed_gt, c->missed_classes,
            c->fp_classes, c->unexplained, c->unscored, c->seconds);
    for (int k = 0; k < EV_KINDS; k++) {
        if ((S->task == DN_TASK_DETECTOR) != (k != EV_IMAGE)) continue;
        fprintf(f, ",\n  \"%s\": {\"maps\": %d", kind_names[k], c->maps[k]);
        for (int m = 0; m < S->nmethods; m++) {
            fprintf(f, ",\n   \"%s\": ", dn_cam_method_name((dn_cam_method)S->methods[m]));
            json_tot(f, S, &tot[k][m], m);
        }
        fprintf(f, "}");
    }
    fprintf(f, "}\n}\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        remove(tmp);
        fprintf(stderr, "darknet: %s: cannot write\n", path);
        return APP_FAIL;
    }
    return APP_OK;
}

/* ---- HTML report -------------------------------------------------------------------------- */

static void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* The report's pictures as 8-bit RGB PNGs at deflate level 1: many small pictures, where the
 * default level spends most of the run compressing (measured: half of a 16-image run). */
static dn_status write_png_fast(const dn_image *im, const char *path)
{
    size_t row = (size_t)im->w * 3, plane = (size_t)im->w * im->h;
    unsigned char *pix = dn_malloc(row * im->h);
    png_bytep *rows = dn_malloc((size_t)im->h * sizeof *rows);
    FILE *f = pix && rows ? fopen(path, "wb") : NULL;
    if (!f) {
        dn_free(pix), dn_free(rows);
        return dn_error(DN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    for (int y = 0; y < im->h; y++) {
        rows[y] = pix + row * y;
        for (int x = 0; x < im->w; x++)
            for (int c = 0; c < 3; c++) {
                float v = im->data[(size_t)(im->c == 3 ? c : 0) * plane + (size_t)y * im->w + x];
                rows[y][x * 3 + c] = (unsigned char)(v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + .5f);
            }
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    dn_status st = DN_OK;
    if (!png || !info) {
        st = dn_error(DN_ERR_NOMEM, "%s: cannot create a PNG encoder", path);
    } else if (setjmp(png_jmpbuf(png))) {
        st = dn_error(DN_ERR_IO, "%s: cannot write PNG", path);
    } else {
        png_init_io(png, f);
        png_set_compression_level(png, 1);
        png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        png_write_image(png, rows);
        png_write_end(png, NULL);
    }
    if (png) png_destroy_write_struct(&png, info ? &info : NULL);
    if (fclose(f) != 0 && st == DN_OK) st = dn_error(DN_ERR_IO, "%s: cannot write", path);
    dn_free(pix), dn_free(rows);
    return st;
}

static void thumb_photo_name(char *buf, size_t n, int index) { snprintf(buf, n, "img%05d.png", index); }
static void thumb_map_name(char *buf, size_t n, int index, int map, int method)
{
    snprintf(buf, n, "img%05d_%d_%s.png", index, map, dn_cam_method_name((dn_cam_method)method));
}

static void map_label(const ev_set *S, const ev_map *mp, char *buf, size_t n)
{
    char nb[32];
    const char *name = class_name(S, mp->cls, nb, sizeof nb);
    if (mp->kind == EV_DET)
        snprintf(buf, n, "detection %d: %s %.0f%% (GT box %d, IoU %.2f)", mp->det, name, mp->y * 100, mp->gt, mp->iou);
    else if (mp->kind == EV_CLASS)
        snprintf(buf, n, "class %s: %d detection%s, %d GT box%s", name, mp->ndets, mp->ndets > 1 ? "s" : "", mp->ngt,
                 mp->ngt > 1 ? "es" : "");
    else
        snprintf(buf, n, "%s %.1f%% (%d GT box%s)", name, mp->y * 100, mp->ngt, mp->ngt > 1 ? "es" : "");
}

/* The sort key of an image in the report: the mean Loc(0.5) of its maps under the key method;
 * images without maps sort last. */
typedef struct ev_order {
    int i;
    double key;
} ev_order;

static int cmp_order(const void *a, const void *b)
{
    const ev_order *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->i - y->i;
}

static double image_key(const ev_image *e, int km)
{
    if (e->skipped) return 1e30;
    if (!e->nmaps) return 1e29;
    double s = 0;
    for (int j = 0; j < e->nmaps; j++) s += e->maps[j].s[km].loc[2];
    return s / e->nmaps;
}

/* index.html (or `page`) in dir: settings, the summary table, then every image worst first. The
 * pictures were written during the run (shards write theirs into the same folder). */
static int write_html(const char *dir, const char *page, const ev_set *S, const ev_image *im, int nim,
                      ev_tot tot[EV_KINDS][EV_MAX_METHODS], const ev_counts *c)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", dir, page);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ev_order *ord = dn_calloc((size_t)(nim ? nim : 1), sizeof *ord);
    if (!ord) return APP_FAIL;
    int km = key_method(S);
    for (int i = 0; i < nim; i++) ord[i].i = i, ord[i].key = image_key(&im[i], km);
    qsort(ord, (size_t)nim, sizeof *ord, cmp_order);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "darknet: %s: cannot write: %s\n", tmp, strerror(errno));
        dn_free(ord);
        return APP_FAIL;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gradcampp eval</title>\n"
               "<style>body{font-family:sans-serif;margin:1em;color:#222} table{border-collapse:collapse} "
               "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top} td.n{text-align:right} "
               "th.s{text-align:left;background:#eee} .img td{border:none;font-size:12px} img{display:block} "
               ".bad{color:#b00} h3{margin-bottom:4px}</style></head><body>\n<h1>gradcampp eval</h1>\n<p>");
    html_esc(f, S->cfg);
    fputs(" &middot; ", f);
    html_esc(f, S->weights);
    fputs(" &middot; list ", f);
    html_esc(f, S->list);
    fprintf(f, " &middot; target %s, layer ", S->target);
    html_esc(f, S->layer);
    fprintf(f, ", thresh %g, NMS %g, %s input, components at %g of the map's max</p>\n<p>", S->thresh, S->nms,
            S->letterbox ? "letterboxed" : "resized", S->box_thresh);
    char line[1024];
    counts_line(S, c, line, sizeof line);
    html_esc(f, line);
    fprintf(f, "</p>\n<table class=\"summary\"><tr><th></th>");
    for (int m = 0; m < S->nmethods; m++) fprintf(f, "<th>%s</th>", dn_cam_method_name((dn_cam_method)S->methods[m]));
    fprintf(f, "</tr>\n");
    ev_row rows[128];
    int nr = table_rows(S, tot, c, rows, 128);
    for (int r = 0; r < nr; r++) {
        if (rows[r].header) {
            fprintf(f, "<tr><th class=\"s\" colspan=\"%d\">", S->nmethods + 1);
            html_esc(f, rows[r].label);
            fprintf(f, "</th></tr>\n");
            continue;
        }
        fputs("<tr><td>", f);
        html_esc(f, rows[r].label);
        fputs("</td>", f);
        for (int m = 0; m < S->nmethods; m++) {
            fputs("<td class=\"n\">", f);
            html_esc(f, rows[r].cell[m]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fprintf(f, "</table>\n<h2>Images, worst first (mean %s Loc(0.5) of the image's maps)</h2>\n",
            dn_cam_method_name((dn_cam_method)S->methods[km]));
    for (int q = 0; q < nim; q++) {
        const ev_image *e = &im[ord[q].i];
        char name[64];
        fprintf(f, "<div class=\"img\"><h3>#%d ", e->index);
        html_esc(f, e->path);
        if (e->skipped) {
            fputs(" <span class=\"bad\">skipped: ", f);
            html_esc(f, e->skip);
            fputs("</span></h3></div>\n", f);
            continue;
        }
        if (e->nmaps) fprintf(f, " &middot; mean Loc(0.5) %.3f", ord[q].key);
        fprintf(f, "</h3>\n<table><tr><td rowspan=\"%d\">", e->nmaps > 0 ? e->nmaps : 1);
        thumb_photo_name(name, sizeof name, e->index);
        fprintf(f, "<img src=\"%s\" alt=\"photo %d with GT boxes\">photo, %d GT box%s (green)</td>", name, e->index,
                e->ngt, e->ngt == 1 ? "" : "es");
        if (!e->nmaps) fputs("<td>no scored map</td></tr>\n", f);
        /* this image's maps, worst first too */
        ev_order *mo = dn_calloc((size_t)(e->nmaps ? e->nmaps : 1), sizeof *mo);
        for (int j = 0; mo && j < e->nmaps; j++) mo[j].i = j, mo[j].key = e->maps[j].s[km].loc[2];
        if (mo) qsort(mo, (size_t)e->nmaps, sizeof *mo, cmp_order);
        for (int r = 0; r < e->nmaps; r++) {
            int j = mo ? mo[r].i : r;
            const ev_map *mp = &e->maps[j];
            char lab[300];
            map_label(S, mp, lab, sizeof lab);
            if (r) fputs("<tr>", f);
            for (int m = 0; m < S->nmethods; m++) {
                const ev_score *s = &mp->s[m];
                thumb_map_name(name, sizeof name, e->index, j, S->methods[m]);
                fprintf(f, "<td><img src=\"%s\" alt=\"%s map %d of image %d\">", name,
                        dn_cam_method_name((dn_cam_method)S->methods[m]), j, e->index);
                if (m == 0) html_esc(f, lab), fputs("<br>", f);
                fprintf(f, "<b>%s</b>: Loc(0.5) %.3f, IoU %.2f%s, peak %s, covers %d/%d, drop %.1f%%</td>",
                        dn_cam_method_name((dn_cam_method)S->methods[m]), s->loc[2], s->best_iou, s->loc_ok ? " &#10003;" : "",
                        s->point ? "in" : "<span class=\"bad\">out</span>", s->covered, mp->ngt,
                        100 * dn_metric_rel_drop(mp->y, s->o));
            }
            fputs("</tr>\n", f);
        }
        dn_free(mo);
        fputs("</table></div>\n", f);
    }
    fputs("</body></html>\n", f);
    dn_free(ord);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        remove(tmp);
        fprintf(stderr, "darknet: %s: cannot write\n", path);
        return APP_FAIL;
    }
    return APP_OK;
}

/* ---- evaluating one image ---------------------------------------------------------------- */

typedef struct ev_ctx {
    const ev_set *S;
    dn_network *net;
    int score;         /* dn_cam_score of detector targets */
    int layer;         /* -layer resolved, or -1: automatic */
    int cls;           /* -class, or -1 */
    const int *lmap;   /* -map: label id -> its first network class (-1: none), nlmap entries; NULL: identity */
    int nlmap;
    const int *lset;   /* -map: (label id, network class) pairs, nlset of them: a label's set of classes */
    int nlset;
    int label_classes; /* class ids accepted in label files */
    int letter;        /* input letterboxed */
    const char *html;  /* report folder, or NULL */
    float alpha;
} ev_ctx;

/* Part of a map's target: its detections of one head, explained at one layer. */
typedef struct ev_part {
    int map, layer;
    int first, n; /* the detections: pdets[first .. first + n) (classifier: none) */
    int mw, mh;   /* the layer's map size */
    size_t off;   /* offset of its layer-resolution map in each method's block */
} ev_part;

static void skip_image(ev_image *e, const char *why)
{
    fprintf(stderr, "darknet: %s (image skipped)\n", why);
    size_t l = strlen(why);
    if (l >= sizeof e->skip) l = sizeof e->skip - 1;
    memcpy(e->skip, why, l);
    e->skip[l] = 0;
    e->skipped = 1;
}

/* Confidence of a detection's (head, anchor, cell) for class cls after the last forward pass:
 * objectness * class probability, read from the head's output. */
static float head_conf(const dn_network *net, const dn_detection *d, int cls)
{
    int c, h, w;
    const float *o = dn_network_layer_output(net, d->layer, &c, &h, &w);
    int per = d->classes + 5, hw = h * w;
    if (!o || per <= 5 || c % per || d->anchor >= c / per || d->cell >= hw || cls < 0 || cls >= d->classes) return 0;
    const float *a = o + (size_t)d->anchor * per * hw;
    return a[4 * hw + d->cell] * a[(size_t)(5 + cls) * hw + d->cell];
}

/* Is label box g part of the evaluation (mapped to a network class, and of -class when given)? */
static int gt_used(const ev_ctx *C, const ev_image *e, int g)
{
    int k = (int)e->gt[g * 6 + 5];
    return k >= 0 && (C->cls < 0 || C->S->task != DN_TASK_DETECTOR || k == C->cls);
}

static dn_box gt_box(const ev_image *e, int g)
{
    const float *b = e->gt + g * 6;
    dn_box r = {b[0], b[1], b[2], b[3]};
    return r;
}

/* The GT boxes map mp is scored against, in pixels; returns how many. */
static int map_gt_boxes(const ev_ctx *C, const ev_image *e, const ev_map *mp, dn_pbox *out)
{
    int n = 0;
    for (int g = 0; g < e->ngt; g++) {
        const float *b = e->gt + g * 6;
        int use = mp->kind == EV_DET     ? g == mp->gt
                  : mp->kind == EV_CLASS ? gt_used(C, e, g) && (int)b[5] == mp->cls
                                         : gt_used(C, e, g) && (!C->lmap || (int)b[5] == mp->cls);
        if (use) out[n++] = dn_pbox_from_rel(b[0], b[1], b[2], b[3], e->w, e->h);
    }
    return n;
}

/* Scratch of one image's scoring: (h, w) buffers at image resolution. */
typedef struct ev_scratch {
    float *M;             /* (h, w) the normalised map */
    float *tmp;           /* (h, w) one part, resampled */
    unsigned char *mask;  /* (h, w) union of the GT boxes */
    unsigned char *bin;   /* (h, w) binarised map */
    int *labels, *stack;  /* (h, w) component labelling */
    dn_pbox *comp;        /* (EV_MAX_COMP) component boxes */
} ev_scratch;

static void score_map(const ev_set *S, ev_scratch *X, int w, int h, const dn_pbox *gt, int ng, ev_score *s)
{
    size_t npx = (size_t)w * h;
    dn_metric_box_mask(gt, ng, w, h, X->mask);
    for (int d = 0; d < S->ndelta; d++) {
        dn_metric_binarize(X->M, npx, S->deltas[d], S->deltas[d] == 0, X->bin);
        s->loc[d] = dn_metric_loc(X->bin, X->mask, npx);
    }
    float mx = 0;
    for (size_t i = 0; i < npx; i++) mx = X->M[i] > mx ? X->M[i] : mx;
    if (mx > 0) dn_metric_binarize(X->M, npx, S->box_thresh * mx, 0, X->bin);
    else memset(X->bin, 0, npx);
    s->ncomp = dn_metric_components(X->bin, w, h, X->labels, X->stack, X->comp, NULL, EV_MAX_COMP);
    s->best_iou = dn_metric_best_iou(X->comp, s->ncomp < EV_MAX_COMP ? s->ncomp : EV_MAX_COMP, gt, ng);
    s->loc_ok = s->best_iou >= .5f;
    s->covered = dn_metric_covered(X->bin, w, h, gt, ng, NULL);
    s->point = dn_metric_pointing(X->M, w, h, gt, ng);
}

static void draw_rel_box(dn_image *im, const float *b, float r, float g, float bl)
{
    int x1 = (int)lroundf((b[0] - b[2] / 2) * im->w), y1 = (int)lroundf((b[1] - b[3] / 2) * im->h);
    int x2 = (int)lroundf((b[0] + b[2] / 2) * im->w), y2 = (int)lroundf((b[1] + b[3] / 2) * im->h);
    dn_image_draw_box(im, x1, y1, x2 - 1, y2 - 1, 1, r, g, bl);
}

/* What one image's evaluation holds between its steps. */
typedef struct ev_work {
    dn_image im, sized, thumb; /* the photo, the network input, the report's small photo */
    dn_detection *dets;        /* after NMS */
    int ndet;
    int np, *pd, *pk;          /* detection/class pairs above the threshold: (pd[p], pk[p]) */
    dn_detection *pdets;       /* the targets' detections, grouped by part */
    ev_part *parts;
    int nparts;
    float *pm;                 /* (nmethods, off) every part's layer-resolution map */
    size_t off;                /* floats of one method's block */
} ev_work;

static void work_free(ev_work *W)
{
    dn_image_free(&W->im), dn_image_free(&W->sized), dn_image_free(&W->thumb);
    dn_detections_free(W->dets, W->ndet);
    dn_free(W->pd), dn_free(W->pk), dn_free(W->pdets), dn_free(W->parts), dn_free(W->pm);
    memset(W, 0, sizeof *W);
}

/* Reads the image's label file into e->gt (label ids mapped to network classes). */
static int read_gt(const ev_ctx *C, ev_image *e)
{
    char lp[4096];
    int nb = 0;
    float *boxes = dn_malloc((size_t)EV_MAX_GT * 5 * sizeof(float));
    dn_status st;
    if (!boxes) return skip_image(e, "out of memory"), -1;
    if ((st = dn_label_path(e->path, lp, sizeof lp)) != DN_OK ||
        (st = dn_read_labels(lp, C->label_classes, boxes, EV_MAX_GT, &nb)) != DN_OK) {
        skip_image(e, dn_last_error());
        dn_free(boxes);
        return -1;
    }
    if (nb == EV_MAX_GT) fprintf(stderr, "darknet: %s: more than %d boxes: the rest are ignored\n", lp, EV_MAX_GT);
    if (!(e->gt = dn_malloc((size_t)(nb ? nb : 1) * 6 * sizeof(float)))) {
        dn_free(boxes);
        return skip_image(e, "out of memory"), -1;
    }
    e->ngt = nb;
    for (int g = 0; g < nb; g++) {
        const float *b = boxes + g * 5;
        int lab = (int)b[4], k = C->lmap ? (lab < C->nlmap ? C->lmap[lab] : -1) : lab;
        float *o = e->gt + g * 6;
        o[0] = b[0], o[1] = b[1], o[2] = b[2], o[3] = b[3], o[4] = (float)lab, o[5] = (float)k;
    }
    dn_free(boxes);
    return 0;
}

/* Detector maps: each detection/class pair matched to the GT box of its class with the highest
 * IoU >= 0.5 gets a map (unmatched pairs are counted); each detected class with GT boxes gets a
 * class map summing all its detections. */
static int detector_maps(const ev_ctx *C, ev_image *e, ev_work *W)
{
    const ev_set *S = C->S;
    dn_status st = dn_network_detections(C->net, W->im.w, W->im.h, S->thresh, C->letter, &W->dets, &W->ndet);
    if (st != DN_OK) return skip_image(e, dn_last_error()), -1;
    if (S->nms > 0) dn_detections_nms(W->dets, W->ndet, S->nms);
    int np = 0, nb = e->ngt;
    for (int i = 0; i < W->ndet; i++)
        for (int k = 0; k < W->dets[i].classes; k++) np += W->dets[i].prob[k] > S->thresh && (C->cls < 0 || k == C->cls);
    W->pd = dn_malloc((size_t)(np + 1) * sizeof(int));
    W->pk = dn_malloc((size_t)(np + 1) * sizeof(int));
    int *pg = dn_malloc((size_t)(np + 1) * sizeof(int));
    float *piou = dn_malloc((size_t)(np + 1) * sizeof(float));
    unsigned char *gm = dn_calloc((size_t)(nb + 1), 1);
    e->maps = dn_calloc((size_t)(2 * np + 1), sizeof(ev_map));
    if (!W->pd || !W->pk || !pg || !piou || !gm || !e->maps) {
        dn_free(pg), dn_free(piou), dn_free(gm);
        return skip_image(e, "out of memory"), -1;
    }
    int *pd = W->pd, *pk = W->pk;
    np = 0;
    for (int i = 0; i < W->ndet; i++)
        for (int k = 0; k < W->dets[i].classes; k++)
            if (W->dets[i].prob[k] > S->thresh && (C->cls < 0 || k == C->cls)) pd[np] = i, pk[np++] = k;
    W->np = e->ndet = np;
    for (int p = 0; p < np; p++) {
        pg[p] = -1, piou[p] = 0;
        for (int g = 0; g < nb; g++) {
            if (!gt_used(C, e, g) || (int)e->gt[g * 6 + 5] != pk[p]) continue;
            float v = dn_box_iou(W->dets[pd[p]].bbox, gt_box(e, g));
            if (v >= .5f && v > piou[p]) piou[p] = v, pg[p] = g;
        }
        if (pg[p] >= 0) gm[pg[p]] = 1;
        else e->unmatched++;
    }
    for (int p = 0; p < np; p++) {
        if (pg[p] < 0) continue;
        ev_map *mp = &e->maps[e->nmaps++];
        const dn_box *b = &W->dets[pd[p]].bbox;
        mp->kind = EV_DET, mp->cls = pk[p], mp->det = p, mp->gt = pg[p], mp->ngt = 1, mp->ndets = 1;
        mp->iou = piou[p];
        mp->box[0] = b->x, mp->box[1] = b->y, mp->box[2] = b->w, mp->box[3] = b->h;
    }
    for (int p = 0; p < np; p++) {
        int k = pk[p], first = 1, members = 0, ngt = 0;
        for (int q = 0; q < p; q++) first &= pk[q] != k;
        if (!first) continue;
        for (int q = 0; q < np; q++) members += pk[q] == k;
        for (int g = 0; g < nb; g++) ngt += gt_used(C, e, g) && (int)e->gt[g * 6 + 5] == k;
        if (!ngt) {
            e->fp_classes++;
            continue;
        }
        ev_map *mp = &e->maps[e->nmaps++];
        mp->kind = EV_CLASS, mp->cls = k, mp->det = -1, mp->gt = -1, mp->ngt = ngt, mp->ndets = members;
    }
    for (int g = 0; g < nb; g++) {
        if (!gt_used(C, e, g)) continue;
        int k = (int)e->gt[g * 6 + 5], first = 1, found = 0;
        e->missed_gt += !gm[g];
        for (int q = 0; q < g; q++) first &= !(gt_used(C, e, q) && (int)e->gt[q * 6 + 5] == k);
        for (int p = 0; p < np; p++) found |= pk[p] == k;
        e->missed_classes += first && !found;
    }
    dn_free(pg), dn_free(piou), dn_free(gm);
    return 0;
}

/* Is network class k in the -map set of label lab? */
static int in_label_set(const ev_ctx *C, int lab, int k)
{
    for (int i = 0; i < C->nlset; i++)
        if (C->lset[2 * i] == lab && C->lset[2 * i + 1] == k) return 1;
    return 0;
}

/* Classifier maps. Without -map: one map, the top-1 class (or -class), against all GT boxes.
 * With -map each label names a set of network classes: every mapped box takes the best-scoring
 * class of its label's set (with -class c: c where the set holds it), and each class so chosen
 * gets a map scored against its boxes unless its probability is below -thresh (counted in
 * missed_classes); boxes of unmapped labels are ignored. */
static int classifier_map(const ev_ctx *C, ev_image *e, const float *pred)
{
    int classes = dn_network_classes(C->net), cls = C->cls, ngt = 0;
    if (!C->lmap) {
        if (cls < 0) {
            cls = 0;
            for (int k = 1; k < classes; k++)
                if (pred[k] > pred[cls]) cls = k;
        }
        for (int g = 0; g < e->ngt; g++) ngt += gt_used(C, e, g);
        if (!ngt) {
            e->unscored++;
            return 0;
        }
        if (!(e->maps = dn_calloc(1, sizeof(ev_map)))) return skip_image(e, "out of memory"), -1;
        ev_map *mp = &e->maps[e->nmaps++];
        mp->kind = EV_IMAGE, mp->cls = cls, mp->det = -1, mp->gt = -1, mp->ngt = ngt, mp->y = pred[cls];
        return 0;
    }
    for (int g = 0; g < e->ngt; g++) {
        float *b = e->gt + g * 6;
        int lab = (int)b[4], best = -1;
        if (b[5] < 0) continue;
        for (int i = 0; i < C->nlset; i++) {
            int k = C->lset[2 * i + 1];
            if (C->lset[2 * i] == lab && (best < 0 || pred[k] > pred[best])) best = k;
        }
        if (cls >= 0 && in_label_set(C, lab, cls)) best = cls;
        b[5] = (float)best;
    }
    if (!(e->maps = dn_calloc((size_t)(e->ngt ? e->ngt : 1), sizeof(ev_map)))) return skip_image(e, "out of memory"), -1;
    for (int g = 0; g < e->ngt; g++) {
        int k = (int)e->gt[g * 6 + 5], first = 1, n = 0;
        if (k < 0 || (cls >= 0 && k != cls)) continue;
        for (int q = 0; q < g; q++) first &= (int)e->gt[q * 6 + 5] != k;
        if (!first) continue;
        for (int q = g; q < e->ngt; q++) n += (int)e->gt[q * 6 + 5] == k;
        if (pred[k] < C->S->thresh) {
            e->missed_classes++;
            continue;
        }
        ev_map *mp = &e->maps[e->nmaps++];
        mp->kind = EV_IMAGE, mp->cls = k, mp->det = -1, mp->gt = -1, mp->ngt = n, mp->y = pred[k];
    }
    if (!e->nmaps && !e->missed_classes) e->unscored++;
    return 0;
}

/* The layer that explains detection d: its head's automatic layer, or -layer when the head lies
 * above it (else -1: no gradient reaches -layer). */
static int det_layer(const ev_ctx *C, const dn_detection *d)
{
    if (C->layer < 0) return dn_cam_default_layer(C->net, d);
    return d->layer - 1 >= C->layer ? C->layer : -1;
}

/* Splits each map's target into parts, one per layer (a class map whose detections come from
 * several heads has several), drops maps no layer can explain, and sets the detector maps'
 * scores Y (confidences summed over the target's detections). */
static int make_parts(const ev_ctx *C, ev_image *e, ev_work *W)
{
    const int detector = C->S->task == DN_TASK_DETECTOR;
    int nref = 0;
    for (int j = 0; j < e->nmaps; j++) nref += e->maps[j].ndets;
    W->parts = dn_calloc((size_t)(nref + e->nmaps + 1), sizeof *W->parts);
    W->pdets = dn_calloc((size_t)(nref + 1), sizeof *W->pdets);
    dn_detection *src = dn_calloc((size_t)(nref + 1), sizeof *src);
    if (!W->parts || !W->pdets || !src) {
        dn_free(src);
        return skip_image(e, "out of memory"), -1;
    }
    int w = 0, npd = 0;
    for (int j = 0; j < e->nmaps; j++) {
        ev_map *mp = &e->maps[j];
        int p0 = W->nparts;
        if (!detector) {
            ev_part *pt = &W->parts[W->nparts++];
            pt->map = w, pt->layer = C->layer >= 0 ? C->layer : dn_cam_default_layer(C->net, NULL);
        } else {
            int dn = 0;
            for (int p = 0; p < W->np; p++)
                if (mp->kind == EV_DET ? p == mp->det : W->pk[p] == mp->cls) src[dn++] = W->dets[W->pd[p]];
            for (int a = 0; a < dn; a++) {
                int la = det_layer(C, &src[a]), seen = 0;
                for (int b = 0; b < a; b++) seen |= det_layer(C, &src[b]) == la;
                if (la < 0 || seen) continue;
                ev_part *pt = &W->parts[W->nparts++];
                pt->map = w, pt->layer = la, pt->first = npd;
                for (int b = a; b < dn; b++)
                    if (det_layer(C, &src[b]) == la) W->pdets[npd++] = src[b];
                pt->n = npd - pt->first;
            }
        }
        if (W->nparts == p0) {
            e->unexplained++;
            continue;
        }
        if (detector) {
            mp->y = 0;
            for (int q = p0; q < W->nparts; q++)
                for (int r = 0; r < W->parts[q].n; r++) mp->y += head_conf(C->net, &W->pdets[W->parts[q].first + r], mp->cls);
        }
        for (int q = p0; q < W->nparts; q++) {
            int c;
            ev_part *pt = &W->parts[q];
            dn_network_layer_output(C->net, pt->layer, &c, &pt->mh, &pt->mw);
            pt->off = W->off;
            W->off += (size_t)pt->mw * pt->mh;
        }
        if (w != j) e->maps[w] = *mp;
        w++;
    }
    e->nmaps = w;
    dn_free(src);
    return 0;
}

/* Every method's maps at layer resolution: one dn_cam_compute call (one batched backward pass)
 * per method and layer, for all the parts at that layer. */
static int compute_cams(const ev_ctx *C, ev_image *e, ev_work *W)
{
    const ev_set *S = C->S;
    const int detector = S->task == DN_TASK_DETECTOR;
    if (!e->nmaps) return 0;
    if (!(W->pm = dn_malloc(W->off * S->nmethods * sizeof(float)))) return skip_image(e, "out of memory"), -1;
    for (int m = 0; m < S->nmethods; m++)
        for (int q = 0; q < W->nparts; q++) {
            const int layer = W->parts[q].layer;
            int first = 1, cnt = 0;
            for (int r = 0; r < q; r++) first &= W->parts[r].layer != layer;
            if (!first) continue;
            for (int r = q; r < W->nparts; r++) cnt += W->parts[r].layer == layer;
            size_t hw = (size_t)W->parts[q].mw * W->parts[q].mh;
            dn_cam_target *tg = dn_malloc((size_t)cnt * sizeof *tg);
            float *cbuf = dn_malloc((size_t)cnt * hw * sizeof(float)); /* (cnt, mh, mw) */
            if (!tg || !cbuf) {
                dn_free(tg), dn_free(cbuf);
                return skip_image(e, "out of memory"), -1;
            }
            for (int r = q, k = 0; r < W->nparts; r++) {
                if (W->parts[r].layer != layer) continue;
                tg[k].cls = e->maps[W->parts[r].map].cls;
                tg[k].dets = detector ? W->pdets + W->parts[r].first : NULL;
                tg[k++].ndets = detector ? W->parts[r].n : 0;
            }
            dn_status st = dn_cam_compute(C->net, layer, (dn_cam_method)S->methods[m], (dn_cam_score)C->score, tg, cnt,
                                          W->sized.data, cbuf, NULL);
            if (st == DN_OK)
                for (int r = q, k = 0; r < W->nparts; r++)
                    if (W->parts[r].layer == layer)
                        memcpy(W->pm + W->off * m + W->parts[r].off, cbuf + (size_t)k++ * hw, hw * sizeof(float));
            dn_free(tg), dn_free(cbuf);
            if (st != DN_OK) {
                char why[700];
                snprintf(why, sizeof why, "%s: layer %d: %s", e->path, layer, dn_last_error());
                return skip_image(e, why), -1;
            }
        }
    return 0;
}

/* The report's photo: every label box, green when evaluated, grey when not mapped. */
static int write_photo(const ev_ctx *C, ev_image *e, ev_work *W, int tw, int th)
{
    dn_image gtim;
    char fn[64], path[4200];
    if (dn_image_resize(&W->im, tw, th, &W->thumb) != DN_OK || dn_image_make(tw, th, W->thumb.c, &gtim) != DN_OK)
        return skip_image(e, "out of memory"), -1;
    memcpy(gtim.data, W->thumb.data, (size_t)tw * th * W->thumb.c * sizeof(float));
    for (int g = 0; g < e->ngt; g++) {
        const float *b = e->gt + g * 6;
        int used = gt_used(C, e, g);
        draw_rel_box(&gtim, b, used ? 0 : .6f, used ? .9f : .6f, used ? 0 : .6f);
        char nm[64];
        if (used)
            dn_image_draw_label(&gtim, (int)((b[0] - b[2] / 2) * tw), (int)((b[1] - b[3] / 2) * th),
                                class_name(C->S, (int)b[5], nm, sizeof nm), 1, 0, .6f, 0);
    }
    thumb_photo_name(fn, sizeof fn, e->index);
    snprintf(path, sizeof path, "%s/%s", C->html, fn);
    dn_status st = write_png_fast(&gtim, path);
    dn_image_free(&gtim);
    if (st != DN_OK) return skip_image(e, dn_last_error()), -1;
    return 0;
}

/* Each map of each method: rendered at image resolution, scored, drawn for the report, and run
 * through the network as input * map for its score O. */
static int score_maps(const ev_ctx *C, ev_image *e, ev_work *W)
{
    const ev_set *S = C->S;
    dn_network *net = C->net;
    const int netw = dn_network_width(net), neth = dn_network_height(net), detector = S->task == DN_TASK_DETECTOR;
    const int iw = W->im.w, ih = W->im.h;
    const size_t npx = (size_t)iw * ih;
    int nw = netw, nh = neth, dx = 0, dy = 0, rc = -1;
    if (C->letter) dn_letterbox_geometry(iw, ih, netw, neth, &nw, &nh, &dx, &dy);
    int tw = iw > EV_THUMB ? EV_THUMB : iw, th = (int)((long)ih * tw / iw);
    if (th < 1) th = 1;
    ev_scratch X = {0};
    X.M = dn_malloc(npx * sizeof(float));
    X.tmp = dn_malloc(npx * sizeof(float));
    X.mask = dn_malloc(npx);
    X.bin = dn_malloc(npx);
    X.labels = dn_malloc(npx * sizeof(int));
    X.stack = dn_malloc(npx * sizeof(int));
    X.comp = dn_malloc(EV_MAX_COMP * sizeof(dn_pbox));
    dn_pbox *gtb = dn_malloc((size_t)(e->ngt + 1) * sizeof(dn_pbox));
    float *masked = dn_malloc((size_t)W->sized.c * netw * neth * sizeof(float)); /* (c, neth, netw) */
    float *mres = dn_malloc((size_t)nw * nh * sizeof(float));                    /* (nh, nw) the map at input scale */
    float *rtmp = dn_malloc((size_t)nw * ih * sizeof(float));
    float *mth = C->html ? dn_malloc((size_t)tw * th * sizeof(float)) : NULL;  /* (th, tw) */
    float *ttmp = C->html ? dn_malloc((size_t)tw * ih * sizeof(float)) : NULL;
    if (!X.M || !X.tmp || !X.mask || !X.bin || !X.labels || !X.stack || !X.comp || !gtb || !masked || !mres || !rtmp ||
        (C->html && (!mth || !ttmp))) {
        skip_image(e, "out of memory");
        goto done;
    }
    if (C->html && write_photo(C, e, W, tw, th)) goto done;
    for (int j = 0; j < e->nmaps; j++) {
        ev_map *mp = &e->maps[j];
        int ng = map_gt_boxes(C, e, mp, gtb);
        for (int m = 0; m < S->nmethods; m++) {
            /* the map at image resolution: each part resampled and normalised, parts added */
            int cnt = 0;
            memset(X.M, 0, npx * sizeof(float));
            for (int q = 0; q < W->nparts; q++) {
                const ev_part *pt = &W->parts[q];
                if (pt->map != j) continue;
                dn_cam_resample(W->pm + W->off * m + pt->off, pt->mw, pt->mh, netw, neth, C->letter, iw, ih, 1, X.tmp);
                for (size_t i = 0; i < npx; i++) X.M[i] += X.tmp[i];
                cnt++;
            }
            if (cnt > 1) dn_normalize(X.M, npx);
            score_map(S, &X, iw, ih, gtb, ng, &mp->s[m]);
            dn_image msrc = {iw, ih, 1, X.M};
            if (C->html) {
                dn_image small = {tw, th, 1, mth}, ov;
                char fn[64], path[4200];
                dn_image_resize_into(&msrc, &small, ttmp);
                if (dn_cam_overlay(&W->thumb, mth, C->alpha, &ov) != DN_OK) {
                    skip_image(e, "out of memory");
                    goto done;
                }
                for (int g = 0; g < ng; g++) {
                    float rb[4] = {(gtb[g].x1 + gtb[g].x2) / 2 / iw, (gtb[g].y1 + gtb[g].y2) / 2 / ih,
                                   (gtb[g].x2 - gtb[g].x1) / iw, (gtb[g].y2 - gtb[g].y1) / ih};
                    draw_rel_box(&ov, rb, 0, 1, 0);
                }
                if (mp->kind == EV_DET) draw_rel_box(&ov, mp->box, 1, 0, 0);
                thumb_map_name(fn, sizeof fn, e->index, j, S->methods[m]);
                snprintf(path, sizeof path, "%s/%s", C->html, fn);
                dn_status st = write_png_fast(&ov, path);
                dn_image_free(&ov);
                if (st != DN_OK) {
                    skip_image(e, dn_last_error());
                    goto done;
                }
            }
            /* faithfulness: E = map * image as the network sees it: the map resized (or
               letterboxed) like the photo multiplies the input; letterbox bands stay grey */
            dn_image mdst = {nw, nh, 1, mres};
            dn_image_resize_into(&msrc, &mdst, rtmp);
            for (int c = 0; c < W->sized.c; c++)
                for (int y = 0; y < neth; y++)
                    for (int x = 0; x < netw; x++) {
                        size_t i = ((size_t)c * neth + y) * netw + x;
                        int u = x - dx, v = y - dy;
                        float mv = u >= 0 && u < nw && v >= 0 && v < nh ? mres[(size_t)v * nw + u] : 1.f;
                        masked[i] = W->sized.data[i] * mv;
                    }
            const float *out = dn_network_predict(net, masked);
            float o = 0;
            if (detector) {
                for (int q = 0; q < W->nparts; q++)
                    for (int r = 0; W->parts[q].map == j && r < W->parts[q].n; r++)
                        o += head_conf(net, &W->pdets[W->parts[q].first + r], mp->cls);
            } else {
                o = out[mp->cls];
            }
            mp->s[m].o = o;
        }
    }
    rc = 0;
done:
    dn_free(X.M), dn_free(X.tmp), dn_free(X.mask), dn_free(X.bin), dn_free(X.labels), dn_free(X.stack), dn_free(X.comp);
    dn_free(gtb), dn_free(masked), dn_free(mres), dn_free(rtmp), dn_free(mth), dn_free(ttmp);
    return rc;
}

/* Evaluates one image: labels, one forward pass, the maps' targets, every method's maps (one
 * dn_cam_compute call per method and layer), their scores and one masked forward pass per map
 * and method, and the report's pictures. A problem with the image or its labels skips it with
 * a one-line message (e->skipped, e->skip). */
static void eval_image(const ev_ctx *C, ev_image *e)
{
    dn_network *net = C->net;
    const int netw = dn_network_width(net), neth = dn_network_height(net);
    double t0 = app_now();
    ev_work W;
    memset(&W, 0, sizeof W);
    dn_status st;
    if (read_gt(C, e)) goto done;
    if ((st = dn_image_load(e->path, dn_network_channels(net), &W.im)) != DN_OK) {
        skip_image(e, dn_last_error());
        goto done;
    }
    e->w = W.im.w, e->h = W.im.h;
    st = C->letter ? dn_image_letterbox(&W.im, netw, neth, &W.sized) : dn_image_resize(&W.im, netw, neth, &W.sized);
    if (st != DN_OK) {
        skip_image(e, dn_last_error());
        goto done;
    }
    const float *pred = dn_network_predict(net, W.sized.data);
    if (C->S->task == DN_TASK_DETECTOR ? detector_maps(C, e, &W) : classifier_map(C, e, pred)) goto done;
    if (make_parts(C, e, &W) || compute_cams(C, e, &W) || score_maps(C, e, &W)) goto done;
done:
    if (e->skipped) e->nmaps = 0;
    e->seconds = app_now() - t0;
    work_free(&W);
}

/* ---- reading the JSON back (merge) ------------------------------------------------------- */

/* The settings of a shard's JSON (strings borrowed from the tree). */
static int settings_from_json(const dn_jv *r, const char *path, ev_set *S, char *err, size_t nerr)
{
    memset(S, 0, sizeof *S);
    const dn_jv *ms = dn_json_get(r, "methods"), *ds = dn_json_get(r, "deltas"), *names = dn_json_get(r, "names");
    const char *fmt = dn_json_string(r, "format"), *task = dn_json_string(r, "task");
    if (!fmt || strcmp(fmt, "gradcampp-eval 1") || !ms || ms->t != DN_J_ARR || !ds || ds->t != DN_J_ARR || !task ||
        !dn_json_get(r, "images") || dn_json_get(r, "images")->t != DN_J_ARR) {
        snprintf(err, nerr, "%s: not a gradcampp eval JSON (format, task, methods, deltas or images missing)", path);
        return -1;
    }
    S->cfg = dn_json_string(r, "cfg"), S->weights = dn_json_string(r, "weights"), S->list = dn_json_string(r, "list");
    S->target = dn_json_string(r, "target"), S->layer = dn_json_string(r, "layer");
    S->task = strcmp(task, "detector") ? DN_TASK_CLASSIFIER : DN_TASK_DETECTOR;
    S->thresh = (float)dn_json_num(r, "thresh", 0), S->nms = (float)dn_json_num(r, "nms", 0);
    S->letterbox = (int)dn_json_num(r, "letterbox", 0), S->box_thresh = (float)dn_json_num(r, "box_thresh", .5);
    S->list_total = (int)dn_json_num(r, "list_images", 0);
    if (ms->n < 1 || ms->n > EV_MAX_METHODS || ds->n < 1 || ds->n > EV_MAX_DELTAS) {
        snprintf(err, nerr, "%s: bad methods or deltas", path);
        return -1;
    }
    S->nmethods = ms->n;
    for (int m = 0; m < ms->n; m++) {
        int id = ms->kid[m].t == DN_J_STR ? dn_cam_method_parse(ms->kid[m].str) : -1;
        if (id < 0) {
            snprintf(err, nerr, "%s: unknown method in \"methods\"", path);
            return -1;
        }
        S->methods[m] = id;
    }
    S->ndelta = ds->n;
    for (int d = 0; d < ds->n; d++) S->deltas[d] = dn_json_at(ds, d);
    if (names && names->t == DN_J_ARR) {
        S->names = dn_calloc((size_t)(names->n + 1), sizeof(char *));
        if (!S->names) {
            snprintf(err, nerr, "out of memory");
            return -1;
        }
        for (int i = 0; i < names->n; i++) S->names[i] = names->kid[i].t == DN_J_STR ? names->kid[i].str : (char *)"?";
        S->nnames = names->n;
    }
    return 0;
}

static int image_from_json(const dn_jv *o, const ev_set *S, ev_image *e)
{
    memset(e, 0, sizeof *e);
    const char *p = dn_json_string(o, "image"), *skip = dn_json_string(o, "skipped");
    const dn_jv *gt = dn_json_get(o, "gt"), *maps = dn_json_get(o, "maps");
    if (!p || !gt || gt->t != DN_J_ARR || !maps || maps->t != DN_J_ARR) return -1;
    e->index = (int)dn_json_num(o, "index", -1);
    if (!(e->path = dn_strdup(p))) return -1;
    if (skip) e->skipped = 1, snprintf(e->skip, sizeof e->skip, "%s", skip);
    e->w = (int)dn_json_num(o, "width", 0), e->h = (int)dn_json_num(o, "height", 0), e->seconds = dn_json_num(o, "seconds", 0);
    e->ndet = (int)dn_json_num(o, "detections", 0), e->unmatched = (int)dn_json_num(o, "unmatched", 0);
    e->missed_gt = (int)dn_json_num(o, "missed_gt", 0), e->missed_classes = (int)dn_json_num(o, "missed_classes", 0);
    e->fp_classes = (int)dn_json_num(o, "fp_classes", 0), e->unexplained = (int)dn_json_num(o, "unexplained", 0);
    e->unscored = (int)dn_json_num(o, "unscored", 0);
    e->ngt = gt->n;
    e->gt = dn_calloc((size_t)(gt->n + 1) * 6, sizeof(float));
    e->maps = dn_calloc((size_t)(maps->n + 1), sizeof(ev_map));
    if (!e->gt || !e->maps) return -1;
    for (int g = 0; g < gt->n; g++)
        for (int q = 0; q < 6; q++) e->gt[g * 6 + q] = dn_json_at(&gt->kid[g], q);
    e->nmaps = maps->n;
    for (int j = 0; j < maps->n; j++) {
        const dn_jv *a = &maps->kid[j], *ms = dn_json_get(a, "methods"), *box = dn_json_get(a, "box");
        ev_map *mp = &e->maps[j];
        const char *kind = dn_json_string(a, "kind");
        mp->kind = -1;
        for (int k = 0; kind && k < EV_KINDS; k++)
            if (!strcmp(kind, kind_names[k])) mp->kind = k;
        if (mp->kind < 0 || !ms) return -1;
        mp->cls = (int)dn_json_num(a, "class", -1), mp->det = (int)dn_json_num(a, "det", -1), mp->gt = (int)dn_json_num(a, "gt", -1);
        mp->iou = (float)dn_json_num(a, "iou", 0), mp->ngt = (int)dn_json_num(a, "instances", 0);
        mp->ndets = (int)dn_json_num(a, "detections", 0), mp->y = (float)dn_json_num(a, "y", 0);
        for (int q = 0; q < 4; q++) mp->box[q] = dn_json_at(box, q);
        for (int m = 0; m < S->nmethods; m++) {
            const dn_jv *s = dn_json_get(ms, dn_cam_method_name((dn_cam_method)S->methods[m]));
            if (!s) return -1;
            ev_score *sc = &mp->s[m];
            const dn_jv *loc = dn_json_get(s, "loc");
            for (int d = 0; d < S->ndelta; d++) sc->loc[d] = dn_json_at(loc, d);
            sc->best_iou = (float)dn_json_num(s, "best_iou", 0), sc->ncomp = (int)dn_json_num(s, "components", 0);
            sc->loc_ok = (int)dn_json_num(s, "loc_ok", 0), sc->point = (int)dn_json_num(s, "pointing", 0);
            sc->covered = (int)dn_json_num(s, "covered", 0), sc->o = (float)dn_json_num(s, "o", 0);
        }
    }
    return 0;
}

static int cmp_image(const void *a, const void *b)
{
    const ev_image *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* `gradcampp eval merge out.json shard.json ...`: the shards' per-image records in list order,
 * totals recomputed from them, the table printed; -html DIR writes index.html over the pictures
 * the shards left in DIR. */
static int eval_merge(int argc, char **argv)
{
    const char *usage = "darknet gradcampp eval merge <out.json> <shard.json> [shard.json ...] [-html dir]";
    const char *html = NULL;
    app_flag flags[] = {{"-html", 's', &html}};
    char *pos[4096];
    int np, rc = app_parse(argc, argv, 4, flags, 1, pos, 4096, &np, usage);
    if (rc) return rc;
    if (np < 2) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    int nf = np - 1, nim = 0, cap = 0, failed = 0;
    dn_jv *roots = dn_calloc((size_t)nf, sizeof *roots);
    ev_set S, S1;
    ev_image *im = NULL;
    char err[1024];
    memset(&S, 0, sizeof S);
    if (!roots) return APP_FAIL;
    rc = APP_FAIL;
    for (int i = 0; i < nf; i++) {
        const char *path = pos[i + 1];
        if (dn_json_read(path, &roots[i]) != DN_OK) {
            fprintf(stderr, "darknet: %s\n", dn_last_error());
            goto done;
        }
        if (settings_from_json(&roots[i], path, i ? &S1 : &S, err, sizeof err)) {
            fprintf(stderr, "darknet: %s\n", err);
            goto done;
        }
        if (i) {
            int same = S1.nmethods == S.nmethods && S1.ndelta == S.ndelta && S1.task == S.task &&
                       S1.box_thresh == S.box_thresh && S1.list_total == S.list_total;
            for (int m = 0; same && m < S.nmethods; m++) same = S1.methods[m] == S.methods[m];
            for (int d = 0; same && d < S.ndelta; d++) same = S1.deltas[d] == S.deltas[d];
            dn_free(S1.names);
            if (!same) {
                fprintf(stderr, "darknet: %s: methods, deltas, -box_thresh, task or list size differ from %s\n", path, pos[1]);
                goto done;
            }
        }
        const dn_jv *ims = dn_json_get(&roots[i], "images");
        for (int k = 0; k < ims->n; k++) {
            if (nim == cap) {
                cap = cap ? cap * 2 : 256;
                ev_image *g = dn_realloc(im, (size_t)cap * sizeof *im);
                if (!g) goto done;
                im = g;
            }
            if (image_from_json(&ims->kid[k], &S, &im[nim])) {
                fprintf(stderr, "darknet: %s: image record %d is malformed\n", path, k);
                image_free(&im[nim]);
                goto done;
            }
            nim++;
        }
    }
    qsort(im, (size_t)nim, sizeof *im, cmp_image);
    {
        int w = 0;
        for (int i = 0; i < nim; i++) {
            if (w && im[w - 1].index == im[i].index) {
                fprintf(stderr, "darknet: image %d (%s) is in more than one shard: the later record is ignored\n",
                        im[i].index, im[i].path);
                image_free(&im[i]);
                failed++;
                continue;
            }
            im[w++] = im[i];
        }
        nim = w;
    }
    S.shard_s = "merged";
    ev_tot tot[EV_KINDS][EV_MAX_METHODS];
    ev_counts c;
    if (compute_totals(&S, im, nim, tot, &c) != DN_OK) goto done;
    print_table(stdout, &S, tot, &c);
    rc = write_json(pos[0], &S, im, nim, tot, &c);
    if (rc == APP_OK) printf("json -> %s\n", pos[0]);
    if (rc == APP_OK && html) {
        rc = write_html(html, "index.html", &S, im, nim, tot, &c);
        if (rc == APP_OK) printf("html -> %s/index.html\n", html);
    }
    if (S.list_total && nim < S.list_total) {
        fprintf(stderr, "darknet: merged %d of the %d listed images: a shard is missing\n", nim, S.list_total);
        failed++;
    }
    if (c.skipped) fprintf(stderr, "darknet: %d images were skipped by the shards (see their messages)\n", c.skipped);
    if (rc == APP_OK && (failed || c.skipped)) rc = APP_FAIL;
done:
    for (int i = 0; i < nim; i++) image_free(&im[i]);
    dn_free(im);
    dn_free(S.names);
    for (int i = 0; i < nf; i++) dn_jv_free(&roots[i]);
    dn_free(roots);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------- */


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

/* Resolves a user layer index (negative from the end) and checks it has a spatial map. */
static int resolve_layer(dn_network *net, int layer)
{
    int n = dn_network_layers(net), l = layer < 0 ? n + layer : layer, c, h, w;
    if (l < 0 || l >= n) {
        fprintf(stderr, "darknet: -layer %d is out of range (the network has layers 0..%d)\n", layer, n - 1);
        return -1;
    }
    dn_network_layer_output(net, l, &c, &h, &w);
    if (w * h < 2) {
        fprintf(stderr, "darknet: -layer %d [%s] has no spatial map (%d x %d x %d)\n", layer, dn_network_layer_type(net, l), w,
                h, c);
        return -1;
    }
    return l;
}

static void progress(int done, int total, double t0, double *last, int force)
{
    double now = app_now();
    if (!force && now - *last < 2) return;
    *last = now;
    double rate = done / (now - t0 > 1e-9 ? now - t0 : 1e-9);
    int tty = isatty(2);
    fprintf(stderr, "%seval: %d/%d images, %.2f images/s, ETA %.0f s%s", tty ? "\r" : "", done, total, rate,
            rate > 0 ? (total - done) / rate : 0.0, tty && !force ? "" : "\n");
}

static int eval_run(int argc, char **argv)
{
    const char *usage =
        "darknet gradcampp eval [data] <cfg> <weights> <list.txt> [-methods gradcampp,gradcam,...] "
        "[-target logit|logconf|conf] [-layer n] [-class c] [-map file] [-thresh t] [-nms n] [-delta d] "
        "[-box_thresh b] [-letterbox | -no_letterbox] [-json file] [-html dir] [-shard i/n] [-threads t] [-alpha a]\n"
        "   or: darknet gradcampp eval merge <out.json> <shard.json> [shard.json ...] [-html dir]";
    const char *methods_s = "gradcampp,gradcam", *target_s = "conf", *map_s = NULL, *json_s = NULL, *html_s = NULL,
               *shard_s = NULL;
    int layer = 0x7fffffff, cls = -1, letterbox = 0, no_letterbox = 0, threads = 0;
    float thresh = -1, nms = .45f, delta = -1, box_thresh = .5f, alpha = .5f; /* thresh -1: the task's default */
    app_flag flags[] = {{"-methods", 's', &methods_s}, {"-target", 's', &target_s}, {"-layer", 'i', &layer},
                        {"-class", 'i', &cls}, {"-map", 's', &map_s}, {"-thresh", 'f', &thresh},
                        {"-nms", 'f', &nms}, {"-delta", 'f', &delta}, {"-box_thresh", 'f', &box_thresh},
                        {"-letterbox", 'b', &letterbox}, {"-no_letterbox", 'b', &no_letterbox},
                        {"-json", 's', &json_s}, {"-html", 's', &html_s}, {"-shard", 's', &shard_s},
                        {"-threads", 'i', &threads}, {"-alpha", 'f', &alpha}};
    char *pos[8];
    int np;
    int rc = app_parse(argc, argv, 3, flags, (int)(sizeof flags / sizeof flags[0]), pos, 8, &np, usage);
    if (rc) return rc;
    int has_data = np >= 1 && strlen(pos[0]) > 5 && !strcmp(pos[0] + strlen(pos[0]) - 5, ".data");
    if (np != (has_data ? 4 : 3)) {
        fprintf(stderr, "usage: %s\n", usage);
        return APP_USAGE;
    }
    ev_set S;
    memset(&S, 0, sizeof S);
    {
        const char *p = methods_s;
        while (*p) {
            char name[64];
            size_t l = strcspn(p, ",");
            snprintf(name, sizeof name, "%.*s", (int)(l < 63 ? l : 63), p);
            int id = dn_cam_method_parse(name);
            int dup = 0;
            for (int m = 0; m < S.nmethods; m++) dup |= S.methods[m] == id;
            if (id < 0 || dup || S.nmethods == EV_MAX_METHODS) {
                fprintf(stderr, "darknet: -methods: %s '%s' (give up to %d of gradcampp, gradcam, xgradcam, layercam, "
                                "hirescam, scorecam, eigencam, comma-separated)\n",
                        id < 0 ? "unknown method" : dup ? "repeated method" : "too many methods at", name, EV_MAX_METHODS);
                return APP_USAGE;
            }
            S.methods[S.nmethods++] = id;
            p += l;
            if (*p == ',') p++;
        }
        if (!S.nmethods) {
            fprintf(stderr, "darknet: -methods needs at least one method\n");
            return APP_USAGE;
        }
    }
    int score = dn_cam_score_parse(target_s);
    if (score < 0) {
        fprintf(stderr, "darknet: unknown -target '%s' (logit, logconf, conf)\n", target_s);
        return APP_USAGE;
    }
    if ((thresh != -1 && (thresh < 0 || thresh > 1)) || nms < 0 || nms > 1 || alpha < 0 || alpha > 1) {
        fprintf(stderr, "darknet: -thresh, -nms and -alpha must be in [0,1]\n");
        return APP_USAGE;
    }
    if (delta != -1 && !(delta >= 0 && delta <= 1)) {
        fprintf(stderr, "darknet: -delta must be in [0,1]\n");
        return APP_USAGE;
    }
    if (!(box_thresh > 0 && box_thresh <= 1)) {
        fprintf(stderr, "darknet: -box_thresh must be in (0,1] (a fraction of each map's max)\n");
        return APP_USAGE;
    }
    if (threads < 0 || threads > 1024) {
        fprintf(stderr, "darknet: -threads must be in 1..1024 (default: all cores)\n");
        return APP_USAGE;
    }
    if (letterbox && no_letterbox) {
        fprintf(stderr, "darknet: give -letterbox or -no_letterbox, not both\n");
        return APP_USAGE;
    }
    int shard = 0, nshards = 1;
    if (shard_s) {
        char extra;
        if (sscanf(shard_s, "%d/%d%c", &shard, &nshards, &extra) != 2 || nshards < 1 || shard < 0 || shard >= nshards) {
            fprintf(stderr, "darknet: -shard expects i/n with 0 <= i < n, got '%s'\n", shard_s);
            return APP_USAGE;
        }
    }
    S.deltas[0] = 0, S.deltas[1] = .25f, S.deltas[2] = .5f, S.ndelta = 3;
    if (delta != -1 && delta != 0 && delta != .25f && delta != .5f) S.deltas[S.ndelta++] = delta;
    S.box_thresh = box_thresh, S.thresh = thresh, S.nms = nms;
    const char *datacfg = has_data ? pos[0] : NULL;
    S.cfg = pos[has_data ? 1 : 0], S.weights = pos[has_data ? 2 : 1], S.list = pos[has_data ? 3 : 2];
    S.target = dn_cam_score_name((dn_cam_score)score);
    char shard_buf[64], layer_buf[32];
    snprintf(shard_buf, sizeof shard_buf, "%d/%d", shard, nshards);
    S.shard_s = shard_buf;

    dn_network *net = app_load_network(S.cfg, S.weights, 1);
    if (!net) return APP_FAIL;
    if (threads) dn_network_set_threads(net, threads);
    S.task = dn_network_task(net);
    int classes = dn_network_classes(net), detector = S.task == DN_TASK_DETECTOR;
    char **names = NULL, **list = NULL;
    int nnames = 0, nlist = 0, nlmap = 0, *lmap = NULL, nlset = 0, *lset = NULL;
    if (thresh == -1) S.thresh = detector ? .25f : 0; /* detections above .25; every mapped class */
    dn_options *opts = NULL;
    ev_image *im = NULL;
    int nim = 0;
    rc = APP_FAIL;
    if (datacfg) {
        if (app_read_names(datacfg, "data/names.list", &names, &nnames, &opts)) goto done;
    } else {
        char np2[4096];
        if (app_names_beside(S.cfg, np2, sizeof np2)) {
            if (dn_lines_read(np2, &names, &nnames) != DN_OK) nnames = 0, names = NULL;
            else fprintf(stderr, "names: %s\n", np2);
        }
    }
    if (nnames < classes) {
        dn_lines_free(names, nnames);
        nnames = 0;
        if (!(names = dn_calloc((size_t)classes, sizeof(char *)))) goto done;
        for (int i = 0; i < classes; i++, nnames++)
            if (!(names[i] = dn_malloc(24))) goto done;
            else snprintf(names[i], 24, "class%d", i);
        fprintf(stderr, "names: none found for %d classes (give a .data file); using class numbers\n", classes);
    }
    S.names = names, S.nnames = nnames;
    if (cls < -1 || cls >= classes) {
        fprintf(stderr, "darknet: -class %d is out of range 0..%d\n", cls, classes - 1);
        rc = APP_USAGE;
        goto done;
    }
    if (layer != 0x7fffffff && (layer = resolve_layer(net, layer)) < 0) {
        rc = APP_USAGE;
        goto done;
    }
    if (layer == 0x7fffffff) layer = -1;
    if (layer >= 0) snprintf(layer_buf, sizeof layer_buf, "%d", layer);
    else snprintf(layer_buf, sizeof layer_buf, "auto");
    S.layer = layer_buf;
    if (map_s && dn_read_class_map(map_s, classes, &lmap, &nlmap, &lset, &nlset) != DN_OK) {
        fprintf(stderr, "darknet: %s\n", dn_last_error());
        goto done;
    }
    for (int i = 0; detector && i < nlset; i++)
        if (lmap[lset[2 * i]] != lset[2 * i + 1]) {
            fprintf(stderr, "darknet: %s: label %d maps to several classes: only a classifier's -map may (it "
                            "explains the best-scoring one)\n", map_s, lset[2 * i]);
            goto done;
        }
    dn_status st = dn_lines_read(S.list, &list, &nlist);
    if (st != DN_OK) {
        app_error("", st);
        goto done;
    }
    if (nlist == 0) {
        fprintf(stderr, "darknet: %s: the list holds no images\n", S.list);
        goto done;
    }
    S.list_total = nlist;
    if (html_s && mkdir_p(html_s) != 0) {
        fprintf(stderr, "darknet: %s: cannot create the report folder: %s\n", html_s, strerror(errno));
        goto done;
    }
    ev_ctx C = {&S, net, score, layer, cls, lmap, nlmap, lset, nlset, detector && !lmap ? classes : 1 << 24,
                0, html_s, alpha};
    C.letter = letterbox ? 1 : no_letterbox ? 0 : !detector ? 1 : dn_network_letterbox(net);
    S.letterbox = C.letter;
    int todo = 0;
    for (int i = 0; i < nlist; i++) todo += i % nshards == shard;
    if (!(im = dn_calloc((size_t)(todo ? todo : 1), sizeof *im))) goto done;
    fprintf(stderr, "eval: %s, %d of %d images (shard %s), methods", detector ? "detector" : "classifier", todo, nlist,
            S.shard_s);
    for (int m = 0; m < S.nmethods; m++) fprintf(stderr, "%s%s", m ? "," : " ", dn_cam_method_name((dn_cam_method)S.methods[m]));
    fprintf(stderr, ", target %s, layer %s, %s input, components at %g of each map's max\n",
            detector ? S.target : "class logit",
            layer >= 0 ? layer_buf : detector ? "auto (per head: the first conv of the head's branch)" : "auto (last conv with a spatial map)",
            C.letter ? "letterboxed" : "resized", box_thresh);
    double t0 = app_now(), last = t0;
    for (int i = 0; i < nlist; i++) {
        if (i % nshards != shard) continue;
        ev_image *e = &im[nim++];
        e->index = i;
        if (!(e->path = dn_strdup(list[i]))) {
            nim--;
            goto done;
        }
        eval_image(&C, e);
        progress(nim, todo, t0, &last, nim == todo);
    }
    double wall = app_now() - t0;
    ev_tot tot[EV_KINDS][EV_MAX_METHODS];
    ev_counts c;
    if (compute_totals(&S, im, nim, tot, &c) != DN_OK) goto done;
    printf("\n");
    print_table(stdout, &S, tot, &c);
    fprintf(stderr, "eval: %d images in %.1f s (%.2f images/s)\n", nim, wall, nim / (wall > 1e-9 ? wall : 1e-9));
    rc = APP_OK;
    if (json_s) {
        if (write_json(json_s, &S, im, nim, tot, &c) != APP_OK) rc = APP_FAIL;
        else printf("json -> %s\n", json_s);
    }
    if (html_s) {
        char page[64];
        if (nshards > 1) snprintf(page, sizeof page, "index_shard%dof%d.html", shard, nshards);
        else snprintf(page, sizeof page, "index.html");
        if (write_html(html_s, page, &S, im, nim, tot, &c) != APP_OK) rc = APP_FAIL;
        else printf("html -> %s/%s\n", html_s, page);
    }
    if (c.skipped) {
        fprintf(stderr, "darknet: eval: skipped %d of %d images (see the messages above)\n", c.skipped, nim);
        rc = APP_FAIL;
    }
done:
    for (int i = 0; i < nim; i++) image_free(&im[i]);
    dn_free(im);
    dn_free(lmap);
    dn_free(lset);
    dn_lines_free(list, nlist);
    dn_lines_free(names, nnames);
    dn_options_free(opts);
    dn_network_free(net);
    return rc;
}

int cmd_gradcampp_eval(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[3], "merge")) return eval_merge(argc, argv);
    return eval_run(argc, argv);
}
