// Highway kernels of row_median.h (medians of |x| of a row, the persistence test), compiled once per target
// through foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "models/stats/row_median.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "hwy/highway.h"
#include "models/stats/persistence_bounds.h"
#include "models/stats/row_median.h"
#include "src/core/median.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace stats {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The bracket search counts in vectors of at most 8 floats (rows are often 32 wide).
using DF = hn::CappedTag<float, 8>;
using DI = hn::RebindToSigned<DF>;
constexpr size_t kLanes = hn::MaxLanes(DF());

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

}  // namespace HWY_NAMESPACE
}  // namespace stats
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qh::stats {

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
  return qh::median_in_place(a.data(), n);
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

}  // namespace qh::stats
#endif  // HWY_ONCE
