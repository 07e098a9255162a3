/* network.c - builds a network from a parsed cfg ([net] first, then one layer per section),
 * runs the forward pass, prints Darknet's layer table, and answers shape queries. */
#include "core.h"

#include <string.h>
#include <unistd.h>

static dn_status parse_net_section(dn_network *net, const dn_cfg *cfg, dn_section *s, int batch)
{
    dn_status st;
    int b, sub;
#define GETI(k, d, dst) if ((st = dn_sec_int(cfg, s, k, d, dst)) != DN_OK) return st
#define GETF(k, d, dst) if ((st = dn_sec_float(cfg, s, k, d, dst)) != DN_OK) return st
    GETI("batch", 1, &b);
    GETI("subdivisions", 1, &sub);
    GETI("width", 0, &net->w);
    GETI("height", 0, &net->h);
    GETI("channels", 0, &net->c);
    GETF("learning_rate", .001f, &net->learning_rate);
    GETF("momentum", .9f, &net->momentum);
    GETF("decay", .0001f, &net->decay);
    GETI("adam", 0, &net->adam);
    GETF("B1", .9f, &net->B1);
    GETF("B2", .999f, &net->B2);
    GETF("eps", .0000001f, &net->eps);
    GETI("max_batches", 0, &net->max_batches);
    GETI("burn_in", 0, &net->burn_in);
    GETF("angle", 0, &net->angle);
    GETF("saturation", 1, &net->saturation);
    GETF("exposure", 1, &net->exposure);
    GETF("hue", 0, &net->hue);
    GETF("aspect", 1, &net->aspect);
    GETF("jitter", -1, &net->jitter); /* unset: the trainer picks .2 (detector) or .1 */
    GETF("power", 4, &net->power);
    GETF("gamma", 1, &net->gamma);
    GETF("scale", 1, &net->scale);
    GETI("step", 1, &net->step);
    GETI("time_steps", 1, &net->time_steps);
    GETI("letter_box", 0, &net->letter_box);
#undef GETI
#undef GETF
    if ((st = dn_sec_int_list(cfg, s, "steps", &net->steps, &net->num_steps)) != DN_OK) return st;
    int nscales = 0;
    if ((st = dn_sec_float_list(cfg, s, "scales", &net->scales, &nscales)) != DN_OK) return st;
    if (net->num_steps != nscales && net->steps && net->scales)
        return dn_error(DN_ERR_PARSE, "%s:%d: 'steps' has %d items but 'scales' has %d", cfg->path,
                        dn_sec_line(s, "scales"), net->num_steps, nscales);
    const char *pol = dn_sec_str(s, "policy");
    net->policy = 0;
    if (pol) {
        static const char *const names[] = {"constant", "step", "exp", "poly", "steps", "sig",
                                            "random", "sgdr"};
        int found = -1;
        for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
            if (!strcmp(pol, names[i])) found = i;
        if (found < 0)
            return dn_error(DN_ERR_PARSE, "%s:%d: unknown policy '%s'", cfg->path,
                            dn_sec_line(s, "policy"), pol);
        net->policy = found;
    }
    /* keys some public cfgs carry that only matter to other tools; read so they are not warned */
    static const char *const quiet[] = {"max_crop", "min_crop", "mosaic", "flip", "blur",
        "mixup", "cutmix", "letter_box", "inputs", "random",
        "label_smooth_eps", "resize", "nms_kind", "beta_nms", "max_chart_loss", "track",
        "augment_speed", "sequential_subdivisions", "try_fix_nan", "loss_scale", "dynamic_minibatch",
        "optimized_memory", "workspace_size_limit_MB", "center", "hue_thresh", "gaussian_noise",
        "mosaic_bound", "contrastive", "unsupervised", "label_smooth", "momentum", "clip"};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) dn_sec_str(s, quiet[i]);
    if (net->adam && !(net->B1 >= 0 && net->B1 < 1 && net->B2 >= 0 && net->B2 < 1 && net->eps > 0))
        return dn_error(DN_ERR_RANGE, "%s:%d: adam needs 0 <= B1, B2 < 1 and eps > 0", cfg->path,
                        dn_sec_line(s, "adam"));
    if (b < 1 || sub < 1)
        return dn_error(DN_ERR_RANGE, "%s:%d: batch and subdivisions must be positive", cfg->path,
                        s->line);
    net->subdivisions = sub;
    net->cfg_batch = b;
    if (batch < 0) {
        /* training: each step runs batch/subdivisions images */
        if (b % sub)
            return dn_error(DN_ERR_RANGE, "%s:%d: batch=%d is not divisible by subdivisions=%d", cfg->path,
                            dn_sec_line(s, "subdivisions"), b, sub);
        net->batch = b / sub;
    } else {
        net->batch = batch > 0 ? batch : 1;
    }
    if (net->w < 1 || net->h < 1 || net->c < 1 || net->w > DN_MAX_SIDE || net->h > DN_MAX_SIDE ||
        net->c > 4096) {
        int inputs = 0;
        dn_sec_int(cfg, s, "inputs", 0, &inputs);
        if (inputs > 0 && net->w == 0 && net->h == 0 && net->c == 0) {
            net->w = net->h = 1;
            net->c = inputs;
        } else {
            return dn_error(DN_ERR_RANGE,
                            "%s:%d: [net] needs width, height, channels in 1..%d (got %d x %d x %d)",
                            cfg->path, s->line, DN_MAX_SIDE, net->w, net->h, net->c);
        }
    }
    net->inputs = net->w * net->h * net->c;
    if ((size_t)net->inputs * net->batch > DN_MAX_FLOATS)
        return dn_error(DN_ERR_RANGE, "%s:%d: input %d x %d x %d is too large", cfg->path, s->line,
                        net->w, net->h, net->c);
    return DN_OK;
}

