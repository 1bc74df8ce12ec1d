// The MSE-optimal clip search (QuaRot / SpinQuant weight clipping): per row, every candidate clip of the grid
// is tried on the row while it sits in L1; per-target row-block kernel, dispatched once per block.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/quantize_mse.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "quant/quant_math.h"
#include "quant/quantize-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace quant {
namespace HWY_NAMESPACE {

int64_t MseClipBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int bits, bool symmetric,
                     int grid, int candidates, float* out_scale, int32_t* out_zero_point, float* out_clip) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * stride;
    float lo = 0, hi = 0;
    uint32_t absmax;
    if (symmetric) {
      absmax = AbsBitsMax(row, cols);
    } else {
      MinMaxSpan(row, cols, &lo, &hi, &absmax);
    }
    if (absmax >= math::kInfBits) return r;
    double best_err = HUGE_VAL;
    for (int i = 0; i < candidates; ++i) {
      const float clip = 1.0f - static_cast<float>(i) / static_cast<float>(grid);
      if (!(clip > 0.0f)) break;
      float scale;
      int32_t zp = 0;
      if (symmetric) {
        scale = math::scale_sym(math::from_bits(absmax), bits, clip);
      } else {
        math::scale_asym(lo, hi, bits, clip, &scale, &zp);
      }
      const double err = symmetric ? SquaredErrorSpanT<true>(row, cols, scale, 0, bits)
                                   : SquaredErrorSpanT<false>(row, cols, scale, zp, bits);
      if (err < best_err) {  // strict: ties keep the larger clip
        best_err = err;
        out_scale[r] = scale;
        if (out_zero_point) out_zero_point[r] = zp;
        if (out_clip) out_clip[r] = clip;
      }
    }
  }
  return -1;
}

}  // namespace HWY_NAMESPACE
}  // namespace quant
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cmath>
#include <string>

#include "src/core/error.h"
#include "quant/parallel.h"
#include "quant/quantize.h"

namespace qh::quant {

HWY_EXPORT(MseClipBlock);

void mse_clip_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p, int grid,
                   float min_clip, float* out_scale, int32_t* out_zero_point, float* out_clip) {
  QH_CHECK(p.bits >= 2 && p.bits <= 8);
  QH_CHECK(grid >= 1 && min_clip > 0.0f && min_clip <= 1.0f);
  const int candidates = static_cast<int>(std::floor(grid * (1.0 - min_clip))) + 1;
  const int64_t bad = for_row_blocks(rows, cols * candidates, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(MseClipBlock)(x, r0, r1, cols, stride, p.bits, p.symmetric, grid,
                                                           candidates, out_scale, out_zero_point, out_clip);
               });
  if (bad >= 0) throw InputError("mse_clip_rows: row " + std::to_string(bad) + " contains NaN or Inf");
}

}  // namespace qh::quant
#endif  // HWY_ONCE
