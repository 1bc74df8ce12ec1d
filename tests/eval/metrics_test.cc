// Metrics of ARCHITECTURE.md 1.7 on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "src/eval/metrics.h"

namespace qh::eval {
namespace {

TEST(Metrics, PplOfAKnownNll) {
  // Uniform logits over 4 tokens: NLL = log 4 everywhere -> ppl 4, no divergence.
  const float logits[3 * 4] = {0};
  const int32_t targets[3] = {0, 1, 3};
  MetricsAccumulator acc;
  acc.add({logits, logits, 3, 4, targets, nullptr, nullptr, nullptr});
  const EvalMetrics m = acc.finish();
  EXPECT_EQ(m.n_tokens, 3);
  EXPECT_NEAR(m.ppl, 4.0, 1e-12);
  EXPECT_NEAR(m.ppl_fp, 4.0, 1e-12);
  EXPECT_NEAR(m.delta_ppl, 0.0, 1e-12);
  EXPECT_NEAR(m.ppl_ratio, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.kld_mean, 0.0);
  EXPECT_DOUBLE_EQ(m.top1_agree, 1.0);
}

TEST(Metrics, KlOfKnownDistributions) {
  // fp: p = (1/2, 1/2) (logits 0, 0); quant: q = (1/(1+e), e/(1+e)) (logits 0, 1).
  // KL(p||q) = 1/2 log(p0/q0) + 1/2 log(p1/q1) = 1/2 [log((1+e)/2) + log((1+e)/(2e))] = log((1+e)/2) - 1/2.
  const float fp[2] = {0, 0}, q[2] = {0, 1};
  const int32_t target = 1;
  MetricsAccumulator acc;
  acc.add({fp, q, 1, 2, &target, nullptr, nullptr, nullptr});
  const EvalMetrics m = acc.finish();
  const double e = std::exp(1.0);
  EXPECT_NEAR(m.kld_mean, std::log((1 + e) / 2) - 0.5, 1e-12);
  EXPECT_NEAR(m.kld_max, m.kld_mean, 1e-15);
  // NLL fp = log 2, quant = -log(e/(1+e)) = log(1+e) - 1.
  EXPECT_NEAR(m.ppl_fp, 2.0, 1e-12);
  EXPECT_NEAR(m.ppl, std::exp(std::log(1 + e) - 1), 1e-12);
  EXPECT_NEAR(m.delta_p_mean, e / (1 + e) - 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(m.top1_agree, 0.0);  // fp tie -> index 0; quant -> index 1
  const float pp[3] = {0.5f, 0.5f, 0.0f}, qq[3] = {0.25f, 0.25f, 0.5f};
  EXPECT_NEAR(kl_divergence(pp, qq, 3), std::log(2.0), 1e-7);
}

TEST(Metrics, StableLogSoftmaxOnHugeLogits) {
  const float x[3] = {1000.0f, 1000.0f, -1000.0f};
  double out[3];
  log_softmax(x, 3, out);
  EXPECT_NEAR(out[0], -std::log(2.0), 1e-12);
  EXPECT_TRUE(std::isfinite(out[2]));
}

TEST(Metrics, Top1TiesLowestIndexWins) {
  const float a[4] = {1, 3, 3, 0}, b[4] = {1, 3, 2, 3};
  EXPECT_EQ(argmax(a, 4), 1);
  EXPECT_EQ(argmax(b, 4), 1);
  const int32_t targets[2] = {0, 0};
  float fp[8], q[8];
  std::copy(a, a + 4, fp);
  std::copy(b, b + 4, q);
  std::copy(a, a + 4, fp + 4);
  const float c[4] = {1, 2, 3, 3};  // argmax 2 vs fp's 1: disagree
  std::copy(c, c + 4, q + 4);
  MetricsAccumulator acc;
  acc.add({fp, q, 2, 4, targets, nullptr, nullptr, nullptr});
  EXPECT_DOUBLE_EQ(acc.finish().top1_agree, 0.5);
}

TEST(Metrics, NearestRankPercentilesAndSummary) {
  std::vector<double> v;
  for (int i = 1; i <= 10; ++i) v.push_back(i);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 90), 9.0);   // ceil(9) = rank 9
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 91), 10.0);  // ceil(9.1) = rank 10
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 99), 10.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 10), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0), 1.0);
  const Summary s = summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  // sample variance = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3; se = sqrt(5/3) / 2.
  EXPECT_NEAR(s.se, std::sqrt(5.0 / 3.0) / 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.max, 4.0);
}

