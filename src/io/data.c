/* data.c - training data: Darknet's list files, classifier labels found in the image path
 * (exactly one label string must occur in it), YOLO label files (labels/ beside images/, .txt),
 * augmentation (jittered crop, flip, hue/saturation/exposure) and a background thread that
 * prepares the next batch while the network trains on the current one. */
#include "core/core.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

struct dn_loader {
    dn_loader_cfg cfg;
    int *label_of;      /* (npaths) classifier label index */
    float *boxes;       /* (npaths, DN_MAX_BOXES * 5) detector truth in source coordinates */
    int *nboxes;        /* (npaths) */
    float *x[2], *y[2]; /* double buffers: (batch, c, h, w) and (batch, truth_size) */
    int cur;            /* buffer being filled next */
    uint64_t rng;
    pthread_t th;
    int running;
    dn_status st;       /* status of the batch being prepared */
    char err[512];
};

dn_status dn_label_path(const char *image, char *out, size_t n)
{
    /* Darknet's rule: images/ -> labels/, JPEGImages/ -> labels/, extension -> .txt */
    char buf[4096];
    if (strlen(image) + 16 >= sizeof buf) return dn_error(DN_ERR_RANGE, "%s: path too long", image);
    snprintf(buf, sizeof buf, "%s", image);
    char *p = strstr(buf, "/images/");
    const char *from = "/images/";
    if (!p) {
        p = strstr(buf, "/JPEGImages/");
        from = "/JPEGImages/";
    }
    char tmp[4200];
    if (p) {
        *p = 0;
        snprintf(tmp, sizeof tmp, "%s/labels/%s", buf, p + strlen(from));
    } else {
        snprintf(tmp, sizeof tmp, "%s", buf);
    }
    char *dot = strrchr(tmp, '.');
    char *slash = strrchr(tmp, '/');
    if (dot && (!slash || dot > slash)) *dot = 0;
    if ((size_t)snprintf(out, n, "%s.txt", tmp) >= n) return dn_error(DN_ERR_RANGE, "%s: path too long", image);
    return DN_OK;
}

dn_status dn_read_labels(const char *path, int classes, float *boxes, int max, int *count)
{
    *count = 0;
    FILE *f = fopen(path, "r");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot open label file: %s", path, strerror(errno));
    char line[512];
    int ln = 0;
    dn_status st = DN_OK;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '\n' || *s == '\r' || *s == 0 || *s == '#') continue;
        int cls;
        float x, y, w, h;
        char extra;
        if (sscanf(s, "%d %f %f %f %f %c", &cls, &x, &y, &w, &h, &extra) != 5) {
            st = dn_error(DN_ERR_PARSE, "%s:%d: expected 'class x y w h'", path, ln);
            break;
        }
        if (cls < 0 || cls >= classes) {
            st = dn_error(DN_ERR_RANGE, "%s:%d: class %d is outside 0..%d", path, ln, cls, classes - 1);
            break;
        }
        if (!(w > 0 && h > 0 && w <= 1.0001f && h <= 1.0001f && x >= 0 && x <= 1 && y >= 0 && y <= 1) ||
            x - w / 2 < -0.001f || x + w / 2 > 1.001f || y - h / 2 < -0.001f || y + h / 2 > 1.001f) {
            st = dn_error(DN_ERR_RANGE, "%s:%d: box (%g %g %g %g) is not inside the image", path, ln, x, y, w, h);
            break;
        }
        if (*count < max) {
            float *b = boxes + (size_t)*count * 5;
            b[0] = x, b[1] = y, b[2] = w, b[3] = h, b[4] = (float)cls;
            (*count)++;
        }
    }
    fclose(f);
    return st;
}

