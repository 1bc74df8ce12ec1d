// The f32 GEMM of gemm_f32.h, compiled once per target through foreach_target.h. Built with -ffp-contract=off
// (src/CMakeLists.txt): on targets without FMA a multiply and an add must stay two roundings, as the
// reference computes them.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/engine/gemm_f32.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "hwy/highway.h"
#include "src/engine/gemm_f32.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace engine {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// A tile is R rows of x against C rows of w: R x C accumulators, R vectors of x and one of w in registers.
// 3 x 4 fills the 16 registers of AVX2 / SSE; AVX-512's 32 registers take 4 x 4.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr int kRows = 4;
#else
constexpr int kRows = 3;
#endif
constexpr int kCols = 4;

// out[r * ldy + c] = the definition of gemm_f32.h for rows x + r * ldx and w + c * K.
template <int R, int C>
HWY_NOINLINE void Tile(const float* HWY_RESTRICT x, int64_t ldx, const float* HWY_RESTRICT w, int64_t K,
                       const float* HWY_RESTRICT bias, float* HWY_RESTRICT y, int64_t ldy) {
  const DF d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  VF acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = hn::Zero(d);
  int64_t k = 0;
  for (; k + L <= K; k += L) {
    VF xv[R];
    for (int r = 0; r < R; ++r) xv[r] = hn::LoadU(d, x + r * ldx + k);
    for (int c = 0; c < C; ++c) {
      const VF wv = hn::LoadU(d, w + c * K + k);
      for (int r = 0; r < R; ++r) acc[r][c] = hn::MulAdd(xv[r], wv, acc[r][c]);
    }
  }
  if (k < K) {
    // The last block, zero-padded through a copy (a masked load would read past the row on targets that
    // emulate it). A padded lane adds fma(0, 0, acc), as the reference does.
    HWY_ALIGN float xs[R][hn::MaxLanes(d)];
    HWY_ALIGN float ws[hn::MaxLanes(d)];
    for (int r = 0; r < R; ++r) {
      std::fill(xs[r], xs[r] + L, 0.0f);
      std::copy(x + r * ldx + k, x + r * ldx + K, xs[r]);
    }
    std::fill(ws, ws + L, 0.0f);
    for (int c = 0; c < C; ++c) {
      std::copy(w + c * K + k, w + c * K + K, ws);
      const VF wv = hn::Load(d, ws);
      for (int r = 0; r < R; ++r) acc[r][c] = hn::MulAdd(hn::Load(d, xs[r]), wv, acc[r][c]);
    }
  }
  HWY_ALIGN float lanes[hn::MaxLanes(d)];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      hn::Store(acc[r][c], d, lanes);
      float s = lanes[0];
      for (int64_t j = 1; j < L; ++j) s += lanes[j];
      y[r * ldy + c] = bias ? s + bias[c] : s;
    }
}

template <int R>
void TileCols(int cols, const float* x, int64_t ldx, const float* w, int64_t K, const float* bias, float* y,
              int64_t ldy) {
  switch (cols) {
    case 1: return Tile<R, 1>(x, ldx, w, K, bias, y, ldy);
    case 2: return Tile<R, 2>(x, ldx, w, K, bias, y, ldy);
    case 3: return Tile<R, 3>(x, ldx, w, K, bias, y, ldy);
    default: return Tile<R, kCols>(x, ldx, w, K, bias, y, ldy);
  }
}

void AnyTile(int rows, int cols, const float* x, int64_t ldx, const float* w, int64_t K, const float* bias, float* y,
             int64_t ldy) {
  switch (rows) {
    case 1: return TileCols<1>(cols, x, ldx, w, K, bias, y, ldy);
    case 2: return TileCols<2>(cols, x, ldx, w, K, bias, y, ldy);
    case 3: return TileCols<3>(cols, x, ldx, w, K, bias, y, ldy);
    default: return TileCols<kRows>(cols, x, ldx, w, K, bias, y, ldy);
  }
}

