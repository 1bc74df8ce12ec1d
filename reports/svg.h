// Inline SVG charts for self-contained HTML reports (suite reports, audit reports). Each function returns one
// complete <svg> element with a title, axis labels (with units), tick labels and a legend when there is more
// than one series. Charts are drawn in a width x height box and scale down to the page (CSS width 100%, never
// wider than drawn). Y ticks sit at round values (1, 2 or 5 times a power of ten; whole decades on log axes);
// category labels never overlap: straight when they fit, else on two lines, else rotated (and cut, with the full
// text as a tooltip), and margins grow to hold them. No scripts, no external fonts or URLs (not even the xmlns URI, which HTML5 does not need for
// inline SVG): the markup renders as-is in any browser.
// Non-finite values are drawn as gaps (and listed in the SVG <title> tooltips as "n/a").
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace qh::reports::svg {

struct ChartOptions {
  std::string title;
  std::string x_label;  // e.g. "layer"
  std::string y_label;  // e.g. "KL divergence"
  std::string unit;     // appended to the y label as " [unit]" when non-empty, e.g. "nats"
  int width = 960;
  int height = 320;
  bool log_y = false;   // logarithmic y axis (values <= 0 are drawn as gaps)
  // Heatmap colour range; when both are finite the ramp spans [range_min, range_max] instead of the data's
  // own range (probabilities read right as 0..1 even when every cell holds the same value).
  double range_min = NAN;
  double range_max = NAN;
};

struct Series {
  std::string name;
  std::vector<double> values;
};

// One bar per category.
std::string bar_chart(const std::vector<std::string>& categories, const std::vector<double>& values,
                      const ChartOptions& options);

// For each category, one bar per series side by side (e.g. categories = schemes, series = models).
std::string grouped_bar_chart(const std::vector<std::string>& categories, const std::vector<Series>& series,
                              const ChartOptions& options);

// Lines over x (e.g. x = layer index, one series per model). Every series has x.size() values.
std::string line_chart(const std::vector<double>& x, const std::vector<Series>& series,
                       const ChartOptions& options);

// A rows x cols grid of values with a colour legend (e.g. rows = layers, cols = heads, value = sink_mass).
// Rows may be ragged; missing cells are blank.
std::string heatmap(const std::vector<std::vector<double>>& values, const std::vector<std::string>& row_labels,
                    const std::vector<std::string>& col_labels, const ChartOptions& options);

// Escapes &, <, >, " and ' for XML text and attribute values (shared by the HTML and JUnit writers).
std::string xml_escape(const std::string& text);

}  // namespace qh::reports::svg