static int cmp_pair(const void *a, const void *b)
{
    const int *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

dn_status dn_read_class_map(const char *path, int classes, int **map_out, int *n_out, int **pairs_out,
                            int *npairs_out)
{
    *map_out = *pairs_out = NULL;
    *n_out = *npairs_out = 0;
    FILE *f = fopen(path, "r");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot open the -map file: %s", path, strerror(errno));
    int *map = NULL, cap = 0, ln = 0, n = 0, *pr = NULL, pcap = 0, np = 0;
    dn_status st = DN_OK;
    char line[8192];
    while (st == DN_OK && fgets(line, sizeof line, f)) {
        ln++;
        if (!strchr(line, '\n') && !feof(f)) {
            st = dn_error(DN_ERR_PARSE, "%s:%d: line longer than %d characters", path, ln, (int)sizeof line - 2);
            break;
        }
        char *s = line, *end;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '#' || *s == '\n' || *s == '\r' || !*s) continue;
        long a = strtol(s, &end, 10);
        int got = end != s;
        s = end;
        while (*s == ' ' || *s == '\t') s++;
        if (got && s[0] == '-' && s[1] == '>') s += 2;
        while (*s == ' ' || *s == '\t') s++;
        if (!got || !(*s >= '0' && *s <= '9')) {
            st = dn_error(DN_ERR_PARSE, "%s:%d: expected 'label-class-id network-class-id[,id...]'", path, ln);
            break;
        }
        for (;;) {
            long b = strtol(s, &end, 10);
            s = end;
            if (a < 0 || a > 1000000 || b < 0 || b >= classes) {
                st = dn_error(DN_ERR_RANGE, "%s:%d: ids must be a label id 0..1000000 and network classes 0..%d",
                              path, ln, classes - 1);
                break;
            }
            if (a >= cap) {
                int nc = (int)a + 64;
                int *g = dn_realloc(map, (size_t)nc * sizeof(int));
                if (!g) {
                    st = dn_error(DN_ERR_NOMEM, "%s: out of memory", path);
                    break;
                }
                for (int i = cap; i < nc; i++) g[i] = -1;
                map = g, cap = nc;
            }
            if (np == pcap) {
                int nc = pcap ? 2 * pcap : 256;
                int *g = nc < pcap || (size_t)nc > ((size_t)1 << 28) ? NULL : dn_realloc(pr, (size_t)nc * 2 * sizeof(int));
                if (!g) {
                    st = dn_error(DN_ERR_NOMEM, "%s: out of memory", path);
                    break;
                }
                pr = g, pcap = nc;
            }
            pr[2 * np] = (int)a, pr[2 * np + 1] = (int)b, np++;
            if (map[a] < 0) map[a] = (int)b;
            if (a + 1 > n) n = (int)a + 1;
            if (*s != ',' || !(s[1] >= '0' && s[1] <= '9')) break;
            s++;
        }
    }
    if (st == DN_OK && ferror(f)) st = dn_error(DN_ERR_IO, "%s: read error", path);
    fclose(f);
    if (st == DN_OK && !map) st = dn_error(DN_ERR_PARSE, "%s: the -map file maps no class", path);
    if (st != DN_OK) {
        dn_free(map), dn_free(pr);
        return st;
    }
    /* distinct pairs, sorted */
    qsort(pr, (size_t)np, 2 * sizeof(int), cmp_pair);
    int k = 0;
    for (int i = 0; i < np; i++)
        if (!k || pr[2 * i] != pr[2 * k - 2] || pr[2 * i + 1] != pr[2 * k - 1])
            pr[2 * k] = pr[2 * i], pr[2 * k + 1] = pr[2 * i + 1], k++;
    *map_out = map, *n_out = n, *pairs_out = pr, *npairs_out = k;
    return DN_OK;
}

/* Bilinear sample of src at (sx, sy) (pixel centres at integers), 0.5 outside. */
static inline float sample(const dn_image *im, int c, float sx, float sy)
{
    if (sx < -0.5f || sy < -0.5f || sx > im->w - 0.5f || sy > im->h - 0.5f) return .5f;
    if (sx < 0) sx = 0;
    if (sy < 0) sy = 0;
    if (sx > im->w - 1) sx = (float)(im->w - 1);
    if (sy > im->h - 1) sy = (float)(im->h - 1);
    int x0 = (int)sx, y0 = (int)sy, x1 = x0 + 1 < im->w ? x0 + 1 : x0, y1 = y0 + 1 < im->h ? y0 + 1 : y0;
    float fx = sx - x0, fy = sy - y0;
    const float *p = im->data + (size_t)c * im->w * im->h;
    float a = p[y0 * im->w + x0] * (1 - fx) + p[y0 * im->w + x1] * fx;
    float b = p[y1 * im->w + x0] * (1 - fx) + p[y1 * im->w + x1] * fx;
    return a * (1 - fy) + b * fy;
}

static float rnd(uint64_t *r, float lo, float hi) { return lo + (hi - lo) * dn_rng_uniform(r); }

/* HSV jitter of an RGB pixel triple in place (hue shift dh in [-.5,.5] turns, scale s and v). */
static void hsv_jitter(float *r, float *g, float *b, float dh, float ds, float dv)
{
    float mx = fmaxf(*r, fmaxf(*g, *b)), mn = fminf(*r, fminf(*g, *b)), d = mx - mn;
    float h = 0, s = mx > 0 ? d / mx : 0, v = mx;
    if (d > 0) {
        if (mx == *r) h = (*g - *b) / d;
        else if (mx == *g) h = 2 + (*b - *r) / d;
        else h = 4 + (*r - *g) / d;
        h /= 6;
        if (h < 0) h += 1;
    }
    h += dh;
    h -= floorf(h);
    s = fminf(1, s * ds);
    v = fminf(1, v * dv);
    float hh = h * 6;
    int i = (int)hh % 6;
    float f = hh - floorf(hh), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (i) {
    case 0: *r = v, *g = t, *b = p; break;
    case 1: *r = q, *g = v, *b = p; break;
    case 2: *r = p, *g = v, *b = t; break;
    case 3: *r = p, *g = q, *b = v; break;
    case 4: *r = t, *g = p, *b = v; break;
    default: *r = v, *g = p, *b = q; break;
    }
}

