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
  EXPECT_NE(s.find(">-1.0</text>"), std::string::npos);  // the axis reaches below zero, to a round tick
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
  EXPECT_NE(s.find(">1000<"), std::string::npos) << "log ticks reach 10^3";
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

// The y tick labels of a chart (text elements of class "tick" on the y axis, right-aligned).
std::vector<double> y_tick_values(const std::string& s) {
  std::regex tick("<text class=\"tick\" x=\"[0-9.]+\" y=\"[0-9.]+\" text-anchor=\"end\">([^<]+)</text>");
  std::vector<double> out;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), tick); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod((*it)[1]));
  return out;
}

// Ticks sit at round values: equally spaced by 1, 2 or 5 times a power of ten, every one a multiple of the
// step, covering the data, at most about six of them; the labels show them exactly as written.
TEST(Svg, TicksAreRoundOneTwoFiveSteps) {
  for (double top : {0.0171, 5.69e-4, 1.0, 3.7, 12.0, 980.0, 2.5e-7, 4.2e6}) {
    for (double bottom : {0.0, -0.3 * top}) {
      const std::string s = bar_chart({"a", "b"}, {bottom, top}, opts("t"));
      const std::vector<double> t = y_tick_values(s);
      ASSERT_GE(t.size(), 3u) << top;
      ASSERT_LE(t.size(), 7u) << top;
      const double step = t[1] - t[0];
      const double mag = std::pow(10.0, std::floor(std::log10(step) + 1e-9));
      const double m = step / mag;
      EXPECT_TRUE(std::fabs(m - 1) < 1e-6 || std::fabs(m - 2) < 1e-6 || std::fabs(m - 5) < 1e-6)
          << "step " << step << " for " << top;
      for (size_t i = 0; i < t.size(); ++i) {
        EXPECT_NEAR(t[i] / step, std::round(t[i] / step), 1e-6) << t[i] << " step " << step;
        if (i > 0) {
          EXPECT_NEAR(t[i] - t[i - 1], step, 1e-9 * std::fabs(step) + 1e-300);
        }
      }
      EXPECT_LE(t.front(), bottom);
      EXPECT_GE(t.back(), top);
    }
  }
  // The case the issue names: KLD up to 0.0171 reads 0, 0.005, 0.01, 0.015, 0.02.
  EXPECT_EQ(y_tick_values(bar_chart({"a"}, {0.0171}, opts("t"))),
            (std::vector<double>{0, 0.005, 0.01, 0.015, 0.02}));
  EXPECT_NE(bar_chart({"a"}, {0.0171}, opts("t")).find(">0.015</text>"), std::string::npos);
}

// Labels wider than their slot are never drawn straight over each other: they go on two lines when a space
// splits them into halves that fit, else they rotate (long ones cut, with the full text as a tooltip).
TEST(Svg, CategoryLabelsWrapOrRotateInsteadOfOverlapping) {
  const std::vector<double> v(4, 1.0);
  const std::string fits = bar_chart({"W8A8", "W4A4", "W4A8", "W8A16"}, v, opts("t"));
  EXPECT_EQ(fits.find("<tspan"), std::string::npos);
  EXPECT_EQ(fits.find("rotate(-40"), std::string::npos);

  ChartOptions narrow = opts("t");
  narrow.width = 640;
  const std::string two = bar_chart({"bb1-softmax-adamw W8A8", "bb1-relu-adamw W8A8", "bb1-softmax-adamw W4A4",
                                     "bb1-relu-adamw W4A4"},
                                    v, narrow);
  EXPECT_EQ(qh::testing::xml_problem(two), "");
  EXPECT_NE(two.find("<tspan x="), std::string::npos) << "split at the space onto two lines";
  EXPECT_NE(two.find(">W4A4</tspan>"), std::string::npos);

  std::vector<std::string> many;
  for (int i = 0; i < 12; ++i) many.push_back("bb3-softmax-adamw-with-a-very-long-name-" + std::to_string(i) + " W4A4");
  const std::string rot = bar_chart(many, std::vector<double>(12, 1.0), opts("t"));
  EXPECT_EQ(qh::testing::xml_problem(rot), "");
  EXPECT_EQ(count(rot, "rotate(-40"), 12u);
  EXPECT_NE(rot.find("\u2026<title>bb3-softmax-adamw-with-a-very-long-name-0 W4A4</title>"), std::string::npos);
}

// Charts scale to the page: a viewBox in the drawn size, CSS width 100% up to that size.
TEST(Svg, ChartsScaleToThePageWidth) {
  const std::string s = bar_chart({"a"}, {1.0}, opts("t"));
  EXPECT_NE(s.find("viewBox=\"0 0 960 320\" style=\"width:100%;max-width:960px;height:auto\""), std::string::npos);
}

TEST(Svg, XmlEscape) {
  EXPECT_EQ(xml_escape("a<b&\"c'"), "a&lt;b&amp;&quot;c&apos;");
}

}  // namespace
}  // namespace qh::reports::svg
