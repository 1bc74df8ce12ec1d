// Highway kernel of row_moments.h, compiled once per target through foreach_target.h and dispatched once per
// block of rows (the audit passes a whole site input or a thread's share of it).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "models/stats/row_moments.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>

#include "hwy/highway.h"
#include "models/stats/persistence_bounds.h"
#include "models/stats/row_moments.h"

#ifndef QH_STATS_ROW_MOMENTS_SHARED
#define QH_STATS_ROW_MOMENTS_SHARED
namespace qh::stats::detail {

constexpr int kVirtualLanes = 8;

// The fixed reduction tree of the 8 virtual lanes, in double.
inline double lane_sum(const float* l) {
  return ((double(l[0]) + l[1]) + (double(l[2]) + l[3])) + ((double(l[4]) + l[5]) + (double(l[6]) + l[7]));
}

// (m4 / K) / (m2 / K)^2 with one division: the per-row divisions are on the kernel's critical path.
inline double kurtosis_of(double m2, double m4, int64_t K) { return m2 > 0.0 ? m4 * double(K) / (m2 * m2) : 0.0; }

}  // namespace qh::stats::detail
#endif

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace stats {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 8 float lanes: wider targets run 8-lane vectors, narrower ones several vectors per 8 entries.
using DF = hn::CappedTag<float, detail::kVirtualLanes>;
using DI = hn::RebindToSigned<DF>;
constexpr size_t kLanes = hn::MaxLanes(DF());
constexpr size_t kVectors = detail::kVirtualLanes / kLanes;
static_assert(kLanes * kVectors == detail::kVirtualLanes, "the virtual lanes must tile the vectors");

// Sum of squares of v's lanes into a double accumulator (the residual's row norms need double precision).
#if HWY_TARGET == HWY_SCALAR
using DD = hn::Rebind<double, DF>;
HWY_INLINE void AddSquares(DF, hn::Vec<DF> v, hn::Vec<DD>* acc) {
  const auto w = hn::PromoteTo(DD(), v);
  *acc = hn::MulAdd(w, w, *acc);
}
#else
using DD = hn::Rebind<double, hn::Half<DF>>;
HWY_INLINE void AddSquares(DF d, hn::Vec<DF> v, hn::Vec<DD>* acc) {
  const hn::Half<DF> dh;
  const auto lo = hn::PromoteTo(DD(), hn::LowerHalf(dh, v));
  const auto hi = hn::PromoteTo(DD(), hn::UpperHalf(dh, v));
  *acc = hn::MulAdd(hi, hi, hn::MulAdd(lo, lo, *acc));
}
#endif

// The first pass over a row: sum, max |x| and the column maxima (and the sum of squares in double).
struct FirstPass {
  double total, sumsq;
  float rmax;
};
template <bool kCols, bool kSumsq>
HWY_INLINE FirstPass RowFirstPass(const float* row, int64_t K, int64_t body, float* col_max) {
  const DF d;
  const DD dd;
  hn::Vec<DF> sum[kVectors], mx[kVectors];
  hn::Vec<DD> sq = hn::Zero(dd);
  for (size_t u = 0; u < kVectors; ++u) sum[u] = mx[u] = hn::Zero(d);
  for (int64_t c = 0; c < body; c += detail::kVirtualLanes) {
    for (size_t u = 0; u < kVectors; ++u) {
      const auto v = hn::LoadU(d, row + c + u * kLanes);
      const auto a = hn::Abs(v);
      sum[u] = hn::Add(sum[u], v);
      mx[u] = hn::Max(mx[u], a);
      if (kCols) {
        float* cm = col_max + c + u * kLanes;
        hn::StoreU(hn::Max(hn::LoadU(d, cm), a), d, cm);
      }
      if (kSumsq) AddSquares(d, v, &sq);
    }
  }
  for (size_t u = 1; u < kVectors; ++u) {
    sum[0] = hn::Add(sum[0], sum[u]);
    mx[0] = hn::Max(mx[0], mx[u]);
  }
  FirstPass p;
  p.total = hn::GetLane(hn::SumOfLanes(d, sum[0]));
  p.rmax = hn::GetLane(hn::MaxOfLanes(d, mx[0]));
  p.sumsq = kSumsq ? hn::GetLane(hn::SumOfLanes(dd, sq)) : 0.0;
  for (int64_t c = body; c < K; ++c) {
    const float a = std::fabs(row[c]);
    p.total += row[c];
    p.rmax = std::max(p.rmax, a);
    if (kCols) col_max[c] = std::max(col_max[c], a);
    if (kSumsq) p.sumsq += double(row[c]) * row[c];
  }
  return p;
}

// The second pass: central moments about mu, and the persistence counts against bound.
template <bool kCount>
HWY_INLINE void RowSecondPass(const float* row, int64_t K, int64_t body, float mu, float bound, RowMoments* r) {
  const DF d;
  const DI di;
  hn::Vec<DF> m2[kVectors], m4[kVectors];
  hn::Vec<DI> at_most = hn::Zero(di), zeros = hn::Zero(di);
  for (size_t u = 0; u < kVectors; ++u) m2[u] = m4[u] = hn::Zero(d);
  const auto vmu = hn::Set(d, mu), vbound = hn::Set(d, bound), zero = hn::Zero(d);
  for (int64_t c = 0; c < body; c += detail::kVirtualLanes) {
    for (size_t u = 0; u < kVectors; ++u) {
      const auto v = hn::LoadU(d, row + c + u * kLanes);
      const auto e = hn::Sub(v, vmu);
      const auto e2 = hn::Mul(e, e);
      m2[u] = hn::Add(m2[u], e2);
      m4[u] = hn::Add(m4[u], hn::Mul(e2, e2));
      if (kCount) {
        const auto a = hn::Abs(v);
        // A true mask is all ones: -1 as an integer.
        at_most = hn::Sub(at_most, hn::BitCast(di, hn::VecFromMask(d, hn::Le(a, vbound))));
        zeros = hn::Sub(zeros, hn::BitCast(di, hn::VecFromMask(d, hn::Eq(a, zero))));
      }
    }
  }
  for (size_t u = 1; u < kVectors; ++u) {
    m2[0] = hn::Add(m2[0], m2[u]);
    m4[0] = hn::Add(m4[0], m4[u]);
  }
  double s2 = hn::GetLane(hn::SumOfLanes(d, m2[0])), s4 = hn::GetLane(hn::SumOfLanes(d, m4[0]));
  int32_t n_at_most = 0, n_zeros = 0;
  if (kCount) {
    n_at_most = hn::GetLane(hn::SumOfLanes(di, at_most));
    n_zeros = hn::GetLane(hn::SumOfLanes(di, zeros));
  }
  for (int64_t c = body; c < K; ++c) {
    const float e = row[c] - mu, e2 = e * e;
    s2 += e2;
    s4 += e2 * e2;
    if (kCount) {
      const float a = std::fabs(row[c]);
      n_at_most += a <= bound;
      n_zeros += a == 0.0f;
    }
  }
  r->kurtosis = detail::kurtosis_of(s2, s4, K);
  r->at_most = n_at_most;
  r->zeros = n_zeros;
}

// Rows are taken two at a time, both first passes before both second passes: each row's second pass waits
// for its mean (a reduction, a conversion and a broadcast), and the other row's work fills that wait.
template <bool kCols, bool kCount, bool kSumsq>
void MomentsOfRows(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out) {
  const int64_t body = K - K % detail::kVirtualLanes;
  const double inv_K = 1.0 / double(K), factor = kCount ? detail::persistence_factor(tau_p) : 0.0;
  auto finish_first = [&](const FirstPass& p, RowMoments* r, float* mu, float* bound) {
    *mu = static_cast<float>(p.total * inv_K);
    *bound = kCount ? detail::bound_from(p.rmax, factor) : 0.0f;
    r->max_abs = p.rmax;
    r->sumsq = p.sumsq;
  };
  int64_t i = 0;
  for (; i + 2 <= T; i += 2) {
    const float* a = x + i * K;
    const float* b = a + K;
    const FirstPass pa = RowFirstPass<kCols, kSumsq>(a, K, body, col_max);
    const FirstPass pb = RowFirstPass<kCols, kSumsq>(b, K, body, col_max);
    float mu_a, mu_b, bound_a, bound_b;
    finish_first(pa, out + i, &mu_a, &bound_a);
    finish_first(pb, out + i + 1, &mu_b, &bound_b);
    RowSecondPass<kCount>(a, K, body, mu_a, bound_a, out + i);
    RowSecondPass<kCount>(b, K, body, mu_b, bound_b, out + i + 1);
  }
  for (; i < T; ++i) {
    const float* a = x + i * K;
    float mu, bound;
    finish_first(RowFirstPass<kCols, kSumsq>(a, K, body, col_max), out + i, &mu, &bound);
    RowSecondPass<kCount>(a, K, body, mu, bound, out + i);
  }
}

template <bool kSumsq>
void MomentsOfRowsFor(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out) {
  const bool count = tau_p > 0.0;
  if (col_max && count) return MomentsOfRows<true, true, kSumsq>(x, T, K, tau_p, col_max, out);
  if (col_max) return MomentsOfRows<true, false, kSumsq>(x, T, K, tau_p, col_max, out);
  if (count) return MomentsOfRows<false, true, kSumsq>(x, T, K, tau_p, col_max, out);
  MomentsOfRows<false, false, kSumsq>(x, T, K, tau_p, col_max, out);
}

void RowMomentsBlock(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, bool sumsq,
                     RowMoments* out) {
  if (sumsq) return MomentsOfRowsFor<true>(x, T, K, tau_p, col_max, out);
  MomentsOfRowsFor<false>(x, T, K, tau_p, col_max, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace stats
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qh::stats {

HWY_EXPORT(RowMomentsBlock);

float persistence_bound(float max_abs, double tau_p) {
  return detail::bound_from(max_abs, detail::persistence_factor(tau_p));
}

void row_moments(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out,
                 bool sumsq) {
  if (T <= 0) return;
  if (K <= 0) {
    std::fill(out, out + T, RowMoments{});
    return;
  }
  HWY_DYNAMIC_DISPATCH(RowMomentsBlock)(x, T, K, tau_p, col_max, sumsq, out);
}

void row_moments_reference(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out,
                           bool sumsq) {
  constexpr int V = detail::kVirtualLanes;
  const bool count = tau_p > 0.0;
  for (int64_t i = 0; i < T; ++i) {
    RowMoments& r = out[i];
    r = RowMoments{};
    if (K <= 0) continue;
    const float* row = x + i * K;
    float sum[V] = {}, m2[V] = {}, m4[V] = {};
    float rmax = 0.0f;
    for (int64_t c = 0; c < K; ++c) {
      const float a = std::fabs(row[c]);
      if (sumsq) r.sumsq += double(row[c]) * row[c];
      sum[c % V] += row[c];
      rmax = std::max(rmax, a);
      if (col_max) col_max[c] = std::max(col_max[c], a);
    }
    const float mu = static_cast<float>(detail::lane_sum(sum) * (1.0 / double(K)));
    const float bound = count ? persistence_bound(rmax, tau_p) : 0.0f;
    for (int64_t c = 0; c < K; ++c) {
      const float e = row[c] - mu, e2 = e * e;
      m2[c % V] += e2;
      m4[c % V] += e2 * e2;
      if (count) {
        const float a = std::fabs(row[c]);
        r.at_most += a <= bound;
        r.zeros += a == 0.0f;
      }
    }
    r.kurtosis = detail::kurtosis_of(detail::lane_sum(m2), detail::lane_sum(m4), K);
    r.max_abs = rmax;
  }
}

}  // namespace qh::stats
#endif  // HWY_ONCE
