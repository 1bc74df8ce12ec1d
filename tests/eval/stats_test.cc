// Statistics of ARCHITECTURE.md 1.1-1.2 on hand-constructed activations with known answers.
#include <gtest/gtest.h>

#include <cmath>

#include "models/stats/activations.h"
#include "models/stats/sinks.h"
#include "src/core/median.h"

namespace qh::stats {
namespace {

// A causal [T, T] attention matrix where every query i >= 1 puts `on_sink` on key 0 and spreads the rest
// evenly over keys 1..i.
std::vector<float> sink_attention(int T, float on_sink) {
  std::vector<float> p(T * T, 0.0f);
  p[0] = 1.0f;
  for (int i = 1; i < T; ++i) {
    p[i * T] = on_sink;
    for (int j = 1; j <= i; ++j) p[i * T + j] = (1.0f - on_sink) / i;
  }
  return p;
}

TEST(Sinks, HeadPuttingPointNineOnKeyZero) {
  const int T = 6;
  const auto p = sink_attention(T, 0.9f);
  EXPECT_NEAR(sink_mass(p.data(), T, T), 0.9, 1e-7);
  EXPECT_EQ(top_sink_key(p.data(), T, T), 0);
  // Key 1 gets 0.1/i from every query i >= 1: mean over 5 queries of 0.1 * (1 + 1/2 + ... + 1/5).
  EXPECT_NEAR(sink_mass(p.data(), T, T, 1), 0.1 * (1 + 0.5 + 1.0 / 3 + 0.25 + 0.2) / 5, 1e-7);
  const DormantCounts c = dormant_counts(p.data(), T, T, nullptr);
  EXPECT_EQ(c.total[0], 5);
  EXPECT_EQ(c.dormant[0], 5);  // 0.9 >= 0.89
  EXPECT_EQ(dormant_counts(p.data(), T, T, nullptr, 0.95).dormant[0], 0);
}

TEST(Sinks, TopSinkKeyNotAtZeroAndDormantByDomain) {
  const int T = 5;
  std::vector<float> p(T * T, 0.0f);
  p[0] = 1.0f;
  p[1 * T + 1] = 1.0f;  // query 1 can only see keys 0, 1
  for (int i = 2; i < T; ++i) {
    p[i * T + 1] = 0.95f;
    p[i * T + 0] = 0.05f;
  }
  EXPECT_EQ(top_sink_key(p.data(), T, T), 1);
  const uint8_t domain[T] = {0, 1, 0, 1, 0};
  const DormantCounts c = dormant_counts(p.data(), T, T, domain, 0.89, 1);
  EXPECT_EQ(c.total[0], 2);  // queries 2, 4
  EXPECT_EQ(c.total[1], 2);  // queries 1, 3
  EXPECT_EQ(c.dormant[0], 2);
  EXPECT_EQ(c.dormant[1], 2);
  const DormantCounts z = dormant_counts(p.data(), T, T, domain);  // key 0: nobody dormant
  EXPECT_DOUBLE_EQ(z.fraction_all(), 0.0);
  EXPECT_EQ(z.total[0] + z.total[1], 4);
}

TEST(Sinks, ResidualWithOneKnownPeak) {
  const int T = 5, d = 2;
  // Row norms: 30, 1, 2, 3, 4 -> median of the others 2.5.
  const float h[T * d] = {18, 24, 1, 0, 0, 2, 3, 0, 0, 4};
  EXPECT_NEAR(residual_peak(h, T, d), 30.0 / 2.5, 1e-12);
  EXPECT_NEAR(residual_peak(h, T, d, 4), 4.0 / 2.5, 1e-12);  // median of 30, 1, 2, 3
}

TEST(Sinks, ValueDrainUsesTheHeadSliceOfWo) {
  // Two heads of hd = 2; W_O [d_model = 2, 4]. Head 1's slice is the identity, head 0's slice doubles.
  const float wo[2 * 4] = {2, 0, 1, 0,  //
                           0, 2, 0, 1};
  const int T = 4, hd = 2;
  const float v[T * hd] = {0.1f, 0, 3, 4, 0, 1, 6, 8};  // norms 0.1, 5, 1, 10 -> median of rows >= 1 is 5
  EXPECT_NEAR(value_drain(v, T, hd, wo, 2, 4, 1), 0.1 / 5.0, 1e-7);
  EXPECT_NEAR(value_drain(v, T, hd, wo, 2, 4, 0), 0.2 / 10.0, 1e-7);  // everything doubled: same ratio
}

TEST(Activations, ChannelLargeOnEveryToken) {
  const int T = 8, d = 6;
  std::vector<float> x(T * d);
  for (int i = 0; i < T; ++i)
    for (int c = 0; c < d; ++c) x[i * d + c] = (c == 4) ? 100.0f + i : ((i + c) % 2 ? 1.0f : -1.0f);
  const auto cm = channel_max(x.data(), T, d);
  EXPECT_FLOAT_EQ(cm[4], 107.0f);
  EXPECT_FLOAT_EQ(cm[0], 1.0f);
  EXPECT_EQ(outlier_channels(cm), std::vector<int>{4});
  EXPECT_EQ(outlier_channels(cm, 200.0), std::vector<int>{});
  EXPECT_EQ(outlier_channels(cm, 20.0, 2), (std::vector<int>{4, 0}));  // top-2; ties -> lower channel
  const auto pers = persistence(x.data(), T, d, 20.0);
  EXPECT_DOUBLE_EQ(pers[4], 1.0);
  EXPECT_DOUBLE_EQ(pers[0], 0.0);
  EXPECT_DOUBLE_EQ(max_abs(x.data(), T, d), 107.0);
}

TEST(Activations, KurtosisOfKnownVectors) {
  // {1, -1, 1, -1}: mu 0, m2 1, m4 1 -> 1.  {0, 0, 0, 4}: mu 1, m2 3, m4 (3*1 + 81)/4 = 21 -> 21/9.
  const float a[4] = {1, -1, 1, -1}, b[4] = {0, 0, 0, 4};
  EXPECT_DOUBLE_EQ(row_kurtosis(a, 4), 1.0);
  EXPECT_NEAR(row_kurtosis(b, 4), 21.0 / 9.0, 1e-12);
  const float both[8] = {1, -1, 1, -1, 0, 0, 0, 4};
  EXPECT_NEAR(kurtosis(both, 2, 4), (1.0 + 21.0 / 9.0) / 2, 1e-12);
  const float flat[3] = {2, 2, 2};
  EXPECT_DOUBLE_EQ(row_kurtosis(flat, 3), 0.0);
}

TEST(Activations, MassiveActivationsTopThree) {
  const int T = 3, d = 4;
  const float x[T * d] = {1, -50, 1, 1,  //
                          1, 1, 30, 1,   //
                          1, 2, 1, -30};
  const auto m = massive_activations(x, T, d);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].token, 0);
  EXPECT_EQ(m[0].channel, 1);
  EXPECT_FLOAT_EQ(m[0].value, -50.0f);
  EXPECT_DOUBLE_EQ(m[0].ratio, 50.0);  // median |x| = 1
  EXPECT_EQ(m[1].token, 1);            // |30| tie: lower token first
  EXPECT_EQ(m[1].channel, 2);
  EXPECT_EQ(m[2].token, 2);
  EXPECT_EQ(m[2].channel, 3);
}

}  // namespace
}  // namespace qh::stats

namespace qh::stats {
namespace {

TEST(Activations, PersistenceAgainstPerRowMedianReference) {
  // Row medians by the naive definition; even and odd widths.
  for (int d : {5, 6}) {
    const int T = 4;
    std::vector<float> x(T * d);
    for (int i = 0; i < T * d; ++i) x[i] = static_cast<float>(((i * 7919) % 23) - 11) * (i % d == 2 ? 9.0f : 1.0f);
    const std::vector<double> got = persistence(x.data(), T, d, 3.0);
    for (int c = 0; c < d; ++c) {
      int hits = 0;
      for (int i = 0; i < T; ++i) {
        std::vector<double> row;
        for (int k = 0; k < d; ++k) row.push_back(std::fabs(x[i * d + k]));
        const double thr = 3.0 * qh::median(row);
        hits += thr > 0 && std::fabs(x[i * d + c]) >= thr;
      }
      EXPECT_DOUBLE_EQ(got[c], double(hits) / T) << "d=" << d << " c=" << c;
    }
  }
}

}  // namespace
}  // namespace qh::stats
