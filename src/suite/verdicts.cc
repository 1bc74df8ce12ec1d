#include "src/suite/verdicts.h"

#include <cmath>
#include <fmt/format.h>

#include "reports/audit_metrics.h"
#include "reports/baseline.h"
#include "reports/metric_info.h"
#include "src/core/format.h"

namespace qh::suite {

using reports::Verdict;
using reports::VerdictKind;

namespace {

std::string num(double v) { return format_number(v, 6); }

bool value_of(const reports::CaseResult* c, const std::string& metric, double* out) {
  if (!c) return false;
  const auto v = reports::case_value(*c, metric);
  if (v) *out = *v;
  return v.has_value();
}

// The case an expectation reads: the given scheme and protection, or for an audit metric (no scheme) the
// first case of the model and data that carries the audit.
const reports::CaseResult* expectation_case(const reports::Results& results, const Expectation& e,
                                            const std::string& model, const std::string& data) {
  if (!e.scheme.empty()) return results.find_case(model, data, e.scheme, e.protection);
  for (const auto& c : results.cases) {
    if (c.model == model && c.data == data && !c.audit.empty()) return &c;
  }
  return nullptr;
}

}  // namespace

std::vector<Verdict> check_thresholds(const SuiteSpec& suite, const reports::Results& results) {
  std::vector<Verdict> out;
  for (const auto& t : suite.thresholds) {
    for (const auto& c : results.cases) {
      if (c.protection != "none" || (t.scheme != "*" && c.scheme != t.scheme)) continue;
      // Task metrics exist on task cases only, every other metric on data cases only.
      if (reports::is_task_metric(t.metric) != reports::is_task_data(c.data)) continue;
      Verdict v;
      v.kind = VerdictKind::kThreshold;
      v.name = fmt::format("threshold {} {} {} {} {}", c.scheme, c.model, t.metric, t.is_max ? "<=" : ">=", num(t.limit));
      if (suite.data.size() > 1) v.name += " [" + c.data + "]";
      if (c.method != "rtn") v.name += " [method " + c.method + "]";
      v.limit = t.limit;
      const auto value = reports::case_value(c, t.metric);
      if (!value) {
        v.passed = false;
        v.value = NAN;
        v.message = fmt::format("{} was not measured for {} under {} (required by {})", t.metric, c.model, c.scheme,
                                t.where);
      } else {
        v.value = *value;
        v.passed = !std::isnan(*value) && (t.is_max ? *value <= t.limit : *value >= t.limit);
        v.message = fmt::format("{} {} under {}: {} = {} {} {}", c.model, c.data, c.scheme, t.metric, num(*value),
                                v.passed ? (t.is_max ? "<=" : ">=") : (t.is_max ? ">" : "<"), num(t.limit));
      }
      out.push_back(v);
    }
  }
  return out;
}

std::vector<Verdict> check_expectations(const SuiteSpec& suite, const reports::Results& results) {
  std::vector<Verdict> out;
  for (const auto& e : suite.expectations) {
    const bool lower_better = reports::metric_direction(e.metric) == reports::Direction::kLowerIsBetter;
    for (const auto& data : suite.data) {
      if (reports::is_task_metric(e.metric) != reports::is_task_data(data)) continue;
      Verdict v;
      v.kind = VerdictKind::kExpectation;
      if (!e.name.empty()) {
        v.name = e.name;
      } else if (e.scheme.empty()) {
        v.name = fmt::format("expect {} lower {} than {}", e.better, e.metric, e.worse);
      } else {
        v.name = fmt::format("expect {} {} than {} under {}{} ({})", e.better, lower_better ? "loses less" : "keeps more",
                             e.worse, e.scheme, e.protection == "none" ? "" : " protect=" + e.protection, e.metric);
      }
      if (suite.data.size() > 1) v.name += " [" + data + "]";
      const auto* better = expectation_case(results, e, e.better, data);
      const auto* worse = expectation_case(results, e, e.worse, data);
      double bv = NAN, wv = NAN;
      const bool have_b = value_of(better, e.metric, &bv), have_w = value_of(worse, e.metric, &wv);
      if (!have_b || !have_w) {
        // Under sharding a part may hold only one side; the merged run decides. A full run lacking it fails.
        v.passed = false;
        v.value = bv;
        v.limit = wv;
        v.message = fmt::format("{} of {} and {}{} not both measured ({})", e.metric, e.better, e.worse,
                                e.scheme.empty() ? "" : " under " + e.scheme, e.where);
        out.push_back(v);
        continue;
      }
      v.value = bv;
      v.limit = lower_better ? wv - e.margin : wv + e.margin;
      v.passed = lower_better ? bv < v.limit : bv > v.limit;
      v.message = fmt::format("{}: {} = {} {} {} = {}{}", e.metric, e.better, num(bv),
                              v.passed ? (lower_better ? "<" : ">") : (lower_better ? ">=" : "<="), e.worse, num(wv),
                              e.margin != 0 ? fmt::format(" (required margin {})", num(e.margin)) : std::string());
      out.push_back(v);
    }
  }
  return out;
}

std::vector<Verdict> all_verdicts(const SuiteSpec& suite, const reports::Results& results,
                                  const reports::Results* baseline, const reports::BaselineOptions& baseline_options) {
  std::vector<Verdict> out = check_thresholds(suite, results);
  for (auto& v : check_expectations(suite, results)) out.push_back(std::move(v));
  if (baseline) {
    for (auto& v : reports::check_against_baseline(*baseline, results, baseline_options)) out.push_back(std::move(v));
  }
  return out;
}

}  // namespace qh::suite
