// Highway kernel of small_median.h, compiled once per target through foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "models/stats/small_median.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cmath>
#include <limits>

#include "hwy/highway.h"
#include "models/stats/small_median.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace stats {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The two middle values of a[0..n) (n >= 1), a padded to whole vectors (the padding is read, never counted).
// For each block of lanes i: le_i = #(a_j <= a_i) over the n values; the k-th smallest is the least a_i with
// le_i > k. Vectors are capped at 64 bytes, the padding the callers provide.
template <typename T>
void MiddleValues(const T* a, int64_t n, T* lower_value, T* mid_value) {
  const hn::CappedTag<T, 64 / sizeof(T)> d;
  const hn::RebindToSigned<decltype(d)> di;
  using TI = hn::TFromD<decltype(di)>;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto k_lower = hn::Set(di, static_cast<TI>((n - 1) / 2)), k_mid = hn::Set(di, static_cast<TI>(n / 2));
  const auto inf = hn::Set(d, std::numeric_limits<T>::infinity());
  const auto one = hn::Set(di, TI{1});
  auto best_lower = inf, best_mid = inf;
  for (int64_t b = 0; b < n; b += N) {
    const auto v = hn::LoadU(d, a + b);
    // Two counters halve the dependency chain of the adds; the add under a mask is one instruction on AVX-512.
    auto le0 = hn::Zero(di), le1 = hn::Zero(di);
    int64_t j = 0;
    for (; j + 2 <= n; j += 2) {
      le0 = hn::IfThenElse(hn::RebindMask(di, hn::Le(hn::Set(d, a[j]), v)), hn::Add(le0, one), le0);
      le1 = hn::IfThenElse(hn::RebindMask(di, hn::Le(hn::Set(d, a[j + 1]), v)), hn::Add(le1, one), le1);
    }
    if (j < n) le0 = hn::IfThenElse(hn::RebindMask(di, hn::Le(hn::Set(d, a[j]), v)), hn::Add(le0, one), le0);
    const auto le = hn::Add(le0, le1);
    const auto valid = hn::FirstN(d, static_cast<size_t>(n - b));
    const auto is_lower = hn::And(valid, hn::RebindMask(d, hn::Gt(le, k_lower)));
    const auto is_mid = hn::And(valid, hn::RebindMask(d, hn::Gt(le, k_mid)));
    best_lower = hn::Min(best_lower, hn::IfThenElse(is_lower, v, inf));
    best_mid = hn::Min(best_mid, hn::IfThenElse(is_mid, v, inf));
  }
  *lower_value = hn::GetLane(hn::MinOfLanes(d, best_lower));
  *mid_value = hn::GetLane(hn::MinOfLanes(d, best_mid));
}

double MedianSmall(const double* v, int64_t n, double* buf) {
  const hn::CappedTag<double, 8> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t c = 0;
  for (; c + N <= n; c += N) hn::StoreU(hn::LoadU(d, v + c), d, buf + c);
  for (; c < n; ++c) buf[c] = v[c];
  for (int64_t p = n; p < n + 8; ++p) buf[p] = 0.0;  // padding: initialised, never counted
  double lo, mid;
  MiddleValues(buf, n, &lo, &mid);
  return n % 2 ? mid : 0.5 * (lo + mid);
}

}  // namespace HWY_NAMESPACE
}  // namespace stats
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qh::stats {

HWY_EXPORT(MedianSmall);

double median_small(const double* v, int64_t n, double* buf) {
  if (n <= 0) return 0.0;
  return HWY_DYNAMIC_DISPATCH(MedianSmall)(v, n, buf);
}

}  // namespace qh::stats
#endif  // HWY_ONCE