/* Loads image i of the list into x (c, h, w) with augmentation and writes its truth. */
static dn_status load_one(dn_loader *L, int i, float *x, float *truth, uint64_t *r)
{
    const dn_loader_cfg *c = &L->cfg;
    dn_image im;
    dn_status st = dn_image_load(c->paths[i], c->c, &im);
    if (st != DN_OK) return st;
    /* jittered crop window in source pixels */
    float jw = c->jitter * im.w, jh = c->jitter * im.h;
    float left = c->augment ? rnd(r, -jw, jw) : 0, right = c->augment ? rnd(r, -jw, jw) : 0;
    float top = c->augment ? rnd(r, -jh, jh) : 0, bot = c->augment ? rnd(r, -jh, jh) : 0;
    float cw = im.w - left - right, ch = im.h - top - bot;
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    int flip = c->augment && c->flip && (dn_rng_next(r) & 1);
    float sx = cw / c->w, sy = ch / c->h;
    for (int k = 0; k < c->c; k++)
        for (int y = 0; y < c->h; y++)
            for (int xx = 0; xx < c->w; xx++) {
                int ox = flip ? c->w - 1 - xx : xx;
                x[((size_t)k * c->h + y) * c->w + ox] = sample(&im, k, left + (xx + .5f) * sx - .5f, top + (y + .5f) * sy - .5f);
            }
    if (c->augment && (c->hue > 0 || c->saturation != 1 || c->exposure != 1)) {
        float dh = rnd(r, -c->hue, c->hue);
        float ds = c->saturation >= 1 ? rnd(r, 1, c->saturation) : 1;
        if (dn_rng_next(r) & 1) ds = 1 / ds;
        float dv = c->exposure >= 1 ? rnd(r, 1, c->exposure) : 1;
        if (dn_rng_next(r) & 1) dv = 1 / dv;
        size_t hw = (size_t)c->w * c->h;
        if (c->c == 3) {
            for (size_t p = 0; p < hw; p++) hsv_jitter(&x[p], &x[hw + p], &x[2 * hw + p], dh, ds, dv);
        } else {
            for (size_t p = 0; p < hw * c->c; p++) x[p] = fminf(1, x[p] * dv);
        }
    }
    if (c->kind == 0) {
        memset(truth, 0, (size_t)c->classes * sizeof(float));
        truth[L->label_of[i]] = 1;
    } else {
        memset(truth, 0, (size_t)DN_MAX_BOXES * 5 * sizeof(float));
        int k = 0;
        for (int b = 0; b < L->nboxes[i]; b++) {
            const float *s = L->boxes + ((size_t)i * DN_MAX_BOXES + b) * 5;
            /* source box corners in pixels -> crop window -> [0,1] */
            float x1 = ((s[0] - s[2] / 2) * im.w - left) / cw, x2 = ((s[0] + s[2] / 2) * im.w - left) / cw;
            float y1 = ((s[1] - s[3] / 2) * im.h - top) / ch, y2 = ((s[1] + s[3] / 2) * im.h - top) / ch;
            if (flip) {
                float t = 1 - x1;
                x1 = 1 - x2;
                x2 = t;
            }
            x1 = fmaxf(0, x1), y1 = fmaxf(0, y1), x2 = fminf(1, x2), y2 = fminf(1, y2);
            if (x2 - x1 < .005f || y2 - y1 < .005f) continue;
            float *t = truth + (size_t)k * 5;
            t[0] = (x1 + x2) / 2, t[1] = (y1 + y2) / 2, t[2] = x2 - x1, t[3] = y2 - y1, t[4] = s[4];
            k++;
        }
    }
    dn_image_free(&im);
    return DN_OK;
}

static void *producer(void *arg)
{
    dn_loader *L = arg;
    const dn_loader_cfg *c = &L->cfg;
    size_t in = (size_t)c->w * c->h * c->c;
    int ts = c->kind == 0 ? c->classes : DN_MAX_BOXES * 5;
    L->st = DN_OK;
    for (int b = 0; b < c->batch; b++) {
        int i = (int)(dn_rng_next(&L->rng) % (uint64_t)c->npaths);
        dn_status st = load_one(L, i, L->x[L->cur] + b * in, L->y[L->cur] + (size_t)b * ts, &L->rng);
        if (st != DN_OK) {
            L->st = st;
            snprintf(L->err, sizeof L->err, "%s", dn_last_error());
            break;
        }
    }
    return NULL;
}

