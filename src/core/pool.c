/* pool.c - a fixed pool of worker threads for the kernels. A job is split into as many slices
 * as the pool has threads; the caller and the workers claim slices from an atomic counter, so
 * a worker that the OS has not scheduled yet never stalls the caller (it runs the slices
 * itself). Workers spin briefly on the job counter before sleeping on a condition variable, so
 * the hundreds of short parallel regions of a forward pass cost microseconds each. A slice's
 * work depends only on its index, never on which thread runs it: results are identical for 1
 * and N threads. */
#include "core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

struct dn_pool {
    int n;                  /* slices per job = threads including the caller */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint64_t claim; /* (job generation << 32) | next slice */
    atomic_int done;        /* slices of the current job finished */
    atomic_int stop;
    dn_pool_fn fn;
    void *ctx;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#define SPIN_ITERS 20000

/* Claims and runs slices of job `gen` until none is left. */
static void run_slices(dn_pool *p, uint32_t gen)
{
    for (;;) {
        uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);
        if ((uint32_t)(c >> 32) != gen || (int)(uint32_t)c >= p->n) return;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        p->fn(p->ctx, (int)(uint32_t)c, p->n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker(void *arg)
{
    dn_pool *p = arg;
    /* the generation at creation: a worker that starts late still joins the job in flight */
    uint32_t seen = 0;
    for (;;) {
        int spins = 0;
        uint32_t g;
        while ((g = (uint32_t)(atomic_load_explicit(&p->claim, memory_order_acquire) >> 32)) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins > SPIN_ITERS) {
                pthread_mutex_lock(&p->mu);
                while ((uint32_t)(atomic_load(&p->claim) >> 32) == seen && !atomic_load(&p->stop))
                    pthread_cond_wait(&p->cv, &p->mu);
                pthread_mutex_unlock(&p->mu);
                spins = 0;
            } else if ((spins & 255) == 0) {
                sched_yield();
            } else {
                cpu_relax();
            }
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        run_slices(p, g);
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
    atomic_init(&p->claim, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->stop, 0);
    if (nthreads > 1) {
        p->th = dn_calloc((size_t)nthreads, sizeof(pthread_t));
        if (!p->th) {
            dn_pool_free(p);
            return DN_ERR_NOMEM;
        }
        for (int i = 1; i < nthreads; i++)
            if (pthread_create(&p->th[i], NULL, worker, p)) {
                p->n = i; /* threads 1..i-1 exist */
                dn_pool_free(p);
                return dn_error(DN_ERR_NOMEM, "cannot start thread %d of %d", i, nthreads);
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
    uint32_t gen = (uint32_t)(atomic_load(&p->claim) >> 32) + 1;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->claim, (uint64_t)gen << 32, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    run_slices(p, gen);
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < p->n) {
        if ((++spins & 255) == 0) sched_yield();
        else cpu_relax();
    }
}

void dn_split(int n, int ith, int nth, int *lo, int *hi)
{
    long q = (long)n * ith / nth, r = (long)n * (ith + 1) / nth;
    *lo = (int)q;
    *hi = (int)r;
}
