// Highway kernel of row_moments.h, compiled once per target through foreach_target.h and dispatched once per
// block of rows (the audit passes a whole site input or a thread's share of it).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "models/stats/row_moments.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

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

// One float step towards 0 / towards +inf for a finite float >= 0 (> 0 for the step down), by its bits: the
// library's nextafter is an out-of-line call, too slow for once per row.
inline float step_down(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  --bits;
  std::memcpy(&f, &bits, sizeof bits);
  return f;
}
inline float step_up(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  ++bits;
  std::memcpy(&f, &bits, sizeof bits);
  return f;
}

// (m4 / K) / (m2 / K)^2 with one division: the per-row divisions are on the kernel's critical path.
inline double kurtosis_of(double m2, double m4, int64_t K) { return m2 > 0.0 ? m4 * double(K) / (m2 * m2) : 0.0; }

// persistence_bound(rmax, tau_p) as a product: rmax * factor, factor >= (1 + 1e-6) / tau_p, rounded up to a
// float. factor and the product each round down by at most 2^-53, far less than the margin, so the result is
// never below rmax / tau_p (the exclusion test's requirement) and at most about 1e-6 above it.
inline double persistence_factor(double tau_p) { return (1.0 + 1e-6) / tau_p; }
// The other side: a float <= max_abs / tau_p by a relative 1e-6 or more (factor_down = (1 - 1e-6) / tau_p).
inline double persistence_factor_down(double tau_p) { return (1.0 - 1e-6) / tau_p; }
inline float bound_down_from(float max_abs, double factor_down) {
  const double exact_down = double(max_abs) * factor_down;
  const float b = static_cast<float>(exact_down);
  return double(b) <= exact_down ? b : step_down(b);  // b > exact_down >= 0 here
}
inline float bound_from(float max_abs, double factor) {
  const double exact_up = double(max_abs) * factor;
  const float b = static_cast<float>(exact_up);
  // Among subnormals the conversion may round below the product: then one float step up.
  return double(b) >= exact_up ? b : step_up(b);  // 0 <= b < exact_up, so b is finite
}

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

constexpr int64_t kTargetSelection = 8;   // narrow the bracket until at most this many values are left
constexpr int64_t kSmallSelection = 24;   // insertion sort up to this many values, nth_element above
constexpr int kMaxNarrowing = 8;

// {#(|x| <= t0), #(|x| <= t1)} in one pass.
void CountAtMost(const float* x, int64_t n, float t0, float t1, int64_t* c0, int64_t* c1) {
  const DF d;
  const DI di;
  const int64_t N = static_cast<int64_t>(kLanes);
  const auto v0 = hn::Set(d, t0), v1 = hn::Set(d, t1);
  auto a0 = hn::Zero(di), a1 = hn::Zero(di);
  int64_t c = 0;
  for (; c + N <= n; c += N) {
    const auto a = hn::Abs(hn::LoadU(d, x + c));
    a0 = hn::Sub(a0, hn::BitCast(di, hn::VecFromMask(d, hn::Le(a, v0))));
    a1 = hn::Sub(a1, hn::BitCast(di, hn::VecFromMask(d, hn::Le(a, v1))));
  }
  *c0 = hn::GetLane(hn::SumOfLanes(di, a0));
  *c1 = hn::GetLane(hn::SumOfLanes(di, a1));
  for (; c < n; ++c) {
    const float a = std::fabs(x[c]);
    *c0 += a <= t0;
    *c1 += a <= t1;
  }
}

