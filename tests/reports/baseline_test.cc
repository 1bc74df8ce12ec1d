// Baseline regression checks: direction per metric, abs + rel tolerance, missing cases, deltas.
#include <gtest/gtest.h>

#include <cmath>

#include "reports/baseline.h"
#include "reports/metric_info.h"
#include "tests/reports/sample_results.h"

namespace qh::reports {
namespace {

TEST(MetricInfo, Directions) {
  EXPECT_EQ(metric_direction("kld_mean"), Direction::kLowerIsBetter);
  EXPECT_EQ(metric_direction("delta_ppl"), Direction::kLowerIsBetter);
  EXPECT_EQ(metric_direction("top1_agree"), Direction::kHigherIsBetter);
  EXPECT_TRUE(is_worse("kld_mean", 0.31, 0.3, 0.005));
  EXPECT_FALSE(is_worse("kld_mean", 0.304, 0.3, 0.005));
  EXPECT_FALSE(is_worse("kld_mean", 0.1, 0.3, 0.0));  // an improvement is never a regression
  EXPECT_TRUE(is_worse("top1_agree", 0.89, 0.9, 0.005));
  EXPECT_FALSE(is_worse("top1_agree", 0.95, 0.9, 0.0));
  EXPECT_TRUE(is_worse("kld_mean", NAN, 0.3, 1.0));
  EXPECT_TRUE(is_known_metric("backcopy_risk"));
  EXPECT_FALSE(is_known_metric("kld_mena"));
}

TEST(Baseline, IdenticalRunsPass) {
  const Results r = testing::sample_results();
  const auto v = check_against_baseline(r, r, BaselineOptions{});
  EXPECT_EQ(v.size(), 5u * 3u);  // 5 cases x {kld_mean, delta_ppl, top1_agree}
  for (const auto& x : v) EXPECT_TRUE(x.passed) << x.name << ": " << x.message;
}

TEST(Baseline, ToleranceIsAbsPlusRelative) {
  const Results old = testing::sample_results();
  Results now = old;
  BaselineOptions o;
  o.metrics = {"kld_mean"};
  o.tolerance = {0.01, 0.1};  // W4A4 softmax: 0.5 -> allowed up to 0.5 + 0.01 + 0.05 = 0.56
  now.cases[1].metrics.set("kld_mean", 0.559);
  auto v = check_against_baseline(old, now, o);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_TRUE(v[1].passed) << v[1].message;
  EXPECT_DOUBLE_EQ(v[1].limit, 0.56);
  now.cases[1].metrics.set("kld_mean", 0.561);
  v = check_against_baseline(old, now, o);
  EXPECT_FALSE(v[1].passed);
  EXPECT_EQ(v[1].name, "baseline bb-softmax W4A4 kld_mean");
  EXPECT_NE(v[1].message.find("0.561 vs baseline 0.5"), std::string::npos) << v[1].message;
}

TEST(Baseline, HigherIsBetterMetricsRegressDownwards) {
  const Results old = testing::sample_results();
  Results now = old;
  BaselineOptions o;
  o.metrics = {"top1_agree"};
  o.tolerance = {0.01, 0};
  now.cases[3].metrics.set("top1_agree", 0.95);  // better
  now.cases[2].metrics.set("top1_agree", 0.98);  // 0.995 -> 0.98: worse by 0.015
  const auto v = check_against_baseline(old, now, o);
  EXPECT_TRUE(v[3].passed);
  EXPECT_FALSE(v[2].passed);
  EXPECT_DOUBLE_EQ(v[2].limit, 0.985);
}

TEST(Baseline, PerMetricOverrideAndMissingCase) {
  const Results old = testing::sample_results();
  Results now = old;
  now.cases.pop_back();  // the protected case was not run
  now.cases[1].metrics.set("delta_ppl", 2.0);
  BaselineOptions o;
  o.metrics = {"delta_ppl"};
  o.per_metric = {{"delta_ppl", {1.0, 0}}};
  auto v = check_against_baseline(old, now, o);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_TRUE(v[1].passed);  // 1.5 -> 2.0 within 1.0
  EXPECT_FALSE(v[4].passed);
  EXPECT_NE(v[4].message.find("was not run"), std::string::npos);
  o.require_all_cases = false;
  v = check_against_baseline(old, now, o);
  EXPECT_EQ(v.size(), 4u);
}

TEST(Baseline, Deltas) {
  const Results old = testing::sample_results();
  Results now = old;
  now.cases[0].metrics.set("kld_mean", 0.04);
  const auto d = metric_deltas(old, now, {"kld_mean"});
  ASSERT_EQ(d.size(), 5u);
  EXPECT_NEAR(d[0].delta(), 0.03, 1e-12);
  EXPECT_EQ(d[1].delta(), 0.0);
}

}  // namespace
}  // namespace qh::reports
