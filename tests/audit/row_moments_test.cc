// The Highway row-moments kernel (models/stats/row_moments.h) and the median / persistence kernels
// (models/stats/row_median.h) on every compiled target against its scalar
// reference and against the double-precision row_kurtosis: random rows of every width 0..40 plus long ones
// (odd tails of every length), and adversarial rows (all zero, constant, one huge entry, mostly zero, ties at
// the persistence bound, values near the float limit). Maxima, column maxima and counts must be equal; the
// kurtosis and the double sum of squares add in another order, so they agree to a relative 1e-6 / K ulps.
// The persistence helpers (median of |x| with a guess, hit counts against a double threshold, the persistence
// test) must be exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "models/stats/activations.h"
#include "models/stats/row_median.h"
#include "models/stats/row_moments.h"
#include "tests/hwy_per_target.h"

namespace qh::stats {
namespace {

class RowMomentsPerTarget : public qh::test::PerHwyTarget {};

// T rows of width K: row kind i % 8 picks random, zero, constant, one huge entry, mostly zero, ties, near-max.
std::vector<float> rows(int64_t T, int64_t K, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(T * K));
  for (int64_t i = 0; i < T; ++i)
    for (int64_t c = 0; c < K; ++c) {
      float v = g(rng);
      switch (i % 8) {
        case 1: v = 0.0f; break;
        case 2: v = -2.5f; break;
        case 3: v = c == K / 2 ? 1e9f : v; break;  // e^4 still finite in float
        case 4: v = v > 1.0f ? v : 0.0f; break;
        case 5: v = c % 2 ? 5.0f : 1.0f; break;  // |x| = rmax / tau_p exactly for tau_p = 5
        case 6: v = (c % 3 ? 1.0f : -1.0f) * 3e38f; break;
        default: break;
      }
      x[i * K + c] = v;
    }
  return x;
}

void compare(const std::vector<float>& x, int64_t T, int64_t K, double tau_p, bool cols, bool sumsq,
             const std::string& label) {
  std::vector<RowMoments> got(T), want(T);
  std::vector<float> cm_got(K, 0.5f), cm_want(K, 0.5f);  // starts above 0: maxima merge with earlier calls
  row_moments(x.data(), T, K, tau_p, cols ? cm_got.data() : nullptr, got.data(), sumsq);
  row_moments_reference(x.data(), T, K, tau_p, cols ? cm_want.data() : nullptr, want.data(), sumsq);
  EXPECT_EQ(cm_got, cm_want) << label;
  for (int64_t i = 0; i < T; ++i) {
    const std::string at = label + " row " + std::to_string(i);
    EXPECT_EQ(got[i].max_abs, want[i].max_abs) << at;
    EXPECT_EQ(got[i].at_most, want[i].at_most) << at;
    EXPECT_EQ(got[i].zeros, want[i].zeros) << at;
    // Double lanes add in another order: a rounding error of at most about K ulps.
    const double rel = 1.2e-16 * double(K + 8);
    EXPECT_NEAR(got[i].sumsq, want[i].sumsq, rel * want[i].sumsq) << at;
    if (sumsq) {
      double naive = 0;
      for (int64_t c = 0; c < K; ++c) naive += double(x[i * K + c]) * x[i * K + c];
      EXPECT_NEAR(want[i].sumsq, naive, rel * naive) << at;
    } else {
      EXPECT_EQ(got[i].sumsq, 0.0) << at;
    }
    if (std::isfinite(want[i].kurtosis))
      EXPECT_NEAR(got[i].kurtosis, want[i].kurtosis, 1e-6 * std::fabs(want[i].kurtosis)) << at;
    else
      EXPECT_EQ(std::isfinite(got[i].kurtosis), false) << at;  // 3e38 rows overflow the float moments in both
  }
}

TEST_P(RowMomentsPerTarget, EqualsTheScalarReference) {
  std::mt19937 rng(5);
  std::vector<int64_t> widths;
  for (int64_t k = 0; k <= 40; ++k) widths.push_back(k);
  for (int64_t k : {63, 64, 65, 127, 128, 129, 1000, 4096}) widths.push_back(k);
  for (int64_t K : widths) {
    const int64_t T = 9;
    const std::vector<float> x = rows(T, K, rng);
    for (double tau_p : {5.0, 0.0})
      for (bool cols : {true, false})
        for (bool sumsq : {true, false})
          compare(x, T, K, tau_p, cols, sumsq,
                  "K=" + std::to_string(K) + " tau=" + std::to_string(tau_p) + (cols ? " cols" : "") +
                      (sumsq ? " sumsq" : ""));
  }
}

TEST_P(RowMomentsPerTarget, CountsAndMaximaOfAKnownRow) {
  // |x| = {0, 1, 2, 3, 0, 10, 2, 0, 1}: rmax 10, bound 10/5 (+1e-6): |x| <= 2 on 7 entries, 3 zeros.
  const float x[9] = {0, -1, 2, -3, 0, 10, -2, 0, 1};
  RowMoments m;
  std::vector<float> cm(9, 0.0f);
  row_moments(x, 1, 9, 5.0, cm.data(), &m);
  EXPECT_EQ(m.max_abs, 10.0f);
  EXPECT_EQ(m.at_most, 7);
  EXPECT_EQ(m.zeros, 3);
  EXPECT_EQ(cm, (std::vector<float>{0, 1, 2, 3, 0, 10, 2, 0, 1}));
  // mean 7/9; population kurtosis from the double formula.
  EXPECT_NEAR(m.kurtosis, row_kurtosis(x, 9), 1e-6 * row_kurtosis(x, 9));
  row_moments(x, 1, 9, 0.0, nullptr, &m);  // tau_p 0: no counts
  EXPECT_EQ(m.at_most, 0);
  EXPECT_EQ(m.zeros, 0);
  // Small integers are exact: {1, -1, 1, -1} has kurtosis 1, {0, 0, 0, 4} 21/9.
  const float ints[8] = {1, -1, 1, -1, 0, 0, 0, 4};
  RowMoments two[2];
  row_moments(ints, 2, 4, 0.0, nullptr, two);
  EXPECT_DOUBLE_EQ(two[0].kurtosis, 1.0);
  EXPECT_DOUBLE_EQ(two[1].kurtosis, 21.0 / 9.0);
}

TEST_P(RowMomentsPerTarget, KurtosisWithinOneMillionthOfDouble) {
  std::mt19937 rng(12);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int64_t K : {2, 7, 32, 33, 128, 4096}) {
    std::vector<float> x(static_cast<size_t>(4 * K));
    for (int64_t i = 0; i < 4 * K; ++i) x[i] = 3.0f + g(rng) * (i % K == 1 ? 30.0f : 1.0f);  // offset, outlier
    std::vector<RowMoments> m(4);
    row_moments(x.data(), 4, K, 5.0, nullptr, m.data());
    for (int i = 0; i < 4; ++i) {
      const double want = row_kurtosis(x.data() + i * K, K);
      EXPECT_NEAR(m[i].kurtosis, want, 2e-6 * want) << K << " " << i;
    }
  }
}