// One pass over |x| for two thresholds: c[j] = #(|x| <= t[j]), below[j] = max{|x| <= t[j]} (-1 if none) and
// above[j] = min{|x| > t[j]} (+inf if none). With c = c[j], below and above are the order statistics s_(c-1)
// and s_c of the sorted |x|.
void SplitAt(const float* x, int64_t n, const float* t, int64_t* c, float* below, float* above) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto none_below = hn::Set(d, -1.0f), none_above = hn::Set(d, std::numeric_limits<float>::infinity());
  const auto v0 = hn::Set(d, t[0]), v1 = hn::Set(d, t[1]);
  auto c0 = hn::Zero(di), c1 = hn::Zero(di);
  auto b0 = none_below, b1 = none_below, a0 = none_above, a1 = none_above;
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto a = hn::Abs(hn::LoadU(d, x + i));
    const auto le0 = hn::Le(a, v0), le1 = hn::Le(a, v1);
    c0 = hn::Sub(c0, hn::BitCast(di, hn::VecFromMask(d, le0)));
    c1 = hn::Sub(c1, hn::BitCast(di, hn::VecFromMask(d, le1)));
    b0 = hn::Max(b0, hn::IfThenElse(le0, a, none_below));
    b1 = hn::Max(b1, hn::IfThenElse(le1, a, none_below));
    a0 = hn::Min(a0, hn::IfThenElse(le0, none_above, a));
    a1 = hn::Min(a1, hn::IfThenElse(le1, none_above, a));
  }
  c[0] = hn::GetLane(hn::SumOfLanes(di, c0));
  c[1] = hn::GetLane(hn::SumOfLanes(di, c1));
  below[0] = hn::GetLane(hn::MaxOfLanes(d, b0));
  below[1] = hn::GetLane(hn::MaxOfLanes(d, b1));
  above[0] = hn::GetLane(hn::MinOfLanes(d, a0));
  above[1] = hn::GetLane(hn::MinOfLanes(d, a1));
  for (; i < n; ++i) {
    const float a = std::fabs(x[i]);
    for (int j = 0; j < 2; ++j) {
      if (a <= t[j]) {
        ++c[j];
        below[j] = std::max(below[j], a);
      } else {
        above[j] = std::min(above[j], a);
      }
    }
  }
}

constexpr int64_t kSplitMaxWidth = 64;  // rows up to this width try SplitSearch first
constexpr int kMaxSplitPasses = 6;

// The median of |x| for a short row by splits: each SplitAt pass reveals, for each threshold, the two order
// statistics either side of it, and the two middle values (ranks lower and mid) are found once some split
// falls next to them. The thresholds start around the guess and are then interpolated by rank between the
// bracket's known extreme values, so each pass moves at least one value out of the bracket (lo, hi], which
// holds the values of ranks [n_lo, n_hi). No sort and no data-dependent stores: rows of one site have similar
// medians, and two or three passes usually suffice. Returns false after kMaxSplitPasses with the bracket
// narrowed (the caller's selection finishes the job).
bool SplitSearch(const float* x, int64_t n, float guess, float* lo, float* hi, int64_t* n_lo, int64_t* n_hi,
                 double* median) {
  const int64_t mid = n / 2, lower = (n - 1) / 2;
  float s_lower = 0.0f, s_mid = 0.0f;
  bool have_lower = false, have_mid = false;
  float min_in = 0.0f, max_in = 0.0f;  // s_(n_lo) and s_(n_hi - 1), once the bound on that side is known
  float t[2] = {guess / 1.05f, guess * 1.05f};
  for (int pass = 0; pass < kMaxSplitPasses; ++pass) {
    int64_t c[2];
    float below[2], above[2];
    SplitAt(x, n, t, c, below, above);
    for (int j = 0; j < 2; ++j) {
      const int64_t k = c[j];
      if (k - 1 == lower) s_lower = below[j], have_lower = true;
      if (k == lower) s_lower = above[j], have_lower = true;
      if (k - 1 == mid) s_mid = below[j], have_mid = true;
      if (k == mid) s_mid = above[j], have_mid = true;
      if (k <= lower && t[j] > *lo) *lo = t[j], *n_lo = k, min_in = above[j];
      if (k >= mid + 1 && t[j] < *hi) *hi = t[j], *n_hi = k, max_in = below[j];
    }
    if (have_lower && have_mid) {
      *median = n % 2 ? double(s_mid) : 0.5 * (double(s_lower) + s_mid);
      return true;
    }
    const bool has_lo = *lo >= 0.0f, has_hi = std::isfinite(*hi);
    if (has_lo && has_hi) {
      if (min_in == max_in) {  // one value fills the bracket, so both middle ranks
        *median = min_in;
        return true;
      }
      // Ranks lower + 1/2 and mid + 1/2 placed linearly between s_(n_lo) and s_(n_hi - 1), kept inside
      // [min_in, max_in) so that each threshold takes at least one value out of the bracket.
      const float span = max_in - min_in, m = static_cast<float>(*n_hi - 1 - *n_lo);
      const float top = std::nextafter(max_in, 0.0f);
      t[0] = std::min(top, std::max(min_in, min_in + span * (static_cast<float>(lower - *n_lo) + 0.5f) / m));
      t[1] = std::min(top, std::max(min_in, min_in + span * (static_cast<float>(mid - *n_lo) + 0.5f) / m));
    } else if (has_hi) {  // every threshold so far was above the middle: step down from s_(n_hi - 1)
      if (max_in <= 0.0f) {  // the middle values are at most 0: both are 0
        *median = 0.0;
        return true;
      }
      t[0] = max_in * 0.5f;
      t[1] = std::nextafter(max_in, 0.0f) * (1.0f / 1.1f);
    } else {  // every threshold so far was below the middle: step up from s_(n_lo)
      t[0] = min_in * 1.1f;
      t[1] = min_in * 2.0f;
      if (!std::isfinite(t[1])) t[1] = std::numeric_limits<float>::max();
      if (!std::isfinite(t[0])) t[0] = min_in;
    }
  }
  return false;
}

