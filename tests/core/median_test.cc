// The one exact median (src/core/median.h) on hand-computed cases and against a full sort; the fast medians
// of models/stats are tested against it in tests/audit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "src/core/median.h"

namespace qh {
namespace {

TEST(Median, HandComputed) {
  EXPECT_EQ(median(std::vector<double>{}), 0.0);
  EXPECT_EQ(median(std::vector<double>{4.0}), 4.0);
  EXPECT_EQ(median(std::vector<double>{3, 1, 2}), 2.0);
  EXPECT_EQ(median(std::vector<double>{4, 1, 3, 2}), 2.5);
  EXPECT_EQ(median(std::vector<double>{5, 5, 5, 5}), 5.0);
  EXPECT_EQ(median(std::vector<double>{-1, 0, 0, 7}), 0.0);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(median(std::vector<double>{inf, 1, 2}), 2.0);
  EXPECT_EQ(median(std::vector<double>{inf, inf, 1, 2}), inf);
}

// The mean of the two middle floats is taken in double: no rounding to float, no overflow.
TEST(Median, FloatsAreAveragedInDouble) {
  const float big = std::numeric_limits<float>::max();
  EXPECT_EQ(median(std::vector<float>{big, big}), static_cast<double>(big));
  EXPECT_EQ(median(std::vector<float>{1.0f + 0x1p-23f, 1.0f}), 1.0 + 0x1p-24);  // not a float
}

TEST(Median, EqualsTheMiddleOfAFullSort) {
  std::mt19937 rng(1);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_int_distribution<int> ties(0, 3);
  for (int n = 1; n <= 300; ++n) {
    for (int kind = 0; kind < 2; ++kind) {
      std::vector<double> v(static_cast<size_t>(n));
      for (double& x : v) x = kind ? ties(rng) : g(rng);
      std::vector<double> sorted = v;
      std::sort(sorted.begin(), sorted.end());
      const double want = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
      EXPECT_EQ(median(v), want) << n;
      EXPECT_EQ(median_sorted(sorted.data(), n), want) << n;
      EXPECT_EQ(median_in_place(v.data(), n), want) << n;
    }
  }
}

}  // namespace
}  // namespace qh
