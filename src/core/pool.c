/* pool.c - a fixed pool of worker threads for the kernels. Workers spin briefly on a generation
 * counter before sleeping on a condition variable, so the many short parallel regions of a small
 * network (hundreds per forward pass) cost microseconds, not a futex round trip each. */
#include "core.h"

#include <pthread.h>
#include <stdatomic.h>

struct dn_pool {
    int n;                 /* threads including the caller */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;       /* bumped once per dn_pool_run */
    atomic_int pending;    /* workers still running the current job */
    atomic_int stop;
    dn_pool_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    dn_pool *p;
    int ith;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#define SPIN_ITERS 40000

static void *worker(void *arg)
{
    worker_arg *wa = arg;
    dn_pool *p = wa->p;
    int ith = wa->ith;
    dn_free(wa);
    unsigned seen = atomic_load(&p->gen);
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen &&
               !atomic_load(&p->stop) && spins < SPIN_ITERS) {
            cpu_relax();
            spins++;
        }
        if (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        p->fn(p->ctx, ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

dn_status dn_pool_create(int nthreads, dn_pool **out)
{
    *out = NULL;
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 256) nthreads = 256;
    dn_pool *p = dn_calloc(1, sizeof *p);
    if (!p) return DN_ERR_NOMEM;
    p->n = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    if (nthreads > 1) {
        p->th = dn_calloc((size_t)nthreads, sizeof(pthread_t));
        if (!p->th) {
            dn_pool_free(p);
            return DN_ERR_NOMEM;
        }
        for (int i = 1; i < nthreads; i++) {
            worker_arg *wa = dn_malloc(sizeof *wa);
            if (!wa || (wa->p = p, wa->ith = i, pthread_create(&p->th[i], NULL, worker, wa))) {
                dn_free(wa);
                p->n = i; /* threads 1..i-1 exist */
                dn_pool_free(p);
                return dn_error(DN_ERR_NOMEM, "cannot start thread %d of %d", i, nthreads);
            }
        }
    }
    *out = p;
    return DN_OK;
}

void dn_pool_free(dn_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n && p->th; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    dn_free(p->th);
    dn_free(p);
}

int dn_pool_size(const dn_pool *p) { return p ? p->n : 1; }

void dn_pool_run(dn_pool *p, dn_pool_fn fn, void *ctx)
{
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) cpu_relax();
}

void dn_split(int n, int ith, int nth, int *lo, int *hi)
{
    long q = (long)n * ith / nth, r = (long)n * (ith + 1) / nth;
    *lo = (int)q;
    *hi = (int)r;
}
