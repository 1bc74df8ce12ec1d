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

constexpr int kRight = 20, kTop = 40;
// Text metrics at font-size 11 (sans-serif, DejaVu Sans being the widest common one): a generous average
// character width, so that labels laid out by it do not touch, and the line height.
constexpr double kCharW = 6.8, kLineH = 13;
constexpr double kPi = 3.14159265358979323846;
constexpr int kAngle = 40;  // degrees of rotated category labels
// Baseline of the labels under the plot: clear of the lowest y tick label, which is centred on the axis.
constexpr int kLabelY = 18;

double text_width(const std::string& s) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // UTF-8: count code points
  return kCharW * static_cast<double>(chars);
}

// `s` cut to at most `max_w` pixels, ending in "…" when cut.
std::string abbreviate(const std::string& s, double max_w) {
  if (text_width(s) <= max_w) return s;
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && text_width(out) + 2 * kCharW > max_w) break;
    out += s[i];
  }
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
  return out + "\u2026";
}

// How the category labels under a bar chart are drawn so that no two touch: straight when each fits its slot,
// else on two lines (split at a space) when both halves fit, else rotated by kAngle (every k-th label when the
// slots are too narrow even for that), cut to a length the chart's bottom can hold. Cut labels keep their full
// text as a tooltip.
struct CategoryLayout {
  enum Mode { kStraight, kTwoLines, kRotated } mode = kStraight;
  std::vector<std::vector<std::string>> lines;  // per category: 1 or 2 lines (rotated: 1)
  std::vector<bool> cut;
  size_t every = 1;       // draw every `every`-th label
  double height = kLineH; // vertical room the labels take below the axis
  double reach_left = 0;  // how far a rotated label reaches left of its slot's centre
};

// The most balanced split of `s` at a space into two lines (empty when there is no space).
std::pair<std::string, std::string> split_two(const std::string& s) {
  std::pair<std::string, std::string> best;
  double best_w = INFINITY;
  for (size_t p = s.find(' '); p != std::string::npos; p = s.find(' ', p + 1)) {
    const std::string a = s.substr(0, p), b = s.substr(p + 1);
    const double w = std::max(text_width(a), text_width(b));
    if (w < best_w) best_w = w, best = {a, b};
  }
  return best;
}

CategoryLayout layout_categories(const std::vector<std::string>& cats, double slot) {
  CategoryLayout L;
  const double room = slot - 6;  // a gap between neighbours
  L.cut.assign(cats.size(), false);
  bool straight = true, two = true;
  for (const auto& c : cats) {
    straight = straight && text_width(c) <= room;
    const auto [a, b] = split_two(c);
    two = two && (text_width(c) <= room || (!a.empty() && text_width(a) <= room && text_width(b) <= room));
  }
  if (straight) {
    for (const auto& c : cats) L.lines.push_back({c});
    return L;
  }
  if (two) {
    L.mode = CategoryLayout::kTwoLines;
    for (const auto& c : cats) {
      if (text_width(c) <= room) {
        L.lines.push_back({c});
      } else {
        const auto [a, b] = split_two(c);
        L.lines.push_back({a, b});
      }
    }
    L.height = 2 * kLineH;
    return L;
  }
  // Rotated: neighbours are slot * sin(angle) apart across the text direction; they need a line height.
  L.mode = CategoryLayout::kRotated;
  const double sin_a = std::sin(kAngle * kPi / 180.0), cos_a = std::cos(kAngle * kPi / 180.0);
  L.every = static_cast<size_t>(std::max(1.0, std::ceil((kLineH + 1) / (slot * sin_a))));
  const double max_len = 150;  // longest rotated label, in pixels along the text
  double longest = 0;
  for (size_t i = 0; i < cats.size(); ++i) {
    const std::string t = abbreviate(cats[i], max_len);
    L.cut[i] = t != cats[i];
    longest = std::max(longest, text_width(t));
    L.lines.push_back({t});
  }
  L.height = longest * sin_a + kLineH * cos_a + 8;
  L.reach_left = longest * cos_a;
  return L;
}

// The plotting frame shared by bar and line charts: maps values to pixels and draws axes, ticks, labels.
struct Frame {
  ChartOptions opt;
  double lo = 0, hi = 1;  // y range (log10 of values when log_y)
  double step = 0.2;      // tick step (decades when log_y)
  int legend_rows = 0;
  int left = 70;          // room for the y axis title and the tick labels
  int below = 20;         // room for the x tick / category labels under the plot

