// The counting median of short double arrays (models/stats/small_median.h) on every compiled target against the
// exact median of src/core/median.h: every length 1..kSmallMedianMax on random values, many ties, all equal, signed values, infinities
// and values one ulp apart; the input must be left unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "models/stats/fused.h"
#include "models/stats/small_median.h"
#include "src/core/median.h"
#include "tests/hwy_per_target.h"

namespace qh::stats {
namespace {

class SmallMedianPerTarget : public qh::test::PerHwyTarget {};

TEST_P(SmallMedianPerTarget, EqualsTheExactMedian) {
  std::mt19937 rng(5);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_int_distribution<int> small(0, 3);
  for (int64_t n = 1; n <= kSmallMedianMax; ++n) {
    for (int kind = 0; kind < 6; ++kind) {
      std::vector<double> v(static_cast<size_t>(n));
      for (size_t i = 0; i < v.size(); ++i) {
        switch (kind) {
          case 0: v[i] = std::fabs(g(rng)) * 3.0; break;  // norms
          case 1: v[i] = small(rng); break;               // many ties
          case 2: v[i] = 7.25; break;                     // all equal
          case 3: v[i] = g(rng); break;                   // signed
          case 4: v[i] = i % 5 == 0 ? std::numeric_limits<double>::infinity() : g(rng); break;
          default: v[i] = std::nextafter(1.0, 2.0 * (i % 2)); break;  // one ulp either side of 1
        }
      }
      const std::vector<double> before = v;
      std::vector<double> buf(static_cast<size_t>(n + 8), -1.0);
      EXPECT_EQ(median_small(v.data(), n, buf.data()), qh::median(v)) << "n=" << n << " kind " << kind;
      EXPECT_EQ(v, before) << "n=" << n << " kind " << kind;
    }
  }
  EXPECT_EQ(median_small(nullptr, 0, nullptr), 0.0);
}

// median_in_place takes the counting path up to kSmallMedianMax values and selection above: both agree with the
// exact median across the boundary.
TEST_P(SmallMedianPerTarget, MedianInPlaceAgreesAcrossTheCutover) {
  std::mt19937 rng(9);
  std::exponential_distribution<double> e(1.0);
  for (int64_t n : {kSmallMedianMax - 1, kSmallMedianMax, kSmallMedianMax + 1, 2 * kSmallMedianMax + 1}) {
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = e(rng);
    const double want = qh::median(v);
    EXPECT_EQ(median_in_place(v.data(), n), want) << "n=" << n;
  }
}

QH_INSTANTIATE_PER_HWY_TARGET(SmallMedianPerTarget);

}  // namespace
}  // namespace qh::stats