// Rows [0, M) x columns [0, N) of one task. The columns go in chunks whose rows of w (about 128 KiB) stay in
// L2 while every row group of x passes over them; a row group (a few KiB) stays in L1 across the chunk.
void GemmBlock(const float* x, int64_t M, int64_t ldx, const float* w, int64_t N, int64_t K, const float* bias,
               float* y, int64_t ldy) {
  const int64_t chunk = std::max<int64_t>(kCols, (32768 / std::max<int64_t>(K, 1)) / kCols * kCols);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t n1 = std::min(N, n0 + chunk);
    for (int64_t m = 0; m < M; m += kRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kRows, M - m));
      for (int64_t n = n0; n < n1; n += kCols) {
        const int cols = static_cast<int>(std::min<int64_t>(kCols, n1 - n));
        AnyTile(rows, cols, x + m * ldx, ldx, w + n * K, K, bias ? bias + n : nullptr, y + m * ldy + n, ldy);
      }
    }
  }
}

GemmF32Shape ShapeOfTarget() { return {static_cast<int64_t>(hn::Lanes(DF())), HWY_NATIVE_FMA != 0}; }

}  // namespace HWY_NAMESPACE
}  // namespace engine
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qh::engine {

HWY_EXPORT(GemmBlock);
HWY_EXPORT(ShapeOfTarget);

GemmF32Shape gemm_f32_shape() { return HWY_DYNAMIC_DISPATCH(ShapeOfTarget)(); }

void gemm_f32(const float* x, int64_t M, int64_t ldx, const float* w, int64_t N, int64_t K, const float* bias,
              float* y, int64_t ldy, int threads) {
  if (M <= 0 || N <= 0) return;
  // Tasks of 96 rows x 256 columns: enough of them to share among threads, each long enough (~25 MFLOP at
  // K = 512) that the region's overhead does not show. The bits do not depend on the split.
  constexpr int64_t kTaskRows = 96, kTaskCols = 256;
  const int64_t row_blocks = (M + kTaskRows - 1) / kTaskRows, col_blocks = (N + kTaskCols - 1) / kTaskCols;
  const int64_t tasks = row_blocks * col_blocks;
  auto run = [&](int64_t t) {
    const int64_t m0 = (t / col_blocks) * kTaskRows, n0 = (t % col_blocks) * kTaskCols;
    HWY_DYNAMIC_DISPATCH(GemmBlock)(x + m0 * ldx, std::min(kTaskRows, M - m0), ldx, w + n0 * K,
                                    std::min(kTaskCols, N - n0), K, bias ? bias + n0 : nullptr, y + m0 * ldy + n0,
                                    ldy);
  };
  if (threads <= 1 || tasks == 1) {
    HWY_DYNAMIC_DISPATCH(GemmBlock)(x, M, ldx, w, N, K, bias, y, ldy);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t t = 0; t < tasks; ++t) run(t);
}

void gemm_f32_reference(const float* x, int64_t M, int64_t ldx, const float* w, int64_t N, int64_t K,
                        const float* bias, float* y, int64_t ldy, GemmF32Shape shape) {
  const int64_t L = shape.lanes;
  std::vector<float> acc(static_cast<size_t>(L));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t k0 = 0; k0 < K; k0 += L)
        for (int64_t j = 0; j < L; ++j) {
          const int64_t k = k0 + j;
          const float a = k < K ? x[m * ldx + k] : 0.0f, b = k < K ? w[n * K + k] : 0.0f;
          acc[j] = shape.fused ? std::fma(a, b, acc[j]) : a * b + acc[j];
        }
      float s = acc[0];
      for (int64_t j = 1; j < L; ++j) s += acc[j];
      y[m * ldy + n] = bias ? s + bias[n] : s;
    }
}

}  // namespace qh::engine
#endif  // HWY_ONCE
