// Audit summaries (one number per model from the per-layer / per-head audit), hand-computed.
#include <gtest/gtest.h>

#include <cmath>

#include "reports/audit_metrics.h"
#include "tests/reports/sample_results.h"

namespace qh::reports {
namespace {

TEST(AuditMetrics, HandComputedOnTheSampleAudit) {
  const Results r = testing::sample_results();
  const AuditSummary& a = r.cases[1].audit;  // sink_mass {{.5,.25},{.9,.75}}, residual_peak {2,40}
  EXPECT_DOUBLE_EQ(*audit_metric(a, "sink_mass_max"), 0.9);
  EXPECT_DOUBLE_EQ(*audit_metric(a, "sink_mass_mean"), (0.5 + 0.25 + 0.9 + 0.75) / 4);
  EXPECT_DOUBLE_EQ(*audit_metric(a, "residual_peak_max"), 40.0);
  EXPECT_FALSE(audit_metric(a, "dormant_frac_mean").has_value());  // not in this audit
  EXPECT_FALSE(audit_metric(a, "kld_mean").has_value());
}

TEST(AuditMetrics, NaNEntriesAreSkippedAndAllNaNIsMissing) {
  AuditSummary a;
  a.dormant_frac = {{NAN, 0.2}, {0.6}};
  a.residual_peak = {NAN};
  EXPECT_DOUBLE_EQ(*audit_metric(a, "dormant_frac_mean"), 0.4);
  EXPECT_FALSE(audit_metric(a, "residual_peak_max").has_value());
}

TEST(AuditMetrics, CaseValueReadsMetricsThenAudit) {
  const Results r = testing::sample_results();
  const CaseResult& c = r.cases[1];
  EXPECT_DOUBLE_EQ(*case_value(c, "kld_mean"), 0.5);
  EXPECT_DOUBLE_EQ(*case_value(c, "residual_peak_max"), 40.0);
  EXPECT_FALSE(case_value(r.cases[0], "residual_peak_max").has_value());  // no audit
  for (const auto& n : audit_metric_names()) EXPECT_TRUE(is_audit_metric(n)) << n;
  EXPECT_FALSE(is_audit_metric("sink_mass"));
}

}  // namespace
}  // namespace qh::reports