// Median of |x| over n >= 1 entries (finite). The two middle values (ranks lower and mid of the sorted |x|) are
// bracketed by counting: lo < |x|_(lower) holds while #(|x| <= lo) <= lower, |x|_(mid) <= hi while
// #(|x| <= hi) >= mid + 1. Starting from thresholds around the guess (the previous row's median), the bracket
// is narrowed until at most kTargetSelection entries lie in (lo, hi]; only those are selected from (copied
// into buf). The middle values, hence the result, are exactly those of a full selection.
double MedianAbsRow(const float* x, int64_t n, float guess, float* buf) {
  const DF d;
  const int64_t N = static_cast<int64_t>(kLanes);
  const int64_t mid = n / 2, lower = (n - 1) / 2;
  float lo = -1.0f, hi = std::numeric_limits<float>::infinity();
  int64_t n_lo = 0, n_hi = n;  // #(|x| <= lo), #(|x| <= hi)
  const bool guessed = guess > 0.0f && guess < 1e30f;
  if (guessed && n <= kSplitMaxWidth) {
    double median;
    if (SplitSearch(x, n, guess, &lo, &hi, &n_lo, &n_hi, &median)) return median;
  }
  for (int it = 0; guessed && it < kMaxNarrowing && n_hi - n_lo > kTargetSelection; ++it) {
    // Two thresholds: around the guess first, then inside the bracket (thirds), or further out on its open side.
    const bool has_lo = lo >= 0.0f, has_hi = std::isfinite(hi);
    float t[2];
    if (has_lo && has_hi) {
      t[0] = lo + (hi - lo) / 3.0f;
      t[1] = lo + (hi - lo) * (2.0f / 3.0f);
    } else if (has_hi) {
      t[0] = hi * 0.25f;
      t[1] = hi * 0.6f;
    } else if (has_lo) {
      t[0] = lo * 1.6f;
      t[1] = lo * 4.0f;
    } else {
      t[0] = guess / 1.2f;
      t[1] = guess * 1.2f;
    }
    if (!(t[0] > lo && t[1] < hi && t[0] <= t[1])) break;  // no room left between the bounds (or overflow)
    int64_t k[2];
    CountAtMost(x, n, t[0], t[1], &k[0], &k[1]);
    for (int j = 0; j < 2; ++j) {
      if (k[j] <= lower && t[j] > lo) lo = t[j], n_lo = k[j];
      if (k[j] >= mid + 1 && t[j] < hi) hi = t[j], n_hi = k[j];
    }
  }
  int64_t m = 0;
  if (n_hi - n_lo < n) {
    // Most entries lie outside the bracket: test a vector at a time, copy the few inside one by one (Highway
    // 1.0's CompressStore rebuilds its 1 KiB index table on every call).
    const auto vlo = hn::Set(d, lo), vhi = hn::Set(d, hi);
    int64_t c = 0;
    for (; c + N <= n; c += N) {
      const auto a = hn::Abs(hn::LoadU(d, x + c));
      uint8_t bits[8] = {};
      hn::StoreMaskBits(d, hn::And(hn::Gt(a, vlo), hn::Le(a, vhi)), bits);
      for (unsigned b = bits[0]; b != 0; b &= b - 1) buf[m++] = std::fabs(x[c + __builtin_ctz(b)]);
    }
    for (; c < n; ++c) {
      const float a = std::fabs(x[c]);
      buf[m] = a;
      m += a > lo && a <= hi;
    }
  } else {
    int64_t c = 0;
    for (; c + N <= n; c += N) hn::StoreU(hn::Abs(hn::LoadU(d, x + c)), d, buf + c);
    for (; c < n; ++c) buf[c] = std::fabs(x[c]);
    m = n;
    n_lo = 0;
  }
  float* upper = buf + (mid - n_lo);
  if (m <= kSmallSelection) {
    // Few values (the usual case): an insertion sort is cheaper than nth_element.
    for (int64_t i = 1; i < m; ++i) {
      const float v = buf[i];
      int64_t j = i;
      for (; j > 0 && buf[j - 1] > v; --j) buf[j] = buf[j - 1];
      buf[j] = v;
    }
    return n % 2 ? double(*upper) : 0.5 * (double(*upper) + upper[-1]);
  }
  std::nth_element(buf, upper, buf + m);
  double med = *upper;
  if (n % 2 == 0) med = 0.5 * (med + *std::max_element(buf, upper));
  return med;
}

