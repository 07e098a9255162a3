/* activations.c - Darknet's activation functions (pjreddie's set plus AlexeyAB's relu6, mish,
 * swish, hard_mish) and their derivatives, with the same formulas and constants as Darknet. */
#include "core.h"

#include <math.h>
#include <string.h>

static const char *const act_names[DN_ACT_COUNT] = {
    "linear", "logistic", "loggy", "relu", "elu", "selu", "relie", "ramp", "leaky",
    "tanh", "plse", "stair", "hardtan", "lhtan", "relu6", "mish", "swish", "hard_mish",
};
_Static_assert(sizeof act_names / sizeof act_names[0] == DN_ACT_COUNT, "activation names");

int dn_activation_parse(const char *name)
{
    for (int i = 0; i < DN_ACT_COUNT; i++)
        if (!strcmp(name, act_names[i])) return i;
    return -1;
}

const char *dn_activation_name(dn_activation a)
{
    return (unsigned)a < DN_ACT_COUNT ? act_names[a] : "?";
}

int dn_activation_needs_input(dn_activation a)
{
    return a == DN_ACT_MISH || a == DN_ACT_SWISH || a == DN_ACT_HARD_MISH;
}

static inline float softplus(float x)
{
    /* AlexeyAB's thresholded softplus */
    if (x > 20.f) return x;
    if (x < -20.f) return expf(x);
    return log1pf(expf(x));
}

static inline float act1(float x, dn_activation a)
{
    switch (a) {
    case DN_ACT_LINEAR: return x;
    case DN_ACT_LOGISTIC: return 1.f / (1.f + expf(-x));
    case DN_ACT_LOGGY: return 2.f / (1.f + expf(-x)) - 1.f;
    case DN_ACT_RELU: return x * (x > 0);
    case DN_ACT_ELU: return (x >= 0) * x + (x < 0) * (expf(x) - 1.f);
    case DN_ACT_SELU: return (x >= 0) * 1.0507f * x + (x < 0) * 1.0507f * 1.6732f * (expf(x) - 1.f);
    case DN_ACT_RELIE: return x > 0 ? x : .01f * x;
    case DN_ACT_RAMP: return x * (x > 0) + .1f * x;
    case DN_ACT_LEAKY: return x > 0 ? x : .1f * x;
    case DN_ACT_TANH: return (expf(2 * x) - 1) / (expf(2 * x) + 1);
    case DN_ACT_PLSE:
        if (x < -4) return .01f * (x + 4);
        if (x > 4) return .01f * (x - 4) + 1;
        return .125f * x + .5f;
    case DN_ACT_STAIR: {
        int n = (int)floorf(x);
        if (n % 2 == 0) return floorf(x / 2.f);
        return (x - n) + floorf(x / 2.f);
    }
    case DN_ACT_HARDTAN: return x < -1 ? -1.f : (x > 1 ? 1.f : x);
    case DN_ACT_LHTAN:
        if (x < 0) return .001f * x;
        if (x > 1) return .001f * (x - 1) + 1;
        return x;
    case DN_ACT_RELU6: return x < 0 ? 0.f : (x > 6 ? 6.f : x);
    case DN_ACT_MISH: return x * tanhf(softplus(x));
    case DN_ACT_SWISH: return x / (1.f + expf(-x));
    case DN_ACT_HARD_MISH:
        if (x > 0) return x;
        if (x > -2) return x * x / 2 + x;
        return 0.f;
    case DN_ACT_COUNT: break;
    }
    return x;
}

static inline float grad1(float y, float x, dn_activation a)
{
    switch (a) {
    case DN_ACT_LINEAR: return 1;
    case DN_ACT_LOGISTIC: return (1 - y) * y;
    case DN_ACT_LOGGY: {
        float t = (y + 1) / 2;
        return 2 * (1 - t) * t;
    }
    case DN_ACT_RELU: return y > 0;
    case DN_ACT_ELU: return (y >= 0) + (y < 0) * (y + 1);
    case DN_ACT_SELU: return (y >= 0) * 1.0507f + (y < 0) * (y + 1.0507f * 1.6732f);
    case DN_ACT_RELIE: return y > 0 ? 1 : .01f;
    case DN_ACT_RAMP: return (y > 0) + .1f;
    case DN_ACT_LEAKY: return y > 0 ? 1 : .1f;
    case DN_ACT_TANH: return 1 - y * y;
    case DN_ACT_PLSE: return (y < 0 || y > 1) ? .01f : .125f;
    case DN_ACT_STAIR: return floorf(y) == y ? 0 : 1;
    case DN_ACT_HARDTAN: return (y > -1 && y < 1) ? 1 : 0;
    case DN_ACT_LHTAN: return (y > 0 && y < 1) ? 1 : .001f;
    case DN_ACT_RELU6: return (y > 0 && y < 6) ? 1 : 0;
    case DN_ACT_MISH: {
        float sp = softplus(x), t = tanhf(sp), s = 1.f / (1.f + expf(-x));
        return t + x * (1 - t * t) * s;
    }
    case DN_ACT_SWISH: {
        float s = 1.f / (1.f + expf(-x));
        return s + x * s * (1 - s);
    }
    case DN_ACT_HARD_MISH:
        if (x > 0) return 1;
        if (x > -2) return x + 1;
        return 0;
    case DN_ACT_COUNT: break;
    }
    return 1;
}

/* Activates x[0..n) in place. Leaky and linear get tight loops the compiler vectorises. */
static void activate_range(float *x, size_t n, dn_activation a)
{
    if (a == DN_ACT_LINEAR) return;
    if (a == DN_ACT_LEAKY) {
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : .1f * x[i];
        return;
    }
    if (a == DN_ACT_RELU) {
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0.f;
        return;
    }
    for (size_t i = 0; i < n; i++) x[i] = act1(x[i], a);
}

typedef struct act_job {
    float *x;
    size_t n;
    dn_activation a;
} act_job;

static void act_task(void *ctx, int ith, int nth)
{
    act_job *j = ctx;
    size_t lo = j->n * ith / nth, hi = j->n * (ith + 1) / nth;
    activate_range(j->x + lo, hi - lo, j->a);
}

void dn_activate(dn_pool *pool, float *x, size_t n, dn_activation a)
{
    if (a == DN_ACT_LINEAR) return;
    act_job j = {x, n, a};
    if (pool && n > 65536)
        dn_pool_run(pool, act_task, &j);
    else
        activate_range(x, n, a);
}

/* Exposed for the layers that fuse bias + activation in one pass. */
float dn_activate1(float x, dn_activation a) { return act1(x, a); }

void dn_gradient(const float *y, const float *x, size_t n, dn_activation a, float *delta)
{
    if (a == DN_ACT_LINEAR) return;
    if (a == DN_ACT_LEAKY) {
        for (size_t i = 0; i < n; i++) delta[i] *= y[i] > 0 ? 1.f : .1f;
        return;
    }
    if (a == DN_ACT_RELU) {
        for (size_t i = 0; i < n; i++) delta[i] *= y[i] > 0 ? 1.f : 0.f;
        return;
    }
    if (a == DN_ACT_LOGISTIC) {
        for (size_t i = 0; i < n; i++) delta[i] *= (1 - y[i]) * y[i];
        return;
    }
    for (size_t i = 0; i < n; i++) delta[i] *= grad1(y[i], x ? x[i] : 0.f, a);
}
