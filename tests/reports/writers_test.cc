// Golden-output tests of the Markdown and JUnit writers on a hand-made Results, the HTML report's
// well-formedness and self-containedness, CSV quoting, and the report directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reports/writers.h"
#include "tests/reports/sample_results.h"
#include "tests/reports/xml_check.h"

namespace qh::reports {
namespace {

const char* kGoldenMarkdown = R"md(# qharness report: sample

**FAIL**: 1 of 3 checks failed over 5 cases.

## Checks

|  | check | value | limit | details |
|---|---|---|---|---|
| **FAIL** | threshold W4A4 bb-softmax kld_mean <= 0.3 | 0.5 | 0.3 | kld_mean = 0.5 > 0.3 |
| pass | threshold W8A8 bb-softmax kld_mean <= 0.05 | 0.01 | 0.05 | kld_mean = 0.01 <= 0.05 |
| pass | expect bb-relu better than bb-softmax under W4A4 (kld_mean) | 0.2 | 0.5 | bb-relu 0.2 < bb-softmax 0.5 |

## Degradation per model and scheme

| model | scheme | ppl fp | ppl | Δppl | KLD mean | top-1 agree |
|---|---|---|---|---|---|---|
| bb-softmax | W8A8 | 4 | 4.05 | 0.05 | 0.01 | 0.99 |
| bb-softmax | W4A4 | 4 | 5.5 | 1.5 | 0.5 | 0.8 |
| bb-relu | W8A8 | 4 | 4.02 | 0.02 | 0.005 | 0.995 |
| bb-relu | W4A4 | 4 | 4.6 | 0.6 | 0.2 | 0.9 |

### With protections (sink tokens / outlier channels in full precision)

| model | scheme | protection | KLD mean | Δppl | top-1 agree |
|---|---|---|---|---|---|
| bb-softmax | W8A8 | none | 0.01 | 0.05 | 0.99 |
| bb-softmax | W4A4 | none | 0.5 | 1.5 | 0.8 |
| bb-relu | W8A8 | none | 0.005 | 0.02 | 0.995 |
| bb-relu | W4A4 | none | 0.2 | 0.6 | 0.9 |
| bb-softmax | W4A4 | both | 0.1 | 0.3 | 0.95 |

## Attribution of the degradation (Shapley: sink tokens vs outlier channels)

| model | scheme | metric | total | sink tokens | outlier channels | rest |
|---|---|---|---|---|---|---|
| bb-softmax | W4A4 | kld_mean | 0.5 | 0.3 (60%) | 0.1 (20%) | 0.1 (20%) |

## Outlier audit (full precision)

| model | max sink_mass (layer.head) | max residual_peak (layer) | max kurtosis | max \|x\| | outlier channels |
|---|---|---|---|---|---|
| bb-softmax | 0.9 (1.0) | 40 (1) | 120 | 80 | 2 |

<sub>qharness abc123 · schema 1 · Test CPU · oneDNN ISA avx512_core_vnni · 2 threads · 2026-01-01T00:00:00Z</sub>
)md";

const char* kGoldenJunit = R"xml(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="sample" tests="3" failures="1">
  <testsuite name="sample.threshold" tests="2" failures="1">
    <testcase classname="sample.threshold" name="threshold W8A8 bb-softmax kld_mean &lt;= 0.05">
      <system-out>kld_mean = 0.01 &lt;= 0.05</system-out>
    </testcase>
    <testcase classname="sample.threshold" name="threshold W4A4 bb-softmax kld_mean &lt;= 0.3">
      <failure message="kld_mean = 0.5 &gt; 0.3">value 0.5 limit 0.3</failure>
    </testcase>
  </testsuite>
  <testsuite name="sample.expectation" tests="1" failures="0">
    <testcase classname="sample.expectation" name="expect bb-relu better than bb-softmax under W4A4 (kld_mean)">
      <system-out>bb-relu 0.2 &lt; bb-softmax 0.5</system-out>
    </testcase>
  </testsuite>
</testsuites>
)xml";

TEST(Markdown, MatchesGolden) { EXPECT_EQ(render_markdown(testing::sample_results()), kGoldenMarkdown); }