  int bottom() const { return below + 30 + legend_rows * 16; }  // + axis title + legend
  int plot_w() const { return opt.width - left - kRight; }
  int plot_h() const { return opt.height - kTop - bottom(); }
  double y_of(double v) const {
    const double t = opt.log_y ? std::log10(v) : v;
    return kTop + plot_h() * (1.0 - (t - lo) / (hi - lo));
  }
  bool drawable(double v) const { return std::isfinite(v) && (!opt.log_y || v > 0); }
};

// A round tick step: 1, 2 or 5 times a power of ten, giving at most about `target` steps over `span`.
double nice_step(double span, int target) {
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

// A tick label that shows a round value as written: "0.25", "40", "2e-05", "1.5e+06".
std::string tick_label(double v, double step) {
  if (std::fabs(v) < step * 1e-9) return "0";
  char buf[48];
  if (step >= 1e-3 && std::fabs(v) < 1e6) {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  } else {
    const int digits = std::max(0, static_cast<int>(std::floor(std::log10(std::fabs(v)) + 1e-9) -
                                                    std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buf, sizeof(buf), "%.*e", digits, v);
  }
  return buf;
}

// The y ticks: values (not log10) and their labels.
std::vector<std::pair<double, std::string>> y_ticks(const Frame& f) {
  std::vector<std::pair<double, std::string>> out;
  const int n = static_cast<int>(std::lround((f.hi - f.lo) / f.step));
  for (int i = 0; i <= n; ++i) {
    const double t = f.lo + f.step * i;
    if (f.opt.log_y) {
      const double v = std::pow(10.0, t);
      out.emplace_back(v, tick_label(v, v));
    } else {
      const double v = std::round(t / f.step) * f.step;  // no 0.30000000000000004
      out.emplace_back(v, tick_label(v, f.step));
    }
  }
  return out;
}

// Chooses a y range covering the values (and 0 for linear axes) that starts and ends on round ticks.
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
    if (hi - lo < 1) hi = lo + 1;
    f->step = std::max(1.0, std::ceil((hi - lo) / 6));  // whole decades, at most about 6 of them
    hi = lo + f->step * std::ceil((hi - lo) / f->step);
  } else {
    if (hi - lo < 1e-300) hi = lo + 1;
    f->step = nice_step(hi - lo, 5);
    lo = std::floor(lo / f->step + 1e-9) * f->step;
    hi = std::ceil(hi / f->step - 1e-9) * f->step;
  }
  f->lo = lo;
  f->hi = hi;
  double widest = 0;
  for (const auto& [v, label] : y_ticks(*f)) widest = std::max(widest, text_width(label));
  f->left = std::max(f->left, static_cast<int>(std::ceil(28 + widest + 6)));
}

std::string open_svg(const Frame& f) {
  // Drawn in a width x height box that scales to the page (never wider than drawn, so text never grows).
  std::string s = fmt::format(
      "<svg viewBox=\"0 0 {0} {1}\" style=\"width:100%;max-width:{0}px;height:auto\" "
      "role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n",
      f.opt.width, f.opt.height);
  s += fmt::format("<title>{}</title>\n", xml_escape(f.opt.title));
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", f.opt.width, f.opt.height);
  s += fmt::format("<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
                   f.opt.width / 2, xml_escape(abbreviate(f.opt.title, (f.opt.width - 20) * 11.0 / 14.0)));
  return s;
}

std::string y_label_text(const ChartOptions& o) {
  std::string label = o.y_label;
  if (!o.unit.empty()) label += " [" + o.unit + "]";
  if (o.log_y) label += " (log scale)";
  return label;
}

// Axes, horizontal grid lines with round tick labels, axis titles.
std::string axes(const Frame& f) {
  std::string s;
  const int x0 = f.left, y0 = kTop, w = f.plot_w(), h = f.plot_h();
  for (const auto& [v, label] : y_ticks(f)) {
    const double y = f.y_of(v);
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#dddddd\"/>\n", x0, y, x0 + w, y);
    s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 4, y + 4,
                     xml_escape(label));
  }
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333333\"/>\n", x0, y0, y0 + h);
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333333\"/>\n", x0, y0 + h, x0 + w);
  if (!f.opt.log_y && f.lo < 0 && f.hi > 0) {
    const double yz = f.y_of(0);
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#333333\"/>\n", x0, yz, x0 + w, yz);
  }
  s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x0 + w / 2,
                   y0 + h + f.below + 18.0, xml_escape(abbreviate(f.opt.x_label, w)));
  s += fmt::format("<text x=\"14\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {0})\">{1}</text>\n",
                   y0 + h / 2, xml_escape(abbreviate(y_label_text(f.opt), h)));
  return s;
}

