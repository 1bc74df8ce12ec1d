// The channels protection C keeps (engine::protected_channels): the audit's outlier-channel rule
// (models/stats/activations.h) under the OutlierSettings, ascending; hand-made col_absmax with known answers.
#include <gtest/gtest.h>

#include <vector>

#include "src/engine/engine.h"

namespace qh::engine {
namespace {

TEST(ProtectedChannels, TopKByMaxAbsTiesToTheLowerChannel) {
  OutlierSettings o;  // top 2
  EXPECT_EQ(protected_channels({1, 9, 3, 9, 2}, o), (std::vector<int>{1, 3}));
  o.top_k_channels = 3;
  EXPECT_EQ(protected_channels({1, 9, 3, 9, 2}, o), (std::vector<int>{1, 2, 3}));
  o.top_k_channels = 10;  // more than there are: all of them
  EXPECT_EQ(protected_channels({1, 2}, o), (std::vector<int>{0, 1}));
  o.top_k_channels = 0;
  EXPECT_TRUE(protected_channels({1, 9}, o).empty());
}

TEST(ProtectedChannels, TauRuleAgainstTheMedian) {
  OutlierSettings o;
  o.tau_channels = 4;  // median of {1, 1, 2, 8, 40} is 2: channels >= 8
  EXPECT_EQ(protected_channels({40, 1, 8, 1, 2}, o), (std::vector<int>{0, 2}));
  // Even count: median of {1, 1, 3, 10} is 2; >= 8 keeps only channel 3.
  EXPECT_EQ(protected_channels({1, 3, 1, 10}, o), (std::vector<int>{3}));
}

// A zero median (most channels dead on the calibration data): a ratio to zero singles out nothing, so no
// channel is protected (marking every live channel would leave the whole site unquantized and credit its
// error to "outlier channels").
TEST(ProtectedChannels, ZeroMedianProtectsNothing) {
  OutlierSettings o;
  o.tau_channels = 20;
  EXPECT_TRUE(protected_channels({0, 0, 0, 5, 0.5f}, o).empty());
  EXPECT_TRUE(protected_channels({0, 0, 0, 0}, o).empty());
}

}  // namespace
}  // namespace qh::engine
