// Highway kernel of row_moments.h, compiled once per target through foreach_target.h and dispatched once per
// block of rows (the audit passes a whole site input or a thread's share of it).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "models/stats/row_moments.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <limits>

#include "hwy/highway.h"
#include "models/stats/row_moments.h"

#ifndef QH_STATS_ROW_MOMENTS_SHARED
#define QH_STATS_ROW_MOMENTS_SHARED
namespace qh::stats::detail {

constexpr int kVirtualLanes = 8;

// The fixed reduction tree of the 8 virtual lanes, in double.
inline double lane_sum(const float* l) {
  return ((double(l[0]) + l[1]) + (double(l[2]) + l[3])) + ((double(l[4]) + l[5]) + (double(l[6]) + l[7]));
}

inline double kurtosis_of(double m2, double m4, int64_t K) {
  const double v2 = m2 / K, v4 = m4 / K;
  return v2 > 0.0 ? v4 / (v2 * v2) : 0.0;
}

}  // namespace qh::stats::detail
#endif

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace stats {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 8 lanes: wider targets run 8-lane vectors, narrower ones several vectors per 8 virtual lanes.
using DF = hn::CappedTag<float, detail::kVirtualLanes>;
using DI = hn::RebindToSigned<DF>;
constexpr size_t kLanes = hn::MaxLanes(DF());
constexpr size_t kVectors = detail::kVirtualLanes / kLanes;
static_assert(kLanes * kVectors == detail::kVirtualLanes, "the virtual lanes must tile the vectors");

template <bool kCols, bool kCount>
void MomentsOfRows(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out) {
  const DF d;
  const DI di;
  const int64_t body = K - K % detail::kVirtualLanes;
  HWY_ALIGN float lanes[detail::kVirtualLanes];
  HWY_ALIGN int32_t counts[2][detail::kVirtualLanes];
  for (int64_t i = 0; i < T; ++i) {
    const float* row = x + i * K;
    // Pass 1: sum, max |x|, column maxima.
    hn::Vec<DF> sum[kVectors], mx[kVectors];
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
      }
    }
    for (size_t u = 0; u < kVectors; ++u) hn::Store(mx[u], d, lanes + u * kLanes);
    float rmax = *std::max_element(lanes, lanes + detail::kVirtualLanes);
    for (size_t u = 0; u < kVectors; ++u) hn::Store(sum[u], d, lanes + u * kLanes);
    for (int64_t c = body; c < K; ++c) {
      const float a = std::fabs(row[c]);
      lanes[c - body] += row[c];
      rmax = std::max(rmax, a);
      if (kCols) col_max[c] = std::max(col_max[c], a);
    }
    const float mu = static_cast<float>(detail::lane_sum(lanes) / K);
    const float bound = kCount ? persistence_bound(rmax, tau_p) : 0.0f;
    // Pass 2: central moments and the persistence counts.
    hn::Vec<DF> m2[kVectors], m4[kVectors];
    hn::Vec<DI> at_most[kVectors], zeros[kVectors];
    for (size_t u = 0; u < kVectors; ++u) {
      m2[u] = m4[u] = hn::Zero(d);
      at_most[u] = zeros[u] = hn::Zero(di);
    }
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
          at_most[u] = hn::Sub(at_most[u], hn::BitCast(di, hn::VecFromMask(d, hn::Le(a, vbound))));
          zeros[u] = hn::Sub(zeros[u], hn::BitCast(di, hn::VecFromMask(d, hn::Eq(a, zero))));
        }
      }
    }
    HWY_ALIGN float lanes4[detail::kVirtualLanes];
    for (size_t u = 0; u < kVectors; ++u) {
      hn::Store(m2[u], d, lanes + u * kLanes);
      hn::Store(m4[u], d, lanes4 + u * kLanes);
      hn::Store(at_most[u], di, counts[0] + u * kLanes);
      hn::Store(zeros[u], di, counts[1] + u * kLanes);
    }
    int32_t n_at_most = 0, n_zeros = 0;
    for (int j = 0; j < detail::kVirtualLanes; ++j) {
      n_at_most += counts[0][j];
      n_zeros += counts[1][j];
    }
    for (int64_t c = body; c < K; ++c) {
      const float e = row[c] - mu, e2 = e * e;
      lanes[c - body] += e2;
      lanes4[c - body] += e2 * e2;
      const float a = std::fabs(row[c]);
      n_at_most += a <= bound;
      n_zeros += a == 0.0f;
    }
    RowMoments& r = out[i];
    r.kurtosis = detail::kurtosis_of(detail::lane_sum(lanes), detail::lane_sum(lanes4), K);
    r.max_abs = rmax;
    r.at_most = kCount ? n_at_most : 0;
    r.zeros = kCount ? n_zeros : 0;
  }
}

void RowMomentsBlock(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out) {
  const bool count = tau_p > 0.0;
  if (col_max && count) return MomentsOfRows<true, true>(x, T, K, tau_p, col_max, out);
  if (col_max) return MomentsOfRows<true, false>(x, T, K, tau_p, col_max, out);
  if (count) return MomentsOfRows<false, true>(x, T, K, tau_p, col_max, out);
  MomentsOfRows<false, false>(x, T, K, tau_p, col_max, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace stats
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qh::stats {

HWY_EXPORT(RowMomentsBlock);

float persistence_bound(float max_abs, double tau_p) {
  // Computed in double with a 1e-6 margin; the conversion to float moves it by less than 1e-7 relative except
  // among subnormals, where it may round below the quotient: then one float step up.
  const double q = double(max_abs) / tau_p * (1.0 + 1e-6);
  const float b = static_cast<float>(q);
  return double(b) >= q ? b : std::nextafter(b, std::numeric_limits<float>::infinity());
}

void row_moments(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out) {
  if (T <= 0) return;
  if (K <= 0) {
    std::fill(out, out + T, RowMoments{});
    return;
  }
  HWY_DYNAMIC_DISPATCH(RowMomentsBlock)(x, T, K, tau_p, col_max, out);
}

void row_moments_reference(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out) {
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
      sum[c % V] += row[c];
      rmax = std::max(rmax, a);
      if (col_max) col_max[c] = std::max(col_max[c], a);
    }
    const float mu = static_cast<float>(detail::lane_sum(sum) / K);
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
