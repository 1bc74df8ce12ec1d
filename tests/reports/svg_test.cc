// SVG charts: well-formed, titled, labelled, escaped; values land where the axis says; NaN is a gap.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "reports/svg.h"
#include "tests/reports/xml_check.h"

namespace qh::reports::svg {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

ChartOptions opts(const std::string& title) {
  ChartOptions o;
  o.title = title;
  o.x_label = "scheme";
  o.y_label = "KLD";
  o.unit = "nats";
  return o;
}

TEST(Svg, BarChartHasTitleLabelsUnitAndOneBarPerValue) {
  const std::string s = bar_chart({"W8A8", "W4A4"}, {0.1, 0.4}, opts("KLD <per> scheme"));
  EXPECT_EQ(qh::testing::xml_problem(s), "");
  EXPECT_NE(s.find("KLD &lt;per&gt; scheme"), std::string::npos);
  EXPECT_NE(s.find("KLD [nats]"), std::string::npos);
  EXPECT_NE(s.find(">W4A4</text>"), std::string::npos);
  EXPECT_EQ(count(s, "<rect x="), 2u + 1u);  // background + two bars
  EXPECT_NE(s.find("<title>W4A4: 0.4 nats</title>"), std::string::npos);
}

TEST(Svg, BarHeightsAreProportional) {
  ChartOptions o = opts("t");
  const std::string s = bar_chart({"a", "b"}, {1.0, 2.0}, o);
  std::regex bar("<rect x=\"[0-9.]+\" y=\"([0-9.]+)\" width=\"[0-9.]+\" height=\"([0-9.]+)\" fill=\"#0072B2\"");
  std::vector<double> heights;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), bar); it != std::sregex_iterator(); ++it) {
    heights.push_back(std::stod((*it)[2]));
  }
  ASSERT_EQ(heights.size(), 2u);
  EXPECT_NEAR(heights[1] / heights[0], 2.0, 0.01);
}

TEST(Svg, GroupedBarsHaveLegendAndSkipNaN) {
  const std::string s =
      grouped_bar_chart({"W8A8", "W4A4"}, {{"softmax", {0.1, 0.5}}, {"relu", {0.05, NAN}}}, opts("g"));
  EXPECT_EQ(qh::testing::xml_problem(s), "");
  EXPECT_NE(s.find(">softmax</text>"), std::string::npos);
  EXPECT_NE(s.find(">relu</text>"), std::string::npos);
  EXPECT_EQ(count(s, "<title>"), 1u + 3u);  // chart title + three drawn bars (NaN skipped)
}

TEST(Svg, NegativeValuesDrawBelowZeroLine) {
  const std::string s = bar_chart({"a", "b"}, {-1.0, 1.0}, opts("neg"));
  EXPECT_EQ(qh::testing::xml_problem(s), "");
  EXPECT_NE(s.find(">-1.1</text>"), std::string::npos);  // the axis reaches below zero (with 5% padding)
}

TEST(Svg, LineChartBreaksAtGapsAndSupportsLogAxis) {
  ChartOptions o = opts("peaks");
  o.log_y = true;
  const std::string s = line_chart({0, 1, 2, 3}, {{"softmax", {1, 10, NAN, 1000}}, {"relu", {1, 2, 3, 4}}}, o);
  EXPECT_EQ(qh::testing::xml_problem(s), "");
  EXPECT_NE(s.find("(log scale)"), std::string::npos);
  EXPECT_EQ(count(s, "<path d=\"M"), 2u);
  // The softmax path restarts after the gap: two M commands in its path.
  const size_t first_path = s.find("<path d=\"");
  const std::string path = s.substr(first_path, s.find('"', first_path + 9) - first_path);
  EXPECT_EQ(count(path, "M"), 2u) << path;
  EXPECT_NE(s.find(">1e+03<"), std::string::npos) << "log ticks reach 10^3";
}

TEST(Svg, HeatmapHasOneCellPerValueAndColourLegend) {
  ChartOptions o = opts("sink_mass");
  o.unit = "probability";
  const std::string s = heatmap({{0.1, 0.9}, {0.5}}, {"L0", "L1"}, {"H0", "H1"}, o);
  EXPECT_EQ(qh::testing::xml_problem(s), "");
  EXPECT_EQ(count(s, "stroke=\"#ffffff\"><title>"), 3u);  // ragged: 3 cells
  EXPECT_NE(s.find("<title>L0, H1: 0.9</title>"), std::string::npos);
  EXPECT_NE(s.find(">probability</text>"), std::string::npos);
  EXPECT_NE(s.find("fill=\"#08306b\""), std::string::npos) << "max value gets the darkest colour";
}

TEST(Svg, XmlEscape) {
  EXPECT_EQ(xml_escape("a<b&\"c'"), "a&lt;b&amp;&quot;c&apos;");
}

}  // namespace
}  // namespace qh::reports::svg
