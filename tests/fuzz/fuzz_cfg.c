/* fuzz_cfg.c - fuzz target: the cfg parser and network construction (every layer's create),
 * for inference (batch 1) and training (the cfg's batch / subdivisions, training buffers), plus
 * one forward pass and the detections of networks small enough to run quickly. A failure must
 * leave a one-line reason; the memory budget bounds what any cfg can allocate. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin();
    const char *path = fuzz_file("fuzz.cfg", data, size);
    dn_network *net = NULL;
    dn_status st = dn_network_parse(path, 0, &net);
    fuzz_expect_reason(st);
    if (st == DN_OK) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            dn_network_print(net, null);
            fclose(null);
        }
        dn_network_set_threads(net, 1);
        int inputs = net->inputs;
        if (inputs <= (1 << 16) && dn_network_bflops(net) < 0.02) {
            float *x = calloc((size_t)inputs, sizeof *x);
            if (!x) abort();
            for (int i = 0; i < inputs; i++) x[i] = (float)(i % 7) / 7.f;
            const float *y = dn_network_predict(net, x);
            if (!y) abort();
            if (dn_network_task(net) == DN_TASK_DETECTOR) {
                dn_detection *dets = NULL;
                int n = 0;
                st = dn_network_detections(net, 64, 48, .001f, 1, &dets, &n);
                fuzz_expect_reason(st);
                if (st == DN_OK) {
                    /* NMS is quadratic in the boxes that score, as Darknet's: a 128x128 region
                       grid (81,920 boxes) takes 12 s, so the harness leaves such outputs out */
                    if (n <= 8192) dn_detections_nms(dets, n, .45f);
                    dn_detections_free(dets, n);
                }
            }
            free(x);
        }
        int small = net->cfg_batch <= 8;
        dn_network_free(net);
        if (small) {
            st = dn_network_parse(path, -1, &net);
            fuzz_expect_reason(st);
            if (st == DN_OK) {
                st = dn_network_train_prepare(net);
                fuzz_expect_reason(st);
                dn_network_free(net);
            }
        }
    }
    fuzz_end();
    return 0;
}
