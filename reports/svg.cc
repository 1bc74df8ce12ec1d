#include "reports/svg.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "src/core/format.h"

namespace qh::reports::svg {

namespace {
// Tick labels and tooltips: 3 significant digits are enough to read a chart.
std::string chart_number(double v) { return qh::format_number(v, 3); }
}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// A colour-blind-friendly qualitative palette (Okabe-Ito).
const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"};
const char* colour(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

constexpr int kLeft = 70, kRight = 20, kTop = 40, kBottom = 60;

// The plotting frame shared by bar and line charts: maps values to pixels and draws axes, ticks, labels.
struct Frame {
  ChartOptions opt;
  double lo = 0, hi = 1;  // y range (log10 of values when log_y)
  int legend_rows = 0;

  int plot_w() const { return opt.width - kLeft - kRight; }
  int plot_h() const { return opt.height - kTop - kBottom - legend_rows * 16; }
  double y_of(double v) const {
    const double t = opt.log_y ? std::log10(v) : v;
    return kTop + plot_h() * (1.0 - (t - lo) / (hi - lo));
  }
  bool drawable(double v) const { return std::isfinite(v) && (!opt.log_y || v > 0); }
};

// Chooses a y range covering the values (and 0 for linear axes) with round end points.
void fit_range(Frame* f, const std::vector<double>& values) {
  double lo = f->opt.log_y ? INFINITY : 0.0, hi = f->opt.log_y ? -INFINITY : 0.0;
  for (double v : values) {
    if (!f->drawable(v)) continue;
    const double t = f->opt.log_y ? std::log10(v) : v;
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (f->opt.log_y) {
    lo = std::floor(lo);
    hi = std::ceil(hi);
  }
  if (hi - lo < 1e-12) {
    hi = lo + 1;
  } else if (!f->opt.log_y) {
    const double pad = 0.05 * (hi - lo);
    if (hi > 0) hi += pad;
    if (lo < 0) lo -= pad;
  }
  f->lo = lo;
  f->hi = hi;
}

std::string open_svg(const Frame& f) {
  std::string s = fmt::format(
      "<svg width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n",
      f.opt.width, f.opt.height);
  s += fmt::format("<title>{}</title>\n", xml_escape(f.opt.title));
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", f.opt.width, f.opt.height);
  s += fmt::format("<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
                   f.opt.width / 2, xml_escape(f.opt.title));
  return s;
}

std::string y_label_text(const ChartOptions& o) {
  std::string label = o.y_label;
  if (!o.unit.empty()) label += " [" + o.unit + "]";
  if (o.log_y) label += " (log scale)";
  return label;
}

// Axes, horizontal grid lines with tick labels, axis titles.
std::string axes(const Frame& f) {
  std::string s;
  const int x0 = kLeft, y0 = kTop, w = f.plot_w(), h = f.plot_h();
  const int ticks = 5;
  for (int i = 0; i <= ticks; ++i) {
    const double t = f.lo + (f.hi - f.lo) * i / ticks;
    const double v = f.opt.log_y ? std::pow(10.0, t) : t;
    const double y = y0 + h * (1.0 - static_cast<double>(i) / ticks);
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#dddddd\"/>\n", x0, y, x0 + w, y);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 4, y + 4,
                     xml_escape(chart_number(v)));
  }
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333333\"/>\n", x0, y0, y0 + h);
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333333\"/>\n", x0, y0 + h, x0 + w);
  if (!f.opt.log_y && f.lo < 0 && f.hi > 0) {
    const double yz = f.y_of(0);
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#333333\"/>\n", x0, yz, x0 + w, yz);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x0 + w / 2, y0 + h + 36,
                   xml_escape(f.opt.x_label));
  s += fmt::format("<text x=\"14\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {0})\">{1}</text>\n",
                   y0 + h / 2, xml_escape(y_label_text(f.opt)));
  return s;
}

std::string legend(const Frame& f, const std::vector<Series>& series) {
  if (series.size() < 2) return "";
  std::string s;
  const int per_row = std::max(1, f.plot_w() / 150);
  const int base_y = f.opt.height - f.legend_rows * 16 - 4;
  for (size_t i = 0; i < series.size(); ++i) {
    const int x = kLeft + static_cast<int>(i % per_row) * 150;
    const int y = base_y + static_cast<int>(i / per_row) * 16;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n", x, y, colour(i));
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", x + 14, y + 9, xml_escape(series[i].name));
  }
  return s;
}

