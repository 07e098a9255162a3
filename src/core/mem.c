/* mem.c - checked allocation with an injectable failure (the N-th call fails) for tests, and
 * overflow-checked size arithmetic. */
#include "core.h"

#include <math.h>
#include <string.h>

static long g_fail_at;   /* countdown: the allocation that brings it to 0 fails */
/* Bytes this thread may still request (SIZE_MAX: no budget). Thread-local, so the data
 * loader's thread and a network parse on another thread never share it. */
static _Thread_local size_t t_budget = SIZE_MAX;
static _Thread_local long t_calls; /* checked allocation calls made by this thread */

void dn_mem_fail_at(long n) { g_fail_at = n; }

size_t dn_mem_budget(size_t bytes)
{
    size_t old = t_budget;
    t_budget = bytes;
    return old;
}

size_t dn_mem_budget_left(void) { return t_budget; }

long dn_mem_calls(void) { return t_calls; }

/* Decides whether a request of n bytes fails: injected failure, or over the budget (which it
 * otherwise consumes). Records the reason. */
static int should_fail(size_t n)
{
    t_calls++;
    if (g_fail_at > 0 && --g_fail_at == 0) {
        dn_error(DN_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return 1;
    }
    if (t_budget != SIZE_MAX) {
        if (n > t_budget) {
            dn_error(DN_ERR_NOMEM, "allocating %zu bytes exceeds the memory limit (%zu bytes left)",
                     n, t_budget);
            return 1;
        }
        t_budget -= n;
    }
    return 0;
}

void *dn_malloc(size_t n)
{
    if (should_fail(n)) return NULL;
    void *p = malloc(n ? n : 1);
    if (!p) dn_error(DN_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *dn_calloc(size_t count, size_t size)
{
    if (count && size > SIZE_MAX / count) {
        dn_error(DN_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    if (should_fail(count * size)) return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) dn_error(DN_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *dn_realloc(void *p, size_t n)
{
    if (should_fail(n)) return NULL;
    void *q = realloc(p, n ? n : 1);
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
    if (n * sizeof(float) > t_budget) {
        dn_error(DN_ERR_RANGE, "layer %d: %s buffer of %zu floats exceeds the memory limit "
                 "(%zu MiB left)", layer, what, n, t_budget >> 20);
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
