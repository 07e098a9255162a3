/* winograd.h - Winograd minimal filtering F(2x2, 3x3) for 3x3, stride 1, pad 0 or 1, groups=1
 * convolutions of one CHW float image (Lavin & Gray 2016, "Fast Algorithms for Convolutional
 * Neural Networks", section 4): 2.25x fewer multiplications than im2col + GEMM, which it is
 * meant to replace for such layers. Internal to the library (core/); needs GCC or Clang. */
#ifndef DN_WINOGRAD_H
#define DN_WINOGRAD_H

#include "core.h"

#include <stddef.h>

/* Transforms the weights (n, c, 3, 3) of n filters over c channels into U (16, n, c): U[xi] is
 * the n x c matrix of element xi = 4*i + j of G g G^T (eq. 8) for every filter/channel pair.
 * On success *U is a new buffer of 16*n*c floats that the caller frees with dn_free; on error
 * *U is NULL and the status is DN_ERR_ARG (n or c < 1) or DN_ERR_NOMEM (allocation failed or
 * 16*n*c exceeds DN_MAX_FLOATS), with the message recorded. Reentrant: no shared state. Done
 * once per layer after its weights change (load/refold), not per forward pass. */
dn_status dn_winograd_weights(const float *weights, int n, int c, float **U);

/* Floats of scratch that ONE thread of dn_winograd_conv needs for a layer with c input channels,
 * n output channels, an h x w input and the given pad (0 or 1). It depends only on these
 * arguments (never on the thread count), so it can be sized at layer create/resize time; the
 * caller provides nthreads times this. Returns 0 when the output would be empty (h or w + 2*pad
 * < 3) or an argument is < 1; then dn_winograd_conv has nothing to do. Pure function. */
size_t dn_winograd_scratch(int c, int n, int h, int w, int pad);

/* out (n, oh, ow) = 3x3 stride-1 convolution (cross-correlation, as Darknet) of in (c, h, w)
 * with the weights transformed into U (16, n, c) by dn_winograd_weights, zero padding `pad` (0
 * or 1) on each side, oh = h + 2*pad - 2, ow = w + 2*pad - 2. Overwrites out; adds no bias and
 * no activation. scratch holds nthreads * dn_winograd_scratch(c, n, h, w, pad) floats, nthreads =
 * dn_pool_size(pool) (pool may be NULL: single-threaded on the caller); its contents on entry do
 * not matter and no alignment is needed. Runs on the pool's threads (the caller's included) and
 * returns when done; never allocates and never fails (with pad outside 0..1 or an empty output
 * it does nothing). The result is bit-identical for every thread count. in, U and out must not
 * overlap scratch or each other. Not reentrant on the same scratch or pool. Reads and writes
 * only the caller's buffers: no global state. */
void dn_winograd_conv(dn_pool *pool, const float *U, const float *in, int c, int h, int w,
                      int pad, int n, float *out, float *scratch);

#endif /* DN_WINOGRAD_H */
