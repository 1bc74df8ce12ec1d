// report.html renders in headless Chromium with every chart visible, no label overlapping another, charts
// using the page's width (tests/reports/chromium_check.h has the checker). The report has a baseline, so every
// kind of chart is drawn, and long model names, so that category labels must wrap or rotate.
#include <gtest/gtest.h>

#include <string>

#include "reports/writers.h"
#include "tests/reports/chromium_check.h"
#include "tests/reports/sample_results.h"

namespace qh::reports {
namespace {

// A realistic report: the sample run with zoo-like model names plus a baseline that differs, so the
// baseline-delta charts appear too.
std::string sample_html() {
  Results r = testing::sample_results();
  for (auto& c : r.cases) c.model = c.model == "bb-softmax" ? "bb1-softmax-adamw" : "bb3-relu-attention-sgd-long";
  r.cases[0].audit = r.cases[1].audit;
  r.cases[2].audit.residual_peak = {1.5, 3.0};
  r.cases[2].audit.sink_mass = {{0.1, 0.05}, {0.2, 0.1}};
  Results old = r;
  old.cases[1].metrics.set("kld_mean", 0.4);
  old.cases[3].metrics.set("kld_mean", 0.25);
  old.cases[4].metrics.set("kld_mean", 0.00857);
  return render_html(r, &old);
}

TEST(ChromiumRender, EveryChartVisibleInsideThePage) {
  const std::string html = sample_html();
  const std::string verdict = qh::testing::chromium_check(html, "report.html");
  EXPECT_EQ(verdict.rfind("QH-CHECK OK", 0), 0u) << verdict;
  // Every chart of the page was checked.
  const size_t charts = qh::testing::count_charts(html);
  EXPECT_GE(charts, 6u);  // degradation, attribution, sink + residual profiles, heatmap, baseline deltas
  EXPECT_NE(verdict.find(" " + std::to_string(charts) + " charts"), std::string::npos) << verdict;
}

}  // namespace
}  // namespace qh::reports