constexpr int kLegendItem = 180;  // width of one legend entry

std::string legend(const Frame& f, const std::vector<Series>& series) {
  if (series.size() < 2) return "";
  std::string s;
  const int per_row = std::max(1, f.plot_w() / kLegendItem);
  const int base_y = f.opt.height - f.legend_rows * 16 - 4;
  for (size_t i = 0; i < series.size(); ++i) {
    const int x = f.left + static_cast<int>(i % per_row) * kLegendItem;
    const int y = base_y + static_cast<int>(i / per_row) * 16;
    const std::string name = abbreviate(series[i].name, kLegendItem - 24);
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n", x, y, colour(i));
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}{}</text>\n", x + 14, y + 9, xml_escape(name),
                     name != series[i].name ? "<title>" + xml_escape(series[i].name) + "</title>" : "");
  }
  return s;
}

int legend_rows_for(const ChartOptions& o, size_t n_series, int left) {
  if (n_series < 2) return 0;
  const int per_row = std::max(1, (o.width - left - kRight) / kLegendItem);
  return static_cast<int>((n_series + per_row - 1) / per_row);
}

// Category labels centred under their slots (laid out by layout_categories).
std::string category_labels(const Frame& f, const std::vector<std::string>& categories, const CategoryLayout& L) {
  std::string s;
  const double slot = static_cast<double>(f.plot_w()) / std::max<size_t>(1, categories.size());
  const double y = kTop + f.plot_h() + kLabelY;
  for (size_t i = 0; i < categories.size(); i += L.every) {
    const double x = f.left + slot * (i + 0.5);
    const std::string tip = L.cut[i] ? "<title>" + xml_escape(categories[i]) + "</title>" : "";
    if (L.mode == CategoryLayout::kRotated) {
      s += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"end\" transform=\"rotate(-{2} {0:.1f} {1:.1f})\">"
                       "{3}{4}</text>\n",
                       x + 4, y + 4, kAngle, xml_escape(L.lines[i][0]), tip);
    } else if (L.lines[i].size() == 2) {
      s += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"middle\"><tspan x=\"{0:.1f}\">{2}</tspan>"
                       "<tspan x=\"{0:.1f}\" dy=\"{3}\">{4}</tspan></text>\n",
                       x, y, xml_escape(L.lines[i][0]), kLineH, xml_escape(L.lines[i][1]));
    } else {
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}{}</text>\n", x, y,
                       xml_escape(L.lines[i][0]), tip);
    }
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
  std::vector<double> all;
  for (const auto& s : series) all.insert(all.end(), s.values.begin(), s.values.end());
  fit_range(&f, all);
  f.legend_rows = legend_rows_for(options, series.size(), f.left);
  const double n = static_cast<double>(std::max<size_t>(1, categories.size()));
  CategoryLayout labels = layout_categories(categories, f.plot_w() / n);
  // A rotated first label must not reach past the chart's left edge: widen the margin (and lay out again).
  const int need = static_cast<int>(std::ceil(labels.reach_left - 0.5 * f.plot_w() / n + 8));
  if (labels.mode == CategoryLayout::kRotated && need > f.left) {
    f.left = need;
    f.legend_rows = legend_rows_for(options, series.size(), f.left);
    labels = layout_categories(categories, f.plot_w() / n);
  }
  const double slot = f.plot_w() / n;
  f.below = static_cast<int>(std::ceil(labels.height)) + 8;
  std::string s = open_svg(f) + axes(f) + category_labels(f, categories, labels);
  const double bar_w = slot * 0.8 / std::max<size_t>(1, series.size());
  for (size_t si = 0; si < series.size(); ++si) {
    for (size_t ci = 0; ci < categories.size() && ci < series[si].values.size(); ++ci) {
      const double v = series[si].values[ci];
      const double x = f.left + slot * ci + slot * 0.1 + bar_w * si;
      std::string tip = categories[ci] + (series.size() > 1 ? ", " + series[si].name : "") + ": " + chart_number(v);
      if (!options.unit.empty()) tip += " " + options.unit;
      s += bar(f, x, bar_w, v, colour(si), tip);
    }
  }
  return s + legend(f, series) + "</svg>\n";
}