int legend_rows_for(const ChartOptions& o, size_t n_series) {
  if (n_series < 2) return 0;
  const int per_row = std::max(1, (o.width - kLeft - kRight) / 150);
  return static_cast<int>((n_series + per_row - 1) / per_row);
}

std::string category_labels(const Frame& f, const std::vector<std::string>& categories) {
  std::string s;
  const double slot = static_cast<double>(f.plot_w()) / std::max<size_t>(1, categories.size());
  for (size_t i = 0; i < categories.size(); ++i) {
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + slot * (i + 0.5),
                     kTop + f.plot_h() + 16, xml_escape(categories[i]));
  }
  return s;
}

std::string bar(const Frame& f, double x, double width, double v, const char* fill, const std::string& tip) {
  if (!f.drawable(v)) return "";
  const double base = f.opt.log_y ? kTop + f.plot_h() : f.y_of(std::clamp(0.0, f.lo, f.hi));
  const double top = f.y_of(v);
  return fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}</title></rect>\n", x,
      std::min(base, top), width, std::fabs(base - top), fill, xml_escape(tip));
}

}  // namespace

std::string bar_chart(const std::vector<std::string>& categories, const std::vector<double>& values,
                      const ChartOptions& options) {
  return grouped_bar_chart(categories, {Series{options.y_label, values}}, options);
}

std::string grouped_bar_chart(const std::vector<std::string>& categories, const std::vector<Series>& series,
                              const ChartOptions& options) {
  Frame f{options};
  f.legend_rows = legend_rows_for(options, series.size());
  std::vector<double> all;
  for (const auto& s : series) all.insert(all.end(), s.values.begin(), s.values.end());
  fit_range(&f, all);
  std::string s = open_svg(f) + axes(f) + category_labels(f, categories);
  const double slot = static_cast<double>(f.plot_w()) / std::max<size_t>(1, categories.size());
  const double bar_w = slot * 0.8 / std::max<size_t>(1, series.size());
  for (size_t si = 0; si < series.size(); ++si) {
    for (size_t ci = 0; ci < categories.size() && ci < series[si].values.size(); ++ci) {
      const double v = series[si].values[ci];
      const double x = kLeft + slot * ci + slot * 0.1 + bar_w * si;
      std::string tip = categories[ci] + (series.size() > 1 ? ", " + series[si].name : "") + ": " + chart_number(v);
      if (!options.unit.empty()) tip += " " + options.unit;
      s += bar(f, x, bar_w, v, colour(si), tip);
    }
  }
  return s + legend(f, series) + "</svg>\n";
}

std::string line_chart(const std::vector<double>& x, const std::vector<Series>& series, const ChartOptions& options) {
  Frame f{options};
  f.legend_rows = legend_rows_for(options, series.size());
  std::vector<double> all;
  for (const auto& s : series) all.insert(all.end(), s.values.begin(), s.values.end());
  fit_range(&f, all);
  double x_lo = INFINITY, x_hi = -INFINITY;
  for (double v : x) {
    if (std::isfinite(v)) x_lo = std::min(x_lo, v), x_hi = std::max(x_hi, v);
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1;
  if (x_hi - x_lo < 1e-12) x_lo -= 0.5, x_hi += 0.5;
  auto x_of = [&](double v) { return kLeft + f.plot_w() * (v - x_lo) / (x_hi - x_lo); };
  std::string s = open_svg(f) + axes(f);
  // x ticks: at most ~10 labels.
  const size_t step = std::max<size_t>(1, (x.size() + 9) / 10);
  for (size_t i = 0; i < x.size(); i += step) {
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x_of(x[i]),
                     kTop + f.plot_h() + 16, xml_escape(chart_number(x[i])));
  }
  for (size_t si = 0; si < series.size(); ++si) {
    std::string path;
    bool pen_down = false;
    for (size_t i = 0; i < x.size() && i < series[si].values.size(); ++i) {
      const double v = series[si].values[i];
      if (!f.drawable(v) || !std::isfinite(x[i])) {
        pen_down = false;  // a gap
        continue;
      }
      path += fmt::format("{}{:.1f},{:.1f} ", pen_down ? "L" : "M", x_of(x[i]), f.y_of(v));
      pen_down = true;
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{}</title></circle>\n",
                       x_of(x[i]), f.y_of(v), colour(si),
                       xml_escape(series[si].name + " @ " + chart_number(x[i]) + ": " + chart_number(v)));
    }
    if (!path.empty()) {
      s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", path, colour(si));
    }
  }
  return s + legend(f, series) + "</svg>\n";
}