TEST_P(RowMomentsPerTarget, MedianAbsEqualsAFullSortWhateverTheGuess) {
  std::mt19937 rng(21);
  std::vector<int64_t> widths;
  for (int64_t k = 1; k <= 40; ++k) widths.push_back(k);
  for (int64_t k : {64, 127, 128, 1000}) widths.push_back(k);
  for (int64_t K : widths) {
    const std::vector<float> x = rows(8, K, rng);
    std::vector<float> buf(K + 16);
    for (int64_t i = 0; i < 8; ++i) {
      const float* row = x.data() + i * K;
      const double want = median_abs_row_reference(row, K);
      // No guess, the exact median (bracket holds), near misses on both sides, far off, and degenerate guesses.
      for (float guess : {0.0f, float(want), float(want) * 0.76f, float(want) * 1.3f, float(want) * 0.7f,
                          float(want) * 1.4f, float(want) * 100.0f, 1e-30f, 1e35f, -1.0f}) {
        EXPECT_EQ(median_abs_row(row, K, guess, buf.data()), want) << "K=" << K << " row " << i << " guess " << guess;
      }
    }
  }
  // Short rows take the split search (several passes, interpolated thresholds): runs of rows as a site gives
  // them, each guessed by the previous row's median, from smooth, tied, heavy-tailed and mostly-zero data.
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::uniform_int_distribution<int> level(-3, 3);
  std::exponential_distribution<float> e(1.0f);
  for (int64_t K = 1; K <= 70; ++K) {
    std::vector<float> buf(K + 16), row(K);
    float guess = 0.0f;
    for (int i = 0; i < 60; ++i) {
      for (int64_t c = 0; c < K; ++c) {
        switch (i % 4) {
          case 0: row[c] = g(rng); break;
          case 1: row[c] = static_cast<float>(level(rng)); break;
          case 2: row[c] = e(rng) * e(rng) * (c % 2 ? -1.0f : 1.0f); break;
          default: row[c] = c % 3 ? 0.0f : g(rng); break;
        }
      }
      const double want = median_abs_row_reference(row.data(), K);
      ASSERT_EQ(median_abs_row(row.data(), K, guess, buf.data()), want) << "K=" << K << " row " << i << " guess " << guess;
      guess = static_cast<float>(want);
    }
  }
  float buf[17];
  EXPECT_EQ(median_abs_row(nullptr, 0, 1.0f, buf), 0.0);
  const float one[1] = {-3.0f};
  EXPECT_EQ(median_abs_row(one, 1, 3.0f, buf), 3.0);
  const float pair[2] = {-1.0f, 2.0f};
  EXPECT_EQ(median_abs_row(pair, 2, 1.5f, buf), 1.5);
}

