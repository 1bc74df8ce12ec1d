// Range statistics (per row, group, column, tensor), finiteness checks and error statistics: per-target
// row-block kernels (foreach_target.h), dispatched once per block, parallel over blocks.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/quantize_stats.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "quant/quant_math.h"
#include "quant/quantize-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace quant {
namespace HWY_NAMESPACE {

void RowAbsmaxBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, float* out) {
  for (int64_t r = r0; r < r1; ++r) out[r] = math::from_bits(AbsBitsMax(x + r * stride, cols));
}

void RowMinMaxBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, float* out_min,
                    float* out_max) {
  uint32_t unused;
  for (int64_t r = r0; r < r1; ++r) MinMaxSpan(x + r * stride, cols, &out_min[r], &out_max[r], &unused);
}

void GroupAbsmaxBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int64_t group,
                      float* out) {
  const int64_t groups = cols / group;
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t g = 0; g < groups; ++g) out[r * groups + g] = math::from_bits(AbsBitsMax(x + r * stride + g * group, group));
  }
}

// Column absmax over all rows for columns [c0, c1): the running maxima live in `out` as bit patterns.
void ColAbsmaxBlock(const float* x, int64_t rows, int64_t c0, int64_t c1, int64_t stride, float* out) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto mask = hn::Set(di, 0x7fffffff);
  for (int64_t c = c0; c < c1; ++c) out[c] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    int64_t c = c0;
    for (; c + N <= c1; c += N) {
      const auto m = hn::Max(hn::BitCast(di, hn::LoadU(df, out + c)), hn::And(hn::BitCast(di, hn::LoadU(df, row + c)), mask));
      hn::StoreU(hn::BitCast(df, m), df, out + c);
    }
    for (; c < c1; ++c) {
      const uint32_t a = math::abs_bits(out[c]), b = math::abs_bits(row[c]);
      out[c] = math::from_bits(a > b ? a : b);
    }
  }
}

uint32_t RowsAbsBitsBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride) {
  uint32_t m = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const uint32_t b = AbsBitsMax(x + r * stride, cols);
    m = m > b ? m : b;
  }
  return m;
}

// signal, noise and max |error| of a span in double (the f32 values are promoted, then subtracted).
void ErrorStatsSpan(const float* HWY_RESTRICT x, const float* HWY_RESTRICT y, int64_t n, double* signal,
                    double* noise, double* max_abs) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> dfh;  // half-width f32 vector, promoted to f64
  const int64_t N = static_cast<int64_t>(hn::Lanes(dd));
  auto vs = hn::Zero(dd), vn = hn::Zero(dd), vm = hn::Zero(dd);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto xv = hn::PromoteTo(dd, hn::LoadU(dfh, x + i));
    const auto e = hn::Sub(xv, hn::PromoteTo(dd, hn::LoadU(dfh, y + i)));
    vs = hn::MulAdd(xv, xv, vs);
    vn = hn::MulAdd(e, e, vn);
    vm = hn::Max(vm, hn::Abs(e));
  }
  double s = hn::GetLane(hn::SumOfLanes(dd, vs)), e2 = hn::GetLane(hn::SumOfLanes(dd, vn));
  double m = hn::GetLane(hn::MaxOfLanes(dd, vm));
  for (; i < n; ++i) {
    const double xi = x[i], e = xi - static_cast<double>(y[i]);
    s += xi * xi;
    e2 += e * e;
    m = m > std::fabs(e) ? m : std::fabs(e);
  }
  *signal = s;
  *noise = e2;
  *max_abs = m;
}

}  // namespace HWY_NAMESPACE
}  // namespace quant
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "quant/parallel.h"
#include "quant/quantize.h"

namespace qh::quant {

HWY_EXPORT(RowAbsmaxBlock);
HWY_EXPORT(RowMinMaxBlock);
HWY_EXPORT(GroupAbsmaxBlock);
HWY_EXPORT(ColAbsmaxBlock);
HWY_EXPORT(RowsAbsBitsBlock);
HWY_EXPORT(ErrorStatsSpan);

void row_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out) {
  for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(RowAbsmaxBlock)(x, r0, r1, cols, stride, out);
    return int64_t{-1};
  });
}

void row_minmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out_min, float* out_max) {
  for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(RowMinMaxBlock)(x, r0, r1, cols, stride, out_min, out_max);
    return int64_t{-1};
  });
}

void group_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group, float* out) {
  if (group <= 0 || cols % group != 0) {
    throw InputError("group_absmax: group size " + std::to_string(group) + " does not divide the row length " +
                     std::to_string(cols));
  }
  for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(GroupAbsmaxBlock)(x, r0, r1, cols, stride, group, out);
    return int64_t{-1};
  });
}

void col_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out) {
  // Parallel over column blocks (each thread owns a slice of out); the roles of rows and columns swap.
  for_row_blocks(cols, rows, [&](int64_t c0, int64_t c1) {
    HWY_DYNAMIC_DISPATCH(ColAbsmaxBlock)(x, rows, c0, c1, stride, out);
    return int64_t{-1};
  });
}

float tensor_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride) {
  std::atomic<uint32_t> max_bits{0};  // one update per row block
  for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
    const uint32_t m = HWY_DYNAMIC_DISPATCH(RowsAbsBitsBlock)(x, r0, r1, cols, stride);
    uint32_t seen = max_bits.load();
    while (m > seen && !max_bits.compare_exchange_weak(seen, m)) {
    }
    return int64_t{-1};
  });
  return math::from_bits(max_bits.load());
}

bool all_finite(const float* x, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(RowsAbsBitsBlock)(x, 0, 1, n, n) < math::kInfBits;
}

void check_finite(const float* x, int64_t n, const std::string& what) {
  if (all_finite(x, n)) return;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      throw InputError(what + ": value at index " + std::to_string(i) + " is " +
                       (std::isnan(x[i]) ? "NaN" : (x[i] > 0 ? "+inf" : "-inf")));
    }
  }
}

void scale_from_absmax(float absmax, const RowParams& p, float* scale) {
  *scale = math::scale_sym(absmax, p.bits, p.clip);
}

void scale_from_minmax(float lo, float hi, const RowParams& p, float* scale, int32_t* zero_point) {
  math::scale_asym(lo, hi, p.bits, p.clip, scale, zero_point);
}

ErrorStats error_stats(const float* x, const float* x_deq, int64_t n) {
  ErrorStats s;
  HWY_DYNAMIC_DISPATCH(ErrorStatsSpan)(x, x_deq, n, &s.signal, &s.noise, &s.max_abs);
  s.count = n;
  s.mse = n > 0 ? s.noise / static_cast<double>(n) : 0.0;
  return s;
}

}  // namespace qh::quant
#endif  // HWY_ONCE
