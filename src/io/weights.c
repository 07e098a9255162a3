/* weights.c - Darknet .weights files: header (major, minor, revision, seen as 32 or 64 bits),
 * then each layer's floats in cfg order. Short files fail naming the layer; long files load
 * and report the unread bytes (Darknet's partial loading); a prefix file (`darknet partial`) may
 * end between two layers when loaded as a pretrained backbone. Saving is atomic (tmp + rename). */
#include "core/core.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

dn_status dn_wread(dn_wreader *r, float *dst, size_t n)
{
    size_t got = fread(dst, sizeof(float), n, r->f);
    if (got != n) {
        r->eof = 1;
        return dn_error(DN_ERR_FORMAT, "%s: file ends inside layer %d: %zu of %zu floats read",
                        r->path, r->layer, got, n);
    }
    return DN_OK;
}

static dn_status load_weights(dn_network *net, const char *path, long *extra_bytes, int *prefix)
{
    if (extra_bytes) *extra_bytes = 0;
    if (prefix) *prefix = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot open weights: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return dn_error(DN_ERR_IO, "%s: not a regular file", path);
    }
    int32_t hdr[3];
    if (fread(hdr, sizeof(int32_t), 3, f) != 3) {
        fclose(f);
        return dn_error(DN_ERR_FORMAT, "%s: too short for a weights header", path);
    }
    net->major = hdr[0];
    net->minor = hdr[1];
    net->revision = hdr[2];
    /* 64-bit arithmetic: the header's ints are arbitrary */
    if ((int64_t)net->major * 10 + net->minor >= 2 && net->major < 1000 && net->minor < 1000) {
        uint64_t seen;
        if (fread(&seen, sizeof seen, 1, f) != 1) {
            fclose(f);
            return dn_error(DN_ERR_FORMAT, "%s: too short for a weights header", path);
        }
        net->seen = seen;
    } else {
        uint32_t seen;
        if (fread(&seen, sizeof seen, 1, f) != 1) {
            fclose(f);
            return dn_error(DN_ERR_FORMAT, "%s: too short for a weights header", path);
        }
        net->seen = seen;
    }
    dn_wreader r = {f, path, net->major > 1000 || net->minor > 1000, 0, 0};
    for (int i = 0; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        if (prefix) *prefix = i;
        if (!l->ops->load_weights) continue;
        if (prefix && ftell(f) == (long)sb.st_size) {
            fclose(f);
            return DN_OK; /* a prefix file ends between two layers */
        }
        r.layer = i;
        dn_status st = l->ops->load_weights(l, &r);
        if (st != DN_OK) {
            if (r.eof)
                dn_error(DN_ERR_FORMAT, "%s: file ends in layer %d [%s] (cfg line %d): it needs %d floats",
                         path, i, l->ops->name, l->cfg_line, l->nweights);
            fclose(f);
            return st;
        }
    }
    if (prefix) *prefix = net->n;
    long pos = ftell(f);
    fclose(f);
    if (extra_bytes && pos >= 0 && sb.st_size > pos) *extra_bytes = (long)(sb.st_size - pos);
    return DN_OK;
}

dn_status dn_network_load_weights(dn_network *net, const char *path, long *extra_bytes)
{
    return load_weights(net, path, extra_bytes, NULL);
}

dn_status dn_network_load_weights_prefix(dn_network *net, const char *path, int *layers_loaded,
                                         long *extra_bytes)
{
    int n = 0;
    dn_status st = load_weights(net, path, extra_bytes, &n);
    if (layers_loaded) *layers_loaded = n;
    return st;
}

dn_status dn_network_save_weights(const dn_network *net, const char *path)
{
    return dn_network_save_weights_prefix(net, path, net->n);
}

dn_status dn_network_save_weights_prefix(const dn_network *net, const char *path, int n)
{
    if (n < 0 || n > net->n) return dn_error(DN_ERR_ARG, "%s: %d layers asked of a network with %d", path, n, net->n);
    dn_afile a;
    dn_status st = dn_afile_open(&a, path);
    if (st != DN_OK) return dn_error(st, "%s: cannot write weights: %s", path, strerror(errno));
    int32_t hdr[3] = {0, 2, 0};
    uint64_t seen = net->seen;
    if (fwrite(hdr, sizeof hdr, 1, a.f) != 1 || fwrite(&seen, sizeof seen, 1, a.f) != 1) st = DN_ERR_IO;
    for (int i = 0; st == DN_OK && i < n; i++) {
        const dn_layer *l = &net->layers[i];
        if (l->ops->save_weights) st = l->ops->save_weights(l, a.f);
    }
    if (st != DN_OK) st = dn_error(DN_ERR_IO, "%s: cannot write weights: %s", path, strerror(errno));
    st = dn_afile_close(&a, st);
    if (st != DN_OK && !strstr(dn_last_error(), "weights")) {
        char keep[400];
        snprintf(keep, sizeof keep, "%s", dn_last_error());
        st = dn_error(st, "%s (cannot write weights)", keep);
    }
    return st;
}

void dn_network_randomize(dn_network *net, uint64_t seed, const float *input)
{
    uint64_t rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (int i = 0; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        if (l->ops->randomize) l->ops->randomize(l, &rng);
    }
    /* one forward pass on a noise image, then the heads calibrate their objectness prior */
    int heads = 0;
    for (int i = 1; i < net->n; i++) heads += net->layers[i].ops->random_prior != NULL;
    if (!heads) return;
    if (input) {
        dn_network_predict(net, input);
    } else {
        float *noise = dn_alloc_floats((size_t)net->inputs * net->batch, "input", -1);
        if (!noise) return;
        for (size_t k = 0; k < (size_t)net->inputs * net->batch; k++) noise[k] = dn_rng_uniform(&rng);
        dn_network_predict(net, noise);
        dn_free(noise);
    }
    for (int i = 1; i < net->n; i++)
        if (net->layers[i].ops->random_prior) net->layers[i].ops->random_prior(&net->layers[i], &net->layers[i - 1]);
}