std::string line_chart(const std::vector<double>& x, const std::vector<Series>& series, const ChartOptions& options) {
  Frame f{options};
  std::vector<double> all;
  for (const auto& s : series) all.insert(all.end(), s.values.begin(), s.values.end());
  fit_range(&f, all);
  f.legend_rows = legend_rows_for(options, series.size(), f.left);
  double x_lo = INFINITY, x_hi = -INFINITY;
  for (double v : x) {
    if (std::isfinite(v)) x_lo = std::min(x_lo, v), x_hi = std::max(x_hi, v);
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1;
  if (x_hi - x_lo < 1e-12) x_lo -= 0.5, x_hi += 0.5;
  // Whole-number ticks for whole-number x (layers), round ticks otherwise; labels at least a label apart.
  bool whole = true;
  for (double v : x) whole = whole && (!std::isfinite(v) || v == std::round(v));
  double widest = 0;
  for (double v : {x_lo, x_hi}) widest = std::max(widest, text_width(chart_number(v)));
  const double room = f.plot_w() / std::max(1.0, widest + 12);
  double step = nice_step(x_hi - x_lo, static_cast<int>(std::clamp(room, 1.0, 10.0)));
  if (whole) step = std::max(1.0, std::round(step));
  auto x_of = [&](double v) { return f.left + f.plot_w() * (v - x_lo) / (x_hi - x_lo); };
  std::string s = open_svg(f) + axes(f);
  for (double t = std::ceil(x_lo / step - 1e-9) * step; t <= x_hi + step * 1e-9; t += step) {
    s += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x_of(t),
                     kTop + f.plot_h() + kLabelY, xml_escape(tick_label(std::round(t / step) * step, step)));
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
  double widest_row = 0;
  for (const auto& r : row_labels) widest_row = std::max(widest_row, text_width(r));
  f.left = std::max(f.left, static_cast<int>(std::ceil(28 + widest_row + 6)));
  const int legend_w = 60;
  const double cell_w = static_cast<double>(f.plot_w() - legend_w) / std::max<size_t>(1, cols);
  const CategoryLayout labels = layout_categories(col_labels, cell_w);
  f.below = static_cast<int>(std::ceil(labels.height)) + 8;
  const double cell_h = static_cast<double>(f.plot_h()) / std::max<size_t>(1, rows);
  std::string s = open_svg(f);
  for (size_t r = 0; r < values.size(); ++r) {
    for (size_t c = 0; c < values[r].size(); ++c) {
      const double v = values[r][c];
      const double x = f.left + cell_w * c, y = kTop + cell_h * r;
      const std::string fill = std::isfinite(v) ? ramp((v - lo) / (hi - lo)) : std::string("#f4f4f4");
      const std::string tip = (r < row_labels.size() ? row_labels[r] : std::to_string(r)) + ", " +
                              (c < col_labels.size() ? col_labels[c] : std::to_string(c)) + ": " + chart_number(v);
      s += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"#ffffff\">"
          "<title>{}</title></rect>\n",
          x, y, cell_w, cell_h, fill, xml_escape(tip));
      const std::string text = chart_number(v);
      if (text_width(text) + 4 <= cell_w && cell_h >= 14) {
        const double t = std::isfinite(v) ? (v - lo) / (hi - lo) : 0;
        s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                         x + cell_w / 2, y + cell_h / 2 + 4, t > 0.55 ? "#ffffff" : "#000000", xml_escape(text));
      }
    }
  }
  const size_t row_every = static_cast<size_t>(std::max(1.0, std::ceil(kLineH / std::max(cell_h, 1e-9))));
  for (size_t r = 0; r < row_labels.size(); r += row_every) {
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", f.left - 4,
                     kTop + cell_h * (r + 0.5) + 4, xml_escape(row_labels[r]));
  }
  Frame cf = f;  // the category labels span the cells only, not the colour legend
  cf.opt.width = options.width - legend_w;
  s += category_labels(cf, col_labels, labels);
  // Axis titles.
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                   f.left + (f.plot_w() - legend_w) / 2.0, kTop + f.plot_h() + f.below + 18.0,
                   xml_escape(abbreviate(options.x_label, f.plot_w() - legend_w)));
  s += fmt::format("<text x=\"14\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {0})\">{1}</text>\n",
                   kTop + f.plot_h() / 2, xml_escape(abbreviate(options.y_label, f.plot_h())));
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
  if (!options.unit.empty()) {  // along the ramp, clear of its value labels
    s += fmt::format("<text x=\"{0}\" y=\"{1:.1f}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1:.1f})\">{2}"
                     "</text>\n",
                     options.width - 8, kTop + f.plot_h() / 2.0, xml_escape(abbreviate(options.unit, f.plot_h())));
  }
  return s + "</svg>\n";
}

}  // namespace qh::reports::svg
