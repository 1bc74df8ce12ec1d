// report.md: a summary line, the failed and passed checks, then per model x scheme degradation, protections,
// attribution, audit highlights and (with a baseline) deltas. GitHub-flavoured Markdown tables.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "src/core/format.h"
#include "reports/baseline.h"
#include "reports/metric_info.h"
#include "reports/task_table.h"
#include "reports/writers.h"

namespace qh::reports {

std::vector<std::string> present_headline_metrics(const Results& r) {
  std::vector<std::string> out;
  for (const auto& m : headline_metrics()) {
    for (const auto& c : r.cases) {
      if (c.metrics.has(m)) {
        out.push_back(m);
        break;
      }
    }
  }
  return out;
}

namespace {

template <typename F>
std::vector<std::string> distinct(const Results& r, F get) {
  std::vector<std::string> out;
  for (const auto& c : r.cases) {
    const std::string v = get(c);
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

// Markdown table cells must not contain a bare '|' or a newline.
std::string cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string row(const std::vector<std::string>& cells) {
  std::string s = "|";
  for (const auto& c : cells) s += " " + cell(c) + " |";
  return s + "\n";
}

std::string header(const std::vector<std::string>& cells) {
  std::string s = row(cells) + "|";
  for (size_t i = 0; i < cells.size(); ++i) s += "---|";
  return s + "\n";
}

std::string percent(double share) { return std::isfinite(share) ? fmt::format("{:.0f}%", 100 * share) : "n/a"; }

std::string verdict_section(const Results& r) {
  if (r.verdicts.empty()) return "";
  std::string s = "## Checks\n\n" + header({"", "check", "value", "limit", "details"});
  for (int pass = 0; pass < 2; ++pass) {  // failures first
    for (const auto& v : r.verdicts) {
      if (v.passed != (pass == 1)) continue;
      s += row({v.passed ? "pass" : "**FAIL**", v.name, format_number(v.value), format_number(v.limit), v.message});
    }
  }
  return s + "\n";
}

std::string degradation_section(const Results& r) {
  const auto metrics = present_headline_metrics(r);
  const bool with_methods = distinct_methods(r).size() > 1;
  std::vector<std::string> cols = {"model", "scheme"};
  if (with_methods) cols.push_back("method");
  for (const auto& m : metrics) cols.push_back(metric_label(m));
  if (only_task_cases(r)) return "";  // tasks only: their own section
  std::string s = "## Degradation per model and scheme\n\n" + header(cols);
  bool any_protected = false;
  for (const auto& c : r.cases) {
    if (is_task_data(c.data)) continue;
    if (c.protection != "none") {
      any_protected = true;
      continue;
    }
    std::vector<std::string> cells = {c.model, c.scheme};
    if (with_methods) cells.push_back(c.method);
    for (const auto& m : metrics) {
      const auto v = c.metric(m);
      cells.push_back(v ? format_number(*v) : "");
    }
    s += row(cells);
  }
  s += "\n";
  if (any_protected) {
    std::vector<std::string> pcols = {"model", "scheme", "protection"};
    if (with_methods) pcols.push_back("method");
    const std::vector<std::string> pm = {"kld_mean", "delta_ppl", "top1_agree", "backcopy_risk"};
    std::vector<std::string> shown;
    for (const auto& m : pm) {
      if (std::find(metrics.begin(), metrics.end(), m) != metrics.end()) shown.push_back(m);
    }
    for (const auto& m : shown) pcols.push_back(metric_label(m));
    s += "### With protections (sink tokens / outlier channels in full precision)\n\n" + header(pcols);
    for (const auto& c : r.cases) {
      if (is_task_data(c.data)) continue;
      std::vector<std::string> cells = {c.model, c.scheme, c.protection};
      if (with_methods) cells.push_back(c.method);
      for (const auto& m : shown) {
        const auto v = c.metric(m);
        cells.push_back(v ? format_number(*v) : "");
      }
      s += row(cells);
    }
    s += "\n";
  }
  return s;
}

std::string row_fn(const std::vector<std::string>& cells) { return row(cells); }

std::string task_cell(double v, double lo, double hi, bool drop) {
  if (std::isnan(v)) return "n/a";
  if (!drop) return fmt::format("{:.1f}", v);
  return std::isnan(lo) ? fmt::format("{:+.2f}", v) : fmt::format("{:+.2f} [{:+.2f}, {:+.2f}]", v, lo, hi);
}

std::string task_table_markdown(const TaskTable& t, bool drop) {
  std::vector<std::string> cols = {"model", "scheme"};
  cols.insert(cols.end(), t.tasks.begin(), t.tasks.end());
  cols.push_back("average");
  std::string s = header(cols);
  for (const auto& row : t.rows) {
    std::vector<std::string> cells = {row.model, row.scheme};
    for (size_t i = 0; i < row.values.size(); ++i)
      cells.push_back(task_cell(row.values[i], row.lo[i], row.hi[i], drop));
    cells.push_back(task_cell(row.average, NAN, NAN, drop));
    s += row_fn(cells);
  }
  return s + "\n";
}

std::string tasks_section(const Results& r) {
  const TaskTable acc = task_table(r, "acc");
  if (acc.empty()) return "";
  std::string s = "## Task accuracy (%)\n\nacc per task (lm-evaluation-harness definitions; fp = the full-precision "
                  "model), and the average over the tasks.\n\n" +
                  task_table_markdown(acc, false);
  const TaskTable norm = task_table(r, "acc_norm");
  const bool any_norm = std::any_of(norm.rows.begin(), norm.rows.end(), [](const TaskTable::Row& row) {
    return std::any_of(row.values.begin(), row.values.end(), [](double v) { return !std::isnan(v); });
  });
  if (any_norm) s += "acc_norm (log-likelihood per character of the choice):\n\n" + task_table_markdown(norm, false);
  s += "### Accuracy drop against fp (points)\n\n100 x (fp - quantized) with the 95% paired interval of the "
       "drop (items are paired; Wald interval of the McNemar discordant counts).\n\n" +
       task_table_markdown(task_table(r, "acc_drop"), true);
  return s;
}

// Post-training methods against training-time mitigations: per scheme, one row per model with its KL
// divergence under every method, so that a mitigated model under rtn reads next to the baseline under the
// best post-training method. The first model of the run is the baseline the others are compared with.
std::string methods_section(const Results& r) {
  const auto methods = distinct_methods(r);
  if (methods.size() < 2) return "";
  const auto models = distinct_models(r);
  const std::string metric = "kld_mean";
  std::string s = "## Post-training methods vs training-time mitigations\n\n";
  s += fmt::format("{} per model (rows) under each post-training method (columns), unprotected. \"best\" is the "
                   "lowest over the methods; the last two columns compare each model with the best method on the "
                   "first model, **{}** (the baseline): under rtn (its training-time mitigation alone: a mitigation "
                   "is worth having on its own when it beats the baseline's best) and under its own best method "
                   "(the mitigation adds to the post-training methods when that is lower still).\n\n",
                   metric_label(metric), models.front());
  for (const auto& scheme : distinct_schemes(r)) {
    for (const auto& data : distinct(r, [](const CaseResult& c) { return c.data; })) {
      std::vector<std::string> cols = {"model"};
      for (const auto& m : methods) cols.push_back(m);
      cols.push_back("best");
      cols.push_back("rtn vs baseline's best");
      cols.push_back("best vs baseline's best");
      std::string table;
      double base_best = NAN;
      for (const auto& model : models) {
        std::vector<std::string> cells = {model};
        double best = NAN, rtn = NAN;
        std::string best_name;
        for (const auto& m : methods) {
          const CaseResult* c = r.find_case(model, data, scheme, "none", m);
          const auto v = c ? c->metric(metric) : std::nullopt;
          cells.push_back(v ? format_number(*v) : "");
          if (!v || std::isnan(*v)) continue;
          if (m == "rtn") rtn = *v;
          if (std::isnan(best) || *v < best) {
            best = *v;
            best_name = m;
          }
        }
        if (model == models.front()) base_best = best;
        cells.push_back(std::isnan(best) ? "" : format_number(best) + " (" + best_name + ")");
        if (model == models.front() || std::isnan(rtn) || std::isnan(base_best)) {
          cells.push_back("");
        } else {
          cells.push_back(rtn < base_best ? "beats (" + format_number(rtn) + " < " + format_number(base_best) + ")"
                                          : "does not (" + format_number(rtn) + " >= " + format_number(base_best) + ")");
        }
        if (model == models.front() || std::isnan(best) || std::isnan(base_best)) {
          cells.push_back("");
        } else {
          cells.push_back(best < base_best
                              ? "adds (" + format_number(best) + " < " + format_number(base_best) + ")"
                              : "does not add (" + format_number(best) + " >= " + format_number(base_best) + ")");
        }
        table += row(cells);
      }
      s += "### " + scheme + (r.cases.empty() || distinct(r, [](const CaseResult& c) { return c.data; }).size() < 2
                                  ? std::string()
                                  : " on " + data) +
           "\n\n" + header(cols) + table + "\n";
    }
  }
  // The one-time cost of each method (calibration passes, Hessians, GPTQ), the largest over schemes.
  std::string times;
  for (const auto& model : models) {
    std::vector<std::string> cells = {model};
    bool any = false;
    for (const auto& m : methods) {
      double t = 0;
      for (const auto& c : r.cases)
        if (c.model == model && c.method == m) t = std::max(t, c.method_seconds);
      any |= t > 0;
      cells.push_back(m == "rtn" ? "" : fmt::format("{:.2f}", t));
    }
    if (any) times += row(cells);
  }
  if (!times.empty()) {
    std::vector<std::string> cols = {"model"};
    for (const auto& m : methods) cols.push_back(m);
    s += "### Method time (seconds, one-time per model and scheme)\n\n" + header(cols) + times + "\n";
  }
  return s;
}

std::string attribution_section(const Results& r) {
  std::string s;
  for (const auto& c : r.cases) {
    for (const auto& a : c.attribution) {
      if (s.empty()) {
        s = "## Attribution of the degradation (Shapley: sink tokens vs outlier channels)\n\n" +
            header({"model", "scheme", "metric", "total", "sink tokens", "outlier channels", "rest"});
      }
      s += row({c.model, c.scheme, a.metric, format_number(a.total),
                format_number(a.phi_tokens) + " (" + percent(a.share_tokens) + ")",
                format_number(a.phi_channels) + " (" + percent(a.share_channels) + ")",
                format_number(a.rest) + " (" + percent(a.share_rest) + ")"});
    }
  }
  return s.empty() ? s : s + "\n";
}

// Largest value of a [layer][head] grid with its position.
struct Peak {
  double value = NAN;
  int layer = -1, head = -1;
};
Peak grid_max(const std::vector<std::vector<double>>& g) {
  Peak p;
  for (size_t l = 0; l < g.size(); ++l) {
    for (size_t h = 0; h < g[l].size(); ++h) {
      if (std::isfinite(g[l][h]) && (std::isnan(p.value) || g[l][h] > p.value)) {
        p = {g[l][h], static_cast<int>(l), static_cast<int>(h)};
      }
    }
  }
  return p;
}
// Largest value of a [layer] vector; head stays -1.
Peak vec_max(const std::vector<double>& v) {
  const Peak p = grid_max({v});
  return Peak{p.value, p.head, -1};
}

std::string audit_section(const Results& r) {
  std::string s;
  std::vector<std::string> seen;
  for (const auto& c : r.cases) {
    if (c.audit.empty() || std::find(seen.begin(), seen.end(), c.model) != seen.end()) continue;
    seen.push_back(c.model);
    if (s.empty()) {
      s = "## Outlier audit (full precision)\n\n" +
          header({"model", "max sink_mass (layer.head)", "max residual_peak (layer)", "max kurtosis", "max |x|",
                  "outlier channels"});
    }
    const Peak sink = grid_max(c.audit.sink_mass);
    const Peak peak = vec_max(c.audit.residual_peak);
    const Peak kurt = vec_max(c.audit.kurtosis);
    const Peak maxabs = vec_max(c.audit.max_abs);
    size_t channels = 0;
    for (const auto& l : c.audit.outlier_channels) channels += l.size();
    s += row({c.model,
              sink.layer < 0 ? "n/a" : fmt::format("{} ({}.{})", format_number(sink.value), sink.layer, sink.head),
              peak.layer < 0 ? "n/a" : fmt::format("{} ({})", format_number(peak.value), peak.layer),
              format_number(kurt.value), format_number(maxabs.value), std::to_string(channels)});
  }
  return s.empty() ? s : s + "\n";
}

std::string baseline_section(const Results& r, const Results& baseline) {
  std::vector<std::string> metrics;
  for (const char* m : {"ppl_fp", "delta_ppl", "kld_mean", "top1_agree", "backcopy_risk"}) metrics.push_back(m);
  const auto deltas = metric_deltas(baseline, r, metrics);
  if (deltas.empty()) return "## Changes against the baseline\n\nNo case of this run is in the baseline.\n\n";
  std::string s = "## Changes against the baseline\n\n";
  std::string table = header({"model", "scheme", "protection", "metric", "baseline", "now", "Δ"});
  int unchanged = 0;
  for (const auto& d : deltas) {
    if (d.old_value == d.new_value) {
      ++unchanged;
      continue;
    }
    table += row({d.model, d.scheme, d.protection, d.metric, format_number(d.old_value), format_number(d.new_value),
                  (d.delta() > 0 ? "+" : "") + format_number(d.delta())});
  }
  if (static_cast<size_t>(unchanged) < deltas.size()) s += table + "\n";
  s += fmt::format("{} of {} compared values unchanged.\n\n", unchanged, deltas.size());
  return s;
}

}  // namespace

std::vector<std::string> distinct_models(const Results& r) {
  return distinct(r, [](const CaseResult& c) { return c.model; });
}
std::vector<std::string> distinct_schemes(const Results& r) {
  return distinct(r, [](const CaseResult& c) { return c.scheme; });
}
std::vector<std::string> distinct_methods(const Results& r) {
  return distinct(r, [](const CaseResult& c) { return c.method; });
}

std::string render_markdown(const Results& r, const Results* baseline) {
  std::string s = "# qharness report" + (r.suite.empty() ? std::string() : ": " + r.suite) + "\n\n";
  const int failed = r.num_failed();
  if (r.verdicts.empty()) {
    s += fmt::format("{} cases, no checks.\n\n", r.cases.size());
  } else if (failed == 0) {
    s += fmt::format("**PASS**: all {} checks passed over {} cases.\n\n", r.verdicts.size(), r.cases.size());
  } else {
    s += fmt::format("**FAIL**: {} of {} checks failed over {} cases.\n\n", failed, r.verdicts.size(),
                     r.cases.size());
  }
  const auto measured = measurement_lines(r);
  if (!measured.empty()) {
    s += "Measured on:\n\n";
    for (const auto& line : measured) s += "- " + cell(line) + "\n";
    s += "\n";
  }
  s += verdict_section(r);
  s += degradation_section(r);
  s += tasks_section(r);
  s += methods_section(r);
  s += attribution_section(r);
  s += audit_section(r);
  if (baseline) s += baseline_section(r, *baseline);
  const auto& e = r.environment;
  s += fmt::format("<sub>qharness {} · schema {} · {} · oneDNN ISA {} · {} threads{}</sub>\n",
                   e.git_revision.empty() ? "unknown revision" : e.git_revision, r.schema_version,
                   e.cpu.empty() ? "unknown CPU" : e.cpu, e.onednn_isa.empty() ? "n/a" : e.onednn_isa, e.threads,
                   r.created_utc.empty() ? "" : " · " + r.created_utc);
  return s;
}

}  // namespace qh::reports