TEST_P(RowMomentsPerTarget, CountAtLeastComparesInDouble) {
  std::mt19937 rng(31);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int64_t K : {1, 3, 8, 9, 16, 17, 33, 128, 131}) {
    std::vector<float> x(K);
    for (float& v : x) v = g(rng);
    x[0] = 1.5f;  // exactly at one of the thresholds below
    for (double thr : {1.5, std::nextafter(1.5, 0.0), std::nextafter(1.5, 2.0), 0.0, 0.3, 1e-40, 1e40}) {
      std::vector<int32_t> got(K, 7), want(K, 7);
      count_at_least(x.data(), K, thr, got.data());
      for (int64_t c = 0; c < K; ++c) want[c] += double(std::fabs(x[c])) >= thr;
      EXPECT_EQ(got, want) << "K=" << K << " thr=" << thr;
    }
  }
}

// The persistence test must count the reference's hits whatever the median's guess, on rows with entries placed
// exactly at tau_p * median and one float step either side of it, where only an exact decision is right.
TEST_P(RowMomentsPerTarget, PersistenceHitsEqualTheReferenceWhateverTheGuess) {
  std::mt19937 rng(41);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<int64_t> widths;
  for (int64_t k = 1; k <= 40; ++k) widths.push_back(k);
  for (int64_t k : {64, 127, 128, 1000}) widths.push_back(k);
  int64_t with_hits = 0;
  for (int64_t K : widths) {
    std::vector<float> x = rows(8, K, rng);
    // Two more kinds: a few planted outliers, and an entry right at the threshold (the median is unchanged by
    // moving the largest entry, so its placement is exact for K >= 3).
    std::vector<float> extra(static_cast<size_t>(4 * K));
    for (int64_t i = 0; i < 4; ++i) {
      float* row = extra.data() + i * K;
      for (int64_t c = 0; c < K; ++c) row[c] = g(rng);
      if (i == 0)
        for (int64_t c = 0; c < K; c += 7) row[c] *= 40.0f;
      if (i >= 1 && K >= 3) {
        const int64_t top = std::max_element(row, row + K, [](float a, float b) { return std::fabs(a) < std::fabs(b); }) - row;
        row[top] = 0.0f;  // |0| is below the median of the others' |x| or equal to it: the median cannot rise
        const double med = median_abs_row_reference(row, K);
        float at = static_cast<float>(5.0 * med);
        if (i == 2) at = std::nextafter(at, 0.0f);
        if (i == 3) at = std::nextafter(at, 1e30f);
        row[top] = -at;  // the largest |x| again: the median is what it was
        if (median_abs_row_reference(row, K) != med) row[top] = at;  // (never, but keep the test honest)
      }
    }
    x.insert(x.end(), extra.begin(), extra.end());
    const int64_t T = static_cast<int64_t>(x.size()) / K;
    std::vector<float> buf(K + 16);
    for (int64_t i = 0; i < T; ++i) {
      const float* row = x.data() + i * K;
      const float med = static_cast<float>(median_abs_row_reference(row, K));
      float rmax = 0.0f;
      for (int64_t c = 0; c < K; ++c) rmax = std::max(rmax, std::fabs(row[c]));
      for (double tau : {5.0, 1.0, 0.5}) {
        std::vector<int32_t> want(K, 3);
        persistence_hits_reference(row, K, tau, want.data());
        for (float guess : {0.0f, med, med * 1.05f, med * 0.9f, med * 1.19f, med / 1.19f, med * 1.3f, med * 0.7f,
                            med * 100.0f, 1e-30f, 1e35f, -1.0f}) {
          std::vector<int32_t> got(K, 3);
          float gs = guess;
          persistence_hits(row, K, rmax, tau, &gs, buf.data(), got.data());
          ASSERT_EQ(got, want) << "K=" << K << " row " << i << " tau " << tau << " guess " << guess;
        }
        with_hits += want != std::vector<int32_t>(K, 3);
      }
    }
  }
  EXPECT_GT(with_hits, 100);  // the cases are not all hit-free
}

TEST(RowMoments, PersistenceBoundIsNeverBelowTheExactQuotient) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1e6f);
  for (int trial = 0; trial < 10000; ++trial) {
    const float rmax = trial == 0 ? std::numeric_limits<float>::denorm_min() : u(rng);
    for (double tau : {5.0, 3.0, 1.0, 0.7}) EXPECT_GE(double(persistence_bound(rmax, tau)), double(rmax) / tau);
  }
}

QH_INSTANTIATE_PER_HWY_TARGET(RowMomentsPerTarget);

}  // namespace
}  // namespace qh::stats