dn_status dn_loader_create(const dn_loader_cfg *cfg, dn_loader **out)
{
    *out = NULL;
    if (cfg->npaths < 1) return dn_error(DN_ERR_ARG, "the training list is empty");
    dn_loader *L = dn_calloc(1, sizeof *L);
    if (!L) return DN_ERR_NOMEM;
    L->cfg = *cfg;
    L->rng = cfg->seed * 0x9e3779b97f4a7c15ULL + 7;
    dn_status st = DN_OK;
    size_t in = (size_t)cfg->w * cfg->h * cfg->c;
    int ts = cfg->kind == 0 ? cfg->classes : DN_MAX_BOXES * 5;
    for (int k = 0; k < 2 && st == DN_OK; k++) {
        L->x[k] = dn_alloc_floats(in * cfg->batch, "batch", -1);
        L->y[k] = dn_alloc_floats((size_t)ts * cfg->batch, "truth", -1);
        if (!L->x[k] || !L->y[k]) st = DN_ERR_NOMEM;
    }
    /* validate every entry up front: a training run must not die hours in */
    if (st == DN_OK && cfg->kind == 0) {
        L->label_of = dn_calloc((size_t)cfg->npaths, sizeof(int));
        if (!L->label_of) st = DN_ERR_NOMEM;
        for (int i = 0; st == DN_OK && i < cfg->npaths; i++) {
            int found = -1, count = 0;
            for (int k = 0; k < cfg->nlabels; k++)
                if (strstr(cfg->paths[i], cfg->labels[k])) found = k, count++;
            if (count != 1)
                st = dn_error(DN_ERR_PARSE, "%s: %d of the %d labels occur in the path (exactly one must)", cfg->paths[i],
                              count, cfg->nlabels);
            else if (found >= cfg->classes)
                st = dn_error(DN_ERR_RANGE, "%s: label %d is beyond classes=%d", cfg->paths[i], found, cfg->classes);
            L->label_of[i] = found;
        }
    }
    if (st == DN_OK && cfg->kind == 1) {
        L->boxes = dn_alloc_floats((size_t)cfg->npaths * DN_MAX_BOXES * 5, "boxes", -1);
        L->nboxes = dn_calloc((size_t)cfg->npaths, sizeof(int));
        if (!L->boxes || !L->nboxes) st = DN_ERR_NOMEM;
        for (int i = 0; st == DN_OK && i < cfg->npaths; i++) {
            char lp[4200];
            struct stat sb;
            if (stat(cfg->paths[i], &sb) != 0) {
                st = dn_error(DN_ERR_IO, "%s: image listed in the training list does not exist", cfg->paths[i]);
                break;
            }
            if ((st = dn_label_path(cfg->paths[i], lp, sizeof lp)) != DN_OK) break;
            st = dn_read_labels(lp, cfg->classes, L->boxes + (size_t)i * DN_MAX_BOXES * 5, DN_MAX_BOXES, &L->nboxes[i]);
        }
    }
    if (st == DN_OK && cfg->kind == 0)
        for (int i = 0; i < cfg->npaths; i++) {
            struct stat sb;
            if (stat(cfg->paths[i], &sb) != 0) {
                st = dn_error(DN_ERR_IO, "%s: image listed in the training list does not exist", cfg->paths[i]);
                break;
            }
        }
    if (st == DN_OK) {
        if (pthread_create(&L->th, NULL, producer, L) != 0) st = dn_error(DN_ERR_NOMEM, "cannot start the loader thread");
        else L->running = 1;
    }
    if (st != DN_OK) {
        dn_loader_free(L);
        return st;
    }
    *out = L;
    return DN_OK;
}

dn_status dn_loader_next(dn_loader *L, float **x, float **truth)
{
    if (L->running) pthread_join(L->th, NULL);
    L->running = 0;
    if (L->st != DN_OK) return dn_error(L->st, "%s", L->err);
    *x = L->x[L->cur];
    *truth = L->y[L->cur];
    L->cur ^= 1;
    if (pthread_create(&L->th, NULL, producer, L) == 0) L->running = 1;
    else return dn_error(DN_ERR_NOMEM, "cannot start the loader thread");
    return DN_OK;
}

void dn_loader_free(dn_loader *L)
{
    if (!L) return;
    if (L->running) pthread_join(L->th, NULL);
    for (int k = 0; k < 2; k++) {
        dn_free(L->x[k]);
        dn_free(L->y[k]);
    }
    dn_free(L->label_of);
    dn_free(L->boxes);
    dn_free(L->nboxes);
    dn_free(L);
}