static void warn_unused(const dn_cfg *cfg)
{
    for (int i = 0; i < cfg->nsec; i++)
        for (int k = 0; k < cfg->sec[i].nkv; k++)
            if (!cfg->sec[i].kv[k].used)
                dn_warn("%s:%d: unused key '%s' in [%s]", cfg->path, cfg->sec[i].kv[k].line,
                        cfg->sec[i].kv[k].key, cfg->sec[i].type);
}

static dn_status network_parse(const char *cfg_path, int batch, dn_network **out)
{
    dn_cfg *cfg;
    dn_status st = dn_cfg_read(cfg_path, &cfg);
    if (st != DN_OK) return st;
    dn_network *net = dn_calloc(1, sizeof *net);
    if (!net) {
        dn_cfg_free(cfg);
        return DN_ERR_NOMEM;
    }
    net->cfg_path = dn_strdup(cfg_path);
    if (!net->cfg_path) {
        st = DN_ERR_NOMEM;
        goto fail;
    }
    dn_section *first = &cfg->sec[0];
    if (strcmp(first->type, "net") && strcmp(first->type, "network")) {
        st = dn_error(DN_ERR_PARSE, "%s:%d: the first section must be [net], got [%s]", cfg_path,
                      first->line, first->type);
        goto fail;
    }
    if ((st = parse_net_section(net, cfg, first, batch)) != DN_OK) goto fail;
    int nl = cfg->nsec - 1;
    if (nl < 1) {
        st = dn_error(DN_ERR_PARSE, "%s: no layers after [net]", cfg_path);
        goto fail;
    }
    net->layers = dn_calloc((size_t)nl, sizeof(dn_layer));
    if (!net->layers) {
        st = DN_ERR_NOMEM;
        goto fail;
    }
    for (int i = 0; i < nl; i++) {
        dn_section *s = &cfg->sec[i + 1];
        dn_layer *l = &net->layers[i];
        const dn_layer_ops *ops = dn_layer_ops_find(s->type);
        if (!ops) {
            if (!strcmp(s->type, "net") || !strcmp(s->type, "network"))
                st = dn_error(DN_ERR_PARSE, "%s:%d: [%s] may only be the first section", cfg_path,
                              s->line, s->type);
            else
                st = dn_error(DN_ERR_PARSE, "%s:%d: unknown section [%s]", cfg_path, s->line,
                              s->type);
            goto fail;
        }
        l->ops = ops;
        l->index = i;
        l->cfg_line = s->line;
        l->batch = net->batch;
        if (i == 0) {
            l->w = net->w;
            l->h = net->h;
            l->c = net->c;
        } else {
            l->w = net->layers[i - 1].out_w;
            l->h = net->layers[i - 1].out_h;
            l->c = net->layers[i - 1].out_c;
        }
        l->inputs = l->w * l->h * l->c;
        net->n = i + 1; /* layers 0..i are destroyed on failure */
        st = ops->create(l, net, cfg, s);
        if (st == DN_OK && (st = dn_sec_int(cfg, s, "stopbackward", 0, &l->stopbackward)) == DN_OK &&
            l->stopbackward < 0)
            st = dn_error(DN_ERR_RANGE, "%s:%d: stopbackward=%d must be >= 0", cfg_path,
                          dn_sec_line(s, "stopbackward"), l->stopbackward);
        if (st != DN_OK) {
            /* make sure the message names the cfg file and line */
            const char *msg = dn_last_error();
            if (strncmp(msg, cfg_path, strlen(cfg_path)) != 0) {
                char keep[512];
                snprintf(keep, sizeof keep, "%s", msg);
                dn_error(st, "%s:%d: %s", cfg_path, s->line, keep);
            }
            goto fail;
        }
        if (l->out_w < 1 || l->out_h < 1 || l->out_c < 1) {
            st = dn_error(DN_ERR_RANGE, "%s:%d: layer %d [%s] has an empty output (%d x %d x %d)",
                          cfg_path, s->line, i, s->type, l->out_w, l->out_h, l->out_c);
            goto fail;
        }
        l->outputs = l->out_w * l->out_h * l->out_c;
        if (l->workspace > net->workspace_size) net->workspace_size = l->workspace;
    }
    if (net->workspace_size) {
        net->workspace = dn_alloc_floats(net->workspace_size, "workspace", -1);
        if (!net->workspace) {
            st = DN_ERR_NOMEM;
            goto fail;
        }
    }
    if ((st = dn_pool_create((int)sysconf(_SC_NPROCESSORS_ONLN), &net->pool)) != DN_OK) goto fail;
    dn_gemm_set_threads(1);
    warn_unused(cfg);
    dn_cfg_free(cfg);
    *out = net;
    return DN_OK;
fail:
    dn_cfg_free(cfg);
    dn_network_free(net);
    return st;
}

