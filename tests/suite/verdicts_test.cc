// Thresholds and expectations on hand-made results: pass / fail at the boundary, direction per metric,
// unmeasured metrics fail, protected cases are not thresholded, verdicts carry the numbers.
#include <gtest/gtest.h>

#include <cmath>

#include "src/suite/suite.h"
#include "src/suite/verdicts.h"
#include "tests/reports/sample_results.h"

namespace qh::suite {
namespace {

using reports::testing::sample_results;

SuiteSpec suite_with(const std::string& extra) {
  return parse_suite("models: [bb-softmax, bb-relu]\ndata: \"bb:seed=7,seqs=4,len=32\"\nschemes: [W8A8, W4A4]\n"
                     "protections: [none, both]\n" + extra,
                     "s.yaml");
}

TEST(Thresholds, MaxAndMinAtTheBoundary) {
  const SuiteSpec s = suite_with("thresholds:\n  W4A4: {max_kld_mean: 0.2, min_top1_agree: 0.85}\n");
  const auto v = check_thresholds(s, sample_results());
  // 2 thresholds x 2 unprotected W4A4 cases (the protected one is not thresholded).
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].name, "threshold W4A4 bb-softmax kld_mean <= 0.2");
  EXPECT_FALSE(v[0].passed);  // 0.5 > 0.2
  EXPECT_EQ(v[0].message, "bb-softmax bb:seed=7,seqs=4,len=32 under W4A4: kld_mean = 0.5 > 0.2");
  EXPECT_DOUBLE_EQ(v[0].value, 0.5);
  EXPECT_DOUBLE_EQ(v[0].limit, 0.2);
  EXPECT_TRUE(v[1].passed);   // relu 0.2 <= 0.2 (boundary passes)
  EXPECT_FALSE(v[2].passed);  // softmax top1 0.8 < 0.85
  EXPECT_TRUE(v[3].passed);   // relu 0.9 >= 0.85
  for (const auto& x : v) EXPECT_EQ(x.kind, reports::VerdictKind::kThreshold);
}

TEST(Thresholds, WildcardAppliesToEveryScheme) {
  const SuiteSpec s = suite_with("thresholds:\n  \"*\": {max_delta_ppl: 1.0}\n");
  const auto v = check_thresholds(s, sample_results());
  ASSERT_EQ(v.size(), 4u);
  int failed = 0;
  for (const auto& x : v) failed += x.passed ? 0 : 1;
  EXPECT_EQ(failed, 1);  // only softmax W4A4 (1.5)
}

TEST(Thresholds, UnmeasuredMetricFails) {
  const SuiteSpec s = suite_with("thresholds:\n  W8A8: {max_backcopy_risk: 0.1}\n");
  const auto v = check_thresholds(s, sample_results());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_FALSE(v[0].passed);
  EXPECT_TRUE(std::isnan(v[0].value));
  EXPECT_NE(v[0].message.find("was not measured"), std::string::npos);
}

TEST(Thresholds, NaNValueFails) {
  const SuiteSpec s = suite_with("thresholds:\n  W8A8: {max_kld_mean: 1}\n");
  auto r = sample_results();
  r.cases[0].metrics.set("kld_mean", NAN);
  EXPECT_FALSE(check_thresholds(s, r)[0].passed);
}

TEST(Expectations, LowerIsBetterMetric) {
  const SuiteSpec s = suite_with(
      "expectations:\n  - {better: bb-relu, worse: bb-softmax, scheme: W4A4}\n"
      "  - {better: bb-softmax, worse: bb-relu, scheme: W4A4, name: backwards}\n");
  const auto v = check_expectations(s, sample_results());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].passed);
  EXPECT_EQ(v[0].name, "expect bb-relu loses less than bb-softmax under W4A4 (kld_mean)");
  EXPECT_EQ(v[0].message, "kld_mean: bb-relu = 0.2 < bb-softmax = 0.5");
  EXPECT_FALSE(v[1].passed);
  EXPECT_EQ(v[1].name, "backwards");
  EXPECT_EQ(v[1].message, "kld_mean: bb-softmax = 0.5 >= bb-relu = 0.2");
}