// hits[c] += |x[c]| >= at_least.
void CountAtLeast(const float* x, int64_t n, float at_least, int32_t* hits) {
  const DF d;
  const DI di;
  const int64_t N = static_cast<int64_t>(kLanes);
  const auto vt = hn::Set(d, at_least);
  int64_t c = 0;
  for (; c + N <= n; c += N) {
    const auto hit = hn::BitCast(di, hn::VecFromMask(d, hn::Ge(hn::Abs(hn::LoadU(d, x + c)), vt)));
    hn::StoreU(hn::Sub(hn::LoadU(di, hits + c), hit), di, hits + c);
  }
  for (; c < n; ++c) hits[c] += std::fabs(x[c]) >= at_least;
}

// Whether the entries equal to rmax (the row's max |x|, > 0) are the row's only persistence hits, decided
// without the median in two passes: if at least half the row is at most rmax / tau_p rounded down, so is the
// median, and tau_p times it stays below rmax (the max entries are hits); if more than half the row exceeds
// second / tau_p rounded up (second: the second largest |x|, rmax again when it occurs twice), so does the
// median, and no other entry reaches the threshold. Both margins (a relative 1e-6) exceed the double threshold's
// rounding; second > 0 keeps the threshold above 0. Counts the hits and returns true, or returns false.
bool MaxOnlyHits(const float* x, int64_t n, float rmax, double tau_p, int32_t* hits) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t mid = n / 2, lower = (n - 1) / 2;
  const float down = detail::bound_down_from(rmax, detail::persistence_factor_down(tau_p));
  // Pass 1: #(|x| <= down) and the two largest |x| per lane.
  const auto vdown = hn::Set(d, down);
  auto count = hn::Zero(di);
  auto top = hn::Zero(d), second = hn::Zero(d);
  int64_t c = 0;
  for (; c + N <= n; c += N) {
    const auto a = hn::Abs(hn::LoadU(d, x + c));
    count = hn::Sub(count, hn::BitCast(di, hn::VecFromMask(d, hn::Le(a, vdown))));
    second = hn::Max(second, hn::Min(top, a));
    top = hn::Max(top, a);
  }
  int64_t below = hn::GetLane(hn::SumOfLanes(di, count));
  const auto vtop = hn::MaxOfLanes(d, top);
  const auto at_top = hn::Eq(top, vtop);
  const float top_all = hn::GetLane(vtop);
  float sec = hn::GetLane(hn::MaxOfLanes(d, second));
  // The other lanes' maxima: the max itself if two lanes hold it.
  sec = std::max(sec, hn::CountTrue(d, at_top) > 1 ? top_all : hn::GetLane(hn::MaxOfLanes(d, hn::IfThenZeroElse(at_top, top))));
  float best = top_all;
  for (; c < n; ++c) {
    const float a = std::fabs(x[c]);
    below += a <= down;
    sec = std::max(sec, std::min(best, a));
    best = std::max(best, a);
  }
  if (below < mid + 1 || !(sec > 0.0f)) return false;
  // Pass 2: #(|x| <= second / tau_p rounded up).
  const float second_up = detail::bound_from(sec, detail::persistence_factor(tau_p));
  const auto vsec = hn::Set(d, second_up);
  auto count2 = hn::Zero(di);
  for (c = 0; c + N <= n; c += N)
    count2 = hn::Sub(count2, hn::BitCast(di, hn::VecFromMask(d, hn::Le(hn::Abs(hn::LoadU(d, x + c)), vsec))));
  int64_t at_most_second = hn::GetLane(hn::SumOfLanes(di, count2));
  for (; c < n; ++c) at_most_second += std::fabs(x[c]) <= second_up;
  if (at_most_second > lower) return false;
  CountAtLeast(x, n, rmax, hits);
  return true;
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
HWY_EXPORT(MedianAbsRow);
HWY_EXPORT(CountAtLeast);
HWY_EXPORT(MaxOnlyHits);

