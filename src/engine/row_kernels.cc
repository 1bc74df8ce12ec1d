// Highway kernels of row_kernels.h, compiled once per target through foreach_target.h. The file is built with
// -ffp-contract=off (src/CMakeLists.txt): a * c - b * s must stay two roundings and a subtraction, as in the
// reference, on every target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/engine/row_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>

#include "hwy/highway.h"
#include "src/engine/row_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace engine {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// sum_i (x_i - mean) and sum_i (x_i - mean)^2 in double over d entries: the floats are promoted half a vector
// at a time, two independent accumulators each.
struct DoubleSums {
  double sum, sum_sq;
};
DoubleSums SumsAround(const float* HWY_RESTRICT x, int64_t d, double mean, bool want_sum) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many floats as doubles in a vector
  const int64_t N = static_cast<int64_t>(hn::Lanes(dd));
  const auto vmean = hn::Set(dd, mean);
  auto s0 = hn::Zero(dd), s1 = hn::Zero(dd), q0 = hn::Zero(dd), q1 = hn::Zero(dd);
  int64_t i = 0;
  for (; i + 2 * N <= d; i += 2 * N) {
    const auto c0 = hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, x + i)), vmean);
    const auto c1 = hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, x + i + N)), vmean);
    if (want_sum) {
      s0 = hn::Add(s0, c0);
      s1 = hn::Add(s1, c1);
    }
    q0 = hn::MulAdd(c0, c0, q0);
    q1 = hn::MulAdd(c1, c1, q1);
  }
  for (; i + N <= d; i += N) {
    const auto c0 = hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, x + i)), vmean);
    if (want_sum) s0 = hn::Add(s0, c0);
    q0 = hn::MulAdd(c0, c0, q0);
  }
  DoubleSums out{hn::GetLane(hn::SumOfLanes(dd, hn::Add(s0, s1))), hn::GetLane(hn::SumOfLanes(dd, hn::Add(q0, q1)))};
  for (; i < d; ++i) {
    const double c = static_cast<double>(x[i]) - mean;
    out.sum += c;
    out.sum_sq += c * c;
  }
  return out;
}

void NormRowsBlock(NormKind kind, const float* x, int64_t rows, int64_t d, int64_t ldx, const float* w,
                   const float* b, float eps, float* out, int64_t ldo) {
  const hn::ScalableTag<float> df;
  const int64_t L = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* o = out + r * ldo;
    double mean = 0;
    if (kind == NormKind::kLayerNorm) mean = SumsAround(xr, d, 0.0, true).sum / static_cast<double>(d);
    const double var = SumsAround(xr, d, mean, false).sum_sq / static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    const auto vm = hn::Set(df, m), vinv = hn::Set(df, inv);
    int64_t i = 0;
    if (b) {
      for (; i + L <= d; i += L) {
        const auto y = hn::Mul(hn::Mul(hn::Sub(hn::LoadU(df, xr + i), vm), vinv), hn::LoadU(df, w + i));
        hn::StoreU(hn::Add(y, hn::LoadU(df, b + i)), df, o + i);
      }
      for (; i < d; ++i) o[i] = (xr[i] - m) * inv * w[i] + b[i];
    } else {
      for (; i + L <= d; i += L)
        hn::StoreU(hn::Mul(hn::Mul(hn::Sub(hn::LoadU(df, xr + i), vm), vinv), hn::LoadU(df, w + i)), df, o + i);
      for (; i < d; ++i) o[i] = (xr[i] - m) * inv * w[i];
    }
  }
}

void RopeRowsBlock(const RopeRows& p, int64_t t0, int64_t t1) {
  const hn::ScalableTag<float> df;
  const int64_t L = static_cast<int64_t>(hn::Lanes(df));
  const int64_t half = p.rot / 2;
  for (int64_t t = t0; t < t1; ++t) {
    const float* cs = p.cos + t * half;
    const float* sn = p.sin + t * half;
    for (int64_t h = 0; h < p.heads; ++h) {
      const float* v = p.x + t * p.ld + h * p.hd;
      float* o = p.out + (h * p.T + t) * p.hd;
      int64_t i = 0;
      for (; i + L <= half; i += L) {
        const auto a = hn::LoadU(df, v + i), b = hn::LoadU(df, v + i + half);
        const auto c = hn::LoadU(df, cs + i), s = hn::LoadU(df, sn + i);
        hn::StoreU(hn::Sub(hn::Mul(a, c), hn::Mul(b, s)), df, o + i);
        hn::StoreU(hn::Add(hn::Mul(b, c), hn::Mul(a, s)), df, o + i + half);
      }
      for (; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        o[i] = a * cs[i] - b * sn[i];
        o[i + half] = b * cs[i] + a * sn[i];
      }
      std::copy(v + p.rot, v + p.hd, o + p.rot);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace engine
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

namespace qh::engine {

HWY_EXPORT(NormRowsBlock);
HWY_EXPORT(RopeRowsBlock);

void norm_rows_block(NormKind kind, const float* x, int64_t rows, int64_t d, int64_t ldx, const float* w,
                     const float* b, float eps, float* out, int64_t ldo) {
  if (rows > 0 && d > 0) HWY_DYNAMIC_DISPATCH(NormRowsBlock)(kind, x, rows, d, ldx, w, b, eps, out, ldo);
}

void rope_rows_block(const RopeRows& r, int64_t t0, int64_t t1) {
  if (t1 > t0) HWY_DYNAMIC_DISPATCH(RopeRowsBlock)(r, t0, t1);
}

// The plain definitions, one entry at a time.
void norm_rows_block_reference(NormKind kind, const float* x, int64_t rows, int64_t d, int64_t ldx, const float* w,
                               const float* b, float eps, float* out, int64_t ldo) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* o = out + r * ldo;
    double mean = 0;
    if (kind == NormKind::kLayerNorm) {
      for (int64_t i = 0; i < d; ++i) mean += xr[i];
      mean /= static_cast<double>(d);
    }
    double var = 0;
    for (int64_t i = 0; i < d; ++i) {
      const double c = xr[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    for (int64_t i = 0; i < d; ++i) o[i] = b ? (xr[i] - m) * inv * w[i] + b[i] : (xr[i] - m) * inv * w[i];
  }
}

void rope_rows_block_reference(const RopeRows& p, int64_t t0, int64_t t1) {
  const int64_t half = p.rot / 2;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t h = 0; h < p.heads; ++h) {
      const float* v = p.x + t * p.ld + h * p.hd;
      float* o = p.out + (h * p.T + t) * p.hd;
      for (int64_t i = 0; i < half; ++i) {
        const float c = p.cos[t * half + i], s = p.sin[t * half + i];
        o[i] = v[i] * c - v[i + half] * s;
        o[i + half] = v[i + half] * c + v[i] * s;
      }
      for (int64_t i = p.rot; i < p.hd; ++i) o[i] = v[i];
    }
}

}  // namespace qh::engine
#endif  // HWY_ONCE
