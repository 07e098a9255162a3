/* test_alloc.c - allocation-failure sweeps: the N-th checked allocation fails (dn_mem_fail_at)
 * for every N of a small network load (parse cfg + load weights, classifier and detector) and
 * of a Grad-CAM++ run through the public API (image load, letterbox, forward pass, detections,
 * NMS, maps for several methods, overlay, PNG write). Every case must end with DN_ERR_NOMEM and
 * a one-line reason, leave the outputs NULL and, under the sanitizer pass (LeakSanitizer) and
 * valgrind, leak nothing; a run after each failure must still succeed with the same maps. Also
 * the memory budget (dn_mem_budget) that bounds network construction. */
#include "core/core.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/dn_test_alloc_XXXXXX";

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmpdir, name);
    return buf[slot];
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static const char det_cfg[] =
    "[net]\nwidth=16\nheight=16\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
    "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n"
    "[yolo]\nmask=0,1\nanchors=4,4,8,8\nclasses=2\nnum=2\n"
    "[route]\nlayers=-3\n"
    "[upsample]\nstride=2\n"
    "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n"
    "[yolo]\nmask=0,1\nanchors=4,4,8,8\nclasses=2\nnum=2\n";

static const char cls_cfg[] =
    "[net]\nwidth=12\nheight=12\nchannels=3\n"
    "[convolutional]\nfilters=6\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
    "[avgpool]\n"
    "[connected]\noutput=3\nactivation=linear\n"
    "[softmax]\n";

/* Writes the cfg and seeded random weights for it. */
static int make_model(const char *name, const char *cfg)
{
    char c[64], w[64];
    snprintf(c, sizeof c, "%s.cfg", name);
    snprintf(w, sizeof w, "%s.weights", name);
    if (write_text(tpath(c), cfg) != 0) return -1;
    dn_network *net;
    if (dn_network_parse(tpath(c), 1, &net) != DN_OK) return -1;
    dn_network_randomize(net, 5, NULL);
    dn_status st = dn_network_save_weights(net, tpath(w));
    dn_network_free(net);
    return st == DN_OK ? 0 : -1;
}

/* One failing case must leave a one-line out-of-memory reason. */
static int clean_nomem(dn_status st)
{
    const char *e = dn_last_error();
    return st == DN_ERR_NOMEM && e[0] && !strchr(e, '\n');
}

static dn_status load(const char *name, dn_network **net)
{
    char c[64], w[64];
    snprintf(c, sizeof c, "%s.cfg", name);
    snprintf(w, sizeof w, "%s.weights", name);
    return dn_network_load(tpath(c), tpath(w), 1, net);
}

/* Sweeps N over every allocation of fn; returns the number of allocations (0 on a failed
 * check, already reported). */
#define SWEEP(call, on_ok, on_fail)                                                            \
    do {                                                                                       \
        long c0_ = dn_mem_calls();                                                             \
        dn_status s0_ = (call);                                                                \
        total = dn_mem_calls() - c0_;                                                          \
        CHECK(s0_ == DN_OK);                                                                   \
        on_ok;                                                                                 \
        CHECK(total > 0);                                                                      \
        for (long n_ = 1; n_ <= total; n_++) {                                                 \
            dn_mem_fail_at(n_);                                                                \
            dn_status s_ = (call);                                                             \
            dn_mem_fail_at(0);                                                                 \
            if (s_ == DN_OK) {                                                                 \
                on_ok;                                                                         \
            } else {                                                                           \
                if (!clean_nomem(s_))                                                          \
                    printf("  allocation %ld of %ld: %s: '%s'\n", n_, total, dn_status_str(s_), \
                           dn_last_error());                                                   \
                CHECK(clean_nomem(s_));                                                        \
                on_fail;                                                                       \
                failed++;                                                                      \
            }                                                                                  \
        }                                                                                      \
    } while (0)

TEST(network_load_every_allocation_fails_cleanly)
{
    static const char *const names[2] = {"det", "cls"};
    for (int m = 0; m < 2; m++) {
        long total = 0, failed = 0;
        dn_network *net = NULL;
        SWEEP(load(names[m], &net), (dn_network_free(net), net = NULL), CHECK(net == NULL));
        printf("  %s: %ld allocations, %ld failed cleanly\n", names[m], total, failed);
        CHECK(failed >= total - 1); /* at most the thread pool's fallback is tolerated */
    }
}

/* The gradcampp pipeline through the public API; every path frees what it made. maps_out
 * (room for 2 * 8 * 8 floats) receives the first two maps. */
