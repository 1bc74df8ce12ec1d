#include "reports/baseline.h"

#include <cmath>
#include <fmt/format.h>

#include "reports/metric_info.h"

namespace qh::reports {

double Tolerance::slack(double reference) const {
  return abs + rel * (std::isfinite(reference) ? std::fabs(reference) : 0.0);
}

const Tolerance& BaselineOptions::tolerance_for(const std::string& metric) const {
  for (const auto& [name, tol] : per_metric) {
    if (name == metric) return tol;
  }
  return tolerance;
}

namespace {

std::string case_label(const CaseResult& c) {
  std::string label = c.model + " " + c.scheme;
  if (c.protection != "none") label += " protect=" + c.protection;
  return label;
}

}  // namespace

std::vector<Verdict> check_against_baseline(const Results& baseline, const Results& current,
                                            const BaselineOptions& options) {
  std::vector<Verdict> out;
  for (const auto& old_case : baseline.cases) {
    const CaseResult* now = current.find_case(old_case.model, old_case.data, old_case.scheme, old_case.protection);
    if (!now) {
      if (options.require_all_cases) {
        Verdict v;
        v.name = "baseline " + case_label(old_case) + " present";
        v.kind = VerdictKind::kBaseline;
        v.passed = false;
        v.message = "case " + old_case.key() + " is in the baseline but was not run";
        v.value = NAN;
        v.limit = NAN;
        out.push_back(v);
      }
      continue;
    }
    for (const auto& metric : options.metrics) {
      const auto ref = old_case.metric(metric);
      if (!ref) continue;
      const auto val = now->metric(metric);
      const Tolerance& tol = options.tolerance_for(metric);
      const double slack = tol.slack(*ref);
      const bool lower_better = metric_direction(metric) == Direction::kLowerIsBetter;
      Verdict v;
      v.kind = VerdictKind::kBaseline;
      v.name = fmt::format("baseline {} {}", case_label(old_case), metric);
      v.value = val ? *val : NAN;
      v.limit = lower_better ? *ref + slack : *ref - slack;
      v.passed = val && !is_worse(metric, *val, *ref, slack);
      if (!val) {
        v.message = fmt::format("{} of {} missing in this run (baseline {})", metric, old_case.key(), *ref);
      } else {
        v.message = fmt::format("{} = {:.6g} vs baseline {:.6g} (Δ {:+.3g}; allowed {} {:.6g})", metric, *val, *ref,
                                *val - *ref, lower_better ? "<=" : ">=", v.limit);
      }
      out.push_back(v);
    }
  }
  return out;
}

std::vector<MetricDelta> metric_deltas(const Results& old_run, const Results& new_run,
                                       const std::vector<std::string>& metrics) {
  std::vector<MetricDelta> out;
  for (const auto& now : new_run.cases) {
    const CaseResult* old_case = old_run.find_case(now.model, now.data, now.scheme, now.protection);
    if (!old_case) continue;
    for (const auto& metric : metrics) {
      const auto a = old_case->metric(metric);
      const auto b = now.metric(metric);
      if (!a || !b) continue;
      out.push_back(MetricDelta{now.key(), now.model, now.scheme, now.protection, metric, *a, *b});
    }
  }
  return out;
}

}  // namespace qh::reports