double median_abs_row(const float* x, int64_t n, float guess, float* buf) {
  if (n <= 0) return 0.0;
  return HWY_DYNAMIC_DISPATCH(MedianAbsRow)(x, n, guess, buf);
}

double median_abs_row_reference(const float* x, int64_t n) {
  if (n <= 0) return 0.0;
  std::vector<float> a(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) a[c] = std::fabs(x[c]);
  std::sort(a.begin(), a.end());
  return n % 2 ? a[n / 2] : 0.5 * (double(a[n / 2 - 1]) + a[n / 2]);
}

void count_at_least(const float* x, int64_t n, double threshold, int32_t* hits) {
  // |x| >= threshold (double) exactly when |x| >= the smallest float not below the threshold.
  float f = static_cast<float>(threshold);
  if (double(f) < threshold) f = f >= 0.0f ? detail::step_up(f) : std::nextafter(f, std::numeric_limits<float>::infinity());
  HWY_DYNAMIC_DISPATCH(CountAtLeast)(x, n, f, hits);
}

void persistence_hits(const float* x, int64_t n, float max_abs, double tau_p, float* guess, float* buf,
                      int32_t* hits) {
  if (n <= 0 || !(tau_p > 0.0)) return;
  if (max_abs > 0.0f && HWY_DYNAMIC_DISPATCH(MaxOnlyHits)(x, n, max_abs, tau_p, hits)) return;
  const double med = median_abs_row(x, n, *guess, buf);
  *guess = static_cast<float>(med);
  const double thr = tau_p * med;
  if (thr > 0.0) count_at_least(x, n, thr, hits);
}

void persistence_hits_reference(const float* x, int64_t n, double tau_p, int32_t* hits) {
  if (n <= 0 || !(tau_p > 0.0)) return;
  const double thr = tau_p * median_abs_row_reference(x, n);
  if (!(thr > 0.0)) return;
  for (int64_t c = 0; c < n; ++c) hits[c] += double(std::fabs(x[c])) >= thr;
}

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