static dn_status gradcampp_run(dn_network *net, float *maps_out)
{
    dn_image photo = {0}, in = {0}, over = {0};
    dn_detection *dets = NULL;
    int nd = 0;
    float *map = NULL, *full = NULL;
    dn_status st = dn_image_load(tpath("photo.png"), 3, &photo);
    if (st == DN_OK) st = dn_image_letterbox(&photo, net->w, net->h, &in);
    if (st == DN_OK) {
        dn_network_predict(net, in.data);
        st = dn_network_detections(net, photo.w, photo.h, .0f, 1, &dets, &nd);
    }
    if (st == DN_OK) {
        dn_detections_nms(dets, nd, .45f);
        map = dn_malloc(4 * 8 * 8 * sizeof *map);
        full = dn_malloc((size_t)photo.w * photo.h * sizeof *full);
        if (!map || !full) st = DN_ERR_NOMEM;
    }
    static const dn_cam_method methods[3] = {DN_CAM_GRADCAMPP, DN_CAM_SCORECAM, DN_CAM_EIGENCAM};
    for (int k = 0; st == DN_OK && k < 3; k++) {
        dn_cam_target t[2] = {{0, dets, 1}, {1, dets + 1, nd - 1}};
        st = dn_cam_compute(net, 1, methods[k], DN_SCORE_CONF, t, 2, in.data, map, NULL);
        if (st == DN_OK && k == 0) memcpy(maps_out, map, 2 * 8 * 8 * sizeof *map);
    }
    if (st == DN_OK) {
        dn_cam_to_image(map, 8, 8, net->w, net->h, 1, photo.w, photo.h, full);
        st = dn_cam_overlay(&photo, full, .5f, &over);
    }
    if (st == DN_OK) st = dn_image_save_png(&over, tpath("overlay.png"));
    dn_image_free(&over);
    dn_free(full);
    dn_free(map);
    dn_detections_free(dets, nd);
    dn_image_free(&in);
    dn_image_free(&photo);
    return st;
}

TEST(gradcampp_every_allocation_fails_cleanly)
{
    dn_network *net = NULL;
    CHECK_OK(load("det", &net));
    dn_network_set_threads(net, 1);
    dn_image photo;
    CHECK_OK(dn_image_make(20, 14, 3, &photo));
    for (size_t i = 0; i < (size_t)20 * 14 * 3; i++) photo.data[i] = (float)((i * 37) % 101) / 100.f;
    CHECK_OK(dn_image_save_png(&photo, tpath("photo.png")));
    dn_image_free(&photo);
    float ref[2 * 8 * 8], got[2 * 8 * 8];
    CHECK_OK(gradcampp_run(net, ref));
    long total = 0, failed = 0;
    int same = 1;
    SWEEP(gradcampp_run(net, got), same &= !memcmp(got, ref, sizeof ref), (void)0);
    /* after the last failure the network still computes the same maps */
    CHECK_OK(gradcampp_run(net, got));
    CHECK(same && !memcmp(got, ref, sizeof ref));
    printf("  gradcampp: %ld allocations, %ld failed cleanly\n", total, failed);
    CHECK(failed == total);
    dn_network_free(net);
}

TEST(memory_budget_bounds_network_construction)
{
    /* a cfg whose buffers need ~1.2 GiB fails under a 64 MiB budget naming file, line, layer */
    CHECK(write_text(tpath("big.cfg"), "[net]\nwidth=4096\nheight=4096\nchannels=3\n"
                                       "[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=leaky\n") == 0);
    size_t old = dn_mem_budget((size_t)64 << 20);
    dn_network *net = NULL;
    dn_status st = dn_network_parse(tpath("big.cfg"), 1, &net);
    size_t left = dn_mem_budget(old);
    if (st != DN_ERR_RANGE && st != DN_ERR_NOMEM) printf("  big.cfg: %s: %s\n", dn_status_str(st), dn_last_error());
    CHECK((st == DN_ERR_RANGE || st == DN_ERR_NOMEM) && net == NULL);
    CHECK(strstr(dn_last_error(), "big.cfg:5") && strstr(dn_last_error(), "layer 0") &&
          strstr(dn_last_error(), "memory limit"));
    CHECK(left < ((size_t)64 << 20));
    /* the same cfg without a budget is within DN_MAX_NET_BYTES */
    CHECK(DN_MAX_NET_BYTES >= ((size_t)2 << 30));
    /* a small network fits and charges what it used to the caller's budget */
    old = dn_mem_budget((size_t)64 << 20);
    st = load("cls", &net);
    left = dn_mem_budget(old);
    CHECK(st == DN_OK);
    CHECK(left < ((size_t)64 << 20) && left > ((size_t)60 << 20));
    dn_network_free(net);
    CHECK(dn_mem_budget_left() == old);
}

int main(void)
{
    dn_set_log(NULL);
    if (!mkdtemp(tmpdir)) return 1;
    if (make_model("det", det_cfg) != 0 || make_model("cls", cls_cfg) != 0) {
        printf("FAIL setup: %s\nRESULT 0 1 0\n", dn_last_error());
        return 1;
    }
    RUN(network_load_every_allocation_fails_cleanly);
    RUN(gradcampp_every_allocation_fails_cleanly);
    RUN(memory_budget_bounds_network_construction);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("  could not remove %s\n", tmpdir);
    DONE();
}
