// The two-player Shapley split of ARCHITECTURE.md 1.6.
#include <gtest/gtest.h>

#include <cmath>

#include "src/audit/attribution.h"

namespace qh::audit {
namespace {

TEST(Shapley, PartsSumToTheTotal) {
  const double cases[][4] = {{3.0, 1.0, 2.5, 0.4}, {0.7, 0.9, 0.1, 0.05}, {-0.2, 0.3, 1e-3, 2.0}, {1e6, 3.0, 7e5, 1.0}};
  for (const auto& c : cases) {
    const Shapley s = shapley2(c[0], c[1], c[2], c[3]);
    EXPECT_EQ(s.total, c[0]);
    EXPECT_EQ(s.rest, c[3]);
    EXPECT_NEAR(s.phi_tokens + s.phi_channels + s.rest, s.total, 1e-12 * std::max(1.0, std::fabs(c[0])));
    EXPECT_NEAR(s.share_tokens + s.share_channels + s.share_rest, 1.0, 1e-12);
  }
}

TEST(Shapley, HandComputedValues) {
  // D(0)=3, D(T)=1, D(C)=2.5, D(TC)=0.4: phi_T = (2 + 2.1)/2 = 2.05, phi_C = (0.5 + 0.6)/2 = 0.55.
  const Shapley s = shapley2(3.0, 1.0, 2.5, 0.4);
  EXPECT_NEAR(s.phi_tokens, 2.05, 1e-12);
  EXPECT_NEAR(s.phi_channels, 0.55, 1e-12);
  EXPECT_NEAR(s.share_tokens, 2.05 / 3.0, 1e-12);
  const nlohmann::json j = s.to_json();
  for (const char* key : {"phi_tokens", "phi_channels", "rest", "total", "share_tokens", "share_channels", "share_rest"})
    EXPECT_TRUE(j.contains(key)) << key;
}

TEST(Shapley, SymmetricCasesSplitEvenly) {
  const Shapley s = shapley2(2.0, 1.2, 1.2, 0.4);
  EXPECT_DOUBLE_EQ(s.phi_tokens, s.phi_channels);
  EXPECT_NEAR(s.phi_tokens, 0.8, 1e-12);
  // Additive effects: each protection removes its own part, independent of the other.
  const Shapley a = shapley2(1.0, 0.7, 0.8, 0.5);
  EXPECT_NEAR(a.phi_tokens, 0.3, 1e-12);
  EXPECT_NEAR(a.phi_channels, 0.2, 1e-12);
}

TEST(Shapley, ZeroTotalHasZeroShares) {
  const Shapley s = shapley2(0.0, 0.0, 0.0, 0.0);
  EXPECT_EQ(s.share_tokens, 0.0);
  EXPECT_EQ(s.share_channels, 0.0);
  EXPECT_EQ(s.share_rest, 0.0);
  const Shapley t = shapley2(0.0, -0.5, 0.5, 0.0);  // the parts cancel; no share to report
  EXPECT_NEAR(t.phi_tokens + t.phi_channels + t.rest, 0.0, 1e-15);
  EXPECT_EQ(t.share_tokens, 0.0);
}

}  // namespace
}  // namespace qh::audit