TEST(Markdown, PassBannerAndBaselineDeltas) {
  Results r = testing::sample_results();
  r.verdicts[1].passed = true;
  Results old = r;
  old.cases[1].metrics.set("kld_mean", 0.4);
  const std::string md = render_markdown(r, &old);
  EXPECT_NE(md.find("**PASS**: all 3 checks passed over 5 cases."), std::string::npos) << md;
  EXPECT_NE(md.find("| bb-softmax | W4A4 | none | kld_mean | 0.4 | 0.5 | +0.1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("19 of 20 compared values unchanged."), std::string::npos) << md;
}

TEST(Markdown, EscapesPipesInCells) {
  Results r = testing::sample_results();
  r.cases[0].model = "a|b";
  EXPECT_NE(render_markdown(r).find("| a\\|b | W8A8 |"), std::string::npos);
}

TEST(Junit, MatchesGolden) {
  const std::string xml = render_junit(testing::sample_results());
  EXPECT_EQ(xml, kGoldenJunit);
  EXPECT_EQ(qh::testing::xml_problem(xml), "");
}

TEST(Junit, BaselineChecksGetTheirOwnSuite) {
  Results r = testing::sample_results();
  r.verdicts.push_back({"baseline bb-relu W4A4 kld_mean", VerdictKind::kBaseline, false, "a < b & c", 0.3, 0.25});
  const std::string xml = render_junit(r);
  EXPECT_NE(xml.find("<testsuite name=\"sample.baseline\" tests=\"1\" failures=\"1\">"), std::string::npos);
  EXPECT_NE(xml.find("message=\"a &lt; b &amp; c\""), std::string::npos);
  EXPECT_NE(xml.find("<testsuites name=\"sample\" tests=\"4\" failures=\"2\">"), std::string::npos);
  EXPECT_EQ(qh::testing::xml_problem(xml), "");
}

TEST(Html, WellFormedAndSelfContained) {
  Results r = testing::sample_results();
  r.cases[0].model = "<script>&\"'";  // hostile names must be escaped
  Results old = r;
  old.cases[1].metrics.set("kld_mean", 0.4);
  for (const Results* baseline : {static_cast<const Results*>(nullptr), static_cast<const Results*>(&old)}) {
    const std::string html = render_html(r, baseline);
    EXPECT_EQ(qh::testing::xml_problem(html), "") << html;
    EXPECT_EQ(html.find("http"), std::string::npos) << "external URL in the report";
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);
    EXPECT_NE(html.find("<svg"), std::string::npos);
    EXPECT_NE(html.find("Attribution of KLD mean"), std::string::npos);
    EXPECT_NE(html.find("sink_mass per head: bb-softmax"), std::string::npos);
    EXPECT_NE(html.find("Residual-state peak per layer"), std::string::npos);
    EXPECT_NE(html.find("FAIL: 1 of 3 checks failed"), std::string::npos);
    EXPECT_EQ(html.find("Change of KLD mean against the baseline") != std::string::npos, baseline != nullptr);
  }
}

TEST(Csv, QuotesFieldsAndKeepsMetricOrder) {
  const std::string csv = render_csv(testing::sample_results());
  std::istringstream in(csv);
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header, "model,data,scheme,protection,method,ppl_fp,ppl,delta_ppl,kld_mean,top1_agree,sqnr_db_q,sqnr_db_down");
  EXPECT_EQ(first, "bb-softmax,\"bb:seed=7,seqs=4,len=32\",W8A8,none,rtn,4,4.05,0.05,0.01,0.99,30.5,12.25");
}

TEST(Csv, MissingMetricIsAnEmptyCell) {
  Results r = testing::sample_results();
  r.cases.resize(2);
  r.cases[1].metrics = MetricMap();
  r.cases[1].metrics.set("kld_mean", 0.25);
  r.cases[1].site_sqnr_db.clear();
  const std::string csv = render_csv(r);
  EXPECT_NE(csv.find("W4A4,none,rtn,,,,0.25,,,\n"), std::string::npos) << csv;
}

TEST(ReportDir, WritesAllFiveFilesAndResultsRoundTrip) {
  const std::string dir = ::testing::TempDir() + "/qh_report_dir_test";
  std::filesystem::remove_all(dir);
  const Results r = testing::sample_results();
  const auto paths = write_report_dir(dir, r);
  ASSERT_EQ(paths.size(), 5u);
  for (const auto& p : paths) EXPECT_TRUE(std::filesystem::exists(p)) << p;
  const Results back = read_results(dir + "/results.json");
  EXPECT_EQ(back.cases, r.cases);
  EXPECT_EQ(back.verdicts, r.verdicts);
  std::filesystem::remove_all(dir);
}

// The methods section: per scheme, models x methods with the best method, and whether each mitigated model
// under rtn beats the first (baseline) model under its best method, and whether it adds to it under its own
// best method, by hand.
TEST(Markdown, MethodsSectionComparesMitigationsWithTheBaselinesBestMethod) {
  Results r;
  auto add = [&](const std::string& model, const std::string& method, double kld) {
    CaseResult c;
    c.model = model;
    c.data = "d";
    c.scheme = "W4A4";
    c.protection = "none";
    c.method = method;
    c.method_seconds = method == "rtn" ? 0 : 1.5;
    c.metrics.set("kld_mean", kld);
    r.cases.push_back(c);
  };
  add("base", "rtn", 0.4);
  add("base", "rotate", 0.1);
  add("relu", "rtn", 0.05);
  add("relu", "rotate", 0.04);
  add("sgd", "rtn", 0.3);
  add("sgd", "rotate", 0.2);
  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("## Post-training methods vs training-time mitigations"), std::string::npos) << md;
  EXPECT_NE(md.find("| base | 0.4 | 0.1 | 0.1 (rotate) |  |  |"), std::string::npos) << md;
  EXPECT_NE(md.find("| relu | 0.05 | 0.04 | 0.04 (rotate) | beats (0.05 < 0.1) | adds (0.04 < 0.1) |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| sgd | 0.3 | 0.2 | 0.2 (rotate) | does not (0.3 >= 0.1) | does not add (0.2 >= 0.1) |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("Method time"), std::string::npos) << md;
  // One method only: no section, no method column.
  r.cases.resize(1);
  EXPECT_EQ(render_markdown(r).find("Post-training methods"), std::string::npos);
}

}  // namespace
}  // namespace qh::reports
