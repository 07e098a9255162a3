/* gemm.c - single-precision GEMM, row-major: C = alpha*op(A)*op(B) + beta*C. With OPENBLAS=1 each
 * pool thread calls single-threaded OpenBLAS on fixed blocks of C, so one thread pool drives the
 * whole machine and results do not depend on the thread count; without it a portable kernel
 * does the same blocks. */
#include "core.h"

#include <string.h>
#ifdef DN_OPENBLAS
#include <cblas.h>
#endif

typedef struct gemm_job {
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    int lda, ldb, ldc;
    float *C;
    int split_n; /* slices over columns of C (else rows) */
} gemm_job;

#ifndef DN_OPENBLAS
/* Portable kernel for a block of rows [m0,m1) and columns [n0,n1). */
static void gemm_portable(const gemm_job *j, int m0, int m1, int n0, int n1)
{
    for (int i = m0; i < m1; i++) {
        float *c = j->C + (size_t)i * j->ldc;
        if (j->beta == 0.f)
            for (int n = n0; n < n1; n++) c[n] = 0.f;
        else if (j->beta != 1.f)
            for (int n = n0; n < n1; n++) c[n] *= j->beta;
    }
    const int KB = 256;
    for (int k0 = 0; k0 < j->K; k0 += KB) {
        int k1 = k0 + KB < j->K ? k0 + KB : j->K;
        for (int i = m0; i < m1; i++) {
            float *c = j->C + (size_t)i * j->ldc;
            for (int k = k0; k < k1; k++) {
                float a = j->ta ? j->A[(size_t)k * j->lda + i] : j->A[(size_t)i * j->lda + k];
                a *= j->alpha;
                if (a == 0.f) continue;
                if (!j->tb) {
                    const float *b = j->B + (size_t)k * j->ldb;
                    for (int n = n0; n < n1; n++) c[n] += a * b[n];
                } else {
                    for (int n = n0; n < n1; n++) c[n] += a * j->B[(size_t)n * j->ldb + k];
                }
            }
        }
    }
}
#endif

static void gemm_slice(const gemm_job *j, int m0, int m1, int n0, int n1)
{
    if (m1 <= m0 || n1 <= n0) return;
#ifdef DN_OPENBLAS
    const float *A = j->ta ? j->A + m0 : j->A + (size_t)m0 * j->lda;
    const float *B = j->tb ? j->B + (size_t)n0 * j->ldb : j->B + n0;
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                m1 - m0, n1 - n0, j->K, j->alpha, A, j->lda, B, j->ldb, j->beta,
                j->C + (size_t)m0 * j->ldc + n0, j->ldc);
#else
    gemm_portable(j, m0, m1, n0, n1);
#endif
}

/* The output is cut into fixed blocks (GEMM_NB columns, or GEMM_MB rows) whatever the thread
 * count, and each block is one kernel call: every element is computed by the same call with the
 * same operands for 1 or N threads, so results are bit-identical (OpenBLAS picks its inner
 * strategy from the matrix sizes it is given). */
#define GEMM_NB 512
#define GEMM_MB 64

static int gemm_blocks(const gemm_job *j)
{
    return j->split_n ? (j->N + GEMM_NB - 1) / GEMM_NB : (j->M + GEMM_MB - 1) / GEMM_MB;
}

static void gemm_block(const gemm_job *j, int b)
{
    if (j->split_n) {
        int n0 = b * GEMM_NB, n1 = n0 + GEMM_NB < j->N ? n0 + GEMM_NB : j->N;
        gemm_slice(j, 0, j->M, n0, n1);
    } else {
        int m0 = b * GEMM_MB, m1 = m0 + GEMM_MB < j->M ? m0 + GEMM_MB : j->M;
        gemm_slice(j, m0, m1, 0, j->N);
    }
}

static void gemm_task(void *ctx, int ith, int nth)
{
    const gemm_job *j = ctx;
    int lo, hi;
    dn_split(gemm_blocks(j), ith, nth, &lo, &hi);
    for (int b = lo; b < hi; b++) gemm_block(j, b);
}

void dn_gemm(dn_pool *pool, int ta, int tb, int M, int N, int K, float alpha, const float *A,
             int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int n = 0; n < N; n++) C[(size_t)i * ldc + n] *= beta;
        return;
    }
    gemm_job j = {ta, tb, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C, N >= M};
    double flops = 2.0 * M * N * K;
    if (!pool || dn_pool_size(pool) == 1 || flops < 2e5 || gemm_blocks(&j) < 2)
        gemm_task(&j, 0, 1);
    else
        dn_pool_run(pool, gemm_task, &j);
}

void dn_gemm_set_threads(int n)
{
#ifdef DN_OPENBLAS
    (void)n;
    openblas_set_num_threads(1); /* the pool splits the work; OpenBLAS must not spawn more */
#else
    (void)n;
#endif
}
