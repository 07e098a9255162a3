/* route.c - [route]: concatenates the outputs of earlier layers along channels (negative
 * indices are relative); with groups/group_id (AlexeyAB) each source contributes only its
 * group_id-th slice of channels. */
#include "layer_util.h"

typedef struct route {
    int n;
    int *src;    /* (n) absolute layer indices */
    int groups, group_id;
} route;

static dn_status route_create(dn_layer *l, dn_network *net, const dn_cfg *cfg, dn_section *s)
{
    route *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    l->priv = p;
    dn_status st = dn_sec_int_list(cfg, s, "layers", &p->src, &p->n);
    if (st != DN_OK) return st;
    if (p->n < 1) return LAYER_FAIL(DN_ERR_PARSE, NULL, "[route] needs layers=");
    GET_INT("groups", 1, &p->groups);
    GET_INT("group_id", 0, &p->group_id);
    if (p->groups < 1 || p->group_id < 0 || p->group_id >= p->groups)
        return LAYER_FAIL(DN_ERR_RANGE, "groups", "groups=%d group_id=%d are inconsistent", p->groups, p->group_id);
    l->out_c = 0;
    for (int i = 0; i < p->n; i++) {
        int idx = dn_layer_ref(cfg, s, "layers", p->src[i], l->index);
        if (idx < 0) return DN_ERR_RANGE;
        p->src[i] = idx;
        const dn_layer *src = &net->layers[idx];
        if (i == 0) {
            l->out_w = src->out_w;
            l->out_h = src->out_h;
        } else if (src->out_w != l->out_w || src->out_h != l->out_h) {
            return LAYER_FAIL(DN_ERR_RANGE, "layers",
                              "layer %d is %d x %d but layer %d is %d x %d: route inputs must match",
                              idx, src->out_w, src->out_h, p->src[0], l->out_w, l->out_h);
        }
        if (src->out_c % p->groups)
            return LAYER_FAIL(DN_ERR_RANGE, "groups", "groups=%d does not divide layer %d's %d channels",
                              p->groups, idx, src->out_c);
        l->out_c += src->out_c / p->groups;
    }
    l->w = l->out_w;
    l->h = l->out_h;
    l->c = l->out_c;
    l->inputs = l->out_w * l->out_h * l->out_c;
    l->spatial = l->out_w > 1 || l->out_h > 1;
    return layer_alloc_output(l);
}

static void route_forward(dn_layer *l, const dn_run *r)
{
    route *p = l->priv;
    const int hw = l->out_w * l->out_h;
    for (int b = 0; b < l->batch; b++) {
        float *out = l->output + (size_t)b * l->outputs;
        for (int i = 0; i < p->n; i++) {
            const dn_layer *src = &r->net->layers[p->src[i]];
            int part = src->out_c / p->groups * hw;
            memcpy(out, src->output + (size_t)b * src->outputs + (size_t)p->group_id * part,
                   (size_t)part * sizeof(float));
            out += part;
        }
    }
}

static void route_backward(dn_layer *l, const dn_run *r)
{
    route *p = l->priv;
    const int hw = l->out_w * l->out_h;
    for (int d = 0; d < r->dbatch; d++) {
        const float *dl = l->delta + (size_t)d * l->outputs;
        for (int i = 0; i < p->n; i++) {
            dn_layer *src = &r->net->layers[p->src[i]];
            int part = src->out_c / p->groups * hw;
            float *sd = dn_run_delta(r, r->net->layers, p->src[i]);
            if (sd) dn_axpy((size_t)part, 1.f, dl, sd + (size_t)d * src->outputs + (size_t)p->group_id * part);
            dl += part;
        }
    }
}

static void route_describe(const dn_layer *l, char *buf, size_t n)
{
    const route *p = l->priv;
    int k = snprintf(buf, n, "route ");
    for (int i = 0; i < p->n && k > 0 && (size_t)k < n; i++) k += snprintf(buf + k, n - k, " %d", p->src[i]);
    if (p->groups > 1 && k > 0 && (size_t)k < n) snprintf(buf + k, n - k, "  (group %d/%d)", p->group_id, p->groups);
}

static void route_destroy(dn_layer *l)
{
    route *p = l->priv;
    if (p) dn_free(p->src);
    dn_free(p);
    l->priv = NULL;
}

const dn_layer_ops dn_route_ops = {
    .name = "route",
    .create = route_create,
    .forward = route_forward,
    .backward = route_backward,
    .describe = route_describe,
    .destroy = route_destroy,
};
