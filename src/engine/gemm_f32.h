// The engine's own f32 GEMM, for CPUs where oneDNN 2.6 has no brgemm f32 matmul (below AVX-512: AVX2 and
// older). There oneDNN runs its gemm:jit kernels, whose rounding depends on the row count M, on how N is cut
// and on the number of threads (measured on an AVX2 machine: a row computed alone or inside a block of 16
// rows, a matrix as one stack or as its parts, and 2 versus 3 threads all gave different bits). A harness whose
// protected rows must equal the fp rows and whose results must not depend on the thread count cannot use it.
//
// Here every output has one fixed definition that depends only on its own row of x, its own row of w, K and
// the Highway target:
//   L = the target's lane count; acc[j] = 0 for j < L;
//   for each block of L entries k0 = 0, L, 2L, ... (the last one zero-padded):
//     acc[j] = fma(x[k0 + j], w[k0 + j], acc[j])   (a multiply then an add on targets without FMA)
//   y = ((acc[0] + acc[1]) + acc[2]) + ... + acc[L - 1], then y + bias[n] when there is a bias.
// So a row's bits are the same whichever rows, columns and threads it is computed with. The reference below
// computes that definition one output at a time; tests compare the two bit for bit on every target.
#pragma once

#include <cstdint>

namespace qh::engine {

// y[m * ldy + n] = x[m, :] . w[n, :] (+ bias[n]) for m < M, n < N; x rows at x + m * ldx, w rows at w + n * K.
// Runs on the calling thread, or on `threads` OpenMP threads (same bits).
void gemm_f32(const float* x, int64_t M, int64_t ldx, const float* w, int64_t N, int64_t K, const float* bias,
              float* y, int64_t ldy, int threads);

// The lane count and whether MulAdd is fused, for the target gemm_f32 dispatches to now.
struct GemmF32Shape {
  int64_t lanes;
  bool fused;
};
GemmF32Shape gemm_f32_shape();

// The definition above, one output at a time, for a given lane count and fusion.
void gemm_f32_reference(const float* x, int64_t M, int64_t ldx, const float* w, int64_t N, int64_t K,
                        const float* bias, float* y, int64_t ldy, GemmF32Shape shape);

}  // namespace qh::engine
