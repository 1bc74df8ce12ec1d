// The project's PRNG (src/core/rng.h) against values of the published algorithms computed independently
// (splitmix64 and xoshiro256** from their reference descriptions, in a few lines of Python), and its
// distributions against their moments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "src/core/rng.h"

namespace qh {
namespace {

TEST(Rng, SplitMix64FromZeroGivesTheReferenceSequence) {
  uint64_t state = 0;
  EXPECT_EQ(splitmix64(&state), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(splitmix64(&state), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(splitmix64(&state), 0x06C45D188009454Full);
  EXPECT_EQ(splitmix64(&state), 0xF88BB8A8724C81ECull);
}

TEST(Rng, Xoshiro256StarStarSeededThroughSplitMix) {
  Rng rng(0);
  const uint64_t want[] = {0x99EC5F36CB75F2B4ull, 0xBF6E1F784956452Aull, 0x1A5F849D4933E6E0ull,
                           0x6AA594F1262D2D2Cull, 0xBBA5AD4A1F842E59ull};
  for (uint64_t w : want) EXPECT_EQ(rng.next(), w);
}

TEST(Rng, MixSeedIsOneSplitMixRoundOfTheMixedInputs) {
  EXPECT_EQ(mix_seed(7, 3), 0xDCFA1426C230EF5Full);
  EXPECT_NE(mix_seed(7, 3), mix_seed(7, 4));
  EXPECT_NE(mix_seed(7, 3), mix_seed(8, 3));
}

TEST(Rng, UniformAndBelowStayInRange) {
  Rng rng(11);
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ASSERT_GT(rng.uniform_open(), 0.0);
    ASSERT_LT(rng.below(7), 7u);
  }
}

// Mean and variance of n draws within 5 standard errors of the distribution's.
void expect_moments(const std::vector<double>& x, double mean, double var) {
  const double n = static_cast<double>(x.size());
  double s = 0, ss = 0;
  for (double v : x) s += v;
  const double m = s / n;
  for (double v : x) ss += (v - m) * (v - m);
  EXPECT_NEAR(m, mean, 5.0 * std::sqrt(var / n));
  EXPECT_NEAR(ss / (n - 1), var, 0.05 * var);
}

TEST(Rng, NormalHasMeanZeroAndUnitVariance) {
  Rng rng(5);
  std::vector<double> x(200000);
  for (double& v : x) v = rng.normal();
  expect_moments(x, 0.0, 1.0);
}

TEST(Rng, GammaHasMeanAndVarianceEqualToItsShape) {
  for (double shape : {0.3, 1.0, 2.5}) {
    Rng rng(9);
    std::vector<double> x(200000);
    for (double& v : x) v = rng.gamma(shape);
    for (double v : x) ASSERT_GT(v, 0.0);
    expect_moments(x, shape, shape);
  }
}

TEST(Rng, CategoricalFollowsItsProbabilitiesAndSkipsZeros) {
  Rng rng(3);
  const double p[4] = {0.2, 0.0, 0.5, 0.3};
  int count[4] = {0, 0, 0, 0};
  const int n = 100000;
  for (int i = 0; i < n; ++i) ++count[rng.categorical(p, 4)];
  EXPECT_EQ(count[1], 0);
  for (int k : {0, 2, 3}) EXPECT_NEAR(count[k] / double(n), p[k], 0.01);
}

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.normal(), b.normal());
}

}  // namespace
}  // namespace qh