dn_status dn_network_parse(const char *cfg_path, int batch, dn_network **out)
{
    *out = NULL;
    /* building is capped at DN_MAX_NET_BYTES (or the caller's smaller budget); what it used is
       then charged to the caller's budget */
    size_t outer = dn_mem_budget_left();
    size_t cap = outer < DN_MAX_NET_BYTES ? outer : DN_MAX_NET_BYTES;
    dn_mem_budget(cap);
    dn_status st = network_parse(cfg_path, batch, out);
    size_t used = cap - dn_mem_budget_left();
    dn_mem_budget(outer == SIZE_MAX ? SIZE_MAX : outer - used);
    return st;
}

void dn_network_free(dn_network *net)
{
    if (!net) return;
    for (int i = 0; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        if (l->ops && l->ops->destroy) l->ops->destroy(l);
        dn_free(l->output);
        dn_free(l->delta);
    }
    if (net->adam_m)
        for (int i = 0; i < 3 * net->n; i++) {
            dn_free(net->adam_m[i]);
            dn_free(net->adam_v[i]);
        }
    dn_free(net->adam_m);
    dn_free(net->adam_v);
    dn_free(net->layers);
    dn_free(net->workspace);
    dn_pool_free(net->pool);
    dn_free(net->steps);
    dn_free(net->scales);
    dn_free(net->cfg_path);
    dn_free(net);
}