namespace {

// Sequential white -> dark blue ramp; t in [0, 1].
std::string ramp(double t) {
  t = std::clamp(t, 0.0, 1.0);
  const int r = static_cast<int>(std::lround(255 + (8 - 255) * t));
  const int g = static_cast<int>(std::lround(255 + (48 - 255) * t));
  const int b = static_cast<int>(std::lround(255 + (107 - 255) * t));
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, b);
}

}  // namespace

std::string heatmap(const std::vector<std::vector<double>>& values, const std::vector<std::string>& row_labels,
                    const std::vector<std::string>& col_labels, const ChartOptions& options) {
  Frame f{options};
  size_t cols = col_labels.size();
  for (const auto& row : values) cols = std::max(cols, row.size());
  const size_t rows = std::max(values.size(), row_labels.size());
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& row : values) {
    for (double v : row) {
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (std::isfinite(options.range_min) && std::isfinite(options.range_max) && options.range_max > options.range_min) {
    lo = options.range_min, hi = options.range_max;
  }
  if (hi - lo < 1e-12) hi = lo + 1;
  const int legend_w = 60;
  const double cell_w = static_cast<double>(f.plot_w() - legend_w) / std::max<size_t>(1, cols);
  const double cell_h = static_cast<double>(f.plot_h()) / std::max<size_t>(1, rows);
  std::string s = open_svg(f);
  for (size_t r = 0; r < values.size(); ++r) {
    for (size_t c = 0; c < values[r].size(); ++c) {
      const double v = values[r][c];
      const double x = kLeft + cell_w * c, y = kTop + cell_h * r;
      const std::string fill = std::isfinite(v) ? ramp((v - lo) / (hi - lo)) : std::string("#f4f4f4");
      const std::string tip = (r < row_labels.size() ? row_labels[r] : std::to_string(r)) + ", " +
                              (c < col_labels.size() ? col_labels[c] : std::to_string(c)) + ": " + chart_number(v);
      s += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"#ffffff\">"
          "<title>{}</title></rect>\n",
          x, y, cell_w, cell_h, fill, xml_escape(tip));
      if (cell_w >= 28 && cell_h >= 14) {
        const double t = std::isfinite(v) ? (v - lo) / (hi - lo) : 0;
        s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                         x + cell_w / 2, y + cell_h / 2 + 4, t > 0.55 ? "#ffffff" : "#000000",
                         xml_escape(chart_number(v)));
      }
    }
  }
  for (size_t r = 0; r < row_labels.size(); ++r) {
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 4,
                     kTop + cell_h * (r + 0.5) + 4, xml_escape(row_labels[r]));
  }
  for (size_t c = 0; c < col_labels.size(); ++c) {
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + cell_w * (c + 0.5),
                     kTop + f.plot_h() + 16, xml_escape(col_labels[c]));
  }
  // Axis titles.
  s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                   kLeft + (f.plot_w() - legend_w) / 2.0, kTop + f.plot_h() + 36, xml_escape(options.x_label));
  s += fmt::format("<text x=\"14\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {0})\">{1}</text>\n",
                   kTop + f.plot_h() / 2, xml_escape(options.y_label));
  // Colour legend: a vertical ramp with the min and max values and the unit.
  const int lx = options.width - kRight - legend_w + 20;
  const int steps = 10;
  for (int i = 0; i < steps; ++i) {
    const double t = 1.0 - static_cast<double>(i) / (steps - 1);
    s += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"12\" height=\"{:.1f}\" fill=\"{}\"/>\n", lx,
                     kTop + f.plot_h() * i / static_cast<double>(steps), f.plot_h() / static_cast<double>(steps),
                     ramp(t));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 14, kTop + 8, xml_escape(chart_number(hi)));
  s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 14, kTop + f.plot_h(), xml_escape(chart_number(lo)));
  if (!options.unit.empty()) {
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx, kTop - 6, xml_escape(options.unit));
  }
  return s + "</svg>\n";
}

}  // namespace qh::reports::svg
