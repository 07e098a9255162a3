/* backward.c - the backward pass used for explanations: input gradients (deltas) only, from a
 * seeded layer down to a stop layer, for dbatch targets at once over one shared forward pass.
 * Delta buffers are allocated on the first call and grown only when more targets are asked
 * for; nothing else is allocated per call. */
#include "core.h"

#include <string.h>

dn_status dn_network_backward_prepare(dn_network *net, int stop, int top, int dbatch)
{
    if (stop < 0 || stop >= net->n) return dn_error(DN_ERR_RANGE, "layer %d is out of range 0..%d", stop, net->n - 1);
    if (dbatch < 1) return dn_error(DN_ERR_ARG, "no targets");
    for (int i = stop; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        if (l->delta_cap >= dbatch) continue;
        size_t n = dn_size_mul((size_t)l->outputs, (size_t)dbatch, DN_MAX_FLOATS);
        if (!n) return dn_error(DN_ERR_RANGE, "layer %d: %d targets need too much memory", i, dbatch);
        float *d = dn_alloc_floats(n, "delta", i);
        if (!d) return DN_ERR_NOMEM;
        dn_free(l->delta);
        l->delta = d;
        l->delta_cap = dbatch;
    }
    /* threads split the targets in the backward pass: one workspace slice each */
    size_t need = 0;
    for (int i = stop; i < net->n; i++)
        if (net->layers[i].workspace > need) need = net->layers[i].workspace;
    need = dn_size_mul(need ? need : 1, (size_t)dn_pool_size(net->pool), DN_MAX_FLOATS);
    if (dbatch > 1 && need > net->workspace_size) {
        float *w = dn_alloc_floats(need, "workspace", -1);
        if (w) {
            dn_free(net->workspace);
            net->workspace = w;
            net->workspace_size = need;
        }
    }
    /* only layers stop..top take part: the ones above never see a delta */
    if (top >= net->n) top = net->n - 1;
    for (int i = stop; i <= top; i++)
        memset(net->layers[i].delta, 0, (size_t)net->layers[i].outputs * dbatch * sizeof(float));
    return DN_OK;
}

void dn_network_backward(dn_network *net, int from, int stop, int dbatch)
{
    dn_run r = {net, NULL, NULL, dbatch, 0, stop};
    for (int i = from; i > stop; i--) {
        dn_layer *l = &net->layers[i];
        r.input = net->layers[i - 1].output;
        r.input_delta = net->layers[i - 1].delta;
        l->ops->backward(l, &r);
    }
}