TEST(Metrics, BreakdownByPositionClassAndSkippedRows) {
  // Row 0 (first): KL as in KlOfKnownDistributions; row 1 (sink): identical; row 2 (rest): no target.
  const float fp[6] = {0, 0, 0, 0, 5, 5}, q[6] = {0, 1, 0, 0, -5, 9};
  const int32_t targets[3] = {1, 0, -1};
  const uint8_t cls[3] = {0, 1, 2};
  MetricsAccumulator acc;
  acc.add({fp, q, 3, 2, targets, cls, nullptr, nullptr});
  const EvalMetrics m = acc.finish();
  const double e = std::exp(1.0), kl = std::log((1 + e) / 2) - 0.5;
  EXPECT_EQ(m.n_tokens, 2);
  EXPECT_EQ(m.by_class[0].n, 1);
  EXPECT_EQ(m.by_class[1].n, 1);
  EXPECT_EQ(m.by_class[2].n, 0);
  EXPECT_NEAR(m.by_class[0].kld_mean, kl, 1e-12);
  EXPECT_DOUBLE_EQ(m.by_class[1].kld_mean, 0.0);
  EXPECT_NEAR(m.kld_mean, kl / 2, 1e-12);
  EXPECT_NEAR(m.kld_median, kl / 2, 1e-12);  // even count: mean of the two middle values
  const nlohmann::json j = m.to_json();
  EXPECT_NEAR(j["by_position"]["first"]["kld_mean"].get<double>(), kl, 1e-12);
  EXPECT_FALSE(j.contains("backcopy_risk"));
  EXPECT_NEAR(EvalMetrics::from_json(j).kld_mean, m.kld_mean, 1e-15);
}

TEST(Metrics, BBExcessRiskAndBackcopyAccuracy) {
  // Vocab 2. Row 0: backcopy, oracle one-hot at 1, target 1; fp uniform (risk log 2), quant logits (0, 1)
  // (risk -log(e/(1+e))). Row 1: bigram, oracle (1/2, 1/2) = fp -> fp risk 0; quant KL(o||q) as above.
  const float fp[4] = {0, 0, 0, 0}, q[4] = {0, 1, 0, 1};
  const float oracle[4] = {0, 1, 0.5f, 0.5f};
  const int32_t targets[2] = {1, 0};
  const uint8_t back[2] = {1, 0};
  MetricsAccumulator acc;
  acc.add({fp, q, 2, 2, targets, nullptr, oracle, back});
  const EvalMetrics m = acc.finish();
  const double e = std::exp(1.0);
  ASSERT_TRUE(m.has_oracle);
  EXPECT_EQ(m.n_backcopy, 1);
  EXPECT_EQ(m.n_bigram, 1);
  EXPECT_NEAR(m.backcopy_risk_fp, std::log(2.0), 1e-12);
  EXPECT_NEAR(m.backcopy_risk, std::log(1 + e) - 1, 1e-12);
  EXPECT_NEAR(m.bigram_risk_fp, 0.0, 1e-12);
  EXPECT_NEAR(m.bigram_risk, std::log((1 + e) / 2) - 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(m.backcopy_acc, 1.0);     // quant argmax 1 == target
  EXPECT_DOUBLE_EQ(m.backcopy_acc_fp, 0.0);  // fp tie -> 0 != target
  EXPECT_TRUE(m.to_json().contains("backcopy_acc"));
}

TEST(Metrics, MergeEqualsOneAccumulator) {
  const float fp[4] = {0, 0, 1, 0}, q[4] = {0, 1, 0, 0};
  const int32_t t[2] = {1, 0};
  MetricsAccumulator whole, a, b;
  whole.add({fp, q, 2, 2, t, nullptr, nullptr, nullptr});
  a.add({fp, q, 1, 2, t, nullptr, nullptr, nullptr});
  b.add({fp + 2, q + 2, 1, 2, t + 1, nullptr, nullptr, nullptr});
  a.merge(b);
  EXPECT_NEAR(a.finish().ppl, whole.finish().ppl, 1e-12);
  EXPECT_NEAR(a.finish().kld_mean_se, whole.finish().kld_mean_se, 1e-12);
}

}  // namespace
}  // namespace qh::eval
