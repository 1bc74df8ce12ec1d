// Highway kernels of exp_rows.h, compiled once per target through foreach_target.h and dispatched once per
// block of rows (the single-row entry points remain for the tests and for callers with one row).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/engine/exp_rows.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cstring>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "src/engine/exp_rows.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace engine {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Enough floats for the widest vector of any target: the tail of a row is processed as one full vector
// from this buffer, padded with a neutral value, so tails use the same arithmetic as the body.
constexpr size_t kMaxFloatLanes = HWY_MAX_BYTES / sizeof(float);

float SoftmaxRow(float* s, int64_t n, float extra) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto vmax = hn::Set(d, extra);
  int64_t i = 0;
  for (; i + N <= n; i += N) vmax = hn::Max(vmax, hn::LoadU(d, s + i));
  float m = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) m = std::max(m, s[i]);
  if (m == kNoExtraLogit) {  // everything masked: no finite logit to normalise
    std::fill(s, s + n, 0.0f);
    return 0.0f;
  }
  const auto vm = hn::Set(d, m);
  auto vsum = hn::Zero(d);
  for (i = 0; i + N <= n; i += N) {
    const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, s + i), vm));
    hn::StoreU(e, d, s + i);
    vsum = hn::Add(vsum, e);
  }
  if (i < n) {
    HWY_ALIGN float buf[kMaxFloatLanes];
    std::fill(buf, buf + N, kNoExtraLogit);  // exp(-inf) = 0: padding adds nothing to the sum
    std::copy(s + i, s + n, buf);
    const auto e = hn::Exp(d, hn::Sub(hn::Load(d, buf), vm));
    hn::Store(e, d, buf);
    std::copy(buf, buf + (n - i), s + i);
    vsum = hn::Add(vsum, e);
  }
  // The extra logit goes through the same Exp so that Z is consistent with the stored values.
  const float e_extra = hn::GetLane(hn::Exp(d, hn::Sub(hn::Set(d, extra), vm)));
  const float z = hn::GetLane(hn::SumOfLanes(d, vsum)) + e_extra;
  const float inv = 1.0f / z;
  const auto vinv = hn::Set(d, inv);
  for (i = 0; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, s + i), vinv), d, s + i);
  for (; i < n; ++i) s[i] *= inv;
  return e_extra * inv;
}

// silu(g) u = g u / (1 + exp(-g)). exp's argument is clamped at 88 (exp(88) ~ 1.7e38 is still finite), where
// the exact result is below 1e-36 |u| anyway.
HWY_INLINE hn::Vec<hn::ScalableTag<float>> SwigluVec(hn::ScalableTag<float> d, hn::Vec<hn::ScalableTag<float>> g,
                                                     hn::Vec<hn::ScalableTag<float>> u) {
  const auto e = hn::Exp(d, hn::Min(hn::Neg(g), hn::Set(d, 88.0f)));
  return hn::Div(hn::Mul(g, u), hn::Add(hn::Set(d, 1.0f), e));
}

void SwigluRow(const float* gate, const float* up, int64_t n, float* out) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(SwigluVec(d, hn::LoadU(d, gate + i), hn::LoadU(d, up + i)), d, out + i);
  if (i < n) {
    HWY_ALIGN float g[kMaxFloatLanes] = {};
    HWY_ALIGN float u[kMaxFloatLanes] = {};
    std::copy(gate + i, gate + n, g);
    std::copy(up + i, up + n, u);
    hn::Store(SwigluVec(d, hn::Load(d, g), hn::Load(d, u)), d, g);
    std::copy(g, g + (n - i), out + i);
  }
}

void SoftmaxCausalRows(float* s, int64_t ld, int64_t i0, int64_t i1, float extra, float* masses) {
  for (int64_t i = i0; i < i1; ++i) {
    const float mass = SoftmaxRow(s + (i - i0) * ld, i + 1, extra);
    if (masses) masses[i - i0] = mass;
  }
}

void SwigluRowsBlock(const float* gate, const float* up, int64_t rows, int64_t n, int64_t ld_in, float* out,
                     int64_t ld_out) {
  for (int64_t r = 0; r < rows; ++r) SwigluRow(gate + r * ld_in, up + r * ld_in, n, out + r * ld_out);
}

}  // namespace HWY_NAMESPACE
}  // namespace engine
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cmath>

namespace qh::engine {

HWY_EXPORT(SoftmaxRow);
HWY_EXPORT(SwigluRow);
HWY_EXPORT(SoftmaxCausalRows);
HWY_EXPORT(SwigluRowsBlock);

void softmax_causal_rows(float* s, int64_t ld, int64_t i0, int64_t i1, float extra, float* masses) {
  if (i1 > i0) HWY_DYNAMIC_DISPATCH(SoftmaxCausalRows)(s, ld, i0, i1, extra, masses);
}

void swiglu_rows_block(const float* gate, const float* up, int64_t rows, int64_t n, int64_t ld_in, float* out,
                       int64_t ld_out) {
  if (rows > 0) HWY_DYNAMIC_DISPATCH(SwigluRowsBlock)(gate, up, rows, n, ld_in, out, ld_out);
}

float softmax_row(float* s, int64_t n, float extra) { return HWY_DYNAMIC_DISPATCH(SoftmaxRow)(s, n, extra); }

void swiglu_row(const float* gate, const float* up, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SwigluRow)(gate, up, n, out);
}

float softmax_row_reference(float* s, int64_t n, float extra) {
  double m = extra;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(s[j]));
  if (std::isinf(m) && m < 0) {
    std::fill(s, s + n, 0.0f);
    return 0.0f;
  }
  double z = std::exp(static_cast<double>(extra) - m);
  for (int64_t j = 0; j < n; ++j) z += std::exp(static_cast<double>(s[j]) - m);
  for (int64_t j = 0; j < n; ++j) s[j] = static_cast<float>(std::exp(static_cast<double>(s[j]) - m) / z);
  return static_cast<float>(std::exp(static_cast<double>(extra) - m) / z);
}

void swiglu_row_reference(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = gate[i];
    out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

}  // namespace qh::engine
#endif  // HWY_ONCE
