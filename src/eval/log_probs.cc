// Highway kernels of log_probs.h, compiled once per target through foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/eval/log_probs.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "src/eval/log_probs.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace eval {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;
using DF = hn::Rebind<float, DD>;  // as many floats as a vector holds doubles
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kMaxDoubleLanes = HWY_MAX_BYTES / sizeof(double);

// The tail of a row (fewer than a vector of entries) as a full float vector, padded with `pad`.
HWY_INLINE hn::Vec<DF> LoadTail(DF df, const float* x, int64_t count, float pad) {
  HWY_ALIGN float buf[kMaxDoubleLanes];
  std::fill(buf, buf + hn::Lanes(df), pad);
  std::copy(x, x + count, buf);
  return hn::Load(df, buf);
}

// The row's maximum, taken in float lanes (exact, as a max of doubles would be), or NaN if any entry is NaN (SIMD
// max instructions give no defined result for a NaN, so NaNs are tracked on their own).
double MaxOrNaN(const float* HWY_RESTRICT x, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  auto vmax = hn::Set(d, -std::numeric_limits<float>::infinity());
  auto nan = hn::Zero(d);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const auto v = hn::LoadU(d, x + i);
    vmax = hn::Max(vmax, v);
    nan = hn::Or(nan, hn::VecFromMask(d, hn::IsNaN(v)));
  }
  bool any_nan = !hn::AllFalse(d, hn::MaskFromVec(nan));
  double m = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) {
    any_nan = any_nan || std::isnan(x[i]);
    m = std::max(m, static_cast<double>(x[i]));
  }
  return any_nan ? std::numeric_limits<double>::quiet_NaN() : m;
}

double LogSumExp(const float* HWY_RESTRICT x, int64_t n) {
  if (n <= 0) return -kInf;
  const double m = MaxOrNaN(x, n);
  // NaN entry, +inf maximum (inf - inf) or only -inf entries (-inf - -inf): the formula's NaN.
  if (!std::isfinite(m)) return std::numeric_limits<double>::quiet_NaN();
  const DD dd;
  const DF df;
  const int64_t L = static_cast<int64_t>(hn::Lanes(dd));
  const auto vm = hn::Set(dd, m);
  auto s0 = hn::Zero(dd), s1 = hn::Zero(dd);
  int64_t i = 0;
  // Two accumulators: the exps of consecutive vectors are independent. A -inf entry's exp is 0.
  for (; i + 2 * L <= n; i += 2 * L) {
    s0 = hn::Add(s0, hn::Exp(dd, hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, x + i)), vm)));
    s1 = hn::Add(s1, hn::Exp(dd, hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, x + i + L)), vm)));
  }
  for (; i + L <= n; i += L) s0 = hn::Add(s0, hn::Exp(dd, hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, x + i)), vm)));
  if (i < n) {  // padded with -inf: exp gives 0, which adds nothing
    const auto v = LoadTail(df, x + i, n - i, -std::numeric_limits<float>::infinity());
    s1 = hn::Add(s1, hn::Exp(dd, hn::Sub(hn::PromoteTo(dd, v), vm)));
  }
  const double s = hn::GetLane(hn::SumOfLanes(dd, hn::Add(s0, s1)));
  return m + std::log(s);
}

// One vector of KL terms exp(a) (a - b). Highway's Exp gives 0 for -inf and NaN; the product keeps the
// formula's NaN (0 * -inf, 0 * NaN) because a - b is then -inf or NaN.
HWY_INLINE hn::Vec<DD> KlTerms(DD dd, hn::Vec<DF> x, hn::Vec<DF> y, hn::Vec<DD> la, hn::Vec<DD> lb) {
  const auto a = hn::Sub(hn::PromoteTo(dd, x), la);
  const auto b = hn::Sub(hn::PromoteTo(dd, y), lb);
  return hn::Mul(hn::Exp(dd, a), hn::Sub(a, b));
}

double KlFromLogits(const float* HWY_RESTRICT x, double lse_x, const float* HWY_RESTRICT y, double lse_y,
                    int64_t n) {
  const DD dd;
  const DF df;
  const int64_t L = static_cast<int64_t>(hn::Lanes(dd));
  const auto la = hn::Set(dd, lse_x), lb = hn::Set(dd, lse_y);
  auto k0 = hn::Zero(dd), k1 = hn::Zero(dd);
  int64_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    k0 = hn::Add(k0, KlTerms(dd, hn::LoadU(df, x + i), hn::LoadU(df, y + i), la, lb));
    k1 = hn::Add(k1, KlTerms(dd, hn::LoadU(df, x + i + L), hn::LoadU(df, y + i + L), la, lb));
  }
  for (; i + L <= n; i += L) k0 = hn::Add(k0, KlTerms(dd, hn::LoadU(df, x + i), hn::LoadU(df, y + i), la, lb));
  if (i < n) {  // padded lanes are zeroed after the fact: no padding value makes exp(a) (a - b) vanish for any lse
    const auto t = KlTerms(dd, LoadTail(df, x + i, n - i, 0.0f), LoadTail(df, y + i, n - i, 0.0f), la, lb);
    k1 = hn::Add(k1, hn::IfThenElseZero(hn::FirstN(dd, static_cast<size_t>(n - i)), t));
  }
  return hn::GetLane(hn::SumOfLanes(dd, hn::Add(k0, k1)));
}

int64_t ArgmaxRow(const float* HWY_RESTRICT x, int64_t n) {
  if (n <= 1 || std::isnan(x[0])) return 0;  // a NaN first entry is never replaced
  const hn::ScalableTag<float> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  const auto neg_inf = hn::Set(d, -std::numeric_limits<float>::infinity());
  // The maximum over the entries that are not NaN (x[0] is one of them), then its first occurrence.
  auto vmax = neg_inf;
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const auto v = hn::LoadU(d, x + i);
    vmax = hn::Max(vmax, hn::IfThenElse(hn::IsNaN(v), neg_inf, v));
  }
  float m = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i)
    if (x[i] > m) m = x[i];
  const auto vm = hn::Set(d, m);
  for (i = 0; i + L <= n; i += L) {
    const intptr_t lane = hn::FindFirstTrue(d, hn::Eq(hn::LoadU(d, x + i), vm));
    if (lane >= 0) return i + lane;
  }
  for (; i < n; ++i)
    if (x[i] == m) return i;
  return 0;  // not reached: m is one of the entries
}

}  // namespace HWY_NAMESPACE
}  // namespace eval
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qh::eval {

HWY_EXPORT(LogSumExp);
HWY_EXPORT(KlFromLogits);
HWY_EXPORT(ArgmaxRow);

int64_t argmax_row(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(ArgmaxRow)(x, n); }

int64_t argmax_row_reference(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

double log_sum_exp(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(LogSumExp)(x, n); }

double kl_from_logits(const float* x, double lse_x, const float* y, double lse_y, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(KlFromLogits)(x, lse_x, y, lse_y, n);
}

// The metrics' original formulas, one std::exp per entry, summed left to right.
double log_sum_exp_reference(const float* x, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(x[i]));
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  return m + std::log(s);
}

double kl_from_logits_reference(const float* x, double lse_x, const float* y, double lse_y, int64_t n) {
  double kl = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(x[i]) - lse_x, b = static_cast<double>(y[i]) - lse_y;
    kl += std::exp(a) * (a - b);
  }
  return kl;
}

}  // namespace qh::eval
#endif  // HWY_ONCE
