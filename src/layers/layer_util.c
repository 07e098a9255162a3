/* layer_util.c - helpers shared by the layer files (see layer_util.h). */
#include "layer_util.h"

#include <stdarg.h>

dn_status layer_fail(dn_status code, const dn_cfg *cfg, const dn_section *s, const dn_layer *l,
                     const char *key, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dn_error(code, "%s:%d: layer %d [%s]: %s", cfg->path, key ? dn_sec_line(s, key) : s->line,
                    l->index, s->type, msg);
}

dn_status layer_activation(const dn_cfg *cfg, dn_section *s, const dn_layer *l, const char *def,
                           dn_activation *out)
{
    const char *a = dn_sec_str(s, "activation");
    if (!a) a = def;
    int v = dn_activation_parse(a);
    if (v < 0) return LAYER_FAIL(DN_ERR_PARSE, "activation", "unknown activation '%s'", a);
    *out = (dn_activation)v;
    return DN_OK;
}

dn_status layer_alloc_output(dn_layer *l)
{
    size_t n = dn_size_mul((size_t)l->out_w * l->out_h, (size_t)l->out_c, DN_MAX_FLOATS);
    n = dn_size_mul(n, (size_t)l->batch, DN_MAX_FLOATS);
    if (!n)
        return dn_error(DN_ERR_RANGE, "layer %d [%s]: output %d x %d x %d is out of range",
                        l->index, l->ops->name, l->out_w, l->out_h, l->out_c);
    l->output = dn_alloc_floats(n, "output", l->index);
    return l->output ? DN_OK : DN_ERR_NOMEM;
}

dn_status layer_write(FILE *f, const float *x, size_t n)
{
    return fwrite(x, sizeof(float), n, f) == n ? DN_OK : dn_error(DN_ERR_IO, "short write");
}

void layer_rand_normal(uint64_t *rng, float *x, size_t n, float mean, float sd)
{
    for (size_t i = 0; i < n; i++) x[i] = mean + sd * dn_rng_normal(rng);
}

void layer_rand_uniform(uint64_t *rng, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * dn_rng_uniform(rng);
}