void dn_network_set_threads(dn_network *net, int n)
{
    if (n < 1) n = 1;
    if (net->pool && dn_pool_size(net->pool) == n) return;
    dn_pool *p;
    if (dn_pool_create(n, &p) != DN_OK) return; /* keep the old pool */
    dn_pool_free(net->pool);
    net->pool = p;
}

const float *dn_network_predict(dn_network *net, const float *input)
{
    dn_run r = {net, input, NULL, 1, 0, 0};
    for (int i = 0; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        l->ops->forward(l, &r);
        r.input = l->output;
    }
    return net->layers[net->n - 1].output;
}

void dn_network_forward_from(dn_network *net, int start, const float *input)
{
    dn_run r = {net, start == 0 ? input : net->layers[start - 1].output, NULL, 1, 0, 0};
    for (int i = start; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        l->ops->forward(l, &r);
        r.input = l->output;
    }
}

void dn_network_print(const dn_network *net, FILE *f)
{
    fprintf(f, "layer     filters    size              input                output\n");
    char buf[256];
    for (int i = 0; i < net->n; i++) {
        const dn_layer *l = &net->layers[i];
        buf[0] = 0;
        l->ops->describe(l, buf, sizeof buf);
        fprintf(f, "%5d %s\n", i, buf);
    }
    fprintf(f, "Total BFLOPS %.3f\n", dn_network_bflops(net));
}

double dn_network_bflops(const dn_network *net)
{
    double t = 0;
    for (int i = 0; i < net->n; i++) t += net->layers[i].bflops;
    return t;
}

int dn_network_width(const dn_network *net) { return net->w; }
int dn_network_height(const dn_network *net) { return net->h; }
int dn_network_channels(const dn_network *net) { return net->c; }
int dn_network_batch(const dn_network *net) { return net->batch; }
int dn_network_letterbox(const dn_network *net) { return net->letter_box; }
int dn_network_layers(const dn_network *net) { return net->n; }
int dn_network_outputs(const dn_network *net) { return net->layers[net->n - 1].outputs; }

dn_task dn_network_task(const dn_network *net)
{
    for (int i = 0; i < net->n; i++)
        if (net->layers[i].ops->detect) return DN_TASK_DETECTOR;
    return DN_TASK_CLASSIFIER;
}

int dn_network_classes(const dn_network *net)
{
    for (int i = net->n - 1; i >= 0; i--)
        if (net->layers[i].classes) return net->layers[i].classes;
    return net->layers[net->n - 1].outputs;
}

const float *dn_network_layer_output(const dn_network *net, int i, int *c, int *h, int *w)
{
    if (i < 0 || i >= net->n) return NULL;
    const dn_layer *l = &net->layers[i];
    if (c) *c = l->out_c;
    if (h) *h = l->out_h;
    if (w) *w = l->out_w;
    return l->output;
}

const char *dn_network_layer_type(const dn_network *net, int i)
{
    if (i < 0 || i >= net->n) return NULL;
    return net->layers[i].ops->name;
}

int dn_layer_ref(const dn_cfg *cfg, const dn_section *s, const char *key, int idx, int self)
{
    int abs_idx = idx < 0 ? self + idx : idx;
    if (abs_idx < 0 || abs_idx >= self) {
        dn_error(DN_ERR_RANGE, "%s:%d: layer %d [%s]: %s=%d refers to layer %d, outside 0..%d",
                 cfg->path, dn_sec_line(s, key), self, s->type, key, idx, abs_idx, self - 1);
        return -1;
    }
    return abs_idx;
}

dn_status dn_network_load(const char *cfg_path, const char *weights_path, int batch,
                          dn_network **out)
{
    dn_status st = dn_network_parse(cfg_path, batch, out);
    if (st != DN_OK || !weights_path) return st;
    long extra = 0;
    st = dn_network_load_weights(*out, weights_path, &extra);
    if (st != DN_OK) {
        dn_network_free(*out);
        *out = NULL;
        return st;
    }
    if (extra > 0)
        dn_warn("%s: %ld bytes after the last layer were not used (file longer than the cfg needs)",
                weights_path, extra);
    return DN_OK;
}
