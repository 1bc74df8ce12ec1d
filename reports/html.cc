// report.html: one self-contained page (inline CSS, inline SVG, no scripts, no external URL) with the checks,
// degradation per scheme per model, attribution bars, sink and residual-peak profiles and baseline deltas.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "src/core/format.h"
#include "src/core/atomic_file.h"
#include "reports/baseline.h"
#include "reports/metric_info.h"
#include "reports/task_table.h"
#include "reports/svg.h"
#include "reports/writers.h"

namespace qh::reports {

namespace {

using svg::xml_escape;

const char* kStyle = R"(
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; } tr.fail td { background: #fde2e1; } .pass { color: #1a7f37; } .fail { color: #c62828; font-weight: bold; }
.banner { padding: 0.6em 1em; border-radius: 4px; font-weight: bold; }
.banner.pass { background: #dafbe1; } .banner.fail { background: #fde2e1; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; } .charts svg { border: 1px solid #eee; display: block; }
footer { margin-top: 3em; font-size: 0.8em; color: #666; }
)";

std::string td(const std::string& text) { return "<td>" + xml_escape(text) + "</td>"; }
std::string td_num(double v) { return "<td class=\"num\">" + xml_escape(format_number(v)) + "</td>"; }
std::string th_row(const std::vector<std::string>& cols) {
  std::string s = "<tr>";
  for (const auto& c : cols) s += "<th>" + xml_escape(c) + "</th>";
  return s + "</tr>\n";
}

std::string checks_section(const Results& r) {
  if (r.verdicts.empty()) return "";
  std::string s = "<h2>Checks</h2>\n<table>\n" + th_row({"result", "check", "value", "limit", "details"});
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& v : r.verdicts) {
      if (v.passed != (pass == 1)) continue;
      s += std::string("<tr") + (v.passed ? "" : " class=\"fail\"") + "><td class=\"" +
           (v.passed ? "pass\">pass" : "fail\">FAIL") + "</td>" + td(v.name) + td_num(v.value) + td_num(v.limit) +
           td(v.message) + "</tr>\n";
    }
  }
  return s + "</table>\n";
}

std::string cases_table(const Results& r) {
  const auto metrics = present_headline_metrics(r);
  const bool with_methods = distinct_methods(r).size() > 1;
  std::vector<std::string> cols = {"model", "scheme", "protection"};
  if (with_methods) cols.push_back("method");
  for (const auto& m : metrics) cols.push_back(metric_label(m));
  std::string s = "<table>\n" + th_row(cols);
  for (const auto& c : r.cases) {
    if (is_task_data(c.data)) continue;
    s += "<tr>" + td(c.model) + td(c.scheme) + td(c.protection) + (with_methods ? td(c.method) : std::string());
    for (const auto& m : metrics) {
      const auto v = c.metric(m);
      s += v ? td_num(*v) : "<td></td>";
    }
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

std::string task_table_html(const TaskTable& t, bool drop) {
  std::vector<std::string> cols = {"model", "scheme"};
  cols.insert(cols.end(), t.tasks.begin(), t.tasks.end());
  cols.push_back("average");
  std::string s = "<table>\n" + th_row(cols);
  auto cell = [&](double v, double lo, double hi) {
    if (std::isnan(v)) return std::string("<td class=\"num\">n/a</td>");
    const std::string text = !drop                ? fmt::format("{:.1f}", v)
                             : std::isnan(lo)     ? fmt::format("{:+.2f}", v)
                                                  : fmt::format("{:+.2f} [{:+.2f}, {:+.2f}]", v, lo, hi);
    return "<td class=\"num\">" + xml_escape(text) + "</td>";
  };
  for (const auto& row : t.rows) {
    s += "<tr>" + td(row.model) + td(row.scheme);
    for (size_t i = 0; i < row.values.size(); ++i) s += cell(row.values[i], row.lo[i], row.hi[i]);
    s += cell(row.average, NAN, NAN) + "</tr>\n";
  }
  return s + "</table>\n";
}

std::string tasks_section(const Results& r) {
  const TaskTable acc = task_table(r, "acc");
  if (acc.empty()) return "";
  std::string s = "<h2>Task accuracy (%)</h2>\n<p>acc per task (lm-evaluation-harness definitions; fp = the "
                  "full-precision model) and the average over the tasks.</p>\n" +
                  task_table_html(acc, false);
  const TaskTable norm = task_table(r, "acc_norm");
  const bool any_norm = std::any_of(norm.rows.begin(), norm.rows.end(), [](const TaskTable::Row& row) {
    return std::any_of(row.values.begin(), row.values.end(), [](double v) { return !std::isnan(v); });
  });
  if (any_norm) s += "<p>acc_norm (log-likelihood per character of the choice):</p>\n" + task_table_html(norm, false);
  s += "<h3>Accuracy drop against fp (points)</h3>\n<p>100 &#215; (fp &#8722; quantized) with the 95% paired "
       "interval of the drop (Wald interval of the McNemar discordant counts).</p>\n" +
       task_table_html(task_table(r, "acc_drop"), true);
  return s;
}

// One grouped bar chart per headline degradation metric: categories = schemes, series = models.
std::string degradation_charts(const Results& r) {
  const auto models = distinct_models(r);
  const auto schemes = distinct_schemes(r);
  std::string s;
  for (const char* metric : {"kld_mean", "delta_ppl", "top1_agree", "backcopy_risk"}) {
    std::vector<svg::Series> series;
    bool any = false;
    for (const auto& m : models) {
      svg::Series se{m, {}};
      for (const auto& sc : schemes) {
        double v = NAN;
        for (const auto& c : r.cases) {
          if (c.model == m && c.scheme == sc && c.protection == "none" && c.method == "rtn" && c.metric(metric))
            v = *c.metric(metric);
        }
        any = any || std::isfinite(v);
        se.values.push_back(v);
      }
      series.push_back(se);
    }
    if (!any) continue;
    svg::ChartOptions o;
    o.title = metric_label(metric) + " per scheme and model";
    o.x_label = "scheme";
    o.y_label = metric_label(metric);
    o.unit = std::string(metric) == "kld_mean" ? "nats" : "";
    s += svg::grouped_bar_chart(schemes, series, o);
  }
  // Post-training methods: per scheme, KL divergence per method (categories) and model (series).
  const auto methods = distinct_methods(r);
  if (methods.size() > 1)
    for (const auto& sc : schemes) {
      std::vector<svg::Series> series;
      bool any = false;
      for (const auto& m : models) {
        svg::Series se{m, {}};
        for (const auto& me : methods) {
          double v = NAN;
          for (const auto& c : r.cases)
            if (c.model == m && c.scheme == sc && c.protection == "none" && c.method == me && c.metric("kld_mean"))
              v = *c.metric("kld_mean");
          any = any || std::isfinite(v);
          se.values.push_back(v);
        }
        series.push_back(se);
      }
      if (!any) continue;
      svg::ChartOptions o;
      o.title = metric_label("kld_mean") + " under " + sc + " per post-training method and model";
      o.x_label = "method";
      o.y_label = metric_label("kld_mean");
      o.unit = "nats";
      s += svg::grouped_bar_chart(methods, series, o);
    }
  return s.empty() ? s : "<div class=\"charts\">\n" + s + "</div>\n";
}

std::string attribution_section(const Results& r) {
  std::vector<std::string> metrics;
  for (const auto& c : r.cases) {
    for (const auto& a : c.attribution) {
      if (std::find(metrics.begin(), metrics.end(), a.metric) == metrics.end()) metrics.push_back(a.metric);
    }
  }
  if (metrics.empty()) return "";
  std::string s = "<h2>Attribution to sink tokens and outlier channels</h2>\n"
                  "<p>Two-player Shapley split of the degradation over the protections {none, tokens, channels, both}:"
                  " sink tokens + outlier channels + rest = total.</p>\n<div class=\"charts\">\n";
  std::string table = "<table>\n" + th_row({"model", "scheme", "metric", "total", "sink tokens", "outlier channels",
                                            "rest", "share tokens", "share channels", "share rest"});
  for (const auto& metric : metrics) {
    std::vector<std::string> cats;
    svg::Series tok{"sink tokens", {}}, chan{"outlier channels", {}}, rest{"rest", {}};
    for (const auto& c : r.cases) {
      const Attribution* a = c.attribution_for(metric);
      if (!a) continue;
      cats.push_back(c.model + " " + c.scheme);
      tok.values.push_back(a->phi_tokens);
      chan.values.push_back(a->phi_channels);
      rest.values.push_back(a->rest);
      table += "<tr>" + td(c.model) + td(c.scheme) + td(metric) + td_num(a->total) + td_num(a->phi_tokens) +
               td_num(a->phi_channels) + td_num(a->rest) + td_num(a->share_tokens) + td_num(a->share_channels) +
               td_num(a->share_rest) + "</tr>\n";
    }
    svg::ChartOptions o;
    o.title = "Attribution of " + metric_label(metric);
    o.x_label = "model and scheme";
    o.y_label = metric_label(metric) + " part";
    o.unit = metric == "kld_mean" ? "nats" : "";
    s += svg::grouped_bar_chart(cats, {tok, chan, rest}, o);
  }
  return s + "</div>\n" + table + "</table>\n";
}

// Per-model audit profiles: mean sink_mass per layer, residual peak per layer, and a head x layer heatmap.
std::string audit_section(const Results& r) {
  std::vector<const CaseResult*> audited;
  for (const auto& c : r.cases) {
    if (c.audit.empty()) continue;
    bool seen = false;
    for (const auto* a : audited) seen = seen || a->model == c.model;
    if (!seen) audited.push_back(&c);
  }
  if (audited.empty()) return "";
  size_t layers = 0;
  for (const auto* c : audited) layers = std::max({layers, c->audit.sink_mass.size(), c->audit.residual_peak.size()});
  std::vector<double> x(layers);
  for (size_t l = 0; l < layers; ++l) x[l] = static_cast<double>(l);
  std::vector<svg::Series> sink, peak;
  for (const auto* c : audited) {
    svg::Series s1{c->model, std::vector<double>(layers, NAN)}, s2{c->model, std::vector<double>(layers, NAN)};
    for (size_t l = 0; l < c->audit.sink_mass.size(); ++l) {
      double sum = 0;
      for (double v : c->audit.sink_mass[l]) sum += v;
      if (!c->audit.sink_mass[l].empty()) s1.values[l] = sum / c->audit.sink_mass[l].size();
    }
    for (size_t l = 0; l < c->audit.residual_peak.size(); ++l) s2.values[l] = c->audit.residual_peak[l];
    sink.push_back(s1);
    peak.push_back(s2);
  }
  std::string s = "<h2>Outlier audit (full precision)</h2>\n<div class=\"charts\">\n";
  svg::ChartOptions o;
  o.title = "Attention sink mass per layer (mean over heads)";
  o.x_label = "layer";
  o.y_label = "sink_mass";
  o.unit = "probability";
  s += svg::line_chart(x, sink, o);
  o.title = "Residual-state peak per layer";
  o.y_label = "residual_peak";
  o.unit = "ratio to median token";
  o.log_y = true;
  s += svg::line_chart(x, peak, o);
  for (const auto* c : audited) {
    if (c->audit.sink_mass.empty()) continue;
    std::vector<std::string> rows, cols;
    size_t heads = 0;
    for (size_t l = 0; l < c->audit.sink_mass.size(); ++l) {
      rows.push_back("L" + std::to_string(l));
      heads = std::max(heads, c->audit.sink_mass[l].size());
    }
    for (size_t h = 0; h < heads; ++h) cols.push_back("H" + std::to_string(h));
    svg::ChartOptions ho;
    ho.title = "sink_mass per head: " + c->model;
    ho.x_label = "head";
    ho.y_label = "layer";
    ho.unit = "probability";
    ho.range_min = 0.0;
    ho.range_max = 1.0;
    ho.width = 360;
    ho.height = std::max(200, 60 + 40 * static_cast<int>(rows.size()) + 60);
    s += svg::heatmap(c->audit.sink_mass, rows, cols, ho);
  }
  return s + "</div>\n";
}

std::string baseline_section(const Results& r, const Results& baseline) {
  const auto metrics = present_headline_metrics(r);
  const auto deltas = metric_deltas(baseline, r, metrics);
  std::string s = "<h2>Changes against the baseline</h2>\n";
  if (deltas.empty()) return s + "<p>No case of this run is in the baseline.</p>\n";
  s += "<div class=\"charts\">\n";
  for (const char* metric : {"kld_mean", "delta_ppl", "top1_agree"}) {
    std::vector<std::string> cats;
    std::vector<double> values;
    for (const auto& d : deltas) {
      if (d.metric != metric) continue;
      cats.push_back(d.model + " " + d.scheme + (d.protection == "none" ? "" : " " + d.protection));
      values.push_back(d.delta());
    }
    if (cats.empty()) continue;
    svg::ChartOptions o;
    o.title = "Change of " + metric_label(metric) + " against the baseline";
    o.x_label = "case";
    o.y_label = "Δ " + metric_label(metric);
    s += svg::bar_chart(cats, values, o);
  }
  s += "</div>\n<table>\n" + th_row({"model", "scheme", "protection", "metric", "baseline", "now", "Δ"});
  for (const auto& d : deltas) {
    s += "<tr>" + td(d.model) + td(d.scheme) + td(d.protection) + td(d.metric) + td_num(d.old_value) +
         td_num(d.new_value) + td_num(d.delta()) + "</tr>\n";
  }
  return s + "</table>\n";
}

}  // namespace

std::string render_html(const Results& r, const Results* baseline) {
  const std::string title = "qharness report" + (r.suite.empty() ? std::string() : ": " + r.suite);
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>" +
                  xml_escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  s += "<h1>" + xml_escape(title) + "</h1>\n";
  const int failed = r.num_failed();
  if (!r.verdicts.empty()) {
    s += fmt::format("<p class=\"banner {}\">{}</p>\n", failed ? "fail" : "pass",
                     failed ? fmt::format("FAIL: {} of {} checks failed over {} cases", failed, r.verdicts.size(),
                                          r.cases.size())
                            : fmt::format("PASS: all {} checks passed over {} cases", r.verdicts.size(),
                                          r.cases.size()));
  }
  const auto measured = measurement_lines(r);
  if (!measured.empty()) {
    s += "<p>Measured on:</p>\n<ul>\n";
    for (const auto& line : measured) s += "<li>" + xml_escape(line) + "</li>\n";
    s += "</ul>\n";
  }
  s += checks_section(r);
  if (!only_task_cases(r)) s += "<h2>Degradation per scheme and model</h2>\n" + degradation_charts(r) + cases_table(r);
  s += tasks_section(r);
  s += attribution_section(r);
  s += audit_section(r);
  if (baseline) s += baseline_section(r, *baseline);
  const auto& e = r.environment;
  s += "<footer>" +
       xml_escape(fmt::format("qharness {} · results schema {} · CPU {} · oneDNN ISA {} · {} threads · {}",
                              e.git_revision, r.schema_version, e.cpu, e.onednn_isa, e.threads, r.created_utc)) +
       "</footer>\n</body>\n</html>\n";
  return s;
}

std::vector<std::string> write_report_dir(const std::string& dir, const Results& r, const Results* baseline) {
  make_dirs(dir);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"results.json", to_json(r).dump(2) + "\n"},
      {"report.md", render_markdown(r, baseline)},
      {"report.html", render_html(r, baseline)},
      {"junit.xml", render_junit(r)},
      {"cases.csv", render_csv(r)}};
  std::vector<std::string> paths;
  for (const auto& [name, content] : files) {
    const std::string path = dir + "/" + name;
    write_file_atomic(path, content);
    paths.push_back(path);
  }
  return paths;
}

}  // namespace qh::reports
