/* mem.c - checked allocation with an injectable failure (the N-th call fails) for tests, and
 * overflow-checked size arithmetic. */
#include "core.h"

#include <math.h>
#include <string.h>

static long g_fail_at;   /* countdown: the allocation that brings it to 0 fails */

void dn_mem_fail_at(long n) { g_fail_at = n; }

static int should_fail(void)
{
    if (g_fail_at <= 0) return 0;
    return --g_fail_at == 0;
}

void *dn_malloc(size_t n)
{
    void *p = should_fail() ? NULL : malloc(n ? n : 1);
    if (!p) dn_error(DN_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *dn_calloc(size_t count, size_t size)
{
    void *p = should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
    if (!p) dn_error(DN_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *dn_realloc(void *p, size_t n)
{
    void *q = should_fail() ? NULL : realloc(p, n ? n : 1);
    if (!q) dn_error(DN_ERR_NOMEM, "out of memory reallocating %zu bytes", n);
    return q;
}

char *dn_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dn_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void dn_free(void *p) { free(p); }

size_t dn_size_mul(size_t a, size_t b, size_t limit)
{
    if (a == 0 || b == 0) return 0;
    if (a > limit / b) return 0;
    return a * b;
}

float *dn_alloc_floats(size_t n, const char *what, int layer)
{
    if (n == 0 || n > DN_MAX_FLOATS) {
        dn_error(DN_ERR_RANGE, "layer %d: %s buffer of %zu floats is out of range", layer, what, n);
        return NULL;
    }
    float *p = dn_calloc(n, sizeof(float));
    if (!p) dn_error(DN_ERR_NOMEM, "layer %d: out of memory for %s (%zu floats)", layer, what, n);
    return p;
}

void dn_fill(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) x[i] = v;
}

void dn_axpy(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

uint64_t dn_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

float dn_rng_uniform(uint64_t *s) { return (float)((dn_rng_next(s) >> 40) * (1.0 / 16777216.0)); }

float dn_rng_normal(uint64_t *s)
{
    /* Box-Muller; u1 kept away from 0. */
    float u1 = dn_rng_uniform(s) * 0.999999f + 1e-7f, u2 = dn_rng_uniform(s);
    return sqrtf(-2.f * logf(u1)) * cosf(6.2831853f * u2);
}
