// audit.html in headless Chromium (the checker of tests/reports/chromium_check.h): every chart visible, no
// label overlapping another, and the tables of audit.md rendered as HTML tables, not a preformatted dump.
#include <gtest/gtest.h>

#include <string>

#include "src/audit/audit_report.h"
#include "tests/reports/chromium_check.h"

namespace qh::audit {
namespace {

// A hand-made audit of a 3-layer, 4-head model under two schemes, with attribution and sensitivity.
AuditResult sample_audit() {
  AuditResult r;
  r.data_spec = "bb:seed=7,seqs=8,len=64";
  r.architecture = "QHarnessForCausalLM";
  r.attention = "softmax";
  r.norm = "layernorm";
  r.mlp = "relu";
  r.positions = "learned";
  r.num_layers = 3;
  r.num_heads = 4;
  r.d_model = 64;
  r.windows = 8;
  r.tokens = 512;
  r.window = 64;
  r.fp.ppl_fp = 11.4;
  for (int l = -1; l < r.num_layers; ++l) {
    LayerStats s;
    s.layer = l;
    s.residual_peak = 2.0 + 40.0 * (l + 1);
    s.sink_norm = 10.0 * (l + 2);
    s.median_norm = 3.0;
    s.kurtosis = 3.5 + l;
    s.max_abs = 80.0;
    s.massive.push_back({0, 0, 7, 81.5f, 120.0});
    r.layers.push_back(s);
  }
  for (int l = 0; l < r.num_layers; ++l) {
    for (int h = 0; h < r.num_heads; ++h) {
      HeadStats s;
      s.layer = l;
      s.head = h;
      s.sink_mass = 0.2 * h + 0.1 * l;
      s.dormant_frac = 0.5;
      s.value_drain = 0.05;
      r.heads.push_back(s);
    }
    for (Site site : {Site::kQ, Site::kO, Site::kUp, Site::kDown}) {
      SiteStats s;
      s.layer = l;
      s.site = site;
      s.kurtosis = 12.0;
      s.max_abs = 40.0;
      s.outlier_channels = {7, 11};
      s.outlier_chan_max = {40.0f, 30.0f};
      s.outlier_persistence = {0.9, 0.4};
      r.sites.push_back(s);
    }
  }
  for (const char* name : {"W8A8", "W4A4"}) {
    SchemeAudit s;
    s.scheme = name;
    s.metrics.ppl = 11.5;
    s.metrics.ppl_fp = 11.4;
    s.metrics.kld_mean = 0.0146;
    for (int si = 0; si < kNumSites; ++si) {
      s.site_sqnr_total[si] = 20.0 + si;
      s.site_kld[si] = 0.001 * (si + 1);
    }
    s.has_site_sensitivity = true;
    s.has_attribution = true;
    s.kld = audit::shapley2(0.0146, 0.012, 0.010, 0.0075);
    s.layer_kld = {0.002, 0.005, 0.009};
    s.layer_delta_ppl = {0.01, 0.02, 0.03};
    r.schemes.push_back(s);
  }
  return r;
}

TEST(AuditRender, ChartsVisibleAndTablesAreHtmlTables) {
  const std::string html = render_audit_html(sample_audit());
  EXPECT_EQ(html.find("<pre"), std::string::npos) << "the tables must be HTML tables";
  EXPECT_NE(html.find("<th>residual_peak</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">0.0146</td>"), std::string::npos) << "the attribution table's total";
  const std::string verdict = qh::testing::chromium_check(html, "audit.html");
  EXPECT_EQ(verdict.rfind("QH-CHECK OK", 0), 0u) << verdict;
  const size_t charts = qh::testing::count_charts(html);
  EXPECT_GE(charts, 5u);  // residual norms, sink heatmap, SQNR, attribution, site and layer sensitivity
  EXPECT_NE(verdict.find(" " + std::to_string(charts) + " charts"), std::string::npos) << verdict;
}

}  // namespace
}  // namespace qh::audit