TEST(Expectations, MarginAndHigherIsBetter) {
  const SuiteSpec s = suite_with(
      "expectations:\n  - {better: bb-relu, worse: bb-softmax, scheme: W4A4, margin: 0.3}\n"
      "  - {better: bb-relu, worse: bb-softmax, scheme: W4A4, margin: 0.29}\n"
      "  - {better: bb-relu, worse: bb-softmax, scheme: W4A4, metric: top1_agree}\n"
      "  - {better: bb-relu, worse: bb-softmax, scheme: W4A4, metric: top1_agree, margin: 0.2}\n");
  const auto v = check_expectations(s, sample_results());
  ASSERT_EQ(v.size(), 4u);
  EXPECT_FALSE(v[0].passed);  // 0.2 < 0.5 - 0.3 is false
  EXPECT_TRUE(v[1].passed);
  EXPECT_TRUE(v[2].passed);   // 0.9 > 0.8
  EXPECT_EQ(v[2].name, "expect bb-relu keeps more than bb-softmax under W4A4 (top1_agree)");
  EXPECT_FALSE(v[3].passed);  // 0.9 > 1.0 is false
}

TEST(Expectations, MissingCaseFails) {
  const SuiteSpec s = suite_with("expectations:\n  - {better: bb-relu, worse: bb-softmax, scheme: W4A4}\n");
  auto r = sample_results();
  r.cases.erase(r.cases.begin() + 3);  // relu W4A4
  const auto v = check_expectations(s, r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].passed);
  EXPECT_NE(v[0].message.find("not both measured"), std::string::npos);
}

TEST(Expectations, AuditMetricReadsTheModelsAudit) {
  const SuiteSpec s = suite_with(
      "audit: true\nexpectations:\n  - {better: bb-relu, worse: bb-softmax, metric: sink_mass_max}\n"
      "  - {better: bb-softmax, worse: bb-relu, metric: residual_peak_max}\n");
  auto r = sample_results();  // bb-softmax's audit sits on its W4A4 case: sink_mass max 0.9, residual_peak max 40
  r.cases[2].audit.sink_mass = {{0.1, 0.2}, {0.3, 0.05}};  // bb-relu (W8A8 case)
  r.cases[2].audit.residual_peak = {3.0, 60.0};
  const auto v = check_expectations(s, r);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_TRUE(v[0].passed);
  EXPECT_EQ(v[0].name, "expect bb-relu lower sink_mass_max than bb-softmax");
  EXPECT_EQ(v[0].message, "sink_mass_max: bb-relu = 0.3 < bb-softmax = 0.9");
  EXPECT_TRUE(v[1].passed);  // 40 < 60
  r.cases[2].audit = {};
  const auto missing = check_expectations(s, r);
  EXPECT_FALSE(missing[0].passed);
  EXPECT_NE(missing[0].message.find("not both measured"), std::string::npos);
}

TEST(Verdicts, AllVerdictsIncludesBaseline) {
  const SuiteSpec s = suite_with("thresholds:\n  W8A8: {max_kld_mean: 1}\n");
  const auto r = sample_results();
  auto old = r;
  old.cases[0].metrics.set("kld_mean", 0.001);  // now 0.01: a regression beyond the default tolerance
  const auto v = all_verdicts(s, r, &old, reports::BaselineOptions{});
  ASSERT_EQ(v.size(), 2u + 15u);
  EXPECT_EQ(v[2].kind, reports::VerdictKind::kBaseline);
  int failed = 0;
  for (const auto& x : v) failed += x.passed ? 0 : 1;
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(all_verdicts(s, r, nullptr, {}).size(), 2u);
}

}  // namespace
}  // namespace qh::suite
